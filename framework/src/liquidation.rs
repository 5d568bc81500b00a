//! The liquidation protocol (the Liquidate phase): find accounts below
//! maintenance margin, close them with market orders into the book, charge
//! the penalty to the insurance fund and settle any bad debt.
//!
//! Each tick runs up to `max_rounds` rounds. A round takes the candidates
//! from the trigger index at the current marks, checks each exactly, and
//! closes those below maintenance: an isolated position on its own, or every
//! position of a cross-margin account. The fills move the last trade price
//! and so the mark; the next round looks again at the new marks. This is the
//! cascade: forced sales lower the price, which forces more sales.
//!
//! The penalty is `penalty × closed notional`, paid from what the closed
//! pool has left (never from an isolated account's free collateral). If the
//! pool ends below zero, that is bad debt: the insurance fund pays it, and
//! what the fund cannot pay is recorded as uncovered. [`Backstop`] is the
//! hook where auto-deleveraging and socialised loss will take over the
//! uncovered part.

use crate::auction::Auctions;
use crate::book::{Fill, Order, OrderKind};
use crate::error::ParamError;
use crate::exchange::{TakerFee, execute, fee};
use crate::ledger::{Ledger, MarginMode};
use crate::margin::MarginLine;
use crate::market::Markets;
use crate::sequencer::OrderQueue;
use crate::sim::Clock;
use crate::triggers::{Triggers, below_maintenance, terms_of};
use crate::units::{AccountId, Lots, MarketId, Micros, PPM, Ppm, Price, Side, div_ceil, narrow, round_to_i64};
use bevy_ecs::prelude::*;
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;

/// What pays bad debt once the insurance fund is empty.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Backstop {
    /// Nothing: the rest is recorded as uncovered bad debt.
    #[default]
    InsuranceFundOnly,
    /// Auto-deleveraging: a liquidation sells into the book only down to
    /// the position's bankruptcy price (an IOC order there); what the book
    /// cannot take is closed at the bankruptcy price against the opposite
    /// trader positions, ranked by `PnL% × effective leverage` when
    /// `PnL% > 0` and by `PnL% ÷ effective leverage` otherwise, highest
    /// first (ties by account), the ranking taken once per round. `PnL%` is unrealised PnL over the position's
    /// cost; effective leverage is its notional over the equity backing it.
    /// No bad debt arises beyond rounding; system accounts are not
    /// deleveraged.
    Adl,
    /// A pro-rata haircut of profits, once at the end of each tick that
    /// leaves bad debt uncovered: every trader account with positive PnL
    /// (equity − deposits) pays `uncovered × PnL_i / Σ PnL`, rounded down,
    /// the remainder a micro each to the largest profits first, up to the
    /// total profit.
    SocializedLoss,
}

/// One level of circuit breaker: halt trading for `halt_ticks` when the
/// mark has moved by `move_fraction` or more within `window_ticks`
/// (measured as (high − low) / high over the last `window_ticks + 1`
/// marks). With several levels, the largest move reached decides.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct BreakerBand {
    /// Move that trips the breaker, fraction (0.07 = 7%).
    pub move_fraction: f64,
    /// Ticks the move is measured over, at least 1.
    pub window_ticks: u64,
    /// Ticks trading stays halted, at least 1.
    pub halt_ticks: u64,
}

/// A backstop liquidator vault: an account with its own capital that
/// takes over, at the bankruptcy price, any position whose health factor
/// (equity ÷ maintenance margin) is below `below_health` when it is
/// liquidated, instead of selling it into the book. The vault is a trader
/// account like any other (population `backstop_vault`): it carries what it
/// takes over, and can itself be liquidated.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct VaultParams {
    /// Health factor below which the vault takes over (ppm; 500,000 = 0.5).
    pub below_health: Ppm,
    /// The vault's capital, micros.
    pub capital: Micros,
}

/// The vault's account, when there is one.
#[derive(Resource, Clone, Copy, Debug, Default)]
pub struct Vault(pub Option<AccountId>);

/// How much of a position a liquidation closes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum CloseFactor {
    /// All of it.
    #[default]
    Full,
    /// A fixed fraction, rounded up to whole lots.
    Fraction {
        /// Fraction closed (ppm).
        fraction: Ppm,
    },
    /// `fraction` while the health factor (equity ÷ maintenance margin) is
    /// at least `full_below`, everything below it: the lending protocols'
    /// rule (50%, and 100% below a health factor of 0.95).
    Stepped {
        /// Fraction closed while healthy enough (ppm).
        fraction: Ppm,
        /// Health factor below which all is closed (ppm; 950,000 = 0.95).
        full_below: Ppm,
    },
    /// The fewest lots whose closing at the mark, penalty paid, brings the
    /// position back to maintenance margin.
    RestoreMargin,
}

impl CloseFactor {
    /// Lots to close of a position whose margin line is `line`, at `mark`,
    /// with liquidation penalty `penalty`.
    pub fn lots(self, line: &MarginLine<'_>, mark: Price, penalty: Ppm) -> Lots {
        let q = line.qty.0.abs();
        let frac = |f: Ppm| Lots(narrow(div_ceil(i128::from(q) * i128::from(f.0), i128::from(PPM))).clamp(1, q));
        match self {
            CloseFactor::Full => Lots(q),
            CloseFactor::Fraction { fraction } => frac(fraction),
            CloseFactor::Stepped { fraction, full_below } => {
                let notional = i128::from(q) * i128::from(line.tick_value.0) * i128::from(mark.0);
                let mm = line.tiers.maintenance_scaled(notional);
                // health = equity / MM, compared in ppm without division.
                let healthy = line.equity(mark) * i128::from(PPM) * i128::from(PPM) >= mm * i128::from(full_below.0);
                if healthy { frac(fraction) } else { Lots(q) }
            }
            CloseFactor::RestoreMargin => {
                let per_lot = i128::from(line.tick_value.0) * i128::from(mark.0);
                let restored = |x: i64| {
                    let closed = i128::from(x) * per_lot;
                    let pen = div_ceil(closed * i128::from(penalty.0), i128::from(PPM));
                    let left = i128::from(q - x) * per_lot;
                    (line.equity(mark) - pen) * i128::from(PPM) >= line.tiers.maintenance_scaled(left)
                };
                // Closing more never hurts the margin ratio at the mark, so
                // the smallest sufficient size is found by bisection.
                let (mut lo, mut hi) = (0_i64, q);
                if !restored(hi) {
                    return Lots(q);
                }
                while hi - lo > 1 {
                    let mid = lo + (hi - lo) / 2;
                    if restored(mid) { hi = mid } else { lo = mid }
                }
                Lots(hi)
            }
        }
    }
}

/// Parameters of the liquidation protocol; each field defaults to
/// [`ProtocolParams::default`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct ProtocolParams {
    /// Penalty on the notional closed by a liquidation (ppm), paid to the
    /// insurance fund.
    pub penalty: Ppm,
    /// Liquidation rounds per tick, at least 1.
    pub max_rounds: u32,
    /// Insurance fund at the start, micros.
    pub insurance_fund: Micros,
    /// What pays bad debt beyond the fund.
    #[serde(default)]
    pub backstop: Backstop,
    /// How much of a liquidated position is closed.
    #[serde(default)]
    pub close_factor: CloseFactor,
    /// Circuit breakers; none when empty. While a market is halted its
    /// orders are not executed (cancels are), its background depth is not
    /// refreshed, and no one is liquidated in it.
    #[serde(default)]
    pub breakers: Vec<BreakerBand>,
    /// Notional liquidated per market per tick, micros, after which accounts
    /// wait for the next tick: a liquidation starts only while the market's
    /// total for the tick is below the cap, and is then completed, so a
    /// tick ends above the cap by at most one account's positions. No
    /// limit when absent.
    #[serde(default)]
    pub liquidation_cap: Option<Micros>,
    /// A backstop liquidator vault; none when absent.
    #[serde(default)]
    pub vault: Option<VaultParams>,
    /// Liquidate by Dutch auction to keepers instead of selling into the
    /// book (see [`crate::auction`]); the book when absent.
    #[serde(default)]
    pub auction: Option<crate::auction::AuctionParams>,
    /// Maintenance rates that rise with realised volatility; the configured
    /// rates always when absent.
    #[serde(default)]
    pub dynamic_maintenance: Option<DynamicMaintenance>,
}

/// Maintenance rates that rise with the market's realised volatility, at a
/// bounded speed. Each tick, in Observe, with `σ` the market's realised
/// volatility (RMS of one-tick log returns of the mark over its
/// `vol_window`):
///
/// ```text
/// k*  = min(max_multiplier, 1 + sensitivity × max(0, σ / vol_ref − 1))
/// k_t = k_{t−1} + clamp(k* − k_{t−1}, −max_step, +max_step),   k_0 = 1
/// ```
///
/// and every maintenance rate of the market's tier table is multiplied by
/// `k_t` (held in ppm, rates rounded up); initial rates are unchanged. The
/// liquidation checks use the scaled rates; the trigger index stays keyed
/// under the configured ones and widens its query by the bound in
/// [`crate::triggers`], so a change of `k` re-keys nothing. The heatmap
/// shows liquidation prices under the configured rates. `k_t` is the
/// `maintenance_scale` column of `ticks`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct DynamicMaintenance {
    /// Volatility at and below which the rates are as configured (RMS of
    /// one-tick log returns; 0.0005 is about 89% a year at one-second ticks).
    pub vol_ref: f64,
    /// Rise of the multiplier per unit of `σ / vol_ref` above 1.
    pub sensitivity: f64,
    /// Largest multiplier.
    pub max_multiplier: f64,
    /// Largest change of the multiplier in one tick, up or down.
    pub max_step: f64,
}

impl Default for DynamicMaintenance {
    fn default() -> DynamicMaintenance {
        DynamicMaintenance { vol_ref: 0.000_5, sensitivity: 0.5, max_multiplier: 2.0, max_step: 0.02 }
    }
}

impl DynamicMaintenance {
    /// Checks the parameters.
    pub fn validate(&self) -> Result<(), ParamError> {
        let field = |f: &str| format!("dynamic_maintenance.{f}");
        if !(self.vol_ref.is_finite() && self.vol_ref > 0.0) {
            return Err(ParamError::invalid(field("vol_ref"), "must be positive"));
        }
        if !(self.sensitivity.is_finite() && self.sensitivity >= 0.0) {
            return Err(ParamError::invalid(field("sensitivity"), "must be non-negative"));
        }
        if !(self.max_multiplier.is_finite() && (1.0..=100.0).contains(&self.max_multiplier)) {
            return Err(ParamError::invalid(field("max_multiplier"), "must be between 1 and 100"));
        }
        if !(self.max_step.is_finite() && self.max_step > 0.0) {
            return Err(ParamError::invalid(field("max_step"), "must be positive"));
        }
        Ok(())
    }

    /// The largest multiplier, in ppm.
    pub fn max_scale(&self) -> Ppm {
        Ppm(round_to_i64(self.max_multiplier * PPM as f64))
    }

    /// The next multiplier (ppm) from `previous` at volatility `sigma`.
    pub fn next_scale(&self, previous: Ppm, sigma: f64) -> Ppm {
        let excess = if sigma.is_finite() { (sigma / self.vol_ref - 1.0).max(0.0) } else { 0.0 };
        let target = (1.0 + self.sensitivity * excess).min(self.max_multiplier);
        let target = round_to_i64(target * PPM as f64);
        let step = round_to_i64(self.max_step * PPM as f64);
        Ppm(previous.0 + (target - previous.0).clamp(-step, step))
    }
}

/// Observe-phase system: moves each market's maintenance multiplier under
/// [`DynamicMaintenance`], after the views are refreshed.
pub fn update_maintenance(protocol: Res<Protocol>, mut markets: ResMut<Markets>) {
    let Some(d) = &protocol.0.dynamic_maintenance else { return };
    for m in &mut markets.0 {
        let next = d.next_scale(m.maintenance_scale, m.view.realised_vol);
        m.set_maintenance_scale(next);
    }
}

impl Default for ProtocolParams {
    fn default() -> ProtocolParams {
        ProtocolParams {
            penalty: Ppm(10_000),
            max_rounds: 10,
            insurance_fund: Micros(1_000_000_000_000),
            backstop: Backstop::default(),
            close_factor: CloseFactor::default(),
            breakers: Vec::new(),
            liquidation_cap: None,
            vault: None,
            auction: None,
            dynamic_maintenance: None,
        }
    }
}

impl ProtocolParams {
    /// Checks the parameters.
    pub fn validate(&self) -> Result<(), ParamError> {
        if !(0..=1_000_000).contains(&self.penalty.0) {
            return Err(ParamError::invalid("penalty", "must be between 0 and 1,000,000 ppm"));
        }
        if self.max_rounds == 0 {
            return Err(ParamError::invalid("max_rounds", "must be at least 1"));
        }
        if self.insurance_fund.0 < 0 {
            return Err(ParamError::invalid("insurance_fund", "must be non-negative"));
        }
        for (i, b) in self.breakers.iter().enumerate() {
            if !(b.move_fraction.is_finite() && b.move_fraction > 0.0 && b.move_fraction < 1.0) {
                return Err(ParamError::invalid(format!("breakers[{i}].move_fraction"), "must be in (0, 1)"));
            }
            if b.window_ticks == 0 || b.halt_ticks == 0 {
                return Err(ParamError::invalid(
                    format!("breakers[{i}].window_ticks"),
                    "window and halt must be at least 1 tick",
                ));
            }
        }
        if let Some(v) = &self.vault
            && (v.capital.0 <= 0 || v.below_health.0 <= 0)
        {
            return Err(ParamError::invalid("vault", "capital and below_health must be positive"));
        }
        if let Some(a) = &self.auction {
            a.validate()?;
            if self.backstop == Backstop::Adl {
                return Err(ParamError::invalid(
                    "backstop",
                    "auto-deleveraging closes at the bankruptcy price in the book; it cannot follow an auction",
                ));
            }
            if self.vault.is_some() {
                return Err(ParamError::invalid("vault", "choose the vault or the auction, not both"));
            }
            if self.close_factor != CloseFactor::Full {
                return Err(ParamError::invalid("close_factor", "an auction sells the whole position; use full"));
            }
        }
        if let Some(d) = &self.dynamic_maintenance {
            d.validate()?;
        }
        if self.liquidation_cap.is_some_and(|c| c.0 <= 0) {
            return Err(ParamError::invalid("liquidation_cap", "must be positive"));
        }
        match self.close_factor {
            CloseFactor::Fraction { fraction } | CloseFactor::Stepped { fraction, .. }
                if !(1..=PPM).contains(&fraction.0) =>
            {
                return Err(ParamError::invalid("close_factor.fraction", "must be in (0, 1,000,000] ppm"));
            }
            CloseFactor::Stepped { full_below, .. } if full_below.0 < 0 => {
                return Err(ParamError::invalid("close_factor.full_below", "must be non-negative"));
            }
            _ => {}
        }
        Ok(())
    }
}

/// The protocol's parameters, as a resource.
#[derive(Resource, Clone, Debug)]
pub struct Protocol(pub ProtocolParams);

/// What an event records.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EventKind {
    /// A position closed (or partly closed) into the book.
    Liquidation,
    /// Uncovered bad debt taken from profits at the end of a tick: `qty`
    /// accounts paid `covered` in all (the first, largest, is `account`).
    SocializedLoss,
    /// A circuit breaker tripped; trading halts from the next tick for
    /// `qty` ticks.
    Halt,
    /// This account's opposite position was closed by auto-deleveraging:
    /// `qty` lots at `fill_price` (the bankrupt position's bankruptcy price).
    Adl,
    /// The backstop vault took this account's position over: `qty` lots at
    /// `fill_price` (its bankruptcy price).
    Backstop,
    /// A Dutch auction of this account's position began: `qty` lots,
    /// `fill_price` the start price.
    AuctionKick,
    /// A keeper (`account`) took `qty` lots at `fill_price`; `covered` is
    /// the keeper reward it was paid.
    AuctionTake,
    /// An auction restarted from the current mark; `fill_price` is the new
    /// start price.
    AuctionReset,
    /// An auction sold out; when it was the account's last, the account was
    /// settled: `penalty`, `bad_debt`, `covered` and `uncovered` as for a
    /// liquidation.
    AuctionEnd,
}

impl EventKind {
    /// The name written in frames.
    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::Liquidation => "liquidation",
            EventKind::SocializedLoss => "socialized_loss",
            EventKind::Halt => "halt",
            EventKind::Adl => "adl",
            EventKind::Backstop => "backstop",
            EventKind::AuctionKick => "auction_kick",
            EventKind::AuctionTake => "auction_take",
            EventKind::AuctionReset => "auction_reset",
            EventKind::AuctionEnd => "auction_end",
        }
    }
}

/// One closed (or partly closed) position, or one haircut.
#[derive(Clone, Debug, PartialEq)]
pub struct LiquidationEvent {
    /// What happened.
    pub kind: EventKind,
    /// Tick.
    pub tick: u64,
    /// Round within the tick, from 0.
    pub round: u32,
    /// The account.
    pub account: AccountId,
    /// The market.
    pub market: MarketId,
    /// Side of the position closed (buy = a long).
    pub side: Side,
    /// Lots closed.
    pub qty: Lots,
    /// Lots the book could not absorb.
    pub unfilled: Lots,
    /// Mark price that triggered it.
    pub trigger_price: Price,
    /// The position's liquidation price before the close.
    pub liquidation_price: Option<Price>,
    /// The position's bankruptcy price before the close.
    pub bankruptcy_price: Option<Price>,
    /// Average fill price, ticks (fractional).
    pub fill_price: f64,
    /// Penalty paid to the insurance fund.
    pub penalty: Micros,
    /// Bad debt created.
    pub bad_debt: Micros,
    /// Part of it the insurance fund paid.
    pub covered: Micros,
    /// Part it could not pay.
    pub uncovered: Micros,
}

impl LiquidationEvent {
    /// An event of `kind` with nothing traded, paid or owed yet; callers
    /// fill in what applies.
    #[allow(clippy::too_many_arguments, reason = "these are what every event has")]
    pub fn new(
        kind: EventKind,
        tick: u64,
        round: u32,
        account: AccountId,
        market: MarketId,
        side: Side,
        qty: Lots,
        trigger_price: Price,
    ) -> LiquidationEvent {
        LiquidationEvent {
            kind,
            tick,
            round,
            account,
            market,
            side,
            qty,
            unfilled: Lots(0),
            trigger_price,
            liquidation_price: None,
            bankruptcy_price: None,
            fill_price: f64::NAN,
            penalty: Micros(0),
            bad_debt: Micros(0),
            covered: Micros(0),
            uncovered: Micros(0),
        }
    }
}

/// Per-market liquidation totals of one tick.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LiquidationTotals {
    /// Positions closed.
    pub count: u64,
    /// Notional of longs closed, micros.
    pub long_notional: Micros,
    /// Notional of shorts closed, micros.
    pub short_notional: Micros,
    /// Bad debt created, micros.
    pub bad_debt: Micros,
    /// Profits taken by socialised loss, micros.
    pub socialized: Micros,
    /// Liquidations put off to the next tick by the cap.
    pub throttled: u64,
    /// Dutch auctions running at the end of the tick.
    pub auctions_open: u64,
}

/// This tick's liquidations, read by the recorder.
#[derive(Resource, Clone, Debug, Default)]
pub struct TickLiquidations {
    /// Events, in execution order.
    pub events: Vec<LiquidationEvent>,
    /// Rounds that closed at least one position.
    pub rounds: u32,
    /// Totals per market.
    pub totals: Vec<LiquidationTotals>,
    /// The auto-deleveraging queue of the current round, per (market, side
    /// of the positions it holds).
    adl_queue: Vec<(MarketId, Side, u32, Vec<AccountId>)>,
}

/// Positions below maintenance at the marks seen in Observe, before anyone
/// trades: the liquidation orders that will hit the book this tick unless
/// the price moves back. A front-runner with a faster priority class can
/// act on it.
#[derive(Resource, Clone, Debug, Default)]
pub struct LiquidationPreview {
    /// Per market: (long lots, short lots) about to be force-closed.
    pub lots: Vec<(Lots, Lots)>,
}

/// Observe-phase system: fills the [`LiquidationPreview`].
pub fn preview_liquidations(
    markets: Res<Markets>,
    ledger: Res<Ledger>,
    triggers: Res<Triggers>,
    mut preview: ResMut<LiquidationPreview>,
) {
    preview.lots.clear();
    preview.lots.resize(markets.0.len(), (Lots(0), Lots(0)));
    let mut candidates = Vec::new();
    for m in &markets.0 {
        candidates.clear();
        triggers.candidates(m.id, &markets, &mut candidates);
        for &a in &candidates {
            if below_maintenance(a, &ledger, &markets).is_some() {
                let q = ledger.account(a).qty(m.id).0;
                let entry = &mut preview.lots[m.id.idx()];
                if q > 0 { entry.0 += Lots(q) } else { entry.1 += Lots(-q) }
            }
        }
    }
}

/// Pays `amount` of bad debt for `account` from the insurance fund; what
/// the fund cannot pay is uncovered (until socialised at the end of the
/// tick, under [`Backstop::SocializedLoss`]). Returns (covered, uncovered).
pub fn cover_bad_debt(ledger: &mut Ledger, account: AccountId, amount: Micros) -> (Micros, Micros) {
    let covered = Micros(amount.0.min(ledger.insurance_fund.0.max(0)));
    ledger.insurance_fund -= covered;
    ledger.covered_bad_debt += covered;
    ledger.account_mut(account).collateral += amount;
    let uncovered = amount - covered;
    ledger.uncovered_bad_debt += uncovered;
    (covered, uncovered)
}

/// Takes up to `amount` from the profits of trader accounts, pro rata (see
/// [`Backstop::SocializedLoss`]). A haircut comes out of free collateral
/// first, then out of position margins.
fn socialize(ledger: &mut Ledger, markets: &Markets, amount: Micros) -> Vec<(AccountId, Micros)> {
    let terms = |m: MarketId| terms_of(markets, m);
    let price_of = |m: MarketId| markets.get(m).mark;
    // This scans every account: it runs once at the end of a tick that left
    // bad debt uncovered.
    let mut profits: Vec<(i128, AccountId)> = ledger
        .accounts
        .iter()
        .enumerate()
        .filter(|(_, a)| a.kind == crate::ledger::AccountKind::Trader)
        .map(|(i, a)| {
            (a.equity(&terms, &price_of) - i128::from(a.deposited.0), AccountId(u32::try_from(i).expect("fits")))
        })
        .filter(|(p, _)| *p > 0)
        .collect();
    let total: i128 = profits.iter().map(|(p, _)| *p).sum();
    if total == 0 {
        return Vec::new();
    }
    let take = i128::from(amount.0).min(total);
    profits.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    let mut cuts: Vec<(AccountId, i128)> = profits.iter().map(|(p, a)| (*a, take * p / total)).collect();
    let mut rest = take - cuts.iter().map(|(_, c)| c).sum::<i128>();
    for (i, (_, c)) in cuts.iter_mut().enumerate() {
        if rest == 0 {
            break;
        }
        if *c < profits[i].0 {
            *c += 1;
            rest -= 1;
        }
    }
    let mut out = Vec::with_capacity(cuts.len());
    for (a, c) in cuts {
        if c == 0 {
            continue;
        }
        let cut = Micros(narrow(c));
        let acct = ledger.account_mut(a);
        let from_free = Micros(cut.0.min(acct.collateral.0.max(0)));
        acct.collateral -= from_free;
        let mut left = cut - from_free;
        for p in acct.positions.iter_mut() {
            let m = Micros(left.0.min(p.margin.0.max(0)));
            p.margin -= m;
            left -= m;
        }
        acct.collateral -= left;
        out.push((a, cut));
    }
    out
}

/// Liquidate-phase system.
#[allow(clippy::too_many_arguments, reason = "a system's parameters are its resource accesses")]
pub fn liquidate(
    clock: Res<Clock>,
    protocol: Res<Protocol>,
    vault: Res<Vault>,
    mut markets: ResMut<Markets>,
    mut ledger: ResMut<Ledger>,
    mut triggers: ResMut<Triggers>,
    mut queue: ResMut<OrderQueue>,
    mut auctions: ResMut<Auctions>,
    mut log: ResMut<TickLiquidations>,
) {
    let n_markets = markets.0.len();
    log.events.clear();
    log.adl_queue.clear();
    log.rounds = 0;
    log.totals.clear();
    log.totals.resize(n_markets, LiquidationTotals::default());
    // Keepers' takes of this tick's Match phase.
    log.events.append(&mut auctions.events);
    for (i, (long, short, bad)) in auctions.taken.drain(..).enumerate() {
        let t = &mut log.totals[i];
        t.long_notional += long;
        t.short_notional += short;
        t.bad_debt += bad;
    }
    let mut candidates: Vec<AccountId> = Vec::new();
    for round in 0..protocol.0.max_rounds {
        candidates.clear();
        for m in 0..n_markets {
            let id = MarketId(u16::try_from(m).expect("market id fits"));
            if !markets.get(id).is_halted(clock.tick) {
                triggers.candidates(id, &markets, &mut candidates);
            }
        }
        candidates.extend(triggers.multi_market());
        let mut seen = BTreeSet::new();
        candidates.retain(|a| seen.insert(*a));
        let mut closed_any = false;
        for &account in &candidates {
            if auctions.is_frozen(account) {
                continue;
            }
            let Some(market) = below_maintenance(account, &ledger, &markets) else { continue };
            if markets.get(market).is_halted(clock.tick) {
                continue;
            }
            if let Some(cap) = protocol.0.liquidation_cap {
                let t = &mut log.totals[market.idx()];
                if t.long_notional.0 + t.short_notional.0 >= cap.0 {
                    t.throttled += 1;
                    continue;
                }
            }
            let ctx = Ctx { tick: clock.tick, round, protocol: &protocol.0, vault: vault.0 };
            if auctions.params.is_some() {
                closed_any |= kick_account(
                    ctx,
                    account,
                    market,
                    &mut markets,
                    &mut ledger,
                    &mut triggers,
                    &mut auctions,
                    &mut log,
                );
                continue;
            }
            closed_any |=
                liquidate_account(ctx, account, market, &mut markets, &mut ledger, &mut triggers, &mut queue, &mut log);
        }
        if !closed_any {
            break;
        }
        log.rounds += 1;
        for m in &mut markets.0 {
            m.update_mark(clock.tick);
        }
    }
    if auctions.params.is_some() {
        let resets = auctions.reset_due(clock.tick, &markets);
        log.events.extend(resets);
        for (t, n) in log.totals.iter_mut().zip(auctions.open_per_market(n_markets)) {
            t.auctions_open = n;
        }
    }
    if protocol.0.backstop == Backstop::SocializedLoss && ledger.uncovered_bad_debt.0 > 0 {
        socialize_tick(clock.tick, &mut markets, &mut ledger, &mut triggers, &mut log);
    }
}

/// The markets whose positions a liquidation of `account`, found below
/// maintenance in `market`, closes: that one under isolated margin, every
/// one under cross.
fn liquidated_markets(ledger: &Ledger, account: AccountId, market: MarketId) -> Vec<MarketId> {
    let acct = ledger.account(account);
    match acct.mode {
        MarginMode::Isolated => vec![market],
        MarginMode::Cross => acct.positions.iter().map(|p| p.market).collect(),
    }
}

/// Kicks auctions of `account`'s liquidated positions: the one in `market`
/// under isolated margin, every one under cross, after cancelling the
/// account's resting orders there. Returns whether anything happened.
#[allow(clippy::too_many_arguments, reason = "a kick touches the ledger, index and auction house")]
fn kick_account(
    ctx: Ctx<'_>,
    account: AccountId,
    market: MarketId,
    markets: &mut Markets,
    ledger: &mut Ledger,
    triggers: &mut Triggers,
    auctions: &mut Auctions,
    log: &mut TickLiquidations,
) -> bool {
    let targets = liquidated_markets(ledger, account, market);
    let mut any = false;
    for m in targets {
        markets.get_mut(m).book.cancel_all(account);
        if let Some(ev) = auctions.kick(ctx.tick, ctx.round, account, m, markets, ledger, triggers) {
            log.totals[m.idx()].count += 1;
            log.events.push(ev);
            any = true;
        }
    }
    if any {
        ledger.account_mut(account).liquidated_at.get_or_insert(ctx.tick);
    }
    any
}

/// Socialises the uncovered bad debt once, at the end of the tick's
/// liquidations: one scan of the accounts per tick, however many
/// bankruptcies the tick had. Writes one `socialized_loss` event (`qty`:
/// accounts that paid; `covered`: the total taken), attributed to the first
/// market that had bad debt this tick.
fn socialize_tick(
    tick: u64,
    markets: &mut Markets,
    ledger: &mut Ledger,
    triggers: &mut Triggers,
    log: &mut TickLiquidations,
) {
    let owed = ledger.uncovered_bad_debt;
    let haircuts = socialize(ledger, markets, owed);
    if haircuts.is_empty() {
        return;
    }
    let total: Micros = haircuts.iter().map(|(_, c)| *c).sum();
    ledger.uncovered_bad_debt -= total;
    let market = log
        .totals
        .iter()
        .position(|t| t.bad_debt.0 > 0)
        .map_or(MarketId(0), |i| MarketId(u16::try_from(i).expect("market id fits")));
    log.totals[market.idx()].socialized += total;
    let payers = Lots(i64::try_from(haircuts.len()).unwrap_or(i64::MAX));
    let mark = markets.get(market).mark;
    log.events.push(LiquidationEvent {
        covered: total,
        uncovered: ledger.uncovered_bad_debt,
        ..LiquidationEvent::new(
            EventKind::SocializedLoss,
            tick,
            log.rounds,
            haircuts[0].0,
            market,
            Side::Buy,
            payers,
            mark,
        )
    });
    for (payer, _) in haircuts {
        triggers.rekey(payer, ledger, markets);
    }
}

#[derive(Clone, Copy)]
struct Ctx<'a> {
    tick: u64,
    round: u32,
    protocol: &'a ProtocolParams,
    vault: Option<AccountId>,
}

/// Closes what the book can absorb of `account`'s liquidated positions and
/// settles penalty and bad debt. Returns whether anything traded; a book
/// with nothing on the other side leaves the position for the next round or
/// tick, and records nothing.
#[allow(clippy::too_many_arguments, reason = "the liquidation touches every part of the exchange")]
fn liquidate_account(
    ctx: Ctx<'_>,
    account: AccountId,
    market: MarketId,
    markets: &mut Markets,
    ledger: &mut Ledger,
    triggers: &mut Triggers,
    queue: &mut OrderQueue,
    log: &mut TickLiquidations,
) -> bool {
    let acct = ledger.account(account);
    let mode = acct.mode;
    let targets = liquidated_markets(ledger, account, market);
    let free_before = acct.collateral;
    let mut fills: Vec<Fill> = Vec::new();
    // The first liquidation event of this account (ADL events of its
    // counterparties may come before it).
    let mut first_event: Option<usize> = None;
    let mut due = Micros(0);
    for m in targets {
        markets.get_mut(m).book.cancel_all(account);
        let acct = ledger.account(account);
        let terms = |id: MarketId| terms_of(markets, id);
        let price_of = |id: MarketId| markets.get(id).mark;
        let Some(line) = acct.margin_line(m, &terms, &price_of) else { continue };
        let (liquidation_price, bankruptcy_price) = (line.liquidation_price(), line.bankruptcy_price());
        let qty = acct.qty(m);
        let side = if qty.0 > 0 { Side::Buy } else { Side::Sell };
        let mark = markets.get(m).mark;
        if let (Some(v), Some(vault), Some(bankrupt_at)) = (&ctx.protocol.vault, ctx.vault, bankruptcy_price)
            && vault != account
        {
            let notional = i128::from(qty.0.abs()) * i128::from(line.tick_value.0) * i128::from(mark.0);
            let mm = line.tiers.maintenance_scaled(notional);
            // health < below_health, as equity × 1e6 × 1e6 < MM × below_health.
            if line.equity(mark) * i128::from(PPM) * i128::from(PPM) < mm * i128::from(v.below_health.0) {
                take_over(ctx, account, vault, m, qty, bankrupt_at, liquidation_price, markets, ledger, triggers, log);
                first_event.get_or_insert(log.events.len() - 1);
                continue;
            }
        }
        let close = ctx.protocol.close_factor.lots(&line, mark, ctx.protocol.penalty);
        let adl_at = bankruptcy_price.filter(|_| ctx.protocol.backstop == Backstop::Adl);
        let kind = adl_at.map_or(OrderKind::Market, |price| OrderKind::Ioc { price });
        let order = Order { id: queue.next_order_id(), account, side: side.opposite(), qty: close, kind };
        fills.clear();
        let mut ex = execute(markets, ledger, triggers, m, order, TakerFee::Waived, &mut fills);
        let mut deleveraged = Lots(0);
        if let Some(price) = adl_at
            && ex.cancelled.0 > 0
        {
            deleveraged = deleverage(ctx, account, m, side, ex.cancelled, price, markets, ledger, triggers, log);
            ex.cancelled -= deleveraged;
        }
        if ex.filled.0 == 0 && deleveraged.0 == 0 {
            continue;
        }
        let mk = markets.get(m);
        let notional: Micros = fills.iter().map(|f| mk.notional(f.qty, f.price)).sum();
        let lots: i64 = fills.iter().map(|f| f.qty.0).sum();
        let fill_price = if lots > 0 {
            fills.iter().map(|f| f.qty.0 as f64 * f.price.0 as f64).sum::<f64>() / lots as f64
        } else {
            f64::NAN
        };
        due += fee(notional, ctx.protocol.penalty);
        let totals = &mut log.totals[m.idx()];
        totals.count += 1;
        match side {
            Side::Buy => totals.long_notional += notional,
            Side::Sell => totals.short_notional += notional,
        }
        let qty = ex.filled + deleveraged;
        log.events.push(LiquidationEvent {
            unfilled: ex.cancelled,
            liquidation_price,
            bankruptcy_price,
            fill_price,
            ..LiquidationEvent::new(EventKind::Liquidation, ctx.tick, ctx.round, account, m, side, qty, mk.mark)
        });
        first_event.get_or_insert(log.events.len() - 1);
    }
    let Some(first_event) = first_event else {
        return false;
    };
    ledger.account_mut(account).liquidated_at.get_or_insert(ctx.tick);
    // What is left of the closed pool pays the penalty; a negative pool is
    // bad debt.
    let acct = ledger.account(account);
    let (pool, closed) = match mode {
        MarginMode::Isolated => match acct.position(market) {
            None => (acct.collateral - free_before, true),
            Some(p) => (p.margin, false),
        },
        MarginMode::Cross => (acct.collateral, acct.positions.is_empty()),
    };
    let penalty = Micros(due.0.min(pool.0.max(0)));
    let acct = ledger.account_mut(account);
    match (mode, closed) {
        (MarginMode::Isolated, false) => {
            let p = acct.positions.iter_mut().find(|p| p.market == market).expect("position still open");
            p.margin -= penalty;
        }
        _ => acct.collateral -= penalty,
    }
    ledger.insurance_fund += penalty;
    let bad_debt = if closed { Micros((penalty.0 - pool.0).max(0)) } else { Micros(0) };
    let (covered, uncovered) =
        if bad_debt.0 > 0 { cover_bad_debt(ledger, account, bad_debt) } else { (Micros(0), Micros(0)) };
    if let Some(ev) = log.events.get_mut(first_event) {
        ev.penalty = penalty;
        ev.bad_debt = bad_debt;
        ev.covered = covered;
        ev.uncovered = uncovered;
        log.totals[ev.market.idx()].bad_debt += bad_debt;
    }
    triggers.rekey(account, ledger, markets);
    true
}

/// Liquidate-phase system, after the liquidations: trips circuit breakers
/// on the tick's marks and lifts halts that have run their course.
pub fn check_breakers(
    clock: Res<Clock>,
    protocol: Res<Protocol>,
    mut markets: ResMut<Markets>,
    mut log: ResMut<TickLiquidations>,
) {
    let bands = &protocol.0.breakers;
    if bands.is_empty() {
        return;
    }
    let longest = bands.iter().map(|b| b.window_ticks).max().unwrap_or(0);
    for m in &mut markets.0 {
        if let Some((_, until)) = m.halt {
            if clock.tick < until {
                continue;
            }
            // The window starts again when trading resumes.
            m.halt = None;
            m.breaker_marks.clear();
        }
        m.breaker_marks.push_back(m.mark);
        while m.breaker_marks.len() as u64 > longest + 1 {
            m.breaker_marks.pop_front();
        }
        let tripped = bands
            .iter()
            .filter(|b| {
                let n = m.breaker_marks.len();
                let span = usize::try_from(b.window_ticks).unwrap_or(usize::MAX).saturating_add(1);
                let window = m.breaker_marks.iter().skip(n.saturating_sub(span));
                let (lo, hi) = window.fold((i64::MAX, 0_i64), |(lo, hi), p| (lo.min(p.0), hi.max(p.0)));
                hi > 0 && (hi - lo) as f64 / hi as f64 >= b.move_fraction
            })
            .max_by(|a, b| a.move_fraction.total_cmp(&b.move_fraction));
        if let Some(band) = tripped {
            m.halt = Some((clock.tick + 1, clock.tick + 1 + band.halt_ticks));
            m.breaker_marks.clear();
            let halt = Lots(i64::try_from(band.halt_ticks).unwrap_or(i64::MAX));
            log.events.push(LiquidationEvent::new(
                EventKind::Halt,
                clock.tick,
                0,
                AccountId(0),
                m.id,
                Side::Sell,
                halt,
                m.mark,
            ));
        }
    }
}

/// Closes up to `lots` of `bankrupt`'s position in `market` (on `side`) at
/// `price` against the ranked opposite positions (see [`Backstop::Adl`]),
/// ranked once per round. Returns the lots closed.
#[allow(clippy::too_many_arguments, reason = "deleveraging touches every part of the exchange")]
fn deleverage(
    ctx: Ctx<'_>,
    bankrupt: AccountId,
    market: MarketId,
    side: Side,
    lots: Lots,
    price: Price,
    markets: &mut Markets,
    ledger: &mut Ledger,
    triggers: &mut Triggers,
    log: &mut TickLiquidations,
) -> Lots {
    let m = markets.get(market);
    let (mark, tick_value, funding) = (m.mark, i128::from(m.params.tick_value.0), i128::from(m.funding_index.0));
    let terms = |id: MarketId| terms_of(markets, id);
    let price_of = |id: MarketId| markets.get(id).mark;
    let queue_side = side.opposite();
    let cached = log.adl_queue.iter().position(|(m, s, r, _)| *m == market && *s == queue_side && *r == ctx.round);
    let ranked: Vec<AccountId> = match cached {
        Some(k) => log.adl_queue[k].3.clone(),
        None => {
            // The queue is ranked once per round and market side, like the
            // exchanges' periodically published ADL indicator: it scans
            // every account, and only when a liquidation cannot fill at its
            // bankruptcy price.
            let mut scored: Vec<(f64, AccountId)> = ledger
                .accounts
                .iter()
                .enumerate()
                .filter(|(_, a)| a.kind == crate::ledger::AccountKind::Trader)
                .filter_map(|(i, a)| {
                    let p = a.position(market)?;
                    if p.qty.0.signum() != queue_side.sign() {
                        return None;
                    }
                    let q = i128::from(p.qty.0);
                    let upnl = q * tick_value * i128::from(mark.0)
                        - i128::from(p.cost.0)
                        - q * (funding - i128::from(p.funding_index.0));
                    let pnl_pct = upnl as f64 / (i128::from(p.cost.0).abs().max(1)) as f64;
                    let equity = a.margin_line(market, &terms, &price_of)?.equity(mark);
                    let notional = (q.abs() * tick_value * i128::from(mark.0)) as f64;
                    let leverage = if equity > 0 { notional / equity as f64 } else { f64::INFINITY };
                    let score = if pnl_pct > 0.0 { pnl_pct * leverage } else { pnl_pct / leverage };
                    Some((score, AccountId(u32::try_from(i).expect("fits"))))
                })
                .collect();
            scored.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
            let ranked: Vec<AccountId> = scored.into_iter().map(|(_, a)| a).collect();
            log.adl_queue.push((market, queue_side, ctx.round, ranked.clone()));
            ranked
        }
    };
    let mut left = lots.0;
    for counterparty in ranked {
        if left == 0 {
            break;
        }
        // Positions closed or flipped since the queue was ranked are passed.
        let held = ledger.account(counterparty).qty(market).0;
        if counterparty == bankrupt || held.signum() != queue_side.sign() {
            continue;
        }
        let x = Lots(left.min(held.abs()));
        let terms = terms_of(markets, market);
        let leg = |side| crate::ledger::TradeLeg { side, qty: x, price, fee: Micros(0) };
        ledger.apply_trade(bankrupt, market, terms, leg(side.opposite()));
        ledger.apply_trade(counterparty, market, terms, leg(side));
        markets.get_mut(market).open_interest -= x;
        left -= x.0;
        triggers.rekey(counterparty, ledger, markets);
        log.events.push(LiquidationEvent {
            bankruptcy_price: Some(price),
            fill_price: price.0 as f64,
            ..LiquidationEvent::new(EventKind::Adl, ctx.tick, ctx.round, counterparty, market, side.opposite(), x, mark)
        });
    }
    triggers.rekey(bankrupt, ledger, markets);
    Lots(lots.0 - left)
}

/// The vault takes `account`'s position in `market` over at `price`, with
/// no fee and no penalty.
#[allow(clippy::too_many_arguments, reason = "a take-over touches every part of the exchange")]
fn take_over(
    ctx: Ctx<'_>,
    account: AccountId,
    vault: AccountId,
    market: MarketId,
    qty: Lots,
    price: Price,
    liquidation_price: Option<Price>,
    markets: &mut Markets,
    ledger: &mut Ledger,
    triggers: &mut Triggers,
    log: &mut TickLiquidations,
) {
    let side = if qty.0 > 0 { Side::Buy } else { Side::Sell };
    let lots = Lots(qty.0.abs());
    let terms = terms_of(markets, market);
    let leg = |side| crate::ledger::TradeLeg { side, qty: lots, price, fee: Micros(0) };
    let before = ledger.account(account).qty(market).0.max(0) + ledger.account(vault).qty(market).0.max(0);
    ledger.apply_trade(account, market, terms, leg(side.opposite()));
    ledger.apply_trade(vault, market, terms, leg(side));
    let after = ledger.account(account).qty(market).0.max(0) + ledger.account(vault).qty(market).0.max(0);
    markets.get_mut(market).open_interest += Lots(after - before);
    triggers.rekey(account, ledger, markets);
    triggers.rekey(vault, ledger, markets);
    let mark = markets.get(market).mark;
    log.events.push(LiquidationEvent {
        liquidation_price,
        bankruptcy_price: Some(price),
        fill_price: price.0 as f64,
        ..LiquidationEvent::new(EventKind::Backstop, ctx.tick, ctx.round, account, market, side, lots, mark)
    });
}
