//! Front-running predators, in the spirit of Brunnermeier and Pedersen's
//! predatory trading: they read the liquidation heatmap and trade against
//! the forced flow it promises.
//!
//! A predator sees each heatmap bucket's notional multiplied by
//! `1 + noise × Z`, `Z ~ N(0, 1)` drawn per bucket per look (floored at
//! zero), and the preview of this tick's liquidations (forced lots `F`)
//! multiplied by the same kind of factor. It trades with priority class
//! `Priority::FAST`: its orders execute before everyone else's in the tick.
//! Strategies (for forced selling of longs; shorts are symmetric):
//!
//! - `passive`: never trades.
//! - `front_run`: when `F > 0`, sell `q = min(F, max_position)` lots at
//!   market ahead of the liquidations, and rest a bid for `q` one tick below
//!   where its own sale ends: the best bid when the forced flow arrives, so
//!   it buys back from the forced sellers below where it sold.
//! - `hunt`: find the nearest bucket below the mark within `max_distance`
//!   (fraction) whose seen notional is at least `min_cluster` (micros), with
//!   floor `P_c`. Selling `Q` lots (the bid depth at or above `P_c`; if that
//!   exceeds `max_position` the cluster is out of reach) walks the price to
//!   `P_c` at an average `p̄`. A bid at `P_c − 1` is then the best bid and
//!   buys back `min(Q, N_c)` of the cluster's `N_c` forced lots; the rest is
//!   bought back later near the mark `M`. The expected profit, in micros,
//!   is
//!
//!   ```text
//!   E = [min(Q, N_c) (p̄ − (P_c − 1)) − (Q − min(Q, N_c)) (M − p̄)] × tick_value − fees
//!   ```
//!
//!   the cluster's forced flow less its own impact and fees. If `E > 0` it
//!   sells `Q` at market and rests a bid for `Q` at `P_c − 1`.
//!
//! After acting it waits `hold_ticks` ticks, then cancels what rests and
//! flattens any inventory at market. A hunt moves the mark only where the
//! mark follows trades: under a median-of-three mark, one push of the last
//! price does not trigger anyone, which is what that rule is for. Capital is the account's collateral;
//! PnL and inventory are in `agents.parquet`.

use crate::kind::PopulationKind;
use crate::{Agent, Population, check_market, check_non_negative, install_once, spawn_agent};
use bevy_ecs::prelude::*;
use cascade_framework::accounts::ledger::{Ledger, MarginMode};
use cascade_framework::accounts::triggers::Triggers;
use cascade_framework::core::Clock;
use cascade_framework::core::units::round_to_i64;
use cascade_framework::exchange::fee;
use cascade_framework::exchange::sequencer::{OrderQueue, Priority};
use cascade_framework::market::book::{Book, OrderKind};
use cascade_framework::market::{Market, Markets};
use cascade_framework::protocol::LiquidationPreview;
use cascade_framework::{Lots, MarketId, Micros, ParamError, Phase, Price, Side, Simulation};
use rand_distr::{Distribution, StandardNormal};
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// What a predator does.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Strategy {
    /// Never trades.
    Passive,
    /// Trades ahead of queued liquidations.
    FrontRun,
    /// Pushes the price into a cluster of liquidations.
    Hunt,
}

impl Strategy {
    /// The name written in frames.
    pub fn as_str(self) -> &'static str {
        match self {
            Strategy::Passive => "passive",
            Strategy::FrontRun => "front_run",
            Strategy::Hunt => "hunt",
        }
    }
}

/// A population of predators.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct PredatorParams {
    /// Population name.
    pub name: String,
    /// Number of predators.
    pub count: u32,
    /// Number of the first agent: the agents are numbered from it, and each
    /// agent's random stream is keyed by its number. A game sets it so that
    /// a role's players keep their streams whatever strategy they play.
    #[serde(default, skip_serializing_if = "crate::is_zero")]
    pub first_index: u32,
    /// Market traded.
    #[serde(default)]
    pub market: MarketId,
    /// Strategy.
    pub strategy: Strategy,
    /// Collateral, micros.
    pub capital: Micros,
    /// Largest position, lots.
    pub max_position: i64,
    /// Relative noise on what it sees of the heatmap and the preview.
    pub noise: f64,
    /// Farthest cluster it hunts, fraction of the mark.
    pub max_distance: f64,
    /// Smallest seen cluster notional worth hunting, micros.
    pub min_cluster: Micros,
    /// Ticks it holds before flattening.
    pub hold_ticks: u64,
}

impl Default for PredatorParams {
    fn default() -> PredatorParams {
        PredatorParams::preset("predators", 1, Strategy::Passive)
    }
}

impl PredatorParams {
    /// A predator for the BTC-like preset.
    pub fn preset(name: &str, count: u32, strategy: Strategy) -> PredatorParams {
        PredatorParams {
            name: name.to_owned(),
            count,
            first_index: 0,
            market: MarketId(0),
            strategy,
            capital: Micros(5_000_000_000_000),
            max_position: 5_000,
            noise: 0.1,
            max_distance: 0.02,
            min_cluster: Micros(500_000_000_000),
            hold_ticks: 3,
        }
    }

    /// Checks the parameters.
    pub fn validate(&self) -> Result<(), ParamError> {
        check_non_negative("noise", self.noise)?;
        check_non_negative("max_distance", self.max_distance)?;
        if self.max_position < 0 || self.capital.0 < 0 || self.min_cluster.0 < 0 {
            return Err(ParamError::invalid("max_position", "sizes and capital must be non-negative"));
        }
        Ok(())
    }
}

/// A predator's state.
#[derive(Component, Debug)]
pub struct Predator {
    params: Arc<PredatorParams>,
    /// Tick at which it flattens, while it holds a trade.
    pub flatten_at: Option<u64>,
}

impl PopulationKind for PredatorParams {
    const KIND: &'static str = "predator";
    const ABOUT: &'static str = "Front-running or hunting predators.";

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

impl Population for PredatorParams {
    fn name(&self) -> &str {
        &self.name
    }

    fn install(&self, sim: &mut Simulation) -> Result<(), ParamError> {
        self.validate()?;
        check_market(sim, "market", self.market)?;
        install_once(sim, "predator", |sim| {
            sim.add_systems(Phase::Decide, decide);
        });
        LiquidationPreview::request(sim.world_mut());
        let params = Arc::new(self.clone());
        for index in crate::indices(self.first_index, self.count) {
            let agent = spawn_agent(
                sim,
                &self.name,
                self.strategy.as_str(),
                index,
                self.market,
                MarginMode::Cross,
                1,
                self.capital,
            );
            sim.world_mut().spawn((agent, Predator { params: params.clone(), flatten_at: None }));
        }
        Ok(())
    }
}

/// The price the bids reach after `lots` are sold into them, and the
/// average price of those sales; `None` if the bids run out.
pub fn walk_bids(book: &Book, lots: Lots, skip: Lots) -> Option<(Price, f64)> {
    let (mut skip, mut left, mut cost) = (skip.0, lots.0, 0_i128);
    for (p, q) in book.levels(Side::Buy) {
        let mut q = q.0;
        let used = skip.min(q);
        skip -= used;
        q -= used;
        let take = left.min(q);
        cost += i128::from(take) * i128::from(p.0);
        left -= take;
        if left == 0 && take > 0 {
            return Some((p, cost as f64 / lots.0 as f64));
        }
    }
    None
}

/// The expected profit of a hunt in micros, its size, and the price of the
/// bid that buys back from the forced flow. Selling `Q` lots (the bid depth
/// at or above `cluster`; `None` if that exceeds `max_position`) walks the
/// price to the cluster at an average `p̄`. A bid one tick below the cluster
/// is then the best bid, first in line for the `forced` lots: it buys back
/// `min(Q, forced)` there, and the rest is bought back later near the mark.
pub fn hunt_profit(m: &Market, cluster: Price, forced: Lots, max_position: i64) -> Option<(i64, Lots, Price)> {
    let depth_above: i64 = m.book.levels(Side::Buy).take_while(|(p, _)| *p >= cluster).map(|(_, q)| q.0).sum();
    // A push it cannot afford does not reach the cluster and triggers no one.
    if depth_above <= 0 || depth_above > max_position || forced.0 <= 0 {
        return None;
    }
    let q = Lots(depth_above);
    let (_, avg_sell) = walk_bids(&m.book, q, Lots(0))?;
    let bid = Price(cluster.0 - 1);
    let caught = q.0.min(forced.0) as f64;
    let left = q.0 as f64 - caught;
    let v = m.params.tick_value.0 as f64;
    let gross = caught * (avg_sell - bid.0 as f64) * v - left * (m.view.mark.0 as f64 - avg_sell) * v;
    let fees = fee(m.notional(q, Price(round_to_i64(avg_sell))), m.params.fees.taker).0
        + fee(m.notional(q, bid), m.params.fees.maker).0;
    Some((round_to_i64(gross) - fees, q, bid))
}

fn seen(x: f64, noise: f64, agent: &mut Agent) -> f64 {
    let z: f64 = StandardNormal.sample(&mut agent.rng);
    (x * (1.0 + noise * z)).max(0.0)
}

#[allow(clippy::too_many_arguments, reason = "a system's parameters are its resource accesses")]
fn decide(
    clock: Res<Clock>,
    markets: Res<Markets>,
    ledger: Res<Ledger>,
    triggers: Res<Triggers>,
    preview: Res<LiquidationPreview>,
    mut queue: ResMut<OrderQueue>,
    mut predators: Query<(&mut Agent, &mut Predator)>,
) {
    for (mut agent, mut pred) in &mut predators {
        let p = pred.params.clone();
        let (account, market) = (agent.account, agent.market);
        let m = markets.get(market);
        let position = ledger.account(account).qty(market);
        if let Some(at) = pred.flatten_at {
            if clock.tick >= at {
                queue.cancel_all(Priority::FAST, account, market);
                if position.0 != 0 {
                    let side = if position.0 > 0 { Side::Sell } else { Side::Buy };
                    queue.place(Priority::FAST, account, market, side, Lots(position.0.abs()), OrderKind::Market);
                }
                pred.flatten_at = None;
            }
            continue;
        }
        match p.strategy {
            Strategy::Passive => {}
            Strategy::FrontRun => {
                let forced = preview.lots.get(market.idx()).map_or(0, |(long, _)| long.0);
                let forced = round_to_i64(seen(forced as f64, p.noise, &mut agent));
                if forced <= 0 {
                    continue;
                }
                let q = Lots(forced.min(p.max_position));
                // Its own sale ends at `end`; a bid just below is first in
                // line for the forced flow that follows.
                let Some((end, _)) = walk_bids(&m.book, q, Lots(0)) else { continue };
                queue.place(Priority::FAST, account, market, Side::Sell, q, OrderKind::Market);
                queue.place(
                    Priority::FAST,
                    account,
                    market,
                    Side::Buy,
                    q,
                    OrderKind::Limit { price: Price(end.0 - 1) },
                );
                pred.flatten_at = Some(clock.tick.saturating_add(p.hold_ticks));
            }
            Strategy::Hunt => {
                let mark = m.view.mark;
                let floor = Price(round_to_i64(mark.0 as f64 * (1.0 - p.max_distance)));
                let mt = &triggers.markets[market.idx()];
                // Nearest bucket first: walk the heatmap downwards from the mark.
                let buckets: Vec<(Price, Micros)> = mt
                    .heatmap()
                    .filter(|(b, l, _)| *b < mark && *b >= floor && l.0 > 0)
                    .map(|(b, l, _)| (b, l))
                    .collect();
                for (bucket, notional) in buckets.into_iter().rev() {
                    let seen_notional = seen(notional.0 as f64, p.noise, &mut agent);
                    if seen_notional < p.min_cluster.0 as f64 {
                        continue;
                    }
                    // Every long in the bucket is liquidated once the mark
                    // reaches the bucket's floor: push the price there.
                    let per_lot = (bucket.0 as f64 * m.params.tick_value.0 as f64).max(1.0);
                    let forced = Lots(round_to_i64(seen_notional / per_lot));
                    if let Some((profit, q, after)) = hunt_profit(m, bucket, forced, p.max_position)
                        && profit > 0
                    {
                        queue.place(Priority::FAST, account, market, Side::Sell, q, OrderKind::Market);
                        queue.place(Priority::FAST, account, market, Side::Buy, q, OrderKind::Limit { price: after });
                        pred.flatten_at = Some(clock.tick.saturating_add(p.hold_ticks));
                    }
                    break;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use cascade_framework::core::rng::{RunSeed, StreamKey};
    use cascade_framework::market::book::Order;
    use cascade_framework::presets::btc_market;
    use cascade_framework::{AccountId, MarketId};

    /// A market at 1,000 ticks (100 micros per tick-lot) whose bids are 10
    /// lots at each of 1,000, 990 and 980.
    fn market() -> Market {
        let mut p = btc_market("T", vec![]);
        p.index.initial_price = Price(1_000);
        p.depth.levels = 0;
        let tiers = p.validate().unwrap();
        let mut m = Market::new(MarketId(0), p, tiers, 1.0, RunSeed(1).stream(StreamKey::Index(MarketId(0))));
        let mut fills = Vec::new();
        for (i, price) in [1_000, 990, 980].into_iter().enumerate() {
            let id = cascade_framework::market::book::OrderId(i as u64);
            let order = Order {
                id,
                account: AccountId(9),
                side: Side::Buy,
                qty: Lots(10),
                kind: OrderKind::Limit { price: Price(price) },
            };
            m.book.submit(order, &mut fills);
        }
        m
    }

    #[test]
    fn hunt_profit_matches_hand_computation() {
        let m = market();
        // Push to 985: sell the 20 lots at 1,000 and 990 (average 995), bid
        // at 984. With 30 forced lots all 20 are bought back there:
        // 20 × (995 − 984) × 100 = 22,000, less the taker fee on 1,990,000
        // (995) and the maker fee on 1,968,000 (394): 20,611.
        assert_eq!(hunt_profit(&m, Price(985), Lots(30), 100), Some((20_611, Lots(20), Price(984))));
        // With only 5 forced lots, 15 are bought back at the mark:
        // 5 × 11 × 100 − 15 × 5 × 100 − 1,389 = −3,389.
        assert_eq!(hunt_profit(&m, Price(985), Lots(5), 100), Some((-3_389, Lots(20), Price(984))));
        // Out of reach: the push needs 20 lots and it may hold 15.
        assert_eq!(hunt_profit(&m, Price(985), Lots(30), 15), None);
    }

    #[test]
    fn walking_the_bids() {
        let m = market();
        assert_eq!(walk_bids(&m.book, Lots(15), Lots(0)), Some((Price(990), (10.0 * 1_000.0 + 5.0 * 990.0) / 15.0)));
        assert_eq!(walk_bids(&m.book, Lots(10), Lots(15)).map(|(p, _)| p), Some(Price(980)));
        assert_eq!(walk_bids(&m.book, Lots(31), Lots(0)), None);
    }
}
