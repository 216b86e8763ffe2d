//! NEURON's discretisation semantics on the small passive cells of
//! `reference/neuron-9.0.2/passive_geometry` (built here as its README describes).

use crate::common;

use common::passive_cells::for_each_case;
use isf::cell::SectionTree;
use std::collections::HashMap;

fn close(a: f64, b: f64) -> bool {
    if b == 0.0 {
        a.abs() <= 1e-12
    } else {
        ((a - b) / b).abs() <= 1e-9
    }
}

#[test]
fn passive_geometry_cases_match_neuron() {
    for_each_case(|name, dir, c, secs, layout| {
        let cable = &layout.cable;
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
            let s = c.section(row["section"]);
            let x = num("x");
            let (node, geo_seg) = c.node(&layout, s, row["node_type"], x);
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
    });
}
