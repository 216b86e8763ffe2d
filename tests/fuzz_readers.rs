//! Mutation harness over every input reader: seed inputs (written by isf itself or by this file)
//! are mutated deterministically (byte flips, truncation, line deletion and duplication, numbers
//! replaced by extreme values, huge strings, token swaps) and each mutant is read in a child
//! process (this binary re-executed with `ISF_FUZZ_CHILD`) under a 2 GiB address-space limit and
//! a 10 s watchdog. A panic, abort, crash, hang or memory exhaustion is a failure naming the
//! reader, the mutant number and the mutation; the mutant is kept for reproduction. Every `Err`
//! must name the mutated file, and for text files its line. The regression corpus in `tests/fuzz_corpus/<reader>/` (inputs
//! that once crashed a reader or were accepted silently) runs first; each of its inputs must be
//! rejected with an error, except those whose name starts with `ok_`, which must be read.
//!
//! Environment: `ISF_FUZZ_MUTANTS` (mutants per reader, default 300), `ISF_FUZZ_ONLY` (comma
//! separated reader names), `ISF_FUZZ_KEEP` (folder for failing mutants; default a folder in the
//! system temp dir), `ISF_FUZZ_VERBOSE` (print the errors that give no line).

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

const DEFAULT_MUTANTS: usize = 300;
/// A mutant that takes longer than this is a hang.
const WATCHDOG: Duration = Duration::from_secs(10);
/// Address-space limit of the child (a reader that needs more is a failure).
const MEMORY_LIMIT_BYTES: u64 = 2 << 30;

/// Readers whose failures are fixed on another branch (named here) and not yet merged: their
/// failures are printed but do not fail the test. The lead empties this list after merging.
const KNOWN_FAILING: &[(&str, &str)] = &[];

/// Text readers whose errors need not give a line (none: every text reader gives one, a thing
/// missing from the whole file at the file's last line). Their errors without a line are counted
/// in the table, not failures.
const LINES_NOT_YET_GIVEN: &[&str] = &[];

/// One reader under test.
struct Reader {
    name: &'static str,
    /// Files the mutants replace (relative to the reader's work folder); mutant `n` mutates
    /// `files[n % files.len()]`.
    files: Vec<PathBuf>,
    /// Text files get line-aware mutations, and their errors should give a line.
    text: bool,
}

fn main() {
    if let Ok(reader) = std::env::var("ISF_FUZZ_CHILD") {
        child::run(&reader);
        return;
    }
    let t0 = Instant::now();
    let n_mutants: usize = std::env::var("ISF_FUZZ_MUTANTS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(DEFAULT_MUTANTS);
    let only: Option<Vec<String>> = std::env::var("ISF_FUZZ_ONLY")
        .ok()
        .map(|s| s.split(',').map(|x| x.trim().to_string()).collect());
    let root = tempfile::Builder::new()
        .prefix("isf-fuzz-")
        .tempdir()
        .expect("temporary folder");
    let keep_dir = std::env::var_os("ISF_FUZZ_KEEP")
        .map(PathBuf::from)
        .unwrap_or_else(|| std::env::temp_dir().join("isf-fuzz-failures"));

    let readers = seeds::setup(root.path());
    let mut rows = Vec::new();
    let mut failed = Vec::new();
    for (ri, r) in readers.iter().enumerate() {
        if only
            .as_ref()
            .is_some_and(|o| !o.iter().any(|x| x == r.name))
        {
            continue;
        }
        let work = root.path().join(r.name);
        let stats = fuzz_reader(ri as u64, r, &work, n_mutants, &keep_dir);
        if !stats.failures.is_empty() {
            match KNOWN_FAILING.iter().find(|(n, _)| *n == r.name) {
                Some((_, why)) => println!(
                    "KNOWN FAILING reader `{}` ({why}): {} failures, not counted",
                    r.name,
                    stats.failures.len()
                ),
                None => failed.push(r.name),
            }
        }
        rows.push((r.name, stats));
    }

    println!(
        "\n{:<16} {:>8} {:>6} {:>6} {:>12} {:>9}",
        "reader", "mutants", "Ok", "Err", "Err w/o line", "failures"
    );
    for (name, s) in &rows {
        println!(
            "{:<16} {:>8} {:>6} {:>6} {:>12} {:>9}",
            name,
            s.mutants,
            s.ok,
            s.err,
            s.err_without_line,
            s.failures.len()
        );
    }
    println!("harness wall time {:.1} s", t0.elapsed().as_secs_f64());
    for (name, s) in &rows {
        for f in &s.failures {
            println!("FAILURE {name}: {f}");
        }
    }
    println!("text readers whose errors need not give a line yet (see LINES_NOT_YET_GIVEN): {LINES_NOT_YET_GIVEN:?}");
    if !KNOWN_FAILING.is_empty() {
        println!("known-failing readers (see KNOWN_FAILING): {KNOWN_FAILING:?}");
    }
    if !failed.is_empty() {
        eprintln!(
            "fuzz_readers: failures in {failed:?} (mutants kept in {})",
            keep_dir.display()
        );
        drop(root);
        std::process::exit(1);
    }
}

#[derive(Default)]
struct Stats {
    mutants: usize,
    ok: usize,
    err: usize,
    err_without_line: usize,
    failures: Vec<String>,
}

/// What the child said about one mutant.
enum Outcome {
    Ok,
    Err(String),
    Panic(String),
}

/// A running child driver.
struct Driver {
    child: Child,
    stdin: ChildStdin,
    lines: mpsc::Receiver<Option<String>>,
    stderr_log: PathBuf,
}

impl Driver {
    fn start(reader: &str, work: &Path, restarts: usize) -> Driver {
        let stderr_log = work.join(format!("child-stderr-{restarts}.log"));
        let mut child = Command::new(std::env::current_exe().expect("own executable"))
            .env("ISF_FUZZ_CHILD", reader)
            .env("ISF_FUZZ_WORK", work)
            .env("RAYON_NUM_THREADS", "1")
            .env("HDF5_USE_FILE_LOCKING", "FALSE")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(&stderr_log).expect("stderr log"))
            .spawn()
            .expect("start the child driver");
        let stdin = child.stdin.take().expect("child stdin");
        let stdout = child.stdout.take().expect("child stdout");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                match line {
                    Ok(l) => {
                        if tx.send(Some(l)).is_err() {
                            return;
                        }
                    }
                    Err(_) => break,
                }
            }
            let _ = tx.send(None);
        });
        Driver {
            child,
            stdin,
            lines: rx,
            stderr_log,
        }
    }

    /// Asks the child to read the mutant now in place; `Err` describes a crash or a hang (the
    /// child is then dead).
    fn run(&mut self, n: usize) -> Result<Outcome, String> {
        if writeln!(self.stdin, "{n}")
            .and_then(|_| self.stdin.flush())
            .is_err()
        {
            return Err(self.death("the child's stdin closed"));
        }
        let deadline = Instant::now() + WATCHDOG;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(Some(line)) => {
                    let Some(rest) = line.strip_prefix(&format!("R {n} ")) else {
                        continue; // something else printed to stdout
                    };
                    let (kind, msg) = rest.split_once(' ').unwrap_or((rest, "\"\""));
                    let msg: String = serde_json::from_str(msg).unwrap_or_else(|_| msg.into());
                    return Ok(match kind {
                        "OK" => Outcome::Ok,
                        "ERR" => Outcome::Err(msg),
                        _ => Outcome::Panic(msg),
                    });
                }
                Ok(None) | Err(mpsc::RecvTimeoutError::Disconnected) => {
                    return Err(self.death("the child died"))
                }
                Err(mpsc::RecvTimeoutError::Timeout) => {
                    let _ = self.child.kill();
                    let _ = self.child.wait();
                    return Err(format!("hang: no answer within {} s", WATCHDOG.as_secs()));
                }
            }
        }
    }

    fn death(&mut self, what: &str) -> String {
        let status = self.child.wait().map(|s| {
            use std::os::unix::process::ExitStatusExt;
            match (s.code(), s.signal()) {
                (_, Some(sig)) => format!("killed by signal {sig} ({})", signal_name(sig)),
                (Some(c), None) => format!("exit code {c}"),
                _ => "unknown status".into(),
            }
        });
        let log = std::fs::read_to_string(&self.stderr_log).unwrap_or_default();
        let tail: String = log
            .lines()
            .rev()
            .take(6)
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect::<Vec<_>>()
            .join(" | ");
        format!(
            "{what}: {}; stderr: {tail}",
            status.unwrap_or_else(|e| e.to_string())
        )
    }

    fn stop(mut self) {
        drop(self.stdin);
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn signal_name(sig: i32) -> &'static str {
    match sig {
        6 => "SIGABRT: abort, e.g. allocation failure",
        9 => "SIGKILL",
        11 => "SIGSEGV",
        7 => "SIGBUS",
        8 => "SIGFPE",
        _ => "signal",
    }
}

/// `ISF_FUZZ_VERBOSE`: print every error that gives no line and every accepted number change.
fn verbose() -> bool {
    std::env::var_os("ISF_FUZZ_VERBOSE").is_some()
}

/// Whether an error message gives a line number (`file:12`, `line 12`, `row 12`).
fn has_line(msg: &str) -> bool {
    let b = msg.as_bytes();
    msg.char_indices().any(|(i, c)| {
        let after_digit = b.get(i + 1).is_some_and(|c| c.is_ascii_digit());
        (c == ':' && after_digit)
            || msg[i..].starts_with("line ") && b.get(i + 5).is_some_and(|c| c.is_ascii_digit())
    })
}

fn fuzz_reader(ri: u64, r: &Reader, work: &Path, n_mutants: usize, keep: &Path) -> Stats {
    let t0 = Instant::now();
    let originals: Vec<Vec<u8>> = r
        .files
        .iter()
        .map(|f| std::fs::read(work.join(f)).expect("seed file"))
        .collect();
    let corpus = corpus_inputs(r.name);
    let mut stats = Stats::default();
    let mut restarts = 0;
    let mut driver = Driver::start(r.name, work, restarts);

    // Mutant 0 is the unmodified seed: it must be read without error, or the harness is wrong.
    match driver.run(0) {
        Ok(Outcome::Ok) => {}
        Ok(Outcome::Err(e)) | Ok(Outcome::Panic(e)) | Err(e) => {
            panic!("reader `{}`: the unmutated seed fails: {e}", r.name)
        }
    }

    let total = corpus.len() + n_mutants;
    for n in 1..=total {
        let (fi, bytes, what) = if n <= corpus.len() {
            let (name, bytes) = &corpus[n - 1];
            // A corpus file replaces the file whose extension it has (else the first).
            let ext = Path::new(name).extension();
            let fi = r
                .files
                .iter()
                .position(|f| f.extension() == ext)
                .unwrap_or(0);
            (fi, bytes.clone(), format!("corpus file {name}"))
        } else {
            let k = n - corpus.len();
            let fi = k % r.files.len();
            let mut rng = ChaCha8Rng::seed_from_u64(ri << 32 | k as u64);
            if r.files[fi].extension().is_some_and(|e| e == "h5") && rng.random_bool(0.5) {
                // Half of an HDF5 file's mutants keep the file valid and change a value.
                let target = work.join(&r.files[fi]);
                std::fs::write(&target, &originals[fi]).expect("write seed");
                let what = h5mutate::mutate(&target, &mut rng);
                (fi, std::fs::read(&target).expect("read mutant"), what)
            } else {
                let (bytes, what) = mutate::mutate(&originals[fi], r.text, &mut rng);
                (fi, bytes, what)
            }
        };
        let target = work.join(&r.files[fi]);
        std::fs::write(&target, &bytes).expect("write mutant");
        stats.mutants += 1;
        let file_name = r.files[fi]
            .file_name()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        // A corpus input is rejected unless its name starts with `ok_`.
        let corpus_ok = (n <= corpus.len()).then(|| corpus[n - 1].0.starts_with("ok_"));
        let failure = match driver.run(n) {
            Ok(Outcome::Ok) => {
                stats.ok += 1;
                if verbose() && what.contains("replaced by") {
                    println!("  {} mutant {n} ({what}): accepted", r.name);
                }
                (corpus_ok == Some(false)).then(|| "accepted, but must be rejected".to_string())
            }
            Ok(Outcome::Err(msg)) => {
                stats.err += 1;
                let no_line = r.text && !has_line(&msg);
                if no_line {
                    stats.err_without_line += 1;
                    if verbose() {
                        println!(
                            "  {} mutant {n} ({what}): error without a line: {msg}",
                            r.name
                        );
                    }
                }
                if corpus_ok == Some(true) {
                    Some(format!("rejected, but must be read: {msg}"))
                } else if !msg.contains(&file_name) {
                    Some(format!("error does not name `{file_name}`: {msg}"))
                } else if no_line && !LINES_NOT_YET_GIVEN.contains(&r.name) {
                    Some(format!("error names no line of `{file_name}`: {msg}"))
                } else {
                    None
                }
            }
            Ok(Outcome::Panic(msg)) => Some(format!("panic: {msg}")),
            Err(e) => {
                restarts += 1;
                driver = Driver::start(r.name, work, restarts);
                Some(e)
            }
        };
        if let Some(f) = failure {
            let _ = std::fs::create_dir_all(keep);
            let kept = keep.join(format!("{}-{n}-{file_name}", r.name));
            let _ = std::fs::write(&kept, &bytes);
            let short: String = f.chars().take(400).collect();
            stats.failures.push(format!(
                "mutant {n} ({what}) of {file_name}: {short} [kept as {}]",
                kept.display()
            ));
        }
        std::fs::write(&target, &originals[fi]).expect("restore seed");
    }
    driver.stop();
    println!(
        "{:<16} {} mutants in {:.1} s, {} failures",
        r.name,
        stats.mutants,
        t0.elapsed().as_secs_f64(),
        stats.failures.len()
    );
    stats
}

/// The regression corpus of `reader`: `(file name, bytes)`, sorted by name.
fn corpus_inputs(reader: &str) -> Vec<(String, Vec<u8>)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fuzz_corpus")
        .join(reader);
    let mut v: Vec<(String, Vec<u8>)> = match std::fs::read_dir(&dir) {
        Ok(rd) => rd
            .flatten()
            .filter(|e| e.path().is_file())
            .map(|e| {
                (
                    e.file_name().to_string_lossy().into_owned(),
                    std::fs::read(e.path()).expect("corpus file"),
                )
            })
            .filter(|(n, _)| !n.ends_with(".md"))
            .collect(),
        Err(_) => Vec::new(),
    };
    v.sort();
    v
}

/// Deterministic mutators.
mod mutate {
    use super::*;

    /// Values that break readers: zero, signs, non-finite, extreme magnitudes, integer limits.
    pub const NUMBERS: &[&str] = &[
        "0",
        "-1",
        "NaN",
        "nan",
        "inf",
        "-inf",
        "1e308",
        "-1e308",
        "1e-320",
        "2147483648",
        "-2147483648",
        "4294967296",
        "4294967295",
        "18446744073709551615",
        "9223372036854775807",
        "-9223372036854775809",
        "1e20",
        "0.0",
        "-0",
        "1e999",
    ];

    /// Mutates `seed`; returns the mutant and a description of the mutation.
    pub fn mutate(seed: &[u8], text: bool, rng: &mut ChaCha8Rng) -> (Vec<u8>, String) {
        let kinds = if text { 10 } else { 6 };
        let mut out = seed.to_vec();
        let len = out.len().max(1);
        let what = match rng.random_range(0..kinds) {
            0 => {
                let k = rng.random_range(1..=8);
                let mut at = Vec::new();
                for _ in 0..k {
                    let i = rng.random_range(0..len);
                    let mask: u8 = rng.random_range(1..=255);
                    if let Some(b) = out.get_mut(i) {
                        *b ^= mask;
                    }
                    at.push(i);
                }
                format!("{k} byte flips at {at:?}")
            }
            1 => {
                let at = rng.random_range(0..len);
                out.truncate(at);
                format!("truncated to {at} bytes")
            }
            2 => {
                // Overwrite 8 bytes with an extreme integer (offsets and counts of binary files).
                let at = rng.random_range(0..len);
                let v: u64 = match rng.random_range(0..4) {
                    0 => u64::MAX,
                    1 => 1 << 63,
                    2 => u32::MAX as u64,
                    _ => rng.random(),
                };
                for (i, b) in v.to_le_bytes().iter().enumerate() {
                    if let Some(x) = out.get_mut(at + i) {
                        *x = *b;
                    }
                }
                format!("8 bytes at {at} set to {v:#x}")
            }
            3 => {
                let at = rng.random_range(0..len);
                let n = rng.random_range(1..=4096).min(len - at);
                out[at..at + n].fill(0);
                format!("{n} bytes zeroed at {at}")
            }
            4 => {
                let a = rng.random_range(0..len);
                let n = rng.random_range(1..=256).min(len - a);
                let chunk = out[a..a + n].to_vec();
                let b = rng.random_range(0..len);
                out.splice(b..b, chunk);
                format!("{n} bytes from {a} inserted at {b}")
            }
            5 => {
                let at = rng.random_range(0..len);
                let n = rng.random_range(1..=64).min(len - at);
                out.drain(at..at + n);
                format!("{n} bytes removed at {at}")
            }
            6 => replace_number(&mut out, rng),
            7 => {
                let lines = split_lines(&out);
                if lines.is_empty() {
                    return (out, "empty".into());
                }
                let i = rng.random_range(0..lines.len());
                if rng.random_bool(0.5) {
                    let mut v = lines.clone();
                    v.remove(i);
                    out = v.concat();
                    format!("line {} deleted", i + 1)
                } else {
                    let times = if rng.random_bool(0.8) { 1 } else { 2000 };
                    let mut v = lines.clone();
                    for _ in 0..times {
                        v.insert(i, lines[i].clone());
                    }
                    out = v.concat();
                    format!("line {} duplicated {times} times", i + 1)
                }
            }
            8 => {
                let at = char_boundary(&out, rng.random_range(0..len));
                let n = if rng.random_bool(0.5) { 100_000 } else { 1_000 };
                let c = [b'x', b'9', b'(', b'{', b'"', b'\t'][rng.random_range(0..6)];
                out.splice(at..at, std::iter::repeat_n(c, n));
                format!("{n} × {:?} inserted at {at}", c as char)
            }
            _ => swap_tokens(&mut out, rng),
        };
        (out, what)
    }

    fn char_boundary(b: &[u8], mut i: usize) -> usize {
        while i > 0 && i < b.len() && (b[i] & 0xC0) == 0x80 {
            i -= 1;
        }
        i.min(b.len())
    }

    fn split_lines(b: &[u8]) -> Vec<Vec<u8>> {
        b.split_inclusive(|&c| c == b'\n')
            .map(|l| l.to_vec())
            .collect()
    }

    /// Byte ranges of number-like tokens.
    fn numbers(b: &[u8]) -> Vec<(usize, usize)> {
        let mut v = Vec::new();
        let mut i = 0;
        while i < b.len() {
            let starts = b[i].is_ascii_digit()
                && (i == 0 || !(b[i - 1].is_ascii_alphanumeric() || b[i - 1] == b'_'));
            if starts {
                let s = if i > 0 && b[i - 1] == b'-' { i - 1 } else { i };
                let mut e = i;
                while e < b.len()
                    && (b[e].is_ascii_digit()
                        || b[e] == b'.'
                        || b[e] == b'e'
                        || b[e] == b'E'
                        || ((b[e] == b'-' || b[e] == b'+') && matches!(b[e - 1], b'e' | b'E')))
                {
                    e += 1;
                }
                v.push((s, e));
                i = e;
            } else {
                i += 1;
            }
        }
        v
    }

    fn replace_number(out: &mut Vec<u8>, rng: &mut ChaCha8Rng) -> String {
        let nums = numbers(out);
        if nums.is_empty() {
            return "no number to replace".into();
        }
        let (s, e) = nums[rng.random_range(0..nums.len())];
        let new = NUMBERS[rng.random_range(0..NUMBERS.len())];
        let old = String::from_utf8_lossy(&out[s..e]).into_owned();
        out.splice(s..e, new.bytes());
        format!("number `{old}` at byte {s} replaced by `{new}`")
    }

    fn swap_tokens(out: &mut Vec<u8>, rng: &mut ChaCha8Rng) -> String {
        let sep = |c: u8| c.is_ascii_whitespace() || matches!(c, b',' | b':' | b'(' | b')');
        let mut toks = Vec::new();
        let mut i = 0;
        while i < out.len() {
            if sep(out[i]) {
                i += 1;
                continue;
            }
            let s = i;
            while i < out.len() && !sep(out[i]) {
                i += 1;
            }
            toks.push((s, i));
        }
        if toks.len() < 2 {
            return "too few tokens to swap".into();
        }
        let a = rng.random_range(0..toks.len());
        let b = rng.random_range(0..toks.len());
        let (a, b) = (a.min(b), a.max(b));
        if a == b {
            return "token swapped with itself".into();
        }
        let (ta, tb) = (toks[a], toks[b]);
        let va = out[ta.0..ta.1].to_vec();
        let vb = out[tb.0..tb.1].to_vec();
        let mut n = Vec::with_capacity(out.len());
        n.extend_from_slice(&out[..ta.0]);
        n.extend_from_slice(&vb);
        n.extend_from_slice(&out[ta.1..tb.0]);
        n.extend_from_slice(&va);
        n.extend_from_slice(&out[tb.1..]);
        *out = n;
        format!(
            "tokens {a} `{}` and {b} `{}` swapped",
            String::from_utf8_lossy(&va),
            String::from_utf8_lossy(&vb)
        )
    }
}

/// Mutations of HDF5 files that keep them valid HDF5: one element of one dataset set to an
/// extreme value (offsets and counts that overflow, non-finite times, negative indices).
mod h5mutate {
    use super::*;
    use hdf5::types::TypeDescriptor as T;

    fn datasets(g: &hdf5::Group, out: &mut Vec<hdf5::Dataset>) {
        out.extend(g.datasets().unwrap_or_default());
        for sub in g.groups().unwrap_or_default() {
            datasets(&sub, out);
        }
    }

    /// Mutates the file at `path` in place; returns what was done.
    pub fn mutate(path: &Path, rng: &mut ChaCha8Rng) -> String {
        let f = match hdf5::File::open_rw(path) {
            Ok(f) => f,
            Err(e) => return format!("not mutated (cannot open: {e})"),
        };
        let mut all = Vec::new();
        datasets(&f, &mut all);
        // Scalars and 1-element datasets too: counts and states often are.
        all.retain(|d| d.size() > 0);
        if all.is_empty() {
            return "not mutated (no dataset)".into();
        }
        let ds = &all[rng.random_range(0..all.len())];
        let i = rng.random_range(0..ds.size());
        let name = ds.name();
        let r = match ds.dtype().and_then(|t| t.to_descriptor()) {
            Ok(T::Integer(_)) => {
                let new = [i64::MAX, i64::MIN, -1, 1 << 32, 1 << 31, 0][rng.random_range(0..6)];
                ds.read_raw::<i64>().and_then(|mut v| {
                    v[i] = new;
                    ds.write_raw(&v).map(|_| format!("{name}[{i}] = {new}"))
                })
            }
            Ok(T::Unsigned(_)) => {
                let new = [u64::MAX, u64::MAX - 1, 1 << 63, 1 << 32, u32::MAX as u64, 0]
                    [rng.random_range(0..6)];
                ds.read_raw::<u64>().and_then(|mut v| {
                    v[i] = new;
                    ds.write_raw(&v).map(|_| format!("{name}[{i}] = {new}"))
                })
            }
            Ok(T::Float(_)) => {
                let new = [f64::NAN, f64::INFINITY, -f64::INFINITY, 1e308, -1.0, 0.0]
                    [rng.random_range(0..6)];
                ds.read_raw::<f64>().and_then(|mut v| {
                    v[i] = new;
                    ds.write_raw(&v).map(|_| format!("{name}[{i}] = {new}"))
                })
            }
            Ok(other) => Ok(format!("not mutated ({name} holds {other:?})")),
            Err(e) => Ok(format!("not mutated ({name}: {e})")),
        };
        r.unwrap_or_else(|e| format!("not mutated ({name}: {e})"))
    }
}

/// Seed inputs: the example model isf generates (`isf example`), a results file and a database
/// made by the `isf` binary from it with the synthetic test model, and small files written here.
mod seeds {
    use super::*;
    use isf::example_model::{self, ExampleModel};

    const ISF: &str = env!("CARGO_BIN_EXE_isf");

    fn copy_dir(from: &Path, to: &Path) {
        std::fs::create_dir_all(to).unwrap();
        for e in std::fs::read_dir(from).unwrap().flatten() {
            let p = e.path();
            if p.is_dir() {
                copy_dir(&p, &to.join(e.file_name()));
            } else {
                std::fs::copy(&p, to.join(e.file_name())).unwrap();
            }
        }
    }

    fn reader(name: &'static str, files: &[&str], text: bool) -> Reader {
        Reader {
            name,
            files: files.iter().map(PathBuf::from).collect(),
            text,
        }
    }

    /// Writes every reader's work folder below `root`; returns the readers.
    pub fn setup(root: &Path) -> Vec<Reader> {
        let model_dir = root.join("model");
        let model = ExampleModel::generate(7);
        model.write(&model_dir, false).expect("example model");
        // A short simulation keeps the seeds' network draws and replays cheap.
        let cell_param = model_dir.join(example_model::CELL_PARAM_FILE);
        let text = std::fs::read_to_string(&cell_param).unwrap();
        let mut pf = isf::param::ParamFile::parse(&text, &cell_param).unwrap();
        pf.set_path("sim.tStop", isf::param::Value::Float(20.0))
            .unwrap();
        std::fs::write(&cell_param, pf.to_json_pretty()).unwrap();

        let mut readers = Vec::new();
        let model_reader = |name: &'static str, file: &str| {
            copy_dir(&model_dir, &root.join(name));
            reader(name, &[file], true)
        };
        readers.push(model_reader("cell_param", example_model::CELL_PARAM_FILE));
        readers.push(model_reader(
            "network_param",
            example_model::NETWORK_PARAM_FILE,
        ));
        readers.push(model_reader("hoc", example_model::HOC_FILE));
        readers.push(model_reader("syn", example_model::SYN_FILE));
        readers.push(model_reader("con", example_model::CON_FILE));
        readers.push(model_reader(
            "recording_sites",
            example_model::LANDMARK_FILE,
        ));
        readers.push(model_reader("run_config", example_model::RUN_CONFIG_FILE));

        // SWC: the example morphology written as SWC, named by a copy of the cell param.
        let swc_dir = root.join("swc");
        copy_dir(&model_dir, &swc_dir);
        let hoc = isf::morphology::read_hoc(&model_dir.join(example_model::HOC_FILE)).unwrap();
        std::fs::write(swc_dir.join("morph.swc"), swc_text(&hoc)).unwrap();
        let p = swc_dir.join(example_model::CELL_PARAM_FILE);
        let mut pf = isf::param::ParamFile::read(&p).unwrap();
        pf.set_path(
            "neuron.filename",
            isf::param::Value::Str("morph.swc".into()),
        )
        .unwrap();
        std::fs::write(&p, pf.to_json_pretty()).unwrap();
        readers.push(reader("swc", &["morph.swc"], true));

        // Protocol TOML on the example cell.
        let proto_dir = root.join("protocol");
        copy_dir(&model_dir, &proto_dir);
        std::fs::write(proto_dir.join("protocol.toml"), PROTOCOL).unwrap();
        readers.push(reader("protocol", &["protocol.toml"], true));

        // Synapse activation CSV (replay input): one trial drawn from the example network.
        let csv_dir = root.join("synapse_csv");
        copy_dir(&model_dir, &csv_dir);
        std::fs::write(csv_dir.join("activation.csv"), synapse_csv(&csv_dir)).unwrap();
        readers.push(reader("synapse_csv", &["activation.csv"], true));

        // The other ISF text formats (shared by replay, the ISF export and `db init-isf`):
        // presynaptic cells of the same trial, and a voltage-trace table.
        let pre_dir = root.join("presynaptic_csv");
        std::fs::create_dir_all(&pre_dir).unwrap();
        std::fs::write(pre_dir.join("cells.csv"), presynaptic_csv(&model_dir)).unwrap();
        readers.push(reader("presynaptic_csv", &["cells.csv"], true));
        let trace_dir = root.join("trace_csv");
        std::fs::create_dir_all(&trace_dir).unwrap();
        let t: Vec<f64> = (0..120).map(|i| f64::from(i) * 0.025).collect();
        let runs: Vec<Vec<f64>> = (0..3)
            .map(|r| {
                t.iter()
                    .map(|x| -75.0 + f64::from(r) + (x * 7.0).sin())
                    .collect()
            })
            .collect();
        let runs: Vec<&[f64]> = runs.iter().map(Vec::as_slice).collect();
        isf::output::isf_files::write_trace_file(&trace_dir.join("traces.csv"), &t, &runs).unwrap();
        readers.push(reader("trace_csv", &["traces.csv"], true));

        // Mapper inputs.
        let am_dir = root.join("amira");
        std::fs::create_dir_all(&am_dir).unwrap();
        std::fs::write(am_dir.join("density.am"), AMIRA).unwrap();
        readers.push(reader("amira", &["density.am"], true));
        let csv = root.join("mapper_csv");
        std::fs::create_dir_all(&csv).unwrap();
        std::fs::write(csv.join("ConnectionsV8.csv"), CONNECTIONS_CSV).unwrap();
        std::fs::write(csv.join("nrCells.csv"), NR_CELLS_CSV).unwrap();
        readers.push(reader(
            "mapper_csv",
            &["ConnectionsV8.csv", "nrCells.csv"],
            true,
        ));

        // Results HDF5 and database, made by the isf binary (synthetic test model: fast).
        let h5_dir = root.join("results_h5");
        std::fs::create_dir_all(&h5_dir).unwrap();
        make_results(&model_dir, &h5_dir);
        readers.push(reader("results_h5", &["results.h5"], false));

        let db_dir = root.join("database");
        std::fs::create_dir_all(&db_dir).unwrap();
        let out = Command::new(ISF)
            .current_dir(&db_dir)
            .env("TMPDIR", &db_dir)
            .args(["db", "init"])
            .arg(h5_dir.join("results.h5"))
            .arg(db_dir.join("db"))
            .output()
            .unwrap();
        assert!(out.status.success(), "db init: {out:?}");
        let mut files = Vec::new();
        list_files(&db_dir.join("db"), &db_dir, &mut files);
        files.sort();
        readers.push(Reader {
            name: "database",
            files,
            text: false,
        });
        readers
    }

    fn list_files(dir: &Path, base: &Path, out: &mut Vec<PathBuf>) {
        for e in std::fs::read_dir(dir).unwrap().flatten() {
            let p = e.path();
            if p.is_dir() {
                list_files(&p, base, out);
            } else {
                out.push(p.strip_prefix(base).unwrap().to_path_buf());
            }
        }
    }

    fn make_results(model_dir: &Path, h5_dir: &Path) {
        let cfg = format!(
            "output = \"results.h5\"\nbase_seed = 5\nbatch_size = 2\n\
             [record]\nevery_k_steps = 4\n\
             [[cell]]\nname = \"ex_cell\"\ncell_param = \"{0}/cell.param\"\n\
             network_param = \"{0}/network.param\"\ntrials = 3\nt_stop_ms = 10.0\n\
             model = \"synthetic-test-fixture\"\n",
            model_dir.display()
        );
        std::fs::write(h5_dir.join("run.toml"), cfg).unwrap();
        let out = Command::new(ISF)
            .current_dir(h5_dir)
            .env("TMPDIR", h5_dir)
            .env("OMPI_ALLOW_RUN_AS_ROOT", "1")
            .env("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1")
            .args(["simulate", "--no-progress", "--config", "run.toml"])
            .output()
            .unwrap();
        assert!(out.status.success(), "simulate: {out:?}");
        std::fs::remove_file(h5_dir.join("run.toml")).unwrap();
    }

    /// The synapse and presynaptic-cell rows of one seeded trial of the example network.
    fn example_trial_rows(
        dir: &Path,
    ) -> (
        Vec<isf::output::SynapseActivationRow>,
        Vec<isf::output::PresynapticCellRow>,
    ) {
        use isf::network::{RandomState, TrialScratch};
        use isf::recipe::Recipe;
        let cell = Recipe::in_network(
            dir.join(example_model::CELL_PARAM_FILE),
            dir.join(example_model::NETWORK_PARAM_FILE),
        )
        .build()
        .unwrap();
        let trial = cell
            .draw(&mut RandomState::new(3), &mut TrialScratch::default())
            .unwrap();
        cell.isf_rows(&trial).unwrap()
    }

    /// One trial of the example network in ISF's synapse activation format.
    fn synapse_csv(dir: &Path) -> Vec<u8> {
        let (rows, _) = example_trial_rows(dir);
        let path = dir.join("tmp_activation.csv");
        isf::output::isf_files::write_synapse_activation_file(&path, &rows).unwrap();
        let b = std::fs::read(&path).unwrap();
        std::fs::remove_file(&path).unwrap();
        b
    }

    /// The presynaptic cells of one trial of the example network, in ISF's format.
    fn presynaptic_csv(dir: &Path) -> Vec<u8> {
        let (_, rows) = example_trial_rows(dir);
        assert!(!rows.is_empty(), "the seed trial has presynaptic spikes");
        let mut b = Vec::new();
        isf::output::isf_files::write_presynaptic_cells(&mut b, &rows).unwrap();
        b
    }

    /// The morphology as SWC: samples per section, children continuing from their parent's
    /// last sample (soma children from the soma's middle sample).
    fn swc_text(m: &isf::morphology::Morphology) -> String {
        use std::fmt::Write as _;
        let mut out = String::from("# example morphology as SWC (isf fuzz seed)\n");
        let mut last_id = vec![0usize; m.sections.len()];
        let mut mid_id = vec![0usize; m.sections.len()];
        let mut id = 0usize;
        for (i, s) in m.sections.iter().enumerate() {
            let kind = match s.label.as_str() {
                "Soma" => 1,
                "Axon" => 2,
                "ApicalDendrite" => 4,
                _ => 3,
            };
            let mut parent: i64 = match s.parent {
                None => -1,
                Some((p, _)) if m.sections[p].label == "Soma" => mid_id[p] as i64,
                Some((p, _)) => last_id[p] as i64,
            };
            let skip_first = s.parent.is_some_and(|(p, _)| m.sections[p].label != "Soma");
            for (k, q) in s.points.iter().enumerate() {
                if k == 0 && skip_first {
                    continue;
                }
                id += 1;
                let _ = writeln!(
                    out,
                    "{id} {kind} {} {} {} {} {parent}",
                    q[0],
                    q[1],
                    q[2],
                    q[3] / 2.0
                );
                if k == s.points.len() / 2 {
                    mid_id[i] = id;
                }
                parent = id as i64;
            }
            last_id[i] = id;
        }
        out
    }

    const PROTOCOL: &str = "tstop = 5.0\ndt = 0.025\n\
        [[iclamp]]\nsection = 0\nx = 0.5\ndelay = 1.0\ndur = 2.0\namp = 0.5\n\
        [[epsp]]\nsection = 3\nx = 0.5\nonset = 1.0\ntau0 = 0.5\ntau1 = 5.0\nimax = 0.2\n\
        [[record]]\nsection = 0\nx = 0.5\n[[record]]\nsection = 3\nx = 0.9\n";

    const AMIRA: &str = "# AmiraMesh 3D ASCII 2.0\n\ndefine Lattice 2 2 2\n\nParameters {\n    \
        Content \"2x2x2 float, uniform coordinates\",\n    Spacing 50 50 50,\n    \
        BoundingBox 25 75 -25 25 100 150,\n    CoordType \"uniform\"\n}\n\n\
        Lattice { float Data } @1\n\n@1\n0.5\n1.25\n0\n0\n2.0e-1\n3\n0.125\n1\n";

    const CONNECTIONS_CSV: &str = "PRESYNAPTIC_CELLTYPE\tPOSTSYNAPTIC_CELLTYPE\tSOMA_LENGTH\t\
        APICAL_LENGTH\tBASAL_LENGTH\tSOMA_AREA\tAPICAL_AREA\tBASAL_AREA\n\
        EXCITATORY\tL5tt\t0.0\t1.2\t1.1\t0.0\t0.0\t0.0\n\
        INHIBITORY\tL5tt\t0.0\t0.1\t0.1\t0.05\t0.02\t0.02\n\
        EXCITATORY\tL2\t0.0\t0.7\t0.9\t0.0\t0.0\t0.0\n\
        INHIBITORY\tL2\t0.0\t0.2\t0.1\t0.05\t0.01\t0.02\n";

    const NR_CELLS_CSV: &str = "CELL TYPE\tC1\tC2\tC3\nVPM\t1\t3\t1\nL2\t1\t1\t2\nL5tt\t4\t0\t2\n";
}

/// The child: reads mutant numbers from stdin, runs the reader's driver on the work folder and
/// answers `R <n> OK|ERR|PANIC <json message>`.
mod child {
    use super::*;
    use isf::example_model as ex;
    use std::cell::RefCell;
    use std::sync::Mutex;

    static PANIC_MSG: Mutex<String> = Mutex::new(String::new());

    pub fn run(reader: &str) {
        // SAFETY: setrlimit only changes this process's limit.
        unsafe {
            let lim = libc::rlimit {
                rlim_cur: MEMORY_LIMIT_BYTES,
                rlim_max: MEMORY_LIMIT_BYTES,
            };
            libc::setrlimit(libc::RLIMIT_AS, &lim);
        }
        std::panic::set_hook(Box::new(|info| {
            let loc = info
                .location()
                .map(|l| format!(" at {}:{}", l.file(), l.line()))
                .unwrap_or_default();
            let msg = info
                .payload()
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| info.payload().downcast_ref::<String>().cloned())
                .unwrap_or_default();
            *PANIC_MSG.lock().unwrap_or_else(|e| e.into_inner()) = format!("{msg}{loc}");
        }));
        let work = PathBuf::from(std::env::var_os("ISF_FUZZ_WORK").expect("ISF_FUZZ_WORK"));
        let state = RefCell::new(State::default());
        let stdin = std::io::stdin();
        let mut stdout = std::io::stdout();
        for line in stdin.lock().lines() {
            let Ok(line) = line else { break };
            let n = line.trim();
            let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                drive(reader, &work, &mut state.borrow_mut())
            }));
            let (kind, msg) = match result {
                Ok(Ok(())) => ("OK", String::new()),
                Ok(Err(e)) => ("ERR", e),
                Err(_) => (
                    "PANIC",
                    PANIC_MSG.lock().unwrap_or_else(|e| e.into_inner()).clone(),
                ),
            };
            let _ = writeln!(
                stdout,
                "R {n} {kind} {}",
                serde_json::to_string(&msg).unwrap_or_default()
            );
            let _ = stdout.flush();
        }
    }

    /// What a child builds once from the unmutated seeds.
    #[derive(Default)]
    struct State {
        cell: Option<isf::cell::CellTemplate>,
        sim: Option<(isf::trial::CellSimulator, isf::param::NetworkParams)>,
    }

    fn s<E: std::fmt::Display>(e: E) -> String {
        // `{:#}` would be anyhow's chain; plain Display of our errors already names file/line.
        e.to_string()
    }

    fn build_cell(dir: &Path) -> Result<isf::cell::CellTemplate, String> {
        let p = isf::param::CellParams::read(&dir.join(ex::CELL_PARAM_FILE)).map_err(s)?;
        isf::cell::CellTemplate::from_params(&p).map_err(s)
    }

    fn drive(reader: &str, work: &Path, st: &mut State) -> Result<(), String> {
        match reader {
            "cell_param" | "hoc" | "swc" | "recording_sites" => {
                let t = build_cell(work)?;
                std::hint::black_box(t.n_segments());
                Ok(())
            }
            "network_param" | "syn" | "con" => {
                if st.cell.is_none() {
                    st.cell = Some(build_cell(work).expect("seed cell"));
                }
                let cell = st.cell.as_ref().unwrap();
                let net = isf::param::NetworkParams::read(&work.join(ex::NETWORK_PARAM_FILE))
                    .map_err(s)?;
                let model =
                    isf::network::NetworkModel::from_params(&net, cell.tstop_ms).map_err(s)?;
                let network = isf::network::Network::new(model, cell).map_err(s)?;
                let trial = network
                    .draw_trial(
                        &mut isf::network::RandomState::new(1),
                        &mut isf::network::TrialScratch::default(),
                    )
                    .map_err(s)?;
                std::hint::black_box(isf::trial::SynapseInputs::from_network(&network, &trial));
                Ok(())
            }
            "run_config" => {
                let c = isf::run::config::RunConfig::load(&work.join(ex::RUN_CONFIG_FILE))
                    .map_err(s)?;
                std::hint::black_box(c.n_batches());
                Ok(())
            }
            "protocol" => {
                if st.cell.is_none() {
                    st.cell = Some(build_cell(work).expect("seed cell"));
                }
                let cell = st.cell.as_ref().unwrap();
                let path = work.join("protocol.toml");
                let p = isf::trial::protocol::Protocol::read(&path).map_err(s)?;
                p.check(cell, &path).map_err(s)?;
                // Running is bounded by the protocol's own stop time; only short ones are run.
                if p.tstop.unwrap_or(cell.tstop_ms) <= 10.0 && p.dt.unwrap_or(cell.dt_ms) >= 0.001 {
                    std::hint::black_box(p.run(cell, &path).map_err(s)?);
                }
                Ok(())
            }
            "presynaptic_csv" => {
                let rows =
                    isf::output::isf_files::read_presynaptic_cells_file(&work.join("cells.csv"))
                        .map_err(s)?;
                std::hint::black_box(rows.len());
                Ok(())
            }
            "trace_csv" => {
                let t = isf::output::TraceTable::read(&work.join("traces.csv")).map_err(s)?;
                std::hint::black_box(t.columns.len());
                Ok(())
            }
            "synapse_csv" => {
                if st.sim.is_none() {
                    let cell = build_cell(work).expect("seed cell");
                    let sim = isf::trial::CellSimulator::new(cell, None).expect("seed simulator");
                    let net = isf::param::NetworkParams::read(&work.join(ex::NETWORK_PARAM_FILE))
                        .expect("seed network");
                    st.sim = Some((sim, net));
                }
                let (sim, net) = st.sim.as_ref().unwrap();
                let t =
                    isf::recipe::replay::ReplayTrial::read(sim, net, &work.join("activation.csv"))
                        .map_err(s)?;
                std::hint::black_box(t.rows.len());
                Ok(())
            }
            "amira" => {
                let f =
                    isf::mapper::amira::ScalarField::read(&work.join("density.am")).map_err(s)?;
                std::hint::black_box((f.cropped_to_nonzero(), f.value_at([50.0, 0.0, 125.0])));
                Ok(())
            }
            "mapper_csv" => {
                let c = work.join("ConnectionsV8.csv");
                let t = isf::mapper::model::PstTable::read(&c).map_err(s)?;
                for post in ["L5tt", "L2"] {
                    std::hint::black_box(t.for_postsynaptic(post, &c).map_err(s)?);
                }
                let n =
                    isf::mapper::model::CellCounts::read(&work.join("nrCells.csv")).map_err(s)?;
                std::hint::black_box(n.counts.len());
                Ok(())
            }
            "results_h5" => {
                let db = work.join("db");
                let _ = std::fs::remove_dir_all(&db);
                let r = isf_post::import::init_results(
                    &work.join("results.h5"),
                    &db,
                    &isf_post::import::ImportOptions::default(),
                );
                let _ = std::fs::remove_dir_all(&db);
                r.map(|_| ()).map_err(s)
            }
            "database" => {
                let db = isf_post::db::Database::open(&work.join("db")).map_err(s)?;
                let mut sink = std::io::sink();
                isf_post::show::ls(&db, true, &mut sink).map_err(s)?;
                for (key, _) in db.keys_recursive().map_err(s)? {
                    let k = key.join("/");
                    isf_post::show::show(&db, &k, None, &mut sink).map_err(s)?;
                }
                Ok(())
            }
            other => panic!("unknown reader {other}"),
        }
    }
}
