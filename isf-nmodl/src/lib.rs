//! NMODL front end for isf: reads the mechanism files NEURON users write (`.mod`), as NEURON
//! 9.0.2's translator accepts them, and produces an [`AnalysedModel`] for code generation.
//!
//! Pipeline: [`lexer`] → [`parser`] (syntax tree, [`ast`], spans on every node) → [`sema`]
//! (symbol table, checks, [`units`], recognised VERBATIM idioms) → [`model::AnalysedModel`].
//! Every error is an [`Error`] listing diagnostics with file, line, column, the construct and a
//! caret line. See `docs/nmodl.md` for the supported language and what is refused.

#![warn(missing_docs)]

pub mod ast;
pub mod cnexp;
pub mod dump;
pub mod error;
pub mod eval;
pub mod idiom;
pub mod lexer;
pub mod linearity;
pub mod lower;
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

/// Deepest chain of INCLUDEs followed (a cycle ends here with an error).
const MAX_INCLUDE_DEPTH: usize = 16;
/// Most INCLUDEs read for one file (a file including itself twice would otherwise double the
/// work at every level).
const MAX_INCLUDES: usize = 256;

fn read_source(path: &Path, name: &str) -> std::result::Result<SourceFile, String> {
    let bytes = std::fs::read(path).map_err(|e| format!("cannot read the file: {e}"))?;
    // NEURON reads bytes; non-ASCII bytes are reported by the lexer (outside comments), so a
    // lossy conversion loses nothing that matters.
    Ok(SourceFile::new(
        name,
        String::from_utf8_lossy(&bytes).as_ref(),
    ))
}

/// Where NEURON looks for `INCLUDE "name"`: an absolute path as is; else the including file's
/// folder, the working directory, its parent, then each folder of `MODL_INCLUDE` (`:`-separated).
fn find_include(name: &str, including: &Path) -> Option<std::path::PathBuf> {
    let p = Path::new(name);
    if p.is_absolute() {
        return p.is_file().then(|| p.to_path_buf());
    }
    let mut candidates = Vec::new();
    if let Some(dir) = including.parent() {
        candidates.push(dir.join(name));
    }
    candidates.push(p.to_path_buf());
    candidates.push(Path::new("..").join(name));
    if let Ok(dirs) = std::env::var("MODL_INCLUDE") {
        for d in dirs.split(':').filter(|d| !d.is_empty()) {
            candidates.push(Path::new(d).join(name));
        }
    }
    candidates.into_iter().find(|c| c.is_file())
}

/// Replaces each top-level INCLUDE by the items of the file it names (recursively).
fn expand_includes(
    module: &mut ast::Module,
    path: &Path,
    src: &SourceFile,
    included: &mut Vec<SourceFile>,
    depth: usize,
    budget: &mut usize,
) -> Result<()> {
    let mut items = Vec::with_capacity(module.items.len());
    let mut diags = Vec::new();
    for item in std::mem::take(&mut module.items) {
        let ast::ItemKind::Include(name) = &item.kind else {
            items.push(item);
            continue;
        };
        let fail = |msg: String| Diagnostic::at(src, &item.span, ErrorKind::Io, "INCLUDE", msg);
        if depth >= MAX_INCLUDE_DEPTH {
            diags.push(fail(format!(
                "INCLUDEs nested deeper than {MAX_INCLUDE_DEPTH} (an INCLUDE cycle?)"
            )));
            continue;
        }
        if *budget == 0 {
            diags.push(fail(format!("more than {MAX_INCLUDES} INCLUDEs")));
            continue;
        }
        *budget -= 1;
        let Some(found) = find_include(name, path) else {
            diags.push(fail(format!(
                "INCLUDE file `{name}` not found (looked beside the file, in the working directory, its parent and MODL_INCLUDE)"
            )));
            continue;
        };
        let inc_src = match read_source(&found, &found.display().to_string()) {
            Ok(s) => s,
            Err(e) => {
                diags.push(fail(format!("INCLUDE file `{}`: {e}", found.display())));
                continue;
            }
        };
        match parser::parse(&inc_src) {
            Ok(mut m) => {
                if let Err(e) =
                    expand_includes(&mut m, &found, &inc_src, included, depth + 1, budget)
                {
                    diags.extend(e.diagnostics);
                }
                items.extend(m.items);
                included.push(inc_src);
            }
            Err(e) => diags.extend(e.diagnostics),
        }
    }
    module.items = items;
    if diags.is_empty() {
        Ok(())
    } else {
        Err(Error { diagnostics: diags })
    }
}

/// Reads, parses and analyses a `.mod` file (INCLUDEd files are read as NEURON finds them).
pub fn analyse_file(path: &Path) -> Result<AnalysedModel> {
    let name = path.display().to_string();
    let src = read_source(path, &name).map_err(|message| {
        Error::single(Diagnostic {
            kind: ErrorKind::Io,
            file: name.clone(),
            line: 0,
            col: 0,
            construct: String::new(),
            message,
            source_line: String::new(),
            width: 0,
        })
    })?;
    let mut module = parser::parse(&src)?;
    let mut included = Vec::new();
    expand_includes(
        &mut module,
        path,
        &src,
        &mut included,
        0,
        &mut MAX_INCLUDES.clone(),
    )?;
    sema::analyse_with_includes(&src, &included, module)
}
