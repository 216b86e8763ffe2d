//! Records the git commit of the build for the provenance of results files (`ISF_GIT_COMMIT`,
//! "unknown" outside a git checkout or when git is missing).

use std::process::Command;

fn git(args: &[&str]) -> Option<String> {
    let out = Command::new("git").args(args).output().ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
}

fn main() {
    println!("cargo:rerun-if-env-changed=ISF_GIT_COMMIT");
    let commit = std::env::var("ISF_GIT_COMMIT")
        .ok()
        .or_else(|| git(&["rev-parse", "HEAD"]));
    if let Some(dir) = git(&["rev-parse", "--git-dir"]) {
        // HEAD's reflog changes with every commit and checkout.
        println!("cargo:rerun-if-changed={dir}/logs/HEAD");
        println!("cargo:rerun-if-changed={dir}/HEAD");
    }
    println!(
        "cargo:rustc-env=ISF_GIT_COMMIT={}",
        commit.unwrap_or_else(|| "unknown".into())
    );
}
