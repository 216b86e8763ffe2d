//! `isf simulate`: run simulations. `--config RUN.toml` runs a whole run config (many cells and
//! trials) over all MPI ranks and threads into one HDF5 results file.

use std::path::PathBuf;

use anyhow::Context as _;
use clap::Args;

use crate::run::{comm, run_config, RunOptions};

/// Arguments of `isf simulate`.
#[derive(Args, Debug)]
pub struct SimulateArgs {
    /// Run config (TOML; see configs/example.toml): cells, trials, seeds, recording, output.
    #[arg(long, value_name = "RUN.toml")]
    pub config: Option<PathBuf>,
    /// Continue the config's existing output file: only missing trials are simulated.
    #[arg(long, requires = "config", conflicts_with = "overwrite")]
    pub resume: bool,
    /// Replace the config's existing output file.
    #[arg(long, requires = "config")]
    pub overwrite: bool,
    /// Rayon threads per rank (default: RAYON_NUM_THREADS, else the node's cores / ranks on the node).
    #[arg(long, value_name = "N")]
    pub threads: Option<usize>,
    /// Hide the progress bar.
    #[arg(long)]
    pub no_progress: bool,
}

/// Runs `isf simulate`.
pub fn run(args: SimulateArgs) -> anyhow::Result<()> {
    let Some(config) = args.config else {
        anyhow::bail!("give a run config: isf simulate --config RUN.toml");
    };
    if args.threads == Some(0) {
        anyhow::bail!("--threads must be at least 1");
    }
    let world = comm::world();
    let _rank = tracing::info_span!("rank", r = world.rank()).entered();
    let opts = RunOptions {
        resume: args.resume,
        overwrite: args.overwrite,
        threads: args.threads,
        command_line: std::env::args().collect::<Vec<_>>().join(" "),
        progress: !args.no_progress,
    };
    let summary = run_config(&config, &opts, world.as_ref())
        .with_context(|| format!("run config {}", config.display()))?;
    tracing::info!(
        "{} of {} trials simulated ({} batches were already complete) in {:.2} s",
        summary.trials_run,
        summary.trials_total,
        summary.batches_skipped,
        summary.wall_s
    );
    Ok(())
}
