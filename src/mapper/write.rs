//! ISF's output files for the representative realization (docs/mapper.md#outputs): `.syn`, `.con`,
//! `NumberOfConnectedCells.csv` and the 3-block summary CSV, written into a temporary folder next
//! to the target and renamed into place, so a run leaves either the whole result or nothing.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use super::embedding::Embedding;
use super::model::{ISF_COLUMNS, ISF_SUMMARY_TYPE_ORDER};
use super::realize::Synapse;
use super::summary::{population_row, RealizationSummary, Stats};
use super::MapperError;

/// Python's `str(float)` (the summary, `.syn` x values).
pub use crate::param::python_float::py_repr as py_float;

/// Names of the files of one run: `<name>_synapses_<tag>.syn` etc.
#[derive(Debug, Clone)]
pub struct OutputNames {
    /// The synapse locations file (`.syn`).
    pub syn: String,
    /// The connections file (`.con`): each synapse's presynaptic cell.
    pub con: String,
    /// The realization summary CSV.
    pub summary: String,
}

impl OutputNames {
    /// ISF's names for cell `name` and run tag `tag` (ISF: `<YYYYmmdd-HHMM>_<pid>`).
    pub fn new(name: &str, tag: &str) -> Self {
        OutputNames {
            syn: format!("{name}_synapses_{tag}.syn"),
            con: format!("{name}_synapses_{tag}.con"),
            summary: format!("{name}_summary_{tag}.csv"),
        }
    }
}

/// `.syn` text: header, then `<type>_<column>\t<section>\t<x>` per synapse in block order.
pub fn syn_text(emb: &Embedding, syn: &[Synapse]) -> String {
    let mut s = format!(
        "# Synapse distribution file\n# corresponding to cell: {}\n# Type - section - section.x\n\n",
        emb.cell.name
    );
    let labels: Vec<String> = (0..emb.blocks.len()).map(|b| emb.label(b)).collect();
    for x in syn {
        let sec = &emb.cell.sections[x.section as usize];
        let rel = sec.rel_x[x.point as usize].clamp(0.0, 1.0);
        let _ = writeln!(
            s,
            "{}\t{}\t{}",
            labels[x.block as usize],
            sec.index,
            py_float(rel)
        );
    }
    s
}

/// `.con` text and the number of distinct connected cells per block. Cell IDs are dense over
/// connected cells, in creation order; synapse IDs count per label.
pub fn con_text(emb: &Embedding, syn: &[Synapse], syn_file_name: &str) -> (String, Vec<u64>) {
    let mut s = format!(
        "# Anatomical connectivity realization file; only valid with synapse realization:\n# {syn_file_name}\n# Type - cell ID - synapse ID\n\n"
    );
    let labels: Vec<String> = (0..emb.blocks.len()).map(|b| emb.label(b)).collect();
    let mut connected = vec![0u64; emb.blocks.len()];
    let mut next_syn = vec![0u64; emb.blocks.len()];
    let mut current: Option<(u32, u32)> = None;
    for x in syn {
        let b = x.block as usize;
        if current != Some((x.block, x.cell)) {
            current = Some((x.block, x.cell));
            connected[b] += 1;
        }
        let _ = writeln!(s, "{}\t{}\t{}", labels[b], connected[b] - 1, next_syn[b]);
        next_syn[b] += 1;
    }
    (s, connected)
}

/// `NumberOfConnectedCells.csv`: distinct connected cells per (column, type), zero rows for
/// every other pair of the model and of ISF's 24 columns × 22 types; sorted by column.
pub fn connected_cells_text(emb: &Embedding, connected: &[u64]) -> String {
    let mut columns: Vec<String> = emb.counts.columns.clone();
    for c in ISF_COLUMNS {
        if !columns.iter().any(|x| x == c) {
            columns.push(c.to_string());
        }
    }
    columns.sort();
    let mut types: Vec<String> = emb.counts.types.clone();
    for t in ISF_SUMMARY_TYPE_ORDER {
        if !types.iter().any(|x| x == t) {
            types.push(t.to_string());
        }
    }
    let mut s =
        String::from("Presynaptic column\tPresynaptic cell type\tConnected presynaptic cells\n");
    for c in &columns {
        for t in &types {
            let n = emb
                .blocks
                .iter()
                .position(|b| {
                    &emb.counts.columns[b.column] == c && &emb.counts.types[b.cell_type] == t
                })
                .map_or(0, |b| connected[b]);
            let _ = writeln!(s, "{c}\t{t}\t{n}");
        }
    }
    s
}

/// Type order of the summary: ISF's fixed order for known types, then other types in
/// `nrCells.csv` order.
pub fn summary_type_order(emb: &Embedding) -> Vec<usize> {
    let types = &emb.counts.types;
    let mut order: Vec<usize> = ISF_SUMMARY_TYPE_ORDER
        .iter()
        .filter_map(|t| types.iter().position(|x| x == t))
        .collect();
    for i in 0..types.len() {
        if !order.contains(&i) {
            order.push(i);
        }
    }
    order
}

const STRUCT_NAMES: [&str; 3] = ["apical dendrite", "basal dendrite", "soma"];
const STRUCT_SHORT: [&str; 3] = ["apical", "basal", "soma"];

fn sample_header(first: &str) -> String {
    let mut h = format!(
        "{first}\tNumber of synapses\tMean path length to soma\tSD path length to soma\tConnected presynaptic cells\tTotal presynaptic cells\tConvergence"
    );
    for k in 0..3 {
        let (long, short) = (STRUCT_NAMES[k], STRUCT_SHORT[k]);
        let _ = write!(h, "\tNumber of {long} synapses");
        if k < 2 {
            let _ = write!(
                h,
                "\tMean path length to soma ({short} synapses)\tSD path length to soma ({short} synapses)"
            );
        }
        let _ = write!(
            h,
            "\tConnected presynaptic cells ({short} synapses)\tConvergence ({short} synapses)"
        );
    }
    h
}

fn population_header() -> String {
    let mut h = String::from(
        "Presynaptic cell type\tNumber of synapses\tSTD\tMean path length to soma\tSTD\tSD path length to soma\tSTD\tConnected presynaptic cells\tSTD\tTotal presynaptic cells\tConvergence\tSTD",
    );
    for k in 0..3 {
        let (long, short) = (STRUCT_NAMES[k], STRUCT_SHORT[k]);
        let _ = write!(h, "\tNumber of {long} synapses\tSTD");
        if k < 2 {
            let _ = write!(
                h,
                "\tMean path length to soma ({short} synapses)\tSTD\tSD path length to soma ({short} synapses)\tSTD"
            );
        }
        let _ = write!(
            h,
            "\tConnected presynaptic cells ({short} synapses)\tSTD\tConvergence ({short} synapses)\tSTD"
        );
    }
    h
}

fn opt_pair(p: Option<(f64, f64)>) -> [String; 2] {
    match p {
        Some((m, s)) => [py_float(m), py_float(s)],
        None => ["-1".into(), "-1".into()],
    }
}

fn sample_fields(st: &Stats) -> Vec<String> {
    let mut f = vec![st.n_syn.to_string()];
    f.extend(opt_pair(st.distance_um));
    f.push(st.n_connected.to_string());
    f.push(st.n_pre.to_string());
    f.push(py_float(st.convergence));
    for k in 0..3 {
        f.push(st.syn_per[k].to_string());
        if k < 2 {
            f.extend(opt_pair(st.distance_per_um[k]));
        }
        f.push(st.connected_per[k].to_string());
        f.push(py_float(st.convergence_per[k]));
    }
    f
}

/// The 3-block summary CSV (population, representative realization, per column and type).
pub fn summary_text(emb: &Embedding, summaries: &[RealizationSummary], chosen: usize) -> String {
    let order = summary_type_order(emb);
    let mut s = String::from("# connectivity per cell type population summary\n");
    s.push_str(&population_header());
    s.push('\n');
    for &t in &order {
        let row = population_row(summaries, t);
        let _ = writeln!(
            s,
            "{}\t{}",
            emb.counts.types[t],
            row.iter()
                .map(|&v| py_float(v))
                .collect::<Vec<_>>()
                .join("\t")
        );
    }
    s.push_str("\n# connectivity per cell type representative realization summary\n");
    s.push_str(&sample_header("Presynaptic cell type"));
    s.push('\n');
    let rep = &summaries[chosen];
    for &t in &order {
        let _ = writeln!(
            s,
            "{}\t{}",
            emb.counts.types[t],
            sample_fields(&rep.per_type[t]).join("\t")
        );
    }
    s.push_str("\n# connectivity per column per cell type summary\n");
    s.push_str(&sample_header("Presynaptic column\tPresynaptic cell type"));
    s.push('\n');
    let mut cols: Vec<usize> = (0..emb.counts.columns.len()).collect();
    cols.sort_by(|&a, &b| emb.counts.columns[a].cmp(&emb.counts.columns[b]));
    for &c in &cols {
        for &t in &order {
            let Some(b) = emb
                .blocks
                .iter()
                .position(|x| x.column == c && x.cell_type == t)
            else {
                continue;
            };
            let _ = writeln!(
                s,
                "{}\t{}\t{}",
                emb.counts.columns[c],
                emb.counts.types[t],
                sample_fields(&rep.per_block[b]).join("\t")
            );
        }
    }
    s
}

/// Writes the representative realization and the summary into `out_dir`: everything goes to
/// a hidden staging folder beside it first, installed complete by one rename. An existing
/// output folder (not empty) is refused unless `overwrite`, and then replaced only once the new
/// one is complete.
pub fn write_outputs(
    emb: &Embedding,
    synapses: &[Synapse],
    summaries: &[RealizationSummary],
    chosen: usize,
    out_dir: &Path,
    tag: &str,
    overwrite: bool,
) -> Result<Vec<PathBuf>, MapperError> {
    isf_io::check_output(out_dir, overwrite).map_err(isf_io::Error::from)?;
    let parent = isf_io::atomic::parent_dir(out_dir);
    std::fs::create_dir_all(parent).map_err(|e| MapperError::io(parent, e))?;
    let staged = isf_io::StagedDir::with_overwrite(out_dir, overwrite)?;
    let names = OutputNames::new(&emb.cell.name, tag);
    let (con, connected) = con_text(emb, synapses, &names.syn);
    let files = [
        (names.syn.clone(), syn_text(emb, synapses)),
        (names.con.clone(), con),
        (
            "NumberOfConnectedCells.csv".to_string(),
            connected_cells_text(emb, &connected),
        ),
        (names.summary.clone(), summary_text(emb, summaries, chosen)),
    ];
    let mut written = Vec::new();
    for (name, text) in &files {
        let p = staged.path().join(name);
        std::fs::write(&p, text).map_err(|e| MapperError::io(&p, e))?;
        written.push(out_dir.join(name));
    }
    staged.commit()?;
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::py_float;

    #[test]
    fn python_float_repr() {
        for (x, s) in [
            (0.0, "0.0"),
            (1.0, "1.0"),
            (0.6291031828146789, "0.6291031828146789"),
            (5e-05, "5e-05"),
            (0.0001, "0.0001"),
            (-1.0, "-1.0"),
            (123.5, "123.5"),
            (1e16, "1e+16"),
            (1234567.0, "1234567.0"),
            (0.16666666666666666, "0.16666666666666666"),
            (-0.8333333333333334, "-0.8333333333333334"),
        ] {
            assert_eq!(py_float(x), s, "{x}");
        }
    }
}
