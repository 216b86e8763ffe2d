//! What the charts draw, read from a results file (`/cells/<cell>`, `/spikes/<cell>`;
//! docs/formats.md) or from an ISF output folder (trace files, synapse activation and presynaptic
//! cells files): traces, soma spikes and one trial's synaptic activity per population.

use std::path::{Path, PathBuf};

use hdf5::types::VarLenUnicode;
use hdf5::{File, Group};
use isf_io::results_schema::{
    self as schema, attr, cell, cell_commit, spikes, CommitState, Ragged, PRESYNAPTIC_SPIKES,
    SYNAPSE_ACTIVATIONS,
};
use ndarray::s;

/// Voltage traces of some trials of one cell.
#[derive(Debug, Clone, Default)]
pub struct Traces {
    /// Sample times \[ms\].
    pub t_ms: Vec<f64>,
    /// Per trial: its name and soma trace \[mV\].
    pub soma: Vec<(String, Vec<f64>)>,
    /// Per recording site: its label and per trial its trace \[mV\] (trial order of `soma`).
    pub sites: Vec<(String, Vec<Vec<f64>>)>,
}

/// One trial's synaptic input: per population the event times (synapse releases or presynaptic
/// spikes), one row per synapse or presynaptic cell.
#[derive(Debug, Clone, Default)]
pub struct Activity {
    /// Population names.
    pub populations: Vec<String>,
    /// (population index, times \[ms\]) per synapse or cell.
    pub rows: Vec<(usize, Vec<f64>)>,
}

/// A results file opened for reading one cell.
pub struct Results {
    path: PathBuf,
    group: Group,
    file: File,
    cell: String,
    commit: [u64; 6],
}

/// A trial selection: `all`, or indices and ranges (`0,3,5-9`), of trials within the cell.
pub fn parse_trials(spec: &str, n: usize) -> anyhow::Result<Vec<usize>> {
    if spec == "all" {
        return Ok((0..n).collect());
    }
    let mut out = Vec::new();
    for part in spec.split(',') {
        let bad =
            || anyhow::anyhow!("--trials `{spec}`: `{part}` is not a trial index or range a-b");
        let (a, b) = match part.split_once('-') {
            Some((a, b)) => (
                a.trim().parse::<usize>().map_err(|_| bad())?,
                b.trim().parse::<usize>().map_err(|_| bad())?,
            ),
            None => {
                let a = part.trim().parse::<usize>().map_err(|_| bad())?;
                (a, a)
            }
        };
        if a > b || b >= n {
            anyhow::bail!(
                "--trials `{spec}`: `{part}` is outside the cell's {n} trials (0–{})",
                n.saturating_sub(1)
            );
        }
        out.extend(a..=b);
    }
    Ok(out)
}

impl Results {
    /// Opens `path` for `cell` (may be omitted when the file has one cell).
    pub fn open(path: &Path, cell_name: Option<&str>) -> anyhow::Result<Results> {
        let h5 = |e: hdf5::Error| anyhow::anyhow!("{}: {e}", path.display());
        let file = File::open(path).map_err(h5)?;
        let format: String = file
            .attr(attr::FORMAT)
            .and_then(|a| a.read_scalar::<VarLenUnicode>())
            .map(|s| s.as_str().to_string())
            .map_err(|_| {
                anyhow::anyhow!(
                    "{}: not an isf results file (no `format` attribute)",
                    path.display()
                )
            })?;
        if format != schema::FORMAT {
            anyhow::bail!(
                "{}: format `{format}`, expected `{}`",
                path.display(),
                schema::FORMAT
            );
        }
        let words: Vec<u64> = file
            .attr(attr::COMMIT_STATE)
            .and_then(|a| a.read_raw())
            .map_err(h5)?;
        let commit = CommitState::from_words(&words).ok_or_else(|| {
            anyhow::anyhow!(
                "{}: attribute {} is malformed",
                path.display(),
                attr::COMMIT_STATE
            )
        })?;
        let cells = file.group(schema::CELLS).map_err(h5)?;
        let names = cells.member_names().map_err(h5)?;
        let name = match cell_name {
            Some(n) if names.iter().any(|m| m == n) => n.to_string(),
            Some(n) => anyhow::bail!(
                "{}: no cell `{n}` (cells: {})",
                path.display(),
                names.join(", ")
            ),
            None if names.len() == 1 => names[0].clone(),
            None => anyhow::bail!(
                "{}: {} cells ({}); choose one with --cell",
                path.display(),
                names.len(),
                names.join(", ")
            ),
        };
        let group = cells.group(&name).map_err(h5)?;
        let id: u32 = group
            .attr(cell::CELL_ID)
            .and_then(|a| a.read_scalar())
            .map_err(h5)?;
        let c = *commit.cells.get(id as usize).ok_or_else(|| {
            anyhow::anyhow!(
                "{}: commit_state has no entry for cell {name}",
                path.display()
            )
        })?;
        Ok(Results {
            path: path.to_path_buf(),
            group,
            file,
            cell: name,
            commit: c,
        })
    }

    fn h5(&self) -> impl Fn(hdf5::Error) -> anyhow::Error + '_ {
        move |e| anyhow::anyhow!("{}: cells/{}: {e}", self.path.display(), self.cell)
    }

    /// The cell's name.
    pub fn cell(&self) -> &str {
        &self.cell
    }

    /// The file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The open file.
    pub fn file(&self) -> &File {
        &self.file
    }

    /// The cell's group `/cells/<cell>`.
    pub fn group(&self) -> &Group {
        &self.group
    }

    /// Committed trials of the cell.
    pub fn n_trials(&self) -> usize {
        self.commit[cell_commit::TRACE_ROWS] as usize
    }

    /// Soma traces (and the sites with `sites`) of `trials`.
    pub fn traces(&self, trials: &[usize], sites: bool) -> anyhow::Result<Traces> {
        let e = self.h5();
        let t_ms: Vec<f64> = self
            .group
            .dataset(cell::T_MS)
            .and_then(|d| d.read_raw())
            .map_err(&e)?;
        let rows = |ds: &hdf5::Dataset| -> anyhow::Result<Vec<Vec<f64>>> {
            trials
                .iter()
                .map(|&i| {
                    let r: Vec<f32> = ds.read_slice_1d(s![i, ..]).map_err(&e)?.to_vec();
                    Ok(r.into_iter().map(f64::from).collect())
                })
                .collect()
        };
        let soma_ds = self.group.dataset(cell::SOMA_VM).map_err(&e)?;
        let soma = trials
            .iter()
            .map(|i| format!("{}/{i:06}", self.cell))
            .zip(rows(&soma_ds)?)
            .collect();
        let mut out_sites = Vec::new();
        if sites {
            let labels: Vec<VarLenUnicode> = self
                .group
                .attr(cell::SITE_LABELS)
                .and_then(|a| a.read_raw())
                .map_err(&e)?;
            let g = self.group.group(cell::SITES).map_err(&e)?;
            for (k, l) in labels.iter().enumerate() {
                let ds = g
                    .dataset(&schema::site_dataset_name(k, l.as_str()))
                    .map_err(&e)?;
                out_sites.push((l.as_str().to_string(), rows(&ds)?));
            }
        }
        Ok(Traces {
            t_ms,
            soma,
            sites: out_sites,
        })
    }

    /// Soma spike times of every committed trial (index = trial within the cell).
    pub fn soma_spikes(&self) -> anyhow::Result<Vec<Vec<f64>>> {
        let e = self.h5();
        let g = self
            .file
            .group(schema::SPIKES)
            .and_then(|g| g.group(&self.cell))
            .map_err(&e)?;
        let n = self.commit[cell_commit::SOMA_SPIKES] as usize;
        let ts: Vec<f64> = g
            .dataset(spikes::TIMESTAMPS.name)
            .and_then(|d| d.read_slice_1d(s![..n]))
            .map_err(&e)?
            .to_vec();
        let ids: Vec<u64> = g
            .dataset(spikes::NODE_IDS.name)
            .and_then(|d| d.read_slice_1d(s![..n]))
            .map_err(&e)?
            .to_vec();
        let mut out = vec![Vec::new(); self.n_trials()];
        for (t, id) in ts.into_iter().zip(ids) {
            let v = out.get_mut(id as usize).ok_or_else(|| {
                anyhow::anyhow!(
                    "{}: spikes/{}: node id {id} is not a committed trial",
                    self.path.display(),
                    self.cell
                )
            })?;
            v.push(t);
        }
        Ok(out)
    }

    /// Synapse activations (`presynaptic = false`) or presynaptic spikes of trial `trial`.
    pub fn activity(&self, trial: usize, presynaptic: bool) -> anyhow::Result<Activity> {
        let (populations, rows) = self.activity_rows(trial, presynaptic)?;
        Ok(Activity {
            populations,
            rows: rows
                .into_iter()
                .map(|(p, _, times)| (p as usize, times))
                .collect(),
        })
    }

    /// The population names and, in stored order, (population index, synapse or presynaptic
    /// cell id, times \[ms\]) of trial `trial`'s synapse activations or presynaptic spikes.
    #[allow(clippy::type_complexity)]
    pub fn activity_rows(
        &self,
        trial: usize,
        presynaptic: bool,
    ) -> anyhow::Result<(Vec<String>, Vec<(u32, u32, Vec<f64>)>)> {
        let e = self.h5();
        let r: Ragged = if presynaptic {
            PRESYNAPTIC_SPIKES
        } else {
            SYNAPSE_ACTIVATIONS
        };
        if trial >= self.n_trials() {
            anyhow::bail!(
                "{}: cell {} has {} trials, not trial {trial}",
                self.path.display(),
                self.cell,
                self.n_trials()
            );
        }
        let populations: Vec<VarLenUnicode> = self
            .group
            .attr(cell::POPULATION_NAMES)
            .and_then(|a| a.read_raw())
            .map_err(&e)?;
        let g = self.group.group(r.group).map_err(&e)?;
        let one = |c: isf_io::results_schema::Column, i: usize| -> anyhow::Result<u64> {
            Ok(g.dataset(c.name)
                .and_then(|d| d.read_slice_1d::<u64, _>(s![i..i + 1]))
                .map_err(&e)?[0])
        };
        let start = one(Ragged::TRIAL_START, trial)? as usize;
        let count = one(Ragged::TRIAL_COUNT, trial)? as usize;
        let (rows_max, times_max) = (
            self.commit[r.rows_field] as usize,
            self.commit[r.times_field] as usize,
        );
        if start + count > rows_max {
            anyhow::bail!(
                "{}: cells/{}/{}: trial {trial}'s rows pass the committed {rows_max}",
                self.path.display(),
                self.cell,
                r.group
            );
        }
        let col = |c: isf_io::results_schema::Column| -> anyhow::Result<Vec<u64>> {
            Ok(g.dataset(c.name)
                .and_then(|d| d.read_slice_1d::<u64, _>(s![start..start + count]))
                .map_err(&e)?
                .to_vec())
        };
        let ids: Vec<u32> = g
            .dataset(r.id)
            .and_then(|d| d.read_slice_1d::<u32, _>(s![start..start + count]))
            .map_err(&e)?
            .to_vec();
        let pops: Vec<u32> = g
            .dataset(Ragged::POPULATION.name)
            .and_then(|d| d.read_slice_1d::<u32, _>(s![start..start + count]))
            .map_err(&e)?
            .to_vec();
        let (ts, tc) = (col(Ragged::TIMES_START)?, col(Ragged::TIMES_COUNT)?);
        let t0 = ts.first().copied().unwrap_or(0) as usize;
        let t1 = ts
            .iter()
            .zip(&tc)
            .map(|(a, b)| (a + b) as usize)
            .max()
            .unwrap_or(t0);
        if t1 > times_max {
            anyhow::bail!(
                "{}: cells/{}/{}: trial {trial}'s times pass the committed {times_max}",
                self.path.display(),
                self.cell,
                r.group
            );
        }
        let times: Vec<f64> = g
            .dataset(Ragged::TIMES_MS.name)
            .and_then(|d| d.read_slice_1d(s![t0..t1]))
            .map_err(&e)?
            .to_vec();
        let rows = pops
            .iter()
            .zip(&ids)
            .zip(ts.iter().zip(&tc))
            .map(|((&p, &id), (&a, &n))| {
                (
                    p,
                    id,
                    times[a as usize - t0..(a + n) as usize - t0].to_vec(),
                )
            })
            .collect();
        Ok((
            populations.iter().map(|p| p.as_str().to_string()).collect(),
            rows,
        ))
    }
}

/// Upward crossings of 0 mV: the first sample at or above 0 after one below (the sample's time).
pub fn spikes_of(t_ms: &[f64], v: &[f64]) -> Vec<f64> {
    (1..v.len().min(t_ms.len()))
        .filter(|&i| v[i - 1] < 0.0 && v[i] >= 0.0)
        .map(|i| t_ms[i])
        .collect()
}

/// An ISF output folder's trials: traces of `runs` (soma and every `*_vm_dend_traces.csv` site).
pub fn isf_folder_traces(dir: &Path, runs: &[usize]) -> anyhow::Result<Traces> {
    let names = folder_names(dir)?;
    let find = |suffix: &str| {
        names
            .iter()
            .filter(|n| n.ends_with(suffix))
            .cloned()
            .collect::<Vec<_>>()
    };
    let all = find("_vm_all_traces.csv");
    let Some(soma_file) = all.first() else {
        anyhow::bail!("{}: no *_vm_all_traces.csv in this folder", dir.display());
    };
    let mut traces = Traces::default();
    for &r in runs {
        let (_, t, v) = super::fullcell::read_trace_column(&dir.join(soma_file), r)?;
        traces.t_ms = t;
        traces.soma.push((format!("run {r:02}"), v));
    }
    let mut dend = find("_vm_dend_traces.csv");
    dend.sort();
    for f in dend {
        let label = f.trim_end_matches("_vm_dend_traces.csv").to_string();
        let mut per = Vec::new();
        for &r in runs {
            per.push(super::fullcell::read_trace_column(&dir.join(&f), r)?.2);
        }
        traces.sites.push((label, per));
    }
    Ok(traces)
}

/// An ISF output folder's trial `run`: synapse activations (`presynaptic = false`) or the spikes
/// of the presynaptic cells.
pub fn isf_folder_activity(dir: &Path, run: usize, presynaptic: bool) -> anyhow::Result<Activity> {
    let names = folder_names(dir)?;
    let suffix = if presynaptic {
        "_presynaptic_cells.csv"
    } else {
        "_synapses.csv"
    };
    let file = names
        .iter()
        .find(|n| {
            n.strip_prefix("simulation_run")
                .and_then(|s| s.strip_suffix(suffix))
                .and_then(|d| d.parse::<usize>().ok())
                == Some(run)
        })
        .ok_or_else(|| {
            anyhow::anyhow!(
                "{}: no simulation_run{run:04}{suffix} in this folder",
                dir.display()
            )
        })?;
    let path = dir.join(file);
    let rows: Vec<(String, Vec<f64>)> = if presynaptic {
        crate::output::isf_files::read_presynaptic_cells_file(&path)?
            .into_iter()
            .map(|r| (r.population, r.times_ms))
            .collect()
    } else {
        crate::output::isf_files::read_synapse_activation_file(&path)?
            .into_iter()
            .map(|r| (r.population, r.times_ms))
            .collect()
    };
    let mut act = Activity::default();
    for (p, times) in rows {
        let i = match act.populations.iter().position(|q| *q == p) {
            Some(i) => i,
            None => {
                act.populations.push(p);
                act.populations.len() - 1
            }
        };
        act.rows.push((i, times));
    }
    Ok(act)
}

fn folder_names(dir: &Path) -> anyhow::Result<Vec<String>> {
    Ok(std::fs::read_dir(dir)
        .map_err(|e| anyhow::anyhow!("cannot read the ISF output folder {}: {e}", dir.display()))?
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .collect())
}
