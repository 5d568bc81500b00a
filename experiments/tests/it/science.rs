//! Model claims, checked on the shipped experiments with seeds and 95%
//! confidence intervals, the way a referee would check them.

use assert_cmd::Command;
use polars::prelude::*;
use std::path::Path;

/// Runs the shipped sweep `name` into `out` and returns its `points` and
/// `paired` frames.
fn sweep(name: &str, out: &Path) -> (DataFrame, DataFrame) {
    Command::cargo_bin("cascade")
        .unwrap()
        .current_dir(out)
        .args(["sweep", name, "--out", "results", "--threads", "2"])
        .args(["--set", "outputs.charts=false", "--set", "outputs.notebook=false", "--set", "outputs.tables=false"])
        .assert()
        .success();
    let sweeps = out.join("results").join(name).join("sweeps");
    let dir = std::fs::read_dir(&sweeps).unwrap().next().unwrap().unwrap().path();
    let read = |f: &str| ParquetReader::new(std::fs::File::open(dir.join(f)).unwrap()).finish().unwrap();
    (read("points.parquet"), read("paired.parquet"))
}

/// The value of `column` in the row of `frame` whose `key` is `value`.
fn cell(frame: &DataFrame, key: &str, value: &str, column: &str) -> f64 {
    let keys = frame.column(key).unwrap().str().unwrap().clone();
    let row = keys.iter().position(|k| k == Some(value)).unwrap_or_else(|| panic!("no {key} {value}"));
    frame.column(column).unwrap().f64().unwrap().get(row).unwrap()
}

/// With the loop closed through price impact, liquidations deepen the
/// crash: over the ten seeds of `amplification`, the mark falls further
/// than the fundamental by a margin whose 95% CI is above 1.15, and by
/// more than on the same seeds with everyone at 1x, where no one is
/// liquidated and amplification stays within a few percent of 1.
#[test]
fn leverage_amplifies_the_crash_through_price_impact() {
    let tmp = tempfile::tempdir().unwrap();
    let (points, paired) = sweep("amplification", tmp.path());
    let of = |variant: &str, column: &str| cell(&points, "variant", variant, column);
    assert!(of("leveraged", "n_liquidations_mean") > 1_000.0, "the leveraged crash liquidates");
    assert_eq!(of("unlevered", "n_liquidations_mean"), 0.0, "no one at 1x is liquidated");
    let lev = (of("leveraged", "amplification_ci95_low"), of("leveraged", "amplification_ci95_high"));
    let unlev = (of("unlevered", "amplification_ci95_low"), of("unlevered", "amplification_ci95_high"));
    assert!(lev.0 > 1.15, "amplification with leverage: 95% CI {lev:?}");
    assert!(unlev.0 > 0.95 && unlev.1 < 1.1, "amplification at 1x: 95% CI {unlev:?}");
    // Paired on the seed: the unlevered crash is shallower, every time.
    let diff = |metric: &str| {
        (cell(&paired, "metric", metric, "diff_ci95_low"), cell(&paired, "metric", metric, "diff_ci95_high"))
    };
    assert!(diff("amplification").1 < -0.1, "paired difference of amplification: {:?}", diff("amplification"));
    assert!(diff("max_drawdown").1 < 0.0, "paired difference of drawdown: {:?}", diff("max_drawdown"));
}
