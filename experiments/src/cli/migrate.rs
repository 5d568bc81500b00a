//! `cascade migrate`: rewrites experiment files written before units were
//! declared into quote units, in place (see
//! [`crate::migrate`]).

use super::out;
use crate::migrate::migrate as rewrite;
use anyhow::{Context, Result};
use std::path::Path;
use std::process::ExitCode;

/// Rewrites each file, or prints it with `stdout`; exit code 2 if any
/// cannot be rewritten.
pub fn migrate(files: &[std::path::PathBuf], stdout: bool) -> Result<ExitCode> {
    let mut bad = 0;
    for file in files {
        let shown = file.display();
        let text = match std::fs::read_to_string(file) {
            Ok(t) => t,
            Err(e) => {
                bad += 1;
                eprintln!("error: {shown}: {e}");
                continue;
            }
        };
        match rewrite(&text) {
            Ok(None) => {
                if stdout {
                    out(&text)?;
                }
                eprintln!("{shown}: already declares its units; left as it is");
            }
            Ok(Some(m)) if stdout => out(&m.text)?,
            Ok(Some(m)) => {
                write_in_place(file, &m.text).with_context(|| format!("writing {shown}"))?;
                eprintln!("{shown}: {} values rewritten in quote units (units: quote)", m.rewritten);
            }
            Err(e) => {
                bad += 1;
                eprintln!("error: {shown}: cannot migrate: {e}");
            }
        }
    }
    Ok(if bad == 0 { ExitCode::SUCCESS } else { ExitCode::from(2) })
}

/// Replaces `file` whole: a reader sees the old file or the new one.
fn write_in_place(file: &Path, text: &str) -> Result<()> {
    let name = file.file_name().context("not a file name")?.to_string_lossy();
    let tmp = file.with_file_name(format!(".{name}.migrating"));
    std::fs::write(&tmp, text)?;
    std::fs::rename(&tmp, file)?;
    Ok(())
}
