//! The generated example model read back through isf's own readers: params parse into typed
//! views, the morphology reads back exactly as generated, and the synapse files are consistent
//! with both.

use isf::example_model::{ExampleModel, CELL_PARAM_FILE, DEFAULT_SEED, NETWORK_PARAM_FILE};
use isf::morphology::Morphology;
use isf::param::{CellParams, NetworkParams};
use std::collections::HashMap;

fn written() -> (tempfile::TempDir, ExampleModel) {
    let tmp = tempfile::tempdir().unwrap();
    let model = ExampleModel::generate(DEFAULT_SEED);
    model.write(&tmp.path().join("model"), false).unwrap();
    (tmp, model)
}

#[test]
fn params_parse_and_reference_existing_files() {
    let (tmp, _) = written();
    let dir = tmp.path().join("model");
    let cell = CellParams::read(&dir.join(CELL_PARAM_FILE)).unwrap();
    assert!(cell.neuron.filename.is_file());
    let labels: Vec<&str> = cell
        .neuron
        .labels
        .iter()
        .map(|l| l.label.as_str())
        .collect();
    for l in ["Soma", "Dendrite", "ApicalDendrite", "AIS", "Myelin"] {
        assert!(labels.contains(&l), "{labels:?}");
    }
    assert_eq!(cell.sim.dt_ms, 0.025);
    assert_eq!(cell.sim.temperature_c, 34.0);
    assert_eq!(cell.sim.recording_sites.len(), 1);
    assert!(cell.sim.recording_sites[0].is_file());

    let net = NetworkParams::read(&dir.join(NETWORK_PARAM_FILE)).unwrap();
    assert!(net.populations.len() >= 4);
    let receptors: Vec<&str> = net
        .populations
        .iter()
        .flat_map(|p| p.synapses.receptors.iter().map(|r| r.name.as_str()))
        .collect();
    assert!(receptors.contains(&"glutamate_syn") && receptors.contains(&"gaba_syn"));
    for p in &net.populations {
        assert!(p.synapses.distribution_file.is_file());
        assert!(p.synapses.connection_file.is_file());
    }
}

#[test]
fn morphology_reads_back_as_generated() {
    let (tmp, model) = written();
    let dir = tmp.path().join("model");
    let cell = CellParams::read(&dir.join(CELL_PARAM_FILE)).unwrap();
    let m = Morphology::read(&cell.neuron.filename).unwrap();
    assert_eq!(m.sections.len(), model.morphology.sections.len());
    for (r, g) in m.sections.iter().zip(&model.morphology.sections) {
        assert_eq!(r.name, g.name);
        assert_eq!(r.label, g.region.label());
        assert_eq!(r.parent, g.parent);
        assert_eq!(r.points, g.points, "{}", r.name);
    }
    eprintln!("example morphology: {}", model.summary);
}

#[test]
fn synapse_files_match_the_network_and_the_morphology() {
    let (tmp, _) = written();
    let dir = tmp.path().join("model");
    let net = NetworkParams::read(&dir.join(NETWORK_PARAM_FILE)).unwrap();
    let cell = CellParams::read(&dir.join(CELL_PARAM_FILE)).unwrap();
    let m = Morphology::read(&cell.neuron.filename).unwrap();
    let cells: HashMap<&str, usize> = net
        .populations
        .iter()
        .map(|p| (p.name.as_str(), p.cell_nr))
        .collect();
    let rows = |path: &std::path::Path| -> Vec<Vec<String>> {
        std::fs::read_to_string(path)
            .unwrap()
            .lines()
            .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
            .map(|l| l.split('\t').map(str::to_string).collect())
            .collect()
    };
    let spec = &net.populations[0].synapses;
    let syn = rows(&spec.distribution_file);
    let con = rows(&spec.connection_file);
    let mut per_pop: HashMap<String, usize> = HashMap::new();
    for r in &syn {
        assert!(
            cells.contains_key(r[0].as_str()),
            "unknown population {}",
            r[0]
        );
        let sec: usize = r[1].parse().unwrap();
        let x: f64 = r[2].parse().unwrap();
        assert!(sec < m.sections.len());
        assert!((0.0..=1.0).contains(&x));
        *per_pop.entry(r[0].clone()).or_default() += 1;
    }
    for r in &con {
        let cell: usize = r[1].parse().unwrap();
        let syn_id: usize = r[2].parse().unwrap();
        assert!(cell < cells[r[0].as_str()]);
        assert!(syn_id < per_pop[&r[0]]);
    }
    // Every population has synapses.
    for p in &net.populations {
        assert!(per_pop.get(&p.name).copied().unwrap_or(0) > 0, "{}", p.name);
    }
}

#[test]
fn cell_template_builds_with_expected_size_and_channel_layout() {
    use isf::cell::CellTemplate;
    let (tmp, model) = written();
    let dir = tmp.path().join("model");
    let params = CellParams::read(&dir.join(CELL_PARAM_FILE)).unwrap();
    let cell = CellTemplate::from_params(&params).unwrap();
    let nseg = cell.n_segments();
    let mut by_label: std::collections::BTreeMap<&str, usize> = Default::default();
    for s in &cell.sections {
        *by_label.entry(s.label.as_str()).or_default() += s.nseg;
    }
    eprintln!(
        "example cell: {nseg} segments {by_label:?}, {:.0} µm² membrane; {}",
        cell.total_area_um2(),
        model.summary
    );
    assert!((100..=300).contains(&nseg), "{nseg} segments");
    // The artificial axon was built (docs/models.md#artificial-axon: AIS 5 + 7 segments, myelin 21).
    assert_eq!(by_label.get("AIS"), Some(&12));
    assert_eq!(by_label.get("Myelin"), Some(&21));

    // Recording sites: both on apical trunk sections, the second farther out.
    assert_eq!(cell.recording_sites.len(), 2);
    let trunk: Vec<&str> = model
        .morphology
        .with_role(isf::example_model::morphology::Role::Trunk)
        .map(|(_, s)| s.name.as_str())
        .collect();
    let dist: Vec<f64> = cell
        .recording_sites
        .iter()
        .map(|r| {
            assert!(trunk.contains(&cell.sections[r.section].name.as_str()));
            cell.distance_to_soma(r.section, r.x)
        })
        .collect();
    assert!(dist[0] < dist[1], "{dist:?}");

    // Ca hot zone: the high LVA density appears on some apical nodes only, 100× the rest.
    let lva = cell.mechanism("Ca_LVAst").unwrap();
    let apical: Vec<f64> = lva
        .nodes
        .iter()
        .zip(&lva.params["gCa_LVAstbar"])
        .filter(|(n, _)| cell.sections[cell.node_section[**n]].label == "ApicalDendrite")
        .map(|(_, g)| *g)
        .collect();
    let hot = apical.iter().filter(|g| **g > 0.05).count();
    assert!(hot > 0 && hot < apical.len(), "{hot} of {}", apical.len());
    // Ih grows along the apical dendrite: the largest value exceeds the soma's several times.
    let ih = cell.mechanism("Ih").unwrap();
    let max_ih = ih.params["gIhbar"].iter().cloned().fold(0.0, f64::max);
    assert!(max_ih > 5.0 * 8.0e-5, "{max_ih}");
}

#[test]
fn run_config_loads() {
    let (tmp, _) = written();
    let dir = tmp.path().join("model");
    let cfg =
        isf::run::config::RunConfig::load(&dir.join(isf::example_model::RUN_CONFIG_FILE)).unwrap();
    assert_eq!(cfg.cells.len(), 1);
    assert_eq!(cfg.cells[0].cell_param, dir.join(CELL_PARAM_FILE));
    assert_eq!(cfg.cells[0].network_param, dir.join(NETWORK_PARAM_FILE));
    assert_eq!(cfg.output, dir.join(isf::example_model::RESULTS_FILE));
}

/// The network realization of the example, read back by the network module: every population
/// finds its synapses and connections, and they map onto the built cell.
#[test]
fn network_realization_reads_the_synapse_files() {
    use isf::cell::CellTemplate;
    use isf::network::model::NetworkModel;
    use isf::network::Network;
    let (tmp, model) = written();
    let dir = tmp.path().join("model");
    let cell =
        CellTemplate::from_params(&CellParams::read(&dir.join(CELL_PARAM_FILE)).unwrap()).unwrap();
    let params = NetworkParams::read(&dir.join(NETWORK_PARAM_FILE)).unwrap();
    let net = NetworkModel::from_params(&params, cell.tstop_ms).unwrap();
    for (name, count) in &model.summary.synapses {
        let p = &net.populations[net.population_index(name).unwrap()];
        assert_eq!(p.synapses.len(), *count, "{name}");
        assert_eq!(p.connections.len(), *count, "{name}");
    }
    let network = Network::new(net, &cell).unwrap();
    // Mapped synapses land on the sections and labels the generator chose.
    for (pi, pop) in network.map.populations.iter().enumerate() {
        let placed: Vec<_> = model
            .synapses
            .iter()
            .filter(|s| s.population == pi)
            .collect();
        for (m, s) in pop.iter().zip(placed) {
            assert_eq!(m.section, s.section);
            assert!((m.x - s.x).abs() < 1e-6);
        }
    }
}
