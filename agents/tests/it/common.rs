//! Worlds shared by the agent tests.

use cascade_agents::Population;
use cascade_agents::framework::market::index::Shock;
use cascade_agents::framework::presets::btc_market;
use cascade_agents::framework::record::{RecordingParams, RunOutput};
use cascade_agents::framework::{SimParams, Simulation};

/// The BTC-like market with one shock of `drop` over 30 ticks from tick 100.
pub fn crash_params(seed: u64, drop: f64) -> SimParams {
    SimParams {
        seed,
        tick_seconds: 1.0,
        markets: vec![btc_market("BTC-PERP", vec![Shock { start_tick: 100, drop, over_ticks: 30 }])],
        protocol: Default::default(),
        recording: RecordingParams::default(),
        index_correlation: None,
    }
}

/// Builds, installs, runs `ticks` ticks asserting exact conservation after
/// each, and finishes.
pub fn run(params: SimParams, populations: &[&dyn Population], ticks: u64) -> RunOutput {
    let mut sim = Simulation::new(params).unwrap();
    for p in populations {
        p.install(&mut sim).unwrap();
    }
    for _ in 0..ticks {
        sim.step();
        let (value, put_in) = sim.value_balance();
        assert_eq!(value, put_in, "value not conserved at tick {}", sim.tick());
    }
    sim.finish().unwrap()
}

/// A column as f64s, nulls dropped.
pub fn col(df: &polars::prelude::DataFrame, name: &str) -> Vec<Option<f64>> {
    use polars::prelude::*;
    df.column(name).unwrap().cast(&DataType::Float64).unwrap().f64().unwrap().iter().collect()
}

/// Mean of the non-null values of `name` over rows with tick in `[from, to]`.
pub fn mean_between(df: &polars::prelude::DataFrame, name: &str, from: u64, to: u64) -> f64 {
    let ticks = col(df, "tick");
    let xs: Vec<f64> = col(df, name)
        .into_iter()
        .zip(ticks)
        .filter(|(_, t)| t.is_some_and(|t| t >= from as f64 && t <= to as f64))
        .filter_map(|(x, _)| x)
        .collect();
    xs.iter().sum::<f64>() / xs.len().max(1) as f64
}
