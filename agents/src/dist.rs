//! Distributions for drawing agent attributes (side, leverage, size, entry),
//! as written in experiment files.

use cascade_framework::ParamError;
use rand::{Rng, RngExt};
use rand_distr::{Distribution, LogNormal, Normal, Pareto};
use serde::{Deserialize, Serialize};

/// A distribution over real numbers.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(tag = "dist", rename_all = "snake_case", deny_unknown_fields)]
pub enum Dist {
    /// Always `value`.
    Fixed {
        /// The value.
        value: f64,
    },
    /// Uniform on `[low, high)`.
    Uniform {
        /// Lower bound.
        low: f64,
        /// Upper bound.
        high: f64,
    },
    /// Normal with `mean` and `stdev`.
    Normal {
        /// Mean.
        mean: f64,
        /// Standard deviation.
        stdev: f64,
    },
    /// Lognormal: `exp(N(ln median, sigma^2))`.
    Lognormal {
        /// Median.
        median: f64,
        /// Standard deviation of the log.
        sigma: f64,
    },
    /// Pareto with minimum `scale` and tail index `shape`.
    Pareto {
        /// Minimum value.
        scale: f64,
        /// Tail index (smaller is heavier).
        shape: f64,
    },
    /// A discrete mix: pick a component with probability proportional to
    /// its weight, then draw from it.
    Mix {
        /// (weight, distribution) pairs.
        components: Vec<(f64, Dist)>,
    },
}

impl Dist {
    /// Checks the parameters.
    pub fn validate(&self, field: &str) -> Result<(), ParamError> {
        let bad = |what: &str| Err(ParamError::invalid(field, what));
        let finite = |x: f64| x.is_finite();
        match self {
            Dist::Fixed { value } if !finite(*value) => bad("value must be finite"),
            Dist::Uniform { low, high } if !(finite(*low) && finite(*high) && low < high) => {
                bad("uniform needs finite low < high")
            }
            Dist::Normal { mean, stdev } if !(finite(*mean) && finite(*stdev) && *stdev >= 0.0) => {
                bad("normal needs a finite mean and stdev >= 0")
            }
            Dist::Lognormal { median, sigma }
                if !(finite(*median) && *median > 0.0 && finite(*sigma) && *sigma >= 0.0) =>
            {
                bad("lognormal needs median > 0 and sigma >= 0")
            }
            Dist::Pareto { scale, shape } if !(finite(*scale) && *scale > 0.0 && finite(*shape) && *shape > 0.0) => {
                bad("pareto needs scale > 0 and shape > 0")
            }
            Dist::Mix { components } => {
                if components.is_empty() || components.iter().any(|(w, _)| !(w.is_finite() && *w >= 0.0)) {
                    return bad("a mix needs at least one component and non-negative weights");
                }
                if components.iter().map(|(w, _)| w).sum::<f64>() <= 0.0 {
                    return bad("a mix needs a positive total weight");
                }
                for (i, (_, d)) in components.iter().enumerate() {
                    d.validate(&format!("{field}.components[{i}]"))?;
                }
                Ok(())
            }
            _ => Ok(()),
        }
    }

    /// Checks that a fixed value or a uniform range (also inside a mix)
    /// lies in `[lo, hi]`, where values outside would be clamped. The tails
    /// of a normal, lognormal or Pareto draw are clamped, as the field's
    /// docs say.
    pub fn check_within(&self, field: &str, lo: f64, hi: f64) -> Result<(), ParamError> {
        let outside = |a: f64, b: f64| {
            Err(ParamError::invalid(
                field,
                format!("draws from {a} to {b} would be clamped: use values between {lo} and {hi}"),
            ))
        };
        match self {
            Dist::Fixed { value } if *value < lo || *value > hi => outside(*value, *value),
            Dist::Uniform { low, high } if *low < lo || *high > hi => outside(*low, *high),
            Dist::Mix { components } => {
                for (i, (_, d)) in components.iter().enumerate() {
                    d.check_within(&format!("{field}.components[{i}]"), lo, hi)?;
                }
                Ok(())
            }
            _ => Ok(()),
        }
    }

    /// One draw.
    pub fn sample<R: Rng + ?Sized>(&self, rng: &mut R) -> f64 {
        match self {
            Dist::Fixed { value } => *value,
            Dist::Uniform { low, high } => low + (high - low) * rng.random::<f64>(),
            Dist::Normal { mean, stdev } => Normal::new(*mean, *stdev).map_or(*mean, |d| d.sample(rng)),
            Dist::Lognormal { median, sigma } => LogNormal::new(median.ln(), *sigma).map_or(*median, |d| d.sample(rng)),
            Dist::Pareto { scale, shape } => Pareto::new(*scale, *shape).map_or(*scale, |d| d.sample(rng)),
            Dist::Mix { components } => {
                let total: f64 = components.iter().map(|(w, _)| w).sum();
                let mut u = rng.random::<f64>() * total;
                for (w, d) in components {
                    if u < *w {
                        return d.sample(rng);
                    }
                    u -= w;
                }
                components.last().map_or(0.0, |(_, d)| d.sample(rng))
            }
        }
    }

    /// A fixed value.
    pub fn fixed(value: f64) -> Dist {
        Dist::Fixed { value }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use cascade_framework::core::rng::{RunSeed, StreamKey};

    #[test]
    fn draws_respect_their_support() {
        let mut rng = RunSeed(3).stream(StreamKey::Sequencer);
        let u = Dist::Uniform { low: 2.0, high: 3.0 };
        let p = Dist::Pareto { scale: 5.0, shape: 1.5 };
        let m = Dist::Mix { components: vec![(1.0, Dist::fixed(10.0)), (0.0, Dist::fixed(20.0))] };
        for _ in 0..1000 {
            let x = u.sample(&mut rng);
            assert!((2.0..3.0).contains(&x));
            assert!(p.sample(&mut rng) >= 5.0);
            assert_eq!(m.sample(&mut rng), 10.0);
        }
    }

    #[test]
    fn bad_parameters_name_the_field() {
        let e = Dist::Uniform { low: 3.0, high: 2.0 }.validate("leverage").unwrap_err();
        assert!(matches!(e, ParamError::Invalid { field, .. } if field == "leverage"));
        let e = Dist::Mix { components: vec![(1.0, Dist::Lognormal { median: -1.0, sigma: 1.0 })] }
            .validate("size")
            .unwrap_err();
        assert!(matches!(e, ParamError::Invalid { field, .. } if field == "size.components[0]"));
    }
}
