//! Embeds the model's fingerprint and the build's git commit.
//!
//! `CASCADE_MODEL` is the first 16 hex digits of the SHA-256 of every
//! source file of the crates that make a run's frames (framework, agents,
//! experiments), their manifests and `Cargo.lock`. A finished run is
//! reused only by a build with the same fingerprint: a change to the model
//! makes its runs again, whatever the version number says.
//!
//! `CASCADE_COMMIT` is `git rev-parse HEAD` of the tree the binary was
//! built from, or empty outside a repository.

use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};

fn files_under(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            files_under(&path, out);
        } else {
            out.push(path);
        }
    }
}

fn main() {
    let here = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets it"));
    let root = here.parent().expect("the crate is a workspace member").to_owned();
    let mut files = Vec::new();
    let mut manifests = vec![root.join("Cargo.toml"), root.join("Cargo.lock")];
    for krate in ["framework", "agents", "experiments"] {
        let src = root.join(krate).join("src");
        files_under(&src, &mut files);
        manifests.push(root.join(krate).join("Cargo.toml"));
        // A watched folder is scanned whole for changes.
        println!("cargo:rerun-if-changed={}", src.display());
    }
    for manifest in &manifests {
        println!("cargo:rerun-if-changed={}", manifest.display());
    }
    files.extend(manifests);
    files.sort();
    let mut hash = Sha256::new();
    for file in &files {
        let Ok(bytes) = std::fs::read(file) else { continue };
        let name = file.strip_prefix(&root).unwrap_or(file).to_string_lossy().replace('\\', "/");
        hash.update((name.len() as u64).to_le_bytes());
        hash.update(name.as_bytes());
        hash.update((bytes.len() as u64).to_le_bytes());
        hash.update(&bytes);
    }
    let digest = hash.finalize();
    let hex: String = digest.iter().take(8).map(|b| format!("{b:02x}")).collect();
    println!("cargo:rustc-env=CASCADE_MODEL={hex}");

    // The commit: read again when HEAD moves (a checkout or a commit).
    let git = root.join(".git");
    for watched in [git.join("HEAD"), git.join("logs").join("HEAD")] {
        if watched.exists() {
            println!("cargo:rerun-if-changed={}", watched.display());
        }
    }
    let commit = std::process::Command::new("git")
        .args(["rev-parse", "HEAD"])
        .current_dir(&root)
        .output()
        .ok()
        .filter(|o| o.status.success())
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .map(|s| s.trim().to_owned())
        .filter(|s| s.len() == 40 && s.bytes().all(|b| b.is_ascii_hexdigit()))
        .unwrap_or_default();
    println!("cargo:rustc-env=CASCADE_COMMIT={commit}");
}
