//! Atomic installation: a reader, a crash or a signal never leaves a half-written output.
//!
//! One rule for files and folders alike: the content is written aside under a hidden temporary
//! name in the destination's folder (same file system, so the final rename is atomic), flushed
//! to disk (`fsync` of every file written, then of the folder), renamed into place, and the
//! destination's folder is flushed so the rename itself survives a power loss. The one
//! exception, [`write_file_unsynced_with`], leaves the flush to one [`sync_file_system`] by the
//! caller after many small files.
//!
//! Temporaries are created with mode 0666 (files) or 0777 (folders) minus the umask, so an
//! installed output has the permissions any other new file would have (0644/0755 under umask
//! 022), not the owner-only mode of a temporary file. Every temporary is registered with
//! [`crate::signals`], so an interrupt removes it.

use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use crate::rule::{output_exists, OutputExists};
use crate::{signals, Error};

fn file_mode() -> std::fs::Permissions {
    std::fs::Permissions::from_mode(0o666)
}

fn dir_mode() -> std::fs::Permissions {
    std::fs::Permissions::from_mode(0o777)
}

/// Writes `bytes` to `path` atomically and durably (replacing an existing file).
pub fn write_file(path: &Path, bytes: &[u8]) -> Result<(), Error> {
    write_file_with(path, |w| w.write_all(bytes))
}

/// Writes `path` atomically and durably through a buffered writer filled by `fill` (replacing an
/// existing file).
pub fn write_file_with(
    path: &Path,
    fill: impl FnOnce(&mut std::io::BufWriter<&mut std::fs::File>) -> std::io::Result<()>,
) -> Result<(), Error> {
    write_renamed(path, true, fill)
}

/// As [`write_file_with`], but without flushing to disk: readers and a killed process still
/// never see a partial file, but durability against a power loss is left to the caller (one
/// [`sync_file_system`] for many small files instead of one `fsync` each).
pub fn write_file_unsynced_with(
    path: &Path,
    fill: impl FnOnce(&mut std::io::BufWriter<&mut std::fs::File>) -> std::io::Result<()>,
) -> Result<(), Error> {
    write_renamed(path, false, fill)
}

fn write_renamed(
    path: &Path,
    sync: bool,
    fill: impl FnOnce(&mut std::io::BufWriter<&mut std::fs::File>) -> std::io::Result<()>,
) -> Result<(), Error> {
    let dir = parent_dir(path);
    let mut tmp = tempfile::Builder::new()
        .prefix(&format!(".{}.", file_name(path)))
        .suffix(".tmp")
        .permissions(file_mode())
        .tempfile_in(dir)
        .map_err(|e| Error::io(path, "cannot create a temporary file beside it", e))?;
    let cleanup = signals::remove_on_interrupt(tmp.path());
    {
        let mut w = std::io::BufWriter::with_capacity(1 << 16, tmp.as_file_mut());
        fill(&mut w)
            .and_then(|()| w.flush())
            .map_err(|e| Error::io(path, "cannot write", e))?;
    }
    if sync {
        tmp.as_file()
            .sync_all()
            .map_err(|e| Error::io(path, "cannot flush to disk", e))?;
    }
    cleanup
        .disarm_after(|| tmp.persist(path))
        .map_err(|e| Error::io(path, "cannot rename the temporary file into place", e.error))?;
    if sync {
        sync_dir(dir)?;
    }
    Ok(())
}

/// Flushes everything written to the file system holding `dir` to disk (Linux `syncfs`; `sync`
/// on other Unix systems).
pub fn sync_file_system(dir: &Path) -> Result<(), Error> {
    #[cfg(target_os = "linux")]
    {
        use std::os::fd::AsRawFd;
        let f = std::fs::File::open(dir).map_err(|e| Error::io(dir, "cannot open", e))?;
        // SAFETY: syncfs on a descriptor we own for the duration of the call.
        if unsafe { libc::syncfs(f.as_raw_fd()) } != 0 {
            return Err(Error::io(
                dir,
                "cannot flush to disk",
                std::io::Error::last_os_error(),
            ));
        }
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = dir;
        // SAFETY: sync(2) takes no arguments and cannot fail.
        unsafe { libc::sync() };
    }
    Ok(())
}

/// Flushes a folder's entries (a rename or a new file in it) to disk.
pub fn sync_dir(dir: &Path) -> Result<(), Error> {
    std::fs::File::open(dir)
        .and_then(|f| f.sync_all())
        .map_err(|e| Error::io(dir, "cannot flush the folder to disk", e))
}

/// Flushes every file and folder under `root` (and `root` itself) to disk.
pub fn sync_tree(root: &Path) -> Result<(), Error> {
    let meta = std::fs::symlink_metadata(root).map_err(|e| Error::io(root, "cannot inspect", e))?;
    if meta.is_dir() {
        let entries = std::fs::read_dir(root).map_err(|e| Error::io(root, "cannot read", e))?;
        for e in entries {
            let e = e.map_err(|e| Error::io(root, "cannot read", e))?;
            sync_tree(&e.path())?;
        }
        sync_dir(root)
    } else if meta.is_file() {
        std::fs::File::open(root)
            .and_then(|f| f.sync_all())
            .map_err(|e| Error::io(root, "cannot flush to disk", e))
    } else {
        Ok(())
    }
}

/// Installs the complete file or folder `staged` at `dest` (same folder): a rename when `dest`
/// holds no output (an empty folder counts as none); otherwise, if `overwrite`, an atomic
/// exchange (readers see the old or the new output, never neither) after which the old content
/// is removed, and if not, [`Error::Exists`] with `staged` left in place for the caller.
/// Everything under `staged` is flushed to disk first, the destination's folder after.
pub fn install(staged: &Path, dest: &Path, overwrite: bool) -> Result<(), Error> {
    sync_tree(staged)?;
    if !output_exists(dest) && std::fs::symlink_metadata(dest).is_ok_and(|m| m.is_dir()) {
        // An empty folder (perhaps created by the user for the output) gives way; if it filled
        // up meanwhile, the rename below refuses it.
        let _ = std::fs::remove_dir(dest);
    }
    match rename_noreplace(staged, dest) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            if !overwrite {
                return Err(OutputExists::path(dest).into());
            }
            exchange(staged, dest)?;
            let removed = match std::fs::symlink_metadata(staged) {
                Ok(m) if m.is_dir() => std::fs::remove_dir_all(staged),
                Ok(_) => std::fs::remove_file(staged),
                Err(_) => Ok(()),
            };
            removed.map_err(|e| {
                Error::io(
                    staged,
                    "installed the new output, but cannot remove the old one moved here",
                    e,
                )
            })?;
        }
        Err(e) => {
            return Err(Error::io(
                dest,
                "cannot rename the new output into place",
                e,
            ))
        }
    }
    sync_dir(parent_dir(dest))
}

/// `rename` that fails with `AlreadyExists` instead of replacing `to`.
fn rename_noreplace(from: &Path, to: &Path) -> std::io::Result<()> {
    #[cfg(target_os = "linux")]
    {
        match renameat2(from, to, libc::RENAME_NOREPLACE) {
            Err(e) if matches!(e.raw_os_error(), Some(libc::EINVAL) | Some(libc::ENOSYS)) => {}
            r => return r,
        }
    }
    // File systems without renameat2 flags: check, then rename (a narrow race remains).
    if std::fs::symlink_metadata(to).is_ok() {
        return Err(std::io::ErrorKind::AlreadyExists.into());
    }
    std::fs::rename(from, to)
}

#[cfg(target_os = "linux")]
fn renameat2(from: &Path, to: &Path, flags: libc::c_uint) -> std::io::Result<()> {
    use std::ffi::CString;
    use std::os::unix::ffi::OsStrExt;
    let c = |p: &Path| {
        CString::new(p.as_os_str().as_bytes())
            .map_err(|_| std::io::Error::from(std::io::ErrorKind::InvalidInput))
    };
    let (cf, ct) = (c(from)?, c(to)?);
    // SAFETY: both are valid NUL-terminated paths; renameat2 does not retain the pointers.
    let rc = unsafe {
        libc::renameat2(
            libc::AT_FDCWD,
            cf.as_ptr(),
            libc::AT_FDCWD,
            ct.as_ptr(),
            flags,
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}

/// Swaps `a` and `b` atomically where the file system allows it.
fn exchange(a: &Path, b: &Path) -> Result<(), Error> {
    #[cfg(target_os = "linux")]
    {
        match renameat2(a, b, libc::RENAME_EXCHANGE) {
            Ok(()) => return Ok(()),
            Err(e) if matches!(e.raw_os_error(), Some(libc::EINVAL) | Some(libc::ENOSYS)) => {}
            Err(e) => return Err(Error::io(b, "cannot exchange the new output with it", e)),
        }
    }
    // Without RENAME_EXCHANGE: two renames (a reader may briefly see no output).
    let old = hidden_sibling(b, "old");
    std::fs::rename(b, &old).map_err(|e| Error::io(b, "cannot move aside", e))?;
    if let Err(e) = std::fs::rename(a, b) {
        let _ = std::fs::rename(&old, b);
        return Err(Error::io(b, "cannot rename the new output into place", e));
    }
    std::fs::rename(&old, a).map_err(|e| Error::io(&old, "cannot move the old output", e))
}

fn hidden_sibling(p: &Path, what: &str) -> PathBuf {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    p.with_file_name(format!(
        ".{}.{what}.{}.{}",
        file_name(p),
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ))
}

/// A folder filled under a hidden temporary name beside its destination and installed by
/// [`StagedDir::commit`]; dropped uncommitted (or interrupted by a signal), it is removed.
#[derive(Debug)]
pub struct StagedDir {
    staging: PathBuf,
    dest: PathBuf,
    overwrite: bool,
    cleanup: Option<signals::Cleanup>,
}

impl StagedDir {
    /// Creates the staging folder beside `dest` (whose parent must exist). Refuses an existing
    /// output at `dest` (see [`crate::rule`]) up front, so no finished output is replaced.
    pub fn new(dest: &Path) -> Result<StagedDir, Error> {
        StagedDir::with_overwrite(dest, false)
    }

    /// As [`StagedDir::new`]; if `overwrite`, an existing output is replaced at
    /// [`StagedDir::commit`], once the new one is complete.
    pub fn with_overwrite(dest: &Path, overwrite: bool) -> Result<StagedDir, Error> {
        crate::rule::check_output(dest, overwrite)?;
        let staging = tempfile::Builder::new()
            .prefix(&format!(".{}.", file_name(dest)))
            .suffix(".partial")
            .permissions(dir_mode())
            .tempdir_in(parent_dir(dest))
            .map_err(|e| Error::io(dest, "cannot create a staging folder beside it", e))?
            .keep();
        let cleanup = signals::remove_on_interrupt(&staging);
        Ok(StagedDir {
            staging,
            dest: dest.to_path_buf(),
            overwrite,
            cleanup: Some(cleanup),
        })
    }

    /// Where to write the folder's contents.
    pub fn path(&self) -> &Path {
        &self.staging
    }

    /// The final location.
    pub fn dest(&self) -> &Path {
        &self.dest
    }

    /// Installs the folder at its destination (see [`install`]). Fails, keeping the old output
    /// and removing the staging folder, if an output appeared at the destination meanwhile and
    /// overwriting was not asked for.
    pub fn commit(mut self) -> Result<PathBuf, Error> {
        let cleanup = self.cleanup.take().expect("committed once");
        let r = cleanup.disarm_after(|| install(&self.staging, &self.dest, self.overwrite));
        if let Err(e) = r {
            let _ = std::fs::remove_dir_all(&self.staging);
            return Err(e);
        }
        Ok(self.dest.clone())
    }
}

impl Drop for StagedDir {
    fn drop(&mut self) {
        if self.cleanup.is_some() {
            let _ = std::fs::remove_dir_all(&self.staging);
        }
    }
}

/// The folder holding `path` (`.` for a bare file name).
pub fn parent_dir(path: &Path) -> &Path {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    }
}

fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "out".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn umask() -> u32 {
        let s = std::fs::read_to_string("/proc/self/status").unwrap();
        let line = s.lines().find(|l| l.starts_with("Umask:")).unwrap();
        u32::from_str_radix(line["Umask:".len()..].trim(), 8).unwrap()
    }

    fn mode(p: &Path) -> u32 {
        std::fs::metadata(p).unwrap().permissions().mode() & 0o777
    }

    fn names(dir: &Path) -> Vec<String> {
        let mut v: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    }

    #[test]
    fn write_file_replaces_follows_the_umask_and_leaves_no_temporaries() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a.csv");
        write_file(&p, b"first").unwrap();
        write_file(&p, b"second").unwrap();
        assert_eq!(std::fs::read(&p).unwrap(), b"second");
        assert_eq!(names(dir.path()), ["a.csv"]);
        assert_eq!(mode(&p), 0o666 & !umask());
    }

    #[test]
    fn failed_fill_keeps_the_old_file() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a.csv");
        write_file(&p, b"old").unwrap();
        let e = write_file_with(&p, |w| {
            w.write_all(b"partial")?;
            Err(std::io::Error::other("simulated failure"))
        })
        .unwrap_err();
        assert!(e.to_string().contains("simulated failure"), "{e}");
        assert_eq!(std::fs::read(&p).unwrap(), b"old");
        assert_eq!(names(dir.path()), ["a.csv"]);
    }

    #[test]
    fn missing_folder_is_an_error_naming_the_file() {
        let e = write_file(Path::new("/nonexistent-isf-dir/x.csv"), b"x").unwrap_err();
        assert!(
            e.to_string().starts_with("/nonexistent-isf-dir/x.csv: "),
            "{e}"
        );
    }

    #[test]
    fn staged_dir_appears_only_on_commit() {
        let dir = tempfile::tempdir().unwrap();
        let dest = dir.path().join("results");
        let staged = StagedDir::new(&dest).unwrap();
        std::fs::write(staged.path().join("f.txt"), "x").unwrap();
        assert!(!dest.exists());
        assert_eq!(staged.commit().unwrap(), dest);
        assert_eq!(std::fs::read_to_string(dest.join("f.txt")).unwrap(), "x");
        assert_eq!(names(dir.path()), ["results"]);
        assert_eq!(mode(&dest), 0o777 & !umask());

        // Existing destination: refused up front, with the overwrite rule's wording.
        let e = StagedDir::new(&dest).unwrap_err();
        assert!(e.to_string().contains("pass --overwrite"), "{e}");
        // Dropped without commit: nothing is left behind.
        let other = dir.path().join("other");
        {
            let s = StagedDir::new(&other).unwrap();
            std::fs::write(s.path().join("g.txt"), "y").unwrap();
        }
        assert_eq!(names(dir.path()), ["results"]);
        // Destination filled while staging: commit fails, destination untouched.
        let s = StagedDir::new(&other).unwrap();
        std::fs::create_dir(&other).unwrap();
        std::fs::write(other.join("keep.txt"), "z").unwrap();
        assert!(s.commit().is_err());
        assert_eq!(names(&other), ["keep.txt"]);
        assert_eq!(names(dir.path()), ["other", "results"]);
        // An empty folder counts as absent.
        let empty = dir.path().join("empty");
        std::fs::create_dir(&empty).unwrap();
        let s = StagedDir::new(&empty).unwrap();
        std::fs::write(s.path().join("n.txt"), "n").unwrap();
        s.commit().unwrap();
        assert_eq!(names(&empty), ["n.txt"]);
    }

    #[test]
    fn overwrite_replaces_only_at_commit() {
        let dir = tempfile::tempdir().unwrap();
        let dest = dir.path().join("db");
        std::fs::create_dir(&dest).unwrap();
        std::fs::write(dest.join("old.txt"), "old").unwrap();
        let s = StagedDir::with_overwrite(&dest, true).unwrap();
        std::fs::write(s.path().join("new.txt"), "new").unwrap();
        assert_eq!(names(&dest), ["old.txt"]);
        s.commit().unwrap();
        assert_eq!(names(&dest), ["new.txt"]);
        assert_eq!(names(dir.path()), ["db"]);
    }
}
