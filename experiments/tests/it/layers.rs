//! The library's modules are floors, and imports point down: a module (a
//! top-level file or folder of `experiments/src`) may name
//! (`crate::<module>`) only modules on its own floor or below. This keeps
//! the crate free of cycles between its modules, as
//! `framework/tests/it/layers.rs` does for the framework. The command
//! line (`cli/`) is the top floor, and the binary (`main.rs`) only calls
//! it; test modules are exempt.

use std::path::Path;

/// The floors, lowest first; modules on one floor do not import each
/// other. A new module must be placed here.
const FLOORS: [&[&str]; 8] = [
    &["locate", "output", "paths", "reference", "shipped", "theory"],
    &["spec"],
    &["load"],
    &["run", "migrate"],
    &["sweep"],
    &["budget"],
    &["game", "replicate"],
    &["cli"],
];

const BINARY: [&str; 1] = ["main"];

fn floor(module: &str) -> Option<usize> {
    FLOORS.iter().position(|f| f.contains(&module))
}

/// (module, file, source) of every library file.
fn sources() -> Vec<(String, String, String)> {
    fn walk(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
        for e in std::fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() { walk(&p, out) } else { out.push(p) }
        }
    }
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut paths = Vec::new();
    walk(&src, &mut paths);
    let mut files = Vec::new();
    for p in paths {
        let rel = p.strip_prefix(&src).unwrap().to_string_lossy().replace('\\', "/");
        let module = rel.split('/').next().unwrap().trim_end_matches(".rs").to_owned();
        if module == "lib" || BINARY.contains(&module.as_str()) {
            continue;
        }
        files.push((module, rel, std::fs::read_to_string(&p).unwrap()));
    }
    files.sort();
    files
}

/// The imports that point up or sideways, or name an unplaced module.
fn violations(files: &[(String, String, String)]) -> Vec<String> {
    let mut out = Vec::new();
    for (module, file, source) in files {
        let Some(own) = floor(module) else {
            out.push(format!("{file}: module `{module}` has no floor in tests/it/layers.rs"));
            continue;
        };
        for (i, line) in source.lines().enumerate() {
            if line.trim() == "#[cfg(test)]" {
                break;
            }
            let mut rest = line.split("//").next().unwrap_or("");
            while let Some(at) = rest.find("crate::") {
                rest = &rest[at + "crate::".len()..];
                let name: String = rest.chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '_').collect();
                if name == *module {
                    continue;
                }
                match floor(&name) {
                    Some(f) if f >= own => {
                        out.push(format!("{file}:{}: `{module}` imports `{name}`, which is not below it", i + 1))
                    }
                    Some(_) => {}
                    None => out.push(format!("{file}:{}: `crate::{name}` is not a placed module", i + 1)),
                }
            }
        }
    }
    out
}

#[test]
fn imports_between_modules_point_down() {
    let files = sources();
    assert!(files.len() > 20, "found only {} library files", files.len());
    let bad = violations(&files);
    assert!(bad.is_empty(), "imports that do not point down:\n{}", bad.join("\n"));
    let file = |module: &str, text: &str| (module.to_owned(), format!("{module}.rs"), text.to_owned());
    assert!(violations(&[file("spec", "use crate::theory::analysis::Structure;\n")]).is_empty());
    assert_eq!(violations(&[file("spec", "use crate::game::plan;\n")]).len(), 1);
    assert_eq!(violations(&[file("game", "use crate::replicate::Check;\n")]).len(), 1, "one floor, no imports");
    assert_eq!(violations(&[file("new", "fn f() {}\n")]).len(), 1);
}

/// No source file of the workspace is over 600 lines: a file that grows
/// past it holds several features and is split by feature.
#[test]
fn no_source_file_is_over_600_lines() {
    fn walk(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
        for e in std::fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                walk(&p, out);
            } else if p.extension().is_some_and(|x| x == "rs") {
                out.push(p);
            }
        }
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut files = Vec::new();
    for krate in ["framework", "agents", "experiments", "notebooks-export"] {
        walk(&root.join(krate).join("src"), &mut files);
    }
    assert!(files.len() > 80, "found only {} source files", files.len());
    let long: Vec<String> = files
        .iter()
        .filter_map(|f| {
            let n = std::fs::read_to_string(f).unwrap().lines().count();
            (n > 600).then(|| format!("{} ({n} lines)", f.display()))
        })
        .collect();
    assert!(long.is_empty(), "split these by feature: {long:?}");
}
