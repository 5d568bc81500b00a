//! Execution agents and book resilience, on hand-sized books.

use crate::common::run;
use cascade_agents::Population;
use cascade_agents::execution::ExecutionParams;
use cascade_agents::framework::exchange::liquidity::Liquidity;
use cascade_agents::framework::market::depth::{DepthAnchor, DepthProfile};
use cascade_agents::framework::market::index::IndexProcess;
use cascade_agents::framework::presets::btc_market;
use cascade_agents::framework::record::RecordingParams;
use cascade_agents::framework::{MarketId, Micros, Price, Side, SimParams, Simulation};

/// One BTC-like market at 600,000 ticks whose fundamental does not move,
/// with `depth` as its background book.
fn still_market(depth: DepthProfile) -> SimParams {
    let mut m = btc_market("BTC-PERP", vec![]);
    m.index.process = IndexProcess::Gbm { drift: 0.0, volatility: 0.0, jumps: None };
    m.depth = depth;
    SimParams {
        seed: 1,
        tick_seconds: 1.0,
        markets: vec![m],
        protocol: Default::default(),
        recording: RecordingParams::default(),
        index_correlation: None,
    }
}

fn three_levels(resilience: f64) -> DepthProfile {
    DepthProfile {
        half_spread_ticks: 1,
        levels: 3,
        spacing_ticks: 1,
        lots_at_best: 10,
        growth: 1.0,
        growth_lots: 0,
        resilience,
        refresh_ticks: 0,
        anchor: DepthAnchor::Index,
        anchor_half_life: None,
        provider_collateral: Micros(1_000_000_000_000_000),
    }
}

/// The provider's bids at 1, 2 and 3 ticks below 600,000.
fn provider_bids(sim: &Simulation) -> [i64; 3] {
    let provider = sim.world().resource::<Liquidity>().providers[0];
    let book = &sim.markets().get(MarketId(0)).book;
    [1, 2, 3].map(|k| book.resting_at(provider, Side::Buy, Price(600_000 - k)).0)
}

#[test]
fn a_resilient_book_refills_a_fraction_of_its_shortfall_a_tick_from_the_far_end() {
    // 10 lots at each of three bids. A sell of 25 at tick 1 takes the first
    // two levels and 5 of the third: the side is 25 lots short. With
    // ρ = 0.5 it gets back ⌈0.5 × 25⌉ = 13 lots, far levels first: the
    // third to 10, 8 on the second: (0, 8, 10). Then ⌈0.5 × 12⌉ = 6:
    // (4, 10, 10); then ⌈0.5 × 6⌉ = 3: (7, 10, 10). The best bid walks
    // back from 2 ticks below 600,000 to 1.
    let seller = ExecutionParams { quantity: 25, start_tick: 1, ticks: 1, ..ExecutionParams::default() };
    let mut sim = Simulation::new(still_market(three_levels(0.5))).unwrap();
    seller.install(&mut sim).unwrap();
    sim.step(); // tick 0: the book as laid
    assert_eq!(provider_bids(&sim), [10, 10, 10]);
    sim.step(); // tick 1: the sale
    assert_eq!(provider_bids(&sim), [0, 0, 5]);
    let mut seen = Vec::new();
    for _ in 0..3 {
        sim.step();
        seen.push(provider_bids(&sim));
        let (value, put_in) = sim.value_balance();
        assert_eq!(value, put_in, "value conserved");
    }
    assert_eq!(seen, [[0, 8, 10], [4, 10, 10], [7, 10, 10]]);
}

/// The provider's lots at 1, 2 and 3 ticks below and above `centre`.
fn provider_ladder(sim: &Simulation, centre: i64) -> ([i64; 3], [i64; 3]) {
    let provider = sim.world().resource::<Liquidity>().providers[0];
    let book = &sim.markets().get(MarketId(0)).book;
    let at = |side, k: i64| book.resting_at(provider, side, Price(centre + if side == Side::Buy { -k } else { k })).0;
    ([1, 2, 3].map(|k| at(Side::Buy, k)), [1, 2, 3].map(|k| at(Side::Sell, k)))
}

#[test]
fn a_resilient_book_moves_its_consumed_shape_with_the_index_and_refills_on_top() {
    // As above, but the index steps from 600,000 to 600,002 at tick 3. The
    // sale leaves the bids (0, 0, 5) and the refill of tick 2 makes them
    // (0, 8, 10) around 600,000. At tick 3 the ladder moves 2 ticks up
    // with its shape kept, and the refill of ⌈0.5 × 12⌉ = 6 lots, far
    // levels first, comes on top: (4, 10, 10) at 600,001, 600,000 and
    // 599,999, asks (10, 10, 10) from 600,003. Nothing is left at the old
    // prices, and value is conserved.
    let seller = ExecutionParams { quantity: 25, start_tick: 1, ticks: 1, ..ExecutionParams::default() };
    let mut params = still_market(three_levels(0.5));
    let prices = [600_000, 600_000, 600_000, 600_002].map(Price).to_vec();
    params.markets[0].index.process = IndexProcess::Replay { prices };
    let mut sim = Simulation::new(params).unwrap();
    seller.install(&mut sim).unwrap();
    let mut seen = Vec::new();
    for _ in 0..4 {
        sim.step();
        let (value, put_in) = sim.value_balance();
        assert_eq!(value, put_in, "value conserved at tick {}", sim.tick());
        seen.push(provider_ladder(&sim, 600_000));
    }
    assert_eq!(seen[..3], [([10, 10, 10], [10, 10, 10]), ([0, 0, 5], [10, 10, 10]), ([0, 8, 10], [10, 10, 10])]);
    assert_eq!(provider_ladder(&sim, 600_002), ([4, 10, 10], [10, 10, 10]));
    // The old prices hold only what the moved ladder put there: its third
    // bid at 599,999 and its first ask at 600,003.
    assert_eq!(seen[3], ([10, 0, 0], [0, 0, 10]));
}

/// The anchor the provider's ladder was last laid around.
fn provider_anchor(sim: &Simulation) -> i64 {
    sim.world().resource::<Liquidity>().anchors[0].0
}

#[test]
fn a_book_anchored_to_its_last_trade_keeps_the_walked_fall_and_refills_at_its_half_life() {
    // The same sale into a book that centres on its own last trade and
    // knows no fundamental, with no value capital. The sale walks the bids
    // down to 599,997: the price falls by exactly the walked depth, 3
    // ticks, and stays there, since no one trades it back. At tick 2 the
    // ladder moves to 599,997 with its consumed shape, (0, 0, 5) at
    // 599,996 .. 599,994, and the refill of ⌈0.5 × 25⌉ = 13, near levels
    // first, comes on top: (10, 3, 5). The shortfall then halves every
    // tick (the half-life of ρ = 0.5 is one tick): 12, 6, 3, as the bids
    // become (10, 9, 5) and (10, 10, 7), and the best bid is one tick below
    // the new price from the first refill on, not below the old one.
    let seller = ExecutionParams { quantity: 25, start_tick: 1, ticks: 1, ..ExecutionParams::default() };
    let depth = DepthProfile { anchor: DepthAnchor::LastTrade, ..three_levels(0.5) };
    let mut sim = Simulation::new(still_market(depth)).unwrap();
    seller.install(&mut sim).unwrap();
    sim.step();
    sim.step(); // the sale
    assert_eq!(sim.markets().get(MarketId(0)).last_trade, Some(Price(599_997)));
    let (mut anchors, mut ladders, mut shortfalls) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..3 {
        sim.step();
        anchors.push(provider_anchor(&sim));
        let ladder = provider_ladder(&sim, 599_997);
        shortfalls.push(30 - ladder.0.iter().sum::<i64>());
        ladders.push(ladder);
        let (value, put_in) = sim.value_balance();
        assert_eq!(value, put_in, "value conserved");
    }
    assert_eq!(anchors, [599_997; 3]);
    assert_eq!(shortfalls, [12, 6, 3]);
    assert_eq!(ladders, [([10, 3, 5], [10, 10, 10]), ([10, 9, 5], [10, 10, 10]), ([10, 10, 7], [10, 10, 10])]);
    // Nothing rests around the old price any more.
    assert_eq!(provider_ladder(&sim, 600_000), ([0, 0, 0], [0, 0, 0]));
}

#[test]
fn an_averaged_anchor_follows_the_last_trade_at_its_half_life() {
    // A 204-tick walk (the best level 4 ticks out, levels 100 ticks apart:
    // fills at 599,996, 599,896 and 599,796) into a book whose anchor is
    // the moving average of its last trade with a half-life of 2 ticks:
    // α = 1 − 2^(−1/2). After n ticks the average has covered 1 − 2^(−n/2)
    // of the 204-tick fall: n = 2 is half of it, n = 4 three quarters,
    // each rounded to a tick.
    let seller = ExecutionParams { quantity: 25, start_tick: 1, ticks: 1, ..ExecutionParams::default() };
    let depth = DepthProfile {
        half_spread_ticks: 4,
        spacing_ticks: 100,
        anchor: DepthAnchor::LastTrade,
        anchor_half_life: Some(2.0),
        ..three_levels(0.0)
    };
    let mut sim = Simulation::new(still_market(depth)).unwrap();
    seller.install(&mut sim).unwrap();
    sim.step();
    sim.step();
    assert_eq!(sim.markets().get(MarketId(0)).last_trade, Some(Price(599_796)));
    let mut anchors = Vec::new();
    for _ in 0..6 {
        sim.step();
        anchors.push(provider_anchor(&sim));
    }
    for (n, a) in (1..=6).zip(&anchors) {
        let closed_form = 600_000.0 - 204.0 * (1.0 - 0.5_f64.powf(f64::from(n) / 2.0));
        assert!((*a as f64 - closed_form).abs() <= 0.5 + 1e-9, "tick {n}: {a} against {closed_form}");
    }
    assert_eq!([anchors[1], anchors[3]], [599_898, 599_847]);
}

#[test]
fn without_resilience_consumed_depth_stays_consumed() {
    let seller = ExecutionParams { quantity: 25, start_tick: 1, ticks: 1, ..ExecutionParams::default() };
    let mut sim = Simulation::new(still_market(three_levels(0.0))).unwrap();
    seller.install(&mut sim).unwrap();
    for _ in 0..6 {
        sim.step();
    }
    assert_eq!(provider_bids(&sim), [0, 0, 5]);
}

#[test]
fn a_twap_parent_is_sent_in_exact_children_and_logged_with_its_prices() {
    // 10 lots over 4 ticks from tick 2 into 100 lots a level: children of
    // 2, 3, 2 and 3 lots, each filled in full at the best bid, which no
    // child empties; the position ends at -10 and value is conserved.
    let depth = DepthProfile { lots_at_best: 100, resilience: 0.0, ..three_levels(0.0) };
    let seller = ExecutionParams { quantity: 10, start_tick: 2, ticks: 4, ..ExecutionParams::default() };
    let out = run(still_market(depth), &[&seller], 10);
    let df = out.executions.expect("an executions frame");
    let ints = |c: &str| -> Vec<i64> { df.column(c).unwrap().i64().unwrap().into_no_null_iter().collect() };
    assert_eq!(df.column("tick").unwrap().u64().unwrap().into_no_null_iter().collect::<Vec<_>>(), [2, 3, 4, 5]);
    assert_eq!(ints("child_lots"), [2, 3, 2, 3]);
    assert_eq!(ints("filled_lots"), [2, 3, 2, 3]);
    assert_eq!(ints("cumulative_lots"), [2, 5, 7, 10]);
    assert_eq!(ints("last_trade"), [599_999; 4]);
    assert_eq!(ints("best_bid"), [599_999; 4]);
    let arrival: Vec<f64> = df.column("arrival_mid").unwrap().f64().unwrap().into_no_null_iter().collect();
    assert_eq!(arrival, [600_000.0; 4]);
    let pop = out.agents.column("population").unwrap().str().unwrap();
    let open = out.agents.column("open_qty").unwrap().i64().unwrap();
    let mine: Vec<i64> =
        pop.iter().zip(open.iter()).filter(|(p, _)| *p == Some("executions")).map(|(_, q)| q.unwrap()).collect();
    assert_eq!(mine, [-10]);
}

#[test]
fn a_run_without_execution_agents_writes_no_executions_frame() {
    let out = run(still_market(three_levels(0.0)), &[], 3);
    assert!(out.executions.is_none());
}

/// A fund's open lots and the mark (the last trade), tick by tick, while
/// an execution agent sells 20,000 lots over 40 ticks from tick 10 into a
/// flat resilient book of 200 lots every 400 ticks (the fundamental stays
/// at 600,000 ticks).
fn fund_path(fund: &cascade_agents::fund::FundParams) -> (Vec<i64>, Vec<i64>) {
    let depth = DepthProfile { lots_at_best: 200, levels: 300, spacing_ticks: 400, ..three_levels(0.05) };
    let seller = ExecutionParams { quantity: 20_000, start_tick: 10, ticks: 40, ..ExecutionParams::default() };
    let mut params = still_market(depth);
    params.markets[0].mark = cascade_agents::framework::market::params::MarkMethod::LastTrade;
    let mut sim = Simulation::new(params).unwrap();
    seller.install(&mut sim).unwrap();
    fund.install(&mut sim).unwrap();
    let account = sim.ledger().accounts.iter().position(|a| sim.ledger().labels[usize::from(a.population)] == "funds");
    let account = cascade_agents::framework::AccountId(u32::try_from(account.unwrap()).unwrap());
    let (mut held, mut price) = (Vec::new(), Vec::new());
    for _ in 0..60 {
        sim.step();
        let (value, put_in) = sim.value_balance();
        assert_eq!(value, put_in, "value conserved at tick {}", sim.tick());
        held.push(sim.ledger().account(account).qty(MarketId(0)).0);
        price.push(sim.markets().get(MarketId(0)).mark.0);
    }
    (held, price)
}

#[test]
fn a_leverage_fund_buys_the_dip_until_its_cap_binds_then_sells_into_the_fall() {
    use cascade_agents::fund::FundParams;
    // β = 400 and 10,000 quote: λ = 400 × (V − p)/V reaches the cap of 3
    // once the mid is 0.75% below the fundamental.
    let capped =
        FundParams { count: 1, beta: 400.0, max_leverage: 3.0, capital: Micros(10_000_000_000), ..Default::default() };
    let (held, price) = fund_path(&capped);
    assert_eq!(held[..10], [0; 10], "no mispricing before the sale: no position");
    assert!(price[49] < 600_000 * 975 / 1_000, "the sale pushed the price 2.5% down: {}", price[49]);
    let peak = held.iter().copied().max().unwrap();
    let at_peak = held.iter().position(|h| *h == peak).unwrap();
    assert!(peak > 0 && at_peak < 49, "it bought the dip, up to {peak} lots at tick {at_peak}");
    // After the cap binds, the price goes on falling and the fund sells,
    // tick after tick, as its equity falls with it.
    assert!(
        price[49] < price[at_peak] && held[49] < peak,
        "{} lots at {} after {peak} at {}",
        held[49],
        price[49],
        price[at_peak]
    );
    assert!(held[at_peak..50].windows(2).all(|w| w[1] <= w[0]), "it only sells while capped: {held:?}");
    // Without a binding cap (λ_max = 1,000) the same fund only buys more.
    let uncapped = FundParams { max_leverage: 1_000.0, ..capped };
    let (held, _) = fund_path(&uncapped);
    assert!(held[49] > held[25], "an uncapped fund buys more as the price falls: {held:?}");
}

#[test]
fn demand_noise_holds_the_rounded_ar1_demand_drawn_from_its_own_stream() {
    use cascade_agents::framework::core::rng::{RunSeed, population_id};
    use cascade_agents::fund::DemandNoiseParams;
    use rand_distr::{Distribution, StandardNormal};
    // n_t = 0.9 n_(t-1) + 50 e_t, with e_t the trader's own stream: into a
    // book of 10,000 lots a level every order fills, so the position is
    // round(n_t) after every tick.
    let depth = DepthProfile { lots_at_best: 10_000, levels: 50, ..three_levels(0.0) };
    let noise = DemandNoiseParams { rho: 0.9, sigma_lots: 50.0, ..DemandNoiseParams::default() };
    let mut sim = Simulation::new(still_market(depth)).unwrap();
    noise.install(&mut sim).unwrap();
    let account =
        cascade_agents::framework::AccountId(u32::try_from(sim.ledger().accounts.len() - 1).expect("few accounts"));
    let id = cascade_agents::framework::AgentId { population: population_id("demand_noise"), index: 0 };
    let mut rng = RunSeed(1).agent_stream(id);
    let mut n = 0.0_f64;
    for _ in 0..50 {
        sim.step();
        let (value, put_in) = sim.value_balance();
        assert_eq!(value, put_in, "value conserved");
        let z: f64 = StandardNormal.sample(&mut rng);
        n = 0.9 * n + 50.0 * z;
        assert_eq!(
            sim.ledger().account(account).qty(MarketId(0)).0,
            cascade_agents::framework::core::units::round_to_i64(n),
            "tick {}",
            sim.tick()
        );
    }
}
