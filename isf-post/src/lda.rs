//! ISF's reduced (LDA) model (docs/post.md#reduced-model): a linear kernel over binned synaptic
//! input that separates trials with and without an output spike, and a lookup table from the
//! weighted net input (WNI, the kernel applied to a trial's input) to the spike probability.
//!
//! Fitting follows ISF: `w = S_w⁻¹(μ₁ − μ₀)` with `S_w = Σ_k prior_k·Cov_k` (biased per-class
//! covariances, priors = training class frequencies), i.e. scikit-learn's
//! `LinearDiscriminantAnalysis(solver='eigen')` direction; each of the `n_models` kernels is
//! rescaled to ISF's Euclidean norm [`KERNEL_NORM`]; the lookup table buckets WNI values by
//! `round(wni/step)·step` and interpolates linearly on an integer grid.
//!
//! **Deliberate fixes of ISF (docs/post.md#reduced-model-fixes).**
//! * Class balancing and train/test splits use a seeded ChaCha RNG (seed per model = `seed + i`),
//!   so a fit is reproducible; ISF used numpy's unseeded global RNG.
//! * Prediction clips the rounded WNI to the table's index range at both ends; ISF compared the
//!   lower bound with the table *values* (so low inputs raised `KeyError`) and, in the rolling
//!   model, replaced out-of-range WNIs by a probability that was then used as an index.
//! * `S_w` is inverted through its eigendecomposition (pseudo-inverse), so a singular `S_w` (e.g.
//!   a bin that never receives input) gives the minimum-norm solution instead of an error.

use crate::analysis::spike_in_interval;
use crate::db::{self, h5, Binned, DbError, KeyMeta, Payload, SpikeTimes, TrialIndex};
use faer::{Mat, Side};
use ndarray::Array2;
use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

/// ISF's kernel norm ("chosen to preserve historic scaling").
pub const KERNEL_NORM: f64 = 7.260991424242837;

/// Errors of fitting and applying reduced models.
#[derive(Debug, thiserror::Error)]
pub enum LdaError {
    #[error(transparent)]
    /// Reading or writing the database failed.
    Db(#[from] DbError),
    #[error("invalid configuration: {0}")]
    /// The model's configuration is inconsistent.
    Config(String),
    #[error("cannot fit: {0}")]
    /// The data cannot be fitted (e.g. a class without trials).
    Fit(String),
    #[error("linear algebra failed: {0}")]
    /// A linear-algebra step failed.
    LinAlg(String),
}

/// Result alias of this module.
pub type Result<T> = std::result::Result<T, LdaError>;

/// Fitting configuration (ISF `ReducedLdaModel` constructor arguments).
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize, PartialEq)]
pub struct LdaConfig {
    /// Binned-activation keys (each `a/b/c`), concatenated in this order.
    pub keys: Vec<String>,
    /// Input window start \[ms\] (inclusive).
    pub window_min_ms: f64,
    /// Input window end \[ms\] (exclusive).
    pub window_max_ms: f64,
    /// Output window start \[ms\] (inclusive).
    pub output_window_min_ms: f64,
    /// Output window end \[ms\] (exclusive).
    pub output_window_max_ms: f64,
    /// Trials with a spike in `[output_min − refractory, output_min)` are left out of the fit.
    pub refractory_period_ms: f64,
    /// Balance classes by subsampling before each fit.
    pub normalize_group_size: bool,
    /// Fraction of (balanced) trials held out per model.
    pub test_size: f64,
    /// Number of models (ISF: 5).
    pub n_models: usize,
    /// WNI bucket width of the lookup table (ISF: 5).
    pub lookup_step: f64,
    /// RNG seed (model i uses `seed + i`).
    pub seed: u64,
    /// Key of the spike times defining the output.
    pub spike_times_key: String,
}

impl LdaConfig {
    /// ISF's defaults for the given keys: window width 80 ms ending at the output window end
    /// (185–265 ms), output window 255–265 ms.
    pub fn new(keys: Vec<String>) -> LdaConfig {
        LdaConfig {
            keys,
            window_min_ms: 185.0,
            window_max_ms: 265.0,
            output_window_min_ms: 255.0,
            output_window_max_ms: 265.0,
            refractory_period_ms: 0.0,
            normalize_group_size: true,
            test_size: 0.4,
            n_models: 5,
            lookup_step: 5.0,
            seed: 0,
            spike_times_key: "spike_times".into(),
        }
    }

    /// ISF's window resolution from optional min, max and width.
    pub fn resolve_window(
        &mut self,
        min: Option<f64>,
        max: Option<f64>,
        width: Option<f64>,
    ) -> Result<()> {
        let (lo, hi) = match (min, max, width) {
            (Some(a), Some(b), Some(w)) if (b - a - w).abs() > 1e-9 => {
                return Err(LdaError::Config(format!(
                    "window width {w} ≠ max − min = {}",
                    b - a
                )))
            }
            (Some(a), Some(b), _) => (a, b),
            (None, None, w) => {
                let w = w.unwrap_or(80.0);
                (self.output_window_max_ms - w, self.output_window_max_ms)
            }
            (Some(a), None, Some(w)) => (a, a + w),
            (None, Some(b), Some(w)) => (b - w, b),
            _ => {
                return Err(LdaError::Config(
                    "give the window as width, min & width, or min & max".into(),
                ))
            }
        };
        if !(hi > lo) {
            return Err(LdaError::Config(format!("empty input window [{lo}, {hi})")));
        }
        self.window_min_ms = lo;
        self.window_max_ms = hi;
        Ok(())
    }

    fn validate(&self) -> Result<()> {
        if self.keys.is_empty() {
            return Err(LdaError::Config("no input keys".into()));
        }
        if !(self.test_size > 0.0 && self.test_size < 1.0) {
            return Err(LdaError::Config(format!(
                "test_size {} not in (0, 1)",
                self.test_size
            )));
        }
        if self.n_models == 0 {
            return Err(LdaError::Config("n_models must be ≥ 1".into()));
        }
        if !(self.lookup_step > 0.0) {
            return Err(LdaError::Config("lookup_step must be positive".into()));
        }
        if !(self.output_window_max_ms > self.output_window_min_ms)
            || self.refractory_period_ms < 0.0
        {
            return Err(LdaError::Config(
                "bad output window or refractory period".into(),
            ));
        }
        Ok(())
    }
}

/// The input matrix of a set of trials: concatenated windows of the binned keys.
#[derive(Debug, Clone)]
pub struct InputMatrix {
    /// Trial ids (rows).
    pub trial_ids: Vec<String>,
    /// trials × features.
    pub x: Array2<f64>,
    /// Feature column range of each key.
    pub key_ranges: Vec<(usize, usize)>,
}

/// Reads and concatenates the window `[min, max)` of each binned key (columns whose left bin edge
/// lies in the window). Rows follow the first key's trial order; the other keys are aligned by id.
pub fn input_matrix(
    db: &db::Database,
    keys: &[String],
    min_ms: f64,
    max_ms: f64,
) -> Result<InputMatrix> {
    let mut parts = Vec::new();
    for k in keys {
        parts.push(db.get::<Binned>(&db::parse_key(k)?)?);
    }
    let ids = parts[0].trial_ids.clone();
    let n = ids.len();
    let mut cols = Vec::new();
    for (k, p) in keys.iter().zip(&parts) {
        let c: Vec<usize> = (0..p.counts.ncols())
            .filter(|&j| p.bin_edges_ms[j] >= min_ms && p.bin_edges_ms[j] < max_ms)
            .collect();
        if c.is_empty() {
            return Err(LdaError::Config(format!(
                "key `{k}` has no bins in [{min_ms}, {max_ms})"
            )));
        }
        cols.push(c);
    }
    let d: usize = cols.iter().map(Vec::len).sum();
    let mut x = Array2::zeros((n, d));
    let mut key_ranges = Vec::new();
    let mut off = 0;
    for ((k, p), c) in keys.iter().zip(&parts).zip(&cols) {
        let idx = TrialIndex::new(p.trial_ids.clone());
        for (i, id) in ids.iter().enumerate() {
            let r = idx.row_or_err(id, k)?;
            for (jj, &j) in c.iter().enumerate() {
                x[[i, off + jj]] = p.counts[[r, j]];
            }
        }
        key_ranges.push((off, off + c.len()));
        off += c.len();
    }
    Ok(InputMatrix {
        trial_ids: ids,
        x,
        key_ranges,
    })
}

/// A two-class LDA fit.
#[derive(Debug, Clone)]
pub struct LdaFit {
    /// Discriminant direction `S_w⁻¹(μ₁ − μ₀)`.
    pub coef: Vec<f64>,
    /// Intercept (decision `x·coef + intercept > 0` → class 1).
    pub intercept: f64,
}

/// Fits two-class LDA on rows `rows` of `x` with labels `y` (scikit-learn `solver='eigen'`
/// direction and intercept).
pub fn fit_lda(x: &Array2<f64>, y: &[bool], rows: &[usize]) -> Result<LdaFit> {
    let d = x.ncols();
    let (mut n0, mut n1) = (0usize, 0usize);
    let mut mu = [vec![0.0; d], vec![0.0; d]];
    for &r in rows {
        let c = usize::from(y[r]);
        if y[r] {
            n1 += 1
        } else {
            n0 += 1
        }
        for j in 0..d {
            mu[c][j] += x[[r, j]];
        }
    }
    if n0 == 0 || n1 == 0 {
        return Err(LdaError::Fit(format!(
            "need both classes in the training set (spiking {n1}, silent {n0})"
        )));
    }
    mu[0].iter_mut().for_each(|m| *m /= n0 as f64);
    mu[1].iter_mut().for_each(|m| *m /= n1 as f64);
    let n = rows.len();
    // S_w = Σ_k (n_k/n)·Cov_k (biased) = Xcᵀ·Xc / n with rows centred on their class mean.
    let xc = Mat::<f64>::from_fn(n, d, |i, j| {
        let r = rows[i];
        x[[r, j]] - mu[usize::from(y[r])][j]
    });
    let sw = xc.transpose() * &xc * faer::Scale(1.0 / n as f64);
    let evd = sw
        .self_adjoint_eigen(Side::Lower)
        .map_err(|e| LdaError::LinAlg(format!("eigendecomposition of S_w: {e:?}")))?;
    let u = evd.U();
    let s = evd.S().column_vector();
    let smax = (0..d).map(|i| s[i].abs()).fold(0.0, f64::max);
    let tol = smax * d as f64 * f64::EPSILON;
    let diff: Vec<f64> = (0..d).map(|j| mu[1][j] - mu[0][j]).collect();
    // w = U·diag(1/s)·Uᵀ·diff over the non-negligible eigenvalues.
    let mut w = vec![0.0; d];
    for k in 0..d {
        if s[k].abs() <= tol {
            continue;
        }
        let proj: f64 = (0..d).map(|j| u[(j, k)] * diff[j]).sum::<f64>() / s[k];
        for (j, wj) in w.iter_mut().enumerate() {
            *wj += u[(j, k)] * proj;
        }
    }
    let mid: f64 = (0..d).map(|j| 0.5 * (mu[1][j] + mu[0][j]) * w[j]).sum();
    let intercept = -mid + (n1 as f64 / n0 as f64).ln();
    Ok(LdaFit { coef: w, intercept })
}

/// Area under the ROC curve of `scores` for labels `y` (ties averaged).
pub fn roc_auc(scores: &[f64], y: &[bool]) -> f64 {
    let mut idx: Vec<usize> = (0..scores.len()).collect();
    idx.sort_by(|&a, &b| scores[a].total_cmp(&scores[b]));
    let mut ranks = vec![0.0; scores.len()];
    let mut i = 0;
    while i < idx.len() {
        let mut j = i;
        while j + 1 < idx.len() && scores[idx[j + 1]] == scores[idx[i]] {
            j += 1;
        }
        let r = (i + j) as f64 / 2.0 + 1.0;
        for &k in &idx[i..=j] {
            ranks[k] = r;
        }
        i = j + 1;
    }
    let n1 = y.iter().filter(|&&b| b).count() as f64;
    let n0 = y.len() as f64 - n1;
    if n1 == 0.0 || n0 == 0.0 {
        return f64::NAN;
    }
    let sum1: f64 = ranks
        .iter()
        .zip(y)
        .filter(|(_, &b)| b)
        .map(|(r, _)| r)
        .sum();
    (sum1 - n1 * (n1 + 1.0) / 2.0) / (n1 * n0)
}

/// numpy/pandas rounding: half to even.
pub fn round_half_even(x: f64) -> f64 {
    x.round_ties_even()
}

/// Lookup table from integer WNI to spike probability.
#[derive(Debug, Clone, PartialEq)]
pub struct LookupTable {
    /// WNI of the first entry.
    pub start: i64,
    /// P(spike) for WNI `start, start+1, …`.
    pub p: Vec<f64>,
}

impl LookupTable {
    /// ISF's table: bucket `g = round(wni/step)·step`, `p(g)` = spike fraction; integer grid from
    /// `int(min_g − 0.3·range)` to `int(max_g + 0.3·range)` (exclusive, extended to include
    /// `max_g`), 0 at the first entry, linear between known points, flat after the last one.
    pub fn build(wni: &[f64], spike: &[bool], step: f64) -> Option<LookupTable> {
        let mut buckets: std::collections::BTreeMap<i64, (f64, f64)> = Default::default();
        for (&v, &s) in wni.iter().zip(spike) {
            if !v.is_finite() {
                continue;
            }
            let k = round_half_even(v / step) as i64;
            let e = buckets.entry(k).or_insert((0.0, 0.0));
            e.0 += f64::from(u8::from(s));
            e.1 += 1.0;
        }
        let known: Vec<(f64, f64)> = buckets
            .iter()
            .map(|(&k, &(s, n))| (k as f64 * step, s / n))
            .collect();
        let (min_g, max_g) = (known.first()?.0, known.last()?.0);
        let range = max_g - min_g;
        let start = ((min_g - 0.3 * range).trunc() as i64).min(min_g.floor() as i64);
        let end = ((max_g + 0.3 * range).trunc() as i64).max(max_g.ceil() as i64 + 1);
        // Anchor 0 at the start unless a known point sits there.
        let mut pts: Vec<(f64, f64)> = Vec::with_capacity(known.len() + 1);
        if known[0].0 > start as f64 {
            pts.push((start as f64, 0.0));
        }
        pts.extend(known);
        let p = (start..end)
            .map(|i| {
                let x = i as f64;
                let j = pts.partition_point(|&(g, _)| g <= x);
                if j == 0 {
                    pts[0].1
                } else if j == pts.len() {
                    pts[j - 1].1
                } else {
                    let (x0, y0) = pts[j - 1];
                    let (x1, y1) = pts[j];
                    y0 + (y1 - y0) * (x - x0) / (x1 - x0)
                }
            })
            .collect();
        Some(LookupTable { start, p })
    }

    /// P(spike) for a WNI: rounded half-to-even, clipped to the table range at both ends.
    pub fn lookup(&self, wni: f64) -> f64 {
        let last = self.start + self.p.len() as i64 - 1;
        let i = if wni.is_nan() {
            return f64::NAN;
        } else {
            (round_half_even(wni.clamp(-9e15, 9e15)) as i64).clamp(self.start, last)
        };
        self.p[(i - self.start) as usize]
    }
}

/// One of the fitted models.
#[derive(Debug, Clone)]
pub struct LdaModelPart {
    /// Kernel over all features, Euclidean norm [`KERNEL_NORM`].
    pub kernel: Vec<f64>,
    /// Intercept on the same scale as `kernel`.
    pub intercept: f64,
    /// Training rows (into the fit's trial list).
    pub train_rows: Vec<usize>,
    /// Held-out rows.
    pub test_rows: Vec<usize>,
    /// Test accuracy on spiking trials.
    pub acc_spike: f64,
    /// Test accuracy on silent trials.
    pub acc_silent: f64,
    /// ROC AUC of the WNI on the test rows.
    pub auc_test: f64,
    /// ROC AUC of the WNI on all eligible trials.
    pub auc_full: f64,
    /// WNI of every trial.
    pub wni: Vec<f64>,
    /// Lookup table.
    pub lookup: LookupTable,
}

/// A fitted reduced model (stored as kind `reduced_lda_model`).
#[derive(Debug, Clone)]
pub struct ReducedLdaModel {
    /// Configuration.
    pub config: LdaConfig,
    /// Feature range of each key.
    pub key_ranges: Vec<(usize, usize)>,
    /// Trials used (rows of `wni`, `spike`).
    pub trial_ids: Vec<String>,
    /// Spike in the output window per trial.
    pub spike: Vec<bool>,
    /// Spike in the refractory window before the output window per trial.
    pub spike_before: Vec<bool>,
    /// The models.
    pub models: Vec<LdaModelPart>,
    /// `median(acc_spike) + median(acc_silent)` (ISF's score).
    pub score: f64,
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n == 0 {
        f64::NAN
    } else if n % 2 == 1 {
        v[n / 2]
    } else {
        0.5 * (v[n / 2 - 1] + v[n / 2])
    }
}

/// Fits a reduced model from the database (docs/post.md#fitting, with the fixes in the module
/// docs).
pub fn fit(database: &db::Database, config: &LdaConfig) -> Result<ReducedLdaModel> {
    config.validate()?;
    let im = input_matrix(
        database,
        &config.keys,
        config.window_min_ms,
        config.window_max_ms,
    )?;
    let st = database.get::<SpikeTimes>(&db::parse_key(&config.spike_times_key)?)?;
    let sidx = TrialIndex::new(st.trial_ids.clone());
    let mut spike = Vec::with_capacity(im.trial_ids.len());
    let mut spike_before = Vec::with_capacity(im.trial_ids.len());
    for id in &im.trial_ids {
        let r = sidx.row_or_err(id, &config.spike_times_key)?;
        let s = st.row(r);
        spike.push(spike_in_interval(
            s,
            config.output_window_min_ms,
            config.output_window_max_ms,
        ));
        spike_before.push(
            config.refractory_period_ms > 0.0
                && spike_in_interval(
                    s,
                    config.output_window_min_ms - config.refractory_period_ms,
                    config.output_window_min_ms,
                ),
        );
    }
    fit_matrix(im, spike, spike_before, config.clone())
}

/// Fits from an explicit input matrix and labels.
pub fn fit_matrix(
    im: InputMatrix,
    spike: Vec<bool>,
    spike_before: Vec<bool>,
    config: LdaConfig,
) -> Result<ReducedLdaModel> {
    config.validate()?;
    let eligible: Vec<usize> = (0..spike.len()).filter(|&i| !spike_before[i]).collect();
    let pos: Vec<usize> = eligible.iter().copied().filter(|&i| spike[i]).collect();
    let neg: Vec<usize> = eligible.iter().copied().filter(|&i| !spike[i]).collect();
    if pos.len() < 2 || neg.len() < 2 {
        return Err(LdaError::Fit(format!(
            "need at least 2 trials with and 2 without a spike in [{}, {}) ms; found {} and {}",
            config.output_window_min_ms,
            config.output_window_max_ms,
            pos.len(),
            neg.len()
        )));
    }
    let mut models = Vec::with_capacity(config.n_models);
    for m in 0..config.n_models {
        let mut rng = ChaCha8Rng::seed_from_u64(config.seed.wrapping_add(m as u64));
        let mut sample: Vec<usize> = if config.normalize_group_size {
            let l = pos.len().min(neg.len());
            let (mut p, mut q) = (pos.clone(), neg.clone());
            p.shuffle(&mut rng);
            q.shuffle(&mut rng);
            p.truncate(l);
            q.truncate(l);
            p.extend(q);
            p
        } else {
            eligible.clone()
        };
        sample.shuffle(&mut rng);
        let n_test =
            ((config.test_size * sample.len() as f64).ceil() as usize).clamp(1, sample.len() - 1);
        let test_rows = sample[..n_test].to_vec();
        let mut train_rows = sample[n_test..].to_vec();
        train_rows.sort_unstable();
        let fit = fit_lda(&im.x, &spike, &train_rows)?;
        let norm = fit.coef.iter().map(|w| w * w).sum::<f64>().sqrt();
        if !(norm > 0.0 && norm.is_finite()) {
            return Err(LdaError::Fit(
                "the discriminant direction is zero (classes have equal input means)".into(),
            ));
        }
        let scale = KERNEL_NORM / norm;
        let kernel: Vec<f64> = fit.coef.iter().map(|w| w * scale).collect();
        let intercept = fit.intercept * scale;
        let wni: Vec<f64> =
            im.x.rows()
                .into_iter()
                .map(|r| r.iter().zip(&kernel).map(|(a, b)| a * b).sum())
                .collect();
        let acc = |cls: bool| {
            let rows: Vec<&usize> = test_rows.iter().filter(|&&r| spike[r] == cls).collect();
            let ok = rows
                .iter()
                .filter(|&&&r| (wni[r] + intercept > 0.0) == cls)
                .count();
            ok as f64 / rows.len().max(1) as f64
        };
        let auc_of = |rows: &[usize]| {
            let s: Vec<f64> = rows.iter().map(|&r| wni[r]).collect();
            let y: Vec<bool> = rows.iter().map(|&r| spike[r]).collect();
            roc_auc(&s, &y)
        };
        let el_wni: Vec<f64> = eligible.iter().map(|&i| wni[i]).collect();
        let el_y: Vec<bool> = eligible.iter().map(|&i| spike[i]).collect();
        let lookup = LookupTable::build(&el_wni, &el_y, config.lookup_step)
            .ok_or_else(|| LdaError::Fit("no finite WNI values".into()))?;
        models.push(LdaModelPart {
            kernel,
            intercept,
            acc_spike: acc(true),
            acc_silent: acc(false),
            auc_test: auc_of(&test_rows),
            auc_full: auc_of(&eligible),
            train_rows,
            test_rows,
            wni,
            lookup,
        });
    }
    let score = median(&mut models.iter().map(|m| m.acc_spike).collect::<Vec<_>>())
        + median(&mut models.iter().map(|m| m.acc_silent).collect::<Vec<_>>());
    Ok(ReducedLdaModel {
        config,
        key_ranges: im.key_ranges,
        trial_ids: im.trial_ids,
        spike,
        spike_before,
        models,
        score,
    })
}

/// Static prediction for an input matrix: per model, WNI and P(spike) per trial.
pub fn predict_static(
    model: &ReducedLdaModel,
    x: &Array2<f64>,
) -> Result<Vec<(Vec<f64>, Vec<f64>)>> {
    let d = model.models.first().map_or(0, |m| m.kernel.len());
    if x.ncols() != d {
        return Err(LdaError::Config(format!(
            "input has {} features, the model {d}",
            x.ncols()
        )));
    }
    Ok(model
        .models
        .iter()
        .map(|m| {
            let wni: Vec<f64> = x
                .rows()
                .into_iter()
                .map(|r| r.iter().zip(&m.kernel).map(|(a, b)| a * b).sum())
                .collect();
            let p = wni.iter().map(|&v| m.lookup.lookup(v)).collect();
            (wni, p)
        })
        .collect())
}

/// Rolling (convolutional) prediction (docs/post.md#prediction): for each key `X` (trials × T) and
/// kernel `k` (length L), `conv[:, t] = Σ_j X[:, t−L+j]·k[j]` (zero padding, bins strictly before
/// t); WNI = Σ over keys; P = `table[WNI]` (clipped); raw PSTH = mean over trials; with a
/// refractory period R > 0 (bins) the PSTH is corrected by the fraction of trials able to spike.
/// Returns `(wni, p, psth)`.
pub fn predict_rolling(
    inputs: &[Array2<f64>],
    kernels: &[Vec<f64>],
    lookup: &LookupTable,
    refractory_bins: usize,
) -> Result<(Array2<f64>, Array2<f64>, Vec<f64>)> {
    if inputs.is_empty() || inputs.len() != kernels.len() {
        return Err(LdaError::Config(
            "one kernel per input key is needed".into(),
        ));
    }
    let (n, t_len) = inputs[0].dim();
    if inputs.iter().any(|x| x.dim() != (n, t_len)) {
        return Err(LdaError::Config(
            "all inputs must have the same shape".into(),
        ));
    }
    let mut wni = Array2::<f64>::zeros((n, t_len));
    for (x, k) in inputs.iter().zip(kernels) {
        let l = k.len() as isize;
        for i in 0..n {
            for t in 0..t_len as isize {
                let mut s = 0.0;
                for (j, kj) in k.iter().enumerate() {
                    let src = t - l + j as isize;
                    if src >= 0 {
                        s += x[[i, src as usize]] * kj;
                    }
                }
                wni[[i, t as usize]] += s;
            }
        }
    }
    let p = wni.mapv(|v| lookup.lookup(v));
    let raw: Vec<f64> = (0..t_len)
        .map(|t| p.column(t).sum() / n.max(1) as f64)
        .collect();
    let psth = if refractory_bins == 0 {
        raw
    } else {
        let r = refractory_bins;
        let mut able = vec![0.0; t_len + 1];
        able[0] = 1.0;
        for t in 0..t_len {
            let back = if t >= r {
                raw[t - r] * able[t - r]
            } else {
                0.0
            };
            able[t + 1] = able[t] - able[t] * raw[t] + back;
        }
        (0..t_len).map(|t| raw[t] * able[t]).collect()
    };
    Ok((wni, p, psth))
}

fn key_name(k: &str) -> String {
    k.replace('/', "__")
}

impl Payload for ReducedLdaModel {
    const KIND: &'static str = "reduced_lda_model";
    fn write_h5(&self, f: &hdf5::File) -> hdf5::Result<()> {
        let cfg =
            serde_json::to_string(&self.config).map_err(|e| hdf5::Error::from(e.to_string()))?;
        h5::set_attr_str(f, "config_json", &cfg)?;
        h5::set_attr_f64(f, "score", self.score)?;
        h5::set_attr_f64(f, "kernel_norm", KERNEL_NORM)?;
        h5::write_strings(f, "keys", &self.config.keys)?;
        let kr: Vec<i64> = self
            .key_ranges
            .iter()
            .flat_map(|&(a, b)| [a as i64, b as i64])
            .collect();
        f.new_dataset_builder()
            .with_data(
                &Array2::from_shape_vec((self.key_ranges.len(), 2), kr)
                    .map_err(|e| hdf5::Error::from(e.to_string()))?,
            )
            .create("key_column_ranges")?;
        h5::write_strings(f, "sim_trial_index", &self.trial_ids)?;
        h5::write_1d(
            f,
            "spike_in_window",
            &self.spike.iter().map(|&b| u8::from(b)).collect::<Vec<_>>(),
        )?;
        h5::write_1d(
            f,
            "spike_before_window",
            &self
                .spike_before
                .iter()
                .map(|&b| u8::from(b))
                .collect::<Vec<_>>(),
        )?;
        let models = f.create_group("models")?;
        for (i, m) in self.models.iter().enumerate() {
            let g = models.create_group(&i.to_string())?;
            h5::write_1d(&g, "kernel", &m.kernel)?;
            let kg = g.create_group("kernels")?;
            for (k, &(a, b)) in self.config.keys.iter().zip(&self.key_ranges) {
                h5::write_1d(&kg, &key_name(k), &m.kernel[a..b])?;
            }
            h5::write_1d(
                &g,
                "train_rows",
                &m.train_rows.iter().map(|&r| r as i64).collect::<Vec<_>>(),
            )?;
            h5::write_1d(
                &g,
                "test_rows",
                &m.test_rows.iter().map(|&r| r as i64).collect::<Vec<_>>(),
            )?;
            h5::write_1d(&g, "wni", &m.wni)?;
            h5::write_1d(&g, "lookup_p", &m.lookup.p)?;
            let wni_grid: Vec<i64> = (0..m.lookup.p.len() as i64)
                .map(|k| m.lookup.start + k)
                .collect();
            h5::write_1d(&g, "lookup_wni", &wni_grid)?;
            h5::set_attr_f64(&g, "intercept", m.intercept)?;
            h5::set_attr_f64(&g, "acc_spike", m.acc_spike)?;
            h5::set_attr_f64(&g, "acc_silent", m.acc_silent)?;
            h5::set_attr_f64(&g, "auc_test", m.auc_test)?;
            h5::set_attr_f64(&g, "auc_full", m.auc_full)?;
        }
        Ok(())
    }

    fn read_h5(f: &hdf5::File) -> db::Result<Self> {
        let path = std::path::PathBuf::from(f.filename());
        let e = |source| DbError::Hdf5 {
            path: path.clone(),
            source,
        };
        let bad = |msg: String| DbError::Malformed {
            path: path.clone(),
            msg,
        };
        let cfg = h5::attr_str(f, "config_json").map_err(e)?;
        let config: LdaConfig =
            serde_json::from_str(&cfg).map_err(|x| bad(format!("config_json: {x}")))?;
        let kr: Array2<i64> = f
            .dataset("key_column_ranges")
            .and_then(|d| d.read_2d())
            .map_err(e)?;
        let key_ranges = kr
            .rows()
            .into_iter()
            .map(|r| (r[0] as usize, r[1] as usize))
            .collect();
        let trial_ids = h5::read_strings(f, "sim_trial_index").map_err(e)?;
        let spike = h5::read_1d::<u8>(f, "spike_in_window")
            .map_err(e)?
            .into_iter()
            .map(|b| b != 0)
            .collect();
        let spike_before = h5::read_1d::<u8>(f, "spike_before_window")
            .map_err(e)?
            .into_iter()
            .map(|b| b != 0)
            .collect();
        let mg = f.group("models").map_err(e)?;
        let mut models = Vec::new();
        for i in 0..config.n_models {
            let g = mg.group(&i.to_string()).map_err(e)?;
            let wni_grid: Vec<i64> = h5::read_1d(&g, "lookup_wni").map_err(e)?;
            let p: Vec<f64> = h5::read_1d(&g, "lookup_p").map_err(e)?;
            if p.is_empty() || p.len() != wni_grid.len() {
                return Err(bad(format!(
                    "model {i}: empty or inconsistent lookup table"
                )));
            }
            let rows = |name: &str| -> db::Result<Vec<usize>> {
                Ok(h5::read_1d::<i64>(&g, name)
                    .map_err(e)?
                    .into_iter()
                    .map(|r| r as usize)
                    .collect())
            };
            models.push(LdaModelPart {
                kernel: h5::read_1d(&g, "kernel").map_err(e)?,
                intercept: h5::attr_f64(&g, "intercept").map_err(e)?,
                train_rows: rows("train_rows")?,
                test_rows: rows("test_rows")?,
                acc_spike: h5::attr_f64(&g, "acc_spike").map_err(e)?,
                acc_silent: h5::attr_f64(&g, "acc_silent").map_err(e)?,
                auc_test: h5::attr_f64(&g, "auc_test").map_err(e)?,
                auc_full: h5::attr_f64(&g, "auc_full").map_err(e)?,
                wni: h5::read_1d(&g, "wni").map_err(e)?,
                lookup: LookupTable {
                    start: wni_grid[0],
                    p,
                },
            });
        }
        let score = h5::attr_f64(f, "score").map_err(e)?;
        Ok(ReducedLdaModel {
            config,
            key_ranges,
            trial_ids,
            spike,
            spike_before,
            models,
            score,
        })
    }
}

/// Stores a fitted model at `key` with its provenance.
pub fn store(database: &db::Database, key: &str, model: &ReducedLdaModel) -> Result<()> {
    let k = db::parse_key(key)?;
    let meta = KeyMeta::new(
        "",
        "reduced LDA model (kernels, lookup tables, fit diagnostics)",
    )
    .param("score", model.score)
    .param(
        "config",
        serde_json::to_value(&model.config).unwrap_or_default(),
    );
    database.set(&k, model, meta)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rolling_model_spec_example() {
        // ISF's self-test (docs/post.md#prediction): EXC=INH=[0,1,1,0,0,0], kernels EXC [0,0,1],
        // INH [0,1,1], LUT {−1:0, 0:0, 1:1, 2:1} → WNI [0,0,2,3,1,0], P [0,0,1,1,1,0]
        // (3 clips to 2 → 1).
        let x = ndarray::arr2(&[[0.0, 1.0, 1.0, 0.0, 0.0, 0.0]]);
        let lut = LookupTable {
            start: -1,
            p: vec![0.0, 0.0, 1.0, 1.0],
        };
        let (wni, p, psth) = predict_rolling(
            &[x.clone(), x],
            &[vec![0.0, 0.0, 1.0], vec![0.0, 1.0, 1.0]],
            &lut,
            0,
        )
        .unwrap();
        assert_eq!(wni.row(0).to_vec(), vec![0.0, 0.0, 2.0, 3.0, 1.0, 0.0]);
        assert_eq!(p.row(0).to_vec(), vec![0.0, 0.0, 1.0, 1.0, 1.0, 0.0]);
        assert_eq!(psth, vec![0.0, 0.0, 1.0, 1.0, 1.0, 0.0]);
        // Refractory R = 1: able = [1, 1, 1, 0, 1, 0, …] → PSTH [0,0,1,0,1,0] (hand-computed from
        // able[t+1] = able[t] − able[t]·raw[t] + raw[t−1]·able[t−1]).
        let x = ndarray::arr2(&[[0.0, 1.0, 1.0, 0.0, 0.0, 0.0]]);
        let (_, _, psth) = predict_rolling(
            &[x.clone(), x],
            &[vec![0.0, 0.0, 1.0], vec![0.0, 1.0, 1.0]],
            &lut,
            1,
        )
        .unwrap();
        assert_eq!(psth, vec![0.0, 0.0, 1.0, 0.0, 1.0, 0.0]);
    }

    #[test]
    fn lookup_table_interpolates_and_clips() {
        // WNI 0, 0, 10, 10 (bucket step 5): p(0) = 0.5, p(10) = 1. range 10 → grid from
        // int(0 − 3) = −3 to int(10 + 3) = 13 (exclusive). −3 → 0, linear to 0.5 at 0, to 1 at 10.
        let t =
            LookupTable::build(&[0.0, 0.4, 10.0, 9.9], &[true, false, true, true], 5.0).unwrap();
        assert_eq!(t.start, -3);
        assert_eq!(t.p.len(), 16);
        assert_eq!(t.lookup(-3.0), 0.0);
        assert!((t.lookup(-1.0) - 0.5 * 2.0 / 3.0).abs() < 1e-12);
        assert_eq!(t.lookup(0.0), 0.5);
        assert!((t.lookup(5.0) - 0.75).abs() < 1e-12);
        assert_eq!(t.lookup(12.0), 1.0);
        // Out of range: clipped at both ends (ISF's lower clip bug fixed).
        assert_eq!(t.lookup(-1e9), 0.0);
        assert_eq!(t.lookup(1e9), 1.0);
        // Half to even: 0.5 → 0, 1.5 → 2.
        assert_eq!(round_half_even(0.5), 0.0);
        assert_eq!(round_half_even(1.5), 2.0);
        assert_eq!(round_half_even(-2.5), -2.0);
    }

    #[test]
    fn auc_of_perfect_and_random_scores() {
        assert_eq!(
            roc_auc(&[1.0, 2.0, 3.0, 4.0], &[false, false, true, true]),
            1.0
        );
        assert_eq!(roc_auc(&[1.0, 1.0], &[false, true]), 0.5);
    }

    #[test]
    fn lda_direction_on_a_hand_solvable_problem() {
        // Two features; class means (0,0) and (2,1); within-class scatter (after centring) has
        // S_w = diag(1, 4)·(1/1) → w = S_w⁻¹(μ₁−μ₀) = (2/1, 1/4).
        // Points per class: mean ± (1,0) and ± (0,2) → per-class biased covariance diag(0.5, 2).
        // S_w = 0.5·diag(0.5,2) + 0.5·diag(0.5,2) = diag(0.5, 2) → w = (4, 0.5).
        let pts0 = [[1.0, 0.0], [-1.0, 0.0], [0.0, 2.0], [0.0, -2.0]];
        let mut rows = Vec::new();
        let mut y = Vec::new();
        for p in pts0 {
            rows.push(p);
            y.push(false);
        }
        for p in pts0 {
            rows.push([p[0] + 2.0, p[1] + 1.0]);
            y.push(true);
        }
        let x = Array2::from_shape_vec((8, 2), rows.concat()).unwrap();
        let f = fit_lda(&x, &y, &(0..8).collect::<Vec<_>>()).unwrap();
        assert!(
            (f.coef[0] - 4.0).abs() < 1e-12 && (f.coef[1] - 0.5).abs() < 1e-12,
            "{:?}",
            f.coef
        );
        // Intercept: −0.5·(μ₁+μ₀)·w + ln(1) = −0.5·(2·4 + 1·0.5) = −4.25.
        assert!((f.intercept + 4.25).abs() < 1e-12);
    }
}
