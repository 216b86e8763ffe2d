//! Fault injection on the results file: a 3-batch serial run is stopped at every point where it
//! changes the file (each dataset extension, row write, flush, commit and the install of a new
//! file), once by aborting the process there (as a SIGKILL or a node failure would) and once by
//! failing the write (as a full disk does); `--resume` must then finish a file equal to the
//! uninterrupted run's. Every run happens in a child process (this test binary re-executed in its
//! `child_run` mode), so an abort leaves the file exactly as a dead process would.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use isf::output::results_h5::WriteHook;
use isf::run::comm::SerialCommunicator;
use isf::run::{run_config, RunOptions};

const CONFIG: &str = "run.toml";
const OUTPUT: &str = "out.h5";

/// Writes a 2-cell config of the synthetic test model: 3 + `long_trials` trials in batches of 2
/// (3 + 3: three batches, one of them spanning both cells).
fn write_config(dir: &Path, long_trials: u32) {
    std::fs::write(dir.join("c.param"), "{}").unwrap();
    std::fs::write(dir.join("n.param"), "{}").unwrap();
    let cell = |name: &str, trials: u32, t_stop: f64| {
        format!(
            "[[cell]]\nname = \"{name}\"\ncell_param = \"c.param\"\nnetwork_param = \"n.param\"\n\
             trials = {trials}\nt_stop_ms = {t_stop}\nmodel = \"synthetic-test-fixture\"\n"
        )
    };
    let text = format!(
        "output = \"{OUTPUT}\"\nbase_seed = 7\nbatch_size = 2\n{}{}",
        cell("short", 3, 20.0),
        cell("long", long_trials, 30.0)
    );
    std::fs::write(dir.join(CONFIG), text).unwrap();
}

/// What the child does at write point `ISF_FAULT_AT`.
#[derive(Clone, Copy, Debug)]
enum Fault {
    /// Dies on the spot: no destructor runs, HDF5 never closes the file.
    Abort,
    /// The write fails as on a full disk; the run ends through its error path.
    DiskFull,
}

/// How the child opens the results file.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Io {
    /// HDF5's POSIX driver (the build without MPI, or `SerialCommunicator`).
    Posix,
    /// MPI-IO, as every run of the MPI build does (a singleton MPI world of one rank).
    MpiIo,
}

/// One run of the config in `dir` in a child process; returns (success, write points passed,
/// stderr).
fn child(dir: &Path, io: Io, fault: Option<(Fault, u64)>, resume: bool) -> (bool, u64, String) {
    let tmp = tempfile::Builder::new()
        .prefix("tmp")
        .tempdir_in(dir)
        .unwrap();
    let mut c = Command::new(std::env::current_exe().unwrap());
    c.args([
        "--exact",
        "child_run",
        "--ignored",
        "--nocapture",
        "--test-threads=1",
    ])
    .env("TMPDIR", tmp.path())
    .env("OMPI_ALLOW_RUN_AS_ROOT", "1")
    .env("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1")
    .env("ISF_FAULT_IO", format!("{io:?}"))
    .env("ISF_FAULT_DIR", dir)
    .env("ISF_FAULT_RESUME", if resume { "1" } else { "0" });
    if let Some((kind, at)) = fault {
        c.env("ISF_FAULT_KIND", format!("{kind:?}"))
            .env("ISF_FAULT_AT", at.to_string());
    }
    let out = c.output().unwrap();
    drop(tmp);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let points = stdout
        .lines()
        .find_map(|l| l.split("WRITE_POINTS ").nth(1))
        .and_then(|n| n.split_whitespace().next()?.parse().ok())
        .unwrap_or(0);
    let ok = out.status.success() && stdout.contains("RUN_OK");
    (
        ok,
        points,
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// The child's side: runs the config in `ISF_FAULT_DIR`, faulting at point `ISF_FAULT_AT`.
#[test]
#[ignore = "entry point of the child processes of `every_write_point`"]
fn child_run() {
    let Ok(dir) = std::env::var("ISF_FAULT_DIR") else {
        return;
    };
    let dir = PathBuf::from(dir);
    let at: u64 = std::env::var("ISF_FAULT_AT")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(u64::MAX);
    let kind = std::env::var("ISF_FAULT_KIND").unwrap_or_default();
    let count = Arc::new(AtomicU64::new(0));
    let seen = count.clone();
    let hook = WriteHook(Arc::new(move |what: &str| {
        let n = seen.fetch_add(1, Ordering::SeqCst) + 1;
        if n != at {
            return Ok(());
        }
        eprintln!("fault at write point {n}: {what}");
        if kind == "Abort" {
            std::process::abort();
        }
        Err(format!(
            "No space left on device (injected before `{what}`)"
        ))
    }));
    let opts = RunOptions {
        resume: std::env::var("ISF_FAULT_RESUME").as_deref() == Ok("1"),
        threads: Some(1),
        write_hook: Some(hook),
        ..Default::default()
    };
    let r = if std::env::var("ISF_FAULT_IO").as_deref() == Ok("MpiIo") {
        let world = isf::run::comm::world();
        assert!(world.mpi_comm().is_some(), "this build has no MPI");
        run_config(&dir.join(CONFIG), &opts, world.as_ref())
    } else {
        run_config(&dir.join(CONFIG), &opts, &SerialCommunicator)
    };
    println!("WRITE_POINTS {}", count.load(Ordering::SeqCst));
    match r {
        Ok(_) => println!("RUN_OK"),
        Err(e) => {
            eprintln!("run failed: {e}");
            std::process::exit(3);
        }
    }
}

/// Differences between two results files outside the provenance and the trials' wall times
/// (`None` when equal).
fn h5diff(a: &Path, b: &Path) -> Option<String> {
    let out = Command::new("h5diff")
        .args(["-c", "--exclude-path", "/provenance"])
        .args(["--exclude-path", "/trials/wall_time_s"])
        .arg(a)
        .arg(b)
        .output()
        .expect("h5diff (hdf5-tools) is installed by scripts/setup.sh");
    (!out.status.success()).then(|| {
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

/// Leftovers a finished run must not leave beside its output.
fn leftovers(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with('.') || n.ends_with(".lock"))
        .collect()
}

#[test]
fn every_write_point_posix() {
    every_write_point(Io::Posix);
}

#[test]
fn every_write_point_mpi_io() {
    every_write_point(Io::MpiIo);
}

fn every_write_point(io: Io) {
    let root = tempfile::tempdir().unwrap();
    let reference = root.path().join("reference");
    std::fs::create_dir(&reference).unwrap();
    write_config(&reference, 3);
    let (ok, n_points, err) = child(&reference, io, None, false);
    assert!(ok, "uninterrupted run failed: {err}");
    assert!(n_points > 100, "only {n_points} write points");
    let reference_file = reference.join(OUTPUT);

    let cases: Vec<(Fault, u64)> = [Fault::Abort, Fault::DiskFull]
        .into_iter()
        .flat_map(|k| (1..=n_points).map(move |n| (k, n)))
        .collect();
    let next = AtomicU64::new(0);
    let failures = std::sync::Mutex::new(Vec::new());
    std::thread::scope(|s| {
        for _ in 0..2 {
            s.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::SeqCst) as usize;
                let Some(&(kind, at)) = cases.get(i) else {
                    return;
                };
                let dir = root.path().join(format!("{kind:?}-{at}"));
                std::fs::create_dir(&dir).unwrap();
                write_config(&dir, 3);
                let (ok, _, err) = child(&dir, io, Some((kind, at)), false);
                let fail = |msg: String| failures.lock().unwrap().push(msg);
                if ok {
                    fail(format!("{kind:?} at {at}: the run did not fail"));
                    continue;
                }
                if matches!(kind, Fault::DiskFull) && !err.contains("No space left on device") {
                    fail(format!(
                        "{kind:?} at {at}: the error does not say why: {err}"
                    ));
                }
                let (ok, _, err) = child(&dir, io, None, true);
                if !ok {
                    fail(format!("{kind:?} at {at}: --resume failed: {err}"));
                } else if let Some(d) = h5diff(&reference_file, &dir.join(OUTPUT)) {
                    fail(format!("{kind:?} at {at}: resumed file differs:\n{d}"));
                } else if !leftovers(&dir).is_empty() {
                    fail(format!("{kind:?} at {at}: left {:?}", leftovers(&dir)));
                } else {
                    std::fs::remove_dir_all(&dir).unwrap();
                }
            });
        }
    });
    let failures = failures.into_inner().unwrap();
    println!(
        "{io:?}: {n_points} write points × 2 faults: {} resumed files equal to the uninterrupted run",
        cases.len() - failures.len()
    );
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}

/// Rolls `commit_state` of a complete results file back to its first `keep` trials (whole
/// batches), leaving every row of the later batches in place: what a disk-full error or a kill
/// between extending the datasets and committing leaves. Done with h5py, an independent writer.
const ROLL_BACK: &str = r#"
import sys, h5py, numpy as np
f = h5py.File(sys.argv[1], "r+")
keep, batch = int(sys.argv[2]), int(f.attrs["batch_size"])
words = [keep // batch, keep]
cells = sorted(f["cells"], key=lambda n: int(f["cells"][n].attrs["cell_id"]))
for name in cells:
    g = f["cells"][name]
    k = max(0, min(int(g.attrs["n_trials"]), keep - int(g.attrs["first_trial_id"])))
    words.append(k)
    for part in ("synapse_activations", "presynaptic_spikes"):
        p = g[part]
        rows = int(p["trial_count"][:k].sum())
        words += [rows, int(p["times_count"][:rows].sum())]
    words.append(int((f["spikes"][name]["node_ids"][:] < k).sum()))
f.attrs["commit_state"] = np.array(words, dtype=np.uint64)
"#;

#[test]
fn rows_beyond_the_commit_are_rewritten_by_resume() {
    for io in [Io::Posix, Io::MpiIo] {
        rows_beyond_the_commit(io);
    }
}

fn rows_beyond_the_commit(io: Io) {
    let root = tempfile::tempdir().unwrap();
    let dir = root.path();
    write_config(dir, 4);
    assert!(child(dir, io, None, false).0);
    let (reference, rolled) = (dir.join("reference.h5"), dir.join(OUTPUT));
    std::fs::rename(&rolled, &reference).unwrap();
    for keep in [6, 4, 2, 0] {
        std::fs::copy(&reference, &rolled).unwrap();
        let out = Command::new("python3")
            .args(["-c", ROLL_BACK])
            .arg(&rolled)
            .arg(keep.to_string())
            .output()
            .expect("python3 with h5py (installed by scripts/setup.sh)");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let (ok, _, err) = child(dir, io, None, true);
        assert!(
            ok,
            "--resume after rolling back to {keep} trials failed: {err}"
        );
        if let Some(d) = h5diff(&reference, &rolled) {
            panic!("{io:?}: resumed from {keep} committed trials, the file differs:\n{d}");
        }
    }
}
