//! The record of what the exchange and the protocol did: one
//! [`LiquidationEvent`] per liquidation, auction step, auto-deleveraging,
//! haircut or halt. Every layer above writes them; the recorder turns them
//! into the `events` frame.

use crate::core::units::{AccountId, Lots, MarketId, Micros, Price, Side};

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
    /// An event of a mechanism added from outside the framework, under its
    /// own name; the fields mean what that mechanism documents.
    Custom(&'static str),
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
            EventKind::Custom(name) => name,
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
