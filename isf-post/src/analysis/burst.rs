//! Burst detection (docs/post.md#burst-detection, ISF's intended algorithm): consecutive somatic
//! spikes belong to the same burst if the voltage of a "hot-zone" recording between them never
//! drops below a cutoff (−55 mV in ISF).

/// One burst: first and last spike time and the number of spikes.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Burst {
    /// Time of the first spike \[ms\].
    pub first_ms: f64,
    /// Time of the last spike \[ms\].
    pub last_ms: f64,
    /// Number of spikes.
    pub count: usize,
}

/// Groups ascending `spikes_ms` into bursts using the hot-zone trace (`t_ms`, `v_hot_mv`): spikes
/// k and k+1 are joined when `min v_hot(t)` over samples with `spike_k ≤ t ≤ spike_{k+1}` is
/// ≥ `cutoff_mv`. Single spikes are bursts of count 1.
pub fn detect_bursts(
    spikes_ms: &[f64],
    t_ms: &[f64],
    v_hot_mv: &[f64],
    cutoff_mv: f64,
) -> Vec<Burst> {
    let mut out: Vec<Burst> = Vec::new();
    for (k, &s) in spikes_ms.iter().enumerate() {
        let joined = k > 0 && {
            let prev = spikes_ms[k - 1];
            let lo = t_ms.partition_point(|&t| t < prev);
            let hi = t_ms.partition_point(|&t| t <= s);
            v_hot_mv[lo..hi.min(v_hot_mv.len())]
                .iter()
                .all(|&v| v >= cutoff_mv)
        };
        match out.last_mut() {
            Some(b) if joined => {
                b.last_ms = s;
                b.count += 1;
            }
            _ => out.push(Burst {
                first_ms: s,
                last_ms: s,
                count: 1,
            }),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bursts_split_where_hot_zone_repolarizes() {
        // Samples every 1 ms; hot zone stays above −55 between spikes at 2 and 4, dips to −60 at
        // t = 6 before the spike at 8.
        let t: Vec<f64> = (0..10).map(f64::from).collect();
        let v = [
            -70.0, -50.0, 10.0, -40.0, 5.0, -50.0, -60.0, -45.0, 0.0, -70.0,
        ];
        let b = detect_bursts(&[2.0, 4.0, 8.0], &t, &v, -55.0);
        assert_eq!(
            b,
            vec![
                Burst {
                    first_ms: 2.0,
                    last_ms: 4.0,
                    count: 2
                },
                Burst {
                    first_ms: 8.0,
                    last_ms: 8.0,
                    count: 1
                }
            ]
        );
        assert!(detect_bursts(&[], &t, &v, -55.0).is_empty());
    }
}
