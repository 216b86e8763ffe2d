//! `pas` (NEURON built-in leak): `i = g·(v − e)`.

use crate::mechanisms::catalogue::{BuildEnv, Constructor, Entry};
use crate::mechanisms::{common_len, DensityMechanism, Env, Instances, IonState, Matrix, NodeList};

/// Catalogue entry (defaults g 0.001 S/cm², e −70 mV).
pub const ENTRY: Entry = Entry {
    name: "pas",
    params: &[("g", 0.001), ("e", -70.0)],
    ctor: Constructor::Density(&Pas::build),
    rank: 10,
};

/// All `pas` instances of a cell.
#[derive(Debug)]
pub struct Pas {
    nodes: NodeList,
    /// [`super::lane_runs`] of the nodes.
    runs: usize,
    g: Vec<f64>,
    e: Vec<f64>,
}

impl Pas {
    fn build(inst: Instances, _env: &BuildEnv) -> Box<dyn DensityMechanism> {
        let mut v = inst.values.into_iter();
        Box::new(Pas {
            runs: super::lane_runs(&inst.nodes),
            nodes: NodeList::new(inst.nodes),
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
        self.nodes.as_slice()
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
        let n = self.nodes.len();
        let len = common_len(&[v.len(), m.rhs.len(), m.d.len()]);
        let (v, mut m) = (&v[..len], m.cut(len));
        let (g, e, i_out) = (&self.g[..n], &self.e[..n], &mut vars[..n]);
        if self.runs > 1 {
            return crate::mechanisms::exp::dispatch(super::OhmicRuns {
                runs: self.runs,
                nodes: self.nodes.as_slice(),
                v,
                m,
                g,
                e,
                i_out,
            });
        }
        for (j, node) in self.nodes.within(len).enumerate() {
            i_out[j] = m.add_ohmic(node, g[j], v[node], e[j]);
        }
    }
    fn advance(&self, _env: &Env, _v: &[f64], _ions: &mut IonState, _vars: &mut [f64]) {}
}
