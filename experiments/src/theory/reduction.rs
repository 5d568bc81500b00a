//! Deviation-preserving reduction (Wiedenbeck & Wellman 2012).
//!
//! A role of `N_r` players is analysed as a reduced game of `n_r` players.
//! The payoff of strategy `s` of role `r` in reduced profile `c` is taken
//! from the full-game profile in which one player of `r` plays `s` and the
//! others are the reduced profile scaled up:
//!
//! ```text
//! own role r:     C_r  = (c_r − e_s) · (N_r − 1)/(n_r − 1) + e_s
//! other roles r': C_r' = c_r' · N_r' / n_r'
//! ```
//!
//! So a single deviator faces the same *proportions* of opponents in the
//! reduced and the full game, and a deviation in the reduced game is a
//! deviation in the full one. The scale factors must be whole numbers: a
//! reduced role needs `(N_r − 1)/(n_r − 1)` and, when the game has other
//! roles, `N_r / n_r` integral. A role reduced to one player stands for its
//! whole role playing one strategy: `C_r = N_r · e_s`, and `N_r · e_t` for
//! the others' view of it. A role with `n_r = N_r` is not reduced.
//!
//! When payoffs depend only on the proportions of the other players, the
//! reduced game's payoffs are exactly the full game's; in general DPR keeps
//! the full game's equilibria approximately at a cost of
//! `Π_r C(n_r + |S_r| − 1, |S_r| − 1)` reduced profiles, each backed by at
//! most one full profile per played strategy.

use super::structure::Structure;

/// A reduction of a full game to fewer players per role.
#[derive(Clone, Debug)]
pub struct Reduction {
    /// The full game's roles.
    pub full: Structure,
    /// The reduced game's roles.
    pub reduced: Structure,
}

impl Reduction {
    /// The reduction of `full` to `players` per role; fails, naming the
    /// role, when a scale factor is not whole.
    pub fn new(full: &Structure, players: &[u32]) -> Result<Reduction, String> {
        let several = full.roles.len() > 1;
        for (r, (&big, &small)) in full.players.iter().zip(players).enumerate() {
            let role = &full.roles[r];
            if small == 0 || small > big {
                return Err(format!("role {role}: reduce to between 1 and {big} players, not {small}"));
            }
            if small == big || small == 1 {
                continue;
            }
            if (big - 1) % (small - 1) != 0 {
                return Err(format!(
                    "role {role}: {big} players do not reduce to {small}: (N − 1)/(n − 1) = {}/{} must be whole",
                    big - 1,
                    small - 1
                ));
            }
            if several && big % small != 0 {
                return Err(format!(
                    "role {role}: {big} players do not reduce to {small}: N/n = {big}/{small} must be whole when the game has other roles"
                ));
            }
        }
        Ok(Reduction { full: full.clone(), reduced: full.with_players(players) })
    }

    /// The full profile whose payoff to strategy `k` stands for reduced
    /// profile `c`'s (module docs). `c[k]` must be at least 1.
    pub fn expand(&self, c: &[u32], k: usize) -> Vec<u32> {
        let (full, reduced) = (&self.full, &self.reduced);
        let mine = full.role_of(k);
        let mut out = vec![0; c.len()];
        for r in 0..full.roles.len() {
            let (big, small) = (full.players[r], reduced.players[r]);
            for j in full.range(r) {
                out[j] = if big == small {
                    c[j]
                } else if small == 1 {
                    if c[j] == 1 { big } else { 0 }
                } else if r == mine {
                    (c[j] - u32::from(j == k)) * ((big - 1) / (small - 1)) + u32::from(j == k)
                } else {
                    c[j] * (big / small)
                };
            }
        }
        out
    }

    /// Every full profile the reduced game needs, each once, in the order
    /// of first need (reduced profiles in order, then strategies).
    pub fn full_profiles(&self) -> Vec<Vec<u32>> {
        let mut seen = std::collections::BTreeSet::new();
        let mut out = Vec::new();
        for c in self.reduced.profiles() {
            for k in (0..c.len()).filter(|&k| c[k] > 0) {
                let f = self.expand(&c, k);
                if seen.insert(f.clone()) {
                    out.push(f);
                }
            }
        }
        out
    }
}
