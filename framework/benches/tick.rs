//! Cost of one tick as open positions grow: 10k, 100k and 1M leveraged
//! positions in the BTC-like preset market (background depth refreshed
//! every 15 ticks, funding every 480 ticks). Two index paths:
//!
//! - `quiet`: the index holds still and funding is off, so no one is
//!   liquidated: the pure cost of having positions open. It must stay flat
//!   as positions grow.
//! - `gbm`: 60% annual volatility, so positions near the price are
//!   liquidated as it wanders; the cost grows with the liquidations (which
//!   grow with the number of positions near the price), not with the
//!   positions themselves.
//! - `gbm_dynamic`: the same path with dynamic maintenance raising the
//!   rates (about 1.5× here). Each tier's keys are queried from their own
//!   bound (see [`cascade_framework::accounts::triggers`]), so the cost stays with the
//!   liquidations, as in `gbm`.
//!
//! The bench prints the heap bytes per position, measured with a counting
//! allocator, and the liquidations per tick seen while measuring.
//!
//! ```text
//! cargo bench -p cascade-framework --bench tick
//! ```

#![allow(unsafe_code, reason = "a counting global allocator must implement the unsafe GlobalAlloc trait")]

use cascade_framework::market::index::IndexProcess;
use cascade_framework::presets::{btc_market, seed_leveraged};
use cascade_framework::record::RecordingParams;
use cascade_framework::{MarketId, SimParams, Simulation};
use criterion::{Criterion, criterion_group, criterion_main};
use std::alloc::{GlobalAlloc, Layout, System};
use std::hint::black_box;
use std::sync::atomic::{AtomicIsize, Ordering};
use std::time::Duration;

/// Counts live heap bytes.
struct Counting;

static LIVE: AtomicIsize = AtomicIsize::new(0);

// SAFETY: every call forwards to the system allocator unchanged; the
// counter is only arithmetic.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LIVE.fetch_add(layout.size() as isize, Ordering::Relaxed);
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size() as isize, Ordering::Relaxed);
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        LIVE.fetch_add(new_size as isize - layout.size() as isize, Ordering::Relaxed);
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOC: Counting = Counting;

fn params(quiet: bool, dynamic: bool) -> SimParams {
    let mut market = btc_market("BTC-PERP", vec![]);
    if quiet {
        market.index.process = IndexProcess::Replay { prices: vec![market.index.initial_price] };
        // Funding would walk every threshold and liquidate in bursts.
        market.funding.interval_ticks = 0;
    }
    SimParams {
        seed: 2024,
        tick_seconds: 1.0,
        markets: vec![market],
        protocol: cascade_framework::protocol::ProtocolParams {
            dynamic_maintenance: dynamic.then_some(cascade_framework::protocol::DynamicMaintenance {
                vol_ref: 0.000_05,
                sensitivity: 0.5,
                max_multiplier: 1.9,
                max_step: 0.02,
            }),
            ..Default::default()
        },
        // The heatmap sample is O(buckets); keep it in, as a run would.
        recording: RecordingParams::default(),
        index_correlation: None,
    }
}

fn bench_ticks(c: &mut Criterion) {
    for (name, quiet, dynamic) in [("quiet", true, false), ("gbm", false, false), ("gbm_dynamic", false, true)] {
        let mut group = c.benchmark_group(name);
        group.sample_size(10).measurement_time(Duration::from_secs(3)).warm_up_time(Duration::from_secs(1));
        for n in [10_000_u32, 100_000, 1_000_000] {
            bench_size(&mut group, quiet, dynamic, n);
        }
        group.finish();
    }
}

fn bench_size(
    group: &mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>,
    quiet: bool,
    dynamic: bool,
    n: u32,
) {
    {
        let mut sim = Simulation::new(params(quiet, dynamic)).expect("preset is valid");
        let before = LIVE.load(Ordering::Relaxed);
        seed_leveraged(&mut sim, MarketId(0), n);
        let after = LIVE.load(Ordering::Relaxed);
        let per_position = (after - before) as f64 / f64::from(n);
        let liq_before = sim.ledger().accounts.iter().filter(|a| a.liquidated_at().is_some()).count();
        let tick_before = sim.tick();
        group.bench_function(format!("{n}_positions"), |b| b.iter(|| black_box(&mut sim).step()));
        let liquidated = sim.ledger().accounts.iter().filter(|a| a.liquidated_at().is_some()).count() - liq_before;
        let ticks = sim.tick() - tick_before;
        if ticks > 0 {
            let scale = sim.markets().get(MarketId(0)).maintenance_scale;
            eprintln!(
                "{n} positions: {per_position:.0} heap bytes per position; {liquidated} accounts liquidated over {ticks} ticks ({:.3} per tick); maintenance x{:.2}",
                liquidated as f64 / ticks as f64,
                scale.as_fraction()
            );
        }
    }
}

criterion_group!(benches, bench_ticks);
criterion_main!(benches);
