//! Agent populations for Cascade Lab: leveraged traders, market makers,
//! front-running predators, noise traders and fundamental (value) traders.
//!
//! Each population is a component holding its parameters and state, plus
//! the systems that run it; its decision rule is written, with units, in the
//! doc comment of its module. A population implements [`Population`]:
//! `install` opens its agents' accounts, spawns them, and adds its systems to
//! the framework's phases the first time a population of its kind is
//! installed. Users add their own populations the same way, without
//! touching the framework (see `examples/custom_agent.rs`). A population
//! that experiment files can name (`- kind: ...`) also implements
//! [`PopulationKind`], and is registered with the experiments crate
//! (`experiments/examples/momentum.rs`):
//!
//! ```
//! use cascade_agents::{Agent, Population, install_once, spawn_agent};
//! use cascade_agents::framework::{ParamError, Phase, Simulation, Micros, MarketId};
//! use cascade_agents::framework::accounts::ledger::MarginMode;
//! use bevy_ecs::prelude::*;
//!
//! /// Does nothing, politely.
//! #[derive(Component)]
//! struct Idle;
//!
//! struct Idlers(u32);
//!
//! impl Population for Idlers {
//!     fn name(&self) -> &str { "idlers" }
//!     fn install(&self, sim: &mut Simulation) -> Result<(), ParamError> {
//!         for i in 0..self.0 {
//!             let agent = spawn_agent(sim, self.name(), "idle", i, MarketId(0), MarginMode::Cross, 1, Micros(1_000_000));
//!             sim.world_mut().spawn((agent, Idle));
//!         }
//!         install_once(sim, "idle", |sim| {
//!             sim.add_systems(Phase::Decide, |q: Query<&Agent, With<Idle>>| { let _ = q.iter().count(); });
//!         });
//!         Ok(())
//!     }
//! }
//!
//! let mut sim = Simulation::new(cascade_agents::framework::presets::flash_crash(1))?;
//! Idlers(3).install(&mut sim)?;
//! sim.run(5);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

pub mod alarms;
pub mod arbitrageur;
pub mod dist;
pub mod execution;
pub mod fund;
pub mod fundamental;
pub mod guards;
pub mod keeper;
pub mod kind;
pub mod leveraged;
mod leveraged_draw;
pub mod maker;
pub mod noise;
pub mod portfolio;
pub mod predator;
pub mod strategic;

pub use cascade_framework as framework;
pub use dist::Dist;
pub use kind::PopulationKind;

use bevy_ecs::prelude::*;
use cascade_framework::accounts::ledger::{AccountKind, AccountSpec, Label, MarginMode};
use cascade_framework::core::rng::{AgentRng, population_id};
use cascade_framework::market::Markets;
use cascade_framework::{AccountId, AgentId, MarketId, Micros, ParamError, Phase, Price, Simulation};
use std::collections::VecDeque;

/// A population that can be put into a simulation.
pub trait Population {
    /// The population's name: written on every agent row and used, with
    /// the agent's index, to key its random stream.
    fn name(&self) -> &str;

    /// Opens the agents' accounts, spawns them and adds the population's
    /// systems (once per kind, see [`install_once`]).
    fn install(&self, sim: &mut Simulation) -> Result<(), ParamError>;
}

/// Identity of an agent, common to every population.
#[derive(Component, Debug)]
pub struct Agent {
    /// Stable id: population and index.
    pub id: AgentId,
    /// Its margin account.
    pub account: AccountId,
    /// The market it trades.
    pub market: MarketId,
    /// Its own random stream (compact while it is not drawn from).
    pub rng: AgentRng,
}

/// The numbers of a population's agents: `count` of them from `first`.
/// Validation keeps `first + count` within `u32`.
pub fn indices(first: u32, count: u32) -> std::ops::Range<u32> {
    first..first.saturating_add(count)
}

/// Whether a number is zero (for fields left out of files when zero).
#[allow(clippy::trivially_copy_pass_by_ref, reason = "serde's skip_serializing_if passes a reference")]
pub fn is_zero(n: &u32) -> bool {
    *n == 0
}

/// Whether a value is its type's default (for fields left out of files
/// when they have it).
pub fn is_default<T: Default + PartialEq>(x: &T) -> bool {
    *x == T::default()
}

/// Opens an account for agent `index` of `population` and returns its
/// [`Agent`] component (not yet spawned).
#[allow(clippy::too_many_arguments, reason = "each argument is a distinct part of the account")]
pub fn spawn_agent(
    sim: &mut Simulation,
    population: &str,
    strategy: &str,
    index: u32,
    market: MarketId,
    mode: MarginMode,
    leverage: u32,
    collateral: Micros,
) -> Agent {
    let id = AgentId { population: population_id(population), index };
    let account = open_agent_account(sim, id, population, strategy, mode, leverage, collateral);
    let rng = sim.seed().agent_stream(id);
    Agent { id, account, market, rng }
}

/// Opens the trader account of agent `id`, as [`spawn_agent`] does, for a
/// caller that makes the agent itself. The labels are names, or numbers
/// from [`cascade_framework::accounts::ledger::Ledger::label`] for a
/// caller that opens many accounts under a few names.
pub fn open_agent_account<'a>(
    sim: &mut Simulation,
    id: AgentId,
    population: impl Into<Label<'a>>,
    strategy: impl Into<Label<'a>>,
    mode: MarginMode,
    leverage: u32,
    collateral: Micros,
) -> AccountId {
    sim.open_account(AccountSpec {
        kind: AccountKind::Trader,
        mode,
        owner: Some(id),
        population: population.into(),
        strategy: strategy.into(),
        leverage,
        collateral,
    })
}

/// `f` of every number in `range`, handed to `consume` in order, `batch`
/// numbers at a time. For populations whose agents' types depend only on
/// their own streams, and whose installing (`consume`) must run on the
/// calling thread: another core computes the next batch while `consume`
/// takes this one. The batches do not depend on the number of cores; a
/// range of one batch, or a machine with one core, stays on the calling
/// thread. The first error of `consume` stops the work and is returned.
pub fn map_pipelined<T: Send, E>(
    range: std::ops::Range<u32>,
    batch: u32,
    f: impl Fn(u32) -> T + Sync,
    mut consume: impl FnMut(Vec<T>) -> Result<(), E>,
) -> Result<(), E> {
    let batch = batch.max(1);
    let batches = move || {
        (range.start..range.end).step_by(batch as usize).map(move |lo| lo..lo.saturating_add(batch).min(range.end))
    };
    let cores = std::thread::available_parallelism().map_or(1, std::num::NonZero::get);
    if cores < 2 || range.end.saturating_sub(range.start) <= batch {
        return batches().try_for_each(|b| consume(b.map(&f).collect()));
    }
    let f = &f;
    std::thread::scope(|s| {
        // One batch computed ahead of the one being consumed.
        let (tx, rx) = std::sync::mpsc::sync_channel::<Vec<T>>(1);
        let producer = s.spawn(move || {
            for b in batches() {
                if tx.send(b.map(f).collect()).is_err() {
                    return; // consume failed and hung up
                }
            }
        });
        let result = rx.iter().try_for_each(&mut consume);
        drop(rx);
        producer.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic));
        result
    })
}

#[derive(Resource, Default)]
struct Installed(Vec<&'static str>);

/// Runs `add` (which adds a kind's systems) unless systems of `kind` were
/// already added to this simulation, so that two populations of one kind
/// share one set of systems.
pub fn install_once(sim: &mut Simulation, kind: &'static str, add: impl FnOnce(&mut Simulation)) {
    let world = sim.world_mut();
    world.init_resource::<Installed>();
    let mut installed = world.resource_mut::<Installed>();
    if installed.0.contains(&kind) {
        return;
    }
    installed.0.push(kind);
    add(sim);
}

/// Recent marks of every market, for agents that look back (trend
/// followers, momentum traders).
#[derive(Resource, Debug, Default)]
pub struct PriceHistory {
    marks: Vec<VecDeque<Price>>,
}

/// Marks kept per market.
const HISTORY: usize = 1_024;

impl PriceHistory {
    /// Log return of `market`'s mark over the last `lookback` ticks, if that
    /// much history exists.
    pub fn log_return(&self, market: MarketId, lookback: usize) -> Option<f64> {
        let marks = self.marks.get(market.idx())?;
        if lookback == 0 || marks.len() <= lookback {
            return None;
        }
        let now = marks.back()?.0 as f64;
        let then = marks[marks.len() - 1 - lookback].0 as f64;
        Some((now / then).ln())
    }
}

fn record_history(markets: Res<Markets>, mut history: ResMut<PriceHistory>) {
    history.marks.resize_with(markets.0.len(), VecDeque::new);
    for (m, marks) in markets.0.iter().zip(history.marks.iter_mut()) {
        marks.push_back(m.mark);
        if marks.len() > HISTORY {
            marks.pop_front();
        }
    }
}

/// Makes [`PriceHistory`] available, updated in Observe.
pub fn use_price_history(sim: &mut Simulation) {
    install_once(sim, "price_history", |sim| {
        sim.world_mut().init_resource::<PriceHistory>();
        sim.add_systems(Phase::Observe, record_history);
    });
}

/// Checks that a probability is in [0, 1].
pub fn check_probability(field: &str, p: f64) -> Result<(), ParamError> {
    if (0.0..=1.0).contains(&p) {
        Ok(())
    } else {
        Err(ParamError::invalid(field, format!("{p} is not a probability in [0, 1]")))
    }
}

/// Checks that a value is finite and non-negative.
pub fn check_non_negative(field: &str, x: f64) -> Result<(), ParamError> {
    if x.is_finite() && x >= 0.0 {
        Ok(())
    } else {
        Err(ParamError::invalid(field, format!("{x} must be non-negative")))
    }
}

/// Checks that a market index exists.
pub fn check_market(sim: &Simulation, field: &str, market: MarketId) -> Result<(), ParamError> {
    if market.idx() < sim.markets().0.len() {
        Ok(())
    } else {
        Err(ParamError::invalid(field, format!("no market {} (there are {})", market.0, sim.markets().0.len())))
    }
}

#[cfg(test)]
mod tests {
    use super::map_pipelined;

    #[test]
    fn pipelined_batches_arrive_whole_and_in_order() {
        for (range, batch) in [(0..0, 8), (3..4, 8), (0..8, 8), (5..100_003, 4_096), (7..50_000, 1)] {
            let mut seen = Vec::new();
            let mut sizes = Vec::new();
            map_pipelined(
                range.clone(),
                batch,
                |i| u64::from(i) * 3,
                |b: Vec<u64>| {
                    sizes.push(b.len());
                    seen.extend(b);
                    Ok::<(), ()>(())
                },
            )
            .unwrap();
            let want: Vec<u64> = range.clone().map(|i| u64::from(i) * 3).collect();
            assert_eq!(seen, want, "{range:?} by {batch}");
            // Every batch but the last is full: the batches do not depend on the machine.
            let n = want.len();
            let full = batch.max(1) as usize;
            assert_eq!(sizes.len(), n.div_ceil(full));
            assert!(sizes.iter().rev().skip(1).all(|&s| s == full));
        }
    }

    #[test]
    fn the_first_error_stops_the_pipeline() {
        let mut batches = 0;
        let out = map_pipelined(
            0..1_000_000,
            1_000,
            |i| i,
            |b: Vec<u32>| {
                batches += 1;
                if b[0] >= 5_000 { Err(b[0]) } else { Ok(()) }
            },
        );
        assert_eq!(out, Err(5_000));
        assert_eq!(batches, 6);
    }
}
