//! Charts of a finished run and of a sweep, drawn with plotters into the
//! folder's `charts/` as SVG (for the paper) and PNG (for a quick look).
//! Text is set in the DejaVu Sans font embedded in the crate, so that PNGs
//! render the same on a machine without system fonts; every file is written
//! under a temporary name and renamed, so that a reader never sees half a
//! chart; and the same inputs give the same bytes.
//!
//! The folder holds one file per chart and the files that the charts
//! share. Each entry says what a file holds and which files it may import,
//! always ones listed before it:
//! - `error.rs`: `ChartError`; imports nothing from here.
//! - `style.rs`: font, text sizes and styles, colours, number formatting;
//!   imports `error`.
//! - `axes.rs`: `Keyed` axes, nice and log ticks, `Scale` labels, extents
//!   and padding; imports `style`.
//! - `data.rs`: `Frame`, JSON, `RunInfo`, `MarketSeries` and series
//!   helpers; imports `error`, `style`.
//! - `draw.rs`: the `Chart` trait, `write_chart`, titles, legends and the
//!   message chart; imports `error`, `style`.
//! - `colour_bar.rs`: the colour scale beside a map; imports `axes`,
//!   `draw`, `style`.
//! - `sweep.rs`: the sweep metrics, `SweepAxis`, `MetricColumns`; imports
//!   `error`, `axes`, `data`, `style`.
//! - `game.rs`: `GameTable`, a game's reduced profiles, payoffs and
//!   deviations; imports `data`, `error`.
//! - the charts of a run, `dashboard.rs`, `heatmap.rs` (liquidation map),
//!   `cascade_sizes.rs` and `pnl.rs`, and of a sweep, `metric.rs`,
//!   `grid.rs` (two-axis heatmap, also a game's payoffs) and `paired.rs`,
//!   and of a game, `equilibria.rs`, `deviations.rs` and
//!   `trajectories.rs` (replicator paths on a simplex), and of a
//!   replication, `claim.rs` (drawn for `cascade replicate` from the
//!   numbers it measured): any of the shared files above, never one
//!   another.
//! - `plot.rs`: `plot_run`, `plot_sweep` and `plot_game`, which read a
//!   folder and write its charts; imports anything.
//!
//! Only what is re-exported here is public; the rest is `pub(super)` at
//! most.

mod axes;
mod cascade_sizes;
mod claim;
mod colour_bar;
mod dashboard;
mod data;
mod deviations;
mod draw;
mod equilibria;
mod error;
mod game;
mod grid;
mod heatmap;
mod metric;
mod paired;
mod plot;
mod pnl;
mod style;
mod sweep;
mod trajectories;

pub use claim::{ClaimChart, FitChart, write_claim_chart, write_fit_chart};
pub use error::ChartError;
pub use plot::{SweepCharts, plot_game, plot_run, plot_sweep, plot_sweep_with};
