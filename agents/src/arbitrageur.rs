//! Basis arbitrageurs: the channel by which a perpetual's flow reaches its
//! spot venues, and so its oracle index.
//!
//! Each tick an arbitrageur compares the perpetual's best quotes `(b_p,
//! a_p)` with its spot venue's `(b_s, a_s)`, net of both taker fees `f`
//! (fractions) and its threshold `θ`:
//!
//! ```text
//! perp rich:  b_p > a_s (1 + f_p + f_s + θ)  →  sell q perp at b_p, buy q spot at a_s
//! perp cheap: a_p < b_s (1 − f_p − f_s − θ)  →  buy q perp at a_p, sell q spot at b_s
//! unwind:     |mid_p − mid_s| ≤ unwind × mid_s  →  trade q back towards a flat perp position
//! ```
//!
//! Both legs are immediate-or-cancel orders at those prices, `q ≤
//! max_lots` lots (one lot of the perpetual against one base unit of spot),
//! queued together, so a leg can fail while the other fills: leg risk is
//! part of the model. The perp position stays within `±inventory_lots`, a
//! spot sale needs base units held (each arbitrageur starts with
//! `base_inventory`), and a spot buy needs the cash. With `fast: true` the
//! orders have the latency edge `Priority::FAST`.
//!
//! `market` may also be a spot venue of the same asset as `spot` (an order
//! book against a pool, say): the same rule then buys on the cheap venue
//! and sells on the rich one, the two legs net to no position, and there is
//! nothing to unwind. This is the arbitrage that ties a DEX pool to the
//! price on a centralised exchange.
//!
//! In a crash, forced perp sales push the perpetual below spot; the
//! arbitrageurs buy the perpetual and sell spot, the spot mids fall, the
//! oracle index and the mark follow, and more positions are liquidated.

use crate::kind::PopulationKind;
use crate::{Agent, Population, check_market, check_non_negative, install_once, spawn_agent};
use bevy_ecs::prelude::*;
use cascade_framework::accounts::ledger::{Ledger, MarginMode};
use cascade_framework::exchange::sequencer::{OrderQueue, Priority};
use cascade_framework::market::Markets;
use cascade_framework::market::book::OrderKind;
use cascade_framework::{Lots, MarketId, Micros, ParamError, Phase, Price, Side, Simulation};
use serde::{Deserialize, Serialize};

/// A population of basis arbitrageurs.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct ArbitrageurParams {
    /// Population name.
    pub name: String,
    /// Number of arbitrageurs.
    pub count: u32,
    /// Number of the first agent: the agents are numbered from it, and each
    /// agent's random stream is keyed by its number. A game sets it so that
    /// a role's players keep their streams whatever strategy they play.
    #[serde(default, skip_serializing_if = "crate::is_zero")]
    pub first_index: u32,
    /// The perpetual (or a spot venue of the same asset as `spot`).
    pub market: MarketId,
    /// The spot venue traded against it.
    pub spot: MarketId,
    /// Quote collateral of each, micros (perp margin and spot purchases).
    pub capital: Micros,
    /// Base units of the spot asset each holds at the start.
    pub base_inventory: Lots,
    /// Basis beyond the fees needed to trade, fraction (0.001 = 10 bp).
    pub threshold: f64,
    /// Basis within which positions are unwound, fraction.
    pub unwind: f64,
    /// Lots per leg per tick.
    pub max_lots: Lots,
    /// Largest perp position either way, lots.
    pub inventory_lots: Lots,
    /// Whether its orders have the latency edge.
    pub fast: bool,
}

impl Default for ArbitrageurParams {
    fn default() -> ArbitrageurParams {
        ArbitrageurParams {
            name: "arbitrageurs".into(),
            count: 5,
            first_index: 0,
            market: MarketId(0),
            spot: MarketId(1),
            capital: Micros(5_000_000_000_000),
            base_inventory: Lots(20_000),
            threshold: 0.000_5,
            unwind: 0.000_2,
            max_lots: Lots(500),
            inventory_lots: Lots(20_000),
            fast: false,
        }
    }
}

impl ArbitrageurParams {
    /// Checks the parameters.
    pub fn validate(&self) -> Result<(), ParamError> {
        check_non_negative("threshold", self.threshold)?;
        check_non_negative("unwind", self.unwind)?;
        if self.unwind > self.threshold {
            return Err(ParamError::invalid("unwind", "must not exceed threshold, or it would trade back and forth"));
        }
        if self.capital.0 < 0 || self.base_inventory.0 < 0 {
            return Err(ParamError::invalid("capital", "capital and base_inventory must be non-negative"));
        }
        if self.max_lots.0 < 1 || self.inventory_lots.0 < 1 {
            return Err(ParamError::invalid("max_lots", "max_lots and inventory_lots must be at least 1"));
        }
        Ok(())
    }
}

/// An arbitrageur.
#[derive(Component, Debug)]
pub struct Arbitrageur {
    params: ArbitrageurParams,
}

impl PopulationKind for ArbitrageurParams {
    const KIND: &'static str = "arbitrageur";
    const ABOUT: &'static str = "Basis arbitrageurs between a perpetual and a spot venue.";

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
        self.market.0.max(self.spot.0)
    }

    fn capital(&self) -> i64 {
        self.capital.0
    }

    fn base_inventory(&self) -> i64 {
        self.base_inventory.0
    }
}

impl Population for ArbitrageurParams {
    fn name(&self) -> &str {
        &self.name
    }

    fn install(&self, sim: &mut Simulation) -> Result<(), ParamError> {
        self.validate()?;
        check_market(sim, "market", self.market)?;
        check_market(sim, "spot", self.spot)?;
        if self.market == self.spot {
            return Err(ParamError::invalid("market", "must differ from spot"));
        }
        let (a, b) = (sim.markets().get(self.market), sim.markets().get(self.spot));
        if a.is_spot() && a.asset != b.asset {
            return Err(ParamError::invalid("market", "a spot market here must trade the same asset as spot"));
        }
        if !sim.markets().get(self.spot).is_spot() {
            return Err(ParamError::invalid("spot", format!("market {} is not a spot market", self.spot.0)));
        }
        install_once(sim, "arbitrageur", |sim| {
            sim.add_systems(Phase::Decide, decide);
        });
        for index in crate::indices(self.first_index, self.count) {
            let agent = spawn_agent(sim, &self.name, "basis", index, self.market, MarginMode::Cross, 1, self.capital);
            sim.deposit_base(agent.account, self.spot, self.base_inventory)?;
            sim.world_mut().spawn((agent, Arbitrageur { params: self.clone() }));
        }
        Ok(())
    }
}

/// The trade an arbitrageur wants: its perp side and lots, at the perp
/// and spot limit prices.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Trade {
    perp_side: Side,
    lots: Lots,
    perp_at: Price,
    spot_at: Price,
}

/// The quotes an arbitrageur reads: (best bid, best ask) of each market.
type Quotes = ((Price, Price), (Price, Price));

fn plan(p: &ArbitrageurParams, q: Quotes, fees: f64, held_perp: i64, held_base: i64) -> Option<Trade> {
    let ((bp, ap), (bs, as_)) = q;
    let f = |x: Price| x.0 as f64;
    let edge = fees + p.threshold;
    // Saturating: a limit written near i64::MAX means "no limit".
    let room_short = p.inventory_lots.0.saturating_add(held_perp).max(0);
    let room_long = p.inventory_lots.0.saturating_sub(held_perp).max(0);
    let lots = |room: i64| Lots(p.max_lots.0.min(room));
    if f(bp) > f(as_) * (1.0 + edge) && room_short > 0 {
        return Some(Trade { perp_side: Side::Sell, lots: lots(room_short), perp_at: bp, spot_at: as_ });
    }
    if f(ap) < f(bs) * (1.0 - edge) && room_long > 0 && held_base > 0 {
        return Some(Trade { perp_side: Side::Buy, lots: lots(room_long.min(held_base)), perp_at: ap, spot_at: bs });
    }
    let (mid_p, mid_s) = ((f(bp) + f(ap)) / 2.0, (f(bs) + f(as_)) / 2.0);
    if held_perp != 0 && (mid_p - mid_s).abs() <= p.unwind * mid_s {
        let n = Lots(p.max_lots.0.min(held_perp.saturating_abs()));
        return Some(if held_perp < 0 {
            Trade { perp_side: Side::Buy, lots: n, perp_at: ap, spot_at: bs }
        } else {
            Trade { perp_side: Side::Sell, lots: n, perp_at: bp, spot_at: as_ }
        });
    }
    None
}

fn decide(
    markets: Res<Markets>,
    ledger: Res<Ledger>,
    mut queue: ResMut<OrderQueue>,
    arbs: Query<(&Agent, &Arbitrageur)>,
) {
    for (agent, a) in &arbs {
        let p = &a.params;
        let (perp, spot) = (markets.get(p.market), markets.get(p.spot));
        let (Some(bp), Some(ap), Some(bs), Some(as_)) =
            (perp.best_bid(), perp.best_ask(), spot.best_bid(), spot.best_ask())
        else {
            continue;
        };
        let fees = (perp.params.fees.taker.0 + spot.params.fees.taker.0) as f64 / 1e6;
        // Between two spot venues of one asset the legs net to no position.
        let held_perp = if perp.is_spot() { 0 } else { ledger.account(agent.account).qty(p.market).0 };
        let held_base = spot.asset.map_or(0, |asset| ledger.held(agent.account, asset).0);
        let Some(mut t) = plan(p, ((bp, ap), (bs, as_)), fees, held_perp, held_base) else { continue };
        if perp.is_spot() && t.perp_side == Side::Sell {
            // Selling on a spot venue needs the base units too.
            t.lots = Lots(t.lots.0.min(held_base));
            if t.lots.0 < 1 {
                continue;
            }
        }
        let priority = if p.fast { Priority::FAST } else { Priority::NORMAL };
        let ioc = |price| OrderKind::Ioc { price };
        queue.place(priority, agent.account, p.market, t.perp_side, t.lots, ioc(t.perp_at));
        queue.place(priority, agent.account, p.spot, t.perp_side.opposite(), t.lots, ioc(t.spot_at));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(bp: i64, ap: i64, bs: i64, as_: i64) -> Quotes {
        ((Price(bp), Price(ap)), (Price(bs), Price(as_)))
    }

    fn params() -> ArbitrageurParams {
        ArbitrageurParams {
            threshold: 0.001,
            unwind: 0.000_5,
            max_lots: Lots(10),
            inventory_lots: Lots(25),
            ..ArbitrageurParams::default()
        }
    }

    #[test]
    fn a_cheap_perpetual_is_bought_against_a_spot_sale() {
        // 0.1% threshold, no fees: buy below 999.0 against a spot bid of 1,000.
        let t = plan(&params(), q(989, 990, 1_000, 1_002), 0.0, 0, 100).unwrap();
        assert_eq!(t, Trade { perp_side: Side::Buy, lots: Lots(10), perp_at: Price(990), spot_at: Price(1_000) });
        assert_eq!(plan(&params(), q(998, 999, 1_000, 1_002), 0.0, 0, 100), None, "999 is within the threshold");
        // Fees widen the band: 0.2% more is needed.
        assert_eq!(plan(&params(), q(996, 997, 1_000, 1_002), 0.002, 0, 100), None);
        // Without base units to sell, nothing.
        assert_eq!(plan(&params(), q(989, 990, 1_000, 1_002), 0.0, 0, 0), None);
        // The inventory limit: long 20 of 25 leaves room for 5.
        assert_eq!(plan(&params(), q(989, 990, 1_000, 1_002), 0.0, 20, 100).unwrap().lots, Lots(5));
    }

    #[test]
    fn a_rich_perpetual_is_sold_against_a_spot_purchase() {
        let t = plan(&params(), q(1_010, 1_011, 998, 1_000), 0.0, 0, 0).unwrap();
        assert_eq!(t, Trade { perp_side: Side::Sell, lots: Lots(10), perp_at: Price(1_010), spot_at: Price(1_000) });
    }

    #[test]
    fn a_closed_basis_unwinds_the_position() {
        // Mids 1,000.5 and 1,000.5: long 7 perp is sold back at the bid.
        let t = plan(&params(), q(1_000, 1_001, 1_000, 1_001), 0.0, 7, 0).unwrap();
        assert_eq!(t, Trade { perp_side: Side::Sell, lots: Lots(7), perp_at: Price(1_000), spot_at: Price(1_001) });
        assert_eq!(plan(&params(), q(1_000, 1_001, 1_000, 1_001), 0.0, 0, 0), None, "flat: nothing to do");
    }
}
