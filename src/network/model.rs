//! The static network of one postsynaptic cell (populations, activity specs, synapse
//! realization, connectivity, receptors) and the per-trial draw that turns it into a
//! [`TrialInput`] (docs/models.md#network-realization).
//!
//! Everything that does not depend on the random stream is read and checked once in
//! [`NetworkModel::from_params`]; [`NetworkModel::draw_trial`] only draws.

use super::activity::{ActivityGenerator, Scratch};
use super::files::{Connection, ConnectionMap, SynapseLocation, SynapseRealization};
use super::rng::RandomState;
use super::spec::parse_celltype;
use super::trial_input::{ActiveSynapse, CellSpikes, TrialInput};
use super::NetworkError;
use crate::param::{join, NetworkParams, ReleaseProb, View};
use indexmap::IndexMap;
use std::path::{Path, PathBuf};

/// Receptor point processes that take a NEURON `Random` via `setRNG` and therefore work with
/// `releaseProb: "dynamic"` (ISF's `ProbAMPANMDA2`, `ProbUDFsyn2`).
pub const DYNAMIC_RELEASE_RECEPTORS: &[&str] = &["ProbAMPANMDA2", "ProbUDFsyn2"];

/// How a presynaptic spike becomes a release (docs/models.md#release).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Release {
    /// Independent release with this probability (one `rand()` per spike).
    Probability(f64),
    /// Every spike releases; the receptor's own stochastic release is seeded with
    /// `int(1e6·rand())` drawn after activation.
    Dynamic,
    /// Every spike releases, no draws.
    Always,
}

/// A receptor of a population's synapses (docs/models.md#weights-and-receptors).
#[derive(Debug, Clone)]
pub struct Receptor {
    /// Point-process mechanism name (`glutamate_syn`, `gaba_syn`, …).
    pub name: String,
    /// NetCon threshold.
    pub threshold: f64,
    /// NetCon delay \[ms\].
    pub delay_ms: f64,
    /// Mean NetCon weights per slot (for `glutamate_syn`: AMPA, NMDA peak conductance \[nS\]).
    pub weight: Vec<f64>,
    /// Whether each weight is drawn from a lognormal with mean w and standard deviation w².
    pub lognormal_weights: bool,
    /// Parameters assigned to every instance, in file order.
    pub parameters: IndexMap<String, f64>,
}

/// One presynaptic population of the static network.
#[derive(Debug, Clone)]
pub struct PopulationModel {
    /// Population name (`L5tt_C2`).
    pub name: String,
    /// Number of presynaptic cells (all get activity).
    pub cell_nr: usize,
    /// Activity generators in ISF's order.
    pub generators: Vec<ActivityGenerator>,
    /// Release rule.
    pub release: Release,
    /// Receptors in file order.
    pub receptors: Vec<Receptor>,
    /// Synapse locations by synapse ID (from the `.syn` file).
    pub synapses: Vec<SynapseLocation>,
    /// `.syn` file the locations come from (for errors).
    pub synapse_file: PathBuf,
    /// `.con` lines of this population in file order (empty if the file lists none).
    pub connections: Vec<Connection>,
    /// Number of weight values per synapse (sum of receptor slots).
    pub weights_per_synapse: usize,
}

/// The static network: populations in network-parameter order, plus the modify functions.
#[derive(Debug, Clone)]
pub struct NetworkModel {
    /// Populations in parameter-file order (the order of ISF's random draws).
    pub populations: Vec<PopulationModel>,
    /// Simulation end \[ms\] (spike trains stop there).
    pub t_stop_ms: f64,
    /// `network_modify_functions`, checked.
    pub modify_functions: Vec<super::modify::NetworkModifyFunction>,
    /// The network parameter file (named in errors found while drawing).
    pub param_file: PathBuf,
}

fn cached<'a, T>(
    cache: &'a mut Vec<(PathBuf, T)>,
    path: &Path,
    read: impl FnOnce(&Path) -> Result<T, NetworkError>,
) -> Result<&'a T, NetworkError> {
    if let Some(i) = cache.iter().position(|(p, _)| p == path) {
        return Ok(&cache[i].1);
    }
    let v = read(path)?;
    cache.push((path.to_path_buf(), v));
    Ok(&cache.last().expect("just pushed").1)
}

impl NetworkModel {
    /// Reads every population's activity spec, `.syn` and `.con` files, and checks them.
    /// `t_stop_ms` is ISF's `sim.tStop` after the command-line override.
    pub fn from_params(params: &NetworkParams, t_stop_ms: f64) -> Result<Self, NetworkError> {
        let v = View { file: &params.file };
        let net = params.file.root.get("network");
        let mut syn_files: Vec<(PathBuf, SynapseRealization)> = Vec::new();
        let mut con_files: Vec<(PathBuf, ConnectionMap)> = Vec::new();
        // ISF maps all populations of every distribution file, the first file naming a
        // population winning; remember which file provided each population's synapses.
        let mut syn_source: IndexMap<String, usize> = IndexMap::new();
        for pop in &params.populations {
            let path = &pop.synapses.distribution_file;
            if !path.exists() {
                let node = net
                    .and_then(|n| n.get(&pop.name))
                    .and_then(|n| n.get("synapses"))
                    .and_then(|n| n.get("distributionFile"));
                let key = format!("network.{}.synapses.distributionFile", pop.name);
                let msg = format!(
                    "synapse distribution file `{}` does not exist",
                    path.display()
                );
                return Err(match node {
                    Some(n) => v.err(n, &key, msg).into(),
                    None => NetworkError::Missing(msg),
                });
            }
            let before = syn_files.len();
            cached(&mut syn_files, path, SynapseRealization::read)?;
            if syn_files.len() > before {
                let idx = syn_files.len() - 1;
                for name in syn_files[idx].1.populations.keys() {
                    syn_source.entry(name.clone()).or_insert(idx);
                }
            }
        }
        let mut populations = Vec::with_capacity(params.populations.len());
        for pop in &params.populations {
            let key = format!("network.{}", pop.name);
            let pop_node = net.and_then(|n| n.get(&pop.name)).ok_or_else(|| {
                NetworkError::Missing(format!("population `{}` has no entry", pop.name))
            })?;
            let generators = parse_celltype(&v, &key, pop_node, &pop.celltype, t_stop_ms)?;
            let syn_node = pop_node.get("synapses").unwrap_or(pop_node);
            let release = match pop.synapses.release_prob {
                ReleaseProb::Fixed(p) => Release::Probability(p),
                ReleaseProb::Always => Release::Always,
                ReleaseProb::Dynamic => {
                    for r in &pop.synapses.receptors {
                        if !DYNAMIC_RELEASE_RECEPTORS.contains(&r.name.as_str()) {
                            let n = syn_node.get("releaseProb").unwrap_or(syn_node);
                            return Err(v
                                .err(
                                    n,
                                    &join(&key, "synapses.releaseProb"),
                                    format!(
                                        "\"dynamic\" release needs receptors with their own \
                                         stochastic release ({}); `{}` has none",
                                        DYNAMIC_RELEASE_RECEPTORS.join(", "),
                                        r.name
                                    ),
                                )
                                .into());
                        }
                    }
                    Release::Dynamic
                }
            };
            let mut receptors = Vec::new();
            for r in &pop.synapses.receptors {
                let lognormal_weights = match r.weight_distribution.as_deref() {
                    None => false,
                    Some("lognormal") => {
                        // The draw squares the mean twice (std = w², then std²/w²): beyond
                        // ~1e77 that overflows and every weight would be NaN.
                        if let Some(w) = r
                            .weight
                            .iter()
                            .find(|&&w| w <= 0.0 || !(w * w * w * w).is_finite())
                        {
                            let rk = format!("{key}.synapses.receptors.{}.weight", r.name);
                            let n = syn_node
                                .get("receptors")
                                .and_then(|n| n.get(&r.name))
                                .unwrap_or(syn_node);
                            return Err(v
                                .err(
                                    n,
                                    &rk,
                                    format!(
                                        "lognormal weights need means > 0 (and below 1e76), \
                                         found {w}"
                                    ),
                                )
                                .into());
                        }
                        true
                    }
                    Some(other) => {
                        let rk = format!("{key}.synapses.receptors.{}.weightDistribution", r.name);
                        let n = syn_node
                            .get("receptors")
                            .and_then(|n| n.get(&r.name))
                            .and_then(|n| n.get("weightDistribution"))
                            .unwrap_or(syn_node);
                        return Err(v
                            .err(
                                n,
                                &rk,
                                format!("unknown weight distribution `{other}` (known: lognormal)"),
                            )
                            .into());
                    }
                };
                receptors.push(Receptor {
                    name: r.name.clone(),
                    threshold: r.threshold,
                    delay_ms: r.delay_ms,
                    weight: r.weight.clone(),
                    lognormal_weights,
                    parameters: r.parameters.clone(),
                });
            }
            let weights_per_synapse = receptors.iter().map(|r| r.weight.len()).sum();

            let con_path = &pop.synapses.connection_file;
            if !con_path.exists() {
                let n = syn_node.get("connectionFile").unwrap_or(syn_node);
                return Err(v
                    .err(
                        n,
                        &join(&key, "synapses.connectionFile"),
                        format!("connection file `{}` does not exist", con_path.display()),
                    )
                    .into());
            }
            let con = cached(&mut con_files, con_path, ConnectionMap::read)?;
            let con_last_line = con.last_line;
            let connections = con.populations.get(&pop.name).cloned().unwrap_or_default();
            let (synapses, synapse_file) = match syn_source.get(&pop.name) {
                Some(&i) => (
                    syn_files[i].1.populations[&pop.name].clone(),
                    syn_files[i].0.clone(),
                ),
                None => {
                    // ISF skips such a population; with cells it is more likely a misspelt name.
                    if pop.cell_nr > 0 {
                        tracing::warn!(
                            "{}: population `{}` has {} cells but no synapses in {}; it is not \
                             connected (as in ISF)",
                            params.file.path.display(),
                            pop.name,
                            pop.cell_nr,
                            pop.synapses.distribution_file.display()
                        );
                    }
                    (Vec::new(), pop.synapses.distribution_file.clone())
                }
            };
            // Check every line now, so that a trial cannot fail half-way.
            let mut seen = vec![0usize; synapses.len()];
            for c in &connections {
                if c.cell_id >= pop.cell_nr {
                    return Err(NetworkError::Syntax {
                        path: con_path.clone(),
                        line: c.line,
                        msg: format!(
                            "cell ID {} of `{}` but the population has cellNr = {}",
                            c.cell_id, pop.name, pop.cell_nr
                        ),
                    });
                }
                if c.synapse_id >= synapses.len() {
                    return Err(NetworkError::Syntax {
                        path: con_path.clone(),
                        line: c.line,
                        msg: format!(
                            "synapse ID {} of `{}` but `{}` has {} synapses of that type",
                            c.synapse_id,
                            pop.name,
                            synapse_file.display(),
                            synapses.len()
                        ),
                    });
                }
                if seen[c.synapse_id] != 0 {
                    return Err(NetworkError::Syntax {
                        path: con_path.clone(),
                        line: c.line,
                        msg: format!(
                            "synapse {} of `{}` is already connected on line {}",
                            c.synapse_id, pop.name, seen[c.synapse_id]
                        ),
                    });
                }
                seen[c.synapse_id] = c.line;
            }
            // ISF's `.con` files list every synapse of the `.syn` once; a synapse without a line
            // would silently never be activated (a truncated or mismatched file).
            if let Some(missing) = seen.iter().position(|&l| l == 0) {
                let connected = seen.iter().filter(|&&l| l != 0).count();
                return Err(NetworkError::Syntax {
                    path: con_path.clone(),
                    line: connections.last().map_or(con_last_line, |c| c.line),
                    msg: format!(
                        "`{}` connects {connected} of the {} synapses in {}; synapse {missing} \
                         ({}:{}) has no line (truncated file, or made for another .syn?)",
                        pop.name,
                        synapses.len(),
                        synapse_file.display(),
                        synapse_file.display(),
                        synapses[missing].line
                    ),
                });
            }
            populations.push(PopulationModel {
                name: pop.name.clone(),
                cell_nr: pop.cell_nr,
                generators,
                release,
                receptors,
                synapses,
                synapse_file,
                connections,
                weights_per_synapse,
            });
        }
        // A `.con` population that no `.syn` knows is a misspelt or foreign entry.
        for (con_path, con) in &con_files {
            for (name, conns) in &con.populations {
                if !syn_source.contains_key(name) {
                    let syns: Vec<String> = syn_files
                        .iter()
                        .map(|(p, _)| p.display().to_string())
                        .collect();
                    return Err(NetworkError::Syntax {
                        path: con_path.clone(),
                        line: conns.first().map_or(con.last_line, |c| c.line),
                        msg: format!(
                            "unknown population `{name}`: it has no synapses in {}",
                            syns.join(", ")
                        ),
                    });
                }
            }
        }
        let names: Vec<&str> = populations.iter().map(|p| p.name.as_str()).collect();
        let modify_functions = super::modify::parse(&v, params, &names)?;
        Ok(NetworkModel {
            param_file: params.file.path.clone(),
            populations,
            t_stop_ms,
            modify_functions,
        })
    }

    /// Index of a population by name.
    pub fn population_index(&self, name: &str) -> Option<usize> {
        self.populations.iter().position(|p| p.name == name)
    }

    /// Draws one trial (ISF's `create_saved_network2` without the modify functions, which need
    /// the mapped synapses: see [`super::Network::draw_trial`]), continuing the stream `rng`.
    pub fn draw_trial(
        &self,
        rng: &mut RandomState,
        scratch: &mut TrialScratch,
    ) -> Result<TrialInput, NetworkError> {
        let mut trial = TrialInput::default();
        // Step 3: activity, population by population, generator by generator.
        for pop in &self.populations {
            scratch.pairs.clear();
            for g in &pop.generators {
                g.generate(
                    pop.cell_nr,
                    self.t_stop_ms,
                    rng,
                    &mut scratch.activity,
                    &mut scratch.pairs,
                )
                .map_err(|e| NetworkError::Activity {
                    file: self.param_file.clone(),
                    population: pop.name.clone(),
                    generator: g.name(),
                    source: e,
                })?;
            }
            trial
                .presynaptic
                .push(CellSpikes::from_pairs(pop.cell_nr, &scratch.pairs));
        }
        // Step 4: connect in .con order; weights, release draws, activation.
        for (pi, pop) in self.populations.iter().enumerate() {
            let spikes = &trial.presynaptic[pi];
            for c in &pop.connections {
                let w0 = trial.weights.len();
                for r in &pop.receptors {
                    for &mean in &r.weight {
                        let w = if r.lognormal_weights {
                            let std = mean * mean;
                            let sigma = (1.0 + std * std / (mean * mean)).ln().sqrt();
                            let mu = mean.ln() - 0.5 * (sigma * sigma);
                            rng.lognormal(mu, sigma)
                        } else {
                            mean
                        };
                        trial.weights.push(w);
                    }
                }
                let cell_spikes = spikes.cell(c.cell_id);
                if cell_spikes.is_empty() || pop.synapses[c.synapse_id].pruned {
                    trial.weights.truncate(w0);
                    continue;
                }
                let r0 = trial.release_times_ms.len();
                match pop.release {
                    Release::Probability(p) => {
                        for &t in cell_spikes {
                            if rng.rand() < p {
                                trial.release_times_ms.push(t);
                            }
                        }
                    }
                    Release::Dynamic | Release::Always => {
                        trial.release_times_ms.extend_from_slice(cell_spikes)
                    }
                }
                if trial.release_times_ms.len() == r0 {
                    trial.weights.truncate(w0);
                    continue;
                }
                // Spike lists are sorted, so the release times are too (ISF sorts them again).
                let rng_seed = match pop.release {
                    Release::Dynamic => Some((1_000_000.0 * rng.rand()) as u32),
                    _ => None,
                };
                trial.synapses.push(ActiveSynapse {
                    population: pi as u32,
                    synapse_id: c.synapse_id as u32,
                    cell_id: c.cell_id as u32,
                    releases: r0..trial.release_times_ms.len(),
                    weights: w0..trial.weights.len(),
                    rng_seed,
                });
            }
        }
        Ok(trial)
    }
}

/// Buffers reused across trials.
#[derive(Default)]
pub struct TrialScratch {
    activity: Scratch,
    pairs: Vec<(u32, f64)>,
}
