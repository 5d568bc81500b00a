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

use crate::accounts::health::terms_of;
use crate::accounts::keys::{Adjusted, Entry, Fresh, Key, KeySets, Scale};
use crate::accounts::ledger::{AccountKind, Ledger, MarginMode, MarketTerms};
use crate::accounts::walk::{FETCH, Run, Walk};
use crate::core::units::{AccountId, MarketId, Micros, PPM, Price, Side};
use crate::market::Markets;
use bevy_ecs::prelude::Resource;
use smallvec::SmallVec;
use std::collections::{BTreeMap, BTreeSet};

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
