//! `cascade`: run, sweep, validate and inspect Cascade Lab experiments.

fn main() -> std::process::ExitCode {
    cascade_experiments::cli::main()
}
