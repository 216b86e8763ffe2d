//! The node tree of a cell in Hines order, as the cell builder produces it.

/// Node tree in Hines order: `parent[i] < i`, node 0 is the root (`parent[0] == usize::MAX`).
#[derive(Debug, Clone, PartialEq)]
pub struct CableTree {
    /// Parent node of every node; `usize::MAX` for the root.
    pub parent: Vec<usize>,
    /// Membrane area per node, µm²; `0.0` marks a zero-area node (section ends, the root).
    pub area_um2: Vec<f64>,
    /// Specific capacitance per node, µF/cm² (ignored for zero-area nodes).
    pub cm_uf_cm2: Vec<f64>,
    /// Axial conductance between the node and its parent, µS (`1/ri`); 0 for the root.
    pub rinv_us: Vec<f64>,
}

impl CableTree {
    /// Number of nodes.
    pub fn len(&self) -> usize {
        self.parent.len()
    }
    /// Whether the tree has no nodes.
    pub fn is_empty(&self) -> bool {
        self.parent.is_empty()
    }
    /// One section with a single segment, as NEURON builds it: zero-area root node 0 (the
    /// section's x = 0 end), the segment node 1 and the zero-area x = 1 end node 2, each end
    /// joined to the centre through half the segment's axial resistance `half_ri_mohm` (MΩ).
    pub fn single_compartment(area_um2: f64, cm_uf_cm2: f64, half_ri_mohm: f64) -> Self {
        let rinv = 1.0 / half_ri_mohm;
        CableTree {
            parent: vec![usize::MAX, 0, 1],
            area_um2: vec![0.0, area_um2, 0.0],
            cm_uf_cm2: vec![cm_uf_cm2; 3],
            rinv_us: vec![0.0, rinv, rinv],
        }
    }
}
