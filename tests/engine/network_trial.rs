//! One ISF trial (86_C2_center + network.param, seed 1234, tStop 300) drawn by isf must equal
//! ISF's own output files (`reference/neuron-9.0.2/network_trial_seed1234`), row by row and
//! value by value.

use isf::network::{NetworkModel, RandomState, TrialInput, TrialScratch};
use isf::param::NetworkParams;
use isf::testing::{example_params, shared_path, EXAMPLE_NETWORK_PARAM, REFERENCE_TRIAL_DIR};
use std::path::{Path, PathBuf};

/// `(population, cell or synapse ID, other columns…, times)` rows of an ISF CSV file.
fn read_rows(path: &Path) -> Vec<Vec<String>> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|l| l.split('\t').map(str::to_string).collect())
        .collect()
}

fn parse_times(s: &str) -> Vec<f64> {
    s.split(',')
        .filter(|x| !x.is_empty())
        .map(|x| x.parse().unwrap())
        .collect()
}

fn bits(v: &[f64]) -> Vec<u64> {
    v.iter().map(|x| x.to_bits()).collect()
}

/// The example network drawn for ISF's seed-1234 trial (tStop 300 ms), and the path of the
/// reference output file `file` of that trial; `None` when the reference data is absent.
fn seed_1234_trial(file: &str) -> Option<(NetworkModel, TrialInput, PathBuf)> {
    let (Some(example), Some(reference)) = (
        shared_path(EXAMPLE_NETWORK_PARAM),
        shared_path(&format!("{REFERENCE_TRIAL_DIR}/isf_output/{file}")),
    ) else {
        return None;
    };
    let params = NetworkParams::read(&example).unwrap();
    let model = NetworkModel::from_params(&params, 300.0).unwrap();
    let mut rng = RandomState::new(1234);
    let trial = model
        .draw_trial(&mut rng, &mut TrialScratch::default())
        .unwrap();
    Some((model, trial, reference))
}

#[test]
fn presynaptic_cells_equal_isf() {
    let Some((model, trial, reference)) =
        seed_1234_trial("simulation_run0000_presynaptic_cells.csv")
    else {
        return;
    };

    // ISF lists cells with ≥ 1 spike, populations in Python string order, cells ascending.
    let mut order: Vec<usize> = (0..model.populations.len()).collect();
    order.sort_by(|&a, &b| model.populations[a].name.cmp(&model.populations[b].name));
    let mut got = Vec::new();
    for p in order {
        let spikes = &trial.presynaptic[p];
        for c in 0..spikes.cells() {
            if !spikes.cell(c).is_empty() {
                got.push((model.populations[p].name.clone(), c, bits(spikes.cell(c))));
            }
        }
    }
    let want: Vec<(String, usize, Vec<u64>)> = read_rows(&reference)
        .into_iter()
        .map(|r| {
            (
                r[0].clone(),
                r[1].parse().unwrap(),
                bits(&parse_times(&r[2])),
            )
        })
        .collect();
    let n_spikes: usize = got.iter().map(|r| r.2.len()).sum();
    assert_eq!(got.len(), want.len(), "number of spiking cells");
    for (i, (g, w)) in got.iter().zip(&want).enumerate() {
        assert_eq!(g, w, "row {i}");
    }
    // Counts stated in the reference README / network_counts.json.
    assert_eq!((got.len(), n_spikes), (6456, 11213));
}

#[test]
fn synapse_release_times_equal_isf() {
    let Some((model, trial, reference)) = seed_1234_trial("simulation_run0000_synapses.csv") else {
        return;
    };

    // ISF writes active synapses sorted by population name, then synapse ID.
    let mut idx: Vec<usize> = (0..trial.synapses.len()).collect();
    let key = |i: usize| {
        let s = &trial.synapses[i];
        (&model.populations[s.population as usize].name, s.synapse_id)
    };
    idx.sort_by(|&a, &b| key(a).cmp(&key(b)));
    let got: Vec<(String, u32, Vec<u64>)> = idx
        .iter()
        .map(|&i| {
            let (name, id) = key(i);
            (name.clone(), id, bits(trial.release_times(i)))
        })
        .collect();
    let want: Vec<(String, u32, Vec<u64>)> = read_rows(&reference)
        .into_iter()
        .map(|r| {
            (
                r[0].clone(),
                r[1].parse().unwrap(),
                bits(&parse_times(&r[6])),
            )
        })
        .collect();
    assert_eq!(got.len(), want.len(), "number of active synapses");
    for (i, (g, w)) in got.iter().zip(&want).enumerate() {
        assert_eq!(g, w, "row {i}");
    }
    assert_eq!((trial.synapses.len(), trial.release_count()), (3867, 4624));
}

#[test]
fn full_trial_on_cell_86_equals_isf_files() {
    use isf::output::isf_files::{
        read_presynaptic_cells_file, read_synapse_activation_file, write_presynaptic_cells,
        write_synapse_activations,
    };
    use isf::recipe::Recipe;
    let (Some((cell_param, net_param)), Some(dir)) = (
        example_params(),
        shared_path(&format!("{REFERENCE_TRIAL_DIR}/isf_output")),
    ) else {
        return;
    };
    // The recipe of `isf simulate CELL NETWORK --seed 1234 --tstop 300`.
    let recipe = Recipe {
        tstop_ms: Some(300.0),
        ..Recipe::in_network(cell_param, net_param)
    };
    let cell = recipe.build().unwrap();
    let trial = cell
        .draw(&mut RandomState::new(1234), &mut TrialScratch::default())
        .unwrap();
    let (syn, pre) = cell.isf_rows(&trial).unwrap();

    let syn_path = dir.join("simulation_run0000_synapses.csv");
    let pre_path = dir.join("simulation_run0000_presynaptic_cells.csv");
    let want_syn = read_synapse_activation_file(&syn_path).unwrap();
    let want_pre = read_presynaptic_cells_file(&pre_path).unwrap();
    assert_eq!(syn.len(), want_syn.len());
    for (i, (g, w)) in syn.iter().zip(&want_syn).enumerate() {
        assert_eq!(g, w, "synapse row {i}");
    }
    assert_eq!(pre, want_pre);

    // And the files isf writes are ISF's, byte for byte.
    let mut bytes = Vec::new();
    write_synapse_activations(&mut bytes, &syn).unwrap();
    assert!(
        bytes == std::fs::read(&syn_path).unwrap(),
        "synapse file bytes differ"
    );
    bytes.clear();
    write_presynaptic_cells(&mut bytes, &pre).unwrap();
    assert!(
        bytes == std::fs::read(&pre_path).unwrap(),
        "presynaptic file bytes differ"
    );
}
