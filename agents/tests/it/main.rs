//! Integration tests of the agent populations, as one test binary.

mod channels;
mod common;
mod effects;
mod execution;
mod frames;
