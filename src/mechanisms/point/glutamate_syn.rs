//! `glutamate_syn` (ISF `netglutamate.mod`, Polsky 2010 / Egger 2015): AMPA (C, D) and NMDA
//! (A, B, Mg block) differences of exponentials with depression/facilitation.
//! `gnmda = (A − B)/(1 + n·exp(−gama·v))`, `gampa = C − D` (nS); `inmda = 1e-3·gnmda·(v − e)`,
//! `iampa = 1e-3·gampa·(v − e)` (nA). NET_RECEIVE(w_ampa, w_nmda) increments A, B by
//! `factor1·w_nmda·dnmda·fnmda` and C, D by `factor2·w_ampa·dampa·fampa`, then applies the
//! depression and facilitation steps.

use super::{
    area_scale, columns, decay_to_zero, extend_reach, peak_factor, reach, relax, relax_to_one,
    Factors,
};
use crate::mechanisms::catalogue::{BuildEnv, Constructor, Entry};
use crate::mechanisms::exp::{dispatch, hoc_exp_with, Exp, Kernel, PolyExp};
use crate::mechanisms::{
    common_len, Delivery, Env, EventSink, Instances, Matrix, NodeList, Numerics, PointProcess,
};

/// Catalogue entry (mod-file defaults; `n`, `gama` are the globals `n_glutamate_syn`, `gama_glutamate_syn`).
pub const ENTRY: Entry = Entry {
    name: "glutamate_syn",
    params: &[
        ("tau1", 50.0),
        ("tau2", 2.0),
        ("tau3", 2.0),
        ("tau4", 0.1),
        ("e", 0.0),
        ("decayampa", 0.5),
        ("decaynmda", 0.5),
        ("taudampa", 200.0),
        ("taudnmda", 200.0),
        ("facilampa", 0.0),
        ("facilnmda", 0.0),
        ("taufampa", 200.0),
        ("taufnmda", 200.0),
        ("n", 0.25),
        ("gama", 0.08),
    ],
    ctor: Constructor::Point(&GlutamateSyn::build),
    rank: 320,
};

/// All `glutamate_syn` instances of a trial.
#[derive(Debug)]
pub struct GlutamateSyn {
    nodes: NodeList,
    p: Vec<Vec<f64>>,
    factor1: Vec<f64>,
    factor2: Vec<f64>,
    relax_abcd: [Factors; 4],
    /// cnexp fractions of dampa, dnmda, fampa, fnmda (constant time constants).
    relax_df: [Factors; 4],
    scale: Vec<f64>,
    /// Node, `n` and `gama` of every distinct (node, n, gama) key among the instances: the
    /// Mg-block denominators are computed once per key and step (bit-identical to per-instance
    /// evaluation), in arrays for the vectorised loop.
    key_node: Vec<usize>,
    key_n: Vec<f64>,
    key_gama: Vec<f64>,
    /// Key of every instance.
    block_of: Vec<usize>,
    /// [`Numerics::Fast`]: `exp(−gama·0.001)` of every key, so that the denominator at
    /// `v + 0.001` follows from the one at `v` without a second exponential.
    key_shift: Option<Vec<f64>>,
    /// Whether every instance has `decay… = 1` and `facil… = 0`: then dampa, dnmda, fampa and
    /// fnmda stay exactly 1 (events multiply them by 1 and add 0, the relaxation adds `q·0`),
    /// and their updates are skipped.
    plain: bool,
}

/// The Mg-block denominators `1 + n·exp(−gama·v)` at `v + 0.001` and `v` of every key;
/// `v_den` holds the key's voltage on entry and the denominator at `v` on return. With
/// `shift` ([`Numerics::Fast`]) the factors `1/den` instead, and `exp(−gama·(v + 0.001))` as
/// `exp(−gama·v)·exp(−gama·0.001)`: one exponential per key instead of two ([`PolyExp`]), no
/// division in the synapses' loop.
struct MgBlock<'a> {
    n: &'a [f64],
    gama: &'a [f64],
    shift: Option<&'a [f64]>,
    v_den: &'a mut [f64],
    den_hi: &'a mut [f64],
}

impl Kernel for MgBlock<'_> {
    type Output = ();
    #[inline(always)]
    fn run<E: Exp>(self) {
        match self.shift {
            None => mg_block::<E>(self.n, self.gama, self.v_den, self.den_hi),
            Some(shift) => {
                mg_block_fast::<PolyExp>(self.n, self.gama, shift, self.v_den, self.den_hi)
            }
        }
    }
}

#[inline(always)]
fn mg_block_fast<E: Exp>(
    n: &[f64],
    gama: &[f64],
    shift: &[f64],
    v_den: &mut [f64],
    den_hi: &mut [f64],
) {
    let len = v_den.len().min(den_hi.len());
    let (n, gama, shift) = (&n[..len], &gama[..len], &shift[..len]);
    let (v_den, den_hi) = (&mut v_den[..len], &mut den_hi[..len]);
    for k in 0..len {
        let e = n[k] * hoc_exp_with::<E>(-gama[k] * v_den[k]);
        den_hi[k] = 1.0 / (1.0 + e * shift[k]);
        v_den[k] = 1.0 / (1.0 + e);
    }
}

// Slice parameters keep their no-alias guarantee through inlining, so the loop vectorises.
#[inline(always)]
fn mg_block<E: Exp>(n: &[f64], gama: &[f64], v_den: &mut [f64], den_hi: &mut [f64]) {
    let len = n.len().min(gama.len()).min(v_den.len()).min(den_hi.len());
    let (n, gama, v_den, den_hi) = (
        &n[..len],
        &gama[..len],
        &mut v_den[..len],
        &mut den_hi[..len],
    );
    for k in 0..len {
        let vn = v_den[k];
        den_hi[k] = 1.0 + n[k] * hoc_exp_with::<E>(-gama[k] * (vn + 0.001));
        v_den[k] = 1.0 + n[k] * hoc_exp_with::<E>(-gama[k] * vn);
    }
}

const E: usize = 4;
const DECAYAMPA: usize = 5;
const DECAYNMDA: usize = 6;
const TAUDAMPA: usize = 7;
const TAUDNMDA: usize = 8;
const FACILAMPA: usize = 9;
const FACILNMDA: usize = 10;
const TAUFAMPA: usize = 11;
const TAUFNMDA: usize = 12;
const N: usize = 13;
const GAMA: usize = 14;

impl GlutamateSyn {
    fn build(inst: Instances, env: &BuildEnv) -> Box<dyn PointProcess> {
        let p = inst.values;
        let n = inst.nodes.len();
        let relax_abcd =
            std::array::from_fn(|k| Factors::new(p[k].iter().map(|&t| relax(env.dt, t)).collect()));
        let relax_df = [TAUDAMPA, TAUDNMDA, TAUFAMPA, TAUFNMDA]
            .map(|k| Factors::new(p[k].iter().map(|&t| relax(env.dt, t)).collect()));
        let (mut key_node, mut key_n, mut key_gama) = (Vec::new(), Vec::new(), Vec::new());
        let mut index = std::collections::HashMap::new();
        let block_of = (0..n)
            .map(|j| {
                let key = (inst.nodes[j], p[N][j].to_bits(), p[GAMA][j].to_bits());
                *index.entry(key).or_insert_with(|| {
                    key_node.push(inst.nodes[j]);
                    key_n.push(p[N][j]);
                    key_gama.push(p[GAMA][j]);
                    key_node.len() - 1
                })
            })
            .collect();
        let key_shift = (env.numerics == Numerics::Fast).then(|| {
            key_gama
                .iter()
                .map(|&g: &f64| crate::mechanisms::hoc_exp(-g * 0.001))
                .collect()
        });
        let plain = (0..n).all(|j| {
            p[DECAYAMPA][j] == 1.0
                && p[DECAYNMDA][j] == 1.0
                && p[FACILAMPA][j] == 0.0
                && p[FACILNMDA][j] == 0.0
        });
        Box::new(GlutamateSyn {
            plain,
            key_shift,
            scale: area_scale(&inst.area_um2),
            factor1: (0..n).map(|j| peak_factor(p[1][j], p[0][j])).collect(),
            factor2: (0..n).map(|j| peak_factor(p[3][j], p[2][j])).collect(),
            relax_abcd,
            relax_df,
            p,
            nodes: NodeList::new(inst.nodes),
            key_node,
            key_n,
            key_gama,
            block_of,
        })
    }
}

impl PointProcess for GlutamateSyn {
    fn name(&self) -> &'static str {
        "glutamate_syn"
    }
    fn nodes(&self) -> &[usize] {
        self.nodes.as_slice()
    }
    fn variables(&self) -> &'static [&'static str] {
        &[
            "A", "B", "C", "D", "dampa", "dnmda", "fampa", "fnmda", "gampa", "gnmda", "iampa",
            "inmda",
        ]
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
        vars[..4 * n].fill(0.0);
        vars[4 * n..8 * n].fill(1.0);
        vars[8 * n..].fill(0.0);
    }
    fn scratch_len(&self) -> usize {
        // Mg-block factors at v + 0.001 and v per key, then how far the instances and the keys
        // that have received an event reach.
        2 * self.key_node.len() + 2
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
        let (vars, scratch) = vars.split_at_mut(12 * n);
        let nk = self.key_node.len();
        let (den_hi, rest) = scratch.split_at_mut(nk);
        let (den, reached) = rest.split_at_mut(nk);
        let (live, live_keys) = (reach(reached[0], n), reach(reached[1], nk));
        // The Mg block of the keys up to the last one with a synapse that has received an
        // event (keys are numbered in the order of their first instance).
        for (x, &node) in den[..live_keys].iter_mut().zip(&self.key_node) {
            *x = v[node];
        }
        dispatch(MgBlock {
            n: &self.key_n[..live_keys],
            gama: &self.key_gama[..live_keys],
            shift: self.key_shift.as_ref().map(|s| &s[..live_keys]),
            v_den: &mut den[..live_keys],
            den_hi: &mut den_hi[..live_keys],
        });
        let [a, b, c, d, _, _, _, _, gampa_o, gnmda_o, iampa_o, inmda_o] = columns::<12>(vars, n);
        let len = common_len(&[v.len(), m.rhs.len(), m.d.len()]);
        let (v, m) = (&v[..len], m.cut(len));
        let (e, scale) = (&self.p[E][..n], &self.scale[..n]);
        let nodes = self.nodes.as_slice();
        let fast = self.key_shift.is_some();
        // Only the synapses up to the last that has received an event: the others have all
        // conductance states exactly 0, so their currents and slopes are ±0 and would leave
        // rhs and d unchanged. With [`Numerics::Fast`] the instances are numbered in the order
        // of their first event, so that these are exactly the synapses that have received one.
        for j in 0..live {
            let node = nodes[j];
            let vn = v[node];
            let k = self.block_of[j];
            let (ej, ab, cd) = (e[j], a[j] - b[j], c[j] - d[j]);
            // At v + 0.001 (for the finite-difference slope) and at v, as NEURON evaluates them.
            let vh = vn + 0.001;
            let (nmda_hi, gnmda) = if fast {
                (ab * den_hi[k], ab * den[k])
            } else {
                (ab / den_hi[k], ab / den[k])
            };
            let i_hi = 1e-3 * nmda_hi * (vh - ej) + 1e-3 * cd * (vh - ej);
            let gampa = cd;
            let inmda = 1e-3 * gnmda * (vn - ej);
            let iampa = 1e-3 * gampa * (vn - ej);
            let i = inmda + iampa;
            let s = scale[j];
            // The difference quotient; fast numerics multiply by 1000 (within an ulp of
            // dividing by 0.001, which is not exactly representable) instead of dividing.
            let slope = if fast {
                (i_hi - i) * 1000.0
            } else {
                (i_hi - i) / 0.001
            };
            m.rhs[node] -= i * s;
            m.d[node] += slope * s;
            if env.outputs {
                gampa_o[j] = gampa;
                gnmda_o[j] = gnmda;
                iampa_o[j] = iampa;
                inmda_o[j] = inmda;
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
        let (vars, scratch) = vars.split_at_mut(12 * n);
        let live = reach(scratch[2 * self.key_node.len()], n);
        let [a, b, c, d, dampa, dnmda, fampa, fnmda, ..] = columns::<12>(vars, n);
        let [r0, r1, r2, r3] = &self.relax_abcd;
        let [q0, q1, q2, q3] = &self.relax_df;
        // Synapses that have not received an event sit exactly at rest (0 states, factors 1),
        // which these updates would leave bit-for-bit unchanged (0 + r·(−0) = 0, 1 + q·0 = 1):
        // only those up to the last that has received one are updated, without a branch, one
        // state at a time, in loops that vectorise.
        for (x, r) in [(a, r0), (b, r1), (c, r2), (d, r3)] {
            decay_to_zero(&mut x[..live], r);
        }
        if self.plain {
            return;
        }
        for (x, q) in [(dampa, q0), (dnmda, q1), (fampa, q2), (fnmda, q3)] {
            relax_to_one(&mut x[..live], q);
        }
    }
    fn receive(
        &self,
        ev: Delivery<'_>,
        vars: &mut [f64],
        _events: &mut EventSink,
        _cx: &mut crate::mechanisms::PointCtx<'_>,
    ) {
        let (j, weights) = (ev.instance, &*ev.weights);
        let n = self.nodes.len();
        let nk = self.key_node.len();
        let (_, reached) = vars.split_at_mut(12 * n + 2 * nk);
        extend_reach(&mut reached[0], j);
        extend_reach(&mut reached[1], self.block_of[j]);
        let w_ampa = weights.first().copied().unwrap_or(0.0);
        let w_nmda = weights.get(1).copied().unwrap_or(0.0);
        let [a, b, c, d, dampa, dnmda, fampa, fnmda, ..] = columns::<12>(vars, n);
        let jn = self.factor1[j] * w_nmda * dnmda[j] * fnmda[j];
        a[j] += jn;
        b[j] += jn;
        let ja = self.factor2[j] * w_ampa * dampa[j] * fampa[j];
        c[j] += ja;
        d[j] += ja;
        dampa[j] *= self.p[DECAYAMPA][j];
        dnmda[j] *= self.p[DECAYNMDA][j];
        fampa[j] += self.p[FACILAMPA][j];
        fnmda[j] += self.p[FACILNMDA][j];
    }
    fn n_weights(&self) -> usize {
        2
    }
    /// NET_RECEIVE's INITIAL sets only the (unrecorded) `gampamax`, `gnmdamax` from the
    /// weights; having one, NEURON leaves both weights as they are.
    fn receive_init(
        &self,
        _instance: usize,
        _weights: &mut [f64],
        _vars: &mut [f64],
        _cx: &mut crate::mechanisms::PointCtx<'_>,
    ) {
    }
}
