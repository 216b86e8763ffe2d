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
use super::{cnexp_gate, DensityMechanism, Env, Instances, IonState, Matrix};

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
    /// `(inf, tau)` of each gate at `v` (mV), exactly as the mod file's `rates()` computes them.
    fn rates(v: f64) -> [(f64, f64); 2];
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
            let r = K::rates(v[node]);
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
            let i_hi = g * ((vn + 0.001) - e);
            let i = g * (vn - e);
            m.rhs[node] -= i;
            m.d[node] += (i_hi - i) / 0.001;
            if let Some(a) = acc.as_deref_mut() {
                a[node] += i;
            }
            g_out[j] = g;
            i_out[j] = i;
        }
    }
    fn advance(&self, env: &Env, v: &[f64], _ions: &mut IonState, vars: &mut [f64]) {
        let n = self.nodes.len();
        for (j, &node) in self.nodes.iter().enumerate() {
            let r = K::rates(v[node]);
            for (k, &(inf, tau)) in r.iter().enumerate().take(K::N_GATES) {
                let x = &mut vars[k * n + j];
                *x = cnexp_gate(*x, inf, tau, env.dt);
            }
        }
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
