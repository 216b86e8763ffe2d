//! Mutation harness: deterministic, seeded mutants of representative `.mod` files (tokens and
//! lines deleted, duplicated and swapped, truncation, inserted bytes). Every mutant must be
//! accepted or refused with an error (never a panic), within a time limit (never a hang), and
//! every error must name the file and a position on one of its lines.

mod common;

use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

/// Representative files: channels, TABLEs, synapses with NET_RECEIVE, idioms, CRLF, VERBATIM.
const FILES: &[&str] = &[
    "neuron-builtins/hh.mod",
    "neuron-builtins/netstim.mod",
    "neuron-builtins/svclmp.mod",
    "isf-library/channels_py3/CaDynamics_E2.mod",
    "isf-library/channels_py3/NaTg.mod",
    "isf-library/channels_py3/ProbAMPANMDA2.mod",
    "isf-library/channels_py3/netglutamate_old.mod",
    "isf-library/channels_py3/epsp.mod",
    "isf-library/netcon_py3/vecevent.mod",
    "isf-library/netcon_py3/nmda2.mod",
];
/// Mutants per file (`ISF_NMODL_MUTANTS` raises it for a longer run).
const MUTANTS_PER_FILE: usize = 300;

fn mutants_per_file() -> usize {
    std::env::var("ISF_NMODL_MUTANTS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(MUTANTS_PER_FILE)
        .max(MUTANTS_PER_FILE)
}
const TIME_LIMIT: Duration = Duration::from_secs(20);

/// SplitMix64: a small, fixed generator so the mutants are the same on every run.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            (self.next() % n as u64) as usize
        }
    }
}

const INSERTS: &[&[u8]] = &[
    b"{",
    b"}",
    b"(",
    b")",
    b"[",
    b"]",
    b"'",
    b"\"",
    b":",
    b"?",
    b"~",
    b"<->",
    b"^",
    b"-",
    b"=",
    b"\r",
    b"\n",
    b"\0",
    b"\xc2\xb5",
    b"\xff",
    b"VERBATIM",
    b"ENDVERBATIM",
    b"COMMENT",
    b"ENDCOMMENT",
    b"TITLE",
    b"LOCAL x",
    b"if (",
    b"else",
    b"FROM",
    b"TABLE",
    b"SOLVE",
    b"1e",
    b".",
    b"99999999999999999999",
    b"(mV)",
    b"<0,",
    b"DEFINE N 3",
    b"NET_RECEIVE",
];

/// Byte ranges of tokens: maximal runs of identifier characters, digits or other non-blank bytes.
fn token_ranges(b: &[u8]) -> Vec<(usize, usize)> {
    let mut v = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if b[i].is_ascii_whitespace() {
            i += 1;
            continue;
        }
        let s = i;
        let word = |c: u8| c.is_ascii_alphanumeric() || c == b'_' || c == b'.';
        if word(b[i]) {
            while i < b.len() && word(b[i]) {
                i += 1;
            }
        } else {
            i += 1;
        }
        v.push((s, i));
    }
    v
}

fn line_ranges(b: &[u8]) -> Vec<(usize, usize)> {
    let mut v = Vec::new();
    let mut s = 0;
    for (i, &c) in b.iter().enumerate() {
        if c == b'\n' {
            v.push((s, i + 1));
            s = i + 1;
        }
    }
    if s < b.len() {
        v.push((s, b.len()));
    }
    v
}

fn swap(b: &[u8], x: (usize, usize), y: (usize, usize)) -> Vec<u8> {
    let (x, y) = if x.0 <= y.0 { (x, y) } else { (y, x) };
    if x.1 > y.0 {
        return b.to_vec();
    }
    [
        &b[..x.0],
        &b[y.0..y.1],
        &b[x.1..y.0],
        &b[x.0..x.1],
        &b[y.1..],
    ]
    .concat()
}

fn mutate(src: &[u8], rng: &mut Rng) -> (Vec<u8>, &'static str) {
    let toks = token_ranges(src);
    let lines = line_ranges(src);
    match rng.below(9) {
        0 if !toks.is_empty() => {
            let t = toks[rng.below(toks.len())];
            ([&src[..t.0], &src[t.1..]].concat(), "delete token")
        }
        1 if !toks.is_empty() => {
            let t = toks[rng.below(toks.len())];
            ([&src[..t.1], b" ", &src[t.0..]].concat(), "duplicate token")
        }
        2 if toks.len() > 1 => {
            let i = rng.below(toks.len() - 1);
            (swap(src, toks[i], toks[i + 1]), "swap tokens")
        }
        3 if !lines.is_empty() => {
            let l = lines[rng.below(lines.len())];
            ([&src[..l.0], &src[l.1..]].concat(), "delete line")
        }
        4 if !lines.is_empty() => {
            let l = lines[rng.below(lines.len())];
            ([&src[..l.1], &src[l.0..]].concat(), "duplicate line")
        }
        5 if lines.len() > 1 => {
            let a = rng.below(lines.len());
            let b = rng.below(lines.len());
            (swap(src, lines[a], lines[b]), "swap lines")
        }
        6 => (src[..rng.below(src.len() + 1)].to_vec(), "truncate"),
        7 => {
            let at = rng.below(src.len() + 1);
            let ins = INSERTS[rng.below(INSERTS.len())];
            ([&src[..at], ins, &src[at..]].concat(), "insert text")
        }
        _ => {
            let at = rng.below(src.len() + 1);
            let byte = [(rng.next() & 0xff) as u8];
            ([&src[..at], &byte[..], &src[at..]].concat(), "insert byte")
        }
    }
}

const MUTANT_THREAD: &str = "nmodl-mutant";

/// Panics in mutant threads are reported by the harness; the default hook stays for the rest
/// (the tests' own assertion messages).
fn quiet_mutant_panics() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let default = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if thread::current().name() != Some(MUTANT_THREAD) {
                default(info);
            }
        }));
    });
}

enum Outcome {
    Accepted,
    Refused,
}

fn run_one(name: String, bytes: Vec<u8>) -> Result<Outcome, String> {
    run_with(name, bytes, TIME_LIMIT, analyse_checked)
}

/// Analyses one input and checks every diagnostic's position.
fn analyse_checked(name: &str, bytes: &[u8]) -> Result<Outcome, String> {
    let text = String::from_utf8_lossy(bytes).into_owned();
    match isf_nmodl::analyse_str(name, &text) {
        Ok(_) => Ok(Outcome::Accepted),
        Err(e) => {
            let b = text.as_bytes();
            let breaks = (0..b.len())
                .filter(|&i| b[i] == b'\n' || (b[i] == b'\r' && b.get(i + 1) != Some(&b'\n')))
                .count();
            let lines = breaks as u32 + 1;
            for d in &e.diagnostics {
                if d.file != name || d.line == 0 || d.line > lines || d.col == 0 {
                    return Err(format!("error without a valid position: {d}"));
                }
            }
            let _ = e.to_string();
            Ok(Outcome::Refused)
        }
    }
}

/// Runs `f` on the input in its own thread: a panic or no answer within `limit` is an error.
fn run_with(
    name: String,
    bytes: Vec<u8>,
    limit: Duration,
    f: fn(&str, &[u8]) -> Result<Outcome, String>,
) -> Result<Outcome, String> {
    let (tx, rx) = mpsc::channel();
    thread::Builder::new()
        .name(MUTANT_THREAD.into())
        .stack_size(16 << 20)
        .spawn(move || {
            let r = std::panic::catch_unwind(|| f(&name, &bytes));
            let _ = tx.send(r.unwrap_or_else(|_| Err("panic".into())));
        })
        .expect("spawn");
    match rx.recv_timeout(limit) {
        Ok(r) => r,
        Err(_) => Err(format!("no answer within {limit:?} (hang)")),
    }
}

/// The harness itself reports panics and hangs (so that its silence means something).
#[test]
fn harness_detects_panics_and_hangs() {
    quiet_mutant_panics();
    let short = Duration::from_millis(200);
    let panics: fn(&str, &[u8]) -> Result<Outcome, String> = |_, _| panic!("boom");
    let hangs: fn(&str, &[u8]) -> Result<Outcome, String> = |_, _| {
        thread::sleep(Duration::from_secs(2));
        Ok(Outcome::Accepted)
    };
    assert_eq!(
        run_with("p".into(), vec![], short, panics).err().as_deref(),
        Some("panic")
    );
    assert!(run_with("h".into(), vec![], short, hangs)
        .err()
        .is_some_and(|e| e.contains("hang")));
    assert!(matches!(
        run_with(
            "ok".into(),
            b"NEURON { SUFFIX ok }".to_vec(),
            TIME_LIMIT,
            analyse_checked
        ),
        Ok(Outcome::Accepted)
    ));
}

#[test]
fn mutants_never_panic_or_hang() {
    let Some(dir) = common::nmodl_dir() else {
        return;
    };
    quiet_mutant_panics();
    let start = Instant::now();
    let mut failures = Vec::new();
    let (mut total, mut accepted, mut refused) = (0, 0, 0);
    for (fi, rel) in FILES.iter().enumerate() {
        let src = std::fs::read(dir.join(rel)).expect("read corpus file");
        let mut rng = Rng(0x15F0_0000 + fi as u64);
        for k in 0..mutants_per_file() {
            let (mut m, mut what) = mutate(&src, &mut rng);
            // Every fourth mutant stacks a second mutation.
            if k % 4 == 3 {
                let (m2, w2) = mutate(&m, &mut rng);
                m = m2;
                what = w2;
            }
            total += 1;
            match run_one(format!("{rel}#{k}"), m.clone()) {
                Ok(Outcome::Accepted) => accepted += 1,
                Ok(Outcome::Refused) => refused += 1,
                Err(e) => failures.push(format!(
                    "{rel} mutant {k} ({what}): {e}\n--- mutant ---\n{}",
                    String::from_utf8_lossy(&m)
                )),
            }
        }
    }
    println!(
        "mutation harness: {} files, {total} mutants, {accepted} accepted, {refused} refused, {} failures, {:.1} s",
        FILES.len(),
        failures.len(),
        start.elapsed().as_secs_f64()
    );
    assert!(
        failures.is_empty(),
        "{} failing mutants; first:\n{}",
        failures.len(),
        failures[0]
    );
}

const SOUP: &[&str] = &[
    "NEURON",
    "SUFFIX",
    "POINT_PROCESS",
    "USEION",
    "READ",
    "WRITE",
    "VALENCE",
    "RANGE",
    "GLOBAL",
    "POINTER",
    "RANDOM",
    "UNITS",
    "PARAMETER",
    "ASSIGNED",
    "STATE",
    "CONSTANT",
    "INITIAL",
    "BREAKPOINT",
    "SOLVE",
    "METHOD",
    "STEADYSTATE",
    "cnexp",
    "sparse",
    "DERIVATIVE",
    "KINETIC",
    "LINEAR",
    "NONLINEAR",
    "CONSERVE",
    "COMPARTMENT",
    "PROCEDURE",
    "FUNCTION",
    "TABLE",
    "DEPEND",
    "FROM",
    "TO",
    "WITH",
    "BY",
    "LOCAL",
    "if",
    "else",
    "while",
    "NET_RECEIVE",
    "FOR_NETCONS",
    "WATCH",
    "DEFINE",
    "INDEPENDENT",
    "START",
    "UNITSOFF",
    "TITLE x\n",
    "VERBATIM\n",
    "ENDVERBATIM\n",
    "COMMENT\n",
    "ENDCOMMENT\n",
    "{",
    "}",
    "(",
    ")",
    "[",
    "]",
    ",",
    "=",
    "~",
    "<->",
    "->",
    "<<",
    "+",
    "-",
    "*",
    "/",
    "^",
    "<",
    ">",
    "==",
    "!",
    "&&",
    "||",
    "'",
    "x",
    "y",
    "x'",
    "t",
    "v",
    "flag",
    "net_send",
    "exp",
    "1",
    "2.5",
    "-3",
    "1e9",
    "(mV)",
    "(/ms)",
    "\n",
    "\"s\"",
    ":",
    "@",
];

/// Random token sequences and splices of two corpus files (lines of one inside the other).
#[test]
fn token_soup_and_splices_never_panic() {
    let Some(dir) = common::nmodl_dir() else {
        return;
    };
    quiet_mutant_panics();
    let sources: Vec<Vec<u8>> = FILES
        .iter()
        .map(|r| std::fs::read(dir.join(r)).expect("read"))
        .collect();
    let mut rng = Rng(0x50_0B);
    let mut failures = Vec::new();
    let n = mutants_per_file();
    for k in 0..n * 2 {
        let bytes: Vec<u8> = if k % 2 == 0 {
            let len = 1 + rng.below(200);
            let mut out = Vec::new();
            for _ in 0..len {
                out.extend_from_slice(SOUP[rng.below(SOUP.len())].as_bytes());
                out.push(b' ');
            }
            out
        } else {
            let a = &sources[rng.below(sources.len())];
            let b = &sources[rng.below(sources.len())];
            let la = line_ranges(a);
            let lb = line_ranges(b);
            let at = la[rng.below(la.len())].0;
            let from = rng.below(lb.len());
            let to = (from + 1 + rng.below(20)).min(lb.len());
            [&a[..at], &b[lb[from].0..lb[to - 1].1], &a[at..]].concat()
        };
        if let Err(e) = run_one(format!("soup#{k}"), bytes.clone()) {
            failures.push(format!(
                "case {k}: {e}\n--- input ---\n{}",
                String::from_utf8_lossy(&bytes)
            ));
        }
    }
    println!(
        "token soup and splices: {} cases, {} failures",
        n * 2,
        failures.len()
    );
    assert!(failures.is_empty(), "{}", failures[0]);
}
