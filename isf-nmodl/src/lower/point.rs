//! Lowering of what point processes and artificial cells add to a density mechanism:
//! NET_RECEIVE (its arguments as columns, `flag`, its INITIAL), the event calls `net_send`,
//! `net_event`, `net_move`, `state_discontinuity` and `at_time`, file-scope LOCAL arrays and
//! `FROM` loops, and the GLOBALs such mechanisms write (one value per mechanism).

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use super::{err, Column, Instr, LowerError, Lowerer, Op2, Src};
use crate::ast::{Arg, BinOp, Block, Expr, ExprKind, Ident, ItemKind, StmtKind};
use crate::error::Span;
use crate::model::MechanismKind;

/// What a program is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum ProgramKind {
    /// A density mechanism (SUFFIX): currents in mA/cm².
    #[default]
    Density,
    /// A point process (POINT_PROCESS): currents in nA, scaled by `1e2/area` at the node.
    Point,
    /// An artificial cell (ARTIFICIAL_CELL): no node, no current, only events.
    Artificial,
}

/// Which event an [`Instr::Emit`] makes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Emit {
    /// `net_send`: a self-event.
    Send,
    /// `net_event`: a spike through the instance's NetCons.
    Event,
    /// `net_move`: moves the pending self-event.
    Move,
}

/// A lowered NET_RECEIVE block.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NetReceiveCode {
    /// Argument names (the weight first, then the per-NetCon state).
    pub args: Vec<String>,
    /// The body (columns [`Column::Arg`], [`Column::Flag`], `t` the event's time).
    pub body: Vec<Instr>,
    /// Its INITIAL block, run once per NetCon at initialisation (t = 0).
    pub initial: Option<Vec<Instr>>,
}

type Events = (ProgramKind, Option<NetReceiveCode>, Vec<u32>);

/// The kind, NET_RECEIVE and shared variables of the model being lowered (`vars`: the trial
/// variables' names).
pub(super) fn lower_events(
    l: &mut Lowerer<'_>,
    vars: &[String],
    v_col: u32,
) -> Result<Events, LowerError> {
    let m = l.m;
    let kind = match m.kind {
        MechanismKind::Density => return Ok((ProgramKind::Density, None, Vec::new())),
        MechanismKind::PointProcess => ProgramKind::Point,
        MechanismKind::ArtificialCell => ProgramKind::Artificial,
    };
    let shared = m
        .globals_written
        .iter()
        .filter_map(|g| vars.iter().position(|v| v == g).map(|k| k as u32))
        .collect();
    let Some((args, body)) = m.module.items.iter().find_map(|i| match &i.kind {
        ItemKind::NetReceive { args, body } => Some((args, body)),
        _ => None,
    }) else {
        return Ok((kind, None, shared));
    };
    let mut scope = HashMap::new();
    let mut names = Vec::new();
    for (k, a) in args.iter().enumerate() {
        let c = l.column(Column::Arg(k as u32));
        scope.insert(a.name.name.clone(), c);
        names.push(a.name.name.clone());
    }
    let flag = l.column(Column::Flag);
    scope.insert("flag".to_string(), flag);
    let saved = std::mem::replace(&mut l.scopes, vec![scope]);
    let mut code = Vec::new();
    let mut initial: Option<Vec<Instr>> = None;
    let r = l.block(body, &mut code, &mut |l, s, _| {
        let StmtKind::Initial(b) = &s.kind else {
            return Ok(false);
        };
        let mut init = Vec::new();
        l.block(b, &mut init, &mut |_, _, _| Ok(false))?;
        initial = Some(init);
        Ok(true)
    });
    l.scopes = saved;
    r?;
    let span = &body.span;
    for c in std::iter::once(&code).chain(initial.as_ref()) {
        if reads(c, v_col) {
            return Err(err(
                span,
                "v",
                "NET_RECEIVE reading `v` is not supported (no corpus file does)",
            ));
        }
    }
    Ok((
        kind,
        Some(NetReceiveCode {
            args: names,
            body: code,
            initial,
        }),
        shared,
    ))
}

/// Whether `code` reads column `col`.
fn reads(code: &[Instr], col: u32) -> bool {
    let is = |s: &Src| *s == Src::Col(col);
    code.iter().any(|i| match i {
        Instr::Un { a, .. } => is(a),
        Instr::Bin { a, b, .. } => is(a) || is(b),
        Instr::If {
            cond,
            then,
            otherwise,
        } => is(cond) || reads(then, col) || reads(otherwise, col),
        Instr::Table { arg, .. } => is(arg),
        Instr::While { test, cond, body } => is(cond) || reads(test, col) || reads(body, col),
        Instr::Emit { time, flag, .. } => is(time) || is(flag),
        Instr::Random { args, .. } => args.iter().any(is),
        Instr::VecElement { index, etime } => *index == col || *etime == col,
        Instr::Newton {
            unknowns, function, ..
        } => unknowns.contains(&col) || reads(function, col),
        Instr::Sparse {
            unknowns, function, ..
        } => unknowns.contains(&col) || reads(function, col),
    })
}

/// `t + e` as NEURON's translator makes it: it pastes `t + ` in front of the text of `e`, so the
/// `t` joins the leftmost operand of every operator that binds no tighter than `+`
/// (`net_send(etime - t, 1)` schedules `(t + etime) - t`).
fn t_plus(e: &Expr, t: &Ident) -> Expr {
    let span = e.span.clone();
    match &e.kind {
        ExprKind::Binary(op, x, y)
            if matches!(
                op,
                BinOp::Add
                    | BinOp::Sub
                    | BinOp::Gt
                    | BinOp::Ge
                    | BinOp::Lt
                    | BinOp::Le
                    | BinOp::Eq
                    | BinOp::Ne
                    | BinOp::And
                    | BinOp::Or
            ) =>
        {
            Expr {
                kind: ExprKind::Binary(*op, Box::new(t_plus(x, t)), y.clone()),
                span,
            }
        }
        _ => Expr {
            kind: ExprKind::Binary(
                BinOp::Add,
                Box::new(Expr {
                    kind: ExprKind::Var(t.clone()),
                    span: span.clone(),
                }),
                Box::new(e.clone()),
            ),
            span,
        },
    }
}

impl<'m> Lowerer<'m> {
    /// The column of `name[ix]` (a constant index into an array variable).
    pub(super) fn element(&self, name: &str, ix: &Expr, span: &Span) -> Result<u32, LowerError> {
        let cols = self.arrays.get(name).ok_or_else(|| {
            err(
                span,
                name,
                "array variables other than file-scope LOCALs are not supported yet",
            )
        })?;
        let k = match &ix.kind {
            ExprKind::Number(n, _) if n.value >= 0.0 && n.value.fract() == 0.0 => n.value as usize,
            ExprKind::Paren(x) => return self.element(name, x, span),
            _ => {
                return Err(err(
                    span,
                    name,
                    "only constant array indices are supported yet",
                ))
            }
        };
        cols.get(k).copied().ok_or_else(|| {
            err(
                span,
                name,
                format!("index {k} beyond the array's {} elements", cols.len()),
            )
        })
    }

    /// `FROM i = a TO b BY s { body }`: C's `for (i = a; i <= b; i += s)`.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn lower_from_loop(
        &mut self,
        var: &Ident,
        from: &Expr,
        to: &Expr,
        by: Option<&Expr>,
        body: &Block,
        out: &mut Vec<Instr>,
        hook: &mut super::Hook<'_, 'm>,
    ) -> Result<(), LowerError> {
        let i = self.scratch();
        let mut scope = HashMap::new();
        scope.insert(var.name.clone(), i);
        self.scopes.push(scope);
        let r = (|| {
            self.assign(i, from, out)?;
            let mut test = Vec::new();
            let b = self.expr(to, &mut test)?;
            self.release(b);
            let cond = self.tmp();
            test.push(Instr::Bin {
                op: Op2::Le,
                dst: cond,
                a: Src::Col(i),
                b,
            });
            let mut code = Vec::new();
            self.block(body, &mut code, hook)?;
            let step = match by {
                Some(e) => self.expr(e, &mut code)?,
                None => Src::K(1.0),
            };
            code.push(Instr::Bin {
                op: Op2::Add,
                dst: i,
                a: Src::Col(i),
                b: step,
            });
            self.release(step);
            out.push(Instr::While {
                test,
                cond: Src::Col(cond),
                body: code,
            });
            Ok(())
        })();
        self.scopes.pop();
        r
    }

    /// The calls that talk to the event queue or act on states, or `None` for other calls.
    pub(super) fn event_call(
        &mut self,
        f: &Ident,
        args: &[Arg],
        span: &Span,
        out: &mut Vec<Instr>,
    ) -> Result<Option<Src>, LowerError> {
        let exprs = || -> Result<Vec<&Expr>, LowerError> {
            args.iter()
                .map(|a| match a {
                    Arg::Expr(x) => Ok(x),
                    Arg::Str(_, s) => Err(err(s, &f.name, "string arguments are not supported")),
                })
                .collect()
        };
        let emit = |l: &mut Self, kind, time: &Expr, flag: Option<&Expr>, out: &mut Vec<Instr>| {
            let time = l.expr(time, out)?;
            let flag = match flag {
                Some(x) => l.expr(x, out)?,
                None => Src::K(0.0),
            };
            out.push(Instr::Emit { kind, time, flag });
            l.release(time);
            l.release(flag);
            Ok::<_, LowerError>(Some(Src::K(0.0)))
        };
        match (f.name.as_str(), exprs()?.as_slice()) {
            ("net_send", [delay, flag]) => {
                let t = Ident {
                    name: "t".to_string(),
                    span: f.span.clone(),
                };
                let when = t_plus(delay, &t);
                emit(self, Emit::Send, &when, Some(flag), out)
            }
            ("net_event", [time]) => emit(self, Emit::Event, time, None, out),
            ("net_move", [time]) => emit(self, Emit::Move, time, None, out),
            ("state_discontinuity", [x, value]) => {
                let dst = match &x.kind {
                    ExprKind::Var(id) => self.target(&id.name, span)?,
                    ExprKind::Index(id, ix) => self.element(&id.name, ix, span)?,
                    _ => return Err(err(span, &f.name, "the first argument must be a variable")),
                };
                self.assign(dst, value, out)?;
                Ok(Some(Src::K(0.0)))
            }
            ("at_time", [x]) => {
                // A no-op at fixed step (it only stops variable-step integration there).
                let r = self.expr(x, out)?;
                self.release(r);
                Ok(Some(Src::K(0.0)))
            }
            _ => Ok(None),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lowered(src: &str) -> Result<crate::lower::Program, LowerError> {
        crate::lower::lower(&crate::analyse_str("p.mod", src).unwrap())
    }

    const HEAD: &str = "NEURON { POINT_PROCESS P NONSPECIFIC_CURRENT i RANGE g }
        ASSIGNED { v i g etime }
        STATE { A }
        BREAKPOINT { SOLVE s METHOD cnexp  g = A  i = g*v }
        DERIVATIVE s { A' = -A }";

    #[test]
    fn net_send_pastes_t_in_front_of_the_delay() {
        let p = lowered(&format!(
            "{HEAD}
            NET_RECEIVE(w, n) {{ INITIAL {{ n = 1 }} A = A + w  net_send(etime - t, 2) }}"
        ))
        .unwrap();
        assert_eq!(p.kind, ProgramKind::Point);
        let nr = p.net_receive.unwrap();
        assert_eq!(nr.args, vec!["w", "n"]);
        assert!(nr.initial.is_some());
        // (t + etime) - t, then the emit with flag 2.
        let col = |c: Column| Src::Col(p.columns.iter().position(|x| *x == c).unwrap() as u32);
        let add = nr
            .body
            .iter()
            .find_map(|i| match i {
                Instr::Bin {
                    op: Op2::Add,
                    a,
                    dst,
                    ..
                } if *a == col(Column::T) => Some(*dst),
                _ => None,
            })
            .expect("t + etime");
        let sub = nr
            .body
            .iter()
            .find_map(|i| match i {
                Instr::Bin {
                    op: Op2::Sub,
                    a,
                    b,
                    dst,
                } if *a == Src::Col(add) && *b == col(Column::T) => Some(*dst),
                _ => None,
            })
            .expect("(t + etime) - t");
        assert!(matches!(
            nr.body.last(),
            Some(Instr::Emit { kind: Emit::Send, time, flag: Src::K(2.0) }) if *time == Src::Col(sub)
        ));
    }

    #[test]
    fn net_receive_reading_v_is_refused_with_position() {
        let e = lowered(&format!("{HEAD}\nNET_RECEIVE(w) {{ A = A + w*v }}")).unwrap_err();
        assert_eq!((e.construct.as_str(), e.line), ("v", 6), "{e}");
    }

    #[test]
    fn file_local_arrays_take_constant_indices() {
        let ok = lowered(&format!(
            "{HEAD}\nLOCAL a[2]\nNET_RECEIVE(w) {{ a[0] = w  a[1] = a[0]*2  A = a[1] }}"
        ));
        assert!(ok.is_ok(), "{ok:?}");
        let e = lowered(&format!(
            "{HEAD}\nLOCAL a[2]\nNET_RECEIVE(w) {{ a[2] = w }}"
        ))
        .unwrap_err();
        assert!(e.message.contains("beyond"), "{e}");
    }
}
