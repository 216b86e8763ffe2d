//! `isf replay`: re-simulate a saved ISF synapse activation file (ISF's
//! `run_existing_synapse_activations`) and write ISF's result files into a new folder.

use std::path::PathBuf;

use clap::Args;

use crate::mechanisms::Numerics;
use crate::output::StagedDir;
use crate::recipe::replay::ReplayFiles;
use crate::recipe::{Inputs, Probes, Recipe};

/// Arguments of `isf replay`.
#[derive(Args, Debug)]
pub struct ReplayArgs {
    /// Cell parameter file (ISF `.param`).
    #[arg(value_name = "CELL.param")]
    pub cell: PathBuf,
    /// Network parameter file: receptors, their parameters and weights per population.
    #[arg(value_name = "NETWORK.param")]
    pub network: PathBuf,
    /// ISF synapse activation file (`simulation_runNNNN_synapses.csv`).
    #[arg(value_name = "SYNAPSES.csv")]
    pub synapses: PathBuf,
    /// Stop time \[ms\] (default: the cell parameter file's `sim.tStop`).
    #[arg(long, value_name = "T")]
    pub tstop: Option<f64>,
    /// Time step \[ms\] (default: the cell parameter file's `sim.dt`).
    #[arg(long, value_name = "DT", allow_negative_numbers = true)]
    pub dt: Option<f64>,
    /// `fast` (default): the mechanisms' equations rearranged for speed, NEURON's results to
    /// round-off; `exact`: NEURON's operation order (slower; reproduces even NEURON's
    /// round-off-driven runaways).
    #[arg(long, value_name = "fast|exact", default_value = "fast")]
    pub numerics: Numerics,
    /// Output folder to create (must not exist, or be empty, unless `--overwrite`).
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// Replace an existing output folder (once the new one is complete).
    #[arg(long)]
    pub overwrite: bool,
    /// File name prefix (default as ISF's replay: `seed00000_pid<process id>`).
    #[arg(long)]
    pub prefix: Option<String>,
    /// Compiled mechanisms to load.
    #[command(flatten)]
    pub mechanisms: super::mech::MechanismArgs,
}

impl ReplayArgs {
    /// The replay's recipe: the cell with the saved activations as its input.
    pub fn recipe(&self) -> Recipe {
        Recipe {
            cell_param: self.cell.clone(),
            inputs: Inputs::Replay {
                network_param: self.network.clone(),
                synapses: self.synapses.clone(),
            },
            probes: Probes::default(),
            tstop_ms: self.tstop,
            dt_ms: self.dt,
            numerics: self.numerics,
        }
    }
}

/// Runs `isf replay`.
pub fn run(args: &ReplayArgs) -> anyhow::Result<()> {
    args.mechanisms.load()?;
    let summary = replay(args)?;
    println!(
        "{}: {} synapses, {} releases, {} soma spikes{}; {} samples in {:.2} s",
        summary.out.display(),
        summary.synapses,
        summary.releases,
        summary.spikes_ms.len(),
        if summary.spikes_ms.is_empty() {
            String::new()
        } else {
            format!(
                " at {} ms",
                summary
                    .spikes_ms
                    .iter()
                    .map(|t| format!("{t:.3}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        },
        summary.samples,
        summary.wall_s
    );
    Ok(())
}

/// What a replay produced.
#[derive(Debug, Clone)]
pub struct ReplaySummary {
    /// The output folder.
    pub out: PathBuf,
    /// Active synapses replayed.
    pub synapses: usize,
    /// Release events.
    pub releases: usize,
    /// Soma spike times \[ms\].
    pub spikes_ms: Vec<f64>,
    /// Samples per trace.
    pub samples: usize,
    /// Simulation wall time \[s\].
    pub wall_s: f64,
}

/// Replays `args.synapses` and writes the output folder. Every input is checked before the
/// folder is created; the folder appears complete or not at all.
pub fn replay(args: &ReplayArgs) -> anyhow::Result<ReplaySummary> {
    if let Some(dt) = args.dt {
        if !(dt.is_finite() && dt > 0.0) {
            anyhow::bail!("--dt must be a positive number of ms, got {dt}");
        }
        if let Err(m) = crate::limits::check_dt(dt) {
            anyhow::bail!("--dt: {m}");
        }
    }
    if let Some(t) = args.tstop {
        if !(t.is_finite() && t >= 0.0) {
            anyhow::bail!("--tstop must be a non-negative number of ms, got {t}");
        }
    }
    let _lock = super::output::lock(&args.out)?;
    super::output::check(&args.out, args.overwrite)?;
    let prefix = match &args.prefix {
        Some(p) => {
            if p.is_empty() || p.contains(['/', '\\', '\t', '\n']) {
                anyhow::bail!("--prefix {p:?} must be a plain non-empty file name part");
            }
            p.clone()
        }
        None => format!("seed00000_pid{}", std::process::id()),
    };
    let cell = args.recipe().build()?;
    let trial = cell.replay()?;
    let result = cell.simulate_replay()?;
    let staged = StagedDir::with_overwrite(&args.out, args.overwrite)?;
    let network_param = (cell.network_params.as_ref().map(|n| &n.file))
        .ok_or_else(|| anyhow::anyhow!("a replay's recipe has no network parameter file"))?;
    ReplayFiles {
        prefix: &prefix,
        site_labels: &cell.sim.site_labels(),
        result: &result,
        trial,
        cell_param: &cell.cell_params.file,
        network_param,
    }
    .write(staged.path())?;
    let out = staged.commit()?;
    Ok(ReplaySummary {
        out,
        synapses: trial.inputs.synapses.len(),
        releases: trial.inputs.release_count(),
        spikes_ms: result.soma_spikes_ms.clone(),
        samples: result.t_ms.len(),
        wall_s: result.wall_time_s,
    })
}
