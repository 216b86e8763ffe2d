//! NMODL front end for isf: reads the mechanism files NEURON users write (`.mod`), as NEURON
//! 9.0.2's translator accepts them, and produces an [`AnalysedModel`] for code generation.
//!
//! Pipeline: [`lexer`] → [`parser`] (syntax tree, [`ast`], spans on every node) → [`sema`]
//! (symbol table, checks, [`units`], recognised VERBATIM idioms) → [`model::AnalysedModel`].
//! Every error is an [`Error`] listing diagnostics with file, line, column, the construct and a
//! caret line. See `docs/nmodl.md` for the supported language and what is refused.

pub mod ast;
pub mod cnexp;
pub mod dump;
pub mod error;
pub mod eval;
pub mod idiom;
pub mod lexer;
pub mod linearity;
pub mod model;
pub mod parser;
pub mod sema;
pub mod units;

use std::path::Path;

pub use error::{Diagnostic, Error, ErrorKind, Result, SourceFile, Span};
pub use model::AnalysedModel;

/// Parses NMODL text (`name` is used in positions and messages).
pub fn parse_str(name: &str, text: &str) -> Result<ast::Module> {
    parser::parse(&SourceFile::new(name, text))
}

/// Parses and analyses NMODL text.
pub fn analyse_str(name: &str, text: &str) -> Result<AnalysedModel> {
    let src = SourceFile::new(name, text);
    let module = parser::parse(&src)?;
    sema::analyse(&src, module)
}

/// Reads, parses and analyses a `.mod` file.
pub fn analyse_file(path: &Path) -> Result<AnalysedModel> {
    let name = path.display().to_string();
    let bytes = std::fs::read(path).map_err(|e| {
        Error::single(Diagnostic {
            kind: ErrorKind::Io,
            file: name.clone(),
            line: 0,
            col: 0,
            construct: String::new(),
            message: format!("cannot read the file: {e}"),
            source_line: String::new(),
            width: 0,
        })
    })?;
    // NEURON reads bytes; non-ASCII bytes are reported by the lexer (outside comments), so a
    // lossy conversion loses nothing that matters.
    let text = String::from_utf8_lossy(&bytes);
    analyse_str(&name, &text)
}
