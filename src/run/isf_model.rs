//! The isf trial model of the run layer: a cell and its network, built once per rank from the
//! cell's [`Recipe`]; a trial draws its network activity from its numpy seed (continuing the
//! task's stream through the earlier sweeps, as ISF's `nSweeps` do) and simulates it.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Instant;

use super::config::{CellConfig, RecordConfig, TrialSpec};
use super::model::{CellDescription, TrialModel};
use crate::network::{RandomState, TrialScratch};
use crate::recipe::{BuiltRecipe, Inputs, Probes, Recipe};
use crate::trial::result::TrialResult;

/// Streams kept for continuing a seed's sweeps (bounded; a miss only costs redrawing).
const STREAM_CACHE: usize = 64;

/// A cell with its network, ready for any trial.
pub struct IsfTrialModel {
    desc: CellDescription,
    cell: BuiltRecipe,
    /// Every k-th sample of every segment is kept (`[record] all_segments_every_k_steps`).
    all_segments_every_k: Option<usize>,
    /// Per seed: the stream positioned before sweep `.0`.
    streams: Mutex<HashMap<u64, (u32, RandomState)>>,
}

/// The recipe of a run config's cell: its parameter files with the config's tStop/dt, numerics,
/// embedding and recording choices.
pub fn recipe(cell: &CellConfig, record: &RecordConfig) -> Recipe {
    Recipe {
        cell_param: cell.cell_param.clone(),
        inputs: Inputs::Network {
            network_param: cell.network_param.clone(),
            embedding: cell.embedding.clone(),
        },
        probes: Probes {
            param_sites: record.sites,
            segments: record
                .segments
                .iter()
                .map(|s| (s.section as usize, s.x))
                .collect(),
            all_segments: record.all_segments_every_k_steps.is_some(),
        },
        tstop_ms: cell.t_stop_ms,
        dt_ms: cell.dt_ms,
        numerics: cell.numerics,
    }
}

impl IsfTrialModel {
    /// Builds the cell of `cell.cell_param` (with the config's tStop/dt overrides) and its
    /// network (with the embedding override, if any).
    pub fn new(cell: &CellConfig, record: &RecordConfig) -> anyhow::Result<Self> {
        let built = recipe(cell, record).build()?;
        let n_samples = built.n_samples();
        let all_segments_every_k = record.all_segments_every_k_steps.map(|k| k as usize);
        // The probes of every segment follow the recording sites.
        let segments: Vec<(u32, u32, f64)> = match all_segments_every_k {
            Some(_) => crate::recipe::all_segments(&built.sim.template)
                .into_iter()
                .map(|(s, k, x)| (s as u32, k as u32, x))
                .collect(),
            None => Vec::new(),
        };
        let mut site_labels = built.sim.site_labels();
        site_labels.truncate(site_labels.len() - segments.len());
        let desc = CellDescription {
            n_samples,
            t0_ms: 0.0,
            dt_ms: built.sim.dt_ms(),
            site_labels,
            population_names: built.population_names(),
            estimated_cost: (n_samples * built.sim.model.n_nodes()) as f64,
            model: "isf".into(),
            synapse_positions: built.synapse_positions(),
            parameter_files: built.parameter_files(),
            segments,
            input_files: built.input_files.clone(),
        };
        Ok(IsfTrialModel {
            desc,
            cell: built,
            all_segments_every_k,
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
            self.cell.draw(&mut rng, scratch)?;
            next += 1;
        }
        Ok(rng)
    }
}

impl TrialModel for IsfTrialModel {
    fn description(&self) -> &CellDescription {
        &self.desc
    }

    fn run_trial(&self, trial: &TrialSpec) -> anyhow::Result<TrialResult> {
        let start = Instant::now();
        let drawn = self.draw(trial)?;
        let result = self.cell.simulate(&drawn)?;
        Ok(self.finish(trial, result, start.elapsed().as_secs_f64()))
    }

    fn lanes(&self) -> usize {
        crate::trial::default_lanes()
    }

    fn run_trials(&self, trials: &[TrialSpec]) -> Vec<anyhow::Result<TrialResult>> {
        if trials.len() < 2 {
            return trials.iter().map(|t| self.run_trial(t)).collect();
        }
        let start = Instant::now();
        let drawn: anyhow::Result<Vec<_>> = trials.iter().map(|t| self.draw(t)).collect();
        let results = drawn.and_then(|d| self.cell.simulate_many(&d));
        match results {
            Ok(rs) => {
                let share = start.elapsed().as_secs_f64() / trials.len() as f64;
                trials
                    .iter()
                    .zip(rs)
                    .map(|(t, r)| Ok(self.finish(t, r, share)))
                    .collect()
            }
            // One at a time, so that each trial reports its own error.
            Err(_) => trials.iter().map(|t| self.run_trial(t)).collect(),
        }
    }
}

impl IsfTrialModel {
    /// The network activity of `trial`.
    fn draw(&self, trial: &TrialSpec) -> anyhow::Result<crate::network::TrialInput> {
        let mut scratch = TrialScratch::default();
        let mut rng = self.stream(trial.seed, trial.sweep, &mut scratch)?;
        let drawn = self.cell.draw(&mut rng, &mut scratch)?;
        if let Ok(mut m) = self.streams.lock() {
            if m.len() >= STREAM_CACHE {
                m.clear();
            }
            m.insert(trial.seed, (trial.sweep + 1, rng));
        }
        Ok(drawn)
    }

    /// A simulated trial's result as the run layer stores it: identity, thinned segments.
    fn finish(&self, trial: &TrialSpec, mut result: TrialResult, wall_s: f64) -> TrialResult {
        if let Some(k) = self.all_segments_every_k {
            // Thinned and narrowed at once: a batch holds only what the file stores.
            let first = result.site_vm_mv.len() - self.desc.segments.len();
            result.segment_vm_mv = result
                .site_vm_mv
                .drain(first..)
                .flat_map(|v| v.into_iter().step_by(k).map(|x| x as f32))
                .collect();
        }
        result.trial_id = trial.trial_id;
        result.cell_id = trial.cell_id;
        result.seed = trial.seed;
        result.sweep = trial.sweep;
        result.wall_time_s = wall_s;
        result
    }
}
