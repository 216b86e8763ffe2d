//! Locating the read-only reference data (`../shared`) for tests and benchmarks.
//!
//! The data is not ours to redistribute, so it lives beside the repository, not in it. A user's
//! fresh clone has no `../shared`: tests then skip with a notice. CI sets
//! `ISF_REQUIRE_REFERENCE=1`, which turns a missing reference into a failure.

use std::path::{Path, PathBuf};

/// The `shared` folder: `$ISF_SHARED` if set, else `../shared` relative to the workspace root.
pub fn shared_dir() -> Option<PathBuf> {
    if let Ok(p) = std::env::var("ISF_SHARED") {
        let p = PathBuf::from(p);
        return p.is_dir().then_some(p);
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    root.ancestors()
        .skip(1)
        .map(|a| a.join("shared"))
        .find(|p| p.join("reference").is_dir())
}

/// The path `rel` inside the shared folder, or `None` (with a printed notice) when the reference
/// data is absent. Panics when it is absent and `ISF_REQUIRE_REFERENCE=1`.
pub fn shared_path(rel: &str) -> Option<PathBuf> {
    let found = shared_dir().map(|d| d.join(rel)).filter(|p| p.exists());
    if found.is_none() {
        if std::env::var("ISF_REQUIRE_REFERENCE").as_deref() == Ok("1") {
            panic!("reference data `../shared/{rel}` is missing and ISF_REQUIRE_REFERENCE=1");
        }
        eprintln!("notice: reference data `../shared/{rel}` not found; skipping this test");
    }
    found
}
