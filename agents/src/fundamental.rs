//! Fundamental (value) traders: the floor that ends a cascade.
//!
//! Trader `i` holds a belief `Ê = fundamental × (1 + ε_i)`,
//! `ε_i ~ N(0, estimate_noise²)`, drawn once from its stream, about the
//! value of the contract (the market's latent fundamental, which is the
//! index unless a propagator lets flow move the index away from it), and stands ready to trade against mispricing with
//! a resting ladder of `levels` bids and asks:
//!
//! ```text
//! bid j  at  Ê × (1 − threshold × (j + 1)),  size_per_level lots     j = 0 .. levels − 1
//! ask j  at  Ê × (1 + threshold × (j + 1)),  size_per_level lots
//! ```
//!
//! so the size it buys grows with the mispricing `(Ê − P) / Ê`: one
//! `size_per_level` per `threshold` of it. The ladder is laid again only
//! when `Ê` has moved by a tenth of a step or the position has changed. The ladder stops where the
//! position would pass `max_position` lots either way. When the last trade
//! `P` is back within `threshold / 2` of `Ê`, it sells (or buys) half its
//! position at market. Resting bids below value are what absorbs forced
//! selling in a crash: they are the floor.
//!
//! Capital is the account's collateral; the exchange rejects quotes it
//! cannot margin.

use crate::{Agent, Population, check_market, check_non_negative, install_once, spawn_agent};
use bevy_ecs::prelude::*;
use cascade_framework::accounts::ledger::{Ledger, MarginMode};
use cascade_framework::core::units::round_to_i64;
use cascade_framework::exchange::sequencer::{OrderQueue, Priority};
use cascade_framework::market::Markets;
use cascade_framework::market::book::OrderKind;
use cascade_framework::{Lots, MarketId, Micros, ParamError, Phase, Price, Side, Simulation};
use rand_distr::{Distribution, Normal};
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// A population of fundamental traders.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct FundamentalParams {
    /// Population name.
    pub name: String,
    /// Number of traders.
    pub count: u32,
    /// Number of the first agent: the agents are numbered from it, and each
    /// agent's random stream is keyed by its number. A game sets it so that
    /// a role's players keep their streams whatever strategy they play.
    #[serde(default, skip_serializing_if = "crate::is_zero")]
    pub first_index: u32,
    /// Market traded.
    #[serde(default)]
    pub market: MarketId,
    /// Collateral of each trader, micros.
    pub capital: Micros,
    /// Standard deviation of a trader's error about the index (fraction).
    pub estimate_noise: f64,
    /// Mispricing per ladder step (fraction), in (0, 0.1).
    pub threshold: f64,
    /// Ladder steps per side.
    pub levels: u32,
    /// Lots per ladder step.
    pub size_per_level: i64,
    /// Largest position, lots.
    pub max_position: i64,
}

impl Default for FundamentalParams {
    fn default() -> FundamentalParams {
        FundamentalParams::preset("value", 20)
    }
}

impl FundamentalParams {
    /// Value traders for the BTC-like preset.
    pub fn preset(name: &str, count: u32) -> FundamentalParams {
        FundamentalParams {
            name: name.to_owned(),
            count,
            first_index: 0,
            market: MarketId(0),
            capital: Micros(2_000_000_000_000),
            estimate_noise: 0.002,
            threshold: 0.005,
            levels: 6,
            size_per_level: 300,
            max_position: 4_000,
        }
    }

    /// Checks the parameters.
    pub fn validate(&self) -> Result<(), ParamError> {
        check_non_negative("estimate_noise", self.estimate_noise)?;
        if !(self.threshold.is_finite() && self.threshold > 0.0 && self.threshold < 0.1) {
            return Err(ParamError::invalid("threshold", "must be in (0, 0.1)"));
        }
        if self.size_per_level < 0 || self.max_position < 0 || self.capital.0 < 0 {
            return Err(ParamError::invalid("max_position", "sizes and capital must be non-negative"));
        }
        Ok(())
    }

    /// The orders of a trader with belief `value` and position `position`
    /// when the last trade is `price`: the unwind, if due, else the ladder.
    pub fn orders(&self, value: f64, price: Price, position: Lots) -> Vec<(Side, Lots, OrderKind)> {
        let m = (value - price.0 as f64) / value;
        if m.abs() <= self.threshold / 2.0 && position.0 != 0 {
            let lots = (position.0.abs() + 1) / 2;
            let side = if position.0 > 0 { Side::Sell } else { Side::Buy };
            return vec![(side, Lots(lots), OrderKind::Market)];
        }
        let mut out = Vec::new();
        for (side, sign, room) in [
            (Side::Buy, -1.0, self.max_position - position.0.max(0)),
            (Side::Sell, 1.0, self.max_position + position.0.min(0)),
        ] {
            let mut room = room;
            for j in 0..self.levels {
                let lots = self.size_per_level.min(room);
                if lots <= 0 {
                    break;
                }
                room -= lots;
                let p = value * (1.0 + sign * self.threshold * f64::from(j + 1));
                out.push((side, Lots(lots), OrderKind::Limit { price: Price(round_to_i64(p).max(1)) }));
            }
        }
        out
    }
}

/// A fundamental trader.
#[derive(Component, Debug)]
pub struct FundamentalTrader {
    /// Belief about value relative to the index (fraction).
    pub error: f64,
    params: Arc<FundamentalParams>,
    /// Value and position its resting ladder was laid for.
    quoted: Option<(f64, Lots)>,
}

impl Population for FundamentalParams {
    fn name(&self) -> &str {
        &self.name
    }

    fn install(&self, sim: &mut Simulation) -> Result<(), ParamError> {
        self.validate()?;
        check_market(sim, "market", self.market)?;
        install_once(sim, "fundamental", |sim| {
            sim.add_systems(Phase::Decide, decide);
        });
        let params = Arc::new(self.clone());
        let noise =
            Normal::new(0.0, self.estimate_noise).map_err(|e| ParamError::invalid("estimate_noise", e.to_string()))?;
        for index in crate::indices(self.first_index, self.count) {
            let mut agent =
                spawn_agent(sim, &self.name, "value", index, self.market, MarginMode::Cross, 1, self.capital);
            let error = noise.sample(&mut agent.rng);
            sim.world_mut().spawn((agent, FundamentalTrader { error, params: params.clone(), quoted: None }));
        }
        Ok(())
    }
}

fn decide(
    markets: Res<Markets>,
    ledger: Res<Ledger>,
    mut queue: ResMut<OrderQueue>,
    mut traders: Query<(&Agent, &mut FundamentalTrader)>,
) {
    for (agent, mut t) in &mut traders {
        let m = markets.get(agent.market);
        let value = m.view.fundamental.0 as f64 * (1.0 + t.error);
        let price = m.last_trade.unwrap_or(m.view.mark);
        let position = ledger.account(agent.account).qty(agent.market);
        let orders = t.params.orders(value, price, position);
        let unwinding = orders.first().is_some_and(|(_, _, kind)| *kind == OrderKind::Market);
        // A resting ladder stays while its value is within a tenth of a
        // step and the position is unchanged.
        let fresh =
            t.quoted.is_some_and(|(v, q)| q == position && (v - value).abs() <= 0.1 * t.params.threshold * value);
        if fresh && !unwinding {
            continue;
        }
        queue.cancel_all(Priority::NORMAL, agent.account, agent.market);
        for (side, lots, kind) in orders {
            queue.place(Priority::NORMAL, agent.account, agent.market, side, lots, kind);
        }
        t.quoted = (!unwinding).then_some((value, position));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotes_a_ladder_sized_by_mispricing_and_unwinds_near_value() {
        let p = FundamentalParams {
            levels: 3,
            size_per_level: 100,
            max_position: 250,
            threshold: 0.01,
            ..FundamentalParams::preset("f", 1)
        };
        let limit = |x| OrderKind::Limit { price: Price(x) };
        assert_eq!(
            p.orders(10_000.0, Price(10_000), Lots(0)),
            vec![
                (Side::Buy, Lots(100), limit(9_900)),
                (Side::Buy, Lots(100), limit(9_800)),
                (Side::Buy, Lots(50), limit(9_700)),
                (Side::Sell, Lots(100), limit(10_100)),
                (Side::Sell, Lots(100), limit(10_200)),
                (Side::Sell, Lots(50), limit(10_300)),
            ]
        );
        // Long 200 after buying a crash: little room left to buy.
        let o = p.orders(10_000.0, Price(9_800), Lots(200));
        assert_eq!(o[0], (Side::Buy, Lots(50), limit(9_900)));
        // Back within half a threshold of value: sell half at market.
        assert_eq!(p.orders(10_000.0, Price(9_960), Lots(200)), vec![(Side::Sell, Lots(100), OrderKind::Market)]);
    }
}
