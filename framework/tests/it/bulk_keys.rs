//! Seeding in bulk builds the same trigger index as seeding one position at
//! a time, including an account seeded in two batches.

use cascade_framework::accounts::ledger::MarginMode;
use cascade_framework::accounts::triggers::Triggers;
use cascade_framework::presets::{hand_params, hand_trader};
use cascade_framework::{AccountId, Lots, MarketId, Price, Side, Simulation};

type Index = (usize, Vec<AccountId>, Vec<AccountId>, Vec<(i64, i64, i64)>, i64);

/// The keyed count, the candidates of both sides, the heatmap and the long
/// notional keyed at any price, once pending keys are in.
fn index_of(sim: &mut Simulation) -> Index {
    sim.world_mut().resource_mut::<Triggers>().flush();
    let triggers = sim.world().resource::<Triggers>();
    let (mut longs, mut shorts) = (Vec::new(), Vec::new());
    triggers.candidates(MarketId(0), Side::Buy, sim.markets(), &mut longs);
    triggers.candidates(MarketId(0), Side::Sell, sim.markets(), &mut shorts);
    let heat = triggers.markets[0].heatmap().map(|(p, l, s)| (p.0, l.0, s.0)).collect();
    let notional = triggers.markets[0].notional_between(Side::Buy, Price(0), Price(1_000_000)).0;
    (triggers.markets[0].len(), longs, shorts, heat, notional)
}

#[test]
fn bulk_seeding_builds_the_same_index_as_one_by_one() {
    // 40 traders, longs and shorts with entries around 1,000 and
    // collateral from 300 to 690, so that some are near their triggers.
    let positions = |sim: &mut Simulation| -> Vec<(AccountId, MarketId, Lots, Price)> {
        (0..40)
            .map(|i| {
                let t = hand_trader(sim, &format!("t{i}"), MarginMode::Cross, 300 + 10 * i);
                let qty = if i % 3 == 0 { Lots(-(5 + i)) } else { Lots(5 + i) };
                (t, MarketId(0), qty, Price(990 + i % 7 * 5))
            })
            .collect()
    };
    let mut one = Simulation::new(hand_params(0)).unwrap();
    for (a, m, q, p) in positions(&mut one) {
        one.seed_position(a, m, q, p).unwrap();
    }
    one.seed_position(AccountId(3), MarketId(0), Lots(4), Price(1_000)).unwrap();
    let mut bulk = Simulation::new(hand_params(0)).unwrap();
    let all = positions(&mut bulk);
    bulk.seed_positions(&all[..25]).unwrap();
    bulk.seed_positions(&all[25..]).unwrap();
    // Account 3 again, in a later batch: its first pending key is stale.
    bulk.seed_positions(&[(AccountId(3), MarketId(0), Lots(4), Price(1_000))]).unwrap();
    let (a, b) = (index_of(&mut one), index_of(&mut bulk));
    assert_eq!(a.0, 40, "every trader is keyed once");
    assert_eq!(a, b);
    // And the runs go on the same way.
    for _ in 0..5 {
        one.step();
        bulk.step();
    }
    let liquidated = |s: &Simulation| s.ledger().accounts.iter().map(|a| a.liquidated_at()).collect::<Vec<_>>();
    assert_eq!(liquidated(&one), liquidated(&bulk));
}
