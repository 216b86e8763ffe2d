//! Atomic writes: a reader (or a crash) never sees a half-written file or output folder. The
//! rule (write aside in the destination's folder, flush, rename, flush the folder; permissions
//! from the umask) lives in [`isf_io::atomic`]; this module gives its errors as [`OutputError`].

use std::path::Path;

use super::OutputError;

pub use isf_io::atomic::StagedDir;

/// Writes `bytes` to `path` atomically (replacing an existing file).
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), OutputError> {
    Ok(isf_io::atomic::write_file(path, bytes)?)
}

/// Writes `path` atomically through a buffered writer filled by `fill`.
pub fn write_atomic_with(
    path: &Path,
    fill: impl FnOnce(&mut std::io::BufWriter<&mut std::fs::File>) -> std::io::Result<()>,
) -> Result<(), OutputError> {
    Ok(isf_io::atomic::write_file_with(path, fill)?)
}

/// As [`write_atomic_with`], but without flushing the file to disk before the rename: readers and
/// a killed process still never see a partial file, but durability against a power loss is left to
/// the caller (e.g. one [`sync_file_system`] for many small files, instead of one `fsync` each).
pub fn write_atomic_unsynced_with(
    path: &Path,
    fill: impl FnOnce(&mut std::io::BufWriter<&mut std::fs::File>) -> std::io::Result<()>,
) -> Result<(), OutputError> {
    Ok(isf_io::atomic::write_file_unsynced_with(path, fill)?)
}

/// Flushes everything written to the file system holding `dir` to disk.
pub fn sync_file_system(dir: &Path) -> Result<(), OutputError> {
    Ok(isf_io::atomic::sync_file_system(dir)?)
}
