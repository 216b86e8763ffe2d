//! The shape of a run's results, identical on every rank (from the config and the cell
//! descriptions: batches, cells, samples, recording sites), and the provenance of the run; every
//! sink is built from them.

use crate::trial::result::SynapsePositions;

/// The shape of the file, identical on every rank (from the config and the cell descriptions).
#[derive(Debug, Clone)]
pub struct ResultsLayout {
    /// Trials per batch.
    pub batch_size: u64,
    /// Trials in the run.
    pub n_trials: u64,
    /// Keep every k-th sample.
    pub every_k_steps: usize,
    /// Record the soma trace.
    pub record_soma: bool,
    /// Record every segment, every k-th sample (`Some(k)`).
    pub all_segments_every_k: Option<usize>,
    /// Cells in config order.
    pub cells: Vec<CellLayout>,
}

/// One cell's part of the layout.
#[derive(Debug, Clone)]
pub struct CellLayout {
    /// Group name.
    pub name: String,
    /// Global id of its first trial.
    pub first_trial_id: u64,
    /// Its number of trials.
    pub n_trials: u64,
    /// Samples per trial before thinning.
    pub n_samples: usize,
    /// First sample time \[ms\].
    pub t0_ms: f64,
    /// Solver step \[ms\].
    pub dt_ms: f64,
    /// Recording-site labels.
    pub site_labels: Vec<String>,
    /// Presynaptic population names.
    pub population_names: Vec<String>,
    /// Where every synapse sits (written once, as `synapses/`), if the model has anatomy.
    pub synapse_positions: Option<SynapsePositions>,
    /// Parameter files as simulated (name, bytes), written once as `parameterfiles/<name>`.
    pub parameter_files: Vec<(String, Vec<u8>)>,
    /// Every segment (section, segment index, x) when all are recorded, else empty.
    pub segments: Vec<(u32, u32, f64)>,
}

impl CellLayout {
    /// Samples per trial kept when every `k`-th is stored.
    pub fn n_out(&self, k: usize) -> usize {
        self.n_samples.div_ceil(k)
    }
}

impl ResultsLayout {
    /// Number of batches.
    pub fn n_batches(&self) -> u64 {
        self.n_trials.div_ceil(self.batch_size)
    }

    /// Global trial ids of batch `b`.
    pub fn batch_trials(&self, b: u64) -> std::ops::Range<u64> {
        b * self.batch_size..((b + 1) * self.batch_size).min(self.n_trials)
    }

    /// The cell (index) that trial `trial_id` belongs to.
    pub fn cell_of(&self, trial_id: u64) -> usize {
        self.cells
            .iter()
            .position(|c| trial_id < c.first_trial_id + c.n_trials)
            .unwrap_or(self.cells.len() - 1)
    }
}

/// Provenance of a run: what made the file.
#[derive(Debug, Clone, Default)]
pub struct Provenance {
    /// isf version.
    pub isf_version: String,
    /// Git commit of the build ("unknown" outside a checkout).
    pub git_commit: String,
    /// The command line.
    pub command_line: String,
    /// The config file's path.
    pub config_path: String,
    /// Its text.
    pub config_text: String,
    /// Input files: (path, text, SHA-256 hex).
    pub files: Vec<(String, Vec<u8>, String)>,
    /// Start time (RFC 3339, UTC).
    pub start_time: String,
    /// Ranks.
    pub n_ranks: u32,
    /// Threads per rank.
    pub n_threads: u32,
    /// The simulator of each cell.
    pub models: Vec<String>,
}

/// SHA-256 of `bytes` as lower-case hex.
pub fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cell(name: &str, first: u64, n: u64) -> CellLayout {
        CellLayout {
            name: name.into(),
            first_trial_id: first,
            n_trials: n,
            n_samples: 10,
            t0_ms: 0.0,
            dt_ms: 0.025,
            site_labels: vec![],
            population_names: vec![],
            synapse_positions: None,
            parameter_files: vec![],
            segments: vec![],
        }
    }

    #[test]
    fn batches_cover_the_trials_once_and_trials_map_to_their_cell() {
        let l = ResultsLayout {
            batch_size: 3,
            n_trials: 7,
            every_k_steps: 4,
            record_soma: true,
            all_segments_every_k: None,
            cells: vec![cell("a", 0, 3), cell("b", 3, 4)],
        };
        assert_eq!(l.n_batches(), 3);
        let all: Vec<u64> = (0..l.n_batches()).flat_map(|b| l.batch_trials(b)).collect();
        assert_eq!(all, (0..7).collect::<Vec<_>>());
        assert_eq!(l.batch_trials(2), 6..7);
        let cells: Vec<usize> = (0..7).map(|t| l.cell_of(t)).collect();
        assert_eq!(cells, [0, 0, 0, 1, 1, 1, 1]);
        // 10 samples, every 4th kept: samples 0, 4, 8.
        assert_eq!(l.cells[0].n_out(4), 3);
        assert_eq!(l.cells[0].n_out(1), 10);
    }

    #[test]
    fn sha256_is_lower_case_hex() {
        assert_eq!(
            sha256_hex(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
