//! Charts with axes: voltage traces (many-lines style, spikes marked), rasters, PSTHs. Each is
//! drawn by plotters on a PNG (bitmap) or SVG backend; the format comes from the file name.

use plotters::coord::Shift;
use plotters::prelude::*;

use super::data::{spikes_of, Activity, Traces};
use super::morphology::{population_color, CELL_TYPE_COLORS};
use super::Rgb;

/// How synapse activations are grouped in a PSTH.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Grouping {
    /// By presynaptic cell type (`L5tt`, `VPM`, …, inhibitory types as `INH`).
    CellType,
    /// Excitatory against inhibitory (`INH`).
    ExcInh,
}

/// A chart and its data.
#[derive(Debug, Clone)]
pub enum Chart {
    /// Voltage traces of one or many trials, soma and (optionally) the recording sites; soma
    /// spikes marked.
    Traces {
        /// The traces.
        traces: Traces,
        /// Draw the recording sites too.
        sites: bool,
        /// Time range \[ms\] (default: all).
        range: Option<(f64, f64)>,
    },
    /// Soma spikes across trials: one row per trial.
    TrialRaster {
        /// Per trial its name and spike times \[ms\].
        trials: Vec<(String, Vec<f64>)>,
        /// Time range \[ms\].
        range: (f64, f64),
    },
    /// One trial's synaptic input: one row per synapse or presynaptic cell with events,
    /// grouped and coloured by population.
    ActivityRaster {
        /// The events.
        activity: Activity,
        /// `presynaptic spikes` or `synapse activations`.
        what: String,
        /// Time range \[ms\].
        range: (f64, f64),
    },
    /// PSTH of soma spikes across trials \[Hz\].
    SomaPsth {
        /// Per trial its spike times \[ms\].
        trials: Vec<Vec<f64>>,
        /// Bin width \[ms\].
        bin_ms: f64,
        /// Time range \[ms\].
        range: (f64, f64),
    },
    /// Synapse activations per bin of one or more trials, per group.
    ActivityPsth {
        /// The events of each trial.
        trials: Vec<Activity>,
        /// Grouping.
        grouping: Grouping,
        /// Bin width \[ms\].
        bin_ms: f64,
        /// Time range \[ms\].
        range: (f64, f64),
    },
}

fn err<E: std::fmt::Display>(e: E) -> anyhow::Error {
    anyhow::anyhow!("drawing: {e}")
}

/// Integer tick labels; none between integers.
fn int_label(v: &f64) -> String {
    if (v - v.round()).abs() < 1e-6 {
        format!("{:.0}", v.round().abs() * v.round().signum())
    } else {
        String::new()
    }
}

fn rgb(c: Rgb) -> RGBColor {
    RGBColor(c[0], c[1], c[2])
}

/// Colours of many lines (trials), cycled.
const LINE_COLORS: [Rgb; 6] = [
    [31, 119, 180],
    [255, 127, 14],
    [44, 160, 44],
    [214, 39, 40],
    [148, 103, 189],
    [140, 86, 75],
];

/// Bins of width `bin` over `range`: the bin edges' count and the index of `t` (if inside).
fn bin_of(t: f64, range: (f64, f64), bin: f64, n: usize) -> Option<usize> {
    if t < range.0 || t >= range.1 {
        return None;
    }
    Some((((t - range.0) / bin) as usize).min(n - 1))
}

fn n_bins(range: (f64, f64), bin: f64) -> anyhow::Result<usize> {
    if !(bin > 0.0 && bin.is_finite() && range.1 > range.0) {
        anyhow::bail!(
            "bins of {bin} ms over {}–{} ms: need a positive width and a non-empty range",
            range.0,
            range.1
        );
    }
    let n = ((range.1 - range.0) / bin).ceil() as usize;
    if n > 1_000_000 {
        anyhow::bail!("{n} bins: at most 10^6");
    }
    Ok(n.max(1))
}

impl Chart {
    /// Draws the chart on `root`.
    pub fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> anyhow::Result<()> {
        root.fill(&WHITE).map_err(err)?;
        let font = super::fonts::FAMILY;
        let mut builder = ChartBuilder::on(root);
        builder
            .margin(12)
            .x_label_area_size(42)
            .y_label_area_size(64)
            .margin_right(24);
        match self {
            Chart::Traces {
                traces,
                sites,
                range,
            } => {
                let (t0, t1) = range.unwrap_or((
                    traces.t_ms.first().copied().unwrap_or(0.0),
                    traces.t_ms.last().copied().unwrap_or(1.0),
                ));
                let inside = |i: &usize| traces.t_ms[*i] >= t0 && traces.t_ms[*i] <= t1;
                let mut series: Vec<(&str, usize, &Vec<f64>)> = Vec::new();
                for (k, (name, v)) in traces.soma.iter().enumerate() {
                    series.push((name, k, v));
                }
                if *sites {
                    for (label, per) in &traces.sites {
                        for (k, v) in per.iter().enumerate() {
                            series.push((label, k, v));
                        }
                    }
                }
                let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
                for (_, _, v) in &series {
                    for i in (0..v.len().min(traces.t_ms.len())).filter(inside) {
                        lo = lo.min(v[i]);
                        hi = hi.max(v[i]);
                    }
                }
                if !lo.is_finite() {
                    anyhow::bail!("no samples in {t0}–{t1} ms");
                }
                let pad = 0.05 * (hi - lo).max(1.0);
                let mut chart = builder
                    .caption("Membrane potential", (font, 18))
                    .build_cartesian_2d(t0..t1, (lo - pad)..(hi + pad))
                    .map_err(err)?;
                chart
                    .configure_mesh()
                    .disable_mesh()
                    .x_desc("time (ms)")
                    .y_desc("membrane potential (mV)")
                    .label_style((font, 13))
                    .axis_desc_style((font, 14))
                    .draw()
                    .map_err(err)?;
                let n_soma = traces.soma.len();
                for (j, (name, k, v)) in series.iter().enumerate() {
                    let site = j >= n_soma;
                    let mut c = rgb(LINE_COLORS[k % LINE_COLORS.len()]);
                    if site {
                        c = RGBColor(c.0 / 2 + 100, c.1 / 2 + 100, c.2 / 2 + 100);
                    }
                    let pts = (0..v.len().min(traces.t_ms.len()))
                        .filter(inside)
                        .map(|i| (traces.t_ms[i], v[i]));
                    let s = chart
                        .draw_series(LineSeries::new(pts, c.stroke_width(1)))
                        .map_err(err)?;
                    // One legend entry per soma trial (up to 6) and per site.
                    if (!site && *k < 6) || (site && *k == 0) {
                        let label = if site {
                            format!("site {name}")
                        } else {
                            format!("soma {name}")
                        };
                        let label = if label.len() > 40 {
                            format!("{}…", &label[..40])
                        } else {
                            label
                        };
                        s.label(label)
                            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 16, y)], c));
                    }
                }
                // Soma spikes: a tick above each.
                let top = hi + 0.6 * pad;
                for (k, (_, v)) in traces.soma.iter().enumerate() {
                    let c = rgb(LINE_COLORS[k % LINE_COLORS.len()]);
                    let spikes: Vec<f64> = spikes_of(&traces.t_ms, v)
                        .into_iter()
                        .filter(|t| *t >= t0 && *t <= t1)
                        .collect();
                    chart
                        .draw_series(
                            spikes
                                .iter()
                                .map(|&t| TriangleMarker::new((t, top), 4, c.filled())),
                        )
                        .map_err(err)?;
                }
                chart
                    .configure_series_labels()
                    .background_style(WHITE.mix(0.8))
                    .border_style(BLACK)
                    .label_font((font, 12))
                    .position(SeriesLabelPosition::UpperLeft)
                    .draw()
                    .map_err(err)?;
            }
            Chart::TrialRaster { trials, range } => {
                let n = trials.len().max(1) as f64;
                let mut chart = builder
                    .caption("Soma spikes", (font, 18))
                    .build_cartesian_2d(range.0..range.1, -0.5..(n - 0.5))
                    .map_err(err)?;
                chart
                    .configure_mesh()
                    .disable_mesh()
                    .x_desc("time (ms)")
                    .y_desc("trial")
                    .y_labels(trials.len().clamp(1, 10))
                    .y_label_formatter(&int_label)
                    .label_style((font, 13))
                    .axis_desc_style((font, 14))
                    .draw()
                    .map_err(err)?;
                let r = if trials.len() > 100 { 1 } else { 2 };
                for (k, (_, spikes)) in trials.iter().enumerate() {
                    chart
                        .draw_series(
                            spikes
                                .iter()
                                .filter(|t| **t >= range.0 && **t <= range.1)
                                .map(|&t| Circle::new((t, k as f64), r, BLACK.filled())),
                        )
                        .map_err(err)?;
                }
            }
            Chart::ActivityRaster {
                activity,
                what,
                range,
            } => {
                // Rows grouped by cell type (ISF's colour order), then by population.
                let mut order: Vec<usize> = (0..activity.rows.len())
                    .filter(|&i| {
                        activity.rows[i]
                            .1
                            .iter()
                            .any(|t| *t >= range.0 && *t <= range.1)
                    })
                    .collect();
                let rank = |p: usize| {
                    let (ty, _) = population_color(&activity.populations[p]);
                    CELL_TYPE_COLORS
                        .iter()
                        .position(|(n, _)| *n == ty)
                        .unwrap_or(99)
                };
                order.sort_by_key(|&i| (rank(activity.rows[i].0), activity.rows[i].0, i));
                let n = order.len().max(1) as f64;
                let mut chart = builder
                    .caption(format!("{what} by population"), (font, 18))
                    .build_cartesian_2d(range.0..range.1, -0.5..(n - 0.5))
                    .map_err(err)?;
                chart
                    .configure_mesh()
                    .disable_mesh()
                    .x_desc("time (ms)")
                    .y_desc(if what.starts_with("presynaptic") {
                        "presynaptic cell"
                    } else {
                        "synapse"
                    })
                    .y_label_formatter(&int_label)
                    .label_style((font, 13))
                    .axis_desc_style((font, 14))
                    .draw()
                    .map_err(err)?;
                let mut seen: Vec<&str> = Vec::new();
                for (y, &i) in order.iter().enumerate() {
                    let (p, times) = &activity.rows[i];
                    let (ty, c) = population_color(&activity.populations[*p]);
                    let c = rgb(c);
                    let s = chart
                        .draw_series(
                            times
                                .iter()
                                .filter(|t| **t >= range.0 && **t <= range.1)
                                .map(|&t| Circle::new((t, y as f64), 1, c.filled())),
                        )
                        .map_err(err)?;
                    if !seen.contains(&ty) {
                        seen.push(ty);
                        s.label(ty).legend(move |(x, y)| {
                            Rectangle::new([(x, y - 4), (x + 8, y + 4)], c.filled())
                        });
                    }
                }
                chart
                    .configure_series_labels()
                    .background_style(WHITE.mix(0.8))
                    .border_style(BLACK)
                    .label_font((font, 12))
                    .position(SeriesLabelPosition::UpperLeft)
                    .draw()
                    .map_err(err)?;
            }
            Chart::SomaPsth {
                trials,
                bin_ms,
                range,
            } => {
                let n = n_bins(*range, *bin_ms)?;
                let mut counts = vec![0usize; n];
                for s in trials {
                    for &t in s {
                        if let Some(b) = bin_of(t, *range, *bin_ms, n) {
                            counts[b] += 1;
                        }
                    }
                }
                let norm = 1000.0 / (trials.len().max(1) as f64 * bin_ms);
                let rate: Vec<f64> = counts.iter().map(|&c| c as f64 * norm).collect();
                let top = rate.iter().copied().fold(0.0, f64::max).max(1.0) * 1.1;
                let mut chart = builder
                    .caption(
                        format!("Soma spike PSTH ({} trials)", trials.len()),
                        (font, 18),
                    )
                    .build_cartesian_2d(range.0..range.1, 0.0..top)
                    .map_err(err)?;
                chart
                    .configure_mesh()
                    .disable_mesh()
                    .x_desc("time (ms)")
                    .y_desc("firing rate (Hz)")
                    .label_style((font, 13))
                    .axis_desc_style((font, 14))
                    .draw()
                    .map_err(err)?;
                let c = rgb(LINE_COLORS[0]);
                chart
                    .draw_series(rate.iter().enumerate().filter(|(_, r)| **r > 0.0).map(
                        |(b, &r)| {
                            let x0 = range.0 + b as f64 * bin_ms;
                            Rectangle::new([(x0, 0.0), ((x0 + bin_ms).min(range.1), r)], c.filled())
                        },
                    ))
                    .map_err(err)?;
            }
            Chart::ActivityPsth {
                trials,
                grouping,
                bin_ms,
                range,
            } => {
                let n = n_bins(*range, *bin_ms)?;
                let mut groups: Vec<(String, Rgb, Vec<usize>)> = Vec::new();
                for a in trials {
                    for (p, times) in &a.rows {
                        let (ty, c) = population_color(&a.populations[*p]);
                        let (name, c) = match grouping {
                            Grouping::CellType => (ty, c),
                            Grouping::ExcInh if ty == "INH" => ("INH", [200, 30, 30]),
                            Grouping::ExcInh => ("EXC", [30, 30, 200]),
                        };
                        let g = match groups.iter().position(|g| g.0 == name) {
                            Some(g) => g,
                            None => {
                                groups.push((name.to_string(), c, vec![0; n]));
                                groups.len() - 1
                            }
                        };
                        for &t in times {
                            if let Some(b) = bin_of(t, *range, *bin_ms, n) {
                                groups[g].2[b] += 1;
                            }
                        }
                    }
                }
                let rank = |name: &str| {
                    CELL_TYPE_COLORS
                        .iter()
                        .position(|(n, _)| *n == name)
                        .unwrap_or(0)
                };
                groups.sort_by_key(|g| rank(&g.0));
                let per_trial = 1.0 / trials.len().max(1) as f64;
                let top = groups
                    .iter()
                    .flat_map(|g| g.2.iter())
                    .copied()
                    .max()
                    .unwrap_or(0) as f64
                    * per_trial;
                let mut chart = builder
                    .caption(
                        format!("Synapse activations per {bin_ms} ms bin"),
                        (font, 18),
                    )
                    .build_cartesian_2d(range.0..range.1, 0.0..(top.max(1.0) * 1.1))
                    .map_err(err)?;
                chart
                    .configure_mesh()
                    .disable_mesh()
                    .x_desc("time (ms)")
                    .y_desc("activations per bin (per trial)")
                    .label_style((font, 13))
                    .axis_desc_style((font, 14))
                    .draw()
                    .map_err(err)?;
                for (name, c, counts) in &groups {
                    let c = rgb(*c);
                    let pts = counts.iter().enumerate().flat_map(|(b, &k)| {
                        let x0 = range.0 + b as f64 * bin_ms;
                        let y = k as f64 * per_trial;
                        [(x0, y), ((x0 + bin_ms).min(range.1), y)]
                    });
                    chart
                        .draw_series(LineSeries::new(pts, c.stroke_width(2)))
                        .map_err(err)?
                        .label(name.clone())
                        .legend(move |(x, y)| {
                            PathElement::new(vec![(x, y), (x + 16, y)], c.stroke_width(2))
                        });
                }
                chart
                    .configure_series_labels()
                    .background_style(WHITE.mix(0.8))
                    .border_style(BLACK)
                    .label_font((font, 12))
                    .position(SeriesLabelPosition::UpperRight)
                    .draw()
                    .map_err(err)?;
            }
        }
        root.present().map_err(err)?;
        Ok(())
    }
}

impl super::Figure for Chart {
    fn draw_on<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> anyhow::Result<()> {
        self.draw(root)
    }
}
