//! The JSON Schema of experiment files (`cascade schema`), in the units a
//! person writes them in: the types' schema, with prices, money and rates
//! as numbers in quote and fractions, their defaults converted, and their
//! descriptions naming those units.

use crate::spec::units::{Direction, KEY, Kind, Walk, defs, resolve, schema_json};
use serde_json::{Map, Value as Json};

/// The JSON Schema of experiment files as a person writes them: prices and
/// money in quote, rates as fractions, defaults converted (a price's at
/// the default tick size), and the `units` key required.
pub fn schema() -> Json {
    let made = schema_json();
    let mut schema = (*made).clone();
    let defs_copy = defs(&made).clone();
    convert_defaults(&mut schema, &defs_copy);
    describe_units(&mut schema, &defs_copy);
    if let Some(defs) = schema.get_mut("$defs").and_then(Json::as_object_mut) {
        for (name, description) in [
            ("Price", "A price in quote currency, a multiple of the market's `tick_size`."),
            ("Micros", "An amount of quote currency, exact to 0.000001 (a micro-unit)."),
            ("Ppm", "A fraction, exact to 0.000001: 0.01 is 1%."),
        ] {
            defs.insert(name.into(), serde_json::json!({ "description": description, "type": "number" }));
        }
    }
    if let Some(root) = schema.as_object_mut() {
        if let Some(props) = root.get_mut("properties").and_then(Json::as_object_mut) {
            props.insert(
                KEY.into(),
                serde_json::json!({
                    "description": "Units of the file: `quote` (prices and money in quote, rates as fractions) \
                                    or `exact` (prices in ticks, money in micros, rates in ppm).",
                    "type": "string",
                    "enum": ["quote", "exact"]
                }),
            );
        }
        let required = root.entry("required").or_insert_with(|| Json::Array(Vec::new()));
        if let Json::Array(r) = required {
            r.push(Json::String(KEY.into()));
        }
    }
    schema
}

/// The unit kind of a property's schema: a unit reference, or an optional
/// one.
fn unit_of(property: &Json, defs: &Map<String, Json>) -> Option<Kind> {
    if let (_, Some(kind)) = resolve(defs, property) {
        return Some(kind);
    }
    let alts = property.get("anyOf").or_else(|| property.get("oneOf")).and_then(Json::as_array)?;
    alts.iter().find_map(|a| resolve(defs, a).1)
}

/// The description of a field in the integer units, in the units of the
/// file: the types' docs name micros, ppm and ticks.
fn in_file_units(description: &str, kind: Kind) -> String {
    let mut d = description.replace('\n', " ");
    let replacements: &[(&str, &str)] = match kind {
        Kind::Money => &[
            ("in quote micro-units", "in quote"),
            (", in micros", ", in quote"),
            (", micros per take", ", quote per take"),
            (", micros;", ", quote;"),
            (", micros (", ", quote ("),
            (", micros,", ", quote,"),
            (", micros.", ", quote."),
            ("`q × p × tick_value` micros", "`q × p × tick_value` quote"),
        ],
        Kind::Rate => &[
            ("(ppm; 500,000 = 0.5)", "(0.5 is half)"),
            ("(ppm; 950,000 = 0.95)", "(e.g. 0.95)"),
            ("(ppm; 990,000 = 0.99)", "(0.99 keeps 99%)"),
            ("(ppm; 1,050,000 = 1.05)", "(1.05 is 5% over)"),
            ("(ppm; EIP-1559's 125,000 = 1/8)", "(EIP-1559's is 0.125)"),
            ("(ppm); 100 is 0.01%", "(a fraction; 0.0001 is 0.01%)"),
            ("ppm (3,000 = 0.3%)", "a fraction (0.003 is 0.3%)"),
            (
                "(ppm); the maximum leverage is `1e6 / initial_rate`",
                "(a fraction); the maximum leverage is `1 / initial_rate`",
            ),
            ("(ppm)", "(a fraction)"),
        ],
        Kind::Price => &[(", ticks.", ", quote, on the tick grid.")],
    };
    for (from, to) in replacements {
        d = d.replace(from, to);
    }
    d
}

/// Rewrites the description of every field in a unit.
fn describe_units(node: &mut Json, defs: &Map<String, Json>) {
    match node {
        Json::Object(map) => {
            if let Some(Json::Object(props)) = map.get_mut("properties") {
                for p in props.values_mut() {
                    if let Some(kind) = unit_of(p, defs)
                        && let Some(Json::String(d)) = p.get_mut("description")
                    {
                        *d = in_file_units(d, kind);
                    }
                }
            }
            for v in map.values_mut() {
                describe_units(v, defs);
            }
        }
        Json::Array(items) => items.iter_mut().for_each(|v| describe_units(v, defs)),
        _ => {}
    }
}

/// Converts every `default` in `node` to quote units.
fn convert_defaults(node: &mut Json, defs: &Map<String, Json>) {
    match node {
        Json::Object(map) => {
            if let Some(default) = map.get("default").cloned() {
                let mut shape = Json::Object(map.clone());
                if let Json::Object(s) = &mut shape {
                    s.remove("default");
                }
                if let Ok(mut yaml) = serde_yaml::to_value(&default) {
                    let mut walk =
                        Walk { defs, direction: Direction::ToQuote, problems: Vec::new(), found: Vec::new() };
                    walk.node(&mut yaml, &shape, "", None);
                    if walk.problems.is_empty()
                        && let Ok(json) = serde_json::to_value(&yaml)
                    {
                        map.insert("default".into(), json);
                    }
                }
            }
            for (k, v) in map.iter_mut() {
                if k != "default" {
                    convert_defaults(v, defs);
                }
            }
        }
        Json::Array(items) => items.iter_mut().for_each(|v| convert_defaults(v, defs)),
        _ => {}
    }
}
