//! The lane loops of the compiled mechanisms' arithmetic instructions, compiled once per
//! instruction set and chosen at run time.
//!
//! An instruction computes one operation for the lanes of a block (columns of [`LANES`] values).
//! Its loop runs inside a function compiled for the widest vector unit the CPU has (AVX-512,
//! AVX2 + FMA, or the baseline), so that it vectorises and `exp` is the engine's inlined
//! [`TableFmaExp`] (the C library's bits, see [`super::super::exp`]) instead of a call per lane.
//! Every instruction set gives the same bits: the operations are IEEE operations in the program's
//! order, never contracted into fused multiply-adds, and both `exp` implementations return
//! glibc's value.
//!
//! Operands are raw column pointers because a destination may be one of the operands (an
//! in-place update): the loops read such an operand through the destination and every other
//! operand through a slice disjoint from it, so they need no run-time aliasing checks.

use isf_nmodl::lower::{Op1, Op2};

use super::LANES;
use crate::mechanisms::exp::{hoc_exp_above_m512, hoc_exp_with, Exp, LibmExp};
use crate::mechanisms::{libm_log, libm_pow};

pub use crate::mechanisms::exp::Isa;

/// An operand of a lane loop: a column (its first lane) or a constant.
#[derive(Clone, Copy)]
pub enum Operand {
    /// Column.
    Col(*const f64),
    /// Constant.
    K(f64),
}

/// `op(x)` for one value, as every lane computes it.
#[inline(always)]
pub fn un_scalar<E: Exp>(op: Op1, x: f64) -> f64 {
    match op {
        Op1::Copy => x,
        Op1::Neg => -x,
        Op1::Not => f64::from(u8::from(x == 0.0)),
        Op1::Exp => hoc_exp_with::<E>(x),
        Op1::Log => libm_log(x),
        Op1::Log10 => x.log10(),
        Op1::Sqrt => x.sqrt(),
        Op1::Fabs => x.abs(),
        Op1::Sin => x.sin(),
        Op1::Cos => x.cos(),
        Op1::Tan => x.tan(),
        Op1::Asin => x.asin(),
        Op1::Acos => x.acos(),
        Op1::Atan => x.atan(),
        Op1::Sinh => x.sinh(),
        Op1::Cosh => x.cosh(),
        Op1::Tanh => x.tanh(),
        Op1::Floor => x.floor(),
        Op1::Ceil => x.ceil(),
    }
}

/// `x op y` for one pair of values, as every lane computes it.
#[inline(always)]
pub fn bin_scalar(op: Op2, x: f64, y: f64) -> f64 {
    let t = |c: bool| f64::from(u8::from(c));
    match op {
        Op2::Add => x + y,
        Op2::Sub => x - y,
        Op2::Mul => x * y,
        Op2::Div => x / y,
        Op2::Pow => libm_pow(x, y),
        Op2::Gt => t(x > y),
        Op2::Ge => t(x >= y),
        Op2::Lt => t(x < y),
        Op2::Le => t(x <= y),
        Op2::Eq => t(x == y),
        Op2::Ne => t(x != y),
        Op2::And => t(x != 0.0 && y != 0.0),
        Op2::Or => t(x != 0.0 || y != 0.0),
        Op2::Atan2 => x.atan2(y),
        Op2::Fmod => x % y,
    }
}

/// Where the operands of a lane loop with one column besides the destination come from.
#[derive(Clone, Copy)]
enum Shape1 {
    /// `f(d, x)`: the destination is the left operand.
    DX,
    /// `f(x, d)`: the destination is the right operand.
    XD,
    /// `f(x, k)`.
    XK(f64),
    /// `f(k, x)`.
    KX(f64),
}

/// Where the operands of a lane loop reading only the destination come from.
#[derive(Clone, Copy)]
enum Shape0 {
    /// `f(d, d)` (one-operand operations: `f(d)`).
    DD,
    /// `f(d, k)`.
    DK(f64),
    /// `f(k, d)`.
    KD(f64),
    /// A constant for every lane.
    K(f64),
}

/// `dst[l] = op(a[l])` for the first `n` lanes (those of `mask`, when given).
///
/// # Safety
/// `dst` and a column operand point to columns of at least `n` values (in the block or in the
/// trial's arrays);
/// columns are either the same or disjoint.
pub unsafe fn un(
    isa: Isa,
    op: Op1,
    dst: *mut f64,
    a: Operand,
    mask: Option<&[bool; LANES]>,
    n: usize,
) {
    let n = n.min(LANES);
    let d = std::slice::from_raw_parts_mut(dst, n);
    match a {
        Operand::Col(p) if std::ptr::eq(p, dst) => un0(isa, op, d, Shape0::DD, mask),
        Operand::Col(p) => un1(isa, op, d, std::slice::from_raw_parts(p, n), mask),
        Operand::K(x) => {
            let r = un_scalar::<LibmExp>(op, x);
            bin0(isa, Op2::Add, d, Shape0::K(r), mask)
        }
    }
}

/// `dst[l] = a[l] op b[l]` for the first `n` lanes (those of `mask`, when given).
///
/// # Safety
/// As [`un`].
pub unsafe fn bin(
    isa: Isa,
    op: Op2,
    dst: *mut f64,
    a: Operand,
    b: Operand,
    mask: Option<&[bool; LANES]>,
    n: usize,
) {
    use Operand::{Col, K};
    let n = n.min(LANES);
    let d = std::slice::from_raw_parts_mut(dst, n);
    let col = |p: *const f64| std::slice::from_raw_parts(p, n);
    let is_d = |p: *const f64| std::ptr::eq(p, dst);
    match (a, b) {
        (Col(pa), Col(pb)) => match (is_d(pa), is_d(pb)) {
            (true, true) => bin0(isa, op, d, Shape0::DD, mask),
            (true, false) => bin1(isa, op, d, col(pb), Shape1::DX, mask),
            (false, true) => bin1(isa, op, d, col(pa), Shape1::XD, mask),
            (false, false) => bin2(isa, op, d, col(pa), col(pb), mask),
        },
        (Col(pa), K(y)) if is_d(pa) => bin0(isa, op, d, Shape0::DK(y), mask),
        (Col(pa), K(y)) => bin1(isa, op, d, col(pa), Shape1::XK(y), mask),
        (K(x), Col(pb)) if is_d(pb) => bin0(isa, op, d, Shape0::KD(x), mask),
        (K(x), Col(pb)) => bin1(isa, op, d, col(pb), Shape1::KX(x), mask),
        (K(x), K(y)) => bin0(isa, Op2::Add, d, Shape0::K(bin_scalar(op, x, y)), mask),
    }
}

// The lane loops take their columns as slice parameters of non-inlined functions compiled for
// the instruction set: the `noalias` of distinct parameters lets them vectorise without run-time
// overlap checks, which slices made from raw pointers inside one function would not. A
// destination that is also an operand is read through the destination itself.
macro_rules! per_isa {
    ($name:ident, $imp:ident, ($($arg:ident: $ty:ty),*)) => {
        #[inline]
        fn $name(isa: Isa, $($arg: $ty),*) {
            #[cfg(target_arch = "x86_64")]
            {
                #[target_feature(enable = "avx2,fma")]
                unsafe fn avx2($($arg: $ty),*) {
                    $imp::<crate::mechanisms::exp::TableFmaExp>($($arg),*)
                }
                #[target_feature(enable = "avx512f,avx512dq,avx512vl,avx2,fma")]
                unsafe fn avx512($($arg: $ty),*) {
                    $imp::<crate::mechanisms::exp::TableFmaExp>($($arg),*)
                }
                match isa {
                    // SAFETY: `Isa::detect` chose these only where the CPU has the features.
                    Isa::Avx2 => return unsafe { avx2($($arg),*) },
                    Isa::Avx512 => return unsafe { avx512($($arg),*) },
                    Isa::Base => {}
                }
            }
            let _ = isa;
            $imp::<LibmExp>($($arg),*)
        }
    };
}

per_isa!(un0, un0_impl, (op: Op1, d: &mut [f64], s: Shape0, m: Option<&[bool; LANES]>));
per_isa!(un1, un1_impl, (op: Op1, d: &mut [f64], a: &[f64], m: Option<&[bool; LANES]>));
per_isa!(bin0, bin0_impl, (op: Op2, d: &mut [f64], s: Shape0, m: Option<&[bool; LANES]>));
per_isa!(bin1, bin1_impl, (op: Op2, d: &mut [f64], x: &[f64], s: Shape1, m: Option<&[bool; LANES]>));
per_isa!(bin2, bin2_impl, (op: Op2, d: &mut [f64], a: &[f64], b: &[f64], m: Option<&[bool; LANES]>));

/// `d[l] = f(d[l])` on the lanes of `m` (all when `None`).
#[inline(always)]
fn zip0(d: &mut [f64], m: Option<&[bool; LANES]>, f: impl Fn(f64) -> f64) {
    match m {
        None => d.iter_mut().for_each(|d| *d = f(*d)),
        Some(m) => {
            for (d, &m) in d.iter_mut().zip(m) {
                let r = f(*d);
                *d = if m { r } else { *d };
            }
        }
    }
}

/// `d[l] = f(d[l], a[l])` on the lanes of `m` (all when `None`).
#[inline(always)]
fn zip1(d: &mut [f64], a: &[f64], m: Option<&[bool; LANES]>, f: impl Fn(f64, f64) -> f64) {
    match m {
        None => {
            for (d, &x) in d.iter_mut().zip(a) {
                *d = f(*d, x);
            }
        }
        Some(m) => {
            for ((d, &x), &m) in d.iter_mut().zip(a).zip(m) {
                let r = f(*d, x);
                *d = if m { r } else { *d };
            }
        }
    }
}

/// `d[l] = f(a[l], b[l])` on the lanes of `m` (all when `None`).
#[inline(always)]
fn zip2(
    d: &mut [f64],
    a: &[f64],
    b: &[f64],
    m: Option<&[bool; LANES]>,
    f: impl Fn(f64, f64) -> f64,
) {
    match m {
        None => {
            for ((d, &x), &y) in d.iter_mut().zip(a).zip(b) {
                *d = f(x, y);
            }
        }
        Some(m) => {
            for (((d, &x), &y), &m) in d.iter_mut().zip(a).zip(b).zip(m) {
                let r = f(x, y);
                *d = if m { r } else { *d };
            }
        }
    }
}

/// Calls `$body!(f)` with `f` the lane function of a one-operand operation.
macro_rules! with_un {
    ($op:expr, $E:ty, $body:ident) => {
        match $op {
            Op1::Copy => $body!(|x: f64| x),
            Op1::Neg => $body!(|x: f64| -x),
            other => $body!(|x: f64| un_scalar::<$E>(other, x)),
        }
    };
}

/// Calls `$body!(f)` with `f` the lane function of a two-operand operation.
macro_rules! with_bin {
    ($op:expr, $body:ident) => {{
        let t = |c: bool| f64::from(u8::from(c));
        match $op {
            Op2::Add => $body!(|x: f64, y: f64| x + y),
            Op2::Sub => $body!(|x: f64, y: f64| x - y),
            Op2::Mul => $body!(|x: f64, y: f64| x * y),
            Op2::Div => $body!(|x: f64, y: f64| x / y),
            Op2::Pow => $body!(libm_pow),
            Op2::Gt => $body!(|x: f64, y: f64| t(x > y)),
            Op2::Ge => $body!(|x: f64, y: f64| t(x >= y)),
            Op2::Lt => $body!(|x: f64, y: f64| t(x < y)),
            Op2::Le => $body!(|x: f64, y: f64| t(x <= y)),
            Op2::Eq => $body!(|x: f64, y: f64| t(x == y)),
            Op2::Ne => $body!(|x: f64, y: f64| t(x != y)),
            other => $body!(|x: f64, y: f64| bin_scalar(other, x, y)),
        }
    }};
}

#[inline(always)]
fn un0_impl<E: Exp>(op: Op1, d: &mut [f64], _s: Shape0, m: Option<&[bool; LANES]>) {
    if op == Op1::Exp && m.is_none() {
        return exp_lanes::<E>(d, None);
    }
    macro_rules! go {
        ($f:expr) => {
            zip0(d, m, $f)
        };
    }
    with_un!(op, E, go)
}

#[inline(always)]
fn un1_impl<E: Exp>(op: Op1, d: &mut [f64], a: &[f64], m: Option<&[bool; LANES]>) {
    if op == Op1::Exp && m.is_none() {
        return exp_lanes::<E>(d, Some(a));
    }
    macro_rules! go {
        ($f:expr) => {{
            let f = $f;
            zip1(d, a, m, |_, x| f(x))
        }};
    }
    with_un!(op, E, go)
}

// `E` unused: every `*_impl` has the signature `per_isa!` instantiates.
#[allow(clippy::extra_unused_type_parameters)]
#[inline(always)]
fn bin0_impl<E: Exp>(op: Op2, d: &mut [f64], s: Shape0, m: Option<&[bool; LANES]>) {
    macro_rules! go {
        ($f:expr) => {{
            let f = $f;
            match s {
                Shape0::DD => zip0(d, m, |x| f(x, x)),
                Shape0::DK(k) => zip0(d, m, |x| f(x, k)),
                Shape0::KD(k) => zip0(d, m, |x| f(k, x)),
                Shape0::K(k) => zip0(d, m, |_| k),
            }
        }};
    }
    match s {
        Shape0::K(k) => zip0(d, m, |_| k),
        _ => with_bin!(op, go),
    }
}

// `E` unused: every `*_impl` has the signature `per_isa!` instantiates.
#[allow(clippy::extra_unused_type_parameters)]
#[inline(always)]
fn bin1_impl<E: Exp>(op: Op2, d: &mut [f64], x: &[f64], s: Shape1, m: Option<&[bool; LANES]>) {
    macro_rules! go {
        ($f:expr) => {{
            let f = $f;
            match s {
                Shape1::DX => zip1(d, x, m, |c, x| f(c, x)),
                Shape1::XD => zip1(d, x, m, |c, x| f(x, c)),
                Shape1::XK(k) => zip1(d, x, m, |_, x| f(x, k)),
                Shape1::KX(k) => zip1(d, x, m, |_, x| f(k, x)),
            }
        }};
    }
    with_bin!(op, go)
}

// `E` unused: every `*_impl` has the signature `per_isa!` instantiates.
#[allow(clippy::extra_unused_type_parameters)]
#[inline(always)]
fn bin2_impl<E: Exp>(op: Op2, d: &mut [f64], a: &[f64], b: &[f64], m: Option<&[bool; LANES]>) {
    macro_rules! go {
        ($f:expr) => {
            zip2(d, a, b, m, $f)
        };
    }
    with_bin!(op, go)
}

/// `d[l] = hoc_exp(a[l])` (of `d[l]` itself without `a`) for every lane; the cheaper form of
/// the exponential where no argument is at or below −512 (as the hand-written kernels do; the
/// same bits).
#[inline(always)]
fn exp_lanes<E: Exp>(d: &mut [f64], a: Option<&[f64]>) {
    let src: &[f64] = a.unwrap_or(d);
    let low = src.iter().fold(false, |low, &x| low | (x <= -512.0));
    match (a, low) {
        (None, false) => zip0(d, None, hoc_exp_above_m512::<E>),
        (None, true) => zip0(d, None, hoc_exp_with::<E>),
        (Some(a), false) => zip1(d, a, None, |_, x| hoc_exp_above_m512::<E>(x)),
        (Some(a), true) => zip1(d, a, None, |_, x| hoc_exp_with::<E>(x)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Operands over the ranges the mechanisms see (and the exponential's edges), with some
    /// lanes equal to the destination's own column.
    fn operands() -> Vec<f64> {
        let mut s: u64 = 0x2545f4914f6cdd1d;
        (0..LANES)
            .map(|l| {
                s ^= s << 13;
                s ^= s >> 7;
                s ^= s << 17;
                let u = (s >> 11) as f64 / (1u64 << 53) as f64;
                match l % 8 {
                    0 => -720.0 + 1440.0 * u,
                    1 => -600.0 + 100.0 * u,
                    2 => 1e-6 * u,
                    3 => -0.0,
                    _ => -100.0 + 150.0 * u,
                }
            })
            .collect()
    }

    /// Every instruction set the CPU has gives the baseline's bits, for every operation, operand
    /// shape (column, constant, the destination itself) and with a mask.
    #[test]
    fn every_instruction_set_gives_the_same_bits() {
        let mut isas = vec![Isa::Base];
        #[cfg(target_arch = "x86_64")]
        if crate::mechanisms::exp::simd_available() {
            isas.push(Isa::Avx2);
            if std::arch::is_x86_feature_detected!("avx512f")
                && std::arch::is_x86_feature_detected!("avx512dq")
                && std::arch::is_x86_feature_detected!("avx512vl")
            {
                isas.push(Isa::Avx512);
            }
        }
        let a = operands();
        let b: Vec<f64> = operands().iter().rev().map(|x| x * 0.37 + 1.0).collect();
        let mut mask = [false; LANES];
        for (l, m) in mask.iter_mut().enumerate() {
            *m = l % 3 != 0;
        }
        let un_ops = [
            Op1::Copy,
            Op1::Neg,
            Op1::Exp,
            Op1::Fabs,
            Op1::Sqrt,
            Op1::Log,
            Op1::Not,
        ];
        let bin_ops = [
            Op2::Add,
            Op2::Sub,
            Op2::Mul,
            Op2::Div,
            Op2::Pow,
            Op2::Lt,
            Op2::Eq,
            Op2::And,
        ];
        let n = LANES - 3;
        // (a, b, masked) per case; `None` operand: the destination itself.
        let run = |isa: Isa, case: usize, masked: bool| -> Vec<u64> {
            let mut out = Vec::new();
            let m = masked.then_some(&mask);
            for &op in &un_ops {
                for shape in 0..3 {
                    let mut d = b.clone();
                    let src = a.clone();
                    let o = match shape {
                        0 => Operand::Col(src.as_ptr()),
                        1 => Operand::K(a[case]),
                        _ => Operand::Col(d.as_ptr()),
                    };
                    // SAFETY: columns of LANES values, equal or disjoint.
                    unsafe { un(isa, op, d.as_mut_ptr(), o, m, n) };
                    out.extend(d.iter().map(|x| x.to_bits()));
                }
            }
            for &op in &bin_ops {
                for shape in 0..6 {
                    let mut d = a.clone();
                    let (x, y) = (b.clone(), a.iter().map(|v| v * 0.5).collect::<Vec<_>>());
                    let dp = d.as_mut_ptr();
                    let (oa, ob) = match shape {
                        0 => (Operand::Col(x.as_ptr()), Operand::Col(y.as_ptr())),
                        1 => (Operand::Col(dp), Operand::Col(y.as_ptr())),
                        2 => (Operand::Col(x.as_ptr()), Operand::Col(dp)),
                        3 => (Operand::Col(dp), Operand::Col(dp)),
                        4 => (Operand::Col(x.as_ptr()), Operand::K(b[case])),
                        _ => (Operand::K(a[case]), Operand::Col(dp)),
                    };
                    // SAFETY: as above.
                    unsafe { bin(isa, op, dp, oa, ob, m, n) };
                    out.extend(d.iter().map(|x| x.to_bits()));
                }
            }
            out
        };
        for case in [0, 5, 17] {
            for masked in [false, true] {
                let base = run(Isa::Base, case, masked);
                for &isa in &isas[1..] {
                    assert!(
                        run(isa, case, masked) == base,
                        "{isa:?} differs from the baseline (case {case}, masked {masked})"
                    );
                }
            }
        }
    }
}
