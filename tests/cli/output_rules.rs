//! The output discipline of every command that writes (issue 16, points 2, 6, 7 and 8), through
//! the built binary: an existing output is refused unless `--overwrite`, in the same words
//! everywhere; what is written follows the umask; an output in use is refused at once naming
//! its holder; SIGINT/SIGTERM end a command with its temporaries removed and its lock released.

use std::ffi::OsStr;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use isf::testing::shared_path;

/// The end of every refusal of an existing output.
const RULE: &str = "already exists; pass --overwrite to replace it (it is replaced only once \
                    the new output is complete)";

/// Runs `isf` in `dir` under `umask`, with its own TMPDIR outside `dir` (MPI's session files
/// stay out of the folders whose contents the tests list).
fn isf_umask(dir: &Path, umask: u32, args: &[&OsStr]) -> Output {
    command(dir, umask, args).output().unwrap()
}

fn command(dir: &Path, umask: u32, args: &[&OsStr]) -> Command {
    let tmp = tempfile::tempdir().unwrap().keep();
    let mut c = Command::new(env!("CARGO_BIN_EXE_isf"));
    c.current_dir(dir).env("TMPDIR", tmp).args(args);
    // SAFETY: umask is async-signal-safe and touches only the child's own state.
    unsafe {
        c.pre_exec(move || {
            libc::umask(umask as libc::mode_t);
            Ok(())
        });
    }
    c
}

fn isf(dir: &Path, args: &[&str]) -> Output {
    let args: Vec<&OsStr> = args.iter().map(OsStr::new).collect();
    isf_umask(dir, 0o022, &args)
}

fn ok(o: Output, what: &str) -> String {
    assert!(
        o.status.success(),
        "{what} failed ({}):\n{}\n{}",
        o.status,
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// The command failed with exit code 1 and the overwrite rule's message about `what`.
fn refused(o: Output, what: &str) {
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(err.starts_with("error: "), "{err}");
    assert!(err.contains(&format!("{what} {RULE}")), "{err}");
}

fn mode(p: &Path) -> u32 {
    std::fs::symlink_metadata(p).unwrap().permissions().mode() & 0o777
}

/// Every file and folder under `root` (root included) has mode `file`/`dir`.
fn modes_are(root: &Path, file: u32, dir: u32) {
    let m = std::fs::symlink_metadata(root).unwrap();
    if m.is_dir() {
        assert_eq!(mode(root), dir, "{}", root.display());
        for e in std::fs::read_dir(root).unwrap() {
            modes_are(&e.unwrap().path(), file, dir);
        }
    } else {
        assert_eq!(mode(root), file, "{}", root.display());
    }
}

fn names(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

/// `isf example` into `dir/model`, its run config shortened to 2 trials of 10 ms.
fn example(dir: &Path) -> PathBuf {
    ok(isf(dir, &["example", "model"]), "isf example");
    let model = dir.join("model");
    let run = std::fs::read_to_string(model.join("run.toml")).unwrap();
    let run = run.replace("trials = 8", "trials = 2") + "t_stop_ms = 10.0\n";
    std::fs::write(model.join("run.toml"), run).unwrap();
    model
}

#[test]
fn example_protocol_and_cell_info_follow_the_overwrite_rule_and_the_umask() {
    let d = tempfile::tempdir().unwrap();
    let dir = d.path();
    let model = example(dir);
    modes_are(&model, 0o644, 0o755);
    // `--overwrite` (and its old name `--force`) replaces the model; without it, refused.
    refused(isf(dir, &["example", "model"]), "model");
    ok(
        isf(dir, &["example", "model", "--overwrite"]),
        "example --overwrite",
    );
    ok(
        isf(dir, &["example", "model", "--force"]),
        "example --force",
    );
    // Modes follow the umask, whatever it is.
    let o = isf_umask(dir, 0o027, &[OsStr::new("example"), OsStr::new("strict")]);
    ok(o, "example under umask 027");
    modes_are(&dir.join("strict"), 0o640, 0o750);

    std::fs::write(
        dir.join("step.toml"),
        "tstop = 1.0\ndt = 0.025\n[[record]]\nsection = 0\nx = 0.5\n",
    )
    .unwrap();
    let protocol = ["protocol", "model/cell.param", "step.toml", "--out", "p"];
    ok(isf(dir, &protocol), "protocol");
    let vm = std::fs::read(dir.join("p/vm.csv")).unwrap();
    assert_eq!(mode(&dir.join("p/vm.csv")), 0o644);
    refused(isf(dir, &protocol), "p/vm.csv");
    std::fs::write(dir.join("p/vm.csv"), "mine").unwrap();
    refused(isf(dir, &protocol), "p/vm.csv");
    assert_eq!(std::fs::read(dir.join("p/vm.csv")).unwrap(), b"mine");
    ok(
        isf(dir, &[&protocol[..], &["--overwrite"]].concat()),
        "protocol --overwrite",
    );
    assert_eq!(std::fs::read(dir.join("p/vm.csv")).unwrap(), vm);
    assert_eq!(names(&dir.join("p")), ["vm.csv"]);

    let info = ["cell-info", "model/cell.param", "--segments", "seg.csv"];
    ok(isf(dir, &info), "cell-info");
    assert_eq!(mode(&dir.join("seg.csv")), 0o644);
    let table = std::fs::read(dir.join("seg.csv")).unwrap();
    std::fs::write(dir.join("seg.csv"), "mine").unwrap();
    refused(isf(dir, &info), "seg.csv");
    assert_eq!(std::fs::read(dir.join("seg.csv")).unwrap(), b"mine");
    ok(
        isf(dir, &[&info[..], &["--overwrite"]].concat()),
        "cell-info --overwrite",
    );
    assert_eq!(std::fs::read(dir.join("seg.csv")).unwrap(), table);
    // No lock files or temporaries are left anywhere.
    assert_eq!(
        names(dir),
        ["model", "p", "seg.csv", "step.toml", "strict"],
        "{:?}",
        names(dir)
    );
}

#[test]
fn simulate_replay_and_the_database_commands_follow_the_overwrite_rule_and_the_umask() {
    let d = tempfile::tempdir().unwrap();
    let dir = d.path();
    example(dir);
    let task = [
        "simulate",
        "model/cell.param",
        "model/network.param",
        "--tstop",
        "10",
        "--out",
        "task",
    ];
    ok(isf(dir, &task), "simulate (task)");
    // ISF-format CSVs, parameter copies, the hostname marker: readable by collaborators.
    modes_are(&dir.join("task"), 0o644, 0o755);
    refused(isf(dir, &task), "task");
    ok(
        isf(dir, &[&task[..], &["--overwrite"]].concat()),
        "simulate --overwrite",
    );

    let replay = [
        "replay",
        "model/cell.param",
        "model/network.param",
        "task/simulation_run0000_synapses.csv",
        "--tstop",
        "10",
        "--out",
        "rep",
    ];
    // What a killed replay leaves (its staging folder) goes with the next run on that output.
    std::fs::create_dir(dir.join(".rep.k1LLed.partial")).unwrap();
    std::fs::write(dir.join(".rep.k1LLed.partial/seed.csv"), "x").unwrap();
    let o = isf(dir, &replay);
    let err = String::from_utf8_lossy(&o.stderr).into_owned();
    ok(o, "replay");
    assert!(
        err.contains("note: removed") && err.contains(".rep.k1LLed.partial"),
        "{err}"
    );
    modes_are(&dir.join("rep"), 0o644, 0o755);
    refused(isf(dir, &replay), "rep");
    ok(
        isf(dir, &[&replay[..], &["--overwrite"]].concat()),
        "replay --overwrite",
    );

    // The run config, with an ISF-format export beside the results file.
    let run = std::fs::read_to_string(dir.join("model/run.toml")).unwrap();
    let run = run.replacen("batch_size", "isf_folder = \"isf\"\nbatch_size", 1);
    std::fs::write(dir.join("model/run.toml"), run).unwrap();
    ok(
        isf(
            dir,
            &["simulate", "--no-progress", "--config", "model/run.toml"],
        ),
        "simulate --config",
    );
    modes_are(&dir.join("model/isf"), 0o644, 0o755);
    assert_eq!(mode(&dir.join("model/example_results.h5")), 0o644);

    let init = ["db", "init", "model/example_results.h5", "db"];
    ok(isf(dir, &init), "db init");
    modes_are(&dir.join("db"), 0o644, 0o755);
    refused(isf(dir, &init), "db");
    ok(
        isf(dir, &[&init[..], &["--overwrite"]].concat()),
        "db init --overwrite",
    );
    let init_isf = ["db", "init-isf", "task", "dbisf"];
    ok(isf(dir, &init_isf), "db init-isf");
    refused(isf(dir, &init_isf), "dbisf");

    let bin = ["db", "bin", "db", "--groupby", "EI"];
    assert!(ok(isf(dir, &bin), "db bin").contains("synapse_activation_binned/t1/EI/EXC"));
    refused(
        isf(dir, &bin),
        "key `synapse_activation_binned/t1/EI` of database db",
    );
    ok(
        isf(dir, &[&bin[..], &["--overwrite"]].concat()),
        "db bin --overwrite",
    );

    // The reduced model's outputs are keys too: refused before any fitting.
    refused(
        isf(dir, &["reduce", "fit", "db", "--out", "metadata"]),
        "key `metadata` of database db",
    );
    refused(
        isf(
            dir,
            &[
                "reduce",
                "predict",
                "db",
                "--model",
                "m",
                "--out",
                "spike_times",
            ],
        ),
        "key `spike_times` of database db",
    );
    assert_eq!(
        names(dir),
        ["db", "dbisf", "model", "rep", "task"],
        "{:?}",
        names(dir)
    );
}

#[test]
fn map_inputs_and_network_param_follow_the_overwrite_rule_and_the_umask() {
    let (Some(fx), Some(ex)) = (
        shared_path("barrel-cortex-fixture"),
        shared_path("isf-example"),
    ) else {
        return;
    };
    let d = tempfile::tempdir().unwrap();
    let dir = d.path();
    let (hoc, model) = (fx.join("cell.hoc"), fx.join("model"));
    let map = |extra: &[&str]| {
        let mut a: Vec<&OsStr> = vec![
            "map-inputs".as_ref(),
            hoc.as_os_str(),
            "--model".as_ref(),
            model.as_os_str(),
        ];
        a.extend(
            [
                "--postsynaptic-type",
                "L5tt",
                "--realizations",
                "2",
                "--out",
                "emb",
            ]
            .map(OsStr::new),
        );
        a.extend(extra.iter().map(OsStr::new));
        isf_umask(dir, 0o022, &a)
    };
    ok(map(&[]), "map-inputs");
    modes_are(&dir.join("emb"), 0o644, 0o755);
    refused(map(&[]), "emb");
    ok(map(&["--overwrite"]), "map-inputs --overwrite");

    let template = ex
        .join("ongoing_activity/ongoing_activity_celltype_template_exc_conductances_fitted.param");
    let np = |extra: &[&str]| {
        let mut a: Vec<&OsStr> = vec![
            "network-param".as_ref(),
            "--template".as_ref(),
            template.as_os_str(),
        ];
        a.extend(
            [
                "--cell-numbers",
                "emb/NumberOfConnectedCells.csv",
                "--syn",
                "a.syn",
                "--con",
                "a.con",
                "--out",
                "net.param",
            ]
            .map(OsStr::new),
        );
        a.extend(extra.iter().map(OsStr::new));
        isf_umask(dir, 0o022, &a)
    };
    ok(np(&[]), "network-param");
    assert_eq!(mode(&dir.join("net.param")), 0o644);
    let first = std::fs::read(dir.join("net.param")).unwrap();
    std::fs::write(dir.join("net.param"), "mine").unwrap();
    refused(np(&[]), "net.param");
    assert_eq!(std::fs::read(dir.join("net.param")).unwrap(), b"mine");
    ok(np(&["--overwrite"]), "network-param --overwrite");
    assert_eq!(std::fs::read(dir.join("net.param")).unwrap(), first);
    assert_eq!(names(dir), ["emb", "net.param"]);
}

/// Holding the lock from this process (as a running command would) makes every writer of that
/// output fail at once, naming this process and host; the output reads back unchanged.
#[test]
fn an_output_in_use_is_refused_at_once_naming_the_holder() {
    let d = tempfile::tempdir().unwrap();
    let dir = d.path();
    example(dir);
    ok(
        isf(
            dir,
            &["simulate", "--no-progress", "--config", "model/run.toml"],
        ),
        "simulate --config",
    );
    ok(
        isf(dir, &["db", "init", "model/example_results.h5", "db"]),
        "db init",
    );
    let listing = ok(isf(dir, &["db", "ls", "-r", "db"]), "db ls");
    let holder = format!(
        "is in use by pid {} on host {} since ",
        std::process::id(),
        isf_io::lock::hostname()
    );
    let in_use = |o: Output, what: &str| {
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(1), "{err}");
        assert!(err.contains(&format!("{what} {holder}")), "{err}");
        assert!(err.contains("(command: the test holding it)"), "{err}");
    };
    {
        let _held = isf_io::OutputLock::acquire(&dir.join("db"), "the test holding it").unwrap();
        let init = ["db", "init", "model/example_results.h5", "db"];
        in_use(isf(dir, &[&init[..], &["--overwrite"]].concat()), "db");
        in_use(isf(dir, &init), "db");
        in_use(isf(dir, &["db", "bin", "db"]), "db");
        in_use(isf(dir, &["reduce", "fit", "db", "--out", "m"]), "db");
        assert_eq!(ok(isf(dir, &["db", "ls", "-r", "db"]), "db ls"), listing);

        let _held = isf_io::OutputLock::acquire(&dir.join("new"), "the test holding it").unwrap();
        in_use(
            isf(dir, &["db", "init", "model/example_results.h5", "new"]),
            "new",
        );
        in_use(isf(dir, &["example", "new"]), "new");
        assert!(!dir.join("new").exists());
    }
    // Released: the same commands run.
    ok(
        isf(dir, &["db", "init", "model/example_results.h5", "new"]),
        "db init",
    );
    assert_eq!(names(dir), ["db", "model", "new"]);
}

/// Spawns `args` in `dir` and waits until `path` exists (the command holds its lock or has
/// created its temporary folder); the wait is bounded only so that a broken build cannot hang.
fn spawn_until(dir: &Path, args: &[&str], ready: impl Fn() -> bool) -> std::process::Child {
    let args: Vec<&OsStr> = args.iter().map(OsStr::new).collect();
    let mut child = command(dir, 0o022, &args)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    for _ in 0..6000 {
        if ready() {
            return child;
        }
        if let Some(st) = child.try_wait().unwrap() {
            panic!("{args:?} ended ({st}) before it was ready");
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    let _ = child.kill();
    panic!("{args:?} never became ready");
}

fn mkfifo(p: &Path) {
    use std::os::unix::ffi::OsStrExt;
    let c = std::ffi::CString::new(p.as_os_str().as_bytes()).unwrap();
    // SAFETY: a valid NUL-terminated path.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o644) }, 0);
}

fn signal(child: &std::process::Child, sig: i32) {
    // SAFETY: kill on our own child's pid.
    assert_eq!(unsafe { libc::kill(child.id() as libc::pid_t, sig) }, 0);
}

/// A results "file" that is a FIFO keeps `db init` waiting in its open, holding the lock: a real
/// second process is refused naming the first; killed with SIGKILL, the first leaves a stale
/// lock, which is reported (not broken) until removed; SIGTERM and SIGINT end a `db init` and a
/// `db init-isf` with their temporary folders removed, their locks released and one line.
#[test]
fn concurrent_killed_and_interrupted_db_init() {
    let d = tempfile::tempdir().unwrap();
    let dir = d.path();
    example(dir);
    ok(
        isf(
            dir,
            &["simulate", "--no-progress", "--config", "model/run.toml"],
        ),
        "simulate --config",
    );
    mkfifo(&dir.join("waiting.h5"));
    let lock = dir.join("db.lock");
    let first = spawn_until(dir, &["db", "init", "waiting.h5", "db"], || lock.exists());
    let o = isf(dir, &["db", "init", "model/example_results.h5", "db"]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(
        err.contains(&format!(
            "db is in use by pid {} on host {} since ",
            first.id(),
            isf_io::lock::hostname()
        )) && err.contains("db init waiting.h5 db)"),
        "{err}"
    );

    // SIGKILL: nothing can clean up. The dead command never installed `db`, so the next one
    // takes its lock over, saying whose it was, and builds the database.
    let killed = first.id();
    signal(&first, libc::SIGKILL);
    let _ = first.wait_with_output().unwrap();
    let o = isf(dir, &["db", "init", "model/example_results.h5", "db"]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{err}");
    assert!(
        err.contains(&format!("note: took over the lock on db of pid {killed} ")),
        "{err}"
    );
    assert!(!lock.exists() && dir.join("db").exists());
    // A dead holder whose output exists is reported and its lock kept: the output may be
    // half-replaced, and only a person can tell.
    let first = spawn_until(
        dir,
        &["db", "init", "waiting.h5", "db", "--overwrite"],
        || lock.exists(),
    );
    signal(&first, libc::SIGKILL);
    let _ = first.wait_with_output().unwrap();
    let o = isf(
        dir,
        &[
            "db",
            "init",
            "model/example_results.h5",
            "db",
            "--overwrite",
        ],
    );
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(
        err.contains("db has a stale lock") && err.contains("remove db.lock and run again"),
        "{err}"
    );
    assert!(lock.exists());
    std::fs::remove_file(&lock).unwrap();
    std::fs::remove_dir_all(dir.join("db")).unwrap();

    // SIGTERM while waiting for the results file.
    let first = spawn_until(dir, &["db", "init", "waiting.h5", "db"], || lock.exists());
    signal(&first, libc::SIGTERM);
    let o = first.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(143), "{err}");
    assert!(
        err.contains("isf: interrupted by SIGTERM: db was not created"),
        "{err}"
    );

    // SIGINT while the database is being built in its temporary folder: `init-isf` reads a
    // trace file that is a FIFO after creating it.
    ok(
        isf(
            dir,
            &[
                "simulate",
                "model/cell.param",
                "model/network.param",
                "--tstop",
                "5",
                "--out",
                "task",
            ],
        ),
        "simulate (task)",
    );
    for e in std::fs::read_dir(dir.join("task")).unwrap() {
        let p = e.unwrap().path();
        if p.to_string_lossy().ends_with("_vm_all_traces.csv") {
            std::fs::remove_file(&p).unwrap();
            mkfifo(&p);
        }
    }
    let tmp_exists = || names(dir).iter().any(|n| n.starts_with(".tmp.dbisf"));
    let first = spawn_until(dir, &["db", "init-isf", "task", "dbisf"], tmp_exists);
    signal(&first, libc::SIGINT);
    let o = first.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(130), "{err}");
    assert!(
        err.contains("isf: interrupted by SIGINT: dbisf was not created"),
        "{err}"
    );
    // No lock, no temporary folder, no database: only what the test made.
    assert_eq!(names(dir), ["model", "task", "waiting.h5"]);
    ok(
        isf(dir, &["db", "init", "model/example_results.h5", "db"]),
        "db init after the interrupts",
    );
}

/// Every writing command, kept waiting on an input that is a FIFO while it holds its lock, ends
/// on SIGTERM with exit code 143, one line, its lock released and nothing half-written (`db
/// init`/`init-isf` above; `db bin` and `reduce` open no input that can be a FIFO).
#[test]
fn every_writing_command_ends_cleanly_on_sigterm() {
    let d = tempfile::tempdir().unwrap();
    let dir = d.path();
    example(dir);
    for f in ["wait.toml", "wait.csv", "wait.param", "wait.hoc"] {
        mkfifo(&dir.join(f));
    }
    let cases: [(&[&str], &str); 6] = [
        (
            &["protocol", "model/cell.param", "wait.toml", "--out", "p"],
            "p/vm.csv.lock",
        ),
        (
            &[
                "replay",
                "model/cell.param",
                "model/network.param",
                "wait.csv",
                "--out",
                "rep",
            ],
            "rep.lock",
        ),
        (
            &[
                "network-param",
                "--template",
                "wait.param",
                "--cell-numbers",
                "n.csv",
                "--syn",
                "a.syn",
                "--con",
                "a.con",
                "--out",
                "net.param",
            ],
            "net.param.lock",
        ),
        (
            &["cell-info", "wait.param", "--segments", "seg.csv"],
            "seg.csv.lock",
        ),
        (
            &[
                "simulate",
                "wait.param",
                "model/network.param",
                "--out",
                "task",
            ],
            "task.lock",
        ),
        (
            &[
                "map-inputs",
                "wait.hoc",
                "--model",
                "model",
                "--postsynaptic-type",
                "L5tt",
                "--out",
                "emb",
            ],
            "emb.lock",
        ),
    ];
    for (args, lock) in cases {
        let lock = dir.join(lock);
        let child = spawn_until(dir, args, || lock.exists());
        signal(&child, libc::SIGTERM);
        let o = child.wait_with_output().unwrap();
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(143), "{args:?}: {err}");
        assert!(
            err.contains("isf: interrupted by SIGTERM: "),
            "{args:?}: {err}"
        );
        assert!(!lock.exists(), "{args:?}");
    }
    // Only the inputs and protocol's output folder (created before its lock): empty.
    assert_eq!(
        names(dir),
        [
            "model",
            "p",
            "wait.csv",
            "wait.hoc",
            "wait.param",
            "wait.toml"
        ]
    );
    assert!(names(&dir.join("p")).is_empty());
}
