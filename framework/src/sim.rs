//! The simulation: the bevy_ecs `World` and its phase schedule, built from
//! parameter structs, stepped tick by tick, and finished into frames.
//!
//! Each tick runs the phases in one chained order on the single-threaded
//! executor: Exogenous, Observe, Decide, Match, Settle, Liquidate, Record.
//! Every system that touches shared state is ordered; the schedule is built
//! with ambiguity detection set to error, so an unordered pair of
//! conflicting systems is a build error, not a silent source of
//! nondeterminism.

use crate::error::{ExportError, ParamError};
use crate::ledger::{AccountKind, AccountSpec, Ledger, MarginMode, TradeLeg};
use crate::liquidation::{
    LiquidationPreview, Protocol, ProtocolParams, TickLiquidations, Vault, check_breakers, liquidate,
    preview_liquidations, update_maintenance,
};
use crate::liquidity::{Liquidity, lay_depth, refresh_depth};
use crate::market::{Market, MarketParams, Markets};
use crate::recorder::{Recorder, RecordingParams, RunOutput, record};
use crate::rng::{RunSeed, StreamKey};
use crate::sequencer::{OrderQueue, match_orders};
use crate::triggers::{Triggers, terms_of};
use crate::units::{AccountId, Lots, MarketId, Micros, Price, Side};
use bevy_ecs::prelude::*;
use bevy_ecs::schedule::{LogLevel, ScheduleBuildSettings, ScheduleLabel, SingleThreadedExecutor};
use serde::{Deserialize, Serialize};

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

/// The current tick.
#[derive(Resource, Clone, Copy, Debug, Default, PartialEq)]
pub struct Clock {
    /// The tick being run (during a step) or next to run (between steps).
    pub tick: u64,
    /// Length of a tick, seconds.
    pub tick_seconds: f64,
}

/// Everything needed to build a simulation.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SimParams {
    /// Run seed.
    pub seed: u64,
    /// Length of a tick, seconds.
    pub tick_seconds: f64,
    /// Markets, addressed by their position as [`MarketId`].
    pub markets: Vec<MarketParams>,
    /// The liquidation protocol.
    #[serde(default)]
    pub protocol: ProtocolParams,
    /// What is recorded.
    #[serde(default)]
    pub recording: RecordingParams,
    /// Correlation matrix of the markets' index diffusions (one row and
    /// column per market, unit diagonal); independent when absent.
    #[serde(default)]
    pub index_correlation: Option<Vec<Vec<f64>>>,
}

impl SimParams {
    /// Checks every parameter; the error names the field path.
    pub fn validate(&self) -> Result<(), ParamError> {
        if !(self.tick_seconds.is_finite() && self.tick_seconds > 0.0) {
            return Err(ParamError::invalid("tick_seconds", "must be positive"));
        }
        if self.markets.is_empty() {
            return Err(ParamError::invalid("markets", "at least one market is needed"));
        }
        if self.markets.len() > usize::from(u16::MAX) {
            return Err(ParamError::invalid("markets", "at most 65,535 markets"));
        }
        for (i, m) in self.markets.iter().enumerate() {
            m.validate().map_err(|e| e.within(&format!("markets[{i}]")))?;
        }
        self.protocol.validate().map_err(|e| e.within("protocol"))?;
        if let Some(d) = &self.protocol.dynamic_maintenance {
            let k = d.max_scale();
            for (i, m) in self.markets.iter().enumerate() {
                if !m.validate()?.maintenance_fits(k) {
                    return Err(ParamError::invalid(
                        "protocol.dynamic_maintenance.max_multiplier",
                        format!("raises a maintenance rate of markets[{i}] to its initial rate or above"),
                    ));
                }
            }
        }
        if let Some(c) = &self.index_correlation {
            cholesky(c, self.markets.len()).map_err(|reason| ParamError::invalid("index_correlation", reason))?;
        }
        if self.recording.heatmap_bucket_bps == 0 {
            return Err(ParamError::invalid("recording.heatmap_bucket_bps", "must be at least 1"));
        }
        Ok(())
    }
}

/// A running simulation.
pub struct Simulation {
    world: World,
    schedule: Schedule,
    seed_counterparty: AccountId,
    slots: Vec<(Phase, u32)>,
}

impl std::fmt::Debug for Simulation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Simulation").field("tick", &self.tick()).field("seed", &self.seed()).finish_non_exhaustive()
    }
}

impl Simulation {
    /// Builds the world and schedule from `params` and lays each market's
    /// initial depth.
    pub fn new(params: SimParams) -> Result<Simulation, ParamError> {
        params.validate()?;
        let seed = RunSeed(params.seed);
        let mut markets = Markets::default();
        let mut ledger = Ledger::default();
        ledger.fund_insurance(params.protocol.insurance_fund);
        let mut buckets = Vec::new();
        let mut providers = Vec::new();
        for (i, mp) in params.markets.iter().enumerate() {
            let id = MarketId(u16::try_from(i).expect("validated market count"));
            let tiers = mp.validate()?;
            let bucket = (mp.index.initial_price.0 * i64::from(params.recording.heatmap_bucket_bps) / 10_000).max(1);
            buckets.push(bucket);
            providers.push(ledger.open(AccountSpec {
                kind: AccountKind::System,
                mode: MarginMode::Cross,
                owner: None,
                population: "background_liquidity".into(),
                strategy: "depth_profile".into(),
                leverage: 1,
                collateral: mp.depth.provider_collateral,
            }));
            markets.0.push(Market::new(id, mp.clone(), tiers, params.tick_seconds, seed.stream(StreamKey::Index(id))));
        }
        let seed_counterparty = ledger.open(AccountSpec {
            kind: AccountKind::System,
            mode: MarginMode::Cross,
            owner: None,
            population: "seed_counterparty".into(),
            strategy: "none".into(),
            leverage: 1,
            collateral: Micros(0),
        });
        // The vault is opened only when configured, so that other runs keep
        // their account numbers.
        let vault = params.protocol.vault.as_ref().map(|v| {
            ledger.open(AccountSpec {
                kind: AccountKind::Trader,
                mode: MarginMode::Cross,
                owner: None,
                population: "backstop_vault".into(),
                strategy: "take_over".into(),
                leverage: 1,
                collateral: v.capital,
            })
        });
        let mut world = World::new();
        let max_scale = params.protocol.dynamic_maintenance.as_ref().map_or(1.0, |d| d.max_multiplier);
        let mut triggers = Triggers::new(&buckets, max_scale);
        let mut queue = OrderQueue::new(seed.stream(StreamKey::Sequencer));
        for (i, provider) in providers.iter().enumerate() {
            let id = MarketId(u16::try_from(i).expect("validated market count"));
            lay_depth(id, *provider, &mut markets, &mut ledger, &mut triggers, &mut queue);
            markets.get_mut(id).flow = Default::default();
            markets.get_mut(id).refresh_view();
        }
        world.insert_resource(Clock { tick: 0, tick_seconds: params.tick_seconds });
        world.insert_resource(seed);
        world.insert_resource(markets);
        world.insert_resource(ledger);
        world.insert_resource(triggers);
        world.insert_resource(queue);
        world.insert_resource(Liquidity { providers });
        world.insert_resource(Protocol(params.protocol.clone()));
        world.insert_resource(TickLiquidations::default());
        world.insert_resource(LiquidationPreview::default());
        world.insert_resource(Vault(vault));
        world.insert_resource(crate::auction::Auctions::new(params.protocol.auction.clone(), params.protocol.penalty));
        let factor = params.index_correlation.as_ref().map(|c| cholesky(c, params.markets.len()).expect("validated"));
        world.insert_resource(IndexCorrelation(factor));
        world.insert_resource(Recorder::new(&params.recording));
        Ok(Simulation { world, schedule: tick_schedule(), seed_counterparty, slots: Vec::new() })
    }

    /// The world, for reading resources and components.
    pub fn world(&self) -> &World {
        &self.world
    }

    /// The world, for spawning agents and inserting resources.
    pub fn world_mut(&mut self) -> &mut World {
        &mut self.world
    }

    /// The tick schedule, for adding systems to a [`Phase`].
    pub fn schedule_mut(&mut self) -> &mut Schedule {
        &mut self.schedule
    }

    /// Adds systems to a phase. Systems added by one call run in the given
    /// order, after every system added earlier to the same phase. In
    /// Exogenous, Observe and Decide they run after the framework's own
    /// systems of the phase (so they see the moved index and fresh views);
    /// in Match, Settle, Liquidate and Record, before them.
    pub fn add_systems<M>(
        &mut self,
        phase: Phase,
        systems: impl IntoScheduleConfigs<bevy_ecs::system::ScheduleSystem, M>,
    ) -> &mut Self {
        let n = match self.slots.iter_mut().find(|(p, _)| *p == phase) {
            Some((_, n)) => {
                *n += 1;
                *n
            }
            None => {
                self.slots.push((phase, 0));
                0
            }
        };
        let slot = Slot(phase, n);
        let framework = FrameworkSystems(phase);
        let configs = match phase {
            Phase::Exogenous | Phase::Observe | Phase::Decide => slot.in_set(phase).after(framework),
            _ => slot.in_set(phase).before(framework),
        };
        if n == 0 {
            self.schedule.configure_sets(configs);
        } else {
            self.schedule.configure_sets(configs.after(Slot(phase, n - 1)));
        }
        self.schedule.add_systems(systems.chain().in_set(slot));
        self
    }

    /// The run seed.
    pub fn seed(&self) -> RunSeed {
        *self.world.resource::<RunSeed>()
    }

    /// The next tick to run.
    pub fn tick(&self) -> u64 {
        self.world.resource::<Clock>().tick
    }

    /// The ledger.
    pub fn ledger(&self) -> &Ledger {
        self.world.resource::<Ledger>()
    }

    /// The markets.
    pub fn markets(&self) -> &Markets {
        self.world.resource::<Markets>()
    }

    /// Opens an account.
    pub fn open_account(&mut self, spec: AccountSpec) -> AccountId {
        self.world.resource_mut::<Ledger>().open(spec)
    }

    /// Opens a position of `qty` lots (signed) for `account` at `entry`,
    /// against the system counterparty that stands for the rest of the
    /// market, with no fee. This is how a run starts with open interest
    /// already in place.
    pub fn seed_position(
        &mut self,
        account: AccountId,
        market: MarketId,
        qty: Lots,
        entry: Price,
    ) -> Result<(), ParamError> {
        if entry.0 <= 0 {
            return Err(ParamError::invalid("entry", format!("{entry} ticks: a price must be positive")));
        }
        let n_markets = self.markets().0.len();
        if market.idx() >= n_markets {
            return Err(ParamError::invalid("market", format!("no market {}", market.0)));
        }
        if qty.0 == 0 {
            return Ok(());
        }
        let side = if qty.0 > 0 { Side::Buy } else { Side::Sell };
        let cp = self.seed_counterparty;
        self.world.resource_scope(|world, mut ledger: Mut<Ledger>| {
            world.resource_scope(|world, mut triggers: Mut<Triggers>| {
                let mut markets = world.resource_mut::<Markets>();
                let terms = terms_of(&markets, market);
                let before = ledger.account(account).qty(market).0.max(0) + ledger.account(cp).qty(market).0.max(0);
                let leg = |side| TradeLeg { side, qty: Lots(qty.0.abs()), price: entry, fee: Micros(0) };
                ledger.apply_trade(account, market, terms, leg(side));
                ledger.apply_trade(cp, market, terms, leg(side.opposite()));
                let after = ledger.account(account).qty(market).0.max(0) + ledger.account(cp).qty(market).0.max(0);
                markets.get_mut(market).open_interest += Lots(after - before);
                triggers.rekey(account, &ledger, &markets);
            });
        });
        Ok(())
    }

    /// Runs one tick.
    pub fn step(&mut self) {
        self.schedule.run(&mut self.world);
        self.world.resource_mut::<Clock>().tick += 1;
    }

    /// Runs `n_ticks` ticks.
    pub fn run(&mut self, n_ticks: u64) {
        for _ in 0..n_ticks {
            self.step();
        }
    }

    /// Total value in the system (see [`Ledger::total_value`]) and what was
    /// put in from outside; equal when value is conserved.
    pub fn value_balance(&self) -> (i128, i128) {
        let markets = self.markets();
        let ledger = self.ledger();
        let terms = |m: MarketId| terms_of(markets, m);
        let price_of = |m: MarketId| markets.get(m).mark;
        (ledger.total_value(&terms, &price_of), i128::from(ledger.external_in.0))
    }

    /// Ends the run and builds its frames.
    pub fn finish(mut self) -> Result<RunOutput, ExportError> {
        let recorder = self.world.remove_resource::<Recorder>().expect("recorder is inserted at build");
        let rejected = self.world.resource::<OrderQueue>().rejected;
        recorder.into_output(self.ledger(), self.markets(), rejected)
    }
}

/// The phase schedule with the framework's own systems.
fn tick_schedule() -> Schedule {
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
    schedule.add_systems(
        (observe, update_maintenance, preview_liquidations).chain().in_set(FrameworkSystems(Phase::Observe)),
    );
    schedule.add_systems(match_orders.in_set(FrameworkSystems(Phase::Match)));
    schedule.add_systems(settle.in_set(FrameworkSystems(Phase::Settle)));
    schedule.add_systems((liquidate, check_breakers).chain().in_set(FrameworkSystems(Phase::Liquidate)));
    schedule.add_systems(record.in_set(FrameworkSystems(Phase::Record)));
    schedule
}

/// Exogenous-phase system: moves every index and clears the tick's flow.
fn advance_index(clock: Res<Clock>, correlation: Res<IndexCorrelation>, mut markets: ResMut<Markets>) {
    // Each market draws from its own stream in market order, then the
    // draws are mixed by the Cholesky factor: with no correlation the
    // sequence is exactly that of independent markets.
    let z: Vec<f64> = markets.0.iter_mut().map(|m| m.index.draw_normal()).collect();
    for (i, m) in markets.0.iter_mut().enumerate() {
        let zi = match &correlation.0 {
            Some(l) => l[i].iter().zip(&z).map(|(a, b)| a * b).sum(),
            None => z[i],
        };
        m.index.advance_with(clock.tick, zi);
        m.flow = Default::default();
    }
}

/// The lower Cholesky factor of the index correlation matrix, if the
/// markets' indices are correlated.
#[derive(Resource, Clone, Debug, Default)]
pub struct IndexCorrelation(pub Option<Vec<Vec<f64>>>);

/// The lower Cholesky factor of `c`, or why `c` is not a correlation
/// matrix (square, symmetric, unit diagonal, positive definite).
pub fn cholesky(c: &[Vec<f64>], n: usize) -> Result<Vec<Vec<f64>>, String> {
    if c.len() != n || c.iter().any(|row| row.len() != n) {
        return Err(format!("must be {n} x {n}, one row and column per market"));
    }
    for (i, row) in c.iter().enumerate() {
        if (row[i] - 1.0).abs() > 1e-12 {
            return Err(format!("diagonal entry [{i}][{i}] must be 1"));
        }
        for (j, x) in row.iter().enumerate() {
            if !(x.is_finite() && (-1.0..=1.0).contains(x)) || (x - c[j][i]).abs() > 1e-12 {
                return Err(format!("entry [{i}][{j}] must be in [-1, 1] and equal to [{j}][{i}]"));
            }
        }
    }
    let mut l = vec![vec![0.0; n]; n];
    for i in 0..n {
        for j in 0..=i {
            let s: f64 = (0..j).map(|k| l[i][k] * l[j][k]).sum();
            if i == j {
                let d = c[i][i] - s;
                if d <= 1e-12 {
                    return Err("must be positive definite".into());
                }
                l[i][j] = d.sqrt();
            } else {
                l[i][j] = (c[i][j] - s) / l[j][j];
            }
        }
    }
    Ok(l)
}

/// Observe-phase system: samples basis and premium, updates the mark so
/// agents see the index move, and refreshes the views.
fn observe(clock: Res<Clock>, mut markets: ResMut<Markets>) {
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
