//! The results file: one HDF5 file per run, written collectively by all ranks in batches.
//!
//! Its layout — every name, element type, chunk size and the `commit_state` words — is defined
//! once, as data, in [`isf_io::results_schema`] (documented for users in the README, section
//! "Results file"); this writer and the reader (`isf_post::import_results`) both take it from
//! there.
//!
//! Datasets grow batch by batch; `commit_state` is written last, after a flush, so a reader (and
//! `--resume`) trusts only rows below the committed sizes: a killed run keeps every completed batch.
//! Rows sit at positions fixed by the config (trial order), so the file is identical for any number
//! of ranks or threads. Every rank takes part in every collective call, also with zero rows.
//!
//! - the shape of the file (from the config and the cells) and the provenance are
//!   [`crate::output::layout`], shared by every sink;
//! - `h5`: the collective HDF5 helpers (transfer properties and write hook, row pieces,
//!   attributes);
//! - `writer`: creating the file and writing batches; `resume`: reopening it for `--resume`;
//! - `sink`: the writer as a [`crate::output::sink::ResultSink`].

use std::path::PathBuf;

mod h5;
mod resume;
mod sink;
mod writer;

pub use crate::output::layout::{sha256_hex, CellLayout, Provenance, ResultsLayout};
pub use h5::{free_bytes, WriteHook, WriteHookFn};
pub use isf_io::results_schema::{FORMAT, FORMAT_VERSION};
pub use sink::ResultsSink;
pub use writer::{staging_path, ResultsWriter};

/// Errors of the results file.
#[derive(Debug, thiserror::Error)]
pub enum ResultsFileError {
    /// An HDF5 call failed.
    #[error("results file {path}: {context}: {source}")]
    Hdf5 {
        /// The file.
        path: PathBuf,
        /// What was being done.
        context: String,
        /// HDF5's message.
        source: hdf5::Error,
    },
    /// A file-system call on the results file failed.
    #[error("results file {path}: {what}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// What was being done.
        what: String,
        /// The operating system's error.
        source: std::io::Error,
    },
    /// Not enough free space for the next batch; nothing of it was written.
    #[error(
        "results file {path}: not enough space for batch {batch}: it needs about {needed} bytes, \
         {free} are free on the file system holding the file; the file keeps every batch before \
         it: free space, then continue with --resume"
    )]
    DiskFull {
        /// The file.
        path: PathBuf,
        /// The batch that did not fit.
        batch: u64,
        /// Bytes the batch needs (estimate).
        needed: u64,
        /// Bytes free.
        free: u64,
    },
    /// Another rank failed (it reports the error).
    #[error("rank {rank} failed writing the results file (see its message)")]
    OtherRank {
        /// The first failing rank.
        rank: u32,
    },
    /// The file exists but belongs to a different run or is not an isf results file.
    #[error("results file {path}: {msg}")]
    Mismatch {
        /// The file.
        path: PathBuf,
        /// What differs.
        msg: String,
    },
    /// A trial result does not have the shape the cell declared.
    #[error("trial {trial_id}: {msg}")]
    BadResult {
        /// The trial.
        trial_id: u64,
        /// What is wrong.
        msg: String,
    },
}

impl From<ResultsFileError> for crate::output::sink::SinkError {
    fn from(e: ResultsFileError) -> Self {
        crate::output::sink::SinkError::Format(Box::new(e))
    }
}
