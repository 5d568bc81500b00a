//! The one path by which any order reaches a book: agents' orders in the
//! Match phase, the background liquidity, and the liquidation engine all
//! call [`execute`]. It matches the order, charges fees, settles both sides
//! of every fill in the ledger (positions on a perpetual, base and quote on
//! a spot market), updates open interest, the last trade and
//! the tick's flow, and re-keys the liquidation triggers of every account
//! whose position changed.

use crate::accounts::health::terms_of;
use crate::accounts::ledger::{Ledger, TradeLeg};
use crate::accounts::triggers::Triggers;
use crate::core::units::{AccountId, Lots, MarketId, Micros, PPM, Ppm, Price, Side, div_ceil, div_floor, narrow};
use crate::market::book::{Execution, Fill, Order, OrderKind};
use crate::market::perp::AmmVenue;
use crate::market::{Market, Markets};

/// Fee on `notional` at `rate`, rounded toward the fee pool (up for a fee,
/// toward zero for a rebate).
pub fn fee(notional: Micros, rate: Ppm) -> Micros {
    Micros(narrow(div_ceil(i128::from(notional.0) * i128::from(rate.0), i128::from(PPM))))
}

/// Who is trading, for the taker's fee.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TakerFee {
    /// The market's taker fee.
    Market,
    /// No taker fee: liquidation orders pay the protocol's penalty instead.
    Waived,
}

/// Matches `order` in `market` and settles its fills. Fills are appended to
/// `fills` (the caller may clear it first).
pub fn execute(
    markets: &mut Markets,
    ledger: &mut Ledger,
    triggers: &mut Triggers,
    market: MarketId,
    order: Order,
    taker_fee: TakerFee,
    fills: &mut Vec<Fill>,
) -> Execution {
    let start = fills.len();
    // A pool fills at most once, for an exact quote amount.
    let mut swapped = None;
    let execution = match markets.get(market).amm {
        Some(venue) => {
            let m = markets.get_mut(market);
            let (execution, quote) = swap(m, venue, order, fills);
            swapped = quote;
            execution
        }
        None => markets.get_mut(market).book.submit(order, fills),
    };
    let mut touched: smallvec::SmallVec<[AccountId; 4]> = smallvec::SmallVec::new();
    for fill in &fills[start..] {
        let m = markets.get(market);
        let notional = swapped.unwrap_or_else(|| m.notional(fill.qty, fill.price));
        // A pool's reserves move only by the swap: it pays no maker fee.
        let maker_fee = if m.amm.is_some() { Micros(0) } else { fee(notional, m.params.fees.maker) };
        let taker_fee = match taker_fee {
            TakerFee::Market => fee(notional, m.params.fees.taker),
            TakerFee::Waived => Micros(0),
        };
        if let Some(asset) = m.asset {
            // Spot: base units one way, quote the other; no position.
            let side = fill.taker_side;
            ledger.apply_spot_trade(fill.maker, asset, side.opposite(), fill.qty, notional, maker_fee);
            ledger.apply_spot_trade(fill.taker, asset, side, fill.qty, notional, taker_fee);
        } else {
            let terms = terms_of(markets, market);
            let before =
                ledger.account(fill.maker).qty(market).0.max(0) + ledger.account(fill.taker).qty(market).0.max(0);
            let leg = |side, fee| TradeLeg { side, qty: fill.qty, price: fill.price, fee };
            ledger.apply_trade(fill.maker, market, terms, leg(fill.taker_side.opposite(), maker_fee));
            ledger.apply_trade(fill.taker, market, terms, leg(fill.taker_side, taker_fee));
            let after =
                ledger.account(fill.maker).qty(market).0.max(0) + ledger.account(fill.taker).qty(market).0.max(0);
            markets.get_mut(market).open_interest += Lots(after - before);
        }
        let m = markets.get_mut(market);
        m.last_trade = Some(fill.price);
        m.flow.volume += fill.qty;
        m.flow.notional += notional;
        m.flow.n_fills += 1;
        m.flow.signed += fill.taker_side.sign() * fill.qty.0;
        if !touched.contains(&fill.maker) {
            touched.push(fill.maker);
        }
    }
    if execution.filled.0 > 0 {
        touched.push(order.account);
    }
    for account in touched {
        triggers.rekey(account, ledger, markets);
    }
    execution
}

/// A swap of `order` against a pool: the largest amount within the
/// order's limit ([`crate::market::amm::Pool::swap_within`]), as one fill
/// with the pool's account as maker at the average price (rounded to the
/// nearest tick), and the exact quote amount. The reserves move here; the
/// ledger moves the same amounts between the accounts.
fn swap(m: &mut Market, venue: AmmVenue, order: Order, fills: &mut Vec<Fill>) -> (Execution, Option<Micros>) {
    let limit = match order.kind {
        OrderKind::Ioc { price } | OrderKind::Limit { price } => price,
        OrderKind::Market => Price(if order.side == Side::Buy { i64::MAX / 2 } else { 1 }),
    };
    let tv = m.params.tick_value;
    let Some((qty, quote)) = venue.pool.swap_within(order.side, order.qty, limit, tv) else {
        return (Execution { filled: Lots(0), rested: Lots(0), cancelled: order.qty }, None);
    };
    let per_tick_lot = i128::from(qty.0) * i128::from(tv.0);
    let price = Price(narrow(div_floor(2 * i128::from(quote.0) + per_tick_lot, 2 * per_tick_lot)));
    let pool = &mut m.amm.as_mut().expect("a pool venue").pool;
    pool.apply(order.side, qty, quote);
    fills.push(Fill {
        maker_order: order.id,
        maker: venue.account,
        taker: order.account,
        taker_side: order.side,
        price,
        qty,
    });
    (Execution { filled: qty, rested: Lots(0), cancelled: Lots(order.qty.0 - qty.0) }, Some(quote))
}
