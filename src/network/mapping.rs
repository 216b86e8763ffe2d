//! Placing the `.syn` synapse locations on the postsynaptic cell
//! (docs/models.md#synapse-placement).

use super::model::NetworkModel;
use super::NetworkError;

/// What synapse mapping needs to know about the postsynaptic cell (implemented by the cell
/// template; small enough to implement for a test geometry).
pub trait SynapseTarget {
    /// Number of sections (hoc sections, then the artificial axon).
    fn section_count(&self) -> usize;
    /// ISF's `relPts` of a section: relative arc position of each 3-D point, last exactly 1.
    fn rel_pts(&self, section: usize) -> &[f64];
    /// Number of segments of a section.
    fn nseg(&self, section: usize) -> usize;
    /// Structure label of a section (`Soma`, `Dendrite`, `ApicalDendrite`, …).
    fn label(&self, section: usize) -> &str;
    /// ISF's synaptic soma distance \[µm\] of relative position `x` on `section`
    /// (docs/models.md#distances).
    fn synaptic_soma_distance_um(&self, section: usize, x: f64) -> f64;
}

/// A synapse placed on the cell.
#[derive(Debug, Clone, PartialEq)]
pub struct MappedSynapse {
    /// Section ID.
    pub section: usize,
    /// Index of the section's 3-D point closest to `x`.
    pub pt_id: usize,
    /// Relative position from the `.syn` file.
    pub x: f64,
    /// Synaptic soma distance \[µm\] (written to ISF's output files).
    pub soma_distance_um: f64,
    /// Where the point process sits: `relPts[pt_id]` clamped to the first/last segment centre.
    pub x_pp: f64,
    /// Segment of `section` holding the point process.
    pub segment: usize,
}

/// All synapses of a [`NetworkModel`] placed on one cell.
#[derive(Debug, Clone)]
pub struct SynapseMap {
    /// Per population (model order), per synapse ID.
    pub populations: Vec<Vec<MappedSynapse>>,
    /// Label of every section (for output files).
    pub section_labels: Vec<String>,
}

/// Index of the point whose relative position is closest to `x` (first one on ties, as ISF's
/// strict `<` scan).
pub fn closest_point(rel_pts: &[f64], x: f64) -> usize {
    let mut best = 0;
    let mut best_d = f64::INFINITY;
    for (i, &r) in rel_pts.iter().enumerate() {
        let d = (x - r).abs();
        if d < best_d {
            best_d = d;
            best = i;
        }
    }
    best
}

/// The point-process position and its segment: `x` clamped to `[segx[0], segx[nseg−1]]`
/// (never a section end), in segment `min(floor(x·nseg), nseg−1)`.
pub fn point_process_site(x: f64, nseg: usize) -> (f64, usize) {
    let n = nseg as f64;
    let lo = 0.5 / n;
    let hi = (nseg as f64 - 0.5) / n;
    let xp = if x < lo {
        lo
    } else if x > hi {
        hi
    } else {
        x
    };
    let seg = ((xp * n).floor() as usize).min(nseg - 1);
    (xp, seg)
}

impl SynapseMap {
    /// Maps every synapse of `model` onto `cell`; a section ID the cell does not have is an
    /// error naming the `.syn` file and line.
    pub fn new(model: &NetworkModel, cell: &dyn SynapseTarget) -> Result<Self, NetworkError> {
        let n_sec = cell.section_count();
        let mut populations = Vec::with_capacity(model.populations.len());
        for pop in &model.populations {
            let mut mapped = Vec::with_capacity(pop.synapses.len());
            for s in &pop.synapses {
                if s.section >= n_sec {
                    return Err(NetworkError::Syntax {
                        path: pop.synapse_file.clone(),
                        line: s.line,
                        msg: format!(
                            "synapse of `{}` on section {} but the cell has {} sections",
                            pop.name, s.section, n_sec
                        ),
                    });
                }
                let rel = cell.rel_pts(s.section);
                let nseg = cell.nseg(s.section);
                if rel.is_empty() || nseg == 0 {
                    return Err(NetworkError::Syntax {
                        path: pop.synapse_file.clone(),
                        line: s.line,
                        msg: format!("section {} has no 3-D points or segments", s.section),
                    });
                }
                let pt_id = closest_point(rel, s.x);
                let (x_pp, segment) = point_process_site(rel[pt_id], nseg);
                mapped.push(MappedSynapse {
                    section: s.section,
                    pt_id,
                    x: s.x,
                    soma_distance_um: cell.synaptic_soma_distance_um(s.section, s.x),
                    x_pp,
                    segment,
                });
            }
            populations.push(mapped);
        }
        let section_labels = (0..n_sec).map(|i| cell.label(i).to_string()).collect();
        Ok(SynapseMap {
            populations,
            section_labels,
        })
    }

    /// The mapped synapse `synapse_id` of population `population`.
    pub fn synapse(&self, population: usize, synapse_id: usize) -> &MappedSynapse {
        &self.populations[population][synapse_id]
    }
}

impl SynapseTarget for crate::cell::CellTemplate {
    fn section_count(&self) -> usize {
        self.sections.len()
    }
    fn rel_pts(&self, section: usize) -> &[f64] {
        &self.sections[section].rel_pts
    }
    fn nseg(&self, section: usize) -> usize {
        self.sections[section].nseg
    }
    fn label(&self, section: usize) -> &str {
        &self.sections[section].label
    }
    fn synaptic_soma_distance_um(&self, section: usize, x: f64) -> f64 {
        self.synaptic_soma_distance(section, x)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn closest_point_prefers_lower_index_on_ties() {
        let rel = [0.0, 0.25, 0.5, 0.75, 1.0];
        assert_eq!(closest_point(&rel, 0.125), 0);
        assert_eq!(closest_point(&rel, 0.13), 1);
        assert_eq!(closest_point(&rel, 1.0), 4);
    }

    #[test]
    fn point_process_never_at_section_ends() {
        assert_eq!(point_process_site(0.0, 3), (0.5 / 3.0, 0));
        assert_eq!(point_process_site(1.0, 3), (2.5 / 3.0, 2));
        assert_eq!(point_process_site(0.5, 1), (0.5, 0));
        assert_eq!(point_process_site(0.4, 5), (0.4, 2));
    }
}
