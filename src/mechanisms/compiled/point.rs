//! Point processes and artificial cells compiled from NMODL: the density executor's phases with
//! the point-process conventions (currents in nA scaled by `1e2/area` at the node), NET_RECEIVE
//! run for one event at a time (its arguments loaded from and stored back to the NetCon's weight
//! vector, `t` the event's time), NET_RECEIVE's INITIAL per NetCon, and the events the code
//! emits handed to the solver's queue.

use std::sync::Arc;

use isf_nmodl::lower::ProgramKind;

use super::{CompiledMechanism, EventCtx, Loaded, Phase};
use crate::mechanisms::catalogue::BuildEnv;
use crate::mechanisms::point::area_scale;
use crate::mechanisms::{Delivery, Env, EventSink, Instances, Matrix, PointCtx, PointProcess};

/// All instances of a compiled point process (or artificial cell) in a trial.
#[derive(Debug)]
pub struct CompiledPoint {
    inner: CompiledMechanism,
    dt: f64,
    celsius: f64,
}

impl CompiledPoint {
    fn loaded(&self) -> &Arc<Loaded> {
        &self.inner.loaded
    }
    fn env(&self, t: f64) -> Env {
        Env {
            dt: self.dt,
            t,
            celsius: self.celsius,
            outputs: true,
        }
    }
}

/// A block of `loaded`'s instances.
pub(super) fn build(
    loaded: &Arc<Loaded>,
    inst: Instances,
    env: &BuildEnv,
) -> Box<dyn PointProcess> {
    let scale = match loaded.program.kind {
        ProgramKind::Point => area_scale(&inst.area_um2),
        _ => Vec::new(),
    };
    Box::new(CompiledPoint {
        inner: CompiledMechanism::new(
            loaded.clone(),
            inst.nodes,
            inst.values,
            inst.area_um2,
            scale,
        ),
        dt: env.dt,
        celsius: env.celsius,
    })
}

impl PointProcess for CompiledPoint {
    fn name(&self) -> &'static str {
        self.loaded().name
    }
    fn nodes(&self) -> &[usize] {
        &self.inner.nodes
    }
    fn variables(&self) -> &'static [&'static str] {
        self.loaded().vars
    }
    fn initialize(
        &self,
        env: &Env,
        v: &[f64],
        vars: &mut [f64],
        events: &mut EventSink,
        cx: &mut PointCtx<'_>,
    ) {
        self.inner.run(
            Phase::Init,
            env,
            v,
            None,
            None,
            vars,
            None,
            Some(events),
            Some(cx),
        );
    }
    fn current(
        &self,
        env: &Env,
        v: &[f64],
        m: &mut Matrix,
        vars: &mut [f64],
        cx: &mut PointCtx<'_>,
    ) {
        if self.loaded().program.currents.is_empty() {
            return;
        }
        self.inner.run(
            Phase::Current,
            env,
            v,
            None,
            Some(m),
            vars,
            None,
            None,
            Some(cx),
        );
    }
    fn advance(&self, env: &Env, v: &[f64], vars: &mut [f64], cx: &mut PointCtx<'_>) {
        self.inner
            .run(Phase::State, env, v, None, None, vars, None, None, Some(cx));
    }
    fn receive(
        &self,
        ev: Delivery<'_>,
        vars: &mut [f64],
        events: &mut EventSink,
        cx: &mut PointCtx<'_>,
    ) {
        let env = self.env(ev.t);
        let ctx = EventCtx {
            instance: ev.instance,
            weights: ev.weights,
            flag: ev.flag,
        };
        self.inner.run(
            Phase::Receive,
            &env,
            &[],
            None,
            None,
            vars,
            Some(ctx),
            Some(events),
            Some(cx),
        );
    }
    fn receive_init(
        &self,
        instance: usize,
        weights: &mut [f64],
        vars: &mut [f64],
        cx: &mut PointCtx<'_>,
    ) {
        let has_initial = self
            .loaded()
            .program
            .net_receive
            .as_ref()
            .is_some_and(|nr| nr.initial.is_some());
        if !has_initial {
            if let Some(rest) = weights.get_mut(1..) {
                rest.fill(0.0);
            }
            return;
        }
        let env = self.env(0.0);
        let ctx = EventCtx {
            instance,
            weights,
            flag: 0.0,
        };
        // Events NET_RECEIVE's INITIAL might send are not expected (none in the corpus).
        let mut sink = EventSink::default();
        self.inner.run(
            Phase::ReceiveInit,
            &env,
            &[],
            None,
            None,
            vars,
            Some(ctx),
            Some(&mut sink),
            Some(cx),
        );
    }
    fn n_weights(&self) -> usize {
        self.loaded()
            .program
            .net_receive
            .as_ref()
            .map_or(0, |nr| nr.args.len())
    }
    fn artificial(&self) -> bool {
        self.loaded().program.kind == ProgramKind::Artificial
    }
}
