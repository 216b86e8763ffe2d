//! The user's NMODL workflow end to end: `isf mech build` / `list`, loading catalogues with
//! `--mechanisms`, a run config's `mechanisms` and the working directory's `isf-mechanisms.cat`,
//! the refusals (another version, a name defined twice, a built-in replaced implicitly, bad
//! `.mod` files), and `isf protocol` reproducing NEURON 9.0.2's single-compartment references
//! from the command line (a channel, a TABLE case with usetable 1 and 0, a synapse).

use crate::common;

use common::process::{check, has_mpirun, isf, mpirun, ISF};
use common::{max_abs, max_abs_diff, Table};
use isf::testing::shared_path;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Output;

/// The density mechanisms of ISF's channel library (the files with a SUFFIX), sorted.
fn library_density_files() -> Option<Vec<PathBuf>> {
    let dir = shared_path("nmodl/isf-library/channels_py3")?;
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "mod"))
        .filter(|p| {
            let text = std::fs::read_to_string(p).unwrap();
            text.lines().any(|l| l.trim_start().starts_with("SUFFIX"))
        })
        .collect();
    files.sort();
    Some(files)
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// `isf mech build FILES --out OUT` in `dir`.
pub(crate) fn build(dir: &Path, files: &[PathBuf], out: &str) -> Output {
    isf(dir)
        .args(["mech", "build"])
        .args(files)
        .args(["--out", out])
        .output()
        .unwrap()
}

#[test]
fn build_and_list_isf_library() {
    let Some(files) = library_density_files() else {
        eprintln!("skipped: nmodl/isf-library absent");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let t0 = std::time::Instant::now();
    let o = check(build(dir.path(), &files, "lib.cat"), "mech build");
    let secs = t0.elapsed().as_secs_f64();
    println!("compiled {} density files in {secs:.3} s", files.len());
    assert!(secs < 10.0, "compiling the library took {secs} s");
    assert!(
        stdout(&o).contains(&format!("{} mechanism(s)", files.len())),
        "{}",
        stdout(&o)
    );
    let cat = dir.path().join("lib.cat");
    let head = std::fs::read(&cat).unwrap();
    let first = String::from_utf8_lossy(&head[..head.iter().position(|&b| b == b'\n').unwrap()])
        .into_owned();
    assert_eq!(
        first,
        format!(
            "isf mechanism catalogue; isf {}; format 1",
            env!("CARGO_PKG_VERSION")
        )
    );
    let o = check(
        isf(dir.path())
            .args(["mech", "list", "lib.cat"])
            .output()
            .unwrap(),
        "mech list",
    );
    let list = stdout(&o);
    for (name, needle) in [
        ("NaTs2_t", "gNaTs2_tbar=0.00001"),
        ("Ca_HVA", "variables: m h gCa_HVA"),
        ("CaDynamics_E2_v2", "minCai=0.0001"),
    ] {
        assert!(list.contains(&format!("{name}\tdensity\t")), "{list}");
        assert!(list.contains(needle), "{needle}: {list}");
    }
    // Each mechanism names its source and the source's sha256.
    let nats = files.iter().find(|f| f.ends_with("NaTs2_t.mod")).unwrap();
    let sha = {
        use sha2::Digest;
        sha2::Sha256::digest(std::fs::read(nats).unwrap())
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<String>()
    };
    assert!(
        list.contains(&format!("NaTs2_t.mod\tsha256 {sha}")),
        "{list}"
    );

    // The whole folder, point processes included (synapses, event sources, random-release
    // synapses): every file compiles and the catalogue is written.
    let folder = shared_path("nmodl/isf-library/channels_py3").unwrap();
    let o = check(
        isf(dir.path())
            .args(["mech", "build"])
            .arg(&folder)
            .args(["--out", "all.cat"])
            .output()
            .unwrap(),
        "mech build (whole folder)",
    );
    let n = std::fs::read_dir(&folder)
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .path()
                .extension()
                .is_some_and(|x| x == "mod")
        })
        .count();
    assert!(
        stdout(&o).contains(&format!("{n} mechanism(s)")),
        "{}",
        stdout(&o)
    );
    assert!(dir.path().join("all.cat").exists());
}

#[test]
fn bad_mod_files_are_all_reported_with_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let mods = dir.path().join("mods");
    std::fs::create_dir(&mods).unwrap();
    let head = "NEURON { SUFFIX NAME RANGE g }\nPARAMETER { g = 1 (S/cm2) }\n";
    let cases = [
        ("a_syntax", "ASSIGNED { x }\nBREAKPOINT { x = ( }\n", 4),
        ("b_unit", "ASSIGNED { x (fortnights) }\n", 3),
        (
            "c_undefined",
            "ASSIGNED { x }\nBREAKPOINT { x = gbar }\n",
            4,
        ),
        ("d_verbatim", "VERBATIM\nint x;\nENDVERBATIM\n", 3),
    ];
    for (name, body, _) in &cases {
        std::fs::write(
            mods.join(format!("{name}.mod")),
            format!("{}{body}", head.replace("NAME", name)),
        )
        .unwrap();
    }
    let o = build(dir.path(), std::slice::from_ref(&mods), "bad.cat");
    assert!(!o.status.success());
    let e = stderr(&o);
    println!("{e}");
    assert!(e.contains("4 of 4 .mod file(s) failed"), "{e}");
    for (name, _, line) in &cases {
        assert!(e.contains(&format!("{name}.mod:{line}:")), "{name}: {e}");
    }
    assert!(e.contains("fortnights") && e.contains("gbar") && e.contains("VERBATIM"));
    assert!(!dir.path().join("bad.cat").exists(), "nothing is written");
}

/// A NaTs2_t protocol's catalogue and the reference folder, or None (skipped).
fn nats_setup(dir: &Path) -> Option<PathBuf> {
    let file = shared_path("nmodl/isf-library/channels_py3/NaTs2_t.mod")?;
    let folder = shared_path("reference/neuron-9.0.2/nmodl/NaTs2_t")?;
    check(build(dir, &[file], "nats.cat"), "mech build NaTs2_t");
    Some(folder)
}

#[test]
fn version_refusal_and_name_clashes() {
    let Some(file) = shared_path("nmodl/isf-library/channels_py3/NaTs2_t.mod") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    check(build(d, std::slice::from_ref(&file), "a.cat"), "build a");
    check(build(d, std::slice::from_ref(&file), "b.cat"), "build b");
    let cell_info = |args: &[&str]| {
        isf(d)
            .arg("protocol")
            .arg("p.toml")
            .args(["--out", "out", "--overwrite"])
            .args(args)
            .output()
            .unwrap()
    };
    std::fs::write(
        d.join("p.toml"),
        "tstop = 1.0\n[cell]\n[cell.mechanisms]\nNaTs2_t = {}\n",
    )
    .unwrap();
    // Another version: the header altered.
    let bytes = std::fs::read(d.join("a.cat")).unwrap();
    let text_end = bytes.iter().position(|&b| b == b'\n').unwrap();
    let header = String::from_utf8_lossy(&bytes[..text_end])
        .replace(&format!("isf {};", env!("CARGO_PKG_VERSION")), "isf 0.0.9;");
    let mut old = header.into_bytes();
    old.extend_from_slice(&bytes[text_end..]);
    std::fs::write(d.join("old.cat"), old).unwrap();
    let o = cell_info(&["--mechanisms", "old.cat"]);
    assert!(!o.status.success());
    let e = stderr(&o);
    assert!(
        e.contains("old.cat")
            && e.contains("isf 0.0.9")
            && e.contains(&format!("this is isf {}", env!("CARGO_PKG_VERSION"))),
        "{e}"
    );
    // Not a catalogue at all.
    std::fs::write(d.join("junk.cat"), "hello\n").unwrap();
    let e = stderr(&cell_info(&["--mechanisms", "junk.cat"]));
    assert!(
        e.contains("junk.cat: not an isf mechanism catalogue"),
        "{e}"
    );
    // One name in two catalogues: both named.
    let o = cell_info(&["--mechanisms", "a.cat", "--mechanisms", "b.cat"]);
    assert!(!o.status.success());
    let e = stderr(&o);
    assert!(
        e.contains("`NaTs2_t` is defined twice") && e.contains("a.cat") && e.contains("b.cat"),
        "{e}"
    );
    // The same file twice is one catalogue.
    check(
        cell_info(&["--mechanisms", "a.cat", "--mechanisms", "./a.cat"]),
        "same catalogue twice",
    );
    // A built-in's name: refused unless replaced explicitly.
    let pas_like = d.join("pas.mod");
    std::fs::write(
        &pas_like,
        "NEURON { SUFFIX pas NONSPECIFIC_CURRENT i RANGE g, e }\n\
         PARAMETER { g = .001 (S/cm2) e = -70 (mV) }\n\
         ASSIGNED { v (mV) i (mA/cm2) }\n\
         BREAKPOINT { i = g*(v - e) }\n",
    )
    .unwrap();
    check(build(d, &[pas_like], "pas.cat"), "build pas");
    let e = stderr(&cell_info(&["--mechanisms", "pas.cat"]));
    assert!(
        e.contains("`pas` of pas.cat") && e.contains("--replace-builtin pas"),
        "{e}"
    );
    check(
        cell_info(&[
            "--mechanisms",
            "a.cat",
            "--mechanisms",
            "pas.cat",
            "--replace-builtin",
            "pas",
        ]),
        "explicit replacement",
    );
    let e = stderr(&cell_info(&["--replace-builtin", "hh"]));
    assert!(e.contains("no loaded catalogue defines it"), "{e}");
    let e = stderr(&cell_info(&[
        "--mechanisms",
        "a.cat",
        "--replace-builtin",
        "NaTs2_t",
    ]));
    assert!(e.contains("not a built-in"), "{e}");
    // Without a catalogue, the unknown name points to --mechanisms.
    let e = stderr(&cell_info(&[]));
    assert!(
        e.contains("unknown mechanism `NaTs2_t`") && e.contains("--mechanisms"),
        "{e}"
    );
}

/// The `isf protocol` TOML reproducing an `nmodl/` reference from its `_meta` JSON, and the
/// recorded names in the reference's column order.
fn nmodl_protocol(meta: &Value, columns: &[String]) -> (String, Vec<String>) {
    let f = |v: &Value| v.as_f64().unwrap();
    let rename = |c: &str| match c {
        "iclamp_i" => "iclamp0.i".to_string(),
        "seclamp_i" => "vclamp0.i".to_string(),
        "seclamp_vc" => "vclamp0.vc".to_string(),
        other => other.to_string(),
    };
    let record: Vec<String> = columns[1..].iter().map(|c| rename(c)).collect();
    let g = &meta["geometry"];
    let mut t = format!(
        "tstop = {}\ndt = {}\ncelsius = {}\nnumerics = \"exact\"\nrecord = [{}]\n\
         [cell]\nL = {}\ndiam = {}\ncm = {}\nRa = {}\nv_init = {}\n",
        f(&meta["tstop"]),
        f(&meta["dt"]),
        f(&meta["celsius"]),
        record
            .iter()
            .map(|r| format!("\"{r}\""))
            .collect::<Vec<_>>()
            .join(", "),
        f(&g["L"]),
        f(&g["diam"]),
        f(&g["cm"]),
        f(&g["Ra"]),
        f(&meta["v_init"]),
    );
    if let Some(ions) = meta["ions_set"].as_object() {
        for (k, v) in ions {
            t += &format!("{k} = {}\n", f(v));
        }
    }
    t += &format!(
        "[cell.mechanisms]\npas = {{ g = {:e}, e = {} }}\n",
        f(&meta["pas"]["g_pas"]),
        f(&meta["pas"]["e_pas"])
    );
    for m in meta["mechanisms"].as_array().unwrap() {
        let params: Vec<String> = m[1]
            .as_object()
            .unwrap()
            .iter()
            .map(|(k, v)| format!("{k} = {:e}", f(v)))
            .collect();
        t += &format!("{} = {{ {} }}\n", m[0].as_str().unwrap(), params.join(", "));
    }
    if let Some(gl) = meta.get("globals_set").and_then(Value::as_object) {
        t += "[globals]\n";
        for (k, v) in gl {
            t += &format!("{k} = {:e}\n", f(v));
        }
    }
    match meta["stim"].as_str().unwrap() {
        "IClamp" => {
            let c = &meta["iclamp"];
            t += &format!(
                "[[iclamp]]\ndelay = {:e}\ndur = {:e}\namp = {:e}\n",
                f(&c["delay"]),
                f(&c["dur"]),
                f(&c["amp"])
            );
        }
        "SEClamp" => {
            let times = meta["t_switch_ms"].as_array().unwrap();
            let levels = meta["v_levels_mV"].as_array().unwrap();
            let pairs: Vec<String> = times
                .iter()
                .zip(levels)
                .map(|(a, b)| format!("[{:e}, {:e}]", f(a), f(b)))
                .collect();
            t += &format!(
                "[[vclamp]]\nrs = {:e}\nlevels = [{}]\n",
                f(&meta["rs_MOhm"]),
                pairs.join(", ")
            );
        }
        other => panic!("stim {other}"),
    }
    (t, record)
}

/// Compares `ours` (the CSV `isf protocol` wrote) with `reference`: t exactly, v within 1e-9
/// mV, every other column within 1e-9 of its largest magnitude. Returns the worst (Δv, relative).
pub(crate) fn compare(ours: &Path, reference: &Path, names: &[String]) -> (f64, f64) {
    let ours = Table::read(ours);
    let reference = Table::read(reference);
    assert_eq!(ours.names.len(), reference.names.len());
    assert_eq!(&ours.names[1..], names);
    assert_eq!(max_abs_diff(ours.column("t"), reference.column("t")), 0.0);
    let (mut dv, mut rel) = (0.0f64, 0.0f64);
    for (k, name) in reference.names.iter().enumerate().skip(1) {
        let (a, b) = (&ours.columns[k], reference.column(name));
        let d = max_abs_diff(a, b);
        if name == "v" {
            assert!(d <= 1e-9, "{name}: {d:e} mV");
            dv = dv.max(d);
        } else {
            let r = d / max_abs(b).max(f64::MIN_POSITIVE);
            assert!(r <= 1e-9, "{name}: {d:e} ({r:e} of its largest magnitude)");
            rel = rel.max(r);
        }
    }
    (dv, rel)
}

/// Runs every CSV of `nmodl/<folder>` through `isf protocol` with `extra` arguments in `dir`.
fn reproduce_nmodl(dir: &Path, folder: &Path, extra: &[&str]) {
    let mut files: Vec<String> = std::fs::read_dir(folder)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|f| f.ends_with(".csv"))
        .collect();
    files.sort();
    assert!(!files.is_empty());
    for file in files {
        let meta: Value = serde_json::from_str(
            &std::fs::read_to_string(folder.join("_meta").join(file.replace(".csv", ".json")))
                .unwrap(),
        )
        .unwrap();
        let reference = folder.join(&file);
        let columns = Table::read(&reference).names;
        let (toml, names) = nmodl_protocol(&meta, &columns);
        let stem = file.trim_end_matches(".csv");
        std::fs::write(dir.join(format!("{stem}.toml")), toml).unwrap();
        check(
            isf(dir)
                .arg("protocol")
                .arg(format!("{stem}.toml"))
                .args(["--out", stem])
                .args(extra)
                .output()
                .unwrap(),
            &format!("isf protocol {stem}"),
        );
        let (dv, rel) = compare(&dir.join(stem).join("vm.csv"), &reference, &names);
        println!(
            "{}/{file}: max |dv| {dv:e} mV, worst column {rel:e}",
            folder.display()
        );
    }
}

#[test]
fn protocol_reproduces_nats2_t_with_flag_and_working_directory() {
    let dir = tempfile::tempdir().unwrap();
    let Some(folder) = nats_setup(dir.path()) else {
        return;
    };
    // --mechanisms.
    reproduce_nmodl(dir.path(), &folder, &["--mechanisms", "nats.cat"]);
    // The working directory's conventional catalogue, no flag.
    let wd = dir.path().join("wd");
    std::fs::create_dir(&wd).unwrap();
    std::fs::rename(dir.path().join("nats.cat"), wd.join("isf-mechanisms.cat")).unwrap();
    reproduce_nmodl(&wd, &folder, &[]);
}

#[test]
fn protocol_reproduces_hh_table_with_usetable_1_and_0() {
    let (Some(hh), Some(folder)) = (
        shared_path("nmodl/neuron-builtins/hh.mod"),
        shared_path("reference/neuron-9.0.2/nmodl/hh"),
    ) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    check(build(dir.path(), &[hh], "hh.cat"), "mech build hh");
    // hh is also a built-in: the compiled one (with its TABLE) replaces it explicitly.
    reproduce_nmodl(
        dir.path(),
        &folder,
        &["--mechanisms", "hh.cat", "--replace-builtin", "hh"],
    );
}

#[test]
fn protocol_reproduces_glutamate_synapse() {
    let Some(folder) = shared_path("reference/neuron-9.0.2/synapses") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    for case in ["glutamate_isf_default", "gaba_depression_facilitation"] {
        let meta: Value = serde_json::from_str(
            &std::fs::read_to_string(folder.join(format!("{case}.json"))).unwrap(),
        )
        .unwrap();
        let f = |v: &Value| v.as_f64().unwrap();
        let list = |v: &Value| {
            v.as_array()
                .unwrap()
                .iter()
                .map(|x| format!("{:e}", f(x)))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let reference = folder.join(format!("{case}.csv"));
        let columns = Table::read(&reference).names;
        let names: Vec<String> = columns[1..].to_vec();
        let mut t = format!(
            "tstop = {}\ndt = {}\ncelsius = {}\nnumerics = \"exact\"\nrecord = [{}]\n\
             [cell]\nv_init = {}\n[cell.mechanisms]\npas = {{ g = {:e}, e = {} }}\n",
            f(&meta["tstop"]),
            f(&meta["dt"]),
            f(&meta["celsius"]),
            names
                .iter()
                .map(|n| format!("\"{n}\""))
                .collect::<Vec<_>>()
                .join(", "),
            f(&meta["v_init"]),
            f(&meta["pas"]["g_pas"]),
            f(&meta["pas"]["e_pas"]),
        );
        if let Some(g) = meta["globals"].as_object() {
            t += "[globals]\n";
            for (k, v) in g {
                t += &format!("{k} = {:e}\n", f(v));
            }
        }
        // Every parameter NEURON read back, except the maxima the NetCon weights set.
        let params: Vec<String> = meta["params_after_run"]
            .as_object()
            .unwrap()
            .iter()
            .filter(|(k, _)| !k.ends_with("max"))
            .map(|(k, v)| format!("{k} = {:e}", f(v)))
            .collect();
        t += &format!(
            "[[point]]\nmechanism = \"{}\"\nname = \"syn\"\nparams = {{ {} }}\nevents = [{}]\n\
             weights = [{}]\n",
            meta["mechanism"].as_str().unwrap(),
            params.join(", "),
            list(&meta["netcon_source_event_times"]),
            list(&meta["netcon"]["weights"]),
        );
        std::fs::write(dir.path().join(format!("{case}.toml")), t).unwrap();
        check(
            isf(dir.path())
                .arg("protocol")
                .arg(format!("{case}.toml"))
                .args(["--out", case])
                .output()
                .unwrap(),
            case,
        );
        let (dv, rel) = compare(&dir.path().join(case).join("vm.csv"), &reference, &names);
        println!("synapses/{case}: max |dv| {dv:e} mV, worst column {rel:e}");
    }
}

#[test]
fn protocol_errors_name_the_key_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let run = |text: &str| {
        std::fs::write(d.join("p.toml"), text).unwrap();
        let o = isf(d)
            .args(["protocol", "p.toml", "--out", "out"])
            .output()
            .unwrap();
        assert!(!o.status.success());
        stderr(&o)
    };
    let cell = "tstop = 1.0\n[cell]\n[cell.mechanisms]\npas = {}\n";
    let e = run(&format!("{cell}[globals]\nfoo_bar = 1\n"));
    assert!(e.contains("p.toml:6: globals.foo_bar"), "{e}");
    let e = run(&format!("{cell}[globals]\nfoo_pas = 1\n"));
    assert!(
        e.contains("globals.foo_pas") && e.contains("no parameter `foo`"),
        "{e}"
    );
    let e = run(&format!("{cell}[[vclamp]]\nrs = 1\nlevels = [[5, -70]]\n"));
    assert!(e.contains("p.toml:7: vclamp[0].levels"), "{e}");
    let e = run(&format!("{cell}[[point]]\nmechanism = \"pas\"\n"));
    assert!(
        e.contains("point[0].mechanism") && e.contains("density"),
        "{e}"
    );
    let e = run(&format!("record = [\"m_hh\"]\n{cell}"));
    assert!(e.contains("m") && e.contains("hh"), "{e}");
    let e = run("record = [\"syn.g\"]\ntstop = 1.0\n[cell]\n");
    assert!(
        e.contains("record[0]") && e.contains("no point process `syn`"),
        "{e}"
    );
    let e = run("tstop = 1.0\n");
    assert!(e.contains("no [cell]"), "{e}");
}

/// The example cell 86 with NaTs2_t and CaDynamics_E2_v2 (see
/// [`common::compiled_cell_param`]), with the example network param's path.
fn compiled_cell(dir: &Path) -> Option<(PathBuf, PathBuf)> {
    Some((
        common::compiled_cell_param(dir)?,
        shared_path("isf-example/network.param")?,
    ))
}

#[test]
fn compiled_cell_through_cell_info_and_a_run_config_under_mpi() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (Some((param, network)), Some(lib)) = (compiled_cell(d), library_density_files()) else {
        return;
    };
    let picked: Vec<PathBuf> = lib
        .into_iter()
        .filter(|f| f.ends_with("NaTs2_t.mod") || f.ends_with("CaDynamics_E2_v2.mod"))
        .collect();
    assert_eq!(picked.len(), 2);
    std::fs::create_dir(d.join("cats")).unwrap();
    check(build(d, &picked, "cats/lib.cat"), "mech build");
    // cell-info: unknown without the catalogue, built with it.
    let o = isf(d).arg("cell-info").arg(&param).output().unwrap();
    assert!(!o.status.success());
    assert!(stderr(&o).contains("NaTs2_t"), "{}", stderr(&o));
    check(
        isf(d)
            .arg("cell-info")
            .arg(&param)
            .args(["--mechanisms", "cats/lib.cat"])
            .output()
            .unwrap(),
        "cell-info --mechanisms",
    );
    // A run config naming the catalogue relative to itself, run from another folder.
    let config = d.join("cats").join("run.toml");
    let write_config = |mechanisms: &str| {
        std::fs::write(
            &config,
            format!(
                "output = \"out.h5\"\nbase_seed = 1\nbatch_size = 1\nmechanisms = [{mechanisms}]\n\
                 [[cell]]\ncell_param = \"{}\"\nnetwork_param = \"{}\"\ntrials = 2\n\
                 t_stop_ms = 2.0\n",
                param.display(),
                network.display()
            ),
        )
        .unwrap();
    };
    write_config("\"lib.cat\"");
    let run = |np: u32| {
        let mut c = if np > 1 { mpirun(d, np, ISF) } else { isf(d) };
        c.args(["simulate", "--config"])
            .arg(&config)
            .args(["--overwrite", "--no-progress"])
            .output()
            .unwrap()
    };
    check(run(1), "simulate --config with mechanisms");
    assert!(d.join("cats/out.h5").exists());
    if has_mpirun() {
        check(run(2), "mpirun -np 2 simulate --config with mechanisms");
        // A catalogue that fails to load fails every rank, with the message.
        write_config("\"missing.cat\"");
        let o = run(2);
        assert!(!o.status.success());
        assert!(stderr(&o).contains("missing.cat"), "{}", stderr(&o));
    } else {
        eprintln!("mpirun absent: the MPI part is skipped");
    }
    // Without the catalogue the config's cell cannot be built.
    write_config("");
    let o = run(1);
    assert!(!o.status.success());
    assert!(stderr(&o).contains("unknown mechanism"), "{}", stderr(&o));
}
