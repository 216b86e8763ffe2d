//! Lowering of random numbers and of the idioms built on them or on event vectors.
//!
//! * The legacy process-wide generator: `scop_random()`, `exprand(mean)`, `normrand(mean, sd)`,
//!   `set_seed(x)` become [`Instr::Random`] without a stream; the engine keeps the generator's
//!   state (one per cell and trial, see `docs/nmodl.md`).
//! * A NEURON 9 `RANDOM` variable `r` becomes a [`Stream`]: four catalogue parameters that
//!   configure it per instance (`r_id1`, `r_id2`, `r_id3`, `r_seq`: hoc's ids and position
//!   before `finitialize`) and four trial variables holding the live stream (`r_stream_id1`, …,
//!   `r_stream_pos`), set from the parameters when INITIAL starts. `random_negexp`,
//!   `random_uniform`, `random_normal`, `random_dpick`, `random_ipick`, `random_setseq` and
//!   `random_setids` operate on the live columns.
//! * The Random pointer idiom (ProbAMPANMDA2's `POINTER rng`): the same stream columns under the
//!   pointer's name plus the parameter `rng_attached` (hoc's `setRNG` was called). The draw
//!   FUNCTION gives the attached stream's next `negexp(1)` variate (the distribution ISF's
//!   `Random` objects are set to); without a stream it draws `exprand(1)` from the legacy
//!   generator, as NEURON does, and returns 0, the value NEURON 9.0.2's build returns from the
//!   uninitialised C variable on that path (so every event with a positive release probability
//!   releases; `docs/nmodl.md`).
//! * The event-vector idiom (VecStim): the element PROCEDURE becomes [`Instr::VecElement`], which
//!   reads the instance's own event vector kept by the engine.

use super::{err, Column, Instr, LowerError, Lowerer, Src};
use crate::ast::{Arg, Expr, ExprKind, Ident};
use crate::error::Span;
use crate::model::{IdiomKind, VarClass, Variable};
use serde::{Deserialize, Serialize};

/// Random-number operations.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum RandomOp {
    /// `scop_random()`: the legacy generator's uniform.
    ScopUniform,
    /// `exprand(mean)`.
    Exprand,
    /// `normrand(mean, sd)`.
    Normrand,
    /// `set_seed(x)` (value 0).
    SetSeed,
    /// `random_uniform(r)`, `random_dpick(r)`.
    Uniform,
    /// `random_uniform(r, a, b)`.
    UniformIn,
    /// `random_negexp(r)`.
    Negexp,
    /// `random_normal(r)`.
    Normal,
    /// `random_normal(r, mu, sigma)`.
    NormalWith,
    /// `random_ipick(r)`: the next 32-bit word.
    Ipick,
    /// `random_setseq(r, x)` (value 0).
    SetSeq,
    /// `random_setids(r, id1, id2, id3)` (value 0).
    SetIds,
}

impl RandomOp {
    /// Whether the operation uses the legacy process-wide generator.
    pub fn is_scop(self) -> bool {
        matches!(
            self,
            RandomOp::ScopUniform | RandomOp::Exprand | RandomOp::Normrand | RandomOp::SetSeed
        )
    }
}

/// Whether `code` draws random numbers or configures a generator.
pub(super) fn draws(code: &[Instr]) -> bool {
    code.iter().any(|i| match i {
        Instr::Random { .. } => true,
        Instr::If {
            then, otherwise, ..
        } => draws(then) || draws(otherwise),
        Instr::While { test, body, .. } => draws(test) || draws(body),
        Instr::Sparse { function, .. } => draws(function),
        _ => false,
    })
}

/// A Random123 stream of an instance: a `RANDOM` variable or the Random pointer idiom.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Stream {
    /// The RANDOM variable or POINTER.
    pub name: String,
    /// The Random pointer idiom (a hoc `Random` attached or not), not a `RANDOM` variable.
    pub pointer: bool,
    /// Columns of the live stream: id1, id2, id3 and the position (trial variables).
    pub live: [u32; 4],
    /// Catalogue parameters configuring it: id1, id2, id3, position; for a pointer also
    /// `attached` (indices into [`super::Program::params`]).
    pub params: Vec<u32>,
}

/// Catalogue-parameter suffixes of a stream, in [`Stream::params`] order.
pub const STREAM_PARAMS: [&str; 5] = ["id1", "id2", "id3", "seq", "attached"];

/// Trial-variable suffixes of a stream, in [`Stream::live`] order.
const STREAM_VARS: [&str; 4] = ["stream_id1", "stream_id2", "stream_id3", "stream_pos"];

/// Defaults of a `RANDOM` variable's ids: NEURON's are (1, rank, k) with `k` a process-wide
/// count of streams created, which depends on creation order; isf uses (1, 0, 0) and expects
/// the ids to be set (hoc's `noiseFromRandom123`, isf's parameters).
const RANDOM_DEFAULT: [f64; 4] = [1.0, 0.0, 0.0, 0.0];

impl<'m> Lowerer<'m> {
    /// Declares the stream of a `RANDOM` variable or Random POINTER: its parameters, its live
    /// trial variables (appended to `vars`) and the INITIAL prologue that loads them.
    pub(super) fn declare_stream(
        &mut self,
        var: &Variable,
        vars: &mut Vec<String>,
        prologue: &mut Vec<Instr>,
    ) -> Result<(), LowerError> {
        let top = &self.m.module.span;
        let span = var.span.as_ref().unwrap_or(top);
        let pointer = var.class == VarClass::Pointer;
        if pointer && !self.random_pointer(&var.name) {
            return Err(err(
                span,
                &var.name,
                "a POINTER is executed only as the Random pointer idiom",
            ));
        }
        if var.array.is_some() {
            return Err(err(span, &var.name, "arrays of streams are not supported"));
        }
        let nparams = if pointer { 5 } else { 4 };
        let mut params = Vec::new();
        let mut pcols = Vec::new();
        for (k, suffix) in STREAM_PARAMS[..nparams].iter().enumerate() {
            let default = if pointer { 0.0 } else { RANDOM_DEFAULT[k] };
            let p = self.params.len() as u32;
            pcols.push(self.column(Column::Param(p)));
            self.params
                .push((format!("{}_{suffix}", var.name), default));
            params.push(p);
        }
        let mut live = [0; 4];
        for (k, suffix) in STREAM_VARS.iter().enumerate() {
            live[k] = self.column(Column::Var(vars.len() as u32));
            vars.push(format!("{}_{suffix}", var.name));
            prologue.push(Instr::Un {
                op: super::Op1::Copy,
                dst: live[k],
                a: Src::Col(pcols[k]),
            });
        }
        if pointer {
            self.attached.insert(var.name.clone(), pcols[4]);
        }
        self.streams.push(Stream {
            name: var.name.clone(),
            pointer,
            live,
            params,
        });
        Ok(())
    }

    fn random_pointer(&self, name: &str) -> bool {
        self.m
            .idioms
            .iter()
            .any(|i| matches!(&i.kind, IdiomKind::RandomPointer { pointer, .. } if pointer == name))
    }

    fn stream_of(&self, name: &str) -> Option<u32> {
        self.streams
            .iter()
            .position(|s| s.name == name)
            .map(|k| k as u32)
    }

    /// Lowers a call of a random-number built-in; `None` when `f` is not one.
    pub(super) fn random_call(
        &mut self,
        f: &Ident,
        args: &[Arg],
        span: &Span,
        out: &mut Vec<Instr>,
    ) -> Result<Option<Src>, LowerError> {
        let name = f.name.as_str();
        let scop = match name {
            "scop_random" => Some(RandomOp::ScopUniform),
            "exprand" => Some(RandomOp::Exprand),
            "normrand" => Some(RandomOp::Normrand),
            "set_seed" => Some(RandomOp::SetSeed),
            _ => None,
        };
        if let Some(op) = scop {
            let vals = self.values(name, args, out)?;
            return Ok(Some(self.emit(op, vals, None, out)));
        }
        if name == "poisrand" {
            return Err(err(span, name, "poisrand is not executed yet"));
        }
        if !name.starts_with("random_") {
            return Ok(None);
        }
        let (first, rest) = match args {
            [Arg::Expr(Expr {
                kind: ExprKind::Var(r),
                ..
            }), rest @ ..] => (r, rest),
            _ => {
                return Err(err(
                    span,
                    name,
                    "the first argument must be a RANDOM variable",
                ))
            }
        };
        let stream = self
            .stream_of(&first.name)
            .ok_or_else(|| err(&first.span, &first.name, "not a RANDOM variable"))?;
        let op = match (name, rest.len()) {
            ("random_negexp", 0) => RandomOp::Negexp,
            ("random_uniform" | "random_dpick", 0) => RandomOp::Uniform,
            ("random_uniform", 2) => RandomOp::UniformIn,
            ("random_normal", 0) => RandomOp::Normal,
            ("random_normal", 2) => RandomOp::NormalWith,
            ("random_ipick", 0) => RandomOp::Ipick,
            ("random_setseq", 1) => RandomOp::SetSeq,
            ("random_setids", 3) => RandomOp::SetIds,
            _ => {
                return Err(err(
                    span,
                    name,
                    format!(
                        "NEURON has no `{name}` with {} argument(s) after the stream",
                        rest.len()
                    ),
                ))
            }
        };
        let vals = self.values(name, rest, out)?;
        Ok(Some(self.emit(op, vals, Some(stream), out)))
    }

    fn values(
        &mut self,
        name: &str,
        args: &[Arg],
        out: &mut Vec<Instr>,
    ) -> Result<Vec<Src>, LowerError> {
        let mut vals = Vec::with_capacity(args.len());
        for a in args {
            match a {
                Arg::Expr(x) => vals.push(self.expr(x, out)?),
                Arg::Str(_, span) => {
                    return Err(err(span, name, "string arguments are not supported"))
                }
            }
        }
        Ok(vals)
    }

    fn emit(
        &mut self,
        op: RandomOp,
        args: Vec<Src>,
        stream: Option<u32>,
        out: &mut Vec<Instr>,
    ) -> Src {
        for a in &args {
            self.release(*a);
        }
        let dst = self.tmp();
        out.push(Instr::Random {
            op,
            dst,
            args,
            stream,
        });
        Src::Col(dst)
    }

    /// Whether [`Lowerer::idiom_call`] lowers calls of callables replaced by `idiom`.
    pub(super) fn executes(idiom: &IdiomKind) -> bool {
        matches!(
            idiom,
            IdiomKind::RandomPointer { .. }
                | IdiomKind::VectorEventStream { .. }
                | IdiomKind::HocRandomSetter { .. }
        )
    }

    /// A call of a callable replaced by an idiom: the Random pointer's draw, the event vector's
    /// element; the hoc-only procedures (setters, `play`) are refused.
    pub(super) fn idiom_call(
        &mut self,
        name: &str,
        span: &Span,
        idiom: &IdiomKind,
        out: &mut Vec<Instr>,
    ) -> Result<Src, LowerError> {
        match idiom {
            IdiomKind::RandomPointer {
                pointer,
                draw: Some(d),
                ..
            } if d == name => {
                let stream = self
                    .stream_of(pointer)
                    .ok_or_else(|| err(span, pointer, "the Random pointer was not declared"))?;
                let attached = self.attached[pointer.as_str()];
                let ret = self.scratch();
                let drawn = self.tmp();
                let discarded = self.tmp();
                out.push(Instr::If {
                    cond: Src::Col(attached),
                    then: vec![
                        Instr::Random {
                            op: RandomOp::Negexp,
                            dst: drawn,
                            args: Vec::new(),
                            stream: Some(stream),
                        },
                        Instr::Un {
                            op: super::Op1::Copy,
                            dst: ret,
                            a: Src::Col(drawn),
                        },
                    ],
                    otherwise: vec![
                        Instr::Random {
                            op: RandomOp::Exprand,
                            dst: discarded,
                            args: vec![Src::K(1.0)],
                            stream: None,
                        },
                        Instr::Un {
                            op: super::Op1::Copy,
                            dst: ret,
                            a: Src::K(0.0),
                        },
                    ],
                });
                self.release(Src::Col(drawn));
                self.release(Src::Col(discarded));
                Ok(Src::Col(ret))
            }
            IdiomKind::VectorEventStream {
                index,
                etime,
                element,
                ..
            } if element == name => {
                let i = self.target(index, span)?;
                let e = self.target(etime, span)?;
                out.push(Instr::VecElement { index: i, etime: e });
                Ok(Src::K(0.0))
            }
            _ => Err(err(
                span,
                name,
                "this PROCEDURE configures NEURON objects from hoc; isf sets streams and event \
                 vectors through the instance's parameters and inputs, so NMODL may not call it",
            )),
        }
    }
}
