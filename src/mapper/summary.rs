//! Summary statistics per realization and over the population of realizations, and the choice
//! of the representative realization (docs/mapper.md#summary-statistics,
//! docs/mapper.md#representative-realization).
//!
//! Fix of ISF's quirk 5 (docs/mapper.md#differences-from-isf): the population "SD of path length"
//! statistics are the mean and SD of the per-realization SDs (ISF repeats the mean-path
//! statistics), and realizations without synapses (the −1 sentinel) are left out of the population
//! statistics of path lengths (ISF averages the −1 in). A statistic that no realization defines is
//! written as mean −1, SD 0.

use super::embedding::Embedding;
use super::grid::Structure;
use super::realize::Synapse;

/// Index of a structure in the summary's per-structure arrays: apical, basal, soma.
pub fn summary_slot(s: Structure) -> usize {
    match s {
        Structure::ApicalDendrite => 0,
        Structure::Dendrite => 1,
        Structure::Soma => 2,
    }
}

/// ISF's 10-field connectivity record of one population (a (column, type) or a whole type).
#[derive(Debug, Clone, PartialEq)]
pub struct Stats {
    /// Synapses.
    pub n_syn: u64,
    /// Connected presynaptic cells.
    pub n_connected: u64,
    /// Presynaptic cells.
    pub n_pre: u64,
    /// Connected cells divided by cells.
    pub convergence: f64,
    /// (mean, SD with ddof 0) of the path distance to the soma; `None` without synapses.
    pub distance_um: Option<(f64, f64)>,
    /// Synapses on apical, basal, soma.
    pub syn_per: [u64; 3],
    /// Connected cells per structure (a cell counts once per structure it has synapses on).
    pub connected_per: [u64; 3],
    /// Convergence per structure (apical, basal, soma).
    pub convergence_per: [f64; 3],
    /// Distance (mean, SD) on apical and basal synapses.
    pub distance_per_um: [Option<(f64, f64)>; 2],
}

impl Stats {
    /// Statistics of `syn` (creation order, so each cell's synapses are contiguous) for a
    /// population of `n_pre` cells. Convergence is 0 for an empty population (ISF divides by 0).
    pub fn of<'a>(emb: &Embedding, syn: impl Iterator<Item = &'a Synapse>, n_pre: u64) -> Self {
        let mut n_syn = 0u64;
        let mut n_connected = 0u64;
        let mut syn_per = [0u64; 3];
        let mut connected_per = [0u64; 3];
        let mut all = Moments::default();
        let mut per: [Moments; 2] = Default::default();
        let mut current: Option<(u32, u32)> = None;
        let mut seen = [false; 3];
        let slots: Vec<usize> = emb
            .cell
            .structures
            .iter()
            .map(|&s| summary_slot(s))
            .collect();
        for s in syn {
            n_syn += 1;
            if current != Some((s.block, s.cell)) {
                current = Some((s.block, s.cell));
                n_connected += 1;
                seen = [false; 3];
            }
            let k = slots[s.slot as usize];
            syn_per[k] += 1;
            if !seen[k] {
                seen[k] = true;
                connected_per[k] += 1;
            }
            let d = emb
                .cell
                .distance_to_soma_um(s.section as usize, s.point as usize);
            all.push(d);
            if k < 2 {
                per[k].push(d);
            }
        }
        let conv = |c: u64| {
            if n_pre > 0 {
                c as f64 / n_pre as f64
            } else {
                0.0
            }
        };
        Stats {
            n_syn,
            n_connected,
            n_pre,
            convergence: conv(n_connected),
            distance_um: all.mean_sd(),
            syn_per,
            connected_per,
            convergence_per: connected_per.map(conv),
            distance_per_um: [per[0].mean_sd(), per[1].mean_sd()],
        }
    }
}

/// Values for a mean and population SD (ddof 0), computed like numpy: `sum / n`, then
/// `sqrt(mean((x − mean)²))`.
#[derive(Debug, Default, Clone)]
struct Moments {
    values: Vec<f64>,
}

impl Moments {
    fn push(&mut self, x: f64) {
        self.values.push(x);
    }
    fn mean_sd(&self) -> Option<(f64, f64)> {
        let n = self.values.len() as f64;
        if self.values.is_empty() {
            return None;
        }
        let mean = self.values.iter().sum::<f64>() / n;
        let var = self
            .values
            .iter()
            .map(|x| (x - mean) * (x - mean))
            .sum::<f64>()
            / n;
        Some((mean, var.sqrt()))
    }
}

/// Statistics of one realization.
#[derive(Debug, Clone)]
pub struct RealizationSummary {
    /// Per block ((column, type) in [`Embedding::blocks`] order).
    pub per_block: Vec<Stats>,
    /// Per cell type (index into `counts.types`), pooled over columns.
    pub per_type: Vec<Stats>,
}

impl RealizationSummary {
    /// Summarises one realization's synapses.
    pub fn new(emb: &Embedding, syn: &[Synapse]) -> Self {
        let nb = emb.blocks.len();
        // Synapses are sorted by block: find each block's range.
        let mut ranges = vec![(0usize, 0usize); nb];
        let mut start = 0;
        for (b, r) in ranges.iter_mut().enumerate() {
            let end = start + syn[start..].partition_point(|s| (s.block as usize) == b);
            *r = (start, end);
            start = end;
        }
        let per_block = (0..nb)
            .map(|b| {
                let (s, e) = ranges[b];
                Stats::of(emb, syn[s..e].iter(), emb.blocks[b].n_cells as u64)
            })
            .collect();
        let per_type = (0..emb.counts.types.len())
            .map(|t| {
                let bs: Vec<usize> = (0..nb).filter(|&b| emb.blocks[b].cell_type == t).collect();
                let n_pre = bs.iter().map(|&b| emb.blocks[b].n_cells as u64).sum();
                Stats::of(
                    emb,
                    bs.iter()
                        .flat_map(|&b| syn[ranges[b].0..ranges[b].1].iter()),
                    n_pre,
                )
            })
            .collect();
        RealizationSummary {
            per_block,
            per_type,
        }
    }
}

/// Mean and SD (ddof 0) of defined values; `(-1, 0)` if none is defined.
pub fn mean_sd(values: impl Iterator<Item = Option<f64>>) -> (f64, f64) {
    let mut m = Moments::default();
    for v in values.flatten() {
        m.push(v);
    }
    m.mean_sd().unwrap_or((-1.0, 0.0))
}

/// The population block's 37 numbers of one type (ISF's column order after the type name).
pub fn population_row(summaries: &[RealizationSummary], t: usize) -> Vec<f64> {
    let s = |f: &dyn Fn(&Stats) -> Option<f64>| -> (f64, f64) {
        mean_sd(summaries.iter().map(|r| f(&r.per_type[t])))
    };
    let mut row = Vec::with_capacity(37);
    let mut pair = |p: (f64, f64)| {
        row.push(p.0);
        row.push(p.1);
    };
    pair(s(&|x| Some(x.n_syn as f64)));
    pair(s(&|x| x.distance_um.map(|d| d.0)));
    pair(s(&|x| x.distance_um.map(|d| d.1)));
    pair(s(&|x| Some(x.n_connected as f64)));
    let total = s(&|x| Some(x.n_pre as f64)).0;
    let conv = s(&|x| Some(x.convergence));
    for k in 0..3 {
        // Per-structure blocks: apical, basal have distances; soma does not.
        let syn = s(&|x| Some(x.syn_per[k] as f64));
        let con = s(&|x| Some(x.connected_per[k] as f64));
        let cv = s(&|x| Some(x.convergence_per[k]));
        if k < 2 {
            let mean = s(&|x| x.distance_per_um[k].map(|d| d.0));
            let sd = s(&|x| x.distance_per_um[k].map(|d| d.1));
            pair(syn);
            pair(mean);
            pair(sd);
            pair(con);
            pair(cv);
        } else {
            pair(syn);
            pair(con);
            pair(cv);
        }
    }
    // Total (mean only) and convergence come after the connected-cells pair.
    row.splice(8..8, [total, conv.0, conv.1]);
    row
}

/// Index of the representative realization: smallest Σ z² over realizations with every
/// |z| ≤ 2 (else over all), z = per-type synapse-count z-scores (SD ddof 0; z = 0 where SD = 0).
/// Ties go to the lowest index.
pub fn representative(summaries: &[RealizationSummary]) -> usize {
    let r = summaries.len();
    if r == 0 {
        return 0;
    }
    let nt = summaries[0].per_type.len();
    let mut ms = Vec::with_capacity(nt);
    for t in 0..nt {
        ms.push(mean_sd(
            summaries.iter().map(|s| Some(s.per_type[t].n_syn as f64)),
        ));
    }
    let mut best_in: Option<(f64, usize)> = None;
    let mut best_all: Option<(f64, usize)> = None;
    for (i, s) in summaries.iter().enumerate() {
        let mut d = 0.0;
        let mut within = true;
        for (t, &(m, sd)) in ms.iter().enumerate() {
            let z = if sd != 0.0 {
                (s.per_type[t].n_syn as f64 - m) / sd
            } else {
                0.0
            };
            within &= z.abs() <= 2.0;
            d += z * z;
        }
        if best_all.is_none_or(|(b, _)| d < b) {
            best_all = Some((d, i));
        }
        if within && best_in.is_none_or(|(b, _)| d < b) {
            best_in = Some((d, i));
        }
    }
    best_in.or(best_all).map_or(0, |(_, i)| i)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stats(n_syn: u64) -> Stats {
        Stats {
            n_syn,
            n_connected: 0,
            n_pre: 1,
            convergence: 0.0,
            distance_um: None,
            syn_per: [0; 3],
            connected_per: [0; 3],
            convergence_per: [0.0; 3],
            distance_per_um: [None, None],
        }
    }

    fn summary(counts: &[u64]) -> RealizationSummary {
        RealizationSummary {
            per_block: Vec::new(),
            per_type: counts.iter().map(|&n| stats(n)).collect(),
        }
    }

    #[test]
    fn representative_is_closest_to_the_mean() {
        // Type 0: 10, 12, 8, 30 → mean 15, SD sqrt(77); z = −0.57, −0.34, −0.80, 1.71.
        // Type 1 is constant (SD 0 → z 0). Smallest Σz² is realization 1.
        let s: Vec<_> = [[10, 5], [12, 5], [8, 5], [30, 5]]
            .iter()
            .map(|c| summary(c))
            .collect();
        assert_eq!(representative(&s), 1);
        // Ties go to the lowest index.
        let s: Vec<_> = [[1, 0], [3, 0], [3, 0], [1, 0]]
            .iter()
            .map(|c| summary(c))
            .collect();
        assert_eq!(representative(&s), 0);
        // Ten realizations, one with z = 3 for type 0: it is never chosen.
        let mut v: Vec<_> = (0..9).map(|_| summary(&[0, 1])).collect();
        v.push(summary(&[100, 1]));
        assert_ne!(representative(&v), 9);
    }

    #[test]
    fn population_statistics_skip_undefined_values() {
        assert_eq!(
            mean_sd([Some(1.0), None, Some(3.0)].into_iter()),
            (2.0, 1.0)
        );
        assert_eq!(mean_sd([None, None].into_iter()), (-1.0, 0.0));
    }
}
