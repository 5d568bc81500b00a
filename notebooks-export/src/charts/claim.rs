//! A replication's claim: the statistic measured at each point, mean and
//! 95% interval, over the band it must lie in (shaded), green where the
//! interval lies inside the band and red where it does not. A claim fitted
//! across variants ([`FitChart`]) is drawn instead on log-log axes: the
//! statistic's mean and interval at each `x`, and the fitted power law.

use super::axes::{Keyed, extent, log_ticks, nice_axis, padded};
use super::draw::{Chart, DrawFailure, titled};
use super::style::{LABEL_PX, TICK_PX, colour, font};
use plotters::coord::Shift;
use plotters::prelude::*;

/// What a claim chart shows.
#[derive(Clone, Debug, PartialEq)]
pub struct ClaimChart {
    /// The title.
    pub title: String,
    /// The statistic, as the y axis says it.
    pub y_label: String,
    /// The band: lower and upper bound, if any.
    pub band: (Option<f64>, Option<f64>),
    /// Per point: its label, the mean, the interval, and whether it passes.
    pub rows: Vec<(String, f64, (f64, f64), bool)>,
}

impl Chart for ClaimChart {
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), DrawFailure> {
        let body = titled(root, &self.title)?;
        let n = self.rows.len();
        let values = self
            .rows
            .iter()
            .flat_map(|r| [r.1, r.2.0, r.2.1])
            .chain([self.band.0, self.band.1].into_iter().flatten())
            .filter(|v| v.is_finite());
        let y = padded(extent(values), 0.15);
        let (y_axis, fy) = nice_axis(y, y, 6);
        let x_keys: Vec<f64> = (0..n).map(|i| i as f64).collect();
        let mut chart = ChartBuilder::on(&body)
            .margin(20)
            .margin_right(40)
            .x_label_area_size(120)
            .y_label_area_size(130)
            .build_cartesian_2d(Keyed::linear((-0.6, n as f64 - 0.4), x_keys), y_axis)?;
        chart
            .configure_mesh()
            .y_desc(self.y_label.as_str())
            .x_label_formatter(&|v| {
                (0..n).find(|i| (*i as f64 - v).abs() < 0.25).map_or_else(String::new, |i| self.rows[i].0.clone())
            })
            .y_label_formatter(&|v| fy.label(*v))
            .label_style(font(TICK_PX))
            .axis_desc_style(font(LABEL_PX))
            .light_line_style(TRANSPARENT)
            .bold_line_style(BLACK.mix(0.08))
            .draw()?;
        let (lo, hi) = (self.band.0.unwrap_or(y.0), self.band.1.unwrap_or(y.1));
        chart
            .draw_series(std::iter::once(Rectangle::new(
                [(-0.6, lo.max(y.0)), (n as f64 - 0.4, hi.min(y.1))],
                colour::GREEN.mix(0.15).filled(),
            )))?
            .label("target band")
            .legend(|(x, y)| Rectangle::new([(x, y - 8), (x + 30, y + 8)], colour::GREEN.mix(0.3).filled()));
        for (i, (_, mean, (l, h), pass)) in self.rows.iter().enumerate() {
            let c = if *pass { colour::GREEN } else { colour::RED };
            let x = i as f64;
            if l.is_finite() && h.is_finite() {
                chart.draw_series(std::iter::once(PathElement::new(vec![(x, *l), (x, *h)], c.stroke_width(5))))?;
                for end in [*l, *h] {
                    chart.draw_series(std::iter::once(PathElement::new(
                        vec![(x - 0.08, end), (x + 0.08, end)],
                        c.stroke_width(4),
                    )))?;
                }
            }
            if mean.is_finite() {
                chart.draw_series(std::iter::once(Circle::new((x, *mean), 10, c.filled())))?;
            }
        }
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperRight)
            .label_font(font(TICK_PX))
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK.mix(0.4))
            .draw()?;
        Ok(())
    }
}

/// A power law fitted across variants, on log-log axes.
#[derive(Clone, Debug, PartialEq)]
pub struct FitChart {
    /// The title.
    pub title: String,
    /// The x variable, as the axis says it.
    pub x_label: String,
    /// The statistic, as the y axis says it.
    pub y_label: String,
    /// Per point: `x`, the statistic's mean and its 95% interval.
    pub points: Vec<(f64, f64, (f64, f64))>,
    /// The fitted line `y = e^intercept · x^slope`: (intercept, slope).
    pub line: (f64, f64),
    /// The slope's 95% interval, and whether it lies inside the band.
    pub slope_ci95: (f64, f64),
    /// The band the slope must lie in.
    pub band: (Option<f64>, Option<f64>),
    /// Whether the claim passes.
    pub pass: bool,
}

impl Chart for FitChart {
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), DrawFailure> {
        let body = titled(root, &self.title)?;
        let positive = |v: &f64| v.is_finite() && *v > 0.0;
        let xs = extent(self.points.iter().map(|p| p.0).filter(positive));
        let ys = extent(self.points.iter().flat_map(|p| [p.1, p.2.0, p.2.1]).filter(positive));
        let (Some(xs), Some(ys)) = (xs, ys) else { return Ok(()) };
        let widen = |(lo, hi): (f64, f64)| (lo / 1.3, hi * 1.3);
        let (xr, yr) = (widen(xs), widen(ys));
        let mut chart = ChartBuilder::on(&body)
            .margin(20)
            .margin_right(40)
            .x_label_area_size(110)
            .y_label_area_size(150)
            .build_cartesian_2d(Keyed::log(xr, log_ticks(xr.0, xr.1)), Keyed::log(yr, log_ticks(yr.0, yr.1)))?;
        chart
            .configure_mesh()
            .x_desc(self.x_label.as_str())
            .y_desc(self.y_label.as_str())
            .x_label_formatter(&|v| super::style::sig(*v))
            .y_label_formatter(&|v| super::style::sig(*v))
            .label_style(font(TICK_PX))
            .axis_desc_style(font(LABEL_PX))
            .light_line_style(TRANSPARENT)
            .bold_line_style(BLACK.mix(0.08))
            .draw()?;
        let c = if self.pass { colour::GREEN } else { colour::RED };
        let (a, b) = self.line;
        let line: Vec<(f64, f64)> = (0..=40)
            .map(|i| xs.0 * (xs.1 / xs.0).powf(f64::from(i) / 40.0))
            .map(|x| (x, (a + b * x.ln()).exp()))
            .collect();
        chart
            .draw_series(std::iter::once(PathElement::new(line, c.stroke_width(4))))?
            .label(format!(
                "fit: slope {} [{}, {}]; target {}",
                super::style::sig(b),
                super::style::sig(self.slope_ci95.0),
                super::style::sig(self.slope_ci95.1),
                match self.band {
                    (Some(lo), Some(hi)) => format!("[{}, {}]", super::style::sig(lo), super::style::sig(hi)),
                    (Some(lo), None) => format!("≥ {}", super::style::sig(lo)),
                    (None, Some(hi)) => format!("≤ {}", super::style::sig(hi)),
                    (None, None) => "any".into(),
                }
            ))
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 30, y)], c.stroke_width(4)));
        for (x, mean, (l, h)) in &self.points {
            if positive(l) && positive(h) {
                chart.draw_series(std::iter::once(PathElement::new(
                    vec![(*x, *l), (*x, *h)],
                    colour::INK.stroke_width(3),
                )))?;
            }
            if positive(mean) {
                chart.draw_series(std::iter::once(Circle::new((*x, *mean), 9, colour::INK.filled())))?;
            }
        }
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperLeft)
            .label_font(font(TICK_PX))
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK.mix(0.4))
            .draw()?;
        Ok(())
    }
}

/// Draws `chart` as `<dir>/charts/<stem>.svg` and `.png`.
pub fn write_fit_chart(
    dir: &std::path::Path,
    stem: &str,
    chart: &FitChart,
) -> Result<[std::path::PathBuf; 2], super::ChartError> {
    write(dir, stem, chart)
}

fn write(dir: &std::path::Path, stem: &str, chart: &impl Chart) -> Result<[std::path::PathBuf; 2], super::ChartError> {
    super::style::ensure_font()?;
    let out = super::draw::charts_dir(dir)?;
    super::draw::write_chart(&out, stem, chart, "")
}

/// Draws `chart` as `<dir>/charts/<stem>.svg` and `.png`.
pub fn write_claim_chart(
    dir: &std::path::Path,
    stem: &str,
    chart: &ClaimChart,
) -> Result<[std::path::PathBuf; 2], super::ChartError> {
    write(dir, stem, chart)
}
