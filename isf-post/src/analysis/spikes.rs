//! Threshold-crossing spike detection and PSTHs (docs/models.md#spike-detection,
//! docs/post.md#spike-detection).

use super::AnalysisError;

/// Upward threshold crossings: `t[i]` for every `i ≥ 1` with `v[i−1] < θ ≤ v[i]` (ISF's rule; soma
/// 0 mV, dendrites −30 mV).
pub fn upward_crossings(t_ms: &[f64], v_mv: &[f64], threshold_mv: f64) -> Vec<f64> {
    let n = t_ms.len().min(v_mv.len());
    (1..n)
        .filter(|&i| v_mv[i - 1] < threshold_mv && v_mv[i] >= threshold_mv)
        .map(|i| t_ms[i])
        .collect()
}

/// The same crossings, timed by linear interpolation between the two samples that bracket the
/// threshold (sub-step precision; one value per crossing of [`upward_crossings`]).
pub fn upward_crossings_interpolated(t_ms: &[f64], v_mv: &[f64], threshold_mv: f64) -> Vec<f64> {
    let n = t_ms.len().min(v_mv.len());
    (1..n)
        .filter(|&i| v_mv[i - 1] < threshold_mv && v_mv[i] >= threshold_mv)
        .map(|i| {
            let frac = (threshold_mv - v_mv[i - 1]) / (v_mv[i] - v_mv[i - 1]);
            t_ms[i - 1] + frac * (t_ms[i] - t_ms[i - 1])
        })
        .collect()
}

/// Whether any spike lies in `[tmin, tmax)`.
pub fn spike_in_interval(spikes_ms: &[f64], tmin_ms: f64, tmax_ms: f64) -> bool {
    spikes_ms.iter().any(|&t| tmin_ms <= t && t < tmax_ms)
}

/// Peri-stimulus time histogram: spikes of all trials pooled into bins of `bin_ms` over
/// `[t_begin, t_end]`, divided by the number of trials (spikes per trial per bin). With `aligned`
/// the bin edges are multiples of `bin_ms` (first edge `floor(t_begin/bin)·bin`). Returns
/// `(edges_ms, spikes_per_trial)`.
pub fn psth(
    trials: &[&[f64]],
    bin_ms: f64,
    t_begin_ms: f64,
    t_end_ms: f64,
    aligned: bool,
) -> Result<(Vec<f64>, Vec<f64>), AnalysisError> {
    if !(bin_ms > 0.0 && bin_ms.is_finite()) {
        return Err(AnalysisError::Param {
            name: "bin_ms",
            value: bin_ms.to_string(),
            why: "must be positive and finite",
        });
    }
    if !(t_end_ms > t_begin_ms) {
        return Err(AnalysisError::Param {
            name: "t_end_ms",
            value: t_end_ms.to_string(),
            why: "must exceed t_begin_ms",
        });
    }
    let start = if aligned {
        (t_begin_ms / bin_ms).floor() * bin_ms
    } else {
        t_begin_ms
    };
    let n_bins = ((t_end_ms - start) / bin_ms).ceil().max(1.0) as usize;
    let edges: Vec<f64> = (0..=n_bins).map(|k| start + k as f64 * bin_ms).collect();
    let mut counts = histogram(
        trials
            .iter()
            .flat_map(|t| t.iter().copied())
            .filter(|&t| t >= t_begin_ms && t <= t_end_ms),
        &edges,
    );
    let n = trials.len().max(1) as f64;
    counts.iter_mut().for_each(|c| *c /= n);
    Ok((edges, counts))
}

use super::binning::histogram;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spec_examples() {
        // docs/post.md#spike-detection: simple_spike_detection([0..6], [-5,-4,-3,-2,-1,0,1]) ==
        // [5]; threshold −2 → [3].
        let t: Vec<f64> = (0..7).map(f64::from).collect();
        let v = [-5.0, -4.0, -3.0, -2.0, -1.0, 0.0, 1.0];
        assert_eq!(upward_crossings(&t, &v, 0.0), vec![5.0]);
        assert_eq!(upward_crossings(&t, &v, -2.0), vec![3.0]);
        // Interpolated: v crosses −2.5 halfway between t=2 (v=−3) and t=3 (v=−2).
        assert_eq!(upward_crossings_interpolated(&t, &v, -2.5), vec![2.5]);
        // A value exactly at threshold after one below counts once; staying above does not re-trigger.
        let v2 = [-1.0, 0.0, 0.5, 0.0, -1.0, 0.0];
        assert_eq!(upward_crossings(&t[..6], &v2, 0.0), vec![1.0, 5.0]);
    }

    #[test]
    fn interval_is_half_open() {
        let s = [255.0, 265.0];
        assert!(spike_in_interval(&s, 255.0, 265.0));
        assert!(!spike_in_interval(&[265.0], 255.0, 265.0));
    }

    #[test]
    fn psth_pools_and_divides_by_trials() {
        let a = [1.0, 2.5, 7.0];
        let b = [2.0, 9.9];
        let (edges, p) = psth(&[&a, &b], 5.0, 0.0, 10.0, true).unwrap();
        assert_eq!(edges, vec![0.0, 5.0, 10.0]);
        // bin [0,5): 1, 2.5, 2 → 3 spikes / 2 trials; bin [5,10]: 7, 9.9 → 2 / 2.
        assert_eq!(p, vec![1.5, 1.0]);
        assert!(psth(&[&a], 0.0, 0.0, 1.0, true).is_err());
    }
}
