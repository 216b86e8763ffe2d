//! The ISF `.hoc` reader on the example morphology (cell 86).

use isf::morphology::{neuron_arc_lengths, read_hoc};
use isf::testing::shared_path;

#[test]
fn reads_cell_86_hoc() {
    let Some(path) = shared_path("isf-example/86_C2_center.hoc") else {
        return;
    };
    let m = read_hoc(&path).unwrap();
    // Appendix A of the spec: 167 hoc sections (1 Soma, 87 Dendrite, 79 ApicalDendrite)
    assert_eq!(m.sections.len(), 167);
    let count = |l: &str| m.sections.iter().filter(|s| s.label == l).count();
    assert_eq!(
        (count("Soma"), count("Dendrite"), count("ApicalDendrite")),
        (1, 87, 79)
    );
    assert_eq!(m.sections[0].label, "Soma");
    assert_eq!(m.sections[0].points.len(), 44);
    // every non-soma section has a parent with a lower ID in this file
    for (i, s) in m.sections.iter().enumerate().skip(1) {
        let (p, x) = s.parent.unwrap();
        assert!(p < i && (0.0..=1.0).contains(&x));
    }
    // NEURON's L of the soma: 22.161881021221568 µm (reference cell/summary.json)
    let l = *neuron_arc_lengths(&m.sections[0].points).last().unwrap();
    assert!((l - 22.161881021221568).abs() < 1e-12, "{l}");
}
