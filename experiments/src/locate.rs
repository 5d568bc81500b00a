//! Finding where a field is in an experiment file, so that errors can name
//! its line and column. The file is read once as YAML events with their
//! positions; each mapping key and sequence item is recorded under its path
//! (`markets[0].tiers[1].maintenance_rate`), the same form the validators
//! and the deserialiser report.

use std::collections::BTreeMap;
use yaml_rust2::parser::{Event, MarkedEventReceiver, Parser};
use yaml_rust2::scanner::Marker;

/// A line and column, both from 1.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Position {
    /// Line, from 1.
    pub line: usize,
    /// Column, from 1.
    pub col: usize,
}

/// Where each path of a file starts.
#[derive(Debug, Default)]
pub struct Locator {
    positions: BTreeMap<String, Position>,
    values: BTreeMap<String, Written>,
}

/// A plain scalar value as it is written in the file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Written {
    /// Where it starts, in characters from the start of the file.
    pub at: usize,
    /// Its text.
    pub text: String,
}

enum Frame {
    /// A mapping; `item` holds its path until its first key gives the
    /// position of a sequence item that is a mapping (the parser marks a
    /// mapping's start after its first key).
    Map {
        path: String,
        key: Option<String>,
        item: Option<String>,
    },
    Seq {
        path: String,
        index: usize,
    },
}

#[derive(Default)]
struct Recorder {
    stack: Vec<Frame>,
    positions: BTreeMap<String, Position>,
    values: BTreeMap<String, Written>,
}

fn join(parent: &str, key: &str) -> String {
    if parent.is_empty() { key.to_owned() } else { format!("{parent}.{key}") }
}

impl Recorder {
    /// The path of the node that starts now, or `None` if the event is a
    /// mapping key (which it records).
    fn node_path(&mut self, ev: &Event, mark: Marker) -> Option<String> {
        let pos = Position { line: mark.line(), col: mark.col() + 1 };
        match self.stack.last_mut() {
            None => Some(String::new()),
            Some(Frame::Map { path, key, item }) => match key.take() {
                None => {
                    if let Event::Scalar(k, ..) = ev {
                        let p = join(path, k);
                        self.positions.entry(p).or_insert(pos);
                        if let Some(item) = item.take() {
                            self.positions.entry(item).or_insert(pos);
                        }
                        *key = Some(k.clone());
                    } else {
                        // A complex key: give it a placeholder name.
                        *key = Some("?".into());
                    }
                    None
                }
                Some(k) => Some(join(path, &k)),
            },
            Some(Frame::Seq { path, index }) => {
                let p = format!("{path}[{index}]");
                *index += 1;
                if !matches!(ev, Event::MappingStart(..)) {
                    self.positions.entry(p.clone()).or_insert(pos);
                }
                Some(p)
            }
        }
    }
}

impl MarkedEventReceiver for Recorder {
    fn on_event(&mut self, ev: Event, mark: Marker) {
        match ev {
            Event::MappingEnd | Event::SequenceEnd => {
                self.stack.pop();
            }
            Event::Scalar(..) | Event::Alias(..) | Event::MappingStart(..) | Event::SequenceStart(..) => {
                let in_seq = matches!(self.stack.last(), Some(Frame::Seq { .. }));
                let Some(path) = self.node_path(&ev, mark) else { return };
                match ev {
                    Event::Scalar(text, yaml_rust2::scanner::TScalarStyle::Plain, ..) => {
                        self.values.insert(path, Written { at: mark.index(), text });
                    }
                    Event::MappingStart(..) => {
                        let item = in_seq.then(|| path.clone());
                        self.stack.push(Frame::Map { path, key: None, item });
                    }
                    Event::SequenceStart(..) => self.stack.push(Frame::Seq { path, index: 0 }),
                    _ => {}
                }
            }
            _ => {}
        }
    }
}

impl Locator {
    /// Reads `text`; a file that does not parse gives an empty locator (the
    /// parser's own error carries the position then).
    pub fn new(text: &str) -> Locator {
        let mut rec = Recorder::default();
        let mut parser = Parser::new_from_str(text);
        if parser.load(&mut rec, false).is_err() {
            return Locator::default();
        }
        Locator { positions: rec.positions, values: rec.values }
    }

    /// The plain scalar at `path` as it is written, if it is one.
    pub fn written(&self, path: &str) -> Option<&Written> {
        self.values.get(path)
    }

    /// Where exactly `path` is, if it is in the file.
    pub fn exact(&self, path: &str) -> Option<Position> {
        self.positions.get(path).copied()
    }

    /// Where `path` starts, or the nearest enclosing path that is in the
    /// file (a field left to its default has no line of its own).
    pub fn find(&self, path: &str) -> Option<Position> {
        let mut p = path.to_owned();
        loop {
            if let Some(pos) = self.positions.get(&p) {
                return Some(*pos);
            }
            let cut = p.rfind(['.', '['])?;
            p.truncate(cut);
        }
    }
}

/// What is out of place when line `line` of `text` (from 1) does not line
/// up with the key above it: the YAML parser names only a position.
pub fn indentation(text: &str, line: usize) -> Option<String> {
    let lines: Vec<&str> = text.lines().collect();
    let content = |l: &str| !l.trim().is_empty() && !l.trim_start().starts_with('#');
    let key = |l: &str| {
        let t = l.trim_start().trim_start_matches("- ");
        t.split_once(':').map(|(k, _)| k.trim().to_owned()).filter(|k| !k.is_empty() && !k.contains(' '))
    };
    let indent = |l: &str| l.len() - l.trim_start().len();
    let here = *lines.get(line.checked_sub(1)?)?;
    let own = key(here).filter(|_| content(here))?;
    let (above, prev) = lines[..line - 1].iter().enumerate().rev().find(|(_, l)| content(l))?;
    let prev_key = key(prev)?;
    // A key under a list item's first key lines up with it, two columns
    // past the dash; a key under `section:` is deeper than it.
    let opens = prev.trim_end().ends_with(':');
    let sibling = indent(prev) + if prev.trim_start().starts_with("- ") { 2 } else { 0 };
    if opens || indent(here) == sibling {
        return None;
    }
    Some(format!(
        "`{own}` (line {line}) is indented {} spaces and `{prev_key}` above it (line {}) {sibling}: keys of one \
         section line up, so indent `{own}` as `{prev_key}` is, or as the section it belongs to",
        indent(here),
        above + 1
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_keys_and_items() {
        let text = "name: x\nmarkets:\n  - name: A\n    tiers:\n      - maintenance_rate: 5\n      - maintenance_rate: 6\npopulations: [{kind: noise}]\n";
        let l = Locator::new(text);
        assert_eq!(l.find("name"), Some(Position { line: 1, col: 1 }));
        assert_eq!(l.find("markets[0].tiers[1].maintenance_rate"), Some(Position { line: 6, col: 9 }));
        assert_eq!(l.find("markets[0].tiers[1]"), Some(Position { line: 6, col: 9 }));
        // Not in the file: the nearest enclosing path.
        assert_eq!(l.find("markets[0].depth.levels"), Some(Position { line: 3, col: 5 }));
        assert_eq!(l.find("populations[0].kind").map(|p| p.line), Some(7));
    }
}
