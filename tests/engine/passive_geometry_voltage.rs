//! Passive multi-compartment cells of `reference/neuron-9.0.2/passive_geometry`, simulated:
//! the voltage of every NEURON node (segment centres and zero-area ends) against NEURON 9.0.2 at
//! every step, with the bounds the README states: [`Numerics::Exact`] bit for bit,
//! [`Numerics::Fast`] within [`FAST_MV`].

use crate::common;

use common::passive_cells::for_each_case;
use common::{max_abs_diff, Table};
use indexmap::IndexMap;
use isf::mechanisms::{Ions, MechanismPlacement, Numerics};
use isf::solver::{CellModel, Probe, SimSettings, SimulationBuilder};

/// README, "Numerics and speed": the fast numerics' largest difference, mV (measured: 9.7e-13).
const FAST_MV: f64 = 2e-12;

#[test]
fn passive_cells_match_neuron_voltages() {
    check(Numerics::Fast);
}

#[test]
fn passive_cells_match_neuron_voltages_exact() {
    check(Numerics::Exact);
}

fn check(numerics: Numerics) {
    for_each_case(|name, dir, c, _, layout| {
        let cable = &layout.cable;
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
            numerics,
        };
        let model = CellModel::new(cable, &[pas], Ions::defaults(cable.len()), settings).unwrap();
        let table = Table::read(&dir.join("v.csv"));
        let mut r = csv::Reader::from_path(dir.join("segments.csv")).unwrap();
        let header: Vec<String> = r.headers().unwrap().iter().map(String::from).collect();
        let mut b = SimulationBuilder::new(&model);
        let (ss, sx, amp) = c.stim;
        let stim_node = layout.first_node[ss] + c.segment(ss, sx);
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
            let s = c.section(&get("section"));
            let x: f64 = get("x").parse().unwrap();
            let (node, _) = c.node(&layout, s, &get("node_type"), x);
            cols.push((get("column"), b.record(Probe::Voltage(node))));
        }
        let traces = b.build().unwrap().run_steps(4000);
        assert_eq!(max_abs_diff(&traces.t, table.column("t")), 0.0, "{name}: t");
        let mut worst = 0.0f64;
        for (col, k) in &cols {
            let d = max_abs_diff(&traces.columns[*k], table.column(col));
            let tol = match numerics {
                _ if col == "iclamp_i" => 0.0,
                Numerics::Exact => 0.0,
                Numerics::Fast => FAST_MV,
            };
            assert!(d <= tol, "{name}: {col} differs by {d:e} mV");
            worst = worst.max(d);
        }
        println!(
            "{name} ({numerics:?}): {} nodes, max |dv| = {worst:e} mV",
            cols.len() - 1
        );
    });
}
