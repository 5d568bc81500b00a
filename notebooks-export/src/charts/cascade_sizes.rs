//! The cascade sizes of one market of a run: the complementary CDF of the
//! notional liquidated per tick and per episode of consecutive liquidation
//! ticks, on log axes.

use super::axes::{Keyed, extent, log_ticks};
use super::data::MarketSeries;
use super::draw::{Chart, DrawFailure, legend, titled};
use super::style::{LABEL_PX, TICK_PX, centred, colour, font, sig};
use plotters::coord::Shift;
use plotters::prelude::*;

/// The complementary CDF of cascade sizes, per tick and per episode of
/// consecutive liquidation ticks.
pub(super) struct CascadeSizes {
    title: String,
    per_tick: Vec<f64>,
    per_episode: Vec<f64>,
}

impl CascadeSizes {
    pub(super) fn from_series(series: &MarketSeries, title: String) -> Self {
        let ticks = series.liquidation_ticks();
        let mut per_episode = episodes(&ticks);
        let mut per_tick: Vec<f64> = ticks.into_iter().map(|(_, size)| size).filter(|s| *s > 0.0).collect();
        per_episode.retain(|s| *s > 0.0);
        per_tick.sort_by(f64::total_cmp);
        per_episode.sort_by(f64::total_cmp);
        Self { title, per_tick, per_episode }
    }
}

/// The total size of each run of consecutive ticks in `(tick, size)`,
/// ascending by tick: one liquidation episode each.
fn episodes(ticks: &[(f64, f64)]) -> Vec<f64> {
    let mut totals: Vec<f64> = Vec::new();
    let mut last_tick: Option<f64> = None;
    for (tick, size) in ticks {
        match (last_tick, totals.last_mut()) {
            (Some(last), Some(total)) if tick - last <= 1.0 => *total += size,
            _ => totals.push(*size),
        }
        last_tick = Some(*tick);
    }
    totals
}

/// `(x, P(X >= x))` for ascending `sorted`.
fn ccdf(sorted: &[f64]) -> Vec<(f64, f64)> {
    let n = sorted.len() as f64;
    sorted.iter().enumerate().map(|(i, x)| (*x, (n - i as f64) / n)).collect()
}

impl Chart for CascadeSizes {
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), DrawFailure> {
        let body = titled(root, &self.title)?;
        // Without cascades the axes are still drawn, over a nominal range,
        // so that the empty chart reads as a chart that found nothing.
        let (lo, hi) = extent(self.per_tick.iter().chain(&self.per_episode).copied()).unwrap_or((1e3, 1e6));
        let x = (lo / 2.0, hi * 2.0);
        let n =
            self.per_tick.len().max(self.per_episode.len()).max(if self.per_tick.is_empty() { 100 } else { 1 }) as f64;
        let y = (1.0 / n / 2.0, 1.5);
        let mut chart = ChartBuilder::on(&body)
            .margin(20)
            .margin_right(40)
            .x_label_area_size(90)
            .y_label_area_size(150)
            .build_cartesian_2d(Keyed::log(x, log_ticks(x.0, x.1)), Keyed::log(y, log_ticks(y.0, y.1)))?;
        chart
            .configure_mesh()
            .x_desc("cascade size: notional liquidated, long + short (quote, log scale)")
            .y_desc("fraction of cascades at least this large (log scale)")
            .x_label_formatter(&|v| sig(*v))
            .y_label_formatter(&|v| sig(*v))
            .label_style(font(TICK_PX))
            .set_all_tick_mark_size(6)
            .axis_desc_style(font(LABEL_PX))
            .light_line_style(TRANSPARENT)
            .bold_line_style(BLACK.mix(0.1))
            .draw()?;
        if self.per_tick.is_empty() {
            let area = chart.plotting_area();
            let (w, h) = area.dim_in_pixel();
            let centre = (i32::try_from(w / 2).unwrap_or(0), i32::try_from(h / 2).unwrap_or(0));
            area.strip_coord_spec().draw(&Text::new(
                "No liquidations in this run: no cascades to plot.",
                centre,
                centred(LABEL_PX + 4),
            ))?;
            return Ok(());
        }
        let series = [
            (&self.per_tick, colour::BLUE, "per tick with a liquidation"),
            (&self.per_episode, colour::RED, "per episode of consecutive liquidation ticks"),
        ];
        for (sizes, c, what) in series {
            let points = ccdf(sizes);
            chart.draw_series(LineSeries::new(points.iter().copied(), c.stroke_width(2)))?;
            chart
                .draw_series(points.iter().map(|p| Circle::new(*p, 6, c.filled())))?
                .label(format!("{what} (n = {})", sizes.len()))
                .legend(move |(x, y)| Circle::new((x + 12, y), 6, c.filled()));
        }
        legend(&mut chart, SeriesLabelPosition::LowerLeft)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_episode_is_a_run_of_consecutive_ticks() {
        let ticks = [(10.0, 1.0), (11.0, 2.0), (12.0, 3.0), (20.0, 5.0), (22.0, 7.0)];
        assert_eq!(episodes(&ticks), [6.0, 5.0, 7.0]);
        assert_eq!(ccdf(&[1.0, 2.0, 4.0, 8.0]), [(1.0, 1.0), (2.0, 0.75), (4.0, 0.5), (8.0, 0.25)]);
    }
}
