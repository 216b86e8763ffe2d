//! Bad input is refused with an error naming file, line, column and construct.

use isf_nmodl::{analyse_str, ErrorKind};

/// A small density mechanism; `{BODY}` is replaced per test.
const CHANNEL: &str = "NEURON {
    SUFFIX kdemo
    USEION k READ ek WRITE ik
    RANGE gbar
}
UNITS {
    (mV) = (millivolt)
    (mA) = (milliamp)
    (S) = (siemens)
}
PARAMETER {
    gbar = 0.01 (S/cm2) <0, 1e9>
}
ASSIGNED {
    v (mV)
    ek (mV)
    ik (mA/cm2)
    ninf
    ntau (ms)
}
STATE { n }
BREAKPOINT {
    SOLVE states METHOD cnexp
    ik = gbar*n*n*n*n*(v - ek)
}
INITIAL {
    rates(v)
    n = ninf
}
DERIVATIVE states {
    rates(v)
    n' = (ninf - n)/ntau
}
PROCEDURE rates(v (mV)) {
    ninf = 1/(1 + exp(-(v + 40)/10))
    ntau = 5
}
";

fn err_of(text: &str) -> isf_nmodl::Error {
    match analyse_str("demo.mod", text) {
        Ok(_) => panic!("accepted:\n{text}"),
        Err(e) => e,
    }
}

fn line_of(text: &str, needle: &str) -> u32 {
    text.lines()
        .position(|l| l.contains(needle))
        .expect("needle") as u32
        + 1
}

#[test]
fn the_demo_channel_is_accepted() {
    let m = analyse_str("demo.mod", CHANNEL).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(m.name, "kdemo");
    assert_eq!(m.states().count(), 1);
}

#[test]
fn syntax_error_names_file_line_and_token() {
    let text = CHANNEL.replace("ik = gbar*n*n*n*n*(v - ek)", "ik = gbar*n*n*n*n*(v - ek");
    let e = err_of(&text);
    let d = e.first();
    assert_eq!(d.kind, ErrorKind::Syntax);
    assert_eq!(d.file, "demo.mod");
    // The missing `)` is noticed at the next token, `}` on the following line.
    assert_eq!(d.line, line_of(&text, "ik = gbar") + 1);
    let s = e.to_string();
    assert!(s.starts_with("demo.mod:"), "{s}");
    assert!(s.contains("expected `)`"), "{s}");
    assert!(s.contains('^'), "caret line: {s}");
}

#[test]
fn unknown_unit_names_the_unit() {
    let text = CHANNEL.replace("ntau (ms)", "ntau (fortnights)");
    let e = err_of(&text);
    let d = e.first();
    assert_eq!(d.kind, ErrorKind::Unit);
    assert_eq!(d.line, line_of(&text, "ntau (fortnights)"));
    assert_eq!(d.col, 10);
    assert_eq!(d.construct, "(fortnights)");
    assert!(e.to_string().contains("unknown unit `fortnights`"), "{e}");
    // In the UNITS block too, where NEURON evaluates it.
    let text = CHANNEL.replace("(S) = (siemens)", "(S) = (siemenz)");
    let d = err_of(&text).first().clone();
    assert_eq!(
        (d.kind, d.line),
        (ErrorKind::Unit, line_of(&text, "siemenz"))
    );
    // A unit defined twice.
    let text = CHANNEL.replace("(S) = (siemens)", "(ms) = (millisec)");
    let e = err_of(&text);
    assert!(e.to_string().contains("already defined"), "{e}");
}

#[test]
fn undefined_variable_names_it() {
    let text = CHANNEL.replace("ntau = 5", "ntau = 5*q10");
    let e = err_of(&text);
    let d = e.first();
    assert_eq!(d.kind, ErrorKind::Undefined);
    assert_eq!(d.construct, "q10");
    assert_eq!(d.line, line_of(&text, "5*q10"));
    assert!(e.to_string().contains("`q10` is not declared"), "{e}");
}

#[test]
fn wrong_arity_and_undefined_function() {
    let text = CHANNEL.replace(
        "    rates(v)\n    n = ninf",
        "    rates(v, 2)\n    n = ninf",
    );
    let d = err_of(&text).first().clone();
    assert_eq!((d.kind, d.construct.as_str()), (ErrorKind::Arity, "rates"));
    let text = CHANNEL.replace("exp(-(v + 40)/10)", "exp(-(v + 40), 10)");
    assert_eq!(err_of(&text).first().kind, ErrorKind::Arity);
    let text = CHANNEL.replace("exp(-(v + 40)/10)", "expo(-(v + 40)/10)");
    let d = err_of(&text).first().clone();
    assert_eq!(
        (d.kind, d.construct.as_str()),
        (ErrorKind::Undefined, "expo")
    );
    assert!(d.message.contains("did you mean `exp`?"), "{}", d.message);
    let text = CHANNEL.replace("ik = gbar*n", "ik = gbr*n");
    let d = err_of(&text).first().clone();
    assert!(d.message.contains("did you mean `gbar`?"), "{}", d.message);
}

#[test]
fn unsupported_constructs_are_named() {
    // Arbitrary VERBATIM.
    let text = format!("{CHANNEL}VERBATIM\nstatic int counter;\nENDVERBATIM\n");
    let e = err_of(&text);
    let d = e.first();
    assert_eq!(
        (d.kind, d.construct.as_str()),
        (ErrorKind::Unsupported, "VERBATIM")
    );
    assert_eq!(d.line, line_of(&text, "VERBATIM"));
    // BBCOREPOINTER.
    let text = CHANNEL.replace("RANGE gbar", "RANGE gbar\n    BBCOREPOINTER rng");
    let d = err_of(&text).first().clone();
    assert_eq!(
        (d.kind, d.construct.as_str()),
        (ErrorKind::Unsupported, "BBCOREPOINTER")
    );
    assert_eq!(d.line, line_of(&text, "BBCOREPOINTER"));
    // A POINTER to another mechanism's variable.
    let text = CHANNEL
        .replace("RANGE gbar", "RANGE gbar\n    POINTER vpre")
        .replace("    ninf\n", "    ninf\n    vpre (mV)\n");
    let d = err_of(&text).first().clone();
    assert_eq!(
        (d.kind, d.construct.as_str()),
        (ErrorKind::Unsupported, "POINTER")
    );
    assert_eq!(d.line, line_of(&text, "POINTER vpre"));
    assert!(d.message.contains("vpre"), "{}", d.message);
    // A VERBATIM inside a procedure.
    let text = CHANNEL.replace(
        "    ntau = 5\n",
        "    ntau = 5\nVERBATIM\n  _lntau = 3;\nENDVERBATIM\n",
    );
    let d = err_of(&text).first().clone();
    assert_eq!(
        (d.kind, d.construct.as_str()),
        (ErrorKind::Unsupported, "VERBATIM")
    );
}

#[test]
fn neuron_refusals() {
    // Assigning a special NEURON variable.
    let text = CHANNEL.replace("ntau = 5", "ntau = 5\n    celsius = 20");
    let d = err_of(&text).first().clone();
    assert_eq!(
        (d.kind, d.construct.as_str()),
        (ErrorKind::Semantic, "celsius")
    );
    // SOLVE after the block it solves.
    let text = CHANNEL.replace(
        "BREAKPOINT {\n    SOLVE states METHOD cnexp\n    ik = gbar*n*n*n*n*(v - ek)\n}\n",
        "",
    )
        + "BREAKPOINT {\n    SOLVE states METHOD cnexp\n    ik = gbar*n*n*n*n*(v - ek)\n}\n";
    let d = err_of(&text).first().clone();
    assert_eq!(d.construct, "SOLVE");
    // net_send outside INITIAL and NET_RECEIVE (and no NET_RECEIVE).
    let text = CHANNEL.replace("ntau = 5", "ntau = 5\n    net_send(1, 1)");
    let e = err_of(&text);
    assert!(
        e.diagnostics.iter().any(|d| d.construct == "net_send"),
        "{e}"
    );
    // A method that does not fit the block.
    let text = CHANNEL.replace("METHOD cnexp", "METHOD sparse");
    assert!(err_of(&text).to_string().contains("can't be used"));
    // A GLOBAL STATE.
    let text = CHANNEL.replace("RANGE gbar", "RANGE gbar\n    GLOBAL n");
    assert!(err_of(&text)
        .to_string()
        .contains("cannot be declared as GLOBAL"));
    // A TABLE in a FUNCTION with two arguments.
    let text = format!(
        "{CHANNEL}FUNCTION f(x, y) {{\n    TABLE FROM -100 TO 100 WITH 10\n    f = x + y\n}}\n"
    );
    assert!(err_of(&text).to_string().contains("exactly one argument"));
}

#[test]
fn several_errors_are_collected() {
    let text = CHANNEL
        .replace("ntau = 5", "ntau = 5*q10 + r20")
        .replace("ntau (ms)", "ntau (parsecs_per_fortnight)");
    let e = err_of(&text);
    assert!(e.diagnostics.len() >= 3, "{e}");
    // Sorted by position.
    let pos: Vec<_> = e.diagnostics.iter().map(|d| (d.line, d.col)).collect();
    let mut sorted = pos.clone();
    sorted.sort();
    assert_eq!(pos, sorted);
}

#[test]
fn unterminated_blocks_and_stray_characters() {
    let e = err_of(&format!("{CHANNEL}COMMENT\nnever closed\n"));
    let d = e.first();
    assert_eq!(
        (d.construct.as_str(), d.line),
        ("COMMENT", CHANNEL.lines().count() as u32 + 1)
    );
    let e = err_of(&CHANNEL.replace("ntau = 5", "ntau = 5 $"));
    assert_eq!(e.first().kind, ErrorKind::Syntax);
    let e = err_of(&CHANNEL.replace("ntau = 5", "ntau = 5 \u{00b5}"));
    assert!(e.to_string().contains("non-ASCII"), "{e}");
    let e = err_of(&CHANNEL.replace("(S) = (siemens)", "(S) = (siemens"));
    assert!(e.to_string().contains("no closing `)`"), "{e}");
}

#[test]
fn deep_nesting_is_a_clear_error_not_a_crash() {
    let deep = format!("{}x{}", "(".repeat(5000), ")".repeat(5000));
    let text = CHANNEL.replace("ntau = 5", &format!("ntau = {deep}"));
    let e = err_of(&text);
    assert_eq!(e.first().kind, ErrorKind::Limit);
    let long = vec!["v"; 20000].join(" + ");
    let text = CHANNEL.replace("ntau = 5", &format!("ntau = {long}"));
    assert_eq!(err_of(&text).first().kind, ErrorKind::Limit);
}

#[test]
fn syntax_errors_in_two_blocks_are_both_reported() {
    let text = CHANNEL
        .replace("gbar = 0.01 (S/cm2) <0, 1e9>", "gbar = ")
        .replace("ntau = 5", "ntau = 5 *");
    let e = err_of(&text);
    assert_eq!(e.diagnostics.len(), 2, "{e}");
    assert!(e.diagnostics.iter().all(|d| d.kind == ErrorKind::Syntax));
    assert_eq!(e.diagnostics[0].line, line_of(&text, "gbar = ") + 1);
    assert_eq!(e.diagnostics[1].line, line_of(&text, "ntau = 5 *") + 1);
}
