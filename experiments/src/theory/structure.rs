//! The shape of a role-symmetric game: roles, their player counts and
//! strategies, its profiles (each role's counts over its strategies) and
//! mixtures, and how many profiles there are.

/// Roles, their player counts and their strategies.
#[derive(Clone, Debug, PartialEq)]
pub struct Structure {
    /// Role names.
    pub roles: Vec<String>,
    /// Players per role.
    pub players: Vec<u32>,
    /// Strategy names per role.
    pub strategies: Vec<Vec<String>>,
    /// Where each role's strategies start in the joint numbering, and the
    /// total at the end.
    offsets: Vec<usize>,
}

impl Structure {
    /// A structure; every role needs at least one strategy and one player.
    pub fn new(roles: Vec<(String, u32, Vec<String>)>) -> Structure {
        let mut offsets = vec![0];
        for (_, _, s) in &roles {
            offsets.push(offsets.last().copied().unwrap_or(0) + s.len());
        }
        let (mut names, mut players, mut strategies) = (Vec::new(), Vec::new(), Vec::new());
        for (r, n, s) in roles {
            names.push(r);
            players.push(n);
            strategies.push(s);
        }
        Structure { roles: names, players, strategies, offsets }
    }

    /// The same roles and strategies with other player counts.
    pub fn with_players(&self, players: &[u32]) -> Structure {
        Structure { players: players.to_vec(), ..self.clone() }
    }

    /// Number of strategies over all roles.
    pub fn n_strategies(&self) -> usize {
        self.offsets.last().copied().unwrap_or(0)
    }

    /// The joint numbers of role `r`'s strategies.
    pub fn range(&self, r: usize) -> std::ops::Range<usize> {
        self.offsets[r]..self.offsets[r + 1]
    }

    /// The role of strategy `k`.
    pub fn role_of(&self, k: usize) -> usize {
        self.offsets.iter().rposition(|&o| o <= k).expect("offsets start at 0").min(self.roles.len() - 1)
    }

    /// `role:strategy` for strategy `k`.
    pub fn label(&self, k: usize) -> String {
        let r = self.role_of(k);
        format!("{}:{}", self.roles[r], self.strategies[r][k - self.offsets[r]])
    }

    /// Every profile, role by role in order, each role's counts in
    /// decreasing order of its first strategies (`[2,0]`, `[1,1]`, `[0,2]`).
    pub fn profiles(&self) -> Vec<Vec<u32>> {
        let mut out: Vec<Vec<u32>> = vec![Vec::new()];
        for r in 0..self.roles.len() {
            let parts = compositions(self.players[r], self.strategies[r].len());
            out = out.into_iter().flat_map(|p| parts.iter().map(move |q| [p.clone(), q.clone()].concat())).collect();
        }
        out
    }

    /// The number of profiles: `Π_r C(n_r + |S_r| − 1, |S_r| − 1)`,
    /// `u128::MAX` when it is larger (and 0 when a role has no strategy).
    pub fn n_profiles(&self) -> u128 {
        (0..self.roles.len())
            .map(|r| match self.strategies[r].len() as u64 {
                0 => 0,
                k => binomial(u64::from(self.players[r]) + k - 1, k - 1),
            })
            .fold(1_u128, u128::saturating_mul)
    }

    /// The uniform mixture.
    pub fn uniform(&self) -> Vec<f64> {
        (0..self.n_strategies()).map(|k| 1.0 / self.range(self.role_of(k)).len() as f64).collect()
    }

    /// Profile `c` as a mixture (each role's counts over its players).
    pub fn as_mixture(&self, c: &[u32]) -> Vec<f64> {
        (0..self.n_strategies()).map(|k| f64::from(c[k]) / f64::from(self.players[self.role_of(k)])).collect()
    }

    /// `σ` projected onto the product of simplices (Euclidean, per role).
    pub fn project(&self, sigma: &mut [f64]) {
        for r in 0..self.roles.len() {
            project_simplex(&mut sigma[self.range(r)]);
        }
    }
}

/// Compositions of `n` into `k` non-negative parts, first part largest
/// first.
fn compositions(n: u32, k: usize) -> Vec<Vec<u32>> {
    if k == 1 {
        return vec![vec![n]];
    }
    (0..=n)
        .rev()
        .flat_map(|first| compositions(n - first, k - 1).into_iter().map(move |rest| [vec![first], rest].concat()))
        .collect()
}

/// `C(n, k)`, or `u128::MAX` when it does not fit. Each step is exact:
/// `C(n, i) · (n − i)` is divisible by `i + 1`.
fn binomial(n: u64, k: u64) -> u128 {
    if k > n {
        return 0;
    }
    let k = k.min(n - k);
    (0..k)
        .try_fold(1_u128, |acc, i| acc.checked_mul(u128::from(n - i)).map(|x| x / u128::from(i + 1)))
        .unwrap_or(u128::MAX)
}

/// Euclidean projection onto the probability simplex (Held, Wolfe and
/// Crowder 1974; sort and threshold).
fn project_simplex(v: &mut [f64]) {
    let mut u: Vec<f64> = v.to_vec();
    u.sort_by(|a, b| b.total_cmp(a));
    let (mut sum, mut theta) = (0.0, 0.0);
    for (j, x) in u.iter().enumerate() {
        sum += x;
        let t = (sum - 1.0) / (j + 1) as f64;
        if x - t > 0.0 {
            theta = t;
        }
    }
    for x in v.iter_mut() {
        *x = (*x - theta).max(0.0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn binomials_are_exact_and_saturate_instead_of_overflowing() {
        assert_eq!(binomial(5, 2), 10);
        assert_eq!(binomial(5, 0), 1);
        assert_eq!(binomial(2, 3), 0);
        assert_eq!(binomial(60, 30), 118_264_581_564_861_424);
        assert_eq!(binomial(u64::from(u32::MAX) + 1000, 1000), u128::MAX);
        let roles = (0..8).map(|r| (format!("r{r}"), u32::MAX, (0..50).map(|s| format!("s{s}")).collect())).collect();
        assert_eq!(Structure::new(roles).n_profiles(), u128::MAX);
    }
}
