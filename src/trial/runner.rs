//! The trial runner shared by network simulations and replay: active synapses → point processes
//! and events on a shared [`CellModel`] → ISF's `while t < tstop` loop → traces and spikes.

use std::collections::HashMap;
use std::ops::Range;
use std::time::Instant;

use super::result::{SynapseActivation, TrialResult};
use super::TrialError;
use crate::cell::CellTemplate;
use crate::mechanisms::catalogue::{BuildEnv, Constructor};
use crate::mechanisms::streams::{stream_params, StreamSource};
use crate::mechanisms::{Catalogue, Instances, Numerics};
use crate::network::mapping::point_process_site;
use crate::solver::{CellModel, PointHandle, Probe, Simulation, SimulationBuilder};

/// Somatic spike threshold (mV) of ISF's spike detection (docs/models.md#spike-detection).
pub const SOMA_SPIKE_THRESHOLD_MV: f64 = 0.0;

/// One receptor type of a population's synapses (from the network parameter file).
#[derive(Debug, Clone, PartialEq)]
pub struct Receptor {
    /// Point-process mechanism (`glutamate_syn`, `gaba_syn`, …).
    pub mechanism: String,
    /// Parameter values assigned to every instance (`parameter` of the receptor spec).
    pub parameters: Vec<(String, f64)>,
    /// Number of NetCon weights this receptor takes from a synapse's weight list (the length of
    /// the spec's `weight`; missing trailing NetCon slots stay 0 as in NEURON).
    pub weight_count: usize,
    /// NetCon delay \[ms\] (0 in ISF).
    pub delay_ms: f64,
}

impl Receptor {
    /// The receptor of a network parameter file entry.
    pub fn from_spec(spec: &crate::param::network_params::ReceptorSpec) -> Self {
        Receptor {
            mechanism: spec.name.clone(),
            parameters: spec
                .parameters
                .iter()
                .map(|(k, v)| (k.clone(), *v))
                .collect(),
            weight_count: spec.weight.len(),
            delay_ms: spec.delay_ms,
        }
    }
}

/// One synapse with at least one release in the trial.
#[derive(Debug, Clone, PartialEq)]
pub struct ActiveSynapse {
    /// Index into [`SynapseInputs::populations`].
    pub population: u32,
    /// Synapse ID within the population.
    pub synapse_id: u32,
    /// Section ID (ISF order).
    pub section: usize,
    /// Index of the section's 3-D point the synapse sits at (ISF's `ptID`).
    pub pt_id: usize,
    /// Range of [`SynapseInputs::release_times_ms`] (ascending).
    pub releases: Range<usize>,
    /// Range of [`SynapseInputs::weights`]: the receptors' NetCon weights, receptor after
    /// receptor (each [`Receptor::weight_count`] long).
    pub weights: Range<usize>,
    /// Seed of the hoc `Random(seed)` stream attached to each receptor's Random pointer
    /// (`releaseProb: "dynamic"`, drawn from the trial's stream); `None`: no stream attached.
    pub rng_seed: Option<u32>,
}

/// Everything a trial receives: populations and their receptors, active synapses, flat release
/// times and weights (no allocation per synapse).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SynapseInputs {
    /// Population names; `ActiveSynapse::population` indexes this table.
    pub populations: Vec<String>,
    /// Receptors of every population (same indexing).
    pub receptors: Vec<Vec<Receptor>>,
    /// Active synapses in activation order (the order point processes are created in).
    pub synapses: Vec<ActiveSynapse>,
    /// Release times of all active synapses, concatenated \[ms\].
    pub release_times_ms: Vec<f64>,
    /// NetCon weights of all active synapses, concatenated.
    pub weights: Vec<f64>,
}

impl SynapseInputs {
    /// Release times of active synapse `i` \[ms\].
    pub fn release_times(&self, i: usize) -> &[f64] {
        &self.release_times_ms[self.synapses[i].releases.clone()]
    }

    /// Total number of release events.
    pub fn release_count(&self) -> usize {
        self.synapses.iter().map(|s| s.releases.len()).sum()
    }

    /// The input of a drawn network trial (`isf simulate`): every population of `network`
    /// with its receptors, the trial's active synapses at their mapped (section, point),
    /// their release times and (possibly lognormal-drawn) weights.
    pub fn from_network(
        network: &crate::network::Network,
        trial: &crate::network::TrialInput,
    ) -> Self {
        let pops = &network.model.populations;
        SynapseInputs {
            populations: pops.iter().map(|p| p.name.clone()).collect(),
            receptors: pops
                .iter()
                .map(|p| {
                    p.receptors
                        .iter()
                        .map(|r| Receptor {
                            mechanism: r.name.clone(),
                            parameters: r.parameters.iter().map(|(k, v)| (k.clone(), *v)).collect(),
                            weight_count: r.weight.len(),
                            delay_ms: r.delay_ms,
                        })
                        .collect()
                })
                .collect(),
            synapses: trial
                .synapses
                .iter()
                .map(|s| {
                    let m = network
                        .map
                        .synapse(s.population as usize, s.synapse_id as usize);
                    ActiveSynapse {
                        population: s.population,
                        synapse_id: s.synapse_id,
                        section: m.section,
                        pt_id: m.pt_id,
                        releases: s.releases.clone(),
                        weights: s.weights.clone(),
                        rng_seed: s.rng_seed,
                    }
                })
                .collect(),
            release_times_ms: trial.release_times_ms.clone(),
            weights: trial.weights.clone(),
        }
    }
}

/// The stop time NEURON actually compares against: ISF passes `tStop` to hoc through `"%g"`
/// (six significant digits).
pub fn hoc_tstop(tstop_ms: f64) -> f64 {
    format!("{tstop_ms:.5e}").parse().unwrap_or(tstop_ms)
}

/// Upward crossings of `threshold_mv` (`v[i−1] < θ ≤ v[i]`); the spike time is `t[i]`
/// (docs/models.md#spike-detection).
pub fn detect_spikes(t_ms: &[f64], v_mv: &[f64], threshold_mv: f64) -> Vec<f64> {
    v_mv.windows(2)
        .zip(&t_ms[1.min(t_ms.len())..])
        .filter(|(w, _)| w[0] < threshold_mv && threshold_mv <= w[1])
        .map(|(_, &t)| t)
        .collect()
}

/// A cell ready for trials: its template and the solver model built from it once.
#[derive(Debug)]
pub struct CellSimulator {
    /// The cell.
    pub template: CellTemplate,
    /// The immutable solver model (matrix, density mechanisms, ions).
    pub model: CellModel,
    /// Merge the point processes of synapses that sit on the same node and whose receptors
    /// are identical and linear in their events (no depression or facilitation), as Arbor
    /// coalesces synapses: the summed states, currents and Jacobian are the same up to
    /// round-off, at a fraction of the cost. On by default.
    pub coalesce_synapses: bool,
    /// Batched models of 2, 4, 8 and 16 lanes, built when first needed
    /// ([`CellSimulator::run_many`]).
    batch_models: [std::sync::OnceLock<Result<CellModel, String>>; 4],
}

impl CellSimulator {
    /// Builds the solver model of `template` with its own dt, or `dt_ms` if given.
    pub fn new(template: CellTemplate, dt_ms: Option<f64>) -> Result<Self, TrialError> {
        Self::with_numerics(template, dt_ms, Numerics::default())
    }

    /// As [`CellSimulator::new`], with the given numerics.
    pub fn with_numerics(
        template: CellTemplate,
        dt_ms: Option<f64>,
        numerics: Numerics,
    ) -> Result<Self, TrialError> {
        let dt = dt_ms.unwrap_or(template.dt_ms);
        crate::limits::check_dt(dt).map_err(TrialError::Setting)?;
        let model = template.solver_model(dt, numerics)?;
        Ok(CellSimulator {
            template,
            model,
            coalesce_synapses: true,
            batch_models: Default::default(),
        })
    }

    /// Time step \[ms\].
    pub fn dt_ms(&self) -> f64 {
        self.model.settings().dt_ms
    }

    /// Labels of the recording sites, in [`TrialResult::site_vm_mv`] order.
    pub fn site_labels(&self) -> Vec<String> {
        self.template
            .recording_sites
            .iter()
            .map(|s| s.label.clone())
            .collect()
    }

    /// Checks `inputs` against the cell and the catalogue without simulating: sections and
    /// points exist, release times are finite, weight ranges match the receptors, receptor
    /// mechanisms and parameters are known.
    pub fn check_inputs(&self, inputs: &SynapseInputs) -> Result<(), TrialError> {
        if inputs.receptors.len() != inputs.populations.len() {
            return Err(TrialError::Setting(format!(
                "{} populations but {} receptor lists",
                inputs.populations.len(),
                inputs.receptors.len()
            )));
        }
        for rs in &inputs.receptors {
            for r in rs {
                receptor_weight_slots(r, self.dt_ms(), self.template.celsius)?;
            }
        }
        for s in &inputs.synapses {
            let pop = inputs
                .populations
                .get(s.population as usize)
                .ok_or_else(|| {
                    TrialError::Setting(format!("population index {} out of range", s.population))
                })?;
            let sec = self.template.sections.get(s.section).ok_or_else(|| {
                TrialError::Setting(format!(
                    "synapse {} of `{pop}` is on section {}, but the cell has {} sections",
                    s.synapse_id,
                    s.section,
                    self.template.sections.len()
                ))
            })?;
            if s.pt_id >= sec.rel_pts.len() {
                return Err(TrialError::Setting(format!(
                    "synapse {} of `{pop}` is at point {} of section {}, which has {} points",
                    s.synapse_id,
                    s.pt_id,
                    s.section,
                    sec.rel_pts.len()
                )));
            }
            let need: usize = inputs.receptors[s.population as usize]
                .iter()
                .map(|r| r.weight_count)
                .sum();
            if s.weights.len() != need || s.weights.end > inputs.weights.len() {
                return Err(TrialError::Setting(format!(
                    "synapse {} of `{pop}`: {} weights given, its receptors take {need}",
                    s.synapse_id,
                    s.weights.len()
                )));
            }
            if s.releases.end > inputs.release_times_ms.len() {
                return Err(TrialError::Setting(format!(
                    "synapse {} of `{pop}`: release range out of bounds",
                    s.synapse_id
                )));
            }
            if let Some(t) = inputs.release_times_ms[s.releases.clone()]
                .iter()
                .find(|t| !t.is_finite())
            {
                return Err(TrialError::Setting(format!(
                    "synapse {} of `{pop}`: release time {t} is not a finite number",
                    s.synapse_id
                )));
            }
        }
        Ok(())
    }

    /// The node a synapse's point process acts on (docs/models.md#synapse-placement).
    pub fn synapse_node(&self, section: usize, pt_id: usize) -> usize {
        let sec = &self.template.sections[section];
        let (_, seg) = point_process_site(sec.rel_pts[pt_id], sec.nseg);
        sec.segment_node(seg)
    }

    /// A ready-to-run simulation of `inputs`: one point process per receptor of every active
    /// synapse (in activation order), its events with the NetCon weights, soma (column 0) and
    /// recording sites (columns 1…) recorded.
    pub fn build(&self, inputs: &SynapseInputs) -> Result<Simulation<'_>, TrialError> {
        self.build_with(inputs, |_, _, _| {})
    }

    /// [`CellSimulator::build`], calling `on_point(builder, receptor, handle)` for every receptor
    /// point process created (merged instances once), e.g. to record its variables after the
    /// soma and the sites.
    pub fn build_with(
        &self,
        inputs: &SynapseInputs,
        on_point: impl FnMut(&mut SimulationBuilder<'_>, &Receptor, PointHandle),
    ) -> Result<Simulation<'_>, TrialError> {
        Ok(self.builder_with(inputs, on_point)?.build()?)
    }

    /// The builder [`CellSimulator::build_with`] builds (e.g. to run it in a
    /// [`crate::solver::Batch`]).
    pub fn builder_with(
        &self,
        inputs: &SynapseInputs,
        mut on_point: impl FnMut(&mut SimulationBuilder<'_>, &Receptor, PointHandle),
    ) -> Result<SimulationBuilder<'_>, TrialError> {
        self.check_inputs(inputs)?;
        let dt = self.dt_ms();
        // Per population and receptor: NetCon weight slots, parameters as borrowed pairs, and
        // the receptor class (mechanism + all parameter values) if its synapses may be merged.
        let mut classes: HashMap<(&str, Vec<u64>), usize> = HashMap::new();
        let mut slots: Vec<Vec<usize>> = Vec::with_capacity(inputs.receptors.len());
        let mut params: Vec<Vec<Vec<(&str, f64)>>> = Vec::with_capacity(inputs.receptors.len());
        let mut class: Vec<Vec<Option<usize>>> = Vec::with_capacity(inputs.receptors.len());
        for rs in &inputs.receptors {
            let mut sl = Vec::with_capacity(rs.len());
            let mut pa = Vec::with_capacity(rs.len());
            let mut cl = Vec::with_capacity(rs.len());
            for r in rs {
                sl.push(receptor_weight_slots(r, dt, self.template.celsius)?);
                pa.push(
                    r.parameters
                        .iter()
                        .map(|(k, v)| (k.as_str(), *v))
                        .collect::<Vec<_>>(),
                );
                let values = full_parameters(r)?;
                cl.push(
                    (self.coalesce_synapses && linear_receive(&r.mechanism, &values)).then(|| {
                        let key = (
                            r.mechanism.as_str(),
                            values.iter().map(|(_, v)| v.to_bits()).collect(),
                        );
                        let next = classes.len();
                        *classes.entry(key).or_insert(next)
                    }),
                );
            }
            slots.push(sl);
            params.push(pa);
            class.push(cl);
        }

        let mut b = SimulationBuilder::new(&self.model);
        b.record(Probe::Voltage(self.template.soma_node));
        for site in &self.template.recording_sites {
            b.record(Probe::Voltage(site.node));
        }
        let mut merged: HashMap<(usize, usize), PointHandle> = HashMap::new();
        let mut w = Vec::new();
        let mut times = Vec::new();
        for s in &inputs.synapses {
            let p = s.population as usize;
            let node = self.synapse_node(s.section, s.pt_id);
            let release = &inputs.release_times_ms[s.releases.clone()];
            let mut at = s.weights.start;
            for (k, r) in inputs.receptors[p].iter().enumerate() {
                let h = match (class[p][k], s.rng_seed) {
                    (_, Some(seed)) => {
                        // ISF's `syn.setRNG(Random(seed))` with `negexp(1)`.
                        let entry = Catalogue
                            .get(&r.mechanism)
                            .map_err(crate::solver::SolverError::from)?;
                        let stream = stream_params(entry, None, StreamSource::Random(seed))
                            .map_err(|e| {
                                TrialError::Setting(format!(
                                "population `{}`: releaseProb \"dynamic\" attaches a Random to \
                                 each receptor: {e}",
                                inputs.populations[p]
                            ))
                            })?;
                        let mut seeded = params[p][k].clone();
                        seeded.extend(stream.iter().map(|(k, v)| (k.as_str(), *v)));
                        let h = b.add_point(&r.mechanism, node, &seeded)?;
                        on_point(&mut b, r, h);
                        h
                    }
                    (Some(c), None) => match merged.get(&(node, c)) {
                        Some(&h) => h,
                        None => {
                            let h = b.add_point(&r.mechanism, node, &params[p][k])?;
                            merged.insert((node, c), h);
                            on_point(&mut b, r, h);
                            h
                        }
                    },
                    (None, None) => {
                        let h = b.add_point(&r.mechanism, node, &params[p][k])?;
                        on_point(&mut b, r, h);
                        h
                    }
                };
                w.clear();
                w.extend_from_slice(&inputs.weights[at..at + r.weight_count]);
                w.resize(slots[p][k], 0.0);
                at += r.weight_count;
                times.clear();
                times.extend(release.iter().map(|&t| t + r.delay_ms));
                b.add_events(h, &times, &w)?;
            }
        }
        Ok(b)
    }

    /// Simulates `inputs` until `tstop_ms` (ISF's loop on the accumulated t, with the `"%g"`
    /// stop time) and returns the traces, soma spikes and synapse activations; the identity
    /// fields of the result (trial, cell, seed, sweep, rank) are left for the caller.
    pub fn run(&self, inputs: &SynapseInputs, tstop_ms: f64) -> Result<TrialResult, TrialError> {
        if !tstop_ms.is_finite() || tstop_ms < 0.0 {
            return Err(TrialError::Setting(format!(
                "tstop must be a non-negative number of ms, got {tstop_ms}"
            )));
        }
        crate::limits::check_steps(tstop_ms, self.dt_ms()).map_err(TrialError::Setting)?;
        let start = Instant::now();
        let mut sim = self.build(inputs)?;
        let traces = sim.run_until(hoc_tstop(tstop_ms));
        Ok(Self::result(inputs, traces, start))
    }

    /// The solver model of `lanes` trials of this cell side by side, for
    /// [`CellSimulator::run_batch`] (built once, shared by every batch of the cell).
    pub fn batch_model(&self, lanes: usize) -> Result<CellModel, TrialError> {
        Ok(self.template.solver_model_batched(
            self.dt_ms(),
            self.model.settings().numerics,
            lanes,
        )?)
    }

    /// Simulates the trials `inputs` side by side in the lanes of `batch_model` (from
    /// [`CellSimulator::batch_model`]; at most its lanes, unused lanes idle), each until its own
    /// stop time; the results are bit-identical to [`CellSimulator::run`] of each trial, only
    /// `wall_time_s` is the batch's time divided among its trials. Fails with
    /// [`crate::solver::SolverError::NotBatchable`] when the trials cannot share a batch (they
    /// draw from the legacy random generator): run them one at a time then.
    pub fn run_batch(
        &self,
        batch_model: &CellModel,
        inputs: &[&SynapseInputs],
        tstop_ms: &[f64],
    ) -> Result<Vec<TrialResult>, TrialError> {
        if inputs.len() != tstop_ms.len() {
            return Err(TrialError::Setting(format!(
                "{} trials but {} stop times",
                inputs.len(),
                tstop_ms.len()
            )));
        }
        for &t in tstop_ms {
            if !t.is_finite() || t < 0.0 {
                return Err(TrialError::Setting(format!(
                    "tstop must be a non-negative number of ms, got {t}"
                )));
            }
            crate::limits::check_steps(t, self.dt_ms()).map_err(TrialError::Setting)?;
        }
        let start = Instant::now();
        let builders = inputs
            .iter()
            .map(|i| self.builder_with(i, |_, _, _| {}))
            .collect::<Result<Vec<_>, _>>()?;
        let mut batch = crate::solver::Batch::build(batch_model, &builders)?;
        let stops: Vec<f64> = tstop_ms.iter().map(|&t| hoc_tstop(t)).collect();
        let traces = batch.run_until(&stops)?;
        let share = start.elapsed() / inputs.len() as u32;
        Ok(inputs
            .iter()
            .zip(traces)
            .map(|(i, tr)| {
                let mut r = Self::result(i, tr, Instant::now());
                r.wall_time_s = share.as_secs_f64();
                r
            })
            .collect())
    }

    /// The batched model of `lanes` (2, 4, 8 or 16) trials of this cell, built on first use
    /// and kept.
    pub fn cached_batch_model(&self, lanes: usize) -> Result<&CellModel, TrialError> {
        let k = match lanes {
            2 => 0,
            4 => 1,
            8 => 2,
            16 => 3,
            _ => {
                return Err(TrialError::Setting(format!(
                    "batches have 2, 4, 8 or 16 lanes, not {lanes}"
                )))
            }
        };
        self.batch_models[k]
            .get_or_init(|| self.batch_model(lanes).map_err(|e| e.to_string()))
            .as_ref()
            .map_err(|e| TrialError::Setting(e.clone()))
    }

    /// Simulates the trials `inputs` (each until `tstop_ms`), side by side in batches of up to
    /// [`default_lanes`] trials (a batch of `n` trials takes the largest power of two ≤ `n`
    /// lanes, so that no lane idles), one at a time when they cannot share a batch. The
    /// results are those of [`CellSimulator::run`] of each trial, in order.
    pub fn run_many(
        &self,
        inputs: &[&SynapseInputs],
        tstop_ms: f64,
    ) -> Result<Vec<TrialResult>, TrialError> {
        let max = default_lanes();
        let mut out = Vec::with_capacity(inputs.len());
        let mut rest = inputs;
        while !rest.is_empty() {
            let lanes = max.min(1 << rest.len().ilog2());
            let (chunk, r) = rest.split_at(lanes.min(rest.len()));
            rest = r;
            if lanes > 1 {
                let model = self.cached_batch_model(lanes)?;
                match self.run_batch(model, chunk, &vec![tstop_ms; chunk.len()]) {
                    Ok(r) => {
                        out.extend(r);
                        continue;
                    }
                    Err(TrialError::Solver(crate::solver::SolverError::NotBatchable(_))) => {}
                    Err(e) => return Err(e),
                }
            }
            for i in chunk {
                out.push(self.run(i, tstop_ms)?);
            }
        }
        Ok(out)
    }

    /// A trial's result from its traces (soma column 0, the sites after it).
    fn result(
        inputs: &SynapseInputs,
        traces: crate::solver::Traces,
        start: Instant,
    ) -> TrialResult {
        let mut columns = traces.columns.into_iter();
        let soma = columns.next().unwrap_or_default();
        let sites: Vec<Vec<f64>> = columns.collect();
        let spikes = detect_spikes(&traces.t, &soma, SOMA_SPIKE_THRESHOLD_MV);
        let synapse_activations = inputs
            .synapses
            .iter()
            .enumerate()
            .map(|(i, s)| SynapseActivation {
                population: s.population,
                synapse_id: s.synapse_id,
                times_ms: inputs.release_times(i).to_vec(),
            })
            .collect();
        TrialResult {
            t_ms: traces.t,
            soma_vm_mv: soma,
            site_vm_mv: sites,
            soma_spikes_ms: spikes,
            synapse_activations,
            wall_time_s: start.elapsed().as_secs_f64(),
            ..TrialResult::default()
        }
    }
}

/// How many trials of one cell the run layer simulates side by side
/// ([`crate::solver::Batch`]): 8 where the kernels run on AVX-512, 4 on AVX2, 1 (one at a time)
/// without vector kernels; `ISF_BATCH_LANES` sets it (1 turns batching off; 2, 4, 8 or 16).
/// Batched or not, every trial's results are the same bits.
pub fn default_lanes() -> usize {
    use crate::mechanisms::exp::Isa;
    if let Some(w) = std::env::var("ISF_BATCH_LANES")
        .ok()
        .and_then(|w| w.trim().parse::<usize>().ok())
        .filter(|w| matches!(w, 1 | 2 | 4 | 8 | 16))
    {
        return w;
    }
    match Isa::detect() {
        Isa::Avx512 => 8,
        Isa::Avx2 => 4,
        Isa::Base => 1,
    }
}

/// Number of NetCon weight slots of a receptor's mechanism (NET_RECEIVE arguments); also checks
/// that the mechanism is a point process, that it takes at least the given weights and that its
/// parameters exist.
fn receptor_weight_slots(r: &Receptor, dt_ms: f64, celsius: f64) -> Result<usize, TrialError> {
    let entry = Catalogue
        .get(&r.mechanism)
        .map_err(crate::solver::SolverError::from)?;
    let Constructor::Point(ctor) = entry.ctor else {
        return Err(TrialError::Setting(format!(
            "receptor `{}` is not a point process",
            r.mechanism
        )));
    };
    for (k, v) in &r.parameters {
        entry
            .param_index(k)
            .map_err(crate::solver::SolverError::from)?;
        if !v.is_finite() {
            return Err(TrialError::Setting(format!(
                "receptor `{}`: parameter `{k}` is {v}",
                r.mechanism
            )));
        }
    }
    if !(r.delay_ms.is_finite() && r.delay_ms >= 0.0) {
        return Err(TrialError::Setting(format!(
            "receptor `{}`: delay {} ms must be ≥ 0",
            r.mechanism, r.delay_ms
        )));
    }
    // An empty block tells how many weights the mechanism's NET_RECEIVE takes.
    let empty = Instances {
        nodes: Vec::new(),
        values: entry.params.iter().map(|_| Vec::new()).collect(),
        area_um2: Vec::new(),
    };
    let env = BuildEnv {
        dt: dt_ms,
        celsius,
        numerics: Numerics::default(),
    };
    let slots = ctor(empty, &env).n_weights();
    if slots == 0 || r.weight_count > slots {
        return Err(TrialError::Setting(format!(
            "receptor `{}` takes {slots} NetCon weights, {} given",
            r.mechanism, r.weight_count
        )));
    }
    Ok(slots)
}

/// Every parameter of a receptor's mechanism (catalogue order): the given value or the default.
fn full_parameters(r: &Receptor) -> Result<Vec<(&'static str, f64)>, TrialError> {
    let entry = Catalogue
        .get(&r.mechanism)
        .map_err(crate::solver::SolverError::from)?;
    Ok(entry
        .params
        .iter()
        .map(|&(name, default)| {
            let v = r
                .parameters
                .iter()
                .rev()
                .find(|(k, _)| k == name)
                .map_or(default, |(_, v)| *v);
            (name, v)
        })
        .collect())
}

/// Whether a receptor's state is a linear function of its events, so that instances on one
/// node can share one state: ISF's synapses without depression (decay factor 1) and without
/// facilitation (increment 0) — their NET_RECEIVE then adds `factor·weight` to linear ODEs.
fn linear_receive(mechanism: &str, values: &[(&str, f64)]) -> bool {
    let get = |name: &str| values.iter().find(|(k, _)| *k == name).map(|(_, v)| *v);
    let is = |name: &str, x: f64| get(name) == Some(x);
    match mechanism {
        "glutamate_syn" => {
            is("decayampa", 1.0)
                && is("decaynmda", 1.0)
                && is("facilampa", 0.0)
                && is("facilnmda", 0.0)
        }
        "gaba_syn" => is("decaygaba", 1.0) && is("facilgaba", 0.0),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spikes_are_upward_crossings_at_the_first_sample_at_or_above() {
        let t = [0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0];
        let v = [-70.0, -1.0, 0.0, 20.0, -5.0, 3.0, 0.5];
        assert_eq!(detect_spikes(&t, &v, 0.0), vec![2.0, 5.0]);
        assert!(detect_spikes(&[], &[], 0.0).is_empty());
    }

    #[test]
    fn hoc_stop_time_has_six_significant_digits() {
        assert_eq!(hoc_tstop(300.0), 300.0);
        assert_eq!(hoc_tstop(345.0), 345.0);
        // "%g" % 1234.5678 == "1234.57"
        assert_eq!(hoc_tstop(1234.5678), 1234.57);
    }
}
