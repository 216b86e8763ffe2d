//! The analysed model: what the code generator needs to know about one mechanism.

use crate::ast::{Expr, Module};
use crate::error::Span;

/// Whether the mechanism is distributed over the membrane or sits at a point.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MechanismKind {
    /// `SUFFIX name`: a density mechanism (currents in mA/cm2).
    Density,
    /// `POINT_PROCESS name` (currents in nA).
    PointProcess,
    /// `ARTIFICIAL_CELL name`: a point process without membrane current.
    ArtificialCell,
}

/// How a variable is stored and seen from outside.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Visibility {
    /// One value per instance, settable and recordable by name (`name_suffix` for densities).
    Range,
    /// One value for all instances (per thread when THREADSAFE and assigned).
    Global,
    /// One value per instance, not visible from outside (an ASSIGNED not in RANGE).
    Hidden,
}

/// A NEURON-provided variable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Builtin {
    /// Membrane potential (mV).
    V,
    /// Time (ms).
    T,
    /// Time step (ms).
    Dt,
    /// Temperature (degC).
    Celsius,
    /// Segment area (um2).
    Area,
    /// Segment diameter (um).
    Diam,
}

impl Builtin {
    /// By name.
    pub fn from_name(n: &str) -> Option<Builtin> {
        Some(match n {
            "v" => Builtin::V,
            "t" => Builtin::T,
            "dt" => Builtin::Dt,
            "celsius" => Builtin::Celsius,
            "area" => Builtin::Area,
            "diam" => Builtin::Diam,
            _ => return None,
        })
    }
}

/// What kind of variable a name is.
#[derive(Debug, Clone, PartialEq)]
pub enum VarClass {
    /// PARAMETER.
    Parameter,
    /// ASSIGNED.
    Assigned,
    /// STATE.
    State,
    /// A NEURON-provided variable (declared in the file or not).
    Builtin(Builtin),
    /// An ion variable named in USEION but declared nowhere else (NEURON makes it a PARAMETER).
    ImplicitIon,
    /// A `POINTER` (only the recognised Random idiom is accepted).
    Pointer,
    /// A NEURON 9 `RANDOM` stream.
    Random,
    /// A file-scope `LOCAL` (one value shared by all instances).
    FileLocal,
}

/// The role of an ion variable.
#[derive(Debug, Clone, PartialEq)]
pub struct IonLink {
    /// Ion name.
    pub ion: String,
    /// Read from the ion (`ena`, `cai`, `ica` read by a pump).
    pub read: bool,
    /// Written to the ion (`ina`: a current added to the ion's; `cai`: a concentration set).
    pub write: bool,
}

/// One variable of the mechanism.
#[derive(Debug, Clone)]
pub struct Variable {
    /// Name as in NMODL.
    pub name: String,
    /// Kind.
    pub class: VarClass,
    /// Storage and visibility.
    pub visibility: Visibility,
    /// Unit text as declared.
    pub unit: Option<String>,
    /// Default (PARAMETER) or START value.
    pub default: Option<f64>,
    /// `<lo, hi>` or `FROM lo TO hi`.
    pub limits: Option<(f64, f64)>,
    /// Array size.
    pub array: Option<u32>,
    /// Ion this variable belongs to.
    pub ion: Option<IonLink>,
    /// Membrane current contributed (NONSPECIFIC_CURRENT, ELECTRODE_CURRENT or an ion current written).
    pub current: Option<CurrentKind>,
    /// Whether some block assigns it.
    pub written: bool,
    /// Declaration (absent for implicit variables).
    pub span: Option<Span>,
}

/// How a current reaches the membrane.
#[derive(Debug, Clone, PartialEq)]
pub enum CurrentKind {
    /// Written ion current (`ina`), added to the ion's and the membrane's current.
    Ion(String),
    /// NONSPECIFIC_CURRENT: added to the membrane current.
    Nonspecific,
    /// ELECTRODE_CURRENT: injected (positive depolarises).
    Electrode,
}

/// USEION.
#[derive(Debug, Clone)]
pub struct IonUse {
    /// Ion.
    pub name: String,
    /// READ list.
    pub read: Vec<String>,
    /// WRITE list.
    pub write: Vec<String>,
    /// VALENCE if written.
    pub valence: Option<f64>,
    /// Where.
    pub span: Span,
}

/// A named constant (UNITS factor or CONSTANT).
#[derive(Debug, Clone)]
pub struct Constant {
    /// Name.
    pub name: String,
    /// Value (for unit factors: NEURON's double, e.g. FARADAY = 96485.33212331001).
    pub value: f64,
    /// Where.
    pub span: Span,
}

/// FUNCTION or PROCEDURE.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallableKind {
    /// Returns a value through its own name.
    Function,
    /// Returns nothing.
    Procedure,
}

/// A TABLE statement of a function or procedure.
#[derive(Debug, Clone)]
pub struct Table {
    /// Tabulated variables (empty for a FUNCTION: its value).
    pub names: Vec<String>,
    /// Variables whose change rebuilds the table.
    pub depend: Vec<String>,
    /// Lower end of the argument.
    pub from: Expr,
    /// Upper end.
    pub to: Expr,
    /// Number of intervals (the table has `with + 1` points).
    pub with: u32,
    /// Where.
    pub span: Span,
}

/// A user FUNCTION or PROCEDURE.
#[derive(Debug, Clone)]
pub struct Callable {
    /// Name.
    pub name: String,
    /// Kind.
    pub kind: CallableKind,
    /// Argument names.
    pub params: Vec<String>,
    /// TABLE, if any.
    pub table: Option<Table>,
    /// Replaced by a recognised idiom (its body is VERBATIM C that isf implements natively).
    pub idiom: Option<IdiomKind>,
    /// Where.
    pub span: Span,
}

/// Integration method of a SOLVE.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// Exact exponential step for equations linear in their state (falls back to derivimplicit
    /// when an equation is not linear, as NEURON does).
    Cnexp,
    /// Implicit Euler with Newton iteration.
    Derivimplicit,
    /// Explicit Euler.
    Euler,
    /// Implicit Euler of a KINETIC scheme via a sparse linear solve.
    Sparse,
    /// A PROCEDURE called after the voltage update (`after_cvode`; fixed step: once per step).
    AfterCvode,
    /// No METHOD (LINEAR / NONLINEAR blocks, plain PROCEDUREs).
    Default,
}

/// Kind of block a SOLVE names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SolveTarget {
    /// DERIVATIVE.
    Derivative,
    /// KINETIC.
    Kinetic,
    /// LINEAR.
    Linear,
    /// NONLINEAR.
    NonLinear,
    /// PROCEDURE.
    Procedure,
}

/// A SOLVE statement.
#[derive(Debug, Clone)]
pub struct Solve {
    /// Block solved.
    pub block: String,
    /// Its kind.
    pub target: SolveTarget,
    /// Method (DERIVATIVE without METHOD: derivimplicit, as NEURON).
    pub method: Method,
    /// `STEADYSTATE` instead of `METHOD`.
    pub steadystate: bool,
    /// Whether the SOLVE names a METHOD (or STEADYSTATE method). NEURON 9.0.2 integrates a
    /// DERIVATIVE SOLVE'd without one with nothing: it only evaluates the block.
    pub method_given: bool,
    /// In BREAKPOINT (else INITIAL).
    pub in_breakpoint: bool,
    /// The method NEURON actually uses: `cnexp` becomes `derivimplicit` when an equation is not
    /// linear in its state (NEURON says "Could not translate using cnexp method").
    pub effective_method: Method,
    /// For cnexp: each derivative equation's update, in statement order.
    pub cnexp_steps: Vec<crate::cnexp::CnexpStep>,
    /// For a cnexp that falls back: why.
    pub fallback_reason: Option<String>,
    /// Where.
    pub span: Span,
}

/// NET_RECEIVE.
#[derive(Debug, Clone)]
pub struct NetReceive {
    /// Argument names: the first is the weight; the others are per-NetCon state.
    pub args: Vec<String>,
    /// Has an INITIAL block (initialises the per-NetCon state).
    pub has_initial: bool,
    /// Calls net_send (self-events with flags).
    pub net_send: bool,
    /// Calls net_event (emits a spike).
    pub net_event: bool,
    /// Reads `flag`.
    pub uses_flag: bool,
    /// Where.
    pub span: Span,
}

/// A recognised idiom (VERBATIM C or POINTER use that isf implements natively). The code generator
/// must implement each; until then a mechanism carrying one is analysed but not yet compilable.
#[derive(Debug, Clone, PartialEq)]
pub enum IdiomKind {
    /// VERBATIM that holds only C comments and blanks: no effect.
    CommentOnlyVerbatim,
    /// `VERBATIM return 0; ENDVERBATIM` ending a PROCEDURE (old models): what the procedure does
    /// anyway, no effect.
    TrailingReturn,
    /// `vecevent.mod`: a Vector of event times stored in an ASSIGNED slot; `element()` advances
    /// `index` and sets `etime`, `play()` installs the vector.
    VectorEventStream {
        /// ASSIGNED variable holding the vector.
        slot: String,
        /// ASSIGNED index into the vector (−1 when exhausted).
        index: String,
        /// ASSIGNED next event time.
        etime: String,
        /// PROCEDURE that advances to the next element.
        element: String,
        /// PROCEDURE that installs the vector (called from hoc).
        play: String,
    },
    /// The C declarations the Random idioms need (file-scope VERBATIM); no effect of their own.
    RandomApiDeclarations,
    /// The C declarations of NEURON's Vector API the event-vector idiom needs; no effect.
    VectorApiDeclarations,
    /// `ProbAMPANMDA2`/`ProbUDFsyn2`: a POINTER to a NEURON `Random` object; the draw function
    /// returns `nrn_random_pick(rng)` when the pointer is set, else `exprand(1)` from the legacy
    /// process-wide generator.
    RandomPointer {
        /// The POINTER variable.
        pointer: String,
        /// PROCEDURE that sets the pointer (called from hoc).
        setter: Option<String>,
        /// FUNCTION that draws.
        draw: Option<String>,
    },
    /// PROCEDUREs made only of VERBATIM that configure a NEURON 9 `RANDOM` stream from hoc
    /// (NetStim's legacy `noiseFromRandom*`); never called from NMODL, so they have no effect on a
    /// simulation isf runs (streams are configured by isf itself).
    HocRandomSetter {
        /// The RANDOM variable configured.
        random: String,
    },
}

/// A recognised idiom and where it is.
#[derive(Debug, Clone)]
pub struct Idiom {
    /// What was recognised.
    pub kind: IdiomKind,
    /// The construct (VERBATIM block, POINTER statement, procedure).
    pub span: Span,
}

/// What a name seen from outside the mechanism (hoc, Python, isf's protocol and recorder) refers
/// to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NameRole {
    /// A per-instance variable of the mechanism (RANGE PARAMETER or ASSIGNED, current, STATE).
    Range,
    /// A mechanism-wide value (GLOBAL, or a PARAMETER not in RANGE).
    Global,
    /// A variable of an ion at the segment (`ena`, `ina`, `cai`), shared by every mechanism
    /// using the ion.
    Ion,
}

/// A name as NEURON exposes it, and the variable behind it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NeuronName {
    /// The name outside (`gnabar_hh`, `m_hh`, `ina`, `tau` of an ExpSyn instance, `minf_hh`).
    pub name: String,
    /// The NMODL variable.
    pub variable: String,
    /// Its role.
    pub role: NameRole,
}

/// The analysed model of one `.mod` file.
#[derive(Debug, Clone)]
pub struct AnalysedModel {
    /// File name.
    pub file: String,
    /// TITLE.
    pub title: Option<String>,
    /// Kind.
    pub kind: MechanismKind,
    /// Mechanism name (SUFFIX / POINT_PROCESS / ARTIFICIAL_CELL).
    pub name: String,
    /// THREADSAFE.
    pub threadsafe: bool,
    /// USEION statements.
    pub ions: Vec<IonUse>,
    /// NONSPECIFIC_CURRENT names.
    pub nonspecific_currents: Vec<String>,
    /// ELECTRODE_CURRENT names.
    pub electrode_currents: Vec<String>,
    /// Every variable (declared or implied), in declaration order.
    pub variables: Vec<Variable>,
    /// RANGE and GLOBAL names that name no variable (NEURON ignores them unless they are used).
    pub ignored_names: Vec<String>,
    /// UNITS factors and CONSTANTs.
    pub constants: Vec<Constant>,
    /// FUNCTIONs and PROCEDUREs.
    pub callables: Vec<Callable>,
    /// SOLVE statements (BREAKPOINT and INITIAL).
    pub solves: Vec<Solve>,
    /// Every name of the file in the order of its first appearance (NEURON's translator enters
    /// names in its symbol table in this order, which sets the order of Newton's unknowns).
    pub name_order: Vec<String>,
    /// NET_RECEIVE, if any.
    pub net_receive: Option<NetReceive>,
    /// Recognised idioms.
    pub idioms: Vec<Idiom>,
    /// GLOBAL (or PARAMETER-implied global) variables assigned by some block: shared state the
    /// kernels write (NEURON keeps one copy per thread when THREADSAFE).
    pub globals_written: Vec<String>,
    /// Built-ins used.
    pub builtins_used: Vec<Builtin>,
    /// Each membrane current (NONSPECIFIC, ELECTRODE, written ion currents, in declaration order)
    /// and how BREAKPOINT makes it depend on `v`.
    pub current_linearity: Vec<(String, crate::linearity::VDep)>,
    /// Whether an INITIAL block exists.
    pub has_initial: bool,
    /// Whether a BREAKPOINT block exists.
    pub has_breakpoint: bool,
    /// The syntax tree the analysis ran on.
    pub module: Module,
}

impl AnalysedModel {
    /// A variable by name.
    pub fn var(&self, name: &str) -> Option<&Variable> {
        self.variables.iter().find(|v| v.name == name)
    }

    /// STATE variables in declaration order.
    pub fn states(&self) -> impl Iterator<Item = &Variable> {
        self.variables.iter().filter(|v| v.class == VarClass::State)
    }

    /// A FUNCTION or PROCEDURE by name.
    pub fn callable(&self, name: &str) -> Option<&Callable> {
        self.callables.iter().find(|c| c.name == name)
    }

    /// Every name NEURON exposes for this mechanism, in declaration order: RANGE PARAMETERs and
    /// ASSIGNEDs, currents and STATEs are `name_suffix` for a density mechanism and `name` on a
    /// point-process instance; GLOBALs (and PARAMETERs not in RANGE) are `name_suffix` (for a point
    /// process `name_Name`); ion variables are the ion's own (`ena`, `ina`, `cai`), never
    /// duplicated with the suffix; other ASSIGNEDs are invisible.
    pub fn neuron_names(&self) -> Vec<NeuronName> {
        let suffixed = |n: &str| format!("{n}_{}", self.name);
        let mut out = Vec::new();
        for v in &self.variables {
            if matches!(
                v.class,
                VarClass::Builtin(_) | VarClass::Pointer | VarClass::Random | VarClass::FileLocal
            ) {
                continue;
            }
            if v.ion.is_some() {
                out.push(NeuronName {
                    name: v.name.clone(),
                    variable: v.name.clone(),
                    role: NameRole::Ion,
                });
                continue;
            }
            let role = match v.visibility {
                Visibility::Range => NameRole::Range,
                Visibility::Global => NameRole::Global,
                Visibility::Hidden => continue,
            };
            let name = match (role, self.kind) {
                (NameRole::Range, MechanismKind::Density) | (NameRole::Global, _) => {
                    suffixed(&v.name)
                }
                _ => v.name.clone(),
            };
            out.push(NeuronName {
                name,
                variable: v.name.clone(),
                role,
            });
        }
        out
    }

    /// Whether every membrane current is affine in `v` (so `Numerics::Fast` may take the slope
    /// analytically instead of NEURON's second evaluation at `v + 0.001`).
    pub fn current_is_affine(&self) -> bool {
        self.current_linearity
            .iter()
            .all(|(_, d)| *d != crate::linearity::VDep::NonLinear)
    }

    /// Whether some construct still needs the code generator's idiom support.
    pub fn needs_idiom_support(&self) -> bool {
        self.idioms.iter().any(|i| {
            !matches!(
                i.kind,
                IdiomKind::CommentOnlyVerbatim
                    | IdiomKind::TrailingReturn
                    | IdiomKind::RandomApiDeclarations
                    | IdiomKind::VectorApiDeclarations
                    | IdiomKind::HocRandomSetter { .. }
            )
        })
    }
}
