//! Building a database from simulation results: ISF output folders ([`init_isf`]) and isf's SPMD
//! results file ([`init_results`]). Both write the same keys with the same layouts
//! (docs/post.md#database-keys): `sim_trial_index`, `metadata`, `voltage_traces`,
//! `dendritic_recordings/<label>`, `spike_times`, `dendritic_spike_times/<label>_<threshold>`,
//! `synapse_activation`, `cell_activation`, `parameterfiles` (+ the `parameterfiles_cell_folder` /
//! `parameterfiles_network_folder` managed folders), `simresult_path` and `filelist`.
//!
//! The database is built in a temporary sibling folder and moved into place only when complete, so
//! an interrupted or failed import leaves an existing database exactly as it was.

use crate::analysis::{
    classify_ei_by_name, classify_ei_by_receptors, upward_crossings, upward_crossings_interpolated,
};
use crate::db::payload::write_trace_rows;
use crate::db::{
    self, h5_err, install_dir, io_err, key, Activations, ActivationsKind, Column, Database,
    DbError, KeyMeta, Source, SpikeTimes, Strings, Table, TraceReader, Traces,
};
use crate::progress;
use ndarray::Array2;
use rayon::prelude::*;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fs;
use std::path::{Path, PathBuf};

/// Errors of the importers; each names the offending file (and line) or folder.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    /// Reading or writing the database failed.
    #[error(transparent)]
    Db(#[from] DbError),
    /// A line of an ISF text file does not parse.
    #[error("{path}:{line}: {msg}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// The offending line, counted from 1 (0 when the problem is not tied to one line).
        line: usize,
        /// What is wrong with it.
        msg: String,
    },
    /// The input folders hold no voltage-trace file.
    #[error("no `*vm_all_traces.csv` files found under {0}")]
    NoTraces(String),
    /// A folder's trace file and its synapse-activation files count different numbers of trials.
    #[error("{dir}: {n_traces} voltage-trace columns in {trace_file} but {n_syn} `simulation_run*_synapses.csv` files")]
    TrialCountMismatch {
        /// The folder.
        dir: PathBuf,
        /// Name of the folder's voltage-trace file.
        trace_file: String,
        /// Number of trace columns (trials) in that file.
        n_traces: usize,
        /// Number of synapse-activation files in the folder.
        n_syn: usize,
    },
    /// A trace file's time axis differs from that of the first trace file read.
    #[error("{0}: its time axis differs from the first trace file's; all trials must share one time axis")]
    TimeAxisMismatch(PathBuf),
    /// Two trials would get the same id.
    #[error("duplicate trial id `{0}` (two input folders give the same relative path)")]
    DuplicateTrial(String),
    /// The output database exists and `--overwrite` was not given.
    #[error("{0} exists; pass --overwrite to replace it (it is replaced only after the new database is complete)")]
    Exists(PathBuf),
    /// The output path is a non-empty folder that is not a database; it is never replaced.
    #[error("{0} exists and is not an isf database; refusing to replace it")]
    NotReplaceable(PathBuf),
    /// isf's results file is unreadable or breaks its schema.
    #[error("{path}: {msg}")]
    Results {
        /// The results file.
        path: PathBuf,
        /// What is wrong.
        msg: String,
    },
}

/// How both importers label populations EXC/INH (stored as the `EI_rule` parameter).
pub(crate) const EI_RULE: &str = "receptor of the population in the network parameter file (glutamate_syn → EXC, gaba_syn → INH); cell-type name otherwise (L1 → INH)";

/// Result alias of the importers.
pub type Result<T> = std::result::Result<T, ImportError>;

/// Import options.
#[derive(Debug, Clone)]
pub struct ImportOptions {
    /// Replace an existing database (atomically, after the new one is complete).
    pub overwrite: bool,
    /// Somatic spike threshold \[mV\] (ISF: 0).
    pub soma_threshold_mv: f64,
    /// Dendritic spike threshold \[mV\] (ISF: −30).
    pub dendritic_threshold_mv: f64,
    /// `init_results`: build a database of the committed trials of an incomplete (killed) run
    /// instead of refusing; every key then records `incomplete_run` in its parameters.
    pub allow_incomplete: bool,
}

impl Default for ImportOptions {
    fn default() -> Self {
        ImportOptions {
            overwrite: false,
            soma_threshold_mv: 0.0,
            dendritic_threshold_mv: -30.0,
            allow_incomplete: false,
        }
    }
}

/// What an import produced.
#[derive(Debug, Clone)]
pub struct ImportSummary {
    /// Number of trials.
    pub n_trials: usize,
    /// Top-level keys written.
    pub keys: Vec<String>,
    /// Temporary folders of earlier imports into the same path that were found (and removed when
    /// their writer was gone), as messages for the user.
    pub leftovers: Vec<String>,
}

/// Builds a database at `db_path` via `build` in a temporary sibling folder, then installs it
/// (atomic exchange with an existing database when `overwrite`).
pub fn build_atomically(
    db_path: &Path,
    overwrite: bool,
    build: impl FnOnce(&Database) -> Result<usize>,
) -> Result<ImportSummary> {
    if db_path.exists() {
        let empty = fs::read_dir(db_path)
            .map_err(io_err(db_path))?
            .next()
            .is_none();
        if !empty {
            if !db_path.join(db::DB_FILE).is_file() {
                return Err(ImportError::NotReplaceable(db_path.to_path_buf()));
            }
            if !overwrite {
                return Err(ImportError::Exists(db_path.to_path_buf()));
            }
        }
    }
    let parent = match db_path.parent().filter(|p| !p.as_os_str().is_empty()) {
        Some(parent) => {
            fs::create_dir_all(parent).map_err(io_err(parent))?;
            parent.to_path_buf()
        }
        None => PathBuf::from("."),
    };
    // Leftovers of an earlier import into the same path (killed, or interrupted before this
    // version removed its temporaries itself).
    let name = db_path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let leftovers: Vec<String> = db::temp::clean_stale(&parent, &format!("{name}."))
        .iter()
        .map(ToString::to_string)
        .collect();
    for l in &leftovers {
        tracing::info!("{l}");
    }
    let tmp = db::temp_sibling(db_path);
    let _cleanup = isf_io::signals::remove_on_interrupt(&tmp);
    let res = (|| {
        let db = Database::create(&tmp)?;
        db::temp::write_owner(&tmp)?;
        let n = build(&db)?;
        db::temp::check_interrupt()?;
        let keys = db.keys()?.into_iter().map(|k| k.name).collect();
        if db_path.exists()
            && fs::read_dir(db_path)
                .map_err(io_err(db_path))?
                .next()
                .is_none()
        {
            fs::remove_dir(db_path).map_err(io_err(db_path))?;
        }
        install_dir(&tmp, db_path)?;
        Ok(ImportSummary {
            n_trials: n,
            keys,
            leftovers,
        })
    })();
    if res.is_err() {
        let _ = fs::remove_dir_all(&tmp);
    }
    res
}

/// One trial as found in the inputs.
#[derive(Debug, Clone)]
pub(crate) struct TrialRecord {
    pub id: String,
    pub path: String,
    pub trialnr: String,
    pub trace_file: String,
    pub synapses_file: String,
    pub cells_file: String,
}

fn parse_err(path: &Path, line: usize, msg: impl Into<String>) -> ImportError {
    ImportError::Parse {
        path: path.to_path_buf(),
        line,
        msg: msg.into(),
    }
}

/// An ISF text file's read error as the importer's (file and line kept).
fn file_err(e: isf_io::isf_files::FileError) -> ImportError {
    use isf_io::isf_files::FileError;
    match e {
        FileError::Io { path, source, .. } => ImportError::Db(DbError::Io { path, source }),
        FileError::Format {
            file,
            line,
            message,
        } => ImportError::Parse {
            path: file,
            line,
            msg: message,
        },
    }
}

/// A file's bytes, their [`Source`] and their text.
fn read_source(path: &Path) -> Result<(Vec<u8>, Source)> {
    let bytes = fs::read(path).map_err(io_err(path))?;
    let source = Source::of_bytes(path, &bytes);
    Ok((bytes, source))
}

/// A parsed voltage-trace CSV: time column and one column per trial.
pub(crate) struct TraceCsv {
    pub t_ms: Vec<f64>,
    /// trials × samples
    pub vm: Array2<f64>,
    pub source: Source,
}

/// Parses an ISF `*_vm_all_traces.csv` / `*_vm_dend_traces.csv` (TAB separated, header
/// `t\tVm run 00…`) with the one reader of the format ([`isf_io::isf_files::TraceTable`]).
pub(crate) fn parse_trace_csv(path: &Path) -> Result<TraceCsv> {
    let (bytes, source) = read_source(path)?;
    let text = isf_io::isf_files::text_of(&bytes, path).map_err(file_err)?;
    let table = isf_io::isf_files::TraceTable::parse(text, path).map_err(file_err)?;
    if table.header.len() < 2 {
        return Err(parse_err(
            path,
            1,
            format!(
                "expected header `t<TAB>Vm run 00…`, found `{}`",
                table.header.join("\t")
            ),
        ));
    }
    let mut columns = table.columns.into_iter();
    let t_ms = columns.next().unwrap_or_default();
    let runs: Vec<Vec<f64>> = columns.collect();
    let shape = (runs.len(), t_ms.len());
    let vm = Array2::from_shape_vec(shape, runs.concat())
        .map_err(|e| parse_err(path, 1, e.to_string()))?;
    Ok(TraceCsv { t_ms, vm, source })
}

/// One parsed activation file.
#[derive(Default)]
pub(crate) struct ActivationRows {
    pub pop: Vec<String>,
    pub id: Vec<i64>,
    pub soma_distance_um: Vec<f64>,
    pub section_id: Vec<i64>,
    pub section_pt_id: Vec<i64>,
    pub label: Vec<String>,
    pub times: Vec<Vec<f64>>,
}

/// Parses `simulation_run*_synapses.csv` (`kind = Synapse`) or `…_presynaptic_cells.csv` with
/// the one reader of each format ([`isf_io::isf_files`]).
pub(crate) fn parse_activation_csv(
    path: &Path,
    kind: ActivationsKind,
) -> Result<(ActivationRows, Source)> {
    let (bytes, source) = read_source(path)?;
    let text = isf_io::isf_files::text_of(&bytes, path).map_err(file_err)?;
    let int = |x: usize, what: &str| {
        i64::try_from(x).map_err(|_| parse_err(path, 0, format!("{what} {x} is too large")))
    };
    let mut r = ActivationRows::default();
    match kind {
        ActivationsKind::Synapse => {
            for row in isf_io::isf_files::parse_synapse_activations(text, path).map_err(file_err)? {
                r.pop.push(row.population);
                r.id.push(int(row.synapse_id, "synapse ID")?);
                r.soma_distance_um.push(row.soma_distance_um);
                r.section_id.push(int(row.section_id, "section ID")?);
                r.section_pt_id
                    .push(int(row.section_pt_id, "section pt ID")?);
                r.label.push(row.dendrite_label);
                r.times.push(row.times_ms);
            }
        }
        ActivationsKind::Cell => {
            for row in isf_io::isf_files::parse_presynaptic_cells(text, path).map_err(file_err)? {
                r.pop.push(row.population);
                r.id.push(int(row.cell_id, "cell ID")?);
                r.times.push(row.times_ms);
            }
        }
    }
    Ok((r, source))
}

/// Assembles per-trial activation rows into one categorical table (populations and labels sorted
/// by code point, as ISF sorts populations).
pub(crate) fn assemble_activations(
    kind: ActivationsKind,
    trial_ids: Vec<String>,
    per_trial: Vec<ActivationRows>,
    ei: &HashMap<String, String>,
) -> Activations {
    let pops: BTreeSet<&str> = per_trial
        .iter()
        .flat_map(|r| r.pop.iter().map(String::as_str))
        .collect();
    let labels: BTreeSet<&str> = per_trial
        .iter()
        .flat_map(|r| r.label.iter().map(String::as_str))
        .collect();
    let pop_code: HashMap<&str, u32> = pops
        .iter()
        .enumerate()
        .map(|(i, p)| (*p, i as u32))
        .collect();
    let label_code: HashMap<&str, u32> = labels
        .iter()
        .enumerate()
        .map(|(i, p)| (*p, i as u32))
        .collect();
    let mut a = Activations::empty(kind);
    a.populations = pops.iter().map(|s| s.to_string()).collect();
    if kind == ActivationsKind::Synapse {
        a.population_ei = a
            .populations
            .iter()
            .map(|p| {
                ei.get(p)
                    .cloned()
                    .unwrap_or_else(|| classify_ei_by_name(p).to_string())
            })
            .collect();
        a.labels = labels.iter().map(|s| s.to_string()).collect();
    }
    for r in &per_trial {
        for i in 0..r.pop.len() {
            a.population_code.push(pop_code[r.pop[i].as_str()]);
            a.id.push(r.id[i]);
            if kind == ActivationsKind::Synapse {
                a.soma_distance_um.push(r.soma_distance_um[i]);
                a.section_id.push(r.section_id[i]);
                a.section_pt_id.push(r.section_pt_id[i]);
                a.label_code.push(label_code[r.label[i].as_str()]);
            }
            a.times_ms.extend_from_slice(&r.times[i]);
            a.time_offsets.push(a.times_ms.len() as u64);
        }
        a.trial_row_offsets.push(a.population_code.len() as u64);
    }
    a.trial_ids = trial_ids;
    a
}

/// `EXC`/`INH` per population from a network parameter file's receptors (see
/// [`classify_ei_by_receptors`]). Unreadable files give an empty map (names are used instead).
pub(crate) fn ei_from_network_param(path: &Path) -> HashMap<String, String> {
    match fs::read_to_string(path) {
        Ok(text) => {
            let m = ei_from_network_text(&text);
            if m.is_empty() {
                tracing::warn!(
                    "{}: no network populations read; classifying EXC/INH by cell-type name",
                    path.display()
                );
            }
            m
        }
        Err(_) => HashMap::new(),
    }
}

/// As [`ei_from_network_param`] for the JSON text of a network parameter file.
pub(crate) fn ei_from_network_text(text: &str) -> HashMap<String, String> {
    let mut out = HashMap::new();
    let Ok(v) = serde_json::from_str::<serde_json::Value>(text) else {
        return out;
    };
    if let Some(net) = v.get("network").and_then(|n| n.as_object()) {
        for (pop, p) in net {
            let receptors: Vec<&str> = p
                .pointer("/synapses/receptors")
                .and_then(|r| r.as_object())
                .map(|r| r.keys().map(String::as_str).collect())
                .unwrap_or_default();
            out.insert(
                pop.clone(),
                classify_ei_by_receptors(pop, &receptors).to_string(),
            );
        }
    }
    out
}

fn find_trace_files(dir: &Path, out: &mut Vec<PathBuf>) -> Result<()> {
    let mut entries: Vec<_> = fs::read_dir(dir)
        .map_err(io_err(dir))?
        .collect::<std::io::Result<Vec<_>>>()
        .map_err(io_err(dir))?;
    entries.sort_by_key(|e| e.file_name());
    for e in entries {
        let p = e.path();
        let name = e.file_name().to_string_lossy().into_owned();
        if p.is_dir() {
            find_trace_files(&p, out)?;
        } else if name.ends_with("vm_all_traces.csv") && !p.to_string_lossy().contains("_running") {
            out.push(p);
        }
    }
    Ok(())
}

/// Trial numbers of the `simulation_runNNNN_<suffix>` files in a folder, sorted, with the digit count.
fn run_numbers(dir: &Path, suffix: &str) -> Result<(Vec<u64>, usize)> {
    let mut nums = Vec::new();
    let mut digits = 4;
    for e in fs::read_dir(dir).map_err(io_err(dir))? {
        let name = e
            .map_err(io_err(dir))?
            .file_name()
            .to_string_lossy()
            .into_owned();
        if let Some(n) = name
            .strip_prefix("simulation_run")
            .and_then(|s| s.strip_suffix(suffix))
        {
            if let Ok(v) = n.parse::<u64>() {
                nums.push(v);
                digits = n.len();
            }
        }
    }
    nums.sort_unstable();
    Ok((nums, digits))
}

/// One trace file and what belongs to it.
struct TraceGroup {
    trace: PathBuf,
    dir: PathBuf,
    trials: Vec<TrialRecord>,
    /// label → dendritic trace file
    dend: BTreeMap<String, PathBuf>,
    neuron_param: Option<PathBuf>,
    network_param: Option<PathBuf>,
}

fn discover(roots: &[PathBuf]) -> Result<Vec<TraceGroup>> {
    let mut groups = Vec::new();
    let mut seen = BTreeSet::new();
    for root in roots {
        if !root.is_dir() {
            return Err(DbError::Io {
                path: root.clone(),
                source: std::io::Error::new(std::io::ErrorKind::NotFound, "not a directory"),
            }
            .into());
        }
        let mut traces = Vec::new();
        find_trace_files(root, &mut traces)?;
        for trace in traces {
            let dir = trace.parent().unwrap_or(root).to_path_buf();
            let rel = dir
                .strip_prefix(root)
                .unwrap_or(&dir)
                .to_string_lossy()
                .into_owned();
            // ISF uses the folder relative to the results root; a trace file directly in the root
            // gets the root's own name so that ids stay meaningful.
            let rel = if rel.is_empty() {
                std::path::absolute(root)
                    .ok()
                    .and_then(|a| a.file_name().map(|n| n.to_string_lossy().into_owned()))
                    .unwrap_or_else(|| ".".into())
            } else {
                rel
            };
            let fname = trace
                .file_name()
                .unwrap_or_default()
                .to_string_lossy()
                .into_owned();
            let prefix = fname
                .strip_suffix("_vm_all_traces.csv")
                .unwrap_or("")
                .to_string();
            let (syn, digits) = run_numbers(&dir, "_synapses.csv")?;
            let header = {
                let text = fs::read_to_string(&trace).map_err(io_err(&trace))?;
                text.lines()
                    .next()
                    .unwrap_or("")
                    .split('\t')
                    .count()
                    .saturating_sub(1)
            };
            if header != syn.len() {
                return Err(ImportError::TrialCountMismatch {
                    dir,
                    trace_file: fname,
                    n_traces: header,
                    n_syn: syn.len(),
                });
            }
            let mut trials = Vec::new();
            for n in syn {
                let trialnr = format!("{n:06}");
                let id = format!("{rel}/{trialnr}");
                if !seen.insert(id.clone()) {
                    return Err(ImportError::DuplicateTrial(id));
                }
                trials.push(TrialRecord {
                    id,
                    path: rel.clone(),
                    trialnr,
                    trace_file: fname.clone(),
                    synapses_file: format!("simulation_run{n:0digits$}_synapses.csv"),
                    cells_file: format!("simulation_run{n:0digits$}_presynaptic_cells.csv"),
                });
            }
            let mut dend = BTreeMap::new();
            let mut neuron_param = None;
            let mut network_param = None;
            for e in fs::read_dir(&dir).map_err(io_err(&dir))? {
                let name = e
                    .map_err(io_err(&dir))?
                    .file_name()
                    .to_string_lossy()
                    .into_owned();
                let Some(rest) = name.strip_prefix(&format!("{prefix}_")) else {
                    continue;
                };
                if let Some(label) = rest.strip_suffix("_vm_dend_traces.csv") {
                    dend.insert(label.to_string(), dir.join(&name));
                } else if rest == "neuron_model.param" {
                    neuron_param = Some(dir.join(&name));
                } else if rest == "network_model.param" {
                    network_param = Some(dir.join(&name));
                }
            }
            groups.push(TraceGroup {
                trace,
                dir,
                trials,
                dend,
                neuron_param,
                network_param,
            });
        }
    }
    if groups.is_empty() {
        return Err(ImportError::NoTraces(
            roots
                .iter()
                .map(|r| r.display().to_string())
                .collect::<Vec<_>>()
                .join(", "),
        ));
    }
    Ok(groups)
}

/// Writes one trace key by streaming files in parallel batches (parse) and serial writes.
fn write_trace_key(
    db: &Database,
    k: &str,
    description: &str,
    trial_ids: &[String],
    files: &[(PathBuf, usize)],
    what: &str,
) -> Result<()> {
    let first = parse_trace_csv(&files[0].0)?;
    let t_ms = first.t_ms.clone();
    let pb = progress::bar(files.len() as u64, what);
    let mut sources = Vec::new();
    let meta = KeyMeta::new(<Traces as db::Payload>::KIND, description).param("units", "mV");
    let mut err: Option<ImportError> = None;
    // Sources are only known after parsing, so the metadata is completed in a second step.
    let mut meta_final = meta.clone();
    db.write_with(k, &meta, |f| {
        let ds = Traces::create_streaming(f, trial_ids, &t_ms).map_err(h5_err(Path::new(k)))?;
        let mut row = 0usize;
        for batch in files.chunks(16) {
            db::temp::check_interrupt()?;
            let parsed: Vec<Result<TraceCsv>> =
                batch.par_iter().map(|(p, _)| parse_trace_csv(p)).collect();
            for ((p, n), r) in batch.iter().zip(parsed) {
                let tc = match r {
                    Ok(tc) => tc,
                    Err(e) => {
                        err = Some(e);
                        return Err(DbError::Malformed {
                            path: p.clone(),
                            msg: "parse failed".into(),
                        });
                    }
                };
                if tc.t_ms.len() != t_ms.len()
                    || tc
                        .t_ms
                        .iter()
                        .zip(&t_ms)
                        .any(|(a, b)| a.to_bits() != b.to_bits())
                {
                    err = Some(ImportError::TimeAxisMismatch(p.clone()));
                    return Err(DbError::Malformed {
                        path: p.clone(),
                        msg: "time axis".into(),
                    });
                }
                if tc.vm.nrows() != *n {
                    err = Some(ImportError::TrialCountMismatch {
                        dir: p.parent().unwrap_or(Path::new("")).to_path_buf(),
                        trace_file: p.display().to_string(),
                        n_traces: tc.vm.nrows(),
                        n_syn: *n,
                    });
                    return Err(DbError::Malformed {
                        path: p.clone(),
                        msg: "trial count".into(),
                    });
                }
                write_trace_rows(&ds, row, &tc.vm).map_err(h5_err(p))?;
                row += n;
                sources.push(tc.source);
                pb.inc(1);
            }
        }
        meta_final.sources = std::mem::take(&mut sources);
        Ok(())
    })
    .map_err(|e| err.take().unwrap_or(ImportError::Db(e)))?;
    pb.finish_and_clear();
    // Record the sources in key.json and the HDF5 attribute (the value itself is complete).
    rewrite_meta(db, k, &meta_final)
}

/// Replaces the metadata of a freshly written key (inside a database still under construction).
fn rewrite_meta(db: &Database, k: &str, meta: &KeyMeta) -> Result<()> {
    let dir = db.key_dir(k);
    let path = dir.join(db::DATA_FILE);
    {
        let f = hdf5::File::append(&path).map_err(h5_err(&path))?;
        let json = serde_json::to_string(meta).map_err(|e| DbError::Malformed {
            path: path.clone(),
            msg: e.to_string(),
        })?;
        f.delete_attr("isf_metadata_json").map_err(h5_err(&path))?;
        db::h5::set_attr_str(&f, "isf_metadata_json", &json).map_err(h5_err(&path))?;
    }
    let meta = &KeyMeta {
        payload: Some(db::PayloadDigest::of_file(&path)?),
        ..meta.clone()
    };
    let s = serde_json::to_string_pretty(meta).map_err(|e| DbError::Malformed {
        path: path.clone(),
        msg: e.to_string(),
    })?;
    db::write_file_atomic(&dir.join(db::KEY_FILE), s.as_bytes())?;
    Ok(())
}

/// Spike times of every trial of a trace key, computed from the stored traces.
pub(crate) fn spike_times_from_traces(
    db: &Database,
    trace_key: &[String],
    threshold_mv: f64,
) -> Result<SpikeTimes> {
    let (_, f, _) = db.open_value(trace_key, Some(<Traces as db::Payload>::KIND))?;
    let r = TraceReader::open(f, &trace_key.join("/"))?;
    let n = r.index.len();
    let mut rows = Vec::with_capacity(n);
    let pb = progress::bar(n as u64, "spike detection");
    for r0 in (0..n).step_by(256) {
        db::temp::check_interrupt()?;
        let r1 = (r0 + 256).min(n);
        let block = r.rows(r0, r1)?;
        let res: Vec<(Vec<f64>, Vec<f64>)> = (0..block.nrows())
            .into_par_iter()
            .map(|i| {
                let v = block.row(i);
                let v = v
                    .as_slice()
                    .map(|s| s.to_vec())
                    .unwrap_or_else(|| v.to_vec());
                (
                    upward_crossings(&r.t_ms, &v, threshold_mv),
                    upward_crossings_interpolated(&r.t_ms, &v, threshold_mv),
                )
            })
            .collect();
        rows.extend(res);
        pb.inc((r1 - r0) as u64);
    }
    pb.finish_and_clear();
    Ok(SpikeTimes::from_rows(
        r.index.ids().to_vec(),
        rows,
        threshold_mv,
    ))
}

/// Derived keys common to both importers: `spike_times` and `dendritic_spike_times/*`.
pub(crate) fn write_derived(db: &Database, opts: &ImportOptions) -> Result<()> {
    // The digest recorded at write time is the file's SHA-256 (checked on every open), so the
    // large trace files need not be hashed once more.
    let src = |db: &Database, k: &[String]| -> Result<Vec<Source>> {
        let (d, last) = db.resolve(k)?;
        let path = d.key_dir(&last).join(db::DATA_FILE);
        Ok(vec![match d.meta(&last)?.payload {
            Some(p) => Source {
                path: std::path::absolute(&path)
                    .unwrap_or_else(|_| path.clone())
                    .to_string_lossy()
                    .into_owned(),
                sha256: p.sha256,
            },
            None => Source::of_file(&path)?,
        }])
    };
    let vt = key(&["voltage_traces"]);
    let st = spike_times_from_traces(db, &vt, opts.soma_threshold_mv)?;
    let meta = KeyMeta::new("", "somatic spike times (upward threshold crossings)")
        .param("threshold_mV", opts.soma_threshold_mv)
        .with_sources(src(db, &vt)?);
    db.set(&key(&["spike_times"]), &st, meta)?;
    if db.contains("dendritic_recordings") {
        let sub = db.sub_db("dendritic_recordings")?;
        for k in sub.keys()? {
            let tk = vec!["dendritic_recordings".to_string(), k.name.clone()];
            let st = spike_times_from_traces(db, &tk, opts.dendritic_threshold_mv)?;
            let name = format!("{}_{:?}", k.name, opts.dendritic_threshold_mv);
            let meta = KeyMeta::new("", format!("dendritic spike times at {}", k.name))
                .param("threshold_mV", opts.dendritic_threshold_mv)
                .with_sources(src(db, &tk)?);
            db.set(&key(&["dendritic_spike_times", &name]), &st, meta)?;
        }
    }
    Ok(())
}

/// Writes `sim_trial_index` and `metadata`.
pub(crate) fn write_index_and_metadata(
    db: &Database,
    trials: &[TrialRecord],
    sources: Vec<Source>,
) -> Result<()> {
    let ids: Vec<String> = trials.iter().map(|t| t.id.clone()).collect();
    db.set(
        &key(&["sim_trial_index"]),
        &Strings {
            values: ids.clone(),
        },
        KeyMeta::new(
            "",
            "trial ids `<relative folder>/<trial number, 6 digits>` in database row order",
        ),
    )?;
    let col =
        |f: fn(&TrialRecord) -> &String| Column::Str(trials.iter().map(|t| f(t).clone()).collect());
    let table = Table {
        columns: vec![
            ("sim_trial_index".into(), Column::Str(ids)),
            ("path".into(), col(|t| &t.path)),
            ("trialnr".into(), col(|t| &t.trialnr)),
            ("voltage_traces_file_name".into(), col(|t| &t.trace_file)),
            ("synapses_file_name".into(), col(|t| &t.synapses_file)),
            ("cells_file_name".into(), col(|t| &t.cells_file)),
        ],
    };
    db.set(
        &key(&["metadata"]),
        &table,
        KeyMeta::new("", "per-trial origin: folder, trial number and file names")
            .with_sources(sources),
    )?;
    Ok(())
}

/// Parameter files of the trials: the files (source path, bytes) and per trial the indices of its
/// neuron and network parameter file.
#[derive(Debug, Default)]
pub(crate) struct ParamFiles {
    pub files: Vec<(PathBuf, Vec<u8>)>,
    pub per_trial: Vec<(Option<usize>, Option<usize>)>,
}

/// Writes `parameterfiles_cell_folder` and `parameterfiles_network_folder` (unique files named by
/// SHA-256) and the per-trial `parameterfiles` table (ISF's layout, docs/post.md#database-keys).
pub(crate) fn write_parameterfiles(db: &Database, ids: &[String], pf: &ParamFiles) -> Result<()> {
    let sources: Vec<Source> = pf
        .files
        .iter()
        .map(|(p, b)| Source::of_bytes(p, b))
        .collect();
    let hash = |i: Option<usize>| i.map(|i| sources[i].sha256.clone()).unwrap_or_default();
    let hashes: Vec<(String, String)> = pf
        .per_trial
        .iter()
        .map(|&(n, w)| (hash(n), hash(w)))
        .collect();
    for (k, pick) in [
        (
            "parameterfiles_cell_folder",
            (|t: &(Option<usize>, Option<usize>)| t.0) as fn(&_) -> _,
        ),
        ("parameterfiles_network_folder", |t| t.1),
    ] {
        // hash → file index, unique and ordered by hash.
        let files: BTreeMap<&str, usize> = pf
            .per_trial
            .iter()
            .filter_map(pick)
            .map(|i| (sources[i].sha256.as_str(), i))
            .collect();
        db.create_managed_folder(
            k,
            KeyMeta::new("", "unique parameter files, named <sha256>.param")
                .with_sources(files.values().map(|&i| sources[i].clone()).collect()),
            |dir| {
                for (h, &i) in &files {
                    let dest = dir.join(format!("{h}.param"));
                    fs::write(&dest, &pf.files[i].1).map_err(io_err(&dest))?;
                }
                Ok(())
            },
        )?;
    }
    let path_of = |folder: &str, h: &str| {
        if h.is_empty() {
            String::new()
        } else {
            format!("{folder}/folder/{h}.param")
        }
    };
    let table = Table {
        columns: vec![
            ("sim_trial_index".into(), Column::Str(ids.to_vec())),
            (
                "path_neuron".into(),
                Column::Str(
                    hashes
                        .iter()
                        .map(|(h, _)| path_of("parameterfiles_cell_folder", h))
                        .collect(),
                ),
            ),
            (
                "path_network".into(),
                Column::Str(
                    hashes
                        .iter()
                        .map(|(_, h)| path_of("parameterfiles_network_folder", h))
                        .collect(),
                ),
            ),
            (
                "hash_neuron".into(),
                Column::Str(hashes.iter().map(|(h, _)| h.clone()).collect()),
            ),
            (
                "hash_network".into(),
                Column::Str(hashes.iter().map(|(_, h)| h.clone()).collect()),
            ),
        ],
    };
    db.set(
        &key(&["parameterfiles"]),
        &table,
        KeyMeta::new(
            "",
            "parameter files per trial (paths relative to the database, SHA-256 hashes)",
        ),
    )?;
    Ok(())
}

/// Builds a database from ISF output folders (docs/post.md#database-keys). See the module docs for
/// the keys.
pub fn init_isf(roots: &[PathBuf], db_path: &Path, opts: &ImportOptions) -> Result<ImportSummary> {
    build_atomically(db_path, opts.overwrite, |db| {
        let groups = discover(roots)?;
        let trials: Vec<TrialRecord> = groups.iter().flat_map(|g| g.trials.clone()).collect();
        let ids: Vec<String> = trials.iter().map(|t| t.id.clone()).collect();
        let n = ids.len();
        tracing::info!("{} trace files, {n} trials", groups.len());

        db.set(
            &key(&["simresult_path"]),
            &Strings {
                values: roots
                    .iter()
                    .map(|r| {
                        std::path::absolute(r)
                            .unwrap_or(r.clone())
                            .display()
                            .to_string()
                    })
                    .collect(),
            },
            KeyMeta::new("", "the result folders this database was built from"),
        )?;
        db.set(
            &key(&["filelist"]),
            &Strings {
                values: groups
                    .iter()
                    .map(|g| g.trace.display().to_string())
                    .collect(),
            },
            KeyMeta::new("", "voltage-trace files found, in import order"),
        )?;
        write_index_and_metadata(db, &trials, vec![])?;

        // Soma traces.
        let files: Vec<(PathBuf, usize)> = groups
            .iter()
            .map(|g| (g.trace.clone(), g.trials.len()))
            .collect();
        write_trace_key(
            db,
            "voltage_traces",
            "somatic membrane potential per trial [mV]",
            &ids,
            &files,
            "voltage traces",
        )?;

        // Dendritic traces: every label must be present for every trace file.
        let labels: BTreeSet<&String> = groups.iter().flat_map(|g| g.dend.keys()).collect();
        if !labels.is_empty() {
            let sub = db.create_sub_db("dendritic_recordings")?;
            for label in labels {
                let mut files = Vec::new();
                for g in &groups {
                    let p = g.dend.get(label).ok_or_else(|| ImportError::Parse {
                        path: g.dir.clone(),
                        line: 0,
                        msg: format!(
                            "no dendritic trace `{label}` here, but other folders have one"
                        ),
                    })?;
                    files.push((p.clone(), g.trials.len()));
                }
                db::validate_key_element(label)?;
                write_trace_key(
                    &sub,
                    label,
                    &format!("membrane potential at recording site {label} [mV]"),
                    &ids,
                    &files,
                    "dendritic traces",
                )?;
            }
        }

        // Activations.
        let mut ei = HashMap::new();
        for g in &groups {
            if let Some(p) = &g.network_param {
                for (k, v) in ei_from_network_param(p) {
                    ei.entry(k).or_insert(v);
                }
            }
        }
        for (kind, keyname, desc) in [
            (
                ActivationsKind::Synapse,
                "synapse_activation",
                "synapse release times per active synapse and trial [ms]",
            ),
            (
                ActivationsKind::Cell,
                "cell_activation",
                "presynaptic spike times per spiking cell and trial [ms]",
            ),
        ] {
            let files: Vec<PathBuf> = groups
                .iter()
                .flat_map(|g| {
                    g.trials.iter().map(move |t| {
                        g.dir.join(if kind == ActivationsKind::Synapse {
                            &t.synapses_file
                        } else {
                            &t.cells_file
                        })
                    })
                })
                .collect();
            let pb = progress::bar(files.len() as u64, keyname);
            let parsed: Vec<(ActivationRows, Source)> = files
                .par_iter()
                .map(|p| {
                    db::temp::check_interrupt()?;
                    let r = parse_activation_csv(p, kind);
                    pb.inc(1);
                    r
                })
                .collect::<Result<_>>()?;
            pb.finish_and_clear();
            let (rows, sources): (Vec<_>, Vec<_>) = parsed.into_iter().unzip();
            let a = assemble_activations(kind, ids.clone(), rows, &ei);
            let meta = KeyMeta::new("", desc)
                .param("EI_rule", EI_RULE)
                .with_sources(sources);
            db.set(&key(&[keyname]), &a, meta)?;
        }

        // Parameter files: unique copies named by SHA-256, and a per-trial table.
        let mut pf = ParamFiles::default();
        for g in &groups {
            let mut add = |p: &Option<PathBuf>| -> Result<Option<usize>> {
                p.as_ref()
                    .map(|p| {
                        let bytes = fs::read(p).map_err(io_err(p))?;
                        pf.files.push((p.clone(), bytes));
                        Ok(pf.files.len() - 1)
                    })
                    .transpose()
            };
            let trial = (add(&g.neuron_param)?, add(&g.network_param)?);
            pf.per_trial
                .extend(std::iter::repeat_n(trial, g.trials.len()));
        }
        write_parameterfiles(db, &ids, &pf)?;

        write_derived(db, opts)?;
        Ok(n)
    })
}

/// Builds a database from isf's SPMD results file (see [`crate::import_results`]).
pub fn init_results(results: &Path, db_path: &Path, opts: &ImportOptions) -> Result<ImportSummary> {
    crate::import_results::init_results(results, db_path, opts)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> std::result::Result<usize, String> {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("simulation_run0000_synapses.csv");
        fs::write(&p, text).unwrap();
        parse_activation_csv(&p, ActivationsKind::Synapse)
            .map(|(r, _)| r.pop.len())
            .map_err(|e| e.to_string())
    }

    #[test]
    fn empty_cut_and_non_finite_activation_files_are_errors() {
        let header = "# synapse type\tsynapse ID\tsoma distance\tsection ID\tsection pt ID\tdendrite label\tactivation times\n";
        let row = "L1_B1\t3\t1441.8\t46\t19\tApicalDendrite\t276.4,12.25,\n";
        assert_eq!(parse(&format!("{header}{row}")), Ok(1));
        assert_eq!(parse(header), Ok(0));
        let e = parse("").unwrap_err();
        assert!(
            e.contains("_synapses.csv:1") && e.contains("empty file"),
            "{e}"
        );
        let cut = format!("{header}{}", &row[..row.len() - 4]);
        let e = parse(&cut).unwrap_err();
        assert!(e.contains("_synapses.csv:2") && e.contains("middle"), "{e}");
        let e = parse(&format!("{header}{}", row.replace("1441.8", "nan"))).unwrap_err();
        assert!(
            e.contains("_synapses.csv:2") && e.contains("not finite"),
            "{e}"
        );
    }
}
