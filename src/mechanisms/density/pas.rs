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
    runs: super::Runs,
    g: Vec<f64>,
    e: Vec<f64>,
    /// `g` and `e` once per run where the runs share them.
    g_run: super::PerRun,
    e_run: super::PerRun,
}

impl Pas {
    pub(crate) fn build(inst: Instances, _env: &BuildEnv) -> Box<dyn DensityMechanism> {
        let mut v = inst.values.into_iter();
        let (g, e) = (v.next().unwrap_or_default(), v.next().unwrap_or_default());
        let runs = super::Runs::of(&inst.nodes);
        Box::new(Pas {
            g_run: super::PerRun::of(&g, runs.width()),
            e_run: super::PerRun::of(&e, runs.width()),
            runs,
            nodes: NodeList::new(inst.nodes),
            g,
            e,
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
        env: &Env,
        v: &[f64],
        _ions: &mut IonState,
        m: &mut Matrix,
        vars: &mut [f64],
    ) {
        let n = self.nodes.len();
        let len = common_len(&[v.len(), m.rhs.len(), m.d.len()]);
        let (v, mut m) = (&v[..len], m.cut(len));
        let (g, e, i_out) = (&self.g[..n], &self.e[..n], &mut vars[..n]);
        if self.runs.width() > 1 {
            return crate::mechanisms::exp::dispatch(super::OhmicRuns {
                runs: self.runs.width(),
                starts: self.runs.starts(),
                v,
                m,
                g: self.g_run.lanes(g),
                e: self.e_run.lanes(e),
                i_out: env.outputs.then_some(i_out),
            });
        }
        for (j, node) in self.nodes.within(len).enumerate() {
            let i = m.add_ohmic(node, g[j], v[node], e[j]);
            if env.outputs {
                i_out[j] = i;
            }
        }
    }
    fn advance(&self, _env: &Env, _v: &[f64], _ions: &mut IonState, _vars: &mut [f64]) {}
}
