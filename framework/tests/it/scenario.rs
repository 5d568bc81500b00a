//! Three (four) traders with hand-computed liquidation prices, one shock,
//! and exactly the expected liquidations, rounds and bad debt.
//!
//! Market: 1 micro per tick-lot, maintenance 5%, penalty 1%, mark = last
//! trade. Each trader is long 10 lots from 1,000 under cross margin with
//! collateral C, so equity(P) = C − 10,000 + 10 P and it is liquidatable
//! when equity < 0.05 × 10 P, i.e. when 9.5 P < 10,000 − C:
//!
//! | trader | C     | liquidation price |
//! |--------|-------|-------------------|
//! | A      | 690   | 979 (P < 980)     |
//! | B      | 737   | 975               |
//! | C      | 879   | 960               |
//! | D      | 1,900 | 852               |
//!
//! A bidder rests 10 lots at each of 999, 989, 979, 969, 959 and 20 at 800.
//! At tick 1 a seller sells 25 at market: 10@999, 10@989, 5@979, so the mark
//! is 979 and the cascade runs:
//!
//! - round 0: A (979 ≥ 979) sells 5@979, 5@969: avg 974, loss 260, pool 430,
//!   penalty ⌈97.4⌉ = 98. Mark 969.
//! - round 1: B sells 5@969, 5@959: avg 964, loss 360, pool 377, penalty 97.
//!   Mark 959.
//! - round 2: C sells 5@959, 5@800: loss 1,205, pool −326: bad debt 326, no
//!   penalty. Mark 800.
//! - round 3: D sells 10@800: loss 2,000, pool −100: bad debt 100.
//!
//! The fund starts at 100, gains 98 + 97 = 295, pays 295 of C's 326 (31
//! uncovered) and none of D's 100 (100 uncovered).

use super::common::*;
use cascade_framework::book::OrderKind;
use cascade_framework::ledger::MarginMode;
use cascade_framework::sequencer::{OrderQueue, Priority};
use cascade_framework::{Lots, MarketId, Micros, Ppm, Price, Side, SimParams, Simulation};

#[test]
fn one_shock_gives_exactly_the_expected_cascade() {
    let (sim, [a, b, c, d, ..]) = shocked(|_| {});
    let m = MarketId(0);

    let l = sim.ledger();
    for t in [a, b, c, d] {
        assert_eq!(l.account(t).liquidated_at, Some(1));
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
    let col_i64 = |name: &str| -> Vec<i64> { ev.column(name).unwrap().i64().unwrap().into_no_null_iter().collect() };
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
    assert_eq!(l.account(t).liquidated_at, Some(1));
    assert_eq!(l.account(t).collateral, Micros(5_000));
    assert_eq!(l.uncovered_bad_debt, Micros(500));
}

/// The scenario above up to the shock, with `protocol` changed by `tweak`.
pub(crate) fn shocked(
    tweak: impl Fn(&mut cascade_framework::liquidation::ProtocolParams),
) -> (Simulation, [cascade_framework::AccountId; 6]) {
    let mut params = hand_params(100);
    tweak(&mut params.protocol);
    let mut sim = Simulation::new(params).unwrap();
    let m = MarketId(0);
    let a = trader(&mut sim, "A", MarginMode::Cross, 690);
    let b = trader(&mut sim, "B", MarginMode::Cross, 737);
    let c = trader(&mut sim, "C", MarginMode::Cross, 879);
    let d = trader(&mut sim, "D", MarginMode::Cross, 1_900);
    for t in [a, b, c, d] {
        sim.seed_position(t, m, Lots(10), Price(1_000)).unwrap();
    }
    let bidder = trader(&mut sim, "bidder", MarginMode::Cross, 1_000_000_000);
    let seller = trader(&mut sim, "seller", MarginMode::Cross, 1_000_000_000);
    {
        let mut q = sim.world_mut().resource_mut::<OrderQueue>();
        for (p, n) in [(999, 10), (989, 10), (979, 10), (969, 10), (959, 10), (800, 20)] {
            q.place(Priority::NORMAL, bidder, m, Side::Buy, Lots(n), OrderKind::Limit { price: Price(p) });
        }
    }
    sim.step();
    sim.world_mut().resource_mut::<OrderQueue>().place(
        Priority::NORMAL,
        seller,
        m,
        Side::Sell,
        Lots(25),
        OrderKind::Market,
    );
    sim.step();
    assert_conserved(&sim);
    (sim, [a, b, c, d, bidder, seller])
}

#[test]
fn a_fractional_close_factor_halts_the_cascade_at_the_first_account() {
    use cascade_framework::liquidation::CloseFactor;
    // A (liquidated at 979) closes ceil(10 × 50%) = 5 lots at 979: realised
    // 5 × (979 − 1,000) = −105, penalty ⌈48.95⌉ = 49, so collateral
    // 690 − 105 − 49 = 536 on 5 lots; at 979 its equity 431 is above the
    // 244.75 maintenance, and the price never reaches B's 975.
    let (sim, [a, b, ..]) = shocked(|p| p.close_factor = CloseFactor::Fraction { fraction: Ppm(500_000) });
    let l = sim.ledger();
    assert_eq!(l.account(a).qty(MarketId(0)), Lots(5));
    assert_eq!(l.account(a).collateral, Micros(536));
    assert_eq!(l.account(b).liquidated_at, None);
    assert_eq!(l.insurance_fund, Micros(149));
    // The stepped rule gives the same: A's health factor is 480 / 489.5 =
    // 0.98, above 0.95.
    let (sim, [a, ..]) =
        shocked(|p| p.close_factor = CloseFactor::Stepped { fraction: Ppm(500_000), full_below: Ppm(950_000) });
    assert_eq!(sim.ledger().account(a).qty(MarketId(0)), Lots(5));
    // With the step at 0.99, A's 0.98 is below it: everything is closed, and
    // the cascade runs as under full liquidation (A keeps 430 − 98).
    let (sim, [a, b, c, d, ..]) =
        shocked(|p| p.close_factor = CloseFactor::Stepped { fraction: Ppm(500_000), full_below: Ppm(990_000) });
    let l = sim.ledger();
    assert!(l.account(a).positions.is_empty());
    assert_eq!(l.account(a).collateral, Micros(430 - 98));
    for t in [b, c, d] {
        assert_eq!(l.account(t).liquidated_at, Some(1));
    }
    assert_eq!(l.uncovered_bad_debt, Micros(131));
}

#[test]
fn restore_margin_closes_the_fewest_lots() {
    use cascade_framework::liquidation::CloseFactor;
    // At 979 A has equity 480 against maintenance 489.5. Closing one lot
    // costs a penalty of ⌈9.79⌉ = 10 and leaves 470 against 440.55: enough.
    let (sim, [a, b, ..]) = shocked(|p| p.close_factor = CloseFactor::RestoreMargin);
    let l = sim.ledger();
    assert_eq!(l.account(a).qty(MarketId(0)), Lots(9));
    assert_eq!(l.account(a).collateral, Micros(690 - 21 - 10));
    assert_eq!(l.account(b).liquidated_at, None);
}

#[test]
fn socialized_loss_takes_uncovered_bad_debt_from_profits() {
    use cascade_framework::liquidation::Backstop;
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

#[test]
fn a_breaker_halts_at_the_crossing_tick_and_resumes_on_time() {
    use cascade_framework::index::IndexProcess;
    use cascade_framework::liquidation::BreakerBand;
    use cascade_framework::market::MarkMethod;
    // The index (and so the mark) falls 10% at tick 5; a 5%-in-3-ticks band
    // trips at tick 5 and halts ticks 6 to 9; trading resumes at tick 10.
    let mut params = hand_params(0);
    let prices = [1_000, 1_000, 1_000, 1_000, 1_000, 900, 900, 900, 900, 900, 900, 900];
    params.markets[0].index.process = IndexProcess::Replay { prices: prices.iter().map(|p| Price(*p)).collect() };
    params.markets[0].mark = MarkMethod::Index;
    params.protocol.breakers = vec![
        BreakerBand { move_fraction: 0.05, window_ticks: 3, halt_ticks: 4 },
        BreakerBand { move_fraction: 0.20, window_ticks: 3, halt_ticks: 100 },
    ];
    let mut sim = Simulation::new(params).unwrap();
    let m = MarketId(0);
    let maker = trader(&mut sim, "maker", MarginMode::Cross, 1_000_000_000);
    let taker = trader(&mut sim, "taker", MarginMode::Cross, 1_000_000_000);
    sim.world_mut().resource_mut::<OrderQueue>().place(
        Priority::NORMAL,
        maker,
        m,
        Side::Sell,
        Lots(10),
        OrderKind::Limit { price: Price(905) },
    );
    sim.run(7);
    // Tick 7 is halted: a crossing order does not trade.
    sim.world_mut().resource_mut::<OrderQueue>().place(
        Priority::NORMAL,
        taker,
        m,
        Side::Buy,
        Lots(1),
        OrderKind::Market,
    );
    sim.run(3);
    assert_eq!(sim.ledger().account(taker).qty(m), Lots(0));
    // Tick 10 trades again.
    sim.world_mut().resource_mut::<OrderQueue>().place(
        Priority::NORMAL,
        taker,
        m,
        Side::Buy,
        Lots(1),
        OrderKind::Market,
    );
    sim.run(2);
    assert_eq!(sim.ledger().account(taker).qty(m), Lots(1));
    assert_conserved(&sim);
    let out = sim.finish().unwrap();
    let halted: Vec<bool> = out.ticks.column("halted").unwrap().bool().unwrap().iter().map(|h| h.unwrap()).collect();
    let want: Vec<bool> = (0..12).map(|t| (6..=9).contains(&t)).collect();
    assert_eq!(halted, want);
    let kinds: Vec<String> =
        out.events.column("kind").unwrap().str().unwrap().iter().map(|k| k.unwrap().to_owned()).collect();
    let ticks: Vec<u64> = out.events.column("tick").unwrap().u64().unwrap().into_no_null_iter().collect();
    assert_eq!((kinds, ticks), (vec!["halt".to_owned()], vec![5]));
}

#[test]
fn a_liquidation_cap_puts_accounts_off_to_the_next_tick() {
    // A's close (9,740 of notional) reaches the 9,000 cap, so B, due in the
    // next round at 969, waits for tick 2.
    let (mut sim, [a, b, ..]) = shocked(|p| p.liquidation_cap = Some(Micros(9_000)));
    assert_eq!(sim.ledger().account(a).liquidated_at, Some(1));
    assert_eq!(sim.ledger().account(b).liquidated_at, None);
    sim.step();
    assert_eq!(sim.ledger().account(b).liquidated_at, Some(2));
    assert_conserved(&sim);
    let out = sim.finish().unwrap();
    let throttled: Vec<u64> = out.ticks.column("throttled").unwrap().u64().unwrap().into_no_null_iter().collect();
    assert!(throttled[1] >= 1, "{throttled:?}");
}

#[test]
fn auto_deleveraging_closes_the_top_ranked_opposite_position_at_the_bankruptcy_price() {
    use cascade_framework::liquidation::Backstop;
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
        assert_eq!(l.account(t).liquidated_at, Some(1));
        assert_eq!(l.account(t).qty(m), Lots(0));
    }
    assert_eq!(l.account(d).liquidated_at, None);
    assert_eq!(l.account(seller).qty(m), Lots(-20));
    assert_eq!(l.uncovered_bad_debt, Micros(0));
    assert_eq!(l.covered_bad_debt, Micros(0));
    // C: sold 5 at 959 and 5 at 913 from a basis of 10,000: −640 on 879,
    // then a penalty of ⌈47.95⌉ = 48 on the 4,795 sold into the book.
    assert_eq!(l.account(c).collateral, Micros(879 - 640 - 48));
    let out = sim.finish().unwrap();
    let ev = out.events;
    let kinds: Vec<String> = ev.column("kind").unwrap().str().unwrap().iter().map(|k| k.unwrap().to_owned()).collect();
    let adl = kinds.iter().position(|k| k == "adl").expect("an adl event");
    assert_eq!(ev.column("account").unwrap().u32().unwrap().get(adl), Some(seller.0));
    assert_eq!(ev.column("qty").unwrap().i64().unwrap().get(adl), Some(5));
    assert_eq!(ev.column("fill_price").unwrap().f64().unwrap().get(adl), Some(913.0));
    assert_eq!(kinds.iter().filter(|k| *k == "liquidation").count(), 3);
}

#[test]
fn the_backstop_vault_takes_over_at_the_bankruptcy_price() {
    use cascade_framework::liquidation::VaultParams;
    // At 979 A's health factor is 480 / 489.5 = 0.98, below the vault's
    // 0.99: the vault takes A's 10 lots over at A's bankruptcy price, 931
    // (690 − 10,000 + 10 P ≥ 0), instead of selling them into the book.
    // Nothing more trades, the mark stays at 979, and B (975) is safe.
    let (sim, [a, b, ..]) = shocked(|p| {
        p.vault = Some(VaultParams { below_health: Ppm(990_000), capital: Micros(1_000_000) });
    });
    let l = sim.ledger();
    let m = MarketId(0);
    let vault = l.accounts.iter().position(|acct| l.labels[usize::from(acct.population)] == "backstop_vault").unwrap();
    let vault = cascade_framework::AccountId(u32::try_from(vault).unwrap());
    assert_eq!(l.account(vault).qty(m), Lots(10));
    assert_eq!(l.account(vault).position(m).unwrap().cost, Micros(9_310));
    assert_eq!(l.account(a).qty(m), Lots(0));
    assert_eq!(l.account(a).collateral, Micros(0));
    assert_eq!(l.account(a).liquidated_at, Some(1));
    assert_eq!(l.account(b).liquidated_at, None);
    assert_eq!(sim.markets().get(m).mark, Price(979));
    let out = sim.finish().unwrap();
    let kinds: Vec<String> =
        out.events.column("kind").unwrap().str().unwrap().iter().map(|k| k.unwrap().to_owned()).collect();
    assert_eq!(kinds, ["backstop"]);
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
    assert_eq!(sim.ledger().account(x).liquidated_at, None);
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

#[test]
fn correlated_indices_move_together() {
    use cascade_framework::index::IndexProcess;
    use cascade_framework::market::MarkMethod;
    // Two GBM indices with correlation 0.8: the sample correlation of their
    // log returns over 4,000 ticks is within 0.05 of it; without the matrix
    // it is near zero.
    let returns_corr = |corr: Option<f64>| {
        let mut params = hand_params(0);
        let mut b = hand_market();
        b.name = "B".into();
        params.markets.push(b);
        for m in &mut params.markets {
            m.index.initial_price = Price(10_000_000);
            m.index.process = IndexProcess::Gbm { drift: 0.0, volatility: 0.8, jumps: None };
            m.mark = MarkMethod::Index;
        }
        params.index_correlation = corr.map(|r| vec![vec![1.0, r], vec![r, 1.0]]);
        let mut sim = Simulation::new(params).unwrap();
        let mut last = [10_000_000.0_f64; 2];
        let (mut xs, mut ys) = (Vec::new(), Vec::new());
        for _ in 0..4_000 {
            sim.step();
            let p: Vec<f64> = sim.markets().0.iter().map(|m| m.index.price.0 as f64).collect();
            xs.push((p[0] / last[0]).ln());
            ys.push((p[1] / last[1]).ln());
            last = [p[0], p[1]];
        }
        let n = xs.len() as f64;
        let (mx, my) = (xs.iter().sum::<f64>() / n, ys.iter().sum::<f64>() / n);
        let cov: f64 = xs.iter().zip(&ys).map(|(x, y)| (x - mx) * (y - my)).sum();
        let vx: f64 = xs.iter().map(|x| (x - mx).powi(2)).sum();
        let vy: f64 = ys.iter().map(|y| (y - my).powi(2)).sum();
        cov / (vx * vy).sqrt()
    };
    let with = returns_corr(Some(0.8));
    let without = returns_corr(None);
    assert!((with - 0.8).abs() < 0.05, "sample correlation {with}");
    assert!(without.abs() < 0.1, "sample correlation without the matrix {without}");
    // A matrix that is not a correlation matrix is a typed, located error.
    let mut params = hand_params(0);
    params.index_correlation = Some(vec![vec![1.0, 0.5], vec![0.5, 1.0]]);
    assert!(
        matches!(Simulation::new(params).unwrap_err(), cascade_framework::ParamError::Invalid { field, .. } if field == "index_correlation")
    );
}

#[test]
fn a_raised_maintenance_rate_liquidates_without_a_price_move() {
    // T: long 10 from 1,000 with 1,000 of cross collateral. At 5%
    // maintenance it is liquidatable below 947.4 (9.5 P < 9,000); at 1.8 ×
    // 5% = 9%, below 989.0 (9.1 P < 9,000). The mark is 979, so T is safe
    // until the multiplier rises, then liquidated at the same mark: it sells
    // 4 at 979 and 6 at 900 (9,316), equity 316, penalty ⌈93.16⌉ = 94.
    // Its key stays at 947: only the widened query, from
    // ⌊979 × 0.91 / 0.95⌋ = 937, finds it.
    let mut sim = Simulation::new(hand_params(0)).unwrap();
    let m = MarketId(0);
    let t = trader(&mut sim, "T", MarginMode::Cross, 1_000);
    sim.seed_position(t, m, Lots(10), Price(1_000)).unwrap();
    let bidder = trader(&mut sim, "bidder", MarginMode::Cross, 1_000_000_000);
    let seller = trader(&mut sim, "seller", MarginMode::Cross, 1_000_000_000);
    {
        let mut q = sim.world_mut().resource_mut::<OrderQueue>();
        q.place(Priority::NORMAL, bidder, m, Side::Buy, Lots(5), OrderKind::Limit { price: Price(979) });
        q.place(Priority::NORMAL, bidder, m, Side::Buy, Lots(20), OrderKind::Limit { price: Price(900) });
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
    assert_eq!(sim.markets().get(m).mark, Price(979));
    assert_eq!(sim.ledger().account(t).liquidated_at, None);
    sim.world_mut()
        .resource_mut::<cascade_framework::market::Markets>()
        .get_mut(m)
        .set_maintenance_scale(Ppm(1_800_000));
    sim.step();
    assert_conserved(&sim);
    let l = sim.ledger();
    assert_eq!(l.account(t).liquidated_at, Some(2));
    assert_eq!(l.account(t).collateral, Micros(316 - 94));
    let out = sim.finish().unwrap();
    let ev = out.events;
    let col = |name: &str| -> Vec<i64> { ev.column(name).unwrap().i64().unwrap().into_no_null_iter().collect() };
    assert_eq!(col("trigger_price"), [979]);
    assert_eq!(col("liquidation_price"), [989]);
    let scale: Vec<i64> = out.ticks.column("maintenance_scale").unwrap().i64().unwrap().into_no_null_iter().collect();
    assert_eq!(scale, [1_000_000, 1_000_000, 1_800_000]);
}

#[test]
fn the_maintenance_multiplier_follows_volatility_at_a_bounded_speed() {
    use cascade_framework::liquidation::DynamicMaintenance;
    // A volatile index (GBM) with a 10% crash: the multiplier must be the
    // formula applied to the recorded realised volatility, tick by tick,
    // and so never move by more than max_step.
    let mut params = hand_params(0);
    let d = DynamicMaintenance { vol_ref: 0.000_5, sensitivity: 0.4, max_multiplier: 1.9, max_step: 0.05 };
    params.protocol.dynamic_maintenance = Some(d.clone());
    params.markets[0].index.process =
        cascade_framework::index::IndexProcess::Gbm { drift: 0.0, volatility: 2.0, jumps: None };
    params.markets[0].index.shocks =
        vec![cascade_framework::index::Shock { start_tick: 20, drop: 0.10, over_ticks: 5 }];
    params.markets[0].mark = cascade_framework::market::MarkMethod::Index;
    params.tick_seconds = 60.0;
    let mut sim = Simulation::new(params).unwrap();
    sim.run(60);
    let out = sim.finish().unwrap();
    let scale: Vec<i64> = out.ticks.column("maintenance_scale").unwrap().i64().unwrap().into_no_null_iter().collect();
    let vol: Vec<f64> = out.ticks.column("realised_vol").unwrap().f64().unwrap().into_no_null_iter().collect();
    let mut previous = Ppm(1_000_000);
    for (k, (s, v)) in scale.iter().zip(&vol).enumerate() {
        let expected = d.next_scale(previous, *v);
        assert_eq!(*s, expected.0, "tick {k}");
        assert!((s - previous.0).abs() <= 50_000, "tick {k}: {} -> {s}", previous.0);
        previous = expected;
    }
    assert!(scale.iter().any(|s| *s >= 1_500_000), "the crash raises the multiplier: {scale:?}");
    // Formula by hand: σ = 3 × vol_ref gives a target of 1 + 0.4 × 2 = 1.8,
    // reached from 1 in steps of 0.05; σ ≤ vol_ref gives 1.
    assert_eq!(d.next_scale(Ppm(1_000_000), 0.001_5), Ppm(1_050_000));
    assert_eq!(d.next_scale(Ppm(1_780_000), 0.001_5), Ppm(1_800_000));
    assert_eq!(d.next_scale(Ppm(1_200_000), 0.000_4), Ppm(1_150_000));
    assert_eq!(d.next_scale(Ppm(1_000_000), 0.1), Ppm(1_050_000));
    let err = Simulation::new(SimParams {
        protocol: cascade_framework::liquidation::ProtocolParams {
            dynamic_maintenance: Some(DynamicMaintenance { max_multiplier: 2.5, ..d }),
            ..hand_params(0).protocol
        },
        ..hand_params(0)
    })
    .unwrap_err();
    assert!(err.to_string().contains("max_multiplier"), "{err}");
}
