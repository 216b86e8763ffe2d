//! The cnexp form of a derivative equation, built as NEURON 9.0.2's translator builds it.
//!
//! For `x' = f` in a DERIVATIVE block solved with `METHOD cnexp`, NEURON differentiates `f`
//! symbolically with respect to `x` and splits it as `a·x + b`, carrying four expressions per
//! sub-expression: the expression itself, its derivative `de`, the coefficient `a` of `x` and the
//! rest `b`, with "zero" tracked explicitly (a literal written `0.0`, or the integer `0`, which
//! the translator writes as `0.0`, counts as zero). The rules (facts of NEURON's differentiator):
//!
//! * the state: `(x, 1.0, 1.0, 0)`; any other name, number or call: `(e, 0, 0, e)`; a call whose
//!   arguments contain the state, a comparison or logical operator, or `x'` makes the equation
//!   non-linear;
//! * `( e )` wraps each non-zero part in parentheses; `- e` negates each non-zero part;
//! * `e1 + e2`, `e1 - e2`: each part is `p1 ± p2` when both are non-zero, else the non-zero one
//!   (a lone right part of `-` becomes `( - p2 )`);
//! * `e1 * e2`: `de = (( d1 )*( e2 ) + ( e1 )*( d2 ))` (or the single non-zero product
//!   `( d1 )*( e2 )` / `( e1 )*( d2 )`); `a = ( a1 )*( b2 )` or `( b1 )*( a2 )`; `b = ( b1 )*( b2 )`
//!   when both are non-zero, else zero; when both `a` are non-zero (a product of two terms in
//!   the state) NEURON does *not* fall back: it drops the state-free part and writes
//!   `x = x + (1. - exp(dt*(de)))*( - x)`, with `de` built in full;
//! * `e1 / e2`: the state in `e2` makes it non-linear; `de = ( d1 ) / e2`, `a = ( a1 ) / e2`,
//!   `b = ( b1 ) / e2` (zero stays zero);
//! * `^` is `pow(e1, e2)`, a call.
//!
//! The update then is `x = x + (1. - exp(dt*(de)))*(- ( b ) / ( a ) - x)`, or, when `de` is zero,
//! `x = x - dt*(- ( b ) )`. The trees built here are those C reads from NEURON's text (every
//! parenthesis kept as [`ExprKind::Paren`]), so evaluating them in order gives NEURON's bits.

use crate::ast::{Arg, BinOp, Expr, ExprKind, Ident, Number, UnOp};
use crate::error::Span;

/// Why an equation has no cnexp form (NEURON then integrates the block with derivimplicit).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotLinear(pub String);

/// The cnexp step of one state.
#[derive(Debug, Clone)]
pub struct CnexpStep {
    /// The state.
    pub state: String,
    /// `∂f/∂x` as NEURON writes it (the rate in the exponential).
    pub deriv: Expr,
    /// The coefficient `a` of the state.
    pub coef: Expr,
    /// The state-free part `b`.
    pub rest: Expr,
    /// The right-hand side of `x = …`: the whole update.
    pub update: Expr,
}

#[derive(Clone)]
enum Part {
    Zero,
    E(Expr),
}

impl Part {
    fn is_zero(&self) -> bool {
        matches!(self, Part::Zero)
    }
}

struct Quad {
    expr: Expr,
    de: Part,
    a: Part,
    b: Part,
}

struct Builder<'a> {
    state: &'a str,
    span: Span,
    /// A product of two terms in the state was met (NEURON's `eq_invalid`).
    eq_invalid: std::cell::Cell<bool>,
}

impl Builder<'_> {
    fn mk(&self, kind: ExprKind) -> Expr {
        Expr {
            kind,
            span: self.span.clone(),
        }
    }
    fn num(&self, text: &str) -> Expr {
        self.mk(ExprKind::Number(
            Number {
                text: text.to_string(),
                value: text.parse().unwrap_or(f64::NAN),
                integer: false,
                span: self.span.clone(),
            },
            None,
        ))
    }
    fn var(&self, n: &str) -> Expr {
        self.mk(ExprKind::Var(Ident {
            name: n.to_string(),
            span: self.span.clone(),
        }))
    }
    fn paren(&self, e: Expr) -> Expr {
        self.mk(ExprKind::Paren(Box::new(e)))
    }
    fn neg(&self, e: Expr) -> Expr {
        self.mk(ExprKind::Unary(UnOp::Neg, Box::new(e)))
    }
    fn bin(&self, op: BinOp, a: Expr, b: Expr) -> Expr {
        self.mk(ExprKind::Binary(op, Box::new(a), Box::new(b)))
    }
    /// `( p1 )*( p2 )`.
    fn pmul(&self, a: Expr, b: Expr) -> Expr {
        self.bin(BinOp::Mul, self.paren(a), self.paren(b))
    }

    fn quad(&self, e: &Expr) -> Result<Quad, NotLinear> {
        Ok(match &e.kind {
            ExprKind::Number(n, _) => {
                // The translator writes integers in expressions as reals (`0` as `0.0`).
                let text = if n.integer {
                    format!("{}.0", n.text)
                } else {
                    n.text.clone()
                };
                let ex = e.clone();
                if text == "0.0" {
                    Quad {
                        expr: ex,
                        de: Part::Zero,
                        a: Part::Zero,
                        b: Part::Zero,
                    }
                } else {
                    Quad {
                        b: Part::E(ex.clone()),
                        expr: ex,
                        de: Part::Zero,
                        a: Part::Zero,
                    }
                }
            }
            ExprKind::Var(v) if v.name == self.state => Quad {
                expr: e.clone(),
                de: Part::E(self.num("1.0")),
                a: Part::E(self.num("1.0")),
                b: Part::Zero,
            },
            ExprKind::Var(_) => Quad {
                expr: e.clone(),
                de: Part::Zero,
                a: Part::Zero,
                b: Part::E(e.clone()),
            },
            ExprKind::Index(v, i) => {
                if v.name == self.state || self.mentions_state(i) {
                    return Err(NotLinear(format!(
                        "array element `{}[…]` of the state",
                        v.name
                    )));
                }
                Quad {
                    expr: e.clone(),
                    de: Part::Zero,
                    a: Part::Zero,
                    b: Part::E(e.clone()),
                }
            }
            ExprKind::Prime(v, _) => {
                return Err(NotLinear(format!(
                    "derivative `{}'` on a right side",
                    v.name
                )))
            }
            ExprKind::Call(f, args) => {
                for a in args {
                    if let Arg::Expr(x) = a {
                        if self.mentions_state(x) {
                            return Err(NotLinear(format!(
                                "the state is an argument of `{}`",
                                f.name
                            )));
                        }
                    }
                }
                Quad {
                    expr: e.clone(),
                    de: Part::Zero,
                    a: Part::Zero,
                    b: Part::E(e.clone()),
                }
            }
            ExprKind::Paren(x) => {
                let q = self.quad(x)?;
                let wrap = |p: Part| match p {
                    Part::Zero => Part::Zero,
                    Part::E(x) => Part::E(self.paren(x)),
                };
                Quad {
                    expr: e.clone(),
                    de: wrap(q.de),
                    a: wrap(q.a),
                    b: wrap(q.b),
                }
            }
            ExprKind::Unary(UnOp::Neg, x) => {
                let q = self.quad(x)?;
                let neg = |p: Part| match p {
                    Part::Zero => Part::Zero,
                    Part::E(x) => Part::E(self.neg(x)),
                };
                Quad {
                    expr: e.clone(),
                    de: neg(q.de),
                    a: neg(q.a),
                    b: neg(q.b),
                }
            }
            ExprKind::Unary(UnOp::Not, _) => {
                return Err(NotLinear("`!` in a derivative equation".into()))
            }
            ExprKind::Binary(op, l, r) => match op {
                BinOp::Add | BinOp::Sub => {
                    let (q1, q3) = (self.quad(l)?, self.quad(r)?);
                    let comb = |p1: Part, p3: Part| -> Part {
                        match (p1, p3) {
                            (Part::E(x), Part::E(y)) => Part::E(self.bin(*op, x, y)),
                            (Part::E(x), Part::Zero) => Part::E(x),
                            (Part::Zero, Part::E(y)) => Part::E(if *op == BinOp::Add {
                                y
                            } else {
                                self.paren(self.neg(y))
                            }),
                            (Part::Zero, Part::Zero) => Part::Zero,
                        }
                    };
                    Quad {
                        expr: e.clone(),
                        de: comb(q1.de, q3.de),
                        a: comb(q1.a, q3.a),
                        b: comb(q1.b, q3.b),
                    }
                }
                BinOp::Mul => {
                    let (q1, q3) = (self.quad(l)?, self.quad(r)?);
                    let de = match (&q1.de, &q3.de) {
                        (Part::E(d1), Part::E(d3)) => Part::E(self.paren(self.bin(
                            BinOp::Add,
                            self.pmul(d1.clone(), q3.expr.clone()),
                            self.pmul(q1.expr.clone(), d3.clone()),
                        ))),
                        (Part::E(d1), Part::Zero) => {
                            Part::E(self.pmul(d1.clone(), q3.expr.clone()))
                        }
                        (Part::Zero, Part::E(d3)) => {
                            Part::E(self.pmul(q1.expr.clone(), d3.clone()))
                        }
                        (Part::Zero, Part::Zero) => Part::Zero,
                    };
                    let a = match (&q1.a, &q3.a) {
                        (Part::E(_), Part::E(_)) => {
                            self.eq_invalid.set(true);
                            Part::Zero
                        }
                        (Part::E(a1), Part::Zero) => match &q3.b {
                            Part::E(b3) => Part::E(self.pmul(a1.clone(), b3.clone())),
                            Part::Zero => Part::Zero,
                        },
                        (Part::Zero, Part::E(a3)) => match &q1.b {
                            Part::E(b1) => Part::E(self.pmul(b1.clone(), a3.clone())),
                            Part::Zero => Part::Zero,
                        },
                        (Part::Zero, Part::Zero) => Part::Zero,
                    };
                    let b = match (&q1.b, &q3.b) {
                        (Part::E(b1), Part::E(b3)) => Part::E(self.pmul(b1.clone(), b3.clone())),
                        _ => Part::Zero,
                    };
                    Quad {
                        expr: e.clone(),
                        de,
                        a,
                        b,
                    }
                }
                BinOp::Div => {
                    let (q1, q3) = (self.quad(l)?, self.quad(r)?);
                    if !q3.de.is_zero() || !q3.a.is_zero() {
                        return Err(NotLinear("the state in a denominator".into()));
                    }
                    let over = |p: Part| match p {
                        Part::Zero => Part::Zero,
                        Part::E(x) => Part::E(self.bin(BinOp::Div, self.paren(x), q3.expr.clone())),
                    };
                    Quad {
                        expr: e.clone(),
                        de: over(q1.de),
                        a: over(q1.a),
                        b: over(q1.b),
                    }
                }
                BinOp::Pow => {
                    if self.mentions_state(l) || self.mentions_state(r) {
                        return Err(NotLinear("the state in a power (`pow`)".into()));
                    }
                    Quad {
                        expr: e.clone(),
                        de: Part::Zero,
                        a: Part::Zero,
                        b: Part::E(e.clone()),
                    }
                }
                _ => {
                    return Err(NotLinear(format!(
                        "operator `{}` in a derivative equation",
                        op.symbol()
                    )))
                }
            },
        })
    }

    fn mentions_state(&self, e: &Expr) -> bool {
        match &e.kind {
            ExprKind::Var(v) => v.name == self.state,
            ExprKind::Prime(v, _) => v.name == self.state,
            ExprKind::Index(v, i) => v.name == self.state || self.mentions_state(i),
            ExprKind::Number(..) => false,
            ExprKind::Call(_, args) => args.iter().any(|a| match a {
                Arg::Expr(x) => self.mentions_state(x),
                Arg::Str(..) => false,
            }),
            ExprKind::Paren(x) | ExprKind::Unary(_, x) => self.mentions_state(x),
            ExprKind::Binary(_, a, b) => self.mentions_state(a) || self.mentions_state(b),
        }
    }
}

/// The cnexp step of `state' = rhs`, or why there is none.
pub fn cnexp_step(state: &str, rhs: &Expr) -> Result<CnexpStep, NotLinear> {
    let bld = Builder {
        state,
        span: rhs.span.clone(),
        eq_invalid: std::cell::Cell::new(false),
    };
    let q = bld.quad(rhs)?;
    if bld.eq_invalid.get() {
        // NEURON's translator keeps cnexp but has no state-free part: it writes
        // `x = x + (1. - exp(dt*(de)))*( - x)`.
        let Part::E(d) = q.de else {
            return Err(NotLinear("a product of terms in the state".into()));
        };
        let zero = || bld.num("0.0");
        let x = bld.var(state);
        let exp_arg = bld.bin(BinOp::Mul, bld.var("dt"), bld.paren(d.clone()));
        let exp = bld.mk(ExprKind::Call(
            Ident {
                name: "exp".into(),
                span: bld.span.clone(),
            },
            vec![Arg::Expr(exp_arg)],
        ));
        let relax = bld.paren(bld.bin(BinOp::Sub, bld.num("1."), exp));
        let gap = bld.paren(bld.neg(x.clone()));
        return Ok(CnexpStep {
            state: state.to_string(),
            deriv: d,
            coef: zero(),
            rest: zero(),
            update: bld.bin(BinOp::Add, x, bld.bin(BinOp::Mul, relax, gap)),
        });
    }
    let zero = || bld.num("0.0");
    let (de, a, b) = (q.de, q.a, q.b);
    let x = bld.var(state);
    let b_expr = match &b {
        Part::E(e) => e.clone(),
        Part::Zero => zero(),
    };
    let a_expr = match &a {
        Part::E(e) => e.clone(),
        Part::Zero => zero(),
    };
    // `- ( b ) / ( a )`.
    let neg_b = bld.neg(bld.paren(b_expr.clone()));
    let update = match &de {
        Part::E(d) => {
            // x + (1. - exp(dt*(de)))*(- ( b ) / ( a ) - x)
            let steady = bld.bin(BinOp::Div, neg_b, bld.paren(a_expr.clone()));
            let exp_arg = bld.bin(BinOp::Mul, bld.var("dt"), bld.paren(d.clone()));
            let exp = bld.mk(ExprKind::Call(
                Ident {
                    name: "exp".into(),
                    span: bld.span.clone(),
                },
                vec![Arg::Expr(exp_arg)],
            ));
            let relax = bld.paren(bld.bin(BinOp::Sub, bld.num("1."), exp));
            let gap = bld.paren(bld.bin(BinOp::Sub, steady, x.clone()));
            bld.bin(BinOp::Add, x, bld.bin(BinOp::Mul, relax, gap))
        }
        // x - dt*(- ( b ) )
        Part::Zero => bld.bin(
            BinOp::Sub,
            x,
            bld.bin(BinOp::Mul, bld.var("dt"), bld.paren(neg_b)),
        ),
    };
    Ok(CnexpStep {
        state: state.to_string(),
        deriv: match de {
            Part::E(e) => e,
            Part::Zero => zero(),
        },
        coef: a_expr,
        rest: b_expr,
        update,
    })
}
