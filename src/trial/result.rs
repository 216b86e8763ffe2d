//! The outcome of one trial: plain data handed from the simulation to the writers.

/// Everything one trial (one sweep of one cell from one seed) produces.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct TrialResult {
    /// Global trial index of the run (cell-major: all trials of cell 0, then cell 1, …).
    pub trial_id: u64,
    /// Index of the cell in the run config.
    pub cell_id: u32,
    /// The numpy-compatible seed (< 2^32) of the task this trial belongs to.
    pub seed: u64,
    /// Sweep number within that seed's task (ISF runs several sweeps per seed from one stream).
    pub sweep: u32,
    /// The solver's accumulated time column \[ms\] (one sample at t = 0 plus one per step).
    pub t_ms: Vec<f64>,
    /// Soma voltage \[mV\] at every sample of `t_ms`.
    pub soma_vm_mv: Vec<f64>,
    /// Voltage \[mV\] per recording site (labels live with the cell), each as long as `t_ms`.
    pub site_vm_mv: Vec<Vec<f64>>,
    /// Voltage \[mV\] of every segment when the run records them all
    /// (`[record] all_segments_every_k_steps` = k): segment after segment (the cell's
    /// `CellDescription::segments` order), every k-th sample of `t_ms`, as f32; else empty.
    pub segment_vm_mv: Vec<f32>,
    /// Somatic spike times \[ms\]: upward crossings of 0 mV (docs/models.md#spike-detection).
    pub soma_spikes_ms: Vec<f64>,
    /// Release times of every active synapse.
    pub synapse_activations: Vec<SynapseActivation>,
    /// Spike times of every presynaptic cell that fired.
    pub presynaptic_spikes: Vec<PresynapticSpikes>,
    /// Wall-clock time the trial took \[s\].
    pub wall_time_s: f64,
    /// The rank that simulated it.
    pub rank: u32,
}

/// The release (activation) times of one synapse.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct SynapseActivation {
    /// Index into the cell's population-name table.
    pub population: u32,
    /// Synapse index within its population.
    pub synapse_id: u32,
    /// Activation times \[ms\], ascending.
    pub times_ms: Vec<f64>,
}

/// The spike times of one presynaptic cell.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct PresynapticSpikes {
    /// Index into the cell's population-name table.
    pub population: u32,
    /// Cell index within its population.
    pub cell_id: u32,
    /// Spike times \[ms\], ascending.
    pub times_ms: Vec<f64>,
}

/// Where one synapse sits on the cell: the position columns of ISF's synapse activation file
/// (docs/formats.md#simulation-output-files). Positions are fixed by the anatomical embedding, so
/// they are the same in every trial of a cell.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct SynapsePosition {
    /// ISF's synaptic soma distance \[µm\].
    pub soma_distance_um: f64,
    /// Section index (hoc order).
    pub section_id: u32,
    /// Index of the section's 3-D point closest to the synapse.
    pub section_pt_id: u32,
    /// Index into [`SynapsePositions::labels`]: the section's structure label.
    pub label: u32,
}

/// Every synapse of a cell, per population (index into the cell's population-name table) and
/// synapse id.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct SynapsePositions {
    /// `populations[p][id]`.
    pub populations: Vec<Vec<SynapsePosition>>,
    /// Dendrite labels (`Dendrite`, `ApicalDendrite`, …) referenced by [`SynapsePosition::label`].
    pub labels: Vec<String>,
}

impl SynapsePositions {
    /// The position of synapse `synapse_id` of population `population`, if the table has it.
    pub fn get(&self, population: u32, synapse_id: u32) -> Option<&SynapsePosition> {
        self.populations
            .get(population as usize)?
            .get(synapse_id as usize)
    }

    /// Number of synapses in the table.
    pub fn len(&self) -> usize {
        self.populations.iter().map(Vec::len).sum()
    }

    /// Whether the table has no synapse.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}
