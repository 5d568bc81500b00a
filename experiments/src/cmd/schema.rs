//! `cascade schema`.

use super::out;
use anyhow::Result;
use cascade_experiments::Experiment;
use std::process::ExitCode;

/// Prints the JSON Schema of experiment files.
pub fn schema() -> Result<ExitCode> {
    let schema = schemars::schema_for!(Experiment);
    out(&format!("{}\n", serde_json::to_string_pretty(&schema)?))?;
    Ok(ExitCode::SUCCESS)
}
