//! The PnL of a run's traders: for each population, the PnL of its
//! accounts at the end of the run as a box plot over dots.

use super::axes::{Keyed, extent, nice_axis, padded};
use super::data::{Frame, MICROS};
use super::draw::{Chart, DrawFailure, draw_message, titled};
use super::error::ChartError;
use super::style::{LABEL_PX, TICK_PX, colour, fixed, font};
use plotters::coord::Shift;
use plotters::prelude::*;

/// At most this many agents of a population are drawn as dots (evenly
/// spaced quantiles beyond it), which keeps the SVG small.
const MAX_DOTS: usize = 400;

/// The spread of PnL across the trader accounts of each population.
pub(super) struct PnlByPopulation {
    title: String,
    /// Each population's name and its accounts' PnL (quote), ascending.
    groups: Vec<(String, Vec<f64>)>,
}

impl PnlByPopulation {
    pub(super) fn read(frame: &Frame, title: String) -> Result<Self, ChartError> {
        let populations = frame.strings("population")?;
        let kinds = frame.strings("kind")?;
        let pnl = frame.f64s("pnl")?;
        let mut groups: Vec<(String, Vec<f64>)> = Vec::new();
        for row in 0..populations.len() {
            let (Some(population), Some("trader"), Some(pnl)) = (&populations[row], kinds[row].as_deref(), pnl[row])
            else {
                continue;
            };
            match groups.iter_mut().find(|(name, _)| name == population) {
                Some((_, values)) => values.push(pnl / MICROS),
                None => groups.push((population.clone(), vec![pnl / MICROS])),
            }
        }
        for (_, values) in &mut groups {
            values.sort_by(f64::total_cmp);
        }
        Ok(Self { title, groups })
    }
}

/// The `q` quantile of ascending `sorted` (linear interpolation).
fn quantile(sorted: &[f64], q: f64) -> f64 {
    let last = sorted.len().saturating_sub(1);
    let pos = q.clamp(0.0, 1.0) * last as f64;
    let mut i = 0;
    while i < last && (i + 1) as f64 <= pos {
        i += 1;
    }
    let f = pos - i as f64;
    match (sorted.get(i), sorted.get(i + 1)) {
        (Some(a), Some(b)) => a + (b - a) * f,
        (Some(a), None) => *a,
        _ => f64::NAN,
    }
}

impl Chart for PnlByPopulation {
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), DrawFailure> {
        if self.groups.is_empty() {
            return draw_message(root, &self.title, "No trader accounts in this run.");
        }
        let body = titled(root, &self.title)?;
        let k = self.groups.len();
        let y = padded(extent(self.groups.iter().flat_map(|(_, v)| v.iter().copied()).chain([0.0])), 0.06);
        let (y_axis, fy) = nice_axis(y, y, 8);
        let labels: Vec<String> =
            self.groups.iter().map(|(name, v)| format!("{name} (n = {})", fixed(v.len() as f64, 0))).collect();
        let keys: Vec<f64> = (0..k).map(|i| i as f64).collect();
        let mut chart = ChartBuilder::on(&body)
            .margin(20)
            .margin_right(40)
            .x_label_area_size(90)
            .y_label_area_size(150)
            .build_cartesian_2d(Keyed::linear((-0.6, k as f64 - 0.4), keys), y_axis)?;
        chart
            .configure_mesh()
            .disable_x_mesh()
            .x_desc(format!(
                "population (box: quartiles and median; whiskers: min to max; dots: accounts, at most {MAX_DOTS})"
            ))
            .y_desc("PnL at the end of the run (quote)")
            .x_label_formatter(&|v| {
                let i = v.round();
                if (v - i).abs() < 1e-6 && i >= 0.0 {
                    labels.iter().zip(0..).find(|(_, j)| f64::from(*j) == i).map_or(String::new(), |(l, _)| l.clone())
                } else {
                    String::new()
                }
            })
            .y_label_formatter(&|v| fy.label(*v))
            .label_style(font(TICK_PX))
            .set_all_tick_mark_size(6)
            .axis_desc_style(font(LABEL_PX))
            .bold_line_style(BLACK.mix(0.08))
            .draw()?;
        chart.draw_series(DashedLineSeries::new(
            [(-0.6, 0.0), (k as f64 - 0.4, 0.0)],
            10,
            6,
            colour::GREY.stroke_width(2),
        ))?;
        for (i, (_, values)) in self.groups.iter().enumerate() {
            let c = colour::PALETTE[i % colour::PALETTE.len()];
            let x = i as f64;
            let [min, q1, median, q3, max] = [0.0, 0.25, 0.5, 0.75, 1.0].map(|q| quantile(values, q));
            let half = 0.28;
            // The box's fill goes under the dots and its outline over them,
            // so that both stay visible.
            chart
                .draw_series(std::iter::once(Rectangle::new([(x - half, q1), (x + half, q3)], c.mix(0.2).filled())))?;
            chart.draw_series([
                PathElement::new(vec![(x, min), (x, q1)], colour::INK.stroke_width(2)),
                PathElement::new(vec![(x, q3), (x, max)], colour::INK.stroke_width(2)),
                PathElement::new(vec![(x - half / 2.0, min), (x + half / 2.0, min)], colour::INK.stroke_width(2)),
                PathElement::new(vec![(x - half / 2.0, max), (x + half / 2.0, max)], colour::INK.stroke_width(2)),
            ])?;
            chart.draw_series(
                dots(values)
                    .iter()
                    .enumerate()
                    .map(|(j, v)| Circle::new((x + jitter(j) * 0.5, *v), 3, c.mix(0.7).filled())),
            )?;
            chart.draw_series(std::iter::once(Rectangle::new(
                [(x - half, q1), (x + half, q3)],
                colour::INK.stroke_width(2),
            )))?;
            chart.draw_series(std::iter::once(PathElement::new(
                vec![(x - half, median), (x + half, median)],
                colour::INK.stroke_width(4),
            )))?;
        }
        Ok(())
    }
}

/// The values drawn as dots: all of them, or evenly spaced quantiles of a
/// large population.
fn dots(sorted: &[f64]) -> Vec<f64> {
    if sorted.len() <= MAX_DOTS {
        return sorted.to_vec();
    }
    let last = sorted.len() - 1;
    (0..MAX_DOTS).map(|k| sorted[k * last / (MAX_DOTS - 1)]).collect()
}

/// A deterministic spread in -0.5..0.5 (the golden-ratio sequence), so
/// that dots of equal value do not hide one another.
fn jitter(j: usize) -> f64 {
    (j as f64 * 0.618_033_988_749_895).fract() - 0.5
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quartiles_interpolate_between_accounts() {
        assert_eq!(quantile(&[1.0, 2.0, 3.0, 4.0, 5.0], 0.25), 2.0);
        assert_eq!(quantile(&[0.0, 10.0], 0.25), 2.5);
        assert_eq!(quantile(&[7.0], 0.75), 7.0);
        assert_eq!(dots(&(0..1_000).map(f64::from).collect::<Vec<_>>()).len(), MAX_DOTS);
    }
}
