//! The `cascade` command line as a library: [`main`] parses the process's
//! arguments and runs the command, with every population kind registered
//! so far (see [`crate::spec::population::register`]). A crate that adds
//! its own kinds registers them and calls [`main`] from its own binary, and
//! its `cascade` has every command: run, sweep, game, replicate, validate,
//! schema, `--set` and the manifests (see `experiments/examples/`).
//!
//! `args.rs` holds the arguments; the commands are one file each, and this
//! file holds what they share.

mod args;
mod bench;
mod game;
mod list;
mod merge;
mod migrate;
mod replicate;
mod report;
mod reproduce;
mod run;
mod schema;
mod sweep;
mod validate;

use crate::budget::{Estimate, Limits};
use crate::load::{LoadError, Loaded, load_str};
use crate::shipped;
use anyhow::{Context, Result};
use args::{Cli, Command, Common};
use cascade_agents::framework::Simulation;
use std::io::Write;
use std::process::ExitCode;

/// Runs `cascade` on the process's arguments, and gives its exit code:
/// 0 when done, 2 for input that is not a valid experiment (as `validate`
/// says), 1 for anything that failed while running.
pub fn main() -> ExitCode {
    main_from(std::env::args_os())
}

/// Runs `cascade` on `args` (the first is the program's name), as [`main`]
/// does. A command line that does not parse prints clap's message and
/// exits the process, as a program would.
pub fn main_from<I, T>(args: I) -> ExitCode
where
    I: IntoIterator<Item = T>,
    T: Into<std::ffi::OsString> + Clone,
{
    // An exact amount leaving the i64 range unwinds with an `Overflow`,
    // which the run turns into an error naming the quantity and the tick;
    // only other panics are printed as panics.
    cascade_agents::framework::core::units::quiet_overflow_reports();
    let cli = <Cli as clap::Parser>::parse_from(args);
    match run(cli) {
        Ok(code) => code,
        Err(e) => {
            if is_broken_pipe(&e) {
                return ExitCode::SUCCESS;
            }
            eprintln!("error: {e:#}");
            if is_invalid(&e) { ExitCode::from(2) } else { ExitCode::FAILURE }
        }
    }
}

/// Dispatches a parsed command line.
fn run(cli: Cli) -> Result<ExitCode> {
    match cli.command {
        None => run::default(),
        Some(Command::Run(args)) => run::run(&args.common),
        Some(Command::Sweep(args)) => sweep::sweep(&args),
        Some(Command::Game(args)) => game::game(&args),
        Some(Command::Validate { files }) => validate::validate(&files),
        Some(Command::Schema) => schema::schema(),
        Some(Command::Migrate { files, stdout }) => migrate::migrate(&files, stdout),
        Some(Command::List) => list::list(),
        Some(Command::Merge { dir }) => merge::merge(&dir),
        Some(Command::Plot { dir, metrics, x, log_x }) => {
            report::plot(&dir, &cascade_notebooks::charts::SweepCharts { metrics, x, log_x })
        }
        Some(Command::Notebook { dir }) => report::notebook(&dir),
        Some(Command::Table { dir, metrics }) => report::table(&dir, &metrics),
        Some(Command::Bench(args)) => bench::bench(&args),
        Some(Command::Replicate(args)) => replicate::replicate(&args),
        Some(Command::Reproduce { path, runs, keep }) => {
            reproduce::reproduce(&path, runs.map(|n| n as usize), keep.as_deref())
        }
    }
}

/// Whether an error is an invalid experiment, or one over the resource
/// limits (exit code 2).
fn is_invalid(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.downcast_ref::<Invalid>().is_some()
            || c.downcast_ref::<OverBudget>().is_some()
            || c.downcast_ref::<InvalidPlan>().is_some()
    })
}

/// A sweep or game whose plan the file makes impossible (a point that is
/// not a valid experiment, a reduction that does not divide, too many
/// runs): exit code 2, as `validate` refuses it.
#[derive(Debug)]
pub struct InvalidPlan(pub anyhow::Error);

impl std::fmt::Display for InvalidPlan {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:#}", self.0)
    }
}

impl std::error::Error for InvalidPlan {}

/// `e` as an [`InvalidPlan`].
pub fn invalid_plan(e: anyhow::Error) -> anyhow::Error {
    anyhow::Error::new(InvalidPlan(e))
}

/// Refuses a plan whose estimate is over the limits, before anything runs.
pub fn within_budget(limits: &Limits, what: &str, estimate: &Estimate) -> Result<()> {
    limits.check(what, estimate).map_err(|m| anyhow::Error::new(OverBudget(m)))
}

/// A plan over the resource limits; printed as is.
#[derive(Debug)]
pub struct OverBudget(pub String);

impl std::fmt::Display for OverBudget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.0)
    }
}

impl std::error::Error for OverBudget {}

/// Checks that `out` can be written, before any simulation runs: it is
/// created if missing and a file is written in it and removed.
pub fn ensure_writable(out: &std::path::Path) -> Result<()> {
    let probe = out.join(format!(".cascade-write-check.{}", std::process::id()));
    std::fs::create_dir_all(out)
        .and_then(|()| std::fs::write(&probe, b""))
        .and_then(|()| std::fs::remove_file(&probe))
        .with_context(|| format!("the output folder {} is not writable (choose another with --out)", out.display()))
}

/// Whether an error is a closed stdout, which is not a failure.
fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|c| c.downcast_ref::<std::io::Error>().is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe))
}

/// Writes to stdout.
pub fn out(text: &str) -> Result<()> {
    let mut stdout = std::io::stdout().lock();
    stdout.write_all(text.as_bytes())?;
    stdout.flush()?;
    Ok(())
}

/// Reads an experiment file, or a shipped experiment by name. A UTF-8
/// byte-order mark is dropped; text in another encoding is an error that
/// says so.
pub fn read(file: &str) -> Result<(String, String)> {
    /// No experiment file comes near this size; a larger one (or a device
    /// such as `/dev/zero`) is refused before it is read whole.
    const MAX_BYTES: u64 = 16 << 20;
    let read = std::fs::File::open(file).and_then(|f| {
        use std::io::Read;
        let mut bytes = Vec::new();
        f.take(MAX_BYTES + 1).read_to_end(&mut bytes)?;
        Ok(bytes)
    });
    if read.as_ref().is_ok_and(|b| b.len() as u64 > MAX_BYTES) {
        anyhow::bail!("{file}: larger than {} MiB; an experiment file is a few kB", MAX_BYTES >> 20);
    }
    match read {
        Ok(bytes) => {
            let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(&bytes);
            match String::from_utf8(bytes.to_vec()) {
                Ok(text) => Ok((file.to_owned(), text)),
                Err(e) => {
                    let utf16 = bytes.starts_with(b"\xFF\xFE") || bytes.starts_with(b"\xFE\xFF");
                    let at = e.utf8_error().valid_up_to();
                    Err(if utf16 {
                        anyhow::anyhow!("{file}: the text is UTF-16; save it as UTF-8")
                    } else {
                        anyhow::anyhow!(
                            "{file}: the text is not UTF-8 at byte {at} (Latin-1 or another 8-bit encoding?); save it as UTF-8"
                        )
                    })
                }
            }
        }
        Err(e) => match shipped::get(file) {
            Some(text) => Ok((format!("{file} (shipped)"), text.to_owned())),
            None => Err(e)
                .with_context(|| format!("reading {file} (not a file, nor a shipped experiment: see `cascade list`)")),
        },
    }
}

/// Loads an experiment with the command line's overrides, checks one run
/// of it (`what`, for messages) against the resource limits, and builds
/// its world (returned at tick 0, for `run` to run).
pub fn load(common: &Common, what: &str) -> Result<(Loaded, Simulation), anyhow::Error> {
    let (label, text) = read(&common.file)?;
    let o = &common.overrides;
    let mut overrides = o.set.clone();
    if let Some(seed) = o.seed {
        overrides.push(format!("seed={seed}"));
    }
    if let Some(ticks) = o.ticks {
        overrides.push(format!("ticks={ticks}"));
    }
    let loaded = load_str(&text, &label, &overrides).map_err(|e| anyhow::Error::new(Invalid(e)))?;
    eprint!("{}", crate::load::warnings_text(&label, &loaded.warnings));
    strategies(&loaded, &text, &label).map_err(|e| anyhow::Error::new(Invalid(e)))?;
    // Before the world is built: a world over the limits is not built.
    within_budget(&common.budget.limits(), what, &Estimate::run(&loaded.experiment))?;
    // The file's own world is built before anything runs, so that a
    // reference that does not resolve is refused at its line, exit code 2,
    // as `validate` refuses it.
    let sim = crate::load::built(&loaded.experiment, &text, &label, "").map_err(|e| anyhow::Error::new(Invalid(e)))?;
    Ok((loaded, sim))
}

/// Refuses a game whose strategies set bad values, at their lines.
pub fn strategies(loaded: &Loaded, text: &str, label: &str) -> Result<(), LoadError> {
    if loaded.experiment.game.is_none() {
        return Ok(());
    }
    let locator = crate::locate::Locator::new(text);
    let mut diagnostics = crate::game::plan::check_strategies(loaded, &locator);
    diagnostics.sort_by_key(|d| d.position);
    if diagnostics.is_empty() { Ok(()) } else { Err(LoadError { file: label.to_owned(), diagnostics }) }
}

/// An experiment that failed to load; printed as is.
#[derive(Debug)]
pub struct Invalid(pub LoadError);

impl std::fmt::Display for Invalid {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.0)
    }
}

impl std::error::Error for Invalid {}

/// Whether stderr is a terminal (progress bars only then).
pub fn interactive() -> bool {
    use std::io::IsTerminal;
    std::io::stderr().is_terminal()
}

/// The command line, for manifests.
pub fn command_line() -> String {
    let quoted = |a: String| {
        if !a.is_empty() && a.chars().all(|c| c.is_ascii_alphanumeric() || "_-./=:,+@%".contains(c)) {
            a
        } else {
            format!("'{}'", a.replace('\'', "'\\''"))
        }
    };
    std::iter::once("cascade".to_owned()).chain(std::env::args().skip(1).map(quoted)).collect::<Vec<_>>().join(" ")
}
