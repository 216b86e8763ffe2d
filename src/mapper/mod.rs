//! Anatomical embedding: mapping a neuron into the barrel-cortex model and building network parameter files from activity templates.
//!
//! The pipeline follows ISF's `map_singlecell_inputs` (docs/mapper.md):
//! [`amira`] and [`model`] read the model, [`grid`] rasterises the morphology onto the PST lattice,
//! [`density`] turns every single-axon bouton field into an expected-synapse field λ,
//! [`realize`] draws seeded realizations in parallel, [`summary`] computes ISF's statistics and
//! picks the representative realization, [`write`](mod@write) writes ISF's output files, and
//! [`network_param`] builds `network.param` files from activity templates.
//!
//! Deliberate deviations from ISF (each documented where it happens):
//! * bouton files are taken in sorted name order, not filesystem order
//!   (docs/mapper.md#differences-from-isf, item 6);
//! * the population "SD of path length" statistics are real SD statistics and the −1 "empty"
//!   sentinels are left out of population means (docs/mapper.md#differences-from-isf, item 5);
//! * an all-zero bouton density is treated as "no synapses" (docs/mapper.md#differences-from-isf,
//!   item 8);
//! * the `.syn` header names the cell without `.hoc`, like the shipped example
//!   (docs/mapper.md#differences-from-isf, item 9);
//! * `NumberOfConnectedCells.csv` counts distinct connected cells (ISF's code; the shipped example
//!   counts synapses, docs/mapper.md#number-of-connected-cells);
//! * random numbers come from one ChaCha stream per realization, seeded from `(seed, index)`, so
//!   realizations run in parallel and results do not depend on the thread count
//!   (docs/mapper.md#random-numbers-and-threads).

pub mod amira;
pub mod density;
pub mod embedding;
pub mod error;
pub mod grid;
pub mod model;
pub mod network_param;
pub mod realize;
pub mod summary;
pub mod write;

pub use error::MapperError;

use std::path::{Path, PathBuf};

/// Most realizations of one `map-inputs` run (ISF's default is 50).
pub const MAX_REALIZATIONS: usize = 10_000;

/// Options of one `map-inputs` run.
#[derive(Debug, Clone)]
pub struct MapOptions {
    /// Postsynaptic morphology (`.hoc`).
    pub hoc: PathBuf,
    /// Model root (ISF's `barrel_cortex/` layout).
    pub model: PathBuf,
    /// Postsynaptic cell type (selects the `ConnectionsV8.csv` rows).
    pub postsynaptic_type: String,
    /// Realizations to draw (ISF's default is 50).
    pub realizations: usize,
    /// Seed of the realizations' random streams.
    pub seed: u64,
    /// Output folder (ISF: `<hoc>_synapses_<tag>/`).
    pub out: PathBuf,
    /// File-name tag (ISF: `<YYYYmmdd-HHMM>_<pid>`).
    pub tag: String,
    /// Cell classes (ISF's lists plus user additions).
    pub classes: model::CellClasses,
}

/// What a run produced.
#[derive(Debug)]
pub struct MapReport {
    /// The files written.
    pub files: Vec<PathBuf>,
    /// Index of the representative realization, the one written.
    pub representative: usize,
    /// Synapses of the representative realization.
    pub synapses: usize,
    /// Non-fatal findings (ignored files, all-zero fields, …).
    pub warnings: Vec<String>,
}

/// Reads the morphology and the model, draws the realizations, and writes the representative
/// one with ISF's summary into a new output folder (an existing non-empty one is refused).
pub fn map_inputs(opts: &MapOptions) -> Result<MapReport, MapperError> {
    map_inputs_overwriting(opts, false)
}

/// As [`map_inputs`]; if `overwrite`, an existing output folder is replaced once the new one is
/// complete.
pub fn map_inputs_overwriting(
    opts: &MapOptions,
    overwrite: bool,
) -> Result<MapReport, MapperError> {
    // Refused before the (long) mapping, not after it.
    isf_io::check_output(&opts.out, overwrite).map_err(isf_io::Error::from)?;
    if opts.realizations == 0 || opts.realizations > MAX_REALIZATIONS {
        return Err(MapperError::Model(format!(
            "the number of realizations must be between 1 and {MAX_REALIZATIONS}, found {}",
            opts.realizations
        )));
    }
    let morph = crate::morphology::read_hoc(&opts.hoc).map_err(|e| MapperError::Morphology {
        path: opts.hoc.clone(),
        message: e.to_string(),
    })?;
    let cell = grid::CellGeometry::from_morphology(cell_name(&opts.hoc), &morph).map_err(|m| {
        MapperError::Morphology {
            path: opts.hoc.clone(),
            message: m,
        }
    })?;
    let paths = model::ModelPaths::under(&opts.model);
    let emb =
        embedding::Embedding::from_model(cell, &opts.postsynaptic_type, &paths, &opts.classes)
            .map_err(|e| match e {
                MapperError::Morphology { message, .. } => MapperError::Morphology {
                    path: opts.hoc.clone(),
                    message,
                },
                e => e,
            })?;
    let mut warnings = emb.warnings.clone();
    let mapped = |l: &str| matches!(l, "Soma" | "Dendrite" | "ApicalDendrite");
    let last_mapped = morph.sections.iter().rposition(|s| mapped(&s.label));
    if let Some(first_other) = morph.sections.iter().position(|s| !mapped(&s.label)) {
        if last_mapped.is_some_and(|l| first_other < l) {
            warnings.push(format!(
                "{}: section {first_other} ({}) precedes dendritic sections; the .syn uses the simulator's section ids, which ISF's own mapper would number differently",
                opts.hoc.display(),
                morph.sections[first_other].label
            ));
        }
    }
    if emb
        .densities
        .iter()
        .all(|d| d.as_ref().is_none_or(|d| d.total == 0.0))
    {
        warnings.push(format!(
            "no bouton field reaches a traced point of {}: every realization is empty",
            opts.hoc.display()
        ));
    }
    emb.check_limits(opts.realizations)?;
    let all = realize::realize_many(&emb, opts.seed, opts.realizations);
    let summaries: Vec<summary::RealizationSummary> = {
        use rayon::prelude::*;
        all.par_iter()
            .map(|s| summary::RealizationSummary::new(&emb, s))
            .collect()
    };
    let chosen = summary::representative(&summaries);
    let files = write::write_outputs(
        &emb,
        &all[chosen],
        &summaries,
        chosen,
        &opts.out,
        &opts.tag,
        overwrite,
    )?;
    Ok(MapReport {
        files,
        representative: chosen,
        synapses: all[chosen].len(),
        warnings,
    })
}

/// The cell id of a morphology path: its file name without `.hoc` (as in ISF's shipped example).
pub fn cell_name(hoc: &Path) -> String {
    let name = hoc
        .file_name()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    match name.len().checked_sub(4) {
        Some(n) if name[n..].eq_ignore_ascii_case(".hoc") => name[..n].to_string(),
        _ => name,
    }
}
