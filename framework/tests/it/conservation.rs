//! Properties under random order flow: the book never crosses and total
//! value (every account, the insurance fund, fees, bad debt) is conserved
//! exactly after every tick.

use super::common::*;
use cascade_framework::accounts::health::below_maintenance;
use cascade_framework::accounts::ledger::MarginMode;
use cascade_framework::exchange::sequencer::{OrderQueue, Priority};
use cascade_framework::market::book::OrderKind;
use cascade_framework::market::index::IndexProcess;
use cascade_framework::market::{FeeParams, FundingParams, MarkMethod};
use cascade_framework::protocol::TickLiquidations;
use cascade_framework::{Lots, MarketId, Ppm, Price, Side, Simulation};
use proptest::prelude::*;

#[derive(Clone, Debug)]
enum Flow {
    Limit { trader: usize, buy: bool, offset: i64, qty: i64 },
    Ioc { trader: usize, buy: bool, offset: i64, qty: i64 },
    Market { trader: usize, buy: bool, qty: i64 },
    CancelAll { trader: usize },
    Deposit { trader: usize, amount: i64 },
    Take { trader: usize, offset: i64, qty: i64 },
}

fn flow() -> impl Strategy<Value = Flow> {
    let t = 0..6_usize;
    prop_oneof![
        4 => (t.clone(), any::<bool>(), -30..30_i64, 1..40_i64).prop_map(|(trader, buy, offset, qty)| Flow::Limit { trader, buy, offset, qty }),
        2 => (t.clone(), any::<bool>(), -30..30_i64, 1..40_i64).prop_map(|(trader, buy, offset, qty)| Flow::Ioc { trader, buy, offset, qty }),
        2 => (t.clone(), any::<bool>(), 1..60_i64).prop_map(|(trader, buy, qty)| Flow::Market { trader, buy, qty }),
        1 => t.clone().prop_map(|trader| Flow::CancelAll { trader }),
        1 => (t.clone(), 1..500_i64).prop_map(|(trader, amount)| Flow::Deposit { trader, amount }),
        2 => (t, -300..30_i64, 1..40_i64).prop_map(|(trader, offset, qty)| Flow::Take { trader, offset, qty }),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn value_is_conserved_and_the_book_never_crosses(
        ticks in proptest::collection::vec(proptest::collection::vec(flow(), 0..12), 1..30),
        collateral in proptest::collection::vec(200..20_000_i64, 6),
        seeded in proptest::collection::vec((-30..30_i64, 900..1_100_i64, 50..5_000_i64, any::<bool>()), 0..12),
        volatility in 0.0..3.0_f64,
        fee_bps in 0..20_i64,
        funding_every in 0..4_u64,
        mark_kind in 0..3_u8,
        tiered in any::<bool>(),
        close in 0..4_u8,
        backstop in 0..3_u8,
        breaker in any::<bool>(),
        cap in proptest::option::of(1_000_000..50_000_000_i64),
        vault in any::<bool>(),
        auction in proptest::option::of((any::<bool>(), 1..6_u64, 0..700_000_i64)),
        dynamic in proptest::option::of((0.000_01..0.01_f64, 0.0..3.0_f64, 0.001..0.5_f64)),
        anchor in 0..4_u8,
    ) {
        // Prices near 1,000 ticks, 1,000 micros per tick-lot: funding of
        // 0.01% is 100 micros per lot, so it moves liquidation prices.
        let scale = 1_000_i64;
        let mut params = hand_params(5_000 * scale);
        {
            use cascade_framework::protocol::{Backstop, CloseFactor};
            params.protocol.close_factor = match close {
                0 => CloseFactor::Full,
                1 => CloseFactor::Fraction { fraction: Ppm(300_000) },
                2 => CloseFactor::Stepped { fraction: Ppm(500_000), full_below: Ppm(950_000) },
                _ => CloseFactor::RestoreMargin,
            };
            if breaker {
                params.protocol.breakers =
                    vec![cascade_framework::protocol::BreakerBand { move_fraction: 0.02, window_ticks: 2, halt_ticks: 2 }];
            }
            params.protocol.liquidation_cap = cap.map(cascade_framework::Micros);
            if vault {
                params.protocol.vault = Some(cascade_framework::protocol::VaultParams {
                    below_health: Ppm(800_000),
                    capital: cascade_framework::Micros(50_000 * scale),
                });
            }
            params.protocol.backstop = match backstop {
                0 => Backstop::InsuranceFundOnly,
                1 => Backstop::SocializedLoss,
                _ => Backstop::Adl,
            };
            if backstop > 0 {
                params.protocol.insurance_fund = cascade_framework::Micros(0);
            }
            if let Some((vol_ref, sensitivity, max_step)) = dynamic {
                params.protocol.dynamic_maintenance = Some(cascade_framework::protocol::DynamicMaintenance {
                    vol_ref,
                    sensitivity,
                    max_multiplier: 1.8,
                    max_step,
                });
            }
            if let Some((linear, ticks, cusp)) = auction {
                use cascade_framework::exchange::auction_terms::{AuctionParams, Decay};
                let decay = if linear {
                    Decay::Linear { tau_ticks: ticks * 3 }
                } else {
                    Decay::Stepwise { step_ticks: ticks, cut: Ppm(900_000) }
                };
                params.protocol.auction = Some(AuctionParams {
                    decay,
                    cusp: Ppm(cusp),
                    tail: Some(ticks * 4),
                    tip: cascade_framework::Micros(5 * scale),
                    ..AuctionParams::default()
                });
                params.protocol.vault = None;
                params.protocol.close_factor = CloseFactor::Full;
                if params.protocol.backstop == Backstop::Adl {
                    params.protocol.backstop = Backstop::SocializedLoss;
                }
            }
        }
        let market = &mut params.markets[0];
        market.tick_value = cascade_framework::Micros(scale);
        if tiered {
            use cascade_framework::market::margin::TierParams;
            use cascade_framework::Micros;
            market.tiers = vec![
                TierParams { notional_floor: Micros(0), maintenance_rate: Ppm(20_000), initial_rate: Ppm(50_000) },
                TierParams { notional_floor: Micros(5_000_000), maintenance_rate: Ppm(40_000), initial_rate: Ppm(80_000) },
                TierParams { notional_floor: Micros(15_000_000), maintenance_rate: Ppm(80_000), initial_rate: Ppm(150_000) },
            ];
        }
        market.index.process = IndexProcess::Gbm { drift: 0.0, volatility, jumps: None };
        market.fees = FeeParams { maker: Ppm(fee_bps * 50), taker: Ppm(fee_bps * 100) };
        market.funding = FundingParams { interval_ticks: funding_every, ..FundingParams::default() };
        market.mark = match mark_kind { 0 => MarkMethod::Index, 1 => MarkMethod::LastTrade, _ => MarkMethod::Median { basis_window: 5 } };
        market.depth.levels = 5;
        market.depth.lots_at_best = 10;
        market.depth.refresh_ticks = 3;
        market.depth.provider_collateral = cascade_framework::Micros(1_000_000_000 * scale);
        // Depth centred on the index, or on what traders see (mid, last
        // trade, an average of it), refilling between refreshes.
        {
            use cascade_framework::market::depth::DepthAnchor;
            market.depth.anchor = match anchor { 0 => DepthAnchor::Index, 1 => DepthAnchor::Mid, _ => DepthAnchor::LastTrade };
            if anchor == 3 {
                market.depth.anchor_half_life = Some(2.0);
            }
            if anchor > 0 {
                market.depth.resilience = 0.3;
                market.depth.refresh_ticks = 0;
            }
        }
        params.tick_seconds = 3_600.0;
        let mut sim = Simulation::new(params).unwrap();
        let m = MarketId(0);
        let traders: Vec<_> = collateral.iter().enumerate()
            .map(|(i, c)| trader(&mut sim, &format!("t{i}"), if i % 2 == 0 { MarginMode::Cross } else { MarginMode::Isolated }, *c * scale))
            .collect();
        // Leveraged positions seeded against the system counterparty.
        for (i, (qty, entry, c, cross)) in seeded.iter().enumerate() {
            let mode = if *cross { MarginMode::Cross } else { MarginMode::Isolated };
            let t = trader(&mut sim, &format!("lev{i}"), mode, *c * scale);
            sim.seed_position(t, m, Lots(*qty), Price(*entry)).unwrap();
        }
        assert_conserved(&sim);
        for actions in ticks {
            let first_auction = sim.world().resource::<cascade_framework::exchange::auction::Auctions>().open.first().map(|a| a.id);
            {
                let mut q = sim.world_mut().resource_mut::<OrderQueue>();
                for a in actions {
                    let mark = 1_000;
                    match a {
                        Flow::Limit { trader, buy, offset, qty } => {
                            let side = if buy { Side::Buy } else { Side::Sell };
                            q.place(Priority::NORMAL, traders[trader], m, side, Lots(qty), OrderKind::Limit { price: Price(mark + offset) });
                        }
                        Flow::Ioc { trader, buy, offset, qty } => {
                            let side = if buy { Side::Buy } else { Side::Sell };
                            q.place(Priority::FAST, traders[trader], m, side, Lots(qty), OrderKind::Ioc { price: Price(mark + offset) });
                        }
                        Flow::Market { trader, buy, qty } => {
                            let side = if buy { Side::Buy } else { Side::Sell };
                            q.place(Priority::NORMAL, traders[trader], m, side, Lots(qty), OrderKind::Market);
                        }
                        Flow::CancelAll { trader } => q.cancel_all(Priority::NORMAL, traders[trader], m),
                        Flow::Deposit { trader, amount } => q.deposit(Priority::NORMAL, traders[trader], m, cascade_framework::Micros(amount)),
                        Flow::Take { trader, offset, qty } => {
                            if let Some(auction) = first_auction {
                                let take = cascade_framework::exchange::auction::Take {
                                    auction,
                                    max_lots: Lots(qty),
                                    limit: Price(mark + offset),
                                    cost: cascade_framework::Micros(qty * 10),
                                };
                                q.take(Priority::NORMAL, traders[trader], take);
                            }
                        }
                    }
                }
            }
            sim.step();
            assert_conserved(&sim);
            let market = sim.markets().get(m);
            prop_assert!(market.book.check_invariants().is_ok(), "{:?}", market.book.check_invariants());
            let oi: i64 = sim.ledger().accounts.iter().map(|a| a.qty(m).0.max(0)).sum();
            prop_assert_eq!(market.open_interest.0, oi);
            let net: i64 = sim.ledger().accounts.iter().map(|a| a.qty(m).0).sum();
            prop_assert_eq!(net, 0);
            // The trigger index misses no one: after the Liquidate phase, an
            // account still below maintenance is one the book could not
            // absorb (its opposite side is empty) or one left when the round
            // limit was hit.
            let log = sim.world().resource::<TickLiquidations>();
            // Haircuts come after the tick's liquidations: a payer pushed
            // under water is liquidated next tick.
            let rounds_hit = log.rounds >= 10
                || log.totals[0].throttled > 0
                || log.totals[0].socialized.0 > 0
                || market.is_halted(sim.tick() - 1);
            for (i, acct) in sim.ledger().accounts.iter().enumerate() {
                let id = cascade_framework::AccountId(u32::try_from(i).unwrap());
                let frozen = sim.world().resource::<cascade_framework::exchange::auction::Auctions>().is_frozen(id);
                if !frozen && below_maintenance(id, sim.ledger(), sim.markets()).is_some() {
                    let q = acct.qty(m).0;
                    // Under auto-deleveraging a liquidation sells no worse
                    // than the bankruptcy price, so only that part of the
                    // book counts.
                    let floor = if backstop == 2 {
                        let terms = |mm| cascade_framework::accounts::health::terms_of(sim.markets(), mm);
                        let price_of = |mm| sim.markets().get(mm).mark;
                        acct.margin_line(m, &terms, &price_of).and_then(|l| l.bankruptcy_price())
                    } else {
                        None
                    };
                    let opposite_empty = if q > 0 {
                        market.book.best_bid().is_none_or(|b| floor.is_some_and(|f| b < f))
                    } else {
                        market.book.best_ask().is_none_or(|a| floor.is_some_and(|f| a > f))
                    };
                    prop_assert!(opposite_empty || rounds_hit, "account {i} below maintenance with a book to sell into");
                }
            }
        }
    }
}
