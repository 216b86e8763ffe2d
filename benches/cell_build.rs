//! Cost of building the cell template of the example cell 86 (hoc reading, geometry, d-λ,
//! spatial rules, node tree, recording sites) and of its per-segment table.
//! Needs the shared reference data (`../shared`); prints a notice and measures nothing without it.

use criterion::{criterion_group, criterion_main, Criterion};
use isf::cell::CellTemplate;
use isf::morphology::read_hoc;
use isf::param::CellParams;
use isf::testing::shared_path;

fn bench(c: &mut Criterion) {
    let (Some(param), Some(hoc)) = (
        shared_path("isf-example/86_C2_center.param"),
        shared_path("isf-example/86_C2_center.hoc"),
    ) else {
        return;
    };
    let params = CellParams::read(&param).unwrap();
    c.bench_function("read_hoc 86_C2_center.hoc (824 kB)", |b| {
        b.iter(|| read_hoc(&hoc).unwrap())
    });
    c.bench_function("CellTemplate::from_params cell 86", |b| {
        b.iter(|| CellTemplate::from_params(&params).unwrap())
    });
    let cell = CellTemplate::from_params(&params).unwrap();
    c.bench_function("segments_table cell 86", |b| {
        b.iter(|| cell.segments_table())
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
