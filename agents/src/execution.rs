//! Execution agents: each works one parent (meta) order of `quantity`
//! lots, on `side`, into one market, as a sequence of child market orders
//! from `start_tick`, and logs every child with the prices around it
//! (`executions.parquet`, see [`cascade_framework::record::orders`]).
//!
//! Two schedules:
//!
//! - **TWAP** over `ticks` ticks: child `k` (from 0) is
//!
//!   ```text
//!   c_k = ⌊Q (k + 1) / T⌋ − ⌊Q k / T⌋ lots,
//!   ```
//!
//!   so the children sum to exactly `Q` and differ by at most one lot.
//! - **Percentage of volume** at rate `participation = π`: child `k` is
//!   `min(R, max(1, ⌈π V⌉))` lots, `V` the market's traded volume (lots)
//!   in the previous tick and `R` what remains of the parent. The parent
//!   ends when filled or after `ticks` children, whichever is first.
//!
//! The arrival price is the mid (ticks) before the first child. The
//! parent's impact is then `ε (mid_T − mid_0) / mid_0`, `ε = +1` for a buy
//! programme and `−1` for a sell, `mid_T` the mid at the end of the tick
//! of the last child: the peak impact of the empirical square-root law
//! (Tóth et al. 2011), measured against `Q` by the replication
//! `sqrt_impact`. Children are sent at normal priority; a child that finds
//! too little depth is partly filled and logged so (`filled_lots`).

use crate::kind::PopulationKind;
use crate::{Agent, Population, check_market, install_once, spawn_agent};
use bevy_ecs::prelude::*;
use cascade_framework::accounts::ledger::{Ledger, MarginMode};
use cascade_framework::core::Clock;
use cascade_framework::core::units::round_to_i64;
use cascade_framework::exchange::sequencer::{OrderQueue, Priority};
use cascade_framework::market::Markets;
use cascade_framework::market::book::OrderKind;
use cascade_framework::record::{ChildOrder, ExecutionLog};
use cascade_framework::{Lots, MarketId, Micros, ParamError, Phase, Side, Simulation};
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// How a parent order is cut into children.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Schedule {
    /// Equal children over `ticks` ticks.
    Twap,
    /// A fixed share of the market's volume.
    Pov,
}

/// A population of execution agents, each with the same parent order.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct ExecutionParams {
    /// Population name.
    pub name: String,
    /// Number of agents.
    pub count: u32,
    /// Number of the first agent (see the other populations).
    #[serde(default, skip_serializing_if = "crate::is_zero")]
    pub first_index: u32,
    /// Market traded.
    pub market: MarketId,
    /// Buy or sell programme.
    pub side: Side,
    /// Size of the parent order `Q`, lots.
    pub quantity: i64,
    /// Tick of the first child.
    pub start_tick: u64,
    /// TWAP: the ticks `T` it is spread over; POV: the most children.
    pub ticks: u64,
    /// `twap` or `pov`.
    pub schedule: Schedule,
    /// POV: the share `π` of the previous tick's volume in each child.
    pub participation: f64,
    /// Collateral of each, micros.
    pub capital: Micros,
}

impl Default for ExecutionParams {
    fn default() -> ExecutionParams {
        ExecutionParams {
            name: "executions".into(),
            count: 1,
            first_index: 0,
            market: MarketId(0),
            side: Side::Sell,
            quantity: 1_000,
            start_tick: 100,
            ticks: 20,
            schedule: Schedule::Twap,
            participation: 0.1,
            capital: Micros(1_000_000_000_000_000),
        }
    }
}

/// The largest parent order, lots.
pub const MAX_QUANTITY: i64 = 1_000_000_000_000;

impl ExecutionParams {
    /// Checks the parameters.
    pub fn validate(&self) -> Result<(), ParamError> {
        if !(1..=MAX_QUANTITY).contains(&self.quantity) {
            return Err(ParamError::invalid("quantity", "must be between 1 and 10^12 lots"));
        }
        if !(1..=10_000_000).contains(&self.ticks) {
            return Err(ParamError::invalid("ticks", "must be between 1 and 10,000,000"));
        }
        if self.schedule == Schedule::Pov && !(self.participation > 0.0 && self.participation <= 1.0) {
            return Err(ParamError::invalid("participation", "must be a share above 0 and at most 1"));
        }
        if self.capital.0 < 0 {
            return Err(ParamError::invalid("capital", "must be non-negative"));
        }
        Ok(())
    }

    /// Child `k` of the TWAP schedule, lots (the module docs' `c_k`).
    pub fn twap_child(&self, k: u64) -> Lots {
        let (q, t, k) = (i128::from(self.quantity), i128::from(self.ticks), i128::from(k));
        // Q ≤ 10^12 and k + 1 ≤ T ≤ 10^7: the products fit i128, the
        // difference is at most ⌈Q/T⌉.
        Lots(i64::try_from(q * (k + 1) / t - q * k / t).expect("a child is at most the parent"))
    }

    /// Child `k` given what remains and last tick's market volume.
    pub fn child(&self, k: u64, remaining: i64, last_volume: i64) -> Lots {
        if k >= self.ticks || remaining <= 0 {
            return Lots(0);
        }
        match self.schedule {
            Schedule::Twap => Lots(self.twap_child(k).0.min(remaining)),
            Schedule::Pov => {
                let share = (self.participation * last_volume.max(0) as f64).ceil();
                let share = if share >= remaining as f64 { remaining } else { round_to_i64(share).max(1) };
                Lots(share.min(remaining))
            }
        }
    }
}

/// An execution agent's progress on its parent order.
#[derive(Component, Debug)]
pub struct Execution {
    params: Arc<ExecutionParams>,
    /// Children sent.
    pub sent: u64,
    /// Lots filled.
    pub filled: i64,
    /// The mid before the first child, ticks.
    pub arrival_mid: Option<f64>,
    /// The child in flight this tick: its lots and the position before it.
    pending: Option<(Lots, Lots)>,
    /// The market's volume last tick, lots.
    last_volume: i64,
}

impl PopulationKind for ExecutionParams {
    const KIND: &'static str = "execution";
    const ABOUT: &'static str = "Execution agents working a parent order in child orders.";

    fn check(&self) -> Result<(), ParamError> {
        self.validate()
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

impl Population for ExecutionParams {
    fn name(&self) -> &str {
        &self.name
    }

    fn install(&self, sim: &mut Simulation) -> Result<(), ParamError> {
        self.validate()?;
        check_market(sim, "market", self.market)?;
        install_once(sim, "execution", |sim| {
            sim.world_mut().init_resource::<ExecutionLog>();
            sim.add_systems(Phase::Decide, decide);
            sim.add_systems(Phase::Record, log_children);
        });
        let params = Arc::new(self.clone());
        for index in crate::indices(self.first_index, self.count) {
            let agent =
                spawn_agent(sim, &self.name, "execution", index, self.market, MarginMode::Cross, 1, self.capital);
            let state = Execution {
                params: params.clone(),
                sent: 0,
                filled: 0,
                arrival_mid: None,
                pending: None,
                last_volume: 0,
            };
            sim.world_mut().spawn((agent, state));
        }
        Ok(())
    }
}

fn mid(markets: &Markets, market: MarketId) -> Option<f64> {
    let m = markets.get(market);
    Some((m.best_bid()?.0 as f64 + m.best_ask()?.0 as f64) / 2.0)
}

fn decide(
    clock: Res<Clock>,
    ledger: Res<Ledger>,
    markets: Res<Markets>,
    mut queue: ResMut<OrderQueue>,
    mut agents: Query<(&Agent, &mut Execution)>,
) {
    for (agent, mut ex) in &mut agents {
        if clock.tick < ex.params.start_tick {
            continue;
        }
        let child = ex.params.child(ex.sent, ex.params.quantity - ex.filled, ex.last_volume);
        if child.0 == 0 {
            continue;
        }
        if ex.arrival_mid.is_none() {
            let Some(m) = mid(&markets, agent.market) else { continue };
            ex.arrival_mid = Some(m);
        }
        let before = ledger.account(agent.account).qty(agent.market);
        ex.pending = Some((child, before));
        queue.place(Priority::NORMAL, agent.account, agent.market, ex.params.side, child, OrderKind::Market);
    }
}

fn log_children(
    clock: Res<Clock>,
    ledger: Res<Ledger>,
    markets: Res<Markets>,
    mut log: ResMut<ExecutionLog>,
    mut agents: Query<(&Agent, &mut Execution)>,
) {
    for (agent, mut ex) in &mut agents {
        ex.last_volume = markets.get(agent.market).flow.volume.0;
        let Some((child, before)) = ex.pending.take() else { continue };
        let now = ledger.account(agent.account).qty(agent.market);
        let filled = (now.0 - before.0).abs().min(child.0);
        ex.filled += filled;
        ex.sent += 1;
        let m = markets.get(agent.market);
        log.rows.push(ChildOrder {
            tick: clock.tick,
            population: ex.params.name.clone(),
            agent_index: agent.id.index,
            market: m.params.name.clone(),
            side: ex.params.side,
            parent_lots: ex.params.quantity,
            child_lots: child.0,
            filled_lots: filled,
            cumulative_lots: ex.filled,
            arrival_mid: ex.arrival_mid.unwrap_or(f64::NAN),
            mid: mid(&markets, agent.market),
            last_trade: m.last_trade.map(|p| p.0),
            best_bid: m.best_bid().map(|p| p.0),
            best_ask: m.best_ask().map(|p| p.0),
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn twap_children_sum_to_the_parent_and_differ_by_at_most_one_lot() {
        let p = ExecutionParams { quantity: 10, ticks: 4, ..ExecutionParams::default() };
        let c: Vec<i64> = (0..4).map(|k| p.twap_child(k).0).collect();
        assert_eq!(c, vec![2, 3, 2, 3], "⌊10(k+1)/4⌋ − ⌊10k/4⌋");
        assert_eq!(p.child(4, 5, 0), Lots(0), "no child after T");
        let p = ExecutionParams { quantity: 3, ticks: 5, ..ExecutionParams::default() };
        let c: Vec<i64> = (0..5).map(|k| p.twap_child(k).0).collect();
        assert_eq!(c, vec![0, 1, 0, 1, 1]);
    }

    #[test]
    fn pov_children_follow_last_ticks_volume() {
        let p =
            ExecutionParams { schedule: Schedule::Pov, participation: 0.1, ticks: 100, ..ExecutionParams::default() };
        assert_eq!(p.child(0, 1_000, 250), Lots(25));
        assert_eq!(p.child(1, 1_000, 251), Lots(26), "rounded up");
        assert_eq!(p.child(2, 1_000, 0), Lots(1), "at least a lot");
        assert_eq!(p.child(3, 7, 250), Lots(7), "no more than remains");
        assert_eq!(p.child(100, 7, 250), Lots(0), "no child after the last");
    }
}
