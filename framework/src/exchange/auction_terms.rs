//! An auction's terms: how its price falls from the mark ([`Decay`], the
//! schedule of [`AuctionParams::price`]), when it resets, its keeper
//! reward and deadline, and the congestion of keepers' bids for block
//! space ([`Congestion`], EIP-1559 in integer micros). The auction house
//! ([`crate::exchange::auction`]) runs auctions on these terms; its module
//! docs give the formulas.

use crate::core::error::ParamError;
use crate::core::units::{Micros, PPM, Ppm, Price, Side, div_ceil, narrow};
use serde::{Deserialize, Serialize};

/// How the auction price falls between resets.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Decay {
    /// `f(t) = cut^floor(t / step_ticks)`: Maker's `StairstepExponentialDecrease`.
    Stepwise {
        /// Ticks between steps, at least 1.
        step_ticks: u64,
        /// Factor per step (ppm; 990,000 = 0.99).
        cut: Ppm,
    },
    /// `f(t) = max(0, 1 − t / tau_ticks)`: Maker's `LinearDecrease`.
    Linear {
        /// Ticks until the price reaches zero, at least 1.
        tau_ticks: u64,
    },
}

/// Parameters of the Dutch auction (see the module docs for the formulas).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct AuctionParams {
    /// Start price over the mark at the kick (ppm; 1,050,000 = 1.05).
    pub buf: Ppm,
    /// How the price falls.
    pub decay: Decay,
    /// Ticks after which the auction is reset; never when absent.
    pub tail: Option<u64>,
    /// Reset when `f(t)` falls below this (ppm); 0: never.
    pub cusp: Ppm,
    /// Flat keeper reward per kick and reset, micros.
    pub tip: Micros,
    /// Keeper reward per unit of tab (ppm).
    pub chip: Ppm,
    /// Lowest price, as a fraction of the mark at the kick (ppm); 0: the
    /// price may reach zero.
    pub floor: Ppm,
    /// Ticks after the kick when an auction that has not sold out sells
    /// the rest into the book (see the module docs); never when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deadline_ticks: Option<u64>,
    /// Limited block space for bids (see the module docs); unlimited when
    /// absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub congestion: Option<Congestion>,
}

/// Block space shared by all keepers' bids, priced by EIP-1559.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Congestion {
    /// Most takes carried out a tick.
    pub capacity: u32,
    /// Takes a tick at which the gas price holds still.
    pub target: u32,
    /// Lowest gas price, and the first, micros per take.
    pub base_gas: Micros,
    /// Largest change of the gas price a tick, as a fraction (ppm;
    /// EIP-1559's 125,000 = 1/8).
    #[serde(default = "eip_1559")]
    pub adjustment: Ppm,
}

fn eip_1559() -> Ppm {
    Ppm(125_000)
}

impl Congestion {
    /// Checks the parameters.
    pub fn validate(&self) -> Result<(), ParamError> {
        if self.capacity == 0 || self.capacity > 1_000_000 {
            return Err(ParamError::invalid("auction.congestion.capacity", "must be between 1 and 1,000,000 takes"));
        }
        if self.target == 0 || self.target > self.capacity {
            return Err(ParamError::invalid("auction.congestion.target", "must be between 1 and the capacity"));
        }
        if !(1..=crate::core::units::MAX_MONEY).contains(&self.base_gas.0) {
            return Err(ParamError::invalid("auction.congestion.base_gas", "must be between 1 and 2^60 micros"));
        }
        if !(0..=PPM).contains(&self.adjustment.0) {
            return Err(ParamError::invalid("auction.congestion.adjustment", "must be between 0 and 1,000,000 ppm"));
        }
        Ok(())
    }

    /// The gas price after a tick at `gas` that carried `used` takes.
    pub fn next_gas(&self, gas: Micros, used: u32) -> Micros {
        let g = i128::from(gas.0);
        let step = g * i128::from(self.adjustment.0) * (i128::from(used) - i128::from(self.target))
            / (i128::from(self.target) * i128::from(PPM));
        Micros(narrow((g + step).clamp(i128::from(self.base_gas.0), i128::from(crate::core::units::MAX_MONEY))))
    }
}

impl Default for AuctionParams {
    fn default() -> AuctionParams {
        AuctionParams {
            buf: Ppm(1_020_000),
            decay: Decay::Stepwise { step_ticks: 1, cut: Ppm(995_000) },
            tail: Some(600),
            cusp: Ppm(600_000),
            tip: Micros(100_000_000),
            chip: Ppm(1_000),
            floor: Ppm(0),
            deadline_ticks: None,
            congestion: None,
        }
    }
}

impl AuctionParams {
    /// Checks the parameters.
    pub fn validate(&self) -> Result<(), ParamError> {
        if !(PPM..=2 * PPM).contains(&self.buf.0) {
            return Err(ParamError::invalid("auction.buf", "must be between 1,000,000 and 2,000,000 ppm"));
        }
        match self.decay {
            Decay::Stepwise { step_ticks, cut } => {
                if step_ticks == 0 {
                    return Err(ParamError::invalid("auction.decay.step_ticks", "must be at least 1"));
                }
                if !(1..PPM).contains(&cut.0) {
                    return Err(ParamError::invalid("auction.decay.cut", "must be in (0, 1,000,000) ppm"));
                }
            }
            Decay::Linear { tau_ticks: 0 } => {
                return Err(ParamError::invalid("auction.decay.tau_ticks", "must be at least 1"));
            }
            Decay::Linear { .. } => {}
        }
        if self.tail == Some(0) {
            return Err(ParamError::invalid("auction.tail", "must be at least 1 tick"));
        }
        if !(0..PPM).contains(&self.cusp.0) {
            return Err(ParamError::invalid("auction.cusp", "must be in [0, 1,000,000) ppm"));
        }
        if !(0..PPM).contains(&self.floor.0) {
            return Err(ParamError::invalid("auction.floor", "must be in [0, 1,000,000) ppm"));
        }
        if self.tip.0 < 0 || self.chip.0 < 0 {
            return Err(ParamError::invalid("auction.tip", "tip and chip must be non-negative"));
        }
        if let Some(c) = &self.congestion {
            c.validate()?;
        }
        if self.deadline_ticks == Some(0) {
            return Err(ParamError::invalid("auction.deadline_ticks", "must be at least 1 tick"));
        }
        Ok(())
    }

    /// `f(t)` in ppm, `t` ticks after the kick or reset.
    pub fn decay_ppm(&self, t: u64) -> i64 {
        match self.decay {
            Decay::Stepwise { step_ticks, cut } => {
                // cut^n by squaring, each product rounded down: exact and
                // deterministic, and zero once it underflows a ppm.
                let (mut n, mut base, mut f) = (t / step_ticks, i128::from(cut.0), i128::from(PPM));
                while n > 0 && f > 0 {
                    if n & 1 == 1 {
                        f = f * base / i128::from(PPM);
                    }
                    base = base * base / i128::from(PPM);
                    n >>= 1;
                }
                narrow(f)
            }
            Decay::Linear { tau_ticks } => {
                let left = i128::from(tau_ticks.saturating_sub(t));
                narrow(i128::from(PPM) * left / i128::from(tau_ticks))
            }
        }
    }

    /// The auction price `t` ticks after a (re)start at mark `start` of a
    /// position on `side` (see the module docs).
    pub fn price(&self, side: Side, start: Price, t: u64) -> Price {
        let (s, f, buf, floor) =
            (i128::from(start.0), i128::from(self.decay_ppm(t)), i128::from(self.buf.0), i128::from(self.floor.0));
        let ppm2 = i128::from(PPM) * i128::from(PPM);
        let p = match side {
            Side::Buy => (s * buf * f / ppm2).max(s * floor / i128::from(PPM)),
            Side::Sell => div_ceil(s * (2 * ppm2 - buf * f), ppm2)
                .min(div_ceil(s * (2 * i128::from(PPM) - floor), i128::from(PPM))),
        };
        Price(narrow(p))
    }

    /// Whether an auction `t` ticks after its (re)start must be reset.
    pub fn needs_reset(&self, t: u64) -> bool {
        self.tail.is_some_and(|tail| t > tail) || (self.cusp.0 > 0 && self.decay_ppm(t) < self.cusp.0)
    }
}
