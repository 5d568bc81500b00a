//! The tick's liquidation log: every event in execution order and the
//! per-market totals, written by the round loop and the mechanisms, read by
//! the recorder and by agents that react to liquidations.

use crate::core::event::LiquidationEvent;
use crate::core::units::Micros;
use bevy_ecs::prelude::*;

/// Per-market liquidation totals of one tick.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LiquidationTotals {
    /// Positions closed.
    pub count: u64,
    /// Notional of longs closed, micros.
    pub long_notional: Micros,
    /// Notional of shorts closed, micros.
    pub short_notional: Micros,
    /// Bad debt created, micros.
    pub bad_debt: Micros,
    /// Profits taken by socialised loss, micros.
    pub socialized: Micros,
    /// Liquidations put off to the next tick by the cap.
    pub throttled: u64,
    /// Dutch auctions running at the end of the tick.
    pub auctions_open: u64,
    /// The gas price of an auction take under keeper congestion after the
    /// tick, micros (the same in every market; 0 without congestion).
    pub gas_price: Micros,
}

/// This tick's liquidations, read by the recorder.
#[derive(Resource, Clone, Debug, Default)]
pub struct TickLiquidations {
    /// Events, in execution order.
    pub events: Vec<LiquidationEvent>,
    /// Rounds that closed at least one position.
    pub rounds: u32,
    /// Totals per market.
    pub totals: Vec<LiquidationTotals>,
}

impl TickLiquidations {
    /// Empties the log for a tick of `n_markets` markets.
    pub fn clear(&mut self, n_markets: usize) {
        self.events.clear();
        self.rounds = 0;
        self.totals.clear();
        self.totals.resize(n_markets, LiquidationTotals::default());
    }
}
