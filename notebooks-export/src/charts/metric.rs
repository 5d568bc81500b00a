//! The metric chart of a sweep: a metric's mean against the first swept
//! axis, one line per combination of the other axes, with its 95%
//! confidence band.

use super::axes::{Keyed, Scale, extent, nice_axis, padded};
use super::data::Frame;
use super::draw::{Chart, DrawFailure, legend, titled};
use super::error::ChartError;
use super::style::{LABEL_PX, TICK_PX, colour, font, sig};
use super::sweep::{Metric, MetricColumns, SweepAxis};
use plotters::coord::Shift;
use plotters::prelude::*;

/// A metric's mean at each point against the first swept axis, one line
/// per combination of the other axes, with its 95% confidence band.
pub(super) struct MetricChart {
    title: String,
    x_label: String,
    y_label: String,
    x_axis: ((f64, f64), Vec<f64>),
    x_labels: Vec<(f64, String)>,
    /// Whether x is log10 of the swept values.
    log: bool,
    lines: Vec<Line>,
}

struct Line {
    label: String,
    key: Vec<f64>,
    /// `(x, mean, ci low, ci high)`, by `x`.
    points: Vec<(f64, f64, Option<f64>, Option<f64>)>,
}

impl MetricChart {
    pub(super) fn read(
        points: &Frame,
        axes: &[SweepAxis],
        metric: &Metric,
        prefix: &str,
        log_x: Option<bool>,
    ) -> Result<Option<Self>, ChartError> {
        let Some(columns) = MetricColumns::read(points, metric)? else { return Ok(None) };
        let Some((x_axis, others)) = axes.split_first() else { return Ok(None) };
        let logged = log_x.unwrap_or_else(|| x_axis.wants_log()).then(|| x_axis.logged());
        let x_axis = logged.as_ref().unwrap_or(x_axis);
        let mut lines: Vec<Line> = Vec::new();
        for row in 0..columns.mean.len() {
            let (Some(x), Some(mean)) = (x_axis.positions[row], columns.mean[row]) else { continue };
            let key: Vec<f64> = others.iter().map(|a| a.positions[row].unwrap_or(f64::NAN)).collect();
            let point = (x, mean, columns.low[row], columns.high[row]);
            match lines.iter_mut().find(|l| l.key.iter().zip(&key).all(|(a, b)| a.total_cmp(b).is_eq())) {
                Some(line) => line.points.push(point),
                None => {
                    let label = others
                        .iter()
                        .zip(&key)
                        .map(|(a, p)| format!("{} = {}", a.label, a.label_of(*p)))
                        .collect::<Vec<_>>()
                        .join(", ");
                    lines.push(Line { label, key, points: vec![point] });
                }
            }
        }
        for line in &mut lines {
            line.points.sort_by(|a, b| a.0.total_cmp(&b.0));
        }
        lines.sort_by(|a, b| {
            a.key
                .iter()
                .zip(&b.key)
                .map(|(x, y)| x.total_cmp(y))
                .find(|o| o.is_ne())
                .unwrap_or(std::cmp::Ordering::Equal)
        });
        Ok(Some(Self {
            title: format!("{prefix}: {}, mean and 95% CI", metric.label),
            x_label: x_axis.label.clone(),
            y_label: format!("mean {}", metric.label),
            x_axis: x_axis.range_and_ticks(),
            x_labels: x_axis.levels.clone(),
            log: logged.is_some(),
            lines,
        }))
    }
}

impl Chart for MetricChart {
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), DrawFailure> {
        let body = titled(root, &self.title)?;
        let values = self.lines.iter().flat_map(|l| l.points.iter()).flat_map(|p| [Some(p.1), p.2, p.3]).flatten();
        let y = padded(extent(values), 0.08);
        // Headroom above the data for the legend in the upper left, a row
        // per line and one for the band.
        let rows = self.lines.len() as f64 + 1.0;
        let y = (y.0, y.1 + (y.1 - y.0) * (0.07 * rows).min(0.6));
        let (y_axis, fy) = nice_axis(y, y, 8);
        let ((x0, x1), ticks) = self.x_axis.clone();
        // Ticks at the swept values are labelled with the values as given.
        let numeric_ticks = self.x_labels.is_empty() || ticks.len() != self.x_labels.len();
        let fx = Scale::for_ticks(&ticks);
        let mut chart = ChartBuilder::on(&body)
            .margin(20)
            .margin_right(40)
            .x_label_area_size(90)
            .y_label_area_size(150)
            .build_cartesian_2d(Keyed::linear((x0, x1), ticks), y_axis)?;
        chart
            .configure_mesh()
            .x_desc(self.x_label.as_str())
            .y_desc(self.y_label.as_str())
            .x_label_formatter(&|v| {
                if numeric_ticks && self.log {
                    sig(10_f64.powf(*v))
                } else if numeric_ticks {
                    fx.label(*v)
                } else {
                    self.x_labels.iter().find(|(p, _)| p == v).map_or_else(|| fx.label(*v), |(_, l)| l.clone())
                }
            })
            .y_label_formatter(&|v| fy.label(*v))
            .label_style(font(TICK_PX))
            .set_all_tick_mark_size(6)
            .axis_desc_style(font(LABEL_PX))
            .light_line_style(TRANSPARENT)
            .bold_line_style(BLACK.mix(0.08))
            .draw()?;
        for (i, line) in self.lines.iter().enumerate() {
            let c = colour::PALETTE[i % colour::PALETTE.len()];
            // The band is drawn over each run of neighbouring points that
            // have both bounds (a point of a single replicate has none).
            let mut run: Vec<(f64, f64, f64)> = Vec::new();
            let mut bands: Vec<Vec<(f64, f64, f64)>> = Vec::new();
            for (x, _, low, high) in &line.points {
                match (low, high) {
                    (Some(l), Some(h)) => run.push((*x, *l, *h)),
                    _ => bands.push(std::mem::take(&mut run)),
                }
            }
            bands.push(run);
            for band in bands.into_iter().filter(|b| b.len() >= 2) {
                let outline: Vec<(f64, f64)> =
                    band.iter().map(|(x, _, h)| (*x, *h)).chain(band.iter().rev().map(|(x, l, _)| (*x, *l))).collect();
                chart.draw_series(std::iter::once(Polygon::new(outline, c.mix(0.18).filled())))?;
            }
            chart.draw_series(line.points.iter().filter_map(|(x, _, low, high)| {
                Some(PathElement::new(vec![(*x, (*low)?), (*x, (*high)?)], c.mix(0.6).stroke_width(2)))
            }))?;
            let means: Vec<(f64, f64)> = line.points.iter().map(|p| (p.0, p.1)).collect();
            chart.draw_series(LineSeries::new(means.iter().copied(), c.stroke_width(3)))?;
            let anno = chart.draw_series(means.iter().map(|p| Circle::new(*p, 6, c.filled())))?;
            let label = if line.label.is_empty() { "mean".to_owned() } else { line.label.clone() };
            anno.label(label).legend(move |(x, y)| {
                EmptyElement::at((x, y))
                    + PathElement::new(vec![(0, 0), (30, 0)], c.stroke_width(3))
                    + Circle::new((15, 0), 6, c.filled())
            });
        }
        chart
            .draw_series(std::iter::empty::<Circle<(f64, f64), i32>>())?
            .label("shaded: 95% confidence interval of the mean")
            .legend(|(x, y)| Rectangle::new([(x, y - 8), (x + 30, y + 8)], colour::GREY.mix(0.3).filled()));
        legend(&mut chart, SeriesLabelPosition::UpperLeft)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use polars::prelude::{Column, DataFrame};

    #[test]
    fn one_line_per_value_of_the_other_axes_sorted_by_x() {
        let df = DataFrame::new_infer_height(vec![
            Column::new("leverage".into(), [20.0, 5.0, 20.0, 5.0]),
            Column::new("variant".into(), ["b", "b", "a", "a"]),
            Column::new("max_drawdown_mean".into(), [Some(0.2), Some(0.1), None, Some(0.05)]),
            Column::new("max_drawdown_ci95_low".into(), [Some(0.15), None, None, Some(0.04)]),
            Column::new("max_drawdown_ci95_high".into(), [Some(0.25), None, None, Some(0.06)]),
        ])
        .expect("frame");
        let points = Frame::in_memory(df);
        let axes = [SweepAxis::read(&points, "leverage").expect("x"), SweepAxis::read(&points, "variant").expect("v")];
        let metric = Metric { column: "max_drawdown", label: "drawdown (%)", factor: 100.0 };
        let chart = MetricChart::read(&points, &axes, &metric, "demo", None).expect("read").expect("data");
        assert_eq!(chart.title, "demo: drawdown (%), mean and 95% CI");
        assert_eq!(chart.x_label, "leverage");
        let labels: Vec<&str> = chart.lines.iter().map(|l| l.label.as_str()).collect();
        // Variants are positioned in order of first appearance: "b" first.
        assert_eq!(labels, ["variant = b", "variant = a"]);
        assert_eq!(chart.lines[0].points, [(5.0, 10.0, None, None), (20.0, 20.0, Some(15.0), Some(25.0))]);
        assert_eq!(chart.lines[1].points, [(5.0, 5.0, Some(4.0), Some(6.0))]);
        let absent = Metric { column: "bad_debt", label: "bad debt", factor: 1.0 };
        assert!(MetricChart::read(&points, &axes, &absent, "demo", None).expect("read").is_none());
    }
}
