//! Timing of one density mechanism's kernels alone, shared by the `mechanisms` and
//! `compiled_mechanisms` benches: 638 instances (the size of most channel blocks of cell 86) spread
//! over 1142 nodes, at resting-range voltages that change every step.

use isf::mechanisms::catalogue::{BuildEnv, Constructor, Entry};
use isf::mechanisms::{Env, Instances, IonState, Ions, Matrix, Numerics};
use std::time::Instant;

/// Instances of the mechanism.
pub const INSTANCES: usize = 638;
/// Nodes they are spread over.
pub const NODES: usize = 1142;
const DT: f64 = 0.025;
const CELSIUS: f64 = 34.0;

/// Best wall time of `runs` runs of `f`, s (the kernels are single-threaded and short).
fn best_of(runs: usize, mut f: impl FnMut()) -> f64 {
    (0..runs)
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed().as_secs_f64()
        })
        .fold(f64::INFINITY, f64::min)
}

/// (advance, current) seconds for `steps` steps of the density mechanism `entry`, best of `runs`.
pub fn time_density(entry: &Entry, numerics: Numerics, steps: usize, runs: usize) -> (f64, f64) {
    let Constructor::Density(ctor) = entry.ctor else {
        panic!("{} is not a density mechanism", entry.name);
    };
    let build = BuildEnv {
        dt: DT,
        celsius: CELSIUS,
        numerics,
    };
    let env = Env {
        dt: DT,
        t: 0.0,
        celsius: CELSIUS,
        outputs: true,
    };
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
    let advance = best_of(runs, || {
        for s in 0..steps {
            v[s % NODES] += 1e-3;
            m.advance(&env, &v, &mut ions, &mut vars);
        }
    });
    let (mut rhs, mut d) = (vec![0.0; NODES], vec![0.0; NODES]);
    let current = best_of(runs, || {
        for s in 0..steps {
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
