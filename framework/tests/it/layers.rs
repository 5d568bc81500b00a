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
