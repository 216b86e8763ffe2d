//! The morphology picture: the cell's 3-D points projected with a view, every segment drawn in its
//! own colour, synapse markers, a colour bar, a legend and a time stamp.
//!
//! Segments and markers are rasterised here without blending, so each of their pixels carries
//! exactly the colour it was given (a colour map level, a population colour); text comes from
//! plotters on the same buffer.

use plotters::prelude::*;

use super::{ColorMap, Rgb};
use crate::cell::CellTemplate;

/// A view direction: the camera's azimuth around the vertical (z) axis and elevation above the
/// horizontal plane, in degrees.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct View {
    /// Azimuth \[°\].
    pub azimuth_deg: f64,
    /// Elevation \[°\].
    pub elevation_deg: f64,
}

impl Default for View {
    /// isf's default view: from the front (azimuth −90°, elevation 0°), x to the right and z (the
    /// cortical depth axis, pia up) upwards.
    fn default() -> Self {
        View {
            azimuth_deg: -90.0,
            elevation_deg: 0.0,
        }
    }
}

impl View {
    /// (right, up, towards the camera) coordinates of `p` \[µm\].
    pub fn project(&self, p: [f64; 3]) -> [f64; 3] {
        let (sa, ca) = self.azimuth_deg.to_radians().sin_cos();
        let (se, ce) = self.elevation_deg.to_radians().sin_cos();
        let right = [-sa, ca, 0.0];
        let up = [-se * ca, -se * sa, ce];
        let toward = [ce * ca, ce * sa, se];
        let dot = |a: [f64; 3]| a[0] * p[0] + a[1] * p[1] + a[2] * p[2];
        [dot(right), dot(up), dot(toward)]
    }
}

/// ISF's default colour per presynaptic cell type (the population name up to its first `_`);
/// other types are inhibitory and grey.
pub const CELL_TYPE_COLORS: [(&str, Rgb); 13] = [
    ("L1", [0, 255, 255]),        // cyan
    ("L2", [30, 144, 255]),       // dodgerblue
    ("L34", [0, 0, 255]),         // blue
    ("L4py", [152, 251, 152]),    // palegreen
    ("L4sp", [0, 128, 0]),        // green
    ("L4ss", [0, 255, 0]),        // lime
    ("L5st", [255, 255, 0]),      // yellow
    ("L5tt", [255, 165, 0]),      // orange
    ("L6cc", [75, 0, 130]),       // indigo
    ("L6ccinv", [238, 130, 238]), // violet
    ("L6ct", [255, 0, 255]),      // magenta
    ("VPM", [0, 0, 0]),           // black
    ("INH", [128, 128, 128]),     // grey
];

/// ISF's colour of an inactive synapse (#f0f0f0).
pub const INACTIVE: Rgb = [0xf0, 0xf0, 0xf0];

/// The legend name and colour of population `population` (e.g. `L5tt_C2` → `L5tt`, orange;
/// `L23Trans_C2` → `INH`, grey).
pub fn population_color(population: &str) -> (&'static str, Rgb) {
    let cell_type = population.split('_').next().unwrap_or(population);
    CELL_TYPE_COLORS
        .iter()
        .find(|(n, _)| *n == cell_type)
        .copied()
        .unwrap_or(CELL_TYPE_COLORS[12])
}

/// A line piece of one segment on screen.
#[derive(Debug, Clone, Copy)]
struct Piece {
    a: [f64; 2],
    b: [f64; 2],
    radius: f64,
    segment: usize,
    depth: f64,
}

/// A cell laid out on a picture of `width × height` pixels for one view: the morphology fills the
/// left part, the right [`Scene::PANEL`] pixels hold the colour bar and the legend.
#[derive(Debug, Clone)]
pub struct Scene {
    /// Picture width \[px\].
    pub width: u32,
    /// Picture height \[px\].
    pub height: u32,
    view: View,
    scale: f64,
    offset: [f64; 2],
    pieces: Vec<Piece>,
    /// Segment index (in [`Scene::segments`] order) of every (section, segment).
    segment_of: Vec<Vec<usize>>,
    /// (section, segment) of each segment index.
    pub segments: Vec<(usize, usize)>,
}

impl Scene {
    /// Width of the right-hand panel \[px\].
    pub const PANEL: u32 = 150;
    const MARGIN: f64 = 12.0;

    /// Lays `cell` out with `view` on a `width × height` picture.
    pub fn new(cell: &CellTemplate, view: View, width: u32, height: u32) -> anyhow::Result<Scene> {
        if width < Self::PANEL + 100 || height < 100 || width > 10_000 || height > 10_000 {
            anyhow::bail!(
                "picture size {width}×{height}: the morphology needs at least {}×100 pixels (and \
                 at most 10000×10000)",
                Self::PANEL + 100
            );
        }
        let mut segments = Vec::new();
        let mut segment_of: Vec<Vec<usize>> = Vec::new();
        for (s, sec) in cell.sections.iter().enumerate() {
            segment_of.push((0..sec.nseg).map(|k| segments.len() + k).collect());
            segments.extend((0..sec.nseg).map(|k| (s, k)));
        }
        // Projected pieces in µm; scaled to pixels once the extent is known.
        let mut raw: Vec<([f64; 3], [f64; 3], f64, usize)> = Vec::new();
        for (s, sec) in cell.sections.iter().enumerate() {
            let n = sec.pts.len();
            if n < 2 {
                continue;
            }
            let rel = relative_positions(sec);
            let nseg = sec.nseg as f64;
            for i in 0..n - 1 {
                let (ra, rb) = (rel[i], rel[i + 1]);
                let (pa, pb) = (sec.pts[i], sec.pts[i + 1]);
                let diam = 0.5 * (sec.diam_um[i] + sec.diam_um[i + 1]);
                // Split the piece where it crosses a segment boundary k / nseg.
                let mut cuts = vec![ra];
                let (lo, hi) = (ra.min(rb), ra.max(rb));
                for k in 1..sec.nseg {
                    let x = k as f64 / nseg;
                    if x > lo && x < hi {
                        cuts.push(x);
                    }
                }
                cuts.push(rb);
                for w in cuts.windows(2) {
                    let at = |r: f64| {
                        let f = if rb == ra { 0.0 } else { (r - ra) / (rb - ra) };
                        [0, 1, 2].map(|d| pa[d] + f * (pb[d] - pa[d]))
                    };
                    let mid = 0.5 * (w[0] + w[1]);
                    let k = ((mid * nseg) as usize).min(sec.nseg - 1);
                    raw.push((
                        view.project(at(w[0])),
                        view.project(at(w[1])),
                        diam,
                        segment_of[s][k],
                    ));
                }
            }
        }
        if raw.is_empty() {
            anyhow::bail!("the cell has no 3-D points to draw");
        }
        let (mut lo, mut hi) = ([f64::INFINITY; 2], [f64::NEG_INFINITY; 2]);
        for (a, b, _, _) in &raw {
            for p in [a, b] {
                for d in 0..2 {
                    lo[d] = lo[d].min(p[d]);
                    hi[d] = hi[d].max(p[d]);
                }
            }
        }
        let area = [
            (width - Self::PANEL) as f64 - 2.0 * Self::MARGIN,
            height as f64 - 2.0 * Self::MARGIN - 20.0,
        ];
        let ext = [(hi[0] - lo[0]).max(1.0), (hi[1] - lo[1]).max(1.0)];
        let scale = (area[0] / ext[0]).min(area[1] / ext[1]);
        // Centred in the morphology area, below the time stamp's line.
        let offset = [
            Self::MARGIN + 0.5 * (area[0] - scale * ext[0]) - scale * lo[0],
            Self::MARGIN + 20.0 + 0.5 * (area[1] - scale * ext[1]) + scale * hi[1],
        ];
        let mut scene = Scene {
            width,
            height,
            view,
            scale,
            offset,
            pieces: Vec::with_capacity(raw.len()),
            segment_of,
            segments,
        };
        let soma = cell.soma_section;
        for (a, b, diam, segment) in raw {
            let (pa, pb) = (scene.to_px(a), scene.to_px(b));
            scene.pieces.push(Piece {
                a: pa,
                b: pb,
                radius: (0.5 * diam * scale).max(0.75),
                segment,
                // The soma on top of everything; the rest far to near.
                depth: if scene.segments[segment].0 == soma {
                    f64::INFINITY
                } else {
                    0.5 * (a[2] + b[2])
                },
            });
        }
        scene.pieces.sort_by(|x, y| x.depth.total_cmp(&y.depth));
        Ok(scene)
    }

    fn to_px(&self, p: [f64; 3]) -> [f64; 2] {
        [
            self.offset[0] + self.scale * p[0],
            self.offset[1] - self.scale * p[1],
        ]
    }

    /// The pixel (column, row) where the 3-D point `p` \[µm\] is drawn.
    pub fn pixel_of(&self, p: [f64; 3]) -> (u32, u32) {
        let q = self.to_px(self.view.project(p));
        (q[0].floor() as u32, q[1].floor() as u32)
    }

    /// Index of `(section, segment)` in [`Scene::segments`].
    pub fn segment_index(&self, section: usize, segment: usize) -> usize {
        self.segment_of[section][segment]
    }

    /// Draws one picture into `rgb` (3·width·height bytes, overwritten).
    pub fn render(&self, frame: &Frame<'_>, rgb: &mut [u8]) -> anyhow::Result<()> {
        let (w, h) = (self.width as usize, self.height as usize);
        assert_eq!(rgb.len(), 3 * w * h, "frame buffer size");
        rgb.fill(255);
        let mut canvas = Canvas { rgb, w, h };
        for p in &self.pieces {
            canvas.capsule(p.a, p.b, p.radius, frame.segment_colors[p.segment]);
        }
        for &(pos, c) in &frame.markers {
            let q = self.to_px(self.view.project(pos));
            canvas.capsule(q, q, MARKER_RADIUS, c);
        }
        let x0 = (w - Self::PANEL as usize + 14) as i64;
        let mut bar = None;
        if let Some((cmap, _)) = frame.color_bar {
            let (top, bottom) = (36i64, (h as i64 / 2).max(60));
            for y in top..bottom {
                let f = (bottom - 1 - y) as f64 / (bottom - 1 - top) as f64;
                let c = cmap.level_color((f * (ColorMap::LEVELS - 1) as f64).round() as usize);
                for x in x0..x0 + 18 {
                    canvas.put(x, y, c);
                }
            }
            bar = Some((top, bottom));
        }
        let legend_top = bar.map_or(30, |(_, b)| b + 30);
        for (i, (_, c)) in frame.legend.iter().enumerate() {
            let y = legend_top + 18 * i as i64;
            for yy in y + 3..y + 13 {
                for xx in x0..x0 + 10 {
                    canvas.put(xx, yy, *c);
                }
            }
        }
        // Text.
        super::fonts::ensure()?;
        let root = BitMapBackend::with_buffer(rgb, (self.width, self.height)).into_drawing_area();
        let font = (super::fonts::FAMILY, 14).into_font().color(&BLACK);
        let small = (super::fonts::FAMILY, 12).into_font().color(&BLACK);
        let err = |e: DrawingAreaErrorKind<_>| anyhow::anyhow!("drawing text: {e}");
        if let Some(t) = &frame.title {
            root.draw_text(t, &font, (10, 8)).map_err(err)?;
        }
        if let (Some((cmap, label)), Some((top, bottom))) = (frame.color_bar, bar) {
            root.draw_text(label, &small, (x0 as i32 - 4, 14))
                .map_err(err)?;
            for (f, v) in [
                (1.0, cmap.vmin),
                (0.5, 0.5 * (cmap.vmin + cmap.vmax)),
                (0.0, cmap.vmax),
            ] {
                let y = top as f64 + f * (bottom - 1 - top) as f64;
                root.draw_text(&fmt_tick(v), &small, (x0 as i32 + 24, y as i32 - 6))
                    .map_err(err)?;
            }
        }
        for (i, (name, _)) in frame.legend.iter().enumerate() {
            let y = legend_top + 18 * i as i64;
            root.draw_text(name, &small, (x0 as i32 + 16, y as i32 + 1))
                .map_err(err)?;
        }
        root.present().map_err(err)?;
        Ok(())
    }
}

/// Radius of a synapse marker \[px\].
pub const MARKER_RADIUS: f64 = 3.0;

/// What one picture shows.
#[derive(Debug, Clone, Default)]
pub struct Frame<'a> {
    /// Colour of every segment ([`Scene::segments`] order).
    pub segment_colors: Vec<Rgb>,
    /// Markers drawn over the cell, in order: (3-D position \[µm\], colour).
    pub markers: Vec<([f64; 3], Rgb)>,
    /// The colour bar: its map and its title (e.g. `V (mV)`).
    pub color_bar: Option<(&'a ColorMap, &'a str)>,
    /// Legend entries (name, colour).
    pub legend: Vec<(String, Rgb)>,
    /// The text at the top left (e.g. the time stamp).
    pub title: Option<String>,
}

fn fmt_tick(v: f64) -> String {
    if v == v.round() && v.abs() < 1e6 {
        format!("{v:.0}")
    } else if v.abs() < 0.1 {
        // Small scalars (channel densities in S/cm²) would all read 0.0.
        format!("{v:.2e}")
    } else {
        format!("{v:.1}")
    }
}

/// ISF's relative positions of a section's 3-D points; cumulative lengths if they are missing.
fn relative_positions(sec: &crate::cell::SectionInfo) -> Vec<f64> {
    if sec.rel_pts.len() == sec.pts.len() {
        return sec.rel_pts.clone();
    }
    let mut acc = vec![0.0];
    for w in sec.pts.windows(2) {
        let d = ((w[1][0] - w[0][0]).powi(2)
            + (w[1][1] - w[0][1]).powi(2)
            + (w[1][2] - w[0][2]).powi(2))
        .sqrt();
        acc.push(acc.last().unwrap() + d);
    }
    let total = acc.last().copied().unwrap_or(0.0).max(f64::MIN_POSITIVE);
    acc.iter().map(|a| a / total).collect()
}

struct Canvas<'a> {
    rgb: &'a mut [u8],
    w: usize,
    h: usize,
}

impl Canvas<'_> {
    fn put(&mut self, x: i64, y: i64, c: Rgb) {
        if x >= 0 && y >= 0 && (x as usize) < self.w && (y as usize) < self.h {
            let i = 3 * (y as usize * self.w + x as usize);
            self.rgb[i..i + 3].copy_from_slice(&c);
        }
    }

    /// Every pixel whose centre lies within `r` of the segment a–b.
    fn capsule(&mut self, a: [f64; 2], b: [f64; 2], r: f64, c: Rgb) {
        let x0 = (a[0].min(b[0]) - r).floor().max(0.0) as i64;
        let x1 = (a[0].max(b[0]) + r).ceil().min(self.w as f64) as i64;
        let y0 = (a[1].min(b[1]) - r).floor().max(0.0) as i64;
        let y1 = (a[1].max(b[1]) + r).ceil().min(self.h as f64) as i64;
        let d = [b[0] - a[0], b[1] - a[1]];
        let len2 = d[0] * d[0] + d[1] * d[1];
        let r2 = r * r;
        for y in y0..y1 {
            for x in x0..x1 {
                let p = [x as f64 + 0.5 - a[0], y as f64 + 0.5 - a[1]];
                let t = if len2 > 0.0 {
                    ((p[0] * d[0] + p[1] * d[1]) / len2).clamp(0.0, 1.0)
                } else {
                    0.0
                };
                let q = [p[0] - t * d[0], p[1] - t * d[1]];
                if q[0] * q[0] + q[1] * q[1] <= r2 {
                    self.put(x, y, c);
                }
            }
        }
    }
}
