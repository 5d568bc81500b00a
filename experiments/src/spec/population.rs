//! A population entry of the file (`- kind: ...`): its kind's parameters,
//! and the facts about it that the experiment's checks and the budget
//! need: its agents, their numbers, market, capital and base inventory.

use cascade_agents::Population;
use cascade_agents::arbitrageur::ArbitrageurParams;
use cascade_agents::execution::ExecutionParams;
use cascade_agents::framework::ParamError;
use cascade_agents::fund::{DemandNoiseParams, FundParams};
use cascade_agents::fundamental::FundamentalParams;
use cascade_agents::keeper::KeeperParams;
use cascade_agents::leveraged::LeveragedParams;
use cascade_agents::maker::MakerParams;
use cascade_agents::noise::NoiseParams;
use cascade_agents::portfolio::PortfolioParams;
use cascade_agents::predator::PredatorParams;
use cascade_agents::strategic::StrategicParams;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// A population, by `kind`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum PopulationSpec {
    /// Leveraged traders.
    Leveraged(LeveragedParams),
    /// Market makers.
    MarketMaker(MakerParams),
    /// Front-running or hunting predators.
    Predator(PredatorParams),
    /// Noise traders.
    Noise(NoiseParams),
    /// Fundamental (value) traders.
    Fundamental(FundamentalParams),
    /// Keepers bidding in the protocol's Dutch auctions.
    Keeper(KeeperParams),
    /// Cross-margin traders holding positions in several markets.
    Portfolio(PortfolioParams),
    /// Basis arbitrageurs between a perpetual and a spot venue.
    Arbitrageur(ArbitrageurParams),
    /// Strategic predators who share the forced flow (Brunnermeier and
    /// Pedersen 2005).
    StrategicPredator(StrategicParams),
    /// Execution agents working a parent order in child orders.
    Execution(ExecutionParams),
    /// Leverage-targeting funds (Thurner, Farmer and Geanakoplos 2012).
    LeverageFund(FundParams),
    /// Noise traders with AR(1) demand (the noise traders of Thurner,
    /// Farmer and Geanakoplos 2012).
    DemandNoise(DemandNoiseParams),
}

impl PopulationSpec {
    /// The population as something to install.
    pub fn population(&self) -> &dyn Population {
        match self {
            PopulationSpec::Leveraged(p) => p,
            PopulationSpec::MarketMaker(p) => p,
            PopulationSpec::Predator(p) => p,
            PopulationSpec::Noise(p) => p,
            PopulationSpec::Fundamental(p) => p,
            PopulationSpec::Keeper(p) => p,
            PopulationSpec::Portfolio(p) => p,
            PopulationSpec::Arbitrageur(p) => p,
            PopulationSpec::StrategicPredator(p) => p,
            PopulationSpec::Execution(p) => p,
            PopulationSpec::LeverageFund(p) => p,
            PopulationSpec::DemandNoise(p) => p,
        }
    }

    /// Checks the parameters that can be checked without a simulation.
    pub fn validate(&self) -> Result<(), ParamError> {
        match self {
            PopulationSpec::Leveraged(p) => p.validate(),
            PopulationSpec::MarketMaker(p) => p.validate(),
            PopulationSpec::Predator(p) => p.validate(),
            PopulationSpec::Noise(p) => p.validate(),
            PopulationSpec::Fundamental(p) => p.validate(),
            PopulationSpec::Keeper(p) => p.validate(),
            PopulationSpec::Portfolio(p) => p.validate(),
            PopulationSpec::Arbitrageur(p) => p.validate(),
            PopulationSpec::StrategicPredator(p) => p.validate(),
            PopulationSpec::Execution(p) => p.validate(),
            PopulationSpec::LeverageFund(p) => p.validate(),
            PopulationSpec::DemandNoise(p) => p.validate(),
        }
    }

    /// The number of agents.
    pub fn count(&self) -> u32 {
        match self {
            PopulationSpec::Leveraged(p) => p.count,
            PopulationSpec::MarketMaker(p) => p.count,
            PopulationSpec::Predator(p) => p.count,
            PopulationSpec::Noise(p) => p.count,
            PopulationSpec::Fundamental(p) => p.count,
            PopulationSpec::Keeper(p) => p.count,
            PopulationSpec::Portfolio(p) => p.count,
            PopulationSpec::Arbitrageur(p) => p.count,
            PopulationSpec::StrategicPredator(p) => p.count,
            PopulationSpec::Execution(p) => p.count,
            PopulationSpec::LeverageFund(p) => p.count,
            PopulationSpec::DemandNoise(p) => p.count,
        }
    }

    /// The number of the first agent.
    pub fn first_index(&self) -> u32 {
        match self {
            PopulationSpec::Leveraged(p) => p.first_index,
            PopulationSpec::MarketMaker(p) => p.first_index,
            PopulationSpec::Predator(p) => p.first_index,
            PopulationSpec::Noise(p) => p.first_index,
            PopulationSpec::Fundamental(p) => p.first_index,
            PopulationSpec::Keeper(p) => p.first_index,
            PopulationSpec::Portfolio(p) => p.first_index,
            PopulationSpec::Arbitrageur(p) => p.first_index,
            PopulationSpec::StrategicPredator(p) => p.first_index,
            PopulationSpec::Execution(p) => p.first_index,
            PopulationSpec::LeverageFund(p) => p.first_index,
            PopulationSpec::DemandNoise(p) => p.first_index,
        }
    }

    /// The agents' numbers.
    pub fn indices(&self) -> std::ops::Range<u64> {
        let first = u64::from(self.first_index());
        first..first + u64::from(self.count())
    }

    /// Collateral each agent is given, micros, for the kinds given a fixed
    /// amount (leveraged and portfolio traders post margin for what they
    /// draw).
    pub fn capital(&self) -> i64 {
        match self {
            PopulationSpec::MarketMaker(p) => p.capital.0,
            PopulationSpec::Predator(p) => p.capital.0,
            PopulationSpec::Noise(p) => p.capital.0,
            PopulationSpec::Fundamental(p) => p.capital.0,
            PopulationSpec::Keeper(p) => p.capital.0,
            PopulationSpec::Arbitrageur(p) => p.capital.0,
            PopulationSpec::StrategicPredator(p) => p.capital.0,
            PopulationSpec::Execution(p) => p.capital.0,
            PopulationSpec::LeverageFund(p) => p.capital.0,
            PopulationSpec::DemandNoise(p) => p.capital.0,
            PopulationSpec::Leveraged(_) | PopulationSpec::Portfolio(_) => 0,
        }
    }

    /// Base units of a spot asset each agent is given from outside.
    pub fn base_inventory(&self) -> i64 {
        match self {
            PopulationSpec::Arbitrageur(p) => p.base_inventory.0,
            PopulationSpec::Fundamental(p) => p.base_inventory.0,
            PopulationSpec::MarketMaker(p) => p.hedge.as_ref().map_or(0, |h| h.base_inventory.0),
            _ => 0,
        }
    }

    /// The population's market index.
    pub fn market(&self) -> u16 {
        match self {
            PopulationSpec::Leveraged(p) => p.market.0,
            PopulationSpec::MarketMaker(p) => p.market.0,
            PopulationSpec::Predator(p) => p.market.0,
            PopulationSpec::Noise(p) => p.market.0,
            PopulationSpec::Fundamental(p) => p.market.0,
            // Keepers bid in every market's auctions.
            PopulationSpec::Keeper(_) => 0,
            // Every leg's market is checked at install.
            PopulationSpec::Portfolio(p) => p.legs.iter().map(|l| l.market.0).max().unwrap_or(0),
            PopulationSpec::Arbitrageur(p) => p.market.0.max(p.spot.0),
            PopulationSpec::StrategicPredator(p) => p.market.0,
            PopulationSpec::Execution(p) => p.market.0,
            PopulationSpec::LeverageFund(p) => p.market.0,
            PopulationSpec::DemandNoise(p) => p.market.0,
        }
    }
}
