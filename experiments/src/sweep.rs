//! Sweeps: a grid (and zipped lists) of parameter values, each point run
//! with `replicates` seeds, in parallel, resumable, shardable, and
//! aggregated into `sweep.parquet` (one row per run) and `points.parquet`
//! (one row per point: mean, standard deviation and 95% confidence interval
//! of each metric).
//!
//! Replicate `r` runs with seed `master + r` at every point, so points are
//! compared on common random numbers. Runs are numbered in plan order
//! (points in grid order, then replicates); results are gathered in that
//! order, so the frames are the same bytes whatever the thread count, the
//! sharding, or how often the sweep was interrupted and resumed.
//!
//! Layout: runs go to `<out>/<name>/<run-id>/` like single runs (a run
//! already finished by any earlier run or sweep is reused), and the sweep's
//! own files to `<out>/<name>/sweeps/<sweep-id>/`: `plan.json`,
//! `sweep.parquet`, `points.parquet`, and `paired.parquet` when the sweep
//! has variants (paired differences from the first variant).

use crate::load::{Loaded, from_tree};
use crate::locate::Locator;
use crate::output::{sha256_hex, write_atomic};
use crate::run::{self, Manifest};
use crate::spec::experiment::{Experiment, VARIANT_AXIS};
use anyhow::{Context, Result, anyhow, bail};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use polars::prelude::{Column, DataFrame};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// One run of a sweep.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct PlannedRun {
    /// Position in the plan.
    pub index: usize,
    /// Sweep point.
    pub point: usize,
    /// Replicate.
    pub replicate: u32,
    /// Run seed.
    pub seed: u64,
    /// Run id.
    pub run_id: String,
}

/// A sweep, fully expanded.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Plan {
    /// Experiment name.
    pub experiment: String,
    /// Sweep id: hash of the plan.
    pub sweep_id: String,
    /// Swept paths, in column order.
    pub axes: Vec<String>,
    /// Values of the axes at each point.
    pub points: Vec<Vec<serde_json::Value>>,
    /// Runs, in order.
    pub runs: Vec<PlannedRun>,
    /// The resolved experiment at each point.
    pub configs: Vec<Experiment>,
    /// How charts and tables name each axis: the file's `sweep.labels`,
    /// or a readable name with its unit.
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    /// The swept path on the charts' x axis, when the file chose one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub x: Option<String>,
    /// The command that runs the plan, recorded in each run's manifest
    /// (not in `plan.json`, which is the same whatever the command's
    /// threads or shard).
    #[serde(skip)]
    pub command: Option<String>,
}

/// Expands the sweep of `loaded` (a single point with its replicates if it
/// has none).
pub fn plan(loaded: &Loaded) -> Result<Plan> {
    let exp = &loaded.experiment;
    let sweep = exp.sweep.clone().unwrap_or_default();
    let mut axes: Vec<String> = sweep.grid.keys().cloned().collect();
    let mut points: Vec<Vec<serde_json::Value>> = vec![vec![]];
    for values in sweep.grid.values() {
        points = points
            .into_iter()
            .flat_map(|p| values.iter().map(move |v| [p.clone(), vec![v.clone()]].concat()))
            .collect();
    }
    if !sweep.zip.is_empty() {
        axes.extend(sweep.zip.keys().cloned());
        let n = sweep.zip.values().next().map_or(0, Vec::len);
        let rows: Vec<Vec<serde_json::Value>> =
            (0..n).map(|i| sweep.zip.values().map(|vs| vs[i].clone()).collect()).collect();
        points = points.into_iter().flat_map(|p| rows.iter().map(move |r| [p.clone(), r.clone()].concat())).collect();
    }
    if !sweep.variants.is_empty() {
        axes.push(VARIANT_AXIS.to_owned());
        let names: Vec<serde_json::Value> =
            sweep.variants.iter().map(|v| serde_json::Value::String(v.name.clone())).collect();
        points =
            points.into_iter().flat_map(|p| names.iter().map(move |n| [p.clone(), vec![n.clone()]].concat())).collect();
    }
    let locator = Locator::default();
    let in_file = Locator::new(&loaded.text);
    let mut configs = Vec::with_capacity(points.len());
    for (k, values) in points.iter().enumerate() {
        let mut tree = loaded.tree.clone();
        for (path, v) in axes.iter().zip(values) {
            let changes: Vec<(&String, &serde_json::Value)> = if path == VARIANT_AXIS {
                let variant = sweep.variants.iter().find(|x| Some(x.name.as_str()) == v.as_str()).expect("planned");
                variant.set.iter().collect()
            } else {
                vec![(path, v)]
            };
            for (path, v) in changes {
                let v: serde_yaml::Value = serde_yaml::to_value(v).expect("JSON values are YAML values");
                crate::paths::set(&mut tree, path, v).map_err(|e| anyhow!("sweep point {k}: {e}"))?;
            }
        }
        let point = from_tree(tree, &locator).map_err(|diags| {
            // A fault that a swept value put there is named where the sweep
            // sets it: `sweep.variants[1].set.<path>`, `sweep.grid.<path>`.
            let mut set: Vec<(String, String)> = Vec::new();
            for (path, v) in axes.iter().zip(values) {
                if path == VARIANT_AXIS {
                    if let Some(i) = sweep.variants.iter().position(|x| Some(x.name.as_str()) == v.as_str()) {
                        set.extend(
                            sweep.variants[i].set.keys().map(|p| (p.clone(), format!("sweep.variants[{i}].set.{p}"))),
                        );
                    }
                } else {
                    let section = if sweep.grid.contains_key(path) { "grid" } else { "zip" };
                    set.push((path.clone(), format!("sweep.{section}.{path}")));
                }
            }
            let lines: Vec<String> = diags
                .iter()
                .map(|d| {
                    let at = set.iter().find(|(p, _)| {
                        crate::paths::indexed(&loaded.tree, p).is_some_and(|ix| crate::paths::within(&d.path, &ix))
                    });
                    match at {
                        Some((_, field)) => {
                            let place = match in_file.find(field) {
                                Some(p) => format!("{}:{}:{}: ", loaded.file, p.line, p.col),
                                None => String::new(),
                            };
                            format!("  {place}{field}: {} (as {})", d.message, d.path)
                        }
                        None => format!("  {}: {}", d.path, d.message),
                    }
                })
                .collect();
            anyhow!("sweep point {k} ({}) is not a valid experiment:\n{}", describe(&axes, values), lines.join("\n"))
        })?;
        configs.push(point.experiment);
    }
    let mut runs = Vec::new();
    for (point, cfg) in configs.iter().enumerate() {
        for replicate in 0..sweep.replicates {
            let seed = exp.seed.wrapping_add(u64::from(replicate));
            runs.push(PlannedRun { index: runs.len(), point, replicate, seed, run_id: run::run_id(cfg, seed) });
        }
    }
    let ids: Vec<&str> = runs.iter().map(|r| r.run_id.as_str()).collect();
    let sweep_id = sha256_hex(serde_json::to_string(&(&axes, &ids)).expect("serialises").as_bytes())[..12].to_owned();
    let labels = axes
        .iter()
        .map(|a| {
            let label = sweep.labels.get(a).cloned().unwrap_or_else(|| {
                if a == VARIANT_AXIS { a.clone() } else { crate::spec::units::axis_label(&loaded.tree, a) }
            });
            (a.clone(), label)
        })
        .collect();
    Ok(Plan { experiment: exp.name.clone(), sweep_id, axes, points, runs, configs, labels, x: sweep.x, command: None })
}

fn describe(axes: &[String], values: &[serde_json::Value]) -> String {
    axes.iter().zip(values).map(|(a, v)| format!("{a} = {v}")).collect::<Vec<_>>().join(", ")
}

/// The folder of a sweep's own files.
pub fn sweep_dir(out: &Path, plan: &Plan) -> PathBuf {
    out.join(&plan.experiment).join("sweeps").join(&plan.sweep_id)
}

/// Which runs a shard takes: `index % n == i`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Shard {
    /// This shard, from 0.
    pub i: usize,
    /// Number of shards.
    pub n: usize,
}

impl Shard {
    /// What to do once this shard is done: merge the folder `dir`.
    pub fn merge_hint(&self, dir: &Path) -> String {
        format!("shard {}/{} done; when every shard is, run `cascade merge {}`\n", self.i, self.n, dir.display())
    }
}

impl std::str::FromStr for Shard {
    type Err = String;
    fn from_str(s: &str) -> Result<Shard, String> {
        let (i, n) = s.split_once('/').ok_or("expected I/N, e.g. 0/4")?;
        let i: usize = i.trim().parse().map_err(|_| format!("{i:?} is not a shard number"))?;
        let n: usize = n.trim().parse().map_err(|_| format!("{n:?} is not a shard count"))?;
        if n == 0 || i >= n {
            return Err(format!("shard {i}/{n}: need 0 <= I < N"));
        }
        Ok(Shard { i, n })
    }
}

/// What [`execute`] did with a plan's runs.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Executed {
    /// Runs made now.
    pub ran: usize,
    /// Runs found finished and reused.
    pub reused: usize,
    /// Planned runs identical to an earlier one (same run id), made once.
    pub identical: usize,
    /// Runs found finished but not reusable, run again: (run index, why).
    pub redone: Vec<(usize, String)>,
}

/// Runs the plan's runs (those of `shard`, if given) on `threads` threads,
/// skipping finished ones and running identical ones once.
pub fn execute(
    plan: &Plan,
    out: &Path,
    shard: Option<Shard>,
    threads: usize,
    show_progress: bool,
    reuse: run::Reuse,
) -> Result<Executed> {
    write_atomic(
        &sweep_dir(out, plan).join(cascade_notebooks::layout::SWEEP_PLAN),
        &serde_json::to_vec_pretty(plan).expect("serialises"),
    )?;
    execute_runs(plan, out, shard, threads, show_progress, reuse)
}

/// Runs the plan's runs as [`execute`] does, without writing its
/// `plan.json` (for games, which keep their own plan).
pub fn execute_runs(
    plan: &Plan,
    out: &Path,
    shard: Option<Shard>,
    threads: usize,
    show_progress: bool,
    reuse: run::Reuse,
) -> Result<Executed> {
    let mine: Vec<&PlannedRun> = plan.runs.iter().filter(|r| shard.is_none_or(|s| r.index % s.n == s.i)).collect();
    let total_ticks: u64 = mine.iter().map(|r| plan.configs[r.point].ticks).sum();
    let bar = ProgressBar::with_draw_target(
        Some(total_ticks),
        if show_progress { ProgressDrawTarget::stderr() } else { ProgressDrawTarget::hidden() },
    );
    bar.set_style(
        ProgressStyle::with_template("{msg} [{bar:30}] {percent}% ticks, ETA {eta}")
            .expect("valid template")
            .progress_chars("=> "),
    );
    bar.set_message(format!("{} runs", mine.len()));
    // Identical runs (a variant equal to the default, a repeated grid
    // value) share one run id and one folder: each is run once.
    let mut seen = std::collections::BTreeSet::new();
    let distinct: Vec<&PlannedRun> = mine.iter().copied().filter(|r| seen.insert(r.run_id.as_str())).collect();
    let outcomes = run_all(&distinct, threads, |r| {
        let cfg = &plan.configs[r.point];
        let origin = run::Origin {
            command: plan.command.clone(),
            point: Some(run::Point {
                sweep_id: plan.sweep_id.clone(),
                index: r.point,
                replicate: r.replicate,
                values: plan.axes.iter().cloned().zip(plan.points[r.point].iter().cloned()).collect(),
            }),
        };
        run::execute(cfg, r.seed, out, &origin, Some(&bar), run::Reports::None, reuse)
            .map(|o| match o {
                run::Outcome::Ran(..) => (true, None),
                run::Outcome::Redone(_, _, why) => (true, Some((r.index, why))),
                run::Outcome::Skipped(..) => (false, None),
            })
            .with_context(|| format!("run {} (point {}, replicate {})", r.index, r.point, r.replicate))
    });
    bar.finish_and_clear();
    let (mut ran, mut redone) = (0, Vec::new());
    for o in outcomes {
        let (made, why) = o?;
        ran += usize::from(made);
        redone.extend(why);
    }
    Ok(Executed { ran, reused: distinct.len() - ran, identical: mine.len() - distinct.len(), redone })
}

/// Runs `job` on every item on `threads` plain threads that take the next
/// item from a shared counter, and returns the results in item order.
///
/// Not rayon: a run writes Parquet on polars' own thread pool, and a rayon
/// worker that waits for another pool steals more work of its own pool
/// onto its stack meanwhile, so a large sweep nested run inside run until
/// the stack overflowed, with many runs' frames in memory at once. Here a
/// thread that waits just waits: at most `threads` runs are in flight.
pub fn run_all<T: Sync, R: Send>(items: &[T], threads: usize, job: impl Fn(&T) -> R + Sync) -> Vec<R> {
    let next = std::sync::atomic::AtomicUsize::new(0);
    let slots: Vec<std::sync::Mutex<Option<R>>> = items.iter().map(|_| std::sync::Mutex::new(None)).collect();
    std::thread::scope(|scope| {
        for _ in 0..threads.clamp(1, items.len().max(1)) {
            scope.spawn(|| {
                loop {
                    let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    let Some(item) = items.get(i) else { break };
                    let result = job(item);
                    *slots[i].lock().unwrap_or_else(std::sync::PoisonError::into_inner) = Some(result);
                }
            });
        }
    });
    slots
        .into_iter()
        .map(|s| s.into_inner().unwrap_or_else(std::sync::PoisonError::into_inner).expect("every item ran"))
        .collect()
}

/// Summary metrics, as (column, value) pairs.
fn metrics(m: &Manifest) -> Vec<(&'static str, Option<f64>)> {
    let s = &m.summary;
    vec![
        ("max_drawdown", Some(s.max_drawdown)),
        ("fundamental_drawdown", Some(s.fundamental_drawdown)),
        ("mark_fall", Some(s.mark_fall)),
        ("amplification", s.amplification),
        ("endogenous_share", s.endogenous_share),
        ("half_recovery_ticks", s.half_recovery_ticks.map(|t| t as f64)),
        ("n_liquidations", Some(s.n_liquidations as f64)),
        ("liquidated_notional", Some(s.liquidated_notional)),
        ("largest_cascade", Some(s.largest_cascade)),
        ("spillover_notional", Some(s.spillover_notional)),
        ("spillover_drawdown", Some(s.spillover_drawdown)),
        ("max_rounds", Some(f64::from(s.max_rounds))),
        ("bad_debt", Some(s.bad_debt)),
        ("uncovered_bad_debt", Some(s.uncovered_bad_debt)),
        ("insurance_fund", Some(s.insurance_fund)),
        ("fund_used", Some(s.fund_used)),
        ("fund_drawdown", Some(s.fund_drawdown)),
        ("socialized_loss", Some(s.socialized_loss)),
        ("adl_notional", Some(s.adl_notional)),
        ("unrealised_bad_debt", Some(s.unrealised_bad_debt)),
        ("insolvent_accounts", Some(s.insolvent_accounts as f64)),
        ("value_capital_used", s.value_capital_used),
        ("maker_inventory_used", s.maker_inventory_used),
    ]
}

/// Two-sided 95% Student t quantile for `df` degrees of freedom.
fn t95(df: usize) -> f64 {
    cascade_agents::framework::record::stats::student_t_975(df)
}

fn axis_column(name: &str, values: Vec<serde_json::Value>) -> Column {
    // Whole numbers stay whole (a count, a number of levels): Int64.
    if values.iter().all(|v| v.is_i64()) {
        Column::new(name.into(), values.iter().map(serde_json::Value::as_i64).collect::<Vec<_>>())
    } else if values.iter().all(serde_json::Value::is_number) {
        Column::new(name.into(), values.iter().map(|v| v.as_f64()).collect::<Vec<_>>())
    } else {
        // Strings as themselves, anything else (mappings, lists) as JSON.
        let text = |v: &serde_json::Value| v.as_str().map_or_else(|| v.to_string(), str::to_owned);
        Column::new(name.into(), values.iter().map(text).collect::<Vec<_>>())
    }
}

/// Reads every run of the plan and writes `sweep.parquet`,
/// `points.parquet` and, when the sweep has variants, `paired.parquet` into
/// the sweep's folder; returns their paths. Fails, naming them, if runs are
/// missing (a shard has not finished).
pub fn aggregate(plan: &Plan, out: &Path) -> Result<Vec<PathBuf>> {
    // Only the metrics of each run are kept, not its manifest, so memory
    // follows the number of runs times the number of metrics.
    let mut values: Vec<Vec<Option<f64>>> = Vec::with_capacity(plan.runs.len());
    let mut names: Vec<&'static str> = Vec::new();
    let mut missing = Vec::new();
    for r in &plan.runs {
        match run::finished(&out.join(&plan.experiment).join(&r.run_id)) {
            Some(m) => {
                let row = metrics(&m);
                names = row.iter().map(|(n, _)| *n).collect();
                values.push(row.into_iter().map(|(_, v)| v).collect());
            }
            None => missing.push(r.index),
        }
    }
    if !missing.is_empty() {
        bail!(
            "{} of {} runs are not finished (run indices {:?}); run the missing shards, then merge",
            missing.len(),
            plan.runs.len(),
            missing
        );
    }
    // One row per run.
    let mut cols = vec![
        Column::new("run".into(), plan.runs.iter().map(|r| r.index as u64).collect::<Vec<_>>()),
        Column::new("point".into(), plan.runs.iter().map(|r| r.point as u64).collect::<Vec<_>>()),
        Column::new("replicate".into(), plan.runs.iter().map(|r| r.replicate).collect::<Vec<_>>()),
        Column::new("seed".into(), plan.runs.iter().map(|r| r.seed).collect::<Vec<_>>()),
        Column::new("run_id".into(), plan.runs.iter().map(|r| r.run_id.clone()).collect::<Vec<_>>()),
    ];
    for (a, axis) in plan.axes.iter().enumerate() {
        cols.push(axis_column(axis, plan.runs.iter().map(|r| plan.points[r.point][a].clone()).collect()));
    }
    for (k, name) in names.iter().enumerate() {
        cols.push(Column::new((*name).into(), values.iter().map(|v| v[k]).collect::<Vec<_>>()));
    }
    let runs_df = DataFrame::new_infer_height(cols).context("building sweep frame")?;
    // One row per point.
    let mut cols = vec![Column::new("point".into(), (0..plan.points.len() as u64).collect::<Vec<_>>())];
    for (a, axis) in plan.axes.iter().enumerate() {
        cols.push(axis_column(axis, plan.points.iter().map(|p| p[a].clone()).collect()));
    }
    let mut runs_of: Vec<Vec<usize>> = vec![Vec::new(); plan.points.len()];
    for (i, r) in plan.runs.iter().enumerate() {
        runs_of[r.point].push(i);
    }
    cols.push(Column::new("n".into(), runs_of.iter().map(|r| r.len() as u64).collect::<Vec<_>>()));
    for (k, name) in names.iter().enumerate() {
        let (mut mean, mut std, mut lo, mut hi) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        for runs in &runs_of {
            let xs: Vec<f64> = runs.iter().filter_map(|&i| values[i][k]).collect();
            let (m, s, l, h) = mean_ci(&xs);
            mean.push(m);
            std.push(s);
            lo.push(l);
            hi.push(h);
        }
        cols.push(Column::new(format!("{name}_mean").into(), mean));
        cols.push(Column::new(format!("{name}_std").into(), std));
        cols.push(Column::new(format!("{name}_ci95_low").into(), lo));
        cols.push(Column::new(format!("{name}_ci95_high").into(), hi));
    }
    let points_df = DataFrame::new_infer_height(cols).context("building points frame")?;
    let dir = sweep_dir(out, plan);
    let mut frames = vec![(dir.join("sweep.parquet"), runs_df), (dir.join("points.parquet"), points_df)];
    if let Some(paired) = paired(plan, &names, &values)? {
        frames.push((dir.join("paired.parquet"), paired));
    }
    crate::output::write_frames(frames)
}

/// Mean, standard deviation and Student-t 95% interval of `xs`.
fn mean_ci(xs: &[f64]) -> (Option<f64>, Option<f64>, Option<f64>, Option<f64>) {
    let n = xs.len();
    let m = (n > 0).then(|| xs.iter().sum::<f64>() / n as f64);
    let s = m.filter(|_| n > 1).map(|m| (xs.iter().map(|x| (x - m).powi(2)).sum::<f64>() / (n - 1) as f64).sqrt());
    let half = s.map(|s| t95(n - 1) * s / (n as f64).sqrt());
    (m, s, m.zip(half).map(|(m, h)| m - h), m.zip(half).map(|(m, h)| m + h))
}

/// Paired differences from the first variant, when the sweep has variants:
/// one row per (point of the other axes, variant, metric), each the mean
/// over replicates of `metric(variant, r) − metric(first, r)`, with its
/// standard deviation and Student-t 95% interval. Replicate `r` has the
/// same seed in every variant (common random numbers), so the pairing
/// removes the variance that the variants share. A replicate missing the
/// metric in either run (no recovery, say) is left out; `n` counts the rest.
fn paired(plan: &Plan, names: &[&str], values: &[Vec<Option<f64>>]) -> Result<Option<DataFrame>> {
    let Some(v_axis) = plan.axes.iter().position(|a| a == VARIANT_AXIS) else { return Ok(None) };
    let others = |p: usize| -> Vec<serde_json::Value> {
        plan.points[p].iter().enumerate().filter(|(a, _)| *a != v_axis).map(|(_, v)| v.clone()).collect()
    };
    let first = plan.points.first().map(|p| p[v_axis].clone()).context("a sweep with variants has points")?;
    let run_at: std::collections::BTreeMap<(usize, u32), usize> =
        plan.runs.iter().enumerate().map(|(i, r)| ((r.point, r.replicate), i)).collect();
    let value =
        |point: usize, replicate: u32, k: usize| -> Option<f64> { values[*run_at.get(&(point, replicate))?][k] };
    let replicates: Vec<u32> = {
        let mut r: Vec<u32> = plan.runs.iter().map(|r| r.replicate).collect();
        r.sort_unstable();
        r.dedup();
        r
    };
    let mut axis_values: Vec<Vec<serde_json::Value>> = vec![Vec::new(); plan.axes.len() - 1];
    let (mut variant, mut metric, mut n) = (Vec::new(), Vec::new(), Vec::new());
    let (mut base_mean, mut var_mean) = (Vec::new(), Vec::new());
    let (mut mean, mut std, mut lo, mut hi) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for p in 0..plan.points.len() {
        if plan.points[p][v_axis] == first {
            continue;
        }
        let key = others(p);
        let base = (0..plan.points.len())
            .find(|&q| plan.points[q][v_axis] == first && others(q) == key)
            .context("every point has its reference variant")?;
        for (k, name) in names.iter().enumerate() {
            let pairs: Vec<(f64, f64)> =
                replicates.iter().filter_map(|&r| Some((value(base, r, k)?, value(p, r, k)?))).collect();
            let diffs: Vec<f64> = pairs.iter().map(|(b, v)| v - b).collect();
            let (m, s, l, h) = mean_ci(&diffs);
            for (a, v) in key.iter().enumerate() {
                axis_values[a].push(v.clone());
            }
            variant.push(plan.points[p][v_axis].as_str().unwrap_or_default().to_owned());
            metric.push((*name).to_owned());
            n.push(pairs.len() as u64);
            base_mean.push(mean_ci(&pairs.iter().map(|x| x.0).collect::<Vec<_>>()).0);
            var_mean.push(mean_ci(&pairs.iter().map(|x| x.1).collect::<Vec<_>>()).0);
            mean.push(m);
            std.push(s);
            lo.push(l);
            hi.push(h);
        }
    }
    let mut cols = Vec::new();
    for (a, axis) in plan.axes.iter().filter(|a| *a != VARIANT_AXIS).enumerate() {
        cols.push(axis_column(axis, std::mem::take(&mut axis_values[a])));
    }
    let reference = first.as_str().unwrap_or_default().to_owned();
    cols.extend([
        Column::new(VARIANT_AXIS.into(), variant),
        Column::new("reference".into(), vec![reference; metric.len()]),
        Column::new("metric".into(), metric),
        Column::new("n".into(), n),
        Column::new("reference_mean".into(), base_mean),
        Column::new("variant_mean".into(), var_mean),
        Column::new("diff_mean".into(), mean),
        Column::new("diff_std".into(), std),
        Column::new("diff_ci95_low".into(), lo),
        Column::new("diff_ci95_high".into(), hi),
    ]);
    Ok(Some(DataFrame::new_infer_height(cols).context("building paired frame")?))
}

/// Reads a sweep folder's plan.
pub fn read_plan(dir: &Path) -> Result<Plan> {
    let path = dir.join(cascade_notebooks::layout::SWEEP_PLAN);
    let text = std::fs::read_to_string(&path)
        .with_context(|| format!("reading {} (is this a sweep folder?)", path.display()))?;
    serde_json::from_str(&text).with_context(|| format!("parsing {}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn t_quantiles() {
        assert_eq!(t95(1), 12.706);
        assert_eq!(t95(19), 2.093);
        assert!((t95(1000) - 1.96).abs() < 0.01);
    }

    #[test]
    fn shards_parse() {
        assert_eq!("1/4".parse::<Shard>(), Ok(Shard { i: 1, n: 4 }));
        assert!("4/4".parse::<Shard>().is_err());
        assert!("x".parse::<Shard>().is_err());
    }
}
