//! Admission: whether an order may reach a venue. A trader's order on a
//! perpetual must leave initial margin covered (unless it lowers exposure);
//! on a spot market it must be fully funded. The sequencer checks every
//! order here, and the auction house checks its sales into the book.

use crate::accounts::health::terms_of;
use crate::accounts::ledger::{AccountKind, Ledger, MarginMode};
use crate::core::units::{Lots, MarketId, Side, div_ceil, narrow};
use crate::market::Markets;
use crate::market::book::{Order, OrderKind};

/// Whether `account` can carry `order` in `market`: always for system
/// accounts and for orders that do not raise exposure; otherwise initial
/// margin at the order's price must be covered. On a spot market see
/// [`passes_spot_check`].
pub fn passes_margin_check(ledger: &Ledger, markets: &Markets, market: MarketId, order: &Order) -> bool {
    let acct = ledger.account(order.account);
    if acct.kind == AccountKind::System {
        return true;
    }
    if markets.get(market).is_spot() {
        return passes_spot_check(ledger, markets, market, order);
    }
    let q0 = acct.qty(market).0;
    let q1 = q0 + order.side.sign() * order.qty.0;
    if q1.abs() <= q0.abs() && q1.signum() * q0.signum() >= 0 {
        return true;
    }
    let m = markets.get(market);
    let price = match order.kind {
        OrderKind::Limit { price } | OrderKind::Ioc { price } => price,
        OrderKind::Market => m.mark,
    };
    let terms = |id: MarketId| terms_of(markets, id);
    let price_of = |id: MarketId| if id == market { price } else { markets.get(id).mark };
    let fee = crate::exchange::execute::fee(m.notional(order.qty, price), m.params.fees.taker);
    match acct.mode {
        MarginMode::Isolated => {
            let added = Lots(q1.abs() - if q1.signum() == q0.signum() { q0.abs() } else { 0 });
            let notional = m.notional(added, price);
            let need =
                narrow(div_ceil(i128::from(notional.0), i128::from(acct.leverage))).max(m.tiers.initial(notional).0);
            acct.collateral.0 >= need + fee.0
        }
        MarginMode::Cross => {
            let equity = acct.equity(&terms, &price_of) - i128::from(fee.0);
            let im: i128 = acct
                .positions
                .iter()
                .filter(|p| p.market != market)
                .map(|p| {
                    let mm = markets.get(p.market);
                    i128::from(mm.tiers.initial(mm.notional(p.qty, mm.mark)).0)
                })
                .sum::<i128>()
                + i128::from(m.tiers.initial(m.notional(Lots(q1), price)).0);
            equity >= im
        }
    }
}

/// Whether a trader's order on a spot market is fully funded. Spot orders
/// of traders are immediate-or-cancel with a limit price (a market order
/// has no worst price, and a resting order's funds would not be reserved):
/// a buy needs the cash for every lot at the limit plus the taker fee, a
/// sell needs the base units.
pub fn passes_spot_check(ledger: &Ledger, markets: &Markets, market: MarketId, order: &Order) -> bool {
    let m = markets.get(market);
    let (Some(asset), OrderKind::Ioc { price }) = (m.asset, order.kind) else { return false };
    match order.side {
        Side::Buy => {
            let cost = m.notional(order.qty, price);
            let fee = crate::exchange::execute::fee(cost, m.params.fees.taker);
            ledger.account(order.account).collateral.0 >= cost.0.saturating_add(fee.0)
        }
        Side::Sell => ledger.held(order.account, asset) >= order.qty,
    }
}
