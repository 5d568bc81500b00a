//! The simulation: the bevy_ecs `World` and its phase schedule, built from
//! [`SimParams`], stepped tick by tick, and finished into frames.

use crate::accounts::health::terms_of;
use crate::accounts::ledger::{AccountKind, AccountSpec, Ledger, MarginMode, TradeLeg};
use crate::accounts::triggers::Triggers;
use crate::core::clock::Clock;
use crate::core::error::{ExportError, ParamError, RunError};
use crate::core::rng::{RunSeed, StreamKey};
use crate::core::units::{AccountId, Lots, MarketId, Micros, Price, Side, catch_overflow};
use crate::engine::params::SimParams;
use crate::engine::schedule::{FrameworkSystems, Phase, Slot, tick_schedule};
use crate::exchange::liquidity::{Liquidity, lay_depth};
use crate::exchange::sequencer::OrderQueue;
use crate::market::amm::Pool;
use crate::market::correlation::{IndexCorrelation, cholesky};
use crate::market::perp::AmmVenue;
use crate::market::{Market, Markets};
use crate::protocol::{self, Mechanism, Mechanisms};
use crate::record::{Recorder, RunOutput};
use bevy_ecs::prelude::*;

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
            // A pool's provider is the pool: its balances are the reserves.
            let amm = mp.spot.as_ref().and_then(|s| s.amm.as_ref());
            let (population, strategy, collateral) = match amm {
                Some(a) => ("amm_pool", "constant_product", a.quote_reserve),
                None => ("background_liquidity", "depth_profile", mp.depth.provider_collateral),
            };
            let provider = ledger.open(AccountSpec {
                kind: AccountKind::System,
                mode: MarginMode::Cross,
                owner: None,
                population: population.into(),
                strategy: strategy.into(),
                leverage: 1,
                collateral,
            });
            providers.push(provider);
            let mut market = Market::new(id, mp.clone(), tiers, params.tick_seconds, seed.stream(StreamKey::Index(id)));
            if let Some(spot) = &mp.spot {
                let asset = ledger.asset(&spot.base);
                market.asset = Some(asset);
                ledger.deposit_base(provider, asset, amm.map_or(spot.provider_base, |a| a.base_reserve));
                if let Some(a) = amm {
                    let pool = Pool { base: a.base_reserve, quote: a.quote_reserve, fee: a.fee };
                    market.amm = Some(AmmVenue { pool, account: provider });
                }
            }
            markets.0.push(market);
        }
        // Oracles read the spot venues they name.
        for i in 0..markets.0.len() {
            if let Some(op) = markets.0[i].params.oracle.clone() {
                let venues = op.venues.iter().map(|v| markets.named(v).expect("validated venue")).collect();
                let m = &mut markets.0[i];
                m.index.oracle = true;
                m.oracle = Some(crate::market::oracle::Oracle::new(op, venues, m.index.price));
            }
        }
        // Markets that follow another's fundamental start from it.
        for i in 0..markets.0.len() {
            if let Some(name) = markets.0[i].index.followed().map(str::to_owned) {
                let src = markets.named(&name).expect("validated: the followed market exists");
                let fundamental = markets.get(src).index.fundamental;
                let m = &mut markets.0[i];
                m.follows = Some(src);
                m.index.follow(fundamental);
                m.mark = m.index.price;
            }
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
        let mut world = World::new();
        protocol::install(&params.protocol, &mut ledger, &mut world);
        let max_scale = params.protocol.dynamic_maintenance.as_ref().map_or(1.0, |d| d.max_multiplier);
        let mut triggers = Triggers::new(&buckets, max_scale);
        let mut queue = OrderQueue::new(seed.stream(StreamKey::Sequencer));
        let mut anchors = Vec::with_capacity(providers.len());
        for (i, provider) in providers.iter().enumerate() {
            let id = MarketId(u16::try_from(i).expect("validated market count"));
            let centre = markets.get(id).index.price;
            anchors.push(lay_depth(id, *provider, centre, &mut markets, &mut ledger, &mut triggers, &mut queue));
            markets.get_mut(id).flow = Default::default();
            markets.get_mut(id).refresh_view();
        }
        world.insert_resource(Clock { tick: 0, tick_seconds: params.tick_seconds });
        world.insert_resource(seed);
        world.insert_resource(markets);
        world.insert_resource(ledger);
        world.insert_resource(triggers);
        world.insert_resource(queue);
        world.insert_resource(Liquidity::new(providers, anchors));
        let factor = params.index_correlation.as_ref().map(|c| cholesky(c, params.markets.len()).expect("validated"));
        world.insert_resource(IndexCorrelation(factor));
        let fund = world.resource::<Ledger>().insurance_fund;
        let recorder = Recorder::new(&params.recording, world.resource::<Markets>(), fund);
        world.insert_resource(recorder);
        world.insert_resource(crate::record::FloorCapital::default());
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

    /// Installs a liquidation mechanism after the built-in ones and those
    /// added before: the round loop asks its hooks after theirs (see
    /// [`crate::protocol::hooks`]).
    pub fn add_mechanism(&mut self, mechanism: impl Mechanism) -> &mut Self {
        self.world.resource_mut::<Mechanisms>().push(mechanism);
        self
    }

    /// The installed liquidation mechanisms, in the order their hooks are
    /// asked.
    pub fn mechanisms(&self) -> Vec<&'static str> {
        self.world.resource::<Mechanisms>().names()
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

    /// Makes room for `additional` more accounts in the ledger and the
    /// trigger index, so that a population opening many accounts at once
    /// does not move (copy and fault in again) the ones already open.
    pub fn reserve_accounts(&mut self, additional: usize) {
        let total = self.ledger().accounts.len() + additional;
        self.world.resource_mut::<Ledger>().reserve(additional);
        self.world.resource_mut::<Triggers>().reserve(total);
    }

    /// The number of a population or strategy name (see [`Ledger::label`]).
    pub fn label(&mut self, name: &str) -> u16 {
        self.world.resource_mut::<Ledger>().label(name)
    }

    /// Opens an account.
    pub fn open_account(&mut self, spec: AccountSpec<'_>) -> AccountId {
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
        self.seed_positions(&[(account, market, qty, entry)])
    }

    /// [`Simulation::seed_position`] for many positions at once, in order:
    /// the same result, with the ledger, markets and trigger index taken
    /// once.
    pub fn seed_positions(&mut self, positions: &[(AccountId, MarketId, Lots, Price)]) -> Result<(), ParamError> {
        let n_markets = self.markets().0.len();
        for &(_, market, _, entry) in positions {
            if entry.0 <= 0 {
                return Err(ParamError::invalid("entry", format!("{entry} ticks: a price must be positive")));
            }
            if market.idx() >= n_markets {
                return Err(ParamError::invalid("market", format!("no market {}", market.0)));
            }
            if self.markets().get(market).is_spot() {
                return Err(ParamError::invalid(
                    "market",
                    "a spot market has no positions; deposit base units instead",
                ));
            }
        }
        let cp = self.seed_counterparty;
        self.world.resource_scope(|world, mut ledger: Mut<Ledger>| {
            world.resource_scope(|world, mut triggers: Mut<Triggers>| {
                let mut markets = world.resource_mut::<Markets>();
                for &(account, market, qty, entry) in positions.iter().filter(|p| p.2.0 != 0) {
                    let side = if qty.0 > 0 { Side::Buy } else { Side::Sell };
                    let terms = terms_of(&markets, market);
                    let before = ledger.account(account).qty(market).0.max(0) + ledger.account(cp).qty(market).0.max(0);
                    let leg = |side| TradeLeg { side, qty: Lots(qty.0.abs()), price: entry, fee: Micros(0) };
                    ledger.apply_trade(account, market, terms, leg(side));
                    ledger.apply_trade(cp, market, terms, leg(side.opposite()));
                    let after = ledger.account(account).qty(market).0.max(0) + ledger.account(cp).qty(market).0.max(0);
                    markets.get_mut(market).open_interest += Lots(after - before);
                }
                let accounts: Vec<AccountId> = positions.iter().filter(|p| p.2.0 != 0).map(|p| p.0).collect();
                triggers.rekey_many(&accounts, &ledger, &markets);
            });
        });
        Ok(())
    }

    /// Puts the positions seeded so far into the trigger index (each tick
    /// does it first anyway): a builder calls it last, so that the index of
    /// a million seeded positions is set-up work, not the first tick's.
    pub fn index_seeded(&mut self) {
        self.world.resource_mut::<Triggers>().flush();
    }

    /// Runs one tick.
    pub fn step(&mut self) {
        self.world.resource_mut::<Triggers>().flush();
        self.schedule.run(&mut self.world);
        self.world.resource_mut::<Clock>().tick += 1;
    }

    /// Runs `n_ticks` ticks. An amount that leaves the `i64` range panics
    /// (see [`Simulation::try_run`] for an error instead).
    pub fn run(&mut self, n_ticks: u64) {
        for _ in 0..n_ticks {
            self.step();
        }
    }

    /// Runs `n_ticks` ticks, or stops at the first tick in which an exact
    /// amount would leave the `i64` range, naming the quantity and the tick.
    /// The simulation must not be stepped again after an error.
    pub fn try_run(&mut self, n_ticks: u64) -> Result<(), RunError> {
        for _ in 0..n_ticks {
            let tick = self.world.resource::<Clock>().tick;
            catch_overflow(|| self.step()).map_err(|overflow| RunError { tick, overflow })?;
        }
        Ok(())
    }

    /// Deposits `units` of the base asset of spot market `market` into
    /// `account` from outside.
    pub fn deposit_base(&mut self, account: AccountId, market: MarketId, units: Lots) -> Result<(), ParamError> {
        let n_markets = self.markets().0.len();
        let asset = (market.idx() < n_markets).then(|| self.markets().get(market).asset).flatten();
        let Some(asset) = asset else {
            return Err(ParamError::invalid("market", format!("market {} is not a spot market", market.0)));
        };
        if units.0 < 0 {
            return Err(ParamError::invalid("units", "a deposit must be non-negative"));
        }
        self.world.resource_mut::<Ledger>().deposit_base(account, asset, units);
        Ok(())
    }

    /// Per spot asset: base units held and put in (see
    /// [`Ledger::base_balances`]); equal when each asset is conserved.
    pub fn base_balances(&self) -> Vec<(i128, i128)> {
        self.ledger().base_balances().into_iter().map(|(_, held, put_in)| (held, put_in)).collect()
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
    pub fn finish(self) -> Result<RunOutput, ExportError> {
        self.finish_with(&crate::record::FrameKind::ALL)
    }

    /// [`Simulation::finish`], building only the frames in `wanted` (the
    /// others are left empty, and not written); the summary is whole.
    pub fn finish_with(mut self, wanted: &[crate::record::FrameKind]) -> Result<RunOutput, ExportError> {
        let recorder = self.world.remove_resource::<Recorder>().expect("recorder is inserted at build");
        // The frames do not read the trigger index: it goes before they are
        // built, so that a large run does not hold both at once.
        drop(self.world.remove_resource::<Triggers>());
        let rejected = self.world.resource::<OrderQueue>().rejected;
        let capital = self.world.resource::<crate::record::FloorCapital>();
        let mut output = recorder.into_output(self.ledger(), self.markets(), rejected, capital, wanted)?;
        if let Some(log) = self.world.get_resource::<crate::record::ExecutionLog>()
            && wanted.contains(&crate::record::FrameKind::Executions)
        {
            output.executions = log.frame()?;
        }
        Ok(output)
    }
}
