//! `isf simulate`: run simulations. `isf simulate CELL.param NETWORK.param --seed S` runs one ISF
//! task (N sweeps from one numpy seed) and writes ISF's output folder; `--config RUN.toml` runs a
//! whole run config (many cells and trials) over all MPI ranks and threads into one HDF5
//! results file.

use std::path::PathBuf;

use anyhow::Context as _;
use clap::Args;

use crate::comm;
use crate::run::{run_config, RunError, RunOptions};

/// Arguments of `isf simulate`.
#[derive(Args, Debug)]
pub struct SimulateArgs {
    /// Cell parameter file (ISF `.param`) of a single task.
    #[arg(
        value_name = "CELL.param",
        conflicts_with = "config",
        requires = "network"
    )]
    pub cell: Option<PathBuf>,
    /// Network parameter file of a single task.
    #[arg(value_name = "NETWORK.param", conflicts_with = "config")]
    pub network: Option<PathBuf>,
    /// numpy seed of the task (< 2^32); the same seed gives ISF's trials.
    #[arg(long, default_value_t = 0, conflicts_with = "config")]
    pub seed: u32,
    /// Sweeps (trials) of the task, drawn one after the other from the seeded stream.
    #[arg(long, default_value_t = 1, conflicts_with = "config")]
    pub sweeps: usize,
    /// Stop time \[ms\] (default: the cell parameter file's `sim.tStop`).
    #[arg(long, value_name = "T", conflicts_with = "config")]
    pub tstop: Option<f64>,
    /// Time step \[ms\] (default: the cell parameter file's `sim.dt`).
    #[arg(
        long,
        value_name = "DT",
        conflicts_with = "config",
        allow_negative_numbers = true
    )]
    pub dt: Option<f64>,
    /// `fast` (default) or `exact` numerics, as for `isf replay` (task mode; a run config sets
    /// `numerics` per cell).
    #[arg(
        long,
        value_name = "fast|exact",
        default_value = "fast",
        conflicts_with = "config"
    )]
    pub numerics: crate::mechanisms::Numerics,
    /// Output folder to create (default as ISF: `results/<YYYYmmdd-HHMM>_seed<S>_pid<pid>`).
    #[arg(long, value_name = "DIR", conflicts_with = "config")]
    pub out: Option<PathBuf>,
    /// File name prefix (default as ISF: `seed<S>_pid<process id>`).
    #[arg(long, conflicts_with = "config")]
    pub prefix: Option<String>,
    /// Run config (TOML; see configs/example.toml): cells, trials, seeds, recording, output.
    #[arg(long, value_name = "RUN.toml")]
    pub config: Option<PathBuf>,
    /// Continue the config's existing output file: only missing trials are simulated.
    #[arg(long, requires = "config", conflicts_with = "overwrite")]
    pub resume: bool,
    /// Replace the existing output: the config's results file, or the task's `--out` folder
    /// (once the new one is complete).
    #[arg(long)]
    pub overwrite: bool,
    /// Rayon threads per rank (default: RAYON_NUM_THREADS, else the CPUs the launcher bound the rank to, or, unbound, the node's CPUs divided among its ranks).
    #[arg(long, value_name = "N")]
    pub threads: Option<usize>,
    /// Hide the progress bar.
    #[arg(long)]
    pub no_progress: bool,
    /// Compiled mechanisms to load.
    #[command(flatten)]
    pub mechanisms: super::mech::MechanismArgs,
}

/// Runs `isf simulate`.
pub fn run(args: SimulateArgs) -> anyhow::Result<()> {
    let Some(config) = args.config else {
        return match (&args.cell, &args.network) {
            (Some(cell), Some(network)) => {
                args.mechanisms.load()?;
                run_task(&args, cell, network)
            }
            _ => anyhow::bail!(
                "give a cell and a network parameter file (isf simulate CELL.param NETWORK.param \
                 --seed S) or a run config (isf simulate --config RUN.toml)"
            ),
        };
    };
    if args.threads == Some(0) {
        anyhow::bail!("--threads must be at least 1");
    }
    isf_io::signals::set_note(
        "the results file keeps every batch completed before the interrupt; continue the run \
         with `isf simulate --config … --resume`",
    );
    let world = comm::world();
    let _rank = tracing::info_span!("rank", r = world.rank()).entered();
    let opts = RunOptions {
        resume: args.resume,
        overwrite: args.overwrite,
        threads: args.threads,
        command_line: std::env::args().collect::<Vec<_>>().join(" "),
        progress: !args.no_progress,
        mechanisms: args.mechanisms.request(),
        ..Default::default()
    };
    let summary = match run_config(&config, &opts, world.as_ref()) {
        Ok(s) => s,
        // A config error names the config file (and line) itself.
        Err(e @ RunError::Config { .. }) => return Err(e.into()),
        Err(e) => return Err(e).with_context(|| format!("run config {}", config.display())),
    };
    tracing::info!(
        "{} of {} trials simulated ({} batches were already complete) in {:.2} s",
        summary.trials_run,
        summary.trials_total,
        summary.batches_skipped,
        summary.wall_s
    );
    Ok(())
}

/// `isf simulate CELL.param NETWORK.param …`: one ISF task into ISF's output folder.
fn run_task(
    args: &SimulateArgs,
    cell: &std::path::Path,
    network: &std::path::Path,
) -> anyhow::Result<()> {
    use crate::run::isf_task::{default_out_dir, run_isf_task_overwriting, IsfTask};
    let prefix = args
        .prefix
        .clone()
        .unwrap_or_else(|| format!("seed{}_pid{}", args.seed, std::process::id()));
    let out = match &args.out {
        Some(o) => o.clone(),
        None => {
            let o = default_out_dir(std::path::Path::new("."), &prefix);
            if let Some(parent) = o.parent() {
                std::fs::create_dir_all(parent)
                    .with_context(|| format!("creating {}", parent.display()))?;
            }
            o
        }
    };
    let _lock = super::output::lock(&out)?;
    let task = IsfTask {
        cell: cell.to_path_buf(),
        network: network.to_path_buf(),
        seed: args.seed,
        sweeps: args.sweeps,
        tstop_ms: args.tstop,
        dt_ms: args.dt,
        numerics: args.numerics,
        out,
        prefix: Some(prefix),
    };
    let summary = run_isf_task_overwriting(&task, args.overwrite)?;
    println!("{}", summary.out.display());
    for (n, s) in summary.sweeps.iter().enumerate() {
        let spikes = s
            .soma_spikes_ms
            .iter()
            .map(|t| format!("{t:.3}"))
            .collect::<Vec<_>>()
            .join(", ");
        println!(
            "sweep {n}: {} presynaptic cells, {} active synapses, {} releases; {} soma spikes{}; \
             network {:.1} ms, simulation {:.2} s",
            s.presynaptic_cells,
            s.synapses,
            s.releases,
            s.soma_spikes_ms.len(),
            if spikes.is_empty() {
                String::new()
            } else {
                format!(" at {spikes} ms")
            },
            s.network_s * 1e3,
            s.simulation_s
        );
    }
    Ok(())
}
