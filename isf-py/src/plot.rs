//! `isf plot` from Python: the library's picture functions (`isf::plot::figures`, the ones the
//! command line calls) returning (bytes, width, height). `isf.plot` (python/isf/plot.py) wraps
//! the bytes in an object Jupyter shows inline.

use std::path::PathBuf;

use isf::plot::figures::{
    self, Canvas, ChartData, ChartQuery, Coloring, Morphology, MorphologyOptions, Rendered,
};
use isf::plot::fullcell::{self, StoredTrial};
use isf::plot::morphology::View;
use isf::plot::stored;
use isf::plot::Format;
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::PyBytes;

use crate::anyhow_err;

/// A picture handed to Python: its bytes, width and height.
type Picture<'py> = (Bound<'py, PyBytes>, u32, u32);

fn picture<'py>(py: Python<'py>, r: Rendered) -> Picture<'py> {
    (PyBytes::new(py, &r.bytes), r.width, r.height)
}

fn canvas(format: &str, width: Option<u32>, height: Option<u32>) -> PyResult<Canvas> {
    let format = match format.to_ascii_lowercase().as_str() {
        "png" => Format::Png,
        "svg" => Format::Svg,
        f => {
            return Err(PyValueError::new_err(format!(
                "format `{f}`: a chart is drawn as png or svg"
            )))
        }
    };
    Ok(Canvas {
        format,
        width,
        height,
    })
}

fn query(
    results: Option<PathBuf>,
    cell: Option<String>,
    isf_folder: Option<PathBuf>,
    trials: Option<String>,
    t_start: Option<f64>,
    t_stop: Option<f64>,
) -> PyResult<ChartQuery> {
    let data = match (results, isf_folder) {
        (Some(path), None) => ChartData::Results { path, cell },
        (None, Some(d)) => ChartData::IsfFolder(d),
        _ => {
            return Err(PyValueError::new_err(
                "name the data: a results file or (isf_folder=) an ISF output folder, not both",
            ))
        }
    };
    Ok(ChartQuery {
        data,
        trials,
        t_start,
        t_stop,
    })
}

/// Renders in Rust with the GIL released.
fn rendered<'py>(
    py: Python<'py>,
    f: impl FnOnce() -> anyhow::Result<Rendered> + Send,
) -> PyResult<Picture<'py>> {
    let r = py.detach(f).map_err(anyhow_err)?;
    Ok(picture(py, r))
}

/// `isf plot traces`.
#[pyfunction]
#[pyo3(signature = (results=None, isf_folder=None, cell=None, trials=None, t_start=None,
    t_stop=None, sites=false, format="png", width=None, height=None))]
#[allow(clippy::too_many_arguments)]
pub fn plot_traces<'py>(
    py: Python<'py>,
    results: Option<PathBuf>,
    isf_folder: Option<PathBuf>,
    cell: Option<String>,
    trials: Option<String>,
    t_start: Option<f64>,
    t_stop: Option<f64>,
    sites: bool,
    format: &str,
    width: Option<u32>,
    height: Option<u32>,
) -> PyResult<Picture<'py>> {
    let q = query(results, cell, isf_folder, trials, t_start, t_stop)?;
    let c = canvas(format, width, height)?;
    rendered(py, || figures::traces(&q, sites, &c))
}

/// `isf plot raster`.
#[pyfunction]
#[pyo3(signature = (results=None, isf_folder=None, cell=None, trials=None, t_start=None,
    t_stop=None, of="soma", format="png", width=None, height=None))]
#[allow(clippy::too_many_arguments)]
pub fn plot_raster<'py>(
    py: Python<'py>,
    results: Option<PathBuf>,
    isf_folder: Option<PathBuf>,
    cell: Option<String>,
    trials: Option<String>,
    t_start: Option<f64>,
    t_stop: Option<f64>,
    of: &str,
    format: &str,
    width: Option<u32>,
    height: Option<u32>,
) -> PyResult<Picture<'py>> {
    let q = query(results, cell, isf_folder, trials, t_start, t_stop)?;
    let c = canvas(format, width, height)?;
    let of = of
        .parse()
        .map_err(|e| PyValueError::new_err(format!("{e}")))?;
    rendered(py, || figures::raster(&q, of, &c))
}

/// `isf plot psth`.
#[pyfunction]
#[pyo3(signature = (results=None, isf_folder=None, cell=None, trials=None, t_start=None,
    t_stop=None, of="soma", bin=5.0, group="cell-type", format="png", width=None, height=None))]
#[allow(clippy::too_many_arguments)]
pub fn plot_psth<'py>(
    py: Python<'py>,
    results: Option<PathBuf>,
    isf_folder: Option<PathBuf>,
    cell: Option<String>,
    trials: Option<String>,
    t_start: Option<f64>,
    t_stop: Option<f64>,
    of: &str,
    bin: f64,
    group: &str,
    format: &str,
    width: Option<u32>,
    height: Option<u32>,
) -> PyResult<Picture<'py>> {
    let q = query(results, cell, isf_folder, trials, t_start, t_stop)?;
    let c = canvas(format, width, height)?;
    let value = |e: anyhow::Error| PyValueError::new_err(format!("{e}"));
    let of = of.parse().map_err(value)?;
    let group = group.parse().map_err(value)?;
    rendered(py, || figures::psth(&q, of, bin, group, &c))
}

/// `isf plot binning`.
#[pyfunction]
#[pyo3(signature = (db, key=None, trials=None, t_start=None, t_stop=None, format="png",
    width=None, height=None))]
#[allow(clippy::too_many_arguments)]
pub fn plot_binning<'py>(
    py: Python<'py>,
    db: PathBuf,
    key: Option<String>,
    trials: Option<String>,
    t_start: Option<f64>,
    t_stop: Option<f64>,
    format: &str,
    width: Option<u32>,
    height: Option<u32>,
) -> PyResult<Picture<'py>> {
    let c = canvas(format, width, height)?;
    rendered(py, || {
        figures::binning(&db, key.as_deref(), trials.as_deref(), t_start, t_stop, &c)
    })
}

/// `isf plot kernels`.
#[pyfunction]
#[pyo3(signature = (db, model, format="png", width=None, height=None))]
pub fn plot_kernels<'py>(
    py: Python<'py>,
    db: PathBuf,
    model: String,
    format: &str,
    width: Option<u32>,
    height: Option<u32>,
) -> PyResult<Picture<'py>> {
    let c = canvas(format, width, height)?;
    rendered(py, || figures::kernels(&db, &model, &c))
}

/// `isf plot morphology`: a still (`at`, PNG) or the frames as a GIF. The trial is an ISF output
/// folder's run (`isf_folder`, `run`) or a synapse activation file (`synapses`) with its cell and
/// network parameter files. Returns (bytes, width, height, the soma check's sentence or None).
#[pyfunction]
#[pyo3(signature = (isf_folder=None, run=0, synapses=None, cell_param=None, network_param=None,
    results=None, db=None, trial=None, cell=None, resimulate=false,
    numerics=None, t_start=220.0, t_stop=270.0, t_step=0.2, at=None, azimuth=-90.0,
    elevation=0.0, color="voltage", scalar=None, scalar_min=None, scalar_max=None, vmin=-75.0,
    vmax=-30.0, synapses_shown=true, synapse_window=None, fps=25.0, width=None, height=None))]
#[allow(clippy::too_many_arguments)]
pub fn plot_morphology<'py>(
    py: Python<'py>,
    isf_folder: Option<PathBuf>,
    run: usize,
    synapses: Option<PathBuf>,
    cell_param: Option<PathBuf>,
    network_param: Option<PathBuf>,
    results: Option<PathBuf>,
    db: Option<PathBuf>,
    trial: Option<String>,
    cell: Option<String>,
    resimulate: bool,
    numerics: Option<&str>,
    t_start: f64,
    t_stop: f64,
    t_step: f64,
    at: Option<f64>,
    azimuth: f64,
    elevation: f64,
    color: &str,
    scalar: Option<String>,
    scalar_min: Option<f64>,
    scalar_max: Option<f64>,
    vmin: f64,
    vmax: f64,
    synapses_shown: bool,
    synapse_window: Option<f64>,
    fps: f64,
    width: Option<u32>,
    height: Option<u32>,
) -> PyResult<(Bound<'py, PyBytes>, u32, u32, Option<String>)> {
    let numerics = numerics.map(crate::numerics).transpose()?;
    // Reading the trial's source waits until the GIL is released, below.
    type Source = Box<dyn FnOnce() -> anyhow::Result<StoredTrial> + Send>;
    let (cp, np) = (cell_param, network_param);
    let stored: Source = match (isf_folder, synapses, results, db) {
        (Some(dir), None, None, None) => {
            Box::new(move || fullcell::isf_folder_trial(&dir, run, cp, np))
        }
        (None, Some(synapses), None, None) => match (cp, np) {
            (Some(cp), Some(np)) => {
                let t = StoredTrial::replay(cp, np, synapses);
                Box::new(move || Ok(t))
            }
            _ => {
                return Err(PyValueError::new_err(
                    "synapses= needs cell_param= and network_param=",
                ))
            }
        },
        (None, None, Some(results), None) => {
            let trial = trial.ok_or_else(|| PyValueError::new_err("results= needs trial="))?;
            let index = trial.parse::<usize>().map_err(|_| {
                PyValueError::new_err(format!(
                    "trial=`{trial}`: a trial of a results file is its index within the cell"
                ))
            })?;
            Box::new(move || stored::results_trial(&results, cell.as_deref(), index, cp, np))
        }
        (None, None, None, Some(db)) => {
            let trial = trial.ok_or_else(|| PyValueError::new_err("db= needs trial="))?;
            Box::new(move || stored::db_trial(&db, &trial, cp, np))
        }
        _ => {
            return Err(PyValueError::new_err(
                "name the trial with one of isf_folder= (and run=), synapses=, results= with \
                 trial=, or db= with trial=",
            ))
        }
    };
    let coloring = match (color, scalar) {
        ("label", None) => Coloring::Label,
        ("voltage", None) => Coloring::Voltage { vmin, vmax },
        ("scalar", Some(column)) => Coloring::Scalar {
            column,
            min: scalar_min,
            max: scalar_max,
        },
        (c, s) => {
            return Err(PyValueError::new_err(format!(
                "color=`{c}` with scalar={s:?}: color is `voltage`, `label`, or `scalar` with \
                 scalar= a column of the segments table"
            )))
        }
    };
    let o = MorphologyOptions {
        t_start,
        t_stop,
        t_step,
        at,
        view: View {
            azimuth_deg: azimuth,
            elevation_deg: elevation,
        },
        coloring,
        synapse_window: synapses_shown.then_some(synapse_window.unwrap_or(t_step)),
        width,
        height,
    };
    let (r, check) = py
        .detach(|| -> anyhow::Result<_> {
            let (m, _recorded) = Morphology::of_stored(&stored()?, numerics, resimulate, &o)?;
            let check = m.trial.soma_check.as_ref().map(|c| c.to_string());
            let r = if at.is_some() {
                m.still_png()?
            } else {
                m.gif(fps)?
            };
            Ok((r, check))
        })
        .map_err(anyhow_err)?;
    Ok((PyBytes::new(py, &r.bytes), r.width, r.height, check))
}
