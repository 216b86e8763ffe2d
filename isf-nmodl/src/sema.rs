//! Semantic analysis: symbol table, name and arity checks, units, NEURON's refusals, isf's
//! refusals, idiom recognition. Produces an [`AnalysedModel`].

use std::collections::{BTreeSet, HashMap, HashSet};

use crate::ast::*;
use crate::error::{Diagnostic, Error, ErrorKind, SourceFile, Span};
use crate::idiom;
use crate::model::Callable;
use crate::model::*;
use crate::units::{UnitDb, UnitError};

/// Arity of a NEURON built-in function: exact count, or a range.
#[derive(Clone, Copy)]
enum Arity {
    Exact(usize),
    Range(usize, usize),
    AtLeast(usize),
}

impl Arity {
    fn accepts(self, n: usize) -> bool {
        match self {
            Arity::Exact(k) => n == k,
            Arity::Range(a, b) => (a..=b).contains(&n),
            Arity::AtLeast(k) => n >= k,
        }
    }
    fn describe(self) -> String {
        match self {
            Arity::Exact(k) => format!("{k}"),
            Arity::Range(a, b) => format!("{a} to {b}"),
            Arity::AtLeast(k) => format!("at least {k}"),
        }
    }
}

/// The math library and NEURON's event/random functions isf supports.
fn builtin_function(name: &str) -> Option<Arity> {
    use Arity::*;
    Some(match name {
        "exp" | "log" | "log10" | "sqrt" | "fabs" | "sin" | "cos" | "tan" | "asin" | "acos"
        | "atan" | "sinh" | "cosh" | "tanh" | "floor" | "ceil" | "erf" | "factorial" => Exact(1),
        "atan2" | "fmod" | "pow" => Exact(2),
        "exprand" => Exact(1),
        "normrand" => Exact(2),
        "poisrand" => Exact(1),
        "scop_random" => Exact(0),
        "set_seed" => Exact(1),
        "at_time" => Exact(1),
        "net_send" => Exact(2),
        "net_event" => Exact(1),
        "net_move" => Exact(1),
        "state_discontinuity" => Exact(2),
        "printf" => AtLeast(1),
        "nrn_ghk" => Exact(4),
        "random_negexp" | "random_dpick" | "random_ipick" => Exact(1),
        "random_uniform" | "random_normal" => Range(1, 3),
        "random_setseq" => Exact(2),
        "random_setids" => Exact(4),
        _ => return None,
    })
}

/// NEURON functions the translator knows but isf does not support.
const UNSUPPORTED_FUNCTIONS: &[&str] = &[
    "first_time",
    "error",
    "f_flux",
    "b_flux",
    "prterr",
    "threshold",
    "force",
    "deflate",
    "expfit",
    "derivs",
    "spline",
    "hyperbol",
    "revhyperbol",
    "sigmoid",
    "revsigmoid",
    "harmonic",
    "squarewave",
    "sawtooth",
    "revsawtooth",
    "ramp",
    "pulse",
    "perpulse",
    "step",
    "perstep",
    "gauss",
    "poisson",
    "setseed",
    "boundary",
    "romberg",
    "legendre",
    "invert",
    "stepforce",
    "schedule",
    "nrn_pointing",
    "nrn_random_play",
];

const METHOD_NAMES: &[&str] = &[
    "runge",
    "euler",
    "newton",
    "simeq",
    "_advance",
    "sparse",
    "derivimplicit",
    "cnexp",
    "after_cvode",
    "cvode_t",
    "cvode_t_v",
];

/// NEURON variables a model may not assign ("special NEURON variable").
const READ_ONLY_BUILTINS: &[&str] = &["area", "diam", "t", "dt", "celsius"];

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Ctx {
    Initial,
    Breakpoint,
    Derivative,
    Kinetic,
    Linear,
    NonLinear,
    Function,
    Procedure,
    NetReceive,
    NetReceiveInitial,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum BlockKind {
    Derivative,
    Kinetic,
    Linear,
    NonLinear,
}

struct SolveSeen {
    block: Ident,
    method: Option<Ident>,
    steadystate: bool,
    ctx: Ctx,
    span: Span,
}

struct Cx<'a> {
    src: &'a SourceFile,
    /// Included files, for the source lines of their diagnostics.
    included: &'a [SourceFile],
    diags: Vec<Diagnostic>,
    db: UnitDb,
    vars: Vec<Variable>,
    var_index: HashMap<String, usize>,
    constants: Vec<Constant>,
    const_index: HashMap<String, usize>,
    callables: Vec<Callable>,
    callable_index: HashMap<String, usize>,
    blocks: HashMap<String, (BlockKind, Span)>,
    idioms: Vec<Idiom>,
    skip_body: HashSet<String>,
    hoc_only: HashSet<String>,
    randoms: HashSet<String>,
    builtins_used: BTreeSet<&'static str>,
    scopes: Vec<HashSet<String>>,
    solves: Vec<SolveSeen>,
    has_net_receive: bool,
    net_send_used: bool,
    net_event_used: bool,
    uses_flag: bool,
    table_seen: bool,
    mech_kind: MechanismKind,
}

/// Analyses a parsed file. All semantic errors of the file are collected.
pub fn analyse(src: &SourceFile, module: Module) -> Result<AnalysedModel, Error> {
    analyse_with_includes(src, &[], module)
}

/// [`analyse`] of a module whose INCLUDEs were replaced by the items of `included` files.
pub fn analyse_with_includes(
    src: &SourceFile,
    included: &[SourceFile],
    module: Module,
) -> Result<AnalysedModel, Error> {
    let mut cx = Cx {
        src,
        included,
        diags: Vec::new(),
        db: UnitDb::new(),
        vars: Vec::new(),
        var_index: HashMap::new(),
        constants: Vec::new(),
        const_index: HashMap::new(),
        callables: Vec::new(),
        callable_index: HashMap::new(),
        blocks: HashMap::new(),
        idioms: Vec::new(),
        skip_body: HashSet::new(),
        hoc_only: HashSet::new(),
        randoms: HashSet::new(),
        builtins_used: BTreeSet::new(),
        scopes: Vec::new(),
        solves: Vec::new(),
        has_net_receive: false,
        net_send_used: false,
        net_event_used: false,
        uses_flag: false,
        table_seen: false,
        mech_kind: MechanismKind::Density,
    };
    let model = cx.run(module);
    if cx.diags.is_empty() {
        Ok(model)
    } else {
        cx.diags.sort_by_key(|d| (d.line, d.col));
        Err(Error {
            diagnostics: cx.diags,
        })
    }
}

fn file_stem(name: &str) -> String {
    let base = name.rsplit(['/', '\\']).next().unwrap_or(name);
    base.strip_suffix(".mod").unwrap_or(base).to_string()
}

impl<'a> Cx<'a> {
    /// The source a span belongs to (the file itself or an included one).
    fn source_of(&self, span: &Span) -> &'a SourceFile {
        self.included
            .iter()
            .find(|f| f.name == span.file)
            .unwrap_or(self.src)
    }

    fn err(&mut self, span: &Span, kind: ErrorKind, construct: &str, msg: impl Into<String>) {
        let src = self.source_of(span);
        self.diags
            .push(Diagnostic::at(src, span, kind, construct, msg));
    }

    fn unsupported(&mut self, span: &Span, construct: &str, why: &str) {
        self.err(
            span,
            ErrorKind::Unsupported,
            construct,
            format!("{construct} is not supported: {why}"),
        );
    }

    fn run(&mut self, module: Module) -> AnalysedModel {
        let mut title = None;
        let mut name: Option<String> = None;
        let mut threadsafe = false;
        let mut ions: Vec<IonUse> = Vec::new();
        let mut nonspecific = Vec::new();
        let mut electrode = Vec::new();
        let mut range: Vec<Ident> = Vec::new();
        let mut global: Vec<Ident> = Vec::new();
        let mut pointers: Vec<(Ident, Span)> = Vec::new();
        let mut has_initial = false;
        let mut has_breakpoint = false;

        // Pass 1: NEURON block, UNITS, declarations, callables and block names.
        for item in &module.items {
            match &item.kind {
                ItemKind::Title(t) => title = Some(t.clone()),
                ItemKind::Neuron(stmts) => {
                    for s in stmts {
                        match &s.kind {
                            NeuronKind::Suffix { keyword, name: n } => {
                                if name.is_some() {
                                    self.err(
                                        &s.span,
                                        ErrorKind::Semantic,
                                        keyword,
                                        "a second SUFFIX/POINT_PROCESS: merging mechanisms is not supported (NEURON refuses it)",
                                    );
                                }
                                name = Some(n.name.clone());
                                self.mech_kind = match keyword.as_str() {
                                    "POINT_PROCESS" => MechanismKind::PointProcess,
                                    "ARTIFICIAL_CELL" => MechanismKind::ArtificialCell,
                                    _ => MechanismKind::Density,
                                };
                            }
                            NeuronKind::UseIon {
                                ion,
                                read,
                                write,
                                valence,
                            } => {
                                for v in read.iter().chain(write) {
                                    if !is_ion_variable(&ion.name, &v.name) {
                                        self.err(
                                            &v.span,
                                            ErrorKind::Semantic,
                                            &v.name,
                                            format!(
                                                "`{v}` is not a variable of ion `{i}` (e{i}, {i}i, {i}o or i{i})",
                                                v = v.name,
                                                i = ion.name
                                            ),
                                        );
                                    }
                                }
                                if let Some(prev) = ions.iter_mut().find(|u| u.name == ion.name) {
                                    prev.read.extend(read.iter().map(|i| i.name.clone()));
                                    prev.write.extend(write.iter().map(|i| i.name.clone()));
                                } else {
                                    ions.push(IonUse {
                                        name: ion.name.clone(),
                                        read: read.iter().map(|i| i.name.clone()).collect(),
                                        write: write.iter().map(|i| i.name.clone()).collect(),
                                        valence: valence.as_ref().map(|v| v.value),
                                        span: s.span.clone(),
                                    });
                                }
                            }
                            NeuronKind::Nonspecific(v) => nonspecific.extend(v.iter().cloned()),
                            NeuronKind::Electrode(v) => electrode.extend(v.iter().cloned()),
                            NeuronKind::Range(v) => range.extend(v.iter().cloned()),
                            NeuronKind::Global(v) => global.extend(v.iter().cloned()),
                            NeuronKind::Pointer(v) => {
                                pointers.extend(v.iter().map(|i| (i.clone(), s.span.clone())))
                            }
                            NeuronKind::BbCorePointer(_) => self.unsupported(
                                &s.span,
                                "BBCOREPOINTER",
                                "it passes opaque C data to CoreNEURON, which isf cannot interpret",
                            ),
                            NeuronKind::External(_) => self.unsupported(
                                &s.span,
                                "EXTERNAL",
                                "it reads variables of other mechanisms through global C symbols",
                            ),
                            NeuronKind::Random(v) => {
                                for r in v {
                                    self.randoms.insert(r.name.clone());
                                }
                            }
                            NeuronKind::ThreadSafe => threadsafe = true,
                            NeuronKind::Represents(_) => {}
                        }
                    }
                }
                ItemKind::Units(defs) => self.units_block(defs),
                ItemKind::Parameter(ps) => {
                    for p in ps {
                        self.check_unit_opt(&p.unit);
                        self.declare(Variable {
                            name: p.name.name.clone(),
                            class: VarClass::Parameter,
                            visibility: Visibility::Global,
                            unit: p.unit.as_ref().map(|u| u.text.trim().to_string()),
                            default: Some(p.value.as_ref().map_or(0.0, |n| n.value)),
                            limits: p.limits.as_ref().map(|(a, b)| (a.value, b.value)),
                            array: p.array,
                            ion: None,
                            current: None,
                            written: false,
                            span: Some(p.name.span.clone()),
                        });
                    }
                }
                ItemKind::Assigned(vs) | ItemKind::State(vs) => {
                    let state = matches!(item.kind, ItemKind::State(_));
                    for v in vs {
                        self.check_unit_opt(&v.unit);
                        self.declare(Variable {
                            name: v.name.name.clone(),
                            class: if state {
                                VarClass::State
                            } else {
                                VarClass::Assigned
                            },
                            visibility: if state {
                                Visibility::Range
                            } else {
                                Visibility::Hidden
                            },
                            unit: v.unit.as_ref().map(|u| u.text.trim().to_string()),
                            default: v.start.as_ref().map(|n| n.value),
                            limits: v.range.as_ref().map(|(a, b)| (a.value, b.value)),
                            array: v.array,
                            ion: None,
                            current: None,
                            written: false,
                            span: Some(v.name.span.clone()),
                        });
                    }
                }
                ItemKind::Constant(cs) => {
                    for c in cs {
                        self.check_unit_opt(&c.unit);
                        self.add_constant(&c.name, c.value.value);
                    }
                }
                ItemKind::Independent(ds) => {
                    for d in ds {
                        self.check_unit_opt(&d.unit);
                        if d.name.name != "t" {
                            self.err(
                                &d.name.span,
                                ErrorKind::Semantic,
                                &d.name.name,
                                "only `t` can be the INDEPENDENT variable",
                            );
                        }
                    }
                }
                ItemKind::Local(ls) => {
                    for l in ls {
                        self.declare(Variable {
                            name: l.name.name.clone(),
                            class: VarClass::FileLocal,
                            visibility: Visibility::Global,
                            unit: None,
                            default: Some(0.0),
                            limits: None,
                            array: l.array,
                            ion: None,
                            current: None,
                            written: false,
                            span: Some(l.name.span.clone()),
                        });
                    }
                }
                ItemKind::Define { .. } | ItemKind::UnitsSwitch(_) => {}
                ItemKind::Verbatim(_) => {}
                ItemKind::Include(_) => self.unsupported(
                    &item.span,
                    "INCLUDE",
                    "included files are read only when analysing a file (`analyse_file`)",
                ),
                ItemKind::Initial(_) => has_initial = true,
                ItemKind::Breakpoint(_) => has_breakpoint = true,
                ItemKind::Constructor(_) => self.unsupported(
                    &item.span,
                    "CONSTRUCTOR",
                    "it runs C code when NEURON creates an instance",
                ),
                ItemKind::Destructor(_) => self.unsupported(
                    &item.span,
                    "DESTRUCTOR",
                    "it runs C code when NEURON destroys an instance",
                ),
                ItemKind::Derivative { name, .. } => self.add_block(name, BlockKind::Derivative),
                ItemKind::Kinetic { name, .. } => self.add_block(name, BlockKind::Kinetic),
                ItemKind::Linear { name, .. } => self.add_block(name, BlockKind::Linear),
                ItemKind::NonLinear { name, .. } => self.add_block(name, BlockKind::NonLinear),
                ItemKind::Discrete { .. } => self.unsupported(
                    &item.span,
                    "DISCRETE",
                    "discrete-time blocks are not part of NEURON's fixed-step simulations isf reproduces",
                ),
                ItemKind::Function(c) | ItemKind::Procedure(c) => {
                    let kind = if matches!(item.kind, ItemKind::Function(_)) {
                        CallableKind::Function
                    } else {
                        CallableKind::Procedure
                    };
                    for a in &c.args {
                        self.check_unit_opt(&a.unit);
                    }
                    self.check_unit_opt(&c.unit);
                    self.add_callable(Callable {
                        name: c.name.name.clone(),
                        kind,
                        params: c.args.iter().map(|a| a.name.name.clone()).collect(),
                        table: None,
                        idiom: None,
                        span: c.name.span.clone(),
                    });
                }
                ItemKind::FunctionTable { name, .. } => self.unsupported(
                    &name.span,
                    "FUNCTION_TABLE",
                    "its values come from hoc Vectors at run time",
                ),
                ItemKind::NetReceive { args, .. } => {
                    if self.has_net_receive {
                        self.err(
                            &item.span,
                            ErrorKind::Semantic,
                            "NET_RECEIVE",
                            "only one NET_RECEIVE block is allowed",
                        );
                    }
                    self.has_net_receive = true;
                    for a in args {
                        self.check_unit_opt(&a.unit);
                    }
                }
                ItemKind::BeforeAfter { when, .. } => self.unsupported(
                    &item.span,
                    when,
                    "BEFORE/AFTER blocks are not implemented yet",
                ),
            }
        }
        if matches!(self.mech_kind, MechanismKind::Density) && self.has_net_receive {
            let span = module
                .items
                .iter()
                .find(|i| matches!(i.kind, ItemKind::NetReceive { .. }))
                .map(|i| i.span.clone())
                .unwrap_or(module.span.clone());
            self.err(
                &span,
                ErrorKind::Semantic,
                "NET_RECEIVE",
                "NET_RECEIVE can only exist in a POINT_PROCESS or ARTIFICIAL_CELL",
            );
        }

        // Ion variables: declared ones get their role; the others become implicit parameters.
        for u in &ions {
            for (n, is_write) in u
                .read
                .iter()
                .map(|n| (n, false))
                .chain(u.write.iter().map(|n| (n, true)))
            {
                let i = match self.var_index.get(n) {
                    Some(&i) => i,
                    None => {
                        self.vars.push(Variable {
                            name: n.clone(),
                            class: VarClass::ImplicitIon,
                            visibility: Visibility::Hidden,
                            unit: None,
                            default: Some(0.0),
                            limits: None,
                            array: None,
                            ion: None,
                            current: None,
                            written: false,
                            span: None,
                        });
                        self.var_index.insert(n.clone(), self.vars.len() - 1);
                        self.vars.len() - 1
                    }
                };
                let v = &mut self.vars[i];
                // Ion variables are per-instance copies of the ion's values, even when declared
                // as PARAMETERs (which would otherwise be GLOBAL).
                if v.visibility == Visibility::Global && !matches!(v.class, VarClass::Builtin(_)) {
                    v.visibility = Visibility::Hidden;
                }
                let link = v.ion.get_or_insert(IonLink {
                    ion: u.name.clone(),
                    read: false,
                    write: false,
                });
                if is_write {
                    link.write = true;
                } else {
                    link.read = true;
                }
                if is_write && n.starts_with('i') && *n == format!("i{}", u.name) {
                    v.current = Some(CurrentKind::Ion(u.name.clone()));
                    v.visibility = Visibility::Range;
                }
            }
        }
        for (list, kind, what) in [
            (
                &nonspecific,
                CurrentKind::Nonspecific,
                "NONSPECIFIC_CURRENT",
            ),
            (&electrode, CurrentKind::Electrode, "ELECTRODE_CURRENT"),
        ] {
            for c in list {
                match self.var_index.get(&c.name) {
                    Some(&i) => {
                        self.vars[i].current = Some(kind.clone());
                        self.vars[i].visibility = Visibility::Range;
                    }
                    None => self.err(
                        &c.span,
                        ErrorKind::Undefined,
                        &c.name,
                        format!(
                            "{what} `{}` is not declared (declare it in ASSIGNED)",
                            c.name
                        ),
                    ),
                }
            }
        }
        let mut ignored_names = Vec::new();
        for r in &range {
            match self.var_index.get(&r.name) {
                Some(&i) => self.vars[i].visibility = Visibility::Range,
                None => ignored_names.push(r.name.clone()),
            }
        }
        for g in &global {
            match self.var_index.get(&g.name) {
                Some(&i) => {
                    if self.vars[i].class == VarClass::State {
                        self.err(
                            &g.span,
                            ErrorKind::Semantic,
                            &g.name,
                            format!(
                                "`{}` is a STATE variable and hence cannot be declared as GLOBAL",
                                g.name
                            ),
                        );
                    }
                    self.vars[i].visibility = Visibility::Global;
                }
                None => ignored_names.push(g.name.clone()),
            }
        }
        for r in self.randoms.clone() {
            if self.var_index.contains_key(&r) {
                let sp = self.vars[self.var_index[&r]].span.clone();
                if let Some(sp) = sp {
                    self.err(
                        &sp,
                        ErrorKind::Semantic,
                        &r,
                        format!("`{r}` cannot be redeclared as RANDOM"),
                    );
                }
            }
        }
        for v in &mut self.vars {
            if let VarClass::Builtin(_) = v.class {
                v.visibility = Visibility::Global;
            }
        }
        let mut randoms: Vec<String> = self.randoms.iter().cloned().collect();
        randoms.sort();
        for r in randoms {
            if !self.var_index.contains_key(&r) {
                self.var_index.insert(r.clone(), self.vars.len());
                self.vars.push(Variable {
                    name: r,
                    class: VarClass::Random,
                    visibility: Visibility::Range,
                    unit: None,
                    default: None,
                    limits: None,
                    array: None,
                    ion: None,
                    current: None,
                    written: false,
                    span: None,
                });
            }
        }

        for c in &self.callables {
            if let Some(&i) = self.var_index.get(&c.name) {
                if self.vars[i].class != VarClass::Random {
                    let span = c.span.clone();
                    let name = c.name.clone();
                    self.diags.push(Diagnostic::at(
                        self.source_of(&span),
                        &span,
                        ErrorKind::Semantic,
                        &name,
                        format!("`{name}` is used as both a variable and a FUNCTION or PROCEDURE"),
                    ));
                }
            }
        }

        // Pass 2: VERBATIM and POINTER idioms.
        self.recognise_idioms(&module, &pointers);

        // Pass 3: walk every block.
        for item in &module.items {
            self.scopes.clear();
            match &item.kind {
                ItemKind::Initial(b) => self.block(b, Ctx::Initial),
                ItemKind::Breakpoint(b) => self.block(b, Ctx::Breakpoint),
                ItemKind::Derivative { name, body } => {
                    self.block(body, Ctx::Derivative);
                    if !has_prime(&body.stmts) {
                        self.err(
                            &name.span,
                            ErrorKind::Semantic,
                            &name.name,
                            "DERIVATIVE block contains no derivatives (`x' = ...`)",
                        );
                    }
                }
                ItemKind::Kinetic { solvefor, body, .. } => {
                    self.solvefor(solvefor);
                    self.block(body, Ctx::Kinetic)
                }
                ItemKind::Linear { solvefor, body, .. } => {
                    self.solvefor(solvefor);
                    self.block(body, Ctx::Linear)
                }
                ItemKind::NonLinear { solvefor, body, .. } => {
                    self.solvefor(solvefor);
                    self.block(body, Ctx::NonLinear)
                }
                ItemKind::Function(c) | ItemKind::Procedure(c) => {
                    if self.skip_body.contains(&c.name.name) {
                        continue;
                    }
                    let is_fn = matches!(item.kind, ItemKind::Function(_));
                    let mut scope: HashSet<String> =
                        c.args.iter().map(|a| a.name.name.clone()).collect();
                    if is_fn {
                        scope.insert(c.name.name.clone());
                    }
                    self.scopes.push(scope);
                    self.table_seen = false;
                    let ctx = if is_fn { Ctx::Function } else { Ctx::Procedure };
                    self.callable_body(c, ctx);
                    self.scopes.pop();
                }
                ItemKind::NetReceive { args, body } => {
                    let mut scope: HashSet<String> =
                        args.iter().map(|a| a.name.name.clone()).collect();
                    scope.insert("flag".into());
                    self.scopes.push(scope);
                    self.block(body, Ctx::NetReceive);
                    self.scopes.pop();
                    let inits = body
                        .stmts
                        .iter()
                        .filter(|s| matches!(s.kind, StmtKind::Initial(_)))
                        .count();
                    if inits > 1 {
                        self.err(
                            &item.span,
                            ErrorKind::Semantic,
                            "INITIAL",
                            "NET_RECEIVE block can contain only one INITIAL block",
                        );
                    }
                }
                _ => {}
            }
        }
        if self.net_send_used && !self.has_net_receive {
            self.err(
                &module.span,
                ErrorKind::Semantic,
                "net_send",
                "net_send is used but there is no NET_RECEIVE block",
            );
        }

        let solves = self.check_solves(&module);
        let net_receive = module.items.iter().find_map(|i| match &i.kind {
            ItemKind::NetReceive { args, body } => Some(NetReceive {
                args: args.iter().map(|a| a.name.name.clone()).collect(),
                has_initial: body
                    .stmts
                    .iter()
                    .any(|s| matches!(s.kind, StmtKind::Initial(_))),
                net_send: self.net_send_used,
                net_event: self.net_event_used,
                uses_flag: self.uses_flag,
                span: i.span.clone(),
            }),
            _ => None,
        });
        let globals_written = self
            .vars
            .iter()
            .filter(|v| {
                v.written
                    && matches!(v.visibility, Visibility::Global)
                    && !matches!(v.class, VarClass::Builtin(_))
            })
            .map(|v| v.name.clone())
            .collect();
        let builtins_used = self
            .builtins_used
            .iter()
            .filter_map(|n| Builtin::from_name(n))
            .collect();
        let mut currents: Vec<String> = Vec::new();
        for v in &self.vars {
            if v.current.is_some() {
                currents.push(v.name.clone());
            }
        }
        let current_linearity = crate::linearity::current_dependence(&module, &currents);
        AnalysedModel {
            current_linearity,
            file: self.src.name.to_string(),
            title,
            kind: self.mech_kind,
            name: name.unwrap_or_else(|| file_stem(&self.src.name)),
            threadsafe,
            ions,
            nonspecific_currents: nonspecific.iter().map(|i| i.name.clone()).collect(),
            electrode_currents: electrode.iter().map(|i| i.name.clone()).collect(),
            variables: std::mem::take(&mut self.vars),
            ignored_names,
            constants: std::mem::take(&mut self.constants),
            callables: std::mem::take(&mut self.callables),
            solves,
            name_order: name_order(self.src),
            net_receive,
            idioms: std::mem::take(&mut self.idioms),
            globals_written,
            builtins_used,
            has_initial,
            has_breakpoint,
            module,
        }
    }

    // ---- declarations ---------------------------------------------------------------------

    fn reserved(&mut self, name: &str, span: &Span) -> bool {
        if builtin_function(name).is_some()
            || UNSUPPORTED_FUNCTIONS.contains(&name)
            || METHOD_NAMES.contains(&name)
        {
            self.err(
                span,
                ErrorKind::Semantic,
                name,
                format!("`{name}` is a reserved word (a NEURON function or method) and cannot be declared"),
            );
            return true;
        }
        if name == "celcius" {
            self.err(
                span,
                ErrorKind::Semantic,
                name,
                "celcius should be spelled celsius",
            );
            return true;
        }
        false
    }

    fn declare(&mut self, mut v: Variable) {
        let span = v.span.clone().unwrap_or_else(|| self.src.span(0, 0));
        if self.reserved(&v.name, &span) {
            return;
        }
        if self.var_index.contains_key(&v.name) || self.const_index.contains_key(&v.name) {
            self.err(
                &span,
                ErrorKind::Semantic,
                &v.name,
                format!("`{}` is declared twice", v.name),
            );
            return;
        }
        if let Some(b) = Builtin::from_name(&v.name) {
            v.class = VarClass::Builtin(b);
        }
        self.var_index.insert(v.name.clone(), self.vars.len());
        self.vars.push(v);
    }

    fn add_constant(&mut self, name: &Ident, value: f64) {
        if self.reserved(&name.name, &name.span) {
            return;
        }
        if self.var_index.contains_key(&name.name) || self.const_index.contains_key(&name.name) {
            self.err(
                &name.span,
                ErrorKind::Semantic,
                &name.name,
                format!("`{}` is declared twice", name.name),
            );
            return;
        }
        self.const_index
            .insert(name.name.clone(), self.constants.len());
        self.constants.push(Constant {
            name: name.name.clone(),
            value,
            span: name.span.clone(),
        });
    }

    fn add_callable(&mut self, c: Callable) {
        if self.reserved(&c.name, &c.span) {
            return;
        }
        if self.callable_index.contains_key(&c.name) {
            let span = c.span.clone();
            self.err(
                &span,
                ErrorKind::Semantic,
                &c.name,
                format!("FUNCTION or PROCEDURE `{}` is defined twice", c.name),
            );
            return;
        }
        self.callable_index
            .insert(c.name.clone(), self.callables.len());
        self.callables.push(c);
    }

    fn add_block(&mut self, name: &Ident, kind: BlockKind) {
        if self.blocks.contains_key(&name.name) {
            self.err(
                &name.span,
                ErrorKind::Semantic,
                &name.name,
                format!("block `{}` is defined twice", name.name),
            );
            return;
        }
        self.blocks
            .insert(name.name.clone(), (kind, name.span.clone()));
    }

    fn units_block(&mut self, defs: &[UnitDef]) {
        for d in defs {
            match d {
                UnitDef::Alias { name, def } => {
                    let n = name.text.trim().to_string();
                    if let Err(e) = self.db.define(&n, def.text.trim()) {
                        let (sp, c) = match &e {
                            UnitError::Redefinition(_) => (&name.span, name.text.clone()),
                            UnitError::Unknown(_) => (&def.span, def.text.clone()),
                        };
                        let sp = sp.clone();
                        self.err(&sp, ErrorKind::Unit, &format!("({c})"), e.to_string());
                    }
                }
                UnitDef::Factor { name, from, to } => {
                    match self.db.factor(from.text.trim(), to.text.trim()) {
                        Ok((f, a, b)) => {
                            if !a.conformable(&b) {
                                self.err(
                                    &from.span,
                                    ErrorKind::Unit,
                                    &format!("({}) ({})", from.text, to.text),
                                    format!(
                                        "units ({}) and ({}) are not conformable: the factor `{}` would mix dimensions",
                                        from.text, to.text, name.name
                                    ),
                                );
                            }
                            self.add_constant(name, f);
                        }
                        Err(e) => {
                            let sp = from.span.to(&to.span);
                            self.err(
                                &sp,
                                ErrorKind::Unit,
                                &format!("({}) ({})", from.text, to.text),
                                e.to_string(),
                            );
                        }
                    }
                }
                UnitDef::Value { name, value, unit } => {
                    self.check_unit(unit);
                    self.add_constant(name, value.value);
                }
            }
        }
    }

    fn check_unit(&mut self, u: &UnitAnn) {
        if let Err(e) = self.db.eval(u.text.trim(), true) {
            let sp = u.span.clone();
            self.err(
                &sp,
                ErrorKind::Unit,
                &format!("({})", u.text),
                format!("{e} in `({})` (define it in the UNITS block)", u.text),
            );
        }
    }

    fn check_unit_opt(&mut self, u: &Option<UnitAnn>) {
        if let Some(u) = u {
            self.check_unit(u);
        }
    }

    fn solvefor(&mut self, names: &[Ident]) {
        for n in names {
            match self.var_index.get(&n.name) {
                Some(&i) if self.vars[i].class == VarClass::State => {}
                _ => self.err(
                    &n.span,
                    ErrorKind::Semantic,
                    &n.name,
                    format!("SOLVEFOR `{}` is not a STATE", n.name),
                ),
            }
        }
    }

    // ---- idioms ---------------------------------------------------------------------------

    fn recognise_idioms(&mut self, module: &Module, pointers: &[(Ident, Span)]) {
        let assigned: Vec<String> = self
            .vars
            .iter()
            .filter(|v| v.class == VarClass::Assigned)
            .map(|v| v.name.clone())
            .collect();
        let assigned: Vec<&str> = assigned.iter().map(|s| s.as_str()).collect();
        let randoms: Vec<String> = self.randoms.iter().cloned().collect();
        let randoms: Vec<&str> = randoms.iter().map(|s| s.as_str()).collect();
        let ptr_names: Vec<&str> = pointers.iter().map(|(p, _)| p.name.as_str()).collect();

        // Procedures and functions made of VERBATIM.
        let mut vec_element: Option<(String, String, String, String, Span)> = None;
        let mut vec_play: Vec<(String, &Block, Span)> = Vec::new();
        let mut setters: HashMap<String, String> = HashMap::new();
        let mut draws: HashMap<String, String> = HashMap::new();
        for item in &module.items {
            let (c, is_fn) = match &item.kind {
                ItemKind::Procedure(c) => (c, false),
                ItemKind::Function(c) => (c, true),
                _ => continue,
            };
            if !contains_verbatim(&c.body.stmts) {
                continue;
            }
            let only = match c.body.stmts.as_slice() {
                [Stmt {
                    kind: StmtKind::Verbatim(v),
                    ..
                }] if c.body.locals.is_empty() => Some(idiom::c_tokens(v)),
                _ => None,
            };
            let mut matched: Option<IdiomKind> = None;
            if let (Some(t), false) = (&only, is_fn) {
                if let Some(p) = ptr_names.iter().find(|p| idiom::is_random_setter(t, p)) {
                    setters.insert(p.to_string(), c.name.name.clone());
                    matched = Some(IdiomKind::RandomPointer {
                        pointer: p.to_string(),
                        setter: Some(c.name.name.clone()),
                        draw: None,
                    });
                } else if let Some((slot, index, etime)) = idiom::vector_element_roles(t, &assigned)
                {
                    vec_element = Some((
                        slot.clone(),
                        index.clone(),
                        etime.clone(),
                        c.name.name.clone(),
                        item.span.clone(),
                    ));
                    matched = Some(IdiomKind::VectorEventStream {
                        slot,
                        index,
                        etime,
                        element: c.name.name.clone(),
                        play: String::new(),
                    });
                } else if let Some(r) = idiom::hoc_random_setter(t, &randoms) {
                    self.hoc_only.insert(c.name.name.clone());
                    self.idioms.push(Idiom {
                        kind: IdiomKind::HocRandomSetter { random: r.clone() },
                        span: item.span.clone(),
                    });
                    matched = Some(IdiomKind::HocRandomSetter { random: r });
                } else if t.ident_set().contains("vector_arg") {
                    vec_play.push((c.name.name.clone(), &c.body, item.span.clone()));
                    continue;
                }
            }
            if is_fn && c.args.is_empty() {
                if let Some(p) = ptr_names
                    .iter()
                    .find(|p| is_random_draw(&c.name.name, &c.body, p))
                {
                    draws.insert(p.to_string(), c.name.name.clone());
                    matched = Some(IdiomKind::RandomPointer {
                        pointer: p.to_string(),
                        setter: None,
                        draw: Some(c.name.name.clone()),
                    });
                }
            }
            if let Some(k) = matched {
                self.skip_body.insert(c.name.name.clone());
                if let Some(&i) = self.callable_index.get(&c.name.name) {
                    self.callables[i].idiom = Some(k);
                }
            }
        }
        // play() pairs with element() through the slot.
        let mut vec_ok = false;
        if let Some((slot, index, etime, element, span)) = &vec_element {
            for (name, body, _) in &vec_play {
                if let [Stmt {
                    kind: StmtKind::Verbatim(v),
                    ..
                }] = body.stmts.as_slice()
                {
                    if idiom::is_vector_play(&idiom::c_tokens(v), slot) {
                        let k = IdiomKind::VectorEventStream {
                            slot: slot.clone(),
                            index: index.clone(),
                            etime: etime.clone(),
                            element: element.clone(),
                            play: name.clone(),
                        };
                        for n in [element, name] {
                            self.skip_body.insert(n.clone());
                            if let Some(&i) = self.callable_index.get(n) {
                                self.callables[i].idiom = Some(k.clone());
                            }
                        }
                        self.idioms.push(Idiom {
                            kind: k,
                            span: span.clone(),
                        });
                        vec_ok = true;
                        break;
                    }
                }
            }
            if !vec_ok {
                self.skip_body.remove(element);
            }
        }
        // POINTERs: only the Random idiom (setter and draw both present).
        let mut random_ptr_ok = false;
        for (p, stmt_span) in pointers {
            match (setters.get(&p.name), draws.get(&p.name)) {
                (Some(s), Some(d)) => {
                    random_ptr_ok = true;
                    if let Some(&i) = self.var_index.get(&p.name) {
                        self.vars[i].class = VarClass::Pointer;
                    }
                    self.idioms.push(Idiom {
                        kind: IdiomKind::RandomPointer {
                            pointer: p.name.clone(),
                            setter: Some(s.clone()),
                            draw: Some(d.clone()),
                        },
                        span: stmt_span.clone(),
                    });
                }
                _ => {
                    for n in [setters.get(&p.name), draws.get(&p.name)]
                        .into_iter()
                        .flatten()
                    {
                        self.skip_body.remove(n);
                    }
                    self.unsupported(
                        &p.span,
                        "POINTER",
                        &format!(
                            "`{}` would point to another mechanism's variable; isf accepts a POINTER only as the Random-stream idiom (a VERBATIM setter storing `nrn_random_arg(1)` and a draw FUNCTION using `nrn_random_pick`)",
                            p.name
                        ),
                    );
                }
            }
        }
        // File-scope VERBATIM.
        for item in &module.items {
            if let ItemKind::Verbatim(v) = &item.kind {
                let t = idiom::c_tokens(v);
                let kind = if t.is_empty() {
                    Some(IdiomKind::CommentOnlyVerbatim)
                } else if idiom::is_random_api_decls(&t) && random_ptr_ok {
                    Some(IdiomKind::RandomApiDeclarations)
                } else if idiom::is_vector_api_decls(&t) && vec_ok {
                    Some(IdiomKind::VectorApiDeclarations)
                } else {
                    None
                };
                match kind {
                    Some(k) => self.idioms.push(Idiom {
                        kind: k,
                        span: item.span.clone(),
                    }),
                    None => self.unsupported(
                        &item.span,
                        "VERBATIM",
                        "arbitrary C code cannot be compiled by isf (only the event-vector and Random-stream idioms are recognised)",
                    ),
                }
            }
        }
    }

    // ---- blocks and statements ------------------------------------------------------------

    fn callable_body(&mut self, c: &crate::ast::Callable, ctx: Ctx) {
        // Old models end PROCEDUREs with `VERBATIM return 0; ENDVERBATIM`, which is what the
        // translated procedure does anyway.
        let trailing_return = ctx == Ctx::Procedure
            && matches!(c.body.stmts.last(), Some(Stmt { kind: StmtKind::Verbatim(v), .. })
                if idiom::c_tokens(v).tokens == ["return", "0", ";"]);
        if trailing_return {
            let mut body = c.body.clone();
            if let Some(last) = body.stmts.pop() {
                self.idioms.push(Idiom {
                    kind: IdiomKind::TrailingReturn,
                    span: last.span,
                });
            }
            self.block(&body, ctx);
        } else {
            self.block(&c.body, ctx);
        }
        // TABLE: record and check.
        let tables: Vec<&Stmt> = c
            .body
            .stmts
            .iter()
            .filter(|s| matches!(s.kind, StmtKind::Table { .. }))
            .collect();
        if let Some(t) = tables.first() {
            if let StmtKind::Table {
                names,
                depend,
                from,
                to,
                with,
            } = &t.kind
            {
                if c.args.len() != 1 {
                    self.err(
                        &t.span,
                        ErrorKind::Semantic,
                        "TABLE",
                        "a FUNCTION or PROCEDURE containing a TABLE must have exactly one argument",
                    );
                }
                if ctx == Ctx::Function && !names.is_empty() {
                    self.err(
                        &t.span,
                        ErrorKind::Semantic,
                        "TABLE",
                        "TABLE in a FUNCTION cannot have a list of names (the function's value is tabulated)",
                    );
                }
                if ctx == Ctx::Procedure && names.is_empty() {
                    self.err(
                        &t.span,
                        ErrorKind::Semantic,
                        "TABLE",
                        "TABLE in a PROCEDURE must list the variables it tabulates",
                    );
                }
                for n in names {
                    match self.var_index.get(&n.name) {
                        Some(&i)
                            if matches!(
                                self.vars[i].class,
                                VarClass::Assigned | VarClass::Parameter
                            ) => {}
                        _ => self.err(
                            &n.span,
                            ErrorKind::Semantic,
                            &n.name,
                            format!("tabulated `{}` must be an ASSIGNED variable", n.name),
                        ),
                    }
                }
                for n in depend {
                    if self.resolve(&n.name).is_none() {
                        self.err(
                            &n.span,
                            ErrorKind::Undefined,
                            &n.name,
                            format!("DEPEND `{}` is not declared", n.name),
                        );
                    }
                }
                if !(1.0..=1.0e7).contains(&with.value) {
                    self.err(
                        &with.span,
                        ErrorKind::Semantic,
                        &with.text,
                        "WITH must be between 1 and 10^7 table intervals",
                    );
                }
                if let Some(&i) = self.callable_index.get(&c.name.name) {
                    self.callables[i].table = Some(Table {
                        names: names.iter().map(|n| n.name.clone()).collect(),
                        depend: depend.iter().map(|n| n.name.clone()).collect(),
                        from: from.clone(),
                        to: to.clone(),
                        with: with.value.clamp(0.0, 1.0e7) as u32,
                        span: t.span.clone(),
                    });
                }
            }
            if tables.len() > 1 {
                self.err(
                    &tables[1].span,
                    ErrorKind::Semantic,
                    "TABLE",
                    "only one TABLE per FUNCTION or PROCEDURE",
                );
            }
        }
    }

    fn block(&mut self, b: &Block, ctx: Ctx) {
        let mut scope = HashSet::new();
        for l in &b.locals {
            if self.reserved(&l.name.name, &l.name.span) {
                continue;
            }
            scope.insert(l.name.name.clone());
        }
        self.scopes.push(scope);
        for s in &b.stmts {
            self.stmt(s, ctx);
        }
        self.scopes.pop();
    }

    fn stmt(&mut self, s: &Stmt, ctx: Ctx) {
        match &s.kind {
            StmtKind::Assign { target, value, .. } => {
                self.expr(value, ctx);
                self.assign_target(target, ctx);
            }
            StmtKind::Call(e) => self.expr(e, ctx),
            StmtKind::If {
                cond,
                then,
                otherwise,
            } => {
                self.expr(cond, ctx);
                self.block(then, ctx);
                if let Some(o) = otherwise {
                    self.stmt(o, ctx);
                }
            }
            StmtKind::While { cond, body } => {
                self.expr(cond, ctx);
                self.block(body, ctx);
            }
            StmtKind::From {
                var,
                from,
                to,
                by,
                body,
            } => {
                self.expr(from, ctx);
                self.expr(to, ctx);
                if let Some(b) = by {
                    self.expr(b, ctx);
                }
                self.scopes.push(HashSet::from([var.name.clone()]));
                self.block(body, ctx);
                self.scopes.pop();
            }
            StmtKind::Block(b) => self.block(b, ctx),
            StmtKind::Solve {
                block,
                method,
                steadystate,
            } => self.solves.push(SolveSeen {
                block: block.clone(),
                method: method.clone(),
                steadystate: *steadystate,
                ctx,
                span: s.span.clone(),
            }),
            StmtKind::Table { from, to, .. } => {
                if !matches!(ctx, Ctx::Function | Ctx::Procedure) {
                    self.err(
                        &s.span,
                        ErrorKind::Semantic,
                        "TABLE",
                        "TABLE is valid only in a FUNCTION or PROCEDURE",
                    );
                }
                self.expr(from, ctx);
                self.expr(to, ctx);
            }
            StmtKind::Local(_) => {}
            StmtKind::Verbatim(v) => {
                if idiom::c_tokens(v).is_empty() {
                    self.idioms.push(Idiom {
                        kind: IdiomKind::CommentOnlyVerbatim,
                        span: s.span.clone(),
                    });
                } else {
                    self.unsupported(
                        &s.span,
                        "VERBATIM",
                        "arbitrary C code cannot be compiled by isf (only the event-vector and Random-stream idioms are recognised)",
                    );
                }
            }
            StmtKind::UnitsSwitch(_) | StmtKind::Mutex(_) => {}
            StmtKind::Initial(b) => {
                if ctx != Ctx::NetReceive {
                    self.err(
                        &s.span,
                        ErrorKind::Semantic,
                        "INITIAL",
                        "an INITIAL statement block is allowed only inside NET_RECEIVE",
                    );
                }
                self.block(b, Ctx::NetReceiveInitial);
            }
            StmtKind::Reaction { lhs, form } => {
                self.reactants(lhs, ctx);
                match form {
                    ReactionForm::Reversible { rhs, kf, kb } => {
                        self.reactants(rhs, ctx);
                        self.expr(kf, ctx);
                        self.expr(kb, ctx);
                    }
                    ReactionForm::Out(e) | ReactionForm::In(e) => self.expr(e, ctx),
                }
            }
            StmtKind::Conserve { terms, total } => {
                if ctx != Ctx::Kinetic {
                    self.err(
                        &s.span,
                        ErrorKind::Semantic,
                        "CONSERVE",
                        "CONSERVE is allowed only in a KINETIC block",
                    );
                }
                self.reactants(terms, ctx);
                self.expr(total, ctx);
            }
            StmtKind::Compartment {
                index,
                volume,
                states,
            } => {
                if ctx != Ctx::Kinetic {
                    self.err(
                        &s.span,
                        ErrorKind::Semantic,
                        "COMPARTMENT",
                        "COMPARTMENT is allowed only in a KINETIC block",
                    );
                }
                if let Some(i) = index {
                    self.scopes.push(HashSet::from([i.name.clone()]));
                }
                self.expr(volume, ctx);
                if index.is_some() {
                    self.scopes.pop();
                }
                for st in states {
                    self.require_state(st);
                }
            }
            StmtKind::LongDiffusion { .. } => self.unsupported(
                &s.span,
                "LONGITUDINAL_DIFFUSION",
                "diffusion between segments is not part of isf's mechanism interface yet",
            ),
            StmtKind::Equation { lhs, rhs, .. } => {
                self.expr(lhs, ctx);
                self.expr(rhs, ctx);
            }
            StmtKind::Watch(_) => self.unsupported(
                &s.span,
                "WATCH",
                "threshold-crossing events inside a mechanism are not implemented yet",
            ),
            StmtKind::ForNetcons { args, body } => {
                if ctx != Ctx::NetReceive {
                    self.err(
                        &s.span,
                        ErrorKind::Semantic,
                        "FOR_NETCONS",
                        "FOR_NETCONS is allowed only in a NET_RECEIVE block",
                    );
                }
                self.scopes
                    .push(args.iter().map(|a| a.name.name.clone()).collect());
                self.block(body, ctx);
                self.scopes.pop();
            }
            StmtKind::Conductance { name, .. } => {
                if ctx != Ctx::Breakpoint {
                    self.err(
                        &s.span,
                        ErrorKind::Semantic,
                        "CONDUCTANCE",
                        "CONDUCTANCE can only appear in a BREAKPOINT block",
                    );
                }
                if self.resolve(&name.name).is_none() {
                    self.err(
                        &name.span,
                        ErrorKind::Undefined,
                        &name.name,
                        format!("`{}` is not declared", name.name),
                    );
                }
            }
            StmtKind::Lag { .. } => {
                self.unsupported(&s.span, "LAG", "LAG statements are not implemented")
            }
        }
    }

    fn require_state(&mut self, n: &Ident) {
        match self.var_index.get(&n.name) {
            Some(&i) if self.vars[i].class == VarClass::State => {}
            _ => self.err(
                &n.span,
                ErrorKind::Semantic,
                &n.name,
                format!("`{}` must be a STATE", n.name),
            ),
        }
    }

    fn reactants(&mut self, rs: &[Reactant], ctx: Ctx) {
        for r in rs {
            self.require_state(&r.name);
            if let Some(i) = &r.index {
                self.expr(i, ctx);
            }
        }
    }

    fn assign_target(&mut self, t: &LValue, ctx: Ctx) {
        if let Some(i) = &t.index {
            self.expr(i, ctx);
        }
        let n = &t.name.name;
        if t.prime > 0 {
            if ctx != Ctx::Derivative {
                self.err(
                    &t.name.span,
                    ErrorKind::Semantic,
                    &format!("{n}'"),
                    "derivatives (`x' = ...`) are allowed only in a DERIVATIVE block",
                );
            }
            if t.prime > 1 {
                self.unsupported(
                    &t.name.span,
                    &format!("{n}{}", "'".repeat(t.prime as usize)),
                    "higher-order derivatives are not implemented",
                );
            }
            self.require_state(&t.name);
            return;
        }
        if self.is_local(n) {
            return;
        }
        if let Some(&i) = self.var_index.get(n) {
            if let VarClass::Builtin(b) = self.vars[i].class {
                self.builtins_used.insert(builtin_name(b));
                if READ_ONLY_BUILTINS.contains(&n.as_str()) {
                    self.special_assign(&t.name);
                    return;
                }
            }
            if self.vars[i].class == VarClass::Random {
                self.err(
                    &t.name.span,
                    ErrorKind::Semantic,
                    n,
                    format!("RANDOM variable `{n}` cannot be assigned"),
                );
            }
            self.vars[i].written = true;
            return;
        }
        if self.const_index.contains_key(n) {
            self.err(
                &t.name.span,
                ErrorKind::Semantic,
                n,
                format!("`{n}` is a constant and cannot be assigned"),
            );
            return;
        }
        if READ_ONLY_BUILTINS.contains(&n.as_str()) {
            self.special_assign(&t.name);
            return;
        }
        if n == "v" {
            self.builtins_used.insert("v");
            return;
        }
        self.undefined(&t.name);
    }

    fn special_assign(&mut self, n: &Ident) {
        self.err(
            &n.span,
            ErrorKind::Semantic,
            &n.name,
            format!(
                "`{}` is a special NEURON variable that a model may not assign",
                n.name
            ),
        );
    }

    fn undefined(&mut self, n: &Ident) {
        let what = if self.callable_index.contains_key(&n.name) {
            format!("`{}` is a FUNCTION or PROCEDURE, not a variable", n.name)
        } else if self.randoms.contains(&n.name) {
            format!(
                "RANDOM variable `{}` can only be the first argument of a random_ function",
                n.name
            )
        } else {
            let known = self
                .scopes
                .iter()
                .flat_map(|s| s.iter().cloned())
                .chain(self.var_index.keys().cloned())
                .chain(self.const_index.keys().cloned())
                .chain(["v", "t", "dt", "celsius", "area", "diam"].map(String::from));
            match closest(&n.name, known) {
                Some(c) => format!("`{}` is not declared (did you mean `{c}`?)", n.name),
                None => format!("`{}` is not declared", n.name),
            }
        };
        self.err(&n.span, ErrorKind::Undefined, &n.name, what);
    }

    fn is_local(&self, n: &str) -> bool {
        self.scopes.iter().rev().any(|s| s.contains(n))
    }

    /// Whether a name denotes a value here (local, variable, constant or built-in).
    fn resolve(&mut self, n: &str) -> Option<()> {
        if self.is_local(n) || self.const_index.contains_key(n) {
            return Some(());
        }
        if let Some(&i) = self.var_index.get(n) {
            match self.vars[i].class {
                VarClass::Random => return None,
                VarClass::Builtin(b) => {
                    self.builtins_used.insert(builtin_name(b));
                }
                _ => {}
            }
            return Some(());
        }
        for b in ["v", "t", "dt", "celsius", "area", "diam"] {
            if n == b {
                self.builtins_used.insert(b);
                return Some(());
            }
        }
        None
    }

    fn expr(&mut self, e: &Expr, ctx: Ctx) {
        match &e.kind {
            ExprKind::Number(_, u) => {
                if let Some(u) = u {
                    self.check_unit(u);
                }
            }
            ExprKind::Var(id) => {
                if id.name == "flag" && matches!(ctx, Ctx::NetReceive) {
                    self.uses_flag = true;
                }
                if self.resolve(&id.name).is_none() {
                    self.undefined(id);
                } else if let Some(&i) = self.var_index.get(&id.name) {
                    if self.vars[i].array.is_some() && !self.is_local(&id.name) {
                        self.err(
                            &id.span,
                            ErrorKind::Semantic,
                            &id.name,
                            format!("array `{}` needs an index", id.name),
                        );
                    }
                }
            }
            ExprKind::Prime(id, _) => {
                if ctx != Ctx::Derivative {
                    self.err(
                        &id.span,
                        ErrorKind::Semantic,
                        &format!("{}'", id.name),
                        "derivatives can be read only in a DERIVATIVE block",
                    );
                }
                self.require_state(id);
            }
            ExprKind::Index(id, i) => {
                self.expr(i, ctx);
                if self.resolve(&id.name).is_none() {
                    self.undefined(id);
                }
            }
            ExprKind::Paren(x) | ExprKind::Unary(_, x) => self.expr(x, ctx),
            ExprKind::Binary(_, a, b) => {
                self.expr(a, ctx);
                self.expr(b, ctx);
            }
            ExprKind::Call(f, args) => self.call(f, args, ctx, &e.span),
        }
    }

    fn call(&mut self, f: &Ident, args: &[Arg], ctx: Ctx, span: &Span) {
        let n = f.name.as_str();
        let first_is_random = matches!(args.first(), Some(Arg::Expr(Expr { kind: ExprKind::Var(v), .. })) if self.randoms.contains(&v.name));
        if n.starts_with("random_") && builtin_function(n).is_some() && !first_is_random {
            self.err(
                span,
                ErrorKind::Semantic,
                n,
                format!("{n} must have a RANDOM variable as its first argument"),
            );
        }
        for (k, a) in args.iter().enumerate() {
            match a {
                Arg::Expr(x) => {
                    if k == 0 && first_is_random && n.starts_with("random_") {
                        continue;
                    }
                    self.expr(x, ctx)
                }
                Arg::Str(_, sp) => {
                    if n != "printf" {
                        self.err(
                            sp,
                            ErrorKind::Semantic,
                            n,
                            format!("a string argument is allowed only in printf, not in `{n}`"),
                        );
                    }
                }
            }
        }
        if let Some(&i) = self.callable_index.get(n) {
            let want = self.callables[i].params.len();
            if args.len() != want {
                self.err(
                    span,
                    ErrorKind::Arity,
                    n,
                    format!(
                        "`{n}` takes {want} argument{}, but {} {} given",
                        if want == 1 { "" } else { "s" },
                        args.len(),
                        if args.len() == 1 { "is" } else { "are" }
                    ),
                );
            }
            if self.hoc_only.contains(n) {
                self.err(
                    span,
                    ErrorKind::Unsupported,
                    n,
                    format!("`{n}` is a VERBATIM procedure meant for hoc; calling it from NMODL is not supported"),
                );
            }
            return;
        }
        if let Some(arity) = builtin_function(n) {
            if !arity.accepts(args.len()) {
                self.err(
                    span,
                    ErrorKind::Arity,
                    n,
                    format!(
                        "`{n}` takes {} argument(s), but {} given",
                        arity.describe(),
                        args.len()
                    ),
                );
            }
            match n {
                "net_send" => {
                    self.net_send_used = true;
                    if !matches!(ctx, Ctx::Initial | Ctx::NetReceive | Ctx::NetReceiveInitial) {
                        self.err(
                            span,
                            ErrorKind::Semantic,
                            n,
                            "net_send is allowed only in INITIAL and NET_RECEIVE blocks",
                        );
                    }
                }
                "net_event" | "net_move" => {
                    if n == "net_event" {
                        self.net_event_used = true;
                    }
                    if !matches!(ctx, Ctx::NetReceive) {
                        self.err(
                            span,
                            ErrorKind::Semantic,
                            n,
                            format!("{n} is allowed only in a NET_RECEIVE block"),
                        );
                    }
                }
                "state_discontinuity" => {
                    if !matches!(ctx, Ctx::NetReceive | Ctx::NetReceiveInitial) {
                        self.unsupported(
                            span,
                            n,
                            "outside NET_RECEIVE it acts once per time step through NEURON's run-time flags; only its NET_RECEIVE form (an assignment) is implemented",
                        );
                    }
                    if let Some(Arg::Expr(Expr {
                        kind: ExprKind::Var(v),
                        ..
                    })) = args.first()
                    {
                        if let Some(&i) = self.var_index.get(&v.name) {
                            self.vars[i].written = true;
                        }
                    }
                }
                _ => {}
            }
            return;
        }
        if UNSUPPORTED_FUNCTIONS.contains(&n) {
            self.unsupported(
                &f.span,
                n,
                "this NEURON library function is not implemented in isf",
            );
            return;
        }
        if self.var_index.contains_key(n) || self.is_local(n) {
            self.err(
                &f.span,
                ErrorKind::Semantic,
                n,
                format!("`{n}` is a variable, not a FUNCTION or PROCEDURE"),
            );
            return;
        }
        let known = self.callable_index.keys().cloned().chain(
            [
                "exp",
                "log",
                "log10",
                "sqrt",
                "fabs",
                "sin",
                "cos",
                "tan",
                "atan2",
                "pow",
                "exprand",
                "net_send",
                "net_event",
                "state_discontinuity",
                "printf",
            ]
            .map(String::from),
        );
        let msg = match closest(n, known) {
            Some(c) => format!("FUNCTION or PROCEDURE `{n}` is not defined (did you mean `{c}`?)"),
            None => format!("FUNCTION or PROCEDURE `{n}` is not defined"),
        };
        self.err(&f.span, ErrorKind::Undefined, n, msg);
    }

    // ---- SOLVE ----------------------------------------------------------------------------

    fn check_solves(&mut self, module: &Module) -> Vec<Solve> {
        let mut out = Vec::new();
        let seen = std::mem::take(&mut self.solves);
        for s in &seen {
            let in_breakpoint = match s.ctx {
                Ctx::Breakpoint => true,
                Ctx::Initial => false,
                _ => {
                    self.unsupported(
                        &s.span,
                        "SOLVE",
                        "SOLVE is supported only in BREAKPOINT and INITIAL",
                    );
                    continue;
                }
            };
            let name = &s.block.name;
            let target = match self.blocks.get(name).cloned() {
                Some((k, def_span)) => {
                    // NEURON checks this order for DERIVATIVE blocks only.
                    if k == BlockKind::Derivative && def_span.start < s.span.start {
                        let sp = s.span.clone();
                        self.err(
                            &sp,
                            ErrorKind::Semantic,
                            "SOLVE",
                            format!("the SOLVE statement must come before the definition of block `{name}` (NEURON refuses the other order)"),
                        );
                    }
                    match k {
                        BlockKind::Derivative => SolveTarget::Derivative,
                        BlockKind::Kinetic => SolveTarget::Kinetic,
                        BlockKind::Linear => SolveTarget::Linear,
                        BlockKind::NonLinear => SolveTarget::NonLinear,
                    }
                }
                None => match self.callable_index.get(name) {
                    Some(&i) if self.callables[i].kind == CallableKind::Procedure => {
                        SolveTarget::Procedure
                    }
                    _ => {
                        self.err(
                            &s.block.span,
                            ErrorKind::Undefined,
                            name,
                            format!("SOLVE names `{name}`, which is not a DERIVATIVE, KINETIC, LINEAR, NONLINEAR block or PROCEDURE"),
                        );
                        continue;
                    }
                },
            };
            let m = s.method.as_ref().map(|m| m.name.as_str());
            let method = match (target, m) {
                (SolveTarget::Derivative, Some("cnexp")) => Method::Cnexp,
                (SolveTarget::Derivative, Some("derivimplicit") | None) => Method::Derivimplicit,
                (SolveTarget::Derivative | SolveTarget::Kinetic, Some("euler")) => Method::Euler,
                (SolveTarget::Kinetic, Some("sparse")) => Method::Sparse,
                (SolveTarget::Linear, Some("simeq") | None) => Method::Default,
                (SolveTarget::NonLinear, Some("newton") | None) => Method::Default,
                (SolveTarget::Procedure, None) => Method::Default,
                (_, Some("after_cvode" | "cvode_t" | "cvode_t_v"))
                    if target == SolveTarget::Procedure =>
                {
                    Method::AfterCvode
                }
                (_, Some(mm @ ("runge" | "_advance"))) => {
                    let sp = s
                        .method
                        .as_ref()
                        .map(|m| m.span.clone())
                        .unwrap_or(s.span.clone());
                    self.unsupported(&sp, mm, "this integration method is not implemented (use cnexp, derivimplicit, euler or sparse)");
                    continue;
                }
                (SolveTarget::Kinetic, None) => {
                    self.unsupported(
                        &s.span,
                        "SOLVE",
                        "a KINETIC block needs METHOD sparse (NEURON's default _advance is not implemented)",
                    );
                    continue;
                }
                (_, Some(mm)) => {
                    let sp = s
                        .method
                        .as_ref()
                        .map(|m| m.span.clone())
                        .unwrap_or(s.span.clone());
                    let msg = if METHOD_NAMES.contains(&mm) {
                        format!("method {mm} can't be used with block `{name}`")
                    } else {
                        format!("`{mm}` is not an integration method")
                    };
                    self.err(&sp, ErrorKind::Semantic, mm, msg);
                    continue;
                }
            };
            if s.steadystate && !matches!(target, SolveTarget::Derivative | SolveTarget::Kinetic) {
                self.err(
                    &s.span,
                    ErrorKind::Semantic,
                    "STEADYSTATE",
                    "STEADYSTATE is valid only for SOLVEing a KINETIC or DERIVATIVE block",
                );
                continue;
            }
            let (mut effective_method, mut cnexp_steps, mut fallback_reason) =
                (method, Vec::new(), None);
            if method == Method::Cnexp {
                let body = module.items.iter().find_map(|i| match &i.kind {
                    ItemKind::Derivative { name: n, body } if n.name == *name => Some(body),
                    _ => None,
                });
                if let Some(body) = body {
                    let mut eqs = Vec::new();
                    derivative_equations(&body.stmts, &mut eqs);
                    for (state, rhs) in eqs {
                        match crate::cnexp::cnexp_step(&state, rhs) {
                            Ok(step) => cnexp_steps.push(step),
                            Err(why) => {
                                fallback_reason = Some(format!("`{state}'`: {}", why.0));
                                effective_method = Method::Derivimplicit;
                                cnexp_steps.clear();
                                break;
                            }
                        }
                    }
                }
            }
            out.push(Solve {
                block: name.clone(),
                target,
                method,
                steadystate: s.steadystate,
                method_given: s.method.is_some(),
                in_breakpoint,
                effective_method,
                cnexp_steps,
                fallback_reason,
                span: s.span.clone(),
            });
        }
        out
    }
}

/// The known name closest to `name` (edit distance at most 2, and less than its length), for
/// "did you mean" hints.
fn closest(name: &str, known: impl Iterator<Item = String>) -> Option<String> {
    let mut best: Option<(usize, String)> = None;
    for k in known {
        if k == name {
            continue;
        }
        let d = edit_distance(name, &k);
        if d <= 2 && d < name.len() && best.as_ref().is_none_or(|(bd, bk)| (d, &k) < (*bd, bk)) {
            best = Some((d, k));
        }
    }
    best.map(|(_, k)| k)
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, &cb) in b.iter().enumerate() {
            cur[j + 1] = (prev[j] + usize::from(ca != cb))
                .min(prev[j + 1] + 1)
                .min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

fn builtin_name(b: Builtin) -> &'static str {
    match b {
        Builtin::V => "v",
        Builtin::T => "t",
        Builtin::Dt => "dt",
        Builtin::Celsius => "celsius",
        Builtin::Area => "area",
        Builtin::Diam => "diam",
    }
}

fn is_ion_variable(ion: &str, v: &str) -> bool {
    v == format!("e{ion}")
        || v == format!("{ion}i")
        || v == format!("{ion}o")
        || v == format!("i{ion}")
}

fn has_prime(stmts: &[Stmt]) -> bool {
    stmts.iter().any(|s| match &s.kind {
        StmtKind::Assign { target, .. } => target.prime > 0,
        StmtKind::If {
            then, otherwise, ..
        } => {
            has_prime(&then.stmts)
                || otherwise
                    .as_ref()
                    .is_some_and(|o| has_prime(std::slice::from_ref(o)))
        }
        StmtKind::Block(b) | StmtKind::While { body: b, .. } | StmtKind::From { body: b, .. } => {
            has_prime(&b.stmts)
        }
        _ => false,
    })
}

/// The `x' = rhs` equations of a DERIVATIVE body in statement order (nested blocks included).
fn derivative_equations<'m>(stmts: &'m [Stmt], out: &mut Vec<(String, &'m Expr)>) {
    for s in stmts {
        match &s.kind {
            StmtKind::Assign { target, value, .. } if target.prime > 0 => {
                out.push((target.name.name.clone(), value))
            }
            StmtKind::If {
                then, otherwise, ..
            } => {
                derivative_equations(&then.stmts, out);
                if let Some(o) = otherwise {
                    derivative_equations(std::slice::from_ref(o), out);
                }
            }
            StmtKind::Block(b)
            | StmtKind::While { body: b, .. }
            | StmtKind::From { body: b, .. } => derivative_equations(&b.stmts, out),
            _ => {}
        }
    }
}

fn contains_verbatim(stmts: &[Stmt]) -> bool {
    stmts.iter().any(|s| match &s.kind {
        StmtKind::Verbatim(_) => true,
        StmtKind::If {
            then, otherwise, ..
        } => {
            contains_verbatim(&then.stmts)
                || otherwise
                    .as_ref()
                    .is_some_and(|o| contains_verbatim(std::slice::from_ref(o)))
        }
        StmtKind::Block(b) | StmtKind::While { body: b, .. } | StmtKind::From { body: b, .. } => {
            contains_verbatim(&b.stmts)
        }
        _ => false,
    })
}

/// `FUNCTION f() { VERBATIM if (_p_P) { ... nrn_random_pick ... } else { ENDVERBATIM
/// f = exprand(1)  VERBATIM } ENDVERBATIM  f = value }`.
fn is_random_draw(fname: &str, body: &Block, ptr: &str) -> bool {
    if !body.locals.is_empty() {
        return false;
    }
    let [a, b, c, d] = body.stmts.as_slice() else {
        return false;
    };
    let (StmtKind::Verbatim(head), StmtKind::Verbatim(close)) = (&a.kind, &c.kind) else {
        return false;
    };
    let fallback_ok = match &b.kind {
        StmtKind::Assign { target, value, .. } => {
            target.name.name == fname
                && target.prime == 0
                && target.index.is_none()
                && matches!(&value.kind, ExprKind::Call(f, args)
                    if f.name == "exprand" && args.len() == 1
                    && matches!(&args[0], Arg::Expr(Expr { kind: ExprKind::Number(n, None), .. }) if n.value == 1.0))
        }
        _ => false,
    };
    let result_ok = match &d.kind {
        StmtKind::Assign { target, value, .. } => {
            target.name.name == fname
                && matches!(&value.kind, ExprKind::Var(v) if v.name == "value")
        }
        _ => false,
    };
    fallback_ok
        && result_ok
        && idiom::is_random_draw_head(&idiom::c_tokens(head), ptr)
        && idiom::is_lone_close_brace(&idiom::c_tokens(close))
}

/// The file's names (derivatives as their state) in the order of their first appearance.
fn name_order(src: &SourceFile) -> Vec<String> {
    let (toks, _) = crate::lexer::lex(src);
    let mut seen = HashSet::new();
    let mut out = Vec::new();
    for t in toks {
        if let crate::lexer::Tok::Name(n) | crate::lexer::Tok::Prime(n, _) = t.tok {
            if seen.insert(n.clone()) {
                out.push(n);
            }
        }
    }
    out
}
