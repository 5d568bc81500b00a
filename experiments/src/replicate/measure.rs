//! Measuring a replication's claims on its runs: each claim's statistic
//! of each run, read from its frames; [`super::judge`] compares them with
//! the bands.

use super::judge::{self, Measured, Values};
use crate::run;
use crate::spec::check::{Check, ImpactPrice, Lags, ReturnPrice, Statistic};
use crate::sweep::Plan;
use anyhow::{Context, Result};
use cascade_agents::framework::record::stats;
use cascade_notebooks::frames::{f64s, parquet, strings};
use polars::prelude::DataFrame;
use std::path::Path;

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
        Statistic::MaxAbsAcf(Lags { horizon, from, to, window, price }) => {
            let r = returns(files, *horizon, *window, *price)?;
            let acf: Vec<f64> = (*from..=*to).map(|k| stats::autocorrelation(&r, k).abs()).collect();
            Ok(acf.iter().all(|x| x.is_finite()).then(|| acf.iter().copied().fold(0.0, f64::max)))
        }
        Statistic::AbsAcfDecay(Lags { horizon, from, to, window, price }) => {
            let a: Vec<f64> = returns(files, *horizon, *window, *price)?.iter().map(|x| x.abs()).collect();
            Ok(stats::acf_decay_exponent(&a, *from, *to).and_then(finite))
        }
        Statistic::LeverageEffect(Lags { horizon, from, to, window, price }) => {
            let r = returns(files, *horizon, *window, *price)?;
            let l: Vec<f64> = (*from..=*to).map(|k| stats::leverage_correlation(&r, k)).collect();
            Ok(l.iter().all(|x| x.is_finite()).then(|| l.iter().sum::<f64>() / l.len() as f64))
        }
        Statistic::KurtosisChange { horizon, long, window, price } => {
            let short = stats::excess_kurtosis(&returns(files, *horizon, *window, *price)?);
            let long = stats::excess_kurtosis(&returns(files, *long, *window, *price)?);
            Ok(finite(long - short))
        }
        Statistic::MeanAbsReturnAcf(Lags { horizon, from, to, window, price }) => {
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

/// Measures every claim of `check` on the finished runs of `plan`, and
/// judges them ([`judge::claims`]).
pub fn judge(plan: &Plan, check: &Check, out: &Path) -> Result<Vec<Measured>> {
    let root = out.join(&plan.experiment);
    // Each claim's value in each run, by (point, replicate); a run's files
    // are read once for all the claims.
    let mut all: Vec<Values> = vec![Values::default(); check.claims.len()];
    for r in &plan.runs {
        let mut files = RunFiles::new(&root.join(&r.run_id));
        for (claim, values) in check.claims.iter().zip(&mut all) {
            values.insert((r.point, r.replicate), statistic(&claim.statistic, &mut files)?);
        }
    }
    Ok(judge::claims(plan, check, all))
}
