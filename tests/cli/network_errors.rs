//! Bad network input gives an error naming file, line and key; small hand-checked networks.

use isf::network::{Network, NetworkModel, RandomState, SynapseTarget, TrialScratch};
use isf::param::NetworkParams;
use std::path::{Path, PathBuf};

const SYN: &str =
    "# Synapse distribution file\n# corresponding to cell: toy\n# Type - section - section.x\n\n\
A\t1\t0.5\nA\t1\t0.9\nA\t0\t0.2\t1\nB\t1\t0.1\n";
const CON: &str =
    "# Anatomical connectivity realization file; only valid with synapse realization:\n\
# toy.syn\n# Type - cell ID - synapse ID\n\nA\t0\t0\nA\t1\t1\nA\t0\t2\nB\t0\t0\n";

fn population(name: &str, cell_nr: usize, celltype: &str, release: &str, receptor: &str) -> String {
    format!(
        "    \"{name}\": {{\n      \"cellNr\": {cell_nr},\n      \"celltype\": {celltype},\n      \
         \"synapses\": {{\n        \"distributionFile\": \"toy.syn\",\n        \
         \"connectionFile\": \"toy.con\",\n        {release}\n        \
         \"receptors\": {{\"{receptor}\": {{\"threshold\": 0.0, \"delay\": 0.0, \"weight\": [1.5, 2.5], \
         \"parameter\": {{\"tau1\": 26.0}}}}}},\n      }},\n    }},\n"
    )
}

/// Writes toy.syn/.con and a network param with the given populations; returns the param path.
fn setup(dir: &Path, pops: &[String], extra: &str) -> PathBuf {
    std::fs::write(dir.join("toy.syn"), SYN).unwrap();
    std::fs::write(dir.join("toy.con"), CON).unwrap();
    let text = format!("{{\n  \"network\": {{\n{}{extra}  }},\n}}\n", pops.concat());
    let p = dir.join("net.param");
    std::fs::write(&p, text).unwrap();
    p
}

fn build(path: &Path) -> Result<NetworkModel, String> {
    let params = NetworkParams::read(path).map_err(|e| e.to_string())?;
    NetworkModel::from_params(&params, 100.0).map_err(|e| e.to_string())
}

const TRAIN: &str = "\"spiketrain\", \"interval\": 10.0";

/// [`setup`] with one population `A` of `cell_nr` spike trains ([`TRAIN`]).
fn spike_trains(dir: &Path, cell_nr: usize, release: &str, receptor: &str, extra: &str) -> PathBuf {
    setup(
        dir,
        &[population("A", cell_nr, TRAIN, release, receptor)],
        extra,
    )
}

#[test]
fn psth_length_mismatch_names_file_line_key() {
    let d = tempfile::tempdir().unwrap();
    let ct = "{\"pointcell\": {\"distribution\": \"PSTH\", \"intervals\": [(0, 1), (1, 2)],\n        \"probabilities\": [0.5], \"offset\": 0}}";
    let p = setup(
        d.path(),
        &[population("A", 2, ct, "\"releaseProb\": 0.5,", "gaba_syn")],
        "",
    );
    let e = build(&p).unwrap_err();
    assert!(e.contains("net.param:"), "{e}");
    assert!(
        e.contains("network.A.celltype.pointcell.probabilities"),
        "{e}"
    );
    assert!(e.contains("lengths must match"), "{e}");
}

#[test]
fn unknown_distribution_is_an_error() {
    let d = tempfile::tempdir().unwrap();
    let ct = "{\"pointcell\": {\"distribution\": \"gamma\", \"offset\": 0}}";
    let p = setup(
        d.path(),
        &[population("A", 2, ct, "\"releaseProb\": 0.5,", "gaba_syn")],
        "",
    );
    let e = build(&p).unwrap_err();
    assert!(
        e.contains("network.A.celltype.pointcell.distribution"),
        "{e}"
    );
    assert!(e.contains("unknown spike time distribution `gamma`"), "{e}");
}

#[test]
fn con_cell_id_beyond_cell_nr_names_con_line() {
    let d = tempfile::tempdir().unwrap();
    // A's .con lines name cells 0 and 1, but cellNr is 1: line 6 (`A 1 1`) is wrong.
    let p = spike_trains(d.path(), 1, "\"releaseProb\": 0.5,", "gaba_syn", "");
    let e = build(&p).unwrap_err();
    assert!(e.contains("toy.con:6"), "{e}");
    assert!(e.contains("cellNr = 1"), "{e}");
}

#[test]
fn missing_syn_file_is_named() {
    let d = tempfile::tempdir().unwrap();
    let p = spike_trains(d.path(), 2, "\"releaseProb\": 0.5,", "gaba_syn", "");
    std::fs::remove_file(d.path().join("toy.syn")).unwrap();
    let e = build(&p).unwrap_err();
    assert!(e.contains("toy.syn"), "{e}");
    assert!(e.contains("network.A.synapses.distributionFile"), "{e}");
}

#[test]
fn dynamic_release_needs_a_stochastic_receptor() {
    let d = tempfile::tempdir().unwrap();
    let p = spike_trains(d.path(), 2, "\"releaseProb\": \"dynamic\",", "gaba_syn", "");
    let e = build(&p).unwrap_err();
    assert!(e.contains("network.A.synapses.releaseProb"), "{e}");
    let p = spike_trains(
        d.path(),
        2,
        "\"releaseProb\": \"dynamic\",",
        "ProbAMPANMDA2",
        "",
    );
    build(&p).unwrap();
}

#[test]
fn unknown_modify_function_is_an_error() {
    let d = tempfile::tempdir().unwrap();
    let p = spike_trains(
        d.path(),
        2,
        "\"releaseProb\": 0.5,",
        "gaba_syn",
        "    \"network_modify_functions\": {\"make_it_spike\": {}},\n",
    );
    let e = build(&p).unwrap_err();
    assert!(
        e.contains("unknown network modify function `make_it_spike`"),
        "{e}"
    );
}

/// Two sections: section 0 (soma, 3 points), section 1 (dendrite, 5 points, 100 µm long,
/// attached at the soma: synaptic soma distance = x·100).
struct Toy;
impl SynapseTarget for Toy {
    fn section_count(&self) -> usize {
        2
    }
    fn rel_pts(&self, s: usize) -> &[f64] {
        if s == 0 {
            &[0.0, 0.5, 1.0]
        } else {
            &[0.0, 0.25, 0.5, 0.75, 1.0]
        }
    }
    fn nseg(&self, s: usize) -> usize {
        if s == 0 {
            1
        } else {
            3
        }
    }
    fn label(&self, s: usize) -> &str {
        if s == 0 {
            "Soma"
        } else {
            "Dendrite"
        }
    }
    fn synaptic_soma_distance_um(&self, s: usize, x: f64) -> f64 {
        if s == 0 {
            0.0
        } else {
            x * 100.0
        }
    }
}

#[test]
fn always_release_pruning_mapping_and_silencing() {
    let d = tempfile::tempdir().unwrap();
    // No releaseProb: every spike releases, no release draws. Regular trains (noise 0):
    // spikes at start, start+10, … ≤ 100 ms, i.e. 5, 15, …, 95 (10 spikes per cell).
    let ct = "\"spiketrain\", \"interval\": 10.0, \"noise\": 0.0, \"start\": 5.0";
    let p = setup(d.path(), &[population("A", 2, ct, "", "glutamate_syn")], "");
    let model = build(&p).unwrap();
    let net = Network::new(model, &Toy).unwrap();
    let trial = net
        .draw_trial(&mut RandomState::new(1), &mut TrialScratch::default())
        .unwrap();
    let want: Vec<f64> = (0..10).map(|k| 5.0 + 10.0 * k as f64).collect();
    // Synapse 2 is pruned, so only synapses 0 and 1 are active, in .con order.
    let ids: Vec<u32> = trial.synapses.iter().map(|s| s.synapse_id).collect();
    assert_eq!(ids, [0, 1]);
    assert_eq!(trial.release_times(0), want.as_slice());
    assert_eq!(trial.synapse_weights(1), [1.5, 2.5]);
    // Synapse 1 at x = 0.9 on section 1: closest point 1.0 (pt 4), point process clamped to
    // the last segment centre 2.5/3, segment 2; soma distance 0.9·100.
    let m = net.map.synapse(0, 1);
    assert_eq!((m.section, m.pt_id, m.segment), (1, 4, 2));
    assert_eq!(m.x_pp, 2.5 / 3.0);
    assert_eq!(m.soma_distance_um, 90.0);

    // Silencing [80, 100) µm removes synapse 1 (90 µm) but keeps synapse 0 (50 µm).
    let p = setup(
        d.path(),
        &[population("A", 2, ct, "", "glutamate_syn")],
        "    \"network_modify_functions\": {\"silence_synapses_by_somadist\": {\"soma_dist_ranges\": {\"A\": [80, 100]}}},\n",
    );
    let net = Network::new(build(&p).unwrap(), &Toy).unwrap();
    let trial = net
        .draw_trial(&mut RandomState::new(1), &mut TrialScratch::default())
        .unwrap();
    let ids: Vec<u32> = trial.synapses.iter().map(|s| s.synapse_id).collect();
    assert_eq!(ids, [0]);
    assert_eq!(trial.release_times(0), want.as_slice());
}
