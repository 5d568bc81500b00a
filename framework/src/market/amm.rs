//! A constant-product pool (DeFi's automated market maker, as in Uniswap
//! v2): a spot venue with no order book, whose price is set by its
//! reserves.
//!
//! With `x` base units and `y` quote micros in the pool and a fee `φ` (ppm
//! of the input, kept by the pool), a swap of `q` base units is priced so
//! that `x · y` never falls:
//!
//! ```text
//! sell q base:  out = ⌊ y · q(1 − φ) / (x + q(1 − φ)) ⌋       quote micros paid to the trader
//! buy  q base:  in  = ⌈ ⌈ y · q / (x − q) ⌉ / (1 − φ) ⌉       quote micros paid by the trader  (q < x)
//! ```
//!
//! Every rounding goes to the pool, so `(x + q)(y − out) ≥ x y` and
//! `(x − q)(y + in) ≥ x y` exactly, in integers. The pool's price, the mid
//! that an oracle reads, is `y / (x · tick_value)` ticks per base unit.
//! An immediate-or-cancel order with a limit swaps the largest `q` whose
//! average price (quote paid or received over `q · tick_value`) is within
//! the limit.

use crate::core::units::{Lots, Micros, PPM, Ppm, Price, Side, div_ceil, div_floor};

/// The reserves of a pool and its fee.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Pool {
    /// Base units held.
    pub base: Lots,
    /// Quote held, micros.
    pub quote: Micros,
    /// Fee on the input, ppm.
    pub fee: Ppm,
}

impl Pool {
    /// Quote micros a trader receives for selling `q` base units, or pays
    /// for buying them (`None` when the pool cannot deliver `q`, or the
    /// amount would not fit in exact arithmetic).
    pub fn quote_for(&self, side: Side, q: Lots) -> Option<Micros> {
        let (x, y, q) = (i128::from(self.base.0), i128::from(self.quote.0), i128::from(q.0));
        let (keep, ppm) = (i128::from(PPM - self.fee.0), i128::from(PPM));
        if q <= 0 {
            return Some(Micros(0));
        }
        let micros = match side {
            Side::Sell => {
                let q_in = q.checked_mul(keep)?;
                div_floor(y.checked_mul(q_in)?, x.checked_mul(ppm)?.checked_add(q_in)?)
            }
            Side::Buy => {
                if q >= x {
                    return None;
                }
                div_ceil(div_ceil(y.checked_mul(q)?, x - q).checked_mul(ppm)?, keep)
            }
        };
        i64::try_from(micros).ok().map(Micros)
    }

    /// The largest swap of at most `q` base units on `side` (the trader's)
    /// whose average price is within `limit` ticks, with `tick_value`
    /// micros per tick-lot: (base units, quote micros), or `None` if not
    /// even one unit is within the limit.
    pub fn swap_within(&self, side: Side, q: Lots, limit: Price, tick_value: Micros) -> Option<(Lots, Micros)> {
        let ok = |n: i64| match self.quote_for(side, Lots(n)) {
            None => false,
            Some(m) => {
                let at_limit = i128::from(n) * i128::from(limit.0) * i128::from(tick_value.0);
                match side {
                    Side::Buy => i128::from(m.0) <= at_limit,
                    Side::Sell => i128::from(m.0) >= at_limit,
                }
            }
        };
        if q.0 < 1 || !ok(1) {
            return None;
        }
        // The average price worsens with size: bisect for the largest n.
        let (mut lo, mut hi) = (1, q.0);
        while lo < hi {
            let mid = lo + (hi - lo + 1) / 2;
            if ok(mid) { lo = mid } else { hi = mid - 1 }
        }
        Some((Lots(lo), self.quote_for(side, Lots(lo)).expect("checked by ok")))
    }

    /// The reserves after the trader's swap of `q` base units for `micros`.
    pub fn apply(&mut self, side: Side, q: Lots, micros: Micros) {
        match side {
            Side::Sell => {
                self.base.0 += q.0;
                self.quote.0 -= micros.0;
            }
            Side::Buy => {
                self.base.0 -= q.0;
                self.quote.0 += micros.0;
            }
        }
    }

    /// The pool's price, ticks per base unit, rounded down (`None` when
    /// either reserve is empty).
    pub fn price(&self, tick_value: Micros) -> Option<Price> {
        if self.base.0 <= 0 || self.quote.0 <= 0 {
            return None;
        }
        let p = div_floor(i128::from(self.quote.0), i128::from(self.base.0) * i128::from(tick_value.0));
        i64::try_from(p).ok().map(Price)
    }

    /// The best bid: what selling one unit pays, in ticks, rounded down
    /// (`None` if it pays less than a tick).
    pub fn bid(&self, tick_value: Micros) -> Option<Price> {
        let m = self.quote_for(Side::Sell, Lots(1))?;
        let p = i64::try_from(div_floor(m.0.into(), tick_value.0.into())).ok()?;
        (p > 0).then_some(Price(p))
    }

    /// The best ask: what buying one unit costs, in ticks, rounded up.
    pub fn ask(&self, tick_value: Micros) -> Option<Price> {
        let m = self.quote_for(Side::Buy, Lots(1))?;
        Some(Price(i64::try_from(div_ceil(m.0.into(), tick_value.0.into())).unwrap_or(i64::MAX)))
    }

    /// `x · y`, exactly.
    pub fn invariant(&self) -> i128 {
        i128::from(self.base.0) * i128::from(self.quote.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn pool() -> Pool {
        Pool { base: Lots(1_000), quote: Micros(1_000_000), fee: Ppm(3_000) }
    }

    /// 1,000 base and 1,000,000 micros (price 1,000 at one micro per
    /// tick-lot), 0.3% fee:
    /// - selling 100: in after fee 99.7; out = ⌊10⁶ · 99.7 / 1,099.7⌋ = 90,661;
    /// - buying 100: ⌈10⁸ / 900⌉ = 111,112, over 0.997: ⌈111,446.3⌉ = 111,447.
    #[test]
    fn a_swap_pays_the_exact_constant_product_amount() {
        assert_eq!(pool().quote_for(Side::Sell, Lots(100)), Some(Micros(90_661)));
        assert_eq!(pool().quote_for(Side::Buy, Lots(100)), Some(Micros(111_447)));
        assert_eq!(pool().quote_for(Side::Buy, Lots(1_000)), None, "the pool cannot be emptied");
        let mut p = pool();
        p.apply(Side::Sell, Lots(100), Micros(90_661));
        assert_eq!((p.base, p.quote), (Lots(1_100), Micros(909_339)));
        assert_eq!(p.price(Micros(1)), Some(Price(826)));
        assert!(p.invariant() >= pool().invariant());
    }

    #[test]
    fn a_limit_takes_the_largest_swap_within_it() {
        // Average price of selling n: 90,661 / 100 = 906.6 at n = 100.
        let (n, m) = pool().swap_within(Side::Sell, Lots(1_000), Price(950), Micros(1)).unwrap();
        assert!(m.0 >= n.0 * 950 && pool().quote_for(Side::Sell, Lots(n.0 + 1)).unwrap().0 < (n.0 + 1) * 950);
        assert_eq!(pool().swap_within(Side::Buy, Lots(10), Price(900), Micros(1)), None, "below the pool's price");
        assert_eq!((pool().bid(Micros(1)), pool().ask(Micros(1))), (Some(Price(996)), Some(Price(1_006))));
    }

    proptest! {
        /// The invariant never decreases, whatever the sequence of swaps.
        #[test]
        fn the_invariant_never_decreases(swaps in prop::collection::vec((any::<bool>(), 1i64..5_000), 1..40), fee in 0i64..10_000) {
            let mut p = Pool { base: Lots(10_000), quote: Micros(10_000_000_000), fee: Ppm(fee) };
            for (buy, q) in swaps {
                let side = if buy { Side::Buy } else { Side::Sell };
                let Some(m) = p.quote_for(side, Lots(q)) else { continue };
                let before = p.invariant();
                p.apply(side, Lots(q), m);
                prop_assert!(p.invariant() >= before);
                prop_assert!(p.base.0 > 0 && p.quote.0 > 0);
            }
        }
    }
}
