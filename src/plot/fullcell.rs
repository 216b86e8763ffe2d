//! Full-cell recording of a stored trial: the trial's saved synapse activations replayed on its
//! cell (the recipe's replay path, as ISF's `simtrial_to_cell_object` re-runs a database trial)
//! with the membrane potential of every segment recorded, and the re-simulated soma trace
//! compared with the stored one.

use std::path::{Path, PathBuf};

use anyhow::Context as _;

use crate::cell::CellTemplate;
use crate::mechanisms::Numerics;
use crate::network::{Network, TrialInput};
use crate::output::SynapseActivationRow;
use crate::recipe::{BuiltRecipe, Inputs, Probes, Recipe};
use crate::trial::SynapseInputs;

/// A stored trial to re-simulate: its cell, network (receptors and weights) and saved synapse
/// activations, and optionally its stored soma trace (and recorded segment voltages) to compare
/// with.
#[derive(Debug, Clone)]
pub struct StoredTrial {
    /// Cell parameter file.
    pub cell_param: PathBuf,
    /// Network parameter file.
    pub network_param: PathBuf,
    /// The trial's synapse activations.
    pub activations: StoredActivations,
    /// The stored soma trace: (what it is, t \[ms\], v \[mV\]).
    pub stored_soma: Option<(String, Vec<f64>, Vec<f64>)>,
    /// Every segment's voltage as the run recorded it (`[record] all_segments_every_k_steps`).
    pub recorded_segments: Option<RecordedSegments>,
    /// The numerics the trial was simulated with, when the source records them.
    pub numerics: Option<Numerics>,
    /// Compiled-mechanism catalogues the run loaded (and the built-ins they replace).
    pub mechanisms: crate::mechanisms::catalogue_file::LoadRequest,
    /// A folder of files rebuilt from the source (kept while the trial lives).
    pub files: Option<std::sync::Arc<tempfile::TempDir>>,
}

/// Where a stored trial's synapse activations come from.
#[derive(Debug, Clone)]
pub enum StoredActivations {
    /// An ISF synapse activation file, replayed (positions from the file).
    File(PathBuf),
    /// Rows of a results file or database: synapses of the network's populations by id, in the
    /// order the run activated them.
    Rows(Vec<StoredActivation>),
}

/// One synapse's release times in a stored trial.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredActivation {
    /// Population name.
    pub population: String,
    /// Synapse index within the population (`.syn` order).
    pub synapse_id: usize,
    /// Release times \[ms\], ascending.
    pub times_ms: Vec<f64>,
}

/// A run's recording of every segment of a trial ([`crate::recipe::all_segments`] order).
#[derive(Debug, Clone)]
pub struct RecordedSegments {
    /// What it is (file and dataset).
    pub what: String,
    /// Sample times \[ms\].
    pub t_ms: Vec<f64>,
    /// Per segment, its voltage \[mV\] (f32 widened).
    pub vm_mv: Vec<Vec<f64>>,
}

impl StoredTrial {
    /// A trial of an ISF synapse activation file, with its parameter files.
    pub fn replay(cell_param: PathBuf, network_param: PathBuf, synapses: PathBuf) -> Self {
        StoredTrial {
            cell_param,
            network_param,
            activations: StoredActivations::File(synapses),
            stored_soma: None,
            recorded_segments: None,
            numerics: None,
            mechanisms: Default::default(),
            files: None,
        }
    }
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
        stored_soma,
        ..StoredTrial::replay(
            copy("_neuron_model.param", cell_param)?,
            copy("_network_model.param", network_param)?,
            dir.join(synapses),
        )
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

/// A trial with every segment's voltage: re-simulated, or as the run recorded it.
#[derive(Debug)]
pub struct FullCellTrial {
    /// The cell as built.
    pub template: CellTemplate,
    /// Sample times \[ms\].
    pub t_ms: Vec<f64>,
    /// Soma voltage \[mV\] (empty when the voltages are the run's recording).
    pub soma_vm_mv: Vec<f64>,
    /// The recorded segments, (section, segment index), in section order.
    pub segments: Vec<(usize, usize)>,
    /// Voltage \[mV\] of each of [`Self::segments`], as long as `t_ms`.
    pub segment_vm_mv: Vec<Vec<f64>>,
    /// Soma spike times \[ms\] (empty when the voltages are the run's recording).
    pub soma_spikes_ms: Vec<f64>,
    /// The replayed synapses (positions and release times).
    pub synapses: Vec<SynapseActivationRow>,
    /// The comparison with the stored soma trace, if there was one.
    pub soma_check: Option<SomaCheck>,
    /// The comparison with the run's recording of every segment, if there was one.
    pub segment_check: Option<SomaCheck>,
}

/// How a re-simulated trace compares with the stored one.
#[derive(Debug, Clone)]
pub struct SomaCheck {
    /// What was compared (`soma trace`, `voltage of every segment`).
    pub quantity: &'static str,
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
            "re-simulated {} {} the stored one ({}) over {} samples: max |Δ| = {:.3e} mV",
            self.quantity,
            if self.agrees {
                "reproduces"
            } else {
                "DIFFERS from"
            },
            self.stored,
            self.samples,
            self.max_abs_diff_mv,
        )
    }
}

/// The cell and network of `trial` with every segment probed, and the synaptic input to replay
/// with the replayed rows (positions and times).
fn build(
    trial: &StoredTrial,
    tstop_ms: Option<f64>,
    numerics: Numerics,
) -> anyhow::Result<(BuiltRecipe, SynapseInputs, Vec<SynapseActivationRow>)> {
    let inputs = match &trial.activations {
        StoredActivations::File(synapses) => Inputs::Replay {
            network_param: trial.network_param.clone(),
            synapses: synapses.clone(),
        },
        StoredActivations::Rows(_) => Inputs::Network {
            network_param: trial.network_param.clone(),
            embedding: None,
        },
    };
    let recipe = Recipe {
        cell_param: trial.cell_param.clone(),
        inputs,
        probes: Probes {
            param_sites: false,
            segments: Vec::new(),
            all_segments: true,
        },
        tstop_ms,
        dt_ms: None,
        numerics,
    };
    let built = recipe.build()?;
    let (inputs, rows) = match &trial.activations {
        StoredActivations::File(_) => {
            let r = built.replay()?;
            (r.inputs.clone(), r.rows.clone())
        }
        StoredActivations::Rows(rows) => {
            stored_inputs(built.network()?, rows, &trial.network_param)?
        }
    };
    Ok((built, inputs, rows))
}

/// The synaptic input of stored activation rows: each synapse at its place in the network, with
/// its population's receptors and (mean) weights, in the stored order.
fn stored_inputs(
    network: &Network,
    rows: &[StoredActivation],
    network_param: &Path,
) -> anyhow::Result<(SynapseInputs, Vec<SynapseActivationRow>)> {
    let pops = &network.model.populations;
    let mut drawn = TrialInput::default();
    let mut out = Vec::with_capacity(rows.len());
    for r in rows {
        let p = pops
            .iter()
            .position(|p| p.name == r.population)
            .ok_or_else(|| {
                anyhow::anyhow!(
                "population `{}` of the stored activations is not in the network parameter file {}",
                r.population,
                network_param.display()
            )
            })?;
        let n = network.map.populations[p].len();
        if r.synapse_id >= n {
            anyhow::bail!(
                "stored activation of synapse {} of `{}`, but {} places {n} synapses of it",
                r.synapse_id,
                r.population,
                network_param.display()
            );
        }
        if let Some(rc) = pops[p].receptors.iter().find(|rc| rc.lognormal_weights) {
            anyhow::bail!(
                "{}: population `{}`, receptor `{}` draws lognormal weights per trial, which the \
                 stored activations do not record: the trial cannot be replayed",
                network_param.display(),
                r.population,
                rc.name
            );
        }
        let r0 = drawn.release_times_ms.len();
        drawn.release_times_ms.extend_from_slice(&r.times_ms);
        let w0 = drawn.weights.len();
        for rc in &pops[p].receptors {
            drawn.weights.extend_from_slice(&rc.weight);
        }
        drawn.synapses.push(crate::network::ActiveSynapse {
            population: p as u32,
            synapse_id: r.synapse_id as u32,
            cell_id: 0,
            releases: r0..drawn.release_times_ms.len(),
            weights: w0..drawn.weights.len(),
            rng_seed: None,
        });
        let m = network.map.synapse(p, r.synapse_id);
        out.push(SynapseActivationRow {
            population: r.population.clone(),
            synapse_id: r.synapse_id,
            soma_distance_um: m.soma_distance_um,
            section_id: m.section,
            section_pt_id: m.pt_id,
            dendrite_label: network.map.section_labels[m.section].clone(),
            times_ms: r.times_ms.clone(),
        });
    }
    Ok((SynapseInputs::from_network(network, &drawn), out))
}

/// Re-simulates `trial` up to `tstop_ms` (default: the cell file's) recording every segment,
/// and compares it with the stored soma trace and recorded segments, if any.
pub fn simulate(
    trial: &StoredTrial,
    tstop_ms: Option<f64>,
    numerics: Numerics,
) -> anyhow::Result<FullCellTrial> {
    let (built, inputs, synapses) = build(trial, tstop_ms, numerics)?;
    let segments = crate::recipe::all_segments(&built.sim.template)
        .into_iter()
        .map(|(s, k, _)| (s, k))
        .collect();
    let result = built.sim.run(&inputs, built.tstop_ms)?;
    let soma_check = trial.stored_soma.as_ref().map(|(what, t, v)| {
        compare(
            "soma trace",
            what,
            t,
            &[v],
            &result.t_ms,
            &[&result.soma_vm_mv],
        )
    });
    let segment_check = trial.recorded_segments.as_ref().map(|r| {
        let recorded: Vec<&Vec<f64>> = r.vm_mv.iter().collect();
        let resim: Vec<&Vec<f64>> = result.site_vm_mv.iter().collect();
        if recorded.len() != resim.len() {
            return SomaCheck {
                quantity: "voltage of every segment",
                stored: format!(
                    "{}: {} segments, the cell has {}",
                    r.what,
                    recorded.len(),
                    resim.len()
                ),
                samples: 0,
                max_abs_diff_mv: f64::NAN,
                agrees: false,
            };
        }
        compare(
            "voltage of every segment",
            &r.what,
            &r.t_ms,
            &recorded,
            &result.t_ms,
            &resim,
        )
    });
    Ok(FullCellTrial {
        template: built.sim.template.clone(),
        t_ms: result.t_ms,
        soma_vm_mv: result.soma_vm_mv,
        segments,
        segment_vm_mv: result.site_vm_mv,
        soma_spikes_ms: result.soma_spikes_ms,
        synapses,
        soma_check,
        segment_check,
    })
}

/// The trial with the run's recording of every segment, without simulating: the cell and the
/// synapse positions are rebuilt, the voltages are the stored ones.
pub fn recorded(trial: &StoredTrial, numerics: Numerics) -> anyhow::Result<FullCellTrial> {
    let Some(rec) = &trial.recorded_segments else {
        anyhow::bail!("the trial has no recording of every segment");
    };
    let (built, _, synapses) = build(trial, None, numerics)?;
    let segments: Vec<(usize, usize)> = crate::recipe::all_segments(&built.sim.template)
        .into_iter()
        .map(|(s, k, _)| (s, k))
        .collect();
    if segments.len() != rec.vm_mv.len() {
        anyhow::bail!(
            "{}: {} segments recorded, but the cell has {}",
            rec.what,
            rec.vm_mv.len(),
            segments.len()
        );
    }
    Ok(FullCellTrial {
        template: built.sim.template.clone(),
        t_ms: rec.t_ms.clone(),
        soma_vm_mv: Vec::new(),
        segments,
        segment_vm_mv: rec.vm_mv.clone(),
        soma_spikes_ms: Vec::new(),
        synapses,
        soma_check: None,
        segment_check: None,
    })
}

/// Compares traces sampled at `t_ref` with traces sampled at `t` (a finer or equal grid holding
/// every time of `t_ref`).
fn compare(
    quantity: &'static str,
    what: &str,
    t_ref: &[f64],
    v_ref: &[&Vec<f64>],
    t: &[f64],
    v: &[&Vec<f64>],
) -> SomaCheck {
    let (mut samples, mut max, mut agrees) = (0, 0.0f64, true);
    let mut i = 0;
    for (j, &tr) in t_ref.iter().enumerate() {
        while i < t.len() && t[i] < tr - 1e-6 {
            i += 1;
        }
        if i >= t.len() || (t[i] - tr).abs() > 1e-6 {
            break;
        }
        for (a, b) in v_ref.iter().zip(v) {
            let d = (b[i] - a[j]).abs();
            max = max.max(d);
            agrees &= d <= a[j].abs() * f64::powi(2.0, -23) + 1e-6;
            samples += 1;
        }
    }
    SomaCheck {
        quantity,
        stored: what.to_string(),
        samples,
        max_abs_diff_mv: max,
        agrees: agrees && samples > 0,
    }
}
