//! Density mechanisms compiled from ISF's `.mod` files (`../shared/nmodl/isf-library/`) and
//! executed by isf's engine, against NEURON 9.0.2's single-compartment references
//! (`reference/neuron-9.0.2/mechanisms/*`, the same protocols as `mechanisms_reference`) and
//! against the hand-written built-ins with `Numerics::Exact`.
//!
//! Each compiled channel is registered under the alias `<name>~mod` with its built-in's rank, so
//! that built-ins and compiled mechanisms can run side by side in this process.

use crate::common;
use crate::mechanisms_reference::run_protocol;

use common::max_abs;
use isf::mechanisms::compiled;
use isf::mechanisms::{Ions, MechanismPlacement, Numerics};
use isf::solver::{CellModel, Probe, SimSettings, SimulationBuilder, Traces};
use std::path::Path;
use std::sync::OnceLock;

use isf::testing::HAY_CHANNELS as HAY;

/// Further files of ISF's library with NEURON references in `reference/neuron-9.0.2/nmodl/`,
/// registered under their own names.
const OTHERS: &[&str] = &["NaTs2_t", "NaTg", "CaDynamics_E2_v2"];

fn alias(name: &str) -> String {
    format!("{name}~mod")
}

/// Compiles and registers every Hay channel once; false when the library is absent.
fn registered() -> bool {
    static DONE: OnceLock<bool> = OnceLock::new();
    *DONE.get_or_init(|| {
        let Some(dir) = isf::testing::shared_path("nmodl/isf-library/channels_py3") else {
            return false;
        };
        for m in HAY {
            let program = compiled::compile_file(&dir.join(format!("{m}.mod")))
                .unwrap_or_else(|e| panic!("{m}.mod: {e}"));
            assert_eq!(program.name, *m);
            compiled::register(&alias(m), program, Some(m)).unwrap();
        }
        for m in OTHERS {
            let program = compiled::compile_file(&dir.join(format!("{m}.mod")))
                .unwrap_or_else(|e| panic!("{m}.mod: {e}"));
            compiled::register(m, program, None).unwrap();
        }
        if let Some(hh) = isf::testing::shared_path("nmodl/neuron-builtins/hh.mod") {
            let program = compiled::compile_file(&hh).unwrap_or_else(|e| panic!("hh.mod: {e}"));
            compiled::register(&alias("hh"), program, Some("hh")).unwrap();
        }
        true
    })
}

/// Largest |ours − reference| over a column; NaN where exactly one of them is NaN.
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

fn csv_files(folder: &Path) -> Vec<String> {
    let mut files: Vec<String> = std::fs::read_dir(folder)
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|f| f.ends_with(".csv"))
        .collect();
    files.sort();
    files
}

fn compiled_name(n: &str) -> String {
    if HAY.contains(&n) || n == "hh" {
        alias(n)
    } else {
        n.to_string()
    }
}

/// Every protocol of `mechanisms/<mech>` with the compiled channels, exact numerics: V within
/// 1e-9 mV, every other column within 1e-9 of its largest magnitude, at every step; and the
/// same traces, bit for bit, as the built-ins with exact numerics.
fn check_folder(mech: &str) {
    check(&format!("mechanisms/{mech}"), true);
}

/// The protocols of `reference/neuron-9.0.2/<rel>`; `against_builtin`: also bit for bit
/// against the built-ins.
fn check(rel: &str, against_builtin: bool) {
    let mech = rel;
    if !registered() {
        return;
    }
    let Some(folder) = isf::testing::shared_path(&format!("reference/neuron-9.0.2/{rel}")) else {
        return;
    };
    let mut worst = (0.0f64, 0.0f64, String::new());
    let mut failures = Vec::new();
    for f in csv_files(&folder) {
        let (ours, names, table, _) = run_protocol(&folder, &f, Numerics::Exact, &compiled_name);
        assert_eq!(max_abs_diff(&ours.t, table.column("t")), 0.0, "{f}: t");
        let mut dv = 0.0;
        let mut rel = (0.0, String::new());
        for (c, name) in names.iter().enumerate() {
            let reference = table.column(name);
            let diff = max_abs_diff(&ours.columns[c], reference);
            if name == "v" {
                dv = diff;
            } else {
                let r = diff / max_abs(reference).max(f64::MIN_POSITIVE);
                if r > rel.0 || r.is_nan() {
                    rel = (r, name.clone());
                }
            }
        }
        let v = &ours.columns[names.iter().position(|n| n == "v").unwrap()];
        assert!(v.iter().all(|x| x.is_finite()), "{f}: v not finite");
        println!(
            "compiled {mech}/{f}: max|dv| = {dv:.3e} mV, worst column {} rel {:.3e}",
            rel.1, rel.0
        );
        if !(dv <= 1e-9 && rel.0 <= 1e-9) {
            failures.push(format!("{f}: dv {dv:e}, {} rel {:e}", rel.1, rel.0));
        }
        worst.0 = worst.0.max(dv);
        if rel.0 > worst.1 {
            worst.1 = rel.0;
            worst.2 = format!("{f} {}", rel.1);
        }
        if !against_builtin {
            continue;
        }
        // Bit-identical to the hand-written mechanisms' exact numerics.
        let (builtin, _, _, _) = run_protocol(&folder, &f, Numerics::Exact, &|n| n.to_string());
        for (c, name) in names.iter().enumerate() {
            let same = ours.columns[c]
                .iter()
                .zip(&builtin.columns[c])
                .all(|(a, b)| a.to_bits() == b.to_bits() || (*a == 0.0 && *b == 0.0));
            if !same {
                let d = max_abs_diff(&ours.columns[c], &builtin.columns[c]);
                failures.push(format!(
                    "{f}: column {name} differs from the built-in by {d:e}"
                ));
            }
        }
    }
    println!(
        "compiled {mech}: worst max|dv| = {:.3e} mV, worst rel {:.3e} ({})",
        worst.0, worst.1, worst.2
    );
    assert!(failures.is_empty(), "{mech}: {failures:#?}");
}

macro_rules! mech_tests {
    ($($fn:ident => $name:literal),* $(,)?) => { $( #[test] fn $fn() { check_folder($name); } )* };
}

mech_tests! {
    cadynamics_e2 => "CaDynamics_E2",
    ca_hva => "Ca_HVA",
    ca_lvast => "Ca_LVAst",
    ih => "Ih",
    im => "Im",
    k_pst => "K_Pst",
    k_tst => "K_Tst",
    nata_t => "NaTa_t",
    nap_et2 => "Nap_Et2",
    sk_e2 => "SK_E2",
    skv3_1 => "SKv3_1",
    hay_soma => "hay_soma",
}

#[test]
fn nats2_t() {
    check("nmodl/NaTs2_t", false);
}

#[test]
fn natg() {
    check("nmodl/NaTg", false);
}

#[test]
fn cadynamics_e2_v2() {
    check("nmodl/CaDynamics_E2_v2", false);
}

/// NEURON's hh (a PROCEDURE TABLE with DEPEND celsius) with usetable 1 and 0.
#[test]
fn hh_table() {
    check("nmodl/hh", false);
}

#[test]
fn registering_a_name_twice_is_an_error() {
    let src = "NEURON { SUFFIX twice }  PARAMETER { g = 1 }";
    let p = compiled::compile_str("twice.mod", src).unwrap();
    compiled::register("twice", p.clone(), None).unwrap();
    let e = compiled::register("twice", p, None)
        .unwrap_err()
        .to_string();
    assert!(e.contains("twice") && e.contains("defined twice"), "{e}");
}

/// A ball and stick (soma and a dendrite of `LANES + 6` segments: a full and a partial block per
/// mechanism) with every Hay channel on every segment, an IClamp at the soma: the compiled
/// channels and the built-ins with exact numerics give the same traces bit for bit (voltages,
/// calcium, gates).
#[test]
fn multi_compartment_bit_identical_to_builtins() {
    use isf::cell::{build_cable, segment_geometry, CableSection, SectionShape};
    if !registered() {
        return;
    }
    let shape = |l: f64, d: f64| SectionShape::Cylinder {
        length_um: l,
        diam_um: d,
    };
    let secs: Vec<CableSection> = [
        (None, 1, shape(20.0, 20.0)),
        (Some((0, 1.0)), compiled::LANES + 6, shape(700.0, 1.5)),
    ]
    .into_iter()
    .map(|(parent, nseg, s)| CableSection {
        parent,
        nseg,
        geometry: segment_geometry(&s, nseg, 100.0),
        cm_uf_cm2: vec![1.0; nseg],
    })
    .collect();
    let layout = build_cable(&secs).unwrap();
    let mut nodes: Vec<usize> = (0..secs.len())
        .flat_map(|s| (0..secs[s].nseg).map(move |k| (s, k)))
        .map(|(s, k)| layout.first_node[s] + k)
        .collect();
    nodes.sort_unstable();
    let soma = layout.first_node[0];
    let dend = |k: usize| layout.first_node[1] + k;
    // Densities of the reference's hay_soma protocol, decreasing along the dendrite so that
    // every instance differs.
    let densities: &[(&str, &str, f64)] = &[
        ("Ca_LVAst", "gCa_LVAstbar", 0.00462),
        ("Ca_HVA", "gCa_HVAbar", 0.000642),
        ("SKv3_1", "gSKv3_1bar", 0.983),
        ("SK_E2", "gSK_E2bar", 0.0492),
        ("K_Tst", "gK_Tstbar", 0.0471),
        ("K_Pst", "gK_Pstbar", 0.002),
        ("Nap_Et2", "gNap_Et2bar", 0.00499),
        ("NaTa_t", "gNaTa_tbar", 2.43),
        ("CaDynamics_E2", "gamma", 0.000616),
        ("Ih", "gIhbar", 8e-05),
        ("Im", "gImbar", 0.0001),
    ];
    let run = |rename: &dyn Fn(&str) -> String| -> Traces {
        let mut placements = vec![MechanismPlacement {
            name: "pas".into(),
            nodes: nodes.clone(),
            params: [
                ("g".to_string(), vec![3e-5; nodes.len()]),
                ("e".to_string(), vec![-90.0; nodes.len()]),
            ]
            .into_iter()
            .collect(),
        }];
        for &(m, p, g) in densities {
            let vals = (0..nodes.len())
                .map(|j| g * (1.0 - j as f64 / 100.0))
                .collect();
            placements.push(MechanismPlacement {
                name: rename(m),
                nodes: nodes.clone(),
                params: [(p.to_string(), vals)].into_iter().collect(),
            });
        }
        let mut ions = Ions::defaults(layout.cable.len());
        ions.ek_mv.fill(-85.0);
        let settings = SimSettings {
            dt_ms: 0.025,
            celsius: 34.0,
            vinit_mv: -75.0,
            numerics: Numerics::Exact,
        };
        let model = CellModel::new(&layout.cable, &placements, ions, settings).unwrap();
        let mut b = SimulationBuilder::new(&model);
        b.add_point("IClamp", soma, &[("del", 5.0), ("dur", 50.0), ("amp", 1.5)])
            .unwrap();
        for node in [soma, dend(0), dend(35), dend(63), dend(64), dend(69)] {
            b.record(Probe::Voltage(node));
            b.record(Probe::Ion {
                variable: "cai".into(),
                node,
            });
            b.record(Probe::Density {
                mechanism: rename("NaTa_t"),
                variable: "m".into(),
                node,
            });
            b.record(Probe::Density {
                mechanism: rename("SK_E2"),
                variable: "z".into(),
                node,
            });
        }
        let mut sim = b.build().unwrap();
        sim.run_steps(3000)
    };
    let builtin = run(&|n| n.to_string());
    // ISF_ONLY_COMPILED=<name> compiles only that channel (when investigating a difference).
    let only = std::env::var("ISF_ONLY_COMPILED").ok();
    let ours = run(&|n| match &only {
        Some(o) if o != n => n.to_string(),
        _ => compiled_name(n),
    });
    let vmax = builtin.columns[0].iter().cloned().fold(f64::MIN, f64::max);
    assert!(vmax > 0.0, "the protocol should fire (soma peak {vmax} mV)");
    for (c, (a, b)) in ours.columns.iter().zip(&builtin.columns).enumerate() {
        let same = a.iter().zip(b).all(|(x, y)| x.to_bits() == y.to_bits());
        assert!(same, "column {c}: max diff {:e}", max_abs_diff(a, b));
    }
}
