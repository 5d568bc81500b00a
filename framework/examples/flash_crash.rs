//! A flash crash end to end: 20,000 leveraged positions in a BTC-like
//! market, the index falls 8% over 30 seconds, and the liquidation engine
//! runs. Prints a summary and writes the run's Parquet files.
//!
//! ```text
//! cargo run --release -p cascade-framework --example flash_crash -- [SEED] [OUT_DIR]
//! ```

use cascade_framework::presets::{flash_crash, seed_leveraged};
use cascade_framework::{MarketId, Simulation};
use std::path::PathBuf;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let seed: u64 = args.next().map(|s| s.parse()).transpose()?.unwrap_or(42);
    let out: PathBuf = args.next().map(PathBuf::from).unwrap_or_else(|| PathBuf::from("results/flash_crash_example"));
    let mut sim = Simulation::new(flash_crash(seed))?;
    seed_leveraged(&mut sim, MarketId(0), 20_000);
    sim.run(600);
    let (value, put_in) = sim.value_balance();
    assert_eq!(value, put_in, "value must be conserved exactly");
    let mut output = sim.finish()?;
    let files = output.write_parquet(&out)?;
    let s = &output.summary;
    let report = format!(
        "flash crash, seed {seed}, {} ticks\n  max drawdown         {:.2}% (trough at tick {})\n  half recovery        {}\n  liquidations         {}\n  liquidated notional  {:.0} quote\n  largest cascade      {:.0} quote in one tick\n  most rounds in tick  {}\n  bad debt             {:.2} quote (uncovered {:.2})\n  insurance fund       {:.0} quote\n  value conserved      yes (exactly)\n",
        s.ticks,
        100.0 * s.max_drawdown,
        s.trough_tick,
        s.half_recovery_ticks.map_or("not within the run".to_owned(), |t| format!("{t} ticks")),
        s.n_liquidations,
        s.liquidated_notional,
        s.largest_cascade,
        s.max_rounds,
        s.bad_debt,
        s.uncovered_bad_debt,
        s.insurance_fund,
    );
    let mut text = report;
    text.push_str(&format!("wrote {} files to {}\n", files.len(), out.display()));
    use std::io::Write;
    std::io::stdout().write_all(text.as_bytes())?;
    Ok(())
}
