//! Integration tests of the agent populations, as one test binary.

mod common;
mod effects;
mod frames;
