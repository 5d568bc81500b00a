//! The binary, run as a user would.

use assert_cmd::Command;
use cascade_experiments::output::sha256_file;
use cascade_experiments::run::Manifest;
use std::path::{Path, PathBuf};

fn cascade(dir: &Path) -> Command {
    let mut cmd = Command::cargo_bin("cascade").unwrap();
    cmd.current_dir(dir);
    cmd
}

fn configs() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("configs")
}

/// The only run folder under `root/<name>`.
fn run_dirs(root: &Path, name: &str) -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(root.join(name))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir() && p.join("manifest.json").exists())
        .collect();
    dirs.sort();
    dirs
}

fn manifest(dir: &Path) -> Manifest {
    serde_json::from_str(&std::fs::read_to_string(dir.join("manifest.json")).unwrap()).unwrap()
}

#[test]
fn the_default_run_writes_every_output_and_the_manifest_hashes_match() {
    let tmp = tempfile::tempdir().unwrap();
    // The embedded default, shortened with --ticks through `run` (the bare
    // `cascade` is the same code with no overrides).
    cascade(tmp.path()).args(["run", "flash_crash", "--ticks", "340"]).assert().success();
    let dirs = run_dirs(&tmp.path().join("results"), "flash_crash");
    assert_eq!(dirs.len(), 1);
    let m = manifest(&dirs[0]);
    for name in ["ticks.parquet", "events.parquet", "agents.parquet", "heatmap.parquet", "summary.parquet"] {
        let path = dirs[0].join(name);
        assert!(path.exists(), "{name} missing");
        assert_eq!(m.files.get(name), Some(&sha256_file(&path).unwrap()), "hash of {name}");
    }
    assert_eq!(m.seed, 42);
    assert_eq!(m.config["ticks"], 340);
    assert!(m.summary.n_liquidations > 0);
    // Running it again finds it finished.
    let again = cascade(tmp.path()).args(["run", "flash_crash", "--ticks", "340"]).assert().success();
    assert!(String::from_utf8_lossy(&again.get_output().stdout).contains("already finished"));
}

#[test]
fn the_bare_command_runs_the_default_and_says_where() {
    let tmp = tempfile::tempdir().unwrap();
    let out = cascade(tmp.path()).assert().success();
    let stdout = String::from_utf8_lossy(&out.get_output().stdout).to_string();
    assert!(stdout.contains("outputs in results/flash_crash/"), "{stdout}");
    assert_eq!(run_dirs(&tmp.path().join("results"), "flash_crash").len(), 1);
}

#[test]
fn the_same_file_and_seed_give_identical_parquet() {
    let tmp = tempfile::tempdir().unwrap();
    let file = configs().join("thin_book.yaml");
    for out in ["a", "b"] {
        cascade(tmp.path())
            .args(["run", file.to_str().unwrap(), "--ticks", "150", "--seed", "3", "--out", out])
            .assert()
            .success();
    }
    let a = run_dirs(&tmp.path().join("a"), "thin_book");
    let b = run_dirs(&tmp.path().join("b"), "thin_book");
    assert_eq!(a.len(), 1);
    assert_eq!(a[0].file_name(), b[0].file_name(), "same inputs, same run id");
    for name in ["ticks.parquet", "events.parquet", "agents.parquet", "heatmap.parquet", "summary.parquet"] {
        assert_eq!(std::fs::read(a[0].join(name)).unwrap(), std::fs::read(b[0].join(name)).unwrap(), "{name}");
    }
}

const SMALL_SWEEP: &str = "\
name: small_sweep
ticks: 120
markets:
  - name: BTC-PERP
    index:
      initial_price: 60000
      shocks: [{ start_tick: 40, drop: 0.05, over_ticks: 10 }]
populations:
  - kind: leveraged
    name: leveraged
    count: 300
    leverage: { dist: lognormal, median: 10, sigma: 0.3 }
  - kind: noise
    name: noise
    count: 10
sweep:
  grid:
    populations.leveraged.leverage.median: [5, 20, 40]
  replicates: 2
units: quote
";

fn sweep_files(out: &Path) -> (Vec<u8>, Vec<u8>) {
    let sweeps = out.join("small_sweep").join("sweeps");
    let dir = std::fs::read_dir(&sweeps).unwrap().next().unwrap().unwrap().path();
    (std::fs::read(dir.join("sweep.parquet")).unwrap(), std::fs::read(dir.join("points.parquet")).unwrap())
}

#[test]
fn sweeps_are_identical_across_threads_shards_and_interruptions() {
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("small.yaml");
    std::fs::write(&file, SMALL_SWEEP).unwrap();
    let f = file.to_str().unwrap();

    cascade(tmp.path()).args(["sweep", f, "--threads", "1", "--out", "one"]).assert().success();
    cascade(tmp.path()).args(["sweep", f, "--threads", "2", "--out", "two"]).assert().success();
    let one = sweep_files(&tmp.path().join("one"));
    assert_eq!(one, sweep_files(&tmp.path().join("two")), "threads must not change the frames");

    // Shards, then merge.
    for s in ["0/3", "1/3", "2/3"] {
        cascade(tmp.path()).args(["sweep", f, "--shard", s, "--out", "sharded"]).assert().success();
    }
    let sweep_dir =
        std::fs::read_dir(tmp.path().join("sharded/small_sweep/sweeps")).unwrap().next().unwrap().unwrap().path();
    cascade(tmp.path()).args(["merge", sweep_dir.to_str().unwrap()]).assert().success();
    assert_eq!(one, sweep_files(&tmp.path().join("sharded")), "merged shards must equal the whole sweep");

    // Three processes on one folder: each run is made once, every process
    // exits 0, and the frames are those of one process.
    let spawn = || {
        std::process::Command::new(assert_cmd::cargo::cargo_bin("cascade"))
            .current_dir(tmp.path())
            .args(["sweep", f, "--threads", "1", "--out", "shared"])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap()
    };
    let children: Vec<_> = (0..3).map(|_| spawn()).collect();
    for child in children {
        let out = child.wait_with_output().unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    }
    assert_eq!(one, sweep_files(&tmp.path().join("shared")), "processes sharing a folder must give the same rows");
    let shared = tmp.path().join("shared/small_sweep");
    let entries: Vec<PathBuf> = std::fs::read_dir(&shared).unwrap().map(|e| e.unwrap().path()).collect();
    let runs: Vec<&PathBuf> = entries.iter().filter(|p| p.join("manifest.json").exists()).collect();
    assert_eq!(runs.len(), 6);
    for run in runs {
        assert!(run.join("ticks.parquet").exists(), "{} has a manifest and no frames", run.display());
    }
    let left: Vec<String> = entries
        .iter()
        .filter_map(|p| p.file_name()?.to_str().map(str::to_owned))
        .filter(|n| n.starts_with('.'))
        .collect();
    assert!(left.is_empty(), "staging folders or locks left behind: {left:?}");

    // Killed part-way: start it, stop it once some runs have finished, then
    // run it again.
    let killed = tmp.path().join("killed");
    let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("cascade"))
        .current_dir(tmp.path())
        .args(["sweep", f, "--threads", "1", "--out", "killed"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let finished = |root: &Path| {
        std::fs::read_dir(root.join("small_sweep"))
            .map(|d| d.filter_map(Result::ok).filter(|e| e.path().join("manifest.json").exists()).count())
            .unwrap_or(0)
    };
    let mut waited = 0;
    while finished(&killed) < 2 && waited < 6_000 {
        std::thread::sleep(std::time::Duration::from_millis(5));
        waited += 1;
    }
    child.kill().unwrap();
    child.wait().unwrap();
    let before = finished(&killed);
    let out = cascade(tmp.path()).args(["sweep", f, "--threads", "2", "--out", "killed"]).assert().success();
    let stdout = String::from_utf8_lossy(&out.get_output().stdout).to_string();
    assert!(stdout.contains("already finished"), "{stdout}");
    assert!(before >= 2, "the sweep was stopped after {before} runs");
    assert_eq!(one, sweep_files(&killed), "a resumed sweep must give the same rows");
    assert_eq!(finished(&killed), 6);
}

#[test]
fn every_shipped_experiment_validates_and_runs_briefly() {
    let tmp = tempfile::tempdir().unwrap();
    // Short enough for CI, long enough to reach each file's shocks.
    let short = [
        ("flash_crash", 340),
        ("baseline", 40),
        ("thin_book", 120),
        ("leverage_sweep", 110),
        ("predator_hunt", 30),
        ("mm_withdrawal", 110),
        ("partial_liquidation", 110),
        ("protocol_backstops", 110),
        ("dutch_auction", 110),
        ("mechanism_comparison", 170),
        ("contagion", 140),
        ("circuit_breaker", 110),
        ("dynamic_maintenance", 210),
        ("amplification", 240),
        ("endogenous_crash", 340),
        ("exogenous_crash", 240),
        ("amm_oracle", 340),
        ("predator_game", 140),
        ("runaway", 340),
        ("fragility", 340),
        ("fund_size", 140),
    ];
    let mut seen = 0;
    for entry in std::fs::read_dir(configs()).unwrap() {
        let path = entry.unwrap().path();
        let p = path.to_str().unwrap();
        let stem = path.file_stem().unwrap().to_str().unwrap();
        let ticks = short
            .iter()
            .find(|(n, _)| *n == stem)
            .map(|(_, t)| t.to_string())
            .expect("every shipped file has a short run");
        cascade(tmp.path()).args(["validate", p]).assert().success();
        cascade(tmp.path())
            .args(["run", p, "--ticks", &ticks, "--set", "populations.0.count=300", "--set", "outputs.notebook=false"])
            .assert()
            .success();
        seen += 1;
    }
    assert_eq!(seen, short.len());
}

#[test]
fn list_and_schema_work() {
    let tmp = tempfile::tempdir().unwrap();
    let out = cascade(tmp.path()).arg("list").assert().success();
    let stdout = String::from_utf8_lossy(&out.get_output().stdout).to_string();
    for name in ["flash_crash", "baseline", "thin_book", "leverage_sweep", "predator_hunt", "mm_withdrawal"] {
        assert!(stdout.contains(name), "{name} not listed");
    }
    for name in ["predator_game", "concept_table", "stylized_facts", "bp2005"] {
        assert!(stdout.contains(name), "{name} not listed");
    }
    let out = cascade(tmp.path()).arg("schema").assert().success();
    let schema: serde_json::Value = serde_json::from_slice(&out.get_output().stdout).unwrap();
    assert!(schema["properties"]["populations"].is_object());
    assert!(schema.to_string().contains("Maintenance margin rate"));
}

#[test]
fn a_single_run_of_a_swept_point_adds_its_reports_to_the_reused_frames() {
    let tmp = tempfile::tempdir().unwrap();
    let text = SMALL_SWEEP.replace("[5, 20, 40]", "[10]").replace("replicates: 2", "replicates: 1");
    std::fs::write(tmp.path().join("s.yaml"), &text).unwrap();
    cascade(tmp.path()).args(["sweep", "s.yaml", "--threads", "1"]).assert().success();
    let dirs = run_dirs(&tmp.path().join("results"), "small_sweep");
    assert_eq!(dirs.len(), 1);
    assert!(!dirs[0].join("charts").exists(), "runs of a sweep write frames only");
    let ticks = std::fs::read(dirs[0].join("ticks.parquet")).unwrap();
    // The file's point (median 10) is the swept one: same run id.
    let out = cascade(tmp.path()).args(["run", "s.yaml"]).assert().success();
    assert!(String::from_utf8_lossy(&out.get_output().stdout).contains("already finished"));
    assert_eq!(std::fs::read(dirs[0].join("ticks.parquet")).unwrap(), ticks);
    let m = manifest(&dirs[0]);
    for name in ["charts/dashboard.png", "notebook.ipynb", "table.md"] {
        let path = dirs[0].join(name);
        assert_eq!(m.files.get(name), Some(&sha256_file(&path).unwrap()), "hash of {name}");
    }
}

#[test]
fn identical_sweep_points_are_run_once_and_shared() {
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("dup.yaml");
    std::fs::write(
        &file,
        "units: quote\nname: dup\nseed: 3\nticks: 30\nmarkets: [{ name: BTC-PERP, depth: { levels: 20 } }]\n\
         populations: [{ kind: leveraged, name: leveraged, count: 40 }, { kind: noise, name: noise, count: 5 }]\n\
         outputs: { charts: false, notebook: false, tables: false }\n\
         sweep:\n  replicates: 2\n  grid: { protocol.penalty: [0.01, 0.01] }\n\
         \x20 variants: [{ name: a }, { name: same, set: { protocol.max_rounds: 10 } }]\n",
    )
    .unwrap();
    let out = cascade(tmp.path()).args(["sweep", file.to_str().unwrap()]).assert().success();
    let stdout = String::from_utf8_lossy(&out.get_output().stdout).into_owned();
    // 2 grid values x 2 variants x 2 replicates = 8 planned runs, all equal
    // to one of the 2 replicates of the first point.
    assert!(stdout.contains("8 runs; ran 2, already finished 0; 6 identical"), "{stdout}");
    assert_eq!(run_dirs(tmp.path().join("results").as_path(), "dup").len(), 2);
}

#[test]
fn a_damaged_frame_is_not_reused_and_not_plotted() {
    let tmp = tempfile::tempdir().unwrap();
    let args =
        ["run", "baseline", "--ticks", "20", "--set", "populations.0.count=50", "--set", "outputs.notebook=false"];
    cascade(tmp.path()).args(args).assert().success();
    let dir = run_dirs(&tmp.path().join("results"), "baseline").pop().unwrap();
    let ticks = dir.join("ticks.parquet");
    let bytes = std::fs::read(&ticks).unwrap();
    std::fs::write(&ticks, &bytes[..bytes.len() / 2]).unwrap();
    let plot = cascade(tmp.path()).args(["plot", dir.to_str().unwrap()]).assert().failure();
    let err = String::from_utf8_lossy(&plot.get_output().stderr).into_owned();
    assert!(err.contains("ticks.parquet does not match the SHA-256 in its manifest"), "{err}");
    let again = cascade(tmp.path()).args(args).assert().success();
    let stdout = String::from_utf8_lossy(&again.get_output().stdout).into_owned();
    assert!(stdout.contains("ran again"), "{stdout}");
    assert_eq!(std::fs::read(&ticks).unwrap(), bytes, "the run is made again, bit for bit");
}

#[test]
fn a_run_made_by_another_build_of_the_model_is_redone_unless_asked() {
    let tmp = tempfile::tempdir().unwrap();
    let args =
        ["run", "baseline", "--ticks", "20", "--set", "populations.0.count=50", "--set", "outputs.notebook=false"];
    cascade(tmp.path()).args(args).assert().success();
    let dir = run_dirs(&tmp.path().join("results"), "baseline").pop().unwrap();
    let path = dir.join("manifest.json");
    let mut m: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    assert_eq!(m["model"].as_str().unwrap().len(), 16, "the manifest records the model's fingerprint");
    m["version"] = "0.0.1".into();
    m["model"] = "0123456789abcdef".into();
    std::fs::write(&path, serde_json::to_vec(&m).unwrap()).unwrap();
    let kept = cascade(tmp.path()).args(args).arg("--reuse-any-version").assert().success();
    assert!(String::from_utf8_lossy(&kept.get_output().stdout).contains("already finished"));
    let redone = cascade(tmp.path()).args(args).assert().success();
    let stdout = String::from_utf8_lossy(&redone.get_output().stdout).into_owned();
    assert!(stdout.contains("made by cascade 0.0.1 with model 0123456789abcdef"), "{stdout}");
    assert_eq!(manifest(&dir).version, env!("CARGO_PKG_VERSION"));
    assert_eq!(manifest(&dir).model, cascade_experiments::run::MODEL);
    // A manifest from before the fingerprint was recorded is redone too.
    let mut m: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    m.as_object_mut().unwrap().remove("model");
    std::fs::write(&path, serde_json::to_vec(&m).unwrap()).unwrap();
    let redone = cascade(tmp.path()).args(args).assert().success();
    let stdout = String::from_utf8_lossy(&redone.get_output().stdout).into_owned();
    assert!(stdout.contains("with no recorded model"), "{stdout}");
}

#[test]
fn bench_times_each_part_of_a_run_and_writes_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let out = cascade(tmp.path())
        .args(["bench", "baseline", "--n", "500", "--ticks", "20", "--repeat", "1"])
        .assert()
        .success();
    let stdout = String::from_utf8_lossy(&out.get_output().stdout).to_string();
    for part in ["setup", "tick loop", "frames", "parquet", "account-ticks a second"] {
        assert!(stdout.contains(part), "{part} missing:\n{stdout}");
    }
    assert!(stdout.contains("20 ticks"), "{stdout}");
    assert!(!tmp.path().join("results").exists(), "bench keeps nothing");
    // An experiment without leveraged traders cannot take --n.
    let text = std::fs::read_to_string(configs().join("baseline.yaml")).unwrap();
    let mut doc: serde_yaml::Value = serde_yaml::from_str(&text).unwrap();
    let pops = doc["populations"].as_sequence_mut().unwrap();
    pops.retain(|p| p["kind"] != "leveraged");
    std::fs::write(tmp.path().join("none.yaml"), serde_yaml::to_string(&doc).unwrap()).unwrap();
    let out = cascade(tmp.path()).args(["bench", "none.yaml", "--n", "10"]).assert().failure();
    assert!(String::from_utf8_lossy(&out.get_output().stderr).contains("no leveraged population"));
}

#[test]
fn an_experiment_without_a_sweep_section_sweeps_as_one_run() {
    let tmp = tempfile::tempdir().unwrap();
    let out = cascade(tmp.path()).args(["sweep", "thin_book", "--ticks", "150"]).assert().success();
    let stdout = String::from_utf8_lossy(&out.get_output().stdout).to_string();
    assert!(stdout.contains("1 points, 1 runs; ran 1"), "{stdout}");
}
