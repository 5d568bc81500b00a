//! Integration tests of the framework, as one test binary.

mod auction;
mod common;
mod conservation;
mod crn;
mod determinism;
mod params;
mod scenario;
