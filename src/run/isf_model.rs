//! The isf simulator as a [`TrialModel`]: the cell template, its solver model and the network
//! (placed on the cell) built once per rank; a trial draws its network realization from a numpy
//! stream seeded with the trial's seed — sweeps of one seed continue the same stream, as ISF's
//! simrun tasks do — and simulates it with the trial runner.

use std::path::Path;

use anyhow::Context as _;

use super::config::{CellConfig, RecordConfig, TrialSpec};
use super::model::{CellDescription, TrialModel};
use crate::cell::CellTemplate;
use crate::network::model::{NetworkModel, TrialScratch};
use crate::network::rng::RandomState;
use crate::network::{Network, TrialInput};
use crate::param::{CellParams, NetworkParams};
use crate::trial::result::{PresynapticSpikes, TrialResult};
use crate::trial::{hoc_tstop, ActiveSynapse, CellSimulator, Receptor, SynapseInputs};

/// A cell in its network, ready for trials.
pub struct IsfModel {
    sim: CellSimulator,
    network: Network,
    receptors: Vec<Vec<Receptor>>,
    t_stop_ms: f64,
    record_sites: bool,
    desc: CellDescription,
}

/// Samples of ISF's loop `while t < tstop: t += dt/2; t += dt/2` plus the one at t = 0.
fn n_samples(t_stop_ms: f64, dt_ms: f64) -> usize {
    let stop = hoc_tstop(t_stop_ms);
    let (mut t, mut n) = (0.0f64, 1usize);
    while t < stop {
        t += 0.5 * dt_ms;
        t += 0.5 * dt_ms;
        n += 1;
    }
    n
}

impl IsfModel {
    /// Reads the params, builds the template, the solver model and the network of `cell`.
    pub fn new(cell: &CellConfig, record: &RecordConfig) -> anyhow::Result<Self> {
        if !record.segments.is_empty() {
            anyhow::bail!(
                "key `record.segments`: recording arbitrary segments is not supported by the isf \
                 model yet (record the soma and the cell's recording sites)"
            );
        }
        let params = CellParams::read(&cell.cell_param)?;
        let template = CellTemplate::from_params(&params)
            .with_context(|| format!("building the cell of {}", cell.cell_param.display()))?;
        let t_stop_ms = cell.t_stop_ms.unwrap_or(template.tstop_ms);
        let mut net_params = NetworkParams::read(&cell.network_param)?;
        if let Some(con) = &cell.embedding {
            override_embedding(&mut net_params, con)?;
        }
        let net_model = NetworkModel::from_params(&net_params, t_stop_ms)
            .with_context(|| format!("network of {}", cell.network_param.display()))?;
        let network = Network::new(net_model, &template)
            .with_context(|| format!("placing the synapses of {}", cell.network_param.display()))?;
        let sim = CellSimulator::new(template, cell.dt_ms)?;
        let receptors: Vec<Vec<Receptor>> = net_params
            .populations
            .iter()
            .map(|p| {
                p.synapses
                    .receptors
                    .iter()
                    .map(Receptor::from_spec)
                    .collect()
            })
            .collect();
        let dt_ms = sim.dt_ms();
        let samples = n_samples(t_stop_ms, dt_ms);
        // Cost: segments × steps × (1 + density mechanisms), plus the synapses' event handling.
        let synapses: usize = network
            .model
            .populations
            .iter()
            .map(|p| p.connections.len())
            .sum();
        let estimated_cost = (sim.model.n_segments() * samples) as f64
            * (1 + sim.model.mechanism_names().len()) as f64
            + (synapses * samples) as f64 / 100.0;
        let desc = CellDescription {
            n_samples: samples,
            t0_ms: 0.0,
            dt_ms,
            site_labels: if record.sites {
                sim.site_labels()
            } else {
                Vec::new()
            },
            population_names: network
                .model
                .populations
                .iter()
                .map(|p| p.name.clone())
                .collect(),
            estimated_cost,
            model: format!("isf {}", env!("CARGO_PKG_VERSION")),
        };
        Ok(Self {
            sim,
            network,
            receptors,
            t_stop_ms,
            record_sites: record.sites,
            desc,
        })
    }

    /// The trial runner's input for a drawn network realization.
    fn inputs(&self, trial: &TrialInput) -> SynapseInputs {
        SynapseInputs {
            populations: self.desc.population_names.clone(),
            receptors: self.receptors.clone(),
            synapses: trial
                .synapses
                .iter()
                .map(|s| {
                    let m = self
                        .network
                        .map
                        .synapse(s.population as usize, s.synapse_id as usize);
                    ActiveSynapse {
                        population: s.population,
                        synapse_id: s.synapse_id,
                        section: m.section,
                        pt_id: m.pt_id,
                        releases: s.releases.clone(),
                        weights: s.weights.clone(),
                    }
                })
                .collect(),
            release_times_ms: trial.release_times_ms.clone(),
            weights: trial.weights.clone(),
        }
    }
}

/// Points every population at the `.con` file `con` and the `.syn` file beside it.
fn override_embedding(params: &mut NetworkParams, con: &Path) -> anyhow::Result<()> {
    let syn = con.with_extension("syn");
    if !syn.is_file() {
        anyhow::bail!(
            "key `embedding`: {} needs its synapse realization {} beside it",
            con.display(),
            syn.display()
        );
    }
    for p in &mut params.populations {
        p.synapses.connection_file = con.to_owned();
        p.synapses.distribution_file = syn.clone();
    }
    Ok(())
}

impl TrialModel for IsfModel {
    fn description(&self) -> &CellDescription {
        &self.desc
    }

    fn run_trial(&self, spec: &TrialSpec) -> anyhow::Result<TrialResult> {
        let seed = u32::try_from(spec.seed).context("trial seed must be below 2^32")?;
        let mut rng = RandomState::new(seed);
        let mut scratch = TrialScratch::default();
        // Earlier sweeps of the seed only advance the stream.
        let mut trial = self.network.draw_trial(&mut rng, &mut scratch)?;
        for _ in 0..spec.sweep {
            trial = self.network.draw_trial(&mut rng, &mut scratch)?;
        }
        let mut r = self.sim.run(&self.inputs(&trial), self.t_stop_ms)?;
        if !self.record_sites {
            r.site_vm_mv.clear();
        }
        r.presynaptic_spikes = trial
            .presynaptic
            .iter()
            .enumerate()
            .flat_map(|(p, spikes)| {
                (0..spikes.cells())
                    .filter(|&c| !spikes.cell(c).is_empty())
                    .map(move |c| PresynapticSpikes {
                        population: p as u32,
                        cell_id: c as u32,
                        times_ms: spikes.cell(c).to_vec(),
                    })
            })
            .collect();
        r.trial_id = spec.trial_id;
        r.cell_id = spec.cell_id;
        r.seed = spec.seed;
        r.sweep = spec.sweep;
        Ok(r)
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn sample_count_follows_neuron_accumulated_time() {
        // Spec §5.1: tStop 345 ms, dt 0.025 ms → 13,802 samples; 250 ms → 10,002.
        assert_eq!(super::n_samples(345.0, 0.025), 13_802);
        assert_eq!(super::n_samples(250.0, 0.025), 10_002);
    }
}
