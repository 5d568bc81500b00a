//! `cascade game`.

use super::args::SweepArgs;
use super::{interactive, load, out};
use crate::budget::Estimate;
use crate::game::adaptive::{Runner, sample};
use crate::game::aggregate::{METRICS, VariantResult, analyse, mixture_label};
use crate::game::frames::write;
use crate::game::{GamePlan, game_dir, plan};
use crate::output::write_atomic;
use crate::run::write_reports;
use crate::sweep::execute_runs;
use anyhow::{Result, bail};
use std::path::Path;
use std::process::ExitCode;

/// Plans and runs (this shard of) a game and, unless sharded, analyses it.
pub fn game(args: &SweepArgs) -> Result<ExitCode> {
    let (loaded, _) = load(&args.common, "a run of this game")?;
    let threads = args.threads.unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    let limits = args.common.budget.limits();
    let one = Estimate::run(&loaded.experiment);
    super::within_budget(&limits, "this game", &Estimate { concurrent: threads as u64, ..one })?;
    super::ensure_writable(&args.common.out)?;
    let adaptive = loaded.experiment.game.as_ref().is_some_and(|g| g.adaptive.is_some());
    if adaptive && args.shard.is_some() {
        bail!("game.adaptive decides what to run from what ran: it cannot be sharded (leave out --shard)");
    }
    let (plan, done) = if adaptive {
        let command = super::command_line();
        let runner = Runner {
            out: &args.common.out,
            threads,
            progress: interactive(),
            reuse: args.common.reuse(),
            command: Some(&command),
        };
        let (plan, done) = sample(&loaded, runner)?;
        // Only now is it known what ran.
        let dir = game_dir(&args.common.out, &plan);
        write_atomic(
            &dir.join(cascade_notebooks::layout::GAME_PLAN),
            &serde_json::to_vec_pretty(&plan).expect("serialises"),
        )?;
        (plan, done)
    } else {
        let mut plan = plan(&loaded).map_err(super::invalid_plan)?;
        plan.runs.command = Some(super::command_line());
        super::within_budget(&limits, "this game", &Estimate::sweep(&plan.runs, threads))?;
        let dir = game_dir(&args.common.out, &plan);
        write_atomic(
            &dir.join(cascade_notebooks::layout::GAME_PLAN),
            &serde_json::to_vec_pretty(&plan).expect("serialises"),
        )?;
        let done = execute_runs(&plan.runs, &args.common.out, args.shard, threads, interactive(), args.common.reuse())?;
        (plan, done)
    };
    let dir = game_dir(&args.common.out, &plan);
    let reduced = plan.spec.reduction().map_err(anyhow::Error::msg)?.reduced.profiles().len();
    let mut text = format!(
        "game {} of {}: {} variants × {} profiles ({} in the reduced game), {} runs; ran {}, already finished {}\n",
        plan.game_id,
        plan.runs.experiment,
        plan.variants.len(),
        plan.profiles.len(),
        reduced,
        plan.runs.runs.len(),
        done.ran,
        done.reused + done.identical,
    );
    if adaptive {
        let full = plan.spec.reduction().map_err(anyhow::Error::msg)?.full_profiles().len();
        text.push_str(&format!(
            "adaptive sampling ran {} (variant, profile) cells of the {} a complete game needs\n",
            plan.cells.len(),
            full * plan.variants.len()
        ));
    }
    if let Some(shard) = args.shard {
        text.push_str(&shard.merge_hint(&dir));
    } else {
        text.push_str(&finish(&plan, &args.common.out)?);
    }
    out(&text)?;
    Ok(ExitCode::SUCCESS)
}

/// Analyses a game whose runs are all finished, writes its files, and
/// returns the summary to print.
pub fn finish(plan: &GamePlan, out: &Path) -> Result<String> {
    let analysis = analyse(plan, out)?;
    let written = write(plan, out, &analysis)?;
    let mut text = summary(&analysis.variants, payoff_unit(&plan.spec.payoff));
    text.push_str(&contrasts(&analysis));
    let written: Vec<String> = written.iter().map(|p| p.display().to_string()).collect();
    text.push_str(&format!("wrote {}\n", written.join(", ")));
    let dir = game_dir(out, plan);
    let outputs = plan.runs.configs.first().map(|c| c.outputs.clone()).unwrap_or_default();
    let reports = write_reports(&dir, &outputs)?;
    if !reports.is_empty() {
        text.push_str(&format!("and {} charts, notebook and tables in {}\n", reports.len(), dir.display()));
    }
    Ok(text)
}

/// The unit of a payoff, and so of a regret: `pnl` is read in quote,
/// `pnl_per_capital` is a fraction of the deposit, and the other payoffs
/// are `agents.parquet` columns as written (see docs/frames.md).
fn payoff_unit(payoff: &str) -> &'static str {
    match payoff {
        "pnl" => "quote",
        "pnl_per_capital" => "of the deposit",
        "deposited" | "final_equity" | "fees_paid" => "micros",
        "open_qty" => "lots",
        "liquidation_tick" => "ticks",
        _ => "",
    }
}

/// Each variant against the first at equilibrium, in max drawdown.
fn contrasts(analysis: &crate::game::aggregate::Analysis) -> String {
    let Some(reference) = analysis.variants.first() else { return String::new() };
    let drawdown = METRICS.iter().position(|m| *m == "max_drawdown").expect("a metric");
    let mut text = String::new();
    for c in &analysis.contrasts {
        let (lo, hi) = c.ci[drawdown];
        text.push_str(&format!(
            "{} equilibrium {} against {} equilibrium {}: max drawdown {:+.4} (95% CI {:+.4} to {:+.4})\n",
            analysis.variants[c.variant].name,
            c.equilibrium,
            reference.name,
            c.reference_equilibrium,
            c.difference[drawdown],
            lo,
            hi
        ));
    }
    if !text.is_empty() {
        text.insert_str(0, "\nvariants at equilibrium (contrasts.parquet has every metric):\n");
    }
    text
}

/// The equilibria as a plain-text table; `unit` is the payoff's.
fn summary(results: &[VariantResult], unit: &str) -> String {
    let unit = if unit.is_empty() { String::new() } else { format!(" {unit}") };
    let mut text = String::new();
    let drawdown = METRICS.iter().position(|m| *m == "max_drawdown").expect("a metric");
    for res in results {
        text.push_str(&format!(
            "\n{}: {} equilibria (baseline, every role on its first strategy: max drawdown {:.4})\n",
            res.name,
            res.equilibria.len(),
            res.baseline[drawdown]
        ));
        for (i, e) in res.equilibria.iter().enumerate() {
            let (lo, hi) = res.regret_ci[i];
            let (dlo, dhi) = res.diff_ci[i][drawdown];
            text.push_str(&format!(
                "  {i} {:5} {}{}{}\n      regret {:.4}{unit} (95% CI {:.4} to {:.4}); max drawdown {:.4}, vs baseline {:+.4} (95% CI {:+.4} to {:+.4})\n",
                if e.profile.is_some() { "pure" } else { "mixed" },
                mixture_label(&res.game.structure, &e.mixture),
                if e.connected { " (one of a connected set: payoffs tie)" } else { "" },
                if e.within_tolerance {
                    ""
                } else {
                    " (NOT an equilibrium: no candidate came within the tolerance; this one came closest)"
                },
                e.regret,
                lo,
                hi,
                res.metrics[i][drawdown],
                res.metrics[i][drawdown] - res.baseline[drawdown],
                dlo,
                dhi,
            ));
        }
    }
    text
}
