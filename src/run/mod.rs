//! The run layer: run configs, the ISF task, and work decomposition over MPI ranks (through
//! [`crate::comm`]) and rayon threads.
//!
//! `isf simulate --config RUN.toml` → [`config::RunConfig`] → one [`model::TrialModel`] per cell
//! and rank, built from the cell's [`crate::recipe::Recipe`] ([`isf_model`]) → batches of trials, each assigned to ranks by estimated cost
//! ([`decompose`]) and run with rayon inside a rank → written collectively
//! ([`crate::output::results_h5`]). Seeds depend only on (base seed, cell, trial) ([`seeds`]) and rows
//! sit at positions fixed by the config, so results are bit-identical for any decomposition.

pub mod config;
pub mod decompose;
pub mod driver;
pub mod isf_model;
pub mod isf_task;
pub mod model;
pub mod seeds;
#[cfg(feature = "test-support")]
pub mod synthetic_fixture;

use std::path::PathBuf;

pub use driver::{run_config, RunOptions, RunSummary};

use config::{CellConfig, ModelKind, RecordConfig};
use model::TrialModel;

/// Test support: a pause after every trial (`ISF_TEST_TRIAL_DELAY_MS`), so that a test can
/// interrupt a run between batches. Only a build with the `test-support` feature reads it.
#[cfg(feature = "test-support")]
fn test_trial_delay() -> Option<std::time::Duration> {
    std::env::var("ISF_TEST_TRIAL_DELAY_MS")
        .ok()
        .and_then(|s| s.parse::<u64>().ok())
        .map(std::time::Duration::from_millis)
}

/// Without test support no run pauses.
#[cfg(not(feature = "test-support"))]
fn test_trial_delay() -> Option<std::time::Duration> {
    None
}

/// Builds the trial model of `cell` (once per rank and cell).
pub fn build_model(
    cell: &CellConfig,
    record: &RecordConfig,
) -> anyhow::Result<Box<dyn TrialModel>> {
    match cell.model {
        #[cfg(feature = "test-support")]
        ModelKind::SyntheticTestFixture => Ok(Box::new(
            synthetic_fixture::SyntheticTestFixture::new(cell, record),
        )),
        ModelKind::Isf => Ok(Box::new(isf_model::IsfTrialModel::new(cell, record)?)),
    }
}

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
