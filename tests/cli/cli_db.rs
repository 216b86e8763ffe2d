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
    // Bin counts beyond the documented limit are errors before anything is allocated.
    for args in [["--bin-ms", "1e-9"], ["--max-time-ms", "1e12"]] {
        let (ok, _, err) = isf(&["db", "bin", db_s, args[0], args[1], "--overwrite"]);
        assert!(
            !ok && err.starts_with("error: bin_ms:") && err.contains("at most 1000000"),
            "{args:?}: {err}"
        );
    }

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
    assert!(
        !ok && err.contains("metadata/data.h5: damaged or modified"),
        "{err}"
    );
    // Refuses to replace without --overwrite.
    let (ok, _, err) = isf(&["db", "init-isf", out_dir.to_str().unwrap(), db_s]);
    assert!(!ok && err.contains("--overwrite"), "{err}");
}

/// `n` trial folders that link to the reference trial's files (no copies).
fn linked_trials(root: &std::path::Path, dir: &std::path::Path, n: usize) {
    for i in 0..n {
        let d = dir.join(format!("run{i:03}"));
        std::fs::create_dir_all(&d).unwrap();
        for e in std::fs::read_dir(root.join("isf_output")).unwrap() {
            let e = e.unwrap();
            std::os::unix::fs::symlink(e.path(), d.join(e.file_name())).unwrap();
        }
    }
}

/// Entries of `dir` starting with `.tmp.`.
fn temporaries(dir: &std::path::Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(".tmp."))
        .collect()
}

/// Starts `isf db init-isf input db` and waits until its temporary database exists (so the signal
/// handlers are in place and the import is under way).
fn start_import(input: &std::path::Path, db: &std::path::Path) -> std::process::Child {
    let child = Command::new(env!("CARGO_BIN_EXE_isf"))
        .args(["db", "init-isf"])
        .arg(input)
        .arg(db)
        .env("RAYON_NUM_THREADS", "1")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let parent = db.parent().unwrap();
    // Until its owner record is written a temporary folder cannot be told from one being made.
    for _ in 0..6000 {
        if temporaries(parent).iter().any(|t| {
            parent
                .join(t)
                .join(isf_post::db::temp::OWNER_FILE)
                .is_file()
        }) {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    child
}

#[test]
fn db_init_on_sigint_removes_its_temporaries_and_the_next_run_removes_a_killed_ones() {
    let Some(root) = isf::testing::shared_path("reference/neuron-9.0.2/network_trial_seed1234")
    else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let input = tmp.path().join("runs");
    linked_trials(&root, &input, 60);
    let out = tmp.path().join("out");
    std::fs::create_dir(&out).unwrap();
    let db = out.join("my.db");

    // SIGINT and SIGTERM: the command removes its temporary database and says so.
    for sig in [libc::SIGINT, libc::SIGTERM] {
        let child = start_import(&input, &db);
        assert_eq!(temporaries(&out).len(), 1, "the import never started");
        // SAFETY: sending a signal to our own child process.
        assert_eq!(unsafe { libc::kill(child.id() as libc::pid_t, sig) }, 0);
        let o = child.wait_with_output().unwrap();
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(!o.status.success(), "finished before the signal {sig}");
        assert!(
            err.contains("interrupted by SIG") && err.contains("was not created"),
            "signal {sig}: {err}"
        );
        assert_eq!(o.status.code(), Some(128 + sig), "{err}");
        assert_eq!(std::fs::read_dir(&out).unwrap().count(), 0, "signal {sig}");
    }

    // SIGKILL leaves the temporary database (8 MB and more); the next run removes it and says so.
    let mut child = start_import(&input, &db);
    child.kill().unwrap();
    child.wait().unwrap();
    let left = temporaries(&out);
    assert_eq!(left.len(), 1);
    let (ok, _, err) = isf(&[
        "db",
        "init-isf",
        input.to_str().unwrap(),
        db.to_str().unwrap(),
    ]);
    assert!(ok, "{err}");
    assert!(
        err.contains(&format!("note: removed {}", out.join(&left[0]).display()))
            && err.contains("no longer runs"),
        "{err}"
    );
    assert_eq!(temporaries(&out), Vec::<String>::new());
}
