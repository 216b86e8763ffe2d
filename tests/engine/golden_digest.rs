//! Golden digests of `exact` outputs: `exact` numerics promise that a release writes the same bytes
//! as the one before for the reference model (README, "Numerics and speed"). Each case runs one
//! command on ISF's example cell 86 and hashes what it wrote: CSV files byte for byte, results
//! files dataset by dataset and attribute by attribute (values, shapes and types; `/provenance`,
//! `wall_time_s` and `rank` excluded, since they record when and where a run happened).
//!
//! A deliberate change of `exact` output (a fix of the numerics) updates the constants below: the
//! failure message prints every digest as computed, and the CHANGELOG says what changed and why.

use std::collections::BTreeMap;
use std::path::Path;

use hdf5::types::{FloatSize, IntSize, TypeDescriptor, VarLenAscii, VarLenUnicode};
use sha2::{Digest, Sha256};

use isf::testing::{example_params, shared_path, REFERENCE_TRIAL_DIR};

use crate::common;
use common::process::{check, isf};

/// sha256 of each output, by name, as `exact` wrote them when the digests were last set.
const GOLDEN: &[(&str, &str)] = &[
    (
        "cell_info/segments.csv",
        "1c5d047b78d3f4b35d75a703d3466ba808b8ec7e98ea51e897645a8c20886b92",
    ),
    (
        "replay/golden_vm_all_traces.csv",
        "72bad0945acf38880d72d79bb4c2db4fd8ad3c6d6493c14a4cd11dc294da6cf8",
    ),
    (
        "replay/simulation_run0000000_presynaptic_cells.csv",
        "67b064b7ef4086cb2ce4041b49721d1135e2df94793434d4996a502392ebb0f7",
    ),
    (
        "replay/simulation_run0000000_synapses.csv",
        "047bc24da578960d3fb667d8eeb7ac37b25b573119dd911209a7b424cb15c8e6",
    ),
    (
        "run/isf/simulation_run0001_synapses.csv",
        "2155d56c04994d554e63cd25ae7e98dc00eec8d3aeae70616f0ea697cb972663",
    ),
    (
        "run/isf/vm_all_traces.csv",
        "5d53ace431dde67790a0fb919e232ff0e9e6c7abbf2d6c10ffe4a03161ad654a",
    ),
    (
        "run/results.h5",
        "b4b6de72522fcc787064acbef619c30a8e62f100a012bb0e4d3603cfcc500b08",
    ),
    (
        "task/golden_vm_all_traces.csv",
        "a4833e6e987c388576df8c91fdd9f4644d74d47ecbc34ca657f6d450ccee166d",
    ),
    (
        "task/simulation_run0000_presynaptic_cells.csv",
        "6a2ad178b5d93702b3bbd24d5cbb4d76676d66366a2644016ffbbeabddc047bc",
    ),
    (
        "task/simulation_run0000_synapses.csv",
        "f34adce3deb0c7b8bf0779248069bb9a2381836cd2c18488b5334a0665e3c1c0",
    ),
];

fn sha_hex(bytes: &[u8]) -> String {
    let mut h = Sha256::new();
    h.update(bytes);
    format!("{:x}", h.finalize())
}

fn file_digest(path: &Path) -> String {
    sha_hex(&std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display())))
}

/// Values of a dataset or attribute as little-endian bytes, preceded by its type and shape.
fn container_bytes(c: &hdf5::Container, out: &mut Vec<u8>) {
    let desc = c.dtype().unwrap().to_descriptor().unwrap();
    out.extend(format!("{desc:?} {:?};", c.shape()).bytes());
    macro_rules! raw {
        ($t:ty) => {
            for v in c.read_raw::<$t>().unwrap() {
                out.extend(v.to_le_bytes());
            }
        };
    }
    match desc {
        TypeDescriptor::Integer(IntSize::U1) => raw!(i8),
        TypeDescriptor::Integer(IntSize::U2) => raw!(i16),
        TypeDescriptor::Integer(IntSize::U4) => raw!(i32),
        TypeDescriptor::Integer(IntSize::U8) => raw!(i64),
        TypeDescriptor::Unsigned(IntSize::U1) => raw!(u8),
        TypeDescriptor::Enum(e) if e.size == IntSize::U1 && !e.signed => raw!(u8),
        TypeDescriptor::Unsigned(IntSize::U2) => raw!(u16),
        TypeDescriptor::Unsigned(IntSize::U4) => raw!(u32),
        TypeDescriptor::Unsigned(IntSize::U8) => raw!(u64),
        TypeDescriptor::Float(FloatSize::U4) => raw!(f32),
        TypeDescriptor::Float(FloatSize::U8) => raw!(f64),
        TypeDescriptor::VarLenUnicode => {
            for s in c.read_raw::<VarLenUnicode>().unwrap() {
                out.extend(s.as_str().bytes());
                out.push(0);
            }
        }
        TypeDescriptor::VarLenAscii => {
            for s in c.read_raw::<VarLenAscii>().unwrap() {
                out.extend(s.as_str().bytes());
                out.push(0);
            }
        }
        other => panic!("{}: no digest rule for type {other:?}", c.name()),
    }
}

fn is_excluded(name: &str) -> bool {
    name.starts_with("/provenance") || name.ends_with("/wall_time_s") || name.ends_with("/rank")
}

fn location_attrs(loc: &hdf5::Location, out: &mut Vec<u8>) {
    let mut names = loc.attr_names().unwrap();
    names.sort();
    for n in names {
        out.extend(format!("@{n}=").bytes());
        container_bytes(&loc.attr(&n).unwrap(), out);
    }
}

fn group_bytes(g: &hdf5::Group, out: &mut Vec<u8>) {
    if is_excluded(&g.name()) {
        return;
    }
    out.extend(format!("group {};", g.name()).bytes());
    location_attrs(g, out);
    let mut members = g.member_names().unwrap();
    members.sort();
    for m in members {
        if let Ok(sub) = g.group(&m) {
            group_bytes(&sub, out);
        } else {
            let ds = g.dataset(&m).unwrap();
            if is_excluded(&ds.name()) {
                continue;
            }
            out.extend(format!("dataset {};", ds.name()).bytes());
            location_attrs(&ds, out);
            container_bytes(&ds, out);
        }
    }
}

fn results_digest(path: &Path) -> String {
    let f = hdf5::File::open(path).unwrap();
    let mut bytes = Vec::new();
    group_bytes(&f, &mut bytes);
    sha_hex(&bytes)
}

/// The one file in `dir` whose name ends with `suffix`, searched recursively.
fn find_file(dir: &Path, suffix: &str) -> std::path::PathBuf {
    let mut hits = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else if p.to_string_lossy().ends_with(suffix) {
                hits.push(p);
            }
        }
    }
    assert_eq!(hits.len(), 1, "{suffix} in {}: {hits:?}", dir.display());
    hits.pop().unwrap()
}

#[test]
fn exact_outputs_equal_their_golden_digests() {
    let (Some((cell, network)), Some(trial)) = (example_params(), shared_path(REFERENCE_TRIAL_DIR))
    else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let mut got = BTreeMap::new();

    check(
        isf(dir)
            .arg("cell-info")
            .arg(&cell)
            .arg("--segments")
            .arg(dir.join("segments.csv"))
            .output()
            .unwrap(),
        "cell-info",
    );
    got.insert(
        "cell_info/segments.csv",
        file_digest(&dir.join("segments.csv")),
    );

    // ISF's reference network trial replayed on cell 86.
    let synapses = trial.join("isf_output/simulation_run0000_synapses.csv");
    check(
        isf(dir)
            .arg("replay")
            .args([&cell, &network, &synapses])
            .args([
                "--numerics",
                "exact",
                "--prefix",
                "golden",
                "--out",
                "replay",
            ])
            .output()
            .unwrap(),
        "replay",
    );
    for f in [
        "golden_vm_all_traces.csv",
        "simulation_run0000000_synapses.csv",
        "simulation_run0000000_presynaptic_cells.csv",
    ] {
        let key: &'static str = GOLDEN
            .iter()
            .find(|(k, _)| k.strip_prefix("replay/") == Some(f))
            .unwrap()
            .0;
        got.insert(key, file_digest(&dir.join("replay").join(f)));
    }

    // ISF's task mode: activity drawn from the network param with numpy's seeded stream.
    check(
        isf(dir)
            .arg("simulate")
            .args([&cell, &network])
            .args(["--seed", "1234", "--tstop", "120", "--numerics", "exact"])
            .args(["--prefix", "golden", "--out", "task", "--no-progress"])
            .output()
            .unwrap(),
        "simulate (task)",
    );
    for f in [
        "golden_vm_all_traces.csv",
        "simulation_run0000_synapses.csv",
        "simulation_run0000_presynaptic_cells.csv",
    ] {
        let key: &'static str = GOLDEN
            .iter()
            .find(|(k, _)| k.strip_prefix("task/") == Some(f))
            .unwrap()
            .0;
        got.insert(key, file_digest(&dir.join("task").join(f)));
    }

    // A run config: two trials into the results file and the ISF-format export.
    let config = dir.join("run.toml");
    std::fs::write(
        &config,
        format!(
            "output = \"results.h5\"\nisf_folder = \"isf\"\nbase_seed = 7\nbatch_size = 2\n\
             [record]\nsoma = true\nsites = true\nevery_k_steps = 2\n\
             [[cell]]\nname = \"c86\"\ncell_param = {cell:?}\nnetwork_param = {network:?}\n\
             trials = 2\nt_stop_ms = 120.0\nnumerics = \"exact\"\n"
        ),
    )
    .unwrap();
    check(
        isf(dir)
            .args(["simulate", "--config", "run.toml", "--no-progress"])
            .output()
            .unwrap(),
        "simulate --config",
    );
    got.insert("run/results.h5", results_digest(&dir.join("results.h5")));
    got.insert(
        "run/isf/simulation_run0001_synapses.csv",
        file_digest(&find_file(
            &dir.join("isf"),
            "simulation_run0001_synapses.csv",
        )),
    );
    got.insert(
        "run/isf/vm_all_traces.csv",
        file_digest(&find_file(&dir.join("isf"), "_vm_all_traces.csv")),
    );

    let expected: BTreeMap<&str, &str> = GOLDEN.iter().copied().collect();
    let got_view: BTreeMap<&str, &str> = got.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let listing: String = got
        .iter()
        .map(|(k, v)| format!("    (\"{k}\", \"{v}\"),\n"))
        .collect();
    assert_eq!(
        got_view, expected,
        "exact outputs differ from their golden digests; as computed now:\n{listing}"
    );
}
