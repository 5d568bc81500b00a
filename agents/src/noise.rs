//! Noise traders: uninformed market orders.
//!
//! Each tick a noise trader submits `N ~ Poisson(rate)` market orders, each
//! on a side drawn with equal probability and of size
//! `q = max(1, round(exp(N(ln size_median, size_sigma²))))` lots. Under
//! cross margin with `capital` collateral; the exchange rejects orders it
//! cannot margin.

use crate::kind::PopulationKind;
use crate::{Agent, Population, check_market, check_non_negative, install_once, spawn_agent};
use bevy_ecs::prelude::*;
use cascade_framework::accounts::ledger::MarginMode;
use cascade_framework::core::units::round_to_i64;
use cascade_framework::exchange::sequencer::{OrderQueue, Priority};
use cascade_framework::market::book::OrderKind;
use cascade_framework::{Lots, MarketId, Micros, ParamError, Phase, Side, Simulation};
use rand::RngExt;
use rand_distr::{Distribution, LogNormal, Poisson};
use serde::{Deserialize, Serialize};

/// A population of noise traders.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct NoiseParams {
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
    /// Collateral of each trader, micros.
    pub capital: Micros,
    /// Expected orders per tick per trader.
    pub rate: f64,
    /// Median order size, lots.
    pub size_median: f64,
    /// Standard deviation of the log order size.
    pub size_sigma: f64,
}

impl Default for NoiseParams {
    fn default() -> NoiseParams {
        NoiseParams {
            name: "noise".into(),
            count: 100,
            first_index: 0,
            market: MarketId(0),
            capital: Micros(100_000_000_000),
            rate: 0.1,
            size_median: 5.0,
            size_sigma: 0.7,
        }
    }
}

impl NoiseParams {
    /// Checks the parameters.
    pub fn validate(&self) -> Result<(), ParamError> {
        check_non_negative("rate", self.rate)?;
        if self.rate > 100.0 {
            return Err(ParamError::invalid("rate", "at most 100 orders per tick per trader"));
        }
        check_non_negative("size_sigma", self.size_sigma)?;
        if !(self.size_median.is_finite() && self.size_median > 0.0) {
            return Err(ParamError::invalid("size_median", "must be positive"));
        }
        if self.capital.0 < 0 {
            return Err(ParamError::invalid("capital", "must be non-negative"));
        }
        Ok(())
    }
}

/// A noise trader.
#[derive(Component, Debug)]
pub struct NoiseTrader {
    arrivals: Option<Poisson<f64>>,
    size: LogNormal<f64>,
}

impl PopulationKind for NoiseParams {
    const KIND: &'static str = "noise";
    const ABOUT: &'static str = "Noise traders.";

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

    fn capital(&self) -> i64 {
        self.capital.0
    }

    fn orders_per_tick(&self) -> f64 {
        f64::from(self.count) * self.rate
    }
}

impl Population for NoiseParams {
    fn name(&self) -> &str {
        &self.name
    }

    fn install(&self, sim: &mut Simulation) -> Result<(), ParamError> {
        self.validate()?;
        check_market(sim, "market", self.market)?;
        install_once(sim, "noise", |sim| {
            sim.add_systems(Phase::Decide, decide);
        });
        let size = LogNormal::new(self.size_median.ln(), self.size_sigma)
            .map_err(|e| ParamError::invalid("size_sigma", e.to_string()))?;
        for index in crate::indices(self.first_index, self.count) {
            let agent = spawn_agent(sim, &self.name, "noise", index, self.market, MarginMode::Cross, 1, self.capital);
            let arrivals = (self.rate > 0.0).then(|| Poisson::new(self.rate).expect("positive rate"));
            sim.world_mut().spawn((agent, NoiseTrader { arrivals, size }));
        }
        Ok(())
    }
}

fn decide(mut queue: ResMut<OrderQueue>, mut traders: Query<(&mut Agent, &NoiseTrader)>) {
    for (mut agent, t) in &mut traders {
        let Some(arrivals) = &t.arrivals else { continue };
        let n = round_to_i64(arrivals.sample(&mut agent.rng));
        for _ in 0..n {
            let side = if agent.rng.random_bool(0.5) { Side::Buy } else { Side::Sell };
            let lots = round_to_i64(t.size.sample(&mut agent.rng)).max(1);
            queue.place(Priority::NORMAL, agent.account, agent.market, side, Lots(lots), OrderKind::Market);
        }
    }
}
