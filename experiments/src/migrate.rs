//! `cascade migrate`: rewrites an experiment file written before units
//! were declared (prices in ticks, money in micros, rates in ppm) into
//! quote units ([`crate::spec::units`]), exactly, in place: each value is
//! replaced where it is written, so comments and layout are kept, and a
//! `units: quote` line is added. Values a sweep or a game strategy sets
//! are converted as the field they set.
//!
//! The result is checked before it is returned: read back and converted
//! to the integer units, it must give the file's values exactly.

use crate::load;
use crate::locate::Locator;
use crate::paths;
use crate::spec::units::{self, Direction};
use serde_yaml::Value;

/// A file rewritten in quote units.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Migrated {
    /// The new text.
    pub text: String,
    /// Values rewritten.
    pub rewritten: usize,
}

/// Calls `f` with each value that sets another in `tree`: where it is,
/// the path it sets, and the value.
fn visit(tree: &mut Value, f: &mut dyn FnMut(String, String, &mut Value)) {
    let Some(root) = tree.as_mapping_mut() else { return };
    if let Some(sweep) = root.get_mut("sweep") {
        for axis in ["grid", "zip"] {
            for (k, values) in sweep.get_mut(axis).and_then(Value::as_mapping_mut).into_iter().flatten() {
                let Some(path) = k.as_str() else { continue };
                for (i, v) in values.as_sequence_mut().into_iter().flatten().enumerate() {
                    f(format!("sweep.{axis}.{path}[{i}]"), path.to_owned(), v);
                }
            }
        }
        let variants = sweep.get_mut("variants").and_then(Value::as_sequence_mut);
        for (i, variant) in variants.into_iter().flatten().enumerate() {
            for (k, v) in variant.get_mut("set").and_then(Value::as_mapping_mut).into_iter().flatten() {
                let Some(path) = k.as_str() else { continue };
                f(format!("sweep.variants[{i}].set.{path}"), path.to_owned(), v);
            }
        }
    }
    let roles = root.get_mut("game").and_then(|g| g.get_mut("roles")).and_then(Value::as_sequence_mut);
    for (r, role) in roles.into_iter().flatten().enumerate() {
        let Some(population) = role.get("population").and_then(Value::as_str).map(str::to_owned) else { continue };
        let strategies = role.get_mut("strategies").and_then(Value::as_sequence_mut);
        for (s, strategy) in strategies.into_iter().flatten().enumerate() {
            for (k, v) in strategy.get_mut("set").and_then(Value::as_mapping_mut).into_iter().flatten() {
                let Some(path) = k.as_str() else { continue };
                f(format!("game.roles[{r}].strategies[{s}].set.{path}"), format!("populations.{population}.{path}"), v);
            }
        }
    }
}

/// `value` as the field at `target` of `tree` gives it, converted.
fn convert_setting(tree: &Value, target: &str, value: &Value, direction: Direction) -> Result<Value, String> {
    let mut t = tree.clone();
    paths::set(&mut t, target, value.clone())?;
    units::convert(&mut t, direction).map_err(|ps| ps.into_iter().map(|p| p.message).collect::<Vec<_>>().join("; "))?;
    let at = paths::indexed(&t, target).ok_or_else(|| format!("{target}: not found"))?;
    get(&t, &at).cloned().ok_or_else(|| format!("{target}: not found"))
}

/// The value at a path as the loader names it (`markets[0].fees.maker`).
fn get<'v>(root: &'v Value, path: &str) -> Option<&'v Value> {
    let mut node = root;
    for part in path.split('.') {
        let (key, rest) = part.split_once('[').map_or((part, ""), |(k, r)| (k, r));
        if !key.is_empty() {
            node = node.get(key)?;
        }
        for idx in rest.split('[').filter(|s| !s.is_empty()) {
            node = node.get(idx.strip_suffix(']')?.parse::<usize>().ok()?)?;
        }
    }
    Some(node)
}

/// Every scalar of `old` that differs in `new`, by its path under `path`.
fn changes(old: &Value, new: &Value, path: &str, out: &mut Vec<(String, Value, Value)>) {
    match (old, new) {
        (Value::Mapping(a), Value::Mapping(b)) => {
            for (k, v) in a {
                if let (Some(name), Some(w)) = (k.as_str(), b.get(k)) {
                    let p = if path.is_empty() { name.to_owned() } else { format!("{path}.{name}") };
                    changes(v, w, &p, out);
                }
            }
        }
        (Value::Sequence(a), Value::Sequence(b)) => {
            for (i, (v, w)) in a.iter().zip(b).enumerate() {
                changes(v, w, &format!("{path}[{i}]"), out);
            }
        }
        (a, b) if a != b => out.push((path.to_owned(), a.clone(), b.clone())),
        _ => {}
    }
}

/// How a number is written.
fn number_text(v: &Value) -> String {
    serde_yaml::to_string(v).unwrap_or_default().trim().to_owned()
}

/// Rewrites `text` (named `file`) in quote units; `None` if it already
/// declares its units.
pub fn migrate(text: &str) -> Result<Option<Migrated>, String> {
    load::bounded(text).map_err(|d| d.message)?;
    let tree: Value = serde_yaml::from_str(text).map_err(|e| format!("not valid YAML: {e}"))?;
    if !tree.is_mapping() {
        return Err("an experiment file is a mapping of fields (name: ..., ticks: ...)".into());
    }
    if tree.get(units::KEY).is_some() {
        return Ok(None);
    }
    let fail = |ps: Vec<units::Problem>| {
        ps.into_iter().map(|p| format!("{}: {}", p.path, p.message)).collect::<Vec<_>>().join("\n")
    };
    let mut quote = tree.clone();
    units::convert(&mut quote, Direction::ToQuote).map_err(fail)?;
    let mut edits = Vec::new();
    changes(&tree, &quote, "", &mut edits);
    // Each value a sweep or strategy sets is converted as the field it
    // sets, checked to convert back exactly, and put into `expect`, the
    // tree the rewritten file must read as.
    let mut expect = quote.clone();
    let mut failed = None;
    visit(&mut expect, &mut |at, target, v| {
        let converted = (|| {
            let new = convert_setting(&tree, &target, v, Direction::ToQuote)?;
            let back = convert_setting(&quote, &target, &new, Direction::ToExact)?;
            if back != convert_setting(&tree, &target, v, Direction::Integers)? {
                return Err(format!("{} does not convert back exactly", number_text(v)));
            }
            Ok(new)
        })();
        match converted {
            Ok(new) => {
                changes(v, &new, &at, &mut edits);
                *v = new;
            }
            Err(e) => {
                failed.get_or_insert(format!("{at}: {e}"));
            }
        }
    });
    if let Some(e) = failed {
        return Err(e);
    }
    // Check each conversion round trips.
    let mut back = quote.clone();
    units::convert(&mut back, Direction::ToExact).map_err(fail)?;
    let mut exact = tree.clone();
    units::convert(&mut exact, Direction::Integers).map_err(fail)?;
    if back != exact {
        return Err("the file does not convert back exactly".into());
    }
    // Replace each value where it is written, from the end of the file.
    let locator = Locator::new(text);
    let mut chars: Vec<char> = text.chars().collect();
    let mut spans = Vec::new();
    for (path, old, new) in &edits {
        let by_hand = || format!("{path}: the value is not a plain number in the file; rewrite it by hand");
        let w = locator.written(path).ok_or_else(by_hand)?;
        let len = w.text.chars().count();
        let source: String = chars.get(w.at..w.at + len).ok_or_else(by_hand)?.iter().collect();
        if source != w.text || serde_yaml::from_str::<Value>(&w.text).ok().as_ref() != Some(old) {
            return Err(by_hand());
        }
        spans.push((w.at, len, number_text(new)));
    }
    spans.sort_by_key(|s| std::cmp::Reverse(s.0));
    for (at, len, new) in spans {
        chars.splice(at..at + len, new.chars());
    }
    let body: String = chars.into_iter().collect();
    let mut out = String::with_capacity(body.len() + 80);
    let line = "units: quote    # prices and money in quote, rates as fractions (0.01 is 1%)\n";
    let first_key = locator.exact("name").or_else(|| {
        tree.as_mapping().and_then(|m| m.keys().next()).and_then(Value::as_str).and_then(|k| locator.exact(k))
    });
    let mut inserted = false;
    for (i, l) in body.split_inclusive('\n').enumerate() {
        if !inserted && first_key.is_some_and(|p| p.line == i + 1) {
            out.push_str(line);
            inserted = true;
        }
        out.push_str(l);
    }
    if !inserted {
        out.insert_str(0, line);
    }
    // The rewritten file must read as the converted tree, and so give the
    // file's values exactly.
    let mut read: Value = serde_yaml::from_str(&out).map_err(|e| format!("the rewritten file does not parse: {e}"))?;
    if let Value::Mapping(m) = &mut read {
        m.remove(units::KEY);
    }
    if read != expect {
        return Err("the rewritten file does not read as the converted values; rewrite it by hand".into());
    }
    Ok(Some(Migrated { text: out, rewritten: edits.len() }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rewrites_values_where_they_are_and_keeps_comments() {
        let text = "# a comment\nname: x   # the name\nticks: 10\nmarkets:\n  - tick_size: 0.1\n    \
                    tick_value: 100          # micros\n    index: { initial_price: 600003 }\n    \
                    fees: { maker: -100, taker: 500 }\nprotocol:\n  penalty: 10000  # 1%\n\
                    sweep:\n  grid:\n    protocol.insurance_fund: [1000000, 2500000]\n  \
                    variants:\n    - { name: a, set: { markets.0.fees.taker: 700 } }\n";
        let m = migrate(text).unwrap().unwrap();
        assert!(m.text.starts_with("# a comment\nunits: quote"), "{}", m.text);
        assert!(m.text.contains("name: x   # the name"));
        assert!(m.text.contains("tick_value: 0.0001          # micros"));
        assert!(m.text.contains("index: { initial_price: 60000.3 }"));
        assert!(m.text.contains("fees: { maker: -0.0001, taker: 0.0005 }"));
        assert!(m.text.contains("penalty: 0.01  # 1%"));
        assert!(m.text.contains("protocol.insurance_fund: [1, 2.5]"), "{}", m.text);
        assert!(m.text.contains("markets.0.fees.taker: 0.0007"), "{}", m.text);
        assert_eq!(m.rewritten, 8);
        assert_eq!(migrate(&m.text).unwrap(), None, "a file that declares its units is left alone");
    }
}
