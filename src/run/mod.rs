//! The run layer: run configs, work decomposition over MPI ranks and rayon threads, the communicator interface (MPI or serial).
//!
//! `isf simulate --config RUN.toml` → [`config::RunConfig`] → one [`model::TrialModel`] (cell
//! template) per cell and rank → batches of trials, each assigned to ranks by estimated cost
//! ([`decompose`]) and run with rayon inside a rank → written collectively
//! ([`crate::output::results_h5`]). Seeds depend only on (base seed, cell, trial) ([`seeds`]) and rows
//! sit at positions fixed by the config, so results are bit-identical for any decomposition.

pub mod comm;
pub mod config;
pub mod decompose;
pub mod driver;
pub mod isf_model;
pub mod isf_task;
pub mod model;
pub mod seeds;
pub mod synthetic_fixture;

use std::path::PathBuf;

pub use driver::{run_config, RunOptions, RunSummary};

/// Errors of a run.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// The run config is malformed or names something missing.
    #[error("config {path}: {msg}")]
    Config {
        /// The config file.
        path: PathBuf,
        /// What is wrong (with the key).
        msg: String,
    },
    /// The output path cannot be used.
    #[error("output {path}: {msg}")]
    Output {
        /// The results file.
        path: PathBuf,
        /// What is wrong.
        msg: String,
    },
    /// An input file cannot be read.
    #[error("cannot read {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// Building a cell's template failed.
    #[error("cell `{cell}`: {msg}")]
    Model {
        /// Cell name.
        cell: String,
        /// The error chain.
        msg: String,
    },
    /// A trial failed.
    #[error("trial {trial_id} (cell `{cell}`, seed {seed}, sweep {sweep}): {msg}")]
    Trial {
        /// Global trial id.
        trial_id: u64,
        /// Cell name.
        cell: String,
        /// Its seed.
        seed: u64,
        /// Its sweep.
        sweep: u32,
        /// The error chain.
        msg: String,
    },
    /// SIGINT or SIGTERM stopped the run between trials.
    #[error(
        "interrupted by {signal}: {} keeps the {batches_kept} of {batches_total} batches completed \
         before it; continue with `isf simulate --config … --resume`",
        output.display()
    )]
    Interrupted {
        /// The signal's name.
        signal: &'static str,
        /// The results file.
        output: PathBuf,
        /// Batches committed to it.
        batches_kept: u64,
        /// Batches of the run.
        batches_total: u64,
    },
    /// Another rank failed; its own message is printed by that rank.
    #[error("rank {rank} failed (its error is printed above)")]
    OtherRank {
        /// The failing rank.
        rank: u32,
    },
    /// Writing the results file failed.
    #[error(transparent)]
    Results(#[from] crate::output::results_h5::ResultsFileError),
    /// The thread pool could not be built.
    #[error("thread pool: {0}")]
    Threads(String),
}
