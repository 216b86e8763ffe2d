//! The `isf` binary's commands: their outputs, their errors on bad input and the output rules
//! (overwrite, locks, signals) they share.
//!
//! One test binary for these modules: each used to be a binary of its own, linking HDF5 and
//! MPI. Tests that open HDF5 files in-process while other tests spawn processes stay in
//! binaries of their own (`reliability`, `isf_export_resume`, `db_init_equivalence`, and
//! isf-post's): HDF5 `flock`s the files it opens without close-on-exec, so a child spawned
//! meanwhile keeps the lock and a later writer of the file fails.

#[path = "../common/mod.rs"]
mod common;

mod bad_input;
mod bad_network_input;
mod cli_db;
mod example_cli;
mod example_model;
mod launchers;
mod mapper_bad_input;
mod mapper_cli;
mod mapper_fixture;
mod mapper_network_param;
mod mech_workflow;
mod network_errors;
mod output_rules;
mod plot;
mod protocol_cli;
mod replay_cli;
mod simulate_task;
