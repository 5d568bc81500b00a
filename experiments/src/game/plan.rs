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

use crate::load::{Diagnostic, Loaded, from_tree};
use crate::locate::Locator;
use crate::output::sha256_hex;
use crate::run;
use crate::spec::experiment::{Experiment, MAX_SWEEP_RUNS, VARIANT_AXIS};
use crate::spec::game::GameSpec;
use crate::sweep::{Plan, PlannedRun};
use crate::theory::analysis::Structure;
use crate::theory::reduction::Reduction;
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
    /// The full-game profiles run.
    pub profiles: Vec<Vec<u32>>,
    /// The (variant, profile) of each point of `runs`.
    pub cells: Vec<(usize, usize)>,
    /// The runs: one point per variant and profile run, with axes
    /// `variant` and `profile`.
    pub runs: Plan,
    /// With adaptive sampling, the equilibria it confirmed, per variant.
    #[serde(default)]
    pub confirmed: Option<Vec<Vec<Vec<f64>>>>,
}

/// The name of the only variant of a game without variants.
pub const DEFAULT_VARIANT: &str = "default";

/// Makes the experiment of any (variant, full profile) of a game.
#[derive(Debug)]
pub struct Expander {
    /// The game section.
    pub spec: GameSpec,
    /// The reduction analysed.
    pub reduction: Reduction,
    /// The experiment's name and master seed.
    name: String,
    seed: u64,
    /// Per variant, its name and the file's tree with its changes (and
    /// without `sweep` and `game`).
    variants: Vec<(String, Value)>,
    locator: Locator,
}

impl Expander {
    /// The expander of `loaded`'s game.
    pub fn new(loaded: &Loaded) -> Result<Expander> {
        let exp = &loaded.experiment;
        let spec = exp.game.clone().context("the experiment has no game: section")?;
        let reduction = spec.reduction().map_err(|e| anyhow!("game.roles: {e}"))?;
        let sweep = exp.sweep.clone().unwrap_or_default();
        let changes: Vec<(String, Vec<(String, serde_json::Value)>)> = if sweep.variants.is_empty() {
            vec![(DEFAULT_VARIANT.to_owned(), Vec::new())]
        } else {
            sweep.variants.iter().map(|v| (v.name.clone(), v.set.clone().into_iter().collect())).collect()
        };
        let mut variants = Vec::new();
        for (name, set) in changes {
            let mut tree = loaded.tree.clone();
            for (path, v) in &set {
                let v: Value = serde_yaml::to_value(v).expect("JSON values are YAML values");
                crate::paths::set(&mut tree, path, v).map_err(|e| anyhow!("variant {name}: {e}"))?;
            }
            if let Value::Mapping(m) = &mut tree {
                m.remove("sweep");
                m.remove("game");
            }
            variants.push((name, tree));
        }
        Ok(Expander { spec, reduction, name: exp.name.clone(), seed: exp.seed, variants, locator: Locator::default() })
    }

    /// The variants' names.
    pub fn variant_names(&self) -> Vec<String> {
        self.variants.iter().map(|v| v.0.clone()).collect()
    }

    /// The experiment of `profile` in variant `v`.
    pub fn experiment(&self, v: usize, profile: &[u32]) -> Result<Experiment> {
        let (name, tree) = &self.variants[v];
        let label = profile_label(&self.reduction.full, profile);
        let tree = profile_tree(tree, &self.spec, &self.reduction, profile)
            .map_err(|e| anyhow!("variant {name}, profile {label}: {e}"))?;
        let point = from_tree(tree, &self.locator).map_err(|diags| {
            let lines: Vec<String> = diags.iter().map(|d| format!("  {}: {}", d.path, d.message)).collect();
            anyhow!("variant {name}, profile {label} is not a valid experiment:\n{}", lines.join("\n"))
        })?;
        Ok(point.experiment)
    }

    /// The plan that runs `cells` (variant, index into `profiles`), each
    /// with its number of replicates (seeds `seed, seed + 1, ...`).
    pub fn plan_of(&self, profiles: Vec<Vec<u32>>, cells: Vec<((usize, usize), u32)>) -> Result<GamePlan> {
        let (mut configs, mut points, mut planned) = (Vec::new(), Vec::new(), Vec::new());
        for (point, ((v, f), replicates)) in cells.iter().enumerate() {
            let cfg = self.experiment(*v, &profiles[*f])?;
            for replicate in 0..*replicates {
                let seed = self.seed.wrapping_add(u64::from(replicate));
                planned.push(PlannedRun {
                    index: planned.len(),
                    point,
                    replicate,
                    seed,
                    run_id: run::run_id(&cfg, seed),
                });
            }
            configs.push(cfg);
            points.push(vec![
                serde_json::Value::String(self.variants[*v].0.clone()),
                serde_json::Value::String(profile_label(&self.reduction.full, &profiles[*f])),
            ]);
        }
        let ids: Vec<&str> = planned.iter().map(|r| r.run_id.as_str()).collect();
        let spec = &self.spec;
        let analysis = (&spec.payoff, spec.bootstrap, spec.tolerance.to_bits(), &spec.roles, &spec.adaptive);
        let hash = if spec.adaptive.is_some() {
            serde_json::to_string(&(&ids, analysis)).expect("serialises")
        } else {
            // Without adaptive sampling, as before it existed: the same
            // game keeps its id.
            serde_json::to_string(&(&ids, (analysis.0, analysis.1, analysis.2, analysis.3))).expect("serialises")
        };
        let game_id = sha256_hex(hash.as_bytes())[..12].to_owned();
        let axes = vec![VARIANT_AXIS.to_owned(), "profile".to_owned()];
        let runs = Plan {
            experiment: self.name.clone(),
            sweep_id: game_id.clone(),
            axes,
            points,
            runs: planned,
            configs,
            labels: Default::default(),
            x: None,
            command: None,
        };
        Ok(GamePlan {
            game_id,
            spec: self.spec.clone(),
            seed: self.seed,
            variants: self.variant_names(),
            profiles,
            cells: cells.into_iter().map(|c| c.0).collect(),
            runs,
            confirmed: None,
        })
    }
}

/// Expands the game of `loaded`: every full profile the reduced game
/// needs, in every variant, with `replicates` runs each.
pub fn plan(loaded: &Loaded) -> Result<GamePlan> {
    let expander = Expander::new(loaded)?;
    let profiles = expander.reduction.full_profiles();
    let spec = &expander.spec;
    let variants = expander.variants.len();
    // Adaptive sampling may take each profile up to its max_replicates.
    let most = spec.adaptive.as_ref().map_or(spec.replicates, |a| a.max_replicates.max(spec.replicates));
    let runs = profiles.len() as u128 * variants as u128 * u128::from(most);
    if runs > MAX_SWEEP_RUNS {
        let what = if most == spec.replicates { "replicates" } else { "game.adaptive.max_replicates" };
        bail!("the game may need {runs} runs (profiles × variants × {what}); at most {MAX_SWEEP_RUNS}");
    }
    let cells = (0..variants).flat_map(|v| (0..profiles.len()).map(move |f| ((v, f), spec.replicates))).collect();
    expander.plan_of(profiles, cells)
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

/// Checks each strategy on its own, so that a bad value in a strategy's
/// `set` is refused at `game.roles[r].strategies[s].set.<path>`, at its
/// line in the file (`locator`), rather than at the population it is
/// copied into. A strategy is tried with every player of its role playing
/// it and the other roles on their first strategy, in every variant until
/// one fails. Problems of the section as a whole are left to [`plan`].
pub fn check_strategies(loaded: &Loaded, locator: &Locator) -> Vec<Diagnostic> {
    let Ok(expander) = Expander::new(loaded) else { return Vec::new() };
    let (spec, full) = (&expander.spec, &expander.reduction.full);
    let mut out = Vec::new();
    for (r, role) in spec.roles.iter().enumerate() {
        // With one entry per role, the role's population keeps its place.
        let Some(at) = loaded.experiment.populations.iter().position(|p| p.population().name() == role.population)
        else {
            continue;
        };
        let prefix = format!("populations[{at}].");
        for (j, strategy) in role.strategies.iter().enumerate() {
            let mut profile = vec![0; full.n_strategies()];
            for q in 0..spec.roles.len() {
                profile[full.range(q).start + if q == r { j } else { 0 }] = full.players[q];
            }
            for (_, tree) in &expander.variants {
                let Ok(tree) = profile_tree(tree, spec, &expander.reduction, &profile) else { break };
                let Err(diags) = from_tree(tree, &Locator::default()) else { continue };
                let before = out.len();
                for d in diags {
                    let Some(rest) = d.path.strip_prefix(&prefix) else { continue };
                    let set = strategy.set.keys().find(|k| crate::paths::within(rest, k));
                    if let Some(key) = set {
                        let path = format!("game.roles[{r}].strategies[{j}].set.{key}");
                        let position = locator.find(&path);
                        out.push(Diagnostic { path, position, message: d.message });
                    }
                }
                if out.len() > before {
                    break;
                }
            }
        }
    }
    out
}

/// The folder of a game's own files: `<out>/<name>/games/<game-id>/`.
pub fn game_dir(out: &Path, plan: &GamePlan) -> PathBuf {
    out.join(&plan.runs.experiment).join("games").join(&plan.game_id)
}

/// Reads a game folder's plan.
pub fn read_plan(dir: &Path) -> Result<GamePlan> {
    let path = dir.join(cascade_notebooks::layout::GAME_PLAN);
    let text = std::fs::read_to_string(&path)
        .with_context(|| format!("reading {} (is this a game folder?)", path.display()))?;
    serde_json::from_str(&text).with_context(|| format!("parsing {}", path.display()))
}
