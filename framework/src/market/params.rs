//! What defines a perpetual market: contract terms, the index process, the
//! mark rule, funding, fees, margin tiers and background depth, with their
//! validation, and the BTC-like defaults that every field falls back to.
//!
//! The BTC-like market has a tick of 0.1 quote, a lot of 0.001 base (so one
//! tick on one lot is 100 micros), a price of 60,000 quote, Binance-like
//! margin brackets, and one-second ticks.

use crate::core::error::ParamError;
use crate::core::units::{Lots, MAX_LOT_VALUE, MAX_MONEY, Micros, PPM, Ppm, Price};
use crate::market::depth::DepthProfile;
use crate::market::index::{IndexParams, IndexProcess, Shock};
use crate::market::margin::{MarginTiers, TierParams};
use crate::market::oracle::OracleParams;
use crate::market::propagator::PropagatorParams;
use serde::{Deserialize, Serialize};

/// How the mark price is formed.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum MarkMethod {
    /// The index.
    Index,
    /// The last trade (the index until the first trade).
    LastTrade,
    /// Median of funding-adjusted index, index plus average basis, and last
    /// trade.
    Median {
        /// Ticks in the moving average of the basis.
        basis_window: u32,
    },
}

/// Funding parameters.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct FundingParams {
    /// Ticks between funding payments; 0 turns funding off.
    pub interval_ticks: u64,
    /// Interest component per interval (ppm); 100 is 0.01%.
    pub interest: Ppm,
    /// Clamp on (interest − premium) (ppm).
    pub clamp: Ppm,
    /// Cap on the absolute funding rate per interval (ppm).
    pub cap: Ppm,
    /// Notional of the order whose average fill gives the impact bid and
    /// ask, micros.
    pub impact_notional: Micros,
}

impl Default for FundingParams {
    fn default() -> FundingParams {
        FundingParams {
            interval_ticks: 480,
            interest: Ppm(100),
            clamp: Ppm(500),
            cap: Ppm(7_500),
            impact_notional: Micros(10_000_000_000),
        }
    }
}

/// Trading fees.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct FeeParams {
    /// Fee on the maker's notional (ppm); negative is a rebate.
    pub maker: Ppm,
    /// Fee on the taker's notional (ppm).
    pub taker: Ppm,
}

impl Default for FeeParams {
    fn default() -> FeeParams {
        FeeParams { maker: Ppm(200), taker: Ppm(500) }
    }
}

/// A spot market: an order book in which the base asset is exchanged for
/// quote, fully funded, with no positions, margin or funding. One lot is
/// one base unit of `base`; every spot market of the same base shares the
/// same balances. Its mark is its last trade (its fundamental before the
/// first); `mark`, `funding` and `tiers` do not apply.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SpotParams {
    /// Name of the base asset, e.g. `BTC`.
    pub base: String,
    /// Base units the background liquidity provider holds at the start;
    /// it never lays more asks than it holds, nor bids it cannot pay for.
    #[serde(default)]
    pub provider_base: Lots,
    /// Make this venue a constant-product pool instead of an order book
    /// (see [`crate::market::amm`]). The market's provider account is the
    /// pool and holds the reserves; `depth` and `provider_base` then do not
    /// apply.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub amm: Option<AmmParams>,
}

/// The opening reserves and fee of a constant-product pool.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AmmParams {
    /// Base units in the pool at the start.
    pub base_reserve: Lots,
    /// Quote in the pool at the start, micros; the opening price is
    /// `quote_reserve / (base_reserve × tick_value)` ticks.
    pub quote_reserve: Micros,
    /// Fee on each swap's input, kept by the pool, ppm (3,000 = 0.3%).
    #[serde(default = "default_amm_fee")]
    pub fee: Ppm,
}

fn default_amm_fee() -> Ppm {
    Ppm(3_000)
}

/// Everything that defines a market. Every field defaults to the BTC-like
/// preset ([`btc_market`]), so a file need only give what
/// differs.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct MarketParams {
    /// Name, as written in frames.
    pub name: String,
    /// Quote value of one price tick per unit of the base asset, for
    /// display (0.1 means prices move in steps of 0.1 quote).
    pub tick_size: f64,
    /// Value of one price tick on one lot, micros; the contract multiplier.
    /// Notional of `q` lots at `p` ticks is `q × p × tick_value` micros.
    pub tick_value: Micros,
    /// The index process.
    pub index: IndexParams,
    /// Mark price rule.
    pub mark: MarkMethod,
    /// Funding.
    #[serde(default)]
    pub funding: FundingParams,
    /// Fees.
    #[serde(default)]
    pub fees: FeeParams,
    /// Margin tier table.
    pub tiers: Vec<TierParams>,
    /// Resting depth at the start, and how the background liquidity
    /// refreshes it.
    pub depth: DepthProfile,
    /// Depth is measured this many ticks from each best price.
    #[serde(default = "default_depth_band")]
    pub depth_band_ticks: i64,
    /// Ticks in the rolling window of realised volatility.
    #[serde(default = "default_vol_window")]
    pub vol_window: u32,
    /// Makes this a spot market (see [`SpotParams`]); a perpetual when
    /// absent.
    #[serde(default)]
    pub spot: Option<SpotParams>,
    /// Computes the index from spot venues (see [`crate::market::oracle`]);
    /// the index is the fundamental (with any propagator) when absent.
    #[serde(default)]
    pub oracle: Option<OracleParams>,
    /// Couples the index to the market's own signed flow (see
    /// [`crate::market::propagator`]); the index is the fundamental itself
    /// when absent.
    #[serde(default)]
    pub propagator: Option<PropagatorParams>,
}

fn default_depth_band() -> i64 {
    100
}

fn default_vol_window() -> u32 {
    30
}

impl Default for MarketParams {
    fn default() -> MarketParams {
        btc_market("BTC-PERP", vec![])
    }
}

impl MarketParams {
    /// Checks every field; errors carry the field path below the market.
    pub fn validate(&self) -> Result<MarginTiers, ParamError> {
        if !(self.tick_size.is_finite() && self.tick_size > 0.0) {
            return Err(ParamError::invalid("tick_size", "must be positive"));
        }
        if self.tick_value.0 <= 0 {
            return Err(ParamError::invalid("tick_value", format!("{} micros: must be positive", self.tick_value)));
        }
        self.index.validate().map_err(|e| e.within("index"))?;
        if i128::from(self.index.initial_price.0) * i128::from(self.tick_value.0) > MAX_LOT_VALUE {
            return Err(ParamError::invalid(
                "tick_value",
                "a lot at the initial price (initial_price × tick_value) is worth more than 2^40 micros; use a smaller tick value or price",
            ));
        }
        if let MarkMethod::Median { basis_window: 0 } = self.mark {
            return Err(ParamError::invalid("mark.basis_window", "must be at least 1"));
        }
        let f = &self.funding;
        if !(0..=PPM).contains(&f.clamp.0) || !(0..=PPM).contains(&f.cap.0) {
            return Err(ParamError::invalid("funding", "clamp and cap must be between 0 and 1,000,000 ppm (100%)"));
        }
        if !(-PPM..=PPM).contains(&f.interest.0) {
            return Err(ParamError::invalid("funding.interest", "must be between -1,000,000 and 1,000,000 ppm"));
        }
        if f.impact_notional.0 <= 0 {
            return Err(ParamError::invalid("funding.impact_notional", "must be positive"));
        }
        if !(0..=PPM).contains(&self.fees.taker.0) {
            return Err(ParamError::invalid("fees.taker", "must be between 0 and 1,000,000 ppm (100%)"));
        }
        if self.fees.maker.0 > PPM {
            return Err(ParamError::invalid("fees.maker", "must be at most 1,000,000 ppm (100%)"));
        }
        if self.fees.maker.0 + self.fees.taker.0 < 0 {
            return Err(ParamError::invalid("fees.maker", "a maker rebate larger than the taker fee would mint money"));
        }
        if self.depth_band_ticks < 0 {
            return Err(ParamError::invalid("depth_band_ticks", "must be non-negative"));
        }
        if self.vol_window < 2 {
            return Err(ParamError::invalid("vol_window", "must be at least 2"));
        }
        self.depth.validate().map_err(|e| e.within("depth"))?;
        self.depth_fits()?;
        if let Some(spot) = &self.spot {
            if spot.base.trim().is_empty() {
                return Err(ParamError::invalid("spot.base", "name the base asset"));
            }
            if !(0..=MAX_MONEY).contains(&spot.provider_base.0) {
                return Err(ParamError::invalid("spot.provider_base", "must be between 0 and 2^60 base units"));
            }
            if let Some(a) = &spot.amm {
                if a.base_reserve.0 < 1 || a.quote_reserve.0 < 1 {
                    return Err(ParamError::invalid("spot.amm.base_reserve", "both reserves must be positive"));
                }
                if a.base_reserve.0 > MAX_MONEY || a.quote_reserve.0 > MAX_MONEY {
                    return Err(ParamError::invalid("spot.amm.quote_reserve", "each reserve may be at most 2^60"));
                }
                if !(0..PPM).contains(&a.fee.0) {
                    return Err(ParamError::invalid("spot.amm.fee", "must be in [0, 1,000,000) ppm"));
                }
            }
        }
        if let Some(o) = &self.oracle {
            o.validate().map_err(|e| e.within("oracle"))?;
            if self.propagator.is_some() {
                return Err(ParamError::invalid("oracle", "an oracle index and a propagator exclude each other"));
            }
            if self.spot.is_some() {
                return Err(ParamError::invalid("oracle", "a spot market has no index to compute"));
            }
        }
        if let Some(p) = &self.propagator {
            p.validate().map_err(|e| e.within("propagator"))?;
        }
        MarginTiers::new(&self.tiers)
    }
}

impl MarketParams {
    /// The background ladder must fit the price and money bounds: its far
    /// level lies within the initial price of the centre, and the lots of a
    /// side are worth at most 2⁶⁰ micros at the initial price, so that
    /// every price and notional of the ladder stays far inside `i64`.
    fn depth_fits(&self) -> Result<(), ParamError> {
        let d = &self.depth;
        let far =
            i128::from(d.half_spread_ticks) + i128::from(d.levels.saturating_sub(1)) * i128::from(d.spacing_ticks);
        let price = i128::from(self.index.initial_price.0);
        if far > price {
            return Err(ParamError::invalid(
                "depth.spacing_ticks",
                format!(
                    "the ladder's far level is {far} ticks from the centre, more than the initial price ({price} ticks); \
                     use fewer levels or a smaller spacing"
                ),
            ));
        }
        let lot_value = (price * i128::from(self.tick_value.0)) as f64;
        let side: f64 = (0..d.levels).map(|k| d.level_lots(k)).sum();
        if side * lot_value > MAX_MONEY as f64 {
            return Err(ParamError::invalid(
                "depth.lots_at_best",
                format!(
                    "a side of the ladder holds {side:.3e} lots, worth more than 2^60 micros at the initial price; \
                     use fewer lots at best, a smaller growth or fewer levels"
                ),
            ));
        }
        Ok(())
    }
}

/// Binance-like BTC brackets: 0.4% to 50k quote, 0.5% to 250k, 1% to 1M,
/// 2.5% above, with initial rates for 125x, 100x, 50x and 20x.
pub fn btc_tiers() -> Vec<TierParams> {
    let q = |x: i64| Micros(x * 1_000_000);
    vec![
        TierParams { notional_floor: q(0), maintenance_rate: Ppm(4_000), initial_rate: Ppm(8_000) },
        TierParams { notional_floor: q(50_000), maintenance_rate: Ppm(5_000), initial_rate: Ppm(10_000) },
        TierParams { notional_floor: q(250_000), maintenance_rate: Ppm(10_000), initial_rate: Ppm(20_000) },
        TierParams { notional_floor: q(1_000_000), maintenance_rate: Ppm(25_000), initial_rate: Ppm(50_000) },
    ]
}

/// A BTC-like market at 60,000 quote with a background book, GBM index at
/// 60% annual volatility, and the given shocks.
pub fn btc_market(name: &str, shocks: Vec<Shock>) -> MarketParams {
    MarketParams {
        name: name.to_owned(),
        tick_size: 0.1,
        tick_value: Micros(100),
        index: IndexParams {
            initial_price: Price(600_000),
            process: IndexProcess::Gbm { drift: 0.0, volatility: 0.6, jumps: None },
            shocks,
        },
        mark: MarkMethod::Median { basis_window: 60 },
        funding: FundingParams { interval_ticks: 480, ..FundingParams::default() },
        fees: FeeParams::default(),
        tiers: btc_tiers(),
        depth: DepthProfile {
            half_spread_ticks: 5,
            levels: 150,
            spacing_ticks: 100,
            lots_at_best: 100,
            growth: 1.02,
            growth_lots: 0,
            resilience: 0.0,
            refresh_ticks: 15,
            anchor: crate::market::depth::DepthAnchor::Index,
            anchor_half_life: None,
            provider_collateral: Micros(1_000_000_000_000_000),
        },
        depth_band_ticks: 1_000,
        vol_window: 30,
        spot: None,
        oracle: None,
        propagator: None,
    }
}
