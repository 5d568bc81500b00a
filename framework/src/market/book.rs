//! A price-time priority limit order book in integer ticks and lots.
//!
//! Orders are limit (good till cancelled), immediate-or-cancel limit, or
//! market. An incoming order trades against the best opposite level first
//! and, within a level, against the oldest resting order first. A market
//! order sweeps the book until it is filled or the opposite side is empty;
//! whatever is left of a market or IOC order is cancelled, and whatever is
//! left of a limit order rests.
//!
//! **Self-trade rule (cancel resting):** when an incoming order meets a
//! resting order of the same account, the resting order is cancelled and
//! matching continues. No account ever trades with itself.
//!
//! The book knows nothing of margin or accounts beyond their ids; fills are
//! returned to the caller, which settles them.

use crate::core::units::{AccountId, Lots, Price, Side};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet, VecDeque};

/// Identifier of an order, unique within a simulation and increasing in
/// submission order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, schemars::JsonSchema)]
pub struct OrderId(pub u64);

/// How an order executes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum OrderKind {
    /// Trades up to `price`, then rests.
    Limit {
        /// Worst acceptable price, ticks.
        price: Price,
    },
    /// Trades up to `price`; the rest is cancelled.
    Ioc {
        /// Worst acceptable price, ticks.
        price: Price,
    },
    /// Trades at any price until filled or the book is empty; the rest is
    /// cancelled.
    Market,
}

impl OrderKind {
    fn limit_price(self) -> Option<Price> {
        match self {
            OrderKind::Limit { price } | OrderKind::Ioc { price } => Some(price),
            OrderKind::Market => None,
        }
    }
}

/// An order as submitted to the book.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Order {
    /// Its id.
    pub id: OrderId,
    /// The account it trades for.
    pub account: AccountId,
    /// Buy or sell.
    pub side: Side,
    /// Size, lots, positive.
    pub qty: Lots,
    /// Execution rule.
    pub kind: OrderKind,
}

/// One trade between an incoming (taker) order and a resting (maker) order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Fill {
    /// The resting order.
    pub maker_order: OrderId,
    /// The resting order's account.
    pub maker: AccountId,
    /// The incoming order's account.
    pub taker: AccountId,
    /// The incoming order's side.
    pub taker_side: Side,
    /// Trade price: the resting order's price.
    pub price: Price,
    /// Traded size, lots.
    pub qty: Lots,
}

/// What happened to an incoming order.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Execution {
    /// Lots traded.
    pub filled: Lots,
    /// Lots left resting in the book.
    pub rested: Lots,
    /// Lots cancelled (the unfilled rest of a market or IOC order).
    pub cancelled: Lots,
}

#[derive(Clone, Debug, Default)]
struct Level {
    queue: VecDeque<Resting>,
    total: Lots,
}

#[derive(Clone, Copy, Debug)]
struct Resting {
    id: OrderId,
    account: AccountId,
    qty: Lots,
}

/// The book of one market.
#[derive(Clone, Debug, Default)]
pub struct Book {
    bids: BTreeMap<Price, Level>,
    asks: BTreeMap<Price, Level>,
    /// Side and price of every resting order, for cancels.
    orders: BTreeMap<OrderId, (Side, Price, AccountId)>,
    /// Resting orders by account, for cancel-all.
    by_account: BTreeSet<(AccountId, OrderId)>,
}

impl Book {
    /// An empty book.
    pub fn new() -> Book {
        Book::default()
    }

    /// Best (highest) bid.
    pub fn best_bid(&self) -> Option<Price> {
        self.bids.keys().next_back().copied()
    }

    /// Best (lowest) ask.
    pub fn best_ask(&self) -> Option<Price> {
        self.asks.keys().next().copied()
    }

    /// Whether an order closing a position on `position` (a long's `Buy`)
    /// meets anything: bids for a long's sale, asks for a short's purchase.
    pub fn can_close(&self, position: Side) -> bool {
        match position {
            Side::Buy => self.best_bid().is_some(),
            Side::Sell => self.best_ask().is_some(),
        }
    }

    /// The account of a resting order.
    pub fn owner(&self, id: OrderId) -> Option<AccountId> {
        self.orders.get(&id).map(|(_, _, a)| *a)
    }

    /// Number of resting orders.
    pub fn n_orders(&self) -> usize {
        self.orders.len()
    }

    /// Lots resting on `side` at prices within `ticks` of that side's best
    /// price (inclusive).
    pub fn depth_within(&self, side: Side, ticks: i64) -> Lots {
        match side {
            Side::Buy => match self.best_bid() {
                Some(b) => self.bids.range(Price(b.0 - ticks)..).map(|(_, l)| l.total).sum(),
                None => Lots(0),
            },
            Side::Sell => match self.best_ask() {
                Some(a) => self.asks.range(..=Price(a.0 + ticks)).map(|(_, l)| l.total).sum(),
                None => Lots(0),
            },
        }
    }

    /// Lots that `account` has resting on `side` at `price`.
    pub fn resting_at(&self, account: AccountId, side: Side, price: Price) -> Lots {
        let level = match side {
            Side::Buy => self.bids.get(&price),
            Side::Sell => self.asks.get(&price),
        };
        Lots(level.map_or(0, |l| l.queue.iter().filter(|r| r.account == account).map(|r| r.qty.0).sum()))
    }

    /// The number of orders `account` has resting, on both sides.
    pub fn n_orders_of(&self, account: AccountId) -> usize {
        self.by_account.range((account, OrderId(0))..=(account, OrderId(u64::MAX))).count()
    }

    /// Resting levels on `side`, best first, as (price, lots).
    pub fn levels(&self, side: Side) -> Box<dyn Iterator<Item = (Price, Lots)> + '_> {
        match side {
            Side::Buy => Box::new(self.bids.iter().rev().map(|(p, l)| (*p, l.total))),
            Side::Sell => Box::new(self.asks.iter().map(|(p, l)| (*p, l.total))),
        }
    }

    /// Submits `order`; trades are appended to `fills`.
    pub fn submit(&mut self, order: Order, fills: &mut Vec<Fill>) -> Execution {
        debug_assert!(order.qty.0 > 0, "order sizes are positive");
        let limit = order.kind.limit_price();
        let mut left = order.qty;
        let opposite = match order.side {
            Side::Buy => &mut self.asks,
            Side::Sell => &mut self.bids,
        };
        while left.0 > 0 {
            let best = match order.side {
                Side::Buy => opposite.first_key_value().map(|(p, _)| *p),
                Side::Sell => opposite.last_key_value().map(|(p, _)| *p),
            };
            let Some(price) = best else { break };
            let crosses = match (order.side, limit) {
                (_, None) => true,
                (Side::Buy, Some(l)) => price <= l,
                (Side::Sell, Some(l)) => price >= l,
            };
            if !crosses {
                break;
            }
            let level = opposite.get_mut(&price).expect("best level exists");
            while left.0 > 0 {
                let Some(front) = level.queue.front_mut() else { break };
                if front.account == order.account {
                    // Self-trade: cancel the resting order.
                    let gone = level.queue.pop_front().expect("front exists");
                    level.total -= gone.qty;
                    self.orders.remove(&gone.id);
                    self.by_account.remove(&(gone.account, gone.id));
                    continue;
                }
                let qty = Lots(left.0.min(front.qty.0));
                fills.push(Fill {
                    maker_order: front.id,
                    maker: front.account,
                    taker: order.account,
                    taker_side: order.side,
                    price,
                    qty,
                });
                left -= qty;
                front.qty -= qty;
                level.total -= qty;
                if front.qty.0 == 0 {
                    let done = level.queue.pop_front().expect("front exists");
                    self.orders.remove(&done.id);
                    self.by_account.remove(&(done.account, done.id));
                }
            }
            if level.queue.is_empty() {
                opposite.remove(&price);
            }
        }
        let filled = order.qty - left;
        match order.kind {
            OrderKind::Limit { price } if left.0 > 0 => {
                self.rest(order.id, order.account, order.side, price, left);
                Execution { filled, rested: left, cancelled: Lots(0) }
            }
            _ => Execution { filled, rested: Lots(0), cancelled: left },
        }
    }

    fn rest(&mut self, id: OrderId, account: AccountId, side: Side, price: Price, qty: Lots) {
        let book = match side {
            Side::Buy => &mut self.bids,
            Side::Sell => &mut self.asks,
        };
        let level = book.entry(price).or_default();
        level.queue.push_back(Resting { id, account, qty });
        level.total += qty;
        self.orders.insert(id, (side, price, account));
        self.by_account.insert((account, id));
    }

    /// Cancels a resting order; returns the lots it still had, or `None` if
    /// it is not in the book (filled or cancelled already).
    pub fn cancel(&mut self, id: OrderId) -> Option<Lots> {
        let (side, price, account) = self.orders.remove(&id)?;
        self.by_account.remove(&(account, id));
        let book = match side {
            Side::Buy => &mut self.bids,
            Side::Sell => &mut self.asks,
        };
        let level = book.get_mut(&price).expect("a resting order's level exists");
        let pos = level.queue.iter().position(|r| r.id == id).expect("a resting order is in its level");
        let gone = level.queue.remove(pos).expect("position is in range");
        level.total -= gone.qty;
        if level.queue.is_empty() {
            book.remove(&price);
        }
        Some(gone.qty)
    }

    /// Cancels every resting order of `account`; returns how many.
    pub fn cancel_all(&mut self, account: AccountId) -> usize {
        // Most accounts have no resting order, and few have many: no
        // allocation for them.
        let ids: smallvec::SmallVec<[OrderId; 4]> =
            self.by_account.range((account, OrderId(0))..=(account, OrderId(u64::MAX))).map(|(_, id)| *id).collect();
        for id in &ids {
            self.cancel(*id);
        }
        ids.len()
    }

    /// Average price, in ticks, at which a market order of `notional_lots`
    /// on `side` would fill, walking the opposite levels; `None` if the book
    /// cannot fill it. Used for impact bid and ask prices.
    pub fn impact_price(&self, side: Side, lots: Lots) -> Option<f64> {
        let mut left = lots.0;
        let mut cost: i128 = 0;
        for (p, q) in self.levels(side.opposite()) {
            let take = left.min(q.0);
            cost += i128::from(take) * i128::from(p.0);
            left -= take;
            if left == 0 {
                return Some(cost as f64 / lots.0 as f64);
            }
        }
        None
    }

    /// Checks the book's internal consistency: sides do not cross, level
    /// totals equal their orders, and the order index matches the levels.
    pub fn check_invariants(&self) -> Result<(), String> {
        if let (Some(b), Some(a)) = (self.best_bid(), self.best_ask())
            && b >= a
        {
            return Err(format!("book crossed: bid {b} >= ask {a}"));
        }
        let mut n = 0;
        for (side, book) in [(Side::Buy, &self.bids), (Side::Sell, &self.asks)] {
            for (p, level) in book {
                if level.queue.is_empty() {
                    return Err(format!("empty level at {p}"));
                }
                let sum: Lots = level.queue.iter().map(|r| r.qty).sum();
                if sum != level.total || level.queue.iter().any(|r| r.qty.0 <= 0) {
                    return Err(format!("level {p} total {} != orders {sum}", level.total));
                }
                for r in &level.queue {
                    n += 1;
                    if self.orders.get(&r.id) != Some(&(side, *p, r.account)) {
                        return Err(format!("order {:?} missing from index", r.id));
                    }
                }
            }
        }
        if n != self.orders.len() || n != self.by_account.len() {
            return Err("order index size mismatch".into());
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn order(id: u64, account: u32, side: Side, qty: i64, kind: OrderKind) -> Order {
        Order { id: OrderId(id), account: AccountId(account), side, qty: Lots(qty), kind }
    }

    fn limit(p: i64) -> OrderKind {
        OrderKind::Limit { price: Price(p) }
    }

    #[test]
    fn price_then_time_priority() {
        let mut book = Book::new();
        let mut fills = Vec::new();
        book.submit(order(1, 1, Side::Sell, 5, limit(101)), &mut fills);
        book.submit(order(2, 2, Side::Sell, 5, limit(100)), &mut fills);
        book.submit(order(3, 3, Side::Sell, 5, limit(100)), &mut fills);
        let ex = book.submit(order(4, 9, Side::Buy, 12, OrderKind::Market), &mut fills);
        assert_eq!(ex, Execution { filled: Lots(12), rested: Lots(0), cancelled: Lots(0) });
        let got: Vec<(u64, i64, i64)> = fills.iter().map(|f| (f.maker_order.0, f.price.0, f.qty.0)).collect();
        // Best price first; at 100, order 2 (older) before order 3.
        assert_eq!(got, vec![(2, 100, 5), (3, 100, 5), (1, 101, 2)]);
        assert_eq!(book.best_ask(), Some(Price(101)));
        assert_eq!(book.depth_within(Side::Sell, 0), Lots(3));
        book.check_invariants().unwrap();
    }

    #[test]
    fn limit_orders_rest_and_ioc_orders_do_not() {
        let mut book = Book::new();
        let mut fills = Vec::new();
        book.submit(order(1, 1, Side::Sell, 5, limit(100)), &mut fills);
        let ex = book.submit(order(2, 2, Side::Buy, 8, limit(100)), &mut fills);
        assert_eq!(ex, Execution { filled: Lots(5), rested: Lots(3), cancelled: Lots(0) });
        assert_eq!(book.best_bid(), Some(Price(100)));
        assert_eq!(book.best_ask(), None);
        let ex = book.submit(order(3, 3, Side::Sell, 4, OrderKind::Ioc { price: Price(100) }), &mut fills);
        assert_eq!(ex, Execution { filled: Lots(3), rested: Lots(0), cancelled: Lots(1) });
        assert_eq!(book.best_bid(), None);
        // An IOC that does not cross does nothing.
        book.submit(order(4, 1, Side::Sell, 1, limit(105)), &mut fills);
        let ex = book.submit(order(5, 2, Side::Buy, 1, OrderKind::Ioc { price: Price(104) }), &mut fills);
        assert_eq!(ex.filled, Lots(0));
        book.check_invariants().unwrap();
    }

    #[test]
    fn self_trade_cancels_the_resting_order() {
        let mut book = Book::new();
        let mut fills = Vec::new();
        book.submit(order(1, 7, Side::Sell, 5, limit(100)), &mut fills);
        book.submit(order(2, 8, Side::Sell, 5, limit(100)), &mut fills);
        let ex = book.submit(order(3, 7, Side::Buy, 5, OrderKind::Market), &mut fills);
        assert_eq!(ex.filled, Lots(5));
        assert_eq!(fills.len(), 1);
        assert_eq!(fills[0].maker, AccountId(8));
        assert_eq!(book.n_orders(), 0);
        book.check_invariants().unwrap();
    }

    #[test]
    fn cancel_and_cancel_all() {
        let mut book = Book::new();
        let mut fills = Vec::new();
        book.submit(order(1, 1, Side::Buy, 5, limit(99)), &mut fills);
        book.submit(order(2, 1, Side::Buy, 5, limit(98)), &mut fills);
        book.submit(order(3, 2, Side::Buy, 5, limit(99)), &mut fills);
        assert_eq!(book.cancel(OrderId(3)), Some(Lots(5)));
        assert_eq!(book.cancel(OrderId(3)), None);
        assert_eq!(book.cancel_all(AccountId(1)), 2);
        assert_eq!(book.best_bid(), None);
        book.check_invariants().unwrap();
    }

    #[test]
    fn impact_price_walks_the_levels() {
        let mut book = Book::new();
        let mut fills = Vec::new();
        book.submit(order(1, 1, Side::Sell, 2, limit(100)), &mut fills);
        book.submit(order(2, 1, Side::Sell, 2, limit(110)), &mut fills);
        assert_eq!(book.impact_price(Side::Buy, Lots(4)), Some(105.0));
        assert_eq!(book.impact_price(Side::Buy, Lots(5)), None);
    }
}
