//! The reference of every frame that a run or a sweep writes: each column
//! with its type, unit and meaning, and what each column of
//! `events.parquet` holds for each event kind. The reference itself is
//! `reference/frames.json`; `docs/frames.md` is generated from it
//! ([`markdown`]), and a test checks the file, and the frames that runs and
//! sweeps really write, against it, column by column and type by type.

use serde::Deserialize;
use std::collections::BTreeMap;

/// The reference, as `reference/frames.json` holds it.
#[derive(Debug, Deserialize)]
pub struct Reference {
    /// Every frame, runs first.
    pub frames: Vec<Frame>,
    /// Every event kind of the framework.
    pub event_kinds: Vec<EventKind>,
}

/// One frame.
#[derive(Debug, Deserialize)]
pub struct Frame {
    /// The file.
    pub file: String,
    /// What a row is.
    pub row: String,
    /// Its columns, in the order written.
    pub columns: Vec<Column>,
}

/// One column.
#[derive(Debug, Deserialize)]
pub struct Column {
    /// Its name; `<axis>` stands for each swept path, and `<metric>` for
    /// each metric of `sweep.parquet`.
    pub name: String,
    /// Its polars type (`Int64`, `UInt64`, `Float64`, `String`, ...), with
    /// when it is null.
    pub dtype: String,
    /// Its unit (see [`UNITS`]); empty for names and ids.
    pub unit: String,
    /// What it holds.
    pub meaning: String,
}

/// What an event kind is, and what each column of its rows holds.
#[derive(Debug, Deserialize)]
pub struct EventKind {
    /// The `kind` value.
    pub kind: String,
    /// When it is written.
    pub meaning: String,
    /// Column, and what it holds for this kind.
    pub columns: BTreeMap<String, String>,
}

impl Column {
    /// The polars type, without the note on nulls: `Int64`.
    pub fn base_type(&self) -> &str {
        self.dtype.split_whitespace().next().unwrap_or_default()
    }
}

/// The units the reference names.
pub const UNITS: [(&str, &str); 9] = [
    ("ticks", "a price in integer ticks of the market (`tick_size` quote each)"),
    ("ticks (duration)", "a number of ticks"),
    ("tick", "a tick number, from 0"),
    ("micros", "quote micro-units, integer: divide by 1,000,000 for quote"),
    ("quote", "quote currency, Float64"),
    ("lots", "integer lots of the contract"),
    ("ppm", "parts per million, integer"),
    ("bps", "basis points"),
    ("fraction", "a plain fraction: 0.01 is 1%"),
];

/// The reference.
pub fn reference() -> Reference {
    serde_json::from_str(include_str!("../reference/frames.json")).expect("reference/frames.json is valid")
}

/// A table cell: pipes escaped, on one line.
fn cell(s: &str) -> String {
    s.replace('|', "\\|").replace('\n', " ")
}

/// `docs/frames.md`.
pub fn markdown() -> String {
    let r = reference();
    let mut s = String::from(
        "# Frames reference\n\n\
         Generated from `experiments/reference/frames.json` by the test\n\
         `frames_doc::the_frames_reference_is_up_to_date` (run it with\n\
         `CASCADE_BLESS=1` to write this file again); the same test checks\n\
         that the frames runs and sweeps write have exactly these columns and\n\
         types. A run writes `ticks`, `events`, `agents`, `heatmap` and\n\
         `summary` (and `executions` with execution agents) into its folder; a\n\
         sweep writes `sweep`, `points` and, with variants, `paired` into\n\
         `sweeps/<id>/`.\n\n## Units\n\n| unit | meaning |\n| --- | --- |\n",
    );
    for (unit, meaning) in UNITS {
        s.push_str(&format!("| {unit} | {meaning} |\n"));
    }
    for f in &r.frames {
        s.push_str(&format!(
            "\n## `{}`\n\nOne row per {}.\n\n| column | type | unit | meaning |\n| --- | --- | --- | --- |\n",
            f.file, f.row
        ));
        for c in &f.columns {
            s.push_str(&format!(
                "| `{}` | {} | {} | {} |\n",
                cell(&c.name),
                cell(&c.dtype),
                cell(&c.unit),
                cell(&c.meaning)
            ));
        }
    }
    s.push_str(
        "\n## Event kinds\n\nWhat each column of `events.parquet` holds, by `kind`. Columns not listed for a \
         kind are unused for it (0 or null).\n",
    );
    let order: Vec<String> = r
        .frames
        .iter()
        .find(|f| f.file == "events.parquet")
        .map(|f| f.columns.iter().map(|c| c.name.clone()).collect())
        .unwrap_or_default();
    for k in &r.event_kinds {
        s.push_str(&format!("\n### `{}`\n\n{}\n\n", k.kind, k.meaning));
        for name in &order {
            if let Some(m) = k.columns.get(name).filter(|m| !m.starts_with("unused")) {
                s.push_str(&format!("- `{name}`: {}\n", m.replace('\n', " ")));
            }
        }
    }
    s
}
