//! Small worlds shared by the integration tests.

use cascade_framework::Simulation;

pub use cascade_framework::presets::{hand_params, hand_trader as trader};

/// Total value and what was put in, which must be equal.
pub fn assert_conserved(sim: &Simulation) {
    let (value, put_in) = sim.value_balance();
    assert_eq!(value, put_in, "value is not conserved at tick {}", sim.tick());
}
