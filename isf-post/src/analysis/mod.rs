//! Analysis of simulation results: spike and burst detection, PSTHs, temporal and spatio-temporal
//! binning, and the grouped synapse-activation binning that feeds the reduced model.

pub mod binning;
pub mod burst;
pub mod spikes;

pub use binning::{
    bin_synapse_activations, binned_key_prefix, classify_ei_by_name, classify_ei_by_receptors,
    histogram, spatiotemporal_binning, store_synapse_activation_binned, temporal_binning, GroupBy,
    GroupedBins, MAX_BINNED_VALUES, MAX_BINS, MAX_SPATIAL_BINS,
};
pub use burst::{detect_bursts, Burst};
pub use spikes::{psth, spike_in_interval, upward_crossings, upward_crossings_interpolated};

/// Errors of the analysis functions (bad parameters).
#[derive(Debug, thiserror::Error)]
pub enum AnalysisError {
    #[error("invalid parameter {name} = {value}: {why}")]
    /// A parameter out of its range.
    Param {
        /// The parameter.
        name: &'static str,
        /// Its value.
        value: String,
        /// What it must be.
        why: &'static str,
    },
    #[error("{0}")]
    /// A request beyond a documented limit (too many bins or values).
    Limit(String),
    #[error("unknown group-by column `{0}` (use celltype, presynaptic_column, EI, proximal, binned_somadist)")]
    /// A group-by column that does not exist.
    UnknownGroupBy(String),
}
