//! Frames of a full-cell trial: each segment coloured by its voltage (or by its dendrite label),
//! the synapses released within each frame's window in their population's colour, a time stamp;
//! rendered in parallel and handed on in chunks.

use rayon::prelude::*;

use super::fullcell::FullCellTrial;
use super::morphology::{population_color, Frame, Scene, CELL_TYPE_COLORS};
use super::{ColorMap, Rgb};

/// How segments are coloured.
#[derive(Debug, Clone)]
pub enum ColorBy {
    /// Membrane potential through the colour map.
    Voltage(ColorMap),
    /// The section's label (`Soma`, `Dendrite`, `ApicalDendrite`, …), one colour each.
    Label,
    /// A value per segment (e.g. a channel density), in [`Scene::segments`] order, through the
    /// colour map; the string titles the colour bar.
    Scalar(ColorMap, String, Vec<f64>),
}

/// The frame times `t_start + i·t_step` below `t_stop` (to round-off): 220–270 ms at 0.2 ms
/// gives 250 frames.
pub fn frame_times(t_start: f64, t_stop: f64, t_step: f64) -> anyhow::Result<Vec<f64>> {
    if !(t_start.is_finite() && t_stop.is_finite() && t_step.is_finite())
        || t_step <= 0.0
        || t_stop <= t_start
    {
        anyhow::bail!(
            "frame times: need t_start < t_stop and t_step > 0 (got {t_start}, {t_stop}, {t_step})"
        );
    }
    let n = ((t_stop - t_start) / t_step - 1e-9).ceil() as usize;
    if n > 100_000 {
        anyhow::bail!("{n} frames: at most 100000");
    }
    Ok((0..n).map(|i| t_start + i as f64 * t_step).collect())
}

/// Colours of the dendrite labels, in order of first appearance.
const LABEL_COLORS: [Rgb; 8] = [
    [0, 0, 0],
    [31, 119, 180],
    [214, 39, 40],
    [44, 160, 44],
    [255, 127, 14],
    [148, 103, 189],
    [140, 86, 75],
    [227, 119, 194],
];

/// Receives rendered frames in order: (their times, their RGB buffers).
pub type FrameSink<'a> = dyn FnMut(&[f64], &[Vec<u8>]) -> anyhow::Result<()> + 'a;

/// Draws the frames of a trial.
pub struct Animator<'a> {
    /// The layout.
    pub scene: &'a Scene,
    /// The re-simulated trial.
    pub trial: &'a FullCellTrial,
    /// How segments are coloured.
    pub color_by: &'a ColorBy,
    /// Draw the synapses released within `[t, t + window)` of each frame.
    pub synapses: Option<f64>,
}

impl Animator<'_> {
    /// The nearest sample to time `t`.
    pub fn sample(&self, t: f64) -> usize {
        let ts = &self.trial.t_ms;
        let i = ts.partition_point(|&x| x < t);
        if i == 0 {
            0
        } else if i >= ts.len() {
            ts.len() - 1
        } else if (ts[i] - t).abs() < (t - ts[i - 1]).abs() {
            i
        } else {
            i - 1
        }
    }

    /// The synapses drawn at time `t`: (position, colour) in drawing order.
    pub fn markers(&self, t: f64) -> Vec<([f64; 3], Rgb)> {
        let Some(window) = self.synapses else {
            return Vec::new();
        };
        let cell = &self.trial.template;
        self.trial
            .synapses
            .iter()
            .filter(|s| s.times_ms.iter().any(|&r| r >= t && r < t + window))
            .filter_map(|s| {
                let p = cell.sections.get(s.section_id)?.pts.get(s.section_pt_id)?;
                Some((*p, population_color(&s.population).1))
            })
            .collect()
    }

    fn legend(&self) -> Vec<(String, Rgb)> {
        match self.color_by {
            ColorBy::Label => labels(self.trial)
                .into_iter()
                .enumerate()
                .map(|(i, l)| (l, LABEL_COLORS[i % LABEL_COLORS.len()]))
                .collect(),
            _ if self.synapses.is_some() => CELL_TYPE_COLORS
                .iter()
                .filter(|(name, _)| {
                    self.trial
                        .synapses
                        .iter()
                        .any(|s| population_color(&s.population).0 == *name)
                })
                .map(|(n, c)| (n.to_string(), *c))
                .collect(),
            _ => Vec::new(),
        }
    }

    /// Draws the frame at time `t` into `rgb`.
    pub fn render(&self, t: f64, rgb: &mut [u8]) -> anyhow::Result<()> {
        let cell = &self.trial.template;
        let i = self.sample(t);
        let (colors, bar): (Vec<Rgb>, _) = match self.color_by {
            ColorBy::Voltage(cmap) => (
                self.trial
                    .segment_vm_mv
                    .iter()
                    .map(|v| cmap.color(v[i]))
                    .collect(),
                Some((cmap, "V (mV)")),
            ),
            ColorBy::Scalar(cmap, title, values) => (
                values.iter().map(|&v| cmap.color(v)).collect(),
                Some((cmap, title.as_str())),
            ),
            ColorBy::Label => {
                let labels = labels(self.trial);
                (
                    self.scene
                        .segments
                        .iter()
                        .map(|&(s, _)| {
                            let k = labels
                                .iter()
                                .position(|l| *l == cell.sections[s].label)
                                .unwrap_or(0);
                            LABEL_COLORS[k % LABEL_COLORS.len()]
                        })
                        .collect(),
                    None,
                )
            }
        };
        let frame = Frame {
            segment_colors: colors,
            markers: self.markers(t),
            color_bar: bar,
            legend: self.legend(),
            title: Some(format!("t = {t:.1} ms")),
        };
        self.scene.render(&frame, rgb)
    }

    /// The colours frames are drawn with, for a GIF's palette (≤ 256): white, greys (text),
    /// the population and label colours, and the colour map's levels as many as fit.
    pub fn palette(&self) -> Vec<Rgb> {
        let mut p: Vec<Rgb> = (0..16u8).map(|i| [i * 17; 3]).collect();
        p.extend(CELL_TYPE_COLORS.iter().map(|(_, c)| *c));
        p.push(super::morphology::INACTIVE);
        p.extend(LABEL_COLORS);
        let cmap = match self.color_by {
            ColorBy::Voltage(c) | ColorBy::Scalar(c, _, _) => Some(c),
            ColorBy::Label => None,
        };
        if let Some(c) = cmap {
            let room = 256 - p.len();
            p.extend((0..room).map(|i| c.level_color(i * (ColorMap::LEVELS - 1) / (room - 1))));
        }
        p
    }

    /// Renders the frames at `times` in parallel, `chunk` at a time, handing each chunk (in
    /// order) to `sink`.
    pub fn render_all(
        &self,
        times: &[f64],
        chunk: usize,
        sink: &mut FrameSink<'_>,
    ) -> anyhow::Result<()> {
        let n = 3 * self.scene.width as usize * self.scene.height as usize;
        for ts in times.chunks(chunk.max(1)) {
            let frames = ts
                .par_iter()
                .map(|&t| {
                    let mut rgb = vec![0u8; n];
                    self.render(t, &mut rgb)?;
                    Ok(rgb)
                })
                .collect::<anyhow::Result<Vec<_>>>()?;
            sink(ts, &frames)?;
        }
        Ok(())
    }
}

/// The trial's section labels in order of first appearance.
fn labels(trial: &FullCellTrial) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for s in &trial.template.sections {
        if !out.contains(&s.label) {
            out.push(s.label.clone());
        }
    }
    out
}
