//! `cascade merge`.

use super::out;
use crate::run::write_reports;
use crate::sweep::{aggregate, read_plan};
use anyhow::{Context, Result};
use std::path::Path;
use std::process::ExitCode;

/// Aggregates a sharded sweep or game from its runs on disk.
pub fn merge(dir: &Path) -> Result<ExitCode> {
    if cascade_notebooks::layout::kind(dir) == Some(cascade_notebooks::layout::Folder::Game) {
        let plan = crate::game::read_plan(dir)?;
        // <out>/<name>/games/<game-id>
        let root = dir
            .parent()
            .and_then(Path::parent)
            .and_then(Path::parent)
            .context("a game folder is <out>/<name>/games/<game-id>")?;
        out(&super::game::finish(&plan, root)?)?;
        return Ok(ExitCode::SUCCESS);
    }
    let plan = read_plan(dir)?;
    // <out>/<name>/sweeps/<sweep-id>
    let root = dir
        .parent()
        .and_then(Path::parent)
        .and_then(Path::parent)
        .context("a sweep folder is <out>/<name>/sweeps/<sweep-id>")?;
    let frames = aggregate(&plan, root)?;
    let frames: Vec<String> = frames.iter().map(|p| p.display().to_string()).collect();
    let outputs = plan.configs.first().map(|c| c.outputs.clone()).unwrap_or_default();
    let reports = write_reports(dir, &outputs)?;
    out(&format!("merged {} runs: wrote {} (and {} reports)\n", plan.runs.len(), frames.join(", "), reports.len()))?;
    Ok(ExitCode::SUCCESS)
}
