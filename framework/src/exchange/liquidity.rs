//! Background liquidity: the resting depth a market has before any market
//! maker exists, and its optional refresh.
//!
//! The orders of a market's [`DepthProfile`](crate::market::depth::DepthProfile)
//! belong to one system account per market, which is never liquidated. When
//! `refresh_ticks` is positive, every `refresh_ticks` ticks the provider
//! cancels what is left of its orders and lays the profile again around the
//! current index: depth consumed between refreshes stays consumed, so a burst
//! of forced selling walks down a thinning book and liquidity recovers only at
//! the next refresh.

use crate::accounts::ledger::Ledger;
use crate::accounts::triggers::Triggers;
use crate::core::clock::Clock;
use crate::core::units::{AccountId, Lots, MarketId, PPM, Price, Side, div_ceil};
use crate::exchange::execute::{TakerFee, execute};
use crate::exchange::sequencer::OrderQueue;
use crate::market::Markets;
use crate::market::book::{Fill, Order, OrderKind};
use bevy_ecs::prelude::*;

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
    if markets.get(market).amm.is_some() {
        return; // a pool has no book to lay
    }
    markets.get_mut(market).book.cancel_all(provider);
    let m = markets.get(market);
    let mut orders = m.params.depth.orders(m.index.price);
    if let Some(asset) = m.asset {
        // On a spot market the provider is funded like anyone: it lays no
        // more asks than the base it holds, nor bids it cannot pay for,
        // best levels first.
        let mut base = ledger.held(provider, asset).0;
        let mut cash = i128::from(ledger.account(provider).collateral.0);
        // A lot's cost with the taker fee, in case the bid crosses.
        let taker = i128::from(m.params.fees.taker.0.max(0));
        let per_lot = |p: Price| {
            let cost = i128::from(p.0) * i128::from(m.params.tick_value.0);
            cost + div_ceil(cost * taker, i128::from(PPM))
        };
        for (side, price, qty) in &mut orders {
            let fit = match side {
                Side::Sell => base.min(qty.0),
                Side::Buy => i64::try_from((cash / per_lot(*price).max(1)).min(i128::from(qty.0))).unwrap_or(0),
            };
            *qty = Lots(fit.max(0));
            match side {
                Side::Sell => base -= qty.0,
                Side::Buy => cash -= i128::from(qty.0) * per_lot(*price),
            }
        }
        orders.retain(|(_, _, q)| q.0 > 0);
    }
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
