//! Trial seeds: a pure function of (base seed, cell index, seed index), never of rank or thread,
//! so results do not depend on the decomposition.
//!
//! Derivation (stable; changing it changes every result): with SplitMix64's finaliser `mix`
//! (Steele, Lea & Flood 2014: add 0x9E3779B97F4A7C15, then xor-shift-multiply by
//! 0xBF58476D1CE4E5B9 and 0x94D049BB133111EB),
//! `h = mix(mix(mix(base) ^ cell) ^ seed_index)`, and the seed is the upper 32 bits of `h`,
//! so it is < 2^32 and valid for numpy's `np.random.seed` / MT19937 `init_genrand`.
//! Trial `k` of a cell with `sweeps_per_seed = s` uses seed index `k / s` and sweep `k % s`, as ISF
//! runs `s` sweeps of one task from one seeded stream.

/// SplitMix64 step: the golden-ratio increment followed by its 64-bit finaliser.
pub fn splitmix64(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// The numpy-compatible seed (< 2^32) of seed index `seed_index` of cell `cell`.
pub fn task_seed(base_seed: u64, cell: u32, seed_index: u64) -> u64 {
    let h = splitmix64(splitmix64(splitmix64(base_seed) ^ u64::from(cell)) ^ seed_index);
    h >> 32
}

/// (seed, sweep) of trial `trial_in_cell` of cell `cell`.
pub fn trial_seed(
    base_seed: u64,
    cell: u32,
    trial_in_cell: u64,
    sweeps_per_seed: u32,
) -> (u64, u32) {
    let s = u64::from(sweeps_per_seed.max(1));
    (
        task_seed(base_seed, cell, trial_in_cell / s),
        (trial_in_cell % s) as u32,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splitmix64_matches_the_published_sequence() {
        // Reference values of the SplitMix64 generator seeded with 0 (state advanced by the
        // increment before each finalisation), from Vigna's splitmix64.c: 0xE220A8397B1DCDAF, …
        assert_eq!(splitmix64(0), 0xE220_A839_7B1D_CDAF);
        assert_eq!(splitmix64(0x9E37_79B9_7F4A_7C15), 0x6E78_9E6A_A1B9_65F4);
    }

    #[test]
    fn seeds_are_below_2_pow_32_distinct_and_shared_by_sweeps() {
        let mut seen = std::collections::HashSet::new();
        for cell in 0..4 {
            for k in 0..64 {
                let s = task_seed(7, cell, k);
                assert!(s < 1 << 32);
                assert!(seen.insert(s), "seed collision at cell {cell} index {k}");
            }
        }
        assert_eq!(trial_seed(7, 1, 5, 3), (task_seed(7, 1, 1), 2));
        assert_eq!(trial_seed(7, 1, 5, 1), (task_seed(7, 1, 5), 0));
    }
}
