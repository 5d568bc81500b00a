//! `outputs.frames`: a run builds and writes only the frames it asks for,
//! and a game or a replication that reads a frame left out is refused at
//! the field's line.

use assert_cmd::Command;
use cascade_experiments::load_str;

#[test]
fn a_run_writes_only_the_frames_it_asks_for() {
    let tmp = tempfile::tempdir().unwrap();
    let out = Command::cargo_bin("cascade")
        .unwrap()
        .current_dir(tmp.path())
        .args(["run", "flash_crash", "--ticks", "340", "--set", "populations.0.count=300"])
        .args(["--set", "outputs.frames=[ticks, summary]"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}{}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.contains("no charts: it reads heatmap.parquet, agents.parquet"), "{stdout}");
    let run = std::fs::read_dir(tmp.path().join("results/flash_crash")).unwrap().next().unwrap().unwrap().path();
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(run.join("manifest.json")).unwrap()).unwrap();
    let files: Vec<&str> = manifest["files"].as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(
        files,
        ["summary.parquet", "table.md", "table.tex", "ticks.parquet"],
        "the manifest lists what was written"
    );
    for name in ["events", "agents", "heatmap"] {
        assert!(!run.join(format!("{name}.parquet")).exists(), "{name}.parquet was written");
    }
    // The summary's figures are whole whatever the frames: the same as a
    // run with every frame.
    let all = tempfile::tempdir().unwrap();
    Command::cargo_bin("cascade")
        .unwrap()
        .current_dir(all.path())
        .args(["run", "flash_crash", "--ticks", "340", "--set", "populations.0.count=300"])
        .args(["--set", "outputs.charts=false", "--set", "outputs.notebook=false"])
        .assert()
        .success();
    let full = std::fs::read_dir(all.path().join("results/flash_crash")).unwrap().next().unwrap().unwrap().path();
    let whole: serde_json::Value = serde_json::from_slice(&std::fs::read(full.join("manifest.json")).unwrap()).unwrap();
    assert_eq!(manifest["summary"], whole["summary"]);
    assert_eq!(
        std::fs::read(run.join("ticks.parquet")).unwrap(),
        std::fs::read(full.join("ticks.parquet")).unwrap(),
        "a frame written is the same bytes"
    );
}

#[test]
fn a_game_or_a_replication_that_reads_a_frame_left_out_is_refused_at_its_line() {
    let game = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/configs/predator_game.yaml")).unwrap();
    let from = "outputs: { charts: true, notebook: false, tables: true }";
    assert!(game.contains(from));
    let line = game.lines().position(|l| l.starts_with(from)).unwrap() + 1;
    let text = game.replace(from, "outputs: { charts: true, notebook: false, tables: true, frames: [ticks, summary] }");
    let e = load_str(&text, "game.yaml", &[]).unwrap_err();
    let d = e.diagnostics.iter().find(|d| d.path == "outputs.frames").expect("refused");
    assert!(d.message.contains("agents.parquet"), "{e}");
    assert_eq!(d.position.map(|p| p.line), Some(line), "{e}");
    assert!(load_str(&text.replace("frames: [ticks, summary]", "frames: [agents]"), "game.yaml", &[]).is_ok());

    let facts =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/replications/stylized_facts.yaml")).unwrap();
    let from = "outputs: { charts: false, notebook: false, tables: false }";
    let text = facts.replace(from, "outputs: { charts: false, notebook: false, tables: false, frames: [summary] }");
    let e = load_str(&text, "facts.yaml", &[]).unwrap_err();
    let refused: Vec<&str> =
        e.diagnostics.iter().filter(|d| d.path == "outputs.frames").map(|d| d.message.as_str()).collect();
    assert_eq!(refused.len(), 4, "{e}");
    assert!(refused[0].contains("check.claims[0] reads ticks.parquet"), "{e}");
    let e = load_str(&facts, "facts.yaml", &["outputs.frames=[bogus]".into()]).unwrap_err();
    assert!(e.to_string().contains("bogus"), "{e}");
}
