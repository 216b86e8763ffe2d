//! The per-node loops of a batched model ([`super::CellModel::batched`]): node `i` of lane `l`
//! at `i·W + l`, so each node's lanes are one contiguous run of `W` values and the loops run
//! over nodes with a `W`-wide inner loop. Every lane performs the operations of the one-trial
//! loops in `simulation.rs` on its own values in the same order, so its bits are those of a
//! trial run alone; what changes is that the `W` Hines eliminations are independent and run in
//! the vector lanes instead of as one chain of divisions.

use crate::mechanisms::exp::{dispatch, LaneKernel};

/// Arrays of the fast-numerics assembly of the axial and capacitive terms (`d_const`, `a`, `b`:
/// one lane's, which all lanes share).
pub(super) struct Assemble<'a> {
    pub lanes: usize,
    pub up: &'a [usize],
    pub v: &'a [f64],
    pub dv: &'a mut [f64],
    pub rhs: &'a mut [f64],
    pub d: &'a mut [f64],
    pub d_const: &'a [f64],
    pub a: &'a [f64],
    pub b: &'a [f64],
    pub currents: [&'a mut [f64]; 3],
}

/// Arrays of the Hines elimination and back substitution (`a`, `b`: one lane's).
pub(super) struct Solve<'a> {
    pub lanes: usize,
    pub fast: bool,
    pub parent: &'a [usize],
    pub elim: &'a [usize],
    pub rhs: &'a mut [f64],
    pub d: &'a mut [f64],
    pub a: &'a [f64],
    pub b: &'a [f64],
}

/// `W` values of node `i`.
#[inline(always)]
fn run<const W: usize>(x: &[f64], i: usize) -> &[f64; W] {
    x[i * W..i * W + W].try_into().expect("W values")
}

#[inline(always)]
fn run_mut<const W: usize>(x: &mut [f64], i: usize) -> &mut [f64; W] {
    (&mut x[i * W..i * W + W]).try_into().expect("W values")
}

impl LaneKernel for Assemble<'_> {
    fn width(&self) -> usize {
        self.lanes
    }
    // The loops read each run into local arrays and store them back: locals cannot alias the
    // other arrays, so the compiler vectorises the lane loops (on slices of one function it
    // cannot prove that, and kept them scalar).
    #[inline(always)]
    fn go<const W: usize>(self) {
        let [ina, ik, ica] = self.currents;
        for (i, &u) in self.up.iter().enumerate() {
            // `u.min(i)` is `u`: a parent precedes its node (checked when the model is built).
            let u = u.min(i);
            let (vu, vi) = (*run::<W>(self.v, u), *run::<W>(self.v, i));
            let (b, dc) = ([self.b[i]; W], [self.d_const[i]; W]);
            let (mut dv, mut rhs) = ([0.0; W], [0.0; W]);
            for l in 0..W {
                let x = vu[l] - vi[l];
                dv[l] = x;
                rhs[l] = -(b[l] * x);
            }
            *run_mut::<W>(self.dv, i) = dv;
            *run_mut::<W>(self.rhs, i) = rhs;
            *run_mut::<W>(self.d, i) = dc;
            *run_mut::<W>(ina, i) = [0.0; W];
            *run_mut::<W>(ik, i) = [0.0; W];
            *run_mut::<W>(ica, i) = [0.0; W];
        }
        for (i, &u) in self.up.iter().enumerate() {
            let u = u.min(i);
            let (a, dv) = ([self.a[i]; W], *run::<W>(self.dv, i));
            let mut rhs = *run::<W>(self.rhs, u);
            for l in 0..W {
                rhs[l] += a[l] * dv[l];
            }
            *run_mut::<W>(self.rhs, u) = rhs;
        }
    }
}

impl Assemble<'_> {
    /// Runs with the widest vector unit the CPU has.
    pub fn exec(self) {
        dispatch(self)
    }
}

impl LaneKernel for Solve<'_> {
    fn width(&self) -> usize {
        self.lanes
    }
    // Local arrays, as in `Assemble::go`, so that the lane loops vectorise.
    #[inline(always)]
    fn go<const W: usize>(self) {
        let (rhs, d, a, b) = (self.rhs, self.d, self.a, self.b);
        for &i in self.elim {
            let p = self.parent[i];
            let (ai, bi, ri) = ([a[i]; W], [b[i]; W], *run::<W>(rhs, i));
            let (mut di, mut dp, mut rp) = (*run::<W>(d, i), *run::<W>(d, p), *run::<W>(rhs, p));
            if self.fast {
                for l in 0..W {
                    let inv = 1.0 / di[l];
                    di[l] = inv;
                    let f = ai[l] * inv;
                    dp[l] -= f * bi[l];
                    rp[l] -= f * ri[l];
                }
                *run_mut::<W>(d, i) = di;
            } else {
                for l in 0..W {
                    let f = ai[l] / di[l];
                    dp[l] -= f * bi[l];
                    rp[l] -= f * ri[l];
                }
            }
            *run_mut::<W>(d, p) = dp;
            *run_mut::<W>(rhs, p) = rp;
        }
        for (i, &p) in self.parent.iter().enumerate() {
            if p == usize::MAX {
                let di = *run::<W>(d, i);
                let mut ri = *run::<W>(rhs, i);
                for l in 0..W {
                    ri[l] /= di[l];
                }
                *run_mut::<W>(rhs, i) = ri;
            }
        }
        for &i in self.elim.iter().rev() {
            let p = self.parent[i];
            let (bi, di, rp) = ([b[i]; W], *run::<W>(d, i), *run::<W>(rhs, p));
            let mut ri = *run::<W>(rhs, i);
            if self.fast {
                for l in 0..W {
                    ri[l] = (ri[l] - bi[l] * rp[l]) * di[l];
                }
            } else {
                for l in 0..W {
                    ri[l] -= bi[l] * rp[l];
                    ri[l] /= di[l];
                }
            }
            *run_mut::<W>(rhs, i) = ri;
        }
    }
}

impl Solve<'_> {
    /// Runs with the widest vector unit the CPU has.
    pub fn exec(self) {
        dispatch(self)
    }
}

/// Whether these loops serve a model of `lanes` lanes (other widths take the one-trial loops,
/// which treat the lanes as one forest: the same bits, without the lane-wide loops).
pub(super) fn serves(lanes: usize) -> bool {
    matches!(lanes, 2 | 4 | 8 | 16)
}
