//! The run summary: the scalar metrics of a finished run (drawdown, the
//! largest cascade, liquidated notional, bad debt, spill-over), computed once
//! from the recorded tick columns.

use crate::accounts::ledger::Ledger;
use crate::record::recorder::TickCols;
use serde::{Deserialize, Serialize};

/// The scalar results of a run.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct RunSummary {
    /// Ticks run.
    pub ticks: u64,
    /// Largest peak-to-trough fall of the first market's mark, as a
    /// fraction of the peak.
    pub max_drawdown: f64,
    /// Tick of the trough of that fall.
    pub trough_tick: u64,
    /// Ticks from the trough until the mark recovers half the fall; `None`
    /// if it never does within the run.
    pub half_recovery_ticks: Option<u64>,
    /// Positions liquidated.
    pub n_liquidations: u64,
    /// Notional liquidated, quote units.
    pub liquidated_notional: f64,
    /// Largest notional liquidated in one tick, quote units.
    pub largest_cascade: f64,
    /// Notional liquidated in the markets after the first, quote units:
    /// the spill-over when the first market is the one shocked.
    #[serde(default)]
    pub spillover_notional: f64,
    /// Largest peak-to-trough fall of the mark in any market after the
    /// first, as a fraction of the peak: the price side of the spill-over.
    /// Zero with one market.
    #[serde(default)]
    pub spillover_drawdown: f64,
    /// Most liquidation rounds in one tick.
    pub max_rounds: u32,
    /// Bad debt created, quote units.
    pub bad_debt: f64,
    /// Bad debt the insurance fund could not pay, quote units.
    pub uncovered_bad_debt: f64,
    /// Insurance fund at the end, quote units.
    pub insurance_fund: f64,
    /// Orders rejected by the margin check.
    pub rejected_orders: u64,
}

/// The largest peak-to-trough fall of the mark over `rows` (one market's,
/// in tick order), as a fraction of the peak, with that peak and the row of
/// the trough.
fn drawdown(t: &TickCols, rows: &[usize]) -> (f64, i64, usize) {
    let (mut peak, mut best_dd, mut peak_at_dd, mut trough) = (0_i64, 0.0_f64, 0_i64, 0_usize);
    for &i in rows {
        peak = peak.max(t.mark[i]);
        let dd = (peak - t.mark[i]) as f64 / peak as f64;
        if dd > best_dd {
            best_dd = dd;
            peak_at_dd = peak;
            trough = i;
        }
    }
    (best_dd, peak_at_dd, trough)
}

pub(super) fn summarise(t: &TickCols, ledger: &Ledger, rejected_orders: u64) -> RunSummary {
    let first = t.market.first().cloned().unwrap_or_default();
    let rows: Vec<usize> = (0..t.tick.len()).filter(|i| t.market[*i] == first).collect();
    let (best_dd, peak_at_dd, trough) = drawdown(t, &rows);
    let mut others: Vec<&String> = t.market.iter().filter(|m| **m != first).collect();
    others.sort();
    others.dedup();
    let spillover_drawdown = others
        .into_iter()
        .map(|m| drawdown(t, &(0..t.tick.len()).filter(|i| t.market[*i] == *m).collect::<Vec<_>>()).0)
        .fold(0.0, f64::max);
    let half_recovery_ticks = (best_dd > 0.0)
        .then(|| {
            let level = t.mark[trough] as f64 + 0.5 * (peak_at_dd - t.mark[trough]) as f64;
            rows.iter().find(|&&i| i > trough && t.mark[i] as f64 >= level).map(|&i| t.tick[i] - t.tick[trough])
        })
        .flatten();
    let q = |x: i64| x as f64 / 1e6;
    let mut per_tick: std::collections::BTreeMap<u64, i64> = std::collections::BTreeMap::new();
    for i in 0..t.tick.len() {
        *per_tick.entry(t.tick[i]).or_default() += t.liquidated_long[i] + t.liquidated_short[i];
    }
    RunSummary {
        ticks: t.tick.last().map_or(0, |x| x + 1),
        max_drawdown: best_dd,
        trough_tick: rows.first().map_or(0, |_| t.tick[trough]),
        half_recovery_ticks,
        n_liquidations: t.liquidations.iter().sum(),
        liquidated_notional: q(per_tick.values().sum()),
        largest_cascade: q(per_tick.values().copied().max().unwrap_or(0)),
        spillover_drawdown,
        spillover_notional: q((0..t.tick.len())
            .filter(|i| t.market[*i] != first)
            .map(|i| t.liquidated_long[i] + t.liquidated_short[i])
            .sum()),
        max_rounds: t.liquidation_rounds.iter().copied().max().unwrap_or(0),
        bad_debt: q(t.bad_debt.iter().sum()),
        uncovered_bad_debt: q(ledger.uncovered_bad_debt.0),
        insurance_fund: q(ledger.insurance_fund.0),
        rejected_orders,
    }
}
