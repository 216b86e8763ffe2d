//! The input mapper on the synthetic barrel-cortex fixture (`barrel-cortex-fixture/`), against
//! an independent numpy oracle of the spec's formulas (`tests/mapper_oracle.py`), against
//! statistics of many seeded realizations, and against ISF's own output on the same inputs.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use isf::mapper::embedding::Embedding;
use isf::mapper::grid::{CellGeometry, Structure};
use isf::mapper::model::{CellClasses, ModelPaths};
use isf::mapper::realize::realize_many;
use isf::mapper::summary::RealizationSummary;
use isf::mapper::{map_inputs, MapOptions};
use isf::testing::shared_path;

fn fixture() -> Option<PathBuf> {
    shared_path("barrel-cortex-fixture")
}

fn embedding(fx: &Path) -> Embedding {
    let hoc = fx.join("cell.hoc");
    let m = isf::morphology::read_hoc(&hoc).unwrap();
    let cell = CellGeometry::from_morphology("cell", &m).unwrap();
    Embedding::from_model(
        cell,
        "L5tt",
        &ModelPaths::under(&fx.join("model")),
        &CellClasses::default(),
    )
    .unwrap()
}

fn oracle(fx: &Path) -> serde_json::Value {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/mapper_oracle.py");
    let out = Command::new("python3")
        .arg(script)
        .arg(fx.join("model"))
        .arg(fx.join("cell.hoc"))
        .arg("L5tt")
        .output()
        .expect("python3 runs");
    assert!(
        out.status.success(),
        "oracle failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

fn close(a: f64, b: f64, rel: f64) -> bool {
    (a - b).abs() <= rel * (1.0 + a.abs().max(b.abs()))
}

fn structure_name(s: Structure) -> &'static str {
    match s {
        Structure::Soma => "Soma",
        Structure::Dendrite => "Dendrite",
        Structure::ApicalDendrite => "ApicalDendrite",
    }
}

#[test]
fn deterministic_quantities_match_the_oracle() {
    let Some(fx) = fixture() else { return };
    let emb = embedding(&fx);
    let o = oracle(&fx);
    let g = &emb.raster.grid;
    let origin: Vec<f64> = serde_json::from_value(o["grid_origin"].clone()).unwrap();
    let dims: Vec<usize> = serde_json::from_value(o["grid_dims"].clone()).unwrap();
    assert_eq!(g.origin_um.to_vec(), origin);
    assert_eq!(g.dims.to_vec(), dims);
    // Hand check of the grid: the cell spans x −190…175, y −150…120, z −170…345 (gen_hoc.py);
    // the EX field's cropped corner is −250 µm with 50 µm voxels, so the overlapping voxels
    // start at −200 on every axis ([−200, −150] touches y = −150 at a face, docs/mapper.md#cell-grid).
    assert_eq!(g.origin_um, [-200.0, -200.0, -200.0]);
    for (slot, &s) in emb.cell.structures.iter().enumerate() {
        let name = structure_name(s);
        for (what, mine, theirs) in [
            ("length", &emb.raster.length_um[slot], &o["length"][name]),
            ("area", &emb.raster.area_um2[slot], &o["area"][name]),
            ("pst_exc", &emb.pst.excitatory[slot], &o["pst_exc"][name]),
            ("pst_inh", &emb.pst.inhibitory[slot], &o["pst_inh"][name]),
        ] {
            let theirs: Vec<f64> = serde_json::from_value(theirs.clone()).unwrap();
            assert_eq!(mine.len(), theirs.len());
            for (v, (a, b)) in mine.iter().zip(&theirs).enumerate() {
                assert!(close(*a, *b, 1e-9), "{what} {name} voxel {v}: {a} vs {b}");
            }
        }
    }
    // Total soma length: 8 segments of 2 µm along x (gen_hoc.py) = 16 µm.
    let soma = emb.cell.structure_slot(Structure::Soma).unwrap();
    assert!((emb.raster.length_um[soma].iter().sum::<f64>() - 16.0).abs() < 1e-9);
    // λ per bouton file.
    let files = o["files"].as_object().unwrap();
    assert_eq!(files.len(), emb.files.len());
    for (path, d) in emb.files.iter().zip(&emb.densities) {
        let theirs = &files[path.to_str().unwrap()];
        match (d, theirs.is_null()) {
            (None, true) => {}
            (Some(d), false) => {
                let t = theirs["total"].as_f64().unwrap();
                let ta = theirs["total_including_lost"].as_f64().unwrap();
                assert!(
                    close(d.total, t, 1e-9),
                    "{}: {} vs {t}",
                    path.display(),
                    d.total
                );
                assert!(
                    close(d.total_including_lost, ta, 1e-9),
                    "{}",
                    path.display()
                );
            }
            _ => panic!("{}: None-ness differs", path.display()),
        }
    }
    // The far-away file (C3/L2 axon1) has no density; the face-touching one (C1/L4sp axon1)
    // has one, with Λ = 0 (docs/mapper.md#synthetic-test-model).
    let find = |n: &str| emb.files.iter().position(|p| p.ends_with(n)).unwrap();
    assert!(emb.densities[find("C3/L2/C3_L2_axon1.am")].is_none());
    let touch = emb.densities[find("C1/L4sp/C1_L4sp_axon1.am")]
        .as_ref()
        .unwrap();
    assert_eq!(touch.total, 0.0);
    // Expected synapses and connected cells per (column, type).
    let blocks = o["blocks"].as_object().unwrap();
    for b in 0..emb.blocks.len() {
        let label = emb.label(b);
        let e = blocks[&label]["expected_synapses"].as_f64().unwrap();
        let c = blocks[&label]["expected_connected"].as_f64().unwrap();
        assert!(close(emb.expected_synapses(b), e, 1e-9), "{label}");
        assert!(close(emb.expected_connected(b), c, 1e-9), "{label}");
    }
}

/// Variance of a block's synapse count: each cell draws a file f then Poisson(Λ_f), so the
/// per-cell variance is E[Λ] + Var(Λ) over the files.
fn block_variance(emb: &Embedding, b: usize) -> f64 {
    let blk = &emb.blocks[b];
    if blk.files.is_empty() {
        return 0.0;
    }
    let l: Vec<f64> = blk
        .files
        .iter()
        .map(|&f| emb.densities[f as usize].as_ref().map_or(0.0, |d| d.total))
        .collect();
    let m = l.iter().sum::<f64>() / l.len() as f64;
    let var = l.iter().map(|x| (x - m).powi(2)).sum::<f64>() / l.len() as f64;
    blk.n_cells as f64 * (m + var)
}

#[test]
fn realization_means_match_expectations_and_isf_lies_within_our_spread() {
    let Some(fx) = fixture() else { return };
    let emb = embedding(&fx);
    let r = 400;
    let all = realize_many(&emb, 12345, r);
    let sums: Vec<RealizationSummary> = all
        .iter()
        .map(|s| RealizationSummary::new(&emb, s))
        .collect();
    // Mean per (column, type) within 5 standard errors of the expectation (false-alarm rate
    // per block ≈ 6e-7; 66 blocks).
    for b in 0..emb.blocks.len() {
        let mean = sums
            .iter()
            .map(|s| s.per_block[b].n_syn as f64)
            .sum::<f64>()
            / r as f64;
        let e = emb.expected_synapses(b);
        let se = (block_variance(&emb, b) / r as f64).sqrt();
        assert!(
            (mean - e).abs() <= 5.0 * se + 1e-12,
            "{}: mean {mean} vs expected {e} (se {se})",
            emb.label(b)
        );
        let conn = sums
            .iter()
            .map(|s| s.per_block[b].n_connected as f64)
            .sum::<f64>()
            / r as f64;
        let ec = emb.expected_connected(b);
        // Connected count per block is a sum of Bernoullis: variance ≤ n/4.
        let se_c = (emb.blocks[b].n_cells as f64 / 4.0 / r as f64).sqrt();
        assert!((conn - ec).abs() <= 5.0 * se_c + 1e-12, "{}", emb.label(b));
    }
    // ISF's population block (6 realizations) against our per-type mean and SD.
    let summary = std::fs::read_dir(fx.join("isf_output"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.to_string_lossy().contains("_summary_"))
        .unwrap();
    let text = std::fs::read_to_string(summary).unwrap();
    let mut isf_pop: HashMap<String, f64> = HashMap::new();
    let mut isf_rep: HashMap<String, f64> = HashMap::new();
    let mut block = 0;
    for line in text.lines() {
        if line.starts_with('#') {
            block += 1;
            continue;
        }
        let f: Vec<&str> = line.split('\t').collect();
        if f.len() < 3 || f[0].starts_with("Presynaptic") {
            continue;
        }
        match block {
            1 => {
                isf_pop.insert(f[0].into(), f[1].parse().unwrap());
            }
            2 => {
                isf_rep.insert(f[0].into(), f[1].parse().unwrap());
            }
            _ => {}
        }
    }
    assert_eq!(isf_pop.len(), 22);
    for (t, name) in emb.counts.types.iter().enumerate() {
        let xs: Vec<f64> = sums.iter().map(|s| s.per_type[t].n_syn as f64).collect();
        let m = xs.iter().sum::<f64>() / r as f64;
        let sd = (xs.iter().map(|x| (x - m).powi(2)).sum::<f64>() / r as f64).sqrt();
        let lo = xs.iter().cloned().fold(f64::INFINITY, f64::min);
        let hi = xs.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
        // ISF's representative realization lies within the range of ours …
        let rep = isf_rep[name];
        assert!(
            lo <= rep && rep <= hi,
            "{name}: ISF {rep} outside [{lo}, {hi}]"
        );
        // … and its mean over 6 realizations within 5 standard errors of ours.
        let pm = isf_pop[name];
        assert!(
            (pm - m).abs() <= 5.0 * sd / 6f64.sqrt() + 1e-9,
            "{name}: ISF mean {pm} vs ours {m} ± {sd}"
        );
    }
}

#[test]
fn written_files_are_consistent() {
    let Some(fx) = fixture() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("emb");
    let opts = MapOptions {
        hoc: fx.join("cell.hoc"),
        model: fx.join("model"),
        postsynaptic_type: "L5tt".into(),
        realizations: 8,
        seed: 7,
        out: out.clone(),
        tag: "t".into(),
        classes: CellClasses::default(),
    };
    let rep = map_inputs(&opts).unwrap();
    assert!(rep.synapses > 0);
    // Same seed → same files, whatever the thread count (rayon pool of 1 here).
    let out2 = tmp.path().join("emb2");
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .unwrap();
    pool.install(|| {
        map_inputs(&MapOptions {
            out: out2.clone(),
            ..opts.clone()
        })
        .unwrap()
    });
    for f in [
        "cell_synapses_t.syn",
        "cell_synapses_t.con",
        "cell_summary_t.csv",
    ] {
        assert_eq!(
            std::fs::read(out.join(f)).unwrap(),
            std::fs::read(out2.join(f)).unwrap(),
            "{f}"
        );
    }
    // Existing non-empty output folder is refused, nothing overwritten.
    assert!(map_inputs(&opts).is_err());

    let m = isf::morphology::read_hoc(&fx.join("cell.hoc")).unwrap();
    let rel = |sec: usize| -> Vec<f64> {
        let p = &m.sections[sec].points;
        let mut c = vec![0.0];
        for w in p.windows(2) {
            let d: f64 = (0..3)
                .map(|a| (w[1][a] - w[0][a]).powi(2))
                .sum::<f64>()
                .sqrt();
            c.push(c.last().unwrap() + d);
        }
        let l = *c.last().unwrap();
        c.iter().map(|x| x / l).collect()
    };
    let syn = std::fs::read_to_string(out.join("cell_synapses_t.syn")).unwrap();
    let lines: Vec<&str> = syn.lines().collect();
    assert_eq!(lines[1], "# corresponding to cell: cell");
    assert_eq!(lines[3], "");
    let mut per_label: HashMap<String, usize> = HashMap::new();
    for l in &lines[4..] {
        let f: Vec<&str> = l.split('\t').collect();
        let sec: usize = f[1].parse().unwrap();
        let x: f64 = f[2].parse().unwrap();
        assert!(m.sections[sec].label != "Axon", "{l}");
        assert!(
            rel(sec).iter().any(|r| (r - x).abs() <= 1e-6),
            "synapse not on a traced point: {l}"
        );
        *per_label.entry(f[0].to_string()).or_default() += 1;
    }
    let ncc = std::fs::read_to_string(out.join("NumberOfConnectedCells.csv")).unwrap();
    let mut cells: HashMap<String, usize> = HashMap::new();
    for l in ncc.lines().skip(1) {
        let f: Vec<&str> = l.split('\t').collect();
        cells.insert(format!("{}_{}", f[1], f[0]), f[2].parse().unwrap());
    }
    assert!(ncc.lines().count() > 528);
    let con = std::fs::read_to_string(out.join("cell_synapses_t.con")).unwrap();
    let clines: Vec<&str> = con.lines().collect();
    assert_eq!(clines[1], "# cell_synapses_t.syn");
    assert_eq!(clines.len(), lines.len());
    let mut distinct: HashMap<String, std::collections::HashSet<usize>> = HashMap::new();
    for l in &clines[4..] {
        let f: Vec<&str> = l.split('\t').collect();
        let cell: usize = f[1].parse().unwrap();
        let sid: usize = f[2].parse().unwrap();
        assert!(sid < per_label[f[0]], "{l}: no such synapse");
        assert!(cell < cells[f[0]], "{l}: no such cell");
        distinct.entry(f[0].into()).or_default().insert(cell);
    }
    for (label, set) in distinct {
        assert_eq!(set.len(), cells[&label], "{label}");
    }
}
