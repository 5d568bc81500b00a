//! The one path by which any order reaches a book: agents' orders in the
//! Match phase, the background liquidity, and the liquidation engine all
//! call [`execute`]. It matches the order, charges fees, settles both sides
//! of every fill in the ledger (positions on a perpetual, base and quote on
//! a spot market), updates open interest, the last trade and
//! the tick's flow, and re-keys the liquidation triggers of every account
//! whose position changed.

use crate::accounts::ledger::{Ledger, TradeLeg};
use crate::accounts::triggers::{Triggers, terms_of};
use crate::core::units::{AccountId, Lots, MarketId, Micros, PPM, Ppm, div_ceil, narrow};
use crate::market::Markets;
use crate::market::book::{Execution, Fill, Order};

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
    let execution = markets.get_mut(market).book.submit(order, fills);
    let mut touched: Vec<AccountId> = Vec::with_capacity(fills.len() - start + 1);
    for fill in &fills[start..] {
        let m = markets.get(market);
        let notional = m.notional(fill.qty, fill.price);
        let maker_fee = fee(notional, m.params.fees.maker);
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
