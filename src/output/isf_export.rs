//! ISF-format export of an SPMD run (`isf_folder = "DIR"` in the run config): besides the results
//! file, every trial is written as ISF writes it, each cell's trials laid out exactly as ISF's
//! `run_new_simulations` lays out one task's results (docs/models.md#simulation-tasks,
//! docs/formats.md#simulation-output-files), with the cell's folder as `dirPrefix`:
//!
//! ```text
//! DIR/<cell>/results/<YYYYmmdd-HHMM>_seed<S>_pid<P>/
//!     hostname_<host>                                  empty, as ISF's
//!     simulation_runNNNN_synapses.csv                  NNNN = trial index within the cell
//!     simulation_runNNNN_presynaptic_cells.csv
//!     seed<S>_pid<P>_vm_all_traces.csv                 one column per trial ("Vm run NN")
//!     seed<S>_pid<P>_<site label>_vm_dend_traces.csv
//!     seed<S>_pid<P>_neuron_model.param, seed<S>_pid<P>_network_model.param   (as simulated)
//! ```
//!
//! `S` is the seed of the cell's first trial (ISF: the seed of all sweeps of the folder; the same
//! here when `sweeps_per_seed` covers all trials), `P` the id of the process that assembled the
//! folder and the time (UTC) when it did, as ISF stamps a folder when its task ends. The names
//! matter: ISF's `db_init_simrun_general.init` finds a dendritic trace file from the last two
//! `_`-separated parts of the trial folder path (`seed<S>_pid<P>`), and its newer versions take
//! the recording-site label from the file name minus the folder name's part after the date, so any
//! other layout breaks for cell names with no or several `_`. Here the cell name is only a parent
//! folder, so every cell name works.
//!
//! `isf db init-isf DIR` gives the trial ids `<cell>/results/<folder>/<NNNNNN>` (ISF's rule: the
//! folder relative to `DIR`, then the trial number); `isf db init` of the results file gives
//! `<cell>/<NNNNNN>` for the same rows in the same order, otherwise the two databases are equal.
//!
//! Why written from the trial results rather than converted from the results file afterwards: the
//! two outputs then come from the same in-memory trial by two independent writers (collective
//! HDF5 vs per-trial text files) and are read back by two independent importers, so comparing the
//! databases tests both paths; a converter would only test the HDF5 reader against itself.
//!
//! Each rank writes the activation files of its own trials as soon as they are simulated (atomic
//! writes, no coordination). ISF keeps all trials of a folder in one trace file, so each rank also
//! writes its trials' traces as small binary fragments; after the last batch one rank per cell
//! assembles the trace files from them, a block of samples at a time (bounded memory for any
//! number of trials). Everything is written into a hidden staging folder
//! `DIR/.<cell>.isf-partial` that `--resume` continues; when complete it is moved to
//! `DIR/.<cell>.isf-done/results/<folder>`, which is renamed to `DIR/<cell>`. Traces are exported
//! exactly as the results file stores them — thinned by `every_k_steps` and rounded to f32 (then
//! written as the f64 value of that f32) — so the two outputs of one run carry the same numbers.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use super::atomic::{sync_file_system, write_atomic_unsynced_with};
use super::isf_files::{
    presynaptic_cells_file_name, sort_presynaptic_rows, sort_synapse_rows,
    synapse_activation_file_name, write_presynaptic_cells, write_synapse_activations,
    write_trace_file_f32_blocks, PresynapticCellRow, SynapseActivationRow,
};
use super::layout::ResultsLayout;
use super::sink::{OutputMode, ResultSink, SinkError, SinkRun};
use super::{write_atomic, OutputError};
use crate::trial::result::{SynapsePositions, TrialResult};

/// Sub-folder of the staging folder holding the per-trial trace fragments.
const FRAGMENTS: &str = "traces.partial";

/// File in [`FRAGMENTS`] holding the seed of the cell's first trial (decimal), which names the
/// finished folder.
const FIRST_SEED: &str = "first_trial_seed";

/// The name ISF gives a task's results folder: `<YYYYmmdd-HHMM>_seed<S>_pid<P>`, with `utc` an
/// RFC 3339 time (`YYYY-MM-DDTHH:MM:SSZ`).
pub fn isf_results_folder_name(utc: &str, seed: u64, pid: u32) -> String {
    let digits: String = utc.chars().filter(char::is_ascii_digit).collect();
    let stamp = format!(
        "{}-{}",
        digits.get(..8).unwrap_or("00000000"),
        digits.get(8..12).unwrap_or("0000")
    );
    format!("{stamp}_seed{seed}_pid{pid}")
}

/// The prefix of ISF's trace and parameter files in a results folder named by
/// [`isf_results_folder_name`]: its last two `_`-separated parts (`seed<S>_pid<P>`).
pub fn isf_file_prefix(folder_name: &str) -> String {
    let parts: Vec<&str> = folder_name.split('_').collect();
    parts[parts.len().saturating_sub(2)..].join("_")
}

fn invalid(path: &Path, msg: impl Into<String>) -> OutputError {
    OutputError::Invalid {
        path: path.to_path_buf(),
        msg: msg.into(),
    }
}

fn io<'a>(path: &'a Path, what: &'static str) -> impl FnOnce(std::io::Error) -> OutputError + 'a {
    move |e| OutputError::io(path, what, e)
}

/// The ISF-format export of a run (identical on every rank).
#[derive(Debug, Clone)]
pub struct IsfExport {
    root: PathBuf,
    layout: ResultsLayout,
}

impl IsfExport {
    /// The export of `layout` into folder `root`. Every cell needs its synapse table (the position
    /// columns of ISF's synapse files) and the soma trace must be recorded (ISF's
    /// `vm_all_traces` file names the trials).
    pub fn new(root: &Path, layout: &ResultsLayout) -> Result<Self, OutputError> {
        if !layout.record_soma {
            return Err(invalid(
                root,
                "an ISF-format export needs the soma trace (`record.soma = true`)",
            ));
        }
        if let Some(c) = layout.cells.iter().find(|c| c.synapse_positions.is_none()) {
            return Err(invalid(
                root,
                format!(
                    "cell `{}`: its model has no synapse positions, which ISF's synapse files need",
                    c.name
                ),
            ));
        }
        Ok(Self {
            root: root.to_path_buf(),
            layout: layout.clone(),
        })
    }

    /// The finished folder of cell `ci` (ISF's `dirPrefix`; the trials are in
    /// `results/<YYYYmmdd-HHMM>_seed<S>_pid<P>/` below it).
    pub fn cell_dir(&self, ci: usize) -> PathBuf {
        self.root.join(&self.layout.cells[ci].name)
    }

    /// Where a finished staging folder waits, as `results/<folder>`, to be renamed to
    /// [`Self::cell_dir`].
    fn done_dir(&self, ci: usize) -> PathBuf {
        self.root
            .join(format!(".{}.isf-done", self.layout.cells[ci].name))
    }

    /// The staging folder of cell `ci` (renamed to [`Self::cell_dir`] when complete).
    pub fn staging_dir(&self, ci: usize) -> PathBuf {
        self.root
            .join(format!(".{}.isf-partial", self.layout.cells[ci].name))
    }

    /// Before anything is written (rank 0): refuses to replace a finished cell folder unless
    /// `replace` (`--overwrite`, `--resume`).
    pub fn check(&self, replace: bool) -> Result<(), OutputError> {
        if self.root.exists() && !self.root.is_dir() {
            return Err(invalid(&self.root, "exists and is not a folder"));
        }
        if !replace {
            for ci in 0..self.layout.cells.len() {
                let d = self.cell_dir(ci);
                if d.exists() {
                    return Err(invalid(
                        &d,
                        "ISF export folder already exists; pass --resume or --overwrite, or choose \
                         another `isf_folder`",
                    ));
                }
            }
        }
        Ok(())
    }

    /// Creates the staging folders (rank 0, once, before the first trial). A new run starts from
    /// empty staging folders; `resume` keeps what complete batches wrote. A cell already finished
    /// by an earlier invocation (its folder exists, its staging folder does not) is left alone.
    pub fn prepare(&self, resume: bool) -> Result<(), OutputError> {
        std::fs::create_dir_all(&self.root).map_err(io(&self.root, "cannot create folder"))?;
        for ci in 0..self.layout.cells.len() {
            let s = self.staging_dir(ci);
            let done = self.done_dir(ci);
            if !resume {
                for d in [&s, &done] {
                    if d.exists() {
                        std::fs::remove_dir_all(d)
                            .map_err(io(d, "cannot remove a stale staging folder"))?;
                    }
                }
            }
            // Finished earlier, or killed between the two renames of `finish_cell`.
            if resume && !s.exists() && (self.cell_dir(ci).exists() || done.exists()) {
                continue;
            }
            let f = s.join(FRAGMENTS);
            std::fs::create_dir_all(&f).map_err(io(&f, "cannot create folder"))?;
        }
        Ok(())
    }

    /// Writes one trial's activation files and trace fragment (any rank, any thread).
    pub fn write_trial(&self, r: &TrialResult) -> Result<(), OutputError> {
        let ci = r.cell_id as usize;
        let c =
            self.layout.cells.get(ci).ok_or_else(|| {
                invalid(&self.root, format!("trial {}: no cell {ci}", r.trial_id))
            })?;
        let k = r.trial_id - c.first_trial_id;
        let dir = self.staging_dir(ci);
        let positions = c
            .synapse_positions
            .as_ref()
            .ok_or_else(|| invalid(&dir, format!("cell `{}` has no synapse positions", c.name)))?;
        let (syn, pre) = isf_rows(r, &c.population_names, positions)
            .map_err(|msg| invalid(&dir, format!("trial {}: {msg}", r.trial_id)))?;
        // Not fsynced one by one: the driver syncs the file system once per batch (see
        // [`Self::sync`]) before the batch is committed.
        write_atomic_unsynced_with(&dir.join(synapse_activation_file_name(k as usize)), |w| {
            write_synapse_activations(w, &syn)
        })?;
        write_atomic_unsynced_with(&dir.join(presynaptic_cells_file_name(k as usize)), |w| {
            write_presynaptic_cells(w, &pre)
        })?;

        // Fragment: thinned time column (f64), soma and site traces (f32), little-endian.
        let step = self.layout.every_k_steps;
        let mut bytes = Vec::new();
        for t in r.t_ms.iter().step_by(step) {
            bytes.extend_from_slice(&t.to_le_bytes());
        }
        for v in std::iter::once(&r.soma_vm_mv).chain(&r.site_vm_mv) {
            if v.len() != r.t_ms.len() {
                return Err(invalid(
                    &dir,
                    format!("trial {}: a trace differs in length from t", r.trial_id),
                ));
            }
            for &x in v.iter().step_by(step) {
                bytes.extend_from_slice(&(x as f32).to_le_bytes());
            }
        }
        if k == 0 {
            write_atomic_unsynced_with(&dir.join(FRAGMENTS).join(FIRST_SEED), |w| {
                write!(w, "{}", r.seed)
            })?;
        }
        write_atomic_unsynced_with(&fragment_path(&dir, k), |w| w.write_all(&bytes))
    }

    /// Makes this rank's trial files durable (one file-system sync instead of one `fsync` per
    /// file); called before the batch that holds them is committed, so a committed batch's export
    /// files survive a crash as its rows in the results file do.
    pub fn sync(&self) -> Result<(), OutputError> {
        sync_file_system(&self.root)
    }

    /// Assembles cell `ci`'s trace files and parameter copies from the staging folder and renames
    /// it into place (one rank per cell, after every trial's files are written). `replace` allows
    /// replacing an existing finished folder (`--overwrite`, `--resume`). A cell finished earlier
    /// (no staging folder) is left as it is.
    pub fn finish_cell(&self, ci: usize, replace: bool) -> Result<(), OutputError> {
        let c = &self.layout.cells[ci];
        let dir = self.staging_dir(ci);
        let dest = self.cell_dir(ci);
        let done = self.done_dir(ci);
        if !dir.exists() && done.exists() {
            // Killed after the staging folder was complete and moved: only the last rename is left.
            return install(&done, &dest, replace);
        }
        if !dir.exists() && dest.exists() {
            return Ok(());
        }
        let seed_file = dir.join(FRAGMENTS).join(FIRST_SEED);
        let seed: u64 = std::fs::read_to_string(&seed_file)
            .map_err(io(&seed_file, "missing the seed of the first trial"))?
            .trim()
            .parse()
            .map_err(|_| invalid(&seed_file, "not a seed"))?;
        let folder =
            isf_results_folder_name(&isf_io::time::utc_now_rfc3339(), seed, std::process::id());
        let prefix = isf_file_prefix(&folder);
        let n_sites = c.site_labels.len();
        let n_out = c.n_out(self.layout.every_k_steps);
        let expected = (n_out * 8 + (1 + n_sites) * n_out * 4) as u64;
        // Every fragment is complete and has trial 0's time column.
        let mut t_ms: Vec<f64> = Vec::new();
        let mut tb = vec![0u8; n_out * 8];
        for k in 0..c.n_trials {
            let p = fragment_path(&dir, k);
            let mut f = File::open(&p).map_err(io(&p, "missing trace of a trial"))?;
            let len = f.metadata().map_err(io(&p, "cannot stat"))?.len();
            if len != expected {
                return Err(invalid(&p, format!("{len} bytes, expected {expected}")));
            }
            f.read_exact(&mut tb).map_err(io(&p, "cannot read"))?;
            let t: Vec<f64> = tb
                .chunks_exact(8)
                .map(|x| f64::from_le_bytes(x.try_into().unwrap_or_default()))
                .collect();
            if k == 0 {
                t_ms = t;
            } else if t != t_ms {
                return Err(invalid(
                    &p,
                    "time column differs from trial 0's; all trials of a cell share one",
                ));
            }
        }
        let files = std::iter::once(format!("{prefix}_vm_all_traces.csv")).chain(
            c.site_labels
                .iter()
                .map(|l| format!("{prefix}_{l}_vm_dend_traces.csv")),
        );
        // Samples per block: about 64 MB of f32 over all trials.
        let n_trials = c.n_trials as usize;
        let block = ((64 << 20) / (4 * n_trials.max(1))).max(1);
        let mut bytes = Vec::new();
        for (trace, file) in files.enumerate() {
            if file.contains(['/', '\\']) {
                return Err(invalid(&dir, format!("`{file}` is not a file name")));
            }
            let base = (n_out * 8 + trace * n_out * 4) as u64;
            write_trace_file_f32_blocks(&dir.join(file), &t_ms, n_trials, block, |s, out| {
                let n = s.len();
                bytes.resize(n * 4, 0);
                for (k, run) in out.chunks_exact_mut(n).enumerate() {
                    let mut f = File::open(fragment_path(&dir, k as u64))?;
                    f.seek(SeekFrom::Start(base + 4 * s.start as u64))?;
                    f.read_exact(&mut bytes)?;
                    for (v, b) in run.iter_mut().zip(bytes.chunks_exact(4)) {
                        *v = f32::from_le_bytes(b.try_into().unwrap_or_default());
                    }
                }
                Ok(())
            })?;
        }
        for (file, bytes) in &c.parameter_files {
            write_atomic(&dir.join(format!("{prefix}_{file}")), bytes)?;
        }
        let host = isf_post::db::temp::hostname().replace(['/', '\\'], "_");
        write_atomic(&dir.join(format!("hostname_{host}")), b"")?;
        let f = dir.join(FRAGMENTS);
        std::fs::remove_dir_all(&f).map_err(io(&f, "cannot remove"))?;
        if done.exists() {
            std::fs::remove_dir_all(&done).map_err(io(&done, "cannot remove"))?;
        }
        let results = done.join("results");
        std::fs::create_dir_all(&results).map_err(io(&results, "cannot create folder"))?;
        let into = results.join(&folder);
        std::fs::rename(&dir, &into).map_err(io(&into, "cannot rename the staging folder"))?;
        install(&done, &dest, replace)
    }
}

/// An export error as a sink error on the export's folder.
fn sink_err(root: &Path) -> impl Fn(OutputError) -> SinkError + '_ {
    move |e| SinkError::output(root, format!("ISF-format export: {e}"))
}

/// The export as an output of the run: rank 0 checks and prepares the folders, every rank writes
/// the files of its trials and syncs them before each batch is committed, and after the last
/// batch one rank per cell assembles the cell's trace files and installs its folder.
impl ResultSink for IsfExport {
    fn check(&self, run: &SinkRun<'_>) -> Result<(), SinkError> {
        run.on_rank0(|| {
            self.check(run.mode != OutputMode::Create)
                .map_err(sink_err(&self.root))
        })
    }

    fn prepare(&mut self, run: &SinkRun<'_>) -> Result<Option<u64>, SinkError> {
        run.on_rank0(|| {
            IsfExport::prepare(self, run.mode == OutputMode::Resume).map_err(sink_err(&self.root))
        })?;
        Ok(None)
    }

    fn write_trial(&self, r: &TrialResult) -> Result<(), SinkError> {
        IsfExport::write_trial(self, r)
            .map_err(|e| SinkError::Trial(format!("ISF-format export: {e}")))
    }

    fn trials_written(&self) -> Result<(), SinkError> {
        self.sync().map_err(sink_err(&self.root))
    }

    fn finish(self: Box<Self>, run: &SinkRun<'_>) -> Result<(), SinkError> {
        // Every rank wrote its trials' files before their batch was committed, so after the last
        // batch they are all on disk.
        let (rank, size) = (run.comm.rank(), run.comm.size());
        let local = (0..self.layout.cells.len())
            .filter(|ci| *ci as u32 % size == rank)
            .try_for_each(|ci| self.finish_cell(ci, run.mode != OutputMode::Create))
            .map_err(sink_err(&self.root));
        run.agree(local)
    }
}

fn fragment_path(dir: &Path, k: u64) -> PathBuf {
    dir.join(FRAGMENTS).join(format!("trial_{k:06}.bin"))
}

/// The rows of ISF's synapse activation and presynaptic cells files for trial result `r`, sorted
/// as ISF writes them (population name by code point, then id). Fails if a synapse is not in
/// `positions` or a population index is out of range.
pub fn isf_rows(
    r: &TrialResult,
    population_names: &[String],
    positions: &SynapsePositions,
) -> Result<(Vec<SynapseActivationRow>, Vec<PresynapticCellRow>), String> {
    let pop = |p: u32| {
        population_names
            .get(p as usize)
            .cloned()
            .ok_or_else(|| format!("population index {p} out of range"))
    };
    let mut syn = Vec::with_capacity(r.synapse_activations.len());
    for a in &r.synapse_activations {
        let population = pop(a.population)?;
        let s = positions.get(a.population, a.synapse_id).ok_or_else(|| {
            format!(
                "synapse {} of `{population}` is not in the cell's synapse table",
                a.synapse_id
            )
        })?;
        let label = positions
            .labels
            .get(s.label as usize)
            .ok_or_else(|| format!("dendrite label index {} out of range", s.label))?;
        syn.push(SynapseActivationRow {
            population,
            synapse_id: a.synapse_id as usize,
            soma_distance_um: s.soma_distance_um,
            section_id: s.section_id as usize,
            section_pt_id: s.section_pt_id as usize,
            dendrite_label: label.clone(),
            times_ms: a.times_ms.clone(),
        });
    }
    sort_synapse_rows(&mut syn);
    let mut pre = Vec::with_capacity(r.presynaptic_spikes.len());
    for p in &r.presynaptic_spikes {
        pre.push(PresynapticCellRow {
            population: pop(p.population)?,
            cell_id: p.cell_id as usize,
            times_ms: p.times_ms.clone(),
        });
    }
    sort_presynaptic_rows(&mut pre);
    Ok((syn, pre))
}

/// Renames the finished folder `done` to `dest`, replacing an existing one only if `replace`, by
/// an atomic exchange, so a reader sees the old or the new folder.
fn install(done: &Path, dest: &Path, replace: bool) -> Result<(), OutputError> {
    isf_io::atomic::install(done, dest, replace).map_err(|e| match e {
        isf_io::Error::Exists(_) => invalid(dest, "appeared during the run; not replaced"),
        e => e.into(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::output::layout::CellLayout;
    use crate::trial::result::SynapsePosition;

    #[test]
    fn folder_names_follow_isf() {
        let name = isf_results_folder_name("2026-12-06T22:31:04Z", 4_000_000_001, 77);
        assert_eq!(name, "20261206-2231_seed4000000001_pid77");
        assert_eq!(isf_file_prefix(&name), "seed4000000001_pid77");
    }

    fn export(root: &Path) -> IsfExport {
        let layout = ResultsLayout {
            batch_size: 2,
            n_trials: 2,
            every_k_steps: 1,
            all_segments_every_k: None,
            record_soma: true,
            cells: vec![CellLayout {
                name: "L5tt_86_C2".into(),
                first_trial_id: 0,
                n_trials: 2,
                n_samples: 3,
                t0_ms: 0.0,
                dt_ms: 0.025,
                site_labels: vec!["site_a".into()],
                population_names: vec!["L2_C2".into()],
                synapse_positions: Some(SynapsePositions {
                    populations: vec![vec![SynapsePosition {
                        soma_distance_um: 12.5,
                        section_id: 3,
                        section_pt_id: 1,
                        label: 0,
                    }]],
                    labels: vec!["Dendrite".into()],
                }),
                parameter_files: vec![("neuron_model.param".into(), b"{}".to_vec())],
                segments: vec![],
            }],
        };
        IsfExport::new(root, &layout).unwrap()
    }

    fn trial(k: u64) -> TrialResult {
        TrialResult {
            trial_id: k,
            seed: 1234,
            sweep: k as u32,
            t_ms: vec![0.0, 0.025, 0.05],
            soma_vm_mv: vec![-75.0, -74.5, -74.0 + k as f64],
            site_vm_mv: vec![vec![-70.0, -69.5, -69.0]],
            ..Default::default()
        }
    }

    #[test]
    fn finished_cell_is_an_isf_results_folder_and_survives_a_kill_between_the_renames() {
        let tmp = tempfile::tempdir().unwrap();
        let x = export(tmp.path());
        x.check(false).unwrap();
        x.prepare(false).unwrap();
        for k in 0..2 {
            x.write_trial(&trial(k)).unwrap();
        }
        x.finish_cell(0, false).unwrap();
        let results = tmp.path().join("L5tt_86_C2/results");
        let folders: Vec<PathBuf> = std::fs::read_dir(&results)
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        assert_eq!(folders.len(), 1);
        let name = folders[0]
            .file_name()
            .unwrap()
            .to_string_lossy()
            .into_owned();
        assert!(
            name.ends_with(&format!("_seed1234_pid{}", std::process::id())),
            "{name}"
        );
        let uid = isf_file_prefix(&name);
        let mut files: Vec<String> = std::fs::read_dir(&folders[0])
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| !n.starts_with("hostname_"))
            .collect();
        files.sort();
        let mut want = vec![
            format!("{uid}_neuron_model.param"),
            format!("{uid}_site_a_vm_dend_traces.csv"),
            format!("{uid}_vm_all_traces.csv"),
            "simulation_run0000_presynaptic_cells.csv".into(),
            "simulation_run0000_synapses.csv".into(),
            "simulation_run0001_presynaptic_cells.csv".into(),
            "simulation_run0001_synapses.csv".into(),
        ];
        want.sort();
        assert_eq!(files, want);
        let traces =
            std::fs::read_to_string(folders[0].join(format!("{uid}_vm_all_traces.csv"))).unwrap();
        assert!(traces.starts_with("t\tVm run 00\tVm run 01\n"), "{traces}");
        // Only the cell folder is left.
        let top: Vec<String> = std::fs::read_dir(tmp.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(top, vec!["L5tt_86_C2"]);

        // A kill between moving the finished staging folder and the last rename leaves
        // `.<cell>.isf-done`: a resume installs it without simulating or assembling anything.
        let finished = tmp.path().join("L5tt_86_C2");
        let done = tmp.path().join(".L5tt_86_C2.isf-done");
        std::fs::rename(&finished, &done).unwrap();
        x.check(true).unwrap();
        x.prepare(true).unwrap();
        assert!(!x.staging_dir(0).exists());
        x.finish_cell(0, true).unwrap();
        assert!(!done.exists());
        assert!(results
            .join(&name)
            .join(format!("{uid}_vm_all_traces.csv"))
            .is_file());
    }
}
