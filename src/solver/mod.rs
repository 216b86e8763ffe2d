//! NEURON's fixed-step linearised backward-Euler solver on the node tree (Hines elimination), event delivery and recording.
//!
//! # Using the engine
//! ```no_run
//! # fn main() -> Result<(), isf::solver::SolverError> {
//! use isf::solver::{CableTree, CellModel, Probe, SimSettings, SimulationBuilder};
//! use isf::mechanisms::{Ions, MechanismPlacement};
//! // 1. The template: node tree (from the cell builder) + density mechanism placements.
//! let tree = CableTree::single_compartment(1256.6370614359173, 1.0, 0.03183098861837907);
//! let pas = MechanismPlacement { name: "pas".into(), nodes: vec![1],
//!     params: [("g".to_string(), vec![3e-5]), ("e".to_string(), vec![-90.0])].into_iter().collect() };
//! let settings = SimSettings { dt_ms: 0.025, celsius: 34.0, vinit_mv: -75.0 };
//! let model = CellModel::new(&tree, &[pas], Ions::defaults(tree.len()), settings)?;
//! // 2. A trial: point processes, events, recordings (cheap; many trials share one model).
//! let mut b = SimulationBuilder::new(&model);
//! let syn = b.add_point("glutamate_syn", 1, &[("tau1", 26.0), ("decayampa", 1.0)])?;
//! b.add_events(syn, &[10.0, 12.0], &[1.68, 1.68])?; // release times, NetCon weights (nS)
//! b.add_point("IClamp", 1, &[("del", 20.0), ("dur", 100.0), ("amp", 0.3)])?;
//! let soma = b.record(Probe::Voltage(1));
//! // 3. Run: ISF's `while t < tstop` loop; row 0 is t = 0.
//! let traces = b.build()?.run_until(200.0);
//! println!("{} rows, last v {}", traces.t.len(), traces.columns[soma].last().unwrap());
//! # Ok(()) }
//! ```
//! The per-trial [`State`] (v, gates, ions, synapse states, event cursor) is separate from the
//! [`CellModel`], which is `Sync` and can be shared by trials on many threads.
//!
//! # One step (NEURON's `nrn_fixed_step`, secondorder = 0)
//! Events with time ≤ t + dt/2 are delivered (the event list is sorted once and consumed with a
//! cursor); t += dt/2; currents and the finite-difference Jacobian (`v + 0.001`) are assembled
//! per mechanism block, then the capacitive and axial terms; Hines elimination gives Δv;
//! v += Δv; t += dt/2; states advance with the new v (concentration writers first).

pub mod cable;
pub mod model;
pub mod simulation;

pub use cable::CableTree;
pub use model::{CellModel, SimSettings};
pub use simulation::{PointHandle, Probe, Simulation, SimulationBuilder, State, Traces};

use crate::mechanisms::CatalogueError;

/// Errors building or running a simulation.
#[derive(Debug, thiserror::Error)]
pub enum SolverError {
    /// Unknown mechanism or parameter, wrong kind, bad parameter values.
    #[error(transparent)]
    Catalogue(#[from] CatalogueError),
    /// The node tree is malformed.
    #[error("node tree: node {node}: {reason}")]
    BadTree {
        /// Offending node.
        node: usize,
        /// What is wrong.
        reason: String,
    },
    /// A node index beyond the tree.
    #[error("node {node} does not exist (the tree has {nodes} nodes)")]
    NodeOutOfRange {
        /// The index.
        node: usize,
        /// Number of nodes.
        nodes: usize,
    },
    /// The same density mechanism placed twice.
    #[error("density mechanism `{0}` is placed twice; merge its placements")]
    DuplicatePlacement(String),
    /// A bad setting (dt, times, weights).
    #[error("{0}")]
    BadSetting(String),
    /// A probe that names nothing recordable.
    #[error("cannot record: {0}")]
    UnknownProbe(String),
}
