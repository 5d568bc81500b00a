//! `cascade schema`.

use super::out;
use anyhow::Result;
use std::process::ExitCode;

/// Prints the JSON Schema of experiment files, in the units a person
/// writes them in.
pub fn schema() -> Result<ExitCode> {
    let schema = crate::spec::schema::schema();
    out(&format!("{}\n", serde_json::to_string_pretty(&schema)?))?;
    Ok(ExitCode::SUCCESS)
}
