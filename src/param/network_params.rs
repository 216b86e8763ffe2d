//! Typed view of a network parameter file (docs/formats.md#network-parameter-file).
//!
//! Activity specs (`celltype`) stay raw: the network module interprets them. Population order is
//! the file's key order, which fixes the order of ISF's random draws.

use std::path::{Path, PathBuf};

use indexmap::IndexMap;

use super::{join, Node, ParamError, ParamFile, Span, Value, View};

/// Largest `cellNr` of one population. The whole barrel-cortex model has about 536 000
/// presynaptic cells, so a larger number is a typo; it is refused before anything is allocated
/// per cell.
pub const MAX_CELLS_PER_POPULATION: usize = crate::limits::MAX_CELLS_PER_POPULATION as usize;

/// Largest sum of `cellNr` over all populations of a network (see
/// [`MAX_CELLS_PER_POPULATION`]).
pub const MAX_PRESYNAPTIC_CELLS: usize = 4_000_000;

/// A network parameter file.
#[derive(Debug, Clone)]
pub struct NetworkParams {
    /// The parsed file (for errors that point into it).
    pub file: ParamFile,
    /// Presynaptic populations (`L5tt_C2`, `VPM_C2`, …) in file order.
    pub populations: Vec<Population>,
    /// `network.network_modify_functions`: `{function: kwargs}` in file order.
    pub network_modify_functions: Vec<(String, Node)>,
}

/// One presynaptic population.
#[derive(Debug, Clone)]
pub struct Population {
    /// `<celltype>_<column>`, e.g. `L5tt_C2`.
    pub name: String,
    /// Number of presynaptic point cells created (all get activity, connected or not).
    pub cell_nr: usize,
    /// `"spiketrain"`, `"pointcell"` or `{pointcell: {…}, spiketrain: {…}}`, raw.
    pub celltype: Node,
    /// Its synapses: files, release and receptors.
    pub synapses: SynapseSpec,
    /// Where the population's entry starts (for errors from later stages).
    pub span: Span,
}

/// `synapses` of a population.
#[derive(Debug, Clone)]
pub struct SynapseSpec {
    /// `.syn` file (synapse locations), resolved.
    pub distribution_file: PathBuf,
    /// `.con` file (synapse → presynaptic cell), resolved.
    pub connection_file: PathBuf,
    /// How presynaptic spikes become releases.
    pub release_prob: ReleaseProb,
    /// Receptor point processes in file order.
    pub receptors: Vec<ReceptorSpec>,
}

/// `synapses.releaseProb`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ReleaseProb {
    /// Independent release with this probability per presynaptic spike.
    Fixed(f64),
    /// `"dynamic"`: short-term plasticity model decides release.
    Dynamic,
    /// Key absent: every spike releases.
    Always,
}

/// One receptor (`glutamate_syn`, `gaba_syn`, …) of a population's synapses.
#[derive(Debug, Clone)]
pub struct ReceptorSpec {
    /// The receptor's point-process mechanism.
    pub name: String,
    /// NetCon threshold (irrelevant for VecStim sources).
    pub threshold: f64,
    /// NetCon delay \[ms\] (0 in ISF's files).
    pub delay_ms: f64,
    /// NetCon weight slots; a scalar weight is one slot.
    pub weight: Vec<f64>,
    /// `weightDistribution` (`"lognormal"`: each weight drawn per synapse).
    pub weight_distribution: Option<String>,
    /// RANGE (or GLOBAL) variables assigned to each synapse instance.
    pub parameters: IndexMap<String, f64>,
}

impl NetworkParams {
    /// Reads and checks a network parameter file.
    pub fn read(path: &Path) -> Result<Self, ParamError> {
        Self::from_file(ParamFile::read(path)?)
    }

    /// Checks every receptor against the mechanism catalogue: the mechanism exists and is a
    /// point process, and each of its `parameter` entries exists. Commands that simulate call
    /// this before the first trial, so that a misspelt name is reported with file, line and
    /// population instead of when a trial is built (drawing trials alone does not need it).
    pub fn check_receptors(&self) -> Result<(), ParamError> {
        self.populations
            .iter()
            .try_for_each(|p| self.check_population_receptors(p))
    }

    /// [`NetworkParams::check_receptors`] for one population (a replay uses only the
    /// populations its file names).
    pub fn check_population_receptors(&self, pop: &Population) -> Result<(), ParamError> {
        let recs = self
            .file
            .root
            .get("network")
            .and_then(|n| n.get(&pop.name))
            .and_then(|n| n.get("synapses"))
            .and_then(|n| n.get("receptors"));
        let Some(r) = recs else {
            return Ok(());
        };
        let key = format!("network.{}.synapses.receptors", pop.name);
        check_receptor_names(&self.file, &pop.name, &key, r)?;
        if pop.synapses.release_prob == ReleaseProb::Dynamic {
            check_dynamic_receptors(&self.file, &pop.name, &key, r)?;
        }
        Ok(())
    }

    /// The population called `name`.
    pub fn population(&self, name: &str) -> Option<&Population> {
        self.populations.iter().find(|p| p.name == name)
    }

    /// Checks a parsed network parameter file and extracts its typed view.
    pub fn from_file(file: ParamFile) -> Result<Self, ParamError> {
        let v = View { file: &file };
        v.dict(&file.root, "")?;
        let net = v.req(&file.root, "", "network")?;
        let mut populations = Vec::new();
        let mut network_modify_functions = Vec::new();
        let mut total_cells = 0usize;
        for (name, node) in v.dict(net, "network")? {
            if name == "network_modify_functions" {
                network_modify_functions = v.entries(node, "network.network_modify_functions")?;
                continue;
            }
            let pop = parse_population(&v, name, node)?;
            total_cells += pop.cell_nr;
            if total_cells > MAX_PRESYNAPTIC_CELLS {
                let key = format!("network.{name}.cellNr");
                return Err(v.err(
                    node.get("cellNr").unwrap_or(node),
                    &key,
                    format!(
                        "the populations so far have {total_cells} presynaptic cells in all, \
                         more than the limit of {MAX_PRESYNAPTIC_CELLS}"
                    ),
                ));
            }
            populations.push(pop);
        }
        Ok(NetworkParams {
            file,
            populations,
            network_modify_functions,
        })
    }
}

fn parse_population(v: &View, name: &str, node: &Node) -> Result<Population, ParamError> {
    let key = format!("network.{name}");
    v.dict(node, &key)?;
    let nr_key = format!("{key}.cellNr");
    let nr_node = v.req(node, &key, "cellNr")?;
    let cell_nr = match nr_node.value {
        Value::Int(i) if i >= 0 && i as u64 <= MAX_CELLS_PER_POPULATION as u64 => i as usize,
        Value::Int(i) if i >= 0 => {
            return Err(v.err(
                nr_node,
                &nr_key,
                format!(
                    "{i} cells is more than the limit of {MAX_CELLS_PER_POPULATION} per population"
                ),
            ))
        }
        Value::Int(i) => return Err(v.err(nr_node, &nr_key, format!("must be ≥ 0, found {i}"))),
        _ => {
            return Err(v.err(
                nr_node,
                &nr_key,
                format!("expected an integer, found {}", nr_node.type_name()),
            ))
        }
    };
    let celltype = v.req(node, &key, "celltype")?.clone();
    let syn_key = format!("{key}.synapses");
    let syn = v.req(node, &key, "synapses")?;
    let synapses = parse_synapses(v, &syn_key, syn)?;
    Ok(Population {
        name: name.to_string(),
        cell_nr,
        celltype,
        synapses,
        span: node.span,
    })
}

fn parse_synapses(v: &View, key: &str, syn: &Node) -> Result<SynapseSpec, ParamError> {
    let path = |name: &str| -> Result<PathBuf, ParamError> {
        let n = v.req(syn, key, name)?;
        Ok(v.file.resolve_path(v.string(n, &join(key, name))?))
    };
    let distribution_file = path("distributionFile")?;
    let connection_file = path("connectionFile")?;
    let rp_key = join(key, "releaseProb");
    let release_prob = match syn.get("releaseProb") {
        None => ReleaseProb::Always,
        Some(n) => match &n.value {
            Value::Str(s) if s == "dynamic" => ReleaseProb::Dynamic,
            Value::Int(_) | Value::Float(_) => {
                let p = v.num(n, &rp_key)?;
                if !(0.0..=1.0).contains(&p) {
                    return Err(v.err(
                        n,
                        &rp_key,
                        format!("must be a probability in [0, 1], found {p}"),
                    ));
                }
                ReleaseProb::Fixed(p)
            }
            _ => {
                return Err(v.err(
                    n,
                    &rp_key,
                    format!(
                        "expected a probability or \"dynamic\", found {}",
                        n.type_name()
                    ),
                ))
            }
        },
    };
    let rec_key = join(key, "receptors");
    let mut receptors = Vec::new();
    for (name, r) in v.dict(v.req(syn, key, "receptors")?, &rec_key)? {
        receptors.push(parse_receptor(v, &join(&rec_key, name), name, r)?);
    }
    Ok(SynapseSpec {
        distribution_file,
        connection_file,
        release_prob,
        receptors,
    })
}

fn parse_receptor(v: &View, key: &str, name: &str, r: &Node) -> Result<ReceptorSpec, ParamError> {
    v.dict(r, key)?;
    let threshold = v.finite(v.req(r, key, "threshold")?, &join(key, "threshold"))?;
    let delay_ms = v.finite(v.req(r, key, "delay")?, &join(key, "delay"))?;
    if delay_ms < 0.0 {
        return Err(v.err(
            v.req(r, key, "delay")?,
            &join(key, "delay"),
            "must be ≥ 0 ms",
        ));
    }
    let wkey = join(key, "weight");
    let w = v.req(r, key, "weight")?;
    let weight = match w.as_seq() {
        Some(items) => items
            .iter()
            .enumerate()
            .map(|(i, x)| v.finite(x, &format!("{wkey}.{i}")))
            .collect::<Result<Vec<_>, _>>()?,
        None => match w.as_f64() {
            Some(_) => vec![v.finite(w, &wkey)?],
            None => {
                return Err(v.err(
                    w,
                    &wkey,
                    format!(
                        "expected a number or a list of numbers, found {}",
                        w.type_name()
                    ),
                ))
            }
        },
    };
    let weight_distribution = match r.get("weightDistribution") {
        Some(n) => Some(v.string(n, &join(key, "weightDistribution"))?.to_string()),
        None => None,
    };
    let parameters = match r.get("parameter") {
        Some(p) => v.num_map(p, &join(key, "parameter"))?,
        None => IndexMap::new(),
    };
    Ok(ReceptorSpec {
        name: name.to_string(),
        threshold,
        delay_ms,
        weight,
        weight_distribution,
        parameters,
    })
}

/// `releaseProb: "dynamic"` gives every receptor hoc's `Random(seed)` through `setRNG`: each must
/// have a Random pointer (ProbAMPANMDA2, ProbUDFsyn2 compiled from their `.mod` files).
fn check_dynamic_receptors(
    file: &ParamFile,
    population: &str,
    key: &str,
    receptors: &Node,
) -> Result<(), ParamError> {
    use crate::mechanisms::streams::{stream_params, StreamSource};
    let v = View { file };
    for (name, node) in v.dict(receptors, key)? {
        let Ok(entry) = crate::mechanisms::Catalogue.get(name) else {
            continue; // reported by check_receptor_names
        };
        if let Err(e) = stream_params(entry, None, StreamSource::Random(0)) {
            return Err(v.err(
                node,
                &join(key, name),
                format!(
                    "population `{population}`: releaseProb \"dynamic\" attaches hoc's \
                     Random(seed) to each receptor (setRNG), but {e}"
                ),
            ));
        }
    }
    Ok(())
}

/// Checks the receptors of one population against the mechanism catalogue: each mechanism
/// exists and is a point process, each of its `parameter` keys exists. `receptors` is the
/// population's `synapses.receptors` dict, `key` its dotted path; errors name `file`, the line,
/// the key and the population (the check runs before the first trial is built, and on
/// `network-param` templates).
pub fn check_receptor_names(
    file: &ParamFile,
    population: &str,
    key: &str,
    receptors: &Node,
) -> Result<(), ParamError> {
    use crate::mechanisms::{Catalogue, MechanismKind};
    let v = View { file };
    for (name, node) in v.dict(receptors, key)? {
        let rkey = join(key, name);
        let entry = Catalogue
            .get(name)
            .map_err(|e| v.err(node, &rkey, format!("population `{population}`: {e}")))?;
        if entry.kind() != MechanismKind::Point {
            return Err(v.err(
                node,
                &rkey,
                format!(
                    "population `{population}`: receptor `{name}` is a density mechanism, not a \
                     point process"
                ),
            ));
        }
        let Some(params) = node.get("parameter").and_then(Node::as_dict) else {
            continue;
        };
        for (p, at) in params {
            if let Err(e) = entry.param_index(p) {
                return Err(v.err(
                    at,
                    &join(&join(&rkey, "parameter"), p),
                    format!("population `{population}`: {e}"),
                ));
            }
        }
    }
    Ok(())
}
