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

/// Overflow checks are on for the whole release profile, and only the
/// dependencies ("*") are exempt: a new workspace member cannot lose them
/// by lacking a line in the root manifest.
#[test]
fn every_workspace_member_is_built_with_overflow_checks() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../Cargo.toml");
    let text = std::fs::read_to_string(root).unwrap();
    let mut section = String::new();
    let mut on = false;
    for line in text.lines().map(str::trim) {
        if line.starts_with('[') {
            section = line.to_owned();
            continue;
        }
        if let Some(value) = line.strip_prefix("overflow-checks") {
            let value = value.trim_start_matches([' ', '=']).trim();
            match section.as_str() {
                "[profile.release]" => on = value == "true",
                "[profile.release.package.\"*\"]" => {}
                other => assert!(
                    value == "true" || !other.starts_with("[profile"),
                    "{other} turns overflow checks off for a member"
                ),
            }
        }
    }
    assert!(on, "[profile.release] must set overflow-checks = true");
}
