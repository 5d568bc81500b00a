//! The hooks through which mechanisms take part in the Liquidate phase.
//!
//! The round loop ([`crate::protocol::round`]) knows no mechanism by name.
//! It asks the installed [`Mechanism`]s, in the order they were installed,
//! at fixed points of each tick:
//!
//! | hook | question | built-in answers |
//! | --- | --- | --- |
//! | [`begin_tick`](Mechanism::begin_tick) | what happened since the last Liquidate phase? | auction takes of the Match phase |
//! | [`market_open`](Mechanism::market_open) | may anyone be liquidated in this market now? | circuit breakers |
//! | [`admit`](Mechanism::admit) | may this account, found below maintenance, be liquidated now? | auctions (frozen accounts), the liquidation cap |
//! | [`route`](Mechanism::route) | where does this position go: the book, or does a mechanism take it? | auction, backstop vault, ADL (the book down to the bankruptcy price) |
//! | [`take`](Mechanism::take) | (for the mechanism that claimed it) take the position | auction kick, vault take-over |
//! | [`close_lots`](Mechanism::close_lots) | how many lots go to the book? | close factors |
//! | [`unfilled`](Mechanism::unfilled) | who takes what the book could not? | auto-deleveraging |
//! | [`end_tick`](Mechanism::end_tick) | what is done once the rounds are over? | auction resets, socialised loss |
//!
//! A question is answered by the first mechanism with an opinion:
//! `market_open` and `admit` stop at the first "no", `route` at the first
//! `Some`; `close_lots` is passed through every mechanism in turn, starting
//! from the whole position; `unfilled` is offered to each mechanism in turn
//! until nothing is left. Bad debt is always paid by the insurance fund
//! first ([`Ledger::cover_bad_debt`]); what it cannot pay stays uncovered
//! until an `end_tick` hook (socialised loss) takes it over.
//!
//! A mechanism keeps its own state in `self`; state that other systems
//! read (the auction house) is a resource, reached through [`Cx::world`].
//! Every hook has a default that does nothing, so a mechanism implements
//! only the points it cares about. `framework/examples/custom_mechanism.rs`
//! adds one from outside the crate.

use crate::accounts::ledger::Ledger;
use crate::accounts::triggers::Triggers;
use crate::core::units::{AccountId, Lots, MarketId, Ppm, Price, Side};
use crate::exchange::sequencer::OrderQueue;
use crate::market::Markets;
use crate::market::margin::MarginLine;
use crate::protocol::log::TickLiquidations;
use bevy_ecs::prelude::*;

/// What a hook may read and change: the tick, the protocol's penalty and
/// round limit, the exchange's state and the tick's log, and the rest of
/// the world for resources of its own (a mechanism's settings are a
/// resource of its own, as [`crate::protocol::breakers::BreakerBands`]).
#[derive(Debug)]
pub struct Cx<'a> {
    /// The tick being run.
    pub tick: u64,
    /// The current round, from 0 (the number of rounds run in `end_tick`).
    pub round: u32,
    /// The liquidation penalty, of the notional closed.
    pub penalty: Ppm,
    /// The most liquidation rounds in a tick.
    pub max_rounds: u32,
    /// The markets.
    pub markets: &'a mut Markets,
    /// The ledger.
    pub ledger: &'a mut Ledger,
    /// The trigger index: re-key an account after changing its positions.
    pub triggers: &'a mut Triggers,
    /// The order queue, for fresh order ids.
    pub queue: &'a mut OrderQueue,
    /// This tick's events and totals.
    pub log: &'a mut TickLiquidations,
    /// Every other resource of the simulation.
    pub world: &'a mut World,
}

/// One position being liquidated: what the round loop knows of it before
/// anything is closed.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Closing {
    /// The liquidated account.
    pub account: AccountId,
    /// The market of the position.
    pub market: MarketId,
    /// The position's side (buy = a long).
    pub side: Side,
    /// The position, signed lots.
    pub qty: Lots,
    /// The market's mark.
    pub mark: Price,
    /// The position's liquidation price.
    pub liquidation_price: Option<Price>,
    /// The position's bankruptcy price.
    pub bankruptcy_price: Option<Price>,
}

/// Where a position goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Route {
    /// Into the book: a market order, or with `limit` an IOC order that
    /// trades no worse than it.
    Book {
        /// Worst price, if any.
        limit: Option<Price>,
    },
    /// The mechanism that answered takes the position itself, in its
    /// [`take`](Mechanism::take) hook.
    Taken,
}

/// What a mechanism's [`take`](Mechanism::take) did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Took {
    /// Nothing: the position stays for a later round.
    Nothing,
    /// The position was closed now and recorded as event `event` of the
    /// tick's log; the account is settled (penalty, bad debt) with the
    /// rest of its liquidation.
    Now {
        /// Index of the event in [`TickLiquidations::events`].
        event: usize,
    },
    /// The mechanism started a process that settles the account later
    /// (an auction).
    Later,
}

/// A liquidation mechanism: a set of answers to the round loop's
/// questions (see the module docs). Installed with
/// [`Simulation::add_mechanism`](crate::engine::Simulation::add_mechanism),
/// after the built-in ones.
pub trait Mechanism: Send + Sync + 'static {
    /// Its name, for diagnostics.
    fn name(&self) -> &'static str;

    /// Once per tick, before the first round.
    fn begin_tick(&mut self, _cx: &mut Cx<'_>) {}

    /// Whether anyone may be liquidated in `market` now.
    fn market_open(&self, _cx: &Cx<'_>, _market: MarketId) -> bool {
        true
    }

    /// Whether `account`, below maintenance in `market`, may be liquidated
    /// now.
    fn admit(&mut self, _cx: &mut Cx<'_>, _account: AccountId, _market: MarketId) -> bool {
        true
    }

    /// Where the position goes; `None` leaves it to the next mechanism,
    /// and a market order into the book if none answers.
    fn route(&self, _cx: &Cx<'_>, _closing: &Closing, _line: &MarginLine<'_>) -> Option<Route> {
        None
    }

    /// Takes a position this mechanism routed to itself.
    fn take(&mut self, _cx: &mut Cx<'_>, _closing: &Closing) -> Took {
        Took::Nothing
    }

    /// Lots of the position sent to the book; `lots` is what the
    /// mechanisms before proposed (the whole position at first).
    fn close_lots(&self, _cx: &Cx<'_>, _closing: &Closing, _line: &MarginLine<'_>, lots: Lots) -> Lots {
        lots
    }

    /// Offered `lots` that the book did not fill of an order routed with
    /// `route`; returns the lots it closed.
    fn unfilled(&mut self, _cx: &mut Cx<'_>, _closing: &Closing, _route: Route, _lots: Lots) -> Lots {
        Lots(0)
    }

    /// Once per tick, after the last round.
    fn end_tick(&mut self, _cx: &mut Cx<'_>) {}

    /// Whether this mechanism may close a position without the book: by a
    /// [`Route::Taken`] or by taking what the book left
    /// ([`unfilled`](Mechanism::unfilled)). When none may, positions whose
    /// forced order would meet an empty side of the book wait without being
    /// looked at (see [`crate::protocol::round`]); a mechanism that
    /// implements `route` to take positions or `unfilled` must say `true`.
    fn closes_off_book(&self) -> bool {
        false
    }
}

/// The installed mechanisms, in the order their hooks are asked.
#[derive(Resource, Default)]
pub struct Mechanisms(pub Vec<Box<dyn Mechanism>>);

impl std::fmt::Debug for Mechanisms {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.0.iter().map(|m| m.name())).finish()
    }
}

impl Mechanisms {
    /// Adds `m` after the mechanisms already installed.
    pub fn push(&mut self, m: impl Mechanism) {
        self.0.push(Box::new(m));
    }

    /// The names, in order.
    pub fn names(&self) -> Vec<&'static str> {
        self.0.iter().map(|m| m.name()).collect()
    }
}
