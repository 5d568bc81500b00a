//! The paired differences of a sweep with variants: each variant's
//! difference from the reference variant on the same seeds, mean and 95%
//! interval, one panel per metric: the metrics whose difference is
//! significant first, then the usual ones, at most four.

use super::axes::{Keyed, extent, nice_axis, padded};
use super::data::Frame;
use super::draw::{Chart, DrawFailure, legend, titled};
use super::error::ChartError;
use super::style::{LABEL_PX, SIZE, TICK_PX, colour, font};
use super::sweep::{METRICS, Metric};
use plotters::coord::Shift;
use plotters::prelude::*;

/// The usual metrics of the paired-difference chart, shown after those
/// whose difference is significant.
const USUAL: [Metric; 4] = [
    Metric { column: "max_drawdown", label: "max drawdown (percentage points)", factor: 100.0 },
    Metric { column: "liquidated_notional", label: "liquidated notional (quote)", factor: 1.0 },
    Metric { column: "bad_debt", label: "bad debt (quote)", factor: 1.0 },
    Metric { column: "half_recovery_ticks", label: "time to recover half the drawdown (ticks)", factor: 1.0 },
];

/// Each variant's difference from the reference variant (`paired.parquet`),
/// mean and 95% interval, one panel per metric; one colour per point of
/// the other swept axes.
pub(super) struct PairedChart {
    title: String,
    variants: Vec<String>,
    groups: Vec<String>,
    /// Per panel, its metric and points.
    panels: Vec<(Metric, Vec<PairedPoint>)>,
}

/// `(variant, group, mean, low, high)`, scaled to the metric's unit.
type PairedPoint = (usize, usize, f64, Option<f64>, Option<f64>);

impl PairedChart {
    /// `labels` names the swept axes (the plan's `labels`; by path where
    /// it has none).
    /// `chosen` names the metrics of the panels (at most four); when empty
    /// they are chosen as the module docs say.
    pub(super) fn read(
        frame: &Frame,
        prefix: &str,
        labels: &serde_json::Value,
        chosen: &[String],
    ) -> Result<Option<Self>, ChartError> {
        let variant = frame.strings("variant")?;
        let reference = frame.strings("reference")?;
        let metric = frame.strings("metric")?;
        let (mean, low, high) = (frame.f64s("diff_mean")?, frame.f64s("diff_ci95_low")?, frame.f64s("diff_ci95_high")?);
        let skip = ["variant", "reference", "metric", "n"];
        let axes: Vec<String> = frame
            .df
            .get_column_names()
            .iter()
            .map(|c| c.to_string())
            .take_while(|c| !skip.contains(&c.as_str()))
            .collect();
        let axis_values: Vec<Vec<Option<String>>> = axes.iter().map(|a| frame.strings(a)).collect::<Result<_, _>>()?;
        // The panels: metrics with a difference whose interval excludes 0,
        // then the usual ones, then any other that moved, at most four.
        // (present, moved, strength) of a metric's rows: the strength is the
        // largest |mean| / half-width among its differences whose interval
        // excludes 0, and 0 if there is none.
        let state = |m: &Metric| {
            let rows: Vec<usize> = (0..frame.df.height()).filter(|&i| metric[i].as_deref() == Some(m.column)).collect();
            let strength = rows
                .iter()
                .filter_map(|&i| {
                    let (x, l, h) = (mean[i]?, low[i]?, high[i]?);
                    (l > 0.0 || h < 0.0).then(|| if x > l { x.abs() / (x - l) } else { f64::INFINITY })
                })
                .fold(0.0, f64::max);
            (!rows.is_empty(), rows.iter().any(|&i| mean[i].is_some_and(|x| x != 0.0)), strength)
        };
        let picked: Vec<&Metric> =
            chosen.iter().filter_map(|c| METRICS.iter().find(|m| m.column == c.as_str())).take(4).collect();
        let mut chosen: Vec<Metric> = picked.into_iter().copied().collect();
        let mut significant: Vec<(&Metric, f64)> =
            METRICS.iter().map(|m| (m, state(m).2)).filter(|(_, s)| *s > 0.0).collect();
        significant.sort_by(|a, b| b.1.total_cmp(&a.1));
        let significant = significant.into_iter().map(|(m, _)| m);
        let usual = USUAL.iter().filter(|m| state(m).0);
        let automatic = chosen.is_empty();
        for m in significant.chain(usual).chain(METRICS.iter().filter(|m| state(m).1)) {
            if automatic && chosen.len() < 4 && !chosen.iter().any(|c| c.column == m.column) {
                // The usual label of a metric in both lists.
                chosen.push(*USUAL.iter().find(|u| u.column == m.column).unwrap_or(m));
            }
        }
        let (mut variants, mut groups): (Vec<String>, Vec<String>) = (Vec::new(), Vec::new());
        let mut panels: Vec<(Metric, Vec<PairedPoint>)> = chosen.into_iter().map(|m| (m, Vec::new())).collect();
        for i in 0..frame.df.height() {
            let Some(k) = panels.iter().position(|(m, _)| metric[i].as_deref() == Some(m.column)) else { continue };
            let Some(m) = mean[i] else { continue };
            let v = variant[i].clone().unwrap_or_default();
            let g = axes
                .iter()
                .zip(&axis_values)
                .map(|(a, vals)| {
                    let label = labels.get(a).and_then(|l| l.as_str()).unwrap_or(a);
                    format!("{label} = {}", vals[i].clone().unwrap_or_default())
                })
                .collect::<Vec<_>>()
                .join(", ");
            let vi = variants.iter().position(|x| *x == v).unwrap_or_else(|| {
                variants.push(v);
                variants.len() - 1
            });
            let gi = groups.iter().position(|x| *x == g).unwrap_or_else(|| {
                groups.push(g);
                groups.len() - 1
            });
            let f = panels[k].0.factor;
            panels[k].1.push((vi, gi, m * f, low[i].map(|x| x * f), high[i].map(|x| x * f)));
        }
        if variants.is_empty() {
            return Ok(None);
        }
        let reference = reference.first().cloned().flatten().unwrap_or_default();
        Ok(Some(Self {
            title: format!("{prefix}: difference from {reference}, same seeds, mean and 95% CI"),
            variants,
            groups,
            panels,
        }))
    }
}

impl Chart for PairedChart {
    fn size(&self) -> (u32, u32) {
        // Room for eight variants a panel in the usual size; more get taller.
        let n = u32::try_from(self.variants.len()).unwrap_or(u32::MAX);
        (SIZE.0, SIZE.1.max(n.saturating_mul(80).saturating_add(360)))
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), DrawFailure> {
        let body = titled(root, &self.title)?;
        let areas = body.split_evenly(if self.panels.len() <= 2 { (1, self.panels.len().max(1)) } else { (2, 2) });
        let n = self.variants.len();
        let spread = if self.groups.len() > 1 { 0.5 / self.groups.len() as f64 } else { 0.0 };
        // Room above the top row for the legend of the groups (about 24 px
        // a line in a panel some 300 px high), so that it covers no point.
        let headroom = if self.groups.len() > 1 {
            let legend = 24.0 * self.groups.len() as f64 + 16.0;
            (legend * (n as f64 + 0.2) / (300.0 - legend).max(60.0)).min(3.0 * n as f64)
        } else {
            0.0
        };
        for (area, (metric, points)) in areas.iter().zip(&self.panels) {
            let values = points.iter().flat_map(|p| [Some(p.2), p.3, p.4]).flatten().chain([0.0]);
            let x = padded(extent(values), 0.08);
            let (x_axis, fx) = nice_axis(x, x, 5);
            let y_keys: Vec<f64> = (0..n).map(|i| i as f64).collect();
            let mut chart = ChartBuilder::on(area)
                .caption(format!("\u{394} {}", metric.label), font(LABEL_PX))
                .margin(12)
                .margin_right(30)
                .x_label_area_size(50)
                .y_label_area_size(200)
                .build_cartesian_2d(x_axis, Keyed::linear((-0.6, n as f64 - 0.4 + headroom), y_keys))?;
            chart
                .configure_mesh()
                .x_label_formatter(&|v| fx.label(*v))
                .y_label_formatter(&|v| {
                    // Row k (from the bottom) holds variant n − 1 − k.
                    (0..n)
                        .find(|k| (*k as f64 - v).abs() < 0.25)
                        .map_or_else(String::new, |k| self.variants[n - 1 - k].clone())
                })
                .label_style(font(TICK_PX))
                .set_all_tick_mark_size(6)
                .light_line_style(TRANSPARENT)
                .bold_line_style(BLACK.mix(0.08))
                .draw()?;
            chart.draw_series(std::iter::once(PathElement::new(
                vec![(0.0, -0.6), (0.0, n as f64 - 0.4 + headroom)],
                colour::INK.stroke_width(2),
            )))?;
            for (v, g, mean, low, high) in points {
                let c = colour::PALETTE[*g % colour::PALETTE.len()];
                // The first variant at the top.
                let row = (n - 1 - *v) as f64;
                let y = row + (*g as f64 - (self.groups.len() as f64 - 1.0) / 2.0) * spread;
                if let (Some(l), Some(h)) = (low, high) {
                    chart.draw_series(std::iter::once(PathElement::new(vec![(*l, y), (*h, y)], c.stroke_width(4))))?;
                    for end in [*l, *h] {
                        chart.draw_series(std::iter::once(PathElement::new(
                            vec![(end, y - 0.12), (end, y + 0.12)],
                            c.stroke_width(3),
                        )))?;
                    }
                }
                chart.draw_series(std::iter::once(Circle::new((*mean, y), 8, c.filled())))?;
            }
            if self.groups.len() > 1 {
                for (g, label) in self.groups.iter().enumerate() {
                    let c = colour::PALETTE[g % colour::PALETTE.len()];
                    chart
                        .draw_series(std::iter::empty::<Circle<(f64, f64), i32>>())?
                        .label(label.clone())
                        .legend(move |(x, y)| Circle::new((x + 15, y), 8, c.filled()));
                }
                legend(&mut chart, SeriesLabelPosition::UpperRight)?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use polars::prelude::{Column, DataFrame};

    #[test]
    fn differences_are_grouped_by_variant_and_other_axes() {
        let df = DataFrame::new_infer_height(vec![
            Column::new("count".into(), [200.0, 500.0, 200.0, 200.0]),
            Column::new("variant".into(), ["breaker", "breaker", "partial", "partial"]),
            Column::new("reference".into(), ["baseline"; 4]),
            Column::new("metric".into(), ["max_drawdown", "max_drawdown", "bad_debt", "fees"]),
            Column::new("n".into(), [2u64; 4]),
            Column::new("diff_mean".into(), [-0.01, -0.02, 300.0, 1.0]),
            Column::new("diff_ci95_low".into(), [Some(-0.015), None, Some(100.0), None]),
            Column::new("diff_ci95_high".into(), [Some(-0.005), None, Some(500.0), None]),
        ])
        .expect("frame");
        let chart = PairedChart::read(&Frame::in_memory(df), "demo", &serde_json::Value::Null, &[])
            .expect("read")
            .expect("data");
        assert_eq!(chart.title, "demo: difference from baseline, same seeds, mean and 95% CI");
        assert_eq!(chart.variants, ["breaker", "partial"]);
        assert_eq!(chart.groups, ["count = 200", "count = 500"]);
        // The significant differences, in percentage points for the
        // drawdown; a metric that is not a sweep metric has no panel.
        let columns: Vec<&str> = chart.panels.iter().map(|(m, _)| m.column).collect();
        assert_eq!(columns, ["max_drawdown", "bad_debt"]);
        assert_eq!(chart.panels[0].1, [(0, 0, -1.0, Some(-1.5), Some(-0.5)), (0, 1, -2.0, None, None)]);
        assert_eq!(chart.panels[1].1, [(1, 0, 300.0, Some(100.0), Some(500.0))]);
    }

    #[test]
    fn a_metric_that_differs_gets_a_panel_before_the_usual_ones() {
        let metrics = ["max_drawdown", "liquidated_notional", "bad_debt", "half_recovery_ticks", "socialized_loss"];
        let df = DataFrame::new_infer_height(vec![
            Column::new("variant".into(), ["haircut"; 5]),
            Column::new("reference".into(), ["fund"; 5]),
            Column::new("metric".into(), metrics),
            Column::new("n".into(), [5u64; 5]),
            Column::new("diff_mean".into(), [0.0, 0.0, -80.0, 0.0, 120.0]),
            Column::new("diff_ci95_low".into(), [Some(0.0), Some(0.0), Some(-120.0), Some(0.0), Some(100.0)]),
            Column::new("diff_ci95_high".into(), [Some(0.0), Some(0.0), Some(-40.0), Some(0.0), Some(140.0)]),
        ])
        .expect("frame");
        let labels = serde_json::json!({ "count": "traders" });
        let chart = PairedChart::read(&Frame::in_memory(df), "demo", &labels, &[]).expect("read").expect("data");
        let columns: Vec<&str> = chart.panels.iter().map(|(m, _)| m.column).collect();
        // The strongest difference first: socialised loss (120 ± 20) over
        // bad debt (−80 ± 40).
        assert_eq!(columns, ["socialized_loss", "bad_debt", "max_drawdown", "liquidated_notional"]);
    }
}
