//! Compiled mechanisms in a network run (issue 18): the example cell 86 with NaTs2_t and
//! CaDynamics_E2_v2, and a network whose receptors are ISF's random-release synapses
//! ProbAMPANMDA2 (excitatory) and ProbUDFsyn2 (inhibitory) with `releaseProb: "dynamic"`, all
//! compiled from the users' `.mod` files, run through `isf simulate --config`: the results do not
//! depend on the number of MPI ranks, the synapses release a fraction of their events (each
//! with its own `Random(seed)` stream drawn from the trial's seed) and the cell depolarises.
//! Unresolved receptor parameters and replays without seeds are refused naming file, line, key.
#![cfg_attr(not(feature = "mpi"), allow(dead_code, unused_imports))]

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::common;

use common::process::{check, has_mpirun, isf, simulate_under_mpirun};
use isf::testing::shared_path;
use serde_json::{json, Value};

/// The `.mod` files compiled into the run's catalogue (under `nmodl/isf-library/channels_py3`).
const MODS: &[&str] = &[
    "NaTs2_t.mod",
    "CaDynamics_E2_v2.mod",
    "ProbAMPANMDA2.mod",
    "ProbUDFsyn2.mod",
];

/// Stop time of the test trials, ms.
const T_STOP_MS: f64 = 150.0;

/// The example network param with every `glutamate_syn` receptor replaced by ProbAMPANMDA2 and
/// every `gaba_syn` by ProbUDFsyn2, with the parameters and weights of ISF's ongoing-activity
/// template for these synapses and `releaseProb: "dynamic"`; synapse files made absolute.
/// `tweak` edits the excitatory populations' `receptors` (bad-input cases).
fn prob_network(dir: &Path, name: &str, tweak: impl Fn(&mut Value)) -> Option<PathBuf> {
    let example = shared_path("isf-example/network.param")?;
    let base = example.parent().unwrap();
    let file = isf::param::ParamFile::read(&example).unwrap();
    let mut root: Value = serde_json::from_str(&file.to_json_pretty()).unwrap();
    let (mut exc, mut inh) = (0, 0);
    for (_, pop) in root["network"].as_object_mut().unwrap() {
        let Some(syn) = pop.get_mut("synapses") else {
            continue;
        };
        for key in ["distributionFile", "connectionFile"] {
            let rel = syn[key].as_str().unwrap().to_string();
            syn[key] = json!(base.join(rel).display().to_string());
        }
        let receptors = syn["receptors"].as_object().unwrap();
        let mut prob = if receptors.contains_key("glutamate_syn") {
            exc += 1;
            json!({"ProbAMPANMDA2": {
                "threshold": 0.0, "delay": 0.0, "weight": 1.5,
                "parameter": {"tau_r_AMPA": 0.1, "tau_d_AMPA": 2.0, "tau_r_NMDA": 2.0,
                              "tau_d_NMDA": 26.0, "e": 0.0, "Dep": 800.0, "Fac": 0.0,
                              "Use": 0.6, "u0": 0.0}}})
        } else {
            assert!(receptors.contains_key("gaba_syn"), "{receptors:?}");
            inh += 1;
            json!({"ProbUDFsyn2": {
                "threshold": 0.0, "delay": 0.0, "weight": 1.0,
                "parameter": {"tau_r": 1.0, "tau_d": 20.0, "e": -80.0, "Dep": 800.0,
                              "Fac": 0.0, "Use": 0.25, "u0": 0.0}}})
        };
        if prob.get("ProbAMPANMDA2").is_some() {
            tweak(&mut prob);
        }
        syn["receptors"] = prob;
        syn["releaseProb"] = json!("dynamic");
    }
    assert!(
        exc > 0 && inh > 0,
        "{exc} excitatory, {inh} inhibitory populations"
    );
    let out = dir.join(name);
    std::fs::write(&out, serde_json::to_string_pretty(&root).unwrap()).unwrap();
    Some(out)
}

/// The catalogue of [`MODS`] (`dir/lib.cat`), the cell param and the network param, or None.
fn setup(dir: &Path) -> Option<(PathBuf, PathBuf)> {
    let lib = shared_path("nmodl/isf-library/channels_py3")?;
    let cell = common::compiled_cell_param(dir)?;
    let network = prob_network(dir, "prob_network.param", |_| {})?;
    check(
        isf(dir)
            .args(["mech", "build"])
            .args(MODS.iter().map(|m| lib.join(m)))
            .args(["--out", "lib.cat"])
            .output()
            .unwrap(),
        "mech build",
    );
    Some((cell, network))
}

/// A run config of 2 trials of `cell` in `network` writing `output`, loading `lib.cat`.
fn config(dir: &Path, cell: &Path, network: &Path, output: &str) -> PathBuf {
    let path = dir.join(format!("{output}.toml"));
    std::fs::write(
        &path,
        format!(
            "output = \"{output}\"\nbase_seed = 20261207\nbatch_size = 1\n\
             mechanisms = [\"lib.cat\"]\n\
             [[cell]]\nname = \"c86\"\ncell_param = \"{}\"\nnetwork_param = \"{}\"\n\
             trials = 2\nt_stop_ms = {T_STOP_MS}\n",
            cell.display(),
            network.display()
        ),
    )
    .unwrap();
    path
}

/// Largest soma voltage of every trial in a results file, mV.
fn soma_max(results: &Path) -> Vec<f64> {
    let out = check(
        Command::new("python3")
            .arg("-c")
            .arg(
                "import h5py,sys; v=h5py.File(sys.argv[1])['cells/c86/soma_vm'][()]; \
                  print(' '.join(repr(float(x)) for x in v.max(axis=1)))",
            )
            .arg(results)
            .output()
            .unwrap(),
        "h5py soma_vm",
    );
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .map(|x| x.parse().unwrap())
        .collect()
}

#[cfg(feature = "mpi")]
#[test]
fn compiled_cell_and_random_release_network_under_mpi() {
    let d = tempfile::tempdir().unwrap();
    let dir = d.path();
    let Some((cell, network)) = setup(dir) else {
        eprintln!("skipped: isf-example or nmodl/ absent");
        return;
    };
    if !has_mpirun() {
        eprintln!("skipped: mpirun absent");
        return;
    }
    let mut files = Vec::new();
    for np in [1u32, 2] {
        let name = format!("np{np}.h5");
        let cfg = config(dir, &cell, &network, &name);
        simulate_under_mpirun(dir, np, &cfg);
        files.push(dir.join(name));
    }
    crate::run_spmd::h5diff_same(&files[0], &files[1]);
    crate::run_spmd::py_same(&files[0], &files[1]);
    // The cell's resting potential is about -75 mV; the synapses move it well above.
    let vmax = soma_max(&files[0]);
    println!("soma maximum per trial: {vmax:?} mV");
    assert_eq!(vmax.len(), 2);
    assert!(vmax.iter().all(|&v| v > -65.0), "{vmax:?}");
}

/// One trial of the run config's first cell simulated in this process, recording the rise
/// state (`B_AMPA`, `B`) of every random-release synapse: a step where it grows is a release.
#[test]
fn random_release_synapses_release_a_fraction_of_their_events() {
    let d = tempfile::tempdir().unwrap();
    let dir = d.path();
    let Some((cell, network)) = setup(dir) else {
        eprintln!("skipped: isf-example or nmodl/ absent");
        return;
    };
    isf::mechanisms::catalogue_file::load(&isf::mechanisms::catalogue_file::LoadRequest {
        catalogues: vec![dir.join("lib.cat")],
        replace_builtins: Vec::new(),
    })
    .unwrap();
    let mut recipe = isf::recipe::Recipe::in_network(&cell, &network);
    recipe.tstop_ms = Some(T_STOP_MS);
    let built = recipe.build().unwrap();
    let (seed, _) = isf::run::seeds::trial_seed(20261207, 0, 0, 1);
    let mut rng = isf::network::RandomState::new(seed as u32);
    let drawn = built
        .draw(&mut rng, &mut isf::network::TrialScratch::default())
        .unwrap();
    assert!(drawn.synapses.iter().all(|s| s.rng_seed.is_some()));
    let inputs = isf::trial::SynapseInputs::from_network(built.network().unwrap(), &drawn);
    let mut columns = Vec::new();
    let mut sim = built
        .sim
        .build_with(&inputs, |b, r, h| {
            let variable = match r.mechanism.as_str() {
                "ProbAMPANMDA2" => "B_AMPA",
                "ProbUDFsyn2" => "B",
                other => panic!("receptor {other}"),
            };
            let c = b.record(isf::solver::Probe::Point {
                handle: h,
                variable: variable.into(),
            });
            columns.push((r.mechanism.clone(), c));
        })
        .unwrap();
    let traces = sim.run_until(T_STOP_MS);
    let events = inputs.release_count();
    let mut released = [0usize; 2];
    for (mech, c) in &columns {
        let rises = traces.columns[*c]
            .windows(2)
            .filter(|w| w[1] > w[0])
            .count();
        released[usize::from(mech == "ProbUDFsyn2")] += rises;
    }
    let total = released[0] + released[1];
    println!(
        "{} synapses, {events} events: {} ProbAMPANMDA2 and {} ProbUDFsyn2 releases ({:.1} %)",
        inputs.synapses.len(),
        released[0],
        released[1],
        100.0 * total as f64 / events as f64
    );
    assert!(events > 100, "{events} events");
    // Use 0.6 and 0.25 with depression: far from none and from all.
    assert!(released[0] > 0 && released[1] > 0, "{released:?}");
    assert!(
        (total as f64) < 0.8 * events as f64,
        "{total} releases of {events} events"
    );
    let soma = &traces.columns[0];
    let vmax = soma.iter().copied().fold(f64::MIN, f64::max);
    println!("soma maximum {vmax} mV");
    assert!(vmax > -65.0, "{vmax}");
}

#[test]
fn unresolved_receptor_parameter_and_replay_without_seeds_are_refused() {
    let d = tempfile::tempdir().unwrap();
    let dir = d.path();
    let Some((cell, network)) = setup(dir) else {
        eprintln!("skipped: isf-example or nmodl/ absent");
        return;
    };
    let bad = prob_network(dir, "bad.param", |r| {
        r["ProbAMPANMDA2"]["parameter"]["tau_d_AMPAX"] = json!(2.0);
    })
    .unwrap();
    let cfg = config(dir, &cell, &bad, "bad.h5");
    let e = simulate_refused(dir, &cfg);
    assert!(
        e.contains("bad.param:") && e.contains("tau_d_AMPAX") && e.contains("receptors"),
        "{e}"
    );
    // "dynamic" release with a receptor that takes no Random.
    let no_rng = prob_network(dir, "no_rng.param", |r| {
        *r = json!({"glutamate_syn": {"threshold": 0.0, "delay": 0.0, "weight": [1.0, 1.0],
                                      "parameter": {}}});
    })
    .unwrap();
    let cfg = config(dir, &cell, &no_rng, "no_rng.h5");
    let e = simulate_refused(dir, &cfg);
    assert!(
        e.contains("no_rng.param:")
            && e.contains("synapses.receptors.glutamate_syn")
            && e.contains("`glutamate_syn` has no random stream"),
        "{e}"
    );
    // A replay has release times but not the seeds of the synapses' Random streams.
    std::fs::write(
        dir.join("syn.csv"),
        "# synapse type\tsynapse ID\tsoma distance\tsection ID\tsection pt ID\t\
         dendrite label\tactivation times\nL34_D1\t0\t100.0\t1\t0\tBasalDendrite\t10.0,\n",
    )
    .unwrap();
    let o = isf(dir)
        .arg("replay")
        .args([&cell, &network, &dir.join("syn.csv")])
        .args(["--out", "replayed", "--mechanisms", "lib.cat"])
        .output()
        .unwrap();
    assert!(!o.status.success());
    let e = String::from_utf8_lossy(&o.stderr);
    println!("{e}");
    assert!(
        e.contains("prob_network.param:")
            && e.contains("network.L34_D1.synapses.releaseProb")
            && e.contains("seed"),
        "{e}"
    );
}

/// Runs `isf simulate --config CONFIG` in `dir`, expecting it to fail; its error output.
fn simulate_refused(dir: &Path, config: &Path) -> String {
    let o = isf(dir)
        .args(["simulate", "--no-progress", "--config"])
        .arg(config)
        .output()
        .unwrap();
    assert!(
        !o.status.success(),
        "isf simulate --config {} succeeded",
        config.display()
    );
    let e = String::from_utf8_lossy(&o.stderr).into_owned();
    println!("{e}");
    e
}
