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

/// The example cell's parameter file (cell 86 in the C2 column centre), inside the shared folder.
pub const EXAMPLE_CELL_PARAM: &str = "isf-example/86_C2_center.param";
/// The example's network parameter file, inside the shared folder.
pub const EXAMPLE_NETWORK_PARAM: &str = "isf-example/network.param";
/// ISF's network trial (seed 1234) on the example cell, simulated by NEURON 9.0.2.
pub const REFERENCE_TRIAL_DIR: &str = "reference/neuron-9.0.2/network_trial_seed1234";

/// The example's (cell param, network param) paths, or `None` as for [`shared_path`].
pub fn example_params() -> Option<(PathBuf, PathBuf)> {
    Some((
        shared_path(EXAMPLE_CELL_PARAM)?,
        shared_path(EXAMPLE_NETWORK_PARAM)?,
    ))
}

/// The (cell param, network param, synapse activation file) paths of the reference network
/// trial ([`REFERENCE_TRIAL_DIR`]), the input of a replay; `None` as for [`shared_path`].
pub fn reference_trial() -> Option<(PathBuf, PathBuf, PathBuf)> {
    let (cell, network) = example_params()?;
    let synapses = shared_path(&format!(
        "{REFERENCE_TRIAL_DIR}/isf_output/simulation_run0000_synapses.csv"
    ))?;
    Some((cell, network, synapses))
}

/// The Hay et al. L5PT channels of ISF's mechanism library, by their `.mod` file names (the files
/// in `nmodl/isf-library/channels_py3/`), which the built-ins re-implement.
pub const HAY_CHANNELS: &[&str] = &[
    "CaDynamics_E2",
    "Ca_HVA",
    "Ca_LVAst",
    "Ih",
    "Im",
    "K_Pst",
    "K_Tst",
    "NaTa_t",
    "Nap_Et2",
    "SK_E2",
    "SKv3_1",
];
