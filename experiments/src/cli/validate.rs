//! `cascade validate`: says "ok" only for a file that `run`, `sweep`,
//! `game` and `replicate` would start. Beyond loading and checking each
//! value, it expands the sweep or game, builds the world of every
//! configuration and steps it once (cross-references between markets and
//! populations, amounts that overflow at the start), and applies the
//! default resource limits.

use super::{Invalid, out, read};
use crate::budget::{Estimate, Limits};
use crate::load::load_str;
use crate::load::{LoadError, Loaded, starts};
use crate::spec::Experiment;
use anyhow::{Result, anyhow};
use std::process::ExitCode;

/// Checks each file; exit code 2 if any is invalid.
pub fn validate(files: &[String]) -> Result<ExitCode> {
    let mut bad = 0;
    for file in files {
        // A file that cannot be read is reported, and the rest are checked.
        let (label, text) = match read(file) {
            Ok(read) => read,
            Err(e) => {
                bad += 1;
                eprintln!("error: {e:#}");
                continue;
            }
        };
        let loaded = match load_str(&text, &label, &[]) {
            Ok(l) => l,
            Err(e) => {
                bad += 1;
                eprint!("{}", Invalid(e));
                continue;
            }
        };
        eprint!("{}", crate::load::warnings_text(&label, &loaded.warnings));
        if let Err(e) = super::strategies(&loaded, &text, &label) {
            bad += 1;
            eprint!("{}", Invalid(e));
            continue;
        }
        match will_start(&loaded, &text, &label) {
            Err(Refusal::File(e)) => {
                bad += 1;
                eprint!("{}", Invalid(e));
            }
            Err(Refusal::Plan(e)) => {
                bad += 1;
                eprintln!("error: {label}: {e:#}");
            }
            Ok(configs) => {
                let l = &loaded.experiment;
                let worlds = if configs == 1 { "1 world built".to_owned() } else { format!("{configs} worlds built") };
                let what = match (&l.sweep, &l.game) {
                    (_, Some(_)) => format!(", game checked: {worlds}"),
                    (Some(_), None) => format!(", sweep checked: {worlds}"),
                    (None, None) => String::new(),
                };
                out(&format!(
                    "{label}: ok ({}, {} ticks, {} populations{what})\n",
                    l.name,
                    l.ticks,
                    l.populations.len()
                ))?;
            }
        }
    }
    Ok(if bad == 0 { ExitCode::SUCCESS } else { ExitCode::from(2) })
}

/// Why a loaded file would not start.
enum Refusal {
    /// A field of the file, with its place.
    File(LoadError),
    /// The plan as a whole (a sweep point, the budget).
    Plan(anyhow::Error),
}

/// Expands the file as `sweep` or `game` would, applies the default
/// limits, and builds and steps once every distinct configuration; returns
/// how many were built.
fn will_start(loaded: &Loaded, text: &str, label: &str) -> Result<usize, Refusal> {
    let exp = &loaded.experiment;
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let limits = Limits::new(None, None);
    let over = |what: &str, e: &Estimate| limits.check(what, e).map_err(|m| Refusal::Plan(anyhow!(m)));
    let configs: Vec<Experiment> = if exp.game.is_some() {
        let plan = crate::game::plan(loaded).map_err(Refusal::Plan)?;
        over("this game", &Estimate::sweep(&plan.runs, threads))?;
        plan.runs.configs
    } else if exp.sweep.is_some() {
        let plan = crate::sweep::plan(loaded).map_err(Refusal::Plan)?;
        over("this sweep", &Estimate::sweep(&plan, threads))?;
        plan.configs
    } else {
        over("this run", &Estimate::run(exp))?;
        vec![exp.clone()]
    };
    let mut seen: Vec<&Experiment> = Vec::new();
    for (point, config) in configs.iter().enumerate() {
        if seen.contains(&config) {
            continue;
        }
        seen.push(config);
        let note = if configs.len() > 1 { format!(" (at point {point} of the plan)") } else { String::new() };
        starts(config, text, label, &note).map_err(Refusal::File)?;
    }
    Ok(seen.len())
}
