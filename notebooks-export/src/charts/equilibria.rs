//! The equilibria of a game: each one's regret with its bootstrap 95%
//! interval, and how much deeper the crash is at it than under the
//! baseline profile (every role on its first strategy), with the paired
//! 95% interval of the difference.

use super::axes::{Keyed, extent, nice_axis, padded};
use super::data::Frame;
use super::draw::{Chart, DrawFailure, titled};
use super::error::ChartError;
use super::style::{LABEL_PX, SIZE, TICK_PX, colour, font};
use plotters::coord::Shift;
use plotters::prelude::*;

/// A value with its interval.
type Interval = (f64, Option<f64>, Option<f64>);

/// One row per variant and equilibrium.
pub(super) struct EquilibriaChart {
    title: String,
    labels: Vec<String>,
    /// Per panel, per row: (value, low, high).
    panels: [Vec<Interval>; 2],
}

const PANELS: [&str; 2] =
    ["regret (payoff units), 95% bootstrap CI", "max drawdown minus the baseline's (percentage points), 95% CI"];

impl EquilibriaChart {
    pub(super) fn read(frame: &Frame, prefix: &str) -> Result<Option<Self>, ChartError> {
        let variant = frame.strings("variant")?;
        let kind = frame.strings("kind")?;
        let mixture = frame.strings("mixture")?;
        let (regret, rlo, rhi) =
            (frame.f64s("regret")?, frame.f64s("regret_ci95_low")?, frame.f64s("regret_ci95_high")?);
        let (dd, base) = (frame.f64s("max_drawdown")?, frame.f64s("max_drawdown_baseline")?);
        let (dlo, dhi) = (frame.f64s("max_drawdown_diff_ci95_low")?, frame.f64s("max_drawdown_diff_ci95_high")?);
        let mut labels = Vec::new();
        let mut panels: [Vec<Interval>; 2] = [Vec::new(), Vec::new()];
        for i in 0..frame.df.height() {
            labels.push(format!(
                "{} ({}): {}",
                variant[i].clone().unwrap_or_default(),
                kind[i].clone().unwrap_or_default(),
                mixture[i].clone().unwrap_or_default()
            ));
            panels[0].push((regret[i].unwrap_or(f64::NAN), rlo[i], rhi[i]));
            let diff = dd[i].zip(base[i]).map_or(f64::NAN, |(a, b)| 100.0 * (a - b));
            panels[1].push((diff, dlo[i].map(|x| 100.0 * x), dhi[i].map(|x| 100.0 * x)));
        }
        if labels.is_empty() {
            return Ok(None);
        }
        Ok(Some(Self { title: format!("{prefix}: equilibria"), labels, panels }))
    }
}

impl Chart for EquilibriaChart {
    fn size(&self) -> (u32, u32) {
        let n = u32::try_from(self.labels.len()).unwrap_or(u32::MAX);
        (SIZE.0 + 400, (SIZE.1 / 2).max(n.saturating_mul(90).saturating_add(260)))
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), DrawFailure> {
        let body = titled(root, &self.title)?;
        let (w, _) = body.dim_in_pixel();
        let (left, right) = body.split_horizontally(w * 58 / 100);
        let n = self.labels.len();
        // Room for the longest label, at about 11 px a character.
        let longest = self.labels.iter().map(|l| l.chars().count()).max().unwrap_or(0);
        let label_area = u32::try_from(longest * 11 + 40).unwrap_or(u32::MAX).clamp(200, 900);
        for (k, (area, points)) in [left, right].iter().zip(&self.panels).enumerate() {
            let values = points.iter().flat_map(|p| [Some(p.0), p.1, p.2]).flatten().filter(|v| v.is_finite());
            let x = padded(extent(values.chain([0.0])), 0.08);
            let (x_axis, fx) = nice_axis(x, x, 5);
            let y_keys: Vec<f64> = (0..n).map(|i| i as f64).collect();
            let mut chart = ChartBuilder::on(area)
                .caption(PANELS[k], font(LABEL_PX))
                .margin(12)
                .margin_right(30)
                .x_label_area_size(50)
                .y_label_area_size(if k == 0 { label_area } else { 10 })
                .build_cartesian_2d(x_axis, Keyed::linear((-0.6, n as f64 - 0.4), y_keys))?;
            chart
                .configure_mesh()
                .x_label_formatter(&|v| fx.label(*v))
                .y_label_formatter(&|v| {
                    if k > 0 {
                        return String::new();
                    }
                    (0..n)
                        .find(|r| (*r as f64 - v).abs() < 0.25)
                        .map_or_else(String::new, |r| self.labels[n - 1 - r].clone())
                })
                .label_style(font(TICK_PX))
                .light_line_style(TRANSPARENT)
                .bold_line_style(BLACK.mix(0.08))
                .draw()?;
            chart.draw_series(std::iter::once(PathElement::new(
                vec![(0.0, -0.6), (0.0, n as f64 - 0.4)],
                colour::INK.stroke_width(2),
            )))?;
            for (i, (v, lo, hi)) in points.iter().enumerate() {
                let y = (n - 1 - i) as f64;
                let c = colour::PALETTE[i % colour::PALETTE.len()];
                if let (Some(l), Some(h)) = (lo, hi) {
                    chart.draw_series(std::iter::once(PathElement::new(vec![(*l, y), (*h, y)], c.stroke_width(4))))?;
                }
                if v.is_finite() {
                    chart.draw_series(std::iter::once(Circle::new((*v, y), 9, c.filled())))?;
                }
            }
        }
        Ok(())
    }
}
