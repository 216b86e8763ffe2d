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
use isf::solver::{CableTree, CellModel, Probe, SimSettings, SimulationBuilder};
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

/// Runs the protocol described by one `_meta/<file>.json` and compares with `<file>.csv`.
/// Returns (max |Δv| mV, worst relative column error, worst column name, rows compared).
fn check_file(folder: &Path, file: &str, numerics: Numerics) -> (f64, f64, String, usize) {
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
    // Half-segment axial resistance, MΩ (NEURON: Ra·(L/2)/(π r²)·0.01).
    let half_ri = ra * (l / 2.0) / (std::f64::consts::PI * (diam / 2.0) * (diam / 2.0)) * 0.01;
    let tree = CableTree::single_compartment(area, geom["cm"].as_f64().unwrap(), half_ri);
    let mut placements = vec![MechanismPlacement {
        name: "pas".into(),
        nodes: vec![SOMA],
        params: [
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
        .collect(),
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
        mech_names.push(name.clone());
        placements.push(MechanismPlacement {
            name,
            nodes: vec![SOMA],
            params,
        });
    }
    let mut ions = Ions::defaults(tree.len());
    ions.ena_mv.fill(50.0);
    ions.ek_mv.fill(-85.0);
    let settings = SimSettings {
        dt_ms: meta["dt"].as_f64().unwrap(),
        celsius: meta["celsius"].as_f64().unwrap(),
        vinit_mv: meta["v_init"].as_f64().unwrap(),
        numerics,
    };
    let model = CellModel::new(&tree, &placements, ions, settings).unwrap();
    let mut b = SimulationBuilder::new(&model);
    let stim = match meta["stim"].as_str().unwrap() {
        "IClamp" => b
            .add_point(
                "IClamp",
                SOMA,
                &[
                    ("del", meta["delay"].as_f64().unwrap()),
                    ("dur", meta["dur"].as_f64().unwrap()),
                    ("amp", meta["amp_nA"].as_f64().unwrap()),
                ],
            )
            .unwrap(),
        "SEClamp" => {
            let times: Vec<f64> = meta["t_switch_ms"]
                .as_array()
                .unwrap()
                .iter()
                .map(|x| x.as_f64().unwrap())
                .collect();
            let levels: Vec<f64> = meta["v_levels_mV"]
                .as_array()
                .unwrap()
                .iter()
                .map(|x| x.as_f64().unwrap())
                .collect();
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
    let mut cols = Vec::new();
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
                    mechanism: mech.clone(),
                    variable: name[..name.len() - mech.len() - 1].to_string(),
                    node: SOMA,
                }
            }
        };
        cols.push((name.clone(), b.record(probe)));
    }
    let mut sim = b.build().unwrap();
    let traces = sim.run_steps(meta["nsteps"].as_u64().unwrap() as usize);
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
