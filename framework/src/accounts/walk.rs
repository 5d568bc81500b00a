//! A liquidation round's walk over the trigger index: the candidates of
//! each run (a market's longs or shorts) fetched a few at a time, and the
//! keys that change under the walk noted so that a round sees the index as
//! it began.

use crate::accounts::keys::{Adjusted, Entry, KeySets};
use crate::core::units::{MarketId, Side};

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
pub(super) struct Walk {
    pub(super) runs: Vec<Run>,
    /// The run walked last.
    pub(super) current: Option<usize>,
    pub(super) inserted: KeySets,
    pub(super) removed: KeySets,
}

/// One run of a [`Walk`].
#[derive(Clone, Debug)]
pub(super) struct Run {
    pub(super) market: MarketId,
    pub(super) side: Side,
    /// Per group: (group, the bound of its query: the lowest candidate key
    /// of longs, the highest of shorts).
    pub(super) bounds: Vec<(usize, Adjusted)>,
    /// The last key fetched, and the last key handed out.
    pub(super) fetched: Option<Entry>,
    pub(super) yielded: Option<Entry>,
    /// Fetched, not yet handed out, in walk order.
    pub(super) buffer: std::collections::VecDeque<Entry>,
    pub(super) exhausted: bool,
}

impl Walk {
    /// Notes that `key` of `slot` (market, side, group) was inserted (or
    /// removed) during the round, unless the walk has passed it.
    pub(super) fn note(&mut self, slot: (usize, Side, usize), key: Entry, inserted: bool) {
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
pub(super) const FETCH: usize = 64;

impl Run {
    /// Whether `key` of this run's market and side comes after the walk's
    /// position (so that a change to it must be noted).
    pub(super) fn not_reached(&self, key: Entry) -> bool {
        match (self.yielded, self.side) {
            (None, _) => true,
            (Some(y), Side::Buy) => key < y,
            (Some(y), Side::Sell) => key > y,
        }
    }
}
