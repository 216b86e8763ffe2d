//! Reopening a results file for `--resume`: the file must come from the same config and inputs;
//! what is committed (`commit_state`) is kept, rows beyond it are written again.

use std::path::Path;

use isf_io::results_schema::{self as schema, provenance as pv, CommitState};

use super::h5::{
    attr_str, hdf5_error, open_file, read_attr_str, read_attr_strs, uses_mpi, Dxpl, WriteHook,
};
use super::writer::ResultsWriter;
use super::ResultsFileError;
use crate::comm::Communicator;
use crate::output::layout::{sha256_hex, Provenance, ResultsLayout};

/// What the file records of the run that started it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(super) struct StartedRun {
    /// SHA-256 of the config's text.
    pub config_sha256: String,
    /// Input files' paths.
    pub input_files: Vec<String>,
    /// Their SHA-256, in the same order.
    pub input_sha256: Vec<String>,
}

impl StartedRun {
    /// Refuses to continue the run with `prov` unless its config and every input file are the
    /// ones the file was started with.
    pub(super) fn check_continues(&self, prov: &Provenance) -> Result<(), String> {
        let new_config = sha256_hex(prov.config_text.as_bytes());
        if self.config_sha256 != new_config {
            return Err(format!(
                "cannot resume: the config {} changed since this file was started (sha256 {} → \
                 {new_config}); use a new output path, or --overwrite to start again",
                prov.config_path, self.config_sha256
            ));
        }
        for (name, _, hash) in &prov.files {
            match self.input_files.iter().position(|f| f == name) {
                Some(i) if self.input_sha256.get(i) == Some(hash) => {}
                Some(i) => {
                    return Err(format!(
                        "cannot resume: input file {name} changed since this file was started \
                         (sha256 {} → {hash})",
                        self.input_sha256.get(i).map(String::as_str).unwrap_or("?")
                    ))
                }
                None => {
                    return Err(format!(
                        "cannot resume: input file {name} was not part of this run"
                    ))
                }
            }
        }
        Ok(())
    }
}

impl ResultsWriter {
    /// Reopens a results file to continue a run: checks that it belongs to the same config and
    /// inputs and returns the writer with the number of complete batches. Rows of an incomplete
    /// batch stay: writing that batch again overwrites them in place.
    pub fn resume(
        path: &Path,
        comm: &dyn Communicator,
        layout: &ResultsLayout,
        prov: &Provenance,
        hook: Option<WriteHook>,
    ) -> Result<(Self, u64), ResultsFileError> {
        let e = |context: &str| hdf5_error(path, context.to_string());
        let mismatch = |msg: String| ResultsFileError::Mismatch {
            path: path.to_owned(),
            msg,
        };
        let file = open_file(path, comm, false).map_err(e("open for --resume"))?;
        let format = read_attr_str(&file, schema::attr::FORMAT).unwrap_or_default();
        if format != schema::FORMAT {
            return Err(mismatch(format!(
                "not an isf results file (format `{format}`)"
            )));
        }
        let p = file
            .group(schema::PROVENANCE)
            .map_err(e("read provenance"))?;
        let started = (|| -> hdf5::Result<StartedRun> {
            Ok(StartedRun {
                config_sha256: read_attr_str(&p, pv::CONFIG_SHA256)?,
                input_files: read_attr_strs(&p, pv::INPUT_FILES)?,
                input_sha256: read_attr_strs(&p, pv::INPUT_SHA256)?,
            })
        })()
        .map_err(e("read provenance"))?;
        started.check_continues(prov).map_err(mismatch)?;
        let words: Vec<u64> = file
            .attr(schema::attr::COMMIT_STATE)
            .and_then(|a| a.read_raw())
            .map_err(e("read commit_state"))?;
        let state = CommitState::from_words(&words)
            .filter(|s| s.cells.len() == layout.cells.len())
            .ok_or_else(|| mismatch("commit_state does not match the config's cells".into()))?;
        let dxpl = Dxpl::new(uses_mpi(comm), hook).map_err(e("transfer properties"))?;
        let batches = state.batches;
        let mut w = Self::attach(path, file, dxpl, layout, state).map_err(e("open datasets"))?;
        w.sync_by_path = !uses_mpi(comm);
        w.dxpl
            .point(&|| "write /provenance last_resumed".into())
            .and_then(|()| attr_str(&p, pv::LAST_RESUMED, &prov.start_time))
            .map_err(e("write provenance"))?;
        Ok((w, batches))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn prov(config: &str, files: &[(&str, &str)]) -> Provenance {
        Provenance {
            config_path: "run.toml".into(),
            config_text: config.into(),
            files: files
                .iter()
                .map(|(n, text)| {
                    (
                        n.to_string(),
                        text.as_bytes().to_vec(),
                        sha256_hex(text.as_bytes()),
                    )
                })
                .collect(),
            ..Default::default()
        }
    }

    fn started(p: &Provenance) -> StartedRun {
        StartedRun {
            config_sha256: sha256_hex(p.config_text.as_bytes()),
            input_files: p.files.iter().map(|f| f.0.clone()).collect(),
            input_sha256: p.files.iter().map(|f| f.2.clone()).collect(),
        }
    }

    #[test]
    fn resume_needs_the_same_config_and_inputs() {
        let old = prov("a = 1", &[("c.param", "{}"), ("n.param", "{1}")]);
        let s = started(&old);
        assert_eq!(s.check_continues(&old), Ok(()));
        // A subset of the inputs (in any order) continues too.
        assert_eq!(
            s.check_continues(&prov("a = 1", &[("n.param", "{1}")])),
            Ok(())
        );
        let e = s.check_continues(&prov("a = 2", &[])).unwrap_err();
        assert!(e.contains("the config run.toml changed"), "{e}");
        let e = s
            .check_continues(&prov("a = 1", &[("n.param", "{2}")]))
            .unwrap_err();
        assert!(e.contains("input file n.param changed"), "{e}");
        let e = s
            .check_continues(&prov("a = 1", &[("x.param", "{}")]))
            .unwrap_err();
        assert!(e.contains("x.param was not part of this run"), "{e}");
    }
}
