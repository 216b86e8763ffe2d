//! The example's morphology: a small layer-5-pyramidal-like tree grown from a few geometric rules.
//!
//! Shape (all lengths are path lengths in µm, z points towards the pia, the soma is centred at the
//! origin so that ISF's artificial axon, which runs along −z from the soma centre, leaves from the
//! soma's base):
//! * a spindle-shaped soma, 20 µm long and 20 µm wide at its middle;
//! * five basal trees leaving the soma's equator sideways and downwards, each a stem that forks
//!   once; three of them fork a second time;
//! * an apical trunk of 620 µm tapering from 4.2 to 2.4 µm, with seven oblique branches along it
//!   (every third one forks), ending in a nexus from which a tuft of two branches forks into four.
//!
//! Each branch is traced as points 5 µm apart whose heading wanders slightly (seeded), pulled back
//! towards the branch's intended course, with a diameter that tapers linearly. The coordinates are
//! rounded to the 6 decimals written to the `.hoc` file, so every length computed here is the one
//! a reader of that file sees.

use crate::network::rng::RandomState;
use std::fmt::Write as _;

/// Distance between successive traced points (µm).
const STEP_UM: f64 = 5.0;
/// Fraction of the deviation from the intended course corrected at every step.
const COURSE_PULL: f64 = 0.25;

/// Soma: length along z and diameter at the ends and at the middle (µm).
const SOMA_LENGTH_UM: f64 = 20.0;
const SOMA_END_DIAM_UM: f64 = 6.0;
const SOMA_MID_DIAM_UM: f64 = 20.0;
const SOMA_POINTS: usize = 9;

/// Apical trunk: total length, diameters at the soma and at the nexus (µm).
const TRUNK_LENGTH_UM: f64 = 620.0;
const TRUNK_BASE_DIAM_UM: f64 = 4.2;
const TRUNK_NEXUS_DIAM_UM: f64 = 2.4;
/// Path distances along the trunk at which oblique branches leave (µm).
const OBLIQUE_ORIGINS_UM: [f64; 7] = [40.0, 90.0, 150.0, 220.0, 300.0, 390.0, 480.0];

/// Number of basal trees.
const BASAL_TREES: usize = 5;

/// Which ISF structure label a section gets; the hoc name prefix decides it
/// (docs/formats.md#hoc-morphology).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Region {
    /// `soma` → label `Soma`.
    Soma,
    /// `dend` → label `Dendrite`.
    Basal,
    /// `apical` → label `ApicalDendrite`.
    Apical,
}

impl Region {
    /// The ISF structure label.
    pub fn label(self) -> &'static str {
        match self {
            Region::Soma => "Soma",
            Region::Basal => "Dendrite",
            Region::Apical => "ApicalDendrite",
        }
    }

    fn hoc_prefix(self) -> &'static str {
        match self {
            Region::Soma => "soma",
            Region::Basal => "dend",
            Region::Apical => "apical",
        }
    }
}

/// A section's part of the tree, finer than its label.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    /// The soma.
    Soma,
    /// Any basal section.
    Basal,
    /// A piece of the apical trunk.
    Trunk,
    /// An oblique branch (or one of its daughters).
    Oblique,
    /// A tuft branch.
    Tuft,
}

/// One unbranched section.
#[derive(Clone, Debug)]
pub struct Section {
    /// hoc name (unique).
    pub name: String,
    /// Label-deciding region.
    pub region: Region,
    /// Part of the tree.
    pub role: Role,
    /// Parent section index and the position on it where this section's 0-end attaches.
    pub parent: Option<(usize, f64)>,
    /// Traced points `[x, y, z, diameter]` in µm, exactly as written to the hoc file.
    pub points: Vec<[f64; 4]>,
}

impl Section {
    /// Length along the traced points (µm).
    pub fn length_um(&self) -> f64 {
        self.points.windows(2).map(|w| distance(&w[0], &w[1])).sum()
    }

    /// The point at a path distance from the section start (µm), as the closest traced point.
    pub fn point_near_um(&self, path_um: f64) -> [f64; 4] {
        let mut walked = 0.0;
        let mut best = (f64::INFINITY, self.points[0]);
        for (i, p) in self.points.iter().enumerate() {
            if i > 0 {
                walked += distance(&self.points[i - 1], p);
            }
            let off = (walked - path_um).abs();
            if off < best.0 {
                best = (off, *p);
            }
        }
        best.1
    }
}

/// The generated tree; section index = ISF section ID (soma first, parents before children).
#[derive(Clone, Debug)]
pub struct Morphology {
    /// Sections in file order.
    pub sections: Vec<Section>,
}

impl Morphology {
    /// Grows the tree, drawing its small irregularities from `rng`.
    pub fn generate(rng: &mut RandomState) -> Self {
        let mut b = Builder {
            rng,
            sections: Vec::new(),
        };
        b.soma();
        b.basal_trees();
        b.apical_tree();
        Morphology {
            sections: b.sections,
        }
    }

    /// Path distance from the soma to each section's 0-end, soma length excluded (µm); 0 for the
    /// soma and its children. This is ISF's `d_label` origin for labels rooted at the soma
    /// (docs/models.md#distances).
    pub fn start_distance_um(&self) -> Vec<f64> {
        let mut start = vec![0.0; self.sections.len()];
        for (i, s) in self.sections.iter().enumerate() {
            if let Some((p, x)) = s.parent {
                if self.sections[p].region != Region::Soma {
                    start[i] = start[p] + x * self.sections[p].length_um();
                }
            }
        }
        start
    }

    /// Sections with this role, in ID order.
    pub fn with_role(&self, role: Role) -> impl Iterator<Item = (usize, &Section)> {
        self.sections
            .iter()
            .enumerate()
            .filter(move |(_, s)| s.role == role)
    }

    /// The morphology in ISF's hoc dialect (`create`, `connect`, `pt3dadd`;
    /// docs/formats.md#hoc-morphology).
    pub fn to_hoc(&self, title: &str) -> String {
        let mut out = String::new();
        // A line holding both comment markers is skipped by ISF's reader.
        let _ = writeln!(out, "/* {title} */");
        for (i, s) in self.sections.iter().enumerate() {
            if i > 0 {
                out.push('\n');
            }
            let _ = writeln!(out, "{{create {}}}", s.name);
            if let Some((p, x)) = s.parent {
                let _ = writeln!(
                    out,
                    "{{connect {}(0), {}({x:.6})}}",
                    s.name, self.sections[p].name
                );
            }
            let _ = writeln!(out, "{{access {}}}", s.name);
            out.push_str("{nseg = 1}\n{pt3dclear()}\n");
            for p in &s.points {
                let _ = writeln!(
                    out,
                    "{{pt3dadd({:.6}, {:.6}, {:.6}, {:.6})}}",
                    p[0], p[1], p[2], p[3]
                );
            }
        }
        out
    }
}

struct Builder<'r> {
    rng: &'r mut RandomState,
    sections: Vec<Section>,
}

/// How one branch is traced.
struct Branch {
    start: [f64; 3],
    azimuth_deg: f64,
    elevation_deg: f64,
    length_um: f64,
    diam_um: (f64, f64),
    /// Random heading change per step (radians, roughly).
    wobble: f64,
}

impl Builder<'_> {
    fn soma(&mut self) {
        let points = (0..SOMA_POINTS)
            .map(|i| {
                let s = i as f64 / (SOMA_POINTS - 1) as f64;
                let z = SOMA_LENGTH_UM * (s - 0.5);
                let d = SOMA_END_DIAM_UM
                    + (SOMA_MID_DIAM_UM - SOMA_END_DIAM_UM) * (std::f64::consts::PI * s).sin();
                snap([0.0, 0.0, z, d])
            })
            .collect();
        self.sections.push(Section {
            name: Region::Soma.hoc_prefix().to_string(),
            region: Region::Soma,
            role: Role::Soma,
            parent: None,
            points,
        });
    }

    fn add(
        &mut self,
        name: String,
        region: Region,
        role: Role,
        parent: (usize, f64),
        branch: &Branch,
    ) -> usize {
        let points = trace(self.rng, branch);
        self.sections.push(Section {
            name,
            region,
            role,
            parent: Some(parent),
            points,
        });
        self.sections.len() - 1
    }

    fn end_of(&self, id: usize) -> [f64; 3] {
        let p = self.sections[id].points.last().copied().unwrap_or_default();
        [p[0], p[1], p[2]]
    }

    fn basal_trees(&mut self) {
        let soma_radius = 0.5 * SOMA_MID_DIAM_UM;
        for k in 0..BASAL_TREES {
            let az = 72.0 * k as f64 + 18.0 + self.rng.uniform(-10.0, 10.0);
            let elev = if k % 2 == 0 { -20.0 } else { -40.0 } + self.rng.uniform(-5.0, 5.0);
            // Start just inside the soma surface at its equator.
            let a = az.to_radians();
            let start = [
                0.9 * soma_radius * a.cos(),
                0.9 * soma_radius * a.sin(),
                0.0,
            ];
            let stem_name = format!("dend_{}", k + 1);
            let stem_len = self.rng.uniform(25.0, 40.0);
            let branch = Branch {
                start,
                azimuth_deg: az,
                elevation_deg: elev,
                length_um: stem_len,
                diam_um: (1.9, 1.4),
                wobble: 0.10,
            };
            let stem = self.add(
                stem_name.clone(),
                Region::Basal,
                Role::Basal,
                (0, 0.5),
                &branch,
            );
            let forks_twice = k % 2 == 0;
            for (j, side) in [-1.0, 1.0].into_iter().enumerate() {
                let name = format!("{stem_name}_{j}");
                let start = self.end_of(stem);
                let daz = side * self.rng.uniform(22.0, 34.0);
                let delev = self.rng.uniform(-8.0, 8.0);
                let (len, diam) = if forks_twice && j == 0 {
                    (self.rng.uniform(55.0, 75.0), (1.1, 0.8))
                } else {
                    (self.rng.uniform(100.0, 130.0), (1.0, 0.45))
                };
                let branch = Branch {
                    start,
                    azimuth_deg: az + daz,
                    elevation_deg: elev + delev,
                    length_um: len,
                    diam_um: diam,
                    wobble: 0.12,
                };
                let daughter = self.add(
                    name.clone(),
                    Region::Basal,
                    Role::Basal,
                    (stem, 1.0),
                    &branch,
                );
                if forks_twice && j == 0 {
                    for (t, side2) in [-1.0, 1.0].into_iter().enumerate() {
                        let start = self.end_of(daughter);
                        let len = self.rng.uniform(80.0, 110.0);
                        let daz2 = side2 * self.rng.uniform(20.0, 30.0);
                        let branch = Branch {
                            start,
                            azimuth_deg: az + daz + daz2,
                            elevation_deg: elev + delev + self.rng.uniform(-8.0, 8.0),
                            length_um: len,
                            diam_um: (0.7, 0.4),
                            wobble: 0.12,
                        };
                        self.add(
                            format!("{name}_{t}"),
                            Region::Basal,
                            Role::Basal,
                            (daughter, 1.0),
                            &branch,
                        );
                    }
                }
            }
        }
    }

    fn apical_tree(&mut self) {
        let trunk_diam = |p: f64| {
            TRUNK_BASE_DIAM_UM + (TRUNK_NEXUS_DIAM_UM - TRUNK_BASE_DIAM_UM) * p / TRUNK_LENGTH_UM
        };
        let trunk_az = 30.0;
        let trunk_elev = 86.0;
        let mut bounds = vec![0.0];
        bounds.extend_from_slice(&OBLIQUE_ORIGINS_UM);
        bounds.push(TRUNK_LENGTH_UM);

        let mut parent = (0, 0.5);
        let mut start = [0.0, 0.0, 0.5 * SOMA_LENGTH_UM];
        let mut name = "apical_1".to_string();
        for piece in 0..bounds.len() - 1 {
            let (p0, p1) = (bounds[piece], bounds[piece + 1]);
            let branch = Branch {
                start,
                azimuth_deg: trunk_az,
                elevation_deg: trunk_elev,
                length_um: p1 - p0,
                diam_um: (trunk_diam(p0), trunk_diam(p1)),
                wobble: 0.02,
            };
            let id = self.add(name.clone(), Region::Apical, Role::Trunk, parent, &branch);
            parent = (id, 1.0);
            start = self.end_of(id);
            if piece < OBLIQUE_ORIGINS_UM.len() {
                // Child 0: the oblique leaving at this piece's end; child 1: the trunk goes on.
                self.oblique(piece, id, &format!("{name}_0"));
                name = format!("{name}_1");
            } else {
                self.tuft(id, &name);
            }
        }
    }

    fn oblique(&mut self, k: usize, parent: usize, name: &str) {
        // Successive obliques turn by the golden angle so that they spread around the trunk.
        let az = 40.0 + 137.5 * k as f64 + self.rng.uniform(-10.0, 10.0);
        let elev = 28.0 + 6.0 * (k % 3) as f64 + self.rng.uniform(-5.0, 5.0);
        let start = self.end_of(parent);
        let forks = k % 3 == 1;
        let (len, diam) = if forks {
            (self.rng.uniform(40.0, 55.0), (1.0, 0.8))
        } else {
            (self.rng.uniform(80.0, 120.0), (1.0, 0.45))
        };
        let branch = Branch {
            start,
            azimuth_deg: az,
            elevation_deg: elev,
            length_um: len,
            diam_um: diam,
            wobble: 0.10,
        };
        let id = self.add(
            name.to_string(),
            Region::Apical,
            Role::Oblique,
            (parent, 1.0),
            &branch,
        );
        if forks {
            for (j, side) in [-1.0, 1.0].into_iter().enumerate() {
                let start = self.end_of(id);
                let len = self.rng.uniform(60.0, 85.0);
                let branch = Branch {
                    start,
                    azimuth_deg: az + side * self.rng.uniform(25.0, 35.0),
                    elevation_deg: elev + self.rng.uniform(0.0, 10.0),
                    length_um: len,
                    diam_um: (0.6, 0.4),
                    wobble: 0.10,
                };
                self.add(
                    format!("{name}_{j}"),
                    Region::Apical,
                    Role::Oblique,
                    (id, 1.0),
                    &branch,
                );
            }
        }
    }

    fn tuft(&mut self, nexus: usize, nexus_name: &str) {
        for (j, az) in [30.0, 210.0].into_iter().enumerate() {
            let name = format!("{nexus_name}_{j}");
            let start = self.end_of(nexus);
            let len = self.rng.uniform(110.0, 140.0);
            let branch = Branch {
                start,
                azimuth_deg: az + self.rng.uniform(-10.0, 10.0),
                elevation_deg: 55.0 + self.rng.uniform(-5.0, 5.0),
                length_um: len,
                diam_um: (2.0, 1.4),
                wobble: 0.06,
            };
            let id = self.add(
                name.clone(),
                Region::Apical,
                Role::Tuft,
                (nexus, 1.0),
                &branch,
            );
            for (t, side) in [-1.0, 1.0].into_iter().enumerate() {
                let start = self.end_of(id);
                let len = self.rng.uniform(140.0, 170.0);
                let branch = Branch {
                    start,
                    azimuth_deg: az + side * self.rng.uniform(25.0, 40.0),
                    elevation_deg: 70.0 + self.rng.uniform(-10.0, 10.0),
                    length_um: len,
                    diam_um: (1.1, 0.45),
                    wobble: 0.08,
                };
                self.add(
                    format!("{name}_{t}"),
                    Region::Apical,
                    Role::Tuft,
                    (id, 1.0),
                    &branch,
                );
            }
        }
    }
}

/// Traces one branch: points every ~[`STEP_UM`] with a wandering heading and a linear taper.
fn trace(rng: &mut RandomState, b: &Branch) -> Vec<[f64; 4]> {
    let course = direction(b.azimuth_deg, b.elevation_deg);
    let steps = ((b.length_um / STEP_UM).ceil() as usize).max(2);
    let step = b.length_um / steps as f64;
    let mut points = Vec::with_capacity(steps + 1);
    points.push(snap([b.start[0], b.start[1], b.start[2], b.diam_um.0]));
    let mut pos = b.start;
    let mut heading = course;
    for i in 1..=steps {
        let mut h = [0.0; 3];
        for k in 0..3 {
            h[k] = heading[k]
                + b.wobble * rng.uniform(-1.0, 1.0)
                + COURSE_PULL * (course[k] - heading[k]);
        }
        heading = normalized(h);
        for k in 0..3 {
            pos[k] += step * heading[k];
        }
        let f = i as f64 / steps as f64;
        let p = snap([
            pos[0],
            pos[1],
            pos[2],
            b.diam_um.0 + (b.diam_um.1 - b.diam_um.0) * f,
        ]);
        pos = [p[0], p[1], p[2]];
        points.push(p);
    }
    points
}

/// Unit vector for an azimuth in the x-y plane and an elevation towards +z (degrees).
fn direction(azimuth_deg: f64, elevation_deg: f64) -> [f64; 3] {
    let (a, e) = (azimuth_deg.to_radians(), elevation_deg.to_radians());
    [e.cos() * a.cos(), e.cos() * a.sin(), e.sin()]
}

fn normalized(v: [f64; 3]) -> [f64; 3] {
    let n = (v[0] * v[0] + v[1] * v[1] + v[2] * v[2]).sqrt();
    [v[0] / n, v[1] / n, v[2] / n]
}

fn distance(a: &[f64; 4], b: &[f64; 4]) -> f64 {
    ((a[0] - b[0]).powi(2) + (a[1] - b[1]).powi(2) + (a[2] - b[2]).powi(2)).sqrt()
}

/// Rounds to the 6 decimals written to the hoc file, so that in-memory and on-disk values agree.
fn snap(p: [f64; 4]) -> [f64; 4] {
    p.map(|v| {
        let s = format!("{v:.6}");
        // Rust's shortest-round-trip parse of a decimal it printed itself cannot fail.
        let r: f64 = s.parse().unwrap_or(v);
        // Avoid writing "-0.000000".
        if r == 0.0 {
            0.0
        } else {
            r
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tree() -> Morphology {
        Morphology::generate(&mut RandomState::new(1))
    }

    #[test]
    fn parents_precede_children_and_names_are_unique_and_unambiguous() {
        let m = tree();
        assert_eq!(m.sections[0].region, Region::Soma);
        let mut names = std::collections::HashSet::new();
        for (i, s) in m.sections.iter().enumerate() {
            assert!(names.insert(s.name.clone()), "duplicate name {}", s.name);
            // ISF's reader tests the keywords independently: exactly one may occur in a name.
            let hits = ["soma", "dend", "BasalDendrite", "apical", "axon"]
                .iter()
                .filter(|k| s.name.contains(*k))
                .count();
            assert_eq!(hits, 1, "{}", s.name);
            assert!(s.name.starts_with(s.region.hoc_prefix()));
            if let Some((p, _)) = s.parent {
                assert!(p < i);
            } else {
                assert_eq!(i, 0);
            }
            assert!(s.points.len() >= 2);
            assert!(s
                .points
                .iter()
                .all(|p| p[3] > 0.0 && p.iter().all(|v| v.is_finite())));
        }
    }

    #[test]
    fn children_start_where_their_parent_ends() {
        let m = tree();
        for s in &m.sections[1..] {
            let (p, x) = s.parent.unwrap();
            if x == 1.0 {
                let end = m.sections[p].points.last().unwrap();
                assert_eq!(&end[..3], &s.points[0][..3], "{}", s.name);
            }
        }
    }

    #[test]
    fn shape_is_pyramidal() {
        let m = tree();
        let start = m.start_distance_um();
        let max_tip = |role: Role| {
            m.with_role(role)
                .map(|(i, s)| start[i] + s.length_um())
                .fold(0.0, f64::max)
        };
        // Trunk pieces add up to the planned trunk (each branch is traced at its planned length).
        let trunk: f64 = m.with_role(Role::Trunk).map(|(_, s)| s.length_um()).sum();
        assert!((trunk - TRUNK_LENGTH_UM).abs() < 1e-3, "{trunk}");
        assert_eq!(
            m.with_role(Role::Trunk).count(),
            OBLIQUE_ORIGINS_UM.len() + 1
        );
        // Tuft reaches well beyond the nexus; basal trees stay short.
        assert!(max_tip(Role::Tuft) > TRUNK_LENGTH_UM + 250.0);
        assert!(max_tip(Role::Basal) < 300.0);
        // The tuft lies above the soma, basal tips below its top.
        let top = m
            .with_role(Role::Tuft)
            .flat_map(|(_, s)| s.points.iter().map(|p| p[2]))
            .fold(f64::MIN, f64::max);
        assert!(top > 700.0, "{top}");
        let basal_top = m
            .with_role(Role::Basal)
            .flat_map(|(_, s)| s.points.iter().map(|p| p[2]))
            .fold(f64::MIN, f64::max);
        assert!(basal_top < 0.5 * SOMA_LENGTH_UM);
        // Diameters taper: trunk base thicker than any tuft or oblique point.
        let thin = m
            .sections
            .iter()
            .filter(|s| matches!(s.role, Role::Tuft | Role::Oblique))
            .flat_map(|s| s.points.iter().map(|p| p[3]))
            .fold(0.0, f64::max);
        assert!(thin < TRUNK_BASE_DIAM_UM);
    }

    #[test]
    fn hoc_text_follows_isf_conventions() {
        let m = tree();
        let hoc = m.to_hoc("test");
        let creates = hoc.lines().filter(|l| l.contains("create")).count();
        let connects = hoc.lines().filter(|l| l.contains("connect")).count();
        let points = hoc.lines().filter(|l| l.contains("pt3dadd")).count();
        assert_eq!(creates, m.sections.len());
        assert_eq!(connects, m.sections.len() - 1);
        assert_eq!(
            points,
            m.sections.iter().map(|s| s.points.len()).sum::<usize>()
        );
        assert!(hoc.starts_with("/* test */\n{create soma}\n"));
        assert!(hoc.contains("{create dend_1}\n{connect dend_1(0), soma(0.500000)}\n"));
        // The written numbers are the in-memory ones.
        let first = m.sections[1].points[0];
        let line = format!(
            "{{pt3dadd({:.6}, {:.6}, {:.6}, {:.6})}}",
            first[0], first[1], first[2], first[3]
        );
        let parsed: Vec<f64> = line
            .trim_start_matches("{pt3dadd(")
            .trim_end_matches(")}")
            .split(',')
            .map(|t| t.trim().parse().unwrap())
            .collect();
        assert_eq!(parsed, first.to_vec());
    }

    #[test]
    fn same_seed_same_tree_other_seed_other_tree() {
        let a = tree().to_hoc("x");
        let b = tree().to_hoc("x");
        let c = Morphology::generate(&mut RandomState::new(2)).to_hoc("x");
        assert_eq!(a, b);
        assert_ne!(a, c);
    }
}
