//! One run: build the world from a checked experiment, step it, and write
//! `results/<name>/<run-id>/` with the frames, and `manifest.json` last.
//!
//! The run id is the first 16 hex digits of the SHA-256 of the resolved
//! configuration (as canonical JSON, sweep section removed) and the seed:
//! the same inputs always map to the same folder, and a folder whose
//! manifest exists is a finished run.

use crate::output::{StagedDir, sha256_file, sha256_hex, write_atomic};
use crate::spec::experiment::Experiment;
use anyhow::{Context, Result, anyhow};
use cascade_agents::framework::Simulation;
use cascade_agents::framework::record::RunSummary;
use indicatif::ProgressBar;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// What `manifest.json` holds.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Manifest {
    /// Experiment name.
    pub experiment: String,
    /// Run id (the folder name).
    pub run_id: String,
    /// Run seed.
    pub seed: u64,
    /// `cascade` version.
    pub version: String,
    /// Fingerprint of the model that made the run: a hash of the sources
    /// of the crates that make frames, taken when `cascade` was built
    /// ([`MODEL`]). Empty in manifests written before it was recorded.
    #[serde(default)]
    pub model: String,
    /// Git commit that `cascade` was built from, if it was built in a
    /// repository.
    pub git_commit: Option<String>,
    /// The command that made the run (`cascade run ...`, or the `cascade
    /// sweep ...` or `cascade game ...` whose point it is), if it came from
    /// the command line. `cascade reproduce <run folder>` makes it again
    /// from this manifest alone.
    pub command: Option<String>,
    /// The sweep point the run belongs to, if a sweep, game or
    /// replication made it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub point: Option<Point>,
    /// The resolved configuration.
    pub config: serde_json::Value,
    /// SHA-256 of each output file, by name.
    pub files: BTreeMap<String, String>,
    /// Wall time of the simulation and export, seconds.
    pub wall_seconds: f64,
    /// The run's scalar results.
    pub summary: RunSummary,
}

/// Where a run inside a sweep comes from.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Point {
    /// The sweep's id (its folder under `sweeps/` or `games/`).
    pub sweep_id: String,
    /// The point's number in the sweep's plan.
    pub index: usize,
    /// The replicate: the run's seed is the experiment's seed plus this.
    pub replicate: u32,
    /// The swept values at the point, by path.
    pub values: BTreeMap<String, serde_json::Value>,
}

/// What made a run: the command and, in a sweep, the point.
#[derive(Clone, Debug, Default)]
pub struct Origin {
    /// The command line.
    pub command: Option<String>,
    /// The sweep point.
    pub point: Option<Point>,
}

/// The resolved configuration of a run, as the JSON that its id hashes.
pub fn resolved_config(exp: &Experiment) -> serde_json::Value {
    let mut e = exp.clone();
    e.sweep = None;
    e.game = None;
    e.check = None;
    serde_json::to_value(&e).expect("an experiment serialises")
}

/// The run id of `exp` with `seed`.
pub fn run_id(exp: &Experiment, seed: u64) -> String {
    let config = resolved_config(exp);
    let bytes = serde_json::to_vec(&(config, seed)).expect("serialises");
    sha256_hex(&bytes)[..16].to_owned()
}

/// Where a run goes.
pub fn run_dir(out: &Path, exp: &Experiment, seed: u64) -> PathBuf {
    out.join(&exp.name).join(run_id(exp, seed))
}

/// Writes the reports `outputs` asks for into a run or sweep folder and
/// returns their paths: charts first, so the notebook can embed them.
pub fn write_reports(dir: &Path, outputs: &crate::spec::experiment::Outputs) -> Result<Vec<PathBuf>> {
    use cascade_notebooks::layout::{Folder, kind};
    let mut written = Vec::new();
    if outputs.charts {
        let charts = match kind(dir) {
            Some(Folder::Game) => cascade_notebooks::charts::plot_game(dir),
            Some(Folder::Sweep) => cascade_notebooks::charts::plot_sweep(dir),
            _ => cascade_notebooks::charts::plot_run(dir),
        };
        written.extend(charts.with_context(|| format!("drawing charts in {}", dir.display()))?);
    }
    if outputs.notebook {
        written.push(cascade_notebooks::notebook::write_notebook(dir).context("writing the notebook")?);
    }
    if outputs.tables {
        written.extend(cascade_notebooks::tables::write_tables(dir).context("writing the tables")?);
    }
    Ok(written)
}

/// Which finished runs may be reused instead of run again.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Reuse {
    /// Only runs made by a build of the same model ([`MODEL`]).
    #[default]
    SameModel,
    /// Runs made by any build (`--reuse-any-version`).
    AnyVersion,
}

/// This build's version, as manifests record it.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// This build's model fingerprint: the first 16 hex digits of the SHA-256
/// of the sources of the framework, agents and experiments crates and of
/// `Cargo.lock`, taken by `build.rs`. Any change to the code that makes
/// frames changes it, so runs made before the change are made again.
pub const MODEL: &str = env!("CASCADE_MODEL");

/// The git commit this build was made from, if it was made in a repository.
pub fn build_commit() -> Option<String> {
    let c = env!("CASCADE_COMMIT");
    (!c.is_empty()).then(|| c.to_owned())
}

/// What an overflow at run time means, for its error.
const BEYOND: &str = "the experiment drives an amount beyond the range of exact i64 arithmetic; \
                      lower its prices, sizes, tick value or collateral";

/// Why the finished run in `dir`, with manifest `m`, may not be reused:
/// another build of the model made it (unless `reuse` allows it), or a
/// frame is missing or does not match the SHA-256 its manifest records.
pub fn not_reusable(dir: &Path, m: &Manifest, reuse: Reuse) -> Option<String> {
    if reuse == Reuse::SameModel && m.model != MODEL {
        let made = if m.model.is_empty() { "no recorded model".to_owned() } else { format!("model {}", m.model) };
        return Some(format!(
            "made by cascade {} with {made}, and this build's model is {MODEL}; --reuse-any-version keeps it",
            m.version
        ));
    }
    for (name, sha) in m.files.iter().filter(|(n, _)| n.ends_with(".parquet")) {
        match sha256_file(&dir.join(name)) {
            Ok(actual) if actual == *sha => {}
            Ok(_) => return Some(format!("{name} does not match the SHA-256 in its manifest")),
            Err(_) => return Some(format!("{name} is missing")),
        }
    }
    None
}

/// Reads a finished run's manifest, if the run is finished.
pub fn finished(dir: &Path) -> Option<Manifest> {
    let text = std::fs::read_to_string(dir.join(cascade_notebooks::layout::MANIFEST)).ok()?;
    serde_json::from_str(text.as_str()).ok()
}

/// How a run went.
#[derive(Debug)]
pub enum Outcome {
    /// It ran now.
    Ran(Manifest, PathBuf),
    /// It had finished before but could not be reused (the reason), and
    /// ran again.
    Redone(Manifest, PathBuf, String),
    /// Its manifest already existed.
    Skipped(Manifest, PathBuf),
}

impl Outcome {
    /// The manifest.
    pub fn manifest(&self) -> &Manifest {
        match self {
            Outcome::Ran(m, _) | Outcome::Redone(m, _, _) | Outcome::Skipped(m, _) => m,
        }
    }

    /// The run's folder.
    pub fn dir(&self) -> &Path {
        match self {
            Outcome::Ran(_, d) | Outcome::Redone(_, d, _) | Outcome::Skipped(_, d) => d,
        }
    }
}

/// The exclusive lock on making one run: `<out>/<name>/.<run-id>.lock`,
/// held through an advisory file lock, so that two processes on one
/// `--out` never make the same run at once. The operating system releases
/// it when its holder dies, so a killed process leaves nothing to clear.
#[derive(Debug)]
struct RunLock {
    file: std::fs::File,
    path: PathBuf,
}

impl RunLock {
    /// Waits for the lock of the run that goes in `dir`.
    fn take(dir: &Path) -> Result<RunLock> {
        let parent = dir.parent().unwrap_or(Path::new("."));
        std::fs::create_dir_all(parent).with_context(|| format!("creating {}", parent.display()))?;
        let name = dir.file_name().and_then(|n| n.to_str()).unwrap_or("run");
        let path = parent.join(format!(".{name}.lock"));
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .with_context(|| format!("opening {}", path.display()))?;
        file.lock().with_context(|| format!("locking {}", path.display()))?;
        Ok(RunLock { file, path })
    }

    /// Removes the lock file once the run is finished, then lets go. A
    /// process that opened the file before it was removed gets the lock
    /// next and finds the run finished, as does one that creates it anew.
    /// A failed run keeps its lock file, for the next attempt.
    fn release(self) {
        let _ = std::fs::remove_file(&self.path);
        drop(self.file);
    }
}

/// Whether a run writes its reports (charts, notebook, tables) or only
/// its frames.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reports {
    /// As the experiment's `outputs` section says.
    AsConfigured,
    /// Frames only (the runs of a sweep).
    None,
}

/// Runs `exp` with `seed` into `out`, unless it has run already. `progress`
/// advances by one per tick.
pub fn execute(
    exp: &Experiment,
    seed: u64,
    out: &Path,
    origin: &Origin,
    progress: Option<&ProgressBar>,
    reports: Reports,
    reuse: Reuse,
) -> Result<Outcome> {
    make(exp, seed, out, origin, progress, reports, reuse, None)
}

/// [`execute`] of `exp` with its own seed and the reports it asks for,
/// from `sim`, its world already built (by [`crate::load::built`], which
/// refused a bad reference at its line): the world is not built twice.
pub fn execute_built(
    sim: Simulation,
    exp: &Experiment,
    out: &Path,
    origin: &Origin,
    progress: Option<&ProgressBar>,
    reuse: Reuse,
) -> Result<Outcome> {
    make(exp, exp.seed, out, origin, progress, Reports::AsConfigured, reuse, Some(sim))
}

#[allow(clippy::too_many_arguments, reason = "execute's arguments and the world it may already have")]
fn make(
    exp: &Experiment,
    seed: u64,
    out: &Path,
    origin: &Origin,
    progress: Option<&ProgressBar>,
    reports: Reports,
    reuse: Reuse,
    built: Option<Simulation>,
) -> Result<Outcome> {
    let dir = run_dir(out, exp, seed);
    // Another process on the same `--out` may be making this run: wait for
    // it, then find the run finished.
    let lock = RunLock::take(&dir)?;
    let previous = finished(&dir);
    let redo = previous.as_ref().and_then(|m| not_reusable(&dir, m, reuse));
    if let Some(mut m) = previous.filter(|_| redo.is_none()) {
        if let Some(p) = progress {
            p.inc(exp.ticks);
        }
        // A run first made inside a sweep has frames only: a single run of
        // it adds the reports it asks for, and their hashes.
        let o = &exp.outputs.for_run().0;
        let missing = (o.charts && !dir.join("charts").exists())
            || (o.notebook && !dir.join("notebook.ipynb").exists())
            || (o.tables && !dir.join("table.md").exists());
        if reports == Reports::AsConfigured && missing {
            for path in write_reports(&dir, o)? {
                let name = path.strip_prefix(&dir).unwrap_or(&path).to_string_lossy().into_owned();
                m.files.insert(name, sha256_file(&path)?);
            }
            write_atomic(
                &dir.join(cascade_notebooks::layout::MANIFEST),
                &serde_json::to_vec_pretty(&m).expect("serialises"),
            )?;
        }
        lock.release();
        return Ok(Outcome::Skipped(m, dir));
    }
    #[allow(clippy::disallowed_methods, reason = "wall time for the manifest; the simulation never sees it")]
    let started = std::time::Instant::now();
    let mut sim = match built {
        Some(sim) => sim,
        None => exp.build(seed).map_err(|e| anyhow!("{}: {e}", exp.name))?,
    };
    let chunk = (exp.ticks / 200).max(1);
    let mut done = 0;
    while done < exp.ticks {
        let n = chunk.min(exp.ticks - done);
        sim.try_run(n).map_err(|e| anyhow!("{} (seed {seed}): {e}; {BEYOND}", exp.name))?;
        done += n;
        if let Some(p) = progress {
            p.inc(n);
        }
    }
    let (value, put_in) = sim.value_balance();
    if value != put_in {
        return Err(anyhow!("value not conserved: {value} in the system, {put_in} put in (a bug: please report it)"));
    }
    let mut output = sim.finish_with(&exp.outputs.frames).context("building the frames")?;
    let staged = StagedDir::new(&dir)?;
    let written = output.write_parquet(staged.path()).context("writing Parquet")?;
    let mut files = BTreeMap::new();
    for path in &written {
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or_default().to_owned();
        files.insert(name, sha256_file(path)?);
    }
    let manifest = Manifest {
        experiment: exp.name.clone(),
        run_id: run_id(exp, seed),
        seed,
        version: VERSION.to_owned(),
        model: MODEL.to_owned(),
        git_commit: build_commit(),
        command: origin.command.clone(),
        point: origin.point.clone(),
        config: resolved_config(exp),
        files,
        wall_seconds: started.elapsed().as_secs_f64(),
        summary: output.summary.clone(),
    };
    let mut manifest = manifest;
    write_atomic(
        &staged.path().join(cascade_notebooks::layout::MANIFEST),
        &serde_json::to_vec_pretty(&manifest).expect("serialises"),
    )?;
    if reports == Reports::AsConfigured {
        // The reports read the frames and the manifest; the manifest is then
        // written again with their hashes, before the folder appears.
        for path in write_reports(staged.path(), &exp.outputs.for_run().0)? {
            let name = path.strip_prefix(staged.path()).unwrap_or(&path).to_string_lossy().into_owned();
            manifest.files.insert(name, sha256_file(&path)?);
        }
        write_atomic(
            &staged.path().join(cascade_notebooks::layout::MANIFEST),
            &serde_json::to_vec_pretty(&manifest).expect("serialises"),
        )?;
    }
    let dir = staged.commit()?;
    lock.release();
    Ok(match redo {
        Some(reason) => Outcome::Redone(manifest, dir, reason),
        None => Outcome::Ran(manifest, dir),
    })
}
