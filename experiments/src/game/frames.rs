//! A game's files: the `observations`, `payoffs`, `equilibria` and
//! `trajectories` frames and the Gambit file of each variant's reduced
//! game, from the [`Analysis`] of its runs.

use super::aggregate::{Analysis, Contrast, METRICS, VariantResult, mixture_label, runs_of};
use super::plan::{GamePlan, game_dir, profile_label};
use crate::output::write_atomic;
use crate::theory::nfg::to_nfg;
use anyhow::{Context, Result, bail};
use polars::prelude::{Column, DataFrame, NamedFrom, Series};
use rand::RngExt;
use rand::SeedableRng;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Writes `observations.parquet`, `payoffs.parquet`, `equilibria.parquet`
/// and the Gambit file(s) into the game's folder; returns their paths.
pub fn write(plan: &GamePlan, out: &Path, analysis: &Analysis) -> Result<Vec<PathBuf>> {
    let (results, obs) = (analysis.variants.as_slice(), analysis.observations.as_slice());
    let dir = game_dir(out, plan);
    let structure = plan.spec.structure();
    let reduction = plan.spec.reduction().map_err(anyhow::Error::msg)?;
    let mut frames = Vec::new();
    // observations: one row per run, role and strategy played.
    {
        let (mut variant, mut run_c, mut profile, mut label, mut replicate, mut seed, mut run_id) =
            (vec![], vec![], vec![], vec![], vec![], vec![], vec![]);
        let (mut role, mut strategy, mut count, mut mean, mut each) = (vec![], vec![], vec![], vec![], vec![]);
        for (r, o) in plan.runs.runs.iter().zip(obs) {
            let (v, f) = plan.cells[r.point];
            for k in (0..structure.n_strategies()).filter(|&k| plan.profiles[f][k] > 0) {
                let rr = structure.role_of(k);
                variant.push(plan.variants[v].clone());
                run_c.push(r.index as u64);
                profile.push(f as u64);
                label.push(profile_label(&reduction.full, &plan.profiles[f]));
                replicate.push(r.replicate);
                seed.push(r.seed);
                run_id.push(r.run_id.clone());
                role.push(structure.roles[rr].clone());
                strategy.push(structure.strategies[rr][k - structure.range(rr).start].clone());
                count.push(plan.profiles[f][k]);
                mean.push(o.payoff(k));
                each.push(Series::new("".into(), o.players[k].clone()));
            }
        }
        let df = DataFrame::new_infer_height(vec![
            Column::new("variant".into(), variant),
            Column::new("run".into(), run_c),
            Column::new("profile".into(), profile),
            Column::new("profile_label".into(), label),
            Column::new("replicate".into(), replicate),
            Column::new("seed".into(), seed),
            Column::new("run_id".into(), run_id),
            Column::new("role".into(), role),
            Column::new("strategy".into(), strategy),
            Column::new("players".into(), count),
            Column::new("payoff".into(), mean),
            Column::new("player_payoffs".into(), each),
        ])
        .context("building observations frame")?;
        frames.push((dir.join("observations.parquet"), df));
    }
    // payoffs: the analysed (reduced) game, per profile, role and strategy.
    {
        let all = runs_of(plan);
        let full_index: BTreeMap<&Vec<u32>, usize> = plan.profiles.iter().enumerate().map(|(i, p)| (p, i)).collect();
        let (mut variant, mut profile, mut label, mut role, mut strategy, mut count) =
            (vec![], vec![], vec![], vec![], vec![], vec![]);
        let (mut full, mut n, mut mean, mut std) = (vec![], vec![], vec![], vec![]);
        for (v, res) in results.iter().enumerate() {
            let s = &res.game.structure;
            for (i, c) in res.game.profiles.iter().enumerate() {
                for k in (0..c.len()).filter(|&k| c[k] > 0) {
                    let f = full_index[&reduction.expand(c, k)];
                    let xs: Vec<f64> = all[v][f].iter().map(|&j| obs[j].payoff(k)).collect();
                    let m = xs.iter().sum::<f64>() / xs.len() as f64;
                    let sd = (xs.len() > 1)
                        .then(|| (xs.iter().map(|x| (x - m).powi(2)).sum::<f64>() / (xs.len() - 1) as f64).sqrt());
                    let rr = s.role_of(k);
                    variant.push(res.name.clone());
                    profile.push(i as u64);
                    label.push(profile_label(s, c));
                    role.push(s.roles[rr].clone());
                    strategy.push(s.strategies[rr][k - s.range(rr).start].clone());
                    count.push(c[k]);
                    full.push(profile_label(&reduction.full, &plan.profiles[f]));
                    n.push(xs.len() as u64);
                    mean.push(m);
                    std.push(sd);
                }
            }
        }
        let df = DataFrame::new_infer_height(vec![
            Column::new("variant".into(), variant),
            Column::new("profile".into(), profile),
            Column::new("profile_label".into(), label),
            Column::new("role".into(), role),
            Column::new("strategy".into(), strategy),
            Column::new("count".into(), count),
            Column::new("full_profile".into(), full),
            Column::new("n".into(), n),
            Column::new("mean".into(), mean),
            Column::new("std".into(), std),
        ])
        .context("building payoffs frame")?;
        frames.push((dir.join("payoffs.parquet"), df));
    }
    frames.push((dir.join("equilibria.parquet"), equilibria_frame(results)?));
    if let Some(df) = trajectories_frame(plan, results)? {
        frames.push((dir.join("trajectories.parquet"), df));
    }
    if !analysis.contrasts.is_empty() {
        frames.push((dir.join("contrasts.parquet"), contrasts_frame(results, &analysis.contrasts)?));
    }
    let mut written = crate::output::write_frames(frames)?;
    for res in results {
        let name = if results.len() == 1 {
            "game.nfg".to_owned()
        } else {
            format!("game-{}.nfg", cascade_notebooks::file_safe(&res.name))
        };
        let title = format!("{} ({}), reduced game", plan.runs.experiment, res.name);
        if !res.game.is_complete() {
            eprintln!("note: no {name}: adaptive sampling left profiles of the reduced game unsampled");
            continue;
        }
        match to_nfg(&res.game, &title) {
            Ok(text) => {
                let path = dir.join(name);
                write_atomic(&path, text.as_bytes())?;
                written.push(path);
            }
            Err(why) => eprintln!("note: no {name}: {why}"),
        }
    }
    Ok(written)
}

/// Steps of each replicator trajectory.
const TRAJECTORY_STEPS: usize = 300;

/// `trajectories.parquet`, for games with a role of three strategies: the
/// replicator dynamics of the analysed game from eight starts per such
/// role (that role near each vertex, at the centre, and at four seeded
/// random points; the other roles uniform), every mixture on the way, as
/// the role's three probabilities.
fn trajectories_frame(plan: &GamePlan, results: &[VariantResult]) -> Result<Option<DataFrame>> {
    let (mut variant, mut role, mut names, mut start, mut step) = (vec![], vec![], vec![], vec![], vec![]);
    let (mut a, mut b, mut c) = (vec![], vec![], vec![]);
    let mut rng = rand_chacha::ChaCha12Rng::seed_from_u64(plan.seed ^ 0x7472_616a);
    for res in results.iter().filter(|r| r.game.is_complete()) {
        let s = &res.game.structure;
        for r in (0..s.roles.len()).filter(|&r| s.range(r).len() == 3) {
            let mut starts: Vec<[f64; 3]> = vec![[0.8, 0.1, 0.1], [0.1, 0.8, 0.1], [0.1, 0.1, 0.8], [1.0 / 3.0; 3]];
            for _ in 0..4 {
                let e: Vec<f64> = (0..3).map(|_| -(1.0 - rng.random::<f64>()).ln()).collect();
                let t: f64 = e.iter().sum();
                starts.push([e[0] / t, e[1] / t, e[2] / t]);
            }
            for (k, x) in starts.iter().enumerate() {
                let mut sigma = s.uniform();
                sigma[s.range(r)].copy_from_slice(x);
                for (i, m) in res.game.replicator_path(&sigma, TRAJECTORY_STEPS).iter().enumerate() {
                    variant.push(res.name.clone());
                    role.push(s.roles[r].clone());
                    names.push(s.strategies[r].join(","));
                    start.push(k as u64);
                    step.push(i as u64);
                    let at = s.range(r).start;
                    a.push(m[at]);
                    b.push(m[at + 1]);
                    c.push(m[at + 2]);
                }
            }
        }
    }
    if variant.is_empty() {
        return Ok(None);
    }
    Ok(Some(
        DataFrame::new_infer_height(vec![
            Column::new("variant".into(), variant),
            Column::new("role".into(), role),
            Column::new("strategies".into(), names),
            Column::new("start".into(), start),
            Column::new("step".into(), step),
            Column::new("p0".into(), a),
            Column::new("p1".into(), b),
            Column::new("p2".into(), c),
        ])
        .context("building trajectories frame")?,
    ))
}

/// `equilibria.parquet`: one row per variant and equilibrium.
fn equilibria_frame(results: &[VariantResult]) -> Result<DataFrame> {
    let Some(first) = results.first() else { bail!("no variants") };
    let s = &first.game.structure;
    let (mut variant, mut id, mut kind, mut support, mut profile) = (vec![], vec![], vec![], vec![], vec![]);
    let (mut connected, mut within) = (vec![], vec![]);
    let mut probs: Vec<Vec<f64>> = vec![Vec::new(); s.n_strategies()];
    let (mut regret, mut lo, mut hi) = (vec![], vec![], vec![]);
    let mut metric_cols: Vec<[Vec<f64>; 4]> = (0..METRICS.len()).map(|_| Default::default()).collect();
    for res in results {
        for (i, e) in res.equilibria.iter().enumerate() {
            variant.push(res.name.clone());
            id.push(i as u64);
            kind.push(if e.profile.is_some() { "pure" } else { "mixed" });
            connected.push(e.connected);
            within.push(e.within_tolerance);
            support.push(mixture_label(s, &e.mixture));
            profile.push(e.profile.as_ref().map(|c| profile_label(s, c)));
            for (k, p) in e.mixture.iter().enumerate() {
                probs[k].push(*p);
            }
            regret.push(e.regret);
            lo.push(res.regret_ci[i].0);
            hi.push(res.regret_ci[i].1);
            for (m, col) in metric_cols.iter_mut().enumerate() {
                col[0].push(res.metrics[i][m]);
                col[1].push(res.baseline[m]);
                col[2].push(res.diff_ci[i][m].0);
                col[3].push(res.diff_ci[i][m].1);
            }
        }
    }
    let mut cols = vec![
        Column::new("variant".into(), variant),
        Column::new("equilibrium".into(), id),
        Column::new("kind".into(), kind),
        Column::new("mixture".into(), support),
        Column::new("profile".into(), profile),
        Column::new("connected_set".into(), connected),
        Column::new("within_tolerance".into(), within),
    ];
    for (k, p) in probs.into_iter().enumerate() {
        cols.push(Column::new(s.label(k).into(), p));
    }
    cols.push(Column::new("regret".into(), regret));
    cols.push(Column::new("regret_ci95_low".into(), lo));
    cols.push(Column::new("regret_ci95_high".into(), hi));
    for (m, [at, base, dlo, dhi]) in metric_cols.into_iter().enumerate() {
        let name = METRICS[m];
        cols.push(Column::new(name.into(), at));
        cols.push(Column::new(format!("{name}_baseline").into(), base));
        cols.push(Column::new(format!("{name}_diff_ci95_low").into(), dlo));
        cols.push(Column::new(format!("{name}_diff_ci95_high").into(), dhi));
    }
    DataFrame::new_infer_height(cols).context("building equilibria frame")
}

/// `contrasts.parquet`: a row per variant after the first, its
/// equilibrium and the first variant's equilibrium it is set against; per
/// metric the difference and its 95% interval.
fn contrasts_frame(results: &[VariantResult], contrasts: &[Contrast]) -> Result<DataFrame> {
    let name = |v: usize| results[v].name.clone();
    let mut cols = vec![
        Column::new("variant".into(), contrasts.iter().map(|c| name(c.variant)).collect::<Vec<_>>()),
        Column::new("equilibrium".into(), contrasts.iter().map(|c| c.equilibrium as u64).collect::<Vec<_>>()),
        Column::new("reference".into(), contrasts.iter().map(|_| name(0)).collect::<Vec<_>>()),
        Column::new(
            "reference_equilibrium".into(),
            contrasts.iter().map(|c| c.reference_equilibrium as u64).collect::<Vec<_>>(),
        ),
    ];
    for (m, metric) in METRICS.iter().enumerate() {
        cols.push(Column::new(
            format!("{metric}_diff").into(),
            contrasts.iter().map(|c| c.difference[m]).collect::<Vec<_>>(),
        ));
        cols.push(Column::new(
            format!("{metric}_diff_ci95_low").into(),
            contrasts.iter().map(|c| c.ci[m].0).collect::<Vec<_>>(),
        ));
        cols.push(Column::new(
            format!("{metric}_diff_ci95_high").into(),
            contrasts.iter().map(|c| c.ci[m].1).collect::<Vec<_>>(),
        ));
    }
    DataFrame::new_infer_height(cols).context("building contrasts frame")
}
