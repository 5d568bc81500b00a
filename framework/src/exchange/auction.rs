//! Dutch-auction liquidation, after MakerDAO's Liquidations 2.0.
//!
//! With `protocol.auction` set, a position found below maintenance is not
//! sold into the book. The protocol *kicks* an auction of the whole
//! position instead, and keepers take lots from it at a price that falls
//! (for a long) from the mark:
//!
//! ```text
//! top    = mark_at_kick × buf
//! f(t)   = cut^floor(t / step)          (stepwise)
//!        = max(0, 1 − t / tau)          (linear)
//! price  = max(top × f(t), mark_at_kick × floor)                 (a long)
//! price  = min(mark_at_kick × (2 − buf × f(t)),
//!              mark_at_kick × (2 − floor))                      (a short)
//! ```
//!
//! where `t` is the ticks since the kick or the last reset. A short is the
//! mirror image: the auction buys it back from keepers who take the short
//! over, at a price that starts below the mark and rises. Prices are whole
//! ticks, rounded in the protocol's favour (down for a long, up for a short).
//!
//! The auction is *reset* (Maker's `redo`) at the end of a tick when
//! `t > tail` or `f(t) < cusp`: the start mark becomes the current mark and
//! `t` starts again from 0. A keeper reward of `tip + chip × tab` (`tab` =
//! lots × bankruptcy price × tick value, the debt the sale must cover) is
//! due at the kick and again at each reset, and is paid by the insurance
//! fund (as far as it can) to the first keeper who takes from the auction
//! after it.
//!
//! Each take is a trade between the liquidated account and the keeper at the
//! auction price, with no fee. The keeper pays its own per-bid cost (gas)
//! on every bid, won or not, into [`Ledger::bid_costs`]. An account with an
//! auction running is frozen: its orders and deposits are dropped and it is
//! not liquidated again until every one of its auctions has sold out. Then
//! the protocol settles it as it settles a book liquidation: the penalty
//! (`penalty × notional sold`) comes out of what the account has left, and
//! anything below zero is bad debt for the insurance fund and the backstop.
//!
//! **Deadline.** With `deadline_ticks: D`, an auction that has not sold out
//! `D` ticks after its kick (resets do not move it) ends at the end of that
//! tick: what is left of the position is sold into the book at market, as
//! a book liquidation would (no taker fee; the penalty is charged on all
//! that was sold, by keepers and by the book, at settlement). If the book
//! takes it all, the auction ends (`auction_end`) and the account is
//! settled as at a sell-out; if not, the auction runs on and the rest is
//! offered to the book again at the end of every later tick. So no
//! account stays frozen for ever while the book has depth: without a
//! deadline an auction no keeper takes runs until one does.
//!
//! **Congestion.** With `congestion` set, keepers' bids compete for block
//! space, as on Ethereum in March 2020. Each tick at most `capacity`
//! takes are carried out, those with the highest gas bids first (equal
//! bids in the sequencer's seeded order); a bid below the current gas
//! price `g`, or beyond the capacity, is dropped and costs nothing, while
//! a carried one pays its bid. The gas price follows EIP-1559, exactly in
//! integer micros:
//!
//! ```text
//! g ← max(base_gas, g + trunc(g × adjustment × (used − target) / (target × 10^6)))
//! ```
//!
//! with the quotient rounded towards zero, as EIP-1559 does, and `used` the
//! takes admitted this tick (a take admitted for an auction that sold out
//! earlier in the tick still uses its block space). The price after each
//! tick is the `gas_price` column of `ticks.parquet`.
//!
//! A burst of auctions fills every block, the gas price climbs by up to
//! `adjustment` a tick, keepers who price the gas in bid on fewer and fewer
//! auctions, and the auctions left unserved fall towards their floor.
//!
//! The price never rises again without a reset, so with no keeper bidding
//! (a congested market) a linear auction with `cusp = 0` and no `tail`
//! reaches its floor, by default zero, and the first late keeper takes the
//! whole lot there: the zero-bid failure of March 2020, reproducible.

use crate::accounts::health::terms_of;
use crate::accounts::ledger::{Ledger, MarginMode, TradeLeg};
use crate::accounts::triggers::Triggers;
use crate::core::event::{EventKind, LiquidationEvent};
use crate::core::units::{AccountId, Lots, MarketId, Micros, PPM, Ppm, Price, Side, narrow};
use crate::exchange::auction_terms::AuctionParams;
use crate::market::Markets;
use bevy_ecs::prelude::*;
use std::collections::BTreeSet;

/// Auction identifier, unique in a run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct AuctionId(pub u64);

/// One running auction.
#[derive(Clone, Debug, PartialEq)]
pub struct Auction {
    /// Its id.
    pub id: AuctionId,
    /// The liquidated account.
    pub account: AccountId,
    /// The market of the position sold.
    pub market: MarketId,
    /// Side of the position (buy = a long: keepers buy it).
    pub side: Side,
    /// Mark at the kick or the last reset.
    pub start_mark: Price,
    /// Tick of the kick or the last reset.
    pub start_tick: u64,
    /// Tick of the kick.
    pub kicked_at: u64,
    /// Resets so far.
    pub resets: u32,
    /// The debt the sale must cover: lots × bankruptcy price × tick value.
    pub tab: Micros,
    /// Keeper reward due to the next taker.
    pub reward_due: Micros,
    /// Notional sold so far.
    pub sold: Micros,
}

/// The auction house: running auctions and frozen accounts.
#[derive(Resource, Clone, Debug, Default)]
pub struct Auctions {
    /// The parameters, when auctions are on.
    pub params: Option<AuctionParams>,
    /// The liquidation penalty charged at settlement.
    pub penalty: Ppm,
    /// Running auctions, oldest first.
    pub open: Vec<Auction>,
    /// Accounts with an auction running, with their free collateral at the
    /// kick (what an isolated account's closed pool is measured against).
    frozen: std::collections::BTreeMap<AccountId, Micros>,
    next_id: u64,
    /// Events since the last Liquidate phase (takes happen in Match).
    pub(crate) events: Vec<LiquidationEvent>,
    /// Notional taken since the last Liquidate phase, per market (long,
    /// short), and bad debt settled.
    pub(crate) taken: Vec<(Micros, Micros, Micros)>,
    /// The gas price of a take under congestion, micros.
    pub gas: Micros,
}

/// A keeper's bid, queued as a sequencer action.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Take {
    /// The auction.
    pub auction: AuctionId,
    /// Most lots wanted.
    pub max_lots: Lots,
    /// Worst acceptable price: the most paid for a long, the least accepted
    /// for a short.
    pub limit: Price,
    /// The keeper's cost of bidding (gas), paid whether or not it wins;
    /// under congestion, its gas bid, paid when the take is carried out.
    pub cost: Micros,
}

impl Auctions {
    /// An auction house with `params` (none: auctions off) charging
    /// `penalty` on what it sells.
    pub fn new(params: Option<AuctionParams>, penalty: Ppm) -> Auctions {
        let gas = params.as_ref().and_then(|p| p.congestion.as_ref()).map_or(Micros(0), |c| c.base_gas);
        Auctions { params, penalty, gas, ..Auctions::default() }
    }

    /// Whether keepers' takes compete for block space.
    pub fn is_congested(&self) -> bool {
        self.params.as_ref().is_some_and(|p| p.congestion.is_some())
    }

    /// Which of this tick's actions to carry out under congestion:
    /// `bids[i]` is the gas bid of action `i` if it is a take. Returns the
    /// takes admitted (the highest bids at or above the gas price, at most
    /// the capacity, ties in sequence order) and moves the gas price.
    pub fn admit(&mut self, bids: &[Option<Micros>]) -> Vec<bool> {
        let Some(c) = self.params.as_ref().and_then(|p| p.congestion.as_ref()) else {
            return vec![true; bids.len()];
        };
        let mut admitted: Vec<bool> = bids.iter().map(Option::is_none).collect();
        let mut valid: Vec<(usize, Micros)> =
            bids.iter().enumerate().filter_map(|(i, b)| b.filter(|b| *b >= self.gas).map(|b| (i, b))).collect();
        valid.sort_by_key(|(i, b)| (std::cmp::Reverse(*b), *i));
        let used = valid.len().min(c.capacity as usize);
        for (i, _) in &valid[..used] {
            admitted[*i] = true;
        }
        self.gas = c.next_gas(self.gas, u32::try_from(used).expect("at most the capacity"));
        admitted
    }

    /// Whether `account` has an auction running.
    pub fn is_frozen(&self, account: AccountId) -> bool {
        !self.frozen.is_empty() && self.frozen.contains_key(&account)
    }

    /// The running auction `id`.
    pub fn get(&self, id: AuctionId) -> Option<&Auction> {
        self.open.iter().find(|a| a.id == id)
    }

    /// An auction's price at `tick`, if it runs and is not due a reset.
    pub fn price_at(&self, auction: &Auction, tick: u64) -> Option<Price> {
        let p = self.params.as_ref()?;
        let t = tick.saturating_sub(auction.start_tick);
        (!p.needs_reset(t)).then(|| p.price(auction.side, auction.start_mark, t))
    }

    fn taken_mut(&mut self, market: MarketId) -> &mut (Micros, Micros, Micros) {
        if self.taken.len() <= market.idx() {
            self.taken.resize(market.idx() + 1, Default::default());
        }
        &mut self.taken[market.idx()]
    }

    /// Kicks an auction of `account`'s position in `market` at `mark`; the
    /// account is frozen and leaves the trigger index. Returns the start
    /// event.
    #[allow(clippy::too_many_arguments, reason = "a kick records everything about the position")]
    pub(crate) fn kick(
        &mut self,
        tick: u64,
        round: u32,
        account: AccountId,
        market: MarketId,
        markets: &Markets,
        ledger: &Ledger,
        triggers: &mut Triggers,
    ) -> Option<LiquidationEvent> {
        let params = self.params.as_ref()?;
        let acct = ledger.account(account);
        let terms = |id: MarketId| terms_of(markets, id);
        let price_of = |id: MarketId| markets.get(id).mark;
        let line = acct.margin_line(market, &terms, &price_of)?;
        let (liquidation_price, bankruptcy_price) = (line.liquidation_price(), line.bankruptcy_price());
        let qty = acct.qty(market);
        let side = if qty.0 > 0 { Side::Buy } else { Side::Sell };
        let m = markets.get(market);
        let tab = m.notional(Lots(qty.0.abs()), bankruptcy_price.unwrap_or(Price(0)));
        let reward = params.tip + Micros(narrow(i128::from(tab.0) * i128::from(params.chip.0) / i128::from(PPM)));
        let top = params.price(side, m.mark, 0);
        let id = AuctionId(self.next_id);
        self.next_id += 1;
        self.open.push(Auction {
            id,
            account,
            market,
            side,
            start_mark: m.mark,
            start_tick: tick,
            kicked_at: tick,
            resets: 0,
            tab,
            reward_due: reward,
            sold: Micros(0),
        });
        self.frozen.entry(account).or_insert(acct.collateral);
        triggers.forget(account);
        Some(LiquidationEvent {
            liquidation_price,
            bankruptcy_price,
            fill_price: top.0 as f64,
            ..LiquidationEvent::new(
                EventKind::AuctionKick,
                tick,
                round,
                account,
                market,
                side,
                Lots(qty.0.abs()),
                m.mark,
            )
        })
    }

    /// Executes a keeper's bid at `tick`: charges its cost, then trades up
    /// to `max_lots` at the auction price if the auction runs, its market is
    /// not halted, the price is within the limit and the keeper can carry
    /// the lots. Settles the account when its last auction sells out.
    #[allow(clippy::too_many_arguments, reason = "a take touches every part of the exchange")]
    pub(crate) fn take(
        &mut self,
        tick: u64,
        keeper: AccountId,
        bid: Take,
        markets: &mut Markets,
        ledger: &mut Ledger,
        triggers: &mut Triggers,
    ) {
        let cost = Micros(bid.cost.0.max(0));
        ledger.account_mut(keeper).collateral -= cost;
        ledger.bid_costs += cost;
        let Some(k) = self.open.iter().position(|a| a.id == bid.auction) else { return };
        let a = self.open[k].clone();
        let Some(price) = self.price_at(&a, tick) else { return };
        if keeper == a.account || self.is_frozen(keeper) || markets.get(a.market).is_halted(tick) {
            return;
        }
        let within = match a.side {
            Side::Buy => price <= bid.limit,
            Side::Sell => price >= bid.limit,
        };
        let held = ledger.account(a.account).qty(a.market).0.abs();
        let lots = Lots(bid.max_lots.0.min(held));
        if !within || lots.0 <= 0 {
            return;
        }
        let order = crate::market::book::Order {
            id: crate::market::book::OrderId(0),
            account: keeper,
            side: a.side,
            qty: lots,
            kind: crate::market::book::OrderKind::Limit { price },
        };
        if !crate::exchange::admission::passes_margin_check(ledger, markets, a.market, &order) {
            return;
        }
        let terms = terms_of(markets, a.market);
        let leg = |side| TradeLeg { side, qty: lots, price, fee: Micros(0) };
        let long_before =
            ledger.account(a.account).qty(a.market).0.max(0) + ledger.account(keeper).qty(a.market).0.max(0);
        ledger.apply_trade(a.account, a.market, terms, leg(a.side.opposite()));
        ledger.apply_trade(keeper, a.market, terms, leg(a.side));
        let long_after =
            ledger.account(a.account).qty(a.market).0.max(0) + ledger.account(keeper).qty(a.market).0.max(0);
        let m = markets.get_mut(a.market);
        m.open_interest += Lots(long_after - long_before);
        let notional = m.notional(lots, price);
        let mark = m.mark;
        let reward = Micros(a.reward_due.0.min(ledger.insurance_fund.0.max(0)));
        ledger.insurance_fund -= reward;
        ledger.account_mut(keeper).collateral += reward;
        triggers.rekey(keeper, ledger, markets);
        let auction = &mut self.open[k];
        auction.reward_due = Micros(0);
        auction.sold += notional;
        let t = self.taken_mut(a.market);
        match a.side {
            Side::Buy => t.0 += notional,
            Side::Sell => t.1 += notional,
        }
        self.events.push(LiquidationEvent {
            fill_price: price.0 as f64,
            covered: reward,
            ..LiquidationEvent::new(EventKind::AuctionTake, tick, 0, keeper, a.market, a.side, lots, mark)
        });
        if ledger.account(a.account).qty(a.market).0 == 0 {
            self.open.remove(k);
            let mut end =
                LiquidationEvent::new(EventKind::AuctionEnd, tick, 0, a.account, a.market, a.side, Lots(0), mark);
            end.fill_price = price.0 as f64;
            let sold: Micros = a.sold + notional;
            if !self.open.iter().any(|o| o.account == a.account) {
                self.settle(a.account, sold, self.penalty, markets, ledger, triggers, &mut end);
            } else {
                // The penalty on this sale is charged when the account's
                // last auction ends; carry what was sold over to it.
                if let Some(next) = self.open.iter_mut().find(|o| o.account == a.account) {
                    next.sold += sold;
                }
            }
            self.events.push(end);
        }
    }

    /// Settles a sold-out account: penalty from what it has left, bad debt
    /// below zero; unfreezes it.
    #[allow(clippy::too_many_arguments, reason = "settlement touches the ledger, fund and index")]
    fn settle(
        &mut self,
        account: AccountId,
        sold: Micros,
        penalty: Ppm,
        markets: &Markets,
        ledger: &mut Ledger,
        triggers: &mut Triggers,
        end: &mut LiquidationEvent,
    ) {
        let free_before = self.frozen.remove(&account).unwrap_or(Micros(0));
        let acct = ledger.account(account);
        let pool = match acct.mode {
            MarginMode::Isolated => acct.collateral - free_before,
            MarginMode::Cross => acct.collateral,
        };
        let due = crate::exchange::execute::fee(sold, penalty);
        let charged = Micros(due.0.min(pool.0.max(0)));
        ledger.account_mut(account).collateral -= charged;
        ledger.insurance_fund += charged;
        let bad_debt = Micros((-pool.0).max(0));
        let (covered, uncovered) =
            if bad_debt.0 > 0 { ledger.cover_bad_debt(account, bad_debt) } else { (Micros(0), Micros(0)) };
        self.taken_mut(end.market).2 += bad_debt;
        end.penalty = charged;
        end.bad_debt = bad_debt;
        end.covered = covered;
        end.uncovered = uncovered;
        triggers.rekey(account, ledger, markets);
    }

    /// Resets every auction due a reset at the end of `tick` (see the
    /// module docs); returns the reset events.
    pub(crate) fn reset_due(&mut self, tick: u64, markets: &Markets) -> Vec<LiquidationEvent> {
        let Some(params) = self.params.clone() else { return Vec::new() };
        let mut out = Vec::new();
        for a in &mut self.open {
            if !params.needs_reset(tick.saturating_sub(a.start_tick)) {
                continue;
            }
            let mark = markets.get(a.market).mark;
            a.start_mark = mark;
            a.start_tick = tick;
            a.resets += 1;
            let reward = params.tip + Micros(narrow(i128::from(a.tab.0) * i128::from(params.chip.0) / i128::from(PPM)));
            // Unclaimed rewards do not pile up: the next taker is paid once.
            a.reward_due = reward;
            out.push(LiquidationEvent {
                fill_price: params.price(a.side, mark, 0).0 as f64,
                ..LiquidationEvent::new(EventKind::AuctionReset, tick, 0, a.account, a.market, a.side, Lots(0), mark)
            });
        }
        out
    }

    /// Sells into the book what is left of every auction past its deadline
    /// at the end of `tick`, and ends those the book closes (see the module
    /// docs); returns the events: one `liquidation` per sale into the book
    /// and one `auction_end` per auction ended.
    pub(crate) fn expire_due(
        &mut self,
        tick: u64,
        markets: &mut Markets,
        ledger: &mut Ledger,
        triggers: &mut Triggers,
        next_order_id: &mut dyn FnMut() -> crate::market::book::OrderId,
    ) -> Vec<LiquidationEvent> {
        let Some(deadline) = self.params.as_ref().and_then(|p| p.deadline_ticks) else { return Vec::new() };
        let due: Vec<AuctionId> =
            self.open.iter().filter(|a| tick >= a.kicked_at.saturating_add(deadline)).map(|a| a.id).collect();
        let mut out = Vec::new();
        let mut fills = Vec::new();
        for id in due {
            let Some(k) = self.open.iter().position(|a| a.id == id) else { continue };
            let a = self.open[k].clone();
            let held = ledger.account(a.account).qty(a.market);
            if held.0 != 0 && !markets.get(a.market).is_halted(tick) {
                let order = crate::market::book::Order {
                    id: next_order_id(),
                    account: a.account,
                    side: a.side.opposite(),
                    qty: Lots(held.0.abs()),
                    kind: crate::market::book::OrderKind::Market,
                };
                fills.clear();
                let ex = crate::exchange::execute::execute(
                    markets,
                    ledger,
                    triggers,
                    a.market,
                    order,
                    crate::exchange::execute::TakerFee::Waived,
                    &mut fills,
                );
                if ex.filled.0 > 0 {
                    let m = markets.get(a.market);
                    let notional: Micros = fills.iter().map(|f| m.notional(f.qty, f.price)).sum();
                    let price =
                        fills.iter().map(|f| f.qty.0 as f64 * f.price.0 as f64).sum::<f64>() / ex.filled.0 as f64;
                    self.open[k].sold += notional;
                    let t = self.taken_mut(a.market);
                    match a.side {
                        Side::Buy => t.0 += notional,
                        Side::Sell => t.1 += notional,
                    }
                    out.push(LiquidationEvent {
                        fill_price: price,
                        unfilled: ex.cancelled,
                        ..LiquidationEvent::new(
                            EventKind::Liquidation,
                            tick,
                            0,
                            a.account,
                            a.market,
                            a.side,
                            ex.filled,
                            m.mark,
                        )
                    });
                }
            }
            if ledger.account(a.account).qty(a.market).0 != 0 {
                continue;
            }
            let a = self.open.remove(k);
            let mark = markets.get(a.market).mark;
            let mut end =
                LiquidationEvent::new(EventKind::AuctionEnd, tick, 0, a.account, a.market, a.side, Lots(0), mark);
            if self.open.iter().any(|o| o.account == a.account) {
                if let Some(next) = self.open.iter_mut().find(|o| o.account == a.account) {
                    next.sold += a.sold;
                }
            } else {
                self.settle(a.account, a.sold, self.penalty, markets, ledger, triggers, &mut end);
            }
            out.push(end);
        }
        out
    }

    /// Running auctions per market.
    pub fn open_per_market(&self, n_markets: usize) -> Vec<u64> {
        let mut n = vec![0; n_markets];
        for a in &self.open {
            n[a.market.idx()] += 1;
        }
        n
    }

    /// Accounts frozen by auctions.
    pub fn frozen_accounts(&self) -> BTreeSet<AccountId> {
        self.frozen.keys().copied().collect()
    }
}

#[cfg(test)]
mod congestion_tests {
    use super::*;
    use crate::exchange::auction_terms::Congestion;

    fn congestion() -> Congestion {
        Congestion { capacity: 2, target: 1, base_gas: Micros(1_000), adjustment: Ppm(125_000) }
    }

    #[test]
    fn the_gas_price_moves_by_an_eighth_of_the_excess_over_the_target() {
        let c = Congestion { target: 4, capacity: 8, ..congestion() };
        // 8 used of a target of 4: +1/8; 0 used: -1/8, floored at the base.
        assert_eq!(c.next_gas(Micros(8_000), 8), Micros(9_000));
        assert_eq!(c.next_gas(Micros(8_000), 0), Micros(7_000));
        assert_eq!(c.next_gas(Micros(8_000), 4), Micros(8_000));
        assert_eq!(c.next_gas(Micros(1_100), 0), Micros(1_000), "never below base_gas");
        // 6 used: +1/16, rounded down.
        assert_eq!(c.next_gas(Micros(8_001), 6), Micros(8_501));
    }

    #[test]
    fn the_highest_bids_at_or_above_the_gas_price_fill_the_block() {
        let params = AuctionParams { congestion: Some(congestion()), ..AuctionParams::default() };
        let mut auctions = Auctions::new(Some(params), Ppm(0));
        assert_eq!(auctions.gas, Micros(1_000));
        // Orders (None) always pass. Of the takes, 900 is below the gas
        // price; the two 3,000 bids fill the capacity of 2, in sequence
        // order, and the 2,000 bid is left out.
        let bids = [Some(Micros(2_000)), None, Some(Micros(3_000)), Some(Micros(900)), Some(Micros(3_000))];
        assert_eq!(auctions.admit(&bids), [false, true, true, false, true]);
        assert_eq!(auctions.gas, Micros(1_125), "2 used of a target of 1");
        // Without congestion everything passes and the gas price stays 0.
        let mut free = Auctions::new(Some(AuctionParams::default()), Ppm(0));
        assert_eq!(free.admit(&bids), [true; 5]);
        assert_eq!(free.gas, Micros(0));
    }
}
