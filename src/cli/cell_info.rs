//! `isf cell-info CELL.param [--segments FILE.csv]`: builds the cell and prints a summary;
//! optionally writes one row per segment (the columns of NEURON's reference `segments.csv`).

use crate::cell::CellTemplate;
use crate::param::CellParams;
use crate::recipe::Recipe;
use anyhow::Context;
use indexmap::IndexMap;
use std::path::PathBuf;

/// Arguments of `isf cell-info`.
#[derive(clap::Args, Debug)]
pub struct CellInfoArgs {
    /// Cell parameter file (ISF `.param`).
    pub cell_param: PathBuf,
    /// Write the per-segment table (CSV) here.
    #[arg(long, value_name = "FILE.csv")]
    pub segments: Option<PathBuf>,
    /// Replace an existing `--segments` file (once the new one is complete).
    #[arg(long, requires = "segments")]
    pub overwrite: bool,
    /// Compiled mechanisms to load.
    #[command(flatten)]
    pub mechanisms: super::mech::MechanismArgs,
}

/// Runs the subcommand.
pub fn run(args: &CellInfoArgs) -> anyhow::Result<()> {
    args.mechanisms.load()?;
    let _lock = match &args.segments {
        Some(path) => {
            let lock = super::output::lock(path)?;
            super::output::check(path, args.overwrite)?;
            Some(lock)
        }
        None => None,
    };
    let (params, cell) = Recipe::cell_only(&args.cell_param).read_cell()?;
    print!("{}", summary(&cell, &params));
    if let Some(path) = &args.segments {
        cell.segments_table()
            .write_csv(path)
            .with_context(|| format!("cannot write {}", path.display()))?;
        println!("segments table: {}", path.display());
    }
    Ok(())
}

/// The text summary: per label sections, segments, membrane area and length; totals.
pub fn summary(cell: &CellTemplate, params: &CellParams) -> String {
    #[derive(Default)]
    struct Acc {
        nsec: usize,
        nseg: usize,
        area: f64,
        length: f64,
    }
    let mut by_label: IndexMap<&str, Acc> = IndexMap::new();
    for s in &cell.sections {
        let a = by_label.entry(s.label.as_str()).or_default();
        a.nsec += 1;
        a.nseg += s.nseg;
        a.length += s.length_um;
        a.area += (0..s.nseg)
            .map(|k| cell.cable.area_um2[s.first_node + k])
            .sum::<f64>();
    }
    let mut out = String::new();
    out.push_str(&format!("cell: {}\n", params.file.path.display()));
    out.push_str(&format!(
        "morphology: {}\n",
        params.neuron.filename.display()
    ));
    out.push_str(&format!(
        "{:<16} {:>9} {:>9} {:>14} {:>13}\n",
        "label", "sections", "segments", "area [µm²]", "length [µm]"
    ));
    let (mut ts, mut tg, mut ta, mut tl) = (0, 0, 0.0, 0.0);
    for (label, a) in &by_label {
        out.push_str(&format!(
            "{:<16} {:>9} {:>9} {:>14.4} {:>13.4}\n",
            label, a.nsec, a.nseg, a.area, a.length
        ));
        ts += a.nsec;
        tg += a.nseg;
        ta += a.area;
        tl += a.length;
    }
    out.push_str(&format!(
        "{:<16} {:>9} {:>9} {:>14.4} {:>13.4}\n",
        "total", ts, tg, ta, tl
    ));
    out.push_str(&format!(
        "nodes: {} (incl. zero-area section ends and root)\n",
        cell.cable.len()
    ));
    let mechs: Vec<&str> = cell.mechanisms.iter().map(|m| m.name.as_str()).collect();
    out.push_str(&format!("mechanisms: {}\n", mechs.join(", ")));
    for site in &cell.recording_sites {
        out.push_str(&format!("recording site: {}\n", site.label));
    }
    out
}
