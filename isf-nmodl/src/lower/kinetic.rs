//! KINETIC blocks solved with `METHOD sparse` and `STEADYSTATE sparse`, as NEURON 9.0.2's
//! translator (`kinetic.cpp`) and scopmath (`sparse_thread`, `_ss_sparse_thread`) do it (see
//! `docs/nmodl.md`).
//!
//! The block becomes one [`Instr::Sparse`] whose function builds NEURON's linearised implicit
//! Euler system `M·Δ = rhs` from the current states `x` and those at the start of the step `x0`:
//!
//! * each non-conserved row `i`: `rhs_i = -(1/dt)·(x_i − x0_i)`, `M_ii = 1/dt`, both multiplied
//!   by the state's COMPARTMENT volume;
//! * each reaction `Σ a_k A_k <-> Σ b_k B_k (kf, kb)`: `f = kf·ΠA_k^a_k`, `b = kb·ΠB_k^b_k`;
//!   `rhs` of each left state minus `a_k·(f − b)`, of each right state plus `b_k·(f − b)`; for
//!   each state of a side the partial derivative of that side's flux (the rate, times its power
//!   if not 1, times the other factors) added to the matrix column of that state, with the
//!   sign and the coefficient of each row's state;
//! * `~ A << (e)`: `rhs_A += e`, no matrix term;
//! * `CONSERVE Σ c_k S_k = e`: the row of one of its states (the last written that no earlier
//!   CONSERVE took) becomes `rhs = e − Σ S_k·v_k·c_k`, `M[row][S_k] = c_k·v_k` (`v_k` the
//!   COMPARTMENT volume, 1 without), and reactions skip that row.
//!
//! The body runs once more after the solve (NEURON calls the block after its last round).

use std::collections::HashMap;

use super::{each_stmt, err, Column, Instr, LowerError, Lowerer, Op1, Op2, Src};
use crate::ast::{Expr, ItemKind, Reactant, ReactionForm, StmtKind};
use crate::error::Span;
use crate::model::VarClass;

/// Per-state data of the system being built.
struct System {
    /// State name → equation (row and column) index.
    index: HashMap<String, usize>,
    /// Rows replaced by a CONSERVE.
    conserved: Vec<bool>,
    /// Columns of the right-hand side.
    rhs: Vec<u32>,
    /// Columns of the matrix, row-major.
    matrix: Vec<u32>,
    /// COMPARTMENT volume column of each state.
    volume: Vec<Option<u32>>,
    /// The row of each CONSERVE statement (by its position).
    conserve_rows: Vec<(Span, usize)>,
    /// No product of states in any reaction.
    linear: bool,
}

impl<'m> Lowerer<'m> {
    fn is_state(&self, name: &str) -> bool {
        self.m.var(name).is_some_and(|v| v.class == VarClass::State)
    }

    /// Lowers `SOLVE name METHOD sparse` (or `STEADYSTATE sparse`: `steady`, with `dt`
    /// already set to 1e9 by the caller).
    pub(super) fn solve_kinetic(
        &mut self,
        name: &str,
        span: &Span,
        steady: bool,
        out: &mut Vec<Instr>,
    ) -> Result<(), LowerError> {
        let m = self.m;
        let body = m
            .module
            .items
            .iter()
            .find_map(|i| match &i.kind {
                ItemKind::Kinetic { name: n, body, .. } if n.name == name => Some(body),
                _ => None,
            })
            .ok_or_else(|| err(span, name, "no KINETIC block of that name"))?;
        // The states of the scheme, and which row each CONSERVE takes.
        let mut states: Vec<String> = Vec::new();
        let mut conserves: Vec<(&Span, &[Reactant])> = Vec::new();
        let mut problem: Option<LowerError> = None;
        each_stmt(body, &mut |s| {
            let mut note = |r: &Reactant| {
                if r.index.is_some() && problem.is_none() {
                    problem = Some(err(
                        &s.span,
                        &r.name.name,
                        "array states in KINETIC blocks are not compiled yet",
                    ));
                }
                if self.is_state(&r.name.name) && !states.contains(&r.name.name) {
                    states.push(r.name.name.clone());
                }
            };
            match &s.kind {
                StmtKind::Reaction { lhs, form } => {
                    lhs.iter().for_each(&mut note);
                    if let ReactionForm::Reversible { rhs, .. } = form {
                        rhs.iter().for_each(&mut note);
                    }
                }
                StmtKind::Conserve { terms, .. } => {
                    terms.iter().for_each(&mut note);
                    conserves.push((&s.span, &terms[..]));
                }
                StmtKind::Compartment { index: Some(i), .. } => {
                    problem.get_or_insert_with(|| {
                        err(&s.span, &i.name, "indexed COMPARTMENT is not compiled yet")
                    });
                }
                StmtKind::LongDiffusion { .. } => {
                    problem.get_or_insert_with(|| {
                        err(&s.span, "LONGITUDINAL_DIFFUSION", "not compiled yet")
                    });
                }
                _ => {}
            }
        });
        if let Some(e) = problem {
            return Err(e);
        }
        if states.is_empty() {
            return Err(err(
                span,
                name,
                "the KINETIC block has no reaction of STATEs",
            ));
        }
        // NEURON's equation order: each CONSERVE's state (the last CONSERVE first), then the
        // other states in its symbol-table order (first character, then the name seen last
        // first).
        let mut taken: Vec<String> = Vec::new();
        let mut conserve_state: Vec<String> = Vec::new();
        for (at, terms) in &conserves {
            let pick = terms
                .iter()
                .rev()
                .find(|t| self.is_state(&t.name.name) && !taken.contains(&t.name.name))
                .ok_or_else(|| err(at, "CONSERVE", "every state is already conserved"))?;
            taken.push(pick.name.name.clone());
            conserve_state.push(pick.name.name.clone());
        }
        let rank = |n: &str| {
            let seen = m.name_order.iter().position(|x| x == n);
            (
                n.as_bytes()[0],
                std::cmp::Reverse(seen.unwrap_or(usize::MAX)),
            )
        };
        let mut rest: Vec<String> = states
            .iter()
            .filter(|s| !taken.contains(s))
            .cloned()
            .collect();
        rest.sort_by_key(|s| rank(s));
        let order: Vec<String> = conserve_state.iter().rev().cloned().chain(rest).collect();
        let n = order.len();
        let mut unknowns = Vec::new();
        for s in &order {
            unknowns.push(self.target(s, span)?);
        }
        let saved: Vec<u32> = (0..n).map(|_| self.scratch()).collect();
        let mut sys = System {
            index: order
                .iter()
                .enumerate()
                .map(|(i, s)| (s.clone(), i))
                .collect(),
            conserved: order.iter().map(|s| taken.contains(s)).collect(),
            rhs: (0..n).map(|_| self.scratch()).collect(),
            matrix: (0..n * n).map(|_| self.scratch()).collect(),
            volume: vec![None; n],
            conserve_rows: Vec::new(),
            linear: true,
        };
        for (k, (at, _)) in conserves.iter().enumerate() {
            sys.conserve_rows
                .push(((*at).clone(), sys.index[&conserve_state[k]]));
        }
        // COMPARTMENT volumes are evaluated at the top of the function, as NEURON pastes them
        // there.
        let mut function = Vec::new();
        let mut compartments: Vec<(&Expr, &Vec<crate::ast::Ident>)> = Vec::new();
        each_stmt(body, &mut |s| {
            if let StmtKind::Compartment { volume, states, .. } = &s.kind {
                compartments.push((volume, states));
            }
        });
        for (volume, names) in compartments {
            let c = self.scratch();
            self.assign(c, volume, &mut function)?;
            for id in names {
                if let Some(&i) = sys.index.get(&id.name) {
                    sys.volume[i] = Some(c);
                }
            }
        }
        for &c in &sys.matrix {
            function.push(Instr::Un {
                op: Op1::Copy,
                dst: c,
                a: Src::K(0.0),
            });
        }
        let dt = self.globals["dt"];
        debug_assert_eq!(self.columns[dt as usize], Column::Dt);
        let dt1 = self.tmp();
        function.push(Instr::Bin {
            op: Op2::Div,
            dst: dt1,
            a: Src::K(1.0),
            b: Src::Col(dt),
        });
        for i in (0..n).filter(|&i| !sys.conserved[i]) {
            let (r, d) = (sys.rhs[i], sys.matrix[i * n + i]);
            let t = self.tmp();
            function.push(Instr::Bin {
                op: Op2::Sub,
                dst: t,
                a: Src::Col(unknowns[i]),
                b: Src::Col(saved[i]),
            });
            function.push(Instr::Un {
                op: Op1::Neg,
                dst: r,
                a: Src::Col(dt1),
            });
            function.push(Instr::Bin {
                op: Op2::Mul,
                dst: r,
                a: Src::Col(r),
                b: Src::Col(t),
            });
            self.release(Src::Col(t));
            function.push(Instr::Un {
                op: Op1::Copy,
                dst: d,
                a: Src::Col(dt1),
            });
        }
        self.release(Src::Col(dt1));
        for i in 0..n {
            if let (Some(v), false) = (sys.volume[i], sys.conserved[i]) {
                for c in [sys.rhs[i], sys.matrix[i * n + i]] {
                    function.push(Instr::Bin {
                        op: Op2::Mul,
                        dst: c,
                        a: Src::Col(c),
                        b: Src::Col(v),
                    });
                }
            }
        }
        self.block(body, &mut function, &mut |l, s, out| {
            match &s.kind {
                StmtKind::Reaction { lhs, form } => l.reaction(&sys, lhs, form, &s.span, out)?,
                StmtKind::Conserve { terms, total } => {
                    let row = sys
                        .conserve_rows
                        .iter()
                        .find(|(at, _)| *at == s.span)
                        .map(|&(_, r)| r)
                        .ok_or_else(|| err(&s.span, "CONSERVE", "not analysed"))?;
                    l.conserve(&sys, row, terms, total, out)?;
                }
                StmtKind::Compartment { .. } => {}
                _ => return Ok(false),
            }
            Ok(true)
        })?;
        // Linearity: a reaction with a product of states (a power above 1 or two states on a
        // side).
        each_stmt(body, &mut |s| {
            if let StmtKind::Reaction { lhs, form } = &s.kind {
                let mut sides = vec![&lhs[..]];
                if let ReactionForm::Reversible { rhs, .. } = form {
                    sides.push(&rhs[..]);
                }
                for side in sides {
                    let total: u32 = side.iter().map(|r| r.coef).sum();
                    let has_state = side.iter().any(|r| self.is_state(&r.name.name));
                    if has_state && (side.len() > 1 || total > 1) {
                        sys.linear = false;
                    }
                }
            }
        });
        let after = function.clone();
        out.push(Instr::Sparse {
            unknowns,
            saved,
            rhs: sys.rhs.clone(),
            matrix: sys.matrix.clone(),
            function,
            linear: sys.linear,
            steady,
        });
        out.extend(after);
        Ok(())
    }

    /// `dst = Π` of `k` and the side's factors, in NEURON's order (the rate first, then each
    /// term's symbol as often as its power, `skip` once fewer for that term).
    fn product(
        &mut self,
        k: Src,
        power: Option<u32>,
        side: &[Reactant],
        skip: Option<usize>,
        span: &Span,
        out: &mut Vec<Instr>,
    ) -> Result<u32, LowerError> {
        let dst = self.tmp();
        out.push(Instr::Un {
            op: Op1::Copy,
            dst,
            a: k,
        });
        if let Some(p) = power.filter(|&p| p != 1) {
            out.push(Instr::Bin {
                op: Op2::Mul,
                dst,
                a: Src::Col(dst),
                b: Src::K(f64::from(p)),
            });
        }
        for (j, r) in side.iter().enumerate() {
            let times = r.coef - u32::from(skip == Some(j));
            let x = self
                .lookup(&r.name.name)
                .ok_or_else(|| err(span, &r.name.name, "unknown name in a reaction"))?;
            for _ in 0..times {
                out.push(Instr::Bin {
                    op: Op2::Mul,
                    dst,
                    a: Src::Col(dst),
                    b: x,
                });
            }
        }
        Ok(dst)
    }

    fn reaction(
        &mut self,
        sys: &System,
        lhs: &[Reactant],
        form: &ReactionForm,
        span: &Span,
        out: &mut Vec<Instr>,
    ) -> Result<(), LowerError> {
        let n = sys.conserved.len();
        let row = |r: &Reactant| {
            sys.index
                .get(&r.name.name)
                .copied()
                .filter(|&i| !sys.conserved[i])
        };
        match form {
            ReactionForm::In(flux) => {
                let [r] = lhs else {
                    return Err(err(span, "<<", "a flux reaction names one state"));
                };
                if !self.is_state(&r.name.name) {
                    return Err(err(
                        span,
                        &r.name.name,
                        "must be a STATE in a flux reaction",
                    ));
                }
                let Some(i) = row(r) else {
                    return Err(err(span, &r.name.name, "is conserved and has a flux"));
                };
                let f = self.expr(flux, out)?;
                out.push(Instr::Bin {
                    op: Op2::Add,
                    dst: sys.rhs[i],
                    a: Src::Col(sys.rhs[i]),
                    b: f,
                });
                self.release(f);
                Ok(())
            }
            ReactionForm::Out(_) => Err(err(
                span,
                "->",
                "the `~ A -> (rate)` form is not compiled yet",
            )),
            ReactionForm::Reversible { rhs, kf, kb } => {
                let sides = [lhs, &rhs[..]];
                let mut rates = Vec::new();
                for k in [kf, kb] {
                    let c = self.scratch();
                    self.assign(c, k, out)?;
                    rates.push(c);
                }
                let f = self.product(Src::Col(rates[0]), None, lhs, None, span, out)?;
                let b = self.product(Src::Col(rates[1]), None, rhs, None, span, out)?;
                let d = self.tmp();
                out.push(Instr::Bin {
                    op: Op2::Sub,
                    dst: d,
                    a: Src::Col(f),
                    b: Src::Col(b),
                });
                self.release(Src::Col(f));
                self.release(Src::Col(b));
                for (j, side) in sides.iter().enumerate() {
                    for r in side.iter() {
                        let Some(i) = row(r) else { continue };
                        let term = if r.coef > 1 {
                            let t = self.tmp();
                            out.push(Instr::Bin {
                                op: Op2::Mul,
                                dst: t,
                                a: Src::K(f64::from(r.coef)),
                                b: Src::Col(d),
                            });
                            t
                        } else {
                            d
                        };
                        out.push(Instr::Bin {
                            op: if j == 0 { Op2::Sub } else { Op2::Add },
                            dst: sys.rhs[i],
                            a: Src::Col(sys.rhs[i]),
                            b: Src::Col(term),
                        });
                        if term != d {
                            self.release(Src::Col(term));
                        }
                    }
                }
                self.release(Src::Col(d));
                // The matrix: the derivative of each side's flux by each of its states.
                for (j, side) in sides.iter().enumerate() {
                    for (k, r) in side.iter().enumerate() {
                        let Some(&col) = sys.index.get(&r.name.name) else {
                            continue;
                        };
                        let term = self.product(
                            Src::Col(rates[j]),
                            Some(r.coef),
                            side,
                            Some(k),
                            span,
                            out,
                        )?;
                        for (j1, side1) in sides.iter().enumerate() {
                            for r1 in side1.iter() {
                                let Some(i) = row(r1) else { continue };
                                let e = sys.matrix[i * n + col];
                                let v = if r1.coef != 1 {
                                    let t = self.tmp();
                                    out.push(Instr::Bin {
                                        op: Op2::Mul,
                                        dst: t,
                                        a: Src::K(f64::from(r1.coef)),
                                        b: Src::Col(term),
                                    });
                                    t
                                } else {
                                    term
                                };
                                out.push(Instr::Bin {
                                    op: if j == j1 { Op2::Add } else { Op2::Sub },
                                    dst: e,
                                    a: Src::Col(e),
                                    b: Src::Col(v),
                                });
                                if v != term {
                                    self.release(Src::Col(v));
                                }
                            }
                        }
                        self.release(Src::Col(term));
                    }
                }
                Ok(())
            }
        }
    }

    fn conserve(
        &mut self,
        sys: &System,
        row: usize,
        terms: &[Reactant],
        total: &Expr,
        out: &mut Vec<Instr>,
    ) -> Result<(), LowerError> {
        let n = sys.conserved.len();
        let r = sys.rhs[row];
        self.assign(r, total, out)?;
        for t in terms {
            let Some(&col) = sys.index.get(&t.name.name) else {
                return Err(err(
                    &t.name.span,
                    &t.name.name,
                    "only STATEs are allowed in CONSERVE equations",
                ));
            };
            let x = self.lookup(&t.name.name).expect("a state");
            let e = sys.matrix[row * n + col];
            let coef = Src::K(f64::from(t.coef));
            match sys.volume[col] {
                Some(v) => out.push(Instr::Bin {
                    op: Op2::Mul,
                    dst: e,
                    a: coef,
                    b: Src::Col(v),
                }),
                None => out.push(Instr::Un {
                    op: Op1::Copy,
                    dst: e,
                    a: coef,
                }),
            }
            let p = self.tmp();
            out.push(Instr::Un {
                op: Op1::Copy,
                dst: p,
                a: x,
            });
            if let Some(v) = sys.volume[col] {
                out.push(Instr::Bin {
                    op: Op2::Mul,
                    dst: p,
                    a: Src::Col(p),
                    b: Src::Col(v),
                });
            }
            if t.coef != 1 {
                out.push(Instr::Bin {
                    op: Op2::Mul,
                    dst: p,
                    a: Src::Col(p),
                    b: coef,
                });
            }
            out.push(Instr::Bin {
                op: Op2::Sub,
                dst: r,
                a: Src::Col(r),
                b: Src::Col(p),
            });
            self.release(Src::Col(p));
        }
        Ok(())
    }
}
