//! `isf db …` and `isf reduce …` end to end on the NEURON reference trial: build, list, show,
//! bin, and clear errors for a missing key, an unknown trial and a corrupted file.

use std::process::Command;

fn isf(args: &[&str]) -> (bool, String, String) {
    let o = Command::new(env!("CARGO_BIN_EXE_isf"))
        .args(args)
        .output()
        .expect("run isf");
    (
        o.status.success(),
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

#[test]
fn db_commands_on_the_reference_trial() {
    let Some(root) = isf::testing::shared_path("reference/neuron-9.0.2/network_trial_seed1234")
    else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let db = tmp.path().join("db");
    let (db_s, out_dir) = (db.to_str().unwrap(), root.join("isf_output"));
    let (ok, out, err) = isf(&["db", "init-isf", out_dir.to_str().unwrap(), db_s]);
    assert!(ok, "{err}");
    assert!(out.contains("1 trials"), "{out}");

    let (ok, out, _) = isf(&["db", "ls", db_s]);
    assert!(
        ok && out.contains("voltage_traces") && out.contains("synapse_activation"),
        "{out}"
    );

    // Spike times of the trial: the first samples at or above 0 mV, as in soma_spike_times.csv.
    let (ok, out, err) = isf(&[
        "db",
        "show",
        db_s,
        "spike_times",
        "--trial",
        "isf_output/000000",
    ]);
    assert!(ok, "{err}");
    let reference = std::fs::read_to_string(root.join("soma_spike_times.csv")).unwrap();
    let first_line = out.lines().next().unwrap();
    let got: Vec<f64> = first_line
        .trim_start_matches("spike_times_ms\t[")
        .trim_end_matches(']')
        .split(", ")
        .map(|s| s.parse().unwrap())
        .collect();
    let want: Vec<f64> = reference
        .lines()
        .skip(1)
        .map(|l| l.split(',').next().unwrap().parse().unwrap())
        .collect();
    assert_eq!(got.len(), want.len(), "{out}");
    for (g, w) in got.iter().zip(&want) {
        assert!((g - w).abs() < 1e-9, "{g} vs {w}");
    }

    // Binning by EI, then the binned key is listed and has one row per trial.
    let (ok, out, err) = isf(&["db", "bin", db_s, "--groupby", "EI"]);
    assert!(ok, "{err}");
    assert!(out.contains("synapse_activation_binned/t1/EI/EXC"), "{out}");
    let (ok, out, _) = isf(&["db", "show", db_s, "synapse_activation_binned/t1/EI/INH"]);
    assert!(ok && out.contains("1 trials × 400 bins"), "{out}");

    // Errors: missing key, unknown trial, corrupted value file.
    let (ok, _, err) = isf(&["db", "show", db_s, "no_such_key"]);
    assert!(
        !ok && err.starts_with("error: ") && err.contains("key `no_such_key` not found"),
        "{err}"
    );
    let (ok, _, err) = isf(&["db", "show", db_s, "voltage_traces", "--trial", "x/000009"]);
    assert!(
        !ok && err.contains("trial `x/000009` not in key `voltage_traces`"),
        "{err}"
    );
    std::fs::write(db.join("metadata/data.h5"), b"garbage").unwrap();
    let (ok, _, err) = isf(&["db", "show", db_s, "metadata"]);
    assert!(!ok && err.contains("truncated or corrupted"), "{err}");
    // Refuses to replace without --overwrite.
    let (ok, _, err) = isf(&["db", "init-isf", out_dir.to_str().unwrap(), db_s]);
    assert!(!ok && err.contains("--overwrite"), "{err}");
}
