//! Writing results safely: every file goes to a temporary name and is
//! renamed into place, a run's folder appears whole or not at all, and
//! `manifest.json` (written last) lists the SHA-256 of every output.

use anyhow::{Context, Result};
use sha2::{Digest, Sha256};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// SHA-256 of a file, as lowercase hex.
pub fn sha256_file(path: &Path) -> Result<String> {
    let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    Ok(sha256_hex(&bytes))
}

/// SHA-256 of bytes, as lowercase hex.
pub fn sha256_hex(bytes: &[u8]) -> String {
    let digest = Sha256::digest(bytes);
    let mut s = String::with_capacity(64);
    for b in digest.iter() {
        let _ = write!(s, "{b:02x}");
    }
    s
}

/// Writes `bytes` to `path` through a temporary file in the same folder.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("out");
    let tmp = dir.join(format!(".{name}.{}.tmp", std::process::id()));
    std::fs::write(&tmp, bytes).with_context(|| format!("writing {}", tmp.display()))?;
    std::fs::rename(&tmp, path).with_context(|| format!("renaming into {}", path.display()))?;
    Ok(())
}

/// A folder to fill and then move into place as a whole.
#[derive(Debug)]
pub struct StagedDir {
    tmp: PathBuf,
    target: PathBuf,
}

impl StagedDir {
    /// Stages `target` (its parent is created).
    pub fn new(target: &Path) -> Result<StagedDir> {
        let parent = target.parent().unwrap_or(Path::new("."));
        std::fs::create_dir_all(parent).with_context(|| format!("creating {}", parent.display()))?;
        let name = target.file_name().and_then(|n| n.to_str()).unwrap_or("run");
        // Folders that earlier, interrupted attempts at this same target left
        // (one per process id) are cleared first: the caller holds the
        // target's lock (`run::RunLock`), so no other process or thread is
        // staging it now.
        let (prefix, suffix) = (format!(".{name}."), ".partial");
        for entry in std::fs::read_dir(parent).with_context(|| format!("reading {}", parent.display()))? {
            let entry = entry?;
            let file = entry.file_name();
            let Some(file) = file.to_str() else { continue };
            let stale = file.strip_prefix(&prefix).and_then(|rest| rest.strip_suffix(suffix));
            if stale.is_some_and(|pid| !pid.is_empty() && pid.bytes().all(|b| b.is_ascii_digit())) {
                std::fs::remove_dir_all(entry.path())
                    .with_context(|| format!("clearing {}", entry.path().display()))?;
            }
        }
        let tmp = parent.join(format!("{prefix}{}{suffix}", std::process::id()));
        std::fs::create_dir_all(&tmp).with_context(|| format!("creating {}", tmp.display()))?;
        Ok(StagedDir { tmp, target: target.to_owned() })
    }

    /// Where to write the files.
    pub fn path(&self) -> &Path {
        &self.tmp
    }

    /// Moves the folder into place, replacing an incomplete one left by an
    /// interrupted run.
    pub fn commit(self) -> Result<PathBuf> {
        if self.target.exists() {
            std::fs::remove_dir_all(&self.target).with_context(|| format!("replacing {}", self.target.display()))?;
        }
        std::fs::rename(&self.tmp, &self.target).with_context(|| format!("moving into {}", self.target.display()))?;
        Ok(self.target.clone())
    }
}

impl Drop for StagedDir {
    /// A staged folder that was not committed (the run failed) is removed.
    fn drop(&mut self) {
        if self.tmp.exists() {
            let _ = std::fs::remove_dir_all(&self.tmp);
        }
    }
}

/// Encodes each frame as Parquet and writes it with [`write_atomic`];
/// returns the paths.
pub fn write_frames(frames: Vec<(PathBuf, polars::prelude::DataFrame)>) -> Result<Vec<PathBuf>> {
    let mut written = Vec::new();
    for (path, mut df) in frames {
        let mut buf = Vec::new();
        polars::prelude::ParquetWriter::new(&mut buf)
            .finish(&mut df)
            .with_context(|| format!("encoding {}", path.display()))?;
        write_atomic(&path, &buf)?;
        written.push(path);
    }
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn staging_clears_what_interrupted_attempts_left_and_nothing_else() {
        let tmp = tempfile::tempdir().unwrap();
        let target = tmp.path().join("abc");
        for stale in [".abc.4242.partial", ".abc.7.partial"] {
            std::fs::create_dir_all(tmp.path().join(stale).join("x")).unwrap();
        }
        // Another run's staging folder and a look-alike stay.
        for kept in [".abd.4242.partial", ".abc.x1.partial", "abc.partial"] {
            std::fs::create_dir_all(tmp.path().join(kept)).unwrap();
        }
        let staged = StagedDir::new(&target).unwrap();
        std::fs::write(staged.path().join("f"), b"1").unwrap();
        let dir = staged.commit().unwrap();
        assert_eq!(std::fs::read(dir.join("f")).unwrap(), b"1");
        let mut left: Vec<String> =
            std::fs::read_dir(tmp.path()).unwrap().map(|e| e.unwrap().file_name().into_string().unwrap()).collect();
        left.sort();
        assert_eq!(left, [".abc.x1.partial", ".abd.4242.partial", "abc", "abc.partial"]);
        // A staged folder that is dropped without commit goes away.
        let staged = StagedDir::new(&tmp.path().join("def")).unwrap();
        let path = staged.path().to_owned();
        drop(staged);
        assert!(!path.exists());
    }
}
