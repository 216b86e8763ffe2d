//! Temporal, spatio-temporal and grouped binning of activation times
//! (docs/post.md#temporal-binning, docs/post.md#spatio-temporal-binning,
//! docs/post.md#synapse-activation-binning).
//!
//! **Deliberate fix of ISF (docs/post.md#exc-and-inh-labels).** ISF labels a population excitatory
//! when its cell type is in a fixed list that includes `L1`, although L1 populations use the
//! inhibitory `gaba_syn` receptor, and its inhibitory list (`["INH"]`) matches no real population.
//! Here a population is `EXC` or `INH` by its receptor in the network parameter file
//! ([`classify_ei_by_receptors`]: `glutamate_syn` → EXC, `gaba_syn` → INH); without a network file,
//! by cell type with L1 counted as inhibitory ([`classify_ei_by_name`]).

use super::AnalysisError;
use crate::db::Activations;
use ndarray::Array2;
use rayon::prelude::*;
use std::collections::{BTreeMap, HashMap};

/// Most bins one binning computes (`(max − min) / bin` edges): a million, i.e. 1000 s of 1-ms bins.
/// Larger requests are errors before anything is allocated.
pub const MAX_BINS: usize = 1_000_000;

/// Most values (trials × groups × bins, or distance bins × time bins) one binning holds in memory:
/// 2^27 f64 = 1 GiB.
pub const MAX_BINNED_VALUES: usize = 1 << 27;

/// Most spatial bins of a distance grouping or spatio-temporal binning (distances are µm, so this
/// reaches 500 m at 50-µm bins; larger values are damaged data).
pub const MAX_SPATIAL_BINS: usize = 10_000_000;

/// The edges `arange(start, stop, step)` if they number at most `MAX_BINS + 1`, else an error
/// naming `name` (checked before allocating).
fn checked_edges(
    name: &'static str,
    start: f64,
    stop: f64,
    step: f64,
) -> Result<Vec<f64>, AnalysisError> {
    let n = ((stop - start) / step).ceil();
    if !(n <= (MAX_BINS + 1) as f64) {
        return Err(AnalysisError::Limit(format!(
            "{name}: {start} to {stop} ms in steps of {step} ms gives {n} bins; at most \
             {MAX_BINS} are allowed (use wider bins or a shorter time range)"
        )));
    }
    Ok(arange(start, stop, step))
}

/// An error if `n` values exceed [`MAX_BINNED_VALUES`].
fn check_values(what: &str, n: Option<usize>) -> Result<(), AnalysisError> {
    match n {
        Some(n) if n <= MAX_BINNED_VALUES => Ok(()),
        _ => Err(AnalysisError::Limit(format!(
            "{what}: {} values exceed the limit of {MAX_BINNED_VALUES} held in memory (use wider \
             bins, a shorter time range or fewer groups)",
            n.map_or_else(|| "more than 2^64".to_string(), |n| n.to_string())
        ))),
    }
}

/// numpy's `arange(start, stop, step)`.
pub fn arange(start: f64, stop: f64, step: f64) -> Vec<f64> {
    let n = ((stop - start) / step).ceil().max(0.0) as usize;
    (0..n).map(|i| start + i as f64 * step).collect()
}

/// Bin index of `x` for ascending `edges` with numpy's histogram rule (half-open bins, the last
/// one closed), or `None` outside.
#[inline]
pub fn bin_index(x: f64, edges: &[f64]) -> Option<usize> {
    let n = edges.len();
    if n < 2 || !(x >= edges[0] && x <= edges[n - 1]) {
        return None;
    }
    if x == edges[n - 1] {
        return Some(n - 2);
    }
    // Number of edges ≤ x, minus one.
    Some(edges.partition_point(|&e| e <= x) - 1)
}

/// numpy-style histogram of `values` over `edges` (NaN ignored).
pub fn histogram(values: impl Iterator<Item = f64>, edges: &[f64]) -> Vec<f64> {
    let mut counts = vec![0.0; edges.len().saturating_sub(1)];
    for x in values {
        if let Some(i) = bin_index(x, edges) {
            counts[i] += 1.0;
        }
    }
    counts
}

fn check_bin(name: &'static str, v: f64) -> Result<(), AnalysisError> {
    if v > 0.0 && v.is_finite() {
        Ok(())
    } else {
        Err(AnalysisError::Param {
            name,
            value: v.to_string(),
            why: "must be positive and finite",
        })
    }
}

/// Temporal binning of all times of all rows (ISF `temporal_binning_pd`): edges
/// `arange(min, max + bin, bin)` (min/max default to the data range), numpy histogram; `normalize`
/// divides by the number of rows, `rate` by the bin widths. Returns `(edges_ms, counts)`.
pub fn temporal_binning(
    rows: &[&[f64]],
    bin_ms: f64,
    min_time_ms: Option<f64>,
    max_time_ms: Option<f64>,
    normalize: bool,
    rate: bool,
) -> Result<(Vec<f64>, Vec<f64>), AnalysisError> {
    check_bin("bin_ms", bin_ms)?;
    let all = || {
        rows.iter()
            .flat_map(|r| r.iter().copied())
            .filter(|x| !x.is_nan())
    };
    let min = min_time_ms.unwrap_or_else(|| all().fold(f64::INFINITY, f64::min));
    let max = max_time_ms.unwrap_or_else(|| all().fold(f64::NEG_INFINITY, f64::max));
    if !(min.is_finite() && max.is_finite()) {
        return Ok((vec![], vec![]));
    }
    let edges = checked_edges("bin_ms", min, max + bin_ms, bin_ms)?;
    let mut counts = histogram(all(), &edges);
    if normalize && !rows.is_empty() {
        let n = rows.len() as f64;
        counts.iter_mut().for_each(|c| *c /= n);
    }
    if rate {
        for (c, w) in counts.iter_mut().zip(edges.windows(2)) {
            *c /= w[1] - w[0];
        }
    }
    Ok((edges, counts))
}

/// Spatio-temporal binning (ISF `spatiotemporal_binning.universal`): row `r` with soma distance
/// `distances_um[r]` goes to spatial bin `floor(d / spatial_bin)`; its times are histogrammed over
/// `arange(min_time, max_time + Δt, Δt)`. Returns an (n_zbins × n_timebins) array, zbin ascending
/// from 0 to the largest occupied one.
pub fn spatiotemporal_binning(
    distances_um: &[f64],
    rows: &[&[f64]],
    spatial_bin_um: f64,
    min_time_ms: f64,
    max_time_ms: f64,
    time_bin_ms: f64,
) -> Result<Array2<f64>, AnalysisError> {
    check_bin("spatial_bin_um", spatial_bin_um)?;
    check_bin("time_bin_ms", time_bin_ms)?;
    let edges = checked_edges(
        "time_bin_ms",
        min_time_ms,
        max_time_ms + time_bin_ms,
        time_bin_ms,
    )?;
    let nt = edges.len().saturating_sub(1);
    let zbin = |d: f64| (d / spatial_bin_um).floor();
    let max_d = distances_um
        .iter()
        .copied()
        .filter(|d| d.is_finite() && *d >= 0.0)
        .fold(-1.0, f64::max);
    if max_d >= 0.0 && zbin(max_d) >= MAX_SPATIAL_BINS as f64 {
        return Err(AnalysisError::Limit(format!(
            "spatial_bin_um: a soma distance of {max_d} µm in bins of {spatial_bin_um} µm needs \
             more than {MAX_SPATIAL_BINS} spatial bins"
        )));
    }
    let n_z = if max_d >= 0.0 {
        zbin(max_d) as usize + 1
    } else {
        0
    };
    check_values("spatio-temporal binning", n_z.checked_mul(nt))?;
    let mut out = Array2::zeros((n_z, nt));
    for (&d, times) in distances_um.iter().zip(rows) {
        if !(d.is_finite() && d >= 0.0) {
            continue;
        }
        let z = zbin(d) as usize;
        for &t in times.iter() {
            if let Some(i) = bin_index(t, &edges) {
                out[[z, i]] += 1.0;
            }
        }
    }
    Ok(out)
}

/// ISF's excitatory cell types, without `L1` (which uses `gaba_syn`; see the module docs).
pub const EXCITATORY_CELL_TYPES: [&str; 11] = [
    "L2", "L34", "L4py", "L4sp", "L4ss", "L5st", "L5tt", "L6cc", "L6ccinv", "L6ct", "VPM",
];

/// `EXC`/`INH` from the cell type (the part of the population name before `_`).
pub fn classify_ei_by_name(population: &str) -> &'static str {
    let celltype = population.split('_').next().unwrap_or(population);
    if EXCITATORY_CELL_TYPES.contains(&celltype) {
        "EXC"
    } else {
        "INH"
    }
}

/// `EXC`/`INH` from the receptor mechanisms of a population's synapses: only `glutamate_syn` →
/// EXC, only `gaba_syn` → INH; otherwise (none, both, unknown) by name.
pub fn classify_ei_by_receptors(population: &str, receptors: &[&str]) -> &'static str {
    let glu = receptors.iter().any(|r| r.starts_with("glutamate"));
    let gaba = receptors.iter().any(|r| r.starts_with("gaba"));
    match (glu, gaba) {
        (true, false) => "EXC",
        (false, true) => "INH",
        _ => classify_ei_by_name(population),
    }
}

/// A column to group synapse activations by (the names of docs/post.md#synapse-activation-binning).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum GroupBy {
    /// Population name before `_` (`L5tt`).
    CellType,
    /// Population name after `_` (`C2`).
    PresynapticColumn,
    /// `EXC` / `INH` (receptor based, see module docs).
    EI,
    /// `prox` if soma distance < 500 µm, else `dist`.
    Proximal,
    /// `"<50k>to<50k+50>"`, k = floor(distance / 50 µm).
    BinnedSomaDist,
}

impl std::str::FromStr for GroupBy {
    type Err = AnalysisError;
    fn from_str(s: &str) -> Result<Self, AnalysisError> {
        Ok(match s {
            "celltype" => GroupBy::CellType,
            "presynaptic_column" => GroupBy::PresynapticColumn,
            "EI" => GroupBy::EI,
            "proximal" => GroupBy::Proximal,
            "binned_somadist" => GroupBy::BinnedSomaDist,
            other => return Err(AnalysisError::UnknownGroupBy(other.to_string())),
        })
    }
}

impl GroupBy {
    /// ISF's column name.
    pub fn name(self) -> &'static str {
        match self {
            GroupBy::CellType => "celltype",
            GroupBy::PresynapticColumn => "presynaptic_column",
            GroupBy::EI => "EI",
            GroupBy::Proximal => "proximal",
            GroupBy::BinnedSomaDist => "binned_somadist",
        }
    }
    fn uses_distance(self) -> bool {
        matches!(self, GroupBy::Proximal | GroupBy::BinnedSomaDist)
    }
}

/// Grouped 1-ms (or `bin_ms`) binning result: one (n_trials × n_bins) count array per group.
#[derive(Debug, Clone)]
pub struct GroupedBins {
    /// Group-by columns.
    pub group_by: Vec<GroupBy>,
    /// Bin edges \[ms\].
    pub edges_ms: Vec<f64>,
    /// Group labels (one string per group-by column) → counts (trials × bins), sorted by label.
    pub groups: BTreeMap<Vec<String>, Array2<f64>>,
}

/// Bins the activation times of every synapse per trial and group (ISF
/// `synapse_activation_binning.init`, 1-ms bins from 0 to `max_time_ms` by default). Groups absent
/// in a trial get zeros; groups absent in all trials do not appear. Parallel over trials.
pub fn bin_synapse_activations(
    a: &Activations,
    group_by: &[GroupBy],
    bin_ms: f64,
    max_time_ms: f64,
) -> Result<GroupedBins, AnalysisError> {
    check_bin("bin_ms", bin_ms)?;
    check_bin("max_time_ms", max_time_ms)?;
    let edges = checked_edges("bin_ms", 0.0, max_time_ms + bin_ms, bin_ms)?;
    let nb = edges.len() - 1;
    // Labels that depend only on the population, precomputed per population code.
    let pop_labels: Vec<Vec<String>> = a
        .populations
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let (ct, col) = p.split_once('_').unwrap_or((p.as_str(), ""));
            group_by
                .iter()
                .filter(|g| !g.uses_distance())
                .map(|g| match g {
                    GroupBy::CellType => ct.to_string(),
                    GroupBy::PresynapticColumn => col.to_string(),
                    GroupBy::EI => a
                        .population_ei
                        .get(i)
                        .cloned()
                        .unwrap_or_else(|| classify_ei_by_name(p).to_string()),
                    _ => unreachable!("distance groups filtered above"),
                })
                .collect()
        })
        .collect();
    // Population part: dedupe labels to small ids.
    let mut pop_part_ids: HashMap<&Vec<String>, u32> = HashMap::new();
    let pop_part: Vec<u32> = pop_labels
        .iter()
        .map(|l| {
            let n = pop_part_ids.len() as u32;
            *pop_part_ids.entry(l).or_insert(n)
        })
        .collect();
    let uses_prox = group_by.contains(&GroupBy::Proximal);
    let uses_zbin = group_by.contains(&GroupBy::BinnedSomaDist);
    let dist_part = |d: f64| -> u32 {
        let prox = if uses_prox { u32::from(d >= 500.0) } else { 0 };
        let z = if uses_zbin {
            (d / 50.0).floor().max(0.0) as u32
        } else {
            0
        };
        (z << 1) | prox
    };
    // Dense (population part × distance part) cells → group id; the distance part is bounded by
    // the largest soma distance, so the table stays small and lookups are plain indexing.
    let n_pp = pop_part_ids.len().max(1);
    let max_dist = if uses_prox || uses_zbin {
        a.soma_distance_um
            .iter()
            .copied()
            .filter(|d| d.is_finite())
            .fold(0.0, f64::max)
    } else {
        0.0
    };
    if uses_zbin && max_dist / 50.0 >= MAX_SPATIAL_BINS as f64 {
        return Err(AnalysisError::Limit(format!(
            "binned_somadist: a soma distance of {max_dist} µm needs more than {MAX_SPATIAL_BINS} \
             distance bins (damaged synapse_activation?)"
        )));
    }
    let n_dp = dist_part(max_dist) as usize + 2;
    check_values(
        "group table (populations × distance bins)",
        n_pp.checked_mul(n_dp),
    )?;
    let cell_of = |r: usize| -> usize {
        let dp = if uses_prox || uses_zbin {
            let d = a.soma_distance_um[r];
            if d.is_finite() {
                dist_part(d) as usize
            } else {
                0
            }
        } else {
            0
        };
        pop_part[a.population_code[r] as usize] as usize * n_dp + dp
    };
    let used: Vec<bool> = (0..a.n_rows())
        .into_par_iter()
        .fold(
            || vec![false; n_pp * n_dp],
            |mut v, r| {
                v[cell_of(r)] = true;
                v
            },
        )
        .reduce(
            || vec![false; n_pp * n_dp],
            |mut x, y| {
                x.iter_mut().zip(y).for_each(|(a, b)| *a |= b);
                x
            },
        );
    let mut gid = vec![usize::MAX; n_pp * n_dp];
    let mut keys: Vec<u64> = Vec::new();
    for (c, _) in used.iter().enumerate().filter(|(_, &u)| u) {
        gid[c] = keys.len();
        keys.push((((c / n_dp) as u64) << 32) | (c % n_dp) as u64);
    }
    let ng = keys.len();
    let n_trials = a.trial_ids.len();
    check_values(
        "synapse activation binning (trials × groups × bins)",
        n_trials.checked_mul(ng).and_then(|x| x.checked_mul(nb)),
    )?;
    let stride = ng * nb;
    let mut flat = vec![0.0f64; n_trials * stride];
    let (e0, e_last) = (edges[0], edges[nb]);
    if stride > 0 {
        flat.par_chunks_mut(stride)
            .enumerate()
            .for_each(|(trial, out)| {
                for r in a.trial_rows(trial) {
                    let base = gid[cell_of(r)] * nb;
                    for &t in a.row_times(r) {
                        if !(t >= e0 && t <= e_last) {
                            continue;
                        }
                        // Arithmetic guess, corrected against the edges (numpy's rule).
                        let mut i = (((t - e0) / bin_ms) as usize).min(nb - 1);
                        while i > 0 && t < edges[i] {
                            i -= 1;
                        }
                        while i + 1 < nb && t >= edges[i + 1] {
                            i += 1;
                        }
                        out[base + i] += 1.0;
                    }
                }
            });
    }
    // Labels of each group, in group_by order.
    let mut part_labels: Vec<&Vec<String>> = vec![&pop_labels[0]; pop_part_ids.len()];
    for (l, &i) in &pop_part_ids {
        part_labels[i as usize] = l;
    }
    let mut groups = BTreeMap::new();
    for (g, &k) in keys.iter().enumerate() {
        let pl = part_labels[(k >> 32) as usize];
        let dp = (k & 0xffff_ffff) as u32;
        let mut pi = pl.iter();
        let label: Vec<String> = group_by
            .iter()
            .map(|gb| match gb {
                GroupBy::Proximal => if dp & 1 == 1 { "dist" } else { "prox" }.to_string(),
                GroupBy::BinnedSomaDist => {
                    let z = dp >> 1;
                    format!("{}to{}", 50 * z, 50 * z + 50)
                }
                _ => pi.next().cloned().unwrap_or_default(),
            })
            .collect();
        let mut arr = Array2::zeros((n_trials, nb));
        for trial in 0..n_trials {
            let src = &flat[trial * stride + g * nb..trial * stride + (g + 1) * nb];
            arr.row_mut(trial)
                .iter_mut()
                .zip(src)
                .for_each(|(d, s)| *d = *s);
        }
        groups.insert(label, arr);
    }
    Ok(GroupedBins {
        group_by: group_by.to_vec(),
        edges_ms: edges,
        groups,
    })
}

/// Key prefix of binned activations: `synapse_activation_binned/t<bin>/<groupby joined by __>`
/// (ISF layout; `t1` for 1-ms bins).
pub fn binned_key_prefix(group_by: &[GroupBy], bin_ms: f64) -> Vec<String> {
    let names: Vec<&str> = group_by.iter().map(|g| g.name()).collect();
    vec![
        "synapse_activation_binned".to_string(),
        format!("t{bin_ms}"),
        names.join("__"),
    ]
}

/// Bins `synapse_activation` of a database and stores one [`crate::db::Binned`] per group at
/// `binned_key_prefix(..)/<label 1>/<label 2>/…` (nested sub-databases, as ISF). Returns the keys.
pub fn store_synapse_activation_binned(
    database: &crate::db::Database,
    group_by: &[GroupBy],
    bin_ms: f64,
    max_time_ms: f64,
) -> Result<Vec<String>, crate::db::DbError> {
    use crate::db::{key, Activations, KeyMeta, Source, DATA_FILE};
    // Parameters first: a request beyond the limits fails before the activations are read.
    check_bin("bin_ms", bin_ms)?;
    check_bin("max_time_ms", max_time_ms)?;
    checked_edges("bin_ms", 0.0, max_time_ms + bin_ms, bin_ms)?;
    let sa_key = key(&["synapse_activation"]);
    let a = database.get::<Activations>(&sa_key)?;
    let src = Source::of_file(&database.key_dir("synapse_activation").join(DATA_FILE))?;
    let bins = bin_synapse_activations(&a, group_by, bin_ms, max_time_ms)?;
    let prefix = binned_key_prefix(group_by, bin_ms);
    let mut written = Vec::new();
    for (label, counts) in bins.groups {
        let mut k = prefix.clone();
        k.extend(label.iter().cloned());
        let meta = KeyMeta::new(
            "",
            format!(
                "synapse activations per trial and {bin_ms}-ms bin, group {}",
                label.join("/")
            ),
        )
        .param(
            "group_by",
            group_by.iter().map(|g| g.name()).collect::<Vec<_>>(),
        )
        .param("group", label.clone())
        .param("bin_ms", bin_ms)
        .param("max_time_ms", max_time_ms)
        .with_sources(vec![src.clone()]);
        let value = crate::db::Binned {
            trial_ids: a.trial_ids.clone(),
            bin_edges_ms: bins.edges_ms.clone(),
            counts,
        };
        database.set(&k, &value, meta)?;
        written.push(k.join("/"));
    }
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::ActivationsKind;

    #[test]
    fn bin_counts_beyond_the_limits_are_errors_before_allocating() {
        let mut a = Activations::empty(ActivationsKind::Synapse);
        a.trial_ids = vec!["t/000000".into()];
        a.trial_row_offsets = vec![0, 1];
        a.populations = vec!["L5tt_C2".into()];
        a.population_ei = vec!["EXC".into()];
        a.population_code = vec![0];
        a.id = vec![0];
        a.soma_distance_um = vec![100.0];
        a.section_id = vec![1];
        a.section_pt_id = vec![0];
        a.labels = vec!["Dendrite".into()];
        a.label_code = vec![0];
        a.time_offsets = vec![0, 1];
        a.times_ms = vec![5.0];
        let err = |r: Result<GroupedBins, AnalysisError>| r.unwrap_err().to_string();
        let e = err(bin_synapse_activations(&a, &[GroupBy::EI], 1e-9, 400.0));
        assert!(e.contains("bin_ms") && e.contains("at most 1000000"), "{e}");
        let e = err(bin_synapse_activations(&a, &[GroupBy::EI], 1.0, 1e12));
        assert!(e.contains("at most 1000000"), "{e}");
        // Within the bin limit but too many values over all trials.
        a.trial_ids = (0..200).map(|i| format!("t/{i:06}")).collect();
        a.trial_row_offsets = std::iter::once(0)
            .chain(std::iter::repeat_n(1, 200))
            .collect();
        let e = err(bin_synapse_activations(&a, &[GroupBy::EI], 1.0, 999_999.0));
        assert!(e.contains("exceed the limit"), "{e}");
        // A damaged soma distance cannot blow up the distance groups.
        a.soma_distance_um = vec![1e300];
        let e = err(bin_synapse_activations(
            &a,
            &[GroupBy::BinnedSomaDist],
            1.0,
            10.0,
        ));
        assert!(
            e.contains("binned_somadist") && e.contains("distance bins"),
            "{e}"
        );
        let rows: Vec<&[f64]> = vec![&[1.0]];
        let e = spatiotemporal_binning(&[1e300], &rows, 50.0, 0.0, 10.0, 1.0)
            .unwrap_err()
            .to_string();
        assert!(e.contains("spatial bins"), "{e}");
        let e = temporal_binning(&rows, 1e-12, Some(0.0), Some(1e3), false, false)
            .unwrap_err()
            .to_string();
        assert!(e.contains("at most 1000000"), "{e}");
        // Within the limits all is as before.
        a.soma_distance_um = vec![100.0];
        let b = bin_synapse_activations(&a, &[GroupBy::EI], 1.0, 10.0).unwrap();
        assert_eq!(b.edges_ms.len(), 11);
    }

    #[test]
    fn temporal_binning_spec_example() {
        // docs/post.md#temporal-binning: '1':[1,5,10], '2':[15,1,30], '3':[NaN,1,45]; size 10, min
        // 0 → borders [0,10,20,30,40,50], counts [4,2,0,1,1]; normalized ÷3 (three rows).
        let r0 = [1.0, 15.0, f64::NAN];
        let r1 = [5.0, 1.0, 1.0];
        let r2 = [10.0, 30.0, 45.0];
        let rows: Vec<&[f64]> = vec![&r0, &r1, &r2];
        let (b, c) = temporal_binning(&rows, 10.0, Some(0.0), None, false, false).unwrap();
        assert_eq!(b, vec![0.0, 10.0, 20.0, 30.0, 40.0, 50.0]);
        assert_eq!(c, vec![4.0, 2.0, 0.0, 1.0, 1.0]);
        let (_, cn) = temporal_binning(&rows, 10.0, Some(0.0), None, true, false).unwrap();
        assert_eq!(cn, vec![4.0 / 3.0, 2.0 / 3.0, 0.0, 1.0 / 3.0, 1.0 / 3.0]);
        let (_, cr) = temporal_binning(&rows, 10.0, Some(0.0), None, false, true).unwrap();
        assert_eq!(cr, vec![0.4, 0.2, 0.0, 0.1, 0.1]);
    }

    #[test]
    fn spatiotemporal_binning_spec_example() {
        // docs/post.md#spatio-temporal-binning: distances [0,0,1,4,5,5.3,5.4]; rows of times; bins
        // (5, 0, 30, 5) → [[0,0,6,1,0,1],[0,0,0,0,4,2]].
        let nan = f64::NAN;
        let d = [0.0, 0.0, 1.0, 4.0, 5.0, 5.3, 5.4];
        let t: [[f64; 3]; 7] = [
            [10.0, 15.0, nan],
            [nan, nan, nan],
            [10.0, 11.0, 11.5],
            [11.0, 12.0, 30.0],
            [20.0, 21.0, nan],
            [20.0, 30.0, nan],
            [20.0, 30.0, nan],
        ];
        let rows: Vec<&[f64]> = t.iter().map(|r| &r[..]).collect();
        let out = spatiotemporal_binning(&d, &rows, 5.0, 0.0, 30.0, 5.0).unwrap();
        let expected = ndarray::arr2(&[
            [0.0, 0.0, 6.0, 1.0, 0.0, 1.0],
            [0.0, 0.0, 0.0, 0.0, 4.0, 2.0],
        ]);
        assert_eq!(out, expected);
    }

    #[test]
    fn ei_fix_l1_is_inhibitory() {
        assert_eq!(classify_ei_by_name("L1_C2"), "INH");
        assert_eq!(classify_ei_by_name("L5tt_C2"), "EXC");
        assert_eq!(classify_ei_by_name("SymLocal1_C2"), "INH");
        assert_eq!(classify_ei_by_receptors("L1_C2", &["gaba_syn"]), "INH");
        assert_eq!(
            classify_ei_by_receptors("Foo_C2", &["glutamate_syn"]),
            "EXC"
        );
    }

    fn toy() -> Activations {
        // Two trials. Trial 0: L5tt_C2 syn at 100 µm with times [0.5, 1.5], L1_C2 at 600 µm [1.2];
        // trial 1: L5tt_C2 at 700 µm [2.0 (= last edge → last bin)], and 5.0 (outside).
        let mut a = Activations::empty(ActivationsKind::Synapse);
        a.trial_ids = vec!["a".into(), "b".into()];
        a.trial_row_offsets = vec![0, 2, 3];
        a.populations = vec!["L1_C2".into(), "L5tt_C2".into()];
        a.population_ei = vec!["INH".into(), "EXC".into()];
        a.population_code = vec![1, 0, 1];
        a.id = vec![0, 1, 2];
        a.soma_distance_um = vec![100.0, 600.0, 700.0];
        a.section_id = vec![1, 2, 3];
        a.section_pt_id = vec![0, 0, 0];
        a.labels = vec!["ApicalDendrite".into()];
        a.label_code = vec![0, 0, 0];
        a.time_offsets = vec![0, 2, 3, 5];
        a.times_ms = vec![0.5, 1.5, 1.2, 2.0, 5.0];
        a
    }

    #[test]
    fn grouped_binning_by_ei_and_proximal() {
        let a = toy();
        let g = bin_synapse_activations(&a, &[GroupBy::EI], 1.0, 2.0).unwrap();
        assert_eq!(g.edges_ms, vec![0.0, 1.0, 2.0]);
        let exc = &g.groups[&vec!["EXC".to_string()]];
        let inh = &g.groups[&vec!["INH".to_string()]];
        assert_eq!(exc, &ndarray::arr2(&[[1.0, 1.0], [0.0, 1.0]]));
        assert_eq!(inh, &ndarray::arr2(&[[0.0, 1.0], [0.0, 0.0]]));
        let g = bin_synapse_activations(&a, &[GroupBy::EI, GroupBy::Proximal], 1.0, 2.0).unwrap();
        let names: Vec<String> = g.groups.keys().map(|k| k.join("/")).collect();
        assert_eq!(names, vec!["EXC/dist", "EXC/prox", "INH/dist"]);
        let g = bin_synapse_activations(&a, &[GroupBy::BinnedSomaDist], 1.0, 2.0).unwrap();
        let names: Vec<String> = g.groups.keys().map(|k| k.join("/")).collect();
        assert_eq!(names, vec!["100to150", "600to650", "700to750"]);
    }

    #[test]
    fn grouped_binning_agrees_with_numpy_histogram() {
        // Times on and between 0.1-ms edges (which are not exactly representable): the fast
        // arithmetic bin guess must agree with the edge-based rule for every value.
        let mut a = toy();
        a.times_ms = (0..5).map(|i| i as f64 * 0.1).collect();
        a.times_ms
            .extend([0.30000000000000004, 0.29999999999999993, 0.2, 0.7, 0.5]);
        a.time_offsets = vec![0, 4, 5, 10];
        let g = bin_synapse_activations(&a, &[GroupBy::BinnedSomaDist], 0.1, 0.5).unwrap();
        for trial in 0..2 {
            let all: Vec<f64> = a
                .trial_rows(trial)
                .flat_map(|r| a.row_times(r).to_vec())
                .collect();
            let want = histogram(all.into_iter(), &g.edges_ms);
            let mut got = vec![0.0; want.len()];
            for c in g.groups.values() {
                got.iter_mut().zip(c.row(trial)).for_each(|(x, y)| *x += y);
            }
            assert_eq!(got, want, "trial {trial}");
        }
    }
}
