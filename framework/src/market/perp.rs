//! A perpetual futures market: contract terms, the order book, the index,
//! the mark price, funding and open interest, and the per-tick view that
//! agents read in the Decide phase.
//!
//! # Mark price
//!
//! [`MarkMethod::Median`] follows the exchanges' fair-price rule: the median
//! of (1) the index adjusted by the last funding rate over the time left to
//! the next funding, (2) the index plus the moving average of (mid − index)
//! over `basis_window` ticks, and (3) the last trade price. With no trade yet
//! the last trade is taken to be the index.
//!
//! # Funding
//!
//! Each tick samples the premium index
//! `(max(0, impact_bid − index) − max(0, index − impact_ask)) / index`, where
//! the impact prices are the average fills of a market order of
//! `impact_notional`. Every `interval_ticks` ticks the rate is
//! `P + clamp(interest − P, −clamp, +clamp)` for the average premium `P`,
//! capped at `±cap`, and longs pay shorts `rate × mark × tick_value` per lot
//! (negative rates pay the other way). The payment per lot is rounded to
//! whole micros once, at the market, so each position's payment is exact
//! and the payments net to zero. Payments accrue into a cumulative funding
//! index and are settled lazily, when a position is next touched: a funding
//! tick costs O(1), not O(open positions).

use crate::core::rng::SimRng;
use crate::core::units::{
    AccountId, AssetId, Lots, MarketId, Micros, PPM, Ppm, Price, Side, div_floor, narrow, round_to_i64,
};
use crate::market::amm::Pool;
use crate::market::book::Book;
use crate::market::index::IndexState;
use crate::market::margin::MarginTiers;
use crate::market::oracle::{Oracle, OracleSource};
use crate::market::params::{MarkMethod, MarketParams};
use crate::market::propagator::Propagator;
use bevy_ecs::prelude::Resource;
use std::collections::VecDeque;

/// What agents see of a market at the start of the Decide phase.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct MarketView {
    /// The fundamental: latent value, which informed traders trade towards.
    pub fundamental: Price,
    /// Index price.
    pub index: Price,
    /// Mark price.
    pub mark: Price,
    /// Best bid.
    pub best_bid: Option<Price>,
    /// Best ask.
    pub best_ask: Option<Price>,
    /// Lots on the bid side within the depth band.
    pub bid_depth: Lots,
    /// Lots on the ask side within the depth band.
    pub ask_depth: Lots,
    /// Root mean square of per-tick log returns of the mark over the
    /// volatility window.
    pub realised_vol: f64,
    /// Open interest, lots (sum of long positions).
    pub open_interest: Lots,
}

impl MarketView {
    /// Midpoint of the best bid and ask, ticks (rounded down).
    pub fn mid(&self) -> Option<Price> {
        Some(Price((self.best_bid?.0 + self.best_ask?.0).div_euclid(2)))
    }

    /// Best ask minus best bid, ticks.
    pub fn spread(&self) -> Option<i64> {
        Some(self.best_ask?.0 - self.best_bid?.0)
    }
}

/// Volume and trade counts of the current tick.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TickFlow {
    /// Lots traded.
    pub volume: Lots,
    /// Notional traded, micros.
    pub notional: Micros,
    /// Number of fills.
    pub n_fills: u64,
    /// Taker buys minus taker sells, lots: the signed flow a propagator
    /// feeds on.
    pub signed: i64,
}

/// A market's running state.
#[derive(Clone, Debug)]
pub struct Market {
    /// Its id.
    pub id: MarketId,
    /// Its parameters.
    pub params: MarketParams,
    /// The margin tiers in force: the configured table with its
    /// maintenance rates times [`Market::maintenance_scale`].
    pub tiers: MarginTiers,
    /// The configured tier table. The trigger index is keyed by liquidation
    /// prices under it, whatever the scale.
    pub base_tiers: MarginTiers,
    /// Multiplier of the maintenance rates, ppm of 1 (1,000,000 unless
    /// the protocol's dynamic maintenance raises it).
    pub maintenance_scale: Ppm,
    /// The order book.
    pub book: Book,
    /// The index.
    pub index: IndexState,
    /// Current mark price.
    pub mark: Price,
    /// Last trade price.
    pub last_trade: Option<Price>,
    /// Cumulative funding index, micros per lot: what a long held since the
    /// start has paid.
    pub funding_index: Micros,
    /// Rate applied at the last funding tick (ppm).
    pub funding_rate: Ppm,
    premium_sum: i64,
    premium_samples: i64,
    basis: VecDeque<i64>,
    marks: VecDeque<Price>,
    /// Open interest, lots.
    pub open_interest: Lots,
    /// This tick's flow.
    pub flow: TickFlow,
    /// A circuit-breaker halt: its first halted tick and the first tick
    /// after it.
    pub halt: Option<(u64, u64)>,
    /// Marks since the last halt, for the circuit breakers.
    pub breaker_marks: VecDeque<Price>,
    /// The view agents read.
    pub view: MarketView,
    /// The impact of the market's own flow on its index, when configured.
    pub propagator: Option<Propagator>,
    /// A spot market's base asset; `None` for a perpetual.
    pub asset: Option<AssetId>,
    /// The market whose fundamental this one follows, if any.
    pub follows: Option<MarketId>,
    /// The oracle that computes the index from spot venues, if any.
    pub oracle: Option<Oracle>,
    /// A constant-product pool and the account that holds its reserves,
    /// for a spot venue that is one.
    pub amm: Option<AmmVenue>,
}

/// A spot venue that is a constant-product pool: its reserves, which the
/// ledger also holds as the balances of `account`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AmmVenue {
    /// Reserves and fee.
    pub pool: Pool,
    /// The account holding the reserves.
    pub account: AccountId,
}

impl Market {
    /// A market at tick zero with an empty book.
    pub fn new(id: MarketId, params: MarketParams, tiers: MarginTiers, tick_seconds: f64, rng: SimRng) -> Market {
        let index = IndexState::new(params.index.clone(), tick_seconds, rng);
        let price = index.price;
        Market {
            id,
            base_tiers: tiers.clone(),
            maintenance_scale: Ppm(PPM),
            tiers,
            book: Book::new(),
            index,
            mark: price,
            last_trade: None,
            funding_index: Micros(0),
            funding_rate: Ppm(0),
            premium_sum: 0,
            premium_samples: 0,
            basis: VecDeque::new(),
            marks: VecDeque::new(),
            open_interest: Lots(0),
            flow: TickFlow::default(),
            halt: None,
            breaker_marks: VecDeque::new(),
            propagator: params.propagator.clone().map(Propagator::new),
            asset: None,
            follows: None,
            oracle: None,
            amm: None,
            view: MarketView { fundamental: price, index: price, mark: price, ..MarketView::default() },
            params,
        }
    }

    /// Sets the multiplier of the maintenance rates (ppm of 1) and rebuilds
    /// [`Market::tiers`] from the configured table.
    pub fn set_maintenance_scale(&mut self, scale: Ppm) {
        if scale != self.maintenance_scale {
            self.maintenance_scale = scale;
            self.tiers = self.base_tiers.with_maintenance_scaled(scale);
        }
    }

    /// The mid of the book now, rounded down; a pool's price.
    pub fn view_mid(&self) -> Option<Price> {
        if let Some(a) = &self.amm {
            return a.pool.price(self.params.tick_value);
        }
        Some(Price((self.book.best_bid()?.0 + self.book.best_ask()?.0).div_euclid(2)))
    }

    /// The best bid now: the book's, or what a pool pays for one unit.
    pub fn best_bid(&self) -> Option<Price> {
        match &self.amm {
            Some(a) => a.pool.bid(self.params.tick_value),
            None => self.book.best_bid(),
        }
    }

    /// The best ask now: the book's, or what a pool charges for one unit.
    pub fn best_ask(&self) -> Option<Price> {
        match &self.amm {
            Some(a) => a.pool.ask(self.params.tick_value),
            None => self.book.best_ask(),
        }
    }

    /// Whether this is a spot market.
    pub fn is_spot(&self) -> bool {
        self.params.spot.is_some()
    }

    /// Whether trading is halted at `tick`.
    pub fn is_halted(&self, tick: u64) -> bool {
        self.halt.is_some_and(|(from, until)| (from..until).contains(&tick))
    }

    /// Notional of `qty` lots at `price`, micros.
    pub fn notional(&self, qty: Lots, price: Price) -> Micros {
        Micros(narrow(i128::from(qty.0.abs()) * i128::from(price.0) * i128::from(self.params.tick_value.0)))
    }

    /// Recomputes the mark price from the index, the book and the last
    /// trade. `tick` is the current tick, for the time left to funding.
    pub fn update_mark(&mut self, tick: u64) {
        let index = self.index.price;
        let last = self.last_trade.unwrap_or(index);
        if self.is_spot() {
            self.mark = last;
            return;
        }
        self.mark = match self.params.mark {
            MarkMethod::Index => index,
            MarkMethod::LastTrade => last,
            MarkMethod::Median { .. } => {
                let interval = self.params.funding.interval_ticks;
                let adjusted = if interval == 0 {
                    index
                } else {
                    let left = i128::from(interval - tick % interval);
                    let adj = i128::from(index.0) * i128::from(self.funding_rate.0) * left
                        / (i128::from(PPM) * i128::from(interval));
                    Price(index.0 + narrow(adj))
                };
                let avg_basis = if self.basis.is_empty() {
                    0
                } else {
                    let n = i64::try_from(self.basis.len()).expect("window fits i64");
                    self.basis.iter().sum::<i64>().div_euclid(n)
                };
                let basis = Price(index.0 + avg_basis);
                let mut three = [adjusted, basis, last];
                three.sort();
                three[1]
            }
        };
        self.mark = Price(self.mark.0.max(1));
    }

    /// Samples the basis and premium for this tick (after the index moves).
    pub fn sample_basis_and_premium(&mut self) {
        let index = self.index.price;
        let mid = match (self.book.best_bid(), self.book.best_ask()) {
            (Some(b), Some(a)) => Some((b.0 + a.0).div_euclid(2)),
            _ => None,
        };
        if let (MarkMethod::Median { basis_window }, Some(mid)) = (&self.params.mark, mid) {
            self.basis.push_back(mid - index.0);
            while self.basis.len() > *basis_window as usize {
                self.basis.pop_front();
            }
        }
        if self.params.funding.interval_ticks > 0 {
            let lots = self.impact_lots();
            let bid = self.book.impact_price(Side::Sell, lots).unwrap_or(index.0 as f64);
            let ask = self.book.impact_price(Side::Buy, lots).unwrap_or(index.0 as f64);
            let ix = index.0 as f64;
            let premium = ((bid - ix).max(0.0) - (ix - ask).max(0.0)) / ix;
            self.premium_sum += round_to_i64(premium * PPM as f64);
            self.premium_samples += 1;
        }
    }

    fn impact_lots(&self) -> Lots {
        let per_lot = i128::from(self.params.tick_value.0) * i128::from(self.mark.0);
        Lots(narrow((i128::from(self.params.funding.impact_notional.0) / per_lot.max(1)).max(1)))
    }

    /// At a funding tick, sets the rate and advances the funding index.
    /// Returns true if funding was charged this tick.
    pub fn apply_funding(&mut self, tick: u64) -> bool {
        let f = &self.params.funding;
        if self.is_spot()
            || f.interval_ticks == 0
            || tick == 0
            || !tick.is_multiple_of(f.interval_ticks)
            || self.premium_samples == 0
        {
            return false;
        }
        let premium = self.premium_sum.div_euclid(self.premium_samples);
        let rate = (premium + (f.interest.0 - premium).clamp(-f.clamp.0, f.clamp.0)).clamp(-f.cap.0, f.cap.0);
        self.funding_rate = Ppm(rate);
        self.premium_sum = 0;
        self.premium_samples = 0;
        // Per-lot payment rounded to the nearest micro, once for everyone.
        let raw = i128::from(self.mark.0) * i128::from(self.params.tick_value.0) * i128::from(rate);
        let per_lot = div_floor(2 * raw + i128::from(PPM), 2 * i128::from(PPM));
        self.funding_index += Micros(narrow(per_lot));
        true
    }

    /// Records the mark for realised volatility and refreshes the view.
    pub fn refresh_view(&mut self) {
        self.marks.push_back(self.mark);
        while self.marks.len() > self.params.vol_window as usize + 1 {
            self.marks.pop_front();
        }
        let band = self.params.depth_band_ticks;
        self.view = MarketView {
            fundamental: self.index.fundamental,
            index: self.index.price,
            mark: self.mark,
            best_bid: self.best_bid(),
            best_ask: self.best_ask(),
            bid_depth: self.book.depth_within(Side::Buy, band),
            ask_depth: self.book.depth_within(Side::Sell, band),
            realised_vol: realised_vol(&self.marks),
            open_interest: self.open_interest,
        };
    }
}

/// Realised volatility of `prices`: the root mean square of their per-tick
/// log returns. No mean is taken out, so a steady slide counts as
/// volatility, as it does for a trader watching the screen.
fn realised_vol(prices: &VecDeque<Price>) -> f64 {
    if prices.len() < 2 {
        return 0.0;
    }
    let (sum_sq, n) = prices
        .iter()
        .zip(prices.iter().skip(1))
        .map(|(a, b)| (b.0 as f64 / a.0 as f64).ln())
        .fold((0.0, 0.0), |(s, n), r| (s + r * r, n + 1.0));
    (sum_sq / n).sqrt()
}

/// All markets, indexed by [`MarketId`].
#[derive(Resource, Debug, Default)]
pub struct Markets(pub Vec<Market>);

impl Markets {
    /// Observe-phase step: every oracle reads its venues and publishes the
    /// index of its market (before the marks are updated).
    pub fn update_oracles(&mut self, tick: u64) {
        for i in 0..self.0.len() {
            let Some(oracle) = &self.0[i].oracle else { continue };
            let prices: Vec<Option<Price>> = oracle
                .venues
                .iter()
                .map(|v| {
                    let m = self.get(*v);
                    match oracle.source() {
                        OracleSource::Mid => m.view_mid().or(m.last_trade),
                        OracleSource::LastTrade => m.last_trade,
                    }
                })
                .collect();
            let raw = oracle.combine(&prices);
            let m = &mut self.0[i];
            let price = m.oracle.as_mut().expect("checked above").observe(tick, raw);
            m.index.price = price;
        }
    }

    /// The market named `name`.
    pub fn named(&self, name: &str) -> Option<MarketId> {
        self.0.iter().find(|m| m.params.name == name).map(|m| m.id)
    }

    /// The market `id`.
    pub fn get(&self, id: MarketId) -> &Market {
        &self.0[id.idx()]
    }

    /// The market `id`, mutably.
    pub fn get_mut(&mut self, id: MarketId) -> &mut Market {
        &mut self.0[id.idx()]
    }
}
