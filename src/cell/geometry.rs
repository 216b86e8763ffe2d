//! NEURON's segment geometry (areas, half-segment resistances, diameters), its node tree and
//! path distances, reproduced bit for bit (docs/models.md#geometry,
//! docs/numerics.md#cable-equations; NEURON `treeset.cpp`).

use super::CellError;
use crate::solver::CableTree;
use std::f64::consts::PI;

/// Shape of one section as NEURON stores it.
#[derive(Debug, Clone, PartialEq)]
pub enum SectionShape {
    /// 3-D points `[x, y, z, diam]` (µm) in NEURON's single precision.
    Points(Vec<[f32; 4]>),
    /// A cylinder given by `L` and `diam` (no 3-D points).
    Cylinder {
        /// Length (µm).
        length_um: f64,
        /// Diameter (µm).
        diam_um: f64,
    },
}

impl SectionShape {
    /// NEURON's single-precision copy of double-precision points.
    pub fn from_points(points: &[[f64; 4]]) -> SectionShape {
        SectionShape::Points(
            points
                .iter()
                .map(|p| [p[0] as f32, p[1] as f32, p[2] as f32, p[3] as f32])
                .collect(),
        )
    }

    /// NEURON's `L` (µm): the arc length of the f32 points (differences in f32, the rest in f64).
    pub fn length_um(&self) -> f64 {
        match self {
            SectionShape::Points(p) => arc_lengths(p).last().copied().unwrap_or(0.0),
            SectionShape::Cylinder { length_um, .. } => *length_um,
        }
    }
}

/// Cumulative arc length at every point, as NEURON's `nrn_pt3dmodified` computes it.
pub fn arc_lengths(p: &[[f32; 4]]) -> Vec<f64> {
    let mut arc = Vec::with_capacity(p.len());
    let mut acc = 0.0f64;
    for i in 0..p.len() {
        if i > 0 {
            let t1 = (p[i][0] - p[i - 1][0]) as f64;
            let t2 = (p[i][1] - p[i - 1][1]) as f64;
            let t3 = (p[i][2] - p[i - 1][2]) as f64;
            acc += (t1 * t1 + t2 * t2 + t3 * t3).sqrt();
        }
        arc.push(acc);
    }
    arc
}

/// Per-segment geometry of one section.
#[derive(Debug, Clone, PartialEq)]
pub struct SegmentGeometry {
    /// Membrane area of each segment (µm²).
    pub area_um2: Vec<f64>,
    /// NEURON's `seg.diam` (length-averaged diameter, µm).
    pub diam_um: Vec<f64>,
    /// Axial resistance of the left half of each segment (MΩ).
    pub r_left_mohm: Vec<f64>,
    /// Axial resistance of the right half of each segment (MΩ).
    pub r_right_mohm: Vec<f64>,
}

/// Areas and half-segment resistances of a section with `nseg` segments and axial resistivity
/// `ra_ohm_cm`: NEURON's piecewise-linear integration of the diameter profile (`diam_from_list`)
/// for 3-D sections, cylinders otherwise. Needs at least two points for a 3-D section.
pub fn segment_geometry(shape: &SectionShape, nseg: usize, ra_ohm_cm: f64) -> SegmentGeometry {
    let mut g = SegmentGeometry {
        area_um2: Vec::with_capacity(nseg),
        diam_um: Vec::with_capacity(nseg),
        r_left_mohm: Vec::with_capacity(nseg),
        r_right_mohm: Vec::with_capacity(nseg),
    };
    match shape {
        SectionShape::Cylinder { length_um, diam_um } => {
            let dx = length_um / nseg as f64;
            let area = PI * diam_um * dx;
            let r = 1e-2 * ra_ohm_cm * (dx / 2.0) / (PI * diam_um * diam_um / 4.0);
            for _ in 0..nseg {
                g.area_um2.push(area);
                g.diam_um.push(*diam_um);
                g.r_left_mohm.push(r);
                g.r_right_mohm.push(r);
            }
        }
        SectionShape::Points(p) => {
            let arc = arc_lengths(p);
            let npt = p.len();
            let d = |k: usize| (p[k][3] as f64).abs();
            // The walk over the 3-D points continues from one half segment to the next.
            let mut j = 0usize;
            let mut x1 = arc[0];
            let mut y1 = d(0);
            let ds = arc[npt - 1] / nseg as f64;
            for inode in 0..nseg {
                let mut si = inode as f64 * ds;
                let mut diam = 0.0;
                let mut area = 0.0;
                let mut rleft = 0.0;
                let mut rright = 0.0;
                for ihalf in 0..2 {
                    let mut ri = 0.0;
                    let sip = si + ds / 2.0;
                    loop {
                        let jp = j + 1;
                        let xj = arc[j];
                        let xjp = arc[jp];
                        let (x2, y2, jnext) = if xjp > sip || jp == npt - 1 {
                            let frac = if (xjp - xj).abs() < 1e-10 {
                                1.0
                            } else {
                                (sip - xj) / (xjp - xj)
                            };
                            (sip, (1.0 - frac) * d(j) + frac * d(jp), j)
                        } else {
                            (xjp, d(jp), jp)
                        };
                        let mut delta = x2 - x1;
                        diam += (y2 + y1) * delta;
                        if delta < 1e-15 {
                            delta = 1e-15;
                        }
                        let mut temp = y2 * y1 / delta;
                        if temp == 0.0 {
                            temp = 1e-15;
                        }
                        ri += 1.0 / temp;
                        let half = 0.5 * (y2 - y1);
                        area += (y2 + y1) * (delta * delta + half * half).sqrt();
                        x1 = x2;
                        y1 = y2;
                        if j == jnext {
                            break;
                        }
                        j = jnext;
                    }
                    let r = ri * ra_ohm_cm / PI * (4.0 * 0.01);
                    if ihalf == 0 {
                        rleft = r;
                    } else {
                        rright = r;
                    }
                    si = sip;
                }
                g.diam_um.push(diam * (0.5 / ds));
                g.area_um2.push(area * 0.5 * PI);
                g.r_left_mohm.push(rleft);
                g.r_right_mohm.push(rright);
            }
        }
    }
    g
}

/// Topology and discretisation of one section, for [`build_cable`].
#[derive(Debug, Clone, PartialEq)]
pub struct CableSection {
    /// Parent section and the position on it where this section's 0-end attaches.
    pub parent: Option<(usize, f64)>,
    /// Number of segments.
    pub nseg: usize,
    /// Segment geometry (from [`segment_geometry`]).
    pub geometry: SegmentGeometry,
    /// Specific capacitance of every segment (µF/cm²).
    pub cm_uf_cm2: Vec<f64>,
}

/// The node tree with the node numbering of every section.
#[derive(Debug, Clone, PartialEq)]
pub struct CableLayout {
    /// The solver's node tree.
    pub cable: CableTree,
    /// Node of segment 0 of every section (segment k is `first_node + k`, the 1-end node
    /// `first_node + nseg`).
    pub first_node: Vec<usize>,
    /// The node every section's 0-end sits on (its parent's node, or its own root node).
    pub attach_node: Vec<usize>,
}

/// The node of a parent section that a child attached at `x` joins: the 1-end node for x = 1,
/// the parent's own 0-end node for x = 0, else the segment node `min(floor(x·nseg), nseg−1)`.
pub fn attachment_node(first_node: usize, attach_node: usize, nseg: usize, x: f64) -> usize {
    if x >= 1.0 {
        first_node + nseg
    } else if x <= 0.0 {
        attach_node
    } else {
        first_node + segment_index(nseg, x)
    }
}

/// NEURON's `node_index` for 0 < x < 1: `min(floor(x·nseg), nseg−1)`.
pub fn segment_index(nseg: usize, x: f64) -> usize {
    ((x * nseg as f64) as usize).min(nseg - 1)
}

/// Builds the node tree: sections are visited depth first from the roots (root sections and
/// children in ID order), so a file written parent-first keeps its section order in the nodes.
pub fn build_cable(sections: &[CableSection]) -> Result<CableLayout, CellError> {
    let n = sections.len();
    let mut children = vec![Vec::new(); n];
    let mut roots = Vec::new();
    for (i, s) in sections.iter().enumerate() {
        if s.nseg == 0 {
            return Err(CellError::Geometry(format!("section {i} has nseg = 0")));
        }
        match s.parent {
            None => roots.push(i),
            Some((p, _)) if p < n && p != i => children[p].push(i),
            Some((p, _)) => {
                return Err(CellError::Geometry(format!(
                    "section {i} has an invalid parent section {p}"
                )))
            }
        }
    }
    let total: usize = roots.len() + sections.iter().map(|s| s.nseg + 1).sum::<usize>();
    let mut cable = CableTree {
        parent: Vec::with_capacity(total),
        area_um2: Vec::with_capacity(total),
        cm_uf_cm2: Vec::with_capacity(total),
        rinv_us: Vec::with_capacity(total),
    };
    let mut first_node = vec![usize::MAX; n];
    let mut attach = vec![usize::MAX; n];
    let mut stack: Vec<usize> = roots.iter().rev().copied().collect();
    let mut visited = 0;
    while let Some(s) = stack.pop() {
        visited += 1;
        let sec = &sections[s];
        let a = match sec.parent {
            None => {
                cable.parent.push(usize::MAX);
                cable.area_um2.push(0.0);
                cable.cm_uf_cm2.push(0.0);
                cable.rinv_us.push(0.0);
                cable.parent.len() - 1
            }
            Some((p, x)) => attachment_node(first_node[p], attach[p], sections[p].nseg, x),
        };
        attach[s] = a;
        let first = cable.parent.len();
        first_node[s] = first;
        let g = &sec.geometry;
        for k in 0..sec.nseg {
            cable.parent.push(if k == 0 { a } else { first + k - 1 });
            cable.area_um2.push(g.area_um2[k]);
            cable.cm_uf_cm2.push(sec.cm_uf_cm2[k]);
            let r = if k == 0 {
                g.r_left_mohm[0]
            } else {
                g.r_right_mohm[k - 1] + g.r_left_mohm[k]
            };
            cable.rinv_us.push(1.0 / r);
        }
        cable.parent.push(first + sec.nseg - 1);
        cable.area_um2.push(0.0);
        cable.cm_uf_cm2.push(0.0);
        cable.rinv_us.push(1.0 / g.r_right_mohm[sec.nseg - 1]);
        for &c in children[s].iter().rev() {
            stack.push(c);
        }
    }
    if visited != n {
        return Err(CellError::Geometry(
            "the section parents form a cycle (some sections are not reachable from a root)".into(),
        ));
    }
    Ok(CableLayout {
        cable,
        first_node,
        attach_node: attach,
    })
}

/// Section-tree data for path distances (NEURON `distance`).
#[derive(Debug, Clone, PartialEq)]
pub struct SectionTree {
    /// Parent section and attachment position.
    pub parent: Vec<Option<(usize, f64)>>,
    /// NEURON `L` (µm).
    pub length_um: Vec<f64>,
    /// nseg.
    pub nseg: Vec<usize>,
    depth: Vec<usize>,
}

impl SectionTree {
    /// Builds the tree; parents must form a forest (checked by [`build_cable`]).
    pub fn new(parent: Vec<Option<(usize, f64)>>, length_um: Vec<f64>, nseg: Vec<usize>) -> Self {
        let n = parent.len();
        let mut depth = vec![usize::MAX; n];
        for i in 0..n {
            let mut chain = Vec::new();
            let mut cur = i;
            while depth[cur] == usize::MAX {
                chain.push(cur);
                match parent[cur] {
                    Some((p, _)) if chain.len() <= n => cur = p,
                    _ => break,
                }
            }
            let mut d = if depth[cur] == usize::MAX {
                0
            } else {
                depth[cur] + 1
            };
            for &c in chain.iter().rev() {
                if depth[c] == usize::MAX {
                    depth[c] = d;
                    d += 1;
                }
            }
        }
        SectionTree {
            parent,
            length_um,
            nseg,
            depth,
        }
    }

    /// Position (µm from the 0-end) on section `p` of the node a child attached at `x` joins:
    /// `L` for x = 1, 0 for x = 0, else the centre of the segment containing x.
    pub fn attachment_position(&self, p: usize, x: f64) -> f64 {
        if x >= 1.0 {
            self.length_um[p]
        } else if x <= 0.0 {
            0.0
        } else {
            let n = self.nseg[p];
            (segment_index(n, x) as f64 + 0.5) / n as f64 * self.length_um[p]
        }
    }

    /// Path length (µm) between (section a, x_a) and (section b, x_b), measured along the tree
    /// through attachment nodes as NEURON's `distance` does. Infinite for different trees.
    pub fn path_distance(&self, a: usize, xa: f64, b: usize, xb: f64) -> f64 {
        let (mut sa, mut pa) = (a, xa * self.length_um[a]);
        let (mut sb, mut pb) = (b, xb * self.length_um[b]);
        let mut d = 0.0;
        while sa != sb {
            let up_a = self.depth[sa] >= self.depth[sb];
            let (s, pos) = if up_a {
                (&mut sa, &mut pa)
            } else {
                (&mut sb, &mut pb)
            };
            match self.parent[*s] {
                Some((p, x)) => {
                    d += *pos;
                    *pos = self.attachment_position(p, x);
                    *s = p;
                }
                None => return f64::INFINITY,
            }
        }
        d + (pa - pb).abs()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cylinder_geometry_by_hand() {
        // 500 µm × 2 µm, nseg 9, Ra 100: area π·2·500/9, half-segment r = Ra·(L/18)/(π·1²)·1e-2
        let g = segment_geometry(
            &SectionShape::Cylinder {
                length_um: 500.0,
                diam_um: 2.0,
            },
            9,
            100.0,
        );
        let area = PI * 2.0 * (500.0 / 9.0);
        let r = 100.0 * (500.0 / 18.0) / PI * 1e-2;
        assert!((g.area_um2[3] - area).abs() < 1e-12 * area);
        assert!((g.r_left_mohm[0] - r).abs() < 1e-12 * r);
    }

    #[test]
    fn frustum_area_and_resistance_by_hand() {
        // one linear taper 10 µm long, 4 → 2 µm, nseg 1. Left half: 0..5 µm, d 4 → 3;
        // right half 5..10 µm, d 3 → 2. Area = π/2·Σ(y1+y2)·sqrt(dx² + ((y2−y1)/2)²);
        // r_half = Ra·0.04/π · dx/(y1·y2).
        let shape = SectionShape::Points(vec![[0.0, 0.0, 0.0, 4.0], [10.0, 0.0, 0.0, 2.0]]);
        let g = segment_geometry(&shape, 1, 100.0);
        let a = PI / 2.0 * (7.0 * (25.0f64 + 0.25).sqrt() + 5.0 * (25.0f64 + 0.25).sqrt());
        assert!(
            (g.area_um2[0] - a).abs() < 1e-12 * a,
            "{} {a}",
            g.area_um2[0]
        );
        let rl = 100.0 * 0.04 / PI * (5.0 / 12.0);
        let rr = 100.0 * 0.04 / PI * (5.0 / 6.0);
        assert!((g.r_left_mohm[0] - rl).abs() < 1e-12 * rl);
        assert!((g.r_right_mohm[0] - rr).abs() < 1e-12 * rr);
        assert!((g.diam_um[0] - 3.0).abs() < 1e-12);
    }

    #[test]
    fn node_tree_and_distances() {
        let cyl = |l: f64, d: f64, n: usize| CableSection {
            parent: None,
            nseg: n,
            geometry: segment_geometry(
                &SectionShape::Cylinder {
                    length_um: l,
                    diam_um: d,
                },
                n,
                100.0,
            ),
            cm_uf_cm2: vec![1.0; n],
        };
        let mut secs = vec![cyl(20.0, 20.0, 1), cyl(500.0, 2.0, 5), cyl(200.0, 1.0, 5)];
        secs[1].parent = Some((0, 0.5));
        secs[2].parent = Some((1, 0.3));
        let l = build_cable(&secs).unwrap();
        // root, soma seg, soma end | dend 5 segs + end | dend2 5 segs + end
        assert_eq!(l.cable.len(), 3 + 6 + 6);
        assert_eq!(l.first_node, vec![1, 3, 9]);
        assert_eq!(l.cable.parent[3], 1); // dend hangs on the soma centre
        assert_eq!(l.cable.parent[9], 4); // dend2 on dend's 2nd segment (x = 0.3)
        assert!(l
            .cable
            .parent
            .iter()
            .enumerate()
            .all(|(i, &p)| p == usize::MAX || p < i));
        let t = SectionTree::new(
            secs.iter().map(|s| s.parent).collect(),
            vec![20.0, 500.0, 200.0],
            vec![1, 5, 5],
        );
        // from soma(0.5): dend2(0.1) = dend segment-1 centre (150) + 20
        assert!((t.path_distance(0, 0.5, 2, 0.1) - 170.0).abs() < 1e-12);
        assert!((t.path_distance(2, 0.1, 1, 0.9) - (20.0 + 300.0)).abs() < 1e-12);
    }
}
