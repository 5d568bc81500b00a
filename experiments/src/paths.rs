//! Parameter paths (`populations.leveraged.leverage.value`,
//! `markets[0].depth.levels`) and setting a value at one in a YAML tree:
//! the mechanism behind `--set` and sweeps.

use serde_yaml::{Mapping, Value};

/// One step of a path.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Seg {
    Key(String),
    Index(usize),
}

fn parse(path: &str) -> Result<Vec<Seg>, String> {
    let mut segs = Vec::new();
    for part in path.split('.') {
        let (head, rest) = part.split_once('[').map_or((part, None), |(h, r)| (h, Some(r)));
        if !head.is_empty() {
            segs.push(match head.parse::<usize>() {
                Ok(i) => Seg::Index(i),
                Err(_) => Seg::Key(head.to_owned()),
            });
        }
        if let Some(rest) = rest {
            for idx in rest.split('[') {
                let idx = idx.strip_suffix(']').ok_or_else(|| format!("unclosed '[' in {path:?}"))?;
                segs.push(Seg::Index(idx.parse().map_err(|_| format!("{idx:?} is not an index in {path:?}"))?));
            }
        }
        if head.is_empty() && rest.is_none() {
            return Err(format!("empty segment in {path:?}"));
        }
    }
    if segs.is_empty() {
        return Err("empty path".into());
    }
    Ok(segs)
}

/// Sets the value at `path` in `root`, creating mappings along the way for
/// fields left to their defaults. In a sequence, a segment is an index or
/// the `name` of an item.
pub fn set(root: &mut Value, path: &str, new: Value) -> Result<(), String> {
    let segs = parse(path)?;
    let mut node = root;
    for (i, seg) in segs.iter().enumerate() {
        let last = i + 1 == segs.len();
        if node.is_null() {
            *node = Value::Mapping(Mapping::new());
        }
        node = match (node, seg) {
            (Value::Mapping(m), Seg::Key(k)) => {
                let key = Value::String(k.clone());
                if !m.contains_key(&key) {
                    m.insert(key.clone(), Value::Null);
                }
                m.get_mut(&key).expect("just inserted")
            }
            (Value::Sequence(s), Seg::Index(idx)) => {
                let n = s.len();
                s.get_mut(*idx).ok_or_else(|| format!("{path}: index {idx} is out of range (there are {n})"))?
            }
            (Value::Sequence(s), Seg::Key(name)) => {
                let names: Vec<String> =
                    s.iter().filter_map(|v| v.get("name").and_then(Value::as_str).map(str::to_owned)).collect();
                s.iter_mut()
                    .find(|v| v.get("name").and_then(Value::as_str) == Some(name.as_str()))
                    .ok_or_else(|| format!("{path}: no item named {name:?} (there are {names:?})"))?
            }
            (other, seg) => {
                return Err(format!("{path}: cannot step into {:?} with {seg:?}", kind(other)));
            }
        };
        if last {
            *node = new;
            return Ok(());
        }
    }
    Ok(())
}

/// `path` as the loader names fields (`populations[0].rate`): an item of
/// a sequence named by its `name` becomes its index, resolved in `root`.
/// `None` if a name is not found.
pub fn indexed(root: &Value, path: &str) -> Option<String> {
    let mut node = root;
    let mut out = String::new();
    for seg in parse(path).ok()? {
        match (node, seg) {
            (Value::Sequence(s), Seg::Key(name)) => {
                let i = s.iter().position(|v| v.get("name").and_then(Value::as_str) == Some(name.as_str()))?;
                out.push_str(&format!("[{i}]"));
                node = &s[i];
            }
            (Value::Sequence(s), Seg::Index(i)) => {
                out.push_str(&format!("[{i}]"));
                node = s.get(i).unwrap_or(&Value::Null);
            }
            (other, Seg::Key(k)) => {
                if !out.is_empty() {
                    out.push('.');
                }
                out.push_str(&k);
                node = other.get(k.as_str()).unwrap_or(&Value::Null);
            }
            (_, Seg::Index(i)) => out.push_str(&format!("[{i}]")),
        }
    }
    Some(out)
}

/// Whether `path` is `field` or a field under it (`a.b[2]` is under `a.b`,
/// `a.bc` is not).
pub fn within(path: &str, field: &str) -> bool {
    path.strip_prefix(field).is_some_and(|rest| rest.is_empty() || rest.starts_with(['.', '[']))
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Sequence(_) => "a list",
        Value::Mapping(_) => "a mapping",
        Value::Tagged(_) => "a tagged value",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sets_by_key_index_and_name() {
        let mut v: Value = serde_yaml::from_str(
            "populations:\n  - {kind: noise, name: a}\n  - {kind: noise, name: b, rate: 1}\nmarkets: [{}]\n",
        )
        .unwrap();
        set(&mut v, "populations.b.rate", Value::from(2)).unwrap();
        set(&mut v, "markets[0].depth.levels", Value::from(3)).unwrap();
        set(&mut v, "protocol.penalty", Value::from(5)).unwrap();
        set(&mut v, "populations.0.count", Value::from(7)).unwrap();
        assert_eq!(v["populations"][1]["rate"], Value::from(2));
        assert_eq!(v["markets"][0]["depth"]["levels"], Value::from(3));
        assert_eq!(v["protocol"]["penalty"], Value::from(5));
        assert_eq!(v["populations"][0]["count"], Value::from(7));
        assert!(set(&mut v, "populations.c.rate", Value::from(1)).unwrap_err().contains("no item named"));
        assert!(set(&mut v, "markets[3].x", Value::from(1)).unwrap_err().contains("out of range"));
        assert_eq!(indexed(&v, "populations.b.rate").as_deref(), Some("populations[1].rate"));
        assert_eq!(indexed(&v, "markets.0.depth.levels").as_deref(), Some("markets[0].depth.levels"));
        assert_eq!(indexed(&v, "protocol.penalty").as_deref(), Some("protocol.penalty"));
        assert_eq!(indexed(&v, "populations.c.rate"), None);
        assert!(within("a.b", "a.b") && within("a.b[2].c", "a.b") && within("a.b.c", "a.b"));
        assert!(!within("a.bc", "a.b") && !within("a", "a.b"));
    }
}
