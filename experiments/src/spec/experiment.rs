//! The experiment file: what a researcher writes, as typed values, and how
//! it becomes a simulation.
//!
//! Every field has a default (see `cascade schema` for the whole tree with
//! units) except `name` and `ticks`. Units follow the framework: prices in
//! integer ticks, sizes in lots, cash in quote micro-units (1 quote =
//! 1,000,000), rates in parts per million, fractions as plain numbers.

use cascade_agents::framework::core::units::catch_overflow;
use cascade_agents::framework::market::MarketParams;
use cascade_agents::framework::protocol::ProtocolParams;
use cascade_agents::framework::record::{FrameKind, RecordingParams};
use cascade_agents::framework::{ParamError, SimParams, Simulation};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

pub use super::population::PopulationSpec;

/// One experiment.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Experiment {
    /// Name; outputs go to `results/<name>/`. Letters, digits, `-` and `_`.
    pub name: String,
    /// What the experiment is for, in a sentence.
    #[serde(default)]
    pub description: String,
    /// Master seed.
    #[serde(default = "default_seed")]
    pub seed: u64,
    /// Ticks to run.
    pub ticks: u64,
    /// Length of a tick, seconds.
    #[serde(default = "default_tick_seconds")]
    pub tick_seconds: f64,
    /// Markets, addressed by position (`market: 0` in a population).
    #[serde(default = "default_markets")]
    pub markets: Vec<MarketParams>,
    /// The liquidation protocol.
    #[serde(default)]
    pub protocol: ProtocolParams,
    /// Agent populations.
    #[serde(default)]
    pub populations: Vec<PopulationSpec>,
    /// What is recorded.
    #[serde(default)]
    pub recording: RecordingParams,
    /// Parameter sweep and replicates, for `cascade sweep`.
    #[serde(default)]
    pub sweep: Option<Sweep>,
    /// An empirical game between populations, for `cascade game`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub game: Option<super::game::GameSpec>,
    /// The published result a replication checks, for `cascade replicate`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub check: Option<super::check::Check>,
    /// Which reports are written besides the frames.
    #[serde(default)]
    pub outputs: Outputs,
    /// Correlation matrix of the markets' index diffusions (one row and
    /// column per market, unit diagonal); independent when absent.
    #[serde(default)]
    pub index_correlation: Option<Vec<Vec<f64>>>,
}

/// Reports written besides the frames. `cascade plot`, `cascade notebook`
/// and `cascade table` make them later from the frames alone.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct Outputs {
    /// Charts (SVG and PNG) for a run, and for a sweep over its points.
    /// The runs inside a sweep get none, to keep sweeps fast.
    pub charts: bool,
    /// A Jupyter notebook for a run or a sweep.
    pub notebook: bool,
    /// LaTeX and Markdown tables of the summary metrics.
    pub tables: bool,
    /// The frames a run builds and writes (`ticks`, `events`, `agents`,
    /// `heatmap`, `summary`, `executions`); all of them when absent. The
    /// manifest lists what was written, and carries the summary's figures
    /// whatever the choice, for sweeps. A game needs `agents`, and a
    /// replication the frames its claims read. A single run makes only
    /// the reports whose frames it writes.
    #[serde(default = "all_frames", skip_serializing_if = "is_all_frames")]
    pub frames: Vec<FrameKind>,
}

impl Default for Outputs {
    fn default() -> Outputs {
        Outputs { charts: true, notebook: true, tables: true, frames: all_frames() }
    }
}

fn all_frames() -> Vec<FrameKind> {
    FrameKind::ALL.to_vec()
}

fn is_all_frames(frames: &[FrameKind]) -> bool {
    FrameKind::ALL.iter().all(|k| frames.contains(k))
}

/// Each report of a single run: its name, its switch, and the frames it
/// reads.
type RunReport = (&'static str, fn(&mut Outputs) -> &mut bool, &'static [FrameKind]);

const RUN_REPORTS: [RunReport; 3] = [
    ("charts", |o| &mut o.charts, &[FrameKind::Ticks, FrameKind::Heatmap, FrameKind::Agents]),
    (
        "notebook",
        |o| &mut o.notebook,
        &[FrameKind::Ticks, FrameKind::Events, FrameKind::Agents, FrameKind::Heatmap, FrameKind::Summary],
    ),
    ("tables", |o| &mut o.tables, &[FrameKind::Summary]),
];

impl Outputs {
    /// The reports a single run makes (those asked for whose frames it
    /// writes), and each report asked for but left out, with the frames it
    /// lacks.
    pub fn for_run(&self) -> (Outputs, Vec<(&'static str, Vec<&'static str>)>) {
        let mut made = self.clone();
        let mut left_out = Vec::new();
        for (report, switch, needs) in RUN_REPORTS {
            let lacks: Vec<&str> = needs.iter().filter(|k| !self.frames.contains(k)).map(|k| k.name()).collect();
            let asked = switch(&mut made);
            if *asked && !lacks.is_empty() {
                *asked = false;
                left_out.push((report, lacks));
            }
        }
        (made, left_out)
    }
}

fn default_seed() -> u64 {
    42
}

fn default_tick_seconds() -> f64 {
    1.0
}

fn default_markets() -> Vec<MarketParams> {
    vec![MarketParams::default()]
}

/// `e` as a field error under `prefix`, typed errors included.
fn with_path(e: ParamError, prefix: &str) -> ParamError {
    match e {
        ParamError::MaintenanceNotBelowInitial { tier, maintenance, initial } => ParamError::invalid(
            format!("{prefix}.tiers[{tier}].maintenance_rate"),
            format!("{maintenance} ppm must be below the initial rate {initial} ppm"),
        ),
        ParamError::EmptyTierTable => ParamError::invalid(format!("{prefix}.tiers"), "the tier table is empty"),
        other => other.within(prefix),
    }
}

/// The longest experiment name, in characters, and the longest name of a
/// market, population, variant or strategy, in bytes.
pub const MAX_NAME: usize = 100;

/// What is wrong with `name` as the name of a market, population, variant
/// or strategy: these go into frames, chart and file names, so a name may
/// not be empty, longer than [`MAX_NAME`] bytes, contain a path separator
/// or a control character, or be `.` or `..`.
pub fn name_problem(name: &str) -> Option<String> {
    if name.trim().is_empty() {
        return Some("must not be empty".into());
    }
    if name.len() > MAX_NAME {
        return Some(format!("{} bytes; at most {MAX_NAME} (names go into file names)", name.len()));
    }
    if name.contains(['/', '\\']) || name == "." || name == ".." {
        return Some("must not contain '/' or '\\' or be '.' or '..' (names go into file names)".into());
    }
    if name.chars().any(char::is_control) {
        return Some("must not contain control characters (tabs, newlines)".into());
    }
    None
}

/// The most ticks a run may have.
pub const MAX_TICKS: u64 = 10_000_000;

/// The most agents an experiment may have, over all populations.
pub const MAX_AGENTS: u64 = 5_000_000;

/// The most runs a sweep may have.
pub const MAX_SWEEP_RUNS: u128 = 1_000_000;

/// A sweep: parameter paths and the values they take, plus replicates.
///
/// A path names a field by its place in the file, with sequence items by
/// index or, for populations and markets, by name:
/// `populations.leveraged.leverage.value`, `markets.0.depth.levels`,
/// `protocol.penalty`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Sweep {
    /// Every combination of these values (a Cartesian grid).
    #[serde(default)]
    pub grid: BTreeMap<String, Vec<serde_json::Value>>,
    /// These values in step: the i-th value of each path together. All
    /// lists must have the same length. Combined with the grid as another
    /// axis.
    #[serde(default)]
    pub zip: BTreeMap<String, Vec<serde_json::Value>>,
    /// Named variants of the experiment, each a set of `path: value`
    /// changes, combined with the grid as one more axis, `variant`. The
    /// first is the reference: each other variant's paired differences from
    /// it, replicate by replicate on the same seed, go to `paired.parquet`.
    #[serde(default)]
    pub variants: Vec<Variant>,
    /// Runs per sweep point, each with its own seed derived from the master
    /// seed. Replicate `r` has the same seed at every point, so points are
    /// compared on common random numbers.
    #[serde(default = "one")]
    pub replicates: u32,
    /// How charts and tables name the swept paths, by path
    /// (`protocol.insurance_fund: "insurance fund (quote)"`); a readable
    /// name with its unit when absent.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
    /// The swept path on the x axis of the sweep's charts (the first
    /// swept path, alphabetically, when absent); `cascade plot --x`
    /// chooses another.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub x: Option<String>,
}

/// Adds `add` to the running `total`; whether this is the addition that
/// takes it above `limit` (so that a total is reported once).
fn crosses(total: &mut i128, add: i128, limit: i128) -> bool {
    let before = *total;
    *total += add;
    *total > limit && before <= limit
}

fn one() -> u32 {
    1
}

/// No sweep: the experiment itself, once (as a file without `sweep:`).
impl Default for Sweep {
    fn default() -> Sweep {
        Sweep {
            grid: BTreeMap::new(),
            zip: BTreeMap::new(),
            variants: Vec::new(),
            replicates: one(),
            labels: BTreeMap::new(),
            x: None,
        }
    }
}

/// The axis name of a sweep's variants.
pub const VARIANT_AXIS: &str = "variant";

/// One variant of a sweep: a name and the values it changes.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Variant {
    /// Name, as it appears in frames, charts and tables.
    pub name: String,
    /// Values to set, by path (as in `grid`); none leaves the file as is.
    #[serde(default)]
    pub set: BTreeMap<String, serde_json::Value>,
}

impl Experiment {
    /// The framework's parameters for this experiment with run seed `seed`.
    pub fn sim_params(&self, seed: u64) -> SimParams {
        SimParams {
            seed,
            tick_seconds: self.tick_seconds,
            markets: self.markets.clone(),
            protocol: self.protocol.clone(),
            recording: self.recording.clone(),
            index_correlation: self.index_correlation.clone(),
        }
    }

    /// Builds the simulation with every population installed. An amount
    /// that leaves the `i64` range while setting up is an error, not a
    /// panic.
    pub fn build(&self, seed: u64) -> Result<Simulation, ParamError> {
        let build = || {
            let mut sim = Simulation::new(self.sim_params(seed))?;
            for (i, p) in self.populations.iter().enumerate() {
                p.population().install(&mut sim).map_err(|e| e.within(&format!("populations[{i}]")))?;
            }
            sim.index_seeded();
            Ok(sim)
        };
        catch_overflow(build).unwrap_or_else(|o| {
            Err(ParamError::invalid("populations", format!("setting up the agents: {o}; the amounts are too large")))
        })
    }

    /// Checks everything that can be wrong with the file's values, all at
    /// once: one error per market, population and section at most.
    pub fn validate(&self) -> Vec<ParamError> {
        let mut errors = Vec::new();
        let name_ok =
            !self.name.is_empty() && self.name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
        if !name_ok {
            errors.push(ParamError::invalid("name", "use letters, digits, '-' and '_' only"));
        }
        if self.name.len() > MAX_NAME {
            errors.push(ParamError::invalid(
                "name",
                format!("{} characters; at most {MAX_NAME} (it names the results folder)", self.name.len()),
            ));
        }
        if self.ticks == 0 {
            errors.push(ParamError::invalid("ticks", "must be at least 1"));
        }
        if self.ticks > MAX_TICKS {
            errors.push(ParamError::invalid(
                "ticks",
                format!("at most {MAX_TICKS} ticks (the recorder keeps a row per tick and market)"),
            ));
        }
        if !(self.tick_seconds.is_finite() && self.tick_seconds > 0.0) {
            errors.push(ParamError::invalid("tick_seconds", "must be positive"));
        }
        if self.markets.is_empty() {
            errors.push(ParamError::invalid("markets", "at least one market is needed"));
        }
        for (i, m) in self.markets.iter().enumerate() {
            let prefix = format!("markets[{i}]");
            if let Some(why) = name_problem(&m.name) {
                errors.push(ParamError::invalid(format!("{prefix}.name"), why));
            }
            if let Err(e) = m.validate() {
                errors.push(with_path(e, &prefix));
            }
            for (k, s) in m.index.shocks.iter().enumerate() {
                if s.start_tick >= self.ticks {
                    errors.push(ParamError::invalid(
                        format!("{prefix}.index.shocks[{k}].start_tick"),
                        format!("tick {} is after the last tick ({})", s.start_tick, self.ticks.saturating_sub(1)),
                    ));
                }
            }
        }
        if let Some(c) = &self.index_correlation
            && let Err(reason) = cascade_agents::framework::market::correlation::cholesky(c, self.markets.len())
        {
            errors.push(ParamError::invalid("index_correlation", reason));
        }
        if let Err(e) = self.protocol.validate() {
            errors.push(e.within("protocol"));
        }
        if self.recording.heatmap_bucket_bps == 0 {
            errors.push(ParamError::invalid("recording.heatmap_bucket_bps", "must be at least 1"));
        }
        let mut names: Vec<&str> = Vec::new();
        let (mut agents, mut capital, mut base) = (0_i128, 0_i128, 0_i128);
        let most = cascade_agents::framework::core::units::MAX_TOTAL_MONEY;
        for (i, p) in self.populations.iter().enumerate() {
            let prefix = format!("populations[{i}]");
            if let Err(e) = p.validate() {
                errors.push(e.within(&prefix));
            }
            if crosses(&mut agents, i128::from(p.count()), i128::from(MAX_AGENTS)) {
                errors.push(ParamError::invalid(
                    format!("{prefix}.count"),
                    format!("at most {MAX_AGENTS} agents in all (each position takes about 1 kB)"),
                ));
            }
            if crosses(&mut base, i128::from(p.count()) * i128::from(p.base_inventory()), most) {
                errors.push(ParamError::invalid(
                    format!("{prefix}.base_inventory"),
                    "the populations' base inventories together exceed 2^61 base units",
                ));
            }
            if crosses(&mut capital, i128::from(p.count()) * i128::from(p.capital()), most) {
                errors.push(ParamError::invalid(
                    format!("{prefix}.capital"),
                    "the populations' capital together exceeds 2^61 micros (about 2.3 trillion quote)",
                ));
            }
            if let Err(e) = p.fits(&self.markets, &self.protocol) {
                errors.push(e.within(&prefix));
            }
            if usize::from(p.market()) >= self.markets.len() {
                errors.push(ParamError::invalid(
                    format!("{prefix}.market"),
                    format!("no market {} (there are {})", p.market(), self.markets.len()),
                ));
            }
            if p.indices().end > u64::from(u32::MAX) {
                errors
                    .push(ParamError::invalid(format!("{prefix}.first_index"), "first_index + count must fit 32 bits"));
            }
            // One name may cover several entries of the same kind with
            // disjoint agent numbers: a game's role split by strategy.
            let name = p.population().name();
            if let Some(why) = name_problem(name) {
                errors.push(ParamError::invalid(format!("{prefix}.name"), why));
            }
            let clash = self.populations[..i].iter().find(|q| {
                q.population().name() == name
                    && (q.kind() != p.kind()
                        || (q.indices().start < p.indices().end && p.indices().start < q.indices().end))
            });
            if clash.is_some() {
                errors.push(ParamError::invalid(
                    format!("{prefix}.name"),
                    format!("population name {name:?} is used twice (for agents of another kind, or the same numbers)"),
                ));
            }
            names.push(name);
        }
        if let Err(e) = cascade_agents::framework::core::rng::check_population_ids(names.iter().copied()) {
            errors.push(e);
        }
        if let Some(c) = &self.check {
            let variants: Vec<&str> =
                self.sweep.iter().flat_map(|s| s.variants.iter().map(|v| v.name.as_str())).collect();
            errors.extend(c.validate(&variants, self.ticks));
            for (i, claim) in c.claims.iter().enumerate() {
                if let Some(k) = claim.statistic.frame()
                    && !self.outputs.frames.contains(&k)
                {
                    errors.push(ParamError::invalid(
                        "outputs.frames",
                        format!("check.claims[{i}] reads {}.parquet: add {}", k.name(), k.name()),
                    ));
                }
            }
        }
        if let Some(g) = &self.game {
            errors.extend(g.validate(&names));
            if !self.outputs.frames.contains(&FrameKind::Agents) {
                errors.push(ParamError::invalid(
                    "outputs.frames",
                    "the game's payoffs are read from agents.parquet: add agents",
                ));
            }
            if let Some(s) = &self.sweep
                && !(s.grid.is_empty() && s.zip.is_empty())
            {
                errors.push(ParamError::invalid(
                    "sweep",
                    "a game compares sweep.variants (each gets its own game); grid and zip are not supported with a game",
                ));
            }
        }
        if let Some(s) = &self.sweep {
            if s.replicates == 0 {
                errors.push(ParamError::invalid("sweep.replicates", "must be at least 1"));
            }
            let grid: u128 = s.grid.values().map(|v| v.len().max(1) as u128).product();
            let zip = s.zip.values().map(Vec::len).max().unwrap_or(1).max(1) as u128;
            let runs = grid * zip * s.variants.len().max(1) as u128 * u128::from(s.replicates);
            if runs > MAX_SWEEP_RUNS {
                errors.push(ParamError::invalid(
                    "sweep",
                    format!("{runs} runs (points × variants × replicates); at most {MAX_SWEEP_RUNS}"),
                ));
            }
            let lens: Vec<usize> = s.zip.values().map(Vec::len).collect();
            if lens.windows(2).any(|w| w[0] != w[1]) {
                errors.push(ParamError::invalid("sweep.zip", "every zipped list must have the same length"));
            }
            for (path, values) in s.grid.iter().chain(s.zip.iter()) {
                if values.is_empty() {
                    errors.push(ParamError::invalid(format!("sweep.{path}"), "needs at least one value"));
                }
            }
            let grid = s.grid.keys().map(|p| (format!("sweep.grid.{p}"), p));
            let zip = s.zip.keys().map(|p| (format!("sweep.zip.{p}"), p));
            let set = s
                .variants
                .iter()
                .enumerate()
                .flat_map(|(i, v)| v.set.keys().map(move |p| (format!("sweep.variants[{i}].set.{p}"), p)));
            for (field, path) in grid.chain(zip).chain(set) {
                let root = path.split('.').next().unwrap_or_default();
                let why = match root {
                    "seed" => Some("seeds are swept by sweep.replicates (seed, seed + 1, ...), shared by every point"),
                    "name" => Some("the name is the experiment's folder; every point shares it"),
                    "sweep" => Some("a sweep cannot change its own plan"),
                    _ => None,
                };
                if let Some(why) = why {
                    errors.push(ParamError::invalid(field, why));
                }
            }
            for (i, v) in s.variants.iter().enumerate() {
                if let Some(why) = name_problem(&v.name) {
                    errors.push(ParamError::invalid(format!("sweep.variants[{i}].name"), why));
                }
                if s.variants[..i].iter().any(|w| w.name == v.name) {
                    errors.push(ParamError::invalid(
                        format!("sweep.variants[{i}].name"),
                        format!("variant name {:?} is used twice", v.name),
                    ));
                }
            }
            if s.grid.contains_key(VARIANT_AXIS) || s.zip.contains_key(VARIANT_AXIS) {
                errors.push(ParamError::invalid(format!("sweep.{VARIANT_AXIS}"), "is the variants' axis name"));
            }
            for (key, field) in s
                .labels
                .keys()
                .map(|k| (k, format!("sweep.labels.{k}")))
                .chain(s.x.iter().map(|k| (k, "sweep.x".to_owned())))
            {
                let swept = s.grid.contains_key(key)
                    || s.zip.contains_key(key)
                    || (key == VARIANT_AXIS && !s.variants.is_empty());
                if !swept {
                    let mut axes: Vec<&str> = s.grid.keys().chain(s.zip.keys()).map(String::as_str).collect();
                    if !s.variants.is_empty() {
                        axes.push(VARIANT_AXIS);
                    }
                    errors.push(ParamError::invalid(
                        field,
                        format!("{key:?} is not a swept path; the swept paths are {axes:?}"),
                    ));
                }
            }
        }
        errors
    }
}
