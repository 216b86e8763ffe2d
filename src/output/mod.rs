//! Writers and readers of results: ISF's CSV output folder and the collective HDF5 results file,
//! and the result-sink interface through which a run writes them ([`sink`], built by [`sinks`]).

pub mod atomic;
pub mod collective;
pub mod isf_export;
pub mod isf_files;
pub mod layout;
pub mod results_h5;
pub mod sink;
pub mod sinks;

use std::path::PathBuf;

pub use crate::param::python_float::{py_repr, write_py_repr};
pub use atomic::{write_atomic, write_atomic_with, StagedDir};
pub use isf_files::{PresynapticCellRow, SynapseActivationRow, TraceTable};

/// Errors of reading or writing result files.
#[derive(Debug, thiserror::Error)]
pub enum OutputError {
    /// Data that cannot be written in the requested form (names the file or folder).
    #[error("{}: {msg}", path.display())]
    Invalid {
        /// The file or folder.
        path: PathBuf,
        /// What is wrong.
        msg: String,
    },
    /// Installing an output failed, or it exists and may not be replaced.
    #[error(transparent)]
    Install(#[from] isf_io::Error),
    /// A file cannot be read or written (an operating-system error naming the file, or a
    /// malformed line naming file and line).
    #[error(transparent)]
    File(#[from] isf_io::isf_files::FileError),
}

impl OutputError {
    pub(crate) fn io(path: impl Into<PathBuf>, what: &'static str, source: std::io::Error) -> Self {
        OutputError::File(isf_io::isf_files::FileError::Io {
            path: path.into(),
            what,
            source,
        })
    }
}
