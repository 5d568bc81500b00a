//! Deterministic sequencing of each tick's orders (the Match phase).
//!
//! Agents queue actions during Decide. At Match the queue is put in a
//! canonical order (priority class, account, submission number), each
//! account draws one tie-break per class from the sequencer's own seeded
//! stream, and the actions execute in (priority class, tie-break,
//! submission number) order: accounts are shuffled, and an account's own
//! actions keep their order (a deposit queued before an order lands first).
//! A lower class goes first: giving an agent class a lower number is giving
//! it a latency edge, which is how a front-runner gets ahead of the flow it
//! front-runs. Within a class the order is a seeded shuffle, the same for
//! the same seed whatever order the systems happened to queue in.
//!
//! An order that would raise a trader's exposure is checked against initial
//! margin at its limit price (the mark for a market order) before it
//! executes, and rejected if the account cannot carry it. Orders that only
//! reduce a position always pass.

use crate::accounts::ledger::Ledger;
use crate::accounts::triggers::Triggers;
use crate::core::rng::SimRng;
use crate::core::units::{AccountId, Lots, MarketId, Micros, Side};
use crate::exchange::admission::passes_margin_check;
use crate::exchange::execute::{TakerFee, execute};
use crate::market::Markets;
use crate::market::book::{Fill, Order, OrderId, OrderKind};
use bevy_ecs::prelude::*;
use rand::Rng;

/// Priority class: lower executes first.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Priority(pub u8);

impl Priority {
    /// The class of ordinary agents.
    pub const NORMAL: Priority = Priority(100);
    /// A class ahead of ordinary agents.
    pub const FAST: Priority = Priority(10);
}

impl Default for Priority {
    fn default() -> Priority {
        Priority::NORMAL
    }
}

/// A queued action.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    /// A new order (its id is assigned when queued).
    Place {
        /// Market.
        market: MarketId,
        /// The order.
        order: Order,
    },
    /// Cancel one resting order of the account.
    Cancel {
        /// Market.
        market: MarketId,
        /// The order.
        order: OrderId,
    },
    /// Cancel every resting order of the account in a market.
    CancelAll {
        /// Market.
        market: MarketId,
    },
    /// Deposit cash from outside the exchange: into the position's margin
    /// in `market` under isolated margin, into the collateral under cross.
    Deposit {
        /// Market whose position the deposit backs.
        market: MarketId,
        /// Amount, micros, positive.
        amount: Micros,
    },
    /// A keeper's bid in a Dutch auction (see [`crate::exchange::auction`]).
    Take(crate::exchange::auction::Take),
}

#[derive(Clone, Copy, Debug)]
struct Queued {
    priority: Priority,
    account: AccountId,
    seq: u64,
    action: Action,
}

/// The tick's order queue, written in Decide and drained in Match.
#[derive(Resource, Debug)]
pub struct OrderQueue {
    pending: Vec<Queued>,
    next_order: u64,
    next_seq: u64,
    rng: SimRng,
    /// Orders rejected by the margin check, over the run.
    pub rejected: u64,
    /// Orders dropped because their market was halted, over the run.
    pub halted: u64,
    /// Orders and deposits dropped because the account's positions were
    /// being auctioned, over the run.
    pub frozen: u64,
}

impl OrderQueue {
    /// An empty queue drawing tie-breaks from `rng`.
    pub fn new(rng: SimRng) -> OrderQueue {
        OrderQueue { pending: Vec::new(), next_order: 1, next_seq: 0, rng, rejected: 0, halted: 0, frozen: 0 }
    }

    /// A fresh order id, for orders placed outside the queue.
    pub fn next_order_id(&mut self) -> OrderId {
        let id = OrderId(self.next_order);
        self.next_order += 1;
        id
    }

    fn push(&mut self, priority: Priority, account: AccountId, action: Action) {
        self.pending.push(Queued { priority, account, seq: self.next_seq, action });
        self.next_seq += 1;
    }

    /// Queues an order; returns its id, under which it can be cancelled
    /// while it rests.
    pub fn place(
        &mut self,
        priority: Priority,
        account: AccountId,
        market: MarketId,
        side: Side,
        qty: Lots,
        kind: OrderKind,
    ) -> OrderId {
        let id = self.next_order_id();
        self.push(priority, account, Action::Place { market, order: Order { id, account, side, qty, kind } });
        id
    }

    /// Queues a cancel.
    pub fn cancel(&mut self, priority: Priority, account: AccountId, market: MarketId, order: OrderId) {
        self.push(priority, account, Action::Cancel { market, order });
    }

    /// Queues a cancel of all the account's orders in `market`.
    pub fn cancel_all(&mut self, priority: Priority, account: AccountId, market: MarketId) {
        self.push(priority, account, Action::CancelAll { market });
    }

    /// Queues a deposit of `amount` from outside the exchange (a margin top-up
    /// from the agent's reserve).
    pub fn deposit(&mut self, priority: Priority, account: AccountId, market: MarketId, amount: Micros) {
        self.push(priority, account, Action::Deposit { market, amount });
    }

    /// Queues a keeper's bid in a Dutch auction.
    pub fn take(&mut self, priority: Priority, account: AccountId, bid: crate::exchange::auction::Take) {
        self.push(priority, account, Action::Take(bid));
    }

    /// Number of queued actions.
    pub fn len(&self) -> usize {
        self.pending.len()
    }

    /// Whether nothing is queued.
    pub fn is_empty(&self) -> bool {
        self.pending.is_empty()
    }

    /// Takes the queue in execution order.
    fn drain_sequenced(&mut self) -> Vec<(AccountId, Action)> {
        let mut q = std::mem::take(&mut self.pending);
        q.sort_by_key(|x| (x.priority, x.account, x.seq));
        // One draw per (class, account) in canonical order: accounts are
        // shuffled within their class, and each account's own actions keep
        // the order it queued them in.
        let mut keyed: Vec<(Priority, u64, u64, Queued)> = Vec::with_capacity(q.len());
        let mut last: Option<(Priority, AccountId, u64)> = None;
        for x in q {
            let key = match last {
                Some((p, a, k)) if p == x.priority && a == x.account => k,
                _ => self.rng.next_u64(),
            };
            last = Some((x.priority, x.account, key));
            keyed.push((x.priority, key, x.seq, x));
        }
        keyed.sort_by_key(|(p, k, s, _)| (*p, *k, *s));
        keyed.into_iter().map(|(_, _, _, x)| (x.account, x.action)).collect()
    }
}

/// Match-phase system: executes the queued actions in sequence.
pub fn match_orders(
    clock: Res<crate::core::clock::Clock>,
    mut queue: ResMut<OrderQueue>,
    mut markets: ResMut<Markets>,
    mut ledger: ResMut<Ledger>,
    mut triggers: ResMut<Triggers>,
    mut auctions: ResMut<crate::exchange::auction::Auctions>,
) {
    let mut fills: Vec<Fill> = Vec::new();
    let actions = queue.drain_sequenced();
    // Under congestion only the takes that fit the block are carried out;
    // otherwise every action is, and nothing is worked out for it.
    let admitted = auctions.is_congested().then(|| {
        let bids: Vec<Option<Micros>> =
            actions.iter().map(|(_, a)| if let Action::Take(b) = a { Some(b.cost) } else { None }).collect();
        auctions.admit(&bids)
    });
    for (i, (account, action)) in actions.into_iter().enumerate() {
        if admitted.as_ref().is_some_and(|a| !a[i]) {
            continue;
        }
        // An account whose positions are being auctioned can only cancel.
        if auctions.is_frozen(account) && matches!(action, Action::Place { .. } | Action::Deposit { .. }) {
            queue.frozen += 1;
            continue;
        }
        match action {
            Action::Take(bid) => {
                auctions.take(clock.tick, account, bid, &mut markets, &mut ledger, &mut triggers);
            }
            Action::Place { market, order } => {
                if markets.get(market).is_halted(clock.tick) {
                    queue.halted += 1;
                    continue;
                }
                if !passes_margin_check(&ledger, &markets, market, &order) {
                    queue.rejected += 1;
                    continue;
                }
                fills.clear();
                execute(&mut markets, &mut ledger, &mut triggers, market, order, TakerFee::Market, &mut fills);
            }
            Action::Cancel { market, order } => {
                let book = &mut markets.get_mut(market).book;
                if book.owner(order) == Some(account) {
                    book.cancel(order);
                }
            }
            Action::CancelAll { market } => {
                markets.get_mut(market).book.cancel_all(account);
            }
            Action::Deposit { market, amount } => {
                if amount.0 > 0 {
                    ledger.deposit(account, market, amount);
                    triggers.rekey(account, &ledger, &markets);
                }
            }
        }
    }
}
