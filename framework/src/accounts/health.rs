//! An account's health: the ledger's view of a market's terms, and whether
//! an account is below maintenance margin at current marks. The trigger
//! index finds candidates fast; this is the exact check they all pass, and
//! what the exchange, the protocol and the recorder read.

use crate::accounts::ledger::{AccountKind, Ledger, MarginMode, MarketTerms};
use crate::core::units::{AccountId, MarketId, PPM};
use crate::market::Markets;

/// The ledger's view of market `m`.
pub fn terms_of(markets: &Markets, m: MarketId) -> MarketTerms<'_> {
    let market = markets.get(m);
    MarketTerms { tick_value: market.params.tick_value, funding_index: market.funding_index, tiers: &market.tiers }
}

/// Whether `account` is below maintenance margin at current marks: per
/// position under isolated margin (returns the first such market), on the
/// whole account under cross margin (returns `MarketId` of its first
/// position).
pub fn below_maintenance(account: AccountId, ledger: &Ledger, markets: &Markets) -> Option<MarketId> {
    let acct = ledger.account(account);
    if acct.kind == AccountKind::System {
        return None;
    }
    let terms = |m: MarketId| terms_of(markets, m);
    let price_of = |m: MarketId| markets.get(m).mark;
    match acct.mode {
        MarginMode::Isolated => acct.positions.iter().find_map(|p| {
            let line = acct.margin_line(p.market, &terms, &price_of)?;
            line.is_liquidatable(markets.get(p.market).mark).then_some(p.market)
        }),
        MarginMode::Cross => {
            let equity = acct.equity(&terms, &price_of);
            let mm: i128 = acct
                .positions
                .iter()
                .map(|p| {
                    let m = markets.get(p.market);
                    m.tiers.maintenance_scaled(i128::from(m.notional(p.qty, m.mark).0))
                })
                .sum();
            // An account with no position has nothing to close, whatever its cash.
            let first = acct.positions.first()?;
            (equity * i128::from(PPM) < mm).then_some(first.market)
        }
    }
}
