//! `SEClamp` (NEURON built-in single-electrode voltage clamp): `i = (vc − v)/rs` nA, with
//! `vc = amp1` for `t < dur1`, `amp2` for `t < dur1+dur2`, `amp3` for `t < dur1+dur2+dur3`, else
//! off. Events delivered to it (weight = new level) set `amp1`, which is how `Vector.play` into
//! `amp1` is expressed. After the state update `i` is recomputed with the new v (NEURON's
//! `after_cvode` SOLVE), so the recorded `i` uses the same row's v.

use super::{area_scale, columns};
use crate::mechanisms::catalogue::{BuildEnv, Constructor, Entry};
use crate::mechanisms::{Delivery, Env, EventSink, Instances, Matrix, PointProcess};

/// Catalogue entry (MΩ, ms, mV).
pub const ENTRY: Entry = Entry {
    name: "SEClamp",
    params: &[
        ("rs", 1.0),
        ("dur1", 0.0),
        ("amp1", 0.0),
        ("dur2", 0.0),
        ("amp2", 0.0),
        ("dur3", 0.0),
        ("amp3", 0.0),
    ],
    ctor: Constructor::Point(&SeClamp::build),
    rank: 40,
};

/// All `SEClamp` instances of a trial.
#[derive(Debug)]
pub struct SeClamp {
    nodes: Vec<usize>,
    p: Vec<Vec<f64>>,
    scale: Vec<f64>,
}

impl SeClamp {
    fn build(inst: Instances, _env: &BuildEnv) -> Box<dyn PointProcess> {
        Box::new(SeClamp {
            scale: area_scale(&inst.area_um2),
            nodes: inst.nodes,
            p: inst.values,
        })
    }
    /// `(vc, on)` at time `t` for instance `j` with command level `amp1`.
    fn command(&self, j: usize, t: f64, amp1: f64) -> (f64, bool) {
        let (dur1, dur2, dur3) = (self.p[1][j], self.p[3][j], self.p[5][j]);
        let tc2 = dur1 + dur2;
        let tc3 = tc2 + dur3;
        if t < dur1 {
            (amp1, true)
        } else if t < tc2 {
            (self.p[4][j], true)
        } else if t < tc3 {
            (self.p[6][j], true)
        } else {
            (0.0, false)
        }
    }
}

impl PointProcess for SeClamp {
    fn name(&self) -> &'static str {
        "SEClamp"
    }
    fn nodes(&self) -> &[usize] {
        &self.nodes
    }
    fn variables(&self) -> &'static [&'static str] {
        &["i", "vc", "amp1", "on"]
    }
    fn initialize(
        &self,
        _env: &Env,
        _v: &[f64],
        vars: &mut [f64],
        _events: &mut EventSink,
        _cx: &mut crate::mechanisms::PointCtx<'_>,
    ) {
        let n = self.nodes.len();
        let [i, vc, amp1, on] = columns::<4>(vars, n);
        for j in 0..n {
            i[j] = 0.0;
            vc[j] = 0.0;
            amp1[j] = self.p[2][j];
            on[j] = 0.0;
        }
    }
    fn current(
        &self,
        env: &Env,
        v: &[f64],
        m: &mut Matrix,
        vars: &mut [f64],
        _cx: &mut crate::mechanisms::PointCtx<'_>,
    ) {
        let n = self.nodes.len();
        let [i_out, vc_out, amp1, on_out] = columns::<4>(vars, n);
        for j in 0..n {
            let (vc, on) = self.command(j, env.t, amp1[j]);
            let rs = self.p[0][j];
            let cur = |vv: f64| if on { (vc - vv) / rs } else { 0.0 };
            let node = self.nodes[j];
            let g = cur(v[node] + 0.001);
            let rhs = cur(v[node]);
            let g = (g - rhs) / 0.001;
            m.rhs[node] += rhs * self.scale[j];
            m.d[node] -= g * self.scale[j];
            i_out[j] = rhs;
            vc_out[j] = vc;
            on_out[j] = if on { 1.0 } else { 0.0 };
        }
    }
    fn advance(
        &self,
        _env: &Env,
        v: &[f64],
        vars: &mut [f64],
        _cx: &mut crate::mechanisms::PointCtx<'_>,
    ) {
        let n = self.nodes.len();
        let [i_out, vc, _amp1, on] = columns::<4>(vars, n);
        for j in 0..n {
            i_out[j] = if on[j] != 0.0 {
                (vc[j] - v[self.nodes[j]]) / self.p[0][j]
            } else {
                0.0
            };
        }
    }
    fn receive(
        &self,
        ev: Delivery<'_>,
        vars: &mut [f64],
        _events: &mut EventSink,
        _cx: &mut crate::mechanisms::PointCtx<'_>,
    ) {
        let n = self.nodes.len();
        if let Some(&level) = ev.weights.first() {
            vars[2 * n + ev.instance] = level;
        }
    }
    fn n_weights(&self) -> usize {
        1
    }
}
