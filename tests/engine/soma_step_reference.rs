//! Full cell 86 (1142 segments, all channels) with a 2 s soma current step, against NEURON 9.0.2
//! (`reference/neuron-9.0.2/soma_step`, ISF's `while t < tstop` loop, 3000 ms):
//! 1.507 nA — 25 soma spikes; 0.619 nA — none; both numerics. The bounds below are the ones
//! the README states.

use crate::common;

/// README, "Numerics and speed": the largest difference of the 25 interpolated spike times
/// from NEURON's, ms, in both numerics (measured: 1.1e-10 ms `fast`, 8.1e-11 ms `exact`).
const SPIKE_MS: f64 = 2e-10;
/// README: the largest membrane-potential difference at any recorded site during the spiking
/// step, mV (measured: 3.5e-8 mV, at the soma on a spike's upstroke, where 1e-10 ms moves
/// the potential by that much).
const SPIKING_MV: f64 = 1e-7;
/// README: the same for the subthreshold step (measured: 5e-14 mV).
const SUBTHRESHOLD_MV: f64 = 1e-13;

use common::{max_abs_diff, Table};
use isf::cell::CellTemplate;
use isf::mechanisms::Numerics;
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

fn run(amp: &str, numerics: Numerics) -> Option<(Vec<f64>, f64, usize)> {
    let param = shared_path("isf-example/86_C2_center.param")?;
    let dir = shared_path(&format!("reference/neuron-9.0.2/soma_step/amp_{amp}nA"))?;
    let cell = CellTemplate::from_params(&CellParams::read(&param).unwrap()).unwrap();
    let model = cell.solver_model(cell.dt_ms, numerics).unwrap();
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
        println!("{numerics:?} {amp} nA {name}: max |dV| = {d:e} mV");
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
        "{numerics:?} {amp} nA: {} spikes, max spike-time difference {dt_max:e} ms",
        ours.len()
    );
    Some((ours, dv, reference.len()))
}

fn check_suprathreshold(numerics: Numerics) {
    let Some((spikes, dv, n_ref)) = run("1.507", numerics) else {
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
    assert_eq!(spikes.len(), 25);
    assert_eq!(spikes.len(), ref_spikes.len());
    let dt = max_abs_diff(&spikes, &ref_spikes);
    println!("{numerics:?} 1.507 nA: spike times vs run_info.json {dt:e} ms");
    assert!(dt <= SPIKE_MS, "spike times differ by {dt:e} ms");
    assert!(dv <= SPIKING_MV, "max |dV| {dv:e} mV");
}

fn check_subthreshold(numerics: Numerics) {
    let Some((spikes, dv, n_ref)) = run("0.619", numerics) else {
        return;
    };
    assert_eq!(n_ref, 0);
    assert!(spikes.is_empty());
    assert!(dv <= SUBTHRESHOLD_MV, "max |dV| {dv:e} mV");
}

#[test]
fn soma_step_1507pa_spikes_match_neuron() {
    check_suprathreshold(Numerics::Fast);
}

#[test]
fn soma_step_1507pa_spikes_match_neuron_exact() {
    check_suprathreshold(Numerics::Exact);
}

#[test]
fn soma_step_619pa_subthreshold_matches_neuron() {
    check_subthreshold(Numerics::Fast);
}

#[test]
fn soma_step_619pa_subthreshold_matches_neuron_exact() {
    check_subthreshold(Numerics::Exact);
}
