//! The recipe: one description of a cell in its network, with its inputs, probes and numerics,
//! and the one place that turns such a description into something that simulates.
//!
//! Every command and the run layer describe what they simulate as a [`Recipe`] (cell parameter
//! file, [`Inputs`], [`Probes`], stop time, time step, numerics) and call [`Recipe::build`], which
//! reads the parameter files, builds the cell template, the [`CellSimulator`] and the synaptic
//! input (a [`Network`] placed on the cell, or a replayed activation file) in one order with one
//! set of checks. What they do with the [`BuiltRecipe`] differs: the ISF task draws sweeps from one
//! seeded stream, the run layer draws any (seed, sweep) on any rank, `isf replay` plays one file.
//! Commands that need only the cell (`isf cell-info`, `isf protocol`) call [`Recipe::read_cell`].

pub mod replay;

use std::path::{Path, PathBuf};

use anyhow::Context as _;

use crate::cell::{CellTemplate, RecordingSite};
use crate::mechanisms::Numerics;
use crate::network::{Network, NetworkModel, RandomState, TrialInput, TrialScratch};
use crate::output::isf_export::isf_rows;
use crate::output::{PresynapticCellRow, SynapseActivationRow};
use crate::param::cell_params::CellParams;
use crate::param::network_params::NetworkParams;
use crate::param::Value;
use crate::trial::result::{
    PresynapticSpikes, SynapseActivation, SynapsePosition, SynapsePositions, TrialResult,
};
use crate::trial::{hoc_tstop, CellSimulator, SynapseInputs};
use replay::ReplayTrial;

/// Where a recipe's synaptic input comes from.
#[derive(Debug, Clone, PartialEq)]
pub enum Inputs {
    /// No synapses: the cell alone.
    None,
    /// ISF's network: populations, activity and synapse realizations of a network parameter
    /// file, drawn per trial from a numpy-compatible seed.
    Network {
        /// Network parameter file.
        network_param: PathBuf,
        /// An anatomical embedding replacing every population's synapse files: the `.con` file
        /// (its `.syn` sits beside it).
        embedding: Option<PathBuf>,
    },
    /// A saved ISF synapse activation file, played on the cell with the receptors and weights
    /// of a network parameter file.
    Replay {
        /// Network parameter file (receptors and weights per population).
        network_param: PathBuf,
        /// ISF synapse activation file.
        synapses: PathBuf,
    },
}

/// What is recorded besides the soma.
#[derive(Debug, Clone, PartialEq)]
pub struct Probes {
    /// Keep the recording sites of the cell parameter file (`sim.recordingSites`).
    pub param_sites: bool,
    /// Further single-segment probes: (section, x), labelled `segment_sec_SSS_x_X.XXX`.
    pub segments: Vec<(usize, f64)>,
    /// Then every segment of the cell, section by section ([`all_segments`] order), labelled
    /// `segment_sec_SSS_seg_KKK`.
    pub all_segments: bool,
}

/// Every segment of `cell` as (section, segment index, x), section by section: the order of the
/// full-cell recordings (`[record] all_segments_every_k_steps`, `isf plot morphology`).
pub fn all_segments(cell: &CellTemplate) -> Vec<(usize, usize, f64)> {
    cell.sections
        .iter()
        .enumerate()
        .flat_map(|(s, sec)| (0..sec.nseg).map(move |k| (s, k, sec.segx(k))))
        .collect()
}

impl Default for Probes {
    fn default() -> Self {
        Probes {
            param_sites: true,
            segments: Vec::new(),
            all_segments: false,
        }
    }
}

/// A cell in its network with its inputs, probes and numerics.
#[derive(Debug, Clone, PartialEq)]
pub struct Recipe {
    /// Cell parameter file (ISF `.param`).
    pub cell_param: PathBuf,
    /// Synaptic input.
    pub inputs: Inputs,
    /// Recorded sites.
    pub probes: Probes,
    /// Stop time \[ms\] (default: the cell file's `sim.tStop`).
    pub tstop_ms: Option<f64>,
    /// Time step \[ms\] (default: the cell file's `sim.dt`).
    pub dt_ms: Option<f64>,
    /// Numerics of the mechanisms.
    pub numerics: Numerics,
}

impl Recipe {
    /// The cell of `cell_param` alone, with its file's recording sites, stop time and step.
    pub fn cell_only(cell_param: impl Into<PathBuf>) -> Self {
        Recipe {
            cell_param: cell_param.into(),
            inputs: Inputs::None,
            probes: Probes::default(),
            tstop_ms: None,
            dt_ms: None,
            numerics: Numerics::default(),
        }
    }

    /// The cell of `cell_param` in the network of `network_param`, with the cell file's recording
    /// sites, stop time and step and the default numerics (ISF's own task).
    pub fn in_network(cell_param: impl Into<PathBuf>, network_param: impl Into<PathBuf>) -> Self {
        Recipe {
            inputs: Inputs::Network {
                network_param: network_param.into(),
                embedding: None,
            },
            ..Recipe::cell_only(cell_param)
        }
    }

    /// Reads the cell parameter file and builds the cell template with the recipe's probes.
    pub fn read_cell(&self) -> anyhow::Result<(CellParams, CellTemplate)> {
        let params = CellParams::read(&self.cell_param)?;
        let mut template = CellTemplate::from_params(&params)
            .with_context(|| format!("building the cell of {}", self.cell_param.display()))?;
        self.probes.apply(&mut template)?;
        Ok((params, template))
    }

    /// Builds everything a trial needs: the cell and its solver model, and the synaptic input.
    /// Every input is checked here, so a bad parameter stops a run before its first trial.
    pub fn build(&self) -> anyhow::Result<BuiltRecipe> {
        let (mut cell_params, template) = self.read_cell()?;
        let tstop_ms = self.tstop_ms.unwrap_or(template.tstop_ms);
        let sim = CellSimulator::with_numerics(template, self.dt_ms, self.numerics)?;
        let mut input_files = vec![cell_params.neuron.filename.clone()];
        input_files.extend(cell_params.sim.recording_sites.iter().cloned());

        let (network_params, inputs) = match &self.inputs {
            Inputs::None => (None, BuiltInputs::None),
            Inputs::Network {
                network_param,
                embedding,
            } => {
                let mut params = NetworkParams::read(network_param)?;
                params.check_receptors()?;
                if let Some(con) = embedding {
                    let syn = con.with_extension("syn");
                    for p in &mut params.populations {
                        p.synapses.connection_file = con.clone();
                        p.synapses.distribution_file = syn.clone();
                    }
                }
                for p in &params.populations {
                    input_files.push(p.synapses.distribution_file.clone());
                    input_files.push(p.synapses.connection_file.clone());
                }
                let model = NetworkModel::from_params(&params, tstop_ms)?;
                let network = Network::new(model, &sim.template)?;
                check_receptors(&sim, &network, network_param)?;
                // The copy of the file records what was simulated.
                if let Some(con) = embedding {
                    let syn = con.with_extension("syn");
                    for p in &params.populations {
                        for (k, f) in [("connectionFile", con), ("distributionFile", &syn)] {
                            params.file.set_path(
                                &format!("network.{}.synapses.{k}", p.name),
                                Value::Str(f.display().to_string()),
                            )?;
                        }
                    }
                }
                (Some(params), BuiltInputs::Network(network))
            }
            Inputs::Replay {
                network_param,
                synapses,
            } => {
                let params = NetworkParams::read(network_param)?;
                let trial = ReplayTrial::read(&sim, &params, synapses)?;
                input_files.push(synapses.clone());
                (Some(params), BuiltInputs::Replay(trial))
            }
        };

        // The copy of the cell file records what was simulated (ISF writes the overridden tStop).
        if self.tstop_ms.is_some() {
            cell_params
                .file
                .set_path("sim.tStop", Value::Float(tstop_ms))?;
        }
        if let Some(dt) = self.dt_ms {
            cell_params.file.set_path("sim.dt", Value::Float(dt))?;
        }
        Ok(BuiltRecipe {
            sim,
            tstop_ms,
            cell_params,
            network_params,
            inputs,
            input_files,
        })
    }
}

impl Probes {
    /// Sets `template`'s recording sites to these probes.
    fn apply(&self, template: &mut CellTemplate) -> anyhow::Result<()> {
        if !self.param_sites {
            template.recording_sites.clear();
        }
        for &(section, x) in &self.segments {
            let Some(sec) = template.sections.get(section) else {
                anyhow::bail!(
                    "recorded segment on section {section} but the cell has {} sections",
                    template.sections.len()
                );
            };
            if !(0.0..=1.0).contains(&x) {
                anyhow::bail!("recorded segment x = {x} is outside [0, 1]");
            }
            let segment = template.segment_index(section, x);
            let seg_x = sec.segx(segment);
            let node = sec.segment_node(segment);
            template.recording_sites.push(RecordingSite {
                label: format!("segment_sec_{section:03}_x_{x:.3}"),
                section,
                segment,
                x: seg_x,
                node,
            });
        }
        if self.all_segments {
            for (section, segment, x) in all_segments(template) {
                let node = template.sections[section].segment_node(segment);
                template.recording_sites.push(RecordingSite {
                    label: format!("segment_sec_{section:03}_seg_{segment:03}"),
                    section,
                    segment,
                    x,
                    node,
                });
            }
        }
        Ok(())
    }
}

/// Receptor mechanisms and parameters are used only when a trial creates its synapses: checking
/// them at build time stops a bad parameter of any population before the first trial.
fn check_receptors(
    sim: &CellSimulator,
    network: &Network,
    network_param: &std::path::Path,
) -> anyhow::Result<()> {
    let receptors = SynapseInputs::from_network(network, &TrialInput::default());
    for (pop, rs) in receptors.populations.iter().zip(&receptors.receptors) {
        let one = SynapseInputs {
            populations: vec![pop.clone()],
            receptors: vec![rs.clone()],
            ..Default::default()
        };
        sim.check_inputs(&one).map_err(|e| {
            anyhow::anyhow!(
                "{}: population `{pop}` (network.{pop}.synapses.receptors): {e}",
                network_param.display()
            )
        })?;
    }
    Ok(())
}

/// The synaptic input of a built recipe.
#[derive(Debug)]
pub enum BuiltInputs {
    /// No synapses.
    None,
    /// The network placed on the cell; trials draw from it.
    Network(Network),
    /// The replayed activation file mapped onto the cell.
    Replay(ReplayTrial),
}

/// A recipe built: ready for trials, shared immutably by the threads that run them.
#[derive(Debug)]
pub struct BuiltRecipe {
    /// The cell and its solver model.
    pub sim: CellSimulator,
    /// Stop time \[ms\].
    pub tstop_ms: f64,
    /// The cell parameter file as simulated (stop time and step overrides written into it).
    pub cell_params: CellParams,
    /// The network parameter file as simulated (embedding override written into it), if any.
    pub network_params: Option<NetworkParams>,
    /// The synaptic input.
    pub inputs: BuiltInputs,
    /// Every file the recipe was built from beyond the parameter files: morphology, recording
    /// sites, synapse realizations or the replayed activation file.
    pub input_files: Vec<PathBuf>,
}

impl BuiltRecipe {
    /// The network, for a recipe with [`Inputs::Network`].
    pub fn network(&self) -> anyhow::Result<&Network> {
        match &self.inputs {
            BuiltInputs::Network(n) => Ok(n),
            _ => anyhow::bail!("the recipe of {} has no network", self.cell_param_path()),
        }
    }

    /// The replayed trial, for a recipe with [`Inputs::Replay`].
    pub fn replay(&self) -> anyhow::Result<&ReplayTrial> {
        match &self.inputs {
            BuiltInputs::Replay(r) => Ok(r),
            _ => anyhow::bail!("the recipe of {} replays no file", self.cell_param_path()),
        }
    }

    fn cell_param_path(&self) -> String {
        self.cell_params.file.path.display().to_string()
    }

    /// The parameter files as simulated, as ISF copies them beside its results:
    /// (`neuron_model.param` | `network_model.param`, JSON bytes).
    pub fn parameter_files(&self) -> Vec<(String, Vec<u8>)> {
        let mut out = vec![(
            "neuron_model.param".to_string(),
            self.cell_params.file.to_json_pretty().into_bytes(),
        )];
        if let Some(n) = &self.network_params {
            out.push((
                "network_model.param".to_string(),
                n.file.to_json_pretty().into_bytes(),
            ));
        }
        out
    }

    /// Samples per trace: NEURON's accumulated time column (`t += dt/2` twice per step while
    /// `t < tStop`) plus the sample at t = 0.
    pub fn n_samples(&self) -> usize {
        let dt = self.sim.dt_ms();
        let stop = hoc_tstop(self.tstop_ms);
        let (mut t, mut n_samples) = (0.0f64, 1usize);
        while t < stop {
            t += 0.5 * dt;
            t += 0.5 * dt;
            n_samples += 1;
        }
        n_samples
    }

    /// Presynaptic population names (the network's order); empty without a network.
    pub fn population_names(&self) -> Vec<String> {
        match &self.inputs {
            BuiltInputs::Network(n) => n.model.populations.iter().map(|p| p.name.clone()).collect(),
            _ => Vec::new(),
        }
    }

    /// The network's synapse table: per population and synapse id, the position columns ISF
    /// writes to its synapse activation files; `None` without a network.
    pub fn synapse_positions(&self) -> Option<SynapsePositions> {
        let BuiltInputs::Network(network) = &self.inputs else {
            return None;
        };
        let map = &network.map;
        let mut labels: Vec<String> = Vec::new();
        let section_label: Vec<u32> = map
            .section_labels
            .iter()
            .map(|l| match labels.iter().position(|x| x == l) {
                Some(i) => i as u32,
                None => {
                    labels.push(l.clone());
                    (labels.len() - 1) as u32
                }
            })
            .collect();
        let populations = map
            .populations
            .iter()
            .map(|syns| {
                syns.iter()
                    .map(|m| SynapsePosition {
                        soma_distance_um: m.soma_distance_um,
                        section_id: m.section as u32,
                        section_pt_id: m.pt_id as u32,
                        label: section_label[m.section],
                    })
                    .collect()
            })
            .collect();
        Some(SynapsePositions {
            populations,
            labels,
        })
    }

    /// Draws the network activity of one trial, continuing the stream `rng`.
    pub fn draw(
        &self,
        rng: &mut RandomState,
        scratch: &mut TrialScratch,
    ) -> anyhow::Result<TrialInput> {
        Ok(self.network()?.draw_trial(rng, scratch)?)
    }

    /// Simulates a drawn trial: traces, spikes, synapse activations and the presynaptic spikes
    /// (the identity fields of the result are left for the caller).
    pub fn simulate(&self, drawn: &TrialInput) -> anyhow::Result<TrialResult> {
        let network = self.network()?;
        let inputs = SynapseInputs::from_network(network, drawn);
        let mut result = self.sim.run(&inputs, self.tstop_ms)?;
        result.presynaptic_spikes = presynaptic_spikes(drawn);
        Ok(result)
    }

    /// [`BuiltRecipe::simulate`] of several drawn trials, side by side in batches
    /// ([`CellSimulator::run_many`]); the same results.
    pub fn simulate_many(&self, drawn: &[TrialInput]) -> anyhow::Result<Vec<TrialResult>> {
        let network = self.network()?;
        let inputs: Vec<SynapseInputs> = drawn
            .iter()
            .map(|d| SynapseInputs::from_network(network, d))
            .collect();
        let refs: Vec<&SynapseInputs> = inputs.iter().collect();
        let mut results = self.sim.run_many(&refs, self.tstop_ms)?;
        for (r, d) in results.iter_mut().zip(drawn) {
            r.presynaptic_spikes = presynaptic_spikes(d);
        }
        Ok(results)
    }

    /// The rows of ISF's synapse activation and presynaptic cells files of a drawn trial, sorted
    /// as ISF writes them (the same rows the ISF export writes from a simulated trial's result).
    pub fn isf_rows(
        &self,
        drawn: &TrialInput,
    ) -> anyhow::Result<(Vec<SynapseActivationRow>, Vec<PresynapticCellRow>)> {
        let activity = TrialResult {
            synapse_activations: (drawn.synapses.iter().enumerate())
                .map(|(i, s)| SynapseActivation {
                    population: s.population,
                    synapse_id: s.synapse_id,
                    times_ms: drawn.release_times(i).to_vec(),
                })
                .collect(),
            presynaptic_spikes: presynaptic_spikes(drawn),
            ..TrialResult::default()
        };
        let positions = self.synapse_positions().unwrap_or_default();
        isf_rows(&activity, &self.population_names(), &positions).map_err(anyhow::Error::msg)
    }

    /// Simulates the replayed activation file.
    pub fn simulate_replay(&self) -> anyhow::Result<TrialResult> {
        Ok(self.sim.run(&self.replay()?.inputs, self.tstop_ms)?)
    }

    /// Reads a further activation file for this replay recipe's cell, with its network parameter
    /// file, checked as the recipe's own file was.
    pub fn read_replay(&self, synapses: &Path) -> anyhow::Result<ReplayTrial> {
        self.replay()?;
        let params = (self.network_params.as_ref())
            .ok_or_else(|| anyhow::anyhow!("a replay's recipe has no network parameter file"))?;
        Ok(ReplayTrial::read(&self.sim, params, synapses)?)
    }

    /// Simulates replayed trials until the recipe's stop time: side by side in batches
    /// ([`CellSimulator::run_many`]), the batches on rayon's threads; the results, in order, are
    /// those of simulating each trial alone.
    pub fn simulate_replays(&self, trials: &[&ReplayTrial]) -> anyhow::Result<Vec<TrialResult>> {
        use rayon::prelude::*;
        let inputs: Vec<&SynapseInputs> = trials.iter().map(|t| &t.inputs).collect();
        let chunks: Vec<Vec<TrialResult>> = inputs
            .par_chunks(crate::trial::default_lanes())
            .map(|c| self.sim.run_many(c, self.tstop_ms))
            .collect::<Result<_, _>>()?;
        Ok(chunks.into_iter().flatten().collect())
    }
}

/// The presynaptic cells of a drawn trial that spiked, with their spike times.
fn presynaptic_spikes(drawn: &TrialInput) -> Vec<PresynapticSpikes> {
    let mut out = Vec::new();
    for (p, spikes) in drawn.presynaptic.iter().enumerate() {
        for c in 0..spikes.cells() {
            if !spikes.cell(c).is_empty() {
                out.push(PresynapticSpikes {
                    population: p as u32,
                    cell_id: c as u32,
                    times_ms: spikes.cell(c).to_vec(),
                });
            }
        }
    }
    out
}
