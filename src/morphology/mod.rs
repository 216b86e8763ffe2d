//! Morphology: ISF `.hoc` and SWC readers, the artificial AIS/myelin axon, and morphology transforms (apical scaling).
//!
//! A [`Morphology`] is the cell's shape as read: sections in file order (section ID = index),
//! each with a label (`Soma`, `Dendrite`, `ApicalDendrite`, `Axon`, `AIS`, `Myelin`), its 3-D
//! points in double precision exactly as written in the file, and its parent. NEURON's
//! single-precision storage of those points is applied later, in the cell model.

mod axon;
mod hoc;
mod modify;
mod swc;

pub use axon::add_hay2013_axon;
pub use hoc::{parse_hoc, read_hoc};
pub use modify::{scale_apical, scale_apical_morph_86, KNOWN_CELL_MODIFY_FUNCTIONS};
pub use swc::{parse_swc, read_swc};

use std::path::{Path, PathBuf};

/// A cell morphology: sections in ID order.
#[derive(Debug, Clone, PartialEq)]
pub struct Morphology {
    /// Sections by ISF section ID.
    pub sections: Vec<Section>,
    /// 1-based line in the source file of every 3-D point, per section, where the reader knows
    /// it (for error messages; sections added later, e.g. the artificial axon, have none).
    pub point_lines: Vec<Vec<usize>>,
}

/// One unbranched section.
#[derive(Debug, Clone, PartialEq)]
pub struct Section {
    /// Name in the source file (`soma`, `dend_1_0`, `axon_0`, …).
    pub name: String,
    /// Structure label (`Soma`, `Dendrite`, `ApicalDendrite`, `Axon`, `AIS`, `Myelin`).
    pub label: String,
    /// 3-D points `[x, y, z, diam]` in µm, as read (double precision).
    pub points: Vec<[f64; 4]>,
    /// Parent section ID and the position x ∈ [0, 1] on the parent where this section's 0-end
    /// attaches (as written in the file; ISF later moves soma children to soma(0.5)).
    pub parent: Option<(usize, f64)>,
}

impl Morphology {
    /// Reads a morphology, choosing the reader by extension (`.hoc`/`.HOC` or `.swc`/`.SWC`).
    pub fn read(path: &Path) -> Result<Morphology, MorphologyError> {
        let ext = path
            .extension()
            .and_then(|e| e.to_str())
            .map(|e| e.to_ascii_lowercase());
        match ext.as_deref() {
            Some("hoc") => read_hoc(path),
            Some("swc") => read_swc(path),
            _ => Err(MorphologyError::UnknownFormat {
                path: path.to_path_buf(),
            }),
        }
    }

    /// The source line of point `k` of section `section`, if known.
    pub fn point_line(&self, section: usize, k: usize) -> Option<usize> {
        self.point_lines.get(section)?.get(k).copied()
    }

    /// ID of the first section labelled `Soma`.
    pub fn soma(&self) -> Option<usize> {
        self.sections.iter().position(|s| s.label == "Soma")
    }

    /// Child section IDs of every section, in ID order.
    pub fn children(&self) -> Vec<Vec<usize>> {
        let mut ch = vec![Vec::new(); self.sections.len()];
        for (i, s) in self.sections.iter().enumerate() {
            if let Some((p, _)) = s.parent {
                if p < ch.len() {
                    ch[p].push(i);
                }
            }
        }
        ch
    }
}

/// Checks one 3-D point `[x, y, z, diam]` as read: coordinates within
/// ±[`MAX_MORPHOLOGY_UM`](crate::limits::MAX_MORPHOLOGY_UM), diameter in
/// 0..=`MAX_MORPHOLOGY_UM`. A zero diameter is allowed (NEURON accepts it, and real
/// reconstructions contain such points); a negative one is not (NEURON would silently use its
/// absolute value, ISF's d-λ rule fails on it).
pub(crate) fn check_point(p: &[f64; 4]) -> Result<(), String> {
    use crate::limits::{fmt_num, MAX_MORPHOLOGY_UM};
    for (axis, v) in ["x", "y", "z"].iter().zip(&p[..3]) {
        if !v.is_finite() || v.abs() > MAX_MORPHOLOGY_UM {
            return Err(format!(
                "coordinate {axis} = {} µm is outside ±{MAX_MORPHOLOGY_UM:e} µm",
                fmt_num(*v)
            ));
        }
    }
    let d = p[3];
    if !d.is_finite() || d < 0.0 {
        return Err(format!("diameter {} µm must be ≥ 0", fmt_num(d)));
    }
    if d > MAX_MORPHOLOGY_UM {
        return Err(format!(
            "diameter {} µm is larger than the limit of {MAX_MORPHOLOGY_UM:e} µm",
            fmt_num(d)
        ));
    }
    Ok(())
}

/// Reads a morphology file as text; bytes that are not UTF-8 are a syntax error at their line.
fn read_text(path: &Path) -> Result<String, MorphologyError> {
    crate::text::read_text(path).map_err(|e| match e {
        crate::text::ReadTextError::Io(cause) => MorphologyError::Io {
            path: path.to_path_buf(),
            cause,
        },
        e => MorphologyError::Syntax {
            path: path.to_path_buf(),
            line: e.line(),
            msg: e.to_string(),
        },
    })
}

/// NEURON's section length `L` (µm) for these points: coordinates rounded to `f32`, differences
/// taken in `f32`, squares, sum and square root in `f64`, accumulated in `f64` (NEURON's `Pt3d`
/// storage and `nrn_pt3dmodified`). Returns the cumulative arc length at every point.
pub fn neuron_arc_lengths(points: &[[f64; 4]]) -> Vec<f64> {
    let mut arc = Vec::with_capacity(points.len());
    let mut acc = 0.0f64;
    for (i, p) in points.iter().enumerate() {
        if i > 0 {
            let q = &points[i - 1];
            let t1 = (p[0] as f32 - q[0] as f32) as f64;
            let t2 = (p[1] as f32 - q[1] as f32) as f64;
            let t3 = (p[2] as f32 - q[2] as f32) as f64;
            acc += (t1 * t1 + t2 * t2 + t3 * t3).sqrt();
        }
        arc.push(acc);
    }
    arc
}

/// Errors of the morphology readers and transforms.
#[derive(Debug, thiserror::Error)]
pub enum MorphologyError {
    /// The file could not be read.
    #[error("cannot read morphology file {path}: {cause}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause (kept out of the error chain: it is already in the message).
        cause: std::io::Error,
    },
    /// A syntax or consistency error at a line of the file.
    #[error("{path}:{line}: {msg}")]
    Syntax {
        /// The file.
        path: PathBuf,
        /// 1-based line number.
        line: usize,
        /// What is wrong.
        msg: String,
    },
    /// A problem with the file as a whole.
    #[error("{path}: {msg}")]
    Invalid {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        msg: String,
    },
    /// The file extension names no supported format.
    #[error("{path}: unknown morphology format (expected .hoc or .swc)")]
    UnknownFormat {
        /// The file.
        path: PathBuf,
    },
    /// A transform could not be applied.
    #[error("{0}")]
    Transform(String),
}
