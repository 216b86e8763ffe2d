//! A reference evaluator of NMODL expressions with NEURON's semantics, operation by operation in
//! the tree's order (what `Numerics::Exact` kernels must reproduce), for tests and for constant
//! folding in the code generator.

use crate::ast::{Arg, BinOp, Expr, ExprKind, UnOp};

/// Why an expression could not be evaluated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EvalError {
    /// A name the lookup did not know.
    Unknown(String),
    /// A function this evaluator does not implement (user functions, events, random numbers).
    Function(String),
    /// Wrong number of arguments or a string argument.
    Arguments(String),
}

impl std::fmt::Display for EvalError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            EvalError::Unknown(n) => write!(f, "unknown name `{n}`"),
            EvalError::Function(n) => write!(f, "function `{n}` cannot be evaluated here"),
            EvalError::Arguments(n) => write!(f, "bad arguments to `{n}`"),
        }
    }
}

/// NEURON's `hoc_Exp`: `exp` with the argument clamped to ±700 (below −700: exactly 0).
pub fn hoc_exp(x: f64) -> f64 {
    if x < -700.0 {
        0.0
    } else {
        x.min(700.0).exp()
    }
}

/// Evaluates `e`; `lookup` gives the value of a name (`a[i]` is looked up as `a[i]` with `i` the
/// evaluated index).
pub fn eval(e: &Expr, lookup: &dyn Fn(&str) -> Option<f64>) -> Result<f64, EvalError> {
    Ok(match &e.kind {
        ExprKind::Number(n, _) => n.value,
        ExprKind::Var(v) => lookup(&v.name).ok_or_else(|| EvalError::Unknown(v.name.clone()))?,
        ExprKind::Prime(v, _) => {
            let n = format!("{}'", v.name);
            lookup(&n).ok_or(EvalError::Unknown(n))?
        }
        ExprKind::Index(v, i) => {
            let k = eval(i, lookup)? as i64;
            let n = format!("{}[{k}]", v.name);
            lookup(&n).ok_or(EvalError::Unknown(n))?
        }
        ExprKind::Paren(x) => eval(x, lookup)?,
        ExprKind::Unary(UnOp::Neg, x) => -eval(x, lookup)?,
        ExprKind::Unary(UnOp::Not, x) => f64::from(u8::from(eval(x, lookup)? == 0.0)),
        ExprKind::Binary(op, a, b) => {
            let x = eval(a, lookup)?;
            // `&&` and `||` short-circuit as in C.
            match op {
                BinOp::And if x == 0.0 => return Ok(0.0),
                BinOp::Or if x != 0.0 => return Ok(1.0),
                _ => {}
            }
            let y = eval(b, lookup)?;
            let t = |c: bool| f64::from(u8::from(c));
            match op {
                BinOp::Add => x + y,
                BinOp::Sub => x - y,
                BinOp::Mul => x * y,
                BinOp::Div => x / y,
                BinOp::Pow => x.powf(y),
                BinOp::Gt => t(x > y),
                BinOp::Ge => t(x >= y),
                BinOp::Lt => t(x < y),
                BinOp::Le => t(x <= y),
                BinOp::Eq => t(x == y),
                BinOp::Ne => t(x != y),
                BinOp::And | BinOp::Or => t(y != 0.0),
            }
        }
        ExprKind::Call(f, args) => {
            let mut v = Vec::with_capacity(args.len());
            for a in args {
                match a {
                    Arg::Expr(x) => v.push(eval(x, lookup)?),
                    Arg::Str(..) => return Err(EvalError::Arguments(f.name.clone())),
                }
            }
            let one = |g: fn(f64) -> f64| -> Result<f64, EvalError> {
                match v.as_slice() {
                    [x] => Ok(g(*x)),
                    _ => Err(EvalError::Arguments(f.name.clone())),
                }
            };
            let two = |g: fn(f64, f64) -> f64| -> Result<f64, EvalError> {
                match v.as_slice() {
                    [x, y] => Ok(g(*x, *y)),
                    _ => Err(EvalError::Arguments(f.name.clone())),
                }
            };
            match f.name.as_str() {
                "exp" => one(hoc_exp)?,
                "log" => one(f64::ln)?,
                "log10" => one(f64::log10)?,
                "sqrt" => one(f64::sqrt)?,
                "fabs" => one(f64::abs)?,
                "sin" => one(f64::sin)?,
                "cos" => one(f64::cos)?,
                "tan" => one(f64::tan)?,
                "asin" => one(f64::asin)?,
                "acos" => one(f64::acos)?,
                "atan" => one(f64::atan)?,
                "sinh" => one(f64::sinh)?,
                "cosh" => one(f64::cosh)?,
                "tanh" => one(f64::tanh)?,
                "floor" => one(f64::floor)?,
                "ceil" => one(f64::ceil)?,
                "pow" => two(f64::powf)?,
                "atan2" => two(f64::atan2)?,
                "fmod" => two(|x, y| x % y)?,
                _ => return Err(EvalError::Function(f.name.clone())),
            }
        }
    })
}

/// A TABLE as NEURON builds and reads it: `n + 1` rows for `x = from, from + dx, …` with
/// `dx = (to − from)/n` (the abscissa accumulated by repeated addition, as NEURON's loop does),
/// read back by linear interpolation.
#[derive(Debug, Clone)]
pub struct Table {
    tmin: f64,
    mfac: f64,
    n: usize,
    rows: Vec<Vec<f64>>,
}

impl Table {
    /// Tabulates `f` (one value per tabulated variable) over `[from, to]` in `n` intervals.
    pub fn build(from: f64, to: f64, n: usize, mut f: impl FnMut(f64) -> Vec<f64>) -> Table {
        let dx = (to - from) / n as f64;
        let mfac = 1.0 / dx;
        let mut x = from;
        let mut rows = Vec::with_capacity(n + 1);
        for _ in 0..=n {
            rows.push(f(x));
            x += dx;
        }
        Table {
            tmin: from,
            mfac,
            n,
            rows,
        }
    }

    /// The tabulated values at `x`: NaN for a NaN position, the first row at or below `from`,
    /// the last at or above `to`, else `t[i] + θ·(t[i+1] − t[i])` with `i = ⌊xi⌋`, `θ = xi − i`,
    /// `xi = (1/dx)·(x − from)`.
    pub fn lookup(&self, x: f64) -> Vec<f64> {
        let xi = self.mfac * (x - self.tmin);
        let width = self.rows.first().map_or(0, Vec::len);
        if xi.is_nan() {
            return vec![xi; width];
        }
        if xi <= 0.0 {
            return self.rows[0].clone();
        }
        if xi >= self.n as f64 {
            return self.rows[self.n].clone();
        }
        let i = xi as usize;
        let theta = xi - i as f64;
        let (a, b) = (&self.rows[i], &self.rows[i + 1]);
        a.iter().zip(b).map(|(a, b)| a + theta * (b - a)).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_interpolates_and_clamps_as_neuron() {
        let t = Table::build(-100.0, 100.0, 200, |x| vec![x * x, 2.0 * x]);
        assert_eq!(t.lookup(-150.0), vec![10000.0, -200.0]);
        assert_eq!(t.lookup(150.0), t.lookup(100.0));
        let v = t.lookup(0.5);
        assert_eq!(v, vec![0.5, 1.0]);
        assert!(t.lookup(f64::NAN)[0].is_nan());
        let mut xs = Vec::new();
        Table::build(0.0, 1.0, 10, |x| {
            xs.push(x);
            vec![x]
        });
        // The abscissae are accumulated: the 9th point is 0.1 added eight times, not 8·0.1.
        assert_eq!(xs[8], 0.7999999999999999);
        assert_ne!(xs[8], 8.0 * 0.1);
    }
}
