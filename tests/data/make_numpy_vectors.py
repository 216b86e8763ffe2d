#!/usr/bin/env python3
"""Print reference draws of numpy's legacy RandomState for isf's `network::rng` tests.

Run:  python3 tests/data/make_numpy_vectors.py > tests/data/numpy_vectors.txt
Each line is `case<TAB>value value ...`; floats are Python repr (shortest round trip).
The Rust test (`tests/engine/numpy_rng.rs`) performs the same operations per case.
"""
import numpy as np


def out(name, values):
    print(name + "\t" + " ".join(repr(float(v)) if isinstance(v, (float, np.floating)) else str(int(v)) for v in values))


RS = np.random.RandomState

# Raw 32-bit outputs (uint32 full range draws one next_uint32 each); 1300 > 624 crosses a twist.
out("raw_u32_seed1234", RS(1234).randint(0, 2**32, size=1300, dtype=np.uint32))
out("raw_u32_seed0", RS(0).randint(0, 2**32, size=10, dtype=np.uint32))
out("raw_u32_seedmax", RS(2**32 - 1).randint(0, 2**32, size=10, dtype=np.uint32))

for s in (0, 1234, 4294967295):
    out("random_sample_seed%d" % s, RS(s).random_sample(20))

r = RS(1234)
out("randint_spiketrain_seed1234", [r.randint(123456, 1234567) for _ in range(20)])
r = RS(42)
out("randint_pow2_0_8", [r.randint(0, 8) for _ in range(20)])
out("randint_0_9_after", [r.randint(0, 9) for _ in range(20)])
out("randint_neg5_5_after", [r.randint(-5, 5) for _ in range(20)])
out("randint_0_2p32_after", [r.randint(0, 2**32) for _ in range(5)])
out("randint_0_2p32p1_after", [r.randint(0, 2**32 + 1) for _ in range(5)])
out("randint_0_2p33_after", [r.randint(0, 2**33) for _ in range(5)])
out("randint_one_value_then_rand", [r.randint(7, 8), r.random_sample()])

r = RS(7)
out("standard_exponential_seed7", [r.standard_exponential() for _ in range(10)])
out("exponential1000_after", r.exponential(1000, size=10))
out("uniform_0_2pi_after", r.uniform(0, 2 * np.pi, 10))
out("uniform_m3_7_after", [r.uniform(-3, 7) for _ in range(5)])

# normal with the cached second deviate, interleaved with other draws.
r = RS(99)
seq = [r.normal(1.5, 2.0), r.rand(), r.normal(1.5, 2.0), r.normal(1.5, 2.0), r.rand()]
seq += list(r.randn(5))
seq += list(r.lognormal(0.3, 0.8, 5))
out("normal_mix_seed99", seq)
# reseeding forgets the cached deviate
r = RS(5)
a = r.normal()
r.seed(5)
b = r.normal()
c = r.normal()
out("normal_reseed_seed5", [a, b, c])

r = RS(3)
out("choice_10_4_noreplace", r.choice(list(range(10)), 4, replace=False))
out("choice_10_10_noreplace_after", r.choice(list(range(10)), 10, replace=False))
out("choice_5_8_replace_after", r.choice(list(range(5)), 8, replace=True))
out("choice_6_0_noreplace_then_rand_after", list(r.choice(list(range(6)), 0, replace=False)) + [r.rand()])
out("permutation_20_after", r.permutation(20))
out("choice_1000_3_noreplace_after", r.choice(list(range(1000)), 3, replace=False))

# ISF's spiketrain: a private RandomState seeded from the global stream.
g = RS(1234)
vals = []
for _ in range(3):
    p = RS(g.randint(123456, 1234567))
    vals += [p.exponential() for _ in range(4)]
vals.append(g.rand())
out("spiketrain_private_streams_seed1234", vals)
