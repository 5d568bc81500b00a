//! A population kind that experiment files can name (`- kind: noise`).
//!
//! [`Population`] is enough to put agents into a simulation from Rust. A
//! kind that a YAML file can name also says, through [`PopulationKind`],
//! what the experiment's checks and its time and memory budget need to
//! know before anything is built: its name in files, its parameter type
//! (read with serde, described with schemars), how many agents it has and
//! which numbers they take, the markets it refers to, the capital and base
//! units it brings from outside, and how many orders a tick it places.
//! Each kind implements it beside its parameters, and the experiments
//! crate keeps a registry of kinds (`cascade_experiments::spec::population`),
//! so a new kind, in this crate or another, is one new file and one
//! `register` call, with no central match to edit.

use crate::Population;
use cascade_framework::ParamError;
use cascade_framework::market::MarketParams;
use cascade_framework::protocol::ProtocolParams;
use schemars::JsonSchema;
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::fmt::Debug;

/// A population that experiment files name by its [`KIND`](Self::KIND).
///
/// The parameter type is the kind: a file's `- kind: ...` entry is read
/// as it (the `kind` key removed), and written back with it.
pub trait PopulationKind:
    Population + Clone + Debug + PartialEq + Serialize + DeserializeOwned + JsonSchema + Send + Sync + 'static
{
    /// The kind's name in files (`kind: ...`): lower case and `_`.
    const KIND: &'static str;
    /// What it is, in a sentence: the schema's description of the entry.
    const ABOUT: &'static str;

    /// Checks the parameters that can be checked without a simulation;
    /// the error names the field below the entry.
    fn check(&self) -> Result<(), ParamError>;

    /// The number of agents.
    fn count(&self) -> u32;

    /// The number of the first agent (agents are numbered from it).
    fn first_index(&self) -> u32;

    /// The highest market index the population refers to (it is checked
    /// against the file's markets).
    fn market(&self) -> u16;

    /// Collateral each agent is given from outside, micros; 0 for kinds
    /// that post margin for what they draw.
    fn capital(&self) -> i64 {
        0
    }

    /// Base units of a spot asset each agent is given from outside.
    fn base_inventory(&self) -> i64 {
        0
    }

    /// Expected orders a tick of the whole population, for the budget:
    /// by default one an agent.
    fn orders_per_tick(&self) -> f64 {
        f64::from(self.count())
    }

    /// Whether its agents hold leveraged positions that the protocol may
    /// liquidate (and auction): the budget counts keepers' scans of them.
    fn holds_positions(&self) -> bool {
        false
    }

    /// Whether its agents scan every open auction each tick.
    fn scans_auctions(&self) -> bool {
        false
    }

    /// Checks the parameters against the rest of the file: its markets
    /// and its protocol (e.g. a kind that needs an auction, or a spot
    /// venue). The error names the field below the entry.
    fn fits(&self, markets: &[MarketParams], protocol: &ProtocolParams) -> Result<(), ParamError> {
        let _ = (markets, protocol);
        Ok(())
    }
}
