//! Fundamental (value) traders: the floor that ends a cascade, and the
//! traders who carry news to a market whose liquidity does not know it.
//!
//! Trader `i` holds a belief `Ê = fundamental × (1 + ε_i)`,
//! `ε_i ~ N(0, estimate_noise²)`, drawn once from its stream, about the
//! value of the asset (the market's latent fundamental, which is the
//! index unless a propagator lets flow move the index away from it; a spot
//! venue's fundamental is the one of the market it follows), in the manner
//! of the fundamentalists of the Santa Fe and Thurner–Farmer–Geanakoplos
//! models. It trades against mispricing with a ladder of `levels` steps a
//! side around its belief:
//!
//! ```text
//! bid j  at  Ê × (1 − threshold × (j + 1)),  size_per_level lots     j = 0 .. levels − 1
//! ask j  at  Ê × (1 + threshold × (j + 1)),  size_per_level lots
//! ```
//!
//! **On a perpetual** the ladder rests in the book, laid again only when
//! the position has changed or `Ê` has moved by a tenth of a step (half a
//! step with `ladder: schedule`). With `ladder: refill` (the default) each
//! side holds what is left of the position limit `L` either way, from the
//! best step out; with `ladder: schedule` it holds the demand schedule of
//! a spot venue below, as resting orders. When the last trade `P` is back within `threshold / 2`
//! of `Ê`, it sells (or buys) half its position at market.
//!
//! **On a spot venue** a trader's orders are immediate-or-cancel, so the
//! ladder is a demand schedule: step `j` of the bids is bought, up to a
//! position of `min(L, size_per_level × (j + 1) + A)` lots (`A` is the
//! arrived capital below, 0 at first), once the best ask
//! is at or below its price; the asks likewise down to `−min(L, …)`. The
//! position is the base units held less `base_inventory`, so the size it
//! holds grows with the mispricing, one `size_per_level` per `threshold`,
//! and a trader with none of the asset cannot sell it. Near value (the mid
//! within `threshold / 2` of `Ê`) it trades half its position back at the
//! best quote. News thus reaches a spot venue through these traders: a
//! lower `Ê` makes their asks cross the bids, and they sell until the
//! price is within a step of their belief.
//!
//! **Slow-moving capital** (Duffie 2010). The limit starts at
//! `max_position`. While the trader's market is dislocated, its price more
//! than one `threshold` from `Ê`, `capital_arrival` lots of new capital
//! `A` arrive each tick, up to `max_arrived` lots in all, and stay: the
//! limit becomes `max_position + A`, and on a spot venue the new capital
//! is put to work from the first step: `min(L, size_per_level × (j + 1) +
//! A)` lots at step `j`. Capital comes to a dislocation over time, not
//! at once: the floor of a crash is where the capital already there
//! absorbs the forced flow, and the price returns to value as fast as new
//! capital arrives.
//!
//! Capital is the account's collateral; the exchange rejects quotes it
//! cannot margin, and a spot purchase is sized to the cash held.

use crate::kind::PopulationKind;
use crate::{Agent, Population, check_market, check_non_negative, install_once, spawn_agent};
use bevy_ecs::prelude::*;
use cascade_framework::accounts::ledger::{Ledger, MarginMode};
use cascade_framework::core::units::round_to_i64;
use cascade_framework::exchange::execute::fee;
use cascade_framework::exchange::sequencer::{OrderQueue, Priority};
use cascade_framework::market::MarketParams;
use cascade_framework::market::Markets;
use cascade_framework::market::book::OrderKind;
use cascade_framework::protocol::ProtocolParams;
use cascade_framework::record::FloorCapital;
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
    /// Largest position either way at the start, lots: the limit `L`.
    pub max_position: i64,
    /// Base units of the spot asset each holds at the start (a spot
    /// market only): what it can sell.
    #[serde(default, skip_serializing_if = "crate::is_default")]
    pub base_inventory: Lots,
    /// Slow-moving capital: lots of position limit that arrive per tick
    /// while the market is dislocated (more than one `threshold` from the
    /// belief); 0 (the default) keeps the limit at `max_position`.
    #[serde(default, skip_serializing_if = "crate::is_default")]
    pub capital_arrival: f64,
    /// The most lots of limit that arrive in all.
    #[serde(default, skip_serializing_if = "crate::is_default")]
    pub max_arrived: i64,
    /// How a perpetual trader's resting ladder is sized: `refill` (the
    /// default) rests what is left of the limit from the best step out, so
    /// the whole limit is offered one step from value; `schedule` rests
    /// only what each step of the demand schedule adds, so the size held
    /// grows with the mispricing, as on a spot venue.
    #[serde(default, skip_serializing_if = "crate::is_default")]
    pub ladder: Ladder,
}

/// How a value trader's resting ladder on a perpetual is sized.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Ladder {
    /// What is left of the limit, from the best step out.
    #[default]
    Refill,
    /// `min(L, size_per_level × (j + 1) + A)` lots held at step `j`.
    Schedule,
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
            base_inventory: Lots(0),
            capital_arrival: 0.0,
            max_arrived: 0,
            ladder: Ladder::Refill,
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
        if self.base_inventory.0 < 0 {
            return Err(ParamError::invalid("base_inventory", "must be non-negative"));
        }
        if !(self.capital_arrival.is_finite() && self.capital_arrival >= 0.0) {
            return Err(ParamError::invalid("capital_arrival", "must be a non-negative number of lots a tick"));
        }
        if !(0..=1_000_000_000_000).contains(&self.max_arrived) {
            return Err(ParamError::invalid("max_arrived", "must be between 0 and 10^12 lots"));
        }
        if self.max_position.checked_add(self.max_arrived).is_none_or(|l| l > 1_000_000_000_000) {
            return Err(ParamError::invalid("max_position", "max_position + max_arrived must be at most 10^12 lots"));
        }
        Ok(())
    }

    /// The price of step `j` of the bids (`sign` −1) or asks (+1) around
    /// belief `value`.
    fn step_price(&self, value: f64, j: u32, sign: f64) -> Price {
        Price(round_to_i64(value * (1.0 + sign * self.threshold * f64::from(j + 1))).max(1))
    }

    /// The position, on one side, that steps `0..=j` of the schedule call
    /// for: `min(L, size_per_level × (j + 1) + A)`.
    fn schedule_target(&self, j: u32, (limit, arrived): (i64, i64)) -> i64 {
        limit.min(self.size_per_level.saturating_mul(i64::from(j) + 1).saturating_add(arrived))
    }

    /// The orders of a perpetual trader with belief `value`, position
    /// `position`, limit `limit` and arrived capital `arrived` (lots) when
    /// the last trade is `price`: the unwind, if due, else the ladder.
    pub fn orders(
        &self,
        value: f64,
        price: Price,
        position: Lots,
        (limit, arrived): (i64, i64),
    ) -> Vec<(Side, Lots, OrderKind)> {
        let m = (value - price.0 as f64) / value;
        if m.abs() <= self.threshold / 2.0 && position.0 != 0 {
            let lots = (position.0.abs() + 1) / 2;
            let side = if position.0 > 0 { Side::Sell } else { Side::Buy };
            return vec![(side, Lots(lots), OrderKind::Market)];
        }
        let mut out = Vec::new();
        let step = |j: u32, sign: f64| OrderKind::Limit { price: self.step_price(value, j, sign) };
        for (side, sign, have) in [(Side::Buy, -1.0, position.0), (Side::Sell, 1.0, -position.0)] {
            match self.ladder {
                Ladder::Refill => {
                    let mut room = limit - have.max(0);
                    for j in 0..self.levels {
                        let lots = self.size_per_level.min(room);
                        if lots <= 0 {
                            break;
                        }
                        room -= lots;
                        out.push((side, Lots(lots), step(j, sign)));
                    }
                }
                Ladder::Schedule => {
                    let mut covered = have;
                    for j in 0..self.levels {
                        let target = self.schedule_target(j, (limit, arrived));
                        if target > covered {
                            out.push((side, Lots(target - covered), step(j, sign)));
                            covered = target;
                        }
                    }
                }
            }
        }
        out
    }

    /// The immediate-or-cancel orders of a spot trader with belief `value`,
    /// position `position` (base units held less `base_inventory`), limit
    /// `limit` and arrived capital `arrived` (lots), facing the best quotes `quotes`, holding `held` base
    /// units and `cash` micros, where one lot at price `p` costs
    /// `lot_cost(p)` micros with the fee: the unwind, if due, else the
    /// steps of the schedule that the quotes cross (module docs).
    pub fn spot_orders(
        &self,
        value: f64,
        quotes: (Option<Price>, Option<Price>),
        position: i64,
        (limit, arrived): (i64, i64),
        (held, cash): (i64, i64),
        lot_cost: impl Fn(Price) -> i64,
    ) -> Vec<(Side, Lots, OrderKind)> {
        let (bid, ask) = quotes;
        if let (Some(b), Some(a)) = (bid, ask) {
            let mid = (b.0 + a.0) as f64 / 2.0;
            if ((value - mid) / value).abs() <= self.threshold / 2.0 && position != 0 {
                let lots = (position.abs() + 1) / 2;
                return vec![if position > 0 {
                    (Side::Sell, Lots(lots.min(held)), OrderKind::Ioc { price: b })
                } else {
                    let afford = cash / lot_cost(a).max(1);
                    (Side::Buy, Lots(lots.min(afford)), OrderKind::Ioc { price: a })
                }]
                .into_iter()
                .filter(|o| o.1.0 > 0)
                .collect();
            }
        }
        let mut out = Vec::new();
        let wanted = |j: u32| self.schedule_target(j, (limit, arrived));
        if let Some(a) = ask {
            let (mut have, mut cash) = (position, cash);
            for j in 0..self.levels {
                let price = self.step_price(value, j, -1.0);
                if price < a {
                    break;
                }
                let lots = (wanted(j) - have).min(cash / lot_cost(price).max(1));
                if lots > 0 {
                    out.push((Side::Buy, Lots(lots), OrderKind::Ioc { price }));
                    have += lots;
                    cash -= lots * lot_cost(price);
                }
            }
        }
        if let Some(b) = bid {
            let (mut have, mut held) = (-position, held);
            for j in 0..self.levels {
                let price = self.step_price(value, j, 1.0);
                if price > b {
                    break;
                }
                let lots = (wanted(j) - have).min(held);
                if lots > 0 {
                    out.push((Side::Sell, Lots(lots), OrderKind::Ioc { price }));
                    have += lots;
                    held -= lots;
                }
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
    /// Value, position and limit its resting ladder was laid for.
    quoted: Option<(f64, Lots, i64)>,
    /// Lots of limit that slow-moving capital has brought so far.
    arrived: f64,
}

impl PopulationKind for FundamentalParams {
    const KIND: &'static str = "fundamental";
    const ABOUT: &'static str = "Fundamental (value) traders.";

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

    fn base_inventory(&self) -> i64 {
        self.base_inventory.0
    }

    fn fits(&self, markets: &[MarketParams], _: &ProtocolParams) -> Result<(), ParamError> {
        if self.base_inventory.0 > 0 && markets.get(self.market.idx()).is_some_and(|m| m.spot.is_none()) {
            return Err(ParamError::invalid(
                "base_inventory",
                format!(
                    "market {} is a perpetual: only a value trader on a spot market holds base units",
                    self.market.0
                ),
            ));
        }
        Ok(())
    }
}

impl Population for FundamentalParams {
    fn name(&self) -> &str {
        &self.name
    }

    fn install(&self, sim: &mut Simulation) -> Result<(), ParamError> {
        self.validate()?;
        check_market(sim, "market", self.market)?;
        let spot = sim.markets().get(self.market).is_spot();
        if !spot && self.base_inventory.0 > 0 {
            return Err(ParamError::invalid("base_inventory", "only a trader on a spot market holds base units"));
        }
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
            if spot {
                sim.deposit_base(agent.account, self.market, self.base_inventory)?;
            }
            sim.world_mut()
                .spawn((agent, FundamentalTrader { error, params: params.clone(), quoted: None, arrived: 0.0 }));
        }
        Ok(())
    }
}

fn decide(
    markets: Res<Markets>,
    ledger: Res<Ledger>,
    mut queue: ResMut<OrderQueue>,
    mut floor: ResMut<FloorCapital>,
    mut traders: Query<(&Agent, &mut FundamentalTrader)>,
) {
    for (agent, mut t) in &mut traders {
        let FundamentalTrader { error, params: p, quoted, arrived: came } = &mut *t;
        let m = markets.get(agent.market);
        let value = m.view.fundamental.0 as f64 * (1.0 + *error);
        let price = m.last_trade.unwrap_or(m.view.mark);
        if ((value - price.0 as f64) / value).abs() > p.threshold {
            *came = (*came + p.capital_arrival).min(p.max_arrived as f64);
        }
        // At most max_arrived ≤ 10^12 lots (validated).
        let arrived = round_to_i64(came.floor());
        let limit = p.max_position + arrived;
        if let Some(asset) = m.asset {
            let held = ledger.held(agent.account, asset).0;
            let cash = ledger.account(agent.account).collateral.0;
            let taker = m.params.fees.taker;
            let lot_cost = |at: Price| {
                let cost = m.notional(Lots(1), at);
                cost.0.saturating_add(fee(cost, taker).0)
            };
            let quotes = (m.best_bid(), m.best_ask());
            let position = held - p.base_inventory.0;
            floor.value.add(position, limit);
            for (side, lots, kind) in p.spot_orders(value, quotes, position, (limit, arrived), (held, cash), lot_cost) {
                queue.place(Priority::NORMAL, agent.account, agent.market, side, lots, kind);
            }
            continue;
        }
        let position = ledger.account(agent.account).qty(agent.market);
        floor.value.add(position.0, limit);
        let orders = p.orders(value, price, position, (limit, arrived));
        let unwinding = orders.first().is_some_and(|(_, _, kind)| *kind == OrderKind::Market);
        // A resting ladder stays while the position and limit are unchanged
        // and its value is within a tenth of a step (a refill ladder) or
        // half a step (a schedule, whose steps are finer).
        let tolerance = match p.ladder {
            Ladder::Refill => 0.1,
            Ladder::Schedule => 0.5,
        } * p.threshold;
        let near = quoted.filter(|(v, _, _)| (v - value).abs() <= tolerance * value);
        if near.is_some_and(|(_, q, l)| q == position && l == limit) && !unwinding {
            continue;
        }
        if let Some((v, _, _)) = near
            && p.ladder == Ladder::Schedule
            && !unwinding
            && let Some(adds) = top_ups(&p.orders(v, price, position, (limit, arrived)), &m.book, agent.account)
        {
            // A fill leaves the schedule's other steps as they were: what
            // the new position calls for is only more at some steps.
            for (side, lots, kind) in adds {
                queue.place(Priority::NORMAL, agent.account, agent.market, side, lots, kind);
            }
            *quoted = Some((v, position, limit));
            continue;
        }
        queue.cancel_all(Priority::NORMAL, agent.account, agent.market);
        for (side, lots, kind) in orders {
            queue.place(Priority::NORMAL, agent.account, agent.market, side, lots, kind);
        }
        *quoted = (!unwinding).then_some((value, position, limit));
    }
}

/// The orders that turn what `account` rests in `book` into the ladder
/// `want` (limit orders at distinct prices) by adding only; `None` when
/// some of what rests is not wanted, and the ladder must be laid again.
fn top_ups(
    want: &[(Side, Lots, OrderKind)],
    book: &cascade_framework::market::book::Book,
    account: cascade_framework::AccountId,
) -> Option<Vec<(Side, Lots, OrderKind)>> {
    let mut adds = Vec::new();
    let mut matched = 0;
    for &(side, lots, kind) in want {
        let OrderKind::Limit { price } = kind else { return None };
        let resting = book.resting_at(account, side, price);
        if resting > lots {
            return None;
        }
        if resting.0 > 0 {
            matched += 1;
        }
        if resting < lots {
            adds.push((side, Lots(lots.0 - resting.0), kind));
        }
    }
    // Every resting order sits at a wanted price, one order a step: the
    // ladder was laid one order a step and a fill only shrinks an order.
    (book.n_orders_of(account) == matched).then_some(adds)
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
            p.orders(10_000.0, Price(10_000), Lots(0), (250, 0)),
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
        let o = p.orders(10_000.0, Price(9_800), Lots(200), (250, 0));
        assert_eq!(o[0], (Side::Buy, Lots(50), limit(9_900)));
        // Back within half a threshold of value: sell half at market.
        assert_eq!(
            p.orders(10_000.0, Price(9_960), Lots(200), (250, 0)),
            vec![(Side::Sell, Lots(100), OrderKind::Market)]
        );
    }

    #[test]
    fn a_schedule_ladder_rests_what_each_step_adds() {
        let p = FundamentalParams {
            levels: 3,
            size_per_level: 100,
            threshold: 0.01,
            ladder: Ladder::Schedule,
            ..FundamentalParams::preset("f", 1)
        };
        let limit = |x| OrderKind::Limit { price: Price(x) };
        // Long 150 after a fall: steps 0 and half of 1 are held; 50 more
        // at step 1 and 100 at step 2 (limit 300); the asks rest from the
        // position down to −100, −200 and −300.
        assert_eq!(
            p.orders(10_000.0, Price(9_850), Lots(150), (300, 0)),
            vec![
                (Side::Buy, Lots(50), limit(9_800)),
                (Side::Buy, Lots(100), limit(9_700)),
                (Side::Sell, Lots(250), limit(10_100)),
                (Side::Sell, Lots(100), limit(10_200)),
                (Side::Sell, Lots(100), limit(10_300)),
            ]
        );
    }

    #[test]
    fn a_spot_trader_takes_the_steps_the_quotes_cross() {
        let p =
            FundamentalParams { levels: 3, size_per_level: 100, threshold: 0.01, ..FundamentalParams::preset("f", 1) };
        let ioc = |x| OrderKind::Ioc { price: Price(x) };
        let cost = |_: Price| 10;
        // The ask at 9,850 crosses step 0 (9,900) only: buy 100 there.
        let o = p.spot_orders(10_000.0, (Some(Price(9_800)), Some(Price(9_850))), 0, (250, 0), (0, 1_000_000), cost);
        assert_eq!(o, vec![(Side::Buy, Lots(100), ioc(9_900))]);
        // At 9,700 all three steps cross; 100 are held, the limit is 250.
        let o = p.spot_orders(10_000.0, (Some(Price(9_690)), Some(Price(9_700))), 100, (250, 0), (0, 1_000_000), cost);
        assert_eq!(o, vec![(Side::Buy, Lots(100), ioc(9_800)), (Side::Buy, Lots(50), ioc(9_700))]);
        // Cash for 30 lots only.
        let o = p.spot_orders(10_000.0, (Some(Price(9_690)), Some(Price(9_700))), 0, (250, 0), (0, 300), cost);
        assert_eq!(o, vec![(Side::Buy, Lots(30), ioc(9_900))]);
        // News: value 9,000 against bids at 9,950; sells are capped by the
        // 120 base units held.
        let o = p.spot_orders(9_000.0, (Some(Price(9_950)), Some(Price(9_960))), 0, (250, 0), (120, 0), cost);
        assert_eq!(o, vec![(Side::Sell, Lots(100), ioc(9_090)), (Side::Sell, Lots(20), ioc(9_180))]);
        // Near value with a long position: half of it back at the bid.
        let o = p.spot_orders(10_000.0, (Some(Price(9_990)), Some(Price(10_000))), 200, (250, 0), (500, 0), cost);
        assert_eq!(o, vec![(Side::Sell, Lots(100), ioc(9_990))]);
        // 60 lots of new capital: wanted from the first step on, and the
        // limit is 310.
        let o = p.spot_orders(10_000.0, (Some(Price(9_690)), Some(Price(9_700))), 0, (310, 60), (0, 1_000_000), cost);
        assert_eq!(
            o,
            vec![
                (Side::Buy, Lots(160), ioc(9_900)),
                (Side::Buy, Lots(100), ioc(9_800)),
                (Side::Buy, Lots(50), ioc(9_700))
            ]
        );
    }
}
