//! `isf protocol` end to end: the example cell 86 at rest (a 30 ms protocol with an IClamp that
//! starts after tstop) must reproduce the first rows of NEURON's soma_step run (which is at rest
//! until 700 ms) at the soma and an apical site; bad protocol files are reported with the key.

use crate::common;

use common::{max_abs_diff, Table};
use isf::testing::shared_path;
use std::process::Command;

#[test]
fn protocol_at_rest_matches_neuron_soma_step_prefix() {
    let (Some(param), Some(reference)) = (
        shared_path("isf-example/86_C2_center.param"),
        shared_path("reference/neuron-9.0.2/soma_step/amp_0.619nA/vm.csv"),
    ) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let proto = dir.path().join("rest.toml");
    std::fs::write(
        &proto,
        "tstop = 30.0\ndt = 0.025\n\
         [[iclamp]]\nsection = 0\nx = 0.5\ndelay = 700.0\ndur = 2000.0\namp = 0.619\n\
         [[record]]\nsection = 0\nx = 0.5\n\
         [[record]]\nsection = 38\nx = 0.9857\n",
    )
    .unwrap();
    let out = dir.path().join("out");
    let status = Command::new(env!("CARGO_BIN_EXE_isf"))
        .arg("protocol")
        .args([
            param.as_os_str(),
            proto.as_os_str(),
            "--out".as_ref(),
            out.as_os_str(),
        ])
        .status()
        .unwrap();
    assert!(status.success());
    let ours = Table::read(&out.join("vm.csv"));
    assert_eq!(ours.names, ["t", "sec0_x0.5", "sec38_x0.9857"]);
    let neuron = Table::read(&reference);
    let rows = ours.columns[0].len();
    // ISF's loop: while t < 30 → 1201 steps (t accumulates below 30 after 1200 steps).
    assert_eq!(rows, 1202);
    let prefix = |c: &[f64]| c[..rows].to_vec();
    assert_eq!(
        max_abs_diff(&ours.columns[0], &prefix(&neuron.columns[0])),
        0.0
    );
    let dv_soma = max_abs_diff(&ours.columns[1], &prefix(neuron.column("soma")));
    let dv_apical = max_abs_diff(
        &ours.columns[2],
        &prefix(neuron.column("apical_970um_sec038_seg034_x0.9857")),
    );
    assert!(
        dv_soma <= 1e-9 && dv_apical <= 1e-9,
        "{dv_soma:e} {dv_apical:e}"
    );
}

#[test]
fn bad_protocol_is_reported_with_file_and_key() {
    let Some(param) = shared_path("isf-example/86_C2_center.param") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let proto = dir.path().join("bad.toml");
    std::fs::write(
        &proto,
        "[[iclamp]]\nsection = 999\nx = 0.5\ndelay = 1.0\ndur = 1.0\namp = 1.0\n",
    )
    .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_isf"))
        .arg("protocol")
        .args([
            param.as_os_str(),
            proto.as_os_str(),
            "--out".as_ref(),
            dir.path().join("o").as_os_str(),
        ])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("bad.toml") && err.contains("iclamp[0].section"),
        "{err}"
    );
    assert!(!dir.path().join("o").join("vm.csv").exists());
}
