//! Replay of ISF's network trial (seed 1234) on cell 86 against NEURON 9.0.2
//! (`reference/neuron-9.0.2/network_trial_seed1234/`), and replay's bad-input errors.

use std::path::{Path, PathBuf};

use isf::cli::replay::{replay, ReplayArgs};
use isf::mechanisms::Numerics;
use isf::output::isf_files::read_synapse_activation_file;
use isf::output::TraceTable;
use isf::testing::{example_params, reference_trial, shared_path, REFERENCE_TRIAL_DIR};

use crate::common;
use common::find;

fn args(synapses: &Path, out: PathBuf, tstop: f64, dt: Option<f64>) -> Option<ReplayArgs> {
    let (cell, network) = example_params()?;
    Some(ReplayArgs {
        cell,
        network,
        synapses: vec![synapses.to_path_buf()],
        tstop: Some(tstop),
        dt,
        numerics: Numerics::Fast,
        out,
        overwrite: false,
        mechanisms: Default::default(),
        prefix: Some("replay".into()),
    })
}

/// Largest |a − b| over two equally long columns, and where it occurs.
fn max_diff(a: &[f64], b: &[f64]) -> (f64, usize) {
    assert_eq!(a.len(), b.len());
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .enumerate()
        .fold((0.0, 0), |m, (i, d)| if d > m.0 { (d, i) } else { m })
}

/// README, "Replaying saved synapse activations" and "Numerics and speed": the largest
/// difference from NEURON of the soma and dendritic traces of the reference trial, mV, with
/// `fast` numerics (measured: 7.9e-10 mV at the soma).
const TRACE_MV_FAST: f64 = 1e-9;
/// The same with `exact` numerics (measured: 2.4e-10 mV at the soma).
const TRACE_MV_EXACT: f64 = 3e-10;

#[test]
fn replay_of_network_trial_matches_neuron() {
    check_network_replay(Numerics::Fast, TRACE_MV_FAST);
}

/// NEURON's operation order ([`Numerics::Exact`]) comes closer still.
#[test]
fn exact_numerics_replay_matches_neuron() {
    check_network_replay(Numerics::Exact, TRACE_MV_EXACT);
}

fn check_network_replay(numerics: Numerics, tolerance_mv: f64) {
    let Some(ref_dir) = shared_path(REFERENCE_TRIAL_DIR) else {
        return;
    };
    let isf_out = ref_dir.join("isf_output");
    let synapses = isf_out.join("simulation_run0000_synapses.csv");
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("replayed");
    let Some(mut a) = args(&synapses, out.clone(), 300.0, None) else {
        return;
    };
    a.numerics = numerics;
    let summary = replay(&a).expect("replay");
    let run = &summary.runs[0];
    println!(
        "{numerics:?}: replayed {} synapses / {} releases in {:.2} s",
        run.synapses, run.releases, summary.wall_s
    );
    // network_counts.json: 3867 active synapses, 4624 release events.
    assert_eq!(run.synapses, 3867);
    assert_eq!(run.releases, 4624);

    let mine = TraceTable::read(&find(&out, "_vm_all_traces.csv")).unwrap();
    let isf = TraceTable::read(&find(&isf_out, "_vm_all_traces.csv")).unwrap();
    assert_eq!(mine.header, isf.header);
    assert_eq!(mine.t_ms().len(), isf.t_ms().len(), "number of samples");
    assert_eq!(mine.t_ms(), isf.t_ms(), "time column");
    let (d_soma, i_soma) = max_diff(&mine.runs_mv()[0], &isf.runs_mv()[0]);

    let site = "apical_proximal_distal_rec_sites_ID_000_sec_038_seg_032_x_0.929_somaDist_920.7_vm_dend_traces.csv";
    let mine_d = TraceTable::read(&out.join(format!("replay_{site}"))).unwrap();
    let isf_d = TraceTable::read(&find(&isf_out, site)).unwrap();
    assert_eq!(mine_d.t_ms(), isf_d.t_ms(), "dendritic time column");
    let (d_dend, i_dend) = max_diff(&mine_d.runs_mv()[0], &isf_d.runs_mv()[0]);
    println!(
        "{numerics:?}: max |dV| soma {d_soma:.3e} mV at t = {} ms, 920.7 um site {d_dend:.3e} mV at t = {} ms",
        isf.t_ms()[i_soma],
        isf_d.t_ms()[i_dend]
    );

    // Spike times: the first sample at or above 0 mV (column 0 of the reference).
    let mut r = csv::Reader::from_path(ref_dir.join("soma_spike_times.csv")).unwrap();
    let ref_spikes: Vec<f64> = r
        .records()
        .map(|rec| rec.unwrap()[0].parse().unwrap())
        .collect();
    println!("spikes {:?} (NEURON {:?})", run.spikes_ms, ref_spikes);
    // Sample times are the solver's accumulated t, which NEURON accumulates the same way.
    assert_eq!(run.spikes_ms, ref_spikes, "spike times");
    assert!(
        d_soma <= tolerance_mv,
        "soma trace differs by {d_soma:e} mV"
    );
    assert!(
        d_dend <= tolerance_mv,
        "dendritic trace differs by {d_dend:e} mV"
    );

    // The synapse file written: same synapses and times, IDs renumbered per population.
    let input = read_synapse_activation_file(&synapses).unwrap();
    let written = read_synapse_activation_file(&out.join("simulation_run0000000_synapses.csv"))
        .expect("replay synapse file");
    assert_eq!(written.len(), input.len());
    let key = |r: &isf::output::SynapseActivationRow| {
        (
            r.population.clone(),
            r.section_id,
            r.section_pt_id,
            r.dendrite_label.clone(),
            r.times_ms.iter().map(|t| t.to_bits()).collect::<Vec<_>>(),
        )
    };
    let mut a: Vec<_> = input.iter().map(key).collect();
    let mut b: Vec<_> = written.iter().map(key).collect();
    a.sort();
    b.sort();
    assert_eq!(a, b);
    for pop in written.iter().map(|r| &r.population) {
        let mut ids: Vec<usize> = written
            .iter()
            .filter(|r| &r.population == pop)
            .map(|r| r.synapse_id)
            .collect();
        let n = ids.len();
        ids.dedup();
        assert_eq!(ids, (0..n).collect::<Vec<_>>(), "IDs of {pop}");
    }
    for f in ["replay_neuron_model.param", "replay_network_model.param"] {
        assert!(out.join(f).is_file(), "{f}");
    }
}

/// Runs a replay expected to fail; checks that nothing was created beside the input.
fn expect_error(synapse_text: &str, dt: Option<f64>, needle: &str) {
    let inputs = tempfile::tempdir().unwrap();
    let syn = inputs.path().join("synapses.csv");
    std::fs::write(&syn, synapse_text).unwrap();
    let outputs = tempfile::tempdir().unwrap();
    let out = outputs.path().join("out");
    let Some(a) = args(&syn, out.clone(), 5.0, dt) else {
        return;
    };
    let e = replay(&a).expect_err("bad input must fail");
    let msg = format!("{e:#}");
    assert!(
        msg.contains(needle),
        "error {msg:?} should mention {needle:?}"
    );
    assert_eq!(
        std::fs::read_dir(outputs.path()).unwrap().count(),
        0,
        "nothing may be written on error ({msg})"
    );
}

const HEADER: &str = "# synapse type\tsynapse ID\tsoma distance\tsection ID\tsection pt ID\tdendrite label\tactivation times\n";

#[test]
fn population_missing_from_network_is_an_error() {
    expect_error(
        &format!(
            "{HEADER}L1_B1\t3\t1441.8\t46\t19\tApicalDendrite\t2.5,\nNoSuchCell\t0\t10.0\t46\t3\tApicalDendrite\t1.0,\n"
        ),
        None,
        "synapses.csv:3: population `NoSuchCell` is not in the network parameter file",
    );
}

#[test]
fn section_beyond_the_cell_is_an_error() {
    expect_error(
        &format!("{HEADER}L1_B1\t3\t1441.8\t9999\t19\tApicalDendrite\t2.5,\n"),
        None,
        "synapses.csv:2: synapse of `L1_B1` on section 9999, but the cell has 170 sections",
    );
}

#[test]
fn point_beyond_the_section_is_an_error() {
    expect_error(
        &format!("{HEADER}L1_B1\t3\t1441.8\t46\t100000\tApicalDendrite\t2.5,\n"),
        None,
        "synapses.csv:2: synapse of `L1_B1` at point 100000 of section 46",
    );
}

#[test]
fn zero_or_negative_dt_is_an_error() {
    let text = format!("{HEADER}L1_B1\t3\t1441.8\t46\t19\tApicalDendrite\t2.5,\n");
    expect_error(
        &text,
        Some(0.0),
        "--dt must be a positive number of ms, got 0",
    );
    expect_error(
        &text,
        Some(-0.025),
        "--dt must be a positive number of ms, got -0.025",
    );
}

#[test]
fn nan_release_time_is_an_error() {
    expect_error(
        &format!("{HEADER}L1_B1\t3\t1441.8\t46\t19\tApicalDendrite\t2.5,nan,\n"),
        None,
        "synapses.csv:2: time is not finite",
    );
}

/// Coalescing identical linear synapses on a node changes only round-off: the first 50 ms of
/// the trial (three spikes) with and without it.
#[test]
fn coalesced_synapses_match_separate_instances() {
    use isf::cell::CellTemplate;
    use isf::param::network_params::NetworkParams;
    use isf::param::CellParams;
    use isf::recipe::replay::ReplayTrial;
    use isf::trial::CellSimulator;
    let Some((cell, net, syn)) = reference_trial() else {
        return;
    };
    let template = CellTemplate::from_params(&CellParams::read(&cell).unwrap()).unwrap();
    let mut sim = CellSimulator::new(template, None).unwrap();
    let trial = ReplayTrial::read(&sim, &NetworkParams::read(&net).unwrap(), &syn).unwrap();
    let merged = sim.run(&trial.inputs, 50.0).unwrap();
    sim.coalesce_synapses = false;
    let separate = sim.run(&trial.inputs, 50.0).unwrap();
    assert_eq!(merged.t_ms, separate.t_ms);
    let (d, _) = max_diff(&merged.soma_vm_mv, &separate.soma_vm_mv);
    println!("coalesced vs separate: max |dV| {d:.3e} mV");
    assert!(d <= 1e-6, "{d}");
    assert_eq!(merged.soma_spikes_ms, separate.soma_spikes_ms);
    assert_eq!(merged.soma_spikes_ms.len(), 3);
}

/// The runner on a drawn network trial (`isf simulate`'s path): ISF's seed-1234 trial drawn by
/// the network module, simulated for its first 50 ms (three spikes), equals ISF's soma trace.
#[test]
fn drawn_network_trial_through_the_runner_matches_neuron() {
    use isf::cell::CellTemplate;
    use isf::network::{Network, NetworkModel, RandomState, TrialScratch};
    use isf::param::network_params::NetworkParams;
    use isf::param::CellParams;
    use isf::trial::{CellSimulator, SynapseInputs};
    let (Some((cell, net)), Some(ref_dir)) = (
        example_params(),
        shared_path(&format!("{REFERENCE_TRIAL_DIR}/isf_output")),
    ) else {
        return;
    };
    let template = CellTemplate::from_params(&CellParams::read(&cell).unwrap()).unwrap();
    let model = NetworkModel::from_params(&NetworkParams::read(&net).unwrap(), 300.0).unwrap();
    let network = Network::new(model, &template).unwrap();
    let trial = network
        .draw_trial(&mut RandomState::new(1234), &mut TrialScratch::default())
        .unwrap();
    let inputs = SynapseInputs::from_network(&network, &trial);
    // network_counts.json: 3867 active synapses, 4624 release events.
    assert_eq!(inputs.synapses.len(), 3867);
    assert_eq!(inputs.release_count(), 4624);
    let sim = CellSimulator::new(template, None).unwrap();
    let r = sim.run(&inputs, 50.0).unwrap();
    let isf = TraceTable::read(&find(&ref_dir, "_vm_all_traces.csv")).unwrap();
    let n = r.t_ms.len();
    assert_eq!(r.t_ms[..], isf.t_ms()[..n]);
    let (d, _) = max_diff(&r.soma_vm_mv, &isf.runs_mv()[0][..n]);
    println!(
        "drawn trial, first 50 ms: max |dV| {d:.3e} mV, spikes {:?}",
        r.soma_spikes_ms
    );
    assert!(d <= TRACE_MV_FAST, "{d:e}");
    assert_eq!(r.soma_spikes_ms.len(), 3);
}
