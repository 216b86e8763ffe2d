//! The Rust half of the `isf` Python package (`isf._isf`): isf's readers, cell builder and
//! simulators called in-process, their results handed over as numpy arrays and plain Python
//! values. The Python half (`python/isf/`) turns them into pandas DataFrames in ISF's column
//! conventions; everything that reads HDF5, builds a cell or simulates runs here.

use std::path::PathBuf;

use hdf5::types::{FloatSize, IntSize, TypeDescriptor, VarLenUnicode};
use isf::mechanisms::Numerics;
use isf::recipe::{Inputs, Probes, Recipe};
use isf_io::results_schema as schema;
use isf_post::db::{
    self, Activations, ActivationsKind, Binned, Database, Payload, SpikeTimes, Strings,
};
use numpy::IntoPyArray;
use pyo3::exceptions::{PyException, PyKeyError};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList};

pyo3::create_exception!(
    _isf,
    IsfError,
    PyException,
    "An error of isf: the message names the file (and line, key or dataset) at fault."
);

fn err(e: impl std::fmt::Display) -> PyErr {
    IsfError::new_err(e.to_string())
}

fn anyhow_err(e: anyhow::Error) -> PyErr {
    IsfError::new_err(format!("{e:#}"))
}

/// An isf results file (`isf simulate --config`), opened read-only. The Python class
/// `isf.Results` reads it through these primitives and applies `commit_state`.
#[pyclass(module = "isf._isf")]
struct ResultsFile {
    file: hdf5::File,
    path: PathBuf,
}

impl ResultsFile {
    fn h5err(&self, what: &str) -> impl Fn(hdf5::Error) -> PyErr + '_ {
        let what = what.to_string();
        move |e| err(format!("{}: {what}: {e}", self.path.display()))
    }

    fn dataset(&self, name: &str) -> PyResult<hdf5::Dataset> {
        self.file.dataset(name).map_err(self.h5err(name))
    }
}

fn attr_strings(loc: &hdf5::Location, name: &str) -> hdf5::Result<Vec<String>> {
    let v: Vec<VarLenUnicode> = loc.attr(name)?.read_raw()?;
    Ok(v.into_iter().map(|s| s.as_str().to_string()).collect())
}

#[pymethods]
impl ResultsFile {
    /// Opens `path`; refuses a file that is not an isf results file of a known version.
    #[new]
    fn new(path: PathBuf) -> PyResult<Self> {
        let file = hdf5::File::open(&path)
            .map_err(|e| err(format!("{}: cannot open: {e}", path.display())))?;
        let format = file
            .attr(schema::attr::FORMAT)
            .and_then(|a| a.read_scalar::<VarLenUnicode>())
            .map(|s| s.as_str().to_string())
            .map_err(|_| {
                err(format!(
                    "{}: not an isf results file (no `format` attribute)",
                    path.display()
                ))
            })?;
        let version: u32 = file
            .attr(schema::attr::FORMAT_VERSION)
            .and_then(|a| a.read_scalar())
            .map_err(|e| err(format!("{}: format_version: {e}", path.display())))?;
        if format != schema::FORMAT || version > schema::FORMAT_VERSION {
            return Err(err(format!(
                "{}: format `{format}` version {version} is not supported (expected {} ≤ {})",
                path.display(),
                schema::FORMAT,
                schema::FORMAT_VERSION
            )));
        }
        Ok(ResultsFile { file, path })
    }

    /// The file's path.
    #[getter]
    fn path(&self) -> PathBuf {
        self.path.clone()
    }

    /// Root attributes: format_version, batch_size, n_trials_total, n_batches_total and
    /// commit_state (its words) with commit_state_fields (their names).
    fn root_attrs<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let d = PyDict::new(py);
        let f = &self.file;
        let version: u32 = f
            .attr(schema::attr::FORMAT_VERSION)
            .and_then(|a| a.read_scalar())
            .map_err(self.h5err(schema::attr::FORMAT_VERSION))?;
        d.set_item("format_version", version)?;
        for name in [
            schema::attr::BATCH_SIZE,
            schema::attr::N_TRIALS_TOTAL,
            schema::attr::N_BATCHES_TOTAL,
        ] {
            // Files of early versions lack some of these.
            if let Ok(a) = f.attr(name) {
                let v: u64 = a.read_scalar().map_err(self.h5err(name))?;
                d.set_item(name, v)?;
            }
        }
        let words: Vec<u64> = f
            .attr(schema::attr::COMMIT_STATE)
            .and_then(|a| a.read_raw())
            .map_err(self.h5err(schema::attr::COMMIT_STATE))?;
        if schema::CommitState::from_words(&words).is_none() {
            return Err(err(format!(
                "{}: attribute {} has {} words, expected 2 + 6 per cell",
                self.path.display(),
                schema::attr::COMMIT_STATE,
                words.len()
            )));
        }
        d.set_item("commit_state", words)?;
        Ok(d)
    }

    /// One dict per cell group: name, cell_id, first_trial_id, n_trials, population_names,
    /// site_labels, site_datasets (dataset paths in site order), label_names (None before
    /// format version 2) and parameter_files (names).
    fn cells<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        let out = PyList::empty(py);
        let cells = self
            .file
            .group(schema::CELLS)
            .map_err(self.h5err("cells"))?;
        for name in cells.member_names().map_err(self.h5err("cells"))? {
            let at = format!("cells/{name}");
            let g = cells.group(&name).map_err(self.h5err(&at))?;
            let d = PyDict::new(py);
            d.set_item("name", &name)?;
            let scalar = |a: &str| -> PyResult<u64> {
                g.attr(a)
                    .and_then(|a| a.read_scalar::<u64>())
                    .map_err(self.h5err(&format!("{at} attribute {a}")))
            };
            d.set_item("cell_id", scalar(schema::cell::CELL_ID)?)?;
            d.set_item("first_trial_id", scalar(schema::cell::FIRST_TRIAL_ID)?)?;
            d.set_item("n_trials", scalar(schema::cell::N_TRIALS)?)?;
            let pops = attr_strings(&g, schema::cell::POPULATION_NAMES)
                .map_err(self.h5err(&format!("{at} attribute population_names")))?;
            d.set_item("population_names", pops)?;
            let sites = attr_strings(&g, schema::cell::SITE_LABELS)
                .map_err(self.h5err(&format!("{at} attribute site_labels")))?;
            let datasets: Vec<String> = sites
                .iter()
                .enumerate()
                .map(|(i, l)| {
                    format!(
                        "{at}/{}/{}",
                        schema::cell::SITES,
                        schema::site_dataset_name(i, l)
                    )
                })
                .collect();
            d.set_item("site_labels", sites)?;
            d.set_item("site_datasets", datasets)?;
            let labels = match g.group(schema::cell::SYNAPSES) {
                Ok(s) => Some(
                    attr_strings(&s, schema::synapses::LABEL_NAMES)
                        .map_err(self.h5err(&format!("{at}/synapses attribute label_names")))?,
                ),
                Err(_) => None,
            };
            d.set_item("label_names", labels)?;
            let files = match g.group(schema::cell::PARAMETER_FILES) {
                Ok(p) => p.member_names().map_err(self.h5err(&at))?,
                Err(_) => Vec::new(),
            };
            d.set_item("parameter_files", files)?;
            out.append(d)?;
        }
        Ok(out)
    }

    /// Whether the file has an object (group or dataset) at `path`.
    fn has(&self, path: &str) -> bool {
        self.file.link_exists(path)
    }

    /// Length of the 1-D dataset `path` (rows of a 2-D one).
    fn len(&self, path: &str) -> PyResult<usize> {
        Ok(self.dataset(path)?.shape().first().copied().unwrap_or(0))
    }

    /// The first `n` values of the 1-D dataset `path` as a numpy array of the dataset's type;
    /// an error naming the dataset if it holds fewer (`commit_state` promises more rows than
    /// were written: a damaged file).
    fn column<'py>(&self, py: Python<'py>, path: &str, n: usize) -> PyResult<Bound<'py, PyAny>> {
        let ds = self.dataset(path)?;
        let len = ds.shape().first().copied().unwrap_or(0);
        if n > len {
            return Err(err(format!(
                "{}: dataset {path} has {len} rows, but commit_state promises {n}",
                self.path.display()
            )));
        }
        let desc = ds.dtype().and_then(|t| t.to_descriptor());
        let h = self.h5err(path);
        Ok(match desc.map_err(&h)? {
            TypeDescriptor::Unsigned(IntSize::U1) => ds
                .read_slice_1d::<u8, _>(0..n)
                .map_err(&h)?
                .into_pyarray(py)
                .into_any(),
            TypeDescriptor::Unsigned(IntSize::U4) => ds
                .read_slice_1d::<u32, _>(0..n)
                .map_err(&h)?
                .into_pyarray(py)
                .into_any(),
            TypeDescriptor::Unsigned(IntSize::U8) => ds
                .read_slice_1d::<u64, _>(0..n)
                .map_err(&h)?
                .into_pyarray(py)
                .into_any(),
            TypeDescriptor::Float(FloatSize::U4) => ds
                .read_slice_1d::<f32, _>(0..n)
                .map_err(&h)?
                .into_pyarray(py)
                .into_any(),
            TypeDescriptor::Float(FloatSize::U8) => ds
                .read_slice_1d::<f64, _>(0..n)
                .map_err(&h)?
                .into_pyarray(py)
                .into_any(),
            other => {
                return Err(err(format!(
                    "{}: dataset {path} has element type {other:?}, not one isf writes",
                    self.path.display()
                )))
            }
        })
    }

    /// Rows `r0..r1` of the 2-D f32 trace dataset `path` (trials × samples).
    fn rows<'py>(
        &self,
        py: Python<'py>,
        path: &str,
        r0: usize,
        r1: usize,
    ) -> PyResult<Bound<'py, PyAny>> {
        let ds = self.dataset(path)?;
        let shape = ds.shape();
        if shape.len() != 2 || r1 > shape[0] || r0 > r1 {
            return Err(err(format!(
                "{}: dataset {path} of shape {shape:?} has no rows {r0}..{r1}",
                self.path.display()
            )));
        }
        let a = ds
            .read_slice_2d::<f32, _>((r0..r1, 0..shape[1]))
            .map_err(self.h5err(path))?;
        Ok(a.into_pyarray(py).into_any())
    }

    /// A float attribute of the object at `path` (a trace's `t0`, `dt`).
    fn attr_f64(&self, path: &str, name: &str) -> PyResult<f64> {
        self.dataset(path)?
            .attr(name)
            .and_then(|a| a.read_scalar::<f64>())
            .map_err(self.h5err(&format!("{path} attribute {name}")))
    }

    /// Every attribute of the group or dataset at `path` (`/` for the root) as a dict: strings,
    /// integers and floats, scalars or lists.
    fn attrs<'py>(&self, py: Python<'py>, path: &str) -> PyResult<Bound<'py, PyDict>> {
        let d = PyDict::new(py);
        let h = self.h5err(path);
        let obj: hdf5::Location = match self.file.group(path) {
            Ok(g) => (*g).clone(),
            Err(_) => (**self.dataset(path)?).clone(),
        };
        for name in obj.attr_names().map_err(&h)? {
            let a = obj.attr(&name).map_err(&h)?;
            let scalar = a.ndim() == 0;
            let desc = a.dtype().and_then(|t| t.to_descriptor()).map_err(&h)?;
            let v: Bound<'py, PyAny> = match desc {
                TypeDescriptor::VarLenUnicode => {
                    let v: Vec<VarLenUnicode> = a.read_raw().map_err(&h)?;
                    let v: Vec<String> = v.iter().map(|s| s.as_str().to_string()).collect();
                    if scalar {
                        v.into_iter()
                            .next()
                            .unwrap_or_default()
                            .into_pyobject(py)?
                            .into_any()
                    } else {
                        v.into_pyobject(py)?.into_any()
                    }
                }
                TypeDescriptor::Unsigned(_) => {
                    let v: Vec<u64> = a.read_raw().map_err(&h)?;
                    if scalar {
                        v.first()
                            .copied()
                            .unwrap_or(0)
                            .into_pyobject(py)?
                            .into_any()
                    } else {
                        v.into_pyobject(py)?.into_any()
                    }
                }
                TypeDescriptor::Integer(_) => {
                    let v: Vec<i64> = a.read_raw().map_err(&h)?;
                    if scalar {
                        v.first()
                            .copied()
                            .unwrap_or(0)
                            .into_pyobject(py)?
                            .into_any()
                    } else {
                        v.into_pyobject(py)?.into_any()
                    }
                }
                TypeDescriptor::Float(_) => {
                    let v: Vec<f64> = a.read_raw().map_err(&h)?;
                    if scalar {
                        v.first()
                            .copied()
                            .unwrap_or(f64::NAN)
                            .into_pyobject(py)?
                            .into_any()
                    } else {
                        v.into_pyobject(py)?.into_any()
                    }
                }
                // Types isf does not write are left out rather than guessed.
                _ => continue,
            };
            d.set_item(name, v)?;
        }
        Ok(d)
    }

    /// Names of the members of the group at `path`.
    fn members(&self, path: &str) -> PyResult<Vec<String>> {
        let g = self.file.group(path).map_err(self.h5err(path))?;
        g.member_names().map_err(self.h5err(path))
    }

    /// The UTF-8 text of a u8 dataset (parameter copies, the config's text).
    fn text(&self, path: &str) -> PyResult<String> {
        let bytes: Vec<u8> = self.dataset(path)?.read_raw().map_err(self.h5err(path))?;
        String::from_utf8(bytes)
            .map_err(|_| err(format!("{}: {path} is not UTF-8", self.path.display())))
    }

    /// Writes the committed soma (and site) traces of every cell as a SONATA report: a new HDF5
    /// file `out` with `/report/<cell>/data` (f32, samples × elements) and `mapping`
    /// (`node_ids` = trial index within the cell, `index_pointers`, `element_ids` = 0 for the
    /// soma and 1, 2, … for the recording sites in order, `time` = start, stop, step in ms).
    /// `trace_rows` gives the committed trials per cell name.
    fn write_sonata_report(
        &self,
        out: PathBuf,
        trace_rows: Vec<(String, usize)>,
        sites: bool,
    ) -> PyResult<()> {
        sonata::write_report(self, &out, &trace_rows, sites)
    }
}

mod plot;
mod sonata;

/// Converts a database error into a Python exception (a missing key is a `KeyError`).
fn db_err(e: db::DbError) -> PyErr {
    match e {
        db::DbError::MissingKey { .. } => PyKeyError::new_err(e.to_string()),
        e => err(e),
    }
}

/// An isf-post database (`isf db init`, `isf db init-isf`), opened for reading.
#[pyclass(module = "isf._isf")]
struct DatabaseHandle {
    db: Database,
}

#[pymethods]
impl DatabaseHandle {
    /// Opens the database folder `path`.
    #[new]
    fn new(path: PathBuf) -> PyResult<Self> {
        Ok(DatabaseHandle {
            db: Database::open(&path).map_err(db_err)?,
        })
    }

    /// The database's folder.
    #[getter]
    fn path(&self) -> PathBuf {
        self.db.root().to_path_buf()
    }

    /// Top-level keys with their kinds, in the database's order.
    fn keys(&self) -> PyResult<Vec<(String, String)>> {
        Ok(self
            .db
            .keys()
            .map_err(db_err)?
            .into_iter()
            .map(|k| (k.name, k.meta.kind))
            .collect())
    }

    /// Every key, sub-databases' keys included, as (`a/b/c`, kind).
    fn keys_recursive(&self) -> PyResult<Vec<(String, String)>> {
        Ok(self
            .db
            .keys_recursive()
            .map_err(db_err)?
            .into_iter()
            .map(|(k, m)| (k.join("/"), m.kind))
            .collect())
    }

    /// The metadata of `key` (`a/b/c` for nested keys) as JSON text.
    fn meta_json(&self, key: &str) -> PyResult<String> {
        let k = db::parse_key(key).map_err(db_err)?;
        let (sub, last) = self.db.resolve(&k).map_err(db_err)?;
        let meta = sub.meta(&last).map_err(db_err)?;
        serde_json::to_string(&meta).map_err(err)
    }

    /// The value of `key` as (kind, dict of numpy arrays and lists). A sub-database gives its
    /// folder (`path`), a managed folder its path.
    fn get<'py>(&self, py: Python<'py>, key: &str) -> PyResult<(String, Bound<'py, PyDict>)> {
        let k = db::parse_key(key).map_err(db_err)?;
        let (sub, last) = self.db.resolve(&k).map_err(db_err)?;
        let meta = sub.meta(&last).map_err(db_err)?;
        let d = PyDict::new(py);
        match meta.kind.as_str() {
            db::KIND_SUB_DB => {
                d.set_item("path", sub.key_dir(&last).join("db"))?;
            }
            db::KIND_MANAGED_FOLDER => {
                d.set_item("path", sub.managed_folder(&last).map_err(db_err)?)?;
            }
            db::Traces::KIND => {
                let (_, f, _) = self
                    .db
                    .open_value(&k, Some(db::Traces::KIND))
                    .map_err(db_err)?;
                let r = db::TraceReader::open(f, key).map_err(db_err)?;
                let n = r.index.len();
                let vm = r.rows(0, n).map_err(db_err)?;
                d.set_item("sim_trial_index", r.index.ids().to_vec())?;
                d.set_item("t_ms", r.t_ms.clone().into_pyarray(py))?;
                d.set_item("vm_mV", vm.into_pyarray(py))?;
            }
            SpikeTimes::KIND => {
                let s = self.db.get::<SpikeTimes>(&k).map_err(db_err)?;
                d.set_item("sim_trial_index", s.trial_ids)?;
                d.set_item("offsets", s.offsets.into_pyarray(py))?;
                d.set_item("spike_times_ms", s.times_ms.into_pyarray(py))?;
                d.set_item(
                    "spike_times_interpolated_ms",
                    s.interpolated_ms.into_pyarray(py),
                )?;
                d.set_item("threshold_mV", s.threshold_mv)?;
            }
            Activations::KIND => {
                let a = self.db.get::<Activations>(&k).map_err(db_err)?;
                let kind = match a.kind {
                    ActivationsKind::Synapse => "synapse",
                    ActivationsKind::Cell => "cell",
                };
                d.set_item("activation_kind", kind)?;
                d.set_item("sim_trial_index", a.trial_ids)?;
                d.set_item("trial_row_offsets", a.trial_row_offsets.into_pyarray(py))?;
                d.set_item("populations", a.populations)?;
                d.set_item("population_EI", a.population_ei)?;
                d.set_item("population_code", a.population_code.into_pyarray(py))?;
                d.set_item("id", a.id.into_pyarray(py))?;
                d.set_item("soma_distance_um", a.soma_distance_um.into_pyarray(py))?;
                d.set_item("section_id", a.section_id.into_pyarray(py))?;
                d.set_item("section_pt_id", a.section_pt_id.into_pyarray(py))?;
                d.set_item("dendrite_labels", a.labels)?;
                d.set_item("dendrite_label_code", a.label_code.into_pyarray(py))?;
                d.set_item("time_offsets", a.time_offsets.into_pyarray(py))?;
                d.set_item("activation_times_ms", a.times_ms.into_pyarray(py))?;
            }
            Binned::KIND => {
                let b = self.db.get::<Binned>(&k).map_err(db_err)?;
                d.set_item("sim_trial_index", b.trial_ids)?;
                d.set_item("bin_edges_ms", b.bin_edges_ms.into_pyarray(py))?;
                d.set_item("counts", b.counts.into_pyarray(py))?;
            }
            db::Table::KIND => {
                let t = self.db.get::<db::Table>(&k).map_err(db_err)?;
                let cols = PyDict::new(py);
                let mut order = Vec::new();
                for (name, c) in t.columns {
                    match c {
                        db::Column::Str(v) => cols.set_item(&name, v)?,
                        db::Column::F64(v) => cols.set_item(&name, v.into_pyarray(py))?,
                        db::Column::I64(v) => cols.set_item(&name, v.into_pyarray(py))?,
                    }
                    order.push(name);
                }
                d.set_item("column_order", order)?;
                d.set_item("columns", cols)?;
            }
            Strings::KIND => {
                d.set_item("values", self.db.get::<Strings>(&k).map_err(db_err)?.values)?;
            }
            _ => {
                // Values without a reader here (the reduced model) are self-describing HDF5.
                d.set_item("path", sub.key_dir(&last).join(db::DATA_FILE))?;
            }
        }
        Ok((meta.kind, d))
    }

    /// What `isf db show DB KEY [--trial T]` prints.
    #[pyo3(signature = (key, trial=None))]
    fn show(&self, key: &str, trial: Option<&str>) -> PyResult<String> {
        let mut out = Vec::new();
        isf_post::show::show(&self.db, key, trial, &mut out).map_err(db_err)?;
        String::from_utf8(out).map_err(err)
    }
}

/// A cell built from its parameter file as ISF and NEURON build it.
#[pyclass(module = "isf._isf")]
struct CellHandle {
    params: isf::param::CellParams,
    template: isf::cell::CellTemplate,
}

#[pymethods]
impl CellHandle {
    /// Builds the cell of the `.param` file `path` with its file's recording sites.
    #[new]
    fn new(path: PathBuf) -> PyResult<Self> {
        let (params, template) = Recipe::cell_only(&path).read_cell().map_err(anyhow_err)?;
        Ok(CellHandle { params, template })
    }

    /// The text summary of `isf cell-info`.
    fn summary(&self) -> String {
        isf::cli::cell_info::summary(&self.template, &self.params)
    }

    /// Labels of the recording sites.
    fn recording_sites(&self) -> Vec<String> {
        let t = &self.template;
        t.recording_sites.iter().map(|s| s.label.clone()).collect()
    }

    /// The per-segment table of `isf cell-info --segments` as (column order, dict of columns).
    fn segments<'py>(&self, py: Python<'py>) -> PyResult<(Vec<String>, Bound<'py, PyDict>)> {
        let t = self.template.segments_table();
        let d = PyDict::new(py);
        let rows = &t.rows;
        let mut order: Vec<String> = Vec::new();
        macro_rules! col {
            ($name:expr, $f:expr) => {{
                d.set_item($name, rows.iter().map($f).collect::<Vec<_>>())?;
                order.push($name.to_string());
            }};
        }
        col!("sec_idx", |r| r.sec_idx as i64);
        col!("sec_name", |r| r.sec_name.clone());
        col!("label", |r| r.label.clone());
        col!("nseg", |r| r.nseg as i64);
        col!("sec_L", |r| r.sec_l);
        col!("parent_sec_idx", |r| r.parent_sec_idx);
        col!("parent_x", |r| r.parent_x);
        col!("seg_idx", |r| r.seg_idx as i64);
        col!("x", |r| r.x);
        col!("area_um2", |r| r.area_um2);
        col!("diam", |r| r.diam);
        col!("ri_Mohm", |r| r.ri_mohm);
        col!("cm", |r| r.cm);
        col!("Ra", |r| r.ra);
        col!("soma_dist", |r| r.soma_dist);
        for (j, name) in t.mech_columns.iter().enumerate() {
            col!(name.as_str(), |r| r.mech[j]);
        }
        Ok((order, d))
    }
}

fn numerics(s: &str) -> PyResult<Numerics> {
    s.parse::<Numerics>().map_err(err)
}

/// Replays an ISF synapse activation file on a cell, in memory, exactly as `isf replay` does:
/// returns a dict with `t_ms`, `soma_vm_mV`, `site_labels`, `site_vm_mV` (list of arrays),
/// `soma_spikes_ms`, `synapses` and `releases`.
#[pyfunction]
#[pyo3(signature = (cell_param, network_param, synapses, tstop=None, dt=None, numerics="fast"))]
fn replay<'py>(
    py: Python<'py>,
    cell_param: PathBuf,
    network_param: PathBuf,
    synapses: PathBuf,
    tstop: Option<f64>,
    dt: Option<f64>,
    numerics: &str,
) -> PyResult<Bound<'py, PyDict>> {
    let recipe = Recipe {
        cell_param,
        inputs: Inputs::Replay {
            network_param,
            synapses,
        },
        probes: Probes::default(),
        tstop_ms: tstop,
        dt_ms: dt,
        numerics: self::numerics(numerics)?,
    };
    let (result, labels, n_syn, n_rel) = py
        .detach(|| -> anyhow::Result<_> {
            let cell = recipe.build()?;
            let trial = cell.replay()?;
            let result = cell.simulate_replay()?;
            Ok((
                result,
                cell.sim.site_labels(),
                trial.inputs.synapses.len(),
                trial.inputs.release_count(),
            ))
        })
        .map_err(anyhow_err)?;
    let d = PyDict::new(py);
    d.set_item("t_ms", result.t_ms.into_pyarray(py))?;
    d.set_item("soma_vm_mV", result.soma_vm_mv.into_pyarray(py))?;
    d.set_item("site_labels", labels)?;
    let sites = PyList::empty(py);
    for v in result.site_vm_mv {
        sites.append(v.into_pyarray(py))?;
    }
    d.set_item("site_vm_mV", sites)?;
    d.set_item("soma_spikes_ms", result.soma_spikes_ms)?;
    d.set_item("synapses", n_syn)?;
    d.set_item("releases", n_rel)?;
    Ok(d)
}

/// Runs the current-injection protocol file `protocol` (TOML) on the cell of `cell_param`, as
/// `isf protocol` does: (t_ms, column names, list of voltage arrays).
#[pyfunction]
fn protocol<'py>(
    py: Python<'py>,
    cell_param: PathBuf,
    protocol: PathBuf,
) -> PyResult<Bound<'py, PyDict>> {
    let traces = py
        .detach(|| -> anyhow::Result<_> {
            let p = isf::trial::protocol::Protocol::read(&protocol)?;
            let (_, cell) = Recipe::cell_only(&cell_param).read_cell()?;
            Ok(p.run(&cell, &protocol)?)
        })
        .map_err(anyhow_err)?;
    let d = PyDict::new(py);
    d.set_item("t_ms", traces.t_ms.into_pyarray(py))?;
    d.set_item("names", traces.names)?;
    let cols = PyList::empty(py);
    for v in traces.vm_mv {
        cols.append(v.into_pyarray(py))?;
    }
    d.set_item("vm_mV", cols)?;
    Ok(d)
}

/// Runs the run config `config` in this process (serially, rayon threads), as `isf simulate
/// --config` does, and returns the results file's path (and the ISF export folder, if any).
#[pyfunction]
#[pyo3(signature = (config, overwrite=false, resume=false, threads=None))]
fn simulate(
    py: Python<'_>,
    config: PathBuf,
    overwrite: bool,
    resume: bool,
    threads: Option<usize>,
) -> PyResult<(PathBuf, Option<PathBuf>)> {
    if threads == Some(0) {
        return Err(err("threads must be at least 1"));
    }
    py.detach(|| -> anyhow::Result<_> {
        let cfg = isf::run::config::RunConfig::load(&config)?;
        let world = isf::comm::world();
        let opts = isf::run::RunOptions {
            resume,
            overwrite,
            threads,
            command_line: format!("isf.simulate({})", config.display()),
            progress: false,
            ..Default::default()
        };
        match isf::run::run_config(&config, &opts, world.as_ref()) {
            Ok(_) => Ok((cfg.output, cfg.isf_folder)),
            // A config error names the config file (and line) itself.
            Err(e @ isf::run::RunError::Config { .. }) => Err(e.into()),
            Err(e) => {
                Err(anyhow::Error::from(e).context(format!("run config {}", config.display())))
            }
        }
    })
    .map_err(anyhow_err)
}

/// The version of isf this package was built from.
#[pyfunction]
fn version() -> &'static str {
    env!("CARGO_PKG_VERSION")
}

/// The extension module `isf._isf`.
#[pymodule]
fn _isf(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("IsfError", m.py().get_type::<IsfError>())?;
    m.add_class::<ResultsFile>()?;
    m.add_class::<DatabaseHandle>()?;
    m.add_class::<CellHandle>()?;
    m.add_function(wrap_pyfunction!(replay, m)?)?;
    m.add_function(wrap_pyfunction!(protocol, m)?)?;
    m.add_function(wrap_pyfunction!(simulate, m)?)?;
    m.add_function(wrap_pyfunction!(version, m)?)?;
    m.add_function(wrap_pyfunction!(plot::plot_traces, m)?)?;
    m.add_function(wrap_pyfunction!(plot::plot_raster, m)?)?;
    m.add_function(wrap_pyfunction!(plot::plot_psth, m)?)?;
    m.add_function(wrap_pyfunction!(plot::plot_binning, m)?)?;
    m.add_function(wrap_pyfunction!(plot::plot_kernels, m)?)?;
    m.add_function(wrap_pyfunction!(plot::plot_morphology, m)?)?;
    Ok(())
}
