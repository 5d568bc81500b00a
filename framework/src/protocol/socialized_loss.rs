//! Socialised loss ([`Backstop::SocializedLoss`](crate::protocol::params::Backstop::SocializedLoss)):
//! once at the end of each tick that leaves bad debt uncovered, a pro-rata
//! haircut of profits. Every trader account with positive PnL
//! (equity − deposits) pays `uncovered × PnL_i / Σ PnL`, rounded down, the
//! remainder a micro each to the largest profits first, up to the total
//! profit. It scans every account, once per such tick, however many
//! bankruptcies the tick had.

use crate::accounts::health::terms_of;
use crate::accounts::ledger::{AccountKind, Ledger};
use crate::core::event::{EventKind, LiquidationEvent};
use crate::core::units::{AccountId, Lots, MarketId, Micros, Side, narrow};
use crate::market::Markets;
use crate::protocol::hooks::{Cx, Mechanism};

/// The socialised-loss hook.
#[derive(Clone, Copy, Debug, Default)]
pub struct SocializedLoss;

impl Mechanism for SocializedLoss {
    fn name(&self) -> &'static str {
        "socialized_loss"
    }

    /// Writes one `socialized_loss` event (`qty`: accounts that paid;
    /// `covered`: the total taken), attributed to the first market that had
    /// bad debt this tick.
    fn end_tick(&mut self, cx: &mut Cx<'_>) {
        if cx.ledger.uncovered_bad_debt.0 <= 0 {
            return;
        }
        let owed = cx.ledger.uncovered_bad_debt;
        let haircuts = socialize(cx.ledger, cx.markets, owed);
        if haircuts.is_empty() {
            return;
        }
        let total: Micros = haircuts.iter().map(|(_, c)| *c).sum();
        cx.ledger.uncovered_bad_debt -= total;
        let market = cx
            .log
            .totals
            .iter()
            .position(|t| t.bad_debt.0 > 0)
            .map_or(MarketId(0), |i| MarketId(u16::try_from(i).expect("market id fits")));
        cx.log.totals[market.idx()].socialized += total;
        let payers = Lots(i64::try_from(haircuts.len()).unwrap_or(i64::MAX));
        let mark = cx.markets.get(market).mark;
        cx.log.events.push(LiquidationEvent {
            covered: total,
            uncovered: cx.ledger.uncovered_bad_debt,
            ..LiquidationEvent::new(
                EventKind::SocializedLoss,
                cx.tick,
                cx.log.rounds,
                haircuts[0].0,
                market,
                Side::Buy,
                payers,
                mark,
            )
        });
        for (payer, _) in haircuts {
            cx.triggers.rekey(payer, cx.ledger, cx.markets);
        }
    }
}

/// Takes up to `amount` from the profits of trader accounts, pro rata (see the module docs). A haircut comes out of free collateral
/// first, then out of position margins.
fn socialize(ledger: &mut Ledger, markets: &Markets, amount: Micros) -> Vec<(AccountId, Micros)> {
    let terms = |m: MarketId| terms_of(markets, m);
    let price_of = |m: MarketId| markets.get(m).mark;
    // This scans every account: it runs once at the end of a tick that left
    // bad debt uncovered.
    let mut profits: Vec<(i128, AccountId)> = ledger
        .accounts
        .iter()
        .enumerate()
        .filter(|(_, a)| a.kind == AccountKind::Trader)
        .map(|(i, a)| {
            (a.equity(&terms, &price_of) - i128::from(a.deposited.0), AccountId(u32::try_from(i).expect("fits")))
        })
        .filter(|(p, _)| *p > 0)
        .collect();
    let total: i128 = profits.iter().map(|(p, _)| *p).sum();
    if total == 0 {
        return Vec::new();
    }
    let take = i128::from(amount.0).min(total);
    profits.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    let mut cuts: Vec<(AccountId, i128)> = profits.iter().map(|(p, a)| (*a, take * p / total)).collect();
    let mut rest = take - cuts.iter().map(|(_, c)| c).sum::<i128>();
    for (i, (_, c)) in cuts.iter_mut().enumerate() {
        if rest == 0 {
            break;
        }
        if *c < profits[i].0 {
            *c += 1;
            rest -= 1;
        }
    }
    let mut out = Vec::with_capacity(cuts.len());
    for (a, c) in cuts {
        if c == 0 {
            continue;
        }
        let cut = Micros(narrow(c));
        let acct = ledger.account_mut(a);
        let from_free = Micros(cut.0.min(acct.collateral.0.max(0)));
        acct.collateral -= from_free;
        let mut left = cut - from_free;
        for p in acct.positions.iter_mut() {
            let m = Micros(left.0.min(p.margin.0.max(0)));
            p.margin -= m;
            left -= m;
        }
        acct.collateral -= left;
        out.push((a, cut));
    }
    out
}

#[cfg(test)]
mod tests {
    use crate::engine::testing::*;

    #[test]
    fn socialized_loss_takes_uncovered_bad_debt_from_profits() {
        use crate::protocol::Backstop;
        // The same cascade as above: 31 and then 100 of bad debt find the fund
        // empty. At the end of the tick the only trader in profit, the seller
        // (short from about 991 to 800), pays all 131, and nothing is left
        // uncovered.
        let (sim, [.., seller]) = shocked(|p| p.backstop = Backstop::SocializedLoss);
        let l = sim.ledger();
        assert_eq!(l.uncovered_bad_debt, Micros(0));
        assert_eq!(l.covered_bad_debt, Micros(295));
        assert_eq!(l.account(seller).collateral, Micros(1_000_000_000 - 131));
        let out = sim.finish().unwrap();
        let kinds: Vec<String> =
            out.events.column("kind").unwrap().str().unwrap().iter().map(|k| k.unwrap().to_owned()).collect();
        assert_eq!(kinds, ["liquidation", "liquidation", "liquidation", "liquidation", "socialized_loss"]);
        assert_eq!(out.events.column("covered").unwrap().i64().unwrap().get(4), Some(131));
        assert_eq!(out.events.column("qty").unwrap().i64().unwrap().get(4), Some(1));
        assert_eq!(out.events.column("account").unwrap().u32().unwrap().get(4), Some(seller.0));
        let social: i64 = out.ticks.column("socialized_loss").unwrap().i64().unwrap().into_no_null_iter().sum();
        assert_eq!(social, 131);
    }
}
