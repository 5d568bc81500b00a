//! What a game folder's frames say, for its charts: each variant's roles,
//! strategies and reduced profiles with their payoffs (`payoffs.parquet`),
//! and the equilibria (`equilibria.parquet`).

use super::data::Frame;
use super::error::ChartError;

/// One variant's analysed game.
#[derive(Debug, PartialEq)]
pub(super) struct GameTable {
    pub(super) variant: String,
    pub(super) roles: Vec<String>,
    pub(super) strategies: Vec<Vec<String>>,
    /// Per profile, per role, the count of each strategy.
    pub(super) profiles: Vec<Vec<Vec<u32>>>,
    /// Per profile, per role, each strategy's mean payoff (where played).
    pub(super) payoffs: Vec<Vec<Vec<Option<f64>>>>,
}

impl GameTable {
    /// Each variant's table. Roles and strategies come in the order of the
    /// equilibria frame's `role:strategy` columns.
    pub(super) fn read(payoffs: &Frame, equilibria: &Frame) -> Result<Vec<GameTable>, ChartError> {
        let mut roles: Vec<String> = Vec::new();
        let mut strategies: Vec<Vec<String>> = Vec::new();
        for name in equilibria.df.get_column_names() {
            if let Some((role, strategy)) = name.split_once(':') {
                match roles.iter().position(|r| r == role) {
                    Some(i) => strategies[i].push(strategy.to_owned()),
                    None => {
                        roles.push(role.to_owned());
                        strategies.push(vec![strategy.to_owned()]);
                    }
                }
            }
        }
        let variant = payoffs.strings("variant")?;
        let profile = payoffs.u64s("profile")?;
        let role = payoffs.strings("role")?;
        let strategy = payoffs.strings("strategy")?;
        let count = payoffs.u64s("count")?;
        let mean = payoffs.f64s("mean")?;
        let mut tables: Vec<GameTable> = Vec::new();
        for i in 0..payoffs.df.height() {
            let v = variant[i].clone().unwrap_or_default();
            let t = match tables.iter().position(|t| t.variant == v) {
                Some(t) => t,
                None => {
                    tables.push(GameTable {
                        variant: v,
                        roles: roles.clone(),
                        strategies: strategies.clone(),
                        profiles: Vec::new(),
                        payoffs: Vec::new(),
                    });
                    tables.len() - 1
                }
            };
            let t = &mut tables[t];
            let p = usize::try_from(profile[i].unwrap_or(0)).unwrap_or(usize::MAX);
            while t.profiles.len() <= p {
                t.profiles.push(strategies.iter().map(|s| vec![0; s.len()]).collect());
                t.payoffs.push(strategies.iter().map(|s| vec![None; s.len()]).collect());
            }
            let r = roles.iter().position(|x| Some(x) == role[i].as_ref());
            let s = r.and_then(|r| strategies[r].iter().position(|x| Some(x) == strategy[i].as_ref()));
            if let (Some(r), Some(s)) = (r, s) {
                t.profiles[p][r][s] = u32::try_from(count[i].unwrap_or(0)).unwrap_or(u32::MAX);
                t.payoffs[p][r][s] = mean[i];
            }
        }
        Ok(tables)
    }

    /// Role `r`'s part of a profile as text: `passive 1, hunt 1`.
    pub(super) fn part_label(&self, r: usize, counts: &[u32]) -> String {
        let parts: Vec<String> =
            counts.iter().zip(&self.strategies[r]).filter(|(c, _)| **c > 0).map(|(c, s)| format!("{s} {c}")).collect();
        parts.join(", ")
    }

    /// Role `r`'s distinct parts, in the order the profiles list them.
    pub(super) fn parts(&self, r: usize) -> Vec<Vec<u32>> {
        let mut out: Vec<Vec<u32>> = Vec::new();
        for p in &self.profiles {
            if !out.contains(&p[r]) {
                out.push(p[r].clone());
            }
        }
        out
    }

    /// The mean payoff of role `r`'s players in profile `p`.
    pub(super) fn role_payoff(&self, p: usize, r: usize) -> Option<f64> {
        let (mut total, mut n) = (0.0, 0.0);
        for (c, u) in self.profiles[p][r].iter().zip(&self.payoffs[p][r]) {
            if *c > 0 {
                total += f64::from(*c) * (*u)?;
                n += f64::from(*c);
            }
        }
        (n > 0.0).then(|| total / n)
    }

    /// Every profitable deviation: one player of role `r` in profile `from`
    /// switching from strategy `s` to `t` and earning more in `to`, as
    /// `(from, to, role, gain)`.
    pub(super) fn deviations(&self) -> Vec<(usize, usize, usize, f64)> {
        let mut out = Vec::new();
        for (from, p) in self.profiles.iter().enumerate() {
            for r in 0..self.roles.len() {
                for s in (0..p[r].len()).filter(|&s| p[r][s] > 0) {
                    for t in (0..p[r].len()).filter(|&t| t != s) {
                        let mut q = p.clone();
                        q[r][s] -= 1;
                        q[r][t] += 1;
                        let Some(to) = self.profiles.iter().position(|x| *x == q) else { continue };
                        if let (Some(here), Some(there)) = (self.payoffs[from][r][s], self.payoffs[to][r][t])
                            && there > here
                        {
                            out.push((from, to, r, there - here));
                        }
                    }
                }
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use polars::prelude::{Column, DataFrame};

    #[test]
    fn a_two_role_table_and_its_deviations() {
        // Role a (x, y), role b (z), one player each.
        let payoffs = DataFrame::new_infer_height(vec![
            Column::new("variant".into(), ["v"; 4]),
            Column::new("profile".into(), [0_u64, 0, 1, 1]),
            Column::new("role".into(), ["a", "b", "a", "b"]),
            Column::new("strategy".into(), ["x", "z", "y", "z"]),
            Column::new("count".into(), [1_u32; 4]),
            Column::new("mean".into(), [1.0, 5.0, 3.0, 4.0]),
        ])
        .expect("frame");
        let equilibria = DataFrame::new_infer_height(vec![
            Column::new("variant".into(), ["v"]),
            Column::new("a:x".into(), [0.0]),
            Column::new("a:y".into(), [1.0]),
            Column::new("b:z".into(), [1.0]),
        ])
        .expect("frame");
        let t = GameTable::read(&Frame::in_memory(payoffs), &Frame::in_memory(equilibria)).expect("read");
        assert_eq!(t.len(), 1);
        let t = &t[0];
        assert_eq!(t.strategies, [vec!["x", "y"], vec!["z"]]);
        assert_eq!(t.profiles, [vec![vec![1, 0], vec![1]], vec![vec![0, 1], vec![1]]]);
        assert_eq!(t.part_label(0, &[0, 1]), "y 1");
        assert_eq!(t.role_payoff(1, 1), Some(4.0));
        // a gains 2 by switching from x to y; nobody gains the other way.
        assert_eq!(t.deviations(), [(0, 1, 0, 2.0)]);
    }
}
