//! Density mechanism instances as placed on a cell by its spatial rules.

use indexmap::IndexMap;

/// One density mechanism inserted at a set of nodes, with the per-node values of the parameters
/// the cell parameters set (parameters not listed take the mechanism's NMODL defaults).
#[derive(Debug, Clone, PartialEq)]
pub struct MechanismPlacement {
    /// NEURON suffix, e.g. `NaTa_t`.
    pub name: String,
    /// Node indices (Hines order) the mechanism is inserted at.
    pub nodes: Vec<usize>,
    /// Parameter name (without suffix, e.g. `gNaTa_tbar`) → one value per entry of `nodes`.
    pub params: IndexMap<String, Vec<f64>>,
}
