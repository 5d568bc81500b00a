//! Integration tests of the report crate, as one test binary.

mod charts;
mod fixtures;
