//! ISF's text result files: the one reader and writer of each lives in the I/O layer
//! ([`isf_io::isf_files`]); this module gives its errors as [`OutputError`].

use std::path::Path;

use super::OutputError;

pub use isf_io::isf_files::{
    presynaptic_cells_file_name, sort_presynaptic_rows, sort_synapse_rows,
    synapse_activation_file_name, trace_header, write_presynaptic_cells, write_synapse_activations,
    write_traces, FileError, PresynapticCellRow, SynapseActivationRow, TraceTable,
    PRESYNAPTIC_CELLS_HEADER, SYNAPSE_ACTIVATION_HEADER,
};

/// Parses a synapse activation file; `path` is only used in errors.
pub fn parse_synapse_activations(
    text: &str,
    path: &Path,
) -> Result<Vec<SynapseActivationRow>, OutputError> {
    Ok(isf_io::isf_files::parse_synapse_activations(text, path)?)
}

/// Reads a synapse activation file (`simulation_runNNNN_synapses.csv`).
pub fn read_synapse_activation_file(path: &Path) -> Result<Vec<SynapseActivationRow>, OutputError> {
    Ok(isf_io::isf_files::read_synapse_activation_file(path)?)
}

/// Parses a presynaptic cells file; `path` is only used in errors.
pub fn parse_presynaptic_cells(
    text: &str,
    path: &Path,
) -> Result<Vec<PresynapticCellRow>, OutputError> {
    Ok(isf_io::isf_files::parse_presynaptic_cells(text, path)?)
}

/// Reads a presynaptic cells file (`simulation_runNNNN_presynaptic_cells.csv`).
pub fn read_presynaptic_cells_file(path: &Path) -> Result<Vec<PresynapticCellRow>, OutputError> {
    Ok(isf_io::isf_files::read_presynaptic_cells_file(path)?)
}

/// Writes a synapse activation file atomically.
pub fn write_synapse_activation_file(
    path: &Path,
    rows: &[SynapseActivationRow],
) -> Result<(), OutputError> {
    Ok(isf_io::isf_files::write_synapse_activation_file(
        path, rows,
    )?)
}

/// Writes a presynaptic cells file atomically.
pub fn write_presynaptic_cells_file(
    path: &Path,
    rows: &[PresynapticCellRow],
) -> Result<(), OutputError> {
    Ok(isf_io::isf_files::write_presynaptic_cells_file(path, rows)?)
}

/// Writes a trace file atomically.
pub fn write_trace_file(path: &Path, t_ms: &[f64], runs_mv: &[&[f64]]) -> Result<(), OutputError> {
    Ok(isf_io::isf_files::write_trace_file(path, t_ms, runs_mv)?)
}

/// Writes a trace file atomically from single-precision runs fetched block by block (see
/// [`isf_io::isf_files::write_trace_file_f32_blocks`]).
pub fn write_trace_file_f32_blocks(
    path: &Path,
    t_ms: &[f64],
    n_runs: usize,
    block: usize,
    fill: impl FnMut(std::ops::Range<usize>, &mut [f32]) -> std::io::Result<()>,
) -> Result<(), OutputError> {
    Ok(isf_io::isf_files::write_trace_file_f32_blocks(
        path, t_ms, n_runs, block, fill,
    )?)
}

#[cfg(test)]
mod tests;
