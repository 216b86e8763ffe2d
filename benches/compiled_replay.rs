//! The reference network trial (seed 1234, cell 86, 300 ms) replayed with exact numerics three
//! times: with the hand-written built-ins; with every Hay channel compiled from ISF's `.mod`
//! files; with the Hay channels and ISF's two synapses compiled (compiled mechanisms registered
//! under the built-ins' names, which they replace in this process). Prints the best CPU time of
//! five runs of each, checks each compiled run against the built-ins' (every trace bit for bit)
//! and against NEURON 9.0.2 (soma within 1e-9 mV, the same spikes).
//! Needs the shared reference data (`../shared`); prints a notice and measures nothing without it.
//! `cargo bench --bench compiled_replay`.

use isf::cell::CellTemplate;
use isf::mechanisms::{compiled, Numerics};
use isf::output::TraceTable;
use isf::param::{CellParams, NetworkParams};
use isf::recipe::replay::ReplayTrial;
use isf::testing::{reference_trial, shared_path, REFERENCE_TRIAL_DIR};
use isf::trial::result::TrialResult;
use isf::trial::CellSimulator;

const TSTOP_MS: f64 = 300.0;
/// Runs of each kind (the best CPU time is reported: the machine may be shared).
const RUNS: usize = 5;

use isf::testing::HAY_CHANNELS as HAY;

#[path = "support/cpu_time.rs"]
mod cpu_time;
use cpu_time::thread_cpu_seconds;

fn max_diff(a: &[f64], b: &[f64]) -> f64 {
    assert_eq!(a.len(), b.len());
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f64::max)
}

/// Builds the simulator (resolving mechanism names now) and runs the trial `RUNS` times;
/// (result, best CPU s).
fn run(cell: &std::path::Path, net: &std::path::Path, syn: &std::path::Path) -> (TrialResult, f64) {
    let template = CellTemplate::from_params(&CellParams::read(cell).unwrap()).unwrap();
    let sim = CellSimulator::with_numerics(template, None, Numerics::Exact).unwrap();
    let trial = ReplayTrial::read(&sim, &NetworkParams::read(net).unwrap(), syn).unwrap();
    let mut best = f64::INFINITY;
    let mut result = None;
    for _ in 0..RUNS {
        let c0 = thread_cpu_seconds();
        let r = sim.run(&trial.inputs, TSTOP_MS).unwrap();
        best = best.min(thread_cpu_seconds() - c0);
        result = Some(r);
    }
    (result.expect("at least one run"), best)
}

fn main() {
    let (Some((cell, net, syn)), Some(lib), Some(ref_dir)) = (
        reference_trial(),
        shared_path("nmodl/isf-library/channels_py3"),
        shared_path(REFERENCE_TRIAL_DIR),
    ) else {
        println!("compiled_replay: shared reference data absent, nothing measured");
        return;
    };
    let neuron = TraceTable::read(
        &std::fs::read_dir(ref_dir.join("isf_output"))
            .unwrap()
            .filter_map(|e| e.ok().map(|e| e.path()))
            .find(|p| p.to_string_lossy().ends_with("_vm_all_traces.csv"))
            .unwrap(),
    )
    .unwrap();
    let mut r = csv::Reader::from_path(ref_dir.join("soma_spike_times.csv")).unwrap();
    let ref_spikes: Vec<f64> = r
        .records()
        .map(|rec| rec.unwrap()[0].parse().unwrap())
        .collect();

    let (builtin, t_builtin) = run(&cell, &net, &syn);
    println!("replay, exact numerics, built-in mechanisms: {t_builtin:.3} s CPU (best of {RUNS})");
    let check = |ours: &TrialResult, what: &str| {
        let d_soma_builtin = max_diff(&ours.soma_vm_mv, &builtin.soma_vm_mv);
        let d_sites_builtin = ours
            .site_vm_mv
            .iter()
            .zip(&builtin.site_vm_mv)
            .map(|(a, b)| max_diff(a, b))
            .fold(0.0, f64::max);
        let d_soma_neuron = max_diff(&ours.soma_vm_mv, &neuron.runs_mv()[0]);
        println!(
            "{what} vs built-ins: soma {d_soma_builtin:e} mV, recording sites {d_sites_builtin:e} mV; \
             vs NEURON 9.0.2: soma {d_soma_neuron:e} mV, spikes {:?} (NEURON {:?})",
            ours.soma_spikes_ms, ref_spikes
        );
        assert_eq!(ours.soma_spikes_ms, ref_spikes, "{what}: spike times");
        assert!(
            d_soma_neuron <= 1e-9,
            "{what}: soma differs from NEURON by {d_soma_neuron:e} mV"
        );
        assert_eq!(
            d_soma_builtin, 0.0,
            "{what}: soma differs from the built-ins"
        );
        assert_eq!(
            d_sites_builtin, 0.0,
            "{what}: recording sites differ from the built-ins"
        );
    };

    // Density mechanisms are resolved when a simulator is built, point processes at every run:
    // the channels' run comes before the synapses are replaced.
    for m in HAY {
        let program = compiled::compile_file(&lib.join(format!("{m}.mod"))).unwrap();
        compiled::register(m, program, None).unwrap();
    }
    let (channels, t_channels) = run(&cell, &net, &syn);
    println!(
        "replay, exact numerics, compiled Hay channels: {t_channels:.3} s CPU (best of {RUNS}; {:.2}x the built-ins')",
        t_channels / t_builtin
    );
    check(&channels, "compiled channels");

    for (file, name) in [("netglutamate", "glutamate_syn"), ("netgaba", "gaba_syn")] {
        let program = compiled::compile_file(&lib.join(format!("{file}.mod"))).unwrap();
        assert_eq!(program.name, name);
        compiled::register(name, program, None).unwrap();
    }
    let (all, t_all) = run(&cell, &net, &syn);
    println!(
        "replay, exact numerics, compiled Hay channels and synapses: {t_all:.3} s CPU (best of {RUNS}; {:.2}x the built-ins')",
        t_all / t_builtin
    );
    check(&all, "compiled channels and synapses");
}
