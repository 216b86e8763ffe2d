//! Throughput of ISF's reference trial (cell 86, seed-1234 network trial replayed: 3867
//! synapses, 300 ms, `fast` numerics), one trial at a time and batched (`W` copies of the trial
//! in the lanes of a batch, docs/architecture.md#batched-trials): CPU per trial, trials per
//! second per core and ns per segment-step, best of `ISF_BENCH_ROUNDS` (default 5) rounds in
//! which single and every width take turns (this thread's CPU time, so that other processes on
//! a shared machine do not inflate it). Memory: the resident set before and after building and
//! running a batch of 8. The last line is machine-readable (`key=value` pairs) for side-by-side
//! scripts. `ISF_BATCH_WIDTHS=4,8` chooses the widths.
//! Needs the shared reference data (`../shared`); prints a notice and measures nothing without it.

use isf::cell::CellTemplate;
use isf::mechanisms::Numerics;
use isf::param::{CellParams, NetworkParams};
use isf::recipe::replay::ReplayTrial;
use isf::testing::reference_trial;
use isf::trial::{CellSimulator, SynapseInputs};

const TSTOP_MS: f64 = 300.0;

#[path = "support/cpu_time.rs"]
mod cpu_time;
use cpu_time::thread_cpu_seconds;

/// The process's resident set, MB (`VmRSS` of /proc/self/status; NaN where there is none).
fn rss_mb() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse::<f64>().ok())
        })
        .map_or(f64::NAN, |kb| kb / 1024.0)
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let Some((cell, net, syn)) = reference_trial() else {
        eprintln!("throughput: the shared reference data is absent; nothing measured");
        return;
    };
    let template = CellTemplate::from_params(&CellParams::read(&cell).unwrap()).unwrap();
    let sim = CellSimulator::with_numerics(template, None, Numerics::Fast).unwrap();
    let trial = ReplayTrial::read(&sim, &NetworkParams::read(&net).unwrap(), &syn).unwrap();
    let rounds: usize = std::env::var("ISF_BENCH_ROUNDS")
        .ok()
        .and_then(|r| r.parse().ok())
        .filter(|&r| r > 0)
        .unwrap_or(5);
    let widths: Vec<usize> = std::env::var("ISF_BATCH_WIDTHS")
        .ok()
        .map(|w| w.split(',').filter_map(|x| x.trim().parse().ok()).collect())
        .unwrap_or_else(|| vec![4, 8]);
    let segments = sim.model.n_segments();
    let steps = (TSTOP_MS / sim.dt_ms()).round() as usize + 1;

    // Memory: a single trial, then a batch of 8 built and run (the batched model included).
    let rss0 = rss_mb();
    let one = sim.run(&trial.inputs, TSTOP_MS).unwrap();
    assert_eq!(one.t_ms.len(), steps + 1);
    let rss1 = rss_mb();
    let rss8 = {
        let model = sim.batch_model(8).unwrap();
        let inputs: Vec<&SynapseInputs> = vec![&trial.inputs; 8];
        let out = sim.run_batch(&model, &inputs, &[TSTOP_MS; 8]).unwrap();
        assert!(out.iter().all(|r| r.soma_vm_mv == one.soma_vm_mv));
        rss_mb()
    };
    println!(
        "memory: {rss0:.1} MB before any trial, {rss1:.1} MB after one trial, {rss8:.1} MB with a \
         batch of 8 built and run (its traces included)"
    );

    let models: Vec<_> = widths
        .iter()
        .map(|&w| sim.batch_model(w).unwrap())
        .collect();
    // Per trial CPU, s: [single, widths...].
    let mut best = vec![f64::INFINITY; 1 + widths.len()];
    for round in 0..rounds {
        let c0 = thread_cpu_seconds();
        sim.run(&trial.inputs, TSTOP_MS).unwrap();
        let cpu = thread_cpu_seconds() - c0;
        best[0] = best[0].min(cpu);
        println!("round {round}: single {cpu:.3} s CPU per trial");
        for (k, (&w, model)) in widths.iter().zip(&models).enumerate() {
            let inputs: Vec<&SynapseInputs> = vec![&trial.inputs; w];
            let c0 = thread_cpu_seconds();
            sim.run_batch(model, &inputs, &vec![TSTOP_MS; w]).unwrap();
            let cpu = (thread_cpu_seconds() - c0) / w as f64;
            best[k + 1] = best[k + 1].min(cpu);
            println!("round {round}: batch of {w}: {cpu:.3} s CPU per trial");
        }
    }
    let ns = |cpu: f64| cpu * 1e9 / (segments * steps) as f64;
    println!(
        "best of {rounds}, single: {:.3} s CPU per trial, {:.2} trials/s per core, {:.1} ns per \
         segment-step",
        best[0],
        1.0 / best[0],
        ns(best[0])
    );
    let mut line = format!(
        "throughput isa={:?} segments={segments} steps={steps} rounds={rounds} single_cpu_s={:.4} \
         single_trials_per_s={:.3} single_ns_per_segment_step={:.2}",
        isf::mechanisms::exp::Isa::detect(),
        best[0],
        1.0 / best[0],
        ns(best[0])
    );
    for (k, &w) in widths.iter().enumerate() {
        let b = best[k + 1];
        println!(
            "best of {rounds}, batch of {w}: {b:.3} s CPU per trial, {:.2} trials/s per core, \
             {:.1} ns per segment-step, {:.2}x single",
            1.0 / b,
            ns(b),
            best[0] / b
        );
        line += &format!(
            " w{w}_cpu_s={b:.4} w{w}_trials_per_s={:.3} w{w}_ns_per_segment_step={:.2}",
            1.0 / b,
            ns(b)
        );
    }
    line += &format!(" rss_single_mb={rss1:.1} rss_w8_mb={rss8:.1}");
    println!("{line}");
}
