//! From a game's runs to its results: observations, the payoff table of
//! the reduced game, its equilibria with bootstrap intervals, the cascade
//! at each equilibrium, and the game as a Gambit file.
//!
//! # Payoffs
//!
//! In each run, the payoff of a strategy is the mean payoff of the role's
//! players who play it. The reduced game's payoff of `s` in reduced
//! profile `c` is the mean, over replicates, of that value in the full
//! profile that deviation-preserving reduction assigns to `(c, s)`.
//!
//! # Intervals
//!
//! - **Regret**: `B` bootstrap games, each resampling every full profile's
//!   replicates with replacement, independently per profile; the interval
//!   is the 2.5th–97.5th percentile of the equilibrium's regret in them.
//! - **Cascade at equilibrium**: the expected value of a run metric when
//!   every player mixes by the equilibrium, `Σ_c P(c | σ) m(c)` over the
//!   reduced profiles, where `m(c)` is the metric's mean over the runs of
//!   the full profiles that back `c` (exact without reduction; with it, the
//!   profiles nearest in proportions). A pure equilibrium's is `m(c)`. It is
//!   compared with the *baseline* profile, in which every role plays its
//!   first strategy (fixed behaviour): the difference's interval resamples
//!   replicates jointly across profiles, which keeps the pairing of common
//!   random numbers.
//! - **Variants at equilibrium**: each variant after the first against the
//!   first, every equilibrium of one against every equilibrium of the
//!   other: the difference of the expected metrics, with an interval that
//!   resamples replicates jointly across profiles *and* variants (replicate
//!   `j` has seed `seed + j` in all of them). The equilibria are held fixed
//!   in the resamples, as for the other intervals: the interval is the
//!   sampling uncertainty of the payoffs' runs at those equilibria, not the
//!   uncertainty of which equilibrium is played.

use super::plan::GamePlan;
use crate::run;
use crate::theory::analysis::{Equilibrium, Game, SearchOptions, Structure};
use anyhow::{Context, Result, bail};
use cascade_notebooks::frames::{f64s, parquet, strings};
use rand::RngExt;
use rand::SeedableRng;
use std::collections::BTreeMap;
use std::path::Path;

/// The run metrics reported at each equilibrium.
pub const METRICS: [&str; 5] = ["max_drawdown", "amplification", "n_liquidations", "liquidated_notional", "bad_debt"];

/// What one run gave.
#[derive(Debug)]
pub(super) struct Observation {
    /// Per strategy played, each player's payoff.
    pub(super) players: Vec<Vec<f64>>,
    /// [`METRICS`], NaN where the run has none.
    pub(super) metrics: Vec<f64>,
}

impl Observation {
    /// The mean payoff of strategy `k`'s players (NaN if none plays it).
    pub(super) fn payoff(&self, k: usize) -> f64 {
        let p = &self.players[k];
        p.iter().sum::<f64>() / p.len() as f64
    }
}

/// One variant's results.
#[derive(Debug)]
pub struct VariantResult {
    /// The variant's name.
    pub name: String,
    /// The reduced game.
    pub game: Game,
    /// Its equilibria.
    pub equilibria: Vec<Equilibrium>,
    /// Per equilibrium, the regret interval.
    pub regret_ci: Vec<(f64, f64)>,
    /// Per equilibrium, the expected [`METRICS`].
    pub metrics: Vec<Vec<f64>>,
    /// The [`METRICS`] of the baseline profile.
    pub baseline: Vec<f64>,
    /// Per equilibrium and metric, the interval of the difference from the
    /// baseline.
    pub diff_ci: Vec<Vec<(f64, f64)>>,
}

/// Reads each run's payoffs and metrics; fails, naming them, if runs are
/// missing.
fn observations(plan: &GamePlan, out: &Path) -> Result<Vec<Observation>> {
    let structure = plan.spec.structure();
    let root = out.join(&plan.runs.experiment);
    let mut missing = Vec::new();
    let mut obs = Vec::with_capacity(plan.runs.runs.len());
    for r in &plan.runs.runs {
        let dir = root.join(&r.run_id);
        let Some(manifest) = run::finished(&dir) else {
            missing.push(r.index);
            continue;
        };
        let profile = &plan.profiles[plan.cells[r.point].1];
        obs.push(read_run(&dir, &manifest, &plan.spec.payoff, &structure, profile)?);
    }
    if !missing.is_empty() {
        bail!(
            "{} of {} runs are not finished (run indices {:?}); run the missing shards, then merge",
            missing.len(),
            plan.runs.runs.len(),
            missing
        );
    }
    Ok(obs)
}

/// One run's payoffs (`payoff` as the game section names it) and metrics.
pub(super) fn read_run(
    dir: &Path,
    manifest: &run::Manifest,
    payoff: &str,
    structure: &Structure,
    profile: &[u32],
) -> Result<Observation> {
    let path = dir.join("agents.parquet");
    let df = parquet(&path)?;
    let population = strings(&df, "population", &path)?;
    let index = f64s(&df, "agent_index", &path)?;
    let name = payoff;
    let payoff = match name {
        "pnl" => f64s(&df, "pnl", &path)?.into_iter().map(|x| x.map(|v| v / 1e6)).collect(),
        "pnl_per_capital" => {
            let pnl = f64s(&df, "pnl", &path)?;
            let deposited = f64s(&df, "deposited", &path)?;
            pnl.iter().zip(&deposited).map(|(p, d)| Some(p.unwrap_or(f64::NAN) / d.filter(|d| *d > 0.0)?)).collect()
        }
        column => f64s(&df, column, &path)?,
    };
    // Each role's players, by number.
    let mut players: Vec<Vec<f64>> = vec![Vec::new(); structure.n_strategies()];
    for r in 0..structure.roles.len() {
        let mut by_index: BTreeMap<u32, f64> = BTreeMap::new();
        for i in 0..df.height() {
            if population[i].as_deref() == Some(structure.roles[r].as_str())
                && let Some(n) = index[i]
            {
                let n = u32::try_from(crate::game::whole(n)).context("agent numbers fit u32")?;
                by_index.insert(n, payoff[i].unwrap_or(f64::NAN));
            }
        }
        let mut first = 0;
        for k in structure.range(r) {
            for n in first..first + profile[k] {
                let v = *by_index.get(&n).with_context(|| {
                    format!("{}: no agent {n} of population {}", path.display(), structure.roles[r])
                })?;
                if !v.is_finite() {
                    bail!("{}: agent {n} of {} has no {name} payoff", path.display(), structure.roles[r]);
                }
                players[k].push(v);
            }
            first += profile[k];
        }
    }
    let s = &manifest.summary;
    let metrics = vec![
        s.max_drawdown,
        s.amplification.unwrap_or(f64::NAN),
        s.n_liquidations as f64,
        s.liquidated_notional,
        s.bad_debt,
    ];
    Ok(Observation { players, metrics })
}

/// `runs[v][f]`: the observation indices of variant `v`, full profile `f`,
/// in replicate order.
pub(super) fn runs_of(plan: &GamePlan) -> Vec<Vec<Vec<usize>>> {
    let mut out = vec![vec![Vec::new(); plan.profiles.len()]; plan.variants.len()];
    for (i, r) in plan.runs.runs.iter().enumerate() {
        let (v, f) = plan.cells[r.point];
        out[v][f].push(i);
    }
    out
}

/// The reduced game of one variant over its `backed` profiles, each full
/// profile's runs taken as `pick(f)` (all of them, or a bootstrap
/// resample).
fn reduced_game(
    plan: &GamePlan,
    backed: &[(Vec<u32>, Backing)],
    obs: &[Observation],
    runs: &[Vec<usize>],
    pick: &dyn Fn(usize) -> Vec<usize>,
) -> Result<Game> {
    let reduction = plan.spec.reduction().map_err(anyhow::Error::msg)?;
    let table = backed
        .iter()
        .map(|(c, backing)| {
            let mut row = vec![f64::NAN; c.len()];
            for &(k, f) in backing {
                let chosen = pick(f);
                row[k] = chosen.iter().map(|&j| obs[runs[f][j]].payoff(k)).sum::<f64>() / chosen.len() as f64;
            }
            (c.clone(), row)
        })
        .collect();
    if plan.confirmed.is_some() {
        Ok(Game::partial(reduction.reduced, &table))
    } else {
        Game::new(reduction.reduced, &table).map_err(anyhow::Error::msg)
    }
}

/// Per strategy played in a reduced profile, the full profile behind it.
type Backing = Vec<(usize, usize)>;

/// The reduced profiles every played strategy of which has runs, each with
/// the full profile behind each strategy: `(profile, [(strategy, full)])`,
/// in [`Structure::profiles`] order, which is the order of the game's
/// profiles. Without adaptive sampling, every profile.
fn backed_profiles(plan: &GamePlan, runs: &[Vec<usize>]) -> Vec<(Vec<u32>, Backing)> {
    let reduction = plan.spec.reduction().expect("validated");
    let full_index: BTreeMap<&Vec<u32>, usize> = plan.profiles.iter().enumerate().map(|(i, p)| (p, i)).collect();
    reduction
        .reduced
        .profiles()
        .into_iter()
        .filter_map(|c| {
            let backing: Option<Backing> = (0..c.len())
                .filter(|&k| c[k] > 0)
                .map(|k| full_index.get(&reduction.expand(&c, k)).filter(|&&f| !runs[f].is_empty()).map(|&f| (k, f)))
                .collect();
            Some((c, backing?))
        })
        .collect()
}

/// Per profile of the game (the `backed` ones, in order), the mean
/// [`METRICS`] over the runs (picked by `pick`) of the full profiles that
/// back it.
fn profile_metrics(
    backed: &[(Vec<u32>, Backing)],
    obs: &[Observation],
    runs: &[Vec<usize>],
    pick: &dyn Fn(usize) -> Vec<usize>,
) -> Vec<Vec<f64>> {
    backed
        .iter()
        .map(|(_, backing)| {
            let mut fulls: Vec<usize> = backing.iter().map(|(_, f)| *f).collect();
            fulls.sort_unstable();
            fulls.dedup();
            (0..METRICS.len())
                .map(|m| {
                    let xs: Vec<f64> = fulls
                        .iter()
                        .flat_map(|&f| pick(f).into_iter().map(move |j| (f, j)))
                        .map(|(f, j)| obs[runs[f][j]].metrics[m])
                        .filter(|x| x.is_finite())
                        .collect();
                    if xs.is_empty() { f64::NAN } else { xs.iter().sum::<f64>() / xs.len() as f64 }
                })
                .collect()
        })
        .collect()
}

/// The expected metrics at an equilibrium of `game`.
fn at_equilibrium(game: &Game, e: &Equilibrium, metrics: &[Vec<f64>]) -> Vec<f64> {
    let index: BTreeMap<&Vec<u32>, usize> = game.profiles.iter().enumerate().map(|(i, p)| (p, i)).collect();
    if let Some(c) = &e.profile {
        return metrics[index[c]].clone();
    }
    (0..METRICS.len())
        .map(|m| {
            let (mut total, mut weight) = (0.0, 0.0);
            for (i, c) in game.profiles.iter().enumerate() {
                let p = game.profile_probability(&e.mixture, c);
                if p > 0.0 && metrics[i][m].is_finite() {
                    total += p * metrics[i][m];
                    weight += p;
                }
            }
            if weight > 0.0 { total / weight } else { f64::NAN }
        })
        .collect()
}

fn percentile_interval(mut xs: Vec<f64>) -> (f64, f64) {
    xs.retain(|x| x.is_finite());
    if xs.is_empty() {
        return (f64::NAN, f64::NAN);
    }
    xs.sort_by(f64::total_cmp);
    let at = |q: f64| {
        // Linear interpolation between order statistics (numpy's default).
        let h = q * (xs.len() - 1) as f64;
        let (lo, frac) = (h.floor(), h - h.floor());
        let i = usize::try_from(crate::game::whole(lo)).unwrap_or(0);
        if i + 1 < xs.len() { xs[i] + frac * (xs[i + 1] - xs[i]) } else { xs[i] }
    };
    (at(0.025), at(0.975))
}

/// A variant against the first at equilibrium (module docs).
#[derive(Debug)]
pub struct Contrast {
    /// The variant, by position (at least 1).
    pub variant: usize,
    /// Its equilibrium, by position.
    pub equilibrium: usize,
    /// The first variant's equilibrium it is set against.
    pub reference_equilibrium: usize,
    /// Per [`METRICS`], the variant's expected value less the reference's.
    pub difference: Vec<f64>,
    /// Per [`METRICS`], the difference's bootstrap 95% interval.
    pub ci: Vec<(f64, f64)>,
}

/// A game's runs and what they say.
#[derive(Debug)]
pub struct Analysis {
    /// Each variant's results.
    pub variants: Vec<VariantResult>,
    /// Each variant after the first against the first, at equilibrium.
    pub contrasts: Vec<Contrast>,
    /// Each run's observation, in plan order.
    pub(super) observations: Vec<Observation>,
}

/// Analyses every variant's game.
pub fn analyse(plan: &GamePlan, out: &Path) -> Result<Analysis> {
    let obs = observations(plan, out)?;
    let all = runs_of(plan);
    let options = SearchOptions { tolerance: plan.spec.tolerance, seed: plan.seed, ..SearchOptions::default() };
    let mut results = Vec::new();
    let mut backings = Vec::new();
    for (v, runs) in all.iter().enumerate() {
        let every = |f: usize| (0..runs[f].len()).collect::<Vec<_>>();
        let backed = backed_profiles(plan, runs);
        let game = reduced_game(plan, &backed, &obs, runs, &every)?;
        let equilibria = match &plan.confirmed {
            Some(confirmed) => confirmed[v].iter().map(|m| confirmed_equilibrium(&game, m)).collect(),
            None => game.equilibria(&options),
        };
        let metrics = profile_metrics(&backed, &obs, runs, &every);
        let baseline_profile: Vec<u32> = {
            let s = &game.structure;
            (0..s.n_strategies())
                .map(|k| if k == s.range(s.role_of(k)).start { s.players[s.role_of(k)] } else { 0 })
                .collect()
        };
        let baseline_at =
            game.profiles.iter().position(|c| *c == baseline_profile).expect("every profile is in the game");
        let expected: Vec<Vec<f64>> = equilibria.iter().map(|e| at_equilibrium(&game, e, &metrics)).collect();
        // Bootstrap: regrets resample each profile on its own; metric
        // differences resample replicates jointly (module docs).
        let mut rng = rand_chacha::ChaCha12Rng::seed_from_u64(plan.seed ^ 0x6761_6d65);
        let mut regrets: Vec<Vec<f64>> = vec![Vec::new(); equilibria.len()];
        let mut diffs: Vec<Vec<Vec<f64>>> = vec![vec![Vec::new(); METRICS.len()]; equilibria.len()];
        for _ in 0..plan.spec.bootstrap {
            let draws: Vec<Vec<usize>> =
                runs.iter().map(|r| (0..r.len()).map(|_| rng.random_range(0..r.len())).collect()).collect();
            let boot = reduced_game(plan, &backed, &obs, runs, &|f| draws[f].clone())?;
            for (i, e) in equilibria.iter().enumerate() {
                regrets[i].push(
                    match &e.profile {
                        Some(c) => boot.profile_regret(c),
                        None => boot.regret(&e.mixture),
                    }
                    .max(0.0),
                );
            }
            // Replicate j has seed `seed + j` in every profile; profiles
            // sampled more often are paired on their first replicates.
            let n = runs.iter().map(Vec::len).filter(|&n| n > 0).min().unwrap_or(0);
            let joint: Vec<usize> = (0..n).map(|_| rng.random_range(0..n)).collect();
            let m = profile_metrics(&backed, &obs, runs, &|_| joint.clone());
            for (i, e) in equilibria.iter().enumerate() {
                let at = at_equilibrium(&game, e, &m);
                for k in 0..METRICS.len() {
                    diffs[i][k].push(at[k] - m[baseline_at][k]);
                }
            }
        }
        let regret_ci = regrets.into_iter().map(percentile_interval).collect();
        let diff_ci = diffs.into_iter().map(|d| d.into_iter().map(percentile_interval).collect()).collect();
        results.push(VariantResult {
            name: plan.variants[v].clone(),
            baseline: metrics[baseline_at].clone(),
            game,
            equilibria,
            regret_ci,
            metrics: expected,
            diff_ci,
        });
        backings.push(backed);
    }
    let contrasts = contrasts(plan, &results, &backings, &obs, &all);
    Ok(Analysis { variants: results, contrasts, observations: obs })
}

/// Every variant after the first against the first, at every pair of
/// their equilibria (module docs).
fn contrasts(
    plan: &GamePlan,
    results: &[VariantResult],
    backings: &[Vec<(Vec<u32>, Backing)>],
    obs: &[Observation],
    all: &[Vec<Vec<usize>>],
) -> Vec<Contrast> {
    let Some(reference) = results.first() else { return Vec::new() };
    let pairs: Vec<(usize, usize, usize)> = (1..results.len())
        .flat_map(|v| {
            (0..results[v].equilibria.len()).flat_map(move |i| (0..reference.equilibria.len()).map(move |j| (v, i, j)))
        })
        .collect();
    if pairs.is_empty() {
        return Vec::new();
    }
    let n = all.iter().flatten().map(Vec::len).filter(|&n| n > 0).min().unwrap_or(0);
    let mut rng = rand_chacha::ChaCha12Rng::seed_from_u64(plan.seed ^ 0x636f_6e74);
    let mut draws: Vec<Vec<Vec<f64>>> = vec![vec![Vec::new(); METRICS.len()]; pairs.len()];
    for _ in 0..plan.spec.bootstrap {
        // One draw of replicates for every profile of every variant.
        let joint: Vec<usize> = (0..n).map(|_| rng.random_range(0..n)).collect();
        let at: Vec<Vec<Vec<f64>>> = results
            .iter()
            .zip(backings.iter().zip(all))
            .map(|(r, (backed, runs))| {
                let m = profile_metrics(backed, obs, runs, &|_| joint.clone());
                r.equilibria.iter().map(|e| at_equilibrium(&r.game, e, &m)).collect()
            })
            .collect();
        for (p, &(v, i, j)) in pairs.iter().enumerate() {
            for (k, d) in draws[p].iter_mut().enumerate() {
                d.push(at[v][i][k] - at[0][j][k]);
            }
        }
    }
    pairs
        .into_iter()
        .zip(draws)
        .map(|((variant, equilibrium, reference_equilibrium), d)| Contrast {
            variant,
            equilibrium,
            reference_equilibrium,
            difference: (0..METRICS.len())
                .map(|k| results[variant].metrics[equilibrium][k] - reference.metrics[reference_equilibrium][k])
                .collect(),
            ci: d.into_iter().map(percentile_interval).collect(),
        })
        .collect()
}

/// An equilibrium that adaptive sampling confirmed, with its regret in
/// `game` (which holds its support's profiles and every deviation's).
fn confirmed_equilibrium(game: &Game, mixture: &[f64]) -> Equilibrium {
    let s = &game.structure;
    let pure = mixture.iter().all(|&x| x == 0.0 || x == 1.0);
    let profile: Option<Vec<u32>> =
        pure.then(|| (0..mixture.len()).map(|k| if mixture[k] == 1.0 { s.players[s.role_of(k)] } else { 0 }).collect());
    let regret = match &profile {
        Some(c) => game.profile_regret(c),
        None => game.regret(mixture),
    };
    // Adaptive sampling keeps only candidates within the tolerance.
    Equilibrium {
        mixture: mixture.to_vec(),
        regret: regret.max(0.0),
        profile,
        connected: false,
        within_tolerance: true,
    }
}

/// A mixture as text: `predators: hunt 0.62, passive 0.38; makers: stay 1`.
pub fn mixture_label(s: &Structure, mixture: &[f64]) -> String {
    (0..s.roles.len())
        .map(|r| {
            let mut parts: Vec<(f64, &str)> = s
                .range(r)
                .filter(|&k| mixture[k] > 1e-9)
                .map(|k| (mixture[k], s.strategies[r][k - s.range(r).start].as_str()))
                .collect();
            parts.sort_by(|a, b| b.0.total_cmp(&a.0));
            let parts: Vec<String> = parts.iter().map(|(p, n)| format!("{n} {}", round3(*p))).collect();
            format!("{}: {}", s.roles[r], parts.join(", "))
        })
        .collect::<Vec<_>>()
        .join("; ")
}

fn round3(x: f64) -> String {
    let s = format!("{x:.3}");
    s.trim_end_matches('0').trim_end_matches('.').to_owned()
}
