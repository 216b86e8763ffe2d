//! Benchmark: grouped binning of synapse activations for many trials of realistic size.
//!
//! `cargo bench -p isf-post --bench binning` (env `ISF_BENCH_TRIALS`, default 10000; `RAYON_NUM_THREADS`
//! to fix the core count). Synthesizes trials like the example network (~4000 active synapses and
//! ~5000 releases per trial, 278 populations, soma distances 0–1600 µm, times 0–345 ms), stores
//! them as `synapse_activation` in a temporary database, then times reading the key back and
//! binning it by `EI` and by `EI, proximal`, and storing the binned keys.

use isf_post::analysis::{bin_synapse_activations, store_synapse_activation_binned, GroupBy};
use isf_post::db::{key, Activations, ActivationsKind, Database, KeyMeta};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::time::Instant;

fn synthesize(n_trials: usize) -> Activations {
    let mut rng = ChaCha8Rng::seed_from_u64(7);
    let cell_types = [
        "L1",
        "L2",
        "L34",
        "L4py",
        "L4sp",
        "L4ss",
        "L5st",
        "L5tt",
        "L6cc",
        "L6ccinv",
        "L6ct",
        "VPM",
        "L23Trans",
        "L45Sym",
        "L45Peak",
        "L56Trans",
        "SymLocal1",
        "SymLocal2",
        "SymLocal3",
        "SymLocal4",
        "SymLocal5",
        "SymLocal6",
        "Other1",
        "Other2",
        "Other3",
    ];
    let columns = [
        "A1", "A2", "A3", "B1", "B2", "B3", "C1", "C2", "C3", "D1", "D2",
    ];
    let mut a = Activations::empty(ActivationsKind::Synapse);
    for ct in cell_types {
        for col in columns {
            a.populations.push(format!("{ct}_{col}"));
            a.population_ei
                .push(isf_post::analysis::classify_ei_by_name(ct).to_string());
        }
    }
    a.labels = vec!["ApicalDendrite".into(), "Dendrite".into()];
    let n_pop = a.populations.len() as u32;
    for t in 0..n_trials {
        a.trial_ids.push(format!("bench/{t:06}"));
        let n_syn = rng.random_range(3800..4200);
        for s in 0..n_syn {
            a.population_code.push(rng.random_range(0..n_pop));
            a.id.push(s as i64);
            a.soma_distance_um.push(rng.random_range(0.0..1600.0));
            a.section_id.push(rng.random_range(0..170));
            a.section_pt_id.push(rng.random_range(0..100));
            a.label_code.push(rng.random_range(0..2));
            // ~1.25 releases per active synapse → ~5000 per trial.
            let n = if rng.random::<f64>() < 0.8 { 1 } else { 2 };
            let mut times: Vec<f64> = (0..n).map(|_| rng.random_range(0.0..345.0)).collect();
            times.sort_by(f64::total_cmp);
            a.times_ms.extend(times);
            a.time_offsets.push(a.times_ms.len() as u64);
        }
        a.trial_row_offsets.push(a.population_code.len() as u64);
    }
    a
}

fn main() {
    let n: usize = std::env::var("ISF_BENCH_TRIALS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(10_000);
    let tmp = tempfile::tempdir().expect("temp dir");
    let db = Database::create(&tmp.path().join("db")).expect("db");
    let t0 = Instant::now();
    {
        let a = synthesize(n);
        println!(
            "synthesized {n} trials: {} active synapses, {} activations ({:.1} s)",
            a.n_rows(),
            a.times_ms.len(),
            t0.elapsed().as_secs_f64()
        );
        let t = Instant::now();
        db.set(&key(&["synapse_activation"]), &a, KeyMeta::new("", "bench"))
            .expect("store");
        println!(
            "stored synapse_activation: {:.2} s",
            t.elapsed().as_secs_f64()
        );
    }
    let threads = rayon::current_num_threads();
    let t = Instant::now();
    let a: Activations = db.get(&key(&["synapse_activation"])).expect("read");
    let read_s = t.elapsed().as_secs_f64();
    let t = Instant::now();
    let g = bin_synapse_activations(&a, &[GroupBy::EI], 1.0, 400.0).expect("bin");
    let bin_ei_s = t.elapsed().as_secs_f64();
    let total: f64 = g.groups.values().map(|c| c.sum()).sum();
    let t = Instant::now();
    let g2 =
        bin_synapse_activations(&a, &[GroupBy::EI, GroupBy::Proximal], 1.0, 400.0).expect("bin");
    let bin_eip_s = t.elapsed().as_secs_f64();
    drop(a);
    let t = Instant::now();
    let keys = store_synapse_activation_binned(&db, &[GroupBy::EI], 1.0, 400.0).expect("store");
    let store_s = t.elapsed().as_secs_f64();
    println!(
        "{threads} threads, {n} trials: read {read_s:.2} s; bin by EI {bin_ei_s:.2} s ({total} activations in 0–400 ms, {} groups); \
         bin by EI+proximal {bin_eip_s:.2} s ({} groups); read+bin+store (EI, `isf db bin`) {store_s:.2} s ({} keys)",
        g.groups.len(),
        g2.groups.len(),
        keys.len()
    );
}
