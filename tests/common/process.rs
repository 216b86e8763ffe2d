//! Spawning the `isf` binary (directly or under `mpirun`) for the end-to-end tests. Every launch
//! gets a fresh TMPDIR inside the test's folder: MPI can be initialised once per process, and
//! OpenMPI's session files of parallel launches must not meet.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};

/// The `isf` binary under test.
pub const ISF: &str = env!("CARGO_BIN_EXE_isf");

/// A new, kept temporary folder inside `dir` (removed with `dir`).
pub fn fresh_tmp(dir: &Path) -> PathBuf {
    tempfile::Builder::new()
        .prefix("tmp")
        .tempdir_in(dir)
        .unwrap()
        .keep()
}

/// `bin` run in `dir` with a fresh TMPDIR.
pub fn command_in(dir: &Path, bin: impl AsRef<std::ffi::OsStr>) -> Command {
    let mut c = Command::new(bin);
    c.current_dir(dir).env("TMPDIR", fresh_tmp(dir));
    c
}

/// The `isf` binary run in `dir` with a fresh TMPDIR.
pub fn isf(dir: &Path) -> Command {
    command_in(dir, ISF)
}

/// Whether an `mpirun` is on the PATH.
pub fn has_mpirun() -> bool {
    Command::new("mpirun")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

/// `mpirun -np NP BIN` in `dir`: oversubscribed and unbound (the test machine may have fewer
/// cores than ranks), allowed as root (containers, CI), with a fresh TMPDIR.
pub fn mpirun(dir: &Path, np: u32, bin: &str) -> Command {
    let mut c = command_in(dir, "mpirun");
    c.args([
        "-np",
        &np.to_string(),
        "--oversubscribe",
        "--bind-to",
        "none",
        bin,
    ])
    .env("OMPI_ALLOW_RUN_AS_ROOT", "1")
    .env("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1")
    .env("OMPI_MCA_rmaps_base_oversubscribe", "1");
    c
}

/// Runs `isf simulate --config CONFIG` under `mpirun -np NP` in `dir`; fails the test with its
/// output if it fails.
pub fn simulate_under_mpirun(dir: &Path, np: u32, config: &Path) -> Output {
    check(
        mpirun(dir, np, ISF)
            .args(["simulate", "--no-progress", "--config"])
            .arg(config)
            .output()
            .unwrap(),
        &format!("mpirun -np {np} isf simulate --config {}", config.display()),
    )
}

/// `out` if the process succeeded; else fails the test with its output.
pub fn check(out: Output, what: &str) -> Output {
    assert!(
        out.status.success(),
        "{what} failed ({}):\nstdout: {}\nstderr: {}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// Spawns `cmd` and returns it, running, once a line of its stderr contains `needle`; fails the
/// test when stderr ends first.
pub fn spawn_until_stderr(cmd: &mut Command, needle: &str) -> Child {
    let mut child = cmd
        .stderr(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let seen = BufReader::new(stderr)
        .lines()
        .map_while(Result::ok)
        .any(|l| l.contains(needle));
    assert!(seen, "the process never wrote `{needle}`");
    child
}
