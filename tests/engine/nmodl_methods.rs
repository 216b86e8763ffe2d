//! isf's own NMODL test models (`tests/data/nmodl/*.mod`) integrated with `derivimplicit`,
//! `euler`, a cnexp that falls back to derivimplicit, cnexp on a product of state terms, a
//! DERIVATIVE SOLVE'd without METHOD and KINETIC schemes with `sparse`, compiled and run by isf
//! with exact numerics, against NEURON 9.0.2's own runs of the same files (`tests/data/nmodl/reference/`, written by
//! `scripts/nmodl_oracle.py`; its README says how). Every protocol: V within 1e-9 mV and every
//! recorded column within 1e-9 of its largest magnitude at every step; the worst case is
//! printed per model, with the number of columns that are bit for bit NEURON's.

use crate::common;
use crate::mechanisms_reference::run_protocol;

use common::max_abs;
use isf::mechanisms::compiled;
use isf::mechanisms::Numerics;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

fn data() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/nmodl")
}

/// The test models, compiled and registered once per process.
fn registered() {
    static DONE: OnceLock<()> = OnceLock::new();
    DONE.get_or_init(|| {
        for m in [
            "hhdi", "markovdi", "cabufss", "nlgate", "cnprod", "cadi", "capool", "kinna",
            "kincabuf",
        ] {
            let program = compiled::compile_file(&data().join(format!("{m}.mod")))
                .unwrap_or_else(|e| panic!("{m}.mod: {e}"));
            compiled::register(m, program, None).unwrap();
        }
    });
}

fn max_abs_diff(ours: &[f64], reference: &[f64]) -> f64 {
    assert_eq!(ours.len(), reference.len(), "row count");
    let mut worst = 0.0f64;
    for (a, b) in ours.iter().zip(reference) {
        if a.to_bits() == b.to_bits() || a == b {
            continue;
        }
        let d = (a - b).abs();
        if d.is_nan() {
            return f64::NAN;
        }
        worst = worst.max(d);
    }
    worst
}

fn check(case: &str) {
    registered();
    let folder = data().join("reference").join(case);
    let mut failures = Vec::new();
    let (mut worst_dv, mut worst_rel) = (0.0f64, (0.0f64, String::new()));
    for protocol in ["iclamp.csv", "vclamp.csv"] {
        let (ours, names, table, _) =
            run_protocol(&folder, protocol, Numerics::Exact, &|n| n.to_string());
        assert_eq!(
            max_abs_diff(&ours.t, table.column("t")),
            0.0,
            "{protocol}: t"
        );
        let (mut dv, mut rel, mut exact) = (0.0, (0.0, String::new()), 0);
        for (c, name) in names.iter().enumerate() {
            let reference = table.column(name);
            let diff = max_abs_diff(&ours.columns[c], reference);
            if diff == 0.0 {
                exact += 1;
            }
            if name == "v" {
                dv = diff;
            } else {
                let r = diff / max_abs(reference).max(f64::MIN_POSITIVE);
                if r > rel.0 || r.is_nan() {
                    rel = (r, name.clone());
                }
            }
        }
        println!(
            "{case}/{protocol}: max|dv| = {dv:.3e} mV, worst column {} rel {:.3e}, \
             {exact}/{} columns bit for bit",
            rel.1,
            rel.0,
            names.len()
        );
        if !(dv <= 1e-9 && rel.0 <= 1e-9) {
            failures.push(format!("{protocol}: dv {dv:e}, {} rel {:e}", rel.1, rel.0));
        }
        worst_dv = worst_dv.max(dv);
        if rel.0 > worst_rel.0 || rel.0.is_nan() {
            worst_rel = (rel.0, format!("{protocol} {}", rel.1));
        }
    }
    println!(
        "{case}: worst max|dv| = {worst_dv:.3e} mV, worst rel {:.3e} ({})",
        worst_rel.0, worst_rel.1
    );
    assert!(failures.is_empty(), "{case}: {failures:#?}");
}

/// Hodgkin–Huxley sodium and potassium, `METHOD derivimplicit` (three unknowns).
#[test]
fn derivimplicit_hh() {
    check("hhdi");
}

/// A four-state scheme as coupled non-linear derivatives, `METHOD derivimplicit`: a full
/// Jacobian, so the order of Newton's unknowns and the pivoting matter.
#[test]
fn derivimplicit_coupled_scheme() {
    check("markovdi");
}

/// A calcium buffer initialised with `SOLVE … STEADYSTATE derivimplicit` in INITIAL (NEURON
/// 9.0.2: one implicit Euler step of 1e-9 ms).
#[test]
fn steadystate_derivimplicit() {
    check("cabufss");
}

/// `METHOD cnexp` on an equation with the state in a denominator: NEURON falls back to
/// derivimplicit.
#[test]
fn cnexp_falls_back_to_derivimplicit() {
    check("nlgate");
}

/// `METHOD cnexp` on an equation with a product of state terms: NEURON keeps cnexp and drops
/// the state-free part.
#[test]
fn cnexp_with_a_product_of_state_terms() {
    check("cnprod");
}

/// A calcium pool with `METHOD euler` fed by a calcium current SOLVE'd without METHOD.
#[test]
fn euler_pool_and_solve_without_method() {
    check("capool");
}

/// A five-state sodium channel as a first-order KINETIC scheme with CONSERVE, `METHOD sparse`
/// (one linear solve per step), initialised with `SOLVE … STEADYSTATE sparse` (dt 1e9).
#[test]
fn kinetic_sparse_conserve_steadystate() {
    check("kinna");
}

/// Calcium with two buffers as a non-linear KINETIC scheme (`ca + B`, `2 ca + S`), COMPARTMENT
/// volumes, a flux `<<` and two CONSERVEs scaled by the volumes, `METHOD sparse` (iterated).
#[test]
fn kinetic_sparse_compartment_nonlinear() {
    check("kincabuf");
}

/// The order of Newton's unknowns is NEURON's symbol-table order (first character, then the
/// name seen last first), not the order of the equations.
#[test]
fn newton_unknowns_in_neuron_order() {
    let src = "NEURON { SUFFIX o }
        STATE { m h n a2 a1 }
        BREAKPOINT { SOLVE s METHOD derivimplicit }
        DERIVATIVE s { m' = -m  h' = -h  n' = -n  a2' = -a2  a1' = -a1 }";
    let p = compiled::compile_str("o.mod", src).unwrap();
    let cols: Vec<u32> = ["m", "h", "n", "a2", "a1"]
        .iter()
        .map(|n| {
            let k = p.vars.iter().position(|v| v == n).unwrap() as u32;
            p.columns
                .iter()
                .position(|c| *c == isf_nmodl::lower::Column::Var(k))
                .unwrap() as u32
        })
        .collect();
    let unknowns = p
        .state
        .iter()
        .find_map(|i| match i {
            isf_nmodl::lower::Instr::Newton { unknowns, .. } => Some(unknowns.clone()),
            _ => None,
        })
        .expect("a Newton instruction");
    // a1 (seen after a2), a2, h, m, n.
    assert_eq!(unknowns, vec![cols[4], cols[3], cols[1], cols[0], cols[2]]);
}
