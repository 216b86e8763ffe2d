//! Throughput of the text front and back ends: `.param` parsing and ISF result files.
//! Needs the shared reference data (`../shared`); prints a notice and measures nothing without it.

use criterion::{criterion_group, criterion_main, Criterion};
use isf::output::isf_files::{
    parse_synapse_activations, write_synapse_activations, write_traces, TraceTable,
};
use isf::param::{CellParams, NetworkParams, ParamFile};
use isf::testing::shared_path;

fn bench(c: &mut Criterion) {
    let (Some(net), Some(cell), Some(out)) = (
        shared_path("isf-example/network.param"),
        shared_path("isf-example/86_C2_center.param"),
        shared_path("reference/neuron-9.0.2/network_trial_seed1234/isf_output"),
    ) else {
        return;
    };
    let net_text = std::fs::read_to_string(&net).unwrap();
    c.bench_function("parse network.param (317 kB) + typed view", |b| {
        b.iter(|| NetworkParams::from_file(ParamFile::parse(&net_text, &net).unwrap()).unwrap())
    });
    c.bench_function("read cell param + typed view", |b| {
        b.iter(|| CellParams::read(&cell).unwrap())
    });
    let net_file = ParamFile::parse(&net_text, &net).unwrap();
    c.bench_function("save network.param as ISF json", |b| {
        b.iter(|| net_file.to_json_pretty())
    });

    let trace = TraceTable::read(&out.join("seed1234_pid30596_vm_all_traces.csv")).unwrap();
    let run = trace.runs_mv()[0].clone();
    let runs: Vec<&[f64]> = vec![&run; 10];
    c.bench_function("write trace csv, 12002 samples x 10 runs", |b| {
        b.iter(|| {
            let mut v = Vec::with_capacity(3 << 20);
            write_traces(&mut v, trace.t_ms(), &runs).unwrap();
            v
        })
    });
    let syn_path = out.join("simulation_run0000_synapses.csv");
    let syn_text = std::fs::read_to_string(&syn_path).unwrap();
    c.bench_function("parse synapse activation file (3867 rows)", |b| {
        b.iter(|| parse_synapse_activations(&syn_text, &syn_path).unwrap())
    });
    let rows = parse_synapse_activations(&syn_text, &syn_path).unwrap();
    c.bench_function("write synapse activation file (3867 rows)", |b| {
        b.iter(|| {
            let mut v = Vec::new();
            write_synapse_activations(&mut v, &rows).unwrap();
            v
        })
    });
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(20).measurement_time(std::time::Duration::from_secs(2));
    targets = bench
}
criterion_main!(benches);
