//! Small hand-made run and sweep folders for the chart tests, with the
//! files and columns that the simulator and the sweep runner write: a run
//! with a crash (with or without liquidations, the protocol columns, and
//! one or more markets) and a 3 × 3 sweep with two replicates per point.

use polars::prelude::{Column, DataFrame, ParquetWriter};
use std::path::Path;

/// Ticks in the test run; the crash starts at `CRASH_START`.
const N_TICKS: u64 = 300;
const CRASH_START: u64 = 200;
const CRASH_TICKS: u64 = 30;
/// The index before the crash, in price ticks (60,000 quote at 0.1 per tick).
const START_PRICE: i64 = 600_000;
const MICROS: i64 = 1_000_000;

/// What a hand-made run folder holds.
pub(crate) struct RunSpec<'a> {
    pub(crate) markets: &'a [&'a str],
    pub(crate) liquidations: bool,
    /// Whether `ticks` has the protocol columns (`halted`,
    /// `maintenance_scale`, `auctions_open`) that runs written before the
    /// protocol mechanisms lack.
    pub(crate) protocol: bool,
}

fn write_parquet(path: &Path, columns: Vec<Column>) {
    let mut df = DataFrame::new_infer_height(columns).expect("frame");
    let file = std::fs::File::create(path).expect("create parquet");
    ParquetWriter::new(file).finish(&mut df).expect("write parquet");
}

/// The index at `tick`: flat, an 8% fall over `CRASH_TICKS`, then a slow
/// partial recovery.
#[expect(clippy::cast_possible_truncation, reason = "prices near 600,000 ticks, rounded")]
fn index_at(tick: u64) -> i64 {
    let t = tick as f64;
    let start = START_PRICE as f64;
    let price = if tick < CRASH_START {
        start * (1.0 + 0.0005 * (t * 0.7).sin())
    } else if tick < CRASH_START + CRASH_TICKS {
        start * (1.0 - 0.08 * (t - CRASH_START as f64) / CRASH_TICKS as f64)
    } else {
        start * (0.92 + 0.0002 * (t - (CRASH_START + CRASH_TICKS) as f64))
    };
    price.round() as i64
}

/// Liquidated notional (micros) of longs at `tick`: a burst through the crash.
fn liquidated_long_at(tick: u64, spec: &RunSpec) -> i64 {
    if !spec.liquidations || !(CRASH_START..CRASH_START + CRASH_TICKS).contains(&tick) {
        return 0;
    }
    let k = (tick - CRASH_START) as i64;
    (1 + k * (CRASH_TICKS as i64 - k)) * 5_000 * MICROS
}

pub(crate) fn make_run(dir: &Path, spec: &RunSpec) {
    std::fs::create_dir_all(dir).expect("run dir");
    let markets: Vec<serde_json::Value> =
        spec.markets.iter().map(|m| serde_json::json!({ "name": m, "tick_size": 0.1 })).collect();
    let manifest = serde_json::json!({
        "experiment": "test_crash",
        "run_id": "0123456789abcdef",
        "seed": 7,
        "config": { "name": "test_crash", "tick_seconds": 1.0, "markets": markets },
    });
    std::fs::write(dir.join("manifest.json"), serde_json::to_string_pretty(&manifest).expect("json"))
        .expect("manifest");

    // Ticks: one row per tick per market.
    let rows: Vec<(u64, &str)> = (0..N_TICKS).flat_map(|t| spec.markets.iter().map(move |m| (t, *m))).collect();
    let crashing = |t: u64| (CRASH_START..CRASH_START + CRASH_TICKS).contains(&t);
    let index: Vec<i64> = rows.iter().map(|(t, _)| index_at(*t)).collect();
    let mark: Vec<i64> = rows.iter().map(|(t, _)| index_at(*t) + (*t % 5) as i64 - 2).collect();
    let spread: Vec<Option<i64>> = rows
        .iter()
        .map(|(t, _)| match *t {
            t if t == CRASH_START + 5 => None,
            t if crashing(t) => Some(500 + (t % 11) as i64 * 100),
            t => Some(5 + (t % 7) as i64),
        })
        .collect();
    let long_liq: Vec<i64> = rows.iter().map(|(t, _)| liquidated_long_at(*t, spec)).collect();
    let short_liq: Vec<i64> =
        rows.iter().map(|(t, _)| if spec.liquidations && *t == 20 { 3_000 * MICROS } else { 0 }).collect();
    let n_liq: Vec<u64> = rows
        .iter()
        .map(|(t, _)| u64::from(liquidated_long_at(*t, spec) > 0) * 12 + u64::from(spec.liquidations && *t == 20))
        .collect();
    let bad_debt: Vec<i64> = rows
        .iter()
        .map(|(t, _)| if spec.liquidations && crashing(*t) && t % 3 == 0 { 700 * MICROS } else { 0 })
        .collect();
    let mut fund = 1_000_000 * MICROS;
    let insurance: Vec<i64> = bad_debt
        .iter()
        .map(|d| {
            fund -= d;
            fund
        })
        .collect();
    write_parquet(
        &dir.join("ticks.parquet"),
        vec![
            Column::new("tick".into(), rows.iter().map(|r| r.0).collect::<Vec<u64>>()),
            Column::new("market".into(), rows.iter().map(|r| r.1).collect::<Vec<&str>>()),
            Column::new("index".into(), index.clone()),
            Column::new("mark".into(), mark.clone()),
            Column::new("index_price".into(), index.iter().map(|p| *p as f64 * 0.1).collect::<Vec<f64>>()),
            Column::new("mark_price".into(), mark.iter().map(|p| *p as f64 * 0.1).collect::<Vec<f64>>()),
            Column::new("last_trade".into(), mark.iter().map(|p| Some(*p)).collect::<Vec<Option<i64>>>()),
            Column::new("best_bid".into(), mark.iter().map(|p| Some(p - 3)).collect::<Vec<Option<i64>>>()),
            Column::new("best_ask".into(), mark.iter().map(|p| Some(p + 3)).collect::<Vec<Option<i64>>>()),
            Column::new("spread".into(), spread),
            Column::new(
                "bid_depth".into(),
                rows.iter()
                    .map(|(t, _)| if crashing(*t) { 300 } else { 4_000 + (*t % 13) as i64 * 50 })
                    .collect::<Vec<i64>>(),
            ),
            Column::new(
                "ask_depth".into(),
                rows.iter()
                    .map(|(t, _)| if crashing(*t) { 900 } else { 3_800 + (*t % 9) as i64 * 60 })
                    .collect::<Vec<i64>>(),
            ),
            Column::new("volume".into(), rows.iter().map(|(t, _)| 500 + (*t % 17) as i64 * 40).collect::<Vec<i64>>()),
            Column::new(
                "notional".into(),
                rows.iter().map(|(t, _)| (500 + (*t % 17) as i64 * 40) * 6_000 * MICROS).collect::<Vec<i64>>(),
            ),
            Column::new(
                "open_interest".into(),
                rows.iter()
                    .map(|(t, _)| 380_000 + (*t as i64 % 23) * 100 - if crashing(*t) { 5_000 } else { 0 })
                    .collect::<Vec<i64>>(),
            ),
            Column::new("funding_rate_ppm".into(), vec![0i64; rows.len()]),
            Column::new("funding_index".into(), vec![0i64; rows.len()]),
            Column::new(
                "realised_vol".into(),
                rows.iter().map(|(t, _)| if crashing(*t) { 1e-3 } else { 1e-4 }).collect::<Vec<f64>>(),
            ),
            Column::new("liquidations".into(), n_liq),
            Column::new("liquidated_long".into(), long_liq),
            Column::new("liquidated_short".into(), short_liq),
            Column::new(
                "liquidation_rounds".into(),
                rows.iter().map(|(t, _)| u32::from(spec.liquidations && crashing(*t)) * 2).collect::<Vec<u32>>(),
            ),
            Column::new("bad_debt".into(), bad_debt),
            Column::new("insurance_fund".into(), insurance),
            Column::new("uncovered_bad_debt".into(), vec![0i64; rows.len()]),
        ],
    );
    if spec.protocol {
        // A breaker halt through the first ten crash ticks, and maintenance
        // rates raised up to 1.5x from the crash on.
        use polars::prelude::SerReader;
        let mut ticks =
            polars::prelude::ParquetReader::new(std::fs::File::open(dir.join("ticks.parquet")).expect("ticks"))
                .finish()
                .expect("read ticks");
        let halted: Vec<bool> = rows.iter().map(|(t, _)| (CRASH_START + 3..CRASH_START + 13).contains(t)).collect();
        let scale: Vec<i64> =
            rows.iter().map(|(t, _)| 1_000_000 + (t.saturating_sub(CRASH_START).min(25) as i64) * 20_000).collect();
        ticks.with_column(Column::new("halted".into(), halted)).expect("halted");
        ticks.with_column(Column::new("maintenance_scale".into(), scale)).expect("scale");
        ticks.with_column(Column::new("auctions_open".into(), vec![0u32; rows.len()])).expect("auctions");
        let file = std::fs::File::create(dir.join("ticks.parquet")).expect("create parquet");
        ParquetWriter::new(file).finish(&mut ticks).expect("write parquet");
    }

    // Events: a few liquidations per crash tick, on the first market.
    let event_ticks: Vec<u64> = if spec.liquidations {
        (CRASH_START..CRASH_START + CRASH_TICKS).flat_map(|t| [t, t, t]).collect()
    } else {
        Vec::new()
    };
    let n_events = event_ticks.len();
    write_parquet(
        &dir.join("events.parquet"),
        vec![
            Column::new("tick".into(), event_ticks.clone()),
            Column::new("round".into(), (0..n_events).map(|i| u32::from(i % 2 == 1)).collect::<Vec<u32>>()),
            Column::new("kind".into(), vec!["liquidation"; n_events]),
            Column::new("account".into(), (10..).take(n_events).collect::<Vec<u32>>()),
            Column::new("population".into(), vec!["leveraged"; n_events]),
            Column::new("market".into(), vec![spec.markets[0]; n_events]),
            Column::new("side".into(), vec!["long"; n_events]),
            Column::new("qty".into(), vec![20i64; n_events]),
            Column::new("unfilled".into(), vec![0i64; n_events]),
            Column::new("trigger_price".into(), event_ticks.iter().map(|t| index_at(*t)).collect::<Vec<i64>>()),
            Column::new(
                "liquidation_price".into(),
                event_ticks.iter().map(|t| Some(index_at(*t))).collect::<Vec<Option<i64>>>(),
            ),
            Column::new(
                "bankruptcy_price".into(),
                event_ticks.iter().map(|t| Some(index_at(*t) - 3_000)).collect::<Vec<Option<i64>>>(),
            ),
            Column::new(
                "fill_price".into(),
                event_ticks.iter().map(|t| Some(index_at(*t) as f64 * 0.1 - 5.0)).collect::<Vec<Option<f64>>>(),
            ),
            Column::new("slippage_bps".into(), vec![Some(8.5f64); n_events]),
            Column::new("penalty".into(), vec![1_000 * MICROS; n_events]),
            Column::new("bad_debt".into(), vec![0i64; n_events]),
            Column::new("covered".into(), vec![0i64; n_events]),
            Column::new("uncovered".into(), vec![0i64; n_events]),
        ],
    );

    // Agents: two system accounts and three trader populations.
    let mut population = vec!["background_liquidity", "seed_counterparty"];
    let mut kind = vec!["system", "system"];
    let mut pnl = vec![-5_000 * MICROS, 5_000 * MICROS];
    for (name, count, centre) in [("leveraged", 60, -200), ("makers", 3, 1_500), ("noise", 25, -20)] {
        for i in 0..count {
            population.push(name);
            kind.push("trader");
            pnl.push((centre + (i * 37 % 41 - 20) * 15) * MICROS);
        }
    }
    let n_accounts = population.len();
    write_parquet(
        &dir.join("agents.parquet"),
        vec![
            Column::new("account".into(), (0..).take(n_accounts).collect::<Vec<u32>>()),
            Column::new("population".into(), population.clone()),
            Column::new("strategy".into(), population),
            Column::new("kind".into(), kind.clone()),
            Column::new(
                "agent_index".into(),
                kind.iter().zip(0u32..).map(|(k, i)| (*k == "trader").then_some(i)).collect::<Vec<Option<u32>>>(),
            ),
            Column::new("margin_mode".into(), vec!["isolated"; n_accounts]),
            Column::new("deposited".into(), vec![10_000 * MICROS; n_accounts]),
            Column::new("final_equity".into(), pnl.iter().map(|p| 10_000 * MICROS + p).collect::<Vec<i64>>()),
            Column::new("pnl".into(), pnl.clone()),
            Column::new("fees_paid".into(), vec![5 * MICROS; n_accounts]),
            Column::new("liquidated".into(), pnl.iter().map(|p| *p < -400 * MICROS).collect::<Vec<bool>>()),
            Column::new(
                "liquidation_tick".into(),
                pnl.iter().map(|p| (*p < -400 * MICROS).then_some(CRASH_START + 3)).collect::<Vec<Option<u64>>>(),
            ),
            Column::new("open_qty".into(), vec![0i64; n_accounts]),
        ],
    );

    // Heatmap: every 10 ticks, 0.5% buckets from 85% to 115% of the start
    // price; longs below the price, shorts above, longs gone after the crash.
    let bucket = START_PRICE / 200;
    let mut rows: Vec<(u64, &str, i64, i64, i64)> = Vec::new();
    for market in spec.markets {
        for tick in (0..N_TICKS).step_by(10) {
            let price = index_at(tick);
            for k in -30i64..=30 {
                let level = START_PRICE + k * bucket;
                let distance = (level - price).abs() / bucket + 1;
                let (long, short) = if level < price { (2_000_000 / distance, 0) } else { (0, 800_000 / distance) };
                rows.push((tick, market, level, long * MICROS, short * MICROS));
            }
        }
    }
    write_parquet(
        &dir.join("heatmap.parquet"),
        vec![
            Column::new("tick".into(), rows.iter().map(|r| r.0).collect::<Vec<u64>>()),
            Column::new("market".into(), rows.iter().map(|r| r.1).collect::<Vec<&str>>()),
            Column::new("price".into(), rows.iter().map(|r| r.2).collect::<Vec<i64>>()),
            Column::new("long_notional".into(), rows.iter().map(|r| r.3).collect::<Vec<i64>>()),
            Column::new("short_notional".into(), rows.iter().map(|r| r.4).collect::<Vec<i64>>()),
        ],
    );

    write_parquet(
        &dir.join("summary.parquet"),
        vec![
            Column::new("ticks".into(), vec![N_TICKS]),
            Column::new("max_drawdown".into(), vec![0.08f64]),
            Column::new("liquidated_notional".into(), vec![1.0e6f64]),
        ],
    );
}

/// The metrics that the hand-made sweep writes, in column order.
pub(crate) const METRICS: [&str; 9] = [
    "max_drawdown",
    "half_recovery_ticks",
    "n_liquidations",
    "liquidated_notional",
    "largest_cascade",
    "max_rounds",
    "bad_debt",
    "uncovered_bad_debt",
    "insurance_fund",
];

/// A 3 × 3 sweep of leverage and count, two replicates per point; the
/// half-recovery time is never reached (all null), like in a short run.
pub(crate) fn make_sweep(dir: &Path) {
    std::fs::create_dir_all(dir).expect("sweep dir");
    let axes = ["populations.leveraged.leverage.median", "populations.leveraged.count"];
    let leverages = [5.0, 20.0, 50.0];
    let counts = [200.0, 500.0, 1000.0];
    let points: Vec<(f64, f64)> = leverages.iter().flat_map(|l| counts.iter().map(move |c| (*l, *c))).collect();
    let plan = serde_json::json!({
        "experiment": "test_sweep",
        "sweep_id": "abcdef012345",
        "axes": axes,
        "points": points.iter().map(|(l, c)| serde_json::json!([l, c])).collect::<Vec<_>>(),
    });
    std::fs::write(dir.join("plan.json"), serde_json::to_string_pretty(&plan).expect("json")).expect("plan");

    // A metric's value for a point and replicate: grows with leverage and
    // count, with a replicate-dependent wobble.
    let value = |m: usize, (l, c): (f64, f64), r: u64| -> Option<f64> {
        match METRICS[m] {
            "half_recovery_ticks" => None,
            "max_drawdown" => Some(0.06 + 0.0001 * l + r as f64 * 0.001),
            "insurance_fund" => Some(1.0e6 - l * c + r as f64 * 50.0),
            _ => Some((m as f64 + 1.0) * l * c * (1.0 + 0.1 * r as f64)),
        }
    };

    let mut runs: Vec<Column> = Vec::new();
    let run_rows: Vec<(usize, u64)> = (0..points.len()).flat_map(|p| [(p, 0), (p, 1)]).collect();
    runs.push(Column::new("run".into(), (0..run_rows.len() as u64).collect::<Vec<u64>>()));
    runs.push(Column::new("point".into(), run_rows.iter().map(|r| r.0 as u64).collect::<Vec<u64>>()));
    runs.push(Column::new("replicate".into(), run_rows.iter().map(|r| u32::from(r.1 == 1)).collect::<Vec<u32>>()));
    runs.push(Column::new("seed".into(), run_rows.iter().map(|r| 11 + r.1).collect::<Vec<u64>>()));
    runs.push(Column::new(
        "run_id".into(),
        run_rows.iter().map(|r| format!("run{}{}", r.0, r.1)).collect::<Vec<String>>(),
    ));
    runs.push(Column::new(axes[0].into(), run_rows.iter().map(|r| points[r.0].0).collect::<Vec<f64>>()));
    runs.push(Column::new(axes[1].into(), run_rows.iter().map(|r| points[r.0].1).collect::<Vec<f64>>()));
    for (m, name) in METRICS.iter().enumerate() {
        runs.push(Column::new(
            (*name).into(),
            run_rows.iter().map(|r| value(m, points[r.0], r.1)).collect::<Vec<Option<f64>>>(),
        ));
    }
    write_parquet(&dir.join("sweep.parquet"), runs);

    let mut cols = vec![
        Column::new("point".into(), (0..points.len() as u64).collect::<Vec<u64>>()),
        Column::new(axes[0].into(), points.iter().map(|p| p.0).collect::<Vec<f64>>()),
        Column::new(axes[1].into(), points.iter().map(|p| p.1).collect::<Vec<f64>>()),
        Column::new("n".into(), vec![2u64; points.len()]),
    ];
    for (m, name) in METRICS.iter().enumerate() {
        let stats: Vec<Option<(f64, f64)>> = points
            .iter()
            .map(|p| {
                let (a, b) = (value(m, *p, 0)?, value(m, *p, 1)?);
                Some(((a + b) / 2.0, (a - b).abs() / 2f64.sqrt()))
            })
            .collect();
        let pick = |f: &dyn Fn(f64, f64) -> f64| {
            stats.iter().map(|s| s.map(|(mean, sd)| f(mean, sd))).collect::<Vec<Option<f64>>>()
        };
        cols.push(Column::new(format!("{name}_mean").into(), pick(&|mean, _| mean)));
        cols.push(Column::new(format!("{name}_std").into(), pick(&|_, sd| sd)));
        cols.push(Column::new(format!("{name}_ci95_low").into(), pick(&|mean, sd| mean - 9.0 * sd)));
        cols.push(Column::new(format!("{name}_ci95_high").into(), pick(&|mean, sd| mean + 9.0 * sd)));
    }
    write_parquet(&dir.join("points.parquet"), cols);
}
