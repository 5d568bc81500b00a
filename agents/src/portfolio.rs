//! Portfolio traders: one cross-margin account holding leveraged positions
//! in several markets at once, the channel of contagion between markets.
//!
//! At install each trader `i` draws, from its own stream, a leverage
//! `ℓ ~ leverage` (rounded, at least 1) and, for each leg `k` in order, a
//! side (long with probability `long_fraction`) and a size
//! `q_k ~ size_lots` (lots, rounded, at least 1). It opens every leg at its
//! market's index price `p_k` against the rest of the market, with
//! collateral
//!
//! ```text
//! C = max(⌈Σ_k q_k p_k v_k / ℓ⌉, Σ_k IM_k(q_k p_k v_k))
//! ```
//!
//! (`v_k` the tick value, `IM_k` the market's initial margin), so the
//! tiers' initial rates cap the leverage. The positions share the one
//! margin: a loss in one market eats the margin of all, and a liquidation
//! closes every leg, selling (or buying) in markets that did not move.
//! Portfolio traders then hold; they do not trade again.

use crate::kind::PopulationKind;
use crate::{Dist, Population, check_market, check_probability, spawn_agent};
use cascade_framework::accounts::ledger::MarginMode;
use cascade_framework::core::units::{div_ceil, narrow, round_to_i64};
use cascade_framework::{Lots, MarketId, Micros, ParamError, Simulation};
use rand::RngExt;
use serde::{Deserialize, Serialize};

/// One market of a portfolio.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct Leg {
    /// The market.
    pub market: MarketId,
    /// Probability that the leg is long, in [0, 1].
    pub long_fraction: f64,
    /// Size, lots.
    pub size_lots: Dist,
}

impl Default for Leg {
    fn default() -> Leg {
        Leg { market: MarketId(0), long_fraction: 0.7, size_lots: Dist::Lognormal { median: 20.0, sigma: 0.8 } }
    }
}

/// A population of portfolio traders.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct PortfolioParams {
    /// Population name.
    pub name: String,
    /// Number of traders.
    pub count: u32,
    /// Number of the first agent: the agents are numbered from it, and each
    /// agent's random stream is keyed by its number. A game sets it so that
    /// a role's players keep their streams whatever strategy they play.
    #[serde(default, skip_serializing_if = "crate::is_zero")]
    pub first_index: u32,
    /// Account leverage: total notional over collateral.
    pub leverage: Dist,
    /// The legs, one per market.
    pub legs: Vec<Leg>,
}

impl Default for PortfolioParams {
    fn default() -> PortfolioParams {
        PortfolioParams {
            name: "portfolios".into(),
            count: 1_000,
            first_index: 0,
            leverage: Dist::Uniform { low: 5.0, high: 30.0 },
            legs: vec![Leg::default(), Leg { market: MarketId(1), ..Leg::default() }],
        }
    }
}

impl PortfolioParams {
    /// Checks the parameters.
    pub fn validate(&self) -> Result<(), ParamError> {
        self.leverage.validate("leverage")?;
        self.leverage.check_within("leverage", 1.0, 1_000.0)?;
        if self.legs.is_empty() {
            return Err(ParamError::invalid("legs", "a portfolio needs at least one leg"));
        }
        for (k, leg) in self.legs.iter().enumerate() {
            check_probability(&format!("legs[{k}].long_fraction"), leg.long_fraction)?;
            leg.size_lots.validate(&format!("legs[{k}].size_lots"))?;
            if self.legs[..k].iter().any(|l| l.market == leg.market) {
                return Err(ParamError::invalid(format!("legs[{k}].market"), "each market at most once"));
            }
        }
        Ok(())
    }
}

impl PopulationKind for PortfolioParams {
    const KIND: &'static str = "portfolio";
    const ABOUT: &'static str = "Cross-margin traders holding positions in several markets.";

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
        // Every leg's market is checked at install.
        self.legs.iter().map(|l| l.market.0).max().unwrap_or(0)
    }

    fn orders_per_tick(&self) -> f64 {
        0.0
    }

    fn holds_positions(&self) -> bool {
        true
    }
}

impl Population for PortfolioParams {
    fn name(&self) -> &str {
        &self.name
    }

    fn install(&self, sim: &mut Simulation) -> Result<(), ParamError> {
        self.validate()?;
        for (k, leg) in self.legs.iter().enumerate() {
            check_market(sim, &format!("legs[{k}].market"), leg.market)?;
        }
        for index in crate::indices(self.first_index, self.count) {
            let id = cascade_framework::AgentId {
                population: cascade_framework::core::rng::population_id(&self.name),
                index,
            };
            let mut rng = sim.seed().stream(cascade_framework::core::rng::StreamKey::Agent(id));
            let leverage = round_to_i64(self.leverage.sample(&mut rng)).clamp(1, 1_000);
            let mut legs = Vec::with_capacity(self.legs.len());
            let (mut notional, mut initial) = (0_i128, 0_i128);
            for leg in &self.legs {
                let long = rng.random_bool(leg.long_fraction);
                let lots = round_to_i64(leg.size_lots.sample(&mut rng)).max(1);
                let m = sim.markets().get(leg.market);
                let (price, n) = (m.index.price, m.notional(Lots(lots), m.index.price));
                notional += i128::from(n.0);
                initial += i128::from(m.tiers.initial(n).0);
                legs.push((leg.market, Lots(if long { lots } else { -lots }), price));
            }
            let collateral = Micros(narrow(div_ceil(notional, i128::from(leverage)).max(initial)));
            let leverage = u32::try_from(leverage).expect("clamped to 1..=1000");
            let mut agent = spawn_agent(
                sim,
                &self.name,
                &format!("{leverage}x"),
                index,
                self.legs[0].market,
                MarginMode::Cross,
                leverage,
                collateral,
            );
            agent.rng = sim.seed().agent_stream_at(id, &rng);
            for (market, qty, price) in legs {
                sim.seed_position(agent.account, market, qty, price)?;
            }
            sim.world_mut().spawn(agent);
        }
        Ok(())
    }
}
