//! `isf db init RESULTS.h5 DB`: a database from isf's SPMD results file (layout: the "Results
//! file" section of the top-level README, format `isf-results` versions 1 and 2).
//!
//! Trial ids are `<cell group name>/<trial index within the cell, 6 digits>`, which equals the id
//! `isf db init-isf` gives to trial `simulation_runNNNN` of an ISF output folder named like the
//! cell, so both importers give the same keys for the same trials. Only rows below the file's
//! `commit_state` are read (a killed run keeps its complete batches). Traces are stored as f32 in
//! the results file and widened exactly to f64 here.
//!
//! Synapse positions (soma distance, section and point ids, dendrite label) come from the cell's
//! synapse table `synapses/` (version 2), so `synapse_activation` equals the one `init-isf` reads
//! from ISF's `simulation_runNNNN_synapses.csv`. A version-1 file has no table: there
//! `soma_distance_um` is NaN, `section_id` and `section_pt_id` are −1 and the label is `unknown`.
//! The simulated parameter files (`parameterfiles/`, version 2) give the `parameterfiles` key and
//! its managed folders, as ISF's parameter copies do for `init-isf`. EXC/INH labels come from the receptors of a network parameter file stored in `/provenance/files`
//! (else from cell-type names, see [`crate::analysis::binning`]).

use crate::db::payload::write_trace_rows;
use crate::db::{
    h5, h5_err, key, ActivationsKind, Column, Database, DbError, KeyMeta, Source, Strings, Table,
    Traces,
};
use crate::import::{
    assemble_activations, build_atomically, ei_from_network_text, write_derived,
    write_parameterfiles, ActivationRows, ImportError, ImportOptions, ImportSummary, ParamFiles,
    Result,
};
use crate::progress;
use hdf5::types::VarLenUnicode;
use hdf5::{File, Group};
use isf_io::results_schema::{
    self as schema, attr, cell, provenance as pv, synapses as sy, CommitState, Ragged,
};
use ndarray::{s, Array2};
use std::collections::HashMap;
use std::path::Path;

/// Per-cell committed sizes in `commit_state`, after the two global counters.
const CELL_FIELDS: usize = schema::CELL_FIELDS.len();

/// Refuses to read `n` elements of `elem` bytes from dataset `what` when they cannot be stored in
/// a file of `file_len` bytes (isf writes results uncompressed), so that a damaged count fails here
/// instead of as an allocation failure.
fn check_fits(path: &Path, file_len: u64, what: &str, n: u64, elem: u64) -> Result<()> {
    match n.checked_mul(elem) {
        Some(b) if b <= file_len => Ok(()),
        _ => Err(bad(
            path,
            format!(
                "{what}: {n} elements of {elem} bytes do not fit in the file ({file_len} bytes)"
            ),
        )),
    }
}

fn bad(path: &Path, msg: impl Into<String>) -> ImportError {
    ImportError::Results {
        path: path.to_path_buf(),
        msg: msg.into(),
    }
}

struct CellInfo {
    name: String,
    group: Group,
    n_trace_rows: usize,
    n_syn_rows: usize,
    n_syn_times: usize,
    n_pre_rows: usize,
    n_pre_times: usize,
    populations: Vec<String>,
    sites: Vec<String>,
    positions: Option<Positions>,
    /// (name, bytes) of `parameterfiles/`.
    parameter_files: Vec<(String, Vec<u8>)>,
}

/// A cell's synapse table, indexed by (population code, synapse id).
struct Positions {
    row: HashMap<(u32, u32), usize>,
    soma_distance_um: Vec<f64>,
    section_id: Vec<u32>,
    section_pt_id: Vec<u32>,
    label: Vec<u32>,
    label_names: Vec<String>,
}

impl Positions {
    fn read(path: &Path, g: &Group, file_len: u64) -> Result<Positions> {
        let e = |source| DbError::Hdf5 {
            path: path.to_path_buf(),
            source,
        };
        for m in g.member_names().map_err(e)? {
            let n = g.dataset(&m).map_err(e)?.size() as u64;
            check_fits(path, file_len, &format!("{}/{m}", g.name()), n, 4)?;
        }
        let population: Vec<u32> = h5::read_1d(g, sy::POPULATION.name).map_err(e)?;
        let synapse_id: Vec<u32> = h5::read_1d(g, sy::SYNAPSE_ID.name).map_err(e)?;
        let p = Positions {
            row: population
                .iter()
                .zip(&synapse_id)
                .enumerate()
                .map(|(i, (&p, &s))| ((p, s), i))
                .collect(),
            soma_distance_um: h5::read_1d(g, sy::SOMA_DISTANCE_UM.name).map_err(e)?,
            section_id: h5::read_1d(g, sy::SECTION_ID.name).map_err(e)?,
            section_pt_id: h5::read_1d(g, sy::SECTION_PT_ID.name).map_err(e)?,
            label: h5::read_1d(g, sy::DENDRITE_LABEL.name).map_err(e)?,
            label_names: attr_strings(g, sy::LABEL_NAMES).map_err(e)?,
        };
        let n = population.len();
        if [
            synapse_id.len(),
            p.soma_distance_um.len(),
            p.section_id.len(),
            p.section_pt_id.len(),
            p.label.len(),
        ]
        .iter()
        .any(|&m| m != n)
            || p.row.len() != n
        {
            return Err(bad(
                path,
                format!(
                    "{}: columns differ in length or a synapse appears twice",
                    g.name()
                ),
            ));
        }
        if let Some(&l) = p.label.iter().find(|&&l| l as usize >= p.label_names.len()) {
            return Err(bad(
                path,
                format!("{}: dendrite label index {l} out of range", g.name()),
            ));
        }
        Ok(p)
    }
}

fn attr_strings(g: &Group, name: &str) -> hdf5::Result<Vec<String>> {
    let v: Vec<VarLenUnicode> = g.attr(name)?.read_raw()?;
    Ok(v.into_iter().map(|s| s.as_str().to_string()).collect())
}

/// Reads one ragged activation group of a cell: rows of each committed trial, sorted as ISF
/// writes them (population name by code point, then ID). The committed sizes are
/// (trials, rows, times).
/// `file` is the results file's path and length.
fn read_ragged(
    (path, file_len): (&Path, u64),
    g: &Group,
    id_name: &str,
    (n_trials, n_rows, n_times): (usize, usize, usize),
    populations: &[String],
    kind: ActivationsKind,
    positions: Option<&Positions>,
) -> Result<Vec<ActivationRows>> {
    let e = |source| DbError::Hdf5 {
        path: path.to_path_buf(),
        source,
    };
    let rd = |name: &str, n: usize| -> Result<Vec<u64>> {
        let ds = g.dataset(name).map_err(e)?;
        check_fits(path, file_len, &format!("{}/{name}", g.name()), n as u64, 8)?;
        if ds.size() < n {
            return Err(bad(
                path,
                format!(
                    "{}/{name} has {} rows, commit_state says {n}",
                    g.name(),
                    ds.size()
                ),
            ));
        }
        if n == 0 {
            return Ok(vec![]);
        }
        Ok(ds.read_slice_1d::<u64, _>(s![..n]).map_err(e)?.to_vec())
    };
    let trial_start = rd(Ragged::TRIAL_START.name, n_trials)?;
    let trial_count = rd(Ragged::TRIAL_COUNT.name, n_trials)?;
    let times_start = rd(Ragged::TIMES_START.name, n_rows)?;
    let times_count = rd(Ragged::TIMES_COUNT.name, n_rows)?;
    let rd32 = |name: &str| -> Result<Vec<u32>> {
        let ds = g.dataset(name).map_err(e)?;
        check_fits(
            path,
            file_len,
            &format!("{}/{name}", g.name()),
            n_rows as u64,
            4,
        )?;
        if ds.size() < n_rows {
            return Err(bad(
                path,
                format!("{}/{name} shorter than commit_state", g.name()),
            ));
        }
        if n_rows == 0 {
            return Ok(vec![]);
        }
        Ok(ds
            .read_slice_1d::<u32, _>(s![..n_rows])
            .map_err(e)?
            .to_vec())
    };
    let pop = rd32(Ragged::POPULATION.name)?;
    let ids = rd32(id_name)?;
    check_fits(
        path,
        file_len,
        &format!("{}/{}", g.name(), Ragged::TIMES_MS.name),
        n_times as u64,
        8,
    )?;
    let times: Vec<f64> = if n_times == 0 {
        vec![]
    } else {
        g.dataset(Ragged::TIMES_MS.name)
            .and_then(|d| d.read_slice_1d::<f64, _>(s![..n_times]))
            .map_err(e)?
            .to_vec()
    };
    // The rows of consecutive trials and the times of consecutive rows are contiguous, in order
    // and together exactly the committed extent: anything else (offsets that overflow, overlap,
    // leave gaps or point beyond the committed data) is a damaged file, not data.
    let mut next_row = 0u64;
    let mut next_time = 0u64;
    let mut out = Vec::with_capacity(n_trials);
    for t in 0..n_trials {
        let (r0, n) = (trial_start[t], trial_count[t]);
        let end = r0
            .checked_add(n)
            .filter(|&e| r0 == next_row && e <= n_rows as u64);
        let Some(end) = end else {
            return Err(bad(
                path,
                format!(
                    "{}/trial_start, trial_count: trial {t} has rows {r0} + {n}, expected to \
                     start at row {next_row} and end by the committed {n_rows}",
                    g.name()
                ),
            ));
        };
        next_row = end;
        let (r0, end) = (r0 as usize, end as usize);
        let mut rows: Vec<usize> = (r0..end).collect();
        for &r in &rows {
            if pop[r] as usize >= populations.len() {
                return Err(bad(
                    path,
                    format!(
                        "{}/population: row {r}: population index {} out of range ({} populations)",
                        g.name(),
                        pop[r],
                        populations.len()
                    ),
                ));
            }
            let (a, n) = (times_start[r], times_count[r]);
            let end = a
                .checked_add(n)
                .filter(|&e| a == next_time && e <= n_times as u64);
            let Some(end) = end else {
                return Err(bad(
                    path,
                    format!(
                        "{}/times_start, times_count: row {r} has times {a} + {n}, expected to \
                         start at {next_time} and end by the committed {n_times}",
                        g.name()
                    ),
                ));
            };
            next_time = end;
        }
        rows.sort_by(|&a, &b| {
            populations[pop[a] as usize]
                .cmp(&populations[pop[b] as usize])
                .then(ids[a].cmp(&ids[b]))
        });
        let mut ar = ActivationRows::default();
        for r in rows {
            ar.pop.push(populations[pop[r] as usize].clone());
            ar.id.push(i64::from(ids[r]));
            if kind == ActivationsKind::Synapse {
                match positions {
                    Some(p) => {
                        let Some(&i) = p.row.get(&(pop[r], ids[r])) else {
                            return Err(bad(
                                path,
                                format!(
                                    "{}: synapse {} of population `{}` is not in the cell's \
                                     synapse table",
                                    g.name(),
                                    ids[r],
                                    populations[pop[r] as usize]
                                ),
                            ));
                        };
                        ar.soma_distance_um.push(p.soma_distance_um[i]);
                        ar.section_id.push(i64::from(p.section_id[i]));
                        ar.section_pt_id.push(i64::from(p.section_pt_id[i]));
                        ar.label.push(p.label_names[p.label[i] as usize].clone());
                    }
                    None => {
                        ar.soma_distance_um.push(f64::NAN);
                        ar.section_id.push(-1);
                        ar.section_pt_id.push(-1);
                        ar.label.push("unknown".into());
                    }
                }
            }
            let (a, n) = (times_start[r] as usize, times_count[r] as usize);
            ar.times.push(times[a..a + n].to_vec());
        }
        out.push(ar);
    }
    if next_row != n_rows as u64 || next_time != n_times as u64 {
        return Err(bad(
            path,
            format!(
                "{}: the committed trials use {next_row} rows and {next_time} times, but \
                 commit_state says {n_rows} and {n_times}",
                g.name()
            ),
        ));
    }
    Ok(out)
}

/// Builds a database from a results file. See the module docs.
pub fn init_results(results: &Path, db_path: &Path, opts: &ImportOptions) -> Result<ImportSummary> {
    check_global_heaps(results)?;
    let f = File::open(results).map_err(h5_err(results))?;
    let e = |source| DbError::Hdf5 {
        path: results.to_path_buf(),
        source,
    };
    let format: String = f
        .attr(attr::FORMAT)
        .and_then(|a| a.read_scalar::<VarLenUnicode>())
        .map(|s| s.as_str().to_string())
        .map_err(|_| bad(results, "not an isf results file (no `format` attribute)"))?;
    let version: u32 = f
        .attr(attr::FORMAT_VERSION)
        .and_then(|a| a.read_scalar())
        .map_err(e)?;
    if format != schema::FORMAT || version > schema::FORMAT_VERSION {
        return Err(bad(
            results,
            format!(
                "format `{format}` version {version} is not supported (expected {} ≤ {})",
                schema::FORMAT,
                schema::FORMAT_VERSION
            ),
        ));
    }
    let file_len = std::fs::metadata(results)
        .map_err(crate::db::io_err(results))?
        .len();
    let words: Vec<u64> = f
        .attr(attr::COMMIT_STATE)
        .and_then(|a| a.read_raw())
        .map_err(e)?;
    let commit = CommitState::from_words(&words).ok_or_else(|| {
        bad(
            results,
            format!(
                "attribute {} has {} entries, expected 2 + {CELL_FIELDS} per cell",
                attr::COMMIT_STATE,
                words.len()
            ),
        )
    })?;
    // A missing `n_trials_total` (files written before it existed) cannot tell a killed run from
    // a complete one; the per-cell `n_trials` attributes are checked below where present.
    let n_trials_total: Option<u64> = f
        .attr(attr::N_TRIALS_TOTAL)
        .ok()
        .map(|a| a.read_scalar())
        .transpose()
        .map_err(e)?;
    let cells_g = f.group(schema::CELLS).map_err(e)?;
    let mut cells = Vec::new();
    let mut seen_ids = std::collections::BTreeSet::new();
    for name in cells_g.member_names().map_err(e)? {
        let g = cells_g.group(&name).map_err(e)?;
        let cell_id: u32 = g
            .attr(cell::CELL_ID)
            .and_then(|a| a.read_scalar())
            .map_err(e)?;
        if !seen_ids.insert(cell_id) {
            return Err(bad(
                results,
                format!("cells/{name}: cell_id {cell_id} is used by another cell too"),
            ));
        }
        let c = commit.cells.get(cell_id as usize).ok_or_else(|| {
            bad(
                results,
                format!("commit_state has no entry for cell {cell_id} ({name})"),
            )
        })?;
        let declared: Option<u64> = g
            .attr(cell::N_TRIALS)
            .ok()
            .map(|a| a.read_scalar())
            .transpose()
            .map_err(e)?;
        if let Some(nt) = declared {
            if c[0] > nt {
                return Err(bad(
                    results,
                    format!(
                        "commit_state says {} trials of cell {name} are complete, but the cell \
                         has {nt} (attribute n_trials)",
                        c[0]
                    ),
                ));
            }
        }
        // Every committed count must fit its dataset and the file before anything is allocated.
        let rows_of = |ds_path: &str| -> Result<u64> {
            let ds = g.dataset(ds_path).map_err(e)?;
            Ok(ds.shape().first().copied().unwrap_or(0) as u64)
        };
        let mut need = vec![(cell::SOMA_VM.to_string(), c[0])];
        for r in [schema::SYNAPSE_ACTIVATIONS, schema::PRESYNAPTIC_SPIKES] {
            let (rows, times) = (c[r.rows_field], c[r.times_field]);
            for (ds, n) in [
                Ragged::TRIAL_COUNT,
                Ragged::POPULATION,
                Ragged::TIMES_COUNT,
                Ragged::TIMES_MS,
            ]
            .iter()
            .zip([c[0], rows, rows, times])
            {
                need.push((format!("{}/{}", r.group, ds.name), n));
            }
        }
        for (ds, n) in need {
            let have = rows_of(&ds)?;
            if n > have {
                return Err(bad(
                    results,
                    format!(
                        "cells/{name}/{ds}: commit_state says {n} rows are committed, the \
                         dataset has {have}"
                    ),
                ));
            }
            check_fits(results, file_len, &format!("cells/{name}/{ds}"), n, 4)?;
        }
        let positions = match g.group(cell::SYNAPSES) {
            Ok(sg) => Some(Positions::read(results, &sg, file_len)?),
            Err(_) => None,
        };
        let mut parameter_files = Vec::new();
        if let Ok(pg) = g.group(cell::PARAMETER_FILES) {
            for m in pg.member_names().map_err(e)? {
                let ds = pg.dataset(&m).map_err(e)?;
                check_fits(
                    results,
                    file_len,
                    &format!("cells/{name}/{}/{m}", cell::PARAMETER_FILES),
                    ds.size() as u64,
                    1,
                )?;
                let bytes: Vec<u8> = ds.read_raw().map_err(e)?;
                parameter_files.push((m, bytes));
            }
        }
        let n_trials = declared;
        cells.push((
            cell_id,
            n_trials,
            CellInfo {
                positions,
                parameter_files,
                populations: attr_strings(&g, cell::POPULATION_NAMES).map_err(e)?,
                sites: attr_strings(&g, cell::SITE_LABELS).map_err(e)?,
                name,
                group: g,
                n_trace_rows: c[0] as usize,
                n_syn_rows: c[1] as usize,
                n_syn_times: c[2] as usize,
                n_pre_rows: c[3] as usize,
                n_pre_times: c[4] as usize,
            },
        ));
    }
    let committed: u64 = cells.iter().map(|(_, _, c)| c.n_trace_rows as u64).sum();
    if committed != commit.trials {
        return Err(bad(
            results,
            format!(
                "commit_state says {} trials are complete, but its per-cell counts add up to \
                 {committed}",
                commit.trials
            ),
        ));
    }
    let expected = n_trials_total.or_else(|| cells.iter().map(|(_, n, _)| *n).sum::<Option<u64>>());
    let incomplete = expected.filter(|&n| committed < n);
    if let Some(total) = incomplete {
        if !opts.allow_incomplete {
            return Err(bad(
                results,
                format!(
                    "the run is incomplete: {committed} of {total} trials are committed (was it \
                     killed? `isf simulate --resume` completes it); pass --allow-incomplete to \
                     build a database of the committed trials only"
                ),
            ));
        }
        tracing::warn!(
            "{}: incomplete run: building a database of {committed} of {total} trials \
             (--allow-incomplete)",
            results.display()
        );
    }
    let mut cells: Vec<(u32, CellInfo)> = cells.into_iter().map(|(i, _, c)| (i, c)).collect();
    cells.sort_by_key(|(id, _)| *id);
    let cells: Vec<CellInfo> = cells.into_iter().map(|(_, c)| c).collect();
    if cells.is_empty() {
        return Err(bad(results, "no cells"));
    }
    // One time axis for the whole database (as for ISF folders).
    for c in &cells {
        let n = c.group.dataset(cell::T_MS).map_err(e)?.size() as u64;
        check_fits(
            results,
            file_len,
            &format!("cells/{}/{}", c.name, cell::T_MS),
            n,
            8,
        )?;
    }
    let t_ms: Vec<f64> = h5::read_1d(&cells[0].group, cell::T_MS).map_err(e)?;
    for c in &cells[1..] {
        let t: Vec<f64> = h5::read_1d(&c.group, cell::T_MS).map_err(e)?;
        if t != t_ms {
            return Err(bad(
                results,
                format!(
                    "cell {} has a different time axis; import cells separately",
                    c.name
                ),
            ));
        }
    }
    let trial_ids: Vec<String> = cells
        .iter()
        .flat_map(|c| (0..c.n_trace_rows).map(move |i| format!("{}/{i:06}", c.name)))
        .collect();
    let n = trial_ids.len();
    let source = Source::of_file(results)?;
    // EXC/INH from a network parameter file kept in the provenance.
    let mut ei = HashMap::new();
    if let Ok(files) = f.group(schema::PROVENANCE).and_then(|p| p.group(pv::FILES)) {
        for m in files.member_names().unwrap_or_default() {
            let fits = files
                .dataset(&m)
                .is_ok_and(|d| (d.size() as u64) <= file_len);
            if !fits {
                continue;
            }
            if let Ok(bytes) = files.dataset(&m).and_then(|d| d.read_raw::<u8>()) {
                if let Ok(text) = std::str::from_utf8(&bytes) {
                    for (k, v) in ei_from_network_text(text) {
                        ei.entry(k).or_insert(v);
                    }
                }
            }
        }
    }

    build_atomically(db_path, opts.overwrite, |db: &Database| {
        let meta = |desc: &str| {
            let m = KeyMeta::new("", desc).with_sources(vec![source.clone()]);
            match incomplete {
                Some(total) => m.param(
                    "incomplete_run",
                    format!("{committed} of {total} trials (built with --allow-incomplete)"),
                ),
                None => m,
            }
        };
        db.set(
            &key(&["simresult_path"]),
            &Strings {
                values: vec![source.path.clone()],
            },
            meta("the results file this database was built from"),
        )?;
        db.set(
            &key(&["filelist"]),
            &Strings {
                values: vec![source.path.clone()],
            },
            meta("the results file, as `init-isf` lists the trace files it read"),
        )?;
        db.set(
            &key(&["sim_trial_index"]),
            &Strings {
                values: trial_ids.clone(),
            },
            meta("trial ids `<cell>/<trial index within the cell, 6 digits>`"),
        )?;
        let col = |f: &dyn Fn(&CellInfo, usize) -> String| {
            Column::Str(
                cells
                    .iter()
                    .flat_map(|c| (0..c.n_trace_rows).map(move |i| f(c, i)))
                    .collect(),
            )
        };
        let fname = results
            .file_name()
            .unwrap_or_default()
            .to_string_lossy()
            .into_owned();
        let table = Table {
            columns: vec![
                ("sim_trial_index".into(), Column::Str(trial_ids.clone())),
                ("path".into(), col(&|c, _| c.name.clone())),
                ("trialnr".into(), col(&|_, i| format!("{i:06}"))),
                (
                    "voltage_traces_file_name".into(),
                    col(&|_, _| fname.clone()),
                ),
                ("synapses_file_name".into(), col(&|_, _| String::new())),
                ("cells_file_name".into(), col(&|_, _| String::new())),
            ],
        };
        db.set(
            &key(&["metadata"]),
            &table,
            meta("per-trial origin: cell group, trial index, results file"),
        )?;

        // Traces: soma, then each recording site present in every cell.
        // `ds_path` names the dataset in each cell's group.
        let write_traces = |target: &Database,
                            k: &str,
                            desc: &str,
                            ds_path: &dyn Fn(&CellInfo) -> String|
         -> Result<()> {
            let pb = progress::bar(n as u64, k);
            let m = KeyMeta {
                kind: <Traces as crate::db::Payload>::KIND.into(),
                ..meta(desc).param("units", "mV")
            };
            target.write_with(k, &m, |out| {
                let ds =
                    Traces::create_streaming(out, &trial_ids, &t_ms).map_err(h5_err(results))?;
                let mut row = 0;
                for c in &cells {
                    let ds_path = ds_path(c);
                    let src = c.group.dataset(&ds_path).map_err(h5_err(results))?;
                    let shape = src.shape();
                    if shape.len() != 2 || shape[0] < c.n_trace_rows || shape[1] != t_ms.len() {
                        return Err(DbError::Malformed {
                            path: results.to_path_buf(),
                            msg: format!(
                                "{}/{ds_path}: shape {shape:?}, expected ≥{} × {}",
                                c.name,
                                c.n_trace_rows,
                                t_ms.len()
                            ),
                        });
                    }
                    for r0 in (0..c.n_trace_rows).step_by(256) {
                        crate::db::temp::check_interrupt()?;
                        let r1 = (r0 + 256).min(c.n_trace_rows);
                        let block: Array2<f32> =
                            src.read_slice_2d(s![r0..r1, ..]).map_err(h5_err(results))?;
                        write_trace_rows(&ds, row, &block.mapv(f64::from))
                            .map_err(h5_err(results))?;
                        row += r1 - r0;
                        pb.inc((r1 - r0) as u64);
                    }
                }
                Ok(())
            })?;
            pb.finish_and_clear();
            Ok(())
        };
        write_traces(
            db,
            "voltage_traces",
            "somatic membrane potential per trial [mV]",
            &|_| cell::SOMA_VM.to_string(),
        )?;
        let common_sites: Vec<&String> = cells[0]
            .sites
            .iter()
            .filter(|s| cells.iter().all(|c| c.sites.contains(s)))
            .collect();
        if !common_sites.is_empty() {
            let sub = db.create_sub_db("dendritic_recordings")?;
            for label in common_sites {
                crate::db::validate_key_element(label)?;
                write_traces(
                    &sub,
                    label,
                    &format!("membrane potential at recording site {label} [mV]"),
                    &|c| {
                        let i = c.sites.iter().position(|s| s == label).unwrap_or_default();
                        format!("{}/{}", cell::SITES, schema::site_dataset_name(i, label))
                    },
                )?;
            }
        }

        for (kind, k, ragged, desc) in [
            (
                ActivationsKind::Synapse,
                "synapse_activation",
                schema::SYNAPSE_ACTIVATIONS,
                "synapse release times per active synapse and trial [ms]",
            ),
            (
                ActivationsKind::Cell,
                "cell_activation",
                schema::PRESYNAPTIC_SPIKES,
                "presynaptic spike times per spiking cell and trial [ms]",
            ),
        ] {
            let mut rows = Vec::with_capacity(n);
            for c in &cells {
                let g = c.group.group(ragged.group).map_err(e)?;
                let (nr, nt) = match kind {
                    ActivationsKind::Synapse => (c.n_syn_rows, c.n_syn_times),
                    ActivationsKind::Cell => (c.n_pre_rows, c.n_pre_times),
                };
                rows.extend(read_ragged(
                    (results, file_len),
                    &g,
                    ragged.id,
                    (c.n_trace_rows, nr, nt),
                    &c.populations,
                    kind,
                    c.positions.as_ref(),
                )?);
            }
            let a = assemble_activations(kind, trial_ids.clone(), rows, &ei);
            let mut m = meta(desc).param("EI_rule", crate::import::EI_RULE);
            if kind == ActivationsKind::Synapse && cells.iter().any(|c| c.positions.is_none()) {
                m = m.param(
                    "synapse_positions",
                    "not in the results file (format version 1): soma_distance_um NaN, section ids −1, label `unknown`",
                );
            }
            db.set(&key(&[k]), &a, m)?;
        }
        // Parameter files, as ISF's copies give them to `init-isf`: one neuron and one network
        // file per cell, shared by all its trials.
        if cells.iter().all(|c| !c.parameter_files.is_empty()) {
            let mut pf = ParamFiles::default();
            for c in &cells {
                let mut add = |name: &str| {
                    c.parameter_files
                        .iter()
                        .find(|(n, _)| n == name)
                        .map(|(n, bytes)| {
                            let src = format!(
                                "{}#/cells/{}/parameterfiles/{n}",
                                results.display(),
                                c.name
                            );
                            pf.files.push((src.into(), bytes.clone()));
                            pf.files.len() - 1
                        })
                };
                let trial = (add("neuron_model.param"), add("network_model.param"));
                pf.per_trial
                    .extend(std::iter::repeat_n(trial, c.n_trace_rows));
            }
            write_parameterfiles(db, &trial_ids, &pf)?;
        }
        write_derived(db, opts)?;
        Ok(n)
    })
}

/// Refuses a file with a damaged global-heap collection before libhdf5 reads it. Variable-length
/// strings (the results file's string attributes) live in these collections, which carry no
/// checksum in any HDF5 format, and libhdf5 1.10 loops forever on a collection whose free-space
/// object (index 0) has size 0 before the collection's end (e.g. a zeroed block). A collection
/// is `GCOL`, version 1, three zero bytes, its size (u64 LE, header included), then objects of
/// (index u16, references u16, 4 reserved bytes, size u64, data padded to 8 bytes); the
/// free-space object's size is what remains of the collection. Only a sequence that starts like
/// a collection header and lies inside the file is examined, so trace data cannot be mistaken
/// for one in practice.
fn check_global_heaps(path: &Path) -> Result<()> {
    use std::io::Read;
    const HEADER: &[u8] = b"GCOL\x01\x00\x00\x00";
    const BLOCK: usize = 16 << 20;
    let mut file = std::fs::File::open(path).map_err(crate::db::io_err(path))?;
    let len = file.metadata().map_err(crate::db::io_err(path))?.len();
    let finder = memchr::memmem::Finder::new(HEADER);
    // Blocks overlap by a collection's minimum size, so every header is found with the 4096
    // bytes that follow it (larger collections are read again from the file).
    let mut buf = vec![0u8; BLOCK + 4096];
    let mut start = 0u64;
    let mut carry = 0usize;
    loop {
        let n = read_full(&mut file, &mut buf[carry..]).map_err(crate::db::io_err(path))?;
        let have = carry + n;
        for at in finder.find_iter(&buf[..have]) {
            if at + 16 > have {
                continue;
            }
            let offset = start + at as u64;
            let size = u64::from_le_bytes(buf[at + 8..at + 16].try_into().unwrap_or_default());
            if size < 4096 || offset.checked_add(size).is_none_or(|end| end > len) {
                continue;
            }
            let collection = if at + size as usize <= have {
                buf[at..at + size as usize].to_vec()
            } else {
                let mut c = vec![0u8; size.min(1 << 30) as usize];
                let mut f = std::fs::File::open(path).map_err(crate::db::io_err(path))?;
                std::io::Seek::seek(&mut f, std::io::SeekFrom::Start(offset))
                    .map_err(crate::db::io_err(path))?;
                f.read_exact(&mut c).map_err(crate::db::io_err(path))?;
                c
            };
            if let Some(msg) = heap_damage(&collection) {
                return Err(bad(
                    path,
                    format!("damaged global heap at byte {offset}: {msg}"),
                ));
            }
        }
        if n == 0 {
            return Ok(());
        }
        let keep = have.min(4096);
        buf.copy_within(have - keep..have, 0);
        start += (have - keep) as u64;
        carry = keep;
    }
}

/// What is wrong with the global-heap collection `c` (header included), if anything.
fn heap_damage(c: &[u8]) -> Option<String> {
    let mut q = 16usize;
    while q + 16 <= c.len() {
        let index = u16::from_le_bytes([c[q], c[q + 1]]);
        let size = u64::from_le_bytes(c[q + 8..q + 16].try_into().unwrap_or_default());
        if index == 0 {
            return (size != (c.len() - q) as u64).then(|| {
                format!(
                    "its free space at +{q} claims {size} bytes where {} remain",
                    c.len() - q
                )
            });
        }
        let step = size
            .div_ceil(8)
            .checked_mul(8)
            .and_then(|s| s.checked_add(16));
        match step {
            Some(s) if s <= (c.len() - q) as u64 => q += s as usize,
            _ => return Some(format!("object {index} at +{q} overruns the collection")),
        }
    }
    None
}

/// Reads until `buf` is full or the file ends; the number of bytes read.
fn read_full(f: &mut std::fs::File, buf: &mut [u8]) -> std::io::Result<usize> {
    use std::io::Read;
    let mut n = 0;
    while n < buf.len() {
        match f.read(&mut buf[n..])? {
            0 => break,
            k => n += k,
        }
    }
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::heap_damage;

    /// A 4096-byte collection holding objects of `sizes`, then its free space.
    fn collection(sizes: &[u64]) -> Vec<u8> {
        let mut c = b"GCOL\x01\x00\x00\x00".to_vec();
        c.extend_from_slice(&4096u64.to_le_bytes());
        for (i, &s) in sizes.iter().enumerate() {
            c.extend_from_slice(&(i as u16 + 1).to_le_bytes());
            c.extend_from_slice(&[0; 6]);
            c.extend_from_slice(&s.to_le_bytes());
            c.resize(c.len() + s.div_ceil(8) as usize * 8, b'x');
        }
        let free = 4096 - c.len() as u64;
        c.extend_from_slice(&[0; 8]);
        c.extend_from_slice(&free.to_le_bytes());
        c.resize(4096, 0);
        c
    }

    #[test]
    fn a_zeroed_global_heap_block_is_found() {
        let good = collection(&[11, 21, 24]);
        assert_eq!(heap_damage(&good), None);
        let mut zeroed = good.clone();
        zeroed[40..200].fill(0);
        assert!(heap_damage(&zeroed).is_some());
        let mut overrun = good;
        overrun[24..32].copy_from_slice(&u64::MAX.to_le_bytes());
        assert!(heap_damage(&overrun).is_some());
    }
}
