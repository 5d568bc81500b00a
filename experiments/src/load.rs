//! Loading an experiment file: YAML syntax, unknown fields, wrong types and
//! impossible values, each reported with the field's path and its line and
//! column in the file, several at once.

use crate::locate::{Locator, Position};
use crate::paths;
use crate::spec::experiment::Experiment;
use crate::spec::units::{self, Direction, Units};
use cascade_agents::framework::{ParamError, Simulation};
use serde::de::DeserializeOwned;
use serde_yaml::Value;
use std::fmt;

/// One problem with an experiment file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diagnostic {
    /// Dotted path of the field, empty for the file as a whole.
    pub path: String,
    /// Where in the file, if known.
    pub position: Option<Position>,
    /// What is wrong.
    pub message: String,
}

/// Every problem found in one file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LoadError {
    /// The file, as named to the user.
    pub file: String,
    /// The problems, in file order.
    pub diagnostics: Vec<Diagnostic>,
}

impl fmt::Display for LoadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.diagnostics.len();
        writeln!(f, "{}: {n} error{}", self.file, if n == 1 { "" } else { "s" })?;
        for d in &self.diagnostics {
            match d.position {
                Some(p) => write!(f, "  {}:{}:{}: ", self.file, p.line, p.col)?,
                None => write!(f, "  {}: ", self.file)?,
            }
            if d.path.is_empty() {
                writeln!(f, "{}", d.message)?;
            } else {
                writeln!(f, "{}: {}", d.path, d.message)?;
            }
        }
        Ok(())
    }
}

impl std::error::Error for LoadError {}

/// A loaded experiment and the tree it came from (sweeps set values in the
/// tree and load it again).
#[derive(Clone, Debug)]
pub struct Loaded {
    /// The typed experiment.
    pub experiment: Experiment,
    /// The YAML tree after `--set` overrides, in the file's units.
    pub tree: Value,
    /// Values that are valid but probably not what was meant (a starting
    /// price of a few ticks, a population of no agents).
    pub warnings: Vec<Diagnostic>,
    /// The file's name, as messages give it (empty for a tree read
    /// without its text).
    pub file: String,
    /// The file's text, for the lines of what later steps refuse (a sweep
    /// point that is not a valid experiment).
    pub text: String,
}

/// The warnings of `file`, a line each.
pub fn warnings_text(file: &str, warnings: &[Diagnostic]) -> String {
    let mut out = String::new();
    for d in warnings {
        let at = d.position.map_or_else(|| file.to_owned(), |p| format!("{file}:{}:{}", p.line, p.col));
        out.push_str(&format!("warning: {at}: {}: {}\n", d.path, d.message));
    }
    out
}

const TOP_LEVEL: [&str; 15] = [
    "units",
    "name",
    "description",
    "seed",
    "ticks",
    "tick_seconds",
    "markets",
    "protocol",
    "populations",
    "recording",
    "sweep",
    "game",
    "check",
    "outputs",
    "index_correlation",
];

/// The most nodes a file may hold once its aliases are expanded.
pub const MAX_NODES: u64 = 1_000_000;

/// The deepest nesting of mappings and sequences a file may have.
pub const MAX_DEPTH: usize = 64;

/// Refuses YAML that would expand past [`MAX_NODES`] nodes (aliases are
/// counted at the size of what they name, so a small file of nested
/// aliases cannot take gigabytes) or nest deeper than [`MAX_DEPTH`]. One
/// pass over the events, in time and memory linear in the text. Syntax
/// errors are left to the deserialiser, which words them better.
pub fn bounded(text: &str) -> Result<(), Diagnostic> {
    use yaml_rust2::parser::{Event, Parser};
    let mut parser = Parser::new_from_str(text);
    // Per open node: its anchor and the node count at its start.
    let mut open: Vec<(usize, u64)> = Vec::new();
    // By anchor id: the parser numbers anchors 1, 2, ... in file order.
    let mut sizes: Vec<u64> = Vec::new();
    let size_of = |sizes: &mut Vec<u64>, anchor: usize, size: u64| {
        if sizes.len() <= anchor {
            sizes.resize(anchor + 1, 1);
        }
        sizes[anchor] = size;
    };
    let place = |m: &yaml_rust2::scanner::Marker| Some(Position { line: m.line(), col: m.col() + 1 });
    let too_deep = |position| Diagnostic {
        path: String::new(),
        position,
        message: format!("nested more than {MAX_DEPTH} levels deep; an experiment needs far fewer"),
    };
    let mut nodes = 0_u64;
    loop {
        let (event, mark) = match parser.next_token() {
            Ok(next) => next,
            // Too deep for the scanner (255 flow levels): refused here, as
            // the deserialiser takes seconds to say the same.
            Err(e) if e.info().contains("recursion limit") => return Err(too_deep(place(e.marker()))),
            Err(_) => return Ok(()),
        };
        let at = place(&mark);
        match event {
            Event::StreamEnd => return Ok(()),
            Event::Scalar(_, _, anchor, _) => {
                nodes += 1;
                if anchor > 0 {
                    size_of(&mut sizes, anchor, 1);
                }
            }
            Event::Alias(anchor) => nodes = nodes.saturating_add(sizes.get(anchor).copied().unwrap_or(1)),
            Event::SequenceStart(anchor, _) | Event::MappingStart(anchor, _) => {
                nodes += 1;
                open.push((anchor, nodes));
                if open.len() > MAX_DEPTH {
                    return Err(too_deep(at));
                }
            }
            Event::SequenceEnd | Event::MappingEnd => {
                if let Some((anchor, start)) = open.pop()
                    && anchor > 0
                {
                    size_of(&mut sizes, anchor, nodes - start + 1);
                }
            }
            _ => {}
        }
        if nodes > MAX_NODES {
            return Err(Diagnostic {
                path: String::new(),
                position: at,
                message: format!(
                    "the file expands to more than {MAX_NODES} values (aliases count as what they repeat); \
                     an experiment needs far fewer"
                ),
            });
        }
    }
}

/// Loads `text` (named `file` in messages), applies `overrides`
/// (`path=value`, the value read as YAML), and checks everything.
pub fn load_str(text: &str, file: &str, overrides: &[String]) -> Result<Loaded, LoadError> {
    let fail = |diagnostics| LoadError { file: file.to_owned(), diagnostics };
    bounded(text).map_err(|d| fail(vec![d]))?;
    let mut tree: Value = serde_yaml::from_str(text).map_err(|e| {
        let position = e.location().map(|l| Position { line: l.line(), col: l.column() });
        let hint = position
            .and_then(|p| crate::locate::indentation(text, p.line))
            .map_or_else(String::new, |h| format!(". {h}"));
        fail(vec![Diagnostic { path: String::new(), position, message: format!("not valid YAML: {e}{hint}") }])
    })?;
    let mut diags = Vec::new();
    for o in overrides {
        let Some((path, raw)) = o.split_once('=') else {
            diags.push(Diagnostic {
                path: String::new(),
                position: None,
                message: format!("--set {o:?}: expected path=value"),
            });
            continue;
        };
        if let Err(d) = bounded(raw) {
            diags.push(Diagnostic {
                path: path.trim().to_owned(),
                position: None,
                message: format!("--set: {}", d.message),
            });
            continue;
        }
        let value: Value = serde_yaml::from_str(raw).unwrap_or_else(|_| Value::String(raw.to_owned()));
        if let Err(e) = paths::set(&mut tree, path.trim(), value) {
            diags.push(Diagnostic { path: path.trim().to_owned(), position: None, message: format!("--set: {e}") });
        }
    }
    if !diags.is_empty() {
        return Err(fail(diags));
    }
    let locator = Locator::new(text);
    let mut loaded =
        from_tree(tree.clone(), &locator).map_err(|diags| fail(blame_overrides(diags, &tree, overrides)))?;
    (loaded.file, loaded.text) = (file.to_owned(), text.to_owned());
    Ok(loaded)
}

/// A problem with a value that `--set` gave is named by its `--set`
/// argument, not by a line of the file (which may hold another value).
fn blame_overrides(diags: Vec<Diagnostic>, tree: &Value, overrides: &[String]) -> Vec<Diagnostic> {
    diags
        .into_iter()
        .map(|mut d| {
            let given = overrides.iter().rev().find(|o| {
                o.split_once('=').is_some_and(|(path, _)| {
                    paths::indexed(tree, path.trim()).is_some_and(|ix| paths::within(&d.path, &ix))
                })
            });
            if let Some(o) = given {
                d.position = None;
                d.message = format!("(from --set {o}) {}", d.message);
            }
            d
        })
        .collect()
}

/// Turns a YAML tree into a checked experiment; positions come from
/// `locator`.
pub fn from_tree(tree: Value, locator: &Locator) -> Result<Loaded, Vec<Diagnostic>> {
    let at = |path: String, message: String| {
        // An unknown field is reported at its parent; point at the field.
        let unknown = message
            .strip_prefix("unknown field `")
            .and_then(|rest| rest.split_once('`'))
            .map(|(field, _)| if path.is_empty() { field.to_owned() } else { format!("{path}.{field}") })
            .filter(|p| locator.exact(p).is_some());
        let path = unknown.unwrap_or(path);
        Diagnostic { position: locator.find(&path), path, message }
    };
    let Value::Mapping(map) = &tree else {
        return Err(vec![at(
            String::new(),
            "an experiment file is a mapping of fields (name: ..., ticks: ...)".into(),
        )]);
    };
    let units = match units::declared(&tree) {
        Ok(u) => u,
        Err(message) => {
            let path = if map.contains_key(units::KEY) { units::KEY.to_owned() } else { String::new() };
            return Err(vec![at(path, message)]);
        }
    };
    // The checks and the typed experiment read the tree in the integer
    // units; `tree` stays in the file's units, for sweeps to set values in.
    let mut exact = tree.clone();
    if let Value::Mapping(m) = &mut exact {
        m.remove(units::KEY);
    }
    let direction = match units {
        Units::Quote => Direction::ToExact,
        Units::Exact => Direction::Integers,
    };
    if let Err(problems) = units::convert(&mut exact, direction) {
        let mut diags: Vec<Diagnostic> = problems.into_iter().map(|p| at(p.path, p.message)).collect();
        diags.sort_by_key(|d| d.position);
        return Err(diags);
    }
    let Value::Mapping(map) = &exact else { unreachable!("converted from a mapping") };
    let mut diags = Vec::new();
    for key in map.keys() {
        match key.as_str() {
            Some(k) if TOP_LEVEL.contains(&k) => {}
            _ => {
                let k = key.as_str().map_or_else(|| format!("{key:?}"), str::to_owned);
                diags.push(at(k.clone(), format!("unknown field `{k}`, expected one of {}", TOP_LEVEL.join(", "))));
            }
        }
    }
    if !map.contains_key("name") {
        diags.push(at("name".into(), "missing field `name`".into()));
    }
    if !map.contains_key("ticks") {
        diags.push(at("ticks".into(), "missing field `ticks`".into()));
    }
    if !map.contains_key("populations") {
        diags.push(at(
            "populations".into(),
            "missing field `populations`: a file with no traders has no cascade. Add populations \
             (- kind: leveraged ...), or write `populations: []` for a market with none"
                .into(),
        ));
    }
    // The top-level values each on their own, so that every wrong one is
    // reported at once.
    for (field, check) in [
        ("name", typed::<String> as Checker),
        ("description", typed::<String> as Checker),
        ("seed", typed::<u64> as Checker),
        ("ticks", typed::<u64> as Checker),
        ("tick_seconds", typed::<f64> as Checker),
    ] {
        if let Some(v) = map.get(field)
            && let Err((path, message)) = check(v, field)
        {
            diags.push(at(path, message));
        }
    }
    for (section, what) in
        [("markets", "a list of markets (- name: ...)"), ("populations", "a list of populations (- kind: ...)")]
    {
        if map.get(section).is_some_and(|v| !matches!(v, Value::Sequence(_) | Value::Null)) {
            diags.push(at(section.into(), format!("expected {what}")));
        }
    }
    // Each section on its own, so that one bad population does not hide
    // another.
    for section in ["markets", "populations"] {
        if let Some(Value::Sequence(items)) = map.get(section) {
            for (i, item) in items.iter().enumerate() {
                let prefix = format!("{section}[{i}]");
                let result = match section {
                    "markets" => typed::<cascade_agents::framework::market::MarketParams>(item, &prefix),
                    _ => population(item, &prefix),
                };
                if let Err((path, message)) = result {
                    diags.push(at(path, message));
                }
            }
        }
    }
    for (section, check) in [
        ("protocol", typed::<cascade_agents::framework::protocol::ProtocolParams> as Checker),
        ("recording", typed::<cascade_agents::framework::record::RecordingParams> as Checker),
        ("sweep", typed::<crate::spec::experiment::Sweep> as Checker),
        ("game", typed::<crate::spec::game::GameSpec> as Checker),
        ("check", typed::<crate::spec::check::Check> as Checker),
        ("outputs", typed::<crate::spec::experiment::Outputs> as Checker),
    ] {
        if let Some(v) = map.get(section)
            && let Err((path, message)) = check(v, section)
        {
            diags.push(at(path, message));
        }
    }
    if !diags.is_empty() {
        diags.sort_by_key(|d| d.position);
        return Err(diags);
    }
    let experiment: Experiment = match serde_path_to_error::deserialize(exact) {
        Ok(e) => e,
        Err(e) => {
            let path = e.path().to_string();
            let path = if path == "." { String::new() } else { path };
            return Err(vec![at(path, plain(&e.into_inner().to_string()))]);
        }
    };
    // The types' checks speak ppm and micros; a quote file reads its units.
    let speak = |m: String| if units == Units::Quote { units::message_in_quote(&m) } else { m };
    let mut diags: Vec<Diagnostic> = experiment
        .validate()
        .into_iter()
        .map(|e| match e {
            ParamError::Invalid { field, reason } => at(field, speak(reason)),
            other => at(String::new(), speak(other.to_string())),
        })
        .collect();
    if !diags.is_empty() {
        diags.sort_by_key(|d| d.position);
        return Err(diags);
    }
    let warnings = plausible(&experiment).into_iter().map(|(path, message)| at(path, message)).collect();
    Ok(Loaded { experiment, tree, warnings, file: String::new(), text: String::new() })
}

/// Values that are valid but implausible, by path.
fn plausible(exp: &Experiment) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for (i, m) in exp.markets.iter().enumerate() {
        let p = m.index.initial_price.0;
        if p < 100 {
            out.push((
                format!("markets[{i}].index.initial_price"),
                format!(
                    "a starting price of {p} ticks: one tick is more than 1% of the price. Was the price written \
                     in the wrong unit, or is tick_size ({}) too coarse?",
                    m.tick_size
                ),
            ));
        }
    }
    for (i, p) in exp.populations.iter().enumerate() {
        if p.count() == 0 {
            out.push((format!("populations[{i}].count"), "count is 0: the population has no agents".into()));
        }
    }
    out
}

/// Builds the world of `exp` and steps it once, as a run starts: what
/// only the built world finds (a reference between markets and
/// populations that does not resolve, an amount that overflows in the
/// first tick) is refused here, at the field's place in `text` (the file
/// named `file`). `note` is added to the message (e.g. which sweep point).
pub fn starts(exp: &Experiment, text: &str, file: &str, note: &str) -> Result<(), LoadError> {
    let mut sim = built(exp, text, file, note)?;
    sim.try_run(1).map_err(|o| {
        let e = ParamError::invalid("", format!("{o}: the amounts leave the range of exact i64 arithmetic"));
        located(e, text, file, note)
    })
}

/// Builds the world of `exp` with its seed, as a run starts; a reference
/// that does not resolve is refused at the field's place in `text` (see
/// [`starts`], which also steps it once). The world is at tick 0, ready
/// to run.
pub fn built(exp: &Experiment, text: &str, file: &str, note: &str) -> Result<Simulation, LoadError> {
    exp.build(exp.seed).map_err(|e| located(e, text, file, note))
}

/// A world's refusal as a diagnostic at its field's place in `text`.
fn located(e: ParamError, text: &str, file: &str, note: &str) -> LoadError {
    let (path, message) = match e {
        ParamError::Invalid { field, reason } => (field, reason),
        other => (String::new(), other.to_string()),
    };
    let position = Locator::new(text).find(&path);
    LoadError {
        file: file.to_owned(),
        diagnostics: vec![Diagnostic { path, position, message: format!("{message}{note}") }],
    }
}

type Checker = fn(&Value, &str) -> Result<(), (String, String)>;

/// Checks a population item as its registered kind's parameters, so that
/// errors keep their full path below `prefix`.
fn population(item: &Value, prefix: &str) -> Result<(), (String, String)> {
    crate::spec::population::read(item.clone()).map(|_| ()).map_err(|e| {
        let path = if e.path.is_empty() { prefix.to_owned() } else { format!("{prefix}.{}", e.path) };
        (path, plain(&e.message))
    })
}

/// Deserialises `v` as `T`; on failure, the path below `prefix` and the
/// message.
fn typed<T: DeserializeOwned>(v: &Value, prefix: &str) -> Result<(), (String, String)> {
    serde_path_to_error::deserialize::<_, T>(v.clone()).map(|_| ()).map_err(|e| {
        let inner = e.path().to_string();
        let path = if inner == "." { prefix.to_owned() } else { format!("{prefix}.{inner}") };
        (path, plain(&e.into_inner().to_string()))
    })
}

/// A deserialiser's message in the words of the experiment file: what
/// serde calls an "internally tagged enum" is a mapping with a `kind` (a
/// `dist` for distributions), a `u64` is a whole number, and so on.
pub fn plain(message: &str) -> String {
    let mut out = message.to_owned();
    if let Some(at) = out.find("expected internally tagged enum ") {
        let name = out[at + "expected internally tagged enum ".len()..].trim().to_owned();
        let tag = if name == "Dist" { "dist" } else { "kind" };
        out = format!("{}expected a mapping with a `{tag}` (see `cascade schema`)", &out[..at]);
    }
    for (jargon, words) in [
        ("expected a Value::Tagged enum", "expected one of the names this field takes (see `cascade schema`)"),
        ("expected u64", "expected a whole number, 0 or more"),
        ("expected u32", "expected a whole number, 0 or more"),
        ("expected u16", "expected a whole number, 0 or more"),
        ("expected i64", "expected a whole number"),
        ("expected i32", "expected a whole number"),
        ("expected f64", "expected a number"),
        ("expected usize", "expected a whole number, 0 or more"),
        ("expected a sequence", "expected a list (- item)"),
        ("expected struct ", "expected a mapping of fields, "),
        (
            "untagged and internally tagged enums do not support enum input",
            "expected a mapping of fields, not a tagged value",
        ),
    ] {
        out = out.replace(jargon, words);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_alias_bomb_in_a_set_value_is_refused() {
        let mut bomb = String::from("{x0: &a0 [1, 1, 1, 1, 1, 1, 1, 1, 1, 1]");
        for i in 1..9 {
            bomb.push_str(&format!(", x{i}: &a{i} [{}]", vec![format!("*a{}", i - 1); 10].join(", ")));
        }
        bomb.push('}');
        let text = "name: t\nticks: 10\n";
        let err = load_str(text, "f.yaml", &[format!("description={bomb}")]).unwrap_err();
        assert!(err.to_string().contains("description: --set: the file expands to more than"), "{err}");
    }

    #[test]
    fn type_errors_are_in_plain_words_and_all_reported() {
        let text = "name: t\nticks: abc\nseed: [1]\nmarkets: 5\nprotocol: { backstop: 1 }\nunits: quote\n";
        let err = load_str(text, "t.yaml", &[]).unwrap_err().to_string();
        for want in [
            "t.yaml:2:1: ticks: invalid type: string \"abc\", expected a whole number, 0 or more",
            "t.yaml:3:1: seed: invalid type: sequence, expected a whole number, 0 or more",
            "t.yaml:4:1: markets: expected a list of markets",
            "protocol.backstop: invalid type: integer `1`, expected one of the names this field takes",
        ] {
            assert!(err.contains(want), "{want:?} not in\n{err}");
        }
        let text = "name: t\nticks: 10\nmarkets:\n  - name: A\n    index: { initial_price: 100, process: gbm }\nunits: quote\n";
        let err = load_str(text, "t.yaml", &[]).unwrap_err().to_string();
        assert!(err.contains("expected a mapping with a `kind`"), "{err}");
        assert!(!err.contains("internally tagged"), "{err}");
    }

    #[test]
    fn an_indentation_slip_names_the_key_out_of_place() {
        for (text, want) in [
            (
                "name: x\nprotocol:\n  penalty: 0.01\n   max_rounds: 10\n",
                "`max_rounds` (line 4) is indented 3 spaces and `penalty` above it (line 3) 2",
            ),
            (
                "name: x\nprotocol:\n  penalty: 0.01\n max_rounds: 10\n",
                "`max_rounds` (line 4) is indented 1 spaces and `penalty` above it (line 3) 2",
            ),
            (
                "name: x\npopulations:\n  - kind: noise\n    name: n\n   count: 3\n",
                "`count` (line 5) is indented 3 spaces and `name` above it (line 4) 4",
            ),
        ] {
            let err = load_str(text, "t.yaml", &[]).unwrap_err().to_string();
            assert!(err.contains("not valid YAML") && err.contains(want), "{want:?} not in\n{err}");
        }
    }

    #[test]
    fn a_bad_set_value_is_named_by_its_argument_not_a_line() {
        let text = "units: quote\nname: t\nticks: 10\nprotocol:\n  penalty: 0.01\npopulations: []\n";
        let err = load_str(text, "t.yaml", &["protocol.penalty=2".into()]).unwrap_err();
        let d = &err.diagnostics[0];
        assert_eq!(d.position, None, "{err}");
        assert!(err.to_string().contains("protocol.penalty: (from --set protocol.penalty=2)"), "{err}");
        // A problem elsewhere keeps its line.
        let err = load_str(text, "t.yaml", &["ticks=0".into()]).unwrap_err();
        assert!(err.to_string().contains("(from --set ticks=0)"), "{err}");
    }

    #[test]
    fn reports_several_errors_with_lines() {
        let text = "name: t\nticks: 10\npopulations:\n  - kind: noise\n    rate: -1\n  - kind: leveraged\n    levrage: 3\nunits: quote\n";
        let err = load_str(text, "t.yaml", &[]).unwrap_err();
        assert_eq!(err.diagnostics.len(), 1, "{err}");
        assert_eq!(err.diagnostics[0].position.map(|p| p.line), Some(7));
        // Once the unknown field is fixed, the impossible value shows.
        let text = text.replace("levrage", "count");
        let err = load_str(&text, "t.yaml", &[]).unwrap_err();
        assert!(err.to_string().contains("t.yaml:5:5: populations[0].rate"), "{err}");
    }
}
