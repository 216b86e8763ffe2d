//! The launch scripts of `mpi-launch/`: the sbatch template and the mpirun wrapper run against
//! stub `srun`, `scontrol`, `stat` and `mpirun` programs that record their arguments and
//! environment, so every SLURM and MPI flavour is checked without a cluster; one real launch of
//! the wrapper with this machine's MPI closes the loop.

use crate::common::process::{check, fresh_tmp, has_mpirun, ISF};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

/// Variables the scripts read; cleared so the caller's environment cannot leak into a case.
const INHERITED: [&str; 14] = [
    "SLURM_CPUS_PER_TASK",
    "SLURM_RESTART_COUNT",
    "SLURM_JOB_ID",
    "ISF",
    "ISF_SETUP",
    "ISF_SRUN_MPI",
    "ISF_REQUEUE",
    "ISF_MPI",
    "ISF_HOSTFILE",
    "ISF_OVERSUBSCRIBE",
    "HDF5_USE_FILE_LOCKING",
    "OMPI_ALLOW_RUN_AS_ROOT",
    "OMPI_ALLOW_RUN_AS_ROOT_CONFIRM",
    "RUST_LOG",
];

/// A folder of stub programs (first on PATH) and the records they leave.
struct Stubs {
    dir: tempfile::TempDir,
}

impl Stubs {
    fn new() -> Stubs {
        let s = Stubs {
            dir: tempfile::tempdir().unwrap(),
        };
        std::fs::create_dir(s.bin()).unwrap();
        // Each stub records its arguments (one a line) and its environment, then exits with
        // STUB_EXIT (srun) or prints STUB_MPI_VERSION (mpirun --version).
        let record = |name: &str| {
            format!(
                "printf '%s\\n' \"$@\" > \"$STUB_LOG/{name}.args\"\nenv > \"$STUB_LOG/{name}.env\"\n"
            )
        };
        s.stub(
            "srun",
            &format!("{}exit \"${{STUB_EXIT:-0}}\"\n", record("srun")),
        );
        s.stub("scontrol", &record("scontrol"));
        s.stub(
            "mpirun",
            &format!(
                "if [ \"$1\" = --version ]; then printf '%s\\n' \"$STUB_MPI_VERSION\"; exit 0; fi\n{}",
                record("mpirun")
            ),
        );
        s
    }

    fn bin(&self) -> PathBuf {
        self.dir.path().join("bin")
    }

    fn stub(&self, name: &str, body: &str) {
        use std::os::unix::fs::PermissionsExt;
        let p = self.bin().join(name);
        std::fs::write(&p, format!("#!/bin/sh\n{body}")).unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
    }

    /// `stat -f` reports `fs` as the file-system type; other uses go to the real stat.
    fn file_system(&self, fs: &str) {
        self.stub(
            "stat",
            &format!("if [ \"$1\" = -f ]; then echo {fs}; else exec /usr/bin/stat \"$@\"; fi\n"),
        );
    }

    /// `bash SCRIPT ARGS…` with the stubs first on a PATH without any installed isf.
    fn run(&self, script: &str, args: &[&str], env: &[(&str, &str)]) -> Output {
        let mut c = Command::new("bash");
        c.arg(Path::new(ROOT).join("mpi-launch").join(script))
            .args(args)
            .current_dir(self.dir.path())
            .env("PATH", format!("{}:/usr/bin:/bin", self.bin().display()))
            .env("STUB_LOG", self.dir.path());
        for v in INHERITED {
            c.env_remove(v);
        }
        c.envs(env.iter().copied());
        c.output().unwrap()
    }

    fn config(&self) -> String {
        self.dir.path().join("run.toml").display().to_string()
    }

    /// The arguments `name` was called with; None when it was not called.
    fn args(&self, name: &str) -> Option<Vec<String>> {
        let text = std::fs::read_to_string(self.dir.path().join(format!("{name}.args"))).ok()?;
        Some(text.lines().map(str::to_string).collect())
    }

    fn env(&self, name: &str) -> HashMap<String, String> {
        std::fs::read_to_string(self.dir.path().join(format!("{name}.env")))
            .unwrap_or_else(|e| panic!("{name} was not called: {e}"))
            .lines()
            .filter_map(|l| l.split_once('='))
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }
}

fn strings(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

fn is_root() -> bool {
    let out = Command::new("id").arg("-u").output().unwrap();
    String::from_utf8_lossy(&out.stdout).trim() == "0"
}

#[test]
fn sbatch_without_cpus_per_task_runs_one_thread_per_task() {
    let s = Stubs::new();
    let cfg = s.config();
    check(
        s.run("isf.sbatch", &[&cfg], &[("ISF", "/opt/site/bin/isf")]),
        "sbatch",
    );
    assert_eq!(
        s.args("srun").unwrap(),
        strings(&[
            "--cpu-bind=cores",
            "/opt/site/bin/isf",
            "simulate",
            "--no-progress",
            "--threads",
            "1",
            "--config",
            &cfg
        ])
    );
    assert_eq!(s.env("srun")["RAYON_NUM_THREADS"], "1");
}

#[test]
fn sbatch_binds_cpus_per_task_and_passes_the_mpi_plugin() {
    let s = Stubs::new();
    let cfg = s.config();
    check(
        s.run(
            "isf.sbatch",
            &[&cfg, "--overwrite"],
            &[
                ("ISF", "/opt/site/bin/isf"),
                ("SLURM_CPUS_PER_TASK", "8"),
                ("ISF_SRUN_MPI", "pmix"),
            ],
        ),
        "sbatch",
    );
    assert_eq!(
        s.args("srun").unwrap(),
        strings(&[
            "--cpu-bind=cores",
            "-c",
            "8",
            "--mpi=pmix",
            "/opt/site/bin/isf",
            "simulate",
            "--no-progress",
            "--threads",
            "8",
            "--config",
            &cfg,
            "--overwrite"
        ])
    );
    assert_eq!(s.env("srun")["RAYON_NUM_THREADS"], "8");
}

#[test]
fn sbatch_setup_line_makes_isf_available() {
    let s = Stubs::new();
    let site = s.dir.path().join("site");
    std::fs::create_dir(&site).unwrap();
    std::fs::copy(s.bin().join("scontrol"), site.join("isf")).unwrap();
    let setup = format!("export PATH={}:$PATH FROM_SETUP=yes", site.display());
    check(
        s.run("isf.sbatch", &[&s.config()], &[("ISF_SETUP", &setup)]),
        "sbatch",
    );
    let args = s.args("srun").unwrap();
    assert_eq!(args[1], site.join("isf").display().to_string());
    assert_eq!(s.env("srun")["FROM_SETUP"], "yes");
}

#[test]
fn sbatch_without_isf_says_how_to_get_it() {
    if Path::new("/usr/bin/isf").exists() || Path::new("/bin/isf").exists() {
        eprintln!("skipped: an isf is installed in /usr/bin or /bin");
        return;
    }
    let s = Stubs::new();
    let out = s.run("isf.sbatch", &[&s.config()], &[]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("ISF_SETUP") && err.contains("ISF="), "{err}");
    assert!(s.args("srun").is_none());
}

#[test]
fn sbatch_gives_openmpi_root_consent_only_to_root() {
    let s = Stubs::new();
    check(
        s.run("isf.sbatch", &[&s.config()], &[("ISF", "isf")]),
        "sbatch",
    );
    let env = s.env("srun");
    assert_eq!(env.contains_key("OMPI_ALLOW_RUN_AS_ROOT"), is_root());
    assert_eq!(
        env.contains_key("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM"),
        is_root()
    );
}

#[test]
fn sbatch_turns_hdf5_file_locking_off_on_parallel_file_systems() {
    for (fs, preset, expected) in [
        ("lustre", None, Some("FALSE")),
        ("gpfs", None, Some("FALSE")),
        ("nfs", None, Some("FALSE")),
        ("ext2/ext3", None, None),
        ("lustre", Some("TRUE"), Some("TRUE")),
    ] {
        let s = Stubs::new();
        s.file_system(fs);
        let mut env = vec![("ISF", "isf")];
        if let Some(p) = preset {
            env.push(("HDF5_USE_FILE_LOCKING", p));
        }
        check(s.run("isf.sbatch", &[&s.config()], &env), "sbatch");
        assert_eq!(
            s.env("srun")
                .get("HDF5_USE_FILE_LOCKING")
                .map(String::as_str),
            expected,
            "file system {fs}, preset {preset:?}"
        );
    }
}

#[test]
fn sbatch_requeued_job_resumes_once() {
    for user_args in [vec![], vec!["--resume"]] {
        let s = Stubs::new();
        let cfg = s.config();
        let mut args = vec![cfg.as_str()];
        args.extend(user_args.iter().copied());
        check(
            s.run(
                "isf.sbatch",
                &args,
                &[("ISF", "isf"), ("SLURM_RESTART_COUNT", "1")],
            ),
            "sbatch",
        );
        let srun = s.args("srun").unwrap();
        assert_eq!(
            srun.iter().filter(|a| *a == "--resume").count(),
            1,
            "{srun:?}"
        );
        assert_eq!(srun.last().unwrap(), "--resume");
    }
}

#[test]
fn sbatch_requeues_a_run_stopped_by_the_time_limit_when_asked() {
    for requeue in [false, true] {
        let s = Stubs::new();
        let mut env = vec![("ISF", "isf"), ("STUB_EXIT", "143"), ("SLURM_JOB_ID", "42")];
        if requeue {
            env.push(("ISF_REQUEUE", "1"));
        }
        let out = s.run("isf.sbatch", &[&s.config()], &env);
        assert_eq!(
            out.status.code(),
            Some(143),
            "the job keeps isf's exit code"
        );
        assert_eq!(
            s.args("scontrol"),
            requeue.then(|| strings(&["requeue", "42"]))
        );
    }
}

const OPENMPI: &str =
    "mpirun (Open MPI) 4.1.4\n\nReport bugs to https://www.open-mpi.org/community/help/";
const MPICH: &str = "HYDRA build details:\n    Version:                                 4.0.2";
const INTEL: &str = "Intel(R) MPI Library for Linux* OS, Version 2021.10 Build 20230619";

/// The wrapper's mpirun arguments for `NP=2 THREADS=4` with `env`.
fn wrapper_args(version: &str, env: &[(&str, &str)]) -> (Stubs, Vec<String>) {
    let s = Stubs::new();
    let mut all = vec![("STUB_MPI_VERSION", version), ("ISF", "/opt/isf")];
    all.extend_from_slice(env);
    check(
        s.run("mpirun.sh", &["2", "4", "run.toml", "--resume"], &all),
        "mpirun.sh",
    );
    let args = s.args("mpirun").unwrap();
    assert_eq!(
        args[args.len() - 7..],
        strings(&[
            "/opt/isf",
            "simulate",
            "--threads",
            "4",
            "--config",
            "run.toml",
            "--resume"
        ])
    );
    (s, args)
}

fn contains(args: &[String], seq: &[&str]) -> bool {
    args.windows(seq.len()).any(|w| w == strings(seq))
}

#[test]
fn mpirun_wrapper_speaks_openmpi() {
    let (s, args) = wrapper_args(OPENMPI, &[("ISF_HOSTFILE", "hosts")]);
    assert!(
        contains(&args, &["-np", "2", "--hostfile", "hosts"]),
        "{args:?}"
    );
    assert!(
        contains(&args, &["--map-by", "slot:PE=4", "--bind-to", "core"]),
        "{args:?}"
    );
    assert!(contains(&args, &["-x", "RAYON_NUM_THREADS=4"]), "{args:?}");
    assert_eq!(
        s.env("mpirun").contains_key("OMPI_ALLOW_RUN_AS_ROOT"),
        is_root()
    );
    let (_, args) = wrapper_args(OPENMPI, &[("ISF_OVERSUBSCRIBE", "1")]);
    assert!(
        contains(&args, &["--oversubscribe", "--bind-to", "none"]),
        "{args:?}"
    );
    assert!(
        contains(&args, &["-x", "OMPI_MCA_mpi_yield_when_idle=1"]),
        "{args:?}"
    );
}

#[test]
fn mpirun_wrapper_speaks_mpich_and_intel_mpi() {
    let (s, args) = wrapper_args(MPICH, &[("ISF_HOSTFILE", "hosts"), ("RUST_LOG", "debug")]);
    assert!(contains(&args, &["-np", "2", "-f", "hosts"]), "{args:?}");
    assert!(contains(&args, &["-bind-to", "core:4"]), "{args:?}");
    assert!(
        contains(&args, &["-genv", "RAYON_NUM_THREADS", "4"]),
        "{args:?}"
    );
    assert!(contains(&args, &["-genv", "RUST_LOG", "debug"]), "{args:?}");
    assert!(
        !args
            .iter()
            .any(|a| a == "-x" || a == "--map-by" || a == "--oversubscribe"),
        "{args:?}"
    );
    assert!(!s.env("mpirun").contains_key("OMPI_ALLOW_RUN_AS_ROOT"));
    let (_, args) = wrapper_args(MPICH, &[("ISF_OVERSUBSCRIBE", "1")]);
    assert!(contains(&args, &["-bind-to", "none"]), "{args:?}");

    let (_, args) = wrapper_args(INTEL, &[]);
    assert!(
        contains(&args, &["-genv", "I_MPI_PIN_DOMAIN", "4"]),
        "{args:?}"
    );
    assert!(!args.iter().any(|a| a == "-bind-to"), "{args:?}");
    // ISF_MPI overrides the detection.
    let (_, args) = wrapper_args(OPENMPI, &[("ISF_MPI", "mpich")]);
    assert!(contains(&args, &["-bind-to", "core:4"]), "{args:?}");
}

#[test]
fn mpirun_wrapper_refuses_an_mpi_it_cannot_tell() {
    let s = Stubs::new();
    let out = s.run(
        "mpirun.sh",
        &["2", "1", "run.toml"],
        &[("STUB_MPI_VERSION", "some launcher 1.0")],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("ISF_MPI=openmpi|mpich|intel"));
    assert!(s.args("mpirun").is_none());
}

/// A real launch through the wrapper with this machine's mpirun: two ranks simulate two trials.
#[test]
fn mpirun_wrapper_launches_two_ranks() {
    if !has_mpirun() {
        eprintln!("skipped: no mpirun on PATH");
        return;
    }
    let d = tempfile::tempdir().unwrap();
    check(
        Command::new(ISF)
            .arg("example")
            .arg(d.path().join("ex"))
            .output()
            .unwrap(),
        "isf example",
    );
    std::fs::write(
        d.path().join("ex/short.toml"),
        "output = \"short.h5\"\nbase_seed = 3\nbatch_size = 2\n[record]\nsoma = true\n\
         [[cell]]\ncell_param = \"cell.param\"\nnetwork_param = \"network.param\"\n\
         trials = 2\nt_stop_ms = 20\n",
    )
    .unwrap();
    let out = check(
        Command::new("bash")
            .arg(Path::new(ROOT).join("mpi-launch/mpirun.sh"))
            .args(["2", "1", "ex/short.toml", "--no-progress"])
            .current_dir(d.path())
            .env("ISF", ISF)
            .env("ISF_OVERSUBSCRIBE", "1")
            .env("TMPDIR", fresh_tmp(d.path()))
            .output()
            .unwrap(),
        "mpi-launch/mpirun.sh 2 1",
    );
    // Each rank simulated one trial (h5dump from hdf5-tools, see scripts/setup.sh: opening the
    // file in this process would hold HDF5's lock while other tests spawn writers).
    let ranks = check(
        Command::new("h5dump")
            .args(["-d", "/trials/rank"])
            .arg(d.path().join("ex/short.h5"))
            .output()
            .unwrap(),
        "h5dump",
    );
    let ranks = String::from_utf8_lossy(&ranks.stdout);
    assert!(ranks.contains("(0): 0, 1"), "{out:?}\n{ranks}");
}
