//! `IClamp` (NEURON built-in electrode): `i = amp` while `del ≤ t < del + dur` (t = step midpoint).

use super::area_scale;
use crate::mechanisms::catalogue::{BuildEnv, Constructor, Entry};
use crate::mechanisms::{Env, Instances, Matrix, PointProcess};

/// Catalogue entry (ms, ms, nA).
pub const ENTRY: Entry = Entry {
    name: "IClamp",
    params: &[("del", 0.0), ("dur", 0.0), ("amp", 0.0)],
    ctor: Constructor::Point(IClamp::build),
    rank: 30,
};

/// All `IClamp` instances of a trial.
#[derive(Debug)]
pub struct IClamp {
    nodes: Vec<usize>,
    del: Vec<f64>,
    dur: Vec<f64>,
    amp: Vec<f64>,
    scale: Vec<f64>,
}

impl IClamp {
    fn build(inst: Instances, _env: &BuildEnv) -> Box<dyn PointProcess> {
        let mut v = inst.values.into_iter();
        Box::new(IClamp {
            scale: area_scale(&inst.area_um2),
            nodes: inst.nodes,
            del: v.next().unwrap_or_default(),
            dur: v.next().unwrap_or_default(),
            amp: v.next().unwrap_or_default(),
        })
    }
}

impl PointProcess for IClamp {
    fn name(&self) -> &'static str {
        "IClamp"
    }
    fn nodes(&self) -> &[usize] {
        &self.nodes
    }
    fn variables(&self) -> &'static [&'static str] {
        &["i"]
    }
    fn initialize(&self, _env: &Env, _v: &[f64], vars: &mut [f64]) {
        vars.fill(0.0);
    }
    fn current(&self, env: &Env, _v: &[f64], m: &mut Matrix, vars: &mut [f64]) {
        let t = env.t;
        for j in 0..self.nodes.len() {
            let i = if t < self.del[j] + self.dur[j] && t >= self.del[j] {
                self.amp[j]
            } else {
                0.0
            };
            // Electrode current: enters with the opposite sign; its slope (and d term) is 0.
            let node = self.nodes[j];
            m.rhs[node] += i * self.scale[j];
            vars[j] = i;
        }
    }
    fn advance(&self, _env: &Env, _v: &[f64], _vars: &mut [f64]) {}
    fn receive(&self, _instance: usize, _weights: &[f64], _vars: &mut [f64]) {}
}
