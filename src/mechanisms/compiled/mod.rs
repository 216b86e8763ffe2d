//! Density mechanisms compiled from users' NMODL files: the lowered program of `isf-nmodl`
//! ([`isf_nmodl::lower::Program`]) executed over blocks of instances.
//!
//! Instances are processed [`LANES`] at a time. A phase loads every column of the program for
//! the block's lanes (parameters, trial variables, `v` and ion variables of the instances'
//! nodes, `dt`, `celsius`, `t`), executes each instruction for all active lanes (dispatch is
//! paid once per instruction per block), then stores the trial variables and the ions it writes.
//! The phases are NEURON's (`nrn_init`, `nrn_cur`, `nrn_state`): the current runs the
//! BREAKPOINT body at `v + 0.001` and at `v`, sums the currents in NEURON's order and takes the
//! slope as the difference quotient, exactly as the hand-written mechanisms' exact numerics do.
//! Arithmetic follows the program's order; `exp` is NEURON's `hoc_Exp` with glibc's `exp`,
//! `log` and `pow` are the C library's. Both numerics run this exact program for now.
//!
//! [`register`] makes a program available to the catalogue by name.

mod kernels;
mod newton;
mod plan;
mod sparse;

use std::cell::RefCell;
use std::path::Path;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;

use isf_nmodl::lower::{
    Column, Emit, Instr, IonVar, Program, ProgramKind, RandomOp, Src, Stream, TableDef,
};
use std::sync::{Mutex, OnceLock};

use super::catalogue::{self, BuildEnv, Constructor, Entry};
use super::random::{Random123, ScopLcg};
use super::{exp, DensityMechanism, Env, EventSink, Instances, IonState, Matrix, PointCtx};

pub mod point;

/// Instances per block.
pub const LANES: usize = 128;

/// A program ready to run: the program and the names the mechanism interface hands out.
#[derive(Debug)]
struct Loaded {
    program: Program,
    name: &'static str,
    vars: &'static [&'static str],
    /// Sign of the currents in the node's equation (−1 for ELECTRODE_CURRENTs).
    sign: f64,
    /// What each phase loads, stores and computes once per block.
    plans: plan::Plans,
}

impl Loaded {
    fn new(program: Program, name: &'static str, vars: &'static [&'static str], sign: f64) -> Self {
        Loaded {
            plans: plan::Plans::new(&program),
            program,
            name,
            vars,
            sign,
        }
    }
}

/// All instances of a compiled density mechanism in a cell.
#[derive(Debug)]
pub struct CompiledMechanism {
    loaded: Arc<Loaded>,
    nodes: Vec<usize>,
    /// Parameter-major values (catalogue order).
    params: Vec<Vec<f64>>,
    /// The TABLEs as last built (one per mechanism block, as NEURON keeps one per mechanism).
    tables: Mutex<Vec<Table>>,
    /// Node area of every instance, µm² (point processes; empty for density mechanisms).
    area: Vec<f64>,
    /// `1e2/area` of every instance (point processes' current scale).
    scale: Vec<f64>,
    /// Per block of instances (as the phases cut them) and parameter: the same value in all of
    /// the block's instances (parameters do not change after construction).
    param_uniform: OnceLock<Vec<bool>>,
    /// Per phase (INITIAL, current, state), block and column: whether the column holds one
    /// value in every lane when the block is loaded (see [`Self::uniform_columns`]).
    uniform_at_load: [OnceLock<Vec<bool>>; 3],
}

impl CompiledMechanism {
    /// The instances `nodes` of `loaded` with their parameters (`area`, `scale`: a point
    /// process's, empty for a density mechanism).
    fn new(
        loaded: Arc<Loaded>,
        nodes: Vec<usize>,
        params: Vec<Vec<f64>>,
        area: Vec<f64>,
        scale: Vec<f64>,
    ) -> Self {
        let tables = vec![Table::default(); loaded.program.tables.len()];
        CompiledMechanism {
            loaded,
            nodes,
            params,
            tables: Mutex::new(tables),
            area,
            scale,
            param_uniform: OnceLock::new(),
            uniform_at_load: Default::default(),
        }
    }

    /// Instances per block of the state, current and INITIAL phases: one at a time when the
    /// program draws from the shared generator (in instance order, as in NEURON).
    fn width(&self) -> usize {
        if self.loaded.plans.uses_scop {
            1
        } else {
            LANES
        }
    }
}

/// The event a NET_RECEIVE phase runs for.
struct EventCtx<'a> {
    instance: usize,
    weights: &'a mut [f64],
    flag: f64,
}

/// A built TABLE.
#[derive(Debug, Clone, Default)]
struct Table {
    built: bool,
    /// DEPEND values at the last build.
    depend: Vec<f64>,
    tmin: f64,
    mfac: f64,
    n: usize,
    /// `rows[i * width + k]`: tabulated value `k` at point `i`.
    rows: Vec<f64>,
    width: usize,
}

impl Table {
    /// NEURON's lookup: NaN for a NaN position, clamped at both ends, else linear
    /// interpolation.
    #[inline]
    fn lookup(&self, x: f64, k: usize) -> f64 {
        let xi = self.mfac * (x - self.tmin);
        if xi.is_nan() {
            return xi;
        }
        let w = self.width;
        if xi <= 0.0 {
            return self.rows[k];
        }
        if xi >= self.n as f64 {
            return self.rows[self.n * w + k];
        }
        let i = xi as usize;
        let theta = xi - i as f64;
        let (a, b) = (self.rows[i * w + k], self.rows[(i + 1) * w + k]);
        a + theta * (b - a)
    }
}

/// Errors of compiling or registering a `.mod` file.
#[derive(Debug, thiserror::Error)]
pub enum CompileError {
    /// The front end refused the file.
    #[error("{0}")]
    Front(#[from] isf_nmodl::Error),
    /// The file uses a construct the executor does not implement yet.
    #[error("{0}")]
    Lower(#[from] isf_nmodl::lower::LowerError),
    /// Registration failed.
    #[error("{0}")]
    Register(String),
}

/// Analyses and lowers one `.mod` file.
pub fn compile_file(path: &Path) -> Result<Program, CompileError> {
    let model = isf_nmodl::analyse_file(path)?;
    Ok(isf_nmodl::lower::lower(&model)?)
}

/// Analyses and lowers NMODL text (`name` is used in errors).
pub fn compile_str(name: &str, text: &str) -> Result<Program, CompileError> {
    let model = isf_nmodl::analyse_str(name, text)?;
    Ok(isf_nmodl::lower::lower(&model)?)
}

fn leak(s: &str) -> &'static str {
    Box::leak(s.to_string().into_boxed_str())
}

/// Compiled mechanisms registered so far (their ranks follow this order, as `nrnivmodl`'s).
static COUNT: AtomicU32 = AtomicU32::new(0);

/// Names of the registered mechanisms that read an event vector (VecStim's `element()` idiom).
static EVENT_VECTORS: Mutex<Vec<&'static str>> = Mutex::new(Vec::new());

/// Whether the registered mechanism `name` reads an event vector (hoc's `VecStim.play`): only
/// such a point process may be given one.
pub fn takes_event_vector(name: &str) -> bool {
    EVENT_VECTORS
        .lock()
        .expect("event-vector names lock")
        .contains(&name)
}

fn build(loaded: &Arc<Loaded>, inst: Instances) -> Box<dyn DensityMechanism> {
    Box::new(CompiledMechanism::new(
        loaded.clone(),
        inst.nodes,
        inst.values,
        Vec::new(),
        Vec::new(),
    ))
}

/// Makes `program` available to the catalogue as the density mechanism `name` (normally the
/// program's SUFFIX). A name that is a built-in replaces the built-in. The mechanism takes the
/// rank (NEURON's mechanism order) of the built-in named `rank_of` (default: `name`), else
/// ranks after every built-in, in registration order. A name registered twice is an error.
pub fn register(
    name: &str,
    program: Program,
    rank_of: Option<&str>,
) -> Result<&'static Entry, CompileError> {
    let electrode = program.currents.iter().filter(|c| c.electrode).count();
    if electrode != 0 && electrode != program.currents.len() {
        return Err(CompileError::Register(format!(
            "{}: membrane and electrode currents in one mechanism are not supported yet",
            program.file
        )));
    }
    let point = program.kind != ProgramKind::Density;
    if point
        && (program.columns.iter().any(|c| matches!(c, Column::Ion(_)))
            || program.currents.iter().any(|c| c.ion.is_some()))
    {
        return Err(CompileError::Register(format!(
            "{}: point processes using ions (USEION) are not supported yet",
            program.file
        )));
    }
    if let Some(source) = catalogue::registered_source(name) {
        return Err(CompileError::Register(format!(
            "mechanism `{name}` is defined twice: in {source} and in {}",
            program.file
        )));
    }
    let rank = match catalogue::Catalogue.builtin(rank_of.unwrap_or(name)) {
        Some(e) => e.rank,
        None => 10_000 + COUNT.fetch_add(1, Ordering::Relaxed),
    };
    let params: Vec<(&'static str, f64)> =
        program.params.iter().map(|(n, d)| (leak(n), *d)).collect();
    let vars: Vec<&'static str> = program.vars.iter().map(|n| leak(n)).collect();
    let name: &'static str = leak(name);
    let source = program.file.clone();
    let loaded = Arc::new(Loaded::new(
        program,
        name,
        Box::leak(vars.into_boxed_slice()),
        if electrode != 0 { -1.0 } else { 1.0 },
    ));
    let loaded_vector = loaded.plans.event_vector;
    let ctor = if point {
        let ctor: catalogue::PointCtor =
            Box::leak(Box::new(move |inst: Instances, env: &BuildEnv| {
                point::build(&loaded, inst, env)
            }));
        Constructor::Point(ctor)
    } else {
        let ctor: catalogue::DensityCtor =
            Box::leak(Box::new(move |inst: Instances, _env: &BuildEnv| {
                build(&loaded, inst)
            }));
        Constructor::Density(ctor)
    };
    let entry = Entry {
        name,
        params: Box::leak(params.into_boxed_slice()),
        ctor,
        rank,
    };
    let entry = catalogue::register(entry, &source).map_err(CompileError::Register)?;
    if loaded_vector {
        EVENT_VECTORS
            .lock()
            .expect("event-vector names lock")
            .push(name);
    }
    Ok(entry)
}

thread_local! {
    /// Column storage of the block being executed (columns × [`LANES`]).
    static WORK: RefCell<Vec<f64>> = const { RefCell::new(Vec::new()) };
    /// Per column of the block being executed: one value in every lane (see [`exec_top`]).
    static UNIFORM: RefCell<Vec<bool>> = const { RefCell::new(Vec::new()) };
    /// Per column of the block being executed: its first lane in the trial's arrays for the
    /// phase's direct columns ([`plan::PhasePlan::direct`]), null for those in [`WORK`].
    static DIRECT: RefCell<Vec<*mut f64>> = const { RefCell::new(Vec::new()) };
    /// Events the block being executed emitted: lane, kind, time, flag.
    static EMITS: RefCell<Vec<(usize, Emit, f64, f64)>> = const { RefCell::new(Vec::new()) };
}

/// The phase being run.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Phase {
    Init,
    Current,
    State,
    /// NET_RECEIVE for one event.
    Receive,
    /// NET_RECEIVE's INITIAL for one NetCon.
    ReceiveInit,
}

impl CompiledMechanism {
    /// Runs `phase` over every block of instances (over the event's instance alone for the
    /// NET_RECEIVE phases); events emitted go to `sink`.
    #[allow(clippy::too_many_arguments)]
    fn run(
        &self,
        phase: Phase,
        env: &Env,
        v: &[f64],
        mut ions: Option<&mut IonState>,
        mut m: Option<&mut Matrix>,
        vars: &mut [f64],
        mut ev: Option<EventCtx<'_>>,
        mut sink: Option<&mut EventSink>,
        mut pcx: Option<&mut PointCtx<'_>>,
    ) {
        let p = &self.loaded.program;
        let n = self.nodes.len();
        // No lock for the programs without TABLEs (most).
        let mut guard = (!p.tables.is_empty()).then(|| self.tables.lock().expect("table lock"));
        let tables: &mut [Table] = match guard.as_deref_mut() {
            Some(t) => t,
            None => &mut [],
        };
        let range = match &ev {
            Some(e) => e.instance..e.instance + 1,
            None => 0..n,
        };
        WORK.with(|work| {
            let mut w = work.borrow_mut();
            let ncols = self.loaded.plans.columns;
            w.resize(ncols * LANES, 0.0);
            let w = &mut w[..];
            let width = self.width();
            // The phase's plan and its cache of uniform columns.
            let plans = &self.loaded.plans;
            let cached = |k: usize, plan| Some((plan, &self.uniform_at_load[k]));
            let planned = match phase {
                Phase::Init => cached(0, &plans.init),
                Phase::Current => cached(1, &plans.current),
                Phase::State => cached(2, &plans.state),
                Phase::Receive | Phase::ReceiveInit => None,
            };
            let plan = planned.map(|(plan, _)| plan);
            let mut uni = UNIFORM.with(|u| std::mem::take(&mut *u.borrow_mut()));
            let mut direct = DIRECT.with(|d| std::mem::take(&mut *d.borrow_mut()));
            direct.clear();
            direct.resize(ncols, std::ptr::null_mut());
            for j0 in range.clone().step_by(width) {
                let nl = width.min(range.end - j0);
                let nodes = &self.nodes[j0..j0 + nl];
                if let Some((plan, uniform_at_load)) = planned {
                    let all = uniform_at_load.get_or_init(|| {
                        let mut all = Vec::new();
                        for j0 in (0..n).step_by(width) {
                            self.uniform_columns(plan, j0, &mut uni);
                            all.extend_from_slice(&uni);
                        }
                        all
                    });
                    uni.clear();
                    uni.extend_from_slice(&all[j0 / width * ncols..][..ncols]);
                }
                self.load(w, j0, nodes, env, v, ions.as_deref_mut(), vars, plan, &uni);
                if let Some(plan) = plan {
                    let vp = vars.as_mut_ptr();
                    for &c in &plan.direct {
                        direct[c as usize] = match p.columns[c as usize] {
                            // SAFETY: variable k's values for instance j0 on (n ≥ j0 + nl).
                            Column::Var(k) => unsafe { vp.add(k as usize * n + j0) },
                            // Never written (`direct` holds only parameters the phase does not
                            // write).
                            Column::Param(q) => self.params[q as usize][j0..].as_ptr().cast_mut(),
                            _ => unreachable!("direct columns are variables and parameters"),
                        };
                    }
                }
                if let Some(e) = &ev {
                    for (c, col) in p.columns.iter().enumerate() {
                        match *col {
                            // A self-event sent by INITIAL carries no weight vector (NEURON's
                            // is a null pointer there; the code does not read it).
                            Column::Arg(k) => {
                                w[c * LANES] = e.weights.get(k as usize).copied().unwrap_or(0.0)
                            }
                            Column::Flag => w[c * LANES] = e.flag,
                            _ => {}
                        }
                    }
                }
                if !p.tables.is_empty() {
                    check_tables(&p.tables, tables, w, p.columns.len(), self.usetable(w, nl));
                }
                let mask = [true; LANES];
                let t = &tables[..];
                let nr = p.net_receive.as_ref();
                // The cell's legacy generator: the ions' for a density mechanism, the point
                // context's (the same generator) for a point process.
                let mut scop = match (ions.as_deref(), pcx.as_deref()) {
                    (Some(i), _) => i.scop,
                    (None, Some(c)) => *c.scop,
                    (None, None) => ScopLcg::default(),
                };
                let mut cx = Ctx {
                    tables: t,
                    streams: &p.streams,
                    scop: &mut scop,
                    vectors: pcx.as_deref().map_or(&[], |c| c.vectors),
                    first: j0,
                    isa: kernels::Isa::detect(),
                    direct: &direct,
                };
                let top =
                    |code: &[Instr], w: &mut [f64], cx: &mut Ctx, uni: &mut Vec<bool>| match plan {
                        Some(plan) => exec_top(&plan.runs[0], &plan.lane0, uni, w, nl, cx),
                        None => exec(code, w, &mask, nl, cx),
                    };
                match phase {
                    Phase::Init => top(&p.initial, w, &mut cx, &mut uni),
                    Phase::State => top(&p.state, w, &mut cx, &mut uni),
                    Phase::Current => {
                        let m = m.as_deref_mut().expect("a matrix");
                        exp::dispatch(CurrentBlock {
                            me: self,
                            w,
                            j0,
                            nodes,
                            v,
                            ions: ions.as_deref_mut(),
                            m,
                            nl,
                            cx: &mut cx,
                            uni: &mut uni,
                        });
                    }
                    Phase::Receive => {
                        if let Some(nr) = nr {
                            exec(&nr.body, w, &mask, nl, &mut cx)
                        }
                    }
                    Phase::ReceiveInit => {
                        if let Some(code) = nr.and_then(|nr| nr.initial.as_ref()) {
                            exec(code, w, &mask, nl, &mut cx)
                        }
                    }
                }
                if let Some(ions) = ions.as_deref_mut() {
                    ions.scop = scop;
                }
                if let Some(c) = pcx.as_deref_mut() {
                    *c.scop = scop;
                }
                // Trial variables back.
                match plan {
                    Some(plan) => {
                        for &(c, k) in &plan.store {
                            let dst = &mut vars[k as usize * n + j0..][..nl];
                            dst.copy_from_slice(&w[c as usize * LANES..][..nl]);
                        }
                    }
                    None => {
                        for (c, col) in p.columns.iter().enumerate() {
                            if let Column::Var(k) = *col {
                                let dst = &mut vars[k as usize * n + j0..][..nl];
                                dst.copy_from_slice(&w[c * LANES..][..nl]);
                            }
                        }
                    }
                }
                // One value per mechanism: the last instance's.
                for &k in &p.shared_vars {
                    let col = &mut vars[k as usize * n..][..n];
                    let x = col[j0 + nl - 1];
                    col.fill(x);
                }
                if let Some(e) = ev.as_mut() {
                    for (c, col) in p.columns.iter().enumerate() {
                        if let Column::Arg(k) = *col {
                            if let Some(x) = e.weights.get_mut(k as usize) {
                                *x = w[c * LANES];
                            }
                        }
                    }
                }
                if phase != Phase::Current {
                    if let Some(ions) = ions.as_deref_mut() {
                        for &(c, iv) in &p.conc_writes {
                            let arr = ion_array(ions, iv);
                            for (l, &node) in nodes.iter().enumerate() {
                                arr[node] = w[c as usize * LANES + l];
                            }
                        }
                    }
                }
                if !self.loaded.plans.emits {
                    continue;
                }
                EMITS.with(|e| {
                    let mut e = e.borrow_mut();
                    if let Some(sink) = sink.as_deref_mut() {
                        for &(lane, kind, time, flag) in e.iter() {
                            let j = j0 + lane;
                            match kind {
                                Emit::Send => sink.net_send(j, time, flag),
                                Emit::Event => sink.net_event(j, time),
                                Emit::Move => sink.net_move(j, time),
                            }
                        }
                    }
                    e.clear();
                });
            }
            UNIFORM.with(|u| *u.borrow_mut() = uni);
            DIRECT.with(|d| *d.borrow_mut() = direct);
        });
    }

    #[allow(clippy::too_many_arguments)]
    fn load(
        &self,
        w: &mut [f64],
        j0: usize,
        nodes: &[usize],
        env: &Env,
        v: &[f64],
        mut ions: Option<&mut IonState>,
        vars: &[f64],
        plan: Option<&plan::PhasePlan>,
        uni: &[bool],
    ) {
        let n = self.nodes.len();
        let nl = nodes.len();
        let columns = &self.loaded.program.columns;
        let current = plan.is_some_and(|p| std::ptr::eq(p, &self.loaded.plans.current));
        let all: Vec<u32>;
        let load = match plan {
            Some(plan) => &plan.load[..],
            None => {
                all = (0..columns.len() as u32).collect();
                &all[..]
            }
        };
        for &c in load {
            let c = c as usize;
            // A column only the top level's arithmetic reads is read through its first lane
            // while it holds one value in every lane (see `exec_top`).
            let nl = if plan.is_some_and(|p| p.lane0[c]) && uni[c] {
                1
            } else {
                nl
            };
            let dst = &mut w[c * LANES..][..nl];
            match columns[c] {
                Column::Param(p) => dst.copy_from_slice(&self.params[p as usize][j0..j0 + nl]),
                Column::Var(k) => dst.copy_from_slice(&vars[k as usize * n + j0..][..nl]),
                // The current sets `v` itself (twice).
                Column::V if current => {}
                // No voltages during NET_RECEIVE (the lowering refuses reading `v` there).
                Column::V if v.is_empty() => dst.fill(f64::NAN),
                Column::V => gather(dst, v, nodes),
                Column::Ion(iv) => gather(
                    dst,
                    ion_array(ions.as_deref_mut().expect("ions"), iv),
                    nodes,
                ),
                Column::Dt => dst.fill(env.dt),
                Column::Celsius => dst.fill(env.celsius),
                Column::T => dst.fill(env.t),
                Column::Scratch | Column::Arg(_) | Column::Flag => dst.fill(0.0),
                Column::Area => match self.area.get(j0..j0 + nl) {
                    Some(a) => dst.copy_from_slice(a),
                    None => dst.fill(100.0),
                },
            }
        }
    }

    /// Which of the phase's loaded columns hold one value in every lane of the block starting
    /// at instance `j0`: the time step, temperature, time, the zeroed scratch columns and the
    /// parameters that happen to be equal in all lanes.
    fn uniform_columns(&self, plan: &plan::PhasePlan, j0: usize, uni: &mut Vec<bool>) {
        let columns = &self.loaded.program.columns;
        let np = self.params.len();
        let params = self.param_uniform.get_or_init(|| {
            let n = self.nodes.len();
            let width = self.width();
            (0..n)
                .step_by(width)
                .flat_map(|j0| {
                    self.params.iter().map(move |x| {
                        let x = &x[j0..n.min(j0 + width)];
                        let first = x[0].to_bits();
                        // Bit equality (NaN and signed zeros alike).
                        x.iter().all(|y| y.to_bits() == first)
                    })
                })
                .collect()
        });
        let block = &params[j0 / self.width() * np..][..np];
        uni.clear();
        uni.resize(self.loaded.plans.columns, false);
        for &c in plan.load.iter().chain(&plan.direct) {
            let c = c as usize;
            uni[c] = match columns[c] {
                Column::Dt | Column::Celsius | Column::T | Column::Scratch => true,
                Column::Param(p) => block[p as usize],
                _ => false,
            };
        }
    }

    /// Whether `usetable` is on at some lane of the block (NEURON's is one GLOBAL).
    fn usetable(&self, w: &[f64], nl: usize) -> bool {
        self.loaded
            .plans
            .usetable
            .is_some_and(|c| w[c as usize * LANES..][..nl].iter().any(|&x| x != 0.0))
    }
}

/// NEURON's `nrn_cur` for one block of a compiled mechanism: the BREAKPOINT at `v + 0.001`,
/// then at `v`. Run through [`exp::dispatch`], so that its own loops (gathers, sums of the
/// currents, slopes, scatters) are compiled for the block's instruction set like the
/// arithmetic's; the same bits.
struct CurrentBlock<'s, 'c, 'm> {
    me: &'s CompiledMechanism,
    w: &'s mut [f64],
    j0: usize,
    nodes: &'s [usize],
    v: &'s [f64],
    ions: Option<&'s mut IonState>,
    m: &'s mut Matrix<'m>,
    nl: usize,
    cx: &'s mut Ctx<'c>,
    uni: &'s mut [bool],
}

impl exp::Kernel for CurrentBlock<'_, '_, '_> {
    type Output = ();
    #[inline(always)]
    fn run<E: exp::Exp>(self) {
        let CurrentBlock {
            me,
            w,
            j0,
            nodes,
            v,
            ions,
            m,
            nl,
            cx,
            uni,
        } = self;
        let p = &me.loaded.program;
        let vc = p.v_col as usize * LANES;
        let nodes = &nodes[..nl];
        // One bounds check per block instead of one per lane.
        let top = nodes.iter().fold(0, |a, &b| a.max(b));
        assert!(top < m.rhs.len() && top < m.d.len());
        let sum = |w: &[f64], s: &mut [f64; LANES]| {
            s.fill(0.0);
            for c in &p.currents {
                let x = &w[c.col as usize * LANES..][..nl];
                for (s, &x) in s.iter_mut().zip(x) {
                    *s += x;
                }
            }
        };
        let plan = &me.loaded.plans.current;
        let mut vn = [0.0; LANES];
        gather(&mut vn[..nl], v, nodes);
        let (mut upper, mut at_v) = ([0.0; LANES], [0.0; LANES]);
        if let Some(o) = &plan.ohmic {
            exec_top(&o.prefix, &plan.lane0, uni, w, nl, cx);
            // The operands' lanes (a value in all of them when uniform).
            let wp = w.as_mut_ptr();
            let lanes = |s: Src, out: &mut [f64; LANES]| match s {
                Src::K(k) => out.fill(k),
                // SAFETY: a column holds at least one lane.
                Src::Col(c) if uni[c as usize] => out.fill(unsafe { *col_ptr(cx.direct, wp, c) }),
                // SAFETY: a column of `nl` lanes in the block or the trial's arrays.
                Src::Col(c) => out[..nl].copy_from_slice(unsafe {
                    std::slice::from_raw_parts(col_ptr(cx.direct, wp, c), nl)
                }),
            };
            let (mut x, mut y) = ([0.0; LANES], [0.0; LANES]);
            lanes(o.x, &mut x);
            lanes(o.y, &mut y);
            // The two runs' `t = v − x`, `c = y·t` (or `t·y`: the same bits) and the sums from 0.
            let mut cur = [0.0; LANES];
            for l in 0..LANES {
                upper[l] = 0.0 + y[l] * ((vn[l] + 0.001) - x[l]);
                cur[l] = y[l] * (vn[l] - x[l]);
                at_v[l] = 0.0 + cur[l];
            }
            // `t` is scratch: nothing reads it after the phase.
            w[o.c as usize * LANES..][..nl].copy_from_slice(&cur[..nl]);
            uni[o.c as usize] = false;
        } else {
            for (d, &x) in w[vc..][..nl].iter_mut().zip(&vn) {
                *d = x + 0.001;
            }
            exec_top(&plan.runs[0], &plan.lane0, uni, w, nl, cx);
            sum(w, &mut upper);
            w[vc..][..nl].copy_from_slice(&vn[..nl]);
            uni[p.v_col as usize] = false;
            exec_top(&plan.runs[1], &plan.lane0, uni, w, nl, cx);
            sum(w, &mut at_v);
        }
        let sign = me.loaded.sign;
        // The slopes and right-hand sides first (a loop that vectorises), then the scatter,
        // lane by lane (instances of a point process may share a node: NEURON's order).
        let (g, rhs) = (&mut upper, &mut at_v);
        if me.scale.is_empty() {
            for (g, r) in g.iter_mut().zip(rhs.iter_mut()) {
                *g = sign * ((*g - *r) / 0.001);
                *r *= sign;
            }
        } else {
            // A point process's nA, as NEURON: both scaled by `1e2/area` before they enter.
            let scale = &me.scale[j0..j0 + nl];
            for ((g, r), &k) in g.iter_mut().zip(rhs.iter_mut()).zip(scale) {
                *g = sign * ((*g - *r) / 0.001 * k);
                *r = sign * (*r * k);
            }
        }
        for ((&node, &g), &r) in nodes.iter().zip(g.iter()).zip(rhs.iter()) {
            // SAFETY: node ≤ top < the matrix's length.
            unsafe {
                *m.rhs.get_unchecked_mut(node) -= r;
                *m.d.get_unchecked_mut(node) += g;
            }
        }
        let Some(ions) = ions else { return };
        for c in &p.currents {
            if let Some(iv) = c.ion {
                let arr = ion_array(ions, iv);
                assert!(top < arr.len());
                for (&node, &x) in nodes.iter().zip(&w[c.col as usize * LANES..][..nl]) {
                    // SAFETY: node ≤ top < arr.len().
                    unsafe { *arr.get_unchecked_mut(node) += x };
                }
            }
        }
    }
}

/// Column `c`'s first lane: in the trial's arrays (`direct`, non-null) or in the block `w`.
#[inline(always)]
fn col_ptr(direct: &[*mut f64], w: *mut f64, c: u32) -> *mut f64 {
    match direct[c as usize] {
        // SAFETY: column c of the block lies within `w` (columns × LANES values).
        d if d.is_null() => unsafe { w.add(c as usize * LANES) },
        d => d,
    }
}

/// `dst[l] = src[nodes[l]]`. (Lane by lane: a vector gather instruction is slower here.)
#[inline(always)]
fn gather(dst: &mut [f64], src: &[f64], nodes: &[usize]) {
    for (d, &node) in dst.iter_mut().zip(nodes) {
        *d = src[node];
    }
}

fn ion_array(ions: &mut IonState, iv: IonVar) -> &mut [f64] {
    match iv {
        IonVar::Ena => &mut ions.ena,
        IonVar::Ek => &mut ions.ek,
        IonVar::Eca => &mut ions.eca,
        IonVar::Cai => &mut ions.cai,
        IonVar::Cao => &mut ions.cao,
        IonVar::Ina => &mut ions.ina,
        IonVar::Ik => &mut ions.ik,
        IonVar::Ica => &mut ions.ica,
    }
}

/// An operand's values for `nl` lanes.
#[inline(always)]
fn fetch(w: &[f64], s: Src, nl: usize) -> [f64; LANES] {
    let mut out = [0.0; LANES];
    match s {
        Src::K(x) => out[..nl].fill(x),
        Src::Col(c) => out[..nl].copy_from_slice(&w[c as usize * LANES..][..nl]),
    }
    out
}

/// Builds the TABLEs that need it (never built, or a DEPEND value changed), when `usetable` is
/// on. The build runs each table's body over its points, [`LANES`] at a time, in a copy of the
/// block's first lane (DEPEND values and parameters are NEURON's GLOBALs).
fn check_tables(defs: &[TableDef], tables: &mut [Table], w: &[f64], ncols: usize, on: bool) {
    if !on {
        return;
    }
    for (def, tab) in defs.iter().zip(tables.iter_mut()) {
        let depend: Vec<f64> = def.depend.iter().map(|&c| w[c as usize * LANES]).collect();
        if tab.built && tab.depend == depend {
            continue;
        }
        let mut b = vec![0.0; ncols * LANES];
        for c in 0..ncols {
            b[c * LANES..][..LANES].fill(w[c * LANES]);
        }
        let all = [true; LANES];
        // Lowering refuses random numbers in TABLEs: no stream, no generator here.
        let mut none = ScopLcg::new();
        let mut cx = Ctx {
            tables: &[],
            streams: &[],
            scop: &mut none,
            vectors: &[],
            first: 0,
            isa: kernels::Isa::detect(),
            direct: &[],
        };
        exec(&def.bounds, &mut b, &all, 1, &mut cx);
        let (from, to) = (fetch(&b, def.from, 1)[0], fetch(&b, def.to, 1)[0]);
        let n = def.with as usize;
        let dx = (to - from) / n as f64;
        // The abscissae accumulated by repeated addition, as NEURON's loop does.
        let mut xs = Vec::with_capacity(n + 1);
        let mut x = from;
        for _ in 0..=n {
            xs.push(x);
            x += dx;
        }
        let width = def.outputs.len();
        let mut rows = vec![0.0; (n + 1) * width];
        for (chunk, xs) in xs.chunks(LANES).enumerate() {
            let nl = xs.len();
            for c in 0..ncols {
                b[c * LANES..][..LANES].fill(w[c * LANES]);
            }
            b[def.arg as usize * LANES..][..nl].copy_from_slice(xs);
            exec(&def.body, &mut b, &all, nl, &mut cx);
            for (k, &o) in def.outputs.iter().enumerate() {
                for l in 0..nl {
                    rows[(chunk * LANES + l) * width + k] = b[o as usize * LANES + l];
                }
            }
        }
        *tab = Table {
            built: true,
            depend,
            tmin: from,
            mfac: 1.0 / dx,
            n,
            rows,
            width,
        };
    }
}

/// What instructions use besides the columns.
struct Ctx<'a> {
    /// The built TABLEs.
    tables: &'a [Table],
    /// The program's Random123 streams.
    streams: &'a [Stream],
    /// The cell's legacy generator.
    scop: &'a mut ScopLcg,
    /// The instances' event vectors (point processes; empty for density mechanisms).
    vectors: &'a [Vec<f64>],
    /// Instance of the block's first lane.
    first: usize,
    /// The vector unit the arithmetic runs on.
    isa: kernels::Isa,
    /// Per column: its first lane in the trial's arrays, or null when it is in the block
    /// (see [`DIRECT`]; empty outside the phases' top level).
    direct: &'a [*mut f64],
}

/// One random-number instruction on lane `l`.
fn random(
    op: RandomOp,
    args: &[f64],
    stream: Option<&Stream>,
    w: &mut [f64],
    l: usize,
    scop: &mut ScopLcg,
) -> f64 {
    let Some(s) = stream else {
        return match op {
            RandomOp::ScopUniform => scop.uniform(),
            RandomOp::Exprand => scop.exprand(args[0]),
            RandomOp::Normrand => scop.normrand(args[0], args[1]),
            RandomOp::SetSeed => {
                scop.set_seed(args[0]);
                0.0
            }
            _ => unreachable!("lowering gives every stream operation its stream"),
        };
    };
    let col = |k: usize| s.live[k] as usize * LANES + l;
    let mut r = Random123 {
        ids: [
            super::random::to_u32(w[col(0)]),
            super::random::to_u32(w[col(1)]),
            super::random::to_u32(w[col(2)]),
        ],
        position: 0,
    };
    r.set_position(w[col(3)]);
    let x = match op {
        RandomOp::Uniform => r.uniform(),
        RandomOp::UniformIn => r.uniform_in(args[0], args[1]),
        RandomOp::Negexp => r.negexp(),
        RandomOp::Normal => r.normal(),
        RandomOp::NormalWith => r.normal_with(args[0], args[1]),
        RandomOp::Ipick => f64::from(r.next_word()),
        RandomOp::SetSeq => {
            r.set_position(args[0]);
            0.0
        }
        RandomOp::SetIds => {
            r.set_ids(args[0], args[1], args[2]);
            0.0
        }
        RandomOp::ScopUniform | RandomOp::Exprand | RandomOp::Normrand | RandomOp::SetSeed => {
            unreachable!("lowering gives the legacy generator's operations no stream")
        }
    };
    for k in 0..3 {
        w[col(k)] = f64::from(r.ids[k]);
    }
    w[col(3)] = r.position as f64;
    x
}

/// A column operand's first lane in the work area.
fn operand(w: &[f64], s: Src) -> kernels::Operand {
    match s {
        Src::K(x) => kernels::Operand::K(x),
        Src::Col(c) => kernels::Operand::Col(w[c as usize * LANES..].as_ptr()),
    }
}

/// Executes the top level of a phase's `code` on all `nl` lanes.
///
/// `uni` tracks the columns that hold one value in every lane (set by the caller for the loaded
/// columns: the time step, temperature, time, scratch, and parameters equal in all lanes of the
/// block). An arithmetic instruction whose operands are all such is computed once and its value
/// given to every lane (a decay factor `exp(−dt/τ)` with the same τ everywhere, a temperature
/// factor), which is the value each lane would compute: results keep their bits. Any other
/// write makes its columns per-lane.
fn exec_top(
    run: &plan::Run,
    lane0: &[bool],
    uni: &mut [bool],
    w: &mut [f64],
    nl: usize,
    cx: &mut Ctx,
) {
    let mask = [true; LANES];
    let direct = cx.direct;
    let at = |wp: *mut f64, c: u32| col_ptr(direct, wp, c);
    // A column holding one value in all lanes is read as a constant: its other lanes may not be
    // written (`lane0`).
    let operand = |s: Src, uni: &[bool], wp: *mut f64| match s {
        Src::K(x) => (kernels::Operand::K(x), true),
        // SAFETY: a column has at least one lane.
        Src::Col(c) if uni[c as usize] => (kernels::Operand::K(unsafe { *at(wp, c) }), true),
        Src::Col(c) => (kernels::Operand::Col(at(wp, c)), false),
    };
    let k = |o: kernels::Operand| match o {
        kernels::Operand::K(x) => x,
        kernels::Operand::Col(_) => unreachable!("a uniform operand is a constant"),
    };
    for (ins, marks) in run.code.iter().zip(&run.marks) {
        let wp = w.as_mut_ptr();
        match *ins {
            Instr::Un { op, dst, a } => {
                let (a, ua) = operand(a, uni, wp);
                let d = dst as usize;
                let p = at(wp, dst);
                if ua {
                    let x = kernels::un_scalar::<exp::LibmExp>(op, k(a));
                    // SAFETY: a column of `nl` lanes (see `at`).
                    unsafe { std::slice::from_raw_parts_mut(p, if lane0[d] { 1 } else { nl }) }
                        .fill(x);
                } else {
                    // SAFETY: `a` and `p` are columns of `nl` ≤ LANES lanes in the block or in
                    // the trial's arrays, equal or disjoint.
                    unsafe { kernels::un(cx.isa, op, p, a, None, nl) }
                }
                uni[d] = ua;
            }
            Instr::Bin { op, dst, a, b } => {
                let ((a, ua), (b, ub)) = (operand(a, uni, wp), operand(b, uni, wp));
                let d = dst as usize;
                let p = at(wp, dst);
                if ua && ub {
                    let x = kernels::bin_scalar(op, k(a), k(b));
                    // SAFETY: as for `Un`.
                    unsafe { std::slice::from_raw_parts_mut(p, if lane0[d] { 1 } else { nl }) }
                        .fill(x);
                } else {
                    // SAFETY: as for `Un`.
                    unsafe { kernels::bin(cx.isa, op, p, a, b, None, nl) }
                }
                uni[d] = ua && ub;
            }
            _ => {
                exec_one(ins, w, &mask, true, nl, cx);
                for &c in marks {
                    uni[c as usize] = false;
                }
            }
        }
    }
}

/// Executes `code` on the lanes of `mask` (the first `nl`).
fn exec(code: &[Instr], w: &mut [f64], mask: &[bool; LANES], nl: usize, cx: &mut Ctx) {
    let full = mask[..nl].iter().all(|&m| m);
    for ins in code {
        exec_one(ins, w, mask, full, nl, cx);
    }
}

/// Executes one instruction on the lanes of `mask` (the first `nl`; `full`: all of them).
fn exec_one(ins: &Instr, w: &mut [f64], mask: &[bool; LANES], full: bool, nl: usize, cx: &mut Ctx) {
    let m = (!full).then_some(mask);
    match ins {
        Instr::Un { op, dst, a } => {
            let a = operand(w, *a);
            let d = w[*dst as usize * LANES..][..nl].as_mut_ptr();
            // SAFETY: `a` and `d` are columns of `w` (LANES apart, `nl` ≤ LANES lanes
            // each), equal or disjoint.
            unsafe { kernels::un(cx.isa, *op, d, a, m, nl) }
        }
        Instr::Bin { op, dst, a, b } => {
            let (a, b) = (operand(w, *a), operand(w, *b));
            let d = w[*dst as usize * LANES..][..nl].as_mut_ptr();
            // SAFETY: as for `Un`.
            unsafe { kernels::bin(cx.isa, *op, d, a, b, m, nl) }
        }
        Instr::If {
            cond,
            then,
            otherwise,
        } => {
            // Both masks before either branch runs (a branch may write the condition). Most
            // conditions hold in no lane (NMODL's `if (v == -38) { v = v + 0.0001 }` guards).
            let k;
            let c: &[f64] = match *cond {
                Src::Col(c) => &w[c as usize * LANES..][..nl],
                Src::K(x) => {
                    k = [x; LANES];
                    &k[..nl]
                }
            };
            let (mut mt, mut mo) = ([false; LANES], [false; LANES]);
            let (mut any_t, mut any_o) = (false, false);
            for l in 0..nl {
                let t = c[l] != 0.0;
                mt[l] = mask[l] & t;
                mo[l] = mask[l] & !t;
                any_t |= mt[l];
                any_o |= mo[l];
            }
            if any_t {
                exec(then, w, &mt, nl, cx);
            }
            if any_o && !otherwise.is_empty() {
                exec(otherwise, w, &mo, nl, cx);
            }
        }
        Instr::Table { table, arg, out } => {
            let tab = &cx.tables[*table as usize];
            let x = fetch(w, *arg, nl);
            for (k, &o) in out.iter().enumerate() {
                let d = &mut w[o as usize * LANES..][..nl];
                for l in 0..nl {
                    if mask[l] {
                        d[l] = tab.lookup(x[l], k);
                    }
                }
            }
        }
        Instr::Emit { kind, time, flag } => {
            let (time, flag) = (fetch(w, *time, nl), fetch(w, *flag, nl));
            EMITS.with(|e| {
                let mut e = e.borrow_mut();
                for l in 0..nl {
                    if mask[l] {
                        e.push((l, *kind, time[l], flag[l]));
                    }
                }
            });
        }
        Instr::Newton {
            unknowns,
            residuals,
            function,
        } => newton::solve(unknowns, residuals, function, w, mask, nl, cx),
        Instr::Sparse {
            unknowns,
            saved,
            rhs,
            matrix,
            function,
            linear,
            steady,
        } => {
            let scheme = sparse::Scheme {
                unknowns,
                saved,
                rhs,
                matrix,
                function,
            };
            sparse::solve(&scheme, *linear, *steady, w, mask, nl, cx)
        }
        Instr::While { test, cond, body } => {
            let mut m = *mask;
            loop {
                exec(test, w, &m, nl, cx);
                let c = fetch(w, *cond, nl);
                for l in 0..nl {
                    m[l] = m[l] && c[l] != 0.0;
                }
                if !m[..nl].iter().any(|&x| x) {
                    break;
                }
                exec(body, w, &m, nl, cx);
            }
        }
        Instr::Random {
            op,
            dst,
            args,
            stream,
        } => {
            let vals: Vec<[f64; LANES]> = args.iter().map(|&a| fetch(w, a, nl)).collect();
            let stream = stream.map(|k| &cx.streams[k as usize]);
            let mut a = [0.0; 3];
            for l in 0..nl {
                if mask[l] {
                    for (x, v) in a.iter_mut().zip(&vals) {
                        *x = v[l];
                    }
                    let x = random(*op, &a[..vals.len()], stream, w, l, cx.scop);
                    w[*dst as usize * LANES + l] = x;
                }
            }
        }
        Instr::VecElement { index, etime } => {
            // NEURON's element(): the index truncated to an int; without a vector (density
            // mechanisms, instances never given one) the stream ends.
            let (ic, ec) = (*index as usize * LANES, *etime as usize * LANES);
            for l in 0..nl {
                let i = w[ic + l] as i32;
                if !mask[l] || i < 0 {
                    continue;
                }
                match cx.vectors.get(cx.first + l).and_then(|v| v.get(i as usize)) {
                    Some(&x) => {
                        w[ec + l] = x;
                        w[ic + l] += 1.0;
                    }
                    None => w[ic + l] = -1.0,
                }
            }
        }
    }
}

impl DensityMechanism for CompiledMechanism {
    fn name(&self) -> &'static str {
        self.loaded.name
    }
    fn nodes(&self) -> &[usize] {
        &self.nodes
    }
    fn variables(&self) -> &'static [&'static str] {
        self.loaded.vars
    }
    fn writes_cai(&self) -> bool {
        self.loaded.program.writes_cai()
    }
    fn initialize(&self, env: &Env, v: &[f64], ions: &mut IonState, vars: &mut [f64]) {
        self.run(
            Phase::Init,
            env,
            v,
            Some(ions),
            None,
            vars,
            None,
            None,
            None,
        );
    }
    fn current(&self, env: &Env, v: &[f64], ions: &mut IonState, m: &mut Matrix, vars: &mut [f64]) {
        if self.loaded.program.currents.is_empty() {
            return;
        }
        self.run(
            Phase::Current,
            env,
            v,
            Some(ions),
            Some(m),
            vars,
            None,
            None,
            None,
        );
    }
    fn advance(&self, env: &Env, v: &[f64], ions: &mut IonState, vars: &mut [f64]) {
        self.run(
            Phase::State,
            env,
            v,
            Some(ions),
            None,
            vars,
            None,
            None,
            None,
        );
    }
}

#[cfg(test)]
mod random_tests;
