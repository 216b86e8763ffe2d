//! NEURON 9.0.2's Newton iteration for `derivimplicit` (scopmath's `nrn_newton_thread`,
//! `buildjacobian`, `nrn_crout_thread`, `nrn_scopmath_solve_thread`), run for every lane of a
//! block at once: each lane iterates, rebuilds its Jacobian and converges on its own, the
//! lanes still iterating share the evaluations of the function (masked execution).
//!
//! Facts reproduced, operation by operation: the Jacobian by central differences with the
//! increment `max(|0.02·x|, 1e-6)` (the unknown moved up, down by twice the increment, back up,
//! the function evaluated after each move); it is rebuilt while the largest relative change of
//! an unknown exceeds 0.05; Crout's LU with implicit row equilibration and partial pivoting
//! (pivot below 1e-20: singular); convergence when the largest relative change (over unknowns
//! whose magnitude exceeds 1e-8) is at most 1e-6 and the largest residual at most 1e-8; at most
//! 50 iterations. Where NEURON stops the whole run (a singular Jacobian, no convergence in 50
//! iterations), a lane here stops iterating and keeps its last iterate.

use isf_nmodl::lower::Instr;

use super::{exec, Ctx, LANES};

const ROUNDOFF: f64 = 1.0e-20;
const ZERO: f64 = 1.0e-8;
const STEP: f64 = 1.0e-6;
const CONVERGE: f64 = 1.0e-6;
const MAXCHANGE: f64 = 0.05;
const MAXITERS: usize = 50;

/// Crout factorisation of the `n`×`n` matrix `a` (row-major) in place; `false` when singular.
pub(super) fn crout(n: usize, a: &mut [f64], perm: &mut [usize], rowmax: &mut [f64]) -> bool {
    for i in 0..n {
        perm[i] = i;
        let mut k = 0;
        for j in 1..n {
            if a[i * n + j].abs() > a[i * n + k].abs() {
                k = j;
            }
        }
        rowmax[i] = a[i * n + k];
    }
    let mut save_i = 0;
    for r in 0..n {
        for i in r..n {
            let mut sum = 0.0;
            let irow = perm[i];
            for k in 0..r {
                let krow = perm[k];
                sum += a[irow * n + k] * a[krow * n + r];
            }
            a[irow * n + r] -= sum;
        }
        let mut pivot = perm[r];
        let mut equil_1 = (a[pivot * n + r] / rowmax[pivot]).abs();
        for (i, &irow) in perm.iter().enumerate().take(n).skip(r + 1) {
            let equil_2 = (a[irow * n + r] / rowmax[irow]).abs();
            if equil_2 > equil_1 {
                pivot = irow;
                save_i = i;
                equil_1 = equil_2;
            }
        }
        if pivot != perm[r] {
            perm[save_i] = perm[r];
            perm[r] = pivot;
        }
        if a[pivot * n + r].abs() < ROUNDOFF {
            return false;
        }
        for j in r + 1..n {
            let mut sum = 0.0;
            for k in 0..r {
                let krow = perm[k];
                sum += a[pivot * n + k] * a[krow * n + j];
            }
            a[pivot * n + j] = (a[pivot * n + j] - sum) / a[pivot * n + r];
        }
    }
    true
}

/// Forward and back substitution with the factors of [`crout`]: `p` solves `a·p = b`.
pub(super) fn substitute(n: usize, a: &[f64], b: &[f64], perm: &[usize], p: &mut [f64]) {
    for i in 0..n {
        let pivot = perm[i];
        let mut sum = 0.0;
        for j in 0..i {
            sum += a[pivot * n + j] * p[j];
        }
        p[i] = (b[pivot] - sum) / a[pivot * n + i];
    }
    for i in (0..n).rev() {
        let pivot = perm[i];
        let mut sum = 0.0;
        for j in i + 1..n {
            sum += a[pivot * n + j] * p[j];
        }
        p[i] -= sum;
    }
}

/// Runs the Newton iteration on the lanes of `mask` (see the module documentation).
pub(super) fn solve(
    unknowns: &[u32],
    residuals: &[u32],
    function: &[Instr],
    w: &mut [f64],
    mask: &[bool; LANES],
    nl: usize,
    cx: &mut Ctx,
) {
    let n = unknowns.len();
    let at = |c: u32, l: usize| c as usize * LANES + l;
    let mut active = [false; LANES];
    active[..nl].copy_from_slice(&mask[..nl]);
    let mut change = [1.0f64; LANES];
    let mut jac = vec![0.0; LANES * n * n];
    let mut perm = vec![0usize; LANES * n];
    let mut value = vec![0.0; LANES * n];
    let mut high = vec![0.0; LANES * n];
    let mut rowmax = vec![0.0; n];
    let mut dx = vec![0.0; n];
    let mut inc = [0.0f64; LANES];
    let any = |m: &[bool; LANES]| m[..nl].iter().any(|&x| x);
    let mut count = 0;
    while count < MAXITERS && any(&active) {
        count += 1;
        let mut rebuild = [false; LANES];
        for l in 0..nl {
            rebuild[l] = active[l] && change[l] > MAXCHANGE;
        }
        if any(&rebuild) {
            for (j, &xj) in unknowns.iter().enumerate() {
                for l in (0..nl).filter(|&l| rebuild[l]) {
                    inc[l] = (0.02 * w[at(xj, l)]).abs().max(STEP);
                    w[at(xj, l)] += inc[l];
                }
                exec(function, w, &rebuild, nl, cx);
                for l in (0..nl).filter(|&l| rebuild[l]) {
                    for (i, &r) in residuals.iter().enumerate() {
                        high[l * n + i] = w[at(r, l)];
                    }
                    w[at(xj, l)] -= 2.0 * inc[l];
                }
                exec(function, w, &rebuild, nl, cx);
                for l in (0..nl).filter(|&l| rebuild[l]) {
                    for (i, &r) in residuals.iter().enumerate() {
                        let low = w[at(r, l)];
                        jac[l * n * n + i * n + j] = (high[l * n + i] - low) / (2.0 * inc[l]);
                    }
                    w[at(xj, l)] += inc[l];
                }
                exec(function, w, &rebuild, nl, cx);
            }
            for l in (0..nl).filter(|&l| rebuild[l]) {
                for (i, &r) in residuals.iter().enumerate() {
                    value[l * n + i] = -w[at(r, l)];
                }
            }
            for l in 0..nl {
                if !rebuild[l] {
                    continue;
                }
                let a = &mut jac[l * n * n..][..n * n];
                if !crout(n, a, &mut perm[l * n..][..n], &mut rowmax) {
                    active[l] = false;
                }
            }
        }
        for l in (0..nl).filter(|&l| active[l]) {
            substitute(
                n,
                &jac[l * n * n..][..n * n],
                &value[l * n..][..n],
                &perm[l * n..][..n],
                &mut dx,
            );
            let mut ch = 0.0;
            for (i, &xi) in unknowns.iter().enumerate() {
                let x = w[at(xi, l)];
                if x.abs() > ZERO {
                    let temp = (dx[i] / x).abs();
                    if temp > ch {
                        ch = temp;
                    }
                }
                w[at(xi, l)] = x + dx[i];
            }
            change[l] = ch;
        }
        if !any(&active) {
            break;
        }
        exec(function, w, &active, nl, cx);
        for l in 0..nl {
            if !active[l] {
                continue;
            }
            let mut max_dev = 0.0;
            for (i, &r) in residuals.iter().enumerate() {
                let v = -w[at(r, l)];
                value[l * n + i] = v;
                if v.abs() > max_dev {
                    max_dev = v.abs();
                }
            }
            if change[l] <= CONVERGE && max_dev <= ZERO {
                active[l] = false;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The factorisation and substitution solve a system that needs a row interchange.
    #[test]
    fn crout_solves_with_pivoting() {
        let a0 = [1e-3, 2.0, 1.0, 3.0, 1.0, 0.0, 1.0, 1.0, 4.0];
        let x = [1.0, -2.0, 0.5];
        let mut b = [0.0; 3];
        for i in 0..3 {
            for j in 0..3 {
                b[i] += a0[i * 3 + j] * x[j];
            }
        }
        let mut a = a0;
        let (mut perm, mut rowmax, mut p) = ([0; 3], [0.0; 3], [0.0; 3]);
        assert!(crout(3, &mut a, &mut perm, &mut rowmax));
        assert_ne!(perm, [0, 1, 2], "a pivot was exchanged");
        substitute(3, &a, &b, &perm, &mut p);
        for i in 0..3 {
            assert!((p[i] - x[i]).abs() < 1e-12, "{p:?}");
        }
        let mut singular = [1.0, 2.0, 2.0, 4.0];
        assert!(!crout(2, &mut singular, &mut [0; 2], &mut [0.0; 2]));
    }
}
