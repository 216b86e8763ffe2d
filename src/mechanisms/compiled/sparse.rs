//! NEURON 9.0.2's solver of KINETIC blocks (scopmath `sparse_thread` and
//! `_ss_sparse_thread`), run for every lane of a block at once; the lanes still iterating share
//! the evaluations of the block's function (masked execution).
//!
//! Facts reproduced: the states at the start of the step are saved; each round evaluates the
//! function (right-hand side and matrix of the linearised implicit Euler step), solves for the
//! change `Δ`, adds it to the states and, unless the round is a linear one, sets negative
//! states to 0; a linear scheme takes one round, a non-linear one iterates until `Σ|Δ|` ≤ 1e-6
//! (NEURON fails after the 22nd round; a lane here stops and keeps its iterate). STEADYSTATE
//! (`dt` = 1e9, set by the caller): a linear scheme iterates as a non-linear one does; a
//! non-linear scheme takes up to 7 single rounds, after each of which states below −1e-6 are
//! set to 0, and once a round leaves none there, iterates to convergence.
//!
//! The linear system is solved with the dense Crout factorisation of `newton` (partial
//! pivoting with row equilibration), not with NEURON's sparse elimination order: the result is
//! NEURON's up to round-off.

use isf_nmodl::lower::Instr;

use super::newton::{crout, substitute};
use super::{exec, Ctx, LANES};

const CONVERGE: f64 = 1.0e-6;
const MAXSTEPS: usize = 20;
const STEADY_ROUNDS: usize = 7;

/// The columns and function of one [`Instr::Sparse`].
pub(super) struct Scheme<'a> {
    pub unknowns: &'a [u32],
    pub saved: &'a [u32],
    pub rhs: &'a [u32],
    pub matrix: &'a [u32],
    pub function: &'a [Instr],
}

const fn at(c: u32, l: usize) -> usize {
    c as usize * LANES + l
}

/// One call of NEURON's `sparse_thread` on the lanes of `lanes`; `single` is its `linflag`
/// (one round, no clamping). Returns the lanes that failed (singular, too many rounds).
fn thread(
    s: &Scheme,
    single: bool,
    lanes: &[bool; LANES],
    w: &mut [f64],
    nl: usize,
    cx: &mut Ctx,
) -> [bool; LANES] {
    let n = s.unknowns.len();
    let mut failed = [false; LANES];
    for l in (0..nl).filter(|&l| lanes[l]) {
        for (&x, &d) in s.unknowns.iter().zip(s.saved) {
            w[at(d, l)] = w[at(x, l)];
        }
    }
    let mut active = *lanes;
    let (mut a, mut b, mut dx) = (vec![0.0; n * n], vec![0.0; n], vec![0.0; n]);
    let (mut perm, mut rowmax) = (vec![0usize; n], vec![0.0; n]);
    let mut j = 0;
    while active[..nl].iter().any(|&x| x) {
        exec(s.function, w, &active, nl, cx);
        for l in 0..nl {
            if !active[l] {
                continue;
            }
            for (e, &c) in a.iter_mut().zip(s.matrix) {
                *e = w[at(c, l)];
            }
            for (e, &c) in b.iter_mut().zip(s.rhs) {
                *e = w[at(c, l)];
            }
            if !crout(n, &mut a, &mut perm, &mut rowmax) {
                failed[l] = true;
                active[l] = false;
                continue;
            }
            substitute(n, &a, &b, &perm, &mut dx);
            let mut err = 0.0;
            for (i, &x) in s.unknowns.iter().enumerate() {
                let v = &mut w[at(x, l)];
                *v += dx[i];
                if !single && *v < 0.0 {
                    *v = 0.0;
                }
                err += dx[i].abs();
            }
            if j > MAXSTEPS {
                failed[l] = true;
                active[l] = false;
            } else if single || err <= CONVERGE {
                active[l] = false;
            }
        }
        j += 1;
    }
    failed
}

/// Runs [`Instr::Sparse`] on the lanes of `mask` (see the module documentation).
pub(super) fn solve(
    s: &Scheme,
    linear: bool,
    steady: bool,
    w: &mut [f64],
    mask: &[bool; LANES],
    nl: usize,
    cx: &mut Ctx,
) {
    if !steady {
        thread(s, linear, mask, w, nl, cx);
        return;
    }
    if linear {
        thread(s, false, mask, w, nl, cx);
        return;
    }
    let mut pending = *mask;
    for _ in 0..STEADY_ROUNDS {
        if !pending[..nl].iter().any(|&x| x) {
            break;
        }
        let failed = thread(s, true, &pending, w, nl, cx);
        let mut settled = [false; LANES];
        for l in 0..nl {
            if !pending[l] {
                continue;
            }
            if failed[l] {
                pending[l] = false;
                continue;
            }
            let mut ok = true;
            for &x in s.unknowns {
                if w[at(x, l)] < -1e-6 {
                    w[at(x, l)] = 0.0;
                    ok = false;
                }
            }
            if ok {
                settled[l] = true;
                pending[l] = false;
            }
        }
        if settled[..nl].iter().any(|&x| x) {
            thread(s, false, &settled, w, nl, cx);
        }
    }
}
