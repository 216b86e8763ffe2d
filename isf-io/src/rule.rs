//! One overwrite rule for every command that writes: an existing output is refused unless the
//! user passes `--overwrite`, and the refusal reads the same everywhere.
//!
//! An existing *empty* folder counts as absent (a user may create the folder first); an existing
//! file, a non-empty folder or anything else at the path counts as an output.

use std::path::{Path, PathBuf};

/// The refusal of an existing output.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{what} already exists; pass --overwrite to replace it (it is replaced only once the new output is complete)")]
pub struct OutputExists {
    /// How the output is named to the user (a path, or a key of a database).
    pub what: String,
    /// The path concerned (the database folder for a key).
    pub path: PathBuf,
}

impl OutputExists {
    /// An existing file or folder.
    pub fn path(path: &Path) -> OutputExists {
        OutputExists {
            what: path.display().to_string(),
            path: path.to_path_buf(),
        }
    }

    /// An existing key `key` of the database folder `db`.
    pub fn key(db: &Path, key: &str) -> OutputExists {
        OutputExists {
            what: format!("key `{key}` of database {}", db.display()),
            path: db.to_path_buf(),
        }
    }
}

/// Whether `path` holds an output: a file (or anything not a folder) or a non-empty folder.
/// An unreadable folder counts as an output (it cannot be shown to be empty).
pub fn output_exists(path: &Path) -> bool {
    match std::fs::symlink_metadata(path) {
        Err(_) => false,
        Ok(m) if m.is_dir() => std::fs::read_dir(path)
            .map(|mut d| d.next().is_some())
            .unwrap_or(true),
        Ok(_) => true,
    }
}

/// Refuses an existing output at `path` unless `overwrite`.
pub fn check_output(path: &Path, overwrite: bool) -> Result<(), OutputExists> {
    if !overwrite && output_exists(path) {
        return Err(OutputExists::path(path));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_and_non_empty_folders_are_refused_empty_folders_are_not() {
        let d = tempfile::tempdir().unwrap();
        let f = d.path().join("f.csv");
        assert!(check_output(&f, false).is_ok());
        std::fs::write(&f, "x").unwrap();
        let e = check_output(&f, false).unwrap_err();
        assert_eq!(
            e.to_string(),
            format!(
                "{} already exists; pass --overwrite to replace it (it is replaced only once \
                 the new output is complete)",
                f.display()
            )
        );
        assert!(check_output(&f, true).is_ok());
        let sub = d.path().join("sub");
        std::fs::create_dir(&sub).unwrap();
        assert!(check_output(&sub, false).is_ok());
        std::fs::write(sub.join("x"), "x").unwrap();
        assert!(check_output(&sub, false).is_err());
        let k = OutputExists::key(d.path(), "a/b");
        assert!(k.to_string().starts_with("key `a/b` of database "), "{k}");
    }
}
