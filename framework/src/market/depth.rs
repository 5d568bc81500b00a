//! The shape of background depth: a [`DepthProfile`] lays `levels` bids and
//! asks around a centre price. Level `k` (from 0) sits
//! `half_spread_ticks + k × spacing_ticks` from the centre and holds
//!
//! ```text
//! lots(k) = max(1, round(lots_at_best × growth^k)) + k × growth_lots
//! ```
//!
//! lots: `growth` above 1 thickens the book geometrically, and
//! `growth_lots` linearly. A flat profile (`growth: 1`, `growth_lots: 0`)
//! is a constant density, whose static impact is linear in the size
//! traded; a linear one (`growth: 1`, `growth_lots: g`) is the locally
//! linear "latent" book of Tóth et al. (2011), whose impact is the square
//! root of the size. Who lays it, and when, and how fast it refills
//! (`resilience`), is the background liquidity provider's business
//! ([`crate::exchange::liquidity`]). Where the profile is centred is its
//! [`DepthAnchor`]: the market's index (for a spot venue, the latent
//! fundamental), or a price that traders see, the venue's own mid or last
//! trade, optionally averaged with a half-life.

use crate::core::error::ParamError;
use crate::core::units::{Lots, MAX_MONEY, Micros, Price, Side, round_to_i64};
use serde::{Deserialize, Serialize};

/// The price that background depth is centred on.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum DepthAnchor {
    /// The market's index: the oracle index of a perpetual that has one,
    /// otherwise the latent fundamental (with any propagator). A provider
    /// anchored here knows the value that no trader sees, and is a floor
    /// under every fall: kept for comparisons and for older files.
    #[default]
    Index,
    /// The venue's own mid, `(best bid + best ask) / 2`, every order
    /// included; unchanged while a side is empty.
    Mid,
    /// The venue's last trade; the index until the first trade.
    LastTrade,
}

/// The shape of resting depth around a centre price.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct DepthProfile {
    /// Ticks from the centre to the best bid and to the best ask.
    pub half_spread_ticks: i64,
    /// Levels per side; 0 leaves the book empty.
    pub levels: u32,
    /// Ticks between adjacent levels.
    pub spacing_ticks: i64,
    /// Lots at the best level.
    pub lots_at_best: i64,
    /// Size ratio from one level to the next: 1 is flat, above 1 thickens
    /// away from the centre.
    pub growth: f64,
    /// Lots added per level away from the best: level `k` holds `k ×
    /// growth_lots` more.
    #[serde(default, skip_serializing_if = "is_zero_lots")]
    pub growth_lots: i64,
    /// Obizhaeva–Wang resilience: the fraction `ρ` (0 to 1) of each side's
    /// shortfall from the profile, around the current anchor, that the
    /// provider puts back every tick, far levels first around the index and
    /// near levels first around an observed anchor (see
    /// [`crate::exchange::liquidity`]). 0 (the default) refills only at the
    /// periodic refresh.
    #[serde(default, skip_serializing_if = "is_zero_rate")]
    pub resilience: f64,
    /// Ticks between refreshes around the anchor; 0 never refreshes.
    pub refresh_ticks: u64,
    /// What the profile is centred on: `index` (the default: for a spot
    /// venue, the latent fundamental), `mid` or `last_trade` (prices that
    /// traders see).
    #[serde(default, skip_serializing_if = "is_index")]
    pub anchor: DepthAnchor,
    /// Half-life, in ticks (> 0), of the exponential moving average of the
    /// observed `mid` or `last_trade` that the profile is centred on;
    /// absent, the profile follows the observation itself. Not allowed with
    /// `anchor: index`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub anchor_half_life: Option<f64>,
    /// Collateral of the provider account, micros.
    pub provider_collateral: Micros,
}

impl Default for DepthProfile {
    fn default() -> DepthProfile {
        DepthProfile {
            half_spread_ticks: 5,
            levels: 50,
            spacing_ticks: 10,
            lots_at_best: 50,
            growth: 1.05,
            growth_lots: 0,
            resilience: 0.0,
            refresh_ticks: 10,
            anchor: DepthAnchor::Index,
            anchor_half_life: None,
            provider_collateral: Micros(1_000_000_000_000_000),
        }
    }
}

impl DepthProfile {
    /// Checks the profile.
    pub fn validate(&self) -> Result<(), ParamError> {
        if self.half_spread_ticks < 1 {
            return Err(ParamError::invalid("half_spread_ticks", "must be at least 1, or bids and asks would cross"));
        }
        if self.spacing_ticks < 1 {
            return Err(ParamError::invalid("spacing_ticks", "must be at least 1"));
        }
        if self.lots_at_best < 0 {
            return Err(ParamError::invalid("lots_at_best", "must be non-negative"));
        }
        if !(self.growth.is_finite() && self.growth > 0.0) {
            return Err(ParamError::invalid("growth", "must be positive"));
        }
        if !(0..=1_000_000_000).contains(&self.growth_lots) {
            return Err(ParamError::invalid("growth_lots", "must be between 0 and 1,000,000,000 lots"));
        }
        if !(self.resilience.is_finite() && (0.0..=1.0).contains(&self.resilience)) {
            return Err(ParamError::invalid("resilience", "must be a fraction between 0 and 1"));
        }
        if !(0..=MAX_MONEY).contains(&self.provider_collateral.0) {
            return Err(ParamError::invalid("provider_collateral", "must be between 0 and 2^60 micros"));
        }
        if let Some(h) = self.anchor_half_life {
            if !(h.is_finite() && h > 0.0) {
                return Err(ParamError::invalid("anchor_half_life", "must be a positive number of ticks"));
            }
            if self.anchor == DepthAnchor::Index {
                return Err(ParamError::invalid(
                    "anchor_half_life",
                    "averages an observed price: set anchor to mid or last_trade, or leave it out",
                ));
            }
        }
        if self.levels > 100_000 {
            return Err(ParamError::invalid("levels", "at most 100,000 levels a side"));
        }
        Ok(())
    }

    /// The weight `α = 1 − 2^(−1/h)` of a new observation in the anchor's
    /// moving average of half-life `h` ticks; 1 without averaging.
    pub fn anchor_weight(&self) -> f64 {
        self.anchor_half_life.map_or(1.0, |h| 1.0 - 0.5_f64.powf(1.0 / h))
    }

    /// The lots of level `k` (0 is the best), as a float for bounds; 0
    /// when the profile has no lots at best.
    pub fn level_lots(&self, k: u32) -> f64 {
        if self.lots_at_best == 0 {
            return 0.0;
        }
        self.geometric_lots(k).round().max(1.0) + f64::from(k) * self.growth_lots as f64
    }

    /// `lots_at_best × growth^k`, before rounding.
    fn geometric_lots(&self, k: u32) -> f64 {
        self.lots_at_best as f64 * self.growth.powi(i32::try_from(k).unwrap_or(i32::MAX))
    }

    /// The orders of the profile around `centre`: (side, price, lots),
    /// best levels first.
    pub fn orders(&self, centre: Price) -> Vec<(Side, Price, Lots)> {
        let mut out = Vec::with_capacity(2 * self.levels as usize);
        if self.lots_at_best == 0 {
            return out;
        }
        for k in 0..self.levels {
            let offset = self.half_spread_ticks + i64::from(k) * self.spacing_ticks;
            let lots = Lots(round_to_i64(self.geometric_lots(k)).max(1) + i64::from(k) * self.growth_lots);
            if centre.0 - offset > 0 {
                out.push((Side::Buy, Price(centre.0 - offset), lots));
            }
            out.push((Side::Sell, Price(centre.0 + offset), lots));
        }
        out
    }
}

#[allow(clippy::trivially_copy_pass_by_ref, reason = "serde's skip_serializing_if passes a reference")]
fn is_index(a: &DepthAnchor) -> bool {
    *a == DepthAnchor::Index
}

#[allow(clippy::trivially_copy_pass_by_ref, reason = "serde's skip_serializing_if passes a reference")]
fn is_zero_lots(n: &i64) -> bool {
    *n == 0
}

#[allow(clippy::trivially_copy_pass_by_ref, reason = "serde's skip_serializing_if passes a reference")]
fn is_zero_rate(x: &f64) -> bool {
    *x == 0.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn profile_levels_and_sizes() {
        let p = DepthProfile {
            half_spread_ticks: 2,
            levels: 3,
            spacing_ticks: 5,
            lots_at_best: 10,
            growth: 2.0,
            ..DepthProfile::default()
        };
        let o = p.orders(Price(100));
        assert_eq!(
            o,
            vec![
                (Side::Buy, Price(98), Lots(10)),
                (Side::Sell, Price(102), Lots(10)),
                (Side::Buy, Price(93), Lots(20)),
                (Side::Sell, Price(107), Lots(20)),
                (Side::Buy, Price(88), Lots(40)),
                (Side::Sell, Price(112), Lots(40)),
            ]
        );
    }

    #[test]
    fn a_linear_profile_adds_growth_lots_per_level() {
        let p = DepthProfile {
            half_spread_ticks: 1,
            levels: 3,
            spacing_ticks: 1,
            lots_at_best: 4,
            growth: 1.0,
            growth_lots: 6,
            ..DepthProfile::default()
        };
        let asks: Vec<_> = p.orders(Price(100)).into_iter().filter(|o| o.0 == Side::Sell).collect();
        assert_eq!(
            asks,
            vec![
                (Side::Sell, Price(101), Lots(4)),
                (Side::Sell, Price(102), Lots(10)),
                (Side::Sell, Price(103), Lots(16))
            ]
        );
    }
}
