//! `CaDynamics_E2` (Destexhe 1994 shell): `cai' = −10000·ica·gamma/(2·F·depth) − (cai − minCai)/decay`.
//!
//! Writes `cai` (so `eca` follows Nernst at its nodes). No INITIAL block: `cai` starts at the ion
//! default 5e-5 mM. `ica` is the node's total calcium current of the same step's current
//! evaluation; the update runs before the other mechanisms' (NEURON's mechanism order).

use super::{copy, Runs};
use crate::mechanisms::catalogue::{BuildEnv, Constructor, Entry};
use crate::mechanisms::exp::{dispatch, LaneKernel};
use crate::mechanisms::{
    relax, DensityMechanism, Env, Instances, IonState, Matrix, Numerics, FARADAY,
};

/// Catalogue entry.
pub const ENTRY: Entry = Entry {
    name: "CaDynamics_E2",
    params: &[
        ("gamma", 0.05),
        ("decay", 80.0),
        ("depth", 0.1),
        ("minCai", 1e-4),
    ],
    ctor: Constructor::Density(&CaDynamicsE2::build),
    rank: 100,
};

/// All `CaDynamics_E2` instances of a cell.
#[derive(Debug)]
pub struct CaDynamicsE2 {
    nodes: Vec<usize>,
    runs: Runs,
    numerics: Numerics,
    /// [`Numerics::Fast`]'s form `cai ← cai + relax·(minCai − k·ica − cai)`, with the steady
    /// state's factor `k = 10000·gamma·decay/(2·F·depth)` computed once (no division per step).
    k_ica: Vec<f64>,
    min_cai: Vec<f64>,
    gamma: Vec<f64>,
    /// Per-instance constants of the update, each computed once by the operations the per-step
    /// form would repeat (so the same bits): `−1/decay`, `2·F·depth`, `minCai/decay` and
    /// `1 − exp(dt·(−1/decay))`.
    neg_rate: Vec<f64>,
    two_f_depth: Vec<f64>,
    min_over_decay: Vec<f64>,
    relax: Vec<f64>,
}

impl CaDynamicsE2 {
    fn build(inst: Instances, env: &BuildEnv) -> Box<dyn DensityMechanism> {
        let mut v = inst.values.into_iter();
        let gamma = v.next().unwrap_or_default();
        let decay: Vec<f64> = v.next().unwrap_or_default();
        let depth: Vec<f64> = v.next().unwrap_or_default();
        let min_cai: Vec<f64> = v.next().unwrap_or_default();
        let neg_rate: Vec<f64> = decay.iter().map(|&d| -1.0 / d).collect();
        let k_ica = (0..gamma.len())
            .map(|j| 10000.0 * gamma[j] * decay[j] / (2.0 * FARADAY * depth[j]))
            .collect();
        Box::new(CaDynamicsE2 {
            runs: Runs::of(&inst.nodes),
            numerics: env.numerics,
            k_ica,
            relax: decay.iter().map(|&d| relax(env.dt, d)).collect(),
            two_f_depth: depth.iter().map(|&d| 2.0 * FARADAY * d).collect(),
            min_over_decay: min_cai.iter().zip(&decay).map(|(&m, &d)| m / d).collect(),
            min_cai,
            neg_rate,
            nodes: inst.nodes,
            gamma,
        })
    }
}

impl DensityMechanism for CaDynamicsE2 {
    fn name(&self) -> &'static str {
        "CaDynamics_E2"
    }
    fn nodes(&self) -> &[usize] {
        &self.nodes
    }
    fn variables(&self) -> &'static [&'static str] {
        &[]
    }
    fn writes_cai(&self) -> bool {
        true
    }
    fn initialize(&self, _env: &Env, _v: &[f64], _ions: &mut IonState, _vars: &mut [f64]) {}
    fn current(&self, _e: &Env, _v: &[f64], _i: &mut IonState, _m: &mut Matrix, _vars: &mut [f64]) {
    }
    #[inline]
    fn advance(&self, _env: &Env, _v: &[f64], ions: &mut IonState, _vars: &mut [f64]) {
        if self.numerics == Numerics::Fast {
            let n = self.nodes.len();
            let (k_ica, min_cai, relax) = (&self.k_ica[..n], &self.min_cai[..n], &self.relax[..n]);
            if self.runs.width() > 1 {
                return dispatch(FastRuns {
                    runs: self.runs.width(),
                    starts: self.runs.starts(),
                    ica: &ions.ica,
                    cai: &mut ions.cai,
                    k_ica,
                    min_cai,
                    relax,
                });
            }
            for (j, &node) in self.nodes.iter().enumerate() {
                let cai = ions.cai[node];
                let inf = min_cai[j] - k_ica[j] * ions.ica[node];
                ions.cai[node] = cai + relax[j] * (inf - cai);
            }
            return;
        }
        for j in 0..self.nodes.len() {
            let node = self.nodes[j];
            let ica = ions.ica[node];
            let cai = ions.cai[node];
            let a = self.neg_rate[j];
            let b = -10000.0 * (ica * self.gamma[j] / self.two_f_depth[j]) + self.min_over_decay[j];
            ions.cai[node] = cai + self.relax[j] * (-b / a - cai);
        }
    }
}

/// The fast update over runs of `W` instances on contiguous nodes ([`Runs`]): per
/// instance the operations of the one-at-a-time loop, as vectors.
struct FastRuns<'a> {
    runs: usize,
    starts: &'a [usize],
    ica: &'a [f64],
    cai: &'a mut [f64],
    k_ica: &'a [f64],
    min_cai: &'a [f64],
    relax: &'a [f64],
}

impl LaneKernel for FastRuns<'_> {
    fn width(&self) -> usize {
        self.runs
    }
    #[inline(always)]
    fn go<const W: usize>(self) {
        let len = self.cai.len().min(self.ica.len());
        for (r, &start) in self.starts.iter().enumerate() {
            // Runs lie below the node arrays' length (checked when the model was built).
            let n0 = start.min(len.saturating_sub(W));
            let j0 = r * W;
            // Local copies: they cannot alias, so the lane loop vectorises.
            let (ica, mut cai) = (copy::<W>(&self.ica[n0..]), copy::<W>(&self.cai[n0..]));
            let (k, min) = (copy::<W>(&self.k_ica[j0..]), copy::<W>(&self.min_cai[j0..]));
            let q = copy::<W>(&self.relax[j0..]);
            for l in 0..W {
                let inf = min[l] - k[l] * ica[l];
                cai[l] += q[l] * (inf - cai[l]);
            }
            self.cai[n0..n0 + W].copy_from_slice(&cai);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mechanisms::{hoc_exp, Ions};

    /// The precomputed constants give the bits of the mod file's per-step cnexp form (the fast
    /// form its value).
    #[test]
    fn advance_equals_mod_file_form() {
        let n = 40;
        let dt = 0.025;
        let p = |j: usize| {
            let x = j as f64;
            (
                0.0005 + 0.001 * x,
                20.0 + 37.0 * x,
                0.1 + 0.01 * x,
                1e-4 * (1.0 + x),
            )
        };
        let inst = Instances {
            nodes: (0..n).collect(),
            values: vec![
                (0..n).map(|j| p(j).0).collect(),
                (0..n).map(|j| p(j).1).collect(),
                (0..n).map(|j| p(j).2).collect(),
                (0..n).map(|j| p(j).3).collect(),
            ],
            area_um2: vec![100.0; n],
        };
        let mut ions = IonState::initial(&Ions::defaults(n), &[], 34.0);
        for j in 0..n {
            ions.ica[j] = (j as f64 - 20.0) * 1.3e-3;
            ions.cai[j] = 1e-5 * (1.0 + (j % 9) as f64);
        }
        let want: Vec<f64> = (0..n)
            .map(|j| {
                let (gamma, decay, depth, min_cai) = p(j);
                let (ica, cai) = (ions.ica[j], ions.cai[j]);
                let a = -1.0 / decay;
                let b = -10000.0 * (ica * gamma / (2.0 * FARADAY * depth)) + min_cai / decay;
                cai + (1.0 - hoc_exp(dt * a)) * (-b / a - cai)
            })
            .collect();
        let env = Env {
            dt,
            t: 0.0,
            celsius: 34.0,
            outputs: true,
        };
        for numerics in [Numerics::Exact, Numerics::Fast] {
            let m = CaDynamicsE2::build(
                inst.clone(),
                &BuildEnv {
                    dt,
                    celsius: 34.0,
                    numerics,
                },
            );
            let mut ions = ions.clone();
            m.advance(&env, &vec![-70.0; n], &mut ions, &mut []);
            for j in 0..n {
                let (got, w) = (ions.cai[j], want[j]);
                match numerics {
                    Numerics::Exact => assert_eq!(got.to_bits(), w.to_bits(), "instance {j}"),
                    // Fast: the same value up to a few ulp of the terms summed.
                    Numerics::Fast => assert!((got - w).abs() <= 1e-14 * w.abs().max(1e-4)),
                }
            }
        }
    }
}
