//! The `check:` section of a replication: what was published, and the
//! claims that the runs must bear out.

use cascade_agents::framework::ParamError;
use cascade_agents::framework::record::FrameKind;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// A published result and the claims that reproduce it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Check {
    /// The paper (authors, year, venue) or document.
    pub source: String,
    /// The figure, table or section of the source.
    pub figure: String,
    /// The claims, each a statistic of the runs and the band it must lie in.
    pub claims: Vec<Claim>,
    /// Changes (`path: value`) for `cascade replicate --quick`: a smaller
    /// budget for continuous integration.
    #[serde(default)]
    pub quick: BTreeMap<String, serde_json::Value>,
}

/// One claim: a statistic of every run, averaged over replicates, whose
/// 95% interval must lie inside `band`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Claim {
    /// What the claim says, in a sentence.
    pub says: String,
    /// The statistic.
    pub statistic: Statistic,
    /// The sweep variant it is measured at; every point when absent.
    #[serde(default)]
    pub variant: Option<String>,
    /// Measure the difference from the reference variant (the sweep's
    /// first, or `against`), replicate by replicate on the same seed,
    /// instead of the level.
    #[serde(default)]
    pub paired: bool,
    /// The variant a paired claim is measured against, when not the first.
    #[serde(default)]
    pub against: Option<String>,
    /// Fit a power law across variants instead: `variant: x` for each
    /// point of the fit. Replicate by replicate, the slope of
    /// `ln(statistic)` on `ln(x)` by least squares over these variants is
    /// the claim's value (the exponent δ of `statistic ∝ x^δ`); a
    /// replicate where the statistic is not positive at every point is
    /// left out.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub slope: Option<BTreeMap<String, f64>>,
    /// What `x` of the fit is, for the chart's axis.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub slope_label: Option<String>,
    /// Lower and upper bounds of the band (`null` for none).
    pub band: (Option<f64>, Option<f64>),
}

/// A statistic of one run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Statistic {
    /// A summary metric of the run (`max_drawdown`, `amplification`,
    /// `n_liquidations`, ...: the fields of `summary.parquet`).
    Metric {
        /// The metric.
        name: String,
    },
    /// The first tick in which anything was liquidated.
    FirstLiquidationTick,
    /// The mean profit and loss of a population's agents, quote.
    PopulationPnl {
        /// The population.
        population: String,
    },
    /// The peak impact of the metaorders of a population of execution
    /// agents: `ε (mid_T − mid_0) / mid_0`, from the arrival mid to the mid
    /// after the last child, `ε = +1` for a buy and `−1` for a sell,
    /// averaged over the population's agents (`executions.parquet`).
    ExecutionImpact {
        /// The execution agents' population.
        population: String,
        /// The end price: `mid` (the default), `last_trade`, or `touch`,
        /// the best quote on the side the metaorder trades against (the
        /// bid for a sell): how far it pushed the book. In a book whose
        /// other side is anchored to the fundamental, the mid moves half
        /// as far, less a constant half-spread, which bends a log-log fit;
        /// the last trade may be a noise trade either way.
        #[serde(default)]
        price: ImpactPrice,
    },
    /// The share of auctioned value (lots × mark at the take) that keepers
    /// took at a price of at most `at_most` times the mark: the zero-bid
    /// share with `at_most: 0` (`events.parquet`). Auctions never taken
    /// are not in it.
    ZeroBidShare {
        /// The highest price, as a fraction of the mark, that counts.
        #[serde(default)]
        at_most: f64,
    },
    /// The overshoot of the first market's mark below its fundamental: the
    /// largest `(f − p) / f` over the run (`stats::overshoot`).
    Overshoot,
    /// Ticks after the trough of the first market's largest fall until the
    /// mark wins back `fraction` of it (`stats::recovery_ticks`); runs that
    /// never do are left out.
    RecoveryTicks {
        /// The share of the fall won back.
        #[serde(default = "half")]
        fraction: f64,
    },
    /// The long share of liquidated notional (`liquidated_long` over both
    /// sides, every market, `ticks.parquet`).
    LongShare,
    /// Excess kurtosis of the mark's log returns.
    Kurtosis {
        /// The returns' horizon, ticks.
        #[serde(default = "one")]
        horizon: usize,
        /// The ticks used, from and to (the whole run when absent).
        #[serde(default)]
        window: Option<(u64, u64)>,
        /// The price whose returns are taken: `mark` (the default) or
        /// `mid`, the middle of the best bid and ask (ticks with a side
        /// empty are left out).
        #[serde(default)]
        price: ReturnPrice,
    },
    /// The Hill tail exponent of the absolute log returns of the mark
    /// (the largest 5%, at least 10).
    Hill {
        /// The returns' horizon, ticks.
        #[serde(default = "one")]
        horizon: usize,
        /// The ticks used.
        #[serde(default)]
        window: Option<(u64, u64)>,
        /// The price whose returns are taken.
        #[serde(default)]
        price: ReturnPrice,
    },
    /// The largest |autocorrelation| of the mark's log returns over lags
    /// `from..=to`.
    MaxAbsAcf(Lags),
    /// The mean autocorrelation of the absolute log returns of the mark
    /// over lags `from..=to` (volatility clustering).
    MeanAbsReturnAcf(Lags),
    /// How slowly volatility clustering decays (Cont 2001, fact 8): the
    /// exponent `β` of a power law `ACF(k) ∝ k^(−β)` fitted by least
    /// squares to the autocorrelation of the absolute returns over lags
    /// `from..=to` where it is positive (at least three).
    AbsAcfDecay(Lags),
    /// The leverage effect (Cont 2001, fact 9): the mean over lags
    /// `from..=to` of the correlation of a return with the absolute
    /// return `k` steps later; negative when falls raise later volatility.
    LeverageEffect(Lags),
    /// Aggregational Gaussianity (Cont 2001, fact 4): the excess kurtosis
    /// of `long`-tick returns less that of `horizon`-tick returns;
    /// negative when the tails thin as the horizon grows.
    KurtosisChange {
        /// The shorter horizon, ticks.
        #[serde(default = "one")]
        horizon: usize,
        /// The longer horizon, ticks.
        long: usize,
        /// The ticks used.
        #[serde(default)]
        window: Option<(u64, u64)>,
        /// The price whose returns are taken.
        #[serde(default)]
        price: ReturnPrice,
    },
}

/// The returns and lags of a statistic over lags (`from..=to`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Lags {
    /// The returns' horizon, ticks.
    #[serde(default = "one")]
    pub horizon: usize,
    /// First lag.
    pub from: usize,
    /// Last lag.
    pub to: usize,
    /// The ticks used.
    #[serde(default)]
    pub window: Option<(u64, u64)>,
    /// The price whose returns are taken.
    #[serde(default)]
    pub price: ReturnPrice,
}

/// The price whose log returns a statistic of returns takes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ReturnPrice {
    /// The mark.
    #[default]
    Mark,
    /// The mid of the best bid and ask.
    Mid,
}

/// The price a metaorder's impact is measured at, against the arrival mid.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ImpactPrice {
    /// The mid after the last child.
    #[default]
    Mid,
    /// The last trade after the last child.
    LastTrade,
    /// The best bid after the last child of a sell, the best ask of a buy.
    Touch,
}

fn half() -> f64 {
    0.5
}

fn one() -> usize {
    1
}

impl Statistic {
    /// A name for tables and charts.
    pub fn label(&self) -> String {
        match self {
            Statistic::Metric { name } => name.clone(),
            Statistic::FirstLiquidationTick => "first liquidation tick".into(),
            Statistic::PopulationPnl { population } => format!("PnL per agent of {population} (quote)"),
            Statistic::ExecutionImpact { population, price } => format!(
                "peak impact of {population}'s metaorders{}",
                match price {
                    ImpactPrice::Mid => "",
                    ImpactPrice::LastTrade => " (last trade)",
                    ImpactPrice::Touch => " (touch)",
                }
            ),
            Statistic::ZeroBidShare { at_most } if *at_most == 0.0 => "zero-bid share of auctioned value".into(),
            Statistic::ZeroBidShare { at_most } => format!("share of auctioned value taken at ≤ {at_most} × mark"),
            Statistic::LongShare => "long share of liquidated notional".into(),
            Statistic::Overshoot => "overshoot of the mark below the fundamental".into(),
            Statistic::RecoveryTicks { fraction } => format!("ticks to win back {fraction} of the largest fall"),
            Statistic::Kurtosis { horizon, .. } => format!("excess kurtosis of {horizon}-tick returns"),
            Statistic::Hill { horizon, .. } => format!("Hill exponent of |{horizon}-tick returns|"),
            Statistic::MaxAbsAcf(Lags { horizon, from, to, .. }) => {
                format!("max |ACF| of {horizon}-tick returns, lags {from}-{to}")
            }
            Statistic::MeanAbsReturnAcf(Lags { horizon, from, to, .. }) => {
                format!("mean ACF of |{horizon}-tick returns|, lags {from}-{to}")
            }
            Statistic::AbsAcfDecay(Lags { horizon, from, to, .. }) => {
                format!("power-law decay exponent of the ACF of |{horizon}-tick returns|, lags {from}-{to}")
            }
            Statistic::LeverageEffect(Lags { horizon, from, to, .. }) => {
                format!("mean corr(r, |r| later) of {horizon}-tick returns, lags {from}-{to}")
            }
            Statistic::KurtosisChange { horizon, long, .. } => {
                format!("excess kurtosis of {long}-tick less {horizon}-tick returns")
            }
        }
    }
}

/// The largest lag of an autocorrelation claim, and the longest return
/// horizon: each lag costs a pass over a run's returns.
pub const MAX_LAG: usize = 1_000;

impl Statistic {
    /// The frame the statistic reads, besides the manifest.
    pub fn frame(&self) -> Option<FrameKind> {
        match self {
            Statistic::Metric { .. } => None,
            Statistic::PopulationPnl { .. } => Some(FrameKind::Agents),
            Statistic::ExecutionImpact { .. } => Some(FrameKind::Executions),
            Statistic::ZeroBidShare { .. } => Some(FrameKind::Events),
            Statistic::FirstLiquidationTick
            | Statistic::Overshoot
            | Statistic::RecoveryTicks { .. }
            | Statistic::LongShare
            | Statistic::Kurtosis { .. }
            | Statistic::Hill { .. }
            | Statistic::MaxAbsAcf(..)
            | Statistic::MeanAbsReturnAcf(..)
            | Statistic::AbsAcfDecay(..)
            | Statistic::LeverageEffect(..)
            | Statistic::KurtosisChange { .. } => Some(FrameKind::Ticks),
        }
    }
}

impl Check {
    /// Checks the section; `variants` are the sweep's variant names and
    /// `ticks` the runs' length.
    pub fn validate(&self, variants: &[&str], ticks: u64) -> Vec<ParamError> {
        let mut errors = Vec::new();
        if self.claims.is_empty() {
            errors.push(ParamError::invalid("check.claims", "a replication needs at least one claim"));
        }
        for (i, c) in self.claims.iter().enumerate() {
            let at = |f: &str| format!("check.claims[{i}].{f}");
            if let Some(v) = &c.variant
                && !variants.contains(&v.as_str())
            {
                errors.push(ParamError::invalid(
                    at("variant"),
                    format!("no sweep variant {v:?} (there are {variants:?})"),
                ));
            }
            if c.paired && (variants.len() < 2 || c.variant.is_none()) {
                errors.push(ParamError::invalid(
                    at("paired"),
                    "a paired claim names a variant other than the first, of a sweep with variants",
                ));
            }
            let reference = c.against.as_deref().or(variants.first().copied());
            if c.paired && c.variant.as_deref() == reference {
                errors.push(ParamError::invalid(at("variant"), "is the reference: pair another variant with it"));
            }
            if let Some(a) = &c.against {
                if !c.paired {
                    errors.push(ParamError::invalid(at("against"), "only a paired claim has a reference"));
                }
                if !variants.contains(&a.as_str()) {
                    errors.push(ParamError::invalid(
                        at("against"),
                        format!("no sweep variant {a:?} (there are {variants:?})"),
                    ));
                }
            }
            if let Some(xs) = &c.slope {
                if c.paired || c.variant.is_some() {
                    errors.push(ParamError::invalid(
                        at("slope"),
                        "a fit across variants is neither paired nor at one variant",
                    ));
                }
                if xs.len() < 3 {
                    errors.push(ParamError::invalid(at("slope"), "a fit needs at least three variants"));
                }
                for (v, x) in xs {
                    if !variants.contains(&v.as_str()) {
                        errors.push(ParamError::invalid(
                            at("slope"),
                            format!("no sweep variant {v:?} (there are {variants:?})"),
                        ));
                    }
                    if !(x.is_finite() && *x > 0.0) {
                        errors.push(ParamError::invalid(
                            at(&format!("slope.{v}")),
                            "must be positive, for its logarithm",
                        ));
                    }
                }
            }
            if let (Some(lo), Some(hi)) = c.band
                && lo > hi
            {
                errors.push(ParamError::invalid(at("band"), "the lower bound is above the upper"));
            }
            if c.band.0.is_none() && c.band.1.is_none() {
                errors.push(ParamError::invalid(at("band"), "give at least one bound"));
            }
            let lags = match &c.statistic {
                Statistic::MaxAbsAcf(l)
                | Statistic::MeanAbsReturnAcf(l)
                | Statistic::AbsAcfDecay(l)
                | Statistic::LeverageEffect(l) => Some((l.from, l.to)),
                _ => None,
            };
            if let Some((from, to)) = lags {
                if from == 0 || from > to {
                    errors.push(ParamError::invalid(at("statistic.from"), "lags need 1 <= from <= to"));
                } else if to > MAX_LAG {
                    errors.push(ParamError::invalid(at("statistic.to"), format!("at most lag {MAX_LAG}")));
                }
            }
            let (horizon, window) = match &c.statistic {
                Statistic::Kurtosis { horizon, window, .. }
                | Statistic::Hill { horizon, window, .. }
                | Statistic::MaxAbsAcf(Lags { horizon, window, .. })
                | Statistic::MeanAbsReturnAcf(Lags { horizon, window, .. })
                | Statistic::AbsAcfDecay(Lags { horizon, window, .. })
                | Statistic::LeverageEffect(Lags { horizon, window, .. }) => (Some(*horizon), *window),
                Statistic::KurtosisChange { long, window, .. } => (Some(*long), *window),
                _ => (None, None),
            };
            if let Statistic::KurtosisChange { horizon, long, .. } = &c.statistic
                && (*horizon == 0 || long <= horizon)
            {
                errors.push(ParamError::invalid(
                    at("statistic.long"),
                    format!("{long}: the longer horizon must exceed horizon ({horizon}), which is at least 1"),
                ));
            }
            if let (Some(h), Some((from, to))) = (horizon, window) {
                if from >= ticks {
                    errors.push(ParamError::invalid(
                        at("statistic.window"),
                        format!("starts at tick {from}, after the run's last ({})", ticks.saturating_sub(1)),
                    ));
                } else if to < from || to - from < h as u64 {
                    errors.push(ParamError::invalid(
                        at("statistic.window"),
                        format!(
                            "[{from}, {to}] holds no return of {h} ticks: give from < to, at least a horizon apart"
                        ),
                    ));
                }
            }
            if let Some(h) = horizon
                && (h == 0 || h > MAX_LAG || h as u64 >= ticks)
            {
                errors.push(ParamError::invalid(
                    at("statistic.horizon"),
                    format!(
                        "a horizon of 1 to {} ticks (below the run's {ticks} ticks)",
                        (MAX_LAG as u64).min(ticks.saturating_sub(1))
                    ),
                ));
            }
        }
        errors
    }
}
