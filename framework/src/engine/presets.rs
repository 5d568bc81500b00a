//! Ready-made parameter sets: the flash-crash market used by the example,
//! the determinism tests and the benchmark, a seeded book of leveraged
//! positions to put in it, and a small market whose outcomes can be
//! computed by hand, for scenario tests.
//!
//! The market is the BTC-like default of [`crate::market::params`].

use crate::accounts::ledger::{AccountKind, AccountSpec, MarginMode};
use crate::core::rng::{StreamKey, population_id};
use crate::core::units::{AccountId, AgentId, Lots, MarketId, Micros, Ppm, Price, div_ceil, narrow, round_to_i64};
use crate::engine::params::SimParams;
use crate::engine::sim::Simulation;
use crate::market::depth::DepthProfile;
use crate::market::index::{IndexParams, IndexProcess, Shock};
use crate::market::margin::{MarginLine, TierParams};
use crate::market::{FeeParams, FundingParams, MarkMethod, MarketParams};
use crate::protocol::ProtocolParams;
use crate::record::RecordingParams;
use rand::RngExt;
use rand_distr::{Distribution, LogNormal, Normal};

pub use crate::market::params::{btc_market, btc_tiers};

/// Population name of the seeded leveraged positions.
pub const LEVERAGED: &str = "leveraged";

/// The flash crash: one BTC-like market whose index falls 8% over 30 ticks
/// from tick 200 and wins back 5% over the next 120 ticks.
pub fn flash_crash(seed: u64) -> SimParams {
    let shocks = vec![
        Shock { start_tick: 200, drop: 0.08, over_ticks: 30 },
        Shock { start_tick: 230, drop: -0.05, over_ticks: 120 },
    ];
    SimParams {
        seed,
        tick_seconds: 1.0,
        markets: vec![btc_market("BTC-PERP", shocks)],
        protocol: ProtocolParams::default(),
        recording: RecordingParams::default(),
        index_correlation: None,
    }
}

/// Opens `n_positions` isolated leveraged positions in `market`, drawn from
/// the `leveraged` population's streams: 70% long; leverage from
/// {5, 10, 20, 25, 50, 75}; size lognormal with median 0.02 base (20 lots);
/// entry around the current index (0.4% standard deviation), redrawn if
/// the position would already be under water. Collateral is exactly the
/// initial margin at that leverage. Returns the accounts.
pub fn seed_leveraged(sim: &mut Simulation, market: MarketId, n_positions: u32) -> Vec<AccountId> {
    let seed = sim.seed();
    let centre = sim.markets().get(market).index.price;
    let tick_value = sim.markets().get(market).params.tick_value;
    let tiers = sim.markets().get(market).tiers.clone();
    let pop = population_id(LEVERAGED);
    let size = LogNormal::new((20.0_f64).ln(), 0.8).expect("valid lognormal");
    let entry_noise = Normal::new(0.0, 0.004).expect("valid normal");
    let leverages = [5_u32, 10, 20, 25, 50, 75];
    let mut accounts = Vec::with_capacity(n_positions as usize);
    sim.reserve_accounts(n_positions as usize);
    for index in 0..n_positions {
        let owner = AgentId { population: pop, index };
        let mut rng = seed.stream(StreamKey::Agent(owner));
        let long = rng.random_bool(0.7);
        let leverage = leverages[rng.random_range(0..leverages.len())];
        let lots = round_to_i64(size.sample(&mut rng)).clamp(1, 20_000);
        let qty = if long { Lots(lots) } else { Lots(-lots) };
        // Redraw entries that would be under water at the current price: a
        // trader at 75x cannot have entered 1.5% above where the market is.
        let (entry, collateral) = (0..32)
            .map(|_| Price(round_to_i64(centre.0 as f64 * (1.0 + entry_noise.sample(&mut rng)))))
            .chain(std::iter::once(centre))
            .map(|entry| {
                let notional = i128::from(lots) * i128::from(entry.0) * i128::from(tick_value.0);
                (entry, Micros(narrow(div_ceil(notional, i128::from(leverage)))))
            })
            .find(|(entry, collateral)| {
                let cost = i128::from(qty.0) * i128::from(entry.0) * i128::from(tick_value.0);
                let line = MarginLine { base: i128::from(collateral.0) - cost, qty, tick_value, tiers: &tiers };
                !line.is_liquidatable(centre)
            })
            .expect("an entry at the current price is never under water");
        let account = sim.open_account(AccountSpec {
            kind: AccountKind::Trader,
            mode: MarginMode::Isolated,
            owner: Some(owner),
            population: LEVERAGED.into(),
            strategy: format!("{leverage}x").into(),
            leverage,
            collateral,
        });
        sim.seed_position(account, market, qty, entry).expect("preset entries are positive");
        accounts.push(account);
    }
    sim.index_seeded();
    accounts
}

/// One market at 1,000 ticks, one micro per tick-lot, flat 5% maintenance
/// and 10% initial margin, no fees, no funding, mark = last trade, a
/// constant index, and no background depth: liquidation prices and fills
/// can be worked out on paper.
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
        spot: None,
        oracle: None,
        propagator: None,
    }
}

/// A spot venue `name` of base `BTC` that follows the fundamental of
/// [`hand_market`] (`TEST`), without fees: its provider holds
/// `provider_base` base units and 1,000,000 micros and lays, once, `levels`
/// levels a side of `lots` lots, the first `half_spread` ticks off the
/// fundamental and the rest `spacing` ticks apart.
pub fn hand_spot(name: &str, provider_base: Lots, [levels, lots, half_spread, spacing]: [i64; 4]) -> MarketParams {
    let mut spot = hand_market();
    spot.name = name.into();
    spot.index.process = IndexProcess::Follow { market: "TEST".into() };
    spot.spot = Some(crate::market::params::SpotParams { base: "BTC".into(), provider_base, amm: None });
    spot.depth = DepthProfile {
        half_spread_ticks: half_spread,
        levels: u32::try_from(levels).expect("a hand-sized number of levels"),
        spacing_ticks: spacing,
        lots_at_best: lots,
        growth: 1.0,
        growth_lots: 0,
        resilience: 0.0,
        refresh_ticks: 0,
        anchor: crate::market::depth::DepthAnchor::Index,
        anchor_half_life: None,
        provider_collateral: Micros(1_000_000),
    };
    spot
}

/// Parameters around [`hand_market`] with a 1% penalty, ten rounds and the
/// given insurance fund (micros).
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

/// Opens a trader account for hand-computed scenarios: population `name`,
/// strategy `test`, leverage 10, and `collateral` micros.
pub fn hand_trader(sim: &mut Simulation, name: &str, mode: MarginMode, collateral: i64) -> AccountId {
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
