//! The run summary: the scalar metrics of a finished run (drawdown, the
//! largest cascade, liquidated notional, bad debt, spill-over), computed once
//! from the recorded tick columns.

use crate::accounts::ledger::Ledger;
use crate::record::ticks::{Start, TickCols};
use serde::{Deserialize, Serialize};

/// The scalar results of a run.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct RunSummary {
    /// Ticks run.
    pub ticks: u64,
    /// Largest peak-to-trough fall of the first market's mark, as a
    /// fraction of the peak, measured from the price before the first tick.
    pub max_drawdown: f64,
    /// Tick of the trough of that fall.
    pub trough_tick: u64,
    /// Ticks from the trough until the mark recovers half the fall; `None`
    /// if it never does within the run.
    pub half_recovery_ticks: Option<u64>,
    /// The fall of the first market's fundamental, as a fraction, in the
    /// window of [`RunSummary::mark_fall`]: with news, from its mean over
    /// the [`PRE_NEWS_TICKS`] ticks before the news to its lowest value
    /// from the news on; without, its largest peak-to-trough fall within
    /// the window of the mark's largest fall.
    #[serde(default)]
    pub fundamental_drawdown: f64,
    /// The fall of the first market's mark that `amplification` compares:
    /// with news (a scheduled fall of the fundamental), from the mark's
    /// mean over the [`PRE_NEWS_TICKS`] ticks before the news to its lowest
    /// value from the news on; without, `max_drawdown`. Averaging the
    /// level before the news keeps the noise of a single tick out of the
    /// start, so an unlevered market that only follows the news measures 1.
    #[serde(default)]
    pub mark_fall: f64,
    /// `mark_fall / fundamental_drawdown`: how much further the mark fell
    /// than the fundamental, measured the same way. Above 1 when the
    /// market's own dynamics (liquidations through the book and the index)
    /// deepen the fall; `None` when the fundamental did not fall. The ratio
    /// is ill-conditioned when the fundamental barely fell (a quiet
    /// fundamental under a volatile mark gives large values): read it with
    /// `fundamental_drawdown`.
    #[serde(default)]
    pub amplification: Option<f64>,
    /// `1 − fundamental_drawdown / mark_fall`: the share of the mark's
    /// fall that the fundamental does not account for (negative when the
    /// mark fell less); `None` when the mark did not fall.
    #[serde(default)]
    pub endogenous_share: Option<f64>,
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
    /// Bad debt the insurance fund paid, quote units.
    #[serde(default)]
    pub fund_used: f64,
    /// Largest fall of the insurance fund from its running peak, starting
    /// from its level before the first tick, quote units.
    #[serde(default)]
    pub fund_drawdown: f64,
    /// Profits taken from accounts by socialised loss, in every market,
    /// quote units.
    #[serde(default)]
    pub socialized_loss: f64,
    /// Notional of the positions that auto-deleveraging closed, at their
    /// bankruptcy prices, in every market, quote units.
    #[serde(default)]
    pub adl_notional: f64,
    /// The negative equity of trader accounts at the end, at the final
    /// marks, quote units: losses that no liquidation has realised (the
    /// book could not absorb the position, or its auction is unsold), so
    /// that no bad-debt figure includes them.
    #[serde(default)]
    pub unrealised_bad_debt: f64,
    /// Trader accounts with negative equity at the end.
    #[serde(default)]
    pub insolvent_accounts: u64,
    /// Orders rejected by the margin check.
    pub rejected_orders: u64,
    /// The largest share of the value traders' position limits in use at
    /// the start of a tick (0 to 1; `None` without value traders): how
    /// much of the floor's value capital the run used.
    #[serde(default)]
    pub value_capital_used: Option<f64>,
    /// The largest share of the market makers' inventory limits in use at
    /// the start of a tick (`None` without makers).
    #[serde(default)]
    pub maker_inventory_used: Option<f64>,
}

/// The largest peak-to-trough fall of `series`, as a fraction of the peak,
/// with the positions of that peak and of the trough.
fn drawdown(series: &[i64]) -> (f64, usize, usize) {
    let (mut peak, mut best, mut at) = (0_usize, 0.0_f64, (0_usize, 0_usize));
    for (i, &x) in series.iter().enumerate() {
        if x > series[peak] {
            peak = i;
        }
        let dd = (series[peak] - x) as f64 / series[peak] as f64;
        if dd > best {
            best = dd;
            at = (peak, i);
        }
    }
    (best, at.0, at.1)
}

/// Ticks before the news over which the level that a fall starts from is
/// averaged (see [`RunSummary::mark_fall`]).
pub const PRE_NEWS_TICKS: usize = 60;

/// The fall of `series` from its mean over the [`PRE_NEWS_TICKS`]
/// positions before position `news` to its lowest value from `news` on, as
/// a fraction of that mean.
fn fall_after(series: &[i64], news: usize) -> f64 {
    let before = &series[news.saturating_sub(PRE_NEWS_TICKS)..news];
    let level = before.iter().map(|&x| x as f64).sum::<f64>() / before.len() as f64;
    let low = series[news..].iter().copied().min().unwrap_or(0) as f64;
    (level - low) / level
}

/// The largest fall of `series` from its running peak, in its units.
fn largest_fall(series: impl IntoIterator<Item = i64>) -> i64 {
    let mut peak = i64::MIN;
    series
        .into_iter()
        .map(|x| {
            peak = peak.max(x);
            peak.saturating_sub(x)
        })
        .max()
        .unwrap_or(0)
}

pub(super) fn summarise(
    t: &TickCols,
    start: &[Start],
    ledger: &Ledger,
    rejected_orders: u64,
    fund_start: i64,
) -> RunSummary {
    // Each market's series starts with its price before the first tick, so
    // that a fall inside tick 0 counts.
    let series = |name: &str, col: &[i64], before: fn(&Start) -> i64| -> (Vec<usize>, Vec<i64>) {
        let rows: Vec<usize> = (0..t.tick.len()).filter(|i| t.market[*i] == name).collect();
        let first = start.iter().find(|s| s.market == name).map(before);
        let values = first.into_iter().chain(rows.iter().map(|&i| col[i])).collect();
        (rows, values)
    };
    let name = t.market.first().cloned().unwrap_or_default();
    let (rows, marks) = series(&name, &t.mark, |s| s.mark);
    let (_, fundamentals) = series(&name, &t.fundamental, |s| s.fundamental);
    // Position k of a series is row k − 1 when the series has its start.
    let offset = marks.len() - rows.len();
    let tick_at = |k: usize| k.checked_sub(offset).map_or(0, |r| t.tick[rows[r]]);
    let (best_dd, peak, trough) = drawdown(&marks);
    // The news as a position of the series; none if it is after the run.
    let news = start.iter().find(|s| s.market == name).and_then(|s| s.news);
    let news = news.and_then(|n| usize::try_from(n).ok()).map(|n| n + offset).filter(|&k| k >= 1 && k < marks.len());
    let (mark_fall, fundamental_dd) = match news {
        Some(k) => (fall_after(&marks, k), fall_after(&fundamentals, k)),
        None if best_dd > 0.0 => (best_dd, drawdown(&fundamentals[peak..=trough]).0),
        None => (best_dd, 0.0),
    };
    let mut others: Vec<&String> = t.market.iter().filter(|m| **m != name).collect();
    others.sort();
    others.dedup();
    let spillover_drawdown =
        others.into_iter().map(|m| drawdown(&series(m, &t.mark, |s| s.mark).1).0).fold(0.0, f64::max);
    let half_recovery_ticks = (best_dd > 0.0)
        .then(|| {
            let level = marks[trough] as f64 + 0.5 * (marks[peak] - marks[trough]) as f64;
            (trough + 1..marks.len()).find(|&k| marks[k] as f64 >= level).map(|k| tick_at(k) - tick_at(trough))
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
        trough_tick: tick_at(trough),
        half_recovery_ticks,
        fundamental_drawdown: fundamental_dd,
        mark_fall,
        amplification: (fundamental_dd > 0.0).then(|| mark_fall / fundamental_dd),
        endogenous_share: (mark_fall > 0.0).then(|| 1.0 - fundamental_dd / mark_fall),
        n_liquidations: t.liquidations.iter().sum(),
        liquidated_notional: q(per_tick.values().sum()),
        largest_cascade: q(per_tick.values().copied().max().unwrap_or(0)),
        spillover_drawdown,
        spillover_notional: q((0..t.tick.len())
            .filter(|i| t.market[*i] != name)
            .map(|i| t.liquidated_long[i] + t.liquidated_short[i])
            .sum()),
        max_rounds: t.liquidation_rounds.iter().copied().max().unwrap_or(0),
        bad_debt: q(t.bad_debt.iter().sum()),
        uncovered_bad_debt: q(ledger.uncovered_bad_debt.0),
        insurance_fund: q(ledger.insurance_fund.0),
        fund_used: q(ledger.covered_bad_debt.0),
        fund_drawdown: q(largest_fall(std::iter::once(fund_start).chain(rows.iter().map(|&i| t.insurance_fund[i])))),
        socialized_loss: q(t.socialized_loss.iter().sum()),
        // Filled in by the recorder, which has the events.
        adl_notional: 0.0,
        rejected_orders,
        // Filled in by the recorder, which has the final marks.
        unrealised_bad_debt: 0.0,
        insolvent_accounts: 0,
        value_capital_used: None,
        maker_inventory_used: None,
    }
}

#[cfg(test)]
mod tests {
    use super::{PRE_NEWS_TICKS, drawdown, fall_after, largest_fall};

    #[test]
    fn the_fund_falls_from_its_running_peak() {
        assert_eq!(largest_fall([100, 120, 90, 110, 60, 200]), 60);
        assert_eq!(largest_fall([100, 100]), 0);
        assert_eq!(largest_fall(Vec::new()), 0);
    }
    use crate::engine::testing::*;
    use crate::market::MarkMethod;
    use crate::market::index::IndexProcess;

    #[test]
    fn a_fall_inside_the_first_tick_counts() {
        // The fundamental stays at 1,000; a sale at 900 in tick 0 sets the
        // mark (the last trade) there.
        let mut sim = Simulation::new(hand_params(0)).unwrap();
        let m = MarketId(0);
        let bidder = trader(&mut sim, "bidder", MarginMode::Cross, 1_000_000);
        let seller = trader(&mut sim, "seller", MarginMode::Cross, 1_000_000);
        let mut q = sim.world_mut().resource_mut::<OrderQueue>();
        q.place(Priority::FAST, bidder, m, Side::Buy, Lots(10), OrderKind::Limit { price: Price(900) });
        q.place(Priority::NORMAL, seller, m, Side::Sell, Lots(10), OrderKind::Market);
        sim.run(3);
        let s = sim.finish().unwrap().summary;
        assert_eq!((s.max_drawdown, s.trough_tick), (0.1, 0));
        assert_eq!(s.fundamental_drawdown, 0.0);
        assert_eq!(s.amplification, None);
        assert_eq!(s.endogenous_share, Some(1.0));
    }

    #[test]
    fn a_fall_after_news_starts_from_the_mean_level_before_it() {
        // Before the news at position 4: 1000, 1010, 990, 1000 (mean 1000);
        // the low from then on is 900, so the fall is 10%, where the
        // largest peak-to-trough fall, from the noisy 1010, is 10.9%.
        let series = [1_000, 1_010, 990, 1_000, 900, 950];
        assert!((fall_after(&series, 4) - 0.1).abs() < 1e-12);
        assert!((drawdown(&series).0 - 110.0 / 1_010.0).abs() < 1e-12);
        // Only the last PRE_NEWS_TICKS positions before the news count.
        let mut long = vec![2_000; 10];
        long.extend(std::iter::repeat_n(1_000, PRE_NEWS_TICKS));
        long.push(800);
        assert!((fall_after(&long, long.len() - 1) - 0.2).abs() < 1e-12);
    }

    #[test]
    fn amplification_is_one_when_the_mark_is_the_fundamental() {
        let mut params = hand_params(0);
        params.markets[0].mark = MarkMethod::Index;
        params.markets[0].index.process = IndexProcess::Replay { prices: [1_000, 1_000, 900, 950].map(Price).to_vec() };
        let mut sim = Simulation::new(params).unwrap();
        sim.run(4);
        let s = sim.finish().unwrap().summary;
        assert_eq!((s.max_drawdown, s.fundamental_drawdown, s.trough_tick), (0.1, 0.1, 2));
        assert_eq!(s.amplification, Some(1.0));
        assert_eq!(s.endogenous_share, Some(0.0));
        // Half of the fall (950) is won back one tick after the trough.
        assert_eq!(s.half_recovery_ticks, Some(1));
    }
}
