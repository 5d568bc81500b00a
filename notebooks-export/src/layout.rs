//! The results folder's layout, in one place: the names of the files that
//! say what a folder is, and which kind of folder a path is. Runs, sweeps
//! and games write these names; every command and report that reads a
//! folder asks [`kind`].
//!
//! ```text
//! <out>/<name>/<run-id>/               a run: manifest.json, frames, reports
//! <out>/<name>/sweeps/<sweep-id>/      a sweep: plan.json, sweep frames
//! <out>/<name>/games/<game-id>/        a game: game.json, game frames
//! ```

use std::path::Path;

/// A run's manifest, written last: a folder with one is a finished run.
pub const MANIFEST: &str = "manifest.json";

/// A sweep's plan.
pub const SWEEP_PLAN: &str = "plan.json";

/// A game's plan.
pub const GAME_PLAN: &str = "game.json";

/// What a results folder holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Folder {
    /// One run.
    Run,
    /// A sweep's own files.
    Sweep,
    /// A game's own files.
    Game,
}

/// The kind of the folder `dir`, if it is one of the three.
pub fn kind(dir: &Path) -> Option<Folder> {
    if dir.join(GAME_PLAN).exists() {
        Some(Folder::Game)
    } else if dir.join(SWEEP_PLAN).exists() {
        Some(Folder::Sweep)
    } else if dir.join(MANIFEST).exists() {
        Some(Folder::Run)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_folder_is_known_by_the_file_that_names_it() {
        let tmp = tempfile::tempdir().unwrap();
        assert_eq!(kind(tmp.path()), None);
        for (file, folder) in [(MANIFEST, Folder::Run), (SWEEP_PLAN, Folder::Sweep), (GAME_PLAN, Folder::Game)] {
            let dir = tmp.path().join(file);
            std::fs::create_dir(&dir).unwrap();
            std::fs::write(dir.join(file), "{}").unwrap();
            assert_eq!(kind(&dir), Some(folder));
        }
    }
}
