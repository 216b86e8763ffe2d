//! An exclusive lock on an output for the duration of the command that writes it.
//!
//! The lock is a file beside the output, `<output>.lock` (for `results.h5`,
//! `results.h5.lock`; for a database folder `db`, `db.lock`), that holds its holder's host,
//! pid, start time and command as JSON. It is created complete and already `flock`ed: the
//! holder is written to a temporary file, which is locked and then renamed to the lock's name
//! without replacing an existing one, so the name appears exactly once and never half-written.
//! The holder keeps the file open (and the `flock`) until the lock is dropped, which removes
//! the file; a signal that ends the process removes it too ([`crate::signals`]).
//!
//! A second command finding the lock file tries to `flock` it:
//!
//! - refused: the holder is alive (on this host, or on another host of a file system that
//!   shares `flock`s) → [`LockError::InUse`];
//! - granted, holder on this host: the holder has died (the kernel released its `flock`) →
//!   [`LockError::Stale`];
//! - granted, holder on another host: this host cannot tell whether it still runs (file systems
//!   such as NFS without lock sharing) → [`LockError::OtherHost`].
//!
//! A stale lock is reported with instructions, never broken silently: the dead holder may have
//! left its output incomplete, and only a person can tell whether e.g. `--resume` or
//! `--overwrite` is wanted. Neither is a lock broken for its age: runs legitimately last days.
//!
//! Whoever holds the lock owns the output, so on acquiring it the temporaries that
//! [`crate::atomic`] made for that output and a killed command left behind
//! (`.<name>.<random>.tmp` files and `.<name>.<random>.partial` folders beside it) are removed.
//!
//! Under MPI, only rank 0 acquires the lock (the caller decides); the other ranks write only
//! while rank 0 holds it.

use std::fs::File;
use std::io::{Read, Write};
use std::os::fd::AsRawFd;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::atomic::parent_dir;
use crate::{signals, Error};

/// Who holds a lock.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Holder {
    /// Host name.
    pub host: String,
    /// Process id.
    pub pid: u32,
    /// When the lock was taken (UTC, RFC 3339).
    pub since: String,
    /// The command that holds it.
    pub command: String,
}

impl Holder {
    fn me(command: &str) -> Holder {
        Holder {
            host: hostname(),
            pid: std::process::id(),
            since: crate::time::utc_now_rfc3339(),
            command: command.to_string(),
        }
    }
}

impl std::fmt::Display for Holder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "pid {} on host {} since {} (command: {})",
            self.pid, self.host, self.since, self.command
        )
    }
}

/// Why a lock was not acquired.
#[derive(Debug, thiserror::Error)]
pub enum LockError {
    /// Another live process holds the lock.
    #[error("{} is in use by {holder}; wait for it to finish (lock file {})", output.display(), lock.display())]
    InUse {
        /// The output.
        output: PathBuf,
        /// The lock file.
        lock: PathBuf,
        /// Its holder.
        holder: Box<Holder>,
    },
    /// The holder, on this host, has ended without releasing the lock.
    #[error("{} has a stale lock: {holder} ended without releasing it, so the output may be \
             incomplete; check it (e.g. continue with --resume where the command has it, or \
             replace it with --overwrite), then remove {} and run again", output.display(), lock.display())]
    Stale {
        /// The output.
        output: PathBuf,
        /// The lock file.
        lock: PathBuf,
        /// Its former holder.
        holder: Box<Holder>,
    },
    /// The holder is on another host, whose processes cannot be checked from here.
    #[error("{} is in use by {holder}, as far as this host ({this_host}) can tell: processes on \
             {} cannot be checked from here; if that command no longer runs there, remove {} \
             and run again", output.display(), holder.host, lock.display())]
    OtherHost {
        /// The output.
        output: PathBuf,
        /// The lock file.
        lock: PathBuf,
        /// Its holder.
        holder: Box<Holder>,
        /// This host's name.
        this_host: String,
    },
    /// The lock file exists but does not name a holder.
    #[error("{}: lock file of {} not readable ({msg}); if no command is writing {}, remove {} \
             and run again", lock.display(), output.display(), output.display(), lock.display())]
    Unreadable {
        /// The output.
        output: PathBuf,
        /// The lock file.
        lock: PathBuf,
        /// What is wrong with it.
        msg: String,
    },
    /// An operating-system error.
    #[error(transparent)]
    Io(#[from] Error),
}

/// An exclusive lock on an output; released (lock file removed) when dropped.
#[derive(Debug)]
pub struct OutputLock {
    output: PathBuf,
    lock: PathBuf,
    holder: Holder,
    dev: u64,
    ino: u64,
    leftovers: Vec<PathBuf>,
    /// Keeps the `flock` for as long as the lock lives.
    _file: File,
    _cleanup: signals::Cleanup,
}

/// The lock file of an output: `<output>.lock` beside it.
pub fn lock_path(output: &Path) -> PathBuf {
    // Components drop a trailing `/` or `.` so `db/` and `db` share one lock.
    let clean: PathBuf = output.components().collect();
    let mut name = clean
        .file_name()
        .map(|n| n.to_os_string())
        .unwrap_or_else(|| "output".into());
    name.push(".lock");
    clean.with_file_name(name)
}

/// How many times a lock that disappears while it is inspected is tried again.
const ATTEMPTS: usize = 50;

impl OutputLock {
    /// Takes the lock on `output` for `command` (the command line, shown to anyone who finds
    /// the output locked). The folder holding `output` must exist. Fails at once if the output
    /// is locked; never waits.
    pub fn acquire(output: &Path, command: &str) -> Result<OutputLock, LockError> {
        let lock = lock_path(output);
        let holder = Holder::me(command);
        let dir = parent_dir(&lock);
        for _ in 0..ATTEMPTS {
            let mut tmp = tempfile::Builder::new()
                .prefix(&format!(
                    ".{}.",
                    lock.file_name().unwrap_or_default().to_string_lossy()
                ))
                .suffix(".tmp")
                .permissions(std::os::unix::fs::PermissionsExt::from_mode(0o666))
                .tempfile_in(dir)
                .map_err(|e| Error::io(&lock, "cannot create the lock file", e))?;
            let _tmp_cleanup = signals::remove_on_interrupt(tmp.path());
            let json = serde_json::to_string(&holder).expect("a holder serialises");
            tmp.write_all(format!("{json}\n").as_bytes())
                .and_then(|()| flock(tmp.as_file(), libc::LOCK_EX | libc::LOCK_NB))
                .map_err(|e| Error::io(&lock, "cannot write the lock file", e))?;
            // Registered before the lock file appears: an interrupt right after the rename must
            // find it (the inode is the temporary file's; a rename keeps it).
            let m = tmp
                .as_file()
                .metadata()
                .map_err(|e| Error::io(&lock, "cannot inspect the lock file", e))?;
            let cleanup = signals::release_on_interrupt(lock.clone(), m.dev(), m.ino());
            match tmp.persist_noclobber(&lock) {
                Ok(file) => {
                    let leftovers = remove_leftovers(output);
                    return Ok(OutputLock {
                        output: output.to_path_buf(),
                        lock,
                        holder,
                        dev: m.dev(),
                        ino: m.ino(),
                        leftovers,
                        _file: file,
                        _cleanup: cleanup,
                    });
                }
                Err(e) if e.error.kind() == std::io::ErrorKind::AlreadyExists => {}
                Err(e) => {
                    return Err(Error::io(&lock, "cannot create the lock file", e.error).into())
                }
            }
            if let Some(err) = inspect(output, &lock)? {
                return Err(err);
            }
            // The holder released the lock while we looked: try again.
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        Err(LockError::Unreadable {
            output: output.to_path_buf(),
            lock,
            msg: format!("it appeared and disappeared {ATTEMPTS} times while being checked"),
        })
    }

    /// Takes over the stale lock on `output` whose dead holder was `stale` (as reported by
    /// [`LockError::Stale`]), for a command whose user has said what to do with the dead
    /// holder's output (e.g. `--resume`). The lock file is kept: this process `flock`s it, which
    /// succeeds only while nobody else holds or has taken it, checks that it still names
    /// `stale`, and writes itself in. Any other state is reported as [`Self::acquire`] would.
    pub fn take_over(
        output: &Path,
        command: &str,
        stale: &Holder,
    ) -> Result<OutputLock, LockError> {
        let lock = lock_path(output);
        let retry = || match inspect(output, &lock) {
            Ok(Some(e)) | Err(e) => Err(e),
            Ok(None) => Self::acquire(output, command),
        };
        let mut file = match std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open(&lock)
        {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Self::acquire(output, command)
            }
            Err(e) => return Err(Error::io(&lock, "cannot open the existing lock file", e).into()),
        };
        if flock(&file, libc::LOCK_EX | libc::LOCK_NB).is_err() {
            return retry();
        }
        let m = file
            .metadata()
            .map_err(|e| Error::io(&lock, "cannot inspect the lock file", e))?;
        let mut text = String::new();
        let named = (&mut file)
            .take(64 * 1024)
            .read_to_string(&mut text)
            .ok()
            .and_then(|_| serde_json::from_str::<Holder>(text.trim()).ok());
        if !signals::same_inode(&lock, m.dev(), m.ino()) || named.as_ref() != Some(stale) {
            drop(file);
            return retry();
        }
        let holder = Holder::me(command);
        let json = serde_json::to_string(&holder).expect("a holder serialises");
        use std::io::Seek;
        file.set_len(0)
            .and_then(|()| file.seek(std::io::SeekFrom::Start(0)))
            .and_then(|_| file.write_all(format!("{json}\n").as_bytes()))
            .and_then(|()| file.sync_data())
            .map_err(|e| Error::io(&lock, "cannot write the lock file", e))?;
        let cleanup = signals::release_on_interrupt(lock.clone(), m.dev(), m.ino());
        let leftovers = remove_leftovers(output);
        Ok(OutputLock {
            output: output.to_path_buf(),
            lock,
            holder,
            dev: m.dev(),
            ino: m.ino(),
            leftovers,
            _file: file,
            _cleanup: cleanup,
        })
    }

    /// The locked output.
    pub fn output(&self) -> &Path {
        &self.output
    }

    /// The lock file.
    pub fn path(&self) -> &Path {
        &self.lock
    }

    /// This process's entry in the lock file.
    pub fn holder(&self) -> &Holder {
        &self.holder
    }

    /// The temporaries of this output left by earlier, killed commands, removed on acquiring.
    pub fn removed_leftovers(&self) -> &[PathBuf] {
        &self.leftovers
    }
}

/// Removes the temporaries [`crate::atomic`] names after `output` (`.<name>.<random>.tmp`,
/// `.<name>.<random>.partial`) beside it; the lock files' own temporaries
/// (`.<name>.lock.<random>.tmp`, another command trying to take the lock) are not touched.
fn remove_leftovers(output: &Path) -> Vec<PathBuf> {
    let clean: PathBuf = output.components().collect();
    let Some(name) = clean.file_name().map(|n| n.to_string_lossy().into_owned()) else {
        return Vec::new();
    };
    let (prefix, lock_prefix) = (format!(".{name}."), format!(".{name}.lock."));
    let Ok(entries) = std::fs::read_dir(parent_dir(&clean)) else {
        return Vec::new();
    };
    let mut removed = Vec::new();
    for e in entries.flatten() {
        let n = e.file_name().to_string_lossy().into_owned();
        if !n.starts_with(&prefix) || n.starts_with(&lock_prefix) {
            continue;
        }
        let p = e.path();
        let gone = match e.file_type() {
            Ok(t) if t.is_dir() && n.ends_with(".partial") => std::fs::remove_dir_all(&p).is_ok(),
            Ok(t) if t.is_file() && n.ends_with(".tmp") => std::fs::remove_file(&p).is_ok(),
            _ => false,
        };
        if gone {
            removed.push(p);
        }
    }
    removed
}

impl Drop for OutputLock {
    fn drop(&mut self) {
        // Only our own file: someone may have removed a lock they believed stale and taken a
        // new one. Removing before closing (which drops the flock) is safe: a process that
        // opened the old file meanwhile sees that the name no longer leads to it and retries.
        if signals::same_inode(&self.lock, self.dev, self.ino) {
            let _ = std::fs::remove_file(&self.lock);
        }
    }
}

/// Examines an existing lock file: the error to report, or `None` if the lock vanished while
/// being examined (try again).
fn inspect(output: &Path, lock: &Path) -> Result<Option<LockError>, LockError> {
    let mut f = match File::open(lock) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(Error::io(lock, "cannot open the existing lock file", e).into()),
    };
    let mut text = String::new();
    // A lock file is a line of JSON; more is not ours.
    let read = (&mut f).take(64 * 1024).read_to_string(&mut text);
    let held = match flock(&f, libc::LOCK_SH | libc::LOCK_NB) {
        Ok(()) => Some(false),
        Err(e) if e.raw_os_error() == Some(libc::EWOULDBLOCK) => Some(true),
        // No flock on this file system: fall back to the pid for holders on this host.
        Err(_) => None,
    };
    // Still the file at that name? If not, its holder just released it.
    let m = f
        .metadata()
        .map_err(|e| Error::io(lock, "cannot inspect the existing lock file", e))?;
    if !signals::same_inode(lock, m.dev(), m.ino()) {
        return Ok(None);
    }
    drop(f);
    let holder = match read
        .map_err(|e| e.to_string())
        .and_then(|_| serde_json::from_str::<Holder>(text.trim()).map_err(|e| e.to_string()))
    {
        Ok(h) => h,
        Err(msg) => {
            return Ok(Some(LockError::Unreadable {
                output: output.to_path_buf(),
                lock: lock.to_path_buf(),
                msg,
            }))
        }
    };
    let this_host = hostname();
    let (output, lock) = (output.to_path_buf(), lock.to_path_buf());
    let holder = Box::new(holder);
    let alive = match held {
        Some(h) => h,
        None if holder.host == this_host => pid_alive(holder.pid),
        None => true,
    };
    Ok(Some(if alive {
        LockError::InUse {
            output,
            lock,
            holder,
        }
    } else if holder.host == this_host {
        LockError::Stale {
            output,
            lock,
            holder,
        }
    } else {
        LockError::OtherHost {
            output,
            lock,
            holder,
            this_host,
        }
    }))
}

fn flock(f: &File, op: libc::c_int) -> std::io::Result<()> {
    // SAFETY: flock on a descriptor owned by `f` for the duration of the call.
    if unsafe { libc::flock(f.as_raw_fd(), op) } == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}

fn pid_alive(pid: u32) -> bool {
    let Ok(pid) = libc::pid_t::try_from(pid) else {
        return false;
    };
    // SAFETY: signal 0 only checks that the process exists.
    unsafe { libc::kill(pid, 0) == 0 || *libc::__errno_location() == libc::EPERM }
}

/// This host's name (`unknown` if the system will not say).
pub fn hostname() -> String {
    let mut buf = [0u8; 256];
    // SAFETY: the buffer is valid for its length; gethostname NUL-terminates within it or
    // truncates, and we stop at the first NUL or the end.
    let rc = unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) };
    if rc != 0 {
        return "unknown".into();
    }
    let end = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
    String::from_utf8_lossy(&buf[..end]).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lock_path_is_beside_the_output() {
        assert_eq!(lock_path(Path::new("a/db/")), Path::new("a/db.lock"));
        assert_eq!(lock_path(Path::new("r.h5")), Path::new("r.h5.lock"));
    }

    #[test]
    fn second_acquire_fails_naming_the_holder_and_drop_releases() {
        let d = tempfile::tempdir().unwrap();
        let out = d.path().join("results.h5");
        let first = OutputLock::acquire(&out, "isf simulate --config run.toml").unwrap();
        assert!(lock_path(&out).is_file());
        let e = OutputLock::acquire(&out, "isf simulate --resume").unwrap_err();
        let msg = e.to_string();
        assert!(matches!(e, LockError::InUse { .. }), "{msg}");
        assert!(
            msg.starts_with(&format!(
                "{} is in use by pid {} on host {} since ",
                out.display(),
                std::process::id(),
                hostname()
            )),
            "{msg}"
        );
        assert!(
            msg.contains("(command: isf simulate --config run.toml)"),
            "{msg}"
        );
        drop(first);
        assert!(!lock_path(&out).exists());
        let again = OutputLock::acquire(&out, "again").unwrap();
        assert_eq!(again.holder().command, "again");
        drop(again);
        // Nothing but the (absent) output's folder content: no temporaries left.
        assert_eq!(std::fs::read_dir(d.path()).unwrap().count(), 0);
    }

    #[test]
    fn acquiring_removes_the_outputs_leftover_temporaries_only() {
        let d = tempfile::tempdir().unwrap();
        let out = d.path().join("db");
        std::fs::create_dir(d.path().join(".db.a1B2c3.partial")).unwrap();
        std::fs::write(d.path().join(".db.a1B2c3.partial/x.h5"), "x").unwrap();
        std::fs::write(d.path().join(".db.Zz9.tmp"), "x").unwrap();
        let keep = [
            ".db.lock.Q1.tmp",
            ".dbx.Zz9.tmp",
            ".other.Zz9.tmp",
            ".db.Zz9.h5",
        ];
        for k in keep {
            std::fs::write(d.path().join(k), "x").unwrap();
        }
        let l = OutputLock::acquire(&out, "t").unwrap();
        assert_eq!(
            l.removed_leftovers().len(),
            2,
            "{:?}",
            l.removed_leftovers()
        );
        drop(l);
        let mut left: Vec<String> = std::fs::read_dir(d.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        left.sort();
        let mut want = keep.map(String::from).to_vec();
        want.sort();
        assert_eq!(left, want);
    }

    /// Writes `lock` as a lock file nobody holds, of a process of this host that has ended.
    fn write_dead_holder(lock: &Path, command: &str) -> Holder {
        let dead = Holder {
            host: hostname(),
            pid: u32::MAX,
            since: "2026-01-01T00:00:00Z".into(),
            command: command.into(),
        };
        std::fs::write(lock, serde_json::to_string(&dead).unwrap()).unwrap();
        dead
    }

    #[test]
    fn a_dead_holder_is_reported_as_stale_not_broken() {
        let d = tempfile::tempdir().unwrap();
        let out = d.path().join("db");
        let lock = lock_path(&out);
        let dead = write_dead_holder(&lock, "isf db init r.h5 db");
        let e = OutputLock::acquire(&out, "isf db init").unwrap_err();
        assert!(matches!(e, LockError::Stale { .. }), "{e}");
        let msg = e.to_string();
        assert!(msg.contains("stale lock") && msg.contains(&lock.display().to_string()));
        assert!(lock.exists(), "a stale lock must not be removed silently");

        // The same from another host: cannot be checked, reported with that host.
        let other = Holder {
            host: "node-elsewhere-17".into(),
            ..dead
        };
        std::fs::write(&lock, serde_json::to_string(&other).unwrap()).unwrap();
        let e = OutputLock::acquire(&out, "isf db init").unwrap_err();
        assert!(matches!(e, LockError::OtherHost { .. }), "{e}");
        assert!(e.to_string().contains("node-elsewhere-17"), "{e}");

        // Garbage: reported, kept.
        std::fs::write(&lock, "\u{0}\u{1}garbage").unwrap();
        let e = OutputLock::acquire(&out, "isf db init").unwrap_err();
        assert!(matches!(e, LockError::Unreadable { .. }), "{e}");
        assert!(lock.exists());
    }

    #[test]
    fn a_stale_lock_is_taken_over_only_as_reported() {
        let d = tempfile::tempdir().unwrap();
        let out = d.path().join("r.h5");
        let lock = lock_path(&out);
        write_dead_holder(&lock, "isf simulate --config run.toml");
        let LockError::Stale { holder, .. } = OutputLock::acquire(&out, "a").unwrap_err() else {
            panic!("not reported stale");
        };
        // Another holder than the one reported: not taken over.
        let other = Holder {
            pid: 1,
            ..(*holder).clone()
        };
        assert!(OutputLock::take_over(&out, "b", &other).is_err());
        let taken = OutputLock::take_over(&out, "isf simulate --resume", &holder).unwrap();
        assert_eq!(taken.holder().command, "isf simulate --resume");
        let text = std::fs::read_to_string(&lock).unwrap();
        assert!(text.contains("isf simulate --resume"), "{text}");
        // Held now: a second take-over or acquire is refused as in use.
        let e = OutputLock::take_over(&out, "c", &holder).unwrap_err();
        assert!(matches!(e, LockError::InUse { .. }), "{e}");
        drop(taken);
        assert!(!lock.exists());
    }
}
