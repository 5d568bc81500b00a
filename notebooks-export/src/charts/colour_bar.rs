//! The colour bar: the vertical colour scale, with labelled ticks, drawn
//! beside the liquidation map of a run (log scale) and beside the heatmaps
//! of a sweep (linear scale).

use super::axes::{Keyed, Scale, log_ticks, nice_ticks};
use super::draw::DrawFailure;
use super::style::{LABEL_PX, TICK_PX, colour, font, sig, viridis};
use plotters::coord::Shift;
use plotters::prelude::*;

/// How values map to colours.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum ColourScale {
    Linear,
    Log,
}

/// A vertical colour scale from `lo` to `hi` with labelled ticks on its
/// right, `top` and `bottom` pixels in from its area's edges so that it
/// lines up with the plotting area beside it.
pub(super) struct ColourBar<'a> {
    pub(super) lo: f64,
    pub(super) hi: f64,
    pub(super) scale: ColourScale,
    pub(super) label: &'a str,
    pub(super) top: u32,
    pub(super) bottom: u32,
}

impl ColourBar<'_> {
    pub(super) fn draw<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> Result<(), DrawFailure> {
        let (lo, hi) = (self.lo, self.hi);
        // The bar is drawn in 0..1 and labelled at the ticks' positions, so
        // that one code path serves both scales.
        let position = |v: f64| match self.scale {
            ColourScale::Log => (v / lo).ln() / (hi / lo).ln(),
            ColourScale::Linear => (v - lo) / (hi - lo),
        };
        let ticks = match self.scale {
            ColourScale::Log => log_ticks(lo, hi),
            ColourScale::Linear => nice_ticks(lo, hi, 6),
        };
        let linear = Scale::for_ticks(&ticks);
        let labelled: Vec<(f64, String)> = ticks
            .iter()
            .map(|v| {
                let label = if self.scale == ColourScale::Log { sig(*v) } else { linear.label(*v) };
                (position(*v), label)
            })
            .filter(|(t, _)| (-1e-9..=1.0 + 1e-9).contains(t))
            .collect();
        let keys = labelled.iter().map(|(t, _)| *t).collect();
        let mut chart = ChartBuilder::on(area)
            .margin_top(self.top)
            .margin_bottom(self.bottom)
            .margin_left(20)
            .margin_right(10)
            .set_label_area_size(LabelAreaPosition::Right, 170)
            .build_cartesian_2d(0.0..1.0, Keyed::linear((0.0, 1.0), keys))?;
        chart
            .configure_mesh()
            .disable_mesh()
            .disable_x_axis()
            .y_desc(self.label)
            .y_label_formatter(&|t| {
                labelled
                    .iter()
                    .min_by(|a, b| (a.0 - t).abs().total_cmp(&(b.0 - t).abs()))
                    .map_or(String::new(), |l| l.1.clone())
            })
            .label_style(font(TICK_PX))
            .set_all_tick_mark_size(6)
            .axis_desc_style(font(LABEL_PX))
            .draw()?;
        let strips = 200;
        chart.draw_series((0..strips).map(|k| {
            let (a, b) = (f64::from(k) / f64::from(strips), f64::from(k + 1) / f64::from(strips));
            Rectangle::new([(0.0, a), (1.0, b)], viridis((a + b) / 2.0).filled())
        }))?;
        chart.draw_series(std::iter::once(Rectangle::new([(0.0, 0.0), (1.0, 1.0)], colour::INK.stroke_width(1))))?;
        Ok(())
    }
}
