//! Event sources and random-release synapses compiled from `.mod` files and executed by isf's
//! engine against NEURON 9.0.2's single-compartment references
//! (`reference/neuron-9.0.2/nmodl/{NetStim,vecevent,pregen,ProbAMPANMDA2,ProbUDFsyn2}/`) with
//! `Numerics::Exact`: NetStim (a RANDOM stream), VecStim (an event vector), SpikeGenerator (the
//! cell's legacy generator, seeded) and ProbAMPANMDA2/ProbUDFsyn2 (a Random stream attached, or
//! the legacy generator's discarded draws) driven by a VecStim.
//!
//! Acceptance (issue 18): v within 1e-9 mV, every other column within 1e-9 of its largest
//! magnitude, at every row (each case prints its worst column); the synapses' event tables
//! (u, Pv, Pr after each event, released or not) equal.

use crate::common;
use crate::nmodl_points::{compare, f, floats, model, registered};

use common::Table;
use isf::mechanisms::Numerics;
use isf::solver::{NetConHandle, PointHandle, Probe, SimulationBuilder};
use serde_json::Value;

const SOMA: usize = 1;

/// The numbers of the list under `"key": [` (its `nth` occurrence) in JSON text, parsed with
/// Rust's exact `str::parse` (serde_json's default float parser is off by one ulp for some
/// 17-digit numbers).
fn exact_list(text: &str, key: &str, nth: usize) -> Vec<f64> {
    let pat = format!("\"{key}\": [");
    let start = text
        .match_indices(&pat)
        .nth(nth)
        .unwrap_or_else(|| panic!("no list `{key}` #{nth}"))
        .0
        + pat.len();
    let end = start + text[start..].find(']').unwrap();
    text[start..end]
        .split(',')
        .filter(|x| !x.trim().is_empty())
        .map(|x| x.trim().parse().unwrap())
        .collect()
}

/// Parameters set on the point process labelled `label`.
fn params_set(meta: &Value, label: &str) -> Vec<(String, f64)> {
    let pp = meta["point_processes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["label"] == label)
        .unwrap();
    pp["params_set"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| (k.clone(), f(v)))
        .collect()
}

fn as_refs(p: &[(String, f64)]) -> Vec<(&str, f64)> {
    p.iter().map(|(k, v)| (k.as_str(), *v)).collect()
}

/// Adds the file's event source (`sources[0]`): a NetStim or a VecStim.
fn add_source(b: &mut SimulationBuilder, meta: &Value, text: &str) -> PointHandle {
    let src = &meta["sources"][0];
    let spec = &src["spec"];
    match src["kind"].as_str().unwrap() {
        "netstim" => {
            let mut p: Vec<(String, f64)> = ["start", "interval", "number", "noise"]
                .iter()
                .map(|k| (k.to_string(), f(&spec[*k])))
                .collect();
            if let Some(ids) = meta["rng"]["ids"].as_array() {
                for (k, id) in ids.iter().enumerate() {
                    p.push((format!("ranvar_id{}", k + 1), f(id)));
                }
            }
            b.add_point("NetStim", SOMA, &as_refs(&p)).unwrap()
        }
        "vecstim" => {
            let h = b.add_point("VecStim", SOMA, &[]).unwrap();
            b.set_event_vector(h, &exact_list(text, "times", 0))
                .unwrap();
            h
        }
        other => panic!("source kind {other}"),
    }
}

/// Simulated columns by name.
type Columns = Vec<(String, Vec<f64>)>;

/// Runs `reference/neuron-9.0.2/nmodl/<folder>/<file>.csv` with the compiled mechanisms and
/// compares every column; returns ours.
fn run_case(folder: &str, file: &str) -> Option<Columns> {
    let reg = registered()?;
    let dir = isf::testing::shared_path(&format!("reference/neuron-9.0.2/nmodl/{folder}"))?;
    let text = std::fs::read_to_string(dir.join("_meta").join(format!("{file}.json"))).unwrap();
    let meta: Value = serde_json::from_str(&text).unwrap();
    let table = Table::read(&dir.join(format!("{file}.csv")));
    let model = model(&meta, f(&meta["geometry"]["area_um2"]), Numerics::Exact);
    let mut b = SimulationBuilder::new(&model);
    let rng = &meta["rng"];
    match rng["kind"].as_str() {
        Some("pregen_seed") => b.set_seed(f(&rng["seed"])).unwrap(),
        Some("no_setRNG") => b.set_seed(f(&rng["scop_seed"])).unwrap(),
        _ => {}
    }
    let pp = &meta["point_processes"][0];
    let (label, kind) = (pp["label"].as_str().unwrap(), pp["type"].as_str().unwrap());
    let (name, args) = &reg[kind];
    let mut params = params_set(&meta, label);
    // The release stream: ISF's `Random(seed).negexp(1)` or `Random123(a, b, c)` rewound.
    match rng["kind"].as_str() {
        Some("hoc_random_isf") => params.extend([
            ("rng_id1".to_string(), f(&rng["seed"])),
            ("rng_id2".into(), 55.0),
            ("rng_id3".into(), 0.0),
            ("rng_seq".into(), 1.0),
            ("rng_attached".into(), 1.0),
        ]),
        Some("hoc_random123_ids") if kind.starts_with("Prob") => {
            let ids = floats(&rng["ids"]);
            params.extend([
                ("rng_id1".to_string(), ids[0]),
                ("rng_id2".into(), ids[1]),
                ("rng_id3".into(), ids[2]),
                ("rng_seq".into(), 0.0),
                ("rng_attached".into(), 1.0),
            ]);
        }
        _ => {}
    }
    let target = b.add_point(name, SOMA, &as_refs(&params)).unwrap();
    // NET_RECEIVE argument name → element of the NetCon's weight vector.
    let mut netcon: Option<NetConHandle> = None;
    if !meta["sources"].as_array().unwrap().is_empty() {
        let source = add_source(&mut b, &meta, &text);
        let mut w = floats(&meta["netcons"][0]["weights_set"]);
        w.resize(args.len(), 0.0);
        netcon = Some(b.add_netcon(source, target, 0.0, &w).unwrap());
    }
    let mut cols = Vec::new();
    for name in table.names.iter().filter(|n| *n != "t") {
        let probe = match name.as_str() {
            "v" => Probe::Voltage(SOMA),
            "i_pas" => Probe::Density {
                mechanism: "pas".into(),
                variable: "i".into(),
                node: SOMA,
            },
            n if args.iter().skip(1).any(|a| a == n) => Probe::Weight {
                netcon: netcon.unwrap(),
                index: args.iter().position(|a| a == n).unwrap(),
            },
            n => Probe::Point {
                handle: target,
                variable: n.into(),
            },
        };
        cols.push((name.clone(), b.record(probe)));
    }
    let traces = b
        .build()
        .unwrap()
        .run_steps(meta["nsteps"].as_u64().unwrap() as usize);
    compare(&format!("{folder}/{file}"), &table, &traces, &cols);
    let out = cols
        .into_iter()
        .map(|(n, c)| (n, traces.columns[c].clone()))
        .collect();
    Some(out)
}

/// [`run_case`], then the random-release synapse's event table: u, Pv, Pr after each event
/// (NetCon weight elements at the event's first row) and released or not (`B` rose over the
/// event's step) equal the reference's.
fn check_release_table(folder: &str, file: &str, b_col: &str) {
    let Some(ours) = run_case(folder, file) else {
        return;
    };
    let dir = isf::testing::shared_path(&format!("reference/neuron-9.0.2/nmodl/{folder}")).unwrap();
    let events = Table::read(&dir.join(format!("{file}_events.csv")));
    let col = |n: &str| &ours.iter().find(|(c, _)| c == n).unwrap().1;
    let rows = events.column("first_row_after");
    let starts = events.column("step_start_row");
    let mut released = 0;
    for (k, &row) in rows.iter().enumerate() {
        let row = row as usize;
        for (ours_name, theirs) in [("u", "u"), ("Pv", "Pv_after"), ("Pr", "Pr")] {
            assert_eq!(
                col(ours_name)[row],
                events.column(theirs)[k],
                "{folder}/{file}: event {k}: {ours_name}"
            );
        }
        let b = col(b_col);
        let rose = b[row] > b[starts[k] as usize];
        assert_eq!(
            rose,
            events.column("released")[k] == 1.0,
            "{folder}/{file}: event {k}: released"
        );
        released += usize::from(rose);
    }
    println!(
        "{folder}/{file}: event table equal ({released} of {} events released)",
        rows.len()
    );
}

#[test]
fn netstim_regular() {
    run_case("NetStim", "regular_noise0");
}

#[test]
fn netstim_noise_random123() {
    run_case("NetStim", "noise0.5_random123_ids_11_22_33");
}

#[test]
fn vecstim_expsyn() {
    run_case("vecevent", "VecStim_ExpSyn");
}

#[test]
fn spikegenerator_regular() {
    run_case("pregen", "bursts_noise0");
}

#[test]
fn spikegenerator_noise_seeded() {
    run_case("pregen", "bursts_noise0.5_seed12345");
}

#[test]
fn probampanmda2_no_setrng() {
    check_release_table("ProbAMPANMDA2", "isf_no_setRNG", "B_AMPA");
}

#[test]
fn probampanmda2_random_isf() {
    check_release_table("ProbAMPANMDA2", "isf_random123_seed424371", "B_AMPA");
}

#[test]
fn probampanmda2_random123_ids() {
    check_release_table("ProbAMPANMDA2", "facil_random123_ids_3_5_7", "B_AMPA");
}

#[test]
fn probudfsyn2_no_setrng() {
    check_release_table("ProbUDFsyn2", "facil_no_setRNG", "B");
}

#[test]
fn probudfsyn2_random_isf() {
    check_release_table("ProbUDFsyn2", "isf_random123_seed424371", "B");
}
