//! The `game:` section of an experiment file.

use crate::theory::analysis::Structure;
use crate::theory::reduction::Reduction;
use cascade_agents::framework::ParamError;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// An empirical game between populations: `cascade game` runs every
/// profile of strategies it needs and finds the equilibria.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct GameSpec {
    /// The roles: each is one of the file's populations.
    pub roles: Vec<Role>,
    /// What a player earns: `pnl` (profit and loss, quote units),
    /// `pnl_per_capital` (profit and loss over the collateral deposited),
    /// or the name of any numeric column of `agents.parquet`.
    #[serde(default = "default_payoff")]
    pub payoff: String,
    /// Runs per profile, with seeds `seed, seed + 1, ...`: replicate `r`
    /// has the same seed in every profile (common random numbers).
    #[serde(default = "default_replicates")]
    pub replicates: u32,
    /// Bootstrap resamples for the regret intervals.
    #[serde(default = "default_bootstrap")]
    pub bootstrap: u32,
    /// Largest regret of an equilibrium, as a fraction of the payoff range.
    #[serde(default = "default_tolerance")]
    pub tolerance: f64,
    /// Sample only the profiles that matter (quiesce-style) instead of
    /// every profile of the reduced game.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub adaptive: Option<Adaptive>,
}

/// Adaptive sampling: from the game restricted to each role's first
/// strategy, find the restricted game's equilibria, test every deviation
/// from each, confirm an equilibrium when no deviation gains more than
/// `epsilon`, and otherwise add the best response to the restricted game.
/// A gain whose 95% interval contains `epsilon` gets more replicates, up to
/// `max_replicates`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Adaptive {
    /// The largest gain from deviating that still confirms an
    /// equilibrium, in payoff units.
    pub epsilon: f64,
    /// Most replicates of one profile (the game's `replicates` at first).
    #[serde(default = "default_max_replicates")]
    pub max_replicates: u32,
}

fn default_max_replicates() -> u32 {
    40
}

/// One role of a game.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Role {
    /// The population (by name) whose agents are the role's players. Its
    /// `count` is replaced by `players`.
    pub population: String,
    /// Players in the full game.
    pub players: u32,
    /// Players in the reduced game that is analysed (deviation-preserving
    /// reduction); all of them when absent.
    #[serde(default)]
    pub reduce_to: Option<u32>,
    /// The strategies a player may choose.
    pub strategies: Vec<Strategy>,
}

/// A strategy: a name and the population's parameters it changes.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Strategy {
    /// Name, as it appears in frames and tables.
    pub name: String,
    /// Values to set, by path within the population (`strategy`,
    /// `hedge.ratio`); none plays the population as written.
    #[serde(default)]
    pub set: BTreeMap<String, serde_json::Value>,
}

fn default_payoff() -> String {
    "pnl".into()
}

fn default_replicates() -> u32 {
    10
}

fn default_bootstrap() -> u32 {
    200
}

fn default_tolerance() -> f64 {
    1e-6
}

/// The most profiles a game may need, over all variants.
pub const MAX_PROFILES: u128 = 100_000;

/// The most bootstrap resamples of a game's analysis.
pub const MAX_BOOTSTRAP: u32 = 100_000;

/// The most replicates of one profile (`replicates` and
/// `adaptive.max_replicates`); the game's runs in all are bounded too.
pub const MAX_REPLICATES: u32 = 100_000;

impl GameSpec {
    /// The full game's roles.
    pub fn structure(&self) -> Structure {
        Structure::new(
            self.roles
                .iter()
                .map(|r| (r.population.clone(), r.players, r.strategies.iter().map(|s| s.name.clone()).collect()))
                .collect(),
        )
    }

    /// The reduction analysed.
    pub fn reduction(&self) -> Result<Reduction, String> {
        let players: Vec<u32> = self.roles.iter().map(|r| r.reduce_to.unwrap_or(r.players)).collect();
        Reduction::new(&self.structure(), &players)
    }

    /// Checks the section; `populations` are the file's population names.
    pub fn validate(&self, populations: &[&str]) -> Vec<ParamError> {
        let mut errors = Vec::new();
        if self.roles.is_empty() {
            errors.push(ParamError::invalid("game.roles", "a game needs at least one role"));
        }
        for (i, role) in self.roles.iter().enumerate() {
            let at = |field: &str| format!("game.roles[{i}].{field}");
            if !populations.contains(&role.population.as_str()) {
                errors.push(ParamError::invalid(
                    at("population"),
                    format!("no population named {:?} (there are {populations:?})", role.population),
                ));
            }
            if self.roles[..i].iter().any(|r| r.population == role.population) {
                errors.push(ParamError::invalid(at("population"), "is already a role"));
            }
            if role.players == 0 {
                errors.push(ParamError::invalid(at("players"), "must be at least 1"));
            }
            if role.strategies.is_empty() {
                errors.push(ParamError::invalid(at("strategies"), "a role needs at least one strategy"));
            }
            for (j, s) in role.strategies.iter().enumerate() {
                let at = |field: &str| format!("game.roles[{i}].strategies[{j}].{field}");
                let name_ok =
                    !s.name.is_empty() && s.name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
                if !name_ok {
                    errors.push(ParamError::invalid(at("name"), "use letters, digits, '-' and '_' only"));
                } else if s.name.len() > super::experiment::MAX_NAME {
                    errors.push(ParamError::invalid(
                        at("name"),
                        format!("{} bytes; at most {}", s.name.len(), super::experiment::MAX_NAME),
                    ));
                }
                if role.strategies[..j].iter().any(|t| t.name == s.name) {
                    errors.push(ParamError::invalid(at("name"), format!("strategy {:?} is named twice", s.name)));
                }
                for path in s.set.keys() {
                    let root = path.split(['.', '[']).next().unwrap_or_default();
                    if ["name", "kind", "count", "first_index"].contains(&root) {
                        errors.push(ParamError::invalid(
                            format!("game.roles[{i}].strategies[{j}].set.{path}"),
                            "the game sets a role's name, kind, counts and agent numbers itself",
                        ));
                    }
                }
            }
        }
        if self.replicates == 0 {
            errors.push(ParamError::invalid("game.replicates", "must be at least 1"));
        }
        if self.replicates > MAX_REPLICATES {
            errors.push(ParamError::invalid("game.replicates", format!("at most {MAX_REPLICATES}")));
        }
        if self.bootstrap > MAX_BOOTSTRAP {
            errors.push(ParamError::invalid("game.bootstrap", format!("at most {MAX_BOOTSTRAP} resamples")));
        }
        if !(self.tolerance.is_finite() && self.tolerance >= 0.0) {
            errors.push(ParamError::invalid("game.tolerance", "must be a non-negative number"));
        }
        if let Some(a) = &self.adaptive {
            if !(a.epsilon.is_finite() && a.epsilon >= 0.0) {
                errors.push(ParamError::invalid("game.adaptive.epsilon", "must be a non-negative number"));
            }
            if a.max_replicates > MAX_REPLICATES {
                errors.push(ParamError::invalid("game.adaptive.max_replicates", format!("at most {MAX_REPLICATES}")));
            }
            if a.max_replicates < self.replicates {
                errors.push(ParamError::invalid(
                    "game.adaptive.max_replicates",
                    format!("must be at least game.replicates ({})", self.replicates),
                ));
            }
        }
        let numbers = cascade_agents::framework::record::recorder::AGENT_NUMBERS;
        if self.payoff != "pnl_per_capital" && !numbers.contains(&self.payoff.as_str()) {
            errors.push(ParamError::invalid(
                "game.payoff",
                format!(
                    "{:?} is not a payoff: name pnl_per_capital or a numeric agents.parquet column, one of {numbers:?}",
                    self.payoff
                ),
            ));
        }
        if errors.is_empty() {
            match self.reduction() {
                Err(why) => errors.push(ParamError::invalid("game.roles", why)),
                Ok(reduction) => {
                    let n = reduction.reduced.n_profiles();
                    if n > MAX_PROFILES {
                        errors.push(ParamError::invalid(
                            "game.roles",
                            format!("{n} reduced profiles; at most {MAX_PROFILES} (reduce the roles further)"),
                        ));
                    }
                }
            }
        }
        errors
    }
}
