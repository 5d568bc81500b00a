//! Integration tests of the framework, as one test binary.

mod bulk_keys;
mod common;
mod conservation;
mod crn;
mod determinism;
mod layers;
mod overflow;
mod params;
mod stats;
mod walk;
