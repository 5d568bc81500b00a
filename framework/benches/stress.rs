//! Two costs that the tick bench does not show:
//!
//! - `setup`: building the BTC-like preset market and opening 10k, 100k and
//!   1M leveraged positions (exact liquidation prices, trigger index).
//! - `exhausted`: one tick after a crash has emptied the bid side of the
//!   book, with the positions below maintenance waiting for liquidity
//!   (no background depth, the index fallen 15%). Their number must not
//!   set the tick's cost: 10k, 100k and 1M positions should cost alike.
//!
//! ```text
//! cargo bench -p cascade-framework --bench stress
//! ```

use cascade_framework::market::index::{IndexProcess, Shock};
use cascade_framework::presets::{btc_market, seed_leveraged};
use cascade_framework::{MarketId, SimParams, Simulation};
use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use std::hint::black_box;
use std::time::Duration;

fn params(exhausted: bool) -> SimParams {
    let mut market = btc_market("BTC-PERP", vec![]);
    market.funding.interval_ticks = 0;
    if exhausted {
        market.index.process = IndexProcess::Replay { prices: vec![market.index.initial_price] };
        market.index.shocks = vec![Shock { start_tick: 1, drop: 0.15, over_ticks: 1 }];
        market.depth.levels = 0;
    }
    SimParams {
        seed: 2024,
        tick_seconds: 1.0,
        markets: vec![market],
        protocol: Default::default(),
        recording: Default::default(),
        index_correlation: None,
    }
}

fn bench_setup(c: &mut Criterion) {
    let mut group = c.benchmark_group("setup");
    group.sample_size(10).measurement_time(Duration::from_secs(5)).warm_up_time(Duration::from_secs(1));
    for n in [10_000_u32, 100_000, 1_000_000] {
        group.bench_function(format!("{n}_positions"), |b| {
            b.iter(|| {
                let mut sim = Simulation::new(params(false)).expect("preset is valid");
                seed_leveraged(&mut sim, MarketId(0), n);
                black_box(sim)
            });
        });
    }
    group.finish();
}

fn bench_exhausted(c: &mut Criterion) {
    let mut group = c.benchmark_group("exhausted");
    group.sample_size(10).measurement_time(Duration::from_secs(3)).warm_up_time(Duration::from_secs(1));
    for n in [10_000_u32, 100_000, 1_000_000] {
        let mut sim = Simulation::new(params(true)).expect("preset is valid");
        seed_leveraged(&mut sim, MarketId(0), n);
        // Tick 0 opens, tick 1 crashes the index into an empty book.
        sim.run(3);
        let waiting = sim.ledger().accounts.iter().filter(|a| a.positions.iter().any(|p| p.qty.0 > 0)).count();
        eprintln!("{n} positions: {waiting} longs still open and waiting for bids");
        group.bench_function(format!("{n}_positions"), |b| {
            b.iter_batched_ref(|| (), |()| black_box(&mut sim).step(), BatchSize::SmallInput);
        });
    }
    group.finish();
}

criterion_group!(benches, bench_setup, bench_exhausted);
criterion_main!(benches);
