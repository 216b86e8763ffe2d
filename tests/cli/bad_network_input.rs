//! Hostile or broken network-side input (issue 16, points 4 and 5): every case is a clear error
//! naming the file (and line, key and population where there is one), never a panic, an
//! unbounded allocation or a run that silently simulates less than the files describe.

use isf::example_model::{ExampleModel, CON_FILE, DEFAULT_SEED, NETWORK_PARAM_FILE, SYN_FILE};
use isf::network::NetworkModel;
use isf::param::NetworkParams;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn isf(args: &[&std::ffi::OsStr]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_isf"))
        .args(args)
        .env("RAYON_NUM_THREADS", "1")
        .output()
        .expect("run isf")
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// The generated example model written to `<tmp>/model`.
fn example() -> (tempfile::TempDir, PathBuf) {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("model");
    ExampleModel::generate(DEFAULT_SEED)
        .write(&dir, false)
        .unwrap();
    (tmp, dir)
}

fn build(net: &Path) -> Result<NetworkModel, String> {
    let params = NetworkParams::read(net).map_err(|e| e.to_string())?;
    NetworkModel::from_params(&params, 100.0).map_err(|e| e.to_string())
}

/// Data lines of a `.syn`/`.con` file.
fn data_lines(text: &str) -> usize {
    text.lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .count()
}

/// Keeps the header and the first `keep` data lines of `path`; returns the number of lines kept.
fn truncate_data(path: &Path, keep: usize) -> usize {
    let text = std::fs::read_to_string(path).unwrap();
    let mut out = String::new();
    let mut n = 0;
    let mut lines = 0;
    for l in text.lines() {
        let data = !l.trim().is_empty() && !l.starts_with('#');
        if data {
            if n == keep {
                break;
            }
            n += 1;
        }
        out.push_str(l);
        out.push('\n');
        lines += 1;
    }
    std::fs::write(path, out).unwrap();
    lines
}

#[test]
fn example_network_builds_as_shipped() {
    let (_tmp, dir) = example();
    build(&dir.join(NETWORK_PARAM_FILE)).unwrap();
}

#[test]
fn empty_con_is_an_error_naming_the_file() {
    let (_tmp, dir) = example();
    let con = dir.join(CON_FILE);
    let lines = truncate_data(&con, 0);
    let e = build(&dir.join(NETWORK_PARAM_FILE)).unwrap_err();
    assert!(e.contains(&format!("{CON_FILE}:{lines}:")), "{e}");
    assert!(e.contains("connects 0 of the"), "{e}");
    assert!(e.contains(SYN_FILE), "{e}");
}

#[test]
fn truncated_con_is_an_error_naming_file_and_line() {
    let (_tmp, dir) = example();
    let con = dir.join(CON_FILE);
    let total = data_lines(&std::fs::read_to_string(&con).unwrap());
    assert!(total > 20, "{total}");
    let lines = truncate_data(&con, 20);
    let e = build(&dir.join(NETWORK_PARAM_FILE)).unwrap_err();
    // The first population that lost lines is reported at its last remaining line (or at the
    // end of the file if it lost all of them).
    assert!(e.contains(CON_FILE), "{e}");
    assert!(e.contains("has no line (truncated file"), "{e}");
    let at: usize = e
        .split(&format!("{CON_FILE}:"))
        .nth(1)
        .and_then(|s| s.split(':').next())
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no line in {e}"));
    assert!((1..=lines).contains(&at), "{e}");
}

#[test]
fn truncated_con_fails_simulate_before_any_trial() {
    let (tmp, dir) = example();
    truncate_data(&dir.join(CON_FILE), 20);
    let out = tmp.path().join("results");
    let o = isf(&[
        "simulate".as_ref(),
        dir.join("cell.param").as_os_str(),
        dir.join(NETWORK_PARAM_FILE).as_os_str(),
        "--out".as_ref(),
        out.as_os_str(),
    ]);
    assert!(!o.status.success());
    let e = stderr(&o);
    assert!(e.contains(CON_FILE) && e.contains("has no line"), "{e}");
    assert!(!out.exists(), "nothing may be written");
}

#[test]
fn missing_synapse_in_the_middle_names_the_syn_line() {
    let (_tmp, dir) = example();
    let con = dir.join(CON_FILE);
    let text = std::fs::read_to_string(&con).unwrap();
    // Drop the third data line.
    let mut n = 0;
    let mut dropped = String::new();
    let kept: Vec<&str> = text
        .lines()
        .filter(|l| {
            let data = !l.trim().is_empty() && !l.starts_with('#');
            if data {
                n += 1;
                if n == 3 {
                    dropped = l.to_string();
                    return false;
                }
            }
            true
        })
        .collect();
    std::fs::write(&con, kept.join("\n") + "\n").unwrap();
    let f: Vec<&str> = dropped.split_whitespace().collect();
    let e = build(&dir.join(NETWORK_PARAM_FILE)).unwrap_err();
    assert!(e.contains(&format!("`{}`", f[0])), "{e}");
    assert!(e.contains(&format!("synapse {} (", f[2])), "{e}");
    assert!(e.contains(&format!("{SYN_FILE}:")), "{e}");
}

#[test]
fn unknown_population_in_con_is_an_error() {
    let (_tmp, dir) = example();
    let con = dir.join(CON_FILE);
    let mut text = std::fs::read_to_string(&con).unwrap();
    let lines = text.lines().count();
    text.push_str("L5ttt_C2\t0\t0\n");
    std::fs::write(&con, text).unwrap();
    let e = build(&dir.join(NETWORK_PARAM_FILE)).unwrap_err();
    assert!(e.contains(&format!("{CON_FILE}:{}:", lines + 1)), "{e}");
    assert!(e.contains("unknown population `L5ttt_C2`"), "{e}");
}

#[test]
fn truncated_con_line_is_an_error() {
    let (_tmp, dir) = example();
    let con = dir.join(CON_FILE);
    let text = std::fs::read_to_string(&con).unwrap();
    // Cut the file in the middle of its last line (after the population and cell ID).
    let body = text.trim_end();
    let cut = body.rfind('\t').unwrap();
    std::fs::write(&con, &body[..cut]).unwrap();
    let lines = body.lines().count();
    let e = build(&dir.join(NETWORK_PARAM_FILE)).unwrap_err();
    assert!(e.contains(&format!("{CON_FILE}:{lines}:")), "{e}");
}

/// Replaces the first occurrence of `from` in the example's network param.
fn edit_network(dir: &Path, from: &str, to: &str) -> PathBuf {
    let p = dir.join(NETWORK_PARAM_FILE);
    let text = std::fs::read_to_string(&p).unwrap();
    assert!(text.contains(from), "{from} not in {}", p.display());
    std::fs::write(&p, text.replacen(from, to, 1)).unwrap();
    p
}

/// 1-based line of the first occurrence of `needle` in `text`.
fn line_of(text: &str, needle: &str) -> usize {
    text[..text.find(needle).expect("needle")]
        .matches('\n')
        .count()
        + 1
}

#[test]
fn unknown_receptor_parameter_names_file_line_and_population() {
    let (tmp, dir) = example();
    let net = dir.join(NETWORK_PARAM_FILE);
    let text = std::fs::read_to_string(&net).unwrap();
    let line = line_of(&text, "\"tau2\"");
    edit_network(&dir, "\"tau2\"", "\"tat2\"");
    let params = NetworkParams::read(&net).unwrap();
    let e = params.check_receptors().unwrap_err().to_string();
    assert!(e.contains(&format!("{NETWORK_PARAM_FILE}:{line}:")), "{e}");
    assert!(
        e.contains("mechanism `glutamate_syn` has no parameter `tat2`"),
        "{e}"
    );
    let pop = &params.populations[0].name;
    assert!(e.contains(&format!("population `{pop}`")), "{e}");
    assert!(
        e.contains(&format!(
            "network.{pop}.synapses.receptors.glutamate_syn.parameter.tat2"
        )),
        "{e}"
    );

    // The command fails before simulating anything.
    let out = tmp.path().join("results");
    let o = isf(&[
        "simulate".as_ref(),
        dir.join("cell.param").as_os_str(),
        net.as_os_str(),
        "--out".as_ref(),
        out.as_os_str(),
    ]);
    assert!(!o.status.success());
    let e = stderr(&o);
    assert!(
        e.contains(NETWORK_PARAM_FILE) && e.contains("`tat2`"),
        "{e}"
    );
    assert!(e.contains(&format!("population `{pop}`")), "{e}");
    assert!(!out.exists(), "nothing may be written");
}

#[test]
fn unknown_receptor_mechanism_names_file_and_population() {
    let (_tmp, dir) = example();
    let net = dir.join(NETWORK_PARAM_FILE);
    let text = std::fs::read_to_string(&net).unwrap();
    let line = line_of(&text, "\"glutamate_syn\"");
    edit_network(&dir, "\"glutamate_syn\"", "\"glutamate_sin\"");
    let params = NetworkParams::read(&net).unwrap();
    let e = params.check_receptors().unwrap_err().to_string();
    assert!(e.contains(&format!("{NETWORK_PARAM_FILE}:{line}:")), "{e}");
    assert!(e.contains("unknown mechanism `glutamate_sin`"), "{e}");
    let pop = &params.populations[0].name;
    assert!(e.contains(&format!("population `{pop}`")), "{e}");
}

#[test]
fn huge_cell_nr_is_refused_before_allocating() {
    let (_tmp, dir) = example();
    let net = dir.join(NETWORK_PARAM_FILE);
    let text = std::fs::read_to_string(&net).unwrap();
    let line = line_of(&text, "\"cellNr\"");
    let pop = NetworkParams::read(&net).unwrap().populations[0]
        .name
        .clone();
    let n = NetworkParams::read(&net).unwrap().populations[0].cell_nr;
    edit_network(
        &dir,
        &format!("\"cellNr\": {n},"),
        "\"cellNr\": 4294967296,",
    );
    let e = NetworkParams::read(&net).unwrap_err().to_string();
    assert!(e.contains(&format!("{NETWORK_PARAM_FILE}:{line}:")), "{e}");
    assert!(e.contains(&format!("network.{pop}.cellNr")), "{e}");
    assert!(e.contains("more than the limit"), "{e}");
}

#[test]
fn huge_spike_counts_are_refused() {
    let (_tmp, dir) = example();
    let net = edit_network(
        &dir,
        "\"interval\": 400.0",
        "\"interval\": 400.0, \"noise\": 1.0, \"nspikes\": 1000000000000",
    );
    let e = NetworkParams::read(&net)
        .map_err(|e| e.to_string())
        .and_then(|p| NetworkModel::from_params(&p, 100.0).map_err(|e| e.to_string()))
        .unwrap_err();
    assert!(e.contains(NETWORK_PARAM_FILE), "{e}");
    assert!(e.contains("spiketrain.nspikes"), "{e}");
    assert!(e.contains("more than the limit"), "{e}");
}

/// 5e6 spikes per cell stay under the per-cell limit, but 150 cells would need 12 GB.
#[test]
fn runaway_activity_is_an_error_not_an_allocation() {
    let (_tmp, dir) = example();
    let net = edit_network(&dir, "\"interval\": 400.0", "\"interval\": 2e-5");
    let pop = NetworkParams::read(&net).unwrap().populations[0]
        .name
        .clone();
    let model = build(&net).unwrap();
    let e = model
        .draw_trial(
            &mut isf::network::RandomState::new(1),
            &mut isf::network::TrialScratch::default(),
        )
        .unwrap_err()
        .to_string();
    assert!(e.contains(NETWORK_PARAM_FILE), "{e}");
    assert!(e.contains(&format!("population `{pop}`")), "{e}");
    assert!(e.contains("spikes in one trial"), "{e}");
}

/// `isf replay` of the example model with `synapses` as the activation file.
fn replay(tmp: &Path, dir: &Path, synapses: &str) -> (Output, PathBuf) {
    let syn = tmp.join("synapses.csv");
    std::fs::write(&syn, synapses).unwrap();
    let out = tmp.join("replayed");
    let o = isf(&[
        "replay".as_ref(),
        dir.join("cell.param").as_os_str(),
        dir.join(NETWORK_PARAM_FILE).as_os_str(),
        syn.as_os_str(),
        "--tstop".as_ref(),
        "5".as_ref(),
        "--out".as_ref(),
        out.as_os_str(),
    ]);
    (o, out)
}

#[test]
fn empty_or_cut_synapse_activation_file_is_refused_by_replay() {
    use isf::output::isf_files::SYNAPSE_ACTIVATION_HEADER;
    let (tmp, dir) = example();
    let pop = NetworkParams::read(&dir.join(NETWORK_PARAM_FILE))
        .unwrap()
        .populations[0]
        .name
        .clone();
    let row = format!("{pop}\t0\t10.0\t1\t0\tDendrite\t1.5,2.5,\n");
    // The row replays (the check below is not vacuous).
    let (o, out) = replay(
        tmp.path(),
        &dir,
        &format!("{SYNAPSE_ACTIVATION_HEADER}\n{row}"),
    );
    assert!(o.status.success(), "{}", stderr(&o));
    std::fs::remove_dir_all(&out).unwrap();

    let cases = [
        (String::new(), "synapses.csv:1: empty file"),
        (
            format!("{SYNAPSE_ACTIVATION_HEADER}\n"),
            "nothing to replay",
        ),
        (
            format!("{SYNAPSE_ACTIVATION_HEADER}\n{}", &row[..row.len() - 3]),
            "synapses.csv:2: the file ends in the middle of this line",
        ),
        (
            format!(
                "{SYNAPSE_ACTIVATION_HEADER}\n{}",
                row.replace("Dendrite", "Dendr")
            ),
            "synapses.csv:2: dendrite label `Dendr` but section 1 of the cell is `Dendrite`",
        ),
    ];
    for (text, want) in cases {
        let (o, out) = replay(tmp.path(), &dir, &text);
        let e = stderr(&o);
        assert_eq!(o.status.code(), Some(1), "{text:?}: {e}");
        assert!(e.contains(want), "{text:?}: {e}");
        assert!(!out.exists(), "{text:?}: nothing may be written");
    }
}

/// `isf db init-isf` reads the same format through isf-post's importer.
#[test]
fn empty_synapse_activation_file_is_refused_by_db_init_isf() {
    let Some(trial) =
        isf::testing::shared_path(&format!("{}/isf_output", isf::testing::REFERENCE_TRIAL_DIR))
    else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let copy = tmp.path().join("isf_output");
    std::fs::create_dir(&copy).unwrap();
    for e in std::fs::read_dir(&trial).unwrap() {
        let e = e.unwrap();
        if e.path().is_file() {
            std::fs::copy(e.path(), copy.join(e.file_name())).unwrap();
        }
    }
    let syn = copy.join("simulation_run0000_synapses.csv");
    assert!(syn.is_file());
    std::fs::write(&syn, "").unwrap();
    let db = tmp.path().join("db");
    let o = isf(&[
        "db".as_ref(),
        "init-isf".as_ref(),
        copy.as_os_str(),
        db.as_os_str(),
    ]);
    let e = stderr(&o);
    assert!(!o.status.success(), "{e}");
    assert!(
        e.contains("simulation_run0000_synapses.csv:1") && e.contains("empty file"),
        "{e}"
    );
    assert!(!db.exists());
}

/// A one-type ongoing template and a `NumberOfConnectedCells.csv` with `rows`, in `dir`.
fn network_param_inputs(dir: &Path, rows: &str) -> (PathBuf, PathBuf) {
    let template = dir.join("ongoing.param");
    std::fs::write(
        &template,
        "{\"network\": {\"L5tt\": {\"celltype\": \"spiketrain\", \"interval\": 100.0,\n\
         \"synapses\": {\"receptors\": {\"glutamate_syn\": {\"threshold\": 0.0, \"delay\": 0.0,\n\
         \"weight\": [1.0, 1.0]}}}}}}\n",
    )
    .unwrap();
    let numbers = dir.join("NumberOfConnectedCells.csv");
    std::fs::write(
        &numbers,
        format!("Presynaptic column\tPresynaptic cell type\tConnected presynaptic cells\n{rows}"),
    )
    .unwrap();
    (template, numbers)
}

fn network_param(template: &Path, numbers: &Path, out: &Path, extra: &[&str]) -> Output {
    let mut args: Vec<&std::ffi::OsStr> = vec![
        "network-param".as_ref(),
        "--template".as_ref(),
        template.as_os_str(),
        "--cell-numbers".as_ref(),
        numbers.as_os_str(),
        "--syn".as_ref(),
        "a.syn".as_ref(),
        "--con".as_ref(),
        "a.con".as_ref(),
        "--out".as_ref(),
        out.as_os_str(),
    ];
    args.extend(extra.iter().map(|s| std::ffi::OsStr::new(*s)));
    isf(&args)
}

#[test]
fn network_param_whisker_needs_evoked_templates() {
    let tmp = tempfile::tempdir().unwrap();
    let (template, numbers) = network_param_inputs(tmp.path(), "C2\tL5tt\t3\n");
    let out = tmp.path().join("network.param");
    // The ongoing network is fine (the refusals below are not vacuous).
    let o = network_param(&template, &numbers, &out, &[]);
    assert!(o.status.success(), "{}", stderr(&o));
    std::fs::remove_file(&out).unwrap();

    let o = network_param(&template, &numbers, &out, &["--whisker", "C2"]);
    let e = stderr(&o);
    assert_eq!(o.status.code(), Some(1), "{e}");
    assert!(
        e.contains("--whisker C2") && e.contains("--evoked-dir"),
        "{e}"
    );
    assert!(!out.exists());

    // A folder without any of ISF's evoked templates is refused too.
    let empty = tmp.path().join("evoked_activity");
    std::fs::create_dir(&empty).unwrap();
    let o = network_param(
        &template,
        &numbers,
        &out,
        &["--whisker", "C2", "--evoked-dir", empty.to_str().unwrap()],
    );
    let e = stderr(&o);
    assert_eq!(o.status.code(), Some(1), "{e}");
    assert!(e.contains("no evoked template for any cell type"), "{e}");
    assert!(!out.exists());
}

#[test]
fn network_param_cell_numbers_are_checked() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("network.param");
    for (rows, want) in [
        (
            "C2\tL5tt\t4294967296\n",
            "NumberOfConnectedCells.csv:2: 4294967296 cells of `L5tt` in column `C2` is more than the limit",
        ),
        (
            "C2\tL5tt\t3\nC2\tL5tt\t4\n",
            "NumberOfConnectedCells.csv:3: `L5tt` in column `C2` is listed twice",
        ),
        (
            "C2\tL5tt\t-3\n",
            "NumberOfConnectedCells.csv:2: `-3` is not a cell count",
        ),
    ] {
        let (template, numbers) = network_param_inputs(tmp.path(), rows);
        let o = network_param(&template, &numbers, &out, &[]);
        let e = stderr(&o);
        assert_eq!(o.status.code(), Some(1), "{rows:?}: {e}");
        assert!(e.contains(want), "{rows:?}: {e}");
        assert!(!out.exists());
    }
}

#[test]
fn lognormal_weights_that_would_overflow_are_refused() {
    let (_tmp, dir) = example();
    edit_network(
        &dir,
        "\"threshold\": 0.0,",
        "\"threshold\": 0.0, \"weightDistribution\": \"lognormal\",",
    );
    let net = dir.join(NETWORK_PARAM_FILE);
    // Lognormal weights with the shipped means are fine.
    build(&net).unwrap();
    edit_network(&dir, "1.9,", "1e100,");
    let pop = NetworkParams::read(&net).unwrap().populations[0]
        .name
        .clone();
    let e = build(&net).unwrap_err();
    assert!(e.contains(NETWORK_PARAM_FILE), "{e}");
    assert!(
        e.contains(&format!(
            "network.{pop}.synapses.receptors.glutamate_syn.weight"
        )),
        "{e}"
    );
    assert!(e.contains("below 1e76"), "{e}");
}

#[test]
fn network_param_template_receptors_are_checked() {
    let tmp = tempfile::tempdir().unwrap();
    let (template, numbers) = network_param_inputs(tmp.path(), "C2\tL5tt\t3\n");
    let text = std::fs::read_to_string(&template).unwrap();
    std::fs::write(
        &template,
        text.replace(
            "\"weight\": [1.0, 1.0]",
            "\"weight\": [1.0, 1.0], \"parameter\": {\"tat2\": 2.0}",
        ),
    )
    .unwrap();
    let out = tmp.path().join("network.param");
    let o = network_param(&template, &numbers, &out, &[]);
    let e = stderr(&o);
    assert_eq!(o.status.code(), Some(1), "{e}");
    assert!(e.contains("ongoing.param:3:"), "{e}");
    assert!(
        e.contains("population `L5tt`: mechanism `glutamate_syn` has no parameter `tat2`"),
        "{e}"
    );
    assert!(!out.exists());
}

#[test]
fn network_param_activity_templates_are_checked() {
    let tmp = tempfile::tempdir().unwrap();
    let (template, numbers) = network_param_inputs(tmp.path(), "C2\tL5tt\t3\n");
    let out = tmp.path().join("network.param");
    let evoked = tmp.path().join("L5tt_evoked.param");
    let psth = |probabilities: &str| {
        format!(
            "{{\"L5tt_C2\": {{\"distribution\": \"PSTH\", \"intervals\": [(10.0, 20.0)],\n\
             \"probabilities\": {probabilities}}}}}\n"
        )
    };
    let evoked_arg = format!("L5tt={}", evoked.display());
    let args = ["--whisker", "C2", "--evoked", evoked_arg.as_str()];
    std::fs::write(&evoked, psth("[0.5]")).unwrap();
    let o = network_param(&template, &numbers, &out, &args);
    assert!(o.status.success(), "{}", stderr(&o));
    std::fs::remove_file(&out).unwrap();

    // Two probabilities for one interval: refused with the evoked template's file, line, key.
    std::fs::write(&evoked, psth("[0.5, 0.2]")).unwrap();
    let o = network_param(&template, &numbers, &out, &args);
    let e = stderr(&o);
    assert_eq!(o.status.code(), Some(1), "{e}");
    assert!(e.contains("L5tt_evoked.param:2:"), "{e}");
    assert!(e.contains("L5tt_C2.probabilities"), "{e}");
    assert!(e.contains("lengths must match"), "{e}");
    assert!(!out.exists());

    // A negative interval in the ongoing template.
    std::fs::write(&evoked, psth("[0.5]")).unwrap();
    let text = std::fs::read_to_string(&template).unwrap();
    std::fs::write(
        &template,
        text.replace("\"interval\": 100.0", "\"interval\": -100.0"),
    )
    .unwrap();
    let o = network_param(&template, &numbers, &out, &[]);
    let e = stderr(&o);
    assert_eq!(o.status.code(), Some(1), "{e}");
    assert!(e.contains("ongoing.param:1:"), "{e}");
    assert!(e.contains("network.L5tt.interval"), "{e}");
    assert!(!out.exists());
}
