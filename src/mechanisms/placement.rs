//! Where a density mechanism sits on a cell and with which parameters.

use indexmap::IndexMap;

/// One density mechanism on a cell: the segment nodes it is inserted in (ascending) and, for
/// every parameter the cell parameter file sets, one value per node (`params[p][i]` belongs to
/// `nodes[i]`). `NaN` means the parameter file does not set that parameter on that node, so the
/// mechanism's default applies.
#[derive(Debug, Clone, PartialEq)]
pub struct MechanismPlacement {
    /// Mechanism name as in the parameter file (`NaTa_t`, `pas`, …).
    pub name: String,
    /// Segment node indices (ascending, no duplicates).
    pub nodes: Vec<usize>,
    /// Parameter name (without the `_mechanism` suffix, e.g. `gNaTa_tbar`, `g`) → per-node values.
    pub params: IndexMap<String, Vec<f64>>,
}

impl MechanismPlacement {
    /// An empty placement.
    pub fn new(name: &str) -> Self {
        MechanismPlacement {
            name: name.to_string(),
            nodes: Vec::new(),
            params: IndexMap::new(),
        }
    }

    /// The value of `param` at `node`, if the mechanism is there and the file sets it.
    pub fn value_at(&self, param: &str, node: usize) -> Option<f64> {
        let i = self.nodes.binary_search(&node).ok()?;
        let v = self.params.get(param)?[i];
        (!v.is_nan()).then_some(v)
    }
}
