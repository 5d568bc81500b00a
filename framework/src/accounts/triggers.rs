//! The liquidation trigger index: every liquidatable position keyed by its
//! exact liquidation price, per market and side, so that finding the
//! positions a price move puts under water costs O(log n + k) for k
//! candidates rather than a scan of every position. It also keeps the
//! liquidation heatmap: the notional that would be force-closed in each
//! price bucket.
//!
//! # Funding drift
//!
//! Funding settles lazily (see [`crate::market::perp`]): as the market's funding
//! index `F` moves, every position's true liquidation price moves with it,
//! without the position being touched. A long's threshold `P*` (set when the
//! funding index was `F_k`) moves by `ΔF × 1e6 / (v (1e6 − r))` ticks for a
//! maintenance rate `r` (`v` the tick value), a short's by
//! `ΔF × 1e6 / (v (1e6 + r))`. Keys therefore store the threshold with the
//! funding index already taken out, in exact integers:
//!
//! ```text
//! long:  K = P* × v × (1e6 − r_max) − 1e6 × F_k      liquidatable if K ≥ mark × v × (1e6 − r_max) − 1e6 × F
//! short: K = P* × v × (1e6 + r_max) − 1e6 × F_k      liquidatable if K ≤ mark × v × (1e6 + r_max) − 1e6 × F
//! ```
//!
//! which is exact for positions whose tier has the table's largest rate
//! `r_max` and never misses one with a smaller rate while `F` has not fallen
//! below the highest `F_k` of any key. When it has, the queries widen by the
//! bounded error `(spread of rates) × (F_hi − F)`; candidates are always
//! checked exactly. For a flat tier table the keys are exact whatever
//! funding does. If the widening ever exceeds `mark / 1000` ticks, the
//! market's keys are recomputed (rare: it needs funding to reverse by that
//! much on a multi-tier table).
//!
//! Cross-margin accounts with positions in more than one market are kept
//! apart and checked in full every round: their trigger in one market moves
//! with the prices of the others.
//!
//! # Raised maintenance rates
//!
//! Keys are computed under the market's configured tiers. When dynamic
//! maintenance multiplies the rates by `k > 1`, thresholds rise without
//! any position being touched, and not in key order across tiers. Each
//! market's keys are therefore held in groups, one per tier: a position
//! goes to the tier `j` that its notional at its threshold, times the
//! largest growth `g = 1.01 / (1 − k_max r_max)` it can have before it is
//! liquidated, falls in. Within group `j` every position has an average
//! rate at its threshold of at least `r_lo = ρ(floor_j / g²)` and a rate at
//! any liquidating price of at most `r_hi = k r_j` (`ρ` the average rate
//! `MM(N)/N`, `r_j` tier `j`'s marginal rate), so a long below maintenance
//! at mark `P` has its key at or above `P (1 − r_hi) / (1 − r_lo)` and a
//! short at or below `P (1 + r_hi) / (1 + r_lo)`. The group is queried from
//! there. For a flat table, or the positions of the first tier, that bound
//! is exact; otherwise it is off by a tier's amount. With `k = 1` every
//! group is queried at the mark itself; without dynamic maintenance there
//! is one group.

use crate::accounts::ledger::{AccountKind, Ledger, MarginMode, MarketTerms};
use crate::core::units::{AccountId, Lots, MarketId, Micros, PPM, Price, Side, div_ceil};
use crate::market::Markets;
use bevy_ecs::prelude::Resource;
use smallvec::SmallVec;
use std::collections::{BTreeMap, BTreeSet};

/// One key of one position.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Key {
    market: MarketId,
    side: Side,
    /// Liquidation price when keyed (for the heatmap).
    price: Price,
    /// Funding-adjusted key (see the module docs).
    adjusted: Adjusted,
    notional: Micros,
    /// Its group (see the module docs).
    group: u32,
}

impl Key {
    fn group(&self) -> usize {
        self.group as usize
    }
}

/// A funding-adjusted key (module docs), an `i128` held as two 64-bit
/// halves so that it packs at 8-byte alignment: an index entry is 24 bytes,
/// not 32. The derived order, signed high half then unsigned low half, is
/// the order of the `i128`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Adjusted {
    hi: i64,
    lo: u64,
}

impl From<i128> for Adjusted {
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss, reason = "the two halves of the i128")]
    fn from(v: i128) -> Adjusted {
        Adjusted { hi: (v >> 64) as i64, lo: v as u64 }
    }
}

/// An entry of the index: a key and its account.
type Entry = (Adjusted, AccountId);

/// New keys by (market, side, group), for [`Triggers::rekey_many`].
type Fresh = BTreeMap<(usize, Side, usize), Vec<Entry>>;

/// The trigger index of one market.
#[derive(Clone, Debug, Default)]
pub struct MarketTriggers {
    /// Per group (tier), the keyed longs and shorts.
    longs: Vec<BTreeSet<Entry>>,
    shorts: Vec<BTreeSet<Entry>>,
    /// Notional liquidated at each price bucket: (longs, shorts), micros.
    heat: BTreeMap<i64, (i64, i64)>,
    bucket_ticks: i64,
    /// Highest funding index at which a current key was set.
    funding_hi: Micros,
}

impl MarketTriggers {
    /// Number of keyed positions.
    pub fn len(&self) -> usize {
        self.longs.iter().chain(&self.shorts).map(BTreeSet::len).sum()
    }

    fn set(&mut self, side: Side, group: usize) -> &mut BTreeSet<Entry> {
        let sets = if side == Side::Buy { &mut self.longs } else { &mut self.shorts };
        if sets.len() <= group {
            sets.resize_with(group + 1, BTreeSet::new);
        }
        &mut sets[group]
    }

    /// Whether no position is keyed.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The heatmap: (bucket lower price, long notional, short notional) for
    /// every non-empty bucket, in price order.
    pub fn heatmap(&self) -> impl Iterator<Item = (Price, Micros, Micros)> + '_ {
        self.heat.iter().map(move |(b, (l, s))| (Price(b * self.bucket_ticks), Micros(*l), Micros(*s)))
    }

    /// Width of a heatmap bucket, ticks.
    pub fn bucket_ticks(&self) -> i64 {
        self.bucket_ticks
    }

    fn bucket(&self, p: Price) -> i64 {
        p.0.div_euclid(self.bucket_ticks)
    }

    fn add_heat(&mut self, key: Key, sign: i64) {
        let b = self.bucket(key.price);
        let e = self.heat.entry(b).or_default();
        match key.side {
            Side::Buy => e.0 += sign * key.notional.0,
            Side::Sell => e.1 += sign * key.notional.0,
        }
        if *e == (0, 0) {
            self.heat.remove(&b);
        }
    }

    /// Total long (or short) notional keyed at trigger prices in
    /// `[lo, hi]`, micros: what a move through that range would force-close.
    pub fn notional_between(&self, side: Side, lo: Price, hi: Price) -> Micros {
        let (blo, bhi) = (self.bucket(lo), self.bucket(hi));
        Micros(self.heat.range(blo..=bhi).map(|(_, (l, s))| if side == Side::Buy { *l } else { *s }).sum())
    }
}

/// The trigger index of every market.
#[derive(Resource, Clone, Debug, Default)]
pub struct Triggers {
    /// Per market.
    pub markets: Vec<MarketTriggers>,
    keys: Vec<SmallVec<[Key; 1]>>,
    multi: BTreeSet<AccountId>,
    /// Keys of [`Triggers::rekey_many`] not yet in the sets.
    pending: Fresh,
    /// Accounts keyed in more than one market (isolated positions in
    /// several): while there are none, every account appears at most once
    /// among all markets' candidates.
    multi_keyed: usize,
    /// The largest multiplier of the maintenance rates (1 without dynamic
    /// maintenance), for the grouping of keys.
    max_scale: f64,
    /// The liquidation round's walk over its candidates, while one runs.
    walk: Option<Walk>,
}

/// Keys by (market, side, group).
type KeySets = BTreeMap<(usize, Side, usize), BTreeSet<Entry>>;

/// A liquidation round's walk over its candidates: for each run (a market's
/// longs or shorts) the candidates at the round's opening marks, most under
/// water first, fetched a few at a time, so that a run the round stops
/// early (its side of the book is empty) costs nothing for the positions it
/// does not reach, however many wait.
///
/// A round looks at the candidates as they were when it began. Keys that
/// change during the round where the walk has not yet reached are noted
/// (`inserted`, `removed`, each the net change since the round began), and
/// fetching sees the index as it was: the current keys, less those
/// inserted, plus those removed.
#[derive(Clone, Debug, Default)]
struct Walk {
    runs: Vec<Run>,
    /// The run walked last.
    current: Option<usize>,
    inserted: KeySets,
    removed: KeySets,
}

/// One run of a [`Walk`].
#[derive(Clone, Debug)]
struct Run {
    market: MarketId,
    side: Side,
    /// Per group: (group, the bound of its query: the lowest candidate key
    /// of longs, the highest of shorts).
    bounds: Vec<(usize, Adjusted)>,
    /// The last key fetched, and the last key handed out.
    fetched: Option<Entry>,
    yielded: Option<Entry>,
    /// Fetched, not yet handed out, in walk order.
    buffer: std::collections::VecDeque<Entry>,
    exhausted: bool,
}

impl Walk {
    /// Notes that `key` of `slot` (market, side, group) was inserted (or
    /// removed) during the round, unless the walk has passed it.
    fn note(&mut self, slot: (usize, Side, usize), key: Entry, inserted: bool) {
        let current = self.current.map(|i| &self.runs[i]);
        if current.is_some_and(|r| r.market.idx() == slot.0 && r.side == slot.1 && !r.not_reached(key)) {
            return;
        }
        let (add, undo) =
            if inserted { (&mut self.inserted, &mut self.removed) } else { (&mut self.removed, &mut self.inserted) };
        // A key removed and put back (or put in and removed) is as it was.
        if !undo.get_mut(&slot).is_some_and(|set| set.remove(&key)) {
            add.entry(slot).or_default().insert(key);
        }
    }
}

/// Candidates fetched at a time by a [`Walk`].
const FETCH: usize = 64;

impl Run {
    /// Whether `key` of this run's market and side comes after the walk's
    /// position (so that a change to it must be noted).
    fn not_reached(&self, key: Entry) -> bool {
        match (self.yielded, self.side) {
            (None, _) => true,
            (Some(y), Side::Buy) => key < y,
            (Some(y), Side::Sell) => key > y,
        }
    }
}

impl Triggers {
    /// An empty index for `n_markets` markets with heatmap buckets of
    /// `bucket_ticks` ticks in each, for maintenance rates multiplied by at
    /// most `max_scale` (1 without dynamic maintenance).
    pub fn new(bucket_ticks: &[i64], max_scale: f64) -> Triggers {
        Triggers {
            markets: bucket_ticks
                .iter()
                .map(|b| MarketTriggers { bucket_ticks: (*b).max(1), ..MarketTriggers::default() })
                .collect(),
            keys: Vec::new(),
            multi: BTreeSet::new(),
            pending: Fresh::new(),
            multi_keyed: 0,
            max_scale: max_scale.max(1.0),
            walk: None,
        }
    }

    /// The growth `g` of a position's notional between its threshold under
    /// the configured rates and any price that liquidates it (module docs).
    fn reach(&self, m: &crate::market::Market) -> f64 {
        let r_max = m.base_tiers.max_maintenance_rate().0 as f64 / PPM as f64;
        1.01 / (1.0 - self.max_scale * r_max).max(1e-6)
    }

    /// The group of a key with `notional` at its threshold in `m`; one
    /// group when the rates never change.
    fn group_of(&self, m: &crate::market::Market, notional: Micros) -> usize {
        if self.max_scale <= 1.0 {
            return 0;
        }
        let reached = (notional.0 as f64 * self.reach(m)).min(i128::MAX as f64);
        #[allow(clippy::cast_possible_truncation, reason = "clamped to the i128 range above; only the tier is used")]
        m.base_tiers.tier_of(reached as i128)
    }

    /// Bytes used by the index structures per keyed position, estimated from
    /// their element sizes (B-tree nodes hold up to 11 entries; this counts
    /// the entries, which dominate).
    pub fn approx_bytes_per_key() -> usize {
        size_of::<Entry>() + size_of::<SmallVec<[Key; 1]>>()
    }

    /// Makes room for the keys of `n_accounts` accounts in all.
    pub fn reserve(&mut self, n_accounts: usize) {
        self.keys.reserve_exact(n_accounts.saturating_sub(self.keys.len()));
    }

    /// Removes every key of `account`: it is not a candidate again until
    /// the next [`Triggers::rekey`].
    pub fn forget(&mut self, account: AccountId) {
        let i = account.idx();
        if self.keys.len() <= i {
            return;
        }
        let old_keys = std::mem::take(&mut self.keys[i]);
        if old_keys.len() > 1 {
            self.multi_keyed -= 1;
        }
        for old in old_keys {
            let mt = &mut self.markets[old.market.idx()];
            let (set, key) = (mt.set(old.side, old.group()), (old.adjusted, account));
            // Rounds close longs from the top of their keys and shorts from
            // the bottom, so a forgotten key is most often at that end, which
            // is reached without comparing keys.
            match old.side {
                Side::Buy if set.last() == Some(&key) => set.pop_last(),
                Side::Sell if set.first() == Some(&key) => set.pop_first(),
                _ => set.take(&key),
            };
            if let Some(walk) = &mut self.walk {
                walk.note((old.market.idx(), old.side, old.group()), key, false);
            }
            mt.add_heat(old, -1);
        }
        self.multi.remove(&account);
    }

    /// Recomputes the keys of `account` from its current state.
    pub fn rekey(&mut self, account: AccountId, ledger: &Ledger, markets: &Markets) {
        self.rekey_into(account, ledger, markets, None);
    }

    /// [`Triggers::rekey`] for many accounts at once (each once, however
    /// often it is listed): the same index, with the new keys of each set
    /// sorted and built in bulk instead of inserted one by one, which is
    /// what makes seeding a million positions cheap.
    ///
    /// The new keys wait in a pending list until [`Triggers::flush`], which
    /// the simulation calls before each tick, so that positions seeded in
    /// many batches are sorted and built once.
    pub fn rekey_many(&mut self, accounts: &[AccountId], ledger: &Ledger, markets: &Markets) {
        let mut ids = accounts.to_vec();
        ids.sort_unstable();
        ids.dedup();
        let mut pending = std::mem::take(&mut self.pending);
        for account in ids {
            self.rekey_into(account, ledger, markets, Some(&mut pending));
        }
        self.pending = pending;
    }

    /// Puts the keys of [`Triggers::rekey_many`] into the index, each set
    /// built in bulk. A pending key that its account no longer has (it was
    /// re-keyed or forgotten since) is dropped.
    pub fn flush(&mut self) {
        if self.pending.is_empty() {
            return;
        }
        for ((market, side, group), entries) in std::mem::take(&mut self.pending) {
            let current = |&(adjusted, account): &Entry| {
                self.keys[account.idx()]
                    .iter()
                    .any(|k| k.market.idx() == market && k.side == side && k.group() == group && k.adjusted == adjusted)
            };
            let mut entries: Vec<Entry> = entries.into_iter().filter(current).collect();
            // Keys are distinct (one per account), so an unstable sort gives
            // the one order, and the set is then built from a sorted run.
            entries.sort_unstable();
            let mut bulk: BTreeSet<Entry> = entries.into_iter().collect();
            self.markets[market].set(side, group).append(&mut bulk);
        }
    }

    /// [`Triggers::rekey`], putting the new keys into `fresh` (by market,
    /// side and group) when given, for the caller to insert in bulk.
    fn rekey_into(&mut self, account: AccountId, ledger: &Ledger, markets: &Markets, mut fresh: Option<&mut Fresh>) {
        let i = account.idx();
        if self.keys.len() <= i {
            let more = i + 1 - self.keys.len();
            crate::core::reserve_gently(&mut self.keys, more);
            self.keys.resize(i + 1, SmallVec::new());
        }
        self.forget(account);
        let acct = ledger.account(account);
        if acct.kind == AccountKind::System || acct.positions.is_empty() {
            return;
        }
        if acct.mode == MarginMode::Cross && acct.positions.len() > 1 {
            self.multi.insert(account);
            return;
        }
        // Keys are liquidation prices under the configured tiers, so that a
        // change of the dynamic maintenance scale needs no re-keying.
        let terms = |m: MarketId| {
            let market = markets.get(m);
            MarketTerms { tiers: &market.base_tiers, ..terms_of(markets, m) }
        };
        let price_of = |m: MarketId| markets.get(m).mark;
        let mut new_keys = SmallVec::new();
        for pos in &acct.positions {
            let line = acct.margin_line(pos.market, &terms, &price_of).expect("position exists");
            let Some(price) = line.liquidation_price() else { continue };
            let market = markets.get(pos.market);
            let side = if pos.qty.0 > 0 { Side::Buy } else { Side::Sell };
            let adjusted = Adjusted::from(Scale::of(market).adjust(side, price, market.funding_index));
            let notional = market.notional(pos.qty, price);
            let group = self.group_of(market, notional);
            let key = Key {
                market: pos.market,
                side,
                price,
                adjusted,
                notional,
                group: u32::try_from(group).expect("fewer than 2^32 tiers"),
            };
            let mt = &mut self.markets[pos.market.idx()];
            if mt.is_empty() {
                mt.funding_hi = market.funding_index;
            }
            match fresh.as_deref_mut() {
                Some(f) => f.entry((pos.market.idx(), side, group)).or_default().push((adjusted, account)),
                None => {
                    mt.set(side, group).insert((adjusted, account));
                    if let Some(walk) = &mut self.walk {
                        walk.note((pos.market.idx(), side, group), (adjusted, account), true);
                    }
                }
            }
            mt.add_heat(key, 1);
            mt.funding_hi = mt.funding_hi.max(market.funding_index);
            new_keys.push(key);
        }
        if new_keys.len() > 1 {
            self.multi_keyed += 1;
        }
        self.keys[i] = new_keys;
    }

    /// Whether some account is keyed in more than one market, so that it
    /// may be a candidate in several.
    pub fn has_multi_keyed(&self) -> bool {
        self.multi_keyed > 0
    }

    /// The query bound of each non-empty group of `side` of `market` at
    /// the current mark: longs keyed at or above it, or shorts keyed at or
    /// below it, may be liquidatable (less or plus the funding slack).
    fn bounds(&self, market: MarketId, side: Side, markets: &Markets) -> Vec<(usize, Adjusted)> {
        let m = markets.get(market);
        let mt = &self.markets[market.idx()];
        let scale = Scale::of(m);
        let (slack_long, slack_short) = scale.slack(mt.funding_hi, m.funding_index);
        let g = self.reach(m);
        let sets = if side == Side::Buy { &mt.longs } else { &mt.shorts };
        let mut bounds = Vec::new();
        for (j, _) in sets.iter().enumerate().filter(|(_, set)| !set.is_empty()) {
            let at = if m.maintenance_scale.0 == PPM {
                m.mark
            } else {
                let floor = m.base_tiers.floor_of(j) as f64 / (g * g);
                #[allow(clippy::cast_possible_truncation, reason = "a notional well inside the i128 range")]
                let r_lo = m.base_tiers.average_rate(floor as i128);
                let r_hi = m.tiers.rate_of(j);
                scale.query_price(side, m.mark, r_lo, r_hi)
            };
            // One more tick each way: a key is a whole tick, and the
            // threshold it rounds moves by fractions of a tick as
            // funding accrues.
            bounds.push(match side {
                Side::Buy => {
                    (j, Adjusted::from(scale.adjust(side, at, m.funding_index) - slack_long - scale.long_per_tick))
                }
                Side::Sell => {
                    (j, Adjusted::from(scale.adjust(side, at, m.funding_index) + slack_short + scale.short_per_tick))
                }
            });
        }
        bounds
    }

    /// Accounts whose positions on `side` of `market` may be liquidatable
    /// at the market's current mark, most under water first: longs (`Buy`)
    /// keyed at or above the mark (less the funding slack), or shorts keyed
    /// at or below it (plus the slack). Callers check each exactly.
    pub fn candidates(&self, market: MarketId, side: Side, markets: &Markets, out: &mut Vec<AccountId>) {
        let found = self.gather(market, side, &self.bounds(market, side, markets), None, usize::MAX, None);
        out.extend(found.iter().map(|(_, a)| *a));
    }

    /// The keys of `side` of `market` that a query from `bounds` finds past
    /// `after` (from the start when `None`), most under water first, at
    /// most `limit` of them; given a walk, as the index was when it began
    /// (see [`Walk`]).
    fn gather(
        &self,
        market: MarketId,
        side: Side,
        bounds: &[(usize, Adjusted)],
        after: Option<Entry>,
        limit: usize,
        walk: Option<&Walk>,
    ) -> Vec<Entry> {
        use std::ops::Bound::{Excluded, Included, Unbounded};
        let mt = &self.markets[market.idx()];
        let sets = if side == Side::Buy { &mt.longs } else { &mt.shorts };
        let empty = BTreeSet::new();
        let mut found: Vec<Entry> = Vec::new();
        for &(j, bound) in bounds {
            let slot = (market.idx(), side, j);
            let notes = |sets: fn(&Walk) -> &KeySets| walk.and_then(|w| sets(w).get(&slot)).unwrap_or(&empty);
            let (inserted, removed) = (notes(|w| &w.inserted), notes(|w| &w.removed));
            let current = sets.get(j).unwrap_or(&empty);
            // A group whose bound is already passed (groups have bounds of
            // their own) has nothing left.
            let passed = after.is_some_and(|f| match side {
                Side::Buy => f <= (bound, AccountId(0)),
                Side::Sell => f >= (bound, AccountId(u32::MAX)),
            });
            if passed {
                continue;
            }
            match side {
                Side::Buy => {
                    let range = (Included((bound, AccountId(0))), after.map_or(Unbounded, Excluded));
                    found.extend(current.range(range).rev().filter(|k| !inserted.contains(k)).take(limit));
                    found.extend(removed.range(range).rev().take(limit));
                }
                Side::Sell => {
                    let range = (after.map_or(Unbounded, Excluded), Included((bound, AccountId(u32::MAX))));
                    found.extend(current.range(range).filter(|k| !inserted.contains(k)).take(limit));
                    found.extend(removed.range(range).take(limit));
                }
            }
        }
        // Most under water first, as one index would give them.
        if side == Side::Buy {
            found.sort_unstable_by(|a, b| b.cmp(a));
        } else {
            found.sort_unstable();
        }
        found.truncate(limit);
        found
    }

    /// Starts a liquidation round's walk over the [`Triggers::candidates`]
    /// of each of `runs` at the current marks; [`Triggers::next_candidate`]
    /// then hands them out, run by run, as they were now, whatever the
    /// round changes meanwhile. [`Triggers::end_walk`] ends it.
    pub fn begin_walk(&mut self, runs: &[(MarketId, Side)], markets: &Markets) {
        let runs = runs
            .iter()
            .map(|&(market, side)| Run {
                market,
                side,
                bounds: self.bounds(market, side, markets),
                fetched: None,
                yielded: None,
                buffer: std::collections::VecDeque::new(),
                exhausted: false,
            })
            .collect();
        self.walk = Some(Walk { runs, ..Walk::default() });
    }

    /// Ends the round's walk.
    pub fn end_walk(&mut self) {
        self.walk = None;
    }

    /// The next candidate of run `run` of the walk (the index into the
    /// `runs` given to [`Triggers::begin_walk`]), or `None` when the run
    /// has no more.
    pub fn next_candidate(&mut self, run: usize) -> Option<AccountId> {
        let mut walk = self.walk.take().expect("next_candidate is called between begin_walk and end_walk");
        walk.current = Some(run);
        if walk.runs[run].buffer.is_empty() && !walk.runs[run].exhausted {
            self.fetch(&mut walk, run);
        }
        let r = &mut walk.runs[run];
        let next = r.buffer.pop_front();
        if next.is_some() {
            r.yielded = next;
        }
        // The keys of a candidate a few ahead, which its liquidation will
        // forget: scattered over the index of every account.
        if let Some(&(_, ahead)) = r.buffer.get(crate::core::PREFETCH_AHEAD)
            && let Some(keys) = self.keys.get(ahead.idx())
        {
            crate::core::prefetch(keys);
        }
        self.walk = Some(walk);
        next.map(|(_, account)| account)
    }

    /// The candidate of run `run` that comes `ahead` after the one handed
    /// out last, if it is already fetched: for callers that prefetch.
    pub fn upcoming(&self, run: usize, ahead: usize) -> Option<AccountId> {
        let walk = self.walk.as_ref()?;
        walk.runs.get(run)?.buffer.get(ahead).map(|(_, account)| *account)
    }

    /// Fetches the next candidates of `run` into its buffer: the keys past
    /// the last fetched, in walk order, as the index was when the walk
    /// began.
    fn fetch(&self, walk: &mut Walk, run: usize) {
        let r = &walk.runs[run];
        let found = self.gather(r.market, r.side, &r.bounds, r.fetched, FETCH, Some(walk));
        let r = &mut walk.runs[run];
        r.exhausted = found.is_empty();
        r.fetched = found.last().copied().or(r.fetched);
        r.buffer.extend(found);
    }

    /// Cross-margin accounts with positions in several markets.
    pub fn multi_market(&self) -> impl Iterator<Item = AccountId> + '_ {
        self.multi.iter().copied()
    }

    /// Recomputes every key of `market` at the current funding index if the
    /// query widening has grown past `max(8, mark / 1000)` ticks.
    pub fn refresh_if_drifted(&mut self, market: MarketId, ledger: &Ledger, markets: &Markets) {
        let m = markets.get(market);
        let mt = &self.markets[market.idx()];
        if mt.is_empty() {
            return;
        }
        let scale = Scale::of(m);
        let (a, _) = scale.slack(mt.funding_hi, m.funding_index);
        let bound = (m.mark.0 / 1000).max(8);
        if a <= i128::from(bound) * scale.long_per_tick {
            return;
        }
        let accounts: BTreeSet<AccountId> = mt.longs.iter().chain(&mt.shorts).flatten().map(|(_, a)| *a).collect();
        let mt = &mut self.markets[market.idx()];
        mt.funding_hi = m.funding_index;
        for account in accounts {
            self.rekey(account, ledger, markets);
        }
    }
}

/// The exact integer scale of a market's funding-adjusted keys.
#[derive(Clone, Copy, Debug)]
struct Scale {
    /// `v × (1e6 − r_max)`: one tick of a long key.
    long_per_tick: i128,
    /// `v × (1e6 + r_max)`: one tick of a short key.
    short_per_tick: i128,
    r_min: i128,
    r_max: i128,
}

impl Scale {
    fn of(m: &crate::market::Market) -> Scale {
        let v = i128::from(m.params.tick_value.0);
        let (r_min, r_max) =
            (i128::from(m.base_tiers.min_maintenance_rate().0), i128::from(m.base_tiers.max_maintenance_rate().0));
        let ppm = i128::from(PPM);
        Scale { long_per_tick: v * (ppm - r_max), short_per_tick: v * (ppm + r_max), r_min, r_max }
    }

    fn adjust(self, side: Side, price: Price, funding: Micros) -> i128 {
        let per_tick = if side == Side::Buy { self.long_per_tick } else { self.short_per_tick };
        i128::from(price.0) * per_tick - i128::from(PPM) * i128::from(funding.0)
    }

    /// The price to query a group of `side` from (longs) or up to (shorts)
    /// at `mark` when the group's average rate at its keys is at least
    /// `r_lo` and the rate in force at a liquidating price at most `r_hi`
    /// (ppm). A long keyed at `L` has `−A ≤ q v L (1 − r_lo)` (`A` its
    /// equity at price zero); below maintenance at `P` it has
    /// `−A > q v P (1 − r_hi)`; so `L > P (1 − r_hi) / (1 − r_lo)`. For a
    /// short, `S < P (1 + r_hi) / (1 + r_lo)`.
    fn query_price(self, side: Side, mark: Price, r_lo: i128, r_hi: i128) -> Price {
        let (p, ppm) = (i128::from(mark.0), i128::from(PPM));
        let at = match side {
            Side::Buy => crate::core::units::div_floor(p * (ppm - r_hi), ppm - r_lo).max(0),
            Side::Sell => div_ceil(p * (ppm + r_hi), ppm + r_lo),
        };
        Price(crate::core::units::narrow(at))
    }

    /// Widening of the long and short queries, in key units.
    fn slack(self, funding_hi: Micros, funding: Micros) -> (i128, i128) {
        let fall = i128::from((funding_hi.0 - funding.0).max(0));
        if fall == 0 || self.r_max == self.r_min {
            return (0, 0);
        }
        let ppm = i128::from(PPM);
        // 1e6 × (1 − (1e6 − r_max) / (1e6 − r_min)) × fall, and
        // 1e6 × ((1e6 + r_max) / (1e6 + r_min) − 1) × fall, rounded up.
        let long = div_ceil(ppm * (self.r_max - self.r_min) * fall, ppm - self.r_min);
        let short = div_ceil(ppm * (self.r_max - self.r_min) * fall, ppm + self.r_min);
        (long, short)
    }
}

/// The ledger's view of market `m`.
pub fn terms_of(markets: &Markets, m: MarketId) -> MarketTerms<'_> {
    let market = markets.get(m);
    MarketTerms { tick_value: market.params.tick_value, funding_index: market.funding_index, tiers: &market.tiers }
}

/// Whether `account` is below maintenance margin at current marks: per
/// position under isolated margin (returns the first such market), on the
/// whole account under cross margin (returns `MarketId` of its first
/// position).
pub fn below_maintenance(account: AccountId, ledger: &Ledger, markets: &Markets) -> Option<MarketId> {
    let acct = ledger.account(account);
    if acct.kind == AccountKind::System {
        return None;
    }
    let terms = |m: MarketId| terms_of(markets, m);
    let price_of = |m: MarketId| markets.get(m).mark;
    match acct.mode {
        MarginMode::Isolated => acct.positions.iter().find_map(|p| {
            let line = acct.margin_line(p.market, &terms, &price_of)?;
            line.is_liquidatable(markets.get(p.market).mark).then_some(p.market)
        }),
        MarginMode::Cross => {
            let equity = acct.equity(&terms, &price_of);
            let mm: i128 = acct
                .positions
                .iter()
                .map(|p| {
                    let m = markets.get(p.market);
                    m.tiers.maintenance_scaled(i128::from(m.notional(p.qty, m.mark).0))
                })
                .sum();
            // An account with no position has nothing to close, whatever its cash.
            let first = acct.positions.first()?;
            (equity * i128::from(PPM) < mm).then_some(first.market)
        }
    }
}

/// Signed size helper for callers that only need the side.
pub fn side_of(qty: Lots) -> Option<Side> {
    match qty.0.signum() {
        1 => Some(Side::Buy),
        -1 => Some(Side::Sell),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn adjusted_keys_order_as_their_i128s(a in any::<i128>(), b in any::<i128>()) {
            prop_assert_eq!(Adjusted::from(a).cmp(&Adjusted::from(b)), a.cmp(&b));
        }
    }

    #[test]
    fn keys_and_entries_pack_at_8_bytes() {
        assert_eq!(size_of::<Entry>(), 24);
        assert!(size_of::<SmallVec<[Key; 1]>>() <= 48, "{}", size_of::<SmallVec<[Key; 1]>>());
    }
}
