//! Reading text input files: bytes that are not UTF-8 are reported with their line and column
//! (a plain `read_to_string` only says that the file is not UTF-8).

use std::fmt;
use std::path::Path;

/// Why a text file could not be read.
#[derive(Debug)]
pub enum ReadTextError {
    /// The file could not be read at all.
    Io(std::io::Error),
    /// The file is not UTF-8 text.
    NotUtf8 {
        /// 1-based line of the first bad byte.
        line: usize,
        /// 1-based column (in characters) of the first bad byte.
        col: usize,
        /// The bad byte.
        byte: u8,
    },
}

impl ReadTextError {
    /// The 1-based line the error concerns (0 when the whole file is concerned).
    pub fn line(&self) -> usize {
        match self {
            ReadTextError::Io(_) => 0,
            ReadTextError::NotUtf8 { line, .. } => *line,
        }
    }

    /// The 1-based column (0 when the whole file is concerned).
    pub fn col(&self) -> usize {
        match self {
            ReadTextError::Io(_) => 0,
            ReadTextError::NotUtf8 { col, .. } => *col,
        }
    }
}

impl fmt::Display for ReadTextError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ReadTextError::Io(e) => write!(f, "{e}"),
            ReadTextError::NotUtf8 { line, col, byte } => write!(
                f,
                "line {line}, column {col}: byte 0x{byte:02x} is not UTF-8 text"
            ),
        }
    }
}

impl std::error::Error for ReadTextError {}

/// Reads `path` as UTF-8 text.
pub fn read_text(path: &Path) -> Result<String, ReadTextError> {
    let bytes = std::fs::read(path).map_err(ReadTextError::Io)?;
    match from_utf8(&bytes) {
        Ok(_) => Ok(String::from_utf8(bytes).unwrap_or_default()),
        Err(e) => Err(e),
    }
}

/// `bytes` as UTF-8 text, or where the first byte that is not.
pub fn from_utf8(bytes: &[u8]) -> Result<&str, ReadTextError> {
    std::str::from_utf8(bytes).map_err(|e| {
        let at = e.valid_up_to();
        // Everything before `at` is valid UTF-8.
        let before = std::str::from_utf8(&bytes[..at]).unwrap_or_default();
        let line = before.matches('\n').count() + 1;
        let col = before.rsplit('\n').next().unwrap_or("").chars().count() + 1;
        ReadTextError::NotUtf8 {
            line,
            col,
            byte: bytes[at],
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bad_byte_is_located() {
        let e = from_utf8(b"ab\ncd\xffe").unwrap_err();
        assert_eq!((e.line(), e.col()), (2, 3));
        assert_eq!(
            e.to_string(),
            "line 2, column 3: byte 0xff is not UTF-8 text"
        );
        assert_eq!(from_utf8("é\n".as_bytes()).unwrap(), "é\n");
    }
}
