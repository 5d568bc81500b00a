//! A population kind defined outside Cascade Lab's crates, usable from
//! experiment files: momentum traders, in a `cascade` of their own.
//!
//! A momentum trader sells `size` lots at market when the mark's log
//! return over the last `lookback` ticks is below `−threshold`, buys when
//! it is above `+threshold`, and holds at most `max_position` lots either
//! way: the trend followers that deepen a fall.
//!
//! Three things make the kind nameable in YAML:
//! - the parameter type derives serde and schemars;
//! - it implements [`Population`] (what to install) and [`PopulationKind`]
//!   (its name in files, its checks, and the facts the budget needs);
//! - [`register`] adds it before [`cascade_experiments::cli::main`] runs.
//!
//! Every command then knows it: `run`, `sweep`, `game`, `replicate`,
//! `validate`, `schema`, `--set`, `reproduce`, and the manifests.
//!
//! ```text
//! cargo run --release -p cascade-experiments --example momentum -- \
//!     run experiments/examples/momentum.yaml
//! ```

use bevy_ecs::prelude::*;
use cascade_experiments::agents::framework::accounts::ledger::{Ledger, MarginMode};
use cascade_experiments::agents::framework::exchange::sequencer::{OrderQueue, Priority};
use cascade_experiments::agents::framework::market::book::OrderKind;
use cascade_experiments::agents::framework::{Lots, MarketId, Micros, ParamError, Phase, Side, Simulation};
use cascade_experiments::agents::{
    Agent, Population, PopulationKind, PriceHistory, install_once, spawn_agent, use_price_history,
};
use cascade_experiments::spec::population::{DuplicateKind, register};
use serde::{Deserialize, Serialize};

/// A population of momentum traders (`kind: momentum`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MomentumParams {
    /// Population name.
    #[serde(default = "default_name")]
    pub name: String,
    /// Number of traders.
    pub count: u32,
    /// Number of the first agent (a game sets it).
    #[serde(default)]
    pub first_index: u32,
    /// Market traded.
    #[serde(default)]
    pub market: MarketId,
    /// Collateral of each trader, micros.
    pub capital: Micros,
    /// Ticks over which the return is measured.
    pub lookback: u32,
    /// Log return that triggers a trade, a fraction (0.004 is 0.4%).
    pub threshold: f64,
    /// Lots per order.
    pub size: Lots,
    /// Largest position either way, lots.
    pub max_position: Lots,
}

fn default_name() -> String {
    "momentum".into()
}

/// One momentum trader's rule.
#[derive(Component, Debug)]
struct MomentumTrader {
    lookback: usize,
    threshold: f64,
    size: i64,
    max_position: i64,
}

impl Population for MomentumParams {
    fn name(&self) -> &str {
        &self.name
    }

    fn install(&self, sim: &mut Simulation) -> Result<(), ParamError> {
        self.check()?;
        use_price_history(sim);
        install_once(sim, "momentum", |sim| {
            sim.add_systems(Phase::Decide, decide);
        });
        for index in cascade_experiments::agents::indices(self.first_index, self.count) {
            let agent =
                spawn_agent(sim, &self.name, "momentum", index, self.market, MarginMode::Cross, 1, self.capital);
            let rule = MomentumTrader {
                lookback: self.lookback as usize,
                threshold: self.threshold,
                size: self.size.0,
                max_position: self.max_position.0,
            };
            sim.world_mut().spawn((agent, rule));
        }
        Ok(())
    }
}

impl PopulationKind for MomentumParams {
    const KIND: &'static str = "momentum";
    const ABOUT: &'static str = "Momentum traders, who follow the mark's return over a lookback (an example kind).";

    fn check(&self) -> Result<(), ParamError> {
        if self.lookback == 0 {
            return Err(ParamError::invalid("lookback", "must be at least 1 tick"));
        }
        if !(self.threshold.is_finite() && self.threshold > 0.0) {
            return Err(ParamError::invalid("threshold", "must be a positive fraction"));
        }
        if self.size.0 < 1 || self.max_position.0 < self.size.0 {
            return Err(ParamError::invalid("size", "must be at least 1 lot, and at most max_position"));
        }
        if self.capital.0 < 0 {
            return Err(ParamError::invalid("capital", "must be non-negative"));
        }
        Ok(())
    }

    fn count(&self) -> u32 {
        self.count
    }

    fn first_index(&self) -> u32 {
        self.first_index
    }

    fn market(&self) -> u16 {
        self.market.0
    }

    fn capital(&self) -> i64 {
        self.capital.0
    }
}

fn decide(
    history: Res<PriceHistory>,
    ledger: Res<Ledger>,
    mut queue: ResMut<OrderQueue>,
    traders: Query<(&Agent, &MomentumTrader)>,
) {
    for (agent, t) in &traders {
        let Some(ret) = history.log_return(agent.market, t.lookback) else { continue };
        let position = ledger.account(agent.account).qty(agent.market).0;
        let side = if ret > t.threshold && position.saturating_add(t.size) <= t.max_position {
            Side::Buy
        } else if ret < -t.threshold && position.saturating_sub(t.size) >= -t.max_position {
            Side::Sell
        } else {
            continue;
        };
        queue.place(Priority::NORMAL, agent.account, agent.market, side, Lots(t.size), OrderKind::Market);
    }
}

/// Registers the kinds of this example.
pub fn register_kinds() -> Result<(), DuplicateKind> {
    register::<MomentumParams>()
}

#[allow(dead_code, reason = "the tests include this file for its kind, not its main")]
fn main() -> std::process::ExitCode {
    if let Err(e) = register_kinds() {
        eprintln!("error: {e}");
        return std::process::ExitCode::FAILURE;
    }
    cascade_experiments::cli::main()
}
