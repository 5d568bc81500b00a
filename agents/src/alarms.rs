//! Price alarms: agents that act only when the price crosses a level
//! (stop-losses, margin top-ups) register the level here instead of being
//! polled. Each tick fires only the alarms the mark has crossed, so the cost
//! follows the agents that act, not the agents that wait.

use bevy_ecs::prelude::*;
use cascade_framework::{MarketId, Price};
use std::collections::BTreeSet;

/// What an alarm is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum AlarmKind {
    /// Close the position.
    StopLoss,
    /// Consider topping up margin.
    TopUp,
}

/// Alarms per market: those that fire when the mark falls to or below
/// their level, and those that fire when it rises to or above it.
#[derive(Resource, Debug, Default)]
pub struct PriceAlarms {
    // Entities are kept as their bits so that the set has a known least
    // element to range from.
    below: Vec<BTreeSet<(Price, u64, AlarmKind)>>,
    above: Vec<BTreeSet<(Price, u64, AlarmKind)>>,
}

impl PriceAlarms {
    fn grow(&mut self, market: MarketId) {
        if self.below.len() <= market.idx() {
            self.below.resize_with(market.idx() + 1, BTreeSet::new);
            self.above.resize_with(market.idx() + 1, BTreeSet::new);
        }
    }

    /// Fires when the mark is at or below `level`.
    pub fn set_below(&mut self, market: MarketId, level: Price, who: Entity, kind: AlarmKind) {
        self.grow(market);
        self.below[market.idx()].insert((level, who.to_bits(), kind));
    }

    /// Fires when the mark is at or above `level`.
    pub fn set_above(&mut self, market: MarketId, level: Price, who: Entity, kind: AlarmKind) {
        self.grow(market);
        self.above[market.idx()].insert((level, who.to_bits(), kind));
    }

    /// Removes an alarm (no effect if it is not set).
    pub fn clear(&mut self, market: MarketId, level: Price, who: Entity, kind: AlarmKind) {
        if let Some(s) = self.below.get_mut(market.idx()) {
            s.remove(&(level, who.to_bits(), kind));
        }
        if let Some(s) = self.above.get_mut(market.idx()) {
            s.remove(&(level, who.to_bits(), kind));
        }
    }

    /// Removes and returns the alarms of `market` that `mark` has crossed,
    /// in a fixed order (level, then entity).
    pub fn fire(&mut self, market: MarketId, mark: Price) -> Vec<(Price, Entity, AlarmKind)> {
        let mut out = Vec::new();
        if let Some(s) = self.below.get_mut(market.idx()) {
            out.extend(s.split_off(&(mark, 0, AlarmKind::StopLoss)));
        }
        if let Some(s) = self.above.get_mut(market.idx()) {
            let keep = s.split_off(&(Price(mark.0 + 1), 0, AlarmKind::StopLoss));
            out.extend(std::mem::replace(s, keep));
        }
        out.into_iter().map(|(p, bits, kind)| (p, Entity::from_bits(bits), kind)).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_crossed_alarms_fire() {
        let mut world = World::new();
        let (a, b, c) = (world.spawn_empty().id(), world.spawn_empty().id(), world.spawn_empty().id());
        let m = MarketId(0);
        let mut alarms = PriceAlarms::default();
        alarms.set_below(m, Price(95), a, AlarmKind::StopLoss);
        alarms.set_below(m, Price(90), b, AlarmKind::TopUp);
        alarms.set_above(m, Price(105), c, AlarmKind::StopLoss);
        assert!(alarms.fire(m, Price(100)).is_empty());
        assert_eq!(alarms.fire(m, Price(95)), vec![(Price(95), a, AlarmKind::StopLoss)]);
        assert_eq!(alarms.fire(m, Price(106)), vec![(Price(105), c, AlarmKind::StopLoss)]);
        assert_eq!(alarms.fire(m, Price(10)), vec![(Price(90), b, AlarmKind::TopUp)]);
    }
}
