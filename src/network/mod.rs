//! Network activity: synapse realization files (`.syn`/`.con`), numpy-compatible random numbers, presynaptic activity generators, release and weights.
//!
//! The static part ([`NetworkModel`]: activity specs, synapse locations, connectivity,
//! receptors; [`SynapseMap`]: the synapses placed on the cell) is built once per cell; a trial
//! only draws ([`Network::draw_trial`]), continuing one numpy-compatible random stream exactly as
//! ISF's `simrun` does, so that isf and ISF produce the same trial for the same seed.

pub mod activity;
pub mod files;
pub mod mapping;
pub mod model;
pub mod modify;
pub mod rng;
pub(crate) mod spec;
pub mod trial_input;

pub use mapping::{MappedSynapse, SynapseMap, SynapseTarget};
pub use model::{NetworkModel, PopulationModel, Receptor, Release, TrialScratch};
pub use modify::NetworkModifyFunction;
pub use rng::RandomState;
pub use trial_input::{ActiveSynapse, CellSpikes, TrialInput};

use std::path::PathBuf;
use thiserror::Error;

/// Errors of the network stage.
#[derive(Debug, Error)]
pub enum NetworkError {
    /// A file could not be read.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// A malformed or inconsistent line of a `.syn`/`.con` file.
    #[error("{}:{line}: {msg}", path.display())]
    Syntax {
        /// The file.
        path: PathBuf,
        /// 1-based line.
        line: usize,
        /// What is wrong.
        msg: String,
    },
    /// A problem in the network parameter file.
    #[error(transparent)]
    Param(#[from] crate::param::ParamError),
    /// Something required is missing.
    #[error("{0}")]
    Missing(String),
    /// A generator failed while drawing.
    #[error("{}: population `{population}`, {generator}: {source}", file.display())]
    Activity {
        /// The network parameter file.
        file: PathBuf,
        /// Population name.
        population: String,
        /// Generator name.
        generator: &'static str,
        /// The cause.
        source: activity::ActivityError,
    },
}

/// A network ready for trials: the static model and its synapses placed on the cell.
#[derive(Debug, Clone)]
pub struct Network {
    /// Populations, activity specs, connectivity, receptors.
    pub model: NetworkModel,
    /// Synapse locations on the cell.
    pub map: SynapseMap,
}

impl Network {
    /// Places the model's synapses on `cell`.
    pub fn new(model: NetworkModel, cell: &dyn SynapseTarget) -> Result<Self, NetworkError> {
        let map = SynapseMap::new(&model, cell)?;
        Ok(Network { model, map })
    }

    /// Draws one trial and applies the network modify functions (ISF's
    /// `create_saved_network2`), continuing the stream `rng`.
    pub fn draw_trial(
        &self,
        rng: &mut RandomState,
        scratch: &mut TrialScratch,
    ) -> Result<TrialInput, NetworkError> {
        let mut trial = self.model.draw_trial(rng, scratch)?;
        for f in &self.model.modify_functions {
            self.apply(f, &mut trial);
        }
        Ok(trial)
    }

    /// Applies one modify function to a drawn trial (no random draws, as in ISF). It lives here
    /// and not with the parsed function because it needs the synapses placed on the cell.
    fn apply(&self, f: &NetworkModifyFunction, trial: &mut TrialInput) {
        match f {
            NetworkModifyFunction::SilenceSynapsesBySomadist { ranges } => {
                trial.retain_synapses(|s| {
                    let d = self
                        .map
                        .synapse(s.population as usize, s.synapse_id as usize)
                        .soma_distance_um;
                    !ranges
                        .iter()
                        .any(|&(p, lo, hi)| p == s.population as usize && lo <= d && d < hi)
                });
            }
        }
    }
}
