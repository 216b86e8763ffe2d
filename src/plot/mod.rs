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
pub mod fonts;
pub mod fullcell;
pub mod maps;
pub mod morphology;

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
