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
