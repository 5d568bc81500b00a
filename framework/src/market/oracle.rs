//! Oracle indices: a perpetual's index computed from named spot venues, as
//! exchanges compute theirs, so that what happens on spot (arbitrageurs
//! selling into it during a perp crash) reaches the index and the mark.
//!
//! Each tick, in Observe and before the marks, every venue gives a price in
//! ticks: its mid `(best bid + best ask) / 2` (or its last trade, with
//! `source: last_trade`; a venue with neither is left out). The raw value
//! is their median (the mean of the two middle values for an even count,
//! rounded down) or their weighted mean (rounded down). The candidate is
//! the mean of the raw values of the last `twap_ticks` ticks, rounded down.
//! It is published when
//!
//! ```text
//! heartbeat_ticks = 0 and deviation = 0              (every tick), or
//! tick − last_published ≥ heartbeat_ticks            (heartbeat > 0), or
//! |candidate − published| ≥ deviation × published    (deviation > 0)
//! ```
//!
//! and the index is the last published value. Venue prices must be in the
//! perpetual's units: the same tick value, one base unit per lot.

use crate::core::error::ParamError;
use crate::core::units::{MarketId, Price, round_to_i64};
use serde::{Deserialize, Serialize};
use std::collections::VecDeque;

/// How the venues' prices are combined.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum OracleMethod {
    /// The median.
    #[default]
    Median,
    /// The mean, weighted by `weights` (equal weights when absent).
    Mean,
}

/// Which price of a venue is read.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum OracleSource {
    /// The mid of the best bid and ask (the last trade when a side is
    /// empty).
    #[default]
    Mid,
    /// The last trade.
    LastTrade,
}

/// An oracle over spot venues (see the module docs).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct OracleParams {
    /// Names of the spot markets read.
    pub venues: Vec<String>,
    /// Median or weighted mean.
    #[serde(default)]
    pub method: OracleMethod,
    /// Weights of the venues for the mean, one each, positive.
    #[serde(default)]
    pub weights: Vec<f64>,
    /// Mid or last trade.
    #[serde(default)]
    pub source: OracleSource,
    /// Publish at least every this many ticks (0: no heartbeat).
    #[serde(default)]
    pub heartbeat_ticks: u64,
    /// Publish when the candidate has moved this fraction from the
    /// published value (0: no deviation rule).
    #[serde(default)]
    pub deviation: f64,
    /// Ticks averaged into the candidate, at least 1 and at most 10,000.
    #[serde(default = "one")]
    pub twap_ticks: u32,
}

impl OracleParams {
    /// The median of the mids of `venues`, published every tick.
    pub fn median_of_mids(venues: &[&str]) -> OracleParams {
        OracleParams {
            venues: venues.iter().map(|v| (*v).to_owned()).collect(),
            method: OracleMethod::Median,
            weights: vec![],
            source: OracleSource::Mid,
            heartbeat_ticks: 0,
            deviation: 0.0,
            twap_ticks: 1,
        }
    }
}

fn one() -> u32 {
    1
}

impl OracleParams {
    /// Checks the parameters on their own (the venues are checked against
    /// the markets by the simulation's validation).
    pub fn validate(&self) -> Result<(), ParamError> {
        if self.venues.is_empty() {
            return Err(ParamError::invalid("venues", "name at least one spot market"));
        }
        if !self.weights.is_empty()
            && (self.weights.len() != self.venues.len() || self.weights.iter().any(|w| !(w.is_finite() && *w > 0.0)))
        {
            return Err(ParamError::invalid("weights", "one positive weight per venue"));
        }
        if !(self.deviation.is_finite() && (0.0..1.0).contains(&self.deviation)) {
            return Err(ParamError::invalid("deviation", "must be in [0, 1)"));
        }
        if !(1..=10_000).contains(&self.twap_ticks) {
            return Err(ParamError::invalid("twap_ticks", "must be between 1 and 10,000"));
        }
        Ok(())
    }
}

/// An oracle's running state.
#[derive(Clone, Debug)]
pub struct Oracle {
    params: OracleParams,
    /// The venues, resolved.
    pub venues: Vec<MarketId>,
    window: VecDeque<i64>,
    published: Price,
    published_at: u64,
}

impl Oracle {
    /// An oracle over `venues` that has published `start` at tick 0.
    pub fn new(params: OracleParams, venues: Vec<MarketId>, start: Price) -> Oracle {
        Oracle { params, venues, window: VecDeque::new(), published: start, published_at: 0 }
    }

    /// Combines the venues' prices of this tick (in venue order, `None`
    /// for a venue with no price).
    pub fn combine(&self, prices: &[Option<Price>]) -> Option<Price> {
        let mut v: Vec<(i64, f64)> = prices
            .iter()
            .enumerate()
            .filter_map(|(i, p)| Some((p.as_ref()?.0, self.params.weights.get(i).copied().unwrap_or(1.0))))
            .collect();
        if v.is_empty() {
            return None;
        }
        Some(Price(match self.params.method {
            OracleMethod::Median => {
                v.sort_by_key(|x| x.0);
                let n = v.len();
                if n % 2 == 1 { v[n / 2].0 } else { mean_of([v[n / 2 - 1].0, v[n / 2].0].into_iter()) }
            }
            OracleMethod::Mean => {
                let w: f64 = v.iter().map(|x| x.1).sum();
                round_to_i64((v.iter().map(|x| x.0 as f64 * x.1).sum::<f64>() / w).floor())
            }
        }))
    }

    /// Takes this tick's raw value (none: no venue had a price) and
    /// returns the index.
    pub fn observe(&mut self, tick: u64, raw: Option<Price>) -> Price {
        let Some(raw) = raw else { return self.published };
        self.window.push_back(raw.0);
        while self.window.len() > self.params.twap_ticks as usize {
            self.window.pop_front();
        }
        let candidate = Price(mean_of(self.window.iter().copied()).max(1));
        let p = &self.params;
        let every_tick = p.heartbeat_ticks == 0 && p.deviation == 0.0;
        let beat = p.heartbeat_ticks > 0 && tick.saturating_sub(self.published_at) >= p.heartbeat_ticks;
        let moved =
            p.deviation > 0.0 && (candidate.0 - self.published.0).abs() as f64 >= p.deviation * self.published.0 as f64;
        if every_tick || beat || moved {
            self.published = candidate;
            self.published_at = tick;
        }
        self.published
    }

    /// The source a venue is read at.
    pub fn source(&self) -> OracleSource {
        self.params.source
    }
}

/// The mean of prices, rounded down, summed in `i128`: a window of
/// prices near `i64::MAX` does not overflow.
fn mean_of(prices: impl ExactSizeIterator<Item = i64>) -> i64 {
    let n = i128::try_from(prices.len()).unwrap_or(i128::MAX).max(1);
    let sum: i128 = prices.map(i128::from).sum();
    // The mean of i64 values is an i64.
    i64::try_from(sum.div_euclid(n)).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn every_tick(venue: &str) -> OracleParams {
        OracleParams::median_of_mids(&[venue])
    }

    fn oracle(heartbeat_ticks: u64, deviation: f64, twap_ticks: u32) -> Oracle {
        let params = OracleParams { heartbeat_ticks, deviation, twap_ticks, ..every_tick("A") };
        Oracle::new(params, vec![MarketId(0)], Price(1_000))
    }

    fn run(o: &mut Oracle, raw: &[i64]) -> Vec<i64> {
        raw.iter().enumerate().map(|(t, r)| o.observe(t as u64 + 1, Some(Price(*r))).0).collect()
    }

    #[test]
    fn without_rules_it_publishes_every_tick() {
        assert_eq!(run(&mut oracle(0, 0.0, 1), &[1_000, 990, 1_005]), [1_000, 990, 1_005]);
    }

    #[test]
    fn a_heartbeat_publishes_every_n_ticks() {
        // Published at 0; ticks 1, 2 wait; 3 publishes 970; 4, 5 wait; 6 publishes.
        assert_eq!(run(&mut oracle(3, 0.0, 1), &[990, 980, 970, 960, 950, 940]), [1_000, 1_000, 970, 970, 970, 940]);
    }

    #[test]
    fn a_deviation_rule_publishes_moves_of_one_percent() {
        // 995 is 0.5% from 1,000: held; 989 is 1.1%: published; 985 is
        // 0.4% from 989: held; 1,000 is 1.1% from 989: published.
        assert_eq!(run(&mut oracle(0, 0.01, 1), &[995, 989, 985, 1_000]), [1_000, 989, 989, 1_000]);
    }

    #[test]
    fn a_twap_averages_the_window() {
        // Windows: [990], [990, 960], [990, 960, 930], [960, 930, 900].
        assert_eq!(run(&mut oracle(0, 0.0, 3), &[990, 960, 930, 900]), [990, 975, 960, 930]);
        // Prices near the top of i64 average without overflow.
        let top = i64::MAX - 1;
        assert_eq!(run(&mut oracle(0, 0.0, 3), &[top, top, top]), [top, top, top]);
        let o = oracle(0, 0.0, 1);
        assert_eq!(o.combine(&[Some(Price(top)), Some(Price(top))]), Some(Price(top)));
    }

    #[test]
    fn the_median_and_the_weighted_mean_of_venues() {
        let o = oracle(0, 0.0, 1);
        let p = |x: &[Option<i64>]| x.iter().map(|v| v.map(Price)).collect::<Vec<_>>();
        assert_eq!(o.combine(&p(&[Some(1_000), Some(980), Some(990)])), Some(Price(990)));
        assert_eq!(o.combine(&p(&[Some(1_000), Some(981)])), Some(Price(990)));
        assert_eq!(o.combine(&p(&[None, Some(981)])), Some(Price(981)));
        assert_eq!(o.combine(&p(&[None, None])), None);
        let mut mean = o.clone();
        mean.params.method = OracleMethod::Mean;
        mean.params.weights = vec![3.0, 1.0];
        assert_eq!(mean.combine(&p(&[Some(1_000), Some(960)])), Some(Price(990)));
    }

    /// A spot buy that lifts the venue's ask moves its mid, and so the
    /// perpetual's index at the next Observe. The venue quotes 10 lots at
    /// 995 / 1,005 and 10 at 985 / 1,015 around the fundamental of 1,000;
    /// taking the 10 at 1,005 leaves 995 / 1,015: mid 1,005.
    #[test]
    fn a_spot_trade_moves_the_perpetuals_index() {
        use crate::engine::testing::*;
        use crate::market::index::IndexProcess;
        use crate::market::params::SpotParams;
        let mut params = hand_params(0);
        let mut spot = hand_market();
        spot.name = "SPOT".into();
        spot.index.process = IndexProcess::Follow { market: "TEST".into() };
        spot.spot = Some(SpotParams { base: "BTC".into(), provider_base: Lots(100), amm: None });
        (spot.depth.levels, spot.depth.lots_at_best, spot.depth.growth) = (2, 10, 1.0);
        spot.depth.provider_collateral = Micros(1_000_000);
        params.markets.push(spot);
        params.markets[0].oracle = Some(every_tick("SPOT"));
        let mut sim = Simulation::new(params).unwrap();
        let t = trader(&mut sim, "T", MarginMode::Cross, 100_000);
        sim.step();
        assert_eq!(sim.markets().get(MarketId(0)).index.price, Price(1_000));
        let ioc = OrderKind::Ioc { price: Price(1_005) };
        sim.world_mut().resource_mut::<OrderQueue>().place(Priority::NORMAL, t, MarketId(1), Side::Buy, Lots(10), ioc);
        sim.step();
        // The trade is in tick 1's Match; the oracle reads it at tick 2.
        assert_eq!(sim.markets().get(MarketId(0)).index.price, Price(1_000));
        sim.step();
        assert_eq!(sim.markets().get(MarketId(0)).index.price, Price(1_005));
        assert_eq!(sim.markets().get(MarketId(0)).index.fundamental, Price(1_000));
        assert_conserved(&sim);
    }

    #[test]
    fn venues_that_are_not_spot_markets_are_named() {
        use crate::engine::testing::*;
        let mut params = hand_params(0);
        params.markets[0].oracle = Some(every_tick("TEST"));
        match Simulation::new(params) {
            Err(ParamError::Invalid { field, .. }) => assert_eq!(field, "markets[0].oracle.venues[0]"),
            other => panic!("expected an error, got {other:?}"),
        }
    }
}
