//! SIGINT and SIGTERM: a flag that long loops poll, and a clean end for commands that do not.
//!
//! [`install`] starts a thread that waits for the two signals. What the first signal does
//! depends on whether a [`Polling`] guard is alive:
//!
//! - while one is (a run loop that checks [`interrupted`] between trials or batches), the first
//!   signal only sets the flag, and the command stops at its next check point, keeps what is
//!   complete and returns; a second signal ends the process at once as below;
//! - otherwise the process ends at once: every registered temporary path is removed, every
//!   registered lock released, one line says what was kept ([`set_note`]), and the exit code is
//!   128 + the signal number (130 for SIGINT, 143 for SIGTERM).
//!
//! Temporaries and locks register themselves: [`crate::atomic`] registers every file and folder
//! it writes aside, [`crate::lock::OutputLock`] its lock file. A command can register more paths
//! with [`remove_on_interrupt`].
//!
//! The process ends with `_exit`, not `exit`: atexit handlers (libhdf5's among them) may need
//! locks that the interrupted main thread holds.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicI32, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard, OnceLock, PoisonError};

static SIGNAL: AtomicI32 = AtomicI32::new(0);
static POLLERS: AtomicUsize = AtomicUsize::new(0);
static NEXT_ID: AtomicU64 = AtomicU64::new(1);
static REGISTRY: Mutex<Vec<(u64, Entry)>> = Mutex::new(Vec::new());
static NOTE: Mutex<Option<String>> = Mutex::new(None);

const DEFAULT_NOTE: &str =
    "nothing was left half-written (temporary files removed, locks released)";

#[derive(Debug)]
enum Entry {
    /// A temporary file or folder: removed.
    Temporary(PathBuf),
    /// A lock file: removed if it still is the file (device, inode) this process created.
    Lock { path: PathBuf, dev: u64, ino: u64 },
}

fn registry() -> MutexGuard<'static, Vec<(u64, Entry)>> {
    REGISTRY.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Installs the SIGINT/SIGTERM handling (once per process; later calls do nothing).
pub fn install() -> std::io::Result<()> {
    static INSTALLED: OnceLock<Result<(), String>> = OnceLock::new();
    let r = INSTALLED.get_or_init(|| {
        use signal_hook::consts::{SIGINT, SIGTERM};
        let mut signals =
            signal_hook::iterator::Signals::new([SIGINT, SIGTERM]).map_err(|e| e.to_string())?;
        std::thread::Builder::new()
            .name("isf-signals".into())
            .spawn(move || {
                for sig in signals.forever() {
                    on_signal(sig);
                }
            })
            .map(drop)
            .map_err(|e| e.to_string())
    });
    r.clone().map_err(|e| {
        std::io::Error::other(format!("cannot install the SIGINT/SIGTERM handlers: {e}"))
    })
}

fn on_signal(sig: i32) {
    let first = SIGNAL
        .compare_exchange(0, sig, Ordering::SeqCst, Ordering::SeqCst)
        .is_ok();
    if first && POLLERS.load(Ordering::SeqCst) > 0 {
        eprintln!(
            "isf: {} received: stopping after the current step (send it again to stop at once)",
            signal_name(sig)
        );
        return;
    }
    exit_now(sig)
}

/// Removes the registered temporaries, releases the registered locks, says what was kept and
/// ends the process with 128 + `sig`.
fn exit_now(sig: i32) -> ! {
    let reg = registry();
    for (_, e) in reg.iter().rev() {
        if let Entry::Temporary(p) = e {
            remove_path(p);
        }
    }
    for (_, e) in reg.iter() {
        if let Entry::Lock { path, dev, ino } = e {
            if same_inode(path, *dev, *ino) {
                let _ = std::fs::remove_file(path);
            }
        }
    }
    let note = NOTE
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .clone()
        .unwrap_or_else(|| DEFAULT_NOTE.to_string());
    eprintln!("isf: interrupted by {}: {note}", signal_name(sig));
    // SAFETY: _exit ends the process without running atexit handlers; nothing is used after it.
    unsafe { libc::_exit(128 + sig) }
}

/// Removes a file or folder; the interrupted thread may still be writing into a folder, so a
/// removal that fails is tried again a few times.
fn remove_path(p: &Path) {
    for _ in 0..5 {
        let r = match std::fs::symlink_metadata(p) {
            Err(_) => return,
            Ok(m) if m.is_dir() => std::fs::remove_dir_all(p),
            Ok(_) => std::fs::remove_file(p),
        };
        if r.is_ok() {
            return;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

pub(crate) fn same_inode(path: &Path, dev: u64, ino: u64) -> bool {
    use std::os::unix::fs::MetadataExt;
    std::fs::symlink_metadata(path).is_ok_and(|m| m.dev() == dev && m.ino() == ino)
}

/// Whether SIGINT or SIGTERM was received.
pub fn interrupted() -> bool {
    SIGNAL.load(Ordering::SeqCst) != 0
}

/// The signal received, if any.
pub fn received() -> Option<i32> {
    match SIGNAL.load(Ordering::SeqCst) {
        0 => None,
        s => Some(s),
    }
}

/// The exit code after an interrupt: 128 + the signal number (130 SIGINT, 143 SIGTERM).
pub fn exit_code() -> Option<i32> {
    received().map(|s| 128 + s)
}

/// The usual name of a signal number.
pub fn signal_name(sig: i32) -> &'static str {
    match sig {
        libc::SIGINT => "SIGINT",
        libc::SIGTERM => "SIGTERM",
        _ => "a signal",
    }
}

/// While alive, the first SIGINT/SIGTERM only sets [`interrupted`]: the holder promises to poll
/// it and to stop cleanly. A second signal still ends the process at once.
#[derive(Debug)]
#[must_use = "polling ends when the guard is dropped"]
pub struct Polling(());

/// Declares that the caller polls [`interrupted`] until the returned guard is dropped.
pub fn polling() -> Polling {
    POLLERS.fetch_add(1, Ordering::SeqCst);
    Polling(())
}

impl Drop for Polling {
    fn drop(&mut self) {
        POLLERS.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Sets the line printed when a signal ends the process: what was kept and how to go on
/// (e.g. "results.h5 holds the completed batches; run again with --resume").
pub fn set_note(note: impl Into<String>) {
    *NOTE.lock().unwrap_or_else(PoisonError::into_inner) = Some(note.into());
}

/// A path removed (or lock released) if a signal ends the process; dropping the guard (or
/// [`Cleanup::disarm`]) unregisters it.
#[derive(Debug)]
#[must_use = "the path is unregistered when the guard is dropped"]
pub struct Cleanup {
    id: u64,
}

fn register(e: Entry) -> Cleanup {
    let id = NEXT_ID.fetch_add(1, Ordering::Relaxed);
    registry().push((id, e));
    Cleanup { id }
}

/// Registers a temporary file or folder to remove if a signal ends the process.
pub fn remove_on_interrupt(path: impl Into<PathBuf>) -> Cleanup {
    register(Entry::Temporary(path.into()))
}

/// Registers a lock file (identified by device and inode) to remove if a signal ends the
/// process.
pub(crate) fn release_on_interrupt(path: PathBuf, dev: u64, ino: u64) -> Cleanup {
    register(Entry::Lock { path, dev, ino })
}

impl Cleanup {
    /// Unregisters the path.
    pub fn disarm(self) {}

    /// Runs `f` (e.g. the rename that installs the temporary) and unregisters the path, as one
    /// step as far as a signal is concerned: an interrupt sees the temporary either before `f`
    /// (and removes it) or after `f` (and leaves the installed output alone). `f` must not
    /// create or drop guards of this module (it runs while their registry is locked).
    pub fn disarm_after<T>(mut self, f: impl FnOnce() -> T) -> T {
        let mut reg = registry();
        let out = f();
        let id = std::mem::take(&mut self.id);
        reg.retain(|(i, _)| *i != id);
        out
    }
}

impl Drop for Cleanup {
    fn drop(&mut self) {
        if self.id != 0 {
            let id = self.id;
            registry().retain(|(i, _)| *i != id);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn registered(c: &Cleanup) -> bool {
        registry().iter().any(|(i, _)| *i == c.id)
    }

    #[test]
    fn guards_unregister() {
        let a = remove_on_interrupt("/nonexistent/a");
        let b = remove_on_interrupt("/nonexistent/b");
        assert!(registered(&a) && registered(&b));
        let id = b.id;
        drop(a);
        let ran = b.disarm_after(|| 7);
        assert_eq!(ran, 7);
        assert!(!registry().iter().any(|(i, _)| *i == id));
        assert!(!interrupted());
        assert_eq!(exit_code(), None);
    }
}
