//! Library-level checks of the engine and the cell builder against NEURON 9.0.2 and ISF (reference
//! data from `../shared`), the golden digests of `exact` outputs, and the docs' citations.
//!
//! One test binary for these modules: each used to be a binary of its own, linking HDF5 and
//! MPI. Tests that open HDF5 files in-process while other tests spawn processes stay in
//! binaries of their own (`reliability`, `isf_export_resume`, `db_init_equivalence`, and
//! isf-post's): HDF5 `flock`s the files it opens without close-on-exec, so a child spawned
//! meanwhile keeps the lock and a later writer of the file fails.

#[path = "../common/mod.rs"]
mod common;

mod batch_lanes;
mod cell_86;
mod cell_rules;
mod docs_citations;
mod golden_digest;
mod layers;
mod mechanisms_reference;
mod morphology_86;
mod network_trial;
mod nmodl_compiled;
mod nmodl_methods;
mod nmodl_points;
mod nmodl_stim;
mod numpy_rng;
mod passive_geometry;
mod passive_geometry_voltage;
mod replay_86;
mod soma_step_reference;
mod synapses_reference;
