//! Bad model inputs give clear errors or documented warnings, never a panic, and never a partial
//! output folder. The model is a tiny one written by the test into a temp folder.

use std::path::{Path, PathBuf};

use isf::mapper::model::CellClasses;
use isf::mapper::{map_inputs, MapOptions};

/// An AmiraMesh lattice of `n³` 50 µm voxels, first voxel centre at `c0` on every axis.
fn am(n: usize, c0: f64, value: impl Fn(usize) -> f64) -> String {
    let c1 = c0 + 50.0 * (n as f64 - 1.0);
    let mut s = format!(
        "# AmiraMesh 3D ASCII 2.0\n\ndefine Lattice {n} {n} {n}\n\nParameters {{\n\tSpacing 50 50 50,\n\tBoundingBox {c0} {c1} {c0} {c1} {c0} {c1},\n\tCoordType \"uniform\"\n}}\n\nLattice {{ float Data }} @1\n\n@1\n"
    );
    for i in 0..n * n * n {
        s.push_str(&format!("{}\n", value(i)));
    }
    s
}

const HOC: &str = "{create soma}\n{access soma}\n{nseg = 1}\n{pt3dclear()}\n{pt3dadd(1.0,2.0,3.0,10.0)}\n{pt3dadd(9.0,2.0,3.0,10.0)}\n\n{create dend_1}\n{connect dend_1(0), soma(1.0)}\n{access dend_1}\n{nseg = 1}\n{pt3dclear()}\n{pt3dadd(9.0,2.0,3.0,2.0)}\n{pt3dadd(40.0,30.0,20.0,1.0)}\n{pt3dadd(70.0,61.0,33.0,1.0)}\n";

/// A one-column, two-type model; returns (model dir, hoc path).
fn model(dir: &Path) -> (PathBuf, PathBuf) {
    let m = dir.join("model");
    std::fs::create_dir_all(m.join("PST")).unwrap();
    std::fs::write(m.join("nrCells.csv"), "CELL TYPE\tC2\nL5tt\t3\nL1\t0\n").unwrap();
    std::fs::write(
        m.join("ConnectionsV8.csv"),
        "PRESYNAPTIC_CELLTYPE\tPOST\tSL\tAL\tBL\tSA\tAA\tBA\nALL_EXCITATORY\tL5tt\t0\t1\t1\t0\t0\t0\nALL_INHIBITORY\tL5tt\t0\t0\t0\t.1\t.1\t.1\n",
    )
    .unwrap();
    let pst = am(6, -125.0, |_| 1e3);
    std::fs::write(m.join("PST/EXNormalizationPSTs.am"), &pst).unwrap();
    std::fs::write(m.join("PST/INHNormalizationPSTs.am"), &pst).unwrap();
    for t in ["L5tt", "L1"] {
        let d = m.join("singleaxon_boutons_ascii/C2").join(t);
        std::fs::create_dir_all(&d).unwrap();
        std::fs::write(d.join("a.am"), am(4, -75.0, |i| (i % 3) as f64 * 10.0)).unwrap();
    }
    let hoc = dir.join("cell.hoc");
    std::fs::write(&hoc, HOC).unwrap();
    (m, hoc)
}

fn opts(model: PathBuf, hoc: PathBuf, out: PathBuf) -> MapOptions {
    MapOptions {
        hoc,
        model,
        postsynaptic_type: "L5tt".into(),
        realizations: 5,
        seed: 1,
        out,
        tag: "t".into(),
        classes: CellClasses::default(),
    }
}

#[test]
fn the_tiny_model_maps() {
    let tmp = tempfile::tempdir().unwrap();
    let (m, hoc) = model(tmp.path());
    let out = tmp.path().join("out");
    let rep = map_inputs(&opts(m, hoc, out.clone())).unwrap();
    assert!(rep.synapses > 0, "the model should produce synapses");
    assert!(out.join("NumberOfConnectedCells.csv").exists());
}

#[test]
fn truncated_lattice_names_file_and_line() {
    let tmp = tempfile::tempdir().unwrap();
    let (m, hoc) = model(tmp.path());
    let f = m.join("singleaxon_boutons_ascii/C2/L5tt/a.am");
    let text = std::fs::read_to_string(&f).unwrap();
    let cut: String = text.lines().take(40).map(|l| format!("{l}\n")).collect();
    std::fs::write(&f, cut).unwrap();
    let out = tmp.path().join("out");
    let e = map_inputs(&opts(m, hoc, out.clone()))
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("a.am:40") && e.contains("needs 64 values"),
        "{e}"
    );
    assert!(!out.exists(), "no partial output");
}

#[test]
fn header_and_data_count_mismatch() {
    let tmp = tempfile::tempdir().unwrap();
    let (m, hoc) = model(tmp.path());
    let f = m.join("PST/EXNormalizationPSTs.am");
    let text = std::fs::read_to_string(&f)
        .unwrap()
        .replace("define Lattice 6 6 6", "define Lattice 6 6 7");
    std::fs::write(&f, text).unwrap();
    let e = map_inputs(&opts(m, hoc, tmp.path().join("out")))
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("EXNormalizationPSTs.am") && e.contains("252"),
        "{e}"
    );
}

#[test]
fn folder_of_unknown_type_is_a_warning_and_zero_fields_are_handled() {
    let tmp = tempfile::tempdir().unwrap();
    let (m, hoc) = model(tmp.path());
    let extra = m.join("singleaxon_boutons_ascii/C2/L99");
    std::fs::create_dir_all(&extra).unwrap();
    std::fs::write(extra.join("x.am"), am(2, 25.0, |_| 1.0)).unwrap();
    // An all-zero bouton field next to a good one: ISF crashes, we warn.
    std::fs::write(
        m.join("singleaxon_boutons_ascii/C2/L5tt/b.am"),
        am(2, 25.0, |_| 0.0),
    )
    .unwrap();
    let rep = map_inputs(&opts(m, hoc, tmp.path().join("out"))).unwrap();
    let w = rep.warnings.join("\n");
    assert!(w.contains("L99") && w.contains("not in nrCells.csv"), "{w}");
    assert!(w.contains("b.am") && w.contains("all-zero"), "{w}");
}

#[test]
fn unclassified_type_with_cells_is_an_error() {
    let tmp = tempfile::tempdir().unwrap();
    let (m, hoc) = model(tmp.path());
    std::fs::write(
        m.join("nrCells.csv"),
        "CELL TYPE\tC2\nL5tt\t3\nL1\t0\nL99\t2\n",
    )
    .unwrap();
    let d = m.join("singleaxon_boutons_ascii/C2/L99");
    std::fs::create_dir_all(&d).unwrap();
    std::fs::write(d.join("x.am"), am(2, 25.0, |_| 1.0)).unwrap();
    let e = map_inputs(&opts(m.clone(), hoc.clone(), tmp.path().join("out")))
        .unwrap_err()
        .to_string();
    assert!(e.contains("L99") && e.contains("--excitatory"), "{e}");
    let mut o = opts(m, hoc, tmp.path().join("out"));
    o.classes
        .0
        .insert("L99".into(), isf::mapper::model::CellClass::Excitatory);
    map_inputs(&o).unwrap();
}

#[test]
fn morphology_outside_the_field_is_an_error() {
    let tmp = tempfile::tempdir().unwrap();
    let (m, _) = model(tmp.path());
    let far = tmp.path().join("far.hoc");
    std::fs::write(&far, HOC.replace("70.0,61.0,33.0", "7000.0,61.0,33.0")).unwrap();
    let e = map_inputs(&opts(m, far, tmp.path().join("out")))
        .unwrap_err()
        .to_string();
    assert!(e.contains("far.hoc") && e.contains("not inside"), "{e}");
}

#[test]
fn axon_before_dendrites_is_reported() {
    let tmp = tempfile::tempdir().unwrap();
    let (m, _) = model(tmp.path());
    let hoc = tmp.path().join("axon_first.hoc");
    // soma, axon, dendrite: the dendrite is section 2 for the simulator, 1 for ISF's mapper.
    let (soma, dend) = HOC.split_at(HOC.find("{create dend_1}").unwrap());
    let axon = "{create axon_0}\n{connect axon_0(0), soma(0.5)}\n{access axon_0}\n{nseg = 1}\n{pt3dclear()}\n{pt3dadd(5.0,2.0,3.0,1.0)}\n{pt3dadd(5.0,2.0,-20.0,1.0)}\n\n";
    std::fs::write(&hoc, format!("{soma}{axon}{dend}")).unwrap();
    let out = tmp.path().join("out");
    let rep = map_inputs(&opts(m, hoc, out.clone())).unwrap();
    assert!(
        rep.warnings
            .iter()
            .any(|w| w.contains("precedes dendritic sections")),
        "{:?}",
        rep.warnings
    );
    // Synapses name the simulator's ids: 0 (soma) or 2 (dendrite), never the axon's 1.
    let syn = std::fs::read_to_string(out.join("axon_first_synapses_t.syn")).unwrap();
    for l in syn.lines().skip(4) {
        let sec = l.split('\t').nth(1).unwrap();
        assert!(sec == "0" || sec == "2", "{l}");
    }
}

/// Line of the first data value equal to `value` in an [`am`] text.
fn am_line(text: &str, value: &str) -> usize {
    let data = text.find("\n@1\n").unwrap() + 4;
    text[..data].matches('\n').count()
        + 1
        + text[data..]
            .lines()
            .position(|l| l == value)
            .expect("value")
}

#[test]
fn negative_bouton_density_names_file_and_line() {
    let tmp = tempfile::tempdir().unwrap();
    let (m, hoc) = model(tmp.path());
    let f = m.join("singleaxon_boutons_ascii/C2/L5tt/a.am");
    let text = am(4, -75.0, |i| if i == 5 { -2.5 } else { 1.0 });
    std::fs::write(&f, &text).unwrap();
    let out = tmp.path().join("out");
    let e = map_inputs(&opts(m, hoc, out.clone()))
        .unwrap_err()
        .to_string();
    let line = am_line(&text, "-2.5");
    assert!(e.contains(&format!("a.am:{line}:")), "{e}");
    assert!(e.contains("negative density `-2.5`"), "{e}");
    assert!(!out.exists(), "no partial output");
}

#[test]
fn non_finite_and_huge_lattice_headers_are_errors() {
    let tmp = tempfile::tempdir().unwrap();
    let (m, hoc) = model(tmp.path());
    let f = m.join("singleaxon_boutons_ascii/C2/L5tt/a.am");
    let good = am(4, -75.0, |_| 1.0);
    for (from, to, want) in [
        // 10¹⁵ voxels: refused at the header, nothing reserved.
        (
            "define Lattice 4 4 4",
            "define Lattice 100000 100000 100000",
            "a.am:3: lattice 100000x100000x100000 has more than",
        ),
        // 1.25·10⁸ voxels announced, 64 given: a count error, not a 1 GB reservation.
        (
            "define Lattice 4 4 4",
            "define Lattice 500 500 500",
            "needs 125000000 values",
        ),
        // Fewer voxels announced than given: an error at the first value too many.
        (
            "define Lattice 4 4 4",
            "define Lattice 4 4 2",
            "a.am:46: lattice 4x4x2 needs 32 values, the data section has 33 or more",
        ),
        (
            "BoundingBox -75",
            "BoundingBox 1e308",
            "a.am:7: BoundingBox coordinates must be finite",
        ),
        (
            "BoundingBox -75",
            "BoundingBox nan",
            "a.am:7: BoundingBox coordinates must be finite",
        ),
        ("Spacing 50 50 50", "Spacing 50 inf 50", "a.am:6: spacing"),
    ] {
        assert!(good.contains(from), "{from}");
        std::fs::write(&f, good.replacen(from, to, 1)).unwrap();
        let e = map_inputs(&opts(m.clone(), hoc.clone(), tmp.path().join("out")))
            .unwrap_err()
            .to_string();
        assert!(e.contains(want), "{to}: {e}");
    }
}

#[test]
fn huge_bouton_density_is_refused_before_drawing() {
    let tmp = tempfile::tempdir().unwrap();
    let (m, hoc) = model(tmp.path());
    let f = m.join("singleaxon_boutons_ascii/C2/L5tt/a.am");
    std::fs::write(&f, am(4, -75.0, |_| 1e20)).unwrap();
    let out = tmp.path().join("out");
    let e = map_inputs(&opts(m.clone(), hoc.clone(), out.clone()))
        .unwrap_err()
        .to_string();
    assert!(e.contains("a.am") && e.contains("synapses on cell"), "{e}");
    assert!(e.contains("limit"), "{e}");
    assert!(!out.exists(), "no partial output");

    // Within the per-realization limit but too many for all realizations together: scale
    // the density so that one realization expects about 10⁵ synapses.
    std::fs::write(&f, am(4, -75.0, |_| 100.0)).unwrap();
    let one = map_inputs(&opts(m.clone(), hoc.clone(), out.clone())).unwrap();
    std::fs::remove_dir_all(&out).unwrap();
    assert!(one.synapses > 0);
    let scale = 100.0 * 1e5 / one.synapses as f64;
    std::fs::write(&f, am(4, -75.0, |_| scale)).unwrap();
    let mut o = opts(m, hoc, out.clone());
    o.realizations = 10_000;
    let e = map_inputs(&o).unwrap_err().to_string();
    assert!(e.contains("ask for fewer realizations"), "{e}");
    assert!(!out.exists(), "no partial output");
    o.realizations = 1_000_000_000;
    let e = map_inputs(&o).unwrap_err().to_string();
    assert!(e.contains("between 1 and"), "{e}");
    assert!(!out.exists(), "no partial output");
}

#[test]
fn negative_pst_density_in_connections_names_file_line_and_column() {
    let tmp = tempfile::tempdir().unwrap();
    let (m, hoc) = model(tmp.path());
    std::fs::write(
        m.join("ConnectionsV8.csv"),
        "PRESYNAPTIC_CELLTYPE\tPOST\tSL\tAL\tBL\tSA\tAA\tBA\nALL_EXCITATORY\tL5tt\t0\t1\t-1\t0\t0\t0\nALL_INHIBITORY\tL5tt\t0\t0\t0\t.1\t.1\t.1\n",
    )
    .unwrap();
    let e = map_inputs(&opts(m, hoc, tmp.path().join("out")))
        .unwrap_err()
        .to_string();
    assert!(e.contains("ConnectionsV8.csv:2:"), "{e}");
    assert!(
        e.contains("BASAL_LENGTH of `L5tt`: negative density `-1`"),
        "{e}"
    );
}

#[test]
fn huge_cell_counts_are_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let (m, hoc) = model(tmp.path());
    std::fs::write(
        m.join("nrCells.csv"),
        "CELL TYPE\tC2\nL5tt\t4294967295\nL1\t0\n",
    )
    .unwrap();
    let e = map_inputs(&opts(m, hoc, tmp.path().join("out")))
        .unwrap_err()
        .to_string();
    assert!(e.contains("nrCells.csv:2:"), "{e}");
    assert!(e.contains("more than the limit"), "{e}");
}
