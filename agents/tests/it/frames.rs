//! Every population at once: conservation holds exactly, and the agents
//! frame carries population, strategy, equity, PnL and liquidation tick.

use super::common::*;
use cascade_agents::Dist;
use cascade_agents::framework::Micros;
use cascade_agents::fundamental::FundamentalParams;
use cascade_agents::leveraged::{LeveragedParams, Reentry, StopLoss, TopUp, Trend};
use cascade_agents::maker::MakerParams;
use cascade_agents::noise::NoiseParams;
use cascade_agents::predator::{PredatorParams, Strategy};

#[test]
fn every_population_together_conserves_value_and_fills_the_agents_frame() {
    let mut lev = LeveragedParams::holders(
        "leveraged",
        1_000,
        Dist::Mix { components: vec![(1.0, Dist::fixed(10.0)), (1.0, Dist::Uniform { low: 20.0, high: 50.0 })] },
        Dist::Pareto { scale: 5.0, shape: 1.8 },
    );
    lev.stop_loss = Some(StopLoss { probability: 0.3, distance: Dist::fixed(0.02), round_to_ticks: 5_000 });
    lev.top_up = Some(TopUp { within: 0.01, probability: 0.5, amount: 0.5, reserve: 1.0 });
    lev.reentry = Some(Reentry { delay_ticks: 5, probability: 0.5, max_times: 2 });
    lev.trend = Some(Trend { lookback_ticks: 10, threshold: 0.005, probability: 0.1 });
    let noise = NoiseParams {
        name: "noise".into(),
        count: 20,
        first_index: 0,
        market: Default::default(),
        capital: Micros(100_000_000_000),
        rate: 0.3,
        size_median: 5.0,
        size_sigma: 0.7,
    };
    let makers = MakerParams::preset("makers", 3, true);
    let front = PredatorParams::preset("front_runners", 2, Strategy::FrontRun);
    let hunters = PredatorParams::preset("hunters", 2, Strategy::Hunt);
    let value = FundamentalParams::preset("value", 10);
    let out = run(crash_params(9, 0.1), &[&lev, &noise, &makers, &front, &hunters, &value], 220);
    assert!(out.summary.n_liquidations > 0);
    let a = &out.agents;
    for c in ["population", "strategy", "final_equity", "pnl", "liquidation_tick", "liquidated"] {
        assert!(a.column(c).is_ok(), "agents frame lacks {c}");
    }
    let distinct = |name: &str| -> Vec<String> {
        let c = a.column(name).unwrap().unique_stable().unwrap();
        c.str().unwrap().iter().flatten().map(str::to_owned).collect()
    };
    let pops = distinct("population");
    for p in ["leveraged", "noise", "makers", "front_runners", "hunters", "value"] {
        assert!(pops.iter().any(|x| x == p), "{p} missing from {pops:?}");
    }
    let strategies = distinct("strategy");
    for s in ["front_run", "hunt", "reactive", "value", "noise"] {
        assert!(strategies.iter().any(|x| x == s), "{s} missing from {strategies:?}");
    }
    // A liquidated trader's row says when.
    let liq = a.column("liquidation_tick").unwrap().u64().unwrap();
    assert!(liq.iter().flatten().any(|t| t >= 100));
}
