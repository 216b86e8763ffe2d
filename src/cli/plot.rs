//! `isf plot KIND …`: pictures from the files isf writes (docs/plot.md). Every kind writes one
//! output (`--out`), refused if it exists unless `--overwrite`, and takes its format from the
//! extension.

use std::path::{Path, PathBuf};

use clap::{Args, Subcommand};

use crate::mechanisms::Numerics;
use crate::plot::figures::{
    self, Canvas, ChartData, ChartQuery, Coloring, Morphology, MorphologyOptions, Rendered,
};
use crate::plot::fullcell::{self, StoredTrial};
use crate::plot::morphology::View;
use crate::plot::stored;
use crate::plot::Format;

/// Arguments of `isf plot`.
#[derive(Args, Debug)]
pub struct PlotArgs {
    /// The kind of picture.
    #[command(subcommand)]
    pub kind: PlotKind,
}

/// The kinds of pictures.
#[derive(Subcommand, Debug)]
pub enum PlotKind {
    /// The 3-D morphology of a stored trial (re-simulated, or as the run recorded every segment)
    /// coloured by voltage (or dendrite label) with
    /// its active synapses: a still (`.png` with `--at`), PNG frames (a folder), `.gif`, `.mp4`,
    /// `.webm`.
    Morphology(Box<MorphologyArgs>),
    /// Voltage traces (soma, optionally the recording sites) of one or many trials, spikes
    /// marked.
    Traces(TracesArgs),
    /// Raster: soma spikes across trials, or one trial's presynaptic spikes or synapse
    /// activations grouped and coloured by population.
    Raster(RasterArgs),
    /// PSTH: soma spikes across trials, or synapse activations per cell type or EXC/INH.
    Psth(PsthArgs),
    /// Heat maps of a database's spatio-temporal synapse-activation binning (`isf db bin`):
    /// mean activations per trial, time on x, groups (or soma distance) on y.
    Binning(BinningArgs),
    /// The temporal (and, for soma-distance keys, spatial) kernels per group of a reduced LDA
    /// model (`isf reduce fit`).
    Kernels(KernelsArgs),
}

/// Arguments of `isf plot binning`.
#[derive(Args, Debug)]
pub struct BinningArgs {
    /// The database folder.
    #[arg(long, value_name = "DB")]
    pub db: PathBuf,
    /// The binning, e.g. `synapse_activation_binned/t1/EI__binned_somadist` (default: the
    /// database's only binning, or its only one with `binned_somadist`).
    #[arg(long, value_name = "KEY")]
    pub key: Option<String>,
    /// Trials averaged (indices into the database's trials): `all`, or e.g. `0,3,5-9`.
    #[arg(long, value_name = "SEL")]
    pub trials: Option<String>,
    /// Start of the time axis \[ms\] (default: the first bin).
    #[arg(long, value_name = "MS", allow_negative_numbers = true)]
    pub t_start: Option<f64>,
    /// End of the time axis \[ms\] (default: the last bin's end).
    #[arg(long, value_name = "MS")]
    pub t_stop: Option<f64>,
    /// The output.
    #[command(flatten)]
    pub output: OutputArgs,
}

/// Arguments of `isf plot kernels`.
#[derive(Args, Debug)]
pub struct KernelsArgs {
    /// The database folder.
    #[arg(long, value_name = "DB")]
    pub db: PathBuf,
    /// The model's key (`isf reduce fit --out KEY`).
    #[arg(long, value_name = "KEY")]
    pub model: String,
    /// The output.
    #[command(flatten)]
    pub output: OutputArgs,
}

/// Where a chart's data comes from: a results file or an ISF output folder.
#[derive(Args, Debug, Clone)]
pub struct ChartSource {
    /// An isf results file.
    #[arg(long, value_name = "RESULTS.h5", conflicts_with = "isf_folder")]
    pub results: Option<PathBuf>,
    /// The cell within the results file (needed when it has several).
    #[arg(long)]
    pub cell: Option<String>,
    /// An ISF output folder (trace files, `simulation_runNNNN_*.csv`).
    #[arg(long, value_name = "DIR")]
    pub isf_folder: Option<PathBuf>,
    /// Trials (results file: trial index within the cell) or runs (ISF folder): `all`, or
    /// indices and ranges such as `0,3,5-9`.
    #[arg(long, value_name = "SEL")]
    pub trials: Option<String>,
    /// Start of the time axis \[ms\].
    #[arg(long, value_name = "MS", allow_negative_numbers = true)]
    pub t_start: Option<f64>,
    /// End of the time axis \[ms\].
    #[arg(long, value_name = "MS")]
    pub t_stop: Option<f64>,
}

/// Arguments of `isf plot traces`.
#[derive(Args, Debug)]
pub struct TracesArgs {
    /// The data (default trials: the first).
    #[command(flatten)]
    pub source: ChartSource,
    /// The output.
    #[command(flatten)]
    pub output: OutputArgs,
    /// Draw the recording sites' traces too.
    #[arg(long)]
    pub sites: bool,
}

/// Arguments of `isf plot raster`.
#[derive(Args, Debug)]
pub struct RasterArgs {
    /// The data (default trials: all for `soma`, the first for the others).
    #[command(flatten)]
    pub source: ChartSource,
    /// The output.
    #[command(flatten)]
    pub output: OutputArgs,
    /// `soma` spikes across trials, or one trial's `presynaptic` spikes or `synapses`'
    /// activations.
    #[arg(long, default_value = "soma", value_parser = ["soma", "presynaptic", "synapses"])]
    pub of: String,
}

/// Arguments of `isf plot psth`.
#[derive(Args, Debug)]
pub struct PsthArgs {
    /// The data (default trials: all).
    #[command(flatten)]
    pub source: ChartSource,
    /// The output.
    #[command(flatten)]
    pub output: OutputArgs,
    /// `soma` spikes or `synapses`' activations.
    #[arg(long, default_value = "soma", value_parser = ["soma", "synapses"])]
    pub of: String,
    /// Bin width \[ms\].
    #[arg(long, default_value_t = 5.0)]
    pub bin: f64,
    /// Synapse activations grouped by `cell-type` or `ei` (EXC/INH).
    #[arg(long, default_value = "cell-type", value_parser = ["cell-type", "ei"])]
    pub group: String,
}

/// Where a re-simulated trial comes from.
#[derive(Args, Debug, Clone)]
pub struct TrialSource {
    /// An ISF output folder (`simulation_runNNNN_synapses.csv`, the parameter copies and
    /// `*_vm_all_traces.csv`); the trial is `--run`.
    #[arg(long, value_name = "DIR", conflicts_with_all = ["synapses", "results", "db"])]
    pub isf_folder: Option<PathBuf>,
    /// The trial's run number within `--isf-folder`.
    #[arg(long, default_value_t = 0)]
    pub run: usize,
    /// An isf results file; the trial is `--trial` of `--cell` (its parameter files and inputs
    /// come from the file).
    #[arg(long, value_name = "RESULTS.h5", conflicts_with_all = ["synapses", "db"])]
    pub results: Option<PathBuf>,
    /// The cell within the results file (needed when it has several).
    #[arg(long)]
    pub cell: Option<String>,
    /// An isf database (`isf db init`); the trial is `--trial` (an id `<cell>/<NNNNNN>`).
    #[arg(long, value_name = "DB", conflicts_with = "synapses")]
    pub db: Option<PathBuf>,
    /// The trial: its index within the cell (`--results`) or its id (`--db`).
    #[arg(long, value_name = "TRIAL", conflicts_with_all = ["isf_folder", "synapses"])]
    pub trial: Option<String>,
    /// With `--results`: re-simulate even when the file recorded every segment of the trial, and
    /// compare the re-simulation with that recording.
    #[arg(long)]
    pub resimulate: bool,
    /// An ISF synapse activation file to replay (with `--cell-param` and `--network-param`).
    #[arg(long, value_name = "SYNAPSES.csv")]
    pub synapses: Option<PathBuf>,
    /// Cell parameter file (default: the folder's `*_neuron_model.param`, or the copy the
    /// results file or database keeps).
    #[arg(long, value_name = "CELL.param")]
    pub cell_param: Option<PathBuf>,
    /// Network parameter file (default: the folder's `*_network_model.param`, or the copy the
    /// results file or database keeps).
    #[arg(long, value_name = "NETWORK.param")]
    pub network_param: Option<PathBuf>,
    /// `fast` or `exact` numerics for the re-simulation (default: the run's, as its config in a
    /// results file records them, else `fast`).
    #[arg(long, value_name = "fast|exact")]
    pub numerics: Option<Numerics>,
}

impl TrialSource {
    fn stored(&self) -> anyhow::Result<StoredTrial> {
        let (cp, np) = (self.cell_param.clone(), self.network_param.clone());
        if self.results.is_none() && (self.resimulate || self.cell.is_some()) {
            anyhow::bail!("--resimulate and --cell go with --results FILE.h5");
        }
        let trial = |what: &str| {
            self.trial
                .clone()
                .ok_or_else(|| anyhow::anyhow!("{what} needs --trial"))
        };
        match (&self.isf_folder, &self.results, &self.db, &self.synapses) {
            (Some(dir), ..) => fullcell::isf_folder_trial(dir, self.run, cp, np),
            (None, Some(r), ..) => {
                let t = trial("--results")?;
                let index = t.parse::<usize>().map_err(|_| {
                    anyhow::anyhow!(
                        "--trial `{t}`: a trial of a results file is its index within the cell"
                    )
                })?;
                stored::results_trial(r, self.cell.as_deref(), index, cp, np)
            }
            (None, None, Some(db), _) => stored::db_trial(db, &trial("--db")?, cp, np),
            (None, None, None, Some(syn)) => {
                let (Some(cell), Some(network)) = (cp, np) else {
                    anyhow::bail!("--synapses needs --cell-param and --network-param");
                };
                Ok(StoredTrial::replay(cell, network, syn.clone()))
            }
            (None, None, None, None) => anyhow::bail!(
                "name the trial: --isf-folder DIR [--run N], --results FILE.h5 --trial N, \
                 --db DIR --trial ID or --synapses FILE"
            ),
        }
    }
}

/// Size and output flags shared by every kind.
#[derive(Args, Debug, Clone)]
pub struct OutputArgs {
    /// Output file (format from its extension) or folder (PNG frames).
    #[arg(long, value_name = "PATH")]
    pub out: PathBuf,
    /// Replace an existing output.
    #[arg(long)]
    pub overwrite: bool,
    /// Width \[px\] (default 640 for the morphology, 800 for charts).
    #[arg(long)]
    pub width: Option<u32>,
    /// Height \[px\] (default 640 for the morphology, 500 for charts).
    #[arg(long)]
    pub height: Option<u32>,
}

/// Arguments of `isf plot morphology`.
#[derive(Args, Debug)]
pub struct MorphologyArgs {
    /// The trial.
    #[command(flatten)]
    pub source: TrialSource,
    /// The output.
    #[command(flatten)]
    pub output: OutputArgs,
    /// First frame \[ms\].
    #[arg(long, default_value_t = 220.0)]
    pub t_start: f64,
    /// End of the frames \[ms\] (excluded).
    #[arg(long, default_value_t = 270.0)]
    pub t_stop: f64,
    /// Time between frames \[ms\].
    #[arg(long, default_value_t = 0.2)]
    pub t_step: f64,
    /// A still at this time \[ms\] (instead of an animation).
    #[arg(long, value_name = "T")]
    pub at: Option<f64>,
    /// View azimuth \[°\] (default: isf's front view, −90).
    #[arg(long, default_value_t = -90.0, allow_negative_numbers = true)]
    pub azimuth: f64,
    /// View elevation \[°\].
    #[arg(long, default_value_t = 0.0, allow_negative_numbers = true)]
    pub elevation: f64,
    /// Colour the segments by `voltage`, by dendrite `label`, or by a `scalar` of the cell's
    /// segments table (`--scalar COLUMN`).
    #[arg(long, default_value = "voltage", value_parser = ["voltage", "label", "scalar"])]
    pub color: String,
    /// The segments-table column for `--color scalar`: a geometry column (`diam`, `area_um2`,
    /// `soma_dist`, …) or a mechanism parameter `param_mechanism` (e.g. `gIhbar_Ih`), as
    /// `isf cell-info` writes them.
    #[arg(long, value_name = "COLUMN")]
    pub scalar: Option<String>,
    /// Colour-map minimum of `--color scalar` (default: the column's smallest value).
    #[arg(long, value_name = "X", allow_negative_numbers = true)]
    pub scalar_min: Option<f64>,
    /// Colour-map maximum of `--color scalar` (default: the column's largest value).
    #[arg(long, value_name = "X", allow_negative_numbers = true)]
    pub scalar_max: Option<f64>,
    /// Colour-map minimum \[mV\].
    #[arg(long, default_value_t = -75.0, allow_negative_numbers = true)]
    pub vmin: f64,
    /// Colour-map maximum \[mV\].
    #[arg(long, default_value_t = -30.0, allow_negative_numbers = true)]
    pub vmax: f64,
    /// Do not draw the active synapses.
    #[arg(long)]
    pub no_synapses: bool,
    /// A synapse is drawn in the frames within this time after its release \[ms\] (default: the
    /// frame step).
    #[arg(long, value_name = "MS")]
    pub synapse_window: Option<f64>,
    /// Frames per second of a GIF or video.
    #[arg(long, default_value_t = 25.0)]
    pub fps: f64,
}

/// Runs `isf plot`.
pub fn run(args: PlotArgs) -> anyhow::Result<()> {
    match args.kind {
        PlotKind::Morphology(a) => morphology(&a),
        PlotKind::Traces(a) => {
            let (q, canvas) = query(&a.source, &a.output)?;
            save(figures::traces(&q, a.sites, &canvas)?, &a.output)
        }
        PlotKind::Raster(a) => {
            let (q, canvas) = query(&a.source, &a.output)?;
            save(figures::raster(&q, a.of.parse()?, &canvas)?, &a.output)
        }
        PlotKind::Psth(a) => {
            let (q, canvas) = query(&a.source, &a.output)?;
            let r = figures::psth(&q, a.of.parse()?, a.bin, a.group.parse()?, &canvas)?;
            save(r, &a.output)
        }
        PlotKind::Binning(a) => {
            let canvas = canvas(&a.output)?;
            let r = figures::binning(
                &a.db,
                a.key.as_deref(),
                a.trials.as_deref(),
                a.t_start,
                a.t_stop,
                &canvas,
            )?;
            save(r, &a.output)
        }
        PlotKind::Kernels(a) => {
            let canvas = canvas(&a.output)?;
            save(figures::kernels(&a.db, &a.model, &canvas)?, &a.output)
        }
    }
}

/// Checks the output first (no reading for an output that would be refused): its format and
/// size.
fn canvas(out: &OutputArgs) -> anyhow::Result<Canvas> {
    let format = Format::of(&out.out)?;
    super::output::check(&out.out, out.overwrite)?;
    Ok(Canvas {
        format,
        width: out.width,
        height: out.height,
    })
}

/// A chart's data and canvas, the output checked first.
fn query(src: &ChartSource, out: &OutputArgs) -> anyhow::Result<(ChartQuery, Canvas)> {
    let canvas = canvas(out)?;
    let data = match (&src.results, &src.isf_folder) {
        (Some(r), _) => ChartData::Results {
            path: r.clone(),
            cell: src.cell.clone(),
        },
        (None, Some(d)) => ChartData::IsfFolder(d.clone()),
        (None, None) => anyhow::bail!("name the data: --results FILE.h5 or --isf-folder DIR"),
    };
    let q = ChartQuery {
        data,
        trials: src.trials.clone(),
        t_start: src.t_start,
        t_stop: src.t_stop,
    };
    Ok((q, canvas))
}

fn save(r: Rendered, out: &OutputArgs) -> anyhow::Result<()> {
    let _lock = super::output::lock_creating_parent(&out.out)?;
    crate::output::write_atomic(&out.out, &r.bytes)?;
    println!("{}: {}×{} px", out.out.display(), r.width, r.height);
    Ok(())
}

/// What `--out` asks for.
enum Target {
    Still,
    Frames,
    Gif,
    Video,
}

fn target(out: &Path, still: bool) -> anyhow::Result<Target> {
    let ext = out
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase);
    Ok(match (ext.as_deref(), still) {
        (Some("png"), true) => Target::Still,
        (None, false) => Target::Frames,
        (Some("gif"), false) => Target::Gif,
        (Some("mp4" | "webm"), false) => Target::Video,
        (Some("png"), false) => anyhow::bail!(
            "{}: a .png is a still: give its time with --at (or name a folder for PNG frames)",
            out.display()
        ),
        (_, true) => anyhow::bail!("{}: a still (--at) is written as .png", out.display()),
        (Some(e), false) => anyhow::bail!(
            "{}: `.{e}`: an animation is a .gif, .mp4, .webm or a folder of PNG frames",
            out.display()
        ),
    })
}

impl MorphologyArgs {
    /// The library's options of these flags.
    fn options(&self) -> anyhow::Result<MorphologyOptions> {
        if (self.color == "scalar") != self.scalar.is_some() {
            anyhow::bail!("--color scalar and --scalar COLUMN go together");
        }
        let coloring = match (self.color.as_str(), &self.scalar) {
            ("label", _) => Coloring::Label,
            (_, Some(column)) => Coloring::Scalar {
                column: column.clone(),
                min: self.scalar_min,
                max: self.scalar_max,
            },
            _ => Coloring::Voltage {
                vmin: self.vmin,
                vmax: self.vmax,
            },
        };
        Ok(MorphologyOptions {
            t_start: self.t_start,
            t_stop: self.t_stop,
            t_step: self.t_step,
            at: self.at,
            view: View {
                azimuth_deg: self.azimuth,
                elevation_deg: self.elevation,
            },
            coloring,
            synapse_window: (!self.no_synapses)
                .then_some(self.synapse_window.unwrap_or(self.t_step)),
            width: self.output.width,
            height: self.output.height,
        })
    }
}

fn morphology(a: &MorphologyArgs) -> anyhow::Result<()> {
    let out = &a.output.out;
    let kind = target(out, a.at.is_some())?;
    super::output::check(out, a.output.overwrite)?;
    crate::plot::fonts::ensure()?;
    let o = a.options()?;
    let stored = a.source.stored()?;
    let started = std::time::Instant::now();
    let (m, use_recording) =
        Morphology::of_stored(&stored, a.source.numerics, a.source.resimulate, &o)?;
    let sim_s = started.elapsed().as_secs_f64();
    if use_recording {
        let t = &m.trial.t_ms;
        println!(
            "the run recorded every segment of this trial: drawing its recording ({} samples, \
             {:.3}–{:.3} ms)",
            t.len(),
            t.first().copied().unwrap_or(0.0),
            t.last().copied().unwrap_or(0.0)
        );
    }
    for c in m.trial.soma_check.iter().chain(&m.trial.segment_check) {
        println!("{c}");
    }
    let _lock = super::output::lock_creating_parent(out)?;
    let started = std::time::Instant::now();
    match kind {
        Target::Still => crate::output::write_atomic(out, &m.still_png()?.bytes)?,
        Target::Frames => {
            let staged = crate::output::StagedDir::with_overwrite(out, a.output.overwrite)?;
            m.write_frames(staged.path())?;
            staged.commit()?;
        }
        Target::Gif => crate::output::write_atomic(out, &m.gif(a.fps)?.bytes)?,
        Target::Video => {
            let tmp = hidden_sibling(out);
            if let Err(e) = m.write_video(&tmp, a.fps) {
                let _ = std::fs::remove_file(&tmp);
                return Err(e);
            }
            std::fs::rename(&tmp, out)
                .map_err(|e| anyhow::anyhow!("installing {}: {e}", out.display()))?;
        }
    }
    let (w, h) = m.size();
    let n = m.times().len();
    println!(
        "{}: {} frame{} of {}×{} px, {} synapse releases in the trial; {} in {:.2} s, drawn in \
         {:.2} s",
        out.display(),
        n,
        if n == 1 { "" } else { "s" },
        w,
        h,
        m.trial
            .synapses
            .iter()
            .map(|s| s.times_ms.len())
            .sum::<usize>(),
        if use_recording {
            "rebuilt"
        } else {
            "re-simulated"
        },
        sim_s,
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// `.name.partial.ext` beside `out` (the extension kept, as ffmpeg picks its muxer by it).
fn hidden_sibling(out: &Path) -> PathBuf {
    let name = out
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let ext = out
        .extension()
        .map(|e| e.to_string_lossy().into_owned())
        .unwrap_or_default();
    out.with_file_name(format!(".{name}.partial.{ext}"))
}
