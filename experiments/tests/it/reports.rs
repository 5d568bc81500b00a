//! Reports made from real outputs: the notebook validates against the
//! nbformat schema and executes end to end with nbclient; the LaTeX table
//! compiles with pdflatex and carries the numbers of `points.parquet`.

use assert_cmd::Command;
use cascade_notebooks::tables::{num, with_ci};
use polars::prelude::*;
use std::path::{Path, PathBuf};

const SWEEP: &str = "\
name: report_sweep
ticks: 130
markets:
  - name: BTC-PERP
    index:
      initial_price: 60000
      shocks: [{ start_tick: 40, drop: 0.05, over_ticks: 10 }]
populations:
  - kind: leveraged
    name: leveraged
    count: 400
    leverage: { dist: lognormal, median: 10, sigma: 0.3 }
  - kind: noise
    name: noise
    count: 10
sweep:
  grid:
    populations.leveraged.leverage.median: [5, 25]
  replicates: 3
units: quote
";

/// Runs the sweep `text` in `root` and returns its folder.
fn sweep_in(root: &Path, text: &str) -> PathBuf {
    std::fs::write(root.join("s.yaml"), text).unwrap();
    Command::cargo_bin("cascade")
        .unwrap()
        .current_dir(root)
        .args(["sweep", "s.yaml", "--threads", "2"])
        .assert()
        .success();
    let sweeps = root.join("results/report_sweep/sweeps");
    std::fs::read_dir(&sweeps).unwrap().next().unwrap().unwrap().path()
}

fn only_subdir(dir: &Path) -> PathBuf {
    std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().path()).find(|p| p.is_dir() && !p.ends_with("sweeps")).unwrap()
}

/// Validates and executes a notebook with the real Jupyter stack.
/// Runs the shipped experiment `name` in `root` with `args`; returns its
/// run folder.
fn run_shipped(root: &Path, name: &str, args: &[&str]) -> PathBuf {
    Command::cargo_bin("cascade").unwrap().current_dir(root).args(["run", name]).args(args).assert().success();
    only_subdir(&root.join("results").join(name))
}

/// Executes the notebook at `path` with a real kernel; returns the text its
/// cells printed.
fn execute_notebook(path: &Path) -> String {
    let script = "\
import sys, nbformat, nbclient
nb = nbformat.read(sys.argv[1], as_version=4)
nbformat.validate(nb)
nbclient.NotebookClient(nb, timeout=300, kernel_name='python3', resources={'metadata': {'path': sys.argv[2]}}).execute()
errors = [o for c in nb.cells if c.cell_type == 'code' for o in c.outputs if o.output_type == 'error']
assert not errors, errors
print('executed', len(nb.cells), 'cells')
for c in nb.cells:
    if c.cell_type == 'code':
        for o in c.outputs:
            if o.output_type == 'stream':
                print(o.text, end='')
";
    let out = std::process::Command::new("python3")
        .args(["-c", script, path.to_str().unwrap(), path.parent().unwrap().to_str().unwrap()])
        .output()
        .expect("python3 runs (CI installs polars, matplotlib, nbformat, nbclient, ipykernel)");
    assert!(
        out.status.success(),
        "notebook failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Every chart in `dir/charts` is a real SVG and a non-blank PNG of its
/// size; returns how many there are.
fn check_charts(dir: &Path, expected: &[&str]) -> usize {
    let charts = dir.join("charts");
    for stem in expected {
        assert!(charts.join(format!("{stem}.png")).exists(), "{stem}.png missing");
    }
    let mut n = 0;
    for entry in std::fs::read_dir(&charts).unwrap() {
        let png = entry.unwrap().path();
        if png.extension().is_some_and(|e| e == "png") {
            let stem = png.file_stem().unwrap().to_string_lossy().into_owned();
            let size = if stem.starts_with("dashboard") {
                (1600, 1800)
            } else if stem.starts_with("trajectories") {
                (1200, 1100)
            } else if stem == "equilibria" {
                // 90 px a row, 500 px at least.
                let f = std::fs::File::open(dir.join("equilibria.parquet")).unwrap();
                let rows = u32::try_from(ParquetReader::new(f).finish().unwrap().height()).unwrap();
                (2000, (rows * 90 + 260).max(500))
            } else {
                (1600, 1000)
            };
            if let Some(problem) = cascade_notebooks::inspect::chart_problem(&png, &png.with_extension("svg"), size) {
                panic!("{problem}");
            }
            n += 1;
        }
    }
    n
}

/// Compiles a table in a minimal document.
fn compile_latex(table: &Path) {
    let dir = table.parent().unwrap();
    let doc = dir.join("doc.tex");
    let name = table.file_name().unwrap().to_str().unwrap();
    std::fs::write(
        &doc,
        format!(
            "\\documentclass{{article}}\n\\usepackage{{booktabs}}\n\\usepackage{{graphicx}}\n\\begin{{document}}\n\\input{{{name}}}\n\\end{{document}}\n"
        ),
    )
    .unwrap();
    let out = std::process::Command::new("pdflatex")
        .current_dir(dir)
        .args(["-interaction=nonstopmode", "-halt-on-error", "doc.tex"])
        .output()
        .expect("pdflatex runs (CI installs texlive-latex-base and texlive-latex-recommended)");
    let log = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "pdflatex failed:\n{log}");
    assert!(dir.join("doc.pdf").exists());
    // The table fits the text width of a plain article.
    assert!(!log.contains("Overfull \\hbox"), "the table is wider than the page:\n{log}");
}

#[test]
fn a_run_gets_charts_a_notebook_and_tables_that_work() {
    let tmp = tempfile::tempdir().unwrap();
    let run = run_shipped(tmp.path(), "flash_crash", &["--ticks", "340", "--set", "populations.leveraged.count=3000"]);
    for f in [
        "charts/dashboard.png",
        "charts/dashboard.svg",
        "charts/heatmap.png",
        "notebook.ipynb",
        "table.tex",
        "table.md",
    ] {
        assert!(run.join(f).exists(), "{f} missing");
    }
    // The manifest covers the reports too.
    let manifest: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(run.join("manifest.json")).unwrap()).unwrap();
    assert!(manifest["files"]["notebook.ipynb"].is_string());
    assert!(manifest["files"]["charts/heatmap.png"].is_string());
    // One dashboard, heatmap and cascade-size chart per market (the
    // perpetual and two spot venues) and one PnL chart.
    let charts =
        ["dashboard", "heatmap", "cascade_sizes", "pnl_by_population", "dashboard_BTC-SPOT-A", "heatmap_BTC-SPOT-B"];
    assert_eq!(check_charts(&run, &charts), 10);
    let printed = execute_notebook(&run.join("notebook.ipynb"));
    assert!(printed.contains("No protocol mechanism acted"), "{printed}");
    compile_latex(&run.join("table.tex"));
    // Three markets: the spill-over rows are there.
    assert!(std::fs::read_to_string(run.join("table.md")).unwrap().contains("Spill-over"));
    // Charts can be drawn again from the Parquet files alone.
    std::fs::remove_dir_all(run.join("charts")).unwrap();
    Command::cargo_bin("cascade").unwrap().args(["plot", run.to_str().unwrap()]).assert().success();
    assert!(run.join("charts/heatmap.png").exists());
}

#[test]
fn a_run_notebook_plots_the_mechanisms_that_acted() {
    let tmp = tempfile::tempdir().unwrap();
    let run =
        run_shipped(tmp.path(), "circuit_breaker", &["--ticks", "200", "--set", "populations.leveraged.count=2000"]);
    let halted = ParquetReader::new(std::fs::File::open(run.join("ticks.parquet")).unwrap()).finish().unwrap();
    assert!(halted.column("halted").unwrap().bool().unwrap().any(), "the breaker halts in this run");
    let printed = execute_notebook(&run.join("notebook.ipynb"));
    assert!(!printed.contains("No protocol mechanism acted"), "{printed}");
}

#[test]
fn a_run_over_two_markets_tabulates_its_spill_over() {
    let tmp = tempfile::tempdir().unwrap();
    let run = run_shipped(tmp.path(), "contagion", &["--ticks", "160", "--set", "outputs.notebook=false"]);
    let summary = ParquetReader::new(std::fs::File::open(run.join("summary.parquet")).unwrap()).finish().unwrap();
    let value = |c: &str| summary.column(c).unwrap().f64().unwrap().get(0).unwrap();
    let (notional, drawdown) = (value("spillover_notional"), value("spillover_drawdown"));
    assert!(notional > 0.0 && drawdown > 0.0, "ETH liquidations {notional}, drawdown {drawdown}");
    let md = std::fs::read_to_string(run.join("table.md")).unwrap();
    assert!(md.contains(&format!("| Spill-over drawdown (fraction) | {} |", num(drawdown))), "{md}");
    compile_latex(&run.join("table.tex"));
}

#[test]
fn a_sweep_table_compiles_and_carries_the_points() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = sweep_in(tmp.path(), SWEEP);
    assert!(check_charts(&dir, &["metric_liquidated_notional", "metric_max_drawdown", "metric_bad_debt"]) >= 3);
    compile_latex(&dir.join("table.tex"));
    execute_notebook(&dir.join("notebook.ipynb"));
    // Every mean and half-width in the table is the one in points.parquet.
    let points = ParquetReader::new(std::fs::File::open(dir.join("points.parquet")).unwrap()).finish().unwrap();
    let tex = std::fs::read_to_string(dir.join("table.tex")).unwrap();
    let rows: Vec<&str> = tex.lines().filter(|l| l.ends_with("\\\\") && l.contains("\\pm")).collect();
    assert_eq!(rows.len(), points.height());
    for (metric, _) in cascade_notebooks::tables::METRICS {
        let col = |suffix: &str| -> Vec<f64> {
            points.column(&format!("{metric}_{suffix}")).unwrap().f64().unwrap().iter().map(|x| x.unwrap()).collect()
        };
        let (mean, low) = (col("mean"), col("ci95_low"));
        for (i, row) in rows.iter().enumerate() {
            let (m, h) = with_ci(mean[i], mean[i] - low[i]);
            let want = format!("${m} \\pm {h}$");
            assert!(row.contains(&want), "{metric}, point {i}: {want} not in {row}");
        }
    }
}

#[test]
fn a_variant_sweep_pairs_each_replicate_with_the_reference() {
    let text = SWEEP.replace(
        "  replicates: 3\n",
        "  replicates: 3\n  variants:\n    - name: book\n    - name: halves\n      set: { protocol.close_factor: { kind: fraction, fraction: 0.5 } }\n",
    );
    let tmp = tempfile::tempdir().unwrap();
    let dir = sweep_in(tmp.path(), &text);
    assert!(check_charts(&dir, &["paired_differences"]) >= 1);
    compile_latex(&dir.join("paired.tex"));
    execute_notebook(&dir.join("notebook.ipynb"));
    let read = |name: &str| ParquetReader::new(std::fs::File::open(dir.join(name)).unwrap()).finish().unwrap();
    let (runs, paired) = (read("sweep.parquet"), read("paired.parquet"));
    let f64s = |df: &DataFrame, c: &str| -> Vec<Option<f64>> {
        df.column(c).unwrap().cast(&DataType::Float64).unwrap().f64().unwrap().iter().collect()
    };
    let strs = |df: &DataFrame, c: &str| -> Vec<String> {
        df.column(c).unwrap().str().unwrap().iter().map(|s| s.unwrap().to_owned()).collect()
    };
    let axis = "populations.leveraged.leverage.median";
    let (lev, variant, replicate) = (f64s(&runs, axis), strs(&runs, "variant"), f64s(&runs, "replicate"));
    // 2 leverages x 2 variants x 1 metric row per metric for the second variant.
    let (p_lev, p_var, p_metric) = (f64s(&paired, axis), strs(&paired, "variant"), strs(&paired, "metric"));
    let (p_mean, p_low, p_n) = (f64s(&paired, "diff_mean"), f64s(&paired, "diff_ci95_low"), f64s(&paired, "n"));
    assert!(p_var.iter().all(|v| v == "halves"));
    assert!(strs(&paired, "reference").iter().all(|v| v == "book"));
    let mut checked = 0;
    for i in 0..paired.height() {
        let metric = &p_metric[i];
        if !["bad_debt", "liquidated_notional", "max_drawdown", "n_liquidations"].contains(&metric.as_str()) {
            continue;
        }
        let values = f64s(&runs, metric);
        let at = |v: &str, r: f64| -> f64 {
            let k =
                (0..runs.height()).find(|&k| lev[k] == p_lev[i] && variant[k] == v && replicate[k] == Some(r)).unwrap();
            values[k].unwrap()
        };
        let diffs: Vec<f64> = (0..3).map(|r| at("halves", f64::from(r)) - at("book", f64::from(r))).collect();
        let mean = diffs.iter().sum::<f64>() / 3.0;
        let sd = (diffs.iter().map(|d| (d - mean).powi(2)).sum::<f64>() / 2.0).sqrt();
        let tol = 1e-9 * mean.abs().max(1.0);
        assert_eq!(p_n[i], Some(3.0));
        assert!((p_mean[i].unwrap() - mean).abs() <= tol, "{metric}: {:?} vs {mean}", p_mean[i]);
        assert!((p_low[i].unwrap() - (mean - 4.303 * sd / 3f64.sqrt())).abs() <= tol.max(1e-9 * sd), "{metric}");
        checked += 1;
    }
    assert_eq!(checked, 8);
    // The paired table shows each difference as the frame has it.
    let md = std::fs::read_to_string(dir.join("paired.md")).unwrap();
    let bad_debt: Vec<usize> = (0..paired.height()).filter(|&i| p_metric[i] == "bad_debt").collect();
    for i in bad_debt {
        let (m, l) = (p_mean[i].unwrap(), p_low[i].unwrap());
        let (m, h) = with_ci(m, m - l);
        let want = format!("{m} ± {h}");
        assert!(md.contains(&want), "{want} not in\n{md}");
    }
}

#[test]
fn a_game_gets_charts_a_notebook_and_a_table_that_work() {
    let tmp = tempfile::tempdir().unwrap();
    let out = Command::cargo_bin("cascade")
        .unwrap()
        .current_dir(tmp.path())
        .args(["game", "predator_game", "--out", "out", "--threads", "2", "--ticks", "140"])
        .args(["--set", "populations.leveraged.count=500", "--set", "game.replicates=2", "--set", "game.bootstrap=20"])
        .args(["--set", "sweep.variants=[{name: median_mark}]", "--set", "outputs.notebook=true"])
        .assert()
        .success();
    let stdout = String::from_utf8_lossy(&out.get_output().stdout).to_string();
    assert!(stdout.contains("charts, notebook and tables"), "{stdout}");
    let dir = only_subdir(&tmp.path().join("out/predator_game/games"));
    let n = check_charts(
        &dir,
        &[
            "equilibria",
            "payoffs_median_mark_predators",
            "payoffs_median_mark_makers",
            "deviations_median_mark",
            "trajectories_median_mark_predators",
        ],
    );
    assert_eq!(n, 5);
    compile_latex(&dir.join("equilibria.tex"));
    let md = std::fs::read_to_string(dir.join("equilibria.md")).unwrap();
    assert!(md.contains("| median_mark |") && md.contains("predators:"), "{md}");
    let printed = execute_notebook(&dir.join("notebook.ipynb"));
    assert!(printed.starts_with("executed"), "{printed}");
}

#[test]
fn a_three_axis_sweep_gets_one_heatmap_per_level_of_its_third_axis() {
    let text = SWEEP.replace(
        "    populations.leveraged.leverage.median: [5, 25]\n  replicates: 3\n",
        "    populations.leveraged.leverage.median: [5, 25]\n    populations.leveraged.count: [200, 400, 600]\n    \
         populations.noise.count: [5, 10]\n  replicates: 2\n  x: populations.leveraged.leverage.median\n",
    );
    let tmp = tempfile::tempdir().unwrap();
    let dir = sweep_in(tmp.path(), &text);
    // x is the file's choice; of the other two, the one with fewer levels
    // (the noise count) is sliced, and the leveraged count is y.
    let sliced = ["heatmap_liquidated_notional_count_5", "heatmap_liquidated_notional_count_10"];
    assert!(check_charts(&dir, &sliced) >= 2);
    assert!(!dir.join("charts/heatmap_liquidated_notional.png").exists(), "no unsliced heatmap of three axes");
    let svg = std::fs::read_to_string(dir.join("charts/heatmap_liquidated_notional_count_5.svg")).unwrap();
    assert!(svg.contains("at noise: count 5"), "the title names the slice");
    let metric = std::fs::read_to_string(dir.join("charts/metric_liquidated_notional.svg")).unwrap();
    assert!(metric.contains("leverage median"), "the metric chart's x axis is sweep.x");
    // A sweep.x that is not swept is refused at its line.
    let bad = text.replace("  x: populations.leveraged.leverage.median", "  x: populations.leveraged.leverage.high");
    std::fs::write(tmp.path().join("bad.yaml"), bad).unwrap();
    let out =
        Command::cargo_bin("cascade").unwrap().current_dir(tmp.path()).args(["validate", "bad.yaml"]).output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("sweep.x") && err.contains("not a swept path"), "{err}");
}
