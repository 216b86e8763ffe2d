//! Cost of each density mechanism's kernels alone: the state update (`advance`) and the current
//! evaluation (`current`) of 638 instances (the size of most channel blocks of cell 86) spread
//! over 1142 nodes, 12001 steps (a 300 ms trial at dt 0.025), at resting-range voltages that
//! change every step. Reports ns per instance-step and ms per trial for every catalogue density
//! mechanism (best of 5), so that a change to one kernel can be measured without the noise of a
//! whole replay.
//!
//! `cargo bench --bench mechanisms [exact] [NAME...]` (synthetic; needs no reference data;
//! `exact` times [`Numerics::Exact`], else [`Numerics::Fast`]).

#[path = "support/kernel_timing.rs"]
mod kernel_timing;

use isf::mechanisms::catalogue::Constructor;
use isf::mechanisms::{Catalogue, Numerics};
use kernel_timing::{time_density, INSTANCES, NODES};

const STEPS: usize = 12001;

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
    let per = |s: f64| s * 1e9 / (STEPS * INSTANCES) as f64;
    println!("{INSTANCES} instances on {NODES} nodes, {STEPS} steps, {numerics:?} numerics; ns per instance-step (ms per trial)");
    println!("{:<14} {:>22} {:>22}", "mechanism", "advance", "current");
    for entry in Catalogue.entries() {
        let Constructor::Density(_) = entry.ctor else {
            continue;
        };
        if !only.is_empty() && !only.iter().any(|n| n == entry.name) {
            continue;
        }
        let (advance, current) = time_density(entry, numerics, STEPS, 5);
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
