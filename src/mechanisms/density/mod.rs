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
use super::exp::{dispatch, hoc_exp_row, hoc_exp_with, Exp, Kernel, LibmExp};
use super::{DensityMechanism, Env, Instances, IonState, Matrix};

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
    /// Number of exponentials `rates` evaluates (at most [`MAX_EXP`]).
    const N_EXP: usize;
    /// `(inf, tau)` of each gate at `v` (mV), exactly as the mod file's `rates()` computes them,
    /// with `ex` providing NEURON's `hoc_Exp`. Must call `ex.exp` exactly [`Kinetics::N_EXP`]
    /// times whatever `v` is, be branch-free apart from selects and be `#[inline(always)]`, so
    /// that the staged update of [`AdvanceGates`] can split it around its exponentials.
    fn rates(v: f64, ex: &mut impl RateExp) -> [(f64, f64); 2];
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
            let r = K::rates(v[node], &mut DirectExp::<LibmExp>(std::marker::PhantomData));
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
pub(super) const BLOCK: usize = 64;

/// Most exponentials any [`Kinetics::rates`] evaluates.
pub const MAX_EXP: usize = 6;

/// The exponential as a rates function sees it: NEURON's `hoc_Exp`, either evaluated on the
/// spot or staged by [`AdvanceGates`].
pub trait RateExp {
    /// `hoc_Exp(x)` (or, while recording, a placeholder).
    fn exp(&mut self, x: f64) -> f64;
}

/// Evaluates each exponential when asked.
struct DirectExp<E>(std::marker::PhantomData<E>);

impl<E: Exp> RateExp for DirectExp<E> {
    #[inline(always)]
    fn exp(&mut self, x: f64) -> f64 {
        hoc_exp_with::<E>(x)
    }
}

/// First stage: notes the arguments (the rest of the rates arithmetic is dead and optimised
/// away).
struct RecordExp {
    args: [f64; MAX_EXP],
    k: usize,
}

impl RateExp for RecordExp {
    #[inline(always)]
    fn exp(&mut self, x: f64) -> f64 {
        self.args[self.k] = x;
        self.k += 1;
        1.0
    }
}

/// Last stage: hands back the exponentials computed in between, in call order.
struct ReplayExp {
    values: [f64; MAX_EXP],
    k: usize,
}

impl RateExp for ReplayExp {
    #[inline(always)]
    fn exp(&mut self, x: f64) -> f64 {
        let _ = x;
        self.k += 1;
        self.values[self.k - 1]
    }
}

/// The cnexp update of every gate of a [`GateChannel`], as a [`Kernel`] so that it is compiled
/// for the widest vector unit available.
///
/// Why staged: one instance's update is a long dependent chain (exponentials, then divisions,
/// then another exponential). Written as one loop, the body of an iteration is too large for
/// the CPU to overlap consecutive iterations and the loop runs at the chain's latency. Here
/// each block of instances goes through short loops instead — exponent arguments, the rate
/// exponentials, the rest of the rates and the cnexp coefficients, the cnexp exponentials, the
/// state update — whose iterations are independent and overlap. Every value is computed by the
/// same operations as in the one-loop form, so the results are identical to the bit.
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
        let mut ex = [[0.0; BLOCK]; MAX_EXP];
        let mut stage = CnexpStage::default();
        for (b, nodes) in self.nodes.chunks(BLOCK).enumerate() {
            let len = nodes.len();
            for (x, &node) in vb.iter_mut().zip(nodes) {
                *x = self.v[node];
            }
            let lanes = b * BLOCK..b * BLOCK + len;
            rate_exponentials::<K, E>(&vb[..len], &mut ex);
            stage.prepare::<K>(&vb[..len], &ex, self.dt);
            stage.update::<E>(0, &mut x0[lanes.clone()]);
            if K::N_GATES == 2 {
                stage.update::<E>(1, &mut x1[lanes]);
            }
        }
    }
}

/// Stages 1 and 2: `ex[k][j]` = the `k`-th exponential of the rates at `v[j]`.
#[inline(always)]
fn rate_exponentials<K: Kinetics, E: Exp>(v: &[f64], ex: &mut [[f64; BLOCK]; MAX_EXP]) {
    for (j, &vj) in v.iter().enumerate().take(BLOCK) {
        let mut rec = RecordExp {
            args: [0.0; MAX_EXP],
            k: 0,
        };
        K::rates(vj, &mut rec);
        for k in 0..K::N_EXP {
            ex[k][j] = rec.args[k];
        }
    }
    for row in ex.iter_mut().take(K::N_EXP) {
        hoc_exp_row::<E>(&mut row[..v.len().min(BLOCK)]);
    }
}

/// The cnexp coefficients of one block: `x ← x + (1 − hoc_Exp(dt·a))·(c − x)` with
/// `a = −1/τ` and `c = −(inf/τ)/a`, as NEURON's generated code computes it.
struct CnexpStage {
    /// `dt·a`, then (after `update`'s first loop) `hoc_Exp(dt·a)`.
    arg: [[f64; BLOCK]; 2],
    c: [[f64; BLOCK]; 2],
    len: usize,
}

impl Default for CnexpStage {
    fn default() -> Self {
        CnexpStage {
            arg: [[0.0; BLOCK]; 2],
            c: [[0.0; BLOCK]; 2],
            len: 0,
        }
    }
}

impl CnexpStage {
    /// Stage 3: the rest of the rates from the exponentials, and the cnexp coefficients.
    #[inline(always)]
    fn prepare<K: Kinetics>(&mut self, v: &[f64], ex: &[[f64; BLOCK]; MAX_EXP], dt: f64) {
        self.len = v.len().min(BLOCK);
        for (j, &vj) in v.iter().enumerate().take(BLOCK) {
            let mut rep = ReplayExp {
                values: [0.0; MAX_EXP],
                k: 0,
            };
            for k in 0..K::N_EXP {
                rep.values[k] = ex[k][j];
            }
            let r = K::rates(vj, &mut rep);
            for (g, &(inf, tau)) in r.iter().enumerate().take(K::N_GATES) {
                let a = -1.0 / tau;
                self.arg[g][j] = dt * a;
                self.c[g][j] = -(inf / tau) / a;
            }
        }
    }

    /// Stages 4 and 5 for gate `g`: its exponentials, then its state update.
    #[inline(always)]
    fn update<E: Exp>(&mut self, g: usize, x: &mut [f64]) {
        let n = self.len.min(x.len());
        let (arg, c, x) = (&mut self.arg[g][..n], &self.c[g][..n], &mut x[..n]);
        hoc_exp_row::<E>(arg);
        for ((x, &e), &c) in x.iter_mut().zip(arg.iter()).zip(c) {
            *x += (1.0 - e) * (c - *x);
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
