//! Source positions and the one error type of the front end.

use std::fmt;
use std::sync::Arc;

/// A source file: its name (as given by the caller, usually the path) and its text.
#[derive(Debug, Clone)]
pub struct SourceFile {
    /// Name used in every position and message.
    pub name: Arc<str>,
    /// The text, exactly as read (CRLF kept; positions count bytes of this text).
    pub text: Arc<str>,
    line_starts: Arc<[usize]>,
}

impl SourceFile {
    /// Wraps a text under a name.
    pub fn new(name: impl Into<Arc<str>>, text: impl Into<Arc<str>>) -> Self {
        let text: Arc<str> = text.into();
        // CR, LF and CRLF each end a line, as NEURON reads them.
        let mut starts = vec![0];
        let bytes = text.as_bytes();
        for (i, &b) in bytes.iter().enumerate() {
            if b == b'\n' || (b == b'\r' && bytes.get(i + 1) != Some(&b'\n')) {
                starts.push(i + 1);
            }
        }
        SourceFile {
            name: name.into(),
            text,
            line_starts: starts.into(),
        }
    }

    /// The span of the byte range `start..end` (1-based line and column; columns count characters).
    pub fn span(&self, start: usize, end: usize) -> Span {
        let start = start.min(self.text.len());
        let end = end.clamp(start, self.text.len());
        let line_idx = match self.line_starts.binary_search(&start) {
            Ok(i) => i,
            Err(i) => i - 1,
        };
        let line_start = self.line_starts[line_idx];
        let col = self.text[line_start..floor_char(&self.text, start)]
            .chars()
            .count()
            + 1;
        Span {
            file: self.name.clone(),
            line: line_idx as u32 + 1,
            col: col as u32,
            start: start as u32,
            end: end as u32,
        }
    }

    /// The text of line `line` (1-based) without its line end.
    pub fn line_text(&self, line: u32) -> &str {
        let i = (line as usize).saturating_sub(1);
        let Some(&s) = self.line_starts.get(i) else {
            return "";
        };
        let e = self
            .line_starts
            .get(i + 1)
            .copied()
            .unwrap_or(self.text.len());
        self.text[s..e].trim_end_matches(['\n', '\r'])
    }
}

fn floor_char(s: &str, mut i: usize) -> usize {
    while i > 0 && !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

/// Where a node of the syntax tree came from: file, 1-based line and column, byte range.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Span {
    /// File name.
    pub file: Arc<str>,
    /// 1-based line.
    pub line: u32,
    /// 1-based column (characters).
    pub col: u32,
    /// Byte offset of the first byte.
    pub start: u32,
    /// Byte offset one past the last byte.
    pub end: u32,
}

impl Span {
    /// The smallest span covering `self` and `other` (same file assumed).
    pub fn to(&self, other: &Span) -> Span {
        if other.start >= self.start {
            Span {
                end: other.end.max(self.end),
                ..self.clone()
            }
        } else {
            Span {
                end: self.end.max(other.end),
                ..other.clone()
            }
        }
    }
}

impl fmt::Debug for Span {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}", self.file, self.line, self.col)
    }
}

impl fmt::Display for Span {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}", self.file, self.line, self.col)
    }
}

/// What kind of problem a diagnostic reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// The file could not be read.
    Io,
    /// Not NMODL as NEURON's translator accepts it.
    Syntax,
    /// A unit the units database does not know, or a bad units definition.
    Unit,
    /// A name used but never declared.
    Undefined,
    /// A call with the wrong number of arguments.
    Arity,
    /// Valid NMODL that isf does not support (or refuses by design).
    Unsupported,
    /// Valid syntax that NEURON refuses (conflicting declarations, misplaced statements, ...).
    Semantic,
    /// A limit isf imposes to stay safe on hostile input (nesting depth, sizes).
    Limit,
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ErrorKind::Io => "i/o error",
            ErrorKind::Syntax => "syntax error",
            ErrorKind::Unit => "unit error",
            ErrorKind::Undefined => "undefined name",
            ErrorKind::Arity => "wrong number of arguments",
            ErrorKind::Unsupported => "unsupported",
            ErrorKind::Semantic => "error",
            ErrorKind::Limit => "limit exceeded",
        })
    }
}

/// One problem at one place.
#[derive(Debug, Clone)]
pub struct Diagnostic {
    /// Kind of problem.
    pub kind: ErrorKind,
    /// File name.
    pub file: String,
    /// 1-based line (0 when the whole file is meant).
    pub line: u32,
    /// 1-based column (0 when the whole file is meant).
    pub col: u32,
    /// The construct concerned, as written in NMODL (`VERBATIM`, `POINTER`, `(mV)`, a name, ...).
    pub construct: String,
    /// What is wrong, in words.
    pub message: String,
    /// The source line, for the caret display.
    pub source_line: String,
    /// Extent of the underline on the source line (characters).
    pub width: u32,
}

impl Diagnostic {
    /// A diagnostic at `span` of `src`.
    pub fn at(
        src: &SourceFile,
        span: &Span,
        kind: ErrorKind,
        construct: impl Into<String>,
        message: impl Into<String>,
    ) -> Self {
        let line_text = src.line_text(span.line).to_string();
        let width = {
            let s = span.start as usize;
            let e = (span.end as usize).min(src.text.len());
            let seg = src.text.get(s..e).unwrap_or("");
            let first_line = seg.split('\n').next().unwrap_or("");
            first_line.trim_end_matches('\r').chars().count().max(1) as u32
        };
        Diagnostic {
            kind,
            file: src.name.to_string(),
            line: span.line,
            col: span.col,
            construct: construct.into(),
            message: message.into(),
            source_line: line_text,
            width,
        }
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}:{}: {}: {}",
            self.file, self.line, self.col, self.kind, self.message
        )?;
        if !self.construct.is_empty() && !self.message.contains(&self.construct) {
            write!(f, " (construct: {})", self.construct)?;
        }
        if self.line > 0 {
            // Tabs are kept in the caret line so that it lines up under the source line.
            let pad: String = self
                .source_line
                .chars()
                .take(self.col.saturating_sub(1) as usize)
                .map(|c| if c == '\t' { '\t' } else { ' ' })
                .collect();
            let avail = self
                .source_line
                .chars()
                .count()
                .saturating_sub(self.col.saturating_sub(1) as usize)
                .max(1);
            let w = (self.width as usize).min(avail).max(1);
            write!(
                f,
                "\n    {}\n    {}^{}",
                self.source_line,
                pad,
                "~".repeat(w - 1)
            )?;
        }
        Ok(())
    }
}

/// The error of every front-end entry point: one or more diagnostics about one file.
#[derive(Debug, Clone, thiserror::Error)]
pub struct Error {
    /// The problems found, in source order (at least one).
    pub diagnostics: Vec<Diagnostic>,
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, d) in self.diagnostics.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{d}")?;
        }
        Ok(())
    }
}

impl Error {
    /// An error with a single diagnostic.
    pub fn single(d: Diagnostic) -> Self {
        Error {
            diagnostics: vec![d],
        }
    }

    /// The first diagnostic (every error has one).
    pub fn first(&self) -> &Diagnostic {
        &self.diagnostics[0]
    }
}

/// Result of the front end.
pub type Result<T> = std::result::Result<T, Error>;
