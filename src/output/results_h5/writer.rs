//! Creating the results file and writing it batch by batch.

use std::path::{Path, PathBuf};

use hdf5::{Dataset, File, Group};
use isf_io::results_schema::{
    self as schema, cell, provenance as pv, trials as tc, CommitState, Ragged,
};

use super::h5::{
    attr_scalar, attr_str, attr_strs, column, ext1, ext1_of, ext2, ext3, free_bytes, grow,
    hdf5_error, open_file, text_dataset, uses_mpi, write_rows, write_synapse_table, Dxpl, Piece,
    SpikeSorting, WriteHook,
};
use super::ResultsFileError;
use crate::comm::Communicator;
use crate::output::collective::agree;
use crate::output::layout::{sha256_hex, Provenance, ResultsLayout};
use crate::trial::result::TrialResult;

/// The attributes of a trace dataset sampled from `t0` every `dt` \[ms\], in mV.
fn trace_attrs_k(d: &Dataset, t0: f64, dt: f64) -> hdf5::Result<()> {
    use cell::trace_attr as ta;
    attr_scalar(d, ta::T0, t0)?;
    attr_scalar(d, ta::DT, dt)?;
    attr_str(d, ta::UNITS, "mV")?;
    attr_str(d, ta::T_UNITS, "ms")
}

/// Every rank learns whether any rank failed, so none enters a collective call alone.
pub(super) fn collective<T>(
    comm: &dyn Communicator,
    local: Result<T, ResultsFileError>,
) -> Result<T, ResultsFileError> {
    agree(comm, local, |rank| ResultsFileError::OtherRank { rank })
}

/// Datasets of one cell, opened once.
struct CellDatasets {
    t_ms: Dataset,
    soma_vm: Option<Dataset>,
    /// `all_segments/t_ms` and `all_segments/vm`, when every segment is recorded.
    all_segments: Option<(Dataset, Dataset)>,
    sites: Vec<Dataset>,
    syn: RaggedDatasets,
    pre: RaggedDatasets,
    spike_times: Dataset,
    spike_nodes: Dataset,
}

struct RaggedDatasets {
    trial_start: Dataset,
    trial_count: Dataset,
    population: Dataset,
    id: Dataset,
    times_start: Dataset,
    times_count: Dataset,
    times_ms: Dataset,
}

impl RaggedDatasets {
    fn create(g: &Group, r: &Ragged) -> hdf5::Result<Self> {
        Ok(Self {
            trial_start: ext1::<u64>(g, Ragged::TRIAL_START)?,
            trial_count: ext1::<u64>(g, Ragged::TRIAL_COUNT)?,
            population: ext1::<u32>(g, Ragged::POPULATION)?,
            id: ext1::<u32>(g, r.id_column())?,
            times_start: ext1::<u64>(g, Ragged::TIMES_START)?,
            times_count: ext1::<u64>(g, Ragged::TIMES_COUNT)?,
            times_ms: ext1::<f64>(g, Ragged::TIMES_MS)?,
        })
    }
    fn open(g: &Group, r: &Ragged) -> hdf5::Result<Self> {
        Ok(Self {
            trial_start: g.dataset(Ragged::TRIAL_START.name)?,
            trial_count: g.dataset(Ragged::TRIAL_COUNT.name)?,
            population: g.dataset(Ragged::POPULATION.name)?,
            id: g.dataset(r.id)?,
            times_start: g.dataset(Ragged::TIMES_START.name)?,
            times_count: g.dataset(Ragged::TIMES_COUNT.name)?,
            times_ms: g.dataset(Ragged::TIMES_MS.name)?,
        })
    }
    fn grow(&self, trial_rows: u64, rows: u64, times: u64, x: &Dxpl) -> hdf5::Result<()> {
        grow(&self.trial_start, trial_rows, x)?;
        grow(&self.trial_count, trial_rows, x)?;
        for d in [
            &self.population,
            &self.id,
            &self.times_start,
            &self.times_count,
        ] {
            grow(d, rows, x)?;
        }
        grow(&self.times_ms, times, x)
    }
}

struct TrialDatasets {
    trial_id: Dataset,
    cell_id: Dataset,
    seed: Dataset,
    sweep: Dataset,
    n_soma_spikes: Dataset,
    wall_time_s: Dataset,
    rank: Dataset,
}

/// The open results file of a run, on every rank.
pub struct ResultsWriter {
    pub(super) path: PathBuf,
    pub(super) file: File,
    pub(super) dxpl: Dxpl,
    layout: ResultsLayout,
    state: CommitState,
    trials: TrialDatasets,
    cells: Vec<CellDatasets>,
    /// Whether [`Self::flush`] fsyncs the file by its path (serial runs).
    pub(super) sync_by_path: bool,
}

/// The hidden name under which a new results file is made before it is renamed to `path`.
pub fn staging_path(path: &Path) -> PathBuf {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    path.with_file_name(format!(".{name}.partial"))
}

impl ResultsWriter {
    /// Creates a new results file (it must not exist) with every group, dataset and attribute.
    ///
    /// The file is laid out and its provenance written under a hidden name beside `path`
    /// (`.<name>.partial`), then renamed into place, replacing an existing file at `path` only
    /// then: a run killed while creating leaves no half-made results file (and the next run
    /// removes the hidden one). The caller must hold the output's lock.
    pub fn create(
        path: &Path,
        comm: &dyn Communicator,
        layout: &ResultsLayout,
        prov: &Provenance,
        hook: Option<WriteHook>,
    ) -> Result<Self, ResultsFileError> {
        let staging = staging_path(path);
        let e = |context: &str| hdf5_error(path, context.to_string());
        let io = |what: &str| {
            let (path, what) = (path.to_path_buf(), what.to_string());
            move |source: std::io::Error| ResultsFileError::Io { path, what, source }
        };
        let removed = if comm.rank() == 0 {
            match std::fs::remove_file(&staging) {
                Err(err) if err.kind() != std::io::ErrorKind::NotFound => {
                    Err(io("remove the unfinished file of an earlier run")(err))
                }
                _ => Ok(()),
            }
        } else {
            Ok(())
        };
        collective(comm, removed)?;
        let file = open_file(&staging, comm, true).map_err(e("create"))?;
        let dxpl = Dxpl::new(uses_mpi(comm), hook).map_err(e("transfer properties"))?;
        let state = CommitState::empty(layout.cells.len());
        let rank0 = comm.rank() == 0;
        (|| -> hdf5::Result<()> {
            use schema::attr;
            attr_str(&file, attr::FORMAT, schema::FORMAT)?;
            attr_scalar(&file, attr::FORMAT_VERSION, schema::FORMAT_VERSION)?;
            attr_scalar(&file, attr::BATCH_SIZE, layout.batch_size)?;
            attr_scalar(&file, attr::N_TRIALS_TOTAL, layout.n_trials)?;
            attr_scalar(&file, attr::N_BATCHES_TOTAL, layout.n_batches())?;
            let fields = CommitState::field_names(layout.cells.iter().map(|c| c.name.as_str()));
            attr_strs(&file, attr::COMMIT_STATE_FIELDS, &fields)?;
            let w = state.to_words();
            file.new_attr::<u64>()
                .shape(w.len())
                .create(attr::COMMIT_STATE)?
                .write(&w)?;
            let t = file.create_group(schema::TRIALS)?;
            for c in tc::ALL {
                ext1_of(&t, c)?;
            }
            let cells = file.create_group(schema::CELLS)?;
            let spikes = file.create_group(schema::SPIKES)?;
            for (ci, c) in layout.cells.iter().enumerate() {
                let g = cells.create_group(&c.name)?;
                attr_scalar(&g, cell::CELL_ID, ci as u32)?;
                attr_scalar(&g, cell::FIRST_TRIAL_ID, c.first_trial_id)?;
                attr_scalar(&g, cell::N_TRIALS, c.n_trials)?;
                attr_strs(&g, cell::POPULATION_NAMES, &c.population_names)?;
                attr_strs(&g, cell::SITE_LABELS, &c.site_labels)?;
                let n_out = c.n_out(layout.every_k_steps);
                let dt = c.dt_ms * layout.every_k_steps as f64;
                g.new_dataset::<f64>().shape(n_out).create(cell::T_MS)?;
                let t_ms = g.dataset(cell::T_MS)?;
                attr_str(&t_ms, cell::trace_attr::UNITS, "ms")?;
                let trace_attrs = |d: &Dataset| trace_attrs_k(d, c.t0_ms, dt);
                if layout.record_soma {
                    trace_attrs(&ext2::<f32>(&g, cell::SOMA_VM, n_out)?)?;
                }
                let sites = g.create_group(cell::SITES)?;
                for (i, label) in c.site_labels.iter().enumerate() {
                    let d = ext2::<f32>(&sites, &schema::site_dataset_name(i, label), n_out)?;
                    trace_attrs(&d)?;
                    attr_str(&d, cell::trace_attr::LABEL, label)?;
                }
                if let (Some(k), false) = (layout.all_segments_every_k, c.segments.is_empty()) {
                    use cell::all_segments as a;
                    let sg = g.create_group(a::GROUP)?;
                    let n = c.n_out(k);
                    let vm = ext3::<f32>(&sg, a::VM, c.segments.len(), n)?;
                    trace_attrs_k(&vm, c.t0_ms, c.dt_ms * k as f64)?;
                    attr_scalar(&vm, a::EVERY_K_STEPS, k as u64)?;
                    let t = sg.new_dataset::<f64>().shape(n).create(a::T_MS)?;
                    attr_str(&t, cell::trace_attr::UNITS, "ms")?;
                    let col = |f: &dyn Fn(&(u32, u32, f64)) -> u32| -> Vec<u32> {
                        c.segments.iter().map(f).collect()
                    };
                    column(&sg, a::SECTION, &col(&|s| s.0), rank0, &dxpl)?;
                    column(&sg, a::SEGMENT, &col(&|s| s.1), rank0, &dxpl)?;
                    let x: Vec<f64> = c.segments.iter().map(|s| s.2).collect();
                    column(&sg, a::X, &x, rank0, &dxpl)?;
                }
                if let Some(table) = &c.synapse_positions {
                    write_synapse_table(&g.create_group(cell::SYNAPSES)?, table, rank0, &dxpl)?;
                }
                if !c.parameter_files.is_empty() {
                    let pf = g.create_group(cell::PARAMETER_FILES)?;
                    for (name, bytes) in &c.parameter_files {
                        text_dataset(&pf, name, bytes, rank0, &dxpl)?;
                    }
                }
                for r in [&schema::SYNAPSE_ACTIVATIONS, &schema::PRESYNAPTIC_SPIKES] {
                    RaggedDatasets::create(&g.create_group(r.group)?, r)?;
                }
                let s = spikes.create_group(&c.name)?;
                s.new_attr::<SpikeSorting>()
                    .create(schema::spikes::SORTING)?
                    .write_scalar(&SpikeSorting::by_id)?;
                let timestamps = ext1::<f64>(&s, schema::spikes::TIMESTAMPS)?;
                attr_str(&timestamps, cell::trace_attr::UNITS, "ms")?;
                ext1::<u64>(&s, schema::spikes::NODE_IDS)?;
            }
            Ok(())
        })()
        .map_err(e("create layout"))?;
        // Until it is renamed, the file is known by its staging name.
        let mut w =
            Self::attach(&staging, file, dxpl, layout, state).map_err(e("open datasets"))?;
        w.sync_by_path = !uses_mpi(comm);
        w.write_provenance(comm, prov)?;
        w.flush().map_err(e("flush"))?;
        w.path = path.to_path_buf();
        comm.barrier();
        // All ranks created the file under its staging name (MPI-IO opens collectively); rank 0
        // installs it by the one rule of `isf_io::atomic` (a replaced file goes only now).
        let installed = if comm.rank() == 0 {
            w.dxpl
                .point(&|| "install".into())
                .map_err(e("install"))
                .and_then(|()| {
                    isf_io::atomic::install(&staging, path, true)
                        .map_err(|err| io("install")(err.into()))
                })
        } else {
            Ok(())
        };
        collective(comm, installed)?;
        Ok(w)
    }

    /// Hands HDF5's buffers to the file and, in a serial run, makes them durable (MPI-IO's flush
    /// already syncs the file on every rank).
    pub(super) fn flush(&self) -> hdf5::Result<()> {
        self.dxpl.point(&|| "flush".into())?;
        self.file.flush()?;
        if self.sync_by_path {
            std::fs::File::open(&self.path)
                .and_then(|f| f.sync_data())
                .map_err(|err| hdf5::Error::from(format!("fsync: {err}").as_str()))?;
        }
        Ok(())
    }

    pub(super) fn attach(
        path: &Path,
        file: File,
        dxpl: Dxpl,
        layout: &ResultsLayout,
        state: CommitState,
    ) -> hdf5::Result<Self> {
        let t = file.group(schema::TRIALS)?;
        let trials = TrialDatasets {
            trial_id: t.dataset(tc::TRIAL_ID.name)?,
            cell_id: t.dataset(tc::CELL_ID.name)?,
            seed: t.dataset(tc::SEED.name)?,
            sweep: t.dataset(tc::SWEEP.name)?,
            n_soma_spikes: t.dataset(tc::N_SOMA_SPIKES.name)?,
            wall_time_s: t.dataset(tc::WALL_TIME_S.name)?,
            rank: t.dataset(tc::RANK.name)?,
        };
        let mut cells = Vec::new();
        for c in &layout.cells {
            let g = file.group(schema::CELLS)?.group(&c.name)?;
            let s = file.group(schema::SPIKES)?.group(&c.name)?;
            let sites = g.group(cell::SITES)?;
            let all_segments = match (layout.all_segments_every_k, c.segments.is_empty()) {
                (Some(_), false) => {
                    use cell::all_segments as a;
                    let sg = g.group(a::GROUP)?;
                    Some((sg.dataset(a::T_MS)?, sg.dataset(a::VM)?))
                }
                _ => None,
            };
            cells.push(CellDatasets {
                all_segments,
                t_ms: g.dataset(cell::T_MS)?,
                soma_vm: if layout.record_soma {
                    Some(g.dataset(cell::SOMA_VM)?)
                } else {
                    None
                },
                sites: c
                    .site_labels
                    .iter()
                    .enumerate()
                    .map(|(j, l)| sites.dataset(&schema::site_dataset_name(j, l)))
                    .collect::<hdf5::Result<_>>()?,
                syn: RaggedDatasets::open(
                    &g.group(schema::SYNAPSE_ACTIVATIONS.group)?,
                    &schema::SYNAPSE_ACTIVATIONS,
                )?,
                pre: RaggedDatasets::open(
                    &g.group(schema::PRESYNAPTIC_SPIKES.group)?,
                    &schema::PRESYNAPTIC_SPIKES,
                )?,
                spike_times: s.dataset(schema::spikes::TIMESTAMPS.name)?,
                spike_nodes: s.dataset(schema::spikes::NODE_IDS.name)?,
            });
        }
        Ok(Self {
            path: path.to_owned(),
            file,
            dxpl,
            layout: layout.clone(),
            state,
            trials,
            cells,
            sync_by_path: false,
        })
    }

    fn write_provenance(
        &mut self,
        comm: &dyn Communicator,
        prov: &Provenance,
    ) -> Result<(), ResultsFileError> {
        let rank0 = comm.rank() == 0;
        let e = hdf5_error(&self.path, "write provenance");
        let p = self.file.create_group(schema::PROVENANCE).map_err(&e)?;
        (|| -> hdf5::Result<()> {
            attr_str(&p, pv::ISF_VERSION, &prov.isf_version)?;
            attr_str(&p, pv::GIT_COMMIT, &prov.git_commit)?;
            attr_str(&p, pv::COMMAND_LINE, &prov.command_line)?;
            attr_str(&p, pv::CONFIG_PATH, &prov.config_path)?;
            attr_str(
                &p,
                pv::CONFIG_SHA256,
                &sha256_hex(prov.config_text.as_bytes()),
            )?;
            attr_str(&p, pv::START_TIME, &prov.start_time)?;
            attr_scalar(&p, pv::N_RANKS, prov.n_ranks)?;
            attr_scalar(&p, pv::N_THREADS, prov.n_threads)?;
            attr_strs(&p, pv::MODELS, &prov.models)?;
            let names: Vec<String> = prov.files.iter().map(|f| f.0.clone()).collect();
            let hashes: Vec<String> = prov.files.iter().map(|f| f.2.clone()).collect();
            attr_strs(&p, pv::INPUT_FILES, &names)?;
            attr_strs(&p, pv::INPUT_SHA256, &hashes)?;
            text_dataset(
                &p,
                pv::CONFIG_TEXT,
                prov.config_text.as_bytes(),
                rank0,
                &self.dxpl,
            )?;
            let files = p.create_group(pv::FILES)?;
            for (i, (name, text, hash)) in prov.files.iter().enumerate() {
                let d = text_dataset(&files, &format!("{i:03}"), text, rank0, &self.dxpl)?;
                attr_str(&d, pv::PATH, name)?;
                attr_str(&d, pv::SHA256, hash)?;
            }
            Ok(())
        })()
        .map_err(&e)
    }
}

impl ResultsWriter {
    /// Extends every dataset to at least the sizes of `s` (collective). Datasets only ever grow:
    /// rows beyond the committed sizes (left by an interrupted batch) are overwritten in place
    /// when that batch is written again, since its rows sit at the same positions. (Shrinking a
    /// chunked dataset and growing it again loses the next writes to its last chunk with the
    /// HDF5 1.10 that clusters run, which is how `--resume` used to corrupt the redone batch.)
    fn grow_to(&self, s: &CommitState) -> hdf5::Result<()> {
        let x = &self.dxpl;
        let t = &self.trials;
        for d in [
            &t.trial_id,
            &t.cell_id,
            &t.seed,
            &t.sweep,
            &t.n_soma_spikes,
            &t.wall_time_s,
            &t.rank,
        ] {
            grow(d, s.trials, x)?;
        }
        for (c, d) in s.cells.iter().zip(&self.cells) {
            for ds in d.soma_vm.iter().chain(&d.sites) {
                grow(ds, c[0], x)?;
            }
            if let Some((_, vm)) = &d.all_segments {
                grow(vm, c[0], x)?;
            }
            d.syn.grow(c[0], c[1], c[2], x)?;
            d.pre.grow(c[0], c[3], c[4], x)?;
            grow(&d.spike_times, c[5], x)?;
            grow(&d.spike_nodes, c[5], x)?;
        }
        Ok(())
    }

    /// Number of complete batches in the file.
    pub fn batches_done(&self) -> u64 {
        self.state.batches
    }

    /// Writes batch `batch` collectively. `local` holds this rank's results of the batch (any
    /// order); the union over ranks must be exactly the batch's trials.
    pub fn write_batch(
        &mut self,
        comm: &dyn Communicator,
        batch: u64,
        local: &[TrialResult],
    ) -> Result<(), ResultsFileError> {
        let range = self.layout.batch_trials(batch);
        let k = self.layout.every_k_steps;
        // Validate shapes before any collective call: a bad result fails every rank together.
        let mut bad = String::new();
        for r in local {
            let c = &self.layout.cells[self.layout.cell_of(r.trial_id)];
            let ok_len = |v: &Vec<f64>| v.len() == c.n_samples;
            let segment_values = match self.layout.all_segments_every_k {
                Some(k) => c.segments.len() * c.n_out(k),
                None => 0,
            };
            if !ok_len(&r.t_ms)
                || (self.layout.record_soma && !ok_len(&r.soma_vm_mv))
                || r.site_vm_mv.len() != c.site_labels.len()
                || !r.site_vm_mv.iter().all(ok_len)
                || r.segment_vm_mv.len() != segment_values
            {
                bad = format!(
                    "trial {}: trace shape differs from the cell's ({} samples, {} sites, {} \
                     values of every segment)",
                    r.trial_id,
                    c.n_samples,
                    c.site_labels.len(),
                    segment_values
                );
            }
        }
        let flags = comm.all_gather_u64(&[u64::from(!bad.is_empty())]);
        if let Some(r) = flags.iter().position(|f| f[0] != 0) {
            let msg = if bad.is_empty() {
                format!("rank {r} produced a malformed trial result")
            } else {
                bad
            };
            return Err(ResultsFileError::BadResult {
                trial_id: range.start,
                msg,
            });
        }

        // Everyone learns every trial's sizes, to place ragged data in trial order.
        let mut mine = Vec::with_capacity(local.len() * 6);
        for r in local {
            mine.extend_from_slice(&[
                r.trial_id,
                r.soma_spikes_ms.len() as u64,
                r.synapse_activations.len() as u64,
                r.synapse_activations
                    .iter()
                    .map(|s| s.times_ms.len() as u64)
                    .sum(),
                r.presynaptic_spikes.len() as u64,
                r.presynaptic_spikes
                    .iter()
                    .map(|s| s.times_ms.len() as u64)
                    .sum(),
            ]);
        }
        let gathered = comm.all_gather_u64(&mine);
        let n_batch = (range.end - range.start) as usize;
        let mut sizes = vec![None; n_batch];
        for w in gathered.iter().flat_map(|g| g.chunks(6)) {
            if let Some(slot) = w[0]
                .checked_sub(range.start)
                .and_then(|i| sizes.get_mut(i as usize))
            {
                *slot = Some([w[1], w[2], w[3], w[4], w[5]]);
            }
        }
        if sizes.iter().any(Option::is_none) {
            return Err(ResultsFileError::BadResult {
                trial_id: range.start,
                msg: format!("batch {batch} is missing trial results"),
            });
        }
        // Offsets of every trial of the batch: [spikes, syn rows, syn times, pre rows, pre times].
        let mut next = self.state.clone();
        let mut offsets = Vec::with_capacity(n_batch);
        for (i, s) in sizes.iter().enumerate() {
            let s = s.unwrap_or_default();
            let c = &mut next.cells[self.layout.cell_of(range.start + i as u64)];
            offsets.push([c[5], c[1], c[2], c[3], c[4]]);
            c[0] += 1;
            c[5] += s[0];
            c[1] += s[1];
            c[2] += s[2];
            c[3] += s[3];
            c[4] += s[4];
        }
        next.batches = batch + 1;
        next.trials = range.end;

        // Room for the batch is checked before anything of it is written: a full disk then stops
        // the run with the file as committed, instead of failing inside HDF5.
        let needed = self.batch_bytes(&self.state, &next);
        let room = if comm.rank() == 0 {
            match free_bytes(&self.path) {
                Some(free) if free < needed => Err(ResultsFileError::DiskFull {
                    path: self.path.clone(),
                    batch,
                    needed,
                    free,
                }),
                _ => Ok(()),
            }
        } else {
            Ok(())
        };
        collective(comm, room)?;

        let mut order: Vec<&TrialResult> = local.iter().collect();
        order.sort_by_key(|r| r.trial_id);
        let path = self.path.clone();
        let e = |context: String| {
            let context = match free_bytes(&path) {
                Some(free) if free < 1 << 20 => format!(
                    "{context} (the file system is full: {free} bytes free; free space, then \
                     continue with --resume)"
                ),
                _ => context,
            };
            hdf5_error(&path, context)
        };
        let t0 = std::time::Instant::now();
        self.grow_to(&next)
            .map_err(e(format!("extend datasets for batch {batch}")))?;
        let t_resize = t0.elapsed().as_secs_f64();
        self.write_trials(&order)
            .map_err(e(format!("write trial table of batch {batch}")))?;
        for ci in 0..self.layout.cells.len() {
            self.write_cell(ci, &order, &offsets, range.start, k)
                .map_err(e(format!(
                    "write cell `{}` of batch {batch}",
                    self.layout.cells[ci].name
                )))?;
        }
        let t_write = t0.elapsed().as_secs_f64();
        // Make the data durable, then publish it: the commit state is the last thing written.
        self.flush().map_err(e("flush".into()))?;
        let t_flush = t0.elapsed().as_secs_f64();
        let words = next.to_words();
        self.dxpl
            .point(&|| "write commit_state".into())
            .and_then(|()| self.file.attr(schema::attr::COMMIT_STATE))
            .and_then(|a| a.write(&words))
            .map_err(e("write commit_state".into()))?;
        self.flush().map_err(e("flush".into()))?;
        tracing::debug!(
            "batch {batch}: extend {t_resize:.3} s, write {:.3} s, flush {:.3} s, commit {:.3} s",
            t_write - t_resize,
            t_flush - t_write,
            t0.elapsed().as_secs_f64() - t_flush
        );
        self.state = next;
        Ok(())
    }

    /// Bytes the batch that takes the file from `from` to `to` adds, generously: its rows
    /// plus, per dataset, one chunk that may be newly allocated, plus 1 MiB of metadata.
    fn batch_bytes(&self, from: &CommitState, to: &CommitState) -> u64 {
        let trials = to.trials.saturating_sub(from.trials);
        let mut bytes = trials * 7 * 8 + (1 << 20);
        for (l, (a, b)) in self
            .layout
            .cells
            .iter()
            .zip(from.cells.iter().zip(&to.cells))
        {
            let traces = u64::from(self.layout.record_soma) + l.site_labels.len() as u64;
            let width = l.n_out(self.layout.every_k_steps) as u64;
            bytes += (b[0] - a[0]) * traces * width * 4;
            if let Some(k) = self.layout.all_segments_every_k {
                bytes += (b[0] - a[0]) * (l.segments.len() * l.n_out(k)) as u64 * 4;
            }
            // Ragged columns (24 bytes a row), times and spikes, and their chunks.
            bytes += (b[1] - a[1] + b[3] - a[3]) * 24 + (b[2] - a[2] + b[4] - a[4]) * 8;
            bytes += (b[5] - a[5]) * 16;
            if b[0] > a[0] {
                bytes += 2 * (4 * 4096 * 8 + 8192 * 8 + 2 * 1024 * 8);
            }
        }
        bytes
    }

    fn write_trials(&self, order: &[&TrialResult]) -> hdf5::Result<()> {
        let col = |f: &dyn Fn(&TrialResult) -> u64| {
            let mut p = Piece::new();
            for r in order {
                p.push(r.trial_id, 1, &[f(r)]);
            }
            p
        };
        let col32 = |f: &dyn Fn(&TrialResult) -> u32| {
            let mut p = Piece::new();
            for r in order {
                p.push(r.trial_id, 1, &[f(r)]);
            }
            p
        };
        let t = &self.trials;
        write_rows(&t.trial_id, 1, &col(&|r| r.trial_id), &self.dxpl)?;
        write_rows(&t.cell_id, 1, &col32(&|r| r.cell_id), &self.dxpl)?;
        write_rows(&t.seed, 1, &col(&|r| r.seed), &self.dxpl)?;
        write_rows(&t.sweep, 1, &col32(&|r| r.sweep), &self.dxpl)?;
        write_rows(
            &t.n_soma_spikes,
            1,
            &col(&|r| r.soma_spikes_ms.len() as u64),
            &self.dxpl,
        )?;
        write_rows(&t.rank, 1, &col32(&|r| r.rank), &self.dxpl)?;
        let mut wall = Piece::new();
        for r in order {
            wall.push(r.trial_id, 1, &[r.wall_time_s]);
        }
        write_rows(&t.wall_time_s, 1, &wall, &self.dxpl)
    }

    fn write_cell(
        &self,
        ci: usize,
        order: &[&TrialResult],
        offsets: &[[u64; 5]],
        batch_start: u64,
        k: usize,
    ) -> hdf5::Result<()> {
        let l = &self.layout.cells[ci];
        let d = &self.cells[ci];
        let mine: Vec<&TrialResult> = order
            .iter()
            .copied()
            .filter(|r| r.cell_id as usize == ci)
            .collect();
        let row = |r: &TrialResult| r.trial_id - l.first_trial_id;
        let thin = |v: &[f64]| -> Vec<f32> { v.iter().step_by(k).map(|&x| x as f32).collect() };
        let n_out = l.n_out(k) as u64;

        // The time column, once: by whoever simulated the cell's first trial.
        let first_in_batch = l.first_trial_id >= batch_start
            && l.first_trial_id < batch_start + offsets.len() as u64;
        if first_in_batch {
            let first = mine.iter().find(|r| row(r) == 0);
            let mut p = Piece::new();
            if let Some(r) = first {
                let t: Vec<f64> = r.t_ms.iter().step_by(k).copied().collect();
                p.push(0, t.len() as u64, &t);
            }
            write_rows(&d.t_ms, 1, &p, &self.dxpl)?;
            if let (Some((t_ds, _)), Some(ks)) = (&d.all_segments, self.layout.all_segments_every_k)
            {
                let mut p = Piece::new();
                if let Some(r) = first {
                    let t: Vec<f64> = r.t_ms.iter().step_by(ks).copied().collect();
                    p.push(0, t.len() as u64, &t);
                }
                write_rows(t_ds, 1, &p, &self.dxpl)?;
            }
        }
        if let Some((_, vm)) = &d.all_segments {
            let mut p = Piece::new();
            for r in &mine {
                p.push(row(r), 1, &r.segment_vm_mv);
            }
            write_rows(vm, 0, &p, &self.dxpl)?;
        }
        if let Some(ds) = &d.soma_vm {
            let mut p = Piece::new();
            for r in &mine {
                p.push(row(r), 1, &thin(&r.soma_vm_mv));
            }
            write_rows(ds, n_out, &p, &self.dxpl)?;
        }
        for (si, ds) in d.sites.iter().enumerate() {
            let mut p = Piece::new();
            for r in &mine {
                p.push(row(r), 1, &thin(&r.site_vm_mv[si]));
            }
            write_rows(ds, n_out, &p, &self.dxpl)?;
        }

        // SONATA spikes: node id = trial index within the cell; trial order keeps them by_id.
        let mut times = Piece::new();
        let mut nodes = Piece::new();
        for r in &mine {
            let o = offsets[(r.trial_id - batch_start) as usize];
            let n = r.soma_spikes_ms.len() as u64;
            times.push(o[0], n, &r.soma_spikes_ms);
            nodes.push(o[0], n, &vec![row(r); n as usize]);
        }
        write_rows(&d.spike_times, 1, &times, &self.dxpl)?;
        write_rows(&d.spike_nodes, 1, &nodes, &self.dxpl)?;

        // Ragged activations: (datasets, offset columns of its first row and time, its items).
        type Items<'r> = Vec<(u32, u32, &'r [f64])>;
        let ragged = |ds: &RaggedDatasets,
                      (rows_at, times_at): (usize, usize),
                      items: &dyn Fn(&TrialResult) -> Items<'_>|
         -> hdf5::Result<()> {
            let trials: Vec<RaggedTrial<'_>> = mine
                .iter()
                .map(|r| {
                    let o = offsets[(r.trial_id - batch_start) as usize];
                    (row(r), o[rows_at], o[times_at], items(r))
                })
                .collect();
            write_ragged(ds, &trials, &self.dxpl)
        };
        ragged(&d.syn, (1, 2), &|r| {
            r.synapse_activations
                .iter()
                .map(|s| (s.population, s.synapse_id, &s.times_ms[..]))
                .collect()
        })?;
        ragged(&d.pre, (3, 4), &|r| {
            r.presynaptic_spikes
                .iter()
                .map(|s| (s.population, s.cell_id, &s.times_ms[..]))
                .collect()
        })
    }

    /// Records the end time and closes the file.
    pub fn finish(self, end_time: &str) -> Result<(), ResultsFileError> {
        let e = hdf5_error(&self.path, "finish");
        let p = self.file.group(schema::PROVENANCE).map_err(&e)?;
        self.dxpl
            .point(&|| "write /provenance end_time".into())
            .and_then(|()| attr_str(&p, pv::END_TIME, end_time))
            .map_err(&e)?;
        self.flush().map_err(&e)
        // Dropping the writer closes every dataset and then the file (collectively).
    }
}

/// Per trial: (row in the cell, first item row, first time index, items (population, id, times)).
type RaggedTrial<'a> = (u64, u64, u64, Vec<(u32, u32, &'a [f64])>);

fn write_ragged(d: &RaggedDatasets, trials: &[RaggedTrial<'_>], dxpl: &Dxpl) -> hdf5::Result<()> {
    let (mut ts, mut tc) = (Piece::new(), Piece::new());
    let (mut pop, mut id, mut st, mut cnt, mut val) = (
        Piece::new(),
        Piece::new(),
        Piece::new(),
        Piece::new(),
        Piece::new(),
    );
    for (row, first_item, first_time, items) in trials {
        ts.push(*row, 1, &[*first_item]);
        tc.push(*row, 1, &[items.len() as u64]);
        let n = items.len() as u64;
        let pops: Vec<u32> = items.iter().map(|i| i.0).collect();
        let ids: Vec<u32> = items.iter().map(|i| i.1).collect();
        let mut starts = Vec::with_capacity(items.len());
        let mut counts = Vec::with_capacity(items.len());
        let mut values = Vec::new();
        let mut t = *first_time;
        for (_, _, times) in items {
            starts.push(t);
            counts.push(times.len() as u64);
            t += times.len() as u64;
            values.extend_from_slice(times);
        }
        pop.push(*first_item, n, &pops);
        id.push(*first_item, n, &ids);
        st.push(*first_item, n, &starts);
        cnt.push(*first_item, n, &counts);
        val.push(*first_time, values.len() as u64, &values);
    }
    write_rows(&d.trial_start, 1, &ts, dxpl)?;
    write_rows(&d.trial_count, 1, &tc, dxpl)?;
    write_rows(&d.population, 1, &pop, dxpl)?;
    write_rows(&d.id, 1, &id, dxpl)?;
    write_rows(&d.times_start, 1, &st, dxpl)?;
    write_rows(&d.times_count, 1, &cnt, dxpl)?;
    write_rows(&d.times_ms, 1, &val, dxpl)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::comm::SerialCommunicator;
    use crate::output::layout::CellLayout;
    use crate::trial::result::{PresynapticSpikes, SynapseActivation};

    fn layout() -> ResultsLayout {
        let cell = |name: &str, first, n| CellLayout {
            name: name.into(),
            first_trial_id: first,
            n_trials: n,
            n_samples: 5,
            t0_ms: 0.0,
            dt_ms: 0.5,
            site_labels: vec!["a/b".into()],
            population_names: vec!["L4".into(), "L5".into()],
            synapse_positions: None,
            parameter_files: vec![("neuron_model.param".into(), b"{}".to_vec())],
            segments: vec![],
        };
        ResultsLayout {
            batch_size: 2,
            n_trials: 3,
            every_k_steps: 2,
            record_soma: true,
            all_segments_every_k: None,
            cells: vec![cell("x", 0, 2), cell("y", 2, 1)],
        }
    }

    fn trial(id: u64) -> TrialResult {
        let v = |o: f64| (0..5).map(|i| o + f64::from(i)).collect::<Vec<_>>();
        TrialResult {
            trial_id: id,
            cell_id: u32::from(id >= 2),
            seed: 100 + id,
            sweep: 0,
            t_ms: (0..5).map(|i| f64::from(i) * 0.5).collect(),
            soma_vm_mv: v(-70.0 + id as f64),
            site_vm_mv: vec![v(-60.0)],
            soma_spikes_ms: vec![1.0; id as usize],
            synapse_activations: (0..id as u32)
                .map(|s| SynapseActivation {
                    population: s % 2,
                    synapse_id: s,
                    times_ms: vec![0.5, 1.5],
                })
                .collect(),
            presynaptic_spikes: vec![PresynapticSpikes {
                population: 1,
                cell_id: 7,
                times_ms: vec![id as f64],
            }],
            ..Default::default()
        }
    }

    fn prov(config: &str) -> Provenance {
        Provenance {
            config_text: config.into(),
            start_time: "2026-12-07T00:00:00Z".into(),
            ..Default::default()
        }
    }

    #[test]
    fn batches_commit_in_order_and_resume_continues_after_the_committed_ones() {
        let d = tempfile::tempdir().unwrap();
        let path = d.path().join("r.h5");
        let comm = SerialCommunicator;
        let l = layout();
        let mut w = ResultsWriter::create(&path, &comm, &l, &prov("c"), None).unwrap();
        assert!(!staging_path(&path).exists(), "installed under its name");
        // Any order within the batch.
        w.write_batch(&comm, 0, &[trial(1), trial(0)]).unwrap();
        assert_eq!(w.batches_done(), 1);
        drop(w);

        let e = ResultsWriter::resume(&path, &comm, &l, &prov("changed"), None)
            .err()
            .unwrap();
        assert!(e.to_string().contains("changed since"), "{e}");
        let (mut w, done) = ResultsWriter::resume(&path, &comm, &l, &prov("c"), None).unwrap();
        assert_eq!(done, 1);
        // A batch missing a trial is refused before anything is written.
        let e = w.write_batch(&comm, 1, &[]).unwrap_err();
        assert!(e.to_string().contains("missing trial results"), "{e}");
        w.write_batch(&comm, 1, &[trial(2)]).unwrap();
        w.finish("2026-12-07T00:00:01Z").unwrap();

        let f = hdf5::File::open(&path).unwrap();
        let words: Vec<u64> = f
            .attr(schema::attr::COMMIT_STATE)
            .unwrap()
            .read_raw()
            .unwrap();
        let state = CommitState::from_words(&words).unwrap();
        // Cell x: trials 0 and 1 (1 spike, 1 synapse row with 2 times, 2 presynaptic rows);
        // cell y: trial 2 (2 spikes, 2 synapse rows, 1 presynaptic row).
        assert_eq!(
            state,
            CommitState {
                batches: 2,
                trials: 3,
                cells: vec![[2, 1, 2, 2, 2, 1], [1, 2, 4, 1, 1, 2]],
            }
        );
        let seeds: Vec<u64> = f.dataset("trials/seed").unwrap().read_raw().unwrap();
        assert_eq!(seeds, [100, 101, 102]);
        // Every 2nd of 5 samples, as f32; the site's label is no link name, so it is indexed.
        let soma: Vec<f32> = f.dataset("cells/x/soma_vm").unwrap().read_raw().unwrap();
        assert_eq!(soma, [-70.0, -68.0, -66.0, -69.0, -67.0, -65.0]);
        assert!(f.dataset("cells/y/sites/site_000").is_ok());
        let t: Vec<f64> = f.dataset("cells/y/t_ms").unwrap().read_raw().unwrap();
        assert_eq!(t, [0.0, 1.0, 2.0]);
        let g = f.group("cells/y/synapse_activations").unwrap();
        let pop: Vec<u32> = g.dataset("population").unwrap().read_raw().unwrap();
        let start: Vec<u64> = g.dataset("times_start").unwrap().read_raw().unwrap();
        assert_eq!((pop, start), (vec![0, 1], vec![0, 2]));
        let nodes: Vec<u64> = f.dataset("spikes/x/node_ids").unwrap().read_raw().unwrap();
        assert_eq!(nodes, [1]);
        let end = f
            .group("provenance")
            .unwrap()
            .attr("end_time")
            .unwrap()
            .read_scalar::<hdf5::types::VarLenUnicode>()
            .unwrap();
        assert_eq!(end.as_str(), "2026-12-07T00:00:01Z");
    }
}
