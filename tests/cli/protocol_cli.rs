//! `isf protocol` end to end: the example cell 86 at rest (a 30 ms protocol with an IClamp that
//! starts after tstop) must reproduce the first rows of NEURON's soma_step run (which is at rest
//! until 700 ms) at the soma and an apical site; bad protocol files are reported with the key.

use crate::common;

use common::{max_abs_diff, Table};
use isf::testing::shared_path;
use std::process::Command;

#[test]
fn protocol_at_rest_matches_neuron_soma_step_prefix() {
    let (Some(param), Some(reference)) = (
        shared_path("isf-example/86_C2_center.param"),
        shared_path("reference/neuron-9.0.2/soma_step/amp_0.619nA/vm.csv"),
    ) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let proto = dir.path().join("rest.toml");
    std::fs::write(
        &proto,
        "tstop = 30.0\ndt = 0.025\n\
         [[iclamp]]\nsection = 0\nx = 0.5\ndelay = 700.0\ndur = 2000.0\namp = 0.619\n\
         [[record]]\nsection = 0\nx = 0.5\n\
         [[record]]\nsection = 38\nx = 0.9857\n",
    )
    .unwrap();
    let out = dir.path().join("out");
    let status = Command::new(env!("CARGO_BIN_EXE_isf"))
        .arg("protocol")
        .args([
            param.as_os_str(),
            proto.as_os_str(),
            "--out".as_ref(),
            out.as_os_str(),
        ])
        .status()
        .unwrap();
    assert!(status.success());
    let ours = Table::read(&out.join("vm.csv"));
    assert_eq!(ours.names, ["t", "sec0_x0.5", "sec38_x0.9857"]);
    let neuron = Table::read(&reference);
    let rows = ours.columns[0].len();
    // ISF's loop: while t < 30 → 1201 steps (t accumulates below 30 after 1200 steps).
    assert_eq!(rows, 1202);
    let prefix = |c: &[f64]| c[..rows].to_vec();
    assert_eq!(
        max_abs_diff(&ours.columns[0], &prefix(&neuron.columns[0])),
        0.0
    );
    let dv_soma = max_abs_diff(&ours.columns[1], &prefix(neuron.column("soma")));
    let dv_apical = max_abs_diff(
        &ours.columns[2],
        &prefix(neuron.column("apical_970um_sec038_seg034_x0.9857")),
    );
    assert!(
        dv_soma <= 1e-9 && dv_apical <= 1e-9,
        "{dv_soma:e} {dv_apical:e}"
    );
}

#[test]
fn bad_protocol_is_reported_with_file_and_key() {
    let Some(param) = shared_path("isf-example/86_C2_center.param") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let proto = dir.path().join("bad.toml");
    std::fs::write(
        &proto,
        "[[iclamp]]\nsection = 999\nx = 0.5\ndelay = 1.0\ndur = 1.0\namp = 1.0\n",
    )
    .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_isf"))
        .arg("protocol")
        .args([
            param.as_os_str(),
            proto.as_os_str(),
            "--out".as_ref(),
            dir.path().join("o").as_os_str(),
        ])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("bad.toml") && err.contains("iclamp[0].section"),
        "{err}"
    );
    assert!(!dir.path().join("o").join("vm.csv").exists());
}

/// The `.mod` files of the event sources and random-release synapses (under `nmodl/`).
const STIM_FILES: &[&str] = &[
    "neuron-builtins/expsyn.mod",
    "neuron-builtins/netstim.mod",
    "isf-library/netcon_py3/vecevent.mod",
    "isf-library/netcon_py3/pregen.mod",
    "isf-library/channels_py3/ProbAMPANMDA2.mod",
    "isf-library/channels_py3/ProbUDFsyn2.mod",
];

/// The JSON list under `"key": [` (its first occurrence) copied verbatim: TOML reads the same
/// decimal text, so every time is the double NEURON was given.
fn raw_list(text: &str, key: &str) -> String {
    let pat = format!("\"{key}\": [");
    let start = text.find(&pat).unwrap_or_else(|| panic!("no `{key}`")) + pat.len();
    let end = start + text[start..].find(']').unwrap();
    format!(
        "[{}]",
        text[start..end]
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
    )
}

/// The `isf protocol` TOML reproducing an `nmodl/` reference with point processes, event
/// sources and random streams from its `_meta` JSON (`text`), recording `columns` (after `t`)
/// by their reference names.
fn stim_protocol(text: &str, columns: &[String]) -> String {
    use serde_json::Value;
    let meta: Value = serde_json::from_str(text).unwrap();
    let f = |v: &Value| v.as_f64().unwrap();
    let num = |v: &Value| format!("{:e}", f(v));
    let table = |v: &Value| {
        let items: Vec<String> = v
            .as_object()
            .unwrap()
            .iter()
            .map(|(k, x)| format!("{k} = {}", num(x)))
            .collect();
        format!("{{ {} }}", items.join(", "))
    };
    let ids = |v: &Value| {
        let ids: Vec<String> = v
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x.to_string())
            .collect();
        format!("[{}]", ids.join(", "))
    };
    let g = &meta["geometry"];
    let rng = &meta["rng"];
    let mut t = format!(
        "tstop = {}\ndt = {}\ncelsius = {}\nnumerics = \"exact\"\nrecord = [{}]\n",
        num(&meta["tstop"]),
        num(&meta["dt"]),
        num(&meta["celsius"]),
        columns[1..]
            .iter()
            .map(|c| format!("\"{c}\""))
            .collect::<Vec<_>>()
            .join(", ")
    );
    // The cell's legacy generator: SpikeGenerator's `seed(x)`, or `set_seed` before a
    // Prob* synapse without `setRNG`.
    match rng["kind"].as_str() {
        Some("pregen_seed") => t += &format!("seed = {}\n", rng["seed"]),
        Some("no_setRNG") => t += &format!("seed = {}\n", rng["scop_seed"]),
        _ => {}
    }
    t += &format!(
        "[cell]\nL = {}\ndiam = {}\ncm = {}\nRa = {}\nv_init = {}\n\
         [cell.mechanisms]\npas = {{ g = {}, e = {} }}\n",
        num(&g["L"]),
        num(&g["diam"]),
        num(&g["cm"]),
        num(&g["Ra"]),
        num(&meta["v_init"]),
        num(&meta["pas"]["g_pas"]),
        num(&meta["pas"]["e_pas"]),
    );
    for src in meta["sources"].as_array().unwrap() {
        let label = src["label"].as_str().unwrap();
        match src["kind"].as_str().unwrap() {
            "netstim" => {
                t += &format!(
                    "[[point]]\nmechanism = \"NetStim\"\nname = \"{label}\"\nparams = {}\n",
                    table(&src["spec"])
                );
                if rng["kind"] == "netstim_random123" {
                    t += &format!(
                        "random = {{ kind = \"Random123\", ids = {} }}\n",
                        ids(&rng["ids"])
                    );
                }
            }
            "vecstim" => {
                t += &format!(
                    "[[point]]\nmechanism = \"VecStim\"\nname = \"{label}\"\nvector = {}\n",
                    raw_list(text, "times")
                )
            }
            other => panic!("source kind {other}"),
        }
    }
    for pp in meta["point_processes"].as_array().unwrap() {
        let label = pp["label"].as_str().unwrap();
        let kind = pp["type"].as_str().unwrap();
        t += &format!(
            "[[point]]\nmechanism = \"{kind}\"\nname = \"{label}\"\nparams = {}\n",
            table(&pp["params_set"])
        );
        match rng["kind"].as_str() {
            Some("hoc_random_isf") => {
                t += &format!("random = {{ kind = \"Random\", seed = {} }}\n", rng["seed"])
            }
            Some("hoc_random123_ids") if kind.starts_with("Prob") => {
                t += &format!(
                    "random = {{ kind = \"Random123\", ids = {} }}\n",
                    ids(&rng["ids"])
                )
            }
            _ => {}
        }
        for nc in meta["netcons"].as_array().unwrap() {
            if nc["target"] == label {
                let w: Vec<String> = nc["weights_set"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(num)
                    .collect();
                t += &format!(
                    "source = \"{}\"\ndelay = {}\nweights = [{}]\n",
                    nc["source"].as_str().unwrap(),
                    num(&nc["delay"]),
                    w.join(", ")
                );
            }
        }
    }
    t
}

/// Runs every CSV of `nmodl/<folder>` (but the `_events` tables) through `isf protocol` with
/// the catalogue `cat` in `dir`, comparing every column at the references' tolerance.
fn reproduce_stim_folder(dir: &std::path::Path, folder: &str) {
    let ref_dir = shared_path(&format!("reference/neuron-9.0.2/nmodl/{folder}")).unwrap();
    let mut files: Vec<String> = std::fs::read_dir(&ref_dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|f| f.ends_with(".csv") && !f.ends_with("_events.csv"))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "{folder}");
    for file in files {
        let stem = file.trim_end_matches(".csv");
        let text =
            std::fs::read_to_string(ref_dir.join("_meta").join(format!("{stem}.json"))).unwrap();
        let reference = ref_dir.join(&file);
        let columns = Table::read(&reference).names;
        let toml = stim_protocol(&text, &columns);
        let name = format!("{folder}_{stem}");
        std::fs::write(dir.join(format!("{name}.toml")), &toml).unwrap();
        common::process::check(
            common::process::isf(dir)
                .arg("protocol")
                .arg(format!("{name}.toml"))
                .args(["--out", &name, "--mechanisms", "stim.cat"])
                .output()
                .unwrap(),
            &format!("isf protocol {name}:\n{toml}"),
        );
        let (dv, rel) = crate::mech_workflow::compare(
            &dir.join(&name).join("vm.csv"),
            &reference,
            &columns[1..],
        );
        println!("nmodl/{folder}/{file}: max |dv| {dv:e} mV, worst column {rel:e}");
    }
}

/// A folder with `stim.cat` compiled from [`STIM_FILES`], or None (skipped).
fn stim_catalogue() -> Option<tempfile::TempDir> {
    let Some(nmodl) = shared_path("nmodl") else {
        eprintln!("skipped: nmodl/ absent");
        return None;
    };
    shared_path("reference/neuron-9.0.2/nmodl")?;
    let dir = tempfile::tempdir().unwrap();
    let files: Vec<std::path::PathBuf> = STIM_FILES.iter().map(|f| nmodl.join(f)).collect();
    common::process::check(
        crate::mech_workflow::build(dir.path(), &files, "stim.cat"),
        "mech build",
    );
    Some(dir)
}

#[test]
fn protocol_reproduces_vecstim_event_vector() {
    let Some(dir) = stim_catalogue() else { return };
    reproduce_stim_folder(dir.path(), "vecevent");
}

#[test]
fn protocol_reproduces_spikegenerator_with_legacy_seed() {
    let Some(dir) = stim_catalogue() else { return };
    reproduce_stim_folder(dir.path(), "pregen");
}

#[test]
fn protocol_reproduces_netstim_noise_with_random123_ids() {
    let Some(dir) = stim_catalogue() else { return };
    reproduce_stim_folder(dir.path(), "NetStim");
}

#[test]
fn protocol_reproduces_random_release_synapses() {
    let Some(dir) = stim_catalogue() else { return };
    // ISF's Random(seed), Random123(a, b, c) and no stream after set_seed.
    reproduce_stim_folder(dir.path(), "ProbAMPANMDA2");
    reproduce_stim_folder(dir.path(), "ProbUDFsyn2");
}

#[test]
fn protocol_stream_vector_and_source_errors_name_the_key_and_line() {
    let Some(dir) = stim_catalogue() else { return };
    let d = dir.path();
    let run = |text: &str| {
        std::fs::write(d.join("p.toml"), text).unwrap();
        let o = common::process::isf(d)
            .args([
                "protocol",
                "p.toml",
                "--out",
                "out",
                "--mechanisms",
                "stim.cat",
            ])
            .output()
            .unwrap();
        assert!(!o.status.success(), "{text}");
        String::from_utf8_lossy(&o.stderr).into_owned()
    };
    let cell = "tstop = 1.0\n[cell]\n";
    let e = run(&format!("seed = -1\n{cell}"));
    assert!(e.contains("p.toml:1: seed"), "{e}");
    let e = run(&format!(
        "{cell}[[point]]\nmechanism = \"ExpSyn\"\nsource = \"vs\"\nweights = [1.0]\n"
    ));
    assert!(
        e.contains("p.toml:5: point[0].source") && e.contains("`vs`"),
        "{e}"
    );
    let e = run(&format!(
        "{cell}[[point]]\nmechanism = \"VecStim\"\nname = \"vs\"\nvector = [1.0, nan]\n"
    ));
    assert!(e.contains("p.toml:6: point[0].vector"), "{e}");
    // A point process that reads no event vector is not played one (it would be ignored).
    let e = run(&format!(
        "{cell}[[point]]\nmechanism = \"ExpSyn\"\nname = \"e\"\nvector = [1.0]\n"
    ));
    assert!(
        e.contains("p.toml:6: point[0].vector") && e.contains("`ExpSyn` takes no event vector"),
        "{e}"
    );
    let e = run(&format!(
        "{cell}[[point]]\nmechanism = \"ProbUDFsyn2\"\nrandom = {{ kind = \"Random\" }}\n"
    ));
    assert!(e.contains("p.toml:5: point[0].random"), "{e}");
    let e = run(&format!(
        "{cell}[[point]]\nmechanism = \"ExpSyn\"\nrandom = {{ kind = \"Random\", seed = 3 }}\n"
    ));
    assert!(
        e.contains("p.toml:5: point[0].random") && e.contains("`ExpSyn` has no random stream"),
        "{e}"
    );
    let e = run(&format!(
        "{cell}[[point]]\nmechanism = \"NetStim\"\nrandom = {{ kind = \"Random\", seed = 3 }}\n"
    ));
    assert!(
        e.contains("point[0].random") && e.contains("RANDOM variable"),
        "{e}"
    );
    let e = run(&format!(
        "{cell}[[point]]\nmechanism = \"NetStim\"\n\
         random = {{ kind = \"Random123\", ids = [1, 2, 3], stream = \"rng\" }}\n"
    ));
    assert!(
        e.contains("no random stream `rng`") && e.contains("ranvar"),
        "{e}"
    );
}
