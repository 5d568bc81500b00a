//! The frames a run can write, by name: a user chooses among them
//! (`outputs.frames`), and a run builds and writes only those. The
//! summary's figures are computed whatever the choice, for the manifest.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// One of a run's frames (`<name>.parquet`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum FrameKind {
    /// A row per tick and market.
    Ticks,
    /// A row per liquidation, auction take and deleveraging.
    Events,
    /// A row per account at the end.
    Agents,
    /// Liquidation notional by price bucket over time.
    Heatmap,
    /// The run's metrics, one row.
    Summary,
    /// Execution agents' child orders (written only when the run has
    /// execution agents).
    Executions,
}

impl FrameKind {
    /// Every frame, in the order they are written.
    pub const ALL: [FrameKind; 6] = [
        FrameKind::Ticks,
        FrameKind::Events,
        FrameKind::Agents,
        FrameKind::Heatmap,
        FrameKind::Summary,
        FrameKind::Executions,
    ];

    /// The frame's name, as in its file name and in experiment files.
    pub fn name(self) -> &'static str {
        match self {
            FrameKind::Ticks => "ticks",
            FrameKind::Events => "events",
            FrameKind::Agents => "agents",
            FrameKind::Heatmap => "heatmap",
            FrameKind::Summary => "summary",
            FrameKind::Executions => "executions",
        }
    }
}
