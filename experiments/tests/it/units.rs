//! Units: a file says what it is written in, a value a person writes is
//! converted exactly or refused with what to write instead, and `cascade
//! migrate` rewrites a file in the old integer units without changing the
//! experiment it describes.

use assert_cmd::Command;
use cascade_experiments::load_str;
use cascade_experiments::run::resolved_config;

/// A file in the integer units of before (ticks, micros, ppm), with a
/// sweep whose values are in those units too.
const OLD: &str = "\
# A small world.
name: old_units
ticks: 60
markets:
  - name: BTC-PERP
    tick_value: 100            # micros per tick per lot
    index:
      initial_price: 600005    # 60,000.5 quote
      shocks: [{ start_tick: 10, drop: 0.05, over_ticks: 5 }]
    fees: { maker: -100, taker: 500 }
    depth: { levels: 10, spacing_ticks: 10, lots_at_best: 10, provider_collateral: 1000000000000 }
protocol:
  penalty: 10000
  insurance_fund: 2500000000   # 2,500 quote
populations:
  - { kind: leveraged, name: leveraged, count: 10 }
  - { kind: noise, name: noise, count: 5, capital: 100000000000 }
sweep:
  grid:
    protocol.insurance_fund: [1000000, 2000000000]
  variants:
    - { name: cheap, set: { markets.0.fees.taker: 200 } }
";

fn cascade(dir: &std::path::Path, args: &[&str]) -> (i32, String, String) {
    let out = Command::cargo_bin("cascade").unwrap().current_dir(dir).args(args).output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn a_file_that_does_not_say_its_units_is_refused_naming_migrate() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(tmp.path().join("old.yaml"), OLD).unwrap();
    for command in ["validate", "run"] {
        let (code, _, stderr) = cascade(tmp.path(), &[command, "old.yaml"]);
        assert_eq!(code, 2, "{command}: {stderr}");
        assert!(stderr.contains("cascade migrate") && stderr.contains("units: quote"), "{command}: {stderr}");
        assert!(stderr.contains("old.yaml: 1 error\n"), "one message, not one per value: {stderr}");
    }
}

#[test]
fn migrate_rewrites_in_quote_units_and_the_experiment_is_the_same() {
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("old.yaml");
    std::fs::write(&file, OLD).unwrap();
    let (code, _, stderr) = cascade(tmp.path(), &["migrate", "old.yaml"]);
    assert_eq!(code, 0, "{stderr}");
    let new = std::fs::read_to_string(&file).unwrap();
    for written in [
        "units: quote",
        "tick_value: 0.0001            # micros per tick per lot",
        "initial_price: 60000.5    # 60,000.5 quote",
        "fees: { maker: -0.0001, taker: 0.0005 }",
        "provider_collateral: 1000000 }",
        "penalty: 0.01",
        "insurance_fund: 2500   # 2,500 quote",
        "capital: 100000 }",
        "protocol.insurance_fund: [1, 2000]",
        "markets.0.fees.taker: 0.0002",
        "# A small world.",
    ] {
        assert!(new.contains(written), "{written:?} not in:\n{new}");
    }
    // The same experiment: the typed configuration, so the run ids and
    // frames, are those of the old file read in its own units.
    let old = load_str(&format!("units: exact\n{OLD}"), "old", &[]).unwrap();
    let migrated = load_str(&new, "new", &[]).unwrap();
    assert_eq!(resolved_config(&migrated.experiment), resolved_config(&old.experiment));
    let (code, stdout, stderr) = cascade(tmp.path(), &["validate", "old.yaml"]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    // A second migrate leaves the file alone.
    let (code, _, stderr) = cascade(tmp.path(), &["migrate", "old.yaml"]);
    assert_eq!(code, 0);
    assert!(stderr.contains("already declares its units"), "{stderr}");
    assert_eq!(std::fs::read_to_string(&file).unwrap(), new);
}

#[test]
fn shipped_files_say_their_units() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    for folder in ["configs", "replications"] {
        for entry in std::fs::read_dir(root.join(folder)).unwrap() {
            let path = entry.unwrap().path();
            let text = std::fs::read_to_string(&path).unwrap();
            assert!(text.contains("\nunits: quote"), "{} does not say `units: quote`", path.display());
        }
    }
}

/// Common unit mistakes, each refused at its field and line with what to
/// write instead.
#[test]
fn unit_mistakes_say_what_to_write() {
    let base = "units: quote\nname: u\nticks: 60\nmarkets:\n  - name: BTC-PERP\n    index: { initial_price: 60000 }\n\
                protocol:\n  penalty: 0.01\n  insurance_fund: 1000000\n\
                populations:\n  - { kind: noise, name: noise, count: 5, capital: 1000 }\n";
    let cases: [(&str, &str, &str, &str, &str); 9] = [
        (
            "a price off the tick grid",
            "initial_price: 60000 }",
            "initial_price: 60000.05 }",
            "6:",
            "nearest prices are 60000 and 60000.1",
        ),
        ("a rate in percent", "penalty: 0.01", "penalty: 1%", "8:", "a fraction, e.g. 0.01 for 1%"),
        ("a rate finer than a ppm", "penalty: 0.01", "penalty: 0.0000001", "8:", "the nearest are 0 and 0.000001"),
        (
            "money finer than a micro-unit",
            "capital: 1000 }",
            "capital: 1000.0000004 }",
            "11:",
            "nearest are 1000 and 1000.000001",
        ),
        (
            "money as text",
            "insurance_fund: 1000000",
            "insurance_fund: 1M",
            "9:",
            "an amount in quote, e.g. 1000000 or 2.5e6",
        ),
        ("units misspelt", "units: quote", "units: quotes", "1:", "expected `quote`"),
        ("money beyond any range", "insurance_fund: 1000000", "insurance_fund: 1e30", "9:", "out of range"),
        ("a count written as a float", "count: 5,", "count: 5.5,", "11:", "populations[0].count"),
        ("a penalty above 100%", "penalty: 0.01", "penalty: 2", "8:", "must be between 0 and 1"),
    ];
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(tmp.path().join("base.yaml"), base).unwrap();
    let (code, stdout, stderr) = cascade(tmp.path(), &["validate", "base.yaml"]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    for (i, (what, from, to, line, says)) in cases.iter().enumerate() {
        assert!(base.contains(from), "{what}: {from:?} not in the base");
        let file = format!("case{i}.yaml");
        std::fs::write(tmp.path().join(&file), base.replacen(from, to, 1)).unwrap();
        let (code, _, stderr) = cascade(tmp.path(), &["validate", &file]);
        assert_eq!(code, 2, "{what}: {stderr}");
        assert!(
            stderr.contains(&format!("{file}:{line}")) && stderr.contains(says),
            "{what}: expected line {line} and {says:?} in:\n{stderr}"
        );
    }
    // A whole number written as a float is that number.
    std::fs::write(
        tmp.path().join("whole.yaml"),
        base.replacen("count: 5,", "count: 5e0,", 1).replacen("ticks: 60", "ticks: 6e1", 1),
    )
    .unwrap();
    let (code, stdout, stderr) = cascade(tmp.path(), &["validate", "whole.yaml"]);
    assert_eq!(code, 0, "{stdout}{stderr}");
}

/// A value that is valid but probably not meant is warned about at its
/// line; a file with no populations is refused unless it says so.
#[test]
fn implausible_values_are_warned_about_and_a_file_without_traders_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let base = "units: quote\nname: w\nticks: 20\nmarkets:\n  - name: BTC-PERP\n    index: { initial_price: 60000 }\n\
                populations:\n  - { kind: noise, name: noise, count: 5 }\n";
    let write = |name: &str, text: &str| std::fs::write(tmp.path().join(name), text).unwrap();
    write(
        "coarse.yaml",
        &base.replace(
            "initial_price: 60000 }",
            "initial_price: 6 }\n    depth: { levels: 3, spacing_ticks: 2, half_spread_ticks: 1 }",
        ),
    );
    let (code, _, stderr) = cascade(tmp.path(), &["validate", "coarse.yaml"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stderr.contains("warning: coarse.yaml:6:") && stderr.contains("a starting price of 60 ticks"), "{stderr}");
    write("empty.yaml", &base.replace("count: 5", "count: 0"));
    let (code, _, stderr) = cascade(tmp.path(), &["validate", "empty.yaml"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stderr.contains("warning: empty.yaml:8:") && stderr.contains("count is 0"), "{stderr}");
    let none = base.split("populations:").next().unwrap().to_owned();
    write("none.yaml", &none);
    let (code, _, stderr) = cascade(tmp.path(), &["validate", "none.yaml"]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("`populations: []`"), "{stderr}");
    write("on_purpose.yaml", &format!("{none}populations: []\n"));
    let (code, _, stderr) = cascade(tmp.path(), &["validate", "on_purpose.yaml"]);
    assert_eq!(code, 0, "{stderr}");
}

#[test]
fn the_schema_is_in_the_units_of_the_file() {
    let tmp = tempfile::tempdir().unwrap();
    let (code, stdout, _) = cascade(tmp.path(), &["schema"]);
    assert_eq!(code, 0);
    let schema: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(schema["properties"]["units"]["enum"], serde_json::json!(["quote", "exact"]));
    assert!(schema["required"].as_array().unwrap().contains(&serde_json::json!("units")));
    let protocol = &schema["$defs"]["ProtocolParams"]["properties"];
    assert_eq!(protocol["insurance_fund"]["default"], serde_json::json!(1_000_000), "1,000,000 quote");
    assert_eq!(protocol["penalty"]["default"], serde_json::json!(0.01), "1%");
    assert_eq!(schema["$defs"]["Micros"]["type"], "number");
    assert!(!stdout.contains("micros.") && !stdout.contains("(ppm)"), "a description still names the integer units");
}
