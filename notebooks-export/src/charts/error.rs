//! The one error type of the charts: what went wrong reading a run or a
//! sweep, or drawing or writing one of its charts, and on which path.

use polars::prelude::PolarsError;
use std::path::PathBuf;

/// Failure to read a run or a sweep, or to draw or write one of its charts.
#[derive(Debug, thiserror::Error)]
pub enum ChartError {
    /// An input file does not exist.
    #[error("{path} is missing")]
    MissingFile {
        /// The file.
        path: PathBuf,
    },
    /// A Parquet file lacks a column the charts need.
    #[error("{path}: no column `{column}`")]
    MissingColumn {
        /// The file.
        path: PathBuf,
        /// The column.
        column: String,
    },
    /// A Parquet file could not be decoded, or a column not converted.
    #[error("{path}: {source}")]
    Polars {
        /// The file.
        path: PathBuf,
        /// Why.
        source: PolarsError,
    },
    /// A JSON file could not be parsed.
    #[error("{path}: {source}")]
    Json {
        /// The file.
        path: PathBuf,
        /// Why.
        source: serde_json::Error,
    },
    /// A file parsed but does not hold what the charts need.
    #[error("{path}: {message}")]
    Invalid {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// A file could not be read, or a chart not written.
    #[error("{path}: {source}")]
    Io {
        /// The file or folder.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// Plotters failed to draw a chart.
    #[error("drawing {path}: {message}")]
    Draw {
        /// The chart being drawn.
        path: PathBuf,
        /// Plotters' message.
        message: String,
    },
    /// The embedded font was rejected by the font loader.
    #[error("the embedded DejaVu Sans font could not be registered")]
    Font,
}
