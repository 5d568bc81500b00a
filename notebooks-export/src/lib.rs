//! Charts, Jupyter notebooks and paper tables generated from Cascade Lab
//! results on disk. It depends on no simulation code: it reads what a run
//! or a sweep wrote (Parquet frames and `manifest.json` / `plan.json`).

pub mod charts;
pub mod frames;
pub mod inspect;
pub mod layout;
pub mod notebook;
pub mod tables;

/// `name` (a market, variant, role or strategy) as a piece of a file name:
/// ASCII letters, digits and `-` are kept, anything else becomes `_`, and
/// at most 100 characters are kept. No name read from a results folder
/// can then step outside it or exceed a file system's name limit.
pub fn file_safe(name: &str) -> String {
    name.chars().take(100).map(|c| if c.is_ascii_alphanumeric() || c == '-' { c } else { '_' }).collect()
}
