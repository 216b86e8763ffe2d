//! Runs a config: checks everything that can fail before the first trial, then simulates and
//! writes batch after batch on every rank.

use std::io::IsTerminal;
use std::path::Path;
use std::time::Instant;

use rayon::prelude::*;
use tracing::info;

use super::build_model;
use super::config::{RunConfig, TrialSpec};
use super::decompose::assign_by_cost;
use super::model::TrialModel;
use super::RunError;
use crate::comm::Communicator;
use crate::output::layout::{sha256_hex, CellLayout, Provenance, ResultsLayout};
use crate::output::results_h5::{ResultsFileError, WriteHook};
use crate::output::sink::{SinkError, SinkRun};
use crate::output::sinks::{self, OutputChoice, Outputs, SinkFactory, SinkInputs};
use crate::trial::result::TrialResult;

/// Command-line choices of a run.
#[derive(Debug, Clone, Default)]
pub struct RunOptions {
    /// Continue an existing results file.
    pub resume: bool,
    /// Replace an existing results file.
    pub overwrite: bool,
    /// Rayon threads per rank (default: `RAYON_NUM_THREADS`, else the CPUs the launcher bound the
    /// rank to, or, for an unbound rank, the node's CPUs divided among the ranks on the node).
    pub threads: Option<usize>,
    /// The command line, for the provenance.
    pub command_line: String,
    /// Show a progress bar on rank 0 (only drawn when stderr is a terminal).
    pub progress: bool,
    /// Called before every change to the results file (fault-injection tests).
    pub write_hook: Option<WriteHook>,
    /// Outputs besides those the config asks for (formats added by a library user), written
    /// after them.
    pub extra_sinks: Vec<SinkFactory>,
    /// Compiled-mechanism catalogues named on the command line (the config's `mechanisms` are
    /// added to them; with neither, the working directory's conventional catalogue is loaded).
    pub mechanisms: crate::mechanisms::catalogue_file::LoadRequest,
}

/// What a run did.
#[derive(Debug, Clone, PartialEq)]
pub struct RunSummary {
    /// Trials simulated by this invocation (all ranks).
    pub trials_run: u64,
    /// Trials in the config.
    pub trials_total: u64,
    /// Batches that were already complete (resume).
    pub batches_skipped: u64,
    /// Wall time of the simulation and writing \[s\].
    pub wall_s: f64,
}

/// Makes a per-rank outcome collective: every rank learns whether any rank failed, so no rank
/// enters a collective call that another rank will never reach.
fn agree<T>(comm: &dyn Communicator, local: Result<T, RunError>) -> Result<T, RunError> {
    crate::output::collective::agree(comm, local, |rank| RunError::OtherRank { rank })
}

/// A sink's error as the run's.
fn sink_err(cfg: &RunConfig) -> impl Fn(SinkError) -> RunError + '_ {
    move |e| match e {
        SinkError::Format(e) => match e.downcast::<ResultsFileError>() {
            Ok(e) => RunError::Results(*e),
            Err(e) => RunError::Output {
                path: cfg.output.clone(),
                msg: e.to_string(),
            },
        },
        SinkError::Output { path, msg } => RunError::Output { path, msg },
        SinkError::OtherRank { rank } => RunError::OtherRank { rank },
        SinkError::Trial(msg) => RunError::Output {
            path: cfg.output.clone(),
            msg,
        },
    }
}

/// Rayon threads for this rank.
fn threads_per_rank(opts: &RunOptions, comm: &dyn Communicator) -> usize {
    if let Some(t) = opts.threads {
        return t.max(1);
    }
    if let Some(t) = std::env::var("RAYON_NUM_THREADS")
        .ok()
        .and_then(|s| s.parse::<usize>().ok())
    {
        return t.max(1);
    }
    let available = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1);
    default_threads(
        affinity_cpus(),
        online_cpus(),
        available,
        comm.ranks_on_node(),
    )
}

/// Threads of a rank when the user did not choose: a rank the launcher bound to fewer CPUs than
/// the node has (`srun -c 8`, `mpirun --map-by slot:PE=8`) uses all of its own, since no other
/// rank runs there; an unbound rank sees every CPU of the node and shares them with the node's
/// other ranks. `available` (Rust's count: the affinity mask and any cgroup CPU quota) caps both.
fn default_threads(
    mask_cpus: Option<usize>,
    online_cpus: Option<usize>,
    available: usize,
    ranks_on_node: u32,
) -> usize {
    let bound = matches!((mask_cpus, online_cpus), (Some(m), Some(o)) if m < o);
    if bound {
        mask_cpus.unwrap_or(available).min(available).max(1)
    } else {
        (available / ranks_on_node.max(1) as usize).max(1)
    }
}

/// CPUs in this process's affinity mask (Linux), `None` where it cannot be read.
fn affinity_cpus() -> Option<usize> {
    #[cfg(target_os = "linux")]
    {
        // SAFETY: a zeroed cpu_set_t is a valid empty set; sched_getaffinity fills it.
        let mut set: libc::cpu_set_t = unsafe { std::mem::zeroed() };
        let ok =
            unsafe { libc::sched_getaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &mut set) };
        if ok == 0 {
            return Some(unsafe { libc::CPU_COUNT(&set) } as usize);
        }
    }
    None
}

/// CPUs online on this node, `None` where unknown.
fn online_cpus() -> Option<usize> {
    // SAFETY: sysconf has no preconditions.
    let n = unsafe { libc::sysconf(libc::_SC_NPROCESSORS_ONLN) };
    (n > 0).then_some(n as usize)
}

/// The error of a run stopped by a signal after `kept` committed batches.
fn interrupted(cfg: &RunConfig, kept: u64, total: u64) -> RunError {
    RunError::Interrupted {
        signal: isf_io::signals::received().map_or("a signal", isf_io::signals::signal_name),
        output: cfg.output.clone(),
        batches_kept: kept,
        batches_total: total,
    }
}

/// Current UTC time as RFC 3339 (`YYYY-MM-DDTHH:MM:SSZ`).
pub fn utc_now_rfc3339() -> String {
    isf_io::time::utc_now_rfc3339()
}

/// Runs the config at `config_path` on all ranks of `comm`. Every check that can fail on user
/// input happens before the first trial, and no existing file is replaced without `--overwrite`.
pub fn run_config(
    config_path: &Path,
    opts: &RunOptions,
    comm: &dyn Communicator,
) -> Result<RunSummary, RunError> {
    let start_time = utc_now_rfc3339();
    let rank = comm.rank();
    let cfg = agree(comm, RunConfig::load(config_path))?;
    // Every rank reads the catalogues itself; one that fails makes all fail.
    let mut mechs = opts.mechanisms.clone();
    mechs.catalogues.extend(cfg.mechanisms.iter().cloned());
    mechs
        .replace_builtins
        .extend(cfg.replace_builtins.iter().cloned());
    let mechs = mechs.with_default();
    agree(
        comm,
        crate::mechanisms::catalogue_file::load(&mechs)
            .map(|_| ())
            .map_err(|e| RunError::Config {
                path: config_path.to_owned(),
                msg: format!("compiled mechanisms: {e}"),
            }),
    )?;
    // Rank 0 holds the output's lock for the whole run; the other ranks write only meanwhile.
    let choice = OutputChoice {
        resume: opts.resume,
        overwrite: opts.overwrite,
    };
    let (_lock, mode) = sinks::claim_output(comm, &cfg.output, choice, &opts.command_line)
        .map_err(sink_err(&cfg))?;
    // A signal stops the run at its next check point (between trials) instead of killing it.
    let _polling = isf_io::signals::polling();

    let n_threads = threads_per_rank(opts, comm);
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(n_threads)
        .build()
        .map_err(|e| RunError::Threads(e.to_string()))?;

    // One template per cell, built once on this rank and shared by its threads.
    let models: Result<Vec<Box<dyn TrialModel>>, RunError> = pool.install(|| {
        cfg.cells
            .par_iter()
            .map(|c| {
                build_model(c, &cfg.record).map_err(|e| RunError::Model {
                    cell: c.name.clone(),
                    msg: format!("{e:#}"),
                })
            })
            .collect()
    });
    let models = agree(comm, models)?;

    // Every input, hashed for the provenance and for --resume: the config's files, then each
    // model's (morphology, recording sites, embedding), each once.
    let mut inputs = cfg.input_files();
    for m in &models {
        for f in &m.description().input_files {
            if !inputs.contains(f) {
                inputs.push(f.clone());
            }
        }
    }
    let files = agree(
        comm,
        inputs
            .into_iter()
            .map(|p| {
                let bytes = std::fs::read(&p).map_err(|source| RunError::Io {
                    path: p.clone(),
                    source,
                })?;
                let hash = sha256_hex(&bytes);
                Ok((p.display().to_string(), bytes, hash))
            })
            .collect::<Result<Vec<_>, RunError>>(),
    )?;

    let mut first = 0;
    let layout = ResultsLayout {
        batch_size: cfg.batch_size,
        n_trials: cfg.n_trials(),
        every_k_steps: cfg.record.every_k_steps as usize,
        record_soma: cfg.record.soma,
        all_segments_every_k: cfg.record.all_segments_every_k_steps.map(|k| k as usize),
        cells: cfg
            .cells
            .iter()
            .zip(&models)
            .map(|(c, m)| {
                let d = m.description();
                let l = CellLayout {
                    name: c.name.clone(),
                    first_trial_id: first,
                    n_trials: c.trials,
                    n_samples: d.n_samples,
                    t0_ms: d.t0_ms,
                    dt_ms: d.dt_ms,
                    site_labels: d.site_labels.clone(),
                    population_names: d.population_names.clone(),
                    synapse_positions: d.synapse_positions.clone(),
                    parameter_files: d.parameter_files.clone(),
                    segments: d.segments.clone(),
                };
                first += c.trials;
                l
            })
            .collect(),
    };
    let prov = Provenance {
        isf_version: env!("CARGO_PKG_VERSION").to_string(),
        git_commit: option_env!("ISF_GIT_COMMIT")
            .unwrap_or("unknown")
            .to_string(),
        command_line: opts.command_line.clone(),
        config_path: cfg.path.display().to_string(),
        config_text: cfg.text.clone(),
        files,
        start_time,
        n_ranks: comm.size(),
        n_threads: n_threads as u32,
        models: models
            .iter()
            .map(|m| m.description().model.clone())
            .collect(),
    };

    // The outputs: every one checked before anything is written, then prepared in order.
    let run = SinkRun { comm, mode };
    let inputs = SinkInputs {
        output: &cfg.output,
        isf_folder: cfg.isf_folder.as_deref(),
        layout: &layout,
        provenance: &prov,
    };
    let built = sinks::build(&inputs, opts.write_hook.clone(), &opts.extra_sinks);
    let built = agree(comm, built.map_err(sink_err(&cfg)))?;
    let mut outputs = Outputs::open(built, &run, &cfg.output).map_err(sink_err(&cfg))?;
    let done = outputs.batches_done();
    let n_batches = layout.n_batches();
    info!(
        "{} trials in {n_batches} batches of {}; {done} batches already complete; {} ranks × {n_threads} threads",
        layout.n_trials,
        layout.batch_size,
        comm.size()
    );

    let bar = (rank == 0 && opts.progress && std::io::stderr().is_terminal()).then(|| {
        let b = indicatif::ProgressBar::new(layout.n_trials);
        b.set_style(
            indicatif::ProgressStyle::with_template(
                "{elapsed_precise} [{bar:40}] {pos}/{len} trials  {per_sec}  ETA {eta}",
            )
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        b.set_position(layout.batch_trials(done).start.min(layout.n_trials));
        b
    });

    // Testing hook: a pause after every trial, so a test can interrupt a run between batches.
    let test_delay = super::test_trial_delay();
    let t0 = Instant::now();
    let mut trials_run = 0;
    for batch in done..n_batches {
        let specs: Vec<TrialSpec> = layout.batch_trials(batch).map(|t| cfg.trial(t)).collect();
        let costs: Vec<f64> = specs
            .iter()
            .map(|s| models[s.cell_id as usize].description().estimated_cost)
            .collect();
        let owners = assign_by_cost(&costs, comm.size());
        let mine: Vec<TrialSpec> = specs
            .iter()
            .zip(&owners)
            .filter(|(_, &o)| o == rank)
            .map(|(s, _)| *s)
            .collect();
        // Consecutive trials of one cell share a lane batch (docs/architecture.md, batched
        // trials); the results are the same bits either way.
        // Groups no larger than needed to give every thread one.
        let per_thread = mine.len().div_ceil(n_threads.max(1)).max(1);
        let mut groups: Vec<&[TrialSpec]> = Vec::new();
        let mut rest = &mine[..];
        while let Some(first) = rest.first() {
            let lanes = models[first.cell_id as usize].lanes().clamp(1, per_thread);
            let same = rest
                .iter()
                .take(lanes)
                .take_while(|s| s.cell_id == first.cell_id)
                .count();
            let (g, r) = rest.split_at(same);
            groups.push(g);
            rest = r;
        }
        let t_batch = Instant::now();
        let results: Vec<Result<TrialResult, RunError>> = pool.install(|| {
            groups
                .par_iter()
                .flat_map_iter(|g| {
                    let out = if isf_io::signals::interrupted() {
                        g.iter()
                            .map(|_| Err(anyhow::anyhow!("interrupted")))
                            .collect()
                    } else {
                        models[g[0].cell_id as usize].run_trials(g)
                    };
                    g.iter().zip(out).collect::<Vec<_>>()
                })
                .map(|(s, r)| {
                    if isf_io::signals::interrupted() {
                        return Err(interrupted(&cfg, batch, n_batches));
                    }
                    let c = &cfg.cells[s.cell_id as usize];
                    let fail = |msg: String| RunError::Trial {
                        trial_id: s.trial_id,
                        cell: c.name.clone(),
                        seed: s.seed,
                        sweep: s.sweep,
                        msg,
                    };
                    let mut r = r.map_err(|e| fail(format!("{e:#}")))?;
                    if (r.trial_id, r.cell_id, r.seed, r.sweep)
                        != (s.trial_id, s.cell_id, s.seed, s.sweep)
                    {
                        return Err(fail(
                            "the model returned a result for a different trial".into(),
                        ));
                    }
                    r.rank = rank;
                    outputs.write_trial(&r).map_err(|e| fail(e.to_string()))?;
                    if let Some(d) = test_delay {
                        std::thread::sleep(d);
                    }
                    if let Some(b) = &bar {
                        b.inc(1);
                    }
                    Ok(r)
                })
                .collect()
        });
        let mut results = results.into_iter().collect::<Result<Vec<_>, _>>();
        if results.is_ok() {
            if let Err(e) = outputs.trials_written() {
                results = Err(sink_err(&cfg)(e));
            }
        }
        let compute_s = t_batch.elapsed().as_secs_f64();
        // Stop together if any rank was interrupted, before anything of this batch is written.
        let stop = comm.all_gather_u64(&[u64::from(isf_io::signals::interrupted())]);
        if stop.iter().any(|f| f[0] != 0) {
            return Err(interrupted(&cfg, batch, n_batches));
        }
        let results = agree(comm, results)?;
        let wait_s = t_batch.elapsed().as_secs_f64() - compute_s;
        outputs
            .commit_batch(&run, batch, &results)
            .map_err(sink_err(&cfg))?;
        let write_s = t_batch.elapsed().as_secs_f64() - compute_s - wait_s;
        trials_run += specs.len() as u64;
        if let Some(b) = &bar {
            b.set_position(layout.batch_trials(batch).end);
        }
        info!(
            "committed batch {}/{n_batches} (trials {}..{}): compute {compute_s:.3} s, wait {wait_s:.3} s, \
             write {write_s:.3} s",
            batch + 1,
            specs[0].trial_id,
            specs[0].trial_id + specs.len() as u64
        );
    }
    if let Some(b) = &bar {
        b.finish_and_clear();
    }
    outputs.finish(&run).map_err(sink_err(&cfg))?;
    let wall_s = t0.elapsed().as_secs_f64();
    info!("done: {trials_run} trials in {wall_s:.2} s");
    Ok(RunSummary {
        trials_run,
        trials_total: layout.n_trials,
        batches_skipped: done,
        wall_s,
    })
}

#[cfg(test)]
mod tests {

    #[test]
    fn a_bound_rank_uses_its_own_cpus_and_unbound_ranks_share_the_node() {
        // srun -n4 -c8 on a 32-CPU node: each rank's mask holds its 8 CPUs.
        assert_eq!(super::default_threads(Some(8), Some(32), 8, 4), 8);
        // mpirun --bind-to none, 2 ranks on a 2-CPU node: they share it.
        assert_eq!(super::default_threads(Some(2), Some(2), 2, 2), 1);
        // Unbound, 4 ranks, a container quota of 8 of 64 CPUs: the quota is shared.
        assert_eq!(super::default_threads(Some(64), Some(64), 8, 4), 2);
        // Bound to 8 CPUs under a quota of 4: the quota caps.
        assert_eq!(super::default_threads(Some(8), Some(32), 4, 4), 4);
        // Nothing known: at least one thread.
        assert_eq!(super::default_threads(None, None, 1, 8), 1);
    }

    use super::*;
    use crate::comm::SerialCommunicator;

    fn config(dir: &Path, output: &str, batch_size: u32) -> std::path::PathBuf {
        std::fs::write(dir.join("c.param"), "{}").unwrap();
        std::fs::write(dir.join("n.param"), "{}").unwrap();
        let p = dir.join(format!("{output}.toml"));
        let cell = |name: &str, trials: u32, t_stop: f64| {
            format!(
                "[[cell]]\nname = \"{name}\"\ncell_param = \"c.param\"\nnetwork_param = \"n.param\"\n\
                 trials = {trials}\nt_stop_ms = {t_stop}\nmodel = \"synthetic-test-fixture\"\n"
            )
        };
        let text = format!(
            "output = \"{output}\"\nbase_seed = 11\nbatch_size = {batch_size}\n{}{}",
            cell("small", 3, 20.0),
            cell("large", 4, 35.0)
        );
        std::fs::write(&p, text).unwrap();
        p
    }

    /// Dataset `name` as little-endian bytes, labelled with its name.
    fn raw<T: hdf5::H5Type, const N: usize>(
        f: &hdf5::File,
        name: &str,
        le: fn(T) -> [u8; N],
    ) -> (String, Vec<u8>) {
        let v: Vec<T> = f.dataset(name).unwrap().read_raw().unwrap();
        (name.to_string(), v.into_iter().flat_map(le).collect())
    }

    fn read_all(path: &Path) -> Vec<(String, Vec<u8>)> {
        let f = hdf5::File::open(path).unwrap();
        let mut out = Vec::new();
        for cell in ["small", "large"] {
            for ds in ["soma_vm", "sites/synthetic_site_mid"] {
                out.push(raw(&f, &format!("cells/{cell}/{ds}"), f32::to_le_bytes));
            }
            for ds in [
                "synapse_activations/times_ms",
                "presynaptic_spikes/times_ms",
            ] {
                out.push(raw(&f, &format!("cells/{cell}/{ds}"), f64::to_le_bytes));
            }
        }
        out.push(raw(&f, "trials/seed", u64::to_le_bytes));
        out
    }

    #[test]
    fn threads_and_batches_do_not_change_the_data_and_resume_of_a_complete_run_is_a_no_op() {
        let d = tempfile::tempdir().unwrap();
        let opts = |threads| RunOptions {
            threads: Some(threads),
            ..Default::default()
        };
        let a = run_config(&config(d.path(), "a.h5", 2), &opts(1), &SerialCommunicator).unwrap();
        assert_eq!((a.trials_run, a.trials_total, a.batches_skipped), (7, 7, 0));
        run_config(&config(d.path(), "b.h5", 5), &opts(2), &SerialCommunicator).unwrap();
        let (da, db) = (
            read_all(&d.path().join("a.h5")),
            read_all(&d.path().join("b.h5")),
        );
        assert_eq!(da.len(), db.len());
        for (x, y) in da.iter().zip(&db) {
            assert!(
                x == y,
                "{} differs between 1 thread/batch 2 and 2 threads/batch 5",
                x.0
            );
        }
        // Cells of different length, 20 ms and 35 ms at dt 0.025: t = 0 plus 800 (1400) steps, plus
        // the extra step NEURON takes because the accumulated t stays just below tStop
        // (docs/numerics.md#time-accumulation: 250 ms → 10,002 samples) → 802 and 1402 samples.
        let f = hdf5::File::open(d.path().join("a.h5")).unwrap();
        assert_eq!(
            f.dataset("cells/small/soma_vm").unwrap().shape(),
            vec![3, 802]
        );
        assert_eq!(
            f.dataset("cells/large/soma_vm").unwrap().shape(),
            vec![4, 1402]
        );
        drop(f);
        let resume = RunOptions {
            resume: true,
            ..opts(1)
        };
        let r = run_config(&config(d.path(), "a.h5", 2), &resume, &SerialCommunicator).unwrap();
        assert_eq!((r.trials_run, r.batches_skipped), (0, 4));
    }
}
