//! Ready-made parameter sets: the flash-crash market used by the example,
//! the determinism tests and the benchmark, and a seeded book of leveraged
//! positions to put in it.
//!
//! The market is shaped like a BTC perpetual: a tick of 0.1 quote, a lot of
//! 0.001 base (so one tick on one lot is 100 micros), a price of 60,000
//! quote, Binance-like margin brackets, and one-second ticks.

use crate::index::{IndexParams, IndexProcess, Shock};
use crate::ledger::{AccountKind, AccountSpec, MarginMode};
use crate::liquidation::ProtocolParams;
use crate::liquidity::DepthProfile;
use crate::margin::{MarginLine, TierParams};
use crate::market::{FeeParams, FundingParams, MarkMethod, MarketParams};
use crate::recorder::RecordingParams;
use crate::rng::{StreamKey, population_id};
use crate::sim::{SimParams, Simulation};
use crate::units::{AccountId, AgentId, Lots, MarketId, Micros, Ppm, Price, div_ceil, narrow, round_to_i64};
use rand::RngExt;
use rand_distr::{Distribution, LogNormal, Normal};

/// Population name of the seeded leveraged positions.
pub const LEVERAGED: &str = "leveraged";

/// Binance-like BTC brackets: 0.4% to 50k quote, 0.5% to 250k, 1% to 1M,
/// 2.5% above, with initial rates for 125x, 100x, 50x and 20x.
pub fn btc_tiers() -> Vec<TierParams> {
    let q = |x: i64| Micros(x * 1_000_000);
    vec![
        TierParams { notional_floor: q(0), maintenance_rate: Ppm(4_000), initial_rate: Ppm(8_000) },
        TierParams { notional_floor: q(50_000), maintenance_rate: Ppm(5_000), initial_rate: Ppm(10_000) },
        TierParams { notional_floor: q(250_000), maintenance_rate: Ppm(10_000), initial_rate: Ppm(20_000) },
        TierParams { notional_floor: q(1_000_000), maintenance_rate: Ppm(25_000), initial_rate: Ppm(50_000) },
    ]
}

/// A BTC-like market at 60,000 quote with a background book, GBM index at
/// 60% annual volatility, and the given shocks.
pub fn btc_market(name: &str, shocks: Vec<Shock>) -> MarketParams {
    MarketParams {
        name: name.to_owned(),
        tick_size: 0.1,
        tick_value: Micros(100),
        index: IndexParams {
            initial_price: Price(600_000),
            process: IndexProcess::Gbm { drift: 0.0, volatility: 0.6, jumps: None },
            shocks,
        },
        mark: MarkMethod::Median { basis_window: 60 },
        funding: FundingParams { interval_ticks: 480, ..FundingParams::default() },
        fees: FeeParams::default(),
        tiers: btc_tiers(),
        depth: DepthProfile {
            half_spread_ticks: 5,
            levels: 150,
            spacing_ticks: 100,
            lots_at_best: 100,
            growth: 1.02,
            refresh_ticks: 15,
            provider_collateral: Micros(1_000_000_000_000_000),
        },
        depth_band_ticks: 1_000,
        vol_window: 30,
    }
}

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
            strategy: format!("{leverage}x"),
            leverage,
            collateral,
        });
        sim.seed_position(account, market, qty, entry).expect("preset entries are positive");
        accounts.push(account);
    }
    accounts
}
