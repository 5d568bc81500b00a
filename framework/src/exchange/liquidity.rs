//! Background liquidity: the resting depth a market has before any market
//! maker exists, and its optional refresh.
//!
//! The orders of a market's [`DepthProfile`](crate::market::depth::DepthProfile)
//! belong to one system account per market, which is never liquidated. The
//! profile is laid around the market's **anchor**
//! ([`DepthAnchor`]): its index (for a spot venue, the latent fundamental),
//! or a price that traders see, the venue's own mid or last trade. An
//! observed anchor may be averaged: with half-life `h` ticks the centre is
//! the exponential moving average
//!
//! ```text
//! A_t = A_{t−1} + α (x_t − A_{t−1}),   α = 1 − 2^(−1/h)
//! ```
//!
//! of the observation `x_t` (mid or last trade, as the previous tick left
//! the book), rounded to a tick; without a half-life `A_t = x_t`. A tick
//! with nothing to observe (a side of the book empty, no trade yet) leaves
//! `A` where it was. The ladder moves to `A` once `A` is at least
//! `half_spread_ticks` from where it was laid: a trade at the best bid or
//! ask, the bid-ask bounce, does not move it, as a liquidity provider does
//! not re-quote inside its own spread. A provider anchored to what it sees knows no more than
//! the traders: the price it is centred on moves with the trades that hit
//! it, so the impact of forced selling stays in the price until traders who
//! know better (value traders, arbitrageurs) trade it back. Anchored to the
//! index of a spot venue, it knows the latent value, and every fall is
//! pulled back to it: that anchor is kept for comparisons.
//!
//! When `refresh_ticks` is positive, every `refresh_ticks` ticks the
//! provider cancels what is left of its orders and lays the profile again
//! around the current anchor: depth consumed between refreshes stays
//! consumed, so a burst of forced selling walks down a thinning book and
//! liquidity recovers only at the next refresh.
//!
//! With `resilience: ρ` the book also refills between refreshes, as in
//! Obizhaeva and Wang (2013). Every tick, on each side, the provider's
//! shortfall from the profile around the current anchor is
//! `S = Σ_k max(0, lots_k − resting_k)` lots over the profile's levels; it
//! puts back `R = ⌈ρ S⌉` lots. The consumed volume thus decays
//! geometrically, `S ← (1 − ρ) S` a tick (half-life `ln 2 / −ln(1 − ρ)`
//! ticks). Where the refill goes depends on what the provider knows:
//! - Anchored to the **index**, from the far end of the gap inwards: the
//!   consumed level farthest from the anchor is topped up to its profile
//!   first, then the next one in, until `R` is placed. The displaced best
//!   quote walks back towards the anchor as the gap closes behind it, as
//!   the displacement of Obizhaeva and Wang's book decays, and only as
//!   fast as the depth comes back.
//! - Anchored to an **observed** price, from the inside out: new orders
//!   arrive at the best levels first, as limit orders arrive near the
//!   quotes in the zero-intelligence models (Farmer, Patelli and Zovko
//!   2005). A provider that re-centres on its own trades and refilled its
//!   far levels first would put its depth where only a forced seller
//!   takes it, and each such fill would pull its centre further down.
//!
//! The consumed shape moves with the anchor. When the anchor has moved since
//! the ladder was laid, the lots resting at level `k` of each side (counted
//! at the old prices, at most the profile's `lots_k`) are laid again at
//! level `k` around the new anchor, with the refill on top. Without this,
//! levels laid around an old anchor would stay in the book as the anchor
//! moved, and a book never re-laid would pin the price near where it
//! started.

use crate::accounts::ledger::Ledger;
use crate::accounts::triggers::Triggers;
use crate::core::clock::Clock;
use crate::core::units::{AccountId, Lots, MarketId, PPM, Price, Side, div_ceil, round_to_i64};
use crate::exchange::execute::{TakerFee, execute};
use crate::exchange::sequencer::OrderQueue;
use crate::market::Markets;
use crate::market::book::{Fill, Order, OrderKind};
use crate::market::depth::DepthAnchor;
use crate::market::perp::Market;
use bevy_ecs::prelude::*;

/// The provider account of each market.
#[derive(Resource, Clone, Debug, Default)]
pub struct Liquidity {
    /// Provider account per market.
    pub providers: Vec<AccountId>,
    /// Per market, the price the provider's ladder was last laid or moved
    /// around.
    pub anchors: Vec<Price>,
    /// Per market, the unrounded anchor `A` of the module docs: the moving
    /// average of the observed price (the index price for `anchor: index`).
    pub references: Vec<f64>,
}

impl Liquidity {
    /// The providers of `providers.len()` markets whose ladders were laid
    /// around `anchors`, which also start the anchors' averages.
    pub fn new(providers: Vec<AccountId>, anchors: Vec<Price>) -> Liquidity {
        let references = anchors.iter().map(|p| p.0 as f64).collect();
        Liquidity { providers, anchors, references }
    }
}

/// Market `m`'s anchor this tick, for a ladder laid around `laid`: takes
/// the observation of its [`DepthAnchor`] into the average `reference`
/// and returns the centre to lay the profile around, which stays `laid`
/// while an observed anchor is within a half-spread of it.
pub fn observe_anchor(m: &Market, reference: &mut f64, laid: Price) -> Price {
    let depth = &m.params.depth;
    let seen = match depth.anchor {
        DepthAnchor::Index => {
            *reference = m.index.price.0 as f64;
            return m.index.price;
        }
        DepthAnchor::Mid => m.view_mid(),
        DepthAnchor::LastTrade => m.last_trade,
    };
    if let Some(x) = seen {
        // With weight 1 this is `x` exactly: prices are far below 2^53.
        *reference += depth.anchor_weight() * (x.0 as f64 - *reference);
    }
    let centre = Price(round_to_i64(*reference).max(1));
    // The bid-ask bounce of an observed price does not move the ladder.
    if (centre.0 - laid.0).abs() < depth.half_spread_ticks { laid } else { centre }
}

/// Lays market `market`'s profile around `centre`, replacing the
/// provider's previous orders, and returns the centre.
pub fn lay_depth(
    market: MarketId,
    provider: AccountId,
    centre: Price,
    markets: &mut Markets,
    ledger: &mut Ledger,
    triggers: &mut Triggers,
    queue: &mut OrderQueue,
) -> Price {
    if markets.get(market).amm.is_some() {
        return centre; // a pool has no book to lay
    }
    markets.get_mut(market).book.cancel_all(provider);
    let orders = markets.get(market).params.depth.orders(centre);
    place_funded(market, provider, orders, markets, ledger, triggers, queue);
    centre
}

/// Places the provider's limit orders `orders` (side, price, lots) in
/// `market`, trimmed on a spot market to what it can fund.
fn place_funded(
    market: MarketId,
    provider: AccountId,
    mut orders: Vec<(Side, Price, Lots)>,
    markets: &mut Markets,
    ledger: &mut Ledger,
    triggers: &mut Triggers,
    queue: &mut OrderQueue,
) {
    let m = markets.get(market);
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

/// Tops up the provider's levels in `market` by the resilience rule of the
/// module docs, moving them first from the ladder laid around `anchor` to
/// the same ladder around `centre`. Returns the new anchor.
#[allow(clippy::too_many_arguments, reason = "the provider's resources, borrowed apart")]
pub fn replenish_depth(
    market: MarketId,
    provider: AccountId,
    anchor: Price,
    centre: Price,
    markets: &mut Markets,
    ledger: &mut Ledger,
    triggers: &mut Triggers,
    queue: &mut OrderQueue,
) -> Price {
    let m = markets.get(market);
    let rho = m.params.depth.resilience;
    if m.amm.is_some() {
        return anchor;
    }
    if rho <= 0.0 {
        // Without refill, an observed anchor still carries the consumed
        // ladder with it; the index anchor moves only at the refresh, as
        // it always has.
        if m.params.depth.anchor == DepthAnchor::Index || centre == anchor {
            return anchor;
        }
    }
    let depth = &m.params.depth;
    // What rests at each level of the ladder around the anchor, and the
    // profile around the current index: level `k` of a side is the `k`-th
    // entry of that side in both (a bid level at or below price 0 is left
    // out of both, and only at the far end).
    let held: Vec<(Side, Lots)> = depth
        .orders(anchor)
        .into_iter()
        .map(|(side, price, _)| (side, m.book.resting_at(provider, side, price)))
        .collect();
    let mut orders = depth.orders(centre);
    let moved = centre != anchor;
    // Per side, the lots kept at each level (moved with the index), and the
    // shortfall from the profile.
    let mut keep: Vec<Lots> = vec![Lots(0); orders.len()];
    for side in [Side::Buy, Side::Sell] {
        let mut before = held.iter().filter(|h| h.0 == side).map(|h| h.1);
        for (i, o) in orders.iter().enumerate().filter(|(_, o)| o.0 == side) {
            keep[i] = before.next().unwrap_or(Lots(0)).min(o.2);
        }
    }
    for (o, k) in orders.iter_mut().zip(&keep) {
        o.2 = Lots(o.2.0 - k.0);
    }
    for side in [Side::Buy, Side::Sell] {
        // A level holds at most ~10^12 lots and there are at most 10^5 a
        // side: the sum fits i64.
        let short: i64 = orders.iter().filter(|o| o.0 == side).map(|o| o.2.0).sum();
        let mut refill = round_to_i64((rho * short as f64).ceil()).clamp(0, short);
        // Far levels first around the index, near levels first around an
        // observed anchor (module docs).
        let mut put_back = |lots: &mut Lots| {
            let put = lots.0.min(refill);
            refill -= put;
            *lots = Lots(put);
        };
        let levels = orders.iter_mut().filter(|o| o.0 == side).map(|o| &mut o.2);
        if depth.anchor == DepthAnchor::Index {
            levels.rev().for_each(&mut put_back);
        } else {
            levels.for_each(&mut put_back);
        }
    }
    if moved {
        // The consumed shape moves with the index: the kept lots are laid
        // again at the new prices, with the refill on top.
        markets.get_mut(market).book.cancel_all(provider);
        for (o, k) in orders.iter_mut().zip(&keep) {
            o.2 = Lots(o.2.0 + k.0);
        }
    }
    orders.retain(|(_, _, q)| q.0 > 0);
    if !orders.is_empty() {
        place_funded(market, provider, orders, markets, ledger, triggers, queue);
    }
    centre
}

/// Exogenous-phase system: refreshes each market's background depth on its
/// schedule, and refills it by its resilience in the other ticks.
pub fn refresh_depth(
    clock: Res<Clock>,
    mut liquidity: ResMut<Liquidity>,
    mut markets: ResMut<Markets>,
    mut ledger: ResMut<Ledger>,
    mut triggers: ResMut<Triggers>,
    mut queue: ResMut<OrderQueue>,
) {
    let Liquidity { providers, anchors, references } = &mut *liquidity;
    for (i, ((provider, anchor), reference)) in providers.iter().zip(anchors.iter_mut()).zip(references).enumerate() {
        let market = MarketId(u16::try_from(i).expect("fewer than 65,536 markets"));
        let every = markets.get(market).params.depth.refresh_ticks;
        if markets.get(market).is_halted(clock.tick) || clock.tick == 0 {
            continue;
        }
        let centre = observe_anchor(markets.get(market), reference, *anchor);
        if every > 0 && clock.tick.is_multiple_of(every) {
            *anchor = lay_depth(market, *provider, centre, &mut markets, &mut ledger, &mut triggers, &mut queue);
        } else {
            *anchor = replenish_depth(
                market,
                *provider,
                *anchor,
                centre,
                &mut markets,
                &mut ledger,
                &mut triggers,
                &mut queue,
            );
        }
    }
}
