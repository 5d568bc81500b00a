//! The liquidation cap: at most `liquidation_cap` micros of notional are
//! liquidated per market per tick. A liquidation starts only while the
//! market's total for the tick is below the cap, and is then completed, so
//! a tick ends above the cap by at most one account's positions; accounts
//! put off wait for the next tick and are counted in the `throttled`
//! column of `ticks`.

use crate::core::units::{AccountId, MarketId, Micros};
use crate::protocol::hooks::{Cx, Mechanism};

/// The cap's hook.
#[derive(Clone, Copy, Debug)]
pub struct LiquidationCap {
    /// Notional per market per tick, micros.
    pub cap: Micros,
}

impl Mechanism for LiquidationCap {
    fn name(&self) -> &'static str {
        "liquidation_cap"
    }

    fn admit(&mut self, cx: &mut Cx<'_>, _account: AccountId, market: MarketId) -> bool {
        let t = &mut cx.log.totals[market.idx()];
        if t.long_notional.0 + t.short_notional.0 >= self.cap.0 {
            t.throttled += 1;
            return false;
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use crate::engine::testing::*;

    #[test]
    fn a_liquidation_cap_puts_accounts_off_to_the_next_tick() {
        // A's close (9,740 of notional) reaches the 9,000 cap, so B, due in the
        // next round at 969, waits for tick 2.
        let (mut sim, [a, b, ..]) = shocked(|p| p.liquidation_cap = Some(Micros(9_000)));
        assert_eq!(sim.ledger().account(a).liquidated_at(), Some(1));
        assert_eq!(sim.ledger().account(b).liquidated_at(), None);
        sim.step();
        assert_eq!(sim.ledger().account(b).liquidated_at(), Some(2));
        assert_conserved(&sim);
        let out = sim.finish().unwrap();
        let throttled: Vec<u64> = out.ticks.column("throttled").unwrap().u64().unwrap().into_no_null_iter().collect();
        assert!(throttled[1] >= 1, "{throttled:?}");
    }
}
