//! The units an experiment file is written in, and their exact conversion
//! to the integer units of the simulation.
//!
//! A file says `units: quote`: prices in quote currency (on the market's
//! tick grid), money in quote, and rates as fractions (`0.01` for 1%). The
//! simulation works in integer price ticks, quote micro-units and parts
//! per million, and the conversion is exact: the decimal the user wrote is
//! converted digit by digit, and a value that has no exact integer form (a
//! price off the tick grid, an amount finer than a micro-unit) is refused
//! with the nearest values that have one. `units: exact` keeps the
//! integer units (ticks, micros, ppm), for files that programs write.
//!
//! A file that does not say its units was written before they were
//! declared, in the integer units; it is refused with one message naming
//! `cascade migrate`, which rewrites it exactly. Nothing is reinterpreted.
//!
//! Which fields carry a unit is read from the file's JSON Schema: every
//! field typed [`Price`](cascade_agents::framework::core::Price),
//! [`Micros`](cascade_agents::framework::core::Micros) or
//! [`Ppm`](cascade_agents::framework::core::Ppm) in the experiment's types,
//! so a new field of those types is converted with no table to update.
//! The same walk accepts a whole number written as a float (`1e11`) in an
//! integer field.

use crate::spec::decimal::Decimal;
use crate::spec::experiment::Experiment;
use serde_json::{Map, Value as Json};
use serde_yaml::Value;
use std::sync::{Arc, OnceLock, PoisonError, RwLock};

/// The key that declares a file's units.
pub const KEY: &str = "units";

/// The units a file is written in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Units {
    /// Prices and money in quote, rates as fractions.
    Quote,
    /// Prices in ticks, money in micros, rates in ppm.
    Exact,
}

/// The message for a file that does not declare its units.
pub const UNDECLARED: &str = "the file does not say its units. Add `units: quote` to write prices and money in \
     quote and rates as fractions (0.01 for 1%). A file written before units were declared has prices in ticks, \
     money in micros and rates in ppm: `cascade migrate FILE` rewrites it in quote units, exactly (or add \
     `units: exact`, or pass `--set units=exact` for a file you cannot edit, to keep those units)";

/// The units `tree` declares.
pub fn declared(tree: &Value) -> Result<Units, String> {
    match tree.get(KEY) {
        None => Err(UNDECLARED.to_owned()),
        Some(Value::String(s)) if s == "quote" => Ok(Units::Quote),
        Some(Value::String(s)) if s == "exact" => Ok(Units::Exact),
        Some(other) => Err(format!(
            "unknown units {}: expected `quote` (prices and money in quote, rates as fractions) or `exact` \
             (prices in ticks, money in micros, rates in ppm)",
            serde_yaml::to_string(other).unwrap_or_default().trim()
        )),
    }
}

/// A field that is in a unit, and which.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// A price: quote in the file, ticks inside.
    Price,
    /// Money: quote in the file, micros inside.
    Money,
    /// A rate: a fraction in the file, ppm inside.
    Rate,
}

impl Kind {
    fn of(def: &str) -> Option<Kind> {
        match def {
            "Price" => Some(Kind::Price),
            "Micros" => Some(Kind::Money),
            "Ppm" => Some(Kind::Rate),
            _ => None,
        }
    }

    /// What a value of this kind is, with an example, for messages.
    pub fn expected(self) -> &'static str {
        match self {
            Kind::Price => "a price in quote on the market's tick grid, e.g. 60000 or 60000.5",
            Kind::Money => "an amount in quote, e.g. 1000000 or 2.5e6 (exact to 0.000001)",
            Kind::Rate => "a fraction, e.g. 0.01 for 1% (exact to 0.000001)",
        }
    }
}

/// Which way a tree is converted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Direction {
    /// From the units a person writes to the integer units.
    ToExact,
    /// From the integer units to the units a person writes.
    ToQuote,
    /// Units stay as they are; only whole numbers written as floats
    /// become integers (a file in `units: exact`).
    Integers,
    /// Nothing changes; each field in a unit is noted with its kind.
    Probe,
}

/// A value that could not be converted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problem {
    /// Where, as the loader names fields (`markets[0].index.initial_price`).
    pub path: String,
    /// What is wrong and what to write instead.
    pub message: String,
}

/// Converts `tree` (a whole experiment, `units` key included or not) in
/// place. Every value that cannot be converted is reported.
pub fn convert(tree: &mut Value, direction: Direction) -> Result<(), Vec<Problem>> {
    let schema = schema_json();
    let mut walk = Walk { defs: defs(&schema), direction, problems: Vec::new(), found: Vec::new() };
    walk.node(tree, &schema, "", None);
    if walk.problems.is_empty() { Ok(()) } else { Err(walk.problems) }
}

/// The unit of the field at `path` (`protocol.insurance_fund`,
/// `populations.value.capital`) in the experiment `tree`, if it has one.
pub fn kind_at(tree: &Value, path: &str) -> Option<Kind> {
    let mut t = tree.clone();
    crate::paths::set(&mut t, path, Value::from(0)).ok()?;
    let at = crate::paths::indexed(&t, path)?;
    let schema = schema_json();
    let mut walk = Walk { defs: defs(&schema), direction: Direction::Probe, problems: Vec::new(), found: Vec::new() };
    walk.node(&mut t, &schema, "", None);
    walk.found.into_iter().find(|(p, _)| *p == at).map(|(_, k)| k)
}

/// A readable name of a swept path, with its unit: `insurance fund
/// (quote)` for `protocol.insurance_fund`, `leveraged: leverage high (×)`
/// for `populations.leveraged.leverage.high`.
pub fn axis_label(tree: &Value, path: &str) -> String {
    let segments: Vec<&str> = path.split('.').filter(|s| s.parse::<usize>().is_err()).collect();
    let Some((&leaf, parents)) = segments.split_last() else { return path.to_owned() };
    let owner = match segments.as_slice() {
        ["populations", name, _, ..] => format!("{name}: "),
        _ => String::new(),
    };
    let parent = parents.last().copied().unwrap_or_default();
    let statistic = ["median", "low", "high", "value", "mean", "stdev", "sigma"].contains(&leaf);
    let mut name = if statistic { format!("{parent} {leaf}") } else { leaf.to_owned() }.replace('_', " ");
    let unit = match kind_at(tree, path) {
        Some(Kind::Price | Kind::Money) => Some("quote"),
        Some(Kind::Rate) => Some("fraction"),
        None if leaf.ends_with("_ticks") => {
            name = name.trim_end_matches(" ticks").to_owned();
            Some("ticks")
        }
        None if leaf.contains("lots") => Some("lots"),
        None if parent == "leverage" || leaf == "leverage" => Some("×"),
        None => None,
    };
    match unit {
        Some(u) => format!("{owner}{name} ({u})"),
        None => format!("{owner}{name}"),
    }
}

/// A validation message of the types, which speak ppm and micros, in the
/// units of a `units: quote` file: `must be between 0 and 1,000,000 ppm
/// (100%)` becomes `must be between 0 and 1 (100%)`, `2^60 micros` becomes
/// `about 1.15 trillion quote`.
pub fn message_in_quote(message: &str) -> String {
    let mut m = message.to_owned();
    for (from, to) in [
        ("2^60 micros (about 1.15 trillion quote)", "about 1.15 trillion quote"),
        ("2^61 micros (about 2.3 trillion quote)", "about 2.3 trillion quote"),
        ("2^60 micros", "about 1.15 trillion quote"),
        ("2^40 micros", "about 1.1 million quote"),
    ] {
        m = m.replace(from, to);
    }
    // A number with its punctuation around it: `(1,000,000]`.
    let split = |t: &str| -> Option<(String, i128, String)> {
        let start = t.find(|c: char| c.is_ascii_digit() || c == '-')?;
        let end = t.rfind(|c: char| c.is_ascii_digit())? + 1;
        let digits: String = t[start..end].chars().filter(|c| *c != ',').collect();
        Some((t[..start].to_owned(), digits.parse().ok()?, t[end..].to_owned()))
    };
    let mut tokens: Vec<String> = m.split(' ').map(str::to_owned).collect();
    for i in 0..tokens.len().saturating_sub(1) {
        let next = tokens[i + 1].clone();
        let unit = ["ppm", "micros"].into_iter().find(|u| next.starts_with(u));
        let Some(unit) = unit else { continue };
        let mut at = vec![i];
        // `between A and B ppm`: A is in the unit too.
        if i >= 3 && tokens[i - 1] == "and" && tokens[i - 3] == "between" {
            at.push(i - 2);
        }
        let mut converted = false;
        for k in at {
            if let Some((before, n, after)) = split(&tokens[k]) {
                tokens[k] = format!("{before}{}{after}", Decimal::new(n, SIX));
                converted = true;
            }
        }
        if converted {
            let rest = &next[unit.len()..];
            tokens[i + 1] = if unit == "micros" { format!("quote{rest}") } else { rest.to_owned() };
        }
    }
    let joined = tokens.join(" ");
    joined.replace("  ", " ").replace(" ;", ";").replace(" )", ")").trim_end().to_owned()
}

/// The experiment's JSON Schema, as the types give it (integer units).
/// The JSON Schema of the experiment type, made again when a population
/// kind has been registered since it was last made.
pub(crate) fn schema_json() -> Arc<Json> {
    static SCHEMA: RwLock<Option<(usize, Arc<Json>)>> = RwLock::new(None);
    let kinds = super::population::registered_count();
    if let Some((n, schema)) = &*SCHEMA.read().unwrap_or_else(PoisonError::into_inner)
        && *n == kinds
    {
        return Arc::clone(schema);
    }
    let schema = Arc::new(serde_json::to_value(schemars::schema_for!(Experiment)).expect("a schema serialises"));
    *SCHEMA.write().unwrap_or_else(PoisonError::into_inner) = Some((kinds, Arc::clone(&schema)));
    schema
}

pub(crate) fn defs(schema: &Json) -> &Map<String, Json> {
    static EMPTY: OnceLock<Map<String, Json>> = OnceLock::new();
    schema.get("$defs").and_then(Json::as_object).unwrap_or_else(|| EMPTY.get_or_init(Map::new))
}

pub(crate) struct Walk<'a> {
    pub(crate) defs: &'a Map<String, Json>,
    pub(crate) direction: Direction,
    pub(crate) problems: Vec<Problem>,
    /// With [`Direction::Probe`], the fields in a unit, by path.
    pub(crate) found: Vec<(String, Kind)>,
}

fn join(parent: &str, key: &str) -> String {
    if parent.is_empty() { key.to_owned() } else { format!("{parent}.{key}") }
}

/// The schema `s` refers to in `defs`, and the unit kind if it is one.
pub(crate) fn resolve<'a>(defs: &'a Map<String, Json>, s: &'a Json) -> (&'a Json, Option<Kind>) {
    let Some(name) = s.get("$ref").and_then(Json::as_str).and_then(|r| r.rsplit('/').next()) else {
        return (s, None);
    };
    if let Some(kind) = Kind::of(name) {
        return (s, Some(kind));
    }
    (defs.get(name).unwrap_or(s), None)
}

impl<'a> Walk<'a> {
    /// Whether `v` can be a value of the alternative `alt`.
    fn fits(&self, v: &Value, alt: &'a Json) -> bool {
        let (alt, kind) = resolve(self.defs, alt);
        if kind.is_some() {
            return matches!(v, Value::Number(_) | Value::String(_));
        }
        if let Some(c) = alt.get("const") {
            return serde_json::to_value(v).is_ok_and(|j| &j == c);
        }
        if let Some(options) = alt.get("enum").and_then(Json::as_array) {
            return serde_json::to_value(v).is_ok_and(|j| options.contains(&j));
        }
        if let Some(props) = alt.get("properties").and_then(Json::as_object) {
            let Value::Mapping(m) = v else { return false };
            return props.iter().all(|(k, p)| match p.get("const") {
                Some(c) => m.get(k.as_str()).and_then(|x| serde_json::to_value(x).ok()).is_some_and(|j| &j == c),
                None => true,
            });
        }
        let types: Vec<&str> = match alt.get("type") {
            Some(Json::String(t)) => vec![t.as_str()],
            Some(Json::Array(ts)) => ts.iter().filter_map(Json::as_str).collect(),
            _ => return alt.get("anyOf").or_else(|| alt.get("oneOf")).is_some(),
        };
        types.iter().any(|t| {
            matches!(
                (*t, v),
                ("null", Value::Null)
                    | ("boolean", Value::Bool(_))
                    | ("integer" | "number", Value::Number(_))
                    | ("string", Value::String(_))
                    | ("array", Value::Sequence(_))
                    | ("object", Value::Mapping(_))
            )
        })
    }

    pub(crate) fn node(&mut self, v: &mut Value, s: &'a Json, path: &str, tick: Option<Decimal>) {
        let (s, kind) = resolve(self.defs, s);
        if let Some(kind) = kind {
            self.scalar(v, kind, path, tick);
            return;
        }
        for key in ["anyOf", "oneOf"] {
            if let Some(alts) = s.get(key).and_then(Json::as_array) {
                if v.is_null() {
                    return;
                }
                if let Some(alt) = alts.iter().find(|a| self.fits(v, a)) {
                    self.node(v, alt, path, tick);
                }
            }
        }
        for part in s.get("allOf").and_then(Json::as_array).into_iter().flatten() {
            self.node(v, part, path, tick);
        }
        if self.direction != Direction::ToQuote && integer_typed(s) {
            whole(v);
        }
        match v {
            Value::Mapping(m) => {
                let props = s.get("properties").and_then(Json::as_object);
                let extra = s.get("additionalProperties").filter(|a| a.is_object());
                let tick = match props.and_then(|p| p.get("tick_size")) {
                    Some(field) => m
                        .get("tick_size")
                        .and_then(Decimal::of_number)
                        .or_else(|| field.get("default").and_then(Json::as_f64).and_then(Decimal::of_f64)),
                    None => tick,
                };
                for (k, child) in m.iter_mut() {
                    let Some(name) = k.as_str() else { continue };
                    if let Some(p) = props.and_then(|p| p.get(name)).or(extra) {
                        self.node(child, p, &join(path, name), tick);
                    }
                }
            }
            Value::Sequence(items) => {
                if let Some(item) = s.get("items").filter(|i| i.is_object()) {
                    for (i, child) in items.iter_mut().enumerate() {
                        self.node(child, item, &format!("{path}[{i}]"), tick);
                    }
                }
            }
            _ => {}
        }
    }

    fn scalar(&mut self, v: &mut Value, kind: Kind, path: &str, tick: Option<Decimal>) {
        let result = match self.direction {
            Direction::ToExact => to_exact(v, kind, tick),
            Direction::ToQuote => to_quote(v, kind, tick),
            Direction::Integers => {
                whole(v);
                return;
            }
            Direction::Probe => {
                self.found.push((path.to_owned(), kind));
                return;
            }
        };
        match result {
            Ok(new) => *v = new,
            Err(message) => self.problems.push(Problem { path: path.to_owned(), message }),
        }
    }
}

fn integer_typed(s: &Json) -> bool {
    match s.get("type") {
        Some(Json::String(t)) => t == "integer",
        Some(Json::Array(ts)) => ts.iter().any(|t| t == "integer"),
        _ => false,
    }
}

/// A float that is a whole number becomes that integer (`1e11`).
fn whole(v: &mut Value) {
    if let Value::Number(n) = v
        && n.is_f64()
        && let Some(f) = n.as_f64()
        && f.is_finite()
        && f.fract() == 0.0
        && f.abs() < 9.0e15
    {
        #[allow(clippy::cast_possible_truncation, reason = "a whole number under 9e15 is exact in i64")]
        let whole = f as i64;
        *v = Value::from(whole);
    }
}

/// One micro-unit, and one ppm, as a power of ten.
const SIX: u32 = 6;

fn to_exact(v: &Value, kind: Kind, tick: Option<Decimal>) -> Result<Value, String> {
    let wrong = || format!("expected {}", kind.expected());
    let d = Decimal::of_number(v).ok_or_else(wrong)?;
    let exact = match kind {
        Kind::Money | Kind::Rate => {
            let (q, r) = d.scaled(SIX).ok_or_else(|| format!("{d} is out of range"))?;
            if r != 0 {
                let unit = if kind == Kind::Money {
                    "amounts are exact to 0.000001 quote"
                } else {
                    "rates are exact to 0.000001 (one ppm)"
                };
                return Err(format!(
                    "{d} has more than 6 decimals: {unit}; the nearest are {} and {}",
                    Decimal::new(q, SIX),
                    Decimal::new(q + 1, SIX)
                ));
            }
            q
        }
        Kind::Price => {
            let t = tick.ok_or("no tick size is known for this price")?;
            let (q, r) = d.divided(t).ok_or_else(|| format!("{d} is out of range"))?;
            if r != 0 {
                return Err(format!(
                    "{d} is not on the market's tick grid (tick_size {t}); the nearest prices are {} and {}",
                    t.times(q).map_or_else(String::new, |x| x.to_string()),
                    t.times(q + 1).map_or_else(String::new, |x| x.to_string())
                ));
            }
            q
        }
    };
    i64::try_from(exact).map(Value::from).map_err(|_| format!("{d} is out of range"))
}

fn to_quote(v: &Value, kind: Kind, tick: Option<Decimal>) -> Result<Value, String> {
    let n = match v {
        Value::Number(n) => n.as_i64(),
        _ => None,
    }
    .ok_or_else(|| {
        format!("expected a whole number of {}", if kind == Kind::Price { "ticks" } else { "micros or ppm" })
    })?;
    let d = match kind {
        Kind::Money | Kind::Rate => Decimal::new(i128::from(n), SIX),
        Kind::Price => {
            tick.ok_or("no tick size is known for this price")?.times(i128::from(n)).ok_or("out of range")?
        }
    };
    Ok(d.to_value())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn yaml(text: &str) -> Value {
        serde_yaml::from_str(text).unwrap()
    }

    #[test]
    fn quote_units_convert_exactly_and_back() {
        let text = "units: quote\nname: x\nticks: 10\nmarkets:\n  - tick_size: 0.1\n    tick_value: 0.0001\n    \
                    index: { initial_price: 60000.3 }\n    fees: { maker: -0.0001, taker: 0.0005 }\n\
                    protocol: { insurance_fund: 1e6, penalty: 0.01 }\n\
                    populations: [{ kind: noise, capital: 100000.000001, count: 2e1 }]\n";
        let mut t = yaml(text);
        convert(&mut t, Direction::ToExact).unwrap();
        assert_eq!(t["markets"][0]["index"]["initial_price"], Value::from(600_003));
        assert_eq!(t["markets"][0]["tick_value"], Value::from(100));
        assert_eq!(t["markets"][0]["fees"]["maker"], Value::from(-100));
        assert_eq!(t["protocol"]["insurance_fund"], Value::from(1_000_000_000_000_i64));
        assert_eq!(t["protocol"]["penalty"], Value::from(10_000));
        assert_eq!(t["populations"][0]["capital"], Value::from(100_000_000_001_i64));
        assert_eq!(t["populations"][0]["count"], Value::from(20));
        let mut back = t.clone();
        convert(&mut back, Direction::ToQuote).unwrap();
        let mut again = back.clone();
        convert(&mut again, Direction::ToExact).unwrap();
        assert_eq!(again, t);
        assert_eq!(back["markets"][0]["index"]["initial_price"], yaml("60000.3"));
    }

    #[test]
    fn a_value_with_no_exact_form_is_refused_with_the_nearest() {
        let mut t = yaml(
            "units: quote\nmarkets: [{ tick_size: 0.5, index: { initial_price: 100.2 } }]\n\
             protocol: { insurance_fund: 0.0000005, penalty: oops }\n",
        );
        let problems = convert(&mut t, Direction::ToExact).unwrap_err();
        let by_path = |p: &str| problems.iter().find(|x| x.path == p).map(|x| x.message.clone()).unwrap();
        assert!(by_path("markets[0].index.initial_price").contains("nearest prices are 100 and 100.5"));
        assert!(by_path("protocol.insurance_fund").contains("nearest are 0 and 0.000001"));
        assert!(by_path("protocol.penalty").contains("a fraction, e.g. 0.01 for 1%"));
    }

    #[test]
    fn swept_paths_get_readable_labels_with_their_units() {
        let t = yaml("units: quote\nmarkets: [{ name: A }]\npopulations: [{ kind: leveraged, name: lev }]\n");
        assert_eq!(axis_label(&t, "protocol.insurance_fund"), "insurance fund (quote)");
        assert_eq!(axis_label(&t, "protocol.penalty"), "penalty (fraction)");
        assert_eq!(axis_label(&t, "markets.0.index.initial_price"), "initial price (quote)");
        assert_eq!(axis_label(&t, "markets.0.depth.refresh_ticks"), "refresh (ticks)");
        assert_eq!(axis_label(&t, "markets[0].depth.lots_at_best"), "lots at best (lots)");
        assert_eq!(axis_label(&t, "populations.lev.leverage.high"), "lev: leverage high (×)");
        assert_eq!(axis_label(&t, "populations.lev.count"), "lev: count");
    }

    #[test]
    fn validation_messages_speak_the_units_of_the_file() {
        for (from, to) in [
            ("must be between 0 and 1,000,000 ppm (100%)", "must be between 0 and 1 (100%)"),
            ("must be between -1,000,000 and 1,000,000 ppm", "must be between -1 and 1"),
            ("must be in [0, 1,000,000) ppm", "must be in [0, 1)"),
            ("must be at most 1 (1,000,000 ppm)", "must be at most 1 (1)"),
            ("10000 ppm must be below the initial rate 8000 ppm", "0.01 must be below the initial rate 0.008"),
            (
                "must be between 0 and 2^60 micros (about 1.15 trillion quote)",
                "must be between 0 and about 1.15 trillion quote",
            ),
            ("0 micros: must be positive", "0 quote: must be positive"),
        ] {
            assert_eq!(message_in_quote(from), to);
        }
    }

    #[test]
    fn units_are_declared_or_refused() {
        assert_eq!(declared(&yaml("units: quote")), Ok(Units::Quote));
        assert_eq!(declared(&yaml("units: exact")), Ok(Units::Exact));
        assert!(declared(&yaml("name: x")).unwrap_err().contains("cascade migrate"));
        assert!(declared(&yaml("units: ticks")).unwrap_err().contains("expected `quote`"));
    }
}
