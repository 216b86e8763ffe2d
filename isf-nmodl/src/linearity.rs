//! Whether a mechanism's membrane current is affine in `v` (`I = a + b·v` with `a`, `b`
//! independent of `v` within a BREAKPOINT evaluation). NEURON always takes the slope as the
//! difference quotient `(I(v + 0.001) − I(v))/0.001`; for an affine current that quotient is `b` up
//! to round-off, so `Numerics::Fast` may use `b` itself (as isf's hand-written ohmic channels use
//! `g`) and skip the second evaluation. The analysis is conservative: anything it cannot see
//! through (a user function reading `v`, a branch on `v`, `v` in a non-polynomial function) counts
//! as non-linear.

use std::collections::HashMap;

use crate::ast::{
    Arg, BinOp, Block, Callable, Expr, ExprKind, ItemKind, Module, Stmt, StmtKind, UnOp,
};

/// Dependence of a value on `v`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum VDep {
    /// Does not depend on `v`.
    Constant,
    /// `a + b·v`.
    Affine,
    /// Anything else.
    NonLinear,
}

struct Cx<'a> {
    env: HashMap<String, VDep>,
    /// User FUNCTIONs and PROCEDUREs, analysed in place at each call (bounded depth).
    callables: HashMap<&'a str, &'a Callable>,
    depth: u32,
    /// Calls analysed so far (bounded, so that nested calls cannot blow up the work).
    calls: u32,
}

/// Most calls analysed in place per mechanism; later calls count as non-linear.
const MAX_CALLS: u32 = 10_000;

/// Deepest chain of calls analysed in place; deeper calls count as non-linear.
const MAX_CALL_DEPTH: u32 = 16;

impl<'a> Cx<'a> {
    fn dep(&mut self, e: &Expr) -> VDep {
        match &e.kind {
            ExprKind::Number(..) => VDep::Constant,
            ExprKind::Var(v) if v.name == "v" => *self.env.get("v").unwrap_or(&VDep::Affine),
            ExprKind::Var(v) | ExprKind::Index(v, _) | ExprKind::Prime(v, _) => {
                *self.env.get(&v.name).unwrap_or(&VDep::Constant)
            }
            ExprKind::Paren(x) => self.dep(x),
            ExprKind::Unary(UnOp::Neg, x) => self.dep(x),
            ExprKind::Unary(UnOp::Not, x) => nonconst_to_nonlinear(self.dep(x)),
            ExprKind::Binary(op, a, b) => {
                let (da, db) = (self.dep(a), self.dep(b));
                match op {
                    BinOp::Add | BinOp::Sub => da.max(db),
                    BinOp::Mul => match (da, db) {
                        (VDep::Constant, d) | (d, VDep::Constant) => d,
                        _ => VDep::NonLinear,
                    },
                    BinOp::Div => match db {
                        VDep::Constant => da,
                        _ => VDep::NonLinear,
                    },
                    _ => nonconst_to_nonlinear(da.max(db)),
                }
            }
            ExprKind::Call(f, args) => {
                let deps: Vec<VDep> = args
                    .iter()
                    .map(|a| match a {
                        Arg::Expr(x) => self.dep(x),
                        Arg::Str(..) => VDep::Constant,
                    })
                    .collect();
                match self.callables.get(f.name.as_str()).copied() {
                    Some(c) => self.call(c, &deps).unwrap_or(VDep::NonLinear),
                    // A library function of a v-dependent argument: non-linear.
                    None => nonconst_to_nonlinear(deps.into_iter().max().unwrap_or(VDep::Constant)),
                }
            }
        }
    }

    /// Analyses a user callable in place with its arguments' dependences; returns a FUNCTION's
    /// value dependence (a PROCEDURE's effects stay in the environment). `None` when too deep.
    fn call(&mut self, c: &'a Callable, args: &[VDep]) -> Option<VDep> {
        if self.depth >= MAX_CALL_DEPTH || self.calls >= MAX_CALLS {
            return None;
        }
        self.depth += 1;
        self.calls += 1;
        // Arguments and the function's own name are local: save what they shadow.
        let mut shadowed: Vec<(String, Option<VDep>)> = Vec::new();
        for (p, d) in c
            .args
            .iter()
            .zip(args.iter().chain(std::iter::repeat(&VDep::NonLinear)))
        {
            shadowed.push((
                p.name.name.clone(),
                self.env.insert(p.name.name.clone(), *d),
            ));
        }
        shadowed.push((
            c.name.name.clone(),
            self.env.insert(c.name.name.clone(), VDep::Constant),
        ));
        self.block(&c.body);
        let value = *self.env.get(&c.name.name).unwrap_or(&VDep::Constant);
        for (n, old) in shadowed.into_iter().rev() {
            match old {
                Some(d) => self.env.insert(n, d),
                None => self.env.remove(&n),
            };
        }
        self.depth -= 1;
        Some(value)
    }

    fn block(&mut self, b: &Block) {
        for l in &b.locals {
            self.env.insert(l.name.name.clone(), VDep::Constant);
        }
        for s in &b.stmts {
            self.stmt(s);
        }
    }

    fn assign_all(&mut self, names: &[String], d: VDep) {
        for n in names {
            let cur = *self.env.get(n).unwrap_or(&VDep::Constant);
            self.env.insert(n.clone(), cur.max(d));
        }
    }

    fn stmt(&mut self, s: &Stmt) {
        match &s.kind {
            StmtKind::Assign { target, value, .. } => {
                let d = self.dep(value);
                self.env.insert(target.name.name.clone(), d);
            }
            StmtKind::Call(e) => {
                if let ExprKind::Call(f, args) = &e.kind {
                    if let Some(c) = self.callables.get(f.name.as_str()).copied() {
                        let deps: Vec<VDep> = args
                            .iter()
                            .map(|a| match a {
                                Arg::Expr(x) => self.dep(x),
                                Arg::Str(..) => VDep::Constant,
                            })
                            .collect();
                        if self.call(c, &deps).is_none() {
                            // Too deep to follow: whatever it assigns is non-linear.
                            let mut names = Vec::new();
                            assigned_names(&c.body.stmts, &mut names);
                            self.assign_all(&names, VDep::NonLinear);
                        }
                    }
                }
            }
            StmtKind::If {
                cond,
                then,
                otherwise,
            } => {
                let c = self.dep(cond);
                let before = self.env.clone();
                self.block(then);
                let after_then = std::mem::replace(&mut self.env, before);
                if let Some(o) = otherwise {
                    self.stmt(o);
                }
                // Each variable: the worse of the two branches.
                for (k, v) in after_then {
                    let e = self.env.entry(k).or_insert(VDep::Constant);
                    *e = (*e).max(v);
                }
                // A branch on v makes everything either branch assigns piecewise: non-linear.
                if c != VDep::Constant {
                    let mut names = Vec::new();
                    assigned_names(std::slice::from_ref(s), &mut names);
                    self.assign_all(&names, VDep::NonLinear);
                }
            }
            StmtKind::Block(b) => self.block(b),
            StmtKind::While { body, .. } | StmtKind::From { body, .. } => {
                // Loops: whatever they assign is taken as non-linear.
                let mut names = Vec::new();
                assigned_names(&body.stmts, &mut names);
                self.assign_all(&names, VDep::NonLinear);
            }
            _ => {}
        }
    }
}

fn nonconst_to_nonlinear(d: VDep) -> VDep {
    if d == VDep::Constant {
        VDep::Constant
    } else {
        VDep::NonLinear
    }
}

fn assigned_names(stmts: &[Stmt], out: &mut Vec<String>) {
    for s in stmts {
        match &s.kind {
            StmtKind::Assign { target, .. } => out.push(target.name.name.clone()),
            StmtKind::If {
                then, otherwise, ..
            } => {
                assigned_names(&then.stmts, out);
                if let Some(o) = otherwise {
                    assigned_names(std::slice::from_ref(o), out);
                }
            }
            StmtKind::Block(b)
            | StmtKind::While { body: b, .. }
            | StmtKind::From { body: b, .. } => assigned_names(&b.stmts, out),
            _ => {}
        }
    }
}

/// For each membrane current of the BREAKPOINT block (`currents`), its dependence on `v`.
pub fn current_dependence(module: &Module, currents: &[String]) -> Vec<(String, VDep)> {
    let mut cx = Cx {
        env: HashMap::new(),
        callables: HashMap::new(),
        depth: 0,
        calls: 0,
    };
    for item in &module.items {
        if let ItemKind::Function(c) | ItemKind::Procedure(c) = &item.kind {
            cx.callables.insert(c.name.name.as_str(), c);
        }
    }
    for item in &module.items {
        if let ItemKind::Breakpoint(b) = &item.kind {
            cx.block(b);
        }
    }
    currents
        .iter()
        .map(|c| (c.clone(), *cx.env.get(c).unwrap_or(&VDep::Constant)))
        .collect()
}
