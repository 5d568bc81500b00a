//! Execution agents and book resilience, on hand-sized books.

use crate::common::run;
use cascade_agents::Population;
use cascade_agents::execution::ExecutionParams;
use cascade_agents::framework::exchange::liquidity::Liquidity;
use cascade_agents::framework::market::depth::DepthProfile;
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
fn a_resilient_book_refills_a_fraction_of_each_levels_shortfall_a_tick() {
    // 10 lots at each of three bids. A sell of 25 at tick 1 takes the first
    // two levels and 5 of the third. With ρ = 0.5 each level then gets back
    // ⌈0.5 × shortfall⌉ a tick: (5, 5, 3) → (5, 5, 8), then (3, 3, 1) more
    // → (8, 8, 9), then (1, 1, 1) → (9, 9, 10).
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
    assert_eq!(seen, [[5, 5, 8], [8, 8, 9], [9, 9, 10]]);
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
