//! Integration tests of the `cascade` binary and the experiment loader.

mod broken;
mod cli;
mod loader;
mod readme;
mod reports;
mod science;
