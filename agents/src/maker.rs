//! Market makers: quote a depth profile around the mark, skewed by
//! inventory, and pull back under stress.
//!
//! Every `requote_ticks` ticks a maker cancels its quotes and, unless it
//! withdraws, lays `levels` bids and asks. With `σ` the realised volatility
//! of the mark (standard deviation of per-tick log returns over the market's
//! window), `s = σ / vol_ref` the stress, `I` the inventory (lots, signed)
//! and `Ī = inventory_limit` (lots):
//!
//! ```text
//! centre      = mark − skew_ticks_per_lot × I                      (ticks)
//! half spread = half_spread_ticks × (1 + widen × s)                (ticks)
//! level k     = centre ∓ (half spread + k × spacing_ticks)         (ticks)
//! size        = lots_per_level × max(0, 1 − pull × s)
//!                              × max(0, 1 − |I| / Ī)  on the side that adds to |I|
//! ```
//!
//! rounded to whole lots (levels of zero lots are not placed). The maker
//! withdraws entirely (quotes nothing) when `s ≥ withdraw_at` or
//! `|I| ≥ Ī`, except that it keeps quoting the side that reduces its
//! inventory. A maker with `react = false` ignores `σ`: its spread and
//! size stay at their base values whatever happens. Capital is the
//! account's collateral; the exchange rejects quotes it cannot margin.
//!
//! **Hedging on spot.** With `hedge: { spot, ratio, base_inventory,
//! slippage, band, max_lots }` a maker also holds `base_inventory` base units of that spot
//! venue's asset and, each tick, trades spot towards a hedge of `−ratio × I`
//! (one perp lot against one base unit):
//!
//! ```text
//! h      = held base units − base_inventory           (the hedge now)
//! target = −round(ratio × I)
//! Δ      = target − h    → when |Δ| > band: sell or buy min(|Δ|, max_lots),
//!                          immediate-or-cancel, at worst best bid × (1 − slippage)
//!                          or best ask × (1 + slippage)
//! ```
//!
//! capped by the base units held (a sale) and the cash (the exchange
//! rejects a purchase it cannot fund). The band and the rate limit keep the
//! loop stable: a maker that hedged everything at once on a thin spot book
//! would move the index by more than the perp flow that caused it, and the
//! perp, the index and the hedge would oscillate. This is the channel by
//! which a maker that absorbs forced perp sales passes them on to spot, and
//! so to an oracle index built on that venue.

use crate::kind::PopulationKind;
use crate::{Agent, Population, check_market, check_non_negative, install_once, spawn_agent};
use bevy_ecs::prelude::*;
use cascade_framework::accounts::ledger::{Ledger, MarginMode};
use cascade_framework::core::Clock;
use cascade_framework::core::units::round_to_i64;
use cascade_framework::exchange::sequencer::{OrderQueue, Priority};
use cascade_framework::market::Markets;
use cascade_framework::market::book::OrderKind;
use cascade_framework::record::FloorCapital;
use cascade_framework::{Lots, MarketId, Micros, ParamError, Phase, Price, Side, Simulation};
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// A population of market makers.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct MakerParams {
    /// Population name.
    pub name: String,
    /// Number of makers.
    pub count: u32,
    /// Number of the first agent: the agents are numbered from it, and each
    /// agent's random stream is keyed by its number. A game sets it so that
    /// a role's players keep their streams whatever strategy they play.
    #[serde(default, skip_serializing_if = "crate::is_zero")]
    pub first_index: u32,
    /// Market quoted.
    #[serde(default)]
    pub market: MarketId,
    /// Collateral of each maker, micros.
    pub capital: Micros,
    /// Levels per side.
    pub levels: u32,
    /// Ticks between levels, at least 1.
    pub spacing_ticks: i64,
    /// Base half spread, ticks, at least 1.
    pub half_spread_ticks: i64,
    /// Base size per level, lots.
    pub lots_per_level: i64,
    /// Centre shift per lot of inventory, ticks.
    pub skew_ticks_per_lot: f64,
    /// Inventory at which the maker stops adding, lots.
    pub inventory_limit: i64,
    /// Whether the maker reacts to volatility.
    pub react: bool,
    /// Volatility (per-tick log-return stdev) that counts as stress 1.
    pub vol_ref: f64,
    /// Spread widening per unit of stress.
    pub widen: f64,
    /// Depth pulled per unit of stress (fraction).
    pub pull: f64,
    /// Stress at which the maker withdraws.
    pub withdraw_at: f64,
    /// Ticks between requotes, at least 1.
    pub requote_ticks: u64,
    /// Hedge the perp inventory on a spot venue (off when absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hedge: Option<Hedge>,
}

/// How a maker hedges its perp inventory on spot.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Hedge {
    /// The spot venue.
    pub spot: MarketId,
    /// Fraction of the perp inventory hedged, in [0, 1].
    #[serde(default = "one")]
    pub ratio: f64,
    /// Base units each maker holds at the start (what a hedge of a long
    /// perp inventory sells).
    pub base_inventory: Lots,
    /// Worst price of a hedge order, as a fraction beyond the best quote.
    #[serde(default = "default_slippage")]
    pub slippage: f64,
    /// Unhedged lots tolerated before trading.
    #[serde(default)]
    pub band: Lots,
    /// Largest hedge order per tick, lots.
    #[serde(default = "default_hedge_lots")]
    pub max_lots: Lots,
}

fn default_hedge_lots() -> Lots {
    Lots(200)
}

fn one() -> f64 {
    1.0
}

fn default_slippage() -> f64 {
    0.002
}

impl Hedge {
    /// The spot order that moves the hedge `held − base_inventory` towards
    /// `−ratio × inventory`: (side, lots), capped by the base units held.
    pub fn order(&self, inventory: Lots, held: Lots) -> Option<(Side, Lots)> {
        let target = -round_to_i64(self.ratio * inventory.0 as f64);
        let delta = target - (held.0 - self.base_inventory.0);
        if delta.abs() <= self.band.0 {
            return None;
        }
        let lots = delta.abs().min(self.max_lots.0);
        if delta > 0 {
            Some((Side::Buy, Lots(lots)))
        } else {
            Some((Side::Sell, Lots(lots.min(held.0)))).filter(|(_, l)| l.0 > 0)
        }
    }
}

impl Default for MakerParams {
    fn default() -> MakerParams {
        MakerParams::preset("makers", 5, true)
    }
}

impl MakerParams {
    /// Reactive makers with sensible defaults for the BTC-like preset.
    pub fn preset(name: &str, count: u32, react: bool) -> MakerParams {
        MakerParams {
            name: name.to_owned(),
            count,
            first_index: 0,
            market: MarketId(0),
            capital: Micros(5_000_000_000_000),
            levels: 10,
            spacing_ticks: 20,
            half_spread_ticks: 10,
            lots_per_level: 200,
            skew_ticks_per_lot: 0.05,
            inventory_limit: 20_000,
            react,
            vol_ref: 0.000_2,
            widen: 1.0,
            pull: 0.3,
            withdraw_at: 6.0,
            requote_ticks: 1,
            hedge: None,
        }
    }

    /// Checks the parameters.
    pub fn validate(&self) -> Result<(), ParamError> {
        if self.capital.0 < 0 {
            return Err(ParamError::invalid("capital", "must be non-negative"));
        }
        if self.spacing_ticks < 1 || self.half_spread_ticks < 1 {
            return Err(ParamError::invalid("spacing_ticks", "spacing and half spread must be at least 1 tick"));
        }
        if self.lots_per_level < 0 || self.inventory_limit < 1 {
            return Err(ParamError::invalid("inventory_limit", "sizes must be non-negative and the limit at least 1"));
        }
        for (f, x) in [
            ("skew_ticks_per_lot", self.skew_ticks_per_lot),
            ("widen", self.widen),
            ("pull", self.pull),
            ("withdraw_at", self.withdraw_at),
        ] {
            check_non_negative(f, x)?;
        }
        if !(self.vol_ref.is_finite() && self.vol_ref > 0.0) {
            return Err(ParamError::invalid("vol_ref", "must be positive"));
        }
        if self.requote_ticks == 0 {
            return Err(ParamError::invalid("requote_ticks", "must be at least 1"));
        }
        if let Some(h) = &self.hedge {
            if !(0.0..=1.0).contains(&h.ratio) {
                return Err(ParamError::invalid("hedge.ratio", "must be between 0 and 1"));
            }
            if !(0.0..1.0).contains(&h.slippage) {
                return Err(ParamError::invalid("hedge.slippage", "must be in [0, 1)"));
            }
            if h.base_inventory.0 < 0 || h.band.0 < 0 {
                return Err(ParamError::invalid(
                    "hedge.base_inventory",
                    "base_inventory and band must be non-negative",
                ));
            }
            if h.max_lots.0 < 1 {
                return Err(ParamError::invalid("hedge.max_lots", "must be at least 1"));
            }
        }
        Ok(())
    }

    /// The quotes of a maker with inventory `inventory` when the mark is
    /// `mark` and realised volatility `vol`: (side, price, lots).
    pub fn quotes(&self, mark: Price, vol: f64, inventory: Lots) -> Vec<(Side, Price, Lots)> {
        let stress = if self.react { vol / self.vol_ref } else { 0.0 };
        let inv = inventory.0 as f64;
        let limit = self.inventory_limit as f64;
        let over = inv.abs() >= limit;
        let withdraw = stress >= self.withdraw_at && self.react;
        let centre = mark.0 as f64 - self.skew_ticks_per_lot * inv;
        let half = self.half_spread_ticks as f64 * (1.0 + self.widen * stress);
        let base = self.lots_per_level as f64 * (1.0 - self.pull * stress).max(0.0);
        let mut out = Vec::new();
        for side in [Side::Buy, Side::Sell] {
            let adds = (side == Side::Buy && inv >= 0.0) || (side == Side::Sell && inv <= 0.0);
            if adds && (over || withdraw) {
                continue;
            }
            let size = if adds {
                base * (1.0 - inv.abs() / limit).max(0.0)
            } else {
                base.max(self.lots_per_level as f64 * 0.5)
            };
            let lots = round_to_i64(size);
            if lots <= 0 {
                continue;
            }
            for k in 0..self.levels {
                let offset = half + f64::from(k) * self.spacing_ticks as f64;
                let p = match side {
                    Side::Buy => (centre - offset).floor(),
                    Side::Sell => (centre + offset).ceil(),
                };
                let p = round_to_i64(p);
                if p > 0 {
                    out.push((side, Price(p), Lots(lots)));
                }
            }
        }
        out
    }
}

/// A market maker.
#[derive(Component, Debug)]
pub struct MarketMaker {
    params: Arc<MakerParams>,
}

impl PopulationKind for MakerParams {
    const KIND: &'static str = "market_maker";
    const ABOUT: &'static str = "Market makers.";

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
        self.hedge.as_ref().map_or(0, |h| h.base_inventory.0)
    }

    fn orders_per_tick(&self) -> f64 {
        f64::from(self.count) * 2.0 * f64::from(self.levels)
    }
}

impl Population for MakerParams {
    fn name(&self) -> &str {
        &self.name
    }

    fn install(&self, sim: &mut Simulation) -> Result<(), ParamError> {
        self.validate()?;
        check_market(sim, "market", self.market)?;
        if let Some(h) = &self.hedge {
            check_market(sim, "hedge.spot", h.spot)?;
            if !sim.markets().get(h.spot).is_spot() {
                return Err(ParamError::invalid("hedge.spot", format!("market {} is not a spot market", h.spot.0)));
            }
            if sim.markets().get(self.market).is_spot() {
                return Err(ParamError::invalid("hedge", "only a perpetual's inventory can be hedged"));
            }
        }
        install_once(sim, "market_maker", |sim| {
            sim.add_systems(Phase::Decide, decide);
        });
        let params = Arc::new(self.clone());
        let strategy = if self.react { "reactive" } else { "steady" };
        for index in crate::indices(self.first_index, self.count) {
            let agent = spawn_agent(sim, &self.name, strategy, index, self.market, MarginMode::Cross, 1, self.capital);
            if let Some(h) = &self.hedge {
                sim.deposit_base(agent.account, h.spot, h.base_inventory)?;
            }
            sim.world_mut().spawn((agent, MarketMaker { params: params.clone() }));
        }
        Ok(())
    }
}

fn decide(
    clock: Res<Clock>,
    markets: Res<Markets>,
    ledger: Res<Ledger>,
    mut queue: ResMut<OrderQueue>,
    mut floor: ResMut<FloorCapital>,
    makers: Query<(&Agent, &MarketMaker)>,
) {
    for (agent, maker) in &makers {
        let p = &maker.params;
        let m = markets.get(agent.market);
        let inventory = ledger.account(agent.account).qty(agent.market);
        floor.makers.add(inventory.0, p.inventory_limit);
        if clock.tick.is_multiple_of(p.requote_ticks) {
            queue.cancel_all(Priority::NORMAL, agent.account, agent.market);
            for (side, price, lots) in p.quotes(m.view.mark, m.view.realised_vol, inventory) {
                queue.place(Priority::NORMAL, agent.account, agent.market, side, lots, OrderKind::Limit { price });
            }
        }
        if let Some(h) = &p.hedge {
            hedge(&markets, &ledger, &mut queue, agent, h, inventory);
        }
    }
}

fn hedge(markets: &Markets, ledger: &Ledger, queue: &mut OrderQueue, agent: &Agent, h: &Hedge, inventory: Lots) {
    let spot = markets.get(h.spot);
    let held = spot.asset.map_or(Lots(0), |asset| ledger.held(agent.account, asset));
    let Some((side, lots)) = h.order(inventory, held) else { return };
    let worst = match side {
        Side::Sell => spot.best_bid().map(|b| (b.0 as f64 * (1.0 - h.slippage)).floor()),
        Side::Buy => spot.best_ask().map(|a| (a.0 as f64 * (1.0 + h.slippage)).ceil()),
    };
    let Some(price) = worst.map(round_to_i64).filter(|p| *p > 0) else { return };
    queue.place(Priority::NORMAL, agent.account, h.spot, side, lots, OrderKind::Ioc { price: Price(price) });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stress_widens_thins_and_finally_withdraws() {
        let p = MakerParams { levels: 1, ..MakerParams::preset("mm", 1, true) };
        let calm = p.quotes(Price(10_000), 0.0, Lots(0));
        assert_eq!(calm, vec![(Side::Buy, Price(9_990), Lots(200)), (Side::Sell, Price(10_010), Lots(200))]);
        // Stress 2: half spread 10 × 3 = 30, size 200 × (1 − 0.6) = 80.
        let stressed = p.quotes(Price(10_000), 0.000_4, Lots(0));
        assert_eq!(stressed, vec![(Side::Buy, Price(9_970), Lots(80)), (Side::Sell, Price(10_030), Lots(80))]);
        assert!(p.quotes(Price(10_000), 0.002, Lots(0)).is_empty());
        let steady = MakerParams { react: false, ..p.clone() };
        assert_eq!(steady.quotes(Price(10_000), 0.002, Lots(0)), calm);
    }

    #[test]
    fn the_hedge_trades_spot_against_the_perp_inventory() {
        let h = Hedge {
            spot: MarketId(1),
            ratio: 0.5,
            base_inventory: Lots(1_000),
            slippage: 0.01,
            band: Lots(5),
            max_lots: Lots(200),
        };
        // Long 300 perp, unhedged: sell 150 spot.
        assert_eq!(h.order(Lots(300), Lots(1_000)), Some((Side::Sell, Lots(150))));
        // Already short 150 spot against it: nothing.
        assert_eq!(h.order(Lots(300), Lots(850)), None);
        // Flat again: buy the 150 back.
        assert_eq!(h.order(Lots(0), Lots(850)), Some((Side::Buy, Lots(150))));
        // Within the band: nothing; beyond the rate limit: 200 a tick.
        assert_eq!(h.order(Lots(10), Lots(1_000)), None);
        assert_eq!(h.order(Lots(1_000), Lots(1_000)), Some((Side::Sell, Lots(200))));
        // A sale is capped by what is held.
        assert_eq!(h.order(Lots(10_000), Lots(40)), Some((Side::Sell, Lots(40))));
        assert_eq!(h.order(Lots(10_000), Lots(0)), None);
    }

    #[test]
    fn inventory_skews_and_caps_the_adding_side() {
        let p = MakerParams { levels: 1, ..MakerParams::preset("mm", 1, true) };
        // Long 10,000 lots: centre 10,000 − 500 = 9,500; bids halved.
        let q = p.quotes(Price(10_000), 0.0, Lots(10_000));
        assert_eq!(q, vec![(Side::Buy, Price(9_490), Lots(100)), (Side::Sell, Price(9_510), Lots(200))]);
        // At the limit only the reducing side is quoted.
        let q = p.quotes(Price(10_000), 0.0, Lots(20_000));
        assert_eq!(q.len(), 1);
        assert_eq!(q[0].0, Side::Sell);
    }
}
