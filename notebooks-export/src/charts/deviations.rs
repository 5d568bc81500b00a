//! The deviation graph of a two-role game: every reduced profile is a
//! node, placed by the first role's part (rows) and the second's (columns),
//! and an arrow runs from a profile to the one a single player reaches by a
//! profitable switch of strategy. Pure equilibria, which no arrow leaves,
//! are filled.

use super::axes::Keyed;
use super::draw::{Chart, DrawFailure, legend, titled};
use super::game::GameTable;
use super::style::{LABEL_PX, TICK_PX, colour, font};
use plotters::coord::Shift;
use plotters::prelude::*;

/// Nodes and arrows.
pub(super) struct DeviationGraph {
    title: String,
    roles: [String; 2],
    /// Per role, its parts' labels (rows for the first, columns for the
    /// second).
    levels: [Vec<String>; 2],
    /// Per profile, its (column, row).
    nodes: Vec<(usize, usize)>,
    /// `(from, to, role)`.
    arrows: Vec<(usize, usize, usize)>,
}

impl DeviationGraph {
    /// The graph of a two-role table; `None` for another number of roles.
    pub(super) fn new(table: &GameTable, prefix: &str) -> Option<Self> {
        if table.roles.len() != 2 {
            return None;
        }
        let parts = [table.parts(0), table.parts(1)];
        let nodes = table
            .profiles
            .iter()
            .map(|p| {
                let at = |r: usize| parts[r].iter().position(|x| *x == p[r]).unwrap_or(0);
                (at(1), at(0))
            })
            .collect();
        let labels = |r: usize| parts[r].iter().map(|c| table.part_label(r, c)).collect();
        Some(Self {
            title: format!("{prefix} ({}): profitable deviations between pure profiles", table.variant),
            roles: [table.roles[0].clone(), table.roles[1].clone()],
            levels: [labels(0), labels(1)],
            nodes,
            arrows: table.deviations().into_iter().map(|(a, b, r, _)| (a, b, r)).collect(),
        })
    }
}

impl Chart for DeviationGraph {
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), DrawFailure> {
        let body = titled(root, &self.title)?;
        let (nx, ny) = (self.levels[1].len() as f64, self.levels[0].len() as f64);
        let x_keys: Vec<f64> = (0..self.levels[1].len()).map(|i| i as f64).collect();
        let y_keys: Vec<f64> = (0..self.levels[0].len()).map(|i| i as f64).collect();
        let level = |levels: &[String], v: f64| {
            levels.iter().zip(0..).find(|(_, i)| f64::from(*i) == v).map_or(String::new(), |(l, _)| l.clone())
        };
        let mut chart = ChartBuilder::on(&body)
            .margin(20)
            .margin_right(40)
            .x_label_area_size(90)
            .y_label_area_size(260)
            // Room above the top row for the legend.
            .build_cartesian_2d(Keyed::linear((-0.5, nx - 0.5), x_keys), Keyed::linear((-0.5, ny + 0.3), y_keys))?;
        chart
            .configure_mesh()
            .disable_mesh()
            .x_desc(format!("{} (players per strategy)", self.roles[1]))
            .y_desc(format!("{} (players per strategy)", self.roles[0]))
            .x_label_formatter(&|v| level(&self.levels[1], *v))
            .y_label_formatter(&|v| level(&self.levels[0], *v))
            .label_style(font(TICK_PX))
            .axis_desc_style(font(LABEL_PX))
            .draw()?;
        let role_colour = [colour::BLUE, colour::ORANGE];
        for (k, &(from, to, r)) in self.arrows.iter().enumerate() {
            let (a, b) = (self.nodes[from], self.nodes[to]);
            let (x0, y0, x1, y1) = (a.0 as f64, a.1 as f64, b.0 as f64, b.1 as f64);
            // A quadratic curve bent to the left of its direction, the more
            // the farther it runs, so that arrows along one row or column
            // (and the two directions between two nodes) stay apart.
            let (dx, dy) = (x1 - x0, y1 - y0);
            let len = (dx * dx + dy * dy).sqrt().max(1e-9);
            let (ux, uy) = (dx / len, dy / len);
            let bend = 0.12 + 0.1 * (len - 1.0).max(0.0);
            let (cx, cy) = ((x0 + x1) / 2.0 - uy * bend, (y0 + y1) / 2.0 + ux * bend);
            let at = |t: f64| {
                let u = 1.0 - t;
                (u * u * x0 + 2.0 * u * t * cx + t * t * x1, u * u * y0 + 2.0 * u * t * cy + t * t * y1)
            };
            // Start and end off the node circles.
            let t0 = (0.13 / len).min(0.3);
            let path: Vec<(f64, f64)> = (0..=16).map(|i| at(t0 + (1.0 - 2.0 * t0) * f64::from(i) / 16.0)).collect();
            let c = role_colour[r % 2];
            let (ex, ey) = path[path.len() - 1];
            let (px, py) = path[path.len() - 2];
            let series = chart.draw_series(std::iter::once(PathElement::new(path, c.stroke_width(3))))?;
            if k == self.arrows.iter().position(|a| a.2 == r).unwrap_or(usize::MAX) {
                series
                    .label(format!("a {} player gains by switching", self.roles[r]))
                    .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 30, y)], c.stroke_width(3)));
            }
            // The head: a triangle along the curve's last direction.
            let (hx, hy) = (ex - px, ey - py);
            let hl = (hx * hx + hy * hy).sqrt().max(1e-9);
            let (hx, hy) = (hx / hl * 0.07, hy / hl * 0.07);
            let head =
                vec![(ex, ey), (ex - hx - hy * 0.5, ey - hy + hx * 0.5), (ex - hx + hy * 0.5, ey - hy - hx * 0.5)];
            chart.draw_series(std::iter::once(Polygon::new(head, c.filled())))?;
        }
        for (i, &(x, y)) in self.nodes.iter().enumerate() {
            let sink = !self.arrows.iter().any(|a| a.0 == i);
            let style = if sink { colour::GREEN.filled() } else { colour::GREY.stroke_width(3) };
            let node = chart.draw_series(std::iter::once(Circle::new((x as f64, y as f64), 16, style)))?;
            if sink && self.nodes[..i].iter().enumerate().all(|(j, _)| self.arrows.iter().any(|a| a.0 == j)) {
                node.label("pure equilibrium (no profitable deviation)")
                    .legend(|(x, y)| Circle::new((x + 15, y), 10, colour::GREEN.filled()));
            }
        }
        legend(&mut chart, SeriesLabelPosition::UpperRight)
    }
}
