//! Auto-deleveraging ([`Backstop::Adl`](crate::protocol::params::Backstop::Adl)):
//! a liquidation sells into the book only down to the position's bankruptcy
//! price (an IOC order there); what the book cannot take is closed at the
//! bankruptcy price against the opposite trader positions, ranked by
//! `PnL% × effective leverage` when `PnL% > 0` and by
//! `PnL% ÷ effective leverage` otherwise, highest first (ties by account).
//! `PnL%` is unrealised PnL over the position's cost; effective leverage is
//! its notional over the equity backing it. No bad debt arises beyond
//! rounding; system accounts are not deleveraged.

use crate::accounts::health::terms_of;
use crate::accounts::ledger::{AccountKind, TradeLeg};
use crate::core::event::{EventKind, LiquidationEvent};
use crate::core::units::{AccountId, Lots, MarketId, Micros, Side};
use crate::market::margin::MarginLine;
use crate::protocol::hooks::{Closing, Cx, Mechanism, Route};

/// The auto-deleveraging hook, with the queue of the current round per
/// (market, side of the positions it holds).
#[derive(Clone, Debug, Default)]
pub struct AutoDeleveraging {
    queues: Vec<(MarketId, Side, u32, Vec<AccountId>)>,
}

impl Mechanism for AutoDeleveraging {
    fn name(&self) -> &'static str {
        "adl"
    }

    fn begin_tick(&mut self, _cx: &mut Cx<'_>) {
        self.queues.clear();
    }

    fn route(&self, _cx: &Cx<'_>, c: &Closing, _line: &MarginLine<'_>) -> Option<Route> {
        c.bankruptcy_price.map(|price| Route::Book { limit: Some(price) })
    }

    fn unfilled(&mut self, cx: &mut Cx<'_>, c: &Closing, _route: Route, lots: Lots) -> Lots {
        match c.bankruptcy_price {
            Some(price) => self.deleverage(cx, c.account, c.market, c.side, lots, price),
            None => Lots(0),
        }
    }

    fn closes_off_book(&self) -> bool {
        true
    }
}

impl AutoDeleveraging {
    /// The opposite trader positions of `market` on `queue_side`, best
    /// ranked first; ranked once per round and market side, like the
    /// exchanges' periodically published ADL indicator. Ranking scans every
    /// account, and happens only when a liquidation cannot fill at its
    /// bankruptcy price.
    fn ranked(&mut self, cx: &Cx<'_>, market: MarketId, queue_side: Side) -> Vec<AccountId> {
        let cached = self.queues.iter().position(|(m, s, r, _)| *m == market && *s == queue_side && *r == cx.round);
        if let Some(k) = cached {
            return self.queues[k].3.clone();
        }
        let markets = &*cx.markets;
        let m = markets.get(market);
        let (mark, tick_value, funding) = (m.mark, i128::from(m.params.tick_value.0), i128::from(m.funding_index.0));
        let terms = |id: MarketId| terms_of(markets, id);
        let price_of = |id: MarketId| markets.get(id).mark;
        let mut scored: Vec<(f64, AccountId)> = cx
            .ledger
            .accounts
            .iter()
            .enumerate()
            .filter(|(_, a)| a.kind == AccountKind::Trader)
            .filter_map(|(i, a)| {
                let p = a.position(market)?;
                if p.qty.0.signum() != queue_side.sign() {
                    return None;
                }
                let q = i128::from(p.qty.0);
                let upnl = q * tick_value * i128::from(mark.0)
                    - i128::from(p.cost.0)
                    - q * (funding - i128::from(p.funding_index.0));
                let pnl_pct = upnl as f64 / (i128::from(p.cost.0).abs().max(1)) as f64;
                let equity = a.margin_line(market, &terms, &price_of)?.equity(mark);
                let notional = (q.abs() * tick_value * i128::from(mark.0)) as f64;
                let leverage = if equity > 0 { notional / equity as f64 } else { f64::INFINITY };
                let score = if pnl_pct > 0.0 { pnl_pct * leverage } else { pnl_pct / leverage };
                Some((score, AccountId(u32::try_from(i).expect("fits"))))
            })
            .collect();
        scored.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
        let ranked: Vec<AccountId> = scored.into_iter().map(|(_, a)| a).collect();
        self.queues.push((market, queue_side, cx.round, ranked.clone()));
        ranked
    }

    /// Closes up to `lots` of `bankrupt`'s position in `market` (on `side`)
    /// at `price` against the ranked opposite positions. Returns the lots
    /// closed.
    fn deleverage(
        &mut self,
        cx: &mut Cx<'_>,
        bankrupt: AccountId,
        market: MarketId,
        side: Side,
        lots: Lots,
        price: crate::core::units::Price,
    ) -> Lots {
        let mark = cx.markets.get(market).mark;
        let queue_side = side.opposite();
        let ranked = self.ranked(cx, market, queue_side);
        let mut left = lots.0;
        for counterparty in ranked {
            if left == 0 {
                break;
            }
            // Positions closed or flipped since the queue was ranked are passed.
            let held = cx.ledger.account(counterparty).qty(market).0;
            if counterparty == bankrupt || held.signum() != queue_side.sign() {
                continue;
            }
            let x = Lots(left.min(held.abs()));
            let terms = terms_of(cx.markets, market);
            let leg = |side| TradeLeg { side, qty: x, price, fee: Micros(0) };
            cx.ledger.apply_trade(bankrupt, market, terms, leg(side.opposite()));
            cx.ledger.apply_trade(counterparty, market, terms, leg(side));
            cx.markets.get_mut(market).open_interest -= x;
            left -= x.0;
            cx.triggers.rekey(counterparty, cx.ledger, cx.markets);
            cx.log.events.push(LiquidationEvent {
                bankruptcy_price: Some(price),
                fill_price: price.0 as f64,
                ..LiquidationEvent::new(
                    EventKind::Adl,
                    cx.tick,
                    cx.round,
                    counterparty,
                    market,
                    side.opposite(),
                    x,
                    mark,
                )
            });
        }
        cx.triggers.rekey(bankrupt, cx.ledger, cx.markets);
        Lots(lots.0 - left)
    }
}

#[cfg(test)]
mod tests {
    use crate::engine::testing::*;

    #[test]
    fn auto_deleveraging_closes_the_top_ranked_opposite_position_at_the_bankruptcy_price() {
        use crate::protocol::Backstop;
        // Liquidations sell only down to each position's bankruptcy price. A and
        // B fill in the book as before (above 931 and 927). C (bankrupt at 913:
        // 879 − 10,000 + 10 P ≥ 0) sells 5 at 959, and the book's next bid, 800,
        // is below 913: the other 5 lots are closed at 913 against the only
        // opposite trader position, the seller's short. No trade happened below
        // 959, so the mark stays there and D (liquidated at 852) survives.
        let (sim, [a, b, c, d, _, seller]) = shocked(|p| p.backstop = Backstop::Adl);
        let l = sim.ledger();
        let m = MarketId(0);
        for t in [a, b, c] {
            assert_eq!(l.account(t).liquidated_at(), Some(1));
            assert_eq!(l.account(t).qty(m), Lots(0));
        }
        assert_eq!(l.account(d).liquidated_at(), None);
        assert_eq!(l.account(seller).qty(m), Lots(-20));
        assert_eq!(l.uncovered_bad_debt, Micros(0));
        assert_eq!(l.covered_bad_debt, Micros(0));
        // C: sold 5 at 959 and 5 at 913 from a basis of 10,000: −640 on 879,
        // then a penalty of ⌈47.95⌉ = 48 on the 4,795 sold into the book.
        assert_eq!(l.account(c).collateral, Micros(879 - 640 - 48));
        let out = sim.finish().unwrap();
        let ev = out.events;
        let kinds: Vec<String> =
            ev.column("kind").unwrap().str().unwrap().iter().map(|k| k.unwrap().to_owned()).collect();
        let adl = kinds.iter().position(|k| k == "adl").expect("an adl event");
        assert_eq!(ev.column("account").unwrap().u32().unwrap().get(adl), Some(seller.0));
        assert_eq!(ev.column("qty").unwrap().i64().unwrap().get(adl), Some(5));
        assert_eq!(ev.column("fill_price").unwrap().f64().unwrap().get(adl), Some(913.0));
        assert_eq!(kinds.iter().filter(|k| *k == "liquidation").count(), 3);
    }
}
