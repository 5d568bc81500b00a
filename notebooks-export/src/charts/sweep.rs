//! What the charts of a sweep share: the metrics of `points.parquet` with
//! their labels and units, the metrics that get a two-axis heatmap, a swept
//! parameter as a chart axis (`SweepAxis`), and a metric's mean and 95%
//! confidence bounds at each point (`MetricColumns`).

use super::axes::{extent, nice_ticks, padded};
use super::data::Frame;
use super::error::ChartError;
use super::style::{exact, sig};

/// A sweep metric: its column stem in `points.parquet`, its axis label,
/// and the factor that turns it into the label's unit.
#[derive(Clone, Copy, Debug)]
pub(super) struct Metric {
    pub(super) column: &'static str,
    pub(super) label: &'static str,
    pub(super) factor: f64,
}

pub(super) const METRICS: [Metric; 16] = [
    Metric { column: "max_drawdown", label: "max drawdown of the mark (%)", factor: 100.0 },
    Metric {
        column: "amplification",
        label: "amplification (fall of the mark / fall of the fundamental)",
        factor: 1.0,
    },
    Metric { column: "half_recovery_ticks", label: "time to recover half the drawdown (ticks)", factor: 1.0 },
    Metric { column: "n_liquidations", label: "liquidations (count)", factor: 1.0 },
    Metric { column: "liquidated_notional", label: "liquidated notional (quote)", factor: 1.0 },
    Metric { column: "largest_cascade", label: "largest one-tick cascade (quote)", factor: 1.0 },
    Metric { column: "spillover_notional", label: "notional liquidated outside the first market (quote)", factor: 1.0 },
    Metric {
        column: "spillover_drawdown",
        label: "largest drawdown of a mark outside the first market (%)",
        factor: 100.0,
    },
    Metric { column: "max_rounds", label: "most liquidation rounds in one tick", factor: 1.0 },
    Metric { column: "bad_debt", label: "bad debt (quote)", factor: 1.0 },
    Metric { column: "uncovered_bad_debt", label: "uncovered bad debt (quote)", factor: 1.0 },
    Metric { column: "insurance_fund", label: "insurance fund at the end (quote)", factor: 1.0 },
    Metric { column: "fund_used", label: "bad debt paid by the insurance fund (quote)", factor: 1.0 },
    Metric { column: "fund_drawdown", label: "largest fall of the insurance fund (quote)", factor: 1.0 },
    Metric { column: "socialized_loss", label: "profits taken by socialised loss (quote)", factor: 1.0 },
    Metric { column: "adl_notional", label: "notional closed by auto-deleveraging (quote)", factor: 1.0 },
];

/// Metrics charted only when some value is not zero: a single-market sweep
/// has no spill-over, and a book without a backstop no socialised loss.
pub(super) fn shown_only_if_nonzero(column: &str) -> bool {
    column.starts_with("spillover_")
        || ["fund_used", "fund_drawdown", "socialized_loss", "adl_notional"].contains(&column)
}

/// The metrics given a two-axis heatmap.
pub(super) const GRID_METRICS: [&str; 4] = ["amplification", "liquidated_notional", "max_drawdown", "bad_debt"];

/// The level a metric's heatmap outlines: amplification 2, where the fall
/// of the mark is twice the news (the fragility issue's boundary between a
/// market that absorbs a shock and one that cascades).
pub(super) fn contour_level(column: &str) -> Option<f64> {
    (column == "amplification").then_some(2.0)
}

/// One swept parameter's value at each point, as a position on a chart
/// axis: the value itself if numeric, else the order of first appearance.
#[derive(Clone)]
pub(super) struct SweepAxis {
    pub(super) name: String,
    /// How the axis is named on a chart: the sweep's label for it, or its
    /// path.
    pub(super) label: String,
    pub(super) numeric: bool,
    pub(super) positions: Vec<Option<f64>>,
    /// Distinct positions, ascending, with their labels.
    pub(super) levels: Vec<(f64, String)>,
}

impl SweepAxis {
    pub(super) fn read(points: &Frame, name: &str) -> Result<Self, ChartError> {
        let numeric = points.is_numeric(name)?;
        let mut levels: Vec<(f64, String)> = Vec::new();
        let positions = if numeric {
            let values = points.f64s(name)?;
            for v in values.iter().flatten() {
                if !levels.iter().any(|(p, _)| p == v) {
                    levels.push((*v, exact(*v)));
                }
            }
            values
        } else {
            let mut positions = Vec::new();
            for s in points.strings(name)? {
                positions.push(s.map(|s| match levels.iter().find(|(_, l)| *l == s) {
                    Some((p, _)) => *p,
                    None => {
                        let p = levels.len() as f64;
                        levels.push((p, s));
                        p
                    }
                }));
            }
            positions
        };
        levels.sort_by(|a, b| a.0.total_cmp(&b.0));
        Ok(Self { name: name.to_owned(), label: name.to_owned(), numeric, positions, levels })
    }

    pub(super) fn label_of(&self, position: f64) -> String {
        self.levels.iter().find(|(p, _)| *p == position).map_or_else(|| sig(position), |(_, l)| l.clone())
    }

    /// Whether the axis reads better on a log scale: numeric, positive,
    /// and spanning more than two decades (an insurance fund of 1,000 to
    /// 1,000,000 quote).
    pub(super) fn wants_log(&self) -> bool {
        let (Some(lo), Some(hi)) = (self.levels.first(), self.levels.last()) else { return false };
        self.numeric && lo.0 > 0.0 && hi.0 / lo.0 > 100.0
    }

    /// The axis on a log scale: positions are log10 of the values, and the
    /// swept values keep their labels.
    pub(super) fn logged(&self) -> SweepAxis {
        SweepAxis {
            label: format!("{} (log scale)", self.label),
            positions: self.positions.iter().map(|p| p.map(f64::log10)).collect(),
            levels: self.levels.iter().map(|(p, l)| (p.log10(), l.clone())).collect(),
            ..self.clone()
        }
    }

    /// The chart range and tick positions for this axis.
    pub(super) fn range_and_ticks(&self) -> ((f64, f64), Vec<f64>) {
        let positions: Vec<f64> = self.levels.iter().map(|l| l.0).collect();
        if !self.numeric {
            let last = positions.len().saturating_sub(1) as f64;
            return ((-0.5, last + 0.5), positions);
        }
        let range = padded(extent(positions.iter().copied()), 0.06);
        // Swept values make the best ticks, unless they are too many to
        // label, or two are so close that their labels would overlap.
        let crowded = positions.windows(2).any(|w| w[1] - w[0] < 0.04 * (range.1 - range.0));
        let ticks = if positions.len() <= 12 && !crowded { positions } else { nice_ticks(range.0, range.1, 8) };
        (range, ticks)
    }
}

/// The mean, and the 95% confidence bounds if known, of a metric at each
/// point, all scaled to the metric's label unit.
pub(super) struct MetricColumns {
    pub(super) mean: Vec<Option<f64>>,
    pub(super) low: Vec<Option<f64>>,
    pub(super) high: Vec<Option<f64>>,
}

impl MetricColumns {
    /// `None` if the sweep has no mean of the metric at any point.
    pub(super) fn read(points: &Frame, metric: &Metric) -> Result<Option<Self>, ChartError> {
        let column = |suffix: &str| -> Result<Vec<Option<f64>>, ChartError> {
            let name = format!("{}_{suffix}", metric.column);
            if points.has(&name) {
                Ok(points
                    .f64s(&name)?
                    .into_iter()
                    .map(|v| v.map(|v| v * metric.factor).filter(|v| v.is_finite()))
                    .collect())
            } else {
                Ok(vec![None; points.df.height()])
            }
        };
        let mean_name = format!("{}_mean", metric.column);
        if !points.has(&mean_name) {
            return Ok(None);
        }
        let mean = column("mean")?;
        if mean.iter().all(Option::is_none) {
            return Ok(None);
        }
        Ok(Some(Self { mean, low: column("ci95_low")?, high: column("ci95_high")? }))
    }
}
