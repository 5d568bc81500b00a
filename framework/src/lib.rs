//! Cascade Lab's engine: a deterministic bevy_ecs world of leveraged
//! perpetual futures markets, margin accounts and a liquidation protocol,
//! stepped in fixed phases and recorded into polars frames.
//!
//! Start with [`Simulation`]: build it from [`SimParams`], open accounts,
//! add agent systems to a [`Phase`], add liquidation mechanisms, run it,
//! and [`finish`](Simulation::finish) it into a [`record::RunOutput`].
//!
//! The folders are floors; each imports only those below it:
//!
//! | floor | folder | holds |
//! | --- | --- | --- |
//! | 7 | [`engine`] | `Simulation`, the phases and their schedule, presets |
//! | 6 | [`record`] | the recorder, frames, the run summary |
//! | 5 | [`protocol`] | the Liquidate phase's round loop, its hooks, one file per mechanism |
//! | 4 | [`exchange`] | `execute`, the sequencer, background liquidity, the auction house |
//! | 3 | [`accounts`] | the ledger, the trigger index |
//! | 2 | [`market`] | book, index, margin tiers, depth profile, mark and funding |
//! | 1 | [`core`] | units, rng, errors, the clock, events |
//!
//! `ARCHITECTURE.md` at the repository root maps the modules and states the
//! invariants; `tests/it/layers.rs` fails on an import that points up.

pub mod accounts;
pub mod core;
pub mod engine;
pub mod exchange;
pub mod market;
pub mod protocol;
pub mod record;

pub use crate::core::error::{ExportError, ParamError, RunError};
pub use crate::core::units::{AccountId, AgentId, Lots, MarketId, Micros, Ppm, Price, Side};
pub use crate::engine::presets;
pub use crate::engine::{Phase, SimParams, Simulation};
