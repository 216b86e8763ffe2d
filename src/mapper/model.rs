//! The barrel-cortex model's tables and folder tree (docs/mapper.md#inputs,
//! docs/mapper.md#cell-numbers, docs/mapper.md#pst-densities, docs/mapper.md#cell-type-classes):
//! presynaptic cell counts (`nrCells.csv`), PST densities per postsynaptic type
//! (`ConnectionsV8.csv`), excitatory/inhibitory classes, and the bouton field tree
//! `singleaxon_boutons_ascii/<column>/<type>/*.am`.
//!
//! Columns and types come from the data; ISF's 22 types, 24 columns and class lists are defaults.

use std::path::{Path, PathBuf};

use indexmap::IndexMap;

use super::MapperError;

/// ISF's excitatory presynaptic types (docs/mapper.md#cell-type-classes).
pub const ISF_EXCITATORY: [&str; 11] = [
    "VPM", "L2", "L34", "L4py", "L4sp", "L4ss", "L5st", "L5tt", "L6cc", "L6ccinv", "L6ct",
];
/// ISF's inhibitory presynaptic types (docs/mapper.md#cell-type-classes).
pub const ISF_INHIBITORY: [&str; 11] = [
    "SymLocal1",
    "SymLocal2",
    "SymLocal3",
    "SymLocal4",
    "SymLocal5",
    "SymLocal6",
    "L1",
    "L23Trans",
    "L45Sym",
    "L45Peak",
    "L56Trans",
];
/// The type order of ISF's summary file (docs/mapper.md#summary-file).
pub const ISF_SUMMARY_TYPE_ORDER: [&str; 22] = [
    "L2",
    "L34",
    "L4py",
    "L4sp",
    "L4ss",
    "L5st",
    "L5tt",
    "L6cc",
    "L6ccinv",
    "L6ct",
    "VPM",
    "L1",
    "L23Trans",
    "L45Peak",
    "L45Sym",
    "L56Trans",
    "SymLocal1",
    "SymLocal2",
    "SymLocal3",
    "SymLocal4",
    "SymLocal5",
    "SymLocal6",
];
/// ISF's 24 barrel columns (the zero-filled rows of `NumberOfConnectedCells.csv`,
/// docs/mapper.md#number-of-connected-cells).
pub const ISF_COLUMNS: [&str; 24] = [
    "Alpha", "A1", "A2", "A3", "A4", "Beta", "B1", "B2", "B3", "B4", "Gamma", "C1", "C2", "C3",
    "C4", "Delta", "D1", "D2", "D3", "D4", "E1", "E2", "E3", "E4",
];

/// Excitatory or inhibitory presynaptic class: selects the PST normalisation field and the
/// `ConnectionsV8` row.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CellClass {
    /// Excitatory presynaptic type.
    Excitatory,
    /// Inhibitory presynaptic type.
    Inhibitory,
}

/// Map from cell type to class; starts from ISF's lists, extendable for new types.
#[derive(Debug, Clone)]
pub struct CellClasses(pub IndexMap<String, CellClass>);

impl Default for CellClasses {
    fn default() -> Self {
        let mut m = IndexMap::new();
        for t in ISF_EXCITATORY {
            m.insert(t.to_string(), CellClass::Excitatory);
        }
        for t in ISF_INHIBITORY {
            m.insert(t.to_string(), CellClass::Inhibitory);
        }
        CellClasses(m)
    }
}

impl CellClasses {
    /// The class of `cell_type`, or an error telling how to declare it.
    pub fn class_of(&self, cell_type: &str) -> Result<CellClass, MapperError> {
        self.0.get(cell_type).copied().ok_or_else(|| {
            MapperError::Model(format!(
                "cell type `{cell_type}` is neither excitatory nor inhibitory; declare it with --excitatory/--inhibitory"
            ))
        })
    }
}

/// `nrCells.csv`: presynaptic cells per (column, type), in file order.
#[derive(Debug, Clone, PartialEq)]
pub struct CellCounts {
    /// Header order.
    pub columns: Vec<String>,
    /// Row order.
    pub types: Vec<String>,
    /// `counts[column][type]`.
    pub counts: Vec<Vec<u32>>,
}

impl CellCounts {
    /// Reads the tab-separated table (header `CELL TYPE\t<col>…`, rows `<type>\t<n>…`).
    pub fn read(path: &Path) -> Result<Self, MapperError> {
        let text = MapperError::read_text(path)?;
        Self::parse(&text, path)
    }

    /// Parses the table text; `path` is for messages. A 0 count is allowed (that
    /// (column, type) simply has no cells; ISF divides by it).
    pub fn parse(text: &str, path: &Path) -> Result<Self, MapperError> {
        let mut columns: Option<Vec<String>> = None;
        let mut types = Vec::new();
        let mut rows: Vec<Vec<u32>> = Vec::new();
        let mut total = 0u64;
        for (idx, raw) in text.lines().enumerate() {
            let lineno = idx + 1;
            if raw.trim().is_empty() {
                continue;
            }
            let fields: Vec<&str> = raw.trim_end_matches(['\r', '\n']).split('\t').collect();
            match &columns {
                None => {
                    if fields[0].trim() != "CELL TYPE" {
                        return Err(MapperError::parse(
                            path,
                            lineno,
                            "header must start with `CELL TYPE` (tab-separated)",
                        ));
                    }
                    let cols: Vec<String> = fields[1..]
                        .iter()
                        .map(|s| s.trim().to_string())
                        .filter(|s| !s.is_empty())
                        .collect();
                    if cols.is_empty() {
                        return Err(MapperError::parse(path, lineno, "no columns in header"));
                    }
                    columns = Some(cols);
                }
                Some(cols) => {
                    let name = fields[0].trim().to_string();
                    let vals: Vec<&str> = fields[1..]
                        .iter()
                        .map(|s| s.trim())
                        .filter(|s| !s.is_empty())
                        .collect();
                    if vals.len() != cols.len() {
                        return Err(MapperError::parse(
                            path,
                            lineno,
                            format!(
                                "row `{name}` has {} counts, the header has {} columns",
                                vals.len(),
                                cols.len()
                            ),
                        ));
                    }
                    if types.contains(&name) {
                        return Err(MapperError::parse(
                            path,
                            lineno,
                            format!("cell type `{name}` listed twice"),
                        ));
                    }
                    let row = vals
                        .iter()
                        .map(|v| {
                            let n = v.parse::<u32>().map_err(|_| {
                                MapperError::parse(
                                    path,
                                    lineno,
                                    format!("`{v}` is not a non-negative integer cell count"),
                                )
                            })?;
                            if n > MAX_CELLS_PER_ENTRY {
                                return Err(MapperError::parse(
                                    path,
                                    lineno,
                                    format!(
                                        "{n} cells of `{name}` is more than the limit of \
                                         {MAX_CELLS_PER_ENTRY} per column and type"
                                    ),
                                ));
                            }
                            total += u64::from(n);
                            Ok(n)
                        })
                        .collect::<Result<Vec<_>, _>>()?;
                    if total > MAX_CELLS_TOTAL {
                        return Err(MapperError::parse(
                            path,
                            lineno,
                            format!(
                                "{total} cells so far, more than the limit of {MAX_CELLS_TOTAL} \
                                 in all"
                            ),
                        ));
                    }
                    types.push(name);
                    rows.push(row);
                }
            }
        }
        let last = text.lines().count();
        let columns =
            columns.ok_or_else(|| MapperError::parse(path, last, "end of file: empty table"))?;
        if types.is_empty() {
            return Err(MapperError::parse(
                path,
                last,
                "end of file: no cell-type rows",
            ));
        }
        let counts = (0..columns.len())
            .map(|c| rows.iter().map(|r| r[c]).collect())
            .collect();
        Ok(CellCounts {
            columns,
            types,
            counts,
        })
    }

    /// Cells of `(column index, type index)`.
    pub fn count(&self, column: usize, cell_type: usize) -> u32 {
        self.counts[column][cell_type]
    }
}

/// The density columns of `ConnectionsV8.csv`, in file order (for messages).
const PST_COLUMNS: [&str; 6] = [
    "SOMA_LENGTH",
    "APICAL_LENGTH",
    "BASAL_LENGTH",
    "SOMA_AREA",
    "APICAL_AREA",
    "BASAL_AREA",
];

/// Most presynaptic cells of one (column, type) in `nrCells.csv`, and of all of them together:
/// the whole rat barrel-cortex model has about 536 000; realizations loop over every cell.
pub const MAX_CELLS_PER_ENTRY: u32 = 1_000_000;
/// See [`MAX_CELLS_PER_ENTRY`].
pub const MAX_CELLS_TOTAL: u64 = 10_000_000;

/// PST densities of one postsynaptic type for one presynaptic class: per µm of length and per
/// µm² of (ISF-convention) area, per structure.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct PstDensities {
    /// Per µm of soma.
    pub soma_length: f64,
    /// Per µm of apical dendrite.
    pub apical_length: f64,
    /// Per µm of basal dendrite.
    pub basal_length: f64,
    /// Per µm² of soma.
    pub soma_area: f64,
    /// Per µm² of apical dendrite.
    pub apical_area: f64,
    /// Per µm² of basal dendrite.
    pub basal_area: f64,
}

/// `ConnectionsV8.csv`: PST densities per postsynaptic type, for excitatory and inhibitory
/// presynaptic partners.
#[derive(Debug, Clone, Default)]
pub struct PstTable {
    /// For excitatory partners, by postsynaptic type.
    pub excitatory: IndexMap<String, PstDensities>,
    /// For inhibitory partners, by postsynaptic type.
    pub inhibitory: IndexMap<String, PstDensities>,
    /// Lines of the file (a row missing from it is reported at its last line).
    pub lines: usize,
}

impl PstTable {
    /// Reads the tab-separated table; fields 2–7 are taken by position (soma/apical/basal length,
    /// then soma/apical/basal area), as ISF does.
    pub fn read(path: &Path) -> Result<Self, MapperError> {
        let text = MapperError::read_text(path)?;
        Self::parse(&text, path)
    }

    /// Parses the table text; `path` is for messages.
    pub fn parse(text: &str, path: &Path) -> Result<Self, MapperError> {
        let mut table = PstTable {
            lines: text.lines().count(),
            ..Default::default()
        };
        for (idx, raw) in text.lines().enumerate() {
            let lineno = idx + 1;
            if raw.trim().is_empty() {
                continue;
            }
            let f: Vec<&str> = raw.split('\t').map(|s| s.trim()).collect();
            if f[0] == "PRESYNAPTIC_CELLTYPE" {
                continue;
            }
            let target = if f[0].contains("EXCITATORY") {
                &mut table.excitatory
            } else if f[0].contains("INHIBITORY") {
                &mut table.inhibitory
            } else {
                return Err(MapperError::parse(
                    path,
                    lineno,
                    format!(
                        "first field `{}` is neither EXCITATORY nor INHIBITORY",
                        f[0]
                    ),
                ));
            };
            if f.len() < 8 {
                return Err(MapperError::parse(
                    path,
                    lineno,
                    format!("expected 8 tab-separated fields, found {}", f.len()),
                ));
            }
            let mut v = [0.0; 6];
            for (i, slot) in v.iter_mut().enumerate() {
                *slot = f[2 + i]
                    .parse::<f64>()
                    .ok()
                    .filter(|x| x.is_finite())
                    .ok_or_else(|| {
                        MapperError::parse(path, lineno, format!("`{}` is not a number", f[2 + i]))
                    })?;
                if *slot < 0.0 {
                    return Err(MapperError::parse(
                        path,
                        lineno,
                        format!(
                            "{} of `{}`: negative density `{}`",
                            PST_COLUMNS[i],
                            f[1],
                            f[2 + i]
                        ),
                    ));
                }
            }
            target.insert(
                f[1].to_string(),
                PstDensities {
                    soma_length: v[0],
                    apical_length: v[1],
                    basal_length: v[2],
                    soma_area: v[3],
                    apical_area: v[4],
                    basal_area: v[5],
                },
            );
        }
        Ok(table)
    }

    /// The (excitatory, inhibitory) densities of `post_type`; both rows must exist.
    pub fn for_postsynaptic(
        &self,
        post_type: &str,
        path: &Path,
    ) -> Result<(PstDensities, PstDensities), MapperError> {
        let get = |m: &IndexMap<String, PstDensities>, what: &str| {
            m.get(post_type).copied().ok_or_else(|| {
                MapperError::parse(
                    path,
                    self.lines,
                    format!("end of file: no {what} row for postsynaptic type `{post_type}`"),
                )
            })
        };
        Ok((
            get(&self.excitatory, "EXCITATORY")?,
            get(&self.inhibitory, "INHIBITORY")?,
        ))
    }
}

/// Paths of the model's files, with ISF's default layout under one root.
#[derive(Debug, Clone)]
pub struct ModelPaths {
    /// `nrCells.csv`.
    pub nr_cells: PathBuf,
    /// `ConnectionsV8.csv`.
    pub connections: PathBuf,
    /// `PST/EXNormalizationPSTs.am`.
    pub exc_pst: PathBuf,
    /// `PST/INHNormalizationPSTs.am`.
    pub inh_pst: PathBuf,
    /// `singleaxon_boutons_ascii/`.
    pub boutons: PathBuf,
}

impl ModelPaths {
    /// ISF's layout: `nrCells.csv`, `ConnectionsV8.csv`, `PST/EXNormalizationPSTs.am`,
    /// `PST/INHNormalizationPSTs.am` (or the installer's `INHNormalizationsPSTs.am`),
    /// `singleaxon_boutons_ascii/`.
    pub fn under(root: &Path) -> Self {
        let inh = root.join("PST/INHNormalizationPSTs.am");
        let inh_alt = root.join("PST/INHNormalizationsPSTs.am");
        ModelPaths {
            nr_cells: root.join("nrCells.csv"),
            connections: root.join("ConnectionsV8.csv"),
            exc_pst: root.join("PST/EXNormalizationPSTs.am"),
            inh_pst: if !inh.exists() && inh_alt.exists() {
                inh_alt
            } else {
                inh
            },
            boutons: root.join("singleaxon_boutons_ascii"),
        }
    }
}

/// Bouton file paths per column and type: `files[column][type]`.
pub type BoutonFiles = Vec<Vec<Vec<PathBuf>>>;

/// The bouton files of every (column, type) of `counts`, each folder's `.am` files in sorted
/// name order (ISF uses filesystem order, docs/mapper.md#differences-from-isf, item 6).
///
/// Returns `files[column][type]` and warnings (ignored non-`.am` files, folders for columns or
/// types that `nrCells.csv` does not list, missing folders). An empty folder is allowed (no
/// synapses, as in ISF); a missing folder is treated like an empty one, with a warning (ISF
/// fails).
pub fn list_bouton_files(
    root: &Path,
    counts: &CellCounts,
) -> Result<(BoutonFiles, Vec<String>), MapperError> {
    let mut warnings = Vec::new();
    if !root.is_dir() {
        return Err(MapperError::file(root, "bouton folder does not exist"));
    }
    // Folders that the table does not know about: their axons would never be used.
    let mut extra = Vec::new();
    for col in sorted_dir(root)? {
        if !col.is_dir() {
            continue;
        }
        let cname = file_name(&col);
        if !counts.columns.contains(&cname) {
            extra.push(format!(
                "column folder {} is not in nrCells.csv",
                col.display()
            ));
            continue;
        }
        for ty in sorted_dir(&col)? {
            if ty.is_dir() && !counts.types.contains(&file_name(&ty)) {
                extra.push(format!(
                    "cell-type folder {} is not in nrCells.csv; its bouton files are ignored",
                    ty.display()
                ));
            }
        }
    }
    warnings.extend(extra);
    let mut files = Vec::with_capacity(counts.columns.len());
    for (ci, col) in counts.columns.iter().enumerate() {
        let mut per_type = Vec::with_capacity(counts.types.len());
        for (ti, ty) in counts.types.iter().enumerate() {
            let dir = root.join(col).join(ty);
            if !dir.is_dir() {
                // ISF asserts; an empty folder is legal there, and version control drops
                // empty folders, so a missing one is treated as empty with a warning.
                if counts.count(ci, ti) > 0 {
                    warnings.push(format!(
                        "missing bouton folder {} for {} cells of type `{ty}` in column `{col}`: they get no synapses",
                        dir.display(),
                        counts.count(ci, ti)
                    ));
                }
                per_type.push(Vec::new());
                continue;
            }
            let mut am = Vec::new();
            for f in sorted_dir(&dir)? {
                let is_am = f
                    .extension()
                    .and_then(|e| e.to_str())
                    .is_some_and(|e| e.eq_ignore_ascii_case("am"));
                if is_am && f.is_file() {
                    am.push(f);
                } else {
                    warnings.push(format!("ignoring non-.am entry {}", f.display()));
                }
            }
            per_type.push(am);
        }
        files.push(per_type);
    }
    Ok((files, warnings))
}

fn file_name(p: &Path) -> String {
    p.file_name()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default()
}

fn sorted_dir(dir: &Path) -> Result<Vec<PathBuf>, MapperError> {
    let rd = std::fs::read_dir(dir).map_err(|e| MapperError::io(dir, e))?;
    let mut v = Vec::new();
    for e in rd {
        let e = e.map_err(|e| MapperError::io(dir, e))?;
        v.push(e.path());
    }
    v.sort();
    Ok(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nr_cells_table() {
        let t = CellCounts::parse(
            "CELL TYPE\tC1\tC2\n\nL2\t1\t2\nVPM\t0\t5\n",
            Path::new("nrCells.csv"),
        )
        .unwrap();
        assert_eq!(t.columns, ["C1", "C2"]);
        assert_eq!(t.types, ["L2", "VPM"]);
        assert_eq!(t.count(1, 1), 5);
        assert_eq!(t.count(0, 1), 0);
        let e = CellCounts::parse("CELL TYPE\tC1\tC2\nL2\t1\n", Path::new("n.csv")).unwrap_err();
        assert!(e.to_string().starts_with("n.csv:2:"), "{e}");
        let e = CellCounts::parse("CELL TYPE\tC1\nL2\t-1\n", Path::new("n.csv")).unwrap_err();
        assert!(e.to_string().contains("n.csv:2"), "{e}");
    }

    #[test]
    fn connections_by_position() {
        let t = PstTable::parse(
            "PRESYNAPTIC_CELLTYPE\tPOST\ta\tb\tc\td\te\tf\nALL_EXCITATORY\tL5tt\t1\t2\t3\t4\t5\t6\nALL_INHIBITORY\tL5tt\t0\t0\t0\t.1\t.2\t.3\n",
            Path::new("c.csv"),
        )
        .unwrap();
        let (e, i) = t.for_postsynaptic("L5tt", Path::new("c.csv")).unwrap();
        assert_eq!(
            (e.soma_length, e.apical_length, e.basal_length),
            (1.0, 2.0, 3.0)
        );
        assert_eq!((e.soma_area, e.apical_area, e.basal_area), (4.0, 5.0, 6.0));
        assert_eq!(i.basal_area, 0.3);
        assert!(t.for_postsynaptic("VPM", Path::new("c.csv")).is_err());
    }
}
