//! `cascade`: run, sweep, validate and inspect Cascade Lab experiments.

mod cli;
mod cmd;

use std::process::ExitCode;

fn main() -> ExitCode {
    // An exact amount leaving the i64 range unwinds with an `Overflow`,
    // which the run turns into an error naming the quantity and the tick;
    // only other panics are printed as panics.
    cascade_experiments::framework::core::units::quiet_overflow_reports();
    let args = <cli::Cli as clap::Parser>::parse();
    match cmd::run(args) {
        Ok(code) => code,
        Err(e) => {
            if cmd::is_broken_pipe(&e) {
                return ExitCode::SUCCESS;
            }
            eprintln!("error: {e:#}");
            // 2 for input that is not a valid experiment, as `validate`
            // says; 1 for anything that failed while running.
            if cmd::is_invalid(&e) { ExitCode::from(2) } else { ExitCode::FAILURE }
        }
    }
}
