//! Cost of one tick with every population active: 100k leveraged traders
//! (with stops, top-ups, re-entry and trend following), 10 market makers,
//! 5 predators, 1k noise traders and 50 fundamental traders in the
//! BTC-like preset market.
//!
//! ```text
//! cargo bench -p cascade-agents --bench populations
//! ```

use cascade_agents::fundamental::FundamentalParams;
use cascade_agents::leveraged::{LeveragedParams, Reentry, StopLoss, TopUp, Trend};
use cascade_agents::maker::MakerParams;
use cascade_agents::noise::NoiseParams;
use cascade_agents::predator::{PredatorParams, Strategy};
use cascade_agents::{Dist, Population};
use cascade_framework::presets::btc_market;
use cascade_framework::{Micros, SimParams, Simulation};
use criterion::{Criterion, criterion_group, criterion_main};
use std::hint::black_box;
use std::time::Duration;

fn build() -> Simulation {
    let params = SimParams {
        seed: 2024,
        tick_seconds: 1.0,
        markets: vec![btc_market("BTC-PERP", vec![])],
        protocol: Default::default(),
        recording: Default::default(),
        index_correlation: None,
    };
    let mut sim = Simulation::new(params).expect("preset is valid");
    let mut lev = LeveragedParams::holders(
        "leveraged",
        100_000,
        Dist::Mix { components: vec![(1.0, Dist::fixed(10.0)), (1.0, Dist::Uniform { low: 20.0, high: 75.0 })] },
        Dist::Lognormal { median: 20.0, sigma: 0.8 },
    );
    lev.stop_loss = Some(StopLoss { probability: 0.3, distance: Dist::fixed(0.02), round_to_ticks: 5_000 });
    lev.top_up = Some(TopUp { within: 0.005, probability: 0.5, amount: 0.5, reserve: 1.0 });
    lev.reentry = Some(Reentry { delay_ticks: 30, probability: 0.2, max_times: 3 });
    lev.trend = Some(Trend { lookback_ticks: 30, threshold: 0.003, probability: 0.01 });
    let pops: Vec<Box<dyn Population>> = vec![
        Box::new(lev),
        Box::new(MakerParams::preset("makers", 10, true)),
        Box::new(PredatorParams::preset("front_runners", 3, Strategy::FrontRun)),
        Box::new(PredatorParams::preset("hunters", 2, Strategy::Hunt)),
        Box::new(NoiseParams {
            name: "noise".into(),
            count: 1_000,
            first_index: 0,
            market: Default::default(),
            capital: Micros(100_000_000_000),
            rate: 0.05,
            size_median: 5.0,
            size_sigma: 0.7,
        }),
        Box::new(FundamentalParams::preset("value", 50)),
    ];
    for p in &pops {
        p.install(&mut sim).expect("valid populations");
    }
    sim
}

fn bench(c: &mut Criterion) {
    let mut group = c.benchmark_group("populations");
    group.sample_size(10).measurement_time(Duration::from_secs(5)).warm_up_time(Duration::from_secs(1));
    let mut sim = build();
    let start = sim.tick();
    group.bench_function("100k_traders_10_makers_5_predators_1k_noise_50_value", |b| {
        b.iter(|| black_box(&mut sim).step())
    });
    let ticks = sim.tick() - start;
    let liquidated = sim.ledger().accounts.iter().filter(|a| a.liquidated_at().is_some()).count();
    eprintln!("ran {ticks} ticks; {liquidated} accounts liquidated at least once");
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
