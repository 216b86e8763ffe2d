//! DERIVATIVE blocks integrated with `derivimplicit`, `euler`, or — SOLVE'd without a METHOD —
//! evaluated only, each as NEURON 9.0.2's translator emits it (see `docs/nmodl.md`).
//!
//! The block's body is lowered once with every `x' = e` written to a derivative column `Dx`
//! (NEURON's `_dlist`), then:
//!
//! * **euler**: the body, then `x = x + dt*Dx` for each equation in order;
//! * **derivimplicit**: the states saved, an [`Instr::Newton`] whose function is the body
//!   followed by the residuals `Dx - (x - x_saved)/dt` (equation order), then the body once
//!   more with the solution (the translated block runs its statements after the Newton call,
//!   so ASSIGNED values and derivatives are those of the final states);
//! * **STEADYSTATE derivimplicit** (in INITIAL, where the SOLVE stands): the derivimplicit
//!   step with `dt` set to 1e-9 ms for its duration. NEURON 9.0.2's
//!   `_ss_derivimplicit_thread` sets 1e-9, not the 1e9 its sparse counterpart uses, so the
//!   states move by one implicit Euler step of 1e-9 ms, nowhere near a steady state; isf
//!   reproduces what NEURON computes;
//! * **no METHOD**: NEURON picks derivimplicit when it meets the SOLVE but has already
//!   translated the block without the Newton call, so the block only computes its
//!   derivatives and the states never change; isf does the same.

use std::collections::HashMap;

use super::{each_stmt, err, Column, Instr, LowerError, Lowerer, Op1, Op2, Src};
use crate::ast::{Block, ItemKind, StmtKind};
use crate::error::Span;
use crate::model::{Method, SolveTarget};

/// How a DERIVATIVE block is integrated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Integrator {
    /// Implicit Euler by NEURON's Newton iteration.
    Derivimplicit,
    /// Forward Euler.
    Euler,
    /// The body only (a SOLVE without METHOD).
    EvaluateOnly,
}

/// States of the block's derivative equations in equation order (NEURON's `_slist1`).
fn equation_states(b: &Block, out: &mut Vec<(String, Span)>) {
    each_stmt(b, &mut |s| {
        if let StmtKind::Assign { target, .. } = &s.kind {
            if target.prime > 0 && !out.iter().any(|(n, _)| *n == target.name.name) {
                out.push((target.name.name.clone(), s.span.clone()));
            }
        }
    });
}

impl<'m> Lowerer<'m> {
    /// Lowers a SOLVE statement of INITIAL (`STEADYSTATE derivimplicit` and `STEADYSTATE
    /// sparse` are compiled).
    pub(super) fn solve_in_initial(
        &mut self,
        name: &str,
        span: &Span,
        out: &mut Vec<Instr>,
    ) -> Result<(), LowerError> {
        let m = self.m;
        let solve = m
            .solves
            .iter()
            .find(|s| s.block == name && !s.in_breakpoint && s.span == *span)
            .ok_or_else(|| err(span, name, "SOLVE not analysed"))?;
        let kinetic = match (solve.steadystate, solve.target, solve.method) {
            (true, SolveTarget::Derivative, Method::Derivimplicit) => false,
            (true, SolveTarget::Kinetic, Method::Sparse) => true,
            _ => {
                return Err(err(
                    span,
                    name,
                    "only `SOLVE … STEADYSTATE derivimplicit` of a DERIVATIVE block and \
                     `SOLVE … STEADYSTATE sparse` of a KINETIC block are compiled in INITIAL so far",
                ))
            }
        };
        let dt = self.globals["dt"];
        debug_assert_eq!(self.columns[dt as usize], Column::Dt);
        let saved = self.scratch();
        out.push(Instr::Un {
            op: Op1::Copy,
            dst: saved,
            a: Src::Col(dt),
        });
        // NEURON 9.0.2: 1e9 for sparse (`_ss_sparse_thread`), 1e-9 for derivimplicit.
        out.push(Instr::Un {
            op: Op1::Copy,
            dst: dt,
            a: Src::K(if kinetic { 1e9 } else { 1e-9 }),
        });
        if kinetic {
            self.solve_kinetic(name, span, true, out)?;
        } else {
            self.solve_derivative(name, span, Integrator::Derivimplicit, out)?;
        }
        out.push(Instr::Un {
            op: Op1::Copy,
            dst: dt,
            a: Src::Col(saved),
        });
        Ok(())
    }

    /// Lowers `SOLVE name` of a DERIVATIVE block with `how` into `out`.
    pub(super) fn solve_derivative(
        &mut self,
        name: &str,
        span: &Span,
        how: Integrator,
        out: &mut Vec<Instr>,
    ) -> Result<(), LowerError> {
        let m = self.m;
        let body = m
            .module
            .items
            .iter()
            .find_map(|i| match &i.kind {
                ItemKind::Derivative { name: n, body } if n.name == name => Some(body),
                _ => None,
            })
            .ok_or_else(|| err(span, name, "no DERIVATIVE block of that name"))?;
        let mut eqs = Vec::new();
        equation_states(body, &mut eqs);
        let mut states = Vec::new();
        let mut derivs = HashMap::new();
        for (state, at) in &eqs {
            let x = self.target(state, at)?;
            let d = self.scratch();
            states.push(x);
            derivs.insert(state.clone(), d);
        }
        let mut evaluate = Vec::new();
        self.block(body, &mut evaluate, &mut |l, s, out| {
            let StmtKind::Assign { target, value, .. } = &s.kind else {
                return Ok(false);
            };
            if target.prime == 0 {
                return Ok(false);
            }
            if target.prime > 1 || target.index.is_some() {
                return Err(err(
                    &s.span,
                    &target.name.name,
                    "higher derivatives and array states are not compiled yet",
                ));
            }
            l.assign(derivs[&target.name.name], value, out)?;
            Ok(true)
        })?;
        let dt = Src::Col(self.globals["dt"]);
        match how {
            Integrator::EvaluateOnly => out.extend(evaluate),
            Integrator::Euler => {
                out.extend(evaluate);
                // `p[var] += dt * p[der]` for each equation, in order.
                for (state, _) in &eqs {
                    let x = self.globals.get(state).copied();
                    let x = x.ok_or_else(|| err(span, state, "not a state"))?;
                    let t = self.tmp();
                    out.push(Instr::Bin {
                        op: Op2::Mul,
                        dst: t,
                        a: dt,
                        b: Src::Col(derivs[state]),
                    });
                    out.push(Instr::Bin {
                        op: Op2::Add,
                        dst: x,
                        a: Src::Col(x),
                        b: Src::Col(t),
                    });
                    self.release(Src::Col(t));
                }
            }
            Integrator::Derivimplicit => {
                let mut saved = Vec::new();
                for &x in &states {
                    let s = self.scratch();
                    out.push(Instr::Un {
                        op: Op1::Copy,
                        dst: s,
                        a: Src::Col(x),
                    });
                    saved.push(s);
                }
                // The function Newton zeroes: the body, then `Dx - (x - x_saved)/dt`.
                let mut function = evaluate;
                let mut residuals = Vec::new();
                for (k, (state, _)) in eqs.iter().enumerate() {
                    let t = self.tmp();
                    let r = self.scratch();
                    function.push(Instr::Bin {
                        op: Op2::Sub,
                        dst: t,
                        a: Src::Col(states[k]),
                        b: Src::Col(saved[k]),
                    });
                    function.push(Instr::Bin {
                        op: Op2::Div,
                        dst: t,
                        a: Src::Col(t),
                        b: dt,
                    });
                    function.push(Instr::Bin {
                        op: Op2::Sub,
                        dst: r,
                        a: Src::Col(derivs[state]),
                        b: Src::Col(t),
                    });
                    self.release(Src::Col(t));
                    residuals.push(r);
                }
                // NEURON's unknowns are in its symbol table's order: by the first character
                // of the name, then the name seen last in the file first.
                let rank = |n: &str| {
                    let seen = m.name_order.iter().position(|x| x == n);
                    (
                        n.as_bytes()[0],
                        std::cmp::Reverse(seen.unwrap_or(usize::MAX)),
                    )
                };
                let mut order: Vec<usize> = (0..eqs.len()).collect();
                order.sort_by_key(|&k| rank(&eqs[k].0));
                out.push(Instr::Newton {
                    unknowns: order.iter().map(|&k| states[k]).collect(),
                    residuals,
                    function: function.clone(),
                });
                out.extend(function);
            }
        }
        Ok(())
    }
}
