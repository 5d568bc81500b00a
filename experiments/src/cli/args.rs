//! Command-line arguments, parsed into typed values.

use crate::sweep::Shard;
use clap::{Args, Parser, Subcommand};
use std::path::PathBuf;

/// Agent-based experiments on liquidation cascades. With no command, runs
/// the embedded flash-crash experiment.
#[derive(Debug, Parser)]
#[command(name = "cascade", version, about)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run one experiment.
    Run(RunArgs),
    /// Run an experiment's sweep: every point, every replicate, on all cores.
    Sweep(SweepArgs),
    /// Play an experiment's game: run the strategy profiles it needs and
    /// find the equilibria, with their regret and the cascade at each.
    Game(SweepArgs),
    /// Check experiment files and report every error with its line.
    Validate {
        /// Experiment files (or names of shipped experiments).
        #[arg(required = true)]
        files: Vec<String>,
    },
    /// Print the JSON Schema of experiment files (for editor completion).
    Schema,
    /// Rewrite experiment files written before units were declared (prices
    /// in ticks, money in micros, rates in ppm) in quote units, exactly,
    /// keeping their comments.
    Migrate {
        /// Experiment files, rewritten in place.
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// Print the rewritten files instead of writing them.
        #[arg(long)]
        stdout: bool,
    },
    /// List the shipped experiments.
    List,
    /// Combine the runs of a sharded sweep or game into its frames.
    Merge {
        /// The sweep's folder, `results/<name>/sweeps/<sweep-id>`, or the
        /// game's, `results/<name>/games/<game-id>`.
        dir: PathBuf,
    },
    /// Draw a run's or a sweep's charts again from its Parquet files.
    Plot {
        /// A run folder or a sweep folder.
        dir: PathBuf,
        /// A sweep's metrics to chart, by summary column name
        /// (`--metric socialized_loss`): their metric charts and the panels
        /// of the paired chart; every metric with data when absent.
        #[arg(long = "metric")]
        metrics: Vec<String>,
        /// A sweep's swept path on the x axis of its metric charts (the
        /// first axis when absent); the other axes give one line each.
        #[arg(long)]
        x: Option<String>,
        /// A log scale on x (a linear one with `--log-x false`); when
        /// absent, log when the values span more than two decades.
        #[arg(long, num_args = 0..=1, default_missing_value = "true")]
        log_x: Option<bool>,
    },
    /// Write a Jupyter notebook for a run or a sweep.
    Notebook {
        /// A run folder or a sweep folder.
        dir: PathBuf,
    },
    /// Write LaTeX and Markdown tables of a run's or a sweep's metrics.
    Table {
        /// A run folder or a sweep folder.
        dir: PathBuf,
        /// The metrics of the table, by summary column name
        /// (`--metric socialized_loss --metric fund_used`); the usual ones
        /// when absent.
        #[arg(long = "metric")]
        metrics: Vec<String>,
    },
    /// Time one run's setup, tick loop and export (nothing is kept).
    Bench(BenchArgs),
    /// Run the shipped replications of published results and judge them;
    /// exit code 1 if a claim fails.
    Replicate(ReplicateArgs),
    /// Make a run again from its manifest and compare every file's SHA-256
    /// with the manifest and the file on disk; exit code 1 if any differs.
    Reproduce {
        /// A run folder (or its manifest.json), or a sweep, game or
        /// replication folder (`<out>/<name>/sweeps/<id>`), whose runs are
        /// reproduced.
        path: PathBuf,
        /// Reproduce at most this many runs of a sweep or game, spread over
        /// its plan.
        #[arg(long, value_parser = clap::value_parser!(u32).range(1..))]
        runs: Option<u32>,
        /// Keep the new runs in this folder (a temporary folder, removed,
        /// when absent).
        #[arg(long)]
        keep: Option<PathBuf>,
    },
}

/// `cascade bench`.
#[derive(Debug, Args)]
pub struct BenchArgs {
    /// Experiment file, or the name of a shipped experiment.
    #[arg(default_value = "flash_crash")]
    pub file: String,
    /// Size of the first leveraged population.
    #[arg(long)]
    pub n: Option<u32>,
    /// Parameter, seed and tick overrides.
    #[command(flatten)]
    pub overrides: Overrides,
    /// Runs to time; the median is printed.
    #[arg(long, default_value_t = 3)]
    pub repeat: u32,
    /// Resource limits.
    #[command(flatten)]
    pub budget: BudgetArgs,
}

/// `cascade replicate`.
#[derive(Debug, Args)]
pub struct ReplicateArgs {
    /// Replications by name (all shipped ones when none), or files.
    pub names: Vec<String>,
    /// The smaller budget each replication names for continuous
    /// integration.
    #[arg(long)]
    pub quick: bool,
    /// Worker threads (default: all cores). Results do not depend on it.
    #[arg(long)]
    pub threads: Option<usize>,
    /// Output folder; the report goes to `<out>/replications/`.
    #[arg(long, default_value = "results")]
    pub out: PathBuf,
    /// Resource limits.
    #[command(flatten)]
    pub budget: BudgetArgs,
}

/// Changes to an experiment from the command line.
#[derive(Debug, Args, Default, Clone)]
pub struct Overrides {
    /// Set a parameter, e.g. `--set populations.leveraged.count=500`.
    #[arg(long = "set", value_name = "PATH=VALUE")]
    pub set: Vec<String>,
    /// Override the seed.
    #[arg(long)]
    pub seed: Option<u64>,
    /// Override the number of ticks.
    #[arg(long)]
    pub ticks: Option<u64>,
}

/// The resource limits a run or sweep must fit (see
/// `crate::budget`).
#[derive(Debug, Args, Default, Clone)]
pub struct BudgetArgs {
    /// Refuse plans estimated to need more memory than this, e.g. `16G`
    /// (default: three quarters of the machine's memory).
    #[arg(long, value_name = "SIZE", value_parser = crate::budget::parse_size)]
    pub max_memory: Option<u64>,
    /// Refuse plans whose agents are expected to send more orders per tick
    /// than this (default: 1,000,000).
    #[arg(long, value_name = "N")]
    pub max_orders_per_tick: Option<u64>,
}

impl BudgetArgs {
    /// The limits these flags set.
    pub fn limits(&self) -> crate::budget::Limits {
        crate::budget::Limits::new(self.max_memory, self.max_orders_per_tick)
    }
}

/// Options shared by `run` and `sweep`.
#[derive(Debug, Args)]
pub struct Common {
    /// Experiment file, or the name of a shipped experiment.
    pub file: String,
    /// Parameter, seed and tick overrides.
    #[command(flatten)]
    pub overrides: Overrides,
    /// Output folder.
    #[arg(long, default_value = "results")]
    pub out: PathBuf,
    /// Reuse finished runs made by another build of the model (by default
    /// a run whose manifest records another model fingerprint is run
    /// again).
    #[arg(long, alias = "reuse-any-build")]
    pub reuse_any_version: bool,
    /// Resource limits.
    #[command(flatten)]
    pub budget: BudgetArgs,
}

/// `cascade run`.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// Shared options.
    #[command(flatten)]
    pub common: Common,
}

/// `cascade sweep`.
#[derive(Debug, Args)]
pub struct SweepArgs {
    /// Shared options.
    #[command(flatten)]
    pub common: Common,
    /// Worker threads (default: all cores). Results do not depend on it.
    #[arg(long)]
    pub threads: Option<usize>,
    /// Run only shard I of N (runs whose index is I modulo N), for cluster
    /// job arrays; combine with `cascade merge`.
    #[arg(long, value_name = "I/N")]
    pub shard: Option<Shard>,
}

impl Common {
    /// Which finished runs may be reused.
    pub fn reuse(&self) -> crate::run::Reuse {
        if self.reuse_any_version { crate::run::Reuse::AnyVersion } else { crate::run::Reuse::SameModel }
    }
}
