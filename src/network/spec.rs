//! Interpreting a population's raw `celltype` entry (docs/formats.md#network-parameter-file,
//! docs/models.md#activity-generators) into activity generators, with errors naming the parameter
//! file, line and key.

use super::activity::{
    ActivityGenerator, PhaseDistribution, SpikeTrainSpec, MAX_MODULATED_BINS,
    MAX_SPIKES_PER_POPULATION,
};
use crate::param::{join, Node, ParamError, View};

/// The generators of one population, in the order ISF runs them: a `celltype` string names one
/// generator whose keys are siblings of `celltype`; a dict runs its `pointcell`/`spiketrain`
/// entries in key order.
pub(crate) fn parse_celltype(
    v: &View,
    pop_key: &str,
    pop_node: &Node,
    celltype: &Node,
    t_stop_ms: f64,
) -> Result<Vec<ActivityGenerator>, ParamError> {
    let ct_key = join(pop_key, "celltype");
    if let Some(s) = celltype.as_str() {
        return match s {
            "spiketrain" => Ok(vec![parse_spiketrain(v, pop_key, pop_node, t_stop_ms)?]),
            "pointcell" => Ok(vec![parse_pointcell(v, pop_key, pop_node, t_stop_ms)?]),
            other => Err(v.err(
                celltype,
                &ct_key,
                format!("unknown spike source `{other}` (expected \"spiketrain\", \"pointcell\" or a dict of them)"),
            )),
        };
    }
    let d = v.dict(celltype, &ct_key).map_err(|_| {
        v.err(
            celltype,
            &ct_key,
            format!(
                "expected \"spiketrain\", \"pointcell\" or a dict of them, found {}",
                celltype.type_name()
            ),
        )
    })?;
    let mut out = Vec::new();
    for (name, spec) in d {
        let key = join(&ct_key, name);
        v.dict(spec, &key)?;
        match name.as_str() {
            "spiketrain" => out.push(parse_spiketrain(v, &key, spec, t_stop_ms)?),
            "pointcell" => out.push(parse_pointcell(v, &key, spec, t_stop_ms)?),
            other => {
                return Err(v.err(
                    spec,
                    &key,
                    format!(
                        "unknown spike source `{other}` (expected `spiketrain` or `pointcell`)"
                    ),
                ))
            }
        }
    }
    Ok(out)
}

/// Checks the `pointcell` spec `node` of an activity template (at `key` of its file) as the
/// simulator will read it once `network-param` has set its `offset`; tStop is not known yet, so
/// checks that need it are left to the simulator.
pub(crate) fn check_pointcell_template(
    v: &View,
    key: &str,
    node: &Node,
    offset_ms: f64,
) -> Result<(), ParamError> {
    v.dict(node, key)?;
    let mut with_offset = node.clone();
    if let crate::param::Value::Dict(d) = &mut with_offset.value {
        d.insert(
            "offset".into(),
            Node::new(crate::param::Value::Float(offset_ms)),
        );
    }
    parse_pointcell(v, key, &with_offset, f64::INFINITY).map(|_| ())
}

fn num(v: &View, node: &Node, key: &str, name: &str) -> Result<f64, ParamError> {
    v.finite(v.req(node, key, name)?, &join(key, name))
}

fn opt_num(v: &View, node: &Node, key: &str, name: &str) -> Result<Option<f64>, ParamError> {
    node.get(name)
        .map(|n| v.finite(n, &join(key, name)))
        .transpose()
}

fn num_list(v: &View, node: &Node, key: &str, name: &str) -> Result<Vec<f64>, ParamError> {
    let k = join(key, name);
    let n = v.req(node, key, name)?;
    let items = n.as_seq().ok_or_else(|| {
        v.err(
            n,
            &k,
            format!("expected a list of numbers, found {}", n.type_name()),
        )
    })?;
    items
        .iter()
        .enumerate()
        .map(|(i, x)| v.finite(x, &format!("{k}.{i}")))
        .collect()
}

/// A spike count: a non-negative integer within [`MAX_SPIKES_PER_POPULATION`].
fn count(v: &View, n: &Node, key: &str) -> Result<usize, ParamError> {
    match n.as_i64() {
        Some(i) if i >= 0 && i as u64 <= MAX_SPIKES_PER_POPULATION as u64 => Ok(i as usize),
        Some(i) if i >= 0 => Err(v.err(
            n,
            key,
            format!(
                "{i} spikes is more than the limit of {MAX_SPIKES_PER_POPULATION} per population \
                 and trial"
            ),
        )),
        _ => Err(v.err(
            n,
            key,
            format!("expected a non-negative integer, found {}", n.type_name()),
        )),
    }
}

fn intervals(v: &View, node: &Node, key: &str) -> Result<Vec<(f64, f64)>, ParamError> {
    let k = join(key, "intervals");
    let n = v.req(node, key, "intervals")?;
    let items = n.as_seq().ok_or_else(|| {
        v.err(
            n,
            &k,
            format!(
                "expected a list of (tBegin, tEnd) pairs, found {}",
                n.type_name()
            ),
        )
    })?;
    items
        .iter()
        .enumerate()
        .map(|(i, pair)| {
            let pk = format!("{k}.{i}");
            match pair.as_seq() {
                Some([a, b]) => Ok((v.finite(a, &pk)?, v.finite(b, &pk)?)),
                _ => Err(v.err(pair, &pk, "expected a (tBegin, tEnd) pair")),
            }
        })
        .collect()
}

fn parse_spiketrain(
    v: &View,
    key: &str,
    node: &Node,
    t_stop_ms: f64,
) -> Result<ActivityGenerator, ParamError> {
    let interval_ms = num(v, node, key, "interval")?;
    if interval_ms <= 0.0 {
        return Err(v.err(
            v.req(node, key, "interval")?,
            &join(key, "interval"),
            format!("must be > 0 ms, found {interval_ms}"),
        ));
    }
    // ISF reads `noise` and `start` in one try-block: without `noise`, `start` is ignored.
    let (noise, start_ms) = match opt_num(v, node, key, "noise")? {
        Some(noise) => (noise, opt_num(v, node, key, "start")?.unwrap_or(0.0)),
        None => {
            if node.get("start").is_some() {
                tracing::warn!(
                    "{}: `{key}.start` is ignored because `noise` is absent (as in ISF)",
                    v.file.path.display()
                );
            }
            (1.0, 0.0)
        }
    };
    if !(0.0..=1.0).contains(&noise) {
        return Err(v.err(
            v.req(node, key, "noise")?,
            &join(key, "noise"),
            format!("must be in [0, 1], found {noise}"),
        ));
    }
    let nspikes = node
        .get("nspikes")
        .map(|n| count(v, n, &join(key, "nspikes")))
        .transpose()?;
    if nspikes.is_none() && t_stop_ms < start_ms {
        return Err(v.err(
            node,
            key,
            format!("spike train starts at {start_ms} ms, after tStop {t_stop_ms} ms, and has no `nspikes`"),
        ));
    }
    if nspikes.is_none() && noise == 0.0 && start_ms == 0.0 && t_stop_ms > 0.0 {
        return Err(v.err(
            node,
            key,
            "a noise-free spike train starting at 0 never advances (ISF loops forever)",
        ));
    }
    Ok(ActivityGenerator::SpikeTrain(SpikeTrainSpec {
        interval_ms,
        noise,
        start_ms,
        nspikes,
    }))
}

fn parse_pointcell(
    v: &View,
    key: &str,
    node: &Node,
    t_stop_ms: f64,
) -> Result<ActivityGenerator, ParamError> {
    let dist = match node.get("distribution") {
        Some(n) => v.string(n, &join(key, "distribution"))?,
        None => {
            tracing::warn!(
                "{}: `{key}` has no `distribution`; using \"normal\" (deprecated in ISF)",
                v.file.path.display()
            );
            "normal"
        }
    };
    let g = match dist {
        "PSTH" => {
            let intervals_ms = intervals(v, node, key)?;
            let probabilities = num_list(v, node, key, "probabilities")?;
            if intervals_ms.len() != probabilities.len() {
                return Err(v.err(
                    v.req(node, key, "probabilities")?,
                    &join(key, "probabilities"),
                    format!(
                        "{} probabilities for {} intervals (lengths must match)",
                        probabilities.len(),
                        intervals_ms.len()
                    ),
                ));
            }
            ActivityGenerator::Psth {
                intervals_ms,
                probabilities,
                offset_ms: num(v, node, key, "offset")?,
            }
        }
        "PSTH_absolute_number" => {
            let intervals_ms = intervals(v, node, key)?;
            let nk = join(key, "number_active_synapses");
            let n = v.req(node, key, "number_active_synapses")?;
            let items = n
                .as_seq()
                .ok_or_else(|| v.err(n, &nk, "expected a list of integers"))?;
            let numbers = items
                .iter()
                .enumerate()
                .map(|(i, x)| count(v, x, &format!("{nk}.{i}")))
                .collect::<Result<Vec<_>, _>>()?;
            if intervals_ms.len() != numbers.len() {
                return Err(v.err(
                    n,
                    &nk,
                    format!(
                        "{} numbers for {} intervals (lengths must match)",
                        numbers.len(),
                        intervals_ms.len()
                    ),
                ));
            }
            ActivityGenerator::PsthAbsoluteNumber {
                intervals_ms,
                numbers,
                offset_ms: num(v, node, key, "offset")?,
            }
        }
        "normal" => ActivityGenerator::Normal {
            active_frac: num(v, node, key, "activeFrac")?,
            spike_t_ms: num(v, node, key, "spikeT")?,
            spike_width_ms: num(v, node, key, "spikeWidth")?,
            offset_ms: opt_num(v, node, key, "offset")?.unwrap_or(10.0),
        },
        "uniform" => ActivityGenerator::Uniform {
            active_frac: num(v, node, key, "activeFrac")?,
            window_ms: num(v, node, key, "window")?,
            offset_ms: num(v, node, key, "offset")?,
        },
        "lognormal" => ActivityGenerator::Lognormal {
            active_frac: num(v, node, key, "activeFrac")?,
            mu: num(v, node, key, "mu")?,
            sigma: num(v, node, key, "sigma")?,
            offset_ms: num(v, node, key, "offset")?,
        },
        "PSTH_poissontrain" => {
            let intervals_ms = intervals(v, node, key)?;
            let rates_hz = num_list(v, node, key, "rates")?;
            num(v, node, key, "offset")?; // required by ISF, unused
            let rk = join(key, "rates");
            let rn = v.req(node, key, "rates")?;
            if intervals_ms.len() != rates_hz.len() {
                return Err(v.err(
                    rn,
                    &rk,
                    format!(
                        "{} rates for {} intervals (lengths must match)",
                        rates_hz.len(),
                        intervals_ms.len()
                    ),
                ));
            }
            for (i, (&(a, b), &r)) in intervals_ms.iter().zip(&rates_hz).enumerate() {
                if r < 0.0 {
                    return Err(v.err(rn, &rk, format!("rate {i} is negative ({r} Hz)")));
                }
                if r > 0.0 && b < a {
                    return Err(v.err(
                        rn,
                        &rk,
                        format!("interval {i} ends ({b} ms) before it starts ({a} ms)"),
                    ));
                }
            }
            ActivityGenerator::PsthPoissonTrain {
                intervals_ms,
                rates_hz,
            }
        }
        "PSTH_poissontrain_v2" => {
            let bins_ms = num_list(v, node, key, "bins")?;
            let rates_hz = num_list(v, node, key, "rates")?;
            num(v, node, key, "offset")?; // required by ISF, unused
            check_bins_rates(v, node, key, &bins_ms, &rates_hz)?;
            ActivityGenerator::PsthPoissonTrainV2 { bins_ms, rates_hz }
        }
        "poissontrain_modulated" => {
            let pk = join(key, "phase_distribution");
            let pn = v.req(node, key, "phase_distribution")?;
            let phase = match v.string(pn, &pk)? {
                "uniform" => PhaseDistribution::Uniform,
                "normal" => PhaseDistribution::Normal {
                    mean: num(v, node, key, "mean_phase")?,
                    std: num(v, node, key, "std_phase")?,
                },
                _ => PhaseDistribution::Zero,
            };
            let g = ActivityGenerator::PoissonTrainModulated {
                rate_before_offset_hz: num(v, node, key, "rate_before_t_offset")?,
                mean_rate_hz: num(v, node, key, "mean_rate")?,
                max_modulation: num(v, node, key, "max_modulation")?,
                modulation_frequency_hz: num(v, node, key, "modulation_frequency")?,
                bin_size_ms: num(v, node, key, "bin_size")?,
                phase,
                offset_ms: num(v, node, key, "offset")?,
            };
            // An infinite tStop means not known yet (an activity template): the bins are
            // checked when the network is simulated.
            if let (
                true,
                ActivityGenerator::PoissonTrainModulated {
                    bin_size_ms,
                    offset_ms,
                    ..
                },
            ) = (t_stop_ms.is_finite(), &g)
            {
                let duration = t_stop_ms - offset_ms;
                let n_bins = (duration / bin_size_ms).ceil();
                let n_edges = ((duration + bin_size_ms) / bin_size_ms).ceil();
                if n_edges > MAX_MODULATED_BINS as f64 {
                    return Err(v.err(
                        node,
                        key,
                        format!(
                            "bin_size {bin_size_ms} ms gives {n_edges} bins over tStop − offset = \
                             {duration} ms, more than the limit of {MAX_MODULATED_BINS}"
                        ),
                    ));
                }
                if !(*bin_size_ms > 0.0 && n_bins >= 1.0 && n_edges == n_bins + 1.0) {
                    return Err(v.err(
                        node,
                        key,
                        format!(
                            "bin_size {bin_size_ms} ms does not divide tStop − offset = \
                             {duration} ms into bins the way ISF can use"
                        ),
                    ));
                }
            }
            g
        }
        other => {
            return Err(v.err(
                v.req(node, key, "distribution")?,
                &join(key, "distribution"),
                format!(
                    "unknown spike time distribution `{other}` (known: PSTH, PSTH_absolute_number, \
                     normal, uniform, lognormal, PSTH_poissontrain, PSTH_poissontrain_v2, \
                     poissontrain_modulated)"
                ),
            ))
        }
    };
    Ok(g)
}

fn check_bins_rates(
    v: &View,
    node: &Node,
    key: &str,
    bins: &[f64],
    rates: &[f64],
) -> Result<(), ParamError> {
    let bn = v.req(node, key, "bins")?;
    let bk = join(key, "bins");
    if bins.len() != rates.len() + 1 {
        return Err(v.err(
            bn,
            &bk,
            format!(
                "{} bin edges for {} rates (there must be one edge more than rates)",
                bins.len(),
                rates.len()
            ),
        ));
    }
    if bins.windows(2).any(|w| w[1] < w[0]) {
        return Err(v.err(bn, &bk, "bin edges must not decrease"));
    }
    if let Some(r) = rates.iter().find(|&&r| r < 0.0) {
        return Err(v.err(
            v.req(node, key, "rates")?,
            &join(key, "rates"),
            format!("rates must be ≥ 0 Hz, found {r}"),
        ));
    }
    Ok(())
}
