//! A deterministic stand-in simulator for testing the run layer (decomposition, output, resume)
//! independently of the biophysics. It integrates a passive chain of compartments with an
//! integrate-and-fire soma driven by seed-derived synaptic events, so it produces trial-shaped
//! data of varying size and does real per-step work. Its output is not a neuron simulation: files
//! made with it carry `model = "synthetic-test-fixture"` in their provenance.

use std::time::Instant;

use super::config::{CellConfig, RecordConfig, TrialSpec};
use super::model::{CellDescription, TrialModel};
use super::seeds::splitmix64;
use crate::trial::result::{PresynapticSpikes, SynapseActivation, TrialResult};

const N_NODES: usize = 256;
const N_POPULATIONS: u32 = 3;
const SYNAPSES_PER_POPULATION: u32 = 40;

/// The synthetic test fixture for one cell.
pub struct SyntheticTestFixture {
    desc: CellDescription,
    t_stop_ms: f64,
}

impl SyntheticTestFixture {
    /// Builds it from the cell config (only `t_stop_ms` (default 100) and `dt_ms` (default 0.025)
    /// and the recording choices are used).
    pub fn new(cell: &CellConfig, record: &RecordConfig) -> Self {
        let t_stop_ms = cell.t_stop_ms.unwrap_or(100.0);
        let dt_ms = cell.dt_ms.unwrap_or(0.025);
        let mut site_labels = Vec::new();
        if record.sites {
            site_labels.extend([
                "synthetic_site_distal".to_string(),
                "synthetic_site_mid".to_string(),
            ]);
        }
        for s in &record.segments {
            site_labels.push(format!("segment_sec_{:03}_x_{:.3}", s.section, s.x));
        }
        let n_samples = time_column(t_stop_ms, dt_ms).len();
        let desc = CellDescription {
            n_samples,
            t0_ms: 0.0,
            dt_ms,
            site_labels,
            population_names: (0..N_POPULATIONS)
                .map(|p| format!("synthetic_pop_{p}"))
                .collect(),
            estimated_cost: (n_samples * N_NODES) as f64,
            model: "synthetic-test-fixture".into(),
            synapse_positions: None,
            parameter_files: Vec::new(),
            segments: Vec::new(),
            input_files: Vec::new(),
        };
        Self { desc, t_stop_ms }
    }
}

/// NEURON's accumulated time column: `t += dt/2` twice per step while `t < t_stop`.
fn time_column(t_stop_ms: f64, dt_ms: f64) -> Vec<f64> {
    let mut t = 0.0;
    let mut v = vec![t];
    while t < t_stop_ms {
        t += dt_ms / 2.0;
        t += dt_ms / 2.0;
        v.push(t);
    }
    v
}

/// A SplitMix64 stream (the fixture's only randomness).
struct Stream(u64);
impl Stream {
    fn next_f64(&mut self) -> f64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        (splitmix64(self.0) >> 11) as f64 / (1u64 << 53) as f64
    }
}

impl TrialModel for SyntheticTestFixture {
    fn description(&self) -> &CellDescription {
        &self.desc
    }

    fn run_trial(&self, trial: &TrialSpec) -> anyhow::Result<TrialResult> {
        let start = Instant::now();
        let t = time_column(self.t_stop_ms, self.desc.dt_ms);
        let dt = self.desc.dt_ms;
        let mut rng = Stream(splitmix64(trial.seed ^ (u64::from(trial.sweep) << 40)));

        // Presynaptic spikes and synapse activations: Poisson-like, drawn in a fixed order.
        let mut presynaptic_spikes = Vec::new();
        let mut synapse_activations = Vec::new();
        let mut events: Vec<(f64, usize)> = Vec::new();
        for population in 0..N_POPULATIONS {
            for id in 0..SYNAPSES_PER_POPULATION {
                let mut times = Vec::new();
                let mut s = -self.t_stop_ms * rng.next_f64();
                loop {
                    s += -(1.0 - rng.next_f64()).ln() * 60.0;
                    if s >= self.t_stop_ms {
                        break;
                    }
                    if s >= 0.0 {
                        times.push(s);
                    }
                }
                if times.is_empty() {
                    continue;
                }
                let node = (id as usize * 7 + population as usize * 13) % 24;
                events.extend(times.iter().map(|&x| (x, node)));
                presynaptic_spikes.push(PresynapticSpikes {
                    population,
                    cell_id: id,
                    times_ms: times.clone(),
                });
                synapse_activations.push(SynapseActivation {
                    population,
                    synapse_id: id,
                    times_ms: times,
                });
            }
        }
        events.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));

        // Passive chain, explicit Euler, integrate-and-fire soma at node 0.
        let (e_rest, tau, coupling, kick) = (-70.0, 10.0, 0.2, 12.0);
        let mut v = vec![e_rest; N_NODES];
        let mut next = vec![0.0; N_NODES];
        let mut soma = Vec::with_capacity(t.len());
        let mut sites: Vec<Vec<f64>> =
            vec![Vec::with_capacity(t.len()); self.desc.site_labels.len()];
        let mut cursor = 0;
        let site_node = |i: usize| N_NODES - 1 - (i * 37) % N_NODES;
        for (step, &now) in t.iter().enumerate() {
            if step > 0 {
                while cursor < events.len() && events[cursor].0 < now {
                    v[events[cursor].1] += kick;
                    cursor += 1;
                }
                for i in 0..N_NODES {
                    let left = if i > 0 { v[i - 1] } else { v[i] };
                    let right = if i + 1 < N_NODES { v[i + 1] } else { v[i] };
                    next[i] = v[i]
                        + dt * (-(v[i] - e_rest) / tau)
                        + coupling * (left + right - 2.0 * v[i]);
                }
                std::mem::swap(&mut v, &mut next);
                if soma.last().is_some_and(|&x: &f64| x >= 0.0) {
                    v[0] = e_rest; // reset after the spike sample
                } else if v[0] >= -55.0 {
                    v[0] = 20.0; // the spike sample
                }
            }
            soma.push(v[0]);
            for (i, s) in sites.iter_mut().enumerate() {
                s.push(v[site_node(i)]);
            }
        }
        let soma_spikes_ms = (1..soma.len())
            .filter(|&i| soma[i - 1] < 0.0 && soma[i] >= 0.0)
            .map(|i| t[i])
            .collect();
        Ok(TrialResult {
            trial_id: trial.trial_id,
            cell_id: trial.cell_id,
            seed: trial.seed,
            sweep: trial.sweep,
            t_ms: t,
            soma_vm_mv: soma,
            site_vm_mv: sites,
            segment_vm_mv: Vec::new(),
            soma_spikes_ms,
            synapse_activations,
            presynaptic_spikes,
            wall_time_s: start.elapsed().as_secs_f64(),
            rank: 0,
        })
    }
}
