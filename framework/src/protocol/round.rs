//! The Liquidate phase's round loop: find accounts below maintenance
//! margin, close them, charge the penalty to the insurance fund and settle
//! any bad debt, asking the installed mechanisms at each step
//! ([`crate::protocol::hooks`]).
//!
//! Each tick runs up to `max_rounds` rounds. A round takes the candidates
//! from the trigger index at the current marks (in markets the mechanisms
//! keep open), checks each exactly, and closes those below maintenance that
//! the mechanisms admit: an isolated position on its own, or every position
//! of a cross-margin account. A position goes where the first mechanism
//! with a route sends it, and otherwise into the book as a market order of
//! the lots the close-factor hooks leave. The fills move the last trade
//! price and so the mark; the next round looks again at the new marks. This
//! is the cascade: forced sales lower the price, which forces more sales.
//!
//! A single-market position whose forced order would meet an empty side of
//! the book (no bids for a long, no asks for a short) cannot be closed by
//! the book, so while no mechanism closes positions off the book
//! ([`Mechanism::closes_off_book`]) the round does not even look at that
//! side's triggers, and a candidate whose side the round's own sales have
//! emptied is passed over without being priced: positions waiting for
//! liquidity cost nothing per tick, and are looked at again as soon as the
//! side has depth.
//!
//! The penalty is `penalty × closed notional`, paid from what the closed
//! pool has left (never from an isolated account's free collateral). If the
//! pool ends below zero, that is bad debt: the insurance fund pays it, and
//! what the fund cannot pay is recorded as uncovered, for an `end_tick`
//! mechanism (socialised loss) to take over.

use crate::accounts::health::{below_maintenance, terms_of};
use crate::accounts::ledger::{Ledger, MarginMode};
use crate::accounts::triggers::Triggers;
use crate::core::clock::Clock;
use crate::core::event::{EventKind, LiquidationEvent};
use crate::core::units::{AccountId, Lots, MarketId, Micros, Side};
use crate::exchange::execute::{TakerFee, execute, fee};
use crate::exchange::sequencer::OrderQueue;
use crate::market::Markets;
use crate::market::book::{Fill, Order, OrderKind};
use crate::protocol::hooks::{Closing, Cx, Mechanism, Mechanisms, Route, Took};
use crate::protocol::log::TickLiquidations;
use crate::protocol::params::Protocol;
use bevy_ecs::prelude::*;
use smallvec::SmallVec;
use std::collections::BTreeSet;

/// Liquidate-phase system: the tick's rounds. It is exclusive so that the
/// mechanisms' hooks can reach any resource; the exchange's state is taken
/// out of the world for the duration and put back after.
pub fn liquidate(world: &mut World) {
    let tick = world.resource::<Clock>().tick;
    let protocol = world.remove_resource::<Protocol>().expect("protocol is installed");
    let mut mechanisms = world.remove_resource::<Mechanisms>().expect("mechanisms are installed");
    let mut markets = world.remove_resource::<Markets>().expect("markets are inserted at build");
    let mut ledger = world.remove_resource::<Ledger>().expect("ledger is inserted at build");
    let mut triggers = world.remove_resource::<Triggers>().expect("triggers are inserted at build");
    let mut queue = world.remove_resource::<OrderQueue>().expect("queue is inserted at build");
    let mut log = world.remove_resource::<TickLiquidations>().expect("log is installed");
    let mut cx = Cx {
        tick,
        round: 0,
        penalty: protocol.0.penalty,
        max_rounds: protocol.0.max_rounds,
        markets: &mut markets,
        ledger: &mut ledger,
        triggers: &mut triggers,
        queue: &mut queue,
        log: &mut log,
        world,
    };
    run_rounds(&mut cx, &mut mechanisms.0);
    world.insert_resource(log);
    world.insert_resource(queue);
    world.insert_resource(triggers);
    world.insert_resource(ledger);
    world.insert_resource(markets);
    world.insert_resource(mechanisms);
    world.insert_resource(protocol);
}

type Hooks = [Box<dyn Mechanism>];

fn run_rounds(cx: &mut Cx<'_>, hooks: &mut Hooks) {
    let n_markets = cx.markets.0.len();
    cx.log.clear(n_markets);
    for h in hooks.iter_mut() {
        h.begin_tick(cx);
    }
    // The round's runs: each open market's longs and shorts whose side of
    // the book could close them when the round began.
    let mut runs: Vec<(MarketId, Side)> = Vec::new();
    let off_book = hooks.iter().any(|h| h.closes_off_book());
    for round in 0..cx.max_rounds {
        cx.round = round;
        runs.clear();
        for m in 0..n_markets {
            let id = MarketId(u16::try_from(m).expect("market id fits"));
            if market_open(cx, hooks, id) {
                // While a side of the book is empty and nothing closes off
                // the book, the positions it would close wait unvisited.
                for side in [Side::Buy, Side::Sell] {
                    if off_book || cx.markets.get(id).book.can_close(side) {
                        runs.push((id, side));
                    }
                }
            }
        }
        cx.triggers.begin_walk(&runs, cx.markets);
        let multi: Vec<AccountId> = cx.triggers.multi_market().collect();
        // An account is a candidate in several markets only if it is keyed
        // in several; otherwise the runs are disjoint and need no
        // de-duplication, and each keyed candidate's liquidation needs only
        // its run's side of the book.
        let disjoint = !cx.triggers.has_multi_keyed();
        let mut seen = BTreeSet::new();
        let mut closed_any = false;
        // The fills of one liquidation, reused across the round's.
        let mut fills = Vec::new();
        for (run, &(market, side)) in runs.iter().enumerate() {
            while let Some(account) = cx.triggers.next_candidate(run) {
                // The account a few candidates on, which this walk will check.
                if let Some(ahead) = cx.triggers.upcoming(run, crate::core::PREFETCH_AHEAD) {
                    crate::core::prefetch(cx.ledger.account(ahead));
                }
                if disjoint {
                    if !off_book && !cx.markets.get(market).book.can_close(side) {
                        // The round's own sales emptied the side: the rest of
                        // the run waits too, unvisited.
                        break;
                    }
                } else if !seen.insert(account) || (!off_book && waits_for_liquidity(cx, account)) {
                    continue;
                }
                closed_any |= try_liquidate(cx, hooks, account, &mut fills);
            }
        }
        for account in multi {
            if (!disjoint && !seen.insert(account)) || (!off_book && waits_for_liquidity(cx, account)) {
                continue;
            }
            closed_any |= try_liquidate(cx, hooks, account, &mut fills);
        }
        cx.triggers.end_walk();
        if !closed_any {
            break;
        }
        cx.log.rounds += 1;
        for m in &mut cx.markets.0 {
            m.update_mark(cx.tick);
        }
    }
    cx.round = cx.log.rounds;
    for h in hooks.iter_mut() {
        h.end_tick(cx);
    }
}

/// Liquidates `account` if it is below maintenance in an open market and
/// the mechanisms admit it; returns whether anything happened.
fn try_liquidate(cx: &mut Cx<'_>, hooks: &mut Hooks, account: AccountId, fills: &mut Vec<Fill>) -> bool {
    let Some(market) = below_maintenance(account, cx.ledger, cx.markets) else { return false };
    if !market_open(cx, hooks, market) || !hooks.iter_mut().all(|h| h.admit(cx, account, market)) {
        return false;
    }
    liquidate_account(cx, hooks, account, market, fills)
}

/// Whether `account` holds one position whose forced order would meet an
/// empty side of the book now (no bids for a long, no asks for a short).
fn waits_for_liquidity(cx: &Cx<'_>, account: AccountId) -> bool {
    let [p] = cx.ledger.account(account).positions.as_slice() else { return false };
    let side = if p.qty.0 > 0 { Side::Buy } else { Side::Sell };
    !cx.markets.get(p.market).book.can_close(side)
}

fn market_open(cx: &Cx<'_>, hooks: &Hooks, market: MarketId) -> bool {
    hooks.iter().all(|h| h.market_open(cx, market))
}

/// The markets whose positions a liquidation of `account`, found below
/// maintenance in `market`, closes: that one under isolated margin, every
/// one under cross.
fn liquidated_markets(ledger: &Ledger, account: AccountId, market: MarketId) -> SmallVec<[MarketId; 2]> {
    let acct = ledger.account(account);
    match acct.mode {
        MarginMode::Isolated => smallvec::smallvec![market],
        MarginMode::Cross => acct.positions.iter().map(|p| p.market).collect(),
    }
}

/// Closes `account`'s liquidated positions where the mechanisms route them
/// and settles penalty and bad debt. Returns whether anything happened; a
/// book with nothing on the other side leaves the position for the next
/// round or tick, and records nothing. `fills` is scratch space.
fn liquidate_account(
    cx: &mut Cx<'_>,
    hooks: &mut Hooks,
    account: AccountId,
    market: MarketId,
    fills: &mut Vec<Fill>,
) -> bool {
    let acct = cx.ledger.account(account);
    let mode = acct.mode;
    let targets = liquidated_markets(cx.ledger, account, market);
    let free_before = acct.collateral;
    let mut any = false;
    // The first event of this account that settles now (ADL events of its
    // counterparties may come before it).
    let mut first_event: Option<usize> = None;
    let mut due = Micros(0);
    for m in targets {
        cx.markets.get_mut(m).book.cancel_all(account);
        let closing;
        let route;
        let close;
        {
            let acct = cx.ledger.account(account);
            let markets = &*cx.markets;
            let terms = |id: MarketId| terms_of(markets, id);
            let price_of = |id: MarketId| markets.get(id).mark;
            let Some(line) = acct.margin_line(m, &terms, &price_of) else { continue };
            let qty = acct.qty(m);
            closing = Closing {
                account,
                market: m,
                side: if qty.0 > 0 { Side::Buy } else { Side::Sell },
                qty,
                mark: markets.get(m).mark,
                liquidation_price: line.liquidation_price(),
                bankruptcy_price: line.bankruptcy_price(),
            };
            route = hooks.iter().enumerate().find_map(|(k, h)| h.route(cx, &closing, &line).map(|r| (k, r)));
            // Only what goes to the book is sized by the close-factor hooks.
            close = match route {
                Some((_, Route::Taken)) => Lots(0),
                _ => hooks.iter().fold(Lots(qty.0.abs()), |lots, h| h.close_lots(cx, &closing, &line, lots)),
            };
        }
        let limit = match route {
            Some((k, Route::Taken)) => {
                match hooks[k].take(cx, &closing) {
                    Took::Nothing => {}
                    Took::Now { event } => {
                        any = true;
                        first_event.get_or_insert(event);
                    }
                    Took::Later => any = true,
                }
                continue;
            }
            Some((_, Route::Book { limit })) => limit,
            None => None,
        };
        let book_route = Route::Book { limit };
        let kind = limit.map_or(OrderKind::Market, |price| OrderKind::Ioc { price });
        let order = Order { id: cx.queue.next_order_id(), account, side: closing.side.opposite(), qty: close, kind };
        fills.clear();
        let mut ex = execute(cx.markets, cx.ledger, cx.triggers, m, order, TakerFee::Waived, fills);
        let mut passed_on = Lots(0);
        for h in hooks.iter_mut() {
            if ex.cancelled.0 == 0 {
                break;
            }
            let took = h.unfilled(cx, &closing, book_route, ex.cancelled);
            ex.cancelled -= took;
            passed_on += took;
        }
        if ex.filled.0 == 0 && passed_on.0 == 0 {
            continue;
        }
        let mk = cx.markets.get(m);
        let notional: Micros = fills.iter().map(|f| mk.notional(f.qty, f.price)).sum();
        let lots: i64 = fills.iter().map(|f| f.qty.0).sum();
        let fill_price = if lots > 0 {
            fills.iter().map(|f| f.qty.0 as f64 * f.price.0 as f64).sum::<f64>() / lots as f64
        } else {
            f64::NAN
        };
        due += fee(notional, cx.penalty);
        let totals = &mut cx.log.totals[m.idx()];
        totals.count += 1;
        match closing.side {
            Side::Buy => totals.long_notional += notional,
            Side::Sell => totals.short_notional += notional,
        }
        cx.log.events.push(LiquidationEvent {
            unfilled: ex.cancelled,
            liquidation_price: closing.liquidation_price,
            bankruptcy_price: closing.bankruptcy_price,
            fill_price,
            ..LiquidationEvent::new(
                EventKind::Liquidation,
                cx.tick,
                cx.round,
                account,
                m,
                closing.side,
                ex.filled + passed_on,
                mk.mark,
            )
        });
        any = true;
        first_event.get_or_insert(cx.log.events.len() - 1);
    }
    if !any {
        return false;
    }
    cx.ledger.account_mut(account).mark_liquidated(cx.tick);
    if let Some(event) = first_event {
        settle(cx, account, market, mode, free_before, due, event);
    }
    true
}

/// Charges the penalty `due` to what is left of `account`'s closed pool
/// and settles a negative pool as bad debt, on event `event`.
fn settle(
    cx: &mut Cx<'_>,
    account: AccountId,
    market: MarketId,
    mode: MarginMode,
    free_before: Micros,
    due: Micros,
    event: usize,
) {
    let acct = cx.ledger.account(account);
    let (pool, closed) = match mode {
        MarginMode::Isolated => match acct.position(market) {
            None => (acct.collateral - free_before, true),
            Some(p) => (p.margin, false),
        },
        MarginMode::Cross => (acct.collateral, acct.positions.is_empty()),
    };
    let penalty = Micros(due.0.min(pool.0.max(0)));
    let acct = cx.ledger.account_mut(account);
    match (mode, closed) {
        (MarginMode::Isolated, false) => {
            let p = acct.positions.iter_mut().find(|p| p.market == market).expect("position still open");
            p.margin -= penalty;
        }
        _ => acct.collateral -= penalty,
    }
    cx.ledger.insurance_fund += penalty;
    let bad_debt = if closed { Micros((penalty.0 - pool.0).max(0)) } else { Micros(0) };
    let (covered, uncovered) =
        if bad_debt.0 > 0 { cx.ledger.cover_bad_debt(account, bad_debt) } else { (Micros(0), Micros(0)) };
    if let Some(ev) = cx.log.events.get_mut(event) {
        ev.penalty = penalty;
        ev.bad_debt = bad_debt;
        ev.covered = covered;
        ev.uncovered = uncovered;
        cx.log.totals[ev.market.idx()].bad_debt += bad_debt;
    }
    cx.triggers.rekey(account, cx.ledger, cx.markets);
}

#[cfg(test)]
mod tests {
    use crate::engine::testing::*;

    #[test]
    fn one_shock_gives_exactly_the_expected_cascade() {
        let (sim, [a, b, c, d, ..]) = shocked(|_| {});
        let m = MarketId(0);

        let l = sim.ledger();
        for t in [a, b, c, d] {
            assert_eq!(l.account(t).liquidated_at(), Some(1));
            assert!(l.account(t).positions.is_empty());
        }
        assert_eq!(l.account(a).collateral, Micros(430 - 98));
        assert_eq!(l.account(b).collateral, Micros(377 - 97));
        assert_eq!(l.account(c).collateral, Micros(0));
        assert_eq!(l.account(d).collateral, Micros(0));
        assert_eq!(l.insurance_fund, Micros(0));
        assert_eq!(l.covered_bad_debt, Micros(295));
        assert_eq!(l.uncovered_bad_debt, Micros(131));
        assert_eq!(sim.markets().get(m).mark, Price(800));

        let out = sim.finish().unwrap();
        let ev = out.events;
        let col_i64 =
            |name: &str| -> Vec<i64> { ev.column(name).unwrap().i64().unwrap().into_no_null_iter().collect() };
        let rounds: Vec<u32> = ev.column("round").unwrap().u32().unwrap().into_no_null_iter().collect();
        let accounts: Vec<u32> = ev.column("account").unwrap().u32().unwrap().into_no_null_iter().collect();
        assert_eq!(rounds, vec![0, 1, 2, 3]);
        assert_eq!(accounts, vec![a.0, b.0, c.0, d.0]);
        assert_eq!(col_i64("trigger_price"), vec![979, 969, 959, 800]);
        assert_eq!(col_i64("liquidation_price"), vec![979, 975, 960, 852]);
        assert_eq!(col_i64("penalty"), vec![98, 97, 0, 0]);
        assert_eq!(col_i64("bad_debt"), vec![0, 0, 326, 100]);
        assert_eq!(col_i64("covered"), vec![0, 0, 295, 0]);
        assert_eq!(col_i64("uncovered"), vec![0, 0, 31, 100]);
        let fills: Vec<f64> = ev.column("fill_price").unwrap().f64().unwrap().into_no_null_iter().collect();
        assert_eq!(fills, vec![974.0, 964.0, 879.5, 800.0]);
        assert_eq!(out.summary.max_rounds, 4);
        assert_eq!(out.summary.n_liquidations, 4);
        let ticks = out.ticks;
        let liq: Vec<u64> = ticks.column("liquidations").unwrap().u64().unwrap().into_no_null_iter().collect();
        assert_eq!(liq, vec![0, 4]);
    }

    #[test]
    fn an_isolated_liquidation_never_touches_free_collateral() {
        // Long 10 from 1,000 with 1,000 of isolated margin (10x) and 5,000 free.
        // Liquidatable when 1,000 − 10,000 + 10 P < 0.5 P: P < 947.4, L = 947.
        let mut sim = Simulation::new(hand_params(0)).unwrap();
        let m = MarketId(0);
        let t = trader(&mut sim, "T", MarginMode::Isolated, 6_000);
        sim.seed_position(t, m, Lots(10), Price(1_000)).unwrap();
        assert_eq!(sim.ledger().account(t).collateral, Micros(5_000));
        let bidder = trader(&mut sim, "bidder", MarginMode::Cross, 1_000_000_000);
        let seller = trader(&mut sim, "seller", MarginMode::Cross, 1_000_000_000);
        {
            let mut q = sim.world_mut().resource_mut::<OrderQueue>();
            q.place(Priority::NORMAL, bidder, m, Side::Buy, Lots(1), OrderKind::Limit { price: Price(940) });
            q.place(Priority::NORMAL, bidder, m, Side::Buy, Lots(10), OrderKind::Limit { price: Price(850) });
        }
        sim.step();
        sim.world_mut().resource_mut::<OrderQueue>().place(
            Priority::NORMAL,
            seller,
            m,
            Side::Sell,
            Lots(1),
            OrderKind::Market,
        );
        sim.step();
        assert_conserved(&sim);
        // Sold 10 at 850: loss 1,500 on 1,000 of margin: bad debt 500, fund
        // empty, so all of it is uncovered; the free 5,000 is untouched.
        let l = sim.ledger();
        assert_eq!(l.account(t).liquidated_at(), Some(1));
        assert_eq!(l.account(t).collateral, Micros(5_000));
        assert_eq!(l.uncovered_bad_debt, Micros(500));
    }

    #[test]
    fn a_cross_margin_loss_in_one_market_forces_sales_in_the_other() {
        // X is long 10 in A and 10 in B from 1,000 under cross margin with
        // 1,500: equity 1,500 + 10 (P_A − 1,000) + 10 (P_B − 1,000) against a
        // maintenance of 5% of 10 (P_A + P_B). A seller takes A's bids down to
        // 940: equity 900 < 970, so X is liquidated in both markets: 10 at 930
        // in A and 10 at 990 in B, although B never moved. Collateral left:
        // 1,500 − 700 − 100 − penalty ⌈1% × 19,200⌉ = 508.
        let mut params = hand_params(0);
        let mut b = hand_market();
        b.name = "B".into();
        params.markets.push(b);
        let mut sim = Simulation::new(params).unwrap();
        let (ma, mb) = (MarketId(0), MarketId(1));
        let x = trader(&mut sim, "X", MarginMode::Cross, 1_500);
        sim.seed_position(x, ma, Lots(10), Price(1_000)).unwrap();
        sim.seed_position(x, mb, Lots(10), Price(1_000)).unwrap();
        let bidder = trader(&mut sim, "bidder", MarginMode::Cross, 1_000_000_000);
        let seller = trader(&mut sim, "seller", MarginMode::Cross, 1_000_000_000);
        {
            let mut q = sim.world_mut().resource_mut::<OrderQueue>();
            for (p, n) in [(960, 10), (940, 10), (930, 10)] {
                q.place(Priority::NORMAL, bidder, ma, Side::Buy, Lots(n), OrderKind::Limit { price: Price(p) });
            }
            q.place(Priority::NORMAL, bidder, mb, Side::Buy, Lots(10), OrderKind::Limit { price: Price(990) });
        }
        sim.step();
        assert_eq!(sim.ledger().account(x).liquidated_at(), None);
        sim.world_mut().resource_mut::<OrderQueue>().place(
            Priority::NORMAL,
            seller,
            ma,
            Side::Sell,
            Lots(20),
            OrderKind::Market,
        );
        sim.step();
        assert_conserved(&sim);
        let l = sim.ledger();
        assert!(l.account(x).positions.is_empty());
        assert_eq!(l.account(x).collateral, Micros(508));
        assert_eq!(sim.markets().get(mb).last_trade, Some(Price(990)));
        let out = sim.finish().unwrap();
        let markets: Vec<String> =
            out.events.column("market").unwrap().str().unwrap().iter().map(|m| m.unwrap().to_owned()).collect();
        assert_eq!(markets, ["TEST", "B"]);
        let fills: Vec<f64> = out.events.column("fill_price").unwrap().f64().unwrap().into_no_null_iter().collect();
        assert_eq!(fills, [930.0, 990.0]);
    }

    /// A long below maintenance with no bids to sell into waits, unvisited,
    /// and is closed into the first bid that appears. The hand market's
    /// mark is its last trade: a sale at 900 puts A (long 10 from 1,000,
    /// collateral 690, liquidated below 980) under water with the book
    /// empty; three ticks later a bid of 10 at 890 takes A's position.
    #[test]
    fn a_position_waits_for_bids_and_is_closed_when_they_come() {
        let mut sim = Simulation::new(hand_params(1_000_000)).unwrap();
        let m = MarketId(0);
        let a = trader(&mut sim, "A", MarginMode::Cross, 690);
        sim.seed_position(a, m, Lots(10), Price(1_000)).unwrap();
        let (buyer, seller) = (
            trader(&mut sim, "buyer", MarginMode::Cross, 1_000_000_000),
            trader(&mut sim, "seller", MarginMode::Cross, 1_000_000_000),
        );
        let place = |sim: &mut Simulation, who, side, price| {
            let kind = OrderKind::Limit { price: Price(price) };
            sim.world_mut().resource_mut::<OrderQueue>().place(Priority::NORMAL, who, m, side, Lots(1), kind);
        };
        place(&mut sim, buyer, Side::Buy, 900);
        place(&mut sim, seller, Side::Sell, 900);
        for _ in 0..4 {
            sim.step();
            assert_conserved(&sim);
        }
        assert_eq!(sim.markets().get(m).mark, Price(900));
        assert_eq!(sim.ledger().account(a).liquidated_at(), None, "no bids: A waits");
        assert_eq!(sim.ledger().account(a).qty(m), Lots(10));
        let kind = OrderKind::Limit { price: Price(890) };
        sim.world_mut().resource_mut::<OrderQueue>().place(Priority::NORMAL, buyer, m, Side::Buy, Lots(10), kind);
        sim.step();
        assert_conserved(&sim);
        assert_eq!(sim.ledger().account(a).liquidated_at(), Some(4));
        assert_eq!(sim.ledger().account(a).qty(m), Lots(0));
    }
}
