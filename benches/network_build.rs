//! Network build (static, once per cell) and per-trial activity generation for ISF's example
//! (86_C2_center + network.param, 278 populations, 24,780 synapses, tStop 300 ms).
//! Target: ≤ 20 ms per trial (ISF: ~7 s).

use criterion::{criterion_group, criterion_main, Criterion};
use isf::network::{NetworkModel, RandomState, TrialScratch};
use isf::param::NetworkParams;

fn bench(c: &mut Criterion) {
    let Some(path) = isf::testing::shared_path("isf-example/network.param") else {
        return;
    };
    let params = NetworkParams::read(&path).unwrap();
    c.bench_function("network_static_build", |b| {
        b.iter(|| NetworkModel::from_params(&params, 300.0).unwrap())
    });
    let model = NetworkModel::from_params(&params, 300.0).unwrap();
    let mut rng = RandomState::new(1234);
    let mut scratch = TrialScratch::default();
    c.bench_function("network_trial_draw", |b| {
        b.iter(|| model.draw_trial(&mut rng, &mut scratch).unwrap())
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
