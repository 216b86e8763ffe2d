//! The results file as a [`ResultSink`].

use std::path::{Path, PathBuf};

use super::h5::WriteHook;
use super::writer::ResultsWriter;
use crate::output::layout::{Provenance, ResultsLayout};
use crate::output::sink::{OutputMode, ResultSink, SinkError, SinkRun};
use crate::trial::result::TrialResult;

/// The results file of a run: created (or reopened for `--resume`) collectively, one collective
/// write per batch, the end time recorded at the end. The output's lock and the decision how to
/// treat an existing file are taken before ([`crate::output::sinks::claim_output`]).
pub struct ResultsSink {
    path: PathBuf,
    layout: ResultsLayout,
    prov: Provenance,
    hook: Option<WriteHook>,
    writer: Option<ResultsWriter>,
}

impl ResultsSink {
    /// The results file at `path` of a run with `layout` and `prov`; `hook` is called before every
    /// change to the file (fault-injection tests).
    pub fn new(
        path: &Path,
        layout: &ResultsLayout,
        prov: &Provenance,
        hook: Option<WriteHook>,
    ) -> Self {
        Self {
            path: path.to_path_buf(),
            layout: layout.clone(),
            prov: prov.clone(),
            hook,
            writer: None,
        }
    }

    fn writer(&mut self) -> Result<&mut ResultsWriter, SinkError> {
        let path = self.path.clone();
        self.writer
            .as_mut()
            .ok_or_else(|| SinkError::output(path, "the results file was not prepared"))
    }
}

impl ResultSink for ResultsSink {
    fn prepare(&mut self, run: &SinkRun<'_>) -> Result<Option<u64>, SinkError> {
        let hook = self.hook.clone();
        let (writer, done) = match run.mode {
            OutputMode::Resume => {
                ResultsWriter::resume(&self.path, run.comm, &self.layout, &self.prov, hook)?
            }
            // A replaced file stays until the new one is laid out and renamed over it.
            OutputMode::Create | OutputMode::Replace => (
                ResultsWriter::create(&self.path, run.comm, &self.layout, &self.prov, hook)?,
                0,
            ),
        };
        self.writer = Some(writer);
        Ok(Some(done))
    }

    fn commit_batch(
        &mut self,
        run: &SinkRun<'_>,
        batch: u64,
        local: &[TrialResult],
    ) -> Result<(), SinkError> {
        Ok(self.writer()?.write_batch(run.comm, batch, local)?)
    }

    fn finish(mut self: Box<Self>, _run: &SinkRun<'_>) -> Result<(), SinkError> {
        let path = self.path.clone();
        let w = self
            .writer
            .take()
            .ok_or_else(|| SinkError::output(path, "the results file was not prepared"))?;
        Ok(w.finish(&isf_io::time::utc_now_rfc3339())?)
    }
}
