//! `network::rng` against numbers printed by numpy's legacy `RandomState`
//! (`tests/data/make_numpy_vectors.py` → `tests/data/numpy_vectors.txt`).

use isf::network::rng::RandomState;
use std::collections::HashMap;

fn vectors() -> HashMap<String, Vec<String>> {
    let text = include_str!("../data/numpy_vectors.txt");
    text.lines()
        .filter_map(|l| l.split_once('\t'))
        .map(|(k, v)| (k.to_string(), v.split(' ').map(str::to_string).collect()))
        .collect()
}

fn floats(v: &HashMap<String, Vec<String>>, k: &str) -> Vec<f64> {
    v[k].iter()
        .filter(|s| !s.is_empty())
        .map(|s| s.parse().unwrap())
        .collect()
}

fn ints(v: &HashMap<String, Vec<String>>, k: &str) -> Vec<i64> {
    v[k].iter()
        .filter(|s| !s.is_empty())
        .map(|s| s.parse().unwrap())
        .collect()
}

/// Bit-level equality (so that -0.0/0.0 or a last-ulp difference fails).
fn assert_bits(got: &[f64], want: &[f64], case: &str) {
    assert_eq!(got.len(), want.len(), "{case}: length");
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        assert_eq!(g.to_bits(), w.to_bits(), "{case}[{i}]: {g} != {w}");
    }
}

#[test]
fn raw_outputs() {
    let v = vectors();
    for (case, seed, n) in [
        ("raw_u32_seed1234", 1234u32, 1300usize),
        ("raw_u32_seed0", 0, 10),
        ("raw_u32_seedmax", u32::MAX, 10),
    ] {
        let mut r = RandomState::new(seed);
        let got: Vec<i64> = (0..n).map(|_| r.next_u32() as i64).collect();
        assert_eq!(got, ints(&v, case), "{case}");
    }
}

#[test]
fn random_sample() {
    let v = vectors();
    for seed in [0u32, 1234, 4_294_967_295] {
        let case = format!("random_sample_seed{seed}");
        let mut r = RandomState::new(seed);
        let got: Vec<f64> = (0..20).map(|_| r.random_sample()).collect();
        assert_bits(&got, &floats(&v, &case), &case);
    }
}

#[test]
fn randint_all_paths() {
    let v = vectors();
    let mut r = RandomState::new(1234);
    let got: Vec<i64> = (0..20)
        .map(|_| r.randint(123_456, 1_234_567).unwrap())
        .collect();
    assert_eq!(got, ints(&v, "randint_spiketrain_seed1234"));

    let mut r = RandomState::new(42);
    let mut run = |lo: i64, hi: i64, n: usize| -> Vec<i64> {
        (0..n).map(|_| r.randint(lo, hi).unwrap()).collect()
    };
    assert_eq!(run(0, 8, 20), ints(&v, "randint_pow2_0_8"));
    assert_eq!(run(0, 9, 20), ints(&v, "randint_0_9_after"));
    assert_eq!(run(-5, 5, 20), ints(&v, "randint_neg5_5_after"));
    assert_eq!(run(0, 1 << 32, 5), ints(&v, "randint_0_2p32_after"));
    assert_eq!(run(0, (1 << 32) + 1, 5), ints(&v, "randint_0_2p32p1_after"));
    assert_eq!(run(0, 1 << 33, 5), ints(&v, "randint_0_2p33_after"));
    let one = run(7, 8, 1)[0];
    let u = r.random_sample();
    let want = &v["randint_one_value_then_rand"];
    assert_eq!(one, want[0].parse::<i64>().unwrap());
    assert_eq!(u.to_bits(), want[1].parse::<f64>().unwrap().to_bits());
}

#[test]
fn exponential_and_uniform() {
    let v = vectors();
    let mut r = RandomState::new(7);
    let got: Vec<f64> = (0..10).map(|_| r.standard_exponential()).collect();
    assert_bits(&got, &floats(&v, "standard_exponential_seed7"), "std exp");
    let got: Vec<f64> = (0..10).map(|_| r.exponential(1000.0)).collect();
    assert_bits(&got, &floats(&v, "exponential1000_after"), "exp 1000");
    let two_pi = 2.0 * std::f64::consts::PI;
    let got: Vec<f64> = (0..10).map(|_| r.uniform(0.0, two_pi)).collect();
    assert_bits(&got, &floats(&v, "uniform_0_2pi_after"), "uniform 2pi");
    let got: Vec<f64> = (0..5).map(|_| r.uniform(-3.0, 7.0)).collect();
    assert_bits(&got, &floats(&v, "uniform_m3_7_after"), "uniform -3 7");
}

#[test]
fn normal_cache_and_reseeding() {
    let v = vectors();
    let mut r = RandomState::new(99);
    let mut got = vec![
        r.normal(1.5, 2.0),
        r.rand(),
        r.normal(1.5, 2.0),
        r.normal(1.5, 2.0),
        r.rand(),
    ];
    got.extend((0..5).map(|_| r.gauss()));
    got.extend((0..5).map(|_| r.lognormal(0.3, 0.8)));
    assert_bits(&got, &floats(&v, "normal_mix_seed99"), "normal mix");

    let mut r = RandomState::new(5);
    let a = r.normal(0.0, 1.0);
    r.seed(5);
    let b = r.normal(0.0, 1.0);
    let c = r.normal(0.0, 1.0);
    assert_bits(&[a, b, c], &floats(&v, "normal_reseed_seed5"), "reseed");
}

#[test]
fn choice_and_permutation() {
    let v = vectors();
    let as_i64 = |x: Vec<usize>| x.into_iter().map(|i| i as i64).collect::<Vec<_>>();
    let mut r = RandomState::new(3);
    let c = r.choice(10, 4, false).unwrap().unwrap();
    assert_eq!(as_i64(c), ints(&v, "choice_10_4_noreplace"));
    let c = r.choice(10, 10, false).unwrap().unwrap();
    assert_eq!(as_i64(c), ints(&v, "choice_10_10_noreplace_after"));
    // k > n without replacement is refused (ISF then draws with replacement).
    assert_eq!(r.choice(5, 8, false).unwrap(), None);
    let c = r.choice(5, 8, true).unwrap().unwrap();
    assert_eq!(as_i64(c), ints(&v, "choice_5_8_replace_after"));
    // k = 0 still draws the whole permutation.
    assert!(r.choice(6, 0, false).unwrap().unwrap().is_empty());
    let u = r.rand();
    assert_bits(
        &[u],
        &floats(&v, "choice_6_0_noreplace_then_rand_after"),
        "k=0",
    );
    assert_eq!(as_i64(r.permutation(20)), ints(&v, "permutation_20_after"));
    let c = r.choice(1000, 3, false).unwrap().unwrap();
    assert_eq!(as_i64(c), ints(&v, "choice_1000_3_noreplace_after"));
}

#[test]
fn spiketrain_private_streams() {
    let v = vectors();
    let mut g = RandomState::new(1234);
    let mut got = Vec::new();
    for _ in 0..3 {
        let seed = g.randint(123_456, 1_234_567).unwrap();
        let mut p = RandomState::new(seed as u32);
        got.extend((0..4).map(|_| p.exponential(1.0)));
    }
    got.push(g.rand());
    assert_bits(
        &got,
        &floats(&v, "spiketrain_private_streams_seed1234"),
        "spiketrain",
    );
}
