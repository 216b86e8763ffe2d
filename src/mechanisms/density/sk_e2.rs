//! `SK_E2` (Ca-activated K, Köhler 1996): `g = gbar·z`, `z∞ = 1/(1 + (0.00043/cai)^4.8)`.
//!
//! `z` relaxes toward `z∞(cai)` with the calcium already updated by `CaDynamics_E2` in the same
//! step (NEURON's mechanism order).

use super::{gather, GateCurrentRuns, Index, PerRun, Runs, BLOCK};
use crate::mechanisms::catalogue::{BuildEnv, Constructor, Entry};
use crate::mechanisms::exp::{dispatch, hoc_exp_above_m512, poly_ln, Exp, Kernel, PolyExp};
use crate::mechanisms::{
    cnexp_step, common_len, libm_pow, relax, DensityMechanism, Env, Instances, IonState, Matrix,
    NodeList, Numerics,
};

/// Catalogue entry (`zTau` is the global `zTau_SK_E2`, ms).
pub const ENTRY: Entry = Entry {
    name: "SK_E2",
    params: &[("gSK_E2bar", 1e-6), ("zTau", 1.0)],
    ctor: Constructor::Density(&SkE2::build),
    rank: 190,
};

/// All `SK_E2` instances of a cell.
#[derive(Debug)]
pub struct SkE2 {
    nodes: NodeList,
    runs: Runs,
    numerics: Numerics,
    gbar: Vec<f64>,
    /// `gbar` once per run where the runs share it.
    gbar_run: PerRun,
    ztau: Vec<f64>,
    /// cnexp constants of the fixed time constant: `−1/zTau` and `1 − exp(dt·(−1/zTau))`
    /// (the same operations as the per-step form, done once).
    neg_rate: Vec<f64>,
    relax: Vec<f64>,
}

#[inline]
fn z_inf(cai: f64) -> f64 {
    z_inf_of_power(libm_pow(pow_base(cai), 4.8))
}

/// z∞ from the power `(0.00043/ca)^4.8`.
#[inline(always)]
fn z_inf_of_power(p: f64) -> f64 {
    1.0 / (1.0 + p)
}

/// The base `0.00043/ca` of z∞'s power, with the mod file's nudge of tiny concentrations.
#[inline(always)]
fn pow_base(cai: f64) -> f64 {
    let mut ca = cai;
    if ca < 1e-7 {
        ca += 1e-7;
    }
    0.00043 / ca
}

impl SkE2 {
    pub(crate) fn build(inst: Instances, env: &BuildEnv) -> Box<dyn DensityMechanism> {
        let mut v = inst.values.into_iter();
        let gbar = v.next().unwrap_or_default();
        let ztau: Vec<f64> = v.next().unwrap_or_default();
        let neg_rate: Vec<f64> = ztau.iter().map(|&t| -1.0 / t).collect();
        let relax = ztau.iter().map(|&t| relax(env.dt, t)).collect();
        let runs = Runs::of(&inst.nodes);
        Box::new(SkE2 {
            gbar_run: PerRun::of(&gbar, runs.width()),
            runs,
            nodes: NodeList::new(inst.nodes),
            numerics: env.numerics,
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
        self.nodes.as_slice()
    }
    fn variables(&self) -> &'static [&'static str] {
        &["z", "gSK_E2", "ik"]
    }
    fn initialize(&self, _env: &Env, _v: &[f64], ions: &mut IonState, vars: &mut [f64]) {
        for (j, &node) in self.nodes.as_slice().iter().enumerate() {
            vars[j] = z_inf(ions.cai[node]);
        }
    }
    #[inline]
    fn current(&self, env: &Env, v: &[f64], ions: &mut IonState, m: &mut Matrix, vars: &mut [f64]) {
        let n = self.nodes.len();
        let (z, rest) = vars.split_at_mut(n);
        let (g_out, i_out) = rest.split_at_mut(n);
        let len = common_len(&[
            v.len(),
            m.rhs.len(),
            m.d.len(),
            ions.ek.len(),
            ions.ik.len(),
        ]);
        let (v, mut m) = (&v[..len], m.cut(len));
        let (ek, ik) = (&ions.ek[..len], &mut ions.ik[..len]);
        let (gbar, z, g_out, i_out) = (&self.gbar[..n], &z[..n], &mut g_out[..n], &mut i_out[..n]);
        if self.runs.width() > 1 {
            return dispatch(GateCurrentRuns {
                conductance: |gbar: f64, [z, _]: [f64; 2]| gbar * z,
                runs: self.runs.width(),
                starts: self.runs.starts(),
                v,
                m,
                erev: ek,
                nonspecific: false,
                acc: Some(ik),
                gbar: self.gbar_run.lanes(gbar),
                g: [z, z],
                out: env.outputs.then_some([g_out, i_out]),
            });
        }
        for (j, node) in self.nodes.within(len).enumerate() {
            let g = gbar[j] * z[j];
            let i = m.add_ohmic(node, g, v[node], ek[node]);
            ik[node] += i;
            if env.outputs {
                g_out[j] = g;
                i_out[j] = i;
            }
        }
    }
    #[inline]
    fn advance(&self, _env: &Env, _v: &[f64], ions: &mut IonState, vars: &mut [f64]) {
        if self.numerics == Numerics::Fast {
            let n = self.nodes.len();
            return dispatch(FastAdvance {
                index: self.runs.index(self.nodes.as_slice()),
                cai: &ions.cai,
                z: &mut vars[..n],
                relax: &self.relax[..n],
            });
        }
        // Three passes per block: the bases of `pow` (divisions, vectorised), the `pow` calls
        // back to back (nothing else waits between them), then z∞ and the cnexp updates
        // (vectorised). The operations of `z_inf` and `cnexp_gate`, so the same bits.
        let mut x = [0.0; BLOCK];
        for (b, nodes) in self.nodes.as_slice().chunks(BLOCK).enumerate() {
            let x = &mut x[..nodes.len()];
            for (x, &node) in x.iter_mut().zip(nodes) {
                *x = ions.cai[node];
            }
            for x in x.iter_mut() {
                *x = pow_base(*x);
            }
            for x in x.iter_mut() {
                *x = libm_pow(*x, 4.8);
            }
            let lanes = b * BLOCK..b * BLOCK + nodes.len();
            relax_towards(
                &mut vars[lanes.clone()],
                x,
                &self.ztau[lanes.clone()],
                &self.neg_rate[lanes.clone()],
                &self.relax[lanes],
            );
        }
    }
}

/// [`Numerics::Fast`]'s update: `z ← z + (1 − exp(−dt/zTau))·(z∞ − z)` with the power of z∞
/// as `exp(4.8·ln(base))` (vectorised, within a few ulp of `pow`; the exponential is
/// [`PolyExp`]) instead of the C library's `pow`, which took about 8 % of a network trial's
/// time.
struct FastAdvance<'a> {
    /// The instances' nodes.
    index: Index<'a>,
    cai: &'a [f64],
    z: &'a mut [f64],
    relax: &'a [f64],
}

impl Kernel for FastAdvance<'_> {
    type Output = ();
    #[inline(always)]
    fn run<E: Exp>(self) {
        let mut x = [0.0; BLOCK];
        for (b, (z, relax)) in self
            .z
            .chunks_mut(BLOCK)
            .zip(self.relax.chunks(BLOCK))
            .enumerate()
        {
            let x = &mut x[..z.len()];
            let lo = b * BLOCK;
            gather(x, self.index.part(lo, lo + z.len()), self.cai);
            let (z, relax) = (&mut z[..x.len()], &relax[..x.len()]);
            for x in x.iter_mut() {
                *x = pow_base(*x);
            }
            for x in x.iter_mut() {
                *x = 4.8 * poly_ln(*x);
            }
            for j in 0..x.len() {
                // At or below −511 the power is below 2^−54 and z∞ is exactly 1 either way.
                let a = x[j];
                let p = hoc_exp_above_m512::<PolyExp>(if a < -511.0 { -511.0 } else { a });
                z[j] += relax[j] * (z_inf_of_power(p) - z[j]);
            }
        }
    }
}

/// `cnexp_gate(z, z∞, zTau, dt)` with z∞ from the powers `p` and the constant
/// factors precomputed ([`cnexp_step`]), for a block of instances.
#[inline]
fn relax_towards(z: &mut [f64], p: &[f64], ztau: &[f64], neg_rate: &[f64], relax: &[f64]) {
    let n = z.len();
    let (p, ztau, neg_rate, relax) = (&p[..n], &ztau[..n], &neg_rate[..n], &relax[..n]);
    for j in 0..n {
        z[j] = cnexp_step(z[j], z_inf_of_power(p[j]), ztau[j], neg_rate[j], relax[j]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mechanisms::{cnexp_gate, Ions};

    const DT: f64 = 0.025;

    /// Concentrations from 1e-9 to about 1e3 mM and the edge cases of the mod file's nudge.
    fn concentrations() -> Vec<f64> {
        let mut cai: Vec<f64> = (0..150).map(|i| 1e-9 * 1.2f64.powi(i)).collect();
        cai.extend([0.0, 1e-7, 0.99e-7, 5e-5, 1e-4, 2.0, -1e-7, -1e-6]);
        cai
    }

    /// The initial `z` of instance `j` (its `zTau` is `0.5 + j` ms).
    fn z0(j: usize) -> f64 {
        (j % 7) as f64 / 6.0
    }

    /// `z` after one `advance` of SK_E2 instances at `cai`.
    fn advanced(cai: &[f64], numerics: Numerics) -> Vec<f64> {
        let n = cai.len();
        let inst = Instances {
            nodes: (0..n).collect(),
            values: vec![vec![1e-3; n], (0..n).map(|j| 0.5 + j as f64).collect()],
            area_um2: vec![100.0; n],
        };
        let env = BuildEnv {
            dt: DT,
            celsius: 34.0,
            numerics,
        };
        let m = SkE2::build(inst, &env);
        let mut ions = IonState::initial(&Ions::defaults(n), &[], 34.0);
        ions.cai = cai.to_vec();
        let mut vars: Vec<f64> = (0..3 * n).map(z0).collect();
        let env = Env {
            dt: DT,
            t: 0.0,
            celsius: 34.0,
            outputs: true,
        };
        m.advance(&env, &vec![-70.0; n], &mut ions, &mut vars);
        vars.truncate(n);
        vars
    }

    /// The exact three-pass advance gives the bits of the mod file's one-line form
    /// `z ← cnexp(z, z∞(cai), zTau)`, also for tiny, zero, negative and huge concentrations.
    #[test]
    fn advance_equals_mod_file_form() {
        let cai = concentrations();
        let got = advanced(&cai, Numerics::Exact);
        for (j, (&c, &z)) in cai.iter().zip(&got).enumerate() {
            let want = cnexp_gate(z0(j), z_inf(c), 0.5 + j as f64, DT);
            assert!(
                z.to_bits() == want.to_bits() || (z.is_nan() && want.is_nan()),
                "cai = {c}: {z:e} vs {want:e}"
            );
        }
    }

    /// The fast advance (`exp(4.8·ln base)` for the power) is the exact one up to round-off.
    #[test]
    fn fast_advance_within_round_off_of_mod_file_form() {
        let cai = concentrations();
        let (exact, fast) = (
            advanced(&cai, Numerics::Exact),
            advanced(&cai, Numerics::Fast),
        );
        for ((&c, &e), &f) in cai.iter().zip(&exact).zip(&fast) {
            assert!(
                (f - e).abs() <= 1e-14 || (f.is_nan() && e.is_nan()),
                "cai = {c}: {f:e} vs {e:e}"
            );
        }
    }
}
