//! The ISF-format export (`isf_folder`) of `isf simulate --config`: a killed run leaves only its
//! hidden staging folder, `--resume` completes it to the same files as an uninterrupted run, and an
//! existing export folder is not replaced without `--resume`/`--overwrite`. Serial runs of the
//! embedded example, 20 ms trials (only the file handling is under test here; the equivalence of the
//! exported data is `tests/db_init_equivalence.rs`).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

mod common;

use common::process::{check, spawn_until_stderr};

/// `isf` in `dir` with a fresh TMPDIR, on one rayon thread.
fn isf(dir: &Path) -> Command {
    let mut c = common::process::isf(dir);
    c.env("RAYON_NUM_THREADS", "1");
    c
}

/// `isf simulate --config cfg` (with `--resume` if `resume`) in `dir`.
fn simulate(dir: &Path, cfg: &Path, resume: bool) -> Output {
    let mut c = isf(dir);
    c.args(["simulate", "--no-progress"]);
    if resume {
        c.arg("--resume");
    }
    c.arg("--config").arg(cfg).output().unwrap()
}

fn config(dir: &Path, name: &str, output: &str, isf_folder: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(
        &p,
        format!(
            "output = \"{output}\"\nisf_folder = \"{isf_folder}\"\nbase_seed = 99\nbatch_size = 2\n\
             [record]\nevery_k_steps = 2\n\
             [[cell]]\nname = \"ex\"\ncell_param = \"example/cell.param\"\n\
             network_param = \"example/network.param\"\ntrials = 6\nt_stop_ms = 20.0\n"
        ),
    )
    .unwrap();
    p
}

/// Every file below `dir`: relative path → bytes.
fn files(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut out = BTreeMap::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let e = e.unwrap();
        let name = e.file_name().to_string_lossy().into_owned();
        if e.path().is_dir() {
            for (k, v) in files(&e.path()) {
                out.insert(format!("{name}/{k}"), v);
            }
        } else {
            out.insert(name, std::fs::read(e.path()).unwrap());
        }
    }
    out
}

#[test]
fn killed_export_resumes_to_the_uninterrupted_files() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    check(
        isf(dir).args(["example", "example"]).output().unwrap(),
        "isf example",
    );
    let full = config(dir, "full.toml", "full.h5", "isf_full");
    check(simulate(dir, &full, false), "uninterrupted run");
    let expected = files(&dir.join("isf_full"));
    // 6 trials × 2 activation files, soma + 2 site trace files, 2 parameter copies, one folder.
    assert_eq!(expected.len(), 6 * 2 + 3 + 2, "{:?}", expected.keys());
    assert!(expected.keys().all(|k| k.starts_with("ex/")));

    // Kill the run (by its pid) while its second batch is being computed.
    let cfg = config(dir, "killed.toml", "killed.h5", "isf_killed");
    let mut child = spawn_until_stderr(
        isf(dir)
            .args(["-v", "simulate", "--no-progress", "--config"])
            .arg(&cfg)
            .env("ISF_TEST_TRIAL_DELAY_MS", "1500"),
        "committed batch 1/",
    );
    child.kill().unwrap();
    let _ = child.wait();
    let staged = files(&dir.join("isf_killed"));
    assert!(
        staged.keys().all(|k| k.starts_with(".ex.isf-partial/")),
        "only the staging folder exists: {:?}",
        staged.keys()
    );
    assert!(staged.contains_key(".ex.isf-partial/simulation_run0001_synapses.csv"));

    check(simulate(dir, &cfg, true), "resumed run");
    assert_eq!(files(&dir.join("isf_killed")), expected);

    // A complete export is neither replaced by a new run nor touched by a no-op resume.
    let again = config(dir, "again.toml", "again.h5", "isf_killed");
    let out = simulate(dir, &again, false);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success() && err.contains("ISF export folder already exists"),
        "{err}"
    );
    assert!(!dir.join("again.h5").exists(), "refused run wrote a file");
    check(simulate(dir, &cfg, true), "resume of a complete run");
    assert_eq!(files(&dir.join("isf_killed")), expected);
}
