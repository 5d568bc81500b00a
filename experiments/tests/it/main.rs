//! Integration tests of the `cascade` binary and the experiment loader.

mod broken;
mod budget;
mod cli;
mod frames;
mod frames_doc;
mod fuzz;
mod game_runs;
mod games;
mod hostile;
mod layers;
mod loader;
mod plugin;
mod readme;
mod replications;
mod reports;
mod reproduce;
mod science;
mod units;
