//! `isf plot KIND …`: pictures from the files isf writes (docs/plot.md). Every kind writes one
//! output (`--out`), refused if it exists unless `--overwrite`, and takes its format from the
//! extension.

use std::path::{Path, PathBuf};

use clap::{Args, Subcommand};

use crate::mechanisms::Numerics;
use crate::plot::animation::{frame_times, Animator, ColorBy};
use crate::plot::charts::{Chart, Grouping};
use crate::plot::data::{self, Results};
use crate::plot::encode::{GifWriter, VideoWriter};
use crate::plot::fullcell::{self, StoredTrial};
use crate::plot::maps::{BinningMap, Kernels, Picture};
use crate::plot::morphology::{Scene, View};
use crate::plot::stored;
use crate::plot::Figure;
use crate::plot::{ColorMap, Format};

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
            let src = open(&a.source, &a.output)?;
            let trials = src.select(a.source.trials.as_deref().unwrap_or("0"))?;
            let traces = src.traces(&trials, a.sites)?;
            let chart = Chart::Traces {
                traces,
                sites: a.sites,
                range: a.source.t_start.zip(a.source.t_stop),
            };
            save(&chart, &a.output)
        }
        PlotKind::Raster(a) => {
            let src = open(&a.source, &a.output)?;
            let chart = if a.of == "soma" {
                let trials = src.select(a.source.trials.as_deref().unwrap_or("all"))?;
                let spikes = src.soma_spikes(&trials)?;
                Chart::TrialRaster {
                    range: src.range(&a.source)?,
                    trials: trials.iter().map(|t| t.to_string()).zip(spikes).collect(),
                }
            } else {
                let trial = src.one_trial(a.source.trials.as_deref())?;
                Chart::ActivityRaster {
                    activity: src.activity(trial, a.of == "presynaptic")?,
                    what: if a.of == "presynaptic" {
                        "presynaptic spikes"
                    } else {
                        "synapse activations"
                    }
                    .into(),
                    range: src.range(&a.source)?,
                }
            };
            save(&chart, &a.output)
        }
        PlotKind::Psth(a) => {
            let src = open(&a.source, &a.output)?;
            let trials = src.select(a.source.trials.as_deref().unwrap_or("all"))?;
            let range = src.range(&a.source)?;
            let chart = if a.of == "soma" {
                Chart::SomaPsth {
                    trials: src.soma_spikes(&trials)?,
                    bin_ms: a.bin,
                    range,
                }
            } else {
                Chart::ActivityPsth {
                    trials: trials
                        .iter()
                        .map(|&t| src.activity(t, false))
                        .collect::<anyhow::Result<_>>()?,
                    grouping: if a.group == "ei" {
                        Grouping::ExcInh
                    } else {
                        Grouping::CellType
                    },
                    bin_ms: a.bin,
                    range,
                }
            };
            save(&chart, &a.output)
        }
        PlotKind::Binning(a) => {
            Format::of(&a.output.out)?;
            super::output::check(&a.output.out, a.output.overwrite)?;
            let map = BinningMap::read(&a.db, a.key.as_deref(), a.trials.as_deref())?;
            let first = map.edges_ms.first().copied().unwrap_or(0.0);
            let last = map.edges_ms.last().copied().unwrap_or(1.0);
            let range = (a.t_start.unwrap_or(first), a.t_stop.unwrap_or(last));
            if !(range.0.is_finite() && range.1.is_finite() && range.0 < range.1) {
                anyhow::bail!(
                    "time axis {}–{} ms: need --t-start < --t-stop",
                    range.0,
                    range.1
                );
            }
            let h = 120 + 160 * map.panels.len() as u32;
            save_picture(&Picture::Binning(&map, range), &a.output, 900, h.min(900))
        }
        PlotKind::Kernels(a) => {
            Format::of(&a.output.out)?;
            super::output::check(&a.output.out, a.output.overwrite)?;
            let k = Kernels::read(&a.db, &a.model)?;
            let w = if k.spatial { 1000 } else { 800 };
            save_picture(&Picture::Kernels(&k), &a.output, w, 500)
        }
    }
}

fn save_picture(p: &Picture, out: &OutputArgs, w: u32, h: u32) -> anyhow::Result<()> {
    let (w, h) = (out.width.unwrap_or(w), out.height.unwrap_or(h));
    let _lock = super::output::lock_creating_parent(&out.out)?;
    p.save(&out.out, w, h)?;
    println!("{}: {w}×{h} px", out.out.display());
    Ok(())
}

/// An opened chart source.
enum Source {
    Results(Results),
    Isf(PathBuf, usize),
}

/// Checks the output first (no reading for an output that would be refused), then opens the data.
fn open(src: &ChartSource, out: &OutputArgs) -> anyhow::Result<Source> {
    Format::of(&out.out)?;
    super::output::check(&out.out, out.overwrite)?;
    match (&src.results, &src.isf_folder) {
        (Some(r), _) => Ok(Source::Results(Results::open(r, src.cell.as_deref())?)),
        (None, Some(d)) => {
            // Runs: the columns of the soma trace file.
            Ok(Source::Isf(d.clone(), count_runs(d)?))
        }
        (None, None) => anyhow::bail!("name the data: --results FILE.h5 or --isf-folder DIR"),
    }
}

/// Runs of an ISF folder: the `Vm run NN` columns of its soma trace file.
fn count_runs(dir: &Path) -> anyhow::Result<usize> {
    let f = std::fs::read_dir(dir)?
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .find(|p| p.to_string_lossy().ends_with("_vm_all_traces.csv"))
        .ok_or_else(|| anyhow::anyhow!("{}: no *_vm_all_traces.csv", dir.display()))?;
    let text = crate::text::read_text(&f).map_err(|e| anyhow::anyhow!("{}: {e}", f.display()))?;
    Ok(text
        .lines()
        .next()
        .unwrap_or("")
        .split('\t')
        .filter(|c| c.starts_with("Vm run "))
        .count())
}

impl Source {
    fn n_trials(&self) -> usize {
        match self {
            Source::Results(r) => r.n_trials(),
            Source::Isf(_, n) => *n,
        }
    }

    fn select(&self, spec: &str) -> anyhow::Result<Vec<usize>> {
        data::parse_trials(spec, self.n_trials())
    }

    fn one_trial(&self, spec: Option<&str>) -> anyhow::Result<usize> {
        let t = self.select(spec.unwrap_or("0"))?;
        match t.as_slice() {
            [one] => Ok(*one),
            _ => anyhow::bail!("this picture shows one trial: give one index with --trials"),
        }
    }

    fn traces(&self, trials: &[usize], sites: bool) -> anyhow::Result<data::Traces> {
        match self {
            Source::Results(r) => r.traces(trials, sites),
            Source::Isf(d, _) => {
                let mut t = data::isf_folder_traces(d, trials)?;
                if !sites {
                    t.sites.clear();
                }
                Ok(t)
            }
        }
    }

    fn soma_spikes(&self, trials: &[usize]) -> anyhow::Result<Vec<Vec<f64>>> {
        match self {
            Source::Results(r) => {
                let all = r.soma_spikes()?;
                Ok(trials.iter().map(|&t| all[t].clone()).collect())
            }
            Source::Isf(d, _) => {
                let t = data::isf_folder_traces(d, trials)?;
                Ok(t.soma
                    .iter()
                    .map(|(_, v)| data::spikes_of(&t.t_ms, v))
                    .collect())
            }
        }
    }

    fn activity(&self, trial: usize, presynaptic: bool) -> anyhow::Result<data::Activity> {
        match self {
            Source::Results(r) => r.activity(trial, presynaptic),
            Source::Isf(d, _) => data::isf_folder_activity(d, trial, presynaptic),
        }
    }

    /// The time axis: `--t-start`/`--t-stop`, else the trials' time span.
    fn range(&self, src: &ChartSource) -> anyhow::Result<(f64, f64)> {
        let (a, b) = match (src.t_start, src.t_stop) {
            (Some(a), Some(b)) => (a, b),
            (a, b) => {
                let t = self.traces(&[0], false)?;
                (
                    a.unwrap_or(t.t_ms.first().copied().unwrap_or(0.0)),
                    b.unwrap_or(t.t_ms.last().copied().unwrap_or(1.0)),
                )
            }
        };
        if !(a.is_finite() && b.is_finite() && a < b) {
            anyhow::bail!("time axis {a}–{b} ms: need --t-start < --t-stop");
        }
        Ok((a, b))
    }
}

fn save(chart: &Chart, out: &OutputArgs) -> anyhow::Result<()> {
    let (w, h) = (out.width.unwrap_or(800), out.height.unwrap_or(500));
    let _lock = super::output::lock_creating_parent(&out.out)?;
    chart.save(&out.out, w, h)?;
    println!("{}: {w}×{h} px", out.out.display());
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

/// `--color scalar`: the column's value per segment in the scene's order, through viridis over
/// `[--scalar-min, --scalar-max]` (default: the finite values' range). A segment without the
/// column's mechanism (an empty field of `isf cell-info`'s table) takes the map's lowest colour.
fn scalar_coloring(
    a: &MorphologyArgs,
    cell: &crate::cell::CellTemplate,
    scene: &Scene,
) -> anyhow::Result<ColorBy> {
    let name = a.scalar.as_deref().unwrap_or("");
    let table = cell.segments_table();
    let fixed = |r: &crate::cell::SegmentRow| -> Option<f64> {
        Some(match name {
            "sec_idx" => r.sec_idx as f64,
            "nseg" => r.nseg as f64,
            "sec_L" => r.sec_l,
            "seg_idx" => r.seg_idx as f64,
            "x" => r.x,
            "area_um2" => r.area_um2,
            "diam" => r.diam,
            "ri_Mohm" => r.ri_mohm,
            "cm" => r.cm,
            "Ra" => r.ra,
            "soma_dist" => r.soma_dist,
            _ => return None,
        })
    };
    let mech = table.mech_columns.iter().position(|c| c == name);
    let Some(first) = table.rows.first() else {
        anyhow::bail!("the cell has no segments");
    };
    if fixed(first).is_none() && mech.is_none() {
        anyhow::bail!(
            "--scalar `{name}`: not a numeric column of the segments table (sec_idx, nseg, sec_L, \
             seg_idx, x, area_um2, diam, ri_Mohm, cm, Ra, soma_dist, {})",
            table.mech_columns.join(", ")
        );
    }
    let value = |r: &crate::cell::SegmentRow| match mech {
        Some(m) => r.mech[m],
        None => fixed(r).unwrap_or(f64::NAN),
    };
    let by_segment: std::collections::HashMap<(usize, usize), f64> = table
        .rows
        .iter()
        .map(|r| ((r.sec_idx, r.seg_idx), value(r)))
        .collect();
    let values: Vec<f64> = scene
        .segments
        .iter()
        .map(|s| by_segment.get(s).copied().unwrap_or(f64::NAN))
        .collect();
    let finite = values.iter().copied().filter(|v| v.is_finite());
    let lo = a
        .scalar_min
        .unwrap_or_else(|| finite.clone().fold(f64::INFINITY, f64::min));
    let hi = a
        .scalar_max
        .unwrap_or_else(|| finite.fold(f64::NEG_INFINITY, f64::max));
    // A constant column still needs a range.
    let (lo, hi) = if lo == hi {
        (lo - 0.5, hi + 0.5)
    } else {
        (lo, hi)
    };
    let cmap = ColorMap::viridis(lo, hi).map_err(|e| {
        anyhow::anyhow!("--scalar `{name}`: {e} (no finite values, or give --scalar-min/max)")
    })?;
    Ok(ColorBy::Scalar(cmap, name.to_string(), values))
}

fn morphology(a: &MorphologyArgs) -> anyhow::Result<()> {
    let out = &a.output.out;
    let kind = target(out, a.at.is_some())?;
    super::output::check(out, a.output.overwrite)?;
    crate::plot::fonts::ensure()?;
    let times = match a.at {
        Some(t) => vec![t],
        None => frame_times(a.t_start, a.t_stop, a.t_step)?,
    };
    if (a.color == "scalar") != a.scalar.is_some() {
        anyhow::bail!("--color scalar and --scalar COLUMN go together");
    }
    let t_end = times.last().copied().unwrap_or(0.0) + a.t_step;
    let stored = a.source.stored()?;
    super::mech::load(&stored.mechanisms)?;
    let numerics = a.source.numerics.or(stored.numerics).unwrap_or_default();
    let started = std::time::Instant::now();
    let use_recording = stored.recorded_segments.is_some() && !a.source.resimulate;
    let trial = if use_recording {
        let t = fullcell::recorded(&stored, numerics)?;
        println!(
            "the run recorded every segment of this trial: drawing its recording ({} samples, \
             {:.3}–{:.3} ms)",
            t.t_ms.len(),
            t.t_ms.first().copied().unwrap_or(0.0),
            t.t_ms.last().copied().unwrap_or(0.0)
        );
        t
    } else {
        fullcell::simulate(&stored, Some(t_end), numerics)?
    };
    let sim_s = started.elapsed().as_secs_f64();
    for c in trial.soma_check.iter().chain(&trial.segment_check) {
        println!("{c}");
    }
    let view = View {
        azimuth_deg: a.azimuth,
        elevation_deg: a.elevation,
    };
    let (w, h) = (
        a.output.width.unwrap_or(640),
        a.output.height.unwrap_or(640),
    );
    let scene = Scene::new(&trial.template, view, w, h)?;
    let color_by = match a.color.as_str() {
        "label" => ColorBy::Label,
        "scalar" => scalar_coloring(a, &trial.template, &scene)?,
        _ => ColorBy::Voltage(ColorMap::viridis(a.vmin, a.vmax)?),
    };
    let animator = Animator {
        scene: &scene,
        trial: &trial,
        color_by: &color_by,
        synapses: (!a.no_synapses).then_some(a.synapse_window.unwrap_or(a.t_step)),
    };
    let _lock = super::output::lock_creating_parent(out)?;
    let started = std::time::Instant::now();
    match kind {
        Target::Still => {
            let mut rgb = vec![0u8; 3 * w as usize * h as usize];
            animator.render(times[0], &mut rgb)?;
            crate::output::write_atomic(out, &crate::plot::encode::png_small(&rgb, w, h)?)?;
        }
        Target::Frames => {
            let staged = crate::output::StagedDir::with_overwrite(out, a.output.overwrite)?;
            let mut k = 0usize;
            animator.render_all(&times, 64, &mut |_, frames| {
                use rayon::prelude::*;
                frames
                    .par_iter()
                    .enumerate()
                    .try_for_each(|(j, rgb)| -> anyhow::Result<()> {
                        let p = staged.path().join(format!("frame_{:05}.png", k + j));
                        std::fs::write(&p, crate::plot::encode::png(rgb, w, h)?)
                            .map_err(|e| anyhow::anyhow!("{}: {e}", p.display()))
                    })?;
                k += frames.len();
                Ok(())
            })?;
            staged.commit()?;
        }
        Target::Gif => {
            let delay = (100.0 / a.fps).round().clamp(1.0, 65535.0) as u16;
            let mut gif = GifWriter::new(w, h, delay, animator.palette())?;
            animator.render_all(&times, 32, &mut |_, frames| gif.add(frames))?;
            crate::output::write_atomic(out, &gif.finish()?)?;
        }
        Target::Video => {
            let tmp = hidden_sibling(out);
            let mut video = VideoWriter::new(&tmp, w, h, a.fps)?;
            let r = animator.render_all(&times, 32, &mut |_, frames| video.add(frames));
            let r = r.and_then(|_| video.finish());
            if let Err(e) = r {
                let _ = std::fs::remove_file(&tmp);
                return Err(e);
            }
            std::fs::rename(&tmp, out)
                .map_err(|e| anyhow::anyhow!("installing {}: {e}", out.display()))?;
        }
    }
    println!(
        "{}: {} frame{} of {}×{} px, {} synapse releases in the trial; {} in {:.2} s, drawn in \
         {:.2} s",
        out.display(),
        times.len(),
        if times.len() == 1 { "" } else { "s" },
        w,
        h,
        trial
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
