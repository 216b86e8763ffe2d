use std::path::{Path, PathBuf};

use super::*;
use crate::testing::shared_path;

const RUN: &str = "reference/neuron-9.0.2/network_trial_seed1234/isf_output";

fn reference(name: &str) -> Option<PathBuf> {
    shared_path(&format!("{RUN}/{name}"))
}

fn bytes_of(f: impl FnOnce(&mut Vec<u8>) -> std::io::Result<()>) -> Vec<u8> {
    let mut v = Vec::new();
    f(&mut v).unwrap();
    v
}

/// Compares line by line first, so a failure shows the first differing line.
fn assert_same_text(ours: &[u8], theirs: &[u8], what: &str) {
    let a = String::from_utf8_lossy(ours);
    let b = String::from_utf8_lossy(theirs);
    for (i, (x, y)) in a.split('\n').zip(b.split('\n')).enumerate() {
        assert_eq!(x, y, "{what}: line {} differs", i + 1);
    }
    assert_eq!(ours.len(), theirs.len(), "{what}: lengths differ");
    assert!(ours == theirs, "{what}: bytes differ");
}

#[test]
fn synapse_activation_file_round_trips_byte_for_byte() {
    let Some(p) = reference("simulation_run0000_synapses.csv") else {
        return;
    };
    let original = std::fs::read(&p).unwrap();
    let first_line = original.split(|&b| b == b'\n').next().unwrap();
    assert_eq!(first_line, SYNAPSE_ACTIVATION_HEADER.as_bytes());
    let rows = read_synapse_activation_file(&p).unwrap();
    // Counts stated in the reference README.
    assert_eq!(rows.len(), 3867);
    assert_eq!(rows.iter().map(|r| r.times_ms.len()).sum::<usize>(), 4624);
    let r = &rows[0];
    assert_eq!(
        (
            r.population.as_str(),
            r.synapse_id,
            r.section_id,
            r.section_pt_id
        ),
        ("L1_B1", 3, 46, 19)
    );
    assert_eq!(r.dendrite_label, "ApicalDendrite");
    assert_eq!(r.soma_distance_um, 1441.8028983687836);
    assert_eq!(r.times_ms, vec![276.4396619332621]);
    // The file is already in ISF order; sorting must not change it.
    let mut sorted = rows.clone();
    sort_synapse_rows(&mut sorted);
    assert_eq!(sorted, rows);
    let ours = bytes_of(|w| write_synapse_activations(w, &rows));
    assert_same_text(&ours, &original, "synapse activation file");

    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join(synapse_activation_file_name(0));
    write_synapse_activation_file(&out, &rows).unwrap();
    assert_eq!(std::fs::read(&out).unwrap(), original);
    assert_eq!(out.file_name().unwrap(), p.file_name().unwrap());
}

#[test]
fn presynaptic_cells_file_round_trips_byte_for_byte() {
    let Some(p) = reference("simulation_run0000_presynaptic_cells.csv") else {
        return;
    };
    let original = std::fs::read(&p).unwrap();
    let first_line = original.split(|&b| b == b'\n').next().unwrap();
    assert_eq!(first_line, PRESYNAPTIC_CELLS_HEADER.as_bytes());
    let rows = read_presynaptic_cells_file(&p).unwrap();
    assert_eq!(rows.len(), 6456);
    assert_eq!(rows.iter().map(|r| r.times_ms.len()).sum::<usize>(), 11213);
    let mut sorted = rows.clone();
    sort_presynaptic_rows(&mut sorted);
    assert_eq!(sorted, rows);
    let ours = bytes_of(|w| write_presynaptic_cells(w, &rows));
    assert_same_text(&ours, &original, "presynaptic cells file");
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join(presynaptic_cells_file_name(0));
    write_presynaptic_cells_file(&out, &rows).unwrap();
    assert_eq!(std::fs::read(&out).unwrap(), original);
    assert_eq!(out.file_name().unwrap(), p.file_name().unwrap());
}

#[test]
fn trace_files_round_trip_byte_for_byte() {
    let Some(dir) = shared_path(RUN) else { return };
    let mut n = 0;
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if !p.to_string_lossy().ends_with("_traces.csv") {
            continue;
        }
        let original = std::fs::read(&p).unwrap();
        let table = TraceTable::read(&p).unwrap();
        assert_eq!(table.header, trace_header(1));
        // README: 12002 samples from t = 0 to t = 300.025 (accumulated round-off included).
        assert_eq!(table.t_ms().len(), 12002);
        assert_eq!(table.t_ms()[0], 0.0);
        assert_eq!(table.t_ms()[1], 0.025);
        assert_eq!(table.runs_mv()[0][0], -75.0);
        let ours = bytes_of(|w| table.write(w));
        assert_same_text(&ours, &original, &p.display().to_string());
        let runs: Vec<&[f64]> = table.runs_mv().iter().map(Vec::as_slice).collect();
        let ours = bytes_of(|w| write_traces(w, table.t_ms(), &runs));
        assert!(ours == original);
        let tmp = tempfile::tempdir().unwrap();
        let out = tmp.path().join("x_vm_all_traces.csv");
        write_trace_file(&out, table.t_ms(), &runs).unwrap();
        assert!(std::fs::read(&out).unwrap() == original);
        n += 1;
    }
    assert_eq!(n, 2);
}

#[test]
fn python2_synapse_files_round_trip() {
    // The 2015 example was written by Python 2 (`str` = 12 significant digits); its numbers are
    // still the shortest representations of the doubles they denote, so they round-trip too.
    let Some(dir) = shared_path("isf-example/simulation_2015") else {
        return;
    };
    let mut n = 0;
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if !p.to_string_lossy().ends_with("_synapses.csv") {
            continue;
        }
        let original = std::fs::read(&p).unwrap();
        let rows = read_synapse_activation_file(&p).unwrap();
        assert!(!rows.is_empty());
        let ours = bytes_of(|w| write_synapse_activations(w, &rows));
        assert_same_text(&ours, &original, &p.display().to_string());
        n += 1;
    }
    assert!(n > 0);
}

#[test]
fn multi_run_traces_layout() {
    let t = [0.0, 0.025, 0.05];
    let a = [-75.0, -75.01710476555157, -74.5];
    let b = [-75.0, 1e-05, f64::NAN];
    let text = String::from_utf8(bytes_of(|w| write_traces(w, &t, &[&a, &b]))).unwrap();
    assert_eq!(
        text,
        "t\tVm run 00\tVm run 01\n0.0\t-75.0\t-75.0\n0.025\t-75.01710476555157\t1e-05\n0.05\t-74.5\tnan\n"
    );
    let back = TraceTable::parse(&text, Path::new("x.csv")).unwrap();
    assert_eq!(back.runs_mv()[0], a);
    assert!(back.runs_mv()[1][2].is_nan());
    let header = trace_header(101);
    assert_eq!(header[1], "Vm run 00");
    assert_eq!(header[101], "Vm run 100");
    let e = write_traces(&mut Vec::new(), &t, &[&a[..2]]).unwrap_err();
    assert!(e.to_string().contains("run 0 has 2 samples"), "{e}");
}

#[test]
fn synapse_writer_layout_and_sorting() {
    let row = |pop: &str, id: usize, times: Vec<f64>| SynapseActivationRow {
        population: pop.into(),
        synapse_id: id,
        soma_distance_um: 100.0,
        section_id: 3,
        section_pt_id: 0,
        dendrite_label: "Dendrite".into(),
        times_ms: times,
    };
    // Python orders strings by code point: uppercase before lowercase, `_` (0x5f) between.
    let mut rows = vec![
        row("L5tt_C2", 10, vec![1.5]),
        row("L5tt_C2", 2, vec![0.1, 0.2]),
        row("L5_C2", 1, vec![3.0]),
        row("l1", 0, vec![]),
    ];
    sort_synapse_rows(&mut rows);
    let text = String::from_utf8(bytes_of(|w| write_synapse_activations(w, &rows))).unwrap();
    let want = format!(
        "{SYNAPSE_ACTIVATION_HEADER}\nL5_C2\t1\t100.0\t3\t0\tDendrite\t3.0,\nL5tt_C2\t2\t100.0\t3\t0\tDendrite\t0.1,0.2,\nL5tt_C2\t10\t100.0\t3\t0\tDendrite\t1.5,\nl1\t0\t100.0\t3\t0\tDendrite\t\n"
    );
    assert_eq!(text, want);
    assert_eq!(
        parse_synapse_activations(&text, Path::new("s.csv")).unwrap(),
        rows
    );
    let bad = vec![row("L5\ttt", 0, vec![1.0])];
    assert!(write_synapse_activations(&mut Vec::new(), &bad).is_err());

    let mut cells = vec![
        PresynapticCellRow {
            population: "VPM_C2".into(),
            cell_id: 7,
            times_ms: vec![10.0],
        },
        PresynapticCellRow {
            population: "L1_B1".into(),
            cell_id: 6,
            times_ms: vec![174.863960609, 281.277497845],
        },
    ];
    sort_presynaptic_rows(&mut cells);
    let text = String::from_utf8(bytes_of(|w| write_presynaptic_cells(w, &cells))).unwrap();
    assert_eq!(
        text,
        format!("{PRESYNAPTIC_CELLS_HEADER}\nL1_B1\t6\t174.863960609,281.277497845,\nVPM_C2\t7\t10.0,\n")
    );
    assert_eq!(
        parse_presynaptic_cells(&text, Path::new("p.csv")).unwrap(),
        cells
    );
}

fn syn_err(body: &str) -> String {
    let text = format!(
        "{SYNAPSE_ACTIVATION_HEADER}\nL1_B1\t3\t1441.8\t46\t19\tApicalDendrite\t276.4,\n{body}\n"
    );
    match parse_synapse_activations(&text, Path::new("/r/s.csv")) {
        Ok(r) => panic!("expected an error for {body:?}, got {r:?}"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn reader_errors_name_file_and_line() {
    let e = syn_err("L1_B1\t4\t1469.2\t73\t24\tApicalDendrite\tnan,");
    assert!(e.starts_with("/r/s.csv:3: time is not finite"), "{e}");
    let e = syn_err("L1_B1\t4\t1469.2\t73\t24\tApicalDendrite\t1.0,abc,");
    assert!(
        e.starts_with("/r/s.csv:3: time is not a number: \"abc\""),
        "{e}"
    );
    let e = syn_err("L1_B1\t4\t1469.2\t73\t24\tApicalDendrite\t1.0,,2.0,");
    assert!(e.starts_with("/r/s.csv:3: time is not a number"), "{e}");
    let e = syn_err("L1_B1\t4\t1469.2\t73\t24");
    assert!(
        e.starts_with("/r/s.csv:3: expected 7 TAB-separated fields"),
        "{e}"
    );
    let e = syn_err("L1_B1 4 1469.2 73 24 ApicalDendrite 1.0,");
    assert!(e.contains("found 1"), "{e}");
    let e = syn_err("L1_B1\t-4\t1469.2\t73\t24\tApicalDendrite\t1.0,");
    assert!(
        e.starts_with("/r/s.csv:3: synapse ID is not a non-negative integer"),
        "{e}"
    );
    let e = syn_err("L1_B1\t4\tfar\t73\t24\tApicalDendrite\t1.0,");
    assert!(e.contains("soma distance is not a number"), "{e}");
    let e = syn_err("\n\nL1_B1\t4\t1.0\t73\t2.5\tApicalDendrite\t1.0,");
    assert!(e.starts_with("/r/s.csv:5: section pt ID"), "{e}");

    let e = parse_presynaptic_cells("# h\nL1\t1\tinf,\n", Path::new("p.csv"))
        .unwrap_err()
        .to_string();
    assert!(e.starts_with("p.csv:2: time is not finite"), "{e}");
    let e = parse_presynaptic_cells("L1\t1\n", Path::new("p.csv"))
        .unwrap_err()
        .to_string();
    assert!(
        e.starts_with("p.csv:1: expected 3 TAB-separated fields"),
        "{e}"
    );

    // Empty files and files cut in the middle of a row (no line end, no `,` after the last
    // time) are errors; a header-only file is a trial without activations.
    for text in ["", "\n \n"] {
        let e = parse_synapse_activations(text, Path::new("s.csv")).unwrap_err();
        assert!(e.to_string().starts_with("s.csv:1: empty file"), "{e}");
        let e = parse_presynaptic_cells(text, Path::new("p.csv")).unwrap_err();
        assert!(e.to_string().starts_with("p.csv:1: empty file"), "{e}");
    }
    let full = format!(
        "{SYNAPSE_ACTIVATION_HEADER}\nL1_B1\t3\t1441.8\t46\t19\tApicalDendrite\t276.4,12.25,\n"
    );
    let cut = &full[..full.len() - 4];
    let e = parse_synapse_activations(cut, Path::new("s.csv")).unwrap_err();
    assert!(
        e.to_string()
            .starts_with("s.csv:2: the file ends in the middle"),
        "{e}"
    );
    assert_eq!(
        parse_synapse_activations(&full[..full.len() - 1], Path::new("s.csv"))
            .unwrap()
            .len(),
        1
    );
    let header_only = format!("{SYNAPSE_ACTIVATION_HEADER}\n");
    assert!(parse_synapse_activations(&header_only, Path::new("s.csv"))
        .unwrap()
        .is_empty());

    let e = TraceTable::parse("t\tVm run 00\n0.0\t-75.0\n0.025\n", Path::new("v.csv"))
        .unwrap_err()
        .to_string();
    assert_eq!(e, "v.csv:3: 1 fields, but the header has 2");
    let e = TraceTable::parse("t\tVm run 00\nnan\t-75.0\n", Path::new("v.csv"))
        .unwrap_err()
        .to_string();
    assert!(e.starts_with("v.csv:2: time is not finite"), "{e}");
    let e = TraceTable::parse("t\tVm run 00\n0.0\tx\n", Path::new("v.csv"))
        .unwrap_err()
        .to_string();
    assert!(e.starts_with("v.csv:2: column 2 is not a number"), "{e}");
    let e = TraceTable::parse("", Path::new("v.csv"))
        .unwrap_err()
        .to_string();
    assert!(e.contains("empty trace file"), "{e}");
    let e = TraceTable::parse("time\tV\n", Path::new("v.csv"))
        .unwrap_err()
        .to_string();
    assert!(e.contains("header starting with `t`"), "{e}");
    let e = read_synapse_activation_file(Path::new("/nonexistent/s.csv"))
        .unwrap_err()
        .to_string();
    assert!(e.starts_with("/nonexistent/s.csv: cannot read"), "{e}");
}

#[test]
fn block_trace_writer_equals_the_whole_trace_writer_for_any_block_size() {
    let dir = tempfile::tempdir().unwrap();
    let t: Vec<f64> = (0..7).map(|i| f64::from(i) * 0.025).collect();
    // Three runs of f32 values that are not exact decimals (their f64 repr has many digits).
    let runs: Vec<Vec<f32>> = (0..3)
        .map(|r| (0..7).map(|i| -65.0 + (r * 7 + i) as f32 / 3.0).collect())
        .collect();
    let wide: Vec<Vec<f64>> = runs
        .iter()
        .map(|r| r.iter().map(|&x| f64::from(x)).collect())
        .collect();
    let whole = dir.path().join("whole.csv");
    let slices: Vec<&[f64]> = wide.iter().map(Vec::as_slice).collect();
    write_trace_file(&whole, &t, &slices).unwrap();
    for block in [1, 3, 7, 100] {
        let p = dir.path().join(format!("b{block}.csv"));
        let mut calls = 0;
        write_trace_file_f32_blocks(&p, &t, 3, block, |s, out| {
            calls += 1;
            for (r, run) in out.chunks_exact_mut(s.len()).enumerate() {
                run.copy_from_slice(&runs[r][s.clone()]);
            }
            Ok(())
        })
        .unwrap();
        assert_eq!(calls, 7usize.div_ceil(block), "block {block}");
        assert_same_text(
            &std::fs::read(&p).unwrap(),
            &std::fs::read(&whole).unwrap(),
            &format!("block {block}"),
        );
    }
    // Read back: the f32 values exactly.
    let back = TraceTable::read(&whole).unwrap();
    for (r, run) in back.runs_mv().iter().enumerate() {
        let f: Vec<f32> = run.iter().map(|&x| x as f32).collect();
        assert_eq!(f, runs[r]);
        assert!(run.iter().zip(&wide[r]).all(|(a, b)| a == b));
    }
}
