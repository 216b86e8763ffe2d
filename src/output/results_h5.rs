//! The results file: one HDF5 file per run, written collectively by all ranks in batches.
//!
//! Layout (documented for users in the README, section "Results file"):
//! ```text
//! /                      attrs: format, format_version, batch_size, n_trials_total, n_batches_total,
//!                               commit_state (u64[2 + 6·cells]), commit_state_fields
//! /trials/{trial_id,cell_id,seed,sweep,n_soma_spikes,wall_time_s,rank}   one row per trial
//! /cells/<cell>/         attrs: cell_id, first_trial_id, n_trials, population_names, site_labels
//!     t_ms                     f64 [sample]            the solver's time column (thinned)
//!     soma_vm                  f32 [trial × sample]    attrs t0, dt, units = "mV"
//!     sites/<label>            f32 [trial × sample]    attrs t0, dt, units, label
//!     synapse_activations/{trial_start,trial_count} per trial (rows of this cell)
//!                         {population,synapse_id,times_start,times_count} per active synapse
//!                         times_ms values
//!     presynaptic_spikes/  same with cell_id instead of synapse_id
//!     synapses/{population,synapse_id,soma_distance_um,section_id,section_pt_id,dendrite_label}
//!                              one row per synapse of the cell (population, then id order);
//!                              attr label_names (dendrite_label indexes it)          [version 2]
//!     parameterfiles/<name>    u8 UTF-8: the parameter files as simulated          [version 2]
//! /spikes/<cell>/{timestamps (f64, units "ms"), node_ids (u64 = trial index in the cell)}
//!                        attr sorting (enum none/by_id/by_time) = by_id   (SONATA)
//! /provenance            attrs: isf_version, git_commit, command_line, start/end time, ranks,
//!                        threads, model, config_sha256, input_files, input_sha256;
//!                        datasets config_text, files/<i> (u8, UTF-8 text; attrs path, sha256)
//! ```
//! Datasets grow batch by batch; `commit_state` is written last, after a flush, so a reader (and
//! `--resume`) trusts only rows below the committed sizes: a killed run keeps every completed batch.
//! Rows sit at positions fixed by the config (trial order), so the file is identical for any number
//! of ranks or threads. Every rank takes part in every collective call, also with zero rows.

use std::path::{Path, PathBuf};

use hdf5::dataset::FillTime;
use hdf5::types::VarLenUnicode;
use hdf5::{Dataset, File, Group, H5Type, Location, SimpleExtents};
use hdf5_sys::h5i::hid_t;

use crate::comm::Communicator;
use crate::trial::result::{SynapsePositions, TrialResult};

/// Errors of the results file.
#[derive(Debug, thiserror::Error)]
pub enum ResultsFileError {
    /// An HDF5 call failed.
    #[error("results file {path}: {context}: {source}")]
    Hdf5 {
        /// The file.
        path: PathBuf,
        /// What was being done.
        context: String,
        /// HDF5's message.
        source: hdf5::Error,
    },
    /// A file-system call on the results file failed.
    #[error("results file {path}: {what}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// What was being done.
        what: String,
        /// The operating system's error.
        source: std::io::Error,
    },
    /// Not enough free space for the next batch; nothing of it was written.
    #[error(
        "results file {path}: not enough space for batch {batch}: it needs about {needed} bytes, \
         {free} are free on the file system holding the file; the file keeps every batch before \
         it: free space, then continue with --resume"
    )]
    DiskFull {
        /// The file.
        path: PathBuf,
        /// The batch that did not fit.
        batch: u64,
        /// Bytes the batch needs (estimate).
        needed: u64,
        /// Bytes free.
        free: u64,
    },
    /// Another rank failed (it reports the error).
    #[error("rank {rank} failed writing the results file (see its message)")]
    OtherRank {
        /// The first failing rank.
        rank: u32,
    },
    /// The file exists but belongs to a different run or is not an isf results file.
    #[error("results file {path}: {msg}")]
    Mismatch {
        /// The file.
        path: PathBuf,
        /// What differs.
        msg: String,
    },
    /// A trial result does not have the shape the cell declared.
    #[error("trial {trial_id}: {msg}")]
    BadResult {
        /// The trial.
        trial_id: u64,
        /// What is wrong.
        msg: String,
    },
}

/// Format name stored in the root attribute `format`.
pub const FORMAT: &str = "isf-results";
/// Version of this layout. Version 2 added the per-cell synapse table (`synapses/`) and the
/// simulated parameter files (`parameterfiles/`); everything of version 1 is unchanged.
pub const FORMAT_VERSION: u32 = 2;

/// Per-cell committed sizes, in `commit_state` order after the two global counters.
const CELL_FIELDS: [&str; 6] = [
    "trace_rows",
    "synapse_rows",
    "synapse_times",
    "presynaptic_rows",
    "presynaptic_times",
    "soma_spikes",
];

/// The shape of the file, identical on every rank (from the config and the cell descriptions).
#[derive(Debug, Clone)]
pub struct ResultsLayout {
    /// Trials per batch.
    pub batch_size: u64,
    /// Trials in the run.
    pub n_trials: u64,
    /// Keep every k-th sample.
    pub every_k_steps: usize,
    /// Record the soma trace.
    pub record_soma: bool,
    /// Cells in config order.
    pub cells: Vec<CellLayout>,
}

/// One cell's part of the layout.
#[derive(Debug, Clone)]
pub struct CellLayout {
    /// Group name.
    pub name: String,
    /// Global id of its first trial.
    pub first_trial_id: u64,
    /// Its number of trials.
    pub n_trials: u64,
    /// Samples per trial before thinning.
    pub n_samples: usize,
    /// First sample time \[ms\].
    pub t0_ms: f64,
    /// Solver step \[ms\].
    pub dt_ms: f64,
    /// Recording-site labels.
    pub site_labels: Vec<String>,
    /// Presynaptic population names.
    pub population_names: Vec<String>,
    /// Where every synapse sits (written once, as `synapses/`), if the model has anatomy.
    pub synapse_positions: Option<SynapsePositions>,
    /// Parameter files as simulated (name, bytes), written once as `parameterfiles/<name>`.
    pub parameter_files: Vec<(String, Vec<u8>)>,
}

impl CellLayout {
    fn n_out(&self, k: usize) -> usize {
        self.n_samples.div_ceil(k)
    }
}

impl ResultsLayout {
    /// Number of batches.
    pub fn n_batches(&self) -> u64 {
        self.n_trials.div_ceil(self.batch_size)
    }

    /// Global trial ids of batch `b`.
    pub fn batch_trials(&self, b: u64) -> std::ops::Range<u64> {
        b * self.batch_size..((b + 1) * self.batch_size).min(self.n_trials)
    }

    fn cell_of(&self, trial_id: u64) -> usize {
        self.cells
            .iter()
            .position(|c| trial_id < c.first_trial_id + c.n_trials)
            .unwrap_or(self.cells.len() - 1)
    }
}

/// Provenance of a run: what made the file.
#[derive(Debug, Clone, Default)]
pub struct Provenance {
    /// isf version.
    pub isf_version: String,
    /// Git commit of the build ("unknown" outside a checkout).
    pub git_commit: String,
    /// The command line.
    pub command_line: String,
    /// The config file's path.
    pub config_path: String,
    /// Its text.
    pub config_text: String,
    /// Input files: (path, text, SHA-256 hex).
    pub files: Vec<(String, Vec<u8>, String)>,
    /// Start time (RFC 3339, UTC).
    pub start_time: String,
    /// Ranks.
    pub n_ranks: u32,
    /// Threads per rank.
    pub n_threads: u32,
    /// The simulator of each cell.
    pub models: Vec<String>,
}

/// SHA-256 of `bytes` as lower-case hex.
pub fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct CommitState {
    batches: u64,
    trials: u64,
    cells: Vec<[u64; 6]>,
}

impl CommitState {
    fn empty(n_cells: usize) -> Self {
        Self {
            batches: 0,
            trials: 0,
            cells: vec![[0; 6]; n_cells],
        }
    }
    fn to_words(&self) -> Vec<u64> {
        let mut w = vec![self.batches, self.trials];
        for c in &self.cells {
            w.extend_from_slice(c);
        }
        w
    }
    fn from_words(w: &[u64], n_cells: usize) -> Option<Self> {
        if w.len() != 2 + 6 * n_cells {
            return None;
        }
        let cells = w[2..]
            .chunks(6)
            .map(|c| [c[0], c[1], c[2], c[3], c[4], c[5]])
            .collect();
        Some(Self {
            batches: w[0],
            trials: w[1],
            cells,
        })
    }
}

/// SONATA's spike-sorting enum (names are part of the format).
#[allow(non_camel_case_types, dead_code)]
#[derive(H5Type, Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
enum SpikeSorting {
    none = 0,
    by_id = 1,
    by_time = 2,
}

/// Called before every change the writer makes to an open results file (each dataset extension,
/// row write, flush and commit), with a short description of it; an error stops the write there as
/// a failed HDF5 call would. Tests use it to abort or fail a run at every write point.
#[derive(Clone)]
pub struct WriteHook(pub std::sync::Arc<WriteHookFn>);

/// The function of a [`WriteHook`]: given what is about to change, go on or fail with a message.
pub type WriteHookFn = dyn Fn(&str) -> Result<(), String> + Send + Sync;

impl std::fmt::Debug for WriteHook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("WriteHook")
    }
}

/// How rows reach the file: the dataset transfer property list (collective MPI-IO when the file is
/// opened through MPI) and the write hook, if any.
struct Dxpl {
    id: hid_t,
    hook: Option<WriteHook>,
}

impl Dxpl {
    /// Runs the write hook (if any) before the change `what`.
    fn point(&self, what: &dyn Fn() -> String) -> hdf5::Result<()> {
        match &self.hook {
            Some(h) => (h.0)(&what()).map_err(|e| hdf5::Error::from(e.as_str())),
            None => Ok(()),
        }
    }

    fn new(collective: bool, hook: Option<WriteHook>) -> hdf5::Result<Self> {
        // SAFETY: plain HDF5 C calls on ids we own; the class id is valid once the library is open.
        unsafe {
            hdf5_sys::h5::H5open();
            let id = hdf5_sys::h5p::H5Pcreate(*hdf5_sys::h5p::H5P_CLS_DATASET_XFER);
            if id < 0 {
                return Err("H5Pcreate(dataset transfer) failed".into());
            }
            #[cfg(feature = "mpi")]
            if collective
                && hdf5_sys::h5p::H5Pset_dxpl_mpio(
                    id,
                    hdf5_sys::h5p::H5FD_mpio_xfer_t::H5FD_MPIO_COLLECTIVE,
                ) < 0
            {
                hdf5_sys::h5p::H5Pclose(id);
                return Err("H5Pset_dxpl_mpio(COLLECTIVE) failed".into());
            }
            #[cfg(not(feature = "mpi"))]
            let _ = collective;
            Ok(Self { id, hook })
        }
    }
}

impl Drop for Dxpl {
    fn drop(&mut self) {
        // SAFETY: closing the id we created.
        unsafe {
            hdf5_sys::h5p::H5Pclose(self.id);
        }
    }
}

/// One rank's share of a write: disjoint ascending row ranges and their data, concatenated.
struct Piece<T> {
    ranges: Vec<(u64, u64)>,
    data: Vec<T>,
}

impl<T: Copy> Piece<T> {
    fn new() -> Self {
        Self {
            ranges: Vec::new(),
            data: Vec::new(),
        }
    }
    /// Rows `start..start + rows.len() / width` with `rows` (row-major).
    fn push(&mut self, start: u64, n_rows: u64, rows: &[T]) {
        if n_rows > 0 {
            self.ranges.push((start, n_rows));
            self.data.extend_from_slice(rows);
        }
    }
}

/// Writes the rows of `piece` into `ds` (already extended) collectively. Every rank calls this
/// for the same datasets in the same order, also with an empty piece.
fn write_rows<T: H5Type>(
    ds: &Dataset,
    width: u64,
    piece: &Piece<T>,
    dxpl: &Dxpl,
) -> hdf5::Result<()> {
    use hdf5_sys::h5s::{
        H5S_seloper_t, H5Sclose, H5Screate_simple, H5Sselect_hyperslab, H5Sselect_none,
    };
    let mut ranges = piece.ranges.clone();
    ranges.sort_unstable();
    debug_assert!(
        ranges == piece.ranges,
        "pieces must be pushed in ascending row order"
    );
    dxpl.point(&|| format!("write {}", ds.name()))?;
    let mem_type = hdf5::Datatype::from_type::<T>()?;
    let n_dims = ds.ndim();
    let one = [1u8];
    // SAFETY: spaces are created and closed here; buffers outlive the H5Dwrite call and hold
    // exactly the selected number of elements of the memory type.
    unsafe {
        let fspace = hdf5_sys::h5d::H5Dget_space(ds.id());
        if fspace < 0 {
            return Err("H5Dget_space failed".into());
        }
        let total = piece.data.len() as u64;
        let mdims = [total.max(1)];
        let mspace = H5Screate_simple(1, mdims.as_ptr(), std::ptr::null());
        let mut status = 0;
        if ranges.is_empty() {
            status |= H5Sselect_none(fspace);
            status |= H5Sselect_none(mspace);
        } else {
            for (i, &(start, n)) in ranges.iter().enumerate() {
                let op = if i == 0 {
                    H5S_seloper_t::H5S_SELECT_SET
                } else {
                    H5S_seloper_t::H5S_SELECT_OR
                };
                let (s, c) = if n_dims == 2 {
                    ([start, 0], [n, width])
                } else {
                    ([start, 0], [n, 1])
                };
                status |= H5Sselect_hyperslab(
                    fspace,
                    op,
                    s.as_ptr(),
                    std::ptr::null(),
                    c.as_ptr(),
                    std::ptr::null(),
                );
            }
        }
        let buf = if piece.data.is_empty() {
            one.as_ptr().cast()
        } else {
            piece.data.as_ptr().cast()
        };
        if status >= 0 {
            status = hdf5_sys::h5d::H5Dwrite(ds.id(), mem_type.id(), mspace, fspace, dxpl.id, buf);
        }
        H5Sclose(mspace);
        H5Sclose(fspace);
        if status < 0 {
            return Err(format!("H5Dwrite of {} failed", ds.name()).into());
        }
    }
    Ok(())
}

// Rows are always written right after the extent grows, so fill values would only double the I/O
// (parallel HDF5 allocates chunks collectively and fills them unless told not to).
fn ext1<T: H5Type>(g: &Group, name: &str, chunk: usize) -> hdf5::Result<Dataset> {
    g.new_dataset::<T>()
        .chunk(chunk)
        .fill_time(FillTime::Never)
        .shape(SimpleExtents::resizable([0]))
        .create(name)
}

fn ext2<T: H5Type>(g: &Group, name: &str, width: usize) -> hdf5::Result<Dataset> {
    g.new_dataset::<T>()
        .chunk((1, width.max(1)))
        .fill_time(FillTime::Never)
        .shape(SimpleExtents::resizable([0, width]))
        .create(name)
}

/// Extends the first dimension of `ds` to `rows` if it is shorter (never shrinks it).
fn grow(ds: &Dataset, rows: u64, x: &Dxpl) -> hdf5::Result<()> {
    let mut shape = ds.shape();
    let rows = usize::try_from(rows).map_err(|_| hdf5::Error::from("row count overflows"))?;
    if shape[0] >= rows {
        return Ok(());
    }
    x.point(&|| format!("extend {}", ds.name()))?;
    shape[0] = rows;
    ds.resize(shape)
}

fn attr_str(loc: &Location, name: &str, value: &str) -> hdf5::Result<()> {
    let v: VarLenUnicode = value
        .parse()
        .map_err(|e| hdf5::Error::from(format!("{e}")))?;
    if loc.attr_names()?.iter().any(|n| n == name) {
        loc.delete_attr(name)?;
    }
    loc.new_attr::<VarLenUnicode>()
        .create(name)?
        .write_scalar(&v)
}

fn attr_strs(loc: &Location, name: &str, values: &[String]) -> hdf5::Result<()> {
    let v: Vec<VarLenUnicode> = values
        .iter()
        .map(|s| s.parse().map_err(|e| hdf5::Error::from(format!("{e}"))))
        .collect::<hdf5::Result<_>>()?;
    loc.new_attr::<VarLenUnicode>()
        .shape(v.len())
        .create(name)?
        .write(&v)
}

fn attr_scalar<T: H5Type>(loc: &Location, name: &str, value: T) -> hdf5::Result<()> {
    if loc.attr_names()?.iter().any(|n| n == name) {
        loc.delete_attr(name)?;
    }
    loc.new_attr::<T>().create(name)?.write_scalar(&value)
}

fn read_attr_str(loc: &Location, name: &str) -> hdf5::Result<String> {
    Ok(loc.attr(name)?.read_scalar::<VarLenUnicode>()?.to_string())
}

fn read_attr_strs(loc: &Location, name: &str) -> hdf5::Result<Vec<String>> {
    Ok(loc
        .attr(name)?
        .read_raw::<VarLenUnicode>()?
        .iter()
        .map(|s| s.to_string())
        .collect())
}

/// A fixed-size dataset of UTF-8 text, written collectively with rank 0's copy (every rank holds
/// the same bytes).
fn text_dataset(
    g: &Group,
    name: &str,
    text: &[u8],
    rank0: bool,
    dxpl: &Dxpl,
) -> hdf5::Result<Dataset> {
    let d = column(g, name, text, rank0, dxpl)?;
    attr_str(&d, "encoding", "utf-8")?;
    Ok(d)
}

/// A fixed-size 1-D dataset with `values`, written collectively with rank 0's copy.
fn column<T: H5Type + Copy>(
    g: &Group,
    name: &str,
    values: &[T],
    rank0: bool,
    dxpl: &Dxpl,
) -> hdf5::Result<Dataset> {
    let d = g.new_dataset::<T>().shape(values.len()).create(name)?;
    let mut piece = Piece::new();
    if rank0 {
        piece.push(0, values.len() as u64, values);
    }
    write_rows(&d, 1, &piece, dxpl)?;
    Ok(d)
}

/// The cell's synapse table: one row per synapse, population-major then by synapse id, with the
/// position columns of ISF's synapse activation file. Identical on every rank, so rank 0 writes it.
fn write_synapse_table(
    g: &Group,
    table: &SynapsePositions,
    rank0: bool,
    dxpl: &Dxpl,
) -> hdf5::Result<()> {
    let rows = table
        .populations
        .iter()
        .enumerate()
        .flat_map(|(p, syns)| syns.iter().enumerate().map(move |(i, s)| (p, i, s)));
    let mut population = Vec::with_capacity(table.len());
    let mut synapse_id = Vec::with_capacity(table.len());
    let mut distance = Vec::with_capacity(table.len());
    let mut section = Vec::with_capacity(table.len());
    let mut pt = Vec::with_capacity(table.len());
    let mut label = Vec::with_capacity(table.len());
    for (p, i, s) in rows {
        population.push(p as u32);
        synapse_id.push(i as u32);
        distance.push(s.soma_distance_um);
        section.push(s.section_id);
        pt.push(s.section_pt_id);
        label.push(s.label);
    }
    column(g, "population", &population, rank0, dxpl)?;
    column(g, "synapse_id", &synapse_id, rank0, dxpl)?;
    let d = column(g, "soma_distance_um", &distance, rank0, dxpl)?;
    attr_str(&d, "units", "um")?;
    column(g, "section_id", &section, rank0, dxpl)?;
    column(g, "section_pt_id", &pt, rank0, dxpl)?;
    column(g, "dendrite_label", &label, rank0, dxpl)?;
    attr_strs(g, "label_names", &table.labels)
}

/// Dataset name of a recording site (its label unless that is not a valid link name).
fn site_dataset_name(i: usize, label: &str) -> String {
    if label.is_empty() || label.contains('/') || label == "." || label == ".." {
        format!("site_{i:03}")
    } else {
        label.to_string()
    }
}

/// Datasets of one cell, opened once.
struct CellDatasets {
    t_ms: Dataset,
    soma_vm: Option<Dataset>,
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
    fn create(g: &Group, id_name: &str) -> hdf5::Result<Self> {
        Ok(Self {
            trial_start: ext1::<u64>(g, "trial_start", 1024)?,
            trial_count: ext1::<u64>(g, "trial_count", 1024)?,
            population: ext1::<u32>(g, "population", 4096)?,
            id: ext1::<u32>(g, id_name, 4096)?,
            times_start: ext1::<u64>(g, "times_start", 4096)?,
            times_count: ext1::<u64>(g, "times_count", 4096)?,
            times_ms: ext1::<f64>(g, "times_ms", 8192)?,
        })
    }
    fn open(g: &Group, id_name: &str) -> hdf5::Result<Self> {
        Ok(Self {
            trial_start: g.dataset("trial_start")?,
            trial_count: g.dataset("trial_count")?,
            population: g.dataset("population")?,
            id: g.dataset(id_name)?,
            times_start: g.dataset("times_start")?,
            times_count: g.dataset("times_count")?,
            times_ms: g.dataset("times_ms")?,
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
    path: PathBuf,
    file: File,
    dxpl: Dxpl,
    layout: ResultsLayout,
    state: CommitState,
    trials: TrialDatasets,
    cells: Vec<CellDatasets>,
    /// Whether [`Self::flush`] fsyncs the file by its path (serial runs).
    sync_by_path: bool,
}

/// Whether the file is opened through MPI-IO (then transfers are collective).
fn uses_mpi(comm: &dyn Communicator) -> bool {
    #[cfg(feature = "mpi")]
    return comm.mpi_comm().is_some();
    #[cfg(not(feature = "mpi"))]
    {
        let _ = comm;
        false
    }
}

/// Opens (or creates) the results file. It keeps HDF5's earliest object formats: the 1.10
/// formats checksum their metadata, but a 1.10-format file that a killed writer left open cannot
/// be opened again without `h5clear` (its superblock records the open writer), which would defeat
/// `--resume`.
fn open_file(path: &Path, comm: &dyn Communicator, create: bool) -> hdf5::Result<File> {
    let mut b = File::with_options();
    #[cfg(feature = "mpi")]
    if let Some(raw) = comm.mpi_comm() {
        b.with_fapl(|p| p.mpio(raw, None));
    }
    let _ = comm;
    if create {
        b.create_excl(path)
    } else {
        b.open_rw(path)
    }
}

/// A `map_err` adapter: an HDF5 error while doing `context` on the results file `path`.
fn hdf5_error(path: &Path, context: impl Into<String>) -> impl Fn(hdf5::Error) -> ResultsFileError {
    let (path, context) = (path.to_path_buf(), context.into());
    move |source| ResultsFileError::Hdf5 {
        path: path.clone(),
        context: context.clone(),
        source,
    }
}

/// The hidden name under which a new results file is made before it is renamed to `path`.
pub fn staging_path(path: &Path) -> PathBuf {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    path.with_file_name(format!(".{name}.partial"))
}

/// Bytes an unprivileged writer may still use on the file system holding `path` (its folder
/// if it does not exist yet); `None` if the system will not say.
pub fn free_bytes(path: &Path) -> Option<u64> {
    use std::os::unix::ffi::OsStrExt;
    let probe = if path.exists() {
        path
    } else {
        path.parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."))
    };
    let c = std::ffi::CString::new(probe.as_os_str().as_bytes()).ok()?;
    let mut st = std::mem::MaybeUninit::<libc::statvfs>::uninit();
    // SAFETY: a valid NUL-terminated path and a buffer statvfs fills on success.
    if unsafe { libc::statvfs(c.as_ptr(), st.as_mut_ptr()) } != 0 {
        return None;
    }
    // SAFETY: statvfs returned 0, so the buffer is initialised.
    let st = unsafe { st.assume_init() };
    Some(st.f_bavail.saturating_mul(st.f_frsize))
}

/// Makes a rename into `path`'s folder durable.
fn sync_dir(path: &Path) -> std::io::Result<()> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    std::fs::File::open(dir)?.sync_all()
}

/// Every rank learns whether any rank failed, so none enters a collective call alone.
fn collective<T>(
    comm: &dyn Communicator,
    local: Result<T, ResultsFileError>,
) -> Result<T, ResultsFileError> {
    let flags = comm.all_gather_u64(&[u64::from(local.is_err())]);
    let v = local?;
    match flags.iter().position(|f| f[0] != 0) {
        Some(rank) => Err(ResultsFileError::OtherRank { rank: rank as u32 }),
        None => Ok(v),
    }
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
            attr_str(&file, "format", FORMAT)?;
            attr_scalar(&file, "format_version", FORMAT_VERSION)?;
            attr_scalar(&file, "batch_size", layout.batch_size)?;
            attr_scalar(&file, "n_trials_total", layout.n_trials)?;
            attr_scalar(&file, "n_batches_total", layout.n_batches())?;
            let mut fields = vec!["batches".to_string(), "trials".to_string()];
            for c in &layout.cells {
                fields.extend(CELL_FIELDS.iter().map(|f| format!("{}:{f}", c.name)));
            }
            attr_strs(&file, "commit_state_fields", &fields)?;
            let w = state.to_words();
            file.new_attr::<u64>()
                .shape(w.len())
                .create("commit_state")?
                .write(&w)?;
            let t = file.create_group("trials")?;
            ext1::<u64>(&t, "trial_id", 1024)?;
            ext1::<u32>(&t, "cell_id", 1024)?;
            ext1::<u64>(&t, "seed", 1024)?;
            ext1::<u32>(&t, "sweep", 1024)?;
            ext1::<u64>(&t, "n_soma_spikes", 1024)?;
            ext1::<f64>(&t, "wall_time_s", 1024)?;
            ext1::<u32>(&t, "rank", 1024)?;
            let cells = file.create_group("cells")?;
            let spikes = file.create_group("spikes")?;
            for (ci, c) in layout.cells.iter().enumerate() {
                let g = cells.create_group(&c.name)?;
                attr_scalar(&g, "cell_id", ci as u32)?;
                attr_scalar(&g, "first_trial_id", c.first_trial_id)?;
                attr_scalar(&g, "n_trials", c.n_trials)?;
                attr_strs(&g, "population_names", &c.population_names)?;
                attr_strs(&g, "site_labels", &c.site_labels)?;
                let n_out = c.n_out(layout.every_k_steps);
                let dt = c.dt_ms * layout.every_k_steps as f64;
                g.new_dataset::<f64>().shape(n_out).create("t_ms")?;
                let t_ms = g.dataset("t_ms")?;
                attr_str(&t_ms, "units", "ms")?;
                let trace_attrs = |d: &Dataset| -> hdf5::Result<()> {
                    attr_scalar(d, "t0", c.t0_ms)?;
                    attr_scalar(d, "dt", dt)?;
                    attr_str(d, "units", "mV")?;
                    attr_str(d, "t_units", "ms")
                };
                if layout.record_soma {
                    trace_attrs(&ext2::<f32>(&g, "soma_vm", n_out)?)?;
                }
                let sites = g.create_group("sites")?;
                for (i, label) in c.site_labels.iter().enumerate() {
                    let d = ext2::<f32>(&sites, &site_dataset_name(i, label), n_out)?;
                    trace_attrs(&d)?;
                    attr_str(&d, "label", label)?;
                }
                if let Some(table) = &c.synapse_positions {
                    write_synapse_table(&g.create_group("synapses")?, table, rank0, &dxpl)?;
                }
                if !c.parameter_files.is_empty() {
                    let pf = g.create_group("parameterfiles")?;
                    for (name, bytes) in &c.parameter_files {
                        text_dataset(&pf, name, bytes, rank0, &dxpl)?;
                    }
                }
                RaggedDatasets::create(&g.create_group("synapse_activations")?, "synapse_id")?;
                RaggedDatasets::create(&g.create_group("presynaptic_spikes")?, "cell_id")?;
                let s = spikes.create_group(&c.name)?;
                s.new_attr::<SpikeSorting>()
                    .create("sorting")?
                    .write_scalar(&SpikeSorting::by_id)?;
                let timestamps = ext1::<f64>(&s, "timestamps", 4096)?;
                attr_str(&timestamps, "units", "ms")?;
                ext1::<u64>(&s, "node_ids", 4096)?;
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
        let installed = if comm.rank() == 0 {
            w.dxpl
                .point(&|| "install".into())
                .map_err(e("install"))
                .and_then(|()| std::fs::rename(&staging, path).map_err(io("install")))
                .and_then(|()| sync_dir(path).map_err(io("sync its folder")))
        } else {
            Ok(())
        };
        collective(comm, installed)?;
        Ok(w)
    }

    /// Hands HDF5's buffers to the file and, in a serial run, makes them durable (MPI-IO's flush
    /// already syncs the file on every rank).
    fn flush(&self) -> hdf5::Result<()> {
        self.dxpl.point(&|| "flush".into())?;
        self.file.flush()?;
        if self.sync_by_path {
            std::fs::File::open(&self.path)
                .and_then(|f| f.sync_data())
                .map_err(|err| hdf5::Error::from(format!("fsync: {err}").as_str()))?;
        }
        Ok(())
    }

    fn attach(
        path: &Path,
        file: File,
        dxpl: Dxpl,
        layout: &ResultsLayout,
        state: CommitState,
    ) -> hdf5::Result<Self> {
        let t = file.group("trials")?;
        let trials = TrialDatasets {
            trial_id: t.dataset("trial_id")?,
            cell_id: t.dataset("cell_id")?,
            seed: t.dataset("seed")?,
            sweep: t.dataset("sweep")?,
            n_soma_spikes: t.dataset("n_soma_spikes")?,
            wall_time_s: t.dataset("wall_time_s")?,
            rank: t.dataset("rank")?,
        };
        let mut cells = Vec::new();
        for (i, c) in layout.cells.iter().enumerate() {
            let g = file.group(&format!("cells/{}", c.name))?;
            let s = file.group(&format!("spikes/{}", c.name))?;
            cells.push(CellDatasets {
                t_ms: g.dataset("t_ms")?,
                soma_vm: if layout.record_soma {
                    Some(g.dataset("soma_vm")?)
                } else {
                    None
                },
                sites: c
                    .site_labels
                    .iter()
                    .enumerate()
                    .map(|(j, l)| g.dataset(&format!("sites/{}", site_dataset_name(j, l))))
                    .collect::<hdf5::Result<_>>()?,
                syn: RaggedDatasets::open(&g.group("synapse_activations")?, "synapse_id")?,
                pre: RaggedDatasets::open(&g.group("presynaptic_spikes")?, "cell_id")?,
                spike_times: s.dataset("timestamps")?,
                spike_nodes: s.dataset("node_ids")?,
            });
            let _ = i;
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
        let p = self.file.create_group("provenance").map_err(&e)?;
        (|| -> hdf5::Result<()> {
            attr_str(&p, "isf_version", &prov.isf_version)?;
            attr_str(&p, "git_commit", &prov.git_commit)?;
            attr_str(&p, "command_line", &prov.command_line)?;
            attr_str(&p, "config_path", &prov.config_path)?;
            attr_str(
                &p,
                "config_sha256",
                &sha256_hex(prov.config_text.as_bytes()),
            )?;
            attr_str(&p, "start_time", &prov.start_time)?;
            attr_scalar(&p, "n_ranks", prov.n_ranks)?;
            attr_scalar(&p, "n_threads", prov.n_threads)?;
            attr_strs(&p, "models", &prov.models)?;
            let names: Vec<String> = prov.files.iter().map(|f| f.0.clone()).collect();
            let hashes: Vec<String> = prov.files.iter().map(|f| f.2.clone()).collect();
            attr_strs(&p, "input_files", &names)?;
            attr_strs(&p, "input_sha256", &hashes)?;
            text_dataset(
                &p,
                "config_text",
                prov.config_text.as_bytes(),
                rank0,
                &self.dxpl,
            )?;
            let files = p.create_group("files")?;
            for (i, (name, text, hash)) in prov.files.iter().enumerate() {
                let d = text_dataset(&files, &format!("{i:03}"), text, rank0, &self.dxpl)?;
                attr_str(&d, "path", name)?;
                attr_str(&d, "sha256", hash)?;
            }
            Ok(())
        })()
        .map_err(&e)
    }

    /// Reopens a results file to continue a run: checks that it belongs to the same config and
    /// inputs, drops rows of an incomplete batch and returns the number of complete batches.
    pub fn resume(
        path: &Path,
        comm: &dyn Communicator,
        layout: &ResultsLayout,
        prov: &Provenance,
        hook: Option<WriteHook>,
    ) -> Result<(Self, u64), ResultsFileError> {
        let e = |context: &str| hdf5_error(path, context.to_string());
        let mismatch = |msg: String| ResultsFileError::Mismatch {
            path: path.to_owned(),
            msg,
        };
        let file = open_file(path, comm, false).map_err(e("open for --resume"))?;
        let format = read_attr_str(&file, "format").unwrap_or_default();
        if format != FORMAT {
            return Err(mismatch(format!(
                "not an isf results file (format `{format}`)"
            )));
        }
        let p = file.group("provenance").map_err(e("read provenance"))?;
        let old_config = read_attr_str(&p, "config_sha256").map_err(e("read provenance"))?;
        let new_config = sha256_hex(prov.config_text.as_bytes());
        if old_config != new_config {
            return Err(mismatch(format!(
                "cannot resume: the config {} changed since this file was started (sha256 {old_config} → \
                 {new_config}); use a new output path, or --overwrite to start again",
                prov.config_path
            )));
        }
        let old_files = read_attr_strs(&p, "input_files").map_err(e("read provenance"))?;
        let old_hashes = read_attr_strs(&p, "input_sha256").map_err(e("read provenance"))?;
        for (name, _, hash) in &prov.files {
            match old_files.iter().position(|f| f == name) {
                Some(i) if old_hashes.get(i) == Some(hash) => {}
                Some(i) => {
                    return Err(mismatch(format!(
                        "cannot resume: input file {name} changed since this file was started (sha256 {} → \
                         {hash})",
                        old_hashes.get(i).map(String::as_str).unwrap_or("?")
                    )))
                }
                None => return Err(mismatch(format!("cannot resume: input file {name} was not part of this run"))),
            }
        }
        let words: Vec<u64> = file
            .attr("commit_state")
            .and_then(|a| a.read_raw())
            .map_err(e("read commit_state"))?;
        let state = CommitState::from_words(&words, layout.cells.len())
            .ok_or_else(|| mismatch("commit_state does not match the config's cells".into()))?;
        let dxpl = Dxpl::new(uses_mpi(comm), hook).map_err(e("transfer properties"))?;
        let mut w =
            Self::attach(path, file, dxpl, layout, state.clone()).map_err(e("open datasets"))?;
        w.sync_by_path = !uses_mpi(comm);
        // Rows beyond the committed sizes stay: the next batch overwrites them in place.
        w.dxpl
            .point(&|| "write /provenance last_resumed".into())
            .and_then(|()| attr_str(&p, "last_resumed", &prov.start_time))
            .map_err(e("write provenance"))?;
        Ok((w, state.batches))
    }

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
            if !ok_len(&r.t_ms)
                || (self.layout.record_soma && !ok_len(&r.soma_vm_mv))
                || r.site_vm_mv.len() != c.site_labels.len()
                || !r.site_vm_mv.iter().all(ok_len)
            {
                bad = format!(
                    "trial {}: trace shape differs from the cell's ({} samples, {} sites)",
                    r.trial_id,
                    c.n_samples,
                    c.site_labels.len()
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
            .and_then(|()| self.file.attr("commit_state"))
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
            let mut p = Piece::new();
            if let Some(r) = mine.iter().find(|r| row(r) == 0) {
                let t: Vec<f64> = r.t_ms.iter().step_by(k).copied().collect();
                p.push(0, t.len() as u64, &t);
            }
            write_rows(&d.t_ms, 1, &p, &self.dxpl)?;
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
        let p = self.file.group("provenance").map_err(&e)?;
        self.dxpl
            .point(&|| "write /provenance end_time".into())
            .and_then(|()| attr_str(&p, "end_time", end_time))
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
