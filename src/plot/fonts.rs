//! The TrueType font text is drawn with, loaded once at run time (no fontconfig): `$ISF_FONT` if
//! set, else DejaVu Sans where Debian's `fonts-dejavu-core` installs it (`scripts/setup.sh`).

use std::path::PathBuf;
use std::sync::OnceLock;

/// The font family name pictures use.
pub const FAMILY: &str = "sans-serif";

/// Where DejaVu Sans is looked for when `$ISF_FONT` is unset.
pub const DEFAULT_FONTS: [&str; 2] = [
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/dejavu/DejaVuSans.ttf",
];

static LOADED: OnceLock<Result<PathBuf, String>> = OnceLock::new();

/// Loads and registers the font (once per process); an error says where it was looked for.
pub fn ensure() -> anyhow::Result<()> {
    let r = LOADED.get_or_init(|| {
        let candidates: Vec<PathBuf> = match std::env::var_os("ISF_FONT") {
            Some(p) => vec![PathBuf::from(p)],
            None => DEFAULT_FONTS.iter().map(PathBuf::from).collect(),
        };
        let Some(path) = candidates.iter().find(|p| p.is_file()) else {
            return Err(format!(
                "no font for the pictures' text: looked for {} (install Debian's \
                 fonts-dejavu-core, as scripts/setup.sh does, or set ISF_FONT to a .ttf file)",
                candidates
                    .iter()
                    .map(|p| p.display().to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        };
        let bytes = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
        // plotters keeps registered fonts for the whole process.
        let bytes: &'static [u8] = Box::leak(bytes.into_boxed_slice());
        plotters::style::register_font(FAMILY, plotters::style::FontStyle::Normal, bytes)
            .map_err(|_| format!("{}: not a TrueType font plotters can read", path.display()))?;
        Ok(path.clone())
    });
    r.as_ref().map(|_| ()).map_err(|e| anyhow::anyhow!("{e}"))
}
