//! Paper tables of a run's or a sweep's summary metrics, and of a game's
//! equilibria, as LaTeX
//! (booktabs) and Markdown. For a sweep, each point's metrics are given as
//! mean ± half-width of the 95% confidence interval, from `points.parquet`;
//! a sweep with variants also gets the paired differences from its
//! reference variant, from `paired.parquet`.

use crate::frames::{self, ReadError, f64s};
use std::path::{Path, PathBuf};

/// The metrics tabulated, with their headings.
pub const METRICS: [(&str, &str); 7] = [
    ("max_drawdown", "Max drawdown (fraction)"),
    ("n_liquidations", "Liquidations"),
    ("liquidated_notional", "Liquidated notional (quote)"),
    ("largest_cascade", "Largest cascade (quote per tick)"),
    ("bad_debt", "Bad debt (quote)"),
    ("uncovered_bad_debt", "Uncovered bad debt (quote)"),
    ("unrealised_bad_debt", "Unrealised bad debt (quote)"),
];

/// Metrics tabulated only when some value is not zero: a single-market
/// run has no spill-over, and a run without a backstop no socialised loss.
pub const OPTIONAL_METRICS: [(&str, &str); 6] = [
    ("spillover_notional", "Spill-over notional (quote)"),
    ("spillover_drawdown", "Spill-over drawdown (fraction)"),
    ("fund_used", "Bad debt paid by the fund (quote)"),
    ("fund_drawdown", "Largest fall of the fund (quote)"),
    ("socialized_loss", "Socialised loss (quote)"),
    ("adl_notional", "ADL notional (quote)"),
];

/// The metrics of a table: the `chosen` ones (summary columns, by name),
/// or `METRICS` and those of `OPTIONAL_METRICS` whose column `suffix` in
/// `df` has a value other than zero. A chosen name that is not a column is
/// refused, with the names there are.
fn metrics_of(
    df: &polars::prelude::DataFrame,
    suffix: &str,
    path: &Path,
    chosen: &[String],
) -> Result<Vec<(String, String)>, ReadError> {
    let known = METRICS.iter().chain(&OPTIONAL_METRICS);
    if !chosen.is_empty() {
        return chosen
            .iter()
            .map(|c| {
                if df.column(&format!("{c}{suffix}")).is_err() {
                    let names: Vec<String> = df
                        .get_column_names()
                        .iter()
                        .filter_map(|n| n.strip_suffix(suffix).map(str::to_owned))
                        .collect();
                    return Err(ReadError::Frame {
                        path: path.to_owned(),
                        message: format!("no metric {c:?}; the metrics are {names:?}"),
                    });
                }
                let label = known.clone().find(|(col, _)| col == c).map_or(c.as_str(), |(_, l)| l);
                Ok((c.clone(), label.to_owned()))
            })
            .collect();
    }
    let shown = |col: &str| {
        f64s(df, &format!("{col}{suffix}"), path).is_ok_and(|v| v.iter().any(|x| x.is_some_and(|x| x != 0.0)))
    };
    Ok(METRICS
        .into_iter()
        .chain(OPTIONAL_METRICS.into_iter().filter(|(col, _)| shown(col)))
        .map(|(c, l)| (c.to_owned(), l.to_owned()))
        .collect())
}

/// Formats a number with four significant digits, plainly (no exponent
/// below 1e9), so that a reader and a test read the same value.
pub fn num(x: f64) -> String {
    if !x.is_finite() {
        return "--".to_owned();
    }
    if x == 0.0 {
        return "0".to_owned();
    }
    // Decimals for four significant digits, between 0 and 8.
    let magnitude = x.abs().log10().floor();
    let decimals: usize = (0..=8_u8).find(|d| f64::from(*d) >= 3.0 - magnitude).map_or(8, usize::from);
    format!("{x:.decimals$}")
}

/// A mean and the half-width of its confidence interval, each with the
/// digits the interval supports: the half-width to two significant
/// digits, and the mean to the same decimal place (`0.10200 ± 0.00079`,
/// not `0.1020 ± 0.0007931`). Without a usable half-width, [`num`].
pub fn with_ci(mean: f64, half: f64) -> (String, String) {
    if !(half.is_finite() && half > 0.0 && mean.is_finite()) {
        return (num(mean), if half == 0.0 { "0".to_owned() } else { "--".to_owned() });
    }
    // The place of the half-width's second significant digit.
    #[allow(clippy::cast_possible_truncation, reason = "the log10 of a finite positive f64 is within ±400")]
    let place = half.log10().floor() as i32 - 1;
    if place >= 0 {
        let unit = 10_f64.powi(place);
        let round = |x: f64| format!("{:.0}", (x / unit).round() * unit);
        (round(mean), round(half))
    } else {
        let decimals = usize::try_from(-place).unwrap_or(0).min(12);
        (format!("{mean:.decimals$}"), format!("{half:.decimals$}"))
    }
}

/// `s` as LaTeX text: its special characters escaped.
pub fn latex_escape(s: &str) -> String {
    s.replace('\\', "\\textbackslash{}")
        .replace('Δ', "$\\Delta$")
        .replace('_', "\\_")
        .replace('%', "\\%")
        .replace('&', "\\&")
        .replace('#', "\\#")
}

/// A table: headings and rows of cells, each cell as (LaTeX, Markdown).
struct Table {
    caption: String,
    headings: Vec<String>,
    rows: Vec<Vec<(String, String)>>,
}

impl Table {
    fn latex(&self) -> String {
        let cols = "l".to_owned() + &"r".repeat(self.headings.len() - 1);
        let mut s = String::new();
        s.push_str("% Generated by cascade table; needs \\usepackage{booktabs} and \\usepackage{graphicx}.\n");
        s.push_str("\\begin{table}[ht]\n\\centering\n");
        s.push_str(&format!("\\caption{{{}}}\n", latex_escape(&self.caption)));
        // Set in a box first: a table wider than the line is scaled down
        // to fit it, a narrower one is left as it is.
        s.push_str("\\setbox0=\\hbox{%\n");
        s.push_str(&format!("\\begin{{tabular}}{{{cols}}}\n\\toprule\n"));
        let heads: Vec<String> = self.headings.iter().map(|h| latex_escape(h)).collect();
        s.push_str(&format!("{} \\\\\n\\midrule\n", heads.join(" & ")));
        for row in &self.rows {
            let cells: Vec<&str> = row.iter().map(|(l, _)| l.as_str()).collect();
            s.push_str(&format!("{} \\\\\n", cells.join(" & ")));
        }
        s.push_str("\\bottomrule\n\\end{tabular}}%\n");
        s.push_str("\\ifdim\\wd0>\\linewidth \\resizebox{\\linewidth}{!}{\\box0}\\else\\box0\\fi\n");
        s.push_str("\\end{table}\n");
        s
    }

    fn markdown(&self) -> String {
        let mut s = format!("**{}**\n\n| {} |\n", self.caption, self.headings.join(" | "));
        s.push_str(&format!(
            "|{}\n",
            self.headings
                .iter()
                .enumerate()
                .map(|(i, _)| if i == 0 { " --- |" } else { " ---: |" })
                .collect::<String>()
        ));
        for row in &self.rows {
            let cells: Vec<&str> = row.iter().map(|(_, m)| m.as_str()).collect();
            s.push_str(&format!("| {} |\n", cells.join(" | ")));
        }
        s
    }
}

fn run_table(dir: &Path, chosen: &[String]) -> Result<Table, ReadError> {
    let manifest = frames::json(&dir.join(crate::layout::MANIFEST))?;
    let path = dir.join("summary.parquet");
    let df = frames::parquet(&path)?;
    let mut rows = Vec::new();
    for (col, label) in metrics_of(&df, "", &path, chosen)? {
        let v = f64s(&df, &col, &path)?.first().copied().flatten();
        let cell = v.map_or("--".to_owned(), num);
        rows.push(vec![(latex_escape(&label), label), (format!("${cell}$"), cell)]);
    }
    let caption = format!(
        "{} (seed {}): summary of one run",
        manifest["experiment"].as_str().unwrap_or("run"),
        manifest["seed"].as_u64().unwrap_or_default()
    );
    Ok(Table { caption, headings: vec!["Metric".into(), "Value".into()], rows })
}

fn sweep_table(dir: &Path, chosen: &[String]) -> Result<Table, ReadError> {
    let plan = frames::json(&dir.join(crate::layout::SWEEP_PLAN))?;
    let axes: Vec<String> = plan["axes"]
        .as_array()
        .map(|a| a.iter().filter_map(|v| v.as_str().map(str::to_owned)).collect())
        .unwrap_or_default();
    let path = dir.join("points.parquet");
    let df = frames::parquet(&path)?;
    // The sweep's label of each axis; a plan written before labels has
    // none, and its axes are named by the end of their path.
    let mut headings: Vec<String> = axes
        .iter()
        .map(|a| match plan["labels"][a].as_str() {
            Some(label) => label.to_owned(),
            None => a.rsplit('.').take(2).collect::<Vec<_>>().into_iter().rev().collect::<Vec<_>>().join("."),
        })
        .collect();
    if headings.is_empty() {
        headings.push("Point".into());
    }
    let metrics = metrics_of(&df, "_mean", &path, chosen)?;
    headings.extend(metrics.iter().map(|(_, l)| l.clone()));
    let n = df.height();
    let mut axis_values = Vec::new();
    for a in &axes {
        axis_values.push(frames::strings(&df, a, &path)?);
    }
    let mut stats = Vec::new();
    for (col, _) in metrics {
        let mean = f64s(&df, &format!("{col}_mean"), &path)?;
        let low = f64s(&df, &format!("{col}_ci95_low"), &path)?;
        stats.push((mean, low));
    }
    let mut rows = Vec::with_capacity(n);
    for i in 0..n {
        let mut row = Vec::new();
        if axes.is_empty() {
            row.push((i.to_string(), i.to_string()));
        }
        for vals in &axis_values {
            let v = vals[i].clone().unwrap_or_default();
            row.push((latex_escape(&v), v));
        }
        for (mean, low) in &stats {
            let cell = match (mean[i], low[i]) {
                (Some(m), Some(l)) => {
                    let (m, h) = with_ci(m, m - l);
                    (format!("${m} \\pm {h}$"), format!("{m} ± {h}"))
                }
                (Some(m), None) => (format!("${}$", num(m)), num(m)),
                _ => ("--".to_owned(), "--".to_owned()),
            };
            row.push(cell);
        }
        rows.push(row);
    }
    let caption = format!(
        "{}: mean and 95% confidence half-width per sweep point",
        plan["experiment"].as_str().unwrap_or("sweep")
    );
    Ok(Table { caption, headings, rows })
}

/// The metrics of the paired-difference table, with their headings and
/// the factor to their unit: the first five always, the others when some
/// difference's interval excludes 0.
pub const PAIRED_METRICS: [(&str, &str, f64); 9] = [
    ("max_drawdown", "Δ max drawdown (pp)", 100.0),
    ("liquidated_notional", "Δ liquidated notional (quote)", 1.0),
    ("bad_debt", "Δ bad debt (quote)", 1.0),
    ("uncovered_bad_debt", "Δ uncovered bad debt (quote)", 1.0),
    ("half_recovery_ticks", "Δ half-recovery time (ticks)", 1.0),
    ("fund_used", "Δ bad debt paid by the fund (quote)", 1.0),
    ("socialized_loss", "Δ socialised loss (quote)", 1.0),
    ("adl_notional", "Δ ADL notional (quote)", 1.0),
    ("amplification", "Δ amplification", 1.0),
];

/// The paired differences of a sweep with variants (`paired.parquet`): a
/// row per variant (and point of the other axes), a column per metric,
/// each `mean ± half-width` of the 95% interval of the difference from the
/// reference variant; `*` marks an interval that excludes zero.
fn paired_table(dir: &Path) -> Result<Option<Table>, ReadError> {
    let path = dir.join("paired.parquet");
    if !path.exists() {
        return Ok(None);
    }
    let df = frames::parquet(&path)?;
    let variant = frames::strings(&df, "variant", &path)?;
    let reference = frames::strings(&df, "reference", &path)?;
    let metric = frames::strings(&df, "metric", &path)?;
    let n = f64s(&df, "n", &path)?;
    let (mean, low, high) =
        (f64s(&df, "diff_mean", &path)?, f64s(&df, "diff_ci95_low", &path)?, f64s(&df, "diff_ci95_high", &path)?);
    let skip = ["variant", "reference", "metric", "n"];
    let axes: Vec<String> =
        df.get_column_names().iter().map(|c| c.to_string()).take_while(|c| !skip.contains(&c.as_str())).collect();
    let mut axis_values = Vec::new();
    for a in &axes {
        axis_values.push(frames::strings(&df, a, &path)?);
    }
    // Rows in order of first appearance of (other axes, variant).
    let mut keys: Vec<Vec<String>> = Vec::new();
    let key_of = |i: usize| -> Vec<String> {
        axis_values
            .iter()
            .map(|v| v[i].clone().unwrap_or_default())
            .chain([variant[i].clone().unwrap_or_default()])
            .collect()
    };
    for i in 0..df.height() {
        let k = key_of(i);
        if !keys.contains(&k) {
            keys.push(k);
        }
    }
    // An optional metric is shown where some difference is significant.
    let differs = |col: &str| {
        (0..df.height())
            .any(|i| metric[i].as_deref() == Some(col) && low[i].zip(high[i]).is_some_and(|(l, h)| l > 0.0 || h < 0.0))
    };
    let shown: Vec<(&str, &str, f64)> =
        PAIRED_METRICS.iter().enumerate().filter(|(k, m)| *k < 5 || differs(m.0)).map(|(_, m)| *m).collect();
    let mut rows = Vec::new();
    for k in &keys {
        let mut row: Vec<(String, String)> = k.iter().map(|v| (latex_escape(v), v.clone())).collect();
        for &(col, _, factor) in &shown {
            let i = (0..df.height()).find(|&i| key_of(i) == *k && metric[i].as_deref() == Some(col));
            let cell = match i.map(|i| (mean[i], low[i], high[i])) {
                Some((Some(m), Some(l), Some(h))) => {
                    let star = if l > 0.0 || h < 0.0 { "*" } else { "" };
                    let (m, half) = with_ci(m * factor, (m - l) * factor);
                    (format!("${m} \\pm {half}${star}"), format!("{m} ± {half}{star}"))
                }
                Some((Some(m), _, _)) => (format!("${}$", num(m * factor)), num(m * factor)),
                _ => ("--".to_owned(), "--".to_owned()),
            };
            row.push(cell);
        }
        rows.push(row);
    }
    let plan = frames::json(&dir.join(crate::layout::SWEEP_PLAN)).ok();
    let label = |a: &String| plan.as_ref().and_then(|p| p["labels"][a].as_str()).map(str::to_owned);
    let mut headings: Vec<String> =
        axes.iter().map(|a| label(a).unwrap_or_else(|| a.rsplit('.').next().unwrap_or(a).to_owned())).collect();
    headings.push("Variant".into());
    headings.extend(shown.iter().map(|(_, l, _)| (*l).to_owned()));
    let replicates = n.iter().flatten().fold(0.0_f64, |a, b| a.max(*b)).round();
    let caption = format!(
        "Paired differences from {} (same seeds), mean and 95% confidence half-width over {} replicates; * the interval excludes 0",
        reference.first().cloned().flatten().unwrap_or_default(),
        replicates
    );
    Ok(Some(Table { caption, headings, rows }))
}

/// A game's equilibria: per variant and equilibrium, its regret with the
/// bootstrap interval, and the crash at it against the baseline profile.
fn game_table(dir: &Path) -> Result<Table, ReadError> {
    let plan = frames::json(&dir.join(crate::layout::GAME_PLAN))?;
    let path = dir.join("equilibria.parquet");
    let df = frames::parquet(&path)?;
    let text = |c: &str| frames::strings(&df, c, &path);
    let (variant, mixture) = (text("variant")?, text("mixture")?);
    let (regret, lo, hi) =
        (f64s(&df, "regret", &path)?, f64s(&df, "regret_ci95_low", &path)?, f64s(&df, "regret_ci95_high", &path)?);
    let (dd, base) = (f64s(&df, "max_drawdown", &path)?, f64s(&df, "max_drawdown_baseline", &path)?);
    let (dlo, dhi) =
        (f64s(&df, "max_drawdown_diff_ci95_low", &path)?, f64s(&df, "max_drawdown_diff_ci95_high", &path)?);
    let bad_debt = f64s(&df, "bad_debt", &path)?;
    let f = |x: Option<f64>| x.map_or("--".to_owned(), num);
    let mut rows = Vec::new();
    for i in 0..df.height() {
        let v = variant[i].clone().unwrap_or_default();
        let m = mixture[i].clone().unwrap_or_default();
        let r = (f(regret[i]), f(lo[i]), f(hi[i]));
        let pp = |x: Option<f64>| x.map(|x| 100.0 * x);
        let d = (f(pp(dd[i].zip(base[i]).map(|(a, b)| a - b))), f(pp(dlo[i])), f(pp(dhi[i])));
        rows.push(vec![
            (latex_escape(&v), v),
            (latex_escape(&m), m),
            (format!("${}$ [${}$, ${}$]", r.0, r.1, r.2), format!("{} [{}, {}]", r.0, r.1, r.2)),
            (format!("${}$", f(dd[i])), f(dd[i])),
            (format!("${}$ [${}$, ${}$]", d.0, d.1, d.2), format!("{} [{}, {}]", d.0, d.1, d.2)),
            (format!("${}$", f(bad_debt[i])), f(bad_debt[i])),
        ]);
    }
    let caption = format!(
        "{}: equilibria, regret with 95% bootstrap interval, and the crash at each against the baseline profile (every role on its first strategy)",
        plan.pointer("/runs/experiment").and_then(|v| v.as_str()).unwrap_or("game")
    );
    let headings = [
        "Variant",
        "Equilibrium",
        "Regret [95% CI]",
        "Max drawdown",
        "Δ vs baseline (pp) [95% CI]",
        "Bad debt (quote)",
    ];
    Ok(Table { caption, headings: headings.map(str::to_owned).to_vec(), rows })
}

/// Writes `table.tex` and `table.md` into `dir` (a run or a sweep folder),
/// and for a sweep with variants `paired.tex` and `paired.md`; for a game
/// folder, `equilibria.tex` and `equilibria.md`. Returns the written paths.
pub fn write_tables(dir: &Path) -> Result<Vec<PathBuf>, ReadError> {
    write_tables_of(dir, &[])
}

/// [`write_tables`] with the `chosen` metrics (summary columns, by name)
/// in the run's or sweep's table; every default one when empty.
pub fn write_tables_of(dir: &Path, chosen: &[String]) -> Result<Vec<PathBuf>, ReadError> {
    use crate::layout::{Folder, kind};
    let folder = kind(dir);
    if folder == Some(Folder::Game) {
        return Ok(write_table(dir, "equilibria", &game_table(dir)?)?.to_vec());
    }
    let table = if folder == Some(Folder::Sweep) { sweep_table(dir, chosen)? } else { run_table(dir, chosen)? };
    let mut tables = vec![("table", table)];
    if folder == Some(Folder::Sweep)
        && let Some(paired) = paired_table(dir)?
    {
        tables.push(("paired", paired));
    }
    let mut written = Vec::new();
    for (stem, table) in tables {
        written.extend(write_table(dir, stem, &table)?);
    }
    Ok(written)
}

fn write_table(dir: &Path, stem: &str, table: &Table) -> Result<[PathBuf; 2], ReadError> {
    let tex = dir.join(format!("{stem}.tex"));
    let md = dir.join(format!("{stem}.md"));
    for (path, text) in [(&tex, table.latex()), (&md, table.markdown())] {
        let tmp = path.with_extension("tmp");
        std::fs::write(&tmp, text).map_err(|source| ReadError::Io { path: tmp.clone(), source })?;
        std::fs::rename(&tmp, path).map_err(|source| ReadError::Io { path: path.clone(), source })?;
    }
    Ok([tex, md])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_mean_has_the_digits_its_interval_supports() {
        assert_eq!(with_ci(0.1020, 0.0007931), ("0.10200".to_owned(), "0.00079".to_owned()));
        assert_eq!(with_ci(11_123_456.0, 23_456.0), ("11123000".to_owned(), "23000".to_owned()));
        assert_eq!(with_ci(2.5, 0.5), ("2.50".to_owned(), "0.50".to_owned()));
        assert_eq!(with_ci(-4.56789, 0.012), ("-4.568".to_owned(), "0.012".to_owned()));
        assert_eq!(with_ci(1.0, 0.0).1, "0");
    }

    #[test]
    fn numbers_have_four_significant_digits() {
        assert_eq!(num(1234.567), "1235");
        assert_eq!(num(0.0812345), "0.08123");
        assert_eq!(num(12.0), "12.00");
        assert_eq!(num(0.0), "0");
        assert_eq!(num(f64::NAN), "--");
    }
}
