//! `cascade validate`.

use super::{Invalid, out, read};
use anyhow::Result;
use cascade_experiments::load_str;
use std::process::ExitCode;

/// Checks each file; exit code 2 if any is invalid.
pub fn validate(files: &[String]) -> Result<ExitCode> {
    let mut bad = 0;
    for file in files {
        let (label, text) = read(file)?;
        match load_str(&text, &label, &[]) {
            Ok(l) => out(&format!(
                "{label}: ok ({}, {} ticks, {} populations)\n",
                l.experiment.name,
                l.experiment.ticks,
                l.experiment.populations.len()
            ))?,
            Err(e) => {
                bad += 1;
                eprint!("{}", Invalid(e));
            }
        }
    }
    Ok(if bad == 0 { ExitCode::SUCCESS } else { ExitCode::from(2) })
}
