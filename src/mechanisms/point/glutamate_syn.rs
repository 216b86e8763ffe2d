//! `glutamate_syn` (ISF `netglutamate.mod`, Polsky 2010 / Egger 2015): AMPA (C, D) and NMDA
//! (A, B, Mg block) differences of exponentials with depression/facilitation.
//! `gnmda = (A − B)/(1 + n·exp(−gama·v))`, `gampa = C − D` (nS); `inmda = 1e-3·gnmda·(v − e)`,
//! `iampa = 1e-3·gampa·(v − e)` (nA). NET_RECEIVE(w_ampa, w_nmda) increments A, B by
//! `factor1·w_nmda·dnmda·fnmda` and C, D by `factor2·w_ampa·dampa·fampa`, then applies the
//! depression and facilitation steps.

use super::{area_scale, columns, peak_factor, relax};
use crate::mechanisms::catalogue::{BuildEnv, Constructor, Entry};
use crate::mechanisms::{cnexp_gate, hoc_exp, Env, Instances, Matrix, PointProcess};

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
    ctor: Constructor::Point(GlutamateSyn::build),
    rank: 320,
};

/// All `glutamate_syn` instances of a trial.
#[derive(Debug)]
pub struct GlutamateSyn {
    nodes: Vec<usize>,
    p: Vec<Vec<f64>>,
    factor1: Vec<f64>,
    factor2: Vec<f64>,
    relax_abcd: [Vec<f64>; 4],
    scale: Vec<f64>,
    dt: f64,
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
        let relax_abcd = std::array::from_fn(|k| p[k].iter().map(|&t| relax(env.dt, t)).collect());
        Box::new(GlutamateSyn {
            scale: area_scale(&inst.area_um2),
            factor1: (0..n).map(|j| peak_factor(p[1][j], p[0][j])).collect(),
            factor2: (0..n).map(|j| peak_factor(p[3][j], p[2][j])).collect(),
            relax_abcd,
            p,
            nodes: inst.nodes,
            dt: env.dt,
        })
    }
}

impl PointProcess for GlutamateSyn {
    fn name(&self) -> &'static str {
        "glutamate_syn"
    }
    fn nodes(&self) -> &[usize] {
        &self.nodes
    }
    fn variables(&self) -> &'static [&'static str] {
        &[
            "A", "B", "C", "D", "dampa", "dnmda", "fampa", "fnmda", "gampa", "gnmda", "iampa",
            "inmda",
        ]
    }
    fn initialize(&self, _env: &Env, _v: &[f64], vars: &mut [f64]) {
        let n = self.nodes.len();
        vars[..4 * n].fill(0.0);
        vars[4 * n..8 * n].fill(1.0);
        vars[8 * n..].fill(0.0);
    }
    #[inline]
    fn current(&self, _env: &Env, v: &[f64], m: &mut Matrix, vars: &mut [f64]) {
        let n = self.nodes.len();
        let [a, b, c, d, _, _, _, _, gampa_o, gnmda_o, iampa_o, inmda_o] = columns::<12>(vars, n);
        let (e, nn, gama) = (&self.p[E], &self.p[N], &self.p[GAMA]);
        for j in 0..n {
            let node = self.nodes[j];
            let vn = v[node];
            let cur = |vv: f64| {
                let gnmda = (a[j] - b[j]) / (1.0 + nn[j] * hoc_exp(-gama[j] * vv));
                let gampa = c[j] - d[j];
                let inmda = 1e-3 * gnmda * (vv - e[j]);
                let iampa = 1e-3 * gampa * (vv - e[j]);
                (gnmda, gampa, inmda, iampa)
            };
            let (_, _, inm, iam) = cur(vn + 0.001);
            let i_hi = inm + iam;
            let (gnmda, gampa, inmda, iampa) = cur(vn);
            let i = inmda + iampa;
            let s = self.scale[j];
            m.rhs[node] -= i * s;
            m.d[node] += ((i_hi - i) / 0.001) * s;
            gampa_o[j] = gampa;
            gnmda_o[j] = gnmda;
            iampa_o[j] = iampa;
            inmda_o[j] = inmda;
        }
    }
    #[inline]
    fn advance(&self, _env: &Env, _v: &[f64], vars: &mut [f64]) {
        let n = self.nodes.len();
        let [a, b, c, d, dampa, dnmda, fampa, fnmda, ..] = columns::<12>(vars, n);
        let dt = self.dt;
        for j in 0..n {
            a[j] += self.relax_abcd[0][j] * (-a[j]);
            b[j] += self.relax_abcd[1][j] * (-b[j]);
            c[j] += self.relax_abcd[2][j] * (-c[j]);
            d[j] += self.relax_abcd[3][j] * (-d[j]);
            dampa[j] = cnexp_gate(dampa[j], 1.0, self.p[TAUDAMPA][j], dt);
            dnmda[j] = cnexp_gate(dnmda[j], 1.0, self.p[TAUDNMDA][j], dt);
            fampa[j] = cnexp_gate(fampa[j], 1.0, self.p[TAUFAMPA][j], dt);
            fnmda[j] = cnexp_gate(fnmda[j], 1.0, self.p[TAUFNMDA][j], dt);
        }
    }
    fn receive(&self, j: usize, weights: &[f64], vars: &mut [f64]) {
        let n = self.nodes.len();
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
}
