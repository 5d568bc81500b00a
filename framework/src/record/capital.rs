//! How much of the finite capital that stands against a crash was used:
//! the value traders' position limits and the market makers' inventory
//! limits. The floor of a crash is where this capital absorbs the forced
//! flow; the summary says how close to exhausted each came.
//!
//! Each tick the agents of a kind add what they hold and their limits
//! (lots) in the Decide phase; the Record phase takes the fraction
//! `Σ |held| / Σ limit` and keeps its largest value over the run. The
//! framework names the two roles, not the agents that fill them: any
//! population may report into either.

use bevy_ecs::prelude::*;

/// One kind of finite capital: what is in use this tick against its
/// limit, and the largest fraction used so far.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Usage {
    used: i128,
    limit: i128,
    peak: Option<f64>,
}

impl Usage {
    /// Counts an agent holding `held` lots (either sign) against a limit of
    /// `limit` lots this tick.
    pub fn add(&mut self, held: i64, limit: i64) {
        self.used += i128::from(held).abs();
        self.limit += i128::from(limit.max(0));
    }

    /// Closes the tick: the fraction used goes into the peak, and the
    /// counts start again.
    fn close_tick(&mut self) {
        if self.limit > 0 {
            let share = self.used as f64 / self.limit as f64;
            self.peak = Some(self.peak.map_or(share, |p| p.max(share)));
        }
        (self.used, self.limit) = (0, 0);
    }

    /// The largest fraction of the limit in use at the start of any tick;
    /// `None` when no agent reported.
    pub fn peak(&self) -> Option<f64> {
        self.peak
    }
}

/// The capital of the floor, by role.
#[derive(Resource, Clone, Debug, Default)]
pub struct FloorCapital {
    /// Value (fundamental) traders: position against position limit.
    pub value: Usage,
    /// Market makers: inventory against inventory limit.
    pub makers: Usage,
}

/// Record-phase system: closes the tick's counts.
pub fn close_floor_capital(mut capital: ResMut<FloorCapital>) {
    capital.value.close_tick();
    capital.makers.close_tick();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_peak_is_the_largest_share_of_a_tick() {
        let mut u = Usage::default();
        assert_eq!(u.peak(), None);
        u.add(-30, 100);
        u.add(10, 100);
        u.close_tick(); // 40 of 200
        u.add(90, 100);
        u.close_tick(); // 90 of 100
        u.add(0, 100);
        u.close_tick();
        assert_eq!(u.peak(), Some(0.9));
    }
}
