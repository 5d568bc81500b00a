//! `cascade game` as a user runs it: the same bytes whatever the threads,
//! the shards or an interruption; players keep their random streams across
//! profiles; and the Gambit file agrees with the payoff table and the
//! equilibria.

use assert_cmd::Command;
use polars::prelude::*;
use std::path::{Path, PathBuf};

fn cascade(dir: &Path) -> Command {
    let mut cmd = Command::cargo_bin("cascade").unwrap();
    cmd.current_dir(dir);
    cmd
}

/// The shipped game, shortened: 500 leveraged traders, 140 ticks (past
/// the shock), 2 replicates and one variant.
const SMALL: [&str; 12] = [
    "--ticks",
    "140",
    "--set",
    "populations.leveraged.count=500",
    "--set",
    "game.replicates=2",
    "--set",
    "game.bootstrap=50",
    "--set",
    "sweep.variants=[{name: median_mark}]",
    "--set",
    "outputs.charts=false",
];

fn game_dir(out: &Path) -> PathBuf {
    let games = out.join("predator_game").join("games");
    std::fs::read_dir(&games).unwrap().next().unwrap().unwrap().path()
}

/// Every file of the game's folder, by name.
fn game_files(out: &Path) -> Vec<(String, Vec<u8>)> {
    let mut files: Vec<(String, Vec<u8>)> = std::fs::read_dir(game_dir(out))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file())
        .map(|p| (p.file_name().unwrap().to_string_lossy().into_owned(), std::fs::read(&p).unwrap()))
        .collect();
    files.sort();
    files
}

fn run_count(out: &Path) -> usize {
    std::fs::read_dir(out.join("predator_game"))
        .map(|d| d.filter_map(Result::ok).filter(|e| e.path().join("manifest.json").exists()).count())
        .unwrap_or(0)
}

#[test]
fn a_game_is_identical_across_threads_shards_and_interruptions() {
    let tmp = tempfile::tempdir().unwrap();
    let game = |out: &str, extra: &[&str]| {
        let mut args = vec!["game", "predator_game", "--out", out];
        args.extend(SMALL);
        args.extend(extra);
        cascade(tmp.path()).args(&args).assert().success()
    };
    let out = game("one", &["--threads", "1"]);
    let stdout = String::from_utf8_lossy(&out.get_output().stdout).to_string();
    assert!(stdout.contains("equilibria") && stdout.contains("regret"), "{stdout}");
    game("two", &["--threads", "2"]);
    let one = game_files(&tmp.path().join("one"));
    let names: Vec<&str> = one.iter().map(|(n, _)| n.as_str()).collect();
    let want = [
        "equilibria.md",
        "equilibria.parquet",
        "equilibria.tex",
        "game.json",
        "game.nfg",
        "observations.parquet",
        "payoffs.parquet",
        "trajectories.parquet",
    ];
    assert_eq!(names, want);
    assert_eq!(one, game_files(&tmp.path().join("two")), "threads must not change a byte");

    for s in ["0/2", "1/2"] {
        game("sharded", &["--shard", s]);
    }
    let dir = game_dir(&tmp.path().join("sharded"));
    cascade(tmp.path()).args(["merge", dir.to_str().unwrap()]).assert().success();
    assert_eq!(one, game_files(&tmp.path().join("sharded")), "merged shards must equal the whole game");

    // Two processes on one folder: each run is made once, both exit 0, and
    // the game's files are those of one process.
    let spawn = || {
        let mut args = vec!["game", "predator_game", "--out", "shared", "--threads", "1"];
        args.extend(SMALL);
        std::process::Command::new(assert_cmd::cargo::cargo_bin("cascade"))
            .current_dir(tmp.path())
            .args(&args)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap()
    };
    let children: Vec<_> = (0..2).map(|_| spawn()).collect();
    for child in children {
        let out = child.wait_with_output().unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    }
    assert_eq!(one, game_files(&tmp.path().join("shared")), "two processes on one folder must give the same bytes");
    assert_eq!(run_count(&tmp.path().join("shared")), run_count(&tmp.path().join("one")));

    // Killed (SIGKILL) once some runs have finished, then run again.
    let killed = tmp.path().join("killed");
    let mut args = vec!["game", "predator_game", "--out", "killed", "--threads", "1"];
    args.extend(SMALL);
    let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("cascade"))
        .current_dir(tmp.path())
        .args(&args)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut waited = 0;
    while run_count(&killed) < 5 && waited < 12_000 {
        std::thread::sleep(std::time::Duration::from_millis(5));
        waited += 1;
    }
    child.kill().unwrap();
    child.wait().unwrap();
    let before = run_count(&killed);
    assert!(before >= 5, "the game was stopped after {before} runs");
    let out = game("killed", &["--threads", "2"]);
    let stdout = String::from_utf8_lossy(&out.get_output().stdout).to_string();
    assert!(stdout.contains("already finished"), "{stdout}");
    assert_eq!(one, game_files(&killed), "a resumed game must give the same bytes");
}

#[test]
fn a_players_stream_does_not_depend_on_its_strategy() {
    // Two profiles differ in one maker's strategy. Makers are numbered in
    // strategy order, so maker 0 stays in both: with everything else the
    // same, its draws are the same, and the leveraged traders' too.
    let tmp = tempfile::tempdir().unwrap();
    cascade(tmp.path())
        .args(["game", "predator_game", "--out", "out", "--threads", "2"])
        .args(SMALL)
        .args(["--set", "game.replicates=1"])
        .assert()
        .success();
    let obs = game_dir(&tmp.path().join("out")).join("observations.parquet");
    let script = r#"
import sys, json, polars as pl
o = pl.read_parquet(sys.argv[1])
rows = o.filter(pl.col("role") == "makers").select("profile_label", "strategy", "players").rows()
print(json.dumps(sorted(set(map(tuple, rows)))))
"#;
    let out = std::process::Command::new("python3").arg("-c").arg(script).arg(&obs).output().expect("python3 runs");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let rows: Vec<(String, String, u32)> = serde_json::from_slice(&out.stdout).unwrap();
    // Every profile lists its strategies with the number of players each.
    assert!(rows.iter().any(|(p, s, n)| p.ends_with("makers: stay 3, withdraw 1") && s == "withdraw" && *n == 1));
    // The runs' agents: the same population name and numbers 0..4 in every
    // profile, whatever the split.
    let runs: Vec<PathBuf> = std::fs::read_dir(tmp.path().join("out/predator_game"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.join("agents.parquet").exists())
        .collect();
    assert!(runs.len() >= 10);
    let script = r#"
import sys, json, polars as pl
out = []
for d in sys.argv[1:]:
    a = pl.read_parquet(d + "/agents.parquet").filter(pl.col("population") == "makers")
    out.append(sorted(a["agent_index"].to_list()))
print(json.dumps(out))
"#;
    let out = std::process::Command::new("python3")
        .arg("-c")
        .arg(script)
        .args(runs.iter().map(|p| p.to_str().unwrap()))
        .output()
        .expect("python3 runs");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let indices: Vec<Vec<u32>> = serde_json::from_slice(&out.stdout).unwrap();
    assert!(indices.iter().all(|i| i == &[0, 1, 2, 3]), "{indices:?}");
}

#[test]
fn the_gambit_file_has_the_payoff_table_and_the_same_pure_equilibria() {
    let tmp = tempfile::tempdir().unwrap();
    cascade(tmp.path())
        .args(["game", "predator_game", "--out", "out", "--threads", "2"])
        .args(SMALL)
        .assert()
        .success();
    let dir = game_dir(&tmp.path().join("out"));
    // pygambit reads the file; its pure equilibria, as counts per role and
    // strategy, are ours; each payoff is the table's mean for that profile.
    let script = r#"
import sys, json, collections, polars as pl, pygambit as gbt
d = sys.argv[1]
g = gbt.read_nfg(d + "/game.nfg")
roles = [p.label.rsplit(" ", 1)[0] for p in g.players]
def counts(profile):
    c = collections.Counter()
    for p, s in zip(g.players, profile):
        c[(p.label.rsplit(" ", 1)[0], s.label)] += 1
    return c
pay = pl.read_parquet(d + "/payoffs.parquet")
table = {}
for row in pay.iter_rows(named=True):
    table[(row["profile_label"], row["role"], row["strategy"])] = row["mean"]
def label(c):
    parts = []
    for role in dict.fromkeys(roles):
        strategies = [s.label for s in list(g.players)[roles.index(role)].strategies]
        parts.append(role + ": " + ", ".join(f"{s} {c[(role, s)]}" for s in strategies if c[(role, s)]))
    return "; ".join(parts)
import itertools
checked = 0
for choice in itertools.product(*[list(p.strategies) for p in g.players]):
    c = counts(choice)
    for p, s in zip(g.players, choice):
        want = table[(label(c), p.label.rsplit(" ", 1)[0], s.label)]
        got = float(g[list(choice)][p])
        assert abs(got - want) <= 1e-9 * max(1, abs(want)), (label(c), p.label, got, want)
        checked += 1
pure = sorted({label(counts([next(s for s in p.strategies if e[s] > 0.5) for p in g.players]))
               for e in gbt.nash.enumpure_solve(g).equilibria})
eq = pl.read_parquet(d + "/equilibria.parquet").filter(pl.col("kind") == "pure")
print(json.dumps({"checked": checked, "gambit_pure": pure, "ours": sorted(eq["profile"].to_list())}))
"#;
    let out = std::process::Command::new("python3")
        .arg("-c")
        .arg(script)
        .arg(&dir)
        .output()
        .expect("python3 runs (./scripts/test installs polars and pygambit)");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    // 3^2 × 2^2 pure profiles of 4 players.
    assert_eq!(v["checked"], 36 * 4);
    let gambit: Vec<String> = serde_json::from_value(v["gambit_pure"].clone()).unwrap();
    let ours: Vec<String> = serde_json::from_value(v["ours"].clone()).unwrap();
    assert!(!ours.is_empty());
    assert_eq!(gambit, ours);
}

#[test]
fn adaptive_sampling_confirms_equilibria_of_the_whole_game_from_fewer_profiles() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    cascade(tmp.path())
        .args(["game", "predator_game", "--out", "out", "--threads", "2"])
        .args(SMALL)
        .assert()
        .success();
    let complete = game_dir(&out);
    // The same runs (common seeds), no extra replicates: ε = 50 quote.
    let adaptive = ["--set", "game.adaptive={epsilon: 50, max_replicates: 2}"];
    let run = cascade(tmp.path())
        .args(["game", "predator_game", "--out", "out", "--threads", "2"])
        .args(SMALL)
        .args(adaptive)
        .assert()
        .success();
    let stdout = String::from_utf8_lossy(&run.get_output().stdout).to_string();
    assert!(stdout.contains("adaptive sampling ran"), "{stdout}");
    let dirs: Vec<PathBuf> = std::fs::read_dir(out.join("predator_game/games"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| *p != complete)
        .collect();
    let [adaptive_dir] = dirs.as_slice() else { panic!("{dirs:?}") };
    let whole = cascade_experiments::game::read_plan(&complete).unwrap();
    let sampled = cascade_experiments::game::read_plan(adaptive_dir).unwrap();
    assert!(sampled.cells.len() < whole.cells.len(), "{} of {} cells", sampled.cells.len(), whole.cells.len());
    // Every confirmed equilibrium is an ε-equilibrium of the complete game.
    let results = cascade_experiments::game::aggregate::analyse(&whole, &out).unwrap().variants;
    let confirmed = sampled.confirmed.as_ref().unwrap();
    assert!(!confirmed[0].is_empty());
    for mixture in &confirmed[0] {
        let regret = results[0].game.regret(mixture);
        assert!(regret <= 50.0 + 1e-9, "{mixture:?} has regret {regret} in the complete game");
    }
}

/// Two variants of the shipped game: the second against the first at
/// every pair of their equilibria, each difference that of the two
/// equilibria's rows in `equilibria.parquet`, with a bootstrap interval.
#[test]
fn variants_are_contrasted_at_equilibrium() {
    let tmp = tempfile::tempdir().unwrap();
    let both: Vec<&str> = SMALL.chunks(2).filter(|p| !p[1].starts_with("sweep.variants")).flatten().copied().collect();
    let out = cascade(tmp.path()).args(["game", "predator_game"]).args(&both).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}{}", String::from_utf8_lossy(&out.stderr));
    assert!(
        stdout.contains("variants at equilibrium")
            && stdout.contains("last_trade_mark equilibrium 0 against median_mark equilibrium 0"),
        "{stdout}"
    );
    let read = |name: &str| {
        let f = std::fs::File::open(game_dir(&tmp.path().join("results")).join(name)).unwrap();
        ParquetReader::new(f).finish().unwrap()
    };
    let (eq, contrasts) = (read("equilibria.parquet"), read("contrasts.parquet"));
    let col = |df: &DataFrame, c: &str| -> Vec<f64> {
        df.column(c)
            .unwrap()
            .cast(&DataType::Float64)
            .unwrap()
            .f64()
            .unwrap()
            .iter()
            .map(|x| x.unwrap_or(f64::NAN))
            .collect()
    };
    let strs = |df: &DataFrame, c: &str| -> Vec<String> {
        df.column(c).unwrap().str().unwrap().iter().map(|x| x.unwrap().to_owned()).collect()
    };
    let (variant, id, drawdown) = (strs(&eq, "variant"), col(&eq, "equilibrium"), col(&eq, "max_drawdown"));
    let at =
        |v: &str, i: f64| (0..variant.len()).find(|&r| variant[r] == v && id[r] == i).map(|r| drawdown[r]).unwrap();
    let count = |v: &str| variant.iter().filter(|x| *x == v).count();
    assert_eq!(contrasts.height(), count("median_mark") * count("last_trade_mark"));
    let (cv, ce, cr, ref_e) = (
        strs(&contrasts, "variant"),
        col(&contrasts, "equilibrium"),
        strs(&contrasts, "reference"),
        col(&contrasts, "reference_equilibrium"),
    );
    let (diff, lo, hi) = (
        col(&contrasts, "max_drawdown_diff"),
        col(&contrasts, "max_drawdown_diff_ci95_low"),
        col(&contrasts, "max_drawdown_diff_ci95_high"),
    );
    for r in 0..contrasts.height() {
        assert_eq!((cv[r].as_str(), cr[r].as_str()), ("last_trade_mark", "median_mark"));
        assert_eq!(diff[r], at("last_trade_mark", ce[r]) - at("median_mark", ref_e[r]), "row {r}");
        assert!(lo[r].is_finite() && lo[r] <= hi[r], "row {r}: [{}, {}]", lo[r], hi[r]);
    }
}
