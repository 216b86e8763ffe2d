//! `isf replay`: re-simulate saved ISF synapse activation files (ISF's
//! `run_existing_synapse_activations`) and write ISF's result files into a new folder. Several
//! files run side by side in batches (docs/architecture.md#batched-trials) on every thread.

use std::path::PathBuf;

use clap::Args;

use crate::mechanisms::Numerics;
use crate::output::StagedDir;
use crate::recipe::replay::{ReplayFiles, ReplayRun, ReplayTrial};
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
    /// ISF synapse activation files (`simulation_runNNNN_synapses.csv`), one run each, numbered
    /// in this order.
    #[arg(value_name = "SYNAPSES.csv", required = true, num_args = 1..)]
    pub synapses: Vec<PathBuf>,
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
    /// The replay's recipe: the cell with the first file's saved activations as its input.
    pub fn recipe(&self) -> anyhow::Result<Recipe> {
        let synapses = (self.synapses.first().cloned())
            .ok_or_else(|| anyhow::anyhow!("no synapse activation file to replay"))?;
        Ok(Recipe {
            cell_param: self.cell.clone(),
            inputs: Inputs::Replay {
                network_param: self.network.clone(),
                synapses,
            },
            probes: Probes::default(),
            tstop_ms: self.tstop,
            dt_ms: self.dt,
            numerics: self.numerics,
        })
    }
}

/// Runs `isf replay`.
pub fn run(args: &ReplayArgs) -> anyhow::Result<()> {
    args.mechanisms.load()?;
    let summary = replay(args)?;
    let several = summary.runs.len() > 1;
    for (n, run) in summary.runs.iter().enumerate() {
        let spikes = if run.spikes_ms.is_empty() {
            String::new()
        } else {
            let t: Vec<String> = run.spikes_ms.iter().map(|t| format!("{t:.3}")).collect();
            format!(" at {} ms", t.join(", "))
        };
        let head = if several {
            format!("run {n:07} ({})", run.file.display())
        } else {
            summary.out.display().to_string()
        };
        println!(
            "{head}: {} synapses, {} releases, {} soma spikes{spikes}",
            run.synapses,
            run.releases,
            run.spikes_ms.len(),
        );
    }
    println!(
        "{}: {} run{}, {} samples each, in {:.2} s",
        summary.out.display(),
        summary.runs.len(),
        if several { "s" } else { "" },
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
    /// Per activation file, in order.
    pub runs: Vec<ReplayRunSummary>,
    /// Samples per trace.
    pub samples: usize,
    /// Wall time of reading, simulating and writing \[s\].
    pub wall_s: f64,
}

/// What the replay of one activation file produced.
#[derive(Debug, Clone)]
pub struct ReplayRunSummary {
    /// The activation file.
    pub file: PathBuf,
    /// Active synapses replayed.
    pub synapses: usize,
    /// Release events.
    pub releases: usize,
    /// Soma spike times \[ms\].
    pub spikes_ms: Vec<f64>,
}

/// Replays `args.synapses` and writes the output folder. Every input is checked before the
/// folder is created; the folder appears complete or not at all.
pub fn replay(args: &ReplayArgs) -> anyhow::Result<ReplaySummary> {
    let start = std::time::Instant::now();
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
    let cell = args.recipe()?.build()?;
    // The recipe read the first file; every other one is read and checked before any output.
    let mut others = vec![];
    for file in &args.synapses[1..] {
        others.push(cell.read_replay(file)?);
    }
    let trials: Vec<&ReplayTrial> = std::iter::once(cell.replay()?).chain(&others).collect();
    let results = cell.simulate_replays(&trials)?;
    let runs: Vec<ReplayRun> = (args.synapses.iter().zip(&trials).zip(&results))
        .map(|((file, &trial), result)| ReplayRun {
            file,
            trial,
            result,
        })
        .collect();
    let staged = StagedDir::with_overwrite(&args.out, args.overwrite)?;
    let network_param = (cell.network_params.as_ref().map(|n| &n.file))
        .ok_or_else(|| anyhow::anyhow!("a replay's recipe has no network parameter file"))?;
    ReplayFiles {
        prefix: &prefix,
        site_labels: &cell.sim.site_labels(),
        runs: &runs,
        cell_param: &cell.cell_params.file,
        network_param,
    }
    .write(staged.path())?;
    let out = staged.commit()?;
    Ok(ReplaySummary {
        out,
        runs: runs
            .iter()
            .map(|r| ReplayRunSummary {
                file: r.file.to_path_buf(),
                synapses: r.trial.inputs.synapses.len(),
                releases: r.trial.inputs.release_count(),
                spikes_ms: r.result.soma_spikes_ms.clone(),
            })
            .collect(),
        samples: results.first().map_or(0, |r| r.t_ms.len()),
        wall_s: start.elapsed().as_secs_f64(),
    })
}
