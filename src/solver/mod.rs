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
//! let settings = SimSettings {
//!     dt_ms: 0.025,
//!     celsius: 34.0,
//!     vinit_mv: -75.0,
//!     numerics: Default::default(),
//! };
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
//!
//! # Numerics and speed
//! Two numerics ([`crate::mechanisms::Numerics`]) solve the same equations with the same scheme.
//!
//! `Exact` performs every operation NEURON 9 performs, in its order (density and point
//! mechanisms interleaved in NEURON's type order, the mod files' `rates()`, nocmodl's cnexp form,
//! glibc's `exp`/`log`/`pow`, the `v + 0.001` slope), so the single-compartment, synapse and
//! passive references are reproduced bit for bit, including the calcium-runaway
//! references in which one differently rounded operation per step grows into thousands of mV.
//!
//! `Fast` (the default) rearranges the equations to spend fewer divisions, exponentials and
//! library calls: gate rates as `(inf, 1/τ)` with cnexp as `x + (1 − e^{−dt/τ})(inf − x)`,
//! vectorised `ln` for SK_E2's power and the Nernst potentials, `g` as the slope of ohmic
//! currents, constants of CaDynamics_E2 and of the axial terms folded once, slow gates relaxed
//! by the series of `1 − e^{−q}` instead of an exponential, and one division per node in the
//! Hines solve (the back substitution multiplies by stored reciprocals). It agrees with
//! NEURON to round-off (the bounds the tests hold are in the README and
//! docs/numerics.md#agreement-with-neuron); only NEURON's round-off-driven runaways part.
//!
//! Both vectorise the gate-channel, SK_E2 and Mg-block loops around an inlined `exp`
//! ([`crate::mechanisms::exp`]); each gate channel's update runs as short loops per block of
//! instances (one per rate exponential, one for the rest) because one long loop body ran at the
//! latency of its exp → division → exp chain; Hines elimination visits nodes in an order that
//! interleaves independent branches without changing any sum (`model::elimination_order`).
//! `benches/replay.rs` times ISF's reference network trial (300 ms) with both; `benches/mechanisms.rs`
//! times each kernel. What remains is mostly the gate channels' exponentials (about 0.45 s of the
//! trial at this CPU's vector throughput).

pub mod batch;
pub mod cable;
mod lanes;
pub mod model;
pub mod simulation;

pub use batch::Batch;
pub use cable::CableTree;
pub use model::{CellModel, SimSettings};
pub use simulation::{
    NetConHandle, PointHandle, Probe, Simulation, SimulationBuilder, State, Traces,
};

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
    /// Trials that cannot share a batch (they would not give their single-trial results).
    #[error("not batchable: {0}")]
    NotBatchable(String),
    /// A probe that names nothing recordable.
    #[error("cannot record: {0}")]
    UnknownProbe(String),
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mechanisms::{Ions, MechanismPlacement, Numerics};

    fn settings() -> SimSettings {
        SimSettings {
            dt_ms: 0.025,
            celsius: 34.0,
            vinit_mv: -65.0,
            numerics: Default::default(),
        }
    }

    fn placement(name: &str, nodes: Vec<usize>, params: &[(&str, f64)]) -> MechanismPlacement {
        let n = nodes.len();
        MechanismPlacement {
            name: name.into(),
            nodes,
            params: params
                .iter()
                .map(|(k, v)| (k.to_string(), vec![*v; n]))
                .collect(),
        }
    }

    #[test]
    fn bad_models_are_errors_not_panics() {
        let tree = CableTree::single_compartment(100.0, 1.0, 0.01);
        let ions = || Ions::defaults(3);
        let bad_dt = SimSettings {
            dt_ms: -0.025,
            ..settings()
        };
        assert!(matches!(
            CellModel::new(&tree, &[], ions(), bad_dt),
            Err(SolverError::BadSetting(_))
        ));
        let e = CellModel::new(&tree, &[placement("NaX", vec![1], &[])], ions(), settings())
            .unwrap_err();
        assert!(e.to_string().contains("NaTa_t"), "{e}");
        let e = CellModel::new(
            &tree,
            &[placement("pas", vec![1], &[("gpas", 1.0)])],
            ions(),
            settings(),
        )
        .unwrap_err();
        assert!(e.to_string().contains("known: g, e"), "{e}");
        let e = CellModel::new(&tree, &[placement("pas", vec![7], &[])], ions(), settings())
            .unwrap_err();
        assert!(matches!(e, SolverError::NodeOutOfRange { node: 7, .. }));
        let e = CellModel::new(
            &tree,
            &[placement("IClamp", vec![1], &[])],
            ions(),
            settings(),
        )
        .unwrap_err();
        assert!(e.to_string().contains("Point"), "{e}");
        let mut cyclic = tree.clone();
        cyclic.parent[1] = 2;
        assert!(matches!(
            CellModel::new(&cyclic, &[], ions(), settings()),
            Err(SolverError::BadTree { node: 1, .. })
        ));
    }

    #[test]
    fn bad_trial_inputs_are_errors() {
        let tree = CableTree::single_compartment(100.0, 1.0, 0.01);
        let model = CellModel::new(
            &tree,
            &[placement("pas", vec![1], &[])],
            Ions::defaults(3),
            settings(),
        )
        .unwrap();
        let mut b = SimulationBuilder::new(&model);
        assert!(b.add_point("pas", 1, &[]).is_err());
        assert!(b.add_point("IClamp", 9, &[]).is_err());
        assert!(b.add_point("IClamp", 1, &[("amp", f64::NAN)]).is_err());
        let syn = b.add_point("gaba_syn", 1, &[]).unwrap();
        assert!(b.add_events(syn, &[f64::INFINITY], &[1.0]).is_err());
        b.add_events(syn, &[1.0], &[1.0, 2.0]).unwrap();
        assert!(b
            .build()
            .unwrap_err()
            .to_string()
            .contains("1 NetCon weights"));
        let mut b = SimulationBuilder::new(&model);
        b.record(Probe::Density {
            mechanism: "pas".into(),
            variable: "gbar".into(),
            node: 1,
        });
        assert!(matches!(b.build(), Err(SolverError::UnknownProbe(_))));
    }

    #[test]
    fn passive_compartment_relaxes_as_backward_euler_predicts() {
        // One segment with pas only (g 1e-3 S/cm², e −70, cm 1, dt 0.025) starting at −65 mV:
        // backward Euler gives v_{n+1} − e = (v_n − e)·c/(c + g) with c = 1e-3·cm/dt = 0.04
        // (the zero-area end nodes follow the centre exactly).
        let tree = CableTree::single_compartment(500.0, 1.0, 0.01);
        let model = CellModel::new(
            &tree,
            &[placement("pas", vec![1], &[("g", 1e-3), ("e", -70.0)])],
            Ions::defaults(3),
            settings(),
        )
        .unwrap();
        let mut b = SimulationBuilder::new(&model);
        let v = b.record(Probe::Voltage(1));
        let tr = b.build().unwrap().run_steps(400);
        assert_eq!(tr.t.len(), 401);
        let k: f64 = 0.04 / (0.04 + 1e-3);
        for (n, x) in tr.columns[v].iter().enumerate() {
            let expected = -70.0 + 5.0 * k.powi(n as i32);
            assert!((x - expected).abs() < 1e-9, "step {n}: {x} vs {expected}");
        }
        // ISF's loop on accumulated t takes one step more than tstop/dt here.
        let mut b = SimulationBuilder::new(&model);
        b.record(Probe::Voltage(1));
        assert_eq!(b.build().unwrap().run_until(10.0).t.len(), 402);
    }

    #[test]
    fn synapse_handles_and_probes_survive_fast_renumbering() {
        // Fast numerics renumber point processes by first event: b (first event at 1 ms) comes
        // before a (5 ms) and c (none). Handles, events and probes must still refer to the
        // synapse the caller added, so both numerics record the same columns.
        let tree = CableTree::single_compartment(500.0, 1.0, 0.01);
        let traces = |numerics| {
            let model = CellModel::new(
                &tree,
                &[placement("pas", vec![1], &[])],
                Ions::defaults(3),
                SimSettings {
                    numerics,
                    ..settings()
                },
            )
            .unwrap();
            let mut b = SimulationBuilder::new(&model);
            let syn: Vec<_> = (0..3)
                .map(|_| b.add_point("glutamate_syn", 1, &[]).unwrap())
                .collect();
            b.add_events(syn[0], &[5.0, 7.0], &[1.0, 0.5]).unwrap();
            b.add_events(syn[1], &[1.0], &[0.2, 2.0]).unwrap();
            let cols: Vec<_> = syn
                .iter()
                .flat_map(|&handle| {
                    ["A", "C"].map(|variable| Probe::Point {
                        handle,
                        variable: variable.into(),
                    })
                })
                .map(|p| b.record(p))
                .collect();
            let tr = b.build().unwrap().run_until(10.0);
            cols.iter()
                .map(|&c| tr.columns[c].clone())
                .collect::<Vec<_>>()
        };
        let (fast, exact) = (traces(Numerics::Fast), traces(Numerics::Exact));
        let at = |ms: f64| (ms / 0.025).round() as usize;
        for (k, (f, e)) in fast.iter().zip(&exact).enumerate() {
            for (x, y) in f.iter().zip(e) {
                assert!(
                    (x - y).abs() <= 1e-12 * y.abs().max(1e-3),
                    "column {k}: {x} vs {y}"
                );
            }
        }
        // a: nothing before 5 ms; b: from 1 ms, its NMDA weight 10× its AMPA weight (A vs C
        // scaled by the peak factors); c: never.
        assert!(fast[0][at(4.9)] == 0.0 && fast[0][at(5.2)] > 0.0);
        assert!(fast[2][at(0.9)] == 0.0 && fast[2][at(1.2)] > 0.0 && fast[3][at(1.2)] > 0.0);
        assert!(fast[4].iter().chain(&fast[5]).all(|&x| x == 0.0));
    }
}
