//! Small worlds shared by the integration tests.

use cascade_framework::index::{IndexParams, IndexProcess};
use cascade_framework::ledger::{AccountKind, AccountSpec, MarginMode};
use cascade_framework::liquidation::ProtocolParams;
use cascade_framework::liquidity::DepthProfile;
use cascade_framework::margin::TierParams;
use cascade_framework::market::{FeeParams, FundingParams, MarkMethod, MarketParams};
use cascade_framework::recorder::RecordingParams;
use cascade_framework::{AccountId, Micros, Ppm, Price, SimParams, Simulation};

/// One market at 1,000 ticks, one micro per tick-lot, flat 5% maintenance
/// and 10% initial margin, no fees, no funding, mark = last trade, a
/// constant index, and no background depth.
pub fn hand_market() -> MarketParams {
    MarketParams {
        name: "TEST".into(),
        tick_size: 1.0,
        tick_value: Micros(1),
        index: IndexParams {
            initial_price: Price(1_000),
            process: IndexProcess::Replay { prices: vec![Price(1_000)] },
            shocks: vec![],
        },
        mark: MarkMethod::LastTrade,
        funding: FundingParams { interval_ticks: 0, ..FundingParams::default() },
        fees: FeeParams { maker: Ppm(0), taker: Ppm(0) },
        tiers: vec![TierParams {
            notional_floor: Micros(0),
            maintenance_rate: Ppm(50_000),
            initial_rate: Ppm(100_000),
        }],
        depth: DepthProfile { levels: 0, refresh_ticks: 0, provider_collateral: Micros(0), ..DepthProfile::default() },
        depth_band_ticks: 100,
        vol_window: 10,
    }
}

/// Parameters around [`hand_market`] with a 1% penalty and the given fund.
pub fn hand_params(insurance_fund: i64) -> SimParams {
    SimParams {
        seed: 1,
        tick_seconds: 1.0,
        markets: vec![hand_market()],
        protocol: ProtocolParams {
            penalty: Ppm(10_000),
            max_rounds: 10,
            insurance_fund: Micros(insurance_fund),
            ..Default::default()
        },
        recording: RecordingParams::default(),
        index_correlation: None,
    }
}

/// Opens a trader account.
pub fn trader(sim: &mut Simulation, name: &str, mode: MarginMode, collateral: i64) -> AccountId {
    sim.open_account(AccountSpec {
        kind: AccountKind::Trader,
        mode,
        owner: None,
        population: name.into(),
        strategy: "test".into(),
        leverage: 10,
        collateral: Micros(collateral),
    })
}

/// Total value and what was put in, which must be equal.
pub fn assert_conserved(sim: &Simulation) {
    let (value, put_in) = sim.value_balance();
    assert_eq!(value, put_in, "value is not conserved at tick {}", sim.tick());
}
