//! ISF's `network_modify_functions`, checked when the network parameter file is read and applied
//! to each drawn trial by [`super::Network`], which knows where the synapses sit
//! (docs/models.md#network-realization step 5).

use crate::param::{join, NetworkParams, ParamError, View};

/// A checked network modify function.
#[derive(Debug, Clone, PartialEq)]
pub enum NetworkModifyFunction {
    /// `silence_synapses_by_somadist(soma_dist_ranges={population: [min, max]})`: synapses of
    /// the population whose synaptic soma distance d satisfies `min ≤ d < max` are disconnected.
    SilenceSynapsesBySomadist {
        /// `(population index, min µm, max µm)`, in file order.
        ranges: Vec<(usize, f64, f64)>,
    },
}

/// Names of the functions isf implements.
pub const KNOWN: &[&str] = &["silence_synapses_by_somadist"];

pub(crate) fn parse(
    v: &View,
    params: &NetworkParams,
    population_names: &[&str],
) -> Result<Vec<NetworkModifyFunction>, ParamError> {
    let base = "network.network_modify_functions";
    let mut out = Vec::new();
    for (name, kwargs) in &params.network_modify_functions {
        let key = join(base, name);
        match name.as_str() {
            "silence_synapses_by_somadist" => {
                let rk = join(&key, "soma_dist_ranges");
                let ranges_node = v.req(kwargs, &key, "soma_dist_ranges")?;
                let mut ranges = Vec::new();
                for (pop, r) in v.dict(ranges_node, &rk)? {
                    let pk = join(&rk, pop);
                    let Some(pi) = population_names.iter().position(|p| *p == pop.as_str()) else {
                        return Err(v.err(r, &pk, format!("no population `{pop}` in the network")));
                    };
                    match r.as_seq() {
                        Some([a, b]) => ranges.push((pi, v.finite(a, &pk)?, v.finite(b, &pk)?)),
                        _ => {
                            return Err(v.err(
                                r,
                                &pk,
                                "expected a [min, max] pair of distances in µm",
                            ))
                        }
                    }
                }
                out.push(NetworkModifyFunction::SilenceSynapsesBySomadist { ranges });
            }
            other => {
                let node = params
                    .file
                    .get_path(base)
                    .and_then(|n| n.get(other))
                    .unwrap_or(kwargs);
                return Err(v.err(
                    node,
                    &key,
                    format!(
                        "unknown network modify function `{other}` (known: {})",
                        KNOWN.join(", ")
                    ),
                ));
            }
        }
    }
    Ok(out)
}
