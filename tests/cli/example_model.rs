//! The generated example model read back through isf's own readers: params parse into typed
//! views, the morphology reads back exactly as generated, and the synapse files are consistent
//! with both; run through the library with an output format added from outside.

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

/// A new output format needs no change to the run loop: a sink written here, outside the
/// library, registered through `RunOptions::extra_sinks` the way a format is registered in
/// `output::sinks`, sees every trial once, commits batch by batch and finishes after the
/// results file, and a resumed complete run gives it nothing to write. (In this binary because
/// it runs in-process: a test that spawns processes meanwhile would let them inherit the open
/// HDF5 file and its lock.)
#[test]
fn an_output_format_is_added_without_touching_the_run_loop() {
    use isf::comm::SerialCommunicator;
    use isf::output::sink::{OutputMode, ResultSink, SinkError, SinkRun};
    use isf::output::sinks::{SinkFactory, SinkInputs};
    use isf::run::{run_config, RunOptions};
    use isf::trial::result::TrialResult;
    use std::path::PathBuf;
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::sync::{Arc, Mutex};

    /// One line per trial, in trial order, appended at every commit; `end <n>` at the end.
    struct TrialLog {
        path: PathBuf,
        seen: Arc<AtomicU64>,
        pending: Mutex<Vec<String>>,
        batches: Arc<Mutex<Vec<u64>>>,
    }

    impl ResultSink for TrialLog {
        fn check(&self, run: &SinkRun<'_>) -> Result<(), SinkError> {
            let exists = self.path.exists() && run.mode == OutputMode::Create;
            run.agree(match exists {
                true => Err(SinkError::output(&self.path, "exists")),
                false => Ok(()),
            })
        }
        fn prepare(&mut self, run: &SinkRun<'_>) -> Result<Option<u64>, SinkError> {
            if run.mode != OutputMode::Resume {
                std::fs::write(&self.path, "")
                    .map_err(|e| SinkError::output(&self.path, e.to_string()))?;
            }
            Ok(None)
        }
        fn write_trial(&self, r: &TrialResult) -> Result<(), SinkError> {
            self.seen.fetch_add(1, Ordering::SeqCst);
            self.pending.lock().unwrap().push(format!(
                "trial {} cell {} seed {} spikes {}",
                r.trial_id,
                r.cell_id,
                r.seed,
                r.soma_spikes_ms.len()
            ));
            Ok(())
        }
        fn commit_batch(
            &mut self,
            _run: &SinkRun<'_>,
            batch: u64,
            local: &[TrialResult],
        ) -> Result<(), SinkError> {
            let mut lines = std::mem::take(&mut *self.pending.lock().unwrap());
            assert_eq!(
                lines.len(),
                local.len(),
                "every trial went through write_trial"
            );
            lines.sort_by_key(|l| l.split(' ').nth(1).unwrap().parse::<u64>().unwrap());
            let mut text = std::fs::read_to_string(&self.path).unwrap();
            for l in lines {
                text.push_str(&l);
                text.push('\n');
            }
            isf_io::write_file(&self.path, text.as_bytes())
                .map_err(|e| SinkError::output(&self.path, e.to_string()))?;
            self.batches.lock().unwrap().push(batch);
            Ok(())
        }
        fn finish(self: Box<Self>, _run: &SinkRun<'_>) -> Result<(), SinkError> {
            let mut text = std::fs::read_to_string(&self.path).unwrap();
            text.push_str(&format!("end {}\n", self.seen.load(Ordering::SeqCst)));
            isf_io::write_file(&self.path, text.as_bytes())
                .map_err(|e| SinkError::output(&self.path, e.to_string()))
        }
    }

    let (tmp, _) = written();
    let cfg = tmp.path().join("r.toml");
    std::fs::write(
        &cfg,
        "output = \"r.h5\"\nbase_seed = 424242\nbatch_size = 2\n[record]\nevery_k_steps = 2\n\
         [[cell]]\nname = \"example\"\ncell_param = \"model/cell.param\"\n\
         network_param = \"model/network.param\"\ntrials = 5\nt_stop_ms = 60.0\n",
    )
    .unwrap();
    let log = tmp.path().join("trials.txt");
    let seen = Arc::new(AtomicU64::new(0));
    let batches = Arc::new(Mutex::new(Vec::new()));
    let factory = {
        let (log, seen, batches) = (log.clone(), seen.clone(), batches.clone());
        SinkFactory(Arc::new(move |inputs: &SinkInputs<'_>| {
            assert_eq!(inputs.layout.n_trials, 5);
            Ok(Box::new(TrialLog {
                path: log.clone(),
                seen: seen.clone(),
                pending: Mutex::new(Vec::new()),
                batches: batches.clone(),
            }) as Box<dyn ResultSink>)
        }))
    };
    let opts = RunOptions {
        threads: Some(2),
        extra_sinks: vec![factory],
        ..Default::default()
    };
    let s = run_config(&cfg, &opts, &SerialCommunicator).unwrap();
    assert_eq!((s.trials_run, s.trials_total), (5, 5));
    assert_eq!(seen.load(Ordering::SeqCst), 5);
    assert_eq!(*batches.lock().unwrap(), [0, 1, 2]);
    let text = std::fs::read_to_string(&log).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 6, "{text}");
    for (i, l) in lines[..5].iter().enumerate() {
        assert!(l.starts_with(&format!("trial {i} cell 0 seed ")), "{text}");
    }
    assert_eq!(lines[5], "end 5");
    // The results file is written as without the extra sink: its spike counts are the log's.
    let f = hdf5::File::open(tmp.path().join("r.h5")).unwrap();
    let spikes: Vec<u64> = f
        .dataset("trials/n_soma_spikes")
        .unwrap()
        .read_raw()
        .unwrap();
    for (l, n) in lines.iter().zip(&spikes) {
        assert!(l.ends_with(&format!(" spikes {n}")), "{l} vs {n}");
    }
    drop(f);

    // The extra sink's check runs with the others: a new run refuses its existing output.
    let e = run_config(
        &cfg,
        &RunOptions {
            overwrite: true,
            ..opts.clone()
        },
        &SerialCommunicator,
    );
    assert!(
        e.is_ok(),
        "--overwrite lets the sink replace its log: {e:?}"
    );
    std::fs::remove_file(tmp.path().join("r.h5")).unwrap();
    let e = run_config(&cfg, &opts, &SerialCommunicator)
        .unwrap_err()
        .to_string();
    assert!(e.contains("trials.txt") && e.contains("exists"), "{e}");
    assert!(
        !tmp.path().join("r.h5").exists(),
        "refused before anything is written"
    );

    // Resuming the complete run simulates nothing and the sink commits nothing.
    std::fs::remove_file(&log).unwrap();
    seen.store(0, Ordering::SeqCst);
    run_config(&cfg, &opts, &SerialCommunicator).unwrap();
    batches.lock().unwrap().clear();
    seen.store(0, Ordering::SeqCst);
    let r = run_config(
        &cfg,
        &RunOptions {
            resume: true,
            ..opts.clone()
        },
        &SerialCommunicator,
    )
    .unwrap();
    assert_eq!((r.trials_run, r.batches_skipped), (0, 3));
    assert!(batches.lock().unwrap().is_empty());
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(text.ends_with("end 5\nend 0\n"), "{text}");
}
