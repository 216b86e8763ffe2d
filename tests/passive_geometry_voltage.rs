//! Passive multi-compartment cells of `reference/neuron-9.0.2/passive_geometry`, simulated:
//! the voltage of every NEURON node (segment centres and zero-area ends) within 1e-9 mV of
//! NEURON 9.0.2 at every step.

mod common;

use common::{max_abs_diff, Table};
use indexmap::IndexMap;
use isf::cell::{build_cable, segment_geometry, CableLayout, CableSection, SectionShape};
use isf::mechanisms::{Ions, MechanismPlacement};
use isf::solver::{CellModel, Probe, SimSettings, SimulationBuilder};
use isf::testing::shared_path;

struct Case {
    names: Vec<&'static str>,
    shapes: Vec<SectionShape>,
    nseg: Vec<usize>,
    parent: Vec<Option<(usize, f64)>>,
    ra: f64,
    /// IClamp section, x and amplitude (nA).
    stim: (usize, f64, f64),
}

fn cyl(l: f64, d: f64) -> SectionShape {
    SectionShape::Cylinder {
        length_um: l,
        diam_um: d,
    }
}

fn taper_points(dir: &std::path::Path) -> Vec<[f64; 4]> {
    let info: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("run_info.json")).unwrap()).unwrap();
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

/// The cases as the folder README describes them.
fn case(name: &str, dir: &std::path::Path) -> Case {
    match name {
        "ball_stick_Ra100" | "ball_stick_Ra35.4" => Case {
            names: vec!["soma", "dend"],
            shapes: vec![cyl(20.0, 20.0), cyl(500.0, 2.0)],
            nseg: vec![1, 9],
            parent: vec![None, Some((0, 1.0))],
            ra: if name.ends_with("100") { 100.0 } else { 35.4 },
            stim: (0, 0.5, 0.5),
        },
        "mid_connections" => Case {
            names: vec!["soma", "dend", "dend2"],
            shapes: vec![cyl(20.0, 20.0), cyl(500.0, 2.0), cyl(200.0, 1.0)],
            nseg: vec![1, 5, 5],
            parent: vec![None, Some((0, 0.5)), Some((1, 0.3))],
            ra: 100.0,
            stim: (0, 0.5, 0.5),
        },
        "tapered_3d" => Case {
            names: vec!["taper"],
            shapes: vec![SectionShape::from_points(&taper_points(dir))],
            nseg: vec![7],
            parent: vec![None],
            ra: 100.0,
            stim: (0, 0.5, 0.05),
        },
        "tapered_3d_on_soma" => Case {
            names: vec!["soma", "taper"],
            shapes: vec![
                cyl(20.0, 20.0),
                SectionShape::from_points(&taper_points(dir)),
            ],
            nseg: vec![1, 7],
            parent: vec![None, Some((0, 1.0))],
            ra: 100.0,
            stim: (0, 0.5, 0.5),
        },
        _ => unreachable!(),
    }
}

#[test]
fn passive_cells_match_neuron_voltages() {
    for name in [
        "ball_stick_Ra100",
        "ball_stick_Ra35.4",
        "mid_connections",
        "tapered_3d",
        "tapered_3d_on_soma",
    ] {
        let Some(dir) = shared_path(&format!("reference/neuron-9.0.2/passive_geometry/{name}"))
        else {
            return;
        };
        let c = case(name, &dir);
        let secs: Vec<CableSection> = (0..c.names.len())
            .map(|i| CableSection {
                parent: c.parent[i],
                nseg: c.nseg[i],
                geometry: segment_geometry(&c.shapes[i], c.nseg[i], c.ra),
                cm_uf_cm2: vec![1.0; c.nseg[i]],
            })
            .collect();
        let CableLayout {
            cable,
            first_node,
            attach_node,
        } = build_cable(&secs).unwrap();
        let seg_nodes: Vec<usize> = (0..cable.len())
            .filter(|&i| cable.area_um2[i] != 0.0)
            .collect();
        let n = seg_nodes.len();
        let mut params = IndexMap::new();
        params.insert("g".to_string(), vec![1e-4; n]);
        params.insert("e".to_string(), vec![-65.0; n]);
        let pas = MechanismPlacement {
            name: "pas".into(),
            nodes: seg_nodes,
            params,
        };
        let settings = SimSettings {
            dt_ms: 0.025,
            celsius: 34.0,
            vinit_mv: -65.0,
        };
        let model = CellModel::new(&cable, &[pas], Ions::defaults(cable.len()), settings).unwrap();
        let table = Table::read(&dir.join("v.csv"));
        let mut r = csv::Reader::from_path(dir.join("segments.csv")).unwrap();
        let header: Vec<String> = r.headers().unwrap().iter().map(String::from).collect();
        let mut b = SimulationBuilder::new(&model);
        let (ss, sx, amp) = c.stim;
        let stim_node = first_node[ss] + ((sx * c.nseg[ss] as f64) as usize).min(c.nseg[ss] - 1);
        let clamp = b
            .add_point(
                "IClamp",
                stim_node,
                &[("del", 10.0), ("dur", 50.0), ("amp", amp)],
            )
            .unwrap();
        let mut cols = vec![(
            "iclamp_i".to_string(),
            b.record(Probe::Point {
                handle: clamp,
                variable: "i".into(),
            }),
        )];
        for rec in r.records() {
            let rec = rec.unwrap();
            let get = |k: &str| rec[header.iter().position(|h| h == k).unwrap()].to_string();
            let s = c.names.iter().position(|nm| *nm == get("section")).unwrap();
            let x: f64 = get("x").parse().unwrap();
            let node = match get("node_type").as_str() {
                "end0_root" => attach_node[s],
                "end1" => first_node[s] + c.nseg[s],
                _ => first_node[s] + ((x * c.nseg[s] as f64) as usize).min(c.nseg[s] - 1),
            };
            cols.push((get("column"), b.record(Probe::Voltage(node))));
        }
        let traces = b.build().unwrap().run_steps(4000);
        assert_eq!(max_abs_diff(&traces.t, table.column("t")), 0.0, "{name}: t");
        let mut worst = 0.0f64;
        for (col, k) in &cols {
            let d = max_abs_diff(&traces.columns[*k], table.column(col));
            let tol = if col == "iclamp_i" { 0.0 } else { 1e-9 };
            assert!(d <= tol, "{name}: {col} differs by {d:e} mV");
            worst = worst.max(d);
        }
        println!("{name}: {} nodes, max |dv| = {worst:e} mV", cols.len() - 1);
    }
}
