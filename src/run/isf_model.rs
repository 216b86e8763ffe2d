//! The isf trial model of the run layer: a cell (template + solver model) and its network,
//! built once per rank; a trial draws its network activity from its numpy seed (continuing the
//! task's stream through the earlier sweeps, as ISF's `nSweeps` do) and simulates it.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Instant;

use anyhow::Context as _;

use super::config::{CellConfig, RecordConfig, TrialSpec};
use super::model::{CellDescription, TrialModel};
use crate::cell::{CellTemplate, RecordingSite};
use crate::network::{Network, NetworkModel, RandomState, TrialScratch};
use crate::param::cell_params::CellParams;
use crate::param::network_params::NetworkParams;
use crate::param::Value;
use crate::trial::result::{PresynapticSpikes, SynapsePosition, SynapsePositions, TrialResult};
use crate::trial::{hoc_tstop, CellSimulator};

/// Streams kept for continuing a seed's sweeps (bounded; a miss only costs redrawing).
const STREAM_CACHE: usize = 64;

/// A cell with its network, ready for any trial.
pub struct IsfTrialModel {
    desc: CellDescription,
    sim: CellSimulator,
    network: Network,
    tstop_ms: f64,
    /// Per seed: the stream positioned before sweep `.0`.
    streams: Mutex<HashMap<u64, (u32, RandomState)>>,
}

impl IsfTrialModel {
    /// Builds the cell of `cell.cell_param` (with the config's tStop/dt overrides) and its
    /// network (with the embedding override, if any).
    pub fn new(cell: &CellConfig, record: &RecordConfig) -> anyhow::Result<Self> {
        let mut cell_params = CellParams::read(&cell.cell_param)?;
        let mut template = CellTemplate::from_params(&cell_params)
            .with_context(|| format!("building the cell of {}", cell.cell_param.display()))?;
        let tstop_ms = cell.t_stop_ms.unwrap_or(template.tstop_ms);
        if !record.sites {
            template.recording_sites.clear();
        }
        for s in &record.segments {
            let section = s.section as usize;
            let Some(sec) = template.sections.get(section) else {
                anyhow::bail!(
                    "cell `{}`: recorded segment on section {} but the cell has {} sections",
                    cell.name,
                    section,
                    template.sections.len()
                );
            };
            if !(0.0..=1.0).contains(&s.x) {
                anyhow::bail!(
                    "cell `{}`: recorded segment x = {} is outside [0, 1]",
                    cell.name,
                    s.x
                );
            }
            let segment = template.segment_index(section, s.x);
            let x = sec.segx(segment);
            let node = sec.segment_node(segment);
            template.recording_sites.push(RecordingSite {
                label: format!("segment_sec_{:03}_x_{:.3}", section, s.x),
                section,
                segment,
                x,
                node,
            });
        }
        let sim = CellSimulator::with_numerics(template, cell.dt_ms, cell.numerics)?;

        let mut network_params = NetworkParams::read(&cell.network_param)?;
        network_params.check_receptors()?;
        if let Some(con) = &cell.embedding {
            let syn = con.with_extension("syn");
            for p in &mut network_params.populations {
                p.synapses.connection_file = con.clone();
                p.synapses.distribution_file = syn.clone();
            }
        }
        let mut input_files = vec![cell_params.neuron.filename.clone()];
        input_files.extend(cell_params.sim.recording_sites.iter().cloned());
        for p in &network_params.populations {
            input_files.push(p.synapses.distribution_file.clone());
            input_files.push(p.synapses.connection_file.clone());
        }
        let model = NetworkModel::from_params(&network_params, tstop_ms)?;
        let network = Network::new(model, &sim.template)?;
        // Receptor mechanisms and parameters are used only when a trial creates its synapses:
        // check them now, so a bad parameter of any cell stops the run before its first trial.
        let receptors = network.synapse_inputs(&crate::network::TrialInput::default());
        for (pop, rs) in receptors.populations.iter().zip(&receptors.receptors) {
            let one = crate::trial::SynapseInputs {
                populations: vec![pop.clone()],
                receptors: vec![rs.clone()],
                ..Default::default()
            };
            sim.check_inputs(&one).map_err(|e| {
                anyhow::anyhow!(
                    "{}: population `{pop}` (network.{pop}.synapses.receptors): {e}",
                    cell.network_param.display()
                )
            })?;
        }
        let parameter_files =
            simulated_parameter_files(cell, &mut cell_params, &mut network_params, tstop_ms)?;

        // NEURON's accumulated time column (t += dt/2 twice per step while t < tStop).
        let dt = sim.dt_ms();
        let stop = hoc_tstop(tstop_ms);
        let (mut t, mut n_samples) = (0.0f64, 1usize);
        while t < stop {
            t += 0.5 * dt;
            t += 0.5 * dt;
            n_samples += 1;
        }
        let desc = CellDescription {
            n_samples,
            t0_ms: 0.0,
            dt_ms: dt,
            site_labels: sim.site_labels(),
            population_names: network
                .model
                .populations
                .iter()
                .map(|p| p.name.clone())
                .collect(),
            estimated_cost: (n_samples * sim.model.n_nodes()) as f64,
            model: "isf".into(),
            synapse_positions: Some(synapse_positions(&network)),
            parameter_files,
            input_files,
        };
        Ok(IsfTrialModel {
            desc,
            sim,
            network,
            tstop_ms,
            streams: Mutex::new(HashMap::new()),
        })
    }

    /// The stream of `seed` positioned before `sweep` (cached, or redrawn from the seed).
    fn stream(
        &self,
        seed: u64,
        sweep: u32,
        scratch: &mut TrialScratch,
    ) -> anyhow::Result<RandomState> {
        let seed32 = u32::try_from(seed)
            .map_err(|_| anyhow::anyhow!("seed {seed} does not fit numpy's 32-bit seeding"))?;
        let cached = self
            .streams
            .lock()
            .ok()
            .and_then(|mut m| m.remove(&seed))
            .filter(|(next, _)| *next <= sweep);
        let (mut next, mut rng) = cached.unwrap_or((0, RandomState::new(seed32)));
        while next < sweep {
            self.network.draw_trial(&mut rng, scratch)?;
            next += 1;
        }
        Ok(rng)
    }
}

/// The synapse table of `network`: per population and synapse id, the columns ISF writes to its
/// synapse activation files (the same values as [`Network::isf_rows`]).
fn synapse_positions(network: &Network) -> SynapsePositions {
    let map = &network.map;
    let mut labels: Vec<String> = Vec::new();
    let section_label: Vec<u32> = map
        .section_labels
        .iter()
        .map(|l| match labels.iter().position(|x| x == l) {
            Some(i) => i as u32,
            None => {
                labels.push(l.clone());
                (labels.len() - 1) as u32
            }
        })
        .collect();
    let populations = map
        .populations
        .iter()
        .map(|syns| {
            syns.iter()
                .map(|m| SynapsePosition {
                    soma_distance_um: m.soma_distance_um,
                    section_id: m.section as u32,
                    section_pt_id: m.pt_id as u32,
                    label: section_label[m.section],
                })
                .collect()
        })
        .collect();
    SynapsePositions {
        populations,
        labels,
    }
}

/// The parameter files as this cell simulates them (ISF's copies beside its results): the cell
/// param with the config's `tStop`/`dt` overrides, the network param with the embedding override.
fn simulated_parameter_files(
    cell: &CellConfig,
    cell_params: &mut CellParams,
    network_params: &mut NetworkParams,
    tstop_ms: f64,
) -> anyhow::Result<Vec<(String, Vec<u8>)>> {
    if cell.t_stop_ms.is_some() {
        cell_params
            .file
            .set_path("sim.tStop", Value::Float(tstop_ms))?;
    }
    if let Some(dt) = cell.dt_ms {
        cell_params.file.set_path("sim.dt", Value::Float(dt))?;
    }
    if let Some(con) = &cell.embedding {
        let syn = con.with_extension("syn");
        for p in &network_params.populations {
            for (k, f) in [("connectionFile", con), ("distributionFile", &syn)] {
                network_params.file.set_path(
                    &format!("network.{}.synapses.{k}", p.name),
                    Value::Str(f.display().to_string()),
                )?;
            }
        }
    }
    Ok(vec![
        (
            "neuron_model.param".into(),
            cell_params.file.to_json_pretty().into_bytes(),
        ),
        (
            "network_model.param".into(),
            network_params.file.to_json_pretty().into_bytes(),
        ),
    ])
}

impl TrialModel for IsfTrialModel {
    fn description(&self) -> &CellDescription {
        &self.desc
    }

    fn run_trial(&self, trial: &TrialSpec) -> anyhow::Result<TrialResult> {
        let start = Instant::now();
        let mut scratch = TrialScratch::default();
        let mut rng = self.stream(trial.seed, trial.sweep, &mut scratch)?;
        let drawn = self.network.draw_trial(&mut rng, &mut scratch)?;
        if let Ok(mut m) = self.streams.lock() {
            if m.len() >= STREAM_CACHE {
                m.clear();
            }
            m.insert(trial.seed, (trial.sweep + 1, rng));
        }
        let inputs = self.network.synapse_inputs(&drawn);
        let mut result = self.sim.run(&inputs, self.tstop_ms)?;
        let mut presynaptic = Vec::new();
        for (p, spikes) in drawn.presynaptic.iter().enumerate() {
            for c in 0..spikes.cells() {
                if !spikes.cell(c).is_empty() {
                    presynaptic.push(PresynapticSpikes {
                        population: p as u32,
                        cell_id: c as u32,
                        times_ms: spikes.cell(c).to_vec(),
                    });
                }
            }
        }
        result.trial_id = trial.trial_id;
        result.cell_id = trial.cell_id;
        result.seed = trial.seed;
        result.sweep = trial.sweep;
        result.presynaptic_spikes = presynaptic;
        result.wall_time_s = start.elapsed().as_secs_f64();
        Ok(result)
    }
}
