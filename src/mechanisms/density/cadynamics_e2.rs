//! `CaDynamics_E2` (Destexhe 1994 shell): `cai' = −10000·ica·gamma/(2·F·depth) − (cai − minCai)/decay`.
//!
//! Writes `cai` (so `eca` follows Nernst at its nodes). No INITIAL block: `cai` starts at the ion
//! default 5e-5 mM. `ica` is the node's total calcium current of the same step's current
//! evaluation; the update runs before the other mechanisms' (NEURON's mechanism order).

use crate::mechanisms::catalogue::{BuildEnv, Constructor, Entry};
use crate::mechanisms::{hoc_exp, DensityMechanism, Env, Instances, IonState, Matrix, FARADAY};

/// Catalogue entry.
pub const ENTRY: Entry = Entry {
    name: "CaDynamics_E2",
    params: &[
        ("gamma", 0.05),
        ("decay", 80.0),
        ("depth", 0.1),
        ("minCai", 1e-4),
    ],
    ctor: Constructor::Density(CaDynamicsE2::build),
    rank: 100,
};

/// All `CaDynamics_E2` instances of a cell.
#[derive(Debug)]
pub struct CaDynamicsE2 {
    nodes: Vec<usize>,
    gamma: Vec<f64>,
    decay: Vec<f64>,
    depth: Vec<f64>,
    min_cai: Vec<f64>,
    /// `1 − exp(dt·(−1/decay))`, precomputed.
    relax: Vec<f64>,
}

impl CaDynamicsE2 {
    fn build(inst: Instances, env: &BuildEnv) -> Box<dyn DensityMechanism> {
        let mut v = inst.values.into_iter();
        let gamma = v.next().unwrap_or_default();
        let decay: Vec<f64> = v.next().unwrap_or_default();
        let relax = decay
            .iter()
            .map(|&d| 1.0 - hoc_exp(env.dt * (-1.0 / d)))
            .collect();
        Box::new(CaDynamicsE2 {
            nodes: inst.nodes,
            gamma,
            decay,
            depth: v.next().unwrap_or_default(),
            min_cai: v.next().unwrap_or_default(),
            relax,
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
        for j in 0..self.nodes.len() {
            let node = self.nodes[j];
            let ica = ions.ica[node];
            let cai = ions.cai[node];
            let decay = self.decay[j];
            let a = -1.0 / decay;
            let b = -10000.0 * (ica * self.gamma[j] / (2.0 * FARADAY * self.depth[j]))
                + self.min_cai[j] / decay;
            ions.cai[node] = cai + self.relax[j] * (-b / a - cai);
        }
    }
}
