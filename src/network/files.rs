//! Readers for ISF's synapse realization (`.syn`) and connectivity (`.con`) files
//! (docs/formats.md#synapse-and-connection-files).
//!
//! Both are TAB-separated text; blank lines and lines starting with `#` are skipped. Per
//! population, entries keep file order: the n-th `.syn` line of a population is its synapse ID n,
//! and `.con` lines are processed in file order (it decides the order of random draws).

use super::NetworkError;
use indexmap::IndexMap;
use std::path::{Path, PathBuf};

/// One `.syn` entry: a synapse location on the postsynaptic cell.
#[derive(Debug, Clone, PartialEq)]
pub struct SynapseLocation {
    /// Section ID (index in the cell's section list, hoc order plus artificial axon).
    pub section: usize,
    /// Relative position along the section, as written in the file.
    pub x: f64,
    /// Pruned synapses (4th column ≠ 0) are never activated.
    pub pruned: bool,
    /// 1-based line number in the file (for error messages).
    pub line: usize,
}

/// A parsed `.syn` file: synapse locations per population, populations in order of first
/// appearance.
#[derive(Debug, Clone)]
pub struct SynapseRealization {
    /// Path the file was read from.
    pub path: PathBuf,
    /// Locations per population; the index in the vector is the synapse ID.
    pub populations: IndexMap<String, Vec<SynapseLocation>>,
}

/// One `.con` entry: synapse `synapse_id` of a population is driven by presynaptic cell `cell_id`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Connection {
    /// Index of the presynaptic cell within its population.
    pub cell_id: usize,
    /// Synapse ID within the population (index into its `.syn` entries).
    pub synapse_id: usize,
    /// 1-based line number in the file (for error messages).
    pub line: usize,
}

/// A parsed `.con` file: connections per population in file order.
#[derive(Debug, Clone)]
pub struct ConnectionMap {
    /// Path the file was read from.
    pub path: PathBuf,
    /// `.syn` basename named in the second comment line (informational only, as in ISF).
    pub anatomical_id: Option<String>,
    /// Connections per population, in file order.
    pub populations: IndexMap<String, Vec<Connection>>,
    /// Number of lines in the file (where a missing entry is reported).
    pub last_line: usize,
}

fn read_text(path: &Path) -> Result<String, NetworkError> {
    crate::text::read_text(path).map_err(|e| match e {
        crate::text::ReadTextError::Io(source) => NetworkError::Io {
            path: path.to_path_buf(),
            source,
        },
        e => syntax(path, e.line(), e.to_string()),
    })
}

fn syntax(path: &Path, line: usize, msg: String) -> NetworkError {
    NetworkError::Syntax {
        path: path.to_path_buf(),
        line,
        msg,
    }
}

/// Splits a data line into TAB-separated fields (ISF's files use TABs; runs of other whitespace
/// are accepted too, since population names never contain blanks).
fn fields(line: &str) -> impl Iterator<Item = &str> {
    line.split_whitespace()
}

fn parse_index(path: &Path, line: usize, what: &str, s: &str) -> Result<usize, NetworkError> {
    s.parse::<usize>().map_err(|_| {
        syntax(
            path,
            line,
            format!("{what} `{s}` is not a non-negative integer"),
        )
    })
}

impl SynapseRealization {
    /// Reads a `.syn` file.
    pub fn read(path: &Path) -> Result<Self, NetworkError> {
        let text = read_text(path)?;
        Self::parse(path, &text)
    }

    /// Parses the text of a `.syn` file (`path` is used in error messages only).
    pub fn parse(path: &Path, text: &str) -> Result<Self, NetworkError> {
        let mut populations: IndexMap<String, Vec<SynapseLocation>> = IndexMap::new();
        for (i, raw) in text.lines().enumerate() {
            let line = i + 1;
            let t = raw.trim();
            if t.is_empty() || t.starts_with('#') {
                continue;
            }
            let f: Vec<&str> = fields(t).collect();
            if f.len() != 3 && f.len() != 4 {
                return Err(syntax(
                    path,
                    line,
                    format!(
                        "expected `population<TAB>section<TAB>x[<TAB>pruned]`, found {} fields",
                        f.len()
                    ),
                ));
            }
            let section = parse_index(path, line, "section ID", f[1])?;
            let x: f64 = f[2]
                .parse()
                .map_err(|_| syntax(path, line, format!("x `{}` is not a number", f[2])))?;
            if !(0.0..=1.0).contains(&x) {
                return Err(syntax(path, line, format!("x = {x} is outside [0, 1]")));
            }
            let pruned = match f.get(3) {
                None => false,
                Some(s) => {
                    s.parse::<i64>().map_err(|_| {
                        syntax(path, line, format!("pruned flag `{s}` is not an integer"))
                    })? != 0
                }
            };
            populations
                .entry(f[0].to_string())
                .or_default()
                .push(SynapseLocation {
                    section,
                    x,
                    pruned,
                    line,
                });
        }
        Ok(SynapseRealization {
            path: path.to_path_buf(),
            populations,
        })
    }
}

impl ConnectionMap {
    /// Reads a `.con` file.
    pub fn read(path: &Path) -> Result<Self, NetworkError> {
        let text = read_text(path)?;
        Self::parse(path, &text)
    }

    /// Parses the text of a `.con` file (`path` is used in error messages only).
    pub fn parse(path: &Path, text: &str) -> Result<Self, NetworkError> {
        let mut populations: IndexMap<String, Vec<Connection>> = IndexMap::new();
        let mut comments = 0;
        let mut anatomical_id = None;
        let mut last_line = 0;
        for (i, raw) in text.lines().enumerate() {
            let line = i + 1;
            last_line = line;
            let t = raw.trim();
            if t.is_empty() {
                continue;
            }
            if t.starts_with('#') {
                comments += 1;
                if comments == 2 {
                    anatomical_id = t.split(' ').next_back().map(str::to_string);
                }
                continue;
            }
            let f: Vec<&str> = fields(t).collect();
            if f.len() != 3 {
                return Err(syntax(
                    path,
                    line,
                    format!(
                        "expected `population<TAB>cell ID<TAB>synapse ID`, found {} fields",
                        f.len()
                    ),
                ));
            }
            let cell_id = parse_index(path, line, "cell ID", f[1])?;
            let synapse_id = parse_index(path, line, "synapse ID", f[2])?;
            populations
                .entry(f[0].to_string())
                .or_default()
                .push(Connection {
                    cell_id,
                    synapse_id,
                    line,
                });
        }
        Ok(ConnectionMap {
            path: path.to_path_buf(),
            anatomical_id,
            populations,
            last_line,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn syn_file_numbers_synapses_per_population() {
        let text = "# Synapse distribution file\n# corresponding to cell: x\n\n\
                    A\t3\t0.5\nB\t1\t0.25\t1\nA\t4\t1.0\n";
        let r = SynapseRealization::parse(Path::new("t.syn"), text).unwrap();
        assert_eq!(r.populations.keys().collect::<Vec<_>>(), ["A", "B"]);
        assert_eq!(r.populations["A"][1].section, 4);
        assert_eq!(r.populations["A"][1].line, 6);
        assert!(r.populations["B"][0].pruned);
        assert!(!r.populations["A"][0].pruned);
    }

    #[test]
    fn syn_errors_name_file_and_line() {
        let e = SynapseRealization::parse(Path::new("t.syn"), "A\t3\n").unwrap_err();
        assert!(e.to_string().contains("t.syn:1"), "{e}");
        let e = SynapseRealization::parse(Path::new("t.syn"), "\nA\t-3\t0.1\n").unwrap_err();
        assert!(e.to_string().contains("t.syn:2"), "{e}");
        let e = SynapseRealization::parse(Path::new("t.syn"), "A\t3\t1.5\n").unwrap_err();
        assert!(e.to_string().contains("outside"), "{e}");
    }

    #[test]
    fn con_file_keeps_order_and_header_id() {
        let text =
            "# Anatomical connectivity realization file; only valid with synapse realization:\n\
                    # 86_C2_center.syn\n# Type - cell ID - synapse ID\n\nP\t4\t5\nP\t0\t0\n";
        let c = ConnectionMap::parse(Path::new("t.con"), text).unwrap();
        assert_eq!(c.anatomical_id.as_deref(), Some("86_C2_center.syn"));
        let p = &c.populations["P"];
        assert_eq!((p[0].cell_id, p[0].synapse_id, p[0].line), (4, 5, 5));
        assert_eq!((p[1].cell_id, p[1].synapse_id), (0, 0));
        let e = ConnectionMap::parse(Path::new("t.con"), "P\t1\n").unwrap_err();
        assert!(e.to_string().contains("t.con:1"), "{e}");
    }
}
