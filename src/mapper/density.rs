//! The cell's PST fields and the expected synapse count λ per bouton file
//! (docs/mapper.md#synapse-density, docs/mapper.md#formulas):
//!
//! ```text
//! P^X_s(v) = ρ^X_len,s · L_s(v) + ρ^X_area,s · A_s(v)
//! λ_f,s(v) = B_f(c_v) · P^X_s(v) / N_X(c_v)     (0 if B or N undefined at c_v, or N ≤ 0)
//! ```

use rand_distr::Poisson;

use super::amira::ScalarField;
use super::grid::{CellGeometry, CellRaster, Structure};
use super::model::{CellClass, PstDensities};

/// The cell's PST counts per structure slot and voxel, for both presynaptic classes.
#[derive(Debug, Clone)]
pub struct CellPst {
    /// `excitatory[slot][voxel]`.
    pub excitatory: Vec<Vec<f64>>,
    /// `inhibitory[slot][voxel]`.
    pub inhibitory: Vec<Vec<f64>>,
}

impl CellPst {
    /// `P = ρ_len·L + ρ_area·A` per structure (soma, basal = `Dendrite`, apical).
    pub fn new(
        cell: &CellGeometry,
        raster: &CellRaster,
        exc: &PstDensities,
        inh: &PstDensities,
    ) -> Self {
        let make = |rho: &PstDensities| {
            cell.structures
                .iter()
                .enumerate()
                .map(|(slot, s)| {
                    let (rl, ra) = match s {
                        Structure::Soma => (rho.soma_length, rho.soma_area),
                        Structure::Dendrite => (rho.basal_length, rho.basal_area),
                        Structure::ApicalDendrite => (rho.apical_length, rho.apical_area),
                    };
                    raster.length_um[slot]
                        .iter()
                        .zip(&raster.area_um2[slot])
                        .map(|(l, a)| rl * l + ra * a)
                        .collect()
                })
                .collect()
        };
        CellPst {
            excitatory: make(exc),
            inhibitory: make(inh),
        }
    }

    /// The fields of class `class`.
    pub fn of(&self, class: CellClass) -> &[Vec<f64>] {
        match class {
            CellClass::Excitatory => &self.excitatory,
            CellClass::Inhibitory => &self.inhibitory,
        }
    }
}

/// The normalisation PST values at every cell-grid voxel centre (`None` where undefined).
#[derive(Debug, Clone)]
pub struct Normalisation {
    /// Of the excitatory field.
    pub excitatory: Vec<Option<f64>>,
    /// Of the inhibitory field.
    pub inhibitory: Vec<Option<f64>>,
}

impl Normalisation {
    /// Samples both PST fields at the voxel centres of `raster.grid`.
    pub fn new(raster: &CellRaster, exc: &ScalarField, inh: &ScalarField) -> Self {
        let n = raster.grid.len();
        let sample = |f: &ScalarField| {
            (0..n)
                .map(|v| f.value_at(raster.grid.centre_um(v)))
                .collect()
        };
        Normalisation {
            excitatory: sample(exc),
            inhibitory: sample(inh),
        }
    }
}

/// Full λ field of one bouton field: `lambda[slot][voxel]`, or `None` if the field's box does
/// not overlap the cell grid (closed test; ISF's "None" density).
pub fn lambda_field(
    boutons: &ScalarField,
    class: CellClass,
    raster: &CellRaster,
    pst: &CellPst,
    norm: &Normalisation,
) -> Option<Vec<Vec<f64>>> {
    let fb = boutons.bounds_um();
    let gb = raster.grid.bounds_um();
    if !(0..3).all(|a| fb[a][0] <= gb[a][1] && gb[a][0] <= fb[a][1]) {
        return None;
    }
    let p = pst.of(class);
    let n = match class {
        CellClass::Excitatory => &norm.excitatory,
        CellClass::Inhibitory => &norm.inhibitory,
    };
    let nv = raster.grid.len();
    let mut out = vec![vec![0.0; nv]; p.len()];
    for v in 0..nv {
        let Some(nn) = n[v].filter(|&x| x > 0.0) else {
            continue;
        };
        if p.iter().all(|ps| ps[v] == 0.0) {
            continue;
        }
        let Some(b) = boutons.value_at(raster.grid.centre_um(v)) else {
            continue;
        };
        for (slot, ps) in p.iter().enumerate() {
            out[slot][v] = b * ps[v] / nn;
        }
    }
    Some(out)
}

/// What one bouton file contributes to a realization: the voxels (with traced points) where it
/// makes synapses, ready for sampling.
#[derive(Debug, Clone)]
pub struct AxonDensity {
    /// `(structure slot, voxel, λ)` for λ > 0 in voxels with candidate points, ordered by slot
    /// then C-order voxel (ISF's synapse order within a cell).
    pub entries: Vec<(u16, u32, f64)>,
    /// Running sums of λ over `entries` (for drawing the voxel of a synapse).
    pub cumulative: Vec<f64>,
    /// Λ = Σλ over `entries`: expected synapses from one cell using this file.
    pub total: f64,
    /// Σλ including voxels without traced points (those synapses are lost,
    /// docs/mapper.md#differences-from-isf, item 3).
    pub total_including_lost: f64,
    /// Poisson(Λ) for the synapse count of one cell; `None` when Λ = 0.
    pub poisson: Option<Poisson<f64>>,
}

impl AxonDensity {
    /// Sparse sampling form of a full λ field.
    pub fn new(lambda: &[Vec<f64>], raster: &CellRaster) -> Self {
        let mut entries = Vec::new();
        let mut total_including_lost = 0.0;
        for (slot, ls) in lambda.iter().enumerate() {
            for (v, &l) in ls.iter().enumerate() {
                if l > 0.0 {
                    total_including_lost += l;
                    if !raster.candidates[slot][v].is_empty() {
                        entries.push((slot as u16, v as u32, l));
                    }
                }
            }
        }
        let mut cumulative = Vec::with_capacity(entries.len());
        let mut acc = 0.0;
        for e in &entries {
            acc += e.2;
            cumulative.push(acc);
        }
        let poisson = if acc > 0.0 {
            Poisson::new(acc).ok()
        } else {
            None
        };
        AxonDensity {
            entries,
            cumulative,
            total: acc,
            total_including_lost,
            poisson,
        }
    }

    /// Probability that a cell using this file gets at least one synapse: 1 − exp(−Λ).
    pub fn connection_probability(&self) -> f64 {
        -(-self.total).exp_m1()
    }
}
