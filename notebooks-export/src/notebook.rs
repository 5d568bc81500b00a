//! Jupyter notebooks (nbformat 4.5) for a run, a sweep or a game: a Markdown
//! header from the manifest or plan (experiment, seed, versions, the
//! command that reruns it), cells that load the Parquet files with Python
//! polars and redraw the main charts with matplotlib, and the PNG charts
//! already embedded as outputs, so the notebook reads well before anyone
//! runs it.

use crate::frames::{self, ReadError};
use base64::Engine;
use serde_json::{Value, json};
use std::path::{Path, PathBuf};

fn lines(text: &str) -> Value {
    let mut out: Vec<String> = text.split_inclusive('\n').map(str::to_owned).collect();
    if let Some(last) = out.last_mut()
        && last.ends_with('\n')
    {
        last.pop();
    }
    json!(out)
}

struct Builder {
    cells: Vec<Value>,
}

impl Builder {
    fn id(&self) -> String {
        format!("cell-{:03}", self.cells.len())
    }

    fn markdown(&mut self, text: &str) {
        let id = self.id();
        self.cells.push(json!({"cell_type": "markdown", "id": id, "metadata": {}, "source": lines(text)}));
    }

    /// A code cell whose output is the chart `png`, if it exists.
    fn code(&mut self, source: &str, png: Option<&Path>) -> Result<(), ReadError> {
        let mut outputs = Vec::new();
        if let Some(path) = png.filter(|p| p.exists()) {
            let bytes = std::fs::read(path).map_err(|source| ReadError::Io { path: path.to_owned(), source })?;
            let data = base64::engine::general_purpose::STANDARD.encode(bytes);
            outputs.push(json!({
                "output_type": "display_data",
                "data": {"image/png": data, "text/plain": [format!("<chart {}>", path.file_name().and_then(|n| n.to_str()).unwrap_or("chart"))]},
                "metadata": {}
            }));
        }
        let id = self.id();
        self.cells.push(json!({
            "cell_type": "code", "id": id, "metadata": {}, "execution_count": null,
            "outputs": outputs, "source": lines(source)
        }));
        Ok(())
    }

    fn finish(self) -> Value {
        json!({
            "nbformat": 4,
            "nbformat_minor": 5,
            "metadata": {
                "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"},
                "language_info": {"name": "python"}
            },
            "cells": self.cells
        })
    }
}

const SETUP: &str = "\
import polars as pl
import matplotlib.pyplot as plt
plt.rcParams.update({\"figure.figsize\": (11, 5), \"font.size\": 12})";

fn run_notebook(dir: &Path) -> Result<Value, ReadError> {
    let m = frames::json(&dir.join(crate::layout::MANIFEST))?;
    let name = m["experiment"].as_str().unwrap_or("run");
    let seed = m["seed"].as_u64().unwrap_or_default();
    let command = m["command"].as_str().map_or(String::new(), |c| format!("\nIt was produced by `{c}`."));
    let description = m["config"]["description"].as_str().unwrap_or_default();
    let files: Vec<String> = m["files"]
        .as_object()
        .map(|f| f.iter().map(|(k, v)| format!("| `{k}` | `{}` |", v.as_str().unwrap_or_default())).collect())
        .unwrap_or_default();
    let charts = dir.join("charts");
    let mut b = Builder { cells: Vec::new() };
    b.markdown(&format!(
        "# {name}, seed {seed}\n\n{description}\n\n\
         | | |\n| --- | --- |\n| run id | `{}` |\n| cascade version | {} |\n| git commit | {} |\n\n\
         Run `cascade reproduce .` in this folder to make the run again from `manifest.json` (its resolved \
         configuration and seed) and compare every file's SHA-256 below.{command}\n\n\
         | file | SHA-256 |\n| --- | --- |\n{}",
        m["run_id"].as_str().unwrap_or_default(),
        m["version"].as_str().unwrap_or("?"),
        m["git_commit"].as_str().map_or("unknown".to_owned(), |c| format!("`{c}`")),
        files.join("\n"),
    ));
    b.code(
        &format!(
            "{SETUP}\nticks = pl.read_parquet(\"ticks.parquet\")\nevents = pl.read_parquet(\"events.parquet\")\n\
             agents = pl.read_parquet(\"agents.parquet\")\nheatmap = pl.read_parquet(\"heatmap.parquet\")\n\
             summary = pl.read_parquet(\"summary.parquet\")\nmarket = ticks[\"market\"][0]\nt = ticks.filter(pl.col(\"market\") == market)\nsummary"
        ),
        None,
    )?;
    b.markdown("## Cascade dashboard\n\nIndex and mark price, with the notional liquidated in each tick (longs and shorts apart).");
    b.code(
        "fig, ax = plt.subplots()\n\
         ax.plot(t[\"tick\"], t[\"index_price\"], label=\"index\")\n\
         ax.plot(t[\"tick\"], t[\"mark_price\"], label=\"mark\")\n\
         ax.set_xlabel(\"tick\")\nax.set_ylabel(\"price (quote)\")\n\
         ax2 = ax.twinx()\n\
         ax2.bar(t[\"tick\"], t[\"liquidated_long\"] / 1e6, color=\"tab:red\", alpha=0.5, label=\"longs liquidated\")\n\
         ax2.bar(t[\"tick\"], -t[\"liquidated_short\"] / 1e6, color=\"tab:green\", alpha=0.5, label=\"shorts liquidated\")\n\
         ax2.set_ylabel(\"liquidated notional per tick (quote)\")\n\
         fig.legend(loc=\"upper right\")\nax.set_title(f\"{market}: price and liquidations\")\nplt.show()",
        Some(&charts.join("dashboard.png")),
    )?;
    b.markdown("## Liquidation heatmap\n\nNotional that would be force-closed at each price level over time, with the mark on top.");
    b.code(
        "h = heatmap.filter(pl.col(\"market\") == market).with_columns(total=(pl.col(\"long_notional\") + pl.col(\"short_notional\")) / 1e6)\n\
         if h.height > 0:\n\
         \x20   grid = h.pivot(on=\"tick\", index=\"price\", values=\"total\").sort(\"price\").fill_null(0)\n\
         \x20   cols = [c for c in grid.columns if c != \"price\"]\n\
         \x20   fig, ax = plt.subplots()\n\
         \x20   mesh = ax.pcolormesh([int(c) for c in cols], grid[\"price\"], grid.select(cols).to_numpy(), shading=\"nearest\", cmap=\"magma\")\n\
         \x20   fig.colorbar(mesh, label=\"notional liquidated at that price (quote)\")\n\
         \x20   ax.plot(t[\"tick\"], t[\"mark\"], color=\"cyan\", label=\"mark\")\n\
         \x20   ax.set_xlabel(\"tick\")\n\
         \x20   ax.set_ylabel(\"price (ticks)\")\n\
         \x20   ax.legend()\n\
         \x20   plt.show()",
        Some(&charts.join("heatmap.png")),
    )?;
    b.markdown("## Cascade sizes\n\nComplementary CDF of the notional liquidated per tick, on log-log axes.");
    b.code(
        "sizes = (t[\"liquidated_long\"] + t[\"liquidated_short\"]) / 1e6\n\
         sizes = sizes.filter(sizes > 0).sort(descending=True)\n\
         if len(sizes) > 0:\n\
         \x20   fig, ax = plt.subplots()\n\
         \x20   ax.loglog(sizes, [(i + 1) / len(sizes) for i in range(len(sizes))], marker=\"o\", linestyle=\"none\")\n\
         \x20   ax.set_xlabel(\"liquidated notional in a tick (quote)\")\n\
         \x20   ax.set_ylabel(\"P(size >= x)\")\n\
         \x20   plt.show()",
        Some(&charts.join("cascade_sizes.png")),
    )?;
    b.markdown(
        "## Protocol mechanisms\n\nThe protocol's state in each tick, for the mechanisms that acted: circuit-breaker halts, \
         liquidations put off by the per-tick cap, Dutch auctions open, socialised loss and the maintenance multiplier; \
         then the events by kind.",
    );
    b.code(
        "series = [\n\
         \x20   (\"trading halted\", \"halted\", 1.0, 0.0),\n\
         \x20   (\"accounts put off by the cap\", \"throttled\", 1.0, 0.0),\n\
         \x20   (\"Dutch auctions open\", \"auctions_open\", 1.0, 0.0),\n\
         \x20   (\"socialised loss (quote)\", \"socialized_loss\", 1e6, 0.0),\n\
         \x20   (\"maintenance multiplier\", \"maintenance_scale\", 1e6, 1.0),\n\
         ]\n\
         active = [(label, t[c].cast(pl.Float64) / unit) for label, c, unit, idle in series\n\
         \x20         if c in t.columns and (t[c].cast(pl.Float64) / unit != idle).any()]\n\
         if active:\n\
         \x20   fig, axes = plt.subplots(len(active), 1, sharex=True, squeeze=False, figsize=(11, 2.4 * len(active)))\n\
         \x20   for ax, (label, values) in zip(axes[:, 0], active):\n\
         \x20       ax.step(t[\"tick\"], values, where=\"post\")\n\
         \x20       ax.set_ylabel(label)\n\
         \x20   axes[-1, 0].set_xlabel(\"tick\")\n\
         \x20   plt.show()\n\
         else:\n\
         \x20   print(\"No protocol mechanism acted in this run (no halt, throttle, auction, socialised loss or raised maintenance).\")\n\
         events.group_by(\"kind\").agg(n=pl.len()).sort(\"kind\")",
        None,
    )?;
    b.markdown("## PnL by population");
    b.code(
        "traders = agents.filter(pl.col(\"kind\") == \"trader\")\n\
         pops = traders[\"population\"].unique(maintain_order=True).to_list()\n\
         fig, ax = plt.subplots()\n\
         ax.boxplot([(traders.filter(pl.col(\"population\") == p)[\"pnl\"] / 1e6).to_list() for p in pops], tick_labels=pops)\n\
         ax.set_ylabel(\"PnL (quote)\")\n\
         plt.show()\n\
         traders.group_by(\"population\", maintain_order=True).agg(n=pl.len(), mean_pnl=pl.col(\"pnl\").mean() / 1e6, liquidated=pl.col(\"liquidated\").sum())",
        Some(&charts.join("pnl_by_population.png")),
    )?;
    Ok(b.finish())
}

fn sweep_notebook(dir: &Path) -> Result<Value, ReadError> {
    let plan = frames::json(&dir.join(crate::layout::SWEEP_PLAN))?;
    let name = plan["experiment"].as_str().unwrap_or("sweep");
    let axes: Vec<String> = plan["axes"]
        .as_array()
        .map(|a| a.iter().filter_map(|v| v.as_str().map(str::to_owned)).collect())
        .unwrap_or_default();
    let n_runs = plan["runs"].as_array().map_or(0, Vec::len);
    let n_points = plan["points"].as_array().map_or(0, Vec::len);
    let charts = dir.join("charts");
    let mut b = Builder { cells: Vec::new() };
    b.markdown(&format!(
        "# Sweep of {name}\n\nSweep `{}`: {n_points} points, {n_runs} runs, over {}.\n\n\
         `cascade reproduce .` in this folder makes its runs again from their manifests and compares every file \
         (`--runs N` for a sample); `cascade merge .` gathers the frames after sharded runs.",
        plan["sweep_id"].as_str().unwrap_or_default(),
        if axes.is_empty() {
            "no parameters (replicates only)".to_owned()
        } else {
            axes.iter().map(|a| format!("`{a}`")).collect::<Vec<_>>().join(", ")
        },
    ));
    let x = axes.first().cloned().unwrap_or_else(|| "point".into());
    let labels: Vec<String> =
        axes.iter().map(|a| format!("{a:?}: {:?}", plan["labels"][a].as_str().unwrap_or(a))).collect();
    b.code(
        &format!(
            "{SETUP}\nruns = pl.read_parquet(\"sweep.parquet\")\npoints = pl.read_parquet(\"points.parquet\")\n\
             x = {x:?}\n# The other swept axes: one line per combination of their values.\n\
             others = {others:?}\nlabels = {{{labels}}}\npoints",
            others = axes.iter().skip(1).collect::<Vec<_>>(),
            labels = labels.join(", "),
        ),
        None,
    )?;
    if dir.join("paired.parquet").exists() {
        b.markdown(
            "## Paired differences between variants\n\n\
             Each variant minus the reference variant, replicate by replicate on the same seed (common random \
             numbers): mean and 95% confidence interval of the difference.",
        );
        b.code(
            "paired = pl.read_parquet(\"paired.parquet\")\n\
             metrics = [\"max_drawdown\", \"liquidated_notional\", \"bad_debt\", \"half_recovery_ticks\"]\n\
             fig, axes = plt.subplots(2, 2, figsize=(12, 8))\n\
             for ax, m in zip(axes.flat, metrics):\n\
             \x20   d = paired.filter(pl.col(\"metric\") == m)\n\
             \x20   y = list(range(d.height))\n\
             \x20   err = [(d[\"diff_mean\"] - d[\"diff_ci95_low\"]).fill_null(0).to_list(), (d[\"diff_ci95_high\"] - d[\"diff_mean\"]).fill_null(0).to_list()]\n\
             \x20   ax.errorbar(d[\"diff_mean\"].fill_null(0).to_list(), y, xerr=err, fmt=\"o\")\n\
             \x20   ax.axvline(0, color=\"grey\")\n\
             \x20   ax.set_yticks(y, d[\"variant\"].to_list())\n\
             \x20   ax.set_title(m)\n\
             plt.tight_layout()\nplt.show()\n\
             paired.select(\"variant\", \"metric\", \"n\", \"diff_mean\", \"diff_ci95_low\", \"diff_ci95_high\")",
            Some(&charts.join("paired_differences.png")),
        )?;
    }
    for metric in ["liquidated_notional", "max_drawdown", "bad_debt"] {
        b.markdown(&format!("## {metric}\n\nMean over replicates with its 95% confidence band."));
        b.code(
            &format!(
                "fig, ax = plt.subplots()\n\
                 groups = points.partition_by(others, maintain_order=True, as_dict=True) if others else {{(): points}}\n\
                 for key, g in groups.items():\n\
                 \x20   g = g.sort(x)\n\
                 \x20   name = \", \".join(f\"{{labels.get(a, a)}} = {{v}}\" for a, v in zip(others, key)) or \"mean\"\n\
                 \x20   line, = ax.plot(g[x], g[\"{metric}_mean\"], marker=\"o\", label=name)\n\
                 \x20   if g[\"{metric}_ci95_low\"].null_count() < g.height:\n\
                 \x20       ax.fill_between(g[x], g[\"{metric}_ci95_low\"].fill_null(g[\"{metric}_mean\"]), g[\"{metric}_ci95_high\"].fill_null(g[\"{metric}_mean\"]), alpha=0.2, color=line.get_color())\n\
                 ax.set_xlabel(labels.get(x, x))\nax.set_ylabel(\"{metric}\")\nax.legend(loc=\"upper left\", bbox_to_anchor=(1.01, 1))\nplt.show()"
            ),
            Some(&charts.join(format!("metric_{metric}.png"))),
        )?;
    }
    Ok(b.finish())
}

fn game_notebook(dir: &Path) -> Result<Value, ReadError> {
    let plan = frames::json(&dir.join(crate::layout::GAME_PLAN))?;
    let name = plan.pointer("/runs/experiment").and_then(Value::as_str).unwrap_or("game");
    let roles: Vec<String> = plan
        .pointer("/spec/roles")
        .and_then(Value::as_array)
        .map(|roles| {
            roles
                .iter()
                .map(|r| {
                    let strategies: Vec<&str> = r["strategies"]
                        .as_array()
                        .map(|s| s.iter().filter_map(|x| x["name"].as_str()).collect())
                        .unwrap_or_default();
                    let reduced = r["reduce_to"].as_u64().map_or(String::new(), |n| format!(", analysed as {n}"));
                    format!(
                        "| {} | {}{reduced} | {} |",
                        r["population"].as_str().unwrap_or_default(),
                        r["players"].as_u64().unwrap_or_default(),
                        strategies.join(", ")
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    let variants: Vec<&str> =
        plan["variants"].as_array().map(|v| v.iter().filter_map(Value::as_str).collect()).unwrap_or_default();
    let charts = dir.join("charts");
    let mut b = Builder { cells: Vec::new() };
    b.markdown(&format!(
        "# Game of {name}\n\nGame `{}`: {} full-game profiles, {} runs, payoff `{}`, variants {}.\n\n         | role | players | strategies |\n| --- | --- | --- |\n{}\n\n         Rerun it with `cascade game {name}` (finished runs are reused), or `cascade merge` this folder after sharded runs.",
        plan["game_id"].as_str().unwrap_or_default(),
        plan["profiles"].as_array().map_or(0, Vec::len),
        plan.pointer("/runs/runs").and_then(Value::as_array).map_or(0, Vec::len),
        plan.pointer("/spec/payoff").and_then(Value::as_str).unwrap_or("pnl"),
        variants.iter().map(|v| format!("`{v}`")).collect::<Vec<_>>().join(", "),
        roles.join("\n"),
    ));
    b.code(
        &format!(
            "{SETUP}\nequilibria = pl.read_parquet(\"equilibria.parquet\")\npayoffs = pl.read_parquet(\"payoffs.parquet\")\n\
             observations = pl.read_parquet(\"observations.parquet\")\n\
             equilibria.select(\"variant\", \"kind\", \"mixture\", \"regret\", \"regret_ci95_low\", \"regret_ci95_high\", \"max_drawdown\", \"max_drawdown_baseline\")"
        ),
        None,
    )?;
    b.markdown(
        "## Equilibria\n\nEach equilibrium's regret (the most a single player could gain by deviating) with its 95% \
         bootstrap interval, and the max drawdown at it minus the baseline's (every role on its first strategy), with \
         the paired 95% interval.",
    );
    b.code(
        "labels = [f\"{v}: {m}\" for v, m in zip(equilibria[\"variant\"], equilibria[\"mixture\"])]\n\
         y = list(range(equilibria.height))\n\
         fig, (a, c) = plt.subplots(1, 2, figsize=(13, 1.2 + 0.6 * len(y)), sharey=True)\n\
         r = equilibria[\"regret\"]\n\
         a.errorbar(r, y, xerr=[(r - equilibria[\"regret_ci95_low\"]).clip(0), (equilibria[\"regret_ci95_high\"] - r).clip(0)], fmt=\"o\")\n\
         a.set_yticks(y, labels)\na.set_xlabel(\"regret (payoff units)\")\n\
         d = 100 * (equilibria[\"max_drawdown\"] - equilibria[\"max_drawdown_baseline\"])\n\
         lo, hi = 100 * equilibria[\"max_drawdown_diff_ci95_low\"], 100 * equilibria[\"max_drawdown_diff_ci95_high\"]\n\
         c.errorbar(d, y, xerr=[(d - lo).clip(0), (hi - d).clip(0)], fmt=\"o\")\n\
         c.axvline(0, color=\"grey\")\nc.set_xlabel(\"max drawdown minus baseline (pp)\")\n\
         plt.tight_layout()\nplt.show()",
        Some(&charts.join("equilibria.png")),
    )?;
    b.markdown("## Payoff table\n\nThe analysed (reduced) game: each strategy's mean payoff in each profile, with the full-game profile that backs it.");
    b.code("payoffs.select(\"variant\", \"profile_label\", \"role\", \"strategy\", \"count\", \"full_profile\", \"n\", \"mean\", \"std\")", None)?;
    for v in &variants {
        let graph = charts.join(format!("deviations_{}.png", crate::file_safe(v)));
        if graph.exists() {
            b.markdown(&format!("### Deviation graph, {v}\n\nArrows are profitable switches by one player; filled nodes are pure equilibria."));
            b.code(
                &format!("# charts/{}", graph.file_name().and_then(|n| n.to_str()).unwrap_or_default()),
                Some(&graph),
            )?;
        }
    }
    Ok(b.finish())
}

/// Writes `notebook.ipynb` into `dir` (a run, a sweep or a game folder).
/// Charts already drawn into `dir/charts/` are embedded as outputs.
pub fn write_notebook(dir: &Path) -> Result<PathBuf, ReadError> {
    use crate::layout::{Folder, kind};
    let nb = if kind(dir) == Some(Folder::Game) {
        game_notebook(dir)?
    } else if kind(dir) == Some(Folder::Sweep) {
        sweep_notebook(dir)?
    } else {
        run_notebook(dir)?
    };
    let path = dir.join("notebook.ipynb");
    let tmp = dir.join(".notebook.ipynb.tmp");
    let text = serde_json::to_string_pretty(&nb).expect("a notebook serialises");
    std::fs::write(&tmp, text).map_err(|source| ReadError::Io { path: tmp.clone(), source })?;
    std::fs::rename(&tmp, &path).map_err(|source| ReadError::Io { path: path.clone(), source })?;
    Ok(path)
}
