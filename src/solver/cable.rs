//! The discretised cable as the solver sees it: a node tree in Hines order.

/// NEURON's node tree of one cell (docs/models.md#geometry, docs/numerics.md#cable-equations),
/// struct-of-arrays, nodes numbered so that every parent precedes its children (`parent[i] < i`;
/// roots have `parent == usize::MAX`).
///
/// Node kinds: each section contributes `nseg` *segment* nodes (membrane, capacitance,
/// mechanisms) followed by one *zero-area* node at its 1-end; every root section is preceded by
/// one zero-area root node at its 0-end. A zero-area node has `area_um2 == 0.0` and
/// `cm_uf_cm2 == 0.0`; its equation is Kirchhoff's current law in nA (NEURON gives such nodes
/// the dimensionless "area" 100, so the solver should use 100 there).
///
/// Units: `area_um2` µm²; `cm_uf_cm2` µF/cm²; `rinv_us` µS, the conductance between node `i`
/// and `parent[i]` (0 for roots). With these, NEURON's off-diagonal coefficients are
/// `b_i = -100·rinv_i/area_i` and `a_i = -100·rinv_i/area_parent` (using 100 for zero-area nodes).
#[derive(Debug, Clone, PartialEq)]
pub struct CableTree {
    /// Parent node of every node; `usize::MAX` for roots.
    pub parent: Vec<usize>,
    /// Membrane area (µm²); 0.0 marks a zero-area node.
    pub area_um2: Vec<f64>,
    /// Specific membrane capacitance (µF/cm²); 0.0 on zero-area nodes.
    pub cm_uf_cm2: Vec<f64>,
    /// Axial conductance to the parent node (µS); 0.0 for roots.
    pub rinv_us: Vec<f64>,
}

impl CableTree {
    /// Number of nodes.
    pub fn len(&self) -> usize {
        self.parent.len()
    }

    /// True when there are no nodes.
    pub fn is_empty(&self) -> bool {
        self.parent.is_empty()
    }

    /// True for root nodes.
    pub fn is_root(&self, node: usize) -> bool {
        self.parent[node] == usize::MAX
    }

    /// True for zero-area nodes (section ends and roots).
    pub fn is_zero_area(&self, node: usize) -> bool {
        self.area_um2[node] == 0.0
    }

    /// The area NEURON uses in the node equations: the membrane area, or 100 for zero-area nodes.
    pub fn equation_area(&self, node: usize) -> f64 {
        if self.area_um2[node] == 0.0 {
            100.0
        } else {
            self.area_um2[node]
        }
    }
}

impl CableTree {
    /// One section with a single segment, as NEURON builds it: zero-area root node 0 (the
    /// section's x = 0 end), the segment node 1 and the zero-area x = 1 end node 2, each end
    /// joined to the centre through half the segment's axial resistance `half_ri_mohm` (MΩ).
    pub fn single_compartment(area_um2: f64, cm_uf_cm2: f64, half_ri_mohm: f64) -> Self {
        let rinv = 1.0 / half_ri_mohm;
        CableTree {
            parent: vec![usize::MAX, 0, 1],
            area_um2: vec![0.0, area_um2, 0.0],
            cm_uf_cm2: vec![0.0, cm_uf_cm2, 0.0],
            rinv_us: vec![0.0, rinv, rinv],
        }
    }
}
