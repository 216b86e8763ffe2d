//! Benchmark of the input mapper on a generated full-size barrel-cortex model: 24 columns ×
//! 22 types, ~536 000 presynaptic cells (ISF's total, docs/mapper.md#cell-numbers), 4 single-axon bouton fields
//! per (column, type) with type-specific lateral extent (0.3–1.2 mm) and depth profile, on
//! 50 µm lattices, and the example L5PT morphology `isf-example/86_C2_center.hoc`.
//!
//! The model is generated in memory (nothing is written or committed); the times reported are
//! the model preparation (rasterisation + λ for all bouton fields) and 50 seeded realizations
//! with their summaries. Run: `cargo bench --bench mapper_full_size`.

use std::time::Instant;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use isf::mapper::amira::ScalarField;
use isf::mapper::embedding::{Embedding, InMemoryModel};
use isf::mapper::grid::CellGeometry;
use isf::mapper::model::{
    CellClass, CellClasses, CellCounts, PstDensities, PstTable, ISF_COLUMNS, ISF_EXCITATORY,
};
use isf::mapper::realize::realize_many;
use isf::mapper::summary::{representative, RealizationSummary};

/// Relative abundance of each type (roughly the barrel cortex's), scaled to ISF's total below.
const TYPES: [(&str, f64, f64, [f64; 2]); 22] = [
    // (type, weight, lateral half-width of the axon µm, axon depth range µm relative to the soma)
    ("L2", 1500.0, 900.0, [300.0, 1100.0]),
    ("L34", 2300.0, 900.0, [0.0, 1000.0]),
    ("L4py", 600.0, 600.0, [-300.0, 900.0]),
    ("L4sp", 1600.0, 500.0, [-200.0, 700.0]),
    ("L4ss", 2600.0, 300.0, [-200.0, 700.0]),
    ("L5st", 1400.0, 1200.0, [-500.0, 1000.0]),
    ("L5tt", 1100.0, 700.0, [-600.0, 800.0]),
    ("L6cc", 1800.0, 1000.0, [-700.0, 600.0]),
    ("L6ccinv", 600.0, 900.0, [-700.0, 300.0]),
    ("L6ct", 1600.0, 300.0, [-700.0, 400.0]),
    ("VPM", 350.0, 250.0, [-400.0, 600.0]),
    ("SymLocal1", 220.0, 300.0, [-300.0, 300.0]),
    ("SymLocal2", 260.0, 300.0, [-300.0, 300.0]),
    ("SymLocal3", 250.0, 300.0, [-300.0, 300.0]),
    ("SymLocal4", 320.0, 350.0, [-400.0, 400.0]),
    ("SymLocal5", 140.0, 350.0, [-400.0, 400.0]),
    ("SymLocal6", 110.0, 350.0, [-400.0, 400.0]),
    ("L1", 90.0, 500.0, [900.0, 1100.0]),
    ("L23Trans", 360.0, 500.0, [200.0, 1000.0]),
    ("L45Sym", 240.0, 450.0, [-200.0, 600.0]),
    ("L45Peak", 200.0, 450.0, [-200.0, 600.0]),
    ("L56Trans", 330.0, 500.0, [-600.0, 500.0]),
];
const TOTAL_CELLS: f64 = 536_162.0;
const FILES_PER_FOLDER: usize = 4;
const SPACING: f64 = 50.0;
/// Peak boutons per voxel; chosen so that the cell gets ~25 000 synapses per realization, as
/// the shipped example embedding of this morphology has (24 780).
const BOUTON_SCALE: f64 = 1.3;

fn main() {
    let Some(hoc) = isf::testing::shared_path("isf-example/86_C2_center.hoc") else {
        eprintln!("mapper_full_size: isf-example/86_C2_center.hoc not found; skipping");
        return;
    };
    let t0 = Instant::now();
    let morph = isf::morphology::read_hoc(&hoc).expect("example morphology");
    let cell = CellGeometry::from_morphology("86_C2_center", &morph).expect("mappable");
    let b = cell.bounds_um();
    // Soma position (C2's centre); the cell's bounding box is about x −399…281, y 117…688.
    let soma = cell.sections[0].points_um[0];
    let model = generate(soma, b);
    let n_cells: u64 = model
        .counts
        .counts
        .iter()
        .flatten()
        .map(|&c| c as u64)
        .sum();
    let voxels: usize = model
        .boutons
        .iter()
        .flatten()
        .flatten()
        .map(|f| f.data.len())
        .sum();
    println!(
        "model: {} columns x {} types, {} presynaptic cells, {} bouton fields ({} voxels), generated in {:.2} s",
        model.counts.columns.len(),
        model.counts.types.len(),
        n_cells,
        model.boutons.iter().flatten().flatten().count(),
        voxels,
        t0.elapsed().as_secs_f64()
    );
    let t1 = Instant::now();
    let emb = Embedding::from_memory(cell, "L5tt", &model).expect("prepared");
    let prep = t1.elapsed().as_secs_f64();
    let expected: f64 = (0..emb.blocks.len())
        .map(|b| emb.expected_synapses(b))
        .sum();
    println!(
        "prepare (rasterise {} voxels, λ for all fields): {prep:.2} s; expected synapses per realization {expected:.0}",
        emb.raster.grid.len()
    );
    let threads = rayon::current_num_threads();
    let t2 = Instant::now();
    let all = realize_many(&emb, 1, 50);
    let sums: Vec<RealizationSummary> = all
        .iter()
        .map(|s| RealizationSummary::new(&emb, s))
        .collect();
    let chosen = representative(&sums);
    let real = t2.elapsed().as_secs_f64();
    let mean = all.iter().map(|s| s.len()).sum::<usize>() as f64 / all.len() as f64;
    println!(
        "50 realizations + summaries on {threads} threads: {real:.2} s (mean {mean:.0} synapses, representative #{chosen} with {})",
        all[chosen].len()
    );
    println!("total (prepare + 50 realizations): {:.2} s", prep + real);
    if std::env::var_os("ISF_BENCH_MAPPER_FILES").is_some() {
        end_to_end(&model, &hoc);
    }
}

/// With `ISF_BENCH_MAPPER_FILES=1`: writes the model in ISF's layout (AmiraMesh ASCII) to a
/// temporary folder and times `isf map-inputs` end to end (reading included).
fn end_to_end(model: &InMemoryModel, hoc: &std::path::Path) {
    use rayon::prelude::*;
    use std::fmt::Write as _;
    let tmp = tempfile::tempdir().expect("temp dir");
    let root = tmp.path().join("barrel_cortex");
    let t = Instant::now();
    std::fs::create_dir_all(root.join("PST")).expect("mkdir");
    let c = &model.counts;
    let mut nr = format!("CELL TYPE\t{}\n", c.columns.join("\t"));
    for (ti, ty) in c.types.iter().enumerate() {
        let row: Vec<String> = (0..c.columns.len())
            .map(|ci| c.count(ci, ti).to_string())
            .collect();
        let _ = writeln!(nr, "{ty}\t{}", row.join("\t"));
    }
    std::fs::write(root.join("nrCells.csv"), nr).expect("write");
    let e = model.pst_table.excitatory["L5tt"];
    let i = model.pst_table.inhibitory["L5tt"];
    let row = |d: PstDensities| {
        format!(
            "{}\t{}\t{}\t{}\t{}\t{}",
            d.soma_length,
            d.apical_length,
            d.basal_length,
            d.soma_area,
            d.apical_area,
            d.basal_area
        )
    };
    std::fs::write(
        root.join("ConnectionsV8.csv"),
        format!(
            "PRESYNAPTIC_CELLTYPE\tPOSTSYNAPTIC_CELLTYPE\tLS\tLA\tLB\tAS\tAA\tAB\nALL_EXCITATORY\tL5tt\t{}\nALL_INHIBITORY\tL5tt\t{}\n",
            row(e),
            row(i)
        ),
    )
    .expect("write");
    model
        .exc_pst
        .write(&root.join("PST/EXNormalizationPSTs.am"))
        .expect("write");
    model
        .inh_pst
        .write(&root.join("PST/INHNormalizationPSTs.am"))
        .expect("write");
    let broot = root.join("singleaxon_boutons_ascii");
    let broot = &broot;
    let jobs: Vec<(std::path::PathBuf, &ScalarField)> = c
        .columns
        .iter()
        .enumerate()
        .flat_map(|(ci, col)| {
            c.types.iter().enumerate().flat_map(move |(ti, ty)| {
                model.boutons[ci][ti].iter().enumerate().map(move |(k, f)| {
                    (
                        broot
                            .join(col)
                            .join(ty)
                            .join(format!("{col}_{ty}_axon{k}.am")),
                        f,
                    )
                })
            })
        })
        .collect();
    jobs.par_iter().for_each(|(p, f)| {
        std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
        f.write(p).expect("write");
    });
    println!(
        "wrote the model as AmiraMesh ASCII in {:.1} s",
        t.elapsed().as_secs_f64()
    );
    let t = Instant::now();
    let opts = isf::mapper::MapOptions {
        hoc: hoc.to_path_buf(),
        model: root.clone(),
        postsynaptic_type: "L5tt".into(),
        realizations: 50,
        seed: 1,
        out: tmp.path().join("out"),
        tag: "bench".into(),
        classes: model.classes.clone(),
    };
    let rep = isf::mapper::map_inputs(&opts).expect("map-inputs");
    println!(
        "isf map-inputs end to end (read {} bouton files, 50 realizations, write): {:.2} s, {} synapses written",
        jobs.len(),
        t.elapsed().as_secs_f64(),
        rep.synapses
    );
}

/// Generates the synthetic model around a cell whose C2 column is centred on `soma`.
fn generate(soma: [f64; 3], cell: [[f64; 2]; 3]) -> InMemoryModel {
    let mut rng = ChaCha8Rng::seed_from_u64(2025);
    // Barrel grid: rows A–E (Greek columns between rows at arc 0), 300 µm apart, C2 at the soma.
    let pos = |c: &str| -> [f64; 2] {
        let (row, arc) = match c {
            "Alpha" => (0.5, 0.0),
            "Beta" => (1.5, 0.0),
            "Gamma" => (2.5, 0.0),
            "Delta" => (3.5, 0.0),
            _ => {
                let r = (c.as_bytes()[0] - b'A') as f64;
                let a = (c.as_bytes()[1] - b'0') as f64;
                (r, a)
            }
        };
        [soma[0] + (arc - 2.0) * 300.0, soma[1] + (row - 2.0) * 300.0]
    };
    let columns: Vec<String> = ISF_COLUMNS.iter().map(|s| s.to_string()).collect();
    let types: Vec<String> = TYPES.iter().map(|t| t.0.to_string()).collect();
    let wsum: f64 = TYPES.iter().map(|t| t.1).sum::<f64>() * columns.len() as f64;
    let mut counts = vec![vec![0u32; types.len()]; columns.len()];
    for (c, row) in counts.iter_mut().enumerate() {
        for (t, n) in row.iter_mut().enumerate() {
            // ±20 % column-to-column variation, at least 11 cells (ISF's minimum).
            let jitter = 0.8 + 0.4 * ((c * 7 + t * 13) % 11) as f64 / 10.0;
            *n = ((TYPES[t].1 * TOTAL_CELLS / wsum) * jitter)
                .round()
                .max(11.0) as u32;
        }
    }
    // Hit ISF's total exactly: the rounding remainder goes to the largest population.
    let sum: i64 = counts.iter().flatten().map(|&n| n as i64).sum();
    let (bc, bt) = (0..columns.len())
        .flat_map(|c| (0..types.len()).map(move |t| (c, t)))
        .max_by_key(|&(c, t)| counts[c][t])
        .expect("non-empty");
    counts[bc][bt] = (counts[bc][bt] as i64 + TOTAL_CELLS as i64 - sum) as u32;
    // PST fields over the whole barrel field: x, y ±1.8 mm around C2, z ±1.2 mm.
    let lo = [soma[0] - 1800.0, soma[1] - 1800.0, cell[2][0] - 400.0];
    let dims = [
        72,
        72,
        ((cell[2][1] - cell[2][0] + 800.0) / SPACING).ceil() as usize,
    ];
    let field = |mean: f64, rng: &mut ChaCha8Rng| ScalarField {
        dims,
        origin_um: lo,
        spacing_um: [SPACING; 3],
        data: (0..dims[0] * dims[1] * dims[2])
            .map(|_| mean * (0.8 + 0.4 * rng.random::<f64>()))
            .collect(),
    };
    let exc_pst = field(60_000.0, &mut rng);
    let inh_pst = field(8_000.0, &mut rng);
    let mut classes = CellClasses::default();
    for t in &types {
        let class = if ISF_EXCITATORY.contains(&t.as_str()) {
            CellClass::Excitatory
        } else {
            CellClass::Inhibitory
        };
        classes.0.insert(t.clone(), class);
    }
    let mut boutons = Vec::with_capacity(columns.len());
    for c in &columns {
        let centre = pos(c);
        let mut per_type = Vec::with_capacity(types.len());
        for &(_, _, half, depth) in TYPES.iter() {
            let mut files = Vec::with_capacity(FILES_PER_FOLDER);
            for _ in 0..FILES_PER_FOLDER {
                // Each axon is offset by up to ±100 µm and its grid aligned to the PST lattice.
                let off = [
                    (rng.random::<f64>() - 0.5) * 200.0,
                    (rng.random::<f64>() - 0.5) * 200.0,
                ];
                let snap = |x: f64, o: f64| o + ((x - o) / SPACING).floor() * SPACING;
                let origin = [
                    snap(centre[0] + off[0] - half, lo[0]),
                    snap(centre[1] + off[1] - half, lo[1]),
                    snap(soma[2] + depth[0], lo[2]),
                ];
                let n = (2.0 * half / SPACING) as usize;
                let nz = ((depth[1] - depth[0]) / SPACING) as usize;
                let fdims = [n, n, nz];
                let mut data = Vec::with_capacity(n * n * nz);
                for k in 0..nz {
                    for j in 0..n {
                        for i in 0..n {
                            // Bouton counts fall off from the axon's centre; ~6 % of voxels empty.
                            let dx = (i as f64 + 0.5) / n as f64 - 0.5;
                            let dy = (j as f64 + 0.5) / n as f64 - 0.5;
                            let dz = (k as f64 + 0.5) / nz as f64 - 0.5;
                            let w = (-(dx * dx + dy * dy) * 8.0 - dz * dz * 4.0).exp();
                            let v = if rng.random::<f64>() < 0.06 {
                                0.0
                            } else {
                                (BOUTON_SCALE * w * (0.5 + rng.random::<f64>())).round()
                            };
                            data.push(v);
                        }
                    }
                }
                files.push(ScalarField {
                    dims: fdims,
                    origin_um: origin,
                    spacing_um: [SPACING; 3],
                    data,
                });
            }
            per_type.push(files);
        }
        boutons.push(per_type);
    }
    let mut pst_table = PstTable::default();
    // ISF's real L5tt rows (docs/mapper.md#pst-densities).
    pst_table.excitatory.insert(
        "L5tt".into(),
        PstDensities {
            apical_length: 1.68,
            basal_length: 1.04,
            ..Default::default()
        },
    );
    pst_table.inhibitory.insert(
        "L5tt".into(),
        PstDensities {
            soma_area: 0.03,
            apical_area: 0.03,
            basal_area: 0.03,
            ..Default::default()
        },
    );
    InMemoryModel {
        counts: CellCounts {
            columns,
            types,
            counts,
        },
        classes,
        exc_pst,
        inh_pst,
        pst_table,
        boutons,
    }
}
