//! The run layer end to end: `isf simulate --config` on the embedded example under several MPI
//! decompositions and the serial build, a killed-and-resumed run, SONATA/h5py readability and bad
//! input. Processes are spawned (MPI can be initialised once per process), each with a fresh TMPDIR.
// The serial build (`--no-default-features`) runs only the tests that need no mpirun.
#![cfg_attr(not(feature = "mpi"), allow(dead_code))]

use std::path::{Path, PathBuf};
use std::process::Command;
#[cfg(feature = "mpi")]
use std::time::{Duration, Instant};

use crate::common;

use common::process::{check, isf};
#[cfg(feature = "mpi")]
use common::process::{command_in, mpirun, simulate_under_mpirun, spawn_until_stderr, ISF};

/// Objects that must be identical between runs; rank, wall time and provenance legitimately differ.
const COMPARED: &[&str] = &[
    "/cells",
    "/spikes",
    "/trials/trial_id",
    "/trials/cell_id",
    "/trials/seed",
    "/trials/sweep",
    "/trials/n_soma_spikes",
];

/// Writes the embedded example into `dir/example` and a run config for it.
fn example_run(dir: &Path, trials: i64, batch_size: i64, output: &str) -> PathBuf {
    let ex = dir.join("example");
    if !ex.exists() {
        check(
            isf(dir).arg("example").arg(&ex).output().unwrap(),
            "isf example",
        );
    }
    let cfg = dir.join(format!("{output}.toml"));
    std::fs::write(
        &cfg,
        format!(
            "output = \"{output}\"\nbase_seed = 424242\nbatch_size = {batch_size}\n\
             [record]\nevery_k_steps = 2\nall_segments_every_k_steps = 8\n\
             [[cell]]\nname = \"example\"\ncell_param = \"example/cell.param\"\n\
             network_param = \"example/network.param\"\ntrials = {trials}\nt_stop_ms = 60.0\n"
        ),
    )
    .unwrap();
    cfg
}

pub(crate) fn h5diff_same(a: &Path, b: &Path) {
    for obj in COMPARED {
        let out = Command::new("h5diff")
            .arg(a)
            .arg(b)
            .arg(obj)
            .arg(obj)
            .output()
            .expect("h5diff (hdf5-tools)");
        assert!(
            out.status.success(),
            "h5diff {} {} {obj}: {}{}",
            a.display(),
            b.display(),
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

/// Compares every dataset and attribute outside the provenance (and the rank/wall-time columns)
/// byte for byte with h5py; prints the number of objects compared.
const PY_COMPARE: &str = r#"
import sys, h5py, numpy as np
skip = ("/provenance", "/trials/rank", "/trials/wall_time_s")
def items(f):
    out = {}
    def visit(name, obj):
        p = "/" + name
        if p.startswith(skip): return
        for k, v in obj.attrs.items(): out[p + "@" + k] = np.asarray(v)
        if isinstance(obj, h5py.Dataset): out[p] = obj[()]
    for k, v in f.attrs.items(): out["/@" + k] = np.asarray(v)
    f.visititems(visit)
    return out
a, b = (items(h5py.File(p, "r")) for p in sys.argv[1:3])
assert a.keys() == b.keys(), sorted(set(a) ^ set(b))
for k in a:
    x, y = np.asarray(a[k]), np.asarray(b[k])
    assert x.dtype == y.dtype and x.shape == y.shape, k
    if x.dtype == object:
        assert x.tolist() == y.tolist(), k
    else:
        assert x.tobytes() == y.tobytes(), k
print(len(a))
"#;

pub(crate) fn py_same(a: &Path, b: &Path) {
    let out = check(
        Command::new("python3")
            .arg("-c")
            .arg(PY_COMPARE)
            .arg(a)
            .arg(b)
            .output()
            .unwrap(),
        "h5py comparison",
    );
    let n: usize = String::from_utf8_lossy(&out.stdout).trim().parse().unwrap();
    assert!(n > 30, "only {n} objects compared");
}

#[cfg(feature = "mpi")]
#[test]
fn results_do_not_depend_on_ranks_or_build() {
    let d = tempfile::tempdir().unwrap();
    let dir = d.path();
    let mut files = Vec::new();
    for np in [1u32, 2, 4] {
        let name = format!("np{np}.h5");
        let cfg = example_run(dir, 8, 4, &name);
        simulate_under_mpirun(dir, np, &cfg);
        files.push(dir.join(name));
    }
    // The serial build (`--no-default-features`, serial HDF5) is built by scripts/test.sh.
    match std::env::var_os("ISF_SERIAL_BIN") {
        Some(bin) => {
            let cfg = example_run(dir, 8, 4, "serial.h5");
            check(
                command_in(dir, bin)
                    .args(["simulate", "--no-progress", "--config"])
                    .arg(&cfg)
                    .output()
                    .unwrap(),
                "serial build",
            );
            files.push(dir.join("serial.h5"));
        }
        None => eprintln!("notice: ISF_SERIAL_BIN not set; the serial build is not compared"),
    }
    let ranks = Command::new("python3")
        .arg("-c")
        .arg("import h5py,sys; print(sorted(set(h5py.File(sys.argv[1])['trials/rank'][()].tolist())))")
        .arg(&files[2])
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&ranks.stdout).trim(),
        "[0, 1, 2, 3]",
        "4 ranks all worked"
    );
    for f in &files[1..] {
        h5diff_same(&files[0], f);
        py_same(&files[0], f);
    }
}

/// Trials batched in the vector lanes (docs/architecture.md#batched-trials) on 1 and 2 ranks
/// give the file of trials run one at a time (`ISF_BATCH_LANES=1`), 12 trials, 8 per output
/// batch and one thread per rank (so that each rank gets groups of several trials, a partial
/// one among them), and so does a batch width the CPU may not have (2 lanes).
#[cfg(feature = "mpi")]
#[test]
fn batched_trials_give_the_file_of_single_trials() {
    let d = tempfile::tempdir().unwrap();
    let dir = d.path();
    let run = |np: u32, lanes: Option<&str>, name: &str| {
        let cfg = example_run(dir, 12, 8, name);
        let mut c = mpirun(dir, np, ISF);
        c.args(["simulate", "--no-progress", "--threads", "1", "--config"])
            .arg(&cfg);
        if let Some(l) = lanes {
            c.env("ISF_BATCH_LANES", l);
        }
        check(c.output().unwrap(), &format!("np {np}, lanes {lanes:?}"));
        dir.join(name)
    };
    let single = run(1, Some("1"), "single.h5");
    for (np, lanes, name) in [
        (1, None, "batched_np1.h5"),
        (2, None, "batched_np2.h5"),
        (1, Some("2"), "lanes2.h5"),
    ] {
        let f = run(np, lanes, name);
        h5diff_same(&single, &f);
        py_same(&single, &f);
    }
}

/// Kills (SIGKILL) the processes we started whose command line mentions `marker`.
fn kill_by_marker(marker: &str) {
    for e in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = e.file_name().to_string_lossy().parse::<i32>() else {
            continue;
        };
        if let Ok(cmd) = std::fs::read(e.path().join("cmdline")) {
            if String::from_utf8_lossy(&cmd).contains(marker) && pid != std::process::id() as i32 {
                let _ = Command::new("kill")
                    .args(["-KILL", &pid.to_string()])
                    .status();
            }
        }
    }
}

fn alive_with_marker(marker: &str) -> bool {
    std::fs::read_dir("/proc").unwrap().flatten().any(|e| {
        e.file_name()
            .to_string_lossy()
            .parse::<u32>()
            .is_ok_and(|p| p != std::process::id())
            && std::fs::read(e.path().join("cmdline"))
                .is_ok_and(|c| String::from_utf8_lossy(&c).contains(marker))
    })
}

/// Checks with h5py that `partial` holds only complete batches, each equal to `full`'s rows.
const PY_PARTIAL: &str = r#"
import sys, h5py, numpy as np
p, f = h5py.File(sys.argv[1], "r"), h5py.File(sys.argv[2], "r")
s, full = p.attrs["commit_state"], f.attrs["commit_state"]
batches, trials = int(s[0]), int(s[1])
assert 1 <= batches < int(p.attrs["n_batches_total"]), s
assert trials == batches * int(p.attrs["batch_size"]), s
for k in ("trial_id", "seed", "sweep", "n_soma_spikes"):
    a = p["trials/" + k][()]
    assert len(a) == trials and (a == f["trials/" + k][:trials]).all(), k
cells = list(p["cells"])
for i, c in enumerate(cells):
    rows, syn, syn_t, pre, pre_t, spikes = (int(x) for x in s[2 + 6 * i: 8 + 6 * i])
    g, h = p["cells/" + c], f["cells/" + c]
    assert g["soma_vm"].shape[0] == rows and (g["soma_vm"][()] == h["soma_vm"][:rows]).all()
    for site in g["sites"]:
        assert (g["sites/" + site][()] == h["sites/" + site][:rows]).all()
    vm = g["all_segments/vm"]
    assert vm.shape[0] >= rows and (vm[:rows] == h["all_segments/vm"][:rows]).all()
    for grp, n, nt in (("synapse_activations", syn, syn_t), ("presynaptic_spikes", pre, pre_t)):
        assert g[grp + "/times_ms"].shape[0] == nt and g[grp + "/population"].shape[0] == n
        assert (g[grp + "/times_ms"][()] == h[grp + "/times_ms"][:nt]).all()
    assert p["spikes/" + c + "/timestamps"].shape[0] == spikes
print(batches)
"#;

#[cfg(feature = "mpi")]
#[test]
fn killed_run_keeps_complete_batches_and_resumes_to_the_same_file() {
    let d = tempfile::tempdir().unwrap();
    let dir = d.path();
    let full_cfg = example_run(dir, 8, 2, "full.h5");
    check(
        mpirun(dir, 2, ISF)
            .args(["simulate", "--no-progress", "--config"])
            .arg(&full_cfg)
            .output()
            .unwrap(),
        "uninterrupted run",
    );
    let cfg = example_run(dir, 8, 2, "killed.h5");
    let marker = cfg.to_string_lossy().into_owned();
    let mut child = spawn_until_stderr(
        mpirun(dir, 2, ISF)
            .args(["-v", "simulate", "--no-progress", "--config"])
            .arg(&cfg)
            // Long enough trials that the kill lands while batch 2 is being computed, not written.
            .env("ISF_TEST_TRIAL_DELAY_MS", "1500"),
        "committed batch 1/",
    );
    child.kill().unwrap(); // SIGKILL to mpirun
    let _ = child.wait();
    kill_by_marker(&marker); // its ranks, orphaned
    let deadline = Instant::now() + Duration::from_secs(20);
    while alive_with_marker(&marker) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(100));
    }
    let killed = dir.join("killed.h5");
    let out = check(
        Command::new("python3")
            .arg("-c")
            .arg(PY_PARTIAL)
            .arg(&killed)
            .arg(dir.join("full.h5"))
            .output()
            .unwrap(),
        "h5py check of the killed run",
    );
    eprintln!(
        "killed run kept {} complete batches",
        String::from_utf8_lossy(&out.stdout).trim()
    );

    // Without --resume the file is refused and left alone.
    let before = std::fs::read(&killed).unwrap();
    let out = isf(dir)
        .args(["simulate", "--no-progress", "--config"])
        .arg(&cfg)
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--resume"));
    assert_eq!(
        std::fs::read(&killed).unwrap(),
        before,
        "refused run touched the file"
    );

    check(
        mpirun(dir, 2, ISF)
            .args(["simulate", "--no-progress", "--resume", "--config"])
            .arg(&cfg)
            .output()
            .unwrap(),
        "resumed run",
    );
    h5diff_same(&dir.join("full.h5"), &killed);
    py_same(&dir.join("full.h5"), &killed);
}

/// The run's recording of every segment equals the full-cell re-simulation of its trials (to f32
/// rounding), whichever rank simulated them, with one rank and with two.
#[cfg(feature = "mpi")]
#[test]
fn all_segments_recording_equals_the_full_cell_resimulation() {
    let d = tempfile::tempdir().unwrap();
    let dir = d.path();
    for np in [1u32, 2] {
        let name = format!("segments_np{np}.h5");
        let cfg = example_run(dir, 4, 2, &name);
        simulate_under_mpirun(dir, np, &cfg);
        let results = dir.join(&name);
        let ranks = check(
            Command::new("python3")
                .arg("-c")
                .arg(
                    "import h5py,sys; f=h5py.File(sys.argv[1]); \
                     print(' '.join(map(str, f['trials/rank'][()].tolist())), \
                     f['cells/example/all_segments/vm'].shape)",
                )
                .arg(&results)
                .output()
                .unwrap(),
            "h5py",
        );
        let ranks = String::from_utf8_lossy(&ranks.stdout).into_owned();
        // 60 ms at dt 0.025: 2401 samples, every 8th kept.
        assert!(ranks.contains("(4, 274, 301)"), "{ranks}");
        for trial in 0..4 {
            let png = dir.join(format!("np{np}_{trial}.png"));
            let out = check(
                isf(dir)
                    .args([
                        "plot",
                        "morphology",
                        "--resimulate",
                        "--at",
                        "30",
                        "--results",
                    ])
                    .arg(&results)
                    .args(["--trial", &trial.to_string(), "--out"])
                    .arg(&png)
                    .output()
                    .unwrap(),
                "isf plot morphology --resimulate",
            );
            let out = String::from_utf8_lossy(&out.stdout).into_owned();
            for q in ["soma trace", "voltage of every segment"] {
                assert!(
                    out.contains(&format!("re-simulated {q} reproduces the stored one")),
                    "np {np}, trial {trial} (ranks {ranks}): {out}"
                );
            }
            // Without --resimulate the recording itself is drawn.
            let out = check(
                isf(dir)
                    .args([
                        "plot",
                        "morphology",
                        "--overwrite",
                        "--at",
                        "30",
                        "--results",
                    ])
                    .arg(&results)
                    .args(["--trial", &trial.to_string(), "--out"])
                    .arg(&png)
                    .output()
                    .unwrap(),
                "isf plot morphology",
            );
            let out = String::from_utf8_lossy(&out.stdout).into_owned();
            assert!(out.contains("drawing its recording (301 samples"), "{out}");
        }
        if np == 2 {
            let by_rank = ranks.split('(').next().unwrap_or("");
            assert!(
                by_rank.split_whitespace().any(|r| r == "1"),
                "rank 1 simulated a trial: {ranks}"
            );
        }
    }
}

const PY_READ: &str = r#"
import sys, h5py, numpy as np, libsonata
f = h5py.File(sys.argv[1], "r")
n = 0
def visit(name, obj):
    global n
    if isinstance(obj, h5py.Dataset):
        obj[()]; n += 1
f.visititems(visit)
r = libsonata.SpikeReader(sys.argv[1])
total = 0
for pop in r.get_population_names():
    s = r[pop]
    assert s.sorting == "by_id", s.sorting
    spikes = s.get()
    g = f["cells/" + pop]
    first, ntr = int(g.attrs["first_trial_id"]), int(g.attrs["n_trials"])
    counts = f["trials/n_soma_spikes"][first:first + ntr]
    assert len(spikes) == counts.sum()
    ts = f["spikes/" + pop + "/timestamps"][()]
    assert np.array_equal(np.array([t for _, t in spikes]), ts)
    assert f["spikes/" + pop + "/timestamps"].attrs["units"] == "ms"
    # Ragged arrays: every trial's synapse rows and time ranges are consistent.
    sa = g["synapse_activations"]
    start, count = sa["trial_start"][()], sa["trial_count"][()]
    assert (start[1:] == start[:-1] + count[:-1]).all()
    ts0, tc = sa["times_start"][()], sa["times_count"][()]
    assert ts0[-1] + tc[-1] == sa["times_ms"].shape[0]
    names = list(g.attrs["population_names"])
    assert sa["population"][()].max() < len(names)
    total += len(spikes)
t = f["cells/example/t_ms"][()]
v = f["cells/example/soma_vm"]
assert v.dtype == np.float32 and v.shape[1] == len(t) and v.chunks == (1, len(t))
assert abs(v.attrs["dt"] - (t[1] - t[0])) < 1e-12 and v.attrs["units"] == "mV"
print(n, total)
"#;

#[test]
fn results_read_with_h5py_and_libsonata() {
    let d = tempfile::tempdir().unwrap();
    let dir = d.path();
    let cfg = example_run(dir, 5, 2, "read.h5");
    check(
        isf(dir)
            .args(["simulate", "--no-progress", "--config"])
            .arg(&cfg)
            .output()
            .unwrap(),
        "run",
    );
    let out = check(
        Command::new("python3")
            .arg("-c")
            .arg(PY_READ)
            .arg(dir.join("read.h5"))
            .output()
            .unwrap(),
        "h5py/libsonata read",
    );
    let s = String::from_utf8_lossy(&out.stdout);
    let mut it = s.split_whitespace().map(|x| x.parse::<usize>().unwrap());
    let (datasets, spikes) = (it.next().unwrap(), it.next().unwrap());
    assert!(datasets >= 25, "{datasets} datasets read");
    assert!(spikes > 0, "no soma spikes to check the SONATA layout with");
}

fn expect_error(dir: &Path, cfg: &Path, extra: &[&str], needle: &str) {
    let out = isf(dir)
        .args(["simulate", "--no-progress"])
        .args(extra)
        .arg("--config")
        .arg(cfg)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "expected failure for {needle}");
    assert!(
        err.contains("error:") && err.contains(needle),
        "expected `{needle}` in: {err}"
    );
}

#[test]
fn bad_input_is_refused_before_any_simulation() {
    let d = tempfile::tempdir().unwrap();
    let dir = d.path();
    let good = std::fs::read_to_string(example_run(dir, 4, 2, "out.h5")).unwrap();
    let write = |name: &str, text: String| {
        let p = dir.join(name);
        std::fs::write(&p, text).unwrap();
        p
    };
    let missing = write(
        "missing.toml",
        good.replace("example/network.param", "example/nope.param"),
    );
    expect_error(dir, &missing, &[], "nope.param");
    let negative = write("negative.toml", good.replace("trials = 4", "trials = -4"));
    expect_error(dir, &negative, &[], "cell[0].trials");
    let unknown = write(
        "unknown.toml",
        good.replace("base_seed", "seed = 1\nbase_seed"),
    );
    expect_error(dir, &unknown, &[], "seed");
    let no_dir = write(
        "nodir.toml",
        good.replace("\"out.h5\"", "\"no/such/dir/out.h5\""),
    );
    expect_error(dir, &no_dir, &[], "does not exist");
    let unwritable = write(
        "unwritable.toml",
        good.replace("\"out.h5\"", "\"/proc/isf-out.h5\""),
    );
    expect_error(dir, &unwritable, &[], "not writable");
    assert!(!dir.join("out.h5").exists(), "nothing was written");

    // An existing file is neither replaced nor resumed into unless asked, and a foreign file is
    // never touched.
    let existing = dir.join("out.h5");
    std::fs::write(&existing, b"precious").unwrap();
    let cfg = write("run.toml", good.clone());
    expect_error(dir, &cfg, &[], "already exists");
    expect_error(dir, &cfg, &["--resume"], "out.h5");
    assert_eq!(std::fs::read(&existing).unwrap(), b"precious");
    check(
        isf(dir)
            .args(["simulate", "--no-progress", "--overwrite", "--config"])
            .arg(&cfg)
            .output()
            .unwrap(),
        "--overwrite",
    );
    assert_ne!(std::fs::read(&existing).unwrap(), b"precious");

    // A changed input refuses --resume.
    let changed = write(
        "changed.toml",
        good.replace("base_seed = 424242", "base_seed = 424243"),
    );
    std::fs::copy(&existing, dir.join("changed.h5")).unwrap();
    let changed_text = std::fs::read_to_string(&changed)
        .unwrap()
        .replace("\"out.h5\"", "\"changed.h5\"");
    std::fs::write(&changed, changed_text).unwrap();
    expect_error(dir, &changed, &["--resume"], "changed since");
}
