//! Test helpers: locating the read-only reference data and running Python cross-checks.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;

fn require() -> bool {
    std::env::var("ISF_REQUIRE_REFERENCE").as_deref() == Ok("1")
}

/// `../shared/<rel>` (or `$ISF_SHARED/<rel>`), or `None` with a skip notice; a failure when
/// `ISF_REQUIRE_REFERENCE=1`. Mirrors `isf::testing::shared_path` (isf-post cannot depend on isf).
pub fn shared_path(rel: &str) -> Option<PathBuf> {
    let base = if let Ok(p) = std::env::var("ISF_SHARED") {
        Some(PathBuf::from(p))
    } else {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .ancestors()
            .skip(1)
            .map(|a| a.join("shared"))
            .find(|p| p.join("reference").is_dir())
    };
    let found = base.map(|b| b.join(rel)).filter(|p| p.exists());
    if found.is_none() {
        assert!(
            !require(),
            "reference data `../shared/{rel}` is missing and ISF_REQUIRE_REFERENCE=1"
        );
        eprintln!("notice: reference data `../shared/{rel}` not found; skipping this test");
    }
    found
}

/// Runs `python3 -c script args…` if python3 with the given modules exists; `None` (skip notice)
/// otherwise, a failure under `ISF_REQUIRE_REFERENCE=1`. Panics if the script fails.
pub fn run_python(script: &str, modules: &[&str], args: &[&str]) -> Option<String> {
    let probe = format!("import {}", modules.join(", "));
    let ok = Command::new("python3")
        .args(["-c", &probe])
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false);
    if !ok {
        assert!(
            !require(),
            "python3 with {modules:?} is required (ISF_REQUIRE_REFERENCE=1)"
        );
        eprintln!(
            "notice: python3 with {modules:?} not available; skipping the Python cross-check"
        );
        return None;
    }
    let out = Command::new("python3")
        .arg("-c")
        .arg(script)
        .args(args)
        .output()
        .expect("python3 runs");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "python script failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    Some(stdout)
}

/// Runs the tests of one binary one at a time (hold the guard for the whole test).
///
/// Tests of one binary are threads of one process. HDF5 `flock`s every file it opens and opens
/// without close-on-exec, so a child process spawned by one test (python3, the `isf` binary)
/// inherits the descriptors of files another test has open at that moment and keeps their locks
/// for its whole life; the other test's next open of its own file then fails with
/// "unable to lock file, errno = 11". Serialising the tests that open HDF5 files and spawn
/// processes removes that race without turning HDF5's locking off.
pub fn serial() -> std::sync::MutexGuard<'static, ()> {
    static LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());
    LOCK.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}
