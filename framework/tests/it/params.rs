//! Bad parameters give typed errors, never panics.

use super::common::*;
use cascade_framework::market::margin::TierParams;
use cascade_framework::{Micros, ParamError, Ppm, Price, Simulation};

fn field_of(e: ParamError) -> String {
    match e {
        ParamError::Invalid { field, .. } => field,
        other => panic!("expected a field error, got {other:?}"),
    }
}

#[test]
fn a_negative_price_is_rejected() {
    let mut p = hand_params(0);
    p.markets[0].index.initial_price = Price(-1);
    assert_eq!(field_of(Simulation::new(p).unwrap_err()), "markets[0].index.initial_price");
}

#[test]
fn a_zero_tick_size_is_rejected() {
    let mut p = hand_params(0);
    p.markets[0].tick_value = Micros(0);
    assert_eq!(field_of(Simulation::new(p.clone()).unwrap_err()), "markets[0].tick_value");
    p.markets[0].tick_value = Micros(1);
    p.markets[0].tick_size = 0.0;
    assert_eq!(field_of(Simulation::new(p).unwrap_err()), "markets[0].tick_size");
}

#[test]
fn maintenance_at_or_above_initial_is_rejected() {
    let mut p = hand_params(0);
    p.markets[0].tiers =
        vec![TierParams { notional_floor: Micros(0), maintenance_rate: Ppm(100_000), initial_rate: Ppm(100_000) }];
    assert!(matches!(
        Simulation::new(p).unwrap_err(),
        ParamError::MaintenanceNotBelowInitial { tier: 0, maintenance: Ppm(100_000), initial: Ppm(100_000) }
    ));
}

#[test]
fn an_empty_tier_table_is_rejected() {
    let mut p = hand_params(0);
    p.markets[0].tiers = vec![];
    assert_eq!(Simulation::new(p).unwrap_err(), ParamError::EmptyTierTable);
}

#[test]
fn other_impossible_values_name_their_field() {
    type Mutation = Box<dyn Fn(&mut cascade_framework::SimParams)>;
    let cases: Vec<(Mutation, &str)> = vec![
        (Box::new(|p| p.tick_seconds = 0.0), "tick_seconds"),
        (Box::new(|p| p.markets.clear()), "markets"),
        (Box::new(|p| p.protocol.max_rounds = 0), "protocol.max_rounds"),
        (Box::new(|p| p.protocol.penalty = Ppm(-1)), "protocol.penalty"),
        (Box::new(|p| p.markets[0].depth.spacing_ticks = 0), "markets[0].depth.spacing_ticks"),
        (Box::new(|p| p.markets[0].fees.maker = Ppm(-10_000)), "markets[0].fees.maker"),
    ];
    for (mutate, field) in cases {
        let mut p = hand_params(0);
        mutate(&mut p);
        assert_eq!(field_of(Simulation::new(p).unwrap_err()), field);
    }
}

#[test]
fn seeding_at_a_negative_price_is_rejected() {
    let mut sim = Simulation::new(hand_params(0)).unwrap();
    let t = trader(&mut sim, "t", cascade_framework::accounts::ledger::MarginMode::Cross, 1);
    let e = sim.seed_position(t, cascade_framework::MarketId(0), cascade_framework::Lots(1), Price(-5)).unwrap_err();
    assert_eq!(field_of(e), "entry");
}
