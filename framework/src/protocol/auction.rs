//! Liquidation by Dutch auction: with `protocol.auction` set, every
//! position found below maintenance goes to the auction house
//! ([`crate::exchange::auction`], which holds the price schedule, the
//! keepers' takes and the settlement) instead of the book. This file is the
//! mechanism's side of it: routing, frozen accounts, and the auction
//! house's per-tick bookkeeping in the Liquidate phase.

use crate::core::units::{AccountId, MarketId};
use crate::exchange::auction::Auctions;
use crate::market::margin::MarginLine;
use crate::protocol::hooks::{Closing, Cx, Mechanism, Route, Took};

/// The auction hook.
#[derive(Clone, Copy, Debug, Default)]
pub struct AuctionLiquidation;

impl Mechanism for AuctionLiquidation {
    fn name(&self) -> &'static str {
        "auction"
    }

    /// Moves the keepers' takes of this tick's Match phase into the log.
    fn begin_tick(&mut self, cx: &mut Cx<'_>) {
        let mut auctions = cx.world.resource_mut::<Auctions>();
        cx.log.events.append(&mut auctions.events);
        for (i, (long, short, bad)) in auctions.taken.drain(..).enumerate() {
            let t = &mut cx.log.totals[i];
            t.long_notional += long;
            t.short_notional += short;
            t.bad_debt += bad;
        }
    }

    /// An account with an auction running is not liquidated again.
    fn admit(&mut self, cx: &mut Cx<'_>, account: AccountId, _market: MarketId) -> bool {
        !cx.world.resource::<Auctions>().is_frozen(account)
    }

    fn route(&self, _cx: &Cx<'_>, _closing: &Closing, _line: &MarginLine<'_>) -> Option<Route> {
        Some(Route::Taken)
    }

    fn closes_off_book(&self) -> bool {
        true
    }

    /// Kicks an auction of the position; the account is settled when its
    /// last auction sells out.
    fn take(&mut self, cx: &mut Cx<'_>, c: &Closing) -> Took {
        let mut auctions = cx.world.resource_mut::<Auctions>();
        match auctions.kick(cx.tick, cx.round, c.account, c.market, cx.markets, cx.ledger, cx.triggers) {
            Some(ev) => {
                cx.log.totals[c.market.idx()].count += 1;
                cx.log.events.push(ev);
                Took::Later
            }
            None => Took::Nothing,
        }
    }

    /// Sells into the book what is left of auctions past their deadline,
    /// resets the auctions due a reset, and counts those still running.
    fn end_tick(&mut self, cx: &mut Cx<'_>) {
        let n_markets = cx.markets.0.len();
        let mut auctions = cx.world.resource_mut::<Auctions>();
        let expired =
            auctions.expire_due(cx.tick, cx.markets, cx.ledger, cx.triggers, &mut || cx.queue.next_order_id());
        for (i, (long, short, bad)) in auctions.taken.drain(..).enumerate() {
            let t = &mut cx.log.totals[i];
            t.long_notional += long;
            t.short_notional += short;
            t.bad_debt += bad;
        }
        cx.log.events.extend(expired);
        let resets = auctions.reset_due(cx.tick, cx.markets);
        cx.log.events.extend(resets);
        for (t, n) in cx.log.totals.iter_mut().zip(auctions.open_per_market(n_markets)) {
            t.auctions_open = n;
            t.gas_price = auctions.gas;
        }
    }
}

#[cfg(test)]
mod tests {
    // On the hand-computed cascade of [`crate::engine::testing`]:
    // A (long 10 from 1,000, collateral 690, bankrupt at 931) is liquidated
    // when the shock takes the mark to 979 at tick 1. With auctions on, nothing
    // is sold into the book, so the mark stays at 979 and B (975) is safe.
    //
    // tab = 10 lots × 931 × 1 micro = 9,310; with `tip` 5 and `chip` 1% the
    // keeper reward is 5 + ⌊93.1⌋ = 98. The insurance fund starts at 100.

    use crate::engine::testing::*;
    use crate::exchange::auction::{AuctionId, Auctions, Take};
    use crate::exchange::auction_terms::{AuctionParams, Decay};
    use crate::protocol::ProtocolParams;

    fn auction(decay: Decay, tail: Option<u64>, cusp: i64) -> impl Fn(&mut ProtocolParams) {
        move |p| {
            p.auction = Some(AuctionParams {
                buf: Ppm(1_000_000),
                decay,
                tail,
                cusp: Ppm(cusp),
                tip: Micros(5),
                chip: Ppm(10_000),
                floor: Ppm(0),
                deadline_ticks: None,
                congestion: None,
            });
        }
    }

    fn bid(sim: &mut Simulation, keeper: AccountId, limit: i64) {
        let take = Take { auction: AuctionId(0), max_lots: Lots(10), limit: Price(limit), cost: Micros(7) };
        sim.world_mut().resource_mut::<OrderQueue>().take(Priority::NORMAL, keeper, take);
    }

    fn events(sim: Simulation) -> (Vec<String>, polars::prelude::DataFrame) {
        let out = sim.finish().unwrap();
        let kinds = out.events.column("kind").unwrap().str().unwrap().iter().map(|k| k.unwrap().to_owned()).collect();
        (kinds, out.events)
    }

    fn col(ev: &polars::prelude::DataFrame, name: &str) -> Vec<i64> {
        ev.column(name).unwrap().i64().unwrap().into_no_null_iter().collect()
    }

    #[test]
    fn an_auction_past_its_deadline_sells_the_rest_into_the_book_and_settles() {
        // No keeper bids. Kicked at tick 1 with a deadline of 3 ticks, A's
        // auction sells its 10 lots into the book at the end of tick 4:
        // 5@979 and 5@969, 9,740 micros. Equity 690 − 10,000 + 9,740 = 430;
        // the penalty ⌈1% × 9,740⌉ = 98 goes to the fund (100 → 198) and
        // leaves 332. No keeper reward is paid.
        let with_deadline = |p: &mut ProtocolParams| {
            auction(Decay::Stepwise { step_ticks: 5, cut: Ppm(990_000) }, None, 0)(p);
            p.auction.as_mut().unwrap().deadline_ticks = Some(3);
        };
        let (mut sim, [a, ..]) = shocked(with_deadline);
        let m = MarketId(0);
        sim.step(); // tick 2
        sim.step(); // tick 3
        assert!(sim.world().resource::<Auctions>().is_frozen(a), "before the deadline it waits for keepers");
        sim.step(); // tick 4: the deadline
        assert_conserved(&sim);
        let l = sim.ledger();
        assert_eq!(l.account(a).qty(m), Lots(0));
        assert_eq!(l.account(a).collateral, Micros(332));
        assert_eq!(l.insurance_fund, Micros(198));
        assert!(!sim.world().resource::<Auctions>().is_frozen(a));
        assert!(sim.world().resource::<Auctions>().open.is_empty());
        let (kinds, ev) = events(sim);
        assert_eq!(kinds, ["auction_kick", "liquidation", "auction_end"]);
        assert_eq!(col(&ev, "qty"), [10, 10, 0]);
        assert_eq!(col(&ev, "penalty"), [0, 0, 98]);
        let ticks: Vec<u64> = ev.column("tick").unwrap().u64().unwrap().into_no_null_iter().collect();
        assert_eq!(ticks, [1, 4, 4]);
    }

    #[test]
    fn a_kick_freezes_the_account_and_leaves_the_book_alone() {
        let (mut sim, [a, b, ..]) = shocked(auction(Decay::Stepwise { step_ticks: 5, cut: Ppm(990_000) }, None, 0));
        let m = MarketId(0);
        assert_eq!(sim.markets().get(m).mark, Price(979));
        assert_eq!(sim.ledger().account(a).qty(m), Lots(10));
        assert_eq!(sim.ledger().account(a).liquidated_at(), Some(1));
        assert_eq!(sim.ledger().account(b).liquidated_at(), None);
        let auctions = sim.world().resource::<Auctions>();
        assert!(auctions.is_frozen(a));
        let open = auctions.get(AuctionId(0)).unwrap();
        assert_eq!(
            (open.account, open.tab, open.reward_due, open.start_mark),
            (a, Micros(9_310), Micros(98), Price(979))
        );
        // A frozen account's orders are dropped.
        sim.world_mut().resource_mut::<OrderQueue>().place(
            Priority::NORMAL,
            a,
            m,
            crate::Side::Sell,
            Lots(10),
            crate::market::book::OrderKind::Market,
        );
        sim.step();
        assert_eq!(sim.ledger().account(a).qty(m), Lots(10));
        assert_eq!(sim.world().resource::<OrderQueue>().frozen, 1);
        let (kinds, ev) = events(sim);
        assert_eq!(kinds, ["auction_kick"]);
        assert_eq!(col(&ev, "bankruptcy_price"), [931]);
    }

    #[test]
    fn a_keeper_take_at_the_start_price_settles_penalty_and_reward() {
        // Stepwise, 5 ticks a step: at tick 2 (t = 1) the price is still 979.
        // A sells 10 at 979: equity 690 − 10,000 + 9,790 = 480; penalty
        // ⌈1% × 9,790⌉ = 98 leaves 382. The keeper pays 7 to bid and receives
        // the 98 reward; the fund pays 98 and gets 98 back as the penalty.
        let (mut sim, [a, ..]) = shocked(auction(Decay::Stepwise { step_ticks: 5, cut: Ppm(990_000) }, None, 0));
        let m = MarketId(0);
        let keeper = trader(&mut sim, "keeper", MarginMode::Cross, 1_000_000);
        bid(&mut sim, keeper, 979);
        sim.step();
        assert_conserved(&sim);
        let l = sim.ledger();
        assert_eq!(l.account(a).qty(m), Lots(0));
        assert_eq!(l.account(a).collateral, Micros(382));
        assert_eq!(l.account(keeper).qty(m), Lots(10));
        assert_eq!(l.account(keeper).position(m).unwrap().cost, Micros(9_790));
        assert_eq!(l.account(keeper).collateral, Micros(1_000_000 - 7 + 98));
        assert_eq!(l.insurance_fund, Micros(100));
        assert_eq!(l.bid_costs, Micros(7));
        assert!(!sim.world().resource::<Auctions>().is_frozen(a));
        let (kinds, ev) = events(sim);
        assert_eq!(kinds, ["auction_kick", "auction_take", "auction_end"]);
        assert_eq!(col(&ev, "qty"), [10, 10, 0]);
        assert_eq!(col(&ev, "penalty"), [0, 0, 98]);
        assert_eq!(col(&ev, "covered"), [0, 98, 0]);
        assert_eq!(col(&ev, "bad_debt"), [0, 0, 0]);
    }

    #[test]
    fn a_zero_bid_auction_leaves_the_whole_debt_as_bad_debt() {
        // Linear to zero over 4 ticks, no reset. A keeper bidding at no more
        // than 0 is refused at tick 3 (t = 2, price ⌊979 × 0.5⌋ = 489) but pays
        // its 7; at tick 6 (t = 5) the price is 0 and it takes all 10 lots for
        // nothing. A's equity is then 690 − 10,000 = −9,310: the whole tab is
        // bad debt. The fund has 100 − 98 (reward) = 2 to cover it with.
        let (mut sim, [a, ..]) = shocked(auction(Decay::Linear { tau_ticks: 4 }, None, 0));
        let m = MarketId(0);
        let keeper = trader(&mut sim, "keeper", MarginMode::Cross, 1_000_000);
        sim.step(); // tick 2
        bid(&mut sim, keeper, 0);
        sim.step(); // tick 3: refused
        assert_eq!(sim.ledger().account(a).qty(m), Lots(10));
        sim.step(); // tick 4
        sim.step(); // tick 5
        bid(&mut sim, keeper, 0);
        sim.step(); // tick 6
        assert_conserved(&sim);
        let l = sim.ledger();
        assert_eq!(l.account(a).qty(m), Lots(0));
        assert_eq!(l.account(keeper).qty(m), Lots(10));
        assert_eq!(l.account(keeper).position(m).unwrap().cost, Micros(0));
        assert_eq!(l.covered_bad_debt, Micros(2));
        assert_eq!(l.uncovered_bad_debt, Micros(9_308));
        assert_eq!(l.insurance_fund, Micros(0));
        assert_eq!(l.bid_costs, Micros(14));
        let (kinds, ev) = events(sim);
        assert_eq!(kinds, ["auction_kick", "auction_take", "auction_end"]);
        let ticks: Vec<u64> = ev.column("tick").unwrap().u64().unwrap().into_no_null_iter().collect();
        assert_eq!(ticks, [1, 6, 6]);
        assert_eq!(col(&ev, "bad_debt"), [0, 0, 9_310]);
        assert_eq!(col(&ev, "uncovered"), [0, 0, 9_308]);
    }

    #[test]
    fn an_auction_resets_past_tail_and_below_cusp() {
        // Stepwise 0.9 per tick, cusp 0.5: f(6) = 0.531, f(7) = 0.478 < 0.5,
        // so the auction kicked at tick 1 resets at the end of tick 8 at the
        // mark (979), and again 7 ticks later, at tick 15.
        let (mut sim, _) = shocked(auction(Decay::Stepwise { step_ticks: 1, cut: Ppm(900_000) }, None, 500_000));
        sim.run(15);
        let (kinds, ev) = events(sim);
        assert_eq!(kinds, ["auction_kick", "auction_reset", "auction_reset"]);
        let ticks: Vec<u64> = ev.column("tick").unwrap().u64().unwrap().into_no_null_iter().collect();
        assert_eq!(ticks, [1, 8, 15]);
        // Past tail: tail 3 resets when t = 4, at ticks 5, 9, 13.
        let (mut sim, _) = shocked(auction(Decay::Stepwise { step_ticks: 1, cut: Ppm(990_000) }, Some(3), 0));
        sim.run(12);
        let (_, ev) = events(sim);
        let ticks: Vec<u64> = ev.column("tick").unwrap().u64().unwrap().into_no_null_iter().collect();
        assert_eq!(ticks, [1, 5, 9, 13]);
    }

    #[test]
    fn a_price_for_each_decay_by_hand() {
        let p = AuctionParams {
            buf: Ppm(1_100_000),
            decay: Decay::Stepwise { step_ticks: 2, cut: Ppm(500_000) },
            floor: Ppm(100_000),
            ..AuctionParams::default()
        };
        use crate::Side::{Buy, Sell};
        // top = 1,100; 0.5 per 2 ticks; floor 100.
        let longs: Vec<i64> = [0, 1, 2, 3, 4, 6, 8].iter().map(|&t| p.price(Buy, Price(1_000), t).0).collect();
        assert_eq!(longs, [1_100, 1_100, 550, 550, 275, 137, 100]);
        // Mirrored for a short: 1,000 × (2 − 1.1 f), capped at 1,000 × 1.9.
        let shorts: Vec<i64> = [0, 2, 4, 8].iter().map(|&t| p.price(Sell, Price(1_000), t).0).collect();
        assert_eq!(shorts, [900, 1_450, 1_725, 1_900]);
        // Linear over 4 ticks down to the floor, 100.
        let lin = AuctionParams { buf: Ppm(1_000_000), decay: Decay::Linear { tau_ticks: 4 }, ..p };
        let longs: Vec<i64> = [0, 1, 2, 3, 4, 9].iter().map(|&t| lin.price(Buy, Price(1_000), t).0).collect();
        assert_eq!(longs, [1_000, 750, 500, 250, 100, 100]);
    }
}
