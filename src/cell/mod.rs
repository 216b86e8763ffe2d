//! Cell model: discretisation (d-λ), NEURON's segment geometry and node tree, distances, spatial rules for channel densities, recording sites; builds the immutable cell template.
//!
//! [`CellTemplate::from_params`] follows ISF's `create_cell`: morphology (+ artificial axon) →
//! section properties → nseg by the d-λ rule → range mechanisms by spatial rule, ions, spines →
//! cell modify functions (apical scaling) → NEURON geometry of the final shape → node tree.
//! The template is built once and shared by every trial.

mod build;
pub mod geometry;
mod recording;
mod rules;
mod solver_model;
mod table;

pub use geometry::{
    build_cable, segment_geometry, CableLayout, CableSection, SectionShape, SectionTree,
    SegmentGeometry,
};
pub use recording::{read_landmarks, RecordingSite};
pub use table::{SegmentRow, SegmentsTable};

use crate::mechanisms::MechanismPlacement;
use crate::solver::CableTree;
use indexmap::IndexMap;

/// Errors while building a cell.
#[derive(Debug, thiserror::Error)]
pub enum CellError {
    /// Reading or transforming the morphology failed.
    #[error(transparent)]
    Morphology(#[from] crate::morphology::MorphologyError),
    /// A parameter is missing or invalid (with file, line and key).
    #[error(transparent)]
    Param(#[from] crate::param::ParamError),
    /// The geometry cannot be discretised.
    #[error("cell geometry: {0}")]
    Geometry(String),
    /// A recording-site file is unreadable or malformed.
    #[error("{path}:{line}: {msg}")]
    Landmark {
        /// The `.landmarkAscii` file.
        path: std::path::PathBuf,
        /// 1-based line (0 when the whole file is concerned).
        line: usize,
        /// What is wrong.
        msg: String,
    },
}

/// One section of the built cell, by ISF section ID.
#[derive(Debug, Clone, PartialEq)]
pub struct SectionInfo {
    /// Name in the morphology file.
    pub name: String,
    /// Structure label.
    pub label: String,
    /// Parent section (None for the soma).
    pub parent: Option<usize>,
    /// Position on the parent where this section attaches (ISF: 0.5 for soma children);
    /// `-1.0` for the root.
    pub parent_x: f64,
    /// NEURON's `L` (µm).
    pub length_um: f64,
    /// Number of segments.
    pub nseg: usize,
    /// 3-D points as read (double precision, µm).
    pub pts: Vec<[f64; 3]>,
    /// Diameters as read (µm; ISF's `diamList`, not updated by apical scaling).
    pub diam_um: Vec<f64>,
    /// ISF's `relPts`: relative position of every 3-D point along the section.
    pub rel_pts: Vec<f64>,
    /// Node of segment 0; segment k is node `first_node + k`, the 1-end node `first_node + nseg`.
    pub first_node: usize,
    /// Node the section's 0-end sits on (parent's attachment node, or the root node).
    pub attach_node: usize,
    /// Axial resistivity (Ω·cm).
    pub ra_ohm_cm: f64,
    /// Specific capacitance (µF/cm², spines included).
    pub cm_uf_cm2: f64,
    /// NEURON's `seg.diam` of every segment after all transforms (µm).
    pub seg_diam_um: Vec<f64>,
}

impl SectionInfo {
    /// ISF's `segx`: centre of segment k.
    pub fn segx(&self, k: usize) -> f64 {
        (k as f64 + 0.5) / self.nseg as f64
    }

    /// Node of segment k.
    pub fn segment_node(&self, k: usize) -> usize {
        self.first_node + k
    }

    /// The zero-area node at the section's 1-end.
    pub fn end_node(&self) -> usize {
        self.first_node + self.nseg
    }
}

/// Ion settings: reversal potentials and concentrations the parameter file sets (`ions`), one
/// value per node (`NaN` = NEURON's default, also on zero-area nodes), and the temperature.
#[derive(Debug, Clone, PartialEq)]
pub struct IonSettings {
    /// Sodium reversal potential per node (mV); NaN = default (50 mV).
    pub ena_mv: Vec<f64>,
    /// Potassium reversal potential per node (mV); NaN = default (−77 mV).
    pub ek_mv: Vec<f64>,
    /// Any other ion variable set via `ions` (e.g. `eca` mV, `cao` mM) → per-node values.
    pub other: IndexMap<String, Vec<f64>>,
    /// NEURON `celsius` (°C).
    pub celsius: f64,
}

/// The immutable, shared description of one cell: geometry, node tree in Hines order,
/// mechanism placements, ions, recording sites and simulation settings.
#[derive(Debug, Clone)]
pub struct CellTemplate {
    /// Sections by ISF section ID.
    pub sections: Vec<SectionInfo>,
    /// The solver-facing node tree.
    pub cable: CableTree,
    /// One entry per mechanism name, in first-insertion order.
    pub mechanisms: Vec<MechanismPlacement>,
    /// Ion settings.
    pub ions: IonSettings,
    /// Initial membrane potential (mV).
    pub vinit_mv: f64,
    /// Time step (ms).
    pub dt_ms: f64,
    /// Stop time (ms).
    pub tstop_ms: f64,
    /// Temperature (°C).
    pub celsius: f64,
    /// Dendritic recording sites.
    pub recording_sites: Vec<RecordingSite>,
    /// Node of soma segment 0 (the soma voltage trace).
    pub soma_node: usize,
    /// Section ID of the soma.
    pub soma_section: usize,
    /// Section of every node (for zero-area nodes: the section they end, or the root section).
    pub node_section: Vec<usize>,
    tree: SectionTree,
}

impl CellTemplate {
    /// The node a point process at (section, x) acts on, as NEURON places it: for 0 < x < 1 the
    /// segment node `min(floor(x·nseg), nseg−1)` (docs/numerics.md#point-processes); x = 1 is the 1-end
    /// node and x = 0 the node the section's 0-end sits on. Panics if `section` is out of range.
    pub fn segment_node(&self, section: usize, x: f64) -> usize {
        let s = &self.sections[section];
        geometry::attachment_node(s.first_node, s.attach_node, s.nseg, x)
    }

    /// Segment index (0..nseg) containing x (x = 0 → 0, x = 1 → nseg − 1).
    pub fn segment_index(&self, section: usize, x: f64) -> usize {
        let s = &self.sections[section];
        if x <= 0.0 {
            0
        } else {
            geometry::segment_index(s.nseg, x)
        }
    }

    /// ISF's `Cell.distance_to_soma(sec, x)` (µm): NEURON path distance from the soma's 0-end,
    /// so it includes the soma up to the node its children attach to (docs/models.md#distances).
    pub fn distance_to_soma(&self, section: usize, x: f64) -> f64 {
        self.tree.path_distance(self.soma_section, 0.0, section, x)
    }

    /// Path distance (µm) between two points, NEURON's `distance`.
    pub fn path_distance(&self, sec_a: usize, x_a: f64, sec_b: usize, x_b: f64) -> f64 {
        self.tree.path_distance(sec_a, x_a, sec_b, x_b)
    }

    /// The soma distance ISF writes to synapse files (docs/models.md#distances): 0 on the soma,
    /// else `x·L + Σ L_a·(attachment x of the child on a)` over the ancestors below the soma.
    pub fn synaptic_soma_distance(&self, section: usize, x: f64) -> f64 {
        if self.sections[section].label == "Soma" || section == self.soma_section {
            return 0.0;
        }
        let s = &self.sections[section];
        let mut d = x * s.length_um;
        let mut child = section;
        while let Some(p) = self.sections[child].parent {
            if p == self.soma_section || self.sections[p].label == "Soma" {
                break;
            }
            d += self.sections[p].length_um * self.sections[child].parent_x;
            child = p;
        }
        d
    }

    /// Total membrane area (µm²).
    pub fn total_area_um2(&self) -> f64 {
        self.cable.area_um2.iter().sum()
    }

    /// Total number of segments.
    pub fn n_segments(&self) -> usize {
        self.sections.iter().map(|s| s.nseg).sum()
    }

    /// The mechanism placement named `name`.
    pub fn mechanism(&self, name: &str) -> Option<&MechanismPlacement> {
        self.mechanisms.iter().find(|m| m.name == name)
    }
}
