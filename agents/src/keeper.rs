//! Keepers: the bidders in the protocol's Dutch auctions
//! (`protocol.auction`, see `cascade_framework::exchange::auction`).
//!
//! Each keeper has `capital` of cross-margin collateral, a reaction delay
//! `d ~ delay` ticks (drawn once; rounded, at least 0) and a cost per bid
//! `c` (gas), paid whether the bid wins or not. Each tick it:
//!
//! 1. sells back into the book, at market, whatever it bought in earlier
//!    auctions (it holds no inventory by choice);
//! 2. looks at every running auction that (re)started at least `d` ticks
//!    ago, oldest first, and prices it against the book: for a long being
//!    sold, the best bid `b` is where it can resell, and it bids when
//!
//!    ```text
//!    p ≤ b × (1 − min_edge)   and   q × (b − p) × v − fee(q × b × v) − c > 0
//!    ```
//!
//!    with `p` the auction price, `v` the tick value and `q` the lots it
//!    can pay for in full out of what is left of its collateral this tick,
//!    `q = min(lots for sale, ⌊free / (b × v)⌋)`; for a short being bought
//!    back it mirrors this against the best ask. Its limit is `p`, so a
//!    bid never pays more than the price it saw.
//!
//! Keepers of one priority class are shuffled against each other each tick
//! by the sequencer, so who wins a contested lot is a seeded draw. A
//! congested network is a long `delay` and a high `bid_cost`: no one bids
//! until the price has fallen far, and with `cusp: 0` and no `tail` the
//! price can fall to zero first.
//!
//! With `delay_per_auction: true` the delay is drawn again for each
//! auction the keeper sees (a bot that notices each auction late by a
//! random time) instead of once. Under the auction's `congestion` (block
//! space priced by EIP-1559, see `cascade_framework::exchange::auction`)
//! a keeper bids the gas price `g` times `1 + tip`, `tip ~ gas_tip` drawn
//! once per keeper (0 when absent), and counts that bid, or `bid_cost` if
//! higher, as `c` above: as the gas price climbs, bids on small or
//! shallow-discount auctions stop paying, and those auctions are left to
//! fall.

use crate::dist::Dist;
use crate::kind::PopulationKind;
use crate::{Agent, Population, install_once, spawn_agent};
use bevy_ecs::prelude::*;
use cascade_framework::accounts::ledger::{Ledger, MarginMode};
use cascade_framework::core::Clock;
use cascade_framework::core::units::{PPM, narrow, round_to_i64};
use cascade_framework::exchange::auction::{AuctionId, Auctions, Take};
use cascade_framework::exchange::fee;
use cascade_framework::exchange::sequencer::{OrderQueue, Priority};
use cascade_framework::market::MarketParams;
use cascade_framework::market::Markets;
use cascade_framework::market::book::OrderKind;
use cascade_framework::protocol::ProtocolParams;
use cascade_framework::{Lots, MarketId, Micros, ParamError, Phase, Ppm, Side, Simulation};
use serde::{Deserialize, Serialize};

/// A population of keepers.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct KeeperParams {
    /// Population name.
    pub name: String,
    /// Number of keepers.
    pub count: u32,
    /// Number of the first agent: the agents are numbered from it, and each
    /// agent's random stream is keyed by its number. A game sets it so that
    /// a role's players keep their streams whatever strategy they play.
    #[serde(default, skip_serializing_if = "crate::is_zero")]
    pub first_index: u32,
    /// Collateral of each keeper, micros.
    pub capital: Micros,
    /// Reaction delay, ticks, drawn once per keeper.
    pub delay: Dist,
    /// Cost of one bid (gas), micros.
    pub bid_cost: Micros,
    /// Least discount to the book, as a fraction of the resale price (ppm).
    pub min_edge: Ppm,
    /// Draw the delay again for each auction, instead of once.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub delay_per_auction: bool,
    /// Under congestion, the premium over the gas price each keeper bids,
    /// as a fraction (drawn once per keeper); 0 when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gas_tip: Option<Dist>,
}

impl Default for KeeperParams {
    fn default() -> KeeperParams {
        KeeperParams {
            name: "keepers".into(),
            count: 5,
            first_index: 0,
            capital: Micros(2_000_000_000_000),
            delay: Dist::Uniform { low: 1.0, high: 5.0 },
            bid_cost: Micros(20_000_000),
            min_edge: Ppm(5_000),
            delay_per_auction: false,
            gas_tip: None,
        }
    }
}

impl KeeperParams {
    /// Checks the parameters.
    pub fn validate(&self) -> Result<(), ParamError> {
        self.delay.validate("delay")?;
        if let Some(tip) = &self.gas_tip {
            tip.validate("gas_tip")?;
        }
        if self.capital.0 < 0 || self.bid_cost.0 < 0 {
            return Err(ParamError::invalid("capital", "capital and bid_cost must be non-negative"));
        }
        if !(0..PPM).contains(&self.min_edge.0) {
            return Err(ParamError::invalid("min_edge", "must be in [0, 1,000,000) ppm"));
        }
        Ok(())
    }
}

/// A keeper.
#[derive(Component, Debug)]
pub struct Keeper {
    /// Reaction delay, ticks.
    pub delay: u64,
    bid_cost: Micros,
    min_edge: Ppm,
    /// The delay's distribution, when it is drawn per auction.
    per_auction: Option<Dist>,
    /// Its delay for each running auction it has seen, when drawn per auction.
    delays: std::collections::BTreeMap<AuctionId, u64>,
    /// Premium over the gas price it bids, ppm.
    tip: i64,
}

fn ticks_of(draw: f64) -> u64 {
    u64::try_from(round_to_i64(draw).max(0)).unwrap_or(0)
}

impl PopulationKind for KeeperParams {
    const KIND: &'static str = "keeper";
    const ABOUT: &'static str = "Keepers bidding in the protocol's Dutch auctions.";

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
        // Keepers bid in every market's auctions.
        0
    }

    fn capital(&self) -> i64 {
        self.capital.0
    }

    fn scans_auctions(&self) -> bool {
        true
    }

    fn fits(&self, _: &[MarketParams], protocol: &ProtocolParams) -> Result<(), ParamError> {
        if self.count > 0 && protocol.auction.is_none() {
            return Err(ParamError::invalid("kind", "keepers bid in auctions: set protocol.auction, or count: 0"));
        }
        Ok(())
    }
}

impl Population for KeeperParams {
    fn name(&self) -> &str {
        &self.name
    }

    fn install(&self, sim: &mut Simulation) -> Result<(), ParamError> {
        self.validate()?;
        if self.count > 0 && sim.world().resource::<Auctions>().params.is_none() {
            return Err(ParamError::invalid("kind", "keepers bid in auctions: set protocol.auction"));
        }
        install_once(sim, "keeper", |sim| {
            sim.add_systems(Phase::Decide, decide);
        });
        for index in crate::indices(self.first_index, self.count) {
            let mut agent =
                spawn_agent(sim, &self.name, "keeper", index, MarketId(0), MarginMode::Cross, 1, self.capital);
            let delay = ticks_of(self.delay.sample(&mut agent.rng));
            // Drawn after the delay, so that keepers without a tip keep
            // their streams.
            let tip = self.gas_tip.as_ref().map_or(0.0, |d| d.sample(&mut agent.rng).max(0.0));
            let keeper = Keeper {
                delay,
                bid_cost: self.bid_cost,
                min_edge: self.min_edge,
                per_auction: self.delay_per_auction.then(|| self.delay.clone()),
                delays: Default::default(),
                tip: round_to_i64((tip * PPM as f64).min(1e12)),
            };
            sim.world_mut().spawn((agent, keeper));
        }
        Ok(())
    }
}

fn decide(
    clock: Res<Clock>,
    auctions: Res<Auctions>,
    markets: Res<Markets>,
    ledger: Res<Ledger>,
    mut queue: ResMut<OrderQueue>,
    mut keepers: Query<(&mut Agent, &mut Keeper)>,
) {
    let congested = auctions.is_congested();
    for (mut agent, mut k) in &mut keepers {
        let k = &mut *k;
        if let Some(dist) = &k.per_auction {
            // The running auctions' delays, drawn for new ones in auction
            // order; those of ended auctions are dropped.
            let mut seen = std::mem::take(&mut k.delays);
            k.delays = auctions
                .open
                .iter()
                .map(|a| (a.id, seen.remove(&a.id).unwrap_or_else(|| ticks_of(dist.sample(&mut agent.rng)))))
                .collect();
        }
        // Under congestion a bid costs the gas price plus the keeper's tip.
        let bid_cost = if congested {
            let gas = i128::from(auctions.gas.0);
            Micros(narrow(gas + gas * i128::from(k.tip) / i128::from(PPM)).max(k.bid_cost.0))
        } else {
            k.bid_cost
        };
        let acct = ledger.account(agent.account);
        for p in &acct.positions {
            let side = if p.qty.0 > 0 { Side::Sell } else { Side::Buy };
            queue.place(Priority::NORMAL, agent.account, p.market, side, Lots(p.qty.0.abs()), OrderKind::Market);
        }
        let mut free = i128::from(acct.collateral.0 - bid_cost.0);
        for a in &auctions.open {
            let delay = k.delays.get(&a.id).copied().unwrap_or(k.delay);
            if clock.tick < a.start_tick.saturating_add(delay) || free <= 0 {
                continue;
            }
            let Some(price) = auctions.price_at(a, clock.tick) else { continue };
            let m = markets.get(a.market);
            let (edge_ppm, resale) = match a.side {
                Side::Buy => (PPM - k.min_edge.0, m.book.best_bid()),
                Side::Sell => (PPM + k.min_edge.0, m.book.best_ask()),
            };
            let Some(resale) = resale else { continue };
            let bound = i128::from(resale.0) * i128::from(edge_ppm);
            let good = match a.side {
                Side::Buy => i128::from(price.0) * i128::from(PPM) <= bound,
                Side::Sell => i128::from(price.0) * i128::from(PPM) >= bound,
            };
            if !good {
                continue;
            }
            let per_lot = i128::from(m.params.tick_value.0) * i128::from(resale.0.max(price.0)).max(1);
            let held = i128::from(ledger.account(a.account).qty(a.market).0.abs());
            let lots = held.min(free / per_lot);
            if lots <= 0 {
                continue;
            }
            let gain = lots * i128::from((resale.0 - price.0).abs()) * i128::from(m.params.tick_value.0);
            let resale_notional = m.notional(Lots(i64::try_from(lots).unwrap_or(i64::MAX)), resale);
            let costs = i128::from(fee(resale_notional, m.params.fees.taker).0 + bid_cost.0);
            if gain <= costs {
                continue;
            }
            let max_lots = Lots(i64::try_from(lots).unwrap_or(i64::MAX));
            queue.take(Priority::NORMAL, agent.account, Take { auction: a.id, max_lots, limit: price, cost: bid_cost });
            free -= lots * per_lot + i128::from(bid_cost.0);
        }
    }
}
