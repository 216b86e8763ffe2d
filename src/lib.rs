//! isf: an MPI-parallel re-implementation of the In Silico Framework's single-cell-in-network
//! simulation pipeline, numerically equivalent to NEURON's fixed-step solver.
//!
//! Modules are layered; a module imports only modules of lower layers (`docs/architecture.md`
//! states the order, `scripts/check_layers.py` enforces it):
//! [`text`], [`limits`], [`comm`] → [`mechanisms`] → [`param`] → [`morphology`] → [`solver`] →
//! [`cell`] → [`network`] → [`trial`] → [`output`] → [`recipe`] → [`run`] →
//! [`example_model`], [`mapper`] → [`cli`].
//! Test support (`testing`, the run layer's synthetic test fixture) is built only with the
//! `test-support` feature, which the test suite turns on.

#![warn(missing_docs)]

pub mod cell;
pub mod cli;
pub mod comm;
pub mod example_model;
pub mod limits;
pub mod mapper;
pub mod mechanisms;
pub mod morphology;
pub mod network;
pub mod output;
pub mod param;
pub mod plot;
pub mod recipe;
pub mod run;
pub mod solver;
#[cfg(any(test, feature = "test-support"))]
pub mod testing;
pub mod text;
pub mod trial;
