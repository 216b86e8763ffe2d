//! The I/O layer of isf: the output discipline shared by every command that writes something,
//! and the formats both the simulator and the post-processing read and write:
//!
//! - [`atomic`]: files and folders are written aside (in the destination's folder) and renamed
//!   into place complete, durable and with the permissions the umask allows;
//! - [`lock`]: an exclusive lock on an output for the duration of the command writing it;
//! - [`rule`]: one overwrite rule (an existing output is refused unless `--overwrite`), worded
//!   the same by every command;
//! - [`signals`]: SIGINT/SIGTERM set a flag that long loops poll, and a command that does not
//!   poll is ended cleanly (temporaries removed, locks released, one line saying what was kept);
//! - [`isf_files`]: ISF's text result files (synapse activations, presynaptic cells, voltage
//!   traces), one reader and one writer of each, with [`py_float`] (Python's float repr) and
//!   [`text`] (UTF-8 input with the line of a bad byte);
//! - [`results_schema`]: the layout of the results file, one definition for its writer and reader;
//! - [`time`]: UTC time stamps as every output writes them.

#![warn(missing_docs)]

pub mod atomic;
pub mod isf_files;
pub mod lock;
pub mod py_float;
pub mod results_schema;
pub mod rule;
pub mod signals;
pub mod text;
pub mod time;

pub use atomic::{write_file, write_file_with, StagedDir};
pub use lock::{LockError, OutputLock};
pub use rule::{check_output, OutputExists};

use std::path::PathBuf;

/// Errors of installing outputs.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// An operating-system error on `path` while doing `action`.
    #[error("{}: {action}: {error}", path.display())]
    Io {
        /// The file or folder concerned.
        path: PathBuf,
        /// What failed (e.g. "cannot write").
        action: &'static str,
        /// The operating system's error.
        error: std::io::Error,
    },
    /// The output exists and may not be replaced.
    #[error(transparent)]
    Exists(#[from] OutputExists),
}

impl Error {
    /// An operating-system error on `path` while doing `action`.
    pub fn io(path: impl Into<PathBuf>, action: &'static str, error: std::io::Error) -> Error {
        Error::Io {
            path: path.into(),
            action,
            error,
        }
    }

    /// The kind of the underlying error (`AlreadyExists` for [`Error::Exists`]).
    pub fn kind(&self) -> std::io::ErrorKind {
        match self {
            Error::Io { error, .. } => error.kind(),
            Error::Exists(_) => std::io::ErrorKind::AlreadyExists,
        }
    }

    /// The path concerned.
    pub fn path(&self) -> &std::path::Path {
        match self {
            Error::Io { path, .. } => path,
            Error::Exists(e) => &e.path,
        }
    }
}

impl From<Error> for std::io::Error {
    fn from(e: Error) -> std::io::Error {
        std::io::Error::new(e.kind(), e.to_string())
    }
}
