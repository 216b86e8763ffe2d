//! One trial: from a cell template and its inputs (network realization, replayed activations or a current protocol) to a trial result.
//!
//! [`runner::CellSimulator`] holds a [`crate::cell::CellTemplate`] and its solver
//! [`crate::solver::CellModel`] (built once, shared by every trial of the cell); a trial is a
//! list of active synapses ([`runner::SynapseInputs`]: population, synapse ID, section and 3-D
//! point, release times, NetCon weights) that the runner turns into point processes and events,
//! simulates with ISF's `while t < tstop` loop and returns as a [`result::TrialResult`].
//! `isf simulate` feeds it drawn network realizations, [`replay`] feeds it saved synapse
//! activation files (ISF's `run_existing_synapse_activations`).

pub mod protocol;
pub mod replay;
pub mod result;
pub mod runner;

pub use runner::{detect_spikes, hoc_tstop, ActiveSynapse, CellSimulator, Receptor, SynapseInputs};

use std::path::PathBuf;

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
    /// Reading or writing a result file failed.
    #[error(transparent)]
    Output(#[from] crate::output::OutputError),
    /// A bad line of an input file (synapse activation file).
    #[error("{}:{line}: {msg}", file.display())]
    Input {
        /// The file.
        file: PathBuf,
        /// 1-based line (0 when the whole file is concerned).
        line: usize,
        /// What is wrong.
        msg: String,
    },
    /// A bad setting or inconsistent trial input.
    #[error("{0}")]
    Setting(String),
}
