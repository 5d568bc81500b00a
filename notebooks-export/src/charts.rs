//! Charts of a finished run and of a sweep, drawn with plotters into the
//! folder's `charts/` as SVG (for the paper) and PNG (for a quick look).
//! Text is set in the DejaVu Sans font embedded in the crate, so that PNGs
//! render the same on a machine without system fonts; every file is written
//! under a temporary name and renamed, so that a reader never sees half a
//! chart; and the same inputs give the same bytes.

use plotters::coord::Shift;
use plotters::coord::ranged1d::{DefaultFormatting, KeyPointHint, Ranged};
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use plotters::style::{FontStyle, register_font};
use polars::prelude::{DataFrame, DataType, ParquetReader, PolarsError, SerReader};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// Failure to read a run or a sweep, or to draw or write one of its charts.
#[derive(Debug, thiserror::Error)]
pub enum ChartError {
    /// An input file does not exist.
    #[error("{path} is missing")]
    MissingFile {
        /// The file.
        path: PathBuf,
    },
    /// A Parquet file lacks a column the charts need.
    #[error("{path}: no column `{column}`")]
    MissingColumn {
        /// The file.
        path: PathBuf,
        /// The column.
        column: String,
    },
    /// A Parquet file could not be decoded, or a column not converted.
    #[error("{path}: {source}")]
    Polars {
        /// The file.
        path: PathBuf,
        /// Why.
        source: PolarsError,
    },
    /// A JSON file could not be parsed.
    #[error("{path}: {source}")]
    Json {
        /// The file.
        path: PathBuf,
        /// Why.
        source: serde_json::Error,
    },
    /// A file parsed but does not hold what the charts need.
    #[error("{path}: {message}")]
    Invalid {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// A file could not be read, or a chart not written.
    #[error("{path}: {source}")]
    Io {
        /// The file or folder.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// Plotters failed to draw a chart.
    #[error("drawing {path}: {message}")]
    Draw {
        /// The chart being drawn.
        path: PathBuf,
        /// Plotters' message.
        message: String,
    },
    /// The embedded font was rejected by the font loader.
    #[error("the embedded DejaVu Sans font could not be registered")]
    Font,
}

/// Draws every chart of a finished run folder (holding `ticks.parquet`,
/// `heatmap.parquet`, `agents.parquet` and `manifest.json`) into
/// `<run_dir>/charts/`, each as both `<name>.svg` and `<name>.png`: the
/// `dashboard`, the liquidation `heatmap`, the `cascade_sizes` distribution
/// and `pnl_by_population`. The first market's charts carry these plain
/// names; each further market's market charts get `_<market>` appended.
/// Returns the written paths, sorted.
pub fn plot_run(run_dir: &Path) -> Result<Vec<PathBuf>, ChartError> {
    ensure_font()?;
    let info = RunInfo::read(&run_dir.join("manifest.json"))?;
    let ticks = Frame::read(&run_dir.join("ticks.parquet"))?;
    let heatmap = Frame::read(&run_dir.join("heatmap.parquet"))?;
    let agents = Frame::read(&run_dir.join("agents.parquet"))?;
    let out = charts_dir(run_dir)?;

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
        let prefix = format!("{} (seed {})", info.experiment, info.seed);

        let dashboard = Dashboard {
            title: format!("{prefix}: {} price, liquidations and liquidity", market.name),
            time_label: time_label.clone(),
            series: &series,
        };
        written.extend(write_chart(&out, &format!("dashboard{suffix}"), &dashboard)?);

        let map = LiquidationMap::read(
            &heatmap,
            market,
            &series,
            format!("{prefix}: {} liquidation map (long + short notional per price bucket)", market.name),
            time_label.clone(),
        )?;
        written.extend(write_chart(&out, &format!("heatmap{suffix}"), &map)?);

        let cascades =
            CascadeSizes::from_series(&series, format!("{prefix}: {} cascade sizes (complementary CDF)", market.name));
        written.extend(write_chart(&out, &format!("cascade_sizes{suffix}"), &cascades)?);
    }

    let pnl =
        PnlByPopulation::read(&agents, format!("{} (seed {}): trader PnL by population", info.experiment, info.seed))?;
    written.extend(write_chart(&out, "pnl_by_population", &pnl)?);
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
    ensure_font()?;
    let plan_path = sweep_dir.join("plan.json");
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
    let prefix = match (seeds.iter().min(), seeds.iter().max()) {
        (Some(lo), Some(hi)) if lo != hi => format!("{experiment} (seeds {lo}\u{2013}{hi})"),
        (Some(lo), _) => format!("{experiment} (seed {lo})"),
        _ => experiment.to_owned(),
    };
    let axes: Vec<SweepAxis> =
        axis_names.iter().map(|name| SweepAxis::read(&points, name)).collect::<Result<_, _>>()?;
    let mut written = Vec::new();
    if axes.is_empty() {
        return Ok(written);
    }

    for metric in METRICS {
        // A single-market sweep has no spill-over to show.
        if metric.column.starts_with("spillover_")
            && points.f64s(&format!("{}_mean", metric.column)).is_ok_and(|v| v.iter().all(|x| x.unwrap_or(0.0) == 0.0))
        {
            continue;
        }
        let Some(chart) = MetricChart::read(&points, &axes, &metric, &prefix)? else { continue };
        written.extend(write_chart(&out, &format!("metric_{}", metric.column), &chart)?);
    }
    if let [x_axis, y_axis] = axes.as_slice()
        && x_axis.numeric
        && y_axis.numeric
    {
        for metric in METRICS.iter().filter(|m| GRID_METRICS.contains(&m.column)) {
            let Some(chart) = MetricGrid::read(&points, x_axis, y_axis, metric, &prefix)? else { continue };
            written.extend(write_chart(&out, &format!("heatmap_{}", metric.column), &chart)?);
        }
    }
    let paired = sweep_dir.join("paired.parquet");
    if paired.exists()
        && let Some(chart) = PairedChart::read(&Frame::read(&paired)?, &prefix)?
    {
        written.extend(write_chart(&out, "paired_differences", &chart)?);
    }
    written.sort();
    Ok(written)
}

// ---------------------------------------------------------------------------
// Look and feel.

/// DejaVu Sans, shipped with the crate so that PNGs need no system font.
const FONT_BYTES: &[u8] = include_bytes!("../assets/fonts/DejaVuSans.ttf");
/// The family every text element asks for; the embedded font answers it.
const FAMILY: &str = "sans-serif";
/// Text sizes (pixels) that stay legible when a 1600 px wide PNG is scaled
/// down to a paper column.
const TITLE_PX: u32 = 36;
const LABEL_PX: u32 = 26;
const TICK_PX: u32 = 20;
/// Canvas sizes (pixels).
const SIZE: (u32, u32) = (1600, 1000);
const DASHBOARD_SIZE: (u32, u32) = (1600, 1800);
/// Money columns are integer micro-units of the quote currency.
const MICROS: f64 = 1e6;
/// How far above and below the mark's range the liquidation map looks
/// (fraction of price): far-away buckets of low-leverage accounts would
/// otherwise squeeze the interesting band into a few pixels.
const MAP_WINDOW: f64 = 0.10;
/// The liquidation map's colour scale spans this many decades below the
/// largest cell, so that one huge bucket does not wash out the rest.
const MAP_DECADES: f64 = 4.0;
/// At most this many agents of a population are drawn as dots (evenly
/// spaced quantiles beyond it), which keeps the SVG small.
const MAX_DOTS: usize = 400;

/// Colours (the Tableau 10 palette), chosen to stay distinct in print.
mod colour {
    use plotters::style::RGBColor;

    pub const BLUE: RGBColor = RGBColor(31, 119, 180);
    pub const ORANGE: RGBColor = RGBColor(255, 127, 14);
    pub const GREEN: RGBColor = RGBColor(44, 160, 44);
    pub const RED: RGBColor = RGBColor(214, 39, 40);
    pub const PURPLE: RGBColor = RGBColor(148, 103, 189);
    pub const BROWN: RGBColor = RGBColor(140, 86, 75);
    pub const PINK: RGBColor = RGBColor(227, 119, 194);
    pub const GREY: RGBColor = RGBColor(127, 127, 127);
    pub const OLIVE: RGBColor = RGBColor(188, 189, 34);
    pub const CYAN: RGBColor = RGBColor(23, 190, 207);
    pub const INK: RGBColor = RGBColor(30, 30, 30);
    /// The background of a map cell with nothing in it.
    pub const EMPTY: RGBColor = RGBColor(242, 242, 242);
    pub const PALETTE: [RGBColor; 10] = [BLUE, ORANGE, GREEN, RED, PURPLE, BROWN, PINK, GREY, OLIVE, CYAN];
}

/// Registers the embedded font once per process; plotters' ab_glyph
/// loader looks fonts up by family name.
fn ensure_font() -> Result<(), ChartError> {
    static REGISTERED: OnceLock<bool> = OnceLock::new();
    if *REGISTERED.get_or_init(|| register_font(FAMILY, FontStyle::Normal, FONT_BYTES).is_ok()) {
        Ok(())
    } else {
        Err(ChartError::Font)
    }
}

fn font(px: u32) -> TextStyle<'static> {
    TextStyle::from((FAMILY, px).into_font()).color(&colour::INK)
}

fn centred(px: u32) -> TextStyle<'static> {
    font(px).pos(Pos::new(HPos::Center, VPos::Center))
}

/// The largest title size up to `TITLE_PX` at which `text` fits the width
/// of `area`, so that a long experiment name shrinks rather than clips.
fn title_style<DB: DrawingBackend>(area: &DrawingArea<DB, Shift>, text: &str) -> TextStyle<'static> {
    let room = area.dim_in_pixel().0.saturating_sub(60);
    let mut px = TITLE_PX;
    while px > 18 && area.estimate_text_size(text, &font(px)).is_ok_and(|(w, _)| w > room) {
        px -= 2;
    }
    font(px)
}

/// Viridis, sampled at nine points: perceptually uniform, readable in
/// grey-scale print and by colour-blind readers.
fn viridis(t: f64) -> RGBColor {
    const STOPS: [(u8, u8, u8); 9] = [
        (68, 1, 84),
        (71, 44, 122),
        (59, 81, 139),
        (44, 113, 142),
        (33, 144, 141),
        (39, 173, 129),
        (92, 200, 99),
        (170, 220, 50),
        (253, 231, 37),
    ];
    let x = if t.is_finite() { t.clamp(0.0, 1.0) * 8.0 } else { 0.0 };
    let mut i = 0;
    while i < 7 && (i + 1) as f64 <= x {
        i += 1;
    }
    let f = x - i as f64;
    let (a, b) = (STOPS[i], STOPS[i + 1]);
    RGBColor(lerp(a.0, b.0, f), lerp(a.1, b.1, f), lerp(a.2, b.2, f))
}

#[expect(clippy::cast_possible_truncation, reason = "the value is rounded and clamped to 0..=255 before the cast")]
fn lerp(a: u8, b: u8, f: f64) -> u8 {
    (f64::from(a) + (f64::from(b) - f64::from(a)) * f).round().clamp(0.0, 255.0) as u8
}

// ---------------------------------------------------------------------------
// Numbers on axes.

/// Splits a magnitude into a divisor and suffix, so that money in the
/// millions reads "1.25M" rather than "1,250,000".
fn magnitude(m: f64) -> (f64, &'static str) {
    if m >= 1e9 {
        (1e9, "B")
    } else if m >= 1e6 {
        (1e6, "M")
    } else {
        (1.0, "")
    }
}

/// `v` with `decimals` decimals and the integer digits grouped in threes.
fn fixed(v: f64, decimals: usize) -> String {
    let mut s = format!("{v:.decimals$}");
    if s.starts_with('-') && s.trim_start_matches('-').chars().all(|c| c == '0' || c == '.') {
        s.remove(0);
    }
    let (sign, rest) = s.strip_prefix('-').map_or(("", s.as_str()), |r| ("-", r));
    let (int, frac) = rest.split_once('.').map_or((rest, None), |(i, f)| (i, Some(f)));
    let mut grouped = String::new();
    for (i, c) in int.chars().enumerate() {
        if i > 0 && (int.len() - i) % 3 == 0 {
            grouped.push(',');
        }
        grouped.push(c);
    }
    match frac {
        Some(f) => format!("{sign}{grouped}.{f}"),
        None => format!("{sign}{grouped}"),
    }
}

/// `fixed`, without trailing zeros after the decimal point.
fn trimmed(v: f64, decimals: usize) -> String {
    let s = fixed(v, decimals);
    if s.contains('.') { s.trim_end_matches('0').trim_end_matches('.').to_owned() } else { s }
}

/// Three significant digits with a magnitude suffix (k, M, B):
/// for log axes and the values written in heatmap cells.
fn sig(v: f64) -> String {
    sig_digits(v, 3)
}

/// `v` with at least `digits` significant digits and a magnitude suffix.
fn sig_digits(v: f64, digits: i32) -> String {
    let (divisor, suffix) = if v.abs() >= 1e3 && v.abs() < 1e6 { (1e3, "k") } else { magnitude(v.abs()) };
    let x = v / divisor;
    let mut decimals = 0;
    let mut unit = 1.0;
    let floor = 10f64.powi(digits - 1) - 0.05;
    while x != 0.0 && x.abs() * unit < floor && decimals < 8 {
        decimals += 1;
        unit *= 10.0;
    }
    format!("{}{suffix}", trimmed(x, decimals))
}

/// A swept parameter's value as given: integers in full, others in their
/// shortest exact form.
fn exact(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e15 { fixed(v, 0) } else { format!("{v}") }
}

/// How the tick labels of one linear axis are printed: one magnitude suffix
/// for the whole axis, and as many decimals as the step between ticks
/// needs, the same for every label.
#[derive(Clone, Copy, Debug)]
struct Scale {
    divisor: f64,
    suffix: &'static str,
    decimals: usize,
}

impl Scale {
    fn for_ticks(ticks: &[f64]) -> Self {
        let largest = ticks.iter().fold(0.0, |m: f64, t| m.max(t.abs()));
        let (divisor, suffix) = magnitude(largest);
        let step = ticks.windows(2).map(|w| (w[1] - w[0]).abs()).filter(|d| *d > 0.0).fold(f64::INFINITY, f64::min);
        let step = if step.is_finite() { step / divisor } else { 1.0 };
        let mut decimals = 0;
        let mut scaled = step;
        while decimals < 6 && (scaled - scaled.round()).abs() > 1e-6 * scaled.abs().max(1.0) {
            decimals += 1;
            scaled *= 10.0;
        }
        Self { divisor, suffix, decimals }
    }

    fn label(&self, v: f64) -> String {
        let x = v / self.divisor;
        if x.abs() < 0.5 * 10f64.powf(-(self.decimals as f64)) {
            return "0".to_owned();
        }
        format!("{}{}", fixed(x, self.decimals), self.suffix)
    }
}

/// An axis for a series that is zero throughout: only the zero is labelled,
/// so that the empty range above it does not suggest values.
fn zero_axis() -> (Keyed, Scale) {
    (Keyed::linear((0.0, 1.0), vec![0.0]), Scale::for_ticks(&[0.0]))
}

/// A linear axis over `range` labelled with about `n` round ticks within
/// `labelled` (part of the range, when a panel shares its height between
/// two series), and the scale that prints them.
fn nice_axis(range: (f64, f64), labelled: (f64, f64), n: usize) -> (Keyed, Scale) {
    let ticks: Vec<f64> =
        nice_ticks(labelled.0, labelled.1, n).into_iter().filter(|t| *t >= range.0 && *t <= range.1).collect();
    let scale = Scale::for_ticks(&ticks);
    (Keyed::linear(range, ticks), scale)
}

/// About `n` round tick values (multiples of 1, 2 or 5 times a power of
/// ten) covering `lo..=hi`.
fn nice_ticks(lo: f64, hi: f64, n: usize) -> Vec<f64> {
    if !lo.is_finite() || !hi.is_finite() || hi <= lo {
        return vec![lo];
    }
    let raw = (hi - lo) / n.max(1) as f64;
    let power = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 5.0, 10.0].iter().map(|m| m * power).find(|s| *s >= raw).unwrap_or(10.0 * power);
    let mut ticks = Vec::new();
    let mut k = (lo / step).ceil();
    while k * step <= hi + step * 1e-9 {
        ticks.push(k * step);
        k += 1.0;
    }
    ticks
}

/// Ticks for a log axis: powers of ten, with 2 and 5 between them when
/// the range spans fewer than three decades.
fn log_ticks(lo: f64, hi: f64) -> Vec<f64> {
    let mut ticks = Vec::new();
    let mut decade = 10f64.powf(lo.log10().floor());
    let multiples: &[f64] = if hi / lo < 1e3 { &[1.0, 2.0, 5.0] } else { &[1.0] };
    while decade <= hi {
        for m in multiples {
            let v = m * decade;
            if v >= lo * (1.0 - 1e-9) && v <= hi * (1.0 + 1e-9) {
                ticks.push(v);
            }
        }
        decade *= 10.0;
    }
    ticks
}

/// A linear or log axis whose ticks are given rather than chosen by
/// plotters: swept values, category positions, or round log values.
/// (Plotters' own `with_key_points` loses the label formatter on `f64`.)
#[derive(Clone, Debug)]
struct Keyed {
    lo: f64,
    hi: f64,
    log: bool,
    keys: Vec<f64>,
}

impl Keyed {
    fn linear((lo, hi): (f64, f64), keys: Vec<f64>) -> Self {
        Self { lo, hi, log: false, keys }
    }

    fn log((lo, hi): (f64, f64), keys: Vec<f64>) -> Self {
        Self { lo, hi, log: true, keys }
    }

    fn fraction(&self, v: f64) -> f64 {
        if self.log {
            (v.max(f64::MIN_POSITIVE).ln() - self.lo.ln()) / (self.hi.ln() - self.lo.ln())
        } else {
            (v - self.lo) / (self.hi - self.lo)
        }
    }
}

impl Ranged for Keyed {
    type FormatOption = DefaultFormatting;
    type ValueType = f64;

    #[expect(clippy::cast_possible_truncation, reason = "a pixel position, clamped far inside the i32 range")]
    fn map(&self, value: &f64, limit: (i32, i32)) -> i32 {
        let pixel = f64::from(limit.0) + self.fraction(*value) * (f64::from(limit.1) - f64::from(limit.0));
        pixel.round().clamp(-1e6, 1e6) as i32
    }

    fn key_points<H: KeyPointHint>(&self, hint: H) -> Vec<f64> {
        // Only the given ticks: no unlabelled minor lines between them.
        if hint.weight().allow_light_points() { Vec::new() } else { self.keys.clone() }
    }

    fn range(&self) -> std::ops::Range<f64> {
        self.lo..self.hi
    }
}

/// The smallest and largest finite values.
fn extent(values: impl IntoIterator<Item = f64>) -> Option<(f64, f64)> {
    values.into_iter().filter(|v| v.is_finite()).fold(None, |acc, v| match acc {
        None => Some((v, v)),
        Some((lo, hi)) => Some((lo.min(v), hi.max(v))),
    })
}

/// `range` widened by `frac` of its span on both sides, or around its value
/// if it is a single point, so that plotters never gets an empty axis.
fn padded(range: Option<(f64, f64)>, frac: f64) -> (f64, f64) {
    match range {
        None => (0.0, 1.0),
        Some((lo, hi)) if hi > lo => {
            let d = (hi - lo) * frac;
            (lo - d, hi + d)
        }
        Some((v, _)) => {
            let d = if v == 0.0 { 1.0 } else { v.abs() * 0.05 };
            (v - d, v + d)
        }
    }
}

fn time_label(tick_seconds: f64) -> String {
    format!("time (ticks; 1 tick = {} s)", sig(tick_seconds))
}

/// A market name made safe for a file name.
fn file_safe(name: &str) -> String {
    name.chars().map(|c| if c.is_ascii_alphanumeric() || c == '-' { c } else { '_' }).collect()
}

// ---------------------------------------------------------------------------
// Reading inputs.

/// A Parquet file and its path, for error messages.
struct Frame {
    df: DataFrame,
    path: PathBuf,
}

impl Frame {
    fn read(path: &Path) -> Result<Self, ChartError> {
        let file = std::fs::File::open(path).map_err(|source| io_error(path, source))?;
        let df =
            ParquetReader::new(file).finish().map_err(|source| ChartError::Polars { path: path.to_owned(), source })?;
        Ok(Self { df, path: path.to_owned() })
    }

    fn has(&self, name: &str) -> bool {
        self.df.column(name).is_ok()
    }

    fn cast(&self, name: &str, dtype: &DataType) -> Result<polars::prelude::Column, ChartError> {
        let column = self
            .df
            .column(name)
            .map_err(|_| ChartError::MissingColumn { path: self.path.clone(), column: name.to_owned() })?;
        column.cast(dtype).map_err(|source| self.polars(source))
    }

    fn polars(&self, source: PolarsError) -> ChartError {
        ChartError::Polars { path: self.path.clone(), source }
    }

    fn f64s(&self, name: &str) -> Result<Vec<Option<f64>>, ChartError> {
        let column = self.cast(name, &DataType::Float64)?;
        Ok(column.f64().map_err(|e| self.polars(e))?.iter().collect())
    }

    fn u64s(&self, name: &str) -> Result<Vec<Option<u64>>, ChartError> {
        let column = self.cast(name, &DataType::UInt64)?;
        Ok(column.u64().map_err(|e| self.polars(e))?.iter().collect())
    }

    fn strings(&self, name: &str) -> Result<Vec<Option<String>>, ChartError> {
        if self.df.column(name).is_ok_and(|c| c.dtype().is_float()) {
            return Ok(self.f64s(name)?.into_iter().map(|v| v.map(exact)).collect());
        }
        let column = self.cast(name, &DataType::String)?;
        Ok(column.str().map_err(|e| self.polars(e))?.iter().map(|s| s.map(str::to_owned)).collect())
    }

    fn is_numeric(&self, name: &str) -> Result<bool, ChartError> {
        let column = self
            .df
            .column(name)
            .map_err(|_| ChartError::MissingColumn { path: self.path.clone(), column: name.to_owned() })?;
        Ok(column.dtype().is_primitive_numeric())
    }
}

fn io_error(path: &Path, source: std::io::Error) -> ChartError {
    if source.kind() == std::io::ErrorKind::NotFound {
        ChartError::MissingFile { path: path.to_owned() }
    } else {
        ChartError::Io { path: path.to_owned(), source }
    }
}

fn read_json(path: &Path) -> Result<serde_json::Value, ChartError> {
    let text = std::fs::read_to_string(path).map_err(|source| io_error(path, source))?;
    serde_json::from_str(&text).map_err(|source| ChartError::Json { path: path.to_owned(), source })
}

/// What the manifest says about a run.
struct RunInfo {
    experiment: String,
    seed: String,
    tick_seconds: f64,
    markets: Vec<MarketInfo>,
}

#[derive(Clone)]
struct MarketInfo {
    name: String,
    /// Quote per price tick, if the manifest gives it.
    tick_size: Option<f64>,
}

impl RunInfo {
    fn read(path: &Path) -> Result<Self, ChartError> {
        let manifest = read_json(path)?;
        let invalid = |message: &str| ChartError::Invalid { path: path.to_owned(), message: message.to_owned() };
        let experiment =
            manifest.get("experiment").and_then(|v| v.as_str()).ok_or_else(|| invalid("no `experiment` string"))?;
        // The seed is printed as written, so that a u64 beyond 2^53 is not rounded.
        let seed = manifest.get("seed").map(ToString::to_string).ok_or_else(|| invalid("no `seed`"))?;
        let config = manifest.get("config");
        let tick_seconds = config.and_then(|c| c.get("tick_seconds")).and_then(|v| v.as_f64()).unwrap_or(1.0);
        let markets = config
            .and_then(|c| c.get("markets"))
            .and_then(|m| m.as_array())
            .map(|markets| {
                markets
                    .iter()
                    .filter_map(|m| {
                        let name = m.get("name")?.as_str()?.to_owned();
                        Some(MarketInfo { name, tick_size: m.get("tick_size").and_then(|t| t.as_f64()) })
                    })
                    .collect()
            })
            .unwrap_or_default();
        Ok(Self { experiment: experiment.to_owned(), seed, tick_seconds, markets })
    }
}

/// One market's per-tick records, in tick order, money in quote units.
struct MarketSeries {
    tick_size: f64,
    tick: Vec<f64>,
    index_price: Vec<Option<f64>>,
    mark_price: Vec<Option<f64>>,
    spread: Vec<Option<f64>>,
    bid_depth: Vec<Option<f64>>,
    ask_depth: Vec<Option<f64>>,
    open_interest: Vec<Option<f64>>,
    liquidations: Vec<Option<f64>>,
    liquidated_long: Vec<Option<f64>>,
    liquidated_short: Vec<Option<f64>>,
    insurance_fund: Vec<Option<f64>>,
    bad_debt: Vec<Option<f64>>,
    uncovered_bad_debt: Vec<Option<f64>>,
    /// Whether a circuit breaker halted trading in each tick.
    halted: Vec<bool>,
    /// Multiplier of the maintenance rates (dynamic maintenance), 1 when
    /// the rates are as configured.
    maintenance_scale: Vec<Option<f64>>,
    /// Dutch auctions open at the end of each tick.
    auctions_open: Vec<Option<f64>>,
}

impl MarketSeries {
    fn read(frame: &Frame, market: &MarketInfo) -> Result<Self, ChartError> {
        let names = frame.strings("market")?;
        let ticks = frame.f64s("tick")?;
        let mut rows: Vec<(usize, f64)> = names
            .iter()
            .zip(&ticks)
            .enumerate()
            .filter_map(|(row, (name, tick))| {
                (name.as_deref() == Some(market.name.as_str())).then_some((row, (*tick)?))
            })
            .collect();
        rows.sort_by(|a, b| a.1.total_cmp(&b.1));
        let pick = |name: &str, divisor: f64| -> Result<Vec<Option<f64>>, ChartError> {
            let column = frame.f64s(name)?;
            Ok(rows.iter().map(|(row, _)| column[*row].map(|v| v / divisor)).collect())
        };
        // Columns that runs written before the protocol mechanisms lack.
        let pick_optional = |name: &str, divisor: f64| -> Result<Vec<Option<f64>>, ChartError> {
            if frame.has(name) { pick(name, divisor) } else { Ok(vec![None; rows.len()]) }
        };
        let mark = pick("mark", 1.0)?;
        let mark_price = pick("mark_price", 1.0)?;
        // Without a tick size in the manifest, the ticks' own mark in both
        // units gives it.
        let tick_size = market
            .tick_size
            .or_else(|| mark.iter().zip(&mark_price).find_map(|(m, p)| Some((*p)? / (*m).filter(|m| *m != 0.0)?)))
            .unwrap_or(1.0);
        Ok(Self {
            tick_size,
            tick: rows.iter().map(|(_, t)| *t).collect(),
            index_price: pick("index_price", 1.0)?,
            mark_price,
            spread: pick("spread", 1.0)?,
            bid_depth: pick("bid_depth", 1.0)?,
            ask_depth: pick("ask_depth", 1.0)?,
            open_interest: pick("open_interest", 1.0)?,
            liquidations: pick("liquidations", 1.0)?,
            liquidated_long: pick("liquidated_long", MICROS)?,
            liquidated_short: pick("liquidated_short", MICROS)?,
            insurance_fund: pick("insurance_fund", MICROS)?,
            bad_debt: pick("bad_debt", MICROS)?,
            uncovered_bad_debt: pick("uncovered_bad_debt", MICROS)?,
            halted: pick_optional("halted", 1.0)?.iter().map(|h| h.is_some_and(|h| h > 0.0)).collect(),
            maintenance_scale: pick_optional("maintenance_scale", 1e6)?,
            auctions_open: pick_optional("auctions_open", 1.0)?,
        })
    }

    /// The halted stretches, as `[first tick, end of last tick)`.
    fn halts(&self) -> Vec<(f64, f64)> {
        let mut out: Vec<(f64, f64)> = Vec::new();
        for (t, halted) in self.tick.iter().zip(&self.halted) {
            if !halted {
                continue;
            }
            match out.last_mut() {
                Some(last) if last.1 == *t => last.1 = t + 1.0,
                _ => out.push((*t, t + 1.0)),
            }
        }
        out
    }

    /// The time axis: from the first tick to the end of the last.
    fn time_range(&self) -> (f64, f64) {
        match (self.tick.first(), self.tick.last()) {
            (Some(first), Some(last)) => (*first, last + 1.0),
            _ => (0.0, 1.0),
        }
    }

    /// Liquidated notional (long + short, quote) of each tick with any
    /// liquidation, with its tick.
    fn liquidation_ticks(&self) -> Vec<(f64, f64)> {
        (0..self.tick.len())
            .filter_map(|i| {
                let size = self.liquidated_long[i].unwrap_or(0.0) + self.liquidated_short[i].unwrap_or(0.0);
                (self.liquidations[i].unwrap_or(0.0) > 0.0 || size > 0.0).then_some((self.tick[i], size))
            })
            .collect()
    }
}

/// `(x, y)` pairs where `y` is present.
fn pairs(x: &[f64], y: &[Option<f64>]) -> Vec<(f64, f64)> {
    x.iter().zip(y).filter_map(|(x, y)| Some((*x, (*y)?))).filter(|(_, y)| y.is_finite()).collect()
}

/// `(x, y)` pairs split where `y` is missing, so that a line shows the gap
/// (an empty book side has no spread) instead of bridging it.
fn segments(x: &[f64], y: &[Option<f64>]) -> Vec<Vec<(f64, f64)>> {
    let mut out: Vec<Vec<(f64, f64)>> = vec![Vec::new()];
    for (x, y) in x.iter().zip(y) {
        match y {
            Some(y) if y.is_finite() => out.last_mut().map_or((), |s| s.push((*x, *y))),
            _ => {
                if out.last().is_some_and(|s| !s.is_empty()) {
                    out.push(Vec::new());
                }
            }
        }
    }
    out.retain(|s| !s.is_empty());
    out
}

/// Running sum, missing values counting as zero.
fn cumulative(values: &[Option<f64>]) -> Vec<Option<f64>> {
    let mut total = 0.0;
    values
        .iter()
        .map(|v| {
            total += v.unwrap_or(0.0);
            Some(total)
        })
        .collect()
}

// ---------------------------------------------------------------------------
// Writing charts.

/// A chart that can draw itself on any plotters backend.
trait Chart {
    fn size(&self) -> (u32, u32) {
        SIZE
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), DrawFailure>;
}

/// A plotters error, reduced to its message; `write_chart` adds the path.
#[derive(Debug)]
struct DrawFailure(String);

impl<E: std::error::Error + Send + Sync> From<DrawingAreaErrorKind<E>> for DrawFailure {
    fn from(e: DrawingAreaErrorKind<E>) -> Self {
        Self(e.to_string())
    }
}

fn charts_dir(dir: &Path) -> Result<PathBuf, ChartError> {
    let out = dir.join("charts");
    std::fs::create_dir_all(&out).map_err(|source| ChartError::Io { path: out.clone(), source })?;
    Ok(out)
}

fn draw_on<DB: DrawingBackend, C: Chart>(root: &DrawingArea<DB, Shift>, chart: &C) -> Result<(), DrawFailure> {
    root.fill(&WHITE)?;
    chart.draw(root)?;
    root.present()?;
    Ok(())
}

/// Draws `chart` as `<dir>/<stem>.svg` and `<dir>/<stem>.png`, each first
/// under a temporary name in the same folder and then renamed into place.
fn write_chart<C: Chart>(dir: &Path, stem: &str, chart: &C) -> Result<[PathBuf; 2], ChartError> {
    let size = chart.size();
    let pid = std::process::id();

    let svg_path = dir.join(format!("{stem}.svg"));
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, size).into_drawing_area();
        draw_on(&root, chart).map_err(|DrawFailure(message)| ChartError::Draw { path: svg_path.clone(), message })?;
    }
    let svg_tmp = dir.join(format!(".{stem}.{pid}.tmp.svg"));
    std::fs::write(&svg_tmp, svg.as_bytes()).map_err(|source| ChartError::Io { path: svg_tmp.clone(), source })?;
    rename(&svg_tmp, &svg_path)?;

    let png_path = dir.join(format!("{stem}.png"));
    // The temporary name keeps the `.png` extension: the encoder picks the
    // image format from it.
    let png_tmp = dir.join(format!(".{stem}.{pid}.tmp.png"));
    let drawn = {
        let root = BitMapBackend::new(&png_tmp, size).into_drawing_area();
        draw_on(&root, chart)
    };
    if let Err(DrawFailure(message)) = drawn {
        // A half-drawn temporary file is useless; failing to remove it
        // changes nothing for the caller, who gets the drawing error.
        let _ = std::fs::remove_file(&png_tmp);
        return Err(ChartError::Draw { path: png_path, message });
    }
    rename(&png_tmp, &png_path)?;
    Ok([png_path, svg_path])
}

fn rename(from: &Path, to: &Path) -> Result<(), ChartError> {
    std::fs::rename(from, to).map_err(|source| {
        let _ = std::fs::remove_file(from);
        ChartError::Io { path: to.to_owned(), source }
    })
}

/// A chart holding only a title and a sentence, for inputs with nothing to
/// plot (a run without liquidations has no cascade sizes).
fn draw_message<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    title: &str,
    message: &str,
) -> Result<(), DrawFailure> {
    let body = titled(root, title)?;
    let (w, h) = body.dim_in_pixel();
    let centre = (i32::try_from(w / 2).unwrap_or(0), i32::try_from(h / 2).unwrap_or(0));
    body.draw(&Text::new(message.to_owned(), centre, centred(LABEL_PX + 4)))?;
    Ok(())
}

// ---------------------------------------------------------------------------
// Run charts.

/// Four panels over a shared time axis: prices with liquidations, spread
/// and depth, open interest, and the insurance fund against bad debt.
struct Dashboard<'a> {
    title: String,
    time_label: String,
    series: &'a MarketSeries,
}

impl Chart for Dashboard<'_> {
    fn size(&self) -> (u32, u32) {
        DASHBOARD_SIZE
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), DrawFailure> {
        let s = self.series;
        let body = titled(root, &self.title)?;
        let panels = body.split_evenly((4, 1));
        let x = s.time_range();
        let (x_axis, fx) = nice_axis(x, x, 10);
        let x_fmt = |v: &f64| fx.label(*v);

        // (a) Prices in the upper part of the panel and liquidation bars in
        // the lower part, each on its own axis and labelled only over its
        // own part, so that they never overlap.
        {
            let prices = pairs(&s.tick, &s.index_price).into_iter().chain(pairs(&s.tick, &s.mark_price)).map(|p| p.1);
            let (lo, hi) = padded(extent(prices), 0.0);
            let span = (hi - lo).max(hi.abs() * 1e-4);
            let (y_axis, fy) = nice_axis((lo - 0.8 * span, hi + 0.08 * span), (lo, hi), 5);
            let bars: Vec<(f64, f64, f64)> = (0..s.tick.len())
                .map(|i| (s.tick[i], s.liquidated_long[i].unwrap_or(0.0), s.liquidated_short[i].unwrap_or(0.0)))
                .filter(|(_, l, sh)| *l > 0.0 || *sh > 0.0)
                .collect();
            let bar_max = bars.iter().map(|(_, l, sh)| l + sh).fold(0.0, f64::max);
            let (y2_axis, fy2) =
                if bar_max > 0.0 { nice_axis((0.0, bar_max / 0.42), (0.0, bar_max), 4) } else { zero_axis() };
            let mut chart =
                panel(&panels[0], "(a) Index and mark price; notional liquidated per tick", PanelAxes::Both)
                    .build_cartesian_2d(x_axis.clone(), y_axis)?
                    .set_secondary_coord(x_axis.clone(), y2_axis);
            chart
                .configure_mesh()
                .y_desc("price (quote)")
                .y_label_formatter(&|v| fy.label(*v))
                .x_label_formatter(&x_fmt)
                .label_style(font(TICK_PX))
                .set_all_tick_mark_size(6)
                .axis_desc_style(font(LABEL_PX))
                .bold_line_style(BLACK.mix(0.08))
                .draw()?;
            right_axis(&mut chart, "liquidated (quote per tick)", &fy2)?;
            chart
                .draw_secondary_series(
                    bars.iter().map(|(t, l, _)| Rectangle::new([(*t, 0.0), (*t + 1.0, *l)], colour::RED.filled())),
                )?
                .label("longs liquidated (right axis)")
                .legend(|(x, y)| Rectangle::new([(x, y - 8), (x + 30, y + 8)], colour::RED.filled()));
            chart
                .draw_secondary_series(
                    bars.iter()
                        .map(|(t, l, sh)| Rectangle::new([(*t, *l), (*t + 1.0, *l + *sh)], colour::GREEN.filled())),
                )?
                .label("shorts liquidated (right axis)")
                .legend(|(x, y)| Rectangle::new([(x, y - 8), (x + 30, y + 8)], colour::GREEN.filled()));
            let halts = s.halts();
            if !halts.is_empty() {
                let (top, bottom) = (hi + 0.08 * span, lo - 0.8 * span);
                let shade = colour::GREY.mix(0.25).filled();
                chart
                    .draw_series(halts.iter().map(|(a, b)| Rectangle::new([(*a, bottom), (*b, top)], shade)))?
                    .label("trading halted")
                    .legend(move |(x, y)| Rectangle::new([(x, y - 8), (x + 30, y + 8)], shade));
            }
            chart
                .draw_series(LineSeries::new(pairs(&s.tick, &s.index_price), colour::INK.stroke_width(2)))?
                .label("index price")
                .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 30, y)], colour::INK.stroke_width(2)));
            chart
                .draw_series(LineSeries::new(pairs(&s.tick, &s.mark_price), colour::BLUE.stroke_width(3)))?
                .label("mark price")
                .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 30, y)], colour::BLUE.stroke_width(3)));
            legend(&mut chart, SeriesLabelPosition::LowerLeft)?;
        }

        // (b) The spread on a log axis: it jumps by orders of magnitude when
        // the book is swept, and a linear axis would flatten normal times.
        {
            let spread_extent = extent(s.spread.iter().flatten().copied().filter(|v| *v > 0.0));
            let (lo, hi) = spread_extent.map_or((1.0, 10.0), |(lo, hi)| (lo, hi.max(lo * 10.0)));
            let y = (lo / 1.5, hi * 1.5);
            let depth_max = s.bid_depth.iter().chain(&s.ask_depth).flatten().fold(0.0, |a: f64, b| a.max(*b));
            let depth_top = if depth_max > 0.0 { depth_max } else { 1.0 };
            let (y2_axis, fy2) = nice_axis((0.0, depth_top * 1.1), (0.0, depth_top), 5);
            let mut chart = panel(&panels[1], "(b) Spread and depth within the depth band", PanelAxes::Both)
                .build_cartesian_2d(x_axis.clone(), Keyed::log(y, log_ticks(y.0, y.1)))?
                .set_secondary_coord(x_axis.clone(), y2_axis);
            chart
                .configure_mesh()
                .y_desc("spread (ticks, log scale)")
                .y_label_formatter(&|v| sig(*v))
                .x_label_formatter(&x_fmt)
                .label_style(font(TICK_PX))
                .set_all_tick_mark_size(6)
                .axis_desc_style(font(LABEL_PX))
                .bold_line_style(BLACK.mix(0.08))
                .draw()?;
            right_axis(&mut chart, "depth (lots)", &fy2)?;
            chart
                .draw_secondary_series(LineSeries::new(pairs(&s.tick, &s.bid_depth), colour::GREEN.stroke_width(2)))?
                .label("bid depth (right axis)")
                .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 30, y)], colour::GREEN.stroke_width(2)));
            chart
                .draw_secondary_series(LineSeries::new(pairs(&s.tick, &s.ask_depth), colour::RED.stroke_width(2)))?
                .label("ask depth (right axis)")
                .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 30, y)], colour::RED.stroke_width(2)));
            let mut labelled = false;
            for segment in segments(&s.tick, &s.spread) {
                let anno = chart.draw_series(LineSeries::new(segment, colour::INK.stroke_width(2)))?;
                if !labelled {
                    anno.label("spread (left axis; gaps: a book side empty)")
                        .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 30, y)], colour::INK.stroke_width(2)));
                    labelled = true;
                }
            }
            legend(&mut chart, SeriesLabelPosition::UpperLeft)?;
        }

        // (c) Open interest, with the protocol's state on the right axis:
        // the maintenance multiplier when it moved, otherwise the Dutch
        // auctions open when there were any. Without either, the empty
        // secondary axis keeps the plot as wide as the panels around it.
        {
            let oi = pairs(&s.tick, &s.open_interest);
            let y = padded(extent(oi.iter().map(|p| p.1)), 0.1);
            let (y_axis, fy) = nice_axis(y, y, 5);
            let scale = pairs(&s.tick, &s.maintenance_scale);
            let auctions = pairs(&s.tick, &s.auctions_open);
            let right = if scale.iter().any(|p| (p.1 - 1.0).abs() > 1e-9) {
                Some((scale, "maintenance multiplier", colour::ORANGE))
            } else if auctions.iter().any(|p| p.1 > 0.0) {
                Some((auctions, "Dutch auctions open", colour::BROWN))
            } else {
                None
            };
            let caption = match &right {
                Some((_, name, _)) => format!("(c) Open interest; {name}"),
                None => "(c) Open interest".to_owned(),
            };
            let (y2_axis, fy2) = match &right {
                Some((points, _, _)) => {
                    let top = points.iter().map(|p| p.1).fold(1.0, f64::max);
                    nice_axis((0.0, top * 1.1), (0.0, top), 4)
                }
                None => (Keyed::linear(y, Vec::new()), Scale::for_ticks(&[])),
            };
            let mut chart = panel(&panels[2], &caption, PanelAxes::Both)
                .build_cartesian_2d(x_axis.clone(), y_axis)?
                .set_secondary_coord(x_axis.clone(), y2_axis);
            chart
                .configure_mesh()
                .y_desc("open interest (lots)")
                .y_label_formatter(&|v| fy.label(*v))
                .x_label_formatter(&x_fmt)
                .label_style(font(TICK_PX))
                .set_all_tick_mark_size(6)
                .axis_desc_style(font(LABEL_PX))
                .bold_line_style(BLACK.mix(0.08))
                .draw()?;
            let line = chart.draw_series(LineSeries::new(oi, colour::PURPLE.stroke_width(3)))?;
            if let Some((points, name, c)) = right {
                line.label("open interest (left axis)")
                    .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 30, y)], colour::PURPLE.stroke_width(3)));
                right_axis(&mut chart, name, &fy2)?;
                chart
                    .draw_secondary_series(LineSeries::new(points, c.stroke_width(3)))?
                    .label(format!("{name} (right axis)"))
                    .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 30, y)], c.stroke_width(3)));
                legend(&mut chart, SeriesLabelPosition::UpperRight)?;
            }
        }

        // (d) The insurance fund against the bad debt it absorbed (covered)
        // and the bad debt left over (uncovered), both cumulative.
        {
            let fund = pairs(&s.tick, &s.insurance_fund);
            let y = padded(extent(fund.iter().map(|p| p.1)), 0.1);
            let (y_axis, fy) = nice_axis(y, y, 5);
            let bad_debt = pairs(&s.tick, &cumulative(&s.bad_debt));
            let uncovered = pairs(&s.tick, &cumulative(&s.uncovered_bad_debt));
            let debt_max = bad_debt.iter().chain(&uncovered).map(|p| p.1).fold(0.0, f64::max);
            let (y2_axis, fy2) =
                if debt_max > 0.0 { nice_axis((0.0, debt_max * 1.1), (0.0, debt_max), 5) } else { zero_axis() };
            let mut chart = panel(&panels[3], "(d) Insurance fund and cumulative bad debt", PanelAxes::BothWithTime)
                .build_cartesian_2d(x_axis.clone(), y_axis)?
                .set_secondary_coord(x_axis.clone(), y2_axis);
            chart
                .configure_mesh()
                .x_desc(self.time_label.as_str())
                .y_desc("insurance fund (quote)")
                .y_label_formatter(&|v| fy.label(*v))
                .x_label_formatter(&x_fmt)
                .label_style(font(TICK_PX))
                .set_all_tick_mark_size(6)
                .axis_desc_style(font(LABEL_PX))
                .bold_line_style(BLACK.mix(0.08))
                .draw()?;
            right_axis(&mut chart, "cumulative bad debt (quote)", &fy2)?;
            chart
                .draw_series(LineSeries::new(fund, colour::BLUE.stroke_width(3)))?
                .label("insurance fund (left axis)")
                .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 30, y)], colour::BLUE.stroke_width(3)));
            chart
                .draw_secondary_series(LineSeries::new(bad_debt, colour::ORANGE.stroke_width(3)))?
                .label("bad debt, all (right axis)")
                .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 30, y)], colour::ORANGE.stroke_width(3)));
            chart
                .draw_secondary_series(DashedLineSeries::new(uncovered, 12, 6, colour::RED.stroke_width(3)))?
                .label("bad debt, uncovered (right axis)")
                .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 30, y)], colour::RED.stroke_width(3)));
            legend(&mut chart, SeriesLabelPosition::UpperLeft)?;
        }
        Ok(())
    }
}

/// Draws a dashboard panel's right axis, described by `desc` and labelled
/// by `scale`.
fn right_axis<'a, DB: DrawingBackend + 'a>(
    chart: &mut plotters::chart::DualCoordChartContext<'a, DB, Cartesian2d<Keyed, Keyed>, Cartesian2d<Keyed, Keyed>>,
    desc: &str,
    scale: &Scale,
) -> Result<(), DrawFailure> {
    chart
        .configure_secondary_axes()
        .y_desc(desc)
        .y_label_formatter(&|v| scale.label(*v))
        .label_style(font(TICK_PX))
        .set_all_tick_mark_size(6)
        .axis_desc_style(font(LABEL_PX))
        .draw()?;
    Ok(())
}

/// Which label areas a dashboard panel has: every panel has both y axes;
/// only the bottom one has room for the time axis' description.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum PanelAxes {
    Both,
    BothWithTime,
}

fn panel<'a, 'b, DB: DrawingBackend>(
    area: &'a DrawingArea<DB, Shift>,
    caption: &str,
    axes: PanelAxes,
) -> ChartBuilder<'a, 'b, DB> {
    let mut builder = ChartBuilder::on(area);
    builder
        .caption(caption, font(LABEL_PX))
        .margin(8)
        .margin_right(16)
        .x_label_area_size(if axes == PanelAxes::BothWithTime { 80 } else { 40 })
        .y_label_area_size(150)
        .right_y_label_area_size(150);
    builder
}

/// The area below a title, with a margin above it so that the title is
/// not flush with the edge of the image.
fn titled<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    title: &str,
) -> Result<DrawingArea<DB, Shift>, DrawFailure> {
    let area = root.margin(14, 0, 0, 0);
    Ok(area.titled(title, title_style(&area, title))?)
}

fn legend<'a, DB: DrawingBackend + 'a, CT: CoordTranslate>(
    chart: &mut ChartContext<'a, DB, CT>,
    position: SeriesLabelPosition,
) -> Result<(), DrawFailure> {
    chart
        .configure_series_labels()
        .position(position)
        .label_font(font(TICK_PX))
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK.mix(0.4))
        .margin(12)
        .legend_area_size(48)
        .draw()?;
    Ok(())
}

/// One coloured rectangle of the liquidation map (time × price, quote).
struct Cell {
    t0: f64,
    t1: f64,
    p0: f64,
    p1: f64,
    notional: f64,
}

/// Time × price map of the notional that a mark at each price would force
/// closed, with the mark's path over it.
struct LiquidationMap {
    title: String,
    time_label: String,
    cells: Vec<Cell>,
    mark: Vec<(f64, f64)>,
    x: (f64, f64),
    y: (f64, f64),
    /// The colour scale's range (quote, log), if any cell has notional.
    colours: Option<(f64, f64)>,
}

impl LiquidationMap {
    fn read(
        frame: &Frame,
        market: &MarketInfo,
        series: &MarketSeries,
        title: String,
        time_label: String,
    ) -> Result<Self, ChartError> {
        let names = frame.strings("market")?;
        let ticks = frame.f64s("tick")?;
        let prices = frame.f64s("price")?;
        let longs = frame.f64s("long_notional")?;
        let shorts = frame.f64s("short_notional")?;
        let rows: Vec<(f64, f64, f64)> = (0..names.len())
            .filter(|row| names[*row].as_deref() == Some(market.name.as_str()))
            .filter_map(|row| {
                let notional = (longs[row].unwrap_or(0.0) + shorts[row].unwrap_or(0.0)) / MICROS;
                Some((ticks[row]?, prices[row]?, notional))
            })
            .collect();

        let mut samples: Vec<f64> = rows.iter().map(|r| r.0).collect();
        samples.sort_by(f64::total_cmp);
        samples.dedup();
        let (first_tick, end_tick) = series.time_range();
        let step = min_gap(&samples).unwrap_or_else(|| (end_tick - samples.first().copied().unwrap_or(0.0)).max(1.0));
        let mut buckets: Vec<f64> = rows.iter().map(|r| r.1).collect();
        buckets.sort_by(f64::total_cmp);
        buckets.dedup();
        let width = min_gap(&buckets).unwrap_or_else(|| buckets.first().map_or(1.0, |p| (p.abs() * 0.005).max(1.0)));

        let mark = pairs(&series.tick, &series.mark_price);
        let window = extent(mark.iter().map(|p| p.1))
            .or_else(|| extent(buckets.iter().map(|p| p * series.tick_size)))
            .map_or((0.0, 1.0), |(lo, hi)| (lo * (1.0 - MAP_WINDOW), hi * (1.0 + MAP_WINDOW)));
        let y = padded(Some(window), 0.0);

        let mut cells = Vec::new();
        for (tick, price, notional) in rows {
            let p0 = (price * series.tick_size).max(y.0);
            let p1 = ((price + width) * series.tick_size).min(y.1);
            if notional <= 0.0 || p1 <= p0 {
                continue;
            }
            let next = samples.partition_point(|s| *s <= tick);
            let t1 = samples.get(next).copied().unwrap_or(tick + step);
            cells.push(Cell { t0: tick, t1, p0, p1, notional });
        }
        let x0 = samples.first().copied().unwrap_or(first_tick).min(first_tick);
        let x1 = samples.last().map_or(end_tick, |s| s + step).max(end_tick);
        let colours = extent(cells.iter().map(|c| c.notional))
            .map(|(lo, hi)| (lo.max(hi / 10f64.powf(MAP_DECADES)), hi))
            .map(|(lo, hi)| if hi > lo { (lo, hi) } else { (hi / 10.0, hi) });
        Ok(Self { title, time_label, cells, mark, x: padded(Some((x0, x1)), 0.0), y, colours })
    }
}

/// The smallest positive gap between neighbours of sorted distinct values.
fn min_gap(sorted: &[f64]) -> Option<f64> {
    sorted.windows(2).map(|w| w[1] - w[0]).filter(|d| *d > 0.0).min_by(f64::total_cmp)
}

impl Chart for LiquidationMap {
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), DrawFailure> {
        let body = titled(root, &self.title)?;
        let (w, _) = body.dim_in_pixel();
        let (main, side) = body.split_horizontally(w.saturating_sub(260));
        let (x_axis, fx) = nice_axis(self.x, self.x, 10);
        let (y_axis, fy) = nice_axis(self.y, self.y, 8);
        let mut chart = ChartBuilder::on(&main)
            .margin(10)
            .margin_right(20)
            .x_label_area_size(80)
            .y_label_area_size(150)
            .build_cartesian_2d(x_axis, y_axis)?;
        chart
            .configure_mesh()
            .disable_mesh()
            .x_desc(self.time_label.as_str())
            .y_desc(format!("price (quote; mark range \u{b1} {:.0}%)", MAP_WINDOW * 100.0))
            .x_label_formatter(&|v| fx.label(*v))
            .y_label_formatter(&|v| fy.label(*v))
            .label_style(font(TICK_PX))
            .set_all_tick_mark_size(6)
            .axis_desc_style(font(LABEL_PX))
            .draw()?;
        chart.draw_series(std::iter::once(Rectangle::new(
            [(self.x.0, self.y.0), (self.x.1, self.y.1)],
            colour::EMPTY.filled(),
        )))?;
        if let Some((lo, hi)) = self.colours {
            let t = |v: f64| (v.max(lo).ln() - lo.ln()) / (hi.ln() - lo.ln());
            chart.draw_series(
                self.cells
                    .iter()
                    .map(|c| Rectangle::new([(c.t0, c.p0), (c.t1, c.p1)], viridis(t(c.notional)).filled())),
            )?;
        }
        // A dark casing under a white line keeps the path visible over
        // both the dark and the light end of the colour map.
        chart.draw_series(LineSeries::new(self.mark.iter().copied(), colour::INK.stroke_width(7)))?;
        chart
            .draw_series(LineSeries::new(self.mark.iter().copied(), WHITE.stroke_width(3)))?
            .label("mark price")
            .legend(|(x, y)| {
                EmptyElement::at((x, y))
                    + PathElement::new(vec![(0, 0), (30, 0)], colour::INK.stroke_width(7))
                    + PathElement::new(vec![(0, 0), (30, 0)], WHITE.stroke_width(3))
            });
        legend(&mut chart, SeriesLabelPosition::UpperRight)?;
        if self.colours.is_none() {
            let (mw, mh) = main.dim_in_pixel();
            let centre = (i32::try_from(mw / 2).unwrap_or(0), i32::try_from(mh / 2).unwrap_or(0));
            main.draw(&Text::new(
                "No open position would be liquidated in this price window.",
                centre,
                centred(LABEL_PX),
            ))?;
        }
        let (lo, hi) = self.colours.unwrap_or((1.0, 10.0));
        ColourBar {
            lo,
            hi,
            scale: ColourScale::Log,
            label: "liquidatable notional (quote, log scale)",
            top: 10,
            bottom: 90,
        }
        .draw(&side)
    }
}

/// How values map to colours.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum ColourScale {
    Linear,
    Log,
}

/// A vertical colour scale from `lo` to `hi` with labelled ticks on its
/// right, `top` and `bottom` pixels in from its area's edges so that it
/// lines up with the plotting area beside it.
struct ColourBar<'a> {
    lo: f64,
    hi: f64,
    scale: ColourScale,
    label: &'a str,
    top: u32,
    bottom: u32,
}

impl ColourBar<'_> {
    fn draw<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> Result<(), DrawFailure> {
        let (lo, hi) = (self.lo, self.hi);
        // The bar is drawn in 0..1 and labelled at the ticks' positions, so
        // that one code path serves both scales.
        let position = |v: f64| match self.scale {
            ColourScale::Log => (v / lo).ln() / (hi / lo).ln(),
            ColourScale::Linear => (v - lo) / (hi - lo),
        };
        let ticks = match self.scale {
            ColourScale::Log => log_ticks(lo, hi),
            ColourScale::Linear => nice_ticks(lo, hi, 6),
        };
        let linear = Scale::for_ticks(&ticks);
        let labelled: Vec<(f64, String)> = ticks
            .iter()
            .map(|v| {
                let label = if self.scale == ColourScale::Log { sig(*v) } else { linear.label(*v) };
                (position(*v), label)
            })
            .filter(|(t, _)| (-1e-9..=1.0 + 1e-9).contains(t))
            .collect();
        let keys = labelled.iter().map(|(t, _)| *t).collect();
        let mut chart = ChartBuilder::on(area)
            .margin_top(self.top)
            .margin_bottom(self.bottom)
            .margin_left(20)
            .margin_right(10)
            .set_label_area_size(LabelAreaPosition::Right, 170)
            .build_cartesian_2d(0.0..1.0, Keyed::linear((0.0, 1.0), keys))?;
        chart
            .configure_mesh()
            .disable_mesh()
            .disable_x_axis()
            .y_desc(self.label)
            .y_label_formatter(&|t| {
                labelled
                    .iter()
                    .min_by(|a, b| (a.0 - t).abs().total_cmp(&(b.0 - t).abs()))
                    .map_or(String::new(), |l| l.1.clone())
            })
            .label_style(font(TICK_PX))
            .set_all_tick_mark_size(6)
            .axis_desc_style(font(LABEL_PX))
            .draw()?;
        let strips = 200;
        chart.draw_series((0..strips).map(|k| {
            let (a, b) = (f64::from(k) / f64::from(strips), f64::from(k + 1) / f64::from(strips));
            Rectangle::new([(0.0, a), (1.0, b)], viridis((a + b) / 2.0).filled())
        }))?;
        chart.draw_series(std::iter::once(Rectangle::new([(0.0, 0.0), (1.0, 1.0)], colour::INK.stroke_width(1))))?;
        Ok(())
    }
}

/// The complementary CDF of cascade sizes, per tick and per episode of
/// consecutive liquidation ticks.
struct CascadeSizes {
    title: String,
    per_tick: Vec<f64>,
    per_episode: Vec<f64>,
}

impl CascadeSizes {
    fn from_series(series: &MarketSeries, title: String) -> Self {
        let ticks = series.liquidation_ticks();
        let mut per_episode = episodes(&ticks);
        let mut per_tick: Vec<f64> = ticks.into_iter().map(|(_, size)| size).filter(|s| *s > 0.0).collect();
        per_episode.retain(|s| *s > 0.0);
        per_tick.sort_by(f64::total_cmp);
        per_episode.sort_by(f64::total_cmp);
        Self { title, per_tick, per_episode }
    }
}

/// The total size of each run of consecutive ticks in `(tick, size)`,
/// ascending by tick: one liquidation episode each.
fn episodes(ticks: &[(f64, f64)]) -> Vec<f64> {
    let mut totals: Vec<f64> = Vec::new();
    let mut last_tick: Option<f64> = None;
    for (tick, size) in ticks {
        match (last_tick, totals.last_mut()) {
            (Some(last), Some(total)) if tick - last <= 1.0 => *total += size,
            _ => totals.push(*size),
        }
        last_tick = Some(*tick);
    }
    totals
}

/// `(x, P(X >= x))` for ascending `sorted`.
fn ccdf(sorted: &[f64]) -> Vec<(f64, f64)> {
    let n = sorted.len() as f64;
    sorted.iter().enumerate().map(|(i, x)| (*x, (n - i as f64) / n)).collect()
}

impl Chart for CascadeSizes {
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), DrawFailure> {
        let body = titled(root, &self.title)?;
        // Without cascades the axes are still drawn, over a nominal range,
        // so that the empty chart reads as a chart that found nothing.
        let (lo, hi) = extent(self.per_tick.iter().chain(&self.per_episode).copied()).unwrap_or((1e3, 1e6));
        let x = (lo / 2.0, hi * 2.0);
        let n =
            self.per_tick.len().max(self.per_episode.len()).max(if self.per_tick.is_empty() { 100 } else { 1 }) as f64;
        let y = (1.0 / n / 2.0, 1.5);
        let mut chart = ChartBuilder::on(&body)
            .margin(20)
            .margin_right(40)
            .x_label_area_size(90)
            .y_label_area_size(150)
            .build_cartesian_2d(Keyed::log(x, log_ticks(x.0, x.1)), Keyed::log(y, log_ticks(y.0, y.1)))?;
        chart
            .configure_mesh()
            .x_desc("cascade size: notional liquidated, long + short (quote, log scale)")
            .y_desc("fraction of cascades at least this large (log scale)")
            .x_label_formatter(&|v| sig(*v))
            .y_label_formatter(&|v| sig(*v))
            .label_style(font(TICK_PX))
            .set_all_tick_mark_size(6)
            .axis_desc_style(font(LABEL_PX))
            .light_line_style(TRANSPARENT)
            .bold_line_style(BLACK.mix(0.1))
            .draw()?;
        if self.per_tick.is_empty() {
            let area = chart.plotting_area();
            let (w, h) = area.dim_in_pixel();
            let centre = (i32::try_from(w / 2).unwrap_or(0), i32::try_from(h / 2).unwrap_or(0));
            area.strip_coord_spec().draw(&Text::new(
                "No liquidations in this run: no cascades to plot.",
                centre,
                centred(LABEL_PX + 4),
            ))?;
            return Ok(());
        }
        let series = [
            (&self.per_tick, colour::BLUE, "per tick with a liquidation"),
            (&self.per_episode, colour::RED, "per episode of consecutive liquidation ticks"),
        ];
        for (sizes, c, what) in series {
            let points = ccdf(sizes);
            chart.draw_series(LineSeries::new(points.iter().copied(), c.stroke_width(2)))?;
            chart
                .draw_series(points.iter().map(|p| Circle::new(*p, 6, c.filled())))?
                .label(format!("{what} (n = {})", sizes.len()))
                .legend(move |(x, y)| Circle::new((x + 12, y), 6, c.filled()));
        }
        legend(&mut chart, SeriesLabelPosition::LowerLeft)?;
        Ok(())
    }
}

/// The spread of PnL across the trader accounts of each population.
struct PnlByPopulation {
    title: String,
    /// Each population's name and its accounts' PnL (quote), ascending.
    groups: Vec<(String, Vec<f64>)>,
}

impl PnlByPopulation {
    fn read(frame: &Frame, title: String) -> Result<Self, ChartError> {
        let populations = frame.strings("population")?;
        let kinds = frame.strings("kind")?;
        let pnl = frame.f64s("pnl")?;
        let mut groups: Vec<(String, Vec<f64>)> = Vec::new();
        for row in 0..populations.len() {
            let (Some(population), Some("trader"), Some(pnl)) = (&populations[row], kinds[row].as_deref(), pnl[row])
            else {
                continue;
            };
            match groups.iter_mut().find(|(name, _)| name == population) {
                Some((_, values)) => values.push(pnl / MICROS),
                None => groups.push((population.clone(), vec![pnl / MICROS])),
            }
        }
        for (_, values) in &mut groups {
            values.sort_by(f64::total_cmp);
        }
        Ok(Self { title, groups })
    }
}

/// The `q` quantile of ascending `sorted` (linear interpolation).
fn quantile(sorted: &[f64], q: f64) -> f64 {
    let last = sorted.len().saturating_sub(1);
    let pos = q.clamp(0.0, 1.0) * last as f64;
    let mut i = 0;
    while i < last && (i + 1) as f64 <= pos {
        i += 1;
    }
    let f = pos - i as f64;
    match (sorted.get(i), sorted.get(i + 1)) {
        (Some(a), Some(b)) => a + (b - a) * f,
        (Some(a), None) => *a,
        _ => f64::NAN,
    }
}

impl Chart for PnlByPopulation {
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), DrawFailure> {
        if self.groups.is_empty() {
            return draw_message(root, &self.title, "No trader accounts in this run.");
        }
        let body = titled(root, &self.title)?;
        let k = self.groups.len();
        let y = padded(extent(self.groups.iter().flat_map(|(_, v)| v.iter().copied()).chain([0.0])), 0.06);
        let (y_axis, fy) = nice_axis(y, y, 8);
        let labels: Vec<String> =
            self.groups.iter().map(|(name, v)| format!("{name} (n = {})", fixed(v.len() as f64, 0))).collect();
        let keys: Vec<f64> = (0..k).map(|i| i as f64).collect();
        let mut chart = ChartBuilder::on(&body)
            .margin(20)
            .margin_right(40)
            .x_label_area_size(90)
            .y_label_area_size(150)
            .build_cartesian_2d(Keyed::linear((-0.6, k as f64 - 0.4), keys), y_axis)?;
        chart
            .configure_mesh()
            .disable_x_mesh()
            .x_desc(format!(
                "population (box: quartiles and median; whiskers: min to max; dots: accounts, at most {MAX_DOTS})"
            ))
            .y_desc("PnL at the end of the run (quote)")
            .x_label_formatter(&|v| {
                let i = v.round();
                if (v - i).abs() < 1e-6 && i >= 0.0 {
                    labels.iter().zip(0..).find(|(_, j)| f64::from(*j) == i).map_or(String::new(), |(l, _)| l.clone())
                } else {
                    String::new()
                }
            })
            .y_label_formatter(&|v| fy.label(*v))
            .label_style(font(TICK_PX))
            .set_all_tick_mark_size(6)
            .axis_desc_style(font(LABEL_PX))
            .bold_line_style(BLACK.mix(0.08))
            .draw()?;
        chart.draw_series(DashedLineSeries::new(
            [(-0.6, 0.0), (k as f64 - 0.4, 0.0)],
            10,
            6,
            colour::GREY.stroke_width(2),
        ))?;
        for (i, (_, values)) in self.groups.iter().enumerate() {
            let c = colour::PALETTE[i % colour::PALETTE.len()];
            let x = i as f64;
            let [min, q1, median, q3, max] = [0.0, 0.25, 0.5, 0.75, 1.0].map(|q| quantile(values, q));
            let half = 0.28;
            // The box's fill goes under the dots and its outline over them,
            // so that both stay visible.
            chart
                .draw_series(std::iter::once(Rectangle::new([(x - half, q1), (x + half, q3)], c.mix(0.2).filled())))?;
            chart.draw_series([
                PathElement::new(vec![(x, min), (x, q1)], colour::INK.stroke_width(2)),
                PathElement::new(vec![(x, q3), (x, max)], colour::INK.stroke_width(2)),
                PathElement::new(vec![(x - half / 2.0, min), (x + half / 2.0, min)], colour::INK.stroke_width(2)),
                PathElement::new(vec![(x - half / 2.0, max), (x + half / 2.0, max)], colour::INK.stroke_width(2)),
            ])?;
            chart.draw_series(
                dots(values)
                    .iter()
                    .enumerate()
                    .map(|(j, v)| Circle::new((x + jitter(j) * 0.5, *v), 3, c.mix(0.7).filled())),
            )?;
            chart.draw_series(std::iter::once(Rectangle::new(
                [(x - half, q1), (x + half, q3)],
                colour::INK.stroke_width(2),
            )))?;
            chart.draw_series(std::iter::once(PathElement::new(
                vec![(x - half, median), (x + half, median)],
                colour::INK.stroke_width(4),
            )))?;
        }
        Ok(())
    }
}

/// The values drawn as dots: all of them, or evenly spaced quantiles of a
/// large population.
fn dots(sorted: &[f64]) -> Vec<f64> {
    if sorted.len() <= MAX_DOTS {
        return sorted.to_vec();
    }
    let last = sorted.len() - 1;
    (0..MAX_DOTS).map(|k| sorted[k * last / (MAX_DOTS - 1)]).collect()
}

/// A deterministic spread in -0.5..0.5 (the golden-ratio sequence), so
/// that dots of equal value do not hide one another.
fn jitter(j: usize) -> f64 {
    (j as f64 * 0.618_033_988_749_895).fract() - 0.5
}

// ---------------------------------------------------------------------------
// Sweep charts.

/// A sweep metric: its column stem in `points.parquet`, its axis label,
/// and the factor that turns it into the label's unit.
#[derive(Clone, Copy, Debug)]
struct Metric {
    column: &'static str,
    label: &'static str,
    factor: f64,
}

const METRICS: [Metric; 11] = [
    Metric { column: "max_drawdown", label: "max drawdown of the mark (%)", factor: 100.0 },
    Metric { column: "half_recovery_ticks", label: "time to recover half the drawdown (ticks)", factor: 1.0 },
    Metric { column: "n_liquidations", label: "liquidations (count)", factor: 1.0 },
    Metric { column: "liquidated_notional", label: "liquidated notional (quote)", factor: 1.0 },
    Metric { column: "largest_cascade", label: "largest one-tick cascade (quote)", factor: 1.0 },
    Metric { column: "spillover_notional", label: "notional liquidated outside the first market (quote)", factor: 1.0 },
    Metric {
        column: "spillover_drawdown",
        label: "largest drawdown of a mark outside the first market (%)",
        factor: 100.0,
    },
    Metric { column: "max_rounds", label: "most liquidation rounds in one tick", factor: 1.0 },
    Metric { column: "bad_debt", label: "bad debt (quote)", factor: 1.0 },
    Metric { column: "uncovered_bad_debt", label: "uncovered bad debt (quote)", factor: 1.0 },
    Metric { column: "insurance_fund", label: "insurance fund at the end (quote)", factor: 1.0 },
];

/// The metrics given a two-axis heatmap.
const GRID_METRICS: [&str; 3] = ["liquidated_notional", "max_drawdown", "bad_debt"];

/// One swept parameter's value at each point, as a position on a chart
/// axis: the value itself if numeric, else the order of first appearance.
struct SweepAxis {
    name: String,
    numeric: bool,
    positions: Vec<Option<f64>>,
    /// Distinct positions, ascending, with their labels.
    levels: Vec<(f64, String)>,
}

impl SweepAxis {
    fn read(points: &Frame, name: &str) -> Result<Self, ChartError> {
        let numeric = points.is_numeric(name)?;
        let mut levels: Vec<(f64, String)> = Vec::new();
        let positions = if numeric {
            let values = points.f64s(name)?;
            for v in values.iter().flatten() {
                if !levels.iter().any(|(p, _)| p == v) {
                    levels.push((*v, exact(*v)));
                }
            }
            values
        } else {
            let mut positions = Vec::new();
            for s in points.strings(name)? {
                positions.push(s.map(|s| match levels.iter().find(|(_, l)| *l == s) {
                    Some((p, _)) => *p,
                    None => {
                        let p = levels.len() as f64;
                        levels.push((p, s));
                        p
                    }
                }));
            }
            positions
        };
        levels.sort_by(|a, b| a.0.total_cmp(&b.0));
        Ok(Self { name: name.to_owned(), numeric, positions, levels })
    }

    fn label_of(&self, position: f64) -> String {
        self.levels.iter().find(|(p, _)| *p == position).map_or_else(|| sig(position), |(_, l)| l.clone())
    }

    /// The chart range and tick positions for this axis.
    fn range_and_ticks(&self) -> ((f64, f64), Vec<f64>) {
        let positions: Vec<f64> = self.levels.iter().map(|l| l.0).collect();
        if !self.numeric {
            let last = positions.len().saturating_sub(1) as f64;
            return ((-0.5, last + 0.5), positions);
        }
        let range = padded(extent(positions.iter().copied()), 0.06);
        // Swept values make the best ticks, unless they are too many to label.
        let ticks = if positions.len() <= 12 { positions } else { nice_ticks(range.0, range.1, 8) };
        (range, ticks)
    }
}

/// The mean, and the 95% confidence bounds if known, of a metric at each
/// point, all scaled to the metric's label unit.
struct MetricColumns {
    mean: Vec<Option<f64>>,
    low: Vec<Option<f64>>,
    high: Vec<Option<f64>>,
}

impl MetricColumns {
    /// `None` if the sweep has no mean of the metric at any point.
    fn read(points: &Frame, metric: &Metric) -> Result<Option<Self>, ChartError> {
        let column = |suffix: &str| -> Result<Vec<Option<f64>>, ChartError> {
            let name = format!("{}_{suffix}", metric.column);
            if points.has(&name) {
                Ok(points
                    .f64s(&name)?
                    .into_iter()
                    .map(|v| v.map(|v| v * metric.factor).filter(|v| v.is_finite()))
                    .collect())
            } else {
                Ok(vec![None; points.df.height()])
            }
        };
        let mean_name = format!("{}_mean", metric.column);
        if !points.has(&mean_name) {
            return Ok(None);
        }
        let mean = column("mean")?;
        if mean.iter().all(Option::is_none) {
            return Ok(None);
        }
        Ok(Some(Self { mean, low: column("ci95_low")?, high: column("ci95_high")? }))
    }
}

/// A metric's mean at each point against the first swept axis, one line
/// per combination of the other axes, with its 95% confidence band.
struct MetricChart {
    title: String,
    x_label: String,
    y_label: String,
    x_axis: ((f64, f64), Vec<f64>),
    x_labels: Vec<(f64, String)>,
    lines: Vec<Line>,
}

struct Line {
    label: String,
    key: Vec<f64>,
    /// `(x, mean, ci low, ci high)`, by `x`.
    points: Vec<(f64, f64, Option<f64>, Option<f64>)>,
}

impl MetricChart {
    fn read(points: &Frame, axes: &[SweepAxis], metric: &Metric, prefix: &str) -> Result<Option<Self>, ChartError> {
        let Some(columns) = MetricColumns::read(points, metric)? else { return Ok(None) };
        let Some((x_axis, others)) = axes.split_first() else { return Ok(None) };
        let mut lines: Vec<Line> = Vec::new();
        for row in 0..columns.mean.len() {
            let (Some(x), Some(mean)) = (x_axis.positions[row], columns.mean[row]) else { continue };
            let key: Vec<f64> = others.iter().map(|a| a.positions[row].unwrap_or(f64::NAN)).collect();
            let point = (x, mean, columns.low[row], columns.high[row]);
            match lines.iter_mut().find(|l| l.key.iter().zip(&key).all(|(a, b)| a.total_cmp(b).is_eq())) {
                Some(line) => line.points.push(point),
                None => {
                    let label = others
                        .iter()
                        .zip(&key)
                        .map(|(a, p)| format!("{} = {}", a.name, a.label_of(*p)))
                        .collect::<Vec<_>>()
                        .join(", ");
                    lines.push(Line { label, key, points: vec![point] });
                }
            }
        }
        for line in &mut lines {
            line.points.sort_by(|a, b| a.0.total_cmp(&b.0));
        }
        lines.sort_by(|a, b| {
            a.key
                .iter()
                .zip(&b.key)
                .map(|(x, y)| x.total_cmp(y))
                .find(|o| o.is_ne())
                .unwrap_or(std::cmp::Ordering::Equal)
        });
        Ok(Some(Self {
            title: format!("{prefix}: {}, mean and 95% CI", metric.label),
            x_label: x_axis.name.clone(),
            y_label: format!("mean {}", metric.label),
            x_axis: x_axis.range_and_ticks(),
            x_labels: x_axis.levels.clone(),
            lines,
        }))
    }
}

impl Chart for MetricChart {
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), DrawFailure> {
        let body = titled(root, &self.title)?;
        let values = self.lines.iter().flat_map(|l| l.points.iter()).flat_map(|p| [Some(p.1), p.2, p.3]).flatten();
        let y = padded(extent(values), 0.08);
        let (y_axis, fy) = nice_axis(y, y, 8);
        let ((x0, x1), ticks) = self.x_axis.clone();
        // Ticks at the swept values are labelled with the values as given.
        let numeric_ticks = self.x_labels.is_empty() || ticks.len() != self.x_labels.len();
        let fx = Scale::for_ticks(&ticks);
        let mut chart = ChartBuilder::on(&body)
            .margin(20)
            .margin_right(40)
            .x_label_area_size(90)
            .y_label_area_size(150)
            .build_cartesian_2d(Keyed::linear((x0, x1), ticks), y_axis)?;
        chart
            .configure_mesh()
            .x_desc(self.x_label.as_str())
            .y_desc(self.y_label.as_str())
            .x_label_formatter(&|v| {
                if numeric_ticks {
                    fx.label(*v)
                } else {
                    self.x_labels.iter().find(|(p, _)| p == v).map_or_else(|| fx.label(*v), |(_, l)| l.clone())
                }
            })
            .y_label_formatter(&|v| fy.label(*v))
            .label_style(font(TICK_PX))
            .set_all_tick_mark_size(6)
            .axis_desc_style(font(LABEL_PX))
            .light_line_style(TRANSPARENT)
            .bold_line_style(BLACK.mix(0.08))
            .draw()?;
        for (i, line) in self.lines.iter().enumerate() {
            let c = colour::PALETTE[i % colour::PALETTE.len()];
            // The band is drawn over each run of neighbouring points that
            // have both bounds (a point of a single replicate has none).
            let mut run: Vec<(f64, f64, f64)> = Vec::new();
            let mut bands: Vec<Vec<(f64, f64, f64)>> = Vec::new();
            for (x, _, low, high) in &line.points {
                match (low, high) {
                    (Some(l), Some(h)) => run.push((*x, *l, *h)),
                    _ => bands.push(std::mem::take(&mut run)),
                }
            }
            bands.push(run);
            for band in bands.into_iter().filter(|b| b.len() >= 2) {
                let outline: Vec<(f64, f64)> =
                    band.iter().map(|(x, _, h)| (*x, *h)).chain(band.iter().rev().map(|(x, l, _)| (*x, *l))).collect();
                chart.draw_series(std::iter::once(Polygon::new(outline, c.mix(0.18).filled())))?;
            }
            chart.draw_series(line.points.iter().filter_map(|(x, _, low, high)| {
                Some(PathElement::new(vec![(*x, (*low)?), (*x, (*high)?)], c.mix(0.6).stroke_width(2)))
            }))?;
            let means: Vec<(f64, f64)> = line.points.iter().map(|p| (p.0, p.1)).collect();
            chart.draw_series(LineSeries::new(means.iter().copied(), c.stroke_width(3)))?;
            let anno = chart.draw_series(means.iter().map(|p| Circle::new(*p, 6, c.filled())))?;
            let label = if line.label.is_empty() { "mean".to_owned() } else { line.label.clone() };
            anno.label(label).legend(move |(x, y)| {
                EmptyElement::at((x, y))
                    + PathElement::new(vec![(0, 0), (30, 0)], c.stroke_width(3))
                    + Circle::new((15, 0), 6, c.filled())
            });
        }
        chart
            .draw_series(std::iter::empty::<Circle<(f64, f64), i32>>())?
            .label("shaded: 95% confidence interval of the mean")
            .legend(|(x, y)| Rectangle::new([(x, y - 8), (x + 30, y + 8)], colour::GREY.mix(0.3).filled()));
        legend(&mut chart, SeriesLabelPosition::UpperLeft)?;
        Ok(())
    }
}

/// A metric's mean over a two-axis grid, as coloured cells with values.
struct MetricGrid {
    title: String,
    x_label: String,
    y_label: String,
    value_label: String,
    x_levels: Vec<String>,
    y_levels: Vec<String>,
    /// `(x level, y level, mean)`.
    cells: Vec<(usize, usize, f64)>,
}

impl MetricGrid {
    fn read(
        points: &Frame,
        x_axis: &SweepAxis,
        y_axis: &SweepAxis,
        metric: &Metric,
        prefix: &str,
    ) -> Result<Option<Self>, ChartError> {
        let Some(columns) = MetricColumns::read(points, metric)? else { return Ok(None) };
        let level = |axis: &SweepAxis, p: Option<f64>| axis.levels.iter().position(|(q, _)| Some(*q) == p);
        let cells = (0..columns.mean.len())
            .filter_map(|row| {
                Some((level(x_axis, x_axis.positions[row])?, level(y_axis, y_axis.positions[row])?, columns.mean[row]?))
            })
            .collect();
        Ok(Some(Self {
            title: format!("{prefix}: mean {}", metric.label),
            x_label: x_axis.name.clone(),
            y_label: y_axis.name.clone(),
            value_label: format!("mean {}", metric.label),
            x_levels: x_axis.levels.iter().map(|l| l.1.clone()).collect(),
            y_levels: y_axis.levels.iter().map(|l| l.1.clone()).collect(),
            cells,
        }))
    }
}

impl Chart for MetricGrid {
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), DrawFailure> {
        let body = titled(root, &self.title)?;
        let (w, _) = body.dim_in_pixel();
        let (main, side) = body.split_horizontally(w.saturating_sub(280));
        let (nx, ny) = (self.x_levels.len() as f64, self.y_levels.len() as f64);
        let x_keys: Vec<f64> = (0..self.x_levels.len()).map(|i| i as f64).collect();
        let y_keys: Vec<f64> = (0..self.y_levels.len()).map(|i| i as f64).collect();
        let level_label = |levels: &[String], v: f64| {
            levels.iter().zip(0..).find(|(_, i)| f64::from(*i) == v).map_or(String::new(), |(l, _)| l.clone())
        };
        let mut chart = ChartBuilder::on(&main)
            .margin(20)
            .margin_right(20)
            .x_label_area_size(90)
            .y_label_area_size(150)
            .build_cartesian_2d(Keyed::linear((-0.5, nx - 0.5), x_keys), Keyed::linear((-0.5, ny - 0.5), y_keys))?;
        chart
            .configure_mesh()
            .disable_mesh()
            .x_desc(self.x_label.as_str())
            .y_desc(self.y_label.as_str())
            .x_label_formatter(&|v| level_label(&self.x_levels, *v))
            .y_label_formatter(&|v| level_label(&self.y_levels, *v))
            .label_style(font(TICK_PX))
            .set_all_tick_mark_size(6)
            .axis_desc_style(font(LABEL_PX))
            .draw()?;
        chart.draw_series(std::iter::once(Rectangle::new(
            [(-0.5, -0.5), (nx - 0.5, ny - 0.5)],
            colour::EMPTY.filled(),
        )))?;
        // The colour scale starts at zero for a metric of one sign, so that
        // colour follows size: a metric that barely varies stays one colour
        // instead of spanning the whole map.
        let (lo, hi) = extent(self.cells.iter().map(|c| c.2)).map_or((0.0, 1.0), |(lo, hi)| (lo.min(0.0), hi.max(0.0)));
        let (lo, hi) = padded(Some((lo, hi)), 0.0);
        let t = |v: f64| (v - lo) / (hi - lo);
        let digits = distinct_digits(self.cells.iter().map(|c| c.2));
        for (i, j, v) in &self.cells {
            let (x, y) = (*i as f64, *j as f64);
            let fill = viridis(t(*v));
            chart.draw_series(std::iter::once(Rectangle::new(
                [(x - 0.5, y - 0.5), (x + 0.5, y + 0.5)],
                fill.filled(),
            )))?;
            // Dark text on the light end of the map, light text on the dark.
            let ink = if t(*v) > 0.55 { colour::INK } else { RGBColor(255, 255, 255) };
            chart.draw_series(std::iter::once(Text::new(
                sig_digits(*v, digits),
                (x, y),
                centred(LABEL_PX).color(&ink),
            )))?;
        }
        ColourBar { lo, hi, scale: ColourScale::Linear, label: &self.value_label, top: 20, bottom: 110 }.draw(&side)
    }
}

/// The fewest significant digits (at least three) at which distinct
/// values are written differently, so that cells that differ say so.
fn distinct_digits(values: impl Iterator<Item = f64>) -> i32 {
    let mut values: Vec<f64> = values.collect();
    values.sort_by(f64::total_cmp);
    values.dedup();
    let mut digits = 3;
    while digits < 8 {
        let labels: Vec<String> = values.iter().map(|v| sig_digits(*v, digits)).collect();
        if labels.windows(2).all(|w| w[0] != w[1]) {
            break;
        }
        digits += 1;
    }
    digits
}

// ---------------------------------------------------------------------------
// Paired differences between the variants of a sweep.

/// The metrics of the paired-difference chart, in panel order.
const PAIRED_METRICS: [Metric; 4] = [
    Metric { column: "max_drawdown", label: "max drawdown (percentage points)", factor: 100.0 },
    Metric { column: "liquidated_notional", label: "liquidated notional (quote)", factor: 1.0 },
    Metric { column: "bad_debt", label: "bad debt (quote)", factor: 1.0 },
    Metric { column: "half_recovery_ticks", label: "time to recover half the drawdown (ticks)", factor: 1.0 },
];

/// Each variant's difference from the reference variant (`paired.parquet`),
/// mean and 95% interval, one panel per metric; one colour per point of
/// the other swept axes.
struct PairedChart {
    title: String,
    variants: Vec<String>,
    groups: Vec<String>,
    /// Per panel, its points.
    panels: Vec<Vec<PairedPoint>>,
}

/// `(variant, group, mean, low, high)`, scaled to the metric's unit.
type PairedPoint = (usize, usize, f64, Option<f64>, Option<f64>);

impl PairedChart {
    fn read(frame: &Frame, prefix: &str) -> Result<Option<Self>, ChartError> {
        let variant = frame.strings("variant")?;
        let reference = frame.strings("reference")?;
        let metric = frame.strings("metric")?;
        let (mean, low, high) = (frame.f64s("diff_mean")?, frame.f64s("diff_ci95_low")?, frame.f64s("diff_ci95_high")?);
        let skip = ["variant", "reference", "metric", "n"];
        let axes: Vec<String> = frame
            .df
            .get_column_names()
            .iter()
            .map(|c| c.to_string())
            .take_while(|c| !skip.contains(&c.as_str()))
            .collect();
        let axis_values: Vec<Vec<Option<String>>> = axes.iter().map(|a| frame.strings(a)).collect::<Result<_, _>>()?;
        let (mut variants, mut groups): (Vec<String>, Vec<String>) = (Vec::new(), Vec::new());
        let mut panels = vec![Vec::new(); PAIRED_METRICS.len()];
        for i in 0..frame.df.height() {
            let Some(k) = PAIRED_METRICS.iter().position(|m| metric[i].as_deref() == Some(m.column)) else { continue };
            let Some(m) = mean[i] else { continue };
            let v = variant[i].clone().unwrap_or_default();
            let g = axes
                .iter()
                .zip(&axis_values)
                .map(|(a, vals)| format!("{} = {}", a, vals[i].clone().unwrap_or_default()))
                .collect::<Vec<_>>()
                .join(", ");
            let vi = variants.iter().position(|x| *x == v).unwrap_or_else(|| {
                variants.push(v);
                variants.len() - 1
            });
            let gi = groups.iter().position(|x| *x == g).unwrap_or_else(|| {
                groups.push(g);
                groups.len() - 1
            });
            let f = PAIRED_METRICS[k].factor;
            panels[k].push((vi, gi, m * f, low[i].map(|x| x * f), high[i].map(|x| x * f)));
        }
        if variants.is_empty() {
            return Ok(None);
        }
        let reference = reference.first().cloned().flatten().unwrap_or_default();
        Ok(Some(Self {
            title: format!("{prefix}: difference from {reference}, same seeds, mean and 95% CI"),
            variants,
            groups,
            panels,
        }))
    }
}

impl Chart for PairedChart {
    fn size(&self) -> (u32, u32) {
        // Room for eight variants a panel in the usual size; more get taller.
        let n = u32::try_from(self.variants.len()).unwrap_or(u32::MAX);
        (SIZE.0, SIZE.1.max(n.saturating_mul(80).saturating_add(360)))
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), DrawFailure> {
        let body = titled(root, &self.title)?;
        let areas = body.split_evenly((2, 2));
        let n = self.variants.len();
        let spread = if self.groups.len() > 1 { 0.5 / self.groups.len() as f64 } else { 0.0 };
        for ((area, metric), points) in areas.iter().zip(&PAIRED_METRICS).zip(&self.panels) {
            let values = points.iter().flat_map(|p| [Some(p.2), p.3, p.4]).flatten().chain([0.0]);
            let x = padded(extent(values), 0.08);
            let (x_axis, fx) = nice_axis(x, x, 5);
            let y_keys: Vec<f64> = (0..n).map(|i| i as f64).collect();
            let mut chart = ChartBuilder::on(area)
                .caption(format!("\u{394} {}", metric.label), font(LABEL_PX))
                .margin(12)
                .margin_right(30)
                .x_label_area_size(50)
                .y_label_area_size(200)
                .build_cartesian_2d(x_axis, Keyed::linear((-0.6, n as f64 - 0.4), y_keys))?;
            chart
                .configure_mesh()
                .x_label_formatter(&|v| fx.label(*v))
                .y_label_formatter(&|v| {
                    // Row k (from the bottom) holds variant n − 1 − k.
                    (0..n)
                        .find(|k| (*k as f64 - v).abs() < 0.25)
                        .map_or_else(String::new, |k| self.variants[n - 1 - k].clone())
                })
                .label_style(font(TICK_PX))
                .set_all_tick_mark_size(6)
                .light_line_style(TRANSPARENT)
                .bold_line_style(BLACK.mix(0.08))
                .draw()?;
            chart.draw_series(std::iter::once(PathElement::new(
                vec![(0.0, -0.6), (0.0, n as f64 - 0.4)],
                colour::INK.stroke_width(2),
            )))?;
            for (v, g, mean, low, high) in points {
                let c = colour::PALETTE[*g % colour::PALETTE.len()];
                // The first variant at the top.
                let row = (n - 1 - *v) as f64;
                let y = row + (*g as f64 - (self.groups.len() as f64 - 1.0) / 2.0) * spread;
                if let (Some(l), Some(h)) = (low, high) {
                    chart.draw_series(std::iter::once(PathElement::new(vec![(*l, y), (*h, y)], c.stroke_width(4))))?;
                    for end in [*l, *h] {
                        chart.draw_series(std::iter::once(PathElement::new(
                            vec![(end, y - 0.12), (end, y + 0.12)],
                            c.stroke_width(3),
                        )))?;
                    }
                }
                chart.draw_series(std::iter::once(Circle::new((*mean, y), 8, c.filled())))?;
            }
            if self.groups.len() > 1 {
                for (g, label) in self.groups.iter().enumerate() {
                    let c = colour::PALETTE[g % colour::PALETTE.len()];
                    chart
                        .draw_series(std::iter::empty::<Circle<(f64, f64), i32>>())?
                        .label(label.clone())
                        .legend(move |(x, y)| Circle::new((x + 15, y), 8, c.filled()));
                }
                legend(&mut chart, SeriesLabelPosition::UpperRight)?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_grouped_and_suffixed() {
        assert_eq!(fixed(59_500.0, 0), "59,500");
        assert_eq!(fixed(-1_234_567.25, 2), "-1,234,567.25");
        assert_eq!(fixed(-0.0001, 2), "0.00");
        assert_eq!(sig(1_240_218.5), "1.24M");
        assert_eq!(sig(227_308.0), "227k");
        assert_eq!(sig(1_000.0), "1k");
        assert_eq!(sig(0.0512), "0.0512");
        assert_eq!(sig_digits(5.9923, 4), "5.992");
        assert_eq!(exact(200.0), "200");
        assert_eq!(exact(0.25), "0.25");
    }

    #[test]
    fn an_axis_prints_every_label_with_the_same_decimals() {
        let money = Scale::for_ticks(&[0.0, 200_000.0, 400_000.0, 1_200_000.0]);
        let labels: Vec<String> = [0.0, 200_000.0, 1_000_000.0].iter().map(|v| money.label(*v)).collect();
        assert_eq!(labels, ["0", "0.2M", "1.0M"]);
        let percent = Scale::for_ticks(&[5.98, 6.0, 6.02]);
        assert_eq!(percent.label(6.0), "6.00");
        assert_eq!(Scale::for_ticks(&[55_000.0, 60_000.0]).label(57_500.0), "57,500");
    }

    #[test]
    fn ticks_are_round_and_inside_the_range() {
        assert_eq!(nice_ticks(0.0, 10.0, 5), [0.0, 2.0, 4.0, 6.0, 8.0, 10.0]);
        assert_eq!(nice_ticks(55_137.0, 60_012.0, 5), [56_000.0, 57_000.0, 58_000.0, 59_000.0, 60_000.0]);
        assert_eq!(log_ticks(0.5, 2_000.0), [1.0, 10.0, 100.0, 1_000.0]);
        assert_eq!(log_ticks(0.01, 1.5), [0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0]);
    }

    #[test]
    fn quartiles_interpolate_between_accounts() {
        assert_eq!(quantile(&[1.0, 2.0, 3.0, 4.0, 5.0], 0.25), 2.0);
        assert_eq!(quantile(&[0.0, 10.0], 0.25), 2.5);
        assert_eq!(quantile(&[7.0], 0.75), 7.0);
        assert_eq!(dots(&(0..1_000).map(f64::from).collect::<Vec<_>>()).len(), MAX_DOTS);
    }

    #[test]
    fn an_episode_is_a_run_of_consecutive_ticks() {
        let ticks = [(10.0, 1.0), (11.0, 2.0), (12.0, 3.0), (20.0, 5.0), (22.0, 7.0)];
        assert_eq!(episodes(&ticks), [6.0, 5.0, 7.0]);
        assert_eq!(ccdf(&[1.0, 2.0, 4.0, 8.0]), [(1.0, 1.0), (2.0, 0.75), (4.0, 0.5), (8.0, 0.25)]);
    }

    #[test]
    fn viridis_runs_from_purple_to_yellow() {
        let rgb = |c: RGBColor| (c.0, c.1, c.2);
        assert_eq!(rgb(viridis(0.0)), (68, 1, 84));
        assert_eq!(rgb(viridis(1.0)), (253, 231, 37));
        assert_eq!(rgb(viridis(f64::NAN)), (68, 1, 84));
        assert_eq!(rgb(viridis(0.5)), (33, 144, 141));
    }
}
