//! Experiments for Cascade Lab: the YAML experiment format, its validation,
//! sweeps and replicates, and the `cascade` command-line tool. This is the
//! only crate that reads files or the command line.

pub use cascade_agents as agents;
pub use cascade_agents::framework;
