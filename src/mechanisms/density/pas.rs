//! `pas` (NEURON built-in leak): `i = g·(v − e)`.

use crate::mechanisms::catalogue::{BuildEnv, Constructor, Entry};
use crate::mechanisms::{DensityMechanism, Env, Instances, IonState, Matrix};

/// Catalogue entry (defaults g 0.001 S/cm², e −70 mV).
pub const ENTRY: Entry = Entry {
    name: "pas",
    params: &[("g", 0.001), ("e", -70.0)],
    ctor: Constructor::Density(Pas::build),
    rank: 10,
};

/// All `pas` instances of a cell.
#[derive(Debug)]
pub struct Pas {
    nodes: Vec<usize>,
    g: Vec<f64>,
    e: Vec<f64>,
}

impl Pas {
    fn build(inst: Instances, _env: &BuildEnv) -> Box<dyn DensityMechanism> {
        let mut v = inst.values.into_iter();
        Box::new(Pas {
            nodes: inst.nodes,
            g: v.next().unwrap_or_default(),
            e: v.next().unwrap_or_default(),
        })
    }
}

impl DensityMechanism for Pas {
    fn name(&self) -> &'static str {
        "pas"
    }
    fn nodes(&self) -> &[usize] {
        &self.nodes
    }
    fn variables(&self) -> &'static [&'static str] {
        &["i"]
    }
    fn initialize(&self, _env: &Env, _v: &[f64], _ions: &mut IonState, _vars: &mut [f64]) {}
    #[inline]
    fn current(
        &self,
        _env: &Env,
        v: &[f64],
        _ions: &mut IonState,
        m: &mut Matrix,
        vars: &mut [f64],
    ) {
        for j in 0..self.nodes.len() {
            let node = self.nodes[j];
            let (g, e, vn) = (self.g[j], self.e[j], v[node]);
            let i = m.add_ohmic(node, g, vn, e);
            vars[j] = i;
        }
    }
    fn advance(&self, _env: &Env, _v: &[f64], _ions: &mut IonState, _vars: &mut [f64]) {}
}
