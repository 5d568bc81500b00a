//! Replicator trajectories of a role with three strategies, on the simplex:
//! each start's path (`trajectories.parquet`) from a hollow circle to an
//! arrow head, with the equilibria of the variant as stars.

use super::data::Frame;
use super::draw::{Chart, DrawFailure, titled};
use super::error::ChartError;
use super::style::{LABEL_PX, centred, colour, font};
use plotters::coord::Shift;
use plotters::prelude::*;

/// One role's simplex in one variant.
pub(super) struct Trajectories {
    title: String,
    strategies: [String; 3],
    /// Per start, the path as (p0, p1, p2).
    paths: Vec<Vec<[f64; 3]>>,
    /// The equilibria, as the role's (p0, p1, p2).
    equilibria: Vec<[f64; 3]>,
}

/// A mixture of three strategies as a point of the triangle: strategy 0 at
/// the top, 1 at the bottom left, 2 at the bottom right.
fn point(p: [f64; 3]) -> (f64, f64) {
    let h = 3.0_f64.sqrt() / 2.0;
    (0.5 * p[0] + p[2], h * p[0])
}

impl Trajectories {
    /// Every (variant, role) of the frame, with its file stem.
    pub(super) fn read(frame: &Frame, equilibria: &Frame, prefix: &str) -> Result<Vec<(String, Self)>, ChartError> {
        let (variant, role, names) = (frame.strings("variant")?, frame.strings("role")?, frame.strings("strategies")?);
        let (start, p0, p1, p2) = (frame.u64s("start")?, frame.f64s("p0")?, frame.f64s("p1")?, frame.f64s("p2")?);
        let mut out: Vec<(String, String, Self)> = Vec::new();
        for i in 0..frame.df.height() {
            let (v, r) = (variant[i].clone().unwrap_or_default(), role[i].clone().unwrap_or_default());
            let at = match out.iter().position(|(a, b, _)| *a == v && *b == r) {
                Some(at) => at,
                None => {
                    let n: Vec<String> = names[i].clone().unwrap_or_default().split(',').map(str::to_owned).collect();
                    let [a, b, c] = <[String; 3]>::try_from(n).map_err(|_| ChartError::Invalid {
                        path: "trajectories.parquet".into(),
                        message: "a role's trajectories need three strategy names".into(),
                    })?;
                    let eq = equilibria_of(equilibria, &v, &r, [&a, &b, &c])?;
                    let title = format!("{prefix} ({v}): replicator dynamics of the {r}, other roles evolving too");
                    out.push((
                        v.clone(),
                        r.clone(),
                        Self { title, strategies: [a, b, c], paths: Vec::new(), equilibria: eq },
                    ));
                    out.len() - 1
                }
            };
            let t = &mut out[at].2;
            let k = usize::try_from(start[i].unwrap_or(0)).unwrap_or(0);
            while t.paths.len() <= k {
                t.paths.push(Vec::new());
            }
            t.paths[k].push([p0[i].unwrap_or(f64::NAN), p1[i].unwrap_or(f64::NAN), p2[i].unwrap_or(f64::NAN)]);
        }
        Ok(out.into_iter().map(|(v, r, t)| (format!("{v}_{r}"), t)).collect())
    }
}

/// The role's probabilities at each equilibrium of variant `v`.
fn equilibria_of(frame: &Frame, v: &str, role: &str, names: [&String; 3]) -> Result<Vec<[f64; 3]>, ChartError> {
    let variant = frame.strings("variant")?;
    let cols: Vec<Vec<Option<f64>>> =
        names.iter().map(|n| frame.f64s(&format!("{role}:{n}"))).collect::<Result<_, _>>()?;
    Ok((0..frame.df.height())
        .filter(|&i| variant[i].as_deref() == Some(v))
        .filter_map(|i| Some([cols[0][i]?, cols[1][i]?, cols[2][i]?]))
        .collect())
}

impl Chart for Trajectories {
    fn size(&self) -> (u32, u32) {
        (1200, 1100)
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), DrawFailure> {
        let body = titled(root, &self.title)?;
        let h = 3.0_f64.sqrt() / 2.0;
        let mut chart = ChartBuilder::on(&body).margin(40).build_cartesian_2d(-0.12..1.12, -0.1..h + 0.08)?;
        let corners = [point([1.0, 0.0, 0.0]), point([0.0, 1.0, 0.0]), point([0.0, 0.0, 1.0])];
        let mut outline = corners.to_vec();
        outline.push(corners[0]);
        chart.draw_series(std::iter::once(PathElement::new(outline, colour::INK.stroke_width(2))))?;
        let offsets = [(0.0, 0.05), (-0.04, -0.05), (0.04, -0.05)];
        for ((c, name), (dx, dy)) in corners.iter().zip(&self.strategies).zip(offsets) {
            chart.draw_series(std::iter::once(Text::new(name.clone(), (c.0 + dx, c.1 + dy), centred(LABEL_PX))))?;
        }
        for (k, path) in self.paths.iter().enumerate() {
            let c = colour::PALETTE[k % colour::PALETTE.len()];
            let pts: Vec<(f64, f64)> =
                path.iter().filter(|p| p.iter().all(|x| x.is_finite())).map(|p| point(*p)).collect();
            let (Some(first), Some(last)) = (pts.first().copied(), pts.last().copied()) else { continue };
            chart.draw_series(std::iter::once(PathElement::new(pts.clone(), c.stroke_width(3))))?;
            chart.draw_series(std::iter::once(Circle::new(first, 9, c.stroke_width(3))))?;
            // The head points along the last move that shows.
            let before = pts.iter().rev().find(|p| (p.0 - last.0).hypot(p.1 - last.1) > 0.01).copied();
            if let Some(b) = before {
                let (dx, dy) = (last.0 - b.0, last.1 - b.1);
                let l = dx.hypot(dy).max(1e-9);
                let (ux, uy) = (dx / l * 0.03, dy / l * 0.03);
                let head = vec![
                    last,
                    (last.0 - ux - uy * 0.6, last.1 - uy + ux * 0.6),
                    (last.0 - ux + uy * 0.6, last.1 - uy - ux * 0.6),
                ];
                chart.draw_series(std::iter::once(Polygon::new(head, c.filled())))?;
            } else {
                chart.draw_series(std::iter::once(Circle::new(last, 6, c.filled())))?;
            }
        }
        for (i, e) in self.equilibria.iter().enumerate() {
            let at = point(*e);
            let series = chart.draw_series(std::iter::once(Cross::new(at, 14, colour::INK.stroke_width(4))))?;
            if i == 0 {
                series.label("equilibrium").legend(|(x, y)| Cross::new((x + 15, y), 10, colour::INK.stroke_width(3)));
            }
        }
        if !self.equilibria.is_empty() {
            chart
                .configure_series_labels()
                .position(SeriesLabelPosition::UpperRight)
                .label_font(font(LABEL_PX - 4))
                .background_style(WHITE.mix(0.85))
                .border_style(BLACK.mix(0.4))
                .draw()?;
        }
        Ok(())
    }
}
