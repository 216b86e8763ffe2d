//! Locating the read-only NMODL corpus (`../shared/nmodl`) beside the repository.

#![allow(dead_code)]

use std::path::{Path, PathBuf};

/// `../shared/nmodl` (or `$ISF_SHARED/nmodl`), or `None` with a printed notice. Panics when it is
/// absent and `ISF_REQUIRE_REFERENCE=1`.
pub fn nmodl_dir() -> Option<PathBuf> {
    let shared = match std::env::var("ISF_SHARED") {
        Ok(p) => Some(PathBuf::from(p)),
        Err(_) => Path::new(env!("CARGO_MANIFEST_DIR"))
            .ancestors()
            .skip(1)
            .map(|a| a.join("shared"))
            .find(|p| p.join("nmodl").is_dir()),
    };
    let found = shared.map(|s| s.join("nmodl")).filter(|p| p.is_dir());
    if found.is_none() {
        if std::env::var("ISF_REQUIRE_REFERENCE").as_deref() == Ok("1") {
            panic!("reference data `../shared/nmodl` is missing and ISF_REQUIRE_REFERENCE=1");
        }
        eprintln!("notice: reference data `../shared/nmodl` not found; skipping this test");
    }
    found
}

/// Every `.mod` file under `dir`, sorted.
pub fn mod_files(dir: &Path) -> Vec<PathBuf> {
    fn walk(p: &Path, out: &mut Vec<PathBuf>) {
        let Ok(rd) = std::fs::read_dir(p) else { return };
        for e in rd.flatten() {
            let path = e.path();
            if path.is_dir() {
                walk(&path, out);
            } else if path.extension().is_some_and(|x| x == "mod") {
                out.push(path);
            }
        }
    }
    let mut v = Vec::new();
    walk(dir, &mut v);
    v.sort();
    v
}

/// Path relative to the nmodl folder, with `/`.
pub fn rel(dir: &Path, p: &Path) -> String {
    p.strip_prefix(dir)
        .unwrap_or(p)
        .to_string_lossy()
        .replace('\\', "/")
}
