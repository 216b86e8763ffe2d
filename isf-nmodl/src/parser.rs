//! Recursive-descent parser for NMODL, following the grammar of NEURON 9.0.2's translator.
//!
//! Precedence, lowest first (all binary operators left-associative except `^`):
//! `||`; `&&`; `> >= < <= == !=` (one level); `+ -`; `* /`; unary `-` and `!`; `^` (right).
//! So `-x^2` is `-(x^2)` and `!a == b` is `(!a) == b`. Newlines carry no meaning: statements
//! follow each other without separators.

use std::collections::HashMap;

use crate::ast::*;
use crate::error::{Diagnostic, Error, ErrorKind, SourceFile, Span};
use crate::lexer::{lex, Tok, Token};

/// Deepest nesting of blocks and expressions accepted (hostile input must not exhaust the stack).
pub const MAX_DEPTH: u32 = 128;
/// Syntax errors reported per file before giving up.
const MAX_SYNTAX_ERRORS: usize = 10;

/// Words NEURON's translator reserves (they are never variable names).
pub const KEYWORDS: &[&str] = &[
    "VERBATIM",
    "COMMENT",
    "TITLE",
    "CONSTANT",
    "PARAMETER",
    "INDEPENDENT",
    "ASSIGNED",
    "INITIAL",
    "DERIVATIVE",
    "EQUATION",
    "BREAKPOINT",
    "CONDUCTANCE",
    "SOLVE",
    "STATE",
    "LINEAR",
    "NONLINEAR",
    "DISCRETE",
    "FUNCTION",
    "FUNCTION_TABLE",
    "PROCEDURE",
    "INT",
    "DEL2",
    "DEL",
    "LOCAL",
    "METHOD",
    "STEADYSTATE",
    "STEP",
    "WITH",
    "FROM",
    "TO",
    "BY",
    "if",
    "else",
    "while",
    "IF",
    "ELSE",
    "WHILE",
    "START",
    "DEFINE",
    "KINETIC",
    "CONSERVE",
    "VS",
    "LAG",
    "SWEEP",
    "COMPARTMENT",
    "LONGITUDINAL_DIFFUSION",
    "SOLVEFOR",
    "UNITS",
    "UNITSON",
    "UNITSOFF",
    "TABLE",
    "DEPEND",
    "NEURON",
    "SUFFIX",
    "POINT_PROCESS",
    "ARTIFICIAL_CELL",
    "NONSPECIFIC_CURRENT",
    "ELECTRODE_CURRENT",
    "RANGE",
    "USEION",
    "READ",
    "WRITE",
    "VALENCE",
    "CHARGE",
    "GLOBAL",
    "POINTER",
    "BBCOREPOINTER",
    "EXTERNAL",
    "INCLUDE",
    "CONSTRUCTOR",
    "DESTRUCTOR",
    "NET_RECEIVE",
    "BEFORE",
    "AFTER",
    "WATCH",
    "FOR_NETCONS",
    "THREADSAFE",
    "PROTECT",
    "MUTEXLOCK",
    "MUTEXUNLOCK",
    "REPRESENTS",
    "RANDOM",
    "ENDCOMMENT",
    "ENDVERBATIM",
];

/// Whether `w` is a reserved word.
pub fn is_keyword(w: &str) -> bool {
    KEYWORDS.contains(&w)
}

/// Which kind of block statements are being read (equations and reactions depend on it).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Ctx {
    Plain,
    Kinetic,
    Linear,
    NonLinear,
}

type PResult<T> = std::result::Result<T, Diagnostic>;

/// Parses a whole file. Lexical and syntax errors are returned together (up to ten).
pub fn parse(src: &SourceFile) -> Result<Module, Error> {
    let (toks, mut diags) = lex(src);
    let mut p = Parser {
        src,
        toks,
        pos: 0,
        depth: 0,
        defines: HashMap::new(),
        ctx: Ctx::Plain,
    };
    let mut items = Vec::new();
    while !p.at_eof() {
        if diags.len() >= MAX_SYNTAX_ERRORS {
            break;
        }
        let start_pos = p.pos;
        match p.item() {
            Ok(item) => items.push(item),
            Err(d) => {
                diags.push(d);
                p.recover(start_pos);
            }
        }
    }
    if diags.is_empty() {
        Ok(Module {
            items,
            span: src.span(0, src.text.len()),
        })
    } else {
        diags.sort_by_key(|d| (d.line, d.col));
        Err(Error { diagnostics: diags })
    }
}

struct Parser<'a> {
    src: &'a SourceFile,
    toks: Vec<Token>,
    pos: usize,
    depth: u32,
    defines: HashMap<String, i64>,
    ctx: Ctx,
}

const TOP_KEYWORDS: &[&str] = &[
    "NEURON",
    "UNITS",
    "PARAMETER",
    "CONSTANT",
    "INDEPENDENT",
    "ASSIGNED",
    "STATE",
    "INITIAL",
    "BREAKPOINT",
    "DERIVATIVE",
    "KINETIC",
    "LINEAR",
    "NONLINEAR",
    "DISCRETE",
    "FUNCTION",
    "PROCEDURE",
    "FUNCTION_TABLE",
    "NET_RECEIVE",
    "CONSTRUCTOR",
    "DESTRUCTOR",
    "BEFORE",
    "AFTER",
    "LOCAL",
    "DEFINE",
    "UNITSON",
    "UNITSOFF",
    "INCLUDE",
];

impl<'a> Parser<'a> {
    // ---- token helpers -------------------------------------------------------------------

    fn peek(&self) -> &Tok {
        &self.toks[self.pos.min(self.toks.len() - 1)].tok
    }

    fn peek_at(&self, k: usize) -> &Tok {
        &self.toks[(self.pos + k).min(self.toks.len() - 1)].tok
    }

    fn tok(&self) -> &Token {
        &self.toks[self.pos.min(self.toks.len() - 1)]
    }

    fn at_eof(&self) -> bool {
        matches!(self.peek(), Tok::Eof)
    }

    fn bump(&mut self) -> Token {
        let t = self.tok().clone();
        if self.pos < self.toks.len() - 1 {
            self.pos += 1;
        }
        t
    }

    fn span_of(&self, t: &Token) -> Span {
        self.src.span(t.start, t.end)
    }

    /// Span from byte `start` to the end of the previous token.
    fn span_from(&self, start: usize) -> Span {
        let end = if self.pos > 0 {
            self.toks[self.pos - 1].end
        } else {
            start
        };
        self.src.span(start, end.max(start))
    }

    fn err_here(&self, construct: &str, msg: impl Into<String>) -> Diagnostic {
        let t = self.tok();
        let construct = if construct.is_empty() {
            t.tok.describe()
        } else {
            construct.to_string()
        };
        Diagnostic::at(
            self.src,
            &self.span_of(t),
            ErrorKind::Syntax,
            construct,
            msg,
        )
    }

    fn expected(&self, what: &str) -> Diagnostic {
        let found = self.peek().describe();
        self.err_here("", format!("expected {what}, found {found}"))
    }

    fn is_name(&self, w: &str) -> bool {
        matches!(self.peek(), Tok::Name(n) if n == w)
    }

    fn eat_name(&mut self, w: &str) -> bool {
        if self.is_name(w) {
            self.bump();
            true
        } else {
            false
        }
    }

    fn expect(&mut self, t: Tok, what: &str) -> PResult<Token> {
        if *self.peek() == t {
            Ok(self.bump())
        } else {
            Err(self.expected(what))
        }
    }

    fn expect_kw(&mut self, w: &str) -> PResult<Token> {
        if self.is_name(w) {
            Ok(self.bump())
        } else {
            Err(self.expected(&format!("`{w}`")))
        }
    }

    /// A name that is not a reserved word.
    fn ident(&mut self, what: &str) -> PResult<Ident> {
        match self.peek().clone() {
            Tok::Name(n) if !is_keyword(&n) => {
                let t = self.bump();
                Ok(Ident {
                    name: n,
                    span: self.span_of(&t),
                })
            }
            Tok::Name(n) => Err(self.err_here(
                &n,
                format!("expected {what}, found the reserved word `{n}`"),
            )),
            _ => Err(self.expected(what)),
        }
    }

    fn enter(&mut self) -> PResult<()> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            let t = self.tok();
            return Err(Diagnostic::at(
                self.src,
                &self.span_of(t),
                ErrorKind::Limit,
                "nesting",
                format!("blocks or expressions nested deeper than {MAX_DEPTH} levels"),
            ));
        }
        Ok(())
    }

    fn leave(&mut self) {
        self.depth = self.depth.saturating_sub(1);
    }

    /// After an error in the item that began at token `start_pos`: skip to the end of that item
    /// (its braces balanced) or to the next top-level keyword at brace depth 0.
    fn recover(&mut self, start_pos: usize) {
        self.depth = 0;
        self.ctx = Ctx::Plain;
        let mut depth: i64 = 0;
        let mut i = start_pos;
        let mut seen_brace = false;
        while i < self.toks.len() - 1 {
            match &self.toks[i].tok {
                Tok::LBrace => {
                    depth += 1;
                    seen_brace = true;
                }
                Tok::RBrace => {
                    depth -= 1;
                    if depth <= 0 && seen_brace {
                        i += 1;
                        break;
                    }
                }
                Tok::Name(n)
                    if depth <= 0 && i > start_pos && TOP_KEYWORDS.contains(&n.as_str()) =>
                {
                    break;
                }
                _ => {}
            }
            i += 1;
        }
        self.pos = i.max(start_pos + 1).min(self.toks.len() - 1);
    }

    // ---- numbers and units ----------------------------------------------------------------

    fn number_from(&self, t: &Token, text: &str, integer: bool, neg: Option<usize>) -> Number {
        let full = if neg.is_some() {
            format!("-{text}")
        } else {
            text.to_string()
        };
        let value = full.parse::<f64>().unwrap_or(f64::NAN);
        let start = neg.unwrap_or(t.start);
        Number {
            text: full,
            value,
            integer,
            span: self.src.span(start, t.end),
        }
    }

    /// An unsigned number (integer, real or a DEFINEd name), if the current token is one.
    fn try_unsigned(&mut self, neg: Option<usize>) -> Option<Number> {
        let t = self.tok().clone();
        match &t.tok {
            Tok::Integer(s) => {
                self.bump();
                Some(self.number_from(&t, s, true, neg))
            }
            Tok::Real(s) => {
                self.bump();
                Some(self.number_from(&t, s, false, neg))
            }
            Tok::Name(n) if self.defines.contains_key(n) => {
                let v = self.defines[n].to_string();
                self.bump();
                Some(self.number_from(&t, &v, true, neg))
            }
            _ => None,
        }
    }

    /// `number: NUMBER | '-' NUMBER`.
    fn signed_number(&mut self, what: &str) -> PResult<Number> {
        if matches!(self.peek(), Tok::Minus) {
            let m = self.tok().start;
            let save = self.pos;
            self.bump();
            if let Some(n) = self.try_unsigned(Some(m)) {
                return Ok(n);
            }
            self.pos = save;
            return Err(self.expected(what));
        }
        self.try_unsigned(None).ok_or_else(|| self.expected(what))
    }

    fn integer(&mut self, what: &str) -> PResult<Number> {
        let n = self.signed_number(what)?;
        if !n.integer {
            return Err(Diagnostic::at(
                self.src,
                &n.span,
                ErrorKind::Syntax,
                n.text.clone(),
                format!("expected {what} (an integer), found `{}`", n.text),
            ));
        }
        Ok(n)
    }

    fn array_size(&mut self) -> PResult<Option<u32>> {
        if !matches!(self.peek(), Tok::LBracket) {
            return Ok(None);
        }
        self.bump();
        let n = self.integer("an array size")?;
        self.expect(Tok::RBracket, "`]`")?;
        if n.value < 1.0 || n.value > 1.0e7 {
            return Err(Diagnostic::at(
                self.src,
                &n.span,
                ErrorKind::Semantic,
                n.text.clone(),
                "array size must be at least 1 (and at most 10^7)",
            ));
        }
        Ok(Some(n.value as u32))
    }

    /// A unit `( text )` if the current token is `(`: the text up to the next `)` on the same
    /// line, read raw as NEURON does.
    fn opt_unit(&mut self) -> PResult<Option<UnitAnn>> {
        if !matches!(self.peek(), Tok::LParen) {
            return Ok(None);
        }
        self.unit().map(Some)
    }

    fn unit(&mut self) -> PResult<UnitAnn> {
        let open = self.tok().clone();
        if open.tok != Tok::LParen {
            return Err(self.expected("a unit in parentheses"));
        }
        let text = &self.src.text;
        let b = text.as_bytes();
        let mut k = open.end;
        while k < b.len() && b[k] != b')' && b[k] != b'\n' && b[k] != b'\r' {
            k += 1;
        }
        if k >= b.len() || b[k] != b')' {
            return Err(Diagnostic::at(
                self.src,
                &self.span_of(&open),
                ErrorKind::Syntax,
                "(",
                "unit has no closing `)` on its line",
            ));
        }
        let unit_text = text[open.end..k].to_string();
        while self.pos < self.toks.len() - 1 && self.toks[self.pos].start <= k {
            self.pos += 1;
        }
        Ok(UnitAnn {
            text: unit_text,
            span: self.src.span(open.start, k + 1),
        })
    }

    fn limits(&mut self) -> PResult<Option<(Number, Number)>> {
        if !matches!(self.peek(), Tok::Lt) {
            return Ok(None);
        }
        self.bump();
        let lo = self.signed_number("the lower limit")?;
        self.expect(Tok::Comma, "`,` between the limits")?;
        let hi = self.signed_number("the upper limit")?;
        self.expect(Tok::Gt, "`>` closing the limits")?;
        Ok(Some((lo, hi)))
    }

    // ---- top level ------------------------------------------------------------------------

    fn item(&mut self) -> PResult<Item> {
        let t = self.tok().clone();
        let start = t.start;
        let kind = match &t.tok {
            Tok::Title(s) => {
                self.bump();
                ItemKind::Title(s.clone())
            }
            Tok::Verbatim(s) => {
                self.bump();
                ItemKind::Verbatim(s.clone())
            }
            Tok::Name(w) => match w.as_str() {
                "UNITSON" | "UNITSOFF" => {
                    self.bump();
                    ItemKind::UnitsSwitch(w == "UNITSON")
                }
                "DEFINE" => {
                    self.bump();
                    let name = self.ident("a name to DEFINE")?;
                    let v = self.integer("the DEFINEd value")?;
                    self.defines.insert(name.name.clone(), v.value as i64);
                    ItemKind::Define {
                        name,
                        value: v.value as i64,
                    }
                }
                "LOCAL" => {
                    self.bump();
                    ItemKind::Local(self.local_list()?)
                }
                "INCLUDE" => {
                    self.bump();
                    match self.peek().clone() {
                        Tok::Str(s) => {
                            self.bump();
                            ItemKind::Include(s)
                        }
                        _ => return Err(self.expected("a quoted file name after INCLUDE")),
                    }
                }
                "NEURON" => {
                    self.bump();
                    ItemKind::Neuron(self.neuron_block()?)
                }
                "UNITS" => {
                    self.bump();
                    ItemKind::Units(self.units_block()?)
                }
                "PARAMETER" => {
                    self.bump();
                    ItemKind::Parameter(self.parameter_block()?)
                }
                "CONSTANT" => {
                    self.bump();
                    ItemKind::Constant(self.constant_block()?)
                }
                "INDEPENDENT" => {
                    self.bump();
                    ItemKind::Independent(self.independent_block()?)
                }
                "ASSIGNED" => {
                    self.bump();
                    ItemKind::Assigned(self.var_block(false)?)
                }
                "STATE" => {
                    self.bump();
                    ItemKind::State(self.var_block(true)?)
                }
                "INITIAL" => {
                    self.bump();
                    ItemKind::Initial(self.block()?)
                }
                "BREAKPOINT" => {
                    self.bump();
                    ItemKind::Breakpoint(self.block()?)
                }
                "CONSTRUCTOR" => {
                    self.bump();
                    ItemKind::Constructor(self.block()?)
                }
                "DESTRUCTOR" => {
                    self.bump();
                    ItemKind::Destructor(self.block()?)
                }
                "DERIVATIVE" => {
                    self.bump();
                    let name = self.ident("the DERIVATIVE block's name")?;
                    let body = self.block()?;
                    ItemKind::Derivative { name, body }
                }
                "DISCRETE" => {
                    self.bump();
                    let name = self.ident("the DISCRETE block's name")?;
                    let body = self.block()?;
                    ItemKind::Discrete { name, body }
                }
                "KINETIC" | "LINEAR" | "NONLINEAR" => {
                    let w = w.clone();
                    self.bump();
                    let name = self.ident(&format!("the {w} block's name"))?;
                    let mut solvefor = Vec::new();
                    if self.eat_name("SOLVEFOR") {
                        solvefor.push(self.ident("a state after SOLVEFOR")?);
                        while matches!(self.peek(), Tok::Comma) {
                            self.bump();
                            solvefor.push(self.ident("a state after `,`")?);
                        }
                    }
                    self.ctx = match w.as_str() {
                        "KINETIC" => Ctx::Kinetic,
                        "LINEAR" => Ctx::Linear,
                        _ => Ctx::NonLinear,
                    };
                    let body = self.block();
                    self.ctx = Ctx::Plain;
                    let body = body?;
                    match w.as_str() {
                        "KINETIC" => ItemKind::Kinetic {
                            name,
                            solvefor,
                            body,
                        },
                        "LINEAR" => ItemKind::Linear {
                            name,
                            solvefor,
                            body,
                        },
                        _ => ItemKind::NonLinear {
                            name,
                            solvefor,
                            body,
                        },
                    }
                }
                "FUNCTION" | "PROCEDURE" => {
                    let is_fn = w == "FUNCTION";
                    self.bump();
                    let name = self.ident(if is_fn {
                        "the FUNCTION's name"
                    } else {
                        "the PROCEDURE's name"
                    })?;
                    self.expect(Tok::LParen, "`(` opening the argument list")?;
                    let args = self.params()?;
                    let unit = self.opt_unit()?;
                    let body = self.block()?;
                    let c = Callable {
                        name,
                        args,
                        unit,
                        body,
                    };
                    if is_fn {
                        ItemKind::Function(c)
                    } else {
                        ItemKind::Procedure(c)
                    }
                }
                "FUNCTION_TABLE" => {
                    self.bump();
                    let name = self.ident("the FUNCTION_TABLE's name")?;
                    self.expect(Tok::LParen, "`(`")?;
                    let args = self.params()?;
                    self.opt_unit()?;
                    ItemKind::FunctionTable { name, args }
                }
                "NET_RECEIVE" => {
                    self.bump();
                    self.expect(Tok::LParen, "`(` opening NET_RECEIVE's arguments")?;
                    let args = self.params()?;
                    if args.is_empty() {
                        return Err(Diagnostic::at(
                            self.src,
                            &self.span_from(start),
                            ErrorKind::Syntax,
                            "NET_RECEIVE",
                            "NET_RECEIVE must have at least one argument (the weight)",
                        ));
                    }
                    let body = self.block()?;
                    ItemKind::NetReceive { args, body }
                }
                "BEFORE" | "AFTER" => {
                    let when = w.clone();
                    self.bump();
                    let phase = match self.peek() {
                        Tok::Name(p)
                            if matches!(
                                p.as_str(),
                                "BREAKPOINT" | "SOLVE" | "INITIAL" | "STEP"
                            ) =>
                        {
                            p.clone()
                        }
                        _ => return Err(self.expected("BREAKPOINT, SOLVE, INITIAL or STEP")),
                    };
                    self.bump();
                    let body = self.block()?;
                    ItemKind::BeforeAfter { when, phase, body }
                }
                _ => {
                    return Err(self.err_here(
                        w,
                        format!(
                            "expected a block keyword (NEURON, PARAMETER, BREAKPOINT, ...), found `{w}`"
                        ),
                    ))
                }
            },
            _ => return Err(self.expected("a block keyword (NEURON, PARAMETER, BREAKPOINT, ...)")),
        };
        Ok(Item {
            kind,
            span: self.span_from(start),
        })
    }

    fn local_list(&mut self) -> PResult<Vec<LocalDecl>> {
        let mut v = Vec::new();
        loop {
            let name = self.ident("a LOCAL name")?;
            let array = self.array_size()?;
            v.push(LocalDecl { name, array });
            if matches!(self.peek(), Tok::Comma) {
                self.bump();
            } else {
                break;
            }
        }
        Ok(v)
    }

    /// `arglist ')'` (the `(` already read).
    fn params(&mut self) -> PResult<Vec<Param>> {
        let mut v = Vec::new();
        if matches!(self.peek(), Tok::RParen) {
            self.bump();
            return Ok(v);
        }
        loop {
            let name = self.ident("an argument name")?;
            let unit = self.opt_unit()?;
            v.push(Param { name, unit });
            match self.peek() {
                Tok::Comma => {
                    self.bump();
                }
                Tok::RParen => {
                    self.bump();
                    return Ok(v);
                }
                _ => return Err(self.expected("`,` or `)` in the argument list")),
            }
        }
    }

    fn name_list(&mut self, what: &str) -> PResult<Vec<Ident>> {
        let mut v = vec![self.ident(what)?];
        while matches!(self.peek(), Tok::Comma) {
            self.bump();
            v.push(self.ident(what)?);
        }
        Ok(v)
    }

    fn neuron_block(&mut self) -> PResult<Vec<NeuronStmt>> {
        self.expect(Tok::LBrace, "`{` after NEURON")?;
        let mut v = Vec::new();
        loop {
            let t = self.tok().clone();
            let start = t.start;
            let w = match &t.tok {
                Tok::RBrace => {
                    self.bump();
                    return Ok(v);
                }
                Tok::Name(w) => w.clone(),
                _ => return Err(self.expected("a NEURON-block statement or `}`")),
            };
            self.bump();
            let kind = match w.as_str() {
                "SUFFIX" | "POINT_PROCESS" | "ARTIFICIAL_CELL" => NeuronKind::Suffix {
                    keyword: w.clone(),
                    name: self.ident("the mechanism name")?,
                },
                "USEION" => {
                    let ion = self.ident("an ion name")?;
                    let mut read = Vec::new();
                    let mut write = Vec::new();
                    if self.eat_name("READ") {
                        read = self.name_list("an ion variable")?;
                    }
                    if self.eat_name("WRITE") {
                        write = self.name_list("an ion variable")?;
                    }
                    if read.is_empty() && write.is_empty() {
                        return Err(self.expected("READ or WRITE after the ion name"));
                    }
                    let mut valence = None;
                    if self.eat_name("VALENCE") || self.eat_name("CHARGE") {
                        valence = Some(self.signed_number("the valence")?);
                    }
                    if self.eat_name("REPRESENTS") {
                        self.ontology()?;
                    }
                    NeuronKind::UseIon {
                        ion,
                        read,
                        write,
                        valence,
                    }
                }
                "NONSPECIFIC_CURRENT" => NeuronKind::Nonspecific(self.name_list("a current name")?),
                "ELECTRODE_CURRENT" => NeuronKind::Electrode(self.name_list("a current name")?),
                "RANGE" => NeuronKind::Range(self.name_list("a variable name")?),
                "GLOBAL" => NeuronKind::Global(self.name_list("a variable name")?),
                "POINTER" => NeuronKind::Pointer(self.name_list("a pointer name")?),
                "BBCOREPOINTER" => NeuronKind::BbCorePointer(self.name_list("a pointer name")?),
                "EXTERNAL" => NeuronKind::External(self.name_list("a variable name")?),
                "RANDOM" => NeuronKind::Random(self.name_list("a random variable name")?),
                "THREADSAFE" => NeuronKind::ThreadSafe,
                "REPRESENTS" => NeuronKind::Represents(self.ontology()?),
                _ => {
                    self.pos -= 1;
                    return Err(self.err_here(
                        &w,
                        format!(
                            "`{w}` is not a NEURON-block statement (SUFFIX, USEION, RANGE, ...)"
                        ),
                    ));
                }
            };
            v.push(NeuronStmt {
                kind,
                span: self.span_from(start),
            });
        }
    }

    fn ontology(&mut self) -> PResult<String> {
        match self.peek().clone() {
            Tok::Ontology(s) => {
                self.bump();
                Ok(s)
            }
            _ => Err(self.expected("an ontology identifier such as `NCIT:C17145`")),
        }
    }

    fn units_block(&mut self) -> PResult<Vec<UnitDef>> {
        self.expect(Tok::LBrace, "`{` after UNITS")?;
        let mut v = Vec::new();
        loop {
            match self.peek().clone() {
                Tok::RBrace => {
                    self.bump();
                    return Ok(v);
                }
                Tok::LParen => {
                    let name = self.unit()?;
                    self.expect(Tok::Assign, "`=` in a unit definition `(new) = (old)`")?;
                    let def = self.unit()?;
                    v.push(UnitDef::Alias { name, def });
                }
                Tok::Name(_) => {
                    let name = self.ident("a constant name")?;
                    self.expect(Tok::Assign, "`=` after the constant's name")?;
                    if matches!(self.peek(), Tok::LParen) {
                        let from = self.unit()?;
                        if matches!(self.peek(), Tok::Minus) && matches!(self.peek_at(1), Tok::Gt) {
                            self.bump();
                            self.bump();
                        }
                        let to = self.unit()?;
                        v.push(UnitDef::Factor { name, from, to });
                    } else {
                        let value = self
                            .try_unsigned(None)
                            .ok_or_else(|| self.expected("a number or a unit"))?;
                        let unit = self.unit()?;
                        v.push(UnitDef::Value { name, value, unit });
                    }
                }
                _ => return Err(self.expected("a unit definition `(new) = (old)` or `}`")),
            }
        }
    }

    fn parameter_block(&mut self) -> PResult<Vec<ParamDecl>> {
        self.expect(Tok::LBrace, "`{` after PARAMETER")?;
        let mut v = Vec::new();
        loop {
            if matches!(self.peek(), Tok::RBrace) {
                self.bump();
                return Ok(v);
            }
            let start = self.tok().start;
            let name = self.ident("a parameter name or `}`")?;
            let mut array = None;
            let mut value = None;
            if matches!(self.peek(), Tok::Assign) {
                self.bump();
                value = Some(self.signed_number("the parameter's value")?);
            } else {
                array = self.array_size()?;
            }
            let unit = self.opt_unit()?;
            let limits = self.limits()?;
            v.push(ParamDecl {
                name,
                array,
                value,
                unit,
                limits,
                span: self.span_from(start),
            });
        }
    }

    fn constant_block(&mut self) -> PResult<Vec<ConstDecl>> {
        self.expect(Tok::LBrace, "`{` after CONSTANT")?;
        let mut v = Vec::new();
        loop {
            if matches!(self.peek(), Tok::RBrace) {
                self.bump();
                return Ok(v);
            }
            let name = self.ident("a constant name or `}`")?;
            self.expect(Tok::Assign, "`=` after the constant's name")?;
            let value = self.signed_number("the constant's value")?;
            let unit = self.opt_unit()?;
            v.push(ConstDecl { name, value, unit });
        }
    }

    fn independent_block(&mut self) -> PResult<Vec<IndepDecl>> {
        self.expect(Tok::LBrace, "`{` after INDEPENDENT")?;
        let mut v = Vec::new();
        loop {
            if matches!(self.peek(), Tok::RBrace) {
                self.bump();
                return Ok(v);
            }
            self.eat_name("SWEEP");
            let name = self.ident("the independent variable")?;
            self.expect_kw("FROM")?;
            self.signed_number("a number after FROM")?;
            self.expect_kw("TO")?;
            self.signed_number("a number after TO")?;
            self.expect_kw("WITH")?;
            self.integer("the number of steps after WITH")?;
            if self.eat_name("START") {
                self.signed_number("a number after START")?;
            }
            let unit = self.opt_unit()?;
            v.push(IndepDecl { name, unit });
        }
    }

    fn var_block(&mut self, state: bool) -> PResult<Vec<VarDecl>> {
        self.expect(
            Tok::LBrace,
            if state {
                "`{` after STATE"
            } else {
                "`{` after ASSIGNED"
            },
        )?;
        let mut v = Vec::new();
        loop {
            if matches!(self.peek(), Tok::RBrace) {
                self.bump();
                return Ok(v);
            }
            let name = self.ident("a variable name or `}`")?;
            let array = self.array_size()?;
            let mut range = None;
            if self.eat_name("FROM") {
                let lo = self.signed_number("a number after FROM")?;
                self.expect_kw("TO")?;
                let hi = self.signed_number("a number after TO")?;
                range = Some((lo, hi));
            }
            let mut start = None;
            if self.eat_name("START") {
                start = Some(self.signed_number("a number after START")?);
            }
            let unit = self.opt_unit()?;
            let mut abstol = None;
            if matches!(self.peek(), Tok::Lt) {
                self.bump();
                abstol = Some(self.signed_number("a tolerance")?);
                self.expect(Tok::Gt, "`>` after the tolerance")?;
            }
            v.push(VarDecl {
                name,
                array,
                range,
                start,
                unit,
                abstol,
            });
        }
    }

    // ---- statements -----------------------------------------------------------------------

    /// `{ [LOCAL ...] statements }`.
    fn block(&mut self) -> PResult<Block> {
        self.enter()?;
        let r = self.block_inner();
        self.leave();
        r
    }

    fn block_inner(&mut self) -> PResult<Block> {
        let open = self.expect(Tok::LBrace, "`{` opening a block")?;
        let mut locals = Vec::new();
        if self.eat_name("LOCAL") {
            locals = self.local_list()?;
        }
        let mut stmts = Vec::new();
        loop {
            match self.peek() {
                Tok::RBrace => {
                    self.bump();
                    break;
                }
                Tok::Eof => {
                    return Err(Diagnostic::at(
                        self.src,
                        &self.span_of(&open),
                        ErrorKind::Syntax,
                        "{",
                        "block is not closed: `}` missing before the end of the file",
                    ))
                }
                _ => stmts.push(self.stmt()?),
            }
        }
        Ok(Block {
            locals,
            stmts,
            span: self.span_from(open.start),
        })
    }

    fn stmt(&mut self) -> PResult<Stmt> {
        let t = self.tok().clone();
        let start = t.start;
        let kind = match &t.tok {
            Tok::Verbatim(s) => {
                self.bump();
                StmtKind::Verbatim(s.clone())
            }
            Tok::LBrace => StmtKind::Block(self.block()?),
            Tok::Tilde | Tok::TildePlus => self.tilde_stmt()?,
            Tok::Prime(..) => self.assignment(false)?,
            Tok::Name(w) => match w.as_str() {
                "if" | "IF" => return self.if_stmt(),
                "while" | "WHILE" => {
                    self.bump();
                    self.expect(Tok::LParen, "`(` after while")?;
                    let cond = self.expr()?;
                    self.expect(Tok::RParen, "`)` closing the condition")?;
                    let body = self.block()?;
                    StmtKind::While { cond, body }
                }
                "FROM" => {
                    self.bump();
                    let var = self.ident("the loop variable after FROM")?;
                    self.expect(Tok::Assign, "`=` after the loop variable")?;
                    let from = self.expr()?;
                    self.expect_kw("TO")?;
                    let to = self.expr()?;
                    let by = if self.eat_name("BY") {
                        Some(self.expr()?)
                    } else {
                        None
                    };
                    let body = self.block()?;
                    StmtKind::From {
                        var,
                        from,
                        to,
                        by,
                        body,
                    }
                }
                "SOLVE" => {
                    self.bump();
                    let block = self.ident("the name of the block to SOLVE")?;
                    let mut method = None;
                    let mut steadystate = false;
                    if self.is_name("METHOD") || self.is_name("STEADYSTATE") {
                        steadystate = self.is_name("STEADYSTATE");
                        self.bump();
                        match self.peek().clone() {
                            Tok::Name(m) => {
                                let t = self.bump();
                                method = Some(Ident {
                                    name: m,
                                    span: self.span_of(&t),
                                });
                            }
                            _ => return Err(self.expected("a method name")),
                        }
                    }
                    StmtKind::Solve {
                        block,
                        method,
                        steadystate,
                    }
                }
                "TABLE" => self.table_stmt()?,
                "LOCAL" => {
                    return Err(self.err_here(
                        "LOCAL",
                        "LOCAL must come first in a block (NEURON accepts it nowhere else)",
                    ))
                }
                "INITIAL" => {
                    self.bump();
                    StmtKind::Initial(self.block()?)
                }
                "UNITSON" | "UNITSOFF" => {
                    self.bump();
                    StmtKind::UnitsSwitch(w == "UNITSON")
                }
                "CONSERVE" => {
                    self.bump();
                    let terms = self.reactants()?;
                    self.expect(Tok::Assign, "`=` in CONSERVE")?;
                    let total = self.expr()?;
                    StmtKind::Conserve { terms, total }
                }
                "COMPARTMENT" | "LONGITUDINAL_DIFFUSION" => {
                    let is_comp = w == "COMPARTMENT";
                    self.bump();
                    let mut index = None;
                    if matches!(self.peek(), Tok::Name(n) if !is_keyword(n))
                        && matches!(self.peek_at(1), Tok::Comma)
                    {
                        index = Some(self.ident("an index name")?);
                        self.bump();
                    }
                    let e = self.expr()?;
                    self.expect(Tok::LBrace, "`{` opening the list of states")?;
                    let mut states = Vec::new();
                    while !matches!(self.peek(), Tok::RBrace) {
                        states.push(self.ident("a state name or `}`")?);
                    }
                    self.bump();
                    if is_comp {
                        StmtKind::Compartment {
                            index,
                            volume: e,
                            states,
                        }
                    } else {
                        StmtKind::LongDiffusion {
                            index,
                            expr: e,
                            states,
                        }
                    }
                }
                "WATCH" => {
                    self.bump();
                    let mut v = Vec::new();
                    loop {
                        self.expect(Tok::LParen, "`(` after WATCH")?;
                        let c = self.expr()?;
                        self.expect(Tok::RParen, "`)` closing the WATCH condition")?;
                        let flag = self.expr()?;
                        v.push((c, flag));
                        if matches!(self.peek(), Tok::Comma) {
                            self.bump();
                        } else {
                            break;
                        }
                    }
                    StmtKind::Watch(v)
                }
                "FOR_NETCONS" => {
                    self.bump();
                    self.expect(Tok::LParen, "`(` after FOR_NETCONS")?;
                    let args = self.params()?;
                    let body = self.block()?;
                    StmtKind::ForNetcons { args, body }
                }
                "CONDUCTANCE" => {
                    self.bump();
                    let name = self.ident("a conductance name")?;
                    let ion = if self.eat_name("USEION") {
                        Some(self.ident("an ion name")?)
                    } else {
                        None
                    };
                    StmtKind::Conductance { name, ion }
                }
                "MUTEXLOCK" | "MUTEXUNLOCK" => {
                    self.bump();
                    StmtKind::Mutex(w == "MUTEXLOCK")
                }
                "LAG" => {
                    self.bump();
                    let name = self.ident("a variable after LAG")?;
                    self.expect_kw("BY")?;
                    let by = self.ident("a name after BY")?;
                    StmtKind::Lag { name, by }
                }
                "PROTECT" => {
                    self.bump();
                    self.assignment(true)?
                }
                w if is_keyword(w) => {
                    return Err(self.err_here(w, format!("`{w}` cannot start a statement here")))
                }
                _ => {
                    if matches!(self.peek_at(1), Tok::LParen) {
                        let call = self.primary()?.0;
                        StmtKind::Call(call)
                    } else {
                        self.assignment(false)?
                    }
                }
            },
            _ => return Err(self.expected("a statement")),
        };
        Ok(Stmt {
            kind,
            span: self.span_from(start),
        })
    }

    fn assignment(&mut self, protect: bool) -> PResult<StmtKind> {
        let target = self.lvalue()?;
        if matches!(self.peek(), Tok::At) {
            return Err(self.err_here("@", "DISCRETE variables (`name@n`) are not supported"));
        }
        self.expect(Tok::Assign, "`=` in an assignment")?;
        let value = self.expr()?;
        Ok(StmtKind::Assign {
            target,
            value,
            protect,
        })
    }

    fn lvalue(&mut self) -> PResult<LValue> {
        let t = self.tok().clone();
        let (name, prime) = match &t.tok {
            Tok::Prime(n, k) => {
                self.bump();
                (
                    Ident {
                        name: n.clone(),
                        span: self.span_of(&t),
                    },
                    *k,
                )
            }
            _ => (self.ident("a variable to assign")?, 0),
        };
        let index = if matches!(self.peek(), Tok::LBracket) {
            self.bump();
            let e = self.expr()?;
            self.expect(Tok::RBracket, "`]`")?;
            Some(Box::new(e))
        } else {
            None
        };
        Ok(LValue { name, prime, index })
    }

    fn if_stmt(&mut self) -> PResult<Stmt> {
        self.enter()?;
        let r = self.if_inner();
        self.leave();
        r
    }

    fn if_inner(&mut self) -> PResult<Stmt> {
        let start = self.bump().start;
        self.expect(Tok::LParen, "`(` after if")?;
        let cond = self.expr()?;
        self.expect(Tok::RParen, "`)` closing the condition")?;
        let then = self.block()?;
        let mut otherwise = None;
        if self.is_name("else") || self.is_name("ELSE") {
            let else_start = self.bump().start;
            if self.is_name("if") || self.is_name("IF") {
                otherwise = Some(Box::new(self.if_stmt()?));
            } else {
                let b = self.block()?;
                otherwise = Some(Box::new(Stmt {
                    kind: StmtKind::Block(b),
                    span: self.span_from(else_start),
                }));
            }
        }
        Ok(Stmt {
            kind: StmtKind::If {
                cond,
                then,
                otherwise,
            },
            span: self.span_from(start),
        })
    }

    fn table_stmt(&mut self) -> PResult<StmtKind> {
        self.bump();
        let mut names = Vec::new();
        if matches!(self.peek(), Tok::Name(n) if !is_keyword(n)) {
            names = self.name_list("a tabulated variable")?;
        }
        let mut depend = Vec::new();
        if self.eat_name("DEPEND") {
            depend = self.name_list("a DEPEND variable")?;
        }
        self.expect_kw("FROM")?;
        let from = self.expr()?;
        self.expect_kw("TO")?;
        let to = self.expr()?;
        self.expect_kw("WITH")?;
        let with = match self.peek().clone() {
            Tok::Integer(_) => self
                .try_unsigned(None)
                .ok_or_else(|| self.expected("an integer"))?,
            _ => return Err(self.expected("the number of table intervals (an integer) after WITH")),
        };
        Ok(StmtKind::Table {
            names,
            depend,
            from,
            to,
            with,
        })
    }

    fn tilde_stmt(&mut self) -> PResult<StmtKind> {
        let t = self.bump();
        let add = t.tok == Tok::TildePlus;
        match self.ctx {
            Ctx::Kinetic if !add => {
                let lhs = self.reactants()?;
                let form = match self.peek() {
                    Tok::React => {
                        self.bump();
                        let rhs = self.reactants()?;
                        self.expect(Tok::LParen, "`(` before the rates (kf, kb)")?;
                        let kf = self.expr()?;
                        self.expect(Tok::Comma, "`,` between the rates")?;
                        let kb = self.expr()?;
                        self.expect(Tok::RParen, "`)` after the rates")?;
                        ReactionForm::Reversible { rhs, kf, kb }
                    }
                    Tok::Minus if matches!(self.peek_at(1), Tok::Gt) => {
                        self.bump();
                        self.bump();
                        self.expect(Tok::LParen, "`(` before the rate")?;
                        let r = self.expr()?;
                        self.expect(Tok::RParen, "`)` after the rate")?;
                        ReactionForm::Out(r)
                    }
                    Tok::Lt if matches!(self.peek_at(1), Tok::Lt) => {
                        self.bump();
                        self.bump();
                        self.expect(Tok::LParen, "`(` before the flux")?;
                        let r = self.expr()?;
                        self.expect(Tok::RParen, "`)` after the flux")?;
                        ReactionForm::In(r)
                    }
                    _ => return Err(self.expected("`<->`, `->` or `<<` in a reaction")),
                };
                Ok(StmtKind::Reaction { lhs, form })
            }
            Ctx::Linear | Ctx::NonLinear => {
                let lhs = self.expr()?;
                self.expect(Tok::Assign, "`=` in an equation")?;
                let rhs = self.expr()?;
                Ok(StmtKind::Equation { add, lhs, rhs })
            }
            _ => Err(Diagnostic::at(
                self.src,
                &self.span_of(&t),
                ErrorKind::Syntax,
                "~",
                "equations (`~`) are allowed only in KINETIC, LINEAR and NONLINEAR blocks",
            )),
        }
    }

    fn reactants(&mut self) -> PResult<Vec<Reactant>> {
        let mut v = Vec::new();
        loop {
            let coef = if matches!(self.peek(), Tok::Integer(_)) {
                let n = self.integer("a coefficient")?;
                if !(1.0..=1.0e6).contains(&n.value) {
                    return Err(Diagnostic::at(
                        self.src,
                        &n.span,
                        ErrorKind::Semantic,
                        n.text.clone(),
                        "stoichiometric coefficient must be between 1 and 10^6",
                    ));
                }
                n.value as u32
            } else {
                1
            };
            let name = self.ident("a state in the reaction")?;
            let index = if matches!(self.peek(), Tok::LBracket) {
                self.bump();
                let e = self.expr()?;
                self.expect(Tok::RBracket, "`]`")?;
                Some(Box::new(e))
            } else {
                None
            };
            v.push(Reactant { coef, name, index });
            if matches!(self.peek(), Tok::Plus) {
                self.bump();
            } else {
                return Ok(v);
            }
        }
    }

    // ---- expressions ----------------------------------------------------------------------

    /// A full expression.
    pub fn expr(&mut self) -> PResult<Expr> {
        Ok(self.binary(1)?.0)
    }

    fn prec(t: &Tok) -> Option<(u8, BinOp)> {
        Some(match t {
            Tok::Or => (1, BinOp::Or),
            Tok::And => (2, BinOp::And),
            Tok::Gt => (3, BinOp::Gt),
            Tok::Ge => (3, BinOp::Ge),
            Tok::Lt => (3, BinOp::Lt),
            Tok::Le => (3, BinOp::Le),
            Tok::EqEq => (3, BinOp::Eq),
            Tok::Ne => (3, BinOp::Ne),
            Tok::Plus => (4, BinOp::Add),
            Tok::Minus => (4, BinOp::Sub),
            Tok::Star => (5, BinOp::Mul),
            Tok::Slash => (5, BinOp::Div),
            Tok::Caret => (7, BinOp::Pow),
            _ => return None,
        })
    }

    /// Precedence climbing; returns the expression and its tree depth (bounded).
    fn binary(&mut self, min: u8) -> PResult<(Expr, u32)> {
        self.enter()?;
        let r = self.binary_inner(min);
        self.leave();
        r
    }

    fn binary_inner(&mut self, min: u8) -> PResult<(Expr, u32)> {
        let (mut lhs, mut d) = self.prefix()?;
        while let Some((p, op)) = Self::prec(self.peek()) {
            if p < min {
                break;
            }
            // In a reaction, `->` and `<<` end the reactant list, not an expression; they never
            // follow an expression elsewhere either, so stopping at them is harmless.
            if matches!(self.peek(), Tok::Minus) && matches!(self.peek_at(1), Tok::Gt) {
                break;
            }
            self.bump();
            let next = if op == BinOp::Pow { p } else { p + 1 };
            let (rhs, rd) = self.binary(next)?;
            d = d.max(rd) + 1;
            if d > MAX_DEPTH * 4 {
                return Err(Diagnostic::at(
                    self.src,
                    &rhs.span,
                    ErrorKind::Limit,
                    "expression",
                    "expression too deeply nested (more than 512 levels of operators)",
                ));
            }
            let span = lhs.span.to(&rhs.span);
            lhs = Expr {
                kind: ExprKind::Binary(op, Box::new(lhs), Box::new(rhs)),
                span,
            };
        }
        Ok((lhs, d))
    }

    fn prefix(&mut self) -> PResult<(Expr, u32)> {
        let t = self.tok().clone();
        let op = match t.tok {
            Tok::Minus => Some(UnOp::Neg),
            Tok::Not => Some(UnOp::Not),
            _ => None,
        };
        if let Some(op) = op {
            self.bump();
            // The operand of a unary operator absorbs only `^`.
            let (e, d) = self.binary(7)?;
            let span = self.src.span(t.start, e.span.end as usize);
            return Ok((
                Expr {
                    kind: ExprKind::Unary(op, Box::new(e)),
                    span,
                },
                d + 1,
            ));
        }
        self.primary()
    }

    fn primary(&mut self) -> PResult<(Expr, u32)> {
        let t = self.tok().clone();
        let sp = self.span_of(&t);
        match &t.tok {
            Tok::Integer(_) | Tok::Real(_) => {
                let n = self
                    .try_unsigned(None)
                    .ok_or_else(|| self.expected("a number"))?;
                let unit = self.opt_unit()?;
                let span = match &unit {
                    Some(u) => n.span.to(&u.span),
                    None => n.span.clone(),
                };
                Ok((
                    Expr {
                        kind: ExprKind::Number(n, unit),
                        span,
                    },
                    1,
                ))
            }
            Tok::LParen => {
                self.bump();
                let (e, d) = self.binary(1)?;
                self.expect(Tok::RParen, "`)`")?;
                Ok((
                    Expr {
                        kind: ExprKind::Paren(Box::new(e)),
                        span: self.span_from(t.start),
                    },
                    d + 1,
                ))
            }
            Tok::Prime(n, k) => {
                self.bump();
                Ok((
                    Expr {
                        kind: ExprKind::Prime(
                            Ident {
                                name: n.clone(),
                                span: sp.clone(),
                            },
                            *k,
                        ),
                        span: sp,
                    },
                    1,
                ))
            }
            Tok::Name(n) if self.defines.contains_key(n) => {
                let n = self
                    .try_unsigned(None)
                    .ok_or_else(|| self.expected("a number"))?;
                let span = n.span.clone();
                Ok((
                    Expr {
                        kind: ExprKind::Number(n, None),
                        span,
                    },
                    1,
                ))
            }
            Tok::Name(_) => {
                let id = self.ident("a variable, number or `(`")?;
                match self.peek() {
                    Tok::LParen => {
                        self.bump();
                        let mut args = Vec::new();
                        let mut d = 1;
                        if !matches!(self.peek(), Tok::RParen) {
                            loop {
                                if let Tok::Str(s) = self.peek().clone() {
                                    let st = self.bump();
                                    args.push(Arg::Str(s, self.span_of(&st)));
                                } else {
                                    let (e, ed) = self.binary(1)?;
                                    d = d.max(ed + 1);
                                    args.push(Arg::Expr(e));
                                }
                                if matches!(self.peek(), Tok::Comma) {
                                    self.bump();
                                } else {
                                    break;
                                }
                            }
                        }
                        self.expect(Tok::RParen, "`,` or `)` in the argument list")?;
                        Ok((
                            Expr {
                                kind: ExprKind::Call(id, args),
                                span: self.span_from(t.start),
                            },
                            d,
                        ))
                    }
                    Tok::LBracket => {
                        self.bump();
                        let (e, d) = self.binary(1)?;
                        self.expect(Tok::RBracket, "`]`")?;
                        Ok((
                            Expr {
                                kind: ExprKind::Index(id, Box::new(e)),
                                span: self.span_from(t.start),
                            },
                            d + 1,
                        ))
                    }
                    _ => Ok((
                        Expr {
                            span: id.span.clone(),
                            kind: ExprKind::Var(id),
                        },
                        1,
                    )),
                }
            }
            _ => Err(self.expected("an expression")),
        }
    }
}
