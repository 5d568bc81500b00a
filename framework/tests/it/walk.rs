//! A liquidation round walks its candidates as they were when it began,
//! whatever the round changes in the trigger index meanwhile.

use bevy_ecs::prelude::Mut;
use cascade_framework::accounts::ledger::{Ledger, MarginMode};
use cascade_framework::accounts::triggers::Triggers;
use cascade_framework::market::Markets;
use cascade_framework::presets::{hand_params, hand_trader};
use cascade_framework::{AccountId, Lots, MarketId, Price, Side, Simulation};

fn longs(sim: &mut Simulation) -> Vec<AccountId> {
    let mut out = Vec::new();
    sim.world().resource::<Triggers>().candidates(MarketId(0), Side::Buy, sim.markets(), &mut out);
    out
}

fn rekey(sim: &mut Simulation, account: AccountId) {
    sim.world_mut().resource_scope(|world, mut triggers: Mut<Triggers>| {
        triggers.rekey(account, world.resource::<Ledger>(), world.resource::<Markets>());
    });
}

fn walk_next(sim: &mut Simulation) -> Option<AccountId> {
    sim.world_mut().resource_mut::<Triggers>().next_candidate(0)
}

#[test]
fn a_walk_sees_the_index_as_it_was_when_the_round_began() {
    // 150 longs of 10 lots from 1,100, all under water at the mark of
    // 1,000, with distinct collateral: more than a walk fetches at once.
    let mut sim = Simulation::new(hand_params(0)).unwrap();
    let m = MarketId(0);
    let positions: Vec<_> = (0..150)
        .map(|i| (hand_trader(&mut sim, &format!("t{i}"), MarginMode::Cross, 100 + 5 * i), m, Lots(10), Price(1_100)))
        .collect();
    sim.seed_positions(&positions).unwrap();
    sim.index_seeded();
    let before = longs(&mut sim);
    assert_eq!(before.len(), 150, "every long is a candidate");

    sim.world_mut().resource_scope(|world, mut triggers: Mut<Triggers>| {
        triggers.begin_walk(&[(m, Side::Buy)], world.resource::<Markets>());
    });
    let mut walked: Vec<AccountId> = (0..3).map_while(|_| walk_next(&mut sim)).collect();
    // Change the index where the walk has not reached: one account's
    // position grows (a new key), another's keys go.
    let (grown, gone) = (before[100], before[120]);
    sim.seed_position(grown, m, Lots(30), Price(1_100)).unwrap();
    rekey(&mut sim, grown);
    sim.world_mut().resource_mut::<Triggers>().forget(gone);
    // And where it has: the first account's key goes, as a liquidation's does.
    sim.world_mut().resource_mut::<Triggers>().forget(before[0]);
    walked.extend(std::iter::from_fn(|| walk_next(&mut sim)));
    sim.world_mut().resource_mut::<Triggers>().end_walk();

    assert_eq!(walked, before, "the walk hands out the candidates of the round's start, once each, in order");
    let after = longs(&mut sim);
    assert_eq!(after.len(), 148, "the index itself did change");
    assert_ne!(after.iter().position(|a| *a == grown), Some(100), "the grown position moved in the order");
}

/// Every candidate of `side` by a walk, with no change to the index.
fn walked(sim: &mut Simulation, side: Side) -> Vec<AccountId> {
    sim.world_mut().resource_scope(|world, mut triggers: Mut<Triggers>| {
        triggers.begin_walk(&[(MarketId(0), side)], world.resource::<Markets>());
        let all = std::iter::from_fn(|| triggers.next_candidate(0)).collect();
        triggers.end_walk();
        all
    })
}

#[test]
fn with_raised_rates_a_walk_merges_the_tier_groups_as_the_one_shot_query_does() {
    // A tiered market whose keys are grouped by tier (dynamic maintenance
    // on), with the rates raised 1.6 times: each group has its own bound.
    let mut market = cascade_framework::presets::btc_market("BTC-PERP", vec![]);
    market.funding.interval_ticks = 0;
    let params = cascade_framework::SimParams {
        seed: 11,
        tick_seconds: 1.0,
        markets: vec![market],
        protocol: cascade_framework::protocol::ProtocolParams {
            dynamic_maintenance: Some(cascade_framework::protocol::DynamicMaintenance {
                vol_ref: 0.000_05,
                sensitivity: 0.5,
                max_multiplier: 1.9,
                max_step: 0.02,
            }),
            ..Default::default()
        },
        recording: cascade_framework::record::RecordingParams::default(),
        index_correlation: None,
    };
    let mut sim = Simulation::new(params).unwrap();
    cascade_framework::presets::seed_leveraged(&mut sim, MarketId(0), 20_000);
    sim.index_seeded();
    for (move_ppm, side) in [(-30_000_i64, Side::Buy), (30_000, Side::Sell)] {
        {
            let mut markets = sim.world_mut().resource_mut::<Markets>();
            let m = &mut markets.0[0];
            m.set_maintenance_scale(cascade_framework::Ppm(1_600_000));
            m.mark = Price(m.index.price.0 + m.index.price.0 * move_ppm / 1_000_000);
        }
        let mut once = Vec::new();
        sim.world().resource::<Triggers>().candidates(MarketId(0), side, sim.markets(), &mut once);
        assert!(once.len() > 200, "{side:?}: {} candidates, more than a walk fetches at once", once.len());
        assert_eq!(walked(&mut sim, side), once, "{side:?}");
    }
}
