//! `cascade list`.

use super::out;
use crate::load::load_str;
use crate::shipped;
use anyhow::Result;
use std::process::ExitCode;

/// Lists the shipped experiments and replications with their one-line
/// descriptions.
pub fn list() -> Result<ExitCode> {
    let mut text = String::from("Shipped experiments (run with `cascade run NAME`, copy from experiments/configs/):\n");
    for (name, src) in shipped::SHIPPED {
        let description = load_str(src, name, &[]).map(|l| l.experiment.description).unwrap_or_default();
        let mark = if name == shipped::DEFAULT { " (default)" } else { "" };
        text.push_str(&format!("  {name:<16} {description}{mark}\n"));
    }
    text.push_str("\nShipped replications (run with `cascade replicate [NAME]`, in experiments/replications/):\n");
    for (name, src) in crate::replicate::REPLICATIONS {
        let description = load_str(src, name, &[]).map(|l| l.experiment.description).unwrap_or_default();
        text.push_str(&format!("  {name:<16} {description}\n"));
    }
    out(&text)?;
    Ok(ExitCode::SUCCESS)
}
