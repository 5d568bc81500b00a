//! Each intended effect, shown by two runs on the same seed (common random
//! numbers) that differ only in the behaviour under test.

use super::common::*;
use cascade_agents::Dist;
use cascade_agents::framework::Micros;
use cascade_agents::framework::market::MarkMethod;
use cascade_agents::fundamental::FundamentalParams;
use cascade_agents::leveraged::LeveragedParams;
use cascade_agents::maker::MakerParams;
use cascade_agents::noise::NoiseParams;
use cascade_agents::predator::{PredatorParams, Strategy};
use polars::prelude::*;

fn leveraged(leverage: f64) -> LeveragedParams {
    LeveragedParams::holders("leveraged", 2_000, Dist::fixed(leverage), Dist::Lognormal { median: 20.0, sigma: 0.8 })
}

fn noise() -> NoiseParams {
    NoiseParams {
        name: "noise".into(),
        count: 50,
        first_index: 0,
        market: Default::default(),
        capital: Micros(100_000_000_000),
        rate: 0.2,
        size_median: 5.0,
        size_sigma: 0.7,
    }
}

#[test]
fn stressed_makers_widen_the_spread_and_pull_depth() {
    let run_with = |react: bool| {
        let mut p = crash_params(11, 0.08);
        // Makers are the only liquidity, so their behaviour is the book's.
        p.markets[0].depth.levels = 0;
        let makers = MakerParams { vol_ref: 0.001, ..MakerParams::preset("makers", 5, react) };
        run(p, &[&leveraged(20.0), &noise(), &makers], 200)
    };
    let (reactive, steady) = (run_with(true), run_with(false));
    let window = (100, 140);
    let spread_r = mean_between(&reactive.ticks, "spread", window.0, window.1);
    let spread_s = mean_between(&steady.ticks, "spread", window.0, window.1);
    let depth_r = mean_between(&reactive.ticks, "bid_depth", window.0, window.1);
    let depth_s = mean_between(&steady.ticks, "bid_depth", window.0, window.1);
    eprintln!(
        "makers: spread {spread_r:.1} vs {spread_s:.1} ticks, bid depth {depth_r:.0} vs {depth_s:.0} lots (reactive vs steady, ticks 100-140)"
    );
    assert!(spread_r > 1.5 * spread_s, "spread: reactive {spread_r:.1} vs steady {spread_s:.1} ticks");
    assert!(depth_r < 0.8 * depth_s, "bid depth: reactive {depth_r:.0} vs steady {depth_s:.0} lots");
    // Before the shock they quote alike.
    let calm_r = mean_between(&reactive.ticks, "spread", 10, 90);
    let calm_s = mean_between(&steady.ticks, "spread", 10, 90);
    assert!((calm_r - calm_s).abs() < 0.25 * calm_s, "calm spreads {calm_r:.1} vs {calm_s:.1}");
}

fn predator_pnl(out: &cascade_agents::framework::record::RunOutput) -> f64 {
    let a = &out.agents;
    let pop = a.column("population").unwrap().str().unwrap();
    let pnl = a.column("pnl").unwrap().i64().unwrap();
    pop.iter().zip(pnl.iter()).filter(|(p, _)| *p == Some("predators")).map(|(_, x)| x.unwrap() as f64).sum()
}

#[test]
fn a_hunting_predator_profits_from_a_dense_cluster_and_not_without_one() {
    let run_with = |leverage: f64| {
        // A quiet market (no shock, no drift) whose mark follows trades.
        let mut p = crash_params(5, 0.0);
        p.markets[0].mark = MarkMethod::LastTrade;
        p.markets[0].index.process =
            cascade_agents::framework::market::index::IndexProcess::Gbm { drift: 0.0, volatility: 0.05, jumps: None };
        let mut crowd = leveraged(leverage);
        crowd.long_fraction = 1.0;
        crowd.entry_offset = Dist::Normal { mean: 0.0, stdev: 0.000_5 };
        let hunter = PredatorParams {
            max_distance: 0.03,
            max_position: 60_000,
            capital: Micros(20_000_000_000_000),
            ..PredatorParams::preset("predators", 1, Strategy::Hunt)
        };
        run(p, &[&crowd, &hunter], 60)
    };
    // 50x longs liquidate about 1.6% below entry: a dense cluster in reach.
    let with_cluster = predator_pnl(&run_with(50.0));
    // 5x longs liquidate about 19.6% below: nothing within 3%.
    let without = predator_pnl(&run_with(5.0));
    eprintln!("hunter PnL: {:.0} quote with a cluster, {:.0} without", with_cluster / 1e6, without / 1e6);
    assert!(with_cluster > 0.0, "hunting a dense cluster earned {with_cluster} micros");
    assert!(without <= 0.0, "hunting with no cluster earned {without} micros");
}

#[test]
fn fundamental_traders_end_the_crash_earlier_and_higher() {
    let run_with = |count: u32| {
        let mut p = crash_params(21, 0.08);
        p.markets[0].depth.lots_at_best = 30;
        let value = FundamentalParams::preset("value", count);
        run(p, &[&leveraged(25.0), &noise(), &value], 260)
    };
    let (with, without) = (run_with(30), run_with(0));
    let low = |out: &cascade_agents::framework::record::RunOutput| {
        col(&out.ticks, "last_trade").into_iter().flatten().fold(f64::INFINITY, f64::min)
    };
    // The crash is over once trades are back within 1% of the index.
    let end = |out: &cascade_agents::framework::record::RunOutput| {
        let t = col(&out.ticks, "tick");
        let last = col(&out.ticks, "last_trade");
        let index = col(&out.ticks, "index");
        (0..t.len())
            .filter(|&i| match (last[i], index[i]) {
                (Some(l), Some(x)) => l < 0.99 * x,
                _ => false,
            })
            .map(|i| t[i].unwrap())
            .fold(0.0, f64::max)
    };
    // The deepest the trades went below the index, fraction.
    let discount = |out: &cascade_agents::framework::record::RunOutput| {
        let last = col(&out.ticks, "last_trade");
        let index = col(&out.ticks, "index");
        last.iter().zip(&index).filter_map(|(l, x)| Some(l.as_ref()? / x.as_ref()? - 1.0)).fold(0.0, f64::min)
    };
    eprintln!(
        "value traders: low {} vs {} ticks, deepest discount to index {:.2}% vs {:.2}%, crash over at tick {} vs {}",
        low(&with),
        low(&without),
        100.0 * discount(&with),
        100.0 * discount(&without),
        end(&with),
        end(&without)
    );
    assert!(discount(&with) > discount(&without));
    assert!(low(&with) > low(&without), "low with value traders {} vs without {}", low(&with), low(&without));
    assert!(
        end(&with) < end(&without),
        "crash ended at tick {} with value traders vs {} without",
        end(&with),
        end(&without)
    );
}

#[test]
fn higher_leverage_liquidates_more_notional_under_the_same_shock() {
    let liquidated =
        |leverage: f64| run(crash_params(3, 0.06), &[&leveraged(leverage), &noise()], 160).summary.liquidated_notional;
    let (low, mid, high) = (liquidated(5.0), liquidated(20.0), liquidated(50.0));
    eprintln!("liquidated notional: 5x {low:.0}, 20x {mid:.0}, 50x {high:.0} quote");
    assert!(low < mid && mid < high, "liquidated notional at 5x {low}, 20x {mid}, 50x {high}");
    assert!(high > 0.0);
}

#[test]
fn the_leverage_draw_does_not_move_other_draws() {
    // Common random numbers: the same seed gives the same sides and sizes
    // whatever the leverage.
    let sizes = |leverage: f64| {
        let out = run(crash_params(3, 0.0), &[&leveraged(leverage)], 1);
        let a = out.agents.filter(&out.agents.column("population").unwrap().str().unwrap().equal("leveraged")).unwrap();
        a.column("open_qty").unwrap().i64().unwrap().into_no_null_iter().collect::<Vec<_>>()
    };
    assert_eq!(sizes(5.0), sizes(50.0));
}

fn population_pnl(out: &cascade_agents::framework::record::RunOutput, population: &str) -> f64 {
    let a = &out.agents;
    let pop = a.column("population").unwrap().str().unwrap();
    let pnl = a.column("pnl").unwrap().i64().unwrap();
    pop.iter().zip(pnl.iter()).filter(|(p, _)| *p == Some(population)).map(|(_, x)| x.unwrap() as f64).sum()
}

#[test]
fn congested_keepers_leave_bad_debt_that_prompt_keepers_do_not() {
    use cascade_agents::framework::exchange::auction_terms::{AuctionParams, Decay};
    use cascade_agents::keeper::KeeperParams;
    // The same 6% crash and crowd, liquidated by a linear auction over 60
    // ticks with no reset. Prompt keepers react in 1-3 ticks; congested ones
    // wait 80 ticks and pay 50 quote a bid, so they first bid at price 0.
    let run_with = |delay: f64, bid_cost: i64| {
        let mut p = crash_params(3, 0.06);
        p.protocol.auction = Some(AuctionParams {
            buf: cascade_agents::framework::Ppm(1_000_000),
            decay: Decay::Linear { tau_ticks: 60 },
            tail: None,
            cusp: cascade_agents::framework::Ppm(0),
            ..AuctionParams::default()
        });
        let keepers = KeeperParams {
            delay: if delay < 2.0 { Dist::Uniform { low: 1.0, high: 3.0 } } else { Dist::fixed(delay) },
            bid_cost: Micros(bid_cost),
            ..KeeperParams::default()
        };
        run(p, &[&leveraged(20.0), &noise(), &keepers], 220)
    };
    let (prompt, congested) = (run_with(1.0, 20_000_000), run_with(80.0, 50_000_000));
    let (bd_p, bd_c) = (prompt.summary.bad_debt, congested.summary.bad_debt);
    let (k_p, k_c) = (population_pnl(&prompt, "keepers"), population_pnl(&congested, "keepers"));
    let kinds = |out: &cascade_agents::framework::record::RunOutput, kind: &str| {
        out.events.column("kind").unwrap().str().unwrap().iter().filter(|k| *k == Some(kind)).count()
    };
    eprintln!(
        "keepers: bad debt {bd_p:.0} vs {bd_c:.0} quote, keeper PnL {:.0} vs {:.0} quote, takes {} vs {}, kicks {} vs {} (prompt vs congested)",
        k_p / 1e6,
        k_c / 1e6,
        kinds(&prompt, "auction_take"),
        kinds(&congested, "auction_take"),
        kinds(&prompt, "auction_kick"),
        kinds(&congested, "auction_kick"),
    );
    assert!(kinds(&prompt, "auction_kick") > 0);
    assert_eq!(kinds(&prompt, "auction_kick"), kinds(&congested, "auction_kick"));
    assert!(bd_c > 10.0 * bd_p.max(1.0), "bad debt: congested {bd_c} vs prompt {bd_p}");
    assert!(k_c > k_p, "congested keepers win the lots for nothing: {k_c} vs {k_p}");
}

#[test]
fn congestion_caps_the_takes_a_tick_and_prices_gas_by_demand() {
    use cascade_agents::framework::exchange::auction_terms::{AuctionParams, Congestion, Decay};
    use cascade_agents::keeper::KeeperParams;
    // The crash of the test above, cleared by prompt keepers through at
    // most 2 takes a tick (target 1), and without the limit. Value is
    // conserved every tick (`run` asserts it); with congestion no tick has
    // more than 2 takes, and the cascade of auctions takes longer to clear
    // and sells cheaper.
    let run_with = |congestion: Option<Congestion>| {
        let mut p = crash_params(3, 0.06);
        p.protocol.auction = Some(AuctionParams {
            buf: cascade_agents::framework::Ppm(1_000_000),
            decay: Decay::Linear { tau_ticks: 60 },
            tail: None,
            cusp: cascade_agents::framework::Ppm(0),
            congestion,
            ..AuctionParams::default()
        });
        let keepers = KeeperParams {
            delay: Dist::Uniform { low: 1.0, high: 3.0 },
            delay_per_auction: true,
            gas_tip: Some(Dist::Uniform { low: 0.0, high: 0.5 }),
            ..KeeperParams::default()
        };
        run(p, &[&leveraged(20.0), &noise(), &keepers], 400)
    };
    let congestion = Congestion {
        capacity: 2,
        target: 1,
        base_gas: Micros(20_000_000),
        adjustment: cascade_agents::framework::Ppm(125_000),
    };
    let (limited, free) = (run_with(Some(congestion)), run_with(None));
    let takes = |out: &cascade_agents::framework::record::RunOutput| -> Vec<(u64, f64, f64)> {
        let e = &out.events;
        let kind = e.column("kind").unwrap().str().unwrap();
        let tick = e.column("tick").unwrap().u64().unwrap();
        let fill = e.column("fill_price").unwrap().f64().unwrap();
        let mark = e.column("trigger_price").unwrap().i64().unwrap();
        (0..e.height())
            .filter(|&i| kind.get(i) == Some("auction_take"))
            .map(|i| (tick.get(i).unwrap(), fill.get(i).unwrap(), mark.get(i).unwrap() as f64))
            .collect()
    };
    let (l, f) = (takes(&limited), takes(&free));
    let per_tick = |t: &[(u64, f64, f64)]| {
        let mut n = std::collections::BTreeMap::new();
        for x in t {
            *n.entry(x.0).or_insert(0) += 1;
        }
        n.values().copied().max().unwrap_or(0)
    };
    assert!(l.len() > 10 && f.len() > 10, "{} and {} takes", l.len(), f.len());
    assert!(per_tick(&l) <= 2, "at most the capacity a tick: {}", per_tick(&l));
    assert!(per_tick(&f) > 2, "without congestion keepers take more at once: {}", per_tick(&f));
    let discount = |t: &[(u64, f64, f64)]| t.iter().map(|x| 1.0 - x.1 / x.2).sum::<f64>() / t.len() as f64;
    assert!(discount(&l) > discount(&f), "congested auctions sell cheaper: {} vs {}", discount(&l), discount(&f));
    let last = |t: &[(u64, f64, f64)]| t.iter().map(|x| x.0).max().unwrap();
    assert!(last(&l) > last(&f), "and take longer to clear");
    // The ticks frame records the gas price after each tick, EIP-1559 on
    // the takes admitted in it: g ← max(base, g + g × 125,000 × (used − 1) /
    // (1 × 10^6)), the quotient rounded towards zero as EIP-1559 does, from
    // g = 20 quote. An admitted take uses block space even when the auction
    // it aims at has sold out earlier in the tick, so `used` is at least the
    // takes carried out and at most the capacity. Without congestion the
    // column is 0.
    let gas = |out: &cascade_agents::framework::record::RunOutput| -> Vec<i64> {
        out.ticks.column("gas_price").unwrap().i64().unwrap().into_no_null_iter().collect()
    };
    let mut carried = vec![0_i64; 400];
    for t in &l {
        carried[usize::try_from(t.0).unwrap()] += 1;
    }
    let next = |g: i64, used: i64| {
        (g + i64::try_from(i128::from(g) * 125_000 * i128::from(used - 1) / 1_000_000).unwrap()).max(20_000_000)
    };
    let mut g = 20_000_000_i64;
    for (tick, (after, carried)) in gas(&limited).into_iter().zip(carried).enumerate() {
        assert!((carried..=2).any(|used| next(g, used) == after), "tick {tick}: {g} → {after} with {carried} carried");
        g = after;
    }
    assert!(gas(&limited).iter().any(|g| *g > 1_000_000_000), "demand drove the gas price past 1,000 quote");
    assert!(gas(&free).iter().all(|g| *g == 0));
}

#[test]
fn cross_margin_portfolios_carry_a_crash_into_a_market_that_did_not_move() {
    use cascade_agents::framework::presets::btc_market;
    use cascade_agents::portfolio::{Leg, PortfolioParams};
    // BTC falls 8%; ETH's index stays where it is. Portfolio traders are
    // long both under one cross margin: their BTC losses liquidate them,
    // and the liquidation sells their ETH too.
    let run_with = |count: u32| {
        let mut p = crash_params(9, 0.08);
        let mut eth = btc_market("ETH-PERP", vec![]);
        eth.index.process =
            cascade_agents::framework::market::index::IndexProcess::Gbm { drift: 0.0, volatility: 0.0, jumps: None };
        eth.mark = MarkMethod::LastTrade;
        eth.depth.lots_at_best = 5;
        p.markets.push(eth);
        let portfolios = PortfolioParams {
            count,
            leverage: Dist::Uniform { low: 10.0, high: 30.0 },
            legs: vec![
                Leg { market: cascade_agents::framework::MarketId(0), long_fraction: 1.0, ..Leg::default() },
                Leg { market: cascade_agents::framework::MarketId(1), long_fraction: 1.0, ..Leg::default() },
            ],
            ..PortfolioParams::default()
        };
        run(p, &[&portfolios, &noise()], 200)
    };
    let (with, without) = (run_with(2_000), run_with(0));
    let eth_low = |out: &cascade_agents::framework::record::RunOutput| {
        let t = &out.ticks;
        let market = t.column("market").unwrap().str().unwrap();
        let mark = t.column("mark").unwrap().i64().unwrap();
        market.iter().zip(mark.iter()).filter(|(m, _)| *m == Some("ETH-PERP")).filter_map(|(_, x)| x).min().unwrap()
    };
    let (s_with, s_without) = (with.summary.spillover_notional, without.summary.spillover_notional);
    eprintln!(
        "contagion: ETH notional liquidated {s_with:.0} vs {s_without:.0} quote, ETH low {} vs {} ticks, ETH drawdown {:.4} vs {:.4} (portfolios vs none)",
        eth_low(&with),
        eth_low(&without),
        with.summary.spillover_drawdown,
        without.summary.spillover_drawdown
    );
    assert!(s_with > 100_000.0, "portfolios sold ETH: {s_with}");
    assert_eq!(s_without, 0.0);
    assert!(eth_low(&with) < eth_low(&without), "forced ETH sales lower the ETH mark");
    let (d_with, d_without) = (with.summary.spillover_drawdown, without.summary.spillover_drawdown);
    assert!(d_with > 0.01 && d_with > 10.0 * d_without, "ETH drawdown {d_with} vs {d_without}");
}

#[test]
fn strategic_predators_sell_with_the_liquidations_buy_back_after_and_profit() {
    // The same crash with two strategic predators and without: they end
    // flat (they buy back once the forced flow is over), value is conserved
    // every tick (`run` asserts it), they earn from the forced sellers, and
    // the fall is at least as deep with them.
    let predators = cascade_agents::strategic::StrategicParams { count: 2, ..Default::default() };
    let crowd = leveraged(20.0);
    let with = run(crash_params(7, 0.06), &[&crowd, &noise(), &predators], 200);
    let without = run(crash_params(7, 0.06), &[&crowd, &noise()], 200);
    let a = &with.agents;
    let pop = a.column("population").unwrap().str().unwrap();
    let open = a.column("open_qty").unwrap().i64().unwrap();
    let theirs: Vec<i64> = pop
        .iter()
        .zip(open.iter())
        .filter(|(p, _)| *p == Some("strategic_predators"))
        .map(|(_, q)| q.unwrap())
        .collect();
    assert_eq!(theirs, [0, 0], "both bought back to flat");
    let pnl = population_pnl(&with, "strategic_predators");
    assert!(pnl > 0.0, "strategic predators earned {pnl} micros");
    assert!(with.summary.max_drawdown >= without.summary.max_drawdown);
}
