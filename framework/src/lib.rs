//! Cascade Lab's engine: a deterministic bevy_ecs world of leveraged
//! perpetual futures markets, margin accounts and a liquidation protocol,
//! stepped in fixed phases and recorded into polars frames.
//!
//! Start with [`sim::Simulation`]: build it from [`sim::SimParams`], open
//! accounts, add agent systems to a [`sim::Phase`], run it, and
//! [`finish`](sim::Simulation::finish) it into a [`recorder::RunOutput`].
//! `ARCHITECTURE.md` at the repository root maps the modules and states the
//! invariants.

pub mod auction;
pub mod book;
pub mod error;
pub mod exchange;
pub mod index;
pub mod ledger;
pub mod liquidation;
pub mod liquidity;
pub mod margin;
pub mod market;
pub mod presets;
pub mod recorder;
pub mod rng;
pub mod sequencer;
pub mod sim;
pub mod triggers;
pub mod units;

pub use error::{ExportError, ParamError};
pub use sim::{Phase, SimParams, Simulation};
pub use units::{AccountId, AgentId, Lots, MarketId, Micros, Ppm, Price, Side};
