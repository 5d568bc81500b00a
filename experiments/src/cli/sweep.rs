//! `cascade sweep`.

use super::args::SweepArgs;
use super::{interactive, load, out};
use crate::budget::Estimate;
use crate::run::write_reports;
use crate::sweep::{aggregate, execute, plan, sweep_dir};
use anyhow::Result;
use std::process::ExitCode;

/// Plans, runs (this shard of) and, unless sharded, aggregates a sweep.
pub fn sweep(args: &SweepArgs) -> Result<ExitCode> {
    let (loaded, _) = load(&args.common, "a run of this sweep")?;
    let mut plan = plan(&loaded).map_err(super::invalid_plan)?;
    plan.command = Some(super::command_line());
    let threads = args.threads.unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    super::within_budget(&args.common.budget.limits(), "this sweep", &Estimate::sweep(&plan, threads))?;
    super::ensure_writable(&args.common.out)?;
    let done = execute(&plan, &args.common.out, args.shard, threads, interactive(), args.common.reuse())?;
    let dir = sweep_dir(&args.common.out, &plan);
    let identical = match done.identical {
        0 => String::new(),
        n => format!("; {n} identical to another run of the sweep, made once"),
    };
    let mut text = format!(
        "sweep {} of {}: {} points, {} runs; ran {}, already finished {}{identical}\n",
        plan.sweep_id,
        plan.experiment,
        plan.points.len(),
        plan.runs.len(),
        done.ran,
        done.reused,
    );
    if let Some((index, why)) = done.redone.first() {
        text.push_str(&format!(
            "{} finished runs could not be reused and ran again (run {index}: {why})\n",
            done.redone.len()
        ));
    }
    if let Some(shard) = args.shard {
        text.push_str(&shard.merge_hint(&dir));
    } else {
        let frames = aggregate(&plan, &args.common.out)?;
        let frames: Vec<String> = frames.iter().map(|p| p.display().to_string()).collect();
        text.push_str(&format!("wrote {}\n", frames.join(", ")));
        let reports = write_reports(&dir, &loaded.experiment.outputs)?;
        if !reports.is_empty() {
            text.push_str(&format!("and {} charts, notebook and tables in {}\n", reports.len(), dir.display()));
        }
    }
    out(&text)?;
    Ok(ExitCode::SUCCESS)
}
