//! Statistics of price series for checking a model against the stylised
//! facts (Cont 2001) and published results: returns at a horizon, excess
//! kurtosis, autocorrelations, the Hill tail exponent, and least squares
//! with a confidence interval. Plain functions of `f64` slices; each is
//! tested against scipy and numpy computing the same quantity
//! independently (`framework/tests/it/stats.rs`).
//!
//! ```text
//! log returns at horizon h:  r_i = ln p_{(i+1)h} − ln p_{ih}          (non-overlapping)
//! excess kurtosis:           κ = m4 / m2² − 3,  m_k = (1/n) Σ (x − x̄)^k   (scipy's default, biased)
//! autocorrelation at lag k:  ρ_k = Σ_{t<n−k} (x_t − x̄)(x_{t+k} − x̄) / Σ_t (x_t − x̄)²
//! Hill exponent, k largest:  α = k / Σ_{i=1..k} ln(X_(i) / X_(k+1)),  X_(1) ≥ X_(2) ≥ … of |x|
//! least squares:             y = a + b x, se(b) = √(Σ e² / (n − 2) / Σ (x − x̄)²)
//! overshoot:                 max_t max(0, (f_t − p_t) / f_t)      (p the price, f the fundamental)
//! recovery of a fraction q:  min { t > j : p_t ≥ p_j + q (p_i − p_j) } − j,
//!                            i, j the peak and trough of the largest peak-to-trough fall
//! ```
//!
//! The Hill estimator's `k` trades bias (large `k` reaches into the body)
//! against variance (small `k`); [`hill_default_k`] takes the largest 5% of
//! the sample, at least 10 points, the usual choice for return tails.

/// Non-overlapping log returns of `prices` at `horizon` steps: `ln p[(i+1)h]
/// − ln p[ih]` for every whole step that fits. Empty if `horizon` is 0.
pub fn log_returns(prices: &[f64], horizon: usize) -> Vec<f64> {
    if horizon == 0 {
        return Vec::new();
    }
    let sampled: Vec<f64> = prices.iter().step_by(horizon).map(|p| p.ln()).collect();
    sampled.windows(2).map(|w| w[1] - w[0]).collect()
}

fn mean(x: &[f64]) -> f64 {
    x.iter().sum::<f64>() / x.len() as f64
}

/// Excess kurtosis `m4 / m2² − 3` (biased moments); 0 for a normal
/// sample in the limit. NaN for fewer than two points or no variance.
pub fn excess_kurtosis(x: &[f64]) -> f64 {
    if x.len() < 2 {
        return f64::NAN;
    }
    let m = mean(x);
    let (m2, m4) = x.iter().fold((0.0, 0.0), |(a, b), v| {
        let d = (v - m) * (v - m);
        (a + d, b + d * d)
    });
    let n = x.len() as f64;
    (m4 / n) / (m2 / n).powi(2) - 3.0
}

/// Sample autocorrelation of `x` at `lag`, with the full-sample mean and
/// variance (as `statsmodels.tsa.stattools.acf`). NaN if `lag` leaves no
/// pairs or the series is constant.
pub fn autocorrelation(x: &[f64], lag: usize) -> f64 {
    if lag >= x.len() {
        return f64::NAN;
    }
    let m = mean(x);
    let var: f64 = x.iter().map(|v| (v - m) * (v - m)).sum();
    let cov: f64 = x.iter().zip(&x[lag..]).map(|(a, b)| (a - m) * (b - m)).sum();
    cov / var
}

/// The leverage correlation at `lag` (Cont 2001, fact 9): the Pearson
/// correlation of `r_t` with `|r_{t+lag}|` over the pairs the series has.
/// Negative when falls raise later volatility. NaN if `lag` leaves fewer
/// than two pairs or either side is constant.
pub fn leverage_correlation(r: &[f64], lag: usize) -> f64 {
    if lag + 2 > r.len() {
        return f64::NAN;
    }
    let (x, y): (Vec<f64>, Vec<f64>) = r.iter().zip(&r[lag..]).map(|(a, b)| (*a, b.abs())).unzip();
    let (mx, my) = (mean(&x), mean(&y));
    let sxy: f64 = x.iter().zip(&y).map(|(a, b)| (a - mx) * (b - my)).sum();
    let sxx: f64 = x.iter().map(|a| (a - mx) * (a - mx)).sum();
    let syy: f64 = y.iter().map(|b| (b - my) * (b - my)).sum();
    sxy / (sxx * syy).sqrt()
}

/// How slowly the autocorrelation of `x` decays over lags `from..=to`
/// (Cont 2001, fact 8, for `x = |r|`): the exponent `β` of a power law
/// `ACF(k) ≈ A k^(−β)`, fitted by least squares of `ln ACF(k)` on `ln k`
/// over the lags whose autocorrelation is positive. `None` with fewer than
/// three such lags.
pub fn acf_decay_exponent(x: &[f64], from: usize, to: usize) -> Option<f64> {
    let (lags, logs): (Vec<f64>, Vec<f64>) = (from.max(1)..=to)
        .map(|k| (k, autocorrelation(x, k)))
        .filter(|(_, a)| *a > 0.0)
        .map(|(k, a)| ((k as f64).ln(), a.ln()))
        .unzip();
    ols(&lags, &logs).map(|fit| -fit.slope)
}

/// The Hill estimate of the tail exponent of `|x|` from its `k` largest
/// values (see the module docs). NaN unless `1 ≤ k < n` and the
/// `(k+1)`-th largest is positive.
pub fn hill(x: &[f64], k: usize) -> f64 {
    let mut a: Vec<f64> = x.iter().map(|v| v.abs()).collect();
    if k == 0 || k >= a.len() {
        return f64::NAN;
    }
    a.sort_by(|p, q| q.total_cmp(p));
    let threshold = a[k];
    if threshold <= 0.0 {
        return f64::NAN;
    }
    let s: f64 = a[..k].iter().map(|v| (v / threshold).ln()).sum();
    k as f64 / s
}

/// The `k` [`hill`] uses by default for `n` points: the largest 5%, at
/// least 10 (and at most `n − 1`).
pub fn hill_default_k(n: usize) -> usize {
    (n / 20).max(10).min(n.saturating_sub(1))
}

/// A least-squares line `y = intercept + slope · x`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LineFit {
    /// The slope.
    pub slope: f64,
    /// The intercept.
    pub intercept: f64,
    /// Standard error of the slope.
    pub slope_se: f64,
    /// 95% interval of the slope, `slope ± t · se` with `t` the 97.5%
    /// quantile of Student's t on `n − 2` degrees of freedom.
    pub slope_ci95: (f64, f64),
    /// Points used.
    pub n: usize,
}

/// Ordinary least squares of `y` on `x` (pairs with a non-finite value
/// are dropped). `None` with fewer than three points or no spread in `x`.
pub fn ols(x: &[f64], y: &[f64]) -> Option<LineFit> {
    let pairs: Vec<(f64, f64)> =
        x.iter().zip(y).filter(|(a, b)| a.is_finite() && b.is_finite()).map(|(a, b)| (*a, *b)).collect();
    let n = pairs.len();
    if n < 3 {
        return None;
    }
    let mx = pairs.iter().map(|p| p.0).sum::<f64>() / n as f64;
    let my = pairs.iter().map(|p| p.1).sum::<f64>() / n as f64;
    let sxx: f64 = pairs.iter().map(|p| (p.0 - mx).powi(2)).sum();
    if sxx <= 0.0 {
        return None;
    }
    let sxy: f64 = pairs.iter().map(|p| (p.0 - mx) * (p.1 - my)).sum();
    let slope = sxy / sxx;
    let intercept = my - slope * mx;
    let sse: f64 = pairs.iter().map(|p| (p.1 - intercept - slope * p.0).powi(2)).sum();
    let slope_se = (sse / (n - 2) as f64 / sxx).sqrt();
    let t = student_t_975(n - 2);
    Some(LineFit { slope, intercept, slope_se, slope_ci95: (slope - t * slope_se, slope + t * slope_se), n })
}

/// The overshoot of `prices` below `fundamental` (the same ticks): the
/// largest relative gap `(f − p) / f` where the price is below, 0 if it
/// never is; how far a fall went beyond the news.
pub fn overshoot(prices: &[f64], fundamental: &[f64]) -> f64 {
    prices.iter().zip(fundamental).filter(|(_, f)| **f > 0.0).map(|(p, f)| ((f - p) / f).max(0.0)).fold(0.0, f64::max)
}

/// Steps after the trough of the largest peak-to-trough fall of `prices`
/// until they first win back `fraction` of it (see the module docs);
/// `None` if they never do or never fall.
pub fn recovery_ticks(prices: &[f64], fraction: f64) -> Option<usize> {
    let (mut peak, mut best) = (0, None::<(usize, usize, f64)>);
    for (t, p) in prices.iter().enumerate() {
        if *p > prices[peak] {
            peak = t;
        }
        let fall = 1.0 - p / prices[peak];
        if fall > best.map_or(0.0, |b| b.2) {
            best = Some((peak, t, fall));
        }
    }
    let (i, j, _) = best?;
    let level = prices[j] + fraction * (prices[i] - prices[j]);
    prices[j + 1..].iter().position(|p| *p >= level).map(|k| k + 1)
}

/// The share of auctioned value sold at a price of at most `at_most`
/// times the mark: each sale is (lots, price, mark), its value
/// `lots × mark`, and the share is the value of the sales with
/// `price ≤ at_most × mark` over the value of all. With `at_most = 0` it is
/// the zero-bid share of Black Thursday. NaN with no sales.
pub fn zero_bid_share(sales: &[(f64, f64, f64)], at_most: f64) -> f64 {
    let value = |s: &&(f64, f64, f64)| s.0 * s.2;
    let all: f64 = sales.iter().map(|s| value(&s)).sum();
    let cheap: f64 = sales.iter().filter(|s| s.1 <= at_most * s.2).map(|s| value(&s)).sum();
    if all > 0.0 { cheap / all } else { f64::NAN }
}

/// The long share of liquidated notional: `Σ long / (Σ long + Σ short)`.
/// NaN when nothing was liquidated.
pub fn long_share(long: &[f64], short: &[f64]) -> f64 {
    let (l, s) = (long.iter().sum::<f64>(), short.iter().sum::<f64>());
    if l + s > 0.0 { l / (l + s) } else { f64::NAN }
}

/// The 97.5% quantile of Student's t with `df` degrees of freedom: exact
/// table values up to 30, then the Cornish–Fisher expansion around the
/// normal quantile (error below 10⁻⁴ there).
pub fn student_t_975(df: usize) -> f64 {
    const TABLE: [f64; 30] = [
        12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.160, 2.145, 2.131,
        2.120, 2.110, 2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048, 2.045, 2.042,
    ];
    match df {
        0 => f64::NAN,
        1..=30 => TABLE[df - 1],
        _ => {
            let z: f64 = 1.959_963_984_540_054;
            let v = df as f64;
            let g1 = (z.powi(3) + z) / 4.0;
            let g2 = (5.0 * z.powi(5) + 16.0 * z.powi(3) + 3.0 * z) / 96.0;
            let g3 = (3.0 * z.powi(7) + 19.0 * z.powi(5) + 17.0 * z.powi(3) - 15.0 * z) / 384.0;
            z + g1 / v + g2 / (v * v) + g3 / (v * v * v)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hand_sized_cases() {
        assert_eq!(log_returns(&[1.0, 2.0, 4.0, 8.0, 16.0], 2), vec![4f64.ln(), 4f64.ln()]);
        assert!(log_returns(&[1.0, 2.0], 0).is_empty());
        // ±1 with equal weight: m2 = 1, m4 = 1, κ = −2.
        assert!((excess_kurtosis(&[1.0, -1.0, 1.0, -1.0]) + 2.0).abs() < 1e-12);
        // An alternating series is perfectly anti-correlated at lag 1.
        assert!((autocorrelation(&[1.0, -1.0, 1.0, -1.0, 1.0, -1.0], 1) + 5.0 / 6.0).abs() < 1e-12);
        // Pareto quantiles with α = 2: x_i = (n / i)^(1/2); Hill at k = n−1 is near 2.
        let x: Vec<f64> = (1..=10_000).map(|i| (10_000.0 / f64::from(i)).sqrt()).collect();
        assert!((hill(&x, 1_000) - 2.0).abs() < 0.05, "{}", hill(&x, 1_000));
        let fit = ols(&[0.0, 1.0, 2.0, 3.0], &[1.0, 3.0, 5.0, 7.0]).unwrap();
        assert!((fit.slope - 2.0).abs() < 1e-12 && (fit.intercept - 1.0).abs() < 1e-12 && fit.slope_se < 1e-12);
        assert!(ols(&[1.0, 1.0, 1.0], &[1.0, 2.0, 3.0]).is_none());
        // The price falls from 100 to 60, news from 100 to 80: 25% below the
        // fundamental at worst. Half the fall (to 80) is won back 2 steps on.
        let p = [100.0, 90.0, 60.0, 70.0, 85.0, 100.0];
        let f = [100.0, 90.0, 80.0, 80.0, 80.0, 80.0];
        assert!((overshoot(&p, &f) - 0.25).abs() < 1e-12);
        assert_eq!(recovery_ticks(&p, 0.5), Some(2));
        assert_eq!(recovery_ticks(&p, 1.0), Some(3));
        assert_eq!(recovery_ticks(&[1.0, 2.0, 3.0], 0.5), None, "no fall");
        // 2 lots at 0 and 3 at 50 against a mark of 100: 200 of 500 at zero.
        let sales = [(2.0, 0.0, 100.0), (3.0, 50.0, 100.0)];
        assert!((zero_bid_share(&sales, 0.0) - 0.4).abs() < 1e-12);
        assert!((zero_bid_share(&sales, 0.5) - 1.0).abs() < 1e-12, "at most half the mark: both");
        assert!(zero_bid_share(&[], 0.0).is_nan());
        assert!((long_share(&[3.0, 1.0], &[0.0, 4.0]) - 0.5).abs() < 1e-12);
        assert!(long_share(&[0.0], &[0.0]).is_nan());
        assert!((student_t_975(31) - 2.0395).abs() < 1e-3 && (student_t_975(1_000) - 1.9623).abs() < 1e-3);
    }
}
