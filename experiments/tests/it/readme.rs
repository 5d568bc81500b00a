//! The README's YAML is real: its full experiment loads and plans its
//! sweep (and a game its profiles), and every fragment, put into that experiment as the README
//! describes it, gives a valid experiment too.

use serde_yaml::{Mapping, Value};

/// The ```yaml blocks of the README, with their first lines.
fn blocks() -> Vec<(usize, String)> {
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../README.md")).unwrap();
    let mut out = Vec::new();
    let mut current: Option<(usize, String)> = None;
    for (i, line) in text.lines().enumerate() {
        match (&mut current, line.trim_start()) {
            (None, l) if l.starts_with("```yaml") => current = Some((i + 2, String::new())),
            (Some(_), l) if l.starts_with("```") => out.push(current.take().expect("open block")),
            (Some((_, body)), _) => {
                body.push_str(line);
                body.push('\n');
            }
            _ => {}
        }
    }
    out
}

/// `fragment` put into `base`: a list of markets is added to the markets;
/// `populations` are added; any other top-level key replaces the base's.
fn merged(base: &Mapping, fragment: &Value) -> Mapping {
    let mut doc = base.clone();
    let key = |k: &str| Value::String(k.into());
    match fragment {
        Value::Sequence(markets) => {
            doc[&key("markets")].as_sequence_mut().unwrap().extend(markets.iter().cloned());
        }
        Value::Mapping(m) => {
            for (k, v) in m {
                if k == &key("populations") {
                    doc[&key("populations")]
                        .as_sequence_mut()
                        .unwrap()
                        .extend(v.as_sequence().unwrap().iter().cloned());
                } else {
                    doc.insert(k.clone(), v.clone());
                }
            }
        }
        other => panic!("a README block is neither a mapping nor a list: {other:?}"),
    }
    doc
}

fn check(text: &str, label: &str) {
    let loaded = cascade_experiments::load_str(text, label, &[]).unwrap_or_else(|e| panic!("{label}:\n{e:?}\n{text}"));
    if loaded.experiment.sweep.is_some() {
        cascade_experiments::sweep::plan(&loaded).unwrap_or_else(|e| panic!("{label}: {e:#}"));
    }
    if loaded.experiment.game.is_some() {
        cascade_experiments::game::plan(&loaded).unwrap_or_else(|e| panic!("{label}: {e:#}"));
    }
}

#[test]
fn every_yaml_block_of_the_readme_is_a_valid_experiment() {
    let blocks = blocks();
    assert!(blocks.len() >= 5, "found {} blocks", blocks.len());
    let (first_line, full) = &blocks[0];
    assert!(full.starts_with("units: quote "), "the first block is the full example, in quote units");
    check(full, &format!("README.md:{first_line}"));
    let base: Mapping = serde_yaml::from_str(full).unwrap();
    for (line, fragment) in &blocks[1..] {
        let value: Value = serde_yaml::from_str(fragment).unwrap_or_else(|e| panic!("README.md:{line}: {e}"));
        let text = serde_yaml::to_string(&merged(&base, &value)).unwrap();
        check(&text, &format!("README.md:{line} in the full example"));
    }
}
