//! Empirical game-theoretic analysis (Wellman 2006): strategy games
//! between populations, played out by simulation.
//!
//! A `game:` section names roles (populations), their players and their
//! strategies (parameter overrides). [`plan`] expands it into the full-game
//! profiles that the analysed game needs, each an experiment run with
//! replicates on the sweep engine (parallel, resumable, shardable);
//! [`aggregate`] reads the runs into payoff tables and finds the
//! equilibria, with bootstrap intervals on their regret and the cascade
//! metrics at each. The role-symmetric game algorithms, deviation-preserving
//! reduction and the Gambit file are in [`crate::theory`], and the section's
//! shape in [`crate::spec::game`]. With `sweep.variants`, each variant (a protocol mechanism, say)
//! gets its own game, so mechanisms are compared at equilibrium. With
//! `adaptive:`, [`adaptive`] runs only the profiles that decide the
//! equilibria.
//!
//! Layout: runs go to `<out>/<name>/<run-id>/` like single runs, the
//! game's own files to `<out>/<name>/games/<game-id>/`: `game.json` (the
//! plan), `observations.parquet`, `payoffs.parquet`, `equilibria.parquet`
//! and `game.nfg`.

pub mod adaptive;
pub mod aggregate;
pub mod frames;
pub mod plan;

pub use crate::spec::game::GameSpec;
pub use plan::{GamePlan, game_dir, plan, read_plan};

/// `x` (a whole number read as a float) as an integer.
pub(crate) fn whole(x: f64) -> i64 {
    cascade_agents::framework::core::units::round_to_i64(x)
}
