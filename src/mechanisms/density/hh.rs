//! `hh` (NEURON's built-in Hodgkin–Huxley squid axon channels).
//!
//! As in NEURON, rates are taken from a table (`TABLE … DEPEND celsius FROM −100 TO 100 WITH 200`:
//! 201 entries at 1 mV spacing, linear interpolation, clamped to the end entries outside the
//! range), computed once per model at `celsius` with `q10 = 3^((celsius − 6.3)/10)`.
//! `ina = gnabar·m³h·(v − ena)`, `ik = gkbar·n⁴·(v − ek)`, `il = gl·(v − el)`.

use crate::mechanisms::catalogue::{BuildEnv, Constructor, Entry};
use crate::mechanisms::{cnexp_gate, hoc_exp, DensityMechanism, Env, Instances, IonState, Matrix};

/// Catalogue entry.
pub const ENTRY: Entry = Entry {
    name: "hh",
    params: &[
        ("gnabar", 0.12),
        ("gkbar", 0.036),
        ("gl", 0.0003),
        ("el", -54.3),
    ],
    ctor: Constructor::Density(&Hh::build),
    rank: 20,
};

const TABLE_MIN: f64 = -100.0;
const TABLE_MAX: f64 = 100.0;
const TABLE_N: usize = 200;

/// hh's `vtrap(x, y)`: `x/(exp(x/y) − 1)` with the removable singularity handled.
fn vtrap(x: f64, y: f64) -> f64 {
    if (x / y).abs() < 1e-6 {
        y * (1.0 - x / y / 2.0)
    } else {
        x / (hoc_exp(x / y) - 1.0)
    }
}

/// `[minf, mtau, hinf, htau, ninf, ntau]` at `v`, computed directly (no table).
pub fn rates_direct(v: f64, celsius: f64) -> [f64; 6] {
    let q10 = 3.0_f64.powf((celsius - 6.3) / 10.0);
    let alpha = 0.1 * vtrap(-(v + 40.0), 10.0);
    let beta = 4.0 * hoc_exp(-(v + 65.0) / 18.0);
    let sum = alpha + beta;
    let (mtau, minf) = (1.0 / (q10 * sum), alpha / sum);
    let alpha = 0.07 * hoc_exp(-(v + 65.0) / 20.0);
    let beta = 1.0 / (hoc_exp(-(v + 35.0) / 10.0) + 1.0);
    let sum = alpha + beta;
    let (htau, hinf) = (1.0 / (q10 * sum), alpha / sum);
    let alpha = 0.01 * vtrap(-(v + 55.0), 10.0);
    let beta = 0.125 * hoc_exp(-(v + 65.0) / 80.0);
    let sum = alpha + beta;
    let (ntau, ninf) = (1.0 / (q10 * sum), alpha / sum);
    [minf, mtau, hinf, htau, ninf, ntau]
}

/// All `hh` instances of a cell.
#[derive(Debug)]
pub struct Hh {
    nodes: Vec<usize>,
    gnabar: Vec<f64>,
    gkbar: Vec<f64>,
    gl: Vec<f64>,
    el: Vec<f64>,
    /// Rate table, 201 rows of `[minf, mtau, hinf, htau, ninf, ntau]`.
    table: Vec<[f64; 6]>,
}

impl Hh {
    fn build(inst: Instances, env: &BuildEnv) -> Box<dyn DensityMechanism> {
        let mut v = inst.values.into_iter();
        let dx = (TABLE_MAX - TABLE_MIN) / TABLE_N as f64;
        let mut x = TABLE_MIN;
        let mut table = Vec::with_capacity(TABLE_N + 1);
        for _ in 0..=TABLE_N {
            table.push(rates_direct(x, env.celsius));
            x += dx;
        }
        Box::new(Hh {
            nodes: inst.nodes,
            gnabar: v.next().unwrap_or_default(),
            gkbar: v.next().unwrap_or_default(),
            gl: v.next().unwrap_or_default(),
            el: v.next().unwrap_or_default(),
            table,
        })
    }

    /// Table lookup with linear interpolation, as nocmodl's TABLE code does.
    fn rates(&self, v: f64) -> [f64; 6] {
        let mfac = TABLE_N as f64 / (TABLE_MAX - TABLE_MIN);
        let xi = mfac * (v - TABLE_MIN);
        if xi.is_nan() {
            return [f64::NAN; 6];
        }
        if xi <= 0.0 {
            return self.table[0];
        }
        if xi >= TABLE_N as f64 {
            return self.table[TABLE_N];
        }
        let i = xi as usize;
        let theta = xi - i as f64;
        let (a, b) = (&self.table[i], &self.table[i + 1]);
        std::array::from_fn(|k| a[k] + theta * (b[k] - a[k]))
    }
}

impl DensityMechanism for Hh {
    fn name(&self) -> &'static str {
        "hh"
    }
    fn nodes(&self) -> &[usize] {
        &self.nodes
    }
    fn variables(&self) -> &'static [&'static str] {
        &["m", "h", "n", "gna", "gk", "ina", "ik", "il"]
    }
    fn initialize(&self, _env: &Env, v: &[f64], _ions: &mut IonState, vars: &mut [f64]) {
        let n = self.nodes.len();
        for (j, &node) in self.nodes.iter().enumerate() {
            let r = self.rates(v[node]);
            vars[j] = r[0];
            vars[n + j] = r[2];
            vars[2 * n + j] = r[4];
        }
    }
    fn current(
        &self,
        _env: &Env,
        v: &[f64],
        ions: &mut IonState,
        mx: &mut Matrix,
        vars: &mut [f64],
    ) {
        let n = self.nodes.len();
        for j in 0..n {
            let node = self.nodes[j];
            let (m, h, nn) = (vars[j], vars[n + j], vars[2 * n + j]);
            let gna = self.gnabar[j] * m * m * m * h;
            let gk = self.gkbar[j] * nn * nn * nn * nn;
            let (ena, ek) = (ions.ena[node], ions.ek[node]);
            let total = |vv: f64| {
                let ina = gna * (vv - ena);
                let ik = gk * (vv - ek);
                let il = self.gl[j] * (vv - self.el[j]);
                (ina, ik, il)
            };
            let vn = v[node];
            let (a, b, c) = total(vn + 0.001);
            let i_hi = a + b + c;
            let (ina, ik, il) = total(vn);
            let i = ina + ik + il;
            mx.rhs[node] -= i;
            mx.d[node] += (i_hi - i) / 0.001;
            ions.ina[node] += ina;
            ions.ik[node] += ik;
            vars[3 * n + j] = gna;
            vars[4 * n + j] = gk;
            vars[5 * n + j] = ina;
            vars[6 * n + j] = ik;
            vars[7 * n + j] = il;
        }
    }
    fn advance(&self, env: &Env, v: &[f64], _ions: &mut IonState, vars: &mut [f64]) {
        let n = self.nodes.len();
        for (j, &node) in self.nodes.iter().enumerate() {
            let r = self.rates(v[node]);
            vars[j] = cnexp_gate(vars[j], r[0], r[1], env.dt);
            vars[n + j] = cnexp_gate(vars[n + j], r[2], r[3], env.dt);
            vars[2 * n + j] = cnexp_gate(vars[2 * n + j], r[4], r[5], env.dt);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_matches_direct_rates_at_grid_points_and_interpolates_between() {
        let inst = Instances {
            nodes: vec![0],
            values: ENTRY.params.iter().map(|&(_, d)| vec![d]).collect(),
            area_um2: vec![100.0],
        };
        let env = BuildEnv {
            dt: 0.025,
            celsius: 6.3,
            numerics: Default::default(),
        };
        let hh = Hh::build(inst, &env);
        let dbg = format!("{hh:?}");
        assert!(dbg.contains("Hh"));
        let hh = Hh {
            nodes: vec![0],
            gnabar: vec![0.12],
            gkbar: vec![0.036],
            gl: vec![0.0003],
            el: vec![-54.3],
            table: (0..=TABLE_N)
                .map(|i| rates_direct(-100.0 + i as f64, 6.3))
                .collect(),
        };
        // At −65 mV (a grid point) the table equals the direct formula; q10 = 1 at 6.3 °C.
        assert_eq!(hh.rates(-65.0), rates_direct(-65.0, 6.3));
        // Between grid points: linear interpolation of the neighbours (hand formula).
        let (a, b) = (rates_direct(-65.0, 6.3), rates_direct(-64.0, 6.3));
        let r = hh.rates(-64.75);
        for k in 0..6 {
            assert!((r[k] - (a[k] + 0.25 * (b[k] - a[k]))).abs() < 1e-15);
        }
        // Beyond the range the end entries are used.
        assert_eq!(hh.rates(150.0), rates_direct(100.0, 6.3));
    }
}
