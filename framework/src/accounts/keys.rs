//! The trigger index's keys: each position's liquidation price with the
//! funding index taken out, as exact integers (see the module docs of
//! [`crate::accounts::triggers`] for the derivation), and the scale that
//! turns a price into a key.

use crate::core::units::{AccountId, MarketId, Micros, PPM, Price, Side, div_ceil};
use std::collections::{BTreeMap, BTreeSet};

/// One key of one position.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Key {
    pub(super) market: MarketId,
    pub(super) side: Side,
    /// Liquidation price when keyed (for the heatmap).
    pub(super) price: Price,
    /// Funding-adjusted key (see the module docs).
    pub(super) adjusted: Adjusted,
    pub(super) notional: Micros,
    /// Its group (see the module docs).
    pub(super) group: u32,
}

impl Key {
    pub(super) fn group(&self) -> usize {
        self.group as usize
    }
}

/// A funding-adjusted key (module docs), an `i128` held as two 64-bit
/// halves so that it packs at 8-byte alignment: an index entry is 24 bytes,
/// not 32. The derived order, signed high half then unsigned low half, is
/// the order of the `i128`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(super) struct Adjusted {
    pub(super) hi: i64,
    pub(super) lo: u64,
}

impl From<i128> for Adjusted {
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss, reason = "the two halves of the i128")]
    fn from(v: i128) -> Adjusted {
        Adjusted { hi: (v >> 64) as i64, lo: v as u64 }
    }
}

/// An entry of the index: a key and its account.
pub(super) type Entry = (Adjusted, AccountId);

/// New keys by (market, side, group), for [`Triggers::rekey_many`].
pub(super) type Fresh = BTreeMap<(usize, Side, usize), Vec<Entry>>;

/// Keys by (market, side, group).
pub(super) type KeySets = BTreeMap<(usize, Side, usize), BTreeSet<Entry>>;

/// The exact integer scale of a market's funding-adjusted keys.
#[derive(Clone, Copy, Debug)]
pub(super) struct Scale {
    /// `v × (1e6 − r_max)`: one tick of a long key.
    pub(super) long_per_tick: i128,
    /// `v × (1e6 + r_max)`: one tick of a short key.
    pub(super) short_per_tick: i128,
    pub(super) r_min: i128,
    pub(super) r_max: i128,
}

impl Scale {
    pub(super) fn of(m: &crate::market::Market) -> Scale {
        let v = i128::from(m.params.tick_value.0);
        let (r_min, r_max) =
            (i128::from(m.base_tiers.min_maintenance_rate().0), i128::from(m.base_tiers.max_maintenance_rate().0));
        let ppm = i128::from(PPM);
        Scale { long_per_tick: v * (ppm - r_max), short_per_tick: v * (ppm + r_max), r_min, r_max }
    }

    pub(super) fn adjust(self, side: Side, price: Price, funding: Micros) -> i128 {
        let per_tick = if side == Side::Buy { self.long_per_tick } else { self.short_per_tick };
        i128::from(price.0) * per_tick - i128::from(PPM) * i128::from(funding.0)
    }

    /// The price to query a group of `side` from (longs) or up to (shorts)
    /// at `mark` when the group's average rate at its keys is at least
    /// `r_lo` and the rate in force at a liquidating price at most `r_hi`
    /// (ppm). A long keyed at `L` has `−A ≤ q v L (1 − r_lo)` (`A` its
    /// equity at price zero); below maintenance at `P` it has
    /// `−A > q v P (1 − r_hi)`; so `L > P (1 − r_hi) / (1 − r_lo)`. For a
    /// short, `S < P (1 + r_hi) / (1 + r_lo)`.
    pub(super) fn query_price(self, side: Side, mark: Price, r_lo: i128, r_hi: i128) -> Price {
        let (p, ppm) = (i128::from(mark.0), i128::from(PPM));
        let at = match side {
            Side::Buy => crate::core::units::div_floor(p * (ppm - r_hi), ppm - r_lo).max(0),
            Side::Sell => div_ceil(p * (ppm + r_hi), ppm + r_lo),
        };
        Price(crate::core::units::narrow(at))
    }

    /// Widening of the long and short queries, in key units.
    pub(super) fn slack(self, funding_hi: Micros, funding: Micros) -> (i128, i128) {
        let fall = i128::from((funding_hi.0 - funding.0).max(0));
        if fall == 0 || self.r_max == self.r_min {
            return (0, 0);
        }
        let ppm = i128::from(PPM);
        // 1e6 × (1 − (1e6 − r_max) / (1e6 − r_min)) × fall, and
        // 1e6 × ((1e6 + r_max) / (1e6 + r_min) − 1) × fall, rounded up.
        let long = div_ceil(ppm * (self.r_max - self.r_min) * fall, ppm - self.r_min);
        let short = div_ceil(ppm * (self.r_max - self.r_min) * fall, ppm + self.r_min);
        (long, short)
    }
}
