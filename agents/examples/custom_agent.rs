//! Adding a population without touching the framework: a momentum trader.
//!
//! A momentum trader buys `size` lots at market when the mark's log return
//! over the last `lookback` ticks exceeds `+threshold`, sells when it is
//! below `−threshold`, and holds at most `max_position` lots either way.
//! It is a component plus one Decide-phase system, installed through the
//! [`Population`] trait like the built-in populations.
//!
//! ```text
//! cargo run -p cascade-agents --example custom_agent
//! ```

use bevy_ecs::prelude::*;
use cascade_agents::framework::accounts::ledger::{Ledger, MarginMode};
use cascade_agents::framework::exchange::sequencer::{OrderQueue, Priority};
use cascade_agents::framework::market::book::OrderKind;
use cascade_agents::framework::presets::flash_crash;
use cascade_agents::framework::{Lots, MarketId, Micros, ParamError, Phase, Side, Simulation};
use cascade_agents::leveraged::LeveragedParams;
use cascade_agents::{Agent, Dist, Population, PriceHistory, install_once, spawn_agent, use_price_history};
use polars::prelude::*;

/// Parameters of a momentum population.
struct Momentum {
    name: String,
    count: u32,
    lookback: usize,
    threshold: f64,
    size: i64,
    max_position: i64,
}

/// One momentum trader's rule.
#[derive(Component)]
struct MomentumTrader {
    lookback: usize,
    threshold: f64,
    size: i64,
    max_position: i64,
}

impl Population for Momentum {
    fn name(&self) -> &str {
        &self.name
    }

    fn install(&self, sim: &mut Simulation) -> Result<(), ParamError> {
        if self.lookback == 0 {
            return Err(ParamError::invalid("lookback", "must be at least 1"));
        }
        use_price_history(sim);
        install_once(sim, "momentum", |sim| {
            sim.add_systems(Phase::Decide, decide);
        });
        for index in 0..self.count {
            let agent = spawn_agent(
                sim,
                &self.name,
                "momentum",
                index,
                MarketId(0),
                MarginMode::Cross,
                1,
                Micros(500_000_000_000),
            );
            let rule = MomentumTrader {
                lookback: self.lookback,
                threshold: self.threshold,
                size: self.size,
                max_position: self.max_position,
            };
            sim.world_mut().spawn((agent, rule));
        }
        Ok(())
    }
}

fn decide(
    history: Res<PriceHistory>,
    ledger: Res<Ledger>,
    mut queue: ResMut<OrderQueue>,
    traders: Query<(&Agent, &MomentumTrader)>,
) {
    for (agent, t) in &traders {
        let Some(ret) = history.log_return(agent.market, t.lookback) else { continue };
        let position = ledger.account(agent.account).qty(agent.market).0;
        let side = if ret > t.threshold && position + t.size <= t.max_position {
            Side::Buy
        } else if ret < -t.threshold && position - t.size >= -t.max_position {
            Side::Sell
        } else {
            continue;
        };
        queue.place(Priority::NORMAL, agent.account, agent.market, side, Lots(t.size), OrderKind::Market);
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut sim = Simulation::new(flash_crash(42))?;
    LeveragedParams::holders("leveraged", 5_000, Dist::fixed(25.0), Dist::Lognormal { median: 20.0, sigma: 0.8 })
        .install(&mut sim)?;
    let momentum =
        Momentum { name: "momentum".into(), count: 20, lookback: 10, threshold: 0.004, size: 50, max_position: 500 };
    momentum.install(&mut sim)?;
    sim.run(400);
    let out = sim.finish()?;
    let agents = out.agents;
    let mask = agents.column("population")?.str()?.equal("momentum");
    let mine = agents.filter(&mask)?;
    let pnl: i64 = mine.column("pnl")?.i64()?.sum().unwrap_or(0);
    let open: i64 = mine.column("open_qty")?.i64()?.sum().unwrap_or(0);
    use std::io::Write;
    writeln!(
        std::io::stdout(),
        "{} momentum traders: total PnL {:.2} quote, net position {open} lots; {} liquidations in the run",
        mine.height(),
        pnl as f64 / 1e6,
        out.summary.n_liquidations
    )?;
    Ok(())
}
