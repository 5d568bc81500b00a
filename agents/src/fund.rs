//! Leverage-targeting funds, after Thurner, Farmer and Geanakoplos (2012),
//! "Leverage causes fat tails and clustered volatility", Quantitative
//! Finance 12(5): value investors who borrow to buy an underpriced asset,
//! up to a leverage cap, and so must sell into a falling market once the
//! cap binds.
//!
//! Each tick a fund with equity `W` (micros, at the marks: collateral plus
//! unrealised PnL), seeing the fundamental `V` and the price `p` (the mid,
//! ticks: not the last trade, which its own market orders would set; the
//! mark while a side of the book is empty), wants the leverage
//!
//! ```text
//! λ = min(β · m, λ_max),    m = max(0, (V − p) / V),
//! ```
//!
//! `β` its aggressiveness (leverage per unit of relative mispricing) and
//! `λ_max` the cap set by its lender. Its demand is `D = λ W / p` in value,
//!
//! ```text
//! D = ⌊λ · W / (p · tick_value)⌋ lots,
//! ```
//!
//! held long only, and it trades the difference `D − position` at market,
//! at most `max_trade` lots a tick (0: no limit). Below the cap, a falling
//! price raises `m` and the fund buys (it stabilises); at the cap, a
//! falling price lowers `W`, so `D` falls with it and the fund sells
//! (it destabilises): the paper's mechanism for fat tails and clustered
//! volatility, growing with `λ_max`. A fund whose equity is gone owns
//! nothing and is liquidated by the protocol like any account (the paper's
//! margin call); the exchange's initial margin tiers bound what it can
//! reach. Investor flows (the paper's redemptions) are not modelled.
//!
//! The paper's noise traders are [`DemandNoiseParams`] (`kind:
//! demand_noise`): a position target that follows an AR(1) around zero,
//!
//! ```text
//! n_t = ρ n_{t−1} + σ ε_t    (lots, ε_t standard normal; held as a real, traded rounded)
//! ```
//!
//! traded each tick at market (the change of `round(n_t)`). With a book
//! that follows the price (market makers quoting around the last trade),
//! the price then follows the noise demand: mean-reverting around the
//! fundamental, with Gaussian increments, as in the paper.

use crate::kind::PopulationKind;
use crate::{Agent, Population, check_market, install_once, spawn_agent};
use bevy_ecs::prelude::*;
use cascade_framework::accounts::health::terms_of;
use cascade_framework::accounts::ledger::{Ledger, MarginMode};
use cascade_framework::exchange::sequencer::{OrderQueue, Priority};
use cascade_framework::market::Markets;
use cascade_framework::market::book::OrderKind;
use cascade_framework::{Lots, MarketId, Micros, ParamError, Phase, Price, Side, Simulation};
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// A population of leverage-targeting funds.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct FundParams {
    /// Population name.
    pub name: String,
    /// Number of funds.
    pub count: u32,
    /// Number of the first agent (see the other populations).
    #[serde(default, skip_serializing_if = "crate::is_zero")]
    pub first_index: u32,
    /// Market traded.
    pub market: MarketId,
    /// Initial wealth of each, micros.
    pub capital: Micros,
    /// Aggressiveness `β`: leverage per unit of relative mispricing.
    pub beta: f64,
    /// The leverage cap `λ_max`.
    pub max_leverage: f64,
    /// Most lots traded a tick; 0 for no limit.
    pub max_trade: i64,
}

impl Default for FundParams {
    fn default() -> FundParams {
        FundParams {
            name: "funds".into(),
            count: 10,
            first_index: 0,
            market: MarketId(0),
            capital: Micros(100_000_000_000),
            beta: 50.0,
            max_leverage: 5.0,
            max_trade: 0,
        }
    }
}

impl FundParams {
    /// Checks the parameters.
    pub fn validate(&self) -> Result<(), ParamError> {
        if !(0..=cascade_framework::core::units::MAX_MONEY).contains(&self.capital.0) {
            return Err(ParamError::invalid("capital", "must be between 0 and 2^60 micros"));
        }
        if !(self.beta.is_finite() && self.beta >= 0.0 && self.beta <= 1e6) {
            return Err(ParamError::invalid("beta", "must be between 0 and 10^6"));
        }
        if !(self.max_leverage.is_finite() && self.max_leverage >= 0.0 && self.max_leverage <= 1_000.0) {
            return Err(ParamError::invalid("max_leverage", "must be between 0 and 1,000"));
        }
        if self.max_trade < 0 {
            return Err(ParamError::invalid("max_trade", "must be non-negative"));
        }
        Ok(())
    }

    /// The leverage wanted at fundamental `value` and price `price`.
    pub fn leverage(&self, value: Price, price: Price) -> f64 {
        if value.0 <= 0 {
            return 0.0;
        }
        let m = ((value.0 - price.0) as f64 / value.0 as f64).max(0.0);
        (self.beta * m).min(self.max_leverage)
    }

    /// The demand `D` of the module docs, lots: `equity` micros at
    /// `price`, in a market of `tick_value` micros per tick per lot.
    pub fn demand(&self, value: Price, price: Price, equity: i128, tick_value: Micros) -> Lots {
        let lot = i128::from(price.0.max(1)) * i128::from(tick_value.0.max(1));
        let want = self.leverage(value, price) * equity.max(0) as f64 / lot as f64;
        // At most λ_max (≤ 1,000) times an equity of at most 2^63 micros, in
        // lots of at least a micro: within i64 once clamped.
        Lots(cascade_framework::core::units::round_to_i64(want.floor().clamp(0.0, 1e15)))
    }

    /// The order that moves `position` towards `demand`.
    pub fn order(&self, demand: Lots, position: Lots) -> Option<(Side, Lots)> {
        let gap = demand.0 - position.0;
        let lots = if self.max_trade > 0 { gap.abs().min(self.max_trade) } else { gap.abs() };
        (lots > 0).then_some((if gap > 0 { Side::Buy } else { Side::Sell }, Lots(lots)))
    }
}

/// A fund's parameters.
#[derive(Component, Debug)]
pub struct Fund {
    params: Arc<FundParams>,
}

impl PopulationKind for FundParams {
    const KIND: &'static str = "leverage_fund";
    const ABOUT: &'static str = "Leverage-targeting funds (Thurner, Farmer and Geanakoplos 2012).";

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
}

impl Population for FundParams {
    fn name(&self) -> &str {
        &self.name
    }

    fn install(&self, sim: &mut Simulation) -> Result<(), ParamError> {
        self.validate()?;
        check_market(sim, "market", self.market)?;
        install_once(sim, "leverage_fund", |sim| {
            sim.add_systems(Phase::Decide, decide);
        });
        let params = Arc::new(self.clone());
        for index in crate::indices(self.first_index, self.count) {
            let agent = spawn_agent(sim, &self.name, "fund", index, self.market, MarginMode::Cross, 1, self.capital);
            sim.world_mut().spawn((agent, Fund { params: params.clone() }));
        }
        Ok(())
    }
}

fn decide(markets: Res<Markets>, ledger: Res<Ledger>, mut queue: ResMut<OrderQueue>, funds: Query<(&Agent, &Fund)>) {
    let terms = |m: MarketId| terms_of(&markets, m);
    let price_of = |m: MarketId| markets.get(m).mark;
    for (agent, fund) in &funds {
        let account = ledger.account(agent.account);
        if account.liquidated_at().is_some() {
            continue;
        }
        let m = markets.get(agent.market);
        let price = m.view.mid().unwrap_or(m.view.mark);
        let equity = account.equity(&terms, &price_of);
        let demand = fund.params.demand(m.view.fundamental, price, equity, m.params.tick_value);
        if let Some((side, lots)) = fund.params.order(demand, account.qty(agent.market)) {
            queue.place(Priority::NORMAL, agent.account, agent.market, side, lots, OrderKind::Market);
        }
    }
}

/// A population of AR(1) noise demand traders.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct DemandNoiseParams {
    /// Population name.
    pub name: String,
    /// Number of traders, each with its own demand.
    pub count: u32,
    /// Number of the first agent (see the other populations).
    #[serde(default, skip_serializing_if = "crate::is_zero")]
    pub first_index: u32,
    /// Market traded.
    pub market: MarketId,
    /// Collateral of each, micros.
    pub capital: Micros,
    /// Persistence `ρ` of the demand, in [0, 1).
    pub rho: f64,
    /// Standard deviation `σ` of the demand's innovation, lots a tick.
    pub sigma_lots: f64,
}

impl Default for DemandNoiseParams {
    fn default() -> DemandNoiseParams {
        DemandNoiseParams {
            name: "demand_noise".into(),
            count: 1,
            first_index: 0,
            market: MarketId(0),
            capital: Micros(1_000_000_000_000_000),
            rho: 0.99,
            sigma_lots: 100.0,
        }
    }
}

impl DemandNoiseParams {
    /// Checks the parameters.
    pub fn validate(&self) -> Result<(), ParamError> {
        if !(self.rho.is_finite() && (0.0..1.0).contains(&self.rho)) {
            return Err(ParamError::invalid("rho", "must be in [0, 1)"));
        }
        if !(self.sigma_lots.is_finite() && (0.0..=1e9).contains(&self.sigma_lots)) {
            return Err(ParamError::invalid("sigma_lots", "must be between 0 and 10^9 lots"));
        }
        if !(0..=cascade_framework::core::units::MAX_MONEY).contains(&self.capital.0) {
            return Err(ParamError::invalid("capital", "must be between 0 and 2^60 micros"));
        }
        Ok(())
    }
}

/// A noise demand trader's demand, lots.
#[derive(Component, Debug)]
pub struct DemandNoise {
    params: Arc<DemandNoiseParams>,
    /// `n_t`.
    pub demand: f64,
}

impl PopulationKind for DemandNoiseParams {
    const KIND: &'static str = "demand_noise";
    const ABOUT: &'static str =
        "Noise traders with AR(1) demand (the noise traders of Thurner, Farmer and Geanakoplos 2012).";

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
}

impl Population for DemandNoiseParams {
    fn name(&self) -> &str {
        &self.name
    }

    fn install(&self, sim: &mut Simulation) -> Result<(), ParamError> {
        self.validate()?;
        check_market(sim, "market", self.market)?;
        install_once(sim, "demand_noise", |sim| {
            sim.add_systems(Phase::Decide, decide_noise);
        });
        let params = Arc::new(self.clone());
        for index in crate::indices(self.first_index, self.count) {
            let agent =
                spawn_agent(sim, &self.name, "demand_noise", index, self.market, MarginMode::Cross, 1, self.capital);
            sim.world_mut().spawn((agent, DemandNoise { params: params.clone(), demand: 0.0 }));
        }
        Ok(())
    }
}

fn decide_noise(mut queue: ResMut<OrderQueue>, mut traders: Query<(&mut Agent, &mut DemandNoise)>) {
    use rand_distr::{Distribution, StandardNormal};
    for (mut agent, mut t) in &mut traders {
        let before = cascade_framework::core::units::round_to_i64(t.demand);
        let z: f64 = StandardNormal.sample(&mut agent.rng);
        // |n| stays within σ / (1 − ρ) ≤ 10^9 / (1 − ρ) of zero, far inside i64
        // once rounded (round_to_i64 saturates in any case).
        t.demand = t.params.rho * t.demand + t.params.sigma_lots * z;
        let gap = cascade_framework::core::units::round_to_i64(t.demand) - before;
        if gap != 0 {
            let side = if gap > 0 { Side::Buy } else { Side::Sell };
            queue.place(Priority::NORMAL, agent.account, agent.market, side, Lots(gap.abs()), OrderKind::Market);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fund(max_leverage: f64) -> FundParams {
        FundParams { beta: 100.0, max_leverage, ..FundParams::default() }
    }

    #[test]
    fn leverage_is_beta_times_mispricing_up_to_the_cap() {
        let f = fund(5.0);
        assert_eq!(f.leverage(Price(10_000), Price(10_000)), 0.0);
        assert_eq!(f.leverage(Price(10_000), Price(10_100)), 0.0, "long only: overpriced, nothing");
        assert!((f.leverage(Price(10_000), Price(9_800)) - 2.0).abs() < 1e-12, "100 × 2%");
        assert_eq!(f.leverage(Price(10_000), Price(9_000)), 5.0, "100 × 10% capped at 5");
    }

    #[test]
    fn demand_is_leverage_times_equity_over_the_price_in_whole_lots() {
        // λ = 2 at 9,800 ticks; equity 1,000,000 micros; 10 micros per tick
        // per lot: a lot is 98,000 micros, so D = ⌊2 × 10^6 / 98,000⌋ = 20.
        let f = fund(5.0);
        assert_eq!(f.demand(Price(10_000), Price(9_800), 1_000_000, Micros(10)), Lots(20));
        // At the cap, halving equity halves demand: the fund sells into the fall.
        assert_eq!(f.demand(Price(10_000), Price(9_000), 1_000_000, Micros(10)), Lots(55));
        assert_eq!(f.demand(Price(10_000), Price(9_000), 500_000, Micros(10)), Lots(27));
        assert_eq!(f.demand(Price(10_000), Price(9_000), -5, Micros(10)), Lots(0), "no equity, no demand");
    }

    #[test]
    fn it_trades_the_gap_within_max_trade() {
        let f = FundParams { max_trade: 10, ..fund(5.0) };
        assert_eq!(f.order(Lots(55), Lots(20)), Some((Side::Buy, Lots(10))));
        assert_eq!(f.order(Lots(27), Lots(55)), Some((Side::Sell, Lots(10))));
        assert_eq!(f.order(Lots(27), Lots(27)), None);
        assert_eq!(fund(5.0).order(Lots(27), Lots(55)), Some((Side::Sell, Lots(28))));
    }
}
