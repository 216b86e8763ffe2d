//! Atomic writes: a reader (or a crash) never sees a half-written file or output folder.
//!
//! Files are written under a temporary name in the destination's folder (same file system, so
//! the final `rename` is atomic), flushed to disk, then renamed over the destination. Whole
//! output folders are filled in a hidden staging folder beside the destination and renamed into
//! place when complete; a staging folder that is dropped without [`StagedDir::commit`] is removed.

use std::io::Write;
use std::path::{Path, PathBuf};

use super::OutputError;

/// Writes `bytes` to `path` atomically (replacing an existing file).
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), OutputError> {
    write_atomic_with(path, |w| w.write_all(bytes))
}

/// Writes `path` atomically through a buffered writer filled by `fill`.
pub fn write_atomic_with(
    path: &Path,
    fill: impl FnOnce(&mut std::io::BufWriter<&mut std::fs::File>) -> std::io::Result<()>,
) -> Result<(), OutputError> {
    write_renamed(path, true, fill)
}

/// As [`write_atomic_with`], but without flushing the file to disk before the rename: readers and
/// a killed process still never see a partial file, but durability against a power loss is left to
/// the caller (e.g. one [`sync_file_system`] for many small files, instead of one `fsync` each).
pub fn write_atomic_unsynced_with(
    path: &Path,
    fill: impl FnOnce(&mut std::io::BufWriter<&mut std::fs::File>) -> std::io::Result<()>,
) -> Result<(), OutputError> {
    write_renamed(path, false, fill)
}

/// Flushes everything written to the file system holding `dir` to disk (Linux `syncfs`; `sync`
/// on other Unix systems).
pub fn sync_file_system(dir: &Path) -> Result<(), OutputError> {
    #[cfg(target_os = "linux")]
    {
        use std::os::fd::AsRawFd;
        let f = std::fs::File::open(dir).map_err(|e| OutputError::io(dir, "cannot open", e))?;
        // SAFETY: syncfs on a descriptor we own for the duration of the call.
        if unsafe { libc::syncfs(f.as_raw_fd()) } != 0 {
            return Err(OutputError::io(
                dir,
                "cannot flush to disk",
                std::io::Error::last_os_error(),
            ));
        }
    }
    #[cfg(all(unix, not(target_os = "linux")))]
    {
        let _ = dir;
        // SAFETY: sync(2) takes no arguments and cannot fail.
        unsafe { libc::sync() };
    }
    #[cfg(not(unix))]
    let _ = dir;
    Ok(())
}

fn write_renamed(
    path: &Path,
    sync: bool,
    fill: impl FnOnce(&mut std::io::BufWriter<&mut std::fs::File>) -> std::io::Result<()>,
) -> Result<(), OutputError> {
    let dir = parent_dir(path);
    let mut tmp = tempfile::Builder::new()
        .prefix(&format!(".{}.", file_name(path)))
        .suffix(".tmp")
        .tempfile_in(dir)
        .map_err(|e| OutputError::io(path, "cannot create a temporary file beside it", e))?;
    {
        let mut w = std::io::BufWriter::with_capacity(1 << 16, tmp.as_file_mut());
        fill(&mut w)
            .and_then(|()| w.flush())
            .map_err(|e| OutputError::io(path, "cannot write", e))?;
    }
    if sync {
        tmp.as_file()
            .sync_all()
            .map_err(|e| OutputError::io(path, "cannot flush to disk", e))?;
    }
    tmp.persist(path).map_err(|e| {
        OutputError::io(path, "cannot rename the temporary file into place", e.error)
    })?;
    Ok(())
}

/// A folder filled under a temporary name and renamed to its destination when complete.
#[derive(Debug)]
pub struct StagedDir {
    /// `None` once committed.
    staging: Option<tempfile::TempDir>,
    dest: PathBuf,
}

impl StagedDir {
    /// Creates a hidden staging folder beside `dest` (whose parent must exist).
    /// Fails early if `dest` already exists, so no finished output is ever replaced.
    pub fn new(dest: &Path) -> Result<StagedDir, OutputError> {
        if dest.exists() {
            return Err(OutputError::io(
                dest,
                "output folder already exists",
                std::io::Error::from(std::io::ErrorKind::AlreadyExists),
            ));
        }
        let staging = tempfile::Builder::new()
            .prefix(&format!(".{}.", file_name(dest)))
            .suffix(".partial")
            .tempdir_in(parent_dir(dest))
            .map_err(|e| OutputError::io(dest, "cannot create a staging folder beside it", e))?;
        Ok(StagedDir {
            staging: Some(staging),
            dest: dest.to_path_buf(),
        })
    }

    /// Where to write the folder's contents now.
    pub fn path(&self) -> &Path {
        match &self.staging {
            Some(t) => t.path(),
            None => &self.dest,
        }
    }

    /// The final location.
    pub fn dest(&self) -> &Path {
        &self.dest
    }

    /// Renames the staging folder to the destination. Fails (keeping nothing half-done) if the
    /// destination appeared meanwhile.
    pub fn commit(mut self) -> Result<PathBuf, OutputError> {
        let Some(staging) = self.staging.take() else {
            return Ok(self.dest.clone());
        };
        if self.dest.exists() {
            self.staging = Some(staging);
            return Err(OutputError::io(
                &self.dest,
                "output folder already exists",
                std::io::Error::from(std::io::ErrorKind::AlreadyExists),
            ));
        }
        let tmp = staging.keep();
        if let Err(e) = std::fs::rename(&tmp, &self.dest) {
            let _ = std::fs::remove_dir_all(&tmp);
            return Err(OutputError::io(
                &self.dest,
                "cannot rename the staging folder into place",
                e,
            ));
        }
        Ok(self.dest.clone())
    }
}

fn parent_dir(path: &Path) -> &Path {
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

    #[test]
    fn write_atomic_replaces_and_leaves_no_temporaries() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a.csv");
        write_atomic(&p, b"first").unwrap();
        write_atomic(&p, b"second").unwrap();
        assert_eq!(std::fs::read(&p).unwrap(), b"second");
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, vec![std::ffi::OsString::from("a.csv")]);
    }

    #[test]
    fn failed_fill_keeps_the_old_file() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a.csv");
        write_atomic(&p, b"old").unwrap();
        let e = write_atomic_with(&p, |w| {
            w.write_all(b"partial")?;
            Err(std::io::Error::other("simulated failure"))
        })
        .unwrap_err();
        assert!(e.to_string().contains("simulated failure"), "{e}");
        assert_eq!(std::fs::read(&p).unwrap(), b"old");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn missing_folder_is_an_error_naming_the_file() {
        let e = write_atomic(Path::new("/nonexistent-isf-dir/x.csv"), b"x").unwrap_err();
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
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);

        // Existing destination: refused up front.
        assert!(StagedDir::new(&dest).is_err());
        // Dropped without commit: nothing is left behind.
        let other = dir.path().join("other");
        {
            let s = StagedDir::new(&other).unwrap();
            std::fs::write(s.path().join("g.txt"), "y").unwrap();
        }
        assert!(!other.exists());
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
        // Destination created while staging: commit fails, destination untouched.
        let s = StagedDir::new(&other).unwrap();
        std::fs::create_dir(&other).unwrap();
        std::fs::write(other.join("keep.txt"), "z").unwrap();
        assert!(s.commit().is_err());
        assert_eq!(
            std::fs::read_to_string(other.join("keep.txt")).unwrap(),
            "z"
        );
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 2);
    }
}
