//! Point processes: synapses (`glutamate_syn`, `gaba_syn`), electrodes (`IClamp`, `SEClamp`) and the
//! `epsp` current waveform. Currents are in nA and enter the node's row scaled by `100/area`.

pub mod epsp;
pub mod gaba_syn;
pub mod glutamate_syn;
pub mod iclamp;
pub mod seclamp;

use crate::mechanisms::{hoc_exp, Delivery, Env, EventSink, Matrix, PointProcess};

pub use crate::mechanisms::relax;

/// `100/area` for every instance (NEURON's `1.e2/(_nd_area)`).
pub fn area_scale(area_um2: &[f64]) -> Vec<f64> {
    area_um2.iter().map(|&a| 1.0e2 / a).collect()
}

/// Peak-normalisation factor of a difference of exponentials with rise `tau_rise` and decay
/// `tau_decay` (the synapses' INITIAL `factor`).
pub fn peak_factor(tau_rise: f64, tau_decay: f64) -> f64 {
    let tp = tau_rise * tau_decay / (tau_decay - tau_rise) * (tau_decay / tau_rise).ln();
    1.0 / (-hoc_exp(-tp / tau_rise) + hoc_exp(-tp / tau_decay))
}

/// How far the instances (or other indices) that have received an event reach, as kept in a
/// `slot` of a trial's scratch values: one past the highest (as `f64`, which holds it exactly),
/// at most `bound`. The scratch lives with the trial's variables, so a trial's initialisation
/// (which zeroes it) resets it. With [`Numerics::Fast`](crate::mechanisms::Numerics::Fast) the
/// solver numbers instances in the order of their first event, so the reach is their count.
#[inline]
pub fn reach(slot: f64, bound: usize) -> usize {
    (slot as usize).min(bound)
}

/// Extends the reach kept in `slot` (see [`reach`]) to include index `x`.
#[inline]
pub fn extend_reach(slot: &mut f64, x: usize) {
    *slot = slot.max((x + 1) as f64);
}

/// Per-instance factors of a state's update (cnexp fractions of its time constant), kept also
/// as one number when every instance has the same (synapses of one kind nearly always do): the
/// update then reads one stream per state instead of two.
#[derive(Debug)]
pub struct Factors {
    each: Vec<f64>,
    all: Option<f64>,
}

impl Factors {
    /// The factors of every instance.
    pub fn new(each: Vec<f64>) -> Self {
        let all = each
            .first()
            .copied()
            .filter(|f| each.iter().all(|x| x.to_bits() == f.to_bits()));
        Factors { each, all }
    }
}

/// `x[j] = step(x[j], f[j])` for the instances of `x`.
#[inline(always)]
fn update_each(x: &mut [f64], f: &Factors, step: impl Fn(f64, f64) -> f64) {
    match f.all {
        Some(r) => x.iter_mut().for_each(|x| *x = step(*x, r)),
        None => {
            let f = &f.each[..x.len()];
            for j in 0..x.len() {
                x[j] = step(x[j], f[j]);
            }
        }
    }
}

/// `x += r·(−x)`: cnexp of `x' = −x/tau` with `r = 1 − e^{−dt/tau}`.
#[inline]
pub fn decay_to_zero(x: &mut [f64], r: &Factors) {
    update_each(x, r, |x, r| x + r * (-x));
}

/// `x += q·(1 − x)`: cnexp of `x' = (1 − x)/tau` with `q = 1 − e^{−dt/tau}` (the emitted
/// `−(1/tau)/(−1/tau)` is exactly 1).
#[inline]
pub fn relax_to_one(x: &mut [f64], q: &Factors) {
    update_each(x, q, |x, q| x + q * (1.0 - x));
}

/// Splits `vars` into `K` consecutive arrays of length `n`.
#[inline]
pub fn columns<const K: usize>(vars: &mut [f64], n: usize) -> [&mut [f64]; K] {
    let mut rest = vars;
    std::array::from_fn(|_| {
        let (a, b) = std::mem::take(&mut rest).split_at_mut(n);
        rest = b;
        a
    })
}

/// Which way a current source's `i` enters its node's equation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CurrentSign {
    /// An electrode current (`IClamp`): positive `i` flows into the cell.
    Electrode,
    /// A nonspecific membrane current (`epsp`): positive `i` flows out of the cell.
    Membrane,
}

/// A prescribed current waveform: the time course of a point process without state that does
/// not depend on v (an electrode or a current template).
pub trait Waveform: Send + Sync + std::fmt::Debug + 'static {
    /// NEURON name.
    const NAME: &'static str;
    /// Sign convention of [`Waveform::current_na`].
    const SIGN: CurrentSign;
    /// Current of instance `j` at time `t_ms` (nA).
    fn current_na(&self, j: usize, t_ms: f64) -> f64;
}

/// The instances of a [`Waveform`] point process: each injects its current at its node and
/// records it as the variable `i`. It has no state and receives no events, and since the current
/// does not depend on v, it adds nothing to the matrix diagonal.
#[derive(Debug)]
pub struct CurrentSource<W> {
    nodes: Vec<usize>,
    scale: Vec<f64>,
    waveform: W,
}

impl<W: Waveform> CurrentSource<W> {
    /// Instances at `nodes` (node areas `area_um2`) with per-instance waveform parameters.
    pub fn boxed(nodes: Vec<usize>, area_um2: &[f64], waveform: W) -> Box<dyn PointProcess> {
        Box::new(CurrentSource {
            scale: area_scale(area_um2),
            nodes,
            waveform,
        })
    }
}

impl<W: Waveform> PointProcess for CurrentSource<W> {
    fn name(&self) -> &'static str {
        W::NAME
    }
    fn nodes(&self) -> &[usize] {
        &self.nodes
    }
    fn variables(&self) -> &'static [&'static str] {
        &["i"]
    }
    fn initialize(
        &self,
        _env: &Env,
        _v: &[f64],
        vars: &mut [f64],
        _events: &mut EventSink,
        _cx: &mut crate::mechanisms::PointCtx<'_>,
    ) {
        vars.fill(0.0);
    }
    fn current(
        &self,
        env: &Env,
        _v: &[f64],
        m: &mut Matrix,
        vars: &mut [f64],
        _cx: &mut crate::mechanisms::PointCtx<'_>,
    ) {
        let t = env.t;
        for j in 0..self.nodes.len() {
            let i = self.waveform.current_na(j, t);
            let node = self.nodes[j];
            match W::SIGN {
                CurrentSign::Electrode => m.rhs[node] += i * self.scale[j],
                CurrentSign::Membrane => m.rhs[node] -= i * self.scale[j],
            }
            vars[j] = i;
        }
    }
    fn advance(
        &self,
        _env: &Env,
        _v: &[f64],
        _vars: &mut [f64],
        _cx: &mut crate::mechanisms::PointCtx<'_>,
    ) {
    }
    fn receive(
        &self,
        _ev: Delivery<'_>,
        _vars: &mut [f64],
        _events: &mut EventSink,
        _cx: &mut crate::mechanisms::PointCtx<'_>,
    ) {
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn peak_factors_match_neuron() {
        // Values NEURON printed for ISF's synapse time constants (docs/numerics.md#synapses).
        assert_eq!(peak_factor(2.0, 26.0), 1.3415001295600049);
        assert_eq!(peak_factor(0.1, 2.0), 1.2323999091818731);
        assert_eq!(peak_factor(1.0, 20.0), 1.2323999091818731);
    }

    #[test]
    fn reach_extends_to_the_highest_index() {
        let mut slot = 0.0;
        assert_eq!(reach(slot, 10), 0);
        for x in [7, 2, 9, 2, 0] {
            extend_reach(&mut slot, x);
        }
        assert_eq!(reach(slot, 100), 10);
        assert_eq!(reach(slot, 4), 4);
    }
}
