//! Reduced LDA model on ISF's synthetic test problem (spec §10): statistical checks, calibration on
//! held-out trials, and a cross-check of the kernel against scikit-learn.

mod common;

use isf_post::db::{key, Binned, Database, KeyMeta, SpikeTimes};
use isf_post::lda::{self, LdaConfig, ReducedLdaModel};
use ndarray::Array2;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// ISF's problem: X ∈ {0..20}^(n×100); v = 25 zeros, 50 ones, 25 zeros; spike iff
/// (X·v − 500)/20 > U(0,1). Returns (X, spike).
fn synthetic(n: usize, seed: u64) -> (Array2<f64>, Vec<bool>) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let x = Array2::from_shape_fn((n, 100), |_| f64::from(rng.random_range(0..=20u8)));
    let y = (0..n)
        .map(|i| {
            let xv: f64 = (25..75).map(|j| x[[i, j]]).sum();
            (xv - 500.0) / 20.0 > rng.random::<f64>()
        })
        .collect();
    (x, y)
}

/// A database with binned key `X` (1-ms bins 0…100) and a spike at 100 ms in every spiking trial.
fn database(dir: &std::path::Path, x: Array2<f64>, y: &[bool]) -> Database {
    let db = Database::create(dir).unwrap();
    let ids: Vec<String> = (0..y.len()).map(|i| format!("synthetic/{i:06}")).collect();
    let edges: Vec<f64> = (0..=100).map(f64::from).collect();
    let binned = Binned {
        trial_ids: ids.clone(),
        bin_edges_ms: edges,
        counts: x,
    };
    db.set(&key(&["X"]), &binned, KeyMeta::new("", "synthetic input"))
        .unwrap();
    let rows = y
        .iter()
        .map(|&s| (if s { vec![100.0] } else { vec![] }, vec![]))
        .collect();
    db.set(
        &key(&["spike_times"]),
        &SpikeTimes::from_rows(ids, rows, 0.0),
        KeyMeta::new("", "synthetic spikes"),
    )
    .unwrap();
    db
}

fn config() -> LdaConfig {
    let mut c = LdaConfig::new(vec!["X".into()]);
    c.output_window_min_ms = 99.0;
    c.output_window_max_ms = 101.0;
    c.resolve_window(Some(50.0), Some(100.0), None).unwrap();
    c
}

#[test]
fn synthetic_problem_statistics_calibration_and_sklearn() {
    let tmp = tempfile::tempdir().unwrap();
    let (x, y) = synthetic(5000, 1);
    let db = database(&tmp.path().join("db"), x.clone(), &y);
    let model = lda::fit(&db, &config()).unwrap();
    lda::store(&db, "model", &model).unwrap();
    let model: ReducedLdaModel = db.get(&key(&["model"])).unwrap();
    assert_eq!(model.models.len(), 5);

    for m in &model.models {
        let norm: f64 = m.kernel.iter().map(|w| w * w).sum::<f64>().sqrt();
        assert!((norm - lda::KERNEL_NORM).abs() < 1e-9);
        // ISF's checks: mean WNI in (200, 400); LUT(150) = 0, LUT(500) = 1, 0.1 < LUT(350) < 0.9.
        let mean = m.wni.iter().sum::<f64>() / m.wni.len() as f64;
        assert!(mean > 200.0 && mean < 400.0, "mean WNI {mean}");
        assert_eq!(m.lookup.lookup(150.0), 0.0);
        assert_eq!(m.lookup.lookup(500.0), 1.0);
        let mid = m.lookup.lookup(350.0);
        assert!(mid > 0.1 && mid < 0.9, "LUT(350) = {mid}");
        // Kernel halves (window bins 50–74 carry signal, 75–99 none) separated by > 3 std.
        let (a, b) = m.kernel.split_at(25);
        let mean_sd = |v: &[f64]| {
            let mu = v.iter().sum::<f64>() / v.len() as f64;
            (
                mu,
                (v.iter().map(|x| (x - mu).powi(2)).sum::<f64>() / v.len() as f64).sqrt(),
            )
        };
        let ((ma, sa), (mb, sb)) = (mean_sd(a), mean_sd(b));
        assert!(ma - mb > 3.0 * sa.max(sb), "{ma} ± {sa} vs {mb} ± {sb}");
        // Half of the signal (bins 25–49) lies outside the window and acts as noise: the best
        // possible AUC from bins 50–99 is about 0.8.
        assert!(m.auc_test > 0.75, "AUC {}", m.auc_test);
    }
    // Far outside the table: clipped to the ends (ISF raised KeyError below the table).
    let w = x.slice(ndarray::s![.., 50..100]).to_owned();
    let low = lda::predict_static(&model, &(w.clone() - 10000.0)).unwrap();
    let high = lda::predict_static(&model, &(w + 10000.0)).unwrap();
    assert!(low.iter().all(|(_, p)| p.iter().all(|&p| p == 0.0)));
    assert!(high.iter().all(|(_, p)| p.iter().all(|&p| p == 1.0)));

    // Calibration on held-out trials from the same process.
    let (xh, yh) = synthetic(5000, 2);
    let preds =
        lda::predict_static(&model, &xh.slice(ndarray::s![.., 50..100]).to_owned()).unwrap();
    let p: Vec<f64> = (0..yh.len())
        .map(|i| preds.iter().map(|(_, p)| p[i]).sum::<f64>() / preds.len() as f64)
        .collect();
    let brier = p
        .iter()
        .zip(&yh)
        .map(|(p, &y)| (p - f64::from(u8::from(y))).powi(2))
        .sum::<f64>()
        / p.len() as f64;
    let mut worst: f64 = 0.0;
    let mut report = String::new();
    for b in 0..10 {
        let (lo, hi) = (b as f64 / 10.0, (b + 1) as f64 / 10.0);
        let sel: Vec<usize> = (0..p.len())
            .filter(|&i| p[i] >= lo && (p[i] < hi || (b == 9 && p[i] <= 1.0)))
            .collect();
        if sel.len() < 100 {
            continue;
        }
        let mp = sel.iter().map(|&i| p[i]).sum::<f64>() / sel.len() as f64;
        let obs = sel.iter().filter(|&&i| yh[i]).count() as f64 / sel.len() as f64;
        worst = worst.max((mp - obs).abs());
        report += &format!(
            " [{lo:.1},{hi:.1}): n={} p={mp:.3} obs={obs:.3};",
            sel.len()
        );
    }
    let base = yh.iter().filter(|&&s| s).count() as f64 / yh.len() as f64;
    println!("held-out calibration: Brier {brier:.4} (base-rate Brier {:.4}), worst bin |p−obs| {worst:.3};{report}", base * (1.0 - base));
    assert!(worst < 0.07, "calibration error {worst}");
    assert!(brier < 0.75 * base * (1.0 - base), "Brier {brier}");

    // scikit-learn on the same matrix and training rows gives the same direction.
    let script = r#"
import sys, h5py, numpy as np, warnings
from sklearn.discriminant_analysis import LinearDiscriminantAnalysis
db = sys.argv[1]
with h5py.File(db + '/X/data.h5', 'r') as f:
    X = f['counts'][()][:, 50:100]
with h5py.File(db + '/spike_times/data.h5', 'r') as f:
    off = f['offsets'][()]
y = (np.diff(off) > 0).astype(int)
worst = 1.0
with h5py.File(db + '/model/data.h5', 'r') as f:
    for i in range(len(f['models'])):
        g = f['models'][str(i)]
        rows = g['train_rows'][()]
        k = g['kernel'][()]
        lda = LinearDiscriminantAnalysis(n_components=1, solver='eigen', shrinkage=None).fit(X[rows], y[rows])
        c = lda.coef_[0]
        cos = float(np.dot(c, k) / np.linalg.norm(c) / np.linalg.norm(k))
        worst = min(worst, cos)
print(f'{worst:.12f}')
"#;
    if let Some(out) = common::run_python(
        script,
        &["h5py", "numpy", "sklearn"],
        &[tmp.path().join("db").to_str().unwrap()],
    ) {
        let cos: f64 = out.trim().parse().unwrap();
        println!("cosine(kernel, sklearn coef) over 5 models ≥ {cos}");
        assert!(cos >= 0.999, "cosine {cos}");
    }
}

#[test]
fn fit_errors_are_clear() {
    let tmp = tempfile::tempdir().unwrap();
    let (x, _) = synthetic(50, 3);
    let db = database(&tmp.path().join("db"), x, &[false; 50]);
    let err = lda::fit(&db, &config()).unwrap_err().to_string();
    assert!(
        err.contains("need at least 2 trials with and 2 without a spike"),
        "{err}"
    );
    let mut c = config();
    c.keys = vec!["missing/key".into()];
    let err = lda::fit(&db, &c).unwrap_err().to_string();
    assert!(err.contains("key `missing` not found"), "{err}");
    let mut c = config();
    assert!(c.resolve_window(Some(10.0), Some(20.0), Some(5.0)).is_err());
}
