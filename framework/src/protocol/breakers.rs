//! Circuit breakers: trading halts in a market for `halt_ticks` when its
//! mark has moved by `move_fraction` or more within `window_ticks`. While a
//! market is halted its orders are not executed (cancels are), its
//! background depth is not refreshed, and no one is liquidated in it.
//!
//! The check runs once per tick, after the liquidations; the halt starts
//! with the next tick. The halt itself is market state
//! ([`Market::halt`](crate::market::Market::halt)), which the exchange
//! reads; this mechanism's hook keeps the Liquidate phase out of halted
//! markets.

use crate::core::clock::Clock;
use crate::core::event::{EventKind, LiquidationEvent};
use crate::core::units::{AccountId, Lots, MarketId, Side};
use crate::market::Markets;
use crate::protocol::hooks::{Cx, Mechanism};
use crate::protocol::log::TickLiquidations;
use bevy_ecs::prelude::*;
use serde::{Deserialize, Serialize};

/// One level of circuit breaker: halt trading for `halt_ticks` when the
/// mark has moved by `move_fraction` or more within `window_ticks`
/// (measured as (high − low) / high over the last `window_ticks + 1`
/// marks). With several levels, the largest move reached decides.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct BreakerBand {
    /// Move that trips the breaker, fraction (0.07 = 7%).
    pub move_fraction: f64,
    /// Ticks the move is measured over, at least 1.
    pub window_ticks: u64,
    /// Ticks trading stays halted, at least 1.
    pub halt_ticks: u64,
}

/// The breakers' hook: no liquidations in a halted market.
#[derive(Clone, Copy, Debug, Default)]
pub struct Breakers;

impl Mechanism for Breakers {
    fn name(&self) -> &'static str {
        "breakers"
    }

    fn market_open(&self, cx: &Cx<'_>, market: MarketId) -> bool {
        !cx.markets.get(market).is_halted(cx.tick)
    }
}

/// The circuit breakers' bands, as the protocol's settings give them: the
/// resource [`check_breakers`] reads.
#[derive(Resource, Clone, Debug, Default)]
pub struct BreakerBands(pub Vec<BreakerBand>);

/// Liquidate-phase system, after the liquidations: trips circuit breakers
/// on the tick's marks and lifts halts that have run their course.
pub fn check_breakers(
    clock: Res<Clock>,
    bands: Res<BreakerBands>,
    mut markets: ResMut<Markets>,
    mut log: ResMut<TickLiquidations>,
) {
    let bands = &bands.0;
    if bands.is_empty() {
        return;
    }
    let longest = bands.iter().map(|b| b.window_ticks).max().unwrap_or(0);
    for m in &mut markets.0 {
        if let Some((_, until)) = m.halt {
            if clock.tick < until {
                continue;
            }
            // The window starts again when trading resumes.
            m.halt = None;
            m.breaker_marks.clear();
        }
        m.breaker_marks.push_back(m.mark);
        while m.breaker_marks.len() as u64 > longest.saturating_add(1) {
            m.breaker_marks.pop_front();
        }
        let tripped = bands
            .iter()
            .filter(|b| {
                let n = m.breaker_marks.len();
                let span = usize::try_from(b.window_ticks).unwrap_or(usize::MAX).saturating_add(1);
                let window = m.breaker_marks.iter().skip(n.saturating_sub(span));
                let (lo, hi) = window.fold((i64::MAX, 0_i64), |(lo, hi), p| (lo.min(p.0), hi.max(p.0)));
                hi > 0 && (hi - lo) as f64 / hi as f64 >= b.move_fraction
            })
            .max_by(|a, b| a.move_fraction.total_cmp(&b.move_fraction));
        if let Some(band) = tripped {
            m.halt = Some((clock.tick + 1, (clock.tick + 1).saturating_add(band.halt_ticks)));
            m.breaker_marks.clear();
            let halt = Lots(i64::try_from(band.halt_ticks).unwrap_or(i64::MAX));
            log.events.push(LiquidationEvent::new(
                EventKind::Halt,
                clock.tick,
                0,
                AccountId(0),
                m.id,
                Side::Sell,
                halt,
                m.mark,
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::engine::testing::*;

    #[test]
    fn a_breaker_halts_at_the_crossing_tick_and_resumes_on_time() {
        use crate::market::MarkMethod;
        use crate::market::index::IndexProcess;
        use crate::protocol::BreakerBand;
        // The index (and so the mark) falls 10% at tick 5; a 5%-in-3-ticks band
        // trips at tick 5 and halts ticks 6 to 9; trading resumes at tick 10.
        let mut params = hand_params(0);
        let prices = [1_000, 1_000, 1_000, 1_000, 1_000, 900, 900, 900, 900, 900, 900, 900];
        params.markets[0].index.process = IndexProcess::Replay { prices: prices.iter().map(|p| Price(*p)).collect() };
        params.markets[0].mark = MarkMethod::Index;
        params.protocol.breakers = vec![
            BreakerBand { move_fraction: 0.05, window_ticks: 3, halt_ticks: 4 },
            BreakerBand { move_fraction: 0.20, window_ticks: 3, halt_ticks: 100 },
        ];
        let mut sim = Simulation::new(params).unwrap();
        let m = MarketId(0);
        let maker = trader(&mut sim, "maker", MarginMode::Cross, 1_000_000_000);
        let taker = trader(&mut sim, "taker", MarginMode::Cross, 1_000_000_000);
        sim.world_mut().resource_mut::<OrderQueue>().place(
            Priority::NORMAL,
            maker,
            m,
            Side::Sell,
            Lots(10),
            OrderKind::Limit { price: Price(905) },
        );
        sim.run(7);
        // Tick 7 is halted: a crossing order does not trade.
        sim.world_mut().resource_mut::<OrderQueue>().place(
            Priority::NORMAL,
            taker,
            m,
            Side::Buy,
            Lots(1),
            OrderKind::Market,
        );
        sim.run(3);
        assert_eq!(sim.ledger().account(taker).qty(m), Lots(0));
        // Tick 10 trades again.
        sim.world_mut().resource_mut::<OrderQueue>().place(
            Priority::NORMAL,
            taker,
            m,
            Side::Buy,
            Lots(1),
            OrderKind::Market,
        );
        sim.run(2);
        assert_eq!(sim.ledger().account(taker).qty(m), Lots(1));
        assert_conserved(&sim);
        let out = sim.finish().unwrap();
        let halted: Vec<bool> =
            out.ticks.column("halted").unwrap().bool().unwrap().iter().map(|h| h.unwrap()).collect();
        let want: Vec<bool> = (0..12).map(|t| (6..=9).contains(&t)).collect();
        assert_eq!(halted, want);
        let kinds: Vec<String> =
            out.events.column("kind").unwrap().str().unwrap().iter().map(|k| k.unwrap().to_owned()).collect();
        let ticks: Vec<u64> = out.events.column("tick").unwrap().u64().unwrap().into_no_null_iter().collect();
        assert_eq!((kinds, ticks), (vec!["halt".to_owned()], vec![5]));
    }
}
