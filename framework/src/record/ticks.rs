//! What the recorder keeps per tick and market until the run ends (the
//! columns of `ticks.parquet`), and each market's prices before the first
//! tick. The recorder fills them; the summary reads them.

/// A market's prices before the first tick, where drawdowns start.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Start {
    /// The market's name.
    pub market: String,
    /// The mark, ticks.
    pub mark: i64,
    /// The fundamental, ticks.
    pub fundamental: i64,
    /// The first tick of the market's first scheduled fall of the
    /// fundamental (a shock with a positive drop): the news.
    pub news: Option<u64>,
}

/// The columns of `ticks.parquet`, one entry per tick and market.
#[derive(Debug, Default)]
pub(super) struct TickCols {
    pub(super) tick: Vec<u64>,
    pub(super) market: Vec<String>,
    pub(super) index: Vec<i64>,
    pub(super) mark: Vec<i64>,
    pub(super) index_price: Vec<f64>,
    pub(super) mark_price: Vec<f64>,
    pub(super) fundamental: Vec<i64>,
    pub(super) fundamental_price: Vec<f64>,
    pub(super) last_trade: Vec<Option<i64>>,
    pub(super) best_bid: Vec<Option<i64>>,
    pub(super) best_ask: Vec<Option<i64>>,
    pub(super) spread: Vec<Option<i64>>,
    pub(super) bid_depth: Vec<i64>,
    pub(super) ask_depth: Vec<i64>,
    pub(super) volume: Vec<i64>,
    pub(super) notional: Vec<i64>,
    pub(super) open_interest: Vec<i64>,
    pub(super) funding_rate_ppm: Vec<i64>,
    pub(super) funding_index: Vec<i64>,
    pub(super) realised_vol: Vec<f64>,
    pub(super) liquidations: Vec<u64>,
    pub(super) liquidated_long: Vec<i64>,
    pub(super) liquidated_short: Vec<i64>,
    pub(super) liquidation_rounds: Vec<u32>,
    pub(super) bad_debt: Vec<i64>,
    pub(super) socialized_loss: Vec<i64>,
    pub(super) halted: Vec<bool>,
    pub(super) throttled: Vec<u64>,
    pub(super) auctions_open: Vec<u64>,
    pub(super) gas_price: Vec<i64>,
    pub(super) maintenance_scale: Vec<i64>,
    pub(super) insurance_fund: Vec<i64>,
    pub(super) uncovered_bad_debt: Vec<i64>,
}
