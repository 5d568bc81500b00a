//! The frames reference (`docs/frames.md`, from
//! `experiments/reference/frames.json`) says what runs and sweeps really
//! write: every column, in order, with its type.

use super::reproduce::folders_with;
use assert_cmd::Command;
use cascade_experiments::reference::{Frame, markdown, reference};
use polars::prelude::*;
use std::path::Path;

#[test]
fn the_frames_reference_is_up_to_date() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/frames.md");
    let want = markdown();
    if std::env::var_os("CASCADE_BLESS").is_some() {
        std::fs::write(&path, &want).unwrap();
    }
    let have = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(have == want, "docs/frames.md is out of date: run this test with CASCADE_BLESS=1 to write it");
    // Every event kind of the framework is described.
    let kinds: Vec<String> = reference().event_kinds.into_iter().map(|k| k.kind).collect();
    for kind in [
        "liquidation",
        "socialized_loss",
        "halt",
        "adl",
        "backstop",
        "auction_kick",
        "auction_take",
        "auction_reset",
        "auction_end",
    ] {
        assert!(kinds.iter().any(|k| k == kind), "event kind {kind} is not described");
    }
}

fn read(path: &Path) -> DataFrame {
    ParquetReader::new(std::fs::File::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display())))
        .finish()
        .unwrap()
}

fn frame(file: &str) -> Frame {
    reference().frames.into_iter().find(|f| f.file == file).unwrap_or_else(|| panic!("{file} is not in the reference"))
}

/// The columns of `df` against the reference of `file`, where `<axis>`
/// stands for `axes` and `<metric>` for `metrics`.
fn check(df: &DataFrame, file: &str, axes: &[String], metrics: &[String]) {
    // A run of `<metric>…` columns repeats for each metric in turn:
    // `m_mean, m_std, …` for the first metric, then the next.
    let mut want: Vec<(String, String)> = Vec::new();
    let mut group: Vec<(String, String)> = Vec::new();
    let flush = |group: &mut Vec<(String, String)>, want: &mut Vec<(String, String)>| {
        for m in metrics {
            want.extend(group.iter().map(|(suffix, ty)| (format!("{m}{suffix}"), ty.clone())));
        }
        group.clear();
    };
    for c in frame(file).columns {
        if let Some(suffix) = c.name.strip_prefix("<metric>") {
            group.push((suffix.to_owned(), c.base_type().to_owned()));
            continue;
        }
        flush(&mut group, &mut want);
        let names = if c.name == "<axis>" { axes.to_vec() } else { vec![c.name.clone()] };
        want.extend(names.into_iter().map(|n| (n, c.base_type().to_owned())));
    }
    flush(&mut group, &mut want);
    let have: Vec<(String, String)> =
        df.columns().iter().map(|c| (c.name().to_string(), format!("{:?}", c.dtype()))).collect();
    let names = |v: &[(String, String)]| v.iter().map(|(n, _)| n.clone()).collect::<Vec<_>>();
    assert_eq!(names(&have), names(&want), "{file}: the columns differ from the reference");
    for ((name, ty), (_, want_ty)) in have.iter().zip(&want) {
        // A swept axis is Int64, Float64 or String by its values.
        if axes.contains(name) {
            continue;
        }
        assert_eq!(ty, want_ty, "{file}: column {name}");
    }
}

fn cascade(dir: &Path, args: &[&str]) {
    let out = Command::cargo_bin("cascade").unwrap().current_dir(dir).args(args).output().unwrap();
    assert!(out.status.success(), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
}

#[test]
fn runs_and_sweeps_write_the_columns_of_the_reference() {
    let tmp = tempfile::tempdir().unwrap();
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    // A run with an execution agent writes all six run frames.
    let sqrt = root.join("replications/sqrt_impact.yaml");
    cascade(
        tmp.path(),
        &["run", sqrt.to_str().unwrap(), "--ticks", "80", "--out", "runs", "--set", "outputs.charts=false"],
    );
    let run = folders_with(&tmp.path().join("runs"), "manifest.json").pop().unwrap();
    for file in [
        "ticks.parquet",
        "events.parquet",
        "agents.parquet",
        "heatmap.parquet",
        "summary.parquet",
        "executions.parquet",
    ] {
        check(&read(&run.join(file)), file, &[], &[]);
    }
    // A sweep with a grid and variants writes the three sweep frames.
    let sweep = "units: quote\nname: reference\nticks: 60\nmarkets: [{ name: BTC-PERP, depth: { levels: 20 } }]\n\
                 populations: [{ kind: leveraged, name: lev, count: 40 }, { kind: noise, name: noise, count: 4 }]\n\
                 outputs: { charts: false, notebook: false, tables: false }\n\
                 sweep:\n  grid: { protocol.penalty: [0.01, 0.02] }\n  replicates: 2\n  \
                 variants: [{ name: a }, { name: b, set: { protocol.max_rounds: 3 } }]\n";
    std::fs::write(tmp.path().join("s.yaml"), sweep).unwrap();
    cascade(tmp.path(), &["sweep", "s.yaml", "--out", "out", "--threads", "1"]);
    let dir = folders_with(&tmp.path().join("out"), "plan.json").pop().unwrap();
    let runs = read(&dir.join("sweep.parquet"));
    let axes = vec!["protocol.penalty".to_owned(), "variant".to_owned()];
    let fixed = ["run", "point", "replicate", "seed", "run_id"];
    let metrics: Vec<String> = runs
        .get_column_names()
        .iter()
        .map(|c| c.to_string())
        .filter(|c| !fixed.contains(&c.as_str()) && !axes.contains(c))
        .collect();
    // The metrics are the summary's, less its ticks, trough and rejected orders.
    let summary = read(&run.join("summary.parquet"));
    for m in &metrics {
        assert!(summary.column(m).is_ok(), "sweep metric {m} is not a summary column");
    }
    check(&runs, "sweep.parquet", &axes, &metrics);
    check(&read(&dir.join("points.parquet")), "points.parquet", &axes, &metrics);
    check(&read(&dir.join("paired.parquet")), "paired.parquet", &axes[..1], &metrics);
}
