//! The dashboard of one market of a run: four panels over a shared time
//! axis (prices with the notional liquidated, spread and depth, open
//! interest with the protocol's state, the insurance fund against bad
//! debt), and the panel and right-axis helpers that only it uses.

use super::axes::{Keyed, Scale, extent, log_ticks, nice_axis, padded, zero_axis};
use super::data::{MarketSeries, cumulative, pairs, segments};
use super::draw::{Chart, DrawFailure, legend, titled};
use super::style::{LABEL_PX, TICK_PX, colour, font, sig};
use plotters::coord::Shift;
use plotters::prelude::*;

/// Canvas size (pixels): four panels need the height.
const DASHBOARD_SIZE: (u32, u32) = (1600, 1800);

/// Four panels over a shared time axis: prices with liquidations, spread
/// and depth, open interest, and the insurance fund against bad debt.
pub(super) struct Dashboard<'a> {
    pub(super) title: String,
    pub(super) time_label: String,
    pub(super) series: &'a MarketSeries,
}

impl Chart for Dashboard<'_> {
    fn size(&self) -> (u32, u32) {
        DASHBOARD_SIZE
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), DrawFailure> {
        let s = self.series;
        let body = titled(root, &self.title)?;
        let panels = body.split_evenly((4, 1));
        let x = s.time_range();
        let (x_axis, fx) = nice_axis(x, x, 10);
        let x_fmt = |v: &f64| fx.label(*v);

        // (a) Prices in the upper part of the panel and liquidation bars in
        // the lower part, each on its own axis and labelled only over its
        // own part, so that they never overlap.
        {
            // The fundamental gets its own line only where the index leaves
            // it (a propagator or an oracle); otherwise it is the index.
            let apart = s.fundamental_price.iter().zip(&s.index_price).any(|(f, i)| f.is_some() && f != i);
            let prices = pairs(&s.tick, &s.index_price)
                .into_iter()
                .chain(pairs(&s.tick, &s.mark_price))
                .chain(pairs(&s.tick, &s.last_trade_price))
                .chain(if apart { pairs(&s.tick, &s.fundamental_price) } else { Vec::new() })
                .map(|p| p.1);
            let (lo, hi) = padded(extent(prices), 0.0);
            let span = (hi - lo).max(hi.abs() * 1e-4);
            let (y_axis, fy) = nice_axis((lo - 0.8 * span, hi + 0.08 * span), (lo, hi), 5);
            let bars: Vec<(f64, f64, f64)> = (0..s.tick.len())
                .map(|i| (s.tick[i], s.liquidated_long[i].unwrap_or(0.0), s.liquidated_short[i].unwrap_or(0.0)))
                .filter(|(_, l, sh)| *l > 0.0 || *sh > 0.0)
                .collect();
            let bar_max = bars.iter().map(|(_, l, sh)| l + sh).fold(0.0, f64::max);
            let (y2_axis, fy2) =
                if bar_max > 0.0 { nice_axis((0.0, bar_max / 0.42), (0.0, bar_max), 4) } else { zero_axis() };
            let mut chart = panel(&panels[0], "(a) Prices; notional liquidated per tick", PanelAxes::Both)
                .build_cartesian_2d(x_axis.clone(), y_axis)?
                .set_secondary_coord(x_axis.clone(), y2_axis);
            chart
                .configure_mesh()
                .y_desc("price (quote)")
                .y_label_formatter(&|v| fy.label(*v))
                .x_label_formatter(&x_fmt)
                .label_style(font(TICK_PX))
                .set_all_tick_mark_size(6)
                .axis_desc_style(font(LABEL_PX))
                .bold_line_style(BLACK.mix(0.08))
                .draw()?;
            right_axis(&mut chart, "liquidated (quote per tick)", &fy2)?;
            chart
                .draw_secondary_series(
                    bars.iter().map(|(t, l, _)| Rectangle::new([(*t, 0.0), (*t + 1.0, *l)], colour::RED.filled())),
                )?
                .label("longs liquidated (right axis)")
                .legend(|(x, y)| Rectangle::new([(x, y - 8), (x + 30, y + 8)], colour::RED.filled()));
            chart
                .draw_secondary_series(
                    bars.iter()
                        .map(|(t, l, sh)| Rectangle::new([(*t, *l), (*t + 1.0, *l + *sh)], colour::GREEN.filled())),
                )?
                .label("shorts liquidated (right axis)")
                .legend(|(x, y)| Rectangle::new([(x, y - 8), (x + 30, y + 8)], colour::GREEN.filled()));
            let halts = s.halts();
            if !halts.is_empty() {
                let (top, bottom) = (hi + 0.08 * span, lo - 0.8 * span);
                let shade = colour::GREY.mix(0.25).filled();
                chart
                    .draw_series(halts.iter().map(|(a, b)| Rectangle::new([(*a, bottom), (*b, top)], shade)))?
                    .label("trading halted")
                    .legend(move |(x, y)| Rectangle::new([(x, y - 8), (x + 30, y + 8)], shade));
            }
            if apart {
                chart
                    .draw_series(LineSeries::new(pairs(&s.tick, &s.fundamental_price), colour::ORANGE.stroke_width(2)))?
                    .label("fundamental")
                    .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 30, y)], colour::ORANGE.stroke_width(2)));
            }
            for run in segments(&s.tick, &s.last_trade_price) {
                chart.draw_series(LineSeries::new(run, colour::GREY.stroke_width(1)))?;
            }
            chart
                .draw_series(std::iter::empty::<PathElement<(f64, f64)>>())?
                .label("last trade")
                .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 30, y)], colour::GREY.stroke_width(1)));
            chart
                .draw_series(LineSeries::new(pairs(&s.tick, &s.index_price), colour::INK.stroke_width(2)))?
                .label("index price")
                .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 30, y)], colour::INK.stroke_width(2)));
            chart
                .draw_series(LineSeries::new(pairs(&s.tick, &s.mark_price), colour::BLUE.stroke_width(3)))?
                .label("mark price")
                .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 30, y)], colour::BLUE.stroke_width(3)));
            legend(&mut chart, SeriesLabelPosition::LowerLeft)?;
        }

        // (b) The spread on a log axis: it jumps by orders of magnitude when
        // the book is swept, and a linear axis would flatten normal times.
        {
            let spread_extent = extent(s.spread.iter().flatten().copied().filter(|v| *v > 0.0));
            let (lo, hi) = spread_extent.map_or((1.0, 10.0), |(lo, hi)| (lo, hi.max(lo * 10.0)));
            let y = (lo / 1.5, hi * 1.5);
            let depth_max = s.bid_depth.iter().chain(&s.ask_depth).flatten().fold(0.0, |a: f64, b| a.max(*b));
            let depth_top = if depth_max > 0.0 { depth_max } else { 1.0 };
            let (y2_axis, fy2) = nice_axis((0.0, depth_top * 1.1), (0.0, depth_top), 5);
            let mut chart = panel(&panels[1], "(b) Spread and depth within the depth band", PanelAxes::Both)
                .build_cartesian_2d(x_axis.clone(), Keyed::log(y, log_ticks(y.0, y.1)))?
                .set_secondary_coord(x_axis.clone(), y2_axis);
            chart
                .configure_mesh()
                .y_desc("spread (ticks, log scale)")
                .y_label_formatter(&|v| sig(*v))
                .x_label_formatter(&x_fmt)
                .label_style(font(TICK_PX))
                .set_all_tick_mark_size(6)
                .axis_desc_style(font(LABEL_PX))
                .bold_line_style(BLACK.mix(0.08))
                .draw()?;
            right_axis(&mut chart, "depth (lots)", &fy2)?;
            chart
                .draw_secondary_series(LineSeries::new(pairs(&s.tick, &s.bid_depth), colour::GREEN.stroke_width(2)))?
                .label("bid depth (right axis)")
                .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 30, y)], colour::GREEN.stroke_width(2)));
            chart
                .draw_secondary_series(LineSeries::new(pairs(&s.tick, &s.ask_depth), colour::RED.stroke_width(2)))?
                .label("ask depth (right axis)")
                .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 30, y)], colour::RED.stroke_width(2)));
            let mut labelled = false;
            for segment in segments(&s.tick, &s.spread) {
                let anno = chart.draw_series(LineSeries::new(segment, colour::INK.stroke_width(2)))?;
                if !labelled {
                    anno.label("spread (left axis; gaps: a book side empty)")
                        .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 30, y)], colour::INK.stroke_width(2)));
                    labelled = true;
                }
            }
            legend(&mut chart, SeriesLabelPosition::UpperLeft)?;
        }

        // (c) Open interest, with the protocol's state on the right axis:
        // the maintenance multiplier when it moved, otherwise the gas price
        // of auction takes when congestion moved it, otherwise the Dutch
        // auctions open when there were any. Without either, the empty
        // secondary axis keeps the plot as wide as the panels around it.
        {
            let oi = pairs(&s.tick, &s.open_interest);
            let y = padded(extent(oi.iter().map(|p| p.1)), 0.1);
            let (y_axis, fy) = nice_axis(y, y, 5);
            let scale = pairs(&s.tick, &s.maintenance_scale);
            let auctions = pairs(&s.tick, &s.auctions_open);
            let gas = pairs(&s.tick, &s.gas_price);
            let right = if scale.iter().any(|p| (p.1 - 1.0).abs() > 1e-9) {
                Some((scale, "maintenance multiplier", colour::ORANGE))
            } else if gas.first().is_some_and(|g| gas.iter().any(|p| (p.1 - g.1).abs() > 1e-9)) {
                Some((gas, "gas price of an auction take (quote)", colour::BROWN))
            } else if auctions.iter().any(|p| p.1 > 0.0) {
                Some((auctions, "Dutch auctions open", colour::BROWN))
            } else {
                None
            };
            let caption = match &right {
                Some((_, name, _)) => format!("(c) Open interest; {name}"),
                None => "(c) Open interest".to_owned(),
            };
            let (y2_axis, fy2) = match &right {
                Some((points, _, _)) => {
                    let top = points.iter().map(|p| p.1).fold(1.0, f64::max);
                    nice_axis((0.0, top * 1.1), (0.0, top), 4)
                }
                None => (Keyed::linear(y, Vec::new()), Scale::for_ticks(&[])),
            };
            let mut chart = panel(&panels[2], &caption, PanelAxes::Both)
                .build_cartesian_2d(x_axis.clone(), y_axis)?
                .set_secondary_coord(x_axis.clone(), y2_axis);
            chart
                .configure_mesh()
                .y_desc("open interest (lots)")
                .y_label_formatter(&|v| fy.label(*v))
                .x_label_formatter(&x_fmt)
                .label_style(font(TICK_PX))
                .set_all_tick_mark_size(6)
                .axis_desc_style(font(LABEL_PX))
                .bold_line_style(BLACK.mix(0.08))
                .draw()?;
            let line = chart.draw_series(LineSeries::new(oi, colour::PURPLE.stroke_width(3)))?;
            if let Some((points, name, c)) = right {
                line.label("open interest (left axis)")
                    .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 30, y)], colour::PURPLE.stroke_width(3)));
                right_axis(&mut chart, name, &fy2)?;
                chart
                    .draw_secondary_series(LineSeries::new(points, c.stroke_width(3)))?
                    .label(format!("{name} (right axis)"))
                    .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 30, y)], c.stroke_width(3)));
                legend(&mut chart, SeriesLabelPosition::UpperRight)?;
            }
        }

        // (d) The insurance fund against the bad debt it absorbed (covered)
        // and the bad debt left over (uncovered), both cumulative.
        {
            let fund = pairs(&s.tick, &s.insurance_fund);
            let y = padded(extent(fund.iter().map(|p| p.1)), 0.1);
            let (y_axis, fy) = nice_axis(y, y, 5);
            let bad_debt = pairs(&s.tick, &cumulative(&s.bad_debt));
            // `uncovered_bad_debt` is the ledger's running total already.
            let uncovered = pairs(&s.tick, &s.uncovered_bad_debt);
            let debt_max = bad_debt.iter().chain(&uncovered).map(|p| p.1).fold(0.0, f64::max);
            let (y2_axis, fy2) =
                if debt_max > 0.0 { nice_axis((0.0, debt_max * 1.1), (0.0, debt_max), 5) } else { zero_axis() };
            let mut chart = panel(&panels[3], "(d) Insurance fund and cumulative bad debt", PanelAxes::BothWithTime)
                .build_cartesian_2d(x_axis.clone(), y_axis)?
                .set_secondary_coord(x_axis.clone(), y2_axis);
            chart
                .configure_mesh()
                .x_desc(self.time_label.as_str())
                .y_desc("insurance fund (quote)")
                .y_label_formatter(&|v| fy.label(*v))
                .x_label_formatter(&x_fmt)
                .label_style(font(TICK_PX))
                .set_all_tick_mark_size(6)
                .axis_desc_style(font(LABEL_PX))
                .bold_line_style(BLACK.mix(0.08))
                .draw()?;
            right_axis(&mut chart, "cumulative bad debt (quote)", &fy2)?;
            chart
                .draw_series(LineSeries::new(fund, colour::BLUE.stroke_width(3)))?
                .label("insurance fund (left axis)")
                .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 30, y)], colour::BLUE.stroke_width(3)));
            chart
                .draw_secondary_series(LineSeries::new(bad_debt, colour::ORANGE.stroke_width(3)))?
                .label("bad debt, all (right axis)")
                .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 30, y)], colour::ORANGE.stroke_width(3)));
            chart
                .draw_secondary_series(DashedLineSeries::new(uncovered, 12, 6, colour::RED.stroke_width(3)))?
                .label("bad debt, uncovered (right axis)")
                .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 30, y)], colour::RED.stroke_width(3)));
            legend(&mut chart, SeriesLabelPosition::UpperLeft)?;
        }
        Ok(())
    }
}

/// Draws a dashboard panel's right axis, described by `desc` and labelled
/// by `scale`.
fn right_axis<'a, DB: DrawingBackend + 'a>(
    chart: &mut plotters::chart::DualCoordChartContext<'a, DB, Cartesian2d<Keyed, Keyed>, Cartesian2d<Keyed, Keyed>>,
    desc: &str,
    scale: &Scale,
) -> Result<(), DrawFailure> {
    chart
        .configure_secondary_axes()
        .y_desc(desc)
        .y_label_formatter(&|v| scale.label(*v))
        .label_style(font(TICK_PX))
        .set_all_tick_mark_size(6)
        .axis_desc_style(font(LABEL_PX))
        .draw()?;
    Ok(())
}

/// Which label areas a dashboard panel has: every panel has both y axes;
/// only the bottom one has room for the time axis' description.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum PanelAxes {
    Both,
    BothWithTime,
}

fn panel<'a, 'b, DB: DrawingBackend>(
    area: &'a DrawingArea<DB, Shift>,
    caption: &str,
    axes: PanelAxes,
) -> ChartBuilder<'a, 'b, DB> {
    let mut builder = ChartBuilder::on(area);
    builder
        .caption(caption, font(LABEL_PX))
        .margin(8)
        .margin_right(16)
        .x_label_area_size(if axes == PanelAxes::BothWithTime { 80 } else { 40 })
        .y_label_area_size(150)
        .right_y_label_area_size(150);
    builder
}
