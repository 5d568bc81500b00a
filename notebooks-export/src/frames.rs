//! Reading what a run or a sweep wrote: Parquet frames and the JSON
//! manifest and plan.

use polars::prelude::{DataFrame, ParquetReader, SerReader};
use std::path::{Path, PathBuf};

/// Failure to read results.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    /// A file could not be read.
    #[error("reading {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// A Parquet file could not be decoded, or lacks a column.
    #[error("{path}: {message}")]
    Frame {
        /// The file.
        path: PathBuf,
        /// Why.
        message: String,
    },
    /// A JSON file could not be parsed.
    #[error("{path}: {source}")]
    Json {
        /// The file.
        path: PathBuf,
        /// Why.
        source: serde_json::Error,
    },
}

/// Reads a Parquet file.
pub fn parquet(path: &Path) -> Result<DataFrame, ReadError> {
    let file = std::fs::File::open(path).map_err(|source| ReadError::Io { path: path.to_owned(), source })?;
    ParquetReader::new(file).finish().map_err(|e| ReadError::Frame { path: path.to_owned(), message: e.to_string() })
}

/// Reads a JSON file.
pub fn json(path: &Path) -> Result<serde_json::Value, ReadError> {
    let text = std::fs::read_to_string(path).map_err(|source| ReadError::Io { path: path.to_owned(), source })?;
    serde_json::from_str(&text).map_err(|source| ReadError::Json { path: path.to_owned(), source })
}

/// A column as `f64`s (nulls as `None`).
pub fn f64s(df: &DataFrame, name: &str, path: &Path) -> Result<Vec<Option<f64>>, ReadError> {
    let bad = |message: String| ReadError::Frame { path: path.to_owned(), message };
    let c = df.column(name).map_err(|e| bad(e.to_string()))?;
    let c = c.cast(&polars::prelude::DataType::Float64).map_err(|e| bad(e.to_string()))?;
    Ok(c.f64().map_err(|e| bad(e.to_string()))?.iter().collect())
}

/// A number as a table or legend shows it: whole numbers without the `.0`
/// a cast to text would give (a swept count of 1000 reads "1000"), others
/// in their shortest exact form.
fn float_label(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e15 { format!("{v:.0}") } else { v.to_string() }
}

/// A column as strings (nulls as `None`; floats by [`float_label`]).
pub fn strings(df: &DataFrame, name: &str, path: &Path) -> Result<Vec<Option<String>>, ReadError> {
    let bad = |message: String| ReadError::Frame { path: path.to_owned(), message };
    let c = df.column(name).map_err(|e| bad(e.to_string()))?;
    if c.dtype().is_float() {
        let c = c.cast(&polars::prelude::DataType::Float64).map_err(|e| bad(e.to_string()))?;
        return Ok(c.f64().map_err(|e| bad(e.to_string()))?.iter().map(|v| v.map(float_label)).collect());
    }
    let c = c.cast(&polars::prelude::DataType::String).map_err(|e| bad(e.to_string()))?;
    Ok(c.str().map_err(|e| bad(e.to_string()))?.iter().map(|s| s.map(str::to_owned)).collect())
}
