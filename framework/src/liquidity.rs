//! Background liquidity: the resting depth a market has before any market
//! maker exists, and its optional refresh.
//!
//! A [`DepthProfile`] lays `levels` bids and asks around a centre price:
//! level `k` (from 0) sits `half_spread_ticks + k × spacing_ticks` from the
//! centre and holds `round(lots_at_best × growth^k)` lots (at least one).
//! The orders belong to one system account per market, which is never
//! liquidated. When `refresh_ticks` is positive, every `refresh_ticks` ticks
//! the provider cancels what is left of its orders and lays the profile
//! again around the current index: depth consumed between refreshes stays
//! consumed, so a burst of forced selling walks down a thinning book and
//! liquidity recovers only at the next refresh.

use crate::book::{Fill, Order, OrderKind};
use crate::error::ParamError;
use crate::exchange::{TakerFee, execute};
use crate::ledger::Ledger;
use crate::market::Markets;
use crate::sequencer::OrderQueue;
use crate::sim::Clock;
use crate::triggers::Triggers;
use crate::units::{AccountId, Lots, MarketId, Micros, Price, Side, round_to_i64};
use bevy_ecs::prelude::*;
use serde::{Deserialize, Serialize};

/// The shape of resting depth around a centre price.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct DepthProfile {
    /// Ticks from the centre to the best bid and to the best ask.
    pub half_spread_ticks: i64,
    /// Levels per side; 0 leaves the book empty.
    pub levels: u32,
    /// Ticks between adjacent levels.
    pub spacing_ticks: i64,
    /// Lots at the best level.
    pub lots_at_best: i64,
    /// Size ratio from one level to the next: 1 is flat, above 1 thickens
    /// away from the centre.
    pub growth: f64,
    /// Ticks between refreshes around the index; 0 never refreshes.
    pub refresh_ticks: u64,
    /// Collateral of the provider account, micros.
    pub provider_collateral: Micros,
}

impl Default for DepthProfile {
    fn default() -> DepthProfile {
        DepthProfile {
            half_spread_ticks: 5,
            levels: 50,
            spacing_ticks: 10,
            lots_at_best: 50,
            growth: 1.05,
            refresh_ticks: 10,
            provider_collateral: Micros(1_000_000_000_000_000),
        }
    }
}

impl DepthProfile {
    /// Checks the profile.
    pub fn validate(&self) -> Result<(), ParamError> {
        if self.half_spread_ticks < 1 {
            return Err(ParamError::invalid("half_spread_ticks", "must be at least 1, or bids and asks would cross"));
        }
        if self.spacing_ticks < 1 {
            return Err(ParamError::invalid("spacing_ticks", "must be at least 1"));
        }
        if self.lots_at_best < 0 {
            return Err(ParamError::invalid("lots_at_best", "must be non-negative"));
        }
        if !(self.growth.is_finite() && self.growth > 0.0) {
            return Err(ParamError::invalid("growth", "must be positive"));
        }
        if self.provider_collateral.0 < 0 {
            return Err(ParamError::invalid("provider_collateral", "must be non-negative"));
        }
        Ok(())
    }

    /// The orders of the profile around `centre`: (side, price, lots),
    /// best levels first.
    pub fn orders(&self, centre: Price) -> Vec<(Side, Price, Lots)> {
        let mut out = Vec::with_capacity(2 * self.levels as usize);
        for k in 0..self.levels {
            let offset = self.half_spread_ticks + i64::from(k) * self.spacing_ticks;
            let lots = self.lots_at_best as f64 * self.growth.powi(i32::try_from(k).unwrap_or(i32::MAX));
            let lots = Lots(round_to_i64(lots).max(1));
            if self.lots_at_best == 0 {
                continue;
            }
            if centre.0 - offset > 0 {
                out.push((Side::Buy, Price(centre.0 - offset), lots));
            }
            out.push((Side::Sell, Price(centre.0 + offset), lots));
        }
        out
    }
}

/// The provider account of each market.
#[derive(Resource, Clone, Debug, Default)]
pub struct Liquidity {
    /// Provider account per market.
    pub providers: Vec<AccountId>,
}

/// Lays market `market`'s profile around its index, replacing the
/// provider's previous orders.
pub fn lay_depth(
    market: MarketId,
    provider: AccountId,
    markets: &mut Markets,
    ledger: &mut Ledger,
    triggers: &mut Triggers,
    queue: &mut OrderQueue,
) {
    markets.get_mut(market).book.cancel_all(provider);
    let m = markets.get(market);
    let orders = m.params.depth.orders(m.index.price);
    let mut fills: Vec<Fill> = Vec::new();
    for (side, price, qty) in orders {
        let order = Order { id: queue.next_order_id(), account: provider, side, qty, kind: OrderKind::Limit { price } };
        fills.clear();
        execute(markets, ledger, triggers, market, order, TakerFee::Market, &mut fills);
    }
}

/// Exogenous-phase system: refreshes each market's background depth on its
/// schedule.
pub fn refresh_depth(
    clock: Res<Clock>,
    liquidity: Res<Liquidity>,
    mut markets: ResMut<Markets>,
    mut ledger: ResMut<Ledger>,
    mut triggers: ResMut<Triggers>,
    mut queue: ResMut<OrderQueue>,
) {
    for (i, provider) in liquidity.providers.iter().enumerate() {
        let market = MarketId(u16::try_from(i).expect("fewer than 65,536 markets"));
        let every = markets.get(market).params.depth.refresh_ticks;
        if every > 0 && clock.tick > 0 && clock.tick.is_multiple_of(every) && !markets.get(market).is_halted(clock.tick)
        {
            lay_depth(market, *provider, &mut markets, &mut ledger, &mut triggers, &mut queue);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn profile_levels_and_sizes() {
        let p = DepthProfile {
            half_spread_ticks: 2,
            levels: 3,
            spacing_ticks: 5,
            lots_at_best: 10,
            growth: 2.0,
            ..DepthProfile::default()
        };
        let o = p.orders(Price(100));
        assert_eq!(
            o,
            vec![
                (Side::Buy, Price(98), Lots(10)),
                (Side::Sell, Price(102), Lots(10)),
                (Side::Buy, Price(93), Lots(20)),
                (Side::Sell, Price(107), Lots(20)),
                (Side::Buy, Price(88), Lots(40)),
                (Side::Sell, Price(112), Lots(40)),
            ]
        );
    }
}
