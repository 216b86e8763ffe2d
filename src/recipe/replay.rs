//! Replay of saved synapse activations (ISF's `run_existing_synapse_activations`,
//! docs/models.md#replay): every synapse of an ISF synapse activation file is placed at its
//! (section, point), receives the receptors and weights of its population in the network parameter
//! file and plays exactly its saved release times.

use std::path::{Path, PathBuf};

use indexmap::IndexMap;

use crate::output::isf_files::{
    parse_synapse_activations, sort_presynaptic_rows, sort_synapse_rows,
    write_presynaptic_cells_file, write_synapse_activation_file, write_trace_file,
};
use crate::output::{OutputError, PresynapticCellRow, SynapseActivationRow};
use crate::param::network_params::{NetworkParams, ReleaseProb};
use crate::param::{ParamError, ParamFile};
use crate::trial::result::TrialResult;
use crate::trial::{ActiveSynapse, CellSimulator, Receptor, SynapseInputs, TrialError};

/// Errors of reading a synapse activation file for replay or writing a replay's files.
#[derive(Debug, thiserror::Error)]
pub enum ReplayError {
    /// The cell rejects the replayed synapses.
    #[error(transparent)]
    Trial(#[from] TrialError),
    /// A population's receptors in the network parameter file are invalid.
    #[error(transparent)]
    Param(#[from] ParamError),
    /// Reading the activation file or writing a result file failed.
    #[error(transparent)]
    Output(#[from] OutputError),
    /// A bad line of the synapse activation file.
    #[error("{}:{line}: {msg}", file.display())]
    Input {
        /// The file.
        file: PathBuf,
        /// 1-based line (0 when the whole file is concerned).
        line: usize,
        /// What is wrong.
        msg: String,
    },
}

/// `simulation_run0000000_synapses.csv`: replay numbers its runs with seven digits.
pub fn replay_synapse_file_name(run: usize) -> String {
    format!("simulation_run{run:07}_synapses.csv")
}

/// `simulation_run0000000_presynaptic_cells.csv`.
pub fn replay_presynaptic_file_name(run: usize) -> String {
    format!("simulation_run{run:07}_presynaptic_cells.csv")
}

/// A synapse activation file mapped onto a cell.
#[derive(Debug, Clone)]
pub struct ReplayTrial {
    /// What the runner simulates.
    pub inputs: SynapseInputs,
    /// The synapse activation rows ISF writes for the replayed trial: synapse IDs renumbered
    /// 0, 1, 2, … per population in file order, soma distances recomputed from the point
    /// position, sorted as ISF writes them.
    pub rows: Vec<SynapseActivationRow>,
}

impl ReplayTrial {
    /// Reads `file` and maps it onto `sim`'s cell with the receptors of `network`.
    pub fn read(
        sim: &CellSimulator,
        network: &NetworkParams,
        file: &Path,
    ) -> Result<ReplayTrial, ReplayError> {
        let text = crate::text::read_text(file).map_err(|e| match e {
            crate::text::ReadTextError::Io(e) => {
                OutputError::io(file, "cannot read the synapse activation file", e)
            }
            e => OutputError::File(isf_io::isf_files::FileError::Format {
                file: file.to_path_buf(),
                line: e.line(),
                message: e.to_string(),
            }),
        })?;
        Self::parse(sim, network, &text, file)
    }

    /// Like [`ReplayTrial::read`] from the file's text (`file` names it in errors).
    pub fn parse(
        sim: &CellSimulator,
        network: &NetworkParams,
        text: &str,
        file: &Path,
    ) -> Result<ReplayTrial, ReplayError> {
        let rows = parse_synapse_activations(text, file)?;
        if rows.iter().all(|r| r.times_ms.is_empty()) {
            return Err(ReplayError::Input {
                file: file.to_path_buf(),
                line: text.lines().count().max(1),
                msg: "no synapse is activated in this file: nothing to replay".into(),
            });
        }
        // Line of every data row (the reader skips blank and `#` lines).
        let lines: Vec<usize> = text
            .lines()
            .enumerate()
            .map(|(i, l)| (i + 1, l.strip_suffix('\r').unwrap_or(l)))
            .filter(|(_, l)| !l.trim().is_empty() && !l.starts_with('#'))
            .map(|(i, _)| i)
            .collect();
        let err = |row: usize, msg: String| ReplayError::Input {
            file: file.to_path_buf(),
            line: lines.get(row).copied().unwrap_or(0),
            msg,
        };
        let cell = &sim.template;

        // Populations in order of first appearance (ISF's dict of the file), with their receptors.
        let mut pop_index: IndexMap<&str, usize> = IndexMap::new();
        let mut next_id: Vec<u32> = Vec::new();
        let mut inputs = SynapseInputs::default();
        let mut weights_of: Vec<Vec<f64>> = Vec::new();
        let mut out_rows = Vec::with_capacity(rows.len());
        for (i, row) in rows.iter().enumerate() {
            let p = match pop_index.get(row.population.as_str()) {
                Some(&p) => p,
                None => {
                    let spec = network.population(&row.population).ok_or_else(|| {
                        err(
                            i,
                            format!(
                                "population `{}` is not in the network parameter file {}",
                                row.population,
                                network.file.path.display()
                            ),
                        )
                    })?;
                    network.check_population_receptors(spec)?;
                    if spec.synapses.release_prob == ReleaseProb::Dynamic {
                        let key = format!("network.{}.synapses.releaseProb", row.population);
                        let node = network.file.get_path(&key).unwrap_or(&network.file.root);
                        return Err(network
                            .file
                            .error_at(
                                node,
                                &key,
                                format!(
                                    "\"dynamic\" release seeds each synapse's Random from the \
                                     trial's random draws, which a replay of {} does not have \
                                     (the seed is missing): replay with a numeric releaseProb",
                                    file.display()
                                ),
                            )
                            .into());
                    }
                    let rs = &spec.synapses.receptors;
                    if let Some(r) = rs.iter().find(|r| r.weight_distribution.is_some()) {
                        return Err(err(
                            i,
                            format!(
                                "population `{}`, receptor `{}`: weightDistribution {:?} draws \
                                 random weights, which a replay cannot reproduce",
                                row.population,
                                r.name,
                                r.weight_distribution.as_deref().unwrap_or_default()
                            ),
                        ));
                    }
                    inputs.populations.push(row.population.clone());
                    inputs
                        .receptors
                        .push(rs.iter().map(Receptor::from_spec).collect());
                    weights_of.push(rs.iter().flat_map(|r| r.weight.iter().copied()).collect());
                    next_id.push(0);
                    pop_index.insert(row.population.as_str(), next_id.len() - 1);
                    next_id.len() - 1
                }
            };
            let synapse_id = next_id[p];
            next_id[p] += 1;
            let Some(sec) = cell.sections.get(row.section_id) else {
                return Err(err(
                    i,
                    format!(
                        "synapse of `{}` on section {}, but the cell has {} sections",
                        row.population,
                        row.section_id,
                        cell.sections.len()
                    ),
                ));
            };
            let Some(&x) = sec.rel_pts.get(row.section_pt_id) else {
                return Err(err(
                    i,
                    format!(
                        "synapse of `{}` at point {} of section {}, which has {} points",
                        row.population,
                        row.section_pt_id,
                        row.section_id,
                        sec.rel_pts.len()
                    ),
                ));
            };
            // ISF writes the section's label; another label means the file was made for another
            // cell (or the field was cut), and the synapse would sit somewhere unintended.
            if row.dendrite_label != sec.label {
                return Err(err(
                    i,
                    format!(
                        "dendrite label `{}` but section {} of the cell is `{}` (a file made for \
                         another morphology?)",
                        row.dendrite_label, row.section_id, sec.label
                    ),
                ));
            }
            let mut times = row.times_ms.clone();
            times.sort_by(f64::total_cmp);
            if times.is_empty() {
                // Never released: ISF creates no point process and writes no row.
                continue;
            }
            let r0 = inputs.release_times_ms.len();
            inputs.release_times_ms.extend_from_slice(&times);
            let w0 = inputs.weights.len();
            inputs.weights.extend_from_slice(&weights_of[p]);
            inputs.synapses.push(ActiveSynapse {
                population: p as u32,
                synapse_id,
                section: row.section_id,
                pt_id: row.section_pt_id,
                releases: r0..inputs.release_times_ms.len(),
                weights: w0..inputs.weights.len(),
                rng_seed: None,
            });
            out_rows.push(SynapseActivationRow {
                population: row.population.clone(),
                synapse_id: synapse_id as usize,
                soma_distance_um: cell.synaptic_soma_distance(row.section_id, x),
                section_id: row.section_id,
                section_pt_id: row.section_pt_id,
                dendrite_label: sec.label.clone(),
                times_ms: times,
            });
        }
        sim.check_inputs(&inputs)?;
        sort_synapse_rows(&mut out_rows);
        Ok(ReplayTrial {
            inputs,
            rows: out_rows,
        })
    }

    /// ISF's presynaptic cells file of a replay: one "cell" per synapse with its release times,
    /// numbered like the synapses.
    pub fn presynaptic_rows(&self) -> Vec<PresynapticCellRow> {
        let mut rows: Vec<PresynapticCellRow> = self
            .rows
            .iter()
            .map(|r| PresynapticCellRow {
                population: r.population.clone(),
                cell_id: r.synapse_id,
                times_ms: r.times_ms.clone(),
            })
            .collect();
        sort_presynaptic_rows(&mut rows);
        rows
    }
}

/// One replayed activation file: the file as named, its synapses mapped onto the cell and the
/// simulated trial.
#[derive(Debug, Clone, Copy)]
pub struct ReplayRun<'a> {
    /// The activation file as the user named it (listed in `synapse_file_paths.csv`).
    pub file: &'a Path,
    /// The replayed synapses.
    pub trial: &'a ReplayTrial,
    /// The simulated trial.
    pub result: &'a TrialResult,
}

/// The files of a replay of one or more activation files, as one task of ISF's replay writes
/// them into its result folder: one trace file per recording site with a column per run
/// (`Vm run 00`, `Vm run 01`, …, in the order of the files), per run `simulation_runNNNNNNN_*`
/// activation files, `synapse_file_paths.csv` (`synapse_file,number`) and the parameter files.
#[derive(Debug)]
pub struct ReplayFiles<'a> {
    /// File name prefix (ISF: `seed00000_pid<pid>`).
    pub prefix: &'a str,
    /// Recording-site labels, in the results' site order.
    pub site_labels: &'a [String],
    /// The runs, in the order of the files (at least one, all with the same sample times).
    pub runs: &'a [ReplayRun<'a>],
    /// Cell parameter file as used (tStop/dt overrides applied).
    pub cell_param: &'a ParamFile,
    /// Network parameter file.
    pub network_param: &'a ParamFile,
}

impl ReplayFiles<'_> {
    /// Writes every file into `dir` (each atomically); returns their paths.
    pub fn write(&self, dir: &Path) -> Result<Vec<PathBuf>, ReplayError> {
        let setting = |m: String| ReplayError::Trial(TrialError::Setting(m));
        let first = self
            .runs
            .first()
            .ok_or_else(|| setting("a replay without runs".into()))?;
        let t_ms = &first.result.t_ms;
        for run in self.runs {
            let r = run.result;
            if r.t_ms != *t_ms {
                return Err(setting(format!(
                    "{}: its trial has other sample times than {}'s",
                    run.file.display(),
                    first.file.display()
                )));
            }
            if self.site_labels.len() != r.site_vm_mv.len() {
                return Err(setting(format!(
                    "{} site labels for {} site traces",
                    self.site_labels.len(),
                    r.site_vm_mv.len()
                )));
            }
        }
        let mut written = Vec::new();
        let p = dir.join(format!("{}_vm_all_traces.csv", self.prefix));
        let soma: Vec<&[f64]> = self.runs.iter().map(|r| &r.result.soma_vm_mv[..]).collect();
        write_trace_file(&p, t_ms, &soma)?;
        written.push(p);
        for (k, label) in self.site_labels.iter().enumerate() {
            let p = dir.join(format!("{}_{label}_vm_dend_traces.csv", self.prefix));
            let site: Vec<&[f64]> = self
                .runs
                .iter()
                .map(|r| &r.result.site_vm_mv[k][..])
                .collect();
            write_trace_file(&p, t_ms, &site)?;
            written.push(p);
        }
        for (n, run) in self.runs.iter().enumerate() {
            let p = dir.join(replay_synapse_file_name(n));
            write_synapse_activation_file(&p, &run.trial.rows)?;
            written.push(p);
            let p = dir.join(replay_presynaptic_file_name(n));
            write_presynaptic_cells_file(&p, &run.trial.presynaptic_rows())?;
            written.push(p);
        }
        let p = dir.join(SYNAPSE_FILE_PATHS);
        crate::output::write_atomic(&p, &synapse_file_paths(self.runs)?)?;
        written.push(p);
        for (suffix, file) in [
            ("neuron_model", self.cell_param),
            ("network_model", self.network_param),
        ] {
            let p = dir.join(format!("{}_{suffix}.param", self.prefix));
            crate::output::write_atomic(&p, file.to_json_pretty().as_bytes())?;
            written.push(p);
        }
        Ok(written)
    }
}

/// The list of a replay's activation files beside its results.
pub const SYNAPSE_FILE_PATHS: &str = "synapse_file_paths.csv";

/// `synapse_file_paths.csv`: a header `synapse_file,number`, then per run the file as named and
/// its number as in the activation files' names (`%07d`), CSV-quoted where a path needs it.
fn synapse_file_paths(runs: &[ReplayRun]) -> Result<Vec<u8>, ReplayError> {
    let invalid = |e: &dyn std::fmt::Display| {
        ReplayError::Output(OutputError::Invalid {
            path: PathBuf::from(SYNAPSE_FILE_PATHS),
            msg: e.to_string(),
        })
    };
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record(["synapse_file", "number"])
        .map_err(|e| invalid(&e))?;
    for (n, run) in runs.iter().enumerate() {
        w.write_record([run.file.to_string_lossy().as_ref(), &format!("{n:07}")])
            .map_err(|e| invalid(&e))?;
    }
    w.into_inner().map_err(|e| invalid(&e))
}
