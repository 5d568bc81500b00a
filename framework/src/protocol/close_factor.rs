//! Close factors: how much of a liquidated position goes to the book. The
//! whole position, a fixed fraction, a fraction while the health factor is
//! high enough (the lending protocols' stepped rule), or the fewest lots
//! that restore maintenance margin.

use crate::core::units::{Lots, PPM, Ppm, Price, div_ceil, narrow};
use crate::market::margin::MarginLine;
use crate::protocol::hooks::{Closing, Cx, Mechanism};
use serde::{Deserialize, Serialize};

/// How much of a position a liquidation closes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum CloseFactor {
    /// All of it.
    #[default]
    Full,
    /// A fixed fraction, rounded up to whole lots.
    Fraction {
        /// Fraction closed (ppm).
        fraction: Ppm,
    },
    /// `fraction` while the health factor (equity ÷ maintenance margin) is
    /// at least `full_below`, everything below it: the lending protocols'
    /// rule (50%, and 100% below a health factor of 0.95).
    Stepped {
        /// Fraction closed while healthy enough (ppm).
        fraction: Ppm,
        /// Health factor below which all is closed (ppm; 950,000 = 0.95).
        full_below: Ppm,
    },
    /// The fewest lots whose closing at the mark, penalty paid, brings the
    /// position back to maintenance margin.
    RestoreMargin,
}

impl CloseFactor {
    /// Lots to close of a position whose margin line is `line`, at `mark`,
    /// with liquidation penalty `penalty`.
    pub fn lots(self, line: &MarginLine<'_>, mark: Price, penalty: Ppm) -> Lots {
        let q = line.qty.0.abs();
        let frac = |f: Ppm| Lots(narrow(div_ceil(i128::from(q) * i128::from(f.0), i128::from(PPM))).clamp(1, q));
        match self {
            CloseFactor::Full => Lots(q),
            CloseFactor::Fraction { fraction } => frac(fraction),
            CloseFactor::Stepped { fraction, full_below } => {
                let notional = i128::from(q) * i128::from(line.tick_value.0) * i128::from(mark.0);
                let mm = line.tiers.maintenance_scaled(notional);
                // health = equity / MM, compared in ppm without division.
                let healthy = line.equity(mark) * i128::from(PPM) * i128::from(PPM) >= mm * i128::from(full_below.0);
                if healthy { frac(fraction) } else { Lots(q) }
            }
            CloseFactor::RestoreMargin => {
                let per_lot = i128::from(line.tick_value.0) * i128::from(mark.0);
                let restored = |x: i64| {
                    let closed = i128::from(x) * per_lot;
                    let pen = div_ceil(closed * i128::from(penalty.0), i128::from(PPM));
                    let left = i128::from(q - x) * per_lot;
                    (line.equity(mark) - pen) * i128::from(PPM) >= line.tiers.maintenance_scaled(left)
                };
                // Closing more never hurts the margin ratio at the mark, so
                // the smallest sufficient size is found by bisection.
                let (mut lo, mut hi) = (0_i64, q);
                if !restored(hi) {
                    return Lots(q);
                }
                while hi - lo > 1 {
                    let mid = lo + (hi - lo) / 2;
                    if restored(mid) { hi = mid } else { lo = mid }
                }
                Lots(hi)
            }
        }
    }
}

impl Mechanism for CloseFactor {
    fn name(&self) -> &'static str {
        "close_factor"
    }

    fn close_lots(&self, cx: &Cx<'_>, closing: &Closing, line: &MarginLine<'_>, _lots: Lots) -> Lots {
        self.lots(line, closing.mark, cx.penalty)
    }
}

#[cfg(test)]
mod tests {
    use crate::engine::testing::*;

    #[test]
    fn a_fractional_close_factor_halts_the_cascade_at_the_first_account() {
        use crate::protocol::CloseFactor;
        // A (liquidated at 979) closes ceil(10 × 50%) = 5 lots at 979: realised
        // 5 × (979 − 1,000) = −105, penalty ⌈48.95⌉ = 49, so collateral
        // 690 − 105 − 49 = 536 on 5 lots; at 979 its equity 431 is above the
        // 244.75 maintenance, and the price never reaches B's 975.
        let (sim, [a, b, ..]) = shocked(|p| p.close_factor = CloseFactor::Fraction { fraction: Ppm(500_000) });
        let l = sim.ledger();
        assert_eq!(l.account(a).qty(MarketId(0)), Lots(5));
        assert_eq!(l.account(a).collateral, Micros(536));
        assert_eq!(l.account(b).liquidated_at(), None);
        assert_eq!(l.insurance_fund, Micros(149));
        // The stepped rule gives the same: A's health factor is 480 / 489.5 =
        // 0.98, above 0.95.
        let (sim, [a, ..]) =
            shocked(|p| p.close_factor = CloseFactor::Stepped { fraction: Ppm(500_000), full_below: Ppm(950_000) });
        assert_eq!(sim.ledger().account(a).qty(MarketId(0)), Lots(5));
        // With the step at 0.99, A's 0.98 is below it: everything is closed, and
        // the cascade runs as under full liquidation (A keeps 430 − 98).
        let (sim, [a, b, c, d, ..]) =
            shocked(|p| p.close_factor = CloseFactor::Stepped { fraction: Ppm(500_000), full_below: Ppm(990_000) });
        let l = sim.ledger();
        assert!(l.account(a).positions.is_empty());
        assert_eq!(l.account(a).collateral, Micros(430 - 98));
        for t in [b, c, d] {
            assert_eq!(l.account(t).liquidated_at(), Some(1));
        }
        assert_eq!(l.uncovered_bad_debt, Micros(131));
    }

    #[test]
    fn restore_margin_closes_the_fewest_lots() {
        use crate::protocol::CloseFactor;
        // At 979 A has equity 480 against maintenance 489.5. Closing one lot
        // costs a penalty of ⌈9.79⌉ = 10 and leaves 470 against 440.55: enough.
        let (sim, [a, b, ..]) = shocked(|p| p.close_factor = CloseFactor::RestoreMargin);
        let l = sim.ledger();
        assert_eq!(l.account(a).qty(MarketId(0)), Lots(9));
        assert_eq!(l.account(a).collateral, Micros(690 - 21 - 10));
        assert_eq!(l.account(b).liquidated_at(), None);
    }
}
