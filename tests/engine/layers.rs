//! The layering of `src/`: every import points down the order declared in
//! `docs/architecture.md` and no modules import each other in a cycle (`scripts/check_layers.py`,
//! whose own unit tests make it fail on deliberately wrong edges).

use std::process::Command;

fn run_checker(args: &[&str]) -> std::process::Output {
    let root = env!("CARGO_MANIFEST_DIR");
    Command::new("python3")
        .arg(format!("{root}/scripts/check_layers.py"))
        .args(args)
        .current_dir(root)
        .output()
        .expect("python3 runs scripts/check_layers.py")
}

#[test]
fn the_checker_fails_on_wrong_edges() {
    let out = run_checker(&["--self-test"]);
    assert!(
        out.status.success(),
        "the layer checker's unit tests fail:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn imports_point_down_the_declared_layers() {
    let out = run_checker(&[]);
    assert!(
        out.status.success(),
        "layering violations:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
