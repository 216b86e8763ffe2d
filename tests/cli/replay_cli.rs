//! `isf replay` as a process: bad input gives `error: …`, a non-zero exit code and no output.

use std::path::{Path, PathBuf};
use std::process::Command;

use isf::testing::{example_params, reference_trial};

/// `dir/synapses.csv`: an ISF synapse activation file with the header and `rows`.
fn synapse_file(dir: &Path, rows: &str) -> PathBuf {
    let path = dir.join("synapses.csv");
    let header = "# synapse type\tsynapse ID\tsoma distance\tsection ID\tsection pt ID\t\
                  dendrite label\tactivation times\n";
    std::fs::write(&path, format!("{header}{rows}")).unwrap();
    path
}

#[test]
fn bad_replay_input_exits_non_zero_with_an_error_line() {
    let Some((cell, net)) = example_params() else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let syn = synapse_file(
        tmp.path(),
        "L1_B1\t3\t1441.8\t46\t19\tApicalDendrite\t2.5,\n",
    );
    let out = tmp.path().join("out");
    let run = |extra: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_isf"))
            .arg("replay")
            .args([&cell, &net, &syn])
            .args(["--tstop", "5", "--out"])
            .arg(&out)
            .args(extra)
            .output()
            .unwrap()
    };
    let o = run(&["--dt", "-0.025"]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(
        err.starts_with("error: --dt must be a positive number of ms, got -0.025"),
        "{err}"
    );
    assert!(!out.exists());

    // An unknown numerics mode is refused by the argument parser (exit code 2), naming both.
    let o = run(&["--numerics", "quick"]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(
        err.contains("quick") && err.contains("fast, exact"),
        "{err}"
    );
    assert!(!out.exists());

    std::fs::remove_file(&syn).unwrap();
    let o = run(&[]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(
        err.starts_with("error: ") && err.contains("synapses.csv"),
        "{err}"
    );
    assert!(!out.exists());
}

#[test]
fn replay_writes_isf_files() {
    let Some((cell, net)) = example_params() else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    // Two L1_B1 synapses (renumbered 0, 1) and one never-released synapse (no row written).
    let syn = synapse_file(
        tmp.path(),
        "L1_B1\t3\t1441.8\t46\t19\tApicalDendrite\t2.5,1.0,\n\
         L1_B1\t4\t1469.2\t73\t24\tApicalDendrite\t\n\
         L1_B1\t9\t1469.2\t73\t24\tApicalDendrite\t3.0,\n",
    );
    let out = tmp.path().join("out");
    let o = Command::new(env!("CARGO_BIN_EXE_isf"))
        .arg("replay")
        .args([&cell, &net, &syn])
        .args(["--tstop", "5", "--prefix", "p", "--out"])
        .arg(&out)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let mut names: Vec<String> = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(
        names,
        [
            "p_apical_proximal_distal_rec_sites_ID_000_sec_038_seg_032_x_0.929_somaDist_920.7_vm_dend_traces.csv",
            "p_network_model.param",
            "p_neuron_model.param",
            "p_vm_all_traces.csv",
            "simulation_run0000000_presynaptic_cells.csv",
            "simulation_run0000000_synapses.csv",
            "synapse_file_paths.csv",
        ]
    );
    assert_eq!(
        std::fs::read_to_string(out.join("synapse_file_paths.csv")).unwrap(),
        format!("synapse_file,number\n{},0000000\n", syn.display())
    );
    let traces = std::fs::read_to_string(out.join("p_vm_all_traces.csv")).unwrap();
    let mut lines = traces.lines();
    assert_eq!(lines.next(), Some("t\tVm run 00"));
    assert_eq!(lines.next(), Some("0.0\t-75.0"));
    // while t < 5 with dt 0.025: 200 steps, or 201 when accumulated t stays below 5.
    let rows = traces.lines().count() - 1;
    assert!(rows == 201 || rows == 202, "{rows}");
    let syn_out = std::fs::read_to_string(out.join("simulation_run0000000_synapses.csv")).unwrap();
    let rows: Vec<Vec<&str>> = syn_out
        .lines()
        .skip(1)
        .map(|l| l.split('\t').collect())
        .collect();
    assert_eq!(rows.len(), 2);
    assert_eq!((rows[0][1], rows[0][6]), ("0", "1.0,2.5,"));
    assert_eq!((rows[1][1], rows[1][6]), ("2", "3.0,"));
    let neuron = std::fs::read_to_string(out.join("p_neuron_model.param")).unwrap();
    assert!(neuron.contains("\"tStop\": 5.0"), "{neuron}");
}

/// The vectorised kernels (inlined table `exp`, AVX2/FMA) and the scalar kernels (C library
/// `exp`, selected by `ISF_NO_SIMD`) must write byte-identical output for the reference network
/// trial in both numerics (as the README states): the fast path changes no bit of the simulation.
#[test]
fn vector_and_scalar_kernels_write_identical_files() {
    let Some((cell, net, syn)) = reference_trial() else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let run = |name: &str, numerics: &str, scalar: bool| {
        let out = tmp.path().join(format!("{name}-{numerics}"));
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_isf"));
        cmd.arg("replay")
            .args([&cell, &net, &syn])
            .args(["--numerics", numerics])
            .args(["--tstop", "100", "--prefix", "p", "--out"])
            .arg(&out);
        if scalar {
            cmd.env("ISF_NO_SIMD", "1");
        } else {
            cmd.env_remove("ISF_NO_SIMD");
        }
        let o = cmd.output().unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        let mut files: Vec<_> = std::fs::read_dir(&out)
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        files.sort();
        files
            .into_iter()
            .map(|p| {
                (
                    p.file_name().unwrap().to_owned(),
                    std::fs::read(&p).unwrap(),
                )
            })
            .collect::<Vec<_>>()
    };
    for numerics in ["fast", "exact"] {
        let vector = run("vector", numerics, false);
        let scalar = run("scalar", numerics, true);
        assert!(vector
            .iter()
            .any(|(n, _)| n.to_string_lossy().ends_with("_vm_all_traces.csv")));
        assert_eq!(vector.len(), scalar.len());
        for ((name, a), (_, b)) in vector.iter().zip(&scalar) {
            assert!(
                a == b,
                "{numerics}: {name:?} differs between vector and scalar kernels"
            );
        }
    }
}

/// Column `k` (0 = t) of every row of a trace file.
fn trace_column(path: &Path, k: usize) -> Vec<String> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|l| l.split('\t').nth(k).unwrap().to_owned())
        .collect()
}

/// Several activation files in one replay run side by side in batches (five files: a batch of
/// four lanes and one alone); each run's columns and files are byte for byte those of replaying
/// its file alone, numbered in the order of the files and listed in `synapse_file_paths.csv`.
#[test]
fn replay_of_several_files_gives_each_file_its_single_replay() {
    let Some((cell, net, syn)) = reference_trial() else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    // The reference trial and four variants, each without every (k+1)-th synapse row.
    let text = std::fs::read_to_string(&syn).unwrap();
    let mut files = vec![syn.clone()];
    for k in 1..5 {
        let kept: Vec<&str> = (text.lines().enumerate())
            .filter(|(i, l)| l.starts_with('#') || i % (k + 1) != 0)
            .map(|(_, l)| l)
            .collect();
        let f = tmp.path().join(format!("variant{k}_synapses.csv"));
        std::fs::write(&f, kept.join("\n") + "\n").unwrap();
        files.push(f);
    }
    let replay = |out: &Path, files: &[PathBuf]| {
        let o = Command::new(env!("CARGO_BIN_EXE_isf"))
            .arg("replay")
            .args([&cell, &net])
            .args(files)
            .args(["--tstop", "60", "--prefix", "p", "--out"])
            .arg(out)
            .env_remove("ISF_BATCH_LANES")
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        String::from_utf8_lossy(&o.stdout).into_owned()
    };
    let many = tmp.path().join("many");
    let stdout = replay(&many, &files);
    assert!(stdout.contains("5 runs"), "{stdout}");
    let site = "p_apical_proximal_distal_rec_sites_ID_000_sec_038_seg_032_x_0.929_somaDist_920.7_vm_dend_traces.csv";
    let header = trace_column(&many.join("p_vm_all_traces.csv"), 5);
    assert_eq!(header[0], "Vm run 04");
    let mut listed = "synapse_file,number\n".to_owned();
    for (k, f) in files.iter().enumerate() {
        listed += &format!("{},{k:07}\n", f.display());
        let one = tmp.path().join(format!("one{k}"));
        replay(&one, std::slice::from_ref(f));
        for trace in ["p_vm_all_traces.csv", site] {
            let (a, b) = (
                trace_column(&many.join(trace), k + 1),
                trace_column(&one.join(trace), 1),
            );
            assert_eq!(a.len(), b.len());
            assert!(
                a[1..] == b[1..],
                "run {k}: {trace} differs from the file's own replay"
            );
            assert_eq!(
                trace_column(&many.join(trace), 0),
                trace_column(&one.join(trace), 0)
            );
        }
        for (mine, single) in [
            (
                format!("simulation_run{k:07}_synapses.csv"),
                "simulation_run0000000_synapses.csv",
            ),
            (
                format!("simulation_run{k:07}_presynaptic_cells.csv"),
                "simulation_run0000000_presynaptic_cells.csv",
            ),
        ] {
            assert_eq!(
                std::fs::read(many.join(mine)).unwrap(),
                std::fs::read(one.join(single)).unwrap()
            );
        }
    }
    assert_eq!(
        std::fs::read_to_string(many.join("synapse_file_paths.csv")).unwrap(),
        listed
    );
    // A missing file among several: an error naming it, and no output folder.
    let bad = tmp.path().join("bad");
    let o = Command::new(env!("CARGO_BIN_EXE_isf"))
        .arg("replay")
        .args([
            &cell,
            &net,
            &files[0],
            &tmp.path().join("absent_synapses.csv"),
        ])
        .args(["--tstop", "5", "--out"])
        .arg(&bad)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(err.contains("absent_synapses.csv"), "{err}");
    assert!(!bad.exists());
}
