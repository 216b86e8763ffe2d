//! Membrane mechanisms and point processes (NEURON built-ins and ISF's L5PT channels and synapses) as struct-of-arrays plug-ins registered by name.
//!
//! Two traits carry every mechanism: [`DensityMechanism`] (distributed channels such as `NaTa_t`,
//! currents in mA/cm²) and [`PointProcess`] (synapses and electrodes at one node, currents in nA).
//! Each implementation is ONE type holding all instances of that mechanism in a cell as
//! struct-of-arrays: a node index array plus parameter arrays (immutable, part of the template).
//! The per-trial values (gating states and the assigned values NEURON exposes, such as `ina` or
//! `gNaTa_t`) live outside, in a flat `f64` block owned by the trial state: variable `k` of
//! instance `j` is at `vars[k * n + j]` (n = instance count). That block is what a trial clones.
//!
//! The [`catalogue`] maps NEURON names to constructors and parameter names; adding a mechanism means
//! writing its type and adding one catalogue entry — the solver never changes.
//!
//! Numerics follow NEURON 9 / nocmodl exactly (docs/numerics.md#mechanisms): `exp` is [`hoc_exp`],
//! gating states use the cnexp update form of [`cnexp_gate`], currents are evaluated at `v + 0.001`
//! and `v` (the solver applies the finite-difference slope), and rate functions keep the
//! exact-equality "voltage nudges" of the mod files.

// Mechanism kernels index several parallel arrays with one instance index; iterator chains
// over five zipped slices would hide the formulas.
#![allow(clippy::needless_range_loop)]

pub mod catalogue;
pub mod catalogue_file;
pub mod compiled;
pub mod density;
pub mod exp;
mod exp_table;
pub mod ions;
pub mod placement;
pub mod point;
pub mod random;
pub mod streams;

pub use catalogue::{Catalogue, CatalogueError, MechanismKind};
pub use ions::{IonState, Ions};
pub use placement::MechanismPlacement;

/// Faraday constant as compiled by NEURON 9 (CODATA 2018), C/mol.
pub const FARADAY: f64 = 96485.33212331001;
/// Gas constant as compiled by NEURON 9 (CODATA 2018), J/(K·mol).
pub const GAS_CONSTANT: f64 = 8.31446261815324;
/// The ISF channels' hard-coded temperature factor `2.3^((34 − 21)/10)`.
pub fn qt_isf() -> f64 {
    2.3_f64.powf((34.0 - 21.0) / 10.0)
}

/// NEURON's `hoc_Exp` with the C library's `exp`: exponent clamped to ±700 (below −700 gives
/// exactly 0). See [`exp::hoc_exp_with`] for other implementations of `exp`.
#[inline(always)]
pub fn hoc_exp(x: f64) -> f64 {
    exp::hoc_exp_with::<exp::LibmExp>(x)
}

/// The C library's `exp` (the function NEURON's compiled mechanisms call), without glibc's
/// `errno` wrapper where that is possible: on glibc the kernel behind `exp` is also exported as
/// `__exp_finite`, which returns bit-identical results (the wrapper only sets `errno` on
/// overflow/underflow, impossible for the clamped arguments of [`hoc_exp`]) and saves about a
/// third of the cost of each call. Elsewhere this is `f64::exp`.
#[inline(always)]
pub fn libm_exp(x: f64) -> f64 {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        (finite::exp())(x)
    }
    #[cfg(not(all(target_os = "linux", target_env = "gnu")))]
    {
        x.exp()
    }
}

/// The C library's `pow` without glibc's `errno` wrapper (`__pow_finite`, same bits; see
/// [`libm_exp`]), for the mechanisms whose mod files call `pow` with finite, positive bases.
#[inline(always)]
pub fn libm_pow(x: f64, y: f64) -> f64 {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        (finite::pow())(x, y)
    }
    #[cfg(not(all(target_os = "linux", target_env = "gnu")))]
    {
        x.powf(y)
    }
}

/// The C library's `log` without glibc's `errno` wrapper (`__log_finite`, same bits; see
/// [`libm_exp`]), for the Nernst potential of positive concentrations.
#[inline(always)]
pub fn libm_log(x: f64) -> f64 {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        (finite::log())(x)
    }
    #[cfg(not(all(target_os = "linux", target_env = "gnu")))]
    {
        x.ln()
    }
}

/// glibc's `__exp_finite`, `__pow_finite` and `__log_finite`, looked up once (the standard
/// functions where they are missing).
#[cfg(all(target_os = "linux", target_env = "gnu"))]
mod finite {
    use std::ffi::{c_char, c_void, CStr};
    use std::sync::OnceLock;

    type Unary = extern "C" fn(f64) -> f64;
    type Binary = extern "C" fn(f64, f64) -> f64;

    extern "C" {
        fn dlvsym(
            handle: *mut c_void,
            symbol: *const c_char,
            version: *const c_char,
        ) -> *mut c_void;
    }

    /// The address of glibc's `name` (version GLIBC_2.15) among the loaded libraries, or null.
    fn lookup(name: &CStr) -> *mut c_void {
        // RTLD_DEFAULT (null handle): search the libraries already loaded (libm is).
        // SAFETY: dlvsym only reads the two NUL-terminated names.
        unsafe { dlvsym(std::ptr::null_mut(), name.as_ptr(), c"GLIBC_2.15".as_ptr()) }
    }

    /// `name` from glibc once, kept in `cell`; `fallback` where glibc does not have it.
    /// `F` must be the `extern "C" fn` type of that symbol.
    #[inline(always)]
    fn resolve<F: Copy>(cell: &OnceLock<F>, name: &CStr, fallback: F) -> F {
        *cell.get_or_init(|| match lookup(name) {
            p if p.is_null() => fallback,
            // SAFETY: a non-null result is the address of glibc's function `name`, whose ABI
            // is `F` (the callers below pass each symbol's C signature); function and data
            // pointers have the same size here.
            p => unsafe { std::mem::transmute_copy::<*mut c_void, F>(&p) },
        })
    }

    /// `double __exp_finite(double)`.
    #[inline(always)]
    pub(super) fn exp() -> Unary {
        extern "C" fn std_exp(x: f64) -> f64 {
            x.exp()
        }
        static F: OnceLock<Unary> = OnceLock::new();
        resolve(&F, c"__exp_finite", std_exp)
    }

    /// `double __log_finite(double)`.
    #[inline(always)]
    pub(super) fn log() -> Unary {
        extern "C" fn std_log(x: f64) -> f64 {
            x.ln()
        }
        static F: OnceLock<Unary> = OnceLock::new();
        resolve(&F, c"__log_finite", std_log)
    }

    /// `double __pow_finite(double, double)`.
    #[inline(always)]
    pub(super) fn pow() -> Binary {
        extern "C" fn std_pow(x: f64, y: f64) -> f64 {
            x.powf(y)
        }
        static F: OnceLock<Binary> = OnceLock::new();
        resolve(&F, c"__pow_finite", std_pow)
    }
}

#[cfg(test)]
mod exp_tests {
    use super::*;

    #[test]
    fn node_list_hands_out_its_indices_and_checks_the_arrays() {
        let nodes = NodeList::new(vec![3, 0, 7, 7, 2]);
        assert_eq!(nodes.within(8).collect::<Vec<_>>(), vec![3, 0, 7, 7, 2]);
        assert_eq!(nodes.within(100).collect::<Vec<_>>(), vec![3, 0, 7, 7, 2]);
        assert_eq!(NodeList::new(vec![]).within(0).count(), 0);
        let short = std::panic::catch_unwind(|| nodes.within(7).count());
        assert!(short.is_err(), "arrays of 7 nodes cannot hold node 7");
    }

    #[test]
    fn libm_functions_are_bit_identical_to_std() {
        // Deterministic sweep over the clamped range plus awkward points.
        let mut x = -700.0f64;
        while x <= 700.0 {
            assert_eq!(libm_exp(x).to_bits(), x.exp().to_bits(), "x = {x}");
            x += 0.012345678901;
        }
        for x in [0.0, -0.0, 1e-300, -1e-300, 0.5, -38.0 / 6.0, 709.0] {
            assert_eq!(libm_exp(x).to_bits(), x.exp().to_bits(), "x = {x}");
        }
        // pow and log over the ranges SK_E2 (bases 0.00043/cai, exponent 4.8) and the Nernst
        // potential (concentration ratios) use.
        let mut x = 1e-6f64;
        while x < 1e6 {
            assert_eq!(
                libm_pow(x, 4.8).to_bits(),
                x.powf(4.8).to_bits(),
                "pow({x}, 4.8)"
            );
            assert_eq!(libm_log(x).to_bits(), x.ln().to_bits(), "log({x})");
            x *= 1.000_123_4;
        }
        // pow(m, 4) of K_Tst's conductance: gate values in [0, 1].
        for k in 0..=100_000 {
            let m = k as f64 / 100_000.0;
            assert_eq!(
                libm_pow(m, 4.0).to_bits(),
                m.powf(4.0).to_bits(),
                "pow({m}, 4)"
            );
        }
        assert_eq!(hoc_exp(-701.0), 0.0);
        assert_eq!(hoc_exp(800.0), 700f64.exp());
    }
}

/// nocmodl's cnexp update of a gate `x' = (inf − x)/tau` over `dt`, in its exact emitted form
/// `x + (1 − exp(dt·(−1/tau)))·(−(inf/tau)/(−1/tau) − x)` (round-off matters for 1e-6 agreement in
/// runaway cases).
#[inline(always)]
pub fn cnexp_gate(x: f64, inf: f64, tau: f64, dt: f64) -> f64 {
    cnexp_gate_by(x, inf, tau, dt, hoc_exp)
}

/// [`cnexp_gate`] with `hoc_exp` as the `hoc_Exp` it calls (the vectorised kernels pass their
/// inlined exponential).
#[inline(always)]
pub fn cnexp_gate_by(x: f64, inf: f64, tau: f64, dt: f64, hoc_exp: impl Fn(f64) -> f64) -> f64 {
    let a = -1.0 / tau;
    cnexp_step(x, inf, tau, a, 1.0 - hoc_exp(dt * a))
}

/// How the mechanism kernels evaluate their equations. Both forms solve the same equations with
/// the same integration scheme; they differ only in round-off.
///
/// The agreement with NEURON 9.0.2 each reaches, as the reference tests assert it, is tabled in
/// the README (docs/numerics.md#agreement-with-neuron).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Numerics {
    /// The equations rearranged to spend fewer divisions, exponentials and library calls: the
    /// channels' rates ([`density::Kinetics::rates`]), `SK_E2`'s power and the Nernst
    /// potentials through a vectorised `ln`, `CaDynamics_E2`'s steady state, and `g` as the
    /// slope of ohmic currents. Agrees with NEURON to round-off; only where NEURON's own result
    /// hangs on round-off (runaway single-compartment cases in which `cai` falls to 0 and
    /// NEURON's Nernst guard sets `eca = 1e6 mV`) do the traces part.
    #[default]
    Fast,
    /// NEURON's operations in NEURON's order (the mod files' `rates()`, nocmodl's cnexp form,
    /// glibc's `exp`, `log` and `pow`, the 0.001 mV difference quotient): reproduces NEURON's
    /// single-compartment tests bit for bit, runaway cases included.
    Exact,
}

impl std::str::FromStr for Numerics {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "fast" => Ok(Numerics::Fast),
            "exact" => Ok(Numerics::Exact),
            _ => Err(format!("unknown numerics `{s}` (known: fast, exact)")),
        }
    }
}

/// The cnexp update of a gate given its steady state and `rate = 1/tau`:
/// `x + (1 − exp(−dt·rate))·(inf − x)`, the value of [`cnexp_gate`] without its three divisions.
#[inline(always)]
pub fn cnexp_rate_by(x: f64, inf: f64, rate: f64, dt: f64, hoc_exp: impl Fn(f64) -> f64) -> f64 {
    x + relax_fraction(dt * rate, hoc_exp) * (inf - x)
}

/// Largest `q = dt/τ` for which [`relax_fraction`] sums its series instead of calling `exp`
/// (τ ≥ 32·dt: at dt = 0.025 ms, the slow gates of most channels at rest).
pub const SERIES_LIMIT: f64 = 1.0 / 32.0;

/// `1 − e^{−q}` for `q = dt/τ ≥ 0` (the fraction by which a cnexp gate relaxes in a step): the
/// series [`relax_series`] up to [`SERIES_LIMIT`], else `1 − hoc_exp(−q)`. Both are evaluated
/// and one selected, so that loops calling this vectorise; [`relax_series`] alone is the same
/// value wherever `q` is at most the limit.
#[inline(always)]
pub fn relax_fraction(q: f64, hoc_exp: impl Fn(f64) -> f64) -> f64 {
    let series = relax_series(q);
    let full = 1.0 - hoc_exp(-q);
    if q <= SERIES_LIMIT {
        series
    } else {
        full
    }
}

/// `1 − e^{−q} = q·Σₖ (−q)ᵏ/(k + 1)!`, summed to k = 7: for `q` ≤ [`SERIES_LIMIT`] the first
/// term left out is below 2.5e-18 of the sum, so this is `1 − e^{−q}` to round-off — closer
/// to it than `1 − exp(−q)`, which loses the digits of `e^{−q}` that cancel against 1. Eight
/// multiply-adds instead of an exponential.
#[inline(always)]
pub fn relax_series(q: f64) -> f64 {
    const C: [f64; 8] = [
        1.0,
        -1.0 / 2.0,
        1.0 / 6.0,
        -1.0 / 24.0,
        1.0 / 120.0,
        -1.0 / 720.0,
        1.0 / 5040.0,
        -1.0 / 40320.0,
    ];
    let mut p = C[7];
    for &c in C[..7].iter().rev() {
        p = p.mul_add(q, c);
    }
    q * p
}

/// `1 − exp(dt·(−1/tau))`: the cnexp relaxation fraction of one step, for the `relax` argument
/// of [`cnexp_step`] when `tau` is constant.
#[inline]
pub fn relax(dt: f64, tau: f64) -> f64 {
    1.0 - hoc_exp(dt * (-1.0 / tau))
}

/// The last part of [`cnexp_gate`], given `a = −1/tau` and `relax = 1 − exp(dt·a)` (which a
/// mechanism with a constant `tau` computes once).
#[inline(always)]
pub fn cnexp_step(x: f64, inf: f64, tau: f64, a: f64, relax: f64) -> f64 {
    x + relax * (-(inf / tau) / a - x)
}

/// The node index of every instance of a mechanism block, with their bound (largest + 1).
///
/// Why: the per-instance loops index node arrays (voltages, the matrix, ion arrays) with these
/// indices. A bounds check per access is a possible panic per access, which also pins the order
/// of the loop's stores; [`NodeList::within`] checks the arrays' length once per call instead
/// and hands out the indices clamped below it — the same indices, but with a range the compiler
/// can see. Measured: the gate channels' current loops about 3.0 → 2.6 ns per instance-step.
#[derive(Debug, Clone, Default)]
pub struct NodeList {
    idx: Vec<usize>,
    bound: usize,
}

impl NodeList {
    /// The block's node indices.
    pub fn new(idx: Vec<usize>) -> Self {
        let bound = idx.iter().max().map_or(0, |&m| m + 1);
        NodeList { idx, bound }
    }
    /// The node index of every instance.
    pub fn as_slice(&self) -> &[usize] {
        &self.idx
    }
    /// Number of instances.
    pub fn len(&self) -> usize {
        self.idx.len()
    }
    /// Whether the block has no instances.
    pub fn is_empty(&self) -> bool {
        self.idx.is_empty()
    }
    /// The node indices for indexing arrays of `len` nodes, after checking once that `len`
    /// covers every one of them (panics otherwise; the model builds every node array with the
    /// cell's node count, so this never fires in a simulation).
    #[inline]
    pub fn within(&self, len: usize) -> impl Iterator<Item = usize> + '_ {
        assert!(
            self.bound <= len,
            "node index {} beyond node arrays of length {len}",
            self.bound.saturating_sub(1)
        );
        let last = len.saturating_sub(1);
        self.idx.iter().map(move |&node| node.min(last))
    }
}

/// The length all of `lens` have (their minimum): the `len` to pass to [`NodeList::within`].
#[inline(always)]
pub fn common_len(lens: &[usize]) -> usize {
    lens.iter().copied().min().unwrap_or(0)
}

/// Time and temperature seen by mechanisms during one phase of a step.
#[derive(Debug, Clone, Copy)]
pub struct Env {
    /// Time step, ms.
    pub dt: f64,
    /// Model time, ms (the step midpoint during current evaluation, as in NEURON).
    pub t: f64,
    /// Temperature, °C.
    pub celsius: f64,
    /// Whether anything reads the block's variables (a probe records one). When it is false,
    /// `current` may leave the variables that only report (conductances and currents, which
    /// no update reads) unwritten: a batch streams several MB of them per step otherwise.
    pub outputs: bool,
}

/// Per-node linear system being assembled: right-hand side and diagonal (NEURON's `VEC_RHS`, `VEC_D`).
pub struct Matrix<'a> {
    /// Right-hand side, mA/cm² for segment nodes.
    pub rhs: &'a mut [f64],
    /// Diagonal, S/cm² for segment nodes.
    pub d: &'a mut [f64],
    /// How [`Matrix::add_ohmic`] takes the slope.
    pub numerics: Numerics,
}

impl Matrix<'_> {
    /// The same system cut to its first `len` nodes (indices from [`NodeList::within`] then
    /// need no bounds checks).
    #[inline(always)]
    pub fn cut(&mut self, len: usize) -> Matrix<'_> {
        Matrix {
            rhs: &mut self.rhs[..len],
            d: &mut self.d[..len],
            numerics: self.numerics,
        }
    }

    /// Adds an ohmic density current `g·(v − e)` at `node` as NEURON's BREAKPOINT does: the
    /// current at `v` to the right-hand side and the slope from the current at `v + 0.001` to
    /// the diagonal. Returns the current at `v` (mA/cm²).
    ///
    /// With [`Numerics::Fast`] the slope is `g` itself, which NEURON's difference quotient
    /// `(i(v + 0.001) − i(v))/0.001` equals up to its own round-off (`v + 0.001` alone is
    /// rounded by up to 1e-11 of the 0.001 step): no division and no second current.
    #[inline(always)]
    pub fn add_ohmic(&mut self, node: usize, g: f64, v: f64, e: f64) -> f64 {
        let i = g * (v - e);
        self.rhs[node] -= i;
        self.d[node] += self.ohmic_slope(g, v, e, i);
        i
    }

    /// The slope of the ohmic current `i = g·(v − e)`: NEURON's difference quotient with
    /// [`Numerics::Exact`], `g` itself with [`Numerics::Fast`] (see [`Matrix::add_ohmic`]).
    #[inline(always)]
    pub fn ohmic_slope(&self, g: f64, v: f64, e: f64, i: f64) -> f64 {
        match self.numerics {
            Numerics::Exact => (g * ((v + 0.001) - e) - i) / 0.001,
            Numerics::Fast => g,
        }
    }
}

/// A distributed (density) mechanism block: all instances of one mechanism in a cell.
pub trait DensityMechanism: Send + Sync + std::fmt::Debug {
    /// NEURON suffix (e.g. `NaTa_t`).
    fn name(&self) -> &'static str;
    /// Node index of every instance.
    fn nodes(&self) -> &[usize];
    /// Names of the per-instance trial variables (states first, then recorded assigned values).
    fn variables(&self) -> &'static [&'static str];
    /// Whether this mechanism writes the intracellular calcium concentration (then `eca` is
    /// recomputed from Nernst every step at its nodes).
    fn writes_cai(&self) -> bool {
        false
    }
    /// NEURON's INITIAL block (`v` per node, `ions` after ion initialisation).
    fn initialize(&self, env: &Env, v: &[f64], ions: &mut IonState, vars: &mut [f64]);
    /// BREAKPOINT currents: `rhs −= I(v)`, `d += (I(v+0.001) − I(v))/0.001`; ionic currents at `v`
    /// are added to the ion accumulators.
    fn current(&self, env: &Env, v: &[f64], ions: &mut IonState, m: &mut Matrix, vars: &mut [f64]);
    /// State update (cnexp) with the new voltages.
    fn advance(&self, env: &Env, v: &[f64], ions: &mut IonState, vars: &mut [f64]);
}

/// An event as NET_RECEIVE sees it.
#[derive(Debug)]
pub struct Delivery<'a> {
    /// The receiving instance.
    pub instance: usize,
    /// The event's exact time (NEURON sets `t` to it for the duration of NET_RECEIVE).
    pub t: f64,
    /// NET_RECEIVE's `flag`: 0 for a NetCon event, the `net_send` flag for a self-event.
    pub flag: f64,
    /// The NetCon's weight vector: the weight, then the per-NetCon state (NET_RECEIVE's
    /// further arguments), which NET_RECEIVE may change. A self-event carries the vector of the
    /// NetCon whose delivery sent it; one sent by INITIAL carries an empty slice.
    pub weights: &'a mut [f64],
}

/// What a self-event sent by [`EventSink::net_send`] is.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SelfEvent {
    /// The sending (and receiving) instance.
    pub instance: usize,
    /// Delivery time, ms: the `t + delay` the mechanism computed (NEURON adds textually).
    pub time: f64,
    /// The flag NET_RECEIVE will see.
    pub flag: f64,
}

/// The events a point process emits during INITIAL or NET_RECEIVE, collected for the solver's
/// event queue: self-events (`net_send`, `net_move`) and spikes (`net_event`), which the
/// solver delivers through the instance's NetCons with their delays and weights.
#[derive(Debug, Default, Clone)]
pub struct EventSink {
    sends: Vec<SelfEvent>,
    moves: Vec<SelfEvent>,
    spikes: Vec<(usize, f64)>,
}

impl EventSink {
    /// `net_send`: a self-event of `instance` at `time` with `flag`.
    pub fn net_send(&mut self, instance: usize, time: f64, flag: f64) {
        self.sends.push(SelfEvent {
            instance,
            time,
            flag,
        });
    }
    /// `net_move`: moves the self-event `instance` sent last (if still pending) to `time`,
    /// keeping its flag.
    pub fn net_move(&mut self, instance: usize, time: f64) {
        self.moves.push(SelfEvent {
            instance,
            time,
            flag: 0.0,
        });
    }
    /// `net_event`: a spike of `instance` at `time`.
    pub fn net_event(&mut self, instance: usize, time: f64) {
        self.spikes.push((instance, time));
    }
    /// Whether nothing was emitted.
    pub fn is_empty(&self) -> bool {
        self.sends.is_empty() && self.moves.is_empty() && self.spikes.is_empty()
    }
    /// The self-events sent, in order.
    pub fn sends(&self) -> &[SelfEvent] {
        &self.sends
    }
    /// The `net_move`s (instance and new time; the flag is unused), in order.
    pub fn moves(&self) -> &[SelfEvent] {
        &self.moves
    }
    /// The spikes emitted (instance, time), in order.
    pub fn spikes(&self) -> &[(usize, f64)] {
        &self.spikes
    }
    /// Forgets everything emitted.
    pub fn clear(&mut self) {
        self.sends.clear();
        self.moves.clear();
        self.spikes.clear();
    }
}

/// What a point process's code may use besides its own variables: the cell's legacy random
/// generator (one per cell and trial, shared with the density mechanisms, as NEURON has one per
/// process) and the instances' event vectors (VecStim's `play`).
#[derive(Debug)]
pub struct PointCtx<'a> {
    /// The legacy generator of `scop_random`, `exprand`, `normrand` and `set_seed`.
    pub scop: &'a mut random::ScopLcg,
    /// Event vector of each instance of the block; an instance past the end has none.
    pub vectors: &'a [Vec<f64>],
}

/// A point-process block: all instances of one point process (synapse, electrode, artificial
/// cell) in a trial.
pub trait PointProcess: Send + Sync + std::fmt::Debug {
    /// NEURON name (e.g. `glutamate_syn`).
    fn name(&self) -> &'static str;
    /// Node index of every instance (an artificial cell's nodes are placeholders it never
    /// reads).
    fn nodes(&self) -> &[usize];
    /// Names of the per-instance trial variables.
    fn variables(&self) -> &'static [&'static str];
    /// INITIAL block (at t = 0); self-events it sends (`net_send`) go to `events`.
    fn initialize(
        &self,
        env: &Env,
        v: &[f64],
        vars: &mut [f64],
        events: &mut EventSink,
        cx: &mut PointCtx<'_>,
    );
    /// BREAKPOINT current, converted to the node's units with `100/area` (electrodes enter with the
    /// opposite sign).
    fn current(
        &self,
        env: &Env,
        v: &[f64],
        m: &mut Matrix,
        vars: &mut [f64],
        cx: &mut PointCtx<'_>,
    );
    /// State update with the new voltages.
    fn advance(&self, env: &Env, v: &[f64], vars: &mut [f64], cx: &mut PointCtx<'_>);
    /// NET_RECEIVE of one event; `net_send`, `net_move` and `net_event` go to `events`.
    fn receive(
        &self,
        ev: Delivery<'_>,
        vars: &mut [f64],
        events: &mut EventSink,
        cx: &mut PointCtx<'_>,
    );
    /// Initialisation (t = 0, after every INITIAL) of one NetCon targeting `instance`, as
    /// NEURON's `finitialize` does it: a mechanism with an INITIAL block in NET_RECEIVE runs it
    /// (and overrides this); otherwise the per-NetCon state `weights[1..]` is zeroed (this
    /// default).
    fn receive_init(
        &self,
        _instance: usize,
        weights: &mut [f64],
        _vars: &mut [f64],
        _cx: &mut PointCtx<'_>,
    ) {
        if let Some(rest) = weights.get_mut(1..) {
            rest.fill(0.0);
        }
    }
    /// Extra per-trial scratch values appended after the variables (not recordable).
    fn scratch_len(&self) -> usize {
        0
    }
    /// How many weights NET_RECEIVE takes, the per-NetCon state included (0: the process
    /// receives no events).
    fn n_weights(&self) -> usize {
        0
    }
    /// An artificial cell (ARTIFICIAL_CELL): no node, no current; it only receives and emits
    /// events.
    fn artificial(&self) -> bool {
        false
    }
}

/// Parameter values for a block of instances, in catalogue parameter order: `values[p][j]` is
/// parameter `p` of instance `j`.
#[derive(Debug, Clone)]
pub struct Instances {
    /// Node of every instance.
    pub nodes: Vec<usize>,
    /// Parameter-major values, one row per catalogue parameter.
    pub values: Vec<Vec<f64>>,
    /// Node area (µm², 100 for zero-area nodes) of every instance; used by point processes.
    pub area_um2: Vec<f64>,
}

impl Instances {
    /// Number of instances.
    pub fn len(&self) -> usize {
        self.nodes.len()
    }
    /// Whether there are no instances.
    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }
}
