//! The engine: [`Simulation`] (build a world from [`SimParams`], add agents'
//! systems and mechanisms, step, finish into frames), the tick's
//! [`Phase`]s and their schedule, and ready-made presets. It is the top of
//! the framework: it imports every folder and none imports it.

pub mod params;
pub mod presets;
pub mod schedule;
pub mod sim;
#[cfg(test)]
pub mod testing;

pub use params::SimParams;
pub use schedule::{FrameworkSystems, Phase, Slot, Tick};
pub use sim::Simulation;
