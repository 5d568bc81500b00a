//! A replication's claim: the statistic measured at each point, mean and
//! 95% interval, over the band it must lie in (shaded), green where the
//! interval lies inside the band and red where it does not.

use super::axes::{Keyed, extent, nice_axis, padded};
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

/// Draws `chart` as `<dir>/charts/<stem>.svg` and `.png`.
pub fn write_claim_chart(
    dir: &std::path::Path,
    stem: &str,
    chart: &ClaimChart,
) -> Result<[std::path::PathBuf; 2], super::ChartError> {
    super::style::ensure_font()?;
    let out = super::draw::charts_dir(dir)?;
    super::draw::write_chart(&out, stem, chart)
}
