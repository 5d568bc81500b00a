//! Small worlds for the framework's own tests: the hand-computed cascade
//! of four traders that the mechanisms' tests start from, and helpers.
//!
//! The cascade has four traders with hand-computed liquidation prices, one
//! shock, and exactly the expected liquidations, rounds and bad debt.
//!
//! Market: 1 micro per tick-lot, maintenance 5%, penalty 1%, mark = last
//! trade. Each trader is long 10 lots from 1,000 under cross margin with
//! collateral C, so equity(P) = C − 10,000 + 10 P and it is liquidatable
//! when equity < 0.05 × 10 P, i.e. when 9.5 P < 10,000 − C:
//!
//! | trader | C     | liquidation price |
//! |--------|-------|-------------------|
//! | A      | 690   | 979 (P < 980)     |
//! | B      | 737   | 975               |
//! | C      | 879   | 960               |
//! | D      | 1,900 | 852               |
//!
//! A bidder rests 10 lots at each of 999, 989, 979, 969, 959 and 20 at 800.
//! At tick 1 a seller sells 25 at market: 10@999, 10@989, 5@979, so the mark
//! is 979 and the cascade runs:
//!
//! - round 0: A (979 ≥ 979) sells 5@979, 5@969: avg 974, loss 260, pool 430,
//!   penalty ⌈97.4⌉ = 98. Mark 969.
//! - round 1: B sells 5@969, 5@959: avg 964, loss 360, pool 377, penalty 97.
//!   Mark 959.
//! - round 2: C sells 5@959, 5@800: loss 1,205, pool −326: bad debt 326, no
//!   penalty. Mark 800.
//! - round 3: D sells 10@800: loss 2,000, pool −100: bad debt 100.
//!
//! The fund starts at 100, gains 98 + 97 = 295, pays 295 of C's 326 (31
//! uncovered) and none of D's 100 (100 uncovered).

pub use crate::accounts::ledger::{AccountKind, AccountSpec, MarginMode};
pub use crate::core::units::{AccountId, Lots, MarketId, Micros, Ppm, Price, Side};
pub use crate::engine::presets::{hand_market, hand_params, hand_trader as trader};
pub use crate::engine::{SimParams, Simulation};
pub use crate::exchange::sequencer::{OrderQueue, Priority};
pub use crate::market::book::OrderKind;

/// Total value and what was put in, which must be equal.
pub fn assert_conserved(sim: &Simulation) {
    let (value, put_in) = sim.value_balance();
    assert_eq!(value, put_in, "value is not conserved at tick {}", sim.tick());
}

/// The cascade of the module docs up to the shock, with `protocol` changed by `tweak`.
pub fn shocked(tweak: impl Fn(&mut crate::protocol::ProtocolParams)) -> (Simulation, [AccountId; 6]) {
    let mut params = hand_params(100);
    tweak(&mut params.protocol);
    let mut sim = Simulation::new(params).unwrap();
    let m = MarketId(0);
    let a = trader(&mut sim, "A", MarginMode::Cross, 690);
    let b = trader(&mut sim, "B", MarginMode::Cross, 737);
    let c = trader(&mut sim, "C", MarginMode::Cross, 879);
    let d = trader(&mut sim, "D", MarginMode::Cross, 1_900);
    for t in [a, b, c, d] {
        sim.seed_position(t, m, Lots(10), Price(1_000)).unwrap();
    }
    let bidder = trader(&mut sim, "bidder", MarginMode::Cross, 1_000_000_000);
    let seller = trader(&mut sim, "seller", MarginMode::Cross, 1_000_000_000);
    {
        let mut q = sim.world_mut().resource_mut::<OrderQueue>();
        for (p, n) in [(999, 10), (989, 10), (979, 10), (969, 10), (959, 10), (800, 20)] {
            q.place(Priority::NORMAL, bidder, m, Side::Buy, Lots(n), OrderKind::Limit { price: Price(p) });
        }
    }
    sim.step();
    sim.world_mut().resource_mut::<OrderQueue>().place(
        Priority::NORMAL,
        seller,
        m,
        Side::Sell,
        Lots(25),
        OrderKind::Market,
    );
    sim.step();
    assert_conserved(&sim);
    (sim, [a, b, c, d, bidder, seller])
}
