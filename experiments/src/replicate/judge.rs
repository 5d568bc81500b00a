//! Judging a replication's claims: the values each claim's statistic took
//! in each run, gathered over replicates into a mean and a Student-t 95%
//! interval per point (levels), per point and reference (paired
//! differences on the same replicate), or per group of variants (the
//! log-log slope of a power law, fitted replicate by replicate by least
//! squares). A claim passes when every row's whole interval lies inside
//! its band. Pure: the values come from [`super::measure`].

use crate::spec::check::{Check, Claim};
use crate::spec::experiment::VARIANT_AXIS;
use crate::sweep::Plan;
use cascade_agents::framework::record::stats;
use std::collections::BTreeMap;

/// A claim's value in each run, by (point, replicate); `None` for a run
/// without one.
pub type Values = BTreeMap<(usize, u32), Option<f64>>;

/// A claim measured at one point (or one paired variant).
#[derive(Clone, Debug, PartialEq)]
pub struct Row {
    /// Where: the point's swept values.
    pub point: String,
    /// Replicates with a value.
    pub n: usize,
    /// Mean over replicates.
    pub mean: f64,
    /// Student-t 95% interval of the mean.
    pub ci95: (f64, f64),
    /// Whether the interval lies inside the band.
    pub pass: bool,
}

/// A claim and what was measured.
#[derive(Clone, Debug, PartialEq)]
pub struct Measured {
    /// The claim.
    pub claim: Claim,
    /// One row per point it is measured at.
    pub rows: Vec<Row>,
    /// For a claim fitted across variants, the fit of its first row.
    pub fit: Option<Fit>,
}

/// A power law fitted across variants: the points and the mean line.
#[derive(Clone, Debug, PartialEq)]
pub struct Fit {
    /// Per variant of the fit: `x`, the statistic's mean over replicates
    /// and its Student-t 95% interval.
    pub points: Vec<(f64, f64, (f64, f64))>,
    /// Mean over replicates of the intercept of `ln y = a + δ ln x`.
    pub intercept: f64,
    /// Mean over replicates of the slope δ.
    pub slope: f64,
}

impl Measured {
    /// Whether every row passes (and there is one).
    pub fn pass(&self) -> bool {
        !self.rows.is_empty() && self.rows.iter().all(|r| r.pass)
    }
}

/// The rows of a claim fitted across variants: one per combination of
/// the other swept values, each the mean and interval over replicates of
/// the log-log slope.
#[allow(clippy::too_many_arguments, reason = "the parts of the plan that `judge` has already worked out")]
fn fit_rows(
    plan: &Plan,
    claim: &Claim,
    xs: &BTreeMap<String, f64>,
    values: &Values,
    replicates: &[u32],
    variant_of: &dyn Fn(usize) -> Option<String>,
    others: &dyn Fn(usize) -> Vec<serde_json::Value>,
    label: &dyn Fn(usize) -> String,
) -> (Vec<Row>, Option<Fit>) {
    let mut groups: Vec<Vec<serde_json::Value>> = Vec::new();
    for p in 0..plan.points.len() {
        if !groups.contains(&others(p)) {
            groups.push(others(p));
        }
    }
    let mut rows = Vec::new();
    let mut first_fit = None;
    for g in groups {
        let fit: Vec<(usize, f64)> = (0..plan.points.len())
            .filter(|&p| others(p) == g)
            .filter_map(|p| Some((p, *xs.get(variant_of(p)?.as_str())?)))
            .collect();
        let Some(&(first_point, _)) = fit.first() else { continue };
        let lines: Vec<stats::LineFit> = replicates
            .iter()
            .filter_map(|&r| {
                let ys: Option<Vec<f64>> = fit
                    .iter()
                    .map(|&(p, _)| values.get(&(p, r)).copied().flatten().filter(|y| *y > 0.0).map(f64::ln))
                    .collect();
                let lx: Vec<f64> = fit.iter().map(|&(_, x)| x.ln()).collect();
                stats::ols(&lx, &ys?)
            })
            .collect();
        let slopes: Vec<f64> = lines.iter().map(|l| l.slope).collect();
        if first_fit.is_none() && !lines.is_empty() {
            let points = fit
                .iter()
                .map(|&(p, x)| {
                    let ys: Vec<f64> =
                        replicates.iter().filter_map(|&r| values.get(&(p, r)).copied().flatten()).collect();
                    let (m, ci) = if ys.is_empty() { (f64::NAN, (f64::NAN, f64::NAN)) } else { mean_ci(&ys) };
                    (x, m, ci)
                })
                .collect();
            let n = lines.len() as f64;
            first_fit = Some(Fit {
                points,
                intercept: lines.iter().map(|l| l.intercept).sum::<f64>() / n,
                slope: slopes.iter().sum::<f64>() / n,
            });
        }
        let rest = label(first_point);
        let rest = rest.split(", ").filter(|part| !part.starts_with(VARIANT_AXIS)).collect::<Vec<_>>().join(", ");
        let names: Vec<String> = fit.iter().filter_map(|&(p, _)| variant_of(p)).collect();
        let point = format!(
            "log-log slope over {}{}",
            names.join(", "),
            if rest.is_empty() || rest == "all runs" { String::new() } else { format!(" ({rest})") }
        );
        if slopes.is_empty() {
            rows.push(Row { point, n: 0, mean: f64::NAN, ci95: (f64::NAN, f64::NAN), pass: false });
            continue;
        }
        let (mean, ci95) = mean_ci(&slopes);
        rows.push(Row { point, n: slopes.len(), mean, ci95, pass: inside(claim.band, ci95) });
    }
    (rows, first_fit)
}

/// Mean and Student-t 95% interval.
fn mean_ci(xs: &[f64]) -> (f64, (f64, f64)) {
    let n = xs.len();
    let m = xs.iter().sum::<f64>() / n as f64;
    if n < 2 {
        return (m, (f64::NAN, f64::NAN));
    }
    let s = (xs.iter().map(|x| (x - m).powi(2)).sum::<f64>() / (n - 1) as f64).sqrt();
    let h = stats::student_t_975(n - 1) * s / (n as f64).sqrt();
    (m, (m - h, m + h))
}

fn inside(band: (Option<f64>, Option<f64>), ci: (f64, f64)) -> bool {
    ci.0.is_finite() && ci.1.is_finite() && band.0.is_none_or(|lo| ci.0 >= lo) && band.1.is_none_or(|hi| ci.1 <= hi)
}

/// Judges every claim of `check` from its values in the runs of `plan`
/// (`values[i]` for `check.claims[i]`).
pub fn claims(plan: &Plan, check: &Check, all: Vec<Values>) -> Vec<Measured> {
    let v_axis = plan.axes.iter().position(|a| a == VARIANT_AXIS);
    let variant_of = |p: usize| v_axis.and_then(|a| plan.points[p][a].as_str().map(str::to_owned));
    let others = |p: usize| -> Vec<serde_json::Value> {
        plan.points[p].iter().enumerate().filter(|(a, _)| Some(*a) != v_axis).map(|(_, v)| v.clone()).collect()
    };
    let label = |p: usize| -> String {
        let parts: Vec<String> = plan
            .axes
            .iter()
            .zip(&plan.points[p])
            .map(|(a, v)| format!("{a} = {}", v.as_str().map_or(v.to_string(), str::to_owned)))
            .collect();
        if parts.is_empty() { "all runs".into() } else { parts.join(", ") }
    };
    let first = plan.points.first().and_then(|_| variant_of(0));
    let mut out_claims = Vec::new();
    for (claim, values) in check.claims.iter().zip(all) {
        let reference = claim.against.clone().or_else(|| first.clone());
        let points: Vec<usize> =
            (0..plan.points.len()).filter(|&p| claim.variant.is_none() || variant_of(p) == claim.variant).collect();
        let replicates: Vec<u32> = {
            let mut r: Vec<u32> = plan.runs.iter().map(|r| r.replicate).collect();
            r.sort_unstable();
            r.dedup();
            r
        };
        let mut rows = Vec::new();
        if let Some(xs) = &claim.slope {
            let (rows, fit) = fit_rows(plan, claim, xs, &values, &replicates, &variant_of, &others, &label);
            out_claims.push(Measured { claim: claim.clone(), rows, fit });
            continue;
        }
        for p in points {
            let xs: Vec<f64> = if claim.paired {
                let Some(q) = (0..plan.points.len()).find(|&q| variant_of(q) == reference && others(q) == others(p))
                else {
                    continue;
                };
                replicates
                    .iter()
                    .filter_map(|&r| {
                        Some(values.get(&(p, r)).copied().flatten()? - values.get(&(q, r)).copied().flatten()?)
                    })
                    .collect()
            } else {
                replicates.iter().filter_map(|&r| values.get(&(p, r)).copied().flatten()).collect()
            };
            if xs.is_empty() {
                rows.push(Row { point: label(p), n: 0, mean: f64::NAN, ci95: (f64::NAN, f64::NAN), pass: false });
                continue;
            }
            let (mean, ci95) = mean_ci(&xs);
            rows.push(Row { point: label(p), n: xs.len(), mean, ci95, pass: inside(claim.band, ci95) });
        }
        out_claims.push(Measured { claim: claim.clone(), rows, fit: None });
    }
    out_claims
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::check::Statistic;
    use crate::sweep::PlannedRun;

    /// A plan over `variants` (none: one point), `replicates` runs each.
    fn plan(variants: &[&str], replicates: u32) -> Plan {
        let axes = if variants.is_empty() { vec![] } else { vec![VARIANT_AXIS.to_owned()] };
        let points: Vec<Vec<serde_json::Value>> = if variants.is_empty() {
            vec![vec![]]
        } else {
            variants.iter().map(|v| vec![serde_json::json!(v)]).collect()
        };
        let runs = (0..points.len())
            .flat_map(|point| (0..replicates).map(move |replicate| (point, replicate)))
            .enumerate()
            .map(|(index, (point, replicate))| PlannedRun {
                index,
                point,
                replicate,
                seed: 42 + u64::from(replicate),
                run_id: format!("{point}-{replicate}"),
            })
            .collect();
        let (experiment, sweep_id) = ("hand".to_owned(), "hand".to_owned());
        Plan {
            experiment,
            sweep_id,
            axes,
            points,
            runs,
            configs: Vec::new(),
            labels: BTreeMap::new(),
            x: None,
            command: None,
        }
    }

    fn claim(band: (Option<f64>, Option<f64>)) -> Claim {
        Claim {
            says: "by hand".into(),
            statistic: Statistic::Overshoot,
            variant: None,
            paired: false,
            against: None,
            slope: None,
            slope_label: None,
            band,
        }
    }

    fn judged(plan: &Plan, claim: Claim, values: &[(usize, u32, Option<f64>)]) -> Measured {
        let check = Check { source: "s".into(), figure: "f".into(), claims: vec![claim], quick: BTreeMap::new() };
        let values: Values = values.iter().map(|&(p, r, v)| ((p, r), v)).collect();
        claims(plan, &check, vec![values]).remove(0)
    }

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-9
    }

    #[test]
    fn a_level_is_the_mean_with_its_student_t_interval() {
        // 1, 2, 3: mean 2, sd 1, half-width t(2) = 4.303 over sqrt(3); a
        // run without a value is left out.
        let p = plan(&[], 4);
        let values = [(0, 0, Some(1.0)), (0, 1, Some(2.0)), (0, 2, Some(3.0)), (0, 3, None)];
        let m = judged(&p, claim((Some(-1.0), Some(5.0))), &values);
        let row = &m.rows[0];
        let h = 4.303 / 3f64.sqrt();
        assert_eq!((row.n, row.point.as_str()), (3, "all runs"));
        assert!(close(row.mean, 2.0) && close(row.ci95.0, 2.0 - h) && close(row.ci95.1, 2.0 + h), "{row:?}");
        assert!(m.pass());
        // The whole interval must lie in the band: 2 - h < 0.
        assert!(!judged(&p, claim((Some(0.0), None)), &values).pass());
        assert!(!judged(&p, claim((None, Some(4.0))), &values).pass());
    }

    #[test]
    fn one_replicate_has_no_interval_and_cannot_pass() {
        let m = judged(&plan(&[], 1), claim((None, None)), &[(0, 0, Some(1.0))]);
        assert!(m.rows[0].ci95.0.is_nan() && !m.pass());
        assert!(!Measured { claim: claim((None, None)), rows: Vec::new(), fit: None }.pass(), "no row, no pass");
    }

    #[test]
    fn a_paired_claim_takes_differences_replicate_by_replicate() {
        // The levels spread from 10 to 40, the differences only from 1 to
        // 3: 2, 1, 3, 2 have mean 2 and sd sqrt(2/3); replicate 4 has no
        // reference value and is left out.
        let p = plan(&["base", "treat"], 5);
        let base = [10.0, 20.0, 30.0, 40.0];
        let treat = [12.0, 21.0, 33.0, 42.0, 50.0];
        let mut values: Vec<(usize, u32, Option<f64>)> = (0..4).map(|r| (0, r, Some(base[r as usize]))).collect();
        values.push((0, 4, None));
        values.extend((0..5).map(|r| (1, r, Some(treat[r as usize]))));
        let paired = Claim { variant: Some("treat".into()), paired: true, ..claim((Some(0.5), Some(3.5))) };
        let m = judged(&p, paired, &values);
        let row = &m.rows[0];
        let h = 3.182 * (2.0f64 / 3.0).sqrt() / 2.0;
        assert_eq!((row.n, row.point.as_str()), (4, "variant = treat"));
        assert!(close(row.mean, 2.0) && close(row.ci95.0, 2.0 - h) && close(row.ci95.1, 2.0 + h), "{row:?}");
        assert!(m.pass());
        // The same numbers as levels: the spread of the levels, not of the
        // differences, and the interval leaves the band.
        let level = Claim { variant: Some("treat".into()), ..claim((Some(0.5), Some(3.5))) };
        assert!(!judged(&p, level, &values).pass());
    }

    #[test]
    fn a_slope_is_the_least_squares_exponent_replicate_by_replicate() {
        // y = (r + 1) x^0.5 exactly: every replicate's slope is 0.5 and its
        // intercept ln(r + 1). Replicate 2 has a zero and is left out.
        let p = plan(&["a", "b", "c"], 3);
        let xs: [f64; 3] = [1.0, 4.0, 16.0];
        let mut values = Vec::new();
        for (point, x) in xs.iter().enumerate() {
            for r in 0..3u32 {
                let y = if r == 2 && point == 1 { 0.0 } else { f64::from(r + 1) * x.sqrt() };
                values.push((point, r, Some(y)));
            }
        }
        let fit: BTreeMap<String, f64> = [("a", 1.0), ("b", 4.0), ("c", 16.0)].map(|(v, x)| (v.to_owned(), x)).into();
        let m = judged(&p, Claim { slope: Some(fit), ..claim((Some(0.4), Some(0.6))) }, &values);
        let row = &m.rows[0];
        assert_eq!(row.n, 2, "{row:?}");
        assert!(close(row.mean, 0.5) && close(row.ci95.0, 0.5) && close(row.ci95.1, 0.5), "{row:?}");
        assert!(m.pass());
        let fit = m.fit.expect("a fit");
        assert!(close(fit.slope, 0.5) && close(fit.intercept, 2f64.ln() / 2.0), "{fit:?}");
        assert_eq!(fit.points.iter().map(|p| p.0).collect::<Vec<_>>(), xs);
        // At x = 4 the zero counts in the point's mean: (2 + 4 + 0) / 3.
        assert!(close(fit.points[1].1, 2.0), "{fit:?}");
        // The same exponent outside the band fails.
        let fit: BTreeMap<String, f64> = [("a", 1.0), ("b", 4.0), ("c", 16.0)].map(|(v, x)| (v.to_owned(), x)).into();
        assert!(!judged(&p, Claim { slope: Some(fit), ..claim((Some(0.6), None)) }, &values).pass());
    }
}
