//! Density mechanisms compiled from ISF's `.mod` files (`isf::mechanisms::compiled`) against the
//! hand-written built-ins, both with [`Numerics::Exact`]: the state update (`advance`) and the
//! current evaluation (`current`) of 638 instances spread over 1142 nodes, 2000 steps at
//! resting-range voltages that change every step. Reports ns per instance-step (best of 3).
//!
//! `cargo bench --bench compiled_mechanisms [NAME...]` (reads the `.mod` files from the shared
//! reference tree; skips with a notice when it is absent).

use isf::mechanisms::catalogue::{BuildEnv, Constructor, Entry};
use isf::mechanisms::{compiled, Catalogue, Env, Instances, IonState, Ions, Matrix, Numerics};
use std::time::Instant;

const INSTANCES: usize = 638;
const NODES: usize = 1142;
const STEPS: usize = 2000;
const DT: f64 = 0.025;
const CELSIUS: f64 = 34.0;
use isf::testing::HAY_CHANNELS as HAY;

fn best_of_3(mut f: impl FnMut()) -> f64 {
    (0..3)
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed().as_secs_f64()
        })
        .fold(f64::INFINITY, f64::min)
}

/// (advance, current) seconds for `STEPS` steps of `entry`.
fn time(entry: &Entry) -> (f64, f64) {
    let Constructor::Density(ctor) = entry.ctor else {
        panic!("{} is not a density mechanism", entry.name);
    };
    let numerics = Numerics::Exact;
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
    let advance = best_of_3(|| {
        for s in 0..STEPS {
            v[s % NODES] += 1e-3;
            m.advance(&env, &v, &mut ions, &mut vars);
        }
    });
    let (mut rhs, mut d) = (vec![0.0; NODES], vec![0.0; NODES]);
    let current = best_of_3(|| {
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
    (advance, current)
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
