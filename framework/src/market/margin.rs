//! Tiered margin requirements in the exchanges' "tax bracket" form, and the
//! exact liquidation and bankruptcy prices that follow from them.
//!
//! A tier table lists, for rising notional floors, a maintenance rate `r_k`
//! and an initial rate. Maintenance margin on notional `N` in tier `k` is
//!
//! ```text
//! MM(N) = N * r_k - A_k,   A_k = A_{k-1} + floor_k * (r_k - r_{k-1}),   A_0 = 0
//! ```
//!
//! so `MM` is continuous in `N`: each rate applies only to the notional above
//! its floor, like an income-tax bracket. All arithmetic is exact: `MM` is
//! kept in "micro-ppm" (micros times 1e6) so no rounding happens before a
//! comparison.

use crate::core::error::ParamError;
use crate::core::units::{Lots, Micros, PPM, Ppm, Price, div_ceil, div_floor, narrow};
use serde::{Deserialize, Serialize};

/// One bracket of a margin tier table, as configured.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TierParams {
    /// Position notional, in quote micro-units, from which this tier applies.
    /// The first tier's floor must be zero.
    pub notional_floor: Micros,
    /// Maintenance margin rate for notional above the floor (ppm).
    pub maintenance_rate: Ppm,
    /// Initial margin rate for positions in this tier (ppm); the maximum
    /// leverage is `1e6 / initial_rate`.
    pub initial_rate: Ppm,
}

/// A validated tier table with precomputed maintenance amounts.
#[derive(Clone, Debug, PartialEq)]
pub struct MarginTiers {
    tiers: Vec<Tier>,
}

#[derive(Clone, Copy, Debug, PartialEq)]
struct Tier {
    floor: i128,
    mm_rate: i128,
    im_rate: i128,
    /// Maintenance amount `A_k`, in micro-ppm.
    amount: i128,
}

impl MarginTiers {
    /// Validates a tier table: non-empty, first floor zero, floors strictly
    /// rising, rates rising with the floors, and each maintenance rate below
    /// its initial rate (otherwise a fresh position would be liquidatable).
    pub fn new(params: &[TierParams]) -> Result<MarginTiers, ParamError> {
        let first = params.first().ok_or(ParamError::EmptyTierTable)?;
        if first.notional_floor != Micros(0) {
            return Err(ParamError::invalid("tiers[0].notional_floor", "must be 0"));
        }
        let mut tiers = Vec::with_capacity(params.len());
        let mut prev: Option<Tier> = None;
        for (k, t) in params.iter().enumerate() {
            let field = |name: &str| format!("tiers[{k}].{name}");
            if t.maintenance_rate.0 <= 0 {
                return Err(ParamError::invalid(field("maintenance_rate"), "must be positive"));
            }
            if t.initial_rate.0 > PPM {
                return Err(ParamError::invalid(field("initial_rate"), "must be at most 1 (1,000,000 ppm)"));
            }
            if t.maintenance_rate >= t.initial_rate {
                return Err(ParamError::MaintenanceNotBelowInitial {
                    tier: k,
                    maintenance: t.maintenance_rate,
                    initial: t.initial_rate,
                });
            }
            let floor = i128::from(t.notional_floor.0);
            let mm_rate = i128::from(t.maintenance_rate.0);
            let amount = match prev {
                None => 0,
                Some(p) => {
                    if floor <= p.floor {
                        return Err(ParamError::invalid(field("notional_floor"), "floors must rise strictly"));
                    }
                    if mm_rate < p.mm_rate {
                        return Err(ParamError::invalid(
                            field("maintenance_rate"),
                            "rates must not fall as notional rises",
                        ));
                    }
                    p.amount + floor * (mm_rate - p.mm_rate)
                }
            };
            let tier = Tier { floor, mm_rate, im_rate: i128::from(t.initial_rate.0), amount };
            tiers.push(tier);
            prev = Some(tier);
        }
        Ok(MarginTiers { tiers })
    }

    /// A one-tier table.
    pub fn flat(maintenance_rate: Ppm, initial_rate: Ppm) -> Result<MarginTiers, ParamError> {
        MarginTiers::new(&[TierParams { notional_floor: Micros(0), maintenance_rate, initial_rate }])
    }

    fn tier(&self, notional: i128) -> &Tier {
        let k = self.tiers.partition_point(|t| t.floor <= notional);
        &self.tiers[k.saturating_sub(1)]
    }

    /// Maintenance margin on `notional`, in micro-ppm (micros × 1e6), exact.
    pub fn maintenance_scaled(&self, notional: i128) -> i128 {
        let t = self.tier(notional);
        notional * t.mm_rate - t.amount
    }

    /// Maintenance margin on `notional`, rounded up to whole micros.
    pub fn maintenance(&self, notional: Micros) -> Micros {
        Micros(narrow(div_ceil(self.maintenance_scaled(i128::from(notional.0)), i128::from(PPM))))
    }

    /// Initial margin on `notional`, rounded up to whole micros.
    pub fn initial(&self, notional: Micros) -> Micros {
        let n = i128::from(notional.0);
        Micros(narrow(div_ceil(n * self.tier(n).im_rate, i128::from(PPM))))
    }

    /// The table with every maintenance rate multiplied by `scale` (ppm of
    /// 1; rounded up, in the protocol's favour) and the initial rates kept.
    /// The caller keeps the scaled rates below the initial ones.
    pub fn with_maintenance_scaled(&self, scale: Ppm) -> MarginTiers {
        let mut tiers = self.tiers.clone();
        let mut prev: Option<Tier> = None;
        for t in &mut tiers {
            t.mm_rate = div_ceil(t.mm_rate * i128::from(scale.0), i128::from(PPM));
            t.amount = prev.map_or(0, |p| p.amount + t.floor * (t.mm_rate - p.mm_rate));
            prev = Some(*t);
        }
        MarginTiers { tiers }
    }

    /// Whether every maintenance rate times `scale` (ppm of 1) stays below
    /// its tier's initial rate.
    pub fn maintenance_fits(&self, scale: Ppm) -> bool {
        self.tiers.iter().all(|t| div_ceil(t.mm_rate * i128::from(scale.0), i128::from(PPM)) < t.im_rate)
    }

    /// The tier (from 0) that `notional` falls in.
    pub fn tier_of(&self, notional: i128) -> usize {
        self.tiers.partition_point(|t| t.floor <= notional).saturating_sub(1)
    }

    /// Notional floor of tier `k`, micros.
    pub fn floor_of(&self, k: usize) -> i128 {
        self.tiers[k].floor
    }

    /// Maintenance rate of tier `k` on the notional above its floor (ppm).
    pub fn rate_of(&self, k: usize) -> i128 {
        self.tiers[k].mm_rate
    }

    /// The average maintenance rate `MM(N) / N` at `notional` (ppm,
    /// rounded down); the first tier's rate at zero. It never falls as the
    /// notional rises.
    pub fn average_rate(&self, notional: i128) -> i128 {
        if notional <= 0 {
            return self.tiers.first().map_or(0, |t| t.mm_rate);
        }
        crate::core::units::div_floor(self.maintenance_scaled(notional), notional)
    }

    /// The smallest maintenance rate in the table (the first tier's).
    pub fn min_maintenance_rate(&self) -> Ppm {
        Ppm(self.tiers.first().map_or(0, |t| narrow(t.mm_rate)))
    }

    /// The largest maintenance rate in the table, which bounds how far a
    /// liquidation price can move per unit of equity.
    pub fn max_maintenance_rate(&self) -> Ppm {
        Ppm(self.tiers.last().map_or(0, |t| narrow(t.mm_rate)))
    }
}

/// A position reduced to what its liquidation condition needs: the equity
/// of its margin pool as an affine function of the price,
/// `equity(P) = base + qty * tick_value * P`, and the tier table.
#[derive(Clone, Copy, Debug)]
pub struct MarginLine<'a> {
    /// Equity at price zero, in micros: pool cash minus cost basis minus
    /// accrued funding.
    pub base: i128,
    /// Signed position size.
    pub qty: Lots,
    /// Value of one price tick on one lot, in micros.
    pub tick_value: Micros,
    /// Tier table of the market.
    pub tiers: &'a MarginTiers,
}

/// Largest price the search for liquidation prices considers, in ticks. It
/// is far above any price a valid configuration reaches and keeps every
/// product inside `i128`.
const PRICE_SEARCH_MAX: i64 = 1 << 46;

impl MarginLine<'_> {
    /// Equity at price `p`, in micros.
    pub fn equity(&self, p: Price) -> i128 {
        self.base + i128::from(self.qty.0) * i128::from(self.tick_value.0) * i128::from(p.0)
    }

    /// Whether the position is below maintenance margin at price `p`:
    /// `equity(p) < MM(|qty| * tick_value * p)`, compared exactly.
    pub fn is_liquidatable(&self, p: Price) -> bool {
        let notional = i128::from(self.qty.0.abs()) * i128::from(self.tick_value.0) * i128::from(p.0);
        self.equity(p) * i128::from(PPM) < self.tiers.maintenance_scaled(notional)
    }

    /// The liquidation trigger price. For a long, the largest price at which
    /// the position is liquidatable (it is liquidated at any price at or
    /// below it); for a short, the smallest such price (liquidated at or
    /// above). `None` when no positive price liquidates the position (a
    /// long with collateral beyond its notional) or the position is flat.
    ///
    /// Maintenance margin grows with notional at a rate below one, so
    /// `equity - MM` is monotone in price. Within tier `k` (rate `r_k`,
    /// amount `A_k`, `Q = |qty| × tick_value`) the condition is linear in
    /// the price, so the boundary has a closed form per tier bracket:
    ///
    /// ```text
    /// long:  P < −(base·10⁶ + A_k) / (Q (10⁶ − r_k))   → the largest such integer P
    /// short: P >  (base·10⁶ + A_k) / (Q (10⁶ + r_k))   → the smallest such integer P
    /// ```
    ///
    /// taken within the bracket's prices, the largest over the tiers for a
    /// long and the smallest for a short. The result is then checked
    /// exactly at `L` and its neighbour; a binary search over integer ticks
    /// is the fallback, so the answer is always the exact boundary.
    pub fn liquidation_price(&self) -> Option<Price> {
        if let Some(p) = self.closed_form_boundary() {
            let next = match self.qty.0.signum() {
                1 => Price(p.0 + 1),
                _ => Price(p.0 - 1),
            };
            if p.0 >= 0
                && p.0 < PRICE_SEARCH_MAX
                && next.0 >= 0
                && self.is_liquidatable(p)
                && !self.is_liquidatable(next)
            {
                return Some(p);
            }
        }
        self.searched_liquidation_price()
    }

    /// The closed-form candidate for [`MarginLine::liquidation_price`]
    /// (unchecked; `None` when the formulas give no price in any bracket).
    fn closed_form_boundary(&self) -> Option<Price> {
        let q = i128::from(self.qty.0.abs()) * i128::from(self.tick_value.0);
        if q == 0 {
            return None;
        }
        let ppm = i128::from(PPM);
        let tiers = &self.tiers.tiers;
        let mut best: Option<i128> = None;
        for (k, t) in tiers.iter().enumerate() {
            // Prices whose notional falls in tier k are [lo, hi], with
            // lo = ⌈floor_k / q⌉ and hi = ⌈floor_{k+1} / q⌉ − 1. For an
            // integer p, p ≥ lo ⇔ q p ≥ floor_k and p ≤ hi ⇔ q p < floor_{k+1},
            // so the bracket is tested by products and a bound is divided
            // out only when the formula's price lies beyond it.
            //
            // The liquidatable prices are an interval ([0, L] for a long,
            // [L, ∞) for a short), so the brackets are visited upwards and
            // the search stops at the one that holds L: for a long, the
            // first whose candidate is not cut off at the bracket's top;
            // for a short, the first with a candidate at all. The result
            // is checked exactly by the caller either way.
            let next_floor = tiers.get(k + 1).map(|u| u.floor);
            let num = self.base.checked_mul(ppm)?.checked_add(t.amount)?;
            if self.qty.0 > 0 {
                let den = q.checked_mul(ppm - t.mm_rate)?;
                let mut p = div_floor(-num - 1, den);
                let mut clamped = false;
                match next_floor {
                    Some(f) if q.checked_mul(p).is_none_or(|v| v >= f) => {
                        p = p.min(div_ceil(f, q) - 1);
                        clamped = true;
                    }
                    None => p = p.min(i128::from(PRICE_SEARCH_MAX)),
                    Some(_) => {}
                }
                if q.checked_mul(p).is_none_or(|v| v < t.floor) {
                    break;
                }
                best = Some(best.map_or(p, |b| b.max(p)));
                if !clamped {
                    break;
                }
            } else {
                let den = q.checked_mul(ppm + t.mm_rate)?;
                let mut p = div_floor(num, den) + 1;
                if q.checked_mul(p).is_none_or(|v| v < t.floor) {
                    p = p.max(div_ceil(t.floor, q));
                }
                let in_bracket = match next_floor {
                    Some(f) => q.checked_mul(p).is_some_and(|v| v < f),
                    None => p <= i128::from(PRICE_SEARCH_MAX),
                };
                if in_bracket {
                    best = Some(best.map_or(p, |b| b.min(p)));
                    break;
                }
            }
        }
        best.and_then(|p| i64::try_from(p).ok()).map(Price)
    }

    /// [`MarginLine::liquidation_price`] by binary search over integer ticks.
    fn searched_liquidation_price(&self) -> Option<Price> {
        match self.qty.0.signum() {
            1 => {
                // Liquidatable on [0, L]; find L.
                if !self.is_liquidatable(Price(0)) {
                    return None;
                }
                let (mut lo, mut hi) = (0_i64, PRICE_SEARCH_MAX);
                if self.is_liquidatable(Price(hi)) {
                    return Some(Price(hi));
                }
                // Invariant: liquidatable at lo, not at hi.
                while hi - lo > 1 {
                    let mid = lo + (hi - lo) / 2;
                    if self.is_liquidatable(Price(mid)) { lo = mid } else { hi = mid }
                }
                Some(Price(lo))
            }
            -1 => {
                // Liquidatable on [L, inf); find L.
                if self.is_liquidatable(Price(0)) {
                    return Some(Price(0));
                }
                let (mut lo, mut hi) = (0_i64, PRICE_SEARCH_MAX);
                if !self.is_liquidatable(Price(hi)) {
                    return None;
                }
                // Invariant: not liquidatable at lo, liquidatable at hi.
                while hi - lo > 1 {
                    let mid = lo + (hi - lo) / 2;
                    if self.is_liquidatable(Price(mid)) { hi = mid } else { lo = mid }
                }
                Some(Price(hi))
            }
            _ => None,
        }
    }

    /// The bankruptcy price: where equity reaches zero. For a long, the
    /// smallest price with non-negative equity; for a short, the largest.
    /// `None` for a flat position or a long whose equity stays positive at
    /// every price.
    pub fn bankruptcy_price(&self) -> Option<Price> {
        let qv = i128::from(self.qty.0) * i128::from(self.tick_value.0);
        match qv.signum() {
            1 => (self.base < 0).then(|| Price(narrow(div_ceil(-self.base, qv)))),
            -1 => Some(Price(narrow(div_floor(self.base, -qv).max(0)))),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tiers() -> MarginTiers {
        // 0.5% up to 50,000 quote, 1% up to 250,000, 2.5% above; amounts
        // 0, 250, 4,000 quote (Binance's BTCUSDT brackets in shape).
        MarginTiers::new(&[
            TierParams { notional_floor: Micros(0), maintenance_rate: Ppm(5_000), initial_rate: Ppm(8_000) },
            TierParams {
                notional_floor: Micros(50_000_000_000),
                maintenance_rate: Ppm(10_000),
                initial_rate: Ppm(20_000),
            },
            TierParams {
                notional_floor: Micros(250_000_000_000),
                maintenance_rate: Ppm(25_000),
                initial_rate: Ppm(40_000),
            },
        ])
        .unwrap()
    }

    #[test]
    fn maintenance_matches_the_bracket_formula_and_is_continuous() {
        let t = tiers();
        // 10,000 quote at 0.5% = 50 quote.
        assert_eq!(t.maintenance(Micros(10_000_000_000)), Micros(50_000_000));
        // 100,000 quote at 1% - 250 = 750 quote.
        assert_eq!(t.maintenance(Micros(100_000_000_000)), Micros(750_000_000));
        // 1,000,000 quote at 2.5% - 4,000 = 21,000 quote.
        assert_eq!(t.maintenance(Micros(1_000_000_000_000)), Micros(21_000_000_000));
        // Continuity at each floor.
        for floor in [50_000_000_000_i128, 250_000_000_000] {
            let below = t.maintenance_scaled(floor - 1);
            let at = t.maintenance_scaled(floor);
            assert!((at - below).abs() <= 25_000, "jump at {floor}: {below} -> {at}");
        }
    }

    #[test]
    fn initial_margin_uses_the_tier_rate() {
        assert_eq!(tiers().initial(Micros(10_000_000_000)), Micros(80_000_000));
    }

    #[test]
    fn liquidation_and_bankruptcy_prices_of_a_long_match_hand_computation() {
        // Long 10 lots bought at 1,000 ticks, 1 micro per tick-lot: notional
        // 10,000 micros, collateral 1,000 micros (10x). Flat 0.5% maintenance.
        // equity(P) = 1,000 - 10,000 + 10 P.
        // Liquidatable when 1e6 (10P - 9,000) < 10 P * 5,000
        //   <=> 9,950,000 P < 9,000,000,000 <=> P < 904.52..., so L = 904.
        // Bankrupt at 10P = 9,000: P = 900.
        let t = MarginTiers::flat(Ppm(5_000), Ppm(100_000)).unwrap();
        let line = MarginLine { base: 1_000 - 10_000, qty: Lots(10), tick_value: Micros(1), tiers: &t };
        assert_eq!(line.liquidation_price(), Some(Price(904)));
        assert!(line.is_liquidatable(Price(904)));
        assert!(!line.is_liquidatable(Price(905)));
        assert_eq!(line.bankruptcy_price(), Some(Price(900)));
    }

    #[test]
    fn liquidation_and_bankruptcy_prices_of_a_short_match_hand_computation() {
        // Short 10 lots sold at 1,000, collateral 1,000: equity = 11,000 - 10P.
        // Liquidatable when 1e6 (11,000 - 10P) < 50,000 P
        //   <=> 11e9 < 10,050,000 P <=> P > 1094.52..., so L = 1095.
        // Bankrupt at P = 1,100.
        let t = MarginTiers::flat(Ppm(5_000), Ppm(100_000)).unwrap();
        let line = MarginLine { base: 1_000 + 10_000, qty: Lots(-10), tick_value: Micros(1), tiers: &t };
        assert_eq!(line.liquidation_price(), Some(Price(1095)));
        assert!(!line.is_liquidatable(Price(1094)));
        assert_eq!(line.bankruptcy_price(), Some(Price(1100)));
    }

    #[test]
    fn a_fully_collateralised_long_has_no_liquidation_price() {
        let t = MarginTiers::flat(Ppm(5_000), Ppm(100_000)).unwrap();
        let line = MarginLine { base: 10_000 - 10_000, qty: Lots(10), tick_value: Micros(1), tiers: &t };
        assert_eq!(line.liquidation_price(), None);
        assert_eq!(line.bankruptcy_price(), None);
    }

    #[test]
    fn bad_tier_tables_are_rejected() {
        assert!(matches!(MarginTiers::new(&[]), Err(ParamError::EmptyTierTable)));
        assert!(matches!(
            MarginTiers::flat(Ppm(10_000), Ppm(10_000)),
            Err(ParamError::MaintenanceNotBelowInitial { .. })
        ));
        assert!(
            MarginTiers::new(&[
                TierParams { notional_floor: Micros(0), maintenance_rate: Ppm(5_000), initial_rate: Ppm(10_000) },
                TierParams { notional_floor: Micros(0), maintenance_rate: Ppm(6_000), initial_rate: Ppm(10_000) },
            ])
            .is_err()
        );
    }

    proptest::proptest! {
        /// The closed form per tier bracket gives the boundary the binary
        /// search finds, for longs and shorts over every tier, with the
        /// rates scaled as dynamic maintenance scales them.
        #[test]
        fn the_closed_form_liquidation_price_is_the_searched_one(
            qty in -2_000_000i64..2_000_000,
            entry in 1i64..2_000_000,
            margin_ppm in 0i128..1_500_000,
            tick_value in 1i64..1_000,
            scale in 1_000_000i64..1_500_000,
        ) {
            // Collateral of `margin` × the entry notional, at any leverage.
            let notional = i128::from(qty) * i128::from(tick_value) * i128::from(entry);
            let base = notional.abs() * margin_ppm / 1_000_000 - notional;
            let tiers = tiers().with_maintenance_scaled(Ppm(scale));
            let line = MarginLine { base, qty: Lots(qty), tick_value: Micros(tick_value), tiers: &tiers };
            proptest::prop_assert_eq!(line.liquidation_price(), line.searched_liquidation_price());
        }
    }
}
