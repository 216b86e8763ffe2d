//! Engine throughput on the full cell 86 (1142 segments, all channels): 300 ms at dt 0.025 with a
//! soma current step and 3867 synapses (80 % glutamate_syn, 20 % gaba_syn) receiving ~4600
//! release events — the size of ISF's reference network trial (NEURON 9: 4.6 s CPU, ~320 ns per
//! segment-step). Reports wall time per trial and ns per segment-step (best of the repetitions).
//!
//! `cargo bench --bench engine` (needs `../shared`; `ISF_BENCH_REPS` sets the repetitions, default 3).

use isf::cell::CellTemplate;
use isf::param::CellParams;
use isf::solver::{Probe, SimulationBuilder};
use std::time::Instant;

/// Deterministic pseudo-random numbers (xorshift64*), so every run simulates the same trial.
struct Rng(u64);
impl Rng {
    fn next_f64(&mut self) -> f64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        (self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// CPU time of this process (user + system), s — wall time is meaningless on a loaded machine.
fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let after = stat.rsplit(')').next().unwrap_or("");
    let f: Vec<&str> = after.split_whitespace().collect();
    let ticks = |i: usize| f.get(i).and_then(|x| x.parse::<f64>().ok()).unwrap_or(0.0);
    // Fields 14 and 15 of stat (utime, stime), in clock ticks of 1/100 s.
    (ticks(11) + ticks(12)) / 100.0
}

fn main() {
    let Some(param) = isf::testing::shared_path("isf-example/86_C2_center.param") else {
        return;
    };
    let cell = CellTemplate::from_params(&CellParams::read(&param).expect("param")).expect("cell");
    let model = cell.default_solver_model().expect("model");
    let segments: Vec<usize> = (0..cell.cable.len())
        .filter(|&i| cell.cable.area_um2[i] != 0.0)
        .collect();
    let reps: usize = std::env::var("ISF_BENCH_REPS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(3);
    let (n_syn, n_events, tstop) = (3867usize, 4600usize, 300.0);
    let mut best = f64::INFINITY;
    let mut steps = 0;
    for _ in 0..reps {
        let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
        let mut b = SimulationBuilder::new(&model);
        b.add_point(
            "IClamp",
            cell.soma_node,
            &[("del", 50.0), ("dur", 200.0), ("amp", 0.5)],
        )
        .expect("iclamp");
        let mut syns = Vec::with_capacity(n_syn);
        for k in 0..n_syn {
            let node = segments[(rng.next_f64() * segments.len() as f64) as usize];
            let h = if k % 5 == 4 {
                b.add_point(
                    "gaba_syn",
                    node,
                    &[("e", -80.0), ("decaygaba", 1.0), ("facilgaba", 0.0)],
                )
            } else {
                b.add_point(
                    "glutamate_syn",
                    node,
                    &[
                        ("tau1", 26.0),
                        ("decayampa", 1.0),
                        ("decaynmda", 1.0),
                        ("facilampa", 0.0),
                        ("facilnmda", 0.0),
                    ],
                )
            }
            .expect("synapse");
            syns.push((h, k % 5 == 4));
        }
        for _ in 0..n_events {
            let (h, gaba) = syns[(rng.next_f64() * n_syn as f64) as usize];
            let t = rng.next_f64() * tstop;
            let w: &[f64] = if gaba { &[1.0] } else { &[1.5, 1.5] };
            b.add_events(h, &[t], w).expect("events");
        }
        for &node in segments.iter().step_by(10) {
            b.record(Probe::Voltage(node));
        }
        let start = Instant::now();
        let cpu0 = cpu_seconds();
        let mut sim = b.build().expect("build");
        let traces = sim.run_until(tstop);
        let wall = start.elapsed().as_secs_f64();
        let secs = cpu_seconds() - cpu0;
        println!("  repetition: {secs:.3} s CPU, {wall:.3} s wall");
        steps = traces.t.len() - 1;
        best = best.min(secs);
        std::hint::black_box(&traces);
    }
    let seg_steps = (segments.len() * steps) as f64;
    println!(
        "engine/cell86_300ms_3867syn: {:.3} s CPU per trial ({} steps, {} segments): {:.1} ns per segment-step",
        best,
        steps,
        segments.len(),
        best * 1e9 / seg_steps
    );
}
