//! A role-symmetric game as a Gambit strategic-form file (`.nfg`, the
//! payoff version), readable by pygambit and the Gambit command-line tools.
//!
//! Each role of `n_r` players becomes `n_r` players named `<role> 1`,
//! `<role> 2`, ..., each with the role's strategies. The payoffs follow
//! Gambit's order: one outcome per pure strategy profile, the first
//! player's strategy changing fastest, each listing every player's payoff.
//! The payoff of a player who plays `s` is `u_s(c)`, where `c` counts the
//! strategies played in its role and the others.

use super::analysis::Game;
use std::fmt::Write;

/// The most outcomes written; larger games are refused.
pub const MAX_OUTCOMES: u128 = 1_000_000;

fn quoted(s: &str) -> String {
    format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
}

/// The game as `.nfg` text, or why not (too many outcomes).
pub fn to_nfg(game: &Game, title: &str) -> Result<String, String> {
    let s = &game.structure;
    // Counted before a player is listed: a role may have millions.
    let mut outcomes = 1_u128;
    for (r, strategies) in s.strategies.iter().enumerate().filter(|(_, s)| s.len() > 1) {
        for _ in 0..s.players[r] {
            outcomes = outcomes.saturating_mul(strategies.len() as u128);
            if outcomes > MAX_OUTCOMES {
                return Err(format!("more than {MAX_OUTCOMES} pure strategy profiles"));
            }
        }
    }
    // Each player's role.
    let roles: Vec<usize> = (0..s.roles.len()).flat_map(|r| std::iter::repeat_n(r, s.players[r] as usize)).collect();
    let mut out = String::new();
    let players: Vec<String> = roles
        .iter()
        .enumerate()
        .map(|(i, &r)| {
            let nth = i - roles.iter().position(|&x| x == r).expect("present") + 1;
            quoted(&format!("{} {nth}", s.roles[r]))
        })
        .collect();
    let strategies: Vec<String> = roles
        .iter()
        .map(|&r| format!("{{ {} }}", s.strategies[r].iter().map(|x| quoted(x)).collect::<Vec<_>>().join(" ")))
        .collect();
    writeln!(out, "NFG 1 R {} {{ {} }}", quoted(title), players.join(" ")).expect("to a string");
    writeln!(out, "{{ {} }}", strategies.join(" ")).expect("to a string");
    writeln!(out, "\"\"\n").expect("to a string");
    // The current pure profile: one strategy (within its role) per player.
    let mut choice = vec![0_usize; roles.len()];
    let mut line = Vec::with_capacity(roles.len());
    for _ in 0..outcomes {
        let mut counts = vec![0_u32; s.n_strategies()];
        for (i, &r) in roles.iter().enumerate() {
            counts[s.range(r).start + choice[i]] += 1;
        }
        line.clear();
        for (i, &r) in roles.iter().enumerate() {
            let k = s.range(r).start + choice[i];
            let u = game.payoff(&counts, k).ok_or_else(|| format!("profile {counts:?} has no payoff"))?;
            line.push(format!("{u}"));
        }
        writeln!(out, "{}", line.join(" ")).expect("to a string");
        for (i, &r) in roles.iter().enumerate() {
            choice[i] += 1;
            if choice[i] < s.strategies[r].len() {
                break;
            }
            choice[i] = 0;
        }
    }
    Ok(out)
}
