//! The statistics module against scipy and numpy: the same series, the
//! same quantities computed independently in Python, equal to 1e-9.

use cascade_framework::record::stats::{
    acf_decay_exponent, autocorrelation, excess_kurtosis, hill, hill_default_k, leverage_correlation, log_returns, ols,
    overshoot, recovery_ticks,
};
use rand::SeedableRng;
use rand_distr::{Distribution, StudentT};

const SCRIPT: &str = r#"
import json, sys
import numpy as np
from scipy import stats
p = np.loadtxt(sys.argv[1])
f = np.roll(p, 100)
def recovery(p, q):
    dd = 1 - p / np.maximum.accumulate(p)
    j = int(np.argmax(dd))
    i = int(np.argmax(p[: j + 1]))
    hit = np.nonzero(p[j + 1:] >= p[j] + q * (p[i] - p[j]))[0]
    return int(hit[0]) + 1 if len(hit) else None
r = np.diff(np.log(p[::5]))
a = np.abs(r)
def acf(x, k):
    d = x - x.mean()
    return float(np.dot(d[:-k], d[k:]) / np.dot(d, d))
s = np.sort(a)[::-1]
k = int(sys.argv[2])
hill = float(k / np.sum(np.log(s[:k] / s[k])))
x = np.log(np.arange(1, len(r) + 1))
fit = stats.linregress(x, np.log(a + 1e-9))
t = stats.t.ppf(0.975, len(r) - 2)
def leverage(r, k):
    return float(np.corrcoef(r[:-k], np.abs(r[k:]))[0, 1])
lags = np.arange(1, 51)
acfs = np.array([acf(a, k) for k in lags])
pos = acfs > 0
decay = float(-np.polyfit(np.log(lags[pos]), np.log(acfs[pos]), 1)[0])
print(json.dumps({
    "leverage": [leverage(r, k) for k in (1, 3, 10)], "decay": decay,
    "n": len(r), "first": float(r[0]), "last": float(r[-1]),
    "kurtosis": float(stats.kurtosis(r)),
    "acf_r": [acf(r, k) for k in (1, 2, 5)], "acf_abs": [acf(a, k) for k in (1, 2, 5)],
    "hill": hill, "slope": fit.slope, "intercept": fit.intercept, "se": fit.stderr,
    "ci": [fit.slope - t * fit.stderr, fit.slope + t * fit.stderr],
    "overshoot": float(np.max(np.maximum(0.0, (f - p) / f))),
    "recovery": recovery(np.concatenate([p, p[::-1]]), 0.5),
}))
"#;

fn close(a: f64, b: f64, what: &str) {
    assert!((a - b).abs() <= 1e-9 * b.abs().max(1.0), "{what}: {a} here, {b} in scipy");
}

#[test]
fn statistics_agree_with_scipy() {
    // A price path with Student-t(3) log increments: heavy tails.
    let mut rng = rand_chacha::ChaCha12Rng::seed_from_u64(7);
    let t: StudentT<f64> = StudentT::new(3.0).unwrap();
    let mut p = 60_000.0_f64;
    let prices: Vec<f64> = (0..20_001)
        .map(|_| {
            p *= (0.001 * t.sample(&mut rng)).exp();
            p
        })
        .collect();
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("prices.txt");
    let text: String = prices.iter().map(|x| format!("{x:.17e}\n")).collect();
    std::fs::write(&path, text).unwrap();
    // Read back what Python reads, so both sides see the same numbers.
    let prices: Vec<f64> = std::fs::read_to_string(&path).unwrap().lines().map(|l| l.parse().unwrap()).collect();
    let r = log_returns(&prices, 5);
    let a: Vec<f64> = r.iter().map(|x| x.abs()).collect();
    let k = hill_default_k(r.len());
    let out = std::process::Command::new("python3")
        .args(["-c", SCRIPT, path.to_str().unwrap(), &k.to_string()])
        .output()
        .expect("python3 runs (./scripts/test installs numpy and scipy)");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let py: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let f = |key: &str| py[key].as_f64().unwrap();
    assert_eq!(r.len() as u64, py["n"].as_u64().unwrap());
    close(r[0], f("first"), "first return");
    close(r[r.len() - 1], f("last"), "last return");
    close(excess_kurtosis(&r), f("kurtosis"), "excess kurtosis");
    assert!(excess_kurtosis(&r) > 1.0, "t(3) increments have fat tails");
    for (i, lag) in [1, 2, 5].into_iter().enumerate() {
        close(autocorrelation(&r, lag), py["acf_r"][i].as_f64().unwrap(), "acf of r");
        close(autocorrelation(&a, lag), py["acf_abs"][i].as_f64().unwrap(), "acf of |r|");
    }
    close(hill(&r, k), f("hill"), "Hill exponent");
    for (i, lag) in [1, 3, 10].into_iter().enumerate() {
        close(leverage_correlation(&r, lag), py["leverage"][i].as_f64().unwrap(), "leverage correlation");
    }
    close(acf_decay_exponent(&a, 1, 50).expect("positive lags"), f("decay"), "decay of the ACF of |r|");
    let fundamental: Vec<f64> = (0..prices.len()).map(|i| prices[(i + prices.len() - 100) % prices.len()]).collect();
    close(overshoot(&prices, &fundamental), f("overshoot"), "overshoot");
    // The path and then the path backwards: its largest fall is won back.
    let there_and_back: Vec<f64> = prices.iter().chain(prices.iter().rev()).copied().collect();
    let back = recovery_ticks(&there_and_back, 0.5);
    assert!(back.is_some(), "the way back wins back half the largest fall");
    assert_eq!(back.map(|t| t as u64), py["recovery"].as_u64(), "recovery");
    assert!((2.0..4.5).contains(&hill(&r, k)), "t(3) has tail exponent near 3: {}", hill(&r, k));
    let x: Vec<f64> = (1..=r.len()).map(|i| (i as f64).ln()).collect();
    let y: Vec<f64> = a.iter().map(|v| (v + 1e-9).ln()).collect();
    let fit = ols(&x, &y).unwrap();
    close(fit.slope, f("slope"), "slope");
    close(fit.intercept, f("intercept"), "intercept");
    close(fit.slope_se, f("se"), "slope standard error");
    // The t quantile is a series beyond 30 degrees of freedom: within 1e-3 of
    // scipy's, in units of the standard error.
    assert!((fit.slope_ci95.0 - py["ci"][0].as_f64().unwrap()).abs() < 1e-3 * fit.slope_se);
    assert!((fit.slope_ci95.1 - py["ci"][1].as_f64().unwrap()).abs() < 1e-3 * fit.slope_se);
}
