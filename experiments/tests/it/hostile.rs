//! Hostile files: inputs written to crash, exhaust or escape the tool. Each
//! is refused with exit code 2 and a message naming the field (or the
//! place in the file), or runs; none panics, allocates without bound or
//! writes outside `--out`.

use assert_cmd::Command;
use std::path::Path;

const BASE: &str = "\
name: hostile
ticks: 100
markets:
  - name: BTC-PERP
    index:
      initial_price: 60000
      shocks: [{ start_tick: 10, drop: 0.05, over_ticks: 5 }]
populations:
  - kind: leveraged
    name: leveraged
    count: 10
  - kind: noise
    name: noise
    count: 5
units: quote
";

fn cascade(dir: &Path) -> Command {
    let mut c = Command::cargo_bin("cascade").unwrap();
    c.current_dir(dir);
    c
}

/// Writes `text` as `file` in `dir` and runs `cascade <command> file`;
/// asserts exit code 2 and no panic, and returns stderr.
fn refused(dir: &Path, command: &str, file: &str, text: &str) -> String {
    std::fs::write(dir.join(file), text).unwrap();
    let mut args = vec![command, file];
    if command != "validate" {
        args.extend(["--out", "out"]);
    }
    let out = cascade(dir).args(args).assert().code(2);
    let stderr = String::from_utf8_lossy(&out.get_output().stderr).into_owned();
    assert!(!stderr.contains("panicked"), "{file} panicked:\n{stderr}");
    stderr
}

#[test]
fn yaml_that_expands_or_nests_without_bound_is_refused_at_its_place() {
    let tmp = tempfile::tempdir().unwrap();
    // Nine levels of ten aliases each: 20 lines that expand to 10^9 values.
    let mut bomb = String::from("name: bomb\nticks: 10\nx0: &a0 [1, 1, 1, 1, 1, 1, 1, 1, 1, 1]\n");
    for i in 1..9 {
        let items = vec![format!("*a{}", i - 1); 10].join(", ");
        bomb.push_str(&format!("x{i}: &a{i} [{items}]\n"));
    }
    let err = refused(tmp.path(), "validate", "bomb.yaml", &bomb);
    assert!(err.contains("bomb.yaml:8:") && err.contains("expands to more than 1000000 values"), "{err}");
    // 100,000 nested flow sequences, and 3,000 nested block sequences.
    let flow = format!("name: deep\nticks: 10\nmarkets: {}{}\n", "[".repeat(100_000), "]".repeat(100_000));
    let err = refused(tmp.path(), "validate", "flow.yaml", &flow);
    assert!(err.contains("flow.yaml:3:") && err.contains("nested more than 64 levels"), "{err}");
    let block: String = (1..3000).map(|i| format!("{}- \n", "  ".repeat(i))).collect();
    let err = refused(tmp.path(), "validate", "block.yaml", &format!("name: deep\nticks: 10\nmarkets:\n{block}"));
    assert!(err.contains("block.yaml:67:") && err.contains("nested more than 64 levels"), "{err}");
}

#[test]
fn names_never_become_paths_outside_the_output_folder() {
    let tmp = tempfile::tempdir().unwrap();
    let work = tmp.path().join("work");
    std::fs::create_dir(&work).unwrap();
    let cases = [
        ("market.yaml", "  - name: BTC-PERP\n", "  - name: \"../../escape\"\n", "markets[0].name", 4),
        ("population.yaml", "    name: noise\n", "    name: \"a/b\"\n", "populations[1].name", 13),
        ("control.yaml", "    name: noise\n", "    name: \"no\\tise\"\n", "populations[1].name", 13),
        ("long.yaml", "  - name: BTC-PERP\n", &format!("  - name: {}\n", "M".repeat(300)), "markets[0].name", 4),
        (
            "variant.yaml",
            "    count: 5\n",
            "    count: 5\nsweep:\n  variants:\n    - name: base\n    - name: \"../../../escape\"\n",
            "sweep.variants[1].name",
            18,
        ),
    ];
    for (file, from, to, field, line) in cases {
        assert!(BASE.contains(from));
        let text = BASE.replacen(from, to, 1);
        for command in ["validate", "run", "sweep"] {
            let err = refused(&work, command, file, &text);
            assert!(err.contains(&format!("{file}:{line}:")) && err.contains(field), "{command} {file}:\n{err}");
        }
    }
    // A game variant named to climb out of the folder (the Gambit file
    // takes the variant's name) is refused the same way.
    let game = BASE.replacen("    count: 5\n", "    count: 5\ngame:\n  roles:\n    - population: noise\n      players: 2\n      strategies:\n        - { name: a }\n        - { name: b, set: { rate: 2 } }\nsweep:\n  variants:\n    - name: one\n    - name: \"../two\"\n", 1);
    let err = refused(&work, "game", "game.yaml", &game);
    assert!(err.contains("sweep.variants[1].name"), "{err}");
    let mut left: Vec<String> =
        std::fs::read_dir(tmp.path()).unwrap().map(|e| e.unwrap().file_name().into_string().unwrap()).collect();
    left.sort();
    assert_eq!(left, ["work"], "nothing is written beside the working folder");
    assert!(!work.join("out").exists(), "a refused file writes nothing");
}

#[test]
fn work_without_bound_is_refused_before_it_starts() {
    let tmp = tempfile::tempdir().unwrap();
    let game = |roles: &str, extra: &str| {
        BASE.replacen("    count: 5\n", &format!("    count: 5\ngame:\n  roles:\n{roles}{extra}"), 1)
    };
    let role = |population: &str, players: u64, strategies: usize| {
        let s: String =
            (0..strategies).map(|k| format!("        - {{ name: s{k}, set: {{ rate: {} }} }}\n", k + 1)).collect();
        format!("    - population: {population}\n      players: {players}\n      strategies:\n{s}")
    };
    // Profiles of 4 billion players over 40 strategies: a count beyond u128.
    let err = refused(tmp.path(), "validate", "profiles.yaml", &game(&role("noise", 4_000_000_000, 40), ""));
    assert!(err.contains("game.roles") && err.contains("reduced profiles"), "{err}");
    // Two roles whose counts multiply past u128.
    let both = format!("{}{}", role("noise", 4_000_000_000, 40), role("leveraged", 4_000_000_000, 40));
    let err = refused(tmp.path(), "validate", "product.yaml", &game(&both, ""));
    assert!(err.contains("game.roles"), "{err}");
    // Bootstrap and replicates without bound.
    let small = role("noise", 2, 2);
    let err = refused(tmp.path(), "validate", "bootstrap.yaml", &game(&small, "  bootstrap: 4294967295\n"));
    assert!(err.contains("game.bootstrap") && err.contains("at most 100000"), "{err}");
    let err = refused(
        tmp.path(),
        "validate",
        "adaptive.yaml",
        &game(&small, "  adaptive: { epsilon: 0.1, max_replicates: 4294967295 }\n"),
    );
    assert!(err.contains("game.adaptive.max_replicates"), "{err}");
    // Autocorrelation lags near usize::MAX, and a horizon of 0.
    let check = |statistic: &str| {
        format!(
            "{BASE}check:\n  source: s\n  figure: f\n  claims:\n    - says: x\n      statistic: {statistic}\n      band: [null, 1]\n"
        )
    };
    let err = refused(
        tmp.path(),
        "validate",
        "lags.yaml",
        &check("{ kind: max_abs_acf, from: 1, to: 18446744073709551615 }"),
    );
    assert!(err.contains("check.claims[0].statistic.to") && err.contains("at most lag 1000"), "{err}");
    let err = refused(tmp.path(), "validate", "horizon.yaml", &check("{ kind: kurtosis, horizon: 0 }"));
    assert!(err.contains("check.claims[0].statistic.horizon"), "{err}");
    let err = refused(tmp.path(), "validate", "long.yaml", &check("{ kind: kurtosis_change, horizon: 60, long: 60 }"));
    assert!(err.contains("check.claims[0].statistic.long") && err.contains("must exceed horizon"), "{err}");
    // A window that holds no return, or starts after the run.
    for (window, why) in
        [("[50, 50]", "holds no return"), ("[60, 10]", "holds no return"), ("[100000, 200000]", "after the run")]
    {
        let text = check(&format!("{{ kind: kurtosis, horizon: 1, window: {window} }}"));
        let err = refused(tmp.path(), "validate", "window.yaml", &text);
        let line = text.lines().position(|l| l.contains("statistic:")).unwrap() + 1;
        assert!(err.contains(&format!("window.yaml:{line}:")), "{err}");
        assert!(err.contains("check.claims[0].statistic.window") && err.contains(why), "{err}");
    }
}

/// A game's payoff is checked against the agents frame's numeric
/// columns; each column that validate accepts is in the frame, numeric.
#[test]
fn a_payoff_that_is_not_a_numeric_agent_column_is_refused() {
    use polars::prelude::SerReader;
    let tmp = tempfile::tempdir().unwrap();
    let game = |payoff: &str| {
        BASE.replacen(
            "    count: 5\n",
            &format!("    count: 5\ngame:\n  roles:\n    - population: noise\n      players: 2\n      strategies:\n        - {{ name: a }}\n        - {{ name: b, set: {{ rate: 2 }} }}\n  payoff: {payoff}\n"),
            1,
        )
    };
    for payoff in ["population", "liquidated", "pnl_usd"] {
        let err = refused(tmp.path(), "validate", "payoff.yaml", &game(payoff));
        assert!(err.contains("payoff.yaml:22:") && err.contains("game.payoff"), "{payoff}: {err}");
    }
    cascade(tmp.path())
        .args([
            "run",
            "baseline",
            "--ticks",
            "20",
            "--out",
            "out",
            "--set",
            "outputs={charts: false, notebook: false, tables: false}",
        ])
        .assert()
        .success();
    let run = std::fs::read_dir(tmp.path().join("out/baseline"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.is_dir())
        .unwrap();
    let file = std::fs::File::open(run.join("agents.parquet")).unwrap();
    let df = polars::prelude::ParquetReader::new(file).finish().unwrap();
    for column in cascade_experiments::framework::record::recorder::AGENT_NUMBERS {
        let dtype = df.column(column).unwrap().dtype().clone();
        assert!(dtype.is_primitive_numeric(), "{column} is {dtype:?}");
    }
}

/// 100,000 keepers each looking at up to 2,000 auctions a tick: the
/// budget counts the scans, and refuses the plan before it runs.
#[test]
fn keeper_scans_enter_the_budget() {
    let tmp = tempfile::tempdir().unwrap();
    let file = concat!(env!("CARGO_MANIFEST_DIR"), "/replications/black_thursday.yaml");
    let out = cascade(tmp.path())
        .args(["run", file, "--set", "populations.keepers.count=100000", "--out", "out"])
        .assert()
        .code(2);
    let err = String::from_utf8_lossy(&out.get_output().stderr).into_owned();
    assert!(err.contains("200000000 keepers' looks at open auctions"), "{err}");
    assert!(!tmp.path().join("out").exists());
}

/// Amounts at the edge of i64 in the agents and the oracle run (or stop
/// with an overflow error), never panic.
#[test]
fn limits_near_the_top_of_i64_do_not_panic() {
    let tmp = tempfile::tempdir().unwrap();
    let out = cascade(tmp.path())
        .args([
            "run",
            "amm_oracle",
            "--ticks",
            "400",
            "--set",
            "populations.basis.inventory_lots=9223372036854775807",
            "--set",
            "outputs={charts: false, notebook: false, tables: false}",
        ])
        .assert()
        .success();
    assert!(String::from_utf8_lossy(&out.get_output().stdout).contains("ran in"));
}

/// What only the built world finds (references between markets and
/// populations) is refused by `validate` at its line, and by `run` the same
/// way with exit code 2, before anything runs.
#[test]
fn validate_refuses_what_run_would_refuse() {
    let tmp = tempfile::tempdir().unwrap();
    let markets = "markets:\n  - name: BTC-PERP\n    index:\n      initial_price: 60000\n      shocks: [{ start_tick: 10, drop: 0.05, over_ticks: 5 }]\n";
    let cases = [
        (
            "twice.yaml",
            format!("{markets}  - name: BTC-PERP\n    index: {{ initial_price: 60000 }}\n"),
            "markets[1].name",
            8,
        ),
        (
            "cycle.yaml",
            "markets:\n  - name: A\n    index: { initial_price: 60000, process: { kind: follow, market: B } }\n  - name: B\n    index: { initial_price: 60000, process: { kind: follow, market: A } }\n".to_owned(),
            "markets[0].index.process.market",
            5,
        ),
    ];
    for (file, markets_text, field, line) in cases {
        let text = BASE.replacen(markets, &markets_text, 1);
        assert_ne!(text, BASE);
        for command in ["validate", "run", "sweep"] {
            let err = refused(tmp.path(), command, file, &text);
            assert!(err.contains(&format!("{file}:{line}:")) && err.contains(field), "{command} {file}:\n{err}");
        }
    }
    let arb = BASE.replacen(
        "  - kind: noise\n",
        "  - kind: arbitrageur\n    name: arb\n    count: 2\n    spot: 0\n  - kind: noise\n",
        1,
    );
    let err = refused(tmp.path(), "validate", "legs.yaml", &arb);
    assert!(err.contains("legs.yaml:12:") && err.contains("populations[1]"), "{err}");
    assert!(!tmp.path().join("out").exists());
}

/// A bad value in a game strategy's `set` is refused at the strategy, at
/// its line, not at the population it is copied into.
#[test]
fn a_bad_strategy_is_refused_at_its_own_line() {
    let tmp = tempfile::tempdir().unwrap();
    let game = BASE.replacen(
        "    count: 5\n",
        "    count: 5\ngame:\n  roles:\n    - population: noise\n      players: 2\n      strategies:\n        - { name: a }\n        - { name: b, set: { rate: -2 } }\n        - { name: c, set: { rat: 2 } }\n",
        1,
    );
    for command in ["validate", "game"] {
        let err = refused(tmp.path(), command, "strategies.yaml", &game);
        assert!(err.contains("strategies.yaml:21:") && err.contains("game.roles[0].strategies[1].set.rate"), "{err}");
        assert!(err.contains("strategies.yaml:22:") && err.contains("game.roles[0].strategies[2].set.rat"), "{err}");
    }
}

/// A value that a sweep sets is blamed on the sweep's own field, and a
/// sweep whose point is not a valid experiment is refused with exit code 2
/// by `sweep` as by `validate`.
#[test]
fn a_bad_swept_value_is_named_where_the_sweep_sets_it() {
    let tmp = tempfile::tempdir().unwrap();
    let text = BASE.replacen(
        "    count: 5\n",
        "    count: 5\nsweep:\n  variants:\n    - name: a\n    - name: b\n      set: { populations.noise.rate: -1 }\n  grid:\n    markets.0.index.initial_price: [60000, -5]\n",
        1,
    );
    let line = |text: &str, what: &str| text.lines().position(|l| l.contains(what)).unwrap() + 1;
    let set = line(&text, "set: { populations.noise.rate: -1 }");
    for command in ["validate", "sweep"] {
        let err = refused(tmp.path(), command, "swept.yaml", &text);
        let want =
            format!("swept.yaml:{set}:14: sweep.variants[1].set.populations.noise.rate: -1 must be non-negative");
        assert!(err.contains(&want), "{want} in {err}");
    }
    let grid = text.replace("    - name: b\n      set: { populations.noise.rate: -1 }\n", "");
    let err = refused(tmp.path(), "sweep", "grid.yaml", &grid);
    let at = line(&grid, "markets.0.index.initial_price: [60000, -5]");
    assert!(err.contains(&format!("grid.yaml:{at}:5: sweep.grid.markets.0.index.initial_price:")), "{err}");
}
