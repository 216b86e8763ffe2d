//! Temporary folders of database writes and what happens to them after a crash or an interrupt.
//!
//! Every temporary folder (`.tmp.<name>.…`, a key or a whole database under construction) holds an
//! owner record [`OWNER_FILE`] with the host, the process id and the process start time of its
//! writer; it is removed just before the folder is installed. A later writer or reader can then
//! tell a leftover of a dead process (removed at once, and reported) from a write in progress (left
//! alone), even when the pid has been reused meanwhile (the start time differs). Folders without a
//! record (older versions, or a crash within microseconds of creating the folder) and folders of
//! other hosts are removed only when older than [`STALE_AGE`].
//!
//! Interrupts are cooperative: [`install_interrupt_flag`] hands the library a flag (set by the
//! command line's SIGINT/SIGTERM handler), long loops call [`check_interrupt`], and the resulting
//! [`DbError::Interrupted`] unwinds through the normal error paths, which remove their temporary
//! folders.

use super::{io_err, DbError, Result};
use serde::{Deserialize, Serialize};
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

/// Name of the owner record inside a temporary folder.
pub const OWNER_FILE: &str = ".isf_owner.json";

/// Age after which a temporary folder whose owner cannot be checked counts as abandoned.
pub const STALE_AGE: Duration = Duration::from_secs(24 * 3600);

static INTERRUPT: OnceLock<Arc<AtomicBool>> = OnceLock::new();

/// Makes the library stop at its next checkpoint with [`DbError::Interrupted`] once `flag` is set
/// (e.g. by `signal_hook::flag::register`). Only the first call has an effect; returns whether it
/// was the first.
pub fn install_interrupt_flag(flag: Arc<AtomicBool>) -> bool {
    INTERRUPT.set(flag).is_ok()
}

/// Whether an interrupt was requested.
pub fn interrupt_requested() -> bool {
    isf_io::signals::interrupted() || INTERRUPT.get().is_some_and(|f| f.load(Ordering::Relaxed))
}

/// A checkpoint: [`DbError::Interrupted`] if an interrupt was requested.
pub fn check_interrupt() -> Result<()> {
    if interrupt_requested() {
        Err(DbError::Interrupted)
    } else {
        Ok(())
    }
}

/// Who is writing a temporary folder.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Owner {
    /// Host name.
    pub host: String,
    /// Process id.
    pub pid: u32,
    /// Process start time (clock ticks since boot, Linux `/proc/<pid>/stat` field 22), if known.
    pub start_ticks: Option<u64>,
    /// The pid namespace (`/proc/self/ns/pid`), if known: containers on one host share its name
    /// but not their pids.
    #[serde(default)]
    pub pid_ns: Option<String>,
}

impl Owner {
    /// This process.
    pub fn current() -> Owner {
        let pid = std::process::id();
        Owner {
            host: hostname(),
            pid,
            start_ticks: start_ticks(pid),
            pid_ns: pid_namespace(),
        }
    }

    /// Whether the owner process is certainly gone (same host, and no process with that pid and
    /// start time). `false` when it runs or cannot be checked (another host).
    pub fn is_dead(&self) -> bool {
        if self.host != hostname() || self.pid_ns != pid_namespace() {
            return false;
        }
        if self.pid == std::process::id() {
            return false;
        }
        match (self.start_ticks, start_ticks(self.pid)) {
            (_, None) => !pid_exists(self.pid),
            (Some(a), Some(b)) => a != b,
            (None, Some(_)) => false,
        }
    }
}

/// This machine's host name (`unknown` if it cannot be read).
pub use isf_io::lock::hostname;

fn pid_namespace() -> Option<String> {
    fs::read_link("/proc/self/ns/pid")
        .ok()
        .map(|p| p.to_string_lossy().into_owned())
}

fn start_ticks(pid: u32) -> Option<u64> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) may contain spaces and parentheses; fields after it are plain.
    let rest = &stat[stat.rfind(')')? + 1..];
    rest.split_whitespace().nth(19)?.parse().ok()
}

fn pid_exists(pid: u32) -> bool {
    let Ok(p) = libc::pid_t::try_from(pid) else {
        return false;
    };
    // SAFETY: signal 0 only checks for existence and permission.
    let rc = unsafe { libc::kill(p, 0) };
    rc == 0 || std::io::Error::last_os_error().raw_os_error() == Some(libc::EPERM)
}

/// Creates the temporary folder `tmp` (and parents) with this process's owner record.
pub(crate) fn create_temp_dir(tmp: &Path) -> Result<()> {
    fs::create_dir_all(tmp).map_err(io_err(tmp))?;
    write_owner(tmp)
}

/// Writes this process's owner record into the existing folder `dir`.
pub(crate) fn write_owner(dir: &Path) -> Result<()> {
    let p = dir.join(OWNER_FILE);
    let json = serde_json::to_vec(&Owner::current()).map_err(|source| DbError::Json {
        path: p.clone(),
        source,
    })?;
    fs::write(&p, json).map_err(io_err(&p))
}

/// Removes the owner record of a finished temporary folder before it is installed.
pub(crate) fn remove_owner(dir: &Path) -> Result<()> {
    let p = dir.join(OWNER_FILE);
    match fs::remove_file(&p) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(io_err(&p)(e)),
        _ => Ok(()),
    }
}

/// The owner record of a temporary folder, if it has a readable one.
pub fn read_owner(dir: &Path) -> Option<Owner> {
    serde_json::from_slice(&fs::read(dir.join(OWNER_FILE)).ok()?).ok()
}

/// What [`clean_stale`] did with one temporary entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Leftover {
    /// Removed: its writer is dead (or it was older than [`STALE_AGE`]).
    Removed {
        /// The temporary folder or file.
        path: PathBuf,
        /// Whose it was and why it counts as abandoned.
        why: String,
    },
    /// Kept: its writer may still be running.
    Kept {
        /// The temporary folder or file.
        path: PathBuf,
        /// Why it was not removed and what the user may do about it.
        why: String,
    },
}

impl std::fmt::Display for Leftover {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Leftover::Removed { path, why } => {
                write!(
                    f,
                    "removed {}, the temporary folder of {why}",
                    path.display()
                )
            }
            Leftover::Kept { path, why } => write!(f, "kept {}: {why}", path.display()),
        }
    }
}

/// Removes the `.tmp.<prefix>…` entries of `dir` whose writer is dead (see the module docs) and
/// reports every entry it looked at. `prefix` empty: all temporaries.
pub fn clean_stale(dir: &Path, prefix: &str) -> Vec<Leftover> {
    let mut out = Vec::new();
    let Ok(rd) = fs::read_dir(dir) else {
        return out;
    };
    let want = format!(".tmp.{prefix}");
    for e in rd.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        if !name.starts_with(&want) {
            continue;
        }
        let path = e.path();
        let old = e
            .metadata()
            .and_then(|m| m.modified())
            .ok()
            .and_then(|m| m.elapsed().ok())
            .is_some_and(|age| age > STALE_AGE);
        let owner = if path.is_dir() {
            read_owner(&path)
        } else {
            None
        };
        let (remove, why) = match &owner {
            Some(o) if o.is_dead() => (
                true,
                format!("process {} on {}, which no longer runs", o.pid, o.host),
            ),
            Some(o) if old => (
                true,
                format!("process {} on {}, untouched for over a day", o.pid, o.host),
            ),
            Some(o) if o.host != hostname() || o.pid_ns != pid_namespace() => (
                false,
                format!(
                    "written by process {} on host {} (another host or container), which cannot \
                     be checked from here; remove it if that process is gone",
                    o.pid, o.host
                ),
            ),
            Some(o) => (false, format!("process {} is still writing it", o.pid)),
            None if old => (
                true,
                "an unknown writer, untouched for over a day".to_string(),
            ),
            None => (
                false,
                "no owner record and younger than a day; remove it if no isf command is \
                 writing there"
                    .to_string(),
            ),
        };
        if remove {
            let removed = if path.is_dir() {
                fs::remove_dir_all(&path)
            } else {
                fs::remove_file(&path)
            };
            match removed {
                Ok(()) => out.push(Leftover::Removed { path, why }),
                Err(e) => out.push(Leftover::Kept {
                    path,
                    why: format!("cannot remove it: {e}"),
                }),
            }
        } else {
            out.push(Leftover::Kept { path, why });
        }
    }
    out.sort_by(|a, b| format!("{a}").cmp(&format!("{b}")));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn owners_of_dead_processes_are_told_apart_from_live_ones() {
        let me = Owner::current();
        assert!(!me.is_dead());
        assert!(me.start_ticks.is_some());
        // A child that has exited (and been reaped) is dead.
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let pid = child.id();
        child.wait().unwrap();
        let gone = Owner {
            pid,
            start_ticks: Some(1),
            ..me.clone()
        };
        assert!(gone.is_dead());
        // A live pid with another start time: a reused pid, so the recorded writer is dead.
        let reused = Owner {
            start_ticks: me.start_ticks.map(|t| t + 1),
            pid: 1,
            ..me.clone()
        };
        assert!(reused.is_dead());
        let elsewhere = Owner {
            host: format!("{}-elsewhere", me.host),
            ..gone.clone()
        };
        assert!(!elsewhere.is_dead());
        let other_container = Owner {
            pid_ns: Some("pid:[1]".into()),
            ..gone
        };
        assert!(!other_container.is_dead());
    }

    #[test]
    fn clean_stale_removes_only_leftovers_of_dead_writers() {
        let dir = tempfile::tempdir().unwrap();
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let dead_pid = child.id();
        child.wait().unwrap();
        let dead = dir.path().join(".tmp.my.db.1.0.0");
        fs::create_dir(&dead).unwrap();
        fs::write(dead.join("payload"), b"x").unwrap();
        let o = Owner {
            pid: dead_pid,
            start_ticks: Some(1),
            ..Owner::current()
        };
        fs::write(dead.join(OWNER_FILE), serde_json::to_vec(&o).unwrap()).unwrap();
        let live = dir.path().join(".tmp.my.db.2.0.0");
        create_temp_dir(&live).unwrap();
        let unknown = dir.path().join(".tmp.my.db.3.0.0");
        fs::create_dir(&unknown).unwrap();
        let other = dir.path().join(".tmp.other.db.4.0.0");
        fs::create_dir(&other).unwrap();
        fs::write(other.join(OWNER_FILE), serde_json::to_vec(&o).unwrap()).unwrap();

        let report = clean_stale(dir.path(), "my.db.");
        assert_eq!(report.len(), 3, "{report:?}");
        assert!(!dead.exists() && live.exists() && unknown.exists() && other.exists());
        let text: Vec<String> = report.iter().map(|l| l.to_string()).collect();
        assert!(
            text.iter().any(|t| t.contains("removed")
                && t.contains(&format!("process {dead_pid}"))
                && t.contains("no longer runs")),
            "{text:?}"
        );
        assert!(text.iter().any(|t| t.contains("still writing")), "{text:?}");
    }
}
