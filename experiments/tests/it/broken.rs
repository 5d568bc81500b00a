//! Broken experiment files: each is rejected, through the binary, with an
//! error that names the field and its line. None panics.

use assert_cmd::Command;

const BASE: &str = "\
name: broken
ticks: 100
markets:
  - name: BTC-PERP
    tick_value: 0.0001
    index:
      initial_price: 60000
      shocks: [{ start_tick: 10, drop: 0.05, over_ticks: 5 }]
    depth:
      half_spread_ticks: 5
      levels: 10
      spacing_ticks: 10
      lots_at_best: 10
      growth: 1.0
      refresh_ticks: 10
      provider_collateral: 1000000
protocol:
  penalty: 0.01
  max_rounds: 10
  insurance_fund: 1
populations:
  - kind: leveraged
    name: leveraged
    count: 10
    long_fraction: 0.7
  - kind: noise
    name: noise
    count: 5
units: quote
";

/// (what is broken, replaced text, replacement, expected field path, expected line)
const CASES: &[(&str, &str, &str, &str, usize)] = &[
    ("unknown top-level field", "ticks: 100\n", "ticks: 100\ntickz: 5\n", "tickz", 3),
    ("zero ticks", "ticks: 100", "ticks: 0", "ticks", 2),
    ("ticks not a number", "ticks: 100", "ticks: many", "ticks", 2),
    ("negative price", "initial_price: 60000", "initial_price: -5", "markets[0].index.initial_price", 7),
    ("zero tick value", "tick_value: 0.0001", "tick_value: 0", "markets[0].tick_value", 5),
    ("shock after the last tick", "start_tick: 10", "start_tick: 500", "markets[0].index.shocks[0].start_tick", 8),
    ("shock of 100%", "drop: 0.05", "drop: 1.5", "markets[0].index.shocks[0].drop", 8),
    (
        "unknown market field",
        "    tick_value: 0.0001\n",
        "    tick_value: 0.0001\n    tick_valu: 3\n",
        "markets[0].tick_valu",
        6,
    ),
    ("zero spacing", "spacing_ticks: 10", "spacing_ticks: 0", "markets[0].depth.spacing_ticks", 12),
    ("negative depth", "lots_at_best: 10", "lots_at_best: -10", "markets[0].depth.lots_at_best", 13),
    ("zero rounds", "max_rounds: 10", "max_rounds: 0", "protocol.max_rounds", 19),
    ("penalty above 100%", "penalty: 0.01", "penalty: 2", "protocol.penalty", 18),
    ("negative fund", "insurance_fund: 1", "insurance_fund: -1", "protocol.insurance_fund", 20),
    ("probability above 1", "long_fraction: 0.7", "long_fraction: 1.7", "populations[0].long_fraction", 25),
    ("unknown population kind", "kind: noise", "kind: whale", "populations[1].kind", 26),
    ("misspelled population field", "    count: 5\n", "    cuont: 5\n", "populations[1].cuont", 28),
    ("negative count", "    count: 5\n", "    count: -5\n", "populations[1].count", 28),
    ("population in a missing market", "    count: 5\n", "    count: 5\n    market: 3\n", "populations[1].market", 29),
    ("duplicate population name", "name: noise", "name: leveraged", "populations[1].name", 27),
    (
        "bad leverage distribution",
        "    long_fraction: 0.7\n",
        "    long_fraction: 0.7\n    leverage: { dist: uniform, low: 10, high: 5 }\n",
        "populations[0].leverage",
        26,
    ),
    (
        "maintenance at initial",
        "    tick_value: 0.0001\n",
        "    tick_value: 0.0001\n    tiers: [{ notional_floor: 0, maintenance_rate: 0.01, initial_rate: 0.01 }]\n",
        "markets[0].tiers[0].maintenance_rate",
        6,
    ),
    (
        "bad mark method",
        "    tick_value: 0.0001\n",
        "    tick_value: 0.0001\n    mark: { kind: median }\n",
        "markets[0].mark",
        6,
    ),
    ("invalid experiment name", "name: broken", "name: bro ken/1", "name", 1),
    ("sweep with zero replicates", "    count: 5\n", "    count: 5\nsweep:\n  replicates: 0\n", "sweep.replicates", 30),
    (
        "two variants of one name",
        "    count: 5\n",
        "    count: 5\nsweep:\n  variants:\n    - name: a\n    - name: a\n",
        "sweep.variants[1].name",
        32,
    ),
    (
        "auction price start below the mark",
        "  max_rounds: 10\n",
        "  max_rounds: 10\n  auction: { buf: 0.5 }\n",
        "protocol.auction.buf",
        20,
    ),
    // Accepted once, these wrapped money or exhausted memory or time.
    (
        "a fund that would wrap",
        "insurance_fund: 1",
        "insurance_fund: 9223372036854775807",
        "protocol.insurance_fund",
        20,
    ),
    ("a lot worth more than 2^40 micros", "tick_value: 0.0001", "tick_value: 100000000", "markets[0].tick_value", 5),
    ("a billion depth levels", "levels: 10", "levels: 1000000000", "markets[0].depth.levels", 11),
    ("a trillion ticks", "ticks: 100", "ticks: 1000000000000", "ticks", 2),
    (
        "a noise rate that never finishes",
        "    count: 5\n",
        "    count: 5\n    rate: 10000000\n",
        "populations[1].rate",
        29,
    ),
    ("four billion traders", "    count: 5\n", "    count: 4294967295\n", "populations[1].count", 28),
    ("a sweep of four billion runs", "    count: 5\n", "    count: 5\nsweep:\n  replicates: 4294967295\n", "sweep", 29),
    (
        "a sweep over the seed",
        "    count: 5\n",
        "    count: 5\nsweep:\n  grid:\n    seed: [1, 2]\n",
        "sweep.grid.seed",
        31,
    ),
    (
        "a sweep over the name",
        "    count: 5\n",
        "    count: 5\nsweep:\n  grid:\n    name: [a, b]\n",
        "sweep.grid.name",
        31,
    ),
    (
        "a sweep over its own replicates",
        "    count: 5\n",
        "    count: 5\nsweep:\n  grid:\n    sweep.replicates: [1, 2]\n",
        "sweep.grid.sweep.replicates",
        31,
    ),
    (
        "leverage 0 (it would be clamped to 1)",
        "    long_fraction: 0.7\n",
        "    long_fraction: 0.7\n    leverage: { dist: fixed, value: 0 }\n",
        "populations[0].leverage",
        26,
    ),
    (
        "leverage up to a billion (it would be clamped to 1,000)",
        "    long_fraction: 0.7\n",
        "    long_fraction: 0.7\n    leverage: { dist: uniform, low: 5, high: 1000000000 }\n",
        "populations[0].leverage",
        26,
    ),
    (
        "a 300-character name",
        "name: broken",
        "name: bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb",
        "name",
        1,
    ),
    (
        "a game role that is no population",
        "    count: 5\n",
        "    count: 5\ngame:\n  roles:\n    - { population: whales, players: 2, strategies: [{ name: a }] }\n",
        "game.roles[0].population",
        31,
    ),
    (
        "a replication claim at a variant that does not exist",
        "    count: 5\n",
        "    count: 5\ncheck:\n  source: s\n  figure: f\n  claims:\n    - { says: x, statistic: { kind: metric, name: max_drawdown }, variant: nope, band: [0, null] }\n",
        "check.claims[0].variant",
        33,
    ),
    (
        "an unknown depth anchor",
        "      refresh_ticks: 10\n",
        "      refresh_ticks: 10\n      anchor: fundamental_price\n",
        "markets[0].depth.anchor",
        16,
    ),
    (
        "an anchor half-life of zero",
        "      refresh_ticks: 10\n",
        "      refresh_ticks: 10\n      anchor: mid\n      anchor_half_life: 0\n",
        "markets[0].depth.anchor_half_life",
        17,
    ),
    (
        "an anchor half-life that is not finite",
        "      refresh_ticks: 10\n",
        "      refresh_ticks: 10\n      anchor: last_trade\n      anchor_half_life: .inf\n",
        "markets[0].depth.anchor_half_life",
        17,
    ),
    (
        "a half-life on the index anchor",
        "      refresh_ticks: 10\n",
        "      refresh_ticks: 10\n      anchor_half_life: 5\n",
        "markets[0].depth.anchor_half_life",
        16,
    ),
    (
        "a resilience above 1",
        "      refresh_ticks: 10\n",
        "      refresh_ticks: 10\n      resilience: 1.5\n",
        "markets[0].depth.resilience",
        16,
    ),
    (
        "a negative capital arrival",
        "    count: 5\n",
        "    count: 5\n  - kind: fundamental\n    name: value\n    count: 2\n    capital_arrival: -1\n",
        "populations[2].capital_arrival",
        32,
    ),
    (
        "base inventory for a value trader on a perpetual",
        "    count: 5\n",
        "    count: 5\n  - kind: fundamental\n    name: value\n    count: 2\n    base_inventory: 100\n",
        "populations[2].base_inventory",
        32,
    ),
    (
        "keepers without auctions",
        "  - kind: noise\n",
        "  - kind: keeper\n    name: keepers\n    count: 2\n  - kind: noise\n",
        "populations[1].kind",
        26,
    ),
];

#[test]
fn broken_files_are_rejected_naming_field_and_line() {
    let tmp = tempfile::tempdir().unwrap();
    assert!(CASES.len() >= 20);
    // The base itself is valid.
    std::fs::write(tmp.path().join("base.yaml"), BASE).unwrap();
    Command::cargo_bin("cascade").unwrap().current_dir(tmp.path()).args(["validate", "base.yaml"]).assert().success();
    for (i, (what, from, to, field, line)) in CASES.iter().enumerate() {
        assert!(BASE.contains(from), "case {what}: {from:?} not in the base");
        let text = BASE.replacen(from, to, 1);
        let file = format!("case{i}.yaml");
        std::fs::write(tmp.path().join(&file), &text).unwrap();
        let out =
            Command::cargo_bin("cascade").unwrap().current_dir(tmp.path()).args(["validate", &file]).assert().code(2);
        let stderr = String::from_utf8_lossy(&out.get_output().stderr).to_string();
        assert!(!stderr.contains("panicked"), "case {what} panicked:\n{stderr}");
        let want = format!("{file}:{line}:");
        let hit = stderr.lines().any(|l| l.contains(&want) && l.contains(field));
        assert!(hit, "case {what}: expected `{want}` and `{field}` in:\n{stderr}");
    }
}

#[test]
fn several_errors_are_reported_at_once() {
    let text = BASE.replace("long_fraction: 0.7", "long_fraction: 7").replace("max_rounds: 10", "max_rounds: 0");
    let err = cascade_experiments::load_str(&text, "f.yaml", &[]).unwrap_err();
    let s = err.to_string();
    assert!(s.contains("2 errors"), "{s}");
    assert!(s.contains("f.yaml:19:3: protocol.max_rounds"), "{s}");
    assert!(s.contains("f.yaml:25:5: populations[0].long_fraction"), "{s}");
}

#[test]
fn yaml_syntax_errors_give_the_position() {
    let err = cascade_experiments::load_str("name: x\nticks: [1, 2\n", "f.yaml", &[]).unwrap_err();
    let d = &err.diagnostics[0];
    assert!(d.position.is_some(), "{err}");
    assert!(err.to_string().contains("not valid YAML"));
}

/// A grid path that names nothing is found by `validate`, before a sweep
/// starts, with the point and the path.
#[test]
fn validate_checks_every_sweep_point() {
    let tmp = tempfile::tempdir().unwrap();
    let text =
        BASE.replacen("    count: 5\n", "    count: 5\nsweep:\n  grid:\n    populations.keepers.count: [1, 2]\n", 1);
    std::fs::write(tmp.path().join("s.yaml"), text).unwrap();
    let out =
        Command::cargo_bin("cascade").unwrap().current_dir(tmp.path()).args(["validate", "s.yaml"]).assert().code(2);
    let stderr = String::from_utf8_lossy(&out.get_output().stderr).to_string();
    assert!(stderr.contains("sweep point 0") && stderr.contains("keepers"), "{stderr}");
    let good =
        BASE.replacen("    count: 5\n", "    count: 5\nsweep:\n  grid:\n    populations.noise.count: [1, 2]\n", 1);
    std::fs::write(tmp.path().join("g.yaml"), good).unwrap();
    let out =
        Command::cargo_bin("cascade").unwrap().current_dir(tmp.path()).args(["validate", "g.yaml"]).assert().success();
    assert!(String::from_utf8_lossy(&out.get_output().stdout).contains("sweep checked"));
}

/// Encodings: a UTF-8 byte-order mark is fine; UTF-16 and Latin-1 are
/// named as such, and validate goes on to the next file.
#[test]
fn encodings_are_named_and_every_file_is_checked() {
    let tmp = tempfile::tempdir().unwrap();
    let bom = [b"\xEF\xBB\xBF".as_slice(), BASE.as_bytes()].concat();
    std::fs::write(tmp.path().join("bom.yaml"), bom).unwrap();
    let utf16: Vec<u8> = [0xFF_u8, 0xFE].into_iter().chain(BASE.encode_utf16().flat_map(u16::to_le_bytes)).collect();
    std::fs::write(tmp.path().join("utf16.yaml"), utf16).unwrap();
    // "café" in Latin-1: é is the single byte 0xE9.
    let mut latin1 = BASE.replacen("name: broken\n", "name: broken\ndescription: caf\u{1}\n", 1).into_bytes();
    latin1.iter_mut().filter(|b| **b == 1).for_each(|b| *b = 0xE9);
    std::fs::write(tmp.path().join("latin1.yaml"), latin1).unwrap();
    std::fs::write(tmp.path().join("ok.yaml"), BASE).unwrap();
    let out = Command::cargo_bin("cascade")
        .unwrap()
        .current_dir(tmp.path())
        .args(["validate", "bom.yaml", "utf16.yaml", "latin1.yaml", "ok.yaml"])
        .assert()
        .code(2);
    let stdout = String::from_utf8_lossy(&out.get_output().stdout).to_string();
    let stderr = String::from_utf8_lossy(&out.get_output().stderr).to_string();
    assert!(stdout.contains("bom.yaml: ok") && stdout.contains("ok.yaml: ok"), "{stdout}");
    assert!(stderr.contains("utf16.yaml: the text is UTF-16"), "{stderr}");
    assert!(stderr.contains("latin1.yaml: the text is not UTF-8"), "{stderr}");
}

#[test]
fn run_exits_2_on_an_invalid_file_like_validate() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(tmp.path().join("bad.yaml"), BASE.replace("ticks: 100", "ticks: 0")).unwrap();
    for cmd in ["run", "sweep", "validate"] {
        Command::cargo_bin("cascade").unwrap().current_dir(tmp.path()).args([cmd, "bad.yaml"]).assert().code(2);
    }
}

#[test]
fn an_output_folder_that_cannot_be_written_is_reported_before_the_run() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(tmp.path().join("ok.yaml"), BASE).unwrap();
    // A file where the folder should be: nothing can be created under it.
    std::fs::write(tmp.path().join("taken"), "").unwrap();
    let out = Command::cargo_bin("cascade")
        .unwrap()
        .current_dir(tmp.path())
        .args(["run", "ok.yaml", "--out", "taken/results"])
        .assert()
        .code(1);
    let stderr = String::from_utf8_lossy(&out.get_output().stderr).to_string();
    assert!(stderr.contains("is not writable"), "{stderr}");
    assert!(!stderr.contains("outputs in"), "{stderr}");
}

#[test]
fn plans_over_the_resource_limits_are_refused_before_anything_runs() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(tmp.path().join("ok.yaml"), BASE).unwrap();
    let refused = |args: &[&str]| {
        let out = Command::cargo_bin("cascade").unwrap().current_dir(tmp.path()).args(args).assert().code(2);
        assert!(!tmp.path().join("results/broken").exists(), "{args:?} wrote results");
        String::from_utf8_lossy(&out.get_output().stderr).to_string()
    };
    // 10 million ticks of one market: 10.2 GiB of tick rows and 3.6 GiB of
    // heatmap (a million samples of at most 15 buckets, one per agent).
    let err = refused(&["run", "ok.yaml", "--ticks", "10000000", "--max-memory", "4G"]);
    assert!(err.contains("this run needs about 13.9 GiB of memory"), "{err}");
    assert!(err.contains("above the limit of 4.0 GiB (set by --max-memory)"), "{err}");
    assert!(err.contains("--max-memory 14G"), "{err}");
    // A sweep holds one run per thread.
    let err = refused(&[
        "sweep",
        "ok.yaml",
        "--set",
        "sweep={replicates: 4}",
        "--set",
        "populations.noise.count=400000",
        "--threads",
        "2",
        "--max-memory",
        "512M",
    ]);
    assert!(err.contains("this sweep needs about") && err.contains("× 2 runs at once"), "{err}");
    // Work per tick: 400,000 noise traders at 50 orders a tick.
    let err =
        refused(&["run", "ok.yaml", "--set", "populations.noise.count=400000", "--set", "populations.noise.rate=50"]);
    assert!(err.contains("sends about 20000000 orders per tick, above the limit of 1000000"), "{err}");
    assert!(err.contains("--max-orders-per-tick 20000000"), "{err}");
    // Within the limits it runs.
    Command::cargo_bin("cascade")
        .unwrap()
        .current_dir(tmp.path())
        .args(["run", "ok.yaml", "--max-memory", "1G", "--max-orders-per-tick", "100"])
        .assert()
        .success();
}
