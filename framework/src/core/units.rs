//! Exact units of the simulation: prices in integer ticks, quantities in
//! integer lots, cash in integer quote micro-units, and rates in parts per
//! million. Every monetary computation in the framework goes through these
//! types, so that value is conserved with `==` rather than approximately.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::ops::{Add, AddAssign, Neg, Sub, SubAssign};

/// A price, as an integer number of price ticks. One tick is the market's
/// smallest price increment; its value in quote currency is set by the
/// market's contract specification.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, schemars::JsonSchema,
)]
#[serde(transparent)]
pub struct Price(pub i64);

/// A quantity, as an integer number of lots. Signed where it is a position
/// (positive long, negative short); order sizes are always positive.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, schemars::JsonSchema,
)]
#[serde(transparent)]
pub struct Lots(pub i64);

/// Cash, as an integer number of quote micro-units (1e-6 of the quote
/// currency).
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, schemars::JsonSchema,
)]
#[serde(transparent)]
pub struct Micros(pub i64);

/// A rate in parts per million: 5_000 ppm is 0.5%.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, schemars::JsonSchema,
)]
#[serde(transparent)]
pub struct Ppm(pub i64);

/// One million: the denominator of [`Ppm`].
pub const PPM: i64 = 1_000_000;

/// The most money any one configured amount (a fund, a provider's
/// collateral, a pool's reserve) may be, micros: 2⁶⁰, about 1.15 trillion
/// quote. With the total put in bounded by 2⁶¹, every balance and every sum
/// of balances stays far inside `i64`.
pub const MAX_MONEY: i64 = 1 << 60;

/// The most money all configured amounts together may be, micros (2⁶¹).
pub const MAX_TOTAL_MONEY: i128 = 1 << 61;

/// The largest value of one lot at the initial price, micros
/// (`initial_price × tick_value`): 2⁴⁰, about 1.1 million quote, so that
/// notionals of any realistic size stay exact.
pub const MAX_LOT_VALUE: i128 = 1 << 40;

impl Ppm {
    /// The rate as a plain fraction, for reporting only.
    pub fn as_fraction(self) -> f64 {
        self.0 as f64 / PPM as f64
    }
}

/// An amount left the `i64` range: a bug or a configuration beyond the
/// validated limits. It unwinds the tick rather than wrap, with this as the
/// panic payload; [`catch_overflow`] (and so
/// [`crate::engine::sim::Simulation::try_run`]) turns it back into a value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Overflow {
    /// The quantity's type: `Micros`, `Lots`, `Ticks`.
    pub quantity: &'static str,
    /// Where in the source the operation was.
    pub at: &'static std::panic::Location<'static>,
}

impl fmt::Display for Overflow {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} arithmetic overflowed i64 at {}:{}", self.quantity, self.at.file(), self.at.line())
    }
}

impl std::error::Error for Overflow {}

#[cold]
#[inline(never)]
#[track_caller]
fn overflow(quantity: &'static str) -> ! {
    std::panic::panic_any(Overflow { quantity, at: std::panic::Location::caller() })
}

/// Installs, once per process, a panic hook that does not print
/// [`Overflow`] unwinds (they are reported as errors by whoever catches
/// them) and prints every other panic as before.
pub fn quiet_overflow_reports() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let default_hook = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if info.payload().downcast_ref::<Overflow>().is_none() {
                default_hook(info);
            }
        }));
    });
}

/// Runs `f`, returning the [`Overflow`] that stopped it, if one did. Any
/// other panic continues.
pub fn catch_overflow<T>(f: impl FnOnce() -> T) -> Result<T, Overflow> {
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)) {
        Ok(value) => Ok(value),
        Err(payload) => match payload.downcast::<Overflow>() {
            Ok(o) => Err(*o),
            Err(other) => std::panic::resume_unwind(other),
        },
    }
}

macro_rules! additive {
    ($($t:ident),*) => {$(
        impl Add for $t {
            type Output = $t;
            #[track_caller]
            fn add(self, rhs: $t) -> $t {
                $t(self.0.checked_add(rhs.0).unwrap_or_else(|| overflow(stringify!($t))))
            }
        }
        impl Sub for $t {
            type Output = $t;
            #[track_caller]
            fn sub(self, rhs: $t) -> $t {
                $t(self.0.checked_sub(rhs.0).unwrap_or_else(|| overflow(stringify!($t))))
            }
        }
        impl AddAssign for $t {
            #[track_caller]
            fn add_assign(&mut self, rhs: $t) { *self = *self + rhs; }
        }
        impl SubAssign for $t {
            #[track_caller]
            fn sub_assign(&mut self, rhs: $t) { *self = *self - rhs; }
        }
        impl Neg for $t {
            type Output = $t;
            #[track_caller]
            fn neg(self) -> $t { $t(self.0.checked_neg().unwrap_or_else(|| overflow(stringify!($t)))) }
        }
        impl fmt::Display for $t {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result { self.0.fmt(f) }
        }
        impl std::iter::Sum for $t {
            #[track_caller]
            fn sum<I: Iterator<Item = $t>>(iter: I) -> $t { iter.fold($t(0), |a, b| a + b) }
        }
    )*};
}
additive!(Price, Lots, Micros, Ppm);

impl Micros {
    /// Quote micro-units as a float of whole quote units, for reporting only.
    pub fn as_quote(self) -> f64 {
        self.0 as f64 / 1e6
    }
}

/// Index of a market in the simulation, in the order the markets were
/// configured.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, schemars::JsonSchema,
)]
#[serde(transparent)]
pub struct MarketId(pub u16);

impl MarketId {
    /// The market's position in `Vec`s indexed by market.
    pub fn idx(self) -> usize {
        usize::from(self.0)
    }
}

/// Index of a margin account in the ledger. Dense: accounts are numbered
/// from zero in the order they are opened.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, schemars::JsonSchema,
)]
#[serde(transparent)]
pub struct AccountId(pub u32);

impl AccountId {
    /// The account's position in the ledger.
    pub fn idx(self) -> usize {
        self.0 as usize
    }
}

/// A stable identifier of a population, derived from its name (see
/// [`crate::core::rng`]), so that adding or reordering populations does not change
/// the identity, and hence the random draws, of the others.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, schemars::JsonSchema,
)]
#[serde(transparent)]
pub struct PopulationId(pub u32);

/// A spot asset (the base asset of spot markets, such as BTC), by its
/// position in the ledger's asset list. Balances of it are integer base
/// units; one lot of a spot market is one base unit.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, schemars::JsonSchema,
)]
#[serde(transparent)]
pub struct AssetId(pub u16);

impl AssetId {
    /// The asset's position in the ledger's asset list.
    pub fn idx(self) -> usize {
        usize::from(self.0)
    }
}

/// A stable agent identifier: its population and its index within it.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, schemars::JsonSchema,
)]
pub struct AgentId {
    /// The population the agent belongs to.
    pub population: PopulationId,
    /// The agent's index within its population, from zero.
    pub index: u32,
}

/// Order or position side.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Side {
    /// Buy, or a long position.
    Buy,
    /// Sell, or a short position.
    Sell,
}

impl Side {
    /// The other side.
    pub fn opposite(self) -> Side {
        match self {
            Side::Buy => Side::Sell,
            Side::Sell => Side::Buy,
        }
    }

    /// +1 for a buy, -1 for a sell: the sign a fill of this side adds to a
    /// position.
    pub fn sign(self) -> i64 {
        match self {
            Side::Buy => 1,
            Side::Sell => -1,
        }
    }

    /// A short lowercase name, as written in frames.
    pub fn as_str(self) -> &'static str {
        match self {
            Side::Buy => "buy",
            Side::Sell => "sell",
        }
    }
}

/// Narrows an `i128` intermediate back to `i64` micro-units. Intermediates
/// are computed in `i128` so that products of price, quantity and value per
/// tick cannot overflow; a result that does not fit in `i64` would mean more
/// than nine trillion quote units in one place, which no valid
/// configuration produces.
#[track_caller]
pub fn narrow(x: i128) -> i64 {
    i64::try_from(x).unwrap_or_else(|_| overflow("Micros"))
}

/// Rounds a float to the nearest `i64`, saturating at the ends of the
/// range (NaN gives 0). Floats appear only in stochastic draws and reports;
/// this is the one place they become integers.
#[allow(clippy::cast_possible_truncation, reason = "saturating float-to-int conversion is the intent")]
pub fn round_to_i64(x: f64) -> i64 {
    x.round() as i64
}

/// Floor division of `i128`s (rounds toward negative infinity).
pub fn div_floor(a: i128, b: i128) -> i128 {
    let q = a / b;
    if (a % b != 0) && ((a < 0) != (b < 0)) { q - 1 } else { q }
}

/// Ceiling division of `i128`s (rounds toward positive infinity).
pub fn div_ceil(a: i128, b: i128) -> i128 {
    -div_floor(-a, b)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn money_never_wraps() {
        let o = catch_overflow(|| Micros(i64::MAX) + Micros(1)).unwrap_err();
        assert_eq!(o.quantity, "Micros");
        assert!(o.to_string().starts_with("Micros arithmetic overflowed i64 at "), "{o}");
        assert_eq!(catch_overflow(|| narrow(i128::from(i64::MAX) + 1)).unwrap_err().quantity, "Micros");
        assert_eq!(catch_overflow(|| Micros(2) + Micros(3)), Ok(Micros(5)));
    }

    #[test]
    fn sums_and_differences_are_exact_inside_the_range() {
        assert_eq!([Micros(i64::MAX - 2), Micros(1), Micros(1)].into_iter().sum::<Micros>(), Micros(i64::MAX));
        let mut lots = Lots(5);
        lots -= Lots(7);
        assert_eq!((lots, -lots), (Lots(-2), Lots(2)));
        assert!(std::panic::catch_unwind(|| -Lots(i64::MIN)).is_err());
    }

    #[test]
    fn floor_and_ceil_round_the_right_way_for_negative_numbers() {
        assert_eq!(div_floor(7, 2), 3);
        assert_eq!(div_floor(-7, 2), -4);
        assert_eq!(div_ceil(7, 2), 4);
        assert_eq!(div_ceil(-7, 2), -3);
        assert_eq!(div_floor(6, 3), 2);
        assert_eq!(div_ceil(-6, 3), -2);
    }
}
