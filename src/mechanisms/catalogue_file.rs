//! Catalogue files: the output of `isf mech build`, loaded by every command that builds cells.
//!
//! A catalogue file holds the lowered programs of a set of `.mod` files as plain data. Its first
//! line is text, `isf mechanism catalogue; isf VERSION; format N`, so that a catalogue of
//! another isf version is recognised (and refused, naming both versions) before its body is
//! decoded; the body is one CBOR value ([`Body`]): each mechanism's name, source path, the
//! source's SHA-256 and its [`Program`]. CBOR keeps every `f64` bit for bit.
//!
//! Loading ([`load`]) checks every catalogue before it registers anything: a name defined by two
//! catalogues, or by a catalogue and a built-in (unless that built-in is listed for
//! replacement), is an error naming both sources. Registration goes through
//! [`super::compiled::register`], the one entry point that dispatches on the program's kind.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use isf_nmodl::lower::Program;
use serde::{Deserialize, Serialize};

use super::catalogue::Catalogue;
use super::compiled;

/// The format of the catalogue body; bumped whenever [`Body`] or [`Program`] change shape.
pub const FORMAT_VERSION: u32 = 1;

/// The isf version written into (and required of) catalogue files.
pub const ISF_VERSION: &str = env!("CARGO_PKG_VERSION");

/// The catalogue loaded automatically from the working directory when no catalogue is named
/// (`--mechanisms` or a run config's `mechanisms`), as NEURON loads `x86_64/` from it.
pub const CONVENTIONAL_NAME: &str = "isf-mechanisms.cat";

const HEADER_PREFIX: &str = "isf mechanism catalogue; isf ";

/// One compiled mechanism of a catalogue.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Record {
    /// The name cells use (SUFFIX).
    pub name: String,
    /// The `.mod` file it was compiled from (absolute when it could be resolved).
    pub source: String,
    /// SHA-256 of the `.mod` file's bytes, lower-case hex.
    pub sha256: String,
    /// The lowered program.
    pub program: Program,
}

/// The body of a catalogue file.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Body {
    /// Mechanisms in registration order (the order `nrnivmodl` gives the files).
    pub mechanisms: Vec<Record>,
}

/// Errors of building, reading and loading catalogues.
#[derive(Debug, thiserror::Error)]
pub enum CatalogueFileError {
    /// `.mod` files failed to compile (every file's errors, one after the other).
    #[error("{count} of {total} .mod file(s) failed to compile; nothing written\n{messages}")]
    Compile {
        /// Files that failed.
        count: usize,
        /// Files compiled.
        total: usize,
        /// Their errors (file:line:column).
        messages: String,
    },
    /// Reading or writing a file failed.
    #[error("{path}: {msg}")]
    Io {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        msg: String,
    },
    /// The file is not a catalogue of any isf version.
    #[error("{path}: not an isf mechanism catalogue ({msg})")]
    NotACatalogue {
        /// The file.
        path: PathBuf,
        /// Why.
        msg: String,
    },
    /// The catalogue was built by another isf version or in another format.
    #[error(
        "{path}: catalogue built by isf {found_isf} (format {found_format}); this is isf \
         {ISF_VERSION} (format {FORMAT_VERSION}): rebuild it with `isf mech build`"
    )]
    Version {
        /// The file.
        path: PathBuf,
        /// isf version in the file.
        found_isf: String,
        /// Format version in the file.
        found_format: String,
    },
    /// A name defined twice, a built-in not listed for replacement, a replacement of nothing.
    #[error("{0}")]
    Names(String),
    /// Registration failed.
    #[error("{0}")]
    Register(#[from] compiled::CompileError),
}

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> CatalogueFileError + '_ {
    move |e| CatalogueFileError::Io {
        path: path.to_owned(),
        msg: e.to_string(),
    }
}

/// The `.mod` files named by `inputs`, in build order: each file as given; each directory's
/// `.mod` files sorted by byte order of their names (the C locale's order, in which `nrnivmodl`
/// lists them).
pub fn mod_files(inputs: &[PathBuf]) -> Result<Vec<PathBuf>, CatalogueFileError> {
    let mut files = Vec::new();
    for input in inputs {
        if input.is_dir() {
            let mut here: Vec<PathBuf> = std::fs::read_dir(input)
                .map_err(io_err(input))?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|x| x == "mod") && p.is_file())
                .collect();
            if here.is_empty() {
                return Err(CatalogueFileError::Io {
                    path: input.clone(),
                    msg: "no .mod file in this folder".into(),
                });
            }
            here.sort_by(|a, b| a.file_name().cmp(&b.file_name()));
            files.extend(here);
        } else if input.is_file() {
            files.push(input.clone());
        } else {
            return Err(CatalogueFileError::Io {
                path: input.clone(),
                msg: "no such file or folder".into(),
            });
        }
    }
    Ok(files)
}

/// Compiles `files` into a catalogue body. Every file is compiled; all failures are reported
/// together. Two files defining the same mechanism are an error naming both.
pub fn build(files: &[PathBuf]) -> Result<Body, CatalogueFileError> {
    use sha2::Digest;
    let mut messages = Vec::new();
    let mut mechanisms: Vec<Record> = Vec::new();
    for f in files {
        let bytes = std::fs::read(f).map_err(io_err(f))?;
        match compiled::compile_file(f) {
            Ok(program) => {
                if let Some(other) = mechanisms.iter().find(|r| r.name == program.name) {
                    messages.push(format!(
                        "{}: mechanism `{}` is already defined by {}",
                        f.display(),
                        program.name,
                        other.source
                    ));
                    continue;
                }
                let source = std::fs::canonicalize(f).unwrap_or_else(|_| f.clone());
                mechanisms.push(Record {
                    name: program.name.clone(),
                    source: source.display().to_string(),
                    sha256: sha2::Sha256::digest(&bytes)
                        .iter()
                        .map(|b| format!("{b:02x}"))
                        .collect(),
                    program,
                });
            }
            Err(e) => messages.push(e.to_string()),
        }
    }
    if !messages.is_empty() {
        return Err(CatalogueFileError::Compile {
            count: messages.len(),
            total: files.len(),
            messages: messages.join("\n"),
        });
    }
    Ok(Body { mechanisms })
}

/// The bytes of a catalogue file holding `body`.
pub fn encode(body: &Body) -> Vec<u8> {
    let mut out = format!("{HEADER_PREFIX}{ISF_VERSION}; format {FORMAT_VERSION}\n").into_bytes();
    ciborium::into_writer(body, &mut out).expect("writing CBOR into memory cannot fail");
    out
}

/// Writes `body` to `path` atomically (a reader never sees a partial catalogue).
pub fn write(path: &Path, body: &Body) -> Result<(), CatalogueFileError> {
    isf_io::atomic::write_file(path, &encode(body)).map_err(|e| CatalogueFileError::Io {
        path: path.to_owned(),
        msg: e.to_string(),
    })
}

/// Decodes catalogue bytes read from `path` (named in errors), refusing another version.
pub fn decode(path: &Path, bytes: &[u8]) -> Result<Body, CatalogueFileError> {
    let not = |msg: &str| CatalogueFileError::NotACatalogue {
        path: path.to_owned(),
        msg: msg.into(),
    };
    let nl = bytes
        .iter()
        .take(256)
        .position(|&b| b == b'\n')
        .ok_or_else(|| not("no header line"))?;
    let header = std::str::from_utf8(&bytes[..nl]).map_err(|_| not("header is not text"))?;
    let rest = header
        .strip_prefix(HEADER_PREFIX)
        .ok_or_else(|| not("the header line does not start with `isf mechanism catalogue`"))?;
    let (isf, format) = rest
        .split_once("; format ")
        .ok_or_else(|| not("the header line has no format version"))?;
    if isf != ISF_VERSION || format != FORMAT_VERSION.to_string() {
        return Err(CatalogueFileError::Version {
            path: path.to_owned(),
            found_isf: isf.to_string(),
            found_format: format.to_string(),
        });
    }
    ciborium::from_reader(&bytes[nl + 1..]).map_err(|e| not(&format!("corrupt body: {e}")))
}

/// Reads the catalogue file at `path`.
pub fn read(path: &Path) -> Result<Body, CatalogueFileError> {
    let bytes = std::fs::read(path).map_err(io_err(path))?;
    decode(path, &bytes)
}

/// What to load: catalogue files, and the built-ins their mechanisms may replace.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LoadRequest {
    /// Catalogue files, in order (later catalogues rank after earlier ones).
    pub catalogues: Vec<PathBuf>,
    /// Built-in names a compiled mechanism may replace.
    pub replace_builtins: Vec<String>,
}

impl LoadRequest {
    /// `catalogues`, or, when it is empty, the conventional catalogue of the working directory
    /// if it exists (an explicit catalogue wins). Duplicates (the same file named twice) are
    /// dropped.
    pub fn with_default(mut self) -> Self {
        if self.catalogues.is_empty() {
            let conventional = PathBuf::from(CONVENTIONAL_NAME);
            if conventional.is_file() {
                self.catalogues.push(conventional);
            }
        }
        let mut seen = std::collections::HashSet::new();
        self.catalogues
            .retain(|p| seen.insert(std::fs::canonicalize(p).unwrap_or_else(|_| p.clone())));
        self
    }
}

/// Catalogue files this process has loaded (canonical paths).
static LOADED_FILES: std::sync::Mutex<std::collections::BTreeSet<PathBuf>> =
    std::sync::Mutex::new(std::collections::BTreeSet::new());

/// NET_RECEIVE argument names of the loaded point processes (the weight first, then the
/// per-NetCon state), by mechanism name.
static NET_RECEIVE_ARGS: std::sync::Mutex<BTreeMap<String, Vec<String>>> =
    std::sync::Mutex::new(BTreeMap::new());

/// The NET_RECEIVE argument names of a point process loaded from a catalogue (the elements of
/// its NetCons' weight vectors: the weight, then the per-NetCon state such as `Pv`, `u`).
pub fn net_receive_args(name: &str) -> Option<Vec<String>> {
    NET_RECEIVE_ARGS
        .lock()
        .expect("NET_RECEIVE names lock")
        .get(name)
        .cloned()
}

/// What [`load`] registered.
#[derive(Debug, Clone, Default)]
pub struct Loaded {
    /// `(name, catalogue file)` of every mechanism registered.
    pub mechanisms: Vec<(String, PathBuf)>,
}

/// Reads every catalogue of `req`, checks names across them and against the built-ins, then
/// registers every mechanism with the catalogue for the rest of the process. Nothing is
/// registered when any check fails.
pub fn load(req: &LoadRequest) -> Result<Loaded, CatalogueFileError> {
    // A catalogue already loaded by this process (a library user running several configs) is
    // not loaded again.
    let mut done = LOADED_FILES.lock().expect("catalogue files lock");
    let mut bodies = Vec::new();
    for path in &req.catalogues {
        let canonical = std::fs::canonicalize(path).map_err(io_err(path))?;
        if done.contains(&canonical) {
            continue;
        }
        bodies.push((path.clone(), canonical, read(path)?));
    }
    let mut defined: BTreeMap<&str, String> = BTreeMap::new();
    let mut problems = Vec::new();
    for (path, _, body) in &bodies {
        for r in &body.mechanisms {
            let here = format!("{} (compiled from {})", path.display(), r.source);
            if let Some(first) = defined.get(r.name.as_str()) {
                problems.push(format!(
                    "mechanism `{}` is defined twice: in {first} and in {here}",
                    r.name
                ));
                continue;
            }
            if let Some(source) = super::catalogue::registered_source(&r.name) {
                problems.push(format!(
                    "mechanism `{}` is defined twice: in {source} (already loaded) and in {here}",
                    r.name
                ));
            }
            if Catalogue.builtin(&r.name).is_some() && !req.replace_builtins.contains(&r.name) {
                problems.push(format!(
                    "mechanism `{}` of {here} is also a built-in of isf; to use the compiled one, \
                     replace the built-in explicitly (`--replace-builtin {}`, or \
                     `replace_builtins = [\"{}\"]` in a run config)",
                    r.name, r.name, r.name
                ));
            }
            defined.insert(&r.name, here);
        }
    }
    for name in &req.replace_builtins {
        if Catalogue.builtin(name).is_none() {
            problems.push(format!(
                "`{name}` is listed for replacement but is not a built-in mechanism of isf"
            ));
        } else if !defined.contains_key(name.as_str())
            && super::catalogue::registered_source(name).is_none()
        {
            problems.push(format!(
                "built-in `{name}` is listed for replacement but no loaded catalogue defines it"
            ));
        }
    }
    if !problems.is_empty() {
        return Err(CatalogueFileError::Names(problems.join("\n")));
    }
    let mut loaded = Loaded::default();
    for (path, canonical, body) in bodies {
        for r in body.mechanisms {
            if let Some(nr) = &r.program.net_receive {
                NET_RECEIVE_ARGS
                    .lock()
                    .expect("NET_RECEIVE names lock")
                    .insert(r.name.clone(), nr.args.clone());
            }
            compiled::register(&r.name, r.program, None)?;
            loaded.mechanisms.push((r.name, path.clone()));
        }
        done.insert(canonical);
    }
    Ok(loaded)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body() -> Body {
        let program = compiled::compile_str(
            "leak.mod",
            "NEURON { SUFFIX leak_cf NONSPECIFIC_CURRENT i RANGE g }\n\
             PARAMETER { g = 0.1 (S/cm2) }\nASSIGNED { v (mV) i (mA/cm2) }\n\
             BREAKPOINT { i = g*v }\n",
        )
        .unwrap();
        Body {
            mechanisms: vec![Record {
                name: program.name.clone(),
                source: "leak.mod".into(),
                sha256: "00".into(),
                program,
            }],
        }
    }

    #[test]
    fn round_trip_keeps_every_bit_and_refuses_other_versions() {
        let b = body();
        let bytes = encode(&b);
        let back = decode(Path::new("x.cat"), &bytes).unwrap();
        assert_eq!(back.mechanisms[0].program, b.mechanisms[0].program);
        let text =
            String::from_utf8_lossy(&bytes[..bytes.iter().position(|&c| c == b'\n').unwrap()])
                .into_owned();
        let mut other = text.replace("; format 1", "; format 2").into_bytes();
        other.extend_from_slice(&bytes[text.len()..]);
        let e = decode(Path::new("x.cat"), &other).unwrap_err().to_string();
        assert!(
            e.contains("x.cat") && e.contains("format 2") && e.contains("format 1"),
            "{e}"
        );
        let mut corrupt =
            format!("{HEADER_PREFIX}{ISF_VERSION}; format {FORMAT_VERSION}\n").into_bytes();
        corrupt.push(0xff);
        let e = decode(Path::new("y.cat"), &corrupt)
            .unwrap_err()
            .to_string();
        assert!(e.contains("y.cat") && e.contains("corrupt"), "{e}");
        let e = decode(Path::new("z.cat"), b"PK\x03\x04")
            .unwrap_err()
            .to_string();
        assert!(e.contains("z.cat: not an isf mechanism catalogue"), "{e}");
    }
}
