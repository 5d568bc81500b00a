//! A state beyond the validated limits stops the run with a typed error
//! naming the quantity and the tick: it neither wraps nor panics through.

use cascade_framework::accounts::ledger::MarginMode;
use cascade_framework::presets::{hand_params, hand_trader};
use cascade_framework::protocol::{Cx, Mechanism};
use cascade_framework::{AccountId, MarketId, Micros, Simulation};

/// Deposits half the `i64` range into one account in tick 3, twice.
#[derive(Debug)]
struct Flood(AccountId);

impl Mechanism for Flood {
    fn name(&self) -> &'static str {
        "flood"
    }

    fn begin_tick(&mut self, cx: &mut Cx<'_>) {
        if cx.tick == 3 {
            for _ in 0..2 {
                cx.ledger.deposit(self.0, MarketId(0), Micros(i64::MAX / 2 + 1));
            }
        }
    }
}

#[test]
fn an_amount_past_i64_stops_the_run_naming_the_quantity_and_the_tick() {
    let mut sim = Simulation::new(hand_params(0)).unwrap();
    let a = hand_trader(&mut sim, "t", MarginMode::Cross, 1_000_000);
    sim.add_mechanism(Flood(a));
    let err = sim.try_run(10).unwrap_err();
    assert_eq!(err.tick, 3);
    assert_eq!(err.overflow.quantity, "Micros");
    let text = err.to_string();
    assert!(text.starts_with("the run stopped in tick 3: Micros arithmetic overflowed i64 at "), "{text}");
    // Without the flood the same run finishes.
    let mut sim = Simulation::new(hand_params(0)).unwrap();
    hand_trader(&mut sim, "t", MarginMode::Cross, 1_000_000);
    assert_eq!(sim.try_run(10), Ok(()));
}
