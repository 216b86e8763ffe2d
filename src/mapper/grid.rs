//! The postsynaptic cell on the PST lattice (docs/mapper.md#morphology, docs/mapper.md#cell-grid,
//! docs/mapper.md#length-and-area-per-voxel, docs/mapper.md#realizations): mapped sections with
//! their relative point positions, the cell grid (a sub-grid of the excitatory PST field), the
//! per-voxel dendritic length and area per structure, and the traced points per voxel.
//!
//! ISF conventions kept because they change the numbers: the hoc *diameter* is used as the
//! frustum *radius* ("likeAmira", docs/mapper.md#differences-from-isf, item 1, consistent with how
//! the INH normalisation field was made), and a clipped segment lying exactly on a voxel face is
//! counted in every voxel sharing that face (docs/mapper.md#differences-from-isf, item 2; closed
//! voxels).

use super::amira::ScalarField;

/// Morphology labels that receive synapses, in ISF's names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Structure {
    /// The soma (ISF label `Soma`).
    Soma,
    /// Basal dendrite (ISF label `Dendrite`, summary key `BasalDendrite`).
    Dendrite,
    /// The apical dendrite (ISF label `ApicalDendrite`).
    ApicalDendrite,
}

/// One section given to the mapper, before derived geometry.
#[derive(Debug, Clone)]
pub struct SectionInput {
    /// Section id written to `.syn` (the morphology's section index).
    pub index: usize,
    /// `None` for sections that never get synapses (axon, unknown labels).
    pub structure: Option<Structure>,
    /// `x, y, z, diameter` in µm.
    pub points: Vec<[f64; 4]>,
    /// Position of the parent in the input list.
    pub parent: Option<usize>,
}

/// A section that can receive synapses.
#[derive(Debug, Clone)]
pub struct MapSection {
    /// Section id written to `.syn`.
    pub index: usize,
    /// Its structure.
    pub structure: Structure,
    /// Its traced points, as read \[µm\].
    pub points_um: Vec<[f64; 3]>,
    /// The diameter at each point, as read \[µm\].
    pub diameters_um: Vec<f64>,
    /// Relative arc position of every point (first 0, last exactly 1).
    pub rel_x: Vec<f64>,
    /// Sum of the distances between consecutive points.
    pub length_um: f64,
    /// Path length from the soma to this section's start, ISF's convention
    /// (docs/mapper.md#ids-and-distances): the full length of every non-soma ancestor, whatever
    /// `parentx` is.
    pub ancestors_length_um: f64,
}

/// The mapped cell.
#[derive(Debug, Clone)]
pub struct CellGeometry {
    /// Cell id written to the `.syn` header (hoc basename without `.hoc`).
    pub name: String,
    /// The sections that can receive synapses, in section-id order.
    pub sections: Vec<MapSection>,
    /// Structures in order of first appearance (decides synapse order within a cell).
    pub structures: Vec<Structure>,
}

impl CellGeometry {
    /// Builds the mapped cell from the morphology's sections; sections without a structure are
    /// dropped (their ids are not reused, so ids stay the simulator's).
    pub fn new(name: impl Into<String>, input: &[SectionInput]) -> Result<Self, String> {
        let mut sections = Vec::new();
        let mut structures = Vec::new();
        for s in input {
            let Some(structure) = s.structure else {
                continue;
            };
            if s.points.is_empty() {
                return Err(format!("section {} has no points", s.index));
            }
            if s.points.iter().flatten().any(|v| !v.is_finite()) {
                return Err(format!("section {} has a non-finite coordinate", s.index));
            }
            if !structures.contains(&structure) {
                structures.push(structure);
            }
            let points_um: Vec<[f64; 3]> = s.points.iter().map(|p| [p[0], p[1], p[2]]).collect();
            let diameters_um = s.points.iter().map(|p| p[3]).collect();
            let mut cum = Vec::with_capacity(points_um.len());
            let mut acc = 0.0;
            cum.push(0.0);
            for w in points_um.windows(2) {
                acc += dist(w[0], w[1]);
                cum.push(acc);
            }
            let length_um = acc;
            let mut rel_x: Vec<f64> = if length_um > 0.0 {
                cum.iter().map(|c| c / length_um).collect()
            } else {
                vec![0.0; cum.len()]
            };
            if rel_x.len() > 1 && length_um > 0.0 {
                *rel_x.last_mut().expect("non-empty") = 1.0;
            }
            // Ancestor chain; a parent that is not mapped (e.g. an axon) ends the chain.
            let mut anc = 0.0;
            let mut p = s.parent;
            let mut guard = 0;
            while let Some(pi) = p {
                guard += 1;
                if guard > input.len() {
                    return Err(format!("section {} has a cyclic parent chain", s.index));
                }
                let Some(par) = input.get(pi) else { break };
                match par.structure {
                    Some(Structure::Soma) | None => break,
                    Some(_) => {
                        anc += par
                            .points
                            .windows(2)
                            .map(|w| dist3(&w[0], &w[1]))
                            .sum::<f64>();
                    }
                }
                p = par.parent;
            }
            sections.push(MapSection {
                index: s.index,
                structure,
                points_um,
                diameters_um,
                rel_x,
                length_um,
                ancestors_length_um: anc,
            });
        }
        if sections.is_empty() {
            return Err("no soma or dendrite sections".into());
        }
        Ok(CellGeometry {
            name: name.into(),
            sections,
            structures,
        })
    }

    /// The mapped cell of a morphology read by [`crate::morphology`]: `Soma`, `Dendrite` and
    /// `ApicalDendrite` sections receive synapses; others (axon, AIS, myelin) are skipped. The
    /// `.syn` section id is the morphology's section index, i.e. the simulator's (ISF's mapper
    /// numbers only recognised sections, which agrees as long as no axon precedes a dendrite).
    pub fn from_morphology(
        name: impl Into<String>,
        m: &crate::morphology::Morphology,
    ) -> Result<Self, String> {
        let input: Vec<SectionInput> = m
            .sections
            .iter()
            .enumerate()
            .map(|(i, s)| SectionInput {
                index: i,
                structure: match s.label.as_str() {
                    "Soma" => Some(Structure::Soma),
                    "Dendrite" => Some(Structure::Dendrite),
                    "ApicalDendrite" => Some(Structure::ApicalDendrite),
                    _ => None,
                },
                points: s.points.clone(),
                parent: s.parent.map(|p| p.0),
            })
            .collect();
        Self::new(name, &input)
    }

    /// Axis-aligned bounds `[min, max]` of all mapped points.
    pub fn bounds_um(&self) -> [[f64; 2]; 3] {
        let mut b = [[f64::INFINITY, f64::NEG_INFINITY]; 3];
        for s in &self.sections {
            for p in &s.points_um {
                for a in 0..3 {
                    b[a][0] = b[a][0].min(p[a]);
                    b[a][1] = b[a][1].max(p[a]);
                }
            }
        }
        b
    }

    /// ISF's path distance to the soma of point `point` of mapped section `section`
    /// (docs/mapper.md#ids-and-distances).
    pub fn distance_to_soma_um(&self, section: usize, point: usize) -> f64 {
        let s = &self.sections[section];
        if s.structure == Structure::Soma {
            0.0
        } else {
            s.rel_x[point] * s.length_um + s.ancestors_length_um
        }
    }

    /// Position of `structure` in [`CellGeometry::structures`].
    pub fn structure_slot(&self, structure: Structure) -> Option<usize> {
        self.structures.iter().position(|&s| s == structure)
    }
}

fn dist(a: [f64; 3], b: [f64; 3]) -> f64 {
    ((b[0] - a[0]).powi(2) + (b[1] - a[1]).powi(2) + (b[2] - a[2]).powi(2)).sqrt()
}
fn dist3(a: &[f64; 4], b: &[f64; 4]) -> f64 {
    dist([a[0], a[1], a[2]], [b[0], b[1], b[2]])
}

/// The cell grid: the sub-lattice of the excitatory PST field covering the cell. Fields on it are
/// stored in C order (x slowest, z fastest), ISF's voxel iteration order.
#[derive(Debug, Clone, PartialEq)]
pub struct CellGrid {
    /// Corner of voxel (0,0,0), µm.
    pub origin_um: [f64; 3],
    /// Voxel size per axis \[µm\].
    pub spacing_um: [f64; 3],
    /// Voxels per axis.
    pub dims: [usize; 3],
}

impl CellGrid {
    /// Smallest index box of `ex` voxels whose closed bounds overlap the closed cell bounds.
    /// The cell must lie inside `ex`'s bounds.
    pub fn for_cell(ex: &ScalarField, cell: [[f64; 2]; 3]) -> Result<Self, String> {
        let fb = ex.bounds_um();
        for a in 0..3 {
            if cell[a][0] < fb[a][0] || cell[a][1] > fb[a][1] {
                return Err(format!(
                    "the cell ({:.1}..{:.1} µm on axis {}) is not inside the excitatory PST field ({:.1}..{:.1} µm)",
                    cell[a][0],
                    cell[a][1],
                    ["x", "y", "z"][a],
                    fb[a][0],
                    fb[a][1]
                ));
            }
        }
        let mut origin_um = [0.0; 3];
        let mut dims = [0; 3];
        for a in 0..3 {
            let d = ex.spacing_um[a];
            let o = ex.origin_um[a];
            let n = ex.dims[a] as i64;
            // Voxel i overlaps [lo, hi] iff o + i·d ≤ hi and o + (i+1)·d ≥ lo; search the exact
            // condition around the floating estimate.
            let mut lo = (((cell[a][0] - o) / d).floor() as i64 - 1).clamp(0, n - 1);
            while lo > 0 && o + lo as f64 * d >= cell[a][0] {
                lo -= 1;
            }
            while lo < n - 1 && o + (lo + 1) as f64 * d < cell[a][0] {
                lo += 1;
            }
            let mut hi = (((cell[a][1] - o) / d).floor() as i64 + 1).clamp(0, n - 1);
            while hi > lo && o + hi as f64 * d > cell[a][1] {
                hi -= 1;
            }
            origin_um[a] = o + lo as f64 * d;
            dims[a] = (hi - lo + 1) as usize;
        }
        Ok(CellGrid {
            origin_um,
            spacing_um: ex.spacing_um,
            dims,
        })
    }

    /// Number of voxels.
    pub fn len(&self) -> usize {
        self.dims[0] * self.dims[1] * self.dims[2]
    }

    /// Always false (a grid has at least one voxel).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Linear C-order index of voxel `(i, j, k)`.
    #[inline]
    pub fn lin(&self, i: usize, j: usize, k: usize) -> usize {
        (i * self.dims[1] + j) * self.dims[2] + k
    }

    /// `(i, j, k)` of a linear index.
    #[inline]
    pub fn ijk(&self, v: usize) -> [usize; 3] {
        let k = v % self.dims[2];
        let j = (v / self.dims[2]) % self.dims[1];
        let i = v / (self.dims[1] * self.dims[2]);
        [i, j, k]
    }

    /// Centre of voxel `v`.
    pub fn centre_um(&self, v: usize) -> [f64; 3] {
        let ijk = self.ijk(v);
        std::array::from_fn(|a| self.origin_um[a] + (ijk[a] as f64 + 0.5) * self.spacing_um[a])
    }

    /// Closed bounds of the whole grid.
    pub fn bounds_um(&self) -> [[f64; 2]; 3] {
        std::array::from_fn(|a| {
            [
                self.origin_um[a],
                self.origin_um[a] + self.dims[a] as f64 * self.spacing_um[a],
            ]
        })
    }

    /// Floor voxel index of `p`, if inside the grid.
    fn floor_index(&self, p: [f64; 3]) -> Option<[usize; 3]> {
        let mut out = [0; 3];
        for a in 0..3 {
            let f = ((p[a] - self.origin_um[a]) / self.spacing_um[a]).floor();
            if f < 0.0 || f >= self.dims[a] as f64 {
                return None;
            }
            out[a] = f as usize;
        }
        Some(out)
    }

    /// Index range per axis of voxels whose closed box may contain `[lo, hi]` (conservative).
    fn index_range(&self, lo: [f64; 3], hi: [f64; 3]) -> [(usize, usize); 3] {
        std::array::from_fn(|a| {
            let d = self.spacing_um[a];
            let o = self.origin_um[a];
            let n = self.dims[a] as i64;
            let a0 = (((lo[a] - o) / d).floor() as i64 - 1).clamp(0, n - 1);
            let a1 = (((hi[a] - o) / d).floor() as i64 + 1).clamp(0, n - 1);
            (a0 as usize, a1 as usize)
        })
    }

    /// Closed bounds of voxel `(i, j, k)`.
    fn voxel_box(&self, ijk: [usize; 3]) -> [[f64; 2]; 3] {
        std::array::from_fn(|a| {
            let lo = self.origin_um[a] + ijk[a] as f64 * self.spacing_um[a];
            [lo, lo + self.spacing_um[a]]
        })
    }
}

/// Per-voxel length and area of each structure, and the traced points in each voxel.
#[derive(Debug, Clone)]
pub struct CellRaster {
    /// The grid.
    pub grid: CellGrid,
    /// `length_um[structure slot][voxel]`.
    pub length_um: Vec<Vec<f64>>,
    /// `area_um2[structure slot][voxel]`, ISF's convention (diameter used as radius).
    pub area_um2: Vec<Vec<f64>>,
    /// `candidates[structure slot][voxel]` = `(mapped section, point)` of every traced point in
    /// the closed voxel, by section then point.
    pub candidates: Vec<Vec<Vec<(u32, u32)>>>,
}

impl CellRaster {
    /// Rasterises `cell` on `grid` (docs/mapper.md#length-and-area-per-voxel) and builds the
    /// point-membership map (docs/mapper.md#realizations).
    pub fn new(cell: &CellGeometry, grid: CellGrid) -> Self {
        let ns = cell.structures.len();
        let nv = grid.len();
        let mut length_um = vec![vec![0.0; nv]; ns];
        let mut area_um2 = vec![vec![0.0; nv]; ns];
        let mut candidates = vec![vec![Vec::new(); nv]; ns];
        for (si, sec) in cell.sections.iter().enumerate() {
            let slot = cell
                .structure_slot(sec.structure)
                .expect("listed structure");
            let (len_s, area_s) = (&mut length_um[slot], &mut area_um2[slot]);
            for p in 0..sec.points_um.len().saturating_sub(1) {
                let (p1, p2) = (sec.points_um[p], sec.points_um[p + 1]);
                let (r1, r2) = (sec.diameters_um[p], sec.diameters_um[p + 1]);
                add_segment(&grid, p1, p2, r1, r2, len_s, area_s);
            }
            for (pi, &pt) in sec.points_um.iter().enumerate() {
                let r = grid.index_range(pt, pt);
                for i in r[0].0..=r[0].1 {
                    for j in r[1].0..=r[1].1 {
                        for k in r[2].0..=r[2].1 {
                            let b = grid.voxel_box([i, j, k]);
                            if (0..3).all(|a| b[a][0] <= pt[a] && pt[a] <= b[a][1]) {
                                candidates[slot][grid.lin(i, j, k)].push((si as u32, pi as u32));
                            }
                        }
                    }
                }
            }
        }
        CellRaster {
            grid,
            length_um,
            area_um2,
            candidates,
        }
    }
}

/// Lateral area of a frustum of height `h` and end radii `ra`, `rb`.
#[inline]
fn frustum_area(h: f64, ra: f64, rb: f64) -> f64 {
    std::f64::consts::PI * (ra + rb) * (h * h + (rb - ra) * (rb - ra)).sqrt()
}

/// Adds one segment's length and area (radii `r1`, `r2` = ISF's hoc diameters) to the voxels.
fn add_segment(
    grid: &CellGrid,
    p1: [f64; 3],
    p2: [f64; 3],
    r1: f64,
    r2: f64,
    len_s: &mut [f64],
    area_s: &mut [f64],
) {
    let seg_len = dist(p1, p2);
    if let (Some(a), Some(b)) = (grid.floor_index(p1), grid.floor_index(p2)) {
        if a == b {
            let v = grid.lin(a[0], a[1], a[2]);
            len_s[v] += seg_len;
            area_s[v] += frustum_area(seg_len, r1, r2);
            return;
        }
    }
    let lo = std::array::from_fn(|a| p1[a].min(p2[a]));
    let hi = std::array::from_fn(|a| p1[a].max(p2[a]));
    let r = grid.index_range(lo, hi);
    let d = [p2[0] - p1[0], p2[1] - p1[1], p2[2] - p1[2]];
    for i in r[0].0..=r[0].1 {
        for j in r[1].0..=r[1].1 {
            for k in r[2].0..=r[2].1 {
                let b = grid.voxel_box([i, j, k]);
                let Some((u1, u2)) = liang_barsky(p1, d, &b) else {
                    continue;
                };
                let h = (u2 - u1) * seg_len;
                let (ra, rb) = if seg_len < 1e-4 {
                    let m = 0.5 * (r1 + r2);
                    (m, m)
                } else {
                    (u1 * r2 + (1.0 - u1) * r1, u2 * r2 + (1.0 - u2) * r1)
                };
                let v = grid.lin(i, j, k);
                len_s[v] += h;
                area_s[v] += frustum_area(h, ra, rb);
            }
        }
    }
}

/// Liang–Barsky clip of `p1 + u·d`, u ∈ [0, 1], against a closed box; the parameter range kept.
fn liang_barsky(p1: [f64; 3], d: [f64; 3], b: &[[f64; 2]; 3]) -> Option<(f64, f64)> {
    let (mut u1, mut u2) = (0.0f64, 1.0f64);
    for a in 0..3 {
        for (p, q) in [(-d[a], p1[a] - b[a][0]), (d[a], b[a][1] - p1[a])] {
            if p < 0.0 {
                let t = q / p;
                if t > u2 {
                    return None;
                } else if t > u1 {
                    u1 = t;
                }
            } else if p > 0.0 {
                let t = q / p;
                if t < u1 {
                    return None;
                } else if t < u2 {
                    u2 = t;
                }
            } else if q < 0.0 {
                return None;
            }
        }
    }
    (u2 >= u1).then_some((u1, u2))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field(dims: [usize; 3], origin: [f64; 3]) -> ScalarField {
        ScalarField {
            dims,
            origin_um: origin,
            spacing_um: [50.0; 3],
            data: vec![1.0; dims[0] * dims[1] * dims[2]],
        }
    }

    fn cell(points: Vec<[f64; 4]>) -> CellGeometry {
        CellGeometry::new(
            "c",
            &[SectionInput {
                index: 0,
                structure: Some(Structure::Dendrite),
                points,
                parent: None,
            }],
        )
        .unwrap()
    }

    #[test]
    fn grid_includes_face_touching_voxels() {
        let ex = field([8, 8, 8], [-200.0; 3]);
        // ymin = -150 exactly on a face pulls in voxel [-200, -150] (docs/mapper.md#cell-grid
        // example).
        let g = CellGrid::for_cell(&ex, [[-10.0, 10.0], [-150.0, -120.0], [1.0, 2.0]]).unwrap();
        assert_eq!(g.origin_um, [-50.0, -200.0, 0.0]);
        assert_eq!(g.dims, [2, 2, 1]);
        assert!(CellGrid::for_cell(&ex, [[-10.0, 10.0], [0.0, 1.0], [0.0, 500.0]]).is_err());
    }

    #[test]
    fn clipping_conserves_length_and_splits_area() {
        // A 100 µm segment along x from x=10 to x=110 crosses faces at 50 and 100.
        let c = cell(vec![[10.0, 20.0, 20.0, 2.0], [110.0, 20.0, 20.0, 4.0]]);
        let ex = field([4, 2, 2], [0.0; 3]);
        let g = CellGrid::for_cell(&ex, c.bounds_um()).unwrap();
        let r = CellRaster::new(&c, g);
        let l = &r.length_um[0];
        // Pieces 40, 50, 10 µm in voxels x = 0, 1, 2.
        let lin = |i| r.grid.lin(i, 0, 0);
        assert!((l[lin(0)] - 40.0).abs() < 1e-9);
        assert!((l[lin(1)] - 50.0).abs() < 1e-9);
        assert!((l[lin(2)] - 10.0).abs() < 1e-9);
        // Radius (= diameter) at x=50 is 2 + 0.4·2 = 2.8; piece area π(2 + 2.8)·sqrt(40² + 0.8²).
        let a0 = std::f64::consts::PI * 4.8 * (1600.0f64 + 0.64).sqrt();
        assert!((r.area_um2[0][lin(0)] - a0).abs() < 1e-9);
        // Whole-segment area is the sum over pieces only approximately (slant), total length exact.
        assert!((l.iter().sum::<f64>() - 100.0).abs() < 1e-9);
        // The end points are candidates of voxels 0 and 2.
        assert_eq!(r.candidates[0][lin(0)], vec![(0, 0)]);
        assert_eq!(r.candidates[0][lin(2)], vec![(0, 1)]);
        assert!(r.candidates[0][lin(1)].is_empty());
    }

    #[test]
    fn rel_x_and_distances() {
        let input = vec![
            SectionInput {
                index: 0,
                structure: Some(Structure::Soma),
                points: vec![[0.0, 0.0, 0.0, 10.0], [10.0, 0.0, 0.0, 10.0]],
                parent: None,
            },
            SectionInput {
                index: 1,
                structure: Some(Structure::ApicalDendrite),
                points: vec![
                    [10.0, 0.0, 0.0, 2.0],
                    [13.0, 4.0, 0.0, 2.0],
                    [13.0, 10.0, 0.0, 2.0],
                ],
                parent: Some(0),
            },
            SectionInput {
                index: 2,
                structure: Some(Structure::ApicalDendrite),
                points: vec![[13.0, 4.0, 0.0, 1.0], [13.0, 4.0, 7.0, 1.0]],
                parent: Some(1),
            },
            SectionInput {
                index: 3,
                structure: None,
                points: vec![[0.0, 0.0, 0.0, 1.0], [0.0, 0.0, -5.0, 1.0]],
                parent: Some(0),
            },
        ];
        let c = CellGeometry::new("c", &input).unwrap();
        assert_eq!(c.sections.len(), 3);
        assert_eq!(
            c.structures,
            vec![Structure::Soma, Structure::ApicalDendrite]
        );
        // Section 1: segments 5 and 6 µm → x = 0, 5/11, 1.
        assert_eq!(c.sections[1].rel_x, vec![0.0, 5.0 / 11.0, 1.0]);
        assert_eq!(c.distance_to_soma_um(0, 1), 0.0);
        assert!((c.distance_to_soma_um(1, 1) - 5.0).abs() < 1e-12);
        // Child attached mid-parent is still charged the parent's full 11 µm (ISF quirk).
        assert!((c.distance_to_soma_um(2, 1) - 18.0).abs() < 1e-12);
    }
}
