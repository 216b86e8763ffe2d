//! `SK_E2` (Ca-activated K, Köhler 1996): `g = gbar·z`, `z∞ = 1/(1 + (0.00043/cai)^4.8)`.
//!
//! `z` relaxes toward `z∞(cai)` with the calcium already updated by `CaDynamics_E2` in the same
//! step (NEURON's mechanism order).

use super::BLOCK;
use crate::mechanisms::catalogue::{BuildEnv, Constructor, Entry};
use crate::mechanisms::{
    cnexp_step, hoc_exp, libm_pow, DensityMechanism, Env, Instances, IonState, Matrix,
};

/// Catalogue entry (`zTau` is the global `zTau_SK_E2`, ms).
pub const ENTRY: Entry = Entry {
    name: "SK_E2",
    params: &[("gSK_E2bar", 1e-6), ("zTau", 1.0)],
    ctor: Constructor::Density(SkE2::build),
    rank: 190,
};

/// All `SK_E2` instances of a cell.
#[derive(Debug)]
pub struct SkE2 {
    nodes: Vec<usize>,
    gbar: Vec<f64>,
    ztau: Vec<f64>,
    /// cnexp constants of the fixed time constant: `−1/zTau` and `1 − exp(dt·(−1/zTau))`
    /// (the same operations as the per-step form, done once).
    neg_rate: Vec<f64>,
    relax: Vec<f64>,
}

#[inline]
fn z_inf(cai: f64) -> f64 {
    let mut ca = cai;
    if ca < 1e-7 {
        ca += 1e-7;
    }
    1.0 / (1.0 + libm_pow(0.00043 / ca, 4.8))
}

impl SkE2 {
    fn build(inst: Instances, env: &BuildEnv) -> Box<dyn DensityMechanism> {
        let mut v = inst.values.into_iter();
        let gbar = v.next().unwrap_or_default();
        let ztau: Vec<f64> = v.next().unwrap_or_default();
        let neg_rate: Vec<f64> = ztau.iter().map(|&t| -1.0 / t).collect();
        let relax = neg_rate
            .iter()
            .map(|&a| 1.0 - hoc_exp(env.dt * a))
            .collect();
        Box::new(SkE2 {
            nodes: inst.nodes,
            gbar,
            ztau,
            neg_rate,
            relax,
        })
    }
}

impl DensityMechanism for SkE2 {
    fn name(&self) -> &'static str {
        "SK_E2"
    }
    fn nodes(&self) -> &[usize] {
        &self.nodes
    }
    fn variables(&self) -> &'static [&'static str] {
        &["z", "gSK_E2", "ik"]
    }
    fn initialize(&self, _env: &Env, _v: &[f64], ions: &mut IonState, vars: &mut [f64]) {
        for (j, &node) in self.nodes.iter().enumerate() {
            vars[j] = z_inf(ions.cai[node]);
        }
    }
    #[inline]
    fn current(
        &self,
        _env: &Env,
        v: &[f64],
        ions: &mut IonState,
        m: &mut Matrix,
        vars: &mut [f64],
    ) {
        let n = self.nodes.len();
        let (z, rest) = vars.split_at_mut(n);
        let (g_out, i_out) = rest.split_at_mut(n);
        for j in 0..n {
            let node = self.nodes[j];
            let (vn, e) = (v[node], ions.ek[node]);
            let g = self.gbar[j] * z[j];
            let i = m.add_ohmic(node, g, vn, e);
            ions.ik[node] += i;
            g_out[j] = g;
            i_out[j] = i;
        }
    }
    #[inline]
    fn advance(&self, _env: &Env, _v: &[f64], ions: &mut IonState, vars: &mut [f64]) {
        // First every z∞ (each a call of the C library's `pow`), then the cnexp updates in a
        // separate loop that has no calls and so vectorises.
        let mut zi = [0.0; BLOCK];
        for (b, nodes) in self.nodes.chunks(BLOCK).enumerate() {
            let zi = &mut zi[..nodes.len()];
            for (z, &node) in zi.iter_mut().zip(nodes) {
                *z = z_inf(ions.cai[node]);
            }
            let lanes = b * BLOCK..b * BLOCK + nodes.len();
            relax_towards(
                &mut vars[lanes.clone()],
                zi,
                &self.ztau[lanes.clone()],
                &self.neg_rate[lanes.clone()],
                &self.relax[lanes],
            );
        }
    }
}

/// `cnexp_gate(z, z∞, zTau, dt)` with its constant factors precomputed ([`cnexp_step`]), for a
/// block of instances.
#[inline]
fn relax_towards(z: &mut [f64], zi: &[f64], ztau: &[f64], neg_rate: &[f64], relax: &[f64]) {
    let n = z.len();
    let (zi, ztau, neg_rate, relax) = (&zi[..n], &ztau[..n], &neg_rate[..n], &relax[..n]);
    for j in 0..n {
        z[j] = cnexp_step(z[j], zi[j], ztau[j], neg_rate[j], relax[j]);
    }
}
