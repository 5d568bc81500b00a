//! A population kind from outside the crates, registered and used from an
//! experiment file through the library's command line: the example in
//! `experiments/examples/momentum.rs`, included here as it is.

#[path = "../../examples/momentum.rs"]
mod momentum;

use cascade_experiments::cli::main_from;
use cascade_experiments::spec::population::{DuplicateKind, kinds, register};
use cascade_experiments::{Experiment, load_str};
use momentum::MomentumParams;
use std::path::Path;
use std::process::ExitCode;

const FILE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/momentum.yaml");

fn registered() {
    match momentum::register_kinds() {
        Ok(()) | Err(DuplicateKind("momentum")) => {}
        Err(e) => panic!("{e}"),
    }
}

fn cascade(args: &[&str]) -> ExitCode {
    main_from(std::iter::once("cascade").chain(args.iter().copied()))
}

fn code(c: ExitCode) -> String {
    format!("{c:?}")
}

#[test]
fn an_outside_kind_runs_from_yaml_through_every_command() {
    let text = std::fs::read_to_string(FILE).unwrap();
    // Tests may share a process (`cargo test`), and so the registry.
    if !kinds().contains(&"momentum") {
        assert!(load_str(&text, FILE, &[]).is_err(), "the kind is unknown before it is registered");
    }
    registered();
    assert!(kinds().contains(&"momentum"));
    assert_eq!(register::<MomentumParams>(), Err(DuplicateKind("momentum")), "a name is registered once");

    // It reads as its own type, with the file's units converted.
    let loaded = load_str(&text, FILE, &["populations.momentum.count=5".into()]).unwrap();
    let p = loaded.experiment.populations.iter().find(|p| p.kind() == "momentum").unwrap();
    let m = p.get::<MomentumParams>().unwrap();
    assert_eq!((m.count, m.capital.0, m.size.0), (5, 500_000_000_000, 50));
    assert_eq!(p.capital(), 500_000_000_000);
    // It is written back with its kind, and reads back the same.
    let json = serde_json::to_string(&loaded.experiment).unwrap();
    assert!(json.contains(r#""kind":"momentum""#), "{json}");
    let back: Experiment = serde_json::from_str(&json).unwrap();
    assert_eq!(back, loaded.experiment);
    // The schema describes it.
    let schema = serde_json::to_string(&schemars::schema_for!(Experiment)).unwrap();
    assert!(schema.contains(r#""const":"momentum""#) && schema.contains("lookback"));

    let out = tempfile::tempdir().unwrap();
    let dir = out.path().to_str().unwrap();
    assert_eq!(code(cascade(&["validate", FILE])), code(ExitCode::SUCCESS));
    assert_eq!(
        code(cascade(&["run", FILE, "--out", dir, "--ticks", "120", "--set", "outputs.charts=false"])),
        code(ExitCode::SUCCESS)
    );
    let runs: Vec<_> = std::fs::read_dir(out.path().join("momentum")).unwrap().map(|e| e.unwrap().path()).collect();
    let run = runs.iter().find(|p| p.join("manifest.json").exists()).expect("a run folder");
    let manifest = std::fs::read_to_string(run.join("manifest.json")).unwrap();
    assert!(manifest.contains(r#""kind": "momentum""#) || manifest.contains(r#""kind":"momentum""#));
    assert_eq!(code(cascade(&["reproduce", run.to_str().unwrap()])), code(ExitCode::SUCCESS));
    assert_eq!(
        code(cascade(&["sweep", FILE, "--out", dir, "--ticks", "120", "--set", "sweep.replicates=1"])),
        code(ExitCode::SUCCESS)
    );
    let sweeps = out.path().join("momentum/sweeps");
    let sweep = std::fs::read_dir(&sweeps).unwrap().next().unwrap().unwrap().path();
    assert!(Path::new(&sweep).join("sweep.parquet").exists());
}

#[test]
fn an_outside_kind_is_refused_at_its_field_and_line() {
    registered();
    let text = std::fs::read_to_string(FILE).unwrap();
    let bad = text.replace("threshold: 0.004 ", "threshold: -0.1  ").replace("lookback: 10 ", "lookback: x  ");
    let e = load_str(&bad, "bad.yaml", &[]).unwrap_err();
    let lookback = e.diagnostics.iter().find(|d| d.path == "populations[2].lookback").expect("lookback refused");
    let line = bad.lines().position(|l| l.contains("lookback: x")).unwrap() + 1;
    assert_eq!(lookback.position.map(|p| p.line), Some(line), "{e}");
    let bad = text.replace("threshold: 0.004 ", "threshold: -0.1  ");
    let e = load_str(&bad, "bad.yaml", &[]).unwrap_err();
    let threshold = e.diagnostics.iter().find(|d| d.path == "populations[2].threshold").expect("threshold refused");
    assert!(threshold.message.contains("positive"), "{e}");
    let line = bad.lines().position(|l| l.contains("threshold: -0.1")).unwrap() + 1;
    assert_eq!(threshold.position.map(|p| p.line), Some(line), "{e}");
    assert_eq!(code(cascade(&["validate", "bad.yaml"])), code(ExitCode::from(2)));
}
