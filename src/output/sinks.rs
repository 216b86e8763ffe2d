//! The outputs of a run, in one place: the results file's lock and the decision how to treat an
//! existing one ([`claim_output`]), and the list of sinks a run config asks for ([`build`]).
//! A new output format is a [`ResultSink`] plus one entry here (or, from a library user, a
//! [`SinkFactory`] passed with the run's options); the run loop does not change.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use tracing::warn;

use super::isf_export::IsfExport;
use super::layout::{Provenance, ResultsLayout};
use super::results_h5::{ResultsSink, WriteHook};
use super::sink::{OutputMode, ResultSink, SinkError, SinkRun};
use crate::comm::Communicator;
use crate::trial::result::TrialResult;

/// What a sink is built from.
pub struct SinkInputs<'a> {
    /// The results file the run config names.
    pub output: &'a Path,
    /// The ISF-format export folder, if the run config asks for one.
    pub isf_folder: Option<&'a Path>,
    /// The shape of the run's results.
    pub layout: &'a ResultsLayout,
    /// What made them.
    pub provenance: &'a Provenance,
}

/// Builds one more sink for a run (a format added by a library user, or a test).
#[derive(Clone)]
pub struct SinkFactory(pub Arc<SinkFactoryFn>);

/// The function of a [`SinkFactory`].
pub type SinkFactoryFn =
    dyn Fn(&SinkInputs<'_>) -> Result<Box<dyn ResultSink>, SinkError> + Send + Sync;

impl std::fmt::Debug for SinkFactory {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SinkFactory")
    }
}

/// The sinks of a run, in the order their phases run: the ISF-format export (if the config has
/// `isf_folder`) before the results file, so an unusable export folder stops the run before a
/// results file exists; then the `extra` sinks. Identical on every rank.
pub fn build(
    inputs: &SinkInputs<'_>,
    write_hook: Option<WriteHook>,
    extra: &[SinkFactory],
) -> Result<Vec<Box<dyn ResultSink>>, SinkError> {
    let mut sinks: Vec<Box<dyn ResultSink>> = Vec::new();
    if let Some(dir) = inputs.isf_folder {
        let x = IsfExport::new(dir, inputs.layout)
            .map_err(|e| SinkError::output(dir, format!("ISF-format export: {e}")))?;
        sinks.push(Box::new(x));
    }
    sinks.push(Box::new(ResultsSink::new(
        inputs.output,
        inputs.layout,
        inputs.provenance,
        write_hook,
    )));
    for f in extra {
        sinks.push((f.0)(inputs)?);
    }
    Ok(sinks)
}

/// The sinks of a run, opened: every one checked, then prepared in order (see [`build`]).
/// Collective. The phases of [`ResultSink`] run on each sink in turn.
pub struct Outputs {
    sinks: Vec<Box<dyn ResultSink>>,
    batches_done: u64,
}

impl Outputs {
    /// Checks every sink before anything is written, then prepares each in order; with
    /// `--resume`, the sinks that record complete batches must agree on their number.
    pub fn open(
        sinks: Vec<Box<dyn ResultSink>>,
        run: &SinkRun<'_>,
        results_file: &Path,
    ) -> Result<Outputs, SinkError> {
        let mut sinks = sinks;
        for s in &sinks {
            s.check(run)?;
        }
        let mut done = None;
        for s in &mut sinks {
            match (done, s.prepare(run)?) {
                (Some(a), Some(b)) if a != b => {
                    return Err(SinkError::output(
                        results_file,
                        format!("the outputs hold different numbers of batches ({a} and {b})"),
                    ))
                }
                (None, b) => done = b,
                _ => {}
            }
        }
        Ok(Outputs {
            sinks,
            batches_done: done.unwrap_or(0),
        })
    }

    /// Batches the outputs already hold (`--resume`); the run continues after them.
    pub fn batches_done(&self) -> u64 {
        self.batches_done
    }

    /// [`ResultSink::write_trial`] of every sink. Local.
    pub fn write_trial(&self, r: &TrialResult) -> Result<(), SinkError> {
        self.sinks.iter().try_for_each(|s| s.write_trial(r))
    }

    /// [`ResultSink::trials_written`] of every sink. Local.
    pub fn trials_written(&self) -> Result<(), SinkError> {
        self.sinks.iter().try_for_each(|s| s.trials_written())
    }

    /// [`ResultSink::commit_batch`] of every sink. Collective.
    pub fn commit_batch(
        &mut self,
        run: &SinkRun<'_>,
        batch: u64,
        local: &[TrialResult],
    ) -> Result<(), SinkError> {
        for s in &mut self.sinks {
            s.commit_batch(run, batch, local)?;
        }
        Ok(())
    }

    /// [`ResultSink::finish`] of every sink. Collective.
    pub fn finish(self, run: &SinkRun<'_>) -> Result<(), SinkError> {
        self.sinks.into_iter().try_for_each(|s| s.finish(run))
    }
}

/// The user's choices about an existing output.
#[derive(Debug, Clone, Copy, Default)]
pub struct OutputChoice {
    /// `--resume`: continue an existing results file.
    pub resume: bool,
    /// `--overwrite`: replace it.
    pub overwrite: bool,
}

/// Takes the results file's lock (rank 0, held for the whole run) and decides how to treat the
/// outputs, the same on every rank. Never touches an existing file. Collective.
pub fn claim_output(
    comm: &dyn Communicator,
    path: &Path,
    choice: OutputChoice,
    command_line: &str,
) -> Result<(Option<isf_io::OutputLock>, OutputMode), SinkError> {
    let (lock, local_mode) =
        match (comm.rank() == 0).then(|| lock_output(path, choice, command_line)) {
            Some(Ok(lock)) => (Some(lock), Some(decide_mode(path, choice))),
            Some(Err(e)) => (None, Some(Err(e))),
            None => (None, None),
        };
    let mode = share_mode(comm, local_mode)?;
    Ok((lock, mode))
}

/// Decides (on rank 0) how to treat the output path. Never touches an existing file.
fn decide_mode(path: &Path, choice: OutputChoice) -> Result<OutputMode, SinkError> {
    let err = |msg: String| SinkError::output(path, msg);
    if choice.resume && choice.overwrite {
        return Err(err("--resume and --overwrite exclude each other".into()));
    }
    let exists = path.exists();
    if exists && !path.is_file() {
        return Err(err("exists and is not a file".into()));
    }
    let mode =
        match (exists, choice.resume, choice.overwrite) {
            (true, true, _) => OutputMode::Resume,
            (true, false, true) => OutputMode::Replace,
            (true, false, false) => return Err(err(
                "already exists; pass --resume to continue that run or --overwrite to replace it"
                    .into(),
            )),
            (false, true, _) => {
                warn!(
                    "nothing to resume at {}: starting a new run",
                    path.display()
                );
                OutputMode::Create
            }
            (false, false, _) => OutputMode::Create,
        };
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_owned(),
        _ => PathBuf::from("."),
    };
    if !dir.is_dir() {
        return Err(err(format!("folder {} does not exist", dir.display())));
    }
    // Probe writability with a temporary file: cheaper to learn now than after the first batch.
    tempfile::Builder::new()
        .prefix(".isf-write-probe")
        .tempfile_in(&dir)
        .map_err(|e| err(format!("folder {} is not writable: {e}", dir.display())))?;
    if exists && mode == OutputMode::Resume {
        std::fs::OpenOptions::new()
            .append(true)
            .open(path)
            .map_err(|e| err(format!("cannot open for writing: {e}")))?;
    }
    Ok(mode)
}

/// Takes the lock on the results file. A stale lock (its holder died on this host) is taken
/// over when the user said what to do with that holder's file (`--resume` or `--overwrite`),
/// with a warning naming the dead holder; otherwise it is reported.
fn lock_output(
    path: &Path,
    choice: OutputChoice,
    command_line: &str,
) -> Result<isf_io::OutputLock, SinkError> {
    let err = |e: isf_io::LockError| SinkError::output(path, e.to_string());
    let parent = isf_io::atomic::parent_dir(path);
    if !parent.is_dir() {
        return Err(SinkError::output(
            path,
            format!("folder {} does not exist", parent.display()),
        ));
    }
    match isf_io::OutputLock::acquire(path, command_line) {
        Err(isf_io::LockError::Stale { holder, .. }) if choice.resume || choice.overwrite => {
            warn!(
                "{}: taking over the lock of {holder}, which ended without releasing it",
                path.display()
            );
            isf_io::OutputLock::take_over(path, command_line, &holder).map_err(err)
        }
        Err(isf_io::LockError::Io(e)) => Err(SinkError::output(
            path,
            format!("folder {} is not writable: {e}", parent.display()),
        )),
        r => r.map_err(err),
    }
}

/// Rank 0's decision (or error), shared with every rank.
fn share_mode(
    comm: &dyn Communicator,
    local: Option<Result<OutputMode, SinkError>>,
) -> Result<OutputMode, SinkError> {
    // Encoding: [0|1|2] for a mode, [255, message…] for an error.
    let bytes = match &local {
        Some(Ok(m)) => vec![*m as u8],
        Some(Err(e)) => {
            let mut b = vec![255u8];
            b.extend_from_slice(e.to_string().as_bytes());
            b
        }
        None => Vec::new(),
    };
    let got = comm.broadcast_bytes(bytes);
    match (local, got.first()) {
        (Some(Err(e)), _) => Err(e),
        (_, Some(0)) => Ok(OutputMode::Create),
        (_, Some(1)) => Ok(OutputMode::Replace),
        (_, Some(2)) => Ok(OutputMode::Resume),
        _ => Err(SinkError::OtherRank { rank: 0 }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::comm::SerialCommunicator;

    fn choice(resume: bool, overwrite: bool) -> OutputChoice {
        OutputChoice { resume, overwrite }
    }

    #[test]
    fn modes_follow_the_overwrite_rule() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("r.h5");
        let claim = |c| claim_output(&SerialCommunicator, &p, c, "test").map(|(_, m)| m);
        assert_eq!(claim(choice(false, false)).unwrap(), OutputMode::Create);
        assert_eq!(claim(choice(true, false)).unwrap(), OutputMode::Create);
        std::fs::write(&p, "x").unwrap();
        assert_eq!(claim(choice(true, false)).unwrap(), OutputMode::Resume);
        assert_eq!(claim(choice(false, true)).unwrap(), OutputMode::Replace);
        let e = claim(choice(false, false)).unwrap_err().to_string();
        assert!(e.contains("already exists; pass --resume"), "{e}");
        let e = claim(choice(true, true)).unwrap_err().to_string();
        assert!(e.contains("exclude each other"), "{e}");
        let e = claim_output(
            &SerialCommunicator,
            &d.path().join("no/r.h5"),
            choice(false, false),
            "test",
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("does not exist"), "{e}");
    }

    #[test]
    fn the_lock_is_held_until_dropped() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("r.h5");
        let (lock, _) = claim_output(&SerialCommunicator, &p, choice(false, false), "a").unwrap();
        assert!(lock.is_some());
        assert!(claim_output(&SerialCommunicator, &p, choice(false, false), "b").is_err());
        drop(lock);
        assert!(claim_output(&SerialCommunicator, &p, choice(false, false), "b").is_ok());
    }
}
