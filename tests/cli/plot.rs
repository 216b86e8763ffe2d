//! `isf plot …` on real output: the getting-started animation of the reference network trial
//! (frame count, size, the soma's colour at a spike and at rest read back through the colour
//! map's inverse, an active synapse in its population's colour, legend and colour bar), and every
//! chart kind on the embedded example run and the reference trial (size, non-blank, axis labels,
//! a raster dot where a known spike is).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use isf::plot::encode::decode_png;
use isf::plot::morphology::{population_color, Scene, View, CELL_TYPE_COLORS, MARKER_RADIUS};
use isf::plot::ColorMap;

fn isf(args: &[&std::ffi::OsStr]) -> (bool, String, String) {
    let o = Command::new(env!("CARGO_BIN_EXE_isf"))
        .args(args)
        .output()
        .expect("run isf");
    (
        o.status.success(),
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

fn run(args: &[&dyn AsRef<std::ffi::OsStr>]) -> String {
    let a: Vec<&std::ffi::OsStr> = args.iter().map(|a| a.as_ref()).collect();
    let (ok, out, err) = isf(&a);
    assert!(ok, "isf {a:?} failed: {err}");
    out
}

struct Image {
    rgb: Vec<u8>,
    w: u32,
    h: u32,
}

impl Image {
    fn read(p: &Path) -> Image {
        let (rgb, w, h) = decode_png(&std::fs::read(p).unwrap()).unwrap();
        Image { rgb, w, h }
    }
    fn px(&self, x: u32, y: u32) -> [u8; 3] {
        let i = 3 * (y as usize * self.w as usize + x as usize);
        [self.rgb[i], self.rgb[i + 1], self.rgb[i + 2]]
    }
    fn non_white(&self) -> usize {
        self.rgb
            .chunks_exact(3)
            .filter(|p| p != &[255, 255, 255])
            .count()
    }
    /// The commonest colour in the (2r+1)² window around (x, y).
    fn mode(&self, x: u32, y: u32, r: u32) -> [u8; 3] {
        let mut n: HashMap<[u8; 3], usize> = HashMap::new();
        for yy in y - r..=y + r {
            for xx in x - r..=x + r {
                *n.entry(self.px(xx, yy)).or_default() += 1;
            }
        }
        n.into_iter().max_by_key(|(_, k)| *k).unwrap().0
    }
}

fn column(path: &Path, name: &str) -> Vec<f64> {
    let text = std::fs::read_to_string(path).unwrap();
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap().split([',', '\t']).collect();
    let k = header.iter().position(|h| *h == name).unwrap();
    lines
        .filter(|l| !l.trim().is_empty())
        .map(|l| l.split([',', '\t']).nth(k).unwrap().trim().parse().unwrap())
        .collect()
}

#[test]
fn getting_started_animation_of_the_reference_trial() {
    let Some((cell, network, synapses)) = isf::testing::reference_trial() else {
        return;
    };
    let folder = synapses.parent().unwrap().to_path_buf();
    let root = folder.parent().unwrap().to_path_buf();
    let tmp = tempfile::tempdir().unwrap();
    let frames = tmp.path().join("frames");
    let src: [&dyn AsRef<std::ffi::OsStr>; 6] = [
        &"--isf-folder",
        &folder,
        &"--cell-param",
        &cell,
        &"--network-param",
        &network,
    ];
    let mut args: Vec<&dyn AsRef<std::ffi::OsStr>> = vec![&"plot", &"morphology"];
    args.extend(src);
    // The reference trial's soma spikes at 23, 31 and 45 ms: the frames of 20–70 ms hold a
    // spike and rest.
    let mut a = args.clone();
    a.extend([
        &"--t-start" as &dyn AsRef<std::ffi::OsStr>,
        &"20",
        &"--t-stop",
        &"70",
        &"--out",
        &frames,
    ]);
    let out = run(&a);
    assert!(
        out.contains("reproduces the stored one"),
        "the re-simulated soma trace must match NEURON's: {out}"
    );
    let gif_path = tmp.path().join("cell86.gif");
    let mut a = args.clone();
    a.extend([&"--out" as &dyn AsRef<std::ffi::OsStr>, &gif_path]);
    run(&a);

    // 250 frames, 640×640, in the PNG folder and the GIF.
    let mut names: Vec<String> = std::fs::read_dir(&frames)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    assert_eq!(names.len(), 250);
    assert_eq!(names[0], "frame_00000.png");
    let mut dec = gif::DecodeOptions::new();
    dec.set_color_output(gif::ColorOutput::Indexed);
    let mut gif = dec
        .read_info(std::fs::File::open(&gif_path).unwrap())
        .unwrap();
    assert_eq!((gif.width(), gif.height()), (640, 640));
    let mut n = 0;
    while gif.read_next_frame().unwrap().is_some() {
        n += 1;
    }
    assert_eq!(n, 250, "GIF frames");

    // The same layout, built here from the cell.
    let (_, template) = isf::recipe::Recipe::cell_only(&cell).read_cell().unwrap();
    let scene = Scene::new(&template, View::default(), 640, 640).unwrap();
    let cmap = ColorMap::viridis(-75.0, -30.0).unwrap();
    let soma = &template.sections[template.soma_section];
    let c = [0, 1, 2].map(|d| soma.pts.iter().map(|p| p[d]).sum::<f64>() / soma.pts.len() as f64);
    let (sx, sy) = scene.pixel_of(c);

    // NEURON's soma trace: the colour of the soma at a spike's peak frame and at rest.
    let vm = root.join("isf_output/seed1234_pid30596_vm_all_traces.csv");
    let (t, v) = (column(&vm, "t"), column(&vm, "Vm run 00"));
    let v_at = |tf: f64| v[t.iter().position(|&x| (x - tf).abs() < 1e-6).unwrap()];
    let frame_t = |k: usize| 20.0 + 0.2 * k as f64;
    let spike_frame = (0..250)
        .max_by(|&a, &b| v_at(frame_t(a)).total_cmp(&v_at(frame_t(b))))
        .unwrap();
    let rest_frame = (0..250)
        .min_by(|&a, &b| {
            (v_at(frame_t(a)) + 65.0)
                .abs()
                .total_cmp(&(v_at(frame_t(b)) + 65.0).abs())
        })
        .unwrap();
    assert!(v_at(frame_t(spike_frame)) > 0.0, "a spike in 20–70 ms");
    for (k, what) in [(spike_frame, "spike"), (rest_frame, "rest")] {
        let img = Image::read(&frames.join(format!("frame_{k:05}.png")));
        assert_eq!((img.w, img.h), (640, 640));
        let got = img.mode(sx, sy, 2);
        let level = cmap
            .level_of(got)
            .unwrap_or_else(|| panic!("{what}: soma pixel {got:?} is not a colour of the map"));
        let want = cmap.level(v_at(frame_t(k)));
        assert!(
            level.abs_diff(want) <= 1,
            "{what} frame {k}: soma at level {level}, recorded {} mV is level {want}",
            v_at(frame_t(k))
        );
    }

    // An active synapse, clear of the others active in its frame, is in its population's colour.
    let rows = isf::output::isf_files::read_synapse_activation_file(&synapses).unwrap();
    let mut checked = 0;
    for k in (0..250).step_by(10) {
        let tf = frame_t(k);
        let active: Vec<(String, (u32, u32))> = rows
            .iter()
            .filter(|r| r.times_ms.iter().any(|&x| x >= tf && x < tf + 0.2))
            .map(|r| {
                let p = template.sections[r.section_id].pts[r.section_pt_id];
                (r.population.clone(), scene.pixel_of(p))
            })
            .collect();
        let img = Image::read(&frames.join(format!("frame_{k:05}.png")));
        for (i, (pop, (x, y))) in active.iter().enumerate() {
            let clear = active.iter().enumerate().all(|(j, (_, (u, w)))| {
                j == i || u.abs_diff(*x).max(w.abs_diff(*y)) as f64 > 2.0 * MARKER_RADIUS + 2.0
            });
            if clear {
                assert_eq!(img.px(*x, *y), population_color(pop).1, "frame {k}, {pop}");
                checked += 1;
            }
        }
    }
    assert!(
        checked >= 5,
        "only {checked} isolated active synapses checked"
    );

    // Colour bar: the map's top level at the top, its bottom level at the bottom; legend squares
    // in the population colours with their names beside them.
    let img = Image::read(&frames.join("frame_00000.png"));
    let x0 = 640 - Scene::PANEL + 14 + 9;
    assert_eq!(img.px(x0, 36), cmap.level_color(ColorMap::LEVELS - 1));
    assert_eq!(img.px(x0, 319), cmap.level_color(0));
    let legend_top = 320 + 30;
    let types: Vec<&str> = CELL_TYPE_COLORS
        .iter()
        .map(|(n, _)| *n)
        .filter(|n| rows.iter().any(|r| population_color(&r.population).0 == *n))
        .collect();
    assert!(types.len() >= 5, "{types:?}");
    for (i, ty) in types.iter().enumerate() {
        let y = legend_top + 18 * i as u32 + 8;
        let c = CELL_TYPE_COLORS.iter().find(|(n, _)| n == ty).unwrap().1;
        assert_eq!(
            img.px(640 - Scene::PANEL + 14 + 5, y),
            c,
            "legend square of {ty}"
        );
        let text = (640 - Scene::PANEL + 14 + 16..640)
            .filter(|&x| {
                let p = img.px(x, y - 2);
                p[0] < 128 && p[1] < 128 && p[2] < 128
            })
            .count();
        assert!(text > 0, "legend text of {ty}");
    }
}

/// The plot area of a PNG chart, (top, bottom, left, right): the y axis is the column with the
/// most dark pixels, the x axis the row with the most; right is where the x axis ends.
fn plot_area(img: &Image) -> (u32, u32, u32, u32) {
    let dark = |x, y| img.px(x, y).iter().all(|&c| c < 60);
    let row = (0..img.h)
        .max_by_key(|&y| (0..img.w).filter(|&x| dark(x, y)).count())
        .unwrap();
    let col = (0..img.w)
        .max_by_key(|&x| (0..img.h).filter(|&y| dark(x, y)).count())
        .unwrap();
    let top = (0..img.h).find(|&y| dark(col, y)).unwrap();
    let right = (0..img.w).filter(|&x| dark(x, row)).max().unwrap();
    (top, row, col, right)
}

/// The columns of black pixels in rows `y0..y1` between `left` and `right` (exclusive).
fn dot_columns(img: &Image, left: u32, right: u32, y0: u32, y1: u32) -> Vec<u32> {
    (left + 2..right)
        .filter(|&x| (y0..y1).any(|y| img.px(x, y) == [0, 0, 0]))
        .collect()
}

#[test]
fn raster_dot_at_the_reference_trials_spike_times() {
    let Some((_, _, synapses)) = isf::testing::reference_trial() else {
        return;
    };
    let folder = synapses.parent().unwrap();
    let spikes = column(
        &folder.parent().unwrap().join("soma_spike_times.csv"),
        "t_first_sample_ge_0mV",
    );
    let tmp = tempfile::tempdir().unwrap();
    let png = tmp.path().join("raster.png");
    run(&[
        &"plot",
        &"raster",
        &"--isf-folder",
        &folder,
        &"--t-start",
        &"0",
        &"--t-stop",
        &"300",
        &"--out",
        &png,
    ]);
    let img = Image::read(&png);
    assert_eq!((img.w, img.h), (800, 500));
    let (top, bottom, left, right) = plot_area(&img);
    let x_of = |t: f64| left as f64 + t / 300.0 * (right - left) as f64;
    // The only row (trial 0) is at the middle of the plot area's height; dots are black discs.
    let mid = (top + bottom) / 2;
    let dots = dot_columns(&img, left, right, mid - 3, mid + 4);
    assert_eq!(
        dot_columns(&img, left, right, top + 2, mid - 4),
        Vec::<u32>::new()
    );
    for t in &spikes {
        let x = x_of(*t);
        assert!(
            dots.iter().any(|&d| (d as f64 - x).abs() <= 2.5),
            "no dot at {t} ms (x ≈ {x:.1}); dots at {dots:?}"
        );
    }
    // And nothing where no spike is: every dot column is within a dot's width of a spike.
    for d in &dots {
        assert!(
            spikes.iter().any(|t| (x_of(*t) - *d as f64).abs() <= 4.0),
            "a dot at column {d} matches no spike"
        );
    }

    // Presynaptic spikes by population: non-blank, SVG carries the axis labels and the legend.
    let svg = tmp.path().join("pre.svg");
    run(&[
        &"plot",
        &"raster",
        &"--isf-folder",
        &folder,
        &"--of",
        &"presynaptic",
        &"--out",
        &svg,
    ]);
    let text = std::fs::read_to_string(&svg).unwrap();
    for s in ["time (ms)", "presynaptic cell", "VPM", "L5tt", "INH"] {
        assert!(text.contains(s), "{s} missing from the SVG");
    }
}

/// The embedded example: its run config's results file and an ISF task folder.
fn example_run(dir: &Path) -> (PathBuf, PathBuf, PathBuf) {
    let model = dir.join("model");
    run(&[&"example", &model]);
    run(&[&"simulate", &"--config", &model.join("run.toml")]);
    let task = dir.join("task");
    run(&[
        &"simulate",
        &model.join("cell.param"),
        &model.join("network.param"),
        &"--seed",
        &"1234",
        &"--sweeps",
        &"2",
        &"--out",
        &task,
    ]);
    (model.join("example_results.h5"), task, model)
}

#[test]
fn every_chart_kind_on_the_example_run() {
    let tmp = tempfile::tempdir().unwrap();
    let (results, task, model) = example_run(tmp.path());
    let p = |n: &str| tmp.path().join(n);
    let kinds: Vec<(&str, Vec<&str>, &[&str])> = vec![
        (
            "traces",
            vec!["--trials", "0-3", "--sites"],
            &[
                "time (ms)",
                "membrane potential (mV)",
                "soma example_l5pt/000000",
            ],
        ),
        ("raster", vec![], &["time (ms)", "trial", "Soma spikes"]),
        (
            "raster",
            vec!["--of", "synapses", "--trials", "2"],
            &["time (ms)", "synapse"],
        ),
        (
            "raster",
            vec!["--of", "presynaptic", "--trials", "1"],
            &["time (ms)", "presynaptic cell"],
        ),
        (
            "psth",
            vec!["--bin", "10"],
            &["time (ms)", "firing rate (Hz)", "8 trials"],
        ),
        (
            "psth",
            vec!["--of", "synapses", "--group", "ei"],
            &["time (ms)", "activations per bin", "EXC", "INH"],
        ),
    ];
    for (i, (kind, extra, labels)) in kinds.iter().enumerate() {
        for ext in ["png", "svg"] {
            let out = p(&format!("{i}_{kind}.{ext}"));
            let mut a: Vec<&dyn AsRef<std::ffi::OsStr>> =
                vec![&"plot", kind, &"--results", &results, &"--out", &out];
            for e in extra {
                a.push(e);
            }
            run(&a);
            if ext == "png" {
                let img = Image::read(&out);
                assert_eq!((img.w, img.h), (800, 500), "{kind} {extra:?}");
                assert!(img.non_white() > 2000, "{kind} {extra:?} is nearly blank");
            } else {
                let text = std::fs::read_to_string(&out).unwrap();
                for l in *labels {
                    assert!(text.contains(l), "{kind} {extra:?}: `{l}` missing");
                }
            }
        }
    }
    // The soma raster's dots sit at the results file's spike times: trial 0's from its ISF twin
    // is not available, so check against the traces' own crossings via a one-trial raster of the
    // task folder, whose stored traces give the spike times.
    let vm = std::fs::read_dir(&task)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.to_string_lossy().ends_with("_vm_all_traces.csv"))
        .unwrap();
    let (t, v) = (column(&vm, "t"), column(&vm, "Vm run 01"));
    let spikes = isf::plot::data::spikes_of(&t, &v);
    assert!(!spikes.is_empty());
    let png = p("task_raster.png");
    run(&[
        &"plot",
        &"raster",
        &"--isf-folder",
        &task,
        &"--trials",
        &"1",
        &"--t-start",
        &"0",
        &"--t-stop",
        &"350",
        &"--out",
        &png,
    ]);
    let img = Image::read(&png);
    let (top, bottom, left, right) = plot_area(&img);
    let mid = (top + bottom) / 2;
    let dots = dot_columns(&img, left, right, mid - 3, mid + 4);
    for s in &spikes {
        let x = left as f64 + s / 350.0 * (right - left) as f64;
        assert!(
            dots.iter().any(|&d| (d as f64 - x).abs() <= 2.5),
            "no dot at {s} ms (x ≈ {x:.1}); dots at {dots:?}"
        );
    }

    // A still of a re-simulated example trial, and the overwrite rule.
    let still = p("still.png");
    let args: [&dyn AsRef<std::ffi::OsStr>; 14] = [
        &"plot",
        &"morphology",
        &"--isf-folder",
        &task,
        &"--run",
        &"1",
        &"--cell-param",
        &model.join("cell.param"),
        &"--network-param",
        &model.join("network.param"),
        &"--at",
        &"250",
        &"--out",
        &still,
    ];
    let out = run(&args);
    assert!(out.contains("reproduces the stored one"), "{out}");
    let img = Image::read(&still);
    assert_eq!((img.w, img.h), (640, 640));
    assert!(img.non_white() > 1000);
    let a: Vec<&std::ffi::OsStr> = args.iter().map(|a| a.as_ref()).collect();
    let (ok, _, err) = isf(&a);
    assert!(
        !ok && err.contains("already exists") && err.contains("--overwrite"),
        "{err}"
    );
    let label = p("label.png");
    let mut a2: Vec<&dyn AsRef<std::ffi::OsStr>> = args[..12].to_vec();
    a2.extend([
        &"--color" as &dyn AsRef<std::ffi::OsStr>,
        &"label",
        &"--out",
        &label,
    ]);
    run(&a2);
    assert!(Image::read(&label).non_white() > 1000);

    // Coloured by a column of the segments table: the soma carries its soma distance's level,
    // the farthest segments the top colour.
    let scalar = p("scalar.png");
    let mut a3: Vec<&dyn AsRef<std::ffi::OsStr>> = args[..12].to_vec();
    a3.extend([
        &"--color" as &dyn AsRef<std::ffi::OsStr>,
        &"scalar",
        &"--scalar",
        &"soma_dist",
        &"--no-synapses",
        &"--out",
        &scalar,
    ]);
    run(&a3);
    let img = Image::read(&scalar);
    let (_, template) = isf::recipe::Recipe::cell_only(model.join("cell.param"))
        .read_cell()
        .unwrap();
    let table = template.segments_table();
    let dist: Vec<f64> = table.rows.iter().map(|r| r.soma_dist).collect();
    let hi = dist.iter().copied().fold(f64::MIN, f64::max);
    let lo = dist.iter().copied().fold(f64::MAX, f64::min);
    let cmap = ColorMap::viridis(lo, hi).unwrap();
    let scene = Scene::new(&template, View::default(), 640, 640).unwrap();
    let soma = &template.sections[template.soma_section];
    let c = [0, 1, 2].map(|d| soma.pts.iter().map(|p| p[d]).sum::<f64>() / soma.pts.len() as f64);
    let (sx, sy) = scene.pixel_of(c);
    let got = cmap
        .level_of(img.mode(sx, sy, 2))
        .expect("soma pixel in the map");
    let soma_row = table
        .rows
        .iter()
        .find(|r| r.sec_idx == template.soma_section)
        .unwrap();
    let want = cmap.level(soma_row.soma_dist);
    assert!(got.abs_diff(want) <= 1, "soma level {got}, want {want}");
    let top = cmap.level_color(ColorMap::LEVELS - 1);
    let top_pixels = (0..img.h)
        .flat_map(|y| (0..img.w - 150).map(move |x| (x, y)))
        .filter(|&(x, y)| img.px(x, y) == top)
        .count();
    assert!(
        top_pixels > 0,
        "the farthest segments are not in the top colour"
    );
    let mut a4: Vec<&dyn AsRef<std::ffi::OsStr>> = args[..12].to_vec();
    a4.extend([
        &"--color" as &dyn AsRef<std::ffi::OsStr>,
        &"scalar",
        &"--scalar",
        &"no_such_column",
        &"--out",
        &scalar,
        &"--overwrite",
    ]);
    let a4: Vec<&std::ffi::OsStr> = a4.iter().map(|a| a.as_ref()).collect();
    let (ok, _, err) = isf(&a4);
    assert!(
        !ok && err.contains("--scalar `no_such_column`") && err.contains("gIhbar_Ih"),
        "{err}"
    );
}

/// The plot area of the part of a PNG chart left of `x_max` (see [`plot_area`]).
fn plot_area_left_of(img: &Image, x_max: u32) -> (u32, u32, u32, u32) {
    let dark = |x, y| img.px(x, y).iter().all(|&c| c < 60);
    let row = (0..img.h)
        .max_by_key(|&y| (0..x_max).filter(|&x| dark(x, y)).count())
        .unwrap();
    let col = (0..x_max)
        .max_by_key(|&x| (0..img.h).filter(|&y| dark(x, y)).count())
        .unwrap();
    let top = (0..img.h).find(|&y| dark(col, y)).unwrap();
    let right = (0..x_max).filter(|&x| dark(x, row)).max().unwrap();
    (top, row, col, right)
}

#[test]
fn binning_maps_and_kernels_of_the_example_database() {
    use isf::plot::maps::{group_color, mean_of, COLORBAR_WIDTH};
    use isf_post::db::{Binned, Database};
    use isf_post::lda::ReducedLdaModel;

    let tmp = tempfile::tempdir().unwrap();
    let model = tmp.path().join("model");
    run(&[&"example", &model]);
    run(&[&"simulate", &"--config", &model.join("run.toml")]);
    let db = tmp.path().join("db");
    run(&[&"db", &"init", &model.join("example_results.h5"), &db]);
    run(&[&"db", &"bin", &db, &"--groupby", &"EI"]);
    run(&[&"db", &"bin", &db, &"--groupby", &"EI,binned_somadist"]);
    // The example's 8 trials have spiking and silent ones in 280–300 ms.
    run(&[
        &"reduce",
        &"fit",
        &db,
        &"--out",
        &"lda",
        &"--output-min",
        &"280",
        &"--output-max",
        &"300",
        &"--n-models",
        &"3",
    ]);
    let p = |n: &str| tmp.path().join(n);

    // Two binnings: the default is the spatio-temporal one; two panels with a distance axis.
    let svg = p("st.svg");
    run(&[&"plot", &"binning", &"--db", &db, &"--out", &svg]);
    let text = std::fs::read_to_string(&svg).unwrap();
    for l in [
        "time (ms)",
        "soma distance (µm)",
        "activations per trial and bin",
        "EI__binned_somadist: EXC (8 trials)",
        "EI__binned_somadist: INH (8 trials)",
    ] {
        assert!(text.contains(l), "binning SVG: `{l}` missing");
    }

    // EI only, 0–300 ms: one panel, rows EXC (bottom) and INH, coloured by the mean count.
    let key = "synapse_activation_binned/t1/EI";
    let png = p("ei.png");
    run(&[
        &"plot",
        &"binning",
        &"--db",
        &db,
        &"--key",
        &key,
        &"--t-start",
        &"0",
        &"--t-stop",
        &"300",
        &"--out",
        &png,
    ]);
    let img = Image::read(&png);
    assert_eq!((img.w, img.h), (900, 280));
    assert!(img.non_white() > 50_000, "binning map nearly blank");
    let database = Database::open(&db).unwrap();
    let mean = |g: &str| -> Vec<f64> {
        let b: Binned = database
            .get(&isf_post::db::parse_key(&format!("{key}/{g}")).unwrap())
            .unwrap();
        assert_eq!(b.bin_edges_ms[0], 0.0);
        assert_eq!(b.bin_edges_ms[1], 1.0);
        (0..300)
            .map(|j| b.counts.column(j).mean().unwrap())
            .collect()
    };
    let (exc, inh) = (mean("EXC"), mean("INH"));
    let vmax = exc.iter().chain(&inh).copied().fold(0.0, f64::max);
    let cmap = ColorMap::viridis(0.0, vmax).unwrap();
    let (top, bottom, left, right) = plot_area_left_of(&img, img.w - COLORBAR_WIDTH);
    let busiest = (0..300).max_by(|&a, &b| exc[a].total_cmp(&exc[b])).unwrap();
    let quiet = (0..300).min_by(|&a, &b| exc[a].total_cmp(&exc[b])).unwrap();
    for (row, values) in [(0.25, &exc), (0.75, &inh)] {
        let y = bottom as f64 - row * (bottom - top) as f64;
        for j in [busiest, quiet, 150] {
            let x = left as f64 + (j as f64 + 0.5) / 300.0 * (right - left) as f64;
            let c = img.px(x.round() as u32, y.round() as u32);
            let got = cmap
                .level_of(c)
                .unwrap_or_else(|| panic!("bin {j} at ({x:.0}, {y:.0}): {c:?} is no map colour"));
            let want = cmap.level(values[j]);
            assert!(
                got.abs_diff(want) <= 1,
                "bin {j}, row {row}: level {got}, the mean count {} is level {want}",
                values[j]
            );
        }
    }

    // Kernels of the EI model: one temporal panel; the EXC mean kernel's largest weight drawn
    // where it is.
    let kpng = p("k.png");
    run(&[
        &"plot", &"kernels", &"--db", &db, &"--model", &"lda", &"--out", &kpng,
    ]);
    let ksvg = p("k.svg");
    run(&[
        &"plot", &"kernels", &"--db", &db, &"--model", &"lda", &"--out", &ksvg,
    ]);
    let text = std::fs::read_to_string(&ksvg).unwrap();
    for l in [
        "time (ms)",
        "weight per bin",
        "EXC",
        "INH",
        "Temporal kernels of lda",
    ] {
        assert!(text.contains(l), "kernels SVG: `{l}` missing");
    }
    assert!(!text.contains("Spatial kernels"));
    let img = Image::read(&kpng);
    assert_eq!((img.w, img.h), (800, 500));
    assert!(img.non_white() > 5_000);
    let m: ReducedLdaModel = database
        .get(&isf_post::db::parse_key("lda").unwrap())
        .unwrap();
    let kernel = |k: usize| -> Vec<Vec<f64>> {
        let (a, b) = m.key_ranges[k];
        m.models.iter().map(|p| p.kernel[a..b].to_vec()).collect()
    };
    let all: Vec<f64> = (0..2).flat_map(|k| kernel(k).concat()).collect();
    let lo = all.iter().copied().fold(0.0, f64::min);
    let hi = all.iter().copied().fold(0.0, f64::max);
    let pad = 0.08 * (hi - lo);
    let (ya, yb) = (lo - pad, hi + pad);
    let exc_mean = mean_of(&kernel(0));
    let n = exc_mean.len();
    assert_eq!(n, 80, "the default window is 80 one-ms bins");
    let k = (0..n)
        .max_by(|&a, &b| exc_mean[a].abs().total_cmp(&exc_mean[b].abs()))
        .unwrap();
    let (top, bottom, left, right) = plot_area(&img);
    let x = left as f64 + (k as f64 + 0.5) / n as f64 * (right - left) as f64;
    let y = bottom as f64 - (exc_mean[k] - ya) / (yb - ya) * (bottom - top) as f64;
    let blue = group_color("EXC", 0);
    let near = (x as u32 - 3..=x as u32 + 3)
        .flat_map(|xx| (y as u32 - 3..=y as u32 + 3).map(move |yy| (xx, yy)))
        .any(|(xx, yy)| img.px(xx, yy) == blue);
    assert!(near, "no EXC kernel pixel near ({x:.0}, {y:.0}), bin {k}");

    // A model over soma-distance keys gets the spatial panel too.
    let keys: Vec<String> = ["EXC", "INH"]
        .iter()
        .flat_map(|g| {
            ["0to50", "50to100"]
                .map(|d| format!("synapse_activation_binned/t1/EI__binned_somadist/{g}/{d}"))
        })
        .collect();
    run(&[
        &"reduce",
        &"fit",
        &db,
        &"--out",
        &"lda_sd",
        &"--keys",
        &keys.join(","),
        &"--window-width",
        &"20",
        &"--output-min",
        &"280",
        &"--output-max",
        &"300",
        &"--n-models",
        &"3",
    ]);
    let sd = p("sd.svg");
    run(&[
        &"plot", &"kernels", &"--db", &db, &"--model", &"lda_sd", &"--out", &sd,
    ]);
    let text = std::fs::read_to_string(&sd).unwrap();
    for l in [
        "Spatial kernels",
        "soma distance (µm)",
        "weight summed over the window",
    ] {
        assert!(text.contains(l), "spatial kernels SVG: `{l}` missing");
    }
    // Errors name the database and key.
    let (ok, _, err) = isf(&[
        "plot".as_ref(),
        "kernels".as_ref(),
        "--db".as_ref(),
        db.as_os_str(),
        "--model".as_ref(),
        "nope".as_ref(),
        "--out".as_ref(),
        p("x.png").as_os_str(),
    ]);
    assert!(!ok && err.contains("key `nope` not found"), "{err}");
}

/// The largest |Δ| of a `re-simulated … reproduces the stored one (…) … max |Δ| = X mV` line.
fn max_delta(out: &str, quantity: &str) -> f64 {
    let line = out
        .lines()
        .find(|l| {
            l.starts_with(&format!(
                "re-simulated {quantity} reproduces the stored one"
            ))
        })
        .unwrap_or_else(|| panic!("no agreeing `{quantity}` comparison in: {out}"));
    line.rsplit("= ")
        .next()
        .and_then(|s| s.trim_end_matches(" mV").parse().ok())
        .unwrap_or_else(|| panic!("no |Δ| in `{line}`"))
}

#[test]
fn full_cell_resimulation_from_a_results_file_and_a_database() {
    let tmp = tempfile::tempdir().unwrap();
    let (results, _, model) = example_run(tmp.path());
    let p = |n: &str| tmp.path().join(n);
    let db = p("db");
    run(&[&"db", &"init", &results, &db]);
    let still = |src: &[&dyn AsRef<std::ffi::OsStr>], out: &Path| -> (bool, String, String) {
        let mut a: Vec<&std::ffi::OsStr> = vec!["plot".as_ref(), "morphology".as_ref()];
        a.extend(src.iter().map(|s| s.as_ref()));
        a.extend(["--at", "150", "--overwrite", "--out"].map(std::ffi::OsStr::new));
        a.push(out.as_os_str());
        isf(&a)
    };
    let ok = |r: (bool, String, String)| {
        assert!(r.0, "{}", r.2);
        r.1
    };
    // A database trial: its activations, soma trace and parameter copies (the other inputs from
    // the results file it was built from). The stored soma trace is f32: agreement within its
    // round-off (half an ulp is below 4e-6 mV at −70 mV).
    let out = ok(still(
        &[&"--db", &db, &"--trial", &"example_l5pt/000003"],
        &p("db.png"),
    ));
    assert!(max_delta(&out, "soma trace") < 1e-5, "{out}");
    assert!(Image::read(&p("db.png")).non_white() > 1000);

    // The results file needs none of the run's files: they are moved away.
    let moved = p("moved");
    std::fs::rename(&model, &moved).unwrap();
    let results = moved.join("example_results.h5");
    for trial in ["0", "5"] {
        let out = ok(still(
            &[&"--results", &results, &"--trial", &trial],
            &p("r.png"),
        ));
        assert!(max_delta(&out, "soma trace") < 1e-5, "trial {trial}: {out}");
    }
    // Trials and files that are not there.
    let (good, _, err) = still(&[&"--results", &results, &"--trial", &"8"], &p("x.png"));
    assert!(
        !good && err.contains("has 8 committed trials (0–7), not trial 8"),
        "{err}"
    );
    let (good, _, err) = still(&[&"--results", &results, &"--trial", &"a"], &p("x.png"));
    assert!(!good && err.contains("--trial `a`"), "{err}");
    let (good, _, err) = still(
        &[&"--db", &db, &"--trial", &"example_l5pt/000042"],
        &p("x.png"),
    );
    assert!(
        !good && err.contains("no trial `example_l5pt/000042`"),
        "{err}"
    );
    let (good, _, err) = still(
        &[
            &"--db",
            &db,
            &"--trial",
            &"example_l5pt/000001",
            &"--resimulate",
        ],
        &p("x.png"),
    );
    assert!(
        !good && err.contains("--resimulate and --cell go with --results"),
        "{err}"
    );
    // The database without its results file: its parameter copies name a morphology relative to
    // themselves, which is not there; the error says which, and the files can be named.
    let (good, _, err) = still(
        &[&"--db", &db, &"--trial", &"example_l5pt/000001"],
        &p("x.png"),
    );
    assert!(
        !good && err.contains("neuron.filename") && err.contains("example_l5pt.hoc"),
        "{err}"
    );
    let out = ok(still(
        &[
            &"--db",
            &db,
            &"--trial",
            &"example_l5pt/000001",
            &"--cell-param",
            &moved.join("cell.param"),
            &"--network-param",
            &moved.join("network.param"),
        ],
        &p("db1.png"),
    ));
    assert!(max_delta(&out, "soma trace") < 1e-5, "{out}");

    // A results file without the simulated parameter files (as format version 1 wrote them).
    let stripped = p("stripped.h5");
    std::fs::copy(&results, &stripped).unwrap();
    let py = Command::new("python3")
        .args([
            "-c",
            "import h5py,sys; f=h5py.File(sys.argv[1],'r+'); \
             del f['cells/example_l5pt/parameterfiles']",
        ])
        .arg(&stripped)
        .status()
        .expect("python3 with h5py");
    assert!(py.success());
    let (good, _, err) = still(&[&"--results", &stripped, &"--trial", &"0"], &p("x.png"));
    assert!(
        !good
            && err.contains("stripped.h5")
            && err.contains("has no parameterfiles")
            && err.contains("--cell-param"),
        "{err}"
    );
    let out = ok(still(
        &[
            &"--results",
            &stripped,
            &"--trial",
            &"2",
            &"--cell-param",
            &moved.join("cell.param"),
            &"--network-param",
            &moved.join("network.param"),
        ],
        &p("s.png"),
    ));
    assert!(max_delta(&out, "soma trace") < 1e-5, "{out}");
}

/// A database of ISF's output folder (`isf db init-isf`): the reference network trial on cell 86,
/// re-simulated from the database's activations (ISF's synapse ids placed on the network of the
/// parameter files), reproduces NEURON's soma trace.
#[test]
fn full_cell_resimulation_of_an_isf_database_trial() {
    let Some((cell, network, synapses)) = isf::testing::reference_trial() else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let db = tmp.path().join("db");
    run(&[&"db", &"init-isf", &synapses.parent().unwrap(), &db]);
    let png = tmp.path().join("ref.png");
    let out = run(&[
        &"plot",
        &"morphology",
        &"--db",
        &db,
        &"--trial",
        &"isf_output/000000",
        &"--cell-param",
        &cell,
        &"--network-param",
        &network,
        &"--at",
        &"45",
        &"--out",
        &png,
    ]);
    assert!(max_delta(&out, "soma trace") < 1e-6, "{out}");
    assert!(Image::read(&png).non_white() > 1000);
}
