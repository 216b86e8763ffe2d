//! `init_isf` on the NEURON reference trial: spike times and activations equal the files; the
//! database is readable with h5py alone.

mod common;

use isf_post::db::{
    key, Activations, Database, Payload, SpikeTimes, Strings, Table, TraceReader, Traces,
};
use isf_post::import::{init_isf, ImportOptions};
use std::path::{Path, PathBuf};

const TRIAL: &str = "reference/neuron-9.0.2/network_trial_seed1234";

fn build(dir: &Path) -> Option<(PathBuf, PathBuf)> {
    let root = common::shared_path(TRIAL)?;
    let db = dir.join("db");
    init_isf(&[root.join("isf_output")], &db, &ImportOptions::default()).expect("init_isf");
    Some((root, db))
}

/// Reference spike times: column 0 = first sample ≥ 0 mV, column 1 = interpolated crossing.
fn reference_spikes(root: &Path) -> (Vec<f64>, Vec<f64>) {
    let text = std::fs::read_to_string(root.join("soma_spike_times.csv")).unwrap();
    let mut a = vec![];
    let mut b = vec![];
    for line in text.lines().skip(1) {
        let f: Vec<f64> = line.split(',').map(|x| x.trim().parse().unwrap()).collect();
        a.push(f[0]);
        b.push(f[1]);
    }
    (a, b)
}

#[test]
fn reference_trial_database_matches_files() {
    let _serial = common::serial();
    let tmp = tempfile::tempdir().unwrap();
    let Some((root, dbp)) = build(tmp.path()) else {
        return;
    };
    let db = Database::open(&dbp).unwrap();
    let ids = db
        .get::<Strings>(&key(&["sim_trial_index"]))
        .unwrap()
        .values;
    assert_eq!(ids, vec!["isf_output/000000".to_string()]);

    // Spike times, computed from the stored trace, equal the reference.
    let st = db.get::<SpikeTimes>(&key(&["spike_times"])).unwrap();
    let (first_sample, interp) = reference_spikes(&root);
    assert_eq!(st.row(0).len(), 3);
    for (got, want) in st.row(0).iter().zip(&first_sample) {
        assert!((got - want).abs() < 1e-9, "{got} vs {want}");
    }
    for (got, want) in st.row_interpolated(0).iter().zip(&interp) {
        assert!((got - want).abs() < 1e-9, "{got} vs {want}");
    }
    println!("spike times (interpolated): {:?}", st.row_interpolated(0));

    // Traces: O(1) lookup by trial id, equal to the CSV.
    let (_, f, _) = db
        .open_value(&key(&["voltage_traces"]), Some(Traces::KIND))
        .unwrap();
    let r = TraceReader::open(f, "voltage_traces").unwrap();
    let v = r.trial("isf_output/000000").unwrap();
    assert_eq!(v.len(), 12002);
    assert_eq!(v[1], -75.01710476493433);
    let err = r.trial("nope/000001").unwrap_err().to_string();
    assert!(
        err.contains("trial `nope/000001` not in key `voltage_traces`"),
        "{err}"
    );

    // Synapse activations: every row of the file, in order, with the same numbers.
    let out = root.join("isf_output");
    let a = db
        .get::<Activations>(&key(&["synapse_activation"]))
        .unwrap();
    let text = std::fs::read_to_string(out.join("simulation_run0000_synapses.csv")).unwrap();
    let rows: Vec<&str> = text.lines().filter(|l| !l.starts_with('#')).collect();
    assert_eq!(a.n_rows(), rows.len());
    for (r, line) in rows.iter().enumerate() {
        let f: Vec<&str> = line.split('\t').collect();
        assert_eq!(a.populations[a.population_code[r] as usize], f[0]);
        assert_eq!(a.id[r], f[1].parse::<i64>().unwrap());
        assert_eq!(a.soma_distance_um[r], f[2].parse::<f64>().unwrap());
        assert_eq!(a.section_id[r], f[3].parse::<i64>().unwrap());
        assert_eq!(a.section_pt_id[r], f[4].parse::<i64>().unwrap());
        assert_eq!(a.labels[a.label_code[r] as usize], f[5]);
        let times: Vec<f64> = f[6]
            .split(',')
            .filter(|s| !s.is_empty())
            .map(|s| s.parse().unwrap())
            .collect();
        assert_eq!(a.row_times(r), &times[..]);
    }
    // Counts from the reference README / network_counts.json.
    let counts: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(root.join("network_counts.json")).unwrap())
            .unwrap();
    assert_eq!(
        a.n_rows() as u64,
        counts["active_synapses"].as_u64().unwrap()
    );
    assert_eq!(
        a.times_ms.len() as u64,
        counts["release_events"].as_u64().unwrap()
    );
    // EXC/INH from receptors: every L1 population is inhibitory (ISF bug fixed).
    for (p, ei) in a.populations.iter().zip(&a.population_ei) {
        if p.starts_with("L1_") || p.starts_with("L45Peak_") {
            assert_eq!(ei, "INH", "{p}");
        }
        if p.starts_with("L5tt_") || p.starts_with("VPM_") {
            assert_eq!(ei, "EXC", "{p}");
        }
    }
    let c = db.get::<Activations>(&key(&["cell_activation"])).unwrap();
    assert_eq!(
        c.n_rows() as u64,
        counts["presynaptic_cells_listed"].as_u64().unwrap()
    );
    assert_eq!(
        c.times_ms.len() as u64,
        counts["presynaptic_spikes"].as_u64().unwrap()
    );

    // Dendritic recording and its −30 mV spike times.
    let sub = db.sub_db("dendritic_recordings").unwrap();
    let labels: Vec<String> = sub.keys().unwrap().into_iter().map(|k| k.name).collect();
    assert_eq!(
        labels,
        vec!["apical_proximal_distal_rec_sites_ID_000_sec_038_seg_032_x_0.929_somaDist_920.7"]
    );
    let dst = db.sub_db("dendritic_spike_times").unwrap();
    assert_eq!(dst.keys().unwrap()[0].name, format!("{}_-30.0", labels[0]));

    // Metadata and parameter files.
    let md = db.get::<Table>(&key(&["metadata"])).unwrap();
    assert_eq!(
        md.column("synapses_file_name").unwrap().cell(0),
        "simulation_run0000_synapses.csv"
    );
    let pf = db.get::<Table>(&key(&["parameterfiles"])).unwrap();
    let p = pf.column("path_network").unwrap().cell(0);
    assert!(dbp.join(&p).is_file(), "{p}");
    let meta = db.meta("synapse_activation").unwrap();
    assert_eq!(meta.sources.len(), 1);
    assert_eq!(meta.sources[0].sha256.len(), 64);
}

#[test]
fn database_is_readable_with_h5py_only() {
    let _serial = common::serial();
    let tmp = tempfile::tempdir().unwrap();
    let Some((root, dbp)) = build(tmp.path()) else {
        return;
    };
    let script = r#"
import sys, json, h5py, numpy as np
db, ref = sys.argv[1], sys.argv[2]
with h5py.File(db + '/spike_times/data.h5', 'r') as f:
    assert f.attrs['isf_kind'] == 'spike_times'
    ids = [s.decode() if isinstance(s, bytes) else s for s in f['sim_trial_index'][()]]
    off = f['offsets'][()]
    st = f['spike_times_interpolated_ms'][off[0]:off[1]]
ref_st = np.loadtxt(ref + '/soma_spike_times.csv', delimiter=',', skiprows=1)[:, 1]
assert np.allclose(st, ref_st, atol=1e-9), (st, ref_st)
with h5py.File(db + '/voltage_traces/data.h5', 'r') as f:
    v = f['vm_mV'][ids.index('isf_output/000000')]
    t = f['t_ms'][()]
with h5py.File(db + '/synapse_activation/data.h5', 'r') as f:
    pops = [s.decode() if isinstance(s, bytes) else s for s in f['categories/population'][()]]
    code = f['population_code'][()]
    to = f['time_offsets'][()]
    times = f['activation_times_ms'][()]
    dist = f['soma_distance_um'][()]
    meta = json.loads(f.attrs['isf_metadata_json'])
first = open([ref + '/isf_output/' + x for x in __import__('os').listdir(ref + '/isf_output') if x.endswith('_synapses.csv')][0]).read().splitlines()[1].split('\t')
assert pops[code[0]] == first[0] and dist[0] == float(first[2])
assert list(times[to[0]:to[1]]) == [float(x) for x in first[6].split(',') if x]
assert len(meta['sources'][0]['sha256']) == 64
print('ok', len(t), float(v[1]), len(code))
"#;
    let Some(out) = common::run_python(
        script,
        &["h5py", "numpy"],
        &[dbp.to_str().unwrap(), root.to_str().unwrap()],
    ) else {
        return;
    };
    assert!(out.starts_with("ok 12002 -75.01710476493433 3867"), "{out}");
}

#[test]
fn failed_import_leaves_existing_database_untouched() {
    let _serial = common::serial();
    let tmp = tempfile::tempdir().unwrap();
    let Some((root, dbp)) = build(tmp.path()) else {
        return;
    };
    let before = std::fs::read(dbp.join("spike_times/data.h5")).unwrap();
    // A copy of the output folder with a truncated synapse file: the import fails mid-way.
    let bad = tmp.path().join("bad");
    std::fs::create_dir(&bad).unwrap();
    for e in std::fs::read_dir(root.join("isf_output")).unwrap() {
        let e = e.unwrap();
        std::fs::copy(e.path(), bad.join(e.file_name())).unwrap();
    }
    std::fs::write(
        bad.join("simulation_run0000_synapses.csv"),
        "# header\nL1_B1\t3\tx\n",
    )
    .unwrap();
    let opts = ImportOptions {
        overwrite: true,
        ..Default::default()
    };
    let err = init_isf(std::slice::from_ref(&bad), &dbp, &opts)
        .unwrap_err()
        .to_string();
    assert!(err.contains("simulation_run0000_synapses.csv:2"), "{err}");
    assert_eq!(
        std::fs::read(dbp.join("spike_times/data.h5")).unwrap(),
        before
    );
    // An empty (truncated) activation file is an error, not a trial without activations.
    for f in [
        "simulation_run0000_synapses.csv",
        "simulation_run0000_presynaptic_cells.csv",
    ] {
        for e in std::fs::read_dir(root.join("isf_output")).unwrap() {
            let e = e.unwrap();
            std::fs::copy(e.path(), bad.join(e.file_name())).unwrap();
        }
        std::fs::write(bad.join(f), "").unwrap();
        let err = init_isf(std::slice::from_ref(&bad), &dbp, &opts)
            .unwrap_err()
            .to_string();
        assert!(err.contains(&format!("{f}:1: empty file")), "{err}");
    }
    // No temporary folder left beside the database.
    let leftovers: Vec<_> = std::fs::read_dir(tmp.path())
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with(".tmp"))
        .collect();
    assert!(leftovers.is_empty());
    // Without --overwrite an existing database is refused.
    let err = init_isf(&[root.join("isf_output")], &dbp, &ImportOptions::default()).unwrap_err();
    assert!(err.to_string().contains("--overwrite"), "{err}");
    // A missing key is a clear error.
    let db = Database::open(&dbp).unwrap();
    let err = db.get::<Strings>(&key(&["nope"])).unwrap_err().to_string();
    assert!(
        err.contains("key `nope` not found") && err.contains("spike_times"),
        "{err}"
    );
}
