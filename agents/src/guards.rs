//! A leveraged trader's guards: stop-losses at round-number supports,
//! margin top-ups from a reserve, re-entry after a liquidation and trend
//! following while flat (the rules a population sets), each trader's
//! stop and top-up state, and the price levels its alarms are set at.

use crate::Dist;
use cascade_framework::core::units::round_to_i64;
use cascade_framework::{Micros, Price};
use serde::{Deserialize, Serialize};

/// Stop-losses at round-number supports.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct StopLoss {
    /// Share of traders who set one, in [0, 1].
    pub probability: f64,
    /// Distance from entry to stop, fraction of the entry price.
    pub distance: Dist,
    /// Stops are rounded away from the price to a multiple of this many
    /// ticks (the "support" grid), at least 1.
    pub round_to_ticks: i64,
}

/// Margin top-ups from a reserve.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TopUp {
    /// Act when the mark is within this fraction of the liquidation price.
    pub within: f64,
    /// Probability of topping up when the alarm fires, in [0, 1].
    pub probability: f64,
    /// Each top-up, as a multiple of the initial margin.
    pub amount: f64,
    /// The reserve, as a multiple of the initial margin.
    pub reserve: f64,
}

/// Re-entry after liquidation.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Reentry {
    /// Ticks to wait after the liquidation.
    pub delay_ticks: u64,
    /// Probability of re-entering once the delay has passed, in [0, 1].
    pub probability: f64,
    /// Most re-entries per trader.
    pub max_times: u32,
}

/// Trend following when flat.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Trend {
    /// Ticks of the return window, at least 1.
    pub lookback_ticks: u32,
    /// Absolute log return that counts as a trend.
    pub threshold: f64,
    /// Probability per tick of entering while the trend holds, in [0, 1].
    pub probability: f64,
}

/// A trader's stop-loss and top-up state.
#[derive(Debug, Default)]
pub struct Guards {
    /// Reserve left for top-ups, micros.
    pub reserve: Micros,
    /// Stop distance, if this trader uses stops.
    pub stop_distance: Option<f64>,
    /// Current stop level.
    pub stop: Option<Price>,
    /// Current top-up alarm level.
    pub top_up_at: Option<Price>,
}

/// The stop of a position entered at `entry` (ticks): `d` (fraction) away
/// from it, rounded away from the price to a multiple of `round_to` ticks.
pub fn stop_level(entry: f64, long: bool, d: f64, round_to: i64) -> Price {
    let r = round_to as f64;
    let level = if long { (entry * (1.0 - d) / r).floor() * r } else { (entry * (1.0 + d) / r).ceil() * r };
    Price(round_to_i64(level).max(1))
}

/// The price at which a trader with liquidation price `liquidation`
/// considers a top-up: `within` (fraction) before it.
pub fn top_up_level(liquidation: Price, long: bool, within: f64) -> Price {
    let l = liquidation.0 as f64;
    Price(round_to_i64(if long { l * (1.0 + within) } else { l * (1.0 - within) }).max(1))
}
