//! `cascade plot`, `cascade notebook` and `cascade table`: reports made
//! again from a run's, a sweep's or a game's files alone.

use super::out;
use crate::run;
use anyhow::{Context, Result, bail};
use cascade_notebooks::layout::{Folder, kind};
use std::path::Path;
use std::process::ExitCode;

/// A run or sweep folder whose frames are as their manifest says.
fn check(dir: &Path) -> Result<()> {
    if kind(dir).is_none() {
        bail!(
            "{} is not a run folder (manifest.json), a sweep folder (plan.json) or a game folder (game.json)",
            dir.display()
        );
    }
    if let Some(m) = run::finished(dir)
        && let Some(why) = run::not_reusable(dir, &m, run::Reuse::AnyVersion)
    {
        bail!("{}: {why}; run it again with `cascade run`", dir.display());
    }
    Ok(())
}

/// Draws the charts again.
pub fn plot(dir: &Path, charts: &cascade_notebooks::charts::SweepCharts) -> Result<ExitCode> {
    check(dir)?;
    let chosen = !charts.metrics.is_empty() || charts.x.is_some() || charts.log_x.is_some();
    if chosen && kind(dir) != Some(Folder::Sweep) {
        anyhow::bail!("--metric, --x and --log-x choose a sweep's charts; {} is not a sweep folder", dir.display());
    }
    let written = match kind(dir) {
        Some(Folder::Game) => cascade_notebooks::charts::plot_game(dir),
        Some(Folder::Sweep) => cascade_notebooks::charts::plot_sweep_with(dir, charts),
        _ => cascade_notebooks::charts::plot_run(dir),
    }
    .with_context(|| format!("drawing charts in {}", dir.display()))?;
    let list: Vec<String> = written.iter().map(|p| format!("  {}\n", p.display())).collect();
    out(&format!("wrote {} charts:\n{}", written.len(), list.concat()))?;
    Ok(ExitCode::SUCCESS)
}

/// Writes the notebook again.
pub fn notebook(dir: &Path) -> Result<ExitCode> {
    check(dir)?;
    let path = cascade_notebooks::notebook::write_notebook(dir).context("writing the notebook")?;
    out(&format!("wrote {}\n", path.display()))?;
    Ok(ExitCode::SUCCESS)
}

/// Writes the tables again.
pub fn table(dir: &Path, metrics: &[String]) -> Result<ExitCode> {
    check(dir)?;
    let written = cascade_notebooks::tables::write_tables_of(dir, metrics).context("writing the tables")?;
    let written: Vec<String> = written.iter().map(|p| p.display().to_string()).collect();
    out(&format!("wrote {}\n", written.join(", ")))?;
    Ok(ExitCode::SUCCESS)
}
