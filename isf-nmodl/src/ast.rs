//! Syntax tree of an NMODL file. Every node carries the [`Span`] it was read from.

use crate::error::Span;

/// A name as written, with its position.
#[derive(Debug, Clone, PartialEq)]
pub struct Ident {
    /// The name.
    pub name: String,
    /// Where it is.
    pub span: Span,
}

/// A unit annotation `(mV)`: the text between the parentheses, verbatim.
#[derive(Debug, Clone, PartialEq)]
pub struct UnitAnn {
    /// Text between the parentheses (not trimmed).
    pub text: String,
    /// Span of the whole `( ... )`.
    pub span: Span,
}

/// A literal number as written (the translator copies the text into C, so the text is kept).
#[derive(Debug, Clone, PartialEq)]
pub struct Number {
    /// The literal as written, with a leading `-` when the grammar allows a signed number.
    pub text: String,
    /// Its value (the text parsed as an IEEE double, correctly rounded).
    pub value: f64,
    /// Whether it was written as an integer.
    pub integer: bool,
    /// Where it is.
    pub span: Span,
}

/// One parsed file.
#[derive(Debug, Clone)]
pub struct Module {
    /// Top-level items in source order.
    pub items: Vec<Item>,
    /// Span covering the whole file.
    pub span: Span,
}

/// A top-level item.
#[derive(Debug, Clone)]
pub struct Item {
    /// What it is.
    pub kind: ItemKind,
    /// Where it is (keyword to closing brace).
    pub span: Span,
}

/// Top-level items.
#[derive(Debug, Clone)]
pub enum ItemKind {
    /// `TITLE text`.
    Title(String),
    /// `VERBATIM ... ENDVERBATIM` at file scope.
    Verbatim(String),
    /// `UNITSON` (true) / `UNITSOFF` (false).
    UnitsSwitch(bool),
    /// `DEFINE NAME integer`.
    Define {
        /// The name.
        name: Ident,
        /// Its integer value.
        value: i64,
    },
    /// File-scope `LOCAL a, b[2]`.
    Local(Vec<LocalDecl>),
    /// `INCLUDE "file"`.
    Include(String),
    /// `NEURON { ... }`.
    Neuron(Vec<NeuronStmt>),
    /// `UNITS { ... }`.
    Units(Vec<UnitDef>),
    /// `PARAMETER { ... }`.
    Parameter(Vec<ParamDecl>),
    /// `CONSTANT { ... }`.
    Constant(Vec<ConstDecl>),
    /// `INDEPENDENT { t FROM 0 TO 1 WITH 1 (ms) }`.
    Independent(Vec<IndepDecl>),
    /// `ASSIGNED { ... }`.
    Assigned(Vec<VarDecl>),
    /// `STATE { ... }`.
    State(Vec<VarDecl>),
    /// `INITIAL { ... }`.
    Initial(Block),
    /// `BREAKPOINT { ... }`.
    Breakpoint(Block),
    /// `CONSTRUCTOR { ... }`.
    Constructor(Block),
    /// `DESTRUCTOR { ... }`.
    Destructor(Block),
    /// `DERIVATIVE name { ... }`.
    Derivative {
        /// Block name.
        name: Ident,
        /// Body.
        body: Block,
    },
    /// `KINETIC name [SOLVEFOR a, b] { ... }`.
    Kinetic {
        /// Block name.
        name: Ident,
        /// SOLVEFOR list (empty: all states).
        solvefor: Vec<Ident>,
        /// Body.
        body: Block,
    },
    /// `LINEAR name [SOLVEFOR ...] { ... }`.
    Linear {
        /// Block name.
        name: Ident,
        /// SOLVEFOR list.
        solvefor: Vec<Ident>,
        /// Body.
        body: Block,
    },
    /// `NONLINEAR name [SOLVEFOR ...] { ... }`.
    NonLinear {
        /// Block name.
        name: Ident,
        /// SOLVEFOR list.
        solvefor: Vec<Ident>,
        /// Body.
        body: Block,
    },
    /// `DISCRETE name { ... }`.
    Discrete {
        /// Block name.
        name: Ident,
        /// Body.
        body: Block,
    },
    /// `FUNCTION name(args) (unit) { ... }`.
    Function(Callable),
    /// `PROCEDURE name(args) { ... }`.
    Procedure(Callable),
    /// `FUNCTION_TABLE name(args) (unit)`.
    FunctionTable {
        /// Name.
        name: Ident,
        /// Arguments.
        args: Vec<Param>,
    },
    /// `NET_RECEIVE(args) { ... }`.
    NetReceive {
        /// Arguments (the first is the weight; the rest are per-connection state).
        args: Vec<Param>,
        /// Body.
        body: Block,
    },
    /// `BEFORE|AFTER BREAKPOINT|SOLVE|INITIAL|STEP { ... }`.
    BeforeAfter {
        /// `BEFORE` or `AFTER`.
        when: String,
        /// Which phase.
        phase: String,
        /// Body.
        body: Block,
    },
}

/// A FUNCTION or PROCEDURE.
#[derive(Debug, Clone)]
pub struct Callable {
    /// Name.
    pub name: Ident,
    /// Formal arguments.
    pub args: Vec<Param>,
    /// Unit of the result (FUNCTION) if written.
    pub unit: Option<UnitAnn>,
    /// Body.
    pub body: Block,
}

/// A formal argument `name (unit)`.
#[derive(Debug, Clone)]
pub struct Param {
    /// Name.
    pub name: Ident,
    /// Unit if written.
    pub unit: Option<UnitAnn>,
}

/// `LOCAL` entry.
#[derive(Debug, Clone)]
pub struct LocalDecl {
    /// Name.
    pub name: Ident,
    /// Array size if `name[n]`.
    pub array: Option<u32>,
}

/// A statement of the NEURON block.
#[derive(Debug, Clone)]
pub struct NeuronStmt {
    /// What it is.
    pub kind: NeuronKind,
    /// Where it is.
    pub span: Span,
}

/// Kinds of NEURON-block statements.
#[derive(Debug, Clone)]
pub enum NeuronKind {
    /// `SUFFIX`, `POINT_PROCESS`, `ARTIFICIAL_CELL` (the keyword) and the name.
    Suffix {
        /// The keyword as written.
        keyword: String,
        /// The mechanism name.
        name: Ident,
    },
    /// `USEION ion READ ... WRITE ... VALENCE z REPRESENTS id`.
    UseIon {
        /// Ion name.
        ion: Ident,
        /// Variables read.
        read: Vec<Ident>,
        /// Variables written.
        write: Vec<Ident>,
        /// Valence if given.
        valence: Option<Number>,
    },
    /// `NONSPECIFIC_CURRENT a, b`.
    Nonspecific(Vec<Ident>),
    /// `ELECTRODE_CURRENT i`.
    Electrode(Vec<Ident>),
    /// `RANGE ...`.
    Range(Vec<Ident>),
    /// `GLOBAL ...`.
    Global(Vec<Ident>),
    /// `POINTER ...`.
    Pointer(Vec<Ident>),
    /// `BBCOREPOINTER ...`.
    BbCorePointer(Vec<Ident>),
    /// `EXTERNAL ...`.
    External(Vec<Ident>),
    /// `RANDOM ...` (NEURON 9 random streams).
    Random(Vec<Ident>),
    /// `THREADSAFE`.
    ThreadSafe,
    /// `REPRESENTS id` (ontology annotation; no effect).
    Represents(String),
}

/// A UNITS-block entry.
#[derive(Debug, Clone)]
pub enum UnitDef {
    /// `(new) = (old)`: defines a unit name.
    Alias {
        /// The unit being defined.
        name: UnitAnn,
        /// Its definition.
        def: UnitAnn,
    },
    /// `NAME = (unit1) (unit2)` or `NAME = (unit1) -> (unit2)`: the factor unit1/unit2.
    Factor {
        /// Constant name.
        name: Ident,
        /// Numerator unit.
        from: UnitAnn,
        /// Denominator unit.
        to: UnitAnn,
    },
    /// `NAME = number (unit)`: a named number.
    Value {
        /// Constant name.
        name: Ident,
        /// Value.
        value: Number,
        /// Unit.
        unit: UnitAnn,
    },
}

/// A PARAMETER entry.
#[derive(Debug, Clone)]
pub struct ParamDecl {
    /// Name.
    pub name: Ident,
    /// Array size if `name[n]`.
    pub array: Option<u32>,
    /// Default value (absent: 0).
    pub value: Option<Number>,
    /// Unit if written.
    pub unit: Option<UnitAnn>,
    /// `<lo, hi>` if written.
    pub limits: Option<(Number, Number)>,
    /// Whole entry.
    pub span: Span,
}

/// A CONSTANT entry.
#[derive(Debug, Clone)]
pub struct ConstDecl {
    /// Name.
    pub name: Ident,
    /// Value.
    pub value: Number,
    /// Unit if written.
    pub unit: Option<UnitAnn>,
}

/// An INDEPENDENT entry.
#[derive(Debug, Clone)]
pub struct IndepDecl {
    /// Name (NEURON allows only `t`).
    pub name: Ident,
    /// Unit if written.
    pub unit: Option<UnitAnn>,
}

/// An ASSIGNED or STATE entry.
#[derive(Debug, Clone)]
pub struct VarDecl {
    /// Name.
    pub name: Ident,
    /// Array size if `name[n]`.
    pub array: Option<u32>,
    /// `FROM lo TO hi` if written.
    pub range: Option<(Number, Number)>,
    /// `START value` if written.
    pub start: Option<Number>,
    /// Unit if written.
    pub unit: Option<UnitAnn>,
    /// `<tolerance>` if written.
    pub abstol: Option<Number>,
}

/// `{ LOCAL ...  statements }`.
#[derive(Debug, Clone)]
pub struct Block {
    /// LOCAL names declared at the top of the block.
    pub locals: Vec<LocalDecl>,
    /// Statements.
    pub stmts: Vec<Stmt>,
    /// Braces included.
    pub span: Span,
}

/// A statement.
#[derive(Debug, Clone)]
pub struct Stmt {
    /// What it is.
    pub kind: StmtKind,
    /// Where it is.
    pub span: Span,
}

/// The target of an assignment.
#[derive(Debug, Clone)]
pub struct LValue {
    /// Name assigned (for a derivative `x'`, the state `x`).
    pub name: Ident,
    /// Derivative order (0 for a plain variable).
    pub prime: u32,
    /// Index for arrays.
    pub index: Option<Box<Expr>>,
}

/// Statements.
#[derive(Debug, Clone)]
pub enum StmtKind {
    /// `x = e`, `x' = e`, `a[i] = e` (`PROTECT` prefix recorded).
    Assign {
        /// Target.
        target: LValue,
        /// Value.
        value: Expr,
        /// Written with `PROTECT`.
        protect: bool,
    },
    /// A call used as a statement.
    Call(Expr),
    /// `if (c) {...} else if (c) {...} else {...}`.
    If {
        /// Condition.
        cond: Expr,
        /// Then branch.
        then: Block,
        /// Else branch: another `If` statement for `else if`, or a block.
        otherwise: Option<Box<Stmt>>,
    },
    /// `while (c) {...}`.
    While {
        /// Condition.
        cond: Expr,
        /// Body.
        body: Block,
    },
    /// `FROM i = a TO b [BY s] {...}`.
    From {
        /// Loop variable (integer).
        var: Ident,
        /// Start.
        from: Expr,
        /// End (inclusive).
        to: Expr,
        /// Step.
        by: Option<Expr>,
        /// Body.
        body: Block,
    },
    /// A nested `{ ... }`.
    Block(Block),
    /// `SOLVE name [METHOD m | STEADYSTATE m]`.
    Solve {
        /// Block solved.
        block: Ident,
        /// Method if written.
        method: Option<Ident>,
        /// Written with `STEADYSTATE` instead of `METHOD`.
        steadystate: bool,
    },
    /// `TABLE names DEPEND names FROM a TO b WITH n`.
    Table {
        /// Tabulated variables (empty in a FUNCTION: its value is tabulated).
        names: Vec<Ident>,
        /// Variables the table depends on.
        depend: Vec<Ident>,
        /// Lower end.
        from: Expr,
        /// Upper end.
        to: Expr,
        /// Number of intervals.
        with: Number,
    },
    /// `LOCAL` in a statement position (refused by NEURON; kept for the error).
    Local(Vec<LocalDecl>),
    /// `VERBATIM ... ENDVERBATIM` as a statement.
    Verbatim(String),
    /// `UNITSON` / `UNITSOFF`.
    UnitsSwitch(bool),
    /// `INITIAL { ... }` inside NET_RECEIVE.
    Initial(Block),
    /// `~ reactants <-> products (kf, kb)` and flux forms.
    Reaction {
        /// Left side.
        lhs: Vec<Reactant>,
        /// Form and rates.
        form: ReactionForm,
    },
    /// `CONSERVE a + b = e`.
    Conserve {
        /// Terms.
        terms: Vec<Reactant>,
        /// Total.
        total: Expr,
    },
    /// `COMPARTMENT [i,] volume { states }`.
    Compartment {
        /// Index variable for arrays.
        index: Option<Ident>,
        /// Volume expression.
        volume: Expr,
        /// States in this compartment.
        states: Vec<Ident>,
    },
    /// `LONGITUDINAL_DIFFUSION [i,] expr { states }`.
    LongDiffusion {
        /// Index variable for arrays.
        index: Option<Ident>,
        /// Flux expression.
        expr: Expr,
        /// States.
        states: Vec<Ident>,
    },
    /// `~ lhs = rhs` in LINEAR / NONLINEAR (`~+` adds to the previous one).
    Equation {
        /// `~+`.
        add: bool,
        /// Left side.
        lhs: Expr,
        /// Right side.
        rhs: Expr,
    },
    /// `WATCH (a > b) flag, ...`.
    Watch(Vec<(Expr, Expr)>),
    /// `FOR_NETCONS(args) { ... }`.
    ForNetcons {
        /// Arguments (as NET_RECEIVE's).
        args: Vec<Param>,
        /// Body.
        body: Block,
    },
    /// `CONDUCTANCE g [USEION ion]`.
    Conductance {
        /// Conductance variable.
        name: Ident,
        /// Ion.
        ion: Option<Ident>,
    },
    /// `MUTEXLOCK` / `MUTEXUNLOCK`.
    Mutex(bool),
    /// `LAG name BY name`.
    Lag {
        /// Variable.
        name: Ident,
        /// Lag.
        by: Ident,
    },
}

/// A term of a reaction: `2 A` or `A[i]`.
#[derive(Debug, Clone)]
pub struct Reactant {
    /// Stoichiometric coefficient (1 if not written).
    pub coef: u32,
    /// State (possibly indexed).
    pub name: Ident,
    /// Index for arrays.
    pub index: Option<Box<Expr>>,
}

/// Right side of a reaction.
#[derive(Debug, Clone)]
pub enum ReactionForm {
    /// `<-> products (kf, kb)`.
    Reversible {
        /// Products.
        rhs: Vec<Reactant>,
        /// Forward rate.
        kf: Expr,
        /// Backward rate.
        kb: Expr,
    },
    /// `-> (rate)`: the reactants leave at this rate.
    Out(Expr),
    /// `<< (flux)`: a flux into the reactants.
    In(Expr),
}

/// An expression.
#[derive(Debug, Clone)]
pub struct Expr {
    /// What it is.
    pub kind: ExprKind,
    /// Where it is.
    pub span: Span,
}

/// Binary operators.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BinOp {
    /// `||`
    Or,
    /// `&&`
    And,
    /// `>`
    Gt,
    /// `>=`
    Ge,
    /// `<`
    Lt,
    /// `<=`
    Le,
    /// `==`
    Eq,
    /// `!=`
    Ne,
    /// `+`
    Add,
    /// `-`
    Sub,
    /// `*`
    Mul,
    /// `/`
    Div,
    /// `^` (the translator emits `pow(a, b)`).
    Pow,
}

impl BinOp {
    /// The operator as written.
    pub fn symbol(self) -> &'static str {
        match self {
            BinOp::Or => "||",
            BinOp::And => "&&",
            BinOp::Gt => ">",
            BinOp::Ge => ">=",
            BinOp::Lt => "<",
            BinOp::Le => "<=",
            BinOp::Eq => "==",
            BinOp::Ne => "!=",
            BinOp::Add => "+",
            BinOp::Sub => "-",
            BinOp::Mul => "*",
            BinOp::Div => "/",
            BinOp::Pow => "^",
        }
    }
}

/// Unary operators.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UnOp {
    /// `-`
    Neg,
    /// `!`
    Not,
}

/// A call argument: an expression or a string (for `printf`).
#[derive(Debug, Clone)]
pub enum Arg {
    /// An expression.
    Expr(Expr),
    /// A string literal.
    Str(String, crate::error::Span),
}

/// Expressions.
#[derive(Debug, Clone)]
pub enum ExprKind {
    /// A number, with its unit annotation if written (`0.062 (/mV)`).
    Number(Number, Option<UnitAnn>),
    /// A variable.
    Var(Ident),
    /// A derivative `x'` used as a value.
    Prime(Ident, u32),
    /// `a[i]`.
    Index(Ident, Box<Expr>),
    /// `f(args)`.
    Call(Ident, Vec<Arg>),
    /// `( e )` (kept: the translator copies parentheses into C).
    Paren(Box<Expr>),
    /// `-e`, `!e`.
    Unary(UnOp, Box<Expr>),
    /// `a op b`.
    Binary(BinOp, Box<Expr>, Box<Expr>),
}
