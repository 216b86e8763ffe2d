//! The artificial axon ISF attaches when the cell parameters have an `AIS` entry
//! (`CellParser._create_ais_Hay2013`, after Hay et al. 2013).

use super::{Morphology, MorphologyError, Section};

/// Appends hillock (`axon_0`, label `AIS`, 5 points over 20 µm, diameter 3 → 1.75 µm),
/// initial segment (`axon_0_0`, `AIS`, 7 points over 30 µm, 1.75 → 1 µm) and myelin
/// (`axon_0_0_0`, `Myelin`, 21 points over 1000 µm, 1 µm), running in −z from the soma's middle
/// 3-D point minus its radius. The hillock attaches at soma(0.5), the others at their parent's
/// 1-end. Returns the IDs of the three new sections. ISF's preset nseg of these sections equals
/// their point count (5, 7, 21).
pub fn add_hay2013_axon(m: &mut Morphology) -> Result<[usize; 3], MorphologyError> {
    let soma_id = m.soma().ok_or_else(|| {
        MorphologyError::Transform("the artificial axon needs a Soma section".into())
    })?;
    let soma = &m.sections[soma_id];
    let mid = soma.points.len() / 2;
    let c = soma.points[mid];
    let r = 0.5 * c[3];
    // same float operations as ISF: begin = centre - r*z; point i = begin - i*step*z
    let mut z0 = c[2] - r;
    let (myelin_diam, myelin_len) = (1.0f64, 1000.0f64);
    let myelin_seg = 1 + 2 * (myelin_len / 100.0) as usize;
    let myelin_step = myelin_len / (myelin_seg - 1) as f64;
    let (ais_diam, ais_len) = (1.75f64, 30.0f64);
    let ais_seg = 1 + 2 * (ais_len / 10.0) as usize;
    let ais_taper = (myelin_diam - ais_diam) / (ais_seg - 1) as f64;
    let ais_step = ais_len / (ais_seg - 1) as f64;
    let (hill_diam, hill_len) = (3.0f64, 20.0f64);
    let hill_seg = 1 + 2 * (hill_len / 10.0) as usize;
    let hill_taper = (ais_diam - hill_diam) / (hill_seg - 1) as f64;
    let hill_step = hill_len / (hill_seg - 1) as f64;

    let mut run = |n: usize, step: f64, d0: f64, taper: f64| -> Vec<[f64; 4]> {
        let pts: Vec<[f64; 4]> = (0..n)
            .map(|i| {
                let i = i as f64;
                // ISF subtracts i*step*[0,0,1]; x and y lose nothing (x - 0.0 == x)
                [
                    c[0] - i * step * 0.0,
                    c[1] - i * step * 0.0,
                    z0 - i * step,
                    d0 + taper * i,
                ]
            })
            .collect();
        z0 = pts[n - 1][2];
        pts
    };
    let hill = run(hill_seg, hill_step, hill_diam, hill_taper);
    let ais = run(ais_seg, ais_step, ais_diam, ais_taper);
    let myelin = run(myelin_seg, myelin_step, myelin_diam, 0.0);
    let first = m.sections.len();
    m.sections.push(Section {
        name: "axon_0".into(),
        label: "AIS".into(),
        points: hill,
        parent: Some((soma_id, 0.5)),
    });
    m.sections.push(Section {
        name: "axon_0_0".into(),
        label: "AIS".into(),
        points: ais,
        parent: Some((first, 1.0)),
    });
    m.sections.push(Section {
        name: "axon_0_0_0".into(),
        label: "Myelin".into(),
        points: myelin,
        parent: Some((first + 1, 1.0)),
    });
    Ok([first, first + 1, first + 2])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn axon_geometry() {
        let mut m = Morphology {
            sections: vec![Section {
                name: "soma".into(),
                label: "Soma".into(),
                points: vec![
                    [0.0, 0.0, 0.0, 8.0],
                    [1.0, 2.0, 3.0, 10.0],
                    [2.0, 0.0, 0.0, 8.0],
                ],
                parent: None,
            }],
            point_lines: Vec::new(),
        };
        let ids = add_hay2013_axon(&mut m).unwrap();
        assert_eq!(ids, [1, 2, 3]);
        let h = &m.sections[1].points;
        // starts at the middle point minus the radius (5) in z, 5 µm steps, 3.0 → 1.75
        assert_eq!(h.len(), 5);
        assert_eq!(h[0], [1.0, 2.0, -2.0, 3.0]);
        assert_eq!(h[4], [1.0, 2.0, -22.0, 1.75]);
        let a = &m.sections[2].points;
        assert_eq!(a.len(), 7);
        assert_eq!(a[0][2], -22.0);
        assert_eq!(a[6], [1.0, 2.0, -52.0, 1.0]);
        let my = &m.sections[3].points;
        assert_eq!(my.len(), 21);
        assert_eq!(my[20][2], -1052.0);
        assert_eq!(m.sections[3].label, "Myelin");
        assert_eq!(m.sections[1].parent, Some((0, 0.5)));
        assert_eq!(m.sections[3].parent, Some((2, 1.0)));
    }
}
