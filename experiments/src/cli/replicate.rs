//! `cascade replicate`.

use super::args::ReplicateArgs;
use super::{Invalid, interactive, out, read};
use crate::budget::Estimate;
use crate::load::load_str;
use crate::output::write_atomic;
use crate::replicate::judge::Measured;
use crate::replicate::measure::judge;
use crate::replicate::{REPLICATIONS, get};
use crate::run::Reuse;
use crate::sweep::{aggregate, execute, plan};
use anyhow::{Context, Result};
use cascade_notebooks::charts::{ClaimChart, FitChart, write_claim_chart, write_fit_chart};
use std::fmt::Write;
use std::process::ExitCode;

/// One replication's results.
struct Done {
    name: String,
    source: String,
    figure: String,
    claims: Vec<Measured>,
}

/// Runs the replications, writes the report and its charts, and fails if a
/// claim does.
pub fn replicate(args: &ReplicateArgs) -> Result<ExitCode> {
    let names: Vec<String> = if args.names.is_empty() {
        REPLICATIONS.iter().map(|(n, _)| (*n).to_owned()).collect()
    } else {
        args.names.clone()
    };
    let threads = args.threads.unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    let report_dir = args.out.join("replications");
    super::ensure_writable(&report_dir)?;
    let mut done = Vec::new();
    for name in &names {
        let (label, text) = match get(name) {
            Some(text) => (format!("{name} (shipped replication)"), text.to_owned()),
            None => read(name)?,
        };
        let loaded = load_str(&text, &label, &[]).map_err(|e| anyhow::Error::new(Invalid(e)))?;
        let check = loaded.experiment.check.clone().with_context(|| format!("{label} has no check: section"))?;
        let loaded = if args.quick {
            let overrides: Vec<String> = check.quick.iter().map(|(k, v)| format!("{k}={v}")).collect();
            load_str(&text, &label, &overrides).map_err(|e| anyhow::Error::new(Invalid(e)))?
        } else {
            loaded
        };
        let mut plan = plan(&loaded)?;
        plan.command = Some(super::command_line());
        let what = format!("replication {}", loaded.experiment.name);
        super::within_budget(&args.budget.limits(), &what, &Estimate::sweep(&plan, threads))?;
        eprintln!("{}: {} runs", loaded.experiment.name, plan.runs.len());
        execute(&plan, &args.out, None, threads, interactive(), Reuse::SameModel)?;
        aggregate(&plan, &args.out)?;
        let claims = judge(&plan, &check, &args.out)?;
        for (i, m) in claims.iter().enumerate() {
            if let (Some(fit), Some(row)) = (&m.fit, m.rows.first()) {
                let chart = FitChart {
                    title: format!("{}: {}", loaded.experiment.name, m.claim.says),
                    x_label: m.claim.slope_label.clone().unwrap_or_else(|| "x".into()),
                    y_label: m.claim.statistic.label(),
                    points: fit.points.clone(),
                    line: (fit.intercept, fit.slope),
                    slope_ci95: row.ci95,
                    band: m.claim.band,
                    pass: m.pass(),
                };
                write_fit_chart(&report_dir, &format!("{}_{i}", loaded.experiment.name), &chart)?;
                continue;
            }
            let first = plan.points.first().and_then(|p| p.last()).and_then(|v| v.as_str()).unwrap_or("reference");
            let reference = m.claim.against.as_deref().unwrap_or(first);
            let chart = ClaimChart {
                title: format!("{}: {}", loaded.experiment.name, m.claim.says),
                y_label: if m.claim.paired {
                    format!("{}, minus {reference} (same seed)", m.claim.statistic.label())
                } else {
                    m.claim.statistic.label()
                },
                band: m.claim.band,
                rows: m.rows.iter().map(|r| (short(&r.point), r.mean, r.ci95, r.pass)).collect(),
            };
            write_claim_chart(&report_dir, &format!("{}_{i}", loaded.experiment.name), &chart)?;
        }
        done.push(Done { name: loaded.experiment.name.clone(), source: check.source, figure: check.figure, claims });
    }
    let (md, tex) = report(&done, args.quick);
    write_atomic(&report_dir.join("replication.md"), md.as_bytes())?;
    write_atomic(&report_dir.join("replication.tex"), tex.as_bytes())?;
    let failed: usize = done.iter().flat_map(|d| &d.claims).filter(|m| !m.pass()).count();
    let total: usize = done.iter().map(|d| d.claims.len()).sum();
    out(&md)?;
    out(&format!(
        "\n{} of {total} claims pass; report in {}\n",
        total - failed,
        report_dir.join("replication.md").display()
    ))?;
    Ok(if failed == 0 { ExitCode::SUCCESS } else { ExitCode::from(1) })
}

/// Text for a Markdown table cell: a `|` would end the cell.
fn cell(text: &str) -> String {
    text.replace('|', "\\|")
}

/// A point label without the axis name when the only axis is the variant.
fn short(point: &str) -> String {
    point.strip_prefix("variant = ").filter(|p| !p.contains(", ")).unwrap_or(point).to_owned()
}

fn band_text(band: (Option<f64>, Option<f64>)) -> String {
    match band {
        (Some(lo), Some(hi)) => format!("[{}, {}]", num(lo), num(hi)),
        (Some(lo), None) => format!("≥ {}", num(lo)),
        (None, Some(hi)) => format!("≤ {}", num(hi)),
        (None, None) => "any".into(),
    }
}

fn num(x: f64) -> String {
    cascade_notebooks::tables::num(x)
}

fn latex(s: &str) -> String {
    cascade_notebooks::tables::latex_escape(s)
        .replace('≥', "$\\geq$")
        .replace('≤', "$\\leq$")
        .replace('|', "$|$")
        .replace('−', "-")
}

/// The report, as Markdown and LaTeX: per claim, the source and figure,
/// the target band, the measured mean and interval at each point, and the
/// verdict.
fn report(done: &[Done], quick: bool) -> (String, String) {
    let mut md = String::new();
    let budget = if quick { "the quick budget (`--quick`)" } else { "the default budget" };
    writeln!(md, "# Replications\n\nMeasured by `cascade replicate` at {budget}. A claim passes when the 95% interval of its statistic (Student t over replicates, paired on seeds where it says so) lies inside the target band.\n").expect("to a string");
    writeln!(md, "| replication | source | claim | statistic | where | target | measured [95% CI] | n | verdict |")
        .expect("to a string");
    writeln!(md, "| --- | --- | --- | --- | --- | --- | --- | ---: | --- |").expect("to a string");
    let mut tex = String::from(
        "% Generated by cascade replicate; needs \\usepackage{booktabs} and \\usepackage{graphicx}.\n\
         \\begin{table}[ht]\n\\centering\n\\caption{Replications: target band, measured mean with 95\\% interval, verdict}\n\
         \\setbox0=\\hbox{%\n\\begin{tabular}{lllrrl}\n\\toprule\nReplication & Claim & Where & Target & Measured [95\\% CI] & Verdict \\\\\n\\midrule\n",
    );
    for d in done {
        for m in &d.claims {
            let stat = if m.claim.paired {
                format!("{} (paired difference)", m.claim.statistic.label())
            } else if m.claim.slope.is_some() {
                format!("exponent δ of {} ∝ x^δ", m.claim.statistic.label())
            } else {
                m.claim.statistic.label()
            };
            for r in &m.rows {
                let measured = format!("{} [{}, {}]", num(r.mean), num(r.ci95.0), num(r.ci95.1));
                let verdict = if r.pass { "pass" } else { "FAIL" };
                writeln!(
                    md,
                    "| {} | {}, {} | {} | {} | {} | {} | {measured} | {} | {verdict} |",
                    d.name,
                    cell(&d.source),
                    cell(&d.figure),
                    cell(&m.claim.says),
                    cell(&stat),
                    cell(&short(&r.point)),
                    band_text(m.claim.band),
                    r.n
                )
                .expect("to a string");
                writeln!(
                    tex,
                    "{} & {} & {} & {} & {} & {} \\\\",
                    latex(&d.name),
                    latex(&m.claim.says),
                    latex(&short(&r.point)),
                    latex(&band_text(m.claim.band)),
                    latex(&measured),
                    verdict
                )
                .expect("to a string");
            }
        }
    }
    tex.push_str("\\bottomrule\n\\end{tabular}}%\n\\ifdim\\wd0>\\linewidth \\resizebox{\\linewidth}{!}{\\box0}\\else\\box0\\fi\n\\end{table}\n");
    (md, tex)
}
