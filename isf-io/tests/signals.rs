//! SIGINT/SIGTERM end a command cleanly: each case runs in a child process (this test binary
//! re-run with an environment variable naming the case) that takes a lock, stages an output and
//! then waits for the signal the parent sends.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use isf_io::{signals, OutputLock, StagedDir};

const CHILD_DIR: &str = "ISF_IO_SIGNAL_CHILD_DIR";

/// The child's side: does nothing unless run by [`run_child`].
#[test]
fn child_waits_for_a_signal() {
    let Ok(dir) = std::env::var(CHILD_DIR) else {
        return;
    };
    let out = PathBuf::from(dir).join("out");
    signals::install().unwrap();
    let _lock = OutputLock::acquire(&out, "child").unwrap();
    let staged = StagedDir::new(&out).unwrap();
    std::fs::write(staged.path().join("partial.csv"), "x").unwrap();
    let tmp = out.with_file_name("scratch");
    std::fs::write(&tmp, "scratch").unwrap();
    let _c = signals::remove_on_interrupt(&tmp);
    signals::set_note("out was not written");
    let polling = std::env::var("POLL").is_ok().then(signals::polling);
    println!("ready");
    loop {
        std::thread::sleep(std::time::Duration::from_millis(5));
        let ignore = std::env::var("POLL").is_ok_and(|v| v == "ignore");
        if polling.is_some() && !ignore && signals::interrupted() {
            println!("stopped at a check point");
            drop(staged);
            drop(_c);
            let _ = std::fs::remove_file(&tmp);
            drop(_lock);
            std::process::exit(signals::exit_code().unwrap());
        }
    }
}

fn run_child(
    dir: &Path,
    poll: Option<&str>,
    signals_to_send: &[i32],
) -> (Option<i32>, String, String) {
    let mut cmd = Command::new(std::env::current_exe().unwrap());
    cmd.args(["--exact", "child_waits_for_a_signal", "--nocapture"])
        .env(CHILD_DIR, dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    if let Some(p) = poll {
        cmd.env("POLL", p);
    }
    let mut child = cmd.spawn().unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut seen = String::new();
    loop {
        let mut line = String::new();
        assert!(
            stdout.read_line(&mut line).unwrap() > 0,
            "child ended: {seen}"
        );
        seen.push_str(&line);
        if line.trim() == "ready" {
            break;
        }
    }
    for &s in signals_to_send {
        // SAFETY: kill on our own child's pid.
        assert_eq!(unsafe { libc::kill(child.id() as i32, s) }, 0);
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let out = child.wait_with_output().unwrap();
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut stdout, &mut rest).unwrap();
    seen.push_str(&rest);
    seen.push_str(&String::from_utf8_lossy(&out.stdout));
    (
        out.status.code(),
        seen,
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn entries(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect()
}

#[test]
fn a_signal_removes_temporaries_releases_the_lock_and_says_what_was_kept() {
    for (sig, code, name) in [
        (libc::SIGTERM, 143, "SIGTERM"),
        (libc::SIGINT, 130, "SIGINT"),
    ] {
        let d = tempfile::tempdir().unwrap();
        let (status, _, stderr) = run_child(d.path(), None, &[sig]);
        assert_eq!(status, Some(code), "{stderr}");
        assert!(
            stderr.contains(&format!("isf: interrupted by {name}: out was not written")),
            "{stderr}"
        );
        assert_eq!(entries(d.path()), Vec::<String>::new(), "{stderr}");
    }
}

#[test]
fn a_polling_command_stops_at_its_check_point_and_a_second_signal_stops_it_at_once() {
    let d = tempfile::tempdir().unwrap();
    let (status, stdout, stderr) = run_child(d.path(), Some("check"), &[libc::SIGINT]);
    assert_eq!(status, Some(130), "{stderr}");
    assert!(stdout.contains("stopped at a check point"), "{stdout}");
    assert!(stderr.contains("SIGINT received"), "{stderr}");
    assert!(!stderr.contains("interrupted by"), "{stderr}");
    assert_eq!(entries(d.path()), Vec::<String>::new());

    // A loop that never reaches its check point: the second signal ends it, cleaning up.
    let (status, stdout, stderr) =
        run_child(d.path(), Some("ignore"), &[libc::SIGINT, libc::SIGTERM]);
    assert_eq!(status, Some(143), "{stderr}");
    assert!(!stdout.contains("stopped at a check point"), "{stdout}");
    assert!(
        stderr.contains("SIGINT received") && stderr.contains("interrupted by SIGTERM"),
        "{stderr}"
    );
    assert_eq!(entries(d.path()), Vec::<String>::new());
}
