//! Spatial rules, distances and error reporting on a small synthetic cell whose values are
//! computed by hand.

use isf::cell::CellTemplate;
use isf::param::CellParams;
use std::path::{Path, PathBuf};

// soma: 10 µm along y (diam 10), apical_1: 100 µm along z from the soma's middle point,
// apical_2: 100 µm more, dend_1: 50 µm along x. Soma children attach at soma(0.5) (ISF),
// so distance_to_soma = 5 + path length within the tree; d_label starts at apical_1(0).
const HOC: &str = "\
{create soma}
{pt3dadd(0, 0, 0, 10)}
{pt3dadd(0, 10, 0, 10)}
{create apical_1}
{connect apical_1(0), soma(0.2)}
{pt3dadd(0, 10, 0, 1)}
{pt3dadd(0, 10, 50, 1)}
{pt3dadd(0, 10, 100, 1)}
{create apical_2}
{connect apical_2(0), apical_1(1)}
{pt3dadd(0, 10, 100, 1)}
{pt3dadd(0, 10, 200, 1)}
{create dend_1}
{connect dend_1(0), soma(0.5)}
{pt3dadd(0, 10, 0, 2)}
{pt3dadd(50, 10, 0, 2)}
";

fn param_text(apical_mechs: &str, extra_neuron: &str) -> String {
    format!(
        "{{
 'neuron': {{
  'filename': 'cell.hoc',
  {extra_neuron}
  'Soma': {{'properties': {{'Ra': 100.0, 'cm': 1.0, 'ions': {{'ek': -85.0}}}},
            'mechanisms': {{'global': {{}}, 'range': {{'pas': {{'spatial': 'uniform', 'g': 1e-4, 'e': -70}}}}}}}},
  'Dendrite': {{'properties': {{'Ra': 100.0, 'cm': 2.0}},
            'mechanisms': {{'global': {{}}, 'range': {{'pas': {{'spatial': 'uniform', 'g': 2e-4, 'e': -70}}}}}}}},
  'ApicalDendrite': {{'properties': {{'Ra': 100.0, 'cm': 1.0}},
            'mechanisms': {{'global': {{}}, 'range': {{ {apical_mechs} }}}}}},
 }},
 'sim': {{'Vinit': -75.0, 'tStart': 0.0, 'tStop': 10.0, 'dt': 0.025, 'T': 34.0, 'recordingSites': []}},
}}
"
    )
}

fn write_cell(dir: &Path, hoc: &str, param: &str) -> PathBuf {
    std::fs::write(dir.join("cell.hoc"), hoc).unwrap();
    let p = dir.join("cell.param");
    std::fs::write(&p, param).unwrap();
    p
}

const RULES: &str = "
  'pas': {'spatial': 'uniform', 'g': 1e-4, 'e': -70},
  'Ih': {'spatial': 'exponential', 'distance': 'relative', 'gIhbar': 2e-4,
         'offset': -0.8696, 'linScale': 2.087, '_lambda': 3.6161, 'xOffset': 0.0},
  'Ca_HVA': {'spatial': 'uniform_range', 'gCa_HVAbar': 1e-3, 'begin': 50.0, 'end': 150.0,
             'outsidescale': 0.1},
  'NaTa_t': {'spatial': 'linear', 'distance': 'absolute', 'gNaTa_tbar': 0.02,
             'slope': -0.001, 'offset': 0.5},
  'SKv3_1': {'spatial': 'linear_capped', 'distance': 'absolute', 'param_name': 'gSKv3_1bar',
             'prox_value': 0.1, 'dist_value': 0.01, 'dist_value_distance': 100.0},
  'K_Pst': {'spatial': 'sigmoid', 'distance': 'absolute', 'gK_Pstbar': 0.01, 'offset': 0.1,
            'linScale': 1.0, 'xOffset': 100.0, 'width': 20.0},
  'Im': {'spatial': 'capped_exponential', 'distance': 'absolute', 'gImbar': 1e-4, 'offset': 0.0,
         'linScale': 1.0, '_lambda': 0.02, 'xOffset': 0.0, 'max_g': 5e-4},
  'K_Tst': {'spatial': 'exponential_by_z_dist', 'distance': 'absolute', 'gK_Tstbar': 0.01,
            'offset': 0.0, 'linScale': 1.0, '_lambda': 1.0, 'xOffset': 0.0},
";

fn rel_close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-12 * b.abs().max(1e-300)
}

#[test]
fn spatial_rules_by_hand() {
    let dir = tempfile::tempdir().unwrap();
    let p = write_cell(dir.path(), HOC, &param_text(RULES, ""));
    let cell = CellTemplate::from_params(&CellParams::read(&p).unwrap()).unwrap();
    assert_eq!(cell.sections.len(), 4);
    // the hoc position soma(0.2) is replaced by soma(0.5)
    assert_eq!(cell.sections[1].parent_x, 0.5);
    let val = |mech: &str, param: &str, s: usize, k: usize| {
        let node = cell.sections[s].first_node + k;
        cell.mechanism(mech).unwrap().value_at(param, node).unwrap()
    };
    let mut checked = 0;
    for s in [1usize, 2] {
        let sec = &cell.sections[s];
        for k in 0..sec.nseg {
            let x = (k as f64 + 0.5) / sec.nseg as f64;
            // path length from apical_1(0); soma half length 5 µm; maxDist = 200 µm
            let d = if s == 1 { 100.0 * x } else { 100.0 + 100.0 * x };
            let soma_d = 5.0 + d;
            let ih = 2e-4 * (-0.8696 + 2.087 * (3.6161 * (d / 200.0)).exp());
            assert!(rel_close(val("Ih", "gIhbar", s, k), ih));
            let ca = if (50.0..=150.0).contains(&d) {
                1e-3
            } else {
                1e-3 * 0.1
            };
            assert!(rel_close(val("Ca_HVA", "gCa_HVAbar", s, k), ca));
            let na = f64::max(0.02 * (soma_d * -0.001 + 1.0), 0.02 * 0.5);
            assert!(rel_close(val("NaTa_t", "gNaTa_tbar", s, k), na));
            let sk = if soma_d >= 100.0 {
                0.01
            } else {
                0.1 + (0.01 - 0.1) / 100.0 * soma_d
            };
            assert!(rel_close(val("SKv3_1", "gSKv3_1bar", s, k), sk));
            let kp = 0.01 * (0.1 + 1.0 / (1.0 + ((d - 100.0) / 20.0).exp()));
            assert!(rel_close(val("K_Pst", "gK_Pstbar", s, k), kp));
            let im = f64::min(1e-4 * (0.02 * d).exp(), 5e-4);
            assert!(rel_close(val("Im", "gImbar", s, k), im));
            // z above the soma's middle point, interpolated over relPts, in mm
            let kt = 0.01 * (d / 1000.0).exp();
            assert!(rel_close(val("K_Tst", "gK_Tstbar", s, k), kt));
            checked += 1;
        }
    }
    assert!(checked >= 4);
    // uniform, and per-label values of one mechanism
    assert_eq!(val("pas", "g", 3, 0), 2e-4);
    assert_eq!(val("pas", "g", 0, 0), 1e-4);
    // mechanisms absent from a label are absent from its nodes
    assert!(cell
        .mechanism("Ih")
        .unwrap()
        .value_at("gIhbar", cell.sections[3].first_node)
        .is_none());
    // distances
    assert!(rel_close(cell.distance_to_soma(2, 1.0), 205.0));
    assert!(rel_close(cell.synaptic_soma_distance(2, 0.25), 125.0));
    assert!(rel_close(cell.distance_to_soma(3, 0.5), 30.0));
    // ions only where set; cm per label
    assert_eq!(cell.ions.ek_mv[cell.soma_node], -85.0);
    assert!(cell.ions.ek_mv[cell.sections[1].first_node].is_nan());
    assert_eq!(cell.cable.cm_uf_cm2[cell.sections[3].first_node], 2.0);
}

#[test]
fn spines_scale_cm_and_g_pas() {
    let dir = tempfile::tempdir().unwrap();
    let text = param_text("'pas': {'spatial': 'uniform', 'g': 1e-4, 'e': -70}", "").replace(
        "'Ra': 100.0, 'cm': 2.0}",
        "'Ra': 100.0, 'cm': 2.0, 'spines': {'density': 1.0, 'area': 1.0}}",
    );
    let p = write_cell(dir.path(), HOC, &text);
    let cell = CellTemplate::from_params(&CellParams::read(&p).unwrap()).unwrap();
    // dend_1: cylinder 50 × 2 µm, area 100π; F = 1 + 1·1·50/(100π)
    let f = 1.0 + 50.0 / (100.0 * std::f64::consts::PI);
    let node = cell.sections[3].first_node;
    assert!((cell.cable.cm_uf_cm2[node] - 2.0 * f).abs() < 1e-9);
    let g = cell.mechanism("pas").unwrap().value_at("g", node).unwrap();
    assert!((g - 2e-4 * f).abs() < 1e-15);
}

fn build_err(hoc: &str, param: &str) -> String {
    let dir = tempfile::tempdir().unwrap();
    let p = write_cell(dir.path(), hoc, param);
    match CellParams::read(&p) {
        Err(e) => e.to_string(),
        Ok(params) => CellTemplate::from_params(&params).unwrap_err().to_string(),
    }
}

#[test]
fn bad_input_gives_clear_errors() {
    // unknown spatial rule: names the file, the line and the known rules
    let e = build_err(
        HOC,
        &param_text("'pas': {'spatial': 'quadratic', 'g': 1e-4}", ""),
    );
    assert!(
        e.contains("cell.param") && e.contains("quadratic") && e.contains("uniform_range"),
        "{e}"
    );
    assert!(e.contains(":7") || e.contains("line 7"), "{e}");
    // truncated parameter file
    let full = param_text(RULES, "");
    let e = build_err(HOC, &full[..full.len() / 2]);
    assert!(e.contains("cell.param"), "{e}");
    // connect to a section that does not exist: hoc file and line
    let e = build_err(
        &HOC.replace("apical_1(1)", "apical_9(1)"),
        &param_text(RULES, ""),
    );
    assert!(e.contains("cell.hoc:10") && e.contains("apical_9"), "{e}");
    // missing morphology file
    let e = build_err(
        HOC,
        &param_text(RULES, "").replace("'cell.hoc'", "'missing.hoc'"),
    );
    assert!(e.contains("missing.hoc"), "{e}");
    // unknown cell modify function lists the known ones
    let e = build_err(
        HOC,
        &param_text(RULES, "'cell_modify_functions': {'grow_axon': {}},"),
    );
    assert!(
        e.contains("grow_axon") && e.contains("scale_apical_morph_86"),
        "{e}"
    );
    // a rule key missing
    let e = build_err(
        HOC,
        &param_text(
            "'Ih': {'spatial': 'exponential', 'distance': 'relative', 'gIhbar': 1.0}",
            "",
        ),
    );
    assert!(e.contains("offset"), "{e}");
    // unknown mechanism and unknown parameter: the catalogue's known names
    let e = build_err(
        HOC,
        &param_text("'NaX': {'spatial': 'uniform', 'gbar': 1.0}", ""),
    );
    assert!(
        e.contains("cell.param") && e.contains("NaX") && e.contains("NaTa_t"),
        "{e}"
    );
    let e = build_err(
        HOC,
        &param_text("'pas': {'spatial': 'uniform', 'gpas': 1.0}", ""),
    );
    assert!(e.contains("gpas") && e.contains("known"), "{e}");
    // a label the morphology does not have
    let e = build_err(
        HOC,
        &param_text(RULES, "'Myelin': {'properties': {'Ra': 100.0, 'cm': 0.02}, 'mechanisms': {'global': {}, 'range': {}}},"),
    );
    assert!(e.contains("Myelin"), "{e}");
}

#[test]
fn cli_cell_info_writes_table_and_reports_errors() {
    let dir = tempfile::tempdir().unwrap();
    let p = write_cell(dir.path(), HOC, &param_text(RULES, ""));
    let out_csv = dir.path().join("segments.csv");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_isf"))
        .arg("cell-info")
        .arg(&p)
        .arg("--segments")
        .arg(&out_csv)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("ApicalDendrite") && stdout.contains("total"),
        "{stdout}"
    );
    let table = std::fs::read_to_string(&out_csv).unwrap();
    let cell = CellTemplate::from_params(&CellParams::read(&p).unwrap()).unwrap();
    assert_eq!(table.lines().count(), 1 + cell.n_segments());
    assert!(table.lines().next().unwrap().contains("gIhbar_Ih"));

    let bad = write_cell(
        dir.path(),
        &HOC.replace("apical_1(1)", "apical_9(1)"),
        &param_text(RULES, ""),
    );
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_isf"))
        .arg("cell-info")
        .arg(&bad)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.starts_with("error:") && stderr.contains("apical_9"),
        "{stderr}"
    );
}

#[test]
fn artificial_axon_and_stale_distance_origin() {
    // With an `AIS` entry ISF appends hillock, AIS and myelin (IDs 4, 5, 6). `Myelin` has no
    // section attached to the soma, so `uniform_range` measures from the origin the previous
    // distance rule left: apical_1(0), which sits on the same soma node as the hillock. Hence
    // d = 20 (hillock) + 30 (AIS) + x·1000 on the myelin.
    let extra = "
  'AIS': {'properties': {'Ra': 100.0, 'cm': 1.0},
          'mechanisms': {'global': {}, 'range': {'pas': {'spatial': 'uniform', 'g': 3e-5, 'e': -70}}}},
  'Myelin': {'properties': {'Ra': 100.0, 'cm': 0.02},
          'mechanisms': {'global': {}, 'range': {'pas': {'spatial': 'uniform_range', 'g': 4e-5,
                         'e': -70, 'begin': 0.0, 'end': 300.0, 'outsidescale': 0.5}}}},
 },
 'sim'";
    let text = param_text(RULES, "").replacen("\n },\n 'sim'", extra, 1);
    let dir = tempfile::tempdir().unwrap();
    let p = write_cell(dir.path(), HOC, &text);
    let cell = CellTemplate::from_params(&CellParams::read(&p).unwrap()).unwrap();
    assert_eq!(cell.sections.len(), 7);
    let names: Vec<&str> = cell.sections[4..].iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, ["axon_0", "axon_0_0", "axon_0_0_0"]);
    assert_eq!(
        cell.sections[4..]
            .iter()
            .map(|s| s.nseg)
            .collect::<Vec<_>>(),
        [5, 7, 21]
    );
    let my = &cell.sections[6];
    assert!((my.length_um - 1000.0).abs() < 1e-3);
    let pas = cell.mechanism("pas").unwrap();
    for k in 0..21 {
        let d = 50.0 + 1000.0 * (k as f64 + 0.5) / 21.0;
        let want = if d <= 300.0 { 4e-5 } else { 4e-5 * 0.5 };
        assert_eq!(
            pas.value_at("g", my.first_node + k),
            Some(want),
            "segment {k}"
        );
    }
    // hillock segment diameters 2.875, 2.625, … (spec Appendix A)
    assert!((cell.sections[4].seg_diam_um[0] - 2.875).abs() < 1e-6);

    // a distance rule that needs the label's own maximum distance cannot work on `Myelin`
    let bad = text.replace(
        "'spatial': 'uniform_range', 'g': 4e-5,\n                         'e': -70, 'begin': 0.0, 'end': 300.0, 'outsidescale': 0.5",
        "'spatial': 'exponential', 'distance': 'relative', 'g': 4e-5, 'offset': 0.0, 'linScale': 1.0, '_lambda': 1.0, 'xOffset': 0.0",
    );
    assert_ne!(bad, text);
    let e = build_err(HOC, &bad);
    assert!(
        e.contains("Myelin") && e.contains("attached to the soma"),
        "{e}"
    );
}
