//! From a `game:` section to runs: the full-game profiles that the reduced
//! game needs, each an experiment of its own, run with replicates on the
//! sweep engine.
//!
//! A profile's experiment is the file with the role's population split by
//! strategy: one entry per strategy played, with that strategy's changes,
//! `count` players and `first_index` at the running total. Players are
//! numbered in strategy order, so player `i` of a role has the same random
//! stream in every profile: profiles are compared on common random
//! numbers. Each profile's experiment is a plain experiment file (its
//! `config` in the run's manifest) that `cascade run` reproduces alone.

use super::analysis::Structure;
use super::reduction::Reduction;
use super::spec::GameSpec;
use crate::config::{MAX_SWEEP_RUNS, VARIANT_AXIS};
use crate::load::{Loaded, from_tree};
use crate::locate::Locator;
use crate::output::sha256_hex;
use crate::run;
use crate::sweep::{Plan, PlannedRun};
use anyhow::{Context, Result, anyhow, bail};
use serde::{Deserialize, Serialize};
use serde_yaml::Value;
use std::path::{Path, PathBuf};

/// A game, fully expanded.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct GamePlan {
    /// Game id: hash of the runs and the analysis settings.
    pub game_id: String,
    /// The game section.
    pub spec: GameSpec,
    /// The master seed (replicate `r` runs with `seed + r`).
    pub seed: u64,
    /// Protocol variants, each its own game (one, `default`, without any).
    pub variants: Vec<String>,
    /// The full-game profiles run, the same for every variant.
    pub profiles: Vec<Vec<u32>>,
    /// The runs: one point per variant and profile, variant-major, with
    /// axes `variant` and `profile`.
    pub runs: Plan,
}

/// The name of the only variant of a game without variants.
pub const DEFAULT_VARIANT: &str = "default";

/// Expands the game of `loaded`.
pub fn plan(loaded: &Loaded) -> Result<GamePlan> {
    let exp = &loaded.experiment;
    let spec = exp.game.clone().context("the experiment has no game: section")?;
    let reduction = spec.reduction().map_err(|e| anyhow!("game.roles: {e}"))?;
    let profiles = reduction.full_profiles();
    let sweep = exp.sweep.clone().unwrap_or_default();
    let variants: Vec<(String, Vec<(String, serde_json::Value)>)> = if sweep.variants.is_empty() {
        vec![(DEFAULT_VARIANT.to_owned(), Vec::new())]
    } else {
        sweep.variants.iter().map(|v| (v.name.clone(), v.set.clone().into_iter().collect())).collect()
    };
    let runs = profiles.len() as u128 * variants.len() as u128 * u128::from(spec.replicates);
    if runs > MAX_SWEEP_RUNS {
        bail!("the game needs {runs} runs (profiles × variants × replicates); at most {MAX_SWEEP_RUNS}");
    }
    let locator = Locator::default();
    let (mut configs, mut points) = (Vec::new(), Vec::new());
    for (name, set) in &variants {
        let mut tree = loaded.tree.clone();
        for (path, v) in set {
            let v: Value = serde_yaml::to_value(v).expect("JSON values are YAML values");
            crate::paths::set(&mut tree, path, v).map_err(|e| anyhow!("variant {name}: {e}"))?;
        }
        if let Value::Mapping(m) = &mut tree {
            m.remove("sweep");
            m.remove("game");
        }
        for (k, profile) in profiles.iter().enumerate() {
            let label = profile_label(&reduction.full, profile);
            let tree = profile_tree(&tree, &spec, &reduction, profile)
                .map_err(|e| anyhow!("variant {name}, profile {k} ({label}): {e}"))?;
            let point = from_tree(tree, &locator).map_err(|diags| {
                let lines: Vec<String> = diags.iter().map(|d| format!("  {}: {}", d.path, d.message)).collect();
                anyhow!("variant {name}, profile {k} ({label}) is not a valid experiment:\n{}", lines.join("\n"))
            })?;
            configs.push(point.experiment);
            points.push(vec![serde_json::Value::String(name.clone()), serde_json::Value::String(label)]);
        }
    }
    let mut planned = Vec::new();
    for (point, cfg) in configs.iter().enumerate() {
        for replicate in 0..spec.replicates {
            let seed = exp.seed.wrapping_add(u64::from(replicate));
            planned.push(PlannedRun { index: planned.len(), point, replicate, seed, run_id: run::run_id(cfg, seed) });
        }
    }
    let ids: Vec<&str> = planned.iter().map(|r| r.run_id.as_str()).collect();
    let analysis = (&spec.payoff, spec.bootstrap, spec.tolerance.to_bits(), &spec.roles);
    let hash = serde_json::to_string(&(&ids, analysis)).expect("serialises");
    let game_id = sha256_hex(hash.as_bytes())[..12].to_owned();
    let axes = vec![VARIANT_AXIS.to_owned(), "profile".to_owned()];
    let runs = Plan { experiment: exp.name.clone(), sweep_id: game_id.clone(), axes, points, runs: planned, configs };
    Ok(GamePlan {
        game_id,
        spec,
        seed: exp.seed,
        variants: variants.into_iter().map(|v| v.0).collect(),
        profiles,
        runs,
    })
}

/// A profile as text: `predators: passive 2, hunt 2; makers: stay 4`.
pub fn profile_label(s: &Structure, profile: &[u32]) -> String {
    (0..s.roles.len())
        .map(|r| {
            let parts: Vec<String> = s
                .range(r)
                .filter(|&k| profile[k] > 0)
                .map(|k| format!("{} {}", s.strategies[r][k - s.range(r).start], profile[k]))
                .collect();
            format!("{}: {}", s.roles[r], parts.join(", "))
        })
        .collect::<Vec<_>>()
        .join("; ")
}

/// The experiment tree of one full profile (module docs).
fn profile_tree(tree: &Value, spec: &GameSpec, reduction: &Reduction, profile: &[u32]) -> Result<Value, String> {
    let mut tree = tree.clone();
    let populations = tree
        .get_mut("populations")
        .and_then(Value::as_sequence_mut)
        .ok_or("the file has no populations for the roles")?;
    for (r, role) in spec.roles.iter().enumerate() {
        let at = populations
            .iter()
            .position(|p| p.get("name").and_then(Value::as_str) == Some(role.population.as_str()))
            .ok_or_else(|| format!("no population named {:?}", role.population))?;
        let base = populations.remove(at);
        let mut first = 0_u32;
        let mut split = Vec::new();
        for (j, strategy) in role.strategies.iter().enumerate() {
            let count = profile[reduction.full.range(r).start + j];
            if count == 0 {
                continue;
            }
            let mut p = base.clone();
            for (path, v) in &strategy.set {
                let v: Value = serde_yaml::to_value(v).expect("JSON values are YAML values");
                crate::paths::set(&mut p, path, v).map_err(|e| format!("strategy {}: {e}", strategy.name))?;
            }
            crate::paths::set(&mut p, "count", Value::from(count))?;
            crate::paths::set(&mut p, "first_index", Value::from(first))?;
            first += count;
            split.push(p);
        }
        for (k, p) in split.into_iter().enumerate() {
            populations.insert(at + k, p);
        }
    }
    Ok(tree)
}

/// The folder of a game's own files: `<out>/<name>/games/<game-id>/`.
pub fn game_dir(out: &Path, plan: &GamePlan) -> PathBuf {
    out.join(&plan.runs.experiment).join("games").join(&plan.game_id)
}

/// Reads a game folder's plan.
pub fn read_plan(dir: &Path) -> Result<GamePlan> {
    let path = dir.join("game.json");
    let text = std::fs::read_to_string(&path)
        .with_context(|| format!("reading {} (is this a game folder?)", path.display()))?;
    serde_json::from_str(&text).with_context(|| format!("parsing {}", path.display()))
}
