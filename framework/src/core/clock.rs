//! The simulation clock: the tick being run and the length of a tick. It
//! sits at the bottom of the engine so that every phase can read it without
//! importing the engine that advances it.

use bevy_ecs::prelude::Resource;

/// The current tick.
#[derive(Resource, Clone, Copy, Debug, Default, PartialEq)]
pub struct Clock {
    /// The tick being run (during a step) or next to run (between steps).
    pub tick: u64,
    /// Length of a tick, seconds.
    pub tick_seconds: f64,
}
