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
    /// The solver's accumulated time column [ms] (one sample at t = 0 plus one per step).
    pub t_ms: Vec<f64>,
    /// Soma voltage [mV] at every sample of `t_ms`.
    pub soma_vm_mv: Vec<f64>,
    /// Voltage [mV] per recording site (labels live with the cell), each as long as `t_ms`.
    pub site_vm_mv: Vec<Vec<f64>>,
    /// Somatic spike times [ms]: upward crossings of 0 mV (spec §5.5).
    pub soma_spikes_ms: Vec<f64>,
    /// Release times of every active synapse.
    pub synapse_activations: Vec<SynapseActivation>,
    /// Spike times of every presynaptic cell that fired.
    pub presynaptic_spikes: Vec<PresynapticSpikes>,
    /// Wall-clock time the trial took [s].
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
    /// Activation times [ms], ascending.
    pub times_ms: Vec<f64>,
}

/// The spike times of one presynaptic cell.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct PresynapticSpikes {
    /// Index into the cell's population-name table.
    pub population: u32,
    /// Cell index within its population.
    pub cell_id: u32,
    /// Spike times [ms], ascending.
    pub times_ms: Vec<f64>,
}
