//! The cnexp form of derivative equations: NEURON's text, and the bits of isf's hand-written
//! exact kernels.

mod common;

use isf_nmodl::ast::{Arg, Expr, ExprKind, UnOp};
use isf_nmodl::cnexp::cnexp_step;
use isf_nmodl::eval::{eval, hoc_exp};
use isf_nmodl::model::Method;

/// The expression as C text in NEURON's spacing: `( e )`, `- e`, `a op b`.
fn c_text(e: &Expr) -> String {
    match &e.kind {
        ExprKind::Number(n, _) => {
            if n.integer {
                format!("{}.0", n.text)
            } else {
                n.text.clone()
            }
        }
        ExprKind::Var(v) => v.name.clone(),
        ExprKind::Prime(v, _) => format!("D{}", v.name),
        ExprKind::Index(v, i) => format!("{}[{}]", v.name, c_text(i)),
        ExprKind::Paren(x) => format!("( {} )", c_text(x)),
        ExprKind::Unary(UnOp::Neg, x) => format!("- {}", c_text(x)),
        ExprKind::Unary(UnOp::Not, x) => format!("! {}", c_text(x)),
        ExprKind::Binary(op, a, b) => format!("{} {} {}", c_text(a), op.symbol(), c_text(b)),
        ExprKind::Call(f, args) => format!(
            "{}({})",
            f.name,
            args.iter()
                .map(|a| match a {
                    Arg::Expr(x) => c_text(x),
                    Arg::Str(s, _) => format!("\"{s}\""),
                })
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

/// The right-hand side of `state' = …` in a DERIVATIVE block of a small model.
fn rhs(eq: &str) -> Expr {
    let text = format!("NEURON {{ SUFFIX c }}\nSTATE {{ x }}\nDERIVATIVE d {{ {eq} }}\n");
    let m = isf_nmodl::parse_str("c.mod", &text).unwrap_or_else(|e| panic!("{e}"));
    for i in m.items {
        if let isf_nmodl::ast::ItemKind::Derivative { body, .. } = i.kind {
            if let isf_nmodl::ast::StmtKind::Assign { value, .. } = &body.stmts[0].kind {
                return value.clone();
            }
        }
    }
    panic!("no equation")
}

#[test]
fn gate_equation_has_neurons_text() {
    let s = cnexp_step("x", &rhs("x' = (xinf - x)/xtau")).unwrap();
    assert_eq!(c_text(&s.deriv), "( ( ( - 1.0 ) ) ) / xtau");
    assert_eq!(c_text(&s.coef), "( ( ( - 1.0 ) ) ) / xtau");
    assert_eq!(c_text(&s.rest), "( ( xinf ) ) / xtau");
    assert_eq!(
        c_text(&s.update),
        "x + ( 1. - exp(dt * ( ( ( ( - 1.0 ) ) ) / xtau )) ) * ( - ( ( ( xinf ) ) / xtau ) / ( ( ( ( - 1.0 ) ) ) / xtau ) - x )"
    );
    // No dependence on the state: an explicit step.
    let s = cnexp_step("x", &rhs("x' = k")).unwrap();
    assert_eq!(c_text(&s.update), "x - dt * ( - ( k ) )");
    // Products and sums.
    let s = cnexp_step("x", &rhs("x' = -b*x + 2*c")).unwrap();
    assert_eq!(c_text(&s.deriv), "( - b ) * ( 1.0 )");
    assert_eq!(c_text(&s.coef), "( - b ) * ( 1.0 )");
    assert_eq!(c_text(&s.rest), "( 2.0 ) * ( c )");
    // A literal 0 is NEURON's zero.
    let s = cnexp_step("x", &rhs("x' = 0 - x")).unwrap();
    assert_eq!(c_text(&s.rest), "0.0");
    assert_eq!(c_text(&s.deriv), "( - 1.0 )");
}

#[test]
fn non_linear_equations_have_no_cnexp_form() {
    for eq in [
        "x' = exp(x)",
        "x' = x^2",
        "x' = 1/x",
        "x' = (x > 1)",
        "x' = a/(b + x)",
    ] {
        assert!(cnexp_step("x", &rhs(eq)).is_err(), "{eq}");
    }
    // The model records NEURON's fallback to derivimplicit.
    let m = isf_nmodl::analyse_str(
        "c.mod",
        "NEURON { SUFFIX c }\nPARAMETER { k = 1 }\nSTATE { x }\nBREAKPOINT { SOLVE d METHOD cnexp }\nDERIVATIVE d { x' = -k*exp(x) }\n",
    )
    .unwrap();
    assert_eq!(m.solves[0].method, Method::Cnexp);
    assert_eq!(m.solves[0].effective_method, Method::Derivimplicit);
    assert!(m.solves[0].fallback_reason.is_some());
}

fn values<'a>(pairs: &'a [(&'a str, f64)]) -> impl Fn(&str) -> Option<f64> + 'a {
    move |n| pairs.iter().find(|(k, _)| *k == n).map(|(_, v)| *v)
}

/// The update evaluates to the bits of isf's hand-written exact gate update (`cnexp_gate` in
/// `src/mechanisms/mod.rs`): `x + (1 − exp(dt·(−1/τ)))·(−(inf/τ)/(−1/τ) − x)`.
#[test]
fn gate_update_matches_the_hand_written_exact_form() {
    let s = cnexp_step("x", &rhs("x' = (xinf - x)/xtau")).unwrap();
    let mut k = 0u64;
    for dt in [0.025, 0.01, 0.1] {
        for i in 0..400 {
            k += 1;
            let x = (i as f64 * 0.37).sin().abs();
            let inf = ((i * 7) as f64 * 0.11).cos().abs();
            let tau = 0.05 + (i as f64) * 0.731;
            let want = {
                let a = -1.0 / tau;
                x + (1.0 - hoc_exp(dt * a)) * (-(inf / tau) / a - x)
            };
            let env = [("x", x), ("xinf", inf), ("xtau", tau), ("dt", dt)];
            let got = eval(&s.update, &values(&env)).unwrap();
            assert_eq!(got.to_bits(), want.to_bits(), "case {k}");
        }
    }
}

/// CaDynamics_E2's pump equation gives the bits of isf's hand-written exact form.
#[test]
fn calcium_pump_matches_the_hand_written_exact_form() {
    let Some(dir) = common::nmodl_dir() else {
        return;
    };
    let m = isf_nmodl::analyse_file(&dir.join("isf-library/channels_py3/CaDynamics_E2.mod"))
        .unwrap_or_else(|e| panic!("{e}"));
    let so = &m.solves[0];
    assert_eq!(so.effective_method, Method::Cnexp);
    let step = &so.cnexp_steps[0];
    assert_eq!(step.state, "cai");
    let faraday = m
        .constants
        .iter()
        .find(|c| c.name == "FARADAY")
        .unwrap()
        .value;
    let dt = 0.025;
    for j in 0..200 {
        let x = j as f64;
        let (gamma, decay, depth, min_cai) = (
            0.0005 + 0.001 * x,
            20.0 + 37.0 * x,
            0.1 + 0.01 * x,
            1e-4 * (1.0 + x),
        );
        let ica = (x - 100.0) * 1.3e-3;
        let cai = 1e-5 * (1.0 + (j % 9) as f64);
        let want = {
            let a = -1.0 / decay;
            let b = -10000.0 * (ica * gamma / (2.0 * faraday * depth)) + min_cai / decay;
            cai + (1.0 - hoc_exp(dt * a)) * (-b / a - cai)
        };
        let env = [
            ("cai", cai),
            ("ica", ica),
            ("gamma", gamma),
            ("decay", decay),
            ("depth", depth),
            ("minCai", min_cai),
            ("FARADAY", faraday),
            ("dt", dt),
        ];
        let got = eval(&step.update, &values(&env)).unwrap();
        assert_eq!(got.to_bits(), want.to_bits(), "instance {j}");
    }
}

/// Every cnexp SOLVE of the corpus has a cnexp form (NEURON translates all of them with cnexp).
#[test]
fn corpus_cnexp_blocks_are_linear() {
    let Some(dir) = common::nmodl_dir() else {
        return;
    };
    let mut n = 0;
    for f in common::mod_files(&dir) {
        let m = isf_nmodl::analyse_file(&f).unwrap_or_else(|e| panic!("{e}"));
        for s in &m.solves {
            if s.method == Method::Cnexp {
                assert_eq!(
                    s.effective_method,
                    Method::Cnexp,
                    "{}: {:?}",
                    f.display(),
                    s.fallback_reason
                );
                assert!(!s.cnexp_steps.is_empty());
                n += s.cnexp_steps.len();
            }
        }
    }
    println!("cnexp equations in the corpus: {n}");
    assert!(n > 50);
}

#[test]
fn evaluator_follows_neuron() {
    assert_eq!(hoc_exp(-701.0), 0.0);
    assert_eq!(hoc_exp(800.0), 700f64.exp());
    let e = rhs("x' = -2^2 + (3 > 2) * !0 + fmod(7, 4)");
    assert_eq!(eval(&e, &|_| None).unwrap(), -4.0 + 1.0 + 3.0);
}

/// A product of two terms in the state is no fallback in NEURON 9.0.2: cnexp is kept, the
/// derivative built in full and the state-free part dropped,
/// `x = x + (1. - exp(dt*(df/dx)))*( - x)`.
#[test]
#[allow(clippy::neg_multiply)] // written as NEURON's C multiplies
fn product_of_state_terms_keeps_neurons_degenerate_cnexp() {
    let step = cnexp_step("n", &rhs("n' = (ninf - n)/ntau + kc*n*(1 - n)*(ninf - n)")).unwrap();
    let vals = [
        ("n", 0.3),
        ("ninf", 0.8),
        ("ntau", 2.0),
        ("kc", 0.5),
        ("dt", 0.025),
    ];
    let look = values(&vals);
    let (n, ninf, ntau, kc, dt) = (0.3f64, 0.8f64, 2.0f64, 0.5f64, 0.025f64);
    // NEURON's text: ( ( ( - 1.0 ) ) ) / ntau + (( (( ( kc )*( 1.0 ) )*( ( 1.0 - n ) )
    //   + ( kc * n )*( ( ( - 1.0 ) ) )) )*( ( ninf - n ) ) + ( kc * n * ( 1.0 - n ) )*( ( ( - 1.0 ) ) ))
    let de = (-1.0) / ntau
        + ((kc * 1.0) * (1.0 - n) + (kc * n) * (-1.0)) * (ninf - n)
        + (kc * n * (1.0 - n)) * (-1.0);
    assert_eq!(eval(&step.deriv, &look).unwrap().to_bits(), de.to_bits());
    let update = n + (1. - hoc_exp(dt * de)) * (-n);
    assert_eq!(
        eval(&step.update, &look).unwrap().to_bits(),
        update.to_bits()
    );
}
