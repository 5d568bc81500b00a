//! Leveraged traders: the positions whose forced closing is the cascade.
//!
//! # Opening (at install, tick 0)
//!
//! Each trader `i` draws from its own stream: a side (long with probability
//! `long_fraction`), a leverage `ℓ ~ leverage` (rounded, at least 1, capped
//! at the tier's maximum `1e6 / initial_rate`), a size `q ~ size_lots`
//! (lots, rounded, at least 1) and an entry
//! `p₀ = index₀ × (1 + ε), ε ~ entry_offset` (ticks). It deposits the
//! initial margin `⌈q × p₀ × tick_value / ℓ⌉` (micros) and opens `q` lots at
//! `p₀` against the rest of the market. An entry that would already be
//! below maintenance is redrawn (up to 32 times, then `p₀ = index₀`).
//!
//! # Optional behaviours
//!
//! - **Stop-loss** (a share `stop_loss.probability` of traders): a long
//!   stops at `S = ⌊p₀ (1 − d) / R⌋ × R`, a short at `⌈p₀ (1 + d) / R⌉ × R`,
//!   with `d ~ stop_loss.distance` (fraction) and `R = round_to_ticks`: stops
//!   cluster on round-number supports. When the mark crosses `S` the trader
//!   closes with a market order.
//! - **Top-up**: when the mark comes within `within` (fraction) of the
//!   liquidation price `L` (`mark ≤ L (1 + within)` for a long), with
//!   probability `probability` the trader deposits `amount × initial margin`
//!   from a reserve of `reserve × initial margin`. It decides once per
//!   alarm: after a top-up the alarm is set again at the new, farther
//!   liquidation price; after a refusal it is not set again until the
//!   trader's next entry.
//! - **Re-entry**: `delay_ticks` after being liquidated, with probability
//!   `probability`, the trader deposits a fresh initial margin and opens the
//!   same side and size again at market, at most `max_times` times.
//! - **Trend following**: a trader left flat by its stop or by a
//!   liquidation enters with probability
//!   `probability` per tick in the direction of the mark's log return over
//!   `lookback_ticks` when its magnitude exceeds `threshold`.
//!
//! Stops and top-ups are price alarms ([`crate::alarms`]): a tick costs
//! nothing for traders whose levels the price has not crossed.
//!
//! A population with none of these behaviours only holds: its traders never
//! decide, so they are accounts in the ledger (owned by their [`AgentId`]s)
//! and are not spawned as entities. Their draws, accounts and positions are
//! exactly those of spawned traders.
//!
//! [`AgentId`]: cascade_framework::AgentId

use crate::alarms::{AlarmKind, PriceAlarms};
pub use crate::guards::{Guards, Reentry, StopLoss, TopUp, Trend, stop_level, top_up_level};
use crate::kind::PopulationKind;
use crate::leveraged_draw::Terms;
use crate::{
    Agent, Dist, Population, PriceHistory, check_market, check_non_negative, check_probability, install_once,
    open_agent_account, use_price_history,
};
use bevy_ecs::prelude::*;
use cascade_framework::accounts::health::terms_of;
use cascade_framework::accounts::ledger::{Label, Ledger, MarginMode};
use cascade_framework::core::Clock;
use cascade_framework::core::units::{div_ceil, narrow, round_to_i64};
use cascade_framework::exchange::sequencer::{OrderQueue, Priority};
use cascade_framework::market::Markets;
use cascade_framework::market::book::OrderKind;
use cascade_framework::protocol::TickLiquidations;
use cascade_framework::{AccountId, Lots, MarketId, Micros, ParamError, Phase, Price, Side, Simulation};
use rand::RngExt;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

/// A population of leveraged traders.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct LeveragedParams {
    /// Population name.
    pub name: String,
    /// Number of traders.
    pub count: u32,
    /// Number of the first agent: the agents are numbered from it, and each
    /// agent's random stream is keyed by its number. A game sets it so that
    /// a role's players keep their streams whatever strategy they play.
    #[serde(default, skip_serializing_if = "crate::is_zero")]
    pub first_index: u32,
    /// Market traded.
    #[serde(default)]
    pub market: MarketId,
    /// Probability that a trader is long, in [0, 1].
    pub long_fraction: f64,
    /// Leverage (times).
    pub leverage: Dist,
    /// Position size, lots.
    pub size_lots: Dist,
    /// Entry relative to the index, fraction.
    pub entry_offset: Dist,
    /// Margin mode of the accounts.
    #[serde(default)]
    pub margin_mode: MarginMode,
    /// Stop-losses; none when absent.
    #[serde(default)]
    pub stop_loss: Option<StopLoss>,
    /// Top-ups; none when absent.
    #[serde(default)]
    pub top_up: Option<TopUp>,
    /// Re-entry; none when absent.
    #[serde(default)]
    pub reentry: Option<Reentry>,
    /// Trend following; none when absent.
    #[serde(default)]
    pub trend: Option<Trend>,
}

impl Default for LeveragedParams {
    fn default() -> LeveragedParams {
        LeveragedParams::holders(
            "leveraged",
            1_000,
            Dist::Lognormal { median: 20.0, sigma: 0.5 },
            Dist::Lognormal { median: 20.0, sigma: 0.8 },
        )
    }
}

impl LeveragedParams {
    /// Plain leveraged holders with the given leverage and size
    /// distributions: 70% long, entries 0.3% around the index.
    pub fn holders(name: &str, count: u32, leverage: Dist, size_lots: Dist) -> LeveragedParams {
        LeveragedParams {
            name: name.to_owned(),
            count,
            first_index: 0,
            market: MarketId(0),
            long_fraction: 0.7,
            leverage,
            size_lots,
            entry_offset: Dist::Normal { mean: 0.0, stdev: 0.003 },
            margin_mode: MarginMode::Isolated,
            stop_loss: None,
            top_up: None,
            reentry: None,
            trend: None,
        }
    }

    /// Checks the parameters.
    pub fn validate(&self) -> Result<(), ParamError> {
        check_probability("long_fraction", self.long_fraction)?;
        self.leverage.validate("leverage")?;
        self.leverage.check_within("leverage", 1.0, 1_000.0)?;
        self.size_lots.validate("size_lots")?;
        self.entry_offset.validate("entry_offset")?;
        if let Some(s) = &self.stop_loss {
            check_probability("stop_loss.probability", s.probability)?;
            s.distance.validate("stop_loss.distance")?;
            if s.round_to_ticks < 1 {
                return Err(ParamError::invalid("stop_loss.round_to_ticks", "must be at least 1"));
            }
        }
        if let Some(t) = &self.top_up {
            check_non_negative("top_up.within", t.within)?;
            check_probability("top_up.probability", t.probability)?;
            check_non_negative("top_up.amount", t.amount)?;
            check_non_negative("top_up.reserve", t.reserve)?;
        }
        if let Some(r) = &self.reentry {
            check_probability("reentry.probability", r.probability)?;
        }
        if let Some(t) = &self.trend {
            check_probability("trend.probability", t.probability)?;
            check_non_negative("trend.threshold", t.threshold)?;
            if t.lookback_ticks == 0 {
                return Err(ParamError::invalid("trend.lookback_ticks", "must be at least 1"));
            }
        }
        Ok(())
    }
}

/// A leveraged trader's state.
#[derive(Component, Debug)]
pub struct LeveragedTrader {
    /// Long (true) or short.
    pub long: bool,
    /// Leverage, times.
    pub leverage: u32,
    /// Size, lots.
    pub lots: i64,
    /// Initial margin of the first position, micros.
    pub initial_margin: Micros,
    /// Re-entries so far.
    pub reentries: u32,
    /// Stops and top-ups, when the population uses either. Boxed so that
    /// a trader who only holds (most of a large run) carries one pointer.
    pub guards: Option<Box<Guards>>,
    behaviour: Arc<LeveragedParams>,
}

/// The population's shared bookkeeping.
#[derive(Resource, Debug, Default)]
pub struct LeveragedBook {
    alarms: PriceAlarms,
    owners: BTreeMap<AccountId, Entity>,
    reentry_due: BTreeMap<u64, Vec<Entity>>,
    flat_trend: BTreeSet<Entity>,
    rearm: Vec<Entity>,
}

impl PopulationKind for LeveragedParams {
    const KIND: &'static str = "leveraged";
    const ABOUT: &'static str = "Leveraged traders.";

    fn check(&self) -> Result<(), ParamError> {
        self.validate()
    }

    fn count(&self) -> u32 {
        self.count
    }

    fn first_index(&self) -> u32 {
        self.first_index
    }

    fn market(&self) -> u16 {
        self.market.0
    }

    fn orders_per_tick(&self) -> f64 {
        0.0
    }

    fn holds_positions(&self) -> bool {
        true
    }
}

impl Population for LeveragedParams {
    fn name(&self) -> &str {
        &self.name
    }

    fn install(&self, sim: &mut Simulation) -> Result<(), ParamError> {
        self.validate()?;
        check_market(sim, "market", self.market)?;
        use_price_history(sim);
        install_once(sim, "leveraged", |sim| {
            sim.world_mut().init_resource::<LeveragedBook>();
            sim.add_systems(Phase::Decide, decide);
        });
        let behaviour = Arc::new(self.clone());
        let market = self.market;
        let m = sim.markets().get(market);
        let terms = Terms { centre: m.index.price, tick_value: m.params.tick_value, tiers: m.tiers.clone() };
        let seed = sim.seed();
        sim.reserve_accounts(self.count as usize);
        let population = cascade_framework::core::rng::population_id(&self.name);
        // The labels, each looked up once: the population's, and one
        // strategy by leverage.
        let population_label = sim.label(&self.name);
        let mut strategies: BTreeMap<u32, u16> = BTreeMap::new();
        let all = crate::indices(self.first_index, self.count);
        // Each trader's type comes from its own stream alone, so the next
        // batch is drawn on another core while this one is opened.
        let draw = |index| self.draw(seed, population, index, &terms);
        let (decides, guarded) = (self.decides(), self.sets_alarms());
        crate::map_pipelined(all, BATCH, draw, |drawn| {
            let mut positions = Vec::with_capacity(drawn.len());
            let mut traders = Vec::with_capacity(if decides { drawn.len() } else { 0 });
            for d in drawn {
                let strategy = *strategies.entry(d.leverage).or_insert_with(|| sim.label(&format!("{}x", d.leverage)));
                let id = cascade_framework::AgentId { population, index: d.index };
                let (labels, mode) = ((Label::Id(population_label), Label::Id(strategy)), self.margin_mode);
                let account = open_agent_account(sim, id, labels.0, labels.1, mode, d.leverage, d.margin);
                let lots = if d.long { d.lots } else { -d.lots };
                positions.push((account, market, Lots(lots), d.entry));
                if !decides {
                    continue;
                }
                let agent = Agent { id, account, market, rng: d.rng };
                let trader = LeveragedTrader {
                    long: d.long,
                    leverage: d.leverage,
                    lots: d.lots,
                    initial_margin: d.margin,
                    reentries: 0,
                    guards: guarded.then(|| {
                        Box::new(Guards { reserve: d.reserve, stop_distance: d.stop_distance, ..Guards::default() })
                    }),
                    behaviour: behaviour.clone(),
                };
                traders.push((agent, trader));
            }
            self.settle_batch(sim, &positions, traders)
        })
    }
}

/// Traders drawn, seeded and spawned together: large enough to amortise
/// taking the ledger and spawning, small enough that drawing the first
/// batch (which nothing overlaps) is short and the memory held aside is
/// bounded.
const BATCH: u32 = 1 << 13;

impl LeveragedParams {
    /// Whether the traders ever decide (see the module docs): only those
    /// that do are spawned.
    fn decides(&self) -> bool {
        self.sets_alarms() || self.tracks_exits()
    }

    /// Whether the traders set price alarms: only stops and top-ups do.
    fn sets_alarms(&self) -> bool {
        self.stop_loss.is_some() || self.top_up.is_some()
    }

    /// Whether the population acts on its traders' exits (re-entry, trend
    /// following), and so needs each account's owner.
    fn tracks_exits(&self) -> bool {
        self.reentry.is_some() || self.trend.is_some()
    }

    /// Seeds the batch's positions and spawns its traders (none if they
    /// never decide), in order.
    fn settle_batch(
        &self,
        sim: &mut Simulation,
        positions: &[(AccountId, MarketId, Lots, Price)],
        traders: Vec<(Agent, LeveragedTrader)>,
    ) -> Result<(), ParamError> {
        sim.seed_positions(positions)?;
        let entities: Vec<Entity> = sim.world_mut().spawn_batch(traders).collect();
        let mut book = sim.world_mut().resource_mut::<LeveragedBook>();
        for (&(account, ..), &entity) in positions.iter().zip(&entities) {
            if self.tracks_exits() {
                book.owners.insert(account, entity);
            }
            if self.sets_alarms() {
                book.rearm.push(entity);
            }
        }
        Ok(())
    }
}

/// Clears a trader's alarms and sets them again from its current position.
fn arm(
    entity: Entity,
    agent: &Agent,
    trader: &mut LeveragedTrader,
    book: &mut LeveragedBook,
    ledger: &Ledger,
    markets: &Markets,
) {
    let m = agent.market;
    let Some(g) = trader.guards.as_deref_mut() else { return };
    if let Some(s) = g.stop.take() {
        book.alarms.clear(m, s, entity, AlarmKind::StopLoss);
    }
    if let Some(t) = g.top_up_at.take() {
        book.alarms.clear(m, t, entity, AlarmKind::TopUp);
    }
    let acct = ledger.account(agent.account);
    let Some(pos) = acct.position(m) else { return };
    let tick_value = markets.get(m).params.tick_value;
    let long = pos.qty.0 > 0;
    if let (Some(d), Some(s)) = (g.stop_distance, &trader.behaviour.stop_loss) {
        let entry = pos.cost.0 as f64 / (pos.qty.0 as f64 * tick_value.0 as f64);
        let level = stop_level(entry, long, d, s.round_to_ticks);
        if long {
            book.alarms.set_below(m, level, entity, AlarmKind::StopLoss);
        } else {
            book.alarms.set_above(m, level, entity, AlarmKind::StopLoss);
        }
        g.stop = Some(level);
    }
    if let Some(t) = &trader.behaviour.top_up
        && g.reserve.0 > 0
    {
        let terms = |id: MarketId| terms_of(markets, id);
        let price_of = |id: MarketId| markets.get(id).mark;
        if let Some(l) = acct.margin_line(m, &terms, &price_of).and_then(|line| line.liquidation_price()) {
            let level = top_up_level(l, long, t.within);
            if long {
                book.alarms.set_below(m, level, entity, AlarmKind::TopUp);
            } else {
                book.alarms.set_above(m, level, entity, AlarmKind::TopUp);
            }
            g.top_up_at = Some(level);
        }
    }
}

/// Queues a fresh position: deposit the initial margin at the current mark
/// (plus 2% for slippage), then buy or sell `lots` at market.
fn enter(agent: &Agent, trader: &LeveragedTrader, long: bool, markets: &Markets, queue: &mut OrderQueue) {
    let m = markets.get(agent.market);
    let notional = m.notional(Lots(trader.lots), m.mark);
    let fee = cascade_framework::exchange::fee(notional, m.params.fees.taker);
    let margin = div_ceil(i128::from(notional.0) * 102, 100 * i128::from(trader.leverage));
    let initial = i128::from(m.tiers.initial(notional).0) * 102 / 100;
    queue.deposit(Priority::NORMAL, agent.account, agent.market, Micros(narrow(margin.max(initial)) + fee.0));
    let side = if long { Side::Buy } else { Side::Sell };
    queue.place(Priority::NORMAL, agent.account, agent.market, side, Lots(trader.lots), OrderKind::Market);
}

/// Decide-phase system of every leveraged population.
#[allow(clippy::too_many_arguments, reason = "a system's parameters are its resource accesses")]
fn decide(
    clock: Res<Clock>,
    markets: Res<Markets>,
    ledger: Res<Ledger>,
    liquidations: Res<TickLiquidations>,
    history: Res<PriceHistory>,
    mut queue: ResMut<OrderQueue>,
    mut book: ResMut<LeveragedBook>,
    mut traders: Query<(&mut Agent, &mut LeveragedTrader)>,
) {
    let book = &mut *book;
    // Alarms set at install or after last tick's entries and top-ups.
    for entity in std::mem::take(&mut book.rearm) {
        if let Ok((agent, mut trader)) = traders.get_mut(entity) {
            arm(entity, &agent, &mut trader, book, &ledger, &markets);
        }
    }
    // Last tick's liquidations: schedule re-entries, note who is flat.
    for ev in &liquidations.events {
        let Some(&entity) = book.owners.get(&ev.account) else { continue };
        let Ok((agent, mut trader)) = traders.get_mut(entity) else { continue };
        if ledger.account(agent.account).position(agent.market).is_some() {
            continue;
        }
        if let Some(g) = trader.guards.as_deref_mut() {
            for (level, kind) in [(g.stop.take(), AlarmKind::StopLoss), (g.top_up_at.take(), AlarmKind::TopUp)] {
                if let Some(level) = level {
                    book.alarms.clear(agent.market, level, entity, kind);
                }
            }
        }
        let b = trader.behaviour.clone();
        if let Some(r) = &b.reentry
            && trader.reentries < r.max_times
        {
            book.reentry_due.entry(clock.tick.saturating_add(r.delay_ticks.max(1))).or_default().push(entity);
        }
        if b.trend.is_some() {
            book.flat_trend.insert(entity);
        }
    }
    for m in &markets.0 {
        for (_, entity, kind) in book.alarms.fire(m.id, m.mark) {
            let Ok((mut agent, mut trader)) = traders.get_mut(entity) else { continue };
            let qty = ledger.account(agent.account).qty(agent.market);
            if qty.0 == 0 {
                continue;
            }
            let trader = &mut *trader;
            let g = trader.guards.as_deref_mut().expect("only traders with guards set alarms");
            match kind {
                AlarmKind::StopLoss => {
                    g.stop = None;
                    let side = if qty.0 > 0 { Side::Sell } else { Side::Buy };
                    queue.place(
                        Priority::NORMAL,
                        agent.account,
                        agent.market,
                        side,
                        Lots(qty.0.abs()),
                        OrderKind::Market,
                    );
                    if trader.behaviour.trend.is_some() {
                        book.flat_trend.insert(entity);
                    }
                }
                AlarmKind::TopUp => {
                    g.top_up_at = None;
                    let t = trader.behaviour.top_up.clone().expect("only armed with a top-up rule");
                    // One decision per alarm: a trader who declines stays
                    // unarmed until its next entry; one who tops up is
                    // armed again at its new, farther liquidation price.
                    if agent.rng.random_bool(t.probability) {
                        let amount = Micros(round_to_i64(t.amount * trader.initial_margin.0 as f64).min(g.reserve.0));
                        if amount.0 > 0 {
                            g.reserve -= amount;
                            queue.deposit(Priority::NORMAL, agent.account, agent.market, amount);
                            book.rearm.push(entity);
                        }
                    }
                }
            }
        }
    }
    // Re-entries due now.
    let due = book.reentry_due.remove(&clock.tick).unwrap_or_default();
    for entity in due {
        let Ok((mut agent, mut trader)) = traders.get_mut(entity) else { continue };
        let r = trader.behaviour.reentry.clone().expect("only scheduled with a re-entry rule");
        if ledger.account(agent.account).position(agent.market).is_some() {
            continue;
        }
        if agent.rng.random_bool(r.probability) {
            trader.reentries += 1;
            enter(&agent, &trader, trader.long, &markets, &mut queue);
            book.flat_trend.remove(&entity);
            book.rearm.push(entity);
        } else if trader.reentries < r.max_times {
            book.reentry_due.entry(clock.tick.saturating_add(r.delay_ticks.max(1))).or_default().push(entity);
        }
    }
    // Flat trend followers.
    if !book.flat_trend.is_empty() {
        let flat: Vec<Entity> = book.flat_trend.iter().copied().collect();
        for entity in flat {
            let Ok((mut agent, trader)) = traders.get_mut(entity) else { continue };
            let t = trader.behaviour.trend.clone().expect("only listed with a trend rule");
            let Some(ret) = history.log_return(agent.market, t.lookback_ticks as usize) else { continue };
            if ret.abs() <= t.threshold || !agent.rng.random_bool(t.probability) {
                continue;
            }
            enter(&agent, &trader, ret > 0.0, &markets, &mut queue);
            book.flat_trend.remove(&entity);
            book.rearm.push(entity);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use cascade_framework::presets::flash_crash;

    #[test]
    fn only_traders_that_decide_are_spawned() {
        // A holding population is accounts and positions only; with stops
        // its traders are entities. Both seed the same positions.
        let accounts_and_entities = |stop_loss: Option<StopLoss>| {
            let mut sim = Simulation::new(flash_crash(1)).unwrap();
            let mut p = LeveragedParams::holders("many", 500, Dist::fixed(20.0), Dist::fixed(10.0));
            p.stop_loss = stop_loss;
            p.install(&mut sim).unwrap();
            let traders = sim.world_mut().query::<&LeveragedTrader>().iter(sim.world()).count();
            let positions: Vec<(Option<cascade_framework::AgentId>, i64, i64)> = sim
                .ledger()
                .accounts
                .iter()
                .filter(|a| a.owner.is_some())
                .map(|a| (a.owner, a.qty(MarketId(0)).0, a.position(MarketId(0)).map_or(0, |p| p.cost.0)))
                .collect();
            (positions, traders)
        };
        let (held, none) = accounts_and_entities(None);
        let never = StopLoss { probability: 0.0, distance: Dist::fixed(0.05), round_to_ticks: 1 };
        let (stopped, spawned) = accounts_and_entities(Some(never));
        assert_eq!((held.len(), none, spawned), (500, 0, 500));
        assert_eq!(held, stopped);
    }

    #[test]
    fn stops_sit_on_round_numbers_away_from_the_price() {
        // Long from 61,234.5 quote (612,345 ticks), 2% stop, supports every
        // 500 quote (5,000 ticks): 600,098 rounds down to 600,000.
        assert_eq!(stop_level(612_345.0, true, 0.02, 5_000), Price(600_000));
        // Short: 624,592 rounds up to 625,000.
        assert_eq!(stop_level(612_345.0, false, 0.02, 5_000), Price(625_000));
        assert_eq!(top_up_level(Price(590_000), true, 0.01), Price(595_900));
        assert_eq!(top_up_level(Price(610_000), false, 0.01), Price(603_900));
    }

    fn one_long(top_up: Option<TopUp>, stop_loss: Option<StopLoss>) -> (Simulation, AccountId) {
        let mut sim = Simulation::new(flash_crash(1)).unwrap();
        let mut p = LeveragedParams::holders("solo", 1, Dist::fixed(20.0), Dist::fixed(100.0));
        p.long_fraction = 1.0;
        p.entry_offset = Dist::fixed(0.0);
        p.top_up = top_up;
        p.stop_loss = stop_loss;
        p.install(&mut sim).unwrap();
        let account = sim.ledger().accounts.iter().position(|a| a.owner.is_some()).unwrap();
        (sim, AccountId(u32::try_from(account).unwrap()))
    }

    #[test]
    fn a_top_up_moves_the_liquidation_away_and_a_stop_closes_first() {
        // 20x long from 60,000: liquidated about 4.6% down, inside the
        // preset's 8% crash from tick 200.
        let (mut plain, a) = one_long(None, None);
        plain.run(260);
        assert!(plain.ledger().account(a).liquidated_at().is_some());

        let top_up = TopUp { within: 0.01, probability: 1.0, amount: 1.0, reserve: 3.0 };
        let (mut topped, a) = one_long(Some(top_up), None);
        topped.run(260);
        let acct = topped.ledger().account(a);
        assert_eq!(acct.liquidated_at(), None, "three margins of top-up carry a 20x long through 8%");
        assert!(acct.deposited.0 > 2 * acct.positions[0].margin.0 / 3);

        let stop = StopLoss { probability: 1.0, distance: Dist::fixed(0.02), round_to_ticks: 5_000 };
        let (mut stopped, a) = one_long(None, Some(stop));
        stopped.run(260);
        let acct = stopped.ledger().account(a);
        assert_eq!(acct.liquidated_at(), None, "the stop at 585,000 closes before liquidation");
        assert!(acct.positions.is_empty());
    }
}
