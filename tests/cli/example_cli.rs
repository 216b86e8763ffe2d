//! `isf example`: the command writes the same complete model twice, refuses to overwrite, and
//! replaces with `--force`.

use std::path::Path;
use std::process::Command;

fn isf(args: &[&std::ffi::OsStr]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_isf"))
        .args(args)
        .output()
        .expect("run isf")
}

fn files(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut v: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            (
                e.file_name().to_string_lossy().into_owned(),
                std::fs::read(e.path()).unwrap(),
            )
        })
        .collect();
    v.sort();
    v
}

#[test]
fn example_command_is_deterministic_and_safe() {
    let tmp = tempfile::tempdir().unwrap();
    let a = tmp.path().join("a");
    let b = tmp.path().join("sub").join("b");
    let out = isf(&["example".as_ref(), a.as_os_str()]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(isf(&["example".as_ref(), b.as_os_str()]).status.success());
    let (fa, fb) = (files(&a), files(&b));
    let names: Vec<&str> = fa.iter().map(|(n, _)| n.as_str()).collect();
    for required in ["cell.param", "network.param"] {
        assert!(names.contains(&required), "{names:?}");
    }
    assert_eq!(fa, fb, "two runs with the default seed differ");

    // Refused without --force, with an error message and a non-zero exit; nothing changed.
    let out = isf(&[
        "example".as_ref(),
        a.as_os_str(),
        "--seed".as_ref(),
        "5".as_ref(),
    ]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).starts_with("error: "));
    assert_eq!(files(&a), fa);

    let out = isf(&[
        "example".as_ref(),
        a.as_os_str(),
        "--seed".as_ref(),
        "5".as_ref(),
        "--force".as_ref(),
    ]);
    assert!(out.status.success());
    assert_ne!(files(&a), fa);
}

/// The README's main job in small: `isf example` then `isf simulate` on it with the default
/// seed and sweeps; the soma trace written by simulate must hold at least one spike.
#[test]
fn example_then_simulate_fires() {
    use isf::output::isf_files::TraceTable;
    use isf::trial::detect_spikes;
    let tmp = tempfile::tempdir().unwrap();
    let model = tmp.path().join("model");
    let results = tmp.path().join("results");
    assert!(isf(&["example".as_ref(), model.as_os_str()])
        .status
        .success());
    let out = isf(&[
        "simulate".as_ref(),
        model.join("cell.param").as_os_str(),
        model.join("network.param").as_os_str(),
        "--out".as_ref(),
        results.as_os_str(),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let traces = std::fs::read_dir(&results)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.to_string_lossy().ends_with("_vm_all_traces.csv"))
        .expect("a soma trace file");
    let table = TraceTable::read(&traces).unwrap();
    assert!(!table.runs_mv().is_empty());
    let spikes: usize = table
        .runs_mv()
        .iter()
        .map(|v| detect_spikes(table.t_ms(), v, 0.0).len())
        .sum();
    eprintln!("isf example + isf simulate: {spikes} soma spikes");
    assert!(spikes >= 1);
}
