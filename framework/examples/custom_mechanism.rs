//! A liquidation mechanism added from outside the framework: a grace
//! period. An account found below maintenance is liquidated only once it
//! has stayed below maintenance for `grace_ticks` ticks in a row; one that
//! recovers in time starts again from zero. It uses two hooks of
//! `cascade_framework::protocol::Mechanism`: `admit` (may this account be
//! liquidated now?) and `end_tick` (forget the accounts that recovered),
//! and writes a `grace` event when an account's grace period starts.
//!
//! It runs the flash crash twice on the same seed, with and without the
//! grace period, and prints both summaries: the delay lets positions sink
//! further before they are closed, so the same crash leaves more bad debt.
//!
//! ```sh
//! cargo run --release -p cascade-framework --example custom_mechanism
//! ```

use cascade_framework::core::event::{EventKind, LiquidationEvent};
use cascade_framework::presets::{flash_crash, seed_leveraged};
use cascade_framework::protocol::{Cx, Mechanism};
use cascade_framework::record::RunSummary;
use cascade_framework::{AccountId, Lots, MarketId, Side, Simulation};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::io::Write as _;

/// Liquidate only after `grace_ticks` ticks below maintenance.
#[derive(Debug, Default)]
struct GracePeriod {
    /// Ticks an account must stay below maintenance.
    grace_ticks: u64,
    /// When each account now below maintenance was first found there.
    since: BTreeMap<AccountId, u64>,
    /// Accounts found below maintenance this tick.
    seen: BTreeSet<AccountId>,
}

impl Mechanism for GracePeriod {
    fn name(&self) -> &'static str {
        "grace_period"
    }

    fn admit(&mut self, cx: &mut Cx<'_>, account: AccountId, market: MarketId) -> bool {
        self.seen.insert(account);
        let since = *self.since.entry(account).or_insert_with(|| {
            let mark = cx.markets.get(market).mark;
            let qty = cx.ledger.account(account).qty(market);
            let side = if qty.0 > 0 { Side::Buy } else { Side::Sell };
            let event = LiquidationEvent::new(
                EventKind::Custom("grace"),
                cx.tick,
                cx.round,
                account,
                market,
                side,
                Lots(qty.0.abs()),
                mark,
            );
            cx.log.events.push(event);
            cx.tick
        });
        cx.tick >= since + self.grace_ticks
    }

    fn end_tick(&mut self, _cx: &mut Cx<'_>) {
        // An account not found below maintenance this tick has recovered
        // (or been closed): its next breach starts a new grace period.
        let seen = std::mem::take(&mut self.seen);
        self.since.retain(|a, _| seen.contains(a));
    }
}

fn run(grace_ticks: Option<u64>) -> Result<(RunSummary, usize), Box<dyn std::error::Error>> {
    let mut sim = Simulation::new(flash_crash(42))?;
    seed_leveraged(&mut sim, MarketId(0), 20_000);
    if let Some(grace_ticks) = grace_ticks {
        sim.add_mechanism(GracePeriod { grace_ticks, ..GracePeriod::default() });
    }
    writeln!(std::io::stdout(), "mechanisms: {}", sim.mechanisms().join(", "))?;
    sim.run(600);
    let out = sim.finish()?;
    let graces = out.events.column("kind")?.str()?.iter().filter(|k| *k == Some("grace")).count();
    Ok((out.summary, graces))
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let (base, _) = run(None)?;
    let (late, graces) = run(Some(5))?;
    let mut text = format!("\n{:<28} {:>14} {:>14}\n", "flash crash, seed 42", "no grace", "5-tick grace");
    let rows = [
        ("liquidations", base.n_liquidations as f64, late.n_liquidations as f64),
        ("liquidated notional (quote)", base.liquidated_notional, late.liquidated_notional),
        ("largest cascade (quote)", base.largest_cascade, late.largest_cascade),
        ("max drawdown (%)", 100.0 * base.max_drawdown, 100.0 * late.max_drawdown),
        ("bad debt (quote)", base.bad_debt, late.bad_debt),
    ];
    for (name, a, b) in rows {
        writeln!(text, "{name:<28} {a:>14.2} {b:>14.2}")?;
    }
    writeln!(text, "grace periods started: {graces}")?;
    std::io::stdout().write_all(text.as_bytes())?;
    Ok(())
}
