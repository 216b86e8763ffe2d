//! What each phase of a compiled program needs, worked out once when the program is loaded: the
//! columns it touches (only those are loaded into a block, and only its trial variables stored
//! back), and the columns each top-level instruction may write (for the executor's tracking of
//! columns that hold one value in all lanes, see [`super::exec_top`]). Skipping a column a phase
//! never mentions changes nothing it computes.

use isf_nmodl::lower::{Column, Instr, Program, Src};

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
}

/// What one phase touches.
#[derive(Debug, Default)]
pub(super) struct PhasePlan {
    /// Columns loaded before the phase (every column its instructions, its TABLEs or the
    /// executor's bookkeeping read or write).
    pub load: Vec<u32>,
    /// Trial-variable columns stored back after it: (column, variable).
    pub store: Vec<(u32, u32)>,
    /// Per top-level instruction other than `Un`/`Bin`: the columns it may write (they hold
    /// per-lane values after it).
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
        let phase = |code: &[Instr], extra: &[u32]| {
            let mut cols = common.clone();
            cols.extend(extra);
            visit(code, &mut |i| columns_of(p, i, &mut cols));
            cols.sort_unstable();
            cols.dedup();
            let store = cols
                .iter()
                .filter_map(|&c| match p.columns[c as usize] {
                    Column::Var(k) => Some((c, k)),
                    _ => None,
                })
                .collect();
            PhasePlan {
                load: cols,
                store,
                marks: marks(p, code),
            }
        };
        let conc: Vec<u32> = p.conc_writes.iter().map(|&(c, _)| c).collect();
        let currents: Vec<u32> = p.currents.iter().map(|c| c.col).collect();
        Plans {
            init: phase(&p.initial, &conc),
            current: phase(&p.current, &currents),
            state: phase(&p.state, &conc),
            uses_scop,
            usetable,
        }
    }
}

/// The columns each top-level instruction of `code` may write, for the instructions other than
/// `Un`/`Bin` (whose destination is known); empty for those.
fn marks(p: &Program, code: &[Instr]) -> Vec<Vec<u32>> {
    code.iter()
        .map(|ins| match ins {
            Instr::Un { .. } | Instr::Bin { .. } => Vec::new(),
            _ => {
                let mut cols = Vec::new();
                visit(std::slice::from_ref(ins), &mut |i| columns_of(p, i, &mut cols));
                cols.sort_unstable();
                cols.dedup();
                cols
            }
        })
        .collect()
}
