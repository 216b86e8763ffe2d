//! `isf simulate CELL.param NETWORK.param --seed S` (one ISF task) against ISF's own output
//! folder for seed 1234, on the embedded example, and with bad input.

use isf::example_model::{ExampleModel, DEFAULT_SEED};
use isf::output::TraceTable;
use isf::run::isf_task::{run_isf_task, IsfTask};
use isf::testing::{example_params, shared_path, REFERENCE_TRIAL_DIR};
use std::path::{Path, PathBuf};

use crate::common;
use common::find;

fn task(cell: PathBuf, network: PathBuf, seed: u32, tstop: Option<f64>, out: PathBuf) -> IsfTask {
    IsfTask {
        cell,
        network,
        seed,
        sweeps: 1,
        tstop_ms: tstop,
        dt_ms: None,
        numerics: Default::default(),
        out,
        prefix: Some("task".into()),
    }
}

#[test]
fn seed_1234_task_reproduces_isf_output_folder() {
    let (Some((cell, net)), Some(ref_dir)) = (example_params(), shared_path(REFERENCE_TRIAL_DIR))
    else {
        return;
    };
    let isf_out = ref_dir.join("isf_output");
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("task");
    let summary = run_isf_task(&task(cell, net, 1234, Some(300.0), out.clone())).unwrap();
    println!(
        "setup {:.2} s, network {:.1} ms, simulation {:.2} s",
        summary.setup_s,
        summary.sweeps[0].network_s * 1e3,
        summary.sweeps[0].simulation_s
    );

    // Synapse activations and presynaptic spikes: ISF's files, byte for byte (so also equal as
    // parsed doubles, same rows, same order).
    for f in [
        "simulation_run0000_synapses.csv",
        "simulation_run0000_presynaptic_cells.csv",
    ] {
        assert!(
            std::fs::read(out.join(f)).unwrap() == std::fs::read(isf_out.join(f)).unwrap(),
            "{f} differs from ISF's"
        );
    }
    // The network parameter copy is ISF's `ParameterSet.save` output.
    assert!(
        std::fs::read(out.join("task_network_model.param")).unwrap()
            == std::fs::read(find(&isf_out, "_network_model.param")).unwrap()
    );

    // Soma trace within 0.01 mV of NEURON's, same time column.
    let mine = TraceTable::read(&out.join("task_vm_all_traces.csv")).unwrap();
    let isf = TraceTable::read(&find(&isf_out, "_vm_all_traces.csv")).unwrap();
    assert_eq!(mine.header, isf.header);
    assert_eq!(mine.t_ms(), isf.t_ms());
    let d = mine.runs_mv()[0]
        .iter()
        .zip(&isf.runs_mv()[0])
        .map(|(a, b)| (a - b).abs())
        .fold(0.0, f64::max);
    println!("max |Δv_soma| = {d:e} mV");
    assert!(d <= 0.01, "soma trace differs by {d} mV");

    // Soma spikes (first sample ≥ 0 mV) within 0.001 ms of the reference's.
    let want: Vec<f64> = std::fs::read_to_string(ref_dir.join("soma_spike_times.csv"))
        .unwrap()
        .lines()
        .skip(1)
        .map(|l| l.split(',').next().unwrap().parse().unwrap())
        .collect();
    let got = &summary.sweeps[0].soma_spikes_ms;
    assert_eq!(got.len(), want.len(), "spikes {got:?} vs {want:?}");
    for (g, w) in got.iter().zip(&want) {
        assert!((g - w).abs() <= 1e-3, "spike {g} vs {w}");
    }
}

/// The example model, written into `dir/ex`.
fn example(dir: &Path) -> PathBuf {
    let ex = dir.join("ex");
    ExampleModel::generate(DEFAULT_SEED)
        .write(&ex, false)
        .unwrap();
    ex
}

#[test]
fn example_model_spikes() {
    let tmp = tempfile::tempdir().unwrap();
    let ex = example(tmp.path());
    let out = tmp.path().join("out");
    let t = task(
        ex.join("cell.param"),
        ex.join("network.param"),
        0,
        None,
        out.clone(),
    );
    let s = run_isf_task(&t).unwrap();
    println!(
        "example: {} synapses, spikes {:?}, simulation {:.2} s",
        s.sweeps[0].synapses, s.sweeps[0].soma_spikes_ms, s.sweeps[0].simulation_s
    );
    assert!(!s.sweeps[0].soma_spikes_ms.is_empty(), "no soma spike");
    assert!(out.join("simulation_run0000_synapses.csv").is_file());
    // Deterministic: the same seed gives the same files.
    let out2 = tmp.path().join("out2");
    let t2 = task(
        ex.join("cell.param"),
        ex.join("network.param"),
        0,
        None,
        out2.clone(),
    );
    run_isf_task(&t2).unwrap();
    for f in ["simulation_run0000_synapses.csv", "task_vm_all_traces.csv"] {
        assert!(std::fs::read(out.join(f)).unwrap() == std::fs::read(out2.join(f)).unwrap());
    }
}

/// Nothing but the example folder is left in `dir` (no output, no staging folder).
fn assert_no_output(dir: &Path) {
    let names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names, ["ex"], "left behind: {names:?}");
}

#[test]
fn bad_network_input_leaves_no_output_folder() {
    let tmp = tempfile::tempdir().unwrap();
    let ex = example(tmp.path());
    let out = tmp.path().join("out");
    let run = || {
        run_isf_task(&task(
            ex.join("cell.param"),
            ex.join("network.param"),
            0,
            None,
            out.clone(),
        ))
        .map(|_| ())
        .unwrap_err()
        .to_string()
    };
    // A .con line naming a cell beyond cellNr.
    let con = std::fs::read_dir(&ex)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|e| e == "con"))
        .unwrap();
    let original = std::fs::read_to_string(&con).unwrap();
    let first_pop = original
        .lines()
        .find(|l| !l.starts_with('#') && !l.is_empty())
        .unwrap()
        .split('\t')
        .next()
        .unwrap()
        .to_string();
    std::fs::write(&con, format!("{original}{first_pop}\t999999\t0\n")).unwrap();
    let e = run();
    assert!(e.contains(".con:") && e.contains("999999"), "{e}");
    assert_no_output(tmp.path());
    std::fs::write(&con, &original).unwrap();

    // A missing .syn file.
    let syn = con.with_extension("syn");
    std::fs::rename(&syn, syn.with_extension("moved")).unwrap();
    let e = run();
    assert!(
        e.contains(&*syn.file_name().unwrap().to_string_lossy()),
        "{e}"
    );
    assert_no_output(tmp.path());
}

/// The task mode takes `--numerics` as the other modes do: `exact` gives the same spikes as the
/// default `fast` (they agree to round-off), an unknown value is refused.
#[test]
fn task_numerics_is_chosen_on_the_command_line() {
    let tmp = tempfile::tempdir().unwrap();
    example(tmp.path());
    let run = |numerics: &str, out: &str| {
        std::process::Command::new(env!("CARGO_BIN_EXE_isf"))
            .args([
                "simulate",
                "ex/cell.param",
                "ex/network.param",
                "--seed",
                "0",
            ])
            .args(["--numerics", numerics, "--out", out])
            .current_dir(tmp.path())
            .output()
            .unwrap()
    };
    let spikes = |out: &std::process::Output| {
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter(|l| l.starts_with("sweep "))
            .map(|l| l.split("; network").next().unwrap_or(l).to_string())
            .collect::<Vec<_>>()
    };
    let fast = spikes(&run("fast", "fast"));
    let exact = spikes(&run("exact", "exact"));
    assert!(
        !fast.is_empty() && fast[0].contains(" soma spike"),
        "{fast:?}"
    );
    assert_eq!(fast, exact);
    let bad = run("quick", "quick");
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("quick"));
}
