//! One trial: from a cell template and its inputs (network realization, replayed activations or a
//! current protocol) to a trial result.
//!
//! [`runner::CellSimulator`] holds a [`crate::cell::CellTemplate`] and its solver
//! [`crate::solver::CellModel`] (built once, shared by every trial of the cell); a trial is a
//! list of active synapses ([`runner::SynapseInputs`]: population, synapse ID, section and 3-D
//! point, release times, NetCon weights) that the runner turns into point processes and events,
//! simulates with ISF's `while t < tstop` loop and returns as a [`result::TrialResult`].
//! `isf simulate` feeds it drawn network realizations, [`crate::recipe::replay`] feeds it saved
//! synapse activation files (ISF's `run_existing_synapse_activations`), [`protocol`] current
//! injections. The trial layer writes no files: that is [`crate::output`]'s.

pub mod protocol;
pub mod result;
pub mod runner;

pub use runner::{
    default_lanes, detect_spikes, hoc_tstop, ActiveSynapse, CellSimulator, Receptor, SynapseInputs,
};

/// Errors of setting up or running a trial.
#[derive(Debug, thiserror::Error)]
pub enum TrialError {
    /// Building or running the simulation failed.
    #[error(transparent)]
    Solver(#[from] crate::solver::SolverError),
    /// Building the cell failed.
    #[error(transparent)]
    Cell(#[from] crate::cell::CellError),
    /// A parameter file is invalid.
    #[error(transparent)]
    Param(#[from] crate::param::ParamError),
    /// A bad setting or inconsistent trial input.
    #[error("{0}")]
    Setting(String),
}
