//! The index (fundamental) price process of a market, advanced in the
//! Exogenous phase: geometric Brownian motion with optional Poisson jumps, or
//! the replay of a given price series, plus scheduled shocks on top.
//!
//! For GBM with drift `mu` and volatility `sigma` (both annualised) and a
//! tick of `dt` years, the log price moves each tick by
//!
//! ```text
//! d ln S = (mu - sigma^2 / 2) dt + sigma sqrt(dt) Z + J,   Z ~ N(0, 1)
//! ```
//!
//! where `J` is the sum of `N ~ Poisson(lambda dt)` jumps, each
//! `N(jump_mean, jump_stdev^2)` in log terms. A shock "down X over N ticks"
//! multiplies the price by `(1 - X)^(1/N)` on each of its `N` ticks, so the
//! full shock compounds to exactly `1 - X` relative to the unshocked path.
//! The price is kept in floating point and rounded to whole ticks (at least
//! one) for everything else; only the rounded price is ever used for money.

use crate::core::error::ParamError;
use crate::core::rng::SimRng;
use crate::core::units::{Price, round_to_i64};
use rand_distr::{Distribution, Poisson, StandardNormal};
use serde::{Deserialize, Serialize};

/// Seconds in a year of 365 days, for annualised rates.
pub const SECONDS_PER_YEAR: f64 = 365.0 * 24.0 * 3600.0;

/// How the index moves between shocks.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum IndexProcess {
    /// Geometric Brownian motion with optional Poisson jumps.
    Gbm {
        /// Drift, annualised (0.05 = 5% a year).
        #[serde(default)]
        drift: f64,
        /// Volatility, annualised (0.8 = 80% a year).
        volatility: f64,
        /// Jumps; none when absent.
        #[serde(default)]
        jumps: Option<Jumps>,
    },
    /// Replays a price series, one price (ticks) per tick; the last price
    /// holds once the series runs out.
    Replay {
        /// Prices, ticks.
        prices: Vec<Price>,
    },
    /// The fundamental of another market, tick by tick: spot venues of the
    /// asset a perpetual is written on follow the perpetual's fundamental.
    /// It draws nothing, and takes no shocks of its own.
    Follow {
        /// Name of the market followed.
        market: String,
    },
}

/// Poisson jumps of the log price.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Jumps {
    /// Expected jumps per year.
    pub intensity: f64,
    /// Mean jump in log price (-0.05 is about a 5% drop).
    pub mean: f64,
    /// Standard deviation of a jump in log price.
    pub stdev: f64,
}

/// A scheduled move of the index: down `drop` (a fraction; negative for a
/// rise) spread geometrically over `over_ticks` ticks from `start_tick`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Shock {
    /// First tick of the shock.
    pub start_tick: u64,
    /// Total fractional drop, in (-inf, 1): 0.2 is down 20%.
    pub drop: f64,
    /// Number of ticks it is spread over, at least 1.
    #[serde(default = "one")]
    pub over_ticks: u64,
}

fn one() -> u64 {
    1
}

fn default_process() -> IndexProcess {
    IndexProcess::Gbm { drift: 0.0, volatility: 0.6, jumps: None }
}

/// Parameters of a market's index.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct IndexParams {
    /// Starting price, ticks.
    pub initial_price: Price,
    /// The process between shocks; GBM at 60% a year when absent.
    #[serde(default = "default_process")]
    pub process: IndexProcess,
    /// Scheduled shocks.
    #[serde(default)]
    pub shocks: Vec<Shock>,
}

impl IndexParams {
    /// The market followed, for [`IndexProcess::Follow`].
    pub fn followed(&self) -> Option<&str> {
        match &self.process {
            IndexProcess::Follow { market } => Some(market),
            _ => None,
        }
    }

    /// Checks the parameters; `field` prefixes error paths.
    pub fn validate(&self) -> Result<(), ParamError> {
        if self.initial_price.0 <= 0 {
            return Err(ParamError::invalid(
                "initial_price",
                format!("{} ticks: a price must be positive", self.initial_price),
            ));
        }
        match &self.process {
            IndexProcess::Gbm { drift, volatility, jumps } => {
                if !drift.is_finite() {
                    return Err(ParamError::invalid("process.drift", "must be finite"));
                }
                if !(volatility.is_finite() && *volatility >= 0.0) {
                    return Err(ParamError::invalid("process.volatility", "must be finite and non-negative"));
                }
                if let Some(j) = jumps {
                    if !(j.intensity.is_finite() && j.intensity >= 0.0) {
                        return Err(ParamError::invalid("process.jumps.intensity", "must be non-negative"));
                    }
                    if !(j.mean.is_finite() && j.stdev.is_finite() && j.stdev >= 0.0) {
                        return Err(ParamError::invalid("process.jumps", "mean must be finite, stdev non-negative"));
                    }
                }
            }
            IndexProcess::Follow { market } => {
                if market.trim().is_empty() {
                    return Err(ParamError::invalid("process.market", "name the market followed"));
                }
                if !self.shocks.is_empty() {
                    return Err(ParamError::invalid("shocks", "a market that follows another takes its shocks"));
                }
            }
            IndexProcess::Replay { prices } => {
                if prices.is_empty() {
                    return Err(ParamError::invalid("process.prices", "a replayed series needs at least one price"));
                }
                if let Some(i) = prices.iter().position(|p| p.0 <= 0) {
                    return Err(ParamError::invalid(format!("process.prices[{i}]"), "a price must be positive"));
                }
            }
        }
        for (i, s) in self.shocks.iter().enumerate() {
            if !(s.drop.is_finite() && s.drop < 1.0) {
                return Err(ParamError::invalid(
                    format!("shocks[{i}].drop"),
                    "must be below 1 (a drop of 100% or more leaves no price)",
                ));
            }
            if s.over_ticks == 0 {
                return Err(ParamError::invalid(format!("shocks[{i}].over_ticks"), "must be at least 1"));
            }
        }
        Ok(())
    }
}

/// The running state of an index: the fundamental process and, on top of
/// it, the impact of the market's own flow when a propagator couples them
/// (see [`crate::market::propagator`]).
#[derive(Clone, Debug)]
pub struct IndexState {
    params: IndexParams,
    /// Natural log of the unrounded fundamental.
    log_price: f64,
    /// Log impact of the market's flow on the index; zero without a
    /// propagator.
    log_impact: f64,
    /// The fundamental, ticks: the latent value the process describes.
    pub fundamental: Price,
    /// The index, ticks: the fundamental moved by the impact of flow, or
    /// what an oracle published.
    pub price: Price,
    /// Whether an oracle sets [`IndexState::price`] (then the process moves
    /// only the fundamental).
    pub oracle: bool,
    dt_years: f64,
    poisson: Option<Poisson<f64>>,
    rng: SimRng,
}

impl IndexState {
    /// The index at tick zero.
    pub fn new(params: IndexParams, tick_seconds: f64, rng: SimRng) -> IndexState {
        let dt_years = tick_seconds / SECONDS_PER_YEAR;
        let poisson = match &params.process {
            IndexProcess::Gbm { jumps: Some(j), .. } if j.intensity > 0.0 => Poisson::new(j.intensity * dt_years).ok(),
            _ => None,
        };
        IndexState {
            log_price: (params.initial_price.0 as f64).ln(),
            log_impact: 0.0,
            fundamental: params.initial_price,
            price: params.initial_price,
            oracle: false,
            params,
            dt_years,
            poisson,
            rng,
        }
    }

    /// Moves the index to tick `tick` (called once per tick, in order).
    pub fn advance(&mut self, tick: u64) {
        let z = self.draw_normal();
        self.advance_with(tick, z);
    }

    /// The standard normal draw of this tick's diffusion, from the index's
    /// own stream (zero for a replayed series, which draws nothing).
    pub fn draw_normal(&mut self) -> f64 {
        match self.params.process {
            IndexProcess::Gbm { .. } => StandardNormal.sample(&mut self.rng),
            IndexProcess::Replay { .. } | IndexProcess::Follow { .. } => 0.0,
        }
    }

    /// Moves the index to tick `tick` with diffusion shock `z` (standard
    /// normal, possibly correlated with other markets'); jumps and shocks
    /// are its own.
    pub fn advance_with(&mut self, tick: u64, z: f64) {
        match &self.params.process {
            IndexProcess::Gbm { drift, volatility, jumps } => {
                let dt = self.dt_years;
                let mut d = (drift - 0.5 * volatility * volatility) * dt + volatility * dt.sqrt() * z;
                if let (Some(poisson), Some(j)) = (&self.poisson, jumps) {
                    let n = round_to_i64(poisson.sample(&mut self.rng));
                    for _ in 0..n {
                        let zj: f64 = StandardNormal.sample(&mut self.rng);
                        d += j.mean + j.stdev * zj;
                    }
                }
                self.log_price += d;
            }
            IndexProcess::Replay { prices } => {
                let i = usize::try_from(tick).unwrap_or(usize::MAX).min(prices.len() - 1);
                let base = (prices[i].0 as f64).ln();
                // Shocks already applied stay applied on top of the series.
                let applied: f64 = self.shock_log_total(tick.saturating_sub(1));
                self.log_price = base + applied;
            }
            // Set by [`IndexState::follow`] after every market has moved.
            IndexProcess::Follow { .. } => {}
        }
        for s in &self.params.shocks {
            if tick >= s.start_tick && tick - s.start_tick < s.over_ticks {
                self.log_price += (1.0 - s.drop).ln() / s.over_ticks as f64;
            }
        }
        self.fundamental = to_price(self.log_price);
        if !self.oracle {
            self.price = to_price(self.log_price + self.log_impact);
        }
    }

    /// The market followed, for [`IndexProcess::Follow`].
    pub fn followed(&self) -> Option<&str> {
        self.params.followed()
    }

    /// Takes `fundamental` (ticks) as this market's fundamental, with this
    /// market's own impact on top.
    pub fn follow(&mut self, fundamental: Price) {
        self.log_price = (fundamental.0.max(1) as f64).ln();
        self.fundamental = fundamental;
        self.price = to_price(self.log_price + self.log_impact);
    }

    /// Sets the log impact of flow that the next [`advance_with`](Self::advance_with)
    /// puts on top of the fundamental.
    pub fn set_impact(&mut self, log_impact: f64) {
        self.log_impact = if log_impact.is_finite() { log_impact } else { 0.0 };
    }

    /// Sum of the log moves of all shocks up to and including `tick`.
    fn shock_log_total(&self, tick: u64) -> f64 {
        self.params
            .shocks
            .iter()
            .filter(|s| tick >= s.start_tick)
            .map(|s| {
                let n = (tick - s.start_tick + 1).min(s.over_ticks);
                (1.0 - s.drop).ln() * n as f64 / s.over_ticks as f64
            })
            .sum()
    }
}

/// A log price as whole ticks, at least one.
fn to_price(log_price: f64) -> Price {
    let rounded = log_price.exp();
    Price(if rounded.is_finite() { round_to_i64(rounded).max(1) } else { 1 })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::rng::{RunSeed, StreamKey};
    use crate::core::units::MarketId;

    fn state(process: IndexProcess, shocks: Vec<Shock>) -> IndexState {
        let params = IndexParams { initial_price: Price(10_000), process, shocks };
        params.validate().unwrap();
        IndexState::new(params, 60.0, RunSeed(1).stream(StreamKey::Index(MarketId(0))))
    }

    #[test]
    fn a_shock_compounds_to_its_full_drop() {
        let mut s = state(
            IndexProcess::Gbm { drift: 0.0, volatility: 0.0, jumps: None },
            vec![Shock { start_tick: 5, drop: 0.2, over_ticks: 10 }],
        );
        for t in 1..=4 {
            s.advance(t);
            assert_eq!(s.price, Price(10_000));
        }
        for t in 5..=14 {
            s.advance(t);
        }
        assert_eq!(s.price, Price(8_000));
        s.advance(15);
        assert_eq!(s.price, Price(8_000));
    }

    #[test]
    fn replay_follows_the_series_and_holds_the_last_price() {
        let prices = vec![Price(100), Price(105), Price(103)];
        let mut s = state(IndexProcess::Replay { prices }, vec![]);
        let got: Vec<i64> = (0..5)
            .map(|t| {
                s.advance(t);
                s.price.0
            })
            .collect();
        assert_eq!(got, vec![100, 105, 103, 103, 103]);
    }

    #[test]
    fn gbm_is_reproducible_and_moves() {
        let gbm = || IndexProcess::Gbm {
            drift: 0.0,
            volatility: 0.8,
            jumps: Some(Jumps { intensity: 50.0, mean: -0.02, stdev: 0.01 }),
        };
        let (mut a, mut b) = (state(gbm(), vec![]), state(gbm(), vec![]));
        let pa: Vec<Price> = (1..200)
            .map(|t| {
                a.advance(t);
                a.price
            })
            .collect();
        let pb: Vec<Price> = (1..200)
            .map(|t| {
                b.advance(t);
                b.price
            })
            .collect();
        assert_eq!(pa, pb);
        assert!(pa.iter().any(|p| *p != Price(10_000)));
    }

    #[test]
    fn invalid_parameters_name_the_field() {
        let p = IndexParams {
            initial_price: Price(-5),
            process: IndexProcess::Replay { prices: vec![Price(1)] },
            shocks: vec![],
        };
        assert!(matches!(p.validate(), Err(ParamError::Invalid { field, .. }) if field == "initial_price"));
        let p = IndexParams {
            initial_price: Price(5),
            process: IndexProcess::Gbm { drift: 0.0, volatility: 0.1, jumps: None },
            shocks: vec![Shock { start_tick: 0, drop: 1.0, over_ticks: 1 }],
        };
        assert!(matches!(p.validate(), Err(ParamError::Invalid { field, .. }) if field == "shocks[0].drop"));
    }
}
