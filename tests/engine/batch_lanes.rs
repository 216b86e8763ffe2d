//! Batched trials (docs/architecture.md#batched-trials): 16 trials of ISF's reference network
//! on cell 86 (the seed-1234 trial and 15 more ISF seeds), run one at a time and in the lanes of
//! batches of 4 and 8 and of a partial batch whose trials stop at different times, must give
//! bit-identical results with both numerics.

use isf::mechanisms::Numerics;
use isf::network::{RandomState, TrialScratch};
use isf::recipe::{BuiltRecipe, Recipe};
use isf::testing::example_params;
use isf::trial::result::TrialResult;
use isf::trial::SynapseInputs;

/// Trials per check.
const TRIALS: usize = 16;
/// Simulated time, ms (the reference trial's).
const TSTOP_MS: f64 = 300.0;

/// The reference network on cell 86 with `numerics`; `None` without the shared data.
fn recipe(numerics: Numerics) -> Option<BuiltRecipe> {
    let (cell, network) = example_params()?;
    let recipe = Recipe {
        tstop_ms: Some(TSTOP_MS),
        numerics,
        ..Recipe::in_network(cell, network)
    };
    Some(recipe.build().unwrap())
}

/// The synapse inputs of the 16 trials: ISF's seed 1234, then seeds of the run layer's
/// derivation (base 1234, cell 0).
fn trials(built: &BuiltRecipe) -> Vec<SynapseInputs> {
    let network = built.network().unwrap();
    let mut scratch = TrialScratch::default();
    (0..TRIALS as u64)
        .map(|k| {
            let seed = match k {
                0 => 1234,
                k => isf::run::seeds::task_seed(1234, 0, k),
            };
            let drawn = built
                .draw(&mut RandomState::new(seed as u32), &mut scratch)
                .unwrap();
            SynapseInputs::from_network(network, &drawn)
        })
        .collect()
}

/// A result's simulated values as bits (the wall time is the batch's share).
fn bits(r: &TrialResult) -> Vec<Vec<u64>> {
    let b = |x: &[f64]| x.iter().map(|v| v.to_bits()).collect::<Vec<_>>();
    let mut out = vec![b(&r.t_ms), b(&r.soma_vm_mv), b(&r.soma_spikes_ms)];
    out.extend(r.site_vm_mv.iter().map(|s| b(s)));
    out
}

fn check(numerics: Numerics) {
    let Some(built) = recipe(numerics) else {
        eprintln!("skipped: the shared reference data is absent");
        return;
    };
    let sim = &built.sim;
    let inputs = trials(&built);
    let single: Vec<Vec<Vec<u64>>> = inputs
        .iter()
        .map(|i| bits(&sim.run(i, TSTOP_MS).unwrap()))
        .collect();
    // The trials differ (else the comparison would prove little).
    assert!(single.windows(2).all(|w| w[0][1] != w[1][1]));
    for lanes in [4, 8] {
        let model = sim.batch_model(lanes).unwrap();
        assert_eq!(model.lanes(), lanes);
        for (b, chunk) in inputs.chunks(lanes).enumerate() {
            let refs: Vec<&SynapseInputs> = chunk.iter().collect();
            let got = sim
                .run_batch(&model, &refs, &vec![TSTOP_MS; chunk.len()])
                .unwrap();
            for (k, r) in got.iter().enumerate() {
                let trial = b * lanes + k;
                assert!(
                    bits(r) == single[trial],
                    "{numerics:?}: trial {trial} in lane {k} of a batch of {lanes} differs from \
                     its single run"
                );
            }
        }
    }
    // A partial batch (3 trials in 8 lanes, in another order) whose trials end at different
    // times: each equals its single run cut at its own stop time.
    let model = sim.batch_model(8).unwrap();
    let picks = [13, 2, 7];
    let stops = [TSTOP_MS, 150.0, 75.0];
    let refs: Vec<&SynapseInputs> = picks.iter().map(|&k| &inputs[k]).collect();
    let got = sim.run_batch(&model, &refs, &stops).unwrap();
    for ((&k, &stop), r) in picks.iter().zip(&stops).zip(&got) {
        let alone = bits(&sim.run(&inputs[k], stop).unwrap());
        assert!(
            bits(r) == alone,
            "{numerics:?}: trial {k} stopping at {stop} ms in a partial batch differs"
        );
        if stop == TSTOP_MS {
            assert!(alone == single[k]);
        } else {
            assert!(r.t_ms.len() < single[k][0].len());
        }
    }
}

#[test]
fn batched_lanes_equal_single_trials_fast() {
    check(Numerics::Fast);
}

#[test]
fn batched_lanes_equal_single_trials_exact() {
    check(Numerics::Exact);
}
