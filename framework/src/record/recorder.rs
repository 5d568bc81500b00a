//! The recorder (the Record phase): appends each tick's metrics, the
//! liquidation events and heatmap samples to column buffers, and at the end
//! of a run turns them into polars DataFrames (`ticks`, `events`, `agents`,
//! `heatmap`, `summary`) that [`RunOutput::write_parquet`] writes to a
//! folder. Frames are built once, at the end: the per-tick cost is a few
//! pushes onto `Vec`s.

use super::frames::FrameKind;
use crate::accounts::health::terms_of;
use crate::accounts::ledger::{AccountKind, Ledger, MarginMode};
use crate::accounts::triggers::Triggers;
use crate::core::clock::Clock;
use crate::core::error::ExportError;
use crate::core::event::EventKind;
use crate::core::units::{MarketId, Side, narrow};
use crate::market::Markets;
use crate::protocol::log::TickLiquidations;
use crate::record::capital::FloorCapital;
use crate::record::summary::{RunSummary, summarise};
use crate::record::ticks::{Start, TickCols};
use bevy_ecs::prelude::*;
use polars::prelude::*;
use serde::{Deserialize, Serialize};
use std::path::Path;

/// What is recorded; a field left out takes its default.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct RecordingParams {
    /// Ticks between heatmap samples; 0 records no heatmap.
    pub heatmap_every: u64,
    /// Heatmap bucket width in basis points of each market's initial
    /// price.
    pub heatmap_bucket_bps: u32,
}

impl Default for RecordingParams {
    fn default() -> RecordingParams {
        RecordingParams { heatmap_every: 10, heatmap_bucket_bps: 50 }
    }
}

/// Column buffers of a run.
#[derive(Resource, Debug, Default)]
pub struct Recorder {
    every: u64,
    start: Vec<Start>,
    /// The insurance fund before the first tick, micros.
    fund_start: i64,
    t: TickCols,
    e: EventCols,
    h: HeatCols,
}

#[derive(Debug, Default)]
struct EventCols {
    tick: Vec<u64>,
    round: Vec<u32>,
    kind: Vec<&'static str>,
    account: Vec<u32>,
    population: Vec<u16>,
    /// Market indices, named when the frame is built.
    market: Vec<u16>,
    side: Vec<&'static str>,
    qty: Vec<i64>,
    unfilled: Vec<i64>,
    trigger_price: Vec<i64>,
    liquidation_price: Vec<Option<i64>>,
    bankruptcy_price: Vec<Option<i64>>,
    fill_price: Vec<Option<f64>>,
    slippage_bps: Vec<Option<f64>>,
    penalty: Vec<i64>,
    bad_debt: Vec<i64>,
    covered: Vec<i64>,
    uncovered: Vec<i64>,
}

#[derive(Debug, Default)]
struct HeatCols {
    tick: Vec<u64>,
    market: Vec<String>,
    price: Vec<i64>,
    long_notional: Vec<i64>,
    short_notional: Vec<i64>,
}

impl Recorder {
    /// A recorder sampling the heatmap every `heatmap_every` ticks, for
    /// `markets` as they are before the first tick.
    pub fn new(params: &RecordingParams, markets: &Markets, fund: crate::core::units::Micros) -> Recorder {
        let start = markets
            .0
            .iter()
            .map(|m| Start {
                market: m.params.name.clone(),
                mark: m.mark.0,
                fundamental: m.index.fundamental.0,
                news: m.params.index.shocks.iter().filter(|s| s.drop > 0.0).map(|s| s.start_tick).min(),
            })
            .collect();
        Recorder { every: params.heatmap_every, start, fund_start: fund.0, ..Recorder::default() }
    }

    /// Number of tick rows recorded.
    pub fn n_rows(&self) -> usize {
        self.t.tick.len()
    }
}

/// Record-phase system.
pub fn record(
    clock: Res<Clock>,
    markets: Res<Markets>,
    ledger: Res<Ledger>,
    liquidations: Res<TickLiquidations>,
    triggers: Res<Triggers>,
    mut rec: ResMut<Recorder>,
) {
    let rec = &mut *rec;
    for m in &markets.0 {
        let t = &mut rec.t;
        let totals = liquidations.totals.get(m.id.idx()).copied().unwrap_or_default();
        let (bid, ask) = (m.best_bid(), m.best_ask());
        let band = m.params.depth_band_ticks;
        t.tick.push(clock.tick);
        t.market.push(m.params.name.clone());
        t.index.push(m.index.price.0);
        t.mark.push(m.mark.0);
        t.index_price.push(m.index.price.0 as f64 * m.params.tick_size);
        t.mark_price.push(m.mark.0 as f64 * m.params.tick_size);
        t.fundamental.push(m.index.fundamental.0);
        t.fundamental_price.push(m.index.fundamental.0 as f64 * m.params.tick_size);
        t.last_trade.push(m.last_trade.map(|p| p.0));
        t.best_bid.push(bid.map(|p| p.0));
        t.best_ask.push(ask.map(|p| p.0));
        t.spread.push(bid.zip(ask).map(|(b, a)| a.0 - b.0));
        t.bid_depth.push(m.book.depth_within(Side::Buy, band).0);
        t.ask_depth.push(m.book.depth_within(Side::Sell, band).0);
        t.volume.push(m.flow.volume.0);
        t.notional.push(m.flow.notional.0);
        t.open_interest.push(m.open_interest.0);
        t.funding_rate_ppm.push(m.funding_rate.0);
        t.funding_index.push(m.funding_index.0);
        t.realised_vol.push(m.view.realised_vol);
        t.liquidations.push(totals.count);
        t.liquidated_long.push(totals.long_notional.0);
        t.liquidated_short.push(totals.short_notional.0);
        t.liquidation_rounds.push(liquidations.rounds);
        t.bad_debt.push(totals.bad_debt.0);
        t.socialized_loss.push(totals.socialized.0);
        t.halted.push(m.is_halted(clock.tick));
        t.throttled.push(totals.throttled);
        t.auctions_open.push(totals.auctions_open);
        t.gas_price.push(totals.gas_price.0);
        t.maintenance_scale.push(m.maintenance_scale.0);
        t.insurance_fund.push(ledger.insurance_fund.0);
        t.uncovered_bad_debt.push(ledger.uncovered_bad_debt.0);
        if rec.every > 0 && clock.tick.is_multiple_of(rec.every) {
            for (price, long, short) in triggers.markets[m.id.idx()].heatmap() {
                rec.h.tick.push(clock.tick);
                rec.h.market.push(m.params.name.clone());
                rec.h.price.push(price.0);
                rec.h.long_notional.push(long.0);
                rec.h.short_notional.push(short.0);
            }
        }
    }
    let e = &mut rec.e;
    for (i, ev) in liquidations.events.iter().enumerate() {
        // The accounts of a tick's liquidations are scattered: ask for the
        // one a few events on before its population is read.
        if let Some(ahead) = liquidations.events.get(i + crate::core::PREFETCH_AHEAD) {
            crate::core::prefetch(ledger.account(ahead.account));
        }
        e.tick.push(ev.tick);
        e.round.push(ev.round);
        e.kind.push(ev.kind.as_str());
        e.account.push(ev.account.0);
        e.population.push(ledger.account(ev.account).population);
        e.market.push(ev.market.0);
        e.side.push(match ev.kind {
            EventKind::SocializedLoss | EventKind::Halt => "",
            _ if ev.side == Side::Buy => "long",
            _ => "short",
        });
        e.qty.push(ev.qty.0);
        e.unfilled.push(ev.unfilled.0);
        e.trigger_price.push(ev.trigger_price.0);
        e.liquidation_price.push(ev.liquidation_price.map(|p| p.0));
        e.bankruptcy_price.push(ev.bankruptcy_price.map(|p| p.0));
        let fill = ev.fill_price.is_finite().then_some(ev.fill_price);
        e.fill_price.push(fill);
        // Adverse move of the average fill from the trigger, in basis points.
        let sign = if ev.side == Side::Buy { 1.0 } else { -1.0 };
        e.slippage_bps.push(fill.map(|f| sign * (ev.trigger_price.0 as f64 - f) / ev.trigger_price.0 as f64 * 1e4));
        e.penalty.push(ev.penalty.0);
        e.bad_debt.push(ev.bad_debt.0);
        e.covered.push(ev.covered.0);
        e.uncovered.push(ev.uncovered.0);
    }
}

/// The frames of a finished run.
#[derive(Debug)]
pub struct RunOutput {
    /// One row per tick per market.
    pub ticks: DataFrame,
    /// One row per liquidation.
    pub events: DataFrame,
    /// One row per account at the end.
    pub agents: DataFrame,
    /// Liquidation notional by price bucket, sampled over time.
    pub heatmap: DataFrame,
    /// The run's scalar metrics, as one row.
    pub summary_frame: DataFrame,
    /// The run's scalar metrics.
    pub summary: RunSummary,
    /// Execution agents' child orders, when the run has any.
    pub executions: Option<DataFrame>,
    /// The frames that were built, and that [`RunOutput::write_parquet`]
    /// writes.
    pub wanted: Vec<FrameKind>,
}

fn frame(name: &'static str, columns: Vec<Column>) -> Result<DataFrame, ExportError> {
    DataFrame::new_infer_height(columns).map_err(|source| ExportError::Frame { frame: name, source })
}

macro_rules! cols {
    ($($name:literal => $v:expr),* $(,)?) => {
        vec![$(IntoColumn::into_column($v, $name)),*]
    };
}

/// A recorded buffer as a frame column. Buffers of plain numbers are moved
/// into the column; the rest (nullable, text) are encoded into it.
trait IntoColumn {
    fn into_column(self, name: &str) -> Column;
}

macro_rules! moved_columns {
    ($($t:ty),*) => {$(
        impl IntoColumn for Vec<$t> {
            fn into_column(mut self, name: &str) -> Column {
                // The frame keeps the buffer: not its growth room.
                self.shrink_to_fit();
                ChunkedArray::<<$t as NumericNative>::PolarsType>::from_vec(name.into(), self).into_series().into()
            }
        }
    )*};
}
moved_columns!(i64, u64, u32, u16, f64);

macro_rules! encoded_columns {
    ($($t:ty),*) => {$(
        impl IntoColumn for $t {
            fn into_column(self, name: &str) -> Column {
                Column::new(name.into(), self)
            }
        }
    )*};
}
encoded_columns!(
    Vec<Option<i64>>,
    Vec<Option<u64>>,
    Vec<Option<u32>>,
    Vec<Option<f64>>,
    Vec<bool>,
    Vec<String>,
    Vec<&str>,
    [u64; 1],
    [f64; 1],
    [Option<u64>; 1],
    [Option<f64>; 1],
    [u32; 1],
    [i64; 1]
);

impl Recorder {
    /// Builds the run's frames. Consumes the buffers.
    /// The run's frames, those in `wanted` built (the others empty), and
    /// its summary.
    pub fn into_output(
        self,
        ledger: &Ledger,
        markets: &Markets,
        rejected_orders: u64,
        capital: &FloorCapital,
        wanted: &[FrameKind],
    ) -> Result<RunOutput, ExportError> {
        let want = |k: FrameKind| wanted.contains(&k);
        let (t, e, h) = (self.t, self.e, self.h);
        let mut summary = summarise(&t, &self.start, ledger, rejected_orders, self.fund_start);
        let adl: i128 = (0..e.kind.len())
            .filter(|&i| e.kind[i] == EventKind::Adl.as_str())
            .map(|i| {
                let price = e.bankruptcy_price[i].unwrap_or(e.trigger_price[i]);
                let tick_value = markets.get(MarketId(e.market[i])).params.tick_value.0;
                i128::from(e.qty[i]) * i128::from(price) * i128::from(tick_value)
            })
            .sum();
        summary.adl_notional = adl as f64 / 1e6;
        summary.value_capital_used = capital.value.peak();
        summary.maker_inventory_used = capital.makers.peak();
        let ticks = if want(FrameKind::Ticks) { ticks_frame(t)? } else { DataFrame::empty() };
        let events = if want(FrameKind::Events) { events_frame(e, ledger, markets)? } else { DataFrame::empty() };
        let (agents, insolvency) = if want(FrameKind::Agents) {
            agents_frame(ledger, markets)?
        } else {
            (DataFrame::empty(), insolvency(ledger, markets))
        };
        (summary.unrealised_bad_debt, summary.insolvent_accounts) = insolvency;
        let heatmap = if want(FrameKind::Heatmap) {
            frame(
                "heatmap",
                cols![
                    "tick" => h.tick, "market" => h.market, "price" => h.price,
                    "long_notional" => h.long_notional, "short_notional" => h.short_notional,
                ],
            )?
        } else {
            DataFrame::empty()
        };
        let s = &summary;
        let summary_frame = frame(
            "summary",
            cols![
                "ticks" => [s.ticks], "max_drawdown" => [s.max_drawdown], "trough_tick" => [s.trough_tick],
                "half_recovery_ticks" => [s.half_recovery_ticks],
                "fundamental_drawdown" => [s.fundamental_drawdown], "mark_fall" => [s.mark_fall],
                "amplification" => [s.amplification],
                "endogenous_share" => [s.endogenous_share], "n_liquidations" => [s.n_liquidations],
                "liquidated_notional" => [s.liquidated_notional], "largest_cascade" => [s.largest_cascade],
                "spillover_notional" => [s.spillover_notional], "spillover_drawdown" => [s.spillover_drawdown],
                "max_rounds" => [s.max_rounds], "bad_debt" => [s.bad_debt],
                "uncovered_bad_debt" => [s.uncovered_bad_debt], "insurance_fund" => [s.insurance_fund],
                "fund_used" => [s.fund_used], "fund_drawdown" => [s.fund_drawdown],
                "socialized_loss" => [s.socialized_loss], "adl_notional" => [s.adl_notional],
                "rejected_orders" => [s.rejected_orders],
                "unrealised_bad_debt" => [s.unrealised_bad_debt], "insolvent_accounts" => [s.insolvent_accounts],
                "value_capital_used" => [s.value_capital_used], "maker_inventory_used" => [s.maker_inventory_used],
            ],
        )?;
        Ok(RunOutput {
            ticks,
            events,
            agents,
            heatmap,
            summary_frame,
            summary,
            executions: None,
            wanted: wanted.to_vec(),
        })
    }
}

fn ticks_frame(t: TickCols) -> Result<DataFrame, ExportError> {
    frame(
        "ticks",
        cols![
            "tick" => t.tick, "market" => t.market, "index" => t.index, "mark" => t.mark,
            "index_price" => t.index_price, "mark_price" => t.mark_price,
            "fundamental" => t.fundamental, "fundamental_price" => t.fundamental_price,
            "last_trade" => t.last_trade,
            "best_bid" => t.best_bid, "best_ask" => t.best_ask, "spread" => t.spread,
            "bid_depth" => t.bid_depth, "ask_depth" => t.ask_depth, "volume" => t.volume,
            "notional" => t.notional, "open_interest" => t.open_interest,
            "funding_rate_ppm" => t.funding_rate_ppm, "funding_index" => t.funding_index,
            "realised_vol" => t.realised_vol, "liquidations" => t.liquidations,
            "liquidated_long" => t.liquidated_long, "liquidated_short" => t.liquidated_short,
            "liquidation_rounds" => t.liquidation_rounds, "bad_debt" => t.bad_debt,
            "socialized_loss" => t.socialized_loss,
            "halted" => t.halted,
            "throttled" => t.throttled,
            "auctions_open" => t.auctions_open,
            "gas_price" => t.gas_price,
            "maintenance_scale" => t.maintenance_scale,
            "insurance_fund" => t.insurance_fund, "uncovered_bad_debt" => t.uncovered_bad_debt,
        ],
    )
}

fn events_frame(e: EventCols, ledger: &Ledger, markets: &Markets) -> Result<DataFrame, ExportError> {
    let population: Vec<&str> = e.population.iter().map(|i| ledger.labels[usize::from(*i)].as_str()).collect();
    let market: Vec<&str> = e.market.iter().map(|&m| markets.get(MarketId(m)).params.name.as_str()).collect();
    frame(
        "events",
        cols![
            "tick" => e.tick, "round" => e.round, "kind" => e.kind, "account" => e.account,
            "population" => population, "market" => market, "side" => e.side, "qty" => e.qty,
            "unfilled" => e.unfilled, "trigger_price" => e.trigger_price,
            "liquidation_price" => e.liquidation_price, "bankruptcy_price" => e.bankruptcy_price,
            "fill_price" => e.fill_price, "slippage_bps" => e.slippage_bps, "penalty" => e.penalty,
            "bad_debt" => e.bad_debt, "covered" => e.covered, "uncovered" => e.uncovered,
        ],
    )
}

/// The agents frame, and the negative equity of trader accounts at the
/// final marks (quote units) with how many accounts have it.
/// The numeric columns of `agents.parquet`, one value per agent: what a
/// game may take as its payoff besides `pnl_per_capital`.
pub const AGENT_NUMBERS: [&str; 6] = ["pnl", "deposited", "final_equity", "fees_paid", "open_qty", "liquidation_tick"];

/// The negative equity of trader accounts still open, and their number:
/// losses no liquidation has realised.
#[derive(Default)]
struct Insolvency {
    owed: i128,
    accounts: u64,
}

impl Insolvency {
    fn add(&mut self, kind: AccountKind, equity: i128) {
        if kind == AccountKind::Trader && equity < 0 {
            self.owed -= equity;
            self.accounts += 1;
        }
    }

    /// Quote and count, as the summary reports them.
    fn figures(&self) -> (f64, u64) {
        (self.owed as f64 / 1e6, self.accounts)
    }
}

/// What [`agents_frame`] finds of insolvency, without the frame.
fn insolvency(ledger: &Ledger, markets: &Markets) -> (f64, u64) {
    let terms = |m: MarketId| terms_of(markets, m);
    let price_of = |m: MarketId| markets.get(m).mark;
    let mut found = Insolvency::default();
    for a in &ledger.accounts {
        found.add(a.kind, a.equity(&terms, &price_of));
    }
    found.figures()
}

fn agents_frame(ledger: &Ledger, markets: &Markets) -> Result<(DataFrame, (f64, u64)), ExportError> {
    let terms = |m: MarketId| terms_of(markets, m);
    let price_of = |m: MarketId| markets.get(m).mark;
    let n = ledger.accounts.len();
    let (mut account, mut population, mut strategy, mut kind, mut index, mut mode) = (
        Vec::with_capacity(n),
        Vec::with_capacity(n),
        Vec::with_capacity(n),
        Vec::with_capacity(n),
        Vec::with_capacity(n),
        Vec::with_capacity(n),
    );
    let (mut deposited, mut equity, mut pnl, mut fees, mut liquidated, mut liq_tick, mut open) = (
        Vec::with_capacity(n),
        Vec::with_capacity(n),
        Vec::with_capacity(n),
        Vec::with_capacity(n),
        Vec::with_capacity(n),
        Vec::with_capacity(n),
        Vec::with_capacity(n),
    );
    let mut leverage = Vec::with_capacity(n);
    let mut insolvency = Insolvency::default();
    for (i, a) in ledger.accounts.iter().enumerate() {
        let eq = a.equity(&terms, &price_of);
        insolvency.add(a.kind, eq);
        let eq = narrow(eq);
        account.push(u32::try_from(i).expect("account ids fit u32"));
        population.push(ledger.labels[usize::from(a.population)].as_str());
        strategy.push(ledger.labels[usize::from(a.strategy)].as_str());
        kind.push(match a.kind {
            AccountKind::Trader => "trader",
            AccountKind::System => "system",
        });
        index.push(a.owner.map(|o| o.index));
        mode.push(match a.mode {
            MarginMode::Isolated => "isolated",
            MarginMode::Cross => "cross",
        });
        leverage.push(a.leverage);
        deposited.push(a.deposited.0);
        equity.push(eq);
        pnl.push(eq - a.deposited.0);
        fees.push(a.fees_paid.0);
        liquidated.push(a.liquidated_at().is_some());
        liq_tick.push(a.liquidated_at());
        open.push(a.positions.iter().map(|p| p.qty.0).sum::<i64>());
    }
    let agents = frame(
        "agents",
        cols![
            "account" => account, "population" => population, "strategy" => strategy, "kind" => kind,
            "agent_index" => index, "margin_mode" => mode, "leverage" => leverage, "deposited" => deposited,
            "final_equity" => equity, "pnl" => pnl, "fees_paid" => fees, "liquidated" => liquidated,
            "liquidation_tick" => liq_tick, "open_qty" => open,
        ],
    )?;
    Ok((agents, insolvency.figures()))
}

impl RunOutput {
    /// Writes `ticks`, `events`, `agents`, `heatmap` and `summary` (and
    /// `executions` when there is one) as Parquet files into `dir` (created
    /// if missing). Each file is written
    /// to a temporary name and renamed, so a reader never sees half a file.
    pub fn write_parquet(&mut self, dir: &Path) -> Result<Vec<std::path::PathBuf>, ExportError> {
        std::fs::create_dir_all(dir).map_err(|source| ExportError::Io { path: dir.to_owned(), source })?;
        let wanted = self.wanted.clone();
        let frames: Vec<(&'static str, &mut DataFrame)> = [
            (FrameKind::Ticks, &mut self.ticks),
            (FrameKind::Events, &mut self.events),
            (FrameKind::Agents, &mut self.agents),
            (FrameKind::Heatmap, &mut self.heatmap),
            (FrameKind::Summary, &mut self.summary_frame),
        ]
        .into_iter()
        .chain(self.executions.as_mut().map(|df| (FrameKind::Executions, df)))
        .filter(|(k, _)| wanted.contains(k))
        .map(|(k, df)| (k.name(), df))
        .collect();
        // The files are independent: each is written on its own thread, and
        // its bytes are the same as when written alone.
        std::thread::scope(|s| {
            let writers: Vec<_> =
                frames.into_iter().map(|(name, df)| s.spawn(move || write_one(dir, name, df))).collect();
            writers.into_iter().map(|w| w.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic))).collect()
        })
    }
}

/// Writes `df` as `dir/name.parquet`, through a temporary name.
fn write_one(dir: &Path, name: &'static str, df: &mut DataFrame) -> Result<std::path::PathBuf, ExportError> {
    let path = dir.join(format!("{name}.parquet"));
    let tmp = dir.join(format!(".{name}.parquet.tmp"));
    let io = |source| ExportError::Io { path: path.clone(), source };
    // The encoder writes the footer a field at a time: unbuffered, that
    // was a system call for each of some ten thousand small writes.
    let mut file = std::io::BufWriter::with_capacity(1 << 16, std::fs::File::create(&tmp).map_err(io)?);
    ParquetWriter::new(&mut file)
        .with_compression(ParquetCompression::Zstd(None))
        .finish(df)
        .map_err(|source| ExportError::Frame { frame: name, source })?;
    std::io::Write::flush(&mut file).map_err(io)?;
    drop(file);
    std::fs::rename(&tmp, &path).map_err(io)?;
    Ok(path)
}
