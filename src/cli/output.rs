//! The output discipline every writing subcommand follows (the `isf-io` crate): an exclusive
//! lock on the output for the duration of the command, one overwrite rule (an existing output
//! is refused unless `--overwrite`, worded the same everywhere), outputs installed only
//! complete, and a line saying what was kept if SIGINT/SIGTERM ends the command.

use std::path::Path;

use anyhow::Context as _;
use isf_io::OutputLock;

/// The command line as typed: shown to whoever finds an output locked.
pub fn command_line() -> String {
    std::env::args().collect::<Vec<_>>().join(" ")
}

/// Takes the lock on `output` (a file or folder whose parent folder exists) for the duration of
/// this command, and says what an interrupt keeps: `output` as it was before the command. For a
/// database that the command adds keys to, each key already added is complete and kept.
pub fn lock(output: &Path) -> anyhow::Result<OutputLock> {
    let parent = isf_io::atomic::parent_dir(output);
    if !parent.is_dir() {
        anyhow::bail!(
            "{}: the folder to create it in ({}) does not exist",
            output.display(),
            parent.display()
        );
    }
    let lock = OutputLock::acquire(output, &command_line())?;
    for p in lock.removed_leftovers() {
        eprintln!(
            "note: removed {}, left by an interrupted earlier command",
            p.display()
        );
    }
    isf_io::signals::set_note(if isf_io::rule::output_exists(output) {
        format!(
            "{} was left as it was before this command (the unfinished new output was \
             removed); run the command again",
            output.display()
        )
    } else {
        format!(
            "{} was not created (the unfinished output was removed); run the command again",
            output.display()
        )
    });
    Ok(lock)
}

/// [`lock`]s the database folder `db` for a command that adds keys to it; an interrupt keeps
/// the keys stored before it (each complete) and none of the key being written.
pub fn lock_database(db: &Path) -> anyhow::Result<OutputLock> {
    let lock = lock(db)?;
    isf_io::signals::set_note(format!(
        "the keys this command stored in {} before the interrupt are complete and kept; the key \
         being written was not stored; run the command again (with --overwrite for the keys \
         already stored)",
        db.display()
    ));
    Ok(lock)
}

/// Creates the folder that will hold `output` (for commands that create it), then [`lock`]s
/// `output`.
pub fn lock_creating_parent(output: &Path) -> anyhow::Result<OutputLock> {
    let parent = isf_io::atomic::parent_dir(output);
    std::fs::create_dir_all(parent)
        .with_context(|| format!("cannot create {}", parent.display()))?;
    lock(output)
}

/// Refuses an existing output at `path` unless `overwrite` (the one rule of every command).
pub fn check(path: &Path, overwrite: bool) -> anyhow::Result<()> {
    Ok(isf_io::check_output(path, overwrite)?)
}

/// Refuses an existing key of database `db` unless `overwrite`.
pub fn check_key(
    db: &isf_post::db::Database,
    key: &[String],
    overwrite: bool,
) -> anyhow::Result<()> {
    let exists = db.resolve(key).is_ok_and(|(d, k)| d.contains(&k));
    if exists && !overwrite {
        return Err(isf_io::OutputExists::key(db.root(), &key.join("/")).into());
    }
    Ok(())
}
