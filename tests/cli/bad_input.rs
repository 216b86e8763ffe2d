//! Bad cell-side input (issue 16, points 4 and 5): every case is a clear error naming the file
//! (with line and key where the file has them) or, where NEURON would simulate the input, a
//! cell that loads; never a panic, an abort or gigabytes of allocation. The inputs are the
//! example model isf generates, edited.

use isf::cell::CellTemplate;
use isf::example_model::{ExampleModel, CELL_PARAM_FILE, HOC_FILE, NETWORK_PARAM_FILE};
use isf::param::{CellParams, NetworkParams, ParamFile, Value};
use std::path::{Path, PathBuf};
use std::process::Command;

const ISF: &str = env!("CARGO_BIN_EXE_isf");

/// The example model in a fresh temporary folder.
fn example() -> (tempfile::TempDir, PathBuf) {
    let d = tempfile::tempdir().unwrap();
    let m = d.path().join("model");
    ExampleModel::generate(11).write(&m, false).unwrap();
    (d, m)
}

fn build(model: &Path) -> Result<CellTemplate, String> {
    let p = CellParams::read(&model.join(CELL_PARAM_FILE)).map_err(|e| e.to_string())?;
    CellTemplate::from_params(&p).map_err(|e| e.to_string())
}

/// Sets `key` of the parameter file `file` (saved in ISF's JSON layout).
fn set_param(file: &Path, key: &str, value: Value) {
    let mut pf = ParamFile::read(file).unwrap();
    pf.set_path(key, value).unwrap();
    std::fs::write(file, pf.to_json_pretty()).unwrap();
}

/// The hoc text with point `k` of section `section` replaced by `pt` (`x, y, z, d`), and the
/// 1-based line of that point.
fn with_point(hoc: &str, section: &str, k: usize, pt: &str) -> (String, usize) {
    let mut lines: Vec<String> = hoc.lines().map(str::to_string).collect();
    let start = lines
        .iter()
        .position(|l| l == &format!("{{create {section}}}"))
        .unwrap();
    let line = (start..lines.len())
        .filter(|&i| lines[i].contains("pt3dadd"))
        .nth(k)
        .unwrap();
    lines[line] = format!("{{pt3dadd({pt})}}");
    (lines.join("\n") + "\n", line + 1)
}

/// Number of 3-D points of `section` in the hoc text.
fn n_points(hoc: &str, section: &str) -> usize {
    hoc.split(&format!("{{create {section}}}"))
        .nth(1)
        .unwrap()
        .split("{create")
        .next()
        .unwrap()
        .matches("pt3dadd")
        .count()
}

#[test]
fn zero_diameter_points_load_as_in_neuron_except_where_the_d_lambda_rule_reads_them() {
    let (_d, m) = example();
    let hoc_path = m.join(HOC_FILE);
    let hoc = std::fs::read_to_string(&hoc_path).unwrap();
    let n = n_points(&hoc, "dend_1");
    assert!(n >= 4, "dend_1 has {n} points");
    let mid = n / 2;

    // An inner point that is not the middle one: NEURON simulates it; so does isf.
    let (text, _) = with_point(&hoc, "dend_1", 1, "11.828377, 5.863416, -1.182027, 0");
    std::fs::write(&hoc_path, text).unwrap();
    let cell = build(&m).unwrap();
    assert!(cell
        .cable
        .area_um2
        .iter()
        .all(|a| a.is_finite() && *a >= 0.0));
    assert!(cell.n_segments() > 0);

    // The middle point: ISF's d-λ rule reads its diameter (λ = 0); an error naming the
    // morphology, the section and the point, not a `capacity overflow` panic.
    let (text, line) = with_point(&hoc, "dend_1", mid, "20, 10, -4, 0");
    std::fs::write(&hoc_path, text).unwrap();
    let e = build(&m).unwrap_err();
    assert!(e.contains(&format!("{HOC_FILE}:{line}:")), "{e}");
    assert!(e.contains("`dend_1`"), "{e}");
    assert!(e.contains(&format!("3-D point {mid} of {n}")), "{e}");
    assert!(e.contains("middle 3-D point"), "{e}");
}

#[test]
fn zero_radius_in_swc_loads_or_names_the_sample_section() {
    let (_d, m) = example();
    set_param(
        &m.join(CELL_PARAM_FILE),
        "neuron.filename",
        Value::Str("cell.swc".into()),
    );
    let swc = |r: &str| {
        format!(
            "# soma, a basal dendrite of 5 samples, an apical one\n1 1 0 0 0 10 -1\n\
             2 3 10 0 0 1 1\n3 3 30 0 0 {r} 2\n4 3 50 0 0 1 3\n5 3 70 0 0 1 4\n6 3 90 0 0 1 5\n\
             7 4 0 10 0 1.5 1\n8 4 0 100 0 1.25 7\n9 4 0 200 0 1 8\n"
        )
    };
    std::fs::write(m.join("cell.swc"), swc("1")).unwrap();
    build(&m).unwrap();
    // radius 0 at the second sample (not the middle one): loads
    std::fs::write(m.join("cell.swc"), swc("0")).unwrap();
    build(&m).unwrap();
    // radius 0 at the middle sample (sample 4 of the 5): an error naming file and section
    let text = swc("1").replace("4 3 50 0 0 1 3", "4 3 50 0 0 0 3");
    std::fs::write(m.join("cell.swc"), text).unwrap();
    let e = build(&m).unwrap_err();
    assert!(
        e.contains("cell.swc:5:") && e.contains("dend_0") && e.contains("middle"),
        "{e}"
    );
    // a negative radius, a non-integer id: errors at the line
    let text = swc("1").replace("4 3 50 0 0 1 3", "4 3 50 0 0 -1 3");
    std::fs::write(m.join("cell.swc"), text).unwrap();
    let e = build(&m).unwrap_err();
    assert!(e.contains("cell.swc:5:") && e.contains("diameter"), "{e}");
    let text = swc("1").replace("4 3 50 0 0 1 3", "4.5 3 50 0 0 1 3");
    std::fs::write(m.join("cell.swc"), text).unwrap();
    let e = build(&m).unwrap_err();
    assert!(
        e.contains("cell.swc:5:") && e.contains("not an integer"),
        "{e}"
    );
}

#[test]
fn extreme_coordinates_and_diameters_are_errors_at_the_line() {
    let (_d, m) = example();
    let hoc_path = m.join(HOC_FILE);
    let hoc = std::fs::read_to_string(&hoc_path).unwrap();
    for (pt, what) in [
        ("1e308, 5.863416, -1.182027, 1.8", "coordinate x = 1e308"),
        (
            "11.8, 2147483648, -1.182027, 1.8",
            "coordinate y = 2.147483648e9",
        ),
        (
            "11.8, 5.8, -2147483648, 1.8",
            "coordinate z = -2.147483648e9",
        ),
        (
            "4294967296, 5.863416, -1.182027, 1.8",
            "coordinate x = 4.294967296e9",
        ),
        ("11.8, 5.8, -1.1, 1e308", "diameter 1e308"),
        ("11.8, 5.8, -1.1, -1.5", "diameter -1.5 µm must be ≥ 0"),
    ] {
        let (text, line) = with_point(&hoc, "dend_1", 1, pt);
        std::fs::write(&hoc_path, text).unwrap();
        let e = build(&m).unwrap_err();
        assert!(e.contains(&format!("{HOC_FILE}:{line}:")), "{pt}: {e}");
        assert!(e.contains(what), "{pt}: {e}");
    }
}

#[test]
fn extreme_cm_ra_and_discretization_are_errors_before_allocating() {
    let (_d, m) = example();
    let param = m.join(CELL_PARAM_FILE);
    let good = std::fs::read_to_string(&param).unwrap();
    // `cm` 4294967295 asked the d-λ rule for ~10^5 segments per section (gigabytes in all);
    // Ra 1e-320 made the axial conductances infinite.
    for (key, v) in [
        ("neuron.Dendrite.properties.cm", 4294967295.0),
        ("neuron.ApicalDendrite.properties.Ra", 1e-320),
    ] {
        std::fs::write(&param, &good).unwrap();
        set_param(&param, key, Value::Float(v));
        let e = build(&m).unwrap_err();
        assert!(e.contains(&format!("{CELL_PARAM_FILE}:")), "{key}: {e}");
        assert!(
            e.contains(&format!("key `{key}`")) && e.contains("accepted range"),
            "{key}: {e}"
        );
    }
    // A d-λ frequency or segment length that asks for more than NEURON's 32767 segments.
    for (f, max) in [(1e12, 20.0), (100.0, 1e-300)] {
        std::fs::write(&param, &good).unwrap();
        set_param(&param, "neuron.discretization.f", Value::Float(f));
        set_param(
            &param,
            "neuron.discretization.max_seg_length",
            Value::Float(max),
        );
        let e = build(&m).unwrap_err();
        assert!(e.contains("32767"), "f {f}, max {max}: {e}");
        assert!(
            e.contains(HOC_FILE) && e.contains(CELL_PARAM_FILE),
            "f {f}, max {max}: {e}"
        );
    }
}

#[test]
fn cell_nr_beyond_the_limit_names_file_line_and_key() {
    let (_d, m) = example();
    let net = m.join(NETWORK_PARAM_FILE);
    let text = std::fs::read_to_string(&net).unwrap();
    let at = text.find("\"cellNr\": ").unwrap() + "\"cellNr\": ".len();
    let end = at + text[at..].find(|c: char| !c.is_ascii_digit()).unwrap();
    let line = text[..at].lines().count();
    std::fs::write(&net, format!("{}4294967296{}", &text[..at], &text[end..])).unwrap();
    let e = NetworkParams::read(&net).unwrap_err().to_string();
    assert!(e.contains(&format!("{NETWORK_PARAM_FILE}:{line}:")), "{e}");
    assert!(
        e.contains(".cellNr") && e.contains("limit of 1000000"),
        "{e}"
    );
}

#[test]
fn a_truncated_label_names_file_line_and_key() {
    let (_d, m) = example();
    let param = m.join(CELL_PARAM_FILE);
    let text = std::fs::read_to_string(&param).unwrap();
    let text = text.replacen("\"Soma\": {", "\"Som\": {", 1);
    let line = text[..text.find("\"Som\"").unwrap()].lines().count();
    std::fs::write(&param, text).unwrap();
    let e = build(&m).unwrap_err();
    assert!(e.contains(&format!("{CELL_PARAM_FILE}:{line}:")), "{e}");
    assert!(e.contains("key `neuron.Som`"), "{e}");
    assert!(e.contains("no section labelled `Som`"), "{e}");
}

#[test]
fn bad_time_steps_are_errors_naming_the_key() {
    let (_d, m) = example();
    let param = m.join(CELL_PARAM_FILE);
    let good = std::fs::read_to_string(&param).unwrap();
    for (dt, what) in [
        (Value::Float(1e308), "longer than the limit"),
        (Value::Float(f64::NAN), "finite"),
        (Value::Float(-0.025), "must be > 0"),
        (Value::Int(0), "must be > 0"),
    ] {
        std::fs::write(&param, &good).unwrap();
        set_param(&param, "sim.dt", dt);
        let e = CellParams::read(&param).unwrap_err().to_string();
        assert!(
            e.contains(CELL_PARAM_FILE) && e.contains("key `sim.dt`"),
            "{e}"
        );
        assert!(e.contains(what), "{e}");
    }

    // run config and protocol
    let cfg = m.join("run.toml");
    let text = std::fs::read_to_string(&cfg).unwrap();
    std::fs::write(&cfg, format!("{text}dt_ms = 1e308\n")).unwrap();
    let e = isf::run::config::RunConfig::load(&cfg)
        .unwrap_err()
        .to_string();
    assert!(e.contains("cell[0].dt_ms") && e.contains("1e308"), "{e}");
    std::fs::write(&cfg, format!("{text}t_stop_ms = 345.0\ndt_ms = 1e-300\n")).unwrap();
    let e = isf::run::config::RunConfig::load(&cfg)
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("cell[0].t_stop_ms") && e.contains("time steps"),
        "{e}"
    );

    use isf::trial::protocol::Protocol;
    let p = Path::new("p.toml");
    let e = Protocol::parse("dt = 1e308\n", p).unwrap_err().to_string();
    assert!(e.contains("p.toml:1: dt:") && e.contains("limit"), "{e}");
    let e = Protocol::parse("tstop = 1e12\ndt = 0.025\n", p)
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("p.toml:1: tstop:") && e.contains("time steps"),
        "{e}"
    );
    // a dt the protocol gives, with the cell's tStop: found before anything is simulated
    std::fs::write(&param, &good).unwrap();
    let cell = build(&m).unwrap();
    let proto = Protocol::parse("dt = 1e-300\n", p).unwrap();
    let e = proto.check(&cell, p).unwrap_err().to_string();
    assert!(
        e.contains("p.toml:1: dt:") && e.contains("time steps"),
        "{e}"
    );
    let e = proto.run(&cell, p).unwrap_err().to_string();
    assert!(e.contains("time steps"), "{e}");
}

#[test]
fn voltages_temperatures_concentrations_and_landmarks_out_of_range() {
    let (_d, m) = example();
    let param = m.join(CELL_PARAM_FILE);
    let good = std::fs::read_to_string(&param).unwrap();
    for (key, v, what) in [
        ("sim.Vinit", 2147483648.0, "outside ±1000 mV"),
        ("sim.T", -300.0, "outside (-273.15, 100] °C"),
        ("sim.T", 1e6, "outside (-273.15, 100] °C"),
        (
            "neuron.Soma.properties.ions.ek",
            4294967295.0,
            "outside ±1000 mV",
        ),
        (
            "neuron.Soma.properties.ions.cao",
            -2.0,
            "concentration must be ≥ 0",
        ),
    ] {
        std::fs::write(&param, &good).unwrap();
        set_param(&param, key, Value::Float(v));
        let e = CellParams::read(&param).unwrap_err().to_string();
        assert!(e.contains(&format!("{CELL_PARAM_FILE}:")), "{key}: {e}");
        assert!(
            e.contains(&format!("key `{key}`")) && e.contains(what),
            "{key}: {e}"
        );
    }
    std::fs::write(&param, &good).unwrap();

    // A landmark far outside any cell sent its site silently to the soma (all distances inf).
    let lm = m.join(isf::example_model::LANDMARK_FILE);
    let text = std::fs::read_to_string(&lm).unwrap();
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    let at = lines.iter().position(|l| l.trim() == "@1").unwrap() + 1;
    let rest = lines[at].split_once(' ').unwrap().1.to_string();
    lines[at] = format!("1e308 {rest}");
    let line = at + 1;
    let new = lines.join("\n") + "\n";
    std::fs::write(&lm, new).unwrap();
    let e = build(&m).unwrap_err();
    assert!(
        e.contains(&format!("{}:{line}:", isf::example_model::LANDMARK_FILE)),
        "{e}"
    );
    assert!(e.contains("coordinate 1e308 µm"), "{e}");
}

/// `isf ARGS…` in `dir`; returns (success, stderr).
fn isf(dir: &Path, args: &[&str]) -> (bool, String) {
    let out = Command::new(ISF)
        .current_dir(dir)
        .env("TMPDIR", dir)
        .env("OMPI_ALLOW_RUN_AS_ROOT", "1")
        .env("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1")
        .args(args)
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn cli_sweeps_and_dt_limits_fail_at_once_without_output() {
    let (d, m) = example();
    let out = d.path().join("out");
    let out_s = out.to_str().unwrap();
    let (c, n) = (CELL_PARAM_FILE, NETWORK_PARAM_FILE);
    for (args, what) in [
        (vec!["--sweeps", "1000000000"], "limit of 100000 sweeps"),
        (
            vec!["--dt", "1e308"],
            "--dt: dt = 1e308 ms is longer than the limit",
        ),
        (
            vec!["--dt", "-1"],
            "--dt must be a positive number of ms, got -1",
        ),
        (
            vec!["--dt", "NaN"],
            "--dt must be a positive number of ms, got NaN",
        ),
        (vec!["--dt", "1e-300"], "time steps"),
        (vec!["--tstop", "1e12"], "time steps"),
        // 100000 sweeps of the example's 345 ms: 1.4e4 samples × 2 traces each
        (vec!["--sweeps", "100000"], "samples in memory"),
    ] {
        let mut a = vec!["simulate", c, n, "--out", out_s];
        a.extend(&args);
        let (ok, err) = isf(&m, &a);
        assert!(!ok, "{args:?} succeeded");
        assert!(err.contains(what), "{args:?}: {err}");
        assert!(!out.exists(), "{args:?} left {out_s}");
    }
    // replay: the time step is checked before the synapse file is read
    let (ok, err) = isf(
        &m,
        &[
            "replay",
            c,
            n,
            "missing.csv",
            "--dt",
            "1e308",
            "--out",
            out_s,
        ],
    );
    assert!(!ok && err.contains("--dt: dt = 1e308 ms"), "{err}");
    assert!(!out.exists());
}
