//! The results database: a folder of keys, each a self-describing HDF5 file (see the crate README
//! for the on-disk format).
//!
//! A database is a directory holding `isf_db.json` and one sub-directory per key. A key directory
//! holds `key.json` (kind + metadata) and either `data.h5` (a value), `db/` (a sub-database) or
//! `folder/` (a managed folder of plain files). Hierarchical keys `("a","b","c")` live at
//! `a/db/b/db/c`, as in ISF.
//!
//! Every write builds the complete key directory under a temporary name in the same parent folder
//! and then installs it with one `rename` (new key) or one atomic `renameat2(RENAME_EXCHANGE)`
//! (overwrite). Readers therefore see either the old or the new key, never a half-written one, and
//! readers that already opened the old file keep reading it.

pub mod h5;
pub mod payload;
pub mod temp;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

pub use payload::{
    Activations, ActivationsKind, Binned, Column, Payload, SpikeTimes, Strings, Table, TraceReader,
    Traces,
};

/// Name of the database marker file.
pub const DB_FILE: &str = "isf_db.json";
/// Name of a key's metadata file.
pub const KEY_FILE: &str = "key.json";
/// Name of a key's HDF5 payload.
pub const DATA_FILE: &str = "data.h5";
/// Format identifier written to `isf_db.json`.
pub const FORMAT: &str = "isf-post-database";
/// On-disk format version.
pub const FORMAT_VERSION: u32 = 1;

/// Kind of a sub-database key.
pub const KIND_SUB_DB: &str = "sub_db";
/// Kind of a managed-folder key.
pub const KIND_MANAGED_FOLDER: &str = "managed_folder";

/// Errors of the database layer. Every variant names the path or key concerned.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    /// A file system operation failed.
    #[error("{path}: {source}")]
    Io {
        /// The file or folder operated on.
        path: PathBuf,
        /// The operating system's error.
        #[source]
        source: std::io::Error,
    },
    /// A value's HDF5 file could not be read or written.
    #[error(
        "{path}: not a readable HDF5 value ({source}); the file may be truncated or corrupted"
    )]
    Hdf5 {
        /// The HDF5 file.
        path: PathBuf,
        /// The HDF5 library's error.
        #[source]
        source: hdf5::Error,
    },
    /// A JSON metadata file (`isf_db.json`, `key.json`) did not parse.
    #[error("{path}: invalid JSON: {source}")]
    Json {
        /// The JSON file.
        path: PathBuf,
        /// The parser's error, with line and column.
        #[source]
        source: serde_json::Error,
    },
    /// The folder has no database marker file.
    #[error("{0}: not an isf database (no {DB_FILE})")]
    NotADatabase(PathBuf),
    /// A new database was asked for in a folder that already holds files.
    #[error("{0}: cannot create a database here: the directory is not empty")]
    NotEmpty(PathBuf),
    /// The requested key does not exist.
    #[error("key `{key}` not found in database {db} (existing keys: {existing})")]
    MissingKey {
        /// The key asked for.
        key: String,
        /// The database searched.
        db: PathBuf,
        /// The database's top-level keys, comma-separated (`none` if empty).
        existing: String,
    },
    /// A key element is empty, too long, `.`/`..` or uses other characters than `[A-Za-z0-9_.-]`.
    #[error(
        "invalid key element `{0}`: use 1–120 characters from [A-Za-z0-9_.-], not `.` or `..`"
    )]
    InvalidKey(String),
    /// The key holds a value of another kind than the caller expects.
    #[error("key `{key}` holds a `{found}` value, expected `{expected}`")]
    WrongKind {
        /// The key read.
        key: String,
        /// The kind recorded in the key's metadata.
        found: String,
        /// The kind the caller asked for.
        expected: String,
    },
    /// Writing would replace a sub-database with a value.
    #[error("key `{0}` is a sub-database; refusing to overwrite it (delete it first)")]
    WouldOverwriteSubDb(String),
    /// A per-trial value has no row for the requested trial.
    #[error("trial `{trial}` not in key `{key}` ({n} trials; first: {first})")]
    MissingTrial {
        /// The trial id asked for.
        trial: String,
        /// The key read.
        key: String,
        /// Number of trials the value holds.
        n: usize,
        /// The value's first trial id (`-` if it has none), as an example of the id format.
        first: String,
    },
    /// A value's file is readable but its content breaks the format's rules.
    #[error("{path}: malformed value: {msg}")]
    Malformed {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        msg: String,
    },
    /// An analysis of a stored value failed.
    #[error(transparent)]
    Analysis(#[from] crate::analysis::AnalysisError),
    /// A SIGINT or SIGTERM arrived; the operation stopped without installing its output.
    #[error("interrupted (SIGINT/SIGTERM)")]
    Interrupted,
    /// A value's `data.h5` no longer matches the size or SHA-256 recorded in its `key.json`.
    #[error("{path}: damaged or modified after it was written ({why}); not opened")]
    Damaged {
        /// The damaged file.
        path: PathBuf,
        /// Which check failed: the size (with both sizes) or the SHA-256.
        why: String,
    },
}

/// Result alias of the database layer.
pub type Result<T> = std::result::Result<T, DbError>;

pub(crate) fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> DbError + '_ {
    move |source| DbError::Io {
        path: path.to_path_buf(),
        source,
    }
}

pub(crate) fn h5_err(path: &Path) -> impl FnOnce(hdf5::Error) -> DbError + '_ {
    move |source| DbError::Hdf5 {
        path: path.to_path_buf(),
        source,
    }
}

/// A file a value was derived from, with its SHA-256.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Source {
    /// Path as given (absolute where possible).
    pub path: String,
    /// Hex SHA-256 of the file content.
    pub sha256: String,
}

impl Source {
    /// Hashes a file.
    pub fn of_file(path: &Path) -> Result<Source> {
        let mut f = fs::File::open(path).map_err(io_err(path))?;
        let mut h = Sha256::new();
        let mut buf = vec![0u8; 1 << 20];
        loop {
            let n = f.read(&mut buf).map_err(io_err(path))?;
            if n == 0 {
                break;
            }
            h.update(&buf[..n]);
        }
        Ok(Source {
            path: abs_string(path),
            sha256: hex(&h.finalize()),
        })
    }

    /// Describes a file whose bytes are already in memory.
    pub fn of_bytes(path: &Path, bytes: &[u8]) -> Source {
        Source {
            path: abs_string(path),
            sha256: sha256_hex(bytes),
        }
    }
}

/// Hex SHA-256 of bytes.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn abs_string(p: &Path) -> String {
    std::path::absolute(p)
        .unwrap_or_else(|_| p.to_path_buf())
        .to_string_lossy()
        .into_owned()
}

/// Metadata of one key, stored in `key.json` and mirrored as attributes of the HDF5 root group.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct KeyMeta {
    /// Value kind (`voltage_traces`, `spike_times`, `table`, `sub_db`, …).
    pub kind: String,
    /// One line saying what the value is.
    pub description: String,
    /// Creation time, UTC, ISO 8601.
    pub created_utc: String,
    /// Version of the program that wrote the value (`isf-post x.y.z`).
    pub isf_version: String,
    /// Git commit the program was built from, if known (`-dirty` suffix for local changes).
    pub git_commit: Option<String>,
    /// Input files with their SHA-256.
    pub sources: Vec<Source>,
    /// Kind-specific parameters (thresholds, bin sizes, …).
    #[serde(default)]
    pub parameters: serde_json::Map<String, serde_json::Value>,
    /// Size and SHA-256 of the key's `data.h5`, recorded in `key.json` when the value is written
    /// (not in the file's own attributes, which it would change) and checked before every open.
    /// Absent for keys without a payload and for databases written before it existed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payload: Option<PayloadDigest>,
}

/// Size and SHA-256 of a payload file.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct PayloadDigest {
    /// File size in bytes.
    pub bytes: u64,
    /// Hex SHA-256 of the content.
    pub sha256: String,
}

impl PayloadDigest {
    /// The digest of a file.
    pub fn of_file(path: &Path) -> Result<PayloadDigest> {
        let bytes = fs::metadata(path).map_err(io_err(path))?.len();
        Ok(PayloadDigest {
            bytes,
            sha256: Source::of_file(path)?.sha256,
        })
    }

    /// Checks that `path` has this size and SHA-256, so that a damaged or modified file is
    /// reported here and never reaches libhdf5 (which may crash or loop on damaged files).
    pub fn verify(&self, path: &Path) -> Result<()> {
        let len = fs::metadata(path).map_err(io_err(path))?.len();
        let why = if len != self.bytes {
            format!("{len} bytes, but {KEY_FILE} records {}", self.bytes)
        } else if Source::of_file(path)?.sha256 != self.sha256 {
            format!("its SHA-256 differs from the one {KEY_FILE} records")
        } else {
            return Ok(());
        };
        Err(DbError::Damaged {
            path: path.to_path_buf(),
            why,
        })
    }
}

impl KeyMeta {
    /// This metadata if key `key` holds a value of kind `kind`, else [`DbError::WrongKind`].
    pub fn expect_kind(self, key: &str, kind: &str) -> Result<KeyMeta> {
        if self.kind == kind {
            Ok(self)
        } else {
            Err(DbError::WrongKind {
                key: key.into(),
                found: self.kind,
                expected: kind.into(),
            })
        }
    }

    /// Metadata for a new value of `kind`, stamped with the current time and build.
    pub fn new(kind: &str, description: impl Into<String>) -> KeyMeta {
        KeyMeta {
            kind: kind.to_string(),
            description: description.into(),
            created_utc: utc_now_iso(),
            isf_version: format!("isf-post {}", env!("CARGO_PKG_VERSION")),
            git_commit: option_env!("ISF_POST_GIT_COMMIT").map(str::to_string),
            sources: Vec::new(),
            parameters: serde_json::Map::new(),
            payload: None,
        }
    }

    /// Adds source files.
    pub fn with_sources(mut self, sources: Vec<Source>) -> KeyMeta {
        self.sources = sources;
        self
    }

    /// Adds one parameter.
    pub fn param(mut self, name: &str, value: impl Into<serde_json::Value>) -> KeyMeta {
        self.parameters.insert(name.to_string(), value.into());
        self
    }
}

/// Current UTC time as `YYYY-MM-DDTHH:MM:SS.mmmZ`.
pub fn utc_now_iso() -> String {
    utc_iso(std::time::SystemTime::now(), true)
}

/// `t` in UTC as RFC 3339: `YYYY-MM-DDTHH:MM:SSZ`, or `YYYY-MM-DDTHH:MM:SS.mmmZ` with `millis`.
/// Times before 1970 give the epoch.
pub fn utc_iso(t: std::time::SystemTime, millis: bool) -> String {
    isf_io::time::utc_rfc3339(t, millis)
}

#[derive(Debug, Serialize, Deserialize)]
struct DbState {
    format: String,
    format_version: u32,
    unique_id: String,
    created_utc: String,
}

/// Checks one key element.
pub fn validate_key_element(k: &str) -> Result<()> {
    let ok = !k.is_empty()
        && k.len() <= 120
        && k != "."
        && k != ".."
        && k.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'));
    if ok {
        Ok(())
    } else {
        Err(DbError::InvalidKey(k.to_string()))
    }
}

/// Splits a command-line key `a/b/c` into its elements.
pub fn parse_key(s: &str) -> Result<Vec<String>> {
    let parts: Vec<String> = s
        .split('/')
        .filter(|p| !p.is_empty())
        .map(str::to_string)
        .collect();
    if parts.is_empty() {
        return Err(DbError::InvalidKey(s.to_string()));
    }
    for p in &parts {
        validate_key_element(p)?;
    }
    Ok(parts)
}

static NONCE: AtomicU64 = AtomicU64::new(0);

/// A unique temporary name for `name` in its parent folder (hidden, so `keys()` ignores it).
pub(crate) fn temp_sibling(dest: &Path) -> PathBuf {
    let n = NONCE.fetch_add(1, Ordering::Relaxed);
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default()
        .subsec_nanos();
    let name = dest
        .file_name()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    dest.with_file_name(format!(".tmp.{name}.{}.{n}.{t}", std::process::id()))
}

/// Installs the fully written directory `tmp` at `dest` (the rule of [`isf_io::atomic::install`]:
/// flushed, then a rename, or an atomic exchange with an existing `dest` whose old content is
/// then removed).
pub(crate) fn install_dir(tmp: &Path, dest: &Path) -> Result<()> {
    temp::remove_owner(tmp)?;
    isf_io::atomic::install(tmp, dest, true).map_err(install_err)
}

fn install_err(e: isf_io::Error) -> DbError {
    DbError::Io {
        path: e.path().to_path_buf(),
        source: e.into(),
    }
}

/// Writes `bytes` to `path` atomically (temporary file in the same folder, then rename).
pub fn write_file_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    isf_io::atomic::write_file(path, bytes).map_err(install_err)
}

fn write_json<T: Serialize>(path: &Path, v: &T) -> Result<()> {
    let s = serde_json::to_string_pretty(v).map_err(|source| DbError::Json {
        path: path.to_path_buf(),
        source,
    })?;
    write_file_atomic(path, s.as_bytes())
}

fn read_json<T: for<'de> Deserialize<'de>>(path: &Path) -> Result<T> {
    let s = fs::read_to_string(path).map_err(io_err(path))?;
    serde_json::from_str(&s).map_err(|source| DbError::Json {
        path: path.to_path_buf(),
        source,
    })
}

/// Removes leftovers of interrupted writes (`.tmp.*` entries) in `dir` whose writer is gone (see
/// [`temp`]).
fn clean_temps(dir: &Path) {
    for l in temp::clean_stale(dir, "") {
        match l {
            temp::Leftover::Removed { .. } => tracing::info!("{l}"),
            temp::Leftover::Kept { .. } => tracing::debug!("{l}"),
        }
    }
}

/// A handle on a database (or sub-database) folder.
#[derive(Debug, Clone)]
pub struct Database {
    root: PathBuf,
}

/// What `keys()` reports about one key.
#[derive(Debug, Clone)]
pub struct KeyInfo {
    /// Key element.
    pub name: String,
    /// Its metadata.
    pub meta: KeyMeta,
}

impl Database {
    /// Creates a new database in an empty or non-existent directory.
    pub fn create(path: &Path) -> Result<Database> {
        if path.exists() {
            let mut rd = fs::read_dir(path).map_err(io_err(path))?;
            if rd.next().is_some() {
                return Err(DbError::NotEmpty(path.to_path_buf()));
            }
        } else {
            fs::create_dir_all(path).map_err(io_err(path))?;
        }
        Self::write_state(path)?;
        Ok(Database {
            root: path.to_path_buf(),
        })
    }

    fn write_state(path: &Path) -> Result<()> {
        let n = NONCE.fetch_add(1, Ordering::Relaxed);
        let state = DbState {
            format: FORMAT.into(),
            format_version: FORMAT_VERSION,
            unique_id: format!(
                "{}_{}_{n}",
                utc_now_iso().replace([':', '.'], "-"),
                std::process::id()
            ),
            created_utc: utc_now_iso(),
        };
        write_json(&path.join(DB_FILE), &state)
    }

    /// Opens an existing database.
    pub fn open(path: &Path) -> Result<Database> {
        let state_path = path.join(DB_FILE);
        if !state_path.is_file() {
            return Err(DbError::NotADatabase(path.to_path_buf()));
        }
        let state: DbState = read_json(&state_path)?;
        if state.format != FORMAT || state.format_version > FORMAT_VERSION {
            return Err(DbError::Malformed {
                path: state_path,
                msg: format!(
                    "format `{}` version {} is not supported (this build reads `{FORMAT}` ≤ {FORMAT_VERSION})",
                    state.format, state.format_version
                ),
            });
        }
        clean_temps(path);
        Ok(Database {
            root: path.to_path_buf(),
        })
    }

    /// The database folder.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Directory of a top-level key element.
    pub fn key_dir(&self, k: &str) -> PathBuf {
        self.root.join(k)
    }

    /// Keys at this level, sorted, with their metadata. Incomplete entries are not keys.
    pub fn keys(&self) -> Result<Vec<KeyInfo>> {
        let mut out = Vec::new();
        for e in fs::read_dir(&self.root).map_err(io_err(&self.root))? {
            let e = e.map_err(io_err(&self.root))?;
            let name = e.file_name().to_string_lossy().into_owned();
            if name.starts_with('.') || !e.path().join(KEY_FILE).is_file() {
                continue;
            }
            let meta: KeyMeta = read_json(&e.path().join(KEY_FILE))?;
            out.push(KeyInfo { name, meta });
        }
        out.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(out)
    }

    /// All keys below this database as element paths, depth first.
    pub fn keys_recursive(&self) -> Result<Vec<(Vec<String>, KeyMeta)>> {
        let mut out = Vec::new();
        for k in self.keys()? {
            let is_sub = k.meta.kind == KIND_SUB_DB;
            out.push((vec![k.name.clone()], k.meta));
            if is_sub {
                let sub = self.sub_db(&k.name)?;
                for (mut p, m) in sub.keys_recursive()? {
                    p.insert(0, k.name.clone());
                    out.push((p, m));
                }
            }
        }
        Ok(out)
    }

    fn missing(&self, key: &str) -> DbError {
        let existing = self
            .keys()
            .map(|ks| {
                ks.iter()
                    .map(|k| k.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            })
            .unwrap_or_default();
        DbError::MissingKey {
            key: key.to_string(),
            db: self.root.clone(),
            existing: if existing.is_empty() {
                "none".into()
            } else {
                existing
            },
        }
    }

    /// Metadata of a top-level key.
    pub fn meta(&self, k: &str) -> Result<KeyMeta> {
        validate_key_element(k)?;
        let p = self.key_dir(k).join(KEY_FILE);
        if !p.is_file() {
            return Err(self.missing(k));
        }
        read_json(&p)
    }

    /// Whether a top-level key exists.
    pub fn contains(&self, k: &str) -> bool {
        self.key_dir(k).join(KEY_FILE).is_file()
    }

    /// Resolves a hierarchical key to (database holding the last element, last element).
    pub fn resolve(&self, key: &[String]) -> Result<(Database, String)> {
        let (last, parents) = key
            .split_last()
            .ok_or_else(|| DbError::InvalidKey(String::new()))?;
        let mut db = self.clone();
        for p in parents {
            db = db.sub_db(p)?;
        }
        validate_key_element(last)?;
        Ok((db, last.clone()))
    }

    /// Like [`Database::resolve`] but creates missing intermediate sub-databases.
    pub fn resolve_create(&self, key: &[String]) -> Result<(Database, String)> {
        let (last, parents) = key
            .split_last()
            .ok_or_else(|| DbError::InvalidKey(String::new()))?;
        let mut db = self.clone();
        for p in parents {
            db = if db.contains(p) {
                db.sub_db(p)?
            } else {
                db.create_sub_db(p)?
            };
        }
        validate_key_element(last)?;
        Ok((db, last.clone()))
    }

    /// Opens the sub-database stored at key `k`.
    pub fn sub_db(&self, k: &str) -> Result<Database> {
        self.meta(k)?.expect_kind(k, KIND_SUB_DB)?;
        Database::open(&self.key_dir(k).join("db"))
    }

    /// Creates (or returns the existing) sub-database at key `k`.
    pub fn create_sub_db(&self, k: &str) -> Result<Database> {
        validate_key_element(k)?;
        if self.contains(k) {
            return self.sub_db(k);
        }
        let dest = self.key_dir(k);
        let tmp = temp_sibling(&dest);
        let _cleanup = isf_io::signals::remove_on_interrupt(&tmp);
        let res = (|| {
            temp::create_temp_dir(&tmp)?;
            fs::create_dir_all(tmp.join("db")).map_err(io_err(&tmp))?;
            Self::write_state(&tmp.join("db"))?;
            write_json(
                &tmp.join(KEY_FILE),
                &KeyMeta::new(KIND_SUB_DB, "sub-database"),
            )?;
            install_dir(&tmp, &dest)
        })();
        if res.is_err() {
            let _ = fs::remove_dir_all(&tmp);
        }
        res?;
        self.sub_db(k)
    }

    /// Creates a managed folder (a plain directory for arbitrary files) at key `k`, filled by
    /// `fill(folder)` before it becomes visible. Returns the folder path.
    pub fn create_managed_folder(
        &self,
        k: &str,
        meta: KeyMeta,
        fill: impl FnOnce(&Path) -> Result<()>,
    ) -> Result<PathBuf> {
        validate_key_element(k)?;
        self.refuse_sub_db(k)?;
        let dest = self.key_dir(k);
        let tmp = temp_sibling(&dest);
        let _cleanup = isf_io::signals::remove_on_interrupt(&tmp);
        let res = (|| {
            temp::create_temp_dir(&tmp)?;
            fs::create_dir_all(tmp.join("folder")).map_err(io_err(&tmp))?;
            fill(&tmp.join("folder"))?;
            let meta = KeyMeta {
                kind: KIND_MANAGED_FOLDER.into(),
                ..meta
            };
            write_json(&tmp.join(KEY_FILE), &meta)?;
            install_dir(&tmp, &dest)
        })();
        if res.is_err() {
            let _ = fs::remove_dir_all(&tmp);
        }
        res?;
        Ok(dest.join("folder"))
    }

    /// The folder of a managed-folder key.
    pub fn managed_folder(&self, k: &str) -> Result<PathBuf> {
        self.meta(k)?.expect_kind(k, KIND_MANAGED_FOLDER)?;
        Ok(self.key_dir(k).join("folder"))
    }

    fn refuse_sub_db(&self, k: &str) -> Result<()> {
        if self.contains(k) && self.meta(k)?.kind == KIND_SUB_DB {
            return Err(DbError::WouldOverwriteSubDb(k.into()));
        }
        Ok(())
    }

    /// Writes a value through `write(file)` into a fresh HDF5 file and installs it atomically as
    /// key `k` (overwriting a value, never a sub-database). The metadata is mirrored into root
    /// attributes `isf_kind`, `isf_description`, `isf_created_utc`, `isf_version`,
    /// `isf_git_commit` and `isf_metadata_json`.
    pub fn write_with(
        &self,
        k: &str,
        meta: &KeyMeta,
        write: impl FnOnce(&hdf5::File) -> Result<()>,
    ) -> Result<()> {
        validate_key_element(k)?;
        self.refuse_sub_db(k)?;
        temp::check_interrupt()?;
        let dest = self.key_dir(k);
        let tmp = temp_sibling(&dest);
        let _cleanup = isf_io::signals::remove_on_interrupt(&tmp);
        let res = (|| {
            temp::create_temp_dir(&tmp)?;
            let path = tmp.join(DATA_FILE);
            {
                let f = hdf5::File::create(&path).map_err(h5_err(&path))?;
                write_meta_attrs(&f, meta).map_err(h5_err(&path))?;
                write(&f)?;
                f.flush().map_err(h5_err(&path))?;
            }
            let meta = KeyMeta {
                payload: Some(PayloadDigest::of_file(&path)?),
                ..meta.clone()
            };
            write_json(&tmp.join(KEY_FILE), &meta)?;
            install_dir(&tmp, &dest)
        })();
        if res.is_err() {
            let _ = fs::remove_dir_all(&tmp);
        }
        res
    }

    /// Stores a typed value at a hierarchical key (intermediate sub-databases are created).
    pub fn set<P: Payload>(&self, key: &[String], value: &P, meta: KeyMeta) -> Result<()> {
        let (db, k) = self.resolve_create(key)?;
        let meta = KeyMeta {
            kind: P::KIND.to_string(),
            ..meta
        };
        let path = db.key_dir(&k).join(DATA_FILE);
        db.write_with(&k, &meta, |f| value.write_h5(f).map_err(h5_err(&path)))
    }

    /// Opens the HDF5 file of a value key (hierarchical) after checking its kind.
    pub fn open_value(
        &self,
        key: &[String],
        expected_kind: Option<&str>,
    ) -> Result<(KeyMeta, hdf5::File, PathBuf)> {
        let (db, k) = self.resolve(key)?;
        let mut meta = db.meta(&k)?;
        if let Some(exp) = expected_kind {
            meta = meta.expect_kind(&key.join("/"), exp)?;
        }
        let path = db.key_dir(&k).join(DATA_FILE);
        if !path.is_file() {
            return Err(DbError::Malformed {
                path,
                msg: format!(
                    "key `{}` of kind `{}` has no {DATA_FILE}",
                    key.join("/"),
                    meta.kind
                ),
            });
        }
        if let Some(d) = &meta.payload {
            d.verify(&path)?;
        }
        let f = hdf5::File::open(&path).map_err(h5_err(&path))?;
        Ok((meta, f, path))
    }

    /// Reads a typed value.
    pub fn get<P: Payload>(&self, key: &[String]) -> Result<P> {
        let (_, f, path) = self.open_value(key, Some(P::KIND))?;
        P::read_h5(&f).map_err(|e| match e {
            DbError::Hdf5 { source, .. } => DbError::Hdf5 { path, source },
            other => other,
        })
    }

    /// Deletes a key (value, managed folder or sub-database) atomically: it is renamed away first.
    pub fn delete(&self, key: &[String]) -> Result<()> {
        let (db, k) = self.resolve(key)?;
        if !db.contains(&k) {
            return Err(db.missing(&k));
        }
        let dir = db.key_dir(&k);
        let tmp = temp_sibling(&dir);
        fs::rename(&dir, &tmp).map_err(io_err(&dir))?;
        fs::remove_dir_all(&tmp).map_err(io_err(&tmp))
    }
}

fn write_meta_attrs(f: &hdf5::File, meta: &KeyMeta) -> hdf5::Result<()> {
    h5::set_attr_str(f, "isf_kind", &meta.kind)?;
    h5::set_attr_str(f, "isf_description", &meta.description)?;
    h5::set_attr_str(f, "isf_created_utc", &meta.created_utc)?;
    h5::set_attr_str(f, "isf_version", &meta.isf_version)?;
    h5::set_attr_str(
        f,
        "isf_git_commit",
        meta.git_commit.as_deref().unwrap_or("unknown"),
    )?;
    h5::set_attr_i64(f, "isf_format_version", i64::from(FORMAT_VERSION))?;
    let json = serde_json::to_string(meta).map_err(|e| hdf5::Error::from(e.to_string()))?;
    h5::set_attr_str(f, "isf_metadata_json", &json)
}

/// Maps trial ids to rows, built once per opened value so that lookups are O(1).
#[derive(Debug, Clone, Default)]
pub struct TrialIndex {
    ids: Vec<String>,
    rows: HashMap<String, usize>,
}

impl TrialIndex {
    /// Builds the map from ids in row order.
    pub fn new(ids: Vec<String>) -> TrialIndex {
        let rows = ids
            .iter()
            .enumerate()
            .map(|(i, s)| (s.clone(), i))
            .collect();
        TrialIndex { ids, rows }
    }

    /// Row of a trial id.
    pub fn row(&self, id: &str) -> Option<usize> {
        self.rows.get(id).copied()
    }

    /// Row of a trial id, or a clear error naming the key.
    pub fn row_or_err(&self, id: &str, key: &str) -> Result<usize> {
        self.row(id).ok_or_else(|| DbError::MissingTrial {
            trial: id.to_string(),
            key: key.to_string(),
            n: self.ids.len(),
            first: self.ids.first().cloned().unwrap_or_else(|| "-".into()),
        })
    }

    /// Ids in row order.
    pub fn ids(&self) -> &[String] {
        &self.ids
    }

    /// Number of trials.
    pub fn len(&self) -> usize {
        self.ids.len()
    }

    /// Whether there are no trials.
    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }
}

/// Convenience: a key from string slices.
pub fn key(parts: &[&str]) -> Vec<String> {
    parts.iter().map(|s| s.to_string()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_validated() {
        assert!(validate_key_element("voltage_traces").is_ok());
        assert!(validate_key_element("a-b.c_1").is_ok());
        assert!(validate_key_element("").is_err());
        assert!(validate_key_element("..").is_err());
        assert!(validate_key_element("a/b").is_err());
        assert!(validate_key_element(&"x".repeat(121)).is_err());
        assert_eq!(parse_key("a/b/c").unwrap(), key(&["a", "b", "c"]));
    }

    #[test]
    fn iso_time_has_expected_shape() {
        let t = utc_now_iso();
        assert_eq!(t.len(), 24, "{t}");
        assert!(t.ends_with('Z') && t.as_bytes()[10] == b'T');
    }

    #[test]
    fn set_get_overwrite_delete_subdb() {
        let dir = tempfile::tempdir().unwrap();
        let db = Database::create(&dir.path().join("db")).unwrap();
        let v = Strings {
            values: vec!["a".into(), "b".into()],
        };
        db.set(&key(&["x"]), &v, KeyMeta::new("", "test")).unwrap();
        assert_eq!(db.get::<Strings>(&key(&["x"])).unwrap(), v);
        let v2 = Strings {
            values: vec!["c".into()],
        };
        db.set(&key(&["x"]), &v2, KeyMeta::new("", "test")).unwrap();
        assert_eq!(db.get::<Strings>(&key(&["x"])).unwrap(), v2);
        // Nested keys create sub-databases, which cannot be overwritten by values.
        db.set(&key(&["s", "t", "u"]), &v, KeyMeta::new("", "nested"))
            .unwrap();
        assert_eq!(db.meta("s").unwrap().kind, KIND_SUB_DB);
        assert!(matches!(
            db.set(&key(&["s"]), &v, KeyMeta::new("", "x")),
            Err(DbError::WouldOverwriteSubDb(_))
        ));
        let all: Vec<String> = db
            .keys_recursive()
            .unwrap()
            .into_iter()
            .map(|(k, _)| k.join("/"))
            .collect();
        assert_eq!(all, vec!["s", "s/t", "s/t/u", "x"]);
        db.delete(&key(&["x"])).unwrap();
        let err = db.get::<Strings>(&key(&["x"])).unwrap_err().to_string();
        assert!(err.contains("key `x` not found"), "{err}");
        // No temporary leftovers.
        let hidden = fs::read_dir(db.root())
            .unwrap()
            .flatten()
            .filter(|e| e.file_name().to_string_lossy().starts_with('.'))
            .count();
        assert_eq!(hidden, 0);
    }

    #[test]
    fn corrupted_and_truncated_files_give_clear_errors() {
        let dir = tempfile::tempdir().unwrap();
        let db = Database::create(&dir.path().join("db")).unwrap();
        let v = Strings {
            values: (0..1000).map(|i| format!("value{i}")).collect(),
        };
        db.set(&key(&["x"]), &v, KeyMeta::new("", "t")).unwrap();
        let p = db.key_dir("x").join(DATA_FILE);
        let bytes = fs::read(&p).unwrap();
        fs::write(&p, &bytes[..bytes.len() / 3]).unwrap();
        let err = db.get::<Strings>(&key(&["x"])).unwrap_err().to_string();
        assert!(
            err.contains("data.h5") && err.contains("damaged or modified") && err.contains("bytes"),
            "{err}"
        );
        let mut flipped = bytes.clone();
        flipped[bytes.len() / 2] ^= 0x10;
        fs::write(&p, &flipped).unwrap();
        let err = db.get::<Strings>(&key(&["x"])).unwrap_err().to_string();
        assert!(err.contains("SHA-256 differs"), "{err}");
        // Without a recorded digest (databases of earlier versions) libhdf5 judges the file.
        let k = db.key_dir("x").join(KEY_FILE);
        let mut meta: KeyMeta = read_json(&k).unwrap();
        meta.payload = None;
        write_json(&k, &meta).unwrap();
        fs::write(&p, b"this is not HDF5").unwrap();
        let err = db.get::<Strings>(&key(&["x"])).unwrap_err().to_string();
        assert!(err.contains("truncated or corrupted"), "{err}");
        fs::write(&p, &bytes).unwrap();
        assert_eq!(db.get::<Strings>(&key(&["x"])).unwrap(), v);
        // Wrong kind.
        db.set(&key(&["y"]), &v, KeyMeta::new("", "t")).unwrap();
        let err = db.get::<Table>(&key(&["y"])).unwrap_err().to_string();
        assert!(err.contains("expected `table`"), "{err}");
        // Not a database.
        assert!(matches!(
            Database::open(dir.path()),
            Err(DbError::NotADatabase(_))
        ));
    }
}
