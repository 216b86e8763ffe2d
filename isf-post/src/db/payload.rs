//! Typed values and their HDF5 layouts. Every layout is plain datasets and attributes, so h5py (and
//! pandas via h5py) read them without this crate; the README documents each one.

use super::h5::{self, H5Result};
use super::{DbError, Result, TrialIndex};
use hdf5::File;
use ndarray::{s, Array2};

/// A value that can be stored under a key.
pub trait Payload: Sized {
    /// The kind string stored in `key.json` and the `isf_kind` attribute.
    const KIND: &'static str;
    /// Writes the value into a fresh file.
    fn write_h5(&self, f: &File) -> H5Result<()>;
    /// Reads the value back.
    fn read_h5(f: &File) -> Result<Self>;
}

fn h5e(f: &File) -> impl FnOnce(hdf5::Error) -> DbError + '_ {
    move |source| DbError::Hdf5 {
        path: f.filename().into(),
        source,
    }
}

fn malformed(f: &File, msg: impl Into<String>) -> DbError {
    DbError::Malformed {
        path: f.filename().into(),
        msg: msg.into(),
    }
}

/// Checks CSR offsets: start at 0, non-decreasing, end at `len`.
fn check_offsets(f: &File, name: &str, offsets: &[u64], n: usize, len: usize) -> Result<()> {
    let ok = offsets.len() == n + 1
        && offsets.first() == Some(&0)
        && offsets.last() == Some(&(len as u64))
        && offsets.windows(2).all(|w| w[0] <= w[1]);
    if ok {
        Ok(())
    } else {
        Err(malformed(
            f,
            format!(
                "`{name}` must hold {} non-decreasing offsets from 0 to {len}",
                n + 1
            ),
        ))
    }
}

/// A list of strings (`/values`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Strings {
    /// The strings.
    pub values: Vec<String>,
}

impl Payload for Strings {
    const KIND: &'static str = "strings";
    fn write_h5(&self, f: &File) -> H5Result<()> {
        h5::write_strings(f, "values", &self.values).map(|_| ())
    }
    fn read_h5(f: &File) -> Result<Self> {
        Ok(Strings {
            values: h5::read_strings(f, "values").map_err(h5e(f))?,
        })
    }
}

/// One table column.
#[derive(Debug, Clone, PartialEq)]
pub enum Column {
    /// UTF-8 strings.
    Str(Vec<String>),
    /// 64-bit floats.
    F64(Vec<f64>),
    /// 64-bit integers.
    I64(Vec<i64>),
}

impl Column {
    /// Number of rows.
    pub fn len(&self) -> usize {
        match self {
            Column::Str(v) => v.len(),
            Column::F64(v) => v.len(),
            Column::I64(v) => v.len(),
        }
    }
    /// Whether the column is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// Cell `i` rendered as text.
    pub fn cell(&self, i: usize) -> String {
        match self {
            Column::Str(v) => v[i].clone(),
            Column::F64(v) => v[i].to_string(),
            Column::I64(v) => v[i].to_string(),
        }
    }
}

/// A column table (`/columns/<name>`, order in the root attribute `column_order`, a JSON list).
/// Tables indexed by trial have `sim_trial_index` as their first column.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Table {
    /// Columns in order.
    pub columns: Vec<(String, Column)>,
}

impl Table {
    /// A column by name.
    pub fn column(&self, name: &str) -> Option<&Column> {
        self.columns.iter().find(|(n, _)| n == name).map(|(_, c)| c)
    }
    /// Number of rows.
    pub fn n_rows(&self) -> usize {
        self.columns.first().map_or(0, |(_, c)| c.len())
    }
}

impl Payload for Table {
    const KIND: &'static str = "table";
    fn write_h5(&self, f: &File) -> H5Result<()> {
        let g = f.create_group("columns")?;
        let names: Vec<&str> = self.columns.iter().map(|(n, _)| n.as_str()).collect();
        let order = serde_json::to_string(&names).map_err(|e| hdf5::Error::from(e.to_string()))?;
        h5::set_attr_str(f, "column_order", &order)?;
        for (n, c) in &self.columns {
            match c {
                Column::Str(v) => h5::write_strings(&g, n, v)?,
                Column::F64(v) => h5::write_1d(&g, n, v)?,
                Column::I64(v) => h5::write_1d(&g, n, v)?,
            };
        }
        Ok(())
    }
    fn read_h5(f: &File) -> Result<Self> {
        let order = h5::attr_str(f, "column_order").map_err(h5e(f))?;
        let names: Vec<String> = serde_json::from_str(&order)
            .map_err(|e| malformed(f, format!("attribute column_order: {e}")))?;
        let g = f.group("columns").map_err(h5e(f))?;
        let mut columns = Vec::new();
        for n in names {
            let ds = g.dataset(&n).map_err(h5e(f))?;
            let dt = ds.dtype().map_err(h5e(f))?;
            let c = if dt.is::<f64>() {
                Column::F64(ds.read_raw().map_err(h5e(f))?)
            } else if dt.is::<i64>() {
                Column::I64(ds.read_raw().map_err(h5e(f))?)
            } else {
                Column::Str(h5::read_strings(&g, &n).map_err(h5e(f))?)
            };
            columns.push((n, c));
        }
        let n = columns.first().map_or(0, |(_, c)| c.len());
        if columns.iter().any(|(_, c)| c.len() != n) {
            return Err(malformed(f, "table columns differ in length"));
        }
        Ok(Table { columns })
    }
}

/// Voltage traces on a common time axis: `/sim_trial_index` (n), `/t_ms` (n_t),
/// `/vm_mV` (n × n_t, one chunk per trial).
#[derive(Debug, Clone, PartialEq)]
pub struct Traces {
    /// Trial id per row.
    pub trial_ids: Vec<String>,
    /// Sample times \[ms\].
    pub t_ms: Vec<f64>,
    /// Membrane potential \[mV\], trials × samples.
    pub vm_mv: Array2<f64>,
}

impl Traces {
    /// Creates the datasets for streaming writes; fill rows with [`write_trace_rows`].
    pub fn create_streaming(
        f: &File,
        trial_ids: &[String],
        t_ms: &[f64],
    ) -> H5Result<hdf5::Dataset> {
        h5::write_strings(f, "sim_trial_index", trial_ids)?;
        h5::write_1d(f, "t_ms", t_ms)?;
        let n = trial_ids.len();
        let nt = t_ms.len().max(1);
        let b = f.new_dataset::<f64>();
        let ds = if n > 0 {
            b.chunk((1, nt)).shape((n, t_ms.len())).create("vm_mV")?
        } else {
            b.shape((0, t_ms.len())).create("vm_mV")?
        };
        h5::set_attr_str(&ds, "units", "mV")?;
        Ok(ds)
    }
}

/// Writes rows `row0..row0+block.nrows()` of a streaming trace dataset.
pub fn write_trace_rows(ds: &hdf5::Dataset, row0: usize, block: &Array2<f64>) -> H5Result<()> {
    if block.nrows() == 0 {
        return Ok(());
    }
    ds.write_slice(block, s![row0..row0 + block.nrows(), ..])
}

impl Payload for Traces {
    const KIND: &'static str = "voltage_traces";
    fn write_h5(&self, f: &File) -> H5Result<()> {
        let ds = Traces::create_streaming(f, &self.trial_ids, &self.t_ms)?;
        write_trace_rows(&ds, 0, &self.vm_mv)
    }
    fn read_h5(f: &File) -> Result<Self> {
        let trial_ids = h5::read_strings(f, "sim_trial_index").map_err(h5e(f))?;
        let t_ms = h5::read_1d(f, "t_ms").map_err(h5e(f))?;
        let vm_mv: Array2<f64> = f
            .dataset("vm_mV")
            .and_then(|d| d.read_2d())
            .map_err(h5e(f))?;
        if vm_mv.dim() != (trial_ids.len(), t_ms.len()) {
            return Err(malformed(
                f,
                "vm_mV shape does not match sim_trial_index × t_ms",
            ));
        }
        Ok(Traces {
            trial_ids,
            t_ms,
            vm_mv,
        })
    }
}

/// Reads single trials of a `voltage_traces` value without loading the others.
pub struct TraceReader {
    ds: hdf5::Dataset,
    file: File,
    /// Trial index of the value.
    pub index: TrialIndex,
    /// Sample times \[ms\].
    pub t_ms: Vec<f64>,
    key: String,
}

impl TraceReader {
    /// Opens a trace value.
    pub fn open(f: File, key: &str) -> Result<TraceReader> {
        let index = TrialIndex::new(h5::read_strings(&f, "sim_trial_index").map_err(h5e(&f))?);
        let t_ms = h5::read_1d(&f, "t_ms").map_err(h5e(&f))?;
        let ds = f.dataset("vm_mV").map_err(h5e(&f))?;
        if ds.shape() != [index.len(), t_ms.len()] {
            return Err(malformed(
                &f,
                "vm_mV shape does not match sim_trial_index × t_ms",
            ));
        }
        Ok(TraceReader {
            ds,
            file: f,
            index,
            t_ms,
            key: key.to_string(),
        })
    }

    /// The voltage trace \[mV\] of row `row`.
    pub fn row(&self, row: usize) -> Result<Vec<f64>> {
        Ok(self
            .ds
            .read_slice_1d::<f64, _>(s![row, ..])
            .map_err(h5e(&self.file))?
            .to_vec())
    }

    /// The voltage trace \[mV\] of a trial (O(1) lookup).
    pub fn trial(&self, id: &str) -> Result<Vec<f64>> {
        self.row(self.index.row_or_err(id, &self.key)?)
    }

    /// Rows `r0..r1` as a block.
    pub fn rows(&self, r0: usize, r1: usize) -> Result<Array2<f64>> {
        self.ds
            .read_slice_2d::<f64, _>(s![r0..r1, ..])
            .map_err(h5e(&self.file))
    }
}

/// Spike times per trial in CSR form: trial `i` has `spike_times_ms[offsets[i]..offsets[i+1]]`.
/// Datasets `/sim_trial_index`, `/offsets` (u64, n+1), `/spike_times_ms`, optionally
/// `/spike_times_interpolated_ms` (linear interpolation of the crossing); attributes
/// `threshold_mV`, `rule`.
#[derive(Debug, Clone, PartialEq)]
pub struct SpikeTimes {
    /// Trial id per row.
    pub trial_ids: Vec<String>,
    /// CSR offsets (n + 1).
    pub offsets: Vec<u64>,
    /// Spike times \[ms\]: first sample at or above threshold (ISF's rule).
    pub times_ms: Vec<f64>,
    /// Linearly interpolated threshold crossings \[ms\], same layout (empty if not computed).
    pub interpolated_ms: Vec<f64>,
    /// Detection threshold \[mV\].
    pub threshold_mv: f64,
}

impl SpikeTimes {
    /// Spike times of row `i`.
    pub fn row(&self, i: usize) -> &[f64] {
        &self.times_ms[self.offsets[i] as usize..self.offsets[i + 1] as usize]
    }
    /// Interpolated crossings of row `i` (empty if not computed).
    pub fn row_interpolated(&self, i: usize) -> &[f64] {
        if self.interpolated_ms.is_empty() {
            return &[];
        }
        &self.interpolated_ms[self.offsets[i] as usize..self.offsets[i + 1] as usize]
    }
    /// Builds the CSR form from per-trial lists.
    pub fn from_rows(
        trial_ids: Vec<String>,
        rows: Vec<(Vec<f64>, Vec<f64>)>,
        threshold_mv: f64,
    ) -> SpikeTimes {
        let mut offsets = vec![0u64];
        let mut times_ms = Vec::new();
        let mut interpolated_ms = Vec::new();
        for (t, ti) in rows {
            times_ms.extend_from_slice(&t);
            interpolated_ms.extend_from_slice(&ti);
            offsets.push(times_ms.len() as u64);
        }
        SpikeTimes {
            trial_ids,
            offsets,
            times_ms,
            interpolated_ms,
            threshold_mv,
        }
    }
}

impl Payload for SpikeTimes {
    const KIND: &'static str = "spike_times";
    fn write_h5(&self, f: &File) -> H5Result<()> {
        h5::write_strings(f, "sim_trial_index", &self.trial_ids)?;
        h5::write_1d(f, "offsets", &self.offsets)?;
        h5::write_1d(f, "spike_times_ms", &self.times_ms)?;
        if !self.interpolated_ms.is_empty() {
            h5::write_1d(f, "spike_times_interpolated_ms", &self.interpolated_ms)?;
        }
        h5::set_attr_f64(f, "threshold_mV", self.threshold_mv)?;
        h5::set_attr_str(
            f,
            "rule",
            "upward crossing v[i-1] < threshold <= v[i]; spike time t[i] (spike_times_ms) and the \
             linearly interpolated crossing (spike_times_interpolated_ms)",
        )
    }
    fn read_h5(f: &File) -> Result<Self> {
        let trial_ids = h5::read_strings(f, "sim_trial_index").map_err(h5e(f))?;
        let offsets: Vec<u64> = h5::read_1d(f, "offsets").map_err(h5e(f))?;
        let times_ms: Vec<f64> = h5::read_1d(f, "spike_times_ms").map_err(h5e(f))?;
        let interpolated_ms = if f.link_exists("spike_times_interpolated_ms") {
            h5::read_1d(f, "spike_times_interpolated_ms").map_err(h5e(f))?
        } else {
            Vec::new()
        };
        check_offsets(f, "offsets", &offsets, trial_ids.len(), times_ms.len())?;
        if !interpolated_ms.is_empty() && interpolated_ms.len() != times_ms.len() {
            return Err(malformed(f, "spike_times_interpolated_ms length differs"));
        }
        let threshold_mv = h5::attr_f64(f, "threshold_mV").map_err(h5e(f))?;
        Ok(SpikeTimes {
            trial_ids,
            offsets,
            times_ms,
            interpolated_ms,
            threshold_mv,
        })
    }
}

/// Which activation file a table came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ActivationsKind {
    /// `simulation_run*_synapses.csv`: one row per active synapse.
    Synapse,
    /// `simulation_run*_presynaptic_cells.csv`: one row per spiking presynaptic cell.
    Cell,
}

/// Synapse or presynaptic-cell activations of many trials, as flat columns.
///
/// Rows of trial `i`: `trial_row_offsets[i]..trial_row_offsets[i+1]`; times of row `r`:
/// `activation_times_ms[time_offsets[r]..time_offsets[r+1]]`. Populations and dendrite labels are
/// categorical (`/categories/<name>` + per-row `<name>_code`).
#[derive(Debug, Clone, PartialEq)]
pub struct Activations {
    /// Synapse or cell table.
    pub kind: ActivationsKind,
    /// Trial id per trial.
    pub trial_ids: Vec<String>,
    /// Row offsets per trial (n_trials + 1).
    pub trial_row_offsets: Vec<u64>,
    /// Population names (`L5tt_C2`, …), the categories of `population_code`.
    pub populations: Vec<String>,
    /// `EXC` or `INH` per population (synapse tables; empty for cells).
    pub population_ei: Vec<String>,
    /// Population code per row.
    pub population_code: Vec<u32>,
    /// Synapse ID (synapse table) or cell ID (cell table) per row.
    pub id: Vec<i64>,
    /// Soma distance \[µm\] per row (synapse table only).
    pub soma_distance_um: Vec<f64>,
    /// Section ID per row (synapse table only).
    pub section_id: Vec<i64>,
    /// Section point ID per row (synapse table only).
    pub section_pt_id: Vec<i64>,
    /// Dendrite label names (synapse table only).
    pub labels: Vec<String>,
    /// Dendrite label code per row (synapse table only).
    pub label_code: Vec<u32>,
    /// Time offsets per row (n_rows + 1).
    pub time_offsets: Vec<u64>,
    /// Activation (release or spike) times \[ms\], ascending within a row.
    pub times_ms: Vec<f64>,
}

impl Activations {
    /// An empty table.
    pub fn empty(kind: ActivationsKind) -> Activations {
        Activations {
            kind,
            trial_ids: Vec::new(),
            trial_row_offsets: vec![0],
            populations: Vec::new(),
            population_ei: Vec::new(),
            population_code: Vec::new(),
            id: Vec::new(),
            soma_distance_um: Vec::new(),
            section_id: Vec::new(),
            section_pt_id: Vec::new(),
            labels: Vec::new(),
            label_code: Vec::new(),
            time_offsets: vec![0],
            times_ms: Vec::new(),
        }
    }
    /// Number of rows.
    pub fn n_rows(&self) -> usize {
        self.population_code.len()
    }
    /// Row range of trial `i`.
    pub fn trial_rows(&self, i: usize) -> std::ops::Range<usize> {
        self.trial_row_offsets[i] as usize..self.trial_row_offsets[i + 1] as usize
    }
    /// Times of row `r`.
    pub fn row_times(&self, r: usize) -> &[f64] {
        &self.times_ms[self.time_offsets[r] as usize..self.time_offsets[r + 1] as usize]
    }
    fn kind_name(&self) -> &'static str {
        match self.kind {
            ActivationsKind::Synapse => "synapse",
            ActivationsKind::Cell => "cell",
        }
    }
}

impl Payload for Activations {
    const KIND: &'static str = "activations";
    fn write_h5(&self, f: &File) -> H5Result<()> {
        h5::set_attr_str(f, "activation_kind", self.kind_name())?;
        h5::write_strings(f, "sim_trial_index", &self.trial_ids)?;
        h5::write_1d(f, "trial_row_offsets", &self.trial_row_offsets)?;
        let cat = f.create_group("categories")?;
        h5::write_strings(&cat, "population", &self.populations)?;
        h5::write_1d(f, "population_code", &self.population_code)?;
        h5::write_1d(f, "id", &self.id)?;
        if self.kind == ActivationsKind::Synapse {
            h5::write_strings(&cat, "population_EI", &self.population_ei)?;
            h5::write_strings(&cat, "dendrite_label", &self.labels)?;
            h5::write_1d(f, "dendrite_label_code", &self.label_code)?;
            h5::write_1d(f, "soma_distance_um", &self.soma_distance_um)?;
            h5::write_1d(f, "section_id", &self.section_id)?;
            h5::write_1d(f, "section_pt_id", &self.section_pt_id)?;
        }
        h5::write_1d(f, "time_offsets", &self.time_offsets)?;
        h5::write_1d(f, "activation_times_ms", &self.times_ms)?;
        Ok(())
    }
    fn read_h5(f: &File) -> Result<Self> {
        let e = h5e;
        let kind = match h5::attr_str(f, "activation_kind").map_err(e(f))?.as_str() {
            "synapse" => ActivationsKind::Synapse,
            "cell" => ActivationsKind::Cell,
            other => return Err(malformed(f, format!("unknown activation_kind `{other}`"))),
        };
        let cat = f.group("categories").map_err(e(f))?;
        let mut a = Activations::empty(kind);
        a.trial_ids = h5::read_strings(f, "sim_trial_index").map_err(e(f))?;
        a.trial_row_offsets = h5::read_1d(f, "trial_row_offsets").map_err(e(f))?;
        a.populations = h5::read_strings(&cat, "population").map_err(e(f))?;
        a.population_code = h5::read_1d(f, "population_code").map_err(e(f))?;
        a.id = h5::read_1d(f, "id").map_err(e(f))?;
        if kind == ActivationsKind::Synapse {
            a.population_ei = h5::read_strings(&cat, "population_EI").map_err(e(f))?;
            a.labels = h5::read_strings(&cat, "dendrite_label").map_err(e(f))?;
            a.label_code = h5::read_1d(f, "dendrite_label_code").map_err(e(f))?;
            a.soma_distance_um = h5::read_1d(f, "soma_distance_um").map_err(e(f))?;
            a.section_id = h5::read_1d(f, "section_id").map_err(e(f))?;
            a.section_pt_id = h5::read_1d(f, "section_pt_id").map_err(e(f))?;
        }
        a.time_offsets = h5::read_1d(f, "time_offsets").map_err(e(f))?;
        a.times_ms = h5::read_1d(f, "activation_times_ms").map_err(e(f))?;
        let n = a.n_rows();
        check_offsets(
            f,
            "trial_row_offsets",
            &a.trial_row_offsets,
            a.trial_ids.len(),
            n,
        )?;
        check_offsets(f, "time_offsets", &a.time_offsets, n, a.times_ms.len())?;
        let per_row_ok = a.id.len() == n
            && (kind == ActivationsKind::Cell
                || (a.label_code.len() == n
                    && a.soma_distance_um.len() == n
                    && a.section_id.len() == n
                    && a.section_pt_id.len() == n
                    && a.population_ei.len() == a.populations.len()));
        if !per_row_ok {
            return Err(malformed(f, "per-row columns differ in length"));
        }
        if a.population_code
            .iter()
            .any(|&c| c as usize >= a.populations.len())
            || a.label_code.iter().any(|&c| c as usize >= a.labels.len())
        {
            return Err(malformed(f, "category code out of range"));
        }
        Ok(a)
    }
}

/// Binned activation counts: `/sim_trial_index` (n), `/counts` (n × n_bins),
/// `/bin_edges_ms` (n_bins + 1).
#[derive(Debug, Clone, PartialEq)]
pub struct Binned {
    /// Trial id per row.
    pub trial_ids: Vec<String>,
    /// Bin edges \[ms\].
    pub bin_edges_ms: Vec<f64>,
    /// Counts, trials × bins.
    pub counts: Array2<f64>,
}

impl Payload for Binned {
    const KIND: &'static str = "binned_activation";
    fn write_h5(&self, f: &File) -> H5Result<()> {
        h5::write_strings(f, "sim_trial_index", &self.trial_ids)?;
        h5::write_1d(f, "bin_edges_ms", &self.bin_edges_ms)?;
        f.new_dataset_builder()
            .with_data(&self.counts)
            .create("counts")?;
        Ok(())
    }
    fn read_h5(f: &File) -> Result<Self> {
        let trial_ids = h5::read_strings(f, "sim_trial_index").map_err(h5e(f))?;
        let bin_edges_ms: Vec<f64> = h5::read_1d(f, "bin_edges_ms").map_err(h5e(f))?;
        let counts: Array2<f64> = f
            .dataset("counts")
            .and_then(|d| d.read_2d())
            .map_err(h5e(f))?;
        if counts.nrows() != trial_ids.len() || counts.ncols() + 1 != bin_edges_ms.len() {
            return Err(malformed(
                f,
                "counts shape does not match sim_trial_index × bins",
            ));
        }
        Ok(Binned {
            trial_ids,
            bin_edges_ms,
            counts,
        })
    }
}
