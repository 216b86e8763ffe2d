//! The mapper's error type: every variant names the file (and line, where there is one).

use std::path::PathBuf;

/// Everything that can go wrong while reading the model, mapping a cell or writing the result.
#[derive(Debug, thiserror::Error)]
pub enum MapperError {
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        #[source]
        /// The I/O error.
        source: std::io::Error,
    },
    /// A syntax or content error at a line of an input file (1-based line).
    #[error("{path}:{line}: {message}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// The line, from 1.
        line: usize,
        /// What is wrong.
        message: String,
    },
    /// A content error in a file that is not tied to one line.
    #[error("{path}: {message}")]
    File {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// Inconsistent inputs (e.g. a cell type without an excitatory/inhibitory class).
    #[error("{0}")]
    Model(String),
    /// The morphology cannot be mapped (e.g. it lies outside the PST field).
    #[error("morphology {path}: {message}")]
    Morphology {
        /// The `.hoc` file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// The output cannot be installed (or exists and may not be replaced).
    #[error(transparent)]
    Output(#[from] isf_io::Error),
}

impl MapperError {
    /// Reads a text input, reporting bytes that are not UTF-8 at their line.
    pub(crate) fn read_text(path: &std::path::Path) -> Result<String, Self> {
        crate::text::read_text(path).map_err(|e| match e {
            crate::text::ReadTextError::Io(source) => MapperError::io(path, source),
            e => MapperError::Parse {
                path: path.to_path_buf(),
                line: e.line(),
                message: e.to_string(),
            },
        })
    }

    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        MapperError::Io {
            path: path.into(),
            source,
        }
    }
    pub(crate) fn parse(path: impl Into<PathBuf>, line: usize, message: impl Into<String>) -> Self {
        MapperError::Parse {
            path: path.into(),
            line,
            message: message.into(),
        }
    }
    pub(crate) fn file(path: impl Into<PathBuf>, message: impl Into<String>) -> Self {
        MapperError::File {
            path: path.into(),
            message: message.into(),
        }
    }
}
