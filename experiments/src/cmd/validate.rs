//! `cascade validate`.

use super::{Invalid, out, read};
use anyhow::Result;
use cascade_experiments::load_str;
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
        // A sweep is checked point by point, as `cascade sweep` would, and
        // a game profile by profile, as `cascade game` would.
        let loaded = load_str(&text, &label, &[]).map(|l| {
            let plan = l.experiment.sweep.as_ref().map(|_| cascade_experiments::sweep::plan(&l).map(|_| ()));
            let game = l.experiment.game.as_ref().map(|_| cascade_experiments::game::plan(&l).map(|_| ()));
            let plan = match (plan, game) {
                (Some(Err(e)), _) | (_, Some(Err(e))) => Some(Err(e)),
                (p, g) => p.or(g),
            };
            (l, plan)
        });
        match loaded {
            Ok((_, Some(Err(e)))) => {
                bad += 1;
                eprintln!("error: {label}: {e:#}");
            }
            Ok((l, _)) => out(&format!(
                "{label}: ok ({}, {} ticks, {} populations{})\n",
                l.experiment.name,
                l.experiment.ticks,
                l.experiment.populations.len(),
                match (&l.experiment.sweep, &l.experiment.game) {
                    (_, Some(_)) => ", game checked",
                    (Some(_), None) => ", sweep checked",
                    (None, None) => "",
                }
            ))?,
            Err(e) => {
                bad += 1;
                eprint!("{}", Invalid(e));
            }
        }
    }
    Ok(if bad == 0 { ExitCode::SUCCESS } else { ExitCode::from(2) })
}
