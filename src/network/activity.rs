//! Presynaptic activity generators (docs/models.md#activity-generators): every way ISF's network
//! parameter file can describe the spike times of a presynaptic population, drawing from the global
//! numpy stream in ISF's order so that trials match ISF's bit for bit.
//!
//! A generator appends `(cell index, spike time)` pairs to a buffer; the caller groups them per
//! cell and sorts each cell's times (ISF keeps every cell's list sorted).

use super::rng::{Mt19937, MtStream, RandomState, RngError, SeedWindows};
use thiserror::Error;

/// Errors found while drawing activity (specs are validated when the model is built; these are
/// the cases that only the drawn numbers reveal).
#[derive(Debug, Error)]
pub enum ActivityError {
    /// A random-number call numpy would reject.
    #[error(transparent)]
    Rng(#[from] RngError),
    /// ISF would loop forever (e.g. a noise-free spike train starting at 0 keeps re-entering
    /// its first-spike branch) or produce an unbounded number of spikes.
    #[error("{0}")]
    Runaway(String),
    /// Bins and rates that numpy cannot combine.
    #[error("{0}")]
    Shape(String),
}

/// Upper bound on spikes drawn for one cell by one generator; far above anything physiological,
/// it turns ISF's silent endless loops into an error.
const MAX_SPIKES_PER_CELL: usize = 10_000_000;

/// Most spikes one population may fire in one trial (all its generators together; 16 bytes
/// each while drawing). Physiological populations fire thousands; the limit turns a typo such as
/// an interval of 1e-9 ms or `nspikes: 1e12` into an error instead of exhausting memory.
pub const MAX_SPIKES_PER_POPULATION: usize = 10_000_000;

/// Most bin edges of a `poissontrain_modulated` generator (a few arrays of this length are
/// allocated per cell).
pub const MAX_MODULATED_BINS: usize = 10_000_000;

/// Errors unless `out` can take `adding` more spikes within [`MAX_SPIKES_PER_POPULATION`].
fn check_budget(out: &[(u32, f64)], adding: usize) -> Result<(), ActivityError> {
    if out.len().saturating_add(adding) > MAX_SPIKES_PER_POPULATION {
        return Err(ActivityError::Runaway(format!(
            "more than {MAX_SPIKES_PER_POPULATION} spikes in one trial (the limit per population)"
        )));
    }
    Ok(())
}

/// ISF's `spiketrain` ("ongoing" Poisson-like activity of every cell).
#[derive(Debug, Clone, PartialEq)]
pub struct SpikeTrainSpec {
    /// Mean inter-spike interval \[ms\] (mean rate 1000/interval Hz).
    pub interval_ms: f64,
    /// 0 = regular, 1 = exponential intervals (default 1).
    pub noise: f64,
    /// Start time \[ms\] (default 0; ignored by ISF when `noise` is absent, see
    /// docs/models.md#activity-generators).
    pub start_ms: f64,
    /// Exactly this many spikes instead of stopping at tStop.
    pub nspikes: Option<usize>,
}

/// Phase distribution of `poissontrain_modulated`.
#[derive(Debug, Clone, PartialEq)]
pub enum PhaseDistribution {
    /// `uniform(0, 2π)` per cell.
    Uniform,
    /// `normal(mean, std)` per cell \[rad\].
    Normal {
        /// Mean phase \[rad\].
        mean: f64,
        /// Standard deviation \[rad\].
        std: f64,
    },
    /// Any other value: phase 0 (no draws).
    Zero,
}

/// One activity generator of a population (the `spiketrain` spec or one `pointcell`
/// distribution).
#[derive(Debug, Clone, PartialEq)]
pub enum ActivityGenerator {
    /// `spiketrain`.
    SpikeTrain(SpikeTrainSpec),
    /// `PSTH`: per bin, each cell spikes once with the bin's probability, uniformly in the bin.
    Psth {
        /// `(tBegin, tEnd)` \[ms\] per bin.
        intervals_ms: Vec<(f64, f64)>,
        /// Spike probability per bin (negative → none).
        probabilities: Vec<f64>,
        /// Added to all times \[ms\].
        offset_ms: f64,
    },
    /// `PSTH_absolute_number`: per bin, exactly that many distinct cells spike.
    PsthAbsoluteNumber {
        /// `(tBegin, tEnd)` \[ms\] per bin.
        intervals_ms: Vec<(f64, f64)>,
        /// Number of spiking cells per bin.
        numbers: Vec<usize>,
        /// Added to all times \[ms\].
        offset_ms: f64,
    },
    /// `normal`: active cells spike at `offset + spikeT + spikeWidth·N(0,1)` (≥ 0.1 ms).
    Normal {
        /// Fraction of active cells.
        active_frac: f64,
        /// Mean spike time \[ms\].
        spike_t_ms: f64,
        /// Standard deviation \[ms\].
        spike_width_ms: f64,
        /// Offset \[ms\] (default 10).
        offset_ms: f64,
    },
    /// `uniform`: active cells spike at `offset + window·U` (≥ 0.1 ms).
    Uniform {
        /// Fraction of active cells.
        active_frac: f64,
        /// Window length \[ms\].
        window_ms: f64,
        /// Offset \[ms\].
        offset_ms: f64,
    },
    /// `lognormal`: active cells spike at `offset + lognormal(mu, sigma)` (≥ 0.1 ms).
    Lognormal {
        /// Fraction of active cells.
        active_frac: f64,
        /// Mean of the underlying normal.
        mu: f64,
        /// Standard deviation of the underlying normal.
        sigma: f64,
        /// Offset \[ms\].
        offset_ms: f64,
    },
    /// `PSTH_poissontrain` (deprecated in ISF): a noise-1 spike train per bin and cell.
    PsthPoissonTrain {
        /// `(tBegin, tEnd)` \[ms\] per bin.
        intervals_ms: Vec<(f64, f64)>,
        /// Rate per bin \[Hz\]; 0 skips the bin.
        rates_hz: Vec<f64>,
    },
    /// `PSTH_poissontrain_v2`: inhomogeneous Poisson process by time warping.
    PsthPoissonTrainV2 {
        /// Bin edges \[ms\] (one more than rates).
        bins_ms: Vec<f64>,
        /// Rate per bin \[Hz\].
        rates_hz: Vec<f64>,
    },
    /// `poissontrain_modulated`: sinusoidally modulated Poisson rate with per-cell phase.
    PoissonTrainModulated {
        /// Rate before `offset` \[Hz\].
        rate_before_offset_hz: f64,
        /// Mean rate \[Hz\].
        mean_rate_hz: f64,
        /// Relative modulation depth M.
        max_modulation: f64,
        /// Modulation frequency \[Hz\].
        modulation_frequency_hz: f64,
        /// Bin size \[ms\].
        bin_size_ms: f64,
        /// Phase of each cell.
        phase: PhaseDistribution,
        /// Start of the modulation \[ms\].
        offset_ms: f64,
    },
}

/// Reusable buffers, so that a trial allocates nothing once warmed up.
#[derive(Default)]
pub struct Scratch {
    active: Vec<usize>,
    seeds: Vec<u32>,
    windows: SeedWindows,
    spare: Option<Mt19937>,
    isi: Vec<f64>,
    xp: Vec<f64>,
    fp: Vec<f64>,
    rates: Vec<f64>,
    phases: Vec<f64>,
    private: Option<Mt19937>,
}

impl Scratch {
    fn private_rng(&mut self, seed: u32) -> &mut Mt19937 {
        match &mut self.private {
            Some(r) => {
                r.seed(seed);
            }
            None => self.private = Some(Mt19937::new(seed)),
        }
        self.private.as_mut().expect("just set")
    }
}

/// One spike per cell of `active`, at `time_ms()` drawn in order, floored at 0.1 ms as ISF does.
fn one_spike_each(out: &mut Vec<(u32, f64)>, active: &[usize], mut time_ms: impl FnMut() -> f64) {
    for &c in active {
        let t = time_ms();
        out.push((c as u32, if t < 0.1 { 0.1 } else { t }));
    }
}

/// `cells` that draw `U < p`, in increasing index (numpy `np.where(uniform(size=n) < p)`).
fn draw_active(rng: &mut RandomState, n_cells: usize, p: f64, s: &mut Scratch) {
    s.active.clear();
    for c in 0..n_cells {
        if rng.random_sample() < p {
            s.active.push(c);
        }
    }
}

/// ISF's `PointCell.compute_spike_train_times` with the private generator already seeded.
fn spike_train<S: MtStream>(
    p: &mut S,
    spec: &SpikeTrainSpec,
    stop: f64,
    cell: u32,
    out: &mut Vec<(u32, f64)>,
) -> Result<(), ActivityError> {
    let (interval, noise, start) = (spec.interval_ms, spec.noise, spec.start_ms);
    let nspikes = spec.nspikes;
    let next = |p: &mut S| {
        if noise == 0.0 {
            interval
        } else {
            (1.0 - noise) * interval + noise * interval * p.standard_exponential()
        }
    };
    let lead = interval * (1.0 - noise);
    // The first spike: one interval after `start`, less the interval's fixed part, not before 0.
    let first = |p: &mut S| {
        let t = start + next(p) - lead;
        if t < 0.0 {
            0.0
        } else {
            t
        }
    };
    if let Some(n) = nspikes {
        check_budget(out, n)?;
        let mut last = 0.0;
        for i in 0..n {
            let t = if i == 0 { first(p) } else { last + next(p) };
            out.push((cell, t));
            last = t;
        }
    } else if stop > start {
        let mut last = 0.0;
        let mut count = 0usize;
        loop {
            let t = if last == 0.0 {
                first(p)
            } else {
                last + next(p)
            };
            if t > stop {
                break;
            }
            check_budget(out, 1)?;
            out.push((cell, t));
            last = t;
            count += 1;
            if count > MAX_SPIKES_PER_CELL || (noise == 0.0 && t == 0.0) {
                return Err(ActivityError::Runaway(format!(
                    "spike train (interval {interval} ms, noise {noise}, start {start} ms) never \
                     reaches tStop {stop} ms; ISF would loop forever"
                )));
            }
        }
    } else if stop < start {
        return Err(ActivityError::Runaway(format!(
            "spike train without `nspikes` stops ({stop} ms) before it starts ({start} ms)"
        )));
    }
    Ok(())
}

/// ISF's `sample_times_from_rates(bins, rates)`: unit-rate exponential intervals (1000 ms mean)
/// time-warped onto the cumulative rate profile; draws `exponential(1000)` in blocks.
fn sample_times_from_rates(
    rng: &mut RandomState,
    bins: &[f64],
    rates: &[f64],
    cell: u32,
    s: &mut Scratch,
    out: &mut Vec<(u32, f64)>,
) -> Result<(), ActivityError> {
    if bins.len() != rates.len() + 1 {
        return Err(ActivityError::Shape(format!(
            "{} bin edges need {} rates, found {}",
            bins.len(),
            bins.len().saturating_sub(1),
            rates.len()
        )));
    }
    if bins.len() < 2 {
        return Err(ActivityError::Shape(
            "at least two bin edges are needed".into(),
        ));
    }
    // xp = [0] + cumsum(diff(bins)·rates), fp = [0] + cumsum(diff(bins)), both sequential sums.
    s.xp.clear();
    s.fp.clear();
    s.xp.push(0.0);
    s.fp.push(0.0);
    let (mut cwr, mut cw) = (0.0f64, 0.0f64);
    let mut max = f64::NEG_INFINITY;
    for i in 0..rates.len() {
        let w = bins[i + 1] - bins[i];
        cwr = if i == 0 {
            w * rates[i]
        } else {
            cwr + w * rates[i]
        };
        cw = if i == 0 { w } else { cw + w };
        max = max.max(cwr);
        s.xp.push(cwr);
        s.fp.push(cw);
    }
    if !max.is_finite() {
        return Err(ActivityError::Shape(format!("cumulative rate is {max}")));
    }
    let size_f = max.ceil() + 1.0;
    if size_f < 0.0 {
        return Err(ActivityError::Shape(format!(
            "negative number of intervals ({size_f}) from rates {rates:?}"
        )));
    }
    if size_f > MAX_SPIKES_PER_CELL as f64 {
        return Err(ActivityError::Runaway(format!(
            "expected spike count {max} is too large"
        )));
    }
    let size = size_f as usize;
    check_budget(out, 0)?;
    s.isi.clear();
    let mut total = 0.0f64;
    loop {
        for _ in 0..size {
            let v = rng.exponential(1000.0);
            total += v;
            s.isi.push(v);
        }
        if total > max || size == 0 {
            break;
        }
    }
    let xp = &s.xp;
    let fp = &s.fp;
    let last = xp.len() - 1;
    let mut t = 0.0f64;
    for (k, &v) in s.isi.iter().enumerate() {
        t = if k == 0 { v } else { t + v };
        // numpy.interp with left = right = NaN (those spikes are dropped).
        if t > xp[last] || t < xp[0] {
            continue;
        }
        let j = xp.partition_point(|&a| a <= t) - 1;
        let y = if j == last || xp[j] == t {
            fp[j]
        } else {
            let slope = (fp[j + 1] - fp[j]) / (xp[j + 1] - xp[j]);
            let mut y = slope * (t - xp[j]) + fp[j];
            if y.is_nan() {
                y = slope * (t - xp[j + 1]) + fp[j + 1];
                if y.is_nan() && fp[j] == fp[j + 1] {
                    y = fp[j];
                }
            }
            y
        };
        out.push((cell, y + bins[0]));
    }
    Ok(())
}

/// numpy's `linspace(0, stop, num)` (endpoint included).
fn linspace_from_zero(stop: f64, num: usize, out: &mut Vec<f64>) {
    out.clear();
    if num == 0 {
        return;
    }
    let div = num - 1;
    if div == 0 {
        out.push(0.0);
        return;
    }
    let step = stop / div as f64;
    for k in 0..num {
        let y = if step == 0.0 {
            k as f64 / div as f64 * stop
        } else {
            k as f64 * step
        };
        out.push(y + 0.0);
    }
    out[div] = stop;
}

impl ActivityGenerator {
    /// Human-readable name as in the parameter file.
    pub fn name(&self) -> &'static str {
        match self {
            ActivityGenerator::SpikeTrain(_) => "spiketrain",
            ActivityGenerator::Psth { .. } => "PSTH",
            ActivityGenerator::PsthAbsoluteNumber { .. } => "PSTH_absolute_number",
            ActivityGenerator::Normal { .. } => "normal",
            ActivityGenerator::Uniform { .. } => "uniform",
            ActivityGenerator::Lognormal { .. } => "lognormal",
            ActivityGenerator::PsthPoissonTrain { .. } => "PSTH_poissontrain",
            ActivityGenerator::PsthPoissonTrainV2 { .. } => "PSTH_poissontrain_v2",
            ActivityGenerator::PoissonTrainModulated { .. } => "poissontrain_modulated",
        }
    }

    /// Draws this generator's spikes for `n_cells` cells, appending `(cell, t_ms)` to `out`.
    pub fn generate(
        &self,
        n_cells: usize,
        t_stop_ms: f64,
        rng: &mut RandomState,
        s: &mut Scratch,
        out: &mut Vec<(u32, f64)>,
    ) -> Result<(), ActivityError> {
        match self {
            ActivityGenerator::SpikeTrain(spec) => {
                // All seeds come from the global stream first; the private streams touch only
                // themselves, so drawing them cell by cell afterwards keeps ISF's order.
                s.seeds.clear();
                for _ in 0..n_cells {
                    s.seeds.push(rng.randint(123_456, 1_234_567)? as u32);
                }
                s.windows.fill(&s.seeds);
                let spare = s.spare.get_or_insert_with(|| Mt19937::new(0));
                for c in 0..s.windows.len() {
                    let mut p = s.windows.stream(c, spare);
                    spike_train(&mut p, spec, t_stop_ms, c as u32, out)?;
                }
            }
            ActivityGenerator::Psth {
                intervals_ms,
                probabilities,
                offset_ms,
            } => {
                for (&(t0, t1), &p) in intervals_ms.iter().zip(probabilities) {
                    draw_active(rng, n_cells, p, s);
                    let base = offset_ms + t0;
                    let width = t1 - t0;
                    for &c in &s.active {
                        out.push((c as u32, base + width * rng.random_sample()));
                    }
                    check_budget(out, 0)?;
                }
            }
            ActivityGenerator::PsthAbsoluteNumber {
                intervals_ms,
                numbers,
                offset_ms,
            } => {
                for (&(t0, t1), &k) in intervals_ms.iter().zip(numbers) {
                    check_budget(out, k)?;
                    let chosen = match rng.choice(n_cells, k, false)? {
                        Some(c) => c,
                        None => {
                            tracing::warn!(
                                "PSTH_absolute_number: {k} active cells requested from {n_cells}; \
                                 drawing with replacement (as ISF does)"
                            );
                            rng.choice(n_cells, k, true)?.expect("with replacement")
                        }
                    };
                    let base = offset_ms + t0;
                    let width = t1 - t0;
                    for c in chosen {
                        out.push((c as u32, base + width * rng.random_sample()));
                    }
                }
            }
            ActivityGenerator::Normal {
                active_frac,
                spike_t_ms,
                spike_width_ms,
                offset_ms,
            } => {
                draw_active(rng, n_cells, *active_frac, s);
                let base = offset_ms + spike_t_ms;
                one_spike_each(out, &s.active, || base + spike_width_ms * rng.gauss());
            }
            ActivityGenerator::Uniform {
                active_frac,
                window_ms,
                offset_ms,
            } => {
                draw_active(rng, n_cells, *active_frac, s);
                one_spike_each(out, &s.active, || {
                    offset_ms + window_ms * rng.random_sample()
                });
            }
            ActivityGenerator::Lognormal {
                active_frac,
                mu,
                sigma,
                offset_ms,
            } => {
                draw_active(rng, n_cells, *active_frac, s);
                one_spike_each(out, &s.active, || offset_ms + rng.lognormal(*mu, *sigma));
            }
            ActivityGenerator::PsthPoissonTrain {
                intervals_ms,
                rates_hz,
            } => {
                for (&(t0, t1), &rate) in intervals_ms.iter().zip(rates_hz) {
                    if rate == 0.0 {
                        continue; // ISF: ZeroDivisionError → bin skipped
                    }
                    let spec = SpikeTrainSpec {
                        interval_ms: 1000.0 / rate,
                        noise: 1.0,
                        start_ms: t0,
                        nspikes: None,
                    };
                    for c in 0..n_cells {
                        let seed = rng.randint(123_456, 1_234_567)? as u32;
                        let p = s.private_rng(seed);
                        spike_train(p, &spec, t1, c as u32, out)?;
                    }
                }
            }
            ActivityGenerator::PsthPoissonTrainV2 { bins_ms, rates_hz } => {
                for c in 0..n_cells {
                    sample_times_from_rates(rng, bins_ms, rates_hz, c as u32, s, out)?;
                }
            }
            ActivityGenerator::PoissonTrainModulated {
                rate_before_offset_hz,
                mean_rate_hz,
                max_modulation,
                modulation_frequency_hz,
                bin_size_ms,
                phase,
                offset_ms,
            } => {
                let duration = t_stop_ms - offset_ms;
                let n_bins_f = (duration / bin_size_ms).ceil();
                // numpy.arange(0, duration + bin_size, bin_size): length ceil(span/step),
                // values i·step; then + offset, first edge 0, last edge tStop.
                let n_edges_f = ((duration + bin_size_ms) / bin_size_ms).ceil();
                if !(n_bins_f >= 1.0 && (2.0..=MAX_MODULATED_BINS as f64).contains(&n_edges_f)) {
                    return Err(ActivityError::Shape(format!(
                        "poissontrain_modulated: duration {duration} ms with bin size \
                         {bin_size_ms} ms gives no bins or more than {MAX_MODULATED_BINS}"
                    )));
                }
                let n_bins = n_bins_f as usize;
                let n_edges = n_edges_f as usize;
                let mut bins: Vec<f64> = (0..n_edges)
                    .map(|i| (i as f64 * bin_size_ms) + offset_ms)
                    .collect();
                bins[0] = 0.0;
                bins[n_edges - 1] = t_stop_ms;
                if n_edges != n_bins + 1 {
                    return Err(ActivityError::Shape(format!(
                        "poissontrain_modulated: {n_edges} bin edges but {n_bins} rates \
                         (numpy cannot broadcast them)"
                    )));
                }
                let cycle = 1000.0 / modulation_frequency_hz;
                let n_cycles = duration / cycle;
                s.phases.clear();
                match phase {
                    PhaseDistribution::Uniform => {
                        let two_pi = 2.0 * std::f64::consts::PI;
                        for _ in 0..n_cells {
                            let v = rng.uniform(0.0, two_pi);
                            s.phases.push(v);
                        }
                    }
                    PhaseDistribution::Normal { mean, std } => {
                        for _ in 0..n_cells {
                            let v = rng.normal(*mean, *std);
                            s.phases.push(v);
                        }
                    }
                    PhaseDistribution::Zero => s.phases.resize(n_cells, 0.0),
                }
                let mut lin = Vec::new();
                linspace_from_zero(2.0 * std::f64::consts::PI * n_cycles, n_bins, &mut lin);
                let phases = std::mem::take(&mut s.phases);
                let mut rates = std::mem::take(&mut s.rates);
                for (c, &ph) in phases.iter().enumerate() {
                    rates.clear();
                    rates.extend(
                        lin.iter()
                            .map(|&l| mean_rate_hz * (1.0 + max_modulation * (l + ph).sin())),
                    );
                    rates[0] = *rate_before_offset_hz;
                    sample_times_from_rates(rng, &bins, &rates, c as u32, s, out)?;
                }
                s.phases = phases;
                s.rates = rates;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn train(
        interval_ms: f64,
        noise: f64,
        start_ms: f64,
        nspikes: Option<usize>,
    ) -> SpikeTrainSpec {
        SpikeTrainSpec {
            interval_ms,
            noise,
            start_ms,
            nspikes,
        }
    }

    #[test]
    fn regular_spike_train_is_exact() {
        // noise 0: first spike at start + interval − interval = start (clipped ≥ 0), then every
        // interval; the last one ≤ stop is kept.
        let mut p = Mt19937::new(1);
        let mut out = Vec::new();
        spike_train(&mut p, &train(10.0, 0.0, 5.0, None), 32.0, 0, &mut out).unwrap();
        let t: Vec<f64> = out.iter().map(|x| x.1).collect();
        assert_eq!(t, [5.0, 15.0, 25.0]);
    }

    #[test]
    fn noise_free_train_from_zero_is_refused() {
        let mut p = Mt19937::new(1);
        let mut out = Vec::new();
        let e = spike_train(&mut p, &train(10.0, 0.0, 0.0, None), 32.0, 0, &mut out).unwrap_err();
        assert!(e.to_string().contains("loop forever"), "{e}");
    }

    #[test]
    fn nspikes_overrides_stop() {
        let mut p = Mt19937::new(1);
        let mut out = Vec::new();
        spike_train(&mut p, &train(10.0, 0.0, 5.0, Some(4)), -1.0, 0, &mut out).unwrap();
        let t: Vec<f64> = out.iter().map(|x| x.1).collect();
        assert_eq!(t, [5.0, 15.0, 25.0, 35.0]);
    }

    #[test]
    fn linspace_matches_numpy_shape() {
        let mut v = Vec::new();
        linspace_from_zero(1.0, 5, &mut v);
        assert_eq!(v, [0.0, 0.25, 0.5, 0.75, 1.0]);
        linspace_from_zero(3.0, 1, &mut v);
        assert_eq!(v, [0.0]);
    }

    #[test]
    fn sample_times_constant_rate_is_identity_warp() {
        // Rate 1e5 on [0, 1] ms: cumulative rate·width = 1e5 (ISF's units: Hz·ms, i.e. unit-rate
        // time in ms); warping maps u to slope·u with slope = 1/1e5, spikes beyond u = 1e5 are
        // dropped. The first block of ceil(1e5)+1 intervals already exceeds 1e5.
        let mut rng = RandomState::new(5);
        let mut s = Scratch::default();
        let mut out = Vec::new();
        sample_times_from_rates(&mut rng, &[0.0, 1.0], &[1e5], 0, &mut s, &mut out).unwrap();
        let mut check = RandomState::new(5);
        let mut t = 0.0;
        let mut want = Vec::new();
        for k in 0..100_001 {
            let v = check.exponential(1000.0);
            t = if k == 0 { v } else { t + v };
            if t <= 1e5 {
                want.push((1.0 - 0.0) / (1e5 - 0.0) * (t - 0.0) + 0.0);
            }
        }
        let got: Vec<f64> = out.iter().map(|x| x.1).collect();
        assert!(!got.is_empty());
        assert_eq!(got, want);
    }
}
