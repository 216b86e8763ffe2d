//! Reliability of `isf simulate --config` and its results file. Fault injection: a 3-batch serial run is stopped at every point where it
//! changes the file (each dataset extension, row write, flush, commit and the install of a new
//! file), once by aborting the process there (as a SIGKILL or a node failure would) and once by
//! failing the write (as a full disk does); `--resume` must then finish a file equal to the
//! uninterrupted run's. Both HDF5 drivers are covered: POSIX (the build without MPI) and MPI-IO
//! (every run of the MPI build). Runs happen in child processes (this test binary re-executed in
//! its `child_run` mode), so an abort leaves the file exactly as a dead process would.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

mod common;

use isf::comm::{Communicator, SerialCommunicator};
use isf::output::results_h5::WriteHook;
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

/// What a run does at its write point `at`.
#[derive(Clone, Copy, Debug, PartialEq)]
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

/// One run of a child's plan: the config in `dir`, a fault at write point `at` (if any),
/// continuing the existing output or not.
struct Step {
    dir: PathBuf,
    fault: Option<(Fault, u64)>,
    resume: bool,
}

/// What a step did: Ok(write points passed) or the run's error.
type Outcome = Result<u64, String>;

/// Runs `plan` in one child process (one MPI initialisation for all its steps) and returns the
/// outcome of each step it finished; an aborted child returns the steps before the abort.
fn child(io: Io, plan: &[Step]) -> Vec<Outcome> {
    let scratch = tempfile::tempdir().unwrap();
    let text: String = plan
        .iter()
        .map(|s| {
            let (kind, at) = s
                .fault
                .map_or(("None".into(), 0), |(k, n)| (format!("{k:?}"), n));
            format!("{}\t{kind}\t{at}\t{}\n", s.dir.display(), s.resume)
        })
        .collect();
    let plan_file = scratch.path().join("plan.tsv");
    std::fs::write(&plan_file, text).unwrap();
    let out = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "child_run",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env("TMPDIR", scratch.path())
        .env("OMPI_ALLOW_RUN_AS_ROOT", "1")
        .env("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1")
        // A singleton MPI world without a daemon or network transports starts in a fifth of
        // the time, which matters over a thousand launches.
        .env("OMPI_MCA_ess_singleton_isolated", "1")
        .env("OMPI_MCA_btl", "self")
        .env("OMPI_MCA_pml", "ob1")
        .env("ISF_FAULT_IO", format!("{io:?}"))
        .env("ISF_FAULT_PLAN", &plan_file)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    stdout
        .lines()
        .filter_map(|l| l.split_once("STEP\t").map(|(_, r)| r))
        .map(|r| match r.split_once('\t') {
            Some(("OK", n)) => Ok(n.trim().parse().unwrap_or(0)),
            Some((_, msg)) => Err(msg.to_string()),
            None => Err(r.to_string()),
        })
        .collect()
}

/// The child's side: runs the steps of the plan in `ISF_FAULT_PLAN`, printing one
/// `STEP\tOK\t<write points>` or `STEP\tERR\t<error>` line per step.
#[test]
#[ignore = "entry point of the child processes of the fault tests"]
fn child_run() {
    let Ok(plan) = std::env::var("ISF_FAULT_PLAN") else {
        return;
    };
    let world: Box<dyn Communicator> = if std::env::var("ISF_FAULT_IO").as_deref() == Ok("MpiIo") {
        let w = isf::comm::world();
        assert!(w.mpi_comm().is_some(), "this build has no MPI");
        w
    } else {
        Box::new(SerialCommunicator)
    };
    for line in std::fs::read_to_string(plan).unwrap().lines() {
        let f: Vec<&str> = line.split('\t').collect();
        let (dir, kind, at, resume) = (f[0], f[1].to_string(), f[2].parse::<u64>().unwrap(), f[3]);
        let count = Arc::new(AtomicU64::new(0));
        let seen = count.clone();
        let hook = WriteHook(Arc::new(move |what: &str| {
            let n = seen.fetch_add(1, Ordering::SeqCst) + 1;
            match kind.as_str() {
                "Abort" if n == at => std::process::abort(),
                "DiskFull" if n == at => Err(format!(
                    "No space left on device (injected before `{what}`)"
                )),
                _ => Ok(()),
            }
        }));
        let opts = RunOptions {
            resume: resume == "true",
            threads: Some(1),
            write_hook: Some(hook),
            ..Default::default()
        };
        match run_config(&Path::new(dir).join(CONFIG), &opts, world.as_ref()) {
            Ok(_) => println!("STEP\tOK\t{}", count.load(Ordering::SeqCst)),
            Err(e) => println!("STEP\tERR\t{}", format!("{e:#}").replace('\n', " ")),
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

/// Runs `f` over `items` on two threads and gathers its failure messages.
fn on_two_threads<T: Sync>(items: &[T], f: impl Fn(&T) -> Vec<String> + Sync) -> Vec<String> {
    let failures = Mutex::new(Vec::new());
    let next = AtomicU64::new(0);
    std::thread::scope(|s| {
        for _ in 0..2 {
            s.spawn(|| {
                while let Some(item) = items.get(next.fetch_add(1, Ordering::SeqCst) as usize) {
                    failures.lock().unwrap().extend(f(item));
                }
            });
        }
    });
    failures.into_inner().unwrap()
}

fn every_write_point(io: Io) {
    let root = tempfile::tempdir().unwrap();
    let case_dir = |name: String| {
        let d = root.path().join(name);
        std::fs::create_dir(&d).unwrap();
        write_config(&d, 3);
        d
    };
    let reference = case_dir("reference".into());
    let done = child(
        io,
        &[Step {
            dir: reference.clone(),
            fault: None,
            resume: false,
        }],
    );
    let n_points = match done.as_slice() {
        [Ok(n)] => *n,
        other => panic!("{io:?}: the uninterrupted run failed: {other:?}"),
    };
    assert!(n_points > 100, "only {n_points} write points");
    let cases: Vec<(Fault, u64, PathBuf)> = [Fault::Abort, Fault::DiskFull]
        .into_iter()
        .flat_map(|k| (1..=n_points).map(move |n| (k, n)))
        .map(|(k, n)| (k, n, case_dir(format!("{k:?}-{n}"))))
        .collect();

    // Each faulty run in its own process, as on a cluster (a full disk ends the run through its
    // error path and the process exits; an abort kills it); then the resumes, in two children.
    let mut failures = on_two_threads(&cases, |(k, n, d)| {
        let got = child(
            io,
            &[Step {
                dir: d.clone(),
                fault: Some((*k, *n)),
                resume: false,
            }],
        );
        match (k, got.as_slice()) {
            (Fault::Abort, []) => vec![],
            (Fault::DiskFull, [Err(e)]) if e.contains("No space left on device") => vec![],
            (_, other) => vec![format!("{io:?} {k:?} at {n}: unexpected outcome {other:?}")],
        }
    });
    failures.extend(on_two_threads(&[0, 1], |half| {
        let mine: Vec<_> = cases.iter().skip(*half).step_by(2).collect();
        let plan: Vec<Step> = mine
            .iter()
            .map(|(_, _, d)| Step {
                dir: d.clone(),
                fault: None,
                resume: true,
            })
            .collect();
        let got = child(io, &plan);
        mine.iter()
            .enumerate()
            .filter(|(i, _)| !matches!(got.get(*i), Some(Ok(_))))
            .map(|(i, (k, n, _))| format!("{io:?} {k:?} at {n}: --resume: {:?}", got.get(i)))
            .collect()
    }));
    failures.extend(on_two_threads(&cases, |(k, n, d)| {
        if let Some(diff) = h5diff(&reference.join(OUTPUT), &d.join(OUTPUT)) {
            return vec![format!(
                "{io:?} {k:?} at {n}: the resumed file differs:\n{diff}"
            )];
        }
        match leftovers(d) {
            l if l.is_empty() => vec![],
            l => vec![format!("{io:?} {k:?} at {n}: left {l:?}")],
        }
    }));
    println!(
        "{io:?}: {n_points} write points × 2 faults: {} of {} resumed files equal to the uninterrupted run",
        cases.len() - failures.len().min(cases.len()),
        cases.len()
    );
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
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
    let step = |resume| Step {
        dir: dir.to_path_buf(),
        fault: None,
        resume,
    };
    assert!(matches!(child(io, &[step(false)]).as_slice(), [Ok(_)]));
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
        let got = child(io, &[step(true)]);
        assert!(
            matches!(got.as_slice(), [Ok(_)]),
            "{io:?}: --resume after rolling back to {keep} trials failed: {got:?}"
        );
        if let Some(d) = h5diff(&reference, &rolled) {
            panic!("{io:?}: resumed from {keep} committed trials, the file differs:\n{d}");
        }
    }
}

/// `--resume` refuses a run whose inputs changed, naming the file, for every kind of input: the
/// config's parameter files and everything they lead to (morphology, recording sites, `.syn`,
/// `.con`); the provenance lists each with its SHA-256.
#[test]
fn resume_refuses_any_changed_input() {
    let root = tempfile::tempdir().unwrap();
    let dir = root.path();
    let cell = example_cell(dir, "example", "network.param");
    std::fs::write(
        dir.join(CONFIG),
        format!("output = \"{OUTPUT}\"\nbase_seed = 3\nbatch_size = 2\n{cell}"),
    )
    .unwrap();
    let step = |resume| Step {
        dir: dir.to_path_buf(),
        fault: None,
        resume,
    };
    let got = child(Io::Posix, &[step(false)]);
    assert!(matches!(got.as_slice(), [Ok(_)]), "{got:?}");
    let f = hdf5::File::open(dir.join(OUTPUT)).unwrap();
    let listed: Vec<String> = f
        .group("provenance")
        .unwrap()
        .attr("input_files")
        .unwrap()
        .read_raw::<hdf5::types::VarLenUnicode>()
        .unwrap()
        .iter()
        .map(|s| s.to_string())
        .collect();
    drop(f);
    let kinds = [
        ("cell.param", "\n"),
        ("network.param", "\n"),
        ("example_l5pt.hoc", "\n// changed\n"),
        ("apical_trunk_rec_sites.landmarkAscii", "\n"),
        ("example_l5pt.syn", "\n# changed\n"),
        ("example_l5pt.con", "\n# changed\n"),
    ];
    for (name, extra) in kinds {
        let path = dir.join("model").join(name);
        assert!(
            listed.iter().any(|l| l.ends_with(name)),
            "the provenance does not list {name}: {listed:?}"
        );
        let original = std::fs::read(&path).unwrap();
        let mut changed = original.clone();
        changed.extend_from_slice(extra.as_bytes());
        std::fs::write(&path, &changed).unwrap();
        let got = child(Io::Posix, &[step(true)]);
        std::fs::write(&path, &original).unwrap();
        match got.as_slice() {
            [Err(e)] if e.contains("changed") && e.contains(name) => {}
            other => panic!("--resume after changing {name}: {other:?}"),
        }
    }
    // Unchanged inputs: the complete run resumes as a no-op.
    let got = child(Io::Posix, &[step(true)]);
    assert!(matches!(got.as_slice(), [Ok(_)]), "{got:?}");
}

/// Returns once no process holds the `flock` of lock file `lock` (at most 30 s): the processes of
/// a killed launch release it when they have exited.
#[cfg(feature = "mpi")]
fn wait_until_unlocked(lock: &Path) {
    use std::os::fd::AsRawFd;
    use std::time::{Duration, Instant};
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        let Ok(f) = std::fs::File::open(lock) else {
            return;
        };
        // SAFETY: flock on the descriptor of a file this function holds open; closing it
        // (dropping `f`) releases a lock taken here.
        if unsafe { libc::flock(f.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) } == 0 {
            return;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// `mpirun -np 2 isf simulate --config` killed with SIGKILL (every process of the launch) at 30
/// random times, resumed each time, then finished: the file equals an uninterrupted run's.
#[cfg(feature = "mpi")]
#[test]
fn mpirun_killed_thirty_times_then_resumed() {
    use common::process::{has_mpirun, mpirun, ISF};
    use std::os::unix::process::CommandExt;
    use std::time::{Duration, Instant};
    assert!(has_mpirun(), "mpirun is installed by scripts/setup.sh");
    let root = tempfile::tempdir().unwrap();
    let (reference, killed) = (root.path().join("reference"), root.path().join("killed"));
    for d in [&reference, &killed] {
        std::fs::create_dir(d).unwrap();
        write_config(d, 9); // 12 trials: 6 batches, the last of 2 cells
    }
    let launch = |dir: &Path, resume: bool| {
        let mut c = mpirun(dir, 2, ISF);
        c.args(["simulate", "--config", CONFIG, "--no-progress"])
            .env("ISF_TEST_TRIAL_DELAY_MS", "60")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .process_group(0);
        if resume {
            c.arg("--resume");
        }
        c
    };
    let out = launch(&reference, false).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // Kill times from a small LCG seeded by the clock (printed, to reproduce a failure).
    let seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64;
    println!("kill-time seed {seed}");
    let mut state = seed | 1;
    let mut uniform = move || {
        state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (state >> 11) as f64 / (1u64 << 53) as f64
    };
    let (mut kills, mut finished_early) = (0, 0);
    while kills < 30 {
        let mut child = launch(&killed, true).spawn().unwrap();
        let pgid = child.id() as i32;
        let deadline = Instant::now() + Duration::from_secs_f64(0.2 + 1.6 * uniform());
        while Instant::now() < deadline && child.try_wait().unwrap().is_none() {
            std::thread::sleep(Duration::from_millis(5));
        }
        if child.try_wait().unwrap().is_some() {
            // The run finished before its kill time: start it again from scratch.
            finished_early += 1;
            std::fs::remove_file(killed.join(OUTPUT)).unwrap();
            continue;
        }
        // SAFETY: signalling the process group this test created.
        unsafe {
            libc::kill(-pgid, libc::SIGKILL);
        }
        child.wait().unwrap();
        // mpirun is reaped, but its ranks may still be exiting and holding the output's lock;
        // a resume started now is refused ("in use"), rightly. Wait, as a user would.
        wait_until_unlocked(&killed.join(format!("{OUTPUT}.lock")));
        kills += 1;
    }
    let out = launch(&killed, true).output().unwrap();
    assert!(
        out.status.success(),
        "the final --resume failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    println!("{kills} kills ({finished_early} runs finished before their kill time)");
    if let Some(d) = h5diff(&reference.join(OUTPUT), &killed.join(OUTPUT)) {
        panic!("after {kills} kills and resumes the file differs:\n{d}");
    }
    assert!(
        leftovers(&killed).is_empty(),
        "left {:?}",
        leftovers(&killed)
    );
}

/// A second `simulate --config` on an output in use (plain, `--resume`, `--overwrite`) fails at
/// once naming the first run's host and pid; the first run finishes a file equal to an
/// undisturbed run's. SIGTERM then stops a run between trials (exit 143) keeping its committed
/// batches, and `--resume` finishes it.
#[test]
fn output_in_use_and_interrupts() {
    use common::process::isf;
    let root = tempfile::tempdir().unwrap();
    let (reference, dir) = (root.path().join("reference"), root.path().join("busy"));
    for d in [&reference, &dir] {
        std::fs::create_dir(d).unwrap();
        write_config(d, 9);
    }
    let run = |d: &Path, extra: &[&str]| {
        let mut c = isf(d);
        c.args(["simulate", "--config", CONFIG, "--no-progress", "-v"])
            .args(extra);
        c
    };
    let out = run(&reference, &[]).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let mut first = run(&dir, &[]);
    first.env("ISF_TEST_TRIAL_DELAY_MS", "600");
    let (mut first, first_log) = spawn_logging_until(&mut first, "committed batch 1/");
    let host = isf_io::lock::hostname();
    for extra in [&[][..], &["--resume"], &["--overwrite"]] {
        let t = std::time::Instant::now();
        let out = run(&dir, extra).output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{extra:?}: a second run succeeded");
        assert!(
            err.contains(&format!("is in use by pid {} on host {host}", first.id())),
            "{extra:?}: {err}"
        );
        println!(
            "second run {extra:?} refused in {:.2} s",
            t.elapsed().as_secs_f64()
        );
    }
    let status = first.wait().unwrap();
    assert!(
        status.success(),
        "the first run failed: {}",
        first_log.join().unwrap()
    );
    if let Some(d) = h5diff(&reference.join(OUTPUT), &dir.join(OUTPUT)) {
        panic!("the first run's file differs from an undisturbed run:\n{d}");
    }
    assert!(leftovers(&dir).is_empty(), "left {:?}", leftovers(&dir));

    // SIGTERM after the first committed batch: stops between trials, keeps what was committed.
    let mut c = run(&dir, &["--overwrite"]);
    c.env("ISF_TEST_TRIAL_DELAY_MS", "150");
    let (mut child, log) = spawn_logging_until(&mut c, "committed batch 1/");
    // SAFETY: signalling our own child.
    unsafe {
        libc::kill(child.id() as i32, libc::SIGTERM);
    }
    let status = child.wait().unwrap();
    let err = log.join().unwrap();
    assert_eq!(status.code(), Some(143), "{err}");
    assert!(
        err.contains("interrupted by SIGTERM") && err.contains("--resume"),
        "{err}"
    );
    assert!(
        !isf_io::lock::lock_path(&dir.join(OUTPUT)).exists(),
        "lock left"
    );
    let out = run(&dir, &["--resume"]).output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(err.contains("batches already complete"), "{err}");
    if let Some(d) = h5diff(&reference.join(OUTPUT), &dir.join(OUTPUT)) {
        panic!("interrupted and resumed, the file differs:\n{d}");
    }
}

/// Spawns `cmd` and returns it once a line of its stderr contains `needle`, with a thread that
/// keeps reading its stderr (so the process never writes into a closed pipe) and returns all of
/// it when the process ends.
fn spawn_logging_until(
    cmd: &mut Command,
    needle: &str,
) -> (std::process::Child, std::thread::JoinHandle<String>) {
    use std::io::BufRead;
    let mut child = cmd
        .stderr(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    let needle = needle.to_string();
    let reader = std::thread::spawn(move || {
        let mut all = String::new();
        for line in std::io::BufReader::new(stderr)
            .lines()
            .map_while(Result::ok)
        {
            if line.contains(&needle) {
                let _ = tx.send(());
            }
            all.push_str(&line);
            all.push('\n');
        }
        all
    });
    if rx.recv().is_err() {
        panic!(
            "the process never wrote the awaited line: {}",
            reader.join().unwrap()
        );
    }
    (child, reader)
}

/// A real full disk: the run's output on a small tmpfs stops with a message saying so and
/// keeping its committed batches; after the file system grows, `--resume` finishes a file equal
/// to an undisturbed run's. Needs permission to mount (root, as in CI); skipped with a notice
/// otherwise.
#[test]
fn full_disk_then_resume() {
    use common::process::isf;
    let root = tempfile::tempdir().unwrap();
    let (reference, dir) = (root.path().join("reference"), root.path().join("full"));
    for d in [&reference, &dir] {
        std::fs::create_dir(d).unwrap();
        write_config(d, 9);
    }
    let mount_point = dir.join("out");
    std::fs::create_dir(&mount_point).unwrap();
    let mount = |opts: &str| {
        Command::new("mount")
            .args(["-t", "tmpfs", "-o", opts, "tmpfs"])
            .arg(&mount_point)
            .status()
            .is_ok_and(|s| s.success())
    };
    let unmount = || {
        let _ = Command::new("umount").arg(&mount_point).status();
    };
    struct Unmount<'a>(&'a Path);
    impl Drop for Unmount<'_> {
        fn drop(&mut self) {
            let _ = Command::new("umount").arg(self.0).status();
        }
    }
    let _unmount = Unmount(&mount_point);
    let config = std::fs::read_to_string(dir.join(CONFIG)).unwrap().replace(
        &format!("output = \"{OUTPUT}\""),
        &format!("output = \"out/{OUTPUT}\""),
    );
    std::fs::write(dir.join(CONFIG), config).unwrap();
    let run = |d: &Path, extra: &[&str]| {
        isf(d)
            .args(["simulate", "--config", CONFIG, "--no-progress"])
            .args(extra)
            .output()
            .unwrap()
    };
    let out = run(&reference, &[]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // The smallest file system (in steps of 64 KiB) on which the run commits a batch and then
    // finds the disk full.
    let mut stopped = None;
    for kib in (1024..4096).step_by(64) {
        if !mount(&format!("size={kib}k")) {
            eprintln!(
                "notice: cannot mount a tmpfs here (not root?); skipping the real full-disk test"
            );
            return;
        }
        let out = run(&dir, &[]);
        let err = String::from_utf8_lossy(&out.stderr).into_owned();
        assert!(
            !out.status.success(),
            "the whole run fit in {kib} KiB before a larger size stopped it"
        );
        assert!(
            err.contains("not enough space") || err.contains("file system is full"),
            "{err}"
        );
        assert!(err.contains("--resume"), "{err}");
        if !err.contains("batch 0:") {
            stopped = Some((kib, err));
            break;
        }
        unmount();
    }
    let (kib, err) = stopped.expect("no size let a batch be committed");
    println!("full disk at {kib} KiB: {}", err.trim());
    assert!(mount("remount,size=64m"), "cannot grow the tmpfs");
    let out = run(&dir, &["--resume"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    if let Some(d) = h5diff(&reference.join(OUTPUT), &mount_point.join(OUTPUT)) {
        panic!("after a full disk and --resume the file differs:\n{d}");
    }
}

/// Writes the embedded example model into `dir/model` and returns the config text of one cell
/// of it (2 trials of 5 ms) named `name` with network parameter file `network`.
fn example_cell(dir: &Path, name: &str, network: &str) -> String {
    if !dir.join("model").exists() {
        let out = Command::new(env!("CARGO_BIN_EXE_isf"))
            .args(["example", "model"])
            .current_dir(dir)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    format!(
        "[[cell]]\nname = \"{name}\"\ncell_param = \"model/cell.param\"\n\
         network_param = \"model/{network}\"\ntrials = 2\nt_stop_ms = 5.0\n"
    )
}

/// A bad receptor parameter in the second cell's network file stops the run before any trial,
/// naming the file and the population, and no results file is left; an unwritable `isf_folder`
/// leaves no results file either.
#[test]
fn every_cell_and_output_checked_before_the_first_trial() {
    let root = tempfile::tempdir().unwrap();
    let dir = root.path();
    let good = example_cell(dir, "good", "network.param");
    let text = std::fs::read_to_string(dir.join("model/network.param")).unwrap();
    let bad_text = text.replacen("\"tau2\"", "\"tat2\"", 1);
    assert_ne!(text, bad_text);
    std::fs::write(dir.join("model/network_bad.param"), bad_text).unwrap();
    let bad = example_cell(dir, "bad", "network_bad.param");
    let head = format!("output = \"{OUTPUT}\"\nbase_seed = 3\nbatch_size = 2\n");
    std::fs::write(dir.join(CONFIG), format!("{head}{good}{bad}")).unwrap();
    let step = Step {
        dir: dir.to_path_buf(),
        fault: None,
        resume: false,
    };
    match child(Io::Posix, std::slice::from_ref(&step)).as_slice() {
        [Err(e)]
            if e.contains("network_bad.param")
                && e.contains("population `")
                && e.contains("tat2")
                && !e.contains("trial ") => {}
        other => panic!("{other:?}"),
    }
    assert!(!dir.join(OUTPUT).exists(), "a results file was left");

    let locked = dir.join("locked");
    std::fs::create_dir(&locked).unwrap();
    std::fs::set_permissions(&locked, std::os::unix::fs::PermissionsExt::from_mode(0o555)).unwrap();
    let probe = locked.join("probe");
    if std::fs::write(&probe, "").is_ok() {
        // Root ignores permissions: make the folder's place a file instead.
        std::fs::remove_file(&probe).unwrap();
        std::fs::set_permissions(&locked, std::os::unix::fs::PermissionsExt::from_mode(0o755))
            .unwrap();
        std::fs::remove_dir(&locked).unwrap();
        std::fs::write(&locked, "not a folder").unwrap();
    }
    std::fs::write(
        dir.join(CONFIG),
        format!("{head}isf_folder = \"locked/isf\"\n{good}"),
    )
    .unwrap();
    let got = child(Io::Posix, std::slice::from_ref(&step));
    assert!(
        matches!(got.as_slice(), [Err(e)] if e.contains("locked")),
        "{got:?}"
    );
    assert!(
        !dir.join(OUTPUT).exists(),
        "an unwritable isf_folder left a results file"
    );
}
