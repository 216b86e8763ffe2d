//! SONATA element reports of a results file's voltage traces: one report population per cell,
//! one node per trial (node id = trial index within the cell, as in the SONATA spikes), one
//! element per recorded compartment (0 = soma, 1… = the recording sites in order).

use std::path::Path;

use hdf5::types::VarLenUnicode;
use ndarray::{s, Array2};
use pyo3::PyResult;

use super::{err, ResultsFile};
use isf_io::results_schema as schema;

fn unicode(s: &str) -> VarLenUnicode {
    s.parse().expect("ASCII attribute text has no NUL")
}

/// Writes the report file `out` (refusing to replace an existing file).
pub(crate) fn write_report(
    results: &ResultsFile,
    out: &Path,
    trace_rows: &[(String, usize)],
    sites: bool,
) -> PyResult<()> {
    if out.exists() {
        return Err(err(format!(
            "{} already exists; remove it or choose another name",
            out.display()
        )));
    }
    let e = |what: String| move |x: hdf5::Error| err(format!("{}: {what}: {x}", out.display()));
    let tmp = out.with_file_name(format!(
        ".{}.partial",
        out.file_name()
            .map_or("report".into(), |n| n.to_string_lossy())
    ));
    let f = hdf5::File::create(&tmp).map_err(e("create".into()))?;
    let report = f.create_group("report").map_err(e("report".into()))?;
    for (cell, n_trials) in trace_rows {
        let at = format!("{}/{cell}", schema::CELLS);
        let soma = format!("{at}/{}", schema::cell::SOMA_VM);
        let mut traces = vec![soma.clone()];
        if sites {
            let g = results
                .file
                .group(&at)
                .map_err(|x| err(format!("{}: {at}: {x}", results.path.display())))?;
            let labels = super::attr_strings(&g, schema::cell::SITE_LABELS)
                .map_err(|x| err(format!("{}: {at}/site_labels: {x}", results.path.display())))?;
            for (i, l) in labels.iter().enumerate() {
                traces.push(format!(
                    "{at}/{}/{}",
                    schema::cell::SITES,
                    schema::site_dataset_name(i, l)
                ));
            }
        }
        let per_node = traces.len();
        let t0 = results.attr_f64(&soma, schema::cell::trace_attr::T0)?;
        let dt = results.attr_f64(&soma, schema::cell::trace_attr::DT)?;
        let n_t = results.dataset(&soma)?.shape().get(1).copied().unwrap_or(0);
        let n_el = n_trials * per_node;
        let pop = report
            .create_group(cell)
            .map_err(e(format!("report/{cell}")))?;
        let data = pop
            .new_dataset::<f32>()
            .chunk((n_t.clamp(1, 1024), n_el.clamp(1, 64)))
            .shape((n_t, n_el))
            .create("data")
            .map_err(e(format!("report/{cell}/data")))?;
        data.new_attr::<VarLenUnicode>()
            .create("units")
            .and_then(|a| a.write_scalar(&unicode("mV")))
            .map_err(e("data units".into()))?;
        // One trial at a time: a report is the transpose of the results file's trial-major rows.
        for trial in 0..*n_trials {
            let mut block = Array2::<f32>::zeros((n_t, per_node));
            for (k, path) in traces.iter().enumerate() {
                let row: ndarray::Array2<f32> = results
                    .dataset(path)?
                    .read_slice_2d((trial..trial + 1, 0..n_t))
                    .map_err(|x| err(format!("{}: {path}: {x}", results.path.display())))?;
                block.column_mut(k).assign(&row.row(0));
            }
            data.write_slice(&block, s![.., trial * per_node..(trial + 1) * per_node])
                .map_err(e(format!("report/{cell}/data")))?;
        }
        let mapping = pop.create_group("mapping").map_err(e("mapping".into()))?;
        let node_ids: Vec<u64> = (0..*n_trials as u64).collect();
        let pointers: Vec<u64> = (0..=*n_trials as u64)
            .map(|i| i * per_node as u64)
            .collect();
        let elements: Vec<u32> = (0..n_el).map(|i| (i % per_node) as u32).collect();
        mapping
            .new_dataset_builder()
            .with_data(&node_ids)
            .create("node_ids")
            .map_err(e("node_ids".into()))?;
        mapping
            .new_dataset_builder()
            .with_data(&pointers)
            .create("index_pointers")
            .map_err(e("index_pointers".into()))?;
        mapping
            .new_dataset_builder()
            .with_data(&elements)
            .create("element_ids")
            .map_err(e("element_ids".into()))?;
        let time = mapping
            .new_dataset_builder()
            .with_data(&[t0, t0 + n_t as f64 * dt, dt])
            .create("time")
            .map_err(e("time".into()))?;
        time.new_attr::<VarLenUnicode>()
            .create("units")
            .and_then(|a| a.write_scalar(&unicode("ms")))
            .map_err(e("time units".into()))?;
    }
    f.close().map_err(e("close".into()))?;
    std::fs::rename(&tmp, out).map_err(|x| {
        err(format!(
            "cannot rename {} to {}: {x}",
            tmp.display(),
            out.display()
        ))
    })
}
