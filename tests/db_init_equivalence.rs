//! Issue 6's equivalence criterion: for a few hundred trials of the embedded example run by
//! `isf simulate --config` (2 MPI ranks when the MPI build and `mpirun` are available, else
//! serial), `isf db init RESULTS.h5` and `isf db init-isf` on the run's ISF-format export
//! (`isf_folder`) build equal databases, key by key. The trial ids differ only in the folder part,
//! by design: `init-isf` follows ISF's rule (the trial folder relative to the root, here
//! `<cell>/results/<YYYYmmdd-HHMM>_seed<S>_pid<P>`), `init` names the cell; they are mapped onto
//! each other before comparing, and the rows must be in the same order.
//!
//! Trials are shortened to 50 ms (the example's default is 345 ms, about 1 s of CPU per trial) so
//! that 200 trials stay within seconds on 2 cores; 50 ms still spans the stimulus onset, so some
//! trials spike (checked). Traces compare exactly by design: the export writes the f32 values the
//! results file stores, as the f64 of that f32 (see `isf::output::isf_export`). What legitimately
//! differs and is not compared: key creation times, descriptions and source paths/hashes
//! (`simresult_path`, `filelist`, the `sources` of each key and the file-name columns of
//! `metadata`), since one database names a results file and the other CSV files.

use std::collections::BTreeMap;
use std::path::Path;

use isf_post::db::{
    key, Activations, Column, Database, KeyMeta, SpikeTimes, Strings, Table, Traces,
};

mod common;

use common::process::{check, isf};
#[cfg(feature = "mpi")]
use common::process::{has_mpirun, mpirun, ISF};
const TRIALS: usize = 200;

/// `isf simulate --config cfg` on 2 ranks if possible.
fn simulate(dir: &Path, cfg: &Path) {
    #[cfg(feature = "mpi")]
    {
        if has_mpirun() {
            let out = mpirun(dir, 2, ISF)
                .args(["simulate", "--config"])
                .arg(cfg)
                .env("RAYON_NUM_THREADS", "1")
                .output()
                .unwrap();
            check(out, "mpirun -np 2 isf simulate --config");
            return;
        }
        eprintln!("mpirun not found: running the equivalence test serially");
    }
    check(
        isf(dir)
            .args(["simulate", "--config"])
            .arg(cfg)
            .output()
            .unwrap(),
        "isf simulate --config",
    );
}

/// The metadata that must agree: all but creation time, description and sources.
fn comparable(m: &KeyMeta) -> (String, String, Option<String>, String) {
    (
        m.kind.clone(),
        m.isf_version.clone(),
        m.git_commit.clone(),
        serde_json::to_string(&m.parameters).unwrap(),
    )
}

/// Every file of a managed folder: relative name → bytes.
fn folder_files(db: &Database, k: &str) -> BTreeMap<String, Vec<u8>> {
    let dir = db.managed_folder(k).unwrap();
    std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            (
                e.file_name().to_string_lossy().into_owned(),
                std::fs::read(e.path()).unwrap(),
            )
        })
        .collect()
}

/// `<cell>/results/<folder>/<NNNNNN>` (init-isf) → `<cell>/<NNNNNN>` (init); `<cell>/results/<folder>`
/// (the `path` column) → `<cell>`. Anything else is returned unchanged (and then differs).
fn isf_id_to_results_id(id: &str) -> String {
    let parts: Vec<&str> = id.split('/').collect();
    match parts.as_slice() {
        [cell, "results", _, n] => format!("{cell}/{n}"),
        [cell, "results", _] => cell.to_string(),
        _ => id.to_string(),
    }
}

fn map_ids(v: &[String]) -> Vec<String> {
    v.iter().map(|s| isf_id_to_results_id(s)).collect()
}

fn map_table(mut t: Table) -> Table {
    for (name, c) in &mut t.columns {
        if let (true, Column::Str(v)) = (name == "sim_trial_index" || name == "path", &mut *c) {
            *v = map_ids(v);
        }
    }
    t
}

/// Compares two databases key by key; returns the keys whose values differ (empty = equal).
/// `b` is the database of the ISF-format export, whose trial ids are mapped onto `a`'s.
fn differing_keys(a: &Database, b: &Database) -> Vec<String> {
    let ka = a.keys_recursive().unwrap();
    let kb = b.keys_recursive().unwrap();
    let names =
        |k: &[(Vec<String>, KeyMeta)]| k.iter().map(|(p, _)| p.join("/")).collect::<Vec<_>>();
    assert_eq!(names(&ka), names(&kb), "key sets differ");
    let mut differ = Vec::new();
    for ((path, ma), (_, mb)) in ka.iter().zip(&kb) {
        let name = path.join("/");
        assert_eq!(comparable(ma), comparable(mb), "metadata of `{name}`");
        let same = match (name.as_str(), ma.kind.as_str()) {
            // Source paths: a results file on one side, CSV files on the other.
            ("simresult_path" | "filelist", _) => true,
            ("metadata", _) => {
                let (ta, tb) = (
                    a.get::<Table>(path).unwrap(),
                    map_table(b.get::<Table>(path).unwrap()),
                );
                ["sim_trial_index", "path", "trialnr"]
                    .iter()
                    .all(|c| ta.column(c).is_some() && ta.column(c) == tb.column(c))
            }
            (_, "strings") => {
                let mut sb = b.get::<Strings>(path).unwrap();
                if name == "sim_trial_index" {
                    sb.values = map_ids(&sb.values);
                }
                a.get::<Strings>(path).unwrap() == sb
            }
            (_, "table") => {
                a.get::<Table>(path).unwrap() == map_table(b.get::<Table>(path).unwrap())
            }
            (_, "voltage_traces") => {
                let mut tb = b.get::<Traces>(path).unwrap();
                tb.trial_ids = map_ids(&tb.trial_ids);
                a.get::<Traces>(path).unwrap() == tb
            }
            (_, "spike_times") => {
                let mut sb = b.get::<SpikeTimes>(path).unwrap();
                sb.trial_ids = map_ids(&sb.trial_ids);
                a.get::<SpikeTimes>(path).unwrap() == sb
            }
            (_, "activations") => {
                let mut ab = b.get::<Activations>(path).unwrap();
                ab.trial_ids = map_ids(&ab.trial_ids);
                a.get::<Activations>(path).unwrap() == ab
            }
            (_, "sub_db") => true, // its keys follow in the list
            (_, "managed_folder") => folder_files(a, &name) == folder_files(b, &name),
            (_, kind) => panic!("key `{name}`: kind `{kind}` is not compared by this test"),
        };
        if !same {
            differ.push(name);
        }
    }
    differ
}

#[test]
fn db_init_and_db_init_isf_give_equal_databases_for_200_trials() {
    let t0 = std::time::Instant::now();
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    check(
        isf(dir).args(["example", "example"]).output().unwrap(),
        "isf example",
    );
    let cfg = dir.join("run.toml");
    std::fs::write(
        &cfg,
        format!(
            "output = \"results.h5\"\nisf_folder = \"isf\"\nbase_seed = 6006\nbatch_size = 20\n\
             [[cell]]\nname = \"example\"\ncell_param = \"example/cell.param\"\n\
             network_param = \"example/network.param\"\ntrials = {TRIALS}\nt_stop_ms = 50.0\n"
        ),
    )
    .unwrap();
    simulate(dir, &cfg);
    let t_sim = t0.elapsed().as_secs_f64();
    // The export is complete: no staging folder is left.
    let names: Vec<String> = std::fs::read_dir(dir.join("isf"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names, vec!["example"]);

    check(
        isf(dir)
            .args(["db", "init", "results.h5", "from_results.db"])
            .output()
            .unwrap(),
        "isf db init",
    );
    check(
        isf(dir)
            .args(["db", "init-isf", "isf", "from_isf.db"])
            .output()
            .unwrap(),
        "isf db init-isf",
    );
    let a = Database::open(&dir.join("from_results.db")).unwrap();
    let b = Database::open(&dir.join("from_isf.db")).unwrap();

    // Non-trivial content: every trial, some spikes, many activations with real positions.
    let ids = a.get::<Strings>(&key(&["sim_trial_index"])).unwrap().values;
    assert_eq!(ids.len(), TRIALS);
    assert_eq!(
        (ids[0].as_str(), ids[199].as_str()),
        ("example/000000", "example/000199")
    );
    let st = a.get::<SpikeTimes>(&key(&["spike_times"])).unwrap();
    let n_spikes: usize = (0..TRIALS).map(|i| st.row(i).len()).sum();
    let spiking = (0..TRIALS).filter(|&i| !st.row(i).is_empty()).count();
    assert!(
        spiking > 0 && spiking < TRIALS,
        "{spiking} of {TRIALS} trials spike"
    );
    let sa = a.get::<Activations>(&key(&["synapse_activation"])).unwrap();
    assert!(sa.n_rows() > 10 * TRIALS, "{} activation rows", sa.n_rows());
    assert!(sa
        .soma_distance_um
        .iter()
        .all(|d| d.is_finite() && *d >= 0.0));
    assert!(sa.section_id.iter().all(|&s| s >= 0));
    assert!(!sa.labels.is_empty() && !sa.labels.iter().any(|l| l == "unknown"));
    let ca = a.get::<Activations>(&key(&["cell_activation"])).unwrap();
    assert!(ca.n_rows() > 0);
    assert!(a.contains("dendritic_recordings") && a.contains("parameterfiles"));
    let n_keys = a.keys_recursive().unwrap().len();

    let differ = differing_keys(&a, &b);
    assert!(differ.is_empty(), "keys differ: {differ:?}");

    // The comparison detects a change: perturb one soma distance (last digit) and one voltage
    // sample in the ISF folder and import again.
    let folder = std::fs::read_dir(dir.join("isf/example/results"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .next()
        .unwrap();
    let uid = {
        let name = folder.file_name().unwrap().to_string_lossy().into_owned();
        name.split('_').skip(1).collect::<Vec<_>>().join("_")
    };
    // The ISF ids are ISF's: the trial folder relative to the root, then the trial number.
    let isf_ids = b.get::<Strings>(&key(&["sim_trial_index"])).unwrap().values;
    assert_eq!(
        isf_ids[3],
        format!(
            "example/results/{}/000003",
            folder.file_name().unwrap().to_string_lossy()
        )
    );
    let perturb = |file: &str, line: usize, field: usize, by: f64| {
        let p = folder.join(file);
        let text = std::fs::read_to_string(&p).unwrap();
        let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
        let mut fields: Vec<String> = lines[line].split('\t').map(str::to_string).collect();
        fields[field] = format!("{}", fields[field].parse::<f64>().unwrap() + by);
        lines[line] = fields.join("\t");
        std::fs::write(&p, lines.join("\n") + "\n").unwrap();
    };
    perturb("simulation_run0007_synapses.csv", 1, 2, 1e-9);
    perturb(&format!("{uid}_vm_all_traces.csv"), 100, 3, 1e-6);
    check(
        isf(dir)
            .args(["db", "init-isf", "isf", "perturbed.db"])
            .output()
            .unwrap(),
        "isf db init-isf (perturbed)",
    );
    let c = Database::open(&dir.join("perturbed.db")).unwrap();
    assert_eq!(
        differing_keys(&a, &c),
        vec!["synapse_activation", "voltage_traces"]
    );
    eprintln!(
        "{TRIALS} trials, {n_spikes} soma spikes in {spiking} trials, {} synapse activation rows, \
         {n_keys} keys compared; simulate {t_sim:.1} s, total {:.1} s",
        sa.n_rows(),
        t0.elapsed().as_secs_f64()
    );
}
