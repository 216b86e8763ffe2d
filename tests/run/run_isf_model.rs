//! The run layer's isf model: a trial (seed, sweep) equals sweep `sweep` of the ISF task with that
//! seed (`isf simulate CELL NETWORK --seed S --sweeps N`), on the embedded example.

use isf::example_model::{ExampleModel, DEFAULT_SEED};
use isf::mechanisms::Numerics;
use isf::output::isf_export::isf_rows;
use isf::output::isf_files::{read_presynaptic_cells_file, read_synapse_activation_file};
use isf::output::TraceTable;
use isf::run::build_model;
use isf::run::config::{CellConfig, ModelKind, RecordConfig, SegmentConfig, TrialSpec};
use isf::run::isf_task::{run_isf_task, IsfTask};

#[test]
fn trial_equals_task_sweep() {
    let tmp = tempfile::tempdir().unwrap();
    let ex = tmp.path().join("ex");
    ExampleModel::generate(DEFAULT_SEED)
        .write(&ex, false)
        .unwrap();
    let (seed, tstop) = (5u32, 40.0);

    let out = tmp.path().join("task");
    run_isf_task(&IsfTask {
        cell: ex.join("cell.param"),
        network: ex.join("network.param"),
        seed,
        sweeps: 2,
        tstop_ms: Some(tstop),
        dt_ms: None,
        numerics: Default::default(),
        out: out.clone(),
        prefix: Some("task".into()),
    })
    .unwrap();

    let cell = CellConfig {
        index: 0,
        name: "ex".into(),
        cell_param: ex.join("cell.param"),
        network_param: ex.join("network.param"),
        embedding: None,
        trials: 2,
        sweeps_per_seed: 2,
        t_stop_ms: Some(tstop),
        dt_ms: None,
        numerics: Numerics::Fast,
        model: ModelKind::Isf,
    };
    let record = RecordConfig {
        segments: vec![SegmentConfig { section: 0, x: 0.5 }],
        ..RecordConfig::default()
    };
    let model = build_model(&cell, &record).unwrap();
    let desc = model.description().clone();
    assert_eq!(desc.site_labels.last().unwrap(), "segment_sec_000_x_0.500");
    let spec = |sweep: u32| TrialSpec {
        trial_id: sweep as u64,
        cell_id: 0,
        trial_in_cell: sweep as u64,
        seed: seed as u64,
        sweep,
    };
    // Sweep 1 first (redrawn from the seed), then sweep 0 (a fresh stream).
    for sweep in [1u32, 0] {
        let r = model.run_trial(&spec(sweep)).unwrap();
        assert_eq!(r.t_ms.len(), desc.n_samples);
        assert_eq!(r.site_vm_mv.len(), desc.site_labels.len());
        // The soma is section 0's only segment: the extra segment records the soma trace.
        assert_eq!(r.site_vm_mv.last().unwrap(), &r.soma_vm_mv);
        let traces = TraceTable::read(&out.join("task_vm_all_traces.csv")).unwrap();
        assert_eq!(r.t_ms, traces.t_ms());
        assert_eq!(r.soma_vm_mv, traces.runs_mv()[sweep as usize]);
        let rows = read_synapse_activation_file(
            &out.join(format!("simulation_run{sweep:04}_synapses.csv")),
        )
        .unwrap();
        let n_releases: usize = rows.iter().map(|r| r.times_ms.len()).sum();
        assert_eq!(r.synapse_activations.len(), rows.len());
        let got: usize = r.synapse_activations.iter().map(|a| a.times_ms.len()).sum();
        assert_eq!(got, n_releases);
        // The run layer's ISF-format export rows (result + the cell's synapse table) equal the
        // task's file row for row: positions, labels and release times.
        let positions = desc.synapse_positions.as_ref().unwrap();
        let (syn, pre) = isf_rows(&r, &desc.population_names, positions).unwrap();
        assert_eq!(syn, rows);
        let pre_file = read_presynaptic_cells_file(
            &out.join(format!("simulation_run{sweep:04}_presynaptic_cells.csv")),
        )
        .unwrap();
        assert_eq!(pre, pre_file);
    }
    // The parameter copies the results file stores are the task's copies, byte for byte.
    for (name, bytes) in &desc.parameter_files {
        assert_eq!(
            &std::fs::read(out.join(format!("task_{name}"))).unwrap(),
            bytes,
            "{name}"
        );
    }
    assert_eq!(desc.parameter_files.len(), 2);
}

/// A recipe's probes are checked against the cell, for a cell in its network and for the cell
/// alone (the path of `isf cell-info` and `isf protocol`) alike.
#[test]
fn recipe_probes_are_checked_against_the_cell() {
    use isf::recipe::{Probes, Recipe};
    let tmp = tempfile::tempdir().unwrap();
    let ex = tmp.path().join("ex");
    ExampleModel::generate(DEFAULT_SEED)
        .write(&ex, false)
        .unwrap();
    let probes = |section, x| Probes {
        param_sites: false,
        segments: vec![(section, x)],
        all_segments: false,
    };
    let in_network = |section, x| Recipe {
        probes: probes(section, x),
        tstop_ms: Some(10.0),
        ..Recipe::in_network(ex.join("cell.param"), ex.join("network.param"))
    };
    let e = format!("{:#}", in_network(100_000, 0.5).build().unwrap_err());
    assert!(
        e.contains("recorded segment on section 100000 but the cell has"),
        "{e}"
    );
    let e = format!("{:#}", in_network(0, 1.5).build().unwrap_err());
    assert!(
        e.contains("recorded segment x = 1.5 is outside [0, 1]"),
        "{e}"
    );

    let built = in_network(0, 0.5).build().unwrap();
    assert_eq!(built.sim.site_labels(), ["segment_sec_000_x_0.500"]);
    let alone = Recipe {
        probes: probes(0, 0.5),
        ..Recipe::cell_only(ex.join("cell.param"))
    };
    let (_, template) = alone.read_cell().unwrap();
    assert_eq!(template.recording_sites, built.sim.template.recording_sites);
    // Only the recipe with a network has a synapse table and a network parameter copy.
    assert!(
        built.synapse_positions().is_some() && alone.build().unwrap().synapse_positions().is_none()
    );
    assert_eq!(built.parameter_files().len(), 2);
}
