//! The resource budget: before anything runs, an estimate of the memory a
//! run, a sweep or a game needs, and of the orders its agents send per tick.
//! A plan above the limits is refused with the estimate and the flag that
//! raises the limit (`--max-memory`, `--max-orders-per-tick`), so that a
//! config the schema accepts cannot exhaust the machine or never finish.
//!
//! The estimate is linear in what a run holds until it is written:
//!
//! ```text
//! bytes = BASE + AGENT × agents + LEVEL × book levels (both sides, every market)
//!       + TICK_ROW × ticks × markets + HEAT_ROW × heatmap rows
//! ```
//!
//! The coefficients are peak resident set sizes measured with the release
//! binary (`/usr/bin/time -f %M cascade run …`), rounded up:
//!
//! | term | measured | coefficient |
//! | --- | --- | --- |
//! | leveraged traders, 100k → 400k | 748 B each | 800 B |
//! | noise traders, 1k → 100k | 650 B each | 800 B |
//! | ticks, 100k → 1M, one market | 1,009 B per tick | 1,100 B |
//! | book levels, 1k → 100k a side | 344 B per level pair | 400 B |
//! | heatmap rows, `thin_book` 50k → 150k ticks (70 rows a sample) | about 250 B a row | 256 B |
//!
//! The heatmap term assumes a sample fills every bucket of a range as wide
//! as the initial price (200 buckets at 50 bps); `thin_book` fills 70, so
//! the estimate errs on the high side there.
//!
//! A sweep holds one run per worker thread at a time, plus a row per run for
//! the aggregate frames (`SWEEP_RUN`). Orders per tick are expected values:
//! a noise trader sends `rate`, a market maker re-quotes `2 × levels`, every
//! other non-leveraged agent at most one; leveraged traders act only when
//! liquidated, which the protocol's rounds bound. Keepers look at every
//! open auction each tick: their scans count as work too, at most
//! `keepers × positions that can be auctioned` a tick, against the same
//! limit.

use crate::spec::experiment::{Experiment, PopulationSpec};
use crate::sweep::Plan;

/// Bytes a process needs before any agent exists.
pub const BASE: u64 = 48 << 20;
/// Bytes per agent, its account, position and output row.
pub const AGENT: u64 = 800;
/// Bytes per book level pair (a bid and an ask level).
pub const LEVEL: u64 = 400;
/// Bytes per recorded tick and market (the ticks frame and its export).
pub const TICK_ROW: u64 = 1_100;
/// Bytes per heatmap row (bucket and sample).
pub const HEAT_ROW: u64 = 256;
/// Bytes per planned run of a sweep (its plan entry and aggregate row).
pub const SWEEP_RUN: u64 = 1_024;

/// The default order limit per tick.
pub const DEFAULT_ORDERS_PER_TICK: u64 = 1_000_000;

/// What a plan needs, by term.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Estimate {
    /// Agents, bytes.
    pub agents: u64,
    /// Order books, bytes.
    pub books: u64,
    /// The recorder's frames, bytes.
    pub recorder: u64,
    /// Runs held at once (worker threads), and the sweep's own rows, bytes.
    pub sweep: u64,
    /// Runs held at once.
    pub concurrent: u64,
    /// Expected orders per tick of the busiest run.
    pub orders_per_tick: f64,
    /// Keepers' looks at open auctions per tick, at most, of the busiest
    /// run.
    pub scans_per_tick: f64,
}

impl Estimate {
    /// The estimate of one run.
    pub fn run(exp: &Experiment) -> Estimate {
        let agents: u64 = exp.populations.iter().map(|p| u64::from(p.count())).sum();
        let levels: u64 = exp.markets.iter().map(|m| u64::from(m.depth.levels)).sum();
        let markets = exp.markets.len() as u64;
        let every = exp.recording.heatmap_every;
        let heat_rows = if every == 0 {
            0
        } else {
            // Buckets that can hold liquidation prices, on perpetuals: a
            // range as wide as the initial price, and at most one per agent.
            let perps = exp.markets.iter().filter(|m| m.spot.is_none()).count() as u64;
            let buckets = (10_000 / u64::from(exp.recording.heatmap_bucket_bps.max(1))).min(agents.max(1));
            exp.ticks.div_ceil(every).saturating_mul(buckets).saturating_mul(perps)
        };
        let recorder = exp
            .ticks
            .saturating_mul(markets)
            .saturating_mul(TICK_ROW)
            .saturating_add(heat_rows.saturating_mul(HEAT_ROW));
        Estimate {
            agents: agents.saturating_mul(AGENT),
            books: levels.saturating_mul(LEVEL),
            recorder,
            sweep: 0,
            concurrent: 1,
            orders_per_tick: exp.populations.iter().map(PopulationSpec::orders_per_tick).sum(),
            scans_per_tick: scans_per_tick(exp),
        }
    }

    /// The estimate of a sweep (or a game's runs) on `threads` workers: its
    /// largest run, times the runs held at once, plus its rows.
    pub fn sweep(plan: &Plan, threads: usize) -> Estimate {
        let each: Vec<Estimate> = plan.configs.iter().map(Estimate::run).collect();
        let largest = each.iter().copied().max_by_key(Estimate::per_run).unwrap_or_default();
        let busiest = each.iter().map(|e| e.orders_per_tick).fold(0.0, f64::max);
        let scans = each.iter().map(|e| e.scans_per_tick).fold(0.0, f64::max);
        let concurrent = (threads.max(1) as u64).min(plan.runs.len().max(1) as u64);
        Estimate {
            sweep: (plan.runs.len() as u64).saturating_mul(SWEEP_RUN),
            concurrent,
            orders_per_tick: busiest,
            scans_per_tick: scans,
            ..largest
        }
    }

    /// Bytes of one run without the process base.
    fn per_run(&self) -> u64 {
        self.agents.saturating_add(self.books).saturating_add(self.recorder)
    }

    /// Peak bytes of the whole process.
    pub fn memory(&self) -> u64 {
        BASE.saturating_add(self.per_run().saturating_mul(self.concurrent)).saturating_add(self.sweep)
    }
}

/// Keepers' scans of open auctions per tick, at most: every keeper looks
/// at every auction, and every leveraged position may be in one.
fn scans_per_tick(exp: &Experiment) -> f64 {
    let count = |keep: fn(&PopulationSpec) -> bool| -> f64 {
        exp.populations.iter().filter(|p| keep(p)).map(|p| f64::from(p.count())).sum()
    };
    let keepers = count(PopulationSpec::scans_auctions);
    let positions = count(PopulationSpec::holds_positions);
    keepers * positions
}

/// The limits a plan must fit.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Limits {
    /// Bytes.
    pub memory: u64,
    /// Where the memory limit comes from, for messages.
    pub memory_source: &'static str,
    /// Orders per tick.
    pub orders_per_tick: u64,
}

impl Limits {
    /// The limits with `--max-memory` and `--max-orders-per-tick` when
    /// given; otherwise three quarters of this machine's memory (8 GiB
    /// where it cannot be read) and [`DEFAULT_ORDERS_PER_TICK`].
    pub fn new(max_memory: Option<u64>, max_orders_per_tick: Option<u64>) -> Limits {
        let (memory, memory_source) = match max_memory {
            Some(m) => (m, "set by --max-memory"),
            None => match physical_memory() {
                Some(total) => (total / 4 * 3, "three quarters of this machine's memory"),
                None => (8 << 30, "the default; this machine's memory could not be read"),
            },
        };
        Limits { memory, memory_source, orders_per_tick: max_orders_per_tick.unwrap_or(DEFAULT_ORDERS_PER_TICK) }
    }

    /// Checks an estimate; the error says what needs the memory or the
    /// work and how to raise the limit.
    pub fn check(&self, what: &str, e: &Estimate) -> Result<(), String> {
        if e.memory() > self.memory {
            let mut terms = vec![
                format!("agents {}", bytes(e.agents)),
                format!("recorded ticks and heatmap {}", bytes(e.recorder)),
                format!("order books {}", bytes(e.books)),
            ];
            if e.concurrent > 1 {
                terms.push(format!("× {} runs at once", e.concurrent));
            }
            if e.sweep > 0 {
                terms.push(format!("+ sweep rows {}", bytes(e.sweep)));
            }
            return Err(format!(
                "{what} needs about {} of memory ({}), above the limit of {} ({}); \
                 use fewer agents or ticks (or fewer --threads), or raise the limit with --max-memory {}",
                bytes(e.memory()),
                terms.join(", "),
                bytes(self.memory),
                self.memory_source,
                round_up_gib(e.memory()),
            ));
        }
        if e.orders_per_tick + e.scans_per_tick > self.orders_per_tick as f64 && e.scans_per_tick > 0.0 {
            let work = e.orders_per_tick + e.scans_per_tick;
            return Err(format!(
                "{what} may do about {work:.0} orders and keeper scans per tick ({:.0} keepers' looks at open \
                 auctions, {:.0} orders), above the limit of {}; use fewer keepers or positions, \
                 or raise the limit with --max-orders-per-tick {:.0}",
                e.scans_per_tick,
                e.orders_per_tick,
                self.orders_per_tick,
                work.ceil(),
            ));
        }
        if e.orders_per_tick > self.orders_per_tick as f64 {
            return Err(format!(
                "{what} sends about {:.0} orders per tick, above the limit of {}; \
                 lower the noise rates or counts, or raise the limit with --max-orders-per-tick {:.0}",
                e.orders_per_tick,
                self.orders_per_tick,
                e.orders_per_tick.ceil(),
            ));
        }
        Ok(())
    }
}

/// `MemTotal` of `/proc/meminfo`, bytes.
fn physical_memory() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = text.lines().find(|l| l.starts_with("MemTotal:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    kib.checked_mul(1024)
}

/// A size for people: `1.5 GiB`, `300 MiB`.
pub fn bytes(n: u64) -> String {
    const GIB: f64 = (1u64 << 30) as f64;
    const MIB: f64 = (1u64 << 20) as f64;
    let x = n as f64;
    if x >= GIB { format!("{:.1} GiB", x / GIB) } else { format!("{:.0} MiB", (x / MIB).ceil()) }
}

/// The smallest whole number of GiB at or above `n`, as a flag value.
fn round_up_gib(n: u64) -> String {
    format!("{}G", n.div_ceil(1 << 30))
}

/// Parses a size: a number of bytes with an optional unit, `K`, `M`, `G`
/// or `T` (powers of 1024; `KiB`, `MB`, … are read the same way).
pub fn parse_size(text: &str) -> Result<u64, String> {
    let t = text.trim();
    let split = t.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(t.len());
    let (number, unit) = t.split_at(split);
    let number: f64 = number.parse().map_err(|_| format!("{text:?} is not a size such as 512M or 16G"))?;
    let shift = match unit.trim().to_ascii_uppercase().trim_end_matches('B').trim_end_matches('I') {
        "" => 0,
        "K" => 10,
        "M" => 20,
        "G" => 30,
        "T" => 40,
        _ => return Err(format!("{text:?}: the unit must be K, M, G or T")),
    };
    let value = number * (1_u64 << shift) as f64;
    if !(value.is_finite() && value >= 1.0 && value < u64::MAX as f64) {
        return Err(format!("{text:?} is not a size between 1 byte and 16 EiB"));
    }
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss, reason = "checked to be in range above")]
    Ok(value as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_parse_with_binary_units() {
        assert_eq!(parse_size("512"), Ok(512));
        assert_eq!(parse_size("4K"), Ok(4096));
        assert_eq!(parse_size("1.5G"), Ok(3 << 29));
        assert_eq!(parse_size("16GiB"), Ok(16 << 30));
        assert_eq!(parse_size("2 MB"), Ok(2 << 20));
        assert_eq!(parse_size("1T"), Ok(1 << 40));
        assert!(parse_size("lots").is_err());
        assert!(parse_size("3X").is_err());
        assert!(parse_size("0").is_err());
    }

    #[test]
    fn sizes_print_for_people() {
        assert_eq!(bytes(300 << 20), "300 MiB");
        assert_eq!(bytes(3 << 29), "1.5 GiB");
        assert_eq!(round_up_gib((1 << 30) + 1), "2G");
    }
}
