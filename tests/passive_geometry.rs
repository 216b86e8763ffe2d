//! NEURON's discretisation semantics on the small passive cells of
//! `reference/neuron-9.0.2/passive_geometry` (built here as its README describes).

use isf::cell::{
    build_cable, segment_geometry, CableLayout, CableSection, SectionShape, SectionTree,
};
use isf::testing::shared_path;
use std::collections::HashMap;

struct Case {
    names: Vec<&'static str>,
    shapes: Vec<SectionShape>,
    nseg: Vec<usize>,
    parent: Vec<Option<(usize, f64)>>,
    ra: f64,
    reference: (usize, f64),
}

fn cyl(l: f64, d: f64) -> SectionShape {
    SectionShape::Cylinder {
        length_um: l,
        diam_um: d,
    }
}

fn taper_points(case_dir: &std::path::Path) -> Vec<[f64; 4]> {
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

fn case(name: &str, dir: &std::path::Path) -> Case {
    match name {
        "ball_stick_Ra100" | "ball_stick_Ra35.4" => Case {
            names: vec!["soma", "dend"],
            shapes: vec![cyl(20.0, 20.0), cyl(500.0, 2.0)],
            nseg: vec![1, 9],
            parent: vec![None, Some((0, 1.0))],
            ra: if name.ends_with("100") { 100.0 } else { 35.4 },
            reference: (0, 0.5),
        },
        "mid_connections" => Case {
            names: vec!["soma", "dend", "dend2"],
            shapes: vec![cyl(20.0, 20.0), cyl(500.0, 2.0), cyl(200.0, 1.0)],
            nseg: vec![1, 5, 5],
            parent: vec![None, Some((0, 0.5)), Some((1, 0.3))],
            ra: 100.0,
            reference: (0, 0.5),
        },
        "tapered_3d" => Case {
            names: vec!["taper"],
            shapes: vec![SectionShape::from_points(&taper_points(dir))],
            nseg: vec![7],
            parent: vec![None],
            ra: 100.0,
            reference: (0, 0.0),
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
            reference: (0, 0.5),
        },
        _ => unreachable!(),
    }
}

fn close(a: f64, b: f64) -> bool {
    if b == 0.0 {
        a.abs() <= 1e-12
    } else {
        ((a - b) / b).abs() <= 1e-9
    }
}

#[test]
fn passive_geometry_cases_match_neuron() {
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
        let tree = SectionTree::new(
            c.parent.clone(),
            c.shapes.iter().map(|s| s.length_um()).collect(),
            c.nseg.clone(),
        );
        let mut r = csv::Reader::from_path(dir.join("segments.csv")).unwrap();
        let header: Vec<String> = r.headers().unwrap().iter().map(String::from).collect();
        let mut n_rows = 0;
        for rec in r.records() {
            let rec = rec.unwrap();
            let row: HashMap<&str, &str> =
                header.iter().map(|h| h.as_str()).zip(rec.iter()).collect();
            let num = |k: &str| row[k].parse::<f64>().unwrap();
            let s = c.names.iter().position(|n| *n == row["section"]).unwrap();
            let x = num("x");
            let (node, geo_seg) = match row["node_type"] {
                "end0_root" => (attach_node[s], None),
                "end1" => (first_node[s] + c.nseg[s], None),
                "centre" => {
                    let k = ((x * c.nseg[s] as f64) as usize).min(c.nseg[s] - 1);
                    (first_node[s] + k, Some(k))
                }
                other => panic!("unknown node type {other}"),
            };
            let ctx = format!("{name} {}", row["column"]);
            assert!(
                close(cable.area_um2[node], num("area_um2")),
                "{ctx}: area {}",
                cable.area_um2[node]
            );
            let ri = if cable.rinv_us[node] == 0.0 {
                1e30
            } else {
                1.0 / cable.rinv_us[node]
            };
            assert!(
                close(ri, num("ri_MOhm")),
                "{ctx}: ri {ri} vs {}",
                num("ri_MOhm")
            );
            if let Some(k) = geo_seg {
                let d = secs[s].geometry.diam_um[k];
                assert!(
                    close(d, num("diam_um")),
                    "{ctx}: diam {d} vs {}",
                    num("diam_um")
                );
            }
            assert!(close(tree.length_um[s], num("sec_L_um")), "{ctx}: L");
            let dist = tree.path_distance(c.reference.0, c.reference.1, s, x);
            assert!(
                close(dist, num("distance_from_ref_um")),
                "{ctx}: distance {dist}"
            );
            n_rows += 1;
        }
        assert_eq!(n_rows, cable.len(), "{name}: one reference row per node");
    }
}
