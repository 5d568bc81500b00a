//! The framework's folders are floors, and imports point down: a file may
//! name (`crate::folder::...`) only its own folder and those below it. This
//! reads every source file and fails on an import that points up, which is
//! also what keeps the folders free of cycles. Test modules are exempt.

use std::collections::BTreeMap;
use std::path::Path;

/// The floors, lowest first. A new folder must be placed here.
const FLOORS: [&str; 7] = ["core", "market", "accounts", "exchange", "protocol", "record", "engine"];

/// Every `crate::<folder>` a line of code names, comments excluded. A
/// file's `#[cfg(test)]` module, at its end, may use the whole engine (a
/// mechanism's tests run a simulation), so the scan stops there.
fn named_folders(source: &str) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    for (i, line) in source.lines().enumerate() {
        if line.trim() == "#[cfg(test)]" {
            break;
        }
        let code = line.split("//").next().unwrap_or("");
        let mut rest = code;
        while let Some(at) = rest.find("crate::") {
            rest = &rest[at + "crate::".len()..];
            let name: String =
                rest.chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == '{').collect();
            out.push((i + 1, name));
        }
    }
    out
}

/// The imports of `files` (folder, file name, source) that break the floor
/// order, as readable lines.
fn violations(files: &[(String, String, String)]) -> Vec<String> {
    let floor = |f: &str| FLOORS.iter().position(|x| *x == f);
    let mut out = Vec::new();
    for (folder, file, source) in files {
        let Some(own) = floor(folder) else {
            out.push(format!("{folder}/{file}: folder `{folder}` has no floor in tests/it/layers.rs"));
            continue;
        };
        for (line, name) in named_folders(source) {
            if name.starts_with('{') {
                out.push(format!("{folder}/{file}:{line}: `crate::{{...}}` hides which folders are used"));
                continue;
            }
            match floor(&name) {
                Some(f) if f > own => {
                    out.push(format!("{folder}/{file}:{line}: `{folder}` imports `{name}`, which is above it"))
                }
                Some(_) => {}
                None => out.push(format!("{folder}/{file}:{line}: `crate::{name}` is not a folder of the framework")),
            }
        }
    }
    out
}

fn sources() -> Vec<(String, String, String)> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    for dir in std::fs::read_dir(&src).expect("framework/src is readable") {
        let dir = dir.expect("a directory entry").path();
        if !dir.is_dir() {
            continue;
        }
        let folder = dir.file_name().expect("named").to_string_lossy().into_owned();
        for f in std::fs::read_dir(&dir).expect("a folder is readable") {
            let f = f.expect("a directory entry").path();
            assert!(!f.is_dir(), "{}: folders nest one level only", f.display());
            let text = std::fs::read_to_string(&f).expect("source is UTF-8");
            files.push((folder.clone(), f.file_name().expect("named").to_string_lossy().into_owned(), text));
        }
    }
    files.sort();
    files
}

#[test]
fn imports_between_folders_point_down() {
    let files = sources();
    assert!(files.len() > 30, "found only {} files under framework/src", files.len());
    let bad = violations(&files);
    assert!(bad.is_empty(), "imports that point up:\n{}", bad.join("\n"));
    // Every floor is used: a folder that nothing names and that names
    // nothing would be a sign the list is stale.
    let mut edges: BTreeMap<&str, usize> = BTreeMap::new();
    for (folder, _, source) in &files {
        for (_, name) in named_folders(source) {
            if name != *folder {
                *edges.entry(FLOORS.iter().find(|f| **f == name).copied().unwrap_or("?")).or_default() += 1;
            }
        }
    }
    for f in &FLOORS[..FLOORS.len() - 1] {
        assert!(edges.get(f).is_some_and(|n| *n > 0), "nothing above imports `{f}`");
    }
}

#[test]
fn the_check_catches_an_import_that_points_up() {
    let file = |folder: &str, text: &str| (folder.to_owned(), "x.rs".to_owned(), text.to_owned());
    let ok = [
        file("market", "use crate::core::units::Price;\n"),
        file("market", "/// see [`crate::engine::Simulation`]\n"),
        file("market", "fn f() {}\n#[cfg(test)]\nmod tests {\n    use crate::engine::Simulation;\n}\n"),
    ];
    assert!(violations(&ok).is_empty());
    let up = [file("market", "use crate::core::units::Price;\nuse crate::protocol::Protocol;\n")];
    assert_eq!(violations(&up), ["market/x.rs:2: `market` imports `protocol`, which is above it"]);
    let new = [file("venues", "use crate::core::units::Price;\n")];
    assert_eq!(violations(&new).len(), 1);
    let hidden = [file("engine", "use crate::{core, market};\n")];
    assert_eq!(violations(&hidden).len(), 1);
}

/// The files of one folder that each file names (`crate::<folder>::<file>`
/// or `super::<file>`), test modules and `mod.rs` excluded: `mod.rs` only
/// re-exports.
fn file_edges(files: &[(String, String, String)]) -> BTreeMap<String, Vec<String>> {
    let mut edges: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (folder, file, source) in files.iter().filter(|f| f.1 != "mod.rs") {
        let stem = file.trim_end_matches(".rs");
        let siblings: Vec<&str> = files
            .iter()
            .filter(|(f, n, _)| f == folder && n != "mod.rs" && n != file)
            .map(|(_, n, _)| n.trim_end_matches(".rs"))
            .collect();
        let mut named = Vec::new();
        for line in source.lines() {
            if line.trim() == "#[cfg(test)]" {
                break;
            }
            let code = line.split("//").next().unwrap_or("");
            for prefix in [format!("crate::{folder}::"), "super::".to_owned()] {
                let mut rest = code;
                while let Some(at) = rest.find(&prefix) {
                    rest = &rest[at + prefix.len()..];
                    let name: String = rest.chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '_').collect();
                    if siblings.contains(&name.as_str()) && !named.contains(&name) {
                        named.push(name);
                    }
                }
            }
        }
        edges.insert(format!("{folder}/{stem}"), named.into_iter().map(|n| format!("{folder}/{n}")).collect());
    }
    edges
}

/// A cycle among files, if there is one, as `a -> b -> a`.
fn file_cycle(edges: &BTreeMap<String, Vec<String>>) -> Option<String> {
    fn visit(
        node: &str,
        edges: &BTreeMap<String, Vec<String>>,
        path: &mut Vec<String>,
        done: &mut Vec<String>,
    ) -> Option<String> {
        if let Some(at) = path.iter().position(|p| p == node) {
            let mut cycle = path[at..].to_vec();
            cycle.push(node.to_owned());
            return Some(cycle.join(" -> "));
        }
        if done.iter().any(|d| d == node) {
            return None;
        }
        path.push(node.to_owned());
        for next in edges.get(node).into_iter().flatten() {
            if let Some(c) = visit(next, edges, path, done) {
                return Some(c);
            }
        }
        path.pop();
        done.push(node.to_owned());
        None
    }
    let mut done = Vec::new();
    edges.keys().find_map(|n| visit(n, edges, &mut Vec::new(), &mut done))
}

#[test]
fn no_two_files_of_a_folder_import_each_other() {
    let edges = file_edges(&sources());
    assert!(edges.values().map(Vec::len).sum::<usize>() > 10, "the scan found too few imports: {edges:?}");
    assert_eq!(file_cycle(&edges), None, "a circle of files");
    let circle = [
        ("exchange".to_owned(), "a.rs".to_owned(), "use crate::exchange::b::X;\n".to_owned()),
        ("exchange".to_owned(), "b.rs".to_owned(), "use super::a::Y;\n".to_owned()),
    ];
    assert_eq!(file_cycle(&file_edges(&circle)).as_deref(), Some("exchange/a -> exchange/b -> exchange/a"));
}
