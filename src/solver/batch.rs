//! Batched trials: up to `W` trials of one cell simulated side by side on a
//! [`CellModel::batched`] model, each lane bit-identical to the trial run alone
//! (docs/architecture.md#batched-trials).
//!
//! The trials are described with ordinary [`SimulationBuilder`]s of the one-trial model; the
//! batch merges them into one simulation of the batched model: lane `l`'s nodes move to
//! `i·W + l`, its point processes join the block of their mechanism after those of the lanes
//! before it (so within a lane they keep their order, and no lane's current lands on another
//! lane's node), its NetCons, events, event vectors and probes follow. Events of different
//! lanes touch disjoint state, so merging the event lists (stably, by time) delivers each
//! lane's events in its own order. Fast numerics' renumbering of point processes by first
//! event is a stable sort, which restricted to one lane is that lane's own order.

use std::ops::Range;

use super::simulation::{NetConSpec, Probe};
use super::{CellModel, PointHandle, Simulation, SimulationBuilder, SolverError, Traces};

/// A built batch of trials: the merged simulation and where each trial's columns are.
#[derive(Debug)]
pub struct Batch<'m> {
    sim: Simulation<'m>,
    /// Probe columns of every trial, in the order the trials were given.
    columns: Vec<Range<usize>>,
}

impl<'m> Batch<'m> {
    /// Merges `trials` (builders of the one-trial model of `model`'s cell; at most
    /// `model.lanes()` of them, the remaining lanes left without inputs) into one simulation
    /// of the batched `model` and initialises it.
    ///
    /// A trial that seeds the legacy random generator ([`SimulationBuilder::set_seed`]) cannot
    /// share a batch: NEURON keeps one such generator per process and isf one per trial, so
    /// lanes drawing from a shared one would differ from their single runs.
    pub fn build(
        model: &'m CellModel,
        trials: &[SimulationBuilder<'_>],
    ) -> Result<Self, SolverError> {
        let w = model.lanes();
        if trials.is_empty() || trials.len() > w {
            return Err(SolverError::BadSetting(format!(
                "a batch of {w} lanes takes 1 to {w} trials, got {}",
                trials.len()
            )));
        }
        let mut m = SimulationBuilder::new(model);
        m.record_every = trials[0].record_every;
        let mut columns = Vec::with_capacity(trials.len());
        for (l, t) in trials.iter().enumerate() {
            let one = t.model;
            if one.lanes() != 1
                || one.n_nodes() * w != model.n_nodes()
                || one.settings() != model.settings()
            {
                return Err(SolverError::BadSetting(format!(
                    "trial {l} of the batch is not a trial of the batch's cell ({} nodes, {} \
                     lanes of {} nodes)",
                    one.n_nodes(),
                    w,
                    model.n_nodes() / w
                )));
            }
            if t.seed.is_some() {
                return Err(SolverError::NotBatchable(format!(
                    "trial {l} seeds the legacy random generator: it runs alone, not in a batch"
                )));
            }
            if t.record_every != m.record_every {
                return Err(SolverError::BadSetting(format!(
                    "trial {l} records every {} steps, trial 0 every {}: a batch records \
                     every lane at the same steps",
                    t.record_every, m.record_every
                )));
            }
            let node = |i: usize| i * w + l;
            let mut group_at = Vec::with_capacity(t.groups.len());
            for (name, nodes, params) in &t.groups {
                let g = match m.groups.iter().position(|g| g.0 == *name) {
                    Some(g) => g,
                    None => {
                        m.groups.push((name, Vec::new(), Vec::new()));
                        m.groups.len() - 1
                    }
                };
                let (_, ns, ps) = &mut m.groups[g];
                group_at.push((g, ns.len()));
                ns.extend(nodes.iter().map(|&i| node(i)));
                ps.extend(params.iter().cloned());
            }
            let handle = |h: PointHandle| PointHandle {
                group: group_at[h.group].0,
                instance: group_at[h.group].1 + h.instance,
            };
            let first_netcon = m.netcons.len();
            m.netcons.extend(t.netcons.iter().map(|nc| NetConSpec {
                source: nc.source.map(handle),
                target: handle(nc.target),
                delay: nc.delay,
                weights: nc.weights.clone(),
            }));
            m.events
                .extend(t.events.iter().map(|&(time, nc)| (time, nc + first_netcon)));
            m.vectors.extend(
                t.vectors
                    .iter()
                    .map(|(h, times)| (handle(*h), times.clone())),
            );
            let first_column = m.probes.len();
            for p in &t.probes {
                if let Probe::Voltage(i)
                | Probe::Density { node: i, .. }
                | Probe::Ion { node: i, .. } = p
                {
                    if *i >= one.n_nodes() {
                        return Err(SolverError::NodeOutOfRange {
                            node: *i,
                            nodes: one.n_nodes(),
                        });
                    }
                }
                let p = match p {
                    Probe::Voltage(i) => Probe::Voltage(node(*i)),
                    Probe::Density {
                        mechanism,
                        variable,
                        node: i,
                    } => Probe::Density {
                        mechanism: mechanism.clone(),
                        variable: variable.clone(),
                        node: node(*i),
                    },
                    Probe::Point {
                        handle: h,
                        variable,
                    } => Probe::Point {
                        handle: handle(*h),
                        variable: variable.clone(),
                    },
                    Probe::Ion { variable, node: i } => Probe::Ion {
                        variable: variable.clone(),
                        node: node(*i),
                    },
                    Probe::Weight { netcon, index } => Probe::Weight {
                        netcon: super::NetConHandle(netcon.0 + first_netcon),
                        index: *index,
                    },
                };
                m.probes.push(p);
            }
            columns.push(first_column..m.probes.len());
        }
        let sim = m.build()?;
        let batch = Batch { sim, columns };
        batch.check_scop()?;
        Ok(batch)
    }

    /// Number of trials in the batch.
    pub fn len(&self) -> usize {
        self.columns.len()
    }

    /// Whether the batch has no trials (never: [`Batch::build`] refuses an empty one).
    pub fn is_empty(&self) -> bool {
        self.columns.is_empty()
    }

    /// Runs ISF's loop `while t < tstop_ms[k]` for every trial `k` (on the accumulated t) and
    /// returns each trial's traces, as [`Simulation::run_until`] would give them for the trial
    /// alone. The batch steps until its last trial ends.
    pub fn run_until(&mut self, tstop_ms: &[f64]) -> Result<Vec<Traces>, SolverError> {
        if tstop_ms.len() != self.columns.len() {
            return Err(SolverError::BadSetting(format!(
                "{} stop times for a batch of {} trials",
                tstop_ms.len(),
                self.columns.len()
            )));
        }
        let lanes: Vec<(Range<usize>, f64)> = self
            .columns
            .iter()
            .cloned()
            .zip(tstop_ms.iter().copied())
            .collect();
        let out = self.sim.run_lanes(&lanes);
        self.check_scop()?;
        Ok(out)
    }

    fn check_scop(&self) -> Result<(), SolverError> {
        if self.sim.used_scop() {
            return Err(SolverError::NotBatchable(
                "a mechanism draws from the cell's legacy random generator (scop_random, \
                 exprand, normrand), which the trials of a batch would share: run them one \
                 at a time"
                    .into(),
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mechanisms::{Ions, MechanismPlacement, Numerics};
    use crate::solver::{CableTree, SimSettings};

    /// Trial `k` on a three-segment cable with `hh` and `pas`: synapses with lane-specific
    /// events, a current clamp, and a probe of every kind.
    fn trial<'m>(model: &'m CellModel, k: usize) -> SimulationBuilder<'m> {
        let mut b = SimulationBuilder::new(model);
        let kf = k as f64;
        let a = b.add_point("glutamate_syn", 2, &[]).unwrap();
        let c = b
            .add_point("glutamate_syn", 1, &[("decayampa", 0.9)])
            .unwrap();
        let g = b.add_point("gaba_syn", 3, &[]).unwrap();
        let nc = b
            .add_events(a, &[1.0 + kf, 3.0, 3.0 + 0.5 * kf], &[1.5, 2.0])
            .unwrap();
        b.add_events(c, &[2.0 + 0.25 * kf], &[0.7 * (kf + 1.0), 1.0])
            .unwrap();
        b.add_events(g, &[4.0 - 0.5 * kf], &[2.0]).unwrap();
        b.add_point(
            "IClamp",
            1,
            &[("del", 1.0), ("dur", 3.0), ("amp", 0.1 * kf)],
        )
        .unwrap();
        b.record(Probe::Voltage(1));
        b.record(Probe::Voltage(3));
        b.record(Probe::Point {
            handle: c,
            variable: "C".into(),
        });
        b.record(Probe::Ion {
            variable: "ina".into(),
            node: 2,
        });
        b.record(Probe::Density {
            mechanism: "hh".into(),
            variable: "m".into(),
            node: 3,
        });
        b.record(Probe::Weight {
            netcon: nc,
            index: 1,
        });
        b
    }

    #[test]
    fn every_lane_equals_its_trial_alone() {
        let tree = CableTree {
            parent: vec![usize::MAX, 0, 1, 2, 3],
            area_um2: vec![0.0, 500.0, 400.0, 300.0, 0.0],
            cm_uf_cm2: vec![0.0, 1.0, 1.0, 2.0, 0.0],
            rinv_us: vec![0.0, 20.0, 10.0, 10.0, 20.0],
        };
        let placement = |name: &str| {
            let mut p = MechanismPlacement::new(name);
            p.nodes = vec![1, 2, 3];
            p
        };
        for numerics in [Numerics::Fast, Numerics::Exact] {
            let settings = SimSettings {
                dt_ms: 0.025,
                celsius: 6.3,
                vinit_mv: -65.0,
                numerics,
            };
            let placements = [placement("hh"), placement("pas")];
            let one = CellModel::new(&tree, &placements, Ions::defaults(5), settings).unwrap();
            // 4 lanes (the lane-wide loops) and 3 (the forest's own loops), 3 trials each.
            for lanes in [4, 3] {
                let wide =
                    CellModel::batched(&tree, &placements, Ions::defaults(5), settings, lanes)
                        .unwrap();
                let trials: Vec<_> = (0..3).map(|k| trial(&one, k)).collect();
                let stops = [8.0, 5.0, 8.0];
                let got = Batch::build(&wide, &trials)
                    .unwrap()
                    .run_until(&stops)
                    .unwrap();
                for (k, (g, stop)) in got.iter().zip(stops).enumerate() {
                    let alone = trial(&one, k).build().unwrap().run_until(stop);
                    let bits = |t: &Traces| {
                        let mut v: Vec<u64> = t.t.iter().map(|x| x.to_bits()).collect();
                        for c in &t.columns {
                            v.extend(c.iter().map(|x| x.to_bits()));
                        }
                        v
                    };
                    assert_eq!(g.columns.len(), 6);
                    assert!(
                        bits(g) == bits(&alone),
                        "{numerics:?}, {lanes} lanes: trial {k} differs"
                    );
                }
                assert!(got[0].columns[0] != got[2].columns[0]);
            }
        }
    }

    #[test]
    fn batches_that_cannot_be_are_refused() {
        let tree = CableTree::single_compartment(100.0, 1.0, 0.01);
        let settings = SimSettings {
            dt_ms: 0.025,
            celsius: 34.0,
            vinit_mv: -65.0,
            numerics: Numerics::Fast,
        };
        let one = CellModel::new(&tree, &[], Ions::defaults(3), settings).unwrap();
        let wide = CellModel::batched(&tree, &[], Ions::defaults(3), settings, 2).unwrap();
        let three: Vec<_> = (0..3).map(|_| SimulationBuilder::new(&one)).collect();
        assert!(Batch::build(&wide, &three).is_err());
        let mut seeded = SimulationBuilder::new(&one);
        seeded.set_seed(5.0).unwrap();
        assert!(matches!(
            Batch::build(&wide, &[seeded]),
            Err(SolverError::NotBatchable(_))
        ));
        let other = CellModel::new(
            &CableTree::single_compartment(200.0, 1.0, 0.01),
            &[],
            Ions::defaults(3),
            SimSettings {
                dt_ms: 0.05,
                ..settings
            },
        )
        .unwrap();
        let e = Batch::build(&wide, &[SimulationBuilder::new(&other)]).unwrap_err();
        assert!(
            e.to_string().contains("not a trial of the batch's cell"),
            "{e}"
        );
        assert!(CellModel::batched(&tree, &[], Ions::defaults(3), settings, 0).is_err());
    }
}
