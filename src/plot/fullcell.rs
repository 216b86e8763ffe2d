//! Full-cell recording of a stored trial: the trial's saved synapse activations replayed on its
//! cell (the recipe's replay path, as ISF's `simtrial_to_cell_object` re-runs a database trial)
//! with the membrane potential of every segment recorded, and the re-simulated soma trace
//! compared with the stored one.

use std::path::{Path, PathBuf};

use anyhow::Context as _;

use crate::cell::CellTemplate;
use crate::mechanisms::Numerics;
use crate::output::SynapseActivationRow;
use crate::recipe::{Inputs, Probes, Recipe};

/// A stored trial to re-simulate: its cell, network (receptors and weights) and saved synapse
/// activations, and optionally its stored soma trace to compare with.
#[derive(Debug, Clone)]
pub struct StoredTrial {
    /// Cell parameter file.
    pub cell_param: PathBuf,
    /// Network parameter file.
    pub network_param: PathBuf,
    /// ISF synapse activation file of the trial.
    pub synapses: PathBuf,
    /// The stored soma trace: (what it is, t \[ms\], v \[mV\]).
    pub stored_soma: Option<(String, Vec<f64>, Vec<f64>)>,
}

/// One ISF output folder's trial: `simulation_run<N>_synapses.csv` (4 or 7 digits) and the soma
/// trace `Vm run <N>` of `*_vm_all_traces.csv` when the folder has it. The parameter files default
/// to the folder's `*_neuron_model.param` / `*_network_model.param` copies.
pub fn isf_folder_trial(
    dir: &Path,
    run: usize,
    cell_param: Option<PathBuf>,
    network_param: Option<PathBuf>,
) -> anyhow::Result<StoredTrial> {
    let names: Vec<String> = std::fs::read_dir(dir)
        .with_context(|| format!("cannot read the ISF output folder {}", dir.display()))?
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .collect();
    let synapses = names
        .iter()
        .find(|n| {
            n.strip_prefix("simulation_run")
                .and_then(|s| s.strip_suffix("_synapses.csv"))
                .and_then(|d| d.parse::<usize>().ok())
                == Some(run)
        })
        .ok_or_else(|| {
            anyhow::anyhow!(
                "{}: no simulation_run{run:04}_synapses.csv (run {run}) in this folder",
                dir.display()
            )
        })?;
    let copy = |suffix: &str, given: Option<PathBuf>| -> anyhow::Result<PathBuf> {
        if let Some(p) = given {
            return Ok(p);
        }
        names
            .iter()
            .find(|n| n.ends_with(suffix))
            .map(|n| dir.join(n))
            .ok_or_else(|| {
                anyhow::anyhow!(
                    "{}: no *{suffix} in this folder; name the file with --{}",
                    dir.display(),
                    if suffix.contains("neuron") {
                        "cell-param"
                    } else {
                        "network-param"
                    }
                )
            })
    };
    let stored_soma = match names.iter().find(|n| n.ends_with("_vm_all_traces.csv")) {
        Some(n) => Some(read_trace_column(&dir.join(n), run)?),
        None => None,
    };
    Ok(StoredTrial {
        cell_param: copy("_neuron_model.param", cell_param)?,
        network_param: copy("_network_model.param", network_param)?,
        synapses: dir.join(synapses),
        stored_soma,
    })
}

/// Column `Vm run NN` (NN = `run`, two or more digits) of an ISF trace file, with its `t` column.
pub fn read_trace_column(path: &Path, run: usize) -> anyhow::Result<(String, Vec<f64>, Vec<f64>)> {
    let text =
        crate::text::read_text(path).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
    let mut lines = text.lines().enumerate();
    let (_, header) = lines
        .next()
        .ok_or_else(|| anyhow::anyhow!("{}:1: empty trace file", path.display()))?;
    let cols: Vec<&str> = header.split('\t').collect();
    let col = cols
        .iter()
        .position(|c| {
            c.strip_prefix("Vm run ")
                .and_then(|d| d.trim().parse::<usize>().ok())
                == Some(run)
        })
        .ok_or_else(|| {
            anyhow::anyhow!(
                "{}:1: no column `Vm run {run:02}` in `{header}`",
                path.display()
            )
        })?;
    let (mut t, mut v) = (Vec::new(), Vec::new());
    for (i, line) in lines {
        if line.trim().is_empty() {
            continue;
        }
        let f: Vec<&str> = line.split('\t').collect();
        let num = |k: usize| -> anyhow::Result<f64> {
            f.get(k)
                .and_then(|s| s.trim().parse::<f64>().ok())
                .ok_or_else(|| {
                    anyhow::anyhow!(
                        "{}:{}: column {} (`{}`) is not a number",
                        path.display(),
                        i + 1,
                        k + 1,
                        cols.get(k).unwrap_or(&"?")
                    )
                })
        };
        t.push(num(0)?);
        v.push(num(col)?);
    }
    Ok((format!("{} column `{}`", path.display(), cols[col]), t, v))
}

/// A re-simulated trial with every segment recorded.
#[derive(Debug)]
pub struct FullCellTrial {
    /// The cell as built.
    pub template: CellTemplate,
    /// Sample times \[ms\].
    pub t_ms: Vec<f64>,
    /// Soma voltage \[mV\].
    pub soma_vm_mv: Vec<f64>,
    /// The recorded segments, (section, segment index), in section order.
    pub segments: Vec<(usize, usize)>,
    /// Voltage \[mV\] of each of [`Self::segments`], as long as `t_ms`.
    pub segment_vm_mv: Vec<Vec<f64>>,
    /// Soma spike times \[ms\].
    pub soma_spikes_ms: Vec<f64>,
    /// The replayed synapses (positions and release times).
    pub synapses: Vec<SynapseActivationRow>,
    /// The comparison with the stored soma trace, if there was one.
    pub soma_check: Option<SomaCheck>,
}

/// How the re-simulated soma trace compares with the stored one.
#[derive(Debug, Clone)]
pub struct SomaCheck {
    /// What the stored trace is.
    pub stored: String,
    /// Samples compared (those of equal time in both).
    pub samples: usize,
    /// Largest |re-simulated − stored| \[mV\].
    pub max_abs_diff_mv: f64,
    /// Whether every sample agrees within single-precision round-off (2⁻²³·|v| + 1e-6 mV).
    pub agrees: bool,
}

impl std::fmt::Display for SomaCheck {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "re-simulated soma trace {} the stored one ({}) over {} samples: max |Δ| = {:.3e} mV",
            if self.agrees {
                "reproduces"
            } else {
                "DIFFERS from"
            },
            self.stored,
            self.samples,
            self.max_abs_diff_mv
        )
    }
}

/// Re-simulates `trial` up to `tstop_ms` (default: the cell file's) recording every segment.
pub fn simulate(
    trial: &StoredTrial,
    tstop_ms: Option<f64>,
    numerics: Numerics,
) -> anyhow::Result<FullCellTrial> {
    let base = Recipe {
        cell_param: trial.cell_param.clone(),
        inputs: Inputs::Replay {
            network_param: trial.network_param.clone(),
            synapses: trial.synapses.clone(),
        },
        probes: Probes {
            param_sites: false,
            segments: Vec::new(),
        },
        tstop_ms,
        dt_ms: None,
        numerics,
    };
    // The segments are known once the cell is built; reading the cell twice is cheap next to
    // the simulation.
    let (_, cell) = base.read_cell()?;
    let mut segments = Vec::new();
    let mut probes = Vec::new();
    for (s, sec) in cell.sections.iter().enumerate() {
        for k in 0..sec.nseg {
            segments.push((s, k));
            probes.push((s, sec.segx(k)));
        }
    }
    let recipe = Recipe {
        probes: Probes {
            param_sites: false,
            segments: probes,
        },
        ..base
    };
    let built = recipe.build()?;
    let result = built.simulate_replay()?;
    let soma_check = trial
        .stored_soma
        .as_ref()
        .map(|(what, t, v)| compare(what, t, v, &result.t_ms, &result.soma_vm_mv));
    Ok(FullCellTrial {
        template: built.sim.template.clone(),
        t_ms: result.t_ms,
        soma_vm_mv: result.soma_vm_mv,
        segments,
        segment_vm_mv: result.site_vm_mv,
        soma_spikes_ms: result.soma_spikes_ms,
        synapses: built.replay()?.rows.clone(),
        soma_check,
    })
}

fn compare(what: &str, t_ref: &[f64], v_ref: &[f64], t: &[f64], v: &[f64]) -> SomaCheck {
    let (mut samples, mut max, mut agrees) = (0, 0.0f64, true);
    for i in 0..t_ref.len().min(t.len()) {
        if (t_ref[i] - t[i]).abs() > 1e-6 {
            break;
        }
        let d = (v[i] - v_ref[i]).abs();
        max = max.max(d);
        agrees &= d <= v_ref[i].abs() * f64::powi(2.0, -23) + 1e-6;
        samples += 1;
    }
    SomaCheck {
        stored: what.to_string(),
        samples,
        max_abs_diff_mv: max,
        agrees: agrees && samples > 0,
    }
}
