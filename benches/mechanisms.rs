//! Cost of each density mechanism's kernels alone: the state update (`advance`) and the current
//! evaluation (`current`) of 638 instances (the size of most channel blocks of cell 86) spread
//! over 1142 nodes, 12001 steps (a 300 ms trial at dt 0.025), at resting-range voltages that
//! change every step. Reports ns per instance-step and ms per trial for every catalogue density
//! mechanism (best of 5), so that a change to one kernel can be measured without the noise of a
//! whole replay.
//!
//! `cargo bench --bench mechanisms [exact] [NAME...]` (synthetic; needs no reference data;
//! `exact` times [`Numerics::Exact`], else [`Numerics::Fast`]).

use isf::mechanisms::catalogue::{BuildEnv, Constructor};
use isf::mechanisms::{Catalogue, Env, Instances, IonState, Ions, Matrix, Numerics};
use std::time::Instant;

const INSTANCES: usize = 638;
const NODES: usize = 1142;
const STEPS: usize = 12001;
const DT: f64 = 0.025;
const CELSIUS: f64 = 34.0;

/// Best wall time of 5 runs of `f`, s (the kernels are single-threaded and short).
fn best_of_5(mut f: impl FnMut()) -> f64 {
    (0..5)
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed().as_secs_f64()
        })
        .fold(f64::INFINITY, f64::min)
}

fn main() {
    // `cargo bench` passes `--bench`; other arguments select mechanisms by name.
    let only: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .collect();
    // `exact` among the arguments selects NEURON's operation order (`Numerics::Exact`).
    let numerics = if only.iter().any(|a| a == "exact") {
        Numerics::Exact
    } else {
        Numerics::Fast
    };
    let only: Vec<String> = only.into_iter().filter(|a| a != "exact").collect();
    let build = BuildEnv {
        dt: DT,
        celsius: CELSIUS,
        numerics,
    };
    let env = Env {
        dt: DT,
        t: 0.0,
        celsius: CELSIUS,
    };
    let per = |s: f64| s * 1e9 / (STEPS * INSTANCES) as f64;
    println!("{INSTANCES} instances on {NODES} nodes, {STEPS} steps, {numerics:?} numerics; ns per instance-step (ms per trial)");
    println!("{:<14} {:>22} {:>22}", "mechanism", "advance", "current");
    for entry in Catalogue.entries() {
        let Constructor::Density(ctor) = entry.ctor else {
            continue;
        };
        if !only.is_empty() && !only.iter().any(|n| n == entry.name) {
            continue;
        }
        // Sorted, spread-out nodes, as a mechanism's instances are in a cell.
        let mut nodes: Vec<usize> = (0..INSTANCES).map(|j| (j * 7919) % NODES).collect();
        nodes.sort_unstable();
        let inst = Instances {
            nodes,
            values: entry
                .params
                .iter()
                .map(|&(_, d)| vec![d; INSTANCES])
                .collect(),
            area_um2: vec![100.0; INSTANCES],
        };
        let m = ctor(inst, &build);
        let mut vars = vec![0.0; m.variables().len() * INSTANCES];
        let mut ions = IonState::initial(&Ions::defaults(NODES), &[], CELSIUS);
        let mut v: Vec<f64> = (0..NODES)
            .map(|i| -75.0 + 10.0 * (i as f64 * 0.37).sin())
            .collect();
        m.initialize(&env, &v, &mut ions, &mut vars);
        let advance = best_of_5(|| {
            for s in 0..STEPS {
                v[s % NODES] += 1e-3;
                m.advance(&env, &v, &mut ions, &mut vars);
            }
        });
        let (mut rhs, mut d) = (vec![0.0; NODES], vec![0.0; NODES]);
        let current = best_of_5(|| {
            for s in 0..STEPS {
                v[s % NODES] += 1e-3;
                let mut mx = Matrix {
                    rhs: &mut rhs,
                    d: &mut d,
                    numerics,
                };
                m.current(&env, &v, &mut ions, &mut mx, &mut vars);
            }
        });
        std::hint::black_box((&vars, &rhs, &d));
        println!(
            "{:<14} {:>8.2} ns ({:>6.1} ms) {:>8.2} ns ({:>6.1} ms)",
            entry.name,
            per(advance),
            advance * 1e3,
            per(current),
            current * 1e3
        );
    }
}
