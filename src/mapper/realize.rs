//! Drawing realizations (docs/mapper.md#realizations,
//! docs/mapper.md#random-numbers-and-threads).
//!
//! Per presynaptic cell: one bouton file uniformly at random; then, instead of ISF's one
//! Poisson draw per voxel, one Poisson(Λ) draw for the cell's total and a categorical draw
//! (weights λ) of each synapse's voxel. The two are the same distribution (independent
//! Poisson counts ⇔ Poisson total + multinomial split) but cost one draw per cell, which matters
//! for ~536 000 cells × 50 realizations. Within a voxel, synapses go to traced points without
//! replacement up to the number of points, then with replacement (ISF's rule).
//!
//! Randomness: realization `r` uses its own ChaCha8 stream (`seed`, stream `r`), so
//! realizations run in parallel and the result does not depend on the thread count.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::Distribution;
use rayon::prelude::*;

use super::embedding::Embedding;

/// One synapse, in creation order: block → presynaptic cell → structure → voxel → candidate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Synapse {
    /// Index into [`Embedding::blocks`].
    pub block: u32,
    /// Presynaptic cell index within the block (before dense renumbering).
    pub cell: u32,
    /// Structure slot ([`super::grid::CellGeometry::structures`]).
    pub slot: u8,
    /// Mapped section (index into [`super::grid::CellGeometry::sections`]).
    pub section: u32,
    /// Traced point of that section.
    pub point: u32,
}

/// The random stream of realization `index`.
pub fn realization_rng(seed: u64, index: u64) -> ChaCha8Rng {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    rng.set_stream(index);
    rng
}

/// Draws realization `index` (deterministic in `(seed, index)`).
pub fn realize(emb: &Embedding, seed: u64, index: u64) -> Vec<Synapse> {
    let mut rng = realization_rng(seed, index);
    let mut out = Vec::new();
    let mut picks: Vec<u32> = Vec::new();
    let mut scratch: Vec<u32> = Vec::new();
    for (bi, blk) in emb.blocks.iter().enumerate() {
        let nf = blk.files.len();
        if nf == 0 {
            continue;
        }
        for cell in 0..blk.n_cells {
            let f = blk.files[rng.random_range(0..nf)] as usize;
            let Some(d) = &emb.densities[f] else { continue };
            let Some(pois) = &d.poisson else { continue };
            let n = pois.sample(&mut rng) as usize;
            if n == 0 {
                continue;
            }
            picks.clear();
            let last = d.entries.len() - 1;
            for _ in 0..n {
                let u = rng.random::<f64>() * d.total;
                let e = d.cumulative.partition_point(|&c| c <= u).min(last);
                picks.push(e as u32);
            }
            picks.sort_unstable();
            let mut i = 0;
            while i < picks.len() {
                let e = picks[i];
                let mut j = i;
                while j < picks.len() && picks[j] == e {
                    j += 1;
                }
                let count = j - i;
                let (slot, v, _) = d.entries[e as usize];
                let cands = &emb.raster.candidates[slot as usize][v as usize];
                let m = cands.len();
                scratch.clear();
                scratch.extend(0..m as u32);
                let distinct = count.min(m);
                for t in 0..distinct {
                    let s = rng.random_range(t..m);
                    scratch.swap(t, s);
                }
                let push = |out: &mut Vec<Synapse>, c: u32| {
                    let (section, point) = cands[c as usize];
                    out.push(Synapse {
                        block: bi as u32,
                        cell,
                        slot: slot as u8,
                        section,
                        point,
                    });
                };
                for &c in &scratch[..distinct] {
                    push(&mut out, c);
                }
                for _ in distinct..count {
                    let c = rng.random_range(0..m) as u32;
                    push(&mut out, c);
                }
                i = j;
            }
        }
    }
    out
}

/// Draws realizations `0..n` in parallel.
pub fn realize_many(emb: &Embedding, seed: u64, n: usize) -> Vec<Vec<Synapse>> {
    (0..n as u64)
        .into_par_iter()
        .map(|r| realize(emb, seed, r))
        .collect()
}
