//! Role-symmetric games: payoff tables, deviation payoffs, regret and
//! equilibria.
//!
//! # The game
//!
//! Roles `r = 1..R` have `n_r` players each and strategies `S_r`. Players of
//! one role are interchangeable, so a *profile* is a vector of counts: `c_s`
//! players play `s`, and `Σ_{s∈S_r} c_s = n_r` in every role. Strategies of
//! all roles are numbered together (role 1's first, then role 2's, ...); a
//! profile is a count per strategy in that order. The payoff `u_s(c)` is
//! what a player of `s` earns in profile `c` (defined where `c_s ≥ 1`).
//!
//! # Mixtures and deviation payoffs
//!
//! A role-symmetric mixture `σ` gives each role a distribution over its
//! strategies, played independently by each of its players. The deviation
//! payoff of `s ∈ S_r` is what one player of role `r` earns by playing `s`
//! while every other player mixes by `σ`:
//!
//! ```text
//! d_s(σ) = Σ_{c : c_s ≥ 1} P(c − e_s | σ) · u_s(c)
//! P(q | σ) = Π_r  (|q_r|! / Π_{t∈S_r} q_t!) · Π_{t∈S_r} σ_t^{q_t}
//! ```
//!
//! where `q = c − e_s` are the other players (`n_r − 1` in role `r`, `n_r'`
//! in the others), and `P` is a product of multinomials. It is evaluated in
//! log space, `ln P = Σ_r [ln |q_r|! − Σ_t ln q_t! + Σ_t q_t ln σ_t]`, so
//! that large roles do not overflow; a term with `σ_t = 0 < q_t` is zero.
//!
//! # Regret
//!
//! Role `r`'s expected payoff is `v_r(σ) = Σ_{s∈S_r} σ_s d_s(σ)`, the gain
//! of deviating to `s` is `g_s(σ) = d_s(σ) − v_r(σ)`, and the regret of `σ`
//! is `max_s g_s(σ)`: zero at a Nash equilibrium, and the most any single
//! player could gain by deviating otherwise. The regret of a pure profile
//! `c` is `max u_t(c − e_s + e_t) − u_s(c)` over roles, played `s` and `t`
//! of the same role; `c` is a pure equilibrium when it is at most zero.
//!
//! # Finding mixed equilibria
//!
//! From many starts (the uniform mixture, each strategy biased to 0.9 in
//! turn, and seeded random mixtures, Dirichlet(1) per role), two searches
//! run on the payoffs rescaled to `[0, 1]` (which changes no equilibrium):
//!
//! - **Replicator dynamics**, in discrete time:
//!   `σ_s ← σ_s (d_s(σ) − m_r) / Σ_{t∈S_r} σ_t (d_t(σ) − m_r)`, with `m_r`
//!   just below role `r`'s smallest payoff (Taylor & Jonker 1978; the
//!   egtaonline `gameanalysis` form).
//! - **Regret minimisation**: projected gradient descent on
//!   `f(σ) = Σ_s max(0, g_s(σ))²`, which is zero exactly at the equilibria
//!   (Nash 1951's map), with a backtracking step and the gradient by finite
//!   differences.
//!
//! Each result is then *polished*: on its support (strategies above
//! `1e-4`), Newton's method solves "every supported strategy of a role has
//! the same deviation payoff, and each role's probabilities sum to one".
//! A polished mixture is kept if it stays in the simplex and its regret is
//! no larger. Candidates within the regret tolerance are equilibria;
//! candidates closer than `merge_distance` (largest difference of one
//! probability) are merged, keeping the lower regret. Pure equilibria are
//! always included. Where payoffs tie, equilibria form connected sets (a
//! strategy that never trades earns what staying passive earns): a
//! candidate is merged into one already kept when the points a quarter, a
//! half and three quarters of the way between them are equilibria too, and
//! the one kept is marked as standing for a connected set.

use rand::RngExt;
use rand::SeedableRng;
use std::collections::BTreeMap;

pub use super::structure::Structure;

/// A role-symmetric game with a payoff for every profile.
#[derive(Clone, Debug)]
pub struct Game {
    /// Roles and strategies.
    pub structure: Structure,
    /// The profiles, in [`Structure::profiles`] order.
    pub profiles: Vec<Vec<u32>>,
    /// Per profile, the payoff of each strategy (NaN where no one plays it).
    pub payoffs: Vec<Vec<f64>>,
    index: BTreeMap<Vec<u32>, usize>,
    ln_fact: Vec<f64>,
}

/// What the equilibrium search does; the defaults suit games of up to a
/// few dozen strategies.
#[derive(Clone, Debug)]
pub struct SearchOptions {
    /// Largest regret of an equilibrium, as a fraction of the game's payoff
    /// range.
    pub tolerance: f64,
    /// Mixtures closer than this (in every probability) are one.
    pub merge_distance: f64,
    /// Seeded random starts besides the uniform and biased ones.
    pub random_starts: usize,
    /// Seed of the random starts.
    pub seed: u64,
    /// Iterations of each search.
    pub iterations: usize,
}

impl Default for SearchOptions {
    fn default() -> SearchOptions {
        SearchOptions { tolerance: 1e-6, merge_distance: 1e-3, random_starts: 10, seed: 0, iterations: 2_000 }
    }
}

/// An equilibrium found.
#[derive(Clone, Debug, PartialEq)]
pub struct Equilibrium {
    /// The mixture, in the joint strategy numbering.
    pub mixture: Vec<f64>,
    /// Its regret, in payoff units.
    pub regret: f64,
    /// The pure profile, for a pure equilibrium (whose `mixture` is then
    /// each role's counts over its players).
    pub profile: Option<Vec<u32>>,
    /// Whether it stands for a connected set of equilibria (where payoffs
    /// tie, every mixture between it and others found is one too).
    pub connected: bool,
    /// Whether its regret is within the search's tolerance. When no
    /// candidate is, the least-regret one is reported with this false: the
    /// closest the search came, not an equilibrium.
    pub within_tolerance: bool,
}

impl Game {
    /// A game from every profile's payoffs; fails, naming it, if a profile
    /// is missing or a played strategy has no finite payoff.
    pub fn new(structure: Structure, payoffs: &BTreeMap<Vec<u32>, Vec<f64>>) -> Result<Game, String> {
        let profiles = structure.profiles();
        let mut rows: Vec<Vec<f64>> = Vec::with_capacity(profiles.len());
        for p in &profiles {
            let row = payoffs.get(p).ok_or_else(|| format!("profile {p:?} has no payoffs"))?;
            if row.len() != structure.n_strategies() {
                return Err(format!(
                    "profile {p:?}: {} payoffs for {} strategies",
                    row.len(),
                    structure.n_strategies()
                ));
            }
            if let Some(k) = (0..row.len()).find(|&k| p[k] > 0 && !row[k].is_finite()) {
                return Err(format!("profile {p:?}: {} is played but has no payoff", structure.label(k)));
            }
            rows.push(row.clone());
        }
        let table = profiles.into_iter().zip(rows).collect();
        Ok(Game::partial(structure, &table))
    }

    /// A game of only the profiles in `payoffs` (in [`Structure::profiles`]
    /// order): deviation payoffs and regrets are right for mixtures whose
    /// support and deviations it covers, as adaptive sampling ensures.
    pub fn partial(structure: Structure, payoffs: &BTreeMap<Vec<u32>, Vec<f64>>) -> Game {
        let profiles: Vec<Vec<u32>> = structure.profiles().into_iter().filter(|p| payoffs.contains_key(p)).collect();
        let rows = profiles
            .iter()
            .map(|p| (0..p.len()).map(|k| if p[k] > 0 { payoffs[p][k] } else { f64::NAN }).collect())
            .collect();
        let index = profiles.iter().enumerate().map(|(i, p)| (p.clone(), i)).collect();
        let most = structure.players.iter().copied().max().unwrap_or(0) as usize;
        let mut ln_fact = vec![0.0; most + 1];
        for i in 1..=most {
            ln_fact[i] = ln_fact[i - 1] + (i as f64).ln();
        }
        Game { structure, profiles, payoffs: rows, index, ln_fact }
    }

    /// Whether every profile of the structure is in the game.
    pub fn is_complete(&self) -> bool {
        self.structure.n_profiles() == self.profiles.len() as u128
    }

    /// The payoff of strategy `k` in profile `c`, if `c` is in the game and
    /// `k` is played in it.
    pub fn payoff(&self, c: &[u32], k: usize) -> Option<f64> {
        self.index.get(c).map(|&i| self.payoffs[i][k]).filter(|x| x.is_finite())
    }

    /// The smallest and largest payoff.
    pub fn payoff_range(&self) -> (f64, f64) {
        let all = self.payoffs.iter().flatten().filter(|x| x.is_finite());
        all.fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), &x| (lo.min(x), hi.max(x)))
    }

    /// `ln P(q | σ)`: the log probability that the other players form `q`.
    fn ln_prob(&self, q: &[u32], ln_sigma: &[f64]) -> f64 {
        let s = &self.structure;
        let mut total = 0.0;
        for r in 0..s.roles.len() {
            let mut n = 0;
            for k in s.range(r) {
                let c = q[k];
                if c > 0 {
                    if ln_sigma[k] == f64::NEG_INFINITY {
                        return f64::NEG_INFINITY;
                    }
                    total += f64::from(c) * ln_sigma[k] - self.ln_fact[c as usize];
                }
                n += c as usize;
            }
            total += self.ln_fact[n];
        }
        total
    }

    /// The deviation payoff `d_s(σ)` of every strategy (module docs).
    pub fn deviation_payoffs(&self, sigma: &[f64]) -> Vec<f64> {
        let ln_sigma: Vec<f64> = sigma.iter().map(|&x| if x > 0.0 { x.ln() } else { f64::NEG_INFINITY }).collect();
        let mut dev = vec![0.0; sigma.len()];
        let mut q: Vec<u32> = vec![0; sigma.len()];
        for (p, row) in self.profiles.iter().zip(&self.payoffs) {
            for k in 0..p.len() {
                if p[k] == 0 {
                    continue;
                }
                for (j, c) in p.iter().enumerate() {
                    q[j] = c - u32::from(j == k);
                }
                let lp = self.ln_prob(&q, &ln_sigma);
                if lp > f64::NEG_INFINITY {
                    dev[k] += lp.exp() * row[k];
                }
            }
        }
        dev
    }

    /// Each role's expected payoff `v_r(σ)`.
    pub fn expected_payoffs(&self, sigma: &[f64]) -> Vec<f64> {
        let dev = self.deviation_payoffs(sigma);
        (0..self.structure.roles.len()).map(|r| self.structure.range(r).map(|k| sigma[k] * dev[k]).sum()).collect()
    }

    /// The gain `g_s(σ)` of deviating to each strategy.
    pub fn gains(&self, sigma: &[f64]) -> Vec<f64> {
        let dev = self.deviation_payoffs(sigma);
        let s = &self.structure;
        let v: Vec<f64> = (0..s.roles.len()).map(|r| s.range(r).map(|k| sigma[k] * dev[k]).sum()).collect();
        (0..dev.len()).map(|k| dev[k] - v[s.role_of(k)]).collect()
    }

    /// The regret of a mixture.
    pub fn regret(&self, sigma: &[f64]) -> f64 {
        self.gains(sigma).into_iter().fold(f64::NEG_INFINITY, f64::max)
    }

    /// The regret of pure profile `c` (module docs); zero for a game in
    /// which no player has a second strategy.
    pub fn profile_regret(&self, c: &[u32]) -> f64 {
        let s = &self.structure;
        let mut regret = f64::NEG_INFINITY;
        for r in 0..s.roles.len() {
            for from in s.range(r).filter(|&k| c[k] > 0) {
                let here = self.payoff(c, from).unwrap_or(f64::NAN);
                for to in s.range(r).filter(|&t| t != from) {
                    let mut d = c.to_vec();
                    d[from] -= 1;
                    d[to] += 1;
                    if let Some(there) = self.payoff(&d, to) {
                        regret = regret.max(there - here);
                    }
                }
            }
        }
        if regret == f64::NEG_INFINITY { 0.0 } else { regret }
    }

    /// The probability of profile `c` when every player mixes by `σ`.
    pub fn profile_probability(&self, sigma: &[f64], c: &[u32]) -> f64 {
        let ln_sigma: Vec<f64> = sigma.iter().map(|&x| if x > 0.0 { x.ln() } else { f64::NEG_INFINITY }).collect();
        self.ln_prob(c, &ln_sigma).exp()
    }

    /// The pure profiles whose regret is at most `tolerance`.
    pub fn pure_equilibria(&self, tolerance: f64) -> Vec<(Vec<u32>, f64)> {
        self.profiles.iter().map(|c| (c.clone(), self.profile_regret(c))).filter(|(_, r)| *r <= tolerance).collect()
    }

    /// The game with payoffs mapped to `[0, 1]` by `(u − lo) / (hi − lo)`,
    /// and the range `hi − lo` (1 for a constant game).
    fn normalised(&self) -> (Game, f64) {
        let (lo, hi) = self.payoff_range();
        let span = if hi > lo { hi - lo } else { 1.0 };
        let mut g = self.clone();
        for row in &mut g.payoffs {
            for x in row.iter_mut() {
                *x = (*x - lo) / span;
            }
        }
        (g, span)
    }

    /// Discrete-time replicator dynamics from `sigma` (module docs), until
    /// no probability moves by more than 1e-10 or `iterations` pass.
    pub fn replicator(&self, sigma: &[f64], iterations: usize) -> Vec<f64> {
        let s = &self.structure;
        let floor: Vec<f64> = (0..s.roles.len())
            .map(|r| {
                let pays = self.payoffs.iter().flat_map(|row| s.range(r).map(|k| row[k])).filter(|x| x.is_finite());
                pays.fold(f64::INFINITY, f64::min) - 1e-3
            })
            .collect();
        let mut x = sigma.to_vec();
        for _ in 0..iterations {
            let dev = self.deviation_payoffs(&x);
            let old = x.clone();
            for (r, low) in floor.iter().enumerate() {
                let range = s.range(r);
                for k in range.clone() {
                    x[k] *= dev[k] - low;
                }
                let total: f64 = x[range.clone()].iter().sum();
                for k in range {
                    x[k] /= total;
                }
            }
            if x.iter().zip(&old).all(|(a, b)| (a - b).abs() <= 1e-10) {
                break;
            }
        }
        x
    }

    /// The mixtures the replicator dynamics pass through from `sigma`,
    /// `steps` of them after the start, on the payoffs rescaled to
    /// `[0, 1]` (as the search runs them).
    pub fn replicator_path(&self, sigma: &[f64], steps: usize) -> Vec<Vec<f64>> {
        let (norm, _) = self.normalised();
        let mut path = vec![sigma.to_vec()];
        for _ in 0..steps {
            let next = norm.replicator(path.last().expect("a start"), 1);
            path.push(next);
        }
        path
    }

    /// `f(σ) = Σ_s max(0, g_s(σ))²`.
    fn nash_objective(&self, sigma: &[f64]) -> f64 {
        self.gains(sigma).iter().map(|g| g.max(0.0).powi(2)).sum()
    }

    /// Projected gradient descent on `f` from `sigma` (module docs).
    pub fn regret_minimize(&self, sigma: &[f64], iterations: usize) -> Vec<f64> {
        let mut x = sigma.to_vec();
        self.structure.project(&mut x);
        let mut f = self.nash_objective(&x);
        let mut step = 1.0;
        for _ in 0..iterations {
            if f < 1e-16 {
                break;
            }
            let h = 1e-7;
            let grad: Vec<f64> = (0..x.len())
                .map(|j| {
                    let mut y = x.clone();
                    y[j] += h;
                    (self.nash_objective(&y) - f) / h
                })
                .collect();
            let mut moved = false;
            while step > 1e-12 {
                let mut y: Vec<f64> = x.iter().zip(&grad).map(|(a, g)| a - step * g).collect();
                self.structure.project(&mut y);
                let fy = self.nash_objective(&y);
                if fy < f {
                    x = y;
                    f = fy;
                    step *= 2.0;
                    moved = true;
                    break;
                }
                step /= 2.0;
            }
            if !moved {
                break;
            }
        }
        x
    }

    /// Newton's method on `sigma`'s support (module docs); `None` if it
    /// does not converge inside the simplex.
    pub fn polish(&self, sigma: &[f64]) -> Option<Vec<f64>> {
        let s = &self.structure;
        let support: Vec<usize> = (0..sigma.len()).filter(|&k| sigma[k] > 1e-4).collect();
        let residual = |x: &[f64]| -> Vec<f64> {
            let dev = self.deviation_payoffs(x);
            let mut out = Vec::with_capacity(support.len());
            for r in 0..s.roles.len() {
                let mine: Vec<usize> = support.iter().copied().filter(|&k| s.role_of(k) == r).collect();
                for &k in &mine[1..] {
                    out.push(dev[k] - dev[mine[0]]);
                }
                out.push(mine.iter().map(|&k| x[k]).sum::<f64>() - 1.0);
            }
            out
        };
        let mut x: Vec<f64> = (0..sigma.len()).map(|k| if support.contains(&k) { sigma[k] } else { 0.0 }).collect();
        for _ in 0..50 {
            let f = residual(&x);
            if f.iter().all(|v| v.abs() < 1e-14) {
                break;
            }
            let h = 1e-7;
            let mut jac = vec![vec![0.0; support.len()]; support.len()];
            for (col, &k) in support.iter().enumerate() {
                let mut y = x.clone();
                y[k] += h;
                for (row, v) in residual(&y).iter().enumerate() {
                    jac[row][col] = (v - f[row]) / h;
                }
            }
            let delta = solve(jac, f)?;
            for (col, &k) in support.iter().enumerate() {
                x[k] -= delta[col];
            }
            if x.iter().any(|v| !v.is_finite() || *v < -1e-9) {
                return None;
            }
        }
        for v in &mut x {
            *v = v.max(0.0);
        }
        for r in 0..s.roles.len() {
            let total: f64 = x[s.range(r)].iter().sum();
            if total <= 0.0 {
                return None;
            }
            for k in s.range(r) {
                x[k] /= total;
            }
        }
        residual(&x).iter().all(|v| v.abs() < 1e-9).then_some(x)
    }

    /// The starting mixtures of the search (module docs).
    fn starts(&self, options: &SearchOptions) -> Vec<Vec<f64>> {
        let s = &self.structure;
        let uniform = s.uniform();
        let mut starts = vec![uniform.clone()];
        for k in 0..s.n_strategies() {
            let r = s.role_of(k);
            if s.range(r).len() < 2 {
                continue;
            }
            let mut x = uniform.clone();
            for j in s.range(r) {
                x[j] = if j == k { 0.9 } else { 0.1 / (s.range(r).len() - 1) as f64 };
            }
            starts.push(x);
        }
        let mut rng = rand_chacha::ChaCha12Rng::seed_from_u64(options.seed);
        for _ in 0..options.random_starts {
            // Dirichlet(1) per role: normalised standard exponentials.
            let mut x: Vec<f64> = (0..s.n_strategies()).map(|_| -(1.0 - rng.random::<f64>()).ln()).collect();
            for r in 0..s.roles.len() {
                let total: f64 = x[s.range(r)].iter().sum();
                for k in s.range(r) {
                    x[k] /= total;
                }
            }
            starts.push(x);
        }
        starts
    }

    /// The equilibria (module docs): the pure profiles first, in profile
    /// order, then the mixtures, by decreasing probability of the first
    /// strategies. Regrets are in payoff units.
    pub fn equilibria(&self, options: &SearchOptions) -> Vec<Equilibrium> {
        let (norm, _) = self.normalised();
        let tolerance = options.tolerance;
        let mut out: Vec<Equilibrium> = norm
            .pure_equilibria(tolerance)
            .into_iter()
            .map(|(c, _)| Equilibrium {
                mixture: self.structure.as_mixture(&c),
                regret: self.profile_regret(&c).max(0.0),
                profile: Some(c),
                connected: false,
                within_tolerance: true,
            })
            .collect();
        let mut candidates: Vec<(Vec<f64>, f64)> = Vec::new();
        for start in norm.starts(options) {
            for found in [norm.replicator(&start, options.iterations), norm.regret_minimize(&start, options.iterations)]
            {
                let regret = norm.regret(&found);
                candidates.push(match norm.polish(&found) {
                    Some(p) if norm.regret(&p) <= regret.max(tolerance) => {
                        let r = norm.regret(&p);
                        (p, r)
                    }
                    _ => (found, regret),
                });
            }
        }
        candidates.sort_by(|a, b| a.1.total_cmp(&b.1));
        let within = candidates.iter().filter(|c| c.1 <= tolerance).count();
        // With no equilibrium at all within the tolerance, the least-regret
        // candidate is reported, with its regret, rather than nothing.
        let keep = if within == 0 && out.is_empty() { 1 } else { within };
        let near = |a: &[f64], b: &[f64]| a.iter().zip(b).all(|(x, y)| (x - y).abs() <= options.merge_distance);
        // A pure profile in which each role plays one strategy is also a
        // mixture; one that splits a role is not.
        let s = &self.structure;
        let unanimous = |e: &Equilibrium| {
            e.profile.as_ref().is_some_and(|c| (0..c.len()).all(|k| c[k] == 0 || c[k] == s.players[s.role_of(k)]))
        };
        // Where payoffs tie, equilibria form connected sets: two are one set
        // when the points between them are equilibria too.
        let joined = |a: &[f64], b: &[f64]| {
            [0.25, 0.5, 0.75].iter().all(|t| {
                let m: Vec<f64> = a.iter().zip(b).map(|(x, y)| x + t * (y - x)).collect();
                norm.regret(&m) <= tolerance
            })
        };
        for i in 0..out.len() {
            for j in 0..i {
                if unanimous(&out[i]) && unanimous(&out[j]) && joined(&out[i].mixture, &out[j].mixture) {
                    out[i].connected = true;
                    out[j].connected = true;
                }
            }
        }
        let mut mixed: Vec<(Vec<f64>, bool)> = Vec::new();
        for (x, _) in candidates.into_iter().take(keep) {
            if out.iter().any(|e| unanimous(e) && near(&e.mixture, &x)) || mixed.iter().any(|m| near(&m.0, &x)) {
                continue;
            }
            if let Some(e) = out.iter_mut().find(|e| unanimous(e) && joined(&e.mixture, &x)) {
                e.connected = true;
            } else if let Some(m) = mixed.iter_mut().find(|m| joined(&m.0, &x)) {
                m.1 = true;
            } else {
                mixed.push((x, false));
            }
        }
        mixed.sort_by(|a, b| {
            b.0.iter().zip(&a.0).map(|(x, y)| x.total_cmp(y)).find(|o| o.is_ne()).unwrap_or(std::cmp::Ordering::Equal)
        });
        out.extend(mixed.into_iter().map(|(m, connected)| Equilibrium {
            regret: self.regret(&m).max(0.0),
            within_tolerance: norm.regret(&m) <= tolerance,
            mixture: m,
            profile: None,
            connected,
        }));
        out
    }
}

/// Solves `a x = b` by Gaussian elimination with partial pivoting; `None`
/// when `a` is singular.
fn solve(mut a: Vec<Vec<f64>>, mut b: Vec<f64>) -> Option<Vec<f64>> {
    let n = b.len();
    for col in 0..n {
        let pivot = (col..n).max_by(|&i, &j| a[i][col].abs().total_cmp(&a[j][col].abs()))?;
        if a[pivot][col].abs() < 1e-14 {
            return None;
        }
        a.swap(col, pivot);
        b.swap(col, pivot);
        for row in col + 1..n {
            let f = a[row][col] / a[col][col];
            let (top, bottom) = a.split_at_mut(row);
            for (x, y) in bottom[0][col..n].iter_mut().zip(&top[col][col..n]) {
                *x -= f * y;
            }
            b[row] -= f * b[col];
        }
    }
    let mut x = vec![0.0; n];
    for row in (0..n).rev() {
        let s: f64 = (row + 1..n).map(|k| a[row][k] * x[k]).sum();
        x[row] = (b[row] - s) / a[row][row];
    }
    Some(x)
}
