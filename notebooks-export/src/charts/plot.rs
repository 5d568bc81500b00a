//! The entry points: `plot_run`, `plot_sweep` and `plot_game` read a run,
//! a sweep or a game folder, choose its charts and write each of them into the folder's
//! `charts/`.

use super::cascade_sizes::CascadeSizes;
use super::dashboard::Dashboard;
use super::data::{Frame, MarketInfo, MarketSeries, RunInfo, read_json};
use super::deviations::DeviationGraph;
use super::draw::{charts_dir, write_chart};
use super::equilibria::EquilibriaChart;
use super::error::ChartError;
use super::game::GameTable;
use super::grid::MetricGrid;
use super::heatmap::LiquidationMap;
use super::metric::MetricChart;
use super::paired::PairedChart;
use super::pnl::PnlByPopulation;
use super::style::{ensure_font, sig};
use super::sweep::{GRID_METRICS, METRICS, SweepAxis, shown_only_if_nonzero};
use super::trajectories::Trajectories;
use crate::file_safe;
use std::path::{Path, PathBuf};

/// Draws every chart of a finished run folder (holding `ticks.parquet`,
/// `heatmap.parquet`, `agents.parquet` and `manifest.json`) into
/// `<run_dir>/charts/`, each as both `<name>.svg` and `<name>.png`: the
/// `dashboard`, the liquidation `heatmap`, the `cascade_sizes` distribution
/// and `pnl_by_population`. The first market's charts carry these plain
/// names; each further market's market charts get `_<market>` appended.
/// Returns the written paths, sorted.
pub fn plot_run(run_dir: &Path) -> Result<Vec<PathBuf>, ChartError> {
    ensure_font()?;
    let info = RunInfo::read(&run_dir.join(crate::layout::MANIFEST))?;
    let ticks = Frame::read(&run_dir.join("ticks.parquet"))?;
    let heatmap = Frame::read(&run_dir.join("heatmap.parquet"))?;
    let agents = Frame::read(&run_dir.join("agents.parquet"))?;
    let out = charts_dir(run_dir)?;
    // The run id as the manifest records it: the same run gives the same
    // bytes wherever its folder is.
    let manifest = read_json(&run_dir.join(crate::layout::MANIFEST))?;
    let caption = match manifest.get("run_id").and_then(|v| v.as_str()) {
        Some(id) => format!("{}, seed {}, run {id}", info.experiment, info.seed),
        None => format!("{}, seed {}", info.experiment, info.seed),
    };

    let mut markets = info.markets.clone();
    if markets.is_empty() {
        // A manifest without a market list still names its markets in the
        // ticks, in the order the simulator wrote them.
        let mut names: Vec<String> = Vec::new();
        for name in ticks.strings("market")?.into_iter().flatten() {
            if !names.contains(&name) {
                names.push(name);
            }
        }
        markets = names.into_iter().map(|name| MarketInfo { name, tick_size: None }).collect();
    }

    let time_label = time_label(info.tick_seconds);
    let mut written = Vec::new();
    for (market_idx, market) in markets.iter().enumerate() {
        let suffix = if market_idx == 0 { String::new() } else { format!("_{}", file_safe(&market.name)) };
        let series = MarketSeries::read(&ticks, market)?;
        let prefix = info.experiment.clone();

        let dashboard = Dashboard {
            title: format!("{prefix}: {} price, liquidations and liquidity", market.name),
            time_label: time_label.clone(),
            series: &series,
        };
        written.extend(write_chart(&out, &format!("dashboard{suffix}"), &dashboard, &caption)?);

        let map = LiquidationMap::read(
            &heatmap,
            market,
            &series,
            format!("{prefix}: {} liquidation map (long + short notional per price bucket)", market.name),
            time_label.clone(),
        )?;
        written.extend(write_chart(&out, &format!("heatmap{suffix}"), &map, &caption)?);

        let cascades =
            CascadeSizes::from_series(&series, format!("{prefix}: {} cascade sizes (complementary CDF)", market.name));
        written.extend(write_chart(&out, &format!("cascade_sizes{suffix}"), &cascades, &caption)?);
    }

    let pnl = PnlByPopulation::read(&agents, format!("{}: trader PnL by population", info.experiment))?;
    written.extend(write_chart(&out, "pnl_by_population", &pnl, &caption)?);
    written.sort();
    Ok(written)
}

/// Draws the charts of a sweep folder (holding `plan.json`, `sweep.parquet`
/// and `points.parquet`) into `<sweep_dir>/charts/`, as SVG and PNG: for
/// each metric with data, `metric_<M>` (the mean against the first swept
/// axis with its 95% confidence band, one line per value of the other
/// axes); and with exactly two numeric axes, `heatmap_<M>` of the mean over
/// both axes for the key metrics. A sweep without axes has nothing to plot
/// against and yields no charts. Returns the written paths, sorted.
pub fn plot_sweep(sweep_dir: &Path) -> Result<Vec<PathBuf>, ChartError> {
    plot_sweep_with(sweep_dir, &SweepCharts::default())
}

/// What a sweep's charts show, when not the defaults.
#[derive(Clone, Debug, Default)]
pub struct SweepCharts {
    /// The metrics (summary columns, by name): their metric charts and
    /// heatmaps, and the panels of the paired chart, in that order; every
    /// metric with data when empty.
    pub metrics: Vec<String>,
    /// The swept path on the x axis of the metric charts; the first axis
    /// when absent.
    pub x: Option<String>,
    /// A log scale on x (`Some(true)`), a linear one (`Some(false)`), or a
    /// log scale when the values span more than two decades (`None`).
    pub log_x: Option<bool>,
}

/// [`plot_sweep`] as `charts` says. A name that is not a metric or an axis
/// is refused, with the names there are.
pub fn plot_sweep_with(sweep_dir: &Path, charts: &SweepCharts) -> Result<Vec<PathBuf>, ChartError> {
    ensure_font()?;
    let chosen = &charts.metrics;
    if let Some(unknown) = chosen.iter().find(|c| !METRICS.iter().any(|m| m.column == c.as_str())) {
        let names: Vec<&str> = METRICS.iter().map(|m| m.column).collect();
        return Err(ChartError::Invalid {
            path: sweep_dir.to_owned(),
            message: format!("no metric {unknown:?} to chart; the metrics are {names:?}"),
        });
    }
    let wanted = |column: &str| chosen.is_empty() || chosen.iter().any(|c| c == column);
    let plan_path = sweep_dir.join(crate::layout::SWEEP_PLAN);
    let plan = read_json(&plan_path)?;
    let invalid = |message: &str| ChartError::Invalid { path: plan_path.clone(), message: message.to_owned() };
    let experiment =
        plan.get("experiment").and_then(|v| v.as_str()).ok_or_else(|| invalid("no `experiment` string"))?;
    let axis_names: Vec<String> = plan
        .get("axes")
        .and_then(|v| v.as_array())
        .ok_or_else(|| invalid("no `axes` array"))?
        .iter()
        .map(|v| v.as_str().map(str::to_owned).ok_or_else(|| invalid("an axis is not a string")))
        .collect::<Result<_, _>>()?;
    let points = Frame::read(&sweep_dir.join("points.parquet"))?;
    let runs = Frame::read(&sweep_dir.join("sweep.parquet"))?;
    let out = charts_dir(sweep_dir)?;

    let seeds: Vec<u64> = runs.u64s("seed")?.into_iter().flatten().collect();
    let prefix = experiment.to_owned();
    let sweep_id = plan.get("sweep_id").and_then(|v| v.as_str()).unwrap_or_default();
    let caption = match (seeds.iter().min(), seeds.iter().max()) {
        (Some(lo), Some(hi)) if lo != hi => format!("{experiment}, seeds {lo}\u{2013}{hi}, sweep {sweep_id}"),
        (Some(lo), _) => format!("{experiment}, seed {lo}, sweep {sweep_id}"),
        _ => format!("{experiment}, sweep {sweep_id}"),
    };
    let mut axes: Vec<SweepAxis> =
        axis_names.iter().map(|name| SweepAxis::read(&points, name)).collect::<Result<_, _>>()?;
    let x = charts.x.clone().or_else(|| plan.get("x").and_then(|v| v.as_str()).map(str::to_owned));
    if let Some(x) = &x {
        let at = axes.iter().position(|a| a.name == *x).ok_or_else(|| {
            invalid(&format!("no swept path {x:?} for the x axis; the sweep's axes are {axis_names:?}"))
        })?;
        let chosen_axis = axes.remove(at);
        axes.insert(0, chosen_axis);
    }
    if charts.log_x == Some(true)
        && let Some(x) = axes.first()
        && !(x.numeric && x.levels.first().is_some_and(|l| l.0 > 0.0))
    {
        return Err(invalid(&format!("{} has values that are not positive numbers: no log scale", x.name)));
    }
    // Sweeps written before labels were planned name their axes by path.
    for axis in &mut axes {
        if let Some(label) = plan.get("labels").and_then(|l| l.get(&axis.name)).and_then(|l| l.as_str()) {
            label.clone_into(&mut axis.label);
        }
    }
    let mut written = Vec::new();
    if axes.is_empty() {
        return Ok(written);
    }

    for metric in METRICS.into_iter().filter(|m| wanted(m.column)) {
        // Sweeps written before a metric existed do not have it.
        if points.f64s(&format!("{}_mean", metric.column)).is_err() {
            continue;
        }
        // A single-market sweep has no spill-over to show.
        if shown_only_if_nonzero(metric.column)
            && points.f64s(&format!("{}_mean", metric.column)).is_ok_and(|v| v.iter().all(|x| x.unwrap_or(0.0) == 0.0))
        {
            continue;
        }
        let Some(chart) = MetricChart::read(&points, &axes, &metric, &prefix, charts.log_x)? else { continue };
        written.extend(write_chart(&out, &format!("metric_{}", metric.column), &chart, &caption)?);
    }
    // Two numeric axes give a heatmap; a third gives one per level of
    // whichever of the last two has fewer levels (the last on a tie).
    type Slice<'a> = Option<(&'a SweepAxis, usize)>;
    let grids: Option<([&SweepAxis; 2], Vec<Slice>)> = match axes.as_slice() {
        [x, y] => Some(([x, y], vec![None])),
        [x, a, b] => {
            let (y, z) = if a.levels.len() < b.levels.len() { (b, a) } else { (a, b) };
            Some(([x, y], (0..z.levels.len()).map(|k| Some((z, k))).collect()))
        }
        _ => None,
    };
    if let Some((grid, slices)) = grids.filter(|(grid, _)| grid.iter().all(|a| a.numeric)) {
        for metric in METRICS.iter().filter(|m| GRID_METRICS.contains(&m.column) || !chosen.is_empty()) {
            if !wanted(metric.column) {
                continue;
            }
            for slice in &slices {
                let Some(chart) = MetricGrid::read(&points, grid, *slice, metric, &prefix)? else { continue };
                let name = match slice {
                    None => format!("heatmap_{}", metric.column),
                    Some((z, k)) => {
                        let short = z.name.rsplit('.').next().unwrap_or(&z.name);
                        crate::file_safe(&format!("heatmap_{}_{short}_{}", metric.column, z.levels[*k].1))
                    }
                };
                written.extend(write_chart(&out, &name, &chart, &caption)?);
            }
        }
    }
    let paired = sweep_dir.join("paired.parquet");
    if paired.exists()
        && let Some(chart) = PairedChart::read(&Frame::read(&paired)?, &prefix, &plan["labels"], chosen)?
    {
        written.extend(write_chart(&out, "paired_differences", &chart, &caption)?);
    }
    written.sort();
    Ok(written)
}

/// Draws the charts of a game folder (holding `game.json`,
/// `payoffs.parquet` and `equilibria.parquet`) into `<game_dir>/charts/`,
/// as SVG and PNG: `equilibria` (each equilibrium's regret and the crash at
/// it against the baseline), and for a game of two roles, per variant,
/// `payoffs_<variant>_<role>` (each role's mean payoff over the reduced
/// profiles) and `deviations_<variant>` (the deviation graph); for a role
/// of three strategies, `trajectories_<variant>_<role>` (replicator
/// dynamics on the simplex). Returns the written paths, sorted.
pub fn plot_game(game_dir: &Path) -> Result<Vec<PathBuf>, ChartError> {
    ensure_font()?;
    let plan_path = game_dir.join(crate::layout::GAME_PLAN);
    let plan = read_json(&plan_path)?;
    let experiment = plan.pointer("/runs/experiment").and_then(|v| v.as_str()).ok_or_else(|| ChartError::Invalid {
        path: plan_path.clone(),
        message: "no `runs.experiment` string".into(),
    })?;
    let payoffs = Frame::read(&game_dir.join("payoffs.parquet"))?;
    let equilibria = Frame::read(&game_dir.join("equilibria.parquet"))?;
    let out = charts_dir(game_dir)?;
    let game_id = plan.get("game_id").and_then(|v| v.as_str()).unwrap_or_default();
    let caption = format!(
        "{experiment}, master seed {}, game {game_id}",
        plan.get("seed").map_or_else(String::new, ToString::to_string)
    );
    let mut written = Vec::new();
    if let Some(chart) = EquilibriaChart::read(&equilibria, experiment)? {
        written.extend(write_chart(&out, "equilibria", &chart, &caption)?);
    }
    for table in GameTable::read(&payoffs, &equilibria)? {
        if table.roles.len() != 2 {
            continue;
        }
        let parts = [table.parts(0), table.parts(1)];
        let levels = |r: usize| parts[r].iter().map(|c| table.part_label(r, c)).collect::<Vec<_>>();
        for (r, role) in table.roles.iter().enumerate() {
            let cells = (0..table.profiles.len())
                .filter_map(|p| {
                    let at = |k: usize| parts[k].iter().position(|x| *x == table.profiles[p][k]);
                    Some((at(1)?, at(0)?, table.role_payoff(p, r)?))
                })
                .collect();
            let chart = MetricGrid::from_cells(
                format!("{experiment} ({}): mean payoff of the {role}", table.variant),
                [table.roles[1].clone(), table.roles[0].clone(), format!("mean payoff of a {role} player")],
                levels(1),
                levels(0),
                cells,
            );
            let stem = format!("payoffs_{}_{}", file_safe(&table.variant), file_safe(role));
            written.extend(write_chart(&out, &stem, &chart, &caption)?);
        }
        if let Some(graph) = DeviationGraph::new(&table, experiment) {
            written.extend(write_chart(&out, &format!("deviations_{}", file_safe(&table.variant)), &graph, &caption)?);
        }
    }
    let trajectories = game_dir.join("trajectories.parquet");
    if trajectories.exists() {
        for (stem, chart) in Trajectories::read(&Frame::read(&trajectories)?, &equilibria, experiment)? {
            written.extend(write_chart(&out, &format!("trajectories_{}", file_safe(&stem)), &chart, &caption)?);
        }
    }
    written.sort();
    Ok(written)
}

fn time_label(tick_seconds: f64) -> String {
    format!("time (ticks; 1 tick = {} s)", sig(tick_seconds))
}
