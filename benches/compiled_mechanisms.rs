//! Density mechanisms compiled from ISF's `.mod` files (`isf::mechanisms::compiled`) against the
//! hand-written built-ins, both with [`Numerics::Exact`]: the state update (`advance`) and the
//! current evaluation (`current`) of 638 instances spread over 1142 nodes, 2000 steps at
//! resting-range voltages that change every step. Reports ns per instance-step (best of 3).
//!
//! `cargo bench --bench compiled_mechanisms [NAME...]` (reads the `.mod` files from the shared
//! reference tree; skips with a notice when it is absent).

#[path = "support/kernel_timing.rs"]
mod kernel_timing;

use isf::mechanisms::{compiled, Catalogue, Numerics};
use isf::testing::HAY_CHANNELS as HAY;
use kernel_timing::{time_density, INSTANCES, NODES};

const STEPS: usize = 2000;

/// (advance, current) seconds for `STEPS` steps of `entry`, exact numerics, best of 3.
fn time(entry: &isf::mechanisms::catalogue::Entry) -> (f64, f64) {
    time_density(entry, Numerics::Exact, STEPS, 3)
}

fn main() {
    let only: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .collect();
    let Some(dir) = isf::testing::shared_path("nmodl/isf-library/channels_py3") else {
        return;
    };
    let per = |s: f64| s * 1e9 / (STEPS * INSTANCES) as f64;
    println!("{INSTANCES} instances on {NODES} nodes, {STEPS} steps, exact numerics; ns per instance-step");
    println!(
        "{:<14} {:>10} {:>10} {:>10} {:>10} {:>7}",
        "mechanism", "adv built", "adv comp", "cur built", "cur comp", "ratio"
    );
    let (mut tb, mut tc) = (0.0, 0.0);
    for name in HAY {
        if !only.is_empty() && !only.iter().any(|n| n == name) {
            continue;
        }
        let program = compiled::compile_file(&dir.join(format!("{name}.mod")))
            .unwrap_or_else(|e| panic!("{e}"));
        let alias = format!("{name}~mod");
        let compiled_entry = compiled::register(&alias, program, Some(name)).unwrap();
        let builtin = Catalogue.builtin(name).unwrap();
        let (ab, cb) = time(builtin);
        let (ac, cc) = time(compiled_entry);
        tb += ab + cb;
        tc += ac + cc;
        println!(
            "{:<14} {:>10.2} {:>10.2} {:>10.2} {:>10.2} {:>6.2}x",
            name,
            per(ab),
            per(ac),
            per(cb),
            per(cc),
            (ac + cc) / (ab + cb)
        );
    }
    println!(
        "all: built-in {:.1} ms, compiled {:.1} ms per {STEPS} steps ({:.2}x)",
        tb * 1e3,
        tc * 1e3,
        tc / tb
    );
}
