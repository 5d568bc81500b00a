//! Adaptive sampling of a reduced game, in the manner of the egtaonline
//! `quiesce` scheduler: only the profiles that decide the equilibria are
//! run.
//!
//! Restricted games are subsets of each role's strategies. Starting from
//! every role's first strategy, each restricted game in the queue (first
//! in, first out) is sampled completely and solved (`Game::equilibria`).
//! For each of its equilibria `σ`, every deviation to a strategy outside
//! the restriction is sampled: the reduced profiles in which one player
//! plays it and the others play within `σ`'s support. With `g_t` the gain
//! of deviating to `t` and `s_t` its standard error (the payoffs' standard
//! errors over replicates, combined with the profile probabilities
//! `P(c − e_t | σ)`, covariances ignored):
//!
//! - if every `g_t + 1.96 s_t ≤ ε`, `σ` is **confirmed**: an
//!   ε-equilibrium of the whole reduced game;
//! - if the best `g_t − 1.96 s_t > ε`, it is refuted, and the restricted
//!   game with the best response `t` added joins the queue;
//! - otherwise the intervals overlap `ε`: the profiles involved get twice
//!   the replicates (at most `max_replicates`) and `σ` is tested again; at
//!   the most replicates the point estimate decides.
//!
//! The result is the set of confirmed equilibria, with every run made.
//! It depends only on the runs, which are seeded, so it is the same
//! whatever the thread count and after an interruption (finished runs are
//! reused). It cannot be sharded: what to run next depends on what ran.

use super::aggregate::{Observation, read_run};
use super::plan::{Expander, GamePlan};
use crate::load::Loaded;
use crate::run::{self, Reuse};
use crate::sweep::{Executed, execute_runs};
use crate::theory::analysis::{Game, SearchOptions, Structure};
use anyhow::{Context, Result, bail};
use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::path::Path;

/// How runs are made.
#[derive(Clone, Copy, Debug)]
pub struct Runner<'a> {
    /// Results folder.
    pub out: &'a Path,
    /// Worker threads.
    pub threads: usize,
    /// Whether to draw progress bars.
    pub progress: bool,
    /// Which finished runs may be reused.
    pub reuse: Reuse,
    /// The command line, recorded in each run's manifest.
    pub command: Option<&'a str>,
}

/// What has been run.
struct Samples<'a> {
    ex: &'a Expander,
    runner: Runner<'a>,
    /// Full profiles run, in first-need order.
    profiles: Vec<Vec<u32>>,
    index: BTreeMap<Vec<u32>, usize>,
    /// Per (variant, full profile), each replicate's observation.
    obs: BTreeMap<(usize, usize), Vec<Observation>>,
    /// Runs made, and runs found finished.
    done: Executed,
}

impl Samples<'_> {
    fn full(&mut self, f: &[u32]) -> usize {
        if let Some(&i) = self.index.get(f) {
            return i;
        }
        self.profiles.push(f.to_vec());
        self.index.insert(f.to_vec(), self.profiles.len() - 1);
        self.profiles.len() - 1
    }

    /// Runs every full profile behind `reduced` in variant `v` to at least
    /// `replicates` replicates.
    fn ensure(&mut self, v: usize, reduced: &[Vec<u32>], replicates: u32) -> Result<()> {
        let mut need = BTreeSet::new();
        for c in reduced {
            for k in (0..c.len()).filter(|&k| c[k] > 0) {
                let f = self.ex.reduction.expand(c, k);
                let f = self.full(&f);
                if self.obs.get(&(v, f)).map_or(0, Vec::len) < replicates as usize {
                    need.insert(f);
                }
            }
        }
        if need.is_empty() {
            return Ok(());
        }
        let cells: Vec<((usize, usize), u32)> = need.iter().map(|&f| ((v, f), replicates)).collect();
        let mut plan = self.ex.plan_of(self.profiles.clone(), cells)?;
        plan.runs.command = self.runner.command.map(str::to_owned);
        let done = execute_runs(
            &plan.runs,
            self.runner.out,
            None,
            self.runner.threads,
            self.runner.progress,
            self.runner.reuse,
        )?;
        self.done.ran += done.ran;
        self.done.reused += done.reused;
        self.done.identical += done.identical;
        self.done.redone.extend(done.redone);
        let structure = &self.ex.reduction.full;
        let root = self.runner.out.join(&plan.runs.experiment);
        for (point, &(_, f)) in plan.cells.iter().enumerate() {
            let mut got = Vec::new();
            for r in plan.runs.runs.iter().filter(|r| r.point == point) {
                let dir = root.join(&r.run_id);
                let manifest = run::finished(&dir).with_context(|| format!("run {} did not finish", r.run_id))?;
                got.push(read_run(&dir, &manifest, &self.ex.spec.payoff, structure, &self.profiles[f])?);
            }
            self.obs.insert((v, f), got);
        }
        Ok(())
    }

    /// The mean payoff of strategy `k` in reduced profile `c` and its
    /// standard error, if sampled.
    fn payoff(&self, v: usize, c: &[u32], k: usize) -> Option<(f64, f64)> {
        let f = *self.index.get(&self.ex.reduction.expand(c, k))?;
        let xs: Vec<f64> = self.obs.get(&(v, f))?.iter().map(|o| o.payoff(k)).collect();
        let n = xs.len() as f64;
        let mean = xs.iter().sum::<f64>() / n;
        let var = if xs.len() > 1 { xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0) } else { 0.0 };
        Some((mean, (var / n).sqrt()))
    }

    /// The reduced game of every sampled profile among `profiles`.
    fn game(&self, v: usize, structure: &Structure, profiles: &[Vec<u32>]) -> Game {
        let mut table = BTreeMap::new();
        for c in profiles {
            let row: Option<Vec<f64>> = (0..c.len())
                .map(|k| if c[k] > 0 { self.payoff(v, c, k).map(|p| p.0) } else { Some(f64::NAN) })
                .collect();
            if let Some(row) = row {
                table.insert(c.clone(), row);
            }
        }
        Game::partial(structure.clone(), &table)
    }
}

/// A restriction: per role, the strategies (indices within the role) kept.
type Restriction = Vec<Vec<usize>>;

/// Runs adaptive sampling for every variant and returns the plan of all the
/// runs it needed, with the confirmed equilibria, and what it ran.
pub fn sample(loaded: &Loaded, runner: Runner<'_>) -> Result<(GamePlan, Executed)> {
    let ex = Expander::new(loaded)?;
    let Some(adaptive) = ex.spec.adaptive.clone() else { bail!("the game has no adaptive: section") };
    let reduced = ex.reduction.reduced.clone();
    let all = reduced.profiles();
    let options =
        SearchOptions { tolerance: ex.spec.tolerance, seed: loaded.experiment.seed, ..SearchOptions::default() };
    let mut samples = Samples {
        ex: &ex,
        runner,
        profiles: Vec::new(),
        index: BTreeMap::new(),
        obs: BTreeMap::new(),
        done: Executed::default(),
    };
    let mut confirmed_all = Vec::new();
    for v in 0..ex.variant_names().len() {
        let mut queue: VecDeque<Restriction> = VecDeque::from([vec![vec![0]; reduced.roles.len()]]);
        let mut seen: BTreeSet<Restriction> = BTreeSet::new();
        let mut confirmed: Vec<Vec<f64>> = Vec::new();
        while let Some(restriction) = queue.pop_front() {
            if !seen.insert(restriction.clone()) {
                continue;
            }
            let within = |c: &[u32], keep: &Restriction| {
                (0..reduced.roles.len())
                    .all(|r| reduced.range(r).all(|k| c[k] == 0 || keep[r].contains(&(k - reduced.range(r).start))))
            };
            let inside: Vec<Vec<u32>> = all.iter().filter(|c| within(c, &restriction)).cloned().collect();
            samples.ensure(v, &inside, ex.spec.replicates)?;
            for sigma in restricted_equilibria(&samples, v, &reduced, &restriction, &inside, &options)? {
                let mut replicates = ex.spec.replicates;
                loop {
                    // Everything σ's regret needs: its support's profiles
                    // and one deviator to any strategy.
                    let support: Restriction = (0..reduced.roles.len())
                        .map(|r| {
                            reduced.range(r).filter(|&k| sigma[k] > 0.0).map(|k| k - reduced.range(r).start).collect()
                        })
                        .collect();
                    let needed: Vec<Vec<u32>> = all
                        .iter()
                        .filter(|c| {
                            let outside: u32 = (0..reduced.roles.len())
                                .map(|r| {
                                    reduced
                                        .range(r)
                                        .filter(|&k| !support[r].contains(&(k - reduced.range(r).start)))
                                        .map(|k| c[k])
                                        .sum::<u32>()
                                })
                                .sum();
                            outside <= 1
                        })
                        .cloned()
                        .collect();
                    samples.ensure(v, &needed, replicates)?;
                    let game = samples.game(v, &reduced, &needed);
                    let gains = game.gains(&sigma);
                    let errors: Vec<f64> =
                        (0..sigma.len()).map(|t| gain_error(&samples, v, &game, &sigma, t)).collect();
                    let candidates = (0..sigma.len()).filter(|&t| {
                        let r = reduced.role_of(t);
                        !restriction[r].contains(&(t - reduced.range(r).start))
                    });
                    let best = candidates.clone().max_by(|&a, &b| gains[a].total_cmp(&gains[b]));
                    let eps = adaptive.epsilon;
                    let all_below = candidates.clone().all(|t| gains[t] + 1.96 * errors[t] <= eps);
                    match best {
                        None => {
                            push_new(&mut confirmed, sigma.clone());
                            break;
                        }
                        Some(_) if all_below => {
                            push_new(&mut confirmed, sigma.clone());
                            break;
                        }
                        Some(t) if gains[t] - 1.96 * errors[t] > eps || replicates >= adaptive.max_replicates => {
                            if gains[t] > eps {
                                let r = reduced.role_of(t);
                                let mut grown = restriction.clone();
                                grown[r].push(t - reduced.range(r).start);
                                grown[r].sort_unstable();
                                queue.push_back(grown);
                            } else {
                                push_new(&mut confirmed, sigma.clone());
                            }
                            break;
                        }
                        Some(_) => replicates = (replicates * 2).min(adaptive.max_replicates),
                    }
                }
            }
        }
        confirmed_all.push(confirmed);
    }
    // Every run made, variant by variant, profile by profile.
    let cells: Vec<((usize, usize), u32)> =
        samples.obs.iter().map(|(&(v, f), o)| ((v, f), u32::try_from(o.len()).unwrap_or(u32::MAX))).collect();
    let profiles = samples.profiles.clone();
    let mut plan = ex.plan_of(profiles, cells)?;
    plan.confirmed = Some(confirmed_all);
    Ok((plan, samples.done))
}

fn push_new(list: &mut Vec<Vec<f64>>, sigma: Vec<f64>) {
    if !list.iter().any(|m| m.iter().zip(&sigma).all(|(a, b)| (a - b).abs() <= 1e-3)) {
        list.push(sigma);
    }
}

/// The equilibria of the restricted game, as mixtures of the whole reduced
/// game.
fn restricted_equilibria(
    samples: &Samples<'_>,
    v: usize,
    reduced: &Structure,
    restriction: &Restriction,
    inside: &[Vec<u32>],
    options: &SearchOptions,
) -> Result<Vec<Vec<f64>>> {
    let sub = Structure::new(
        (0..reduced.roles.len())
            .map(|r| {
                let names = restriction[r].iter().map(|&j| reduced.strategies[r][j].clone()).collect();
                (reduced.roles[r].clone(), reduced.players[r], names)
            })
            .collect(),
    );
    let lift = |x: &[f64]| -> Vec<f64> {
        let mut out = vec![0.0; reduced.n_strategies()];
        for r in 0..reduced.roles.len() {
            for (i, &j) in restriction[r].iter().enumerate() {
                out[reduced.range(r).start + j] = x[sub.range(r).start + i];
            }
        }
        out
    };
    let whole = samples.game(v, reduced, inside);
    let mut table = BTreeMap::new();
    for c in sub.profiles() {
        let lifted: Vec<u32> = {
            let mut out = vec![0; reduced.n_strategies()];
            for r in 0..reduced.roles.len() {
                for (i, &j) in restriction[r].iter().enumerate() {
                    out[reduced.range(r).start + j] = c[sub.range(r).start + i];
                }
            }
            out
        };
        let row: Vec<f64> = (0..sub.n_strategies())
            .map(|k| {
                let r = sub.role_of(k);
                let j = restriction[r][k - sub.range(r).start];
                whole.payoff(&lifted, reduced.range(r).start + j).unwrap_or(f64::NAN)
            })
            .collect();
        table.insert(c, row);
    }
    let game = Game::new(sub.clone(), &table).map_err(anyhow::Error::msg)?;
    Ok(game
        .equilibria(options)
        .iter()
        // A pure equilibrium that splits a role is no role-symmetric
        // mixture; one with each role on one strategy is.
        .filter(|e| e.mixture.iter().all(|&x| x == 0.0 || x == 1.0) || e.profile.is_none())
        .map(|e| lift(&e.mixture))
        .collect())
}

/// The standard error of the gain of deviating to `t` from `sigma`: the
/// deviation payoff's, `sqrt(Σ_c P(c − e_t | σ)² se_t(c)²)`, with the
/// role's expected payoff's added the same way (covariances ignored).
fn gain_error(samples: &Samples<'_>, v: usize, game: &Game, sigma: &[f64], t: usize) -> f64 {
    let s = &game.structure;
    let var_of = |k: usize| -> f64 {
        game.profiles
            .iter()
            .filter(|c| c[k] > 0)
            .filter_map(|c| {
                let mut q = c.clone();
                q[k] -= 1;
                let p = game.profile_probability(sigma, &q);
                let (_, se) = samples.payoff(v, c, k)?;
                Some(p * p * se * se)
            })
            .sum()
    };
    let r = s.role_of(t);
    let role: f64 = s.range(r).map(|k| sigma[k] * sigma[k] * var_of(k)).sum();
    (var_of(t) + role).sqrt()
}
