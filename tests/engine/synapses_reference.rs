//! `glutamate_syn` and `gaba_syn` driven by release events on a passive compartment, against
//! NEURON 9.0.2 (`reference/neuron-9.0.2/synapses`), with the bounds the README states:
//! [`Numerics::Exact`] reproduces every recorded value bit for bit; [`Numerics::Fast`] holds v
//! within [`FAST_MV`] at every row and every state, conductance and current within
//! [`FAST_RELATIVE`] of its column's largest magnitude.

use crate::common;

use common::{max_abs, max_abs_diff, Table};
use isf::mechanisms::{Ions, MechanismPlacement, Numerics};
use isf::solver::{CableTree, CellModel, Probe, SimSettings, SimulationBuilder};
use serde_json::Value;

const SOMA: usize = 1;

/// README, "Numerics and speed": the fast numerics' largest voltage difference, mV (measured:
/// 2.3e-13 mV).
const FAST_MV: f64 = 1e-12;
/// The fast numerics' largest difference of any other column relative to its largest magnitude.
const FAST_RELATIVE: f64 = 1e-12;

/// Every case with both numerics.
fn check_case(case: &str) {
    for numerics in [Numerics::Exact, Numerics::Fast] {
        check_case_with(case, numerics);
    }
}

fn check_case_with(case: &str, numerics: Numerics) {
    let Some(dir) = isf::testing::shared_path("reference/neuron-9.0.2/synapses") else {
        return;
    };
    let meta: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join(format!("{case}.json"))).unwrap())
            .unwrap();
    let table = Table::read(&dir.join(format!("{case}.csv")));
    let f = |v: &Value| v.as_f64().unwrap();
    // L = diam = 20 µm, Ra 100: half-segment axial resistance Ra·10/(π·10²)·0.01 MΩ.
    let half_ri = 100.0 * 10.0 / (std::f64::consts::PI * 10.0 * 10.0) * 0.01;
    let tree = CableTree::single_compartment(f(&meta["area_um2"]), 1.0, half_ri);
    let pas = MechanismPlacement {
        name: "pas".into(),
        nodes: vec![SOMA],
        params: [
            ("g".to_string(), vec![f(&meta["pas"]["g_pas"])]),
            ("e".to_string(), vec![f(&meta["pas"]["e_pas"])]),
        ]
        .into_iter()
        .collect(),
    };
    let settings = SimSettings {
        dt_ms: f(&meta["dt"]),
        celsius: f(&meta["celsius"]),
        vinit_mv: f(&meta["v_init"]),
        numerics,
    };
    let model = CellModel::new(&tree, &[pas], Ions::defaults(tree.len()), settings).unwrap();
    let mut b = SimulationBuilder::new(&model);
    // Every parameter NEURON read back after the run, except the NetCon-copied maxima.
    let params: Vec<(String, f64)> = meta["params_after_run"]
        .as_object()
        .unwrap()
        .iter()
        .filter(|(k, _)| !k.ends_with("max"))
        .map(|(k, v)| (k.clone(), f(v)))
        .collect();
    let mut all: Vec<(&str, f64)> = params.iter().map(|(k, v)| (k.as_str(), *v)).collect();
    if let Some(g) = meta["globals"].as_object() {
        for (k, v) in g {
            all.push((
                k.trim_end_matches("_glutamate_syn")
                    .trim_end_matches("_gaba_syn"),
                f(v),
            ));
        }
    }
    let syn = b
        .add_point(meta["mechanism"].as_str().unwrap(), SOMA, &all)
        .unwrap();
    let times: Vec<f64> = meta["netcon_source_event_times"]
        .as_array()
        .unwrap()
        .iter()
        .map(f)
        .collect();
    let weights: Vec<f64> = meta["netcon"]["weights"]
        .as_array()
        .unwrap()
        .iter()
        .map(f)
        .collect();
    b.add_events(syn, &times, &weights).unwrap();
    let mut cols = Vec::new();
    for name in table.names.iter().filter(|n| *n != "t") {
        let probe = match name.as_str() {
            "v" => Probe::Voltage(SOMA),
            "i_pas" => Probe::Density {
                mechanism: "pas".into(),
                variable: "i".into(),
                node: SOMA,
            },
            var => Probe::Point {
                handle: syn,
                variable: var.into(),
            },
        };
        cols.push((name.clone(), b.record(probe)));
    }
    let traces = b
        .build()
        .unwrap()
        .run_steps(meta["nsteps"].as_u64().unwrap() as usize);
    assert_eq!(max_abs_diff(&traces.t, table.column("t")), 0.0);
    for (name, c) in cols {
        let reference = table.column(&name);
        let diff = max_abs_diff(&traces.columns[c], reference);
        let tol = match (numerics, name == "v") {
            (Numerics::Exact, _) => 0.0,
            (Numerics::Fast, true) => FAST_MV,
            (Numerics::Fast, false) => FAST_RELATIVE * max_abs(reference),
        };
        println!(
            "{case} ({numerics:?}) {name}: max diff {diff:e}, relative {:e}",
            diff / max_abs(reference).max(f64::MIN_POSITIVE)
        );
        assert!(
            diff <= tol,
            "{case}: column {name} differs by {diff:e} (tolerance {tol:e})"
        );
    }
}

#[test]
fn glutamate_isf_default() {
    check_case("glutamate_isf_default");
}

#[test]
fn glutamate_depression_facilitation() {
    check_case("glutamate_depression_facilitation");
}

#[test]
fn gaba_isf_default() {
    check_case("gaba_isf_default");
}

#[test]
fn gaba_depression_facilitation() {
    check_case("gaba_depression_facilitation");
}
