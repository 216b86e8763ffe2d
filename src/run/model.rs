//! The run layer's view of a simulator: something that, built once per rank from a cell's config
//! (the immutable template), simulates any trial of that cell from its seed.

use super::config::TrialSpec;
use crate::trial::result::{SynapsePositions, TrialResult};

/// What the writer must know about a cell before any trial runs (identical on every rank).
#[derive(Debug, Clone, PartialEq)]
pub struct CellDescription {
    /// Samples per trace (`t = 0` plus one per step), before `every_k_steps` thinning.
    pub n_samples: usize,
    /// Time of the first sample \[ms\].
    pub t0_ms: f64,
    /// Step \[ms\].
    pub dt_ms: f64,
    /// Labels of the recorded sites, in `TrialResult::site_vm_mv` order.
    pub site_labels: Vec<String>,
    /// Presynaptic population names; `population` codes in results index this table.
    pub population_names: Vec<String>,
    /// Relative cost of one trial (segments × steps × mechanisms + synapse events), for balancing.
    pub estimated_cost: f64,
    /// Which simulator made the data (stored in the provenance).
    pub model: String,
    /// Where every synapse sits (stored once per cell in the results file, and the position
    /// columns of ISF's synapse activation files); `None` for a model without anatomy.
    pub synapse_positions: Option<SynapsePositions>,
    /// The parameter files as simulated (overrides applied), as ISF copies them next to its
    /// results: (`neuron_model.param` | `network_model.param`, JSON bytes). Empty for a model
    /// without parameter files.
    pub parameter_files: Vec<(String, Vec<u8>)>,
    /// Every segment of the cell as (section, segment index, x), when the run records every
    /// segment (`TrialResult::segment_vm_mv` order); else empty.
    pub segments: Vec<(u32, u32, f64)>,
    /// Every file the model was built from beyond the config's own (morphology, recording sites,
    /// `.syn`, `.con`), for the provenance and for `--resume`'s check that nothing changed.
    pub input_files: Vec<std::path::PathBuf>,
}

/// A cell template that simulates trials. Shared immutably by the rayon workers of a rank; each
/// trial builds its own mutable state.
pub trait TrialModel: Send + Sync {
    /// The cell's shape as the writer sees it.
    fn description(&self) -> &CellDescription;
    /// Simulates one trial; the result's identity fields must equal `trial`'s.
    fn run_trial(&self, trial: &TrialSpec) -> anyhow::Result<TrialResult>;
    /// How many trials [`TrialModel::run_trials`] simulates side by side (1: one at a time).
    fn lanes(&self) -> usize {
        1
    }
    /// Simulates `trials` (at most [`TrialModel::lanes`]), each result exactly what
    /// [`TrialModel::run_trial`] gives, in order.
    fn run_trials(&self, trials: &[TrialSpec]) -> Vec<anyhow::Result<TrialResult>> {
        trials.iter().map(|t| self.run_trial(t)).collect()
    }
}
