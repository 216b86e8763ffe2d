//! The result-sink interface: everything the run loop knows about outputs.
//!
//! A run writes to a list of sinks (built in one place, [`super::sinks::build`]); each sink is
//! driven through the same phases on every rank:
//!
//! 1. [`ResultSink::check`]: before anything is written anywhere, refuse what cannot work
//!    (an existing output that may not be replaced, an unusable folder, a model without what the
//!    format needs);
//! 2. [`ResultSink::prepare`]: create the output, or with [`OutputMode::Resume`] reopen it and
//!    say how many batches it already holds;
//! 3. [`ResultSink::write_trial`] for every trial this rank simulates, as soon as it is done (any
//!    thread), then [`ResultSink::trials_written`] once this rank's trials of the batch are done;
//! 4. [`ResultSink::commit_batch`] once every rank has simulated the batch: the batch becomes
//!    part of the output (what `--resume` keeps);
//! 5. [`ResultSink::finish`] after the last batch.
//!
//! `check`, `prepare`, `commit_batch` and `finish` are collective: every rank calls them in the
//! same order, and a sink makes its outcome the same on every rank (a failure on one rank is
//! [`SinkError::OtherRank`] on the others, see [`super::collective::agree`]), so that no rank
//! enters a later collective call alone. `write_trial` and `trials_written` are local.

use std::path::PathBuf;

use crate::comm::Communicator;
use crate::trial::result::TrialResult;

/// How a run treats its outputs, decided once for all sinks (from the results file, see
/// [`super::sinks::claim_output`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutputMode {
    /// No output exists: create it.
    Create,
    /// `--overwrite`: replace the existing output once the new one is complete.
    Replace,
    /// `--resume`: keep the committed batches of the existing output and continue it.
    Resume,
}

/// Errors of a sink.
#[derive(Debug, thiserror::Error)]
pub enum SinkError {
    /// An output format's own error (e.g. the results file's `ResultsFileError`); the run
    /// reports it as it is.
    #[error(transparent)]
    Format(Box<dyn std::error::Error + Send + Sync + 'static>),
    /// An output cannot be used or written.
    #[error("output {}: {msg}", path.display())]
    Output {
        /// The file or folder.
        path: PathBuf,
        /// What is wrong.
        msg: String,
    },
    /// A trial's result cannot be written (the run names the trial).
    #[error("{0}")]
    Trial(String),
    /// Another rank failed (it reports the error).
    #[error("rank {rank} failed (its error is printed above)")]
    OtherRank {
        /// The first failing rank.
        rank: u32,
    },
}

impl SinkError {
    /// An output error on `path`.
    pub fn output(path: impl Into<PathBuf>, msg: impl Into<String>) -> SinkError {
        SinkError::Output {
            path: path.into(),
            msg: msg.into(),
        }
    }
}

/// What every phase of a sink is given.
pub struct SinkRun<'a> {
    /// The ranks of the run.
    pub comm: &'a dyn Communicator,
    /// How to treat existing outputs.
    pub mode: OutputMode,
}

impl SinkRun<'_> {
    /// Makes a per-rank outcome collective ([`super::collective::agree`]).
    pub fn agree<T>(&self, local: Result<T, SinkError>) -> Result<T, SinkError> {
        super::collective::agree(self.comm, local, |rank| SinkError::OtherRank { rank })
    }

    /// Runs `f` on rank 0 only and makes its outcome collective.
    pub fn on_rank0(&self, f: impl FnOnce() -> Result<(), SinkError>) -> Result<(), SinkError> {
        let local = if self.comm.rank() == 0 { f() } else { Ok(()) };
        self.agree(local)
    }
}

/// An output format of a run. See the module documentation for the phases and which of them
/// are collective.
pub trait ResultSink: Send + Sync {
    /// Checks, before anything is written, that the output can be written in `run.mode`; must
    /// not change anything on disk. Collective.
    fn check(&self, run: &SinkRun<'_>) -> Result<(), SinkError> {
        let _ = run;
        Ok(())
    }

    /// Creates the output, or reopens it ([`OutputMode::Resume`]). Returns the number of
    /// batches the output already holds if it records them (the run continues after them;
    /// sinks that record them must agree), `None` if it does not. Collective.
    fn prepare(&mut self, run: &SinkRun<'_>) -> Result<Option<u64>, SinkError>;

    /// Writes one trial's result, right after it is simulated (any rank, any thread). Local.
    fn write_trial(&self, result: &TrialResult) -> Result<(), SinkError> {
        let _ = result;
        Ok(())
    }

    /// Every trial of this rank in the batch went through [`Self::write_trial`]: make them
    /// durable before the batch is committed. Local.
    fn trials_written(&self) -> Result<(), SinkError> {
        Ok(())
    }

    /// Commits batch `batch`; `local` holds this rank's results of it (the union over ranks is
    /// the batch). Collective.
    fn commit_batch(
        &mut self,
        run: &SinkRun<'_>,
        batch: u64,
        local: &[TrialResult],
    ) -> Result<(), SinkError> {
        let _ = (run, batch, local);
        Ok(())
    }

    /// Completes the output after the last batch. Collective.
    fn finish(self: Box<Self>, run: &SinkRun<'_>) -> Result<(), SinkError>;
}
