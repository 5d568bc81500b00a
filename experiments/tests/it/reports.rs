//! Reports made from real outputs: the notebook validates against the
//! nbformat schema and executes end to end with nbclient; the LaTeX table
//! compiles with pdflatex and carries the numbers of `points.parquet`.

use assert_cmd::Command;
use cascade_notebooks::tables::num;
use polars::prelude::*;
use std::path::{Path, PathBuf};

const SWEEP: &str = "\
name: report_sweep
ticks: 130
markets:
  - name: BTC-PERP
    index:
      initial_price: 600000
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
";

fn only_subdir(dir: &Path) -> PathBuf {
    std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().path()).find(|p| p.is_dir() && !p.ends_with("sweeps")).unwrap()
}

/// Validates and executes a notebook with the real Jupyter stack.
fn execute_notebook(path: &Path) {
    let script = "\
import sys, nbformat, nbclient
nb = nbformat.read(sys.argv[1], as_version=4)
nbformat.validate(nb)
nbclient.NotebookClient(nb, timeout=300, kernel_name='python3', resources={'metadata': {'path': sys.argv[2]}}).execute()
errors = [o for c in nb.cells if c.cell_type == 'code' for o in c.outputs if o.output_type == 'error']
assert not errors, errors
print('executed', len(nb.cells), 'cells')
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
            let size = if png.file_stem().unwrap().to_string_lossy().starts_with("dashboard") {
                (1600, 1800)
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
    std::fs::write(
        &doc,
        "\\documentclass{article}\n\\usepackage{booktabs}\n\\begin{document}\n\\input{table.tex}\n\\end{document}\n",
    )
    .unwrap();
    let out = std::process::Command::new("pdflatex")
        .current_dir(dir)
        .args(["-interaction=nonstopmode", "-halt-on-error", "doc.tex"])
        .output()
        .expect("pdflatex runs (CI installs texlive-latex-base and texlive-latex-recommended)");
    assert!(out.status.success(), "pdflatex failed:\n{}", String::from_utf8_lossy(&out.stdout));
    assert!(dir.join("doc.pdf").exists());
}

#[test]
fn a_run_gets_charts_a_notebook_and_tables_that_work() {
    let tmp = tempfile::tempdir().unwrap();
    Command::cargo_bin("cascade")
        .unwrap()
        .current_dir(tmp.path())
        .args(["run", "flash_crash", "--ticks", "240", "--set", "populations.leveraged.count=3000"])
        .assert()
        .success();
    let run = only_subdir(&tmp.path().join("results/flash_crash"));
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
    assert_eq!(check_charts(&run, &["dashboard", "heatmap", "cascade_sizes", "pnl_by_population"]), 4);
    execute_notebook(&run.join("notebook.ipynb"));
    compile_latex(&run.join("table.tex"));
    // Charts can be drawn again from the Parquet files alone.
    std::fs::remove_dir_all(run.join("charts")).unwrap();
    Command::cargo_bin("cascade").unwrap().args(["plot", run.to_str().unwrap()]).assert().success();
    assert!(run.join("charts/heatmap.png").exists());
}

#[test]
fn a_sweep_table_compiles_and_carries_the_points() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(tmp.path().join("s.yaml"), SWEEP).unwrap();
    Command::cargo_bin("cascade")
        .unwrap()
        .current_dir(tmp.path())
        .args(["sweep", "s.yaml", "--threads", "2"])
        .assert()
        .success();
    let sweeps = tmp.path().join("results/report_sweep/sweeps");
    let dir = std::fs::read_dir(&sweeps).unwrap().next().unwrap().unwrap().path();
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
            let want = format!("${} \\pm {}$", num(mean[i]), num(mean[i] - low[i]));
            assert!(row.contains(&want), "{metric}, point {i}: {want} not in {row}");
        }
    }
}
