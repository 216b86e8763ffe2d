//! Run configs and ISF tasks (`isf simulate`): decompositions over MPI ranks and threads, the
//! serial build, a killed-and-resumed run, the ISF-model task.
//!
//! One test binary for these modules: each used to be a binary of its own, linking HDF5 and
//! MPI. Tests that open HDF5 files in-process while other tests spawn processes stay in
//! binaries of their own (`reliability`, `isf_export_resume`, `db_init_equivalence`, and
//! isf-post's): HDF5 `flock`s the files it opens without close-on-exec, so a child spawned
//! meanwhile keeps the lock and a later writer of the file fails.

#[path = "../common/mod.rs"]
mod common;

mod run_compiled;
mod run_isf_model;
mod run_spmd;
