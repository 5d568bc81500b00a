//! Experiments for Cascade Lab: the YAML experiment format and its
//! validation, single runs, sweeps and replicates, empirical games,
//! replications, and the `cascade` command-line tool ([`cli::main`], which
//! the binary calls and a crate with kinds of its own can call too). This
//! is the only crate that reads files or the command line, and the only
//! one that writes under `results/`.

pub mod budget;
pub mod cli;
pub mod game;
pub mod load;
pub mod locate;
pub mod migrate;
pub mod output;
pub mod paths;
pub mod reference;
pub mod replicate;
pub mod run;
pub mod shipped;
pub mod spec;
pub mod sweep;
pub mod theory;

pub use cascade_agents as agents;
pub use cascade_agents::framework;
pub use load::{LoadError, Loaded, load_str};
pub use spec::Experiment;
