//! ISF's `cell_modify_functions` that change the morphology (diameter scaling). They run after
//! discretisation and channel placement, so nseg and densities still follow the unscaled shape;
//! only areas and axial resistances change.

use super::{Morphology, MorphologyError};

/// The cell modify functions isf implements, for error messages.
pub const KNOWN_CELL_MODIFY_FUNCTIONS: &[&str] = &["scale_apical_morph_86", "scale_apical"];

/// `scale_apical_morph_86`: in section-ID order, the first 33 `ApicalDendrite` sections whose
/// path distance to the soma at their 1-end (`distance_to_soma_at_1(id)`, ISF's
/// `distance_to_soma(sec, 1.0)`, soma half length included) is ≤ 1000 µm get every 3-D
/// diameter multiplied by 2.5 (the count of 33 is hard-coded in ISF for morphology 86).
/// Returns the IDs of the scaled sections.
pub fn scale_apical_morph_86(
    m: &mut Morphology,
    distance_to_soma_at_1: &dyn Fn(usize) -> f64,
) -> Vec<usize> {
    let mut scaled = Vec::new();
    for id in 0..m.sections.len() {
        if scaled.len() == 33 {
            break;
        }
        if m.sections[id].label != "ApicalDendrite" || distance_to_soma_at_1(id) > 1000.0 {
            continue;
        }
        for p in &mut m.sections[id].points {
            p[3] *= 2.5;
        }
        scaled.push(id);
    }
    scaled
}

/// `scale_apical(scale, compartment)`: multiplies every 3-D diameter of every `ApicalDendrite`
/// section by `scale`. `compartment = "Trunk"` needs ISF's detailed labels, which `.hoc` files
/// do not carry, and is an error. Returns the IDs of the scaled sections.
pub fn scale_apical(
    m: &mut Morphology,
    scale: f64,
    compartment: &str,
) -> Result<Vec<usize>, MorphologyError> {
    if compartment != "ApicalDendrite" {
        return Err(MorphologyError::Transform(format!(
            "scale_apical: compartment `{compartment}` is not supported (only `ApicalDendrite`; \
             `Trunk` needs detailed labels that .hoc files do not carry)"
        )));
    }
    if !(scale.is_finite() && scale > 0.0) {
        return Err(MorphologyError::Transform(format!(
            "scale_apical: scale must be a positive number, got {scale}"
        )));
    }
    let mut scaled = Vec::new();
    for (id, s) in m.sections.iter_mut().enumerate() {
        if s.label == "ApicalDendrite" {
            for p in &mut s.points {
                p[3] *= scale;
            }
            scaled.push(id);
        }
    }
    Ok(scaled)
}

#[cfg(test)]
mod tests {
    use super::super::Section;
    use super::*;

    fn sec(label: &str, d: f64) -> Section {
        Section {
            name: label.into(),
            label: label.into(),
            points: vec![[0.0, 0.0, 0.0, d], [0.0, 0.0, 1.0, d]],
            parent: None,
        }
    }

    #[test]
    fn morph_86_scales_first_33_near_apicals() {
        let mut m = Morphology {
            sections: (0..40)
                .map(|i| {
                    sec(
                        if i % 2 == 0 {
                            "ApicalDendrite"
                        } else {
                            "Dendrite"
                        },
                        1.0,
                    )
                })
                .collect(),
            point_lines: Vec::new(),
        };
        m.sections
            .extend((0..40).map(|_| sec("ApicalDendrite", 1.0)));
        // distance: sections 0..10 are beyond 1000 µm
        let scaled = scale_apical_morph_86(&mut m, &|id| if id < 10 { 1200.0 } else { 900.0 });
        assert_eq!(scaled.len(), 33);
        assert_eq!(scaled[0], 10);
        assert!(scaled
            .iter()
            .all(|&i| m.sections[i].label == "ApicalDendrite"));
        assert_eq!(m.sections[10].points[0][3], 2.5);
        assert_eq!(m.sections[0].points[0][3], 1.0);
        assert_eq!(m.sections[11].points[0][3], 1.0);
        // 15 apicals in 10..40, then 18 of the last 40
        assert_eq!(*scaled.last().unwrap(), 40 + 17);
        assert_eq!(m.sections[58].points[0][3], 1.0);
    }

    #[test]
    fn scale_apical_all_and_trunk_error() {
        let mut m = Morphology {
            sections: vec![sec("Soma", 10.0), sec("ApicalDendrite", 2.0)],
            point_lines: Vec::new(),
        };
        assert_eq!(
            scale_apical(&mut m, 1.5, "ApicalDendrite").unwrap(),
            vec![1]
        );
        assert_eq!(m.sections[1].points[1][3], 3.0);
        assert_eq!(m.sections[0].points[1][3], 10.0);
        assert!(scale_apical(&mut m, 1.5, "Trunk").is_err());
    }
}
