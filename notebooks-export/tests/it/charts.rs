//! Charts drawn from small hand-made run and sweep folders: every chart is
//! written as SVG and PNG, the PNG has the promised size and is not a blank
//! canvas, a run without liquidations still gets its cascade chart, the
//! same inputs give the same bytes, and a missing input names its path.

use crate::fixtures::{METRICS, RunSpec, make_run, make_sweep};
use cascade_notebooks::charts::{ChartError, plot_run, plot_sweep};
use cascade_notebooks::inspect::{chart_problem, png_problem};
use std::path::{Path, PathBuf};

/// Splits written paths into chart stems, checking each stem has exactly
/// its SVG and PNG.
fn stems(paths: &[PathBuf]) -> Vec<String> {
    let mut sorted = paths.to_vec();
    sorted.sort();
    assert_eq!(sorted, paths, "paths are returned sorted");
    let mut stems: Vec<String> =
        paths.iter().map(|p| p.file_stem().expect("stem").to_string_lossy().into_owned()).collect();
    stems.dedup();
    for stem in &stems {
        let exts: Vec<String> = paths
            .iter()
            .filter(|p| p.file_stem().is_some_and(|s| s.to_string_lossy() == *stem))
            .map(|p| p.extension().expect("ext").to_string_lossy().into_owned())
            .collect();
        assert_eq!(exts, ["png", "svg"], "{stem} has a PNG and an SVG");
    }
    stems
}

fn check_all(dir: &Path, stems: &[String], size_of: impl Fn(&str) -> (u32, u32)) {
    for stem in stems {
        let png = dir.join(format!("{stem}.png"));
        let svg = dir.join(format!("{stem}.svg"));
        if let Some(problem) = chart_problem(&png, &svg, size_of(stem)) {
            panic!("{problem}");
        }
    }
}

fn run_size(stem: &str) -> (u32, u32) {
    if stem.starts_with("dashboard") { (1600, 1800) } else { (1600, 1000) }
}

#[test]
fn every_run_chart_is_written_as_svg_and_png() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let run = tmp.path().join("run");
    make_run(&run, &RunSpec { markets: &["BTC-PERP"], liquidations: true, protocol: false });
    let paths = plot_run(&run).expect("plot_run");
    let stems = stems(&paths);
    assert_eq!(stems, ["cascade_sizes", "dashboard", "heatmap", "pnl_by_population"]);
    assert!(paths.iter().all(|p| p.parent() == Some(run.join("charts").as_path())));
    check_all(&run.join("charts"), &stems, run_size);
    // No temporary file is left behind.
    let leftovers: Vec<_> = std::fs::read_dir(run.join("charts"))
        .expect("charts dir")
        .filter_map(Result::ok)
        .filter(|e| e.file_name().to_string_lossy().contains("tmp"))
        .collect();
    assert!(leftovers.is_empty(), "temporary files left: {leftovers:?}");
    // The title names the experiment; the seed and the run are in the
    // files' metadata, not in the title.
    let svg = std::fs::read_to_string(run.join("charts/dashboard.svg")).expect("svg");
    assert!(svg.contains("<desc>test_crash, seed 7"), "the SVG's description names the seed");
    assert!(!svg.contains("(seed 7)"), "no seed in the title");
    let png = std::fs::read(run.join("charts/dashboard.png")).expect("png");
    let decoder = png::Decoder::new(std::io::Cursor::new(png));
    let reader = decoder.read_info().expect("a valid PNG");
    let text = &reader.info().utf8_text;
    assert!(
        text.iter()
            .any(|t| t.keyword == "Description" && t.get_text().is_ok_and(|s| s.starts_with("test_crash, seed 7"))),
        "the PNG's description names the seed"
    );
}

#[test]
fn the_dashboard_shows_halts_and_the_maintenance_multiplier() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let (plain, protocol) = (tmp.path().join("plain"), tmp.path().join("protocol"));
    make_run(&plain, &RunSpec { markets: &["BTC-PERP"], liquidations: true, protocol: false });
    make_run(&protocol, &RunSpec { markets: &["BTC-PERP"], liquidations: true, protocol: true });
    for run in [&plain, &protocol] {
        let stems = stems(&plot_run(run).expect("plot_run"));
        check_all(&run.join("charts"), &stems, run_size);
    }
    let svg = |run: &Path| std::fs::read_to_string(run.join("charts/dashboard.svg")).expect("svg");
    let (plain, protocol) = (svg(&plain), svg(&protocol));
    for label in ["trading halted", "maintenance multiplier (right axis)"] {
        assert!(protocol.contains(label), "{label} is drawn when the run has it");
        assert!(!plain.contains(label), "{label} is left out when the run has none");
    }
    // Auctions never opened: the multiplier has the right axis.
    assert!(!protocol.contains("Dutch auctions open"));
}

#[test]
fn a_run_without_liquidations_says_so() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let run = tmp.path().join("quiet");
    make_run(&run, &RunSpec { markets: &["BTC-PERP"], liquidations: false, protocol: false });
    let paths = plot_run(&run).expect("plot_run");
    let stems = stems(&paths);
    assert!(stems.contains(&"cascade_sizes".to_owned()));
    check_all(&run.join("charts"), &stems, run_size);
    let svg = std::fs::read_to_string(run.join("charts/cascade_sizes.svg")).expect("svg");
    assert!(svg.contains("No liquidations"), "the empty cascade chart explains itself");
}

#[test]
fn a_second_market_gets_charts_of_its_own() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let run = tmp.path().join("two");
    make_run(&run, &RunSpec { markets: &["BTC-PERP", "ETH-PERP"], liquidations: true, protocol: false });
    let stems = stems(&plot_run(&run).expect("plot_run"));
    for stem in
        ["dashboard", "heatmap", "cascade_sizes", "dashboard_ETH-PERP", "heatmap_ETH-PERP", "cascade_sizes_ETH-PERP"]
    {
        assert!(stems.contains(&stem.to_owned()), "{stem} in {stems:?}");
    }
    check_all(&run.join("charts"), &stems, run_size);
}

#[test]
fn the_same_run_gives_the_same_bytes() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let (a, b) = (tmp.path().join("a"), tmp.path().join("b"));
    let spec = RunSpec { markets: &["BTC-PERP"], liquidations: true, protocol: false };
    make_run(&a, &spec);
    make_run(&b, &spec);
    let (pa, pb) = (plot_run(&a).expect("a"), plot_run(&b).expect("b"));
    assert_eq!(pa.len(), pb.len());
    for (x, y) in pa.iter().zip(&pb) {
        assert_eq!(std::fs::read(x).expect("x"), std::fs::read(y).expect("y"), "{} differs", x.display());
    }
}

#[test]
fn every_sweep_chart_is_written_as_svg_and_png() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let sweep = tmp.path().join("sweep");
    make_sweep(&sweep);
    let paths = plot_sweep(&sweep).expect("plot_sweep");
    let stems = stems(&paths);
    let mut expected: Vec<String> =
        METRICS.iter().filter(|m| **m != "half_recovery_ticks").map(|m| format!("metric_{m}")).collect();
    expected.extend(["heatmap_bad_debt", "heatmap_liquidated_notional", "heatmap_max_drawdown"].map(String::from));
    expected.sort();
    assert_eq!(stems, expected, "a metric without data gets no chart");
    check_all(&sweep.join("charts"), &stems, |_| (1600, 1000));
    let svg = std::fs::read_to_string(sweep.join("charts/metric_liquidated_notional.svg")).expect("svg");
    assert!(svg.contains("<desc>test_sweep, seeds 11"), "the description names the experiment and seeds");
    assert!(svg.contains("populations.leveraged.leverage.median"), "the x axis is the swept path");
}

#[test]
fn a_missing_input_names_its_path() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let run = tmp.path().join("run");
    make_run(&run, &RunSpec { markets: &["BTC-PERP"], liquidations: true, protocol: false });
    std::fs::remove_file(run.join("ticks.parquet")).expect("remove");
    let err = plot_run(&run).expect_err("no ticks");
    assert!(matches!(err, ChartError::MissingFile { .. }), "{err:?}");
    assert!(err.to_string().contains("ticks.parquet"), "{err}");
}

#[test]
fn the_blank_check_rejects_a_one_colour_canvas() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let path = tmp.path().join("blank.png");
    let file = std::fs::File::create(&path).expect("create");
    let mut encoder = png::Encoder::new(file, 1600, 1000);
    encoder.set_color(png::ColorType::Rgb);
    encoder.set_depth(png::BitDepth::Eight);
    let mut writer = encoder.write_header().expect("header");
    writer.write_image_data(&vec![255u8; 1600 * 1000 * 3]).expect("data");
    writer.finish().expect("finish");
    assert!(png_problem(&path, (1600, 1000)).is_some_and(|p| p.contains("blank")));
    assert!(png_problem(&path, (1600, 1800)).is_some(), "a wrong size is caught too");
}
