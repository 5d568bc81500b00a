//! The clearing house's ledger: margin accounts, their positions per market,
//! and the protocol's named balances (insurance fund, fee pool, uncovered
//! bad debt).
//!
//! # Accounting
//!
//! A position keeps a signed quantity `q` (lots), a signed cost basis `c`
//! (the sum of `q × price × tick_value` over the trades that built it, in
//! micros) and the market's cumulative funding index `f` at its last
//! settlement (micros per lot). Its equity at price `P` is
//!
//! ```text
//! equity = pool + q × P × tick_value − c − q × (F − f)
//! ```
//!
//! where `pool` is the account's collateral under cross margin or the
//! position's own margin under isolated margin, and `F` is the market's
//! current funding index. Trades move value between `pool` and `c` without
//! changing equity, and every contract has a counterparty (`Σ q = 0` per
//! market), so the sum of all equities plus the named balances is a
//! constant: [`Ledger::total_value`] equals [`Ledger::external_in`] after
//! every tick, checked with `==` by the tests.

use crate::core::units::{AccountId, AgentId, AssetId, Lots, MarketId, Micros, Price, Side, narrow};
use crate::market::margin::{MarginLine, MarginTiers};
use bevy_ecs::prelude::Resource;
use serde::{Deserialize, Serialize};
use smallvec::SmallVec;
use std::borrow::Cow;
use std::collections::BTreeMap;

/// How an account's collateral backs its positions.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum MarginMode {
    /// Each position has its own margin; losing it loses only that margin.
    #[default]
    Isolated,
    /// All positions share the account's collateral; a liquidation closes
    /// them all.
    Cross,
}

/// Who owns an account.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum AccountKind {
    /// An agent's account: margin-checked and liquidatable.
    Trader,
    /// A protocol or background account (the resting-depth provider, the
    /// counterparty of seeded positions). It is never liquidated: it stands
    /// for liquidity from outside the model.
    System,
}

/// An open position in one market.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Position {
    /// The market.
    pub market: MarketId,
    /// Signed size: positive long, negative short.
    pub qty: Lots,
    /// Signed cost basis, micros.
    pub cost: Micros,
    /// Funding index at the last settlement, micros per lot.
    pub funding_index: Micros,
    /// The position's own margin under isolated margin; zero under cross.
    pub margin: Micros,
}

/// A margin account.
#[derive(Clone, Debug)]
pub struct Account {
    /// Owner kind.
    pub kind: AccountKind,
    /// Margin mode.
    pub mode: MarginMode,
    /// The agent that owns it, if any.
    pub owner: Option<AgentId>,
    /// Index into [`Ledger::labels`] of the owner's population name.
    pub population: u16,
    /// Index into [`Ledger::labels`] of the owner's strategy name.
    pub strategy: u16,
    /// Leverage used to size isolated margin when a position grows.
    pub leverage: u32,
    /// Free collateral (cross: all collateral), micros.
    pub collateral: Micros,
    /// Cash deposited, micros: PnL is equity minus this.
    pub deposited: Micros,
    /// Open positions, at most one per market.
    pub positions: SmallVec<[Position; 1]>,
    /// Fees paid (negative: rebates received), micros.
    pub fees_paid: Micros,
    /// One more than the first tick at which the account was liquidated
    /// (see [`Account::liquidated_at`]): 8 bytes, where an `Option<u64>`
    /// takes 16.
    liquidated: Option<std::num::NonZeroU64>,
    /// Spot balances, base units per asset (see [`crate::accounts::spot`]):
    /// a boxed slice, 16 bytes and no allocation for the accounts that
    /// hold none.
    pub holdings: Box<[(AssetId, i64)]>,
}

/// A market's parameters as the ledger needs them.
#[derive(Clone, Copy, Debug)]
pub struct MarketTerms<'a> {
    /// Value of one price tick on one lot, micros.
    pub tick_value: Micros,
    /// Current cumulative funding index, micros per lot.
    pub funding_index: Micros,
    /// Margin tiers.
    pub tiers: &'a MarginTiers,
}

impl Account {
    /// The first tick at which the account was liquidated, if it has been.
    pub fn liquidated_at(&self) -> Option<u64> {
        self.liquidated.map(|t| t.get() - 1)
    }

    /// Notes a liquidation at `tick`, unless one came before.
    pub fn mark_liquidated(&mut self, tick: u64) {
        let t = std::num::NonZeroU64::MIN.checked_add(tick).expect("a tick below u64::MAX");
        self.liquidated.get_or_insert(t);
    }

    /// The position in `market`, if open.
    pub fn position(&self, market: MarketId) -> Option<&Position> {
        self.positions.iter().find(|p| p.market == market)
    }

    /// Signed size in `market` (zero if none).
    pub fn qty(&self, market: MarketId) -> Lots {
        self.position(market).map_or(Lots(0), |p| p.qty)
    }

    /// The margin line of the position in `market`: its pool's equity as a
    /// function of that market's price, other markets held at `price_of`.
    pub fn margin_line<'a>(
        &self,
        market: MarketId,
        terms: &impl Fn(MarketId) -> MarketTerms<'a>,
        price_of: &impl Fn(MarketId) -> Price,
    ) -> Option<MarginLine<'a>> {
        let pos = self.position(market)?;
        let t = terms(market);
        let mut base = i128::from(pos.margin.0) - i128::from(pos.cost.0) - accrued_funding(pos, t.funding_index);
        if self.mode == MarginMode::Cross {
            base += i128::from(self.collateral.0);
            for other in self.positions.iter().filter(|p| p.market != market) {
                base += position_value(other, terms(other.market), price_of(other.market));
            }
        }
        Some(MarginLine { base, qty: pos.qty, tick_value: t.tick_value, tiers: t.tiers })
    }

    /// Total equity at the given prices, micros.
    pub fn equity<'a>(
        &self,
        terms: &impl Fn(MarketId) -> MarketTerms<'a>,
        price_of: &impl Fn(MarketId) -> Price,
    ) -> i128 {
        i128::from(self.collateral.0)
            + self
                .positions
                .iter()
                .map(|p| i128::from(p.margin.0) + position_value(p, terms(p.market), price_of(p.market)))
                .sum::<i128>()
    }
}

/// Funding owed by a position since its last settlement (negative: owed to
/// it), micros.
fn accrued_funding(pos: &Position, funding_index: Micros) -> i128 {
    i128::from(pos.qty.0) * i128::from(funding_index.0 - pos.funding_index.0)
}

/// Unrealised value of a position at `price`, net of accrued funding,
/// excluding its margin, micros.
fn position_value(pos: &Position, t: MarketTerms<'_>, price: Price) -> i128 {
    i128::from(pos.qty.0) * i128::from(t.tick_value.0) * i128::from(price.0)
        - i128::from(pos.cost.0)
        - accrued_funding(pos, t.funding_index)
}

/// All accounts and the protocol's balances.
#[derive(Resource, Clone, Debug, Default)]
pub struct Ledger {
    /// Accounts, indexed by [`AccountId`].
    pub accounts: Vec<Account>,
    /// Interned population and strategy names.
    pub labels: Vec<String>,
    /// Each label's index in [`Ledger::labels`], so that opening an
    /// account looks its labels up in O(log n) rather than by a scan.
    label_ids: BTreeMap<String, u16>,
    /// Insurance fund balance, micros.
    pub insurance_fund: Micros,
    /// Trading fees collected (net of maker rebates), micros.
    pub fee_pool: Micros,
    /// Bad debt the insurance fund could not pay, micros. A later mechanism
    /// (auto-deleveraging, socialised loss) may reduce it.
    pub uncovered_bad_debt: Micros,
    /// Bad debt paid by the insurance fund so far, micros.
    pub covered_bad_debt: Micros,
    /// Everything put into the system from outside (deposits, the initial
    /// insurance fund), micros.
    pub external_in: Micros,
    /// Keepers' bidding costs (gas) paid in auctions, micros.
    pub bid_costs: Micros,
    /// Names of the spot assets, indexed by [`AssetId`].
    pub assets: Vec<String>,
    /// Base units of each asset put in from outside.
    pub base_in: Vec<i64>,
}

/// One account's side of a trade.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TradeLeg {
    /// Buy or sell.
    pub side: Side,
    /// Lots, positive.
    pub qty: Lots,
    /// Trade price.
    pub price: Price,
    /// Fee paid to the fee pool, micros (negative: a rebate received).
    pub fee: Micros,
}

/// What an account is opened with. The labels are borrowed when the caller
/// has them, so that opening a million accounts allocates no strings.
#[derive(Clone, Debug)]
pub struct AccountSpec<'a> {
    /// Trader or system.
    pub kind: AccountKind,
    /// Margin mode.
    pub mode: MarginMode,
    /// Owning agent.
    pub owner: Option<AgentId>,
    /// Population name (for frames).
    pub population: Label<'a>,
    /// Strategy name (for frames).
    pub strategy: Label<'a>,
    /// Leverage for isolated margin, at least 1.
    pub leverage: u32,
    /// Initial deposit, micros.
    pub collateral: Micros,
}

/// A population or strategy name of an account: the name itself, or its
/// number from [`Ledger::label`], for callers that open many accounts
/// under a few names and would rather look each name up once.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Label<'a> {
    /// The name.
    Name(Cow<'a, str>),
    /// A number that [`Ledger::label`] gave.
    Id(u16),
}

impl<'a> From<&'a str> for Label<'a> {
    fn from(name: &'a str) -> Label<'a> {
        Label::Name(Cow::Borrowed(name))
    }
}

impl From<String> for Label<'_> {
    fn from(name: String) -> Label<'static> {
        Label::Name(Cow::Owned(name))
    }
}

impl Ledger {
    /// Pays `amount` of bad debt for `account` from the insurance fund;
    /// what the fund cannot pay is uncovered (until a backstop of the
    /// protocol takes it over). Returns (covered, uncovered).
    pub fn cover_bad_debt(&mut self, account: AccountId, amount: Micros) -> (Micros, Micros) {
        let covered = Micros(amount.0.min(self.insurance_fund.0.max(0)));
        self.insurance_fund -= covered;
        self.covered_bad_debt += covered;
        self.account_mut(account).collateral += amount;
        let uncovered = amount - covered;
        self.uncovered_bad_debt += uncovered;
        (covered, uncovered)
    }

    /// The number of a population or strategy name, the same for every
    /// account that carries it (an index into [`Ledger::labels`]).
    pub fn label(&mut self, label: &str) -> u16 {
        if let Some(&i) = self.label_ids.get(label) {
            return i;
        }
        let i = u16::try_from(self.labels.len()).expect("fewer than 65,536 labels");
        self.labels.push(label.to_owned());
        self.label_ids.insert(label.to_owned(), i);
        i
    }

    /// Makes room for `additional` more accounts, so that opening them
    /// does not move the ones already open.
    pub fn reserve(&mut self, additional: usize) {
        self.accounts.reserve_exact(additional);
    }

    /// Opens an account and deposits its collateral.
    pub fn open(&mut self, spec: AccountSpec<'_>) -> AccountId {
        let mut number = |label: &Label<'_>| match label {
            Label::Name(name) => self.label(name),
            Label::Id(i) => {
                assert!(usize::from(*i) < self.labels.len(), "label {i} was not given by Ledger::label");
                *i
            }
        };
        let (population, strategy) = (number(&spec.population), number(&spec.strategy));
        let id = AccountId(u32::try_from(self.accounts.len()).expect("fewer than 2^32 accounts"));
        self.external_in += spec.collateral;
        crate::core::reserve_gently(&mut self.accounts, 1);
        self.accounts.push(Account {
            kind: spec.kind,
            mode: spec.mode,
            owner: spec.owner,
            population,
            strategy,
            leverage: spec.leverage.max(1),
            collateral: spec.collateral,
            deposited: spec.collateral,
            positions: SmallVec::new(),
            fees_paid: Micros(0),
            liquidated: None,
            holdings: Box::default(),
        });
        id
    }

    /// Deposits `amount` from outside into `account`: into its position's
    /// margin in `market` under isolated margin (the free collateral if it
    /// has none there), into its collateral under cross margin.
    pub fn deposit(&mut self, account: AccountId, market: MarketId, amount: Micros) {
        self.external_in += amount;
        let acct = &mut self.accounts[account.idx()];
        acct.deposited += amount;
        match acct.positions.iter_mut().find(|p| p.market == market) {
            Some(p) if acct.mode == MarginMode::Isolated => p.margin += amount,
            _ => acct.collateral += amount,
        }
    }

    /// Adds `amount` to the insurance fund from outside.
    pub fn fund_insurance(&mut self, amount: Micros) {
        self.insurance_fund += amount;
        self.external_in += amount;
    }

    /// The account `id`.
    pub fn account(&self, id: AccountId) -> &Account {
        &self.accounts[id.idx()]
    }

    /// The account `id`, mutably.
    pub fn account_mut(&mut self, id: AccountId) -> &mut Account {
        &mut self.accounts[id.idx()]
    }

    /// Applies one side of a trade to `account` in `market`. Settles accrued
    /// funding first, realises PnL on the closed part, and moves isolated
    /// margin in and out.
    pub fn apply_trade(&mut self, account: AccountId, market: MarketId, terms: MarketTerms<'_>, leg: TradeLeg) {
        let TradeLeg { side, qty, price, fee } = leg;
        let acct = &mut self.accounts[account.idx()];
        acct.collateral -= fee;
        acct.fees_paid += fee;
        self.fee_pool += fee;
        let isolated = acct.mode == MarginMode::Isolated;
        let leverage = i128::from(acct.leverage);
        let slot = match acct.positions.iter().position(|p| p.market == market) {
            Some(i) => i,
            None => {
                acct.positions.push(Position {
                    market,
                    qty: Lots(0),
                    cost: Micros(0),
                    funding_index: terms.funding_index,
                    margin: Micros(0),
                });
                acct.positions.len() - 1
            }
        };
        let mut collateral = i128::from(acct.collateral.0);
        let pos = &mut acct.positions[slot];
        // Settle funding into the pool.
        let owed = accrued_funding(pos, terms.funding_index);
        pos.funding_index = terms.funding_index;
        let mut margin = i128::from(pos.margin.0);
        if isolated {
            margin -= owed
        } else {
            collateral -= owed
        }

        let q0 = i128::from(pos.qty.0);
        let x = i128::from(qty.0 * side.sign());
        let pv = i128::from(price.0) * i128::from(terms.tick_value.0);
        let c0 = i128::from(pos.cost.0);
        let q1 = q0 + x;
        let (cost, realised, closed, opened) = if q0 == 0 || q0.signum() == x.signum() {
            // Growing (or opening).
            (c0 + x * pv, 0, 0, x.abs())
        } else if q1 == 0 || q1.signum() == q0.signum() {
            // Reducing or closing: keep the basis of what is left.
            let c1 = c0 + x * pv;
            let kept = c0 * q1 / q0;
            (kept, kept - c1, x.abs(), 0)
        } else {
            // Flipping: close all, then open the rest at `price`.
            let c_close = c0 - q0 * pv;
            (q1 * pv, -c_close, q0.abs(), q1.abs())
        };
        if isolated {
            margin += realised;
            if closed > 0 {
                let release = if q1 == 0 || q1.signum() != q0.signum() { margin } else { margin * closed / q0.abs() };
                margin -= release;
                collateral += release;
            }
            if opened > 0 {
                let need = (opened * pv + leverage - 1) / leverage;
                let moved = need.min(collateral.max(0));
                collateral -= moved;
                margin += moved;
            }
        } else {
            collateral += realised;
        }
        pos.qty = Lots(narrow(q1));
        pos.cost = Micros(narrow(cost));
        pos.margin = Micros(narrow(margin));
        acct.collateral = Micros(narrow(collateral));
        if q1 == 0 {
            // Any margin left on a closed isolated position is free again.
            let left = acct.positions.swap_remove(slot);
            acct.collateral += left.margin;
        }
    }

    /// Sum of every account's equity plus the insurance fund, fee pool and
    /// bid costs, minus uncovered bad debt, micros. Equals [`Ledger::external_in`]
    /// exactly when value is conserved.
    pub fn total_value<'a>(
        &self,
        terms: &impl Fn(MarketId) -> MarketTerms<'a>,
        price_of: &impl Fn(MarketId) -> Price,
    ) -> i128 {
        self.accounts.iter().map(|a| a.equity(terms, price_of)).sum::<i128>()
            + i128::from(self.insurance_fund.0)
            + i128::from(self.fee_pool.0)
            + i128::from(self.bid_costs.0)
            - i128::from(self.uncovered_bad_debt.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::units::Ppm;

    #[test]
    fn an_account_with_one_position_fits_in_120_bytes() {
        // A million-position run holds a million of these: the budget of
        // its memory per position starts here.
        assert!(size_of::<Account>() <= 120, "{}", size_of::<Account>());
    }

    fn setup(mode: MarginMode) -> (Ledger, AccountId, AccountId, MarginTiers) {
        let mut l = Ledger::default();
        let spec = |collateral| AccountSpec {
            kind: AccountKind::Trader,
            mode,
            owner: None,
            population: "t".into(),
            strategy: "s".into(),
            leverage: 10,
            collateral: Micros(collateral),
        };
        let a = l.open(spec(1_000));
        let b = l.open(spec(1_000_000));
        (l, a, b, MarginTiers::flat(Ppm(5_000), Ppm(100_000)).unwrap())
    }

    fn trade(l: &mut Ledger, t: &MarginTiers, buyer: AccountId, seller: AccountId, qty: i64, price: i64) {
        let terms = MarketTerms { tick_value: Micros(1), funding_index: Micros(0), tiers: t };
        let leg = |side| TradeLeg { side, qty: Lots(qty), price: Price(price), fee: Micros(0) };
        l.apply_trade(buyer, MarketId(0), terms, leg(Side::Buy));
        l.apply_trade(seller, MarketId(0), terms, leg(Side::Sell));
    }

    #[test]
    fn isolated_long_moves_margin_and_realises_pnl() {
        let (mut l, a, b, t) = setup(MarginMode::Isolated);
        trade(&mut l, &t, a, b, 10, 1_000); // a long 10 @ 1000, notional 10,000, 10x -> margin 1,000
        let p = *l.account(a).position(MarketId(0)).unwrap();
        assert_eq!((p.qty, p.cost, p.margin), (Lots(10), Micros(10_000), Micros(1_000)));
        assert_eq!(l.account(a).collateral, Micros(0));
        trade(&mut l, &t, b, a, 5, 1_100); // a sells 5 @ 1100: +500 realised
        let p = *l.account(a).position(MarketId(0)).unwrap();
        // Margin 1,000 + 500 realised = 1,500, half released.
        assert_eq!((p.qty, p.cost, p.margin), (Lots(5), Micros(5_000), Micros(750)));
        assert_eq!(l.account(a).collateral, Micros(750));
        trade(&mut l, &t, b, a, 5, 900); // closes at a 500 loss on the rest
        assert!(l.account(a).positions.is_empty());
        assert_eq!(l.account(a).collateral, Micros(1_000));
    }

    #[test]
    fn value_is_conserved_through_flips_under_cross_margin() {
        let (mut l, a, b, t) = setup(MarginMode::Cross);
        let terms = |_| MarketTerms { tick_value: Micros(1), funding_index: Micros(0), tiers: &t };
        for (qty, price) in [(10, 1_000), (-25, 1_013), (7, 997), (8, 1_001)] {
            if qty > 0 {
                trade(&mut l, &t, a, b, qty, price)
            } else {
                trade(&mut l, &t, b, a, -qty, price)
            }
            for p in [1, 999, 1_050] {
                assert_eq!(l.total_value(&terms, &|_| Price(p)), i128::from(l.external_in.0));
            }
        }
    }
}
