//! Strategic predators, after Brunnermeier and Pedersen (2005),
//! "Predatory trading", Journal of Finance 60(4): traders who know of a
//! distressed seller, and of each other, sell with it and buy back after.
//!
//! All `N` predators of a population know `N`, and each sees the forced
//! flow of the tick: `F` long lots (and `F'` short lots) that the
//! liquidation preview says will be force-closed in its market. They share
//! the predation as Cournot competitors facing a linear price impact do:
//! each trades
//!
//! ```text
//! q = ⌊F / (N + 1)⌋ lots  (sold ahead of forced long sales; bought ahead of forced short covers)
//! ```
//!
//! at market with the latency edge `Priority::FAST`, within `±max_position`
//! lots. Their total, `N F / (N + 1)`, grows with `N` but stays below `F`:
//! the predatory flow is shared, not multiplied, and each one's share, and
//! so its profit, falls as more compete. Once no forced flow has been seen
//! for `patience` ticks, each buys (or sells) back towards a flat position,
//! at most `buyback_lots` a tick, at market with normal priority: after the
//! distressed selling, as in the paper, when the price has overshot.
//!
//! Capital is the account's collateral; PnL and inventory are in
//! `agents.parquet`.

use crate::kind::PopulationKind;
use crate::{Agent, Population, check_market, install_once, spawn_agent};
use bevy_ecs::prelude::*;
use cascade_framework::accounts::ledger::{Ledger, MarginMode};
use cascade_framework::exchange::sequencer::{OrderQueue, Priority};
use cascade_framework::market::book::OrderKind;
use cascade_framework::protocol::LiquidationPreview;
use cascade_framework::{Lots, MarketId, Micros, ParamError, Phase, Side, Simulation};
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// A population of strategic predators.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct StrategicParams {
    /// Population name.
    pub name: String,
    /// Number of predators, `N`: each knows it.
    pub count: u32,
    /// Number of the first agent: the agents are numbered from it, and each
    /// agent's random stream is keyed by its number. A game sets it so that
    /// a role's players keep their streams whatever strategy they play.
    #[serde(default, skip_serializing_if = "crate::is_zero")]
    pub first_index: u32,
    /// Market traded.
    pub market: MarketId,
    /// Collateral of each, micros.
    pub capital: Micros,
    /// Largest position either way, lots.
    pub max_position: i64,
    /// Ticks without forced flow before buying back.
    pub patience: u64,
    /// Most lots bought (or sold) back a tick.
    pub buyback_lots: i64,
}

impl Default for StrategicParams {
    fn default() -> StrategicParams {
        StrategicParams {
            name: "strategic_predators".into(),
            count: 2,
            first_index: 0,
            market: MarketId(0),
            capital: Micros(5_000_000_000_000),
            max_position: 5_000,
            patience: 5,
            buyback_lots: 200,
        }
    }
}

impl StrategicParams {
    /// Checks the parameters.
    pub fn validate(&self) -> Result<(), ParamError> {
        if self.capital.0 < 0 {
            return Err(ParamError::invalid("capital", "must be non-negative"));
        }
        if self.max_position < 0 {
            return Err(ParamError::invalid("max_position", "must be non-negative"));
        }
        if self.buyback_lots < 1 {
            return Err(ParamError::invalid("buyback_lots", "must be at least 1"));
        }
        Ok(())
    }
}

/// What a predator does this tick: a market order of `lots` on `side`,
/// with the latency edge or not.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Action {
    /// Buy or sell.
    pub side: Side,
    /// Lots.
    pub lots: Lots,
    /// Whether it trades ahead of the forced flow (`Priority::FAST`).
    pub fast: bool,
}

/// The rule of the module docs: `forced` is this tick's (long, short)
/// forced lots, `position` the predator's, `quiet` the ticks since it last
/// saw forced flow (this one included when there is none).
pub fn act(p: &StrategicParams, forced: (Lots, Lots), position: Lots, quiet: u64) -> Option<Action> {
    let share = |f: i64| f / (i64::from(p.count) + 1);
    let (long, short) = (share(forced.0.0), share(forced.1.0));
    if long > 0 {
        let room = (p.max_position + position.0).max(0);
        return (room > 0).then(|| Action { side: Side::Sell, lots: Lots(long.min(room)), fast: true });
    }
    if short > 0 {
        let room = (p.max_position - position.0).max(0);
        return (room > 0).then(|| Action { side: Side::Buy, lots: Lots(short.min(room)), fast: true });
    }
    if position.0 != 0 && quiet >= p.patience {
        let side = if position.0 < 0 { Side::Buy } else { Side::Sell };
        return Some(Action { side, lots: Lots(position.0.abs().min(p.buyback_lots)), fast: false });
    }
    None
}

/// A strategic predator's state.
#[derive(Component, Debug)]
pub struct StrategicPredator {
    params: Arc<StrategicParams>,
    /// Ticks since it last saw forced flow.
    pub quiet: u64,
}

impl PopulationKind for StrategicParams {
    const KIND: &'static str = "strategic_predator";
    const ABOUT: &'static str = "Strategic predators who share the forced flow (Brunnermeier and Pedersen 2005).";

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

impl Population for StrategicParams {
    fn name(&self) -> &str {
        &self.name
    }

    fn install(&self, sim: &mut Simulation) -> Result<(), ParamError> {
        self.validate()?;
        check_market(sim, "market", self.market)?;
        install_once(sim, "strategic_predator", |sim| {
            sim.add_systems(Phase::Decide, decide);
        });
        LiquidationPreview::request(sim.world_mut());
        let params = Arc::new(self.clone());
        for index in crate::indices(self.first_index, self.count) {
            let agent =
                spawn_agent(sim, &self.name, "strategic", index, self.market, MarginMode::Cross, 1, self.capital);
            sim.world_mut().spawn((agent, StrategicPredator { params: params.clone(), quiet: 0 }));
        }
        Ok(())
    }
}

fn decide(
    ledger: Res<Ledger>,
    preview: Res<LiquidationPreview>,
    mut queue: ResMut<OrderQueue>,
    mut predators: Query<(&Agent, &mut StrategicPredator)>,
) {
    for (agent, mut pred) in &mut predators {
        let forced = preview.lots.get(agent.market.idx()).copied().unwrap_or((Lots(0), Lots(0)));
        pred.quiet = if forced.0.0 > 0 || forced.1.0 > 0 { 0 } else { pred.quiet.saturating_add(1) };
        let position = ledger.account(agent.account).qty(agent.market);
        if let Some(a) = act(&pred.params, forced, position, pred.quiet) {
            let priority = if a.fast { Priority::FAST } else { Priority::NORMAL };
            queue.place(priority, agent.account, agent.market, a.side, a.lots, OrderKind::Market);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(count: u32) -> StrategicParams {
        StrategicParams { count, max_position: 100, patience: 3, buyback_lots: 40, ..StrategicParams::default() }
    }

    #[test]
    fn each_of_n_predators_sells_its_cournot_share_ahead_of_the_forced_flow() {
        let sell = |n: u32, f: i64| act(&params(n), (Lots(f), Lots(0)), Lots(0), 0);
        // 90 forced lots: one predator sells 45, two sell 30 each (60 in
        // all), eight 10 each (80): the total grows with N, below 90.
        assert_eq!(sell(1, 90), Some(Action { side: Side::Sell, lots: Lots(45), fast: true }));
        assert_eq!(sell(2, 90).map(|a| a.lots), Some(Lots(30)));
        assert_eq!(sell(8, 90).map(|a| a.lots), Some(Lots(10)));
        // A share below one lot is nothing.
        assert_eq!(sell(8, 8), None);
        // Forced short covers are bought ahead of.
        let buy = act(&params(2), (Lots(0), Lots(60)), Lots(0), 0);
        assert_eq!(buy, Some(Action { side: Side::Buy, lots: Lots(20), fast: true }));
    }

    #[test]
    fn the_position_limit_caps_the_predation() {
        // Short 90 of 100 already: 10 more.
        assert_eq!(act(&params(1), (Lots(90), Lots(0)), Lots(-90), 0).map(|a| a.lots), Some(Lots(10)));
        assert_eq!(act(&params(1), (Lots(90), Lots(0)), Lots(-100), 0), None);
    }

    #[test]
    fn it_buys_back_after_patience_quiet_ticks_at_most_buyback_lots_a_tick() {
        let p = params(2);
        assert_eq!(act(&p, (Lots(0), Lots(0)), Lots(-90), 2), None, "still waiting");
        assert_eq!(
            act(&p, (Lots(0), Lots(0)), Lots(-90), 3),
            Some(Action { side: Side::Buy, lots: Lots(40), fast: false })
        );
        assert_eq!(act(&p, (Lots(0), Lots(0)), Lots(-10), 4).map(|a| a.lots), Some(Lots(10)));
        assert_eq!(act(&p, (Lots(0), Lots(0)), Lots(0), 9), None, "flat");
    }
}
