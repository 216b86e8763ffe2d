//! A bit-exact re-implementation of numpy's legacy `RandomState` (MT19937 plus the legacy
//! distribution algorithms), so that isf draws ISF's network activity in exactly the same
//! stream order and gets the same numbers, trial by trial.
//!
//! Only the pieces ISF's network code uses are provided. Every method documents the numpy call
//! it mirrors. The Mersenne Twister core is written here rather than taken from a crate because
//! ISF seeds one private generator per presynaptic "spiketrain" cell (~25,000 per trial) and
//! then takes only a handful of numbers from each; [`Mt19937`] therefore seeds lazily and twists
//! on demand, which produces the identical stream at a fraction of the cost of a full
//! initialisation.

use thiserror::Error;

/// Errors of the random-number layer (arguments numpy would reject).
#[derive(Debug, Error, PartialEq)]
pub enum RngError {
    /// `randint(lo, hi)` with `hi <= lo` (numpy: "low >= high").
    #[error("randint: low ({lo}) must be smaller than high ({hi})")]
    EmptyRange {
        /// Inclusive lower bound.
        lo: i64,
        /// Exclusive upper bound.
        hi: i64,
    },
    /// `choice(n, k)` from an empty population with `k > 0`.
    #[error("choice: cannot take {k} samples from an empty population")]
    EmptyPopulation {
        /// Requested number of samples.
        k: usize,
    },
}

const N: usize = 624;
const M: usize = 397;
const MATRIX_A: u32 = 0x9908_b0df;
const UPPER_MASK: u32 = 0x8000_0000;
const LOWER_MASK: u32 = 0x7fff_ffff;
/// First index whose twist needs an already twisted word (`i + M >= N`).
const LAZY_LIMIT: usize = N - M;

#[inline(always)]
fn init_step(prev: u32, k: usize) -> u32 {
    1_812_433_253u32
        .wrapping_mul(prev ^ (prev >> 30))
        .wrapping_add(k as u32)
}

#[inline(always)]
fn twist_word(cur: u32, next: u32, far: u32) -> u32 {
    let y = (cur & UPPER_MASK) | (next & LOWER_MASK);
    far ^ (y >> 1) ^ if y & 1 != 0 { MATRIX_A } else { 0 }
}

#[inline(always)]
fn temper(mut y: u32) -> u32 {
    y ^= y >> 11;
    y ^= (y << 7) & 0x9d2c_5680;
    y ^= (y << 15) & 0xefc6_0000;
    y ^ (y >> 18)
}

/// The 32-bit Mersenne Twister MT19937 with `init_genrand` seeding (numpy's `mt19937_seed`).
///
/// After seeding, the state is initialised and twisted only as far as the outputs requested so
/// far need (output `i < 227` depends only on initial words `i`, `i + 1` and `i + 397`); the
/// stream is identical to the eager algorithm.
#[derive(Clone)]
pub struct Mt19937 {
    state: [u32; N],
    /// Initial-state words `state[..filled]` are valid (only meaningful while `lazy`).
    filled: usize,
    /// Index of the next output within the current block; `N` = block exhausted.
    pos: usize,
    /// True while the first block after seeding is being generated word by word.
    lazy: bool,
}

impl Mt19937 {
    /// A generator seeded with `init_genrand(seed)`.
    pub fn new(seed: u32) -> Self {
        let mut mt = Mt19937 {
            state: [0; N],
            filled: 0,
            pos: 0,
            lazy: true,
        };
        mt.seed(seed);
        mt
    }

    /// Re-seeds with `init_genrand(seed)` (lazily).
    pub fn seed(&mut self, seed: u32) {
        self.state[0] = seed;
        self.filled = 1;
        self.pos = 0;
        self.lazy = true;
    }

    /// Makes the initial-state words `..upto` valid.
    #[inline]
    fn fill_to(&mut self, upto: usize) {
        let mut k = self.filled;
        if k >= upto {
            return;
        }
        let mut prev = self.state[k - 1];
        while k < upto {
            prev = init_step(prev, k);
            self.state[k] = prev;
            k += 1;
        }
        self.filled = upto;
    }

    /// Twists all remaining words of the current block (the eager algorithm from `from`).
    fn twist_from(&mut self, from: usize) {
        let s = &mut self.state;
        for i in from..LAZY_LIMIT {
            s[i] = twist_word(s[i], s[i + 1], s[i + M]);
        }
        for i in from.max(LAZY_LIMIT)..N - 1 {
            s[i] = twist_word(s[i], s[i + 1], s[i + M - N]);
        }
        s[N - 1] = twist_word(s[N - 1], s[0], s[M - 1]);
    }

    /// Next 32-bit output (numpy `next_uint32`).
    #[inline]
    pub fn next_u32(&mut self) -> u32 {
        if !self.lazy && self.pos < N {
            let w = self.state[self.pos];
            self.pos += 1;
            return temper(w);
        }
        self.next_u32_slow()
    }

    /// The lazy first block and the block boundaries.
    #[cold]
    #[inline(never)]
    fn next_u32_slow(&mut self) -> u32 {
        if self.lazy {
            let i = self.pos;
            if i < LAZY_LIMIT {
                self.fill_to(i + M + 1);
                let w = twist_word(self.state[i], self.state[i + 1], self.state[i + M]);
                self.state[i] = w;
                self.pos = i + 1;
                return temper(w);
            }
            self.fill_to(N);
            self.twist_from(i);
            self.lazy = false;
        } else {
            self.twist_from(0);
            self.pos = 0;
        }
        let w = self.state[self.pos];
        self.pos += 1;
        temper(w)
    }

    /// Next 64-bit output: two 32-bit outputs, the first one high (numpy `mt19937_next64`).
    #[inline]
    pub fn next_u64(&mut self) -> u64 {
        let hi = self.next_u32() as u64;
        (hi << 32) | self.next_u32() as u64
    }

    /// A double in [0, 1) with 53 random bits (numpy `mt19937_next_double`).
    #[inline]
    pub fn next_f64(&mut self) -> f64 {
        let a = (self.next_u32() >> 5) as f64;
        let b = (self.next_u32() >> 6) as f64;
        (a * 67_108_864.0 + b) / 9_007_199_254_740_992.0
    }
}

/// A source of MT19937 32-bit outputs, with the legacy conversions numpy applies to them.
pub trait MtStream {
    /// Next 32-bit output.
    fn next_u32(&mut self) -> u32;

    /// A double in [0, 1) with 53 random bits (numpy `mt19937_next_double`).
    #[inline]
    fn next_f64(&mut self) -> f64 {
        let a = (self.next_u32() >> 5) as f64;
        let b = (self.next_u32() >> 6) as f64;
        (a * 67_108_864.0 + b) / 9_007_199_254_740_992.0
    }

    /// Legacy `standard_exponential()` = `−ln(1 − U)`.
    #[inline]
    fn standard_exponential(&mut self) -> f64 {
        -(1.0 - self.next_f64()).ln()
    }
}

impl MtStream for Mt19937 {
    #[inline]
    fn next_u32(&mut self) -> u32 {
        Mt19937::next_u32(self)
    }
}

/// Number of outputs per seed that [`SeedWindows`] precomputes.
pub const WINDOW: usize = 24;
/// Words stored per seed: initial words `0..=WINDOW` and `397..397 + WINDOW`.
const WINDOW_WORDS: usize = 2 * WINDOW + 1;
/// Seeds processed side by side.
const LANES: usize = 64;

type Block = [[u32; LANES]; WINDOW_WORDS];

#[inline(always)]
fn step_lanes(x: &mut [u32; LANES], k: usize) {
    for v in x.iter_mut() {
        *v = init_step(*v, k);
    }
}

/// For many seeds at once, the initial-state words that the first [`WINDOW`] outputs of
/// `init_genrand(seed)` depend on. The seeding recurrence is a long serial chain per seed;
/// running 64 seeds side by side lets the CPU overlap the chains and use vector multiplies
/// (ISF seeds ~25,000 private generators per trial and draws a few numbers from each).
/// Words are stored lane-minor (`block[word][lane]`) so that the vectors are stored whole.
#[derive(Default)]
pub struct SeedWindows {
    seeds: Vec<u32>,
    blocks: Vec<Block>,
}

impl SeedWindows {
    /// Computes the windows of `seeds` (replacing earlier contents).
    pub fn fill(&mut self, seeds: &[u32]) {
        self.seeds.clear();
        self.seeds.extend_from_slice(seeds);
        let n_blocks = seeds.len().div_ceil(LANES);
        self.blocks.resize(n_blocks, [[0; LANES]; WINDOW_WORDS]);
        #[cfg(target_arch = "x86_64")]
        if std::arch::is_x86_feature_detected!("avx2") {
            // SAFETY: the CPU supports AVX2 (checked just above).
            unsafe { fill_blocks_avx2(seeds, &mut self.blocks) };
            return;
        }
        fill_blocks(seeds, &mut self.blocks);
    }

    /// Number of seeds.
    pub fn len(&self) -> usize {
        self.seeds.len()
    }

    /// True when there are no seeds.
    pub fn is_empty(&self) -> bool {
        self.seeds.is_empty()
    }

    /// The output stream of seed `i`; `spare` is reused when the window is used up.
    pub fn stream<'a>(&'a self, i: usize, spare: &'a mut Mt19937) -> WindowedStream<'a> {
        WindowedStream {
            block: &self.blocks[i / LANES],
            lane: i % LANES,
            seed: self.seeds[i],
            pos: 0,
            spare,
        }
    }
}

/// [`fill_blocks`] compiled for AVX2 (8-lane 32-bit multiplies).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn fill_blocks_avx2(seeds: &[u32], blocks: &mut [Block]) {
    fill_blocks(seeds, blocks);
}

#[inline(always)]
fn fill_blocks(seeds: &[u32], blocks: &mut [Block]) {
    for (chunk, block) in seeds.chunks(LANES).zip(blocks.iter_mut()) {
        let mut x = [0u32; LANES];
        x[..chunk.len()].copy_from_slice(chunk);
        block[0] = x;
        for (k, row) in block.iter_mut().enumerate().take(WINDOW + 1).skip(1) {
            step_lanes(&mut x, k);
            *row = x;
        }
        for k in WINDOW + 1..M {
            step_lanes(&mut x, k);
        }
        for j in 0..WINDOW {
            step_lanes(&mut x, M + j);
            block[WINDOW + 1 + j] = x;
        }
    }
}

/// The output stream of `init_genrand(seed)` served from a [`SeedWindows`] window, falling
/// back to a full generator once the window is used up.
pub struct WindowedStream<'a> {
    block: &'a Block,
    lane: usize,
    seed: u32,
    pos: usize,
    spare: &'a mut Mt19937,
}

impl MtStream for WindowedStream<'_> {
    #[inline]
    fn next_u32(&mut self) -> u32 {
        let i = self.pos;
        self.pos += 1;
        if i < WINDOW {
            let (b, l) = (self.block, self.lane);
            return temper(twist_word(b[i][l], b[i + 1][l], b[WINDOW + 1 + i][l]));
        }
        if i == WINDOW {
            self.spare.seed(self.seed);
            for _ in 0..WINDOW {
                self.spare.next_u32();
            }
        }
        self.spare.next_u32()
    }
}

/// numpy's legacy `np.random.RandomState`: MT19937 plus the cached second normal deviate.
#[derive(Clone)]
pub struct RandomState {
    mt: Mt19937,
    gauss: Option<f64>,
}

impl RandomState {
    /// `np.random.RandomState(seed)` / `np.random.seed(seed)`.
    pub fn new(seed: u32) -> Self {
        RandomState {
            mt: Mt19937::new(seed),
            gauss: None,
        }
    }

    /// `np.random.seed(seed)`: re-seeds and forgets the cached normal deviate.
    pub fn seed(&mut self, seed: u32) {
        self.mt.seed(seed);
        self.gauss = None;
    }

    /// Next raw 32-bit output.
    #[inline]
    pub fn next_u32(&mut self) -> u32 {
        self.mt.next_u32()
    }

    /// `random_sample()` / `rand()` / `uniform()`: a double in [0, 1).
    #[inline]
    pub fn random_sample(&mut self) -> f64 {
        self.mt.next_f64()
    }

    /// `rand()` (same as [`random_sample`](Self::random_sample)).
    #[inline]
    pub fn rand(&mut self) -> f64 {
        self.mt.next_f64()
    }

    /// `uniform(lo, hi)` = `lo + (hi − lo)·U`.
    #[inline]
    pub fn uniform(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo) * self.mt.next_f64()
    }

    /// `standard_exponential()` (legacy) = `−ln(1 − U)`.
    #[inline]
    pub fn standard_exponential(&mut self) -> f64 {
        -(1.0 - self.mt.next_f64()).ln()
    }

    /// `exponential(scale)` (legacy) = `scale · standard_exponential()`.
    #[inline]
    pub fn exponential(&mut self, scale: f64) -> f64 {
        scale * self.standard_exponential()
    }

    /// `standard_normal()` / `randn()` (legacy polar Box–Muller; every second call returns the
    /// deviate cached by the previous one).
    pub fn gauss(&mut self) -> f64 {
        if let Some(g) = self.gauss.take() {
            return g;
        }
        loop {
            let x1 = 2.0 * self.mt.next_f64() - 1.0;
            let x2 = 2.0 * self.mt.next_f64() - 1.0;
            let r2 = x1 * x1 + x2 * x2;
            if r2 < 1.0 && r2 != 0.0 {
                let f = (-2.0 * r2.ln() / r2).sqrt();
                self.gauss = Some(f * x1);
                return f * x2;
            }
        }
    }

    /// `normal(loc, scale)` = `loc + scale · gauss()`.
    #[inline]
    pub fn normal(&mut self, loc: f64, scale: f64) -> f64 {
        loc + scale * self.gauss()
    }

    /// `lognormal(mean, sigma)` = `exp(normal(mean, sigma))`.
    #[inline]
    pub fn lognormal(&mut self, mean: f64, sigma: f64) -> f64 {
        self.normal(mean, sigma).exp()
    }

    /// numpy's `random_interval(max)`: uniform integer in `0..=max` by masked rejection
    /// (32-bit draws when `max` fits in 32 bits, else 64-bit draws). Used by `shuffle`.
    pub fn random_interval(&mut self, max: u64) -> u64 {
        if max == 0 {
            return 0;
        }
        let mask = u64::MAX >> max.leading_zeros();
        if max <= u32::MAX as u64 {
            loop {
                let v = self.mt.next_u32() as u64 & mask;
                if v <= max {
                    return v;
                }
            }
        } else {
            loop {
                let v = self.mt.next_u64() & mask;
                if v <= max {
                    return v;
                }
            }
        }
    }

    /// Legacy `randint(lo, hi)` (default int64 dtype, `hi` exclusive): masked rejection on
    /// 32-bit draws when the range fits in 32 bits, 64-bit draws otherwise; a range of one value
    /// draws nothing.
    pub fn randint(&mut self, lo: i64, hi: i64) -> Result<i64, RngError> {
        if hi <= lo {
            return Err(RngError::EmptyRange { lo, hi });
        }
        // Inclusive span as numpy computes it (hi − 1 − lo), in unsigned arithmetic.
        let rng = (hi as i128 - 1 - lo as i128) as u64;
        let v = if rng == 0 {
            0
        } else if rng <= u32::MAX as u64 {
            if rng == u32::MAX as u64 {
                self.mt.next_u32() as u64
            } else {
                let mask = u64::MAX >> rng.leading_zeros();
                loop {
                    let v = self.mt.next_u32() as u64 & mask;
                    if v <= rng {
                        break v;
                    }
                }
            }
        } else if rng == u64::MAX {
            self.mt.next_u64()
        } else {
            let mask = u64::MAX >> rng.leading_zeros();
            loop {
                let v = self.mt.next_u64() & mask;
                if v <= rng {
                    break v;
                }
            }
        };
        Ok((lo as i128 + v as i128) as i64)
    }

    /// Legacy `shuffle(x)` for a 1-d array: Fisher–Yates from the end, `j = random_interval(i)`.
    pub fn shuffle<T>(&mut self, x: &mut [T]) {
        for i in (1..x.len()).rev() {
            let j = self.random_interval(i as u64) as usize;
            x.swap(i, j);
        }
    }

    /// Legacy `permutation(n)`: a shuffled `0..n`.
    pub fn permutation(&mut self, n: usize) -> Vec<usize> {
        let mut v: Vec<usize> = (0..n).collect();
        self.shuffle(&mut v);
        v
    }

    /// Legacy `choice(n, k, replace)` without probabilities. Without replacement numpy takes
    /// `permutation(n)[:k]` (the whole permutation is drawn even for small `k`); with replacement
    /// `randint(0, n, size=k)`. Without replacement and `k > n` numpy raises before drawing;
    /// here `None` is returned so the caller can apply ISF's fallback to drawing with replacement.
    pub fn choice(
        &mut self,
        n: usize,
        k: usize,
        replace: bool,
    ) -> Result<Option<Vec<usize>>, RngError> {
        if n == 0 && k > 0 {
            return Err(RngError::EmptyPopulation { k });
        }
        if replace {
            let mut out = Vec::with_capacity(k);
            for _ in 0..k {
                out.push(self.randint(0, n as i64)? as usize);
            }
            Ok(Some(out))
        } else if k > n {
            Ok(None)
        } else {
            let mut p = self.permutation(n);
            p.truncate(k);
            Ok(Some(p))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The eager textbook algorithm, to check the lazy one against.
    fn eager(seed: u32, n: usize) -> Vec<u32> {
        let mut s = [0u32; N];
        s[0] = seed;
        for k in 1..N {
            s[k] = init_step(s[k - 1], k);
        }
        let mut out = Vec::new();
        let mut pos = N;
        while out.len() < n {
            if pos == N {
                for i in 0..N {
                    s[i] = twist_word(s[i], s[(i + 1) % N], s[(i + M) % N]);
                }
                pos = 0;
            }
            out.push(temper(s[pos]));
            pos += 1;
        }
        out
    }

    #[test]
    fn lazy_stream_equals_eager_stream() {
        for seed in [0u32, 1, 5489, 123_456, u32::MAX] {
            let want = eager(seed, 2000);
            // Stop the lazy phase at every interesting point by reseeding and drawing.
            let mut mt = Mt19937::new(seed);
            let got: Vec<u32> = (0..2000).map(|_| mt.next_u32()).collect();
            assert_eq!(got, want, "seed {seed}");
        }
    }

    #[test]
    fn windows_equal_full_generators() {
        let seeds: Vec<u32> = (0..37).map(|i| 123_456 + 7919 * i).collect();
        let mut windows = SeedWindows::default();
        windows.fill(&seeds);
        let mut spare = Mt19937::new(0);
        for (i, s) in seeds.iter().enumerate() {
            let want = eager(*s, WINDOW + 700);
            let mut st = windows.stream(i, &mut spare);
            let got: Vec<u32> = (0..WINDOW + 700).map(|_| st.next_u32()).collect();
            assert_eq!(got, want, "seed {s}");
        }
    }

    #[test]
    fn reference_mt19937_output() {
        // The MT19937 reference implementation's first output for init_genrand(5489)
        // is 3499211612 (the value every MT19937 test suite quotes).
        assert_eq!(Mt19937::new(5489).next_u32(), 3_499_211_612);
    }

    #[test]
    fn randint_rejects_empty_range() {
        let mut r = RandomState::new(1);
        assert_eq!(r.randint(3, 3), Err(RngError::EmptyRange { lo: 3, hi: 3 }));
    }

    #[test]
    fn randint_single_value_draws_nothing() {
        let mut a = RandomState::new(7);
        let mut b = RandomState::new(7);
        assert_eq!(a.randint(5, 6), Ok(5));
        assert_eq!(a.next_u32(), b.next_u32());
    }
}
