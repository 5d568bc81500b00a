//! `cascade run` and the default run.

use super::args::Common;
use super::{command_line, interactive, load, out};
use crate::run::{Origin, Outcome, execute_built};
use crate::shipped;
use anyhow::Result;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::path::PathBuf;
use std::process::ExitCode;

/// Runs the embedded default experiment.
pub fn default() -> Result<ExitCode> {
    out(&format!("Running the default experiment ({}); see `cascade --help` for more.\n", shipped::DEFAULT))?;
    run(&Common {
        file: shipped::DEFAULT.into(),
        overrides: Default::default(),
        out: PathBuf::from("results"),
        reuse_any_version: false,
        budget: Default::default(),
    })
}

/// Runs one experiment and prints its summary.
pub fn run(common: &Common) -> Result<ExitCode> {
    let (loaded, sim) = load(common, "this run")?;
    let exp = &loaded.experiment;
    super::ensure_writable(&common.out)?;
    let bar = ProgressBar::with_draw_target(
        Some(exp.ticks),
        if interactive() { ProgressDrawTarget::stderr() } else { ProgressDrawTarget::hidden() },
    );
    bar.set_style(ProgressStyle::with_template("{msg} [{bar:30}] {pos}/{len} ticks, ETA {eta}")?.progress_chars("=> "));
    bar.set_message(exp.name.clone());
    let origin = Origin { command: Some(command_line()), point: None };
    let outcome = execute_built(sim, exp, &common.out, &origin, Some(&bar), common.reuse())?;
    bar.finish_and_clear();
    let m = outcome.manifest();
    let s = &m.summary;
    let status = match &outcome {
        Outcome::Ran(..) => format!("ran in {:.1} s", m.wall_seconds),
        Outcome::Redone(_, _, why) => format!("ran again in {:.1} s: the finished run was {why}", m.wall_seconds),
        Outcome::Skipped(..) => "already finished; frames reused (missing reports written)".to_owned(),
    };
    let mut rows = vec![
        ("experiment", format!("{} (seed {})", m.experiment, m.seed)),
        ("ticks", s.ticks.to_string()),
        ("max drawdown", format!("{:.2}% (trough at tick {})", 100.0 * s.max_drawdown, s.trough_tick)),
        (
            "amplification",
            match s.amplification {
                Some(a) => {
                    format!(
                        "{a:.2} (the mark fell {:.2}%, the fundamental {:.2}%)",
                        100.0 * s.mark_fall,
                        100.0 * s.fundamental_drawdown
                    )
                }
                None => "none (the fundamental did not fall)".into(),
            },
        ),
        ("half recovery", s.half_recovery_ticks.map_or("not within the run".into(), |t| format!("{t} ticks"))),
        ("liquidations", s.n_liquidations.to_string()),
        ("liquidated notional", format!("{:.0} quote", s.liquidated_notional)),
        ("largest cascade", format!("{:.0} quote in one tick", s.largest_cascade)),
        ("spill-over", format!("{:.0} quote liquidated outside the first market", s.spillover_notional)),
        ("spill-over drawdown", format!("{:.2}% (largest outside the first market)", 100.0 * s.spillover_drawdown)),
        ("most rounds in a tick", s.max_rounds.to_string()),
        ("bad debt", format!("{:.2} quote ({:.2} uncovered)", s.bad_debt, s.uncovered_bad_debt)),
        (
            "unrealised bad debt",
            format!(
                "{:.2} quote in {} accounts still open below zero equity",
                s.unrealised_bad_debt, s.insolvent_accounts
            ),
        ),
        ("insurance fund", format!("{:.0} quote", s.insurance_fund)),
    ];
    let share = |x: Option<f64>| x.map(|f| format!("{:.0}%", 100.0 * f));
    if let Some(v) = share(s.value_capital_used) {
        rows.push(("value capital used", format!("{v} of the value traders' limits at most")));
    }
    if let Some(m) = share(s.maker_inventory_used) {
        rows.push(("maker inventory used", format!("{m} of the makers' limits at most")));
    }
    let mut text = String::new();
    for (k, v) in rows {
        text.push_str(&format!("  {k:<22} {v}\n"));
    }
    text.push_str(&format!("{status}; outputs in {}\n", outcome.dir().display()));
    for (report, lacks) in exp.outputs.for_run().1 {
        text.push_str(&format!(
            "  no {report}: it reads {}, which outputs.frames leaves out\n",
            lacks.iter().map(|f| format!("{f}.parquet")).collect::<Vec<_>>().join(", ")
        ));
    }
    out(&text)?;
    Ok(ExitCode::SUCCESS)
}
