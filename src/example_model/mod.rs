//! The embedded example model (`isf example DIR`): a complete, self-contained cell-in-network model
//! that isf generates itself, so that the pipeline can be run without any third-party data.
//!
//! It consists of an L5-pyramidal-like morphology ([`morphology`]), a cell param with the L5PT
//! channel set ([`cell_param`]), a network of ongoing cortical populations plus a whisker-evoked
//! thalamic volley at 245 ms, and one synapse realization placed by density ([`network`]). The
//! output is a pure function of the seed: the same call writes byte-identical files. Randomness
//! comes from the project's numpy-compatible [`RandomState`].

pub mod cell_param;
pub mod morphology;
pub mod network;

use crate::network::rng::RandomState;
use morphology::{Morphology, Role};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// Seed used when the caller gives none.
pub const DEFAULT_SEED: u32 = 2011;

/// Names of the written files (all in the target folder; params refer to them relatively).
pub const CELL_PARAM_FILE: &str = "cell.param";
/// Network param file name.
pub const NETWORK_PARAM_FILE: &str = "network.param";
/// Morphology file name.
pub const HOC_FILE: &str = "example_l5pt.hoc";
/// Synapse realization file name.
pub const SYN_FILE: &str = "example_l5pt.syn";
/// Connection file name.
pub const CON_FILE: &str = "example_l5pt.con";
/// Recording-site landmark file name.
pub const LANDMARK_FILE: &str = "apical_trunk_rec_sites.landmarkAscii";
/// Run config for `isf simulate --config`.
pub const RUN_CONFIG_FILE: &str = "run.toml";
/// Results file the run config names (beside it).
pub const RESULTS_FILE: &str = "example_results.h5";
/// Short description of the model.
pub const README_FILE: &str = "README.md";

/// Trials in the run config and base seed of their random streams.
const RUN_TRIALS: u32 = 8;
const RUN_BASE_SEED: u64 = 1234;

/// Path distances along the apical trunk of the dendritic recording sites (µm).
const RECORDING_SITES_UM: [f64; 2] = [300.0, 600.0];

/// Errors of the example generator.
#[derive(Debug, thiserror::Error)]
pub enum ExampleError {
    /// The target exists, holds files, and overwriting was not requested.
    #[error("{}", isf_io::OutputExists::path(.0))]
    NotEmpty(PathBuf),
    /// The target exists and is not a folder.
    #[error("`{0}` exists and is not a folder")]
    NotAFolder(PathBuf),
    /// A file-system operation failed.
    #[error("{action} `{path}`: {source}")]
    Io {
        /// What was being done.
        action: &'static str,
        /// The path concerned.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// Installing the model failed.
    #[error(transparent)]
    Install(isf_io::Error),
}

fn io_err(action: &'static str, path: &Path) -> impl FnOnce(std::io::Error) -> ExampleError {
    let path = path.to_path_buf();
    move |source| ExampleError::Io {
        action,
        path,
        source,
    }
}

/// Size of the generated model, for reporting.
#[derive(Clone, Debug, PartialEq)]
pub struct ExampleSummary {
    /// Seed used.
    pub seed: u32,
    /// Number of hoc sections (soma included, artificial axon excluded).
    pub sections: usize,
    /// Total dendritic length (µm).
    pub dendrite_length_um: f64,
    /// Synapses per population, in network order.
    pub synapses: Vec<(&'static str, usize)>,
}

impl std::fmt::Display for ExampleSummary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let total: usize = self.synapses.iter().map(|(_, n)| n).sum();
        write!(
            f,
            "seed {}: {} sections, {:.0} µm of dendrite, {} synapses from {} populations (",
            self.seed,
            self.sections,
            self.dendrite_length_um,
            total,
            self.synapses.len()
        )?;
        for (i, (name, n)) in self.synapses.iter().enumerate() {
            write!(f, "{}{name} {n}", if i > 0 { ", " } else { "" })?;
        }
        write!(f, ")")
    }
}

/// The generated model: file names with their contents, and a summary.
#[derive(Clone, Debug)]
pub struct ExampleModel {
    /// `(file name, content)` in writing order.
    pub files: Vec<(&'static str, String)>,
    /// Size of the model.
    pub summary: ExampleSummary,
    /// The generated morphology (section index = ISF section ID).
    pub morphology: Morphology,
    /// The placed synapses, in `.syn` order.
    pub synapses: Vec<network::PlacedSynapse>,
}

impl ExampleModel {
    /// Generates the model for `seed`; a pure function of the seed.
    pub fn generate(seed: u32) -> Self {
        // One numpy-compatible stream, drawn in a fixed order (morphology, then synapses), so the
        // generation can be followed draw by draw with `np.random.RandomState(seed)`.
        let mut rng = RandomState::new(seed);
        let morph = Morphology::generate(&mut rng);
        let synapses = network::place_synapses(&morph, &mut rng);
        let cell_name = HOC_FILE.trim_end_matches(".hoc");
        let title = format!(
            "{cell_name}: synthetic L5-pyramidal-like morphology generated by isf example (seed {seed})"
        );
        let files = vec![
            (
                CELL_PARAM_FILE,
                param_text(&cell_param::cell_param(HOC_FILE, LANDMARK_FILE)),
            ),
            (
                NETWORK_PARAM_FILE,
                param_text(&network::network_param(SYN_FILE, CON_FILE)),
            ),
            (HOC_FILE, morph.to_hoc(&title)),
            (SYN_FILE, network::syn_text(cell_name, &synapses)),
            (CON_FILE, network::con_text(SYN_FILE, &synapses)),
            (LANDMARK_FILE, landmark_text(&recording_sites(&morph))),
            (RUN_CONFIG_FILE, run_config_text()),
            (README_FILE, readme_text(seed)),
        ];
        let summary = ExampleSummary {
            seed,
            sections: morph.sections.len(),
            dendrite_length_um: morph
                .sections
                .iter()
                .filter(|s| s.role != Role::Soma)
                .map(|s| s.length_um())
                .sum(),
            synapses: network::POPULATIONS
                .iter()
                .enumerate()
                .map(|(i, p)| {
                    (
                        p.name,
                        synapses.iter().filter(|s| s.population == i).count(),
                    )
                })
                .collect(),
        };
        ExampleModel {
            files,
            summary,
            morphology: morph,
            synapses,
        }
    }

    /// Writes the model into `dir` atomically: everything is written into a staging folder next
    /// to `dir`, which is then renamed to `dir`. An existing non-empty `dir` is refused unless
    /// `force`, in which case it is replaced only once the new model is complete.
    pub fn write(&self, dir: &Path, force: bool) -> Result<(), ExampleError> {
        if std::fs::symlink_metadata(dir).is_ok_and(|m| !m.is_dir()) {
            return Err(ExampleError::NotAFolder(dir.into()));
        }
        if !force && isf_io::rule::output_exists(dir) {
            return Err(ExampleError::NotEmpty(dir.into()));
        }
        let parent = isf_io::atomic::parent_dir(dir);
        std::fs::create_dir_all(parent).map_err(io_err("cannot create folder", parent))?;
        let staged =
            isf_io::StagedDir::with_overwrite(dir, force).map_err(ExampleError::Install)?;
        for (name, content) in &self.files {
            let path = staged.path().join(name);
            std::fs::write(&path, content.as_bytes()).map_err(io_err("cannot write", &path))?;
        }
        staged.commit().map_err(ExampleError::Install)?;
        Ok(())
    }
}

/// Formats a param value as ISF-readable text (JSON is a subset of ISF's param syntax).
fn param_text(value: &serde_json::Value) -> String {
    let mut buf = Vec::new();
    let fmt = serde_json::ser::PrettyFormatter::with_indent(b"    ");
    let mut ser = serde_json::Serializer::with_formatter(&mut buf, fmt);
    // Serialising a `Value` into memory cannot fail (keys are strings, numbers finite).
    let _ = serde::Serialize::serialize(value, &mut ser);
    let mut text = String::from_utf8(buf).unwrap_or_default();
    text.push('\n');
    text
}

/// Trunk points at [`RECORDING_SITES_UM`] path distance from the trunk's origin.
fn recording_sites(morph: &Morphology) -> Vec<[f64; 3]> {
    let start = morph.start_distance_um();
    RECORDING_SITES_UM
        .iter()
        .filter_map(|&target| {
            morph
                .with_role(Role::Trunk)
                .find(|(i, s)| start[*i] + s.length_um() >= target)
                .map(|(i, s)| {
                    let p = s.point_near_um(target - start[i]);
                    [p[0], p[1], p[2]]
                })
        })
        .collect()
}

/// An Amira landmark file (`.landmarkAscii`) holding `points`.
fn landmark_text(points: &[[f64; 3]]) -> String {
    let mut out = format!(
        "# AmiraMesh 3D ASCII 2.0\n\n\ndefine Markers {}\n\nParameters {{\n    NumSets 1,\n    ContentType \"LandmarkSet\"\n}}\n\nMarkers {{ float[3] Coordinates }} @1\n\n# Data section follows\n@1\n",
        points.len()
    );
    for p in points {
        let _ = writeln!(out, "{:.6} {:.6} {:.6}", p[0], p[1], p[2]);
    }
    out
}

/// A run config (see `crate::run::config`) simulating the model into a results file beside it.
fn run_config_text() -> String {
    let cell_name = HOC_FILE.trim_end_matches(".hoc");
    format!(
        "# Simulates the example model: isf simulate --config {RUN_CONFIG_FILE}\n\
         # Paths are relative to this file.\n\
         output = \"{RESULTS_FILE}\"\n\
         base_seed = {RUN_BASE_SEED}\n\
         batch_size = 4\n\n\
         [record]\n\
         soma = true\n\
         sites = true\n\
         every_k_steps = 1\n\n\
         [[cell]]\n\
         name = \"{cell_name}\"\n\
         cell_param = \"{CELL_PARAM_FILE}\"\n\
         network_param = \"{NETWORK_PARAM_FILE}\"\n\
         trials = {RUN_TRIALS}\n"
    )
}

fn readme_text(seed: u32) -> String {
    format!(
        "# isf example model (seed {seed})\n\n\
         Generated by `isf example` (isf {version}); every file here is produced by isf itself.\n\n\
         * `{CELL_PARAM_FILE}`: cell parameters (L5PT channel set, Ih gradient, apical Ca hot zone, artificial axon).\n\
         * `{HOC_FILE}`: synthetic L5-pyramidal-like morphology (soma, basal trees, apical trunk with obliques, tuft).\n\
         * `{LANDMARK_FILE}`: dendritic recording sites on the apical trunk.\n\
         * `{NETWORK_PARAM_FILE}`: presynaptic populations: ongoing activity and a whisker-evoked VPM volley at {onset} ms.\n\
         * `{SYN_FILE}`, `{CON_FILE}`: synapse positions and their presynaptic cells.\n\
         * `{RUN_CONFIG_FILE}`: run config simulating {RUN_TRIALS} trials into `{RESULTS_FILE}`: \
         `isf simulate --config {RUN_CONFIG_FILE}`.\n",
        version = env!("CARGO_PKG_VERSION"),
        onset = network::STIMULUS_ONSET_MS,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generation_is_deterministic_and_seed_dependent() {
        let a = ExampleModel::generate(DEFAULT_SEED);
        let b = ExampleModel::generate(DEFAULT_SEED);
        let c = ExampleModel::generate(DEFAULT_SEED + 1);
        assert_eq!(a.files, b.files);
        assert_ne!(a.files, c.files);
    }

    #[test]
    fn params_are_json_and_reference_the_written_files() {
        let m = ExampleModel::generate(DEFAULT_SEED);
        let names: Vec<&str> = m.files.iter().map(|(n, _)| *n).collect();
        for (name, text) in &m.files {
            if name.ends_with(".param") {
                let v: serde_json::Value = serde_json::from_str(text).unwrap();
                let mut refs = Vec::new();
                collect_file_refs(&v, &mut refs);
                assert!(!refs.is_empty());
                for r in refs {
                    assert!(names.contains(&r.as_str()), "{name} refers to missing {r}");
                }
            }
        }
    }

    #[test]
    fn params_survive_isf_textual_rewrite_unchanged() {
        // ISF rewrites param text before `json.loads` (docs/formats.md#parameter-files): quotes,
        // parentheses, `None` anywhere in the text. None of these may occur, so ISF reads exactly
        // what we wrote.
        let m = ExampleModel::generate(DEFAULT_SEED);
        for (name, text) in m.files.iter().filter(|(n, _)| n.ends_with(".param")) {
            for bad in ["'", "(", ")", "None", "True", "False", "#", "//"] {
                assert!(!text.contains(bad), "{name} contains {bad}");
            }
        }
    }

    fn collect_file_refs(v: &serde_json::Value, out: &mut Vec<String>) {
        match v {
            serde_json::Value::String(s)
                if [".hoc", ".syn", ".con", ".landmarkAscii"]
                    .iter()
                    .any(|e| s.ends_with(e)) =>
            {
                out.push(s.clone())
            }
            serde_json::Value::Array(a) => a.iter().for_each(|x| collect_file_refs(x, out)),
            serde_json::Value::Object(o) => o.values().for_each(|x| collect_file_refs(x, out)),
            _ => {}
        }
    }

    #[test]
    fn recording_sites_lie_on_the_trunk_in_order() {
        let m = ExampleModel::generate(DEFAULT_SEED);
        let sites = recording_sites(&m.morphology);
        assert_eq!(sites.len(), RECORDING_SITES_UM.len());
        assert!(sites[0][2] < sites[1][2]);
        let on_trunk = |p: &[f64; 3]| {
            m.morphology
                .with_role(Role::Trunk)
                .any(|(_, s)| s.points.iter().any(|q| q[..3] == p[..]))
        };
        assert!(sites.iter().all(on_trunk));
        let text = landmark_text(&sites);
        let data: Vec<&str> = text.lines().skip_while(|l| !l.starts_with("@1")).collect();
        // The header declares `@1` mid-line; the data section is the line starting with `@1` and
        // the points after it.
        assert_eq!(data.iter().filter(|l| l.starts_with("@1")).count(), 1);
        assert_eq!(data.len(), 1 + sites.len());
    }

    /// d-λ segment count of ISF's discretisation (docs/models.md#discretisation, f = 100 Hz),
    /// computed here only to keep the example small; the cell module owns the real discretisation.
    fn d_lambda_nseg(length_um: f64, mid_diam_um: f64, ra: f64, cm: f64) -> usize {
        let lambda = 1e5 * (mid_diam_um / (4.0 * std::f64::consts::PI * 100.0 * ra * cm)).sqrt();
        2 * ((length_um / (0.1 * lambda) + 0.5) / 2.0).floor() as usize + 1
    }

    #[test]
    fn model_is_modest_in_size() {
        let m = ExampleModel::generate(DEFAULT_SEED);
        let mut nseg = 0;
        let mut by_role = std::collections::BTreeMap::new();
        for s in &m.morphology.sections {
            let cm = if s.role == Role::Soma { 1.0 } else { 2.0 };
            let n = d_lambda_nseg(s.length_um(), s.points[s.points.len() / 2][3], 100.0, cm);
            nseg += n;
            *by_role.entry(format!("{:?}", s.role)).or_insert(0) += n;
        }
        eprintln!("segments by role: {by_role:?}; {}", m.summary);
        // Artificial axon: hillock 5 + AIS 7 + myelin 21 segments (docs/models.md#artificial-axon).
        let total = nseg + 33;
        assert!((100..=300).contains(&total), "{total} segments");
        let synapses: usize = m.summary.synapses.iter().map(|(_, n)| n).sum();
        assert!((300..3000).contains(&synapses), "{synapses} synapses");
    }

    #[test]
    fn write_is_atomic_refuses_non_empty_and_forces() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("nested").join("model");
        let m = ExampleModel::generate(DEFAULT_SEED);
        m.write(&dir, false).unwrap();
        for (name, content) in &m.files {
            assert_eq!(&std::fs::read_to_string(dir.join(name)).unwrap(), content);
        }
        // Nothing but the model is left beside it.
        let siblings: Vec<_> = std::fs::read_dir(dir.parent().unwrap())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(siblings, vec![std::ffi::OsString::from("model")]);

        std::fs::write(dir.join("mine.txt"), "keep").unwrap();
        let other = ExampleModel::generate(7);
        assert!(matches!(
            other.write(&dir, false),
            Err(ExampleError::NotEmpty(_))
        ));
        assert_eq!(
            std::fs::read_to_string(dir.join("mine.txt")).unwrap(),
            "keep"
        );

        other.write(&dir, true).unwrap();
        assert!(!dir.join("mine.txt").exists());
        assert_eq!(
            std::fs::read_to_string(dir.join(HOC_FILE)).unwrap(),
            other.files.iter().find(|f| f.0 == HOC_FILE).unwrap().1
        );
        assert_eq!(std::fs::read_dir(dir.parent().unwrap()).unwrap().count(), 1);

        // An empty existing folder is fine without --force; a file in the way is not.
        let empty = tmp.path().join("empty");
        std::fs::create_dir(&empty).unwrap();
        m.write(&empty, false).unwrap();
        let file = tmp.path().join("file");
        std::fs::write(&file, "x").unwrap();
        assert!(matches!(
            m.write(&file, true),
            Err(ExampleError::NotAFolder(_))
        ));
    }
}
