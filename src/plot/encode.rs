//! Encoding rendered RGB frames: PNG, animated GIF, and MP4/WebM through an `ffmpeg` child process.

use std::io::Write as _;
use std::path::Path;
use std::process::{Command, Stdio};

use anyhow::Context as _;
use rayon::prelude::*;

use super::Rgb;

/// PNG bytes of an RGB image (`rgb.len() == 3·w·h`), compressed fast (animation frames).
pub fn png(rgb: &[u8], w: u32, h: u32) -> anyhow::Result<Vec<u8>> {
    png_with(rgb, w, h, png::Compression::Fast)
}

/// PNG bytes of an RGB image, compressed well (single pictures).
pub fn png_small(rgb: &[u8], w: u32, h: u32) -> anyhow::Result<Vec<u8>> {
    png_with(rgb, w, h, png::Compression::Best)
}

fn png_with(rgb: &[u8], w: u32, h: u32, c: png::Compression) -> anyhow::Result<Vec<u8>> {
    let mut out = Vec::new();
    {
        let mut enc = png::Encoder::new(&mut out, w, h);
        enc.set_color(png::ColorType::Rgb);
        enc.set_depth(png::BitDepth::Eight);
        enc.set_compression(c);
        let mut wr = enc.write_header()?;
        wr.write_image_data(rgb)?;
    }
    Ok(out)
}

/// Decodes an 8-bit RGB or RGBA PNG into (RGB bytes, width, height).
pub fn decode_png(bytes: &[u8]) -> anyhow::Result<(Vec<u8>, u32, u32)> {
    let dec = png::Decoder::new(std::io::Cursor::new(bytes));
    let mut reader = dec.read_info()?;
    let mut buf = vec![0; reader.output_buffer_size()];
    let info = reader.next_frame(&mut buf)?;
    buf.truncate(info.buffer_size());
    let rgb = match (info.color_type, info.bit_depth) {
        (png::ColorType::Rgb, png::BitDepth::Eight) => buf,
        (png::ColorType::Rgba, png::BitDepth::Eight) => buf
            .chunks_exact(4)
            .flat_map(|p| [p[0], p[1], p[2]])
            .collect(),
        (c, d) => anyhow::bail!("PNG of {c:?}/{d:?}: only 8-bit RGB or RGBA is read"),
    };
    Ok((rgb, info.width, info.height))
}

/// An animated GIF being written with one global palette: frames arrive in chunks; each chunk's
/// pixels are mapped to the palette (nearest colour) and compressed in parallel. A fixed palette
/// spares the per-frame colour quantisation, which costs far more than drawing the frame.
pub struct GifWriter {
    enc: gif::Encoder<Vec<u8>>,
    palette: Vec<Rgb>,
    w: u16,
    h: u16,
    delay_cs: u16,
}

impl GifWriter {
    /// A looping GIF of `w × h` frames shown `delay_cs` hundredths of a second each, with
    /// `palette` (at most 256 colours: those the frames are drawn with).
    pub fn new(w: u32, h: u32, delay_cs: u16, palette: Vec<Rgb>) -> anyhow::Result<GifWriter> {
        let (w, h) = (
            u16::try_from(w).context("GIF width over 65535")?,
            u16::try_from(h).context("GIF height over 65535")?,
        );
        if palette.is_empty() || palette.len() > 256 {
            anyhow::bail!("a GIF palette has 1 to 256 colours, not {}", palette.len());
        }
        let flat: Vec<u8> = palette.iter().flatten().copied().collect();
        let mut enc = gif::Encoder::new(Vec::new(), w, h, &flat)?;
        enc.set_repeat(gif::Repeat::Infinite)?;
        Ok(GifWriter {
            enc,
            palette,
            w,
            h,
            delay_cs,
        })
    }

    /// Appends RGB frames.
    pub fn add(&mut self, frames: &[Vec<u8>]) -> anyhow::Result<()> {
        let (w, h, delay, palette) = (self.w, self.h, self.delay_cs, &self.palette);
        let encoded: Vec<gif::Frame<'static>> = frames
            .par_iter()
            .map(|rgb| {
                let mut cache: std::collections::HashMap<Rgb, u8> = Default::default();
                let idx: Vec<u8> = rgb
                    .chunks_exact(3)
                    .map(|p| {
                        let c = [p[0], p[1], p[2]];
                        *cache.entry(c).or_insert_with(|| nearest(palette, c))
                    })
                    .collect();
                let mut f = gif::Frame::from_indexed_pixels(w, h, idx, None);
                f.delay = delay;
                f.make_lzw_pre_encoded();
                f
            })
            .collect();
        for f in &encoded {
            self.enc.write_lzw_pre_encoded_frame(f)?;
        }
        Ok(())
    }

    /// The GIF's bytes.
    pub fn finish(self) -> anyhow::Result<Vec<u8>> {
        Ok(self.enc.into_inner()?)
    }
}

fn nearest(palette: &[Rgb], c: Rgb) -> u8 {
    let d = |p: &Rgb| -> i32 { (0..3).map(|k| (p[k] as i32 - c[k] as i32).pow(2)).sum() };
    (0..palette.len())
        .min_by_key(|&i| d(&palette[i]))
        .unwrap_or(0) as u8
}

/// Whether an `ffmpeg` executable answers on the PATH.
pub fn ffmpeg_available() -> bool {
    Command::new("ffmpeg")
        .arg("-version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// A video being encoded by an `ffmpeg` child process fed raw RGB frames on its standard input:
/// `.mp4` (H.264) or `.webm` (VP9).
pub struct VideoWriter {
    child: std::process::Child,
    stdin: Option<std::process::ChildStdin>,
    out: std::path::PathBuf,
}

impl VideoWriter {
    /// Starts `ffmpeg` writing `out` (`w × h` frames at `fps`).
    pub fn new(out: &Path, w: u32, h: u32, fps: f64) -> anyhow::Result<VideoWriter> {
        if !ffmpeg_available() {
            anyhow::bail!(
                "{}: MP4/WebM output needs `ffmpeg` on the PATH (install it, e.g. Debian's \
                 ffmpeg package), or write a .gif or PNG frames instead",
                out.display()
            );
        }
        let codec: &[&str] = match out.extension().and_then(|e| e.to_str()) {
            Some("mp4") => &["-c:v", "libx264", "-pix_fmt", "yuv420p", "-f", "mp4"],
            Some("webm") => &["-c:v", "libvpx-vp9", "-pix_fmt", "yuv420p", "-f", "webm"],
            _ => anyhow::bail!("{}: a video is .mp4 or .webm", out.display()),
        };
        let mut child = Command::new("ffmpeg")
            .args([
                "-loglevel",
                "error",
                "-y",
                "-f",
                "rawvideo",
                "-pix_fmt",
                "rgb24",
            ])
            .args([
                "-s",
                &format!("{w}x{h}"),
                "-r",
                &format!("{fps}"),
                "-i",
                "-",
            ])
            // yuv420p needs even sizes.
            .args(["-vf", "pad=ceil(iw/2)*2:ceil(ih/2)*2"])
            .args(codec)
            .arg(out)
            .stdin(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .context("starting ffmpeg")?;
        let stdin = child.stdin.take();
        Ok(VideoWriter {
            child,
            stdin,
            out: out.to_path_buf(),
        })
    }

    /// Appends RGB frames.
    pub fn add(&mut self, frames: &[Vec<u8>]) -> anyhow::Result<()> {
        let stdin = self.stdin.as_mut().expect("open until finish");
        for f in frames {
            stdin.write_all(f).context("writing frames to ffmpeg")?;
        }
        Ok(())
    }

    /// Waits for `ffmpeg` to finish the file.
    pub fn finish(mut self) -> anyhow::Result<()> {
        drop(self.stdin.take());
        let o = self.child.wait_with_output()?;
        if !o.status.success() {
            anyhow::bail!(
                "ffmpeg failed writing {}: {}",
                self.out.display(),
                String::from_utf8_lossy(&o.stderr).trim()
            );
        }
        Ok(())
    }
}
