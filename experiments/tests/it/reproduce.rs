//! `cascade reproduce`: a run, a run of a sweep and a run of a game are
//! made again from their manifests, byte for byte, and an altered frame is
//! named.

use assert_cmd::Command;
use std::path::{Path, PathBuf};

const WORLD: &str = "\
units: quote
name: again
ticks: 80
markets:
  - name: BTC-PERP
    index:
      initial_price: 60000
      shocks: [{ start_tick: 20, drop: 0.05, over_ticks: 5 }]
    depth: { levels: 20 }
populations:
  - { kind: leveraged, name: leveraged, count: 60 }
  - { kind: noise, name: noise, count: 6 }
";

fn cascade(dir: &Path, args: &[&str]) -> (i32, String, String) {
    let out = Command::cargo_bin("cascade").unwrap().current_dir(dir).args(args).output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// The folders under `dir` that hold `file`.
pub(crate) fn folders_with(dir: &Path, file: &str) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else if p.file_name().is_some_and(|n| n == file) {
                found.push(d.clone());
            }
        }
    }
    found.sort();
    found
}

#[test]
fn a_run_is_reproduced_and_an_altered_frame_is_named() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(tmp.path().join("w.yaml"), WORLD).unwrap();
    let (code, _, stderr) = cascade(tmp.path(), &["run", "w.yaml", "--out", "out"]);
    assert_eq!(code, 0, "{stderr}");
    let run = folders_with(&tmp.path().join("out"), "manifest.json").pop().unwrap();
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(run.join("manifest.json")).unwrap()).unwrap();
    assert_eq!(manifest["command"], "cascade run w.yaml --out out");
    assert!(manifest["files"].as_object().unwrap().contains_key("charts/dashboard.png"), "reports are reproduced too");
    let (code, stdout, stderr) = cascade(tmp.path(), &["reproduce", run.to_str().unwrap()]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert!(stdout.contains("1 of 1 runs reproduced byte for byte"), "{stdout}");
    assert!(!stdout.contains("differs") && !stdout.contains("altered"), "{stdout}");
    // The manifest itself names the run as well as its folder does.
    let (code, stdout, _) = cascade(tmp.path(), &["reproduce", run.join("manifest.json").to_str().unwrap()]);
    assert_eq!(code, 0, "{stdout}");
    // One altered frame fails the command, by name.
    let events = run.join("events.parquet");
    let mut bytes = std::fs::read(&events).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0xFF;
    std::fs::write(&events, bytes).unwrap();
    let (code, stdout, _) = cascade(tmp.path(), &["reproduce", run.to_str().unwrap()]);
    assert_eq!(code, 1, "{stdout}");
    assert!(stdout.lines().any(|l| l.contains("altered") && l.contains("events.parquet")), "{stdout}");
    assert!(stdout.lines().any(|l| l.contains("same") && l.contains("ticks.parquet")), "{stdout}");
}

#[test]
fn runs_of_a_sweep_and_of_a_game_are_reproduced_from_their_manifests() {
    let tmp = tempfile::tempdir().unwrap();
    let sweep = format!("{WORLD}sweep:\n  grid:\n    protocol.penalty: [0.01, 0.02]\n  replicates: 2\n");
    std::fs::write(tmp.path().join("s.yaml"), &sweep).unwrap();
    let (code, _, stderr) = cascade(tmp.path(), &["sweep", "s.yaml", "--out", "out", "--threads", "1"]);
    assert_eq!(code, 0, "{stderr}");
    let sweep_dir = folders_with(&tmp.path().join("out"), "plan.json").pop().unwrap();
    let (code, stdout, stderr) = cascade(tmp.path(), &["reproduce", sweep_dir.to_str().unwrap(), "--runs", "2"]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert!(stdout.contains("2 of 2 runs (of 4) reproduced byte for byte"), "{stdout}");
    // A run of the sweep records its own seed, its point and the command.
    let runs = folders_with(&tmp.path().join("out"), "manifest.json");
    let last: serde_json::Value = serde_json::from_slice(
        &std::fs::read(
            runs.iter()
                .find(|r| {
                    let m: serde_json::Value =
                        serde_json::from_slice(&std::fs::read(r.join("manifest.json")).unwrap()).unwrap();
                    m["point"]["replicate"] == 1 && m["point"]["index"] == 1
                })
                .unwrap()
                .join("manifest.json"),
        )
        .unwrap(),
    )
    .unwrap();
    assert_eq!(last["seed"].as_u64(), Some(last["config"]["seed"].as_u64().unwrap() + 1), "the run's own seed");
    assert_eq!(last["point"]["values"]["protocol.penalty"], 0.02);
    assert_eq!(last["command"], "cascade sweep s.yaml --out out --threads 1");

    let game = format!(
        "{WORLD}game:\n  roles:\n    - population: noise\n      players: 2\n      strategies:\n        - {{ name: calm }}\n        - {{ name: busy, set: {{ rate: 2 }} }}\n  replicates: 2\n"
    )
    .replace("name: again", "name: again_game");
    std::fs::write(tmp.path().join("g.yaml"), &game).unwrap();
    let (code, _, stderr) = cascade(tmp.path(), &["game", "g.yaml", "--out", "out", "--threads", "1"]);
    assert_eq!(code, 0, "{stderr}");
    let game_dir = folders_with(&tmp.path().join("out"), "game.json").pop().unwrap();
    let (code, stdout, stderr) = cascade(tmp.path(), &["reproduce", game_dir.to_str().unwrap(), "--runs", "2"]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert!(stdout.contains("2 of 2 runs (of 6) reproduced byte for byte"), "{stdout}");
}
