//! `gaba_syn` (ISF `netgaba.mod`): difference of exponentials with depression/facilitation.
//! `ggaba = D − R` (nS), `i = 1e-3·ggaba·(v − e)` (nA). NET_RECEIVE(weight):
//! `R += factor·w·dgaba·fgaba; D += same; dgaba *= decaygaba; fgaba += facilgaba`.

use super::{
    area_scale, columns, decay_to_zero, extend_reach, peak_factor, reach, relax, relax_to_one,
    Factors,
};
use crate::mechanisms::catalogue::{BuildEnv, Constructor, Entry};
use crate::mechanisms::{
    common_len, Delivery, Env, EventSink, Instances, Matrix, NodeList, PointProcess,
};

/// Catalogue entry (mod-file defaults).
pub const ENTRY: Entry = Entry {
    name: "gaba_syn",
    params: &[
        ("e", -60.0),
        ("risetime", 1.0),
        ("decaytime", 20.0),
        ("taudgaba", 200.0),
        ("decaygaba", 0.8),
        ("taufgaba", 200.0),
        ("facilgaba", 0.0),
    ],
    ctor: Constructor::Point(&GabaSyn::build),
    rank: 310,
};

/// All `gaba_syn` instances of a trial.
#[derive(Debug)]
pub struct GabaSyn {
    nodes: NodeList,
    e: Vec<f64>,
    decaygaba: Vec<f64>,
    facilgaba: Vec<f64>,
    factor: Vec<f64>,
    relax_r: Factors,
    relax_d: Factors,
    relax_dg: Factors,
    relax_fg: Factors,
    scale: Vec<f64>,
    /// Whether every instance has `decaygaba = 1` and `facilgaba = 0`: then dgaba and fgaba
    /// stay exactly 1, and their updates are skipped.
    plain: bool,
}

impl GabaSyn {
    fn build(inst: Instances, env: &BuildEnv) -> Box<dyn PointProcess> {
        let p = &inst.values;
        let n = inst.nodes.len();
        Box::new(GabaSyn {
            plain: (0..n).all(|j| p[4][j] == 1.0 && p[6][j] == 0.0),
            scale: area_scale(&inst.area_um2),
            e: p[0].clone(),
            factor: (0..n).map(|j| peak_factor(p[1][j], p[2][j])).collect(),
            relax_r: Factors::new(p[1].iter().map(|&t| relax(env.dt, t)).collect()),
            relax_d: Factors::new(p[2].iter().map(|&t| relax(env.dt, t)).collect()),
            relax_dg: Factors::new(p[3].iter().map(|&t| relax(env.dt, t)).collect()),
            decaygaba: p[4].clone(),
            relax_fg: Factors::new(p[5].iter().map(|&t| relax(env.dt, t)).collect()),
            facilgaba: p[6].clone(),
            nodes: NodeList::new(inst.nodes),
        })
    }
}

impl PointProcess for GabaSyn {
    fn name(&self) -> &'static str {
        "gaba_syn"
    }
    fn nodes(&self) -> &[usize] {
        self.nodes.as_slice()
    }
    fn variables(&self) -> &'static [&'static str] {
        &["R", "D", "dgaba", "fgaba", "ggaba", "i"]
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
        let [r, d, dg, fg, g, i] = columns::<6>(vars, n);
        r.fill(0.0);
        d.fill(0.0);
        dg.fill(1.0);
        fg.fill(1.0);
        g.fill(0.0);
        i.fill(0.0);
        vars[6 * n..].fill(0.0);
    }
    fn scratch_len(&self) -> usize {
        // How far the instances that have received an event reach.
        1
    }
    #[inline]
    fn current(
        &self,
        env: &Env,
        v: &[f64],
        m: &mut Matrix,
        vars: &mut [f64],
        _cx: &mut crate::mechanisms::PointCtx<'_>,
    ) {
        let n = self.nodes.len();
        let (vars, reached) = vars.split_at_mut(6 * n);
        let live = reach(reached[0], n);
        let [r, d, _, _, g_out, i_out] = columns::<6>(vars, n);
        let len = common_len(&[v.len(), m.rhs.len(), m.d.len()]);
        let (v, m) = (&v[..len], m.cut(len));
        let (e, scale) = (&self.e[..n], &self.scale[..n]);
        // Synapses past the last that has received an event contribute exactly ±0: skipped
        // (see glutamate_syn).
        for (j, node) in self.nodes.within(len).enumerate().take(live) {
            let vn = v[node];
            let g = d[j] - r[j];
            let i = 1e-3 * g * (vn - e[j]);
            let slope = m.ohmic_slope(1e-3 * g, vn, e[j], i);
            let s = scale[j];
            m.rhs[node] -= i * s;
            m.d[node] += slope * s;
            if env.outputs {
                g_out[j] = g;
                i_out[j] = i;
            }
        }
    }
    #[inline]
    fn advance(
        &self,
        _env: &Env,
        _v: &[f64],
        vars: &mut [f64],
        _cx: &mut crate::mechanisms::PointCtx<'_>,
    ) {
        let n = self.nodes.len();
        let (vars, reached) = vars.split_at_mut(6 * n);
        let live = reach(reached[0], n);
        let [r, d, dg, fg, _, _] = columns::<6>(vars, n);
        decay_to_zero(&mut r[..live], &self.relax_r);
        decay_to_zero(&mut d[..live], &self.relax_d);
        if self.plain {
            return;
        }
        relax_to_one(&mut dg[..live], &self.relax_dg);
        relax_to_one(&mut fg[..live], &self.relax_fg);
    }
    fn receive(
        &self,
        ev: Delivery<'_>,
        vars: &mut [f64],
        _events: &mut EventSink,
        _cx: &mut crate::mechanisms::PointCtx<'_>,
    ) {
        let j = ev.instance;
        let n = self.nodes.len();
        let w = ev.weights.first().copied().unwrap_or(0.0);
        extend_reach(&mut vars[6 * n], j);
        let [r, d, dg, fg, _, _] = columns::<6>(vars, n);
        let jump = self.factor[j] * w * dg[j] * fg[j];
        r[j] += jump;
        d[j] += jump;
        dg[j] *= self.decaygaba[j];
        fg[j] += self.facilgaba[j];
    }
    fn n_weights(&self) -> usize {
        1
    }
}
