//! The ISF-format export (`isf_folder`) of `isf simulate --config`: a killed run leaves only its
//! hidden staging folder, `--resume` completes it to the same files as an uninterrupted run, and an
//! existing export folder is not replaced without `--resume`/`--overwrite`. Serial runs of the
//! embedded example, 20 ms trials (only the file handling is under test here; the equivalence of the
//! exported data is `tests/db_init_equivalence.rs`). ISF's own reader finds every file of the
//! export whatever the cell is called (its file-name rule re-implemented here).

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

/// `name` with the parts that differ between runs of the same config replaced: the time stamp of
/// a results folder (`YYYYmmdd-HHMM_…` → `DATE_…`) and process ids (`_pid123` → `_pidP`).
fn run_independent(name: &str) -> String {
    name.split('/')
        .map(|c| {
            let mut c = c.to_string();
            let b = c.as_bytes();
            if b.len() > 14
                && b[..8].iter().all(u8::is_ascii_digit)
                && b[8] == b'-'
                && b[9..13].iter().all(u8::is_ascii_digit)
                && b[13] == b'_'
            {
                c = format!("DATE{}", &c[13..]);
            }
            if let Some(i) = c.find("_pid") {
                let digits = c[i + 4..].bytes().take_while(u8::is_ascii_digit).count();
                c.replace_range(i + 4..i + 4 + digits, "P");
            }
            c
        })
        .collect::<Vec<_>>()
        .join("/")
}

/// [`files`] with run-independent names.
fn export_files(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    files(dir)
        .into_iter()
        .map(|(k, v)| (run_independent(&k), v))
        .collect()
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
    let expected = export_files(&dir.join("isf_full"));
    // 6 trials × 2 activation files, soma + 2 site trace files, 2 parameter copies and the
    // hostname file, in one ISF results folder.
    assert_eq!(expected.len(), 6 * 2 + 3 + 2 + 1, "{:?}", expected.keys());
    assert!(
        expected
            .keys()
            .all(|k| k.starts_with("ex/results/DATE_seed") && k.contains("_pidP/")),
        "{:?}",
        expected.keys()
    );

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
    assert_eq!(export_files(&dir.join("isf_killed")), expected);

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
    assert_eq!(export_files(&dir.join("isf_killed")), expected);
}

/// Python's `s.split('_')[i]` for negative `i`, or `None` where Python raises IndexError.
fn part_from_end(s: &str, i: usize) -> Option<&str> {
    let parts: Vec<&str> = s.split('_').collect();
    parts.len().checked_sub(i).map(|j| parts[j])
}

/// One of ISF's file-name conventions: trial folder → file name, `None` for Python's IndexError.
type Rule<'a> = dyn Fn(&str) -> Option<String> + 'a;

/// ISF's `load_dendritic_voltage_traces_helper` (db_init_simrun_general): the dendritic trace file
/// of trial folder `path` (relative to the results root) for `suffix` = `_<label>_vm_dend_traces.csv`,
/// by the first of its three naming conventions whose file exists for the FIRST trial, or `None`
/// where ISF fails (IndexError or no convention matches).
fn isf_dend_trace_files(root: &Path, paths: &[String], suffix: &str) -> Option<Vec<PathBuf>> {
    let rules: [&Rule<'_>; 3] = [
        &|p| Some(format!("{}{suffix}", part_from_end(p, 1)?)),
        &|p| Some(format!("seed_{}{suffix}", part_from_end(p, 1)?)),
        &|p| {
            Some(format!(
                "{}_{}{suffix}",
                part_from_end(p, 2)?,
                part_from_end(p, 1)?
            ))
        },
    ];
    let first = &paths[0];
    for rule in rules {
        // ISF evaluates the conventions in order; an IndexError ends the search.
        let name = rule(first)?;
        if root.join(first).join(&name).is_file() {
            return paths
                .iter()
                .map(|p| rule(p).map(|n| root.join(p).join(n)))
                .collect();
        }
    }
    None
}

/// Newer ISF (`get_recsite_labels_from_dend_vt_filelist`): the label of a dendritic trace file is
/// its name minus the folder name without its first `_`-part, minus `_vm_dend_traces.csv`.
fn isf_recsite_label(file: &Path) -> String {
    let folder = file
        .parent()
        .and_then(Path::file_name)
        .unwrap()
        .to_string_lossy()
        .into_owned();
    let prefix = folder.split('_').skip(1).collect::<Vec<_>>().join("_");
    let name = file.file_name().unwrap().to_string_lossy().into_owned();
    let suffix = "vm_dend_traces.csv";
    name[prefix.len() + 1..name.len() - suffix.len() - 1].to_string()
}

#[test]
fn isf_finds_every_file_of_the_export_for_any_cell_name() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    check(
        isf(dir).args(["example", "example"]).output().unwrap(),
        "isf example",
    );
    // Cell names with no, one and several underscores (ISF failed on the first and the last
    // with the previous layout `DIR/<cell>/<cell>_<site>_vm_dend_traces.csv`).
    let cells = ["c86", "L5tt_86", "L5tt_86_C2_x"];
    let mut cfg = String::from(
        "output = \"r.h5\"\nisf_folder = \"isf\"\nbase_seed = 7\nbatch_size = 2\n\
         [record]\nevery_k_steps = 4\n",
    );
    for c in cells {
        cfg += &format!(
            "[[cell]]\nname = \"{c}\"\ncell_param = \"example/cell.param\"\n\
             network_param = \"example/network.param\"\ntrials = 2\nt_stop_ms = 5.0\n"
        );
    }
    std::fs::write(dir.join("cfg.toml"), cfg).unwrap();
    check(simulate(dir, &dir.join("cfg.toml"), false), "isf simulate");
    let root = dir.join("isf");
    let site_labels: Vec<String> = {
        let f = hdf5::File::open(dir.join("r.h5")).unwrap();
        let v: Vec<hdf5::types::VarLenUnicode> = f
            .group("cells/c86")
            .unwrap()
            .attr("site_labels")
            .unwrap()
            .read_raw()
            .unwrap();
        v.iter().map(|s| s.as_str().to_string()).collect()
    };
    assert!(!site_labels.is_empty());

    for cell in cells {
        // ISF's make_filelist: every `*vm_all_traces.csv` below the root; the trial folder
        // (`metadata.path`) is its folder relative to the root.
        let results = root.join(cell).join("results");
        let folders: Vec<PathBuf> = std::fs::read_dir(&results)
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        assert_eq!(folders.len(), 1, "{cell}: {folders:?}");
        let folder = &folders[0];
        let fname = folder.file_name().unwrap().to_string_lossy().into_owned();
        // `<YYYYmmdd-HHMM>_seed<S>_pid<P>`, as run_new_simulations names a task's folder.
        let parts: Vec<&str> = fname.split('_').collect();
        assert_eq!(parts.len(), 3, "{fname}");
        assert!(
            parts[0].len() == 13 && parts[0].as_bytes()[8] == b'-',
            "{fname}"
        );
        assert!(
            parts[1].starts_with("seed") && parts[2].starts_with("pid"),
            "{fname}"
        );
        let uid = format!("{}_{}", parts[1], parts[2]);
        let path = format!("{cell}/results/{fname}");
        assert!(folder.join(format!("{uid}_vm_all_traces.csv")).is_file());
        let host: Vec<String> = std::fs::read_dir(folder)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.starts_with("hostname_"))
            .collect();
        assert_eq!(host.len(), 1);
        // Both trials' activation files (`simulation_run%s` with the digit count found).
        for k in 0..2 {
            for what in ["synapses", "presynaptic_cells"] {
                let f = folder.join(format!("simulation_run{k:04}_{what}.csv"));
                assert!(f.is_file(), "{}", f.display());
            }
        }
        // generate_param_file_hashes: exactly one file per suffix in the trial folder.
        for suffix in ["_neuron_model.param", "_network_model.param"] {
            let n = std::fs::read_dir(folder)
                .unwrap()
                .filter(|e| {
                    e.as_ref()
                        .unwrap()
                        .file_name()
                        .to_string_lossy()
                        .ends_with(suffix)
                })
                .count();
            assert_eq!(n, 1, "{cell}: {suffix}");
        }
        // Every recording site's trace file, by ISF's rule, for every trial of the folder.
        for label in &site_labels {
            let suffix = format!("_{label}_vm_dend_traces.csv");
            let paths = vec![path.clone(), path.clone()];
            let found = isf_dend_trace_files(&root, &paths, &suffix)
                .unwrap_or_else(|| panic!("{cell}: ISF finds no `{suffix}` in {path}"));
            for f in &found {
                assert!(f.is_file(), "{}", f.display());
                assert_eq!(&isf_recsite_label(f), label);
            }
        }
    }

    // The previous layout `DIR/<cell>/<cell>_<site>_vm_dend_traces.csv` fails one of ISF's rules
    // for each of these names: the file-name conventions for `L5tt_86_C2` (no file found), the
    // newer label derivation for all (wrong labels).
    for cell in ["c86", "L5tt_86", "L5tt_86_C2"] {
        let old = dir.join("old").join(cell);
        std::fs::create_dir_all(&old).unwrap();
        let f = old.join(format!("{cell}_s_vm_dend_traces.csv"));
        std::fs::write(&f, "").unwrap();
        let found = isf_dend_trace_files(
            &dir.join("old"),
            &[cell.to_string()],
            "_s_vm_dend_traces.csv",
        );
        assert_eq!(found.is_none(), cell == "L5tt_86_C2", "{cell}");
        assert_ne!(isf_recsite_label(&f), "s", "{cell}");
    }

    // isf db init-isf reads the export.
    check(
        isf(dir)
            .args(["db", "init-isf", "isf", "from_isf.db"])
            .output()
            .unwrap(),
        "isf db init-isf",
    );
}
