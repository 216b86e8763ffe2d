//! Speed of `isf plot`, printed (not asserted: the host is shared): the getting-started animation
//! of ISF's reference network trial on cell 86 (220–270 ms at 0.2 ms: 250 frames of 640×640 px,
//! re-simulation with every segment recorded, drawing, GIF and PNG encoding), and a raster and a
//! PSTH of 1000 trials read from a results file made here with the run layer's synthetic test
//! fixture. Targets: animation ≤ 10 s, raster or PSTH ≤ 2 s on a 2-core machine. Prints wall
//! time and the process's CPU time (all threads), best of `ISF_BENCH_ROUNDS` (default 3).
//! The animation needs the shared reference data (`../shared`); without it only the charts run.

use std::time::Instant;

use isf::mechanisms::Numerics;
use isf::plot::animation::{frame_times, Animator, ColorBy};
use isf::plot::charts::{Chart, Grouping};
use isf::plot::data::Results;
use isf::plot::encode::{png, GifWriter};
use isf::plot::fullcell::{isf_folder_trial, simulate};
use isf::plot::morphology::{Scene, View};
use isf::plot::{ColorMap, Figure, Format};

fn cpu_seconds() -> f64 {
    let mut u: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: getrusage only writes the struct it is given.
    unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut u) };
    let tv = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 * 1e-6;
    tv(u.ru_utime) + tv(u.ru_stime)
}

/// Best (wall, CPU) seconds of `rounds` runs of `f`.
fn best(rounds: usize, mut f: impl FnMut()) -> (f64, f64) {
    let (mut w, mut c) = (f64::INFINITY, f64::INFINITY);
    for _ in 0..rounds {
        let (t0, c0) = (Instant::now(), cpu_seconds());
        f();
        w = w.min(t0.elapsed().as_secs_f64());
        c = c.min(cpu_seconds() - c0);
    }
    (w, c)
}

fn main() {
    let rounds: usize = std::env::var("ISF_BENCH_ROUNDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(3);
    println!(
        "isf plot bench: best of {rounds}, {} rayon threads",
        rayon::current_num_threads()
    );
    animation(rounds);
    charts(rounds);
}

fn animation(rounds: usize) {
    let Some((cell, network, synapses)) = isf::testing::reference_trial() else {
        return;
    };
    let folder = synapses.parent().unwrap();
    let stored = isf_folder_trial(folder, 0, Some(cell), Some(network)).unwrap();
    let times = frame_times(220.0, 270.0, 0.2).unwrap();
    let cmap = ColorBy::Voltage(ColorMap::viridis(-75.0, -30.0).unwrap());
    let mut sim_s = (0.0, 0.0);
    let mut gif_bytes = 0;
    let total = best(rounds, || {
        let t0 = (Instant::now(), cpu_seconds());
        let trial = simulate(&stored, Some(270.2), Numerics::Fast).unwrap();
        sim_s = (t0.0.elapsed().as_secs_f64(), cpu_seconds() - t0.1);
        let scene = Scene::new(&trial.template, View::default(), 640, 640).unwrap();
        let a = Animator {
            scene: &scene,
            trial: &trial,
            color_by: &cmap,
            synapses: Some(0.2),
        };
        let mut gif = GifWriter::new(640, 640, 4, a.palette()).unwrap();
        a.render_all(&times, 32, &mut |_, f| gif.add(f)).unwrap();
        gif_bytes = gif.finish().unwrap().len();
    });
    println!(
        "animation, cell 86, 250 frames 640×640 → GIF ({:.1} MB): {:.2} s wall, {:.2} s CPU \
         (of which the re-simulation with 1142 segments recorded: {:.2} s wall, {:.2} s CPU); \
         target ≤ 10 s",
        gif_bytes as f64 / 1e6,
        total.0,
        total.1,
        sim_s.0,
        sim_s.1
    );
    // Drawing and PNG encoding alone (the frames folder).
    let trial = simulate(&stored, Some(270.2), Numerics::Fast).unwrap();
    let scene = Scene::new(&trial.template, View::default(), 640, 640).unwrap();
    let a = Animator {
        scene: &scene,
        trial: &trial,
        color_by: &cmap,
        synapses: Some(0.2),
    };
    let frames = best(rounds, || {
        a.render_all(&times, 32, &mut |_, f| {
            use rayon::prelude::*;
            f.par_iter().for_each(|rgb| {
                png(rgb, 640, 640).unwrap();
            });
            Ok(())
        })
        .unwrap();
    });
    println!(
        "  250 frames drawn and PNG-encoded (no re-simulation): {:.2} s wall, {:.2} s CPU",
        frames.0, frames.1
    );
}

fn charts(rounds: usize) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("c.param"), "{}").unwrap();
    std::fs::write(dir.path().join("n.param"), "{}").unwrap();
    std::fs::write(
        dir.path().join("run.toml"),
        "output = \"out.h5\"\nbase_seed = 7\nbatch_size = 250\n[record]\nsites = false\n\
         every_k_steps = 4\n[[cell]]\nname = \"synthetic\"\ncell_param = \"c.param\"\n\
         network_param = \"n.param\"\ntrials = 1000\nt_stop_ms = 300\n\
         model = \"synthetic-test-fixture\"\n",
    )
    .unwrap();
    let t0 = Instant::now();
    isf::run::run_config(
        &dir.path().join("run.toml"),
        &isf::run::RunOptions {
            resume: false,
            overwrite: false,
            threads: None,
            command_line: "bench".into(),
            progress: false,
            write_hook: None,
            extra_sinks: Vec::new(),
            mechanisms: Default::default(),
        },
        &isf::comm::SerialCommunicator,
    )
    .unwrap();
    let h5 = dir.path().join("out.h5");
    println!(
        "1000-trial results file (synthetic fixture, 300 ms) made in {:.1} s",
        t0.elapsed().as_secs_f64()
    );
    let out = dir.path().join("chart.png");
    let mut spikes = 0;
    let raster = best(rounds, || {
        let r = Results::open(&h5, None).unwrap();
        let s = r.soma_spikes().unwrap();
        spikes = s.iter().map(Vec::len).sum();
        let chart = Chart::TrialRaster {
            trials: s
                .into_iter()
                .enumerate()
                .map(|(i, v)| (i.to_string(), v))
                .collect(),
            range: (0.0, 300.0),
        };
        chart.save(&out, 800, 500).unwrap();
    });
    println!(
        "raster of 1000 trials ({spikes} soma spikes) → PNG: {:.3} s wall, {:.3} s CPU; target ≤ 2 s",
        raster.0, raster.1
    );
    let psth = best(rounds, || {
        let r = Results::open(&h5, None).unwrap();
        let chart = Chart::SomaPsth {
            trials: r.soma_spikes().unwrap(),
            bin_ms: 5.0,
            range: (0.0, 300.0),
        };
        chart.save(&out, 800, 500).unwrap();
    });
    println!(
        "soma PSTH of 1000 trials → PNG: {:.3} s wall, {:.3} s CPU; target ≤ 2 s",
        psth.0, psth.1
    );
    let mut releases = 0;
    let syn = best(rounds, || {
        let r = Results::open(&h5, None).unwrap();
        let trials: Vec<_> = (0..r.n_trials())
            .map(|t| r.activity(t, false).unwrap())
            .collect();
        releases = trials
            .iter()
            .flat_map(|a| a.rows.iter().map(|r| r.1.len()))
            .sum();
        let chart = Chart::ActivityPsth {
            trials,
            grouping: Grouping::ExcInh,
            bin_ms: 5.0,
            range: (0.0, 300.0),
        };
        let _ = chart.render(Format::Svg, 800, 500).unwrap();
    });
    println!(
        "synapse-activation PSTH of 1000 trials ({releases} releases) → SVG: {:.3} s wall, \
         {:.3} s CPU",
        syn.0, syn.1
    );
}
