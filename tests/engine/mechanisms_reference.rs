//! Single-compartment current- and voltage-clamp tests of every channel against NEURON 9.0.2
//! (`reference/neuron-9.0.2/mechanisms/*`), with the bounds the README states.
//!
//! Every file runs with both numerics. [`Numerics::Exact`] must reproduce every recorded value
//! of every row of every file bit for bit.
//! [`Numerics::Fast`] differs from NEURON in round-off only, which NEURON's own runaway cases
//! amplify without bound: where `cai` crosses 0, NEURON's Nernst guard sets `eca = 1e6 mV` and
//! whether, when and how hard that happens hangs on the last bit. Already on the way there, with
//! V past 190 mV and `cai` falling towards 0, a difference grows about a thousandfold every six
//! steps: from the first visible one (1e-9 mV) to 1e-6 mV in 6 steps, 7–8 steps before `cai`
//! reaches 0 in every such file. For those files the fast numerics must hold up to
//! [`RUNAWAY_ROWS`] rows before the row where NEURON's `cai` first reaches 0, elsewhere at
//! every row: v within [`FAST_MV`], every other column within [`FAST_RELATIVE`] of its largest
//! magnitude.

use crate::common;

use common::{max_abs, max_abs_diff, Table};
use indexmap::IndexMap;
use isf::mechanisms::{Ions, MechanismPlacement, Numerics};
use isf::solver::{CableTree, CellModel, Probe, SimSettings, SimulationBuilder, Traces};
use serde_json::Value;
use std::path::Path;

const SOMA: usize = 1;

/// Rows (1.25 ms) before NEURON's `cai` first reaches 0 from which the runaway is left out of
/// the fast numerics' comparison: at the growth rate above, room for seven more orders of
/// magnitude.
const RUNAWAY_ROWS: usize = 50;

/// README, "Numerics and speed": the fast numerics' largest voltage difference, mV (measured:
/// 3.5e-10 mV).
const FAST_MV: f64 = 1e-9;
/// The fast numerics' largest difference of any other column relative to its largest magnitude
/// (measured: 1.0e-11).
const FAST_RELATIVE: f64 = 1e-10;

/// Runs the protocol described by one `_meta/<file>.json` of a reference folder, each channel
/// placed under the name `rename` gives it (the built-in's name, or a compiled mechanism's).
/// Returns the traces and the reference's column names in trace order.
pub(crate) fn run_protocol(
    folder: &Path,
    file: &str,
    numerics: Numerics,
    rename: &dyn Fn(&str) -> String,
) -> (Traces, Vec<String>, Table, usize) {
    let meta: Value = serde_json::from_str(
        &std::fs::read_to_string(folder.join("_meta").join(file.replace(".csv", ".json"))).unwrap(),
    )
    .unwrap();
    let table = Table::read(&folder.join(file));
    let geom = &meta["geometry"];
    let (l, diam, ra) = (
        geom["L"].as_f64().unwrap(),
        geom["diam"].as_f64().unwrap(),
        geom["Ra"].as_f64().unwrap(),
    );
    let area = geom["area_um2"].as_f64().unwrap();
    let half_ri = ra * (l / 2.0) / (std::f64::consts::PI * (diam / 2.0) * (diam / 2.0)) * 0.01;
    let tree = CableTree::single_compartment(area, geom["cm"].as_f64().unwrap(), half_ri);
    let pas: IndexMap<String, Vec<f64>> = [
        (
            "g".to_string(),
            vec![meta["pas"]["g_pas"].as_f64().unwrap()],
        ),
        (
            "e".to_string(),
            vec![meta["pas"]["e_pas"].as_f64().unwrap()],
        ),
    ]
    .into_iter()
    .collect();
    let mut placements = vec![MechanismPlacement {
        name: "pas".into(),
        nodes: vec![SOMA],
        params: pas,
    }];
    let mut mech_names = vec!["pas".to_string()];
    for m in meta["mechanisms"].as_array().unwrap() {
        let name = m[0].as_str().unwrap().to_string();
        let params: IndexMap<String, Vec<f64>> = m[1]
            .as_object()
            .unwrap()
            .iter()
            .map(|(k, v)| (k.clone(), vec![v.as_f64().unwrap()]))
            .collect();
        placements.push(MechanismPlacement {
            name: rename(&name),
            nodes: vec![SOMA],
            params,
        });
        mech_names.push(name);
    }
    // GLOBALs the protocol set (`usetable_hh`): parameters of their mechanism.
    if let Some(globals) = meta.get("globals_set").and_then(Value::as_object) {
        for (k, x) in globals {
            let pl = placements
                .iter_mut()
                .zip(&mech_names)
                .filter(|(_, m)| k.ends_with(&format!("_{m}")))
                .max_by_key(|(_, m)| m.len())
                .unwrap_or_else(|| panic!("global {k}: no mechanism"));
            let name = k[..k.len() - pl.1.len() - 1].to_string();
            pl.0.params.insert(name, vec![x.as_f64().unwrap()]);
        }
    }
    let mut ions = Ions::defaults(tree.len());
    match meta.get("ions_set").and_then(Value::as_object) {
        // `nmodl/` references: NEURON's defaults, then what the protocol set.
        Some(set) => {
            for (k, x) in set {
                let x = x.as_f64().unwrap();
                match k.as_str() {
                    "ena" => ions.ena_mv.fill(x),
                    "ek" => ions.ek_mv.fill(x),
                    other => panic!("ion value {other} not supported here"),
                }
            }
        }
        // `mechanisms/` references.
        None => {
            ions.ena_mv.fill(50.0);
            ions.ek_mv.fill(-85.0);
        }
    }
    let settings = SimSettings {
        dt_ms: meta["dt"].as_f64().unwrap(),
        celsius: meta["celsius"].as_f64().unwrap(),
        vinit_mv: meta["v_init"].as_f64().unwrap(),
        numerics,
    };
    let model = CellModel::new(&tree, &placements, ions, settings).unwrap();
    let mut b = SimulationBuilder::new(&model);
    let stim = match meta["stim"].as_str().unwrap() {
        "IClamp" => {
            // `mechanisms/` metadata keeps the clamp at the top level, `nmodl/` in `iclamp`.
            let get = |flat: &str, nested: &str| {
                meta[flat]
                    .as_f64()
                    .or_else(|| meta["iclamp"][nested].as_f64())
                    .unwrap_or_else(|| panic!("{file}: no IClamp {nested}"))
            };
            b.add_point(
                "IClamp",
                SOMA,
                &[
                    ("del", get("delay", "delay")),
                    ("dur", get("dur", "dur")),
                    ("amp", get("amp_nA", "amp")),
                ],
            )
            .unwrap()
        }
        "SEClamp" => {
            let f = |k: &str| -> Vec<f64> {
                meta[k]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|x| x.as_f64().unwrap())
                    .collect()
            };
            let (times, levels) = (f("t_switch_ms"), f("v_levels_mV"));
            let h = b
                .add_point(
                    "SEClamp",
                    SOMA,
                    &[
                        ("rs", meta["rs_MOhm"].as_f64().unwrap()),
                        ("dur1", 1e9),
                        ("amp1", levels[0]),
                    ],
                )
                .unwrap();
            for (t, lv) in times.iter().zip(&levels) {
                b.add_events(h, &[*t], &[*lv]).unwrap();
            }
            h
        }
        other => panic!("unknown stim {other}"),
    };
    let mut names = Vec::new();
    for name in &table.names {
        if name == "t" {
            continue;
        }
        let probe = match name.as_str() {
            "v" => Probe::Voltage(SOMA),
            "ina" | "ik" | "ica" | "cai" | "eca" => Probe::Ion {
                variable: name.clone(),
                node: SOMA,
            },
            "iclamp_i" | "seclamp_i" => Probe::Point {
                handle: stim,
                variable: "i".into(),
            },
            "seclamp_vc" => Probe::Point {
                handle: stim,
                variable: "vc".into(),
            },
            _ => {
                let mech = mech_names
                    .iter()
                    .filter(|m| name.ends_with(&format!("_{m}")))
                    .max_by_key(|m| m.len())
                    .unwrap_or_else(|| panic!("column {name}: no mechanism"));
                Probe::Density {
                    mechanism: rename(mech),
                    variable: name[..name.len() - mech.len() - 1].to_string(),
                    node: SOMA,
                }
            }
        };
        b.record(probe);
        names.push(name.clone());
    }
    let mut sim = b.build().unwrap();
    let n = meta["nsteps"].as_u64().unwrap() as usize;
    (sim.run_steps(n), names, table, n)
}

/// Runs the protocol described by one `_meta/<file>.json` and compares with `<file>.csv`.
/// Returns (max |Δv| mV, worst relative column error, worst column name, rows compared).
fn check_file(folder: &Path, file: &str, numerics: Numerics) -> (f64, f64, String, usize) {
    let (traces, names, table, _) = run_protocol(folder, file, numerics, &|m| m.to_string());
    let cols: Vec<(String, usize)> = names.into_iter().enumerate().map(|(i, n)| (n, i)).collect();
    assert_eq!(max_abs_diff(&traces.t, table.column("t")), 0.0, "{file}: t");
    let rows = match (numerics, table.has_column("cai")) {
        (Numerics::Fast, true) => {
            let cai = table.column("cai");
            cai.iter()
                .position(|&c| c <= 0.0)
                .map_or(cai.len(), |r| r.saturating_sub(RUNAWAY_ROWS))
        }
        _ => traces.t.len(),
    };
    let mut dv = 0.0;
    let mut worst = (0.0, String::new());
    for (name, c) in cols {
        let reference = &table.column(&name)[..rows];
        let diff = max_abs_diff(&traces.columns[c][..rows], reference);
        if name == "v" {
            dv = diff;
        } else {
            let scale = max_abs(reference).max(f64::MIN_POSITIVE);
            let rel = diff / scale;
            if rel > worst.0 || rel.is_nan() {
                worst = (rel, name.clone());
            }
        }
    }
    (dv, worst.0, worst.1, rows)
}

fn check_folder(mech: &str) {
    let Some(folder) =
        isf::testing::shared_path(&format!("reference/neuron-9.0.2/mechanisms/{mech}"))
    else {
        return;
    };
    let mut files: Vec<String> = std::fs::read_dir(&folder)
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|f| f.ends_with(".csv"))
        .collect();
    files.sort();
    assert!(!files.is_empty());
    let mut failures = Vec::new();
    for f in &files {
        // ISF_ONLY_FILE=<name.csv> narrows a run to one file when investigating.
        if let Ok(only) = std::env::var("ISF_ONLY_FILE") {
            if *f != only {
                continue;
            }
        }
        for numerics in [Numerics::Exact, Numerics::Fast] {
            let (dv, rel, col, rows) = check_file(&folder, f, numerics);
            println!(
                "{mech}/{f} ({numerics:?}, {rows} rows): max|dv| = {dv:.3e} mV, worst column {col} rel {rel:.3e}"
            );
            let (tol_mv, tol_rel) = match numerics {
                Numerics::Exact => (0.0, 0.0),
                Numerics::Fast => (FAST_MV, FAST_RELATIVE),
            };
            if !(dv <= tol_mv && rel <= tol_rel) {
                failures.push(format!("{f} ({numerics:?}): dv {dv:e}, {col} rel {rel:e}"));
            }
        }
    }
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
