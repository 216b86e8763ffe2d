//! Parameter files: ISF's `.param` syntax (a strict superset), the ordered value tree with source spans, and typed views of cell and network parameters.
//!
//! ISF reads a `.param` file by rewriting its text into JSON. We parse the Python-literal-like
//! syntax directly instead (see the `parser` module), which accepts everything ISF accepts plus comments,
//! nested tuples, `True`/`False` and trailing commas everywhere, and reports errors with file,
//! line, column and dotted key.

pub mod cell_params;
pub mod json;
pub mod network_params;
mod parser;
pub mod python_float;

use std::fmt;
use std::path::{Path, PathBuf};

pub use cell_params::{CellParams, Discretization, LabelParams, NeuronParams, SimParams, Spines};
pub use json::to_json_pretty;
pub use network_params::{NetworkParams, Population, ReceptorSpec, ReleaseProb, SynapseSpec};

/// A 1-based source position (column counted in characters).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Span {
    /// Line, from 1.
    pub line: u32,
    /// Column in characters, from 1.
    pub col: u32,
}

/// A parsed value. Integers and floats stay distinct (`-90` vs `-90.0`), as in ISF.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// `None` or `null`.
    Null,
    /// `True`/`true` or `False`/`false`.
    Bool(bool),
    /// An integer literal.
    Int(i64),
    /// A number with a fraction or exponent, `NaN` or `Infinity`.
    Float(f64),
    /// A single- or double-quoted string.
    Str(String),
    /// `[…]`.
    List(Vec<Node>),
    /// `(…)`; ISF reads it as a list.
    Tuple(Vec<Node>),
    /// `{…}`, in file order.
    Dict(Dict),
}

/// A value with the position where it starts in the source text.
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    /// The value.
    pub value: Value,
    /// Where it starts.
    pub span: Span,
}

/// A dict keeps the file's key order, which ISF relies on (it fixes the order of random draws).
pub type Dict = indexmap::IndexMap<String, Node>;

impl Value {
    /// The name of this value's type, for error messages.
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::Null => "null",
            Value::Bool(_) => "a boolean",
            Value::Int(_) => "an integer",
            Value::Float(_) => "a float",
            Value::Str(_) => "a string",
            Value::List(_) => "a list",
            Value::Tuple(_) => "a tuple",
            Value::Dict(_) => "a dict",
        }
    }
}

impl Node {
    /// A node without a source position (for values set by code).
    pub fn new(value: Value) -> Node {
        Node {
            value,
            span: Span::default(),
        }
    }

    /// The entry `key` of a dict; `None` if absent or if this is not a dict.
    pub fn get(&self, key: &str) -> Option<&Node> {
        self.as_dict().and_then(|d| d.get(key))
    }

    /// Mutable access to the entry `key` of a dict.
    pub fn get_mut(&mut self, key: &str) -> Option<&mut Node> {
        match &mut self.value {
            Value::Dict(d) => d.get_mut(key),
            _ => None,
        }
    }

    /// A number (integer or float) as `f64`.
    pub fn as_f64(&self) -> Option<f64> {
        match self.value {
            Value::Int(i) => Some(i as f64),
            Value::Float(x) => Some(x),
            _ => None,
        }
    }

    /// An integer; floats are not converted.
    pub fn as_i64(&self) -> Option<i64> {
        match self.value {
            Value::Int(i) => Some(i),
            _ => None,
        }
    }

    /// A string.
    pub fn as_str(&self) -> Option<&str> {
        match &self.value {
            Value::Str(s) => Some(s),
            _ => None,
        }
    }

    /// A boolean.
    pub fn as_bool(&self) -> Option<bool> {
        match self.value {
            Value::Bool(b) => Some(b),
            _ => None,
        }
    }

    /// A dict.
    pub fn as_dict(&self) -> Option<&Dict> {
        match &self.value {
            Value::Dict(d) => Some(d),
            _ => None,
        }
    }

    /// The elements of a list or a tuple (ISF does not distinguish them).
    pub fn as_seq(&self) -> Option<&[Node]> {
        match &self.value {
            Value::List(v) | Value::Tuple(v) => Some(v),
            _ => None,
        }
    }

    /// Whether the value is `None`/`null`.
    pub fn is_null(&self) -> bool {
        matches!(self.value, Value::Null)
    }

    /// The value's kind as error messages name it (`dict`, `string`, …).
    pub fn type_name(&self) -> &'static str {
        self.value.type_name()
    }

    /// Sets the value at a dotted path (`"sim.tStop"`), creating missing intermediate dicts.
    /// An existing key keeps its position. Fails (with the offending prefix) when an intermediate
    /// value is not a dict.
    pub fn set_path(&mut self, dotted: &str, value: Value) -> Result<(), String> {
        let mut node = self;
        let parts: Vec<&str> = dotted.split('.').collect();
        for (i, part) in parts.iter().enumerate() {
            let span = node.span;
            let type_name = node.type_name();
            let Value::Dict(d) = &mut node.value else {
                return Err(format!(
                    "`{}` is {}, not a dict",
                    parts[..i].join("."),
                    type_name
                ));
            };
            if i + 1 == parts.len() {
                match d.get_mut(*part) {
                    Some(existing) => existing.value = value,
                    None => {
                        d.insert(part.to_string(), Node { value, span });
                    }
                }
                return Ok(());
            }
            node = d.entry(part.to_string()).or_insert_with(|| Node {
                value: Value::Dict(Dict::new()),
                span,
            });
        }
        Ok(())
    }
}

/// An error in a parameter file (syntax or meaning), pointing at file, line, column and key.
#[derive(Debug, Clone, PartialEq)]
pub struct ParamError {
    /// The parameter file.
    pub file: PathBuf,
    /// 1-based; 0 when the error concerns the whole file (e.g. it cannot be read).
    pub line: u32,
    /// Column in characters, from 1; 0 when unknown.
    pub col: u32,
    /// Dotted key path of the offending entry, if known.
    pub key: Option<String>,
    /// What is wrong.
    pub message: String,
    /// The offending source line and a caret under the column (empty when unknown).
    pub excerpt: String,
}

impl fmt::Display for ParamError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file.display())?;
        if self.line > 0 {
            write!(f, ":{}:{}", self.line, self.col)?;
        }
        write!(f, ": ")?;
        if let Some(k) = &self.key {
            write!(f, "key `{k}`: ")?;
        }
        write!(f, "{}", self.message)?;
        if !self.excerpt.is_empty() {
            write!(f, "\n{}", self.excerpt)?;
        }
        Ok(())
    }
}

impl std::error::Error for ParamError {}

impl ParamError {
    /// An error about a whole file (no position).
    pub fn file_error(file: &Path, message: impl Into<String>) -> ParamError {
        ParamError {
            file: file.to_path_buf(),
            line: 0,
            col: 0,
            key: None,
            message: message.into(),
            excerpt: String::new(),
        }
    }

    /// An error at `span` of `text`, with an excerpt of the line.
    pub fn at(
        file: &Path,
        text: &str,
        span: Span,
        key: Option<String>,
        message: impl Into<String>,
    ) -> ParamError {
        ParamError {
            file: file.to_path_buf(),
            line: span.line,
            col: span.col,
            key,
            message: message.into(),
            excerpt: excerpt(text, span),
        }
    }
}

/// Widest part of a line shown in an excerpt, in characters (network files have very long lines).
const EXCERPT_WIDTH: usize = 72;

/// `  12 |   "Ra": "x",` and a caret line under `span.col`. Tabs before the caret are kept so
/// the caret lines up in a terminal whatever its tab width.
fn excerpt(text: &str, span: Span) -> String {
    if span.line == 0 {
        return String::new();
    }
    let Some(line) = text.split('\n').nth(span.line as usize - 1) else {
        return String::new();
    };
    let chars: Vec<char> = line.trim_end_matches('\r').chars().collect();
    let col0 = (span.col.max(1) as usize - 1).min(chars.len());
    let (start, end) = if chars.len() <= EXCERPT_WIDTH {
        (0, chars.len())
    } else {
        let start = col0.saturating_sub(EXCERPT_WIDTH / 2);
        let end = (start + EXCERPT_WIDTH).min(chars.len());
        (end.saturating_sub(EXCERPT_WIDTH), end)
    };
    let mut shown: String = chars[start..end].iter().collect();
    let mut pad: String = chars[start..col0]
        .iter()
        .map(|&c| if c == '\t' { '\t' } else { ' ' })
        .collect();
    if start > 0 {
        shown.insert_str(0, "...");
        pad.insert_str(0, "   ");
    }
    if end < chars.len() {
        shown.push_str("...");
    }
    let num = span.line.to_string();
    let gutter = " ".repeat(num.len());
    format!("  {num} | {shown}\n  {gutter} | {pad}^")
}

/// A parsed parameter file: the source text (kept for error excerpts) and the value tree.
#[derive(Debug, Clone)]
pub struct ParamFile {
    /// The file as given.
    pub path: PathBuf,
    /// Its text, for error excerpts.
    pub text: String,
    /// The parsed top-level value.
    pub root: Node,
}

impl ParamFile {
    /// Reads and parses `path`. ISF's database URLs (`mdb://`, `reldb://`) are not supported.
    pub fn read(path: &Path) -> Result<ParamFile, ParamError> {
        let text = crate::text::read_text(path).map_err(|e| match e {
            crate::text::ReadTextError::Io(e) => {
                ParamError::file_error(path, format!("cannot read parameter file: {e}"))
            }
            e => ParamError {
                file: path.to_path_buf(),
                line: e.line() as u32,
                col: e.col() as u32,
                key: None,
                message: "not UTF-8 text".into(),
                excerpt: String::new(),
            },
        })?;
        Self::parse(&text, path)
    }

    /// Parses `text`; `path` is used in errors and to resolve relative paths.
    pub fn parse(text: &str, path: &Path) -> Result<ParamFile, ParamError> {
        let root = parser::parse(text, path)?;
        Ok(ParamFile {
            path: path.to_path_buf(),
            text: text.to_string(),
            root,
        })
    }

    /// A path from the file, made absolute against the file's folder when relative
    /// (ISF's example files name morphologies and embeddings relative to themselves).
    pub fn resolve_path(&self, s: &str) -> PathBuf {
        let p = Path::new(s);
        if p.is_absolute() {
            return p.to_path_buf();
        }
        match self.path.parent() {
            Some(dir) => dir.join(p),
            None => p.to_path_buf(),
        }
    }

    /// An error about `node` (found under dotted `key`) in this file.
    pub fn error_at(&self, node: &Node, key: &str, msg: impl Into<String>) -> ParamError {
        let key = (!key.is_empty()).then(|| key.to_string());
        ParamError::at(&self.path, &self.text, node.span, key, msg)
    }

    /// Sets the value at a dotted path (e.g. the `tStop` override of ISF's simrun functions).
    pub fn set_path(&mut self, dotted: &str, value: Value) -> Result<(), ParamError> {
        self.root
            .set_path(dotted, value)
            .map_err(|m| ParamError::file_error(&self.path, format!("cannot set `{dotted}`: {m}")))
    }

    /// The node at a dotted path, if present.
    pub fn get_path(&self, dotted: &str) -> Option<&Node> {
        dotted.split('.').try_fold(&self.root, |n, k| n.get(k))
    }

    /// ISF's `ParameterSet.save` text (`json.dump(…, indent=4)`).
    pub fn to_json_pretty(&self) -> String {
        json::to_json_pretty(&self.root)
    }
}

/// Helpers for typed views: fetch and check entries, with errors naming file, line and key.
pub(crate) struct View<'a> {
    pub file: &'a ParamFile,
}

impl<'a> View<'a> {
    pub fn err(&self, node: &Node, key: &str, msg: impl Into<String>) -> ParamError {
        self.file.error_at(node, key, msg)
    }

    pub fn dict<'n>(&self, node: &'n Node, key: &str) -> Result<&'n Dict, ParamError> {
        node.as_dict().ok_or_else(|| {
            self.err(
                node,
                key,
                format!("expected a dict, found {}", node.type_name()),
            )
        })
    }

    /// The entry `name` of dict `node` (whose own dotted path is `key`), required.
    pub fn req<'n>(&self, node: &'n Node, key: &str, name: &str) -> Result<&'n Node, ParamError> {
        self.dict(node, key)?;
        node.get(name)
            .ok_or_else(|| self.err(node, key, format!("missing required key `{name}`")))
    }

    pub fn num(&self, node: &Node, key: &str) -> Result<f64, ParamError> {
        node.as_f64().ok_or_else(|| {
            self.err(
                node,
                key,
                format!("expected a number, found {}", node.type_name()),
            )
        })
    }

    pub fn finite(&self, node: &Node, key: &str) -> Result<f64, ParamError> {
        let x = self.num(node, key)?;
        if x.is_finite() {
            Ok(x)
        } else {
            Err(self.err(node, key, format!("expected a finite number, found {x}")))
        }
    }

    /// A finite number ≥ 0.
    pub fn non_negative(&self, node: &Node, key: &str) -> Result<f64, ParamError> {
        let x = self.finite(node, key)?;
        if x >= 0.0 {
            Ok(x)
        } else {
            Err(self.err(node, key, format!("must be ≥ 0, found {x}")))
        }
    }

    pub fn string<'n>(&self, node: &'n Node, key: &str) -> Result<&'n str, ParamError> {
        node.as_str().ok_or_else(|| {
            self.err(
                node,
                key,
                format!("expected a string, found {}", node.type_name()),
            )
        })
    }

    /// A dict of finite numbers.
    pub fn num_map(
        &self,
        node: &Node,
        key: &str,
    ) -> Result<indexmap::IndexMap<String, f64>, ParamError> {
        let d = self.dict(node, key)?;
        d.iter()
            .map(|(k, v)| Ok((k.clone(), self.finite(v, &join(key, k))?)))
            .collect()
    }

    /// A dict's entries in order, raw (`{name: kwargs}` lists of modify functions).
    pub fn entries(&self, node: &Node, key: &str) -> Result<Vec<(String, Node)>, ParamError> {
        let d = self.dict(node, key)?;
        Ok(d.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
    }
}

/// `a.b` (or `b` when `a` is empty).
pub(crate) fn join(prefix: &str, key: &str) -> String {
    if prefix.is_empty() {
        key.to_string()
    } else {
        format!("{prefix}.{key}")
    }
}

#[cfg(test)]
mod tests;
