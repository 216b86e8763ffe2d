//! One ISF simulation task (`simrun.run_new_simulations._evoked_activity`,
//! docs/models.md#simulation-tasks): seed numpy's stream once, build the cell and its network, run
//! N sweeps drawing sequentially from that stream, and write ISF's output folder. With the same
//! seed the synapse activation and presynaptic files equal ISF's.

use std::path::{Path, PathBuf};
use std::time::Instant;

use crate::limits::{MAX_SWEEPS, MAX_TASK_TRACE_SAMPLES};
use crate::network::{RandomState, TrialScratch};
use crate::output::isf_export::isf_rows;
use crate::output::isf_files::{
    presynaptic_cells_file_name, synapse_activation_file_name, write_presynaptic_cells_file,
    write_synapse_activation_file, write_trace_file,
};
use crate::output::{write_atomic, StagedDir};
use crate::recipe::Recipe;

/// What to run.
#[derive(Debug, Clone)]
pub struct IsfTask {
    /// Cell parameter file.
    pub cell: PathBuf,
    /// Network parameter file.
    pub network: PathBuf,
    /// numpy seed of the task (ISF: `np.random.seed(seed)`).
    pub seed: u32,
    /// Number of sweeps (trials) drawn one after the other from the seeded stream.
    pub sweeps: usize,
    /// Stop time \[ms\] (ISF's `tStop` argument; default: the cell file's `sim.tStop`).
    pub tstop_ms: Option<f64>,
    /// Time step \[ms\] (default: the cell file's `sim.dt`).
    pub dt_ms: Option<f64>,
    /// Numerics of the mechanisms (`fast` or `exact`, as `isf replay --numerics`).
    pub numerics: crate::mechanisms::Numerics,
    /// Output folder to create (must not exist; its parent must).
    pub out: PathBuf,
    /// File name prefix (default as ISF: `seed<seed>_pid<process id>`).
    pub prefix: Option<String>,
}

/// What one sweep produced.
#[derive(Debug, Clone)]
pub struct SweepSummary {
    /// Active synapses.
    pub synapses: usize,
    /// Release events.
    pub releases: usize,
    /// Presynaptic cells with at least one spike.
    pub presynaptic_cells: usize,
    /// Soma spike times \[ms\].
    pub soma_spikes_ms: Vec<f64>,
    /// Time to draw the network activity \[s\].
    pub network_s: f64,
    /// Time to simulate \[s\].
    pub simulation_s: f64,
}

/// What a task produced.
#[derive(Debug, Clone)]
pub struct IsfTaskSummary {
    /// The output folder.
    pub out: PathBuf,
    /// One entry per sweep.
    pub sweeps: Vec<SweepSummary>,
    /// Time to build the cell, solver model and static network \[s\].
    pub setup_s: f64,
}

impl IsfTask {
    /// The task's recipe: its cell in its network with the task's stop time, step and numerics.
    pub fn recipe(&self) -> Recipe {
        Recipe {
            tstop_ms: self.tstop_ms,
            dt_ms: self.dt_ms,
            numerics: self.numerics,
            ..Recipe::in_network(&self.cell, &self.network)
        }
    }
}

/// Runs the task. Every input is checked before the folder is created; the folder appears
/// complete or not at all. An existing output folder (not empty) is refused.
pub fn run_isf_task(task: &IsfTask) -> anyhow::Result<IsfTaskSummary> {
    run_isf_task_overwriting(task, false)
}

/// As [`run_isf_task`]; if `overwrite`, an existing output folder is replaced once the new one
/// is complete.
pub fn run_isf_task_overwriting(task: &IsfTask, overwrite: bool) -> anyhow::Result<IsfTaskSummary> {
    let t0 = Instant::now();
    if task.sweeps == 0 {
        anyhow::bail!("--sweeps must be at least 1");
    }
    if task.sweeps > MAX_SWEEPS {
        anyhow::bail!(
            "--sweeps {} is more than the limit of {MAX_SWEEPS} sweeps per task (run several \
             tasks, or a run config, instead)",
            task.sweeps
        );
    }
    if let Some(t) = task.tstop_ms {
        if !(t.is_finite() && t > 0.0) {
            anyhow::bail!("--tstop must be a positive number of ms, got {t}");
        }
    }
    if let Some(dt) = task.dt_ms {
        if !(dt.is_finite() && dt > 0.0) {
            anyhow::bail!("--dt must be a positive number of ms, got {dt}");
        }
        if let Err(m) = crate::limits::check_dt(dt) {
            anyhow::bail!("--dt: {m}");
        }
    }
    isf_io::check_output(&task.out, overwrite)?;
    let prefix = match &task.prefix {
        Some(p) => {
            if p.is_empty() || p.contains(['/', '\\', '\t', '\n']) {
                anyhow::bail!("--prefix {p:?} must be a plain non-empty file name part");
            }
            p.clone()
        }
        None => format!("seed{}_pid{}", task.seed, std::process::id()),
    };

    // ISF seeds the task's stream before building anything; building consumes no draws.
    let mut rng = RandomState::new(task.seed);
    let cell = task.recipe().build()?;
    let tstop = cell.tstop_ms;
    // Every sweep's traces stay in memory until the trace files are written at the end.
    let steps = crate::limits::check_steps(tstop, cell.sim.dt_ms()).map_err(anyhow::Error::msg)?;
    let traces = 1 + cell.sim.template.recording_sites.len();
    let samples = task.sweeps as f64 * (steps + 1) as f64 * traces as f64;
    if samples > MAX_TASK_TRACE_SAMPLES {
        anyhow::bail!(
            "{} sweeps of {} samples on {traces} traces would keep {samples:.3e} samples in \
             memory, more than the limit of {MAX_TASK_TRACE_SAMPLES:.3e}; use fewer --sweeps",
            task.sweeps,
            steps + 1
        );
    }
    let site_labels = cell.sim.site_labels();
    let population_names = cell.population_names();
    let positions = cell.synapse_positions().unwrap_or_default();
    let setup_s = t0.elapsed().as_secs_f64();

    let staged = StagedDir::with_overwrite(&task.out, overwrite)?;
    let dir = staged.path().to_path_buf();
    let mut scratch = TrialScratch::default();
    let mut sweeps = Vec::with_capacity(task.sweeps);
    let mut t_ms: Vec<f64> = Vec::new();
    let mut soma: Vec<Vec<f64>> = Vec::new();
    let mut sites: Vec<Vec<Vec<f64>>> = vec![Vec::new(); site_labels.len()];
    // Sweeps are drawn in order and simulated side by side in groups (the same results).
    let group = crate::trial::default_lanes().max(1);
    let mut drawn = Vec::with_capacity(group);
    let mut network_s = Vec::with_capacity(group);
    let mut simulated = Vec::new().into_iter();
    for n in 0..task.sweeps {
        if n % group == 0 {
            drawn.clear();
            network_s.clear();
            for _ in n..(n + group).min(task.sweeps) {
                let tn = Instant::now();
                drawn.push(cell.draw(&mut rng, &mut scratch)?);
                network_s.push(tn.elapsed().as_secs_f64());
            }
            simulated = cell.simulate_many(&drawn)?.into_iter();
        }
        let (trial, network_s) = (&drawn[n % group], network_s[n % group]);
        let result = simulated
            .next()
            .ok_or_else(|| anyhow::anyhow!("sweep {n} was not simulated"))?;
        let (syn_rows, pre_rows) =
            isf_rows(&result, &population_names, &positions).map_err(anyhow::Error::msg)?;
        write_synapse_activation_file(&dir.join(synapse_activation_file_name(n)), &syn_rows)?;
        write_presynaptic_cells_file(&dir.join(presynaptic_cells_file_name(n)), &pre_rows)?;
        if n == 0 {
            t_ms = result.t_ms.clone();
        } else if result.t_ms != t_ms {
            anyhow::bail!("sweep {n} has a different time column than sweep 0");
        }
        if result.site_vm_mv.len() != site_labels.len() {
            anyhow::bail!(
                "{} recording-site traces for {} sites",
                result.site_vm_mv.len(),
                site_labels.len()
            );
        }
        sweeps.push(SweepSummary {
            synapses: trial.synapses.len(),
            releases: trial.release_count(),
            presynaptic_cells: pre_rows.len(),
            soma_spikes_ms: result.soma_spikes_ms.clone(),
            network_s,
            simulation_s: result.wall_time_s,
        });
        soma.push(result.soma_vm_mv);
        for (acc, v) in sites.iter_mut().zip(result.site_vm_mv) {
            acc.push(v);
        }
    }

    write_trace_file(
        &dir.join(format!("{prefix}_vm_all_traces.csv")),
        &t_ms,
        &columns(&soma),
    )?;
    for (label, runs) in site_labels.iter().zip(&sites) {
        write_trace_file(
            &dir.join(format!("{prefix}_{label}_vm_dend_traces.csv")),
            &t_ms,
            &columns(runs),
        )?;
    }
    for (name, bytes) in cell.parameter_files() {
        write_atomic(&dir.join(format!("{prefix}_{name}")), &bytes)?;
    }
    write_atomic(&dir.join(format!("hostname_{}", hostname())), b"")?;
    let out = staged.commit()?;
    Ok(IsfTaskSummary {
        out,
        sweeps,
        setup_s,
    })
}

fn columns(runs: &[Vec<f64>]) -> Vec<&[f64]> {
    runs.iter().map(Vec::as_slice).collect()
}

/// The machine's name for ISF's `hostname_<host>` marker file.
fn hostname() -> String {
    let raw = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .or_else(|_| std::fs::read_to_string("/etc/hostname"))
        .unwrap_or_default();
    let h: String = raw
        .trim()
        .chars()
        .filter(|c| !matches!(c, '/' | '\\' | '\0'))
        .collect();
    if h.is_empty() {
        "unknown".into()
    } else {
        h
    }
}

/// ISF's default result folder for a task: `results/<YYYYmmdd-HHMM>_<prefix>` below `base`.
pub fn default_out_dir(base: &Path, prefix: &str) -> PathBuf {
    let stamp = super::driver::utc_now_rfc3339();
    // "2026-11-25T23:40:12Z" → "20261125-2340"
    let digits: String = stamp.chars().filter(char::is_ascii_digit).collect();
    let name = format!("{}-{}_{prefix}", &digits[..8], &digits[8..12]);
    base.join("results").join(name)
}
