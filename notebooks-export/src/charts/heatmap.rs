//! The liquidation map of one market of a run: time × price cells coloured
//! by the notional that a mark at that price would force closed (log
//! colour scale), with the mark's path over them.

use super::axes::{extent, nice_axis, padded};
use super::colour_bar::{ColourBar, ColourScale};
use super::data::{Frame, MICROS, MarketInfo, MarketSeries, pairs};
use super::draw::{Chart, DrawFailure, legend, titled};
use super::error::ChartError;
use super::style::{LABEL_PX, TICK_PX, centred, colour, font, viridis};
use plotters::coord::Shift;
use plotters::prelude::*;

/// How far above and below the mark's range the liquidation map looks
/// (fraction of price): far-away buckets of low-leverage accounts would
/// otherwise squeeze the interesting band into a few pixels.
const MAP_WINDOW: f64 = 0.10;
/// The liquidation map's colour scale spans this many decades below the
/// largest cell, so that one huge bucket does not wash out the rest.
const MAP_DECADES: f64 = 4.0;

/// One coloured rectangle of the liquidation map (time × price, quote).
struct Cell {
    t0: f64,
    t1: f64,
    p0: f64,
    p1: f64,
    notional: f64,
}

/// Time × price map of the notional that a mark at each price would force
/// closed, with the mark's path over it.
pub(super) struct LiquidationMap {
    title: String,
    time_label: String,
    cells: Vec<Cell>,
    mark: Vec<(f64, f64)>,
    x: (f64, f64),
    y: (f64, f64),
    /// The colour scale's range (quote, log), if any cell has notional.
    colours: Option<(f64, f64)>,
}

impl LiquidationMap {
    pub(super) fn read(
        frame: &Frame,
        market: &MarketInfo,
        series: &MarketSeries,
        title: String,
        time_label: String,
    ) -> Result<Self, ChartError> {
        let names = frame.strings("market")?;
        let ticks = frame.f64s("tick")?;
        let prices = frame.f64s("price")?;
        let longs = frame.f64s("long_notional")?;
        let shorts = frame.f64s("short_notional")?;
        let rows: Vec<(f64, f64, f64)> = (0..names.len())
            .filter(|row| names[*row].as_deref() == Some(market.name.as_str()))
            .filter_map(|row| {
                let notional = (longs[row].unwrap_or(0.0) + shorts[row].unwrap_or(0.0)) / MICROS;
                Some((ticks[row]?, prices[row]?, notional))
            })
            .collect();

        let mut samples: Vec<f64> = rows.iter().map(|r| r.0).collect();
        samples.sort_by(f64::total_cmp);
        samples.dedup();
        let (first_tick, end_tick) = series.time_range();
        let step = min_gap(&samples).unwrap_or_else(|| (end_tick - samples.first().copied().unwrap_or(0.0)).max(1.0));
        let mut buckets: Vec<f64> = rows.iter().map(|r| r.1).collect();
        buckets.sort_by(f64::total_cmp);
        buckets.dedup();
        let width = min_gap(&buckets).unwrap_or_else(|| buckets.first().map_or(1.0, |p| (p.abs() * 0.005).max(1.0)));

        let mark = pairs(&series.tick, &series.mark_price);
        let window = extent(mark.iter().map(|p| p.1))
            .or_else(|| extent(buckets.iter().map(|p| p * series.tick_size)))
            .map_or((0.0, 1.0), |(lo, hi)| (lo * (1.0 - MAP_WINDOW), hi * (1.0 + MAP_WINDOW)));
        let y = padded(Some(window), 0.0);

        let mut cells = Vec::new();
        for (tick, price, notional) in rows {
            let p0 = (price * series.tick_size).max(y.0);
            let p1 = ((price + width) * series.tick_size).min(y.1);
            if notional <= 0.0 || p1 <= p0 {
                continue;
            }
            let next = samples.partition_point(|s| *s <= tick);
            let t1 = samples.get(next).copied().unwrap_or(tick + step);
            cells.push(Cell { t0: tick, t1, p0, p1, notional });
        }
        let x0 = samples.first().copied().unwrap_or(first_tick).min(first_tick);
        let x1 = samples.last().map_or(end_tick, |s| s + step).max(end_tick);
        let colours = extent(cells.iter().map(|c| c.notional))
            .map(|(lo, hi)| (lo.max(hi / 10f64.powf(MAP_DECADES)), hi))
            .map(|(lo, hi)| if hi > lo { (lo, hi) } else { (hi / 10.0, hi) });
        Ok(Self { title, time_label, cells, mark, x: padded(Some((x0, x1)), 0.0), y, colours })
    }
}

/// The smallest positive gap between neighbours of sorted distinct values.
fn min_gap(sorted: &[f64]) -> Option<f64> {
    sorted.windows(2).map(|w| w[1] - w[0]).filter(|d| *d > 0.0).min_by(f64::total_cmp)
}

impl Chart for LiquidationMap {
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), DrawFailure> {
        let body = titled(root, &self.title)?;
        let (w, _) = body.dim_in_pixel();
        let (main, side) = body.split_horizontally(w.saturating_sub(260));
        let (x_axis, fx) = nice_axis(self.x, self.x, 10);
        let (y_axis, fy) = nice_axis(self.y, self.y, 8);
        let mut chart = ChartBuilder::on(&main)
            .margin(10)
            .margin_right(20)
            .x_label_area_size(80)
            .y_label_area_size(150)
            .build_cartesian_2d(x_axis, y_axis)?;
        chart
            .configure_mesh()
            .disable_mesh()
            .x_desc(self.time_label.as_str())
            .y_desc(format!("price (quote; mark range \u{b1} {:.0}%)", MAP_WINDOW * 100.0))
            .x_label_formatter(&|v| fx.label(*v))
            .y_label_formatter(&|v| fy.label(*v))
            .label_style(font(TICK_PX))
            .set_all_tick_mark_size(6)
            .axis_desc_style(font(LABEL_PX))
            .draw()?;
        chart.draw_series(std::iter::once(Rectangle::new(
            [(self.x.0, self.y.0), (self.x.1, self.y.1)],
            colour::EMPTY.filled(),
        )))?;
        if let Some((lo, hi)) = self.colours {
            let t = |v: f64| (v.max(lo).ln() - lo.ln()) / (hi.ln() - lo.ln());
            chart.draw_series(
                self.cells
                    .iter()
                    .map(|c| Rectangle::new([(c.t0, c.p0), (c.t1, c.p1)], viridis(t(c.notional)).filled())),
            )?;
        }
        // A dark casing under a white line keeps the path visible over
        // both the dark and the light end of the colour map.
        chart.draw_series(LineSeries::new(self.mark.iter().copied(), colour::INK.stroke_width(7)))?;
        chart
            .draw_series(LineSeries::new(self.mark.iter().copied(), WHITE.stroke_width(3)))?
            .label("mark price")
            .legend(|(x, y)| {
                EmptyElement::at((x, y))
                    + PathElement::new(vec![(0, 0), (30, 0)], colour::INK.stroke_width(7))
                    + PathElement::new(vec![(0, 0), (30, 0)], WHITE.stroke_width(3))
            });
        legend(&mut chart, SeriesLabelPosition::UpperRight)?;
        if self.colours.is_none() {
            let (mw, mh) = main.dim_in_pixel();
            let centre = (i32::try_from(mw / 2).unwrap_or(0), i32::try_from(mh / 2).unwrap_or(0));
            main.draw(&Text::new(
                "No open position would be liquidated in this price window.",
                centre,
                centred(LABEL_PX),
            ))?;
        }
        let (lo, hi) = self.colours.unwrap_or((1.0, 10.0));
        ColourBar {
            lo,
            hi,
            scale: ColourScale::Log,
            label: "liquidatable notional (quote, log scale)",
            top: 10,
            bottom: 90,
        }
        .draw(&side)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cell_is_as_wide_as_the_closest_samples() {
        assert_eq!(min_gap(&[0.0, 10.0, 15.0, 30.0]), Some(5.0));
        assert_eq!(min_gap(&[7.0]), None);
        assert_eq!(min_gap(&[]), None);
    }
}
