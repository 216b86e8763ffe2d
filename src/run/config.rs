//! Run configs (`configs/*.toml`): which cells to simulate, how many trials each, what to record
//! and where to write it. Relative paths are relative to the config file's folder.

use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::RunError;
use crate::mechanisms::Numerics;

/// The config file as written (see `configs/example.toml` for a commented example).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RunConfigFile {
    /// Results file (HDF5).
    pub output: PathBuf,
    /// Also write every trial in ISF's output format, one folder per cell below this folder
    /// (see [`crate::output::isf_export`]).
    pub isf_folder: Option<PathBuf>,
    /// Base of every trial seed (see [`super::seeds`]).
    pub base_seed: u64,
    /// Trials per written batch (a batch is the unit of visibility and of `--resume`).
    #[serde(default = "default_batch_size")]
    pub batch_size: i64,
    /// What each trial records.
    #[serde(default)]
    pub record: RecordConfig,
    /// The cells, in order (their index is the `cell_id`).
    #[serde(rename = "cell")]
    pub cells: Vec<CellConfigFile>,
    /// Compiled-mechanism catalogues (`isf mech build`), relative to the config file.
    #[serde(default)]
    pub mechanisms: Vec<PathBuf>,
    /// Built-ins that a compiled mechanism of the same name replaces.
    #[serde(default)]
    pub replace_builtins: Vec<String>,
}

fn default_batch_size() -> i64 {
    16
}

/// Recording choices.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct RecordConfig {
    /// Record the soma trace.
    #[serde(default = "yes")]
    pub soma: bool,
    /// Record the cell's recording sites (landmark files of the cell param).
    #[serde(default = "yes")]
    pub sites: bool,
    /// Extra segments to record, each as `{ section = ID, x = 0.5 }`.
    #[serde(default)]
    pub segments: Vec<SegmentConfig>,
    /// Keep every k-th sample of each trace (1 = all).
    #[serde(default = "one")]
    pub every_k_steps: i64,
    /// Also record the membrane potential of every segment of the cell, every k-th step (stored
    /// as f32 in `cells/<cell>/all_segments/`); absent: not recorded.
    #[serde(default)]
    pub all_segments_every_k_steps: Option<i64>,
}

fn yes() -> bool {
    true
}
fn one() -> i64 {
    1
}

impl Default for RecordConfig {
    fn default() -> Self {
        Self {
            soma: true,
            sites: true,
            segments: Vec::new(),
            every_k_steps: 1,
            all_segments_every_k_steps: None,
        }
    }
}

/// A segment to record: section index (hoc order) and position along it.
#[derive(Debug, Clone, Copy, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct SegmentConfig {
    /// Section index in file order.
    pub section: u32,
    /// Relative position 0..=1.
    pub x: f64,
}

/// Which simulator produces the trials.
#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq, Default)]
#[serde(rename_all = "kebab-case")]
pub enum ModelKind {
    /// The isf cell + network simulation.
    #[default]
    Isf,
    /// A deterministic stand-in that produces trial-shaped data from the seed alone; for testing the
    /// run layer only (built with the `test-support` feature). Files made with it say so in their
    /// provenance; they are not results.
    #[cfg(feature = "test-support")]
    SyntheticTestFixture,
}

/// One cell of the config as written.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CellConfigFile {
    /// Name of the cell's group in the results file (default: the cell param's file stem).
    pub name: Option<String>,
    /// Cell (neuron) parameter file.
    pub cell_param: PathBuf,
    /// Network parameter file.
    pub network_param: PathBuf,
    /// Anatomical embedding (`.con` file; its `.syn` is found beside it) replacing the one named
    /// in the network param.
    pub embedding: Option<PathBuf>,
    /// Number of trials.
    pub trials: i64,
    /// Sweeps simulated from one seed (ISF's `nSweeps` per task); default 1.
    #[serde(default = "one")]
    pub sweeps_per_seed: i64,
    /// Overrides the cell param's `tStop` \[ms\].
    pub t_stop_ms: Option<f64>,
    /// Overrides the cell param's `dt` \[ms\].
    pub dt_ms: Option<f64>,
    /// `"fast"` (default) or `"exact"` (NEURON's operation order).
    #[serde(default)]
    pub numerics: Numerics,
    /// The simulator (default `isf`).
    #[serde(default)]
    pub model: ModelKind,
}

/// A validated run config with absolute paths and the texts it was read from.
#[derive(Debug, Clone)]
pub struct RunConfig {
    /// The config file.
    pub path: PathBuf,
    /// Its text, verbatim (stored in the results' provenance).
    pub text: String,
    /// Results file.
    pub output: PathBuf,
    /// ISF-format export folder (absolute), if any.
    pub isf_folder: Option<PathBuf>,
    /// Base seed.
    pub base_seed: u64,
    /// Trials per batch (≥ 1).
    pub batch_size: u64,
    /// Recording choices.
    pub record: RecordConfig,
    /// Cells in order.
    pub cells: Vec<CellConfig>,
    /// Compiled-mechanism catalogues (absolute paths).
    pub mechanisms: Vec<PathBuf>,
    /// Built-ins that compiled mechanisms replace.
    pub replace_builtins: Vec<String>,
}

/// One validated cell.
#[derive(Debug, Clone)]
pub struct CellConfig {
    /// Index in the config (= `cell_id`).
    pub index: u32,
    /// Unique name (results group and SONATA population).
    pub name: String,
    /// Cell param file (absolute).
    pub cell_param: PathBuf,
    /// Network param file (absolute).
    pub network_param: PathBuf,
    /// Embedding override (absolute).
    pub embedding: Option<PathBuf>,
    /// Number of trials (≥ 1).
    pub trials: u64,
    /// Sweeps per seed (≥ 1).
    pub sweeps_per_seed: u32,
    /// `tStop` override \[ms\].
    pub t_stop_ms: Option<f64>,
    /// `dt` override \[ms\].
    pub dt_ms: Option<f64>,
    /// How the mechanisms' equations are evaluated.
    pub numerics: Numerics,
    /// Simulator.
    pub model: ModelKind,
}

impl RunConfig {
    /// Reads and validates a config; every input file it names must exist.
    pub fn load(path: &Path) -> Result<Self, RunError> {
        let text = crate::text::read_text(path).map_err(|e| RunError::Config {
            path: path.to_owned(),
            msg: format!("cannot read: {e}"),
        })?;
        Self::parse(path, text)
    }

    /// Validates config `text` as if read from `path`.
    pub fn parse(path: &Path, text: String) -> Result<Self, RunError> {
        // Messages about a key (`key `cell[0].trials`: …`) start with the key's line.
        let err = |msg: String| {
            let line = msg
                .strip_prefix("key `")
                .and_then(|r| r.split_once('`'))
                .and_then(|(k, _)| crate::text::toml_key_line(&text, k));
            RunError::Config {
                path: path.to_owned(),
                msg: match line {
                    Some(l) => format!("line {l}: {msg}"),
                    None => msg,
                },
            }
        };
        let raw: RunConfigFile = toml::from_str(&text).map_err(|e| err(e.to_string()))?;
        let base = path.parent().unwrap_or(Path::new("."));
        let abs = |p: &Path| {
            if p.is_absolute() {
                p.to_owned()
            } else {
                base.join(p)
            }
        };
        if raw.batch_size < 1 {
            return Err(err(format!(
                "key `batch_size`: must be at least 1, got {}",
                raw.batch_size
            )));
        }
        if raw.record.every_k_steps < 1 {
            return Err(err(format!(
                "key `record.every_k_steps`: must be at least 1, got {}",
                raw.record.every_k_steps
            )));
        }
        if let Some(k) = raw.record.all_segments_every_k_steps.filter(|&k| k < 1) {
            return Err(err(format!(
                "key `record.all_segments_every_k_steps`: must be at least 1, got {k}"
            )));
        }
        for s in &raw.record.segments {
            if !(0.0..=1.0).contains(&s.x) {
                return Err(err(format!(
                    "key `record.segments`: x = {} is outside 0..=1",
                    s.x
                )));
            }
        }
        if raw.cells.is_empty() {
            return Err(err("no `[[cell]]` table: nothing to simulate".into()));
        }
        let mut cells = Vec::with_capacity(raw.cells.len());
        for (i, c) in raw.cells.iter().enumerate() {
            let key = |k: &str| format!("`cell[{i}].{k}`");
            if c.trials < 1 {
                return Err(err(format!(
                    "key {}: must be at least 1, got {}",
                    key("trials"),
                    c.trials
                )));
            }
            if c.sweeps_per_seed < 1 || c.sweeps_per_seed > i64::from(u32::MAX) {
                return Err(err(format!(
                    "key {}: must be in 1..=2^32-1, got {}",
                    key("sweeps_per_seed"),
                    c.sweeps_per_seed
                )));
            }
            for (k, v) in [("t_stop_ms", c.t_stop_ms), ("dt_ms", c.dt_ms)] {
                if let Some(v) = v {
                    if !(v.is_finite() && v > 0.0) {
                        return Err(err(format!(
                            "key {}: must be a positive number, got {v}",
                            key(k)
                        )));
                    }
                }
            }
            if let Some(dt) = c.dt_ms {
                crate::limits::check_dt(dt)
                    .map_err(|m| err(format!("key {}: {m}", key("dt_ms"))))?;
                if let Some(t) = c.t_stop_ms {
                    crate::limits::check_steps(t, dt)
                        .map_err(|m| err(format!("key {}: {m}", key("t_stop_ms"))))?;
                }
            }
            let mut files = vec![
                ("cell_param", abs(&c.cell_param)),
                ("network_param", abs(&c.network_param)),
            ];
            if let Some(e) = &c.embedding {
                files.push(("embedding", abs(e)));
            }
            for (k, f) in &files {
                if !f.is_file() {
                    return Err(err(format!(
                        "key {}: file {} does not exist",
                        key(k),
                        f.display()
                    )));
                }
            }
            let name = match &c.name {
                Some(n) => n.clone(),
                None => c
                    .cell_param
                    .file_stem()
                    .map(|s| s.to_string_lossy().into_owned())
                    .unwrap_or_else(|| format!("cell_{i}")),
            };
            if name.is_empty() || name.contains('/') || name == "." || name == ".." {
                return Err(err(format!(
                    "key {}: `{name}` is not a usable group name",
                    key("name")
                )));
            }
            if cells.iter().any(|o: &CellConfig| o.name == name) {
                return Err(err(format!(
                    "key {}: two cells are named `{name}`; give each a distinct `name`",
                    key("name")
                )));
            }
            cells.push(CellConfig {
                index: i as u32,
                name,
                cell_param: files[0].1.clone(),
                network_param: files[1].1.clone(),
                embedding: c.embedding.as_ref().map(|e| abs(e)),
                trials: c.trials as u64,
                sweeps_per_seed: c.sweeps_per_seed as u32,
                t_stop_ms: c.t_stop_ms,
                dt_ms: c.dt_ms,
                numerics: c.numerics,
                model: c.model,
            });
        }
        Ok(Self {
            path: path.to_owned(),
            output: abs(&raw.output),
            isf_folder: raw.isf_folder.as_ref().map(|p| abs(p)),
            base_seed: raw.base_seed,
            batch_size: raw.batch_size as u64,
            record: raw.record,
            cells,
            mechanisms: raw.mechanisms.iter().map(|p| abs(p)).collect(),
            replace_builtins: raw.replace_builtins,
            text,
        })
    }

    /// Total number of trials.
    pub fn n_trials(&self) -> u64 {
        self.cells.iter().map(|c| c.trials).sum()
    }

    /// Number of batches.
    pub fn n_batches(&self) -> u64 {
        self.n_trials().div_ceil(self.batch_size)
    }

    /// Every input file the results depend on (config excluded), in a fixed order, deduplicated.
    pub fn input_files(&self) -> Vec<PathBuf> {
        let mut v: Vec<PathBuf> = Vec::new();
        for c in &self.cells {
            for f in [
                Some(&c.cell_param),
                Some(&c.network_param),
                c.embedding.as_ref(),
            ]
            .into_iter()
            .flatten()
            {
                if !v.contains(f) {
                    v.push(f.clone());
                }
            }
        }
        v
    }

    /// The trial with global id `trial_id`.
    pub fn trial(&self, trial_id: u64) -> TrialSpec {
        let mut first = 0;
        for c in &self.cells {
            if trial_id < first + c.trials {
                let k = trial_id - first;
                let (seed, sweep) =
                    super::seeds::trial_seed(self.base_seed, c.index, k, c.sweeps_per_seed);
                return TrialSpec {
                    trial_id,
                    cell_id: c.index,
                    trial_in_cell: k,
                    seed,
                    sweep,
                };
            }
            first += c.trials;
        }
        panic!("trial id {trial_id} out of range {}", self.n_trials())
    }
}

/// The identity of one trial: everything a model needs to simulate it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TrialSpec {
    /// Global index (cell-major).
    pub trial_id: u64,
    /// Cell index.
    pub cell_id: u32,
    /// Index within the cell (row in the cell's trace datasets).
    pub trial_in_cell: u64,
    /// numpy-compatible seed (< 2^32).
    pub seed: u64,
    /// Sweep within the seed's task.
    pub sweep: u32,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dir_with_params() -> tempfile::TempDir {
        let d = tempfile::tempdir().unwrap();
        std::fs::write(d.path().join("c.param"), "{}").unwrap();
        std::fs::write(d.path().join("n.param"), "{}").unwrap();
        d
    }

    fn parse(d: &Path, text: &str) -> Result<RunConfig, RunError> {
        RunConfig::parse(&d.join("run.toml"), text.to_string())
    }

    const GOOD: &str = "output = \"out.h5\"\nbase_seed = 3\nbatch_size = 2\n\
        [[cell]]\ncell_param = \"c.param\"\nnetwork_param = \"n.param\"\ntrials = 3\n\
        [[cell]]\nname = \"b\"\ncell_param = \"c.param\"\nnetwork_param = \"n.param\"\ntrials = 2\nsweeps_per_seed = 2\n";

    #[test]
    fn good_config_resolves_paths_and_trials() {
        let d = dir_with_params();
        let c = parse(d.path(), GOOD).unwrap();
        assert_eq!(c.output, d.path().join("out.h5"));
        assert_eq!(c.cells[0].name, "c");
        assert_eq!(c.n_trials(), 5);
        assert_eq!(c.n_batches(), 3);
        assert_eq!(c.input_files().len(), 2);
        let t = c.trial(4);
        assert_eq!((t.cell_id, t.trial_in_cell, t.sweep), (1, 1, 1));
        assert_eq!(c.trial(3).seed, t.seed, "two sweeps share one seed");
        assert_eq!(c.cells[0].numerics, Numerics::Fast);
        let exact = GOOD.replace("trials = 2\n", "trials = 2\nnumerics = \"exact\"\n");
        let c = parse(d.path(), &exact).unwrap();
        assert_eq!(c.cells[1].numerics, Numerics::Exact);
        let e = parse(d.path(), &exact.replace("\"exact\"", "\"quick\""))
            .unwrap_err()
            .to_string();
        assert!(e.contains("quick"), "{e}");
    }

    #[test]
    fn bad_configs_name_the_key() {
        let d = dir_with_params();
        let e = parse(d.path(), &GOOD.replace("trials = 3", "trials = -3"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("cell[0].trials") && e.contains("-3"), "{e}");
        let e = parse(
            d.path(),
            &GOOD.replace("n.param\"\ntrials = 3", "missing.param\"\ntrials = 3"),
        )
        .unwrap_err()
        .to_string();
        assert!(
            e.contains("cell[0].network_param") && e.contains("missing.param"),
            "{e}"
        );
        let e = parse(
            d.path(),
            &GOOD.replace("batch_size = 2", "batch_size = 2\nbatchsize = 1"),
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("batchsize"), "{e}");
        let e = parse(d.path(), &GOOD.replace("name = \"b\"", "name = \"c\""))
            .unwrap_err()
            .to_string();
        assert!(e.contains("distinct"), "{e}");
        let segments = |k: &str| {
            GOOD.replace(
                "batch_size = 2\n",
                &format!("batch_size = 2\n[record]\nall_segments_every_k_steps = {k}\n"),
            )
        };
        let e = parse(d.path(), &segments("0")).unwrap_err().to_string();
        assert!(
            e.contains("record.all_segments_every_k_steps") && e.contains("got 0"),
            "{e}"
        );
        let c = parse(d.path(), &segments("40")).unwrap();
        assert_eq!(c.record.all_segments_every_k_steps, Some(40));
    }
}
