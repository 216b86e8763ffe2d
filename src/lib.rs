//! isf: an MPI-parallel re-implementation of the In Silico Framework's single-cell-in-network
//! simulation pipeline, numerically equivalent to NEURON's fixed-step solver.
//!
//! Modules follow the path of the data:
//! [`param`] → [`morphology`] → [`cell`] → [`mechanisms`] → [`solver`] → [`network`] →
//! [`trial`] → [`output`], with [`run`] (MPI/rayon decomposition) above and [`mapper`]
//! (anatomical embedding) beside them, and [`example_model`] (the embedded example model).

pub mod cell;
pub mod cli;
pub mod example_model;
pub mod limits;
pub mod mapper;
pub mod mechanisms;
pub mod morphology;
pub mod network;
pub mod output;
pub mod param;
pub mod run;
pub mod solver;
pub mod testing;
pub mod text;
pub mod trial;
