//! Density mechanisms. Most ISF channels are "gate channels" — `g = gbar·f(gates)`, `i = g·(v − e)`
//! with cnexp-integrated gates whose steady states and time constants depend on v only — and
//! share one generic block type, [`GateChannel`], monomorphised per channel kinetics.

pub mod ca_hva;
pub mod ca_lvast;
pub mod cadynamics_e2;
pub mod hh;
pub mod ih;
pub mod im;
pub mod k_pst;
pub mod k_tst;
pub mod nap_et2;
pub mod nata_t;
pub mod pas;
pub mod sk_e2;
pub mod skv3_1;

use super::catalogue::BuildEnv;
use super::exp::{dispatch, Exp, Kernel, LibmExp};
use super::{cnexp_gate_with, DensityMechanism, Env, Instances, IonState, Matrix};

/// Which reversal potential a channel uses and which accumulator receives its current.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ion {
    /// `ena`, `ina`.
    Na,
    /// `ek`, `ik`.
    K,
    /// `eca`, `ica`.
    Ca,
    /// A per-instance reversal parameter (catalogue parameter 1), no ion accumulator.
    NonSpecific,
}

/// The kinetics of a gate channel (at most two gates).
pub trait Kinetics: Send + Sync + std::fmt::Debug + 'static {
    /// NEURON suffix.
    const NAME: &'static str;
    /// Trial variables: the gates (NEURON state names), then the conductance, then the current.
    const VARS: &'static [&'static str];
    /// Number of gates (1 or 2).
    const N_GATES: usize;
    /// Ion of the current.
    const ION: Ion;
    /// `(inf, tau)` of each gate at `v` (mV), exactly as the mod file's `rates()` computes them,
    /// with `E` as the exponential. Must be branch-free apart from selects and `#[inline(always)]`
    /// so that the advance loop vectorises.
    fn rates<E: Exp>(v: f64) -> [(f64, f64); 2];
    /// Conductance (S/cm²) from `gbar` and the gates, in the mod file's operation order.
    fn conductance(gbar: f64, gates: [f64; 2]) -> f64;
}

/// All instances of one gate channel: parameter 0 is `gbar`, parameter 1 (non-specific channels
/// only) the reversal potential.
#[derive(Debug)]
pub struct GateChannel<K: Kinetics> {
    nodes: Vec<usize>,
    gbar: Vec<f64>,
    erev: Vec<f64>,
    _k: std::marker::PhantomData<K>,
}

impl<K: Kinetics> GateChannel<K> {
    /// Builds the block (catalogue constructor).
    pub fn build(inst: Instances, _env: &BuildEnv) -> Box<dyn DensityMechanism> {
        let mut values = inst.values.into_iter();
        let gbar = values.next().unwrap_or_default();
        let erev = values.next().unwrap_or_default();
        Box::new(GateChannel::<K> {
            nodes: inst.nodes,
            gbar,
            erev,
            _k: std::marker::PhantomData,
        })
    }
}

impl<K: Kinetics> DensityMechanism for GateChannel<K> {
    fn name(&self) -> &'static str {
        K::NAME
    }
    fn nodes(&self) -> &[usize] {
        &self.nodes
    }
    fn variables(&self) -> &'static [&'static str] {
        K::VARS
    }
    fn initialize(&self, _env: &Env, v: &[f64], _ions: &mut IonState, vars: &mut [f64]) {
        let n = self.nodes.len();
        for (j, &node) in self.nodes.iter().enumerate() {
            let r = K::rates::<LibmExp>(v[node]);
            for (k, &(inf, _)) in r.iter().enumerate().take(K::N_GATES) {
                vars[k * n + j] = inf;
            }
        }
    }
    #[inline]
    fn current(
        &self,
        _env: &Env,
        v: &[f64],
        ions: &mut IonState,
        m: &mut Matrix,
        vars: &mut [f64],
    ) {
        let n = self.nodes.len();
        let (gates, rest) = vars.split_at_mut(K::N_GATES * n);
        let (g_out, i_out) = rest.split_at_mut(n);
        let (g0, g1) = if K::N_GATES == 2 {
            gates.split_at(n)
        } else {
            (&gates[..], &gates[..])
        };
        let (erev, mut acc) = split_ion(ions, K::ION, &self.erev);
        for j in 0..n {
            let node = self.nodes[j];
            let vn = v[node];
            let e = if K::ION == Ion::NonSpecific {
                erev[j]
            } else {
                erev[node]
            };
            let g = K::conductance(self.gbar[j], [g0[j], g1[j]]);
            let i = m.add_ohmic(node, g, vn, e);
            if let Some(a) = acc.as_deref_mut() {
                a[node] += i;
            }
            g_out[j] = g;
            i_out[j] = i;
        }
    }
    fn advance(&self, env: &Env, v: &[f64], _ions: &mut IonState, vars: &mut [f64]) {
        dispatch(AdvanceGates {
            nodes: &self.nodes,
            v,
            dt: env.dt,
            vars,
            _k: std::marker::PhantomData::<K>,
        })
    }
}

/// Instances per block of the vectorised gate update (their voltages are gathered into a stack
/// buffer first, so that the rate arithmetic runs over contiguous lanes).
const BLOCK: usize = 64;

/// The cnexp update of every gate of a [`GateChannel`], as a [`Kernel`] so that it is compiled
/// for the widest vector unit available.
struct AdvanceGates<'a, K> {
    nodes: &'a [usize],
    v: &'a [f64],
    dt: f64,
    vars: &'a mut [f64],
    _k: std::marker::PhantomData<K>,
}

impl<K: Kinetics> Kernel for AdvanceGates<'_, K> {
    type Output = ();
    #[inline(always)]
    fn run<E: Exp>(self) {
        let n = self.nodes.len();
        let (x0, rest) = self.vars.split_at_mut(n);
        let x1 = &mut rest[..if K::N_GATES == 2 { n } else { 0 }];
        let mut vb = [0.0; BLOCK];
        for (b, nodes) in self.nodes.chunks(BLOCK).enumerate() {
            let len = nodes.len();
            for (x, &node) in vb.iter_mut().zip(nodes) {
                *x = self.v[node];
            }
            let lanes = b * BLOCK..b * BLOCK + len;
            if K::N_GATES == 2 {
                advance_two::<K, E>(&vb[..len], &mut x0[lanes.clone()], &mut x1[lanes], self.dt);
            } else {
                advance_one::<K, E>(&vb[..len], &mut x0[lanes], self.dt);
            }
        }
    }
}

// Separate functions with slice parameters: their `noalias` guarantees survive inlining and
// let the loops vectorise without run-time overlap checks.
#[inline(always)]
fn advance_two<K: Kinetics, E: Exp>(v: &[f64], x0: &mut [f64], x1: &mut [f64], dt: f64) {
    let n = v.len().min(x0.len()).min(x1.len());
    let (v, x0, x1) = (&v[..n], &mut x0[..n], &mut x1[..n]);
    for j in 0..n {
        let [(i0, t0), (i1, t1)] = K::rates::<E>(v[j]);
        x0[j] = cnexp_gate_with::<E>(x0[j], i0, t0, dt);
        x1[j] = cnexp_gate_with::<E>(x1[j], i1, t1, dt);
    }
}

#[inline(always)]
fn advance_one<K: Kinetics, E: Exp>(v: &[f64], x0: &mut [f64], dt: f64) {
    let n = v.len().min(x0.len());
    let (v, x0) = (&v[..n], &mut x0[..n]);
    for j in 0..n {
        let [(i0, t0), _] = K::rates::<E>(v[j]);
        x0[j] = cnexp_gate_with::<E>(x0[j], i0, t0, dt);
    }
}

/// The reversal-potential array (per node, or per instance for non-specific channels) and the
/// current accumulator of `ion`.
#[inline]
pub fn split_ion<'a>(
    ions: &'a mut IonState,
    ion: Ion,
    own_erev: &'a [f64],
) -> (&'a [f64], Option<&'a mut [f64]>) {
    match ion {
        Ion::Na => (&ions.ena, Some(&mut ions.ina)),
        Ion::K => (&ions.ek, Some(&mut ions.ik)),
        Ion::Ca => (&ions.eca, Some(&mut ions.ica)),
        Ion::NonSpecific => (own_erev, None),
    }
}
