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
use super::exp::{
    dispatch, hoc_exp_above_m512, hoc_exp_with, Exp, Kernel, LaneKernel, LibmExp, PolyExp,
};
use super::{
    cnexp_gate_by, cnexp_rate_by, common_len, relax_series, DensityMechanism, Env, Instances,
    IonState, Matrix, NodeList, Numerics, SERIES_LIMIT,
};

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
    /// Number of exponentials `mod_rates` evaluates (at most [`MAX_EXP`]).
    const N_EXP_MOD: usize;
    /// `(inf, rate)` of each gate at `v` (mV) for [`Numerics::Fast`]: its steady state and
    /// `rate = 1/τ` (1/ms). The values of the mod file's `rates()` ([`Kinetics::mod_rates`]),
    /// rearranged to spend fewer divisions and exponentials: the gate updates are bound by the
    /// divider, and the mod files' form with nocmodl's cnexp update spends about ten divisions
    /// per gate (τ, then −1/τ and −(inf/τ)/(−1/τ)) where two or three do, and where one gate's
    /// exponential is a constant over another's, a division replaces it. The two forms agree to
    /// round-off: `inf` within 4.5e-16, `rate` within 8e-15 relative (tested below).
    fn rates(v: f64, ex: &mut impl RateExp) -> [(f64, f64); 2];
    /// `(inf, tau)` of each gate at `v` exactly as the mod file's `rates()` computes them, for
    /// [`Numerics::Exact`].
    ///
    /// Both rate functions take NEURON's `hoc_Exp` from `ex`, must call it exactly
    /// [`Kinetics::N_EXP`] (or [`Kinetics::N_EXP_MOD`]) times whatever `v` is, be branch-free
    /// apart from selects and be `#[inline(always)]`, so that the staged update of
    /// the staged update (`AdvanceGates`) can split them around their exponentials.
    fn mod_rates(v: f64, ex: &mut impl RateExp) -> [(f64, f64); 2];
    /// Conductance (S/cm²) from `gbar` and the gates, in the mod file's operation order.
    fn conductance(gbar: f64, gates: [f64; 2]) -> f64;
}

/// All instances of one gate channel: parameter 0 is `gbar`, parameter 1 (non-specific channels
/// only) the reversal potential.
#[derive(Debug)]
pub struct GateChannel<K: Kinetics> {
    nodes: NodeList,
    runs: Runs,
    numerics: Numerics,
    gbar: Vec<f64>,
    /// `gbar` once per run where every run's instances share it ([`PerRun`]).
    gbar_run: PerRun,
    erev: Vec<f64>,
    _k: std::marker::PhantomData<K>,
}

impl<K: Kinetics> GateChannel<K> {
    /// Builds the block (catalogue constructor).
    pub fn build(inst: Instances, env: &BuildEnv) -> Box<dyn DensityMechanism> {
        let mut values = inst.values.into_iter();
        let gbar = values.next().unwrap_or_default();
        let erev = values.next().unwrap_or_default();
        let runs = Runs::of(&inst.nodes);
        Box::new(GateChannel::<K> {
            gbar_run: PerRun::of(&gbar, runs.width()),
            runs,
            nodes: NodeList::new(inst.nodes),
            numerics: env.numerics,
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
        self.nodes.as_slice()
    }
    fn variables(&self) -> &'static [&'static str] {
        K::VARS
    }
    fn initialize(&self, _env: &Env, v: &[f64], _ions: &mut IonState, vars: &mut [f64]) {
        let n = self.nodes.len();
        for (j, &node) in self.nodes.as_slice().iter().enumerate() {
            let r = match self.numerics {
                Numerics::Fast => K::rates(v[node], &mut DirectExp::<FormExp<K, Fast>>::default()),
                Numerics::Exact => {
                    K::mod_rates(v[node], &mut DirectExp::<FormExp<K, ModFile>>::default())
                }
            };
            for (k, &(inf, _)) in r.iter().enumerate().take(K::N_GATES) {
                vars[k * n + j] = inf;
            }
        }
    }
    #[inline]
    fn current(&self, env: &Env, v: &[f64], ions: &mut IonState, m: &mut Matrix, vars: &mut [f64]) {
        let n = self.nodes.len();
        let (gates, rest) = vars.split_at_mut(K::N_GATES * n);
        let (g_out, i_out) = rest.split_at_mut(n);
        let (g0, g1) = if K::N_GATES == 2 {
            gates.split_at(n)
        } else {
            (&gates[..], &gates[..])
        };
        let (erev, acc) = split_ion(ions, K::ION, &self.erev);
        let nonspecific = K::ION == Ion::NonSpecific;
        // Node arrays cut to one common length, below which `within` clamps the indices.
        let len = common_len(&[
            v.len(),
            m.rhs.len(),
            m.d.len(),
            if nonspecific { usize::MAX } else { erev.len() },
            acc.as_deref().map_or(usize::MAX, <[f64]>::len),
        ]);
        let (v, mut m, mut acc) = (&v[..len], m.cut(len), acc.map(|a| &mut a[..len]));
        // The reversal potential per node, or per instance for a non-specific current.
        let erev = &erev[..if nonspecific { n } else { len }];
        let (gbar, g0, g1) = (&self.gbar[..n], &g0[..n], &g1[..n]);
        let (g_out, i_out) = (&mut g_out[..n], &mut i_out[..n]);
        if self.runs.width() > 1 {
            return dispatch(GateCurrentRuns {
                conductance: K::conductance,
                runs: self.runs.width(),
                starts: self.runs.starts(),
                v,
                m,
                erev,
                nonspecific,
                acc,
                gbar: self.gbar_run.lanes(gbar),
                g: [g0, g1],
                out: env.outputs.then_some([g_out, i_out]),
            });
        }
        for (j, node) in self.nodes.within(len).enumerate() {
            let vn = v[node];
            let e = if nonspecific { erev[j] } else { erev[node] };
            let g = K::conductance(gbar[j], [g0[j], g1[j]]);
            let i = m.add_ohmic(node, g, vn, e);
            if let Some(a) = acc.as_deref_mut() {
                a[node] += i;
            }
            if env.outputs {
                g_out[j] = g;
                i_out[j] = i;
            }
        }
    }
    fn advance(&self, env: &Env, v: &[f64], _ions: &mut IonState, vars: &mut [f64]) {
        let index = self.runs.index(self.nodes.as_slice());
        match self.numerics {
            Numerics::Fast => dispatch(AdvanceGates::<K, Fast>::new(index, v, env.dt, vars)),
            Numerics::Exact => dispatch(AdvanceGates::<K, ModFile>::new(index, v, env.dt, vars)),
        }
    }
}

/// The widest `W` of 16, 8, 4, 2 for which `nodes` come in runs of `W` consecutive nodes, each
/// starting at a multiple of `W` (the instances of a batched model,
/// [`crate::solver::CellModel::batched`]); 1 when there is none. Instances of such a run touch
/// `W` distinct, contiguous nodes, so a kernel may process them as one vector with the same
/// bits.
pub fn lane_runs(nodes: &[usize]) -> usize {
    [16, 8, 4, 2]
        .into_iter()
        .find(|&w| {
            !nodes.is_empty()
                && nodes.len() % w == 0
                && nodes
                    .chunks_exact(w)
                    .all(|c| c[0] % w == 0 && c.iter().enumerate().all(|(l, &x)| x == c[0] + l))
        })
        .unwrap_or(1)
}

/// A gate channel's current over runs of `W` instances on contiguous nodes ([`lane_runs`]):
/// per instance the operations of the one-at-a-time loop, as vectors. The conductance is
/// `conductance(gbar, gates)` ([`Kinetics::conductance`], or a channel's own).
pub(crate) struct GateCurrentRuns<'a, C> {
    pub conductance: C,
    pub runs: usize,
    /// First node of every run ([`Runs::starts`]).
    pub starts: &'a [usize],
    pub v: &'a [f64],
    pub m: Matrix<'a>,
    pub erev: &'a [f64],
    pub nonspecific: bool,
    pub acc: Option<&'a mut [f64]>,
    pub gbar: Lanes<'a>,
    pub g: [&'a [f64]; 2],
    /// Where the conductances and currents go, if anything reads them ([`Env::outputs`]).
    pub out: Option<[&'a mut [f64]; 2]>,
}

impl<C: Fn(f64, [f64; 2]) -> f64> LaneKernel for GateCurrentRuns<'_, C> {
    fn width(&self) -> usize {
        self.runs
    }
    #[inline(always)]
    fn go<const W: usize>(mut self) {
        let len = self.v.len();
        for (r, &start) in self.starts.iter().enumerate() {
            // Runs lie below the arrays' common length `len` (the nodes were checked when the
            // model was built); the clamp makes that visible to the bounds checks.
            let n0 = start.min(len.saturating_sub(W));
            let j0 = r * W;
            let v = &self.v[n0..n0 + W];
            let e = if self.nonspecific {
                &self.erev[j0..j0 + W]
            } else {
                &self.erev[n0..n0 + W]
            };
            // Local copies: they cannot alias the other arrays, so the lane loops vectorise.
            let (v, e) = (copy::<W>(v), copy::<W>(e));
            let gbar = self.gbar.run::<W>(r);
            let (g0, g1) = (
                copy::<W>(&self.g[0][j0..j0 + W]),
                copy::<W>(&self.g[1][j0..j0 + W]),
            );
            let mut g = [0.0; W];
            for l in 0..W {
                g[l] = (self.conductance)(gbar[l], [g0[l], g1[l]]);
            }
            let i = add_ohmic_lanes(&mut self.m, n0, &v, &g, &e);
            if let Some([g_out, i_out]) = self.out.as_mut() {
                g_out[j0..j0 + W].copy_from_slice(&g);
                i_out[j0..j0 + W].copy_from_slice(&i);
            }
            if let Some(a) = self.acc.as_deref_mut() {
                let a = &mut a[n0..n0 + W];
                let mut x = copy::<W>(a);
                for l in 0..W {
                    x[l] += i[l];
                }
                a.copy_from_slice(&x);
            }
        }
    }
}

/// `g·(v − e)` of `W` instances on the nodes from `n0` on, added to `m` as
/// [`Matrix::add_ohmic`] adds it one instance at a time; the currents.
#[inline(always)]
fn add_ohmic_lanes<const W: usize>(
    m: &mut Matrix,
    n0: usize,
    v: &[f64; W],
    g: &[f64; W],
    e: &[f64; W],
) -> [f64; W] {
    // Local copies of the rows: they cannot alias the other arrays, so the lane loop
    // vectorises.
    let (rhs, d) = (&mut m.rhs[n0..n0 + W], &mut m.d[n0..n0 + W]);
    let (mut rl, mut dl) = (copy::<W>(rhs), copy::<W>(d));
    let mut i = [0.0; W];
    // One loop per numerics, so that the slope's form is fixed inside it.
    for numerics in [Numerics::Fast, Numerics::Exact] {
        if numerics != m.numerics {
            continue;
        }
        let mut lanes = Matrix {
            rhs: &mut rl,
            d: &mut dl,
            numerics,
        };
        for l in 0..W {
            i[l] = lanes.add_ohmic(l, g[l], v[l], e[l]);
        }
    }
    rhs.copy_from_slice(&rl);
    d.copy_from_slice(&dl);
    i
}

/// An ohmic current `g·(v − e)` with per-instance `g` and `e` over runs of `W` instances on
/// contiguous nodes ([`lane_runs`]), as [`Matrix::add_ohmic`] adds it one instance at a time.
pub(crate) struct OhmicRuns<'a> {
    pub runs: usize,
    /// First node of every run ([`Runs::starts`]).
    pub starts: &'a [usize],
    pub v: &'a [f64],
    pub m: Matrix<'a>,
    pub g: Lanes<'a>,
    pub e: Lanes<'a>,
    /// Where the currents go, if anything reads them ([`Env::outputs`]).
    pub i_out: Option<&'a mut [f64]>,
}

impl LaneKernel for OhmicRuns<'_> {
    fn width(&self) -> usize {
        self.runs
    }
    #[inline(always)]
    fn go<const W: usize>(mut self) {
        let len = self.v.len();
        for (r, &start) in self.starts.iter().enumerate() {
            let n0 = start.min(len.saturating_sub(W));
            let j0 = r * W;
            // Local copies, so that the lane loops vectorise (see `GateCurrentRuns`).
            let v = copy::<W>(&self.v[n0..n0 + W]);
            let (g, e) = (self.g.run::<W>(r), self.e.run::<W>(r));
            let i = add_ohmic_lanes(&mut self.m, n0, &v, &g, &e);
            if let Some(i_out) = self.i_out.as_deref_mut() {
                i_out[j0..j0 + W].copy_from_slice(&i);
            }
        }
    }
}

/// The instances of a block of runs ([`lane_runs`] of its nodes): their width and the first
/// node of every run, which is all the run-wise loops read (one index per run instead of one per
/// instance: a batch's node lists are otherwise as long as all its lanes' instances together).
#[derive(Debug, Clone, Default)]
pub(crate) struct Runs {
    width: usize,
    starts: Vec<usize>,
}

impl Runs {
    /// The runs of `nodes` (width 1, no starts, when they do not form runs).
    pub fn of(nodes: &[usize]) -> Self {
        let width = lane_runs(nodes);
        let starts = if width > 1 {
            nodes.iter().step_by(width).copied().collect()
        } else {
            Vec::new()
        };
        Runs { width, starts }
    }
    /// Instances per run (1: no runs).
    pub fn width(&self) -> usize {
        self.width
    }
    /// The first node of every run.
    pub fn starts(&self) -> &[usize] {
        &self.starts
    }
    /// How to reach the nodes of the instances whose nodes are `nodes`.
    pub fn index<'a>(&'a self, nodes: &'a [usize]) -> Index<'a> {
        if self.width > 1 {
            Index::Runs(self.width, &self.starts)
        } else {
            Index::Each(nodes)
        }
    }
}

/// The nodes of a block's instances, as [`gather`] and [`scatter`] reach them.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Index<'a> {
    /// One node per instance.
    Each(&'a [usize]),
    /// Runs of the given width on contiguous nodes, by first node ([`Runs`]).
    Runs(usize, &'a [usize]),
}

impl<'a> Index<'a> {
    /// Number of instances.
    #[inline(always)]
    pub fn len(self) -> usize {
        match self {
            Index::Each(n) => n.len(),
            Index::Runs(w, s) => w * s.len(),
        }
    }
    /// Instances `lo..hi` (whole runs).
    #[inline(always)]
    pub fn part(self, lo: usize, hi: usize) -> Index<'a> {
        match self {
            Index::Each(n) => Index::Each(&n[lo..hi]),
            Index::Runs(w, s) => Index::Runs(w, &s[lo / w..hi / w]),
        }
    }
}

/// `out[j] = x[node of instance j]`, run by run where the instances form runs.
#[inline(always)]
pub(crate) fn gather(out: &mut [f64], idx: Index, x: &[f64]) {
    #[inline(always)]
    fn by_runs<const W: usize>(out: &mut [f64], starts: &[usize], x: &[f64]) {
        for (o, &s) in out.chunks_exact_mut(W).zip(starts) {
            o.copy_from_slice(&x[s..s + W]);
        }
    }
    match idx {
        Index::Runs(16, s) => by_runs::<16>(out, s, x),
        Index::Runs(8, s) => by_runs::<8>(out, s, x),
        Index::Runs(4, s) => by_runs::<4>(out, s, x),
        Index::Runs(2, s) => by_runs::<2>(out, s, x),
        Index::Runs(w, _) => panic!("runs of {w} instances"),
        Index::Each(nodes) => {
            for (o, &node) in out.iter_mut().zip(nodes) {
                *o = x[node];
            }
        }
    }
}

/// `x[node of instance j] = values[j]`, as [`gather`] reads them.
#[inline(always)]
pub(crate) fn scatter(values: &[f64], idx: Index, x: &mut [f64]) {
    #[inline(always)]
    fn by_runs<const W: usize>(values: &[f64], starts: &[usize], x: &mut [f64]) {
        for (v, &s) in values.chunks_exact(W).zip(starts) {
            x[s..s + W].copy_from_slice(v);
        }
    }
    match idx {
        Index::Runs(16, s) => by_runs::<16>(values, s, x),
        Index::Runs(8, s) => by_runs::<8>(values, s, x),
        Index::Runs(4, s) => by_runs::<4>(values, s, x),
        Index::Runs(2, s) => by_runs::<2>(values, s, x),
        Index::Runs(w, _) => panic!("runs of {w} instances"),
        Index::Each(nodes) => {
            for (&v, &node) in values.iter().zip(nodes) {
                x[node] = v;
            }
        }
    }
}

/// A per-instance parameter once per run of [`lane_runs`] where every run's instances share its
/// value (the lanes of a batch: the same cell, so the same parameters), so that a batch's
/// current loops read one value per run instead of one per lane.
#[derive(Debug, Default)]
pub(crate) struct PerRun(Option<Vec<f64>>);

impl PerRun {
    /// `values` once per run of `runs` instances, if every run's values are equal (bit for bit).
    pub fn of(values: &[f64], runs: usize) -> Self {
        let shared = runs > 1
            && values.len() % runs == 0
            && values
                .chunks_exact(runs)
                .all(|c| c.iter().all(|x| x.to_bits() == c[0].to_bits()));
        PerRun(shared.then(|| values.iter().step_by(runs).copied().collect()))
    }
    /// The lanes' values of the parameter whose per-instance values are `each`.
    pub fn lanes<'a>(&'a self, each: &'a [f64]) -> Lanes<'a> {
        match &self.0 {
            Some(run) => Lanes::Run(run),
            None => Lanes::Each(each),
        }
    }
}

/// A parameter's values as a run-wise loop reads them.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Lanes<'a> {
    /// One value per instance.
    Each(&'a [f64]),
    /// One value per run, shared by its instances ([`PerRun`]).
    Run(&'a [f64]),
}

impl Lanes<'_> {
    /// The values of run `r`'s `W` instances.
    #[inline(always)]
    pub fn run<const W: usize>(&self, r: usize) -> [f64; W] {
        match *self {
            Lanes::Each(x) => copy::<W>(&x[r * W..r * W + W]),
            Lanes::Run(x) => [x[r]; W],
        }
    }
}

/// The first `W` values of `x` as an array.
#[inline(always)]
pub(crate) fn copy<const W: usize>(x: &[f64]) -> [f64; W] {
    x[..W].try_into().expect("W values")
}

/// Instances per block of the vectorised gate update (their voltages are gathered into a stack
/// buffer first, so that the rate arithmetic runs over contiguous lanes).
const BLOCK: usize = 64;

/// Most exponentials any [`Kinetics::rates`] evaluates.
pub const MAX_EXP: usize = 6;

/// The exponential as a rates function sees it: NEURON's `hoc_Exp`, either evaluated on the
/// spot or staged by the staged update (`AdvanceGates`).
pub trait RateExp {
    /// `hoc_Exp(x)` (or, while recording, a placeholder).
    fn exp(&mut self, x: f64) -> f64;
}

/// One of a channel's two rate forms and the cnexp update that goes with it.
trait Form<K: Kinetics> {
    /// Exponentials per rates call.
    const N_EXP: usize;
    /// `(inf, r)` of each gate.
    fn rates(v: f64, ex: &mut impl RateExp) -> [(f64, f64); 2];
    /// The cnexp update of gate `x` from its `(inf, r)`.
    fn update(x: f64, inf: f64, r: f64, dt: f64, hoc_exp: impl Fn(f64) -> f64) -> f64;
    /// Whether `r` is a rate whose update relaxes by
    /// [`relax_fraction`](super::relax_fraction), which the staged kernel then takes through
    /// [`relax_series`] alone for blocks that stay below its limit.
    const SERIES: bool;
    /// The exponential of this form's kernels, given the one the dispatcher chose (`E`).
    type Ex<E: Exp>: Exp;
}

/// The scalar exponential of form `F` (as the kernels' without vector units).
type FormExp<K, F> = <F as Form<K>>::Ex<LibmExp>;

/// [`Numerics::Fast`]: [`Kinetics::rates`], `r` = 1/τ.
struct Fast;

impl<K: Kinetics> Form<K> for Fast {
    const N_EXP: usize = K::N_EXP;
    #[inline(always)]
    fn rates(v: f64, ex: &mut impl RateExp) -> [(f64, f64); 2] {
        K::rates(v, ex)
    }
    #[inline(always)]
    fn update(x: f64, inf: f64, rate: f64, dt: f64, hoc_exp: impl Fn(f64) -> f64) -> f64 {
        cnexp_rate_by(x, inf, rate, dt, hoc_exp)
    }
    const SERIES: bool = true;
    /// The table-free exponential: fully vectorised, the same bits in every instruction set.
    /// With AVX-512 the table version's per-lane loads made the rate loops the slowest part of
    /// a trial (measured in `cargo bench --bench throughput`, see docs/architecture.md).
    type Ex<E: Exp> = PolyExp;
}

/// [`Numerics::Exact`]: [`Kinetics::mod_rates`], `r` = τ, nocmodl's cnexp form.
struct ModFile;

impl<K: Kinetics> Form<K> for ModFile {
    const N_EXP: usize = K::N_EXP_MOD;
    #[inline(always)]
    fn rates(v: f64, ex: &mut impl RateExp) -> [(f64, f64); 2] {
        K::mod_rates(v, ex)
    }
    #[inline(always)]
    fn update(x: f64, inf: f64, tau: f64, dt: f64, hoc_exp: impl Fn(f64) -> f64) -> f64 {
        cnexp_gate_by(x, inf, tau, dt, hoc_exp)
    }
    const SERIES: bool = false;
    /// NEURON's exponential (the C library's bits).
    type Ex<E: Exp> = E;
}

/// Evaluates each exponential when asked.
struct DirectExp<E>(std::marker::PhantomData<E>);

impl<E> Default for DirectExp<E> {
    fn default() -> Self {
        DirectExp(std::marker::PhantomData)
    }
}

impl<E: Exp> RateExp for DirectExp<E> {
    #[inline(always)]
    fn exp(&mut self, x: f64) -> f64 {
        hoc_exp_with::<E>(x)
    }
}

/// First stage: notes the argument of the `W`-th exponential (the rest of the rates
/// arithmetic is dead and optimised away).
struct RecordExp<const W: usize> {
    k: usize,
    arg: f64,
}

impl<const W: usize> RateExp for RecordExp<W> {
    #[inline(always)]
    fn exp(&mut self, x: f64) -> f64 {
        if self.k == W {
            self.arg = x;
        }
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
    fn exp(&mut self, _x: f64) -> f64 {
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
/// each block of instances goes through short loops instead — one per rate exponential (its
/// argument and its value), then one for the rest of the rates and the cnexp updates — whose
/// iterations are independent and overlap. Every value is computed by the same operations as
/// in the one-loop form, so the results are identical to the bit (tested below against that
/// form with the C library's `exp`). Measured on the reference replay: 1.93 → 1.43 s CPU,
/// together with skipping glibc's underflow-side path where it cannot matter.
struct AdvanceGates<'a, K, F> {
    /// The instances' nodes.
    index: Index<'a>,
    v: &'a [f64],
    dt: f64,
    vars: &'a mut [f64],
    _k: std::marker::PhantomData<(K, F)>,
}

impl<'a, K, F> AdvanceGates<'a, K, F> {
    fn new(index: Index<'a>, v: &'a [f64], dt: f64, vars: &'a mut [f64]) -> Self {
        AdvanceGates {
            index,
            v,
            dt,
            vars,
            _k: std::marker::PhantomData,
        }
    }
}

impl<K: Kinetics, F: Form<K>> Kernel for AdvanceGates<'_, K, F> {
    type Output = ();
    #[inline(always)]
    fn run<E: Exp>(self) {
        let n = self.index.len();
        let (x0, rest) = self.vars.split_at_mut(n);
        let x1 = &mut rest[..if K::N_GATES == 2 { n } else { 0 }];
        let mut vb = [0.0; BLOCK];
        let mut ex = [[0.0; BLOCK]; MAX_EXP];
        let mut relax = RelaxBuffers::default();
        for start in (0..n).step_by(BLOCK) {
            let len = (n - start).min(BLOCK);
            let lanes = start..start + len;
            gather(
                &mut vb[..len],
                self.index.part(lanes.start, lanes.end),
                self.v,
            );
            rate_exponentials::<K, F, E>(&vb[..len], &mut ex);
            let x1 = if K::N_GATES == 2 {
                &mut x1[lanes.clone()]
            } else {
                &mut []
            };
            cnexp_update::<K, F, E>(&vb[..len], &ex, &mut relax, self.dt, &mut x0[lanes], x1);
        }
    }
}

/// Stages 1 and 2: `ex[k][j]` = the `k`-th exponential of the rates at `v[j]`.
#[inline(always)]
fn rate_exponentials<K: Kinetics, F: Form<K>, E: Exp>(v: &[f64], ex: &mut [[f64; BLOCK]; MAX_EXP]) {
    let [e0, e1, e2, e3, e4, e5] = ex;
    rate_exponential::<K, F, E, 0>(v, e0);
    rate_exponential::<K, F, E, 1>(v, e1);
    rate_exponential::<K, F, E, 2>(v, e2);
    rate_exponential::<K, F, E, 3>(v, e3);
    rate_exponential::<K, F, E, 4>(v, e4);
    rate_exponential::<K, F, E, 5>(v, e5);
}

/// `out[j]` = the `W`-th exponential of the rates at `v[j]`, its argument and the exponential in
/// one short loop (the argument's division and the exponential's arithmetic overlap).
#[inline(always)]
fn rate_exponential<K: Kinetics, F: Form<K>, E: Exp, const W: usize>(
    v: &[f64],
    out: &mut [f64; BLOCK],
) {
    if W >= F::N_EXP {
        return;
    }
    let n = v.len().min(BLOCK);
    let arg = |vj: f64| {
        let mut rec = RecordExp::<W> { k: 0, arg: 0.0 };
        F::rates(vj, &mut rec);
        rec.arg
    };
    let mut low = 0u32;
    for (o, &vj) in out[..n].iter_mut().zip(&v[..n]) {
        let x = arg(vj);
        low += u32::from(x <= -512.0);
        *o = hoc_exp_above_m512::<F::Ex<E>>(x);
    }
    if low > 0 {
        for (o, &vj) in out[..n].iter_mut().zip(&v[..n]) {
            *o = hoc_exp_with::<F::Ex<E>>(arg(vj));
        }
    }
}

/// Stage 3: the rest of the rates from the exponentials and the cnexp update of each gate
/// ([`Form::update`]).
///
/// The exponential skips glibc's underflow-side path for arguments at or below −512: there
/// both paths give a positive number below 2^−54 (0 below −700), so `1 − e` is exactly 1 either
/// way and the update has the same bits.
#[inline(always)]
fn cnexp_update<K: Kinetics, F: Form<K>, E: Exp>(
    v: &[f64],
    ex: &[[f64; BLOCK]; MAX_EXP],
    relax: &mut RelaxBuffers,
    dt: f64,
    x0: &mut [f64],
    x1: &mut [f64],
) {
    // x0 and x1 are separate parameters: their `noalias` survives inlining, which lets the
    // loop vectorise.
    let n = v.len().min(BLOCK);
    let (x0, x1) = (&mut x0[..n], &mut x1[..if K::N_GATES == 2 { n } else { 0 }]);
    let rates = |j: usize| {
        let mut rep = ReplayExp {
            values: [0.0; MAX_EXP],
            k: 0,
        };
        for k in 0..F::N_EXP {
            rep.values[k] = ex[k][j];
        }
        F::rates(v[j], &mut rep)
    };
    if !F::SERIES {
        for j in 0..n {
            let [(inf0, r0), (inf1, r1)] = rates(j);
            x0[j] = F::update(x0[j], inf0, r0, dt, hoc_exp_above_m512::<F::Ex<E>>);
            if K::N_GATES == 2 {
                x1[j] = F::update(x1[j], inf1, r1, dt, hoc_exp_above_m512::<F::Ex<E>>);
            }
        }
        return;
    }
    // Steady states and rates first, then each gate's update, through the series alone where
    // every q = dt·rate of the block allows it (slow gates nearly always do).
    let RelaxBuffers { inf, rate } = relax;
    let mut above = [0u32; 2];
    for j in 0..n {
        for (g, (inf_g, r)) in rates(j).into_iter().enumerate().take(K::N_GATES) {
            inf[g][j] = inf_g;
            rate[g][j] = r;
            let q = dt * r;
            // NaN counts as above the limit.
            above[g] += u32::from(q.is_nan() || q > SERIES_LIMIT);
        }
    }
    relax_gate::<K, F, E>(x0, &inf[0], &rate[0], dt, above[0] == 0);
    if K::N_GATES == 2 {
        relax_gate::<K, F, E>(x1, &inf[1], &rate[1], dt, above[1] == 0);
    }
}

/// Per-block steady states and rates of both gates ([`Numerics::Fast`]'s update), kept across
/// the blocks of a call so that they are not zeroed for every block.
struct RelaxBuffers {
    inf: [[f64; BLOCK]; 2],
    rate: [[f64; BLOCK]; 2],
}

impl Default for RelaxBuffers {
    fn default() -> Self {
        RelaxBuffers {
            inf: [[0.0; BLOCK]; 2],
            rate: [[0.0; BLOCK]; 2],
        }
    }
}

/// [`Form::update`] of one gate over one block; when `series` says every `dt·rate` is within
/// [`SERIES_LIMIT`], its relaxation fraction is [`relax_series`] alone (the value
/// [`relax_fraction`](super::relax_fraction) selects there), without the exponential.
#[inline(always)]
fn relax_gate<K: Kinetics, F: Form<K>, E: Exp>(
    x: &mut [f64],
    inf: &[f64; BLOCK],
    rate: &[f64; BLOCK],
    dt: f64,
    series: bool,
) {
    let n = x.len().min(BLOCK);
    let (x, inf, rate) = (&mut x[..n], &inf[..n], &rate[..n]);
    if series {
        for j in 0..n {
            x[j] += relax_series(dt * rate[j]) * (inf[j] - x[j]);
        }
    } else {
        for j in 0..n {
            x[j] = F::update(x[j], inf[j], rate[j], dt, hoc_exp_above_m512::<F::Ex<E>>);
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

#[cfg(test)]
mod tests {
    use super::*;

    /// Counts the exponentials a rates function asks for (NEURON's `hoc_Exp`, or that with `E`).
    struct CountExp<E>(usize, std::marker::PhantomData<E>);

    impl<E: Exp> RateExp for CountExp<E> {
        fn exp(&mut self, x: f64) -> f64 {
            self.0 += 1;
            hoc_exp_with::<E>(x)
        }
    }

    fn count<E>() -> CountExp<E> {
        CountExp(0, std::marker::PhantomData)
    }

    /// The staged, vectorised update must give exactly the bits of the one-loop form with the
    /// form's scalar `exp` (the C library's, or [`PolyExp`] for the fast form), also where the
    /// staging takes its rare paths: exponent arguments at or below −512 and below −700, NaN, and
    /// the singular points of the rates.
    fn check<K: Kinetics, F: Form<K>>() {
        let mut v: Vec<f64> = (0..300).map(|i| -120.0 + 0.61 * i as f64).collect();
        v.extend([
            -38.0, -66.0, -27.0, -154.9, -17.0, -64.4, -52.6,
            -60.0, // K_Pst's branch point (v + 10 = −50)
        ]);
        v.extend([1e6, -1e6, f64::NAN, 3.0]);
        // Exponent arguments through (−700, −512] and below for every rate's scale.
        v.extend((0..400).flat_map(|i| [1000.0 + 300.0 * i as f64, -1000.0 - 300.0 * i as f64]));
        let n = v.len();
        let dt = 0.025;
        let x_init: Vec<f64> = (0..K::N_GATES * n)
            .map(|i| (i % 17) as f64 / 16.0)
            .collect();

        let mut want = x_init.clone();
        for (j, &vj) in v.iter().enumerate() {
            let mut count = count::<FormExp<K, F>>();
            let r = F::rates(vj, &mut count);
            assert_eq!(count.0, F::N_EXP, "{}: N_EXP at v = {vj}", K::NAME);
            for (g, &(inf, r)) in r.iter().enumerate().take(K::N_GATES) {
                want[g * n + j] =
                    F::update(want[g * n + j], inf, r, dt, hoc_exp_with::<FormExp<K, F>>);
            }
        }

        let nodes: Vec<usize> = (0..n).collect();
        // The vector kernels where the CPU has them, and the scalar ones everywhere; the
        // voltages read node by node and, where the nodes form runs, run by run.
        let in_runs = Runs::of(&nodes[..n - n % 8]);
        assert_eq!(in_runs.width(), 8);
        for (vector, runs) in [true, false]
            .into_iter()
            .flat_map(|x| [(x, Runs::default()), (x, in_runs.clone())])
        {
            // The first `m` instances (whole runs where there are runs), gate `g` at `g·m`.
            let m = if runs.width() > 1 { n - n % 8 } else { n };
            let mut vars = vec![0.0; (K::N_GATES + 2) * m];
            for g in 0..K::N_GATES {
                vars[g * m..(g + 1) * m].copy_from_slice(&x_init[g * n..g * n + m]);
            }
            let index = runs.index(&nodes[..m]);
            let kernel = AdvanceGates::<K, F>::new(index, &v, dt, &mut vars);
            if vector {
                dispatch(kernel);
            } else {
                kernel.run::<LibmExp>();
            }
            for g in 0..K::N_GATES {
                for j in 0..m {
                    let (got, w) = (vars[g * m + j], want[g * n + j]);
                    assert!(
                        got.to_bits() == w.to_bits() || (got.is_nan() && w.is_nan()),
                        "{} gate {g} at v = {} (vector {vector}, runs {}): {got:e} vs {w:e}",
                        K::NAME,
                        v[j],
                        runs.width()
                    );
                }
            }
        }
    }

    /// The rearranged rates must agree with the mod file's: `inf` within 4.5e-16 (it lies in
    /// [0, 1]) and `rate` with `1/tau` within 8e-15 relative, over the voltages a cell reaches.
    /// Near a singular point that the mod files step around (`x/(1 − e^x)` forms) both forms
    /// cancel in `1 − e`, NEURON's twice and independently, so there they agree only to that
    /// cancellation's round-off, which grows as 1/|x|: the tolerance grows likewise within 1 mV
    /// of those points (checked down to |x| = 1e-9).
    fn check_against_mod_file<K: Kinetics>() {
        const SINGULAR: [f64; 7] = [-38.0, -66.0, -27.0, -154.9, -17.0, -64.4, -60.0];
        let grid = (0..=40_000).map(|i| -150.0 + 0.005 * i as f64);
        let near = SINGULAR
            .into_iter()
            .flat_map(|s| [s, s + 1e-9, s - 1e-9, s + 1e-4]);
        let cancellation = |v: f64| {
            let d = SINGULAR.iter().map(|s| (v - s).abs()).fold(1.0, f64::min);
            if d == 0.0 {
                1e4 // the mod files' step of 1e-4 mV
            } else {
                1.0 / d
            }
        };
        let (mut worst_inf, mut worst_rate) = (0.0f64, 0.0f64);
        for vj in grid.chain(near) {
            let (tol_inf, tol_rate) = (4.5e-16 * cancellation(vj), 8e-15 * cancellation(vj));
            let fast = K::rates(vj, &mut count::<LibmExp>());
            let slow = K::mod_rates(vj, &mut count::<LibmExp>());
            for g in 0..K::N_GATES {
                let (inf, rate) = fast[g];
                let (inf_m, tau_m) = slow[g];
                let d_inf = (inf - inf_m).abs();
                let d_rate = (rate * tau_m - 1.0).abs();
                worst_inf = worst_inf.max(d_inf / cancellation(vj));
                worst_rate = worst_rate.max(d_rate / cancellation(vj));
                assert!(
                    d_inf <= tol_inf && d_rate <= tol_rate,
                    "{} gate {g} at v = {vj}: inf {inf:e} vs {inf_m:e}, rate {rate:e} vs 1/{tau_m:e}",
                    K::NAME
                );
            }
        }
        eprintln!(
            "{}: |Δinf| ≤ {worst_inf:.1e}, |rate·τ − 1| ≤ {worst_rate:.1e} (times 1 mV/distance near singular points)",
            K::NAME
        );
    }

    #[test]
    fn rates_equal_mod_file_rates() {
        check_against_mod_file::<ca_hva::CaHva>();
        check_against_mod_file::<ca_lvast::CaLvast>();
        check_against_mod_file::<ih::Ih>();
        check_against_mod_file::<im::Im>();
        check_against_mod_file::<k_pst::KPst>();
        check_against_mod_file::<k_tst::KTst>();
        check_against_mod_file::<nap_et2::NapEt2>();
        check_against_mod_file::<nata_t::NaTaT>();
        check_against_mod_file::<skv3_1::Skv31>();
    }

    #[test]
    fn staged_gate_update_equals_one_loop_form() {
        fn both<K: Kinetics>() {
            check::<K, Fast>();
            check::<K, ModFile>();
        }
        both::<ca_hva::CaHva>();
        both::<ca_lvast::CaLvast>();
        both::<ih::Ih>();
        both::<im::Im>();
        both::<k_pst::KPst>();
        both::<k_tst::KTst>();
        both::<nap_et2::NapEt2>();
        both::<nata_t::NaTaT>();
        both::<skv3_1::Skv31>();
    }

    /// The currents of `NaTa_t` (ion current), `Ih` (own reversal), `SK_E2` and `pas` at 16
    /// nodes, in runs as a batch lays them out (`in_runs`) or not, with
    /// and without outputs: the rows, diagonals and ion currents of all four must be the same
    /// bits, and the recorded conductances and currents where outputs are asked for.
    #[test]
    fn run_wise_currents_equal_one_at_a_time_with_and_without_outputs() {
        use super::super::{Ions, Matrix};
        let n = 16;
        // Two cells' worth of parameters: lanes of a run share them (a batch), or do not.
        let param = |j: usize, shared: bool, base: f64| {
            let i = if shared { j / 8 } else { j };
            base * (1.0 + 0.37 * i as f64)
        };
        let run = |numerics: Numerics, shared: bool, outputs: bool, in_runs: bool| {
            let nodes: Vec<usize> = if in_runs {
                (0..n).collect()
            } else {
                // Not in runs: the same instances, reversed pairwise.
                (0..n).map(|j| j ^ 1).collect()
            };
            let at = |j: usize| nodes[j];
            let env_b = BuildEnv {
                dt: 0.025,
                celsius: 34.0,
                numerics,
            };
            let inst = |params: Vec<Vec<f64>>| Instances {
                nodes: nodes.clone(),
                values: params,
                area_um2: vec![100.0; n],
            };
            let p = |base: f64| {
                (0..n)
                    .map(|j| param(at(j), shared, base))
                    .collect::<Vec<_>>()
            };
            let blocks = [
                GateChannel::<nata_t::NaTaT>::build(inst(vec![p(0.2)]), &env_b),
                GateChannel::<ih::Ih>::build(inst(vec![p(1e-4), p(-45.0)]), &env_b),
                sk_e2::SkE2::build(inst(vec![p(1e-3), p(1.0)]), &env_b),
                pas::Pas::build(inst(vec![p(3e-5), p(-70.0)]), &env_b),
            ];
            let env = Env {
                dt: 0.025,
                t: 0.0,
                celsius: 34.0,
                outputs,
            };
            let v: Vec<f64> = (0..n).map(|i| -80.0 + 7.3 * i as f64).collect();
            let mut ions = IonState::initial(&Ions::defaults(n), &[], 34.0);
            ions.cai = (0..n).map(|i| 1e-4 * (1.0 + i as f64)).collect();
            let (mut rhs, mut d) = (vec![0.5; n], vec![2.0; n]);
            let mut out = Vec::new();
            for b in &blocks {
                // Variable `k` of the instance at node `i`: the same in both layouts.
                let mut vars: Vec<f64> = (0..b.variables().len() * n)
                    .map(|k| 0.05 + ((k - k % n + at(k % n)) % 13) as f64 / 14.0)
                    .collect();
                let before = vars.clone();
                let mut m = Matrix {
                    rhs: &mut rhs,
                    d: &mut d,
                    numerics,
                };
                b.current(&env, &v, &mut ions, &mut m, &mut vars);
                // In node order, so that the two layouts compare.
                let by_node = |k: usize, x: &[f64]| {
                    let mut y = vec![0.0; n];
                    for j in 0..n {
                        y[at(j)] = x[k * n + j];
                    }
                    y
                };
                let vars_out = (0..b.variables().len()).flat_map(|k| by_node(k, &vars));
                if !outputs {
                    assert_eq!(
                        vars,
                        before,
                        "{}: variables written without outputs",
                        b.name()
                    );
                }
                out.extend(vars_out);
            }
            (rhs, d, ions.ina, ions.ik, out)
        };
        let bits = |x: &[f64]| x.iter().map(|y| y.to_bits()).collect::<Vec<_>>();
        for numerics in [Numerics::Fast, Numerics::Exact] {
            for shared in [true, false] {
                let want = run(numerics, shared, true, false);
                for (outputs, in_runs) in [(true, true), (false, true), (false, false)] {
                    let got = run(numerics, shared, outputs, in_runs);
                    let what =
                        format!("{numerics:?}, shared {shared}, outputs {outputs}, runs {in_runs}");
                    assert_eq!(bits(&got.0), bits(&want.0), "rhs: {what}");
                    assert_eq!(bits(&got.1), bits(&want.1), "d: {what}");
                    assert_eq!(bits(&got.2), bits(&want.2), "ina: {what}");
                    assert_eq!(bits(&got.3), bits(&want.3), "ik: {what}");
                    if outputs {
                        assert_eq!(bits(&got.4), bits(&want.4), "outputs: {what}");
                    }
                }
            }
        }
        assert!(PerRun::of(&[1.0, 1.0, 2.0, 2.0], 2).0.is_some());
        assert!(PerRun::of(&[1.0, 1.0, 2.0, 2.5], 2).0.is_none());
        assert!(PerRun::of(&[1.0, 1.0], 1).0.is_none());
    }
}
