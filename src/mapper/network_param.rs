//! Network parameter files from activity templates (docs/mapper.md#network-parameter-files): the
//! ongoing builder (one Poisson spike train per presynaptic population) and the evoked builder
//! (whisker-evoked PSTHs from the 3×3 neighbourhood table, on top of the ongoing activity).

use std::path::{Path, PathBuf};

use indexmap::IndexMap;

use super::MapperError;
use crate::network::spec::{check_pointcell_template, parse_celltype};
use crate::param::network_params::{check_receptor_names, MAX_CELLS_PER_POPULATION};
use crate::param::{Dict, Node, ParamFile, Value, View};

/// Onset of the evoked PSTH in the simulation, ms (ISF's builder constant).
pub const EVOKED_OFFSET_MS: f64 = 245.0;

/// The principal whisker's response key for each neighbourhood position 1–9
/// (docs/mapper.md#evoked-builder).
const POSITION_WHISKER: [&str; 9] = ["D3", "D2", "D1", "C3", "C2", "C1", "B3", "B2", "B1"];

/// ISF's deflected-whisker → {column: position} table (docs/mapper.md#evoked-builder).
const NEIGHBOURHOOD: [(&str, &[(&str, u8)]); 24] = [
    (
        "A1",
        &[("Alpha", 4), ("A1", 5), ("A2", 6), ("B1", 8), ("B2", 9)],
    ),
    (
        "A2",
        &[
            ("A1", 4),
            ("A2", 5),
            ("A3", 6),
            ("B1", 7),
            ("B2", 8),
            ("B3", 9),
        ],
    ),
    (
        "A3",
        &[
            ("A2", 4),
            ("A3", 5),
            ("A4", 6),
            ("B2", 7),
            ("B3", 8),
            ("B4", 9),
        ],
    ),
    ("A4", &[("A3", 4), ("A4", 5), ("B3", 7), ("B4", 8)]),
    ("Alpha", &[("Alpha", 5), ("A1", 6), ("Beta", 8), ("B1", 9)]),
    (
        "B1",
        &[
            ("Alpha", 1),
            ("A1", 2),
            ("A2", 3),
            ("Beta", 4),
            ("B1", 5),
            ("B2", 6),
            ("C1", 8),
            ("C2", 9),
        ],
    ),
    (
        "B2",
        &[
            ("A1", 1),
            ("A2", 2),
            ("A3", 3),
            ("B1", 4),
            ("B2", 5),
            ("B3", 6),
            ("C1", 7),
            ("C2", 8),
            ("C3", 9),
        ],
    ),
    (
        "B3",
        &[
            ("A2", 1),
            ("A3", 2),
            ("A4", 3),
            ("B2", 4),
            ("B3", 5),
            ("B4", 6),
            ("C2", 7),
            ("C3", 8),
            ("C4", 9),
        ],
    ),
    (
        "B4",
        &[
            ("A3", 1),
            ("A4", 2),
            ("B3", 4),
            ("B4", 5),
            ("C3", 7),
            ("C4", 8),
        ],
    ),
    (
        "Beta",
        &[
            ("Alpha", 2),
            ("Beta", 5),
            ("B1", 6),
            ("Gamma", 8),
            ("C1", 9),
        ],
    ),
    (
        "C1",
        &[
            ("Beta", 1),
            ("B1", 2),
            ("B2", 3),
            ("Gamma", 4),
            ("C1", 5),
            ("C2", 6),
            ("D1", 8),
            ("D2", 9),
        ],
    ),
    (
        "C2",
        &[
            ("B1", 1),
            ("B2", 2),
            ("B3", 3),
            ("C1", 4),
            ("C2", 5),
            ("C3", 6),
            ("D1", 7),
            ("D2", 8),
            ("D3", 9),
        ],
    ),
    (
        "C3",
        &[
            ("B2", 1),
            ("B3", 2),
            ("B4", 3),
            ("C2", 4),
            ("C3", 5),
            ("C4", 6),
            ("D2", 7),
            ("D3", 8),
            ("D4", 9),
        ],
    ),
    (
        "C4",
        &[
            ("B3", 1),
            ("B4", 2),
            ("C3", 4),
            ("C4", 5),
            ("D3", 7),
            ("D4", 8),
        ],
    ),
    (
        "Gamma",
        &[
            ("Beta", 2),
            ("Gamma", 5),
            ("C1", 6),
            ("Delta", 8),
            ("D1", 9),
        ],
    ),
    (
        "D1",
        &[
            ("Gamma", 1),
            ("C1", 2),
            ("C2", 3),
            ("Delta", 4),
            ("D1", 5),
            ("D2", 6),
            ("E1", 8),
            ("E2", 9),
        ],
    ),
    (
        "D2",
        &[
            ("C1", 1),
            ("C2", 2),
            ("C3", 3),
            ("D1", 4),
            ("D2", 5),
            ("D3", 6),
            ("E1", 7),
            ("E2", 8),
            ("E3", 9),
        ],
    ),
    (
        "D3",
        &[
            ("C2", 1),
            ("C3", 2),
            ("C4", 3),
            ("D2", 4),
            ("D3", 5),
            ("D4", 6),
            ("E2", 7),
            ("E3", 8),
            ("E4", 9),
        ],
    ),
    (
        "D4",
        &[
            ("C3", 1),
            ("C4", 2),
            ("D3", 4),
            ("D4", 5),
            ("E3", 7),
            ("E4", 8),
        ],
    ),
    ("Delta", &[("Gamma", 2), ("Delta", 5), ("D1", 6), ("E1", 9)]),
    (
        "E1",
        &[("Delta", 1), ("D1", 2), ("D2", 3), ("E1", 5), ("E2", 6)],
    ),
    (
        "E2",
        &[
            ("D1", 1),
            ("D2", 2),
            ("D3", 3),
            ("E1", 4),
            ("E2", 5),
            ("E3", 6),
        ],
    ),
    (
        "E3",
        &[
            ("D2", 1),
            ("D3", 2),
            ("D4", 3),
            ("E2", 4),
            ("E3", 5),
            ("E4", 6),
        ],
    ),
    ("E4", &[("D3", 1), ("D4", 2), ("E3", 4), ("E4", 5)]),
];

/// The evoked-response key suffix (`D3` … `B1`) for column `column` when `whisker` is deflected:
/// `Ok(None)` if the column is outside the whisker's 3×3 neighbourhood, an error for an unknown
/// whisker.
pub fn evoked_response_whisker(
    whisker: &str,
    column: &str,
) -> Result<Option<&'static str>, MapperError> {
    let (_, cols) = NEIGHBOURHOOD
        .iter()
        .find(|(w, _)| *w == whisker)
        .ok_or_else(|| {
            MapperError::Model(format!(
                "unknown whisker `{whisker}`; known: {}",
                NEIGHBOURHOOD
                    .iter()
                    .map(|(w, _)| *w)
                    .collect::<Vec<_>>()
                    .join(" ")
            ))
        })?;
    Ok(cols
        .iter()
        .find(|(c, _)| *c == column)
        .map(|&(_, pos)| POSITION_WHISKER[pos as usize - 1]))
}

/// ISF's "model run1" evoked template file of each cell type (docs/mapper.md#templates), relative
/// to the `evoked_activity/` folder.
pub fn model_run1_evoked_file(cell_type: &str) -> Option<String> {
    match cell_type {
        "L2" | "L34" | "L4py" | "L4sp" | "L4ss" | "L5st" | "L5tt" | "L6cc" | "L6ccinv" | "L6ct" => {
            Some(format!("{cell_type}_3x3_PSTH_UpState.param"))
        }
        "VPM" => Some("VPM_3x3_PSTH.param".into()),
        "L1" => Some("L1_3x3_PSTH_template_PW_0-50_10ms.param".into()),
        "L23Trans" | "L45Peak" | "L45Sym" | "L56Trans" | "SymLocal1" | "SymLocal2"
        | "SymLocal3" | "SymLocal4" | "SymLocal5" | "SymLocal6" => Some(format!(
            "{cell_type}_PSTH_active_timing_normalized_PW_1.0_SuW_0.5.param"
        )),
        _ => None,
    }
}

/// `NumberOfConnectedCells.csv` as type → column → cells, in file order (first line skipped).
pub type CellNumbers = IndexMap<String, IndexMap<String, i64>>;

/// Reads `NumberOfConnectedCells.csv` (tab-separated `column, type, n`; header skipped).
pub fn read_cell_numbers(path: &Path) -> Result<CellNumbers, MapperError> {
    let text = MapperError::read_text(path)?;
    let mut out = CellNumbers::new();
    for (i, line) in text.lines().enumerate().skip(1) {
        if line.trim().is_empty() {
            continue;
        }
        let f: Vec<&str> = line.split('\t').map(|s| s.trim()).collect();
        if f.len() < 3 {
            return Err(MapperError::parse(
                path,
                i + 1,
                "expected `column<TAB>type<TAB>count`",
            ));
        }
        let n: i64 = f[2].parse().ok().filter(|n| *n >= 0).ok_or_else(|| {
            MapperError::parse(path, i + 1, format!("`{}` is not a cell count", f[2]))
        })?;
        if n as u64 > MAX_CELLS_PER_POPULATION as u64 {
            return Err(MapperError::parse(
                path,
                i + 1,
                format!(
                    "{n} cells of `{}` in column `{}` is more than the limit of \
                     {MAX_CELLS_PER_POPULATION} per population",
                    f[1], f[0]
                ),
            ));
        }
        let previous = out
            .entry(f[1].to_string())
            .or_default()
            .insert(f[0].to_string(), n);
        if previous.is_some() {
            return Err(MapperError::parse(
                path,
                i + 1,
                format!("`{}` in column `{}` is listed twice", f[1], f[0]),
            ));
        }
    }
    Ok(out)
}

/// Inputs shared by both builders.
#[derive(Debug, Clone)]
pub struct NetworkFiles {
    /// `.syn` path, stored verbatim.
    pub syn: String,
    /// `.con` path, stored verbatim.
    pub con: String,
}

fn template_network(template: &ParamFile) -> Result<&Dict, MapperError> {
    template
        .root
        .get("network")
        .and_then(Node::as_dict)
        .ok_or_else(|| MapperError::file(&template.path, "template has no `network` dict"))
}

fn population(
    template_entry: &Node,
    n: i64,
    files: &NetworkFiles,
    path: &Path,
    key: &str,
) -> Result<Node, MapperError> {
    let mut p = template_entry.clone();
    let set = |p: &mut Node, k: &str, v: Value| {
        p.set_path(k, v)
            .map_err(|m| MapperError::file(path, format!("network.{key}: {m}")))
    };
    set(&mut p, "cellNr", Value::Int(n))?;
    set(
        &mut p,
        "synapses.distributionFile",
        Value::Str(files.syn.clone()),
    )?;
    set(
        &mut p,
        "synapses.connectionFile",
        Value::Str(files.con.clone()),
    )?;
    Ok(p)
}

/// The template's entry for type `t`: its activity spec as the simulator reads it and its
/// receptors against the mechanism catalogue (errors name the template file, line, key and
/// type).
fn check_template_receptors(
    template: &ParamFile,
    t: &str,
    entry: &Node,
) -> Result<(), MapperError> {
    // The activity spec as the simulator will read it (tStop unknown here).
    if let Some(ct) = entry.get("celltype") {
        let v = View { file: template };
        parse_celltype(&v, &format!("network.{t}"), entry, ct, f64::INFINITY)
            .map_err(|e| MapperError::Model(e.to_string()))?;
    }
    match entry.get("synapses").and_then(|s| s.get("receptors")) {
        Some(r) => check_receptor_names(template, t, &format!("network.{t}.synapses.receptors"), r)
            .map_err(|e| MapperError::Model(e.to_string())),
        None => Ok(()),
    }
}

fn assemble(template: &ParamFile, network: Dict) -> Node {
    let mut root = Dict::new();
    if let Some(info) = template.root.get("info") {
        root.insert("info".into(), info.clone());
    }
    root.insert("network".into(), Node::new(Value::Dict(network)));
    if let Some(m) = template.root.get("NMODL_mechanisms") {
        root.insert("NMODL_mechanisms".into(), m.clone());
    }
    Node::new(Value::Dict(root))
}

/// The ongoing builder (ISF's `ongoing_network_param_from_template`): for every type of the
/// number file and every column with cells (or all, with `write_all`), a copy of the template's
/// entry for the type with `cellNr` and the file paths set.
pub fn ongoing_network(
    template: &ParamFile,
    numbers: &CellNumbers,
    files: &NetworkFiles,
    write_all: bool,
) -> Result<Node, MapperError> {
    let net = template_network(template)?;
    let mut out = Dict::new();
    for (t, cols) in numbers {
        let entry = net.get(t).ok_or_else(|| {
            MapperError::file(
                &template.path,
                format!("template has no entry for cell type `{t}`"),
            )
        })?;
        check_template_receptors(template, t, entry)?;
        for (c, &n) in cols {
            if n > 0 || write_all {
                let key = format!("{t}_{c}");
                let p = population(entry, n, files, &template.path, &key)?;
                out.insert(key, p);
            }
        }
    }
    Ok(assemble(template, out))
}

/// The evoked builder (ISF's `evoked_network_param_from_template`): as the ongoing builder but
/// over the template's types, and where the column lies in the deflected whisker's 3×3
/// neighbourhood and the type has an evoked template, `celltype` becomes
/// `{"spiketrain": {"interval": …}, "pointcell": {<PSTH>, "offset": 245.0}}`.
pub fn evoked_network(
    template: &ParamFile,
    evoked: &IndexMap<String, ParamFile>,
    numbers: &CellNumbers,
    files: &NetworkFiles,
    whisker: &str,
    write_all: bool,
) -> Result<Node, MapperError> {
    // Reject an unknown whisker even if no column would need it.
    evoked_response_whisker(whisker, "")?;
    let net = template_network(template)?;
    let mut out = Dict::new();
    for (t, entry) in net {
        let Some(cols) = numbers.get(t) else { continue };
        check_template_receptors(template, t, entry)?;
        for (c, &n) in cols {
            if !(n > 0 || write_all) {
                continue;
            }
            let key = format!("{t}_{c}");
            let mut p = population(entry, n, files, &template.path, &key)?;
            let psth = match (evoked.get(t), evoked_response_whisker(whisker, c)?) {
                (Some(file), Some(w)) => {
                    let k = format!("{t}_{w}");
                    let psth = file.root.get(&k).ok_or_else(|| {
                        MapperError::file(&file.path, format!("evoked template has no entry `{k}`"))
                    })?;
                    check_pointcell_template(&View { file }, &k, psth, EVOKED_OFFSET_MS)
                        .map_err(|e| MapperError::Model(e.to_string()))?;
                    Some(psth)
                }
                _ => None,
            };
            if let Some(psth) = psth {
                let Value::Dict(pd) = &mut p.value else {
                    return Err(MapperError::file(
                        &template.path,
                        format!("network.{t} is not a dict"),
                    ));
                };
                let interval = pd.shift_remove("interval").ok_or_else(|| {
                    MapperError::file(&template.path, format!("network.{t} has no `interval`"))
                })?;
                let mut pointcell = psth.as_dict().cloned().ok_or_else(|| {
                    MapperError::file(
                        &template.path,
                        format!("evoked entry for `{key}` is not a dict"),
                    )
                })?;
                pointcell.insert("offset".into(), Node::new(Value::Float(EVOKED_OFFSET_MS)));
                let mut spiketrain = Dict::new();
                spiketrain.insert("interval".into(), interval);
                let mut celltype = Dict::new();
                celltype.insert("spiketrain".into(), Node::new(Value::Dict(spiketrain)));
                celltype.insert("pointcell".into(), Node::new(Value::Dict(pointcell)));
                let ct = Node::new(Value::Dict(celltype));
                match pd.get_mut("celltype") {
                    Some(slot) => *slot = ct,
                    None => {
                        pd.insert("celltype".into(), ct);
                    }
                }
            }
            out.insert(key, p);
        }
    }
    Ok(assemble(template, out))
}

/// Reads the "model run1" evoked templates of `types` from `dir` (types without a known file,
/// or whose file is missing, get none and stay ongoing-only; the list of those is returned).
pub fn read_model_run1_templates<'a>(
    dir: &Path,
    types: impl Iterator<Item = &'a String>,
) -> Result<(IndexMap<String, ParamFile>, Vec<String>), MapperError> {
    let mut out = IndexMap::new();
    let mut missing = Vec::new();
    for t in types {
        let Some(name) = model_run1_evoked_file(t) else {
            missing.push(t.clone());
            continue;
        };
        let p: PathBuf = dir.join(name);
        if !p.exists() {
            missing.push(t.clone());
            continue;
        }
        let f = ParamFile::read(&p).map_err(|e| MapperError::Model(e.to_string()))?;
        out.insert(t.clone(), f);
    }
    Ok((out, missing))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn neighbourhood_lookup_point_reflects() {
        // Column B1 is above-left of C2: treated like C2's response to D3.
        assert_eq!(evoked_response_whisker("C2", "B1").unwrap(), Some("D3"));
        assert_eq!(evoked_response_whisker("C2", "C2").unwrap(), Some("C2"));
        assert_eq!(evoked_response_whisker("C2", "D3").unwrap(), Some("B1"));
        assert_eq!(evoked_response_whisker("C2", "E4").unwrap(), None);
        assert!(evoked_response_whisker("Z9", "C2").is_err());
    }
}
