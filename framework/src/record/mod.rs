//! The Record phase and the run's outputs: column buffers filled each tick,
//! the frames built once at the end, Parquet writing, and the run summary.
//! It imports everything below it and nothing above: it reads what the
//! protocol logged, never the engine.

pub mod capital;
pub mod frames;
pub mod orders;
pub mod recorder;
pub mod stats;
pub mod summary;
pub mod ticks;

pub use capital::FloorCapital;
pub use frames::FrameKind;
pub use orders::{ChildOrder, ExecutionLog};
pub use recorder::{Recorder, RecordingParams, RunOutput, record};
pub use summary::RunSummary;
