//! What each phase of a compiled program needs, worked out once when the program is loaded: the
//! columns it touches (only those are loaded into a block, and only its trial variables stored
//! back), and the columns each top-level instruction may write (for the executor's tracking of
//! columns that hold one value in all lanes, see [`super::exec_top`]). Skipping a column a phase
//! never mentions changes nothing it computes.

use std::collections::HashMap;

use isf_nmodl::lower::{Column, Instr, Op1, Op2, Program, Src};

use super::kernels::{bin_scalar, un_scalar};
use crate::mechanisms::exp::LibmExp;

/// The plans of a program's phases.
#[derive(Debug)]
pub(super) struct Plans {
    /// `nrn_init`.
    pub init: PhasePlan,
    /// `nrn_cur` (the BREAKPOINT run twice).
    pub current: PhasePlan,
    /// `nrn_state`.
    pub state: PhasePlan,
    /// Columns of a block: the program's and the scratch columns the phases' plans add.
    pub columns: usize,
    /// Whether the program draws from the cell's legacy generator.
    pub uses_scop: bool,
    /// The column of the `usetable` parameter, if the program has TABLEs and one.
    pub usetable: Option<u32>,
    /// Whether the program emits events (`net_send`, `net_event`, `net_move`).
    pub emits: bool,
    /// Whether the program reads an event vector (VecStim's `element()` idiom).
    pub event_vector: bool,
}

/// What one phase touches.
#[derive(Debug, Default)]
pub(super) struct PhasePlan {
    /// Columns loaded before the phase: those its code reads before writing them in all lanes,
    /// its TABLEs' and the executor's bookkeeping's.
    pub load: Vec<u32>,
    /// Trial-variable columns stored back after it: (column, variable).
    pub store: Vec<(u32, u32)>,
    /// Columns of trial variables and unwritten parameters that the phase's instructions read
    /// and write in the trial's arrays (neither loaded nor stored).
    pub direct: Vec<u32>,
    /// The phase's top-level code after value numbering, once per run of the code in a phase
    /// (the current runs it twice), with per instruction other than `Un`/`Bin` the columns it
    /// may write (they hold per-lane values after it).
    pub runs: Vec<Run>,
    /// Per column: read only by the top level's arithmetic, so that while it holds one value
    /// in all lanes only its first lane needs to be written (parameters, scratch and the
    /// environment's values; never a trial variable, which is stored).
    pub lane0: Vec<bool>,
    /// The current phase's ohmic form, when its program has it (see [`Ohmic`]).
    pub ohmic: Option<Ohmic>,
}

/// A current phase whose only current is `c = y·(v − x)` through a scratch column, after
/// code (`prefix`) that does not read `v` (a gate channel's `g = gbar·m³·h`; `i = g·(v − e)`):
/// the executor runs the prefix once and evaluates the current at `v + 0.001` and at `v`, its
/// sum and slope in one pass over the lanes, with the same operations as the two runs.
#[derive(Debug)]
pub(super) struct Ohmic {
    /// The code before the current's two instructions.
    pub prefix: Run,
    /// The current's column.
    pub c: u32,
    /// The reversal potential's operand.
    pub x: Src,
    /// The conductance's operand.
    pub y: Src,
}

/// The [`Ohmic`] form of a current phase's two runs, if they have it.
fn ohmic(p: &Program, runs: &[Run]) -> Option<Ohmic> {
    let [r0, r1] = runs else { return None };
    let [cur] = &p.currents[..] else { return None };
    let [Instr::Bin {
        op: Op2::Sub,
        dst: t,
        a: Src::Col(v),
        b: x,
    }, Instr::Bin {
        op: Op2::Mul,
        dst: c,
        a,
        b,
    }] = r1.code[..]
    else {
        return None;
    };
    let y = match (a, b) {
        (Src::Col(k), y) | (y, Src::Col(k)) if k == t && y != Src::Col(t) => y,
        _ => return None,
    };
    let n = r0.code.len();
    let prefix = r0.code.get(..n.checked_sub(2)?)?;
    let names_t_c_or_v = |s: &Src| *s == Src::Col(t) || *s == Src::Col(c) || *s == Src::Col(v);
    let ok = v == p.v_col
        && c == cur.col
        && t != c
        && p.columns[t as usize] == Column::Scratch
        && !names_t_c_or_v(&x)
        && !names_t_c_or_v(&y)
        && r0.code[n - 2..] == r1.code[..]
        && prefix.iter().all(|i| match *i {
            Instr::Un { a, .. } => a != Src::Col(v),
            Instr::Bin { a, b, .. } => a != Src::Col(v) && b != Src::Col(v),
            _ => false,
        });
    ok.then(|| Ohmic {
        prefix: Run {
            code: prefix.to_vec(),
            marks: r0.marks[..n - 2].to_vec(),
        },
        c,
        x,
        y,
    })
}

/// One run of a phase's top-level code.
#[derive(Debug, Default)]
pub(super) struct Run {
    /// The instructions.
    pub code: Vec<Instr>,
    /// Per instruction: the columns it may write, for those other than `Un`/`Bin`.
    pub marks: Vec<Vec<u32>>,
}

/// Calls `f` on every instruction of `code`, nested ones included.
pub(super) fn visit<'a>(code: &'a [Instr], f: &mut impl FnMut(&'a Instr)) {
    for ins in code {
        f(ins);
        match ins {
            Instr::If {
                then, otherwise, ..
            } => {
                visit(then, f);
                visit(otherwise, f);
            }
            Instr::While { test, body, .. } => {
                visit(test, f);
                visit(body, f);
            }
            Instr::Newton { function, .. } | Instr::Sparse { function, .. } => visit(function, f),
            _ => {}
        }
    }
}

/// Whether an instruction of a phase or of NET_RECEIVE, nested ones included, satisfies `f`.
fn any_instr(p: &Program, f: impl Fn(&Instr) -> bool) -> bool {
    let mut codes: Vec<&[Instr]> = vec![&p.initial, &p.current, &p.state];
    if let Some(nr) = &p.net_receive {
        codes.push(&nr.body);
        codes.extend(nr.initial.as_deref());
    }
    let mut any = false;
    for code in codes {
        visit(code, &mut |i| any |= f(i));
    }
    any
}

/// Every column `ins` and the instructions nested in it name, each once, in order.
fn columns_in(p: &Program, ins: &Instr) -> Vec<u32> {
    let mut cols = Vec::new();
    visit(std::slice::from_ref(ins), &mut |i| {
        columns_of(p, i, &mut cols)
    });
    cols.sort_unstable();
    cols.dedup();
    cols
}

/// Every column an instruction names (operands, destinations, solver and stream columns).
fn columns_of(p: &Program, ins: &Instr, out: &mut Vec<u32>) {
    let src = |s: &Src, out: &mut Vec<u32>| {
        if let Src::Col(c) = *s {
            out.push(c)
        }
    };
    match ins {
        Instr::Un { dst, a, .. } => {
            out.push(*dst);
            src(a, out);
        }
        Instr::Bin { dst, a, b, .. } => {
            out.push(*dst);
            src(a, out);
            src(b, out);
        }
        Instr::If { cond, .. } => src(cond, out),
        Instr::While { cond, .. } => src(cond, out),
        Instr::Table { arg, out: o, .. } => {
            src(arg, out);
            out.extend(o);
        }
        Instr::Newton {
            unknowns,
            residuals,
            ..
        } => {
            out.extend(unknowns);
            out.extend(residuals);
        }
        Instr::Sparse {
            unknowns,
            saved,
            rhs,
            matrix,
            ..
        } => {
            out.extend(unknowns);
            out.extend(saved);
            out.extend(rhs);
            out.extend(matrix);
        }
        Instr::Random {
            dst, args, stream, ..
        } => {
            out.push(*dst);
            for a in args {
                src(a, out);
            }
            if let Some(s) = stream {
                out.extend(p.streams[*s as usize].live);
            }
        }
        Instr::VecElement { index, etime } => out.extend([*index, *etime]),
        Instr::Emit { time, flag, .. } => {
            src(time, out);
            src(flag, out);
        }
    }
}

impl Plans {
    pub fn new(p: &Program) -> Plans {
        let uses_scop = p.uses_scop();
        let usetable = (!p.tables.is_empty())
            .then(|| {
                let k = p.params.iter().position(|(n, _)| n == "usetable")?;
                p.columns
                    .iter()
                    .position(|c| *c == Column::Param(k as u32))
                    .map(|c| c as u32)
            })
            .flatten();
        // Columns every phase needs besides its own code's: the TABLEs' (built before any
        // phase from the block's values), the usetable switch, `v`.
        let mut common = vec![p.v_col];
        common.extend(usetable);
        for t in &p.tables {
            for code in [&t.bounds, &t.body] {
                visit(code, &mut |i| columns_of(p, i, &mut common));
            }
            for s in [&t.from, &t.to] {
                if let Src::Col(c) = *s {
                    common.push(c);
                }
            }
            common.extend(&t.depend);
            common.push(t.arg);
            common.extend(&t.outputs);
        }
        let phase = |code: &[Instr], extra: &[u32], runs: usize| {
            // Scratch columns that only the top level's arithmetic names get a column per
            // write for value numbering, and are then packed back into as few columns as the
            // values' lifetimes allow.
            let mut renamable: Vec<bool> =
                p.columns.iter().map(|c| *c == Column::Scratch).collect();
            for &c in common.iter().chain(extra) {
                renamable[c as usize] = false;
            }
            let mut kinds = p.columns.clone();
            let renamed = ssa(p, code, runs, &mut renamable, &mut kinds);
            let mut numbered = number(p, &kinds, renamed);
            allocate(p.columns.len(), &renamable, &mut numbered, &mut kinds);
            let ncols = kinds.len();
            let runs: Vec<Run> = numbered
                .into_iter()
                .map(|code| Run {
                    marks: marks(p, &code),
                    code,
                })
                .collect();
            // Stored: the trial variables the phase may write, each once (a variable it only
            // reads keeps its value in the trial's arrays).
            let mut may_write = vec![false; ncols];
            for run in &runs {
                for (ins, marks) in run.code.iter().zip(&run.marks) {
                    match *ins {
                        Instr::Un { dst, .. } | Instr::Bin { dst, .. } => {
                            may_write[dst as usize] = true
                        }
                        _ => marks.iter().for_each(|&c| may_write[c as usize] = true),
                    }
                }
            }
            let mut store: Vec<(u32, u32)> = (0..ncols as u32)
                .filter(|&c| may_write[c as usize])
                .filter_map(|c| match kinds[c as usize] {
                    Column::Var(k) => Some((c, k)),
                    _ => None,
                })
                .collect();
            // Loaded: what the executor itself reads, and every column the code reads before
            // writing it in all lanes (a column written first needs no load), or stores without
            // writing. Kept in its first lane while uniform: parameters, scratch and the
            // environment's values that only the top level's arithmetic reads.
            let mut load = common.clone();
            load.extend(extra);
            let mut lane0: Vec<bool> = kinds
                .iter()
                .map(|c| {
                    matches!(
                        c,
                        Column::Param(_)
                            | Column::Scratch
                            | Column::Dt
                            | Column::Celsius
                            | Column::T
                    )
                })
                .collect();
            for &c in common.iter().chain(extra) {
                lane0[c as usize] = false;
            }
            let mut written = vec![false; ncols];
            for run in &runs {
                for (ins, marks) in run.code.iter().zip(&run.marks) {
                    let (dst, srcs) = match *ins {
                        Instr::Un { dst, a, .. } => (Some(dst), vec![a]),
                        Instr::Bin { dst, a, b, .. } => (Some(dst), vec![a, b]),
                        _ => {
                            for &c in marks {
                                lane0[c as usize] = false;
                            }
                            (None, marks.iter().map(|&c| Src::Col(c)).collect())
                        }
                    };
                    for s in srcs {
                        if let Src::Col(c) = s {
                            if !written[c as usize] {
                                load.push(c);
                            }
                        }
                    }
                    if let Some(d) = dst {
                        written[d as usize] = true;
                    }
                }
            }
            load.extend(
                store
                    .iter()
                    .map(|&(c, _)| c)
                    .filter(|&c| !written[c as usize]),
            );
            // Trial variables and parameters that only the top level's arithmetic names are
            // read and written where the trial keeps them instead of copied into the block and
            // back (the executor's bookkeeping and the other instructions address the block).
            let mut direct: Vec<bool> = kinds
                .iter()
                .enumerate()
                .map(|(c, col)| match col {
                    Column::Var(_) => true,
                    Column::Param(_) => !may_write[c],
                    _ => false,
                })
                .collect();
            for &c in common.iter().chain(extra) {
                direct[c as usize] = false;
            }
            for run in &runs {
                for marks in &run.marks {
                    marks.iter().for_each(|&c| direct[c as usize] = false);
                }
            }
            load.retain(|&c| !direct[c as usize]);
            load.sort_unstable();
            load.dedup();
            store.retain(|&(c, _)| !direct[c as usize]);
            let direct = (0..ncols as u32).filter(|&c| direct[c as usize]).collect();
            PhasePlan {
                load,
                store,
                direct,
                lane0,
                // Only the current phase runs twice: `ohmic` is `None` for the others.
                ohmic: ohmic(p, &runs),
                runs,
            }
        };
        let conc: Vec<u32> = p.conc_writes.iter().map(|&(c, _)| c).collect();
        let currents: Vec<u32> = p.currents.iter().map(|c| c.col).collect();
        let (init, current, state) = (
            phase(&p.initial, &conc, 1),
            phase(&p.current, &currents, 2),
            phase(&p.state, &conc, 1),
        );
        Plans {
            columns: [&init, &current, &state]
                .iter()
                .map(|ph| ph.lane0.len())
                .fold(p.columns.len(), usize::max),
            init,
            current,
            state,
            uses_scop,
            usetable,
            emits: any_instr(p, |i| matches!(i, Instr::Emit { .. })),
            event_vector: any_instr(p, |i| matches!(i, Instr::VecElement { .. })),
        }
    }
}

/// The columns each top-level instruction of `code` may write, for the instructions other than
/// `Un`/`Bin` (whose destination is known); empty for those.
fn marks(p: &Program, code: &[Instr]) -> Vec<Vec<u32>> {
    code.iter()
        .map(|ins| match ins {
            Instr::Un { .. } | Instr::Bin { .. } => Vec::new(),
            _ => columns_in(p, ins),
        })
        .collect()
}

/// A value computed by an arithmetic instruction, in terms of the values of its operands.
#[derive(Hash, PartialEq, Eq)]
enum Key {
    /// A one-operand operation and the operand.
    Un(Op1, u32),
    /// A two-operand operation and the operands.
    Bin(Op2, u32, u32),
}

/// Value numbering of a phase's top-level code, its runs in a row on the same block (the
/// current's BREAKPOINT runs twice, `v` set anew before each run); `kinds`: the program's
/// columns and the scratch columns [`ssa`] added.
///
/// Every column holds a value number; an arithmetic instruction's value is named by its
/// operation and its operands' numbers. An instruction is dropped when its destination
/// already holds its value (the second run's work that does not depend on `v`), becomes a
/// copy when another column holds it (a subexpression computed twice), or a constant when its
/// operands are constants (NMODL's `-1`, `(34-21)/10`). Equal value numbers are equal bits,
/// computed by the same IEEE operations, so results keep their bits. Scratch writes that no
/// later instruction reads are dropped afterwards. Instructions other than arithmetic are kept
/// as they are, and the columns they may write get new numbers.
fn number(p: &Program, kinds: &[Column], runs: Vec<Vec<Instr>>) -> Vec<Vec<Instr>> {
    let mut next = 0u32;
    let mut fresh = || {
        next += 1;
        next
    };
    let mut consts: HashMap<u64, u32> = HashMap::new();
    let mut value_of: HashMap<u32, f64> = HashMap::new();
    let mut table: HashMap<Key, u32> = HashMap::new();
    // Scratch columns are zeroed when a block is loaded: all hold the constant 0.
    let zero = fresh();
    consts.insert(0f64.to_bits(), zero);
    value_of.insert(zero, 0.0);
    // The added columns hold nothing known before they are written.
    let n0 = p.columns.len();
    let mut col_val: Vec<u32> = kinds
        .iter()
        .enumerate()
        .map(|(c, k)| {
            if *k == Column::Scratch && c < n0 {
                zero
            } else {
                fresh()
            }
        })
        .collect();
    let mut out = Vec::new();
    for code in runs {
        col_val[p.v_col as usize] = fresh();
        let mut run = Vec::with_capacity(code.len());
        for ins in &code {
            let (op_key, dst, srcs): (Result<Op1, Op2>, u32, Vec<Src>) = match *ins {
                Instr::Un { op, dst, a } => (Ok(op), dst, vec![a]),
                Instr::Bin { op, dst, a, b } => (Err(op), dst, vec![a, b]),
                _ => {
                    for c in columns_in(p, ins) {
                        col_val[c as usize] = fresh();
                    }
                    run.push(ins.clone());
                    continue;
                }
            };
            let mut konst = |x: f64, value_of: &mut HashMap<u32, f64>| {
                *consts.entry(x.to_bits()).or_insert_with(|| {
                    let v = fresh();
                    value_of.insert(v, x);
                    v
                })
            };
            let vals: Vec<u32> = srcs
                .iter()
                .map(|s| match *s {
                    Src::K(x) => konst(x, &mut value_of),
                    Src::Col(c) => col_val[c as usize],
                })
                .collect();
            let known: Vec<Option<f64>> = vals.iter().map(|v| value_of.get(v).copied()).collect();
            let (val, constant) = if known.iter().all(Option::is_some) {
                let x = match op_key {
                    Ok(op) => un_scalar::<LibmExp>(op, known[0].unwrap_or_default()),
                    Err(op) => bin_scalar(
                        op,
                        known[0].unwrap_or_default(),
                        known[1].unwrap_or_default(),
                    ),
                };
                (konst(x, &mut value_of), Some(x))
            } else {
                let key = match op_key {
                    Ok(op) => Key::Un(op, vals[0]),
                    Err(op) => Key::Bin(op, vals[0], vals[1]),
                };
                (*table.entry(key).or_insert_with(&mut fresh), None)
            };
            if col_val[dst as usize] == val {
                continue;
            }
            let holder = col_val.iter().position(|&v| v == val).map(|c| c as u32);
            let new = match (constant, holder) {
                (Some(x), _) => Instr::Un {
                    op: Op1::Copy,
                    dst,
                    a: Src::K(x),
                },
                (None, Some(c)) => Instr::Un {
                    op: Op1::Copy,
                    dst,
                    a: Src::Col(c),
                },
                (None, None) => {
                    let sub = |s: Src, v: u32| match value_of.get(&v) {
                        Some(&x) => Src::K(x),
                        None => s,
                    };
                    match *ins {
                        Instr::Un { op, dst, a } => Instr::Un {
                            op,
                            dst,
                            a: sub(a, vals[0]),
                        },
                        Instr::Bin { op, dst, a, b } => Instr::Bin {
                            op,
                            dst,
                            a: sub(a, vals[0]),
                            b: sub(b, vals[1]),
                        },
                        _ => unreachable!("arithmetic only"),
                    }
                }
            };
            col_val[dst as usize] = val;
            run.push(new);
        }
        out.push(run);
    }
    propagate(n0, &mut out);
    drop_dead_scratch(p, kinds, &mut out);
    out
}

/// Removes arithmetic writes to scratch columns that nothing reads before the column is written
/// again or the phase ends (the runs in sequence; scratch is not stored).
fn drop_dead_scratch(p: &Program, kinds: &[Column], runs: &mut [Vec<Instr>]) {
    let mut live: Vec<bool> = kinds.iter().map(|c| *c != Column::Scratch).collect();
    for run in runs.iter_mut().rev() {
        let mut keep = vec![true; run.len()];
        for (k, ins) in run.iter().enumerate().rev() {
            let (dst, srcs) = match *ins {
                Instr::Un { dst, a, .. } => (dst, vec![a]),
                Instr::Bin { dst, a, b, .. } => (dst, vec![a, b]),
                _ => {
                    for c in columns_in(p, ins) {
                        live[c as usize] = true;
                    }
                    continue;
                }
            };
            if !live[dst as usize] {
                keep[k] = false;
                continue;
            }
            if kinds[dst as usize] == Column::Scratch {
                live[dst as usize] = false;
            }
            for s in srcs {
                if let Src::Col(c) = s {
                    live[c as usize] = true;
                }
            }
        }
        let mut k = 0;
        run.retain(|_| {
            k += 1;
            keep[k - 1]
        });
    }
}

/// `code` `runs` times in a row, every write of a `renamable` scratch column given a column of
/// its own (appended to `kinds`): a value then stays in its column until the phase ends, so
/// value numbering finds it when it is computed again (`v − 38` in two rate expressions, the
/// cnexp form's `−1/τ` twice). Reads before the first write still name the zeroed column. A
/// write that an instruction other than arithmetic reads before the column is written again
/// (an `if`'s condition) stays in its column, and such columns are taken out of `renamable`
/// (which then says which columns [`allocate`] may reuse).
fn ssa(
    p: &Program,
    code: &[Instr],
    runs: usize,
    renamable: &mut [bool],
    kinds: &mut Vec<Column>,
) -> Vec<Vec<Instr>> {
    let n0 = kinds.len();
    let arith = |i: &Instr| matches!(i, Instr::Un { .. } | Instr::Bin { .. });
    let named: Vec<Vec<u32>> = code
        .iter()
        .map(|i| {
            if arith(i) {
                Vec::new()
            } else {
                columns_in(p, i)
            }
        })
        .collect();
    let mut other = vec![false; n0];
    named
        .iter()
        .flatten()
        .for_each(|&c| other[c as usize] = true);
    // Whether the write of instruction `i` to `c` is read by another kind of instruction before
    // `c` is written again (into the next run, when there is one).
    let pinned = |i: usize, c: u32| {
        let order = (i + 1..code.len()).chain(if runs > 1 { 0..i + 1 } else { 0..0 });
        for j in order {
            if named[j].contains(&c) {
                return true;
            }
            match code[j] {
                Instr::Un { dst, .. } | Instr::Bin { dst, .. } if dst == c => return false,
                _ => {}
            }
        }
        false
    };
    let pins: Vec<bool> = code
        .iter()
        .enumerate()
        .map(|(i, ins)| match *ins {
            Instr::Un { dst, .. } | Instr::Bin { dst, .. } => {
                (dst as usize) < n0 && other[dst as usize] && pinned(i, dst)
            }
            _ => false,
        })
        .collect();
    let mut cur: Vec<u32> = (0..n0 as u32).collect();
    let map = |s: Src, cur: &[u32]| match s {
        Src::Col(c) => Src::Col(cur[c as usize]),
        k => k,
    };
    let rename = |dst: u32, pin: bool, cur: &mut [u32], kinds: &mut Vec<Column>| {
        if !renamable[dst as usize] || pin {
            cur[dst as usize] = dst;
            return dst;
        }
        let v = kinds.len() as u32;
        kinds.push(Column::Scratch);
        cur[dst as usize] = v;
        v
    };
    let out = (0..runs)
        .map(|_| {
            code.iter()
                .zip(&pins)
                .zip(&named)
                .map(|((ins, &pin), named)| match *ins {
                    Instr::Un { op, dst, a } => {
                        let a = map(a, &cur);
                        let dst = rename(dst, pin, &mut cur, kinds);
                        Instr::Un { op, dst, a }
                    }
                    Instr::Bin { op, dst, a, b } => {
                        let (a, b) = (map(a, &cur), map(b, &cur));
                        let dst = rename(dst, pin, &mut cur, kinds);
                        Instr::Bin { op, dst, a, b }
                    }
                    // Reads what its columns hold (see `pinned`) and may write them.
                    _ => {
                        for &c in named {
                            cur[c as usize] = c;
                        }
                        ins.clone()
                    }
                })
                .collect()
        })
        .collect();
    for (r, o) in renamable.iter_mut().zip(&other) {
        *r &= !o;
    }
    out
}

/// Removes copies into the columns [`ssa`] added (from index `n0` on), reading the copied
/// column or constant directly instead: such a column is written once, and so is a source of
/// the same kind, which keeps its value; a program column may change and is left as it is.
fn propagate(n0: usize, runs: &mut [Vec<Instr>]) {
    let mut alias: HashMap<u32, Src> = HashMap::new();
    let resolve = |s: Src, alias: &HashMap<u32, Src>| match s {
        Src::Col(c) => alias.get(&c).copied().unwrap_or(s),
        k => k,
    };
    for run in runs.iter_mut() {
        run.retain_mut(|ins| match ins {
            Instr::Un { op, dst, a } => {
                *a = resolve(*a, &alias);
                let stable = match *a {
                    Src::K(_) => true,
                    Src::Col(c) => c as usize >= n0,
                };
                if *op == Op1::Copy && *dst as usize >= n0 && stable {
                    alias.insert(*dst, *a);
                    false
                } else {
                    true
                }
            }
            Instr::Bin { a, b, .. } => {
                *a = resolve(*a, &alias);
                *b = resolve(*b, &alias);
                true
            }
            // Names no added column.
            _ => true,
        });
    }
}

/// Packs the columns [`ssa`] added (from index `n0` on) into the `renamable` scratch columns
/// and as few new ones as needed: a column is reused once its value's last reader has read it
/// (by that reader itself, as an in-place update). Truncates `kinds` to the columns in use.
fn allocate(n0: usize, renamable: &[bool], runs: &mut [Vec<Instr>], kinds: &mut Vec<Column>) {
    // Last reader of every column, instructions numbered across the runs.
    let mut last = vec![usize::MAX; kinds.len()];
    let mut k = 0;
    for run in runs.iter() {
        for ins in run {
            if let Instr::Un { a, .. } | Instr::Bin { a, .. } = ins {
                if let Src::Col(c) = *a {
                    last[c as usize] = k;
                }
            }
            if let Instr::Bin { b: Src::Col(c), .. } = ins {
                last[*c as usize] = k;
            }
            k += 1;
        }
    }
    // Free: renamable program columns whose zeroed value nothing reads.
    let mut free: Vec<u32> = (0..n0 as u32)
        .rev()
        .filter(|&c| renamable[c as usize] && last[c as usize] == usize::MAX)
        .collect();
    let mut phys: Vec<u32> = (0..kinds.len() as u32).collect();
    let mut top = n0 as u32;
    let mut k = 0;
    for run in runs.iter_mut() {
        for ins in run.iter_mut() {
            let (dst, srcs): (&mut u32, Vec<&mut Src>) = match ins {
                Instr::Un { dst, a, .. } => (dst, vec![a]),
                Instr::Bin { dst, a, b, .. } => (dst, vec![a, b]),
                _ => {
                    k += 1;
                    continue;
                }
            };
            let mut released = Vec::new();
            for s in srcs {
                if let Src::Col(c) = *s {
                    let c = c as usize;
                    let added_or_renamable = c >= n0 || renamable[c];
                    *s = Src::Col(phys[c]);
                    if added_or_renamable && last[c] == k && !released.contains(&phys[c]) {
                        released.push(phys[c]);
                    }
                }
            }
            free.extend(released);
            if *dst as usize >= n0 {
                let c = *dst as usize;
                let p = free.pop().unwrap_or_else(|| {
                    top += 1;
                    top - 1
                });
                phys[c] = p;
                *dst = p;
                // A value nothing reads (dead writes are removed before) frees its column.
                if last[c] == usize::MAX {
                    free.push(p);
                }
            }
            k += 1;
        }
    }
    kinds.truncate(top as usize);
}
