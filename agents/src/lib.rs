//! Agent populations for Cascade Lab: leveraged traders, market makers,
//! front-running predators, noise and fundamental traders. Each population
//! is a component with its parameters plus the systems that run it in the
//! framework's phases.
//!
//! Re-exports the framework so that a population crate needs one
//! dependency.

pub use cascade_framework as framework;
