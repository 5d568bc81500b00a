//! Replications: published results as experiments with a `check:`
//! section, run on the sweep engine and judged.
//!
//! A replication is an experiment (usually with `sweep.variants` and
//! replicates) whose `check:` names the source, the figure and the claims.
//! Each claim is a statistic of every run ([`crate::spec::check::Statistic`]: a summary
//! metric, the first liquidation tick, or a statistic of the first
//! market's mark returns from `framework::record::stats`), taken at one
//! variant or at every point, either as a level or, with `paired: true`,
//! as the difference from the reference variant replicate by replicate on
//! the same seed. Over the replicates it has a mean and a Student-t 95%
//! interval; the claim **passes** when that whole interval lies inside the
//! band. `cascade replicate` runs every shipped replication (in
//! `experiments/replications/`) and writes `replication.md` and
//! `replication.tex` with the figure, the target, the measured value, its
//! interval and the verdict.

pub mod judge;
pub mod measure;

pub use crate::spec::check::{Check, Claim, Statistic};

/// (name, file text) of every shipped replication.
pub const REPLICATIONS: [(&str, &str); 8] = [
    ("bp2005", include_str!("../../replications/bp2005.yaml")),
    ("concept_table", include_str!("../../replications/concept_table.yaml")),
    ("threshold_timing", include_str!("../../replications/threshold_timing.yaml")),
    ("stylized_facts", include_str!("../../replications/stylized_facts.yaml")),
    ("sqrt_impact", include_str!("../../replications/sqrt_impact.yaml")),
    ("black_thursday", include_str!("../../replications/black_thursday.yaml")),
    ("loss_waterfall", include_str!("../../replications/loss_waterfall.yaml")),
    ("tfg2012", include_str!("../../replications/tfg2012.yaml")),
];

/// The text of the shipped replication `name`.
pub fn get(name: &str) -> Option<&'static str> {
    REPLICATIONS.iter().find(|(n, _)| *n == name).map(|(_, t)| *t)
}
