//! The shape of an experiment file, section by section, with the checks
//! that need nothing but the file: the lowest floor of the crate that
//! reads YAML. [`experiment`] is the file (markets, protocol, populations,
//! recording, sweep, outputs), [`population`] one entry of `populations:`,
//! [`game`] its `game:` section, [`check`] its `check:` section and
//! [`units`] the units it is written in. Everything that reads, plans or runs an
//! experiment imports this folder; it imports only [`crate::theory`].

pub mod check;
pub mod decimal;
pub mod experiment;
pub mod game;
pub mod population;
pub mod schema;
pub mod units;

pub use check::Check;
pub use experiment::Experiment;
pub use game::GameSpec;
pub use population::PopulationSpec;
