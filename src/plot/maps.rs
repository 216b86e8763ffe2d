//! Pictures of a database's derived values: the spatio-temporal synapse-activation binning of
//! `isf db bin` as heat maps, and the reduced LDA model's kernels (`isf reduce fit`), read through
//! `isf-post` (docs/plot.md#binning-maps-and-kernels).

use std::path::Path;

use isf_post::db::{self, Binned, Database};
use isf_post::lda::ReducedLdaModel;
use plotters::coord::Shift;
use plotters::prelude::*;

use super::{ColorMap, Rgb};

/// Where the binned keys live (`isf db bin`).
pub const BINNED_ROOT: &str = "synapse_activation_binned";

/// One heat map: rows (groups) × time bins of mean activations per trial.
#[derive(Debug, Clone)]
pub struct HeatPanel {
    /// The panel's group (the labels before the row's), e.g. `EXC`; empty for one panel.
    pub title: String,
    /// Row labels (the last group label), bottom to top.
    pub rows: Vec<String>,
    /// Per row its mean count per trial in each bin.
    pub values: Vec<Vec<f64>>,
}

/// The heat maps of one binning (`synapse_activation_binned/t<bin>/<columns>`).
#[derive(Debug, Clone)]
pub struct BinningMap {
    /// The binning's key, e.g. `synapse_activation_binned/t1/EI__binned_somadist`.
    pub key: String,
    /// Bin edges \[ms\] (one more than the values per row).
    pub edges_ms: Vec<f64>,
    /// Rows are soma-distance bins `<a>to<b>` (µm): drawn on a distance axis.
    pub distance_rows: bool,
    /// The name of the row axis' group-by column.
    pub row_column: String,
    /// Trials averaged.
    pub n_trials: usize,
    /// The panels, in key order.
    pub panels: Vec<HeatPanel>,
}

/// A soma-distance label `<a>to<b>` (µm) as its interval.
pub fn distance_bin(label: &str) -> Option<(f64, f64)> {
    let (a, b) = label.split_once("to")?;
    Some((a.parse().ok()?, b.parse().ok()?))
}

fn db_err(e: impl std::fmt::Display, path: &Path) -> anyhow::Error {
    anyhow::anyhow!("database {}: {e}", path.display())
}

/// The binned-activation keys below `prefix` (element paths).
fn binned_keys(database: &Database, prefix: &[String]) -> anyhow::Result<Vec<Vec<String>>> {
    let path = database.root().to_path_buf();
    let all = database.keys_recursive().map_err(|e| db_err(e, &path))?;
    Ok(all
        .into_iter()
        .filter(|(k, m)| m.kind == <Binned as db::Payload>::KIND && k.starts_with(prefix))
        .map(|(k, _)| k)
        .collect())
}

impl BinningMap {
    /// Reads the binning under `key` (default: the database's only binning, or its only one
    /// grouped by `binned_somadist`), averaging the rows of `trials` (indices into the trials;
    /// `None`: all).
    pub fn read(
        db_path: &Path,
        key: Option<&str>,
        trials: Option<&str>,
    ) -> anyhow::Result<BinningMap> {
        let database = Database::open(db_path).map_err(|e| db_err(e, db_path))?;
        let prefix = match key {
            Some(k) => db::parse_key(k).map_err(|e| db_err(e, db_path))?,
            None => vec![BINNED_ROOT.to_string()],
        };
        let keys = binned_keys(&database, &prefix)?;
        if keys.is_empty() {
            anyhow::bail!(
                "database {}: no binned synapse activations under `{}` (make them with `isf db bin`)",
                db_path.display(),
                prefix.join("/")
            );
        }
        // A binning is the first three elements: root, t<bin>, the group-by columns.
        let mut binnings: Vec<Vec<String>> = keys
            .iter()
            .filter(|k| k.len() > 3)
            .map(|k| k[..3].to_vec())
            .collect();
        binnings.dedup();
        let binning = match binnings.as_slice() {
            [one] => one.clone(),
            [] => anyhow::bail!(
                "database {}: `{}` is not a binning (synapse_activation_binned/t<bin>/<columns>)",
                db_path.display(),
                prefix.join("/")
            ),
            many => {
                let spatial: Vec<_> = many
                    .iter()
                    .filter(|b| b[2].split("__").any(|c| c == "binned_somadist"))
                    .collect();
                match spatial.as_slice() {
                    [one] if key.is_none() => (*one).clone(),
                    _ => anyhow::bail!(
                        "database {}: several binnings ({}); choose one with --key",
                        db_path.display(),
                        many.iter()
                            .map(|b| b.join("/"))
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                }
            }
        };
        let columns: Vec<&str> = binning[2].split("__").collect();
        let row_column = columns.last().copied().unwrap_or("").to_string();
        let mut map = BinningMap {
            key: binning.join("/"),
            edges_ms: Vec::new(),
            distance_rows: row_column == "binned_somadist",
            row_column,
            n_trials: 0,
            panels: Vec::new(),
        };
        let mut selected: Option<Vec<usize>> = None;
        for k in keys.iter().filter(|k| k.starts_with(&binning)) {
            let b: Binned = database.get(k).map_err(|e| db_err(e, db_path))?;
            if map.edges_ms.is_empty() {
                map.edges_ms = b.bin_edges_ms.clone();
            } else if map.edges_ms != b.bin_edges_ms {
                anyhow::bail!(
                    "database {}: key `{}` has other bin edges than the rest of {}",
                    db_path.display(),
                    k.join("/"),
                    map.key
                );
            }
            let rows = match &selected {
                Some(r) => r.clone(),
                None => {
                    let r = super::data::parse_trials(trials.unwrap_or("all"), b.trial_ids.len())?;
                    if r.is_empty() {
                        anyhow::bail!("no trials selected");
                    }
                    selected = Some(r.clone());
                    r
                }
            };
            if let Some(&bad) = rows.iter().find(|&&r| r >= b.counts.nrows()) {
                anyhow::bail!(
                    "database {}: key `{}` has {} trials, not trial {bad}",
                    db_path.display(),
                    k.join("/"),
                    b.counts.nrows()
                );
            }
            map.n_trials = rows.len();
            let mean: Vec<f64> = (0..b.counts.ncols())
                .map(|j| rows.iter().map(|&r| b.counts[[r, j]]).sum::<f64>() / rows.len() as f64)
                .collect();
            let labels = &k[3..];
            let title = labels[..labels.len() - 1].join("/");
            let row = labels[labels.len() - 1].clone();
            let p = match map.panels.iter().position(|p| p.title == title) {
                Some(p) => p,
                None => {
                    map.panels.push(HeatPanel {
                        title,
                        rows: Vec::new(),
                        values: Vec::new(),
                    });
                    map.panels.len() - 1
                }
            };
            map.panels[p].rows.push(row);
            map.panels[p].values.push(mean);
        }
        if map.distance_rows {
            for p in &mut map.panels {
                let mut order: Vec<usize> = (0..p.rows.len()).collect();
                order.sort_by(|&a, &b| {
                    let d = |i: usize| distance_bin(&p.rows[i]).map_or(f64::MAX, |d| d.0);
                    d(a).total_cmp(&d(b))
                });
                p.rows = order.iter().map(|&i| p.rows[i].clone()).collect();
                p.values = order.iter().map(|&i| p.values[i].clone()).collect();
                if let Some(bad) = p.rows.iter().find(|r| distance_bin(r).is_none()) {
                    anyhow::bail!(
                        "database {}: {}: `{bad}` is not a soma-distance bin `<a>to<b>`",
                        db_path.display(),
                        map.key
                    );
                }
            }
        }
        Ok(map)
    }

    /// The largest mean count in the bins overlapping `range`: the top of the colour map.
    pub fn vmax(&self, range: (f64, f64)) -> f64 {
        let cols = self.columns(range);
        self.panels
            .iter()
            .flat_map(|p| p.values.iter())
            .flat_map(|v| cols.clone().map(move |j| v[j]))
            .fold(0.0, f64::max)
    }

    /// The bins overlapping `range`.
    pub fn columns(&self, range: (f64, f64)) -> std::ops::Range<usize> {
        let n = self.edges_ms.len().saturating_sub(1);
        let a = (0..n)
            .find(|&j| self.edges_ms[j + 1] > range.0)
            .unwrap_or(n);
        let b = (0..n)
            .rev()
            .find(|&j| self.edges_ms[j] < range.1)
            .map_or(a, |j| j + 1);
        a..b.max(a)
    }

    /// The row axis' extent of row `i` of a panel: a distance interval (µm) or `[i−½, i+½]`.
    pub fn row_span(&self, p: &HeatPanel, i: usize) -> (f64, f64) {
        if self.distance_rows {
            distance_bin(&p.rows[i]).unwrap_or((i as f64, i as f64 + 1.0))
        } else {
            (i as f64 - 0.5, i as f64 + 0.5)
        }
    }
}

/// The kernels of a reduced model per group: temporal (weight per time bin, summed over the
/// group's distance bins) and, when the keys are soma-distance bins, spatial (weight summed over
/// the window per distance bin). Each is the mean of the fitted models', with every model's too.
#[derive(Debug, Clone)]
pub struct Kernels {
    /// The model's key.
    pub key: String,
    /// The bin centres of the input window \[ms\].
    pub t_ms: Vec<f64>,
    /// Per group: its name, per model its temporal kernel, and its spatial kernel as (distance
    /// bin, weight per model).
    pub groups: Vec<KernelGroup>,
    /// Some group has distance bins: the spatial panel is drawn.
    pub spatial: bool,
}

/// One group's kernels.
#[derive(Debug, Clone)]
pub struct KernelGroup {
    /// The group (the key's labels without the distance bin), e.g. `EXC`.
    pub name: String,
    /// Per model, the weight of each time bin.
    pub temporal: Vec<Vec<f64>>,
    /// Per distance bin (µm), per model the weight summed over the window.
    pub spatial: Vec<((f64, f64), Vec<f64>)>,
}

/// The mean of equal-length rows.
pub fn mean_of(rows: &[Vec<f64>]) -> Vec<f64> {
    let n = rows.first().map_or(0, Vec::len);
    (0..n)
        .map(|j| rows.iter().map(|r| r[j]).sum::<f64>() / rows.len() as f64)
        .collect()
}

impl Kernels {
    /// Reads the model at `key` and its input keys' bin edges.
    pub fn read(db_path: &Path, key: &str) -> anyhow::Result<Kernels> {
        let database = Database::open(db_path).map_err(|e| db_err(e, db_path))?;
        let k = db::parse_key(key).map_err(|e| db_err(e, db_path))?;
        let model: ReducedLdaModel = database.get(&k).map_err(|e| db_err(e, db_path))?;
        let cfg = &model.config;
        if model.key_ranges.len() != cfg.keys.len() || model.models.is_empty() {
            anyhow::bail!(
                "database {}: model `{key}`: {} key ranges for {} keys, {} models",
                db_path.display(),
                model.key_ranges.len(),
                cfg.keys.len(),
                model.models.len()
            );
        }
        let mut out = Kernels {
            key: key.to_string(),
            t_ms: Vec::new(),
            groups: Vec::new(),
            spatial: false,
        };
        for (input, &(a, b)) in cfg.keys.iter().zip(&model.key_ranges) {
            // The window's bins as the fit took them (left edge in [min, max)).
            let ik = db::parse_key(input).map_err(|e| db_err(e, db_path))?;
            let binned: Binned = database.get(&ik).map_err(|e| {
                db_err(format!("model `{key}`'s input key `{input}`: {e}"), db_path)
            })?;
            let e = &binned.bin_edges_ms;
            let t: Vec<f64> = (0..e.len() - 1)
                .filter(|&j| e[j] >= cfg.window_min_ms && e[j] < cfg.window_max_ms)
                .map(|j| 0.5 * (e[j] + e[j + 1]))
                .collect();
            if t.len() != b - a {
                anyhow::bail!(
                    "database {}: model `{key}` has {} weights for `{input}`, whose window has {} bins",
                    db_path.display(),
                    b - a,
                    t.len()
                );
            }
            if out.t_ms.is_empty() {
                out.t_ms = t;
            } else if out.t_ms != t {
                anyhow::bail!(
                    "database {}: model `{key}`: input `{input}` has other bins than the first key",
                    db_path.display()
                );
            }
            let weights: Vec<Vec<f64>> = model
                .models
                .iter()
                .map(|m| m.kernel[a..b].to_vec())
                .collect();
            let elems: Vec<&str> = input.split('/').collect();
            let last = elems.last().copied().unwrap_or("");
            let (name, dist) = match distance_bin(last) {
                Some(d) if elems.len() > 4 => (elems[3..elems.len() - 1].join("/"), Some(d)),
                _ => (
                    if elems.len() > 3 && elems[0] == BINNED_ROOT {
                        elems[3..].join("/")
                    } else {
                        input.clone()
                    },
                    None,
                ),
            };
            let g = match out.groups.iter().position(|g| g.name == name) {
                Some(g) => g,
                None => {
                    out.groups.push(KernelGroup {
                        name,
                        temporal: vec![vec![0.0; b - a]; weights.len()],
                        spatial: Vec::new(),
                    });
                    out.groups.len() - 1
                }
            };
            let group = &mut out.groups[g];
            for (acc, w) in group.temporal.iter_mut().zip(&weights) {
                for (x, y) in acc.iter_mut().zip(w) {
                    *x += y;
                }
            }
            if let Some(d) = dist {
                out.spatial = true;
                group
                    .spatial
                    .push((d, weights.iter().map(|w| w.iter().sum()).collect()));
            }
        }
        for g in &mut out.groups {
            g.spatial.sort_by(|a, b| a.0 .0.total_cmp(&b.0 .0));
        }
        Ok(out)
    }
}

fn err<E: std::fmt::Display>(e: E) -> anyhow::Error {
    anyhow::anyhow!("drawing: {e}")
}

fn rgb(c: Rgb) -> RGBColor {
    RGBColor(c[0], c[1], c[2])
}

/// Colour of a kernel group: EXC blue, INH red (as the EXC/INH PSTH), others cycled.
pub fn group_color(name: &str, i: usize) -> Rgb {
    const OTHERS: [Rgb; 4] = [
        [44, 160, 44],
        [255, 127, 14],
        [148, 103, 189],
        [140, 86, 75],
    ];
    match name.split('/').next() {
        Some("EXC") => [30, 30, 200],
        Some("INH") => [200, 30, 30],
        _ => OTHERS[i % OTHERS.len()],
    }
}

/// Width of the colour bar's column \[px\].
pub const COLORBAR_WIDTH: u32 = 120;

impl BinningMap {
    /// Draws the panels (stacked, time on x) and a colour bar on the right.
    pub fn draw<DB: DrawingBackend>(
        &self,
        root: &DrawingArea<DB, Shift>,
        range: (f64, f64),
    ) -> anyhow::Result<()> {
        root.fill(&WHITE).map_err(err)?;
        let font = super::fonts::FAMILY;
        let (w, _) = root.dim_in_pixel();
        let (left, right) = root.split_horizontally(w.saturating_sub(COLORBAR_WIDTH));
        let cols = self.columns(range);
        let vmax = self.vmax(range).max(f64::MIN_POSITIVE);
        let cmap = ColorMap::viridis(0.0, vmax)?;
        let areas = left.split_evenly((self.panels.len().max(1), 1));
        let y_desc = if self.distance_rows {
            "soma distance (µm)".to_string()
        } else {
            self.row_column.clone()
        };
        for (i, (p, area)) in self.panels.iter().zip(&areas).enumerate() {
            let (y0, y1) = (0..p.rows.len()).fold((f64::MAX, f64::MIN), |(a, b), r| {
                let s = self.row_span(p, r);
                (a.min(s.0), b.max(s.1))
            });
            let last = i + 1 == self.panels.len();
            let caption = if p.title.is_empty() {
                format!("{} ({} trials)", self.key, self.n_trials)
            } else {
                format!("{}: {} ({} trials)", self.key, p.title, self.n_trials)
            };
            let mut chart = ChartBuilder::on(area)
                .margin(8)
                .margin_right(16)
                .x_label_area_size(if last { 40 } else { 24 })
                .y_label_area_size(70)
                .caption(caption, (font, 15))
                .build_cartesian_2d(range.0..range.1, y0..y1)
                .map_err(err)?;
            let rows = p.rows.clone();
            let distance = self.distance_rows;
            let row_label = move |v: &f64| -> String {
                if distance {
                    format!("{v:.0}")
                } else {
                    let r = v.round();
                    if (v - r).abs() < 1e-6 && r >= 0.0 && (r as usize) < rows.len() {
                        rows[r as usize].clone()
                    } else {
                        String::new()
                    }
                }
            };
            let mut mesh = chart.configure_mesh();
            mesh.disable_mesh()
                .y_desc(y_desc.as_str())
                .y_label_formatter(&row_label)
                .label_style((font, 12))
                .axis_desc_style((font, 13));
            if !distance {
                mesh.y_labels(p.rows.len() + 1);
            }
            if last {
                mesh.x_desc("time (ms)");
            }
            mesh.draw().map_err(err)?;
            for (r, v) in p.values.iter().enumerate() {
                let (a, b) = self.row_span(p, r);
                chart
                    .draw_series(cols.clone().map(|j| {
                        let x0 = self.edges_ms[j].max(range.0);
                        let x1 = self.edges_ms[j + 1].min(range.1);
                        Rectangle::new([(x0, a), (x1, b)], rgb(cmap.color(v[j])).filled())
                    }))
                    .map_err(err)?;
            }
        }
        // The colour bar.
        let mut bar = ChartBuilder::on(&right)
            .margin(8)
            .margin_top(30)
            .margin_bottom(48)
            .y_label_area_size(60)
            .build_cartesian_2d(0.0..1.0, 0.0..vmax)
            .map_err(err)?;
        bar.configure_mesh()
            .disable_mesh()
            .disable_x_axis()
            .y_desc("activations per trial and bin")
            .label_style((font, 11))
            .axis_desc_style((font, 12))
            .draw()
            .map_err(err)?;
        let n = ColorMap::LEVELS;
        bar.draw_series((0..n).map(|l| {
            let a = vmax * l as f64 / n as f64;
            let b = vmax * (l + 1) as f64 / n as f64;
            Rectangle::new([(0.0, a), (1.0, b)], rgb(cmap.level_color(l)).filled())
        }))
        .map_err(err)?;
        root.present().map_err(err)?;
        Ok(())
    }
}

impl Kernels {
    /// Draws the temporal kernels (left) and, with distance groups, the spatial ones (right):
    /// every model's thin, their mean thick, one colour per group.
    pub fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> anyhow::Result<()> {
        root.fill(&WHITE).map_err(err)?;
        let font = super::fonts::FAMILY;
        let (w, _) = root.dim_in_pixel();
        let (tarea, sarea) = if self.spatial {
            let (a, b) = root.split_horizontally(w * 3 / 5);
            (a, Some(b))
        } else {
            (root.clone(), None)
        };
        let span = |vals: &mut dyn Iterator<Item = f64>| {
            let (a, b) = vals.fold((0.0f64, 0.0f64), |(a, b), v| (a.min(v), b.max(v)));
            let pad = 0.08 * (b - a).max(1e-9);
            (a - pad, b + pad)
        };
        let (t0, t1) = match (self.t_ms.first(), self.t_ms.last()) {
            (Some(&a), Some(&b)) if b > a => (a - 0.5, b + 0.5),
            (Some(&a), _) => (a - 1.0, a + 1.0),
            _ => anyhow::bail!("model `{}` has no input bins", self.key),
        };
        let (ya, yb) = span(
            &mut self
                .groups
                .iter()
                .flat_map(|g| g.temporal.iter().flatten().copied()),
        );
        let mut chart = ChartBuilder::on(&tarea)
            .margin(12)
            .margin_right(20)
            .x_label_area_size(42)
            .y_label_area_size(64)
            .caption(format!("Temporal kernels of {}", self.key), (font, 16))
            .build_cartesian_2d(t0..t1, ya..yb)
            .map_err(err)?;
        chart
            .configure_mesh()
            .disable_mesh()
            .x_desc("time (ms)")
            .y_desc("weight per bin")
            .label_style((font, 12))
            .axis_desc_style((font, 13))
            .draw()
            .map_err(err)?;
        chart
            .draw_series(LineSeries::new(
                [(t0, 0.0), (t1, 0.0)],
                RGBColor(170, 170, 170),
            ))
            .map_err(err)?;
        for (i, g) in self.groups.iter().enumerate() {
            let c = rgb(group_color(&g.name, i));
            for m in &g.temporal {
                chart
                    .draw_series(LineSeries::new(
                        self.t_ms.iter().copied().zip(m.iter().copied()),
                        c.mix(0.3).stroke_width(1),
                    ))
                    .map_err(err)?;
            }
            chart
                .draw_series(LineSeries::new(
                    self.t_ms.iter().copied().zip(mean_of(&g.temporal)),
                    c.stroke_width(2),
                ))
                .map_err(err)?
                .label(g.name.clone())
                .legend(move |(x, y)| {
                    PathElement::new(vec![(x, y), (x + 16, y)], c.stroke_width(2))
                });
        }
        chart
            .configure_series_labels()
            .background_style(WHITE.mix(0.8))
            .border_style(BLACK)
            .label_font((font, 12))
            .position(SeriesLabelPosition::UpperLeft)
            .draw()
            .map_err(err)?;
        if let Some(sarea) = sarea {
            let (d0, d1) = self
                .groups
                .iter()
                .flat_map(|g| g.spatial.iter().map(|s| s.0))
                .fold((f64::MAX, f64::MIN), |(a, b), d| (a.min(d.0), b.max(d.1)));
            let (ya, yb) = span(
                &mut self
                    .groups
                    .iter()
                    .flat_map(|g| g.spatial.iter().flat_map(|s| s.1.iter().copied())),
            );
            let mut chart = ChartBuilder::on(&sarea)
                .margin(12)
                .margin_right(20)
                .x_label_area_size(42)
                .y_label_area_size(64)
                .caption("Spatial kernels", (font, 16))
                .build_cartesian_2d(d0..d1, ya..yb)
                .map_err(err)?;
            chart
                .configure_mesh()
                .disable_mesh()
                .x_desc("soma distance (µm)")
                .y_desc("weight summed over the window")
                .label_style((font, 12))
                .axis_desc_style((font, 13))
                .draw()
                .map_err(err)?;
            for (i, g) in self.groups.iter().enumerate() {
                let c = rgb(group_color(&g.name, i));
                let centre = |d: (f64, f64)| 0.5 * (d.0 + d.1);
                let n = g.spatial.first().map_or(0, |s| s.1.len());
                for m in 0..n {
                    chart
                        .draw_series(LineSeries::new(
                            g.spatial.iter().map(|s| (centre(s.0), s.1[m])),
                            c.mix(0.3).stroke_width(1),
                        ))
                        .map_err(err)?;
                }
                chart
                    .draw_series(LineSeries::new(
                        g.spatial
                            .iter()
                            .map(|s| (centre(s.0), s.1.iter().sum::<f64>() / n.max(1) as f64)),
                        c.stroke_width(2),
                    ))
                    .map_err(err)?;
            }
        }
        root.present().map_err(err)?;
        Ok(())
    }
}

/// A picture of this module, ready to render.
pub enum Picture<'a> {
    /// Heat maps of a binning over a time range \[ms\].
    Binning(&'a BinningMap, (f64, f64)),
    /// A reduced model's kernels.
    Kernels(&'a Kernels),
}

impl Picture<'_> {
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> anyhow::Result<()> {
        match self {
            Picture::Binning(m, range) => m.draw(root, *range),
            Picture::Kernels(k) => k.draw(root),
        }
    }
}

impl super::Figure for Picture<'_> {
    const MIN_WIDTH: u32 = 200;
    fn draw_on<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> anyhow::Result<()> {
        self.draw(root)
    }
}
