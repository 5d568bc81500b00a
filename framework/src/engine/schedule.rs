//! The tick's phases and the schedule that runs them.
//!
//! Each tick runs the phases in one chained order on the single-threaded
//! executor: Exogenous, Observe, Decide, Match, Settle, Liquidate, Record.
//! Every system that touches shared state is ordered; the schedule is built
//! with ambiguity detection set to error, so an unordered pair of
//! conflicting systems is a build error, not a silent source of
//! nondeterminism.

use crate::accounts::ledger::Ledger;
use crate::accounts::triggers::Triggers;
use crate::core::clock::Clock;
use crate::exchange::liquidity::refresh_depth;
use crate::exchange::sequencer::match_orders;
use crate::market::Markets;
use crate::market::correlation::advance_index;
use crate::protocol::{self, ProtocolSystems};
use crate::record::capital::close_floor_capital;
use crate::record::record;
use bevy_ecs::prelude::*;
use bevy_ecs::schedule::{LogLevel, ScheduleBuildSettings, ScheduleLabel, SingleThreadedExecutor};

/// The phases of a tick, in order.
#[derive(SystemSet, Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Phase {
    /// The index moves; background liquidity refreshes.
    Exogenous,
    /// Views are refreshed: best prices, depth, volatility, heatmap.
    Observe,
    /// Agents read the views and queue orders.
    Decide,
    /// Orders are sequenced and matched.
    Match,
    /// Mark price and funding are updated.
    Settle,
    /// Accounts below maintenance are liquidated, in rounds.
    Liquidate,
    /// Metrics are appended to the recorder.
    Record,
}

/// The n-th group of systems added to a phase with
/// [`Simulation::add_systems`]; each group runs after the one before it, so
/// populations added one after another never form an ambiguous pair.
#[derive(SystemSet, Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Slot(pub Phase, pub u32);

/// The label of the tick schedule.
#[derive(ScheduleLabel, Debug, Clone, PartialEq, Eq, Hash)]
pub struct Tick;

/// The framework's own systems within a phase.
#[derive(SystemSet, Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct FrameworkSystems(pub Phase);

/// The phase schedule with the framework's own systems.
pub(crate) fn tick_schedule() -> Schedule {
    let mut schedule = Schedule::new(Tick);
    schedule.set_executor(SingleThreadedExecutor::default());
    schedule.set_build_settings(ScheduleBuildSettings {
        ambiguity_detection: LogLevel::Error,
        ..ScheduleBuildSettings::default()
    });
    schedule.configure_sets(
        (Phase::Exogenous, Phase::Observe, Phase::Decide, Phase::Match, Phase::Settle, Phase::Liquidate, Phase::Record)
            .chain(),
    );
    for phase in
        [Phase::Exogenous, Phase::Observe, Phase::Decide, Phase::Match, Phase::Settle, Phase::Liquidate, Phase::Record]
    {
        schedule.configure_sets(FrameworkSystems(phase).in_set(phase));
    }
    schedule.add_systems((advance_index, refresh_depth).chain().in_set(FrameworkSystems(Phase::Exogenous)));
    schedule.add_systems(observe.in_set(FrameworkSystems(Phase::Observe)).before(ProtocolSystems));
    schedule.add_systems(match_orders.in_set(FrameworkSystems(Phase::Match)));
    schedule.add_systems(settle.in_set(FrameworkSystems(Phase::Settle)));
    protocol::add_systems(&mut schedule, FrameworkSystems(Phase::Observe), FrameworkSystems(Phase::Liquidate));
    schedule.add_systems((record, close_floor_capital).chain().in_set(FrameworkSystems(Phase::Record)));
    schedule
}

/// Observe-phase system: samples basis and premium, updates the mark so
/// agents see the index move, and refreshes the views.
fn observe(clock: Res<Clock>, mut markets: ResMut<Markets>) {
    markets.update_oracles(clock.tick);
    for m in &mut markets.0 {
        m.sample_basis_and_premium();
        m.update_mark(clock.tick);
        m.refresh_view();
    }
}

/// Settle-phase system: marks follow the tick's trades, funding is charged
/// on funding ticks, and trigger keys are refreshed if funding has drifted
/// them.
fn settle(clock: Res<Clock>, mut markets: ResMut<Markets>, ledger: Res<Ledger>, mut triggers: ResMut<Triggers>) {
    for i in 0..markets.0.len() {
        let m = &mut markets.0[i];
        m.update_mark(clock.tick);
        if m.apply_funding(clock.tick) {
            let id = m.id;
            triggers.refresh_if_drifted(id, &ledger, &markets);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_schedule_has_no_ambiguities() {
        let mut world = World::new();
        let mut schedule = tick_schedule();
        schedule.initialize(&mut world).expect("schedule builds with ambiguity detection set to error");
        assert!(schedule.graph().conflicting_systems().is_empty());
    }
}
