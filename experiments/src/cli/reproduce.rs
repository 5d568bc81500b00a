//! `cascade reproduce`: makes a run again from what its manifest records
//! (the resolved configuration, in the integer units, and the run's own
//! seed) into a scratch folder, and compares every file's SHA-256 with the
//! manifest's and with the file on disk. A sweep's, game's or
//! replication's folder reproduces its runs.

use super::{interactive, out};
use crate::load::from_tree;
use crate::locate::Locator;
use crate::output::sha256_file;
use crate::run::{self, Manifest, Origin, Reports, Reuse};
use anyhow::{Context, Result, bail};
use cascade_notebooks::layout::{Folder, MANIFEST, kind};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde_yaml::Value;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// Reproduces the run, sweep or game at `path` (at most `limit` runs of a
/// sweep or game); exit code 1 if any file differs. The scratch folder is
/// `keep`, kept, or a temporary one, removed.
pub fn reproduce(path: &Path, limit: Option<usize>, keep: Option<&Path>) -> Result<ExitCode> {
    let path = if path.file_name().is_some_and(|n| n == MANIFEST) { path.parent().unwrap_or(path) } else { path };
    let runs = runs_of(path)?;
    let chosen: Vec<PathBuf> = match limit {
        Some(n) => spread(&runs, n),
        None => runs.clone(),
    };
    let scratch = match keep {
        Some(k) => k.to_path_buf(),
        None => std::env::temp_dir().join(format!("cascade-reproduce-{}", std::process::id())),
    };
    let bar = ProgressBar::with_draw_target(
        Some(chosen.len() as u64),
        if interactive() && chosen.len() > 1 { ProgressDrawTarget::stderr() } else { ProgressDrawTarget::hidden() },
    );
    bar.set_style(
        ProgressStyle::with_template("reproducing [{bar:30}] {pos}/{len} runs, ETA {eta}")?.progress_chars("=> "),
    );
    let mut report = String::new();
    let mut differ = 0;
    for dir in &chosen {
        let checks = reproduce_run(dir, &scratch);
        bar.inc(1);
        match checks {
            Ok(files) => {
                let bad: Vec<&Check> = files.iter().filter(|c| !c.same()).collect();
                differ += usize::from(!bad.is_empty());
                let verdict = if bad.is_empty() { "reproduced" } else { "DIFFERS" };
                report.push_str(&format!("{verdict}: {} ({} files)\n", dir.display(), files.len()));
                for c in &files {
                    report.push_str(&format!("  {:<10} {}\n", c.status(), c.name));
                }
            }
            Err(e) => {
                differ += 1;
                report.push_str(&format!("DIFFERS: {}: {e:#}\n", dir.display()));
            }
        }
    }
    bar.finish_and_clear();
    if keep.is_none() {
        let _ = std::fs::remove_dir_all(&scratch);
    }
    let of = if chosen.len() < runs.len() { format!(" (of {})", runs.len()) } else { String::new() };
    report.push_str(&format!(
        "{} of {} runs{of} reproduced byte for byte{}\n",
        chosen.len() - differ,
        chosen.len(),
        keep.map_or_else(String::new, |k| format!("; the new runs are in {}", k.display()))
    ));
    out(&report)?;
    Ok(if differ == 0 { ExitCode::SUCCESS } else { ExitCode::from(1) })
}

/// At most `n` of `runs`, spread evenly, first and last included.
fn spread(runs: &[PathBuf], n: usize) -> Vec<PathBuf> {
    if n >= runs.len() {
        return runs.to_vec();
    }
    if n <= 1 {
        return vec![runs[0].clone()];
    }
    (0..n).map(|i| runs[i * (runs.len() - 1) / (n - 1)].clone()).collect()
}

/// The run folders of a run, sweep or game folder.
fn runs_of(path: &Path) -> Result<Vec<PathBuf>> {
    let plan = match kind(path) {
        Some(Folder::Run) => return Ok(vec![path.to_path_buf()]),
        Some(Folder::Sweep) => crate::sweep::read_plan(path)?,
        Some(Folder::Game) => crate::game::plan::read_plan(path)?.runs,
        None => bail!(
            "{} is not a run, sweep or game folder (none of manifest.json, plan.json, game.json is in it)",
            path.display()
        ),
    };
    // <out>/<name>/{sweeps,games}/<id>: the runs are in <out>/<name>/.
    let name_dir = path.parent().and_then(Path::parent).context("a sweep folder is <out>/<name>/sweeps/<id>")?;
    let mut seen = std::collections::BTreeSet::new();
    Ok(plan.runs.iter().filter(|r| seen.insert(r.run_id.clone())).map(|r| name_dir.join(&r.run_id)).collect())
}

/// One file: its hash as recorded, on disk, and reproduced.
struct Check {
    name: String,
    recorded: String,
    on_disk: Option<String>,
    reproduced: Option<String>,
}

impl Check {
    fn same(&self) -> bool {
        self.on_disk.as_deref() == Some(self.recorded.as_str()) && self.reproduced.as_deref() == Some(&self.recorded)
    }

    fn status(&self) -> &'static str {
        match (&self.on_disk, &self.reproduced) {
            _ if self.same() => "same",
            (None, _) => "missing",
            (Some(d), _) if *d != self.recorded => "altered",
            (_, None) => "not made",
            _ => "differs",
        }
    }
}

/// Makes the run of `dir` again under `scratch` and compares its files.
fn reproduce_run(dir: &Path, scratch: &Path) -> Result<Vec<Check>> {
    let m: Manifest = serde_json::from_str(
        &std::fs::read_to_string(dir.join(MANIFEST))
            .with_context(|| format!("reading {}", dir.join(MANIFEST).display()))?,
    )
    .context("parsing the manifest")?;
    if m.model != run::MODEL {
        eprintln!(
            "note: {} was made by model {}, this cascade is model {}: differences are expected where the model changed",
            dir.display(),
            if m.model.is_empty() { "(not recorded)" } else { &m.model },
            run::MODEL
        );
    }
    let mut tree: Value = serde_yaml::to_value(&m.config).context("reading the recorded configuration")?;
    if let Value::Mapping(map) = &mut tree {
        map.insert("units".into(), "exact".into());
    }
    let loaded = from_tree(tree, &Locator::default()).map_err(|diags| {
        let text: Vec<String> = diags.iter().map(|d| format!("{}: {}", d.path, d.message)).collect();
        anyhow::anyhow!("the recorded configuration does not load: {}", text.join("; "))
    })?;
    // Reports (charts, notebook, tables) are made again only if the run
    // has them.
    let reports = if m.files.keys().any(|k| !k.ends_with(".parquet")) { Reports::AsConfigured } else { Reports::None };
    let origin = Origin { command: m.command.clone(), point: m.point.clone() };
    let made = run::execute(&loaded.experiment, m.seed, scratch, &origin, None, reports, Reuse::SameModel)?;
    let new = made.manifest();
    let mut checks = Vec::new();
    for (name, recorded) in &m.files {
        let on_disk = sha256_file(&dir.join(name)).ok();
        checks.push(Check {
            name: name.clone(),
            recorded: recorded.clone(),
            on_disk,
            reproduced: new.files.get(name).cloned(),
        });
    }
    Ok(checks)
}
