//! The floor everything stands on: exact units (ticks, lots, micros, ppm,
//! ids), the seeded random streams, typed errors, the clock and the event
//! record. It imports nothing from the rest of the framework.

pub mod clock;
pub mod error;
pub mod event;
pub mod rng;
pub mod units;

pub use clock::Clock;
pub use error::{ExportError, ParamError};
pub use event::{EventKind, LiquidationEvent};
