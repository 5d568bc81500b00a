//! Fuzzing the loader, `--set` and the framework with the shipped files:
//! each case takes a shipped experiment or replication, shrinks its
//! populations, and sets one to three of its real leaves (or a mangled
//! path) to extreme values through `--set`. A mutant must be refused with
//! diagnostics, or refused by the resource budget, or build and run
//! without a panic: a typed error, or a finished run that conserves value.
//!
//! `CASCADE_FUZZ_CASES` sets the number of cases (256 by default, a few
//! seconds) and `CASCADE_FUZZ_SEED` the seed (fixed by default, so CI runs
//! the same cases; `random` explores); a failure is shrunk and saved by proptest under
//! `proptest-regressions/`, and replayed first from then on.

use cascade_experiments::budget::{Estimate, Limits};
use cascade_experiments::{load_str, replicate, shipped};
use proptest::prelude::*;
use serde_yaml::Value;

/// Extreme and malformed values, as they would be typed after `=`.
const VALUES: &[&str] = &[
    "0",
    "1",
    "-1",
    "2",
    "0.5",
    "1e-9",
    "1e9",
    "4294967295",
    "4294967296",
    "9223372036854775807",
    "-9223372036854775808",
    "18446744073709551615",
    "1e308",
    "-1e308",
    ".nan",
    ".inf",
    "-.inf",
    "x",
    "[]",
    "{}",
    "null",
    "true",
    "''",
];

/// Every file the binary ships.
fn files() -> Vec<(&'static str, &'static str)> {
    shipped::SHIPPED.iter().chain(replicate::REPLICATIONS.iter()).copied().collect()
}

/// The dotted paths of every scalar leaf of a tree.
fn leaves(v: &Value, prefix: &str, out: &mut Vec<String>) {
    let join = |k: &str| if prefix.is_empty() { k.to_owned() } else { format!("{prefix}.{k}") };
    match v {
        Value::Mapping(m) => {
            for (k, child) in m {
                if let Some(k) = k.as_str() {
                    leaves(child, &join(k), out);
                }
            }
        }
        Value::Sequence(s) => {
            for (i, child) in s.iter().enumerate() {
                leaves(child, &join(&i.to_string()), out);
            }
        }
        Value::Tagged(t) => leaves(&t.value, prefix, out),
        _ => out.push(prefix.to_owned()),
    }
}

/// Overrides that keep every population small, so that a run is quick.
fn shrink(tree: &Value) -> Vec<String> {
    let pops = tree.get("populations").and_then(Value::as_sequence).map_or(0, Vec::len);
    (0..pops)
        .filter(|&i| tree["populations"][i].get("count").and_then(Value::as_u64).is_some_and(|c| c > 20))
        .map(|i| format!("populations.{i}.count=20"))
        .collect()
}

/// Factors applied to a leaf's own value: large and small, but often
/// still valid, so that mutants reach the simulation.
const FACTORS: &[f64] = &[0.0, 1e-3, 0.1, 0.5, 0.9, 1.1, 2.0, 10.0, 1e3, 1e6, -1.0];

/// What a mutation writes.
#[derive(Clone, Debug)]
enum Write {
    /// A literal from [`VALUES`].
    Literal(&'static str),
    /// The leaf's own number times a factor from [`FACTORS`] (an integer
    /// stays an integer).
    Scaled(f64),
}

/// One mutation: a leaf (or a mangled form of it) and a value.
#[derive(Clone, Debug)]
struct Mutation {
    leaf: prop::sample::Index,
    mangle: u8,
    write: Write,
}

fn mutation() -> impl Strategy<Value = Mutation> {
    let write = prop_oneof![
        1 => prop::sample::select(VALUES).prop_map(Write::Literal),
        3 => prop::sample::select(FACTORS).prop_map(Write::Scaled),
    ];
    (any::<prop::sample::Index>(), 0..16_u8, write).prop_map(|(leaf, mangle, write)| Mutation { leaf, mangle, write })
}

/// The text a mutation writes at `leaf` of `tree`.
fn value_of(m: &Mutation, tree: &Value, leaf: &str) -> String {
    match m.write {
        Write::Literal(v) => v.to_owned(),
        Write::Scaled(f) => {
            let node = leaf.split('.').try_fold(tree, |v, k| match k.parse::<usize>() {
                Ok(i) => v.get(i),
                Err(_) => v.get(k),
            });
            match node {
                Some(Value::Number(n)) if n.is_i64() || n.is_u64() => {
                    format!("{}", (n.as_f64().unwrap_or(0.0) * f).round())
                }
                Some(Value::Number(n)) => format!("{:e}", n.as_f64().unwrap_or(0.0) * f),
                _ => "1".to_owned(),
            }
        }
    }
}

fn path_of(m: &Mutation, leaves: &[String]) -> String {
    let leaf = m.leaf.get(leaves);
    match m.mangle {
        // Mostly the real leaf; sometimes its parent, an index past the
        // end, a bracket index or an unknown child.
        0 => leaf.rsplit_once('.').map_or(leaf.clone(), |(parent, _)| parent.to_owned()),
        1 => format!("{leaf}.extra"),
        2 => leaf.replacen(".0", ".99", 1),
        3 => leaf.replacen(".0.", "[0].", 1),
        _ => leaf.clone(),
    }
}

/// A mutant of shipped file `file`.
fn exercise(file: usize, mutations: &[Mutation]) -> Result<(), TestCaseError> {
    let (name, text) = files()[file];
    let tree: Value = serde_yaml::from_str(text).expect("shipped files are YAML");
    let mut all = Vec::new();
    leaves(&tree, "", &mut all);
    let mut overrides = shrink(&tree);
    overrides.extend(
        mutations.iter().map(|m| format!("{}={}", path_of(m, &all), value_of(m, &tree, m.leaf.get(&all).as_str()))),
    );
    exercise_overrides(name, text, &overrides)
}

/// Loads `text` with `overrides` and, if it is accepted and small, runs
/// part of it.
fn exercise_overrides(name: &str, text: &str, overrides: &[String]) -> Result<(), TestCaseError> {
    // Shown by the test harness only when the case fails.
    eprintln!("{name} with {overrides:?}");
    let Ok(loaded) = load_str(text, name, overrides) else {
        return Ok(()); // Refused with diagnostics: what a bad value should get.
    };
    let exp = &loaded.experiment;
    let estimate = Estimate::run(exp);
    let small = Limits::new(Some(256 << 20), Some(20_000));
    if small.check(name, &estimate).is_err() {
        return Ok(()); // The budget refuses it before anything runs.
    }
    let ticks = exp.ticks.min(300);
    let work =
        ticks as f64 * (estimate.orders_per_tick + exp.populations.iter().map(|p| f64::from(p.count())).sum::<f64>());
    if work > 3e6 {
        return Ok(()); // Valid but too long for a fuzz case.
    }
    let Ok(mut sim) = exp.build(exp.seed) else {
        return Ok(()); // A typed set-up error.
    };
    if sim.try_run(ticks).is_err() {
        return Ok(()); // A typed overflow error at run time.
    }
    let (value, put_in) = sim.value_balance();
    prop_assert_eq!(value, put_in, "{} with {:?}: value not conserved", name, overrides);
    prop_assert!(sim.finish().is_ok(), "{} with {:?}: the frames could not be built", name, overrides);
    Ok(())
}

fn cases() -> u32 {
    std::env::var("CASCADE_FUZZ_CASES").ok().and_then(|s| s.parse().ok()).unwrap_or(256)
}

/// The same cases on every run unless `CASCADE_FUZZ_SEED` picks others
/// (`random` for a fresh seed each run).
fn seed() -> proptest::test_runner::RngSeed {
    use proptest::test_runner::RngSeed;
    match std::env::var("CASCADE_FUZZ_SEED").as_deref() {
        Ok("random") => RngSeed::Random,
        Ok(s) => s.parse().map_or(RngSeed::Fixed(1), RngSeed::Fixed),
        Err(_) => RngSeed::Fixed(1),
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(), rng_seed: seed(), ..ProptestConfig::default() })]

    #[test]
    fn mutated_shipped_files_are_refused_or_run_without_a_panic(
        file in 0..files().len(),
        mutations in prop::collection::vec(mutation(), 1..4),
    ) {
        cascade_experiments::framework::core::units::quiet_overflow_reports();
        exercise(file, &mutations)?;
    }
}

/// Mutants that once panicked (found by the fuzzer above), each fixed by a
/// bound or by arithmetic that cannot overflow.
#[test]
fn mutants_that_once_panicked_are_refused_or_run() {
    let cases: &[(&str, &[&str])] = &[
        // A shock's end tick overflowed u64.
        ("mm_withdrawal", &["markets[0].index.shocks.0.over_ticks=18446744073709551615"]),
        // The breaker's window and halt overflowed u64.
        ("circuit_breaker", &["protocol.breakers[0].window_ticks=18446744073709551615"]),
        ("circuit_breaker", &["protocol.breakers[0].halt_ticks=18446744073709551615"]),
        // A ladder whose far level or lots leave the price and money range.
        ("thin_book", &["markets.0.depth.spacing_ticks=9223372036854775807"]),
        ("thin_book", &["markets.0.depth.lots_at_best=9223372036854775807"]),
        // A fee of i64::MAX ppm.
        ("amm_oracle", &["markets.2.fees.taker=9223372036854775807"]),
        ("flash_crash", &["markets.0.funding.cap=9223372036854775807"]),
        // Base inventories past the range of one asset.
        ("concept_table", &["populations.6.base_inventory=9223372036854775807"]),
    ];
    cascade_experiments::framework::core::units::quiet_overflow_reports();
    for (name, set) in cases {
        let text = files().into_iter().find(|(n, _)| n == name).map(|(_, t)| t).unwrap();
        let tree: Value = serde_yaml::from_str(text).unwrap();
        let mut overrides = shrink(&tree);
        overrides.extend(set.iter().map(|s| (*s).to_owned()));
        exercise_overrides(name, text, &overrides).unwrap();
    }
}
