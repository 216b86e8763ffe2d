//! The layout of isf's results file (format `isf-results`), as data: every group, dataset and
//! attribute name, element type and chunk size that the writer (`isf::output::results_h5`) creates
//! and the reader (`isf_post::import_results`) expects, and the `commit_state` word layout. Both
//! take the names from here, so renaming a dataset changes writer and reader together. No HDF5
//! here: element types are described by [`Elem`], which each side maps to its own HDF5 type.
//!
//! ```text
//! /                      attrs: format, format_version, batch_size, n_trials_total, n_batches_total,
//!                               commit_state (u64[2 + 6·cells]), commit_state_fields
//! /trials/{trial_id,cell_id,seed,sweep,n_soma_spikes,wall_time_s,rank}   one row per trial
//! /cells/<cell>/         attrs: cell_id, first_trial_id, n_trials, population_names, site_labels
//!     t_ms                     f64 [sample]            the solver's time column (thinned)
//!     soma_vm                  f32 [trial × sample]    attrs t0, dt, units = "mV", t_units
//!     sites/<label>            f32 [trial × sample]    attrs t0, dt, units, t_units, label
//!     synapse_activations/{trial_start,trial_count} per trial (rows of this cell)
//!                         {population,synapse_id,times_start,times_count} per active synapse
//!                         times_ms values
//!     presynaptic_spikes/  same with cell_id instead of synapse_id
//!     synapses/{population,synapse_id,soma_distance_um,section_id,section_pt_id,dendrite_label}
//!                              one row per synapse of the cell; attr label_names      [version 2]
//!     parameterfiles/<name>    u8 UTF-8: the parameter files as simulated          [version 2]
//!     all_segments/vm          f32 [trial × segment × sample]   only with `[record]
//!                              all_segments_every_k_steps`; t_ms, section, segment, x per segment
//! /spikes/<cell>/{timestamps (f64, units "ms"), node_ids (u64 = trial index in the cell)}
//!                        attr sorting (enum none/by_id/by_time) = by_id   (SONATA)
//! /provenance            attrs: isf_version, git_commit, command_line, config_path,
//!                        config_sha256, start_time, end_time, last_resumed, n_ranks, n_threads,
//!                        models, input_files, input_sha256;
//!                        datasets config_text, files/<i> (u8, UTF-8 text; attrs path, sha256)
//! ```

/// Format name stored in the root attribute [`attr::FORMAT`].
pub const FORMAT: &str = "isf-results";

/// Version of the layout. Version 2 added the per-cell synapse table ([`cell::SYNAPSES`]) and
/// the simulated parameter files ([`cell::PARAMETER_FILES`]); everything of version 1 is
/// unchanged, and readers accept every version up to this one.
pub const FORMAT_VERSION: u32 = 2;

/// Element type of a dataset or attribute.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Elem {
    /// Unsigned byte (UTF-8 text).
    U8,
    /// 32-bit unsigned integer.
    U32,
    /// 64-bit unsigned integer.
    U64,
    /// Single-precision float (traces).
    F32,
    /// Double-precision float (times).
    F64,
}

impl Elem {
    /// Bytes per element.
    pub const fn size(self) -> u64 {
        match self {
            Elem::U8 => 1,
            Elem::U32 | Elem::F32 => 4,
            Elem::U64 | Elem::F64 => 8,
        }
    }
}

/// A growable 1-D dataset: its name, element type and chunk length (rows).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Column {
    /// Dataset name within its group.
    pub name: &'static str,
    /// Element type.
    pub elem: Elem,
    /// Rows per chunk.
    pub chunk: usize,
}

const fn col(name: &'static str, elem: Elem, chunk: usize) -> Column {
    Column { name, elem, chunk }
}

/// Attributes of the root group.
pub mod attr {
    /// Format name ([`super::FORMAT`]).
    pub const FORMAT: &str = "format";
    /// Layout version ([`super::FORMAT_VERSION`]).
    pub const FORMAT_VERSION: &str = "format_version";
    /// Trials per batch.
    pub const BATCH_SIZE: &str = "batch_size";
    /// Trials of the run.
    pub const N_TRIALS_TOTAL: &str = "n_trials_total";
    /// Batches of the run.
    pub const N_BATCHES_TOTAL: &str = "n_batches_total";
    /// The committed sizes (see [`super::CommitState`]), written last for every batch.
    pub const COMMIT_STATE: &str = "commit_state";
    /// The names of the words of `commit_state` ([`super::CommitState::field_names`]).
    pub const COMMIT_STATE_FIELDS: &str = "commit_state_fields";
}

/// The trial index table: group name.
pub const TRIALS: &str = "trials";

/// Columns of [`TRIALS`], one row per trial, in the order they are written.
pub mod trials {
    use super::{col, Column, Elem};
    /// Global trial id.
    pub const TRIAL_ID: Column = col("trial_id", Elem::U64, 1024);
    /// Cell index (config order).
    pub const CELL_ID: Column = col("cell_id", Elem::U32, 1024);
    /// The trial's seed.
    pub const SEED: Column = col("seed", Elem::U64, 1024);
    /// The trial's sweep.
    pub const SWEEP: Column = col("sweep", Elem::U32, 1024);
    /// Soma spikes of the trial.
    pub const N_SOMA_SPIKES: Column = col("n_soma_spikes", Elem::U64, 1024);
    /// Wall time of the trial \[s\].
    pub const WALL_TIME_S: Column = col("wall_time_s", Elem::F64, 1024);
    /// The rank that simulated it.
    pub const RANK: Column = col("rank", Elem::U32, 1024);
    /// Every column, in creation order.
    pub const ALL: [Column; 7] = [
        TRIAL_ID,
        CELL_ID,
        SEED,
        SWEEP,
        N_SOMA_SPIKES,
        WALL_TIME_S,
        RANK,
    ];
}

/// The per-cell groups: `/cells/<cell>`.
pub const CELLS: &str = "cells";

/// Names within `/cells/<cell>`.
pub mod cell {
    /// Attribute: the cell's index in the config.
    pub const CELL_ID: &str = "cell_id";
    /// Attribute: global id of its first trial.
    pub const FIRST_TRIAL_ID: &str = "first_trial_id";
    /// Attribute: its number of trials.
    pub const N_TRIALS: &str = "n_trials";
    /// Attribute: presynaptic population names (indexed by the ragged `population` columns).
    pub const POPULATION_NAMES: &str = "population_names";
    /// Attribute: recording-site labels.
    pub const SITE_LABELS: &str = "site_labels";
    /// The (thinned) time column, f64 \[sample\].
    pub const T_MS: &str = "t_ms";
    /// The soma trace, f32 \[trial × sample\], chunk one trial.
    pub const SOMA_VM: &str = "soma_vm";
    /// Group of the site traces (see [`super::site_dataset_name`]).
    pub const SITES: &str = "sites";
    /// Group of the synapse table (version 2).
    pub const SYNAPSES: &str = "synapses";
    /// Group of the simulated parameter files (version 2), u8 datasets named by file.
    pub const PARAMETER_FILES: &str = "parameterfiles";
    /// The run's recording of every segment (`[record] all_segments_every_k_steps`), present
    /// only when recorded: `all_segments/{vm, t_ms, section, segment, x}`.
    pub mod all_segments {
        /// Group name within `/cells/<cell>`.
        pub const GROUP: &str = "all_segments";
        /// f32 \[trial × segment × sample\], chunk one segment of one trial; trace attributes.
        pub const VM: &str = "vm";
        /// f64 \[sample\]: the solver's time column, every k-th sample.
        pub const T_MS: &str = "t_ms";
        /// u32 \[segment\]: section index (hoc order).
        pub const SECTION: &str = "section";
        /// u32 \[segment\]: segment index within the section.
        pub const SEGMENT: &str = "segment";
        /// f64 \[segment\]: the segment centre's relative position along its section.
        pub const X: &str = "x";
        /// Attribute of `vm`: the k of every k-th step.
        pub const EVERY_K_STEPS: &str = "every_k_steps";
    }
    /// Attributes of every trace dataset.
    pub mod trace_attr {
        /// First sample time \[ms\].
        pub const T0: &str = "t0";
        /// Sample interval \[ms\].
        pub const DT: &str = "dt";
        /// Units of the values (`mV`).
        pub const UNITS: &str = "units";
        /// Units of `t0` and `dt` (`ms`).
        pub const T_UNITS: &str = "t_units";
        /// The recording site's label (site traces only).
        pub const LABEL: &str = "label";
    }
}

/// Dataset name of recording site `i` with `label` within [`cell::SITES`]: the label, unless it
/// is not a valid HDF5 link name.
pub fn site_dataset_name(i: usize, label: &str) -> String {
    if label.is_empty() || label.contains('/') || label == "." || label == ".." {
        format!("site_{i:03}")
    } else {
        label.to_string()
    }
}

/// A ragged activation group of a cell: per trial a range of item rows, per item a range of times.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ragged {
    /// Group name within `/cells/<cell>`.
    pub group: &'static str,
    /// Name of the per-item id column (`synapse_id`, `cell_id`).
    pub id: &'static str,
    /// Index of its item-row count in a [`CellCommit`].
    pub rows_field: usize,
    /// Index of its time count in a [`CellCommit`].
    pub times_field: usize,
}

impl Ragged {
    /// Per trial: first item row.
    pub const TRIAL_START: Column = col("trial_start", Elem::U64, 1024);
    /// Per trial: item rows.
    pub const TRIAL_COUNT: Column = col("trial_count", Elem::U64, 1024);
    /// Per item: population index.
    pub const POPULATION: Column = col("population", Elem::U32, 4096);
    /// Per item: first time.
    pub const TIMES_START: Column = col("times_start", Elem::U64, 4096);
    /// Per item: number of times.
    pub const TIMES_COUNT: Column = col("times_count", Elem::U64, 4096);
    /// The times \[ms\].
    pub const TIMES_MS: Column = col("times_ms", Elem::F64, 8192);

    /// The per-item id column.
    pub const fn id_column(&self) -> Column {
        col(self.id, Elem::U32, 4096)
    }
}

/// Synapse activations of a cell (`id` = synapse index within its population).
pub const SYNAPSE_ACTIVATIONS: Ragged = Ragged {
    group: "synapse_activations",
    id: "synapse_id",
    rows_field: cell_commit::SYNAPSE_ROWS,
    times_field: cell_commit::SYNAPSE_TIMES,
};

/// Presynaptic spikes of a cell (`id` = presynaptic cell index within its population).
pub const PRESYNAPTIC_SPIKES: Ragged = Ragged {
    group: "presynaptic_spikes",
    id: "cell_id",
    rows_field: cell_commit::PRESYNAPTIC_ROWS,
    times_field: cell_commit::PRESYNAPTIC_TIMES,
};

/// The synapse table `/cells/<cell>/synapses` (version 2): one row per synapse.
pub mod synapses {
    use super::{Column, Elem};
    const fn fixed(name: &'static str, elem: Elem) -> Column {
        Column {
            name,
            elem,
            chunk: 0,
        }
    }
    /// Population index.
    pub const POPULATION: Column = fixed("population", Elem::U32);
    /// Synapse index within its population.
    pub const SYNAPSE_ID: Column = fixed("synapse_id", Elem::U32);
    /// Path distance to the soma \[µm\].
    pub const SOMA_DISTANCE_UM: Column = fixed("soma_distance_um", Elem::F64);
    /// ISF's section id.
    pub const SECTION_ID: Column = fixed("section_id", Elem::U32);
    /// ISF's point id within the section.
    pub const SECTION_PT_ID: Column = fixed("section_pt_id", Elem::U32);
    /// Index into the attribute [`LABEL_NAMES`].
    pub const DENDRITE_LABEL: Column = fixed("dendrite_label", Elem::U32);
    /// Attribute: the dendrite label names.
    pub const LABEL_NAMES: &str = "label_names";
}

/// SONATA spikes: `/spikes/<cell>`.
pub const SPIKES: &str = "spikes";

/// Names within `/spikes/<cell>`.
pub mod spikes {
    use super::{col, Column, Elem};
    /// Spike times \[ms\].
    pub const TIMESTAMPS: Column = col("timestamps", Elem::F64, 4096);
    /// Node id = trial index within the cell.
    pub const NODE_IDS: Column = col("node_ids", Elem::U64, 4096);
    /// Attribute: SONATA's sorting enum (`none` 0, `by_id` 1, `by_time` 2).
    pub const SORTING: &str = "sorting";
}

/// The provenance group.
pub const PROVENANCE: &str = "provenance";

/// Names within [`PROVENANCE`].
pub mod provenance {
    /// isf version.
    pub const ISF_VERSION: &str = "isf_version";
    /// Git commit of the build.
    pub const GIT_COMMIT: &str = "git_commit";
    /// The command line.
    pub const COMMAND_LINE: &str = "command_line";
    /// The config's path.
    pub const CONFIG_PATH: &str = "config_path";
    /// SHA-256 of the config's text (`--resume` refuses another config).
    pub const CONFIG_SHA256: &str = "config_sha256";
    /// Start time (RFC 3339, UTC).
    pub const START_TIME: &str = "start_time";
    /// End time.
    pub const END_TIME: &str = "end_time";
    /// Start time of the last `--resume`.
    pub const LAST_RESUMED: &str = "last_resumed";
    /// Ranks.
    pub const N_RANKS: &str = "n_ranks";
    /// Threads per rank.
    pub const N_THREADS: &str = "n_threads";
    /// The simulator of each cell.
    pub const MODELS: &str = "models";
    /// Paths of the input files.
    pub const INPUT_FILES: &str = "input_files";
    /// Their SHA-256 (`--resume` refuses changed inputs).
    pub const INPUT_SHA256: &str = "input_sha256";
    /// Dataset: the config's text.
    pub const CONFIG_TEXT: &str = "config_text";
    /// Group of the input files' texts (`000`, `001`, … with attrs [`PATH`], [`SHA256`]).
    pub const FILES: &str = "files";
    /// Attribute of a file's dataset: its path.
    pub const PATH: &str = "path";
    /// Attribute of a file's dataset: its SHA-256.
    pub const SHA256: &str = "sha256";
}

/// One cell's committed sizes, in `commit_state` order (indexes in [`cell_commit`]).
pub type CellCommit = [u64; 6];

/// Indexes of the words of a [`CellCommit`].
pub mod cell_commit {
    /// Trace rows (= committed trials of the cell).
    pub const TRACE_ROWS: usize = 0;
    /// Synapse activation rows.
    pub const SYNAPSE_ROWS: usize = 1;
    /// Synapse activation times.
    pub const SYNAPSE_TIMES: usize = 2;
    /// Presynaptic spike rows.
    pub const PRESYNAPTIC_ROWS: usize = 3;
    /// Presynaptic spike times.
    pub const PRESYNAPTIC_TIMES: usize = 4;
    /// Soma spikes.
    pub const SOMA_SPIKES: usize = 5;
}

/// Names of the words of a [`CellCommit`] (after `<cell>:` in `commit_state_fields`).
pub const CELL_FIELDS: [&str; 6] = [
    "trace_rows",
    "synapse_rows",
    "synapse_times",
    "presynaptic_rows",
    "presynaptic_times",
    "soma_spikes",
];

/// The `commit_state` attribute: complete batches, complete trials, then per cell (by
/// `cell_id`) its [`CellCommit`]. Readers trust only rows below these sizes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommitState {
    /// Complete batches.
    pub batches: u64,
    /// Complete trials.
    pub trials: u64,
    /// Per cell: committed sizes.
    pub cells: Vec<CellCommit>,
}

impl CommitState {
    /// Nothing committed, for `n_cells` cells.
    pub fn empty(n_cells: usize) -> Self {
        Self {
            batches: 0,
            trials: 0,
            cells: vec![[0; 6]; n_cells],
        }
    }

    /// The attribute's words.
    pub fn to_words(&self) -> Vec<u64> {
        let mut w = vec![self.batches, self.trials];
        for c in &self.cells {
            w.extend_from_slice(c);
        }
        w
    }

    /// Parses the attribute's words, whatever the number of cells; `None` unless there are
    /// 2 + 6·n of them.
    pub fn from_words(w: &[u64]) -> Option<Self> {
        if w.len() < 2 || (w.len() - 2) % CELL_FIELDS.len() != 0 {
            return None;
        }
        let cells = w[2..]
            .chunks(CELL_FIELDS.len())
            .map(|c| [c[0], c[1], c[2], c[3], c[4], c[5]])
            .collect();
        Some(Self {
            batches: w[0],
            trials: w[1],
            cells,
        })
    }

    /// The names of the words for cells named `cells` (the `commit_state_fields` attribute).
    pub fn field_names<'a>(cells: impl IntoIterator<Item = &'a str>) -> Vec<String> {
        let mut fields = vec!["batches".to_string(), "trials".to_string()];
        for c in cells {
            fields.extend(CELL_FIELDS.iter().map(|f| format!("{c}:{f}")));
        }
        fields
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commit_state_round_trips_and_refuses_ragged_words() {
        let s = CommitState {
            batches: 3,
            trials: 7,
            cells: vec![[3, 10, 40, 2, 5, 1], [4, 0, 0, 0, 0, 9]],
        };
        let w = s.to_words();
        assert_eq!(w.len(), 2 + 12);
        assert_eq!(CommitState::from_words(&w), Some(s));
        assert_eq!(CommitState::from_words(&w[..13]), None);
        assert_eq!(CommitState::from_words(&[1]), None);
        assert_eq!(
            CommitState::from_words(&[0, 0]),
            Some(CommitState::empty(0))
        );
        assert_eq!(CommitState::empty(2).to_words(), vec![0; 14]);
    }

    #[test]
    fn field_names_follow_the_words() {
        let names = CommitState::field_names(["a", "b"]);
        assert_eq!(names.len(), CommitState::empty(2).to_words().len());
        assert_eq!(names[..3], ["batches", "trials", "a:trace_rows"]);
        assert_eq!(names[2 + cell_commit::SOMA_SPIKES], "a:soma_spikes");
        assert_eq!(names[8 + cell_commit::SYNAPSE_TIMES], "b:synapse_times");
        assert_eq!(names[2 + SYNAPSE_ACTIVATIONS.rows_field], "a:synapse_rows");
        assert_eq!(
            names[2 + PRESYNAPTIC_SPIKES.times_field],
            "a:presynaptic_times"
        );
    }

    #[test]
    fn site_names_fall_back_to_the_index_when_not_a_link_name() {
        assert_eq!(site_dataset_name(2, "apical_400um"), "apical_400um");
        for bad in ["", ".", "..", "a/b"] {
            assert_eq!(site_dataset_name(7, bad), "site_007");
        }
    }
}
