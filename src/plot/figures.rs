//! The pictures of `isf plot`, from plain options to bytes: one entry point per kind, shared by
//! the command line (`isf plot`) and the Python package (`isf.plot`), so that both draw the same
//! pixels for the same arguments (docs/plot.md).

use std::path::{Path, PathBuf};
use std::str::FromStr;

use super::animation::{frame_times, Animator, ColorBy};
use super::charts::{Chart, Grouping};
use super::data::{self, Results};
use super::encode::{GifWriter, VideoWriter};
use super::fullcell::{self, FullCellTrial, StoredTrial};
use super::maps::{BinningMap, Kernels, Picture};
use super::morphology::{Scene, View};
use super::{ColorMap, Figure, Format};
use crate::mechanisms::Numerics;

/// Size of a chart when none is given \[px\].
pub const CHART_SIZE: (u32, u32) = (800, 500);

/// Size of a morphology picture when none is given \[px\].
pub const MORPHOLOGY_SIZE: (u32, u32) = (640, 640);

/// A picture's bytes and size.
#[derive(Debug, Clone)]
pub struct Rendered {
    /// PNG, SVG or GIF bytes.
    pub bytes: Vec<u8>,
    /// Width \[px\].
    pub width: u32,
    /// Height \[px\].
    pub height: u32,
}

/// The format and (optional) size asked for; a missing side takes the kind's default.
#[derive(Debug, Clone, Copy)]
pub struct Canvas {
    /// PNG or SVG.
    pub format: Format,
    /// Width \[px\].
    pub width: Option<u32>,
    /// Height \[px\].
    pub height: Option<u32>,
}

impl Canvas {
    fn render<F: Figure>(&self, fig: &F, default: (u32, u32)) -> anyhow::Result<Rendered> {
        let (width, height) = (
            self.width.unwrap_or(default.0),
            self.height.unwrap_or(default.1),
        );
        Ok(Rendered {
            bytes: fig.render(self.format, width, height)?,
            width,
            height,
        })
    }
}

/// Where a chart's data comes from.
#[derive(Debug, Clone)]
pub enum ChartData {
    /// An isf results file and the cell within it (needed when it has several).
    Results {
        /// The file.
        path: PathBuf,
        /// The cell.
        cell: Option<String>,
    },
    /// An ISF output folder (trace files, `simulation_runNNNN_*.csv`).
    IsfFolder(PathBuf),
}

/// A chart's data, trial selection and time axis.
#[derive(Debug, Clone)]
pub struct ChartQuery {
    /// The data.
    pub data: ChartData,
    /// Trials (results file: index within the cell) or runs (ISF folder): `all`, or indices and
    /// ranges such as `0,3,5-9`; `None` takes the kind's default.
    pub trials: Option<String>,
    /// Start of the time axis \[ms\].
    pub t_start: Option<f64>,
    /// End of the time axis \[ms\].
    pub t_stop: Option<f64>,
}

/// What a raster shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RasterOf {
    /// Soma spikes across trials.
    Soma,
    /// One trial's presynaptic spikes.
    Presynaptic,
    /// One trial's synapse activations.
    Synapses,
}

impl FromStr for RasterOf {
    type Err = anyhow::Error;
    fn from_str(s: &str) -> anyhow::Result<RasterOf> {
        Ok(match s {
            "soma" => RasterOf::Soma,
            "presynaptic" => RasterOf::Presynaptic,
            "synapses" => RasterOf::Synapses,
            _ => anyhow::bail!("raster of `{s}`: soma, presynaptic or synapses"),
        })
    }
}

/// What a PSTH counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PsthOf {
    /// Soma spikes.
    Soma,
    /// Synapse activations.
    Synapses,
}

impl FromStr for PsthOf {
    type Err = anyhow::Error;
    fn from_str(s: &str) -> anyhow::Result<PsthOf> {
        Ok(match s {
            "soma" => PsthOf::Soma,
            "synapses" => PsthOf::Synapses,
            _ => anyhow::bail!("PSTH of `{s}`: soma or synapses"),
        })
    }
}

impl FromStr for Grouping {
    type Err = anyhow::Error;
    fn from_str(s: &str) -> anyhow::Result<Grouping> {
        Ok(match s {
            "cell-type" => Grouping::CellType,
            "ei" => Grouping::ExcInh,
            _ => anyhow::bail!("grouping `{s}`: cell-type or ei"),
        })
    }
}

/// An opened chart source.
enum Source {
    Results(Results),
    Isf(PathBuf, usize),
}

/// Runs of an ISF folder: the `Vm run NN` columns of its soma trace file.
fn count_runs(dir: &Path) -> anyhow::Result<usize> {
    let f = std::fs::read_dir(dir)
        .map_err(|e| anyhow::anyhow!("{}: {e}", dir.display()))?
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
    fn open(data: &ChartData) -> anyhow::Result<Source> {
        match data {
            ChartData::Results { path, cell } => {
                Ok(Source::Results(Results::open(path, cell.as_deref())?))
            }
            ChartData::IsfFolder(d) => Ok(Source::Isf(d.clone(), count_runs(d)?)),
        }
    }

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

    /// The time axis: the query's, else the trials' time span.
    fn range(&self, q: &ChartQuery) -> anyhow::Result<(f64, f64)> {
        let (a, b) = match (q.t_start, q.t_stop) {
            (Some(a), Some(b)) => (a, b),
            (a, b) => {
                let t = self.traces(&[0], false)?;
                (
                    a.unwrap_or(t.t_ms.first().copied().unwrap_or(0.0)),
                    b.unwrap_or(t.t_ms.last().copied().unwrap_or(1.0)),
                )
            }
        };
        checked_range(a, b)
    }
}

fn checked_range(a: f64, b: f64) -> anyhow::Result<(f64, f64)> {
    if !(a.is_finite() && b.is_finite() && a < b) {
        anyhow::bail!("time axis {a}–{b} ms: need --t-start < --t-stop");
    }
    Ok((a, b))
}

/// Voltage traces (soma, and the recording sites with `sites`) of the selected trials (default:
/// the first), spikes marked.
pub fn traces(q: &ChartQuery, sites: bool, canvas: &Canvas) -> anyhow::Result<Rendered> {
    let src = Source::open(&q.data)?;
    let trials = src.select(q.trials.as_deref().unwrap_or("0"))?;
    let chart = Chart::Traces {
        traces: src.traces(&trials, sites)?,
        sites,
        range: q.t_start.zip(q.t_stop),
    };
    canvas.render(&chart, CHART_SIZE)
}

/// A raster: soma spikes across the selected trials (default: all), or one trial's (default:
/// the first) presynaptic spikes or synapse activations grouped by population.
pub fn raster(q: &ChartQuery, of: RasterOf, canvas: &Canvas) -> anyhow::Result<Rendered> {
    let src = Source::open(&q.data)?;
    let chart = if of == RasterOf::Soma {
        let trials = src.select(q.trials.as_deref().unwrap_or("all"))?;
        let spikes = src.soma_spikes(&trials)?;
        Chart::TrialRaster {
            range: src.range(q)?,
            trials: trials.iter().map(|t| t.to_string()).zip(spikes).collect(),
        }
    } else {
        let trial = src.one_trial(q.trials.as_deref())?;
        let presynaptic = of == RasterOf::Presynaptic;
        Chart::ActivityRaster {
            activity: src.activity(trial, presynaptic)?,
            what: if presynaptic {
                "presynaptic spikes"
            } else {
                "synapse activations"
            }
            .into(),
            range: src.range(q)?,
        }
    };
    canvas.render(&chart, CHART_SIZE)
}

/// A PSTH of soma spikes, or of synapse activations per `grouping`, over the selected trials
/// (default: all) in bins of `bin_ms`.
pub fn psth(
    q: &ChartQuery,
    of: PsthOf,
    bin_ms: f64,
    grouping: Grouping,
    canvas: &Canvas,
) -> anyhow::Result<Rendered> {
    let src = Source::open(&q.data)?;
    let trials = src.select(q.trials.as_deref().unwrap_or("all"))?;
    let range = src.range(q)?;
    let chart = match of {
        PsthOf::Soma => Chart::SomaPsth {
            trials: src.soma_spikes(&trials)?,
            bin_ms,
            range,
        },
        PsthOf::Synapses => Chart::ActivityPsth {
            trials: trials
                .iter()
                .map(|&t| src.activity(t, false))
                .collect::<anyhow::Result<_>>()?,
            grouping,
            bin_ms,
            range,
        },
    };
    canvas.render(&chart, CHART_SIZE)
}

/// Heat maps of a database's binning `key` (default: its only one, or its only one by soma
/// distance) averaged over `trials` (default: all), over `t_start`–`t_stop` (default: all bins).
pub fn binning(
    db: &Path,
    key: Option<&str>,
    trials: Option<&str>,
    t_start: Option<f64>,
    t_stop: Option<f64>,
    canvas: &Canvas,
) -> anyhow::Result<Rendered> {
    let map = BinningMap::read(db, key, trials)?;
    let first = map.edges_ms.first().copied().unwrap_or(0.0);
    let last = map.edges_ms.last().copied().unwrap_or(1.0);
    let range = checked_range(t_start.unwrap_or(first), t_stop.unwrap_or(last))?;
    let h = (120 + 160 * map.panels.len() as u32).min(900);
    canvas.render(&Picture::Binning(&map, range), (900, h))
}

/// The kernels of the reduced model `model` of a database.
pub fn kernels(db: &Path, model: &str, canvas: &Canvas) -> anyhow::Result<Rendered> {
    let k = Kernels::read(db, model)?;
    let w = if k.spatial { 1000 } else { 800 };
    canvas.render(&Picture::Kernels(&k), (w, 500))
}

/// How the morphology's segments are coloured.
#[derive(Debug, Clone)]
pub enum Coloring {
    /// Membrane potential over `vmin`–`vmax` \[mV\].
    Voltage {
        /// Colour-map minimum \[mV\].
        vmin: f64,
        /// Colour-map maximum \[mV\].
        vmax: f64,
    },
    /// Dendrite label.
    Label,
    /// A numeric column of the cell's segments table (as `isf cell-info` writes it) over
    /// `min`–`max` (default: the column's finite range).
    Scalar {
        /// The column.
        column: String,
        /// Colour-map minimum.
        min: Option<f64>,
        /// Colour-map maximum.
        max: Option<f64>,
    },
}

/// What a morphology picture shows and how.
#[derive(Debug, Clone)]
pub struct MorphologyOptions {
    /// First frame \[ms\].
    pub t_start: f64,
    /// End of the frames \[ms\] (excluded).
    pub t_stop: f64,
    /// Time between frames \[ms\].
    pub t_step: f64,
    /// A still at this time \[ms\] instead of the frames.
    pub at: Option<f64>,
    /// View azimuth and elevation \[°\].
    pub view: View,
    /// Segment colours.
    pub coloring: Coloring,
    /// Draw each synapse in the frames within this time after its release \[ms\]; `None`:
    /// no synapses.
    pub synapse_window: Option<f64>,
    /// Width \[px\] (default [`MORPHOLOGY_SIZE`]).
    pub width: Option<u32>,
    /// Height \[px\].
    pub height: Option<u32>,
}

impl MorphologyOptions {
    /// The frame times: the still's, or `t_start + i·t_step` below `t_stop`.
    pub fn times(&self) -> anyhow::Result<Vec<f64>> {
        match self.at {
            Some(t) => Ok(vec![t]),
            None => frame_times(self.t_start, self.t_stop, self.t_step),
        }
    }

    /// How long the trial must be simulated for the frames \[ms\].
    pub fn t_end(&self) -> anyhow::Result<f64> {
        Ok(self.times()?.last().copied().unwrap_or(0.0) + self.t_step)
    }
}

/// A re-simulated trial laid out for drawing: its stills, GIF, PNG frames or video.
pub struct Morphology {
    /// The re-simulated trial.
    pub trial: FullCellTrial,
    scene: Scene,
    color_by: ColorBy,
    times: Vec<f64>,
    synapse_window: Option<f64>,
}

impl Morphology {
    /// Re-simulates `stored` as far as the frames need, then lays it out.
    pub fn simulate(
        stored: &StoredTrial,
        numerics: Numerics,
        o: &MorphologyOptions,
    ) -> anyhow::Result<Morphology> {
        let trial = fullcell::simulate(stored, Some(o.t_end()?), numerics)?;
        Morphology::new(trial, o)
    }

    /// The trial to draw: the run's own recording of every segment when `stored` has one (unless
    /// `resimulate`), else a re-simulation as far as the frames need, with the compiled
    /// mechanisms the run loaded and its numerics (`numerics` overrides them). Also says whether
    /// the recording was used.
    pub fn of_stored(
        stored: &StoredTrial,
        numerics: Option<Numerics>,
        resimulate: bool,
        o: &MorphologyOptions,
    ) -> anyhow::Result<(Morphology, bool)> {
        if !stored.mechanisms.catalogues.is_empty()
            || !stored.mechanisms.replace_builtins.is_empty()
        {
            crate::mechanisms::catalogue_file::load(&stored.mechanisms)?;
        }
        let numerics = numerics.or(stored.numerics).unwrap_or_default();
        let use_recording = stored.recorded_segments.is_some() && !resimulate;
        let trial = if use_recording {
            fullcell::recorded(stored, numerics)?
        } else {
            fullcell::simulate(stored, Some(o.t_end()?), numerics)?
        };
        Ok((Morphology::new(trial, o)?, use_recording))
    }

    /// Lays a re-simulated trial out (it must reach [`MorphologyOptions::t_end`]).
    pub fn new(trial: FullCellTrial, o: &MorphologyOptions) -> anyhow::Result<Morphology> {
        super::fonts::ensure()?;
        let times = o.times()?;
        let (w, h) = (
            o.width.unwrap_or(MORPHOLOGY_SIZE.0),
            o.height.unwrap_or(MORPHOLOGY_SIZE.1),
        );
        let scene = Scene::new(&trial.template, o.view, w, h)?;
        let color_by = match &o.coloring {
            Coloring::Label => ColorBy::Label,
            Coloring::Scalar { column, min, max } => {
                scalar_coloring(column, *min, *max, &trial.template, &scene)?
            }
            Coloring::Voltage { vmin, vmax } => ColorBy::Voltage(ColorMap::viridis(*vmin, *vmax)?),
        };
        Ok(Morphology {
            trial,
            scene,
            color_by,
            times,
            synapse_window: o.synapse_window,
        })
    }

    /// The frame times \[ms\].
    pub fn times(&self) -> &[f64] {
        &self.times
    }

    /// Picture width and height \[px\].
    pub fn size(&self) -> (u32, u32) {
        (self.scene.width, self.scene.height)
    }

    fn animator(&self) -> Animator<'_> {
        Animator {
            scene: &self.scene,
            trial: &self.trial,
            color_by: &self.color_by,
            synapses: self.synapse_window,
        }
    }

    /// The first frame as PNG bytes (a still).
    pub fn still_png(&self) -> anyhow::Result<Rendered> {
        let (w, h) = self.size();
        let mut rgb = vec![0u8; 3 * w as usize * h as usize];
        self.animator().render(self.times[0], &mut rgb)?;
        Ok(Rendered {
            bytes: super::encode::png_small(&rgb, w, h)?,
            width: w,
            height: h,
        })
    }

    /// The frames as a looping GIF at `fps` frames per second.
    pub fn gif(&self, fps: f64) -> anyhow::Result<Rendered> {
        let (w, h) = self.size();
        let delay = (100.0 / fps).round().clamp(1.0, 65535.0) as u16;
        let animator = self.animator();
        let mut gif = GifWriter::new(w, h, delay, animator.palette())?;
        animator.render_all(&self.times, 32, &mut |_, frames| gif.add(frames))?;
        Ok(Rendered {
            bytes: gif.finish()?,
            width: w,
            height: h,
        })
    }

    /// The frames as `frame_NNNNN.png` files in the folder `dir`.
    pub fn write_frames(&self, dir: &Path) -> anyhow::Result<()> {
        use rayon::prelude::*;
        let (w, h) = self.size();
        let mut k = 0usize;
        self.animator()
            .render_all(&self.times, 64, &mut |_, frames| {
                frames
                    .par_iter()
                    .enumerate()
                    .try_for_each(|(j, rgb)| -> anyhow::Result<()> {
                        let p = dir.join(format!("frame_{:05}.png", k + j));
                        std::fs::write(&p, super::encode::png(rgb, w, h)?)
                            .map_err(|e| anyhow::anyhow!("{}: {e}", p.display()))
                    })?;
                k += frames.len();
                Ok(())
            })
    }

    /// The frames as an `.mp4` or `.webm` video at `path` (through `ffmpeg`).
    pub fn write_video(&self, path: &Path, fps: f64) -> anyhow::Result<()> {
        let (w, h) = self.size();
        let mut video = VideoWriter::new(path, w, h, fps)?;
        self.animator()
            .render_all(&self.times, 32, &mut |_, frames| video.add(frames))?;
        video.finish()
    }
}

/// `Coloring::Scalar`: the column's value per segment in the scene's order, through viridis over
/// `[min, max]` (default: the finite values' range). A segment without the column's mechanism
/// (an empty field of `isf cell-info`'s table) takes the map's lowest colour.
fn scalar_coloring(
    name: &str,
    min: Option<f64>,
    max: Option<f64>,
    cell: &crate::cell::CellTemplate,
    scene: &Scene,
) -> anyhow::Result<ColorBy> {
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
    let lo = min.unwrap_or_else(|| finite.clone().fold(f64::INFINITY, f64::min));
    let hi = max.unwrap_or_else(|| finite.fold(f64::NEG_INFINITY, f64::max));
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
