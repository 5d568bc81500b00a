//! Typed errors for invalid simulation parameters and failed exports. Bad
//! input is always reported through these, never by a panic.

use crate::core::units::Ppm;

/// A parameter that cannot describe a valid simulation. `field` is a dotted
/// path into the parameter structs (`markets[0].tick_value`), so a caller
/// that loaded the parameters from a file can point at the offending line.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum ParamError {
    /// A value outside its allowed range.
    #[error("{field}: {reason}")]
    Invalid {
        /// Dotted path of the parameter.
        field: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A margin tier table with no tiers.
    #[error("margin tiers: the tier table is empty")]
    EmptyTierTable,
    /// A maintenance rate that would make a freshly opened position
    /// liquidatable.
    #[error("tiers[{tier}]: maintenance rate {maintenance} ppm must be below the initial rate {initial} ppm")]
    MaintenanceNotBelowInitial {
        /// Index of the tier.
        tier: usize,
        /// Its maintenance rate.
        maintenance: Ppm,
        /// Its initial rate.
        initial: Ppm,
    },
    /// Two populations whose names map to the same stable id.
    #[error("populations {a:?} and {b:?} map to the same stream id; rename one")]
    PopulationIdCollision {
        /// First name.
        a: String,
        /// Second name.
        b: String,
    },
}

impl ParamError {
    /// An [`ParamError::Invalid`] for `field`.
    pub fn invalid(field: impl Into<String>, reason: impl Into<String>) -> ParamError {
        ParamError::Invalid { field: field.into(), reason: reason.into() }
    }

    /// The same error with `prefix.` put before its field path, for errors
    /// raised by a nested parameter struct. Errors of their own variant keep
    /// it, so callers can match on them.
    pub fn within(self, prefix: &str) -> ParamError {
        match self {
            ParamError::Invalid { field, reason } => ParamError::Invalid { field: format!("{prefix}.{field}"), reason },
            other => other,
        }
    }
}

/// A run that stopped because an exact amount would have left the `i64`
/// range: the state is beyond what the validated limits allow. The run is
/// abandoned; nothing wraps.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("the run stopped in tick {tick}: {overflow}")]
pub struct RunError {
    /// The tick in which it happened (0 is the first; set-up is before it).
    pub tick: u64,
    /// The operation that would have overflowed.
    pub overflow: crate::core::units::Overflow,
}

/// Failure to turn a finished run into frames or files.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    /// polars rejected a frame.
    #[error("building frame {frame}: {source}")]
    Frame {
        /// Which frame.
        frame: &'static str,
        /// The polars error.
        source: polars::error::PolarsError,
    },
    /// Writing a file failed.
    #[error("writing {path}: {source}")]
    Io {
        /// The file.
        path: std::path::PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
}
