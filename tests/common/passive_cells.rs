//! The five small passive cells of `reference/neuron-9.0.2/passive_geometry`, built as its README
//! describes them.

use isf::cell::{build_cable, segment_geometry, CableLayout, CableSection, SectionShape};
use std::path::Path;

/// The case folders, in the README's order.
pub const CASES: [&str; 5] = [
    "ball_stick_Ra100",
    "ball_stick_Ra35.4",
    "mid_connections",
    "tapered_3d",
    "tapered_3d_on_soma",
];

/// One case: sections (index = position in `names`), axial resistivity, the point distances are
/// measured from and the IClamp.
pub struct PassiveCell {
    pub names: Vec<&'static str>,
    pub shapes: Vec<SectionShape>,
    pub nseg: Vec<usize>,
    pub parent: Vec<Option<(usize, f64)>>,
    pub ra: f64,
    /// Section and x that `distance_from_ref_um` is measured from.
    pub reference: (usize, f64),
    /// IClamp section, x and amplitude (nA).
    pub stim: (usize, f64, f64),
}

fn cyl(l: f64, d: f64) -> SectionShape {
    SectionShape::Cylinder {
        length_um: l,
        diam_um: d,
    }
}

/// The tapered section's 3-D points as NEURON stored them (`run_info.json`).
fn taper_points(case_dir: &Path) -> Vec<[f64; 4]> {
    let info: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(case_dir.join("run_info.json")).unwrap())
            .unwrap();
    info["description"]["taper"]["pt3d"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            let v: Vec<f64> = p
                .as_array()
                .unwrap()
                .iter()
                .map(|x| x.as_f64().unwrap())
                .collect();
            [v[0], v[1], v[2], v[3]]
        })
        .collect()
}

impl PassiveCell {
    /// Case `name` (one of [`CASES`]) whose reference folder is `dir`.
    pub fn new(name: &str, dir: &Path) -> PassiveCell {
        match name {
            "ball_stick_Ra100" | "ball_stick_Ra35.4" => PassiveCell {
                names: vec!["soma", "dend"],
                shapes: vec![cyl(20.0, 20.0), cyl(500.0, 2.0)],
                nseg: vec![1, 9],
                parent: vec![None, Some((0, 1.0))],
                ra: if name.ends_with("100") { 100.0 } else { 35.4 },
                reference: (0, 0.5),
                stim: (0, 0.5, 0.5),
            },
            "mid_connections" => PassiveCell {
                names: vec!["soma", "dend", "dend2"],
                shapes: vec![cyl(20.0, 20.0), cyl(500.0, 2.0), cyl(200.0, 1.0)],
                nseg: vec![1, 5, 5],
                parent: vec![None, Some((0, 0.5)), Some((1, 0.3))],
                ra: 100.0,
                reference: (0, 0.5),
                stim: (0, 0.5, 0.5),
            },
            "tapered_3d" => PassiveCell {
                names: vec!["taper"],
                shapes: vec![SectionShape::from_points(&taper_points(dir))],
                nseg: vec![7],
                parent: vec![None],
                ra: 100.0,
                reference: (0, 0.0),
                stim: (0, 0.5, 0.05),
            },
            "tapered_3d_on_soma" => PassiveCell {
                names: vec!["soma", "taper"],
                shapes: vec![
                    cyl(20.0, 20.0),
                    SectionShape::from_points(&taper_points(dir)),
                ],
                nseg: vec![1, 7],
                parent: vec![None, Some((0, 1.0))],
                ra: 100.0,
                reference: (0, 0.5),
                stim: (0, 0.5, 0.5),
            },
            _ => panic!("no passive_geometry case {name}"),
        }
    }

    /// The sections with their segment geometry (cm = 1 µF/cm²).
    pub fn sections(&self) -> Vec<CableSection> {
        (0..self.names.len())
            .map(|i| CableSection {
                parent: self.parent[i],
                nseg: self.nseg[i],
                geometry: segment_geometry(&self.shapes[i], self.nseg[i], self.ra),
                cm_uf_cm2: vec![1.0; self.nseg[i]],
            })
            .collect()
    }

    /// Index of section `name`.
    pub fn section(&self, name: &str) -> usize {
        self.names.iter().position(|n| *n == name).unwrap()
    }

    /// The segment of section `s` holding `x`.
    pub fn segment(&self, s: usize, x: f64) -> usize {
        ((x * self.nseg[s] as f64) as usize).min(self.nseg[s] - 1)
    }

    /// The node of a `segments.csv` row (section `s`, `node_type`, `x`) and, for a segment
    /// centre, the segment.
    pub fn node(
        &self,
        layout: &CableLayout,
        s: usize,
        node_type: &str,
        x: f64,
    ) -> (usize, Option<usize>) {
        match node_type {
            "end0_root" => (layout.attach_node[s], None),
            "end1" => (layout.first_node[s] + self.nseg[s], None),
            "centre" => {
                let k = self.segment(s, x);
                (layout.first_node[s] + k, Some(k))
            }
            other => panic!("unknown node type {other}"),
        }
    }
}

/// Builds the cable of every case and hands it to `check`: the case name, its folder, the cell,
/// its sections and their layout. Returns early (skipping) when the reference data is absent.
pub fn for_each_case(
    mut check: impl FnMut(&str, &Path, &PassiveCell, &[CableSection], CableLayout),
) {
    for name in CASES {
        let Some(dir) =
            isf::testing::shared_path(&format!("reference/neuron-9.0.2/passive_geometry/{name}"))
        else {
            return;
        };
        let cell = PassiveCell::new(name, &dir);
        let secs = cell.sections();
        let layout = build_cable(&secs).unwrap();
        check(name, &dir, &cell, &secs, layout);
    }
}
