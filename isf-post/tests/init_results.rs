//! `init_results` (SPMD results file, README "Results file" layout) and `init_isf` give the same
//! database for the same trials; uncommitted rows are ignored; bad files give clear errors.

use hdf5::types::VarLenUnicode;
use isf_post::db::{key, Activations, Database, SpikeTimes, Strings, Traces};
use isf_post::import::{init_isf, init_results, ImportOptions};
use std::path::Path;

const NT: usize = 21;

fn t_ms() -> Vec<f64> {
    (0..NT).map(|i| i as f64 * 0.5).collect()
}

/// Voltage of trial `k` at sample `i`: f32-exact values; trial 1 crosses 0 mV at samples 5 and 15,
/// the site trace crosses −30 mV once for every trial.
fn soma(k: usize, i: usize) -> f64 {
    if k == 1 && (i == 5 || i == 15) {
        10.5
    } else {
        -70.0 + k as f64 * 0.25 + (i % 3) as f64 * 0.5
    }
}
fn site(k: usize, i: usize) -> f64 {
    if i == 8 + k {
        -20.0
    } else {
        -60.0 - k as f64
    }
}

/// (population, id, extra columns for the ISF file, times) per trial.
type Row = (&'static str, u32, &'static str, Vec<f64>);
fn synapse_rows() -> Vec<Vec<Row>> {
    vec![
        vec![
            ("L1_C2", 3, "100.5\t10\t2\tApicalDendrite", vec![1.5]),
            ("L5tt_C2", 0, "20.25\t3\t0\tDendrite", vec![2.25, 7.0]),
        ],
        vec![("L5tt_C2", 4, "30.5\t4\t1\tDendrite", vec![3.0])],
        vec![],
    ]
}
fn cell_rows() -> Vec<Vec<Row>> {
    vec![
        vec![("L1_C2", 0, "", vec![0.5, 4.0])],
        vec![("L1_C2", 1, "", vec![9.0]), ("VPM_C2", 2, "", vec![1.0])],
        vec![("VPM_C2", 0, "", vec![2.0])],
    ]
}

fn write_isf_folder(dir: &Path) {
    std::fs::create_dir_all(dir).unwrap();
    let trace = |f: &dyn Fn(usize, usize) -> f64| {
        let mut s = String::from("t\tVm run 00\tVm run 01\tVm run 02\n");
        for (i, t) in t_ms().iter().enumerate() {
            s += &format!("{t:?}\t{:?}\t{:?}\t{:?}\n", f(0, i), f(1, i), f(2, i));
        }
        s
    };
    std::fs::write(dir.join("seed1_pid1_vm_all_traces.csv"), trace(&soma)).unwrap();
    std::fs::write(
        dir.join("seed1_pid1_siteX_vm_dend_traces.csv"),
        trace(&site),
    )
    .unwrap();
    let times = |v: &[f64]| v.iter().map(|t| format!("{t:?},")).collect::<String>();
    for (k, rows) in synapse_rows().iter().enumerate() {
        let mut s = String::from("# synapse type\tsynapse ID\tsoma distance\tsection ID\tsection pt ID\tdendrite label\tactivation times\n");
        for (p, id, extra, t) in rows {
            s += &format!("{p}\t{id}\t{extra}\t{}\n", times(t));
        }
        std::fs::write(dir.join(format!("simulation_run{k:04}_synapses.csv")), s).unwrap();
    }
    for (k, rows) in cell_rows().iter().enumerate() {
        let mut s = String::from("# presynaptic cell type\tcell ID\tspike times\n");
        for (p, id, _, t) in rows {
            s += &format!("{p}\t{id}\t{}\n", times(t));
        }
        std::fs::write(
            dir.join(format!("simulation_run{k:04}_presynaptic_cells.csv")),
            s,
        )
        .unwrap();
    }
}

fn strs(v: &[&str]) -> Vec<VarLenUnicode> {
    v.iter().map(|s| s.parse().unwrap()).collect()
}

/// Writes the same trials as a results file. Rows are deliberately unsorted, and one extra
/// (uncommitted) trace row and activation row lie beyond `commit_state`.
fn write_results(path: &Path) {
    let f = hdf5::File::create(path).unwrap();
    f.new_attr::<VarLenUnicode>()
        .create("format")
        .unwrap()
        .write_scalar(&"isf-results".parse::<VarLenUnicode>().unwrap())
        .unwrap();
    f.new_attr::<u32>()
        .create("format_version")
        .unwrap()
        .write_scalar(&1)
        .unwrap();
    let pops = ["VPM_C2", "L5tt_C2", "L1_C2"];
    let g = f
        .create_group("cells")
        .unwrap()
        .create_group("cellA")
        .unwrap();
    g.new_attr::<u32>()
        .create("cell_id")
        .unwrap()
        .write_scalar(&0)
        .unwrap();
    g.new_attr::<VarLenUnicode>()
        .shape(3)
        .create("population_names")
        .unwrap()
        .write(&strs(&pops))
        .unwrap();
    g.new_attr::<VarLenUnicode>()
        .shape(1)
        .create("site_labels")
        .unwrap()
        .write(&strs(&["siteX"]))
        .unwrap();
    g.new_dataset_builder()
        .with_data(&t_ms())
        .create("t_ms")
        .unwrap();
    let trace = |f: &dyn Fn(usize, usize) -> f64| {
        ndarray::Array2::from_shape_fn((4, NT), |(k, i)| if k < 3 { f(k, i) as f32 } else { 99.0 })
    };
    g.new_dataset_builder()
        .with_data(&trace(&soma))
        .create("soma_vm")
        .unwrap();
    g.create_group("sites")
        .unwrap()
        .new_dataset_builder()
        .with_data(&trace(&site))
        .create("siteX")
        .unwrap();
    let mut commit = vec![1u64, 3, 3];
    for (grp, id_name, rows) in [
        ("synapse_activations", "synapse_id", synapse_rows()),
        ("presynaptic_spikes", "cell_id", cell_rows()),
    ] {
        let (mut ts, mut tc, mut pop, mut ids, mut s0, mut sc, mut times) =
            (vec![], vec![], vec![], vec![], vec![], vec![], vec![]);
        for trial in &rows {
            ts.push(pop.len() as u64);
            tc.push(trial.len() as u64);
            for (p, id, _, t) in trial.iter().rev() {
                pop.push(pops.iter().position(|x| x == p).unwrap() as u32);
                ids.push(*id);
                s0.push(times.len() as u64);
                sc.push(t.len() as u64);
                times.extend(t);
            }
        }
        commit.push(pop.len() as u64);
        commit.push(times.len() as u64);
        // Uncommitted leftovers of a killed batch.
        pop.push(0);
        ids.push(77);
        s0.push(times.len() as u64);
        sc.push(1);
        times.push(123.0);
        let a = g.create_group(grp).unwrap();
        a.new_dataset_builder()
            .with_data(&ts)
            .create("trial_start")
            .unwrap();
        a.new_dataset_builder()
            .with_data(&tc)
            .create("trial_count")
            .unwrap();
        a.new_dataset_builder()
            .with_data(&pop)
            .create("population")
            .unwrap();
        a.new_dataset_builder()
            .with_data(&ids)
            .create(id_name)
            .unwrap();
        a.new_dataset_builder()
            .with_data(&s0)
            .create("times_start")
            .unwrap();
        a.new_dataset_builder()
            .with_data(&sc)
            .create("times_count")
            .unwrap();
        a.new_dataset_builder()
            .with_data(&times)
            .create("times_ms")
            .unwrap();
    }
    commit.push(2);
    f.new_attr::<u64>()
        .shape(commit.len())
        .create("commit_state")
        .unwrap()
        .write(&commit)
        .unwrap();
}

#[test]
fn both_importers_give_the_same_database() {
    let tmp = tempfile::tempdir().unwrap();
    write_isf_folder(&tmp.path().join("isf/cellA"));
    let rf = tmp.path().join("results.h5");
    write_results(&rf);
    let opts = ImportOptions::default();
    init_isf(&[tmp.path().join("isf")], &tmp.path().join("a.db"), &opts).unwrap();
    init_results(&rf, &tmp.path().join("b.db"), &opts).unwrap();
    let a = Database::open(&tmp.path().join("a.db")).unwrap();
    let b = Database::open(&tmp.path().join("b.db")).unwrap();

    let ids = |d: &Database| d.get::<Strings>(&key(&["sim_trial_index"])).unwrap().values;
    assert_eq!(
        ids(&a),
        vec!["cellA/000000", "cellA/000001", "cellA/000002"]
    );
    assert_eq!(ids(&a), ids(&b));
    for k in [
        key(&["voltage_traces"]),
        key(&["dendritic_recordings", "siteX"]),
    ] {
        assert_eq!(
            a.get::<Traces>(&k).unwrap(),
            b.get::<Traces>(&k).unwrap(),
            "{k:?}"
        );
    }
    for k in [
        key(&["spike_times"]),
        key(&["dendritic_spike_times", "siteX_-30.0"]),
    ] {
        assert_eq!(
            a.get::<SpikeTimes>(&k).unwrap(),
            b.get::<SpikeTimes>(&k).unwrap(),
            "{k:?}"
        );
    }
    let st = a.get::<SpikeTimes>(&key(&["spike_times"])).unwrap();
    assert_eq!((st.row(0), st.row(1)), (&[][..], &[2.5, 7.5][..]));
    assert_eq!(
        a.get::<Activations>(&key(&["cell_activation"])).unwrap(),
        b.get::<Activations>(&key(&["cell_activation"])).unwrap()
    );
    let (sa, sb) = (
        a.get::<Activations>(&key(&["synapse_activation"])).unwrap(),
        b.get::<Activations>(&key(&["synapse_activation"])).unwrap(),
    );
    // Everything but the synapse positions, which the results file does not carry.
    assert_eq!(sa.trial_ids, sb.trial_ids);
    assert_eq!(sa.trial_row_offsets, sb.trial_row_offsets);
    assert_eq!(sa.populations, sb.populations);
    assert_eq!(sa.population_ei, sb.population_ei);
    assert_eq!(sa.population_code, sb.population_code);
    assert_eq!(sa.id, sb.id);
    assert_eq!(sa.time_offsets, sb.time_offsets);
    assert_eq!(sa.times_ms, sb.times_ms);
    assert!(sb.soma_distance_um.iter().all(|d| d.is_nan()));
    assert_eq!(sa.soma_distance_um, vec![100.5, 20.25, 30.5]);
}

/// Adds a version-2 synapse table to cell `cellA` of `path`: (population code, id, distance µm,
/// section, point, label code) rows, labels `ApicalDendrite`, `Dendrite`.
fn add_synapse_table(path: &Path, rows: &[(u32, u32, f64, u32, u32, u32)]) {
    let f = hdf5::File::open_rw(path).unwrap();
    f.attr("format_version")
        .unwrap()
        .write_scalar(&2u32)
        .unwrap();
    let g = f
        .group("cells/cellA")
        .unwrap()
        .create_group("synapses")
        .unwrap();
    let col = |name: &str, v: Vec<u32>| {
        g.new_dataset_builder().with_data(&v).create(name).unwrap();
    };
    col("population", rows.iter().map(|r| r.0).collect());
    col("synapse_id", rows.iter().map(|r| r.1).collect());
    col("section_id", rows.iter().map(|r| r.3).collect());
    col("section_pt_id", rows.iter().map(|r| r.4).collect());
    col("dendrite_label", rows.iter().map(|r| r.5).collect());
    let d: Vec<f64> = rows.iter().map(|r| r.2).collect();
    g.new_dataset_builder()
        .with_data(&d)
        .create("soma_distance_um")
        .unwrap();
    g.new_attr::<VarLenUnicode>()
        .shape(2)
        .create("label_names")
        .unwrap()
        .write(&strs(&["ApicalDendrite", "Dendrite"]))
        .unwrap();
}

#[test]
fn synapse_table_gives_the_positions_of_the_isf_files() {
    let tmp = tempfile::tempdir().unwrap();
    write_isf_folder(&tmp.path().join("isf/cellA"));
    let rf = tmp.path().join("results.h5");
    write_results(&rf);
    // Population codes as in write_results: VPM_C2 0, L5tt_C2 1, L1_C2 2; an unused synapse too.
    let table = [
        (2, 3, 100.5, 10, 2, 0),
        (1, 0, 20.25, 3, 0, 1),
        (1, 4, 30.5, 4, 1, 1),
        (0, 9, 1.0, 1, 0, 1),
    ];
    add_synapse_table(&rf, &table);
    let opts = ImportOptions::default();
    init_isf(&[tmp.path().join("isf")], &tmp.path().join("a.db"), &opts).unwrap();
    init_results(&rf, &tmp.path().join("b.db"), &opts).unwrap();
    let get = |db: &str| {
        Database::open(&tmp.path().join(db))
            .unwrap()
            .get::<Activations>(&key(&["synapse_activation"]))
            .unwrap()
    };
    let (sa, sb) = (get("a.db"), get("b.db"));
    assert_eq!(sb.soma_distance_um, vec![100.5, 20.25, 30.5]);
    assert_eq!(sa, sb);

    // A table without an activated synapse is an error naming it; no database is left.
    let rf2 = tmp.path().join("results2.h5");
    write_results(&rf2);
    add_synapse_table(&rf2, &table[..2]);
    let err = init_results(&rf2, &tmp.path().join("c.db"), &opts)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("results2.h5")
            && err.contains("synapse 4 of population `L5tt_C2` is not in the cell's synapse table"),
        "{err}"
    );
    assert!(!tmp.path().join("c.db").exists());
}

#[test]
fn bad_results_files_give_clear_errors() {
    let tmp = tempfile::tempdir().unwrap();
    let rf = tmp.path().join("results.h5");
    write_results(&rf);
    let bytes = std::fs::read(&rf).unwrap();
    let cut = tmp.path().join("cut.h5");
    std::fs::write(&cut, &bytes[..bytes.len() / 2]).unwrap();
    let db = tmp.path().join("db");
    let err = init_results(&cut, &db, &ImportOptions::default())
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("cut.h5") && err.contains("truncated or corrupted"),
        "{err}"
    );
    assert!(!db.exists());
    let other = tmp.path().join("other.h5");
    hdf5::File::create(&other).unwrap();
    let err = init_results(&other, &db, &ImportOptions::default())
        .unwrap_err()
        .to_string();
    assert!(err.contains("not an isf results file"), "{err}");
    let err = init_results(
        &tmp.path().join("missing.h5"),
        &db,
        &ImportOptions::default(),
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("missing.h5"), "{err}");
}

/// Names in `dir` that look like leftovers of an import (`.tmp.*`).
fn temporaries(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(".tmp."))
        .collect()
}

/// Sets element `i` of the u64 dataset `ds` of `path`.
fn poke(path: &Path, ds: &str, i: usize, v: u64) {
    let f = hdf5::File::open_rw(path).unwrap();
    f.dataset(ds)
        .unwrap()
        .write_slice(&[v], ndarray::s![i..i + 1])
        .unwrap();
}

/// Rewrites element `i` of the root attribute `commit_state`.
fn poke_commit(path: &Path, i: usize, v: u64) {
    let f = hdf5::File::open_rw(path).unwrap();
    let a = f.attr("commit_state").unwrap();
    let mut c: Vec<u64> = a.read_raw().unwrap();
    c[i] = v;
    a.write(&c).unwrap();
}

#[test]
fn damaged_offsets_and_counts_are_errors_naming_the_dataset() {
    let tmp = tempfile::tempdir().unwrap();
    let opts = ImportOptions::default();
    let syn = "cells/cellA/synapse_activations";
    // (what is damaged, how, expected words of the message)
    type Damage = Box<dyn Fn(&Path)>;
    let cases: Vec<(&str, Damage, &str)> = vec![
        (
            "times_start + times_count wraps around",
            Box::new(move |p| {
                poke(p, &format!("{syn}/times_start"), 1, u64::MAX);
                poke(p, &format!("{syn}/times_count"), 1, 3);
            }),
            "synapse_activations/times_start, times_count: row 1",
        ),
        (
            "times beyond the committed ones",
            Box::new(move |p| poke(p, &format!("{syn}/times_count"), 2, 1000)),
            "times_start, times_count: row 2",
        ),
        (
            "trial_count of 2^64 - 1 (would wrap and drop the trial)",
            Box::new(move |p| poke(p, &format!("{syn}/trial_count"), 1, u64::MAX)),
            "trial_start, trial_count: trial 1",
        ),
        (
            "overlapping trials",
            Box::new(move |p| poke(p, &format!("{syn}/trial_start"), 1, 0)),
            "trial_start, trial_count: trial 1",
        ),
        (
            "more committed trace rows than the dataset has",
            Box::new(|p| {
                poke_commit(p, 1, 1 << 40);
                poke_commit(p, 2, 1 << 40);
            }),
            "cells/cellA/soma_vm: commit_state says 1099511627776 rows are committed",
        ),
        (
            "committed activation rows beyond the dataset",
            Box::new(|p| poke_commit(p, 3, u64::MAX)),
            "synapse_activations/population: commit_state says",
        ),
        (
            "per-cell counts that disagree with the total",
            Box::new(|p| poke_commit(p, 1, 2)),
            "per-cell counts add up to 3",
        ),
    ];
    for (i, (what, damage, expected)) in cases.iter().enumerate() {
        let rf = tmp.path().join(format!("r{i}.h5"));
        write_results(&rf);
        damage(&rf);
        let db = tmp.path().join(format!("db{i}"));
        let err = init_results(&rf, &db, &opts)
            .map(|_| ())
            .expect_err(what)
            .to_string();
        assert!(
            err.contains(&format!("r{i}.h5")) && err.contains(expected),
            "{what}: {err}"
        );
        assert!(!db.exists(), "{what}");
        assert_eq!(temporaries(tmp.path()), Vec::<String>::new(), "{what}");
    }
}

#[test]
fn incomplete_run_is_refused_unless_allowed() {
    let tmp = tempfile::tempdir().unwrap();
    let rf = tmp.path().join("results.h5");
    write_results(&rf);
    {
        // The run was to simulate 5 trials; 3 are committed (a killed run).
        let f = hdf5::File::open_rw(&rf).unwrap();
        f.new_attr::<u64>()
            .create("n_trials_total")
            .unwrap()
            .write_scalar(&5)
            .unwrap();
    }
    let db = tmp.path().join("db");
    let err = init_results(&rf, &db, &ImportOptions::default())
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("results.h5")
            && err.contains("incomplete: 3 of 5 trials are committed")
            && err.contains("--allow-incomplete"),
        "{err}"
    );
    assert!(!db.exists());
    assert_eq!(temporaries(tmp.path()), Vec::<String>::new());
    let opts = ImportOptions {
        allow_incomplete: true,
        ..Default::default()
    };
    let s = init_results(&rf, &db, &opts).unwrap();
    assert_eq!(s.n_trials, 3);
    let d = Database::open(&db).unwrap();
    let meta = d.meta("voltage_traces").unwrap();
    assert_eq!(
        meta.parameters["incomplete_run"],
        "3 of 5 trials (built with --allow-incomplete)"
    );
    // The per-cell `n_trials` attribute tells the same when `n_trials_total` is absent.
    let rf2 = tmp.path().join("results2.h5");
    write_results(&rf2);
    {
        let f = hdf5::File::open_rw(&rf2).unwrap();
        f.group("cells/cellA")
            .unwrap()
            .new_attr::<u64>()
            .create("n_trials")
            .unwrap()
            .write_scalar(&4)
            .unwrap();
    }
    let err = init_results(&rf2, &tmp.path().join("db2"), &ImportOptions::default())
        .unwrap_err()
        .to_string();
    assert!(err.contains("3 of 4 trials"), "{err}");
}

/// Every file below `dir` named `name`.
fn files_named(dir: &Path, name: &str, out: &mut Vec<std::path::PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            files_named(&p, name, out);
        } else if p.file_name().is_some_and(|n| n == name) {
            out.push(p);
        }
    }
}

#[test]
fn byte_flipped_database_files_are_errors_and_never_reach_libhdf5() {
    let tmp = tempfile::tempdir().unwrap();
    let rf = tmp.path().join("results.h5");
    write_results(&rf);
    add_synapse_table(
        &rf,
        &[
            (2, 3, 100.5, 10, 2, 0),
            (1, 0, 20.25, 3, 0, 1),
            (1, 4, 30.5, 4, 1, 1),
        ],
    );
    let dbp = tmp.path().join("db");
    init_results(&rf, &dbp, &ImportOptions::default()).unwrap();
    let db = Database::open(&dbp).unwrap();
    isf_post::analysis::store_synapse_activation_binned(
        &db,
        &[isf_post::analysis::GroupBy::EI],
        1.0,
        20.0,
    )
    .unwrap();
    let keys: Vec<String> = db
        .keys_recursive()
        .unwrap()
        .into_iter()
        .map(|(k, _)| k.join("/"))
        .collect();
    // Shows every key (summary and one trial); errors are fine, crashes are not.
    let show_all = || -> Vec<(String, Result<(), String>)> {
        let Ok(db) = Database::open(&dbp) else {
            return vec![];
        };
        let mut out = vec![];
        for k in &keys {
            for trial in [None, Some("cellA/000001")] {
                let r = isf_post::show::show(&db, k, trial, &mut Vec::new());
                out.push((k.clone(), r.map_err(|e| e.to_string())));
            }
        }
        out
    };
    let intact = show_all();
    assert!(intact.iter().filter(|(_, r)| r.is_ok()).count() > keys.len());

    let mut payloads = vec![];
    files_named(&dbp, "data.h5", &mut payloads);
    assert!(payloads.len() >= 9, "{payloads:?}");
    let mut flips = 0;
    for p in &payloads {
        let key_of = p.parent().unwrap().strip_prefix(&dbp).unwrap();
        let key: String = key_of
            .to_string_lossy()
            .split('/')
            .filter(|s| *s != "db")
            .collect::<Vec<_>>()
            .join("/");
        let bytes = std::fs::read(p).unwrap();
        // 64 offsets spread over the file, including the superblock and the last byte.
        let offsets = (0..64).map(|i| i * (bytes.len() - 1) / 63);
        for off in offsets {
            let mut b = bytes.clone();
            b[off] ^= 0xff;
            std::fs::write(p, &b).unwrap();
            for (k, r) in show_all() {
                if k == key {
                    let e = r.expect_err(&format!("{key}: flipped byte {off} not detected"));
                    assert!(
                        e.contains("data.h5: damaged or modified") && e.contains("SHA-256"),
                        "{key} @ {off}: {e}"
                    );
                }
            }
            flips += 1;
        }
        std::fs::write(p, &bytes).unwrap();
    }
    // Flipped metadata (key.json, isf_db.json): JSON errors or changed values, never a crash.
    let mut metas = vec![];
    files_named(&dbp, "key.json", &mut metas);
    files_named(&dbp, "isf_db.json", &mut metas);
    for p in &metas {
        let bytes = std::fs::read(p).unwrap();
        for off in (0..bytes.len()).step_by(bytes.len().div_ceil(16)) {
            let mut b = bytes.clone();
            b[off] ^= 0x55;
            std::fs::write(p, &b).unwrap();
            show_all();
            flips += 1;
        }
        std::fs::write(p, &bytes).unwrap();
    }
    assert_eq!(show_all(), intact);
    eprintln!(
        "{flips} byte flips in {} payload and {} metadata files",
        payloads.len(),
        metas.len()
    );
}

#[test]
fn mutated_numbers_in_a_results_file_never_panic_or_leave_temporaries() {
    use rand::{Rng, SeedableRng};
    let tmp = tempfile::tempdir().unwrap();
    let clean = tmp.path().join("clean.h5");
    write_results(&clean);
    add_synapse_table(
        &clean,
        &[
            (2, 3, 100.5, 10, 2, 0),
            (1, 0, 20.25, 3, 0, 1),
            (1, 4, 30.5, 4, 1, 1),
        ],
    );
    let u64_sets: Vec<String> = ["synapse_activations", "presynaptic_spikes"]
        .iter()
        .flat_map(|g| {
            ["trial_start", "trial_count", "times_start", "times_count"]
                .iter()
                .map(move |d| format!("cells/cellA/{g}/{d}"))
        })
        .collect();
    let u32_sets = [
        "cells/cellA/synapse_activations/population",
        "cells/cellA/synapse_activations/synapse_id",
        "cells/cellA/presynaptic_spikes/population",
        "cells/cellA/synapses/population",
        "cells/cellA/synapses/synapse_id",
        "cells/cellA/synapses/dendrite_label",
        "cells/cellA/synapses/section_id",
    ];
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(16);
    let interesting = |rng: &mut rand_chacha::ChaCha8Rng, old: u64| -> u64 {
        match rng.random_range(0..9) {
            0 => 0,
            1 => u64::MAX,
            2 => u64::MAX / 2 + 1,
            3 => 1 << 32,
            4 => u64::from(u32::MAX),
            5 => old.wrapping_add(1),
            6 => old.wrapping_sub(1),
            7 => 1 << 40,
            _ => rng.random_range(0..64),
        }
    };
    let (mut ok, mut errors) = (0, 0);
    let n_mutants = 300;
    for m in 0..n_mutants {
        let rf = tmp.path().join("m.h5");
        std::fs::copy(&clean, &rf).unwrap();
        {
            let f = hdf5::File::open_rw(&rf).unwrap();
            for _ in 0..rng.random_range(1..4) {
                match rng.random_range(0..3) {
                    0 => {
                        let ds = f
                            .dataset(&u64_sets[rng.random_range(0..u64_sets.len())])
                            .unwrap();
                        let mut v: Vec<u64> = ds.read_raw().unwrap();
                        if v.is_empty() {
                            continue;
                        }
                        let i = rng.random_range(0..v.len());
                        v[i] = interesting(&mut rng, v[i]);
                        ds.write_raw(&v).unwrap();
                    }
                    1 => {
                        let ds = f
                            .dataset(u32_sets[rng.random_range(0..u32_sets.len())])
                            .unwrap();
                        let mut v: Vec<u32> = ds.read_raw().unwrap();
                        if v.is_empty() {
                            continue;
                        }
                        let i = rng.random_range(0..v.len());
                        v[i] = interesting(&mut rng, u64::from(v[i])) as u32;
                        ds.write_raw(&v).unwrap();
                    }
                    _ => {
                        let a = f.attr("commit_state").unwrap();
                        let mut c: Vec<u64> = a.read_raw().unwrap();
                        let i = rng.random_range(0..c.len());
                        c[i] = interesting(&mut rng, c[i]);
                        a.write(&c).unwrap();
                    }
                }
            }
        }
        let db = tmp.path().join(format!("db{m}"));
        let r = std::panic::catch_unwind(|| init_results(&rf, &db, &ImportOptions::default()));
        match r {
            Err(_) => panic!("mutant {m} panicked"),
            Ok(Ok(_)) => ok += 1,
            Ok(Err(e)) => {
                let e = e.to_string();
                assert!(e.contains("m.h5"), "mutant {m}: error names no file: {e}");
                assert!(!db.exists(), "mutant {m}");
                errors += 1;
            }
        }
        assert_eq!(temporaries(tmp.path()), Vec::<String>::new(), "mutant {m}");
    }
    eprintln!("{n_mutants} mutants of a results file: {errors} errors, {ok} imported");
    assert!(errors > n_mutants / 2, "{errors} errors");
}
