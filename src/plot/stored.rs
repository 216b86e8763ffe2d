//! Stored trials of a results file or a database, ready to re-simulate ([`super::fullcell`]):
//! their synapse activations, stored soma trace, the run's recording of every segment (if any)
//! and the parameter files the run simulated.
//!
//! A results file keeps the parameter files as simulated (`cells/<cell>/parameterfiles/`) and
//! every input file of the run (`provenance/files/`, with the path the run read it from), so it
//! rebuilds its cell without the original files: they are written into a private folder at the
//! places their recorded paths give (relative paths below a common root), where the parameter
//! files' own relative references find them; a reference naming a recorded path verbatim (an
//! absolute path, an embedding override) is pointed at its copy. A database keeps the parameter
//! files and the activations; it takes the other files from the results file it was built from
//! (`simresult_path`), else the references of its parameter files must resolve as they are.

use std::path::{Component, Path, PathBuf};
use std::sync::Arc;

use hdf5::types::VarLenUnicode;
use isf_io::results_schema::{self as schema, cell, provenance as pv};
use ndarray::s;

use super::data::Results;
use super::fullcell::{RecordedSegments, StoredActivation, StoredActivations, StoredTrial};
use crate::mechanisms::catalogue_file::LoadRequest;
use crate::mechanisms::Numerics;
use crate::run::config::RunConfigFile;

/// Depth of the placeholder folders below which relative paths are rebuilt, so that paths
/// starting with `..` stay inside the private folder.
const UP_LEVELS: usize = 8;

/// The rebuilt input files of a results file's cell: its parameter files, rewritten to find
/// their morphology, synapse and other files among the rebuilt ones.
struct Rebuilt {
    dir: Arc<tempfile::TempDir>,
    cell_param: PathBuf,
    network_param: PathBuf,
    numerics: Numerics,
    mechanisms: LoadRequest,
}

/// Where a recorded path `p` is rebuilt below `root`.
fn rebuilt_path(root: &Path, p: &str) -> PathBuf {
    let p = Path::new(p);
    let top = root.join(if p.is_absolute() { "abs" } else { "rel" });
    let mut out = if p.is_absolute() {
        top.clone()
    } else {
        (0..UP_LEVELS).fold(top.clone(), |d, _| d.join("up"))
    };
    for c in p.components() {
        match c {
            Component::Normal(n) => out.push(n),
            Component::ParentDir if out != top => {
                out.pop();
            }
            _ => {}
        }
    }
    out
}

fn attr_string(loc: &hdf5::Location, name: &str) -> hdf5::Result<String> {
    Ok(loc.attr(name)?.read_scalar::<VarLenUnicode>()?.to_string())
}

fn text_of(ds: &hdf5::Dataset) -> hdf5::Result<Vec<u8>> {
    ds.read_raw::<u8>()
}

/// Rebuilds the input files of `results`' cell into a private folder.
fn rebuild(results: &Results) -> anyhow::Result<Rebuilt> {
    let path = results.path();
    let e = |what: &str| {
        let (path, what) = (path.display().to_string(), what.to_string());
        move |err: hdf5::Error| anyhow::anyhow!("{path}: {what}: {err}")
    };
    let params = results.group().group(cell::PARAMETER_FILES).map_err(|_| {
        anyhow::anyhow!(
            "{}: cells/{} has no {} (a results file of format version 1 does not keep the \
             simulated parameter files): name them with --cell-param and --network-param",
            path.display(),
            results.cell(),
            cell::PARAMETER_FILES
        )
    })?;
    let param_copy = |name: &str| -> anyhow::Result<Vec<u8>> {
        params
            .dataset(name)
            .and_then(|d| text_of(&d))
            .map_err(e(&format!(
                "cells/{}/{}/{name}",
                results.cell(),
                cell::PARAMETER_FILES
            )))
    };
    let (cell_bytes, network_bytes) = (
        param_copy("neuron_model.param")?,
        param_copy("network_model.param")?,
    );
    let prov = results
        .file()
        .group(schema::PROVENANCE)
        .map_err(e(schema::PROVENANCE))?;
    let config_path = attr_string(&prov, pv::CONFIG_PATH).map_err(e("provenance/config_path"))?;
    let config_text = prov
        .dataset(pv::CONFIG_TEXT)
        .and_then(|d| text_of(&d))
        .map_err(e("provenance/config_text"))?;
    let config_text = String::from_utf8(config_text)
        .map_err(|_| anyhow::anyhow!("{}: provenance/config_text is not UTF-8", path.display()))?;
    let config: RunConfigFile = toml::from_str(&config_text).map_err(|err| {
        anyhow::anyhow!(
            "{}: provenance/config_text (the run's config {config_path}) does not parse: {err}",
            path.display()
        )
    })?;
    let cell_id: u32 = results
        .group()
        .attr(cell::CELL_ID)
        .and_then(|a| a.read_scalar())
        .map_err(e(&format!("cells/{}/cell_id", results.cell())))?;
    let cfg = config.cells.get(cell_id as usize).ok_or_else(|| {
        anyhow::anyhow!(
            "{}: the run's config has {} cells, not cell {cell_id} ({})",
            path.display(),
            config.cells.len(),
            results.cell()
        )
    })?;
    let config_dir = Path::new(&config_path)
        .parent()
        .unwrap_or(Path::new(""))
        .to_path_buf();
    let recorded = |p: &Path| config_dir.join(p).display().to_string();

    let dir = tempfile::Builder::new()
        .prefix(".isf-trial-")
        .tempdir()
        .map_err(|err| anyhow::anyhow!("cannot make a temporary folder: {err}"))?;
    let root = dir.path().to_path_buf();
    let files = prov.group(pv::FILES).map_err(e("provenance/files"))?;
    let mut recorded_paths = Vec::new();
    for m in files.member_names().map_err(e("provenance/files"))? {
        let ds = files
            .dataset(&m)
            .map_err(e(&format!("provenance/files/{m}")))?;
        let p = attr_string(&ds, pv::PATH).map_err(e(&format!("provenance/files/{m}")))?;
        let dest = rebuilt_path(&root, &p);
        if let Some(d) = dest.parent() {
            std::fs::create_dir_all(d).map_err(|err| anyhow::anyhow!("{}: {err}", d.display()))?;
        }
        std::fs::write(
            &dest,
            text_of(&ds).map_err(e(&format!("provenance/files/{m}")))?,
        )
        .map_err(|err| anyhow::anyhow!("{}: {err}", dest.display()))?;
        recorded_paths.push((p, dest));
    }
    // The copies as simulated replace the originals, at the originals' places.
    let place = |bytes: &[u8], original: &Path, what: &str| -> anyhow::Result<PathBuf> {
        let dest = rebuilt_path(&root, &recorded(original));
        let mut json: serde_json::Value = serde_json::from_slice(bytes).map_err(|err| {
            anyhow::anyhow!(
                "{}: cells/{}/{}/{what}: not JSON: {err}",
                path.display(),
                results.cell(),
                cell::PARAMETER_FILES
            )
        })?;
        repoint(&mut json, &recorded_paths);
        if let Some(d) = dest.parent() {
            std::fs::create_dir_all(d).map_err(|err| anyhow::anyhow!("{}: {err}", d.display()))?;
        }
        let text = serde_json::to_string_pretty(&json)?;
        std::fs::write(&dest, text).map_err(|err| anyhow::anyhow!("{}: {err}", dest.display()))?;
        Ok(dest)
    };
    let cell_param = place(&cell_bytes, &cfg.cell_param, "neuron_model.param")?;
    let network_param = place(&network_bytes, &cfg.network_param, "network_model.param")?;
    let mechanisms = LoadRequest {
        catalogues: config
            .mechanisms
            .iter()
            .map(|m| PathBuf::from(recorded(m)))
            .collect(),
        replace_builtins: config.replace_builtins.clone(),
    };
    if let Some(m) = mechanisms.catalogues.iter().find(|m| !m.is_file()) {
        anyhow::bail!(
            "{}: the run loaded the compiled mechanisms {}, which are not there (the results \
             file does not keep them); run from the run's folder or rebuild the catalogue",
            path.display(),
            m.display()
        );
    }
    Ok(Rebuilt {
        dir: Arc::new(dir),
        cell_param,
        network_param,
        numerics: cfg.numerics,
        mechanisms,
    })
}

/// Points every string of `v` that is a recorded path at its rebuilt copy.
fn repoint(v: &mut serde_json::Value, recorded: &[(String, PathBuf)]) {
    match v {
        serde_json::Value::String(s) => {
            if let Some((_, dest)) = recorded.iter().find(|(p, _)| p == s) {
                *s = dest.display().to_string();
            }
        }
        serde_json::Value::Array(a) => a.iter_mut().for_each(|x| repoint(x, recorded)),
        serde_json::Value::Object(o) => o.values_mut().for_each(|x| repoint(x, recorded)),
        _ => {}
    }
}

/// Trial `trial` (index within the cell) of `cell` in the results file `path`; the parameter
/// files default to the ones the file keeps.
pub fn results_trial(
    path: &Path,
    cell_name: Option<&str>,
    trial: usize,
    cell_param: Option<PathBuf>,
    network_param: Option<PathBuf>,
) -> anyhow::Result<StoredTrial> {
    let results = Results::open(path, cell_name)?;
    let n = results.n_trials();
    if trial >= n {
        anyhow::bail!(
            "{}: cell {} has {n} committed trials (0–{}), not trial {trial}",
            path.display(),
            results.cell(),
            n.saturating_sub(1)
        );
    }
    let (populations, rows) = results.activity_rows(trial, false)?;
    let activations = rows
        .into_iter()
        .map(|(p, id, times_ms)| {
            Ok(StoredActivation {
                population: populations.get(p as usize).cloned().ok_or_else(|| {
                    anyhow::anyhow!(
                        "{}: cells/{}: population index {p} out of range",
                        path.display(),
                        results.cell()
                    )
                })?,
                synapse_id: id as usize,
                times_ms,
            })
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    let soma = if results.group().link_exists(cell::SOMA_VM) {
        let t = results.traces(&[trial], false)?;
        t.soma.into_iter().next().map(|(_, v)| {
            (
                format!(
                    "{} cells/{}/{} row {trial}",
                    path.display(),
                    results.cell(),
                    cell::SOMA_VM
                ),
                t.t_ms,
                v,
            )
        })
    } else {
        None
    };
    let recorded_segments = recorded_segments(&results, trial)?;
    let rebuilt = match (&cell_param, &network_param) {
        (Some(_), Some(_)) => None,
        _ => Some(rebuild(&results)?),
    };
    let (cp, np) = match &rebuilt {
        Some(r) => (r.cell_param.clone(), r.network_param.clone()),
        None => (PathBuf::new(), PathBuf::new()),
    };
    Ok(StoredTrial {
        cell_param: cell_param.unwrap_or(cp),
        network_param: network_param.unwrap_or(np),
        activations: StoredActivations::Rows(activations),
        stored_soma: soma,
        recorded_segments,
        numerics: rebuilt.as_ref().map(|r| r.numerics),
        mechanisms: rebuilt
            .as_ref()
            .map(|r| r.mechanisms.clone())
            .unwrap_or_default(),
        files: rebuilt.map(|r| r.dir),
    })
}

/// The run's recording of every segment of `trial`, if the file has one.
fn recorded_segments(results: &Results, trial: usize) -> anyhow::Result<Option<RecordedSegments>> {
    use cell::all_segments as a;
    let Ok(g) = results.group().group(a::GROUP) else {
        return Ok(None);
    };
    let what = format!(
        "{} cells/{}/{}/{} trial {trial}",
        results.path().display(),
        results.cell(),
        a::GROUP,
        a::VM
    );
    let e = |err: hdf5::Error| anyhow::anyhow!("{what}: {err}");
    let t_ms: Vec<f64> = g.dataset(a::T_MS).and_then(|d| d.read_raw()).map_err(e)?;
    let ds = g.dataset(a::VM).map_err(e)?;
    let shape = ds.shape();
    if shape.len() != 3 || shape[0] <= trial || shape[2] != t_ms.len() {
        anyhow::bail!(
            "{what}: shape {shape:?}, expected [trials > {trial}, segments, {}]",
            t_ms.len()
        );
    }
    let block: ndarray::Array2<f32> = ds.read_slice_2d(s![trial, .., ..]).map_err(e)?;
    let vm_mv = block
        .rows()
        .into_iter()
        .map(|r| r.iter().map(|&x| f64::from(x)).collect())
        .collect();
    Ok(Some(RecordedSegments { what, t_ms, vm_mv }))
}

/// Trial `id` (`<cell>/<NNNNNN>`, as `isf db` names trials) of the database `db_path`: its
/// synapse activations, soma trace and parameter files from the database; the files those name
/// from the results file the database was built from, if it is there.
pub fn db_trial(
    db_path: &Path,
    id: &str,
    cell_param: Option<PathBuf>,
    network_param: Option<PathBuf>,
) -> anyhow::Result<StoredTrial> {
    use isf_post::db::{key, Activations, Column, Database, Strings, Table, TraceReader, Traces};
    let db_err =
        |err: isf_post::db::DbError| anyhow::anyhow!("database {}: {err}", db_path.display());
    let db = Database::open(db_path).map_err(db_err)?;
    let acts: Activations = db.get(&key(&["synapse_activation"])).map_err(db_err)?;
    let Some(row) = acts.trial_ids.iter().position(|t| t == id) else {
        let n = acts.trial_ids.len();
        anyhow::bail!(
            "database {}: no trial `{id}` (its {n} trials are {}{})",
            db_path.display(),
            acts.trial_ids
                .iter()
                .take(3)
                .cloned()
                .collect::<Vec<_>>()
                .join(", "),
            if n > 3 { ", …" } else { "" }
        );
    };
    let activations = acts
        .trial_rows(row)
        .map(|r| {
            let code = acts.population_code[r];
            let population = acts.populations.get(code as usize).cloned();
            match (population, u32::try_from(acts.id[r])) {
                (Some(population), Ok(sid)) => Ok(StoredActivation {
                    population,
                    synapse_id: sid as usize,
                    times_ms: acts.row_times(r).to_vec(),
                }),
                _ => Err(anyhow::anyhow!(
                    "database {}: synapse_activation of `{id}`, row {r}: population code {code} \
                     and synapse id {} do not name a synapse",
                    db_path.display(),
                    acts.id[r]
                )),
            }
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    let (_, f, _) = db
        .open_value(
            &key(&["voltage_traces"]),
            Some(<Traces as isf_post::db::Payload>::KIND),
        )
        .map_err(db_err)?;
    let traces = TraceReader::open(f, "voltage_traces").map_err(db_err)?;
    let soma = traces.trial(id).map_err(db_err)?;
    let stored_soma = Some((
        format!("database {} voltage_traces `{id}`", db_path.display()),
        traces.t_ms.clone(),
        soma,
    ));

    // The parameter files: the database's copies (and the results file's other inputs).
    let (mut cp, mut np, mut rebuilt) = (None, None, None);
    if cell_param.is_none() || network_param.is_none() {
        let source = db
            .get::<Strings>(&key(&["simresult_path"]))
            .ok()
            .and_then(|s| s.values.into_iter().next())
            .map(PathBuf::from);
        let cell = id.rsplit_once('/').map(|(c, _)| c).unwrap_or(id);
        // A database of ISF folders names a folder: its copies name their files as they stand.
        let opened = source
            .as_ref()
            .filter(|p| p.is_file())
            .and_then(|p| Results::open(p, Some(cell)).ok());
        if let Some(p) = source.as_ref().filter(|p| !p.exists()) {
            tracing::warn!(
                "database {}: {}, which it was built from, is not there: the files its parameter \
                 copies name are looked up as they stand (name the parameter files with \
                 --cell-param and --network-param otherwise)",
                db_path.display(),
                p.display()
            );
        }
        if let Some(r) = opened {
            let r = rebuild(&r)?;
            cp = Some(r.cell_param.clone());
            np = Some(r.network_param.clone());
            rebuilt = Some(r);
        } else {
            let t: Table = db.get(&key(&["parameterfiles"])).map_err(|err| {
                anyhow::anyhow!(
                    "database {}: no parameter files ({err}); name them with --cell-param and \
                     --network-param",
                    db_path.display()
                )
            })?;
            let col = |name: &str| -> anyhow::Result<PathBuf> {
                let (Some(Column::Str(ids)), Some(Column::Str(paths))) =
                    (t.column("sim_trial_index"), t.column(name))
                else {
                    anyhow::bail!(
                        "database {}: parameterfiles has no text columns sim_trial_index and \
                         {name}",
                        db_path.display()
                    );
                };
                let k = ids.iter().position(|t| t == id).ok_or_else(|| {
                    anyhow::anyhow!(
                        "database {}: parameterfiles has no row for `{id}`",
                        db_path.display()
                    )
                })?;
                if paths[k].is_empty() {
                    anyhow::bail!(
                        "database {}: parameterfiles names no {name} for `{id}`; name the file \
                         with --{}",
                        db_path.display(),
                        if name.contains("neuron") {
                            "cell-param"
                        } else {
                            "network-param"
                        }
                    );
                }
                Ok(db_path.join(&paths[k]))
            };
            cp = Some(col("path_neuron")?);
            np = Some(col("path_network")?);
        }
    }
    let pick = |given: Option<PathBuf>, found: Option<PathBuf>| given.or(found).unwrap_or_default();
    Ok(StoredTrial {
        cell_param: pick(cell_param, cp),
        network_param: pick(network_param, np),
        activations: StoredActivations::Rows(activations),
        stored_soma,
        recorded_segments: None,
        numerics: rebuilt.as_ref().map(|r| r.numerics),
        mechanisms: rebuilt
            .as_ref()
            .map(|r| r.mechanisms.clone())
            .unwrap_or_default(),
        files: rebuilt.map(|r| r.dir),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recorded_paths_are_rebuilt_inside_the_root() {
        let root = Path::new("/r");
        let up: PathBuf = (0..UP_LEVELS).fold(root.join("rel"), |d, _| d.join("up"));
        assert_eq!(rebuilt_path(root, "model/a.hoc"), up.join("model/a.hoc"));
        assert_eq!(rebuilt_path(root, "./model/../b.syn"), up.join("b.syn"));
        assert_eq!(
            rebuilt_path(root, "../x/c.con"),
            up.parent().unwrap().join("x/c.con")
        );
        assert_eq!(
            rebuilt_path(root, "/data/d.param"),
            root.join("abs/data/d.param")
        );
        let mut v = serde_json::json!({"a": ["model/a.hoc", "other"], "b": {"c": "model/a.hoc"}});
        repoint(&mut v, &[("model/a.hoc".into(), PathBuf::from("/r/x"))]);
        assert_eq!(
            v,
            serde_json::json!({"a": ["/r/x", "other"], "b": {"c": "/r/x"}})
        );
    }
}
