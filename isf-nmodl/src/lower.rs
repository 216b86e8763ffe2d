//! Lowering: an analysed density mechanism → a [`Program`] of plain data that isf's engine
//! executes over blocks of instances (struct-of-arrays lanes).
//!
//! A program works on **columns**: one value per instance lane. A column is a parameter, a trial
//! variable (STATE, ASSIGNED, written ion current), the instance's copy of `v`, an ion variable
//! of the instance's node, `dt`, `celsius`, `t`, or a scratch value (LOCALs, arguments of
//! inlined FUNCTIONs and PROCEDUREs, temporaries of expressions). Each [`Instr`] computes one
//! operation of the source for every active lane; `if`/`while` restrict the active lanes.
//!
//! Exact numerics follow from the lowering's order, which is that of the C code NEURON's
//! translator writes: every operator of the source tree in tree order (parentheses kept, left to
//! right, no reassociation), `^` as `pow`, integer literals as reals, `exp` as NEURON's
//! `hoc_Exp`; the cnexp update of each state is the tree the front end built with NEURON's
//! symbolic rules ([`crate::cnexp`]). The phases are NEURON's `nrn_init`, `nrn_cur` and
//! `nrn_state` (see `docs/nmodl.md`).

use std::collections::HashMap;

mod kinetic;
mod methods;

use serde::{Deserialize, Serialize};

use crate::ast::{Arg, BinOp, Block, Expr, ExprKind, ItemKind, Stmt, StmtKind, UnOp};
use crate::error::Span;
use crate::model::{AnalysedModel, CurrentKind, IdiomKind, Method, SolveTarget, VarClass};

mod point;
mod random;
pub use point::{Emit, NetReceiveCode, ProgramKind};
pub use random::{RandomOp, Stream, STREAM_PARAMS};

/// An operand: a column or a constant.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub enum Src {
    /// Column index.
    Col(u32),
    /// A constant (a literal, a UNITS factor or a CONSTANT).
    K(f64),
}

/// One-operand operations.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[allow(missing_docs)]
pub enum Op1 {
    /// A copy (assignment).
    Copy,
    Neg,
    /// C's `!`: 1 when the operand is 0, else 0.
    Not,
    /// NEURON's `hoc_Exp`.
    Exp,
    Log,
    Log10,
    Sqrt,
    Fabs,
    Sin,
    Cos,
    Tan,
    Asin,
    Acos,
    Atan,
    Sinh,
    Cosh,
    Tanh,
    Floor,
    Ceil,
}

/// Two-operand operations (comparisons and logic give 1 or 0).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[allow(missing_docs)]
pub enum Op2 {
    Add,
    Sub,
    Mul,
    Div,
    /// The C library's `pow` (also NMODL's `^`).
    Pow,
    Gt,
    Ge,
    Lt,
    Le,
    Eq,
    Ne,
    And,
    Or,
    Atan2,
    Fmod,
}

/// One instruction, executed for every active lane of a block.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Instr {
    /// `dst = op(a)`.
    Un {
        /// Operation.
        op: Op1,
        /// Destination column.
        dst: u32,
        /// Operand.
        a: Src,
    },
    /// `dst = a op b`.
    Bin {
        /// Operation.
        op: Op2,
        /// Destination column.
        dst: u32,
        /// Left operand.
        a: Src,
        /// Right operand.
        b: Src,
    },
    /// `if (cond) {then} else {otherwise}`: each arm runs on the lanes that take it.
    If {
        /// Condition (non-zero: true).
        cond: Src,
        /// Lanes where `cond` holds.
        then: Vec<Instr>,
        /// The other lanes.
        otherwise: Vec<Instr>,
    },
    /// A TABLE lookup: `out[k] = ` the interpolated column `k` of table `table` at `arg`.
    Table {
        /// Index into [`Program::tables`].
        table: u32,
        /// The argument.
        arg: Src,
        /// Destination of each tabulated value.
        out: Vec<u32>,
    },
    /// NEURON's Newton iteration (scopmath `nrn_newton_thread`) for each lane: finds the
    /// `unknowns` that make the `residuals` zero, `function` computing the residuals from the
    /// unknowns. Jacobian by central differences, Crout LU with partial pivoting (see
    /// `docs/nmodl.md`).
    Newton {
        /// Columns of the unknowns, in NEURON's order of its `_slist2`.
        unknowns: Vec<u32>,
        /// Columns of the residuals (equation order).
        residuals: Vec<u32>,
        /// Instructions computing the residuals.
        function: Vec<Instr>,
    },
    /// NEURON's `sparse_thread` for a KINETIC block, per lane: `function` computes the
    /// right-hand side `rhs` and the matrix `matrix` (row-major, `n`×`n`) of the linearised
    /// implicit Euler step from the `unknowns` and their values at the start of the step
    /// (`saved`, copied from the unknowns by the solver); each round solves `matrix·Δ = rhs`
    /// and adds `Δ` (see `docs/nmodl.md`).
    Sparse {
        /// Columns of the unknowns (NEURON's `_slist1`).
        unknowns: Vec<u32>,
        /// Columns the solver copies the unknowns to before its first round.
        saved: Vec<u32>,
        /// Right-hand side columns, one per equation.
        rhs: Vec<u32>,
        /// Matrix columns, row-major.
        matrix: Vec<u32>,
        /// Instructions computing `rhs` and `matrix`.
        function: Vec<Instr>,
        /// No product of states: one round suffices (NEURON's `_linmat`).
        linear: bool,
        /// STEADYSTATE sparse (NEURON's `_ss_sparse_thread`; `dt` is set by the caller).
        steady: bool,
    },
    /// `while (cond) {body}`: `test` computes `cond`; lanes leave when it is 0.
    While {
        /// Instructions computing the condition.
        test: Vec<Instr>,
        /// Condition.
        cond: Src,
        /// Loop body.
        body: Vec<Instr>,
    },
    /// A random number (`dst`; 0 for the operations that only configure), drawn from the
    /// instance's stream `stream` (an index into [`Program::streams`]) or, without one, from
    /// the legacy generator the engine keeps per cell. Lanes draw in instance order.
    Random {
        /// Operation.
        op: RandomOp,
        /// Destination column.
        dst: u32,
        /// Arguments after the stream.
        args: Vec<Src>,
        /// The stream.
        stream: Option<u32>,
    },
    /// The event-vector idiom's element (VecStim): with `i = (int) index ≥ 0`, `etime` becomes
    /// the instance's event vector at `i` and `index` grows by 1, or `index` becomes −1 past the
    /// end (or without a vector); nothing when `i < 0`.
    VecElement {
        /// Column of `index`.
        index: u32,
        /// Column of `etime`.
        etime: u32,
    },
    /// An event for the solver's queue (`net_send`, `net_event`, `net_move`), one per active
    /// lane.
    Emit {
        /// Which.
        kind: Emit,
        /// Delivery time (`net_send`: `t + delay` as NEURON pastes it), spike or new time.
        time: Src,
        /// `net_send`'s flag (0 otherwise).
        flag: Src,
    },
}

/// The engine's ion variables a program may read or write (per node).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[allow(missing_docs)]
pub enum IonVar {
    Ena,
    Ek,
    Eca,
    Cai,
    Cao,
    Ina,
    Ik,
    Ica,
}

impl IonVar {
    /// The variable of NEURON's name (`ena`, `cai`, …), if isf's engine keeps it.
    pub fn from_name(n: &str) -> Option<IonVar> {
        Some(match n {
            "ena" => IonVar::Ena,
            "ek" => IonVar::Ek,
            "eca" => IonVar::Eca,
            "cai" => IonVar::Cai,
            "cao" => IonVar::Cao,
            "ina" => IonVar::Ina,
            "ik" => IonVar::Ik,
            "ica" => IonVar::Ica,
            _ => return None,
        })
    }
}

/// What a column holds, and where a phase loads it from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Column {
    /// Catalogue parameter `p` of the instance.
    Param(u32),
    /// Trial variable `k` of the instance (stored back after every phase).
    Var(u32),
    /// The instance's copy of `v` (set from its node at the start of every phase).
    V,
    /// An ion variable at the instance's node.
    Ion(IonVar),
    /// The time step.
    Dt,
    /// The temperature.
    Celsius,
    /// Model time.
    T,
    /// Scratch (LOCALs, arguments, temporaries; 0 at the start of a phase).
    Scratch,
    /// NET_RECEIVE argument `k` (0: the weight; then per-NetCon state), the delivering NetCon's.
    Arg(u32),
    /// NET_RECEIVE's `flag`.
    Flag,
    /// The node's area, µm² (NEURON's `area`).
    Area,
}

/// A membrane current a BREAKPOINT computes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Current {
    /// Column holding the current (a trial variable).
    pub col: u32,
    /// The ion accumulator it is added to (written ion currents).
    pub ion: Option<IonVar>,
    /// ELECTRODE_CURRENT (enters the node with the opposite sign).
    pub electrode: bool,
}

/// A TABLE of a FUNCTION or PROCEDURE, built as NEURON builds it (see `docs/nmodl.md`): when
/// `usetable` is on and, before a phase, it was never built or a DEPEND value changed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TableDef {
    /// The FUNCTION or PROCEDURE.
    pub name: String,
    /// Instructions computing `from` and `to`.
    pub bounds: Vec<Instr>,
    /// FROM.
    pub from: Src,
    /// TO.
    pub to: Src,
    /// WITH: number of intervals.
    pub with: u32,
    /// Columns whose change triggers a rebuild.
    pub depend: Vec<u32>,
    /// The column the body reads its argument from.
    pub arg: u32,
    /// The body (the callable at `arg`).
    pub body: Vec<Instr>,
    /// The tabulated columns after the body ran.
    pub outputs: Vec<u32>,
}

/// A lowered density mechanism.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Program {
    /// SUFFIX.
    pub name: String,
    /// Source file.
    pub file: String,
    /// Catalogue parameters (PARAMETERs other than ion variables and `v`) with their defaults.
    pub params: Vec<(String, f64)>,
    /// Trial variables: STATEs, then ASSIGNEDs, then written ion currents.
    pub vars: Vec<String>,
    /// Columns.
    pub columns: Vec<Column>,
    /// The column of `v`.
    pub v_col: u32,
    /// INITIAL (with the STATEs' initial values first).
    pub initial: Vec<Instr>,
    /// BREAKPOINT without its SOLVE (run at `v + 0.001`, then at `v`).
    pub current: Vec<Instr>,
    /// The currents the BREAKPOINT sums, in NEURON's order.
    pub currents: Vec<Current>,
    /// The state update (the SOLVE'd block; for a mechanism without currents also the rest of
    /// BREAKPOINT).
    pub state: Vec<Instr>,
    /// Concentrations written back to the ions after INITIAL and the state update.
    pub conc_writes: Vec<(u32, IonVar)>,
    /// TABLEs.
    pub tables: Vec<TableDef>,
    /// Random123 streams of the instances (`RANDOM` variables, the Random pointer idiom).
    pub streams: Vec<Stream>,
    /// Density mechanism, point process or artificial cell.
    #[serde(default)]
    pub kind: ProgramKind,
    /// NET_RECEIVE (point processes).
    #[serde(default)]
    pub net_receive: Option<NetReceiveCode>,
    /// Trial variables that are one value per mechanism (GLOBALs a point process writes): after
    /// each phase every instance holds the value the last instance computed.
    #[serde(default)]
    pub shared_vars: Vec<u32>,
}

impl Program {
    /// Whether the program draws from the legacy process-wide generator (its instances must
    /// then run one at a time, in order, as NEURON's do).
    pub fn uses_scop(&self) -> bool {
        fn any(v: &[Instr]) -> bool {
            v.iter().any(|i| match i {
                Instr::Random { op, .. } => op.is_scop(),
                Instr::If {
                    then, otherwise, ..
                } => any(then) || any(otherwise),
                Instr::While { test, body, .. } => any(test) || any(body),
                Instr::Newton { function, .. } | Instr::Sparse { function, .. } => any(function),
                _ => false,
            })
        }
        any(&self.initial)
            || any(&self.current)
            || any(&self.state)
            || self.tables.iter().any(|t| any(&t.body) || any(&t.bounds))
    }
    /// Whether the program writes the intracellular calcium concentration.
    pub fn writes_cai(&self) -> bool {
        self.conc_writes.iter().any(|&(_, x)| x == IonVar::Cai)
    }
    /// Number of instructions, nested ones included, of (initial, current, state).
    pub fn sizes(&self) -> (usize, usize, usize) {
        fn count(v: &[Instr]) -> usize {
            v.iter()
                .map(|i| match i {
                    Instr::If {
                        then, otherwise, ..
                    } => 1 + count(then) + count(otherwise),
                    Instr::While { test, body, .. } => 1 + count(test) + count(body),
                    Instr::Newton { function, .. } | Instr::Sparse { function, .. } => {
                        1 + count(function)
                    }
                    _ => 1,
                })
                .sum()
        }
        (
            count(&self.initial),
            count(&self.current),
            count(&self.state),
        )
    }
}

/// Why a model could not be lowered (a construct the executor does not implement yet).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{file}:{line}:{col}: cannot compile `{construct}`: {message}")]
pub struct LowerError {
    /// File.
    pub file: String,
    /// 1-based line.
    pub line: u32,
    /// 1-based column.
    pub col: u32,
    /// The construct concerned.
    pub construct: String,
    /// Why.
    pub message: String,
}

fn err(span: &Span, construct: impl Into<String>, message: impl Into<String>) -> LowerError {
    LowerError {
        file: span.file.to_string(),
        line: span.line,
        col: span.col,
        construct: construct.into(),
        message: message.into(),
    }
}

/// `dst = a op b`, with `pow(a, 2.0)` as `a*a`: the C compiler NEURON's mechanisms are built
/// with (gcc, -O2, no fast-math) folds a square into a multiplication, which is exact, while
/// the C library's `pow` is only nearly correctly rounded (they differ in the last bit for
/// rare arguments; K_Tst's `((v+71)/59)^2` meets some).
fn pow_folded(op: Op2, dst: u32, a: Src, b: Src) -> Instr {
    if op == Op2::Pow && b == Src::K(2.0) {
        return Instr::Bin {
            op: Op2::Mul,
            dst,
            a,
            b: a,
        };
    }
    Instr::Bin { op, dst, a, b }
}

/// Deepest nesting of inlined FUNCTION/PROCEDURE calls (recursion is refused).
const MAX_INLINE: usize = 16;

struct Lowerer<'m> {
    m: &'m AnalysedModel,
    columns: Vec<Column>,
    /// Names of the model's columns (variables, `v`, ions, built-ins).
    globals: HashMap<String, u32>,
    /// Local scopes of the block being lowered (innermost last).
    scopes: Vec<HashMap<String, u32>>,
    free: Vec<u32>,
    temp: Vec<bool>,
    inline_stack: Vec<String>,
    params: Vec<(String, f64)>,
    tables: Vec<TableDef>,
    /// The `usetable` parameter's column, once a TABLE needs it.
    usetable: Option<u32>,
    /// Random123 streams declared.
    streams: Vec<Stream>,
    /// The `attached` parameter's column of each Random pointer.
    attached: HashMap<String, u32>,
    /// The columns of each element of array variables (file-scope LOCAL arrays).
    arrays: HashMap<String, Vec<u32>>,
}

/// Visits every statement of `b`, nested blocks included, in order.
fn each_stmt<'a>(b: &'a Block, f: &mut dyn FnMut(&'a Stmt)) {
    for s in &b.stmts {
        f(s);
        match &s.kind {
            StmtKind::If {
                then, otherwise, ..
            } => {
                each_stmt(then, f);
                let mut o = otherwise.as_deref();
                while let Some(st) = o {
                    f(st);
                    match &st.kind {
                        StmtKind::Block(b) => {
                            each_stmt(b, f);
                            o = None;
                        }
                        StmtKind::If {
                            then, otherwise, ..
                        } => {
                            each_stmt(then, f);
                            o = otherwise.as_deref();
                        }
                        _ => o = None,
                    }
                }
            }
            StmtKind::While { body, .. } | StmtKind::Block(body) => each_stmt(body, f),
            _ => {}
        }
    }
}

/// Lowers a density mechanism.
pub fn lower(m: &AnalysedModel) -> Result<Program, LowerError> {
    let top = &m.module.span;
    let executed = |k: &IdiomKind| {
        Lowerer::executes(k)
            || matches!(
                k,
                IdiomKind::CommentOnlyVerbatim
                    | IdiomKind::TrailingReturn
                    | IdiomKind::RandomApiDeclarations
                    | IdiomKind::VectorApiDeclarations
            )
    };
    if !m.idioms.iter().all(|i| executed(&i.kind)) {
        return Err(err(top, "VERBATIM", "idioms are not executed yet"));
    }
    let mut l = Lowerer {
        m,
        columns: Vec::new(),
        globals: HashMap::new(),
        scopes: Vec::new(),
        free: Vec::new(),
        temp: Vec::new(),
        inline_stack: Vec::new(),
        params: Vec::new(),
        tables: Vec::new(),
        usetable: None,
        streams: Vec::new(),
        attached: HashMap::new(),
        arrays: HashMap::new(),
    };
    let mut vars: Vec<String> = Vec::new();
    let mut var_span = HashMap::new();
    let mut written_params: Vec<(String, u32)> = Vec::new();
    let v_col = l.column(Column::V);
    l.globals.insert("v".into(), v_col);
    for (name, c) in [
        ("dt", Column::Dt),
        ("celsius", Column::Celsius),
        ("t", Column::T),
    ] {
        let col = l.column(c);
        l.globals.insert(name.into(), col);
    }
    if m.kind != crate::model::MechanismKind::Density {
        // A density mechanism's `area` (the segment's) is not provided yet.
        let col = l.column(Column::Area);
        l.globals.insert("area".into(), col);
    }
    // Ion variables.
    for var in &m.variables {
        if var.ion.is_some() {
            let span = var.span.as_ref().unwrap_or(top);
            if var.array.is_some() {
                return Err(err(
                    span,
                    &var.name,
                    "array ion variables are not supported",
                ));
            }
            if var.current.is_some() {
                continue; // a written current: a trial variable (below)
            }
            let iv = IonVar::from_name(&var.name).ok_or_else(|| {
                err(
                    span,
                    &var.name,
                    "isf's engine keeps only na, k and ca with ena, ek, eca, cai, cao and \
                     their currents",
                )
            })?;
            let col = l.column(Column::Ion(iv));
            l.globals.insert(var.name.clone(), col);
        }
    }
    for var in &m.variables {
        let span = var.span.as_ref().unwrap_or(top);
        match var.class {
            VarClass::Parameter if var.ion.is_none() => {
                if var.array.is_some() {
                    return Err(err(
                        span,
                        &var.name,
                        "array PARAMETERs are not supported yet",
                    ));
                }
                let col = l.column(Column::Param(l.params.len() as u32));
                l.params
                    .push((var.name.clone(), var.default.unwrap_or(0.0)));
                if var.written {
                    // A PARAMETER some block assigns keeps its value from then on: a trial
                    // variable (below) that INITIAL starts from the parameter.
                    written_params.push((var.name.clone(), col));
                } else {
                    l.globals.insert(var.name.clone(), col);
                }
            }
            VarClass::Pointer | VarClass::Random => {} // streams, below
            VarClass::FileLocal => {
                // One C static per file in NEURON; every use in the corpus writes it before
                // reading it within one call, so a scratch column per element behaves alike.
                match var.array {
                    None => {
                        let col = l.scratch();
                        l.globals.insert(var.name.clone(), col);
                    }
                    Some(n) => {
                        let cols = (0..n).map(|_| l.scratch()).collect();
                        l.arrays.insert(var.name.clone(), cols);
                    }
                }
            }
            _ => {}
        }
    }
    // Trial variables: STATEs, ASSIGNEDs, written ion currents.
    let mut state_init = Vec::new();
    for pass in 0..3 {
        for var in &m.variables {
            let span = var.span.as_ref().unwrap_or(top);
            let take = match pass {
                0 => var.class == VarClass::State && var.ion.is_none(),
                1 => var.class == VarClass::Assigned && var.ion.is_none(),
                _ => var.ion.is_some() && var.current.is_some(),
            };
            if !take {
                continue;
            }
            if var.array.is_some() {
                return Err(err(
                    span,
                    &var.name,
                    "array variables are not supported yet",
                ));
            }
            if pass == 2 && IonVar::from_name(&var.name).is_none() {
                return Err(err(span, &var.name, "isf's engine keeps only na, k and ca"));
            }
            let col = l.column(Column::Var(vars.len() as u32));
            vars.push(var.name.clone());
            var_span.insert(var.name.clone(), span.clone());
            l.globals.insert(var.name.clone(), col);
            if pass == 0 {
                state_init.push((col, var.default.unwrap_or(0.0)));
            }
        }
    }
    let mut stream_init = Vec::new();
    for var in &m.variables {
        if matches!(var.class, VarClass::Pointer | VarClass::Random) {
            l.declare_stream(var, &mut vars, &mut stream_init)?;
        }
    }
    let mut param_init = Vec::new();
    for (name, pcol) in &written_params {
        let col = l.column(Column::Var(vars.len() as u32));
        vars.push(name.clone());
        l.globals.insert(name.clone(), col);
        param_init.push(Instr::Un {
            op: Op1::Copy,
            dst: col,
            a: Src::Col(*pcol),
        });
    }
    // Currents in NEURON's order: written ion currents (USEION order), then NONSPECIFIC, then
    // ELECTRODE.
    let mut currents = Vec::new();
    for ion in &m.ions {
        for w in &ion.write {
            if let Some(var) = m.var(w) {
                if let Some(CurrentKind::Ion(_)) = var.current {
                    currents.push(Current {
                        col: l.globals[w],
                        ion: IonVar::from_name(w),
                        electrode: false,
                    });
                }
            }
        }
    }
    for (names, electrode) in [
        (&m.nonspecific_currents, false),
        (&m.electrode_currents, true),
    ] {
        for n in names {
            let col = *l
                .globals
                .get(n)
                .ok_or_else(|| err(top, n, "current is not a variable"))?;
            currents.push(Current {
                col,
                ion: None,
                electrode,
            });
        }
    }
    let mut conc_writes = Vec::new();
    for ion in &m.ions {
        for w in &ion.write {
            if let Some(Column::Ion(iv)) = l.globals.get(w).map(|&c| l.columns[c as usize]) {
                if !matches!(iv, IonVar::Ina | IonVar::Ik | IonVar::Ica) {
                    conc_writes.push((l.globals[w], iv));
                }
            }
        }
    }

    // INITIAL: PARAMETERs that blocks assign copied to their per-instance columns, the streams
    // as configured, the STATEs' initial values, the body.
    let mut initial: Vec<Instr> = param_init;
    initial.extend(stream_init);
    initial.extend(state_init.iter().map(|&(col, x)| Instr::Un {
        op: Op1::Copy,
        dst: col,
        a: Src::K(x),
    }));
    let mut breakpoint = None;
    let mut initial_block = None;
    for item in &m.module.items {
        match &item.kind {
            ItemKind::Initial(b) => initial_block = Some(b),
            ItemKind::Breakpoint(b) => breakpoint = Some(b),
            _ => {}
        }
    }
    if let Some(b) = initial_block {
        l.block(b, &mut initial, &mut |l, s, out| match &s.kind {
            StmtKind::Solve { block, .. } => {
                l.solve_in_initial(&block.name, &s.span, out)?;
                Ok(true)
            }
            _ => Ok(false),
        })?;
    }
    // BREAKPOINT: SOLVEs go to the state update.
    let mut current = Vec::new();
    let mut state = Vec::new();
    if let Some(b) = breakpoint {
        for s in &b.stmts {
            if let StmtKind::Solve { block, .. } = &s.kind {
                l.solve(&block.name, &s.span, &mut state)?;
            }
        }
        let target = if currents.is_empty() {
            &mut state
        } else {
            &mut current
        };
        l.block(b, target, &mut |_, s, _| {
            Ok(matches!(s.kind, StmtKind::Solve { .. }))
        })?;
    }
    let (kind, net_receive, shared_vars) = point::lower_events(&mut l, &vars, v_col)?;
    Ok(Program {
        name: m.name.clone(),
        file: m.file.clone(),
        params: l.params,
        vars,
        columns: l.columns,
        v_col,
        initial,
        current,
        currents,
        state,
        conc_writes,
        tables: l.tables,
        streams: l.streams,
        kind,
        net_receive,
        shared_vars,
    })
}

/// A hook that may lower a statement itself (returns true when it did).
type Hook<'h, 'm> =
    dyn FnMut(&mut Lowerer<'m>, &Stmt, &mut Vec<Instr>) -> Result<bool, LowerError> + 'h;

impl<'m> Lowerer<'m> {
    fn column(&mut self, c: Column) -> u32 {
        self.columns.push(c);
        self.temp.push(false);
        (self.columns.len() - 1) as u32
    }

    fn scratch(&mut self) -> u32 {
        self.column(Column::Scratch)
    }

    fn tmp(&mut self) -> u32 {
        if let Some(c) = self.free.pop() {
            return c;
        }
        let c = self.scratch();
        self.temp[c as usize] = true;
        c
    }

    fn release(&mut self, s: Src) {
        if let Src::Col(c) = s {
            if self.temp[c as usize] && !self.free.contains(&c) {
                self.free.push(c);
            }
        }
    }

    fn lookup(&self, name: &str) -> Option<Src> {
        for s in self.scopes.iter().rev() {
            if let Some(&c) = s.get(name) {
                return Some(Src::Col(c));
            }
        }
        if let Some(&c) = self.globals.get(name) {
            return Some(Src::Col(c));
        }
        self.m
            .constants
            .iter()
            .find(|k| k.name == name)
            .map(|k| Src::K(k.value))
    }

    fn solve(&mut self, name: &str, span: &Span, out: &mut Vec<Instr>) -> Result<(), LowerError> {
        let m = self.m;
        let solve = m
            .solves
            .iter()
            .find(|s| s.block == name && s.in_breakpoint)
            .ok_or_else(|| err(span, name, "SOLVE not analysed"))?;
        if solve.steadystate {
            return Err(err(span, name, "STEADYSTATE is not executed yet"));
        }
        match (solve.target, solve.effective_method) {
            (SolveTarget::Procedure, _) => {
                let call = Expr {
                    kind: ExprKind::Call(
                        crate::ast::Ident {
                            name: name.to_string(),
                            span: span.clone(),
                        },
                        Vec::new(),
                    ),
                    span: span.clone(),
                };
                let r = self.expr(&call, out)?;
                self.release(r);
                Ok(())
            }
            (SolveTarget::Derivative, Method::Derivimplicit) if !solve.method_given => {
                self.solve_derivative(name, span, methods::Integrator::EvaluateOnly, out)
            }
            (SolveTarget::Derivative, Method::Derivimplicit) => {
                self.solve_derivative(name, span, methods::Integrator::Derivimplicit, out)
            }
            (SolveTarget::Derivative, Method::Euler) => {
                self.solve_derivative(name, span, methods::Integrator::Euler, out)
            }
            (SolveTarget::Kinetic, Method::Sparse) => self.solve_kinetic(name, span, false, out),
            (SolveTarget::Derivative, Method::Cnexp) => {
                let body = m
                    .module
                    .items
                    .iter()
                    .find_map(|i| match &i.kind {
                        ItemKind::Derivative { name: n, body } if n.name == name => Some(body),
                        _ => None,
                    })
                    .ok_or_else(|| err(span, name, "no DERIVATIVE block of that name"))?;
                let steps = &solve.cnexp_steps;
                self.block(body, out, &mut |l, s, out| {
                    let StmtKind::Assign { target, .. } = &s.kind else {
                        return Ok(false);
                    };
                    if target.prime == 0 {
                        return Ok(false);
                    }
                    let step = steps
                        .iter()
                        .find(|st| st.state == target.name.name)
                        .ok_or_else(|| err(&s.span, &target.name.name, "no cnexp form"))?;
                    let dst = l.target(&target.name.name, &s.span)?;
                    l.assign(dst, &step.update, out)?;
                    Ok(true)
                })
            }
            (_, method) => Err(err(
                span,
                name,
                format!(
                    "METHOD {method:?} is not executed yet (cnexp, derivimplicit, euler and sparse are)"
                ),
            )),
        }
    }

    fn target(&self, name: &str, span: &Span) -> Result<u32, LowerError> {
        match self.lookup(name) {
            Some(Src::Col(c)) => match self.columns[c as usize] {
                Column::Param(_) => Err(err(
                    span,
                    name,
                    "assigning a PARAMETER is not supported yet",
                )),
                Column::Dt | Column::Celsius | Column::T => {
                    Err(err(span, name, "a built-in that may not be assigned"))
                }
                _ => Ok(c),
            },
            _ => Err(err(span, name, "not an assignable variable")),
        }
    }

    fn assign(&mut self, dst: u32, value: &Expr, out: &mut Vec<Instr>) -> Result<(), LowerError> {
        let r = self.expr(value, out)?;
        // The last instruction computed a temporary: let it write the target instead.
        if let Src::Col(t) = r {
            if self.temp[t as usize] {
                if let Some(Instr::Un { dst: d, .. } | Instr::Bin { dst: d, .. }) = out.last_mut() {
                    if *d == t {
                        *d = dst;
                        self.release(r);
                        return Ok(());
                    }
                }
            }
        }
        out.push(Instr::Un {
            op: Op1::Copy,
            dst,
            a: r,
        });
        self.release(r);
        Ok(())
    }

    fn block(
        &mut self,
        b: &Block,
        out: &mut Vec<Instr>,
        hook: &mut Hook<'_, 'm>,
    ) -> Result<(), LowerError> {
        self.scopes.push(HashMap::new());
        self.declare_locals(&b.locals);
        for s in &b.stmts {
            self.stmt(s, out, hook)?;
        }
        self.scopes.pop();
        Ok(())
    }

    fn declare_locals(&mut self, locals: &[crate::ast::LocalDecl]) {
        for d in locals {
            let c = self.scratch();
            self.scopes
                .last_mut()
                .expect("a scope")
                .insert(d.name.name.clone(), c);
        }
    }

    fn stmt(
        &mut self,
        s: &Stmt,
        out: &mut Vec<Instr>,
        hook: &mut Hook<'_, 'm>,
    ) -> Result<(), LowerError> {
        if hook(self, s, out)? {
            return Ok(());
        }
        match &s.kind {
            StmtKind::Assign { target, value, .. } => {
                if target.prime != 0 {
                    return Err(err(&s.span, &target.name.name, "not supported here yet"));
                }
                let dst = match &target.index {
                    Some(ix) => self.element(&target.name.name, ix, &s.span)?,
                    None => self.target(&target.name.name, &s.span)?,
                };
                self.assign(dst, value, out)
            }
            StmtKind::From {
                var,
                from,
                to,
                by,
                body,
            } => self.lower_from_loop(var, from, to, by.as_ref(), body, out, hook),
            StmtKind::Call(e) => {
                let r = self.expr(e, out)?;
                self.release(r);
                Ok(())
            }
            StmtKind::If {
                cond,
                then,
                otherwise,
            } => {
                let c = self.expr(cond, out)?;
                let mut t = Vec::new();
                self.block(then, &mut t, hook)?;
                let mut o = Vec::new();
                if let Some(st) = otherwise {
                    self.stmt(st, &mut o, hook)?;
                }
                // The condition's temporary stays reserved while the arms run.
                out.push(Instr::If {
                    cond: c,
                    then: t,
                    otherwise: o,
                });
                self.release(c);
                Ok(())
            }
            StmtKind::While { cond, body } => {
                let mut test = Vec::new();
                let c = self.expr(cond, &mut test)?;
                let mut b = Vec::new();
                self.block(body, &mut b, hook)?;
                out.push(Instr::While {
                    test,
                    cond: c,
                    body: b,
                });
                self.release(c);
                Ok(())
            }
            StmtKind::Block(b) => self.block(b, out, hook),
            StmtKind::Local(decls) => {
                self.declare_locals(decls);
                Ok(())
            }
            StmtKind::UnitsSwitch(_) | StmtKind::Mutex(_) | StmtKind::Conductance { .. } => Ok(()),
            StmtKind::Table { .. } => Ok(()),
            StmtKind::Verbatim(_) => Ok(()), // only recognised no-op idioms reach here
            StmtKind::Solve { block, .. } => Err(err(
                &s.span,
                &block.name,
                "SOLVE outside BREAKPOINT is not executed yet",
            )),
            other => Err(err(
                &s.span,
                format!("{:?}", std::mem::discriminant(other)),
                "statement not executed yet",
            )),
        }
    }

    fn expr(&mut self, e: &Expr, out: &mut Vec<Instr>) -> Result<Src, LowerError> {
        Ok(match &e.kind {
            ExprKind::Number(n, _) => Src::K(n.value),
            ExprKind::Var(id) => self
                .lookup(&id.name)
                .ok_or_else(|| err(&e.span, &id.name, "unknown name"))?,
            ExprKind::Paren(x) => self.expr(x, out)?,
            ExprKind::Index(id, ix) => Src::Col(self.element(&id.name, ix, &e.span)?),
            ExprKind::Prime(id, _) => {
                return Err(err(&e.span, &id.name, "not supported in expressions yet"))
            }
            ExprKind::Unary(op, x) => {
                let a = self.expr(x, out)?;
                self.release(a);
                let dst = self.tmp();
                let op = match op {
                    UnOp::Neg => Op1::Neg,
                    UnOp::Not => Op1::Not,
                };
                out.push(Instr::Un { op, dst, a });
                Src::Col(dst)
            }
            ExprKind::Binary(op, x, y) => {
                let a = self.expr(x, out)?;
                let b = self.expr(y, out)?;
                self.release(a);
                self.release(b);
                let dst = self.tmp();
                let op = match op {
                    BinOp::Or => Op2::Or,
                    BinOp::And => Op2::And,
                    BinOp::Gt => Op2::Gt,
                    BinOp::Ge => Op2::Ge,
                    BinOp::Lt => Op2::Lt,
                    BinOp::Le => Op2::Le,
                    BinOp::Eq => Op2::Eq,
                    BinOp::Ne => Op2::Ne,
                    BinOp::Add => Op2::Add,
                    BinOp::Sub => Op2::Sub,
                    BinOp::Mul => Op2::Mul,
                    BinOp::Div => Op2::Div,
                    BinOp::Pow => Op2::Pow,
                };
                out.push(pow_folded(op, dst, a, b));
                Src::Col(dst)
            }
            ExprKind::Call(f, args) => {
                if let Some(r) = self.random_call(f, args, &e.span, out)? {
                    return Ok(r);
                }
                if let Some(r) = self.event_call(f, args, &e.span, out)? {
                    return Ok(r);
                }
                let mut vals = Vec::with_capacity(args.len());
                for a in args {
                    match a {
                        Arg::Expr(x) => vals.push(self.expr(x, out)?),
                        Arg::Str(_, span) => {
                            return Err(err(span, &f.name, "string arguments are not supported"))
                        }
                    }
                }
                let op1 = match f.name.as_str() {
                    "exp" => Some(Op1::Exp),
                    "log" => Some(Op1::Log),
                    "log10" => Some(Op1::Log10),
                    "sqrt" => Some(Op1::Sqrt),
                    "fabs" => Some(Op1::Fabs),
                    "sin" => Some(Op1::Sin),
                    "cos" => Some(Op1::Cos),
                    "tan" => Some(Op1::Tan),
                    "asin" => Some(Op1::Asin),
                    "acos" => Some(Op1::Acos),
                    "atan" => Some(Op1::Atan),
                    "sinh" => Some(Op1::Sinh),
                    "cosh" => Some(Op1::Cosh),
                    "tanh" => Some(Op1::Tanh),
                    "floor" => Some(Op1::Floor),
                    "ceil" => Some(Op1::Ceil),
                    _ => None,
                };
                let op2 = match f.name.as_str() {
                    "pow" => Some(Op2::Pow),
                    "atan2" => Some(Op2::Atan2),
                    "fmod" => Some(Op2::Fmod),
                    _ => None,
                };
                if let (Some(op), [a]) = (op1, vals.as_slice()) {
                    self.release(*a);
                    let dst = self.tmp();
                    out.push(Instr::Un { op, dst, a: *a });
                    return Ok(Src::Col(dst));
                }
                if let (Some(op), [a, b]) = (op2, vals.as_slice()) {
                    self.release(*a);
                    self.release(*b);
                    let dst = self.tmp();
                    out.push(pow_folded(op, dst, *a, *b));
                    return Ok(Src::Col(dst));
                }
                self.inline(&f.name, &e.span, vals, out)?
            }
        })
    }

    /// A call of a FUNCTION or PROCEDURE: inlined; with a TABLE, the lookup where `usetable`
    /// is on and the inlined body elsewhere.
    fn inline(
        &mut self,
        name: &str,
        span: &Span,
        args: Vec<Src>,
        out: &mut Vec<Instr>,
    ) -> Result<Src, LowerError> {
        let m = self.m;
        let callable = m
            .callable(name)
            .ok_or_else(|| err(span, name, "this function is not executed yet"))?;
        if let Some(idiom) = callable.idiom.as_ref().filter(|k| Lowerer::executes(k)) {
            for a in args {
                self.release(a);
            }
            return self.idiom_call(name, span, idiom, out);
        }
        let Some(table) = &callable.table else {
            let ret = self.scratch();
            self.inline_body(name, span, &args, ret, out)?;
            for a in args {
                self.release(a);
            }
            return Ok(Src::Col(ret));
        };
        if args.len() != 1 {
            return Err(err(span, name, "a TABLE callable takes one argument"));
        }
        let id = match self.tables.iter().position(|t| t.name == name) {
            Some(i) => i,
            None => self.table_def(name, span, table)?,
        };
        let ret = self.scratch();
        let outs = if table.names.is_empty() {
            vec![ret]
        } else {
            let mut v = Vec::new();
            for n in &table.names {
                v.push(self.target(n, span)?);
            }
            v
        };
        let usetable = match self.usetable {
            Some(c) => c,
            None => {
                let c = self.column(Column::Param(self.params.len() as u32));
                self.params.push(("usetable".to_string(), 1.0));
                self.usetable = Some(c);
                c
            }
        };
        let mut exact = Vec::new();
        self.inline_body(name, span, &args, ret, &mut exact)?;
        out.push(Instr::If {
            cond: Src::Col(usetable),
            then: vec![Instr::Table {
                table: id as u32,
                arg: args[0],
                out: outs,
            }],
            otherwise: exact,
        });
        for a in args {
            self.release(a);
        }
        Ok(Src::Col(ret))
    }

    /// Lowers the TABLE of `name`; returns its index.
    fn table_def(
        &mut self,
        name: &str,
        span: &Span,
        table: &crate::model::Table,
    ) -> Result<usize, LowerError> {
        let mut bounds = Vec::new();
        let saved = std::mem::take(&mut self.scopes);
        let from = self.expr(&table.from, &mut bounds);
        let to = self.expr(&table.to, &mut bounds);
        self.scopes = saved;
        let (from, to) = (from?, to?);
        // The bounds' temporaries stay reserved (never released): the build reads them.
        let mut depend = Vec::new();
        for d in &table.depend {
            match self.lookup(d) {
                Some(Src::Col(c)) => depend.push(c),
                Some(Src::K(_)) => {}
                None => return Err(err(&table.span, d, "unknown DEPEND name")),
            }
        }
        let arg = self.scratch();
        let ret = self.scratch();
        let mut body = Vec::new();
        self.inline_body(name, span, &[Src::Col(arg)], ret, &mut body)?;
        let outputs = if table.names.is_empty() {
            vec![ret]
        } else {
            let mut v = Vec::new();
            for n in &table.names {
                v.push(self.target(n, &table.span)?);
            }
            v
        };
        if random::draws(&body) || random::draws(&bounds) {
            return Err(err(
                &table.span,
                name,
                "a TABLE of a callable that draws random numbers (NEURON would tabulate draws)",
            ));
        }
        self.tables.push(TableDef {
            name: name.to_string(),
            bounds,
            from,
            to,
            with: table.with,
            depend,
            arg,
            body,
            outputs,
        });
        Ok(self.tables.len() - 1)
    }

    /// Inlines the body of `name`: its arguments are copied into fresh columns (NMODL passes by
    /// value), its body runs in its own scope, a FUNCTION's value is `ret`.
    fn inline_body(
        &mut self,
        name: &str,
        span: &Span,
        args: &[Src],
        ret: u32,
        out: &mut Vec<Instr>,
    ) -> Result<(), LowerError> {
        let m = self.m;
        let callable = m
            .callable(name)
            .ok_or_else(|| err(span, name, "this function is not executed yet"))?;
        if callable.idiom.is_some() {
            return Err(err(span, name, "VERBATIM bodies are not executed"));
        }
        if self.inline_stack.len() >= MAX_INLINE || self.inline_stack.iter().any(|n| n == name) {
            return Err(err(span, name, "recursive or too deeply nested calls"));
        }
        let body = m
            .module
            .items
            .iter()
            .find_map(|i| match &i.kind {
                ItemKind::Function(c) | ItemKind::Procedure(c) if c.name.name == name => {
                    Some(&c.body)
                }
                _ => None,
            })
            .ok_or_else(|| err(span, name, "no body"))?;
        if args.len() != callable.params.len() {
            return Err(err(span, name, "wrong number of arguments"));
        }
        let mut scope = HashMap::new();
        for (p, a) in callable.params.iter().zip(args) {
            let c = self.scratch();
            out.push(Instr::Un {
                op: Op1::Copy,
                dst: c,
                a: *a,
            });
            scope.insert(p.clone(), c);
        }
        scope.insert(name.to_string(), ret);
        // The callee sees its own scope and the model's names only.
        let saved = std::mem::replace(&mut self.scopes, vec![scope]);
        self.inline_stack.push(name.to_string());
        let r = self.block(body, out, &mut |_, _, _| Ok(false));
        self.inline_stack.pop();
        self.scopes = saved;
        r
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lowers_a_gate_channel() {
        let src = "NEURON { SUFFIX g USEION k READ ek WRITE ik RANGE gbar }
            PARAMETER { gbar = 0.1 }
            ASSIGNED { v ek ik minf }
            STATE { m }
            BREAKPOINT { SOLVE s METHOD cnexp  ik = gbar*m*(v-ek) }
            INITIAL { rates(v) m = minf }
            DERIVATIVE s { rates(v) m' = (minf-m)/2 }
            PROCEDURE rates(x) { LOCAL a  a = exp(-x/10)  if (x == 0) { minf = 1 } else { minf = 1/(1+a) } }";
        let m = crate::analyse_str("g.mod", src).unwrap();
        let p = lower(&m).unwrap();
        assert_eq!(p.params, vec![("gbar".to_string(), 0.1)]);
        assert_eq!(p.vars, vec!["m", "minf", "ik"]);
        assert_eq!(p.currents.len(), 1);
        assert_eq!(p.currents[0].ion, Some(IonVar::Ik));
        assert!(!p.state.is_empty() && !p.current.is_empty() && !p.initial.is_empty());
        let text = serde_json::to_string(&p).unwrap();
        let back: Program = serde_json::from_str(&text).unwrap();
        assert_eq!(back, p);
    }

    #[test]
    fn refuses_what_is_not_executed_yet_with_position() {
        let src = "NEURON { SUFFIX g }
            STATE { a b }
            BREAKPOINT { SOLVE k METHOD euler }
            KINETIC k { ~ a <-> b (1, 2) }";
        let m = crate::analyse_str("e.mod", src).unwrap();
        let e = lower(&m).unwrap_err();
        assert_eq!((e.file.as_str(), e.line), ("e.mod", 3), "{e}");
        assert!(e.to_string().contains("Euler"), "{e}");
    }
}
