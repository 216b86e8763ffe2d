//! What one trial receives from the network: presynaptic spike times and the active synapses
//! with their release times and weights, stored flat (no per-synapse allocation).

use std::ops::Range;

/// Spike times of every cell of one population, grouped by cell (compressed rows).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CellSpikes {
    /// Cell `c` owns `times_ms[offsets[c]..offsets[c + 1]]`; `offsets.len() = cells + 1`.
    pub offsets: Vec<usize>,
    /// All spike times \[ms\], ascending within each cell.
    pub times_ms: Vec<f64>,
}

impl CellSpikes {
    /// Groups `(cell, time)` pairs (generation order) by cell and sorts each cell's times.
    pub fn from_pairs(cells: usize, pairs: &[(u32, f64)]) -> Self {
        let mut offsets = vec![0usize; cells + 1];
        for &(c, _) in pairs {
            offsets[c as usize + 1] += 1;
        }
        for i in 0..cells {
            offsets[i + 1] += offsets[i];
        }
        let mut fill = offsets.clone();
        let mut times_ms = vec![0.0; pairs.len()];
        for &(c, t) in pairs {
            let slot = &mut fill[c as usize];
            times_ms[*slot] = t;
            *slot += 1;
        }
        for c in 0..cells {
            let s = &mut times_ms[offsets[c]..offsets[c + 1]];
            if s.len() > 1 {
                s.sort_by(f64::total_cmp);
            }
        }
        CellSpikes { offsets, times_ms }
    }

    /// Number of cells.
    pub fn cells(&self) -> usize {
        self.offsets.len().saturating_sub(1)
    }

    /// Spike times of cell `c` \[ms\], ascending.
    pub fn cell(&self, c: usize) -> &[f64] {
        &self.times_ms[self.offsets[c]..self.offsets[c + 1]]
    }
}

/// One synapse that releases at least once in this trial.
#[derive(Debug, Clone, PartialEq)]
pub struct ActiveSynapse {
    /// Population index (network-parameter order).
    pub population: u32,
    /// Synapse ID within the population (`.syn` order).
    pub synapse_id: u32,
    /// Presynaptic cell driving it.
    pub cell_id: u32,
    /// Range of [`TrialInput::release_times_ms`] (ascending).
    pub releases: Range<usize>,
    /// Range of [`TrialInput::weights`]: the receptors' NetCon weights, receptor after receptor.
    pub weights: Range<usize>,
    /// Seed of the receptor's own release generator (`"dynamic"` release only).
    pub rng_seed: Option<u32>,
}

/// The input of one trial: presynaptic activity and synapse activations, in ISF's order.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TrialInput {
    /// Presynaptic spikes per population (network-parameter order).
    pub presynaptic: Vec<CellSpikes>,
    /// Active synapses in activation order (population order, then `.con` order).
    pub synapses: Vec<ActiveSynapse>,
    /// Release times of all active synapses, concatenated.
    pub release_times_ms: Vec<f64>,
    /// NetCon weights of all active synapses, concatenated.
    pub weights: Vec<f64>,
}

impl TrialInput {
    /// Release times of active synapse `i` \[ms\].
    pub fn release_times(&self, i: usize) -> &[f64] {
        &self.release_times_ms[self.synapses[i].releases.clone()]
    }

    /// NetCon weights of active synapse `i`.
    pub fn synapse_weights(&self, i: usize) -> &[f64] {
        &self.weights[self.synapses[i].weights.clone()]
    }

    /// Total number of release events.
    pub fn release_count(&self) -> usize {
        self.release_times_ms.len()
    }

    /// All release events as `(time_ms, active synapse index)`, sorted by time (ties keep the
    /// activation order), ready to be consumed with a cursor.
    pub fn events(&self) -> Vec<(f64, u32)> {
        let mut ev: Vec<(f64, u32)> = self
            .synapses
            .iter()
            .enumerate()
            .flat_map(|(i, s)| {
                self.release_times_ms[s.releases.clone()]
                    .iter()
                    .map(move |&t| (t, i as u32))
            })
            .collect();
        ev.sort_by(|a, b| a.0.total_cmp(&b.0));
        ev
    }

    /// Keeps only the active synapses for which `keep` is true (network modify functions),
    /// compacting release times and weights.
    pub fn retain_synapses(&mut self, mut keep: impl FnMut(&ActiveSynapse) -> bool) {
        let mut rel = Vec::with_capacity(self.release_times_ms.len());
        let mut w = Vec::with_capacity(self.weights.len());
        let old = std::mem::take(&mut self.synapses);
        for mut s in old {
            if !keep(&s) {
                continue;
            }
            let r0 = rel.len();
            rel.extend_from_slice(&self.release_times_ms[s.releases.clone()]);
            let w0 = w.len();
            w.extend_from_slice(&self.weights[s.weights.clone()]);
            s.releases = r0..rel.len();
            s.weights = w0..w.len();
            self.synapses.push(s);
        }
        self.release_times_ms = rel;
        self.weights = w;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pairs_are_grouped_and_sorted() {
        let s = CellSpikes::from_pairs(3, &[(2, 5.0), (0, 3.0), (2, 1.0), (0, 2.0)]);
        assert_eq!(s.cell(0), [2.0, 3.0]);
        assert!(s.cell(1).is_empty());
        assert_eq!(s.cell(2), [1.0, 5.0]);
        assert_eq!(s.cells(), 3);
    }
}
