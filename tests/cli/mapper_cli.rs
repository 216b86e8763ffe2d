//! The two subcommands end to end through the `isf` binary: map the fixture cell, build an
//! evoked network parameter file from the result, and read it back with the simulator's typed
//! network view.

use std::path::Path;
use std::process::Command;

use isf::param::NetworkParams;

use crate::common;
use common::process::check;
use isf::testing::shared_path;

/// `isf network-param` with the example's ongoing-activity template and the cell numbers of the
/// embedding in `emb`; the caller adds the remaining arguments.
fn network_param(example: &Path, emb: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_isf"));
    c.arg("network-param")
        .arg("--template")
        .arg(example.join(
            "ongoing_activity/ongoing_activity_celltype_template_exc_conductances_fitted.param",
        ))
        .arg("--cell-numbers")
        .arg(emb.join("NumberOfConnectedCells.csv"));
    c
}

#[test]
fn map_inputs_then_network_param() {
    let (Some(fx), Some(ex)) = (
        shared_path("barrel-cortex-fixture"),
        shared_path("isf-example"),
    ) else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("emb");
    let st = Command::new(env!("CARGO_BIN_EXE_isf"))
        .arg("map-inputs")
        .arg(fx.join("cell.hoc"))
        .arg("--model")
        .arg(fx.join("model"))
        .args([
            "--postsynaptic-type",
            "L5tt",
            "--realizations",
            "4",
            "--seed",
            "3",
        ])
        .arg("--out")
        .arg(&out)
        .output()
        .unwrap();
    check(st, "isf map-inputs");
    let syn = out.join("cell_synapses_seed3.syn");
    let con = out.join("cell_synapses_seed3.con");
    assert!(syn.exists() && con.exists());

    let param = tmp.path().join("network.param");
    let st = network_param(&ex, &out)
        .arg("--syn")
        .arg(&syn)
        .arg("--con")
        .arg(&con)
        .args(["--whisker", "C2", "--evoked-dir"])
        .arg(ex.join("evoked_activity"))
        .arg("--out")
        .arg(&param)
        .output()
        .unwrap();
    check(st, "isf network-param");
    let net = NetworkParams::read(&param).unwrap();
    // One population per connected (column, type) of the embedding.
    let ncc = std::fs::read_to_string(out.join("NumberOfConnectedCells.csv")).unwrap();
    let connected: Vec<(String, usize)> = ncc
        .lines()
        .skip(1)
        .map(|l| {
            let f: Vec<&str> = l.split('\t').collect();
            (format!("{}_{}", f[1], f[0]), f[2].parse().unwrap())
        })
        .filter(|(_, n)| *n > 0)
        .collect();
    assert_eq!(net.populations.len(), connected.len());
    for (name, n) in connected {
        let p = net.population(&name).unwrap();
        assert_eq!(p.cell_nr, n, "{name}");
        assert_eq!(p.synapses.distribution_file, syn);
    }

    // An unknown whisker is a clear error and writes nothing.
    let bad = tmp.path().join("bad.param");
    let st = network_param(&ex, &out)
        .args([
            "--syn",
            "a.syn",
            "--con",
            "a.con",
            "--whisker",
            "Z9",
            "--out",
        ])
        .arg(&bad)
        .output()
        .unwrap();
    assert!(!st.status.success());
    let err = String::from_utf8_lossy(&st.stderr);
    assert!(err.starts_with("error:") && err.contains("Z9"), "{err}");
    assert!(!bad.exists());
}
