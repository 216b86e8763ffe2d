//! Pictures of simulations (`isf plot`): the morphology coloured by voltage with the active
//! synapses (stills and animations), traces, rasters and PSTHs, drawn from the files isf writes
//! (docs/plot.md).
//!
//! Drawing goes through `plotters` (bitmap and SVG backends); the morphology itself is rasterised
//! here, since its pixels must carry the colour map's colours exactly (no blending) for a reader to
//! invert them. Text needs a TrueType font, loaded at run time ([`fonts`]).

pub mod animation;
pub mod charts;
pub mod colormap;
pub mod data;
pub mod encode;
pub mod figures;
pub mod fonts;
pub mod fullcell;
pub mod maps;
pub mod morphology;
pub mod stored;

pub use colormap::ColorMap;

/// An RGB colour.
pub type Rgb = [u8; 3];

/// Output format of a picture, from the file name's extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// `.png`.
    Png,
    /// `.svg`.
    Svg,
}

impl Format {
    /// The format of `path` (`.png` or `.svg`, any case).
    pub fn of(path: &std::path::Path) -> anyhow::Result<Format> {
        match path
            .extension()
            .and_then(|e| e.to_str())
            .map(str::to_ascii_lowercase)
            .as_deref()
        {
            Some("png") => Ok(Format::Png),
            Some("svg") => Ok(Format::Svg),
            _ => anyhow::bail!(
                "{}: the picture's format is taken from its extension: .png or .svg",
                path.display()
            ),
        }
    }
}

/// A picture drawn with plotters on any backend, rendered as PNG or SVG.
pub trait Figure {
    /// Smallest width in pixels the picture's layout needs.
    const MIN_WIDTH: u32 = 100;

    /// Draws the picture on `root`.
    fn draw_on<DB: plotters::prelude::DrawingBackend>(
        &self,
        root: &plotters::prelude::DrawingArea<DB, plotters::coord::Shift>,
    ) -> anyhow::Result<()>;

    /// The picture as PNG or SVG bytes of `w × h` pixels.
    fn render(&self, format: Format, w: u32, h: u32) -> anyhow::Result<Vec<u8>> {
        use plotters::prelude::{BitMapBackend, IntoDrawingArea, SVGBackend};
        if !(Self::MIN_WIDTH..=10_000).contains(&w) || !(100..=10_000).contains(&h) {
            anyhow::bail!(
                "picture size {w}×{h}: width {} to 10000, height 100 to 10000 pixels",
                Self::MIN_WIDTH
            );
        }
        fonts::ensure()?;
        match format {
            Format::Png => {
                let mut buf = vec![255u8; 3 * w as usize * h as usize];
                {
                    let root = BitMapBackend::with_buffer(&mut buf, (w, h)).into_drawing_area();
                    self.draw_on(&root)?;
                }
                encode::png_small(&buf, w, h)
            }
            Format::Svg => {
                let mut s = String::new();
                {
                    let root = SVGBackend::with_string(&mut s, (w, h)).into_drawing_area();
                    self.draw_on(&root)?;
                }
                Ok(s.into_bytes())
            }
        }
    }

    /// Renders the picture into `path` (format from its extension), replacing it atomically.
    fn save(&self, path: &std::path::Path, w: u32, h: u32) -> anyhow::Result<()> {
        let bytes = self.render(Format::of(path)?, w, h)?;
        crate::output::write_atomic(path, &bytes)?;
        Ok(())
    }
}
