//! `cascade bench`: where the time of one run goes. Builds the experiment
//! (setup: markets, accounts, agents, seeded positions), runs its ticks,
//! builds the frames and writes them as Parquet to a temporary folder, and
//! prints each part's median wall time over the repeats, with the tick cost
//! per account, and the memory the run holds (on Linux). Nothing is written
//! under `results/`.

use super::args::{BenchArgs, Common};
use super::{load, out};
use anyhow::{Context, Result, anyhow};
use cascade_agents::leveraged::LeveragedParams;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

/// The median of `xs` (sorted in place).
fn median(xs: &mut [Duration]) -> Duration {
    xs.sort();
    xs[xs.len() / 2]
}

/// A field of `/proc/self/status` (`VmRSS`, `VmHWM`), bytes; `None` where
/// there is no such file.
fn status_bytes(field: &str) -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with(field) && l[field.len()..].starts_with(':'))?;
    let kib: u64 = line[field.len() + 1..].trim().trim_end_matches("kB").trim().parse().ok()?;
    Some(kib * 1024)
}

/// Runs `cascade bench`.
pub fn bench(args: &BenchArgs) -> Result<ExitCode> {
    let mut common = Common {
        file: args.file.clone(),
        overrides: args.overrides.clone(),
        out: PathBuf::from("results"),
        reuse_any_version: false,
        budget: args.budget.clone(),
    };
    if let Some(n) = args.n {
        let (loaded, _) = load(&common, "this run")?;
        let name = loaded
            .experiment
            .populations
            .iter()
            .find_map(|p| p.get::<LeveragedParams>().map(|l| l.name.clone()))
            .ok_or_else(|| {
                anyhow!(
                    "--n sets the size of the first leveraged population: {} has no leveraged population",
                    args.file
                )
            })?;
        common.overrides.set.push(format!("populations.{name}.count={n}"));
    }
    let exp = load(&common, "this benchmark")?.0.experiment;
    let scratch = std::env::temp_dir().join(format!("cascade-bench-{}", std::process::id()));
    let (mut setup, mut ticks, mut frames, mut parquet) = (vec![], vec![], vec![], vec![]);
    let mut accounts = 0;
    // Resident memory before the first build and after its ticks: what the
    // run's state (markets, accounts, agents, index, records) holds.
    let (before, mut held) = (status_bytes("VmRSS"), None);
    for _ in 0..args.repeat.max(1) {
        #[allow(clippy::disallowed_methods, reason = "wall time is what a benchmark measures")]
        let t0 = Instant::now();
        let mut sim = exp.build(exp.seed).map_err(|e| anyhow!("{}: {e}", exp.name))?;
        let t1 = t0.elapsed();
        sim.try_run(exp.ticks).map_err(|e| anyhow!("{}: {e}", exp.name))?;
        let t2 = t0.elapsed();
        accounts = sim.ledger().accounts.len();
        held = held.or_else(|| Some(status_bytes("VmRSS")?.saturating_sub(before?)));
        let mut output = sim.finish_with(&exp.outputs.frames).context("building the frames")?;
        let t3 = t0.elapsed();
        std::fs::create_dir_all(&scratch)?;
        output.write_parquet(&scratch).context("writing Parquet")?;
        let t4 = t0.elapsed();
        std::fs::remove_dir_all(&scratch)?;
        setup.push(t1);
        ticks.push(t2 - t1);
        frames.push(t3 - t2);
        parquet.push(t4 - t3);
    }
    let (s, t, f, p) = (median(&mut setup), median(&mut ticks), median(&mut frames), median(&mut parquet));
    let per_tick = t.as_secs_f64() / exp.ticks.max(1) as f64;
    let account_ticks = accounts as f64 * exp.ticks as f64 / t.as_secs_f64().max(1e-9);
    let secs = |d: Duration| format!("{:>9.3} s", d.as_secs_f64());
    let mut text = format!(
        "bench {} (seed {}): {} accounts, {} ticks; median of {} repeats\n",
        exp.name,
        exp.seed,
        accounts,
        exp.ticks,
        args.repeat.max(1)
    );
    text.push_str(&format!("  setup       {}   markets, accounts, agents and seeded positions\n", secs(s)));
    text.push_str(&format!(
        "  tick loop   {}   {:.1} µs a tick; {:.1}M account-ticks a second\n",
        secs(t),
        per_tick * 1e6,
        account_ticks / 1e6
    ));
    text.push_str(&format!("  frames      {}   building the frames and the summary\n", secs(f)));
    text.push_str(&format!("  parquet     {}   writing them (to a temporary folder)\n", secs(p)));
    text.push_str(&format!("  total       {}\n", secs(s + t + f + p)));
    if let (Some(held), Some(peak)) = (held, status_bytes("VmHWM")) {
        let mb = |b: u64| b as f64 / 1e6;
        text.push_str(&format!(
            "  memory      {:>7.1} MB   held after the ticks ({:.0} B an account); peak {:.1} MB\n",
            mb(held),
            held as f64 / accounts.max(1) as f64,
            mb(peak)
        ));
    }
    out(&text)?;
    Ok(ExitCode::SUCCESS)
}
