//! Replay of ISF's network trial (seed 1234; 3867 synapses, 4624 releases) on cell 86 for
//! 300 ms: the simulation alone (point processes, events, 12001 steps of 1142 segments) and end
//! to end (`isf replay`: read params, build the cell, read the synapse file, simulate, write the
//! output folder). Prints the best of three CPU times (`ISF_BENCH_ROUNDS=N` for N; on a shared
//! host more rounds bring the best closer to the machine's undisturbed speed) and ns per
//! segment-step, with the default (fast) numerics and with exact ones. NEURON 9.0.2 needs 4.6 s
//! for this trial. `ISF_NO_SIMD=1` measures the scalar kernels.
//! Needs the shared reference data (`../shared`); prints a notice and measures nothing without it.

use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion};
use isf::cell::CellTemplate;
use isf::cli::replay::{replay, ReplayArgs};
use isf::mechanisms::Numerics;
use isf::param::{CellParams, NetworkParams};
use isf::recipe::replay::ReplayTrial;
use isf::testing::reference_trial;
use isf::trial::CellSimulator;

const TSTOP_MS: f64 = 300.0;

#[path = "support/cpu_time.rs"]
mod cpu_time;
use cpu_time::thread_cpu_seconds;

fn bench(c: &mut Criterion) {
    let Some((cell, net, syn)) = reference_trial() else {
        return;
    };
    let simulator = |numerics| {
        let template = CellTemplate::from_params(&CellParams::read(&cell).unwrap()).unwrap();
        CellSimulator::with_numerics(template, None, numerics).unwrap()
    };
    let sim = simulator(Numerics::Fast);
    let trial = ReplayTrial::read(&sim, &NetworkParams::read(&net).unwrap(), &syn).unwrap();

    // Timed runs of each numerics for the per-segment-step figure, alternating; the best
    // CPU time counts (this thread's CPU time, so that other processes on a shared machine do
    // not inflate it). Fast (the default) is the figure that counts; exact is shown beside it.
    let exact = simulator(Numerics::Exact);
    let segments = sim.model.n_segments();
    let mut best = [f64::INFINITY; 2];
    let mut steps = 0;
    let rounds: usize = std::env::var("ISF_BENCH_ROUNDS")
        .ok()
        .and_then(|r| r.parse().ok())
        .filter(|&r| r > 0)
        .unwrap_or(3);
    for _ in 0..rounds {
        for (k, s) in [&sim, &exact].into_iter().enumerate() {
            let (c0, t0) = (thread_cpu_seconds(), Instant::now());
            let result = s.run(&trial.inputs, TSTOP_MS).unwrap();
            let (cpu, wall) = (thread_cpu_seconds() - c0, t0.elapsed().as_secs_f64());
            steps = result.t_ms.len() - 1;
            let name = ["fast", "exact"][k];
            println!("replay simulation ({name} numerics): {cpu:.3} s CPU ({wall:.3} s wall)");
            best[k] = best[k].min(cpu);
        }
    }
    for (k, name) in ["fast", "exact"].into_iter().enumerate() {
        println!(
            "replay simulation, best of {rounds} ({name} numerics): {segments} segments x {steps} steps in {:.3} s CPU = {:.1} ns per segment-step (vector kernels: {})",
            best[k],
            best[k] * 1e9 / (segments * steps) as f64,
            isf::mechanisms::exp::simd_available()
        );
    }

    let mut g = c.benchmark_group("replay network_trial_seed1234 300 ms");
    g.sample_size(10).measurement_time(Duration::from_secs(20));
    g.bench_function("simulation", |b| {
        b.iter(|| sim.run(&trial.inputs, TSTOP_MS).unwrap())
    });
    let tmp = tempfile::tempdir().unwrap();
    let mut n = 0;
    g.bench_function("end to end (isf replay)", |b| {
        b.iter(|| {
            n += 1;
            let args = ReplayArgs {
                cell: cell.clone(),
                network: net.clone(),
                synapses: vec![syn.clone()],
                tstop: Some(TSTOP_MS),
                dt: None,
                numerics: Numerics::Fast,
                out: tmp.path().join(format!("run{n}")),
                overwrite: false,
                prefix: Some("bench".into()),
                mechanisms: Default::default(),
            };
            replay(&args).unwrap()
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
