//! Measuring a replication's claims on its runs, and judging them.

use crate::run;
use crate::spec::check::{Check, Claim, ImpactPrice, ReturnPrice, Statistic};
use crate::spec::experiment::VARIANT_AXIS;
use crate::sweep::Plan;
use anyhow::{Context, Result};
use cascade_agents::framework::record::stats;
use cascade_notebooks::frames::{f64s, parquet, strings};
use polars::prelude::DataFrame;
use std::path::Path;

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

/// One run's files, each read at most once, when a statistic first needs it.
#[derive(Debug)]
pub struct RunFiles {
    dir: std::path::PathBuf,
    ticks: Option<DataFrame>,
    agents: Option<DataFrame>,
    executions: Option<DataFrame>,
    events: Option<DataFrame>,
}

impl RunFiles {
    /// The run in `dir`; nothing is read yet.
    pub fn new(dir: &Path) -> RunFiles {
        RunFiles { dir: dir.to_owned(), ticks: None, agents: None, executions: None, events: None }
    }

    /// The frame `name` (`ticks`, `agents`, `events` or `executions`), and its path.
    fn read(&mut self, name: &str) -> Result<(&DataFrame, std::path::PathBuf)> {
        let path = self.dir.join(format!("{name}.parquet"));
        let slot = match name {
            "agents" => &mut self.agents,
            "executions" => &mut self.executions,
            "events" => &mut self.events,
            _ => &mut self.ticks,
        };
        if slot.is_none() {
            *slot = Some(parquet(&path)?);
        }
        Ok((slot.as_ref().expect("just read"), path))
    }
}

/// The statistic of the run whose files are `files`; `None` when the run
/// has none (no liquidation, too few returns).
pub fn statistic(stat: &Statistic, files: &mut RunFiles) -> Result<Option<f64>> {
    let finite = |x: f64| x.is_finite().then_some(x);
    match stat {
        Statistic::Metric { name } => {
            let m = run::finished(&files.dir).with_context(|| format!("{} has no manifest", files.dir.display()))?;
            let summary = serde_json::to_value(&m.summary).expect("a summary serialises");
            Ok(summary.get(name).and_then(serde_json::Value::as_f64))
        }
        Statistic::PopulationPnl { population } => {
            let (df, path) = files.read("agents")?;
            let who = strings(df, "population", &path)?;
            let pnl = f64s(df, "pnl", &path)?;
            let xs: Vec<f64> = (0..df.height())
                .filter(|&i| who[i].as_deref() == Some(population.as_str()))
                .filter_map(|i| pnl[i])
                .collect();
            Ok((!xs.is_empty()).then(|| xs.iter().sum::<f64>() / xs.len() as f64 / 1e6))
        }
        Statistic::ExecutionImpact { population, price } => {
            if !files.dir.join("executions.parquet").exists() {
                return Ok(None);
            }
            let (df, path) = files.read("executions")?;
            execution_impact(df, &path, population, *price)
        }
        Statistic::ZeroBidShare { at_most } => {
            let (df, path) = files.read("events")?;
            let kind = strings(df, "kind", &path)?;
            let (qty, price, mark) =
                (f64s(df, "qty", &path)?, f64s(df, "fill_price", &path)?, f64s(df, "trigger_price", &path)?);
            let sales: Vec<(f64, f64, f64)> = (0..df.height())
                .filter(|&i| kind[i].as_deref() == Some("auction_take"))
                .filter_map(|i| Some((qty[i]?, price[i]?, mark[i]?)))
                .collect();
            Ok(finite(stats::zero_bid_share(&sales, *at_most)))
        }
        Statistic::LongShare => {
            let (df, path) = files.read("ticks")?;
            let long: Vec<f64> = f64s(df, "liquidated_long", &path)?.into_iter().flatten().collect();
            let short: Vec<f64> = f64s(df, "liquidated_short", &path)?.into_iter().flatten().collect();
            Ok(finite(stats::long_share(&long, &short)))
        }
        Statistic::FirstLiquidationTick => {
            let (df, path) = files.read("ticks")?;
            let (tick, long, short) =
                (f64s(df, "tick", &path)?, f64s(df, "liquidated_long", &path)?, f64s(df, "liquidated_short", &path)?);
            let first = (0..df.height()).find(|&i| long[i].unwrap_or(0.0) + short[i].unwrap_or(0.0) > 0.0);
            Ok(first.and_then(|i| tick[i]))
        }
        Statistic::Overshoot => {
            let (mark, fundamental) =
                (first_market_series(files, "mark_price")?, first_market_series(files, "fundamental_price")?);
            Ok(finite(stats::overshoot(&mark, &fundamental)))
        }
        Statistic::RecoveryTicks { fraction } => {
            Ok(stats::recovery_ticks(&first_market_series(files, "mark_price")?, *fraction).map(|t| t as f64))
        }
        Statistic::Kurtosis { horizon, window, price } => {
            Ok(finite(stats::excess_kurtosis(&returns(files, *horizon, *window, *price)?)))
        }
        Statistic::Hill { horizon, window, price } => {
            let r = returns(files, *horizon, *window, *price)?;
            Ok(finite(stats::hill(&r, stats::hill_default_k(r.len()))))
        }
        Statistic::MaxAbsAcf { horizon, from, to, window, price } => {
            let r = returns(files, *horizon, *window, *price)?;
            let acf: Vec<f64> = (*from..=*to).map(|k| stats::autocorrelation(&r, k).abs()).collect();
            Ok(acf.iter().all(|x| x.is_finite()).then(|| acf.iter().copied().fold(0.0, f64::max)))
        }
        Statistic::MeanAbsReturnAcf { horizon, from, to, window, price } => {
            let a: Vec<f64> = returns(files, *horizon, *window, *price)?.iter().map(|x| x.abs()).collect();
            let acf: Vec<f64> = (*from..=*to).map(|k| stats::autocorrelation(&a, k)).collect();
            Ok(acf.iter().all(|x| x.is_finite()).then(|| acf.iter().sum::<f64>() / acf.len() as f64))
        }
    }
}

/// A column of `ticks.parquet` over the first market's rows, nulls left out.
fn first_market_series(files: &mut RunFiles, column: &str) -> Result<Vec<f64>> {
    let (df, path) = files.read("ticks")?;
    let market = strings(df, "market", &path)?;
    let first = market.first().cloned().flatten();
    let values = f64s(df, column, &path)?;
    Ok((0..df.height()).filter(|&i| market[i] == first).filter_map(|i| values[i]).collect())
}

/// The first market's log returns at `horizon` of the mark or the mid,
/// over the ticks of `window`.
fn returns(files: &mut RunFiles, horizon: usize, window: Option<(u64, u64)>, price: ReturnPrice) -> Result<Vec<f64>> {
    let (df, path) = files.read("ticks")?;
    let tick = f64s(df, "tick", &path)?;
    let market = strings(df, "market", &path)?;
    let first = market.first().cloned().flatten();
    let series = match price {
        ReturnPrice::Mark => f64s(df, "mark_price", &path)?,
        ReturnPrice::Mid => {
            let (bid, ask) = (f64s(df, "best_bid", &path)?, f64s(df, "best_ask", &path)?);
            bid.iter().zip(&ask).map(|(b, a)| Some((b.as_ref()? + a.as_ref()?) / 2.0)).collect()
        }
    };
    let prices: Vec<f64> = (0..df.height())
        .filter(|&i| market[i] == first)
        .filter(|&i| window.is_none_or(|(from, to)| tick[i].is_some_and(|t| t >= from as f64 && t <= to as f64)))
        .filter_map(|i| series[i])
        .collect();
    Ok(stats::log_returns(&prices, horizon))
}

/// The mean peak impact of `population`'s parent orders in an
/// `executions` frame (see [`Statistic::ExecutionImpact`]); each agent's
/// last child (rows are in the order sent) gives its parent's end.
fn execution_impact(df: &DataFrame, path: &Path, population: &str, price: ImpactPrice) -> Result<Option<f64>> {
    let who = strings(df, "population", path)?;
    let index = f64s(df, "agent_index", path)?;
    let side = strings(df, "side", path)?;
    let arrival = f64s(df, "arrival_mid", path)?;
    let column = |name| f64s(df, name, path);
    let (mid, bid, ask, last_trade) = (column("mid")?, column("best_bid")?, column("best_ask")?, column("last_trade")?);
    let mut last: std::collections::BTreeMap<u64, usize> = Default::default();
    for i in (0..df.height()).filter(|&i| who[i].as_deref() == Some(population)) {
        if let Some(a) = index[i] {
            last.insert(a.to_bits(), i);
        }
    }
    let impacts: Vec<f64> = last
        .values()
        .filter_map(|&i| {
            let buy = side[i].as_deref() == Some("buy");
            let sign = if buy { 1.0 } else { -1.0 };
            let end = match price {
                ImpactPrice::Mid => mid[i],
                ImpactPrice::LastTrade => last_trade[i],
                ImpactPrice::Touch => {
                    if buy {
                        ask[i]
                    } else {
                        bid[i]
                    }
                }
            };
            let (a, m) = (arrival[i]?, end?);
            (a > 0.0).then(|| sign * (m - a) / a)
        })
        .collect();
    Ok((!impacts.is_empty()).then(|| impacts.iter().sum::<f64>() / impacts.len() as f64))
}

/// The rows of a claim fitted across variants: one per combination of
/// the other swept values, each the mean and interval over replicates of
/// the log-log slope.
#[allow(clippy::too_many_arguments, reason = "the parts of the plan that `judge` has already worked out")]
fn fit_rows(
    plan: &Plan,
    claim: &Claim,
    xs: &std::collections::BTreeMap<String, f64>,
    values: &std::collections::BTreeMap<(usize, u32), Option<f64>>,
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

/// Measures every claim of `check` on the finished runs of `plan`.
pub fn judge(plan: &Plan, check: &Check, out: &Path) -> Result<Vec<Measured>> {
    let root = out.join(&plan.experiment);
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
    // Each claim's value in each run, by (point, replicate); a run's files
    // are read once for all the claims.
    let mut all: Vec<std::collections::BTreeMap<(usize, u32), Option<f64>>> =
        vec![Default::default(); check.claims.len()];
    for r in &plan.runs {
        let mut files = RunFiles::new(&root.join(&r.run_id));
        for (claim, values) in check.claims.iter().zip(&mut all) {
            values.insert((r.point, r.replicate), statistic(&claim.statistic, &mut files)?);
        }
    }
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
    Ok(out_claims)
}
