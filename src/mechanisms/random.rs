//! Random numbers as NEURON 9.0.2 draws them, so that stochastic mechanisms compiled from NMODL
//! (NetStim's noise, SpikeGenerator's bursts, the BBP synapses' release) reproduce NEURON's
//! results bit for bit.
//!
//! Two generators exist in NEURON and both are here:
//!
//! * [`Random123`]: a counter-based stream (philox4x32 with 10 rounds). A stream is named by three
//!   32-bit ids and a position; the position is NEURON's "seq4which", 4 × the philox counter plus
//!   the index (0‥3) of the next word of the counter's 4-word block. NMODL `RANDOM` variables
//!   (`random_negexp`, `random_uniform`, `random_normal`, `random_setseq`, `random_setids`) and
//!   hoc's `Random(seed)` (ids (seed, 55, 0)) and `Random.Random123(a, b, c)` use it. A word `r`
//!   becomes the uniform `(r + 1) · (1 / (2³² + 1))`, in the open interval (0, 1).
//! * [`ScopLcg`]: the legacy 32-bit linear congruential generator behind `scop_random`,
//!   `exprand`, `normrand` and `set_seed` (value ← 2147437301 · value + 453816981 mod 2³²,
//!   uniform = value / 4294967295, initial value 1). NEURON keeps one for the whole process and
//!   `finitialize` does not reset it; isf keeps one per cell and trial (see `docs/nmodl.md`), so
//!   that a result never depends on how cells are spread over ranks and threads.
//!
//! Every transform performs NEURON's floating-point operations in NEURON's order.

/// Multipliers and key increments of philox4x32 (Salmon et al., SC'11).
const PHILOX_M0: u32 = 0xD251_1F53;
const PHILOX_M1: u32 = 0xCD9E_8D57;
const PHILOX_W0: u32 = 0x9E37_79B9;
const PHILOX_W1: u32 = 0xBB67_AE85;

/// philox4x32 with 10 rounds: the 4-word block of `counter` under `key`.
pub fn philox4x32_10(counter: [u32; 4], key: [u32; 2]) -> [u32; 4] {
    let mut c = counter;
    let mut k = key;
    for round in 0..10 {
        if round > 0 {
            k[0] = k[0].wrapping_add(PHILOX_W0);
            k[1] = k[1].wrapping_add(PHILOX_W1);
        }
        let p0 = u64::from(PHILOX_M0) * u64::from(c[0]);
        let p1 = u64::from(PHILOX_M1) * u64::from(c[2]);
        c = [
            ((p1 >> 32) as u32) ^ c[1] ^ k[0],
            p1 as u32,
            ((p0 >> 32) as u32) ^ c[3] ^ k[1],
            p0 as u32,
        ];
    }
    c
}

/// `1 / (2³² + 1)`, the scale NEURON turns a 32-bit word into a uniform with.
const SHIFT32: f64 = 1.0 / 4_294_967_297.0;

/// Largest position NEURON's `setseq` accepts (above it, and below 0, it sets 0).
const MAX_POSITION: f64 = 0xff_ffff_ffff_u64 as f64;

/// A Random123 stream of NEURON 9: three ids and a position. The global index of NEURON's
/// streams (the philox key's first word) is 0, NEURON's default.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Random123 {
    /// The stream's ids (id1, id2, id3), as hoc's `Random123(id1, id2, id3)` names them.
    pub ids: [u32; 3],
    /// 4 × counter + index of the next word in the counter's block (NEURON's "seq4which").
    pub position: u64,
}

impl Random123 {
    /// The stream `(id1, id2, id3)` at position 0.
    pub fn new(id1: u32, id2: u32, id3: u32) -> Self {
        Random123 {
            ids: [id1, id2, id3],
            position: 0,
        }
    }

    /// hoc's `Random(seed)` in NEURON 9: the stream (seed, 55, 0) (55 is the default `size`).
    pub fn hoc_random(seed: u32) -> Self {
        Random123::new(seed, 55, 0)
    }

    /// The `k`-th 32-bit word of the stream, counted from position 0.
    pub fn word_at(ids: [u32; 3], k: u64) -> u32 {
        // NEURON's counter layout: (sequence, id3, id1, id2); the key is (global index 0, 0).
        let block = philox4x32_10([(k >> 2) as u32, ids[2], ids[0], ids[1]], [0, 0]);
        block[(k & 3) as usize]
    }

    /// The next 32-bit word (NEURON's `nrnran123_ipick`).
    pub fn next_word(&mut self) -> u32 {
        let w = Random123::word_at(self.ids, self.position);
        // The counter is 32 bits: past 2³² blocks NEURON's sequence wraps to 0.
        self.position = (self.position + 1) & 0x3_ffff_ffff;
        w
    }

    /// A uniform in (0, 1) (NEURON's `nrnran123_dblpick`, `random_uniform(r)`).
    pub fn uniform(&mut self) -> f64 {
        (f64::from(self.next_word()) + 1.0) * SHIFT32
    }

    /// `random_uniform(r, a, b)`: `a + u · (b − a)`.
    pub fn uniform_in(&mut self, a: f64, b: f64) -> f64 {
        a + self.uniform() * (b - a)
    }

    /// `random_negexp(r)`: `−ln u` (mean 1).
    pub fn negexp(&mut self) -> f64 {
        -self.uniform().ln()
    }

    /// `random_negexp(r, mean)`: `−ln u · mean`.
    pub fn negexp_mean(&mut self, mean: f64) -> f64 {
        -self.uniform().ln() * mean
    }

    /// `random_normal(r)`: the polar method on pairs of uniforms mapped to (−1, 1), retried
    /// while outside the unit disc; one value per accepted pair (the second is discarded).
    pub fn normal(&mut self) -> f64 {
        loop {
            let u1 = 2.0 * self.uniform() - 1.0;
            let u2 = 2.0 * self.uniform() - 1.0;
            let w = u1 * u1 + u2 * u2;
            if w <= 1.0 {
                let y = ((-2.0 * w.ln()) / w).sqrt();
                return u1 * y;
            }
        }
    }

    /// `random_normal(r, mu, sigma)`: `mu + n · sigma`.
    pub fn normal_with(&mut self, mu: f64, sigma: f64) -> f64 {
        mu + self.normal() * sigma
    }

    /// `random_setseq(r, x)` (and hoc's `.seq(x)`): the position `x`, truncated to an integer;
    /// negative values and values above 2⁴⁰ − 1 give 0, only its low 34 bits count.
    pub fn set_position(&mut self, x: f64) {
        let x = if (0.0..=MAX_POSITION).contains(&x) {
            x
        } else {
            0.0
        };
        self.position = (x as u64) & 0x3_ffff_ffff;
    }

    /// `random_setids(r, id1, id2, id3)`: new ids, same position. NEURON converts each double to
    /// a 32-bit unsigned integer.
    pub fn set_ids(&mut self, id1: f64, id2: f64, id3: f64) {
        self.ids = [to_u32(id1), to_u32(id2), to_u32(id3)];
    }
}

/// C's conversion of a double to `uint32_t` as NEURON's x86-64 build performs it: truncation
/// toward zero, modulo 2³² (NaN gives 0).
pub fn to_u32(x: f64) -> u32 {
    (x as i64) as u32
}

/// NEURON's legacy generator (`scop_random`), one value of state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ScopLcg {
    /// The generator's state.
    pub value: u32,
}

impl Default for ScopLcg {
    fn default() -> Self {
        ScopLcg::new()
    }
}

impl ScopLcg {
    /// The generator in NEURON's initial state (value 1).
    pub const fn new() -> Self {
        ScopLcg { value: 1 }
    }

    /// `set_seed(x)`: the state becomes `(uint32_t) x`.
    pub fn set_seed(&mut self, seed: f64) {
        self.value = to_u32(seed);
    }

    /// `scop_random()`: a uniform in [0, 1].
    pub fn uniform(&mut self) -> f64 {
        self.value = self
            .value
            .wrapping_mul(2_147_437_301)
            .wrapping_add(453_816_981);
        (f64::from(self.value) / 4_294_967_295.0).abs()
    }

    /// `exprand(mean)`: `−mean · ln(scop_random())`.
    pub fn exprand(&mut self, mean: f64) -> f64 {
        -mean * self.uniform().ln()
    }

    /// `normrand(mean, sd)`: the polar method, retried while the pair falls outside the unit
    /// disc.
    pub fn normrand(&mut self, mean: f64, sd: f64) -> f64 {
        let mut s = 1.0;
        let mut v1 = 0.0;
        while s >= 1.0 {
            v1 = 2.0 * self.uniform() - 1.0;
            let v2 = 2.0 * self.uniform() - 1.0;
            s = v1 * v1 + v2 * v2;
        }
        let v2 = v1 * (-2.0 * s.ln() / s).sqrt();
        v2 * sd + mean
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Known-answer vectors of philox4x32-10 published with Random123 (`kat_vectors`).
    #[test]
    fn philox_known_answers() {
        assert_eq!(
            philox4x32_10([0, 0, 0, 0], [0, 0]),
            [0x6627_e8d5, 0xe169_c58d, 0xbc57_ac4c, 0x9b00_dbd8]
        );
        assert_eq!(
            philox4x32_10([u32::MAX; 4], [u32::MAX; 2]),
            [0x408f_276d, 0x41c8_3b0e, 0xa20b_c7c6, 0x6d54_51fd]
        );
        assert_eq!(
            philox4x32_10(
                [0x243f_6a88, 0x85a3_08d3, 0x1319_8a2e, 0x0370_7344],
                [0xa409_3822, 0x299f_31d0]
            ),
            [0xd16c_fe09, 0x94fd_cceb, 0x5001_e420, 0x2412_6ea1]
        );
    }

    #[test]
    fn lcg_sequence_and_seed() {
        let mut g = ScopLcg::new();
        let a = g.uniform();
        assert_eq!(g.value, 2_147_437_301u32.wrapping_add(453_816_981));
        assert_eq!(a, f64::from(g.value) / 4_294_967_295.0);
        g.set_seed(12345.0);
        assert_eq!(g.value, 12345);
        g.set_seed(-1.0);
        assert_eq!(g.value, u32::MAX);
        let mut h = ScopLcg { value: 7 };
        let mut copy = h;
        let u = copy.uniform();
        assert_eq!(h.exprand(2.0), -2.0 * u.ln());
    }

    #[test]
    fn positions_follow_neurons_setseq() {
        let mut s = Random123::new(1, 2, 3);
        s.set_position(9.7);
        assert_eq!(s.position, 9);
        let w = s.next_word();
        assert_eq!(w, philox4x32_10([2, 3, 1, 2], [0, 0])[1]);
        assert_eq!(s.position, 10);
        s.set_position(-4.0);
        assert_eq!(s.position, 0);
        s.set_position(2.0e12);
        assert_eq!(s.position, 0);
        s.set_ids(5.0, 6.0, 7.0);
        assert_eq!(s.ids, [5, 6, 7]);
        assert_eq!(to_u32(f64::NAN), 0);
    }

    /// Rows of a reference `*_events.csv` as (column → text) maps.
    fn events(rel: &str) -> Option<Vec<std::collections::HashMap<String, String>>> {
        let path = crate::testing::shared_path(rel)?;
        let mut r = csv::Reader::from_path(&path).expect("events table");
        let head: Vec<String> = r.headers().unwrap().iter().map(str::to_string).collect();
        Some(
            r.records()
                .map(|rec| {
                    let rec = rec.unwrap();
                    head.iter()
                        .cloned()
                        .zip(rec.iter().map(str::to_string))
                        .collect()
                })
                .collect(),
        )
    }

    fn num(row: &std::collections::HashMap<String, String>, key: &str) -> f64 {
        row[key].parse().unwrap()
    }

    /// The source event times NEURON recorded for a reference (`_meta/<file>.json`), read from
    /// the text with Rust's correctly rounded parser (serde_json's default float parser may be
    /// one unit in the last place off).
    fn spike_times(rel: &str) -> Option<Vec<f64>> {
        let path = crate::testing::shared_path(rel)?;
        let text = std::fs::read_to_string(path).unwrap();
        let key = "\"source_event_times\":";
        let at = text.find(key).expect("source_event_times") + key.len();
        let open = at + text[at..].find('[').unwrap() + 1;
        let close = open + text[open..].find(']').unwrap();
        Some(
            text[open..close]
                .split(',')
                .map(|x| x.trim().parse().unwrap())
                .collect(),
        )
    }

    const NMODL_REF: &str = "reference/neuron-9.0.2/nmodl";

    /// The release draws of the BBP synapses: hoc `Random(424371)` after `.negexp(1)` consumed
    /// the first variate, and `Random123(3, 5, 7)` rewound to 0; bit for bit.
    #[test]
    fn random123_draws_equal_neurons_release_tables() {
        for (file, start, ids) in [
            ("ProbAMPANMDA2/isf_random123_seed424371_events.csv", 1, None),
            ("ProbUDFsyn2/isf_random123_seed424371_events.csv", 1, None),
            (
                "ProbAMPANMDA2/facil_random123_ids_3_5_7_events.csv",
                0,
                Some([3, 5, 7]),
            ),
        ] {
            let Some(rows) = events(&format!("{NMODL_REF}/{file}")) else {
                return;
            };
            let mut s = match ids {
                None => {
                    let mut s = Random123::hoc_random(424_371);
                    let first = s.negexp();
                    assert_eq!(first, 0.36841023941175, "{file}: first variate");
                    s
                }
                Some([a, b, c]) => Random123::new(a, b, c),
            };
            assert_eq!(s.position, start);
            for row in &rows {
                let draw = s.negexp();
                assert_eq!(
                    draw.to_bits(),
                    num(row, "erand").to_bits(),
                    "{file}: {row:?}"
                );
                assert_eq!(draw < num(row, "Pr"), num(row, "released") == 1.0, "{file}");
            }
        }
    }

    /// `exprand(1)` draws of the synapses without `setRNG` (drawn, then discarded), from the
    /// LCG seeded by `set_seed`.
    #[test]
    fn lcg_draws_equal_neurons_discarded_exprand() {
        for (file, seed) in [
            ("ProbAMPANMDA2/isf_no_setRNG_events.csv", 12345.0),
            ("ProbUDFsyn2/facil_no_setRNG_events.csv", 777.0),
        ] {
            let Some(rows) = events(&format!("{NMODL_REF}/{file}")) else {
                return;
            };
            let mut g = ScopLcg::new();
            g.set_seed(seed);
            for row in &rows {
                let x = g.exprand(1.0);
                let want = num(row, "exprand_drawn_and_discarded");
                assert_eq!(x.to_bits(), want.to_bits(), "{file}: {row:?}");
            }
        }
    }

    /// NetStim with noise 0.5 and ids (11, 22, 33): its spike times, built with NEURON's
    /// arithmetic from `random_negexp` draws (INITIAL's `seed(0)` rewinds the stream).
    #[test]
    fn netstim_spike_times_from_random123() {
        let Some(want) = spike_times(&format!(
            "{NMODL_REF}/NetStim/_meta/noise0.5_random123_ids_11_22_33.json"
        )) else {
            return;
        };
        let (start, interval, number, noise) = (10.0, 10.0, 15, 0.5);
        let mut s = Random123::new(11, 22, 33);
        s.set_position(0.0);
        let mut invl = |mean: f64| (1. - noise) * mean + noise * mean * s.negexp();
        let event = start + invl(interval) - interval * (1. - noise);
        // INITIAL's net_send(event, 3) at t = 0, then flag 3's net_send(0, 1).
        let mut t = (0.0 + event) + 0.0;
        let mut got = Vec::new();
        for _ in 0..number {
            got.push(t);
            t += invl(interval);
        }
        assert_eq!(got, want);
    }

    /// SpikeGenerator (pregen.mod) with noise 0.5 after `seed(12345)`: its bursts, built with
    /// NEURON's arithmetic from `exprand(1)` draws; each next time is `(t + event) − t`.
    #[test]
    fn pregen_spike_times_from_the_lcg() {
        let Some(want) = spike_times(&format!(
            "{NMODL_REF}/pregen/_meta/bursts_noise0.5_seed12345.json"
        )) else {
            return;
        };
        let (start, slow, burst_len, fast, end, noise) = (20.0, 40.0, 4.0, 3.0, 180.0, 0.5);
        let mut g = ScopLcg::new();
        g.set_seed(12345.0);
        let mut interval = |mut mean: f64| {
            if mean <= 0.0 {
                mean = 0.01;
            }
            (1. - noise) * mean + noise * mean * g.exprand(1.0)
        };
        let (mut on, mut burst, mut burst_on, mut burst_off) = (true, false, 0.0, 0.0);
        let mut event = start - slow;
        let mut event_time = |event: &mut f64, on: &mut bool| {
            if slow == 0.0 || (burst && burst_len > 1.0) {
                *event += interval(fast);
                if *event > burst_on + burst_off {
                    burst = false;
                }
            } else {
                burst = true;
                *event += interval(slow);
                burst_on = *event;
                burst_off = interval((burst_len - 1.0) * fast) - 1e-6;
            }
            if *event > end {
                *on = false;
            }
        };
        event_time(&mut event, &mut on);
        while on && event < 0.0 {
            event_time(&mut event, &mut on);
        }
        let mut t = 0.0 + event;
        let mut got = Vec::new();
        while on {
            got.push(t);
            event_time(&mut event, &mut on);
            t = (t + event) - t;
        }
        assert_eq!(got, want);
    }
}
