//! The language subset, construct by construct, on small models written for these tests.

use isf_nmodl::ast::{BinOp, ExprKind, ItemKind, ReactionForm, StmtKind, UnOp};
use isf_nmodl::model::{Method, SolveTarget, VarClass, Visibility};
use isf_nmodl::{analyse_str, parse_str, ErrorKind};

fn ok(text: &str) -> isf_nmodl::AnalysedModel {
    analyse_str("t.mod", text).unwrap_or_else(|e| panic!("{e}"))
}

fn refused(text: &str) -> isf_nmodl::Error {
    match analyse_str("t.mod", text) {
        Ok(_) => panic!("accepted:\n{text}"),
        Err(e) => e,
    }
}

/// The right-hand side of the first assignment in the first BREAKPOINT.
fn first_rhs(text: &str) -> isf_nmodl::ast::Expr {
    let m = parse_str("t.mod", text).unwrap_or_else(|e| panic!("{e}"));
    for i in &m.items {
        if let ItemKind::Breakpoint(b) = &i.kind {
            for s in &b.stmts {
                if let StmtKind::Assign { value, .. } = &s.kind {
                    return value.clone();
                }
            }
        }
    }
    panic!("no assignment")
}

fn shape(e: &isf_nmodl::ast::Expr) -> String {
    match &e.kind {
        ExprKind::Number(n, u) => match u {
            Some(u) => format!("{}({})", n.text, u.text),
            None => n.text.clone(),
        },
        ExprKind::Var(v) => v.name.clone(),
        ExprKind::Prime(v, k) => format!("{}{}", v.name, "'".repeat(*k as usize)),
        ExprKind::Index(v, i) => format!("{}[{}]", v.name, shape(i)),
        ExprKind::Call(f, a) => format!("{}#{}", f.name, a.len()),
        ExprKind::Paren(x) => format!("({})", shape(x)),
        ExprKind::Unary(UnOp::Neg, x) => format!("neg[{}]", shape(x)),
        ExprKind::Unary(UnOp::Not, x) => format!("not[{}]", shape(x)),
        ExprKind::Binary(op, a, b) => format!("[{} {} {}]", shape(a), op.symbol(), shape(b)),
    }
}

fn bp(expr: &str) -> String {
    let text = format!(
        "NEURON {{ SUFFIX p }}\nASSIGNED {{ x y z a b c }}\nBREAKPOINT {{\n x = {expr}\n}}\n"
    );
    shape(&first_rhs(&text))
}

#[test]
fn operator_precedence_is_neurons() {
    assert_eq!(bp("-y^2"), "neg[[y ^ 2]]");
    assert_eq!(bp("a^b^c"), "[a ^ [b ^ c]]");
    assert_eq!(bp("a-b-c"), "[[a - b] - c]");
    assert_eq!(bp("a/b*c"), "[[a / b] * c]");
    assert_eq!(bp("a + b*c"), "[a + [b * c]]");
    assert_eq!(bp("-a*b"), "[neg[a] * b]");
    assert_eq!(bp("!a == b"), "[not[a] == b]");
    assert_eq!(bp("a < b == c"), "[[a < b] == c]");
    assert_eq!(bp("a || b && c"), "[a || [b && c]]");
    assert_eq!(
        bp("a > 0 && b <= 1 || !c"),
        "[[[a > 0] && [b <= 1]] || not[c]]"
    );
    assert_eq!(bp("-v * -0.026"), "[neg[v] * neg[0.026]]");
    assert_eq!(bp("2.3^((34-21)/10)"), "[2.3 ^ ([([34 - 21]) / 10])]");
    assert_eq!(
        bp("exp(0.062 (/mV) * -y) * (a / 3.57 (mM))"),
        "[exp#1 * ([a / 3.57(mM)])]"
    );
    assert_eq!(bp("(y + z)*1(umho)*b"), "[[([y + z]) * 1(umho)] * b]");
}

#[test]
fn numbers_keep_their_text() {
    let e = first_rhs("NEURON { SUFFIX p }\nASSIGNED { x }\nBREAKPOINT { x = .5e-3 + 10 + 5. }\n");
    let ExprKind::Binary(BinOp::Add, l, r) = &e.kind else {
        panic!()
    };
    let ExprKind::Number(n, _) = &r.kind else {
        panic!()
    };
    assert_eq!((n.text.as_str(), n.value, n.integer), ("5.", 5.0, false));
    let ExprKind::Binary(_, a, b) = &l.kind else {
        panic!()
    };
    let (ExprKind::Number(a, _), ExprKind::Number(b, _)) = (&a.kind, &b.kind) else {
        panic!()
    };
    assert_eq!((a.text.as_str(), a.value), (".5e-3", 0.0005));
    assert!(b.integer);
}

#[test]
fn statements_need_no_separators_and_else_if_chains() {
    let m = ok("NEURON { POINT_PROCESS g RANGE a }
PARAMETER { a = 1 }
ASSIGNED { w G1 G2 t0 (ms) }
INITIAL { w = 0  G1 = 0  G2 = 0  t0 = t }
BREAKPOINT {
    if (a > 2) { w = 1 } else if (a > 1) { w = 2 } else { w = 3 }
    while (w < 10) { w = w + 1 }
    FROM i = 0 TO 3 BY 1 { G1 = G1 + i }
}
");
    assert_eq!(m.var("w").unwrap().visibility, Visibility::Hidden);
    assert_eq!(m.var("a").unwrap().visibility, Visibility::Range);
}

#[test]
fn kinetic_scheme_with_conserve_and_compartment() {
    let m = ok("NEURON { SUFFIX kin USEION ca READ cai RANGE kf }
PARAMETER { kf = 1 (/ms) kb = 0.5 (/ms) vol = 2 }
STATE { C O I }
BREAKPOINT { SOLVE scheme METHOD sparse }
INITIAL { SOLVE scheme STEADYSTATE sparse }
KINETIC scheme {
    COMPARTMENT vol { C O }
    ~ C <-> O (kf*cai, kb)
    ~ O <-> I (kb, kf)
    ~ 2 I -> (0.1)
    CONSERVE C + O + I = 1
}
");
    assert_eq!(m.solves.len(), 2);
    assert_eq!(m.solves[0].target, SolveTarget::Kinetic);
    assert_eq!(m.solves[0].method, Method::Sparse);
    assert!(m.solves[1].steadystate && !m.solves[1].in_breakpoint);
    let mm = parse_str("t.mod", "KINETIC s { ~ A + 2 B <-> C (1, 2) ~ A << (3) }").unwrap();
    let ItemKind::Kinetic { body, .. } = &mm.items[0].kind else {
        panic!()
    };
    let StmtKind::Reaction { lhs, form } = &body.stmts[0].kind else {
        panic!()
    };
    assert_eq!(lhs.len(), 2);
    assert_eq!(lhs[1].coef, 2);
    assert!(matches!(form, ReactionForm::Reversible { .. }));
    assert!(matches!(
        &body.stmts[1].kind,
        StmtKind::Reaction {
            form: ReactionForm::In(_),
            ..
        }
    ));
    // A reaction on a non-STATE, and `~` outside a KINETIC block.
    let e = refused("NEURON { SUFFIX k }\nASSIGNED { x }\nSTATE { A }\nBREAKPOINT { SOLVE s METHOD sparse }\nKINETIC s { ~ A <-> x (1, 1) }\n");
    assert!(e.to_string().contains("`x` must be a STATE"), "{e}");
    let e = refused("NEURON { SUFFIX k }\nSTATE { A }\nINITIAL { ~ A <-> A (1, 1) }\n");
    assert_eq!(e.first().kind, ErrorKind::Syntax);
}

#[test]
fn linear_and_nonlinear_blocks() {
    let m = ok("NEURON { SUFFIX lin }
STATE { x y }
BREAKPOINT { SOLVE eqs SOLVE nl }
LINEAR eqs {
    ~ 2*x + y = 1
    ~ x - y = 0
}
NONLINEAR nl SOLVEFOR x {
    ~ x*x = 4
}
");
    assert_eq!(m.solves[0].target, SolveTarget::Linear);
    assert_eq!(m.solves[1].target, SolveTarget::NonLinear);
    // NEURON requires the SOLVE before the block only for DERIVATIVE blocks.
    ok("NEURON { SUFFIX lin }\nSTATE { x }\nLINEAR eqs { ~ x = 1 }\nBREAKPOINT { SOLVE eqs }\n");
    let e = refused(
        "NEURON { SUFFIX lin }\nSTATE { x }\nDERIVATIVE d { x' = -x }\nBREAKPOINT { SOLVE d METHOD cnexp }\n",
    );
    assert!(e.to_string().contains("must come before"), "{e}");
}

#[test]
fn units_block_forms_and_constants() {
    let m = ok("NEURON { SUFFIX u }
UNITS {
    (mV) = (millivolt)
    (molar) = (1/liter)
    (mM) = (millimolar)
    FARADAY = (faraday) (kilocoulombs)
    R = (k-mole) (joule/degC)
    F2 = 96520 (coulomb)
    PI = (pi) (1)
}
CONSTANT { q = -2.5 (mV) }
ASSIGNED { x (mM) }
BREAKPOINT { x = FARADAY*R*F2*q*PI }
");
    let c = |n: &str| m.constants.iter().find(|c| c.name == n).unwrap().value;
    assert!((c("FARADAY") - 96.48533212331).abs() < 1e-9);
    assert!((c("R") - 8.314462618).abs() < 1e-8);
    assert_eq!(c("F2"), 96520.0);
    assert_eq!(c("q"), -2.5);
    assert_eq!(c("PI"), std::f64::consts::PI);
    // Non-conformable factor and assigning a constant.
    let e = refused("NEURON { SUFFIX u }\nUNITS { F = (faraday) (volt) }\n");
    assert!(e.to_string().contains("not conformable"), "{e}");
    let e = refused("NEURON { SUFFIX u }\nCONSTANT { q = 1 }\nBREAKPOINT { q = 2 }\n");
    assert!(e.to_string().contains("constant"), "{e}");
}

#[test]
fn declarations_defaults_limits_arrays_define() {
    let m = ok("NEURON { SUFFIX d RANGE g }
DEFINE NANN 4
INDEPENDENT { t FROM 0 TO 1 WITH 1 (ms) }
PARAMETER {
    g = -0.5 (S/cm2) <-1, 1e9>
    w[NANN] (1)
    celsius = 37 (degC)
}
ASSIGNED { acc[NANN] }
STATE { z FROM 0 TO 1 START 0.5 (1) <1e-4> }
LOCAL tmp[2]
BREAKPOINT {
    FROM i = 0 TO NANN - 1 { acc[i] = w[i]*celsius }
    tmp[0] = acc[0] + NANN
}
");
    let g = m.var("g").unwrap();
    assert_eq!((g.default, g.limits), (Some(-0.5), Some((-1.0, 1e9))));
    assert_eq!(m.var("w").unwrap().array, Some(4));
    assert_eq!(m.var("z").unwrap().default, Some(0.5));
    assert_eq!(m.var("tmp").unwrap().class, VarClass::FileLocal);
    assert!(matches!(
        m.var("celsius").unwrap().class,
        VarClass::Builtin(_)
    ));
}

#[test]
fn net_receive_rules() {
    let good = "NEURON { POINT_PROCESS s NONSPECIFIC_CURRENT i }
ASSIGNED { v (mV) i (nA) }
STATE { g }
INITIAL { net_send(0, 1) }
BREAKPOINT { SOLVE d METHOD cnexp i = g*v }
DERIVATIVE d { g' = -g }
NET_RECEIVE (w (uS), n) {
    INITIAL { n = 0 }
    if (flag == 1) { net_event(t) } else { g = g + w  n = n + 1  net_send(2, 1) }
    FOR_NETCONS (ww, nn) { nn = 0 }
}
";
    let m = ok(good);
    let nr = m.net_receive.as_ref().unwrap();
    assert!(nr.has_initial && nr.net_send && nr.net_event && nr.uses_flag);
    // A density mechanism cannot receive events.
    let e = refused(&good.replace("POINT_PROCESS s", "SUFFIX s"));
    assert!(
        e.to_string().contains("POINT_PROCESS or ARTIFICIAL_CELL"),
        "{e}"
    );
    // net_event outside NET_RECEIVE.
    let e = refused(&good.replace("INITIAL { net_send(0, 1) }", "INITIAL { net_event(t) }"));
    assert!(
        e.diagnostics.iter().any(|d| d.construct == "net_event"),
        "{e}"
    );
    // NET_RECEIVE without arguments.
    let e = refused(&good.replace("NET_RECEIVE (w (uS), n)", "NET_RECEIVE ()"));
    assert!(e.to_string().contains("at least one argument"), "{e}");
}

#[test]
fn unsupported_constructs_are_refused_with_their_name() {
    let base = "NEURON { POINT_PROCESS s }\nASSIGNED { x }\n";
    for (extra, construct) in [
        ("NET_RECEIVE (w) { WATCH (x > 1) 2 }\n", "WATCH"),
        ("INCLUDE \"other.inc\"\n", "INCLUDE"),
        ("CONSTRUCTOR { x = 1 }\n", "CONSTRUCTOR"),
        ("DESTRUCTOR { x = 1 }\n", "DESTRUCTOR"),
        ("AFTER SOLVE { x = 1 }\n", "AFTER"),
        ("FUNCTION_TABLE tau(v (mV)) (ms)\n", "FUNCTION_TABLE"),
        ("BREAKPOINT { x = threshold(x, 1) }\n", "threshold"),
        (
            "STATE { y }\nBREAKPOINT { state_discontinuity(y, 1) }\n",
            "state_discontinuity",
        ),
        (
            "STATE { y }\nBREAKPOINT { SOLVE d METHOD runge }\nDERIVATIVE d { y' = -y }\n",
            "runge",
        ),
    ] {
        let e = refused(&format!("{base}{extra}"));
        assert!(
            e.diagnostics
                .iter()
                .any(|d| d.construct == construct && d.kind == ErrorKind::Unsupported),
            "{construct}: {e}"
        );
    }
}

#[test]
fn names_and_scopes() {
    // LOCAL only first in a block; reserved words; a function used as a variable.
    let e = refused("NEURON { SUFFIX n }\nASSIGNED { x }\nBREAKPOINT { x = 1 LOCAL y }\n");
    assert!(e.to_string().contains("LOCAL must come first"), "{e}");
    let e = refused("NEURON { SUFFIX n }\nASSIGNED { exp }\n");
    assert!(e.to_string().contains("reserved"), "{e}");
    let e = refused(
        "NEURON { SUFFIX n }\nASSIGNED { x }\nBREAKPOINT { x = f }\nFUNCTION f() { f = 1 }\n",
    );
    assert!(e.to_string().contains("not a variable"), "{e}");
    let e = refused("NEURON { SUFFIX n }\nASSIGNED { f }\nFUNCTION f() { f = 1 }\n");
    assert!(
        e.to_string().contains("both a variable and a FUNCTION"),
        "{e}"
    );
    let e = refused("NEURON { SUFFIX n }\nASSIGNED { x x }\n");
    assert!(e.to_string().contains("declared twice"), "{e}");
    let e = refused("NEURON { SUFFIX n RANGE celcius }\nASSIGNED { celcius }\n");
    assert!(e.to_string().contains("celsius"), "{e}");
    // Function arguments and the function's own name are local to its body.
    ok("NEURON { SUFFIX n }\nFUNCTION f(a, b) { LOCAL c  c = a*b  f = c }\n");
    // A printf with a string is accepted; a string elsewhere is not.
    ok("NEURON { SUFFIX n }\nASSIGNED { x }\nBREAKPOINT { printf(\"x=%g\\n\", x) }\n");
    let e = refused("NEURON { SUFFIX n }\nASSIGNED { x }\nBREAKPOINT { x = exp(\"a\") }\n");
    assert_eq!(e.first().kind, ErrorKind::Semantic);
}

#[test]
fn ion_rules() {
    let m = ok(
        "NEURON { SUFFIX c USEION ca READ eca, cai WRITE ica VALENCE 2 NONSPECIFIC_CURRENT il }
ASSIGNED { ica (mA/cm2) il (mA/cm2) v (mV) }
BREAKPOINT { ica = cai*(v - eca) il = 0 }
",
    );
    let eca = m.var("eca").unwrap();
    assert_eq!(eca.class, VarClass::ImplicitIon);
    assert!(eca.ion.as_ref().unwrap().read);
    assert_eq!(m.ions[0].valence, Some(2.0));
    let e = refused("NEURON { SUFFIX c USEION ca READ ena }\n");
    assert!(
        e.to_string()
            .contains("`ena` is not a variable of ion `ca` (eca, cai, cao or ica)"),
        "{e}"
    );
    let e = refused("NEURON { SUFFIX c NONSPECIFIC_CURRENT i }\nBREAKPOINT { }\n");
    assert_eq!(e.first().kind, ErrorKind::Undefined);
}

#[test]
fn current_linearity_in_v() {
    use isf_nmodl::linearity::VDep;
    let lin = |body: &str| -> Vec<VDep> {
        let m = ok(&format!(
            "NEURON {{ SUFFIX l NONSPECIFIC_CURRENT i }}\nPARAMETER {{ g = 1 e = 0 }}\nASSIGNED {{ v i x }}\n{body}\n"
        ));
        m.current_linearity.iter().map(|(_, d)| *d).collect()
    };
    assert_eq!(lin("BREAKPOINT { i = g*(v - e) }"), [VDep::Affine]);
    assert_eq!(lin("BREAKPOINT { i = g*e*t }"), [VDep::Constant]);
    assert_eq!(lin("BREAKPOINT { i = g*v*v }"), [VDep::NonLinear]);
    assert_eq!(lin("BREAKPOINT { i = g*exp(v) }"), [VDep::NonLinear]);
    assert_eq!(
        lin("BREAKPOINT { if (v > 0) { i = g*v } else { i = 0 } }"),
        [VDep::NonLinear]
    );
    assert_eq!(
        lin("BREAKPOINT { if (e > 0) { i = g*v } else { i = 0 } }"),
        [VDep::Affine]
    );
    // Through procedures and functions, analysed in place.
    assert_eq!(
        lin("BREAKPOINT { set() i = x*(v - e) }\nPROCEDURE set() { x = g*2 }"),
        [VDep::Affine]
    );
    assert_eq!(
        lin("BREAKPOINT { set() i = x*(v - e) }\nPROCEDURE set() { x = g*v }"),
        [VDep::NonLinear]
    );
    assert_eq!(
        lin("BREAKPOINT { i = f(v) }\nFUNCTION f(a) { f = 2*a + g }"),
        [VDep::Affine]
    );
    assert_eq!(
        lin("BREAKPOINT { i = f(v) }\nFUNCTION f(a) { f = a/a }"),
        [VDep::NonLinear]
    );
    // Recursion and call explosions are bounded.
    assert_eq!(
        lin("BREAKPOINT { i = f(v) }\nFUNCTION f(a) { f = f(a) }"),
        [VDep::NonLinear]
    );
    let many = "FUNCTION f1(a) { f1 = f2(a) + f2(a) + f2(a) + f2(a) }\n\
                FUNCTION f2(a) { f2 = f3(a) + f3(a) + f3(a) + f3(a) }\n\
                FUNCTION f3(a) { f3 = f4(a) + f4(a) + f4(a) + f4(a) }\n\
                FUNCTION f4(a) { f4 = f5(a) + f5(a) + f5(a) + f5(a) }\n\
                FUNCTION f5(a) { f5 = f6(a) + f6(a) + f6(a) + f6(a) }\n\
                FUNCTION f6(a) { f6 = f7(a) + f7(a) + f7(a) + f7(a) }\n\
                FUNCTION f7(a) { f7 = f8(a) + f8(a) + f8(a) + f8(a) }\n\
                FUNCTION f8(a) { f8 = a }";
    let start = std::time::Instant::now();
    let d = lin(&format!("BREAKPOINT {{ i = f1(v) }}\n{many}"));
    assert!(start.elapsed().as_secs() < 5);
    assert!(matches!(d[0], VDep::Affine | VDep::NonLinear));
}

#[test]
fn trailing_return_in_a_procedure_is_a_no_op() {
    use isf_nmodl::model::IdiomKind;
    let m = ok("NEURON { SUFFIX r }\nASSIGNED { x }\nPROCEDURE p() {\n    x = 1\nVERBATIM\n    return 0;\nENDVERBATIM\n}\n");
    assert!(m.idioms.iter().any(|i| i.kind == IdiomKind::TrailingReturn));
    // Anywhere else, or returning something else, it is arbitrary C.
    refused("NEURON { SUFFIX r }\nASSIGNED { x }\nPROCEDURE p() {\nVERBATIM\n    return 0;\nENDVERBATIM\n    x = 1\n}\n");
    refused("NEURON { SUFFIX r }\nASSIGNED { x }\nPROCEDURE p() {\n    x = 1\nVERBATIM\n    return 1;\nENDVERBATIM\n}\n");
    refused("NEURON { SUFFIX r }\nASSIGNED { x }\nFUNCTION f() {\n    f = 1\nVERBATIM\n    return 0;\nENDVERBATIM\n}\n");
}
