//! The heatmap of a sweep over two numeric axes: a metric's mean in each
//! cell of the grid, coloured on a linear scale and written in the cell.
//! A sweep over a third axis gets one heatmap per level of it (a slice).
//! A metric with a contour level (amplification: 2) has the boundary
//! between the cells at or above it and the cells below drawn along the
//! cell edges.

use super::axes::{Keyed, extent, padded};
use super::colour_bar::{ColourBar, ColourScale};
use super::data::Frame;
use super::draw::{Chart, DrawFailure, titled};
use super::error::ChartError;
use super::style::{LABEL_PX, TICK_PX, centred, colour, font, sig_digits, viridis};
use super::sweep::{Metric, MetricColumns, SweepAxis, contour_level};
use plotters::coord::Shift;
use plotters::prelude::*;

/// A metric's mean over a two-axis grid, as coloured cells with values.
pub(super) struct MetricGrid {
    title: String,
    x_label: String,
    y_label: String,
    value_label: String,
    x_levels: Vec<String>,
    y_levels: Vec<String>,
    /// `(x level, y level, mean)`.
    cells: Vec<(usize, usize, f64)>,
    /// The level whose boundary is drawn, if any.
    contour: Option<f64>,
    /// The values the colour scale spans: every slice's, so that one
    /// colour is one value across the slices of a sweep.
    span: Vec<f64>,
}

impl MetricGrid {
    /// A grid of given cells: `(x level, y level, value)`.
    pub(super) fn from_cells(
        title: String,
        labels: [String; 3],
        x_levels: Vec<String>,
        y_levels: Vec<String>,
        cells: Vec<(usize, usize, f64)>,
    ) -> Self {
        let [x_label, y_label, value_label] = labels;
        Self { title, x_label, y_label, value_label, x_levels, y_levels, cells, contour: None, span: Vec::new() }
    }

    /// The grid of `metric` over `x_axis` and `y_axis`; with `slice`, only
    /// the points at that level (index into its levels) of a third axis.
    pub(super) fn read(
        points: &Frame,
        [x_axis, y_axis]: [&SweepAxis; 2],
        slice: Option<(&SweepAxis, usize)>,
        metric: &Metric,
        prefix: &str,
    ) -> Result<Option<Self>, ChartError> {
        let Some(columns) = MetricColumns::read(points, metric)? else { return Ok(None) };
        let level = |axis: &SweepAxis, p: Option<f64>| axis.levels.iter().position(|(q, _)| Some(*q) == p);
        let in_slice = |row: usize| slice.is_none_or(|(axis, k)| level(axis, axis.positions[row]) == Some(k));
        let cells = (0..columns.mean.len())
            .filter(|row| in_slice(*row))
            .filter_map(|row| {
                Some((level(x_axis, x_axis.positions[row])?, level(y_axis, y_axis.positions[row])?, columns.mean[row]?))
            })
            .collect();
        let contour = contour_level(metric.column);
        let outlined = contour.map_or(String::new(), |c| format!(", the {c}\u{d7} contour in red"));
        let at = slice.map_or(String::new(), |(axis, k)| format!(" at {} {}", axis.label, axis.levels[k].1));
        Ok(Some(Self {
            title: format!("{prefix}: mean {}{at}{outlined}", metric.label),
            x_label: x_axis.label.clone(),
            y_label: y_axis.label.clone(),
            value_label: format!("mean {}", metric.label),
            x_levels: x_axis.levels.iter().map(|l| l.1.clone()).collect(),
            y_levels: y_axis.levels.iter().map(|l| l.1.clone()).collect(),
            cells,
            contour,
            span: columns.mean.iter().flatten().copied().collect(),
        }))
    }
}

impl Chart for MetricGrid {
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), DrawFailure> {
        let body = titled(root, &self.title)?;
        let (w, _) = body.dim_in_pixel();
        let (main, side) = body.split_horizontally(w.saturating_sub(280));
        let (nx, ny) = (self.x_levels.len() as f64, self.y_levels.len() as f64);
        let x_keys: Vec<f64> = (0..self.x_levels.len()).map(|i| i as f64).collect();
        let y_keys: Vec<f64> = (0..self.y_levels.len()).map(|i| i as f64).collect();
        let level_label = |levels: &[String], v: f64| {
            levels.iter().zip(0..).find(|(_, i)| f64::from(*i) == v).map_or(String::new(), |(l, _)| l.clone())
        };
        // Room for the longest row label, at about 11 px a character.
        let longest = self.y_levels.iter().map(|l| l.chars().count()).max().unwrap_or(0);
        let y_area = u32::try_from(longest * 11 + 50).unwrap_or(u32::MAX).clamp(150, 600);
        let mut chart = ChartBuilder::on(&main)
            .margin(20)
            .margin_right(20)
            .x_label_area_size(90)
            .y_label_area_size(y_area)
            .build_cartesian_2d(Keyed::linear((-0.5, nx - 0.5), x_keys), Keyed::linear((-0.5, ny - 0.5), y_keys))?;
        chart
            .configure_mesh()
            .disable_mesh()
            .x_desc(self.x_label.as_str())
            .y_desc(self.y_label.as_str())
            .x_label_formatter(&|v| level_label(&self.x_levels, *v))
            .y_label_formatter(&|v| level_label(&self.y_levels, *v))
            .label_style(font(TICK_PX))
            .set_all_tick_mark_size(6)
            .axis_desc_style(font(LABEL_PX))
            .draw()?;
        chart.draw_series(std::iter::once(Rectangle::new(
            [(-0.5, -0.5), (nx - 0.5, ny - 0.5)],
            colour::EMPTY.filled(),
        )))?;
        // The colour scale starts at zero for a metric of one sign, so that
        // colour follows size: a metric that barely varies stays one colour
        // instead of spanning the whole map.
        let (lo, hi) = extent(self.cells.iter().map(|c| c.2).chain(self.span.iter().copied()))
            .map_or((0.0, 1.0), |(lo, hi)| (lo.min(0.0), hi.max(0.0)));
        let (lo, hi) = padded(Some((lo, hi)), 0.0);
        let t = |v: f64| (v - lo) / (hi - lo);
        let digits = distinct_digits(self.cells.iter().map(|c| c.2));
        for (i, j, v) in &self.cells {
            let (x, y) = (*i as f64, *j as f64);
            let fill = viridis(t(*v));
            chart.draw_series(std::iter::once(Rectangle::new(
                [(x - 0.5, y - 0.5), (x + 0.5, y + 0.5)],
                fill.filled(),
            )))?;
            // Dark text on the light end of the map, light text on the dark.
            let ink = if t(*v) > 0.55 { colour::INK } else { RGBColor(255, 255, 255) };
            chart.draw_series(std::iter::once(Text::new(
                sig_digits(*v, digits),
                (x, y),
                centred(LABEL_PX).color(&ink),
            )))?;
        }
        if let Some(level) = self.contour {
            let above = |i: usize, j: usize| self.cells.iter().find(|c| c.0 == i && c.1 == j).map(|c| c.2 >= level);
            let mut edges = Vec::new();
            for &(i, j, v) in &self.cells {
                let (x, y) = (i as f64, j as f64);
                // Each edge once: to the right and above of a cell, where
                // the neighbour exists and lies on the other side.
                if above(i + 1, j).is_some_and(|a| a != (v >= level)) {
                    edges.push([(x + 0.5, y - 0.5), (x + 0.5, y + 0.5)]);
                }
                if above(i, j + 1).is_some_and(|a| a != (v >= level)) {
                    edges.push([(x - 0.5, y + 0.5), (x + 0.5, y + 0.5)]);
                }
            }
            chart.draw_series(edges.into_iter().map(|e| PathElement::new(e.to_vec(), colour::RED.stroke_width(5))))?;
        }
        ColourBar { lo, hi, scale: ColourScale::Linear, label: &self.value_label, top: 20, bottom: 110 }.draw(&side)
    }
}

/// The fewest significant digits (at least three) at which distinct
/// values are written differently, so that cells that differ say so.
fn distinct_digits(values: impl Iterator<Item = f64>) -> i32 {
    let mut values: Vec<f64> = values.collect();
    values.sort_by(f64::total_cmp);
    values.dedup();
    let mut digits = 3;
    while digits < 8 {
        let labels: Vec<String> = values.iter().map(|v| sig_digits(*v, digits)).collect();
        if labels.windows(2).all(|w| w[0] != w[1]) {
            break;
        }
        digits += 1;
    }
    digits
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_that_differ_are_written_differently() {
        assert_eq!(distinct_digits([1_240_000.0, 5_600_000.0].into_iter()), 3);
        assert_eq!(distinct_digits([0.0601, 0.0602, 0.0601].into_iter()), 3);
        assert_eq!(distinct_digits([1_000.0, 1_000.5].into_iter()), 5);
    }
}
