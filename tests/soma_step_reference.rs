//! Full cell 86 (1142 segments, all channels) with a 2 s soma current step, against NEURON 9.0.2
//! (`reference/neuron-9.0.2/soma_step`, ISF's `while t < tstop` loop, 3000 ms):
//! 1.507 nA — all 25 soma spikes within 0.001 ms, max |ΔV| ≤ 0.01 mV at every recorded site;
//! 0.619 nA — no spike, max |ΔV| ≤ 0.001 mV.

mod common;

use common::{max_abs_diff, Table};
use isf::cell::CellTemplate;
use isf::param::CellParams;
use isf::solver::{Probe, SimulationBuilder};
use isf::testing::shared_path;

/// Upward 0 mV crossings, linearly interpolated (as the reference's `t_linear_interp_0mV`).
fn spikes(t: &[f64], v: &[f64]) -> Vec<f64> {
    (1..v.len())
        .filter(|&i| v[i - 1] < 0.0 && v[i] >= 0.0)
        .map(|i| t[i - 1] + (0.0 - v[i - 1]) / (v[i] - v[i - 1]) * (t[i] - t[i - 1]))
        .collect()
}

fn run(amp: &str) -> Option<(Vec<f64>, f64, usize)> {
    let param = shared_path("isf-example/86_C2_center.param")?;
    let dir = shared_path(&format!("reference/neuron-9.0.2/soma_step/amp_{amp}nA"))?;
    let cell = CellTemplate::from_params(&CellParams::read(&param).unwrap()).unwrap();
    let model = cell.default_solver_model().unwrap();
    let table = Table::read(&dir.join("vm.csv"));
    let mut b = SimulationBuilder::new(&model);
    let amp_na: f64 = amp.parse().unwrap();
    b.add_point(
        "IClamp",
        cell.soma_node,
        &[("del", 700.0), ("dur", 2000.0), ("amp", amp_na)],
    )
    .unwrap();
    let mut cols = Vec::new();
    for name in table.names.iter().skip(1) {
        let node = if name == "soma" {
            cell.soma_node
        } else {
            // apical_<d>um_sec<S>_seg<K>_x<x>
            let f: Vec<&str> = name.split('_').collect();
            let sec: usize = f[2].trim_start_matches("sec").parse().unwrap();
            let seg: usize = f[3].trim_start_matches("seg").parse().unwrap();
            cell.sections[sec].first_node + seg
        };
        cols.push((name.clone(), b.record(Probe::Voltage(node))));
    }
    let traces = b.build().unwrap().run_until(3000.0);
    assert_eq!(traces.t.len(), table.columns[0].len(), "row count");
    assert!(max_abs_diff(&traces.t, &table.columns[0]) < 1e-9);
    let mut dv = 0.0f64;
    for (name, k) in &cols {
        let d = max_abs_diff(&traces.columns[*k], table.column(name));
        println!("{amp} nA {name}: max |dV| = {d:e} mV");
        dv = dv.max(d);
    }
    let ours = spikes(&traces.t, &traces.columns[cols[0].1]);
    let reference = spikes(&table.columns[0], table.column("soma"));
    let mut dt_max = 0.0f64;
    assert_eq!(ours.len(), reference.len(), "spike count");
    for (a, b) in ours.iter().zip(&reference) {
        dt_max = dt_max.max((a - b).abs());
    }
    println!(
        "{amp} nA: {} spikes, max spike-time difference {dt_max:e} ms",
        ours.len()
    );
    Some((ours, dv, reference.len()))
}

#[test]
fn soma_step_1507pa_spikes_match_neuron() {
    let Some((spikes, dv, n_ref)) = run("1.507") else {
        return;
    };
    let dir = shared_path("reference/neuron-9.0.2/soma_step/amp_1.507nA").unwrap();
    let info: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("run_info.json")).unwrap()).unwrap();
    let ref_spikes: Vec<f64> = info["soma_spikes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap())
        .collect();
    assert_eq!(n_ref, ref_spikes.len());
    assert_eq!(spikes.len(), ref_spikes.len());
    for (a, b) in spikes.iter().zip(&ref_spikes) {
        assert!((a - b).abs() <= 1e-3, "spike at {a} vs NEURON {b}");
    }
    assert!(dv <= 0.01, "max |dV| {dv} mV");
}

#[test]
fn soma_step_619pa_subthreshold_matches_neuron() {
    let Some((spikes, dv, n_ref)) = run("0.619") else {
        return;
    };
    assert_eq!(n_ref, 0);
    assert!(spikes.is_empty());
    assert!(dv <= 0.001, "max |dV| {dv} mV");
}
