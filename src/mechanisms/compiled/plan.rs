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
            let runs: Vec<Run> = number(p, code, runs)
                .into_iter()
                .map(|code| Run {
                    marks: marks(p, &code),
                    code,
                })
                .collect();
            // Stored: the trial variables the phase may write, each once (a variable it only
            // reads keeps its value in the trial's arrays).
            let mut may_write = vec![false; p.columns.len()];
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
            let store: Vec<(u32, u32)> = (0..p.columns.len() as u32)
                .filter(|&c| may_write[c as usize])
                .filter_map(|c| match p.columns[c as usize] {
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
            let mut lane0: Vec<bool> = p
                .columns
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
            let mut written = vec![false; p.columns.len()];
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
            let mut direct: Vec<bool> = p
                .columns
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
            let mut store = store;
            store.retain(|&(c, _)| !direct[c as usize]);
            let direct = (0..p.columns.len() as u32)
                .filter(|&c| direct[c as usize])
                .collect();
            PhasePlan {
                load,
                store,
                direct,
                lane0,
                runs,
            }
        };
        let conc: Vec<u32> = p.conc_writes.iter().map(|&(c, _)| c).collect();
        let currents: Vec<u32> = p.currents.iter().map(|c| c.col).collect();
        Plans {
            init: phase(&p.initial, &conc, 1),
            current: phase(&p.current, &currents, 2),
            state: phase(&p.state, &conc, 1),
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

/// Value numbering of a phase's top-level code, `runs` times in a row on the same block
/// (the current's BREAKPOINT runs twice, `v` set anew before each run).
///
/// Every column holds a value number; an arithmetic instruction's value is named by its
/// operation and its operands' numbers. An instruction is dropped when its destination
/// already holds its value (the second run's work that does not depend on `v`), becomes a
/// copy when another column holds it (a subexpression computed twice), or a constant when its
/// operands are constants (NMODL's `-1`, `(34-21)/10`). Equal value numbers are equal bits,
/// computed by the same IEEE operations, so results keep their bits. Scratch writes that no
/// later instruction reads are dropped afterwards. Instructions other than arithmetic are kept
/// as they are, and the columns they may write get new numbers.
fn number(p: &Program, code: &[Instr], runs: usize) -> Vec<Vec<Instr>> {
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
    let mut col_val: Vec<u32> = p
        .columns
        .iter()
        .map(|c| if *c == Column::Scratch { zero } else { fresh() })
        .collect();
    let mut out = Vec::new();
    for _ in 0..runs {
        col_val[p.v_col as usize] = fresh();
        let mut run = Vec::with_capacity(code.len());
        for ins in code {
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
    drop_dead_scratch(p, &mut out);
    out
}

/// Removes arithmetic writes to scratch columns that nothing reads before the column is written
/// again or the phase ends (the runs in sequence; scratch is not stored).
fn drop_dead_scratch(p: &Program, runs: &mut [Vec<Instr>]) {
    let mut live: Vec<bool> = p.columns.iter().map(|c| *c != Column::Scratch).collect();
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
            if p.columns[dst as usize] == Column::Scratch {
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
