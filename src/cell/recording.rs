//! Dendritic recording sites from Amira `.landmarkAscii` files (ISF `RecordingSiteManager`,
//! docs/formats.md#recording-sites).

use super::{CellError, CellTemplate};
use std::path::Path;

/// One recording site: the segment nearest to a landmark.
#[derive(Debug, Clone, PartialEq)]
pub struct RecordingSite {
    /// ISF's label, e.g. `apical_proximal_distal_rec_sites_ID_000_sec_038_seg_032_x_0.929_somaDist_920.7`.
    pub label: String,
    /// Section ID.
    pub section: usize,
    /// Segment index within the section.
    pub segment: usize,
    /// Segment centre x.
    pub x: f64,
    /// Node recorded.
    pub node: usize,
}

/// Reads the points of an Amira landmark file: the numeric rows after the `@1` data marker
/// (three coordinates each, µm).
pub fn read_landmarks(path: &Path) -> Result<Vec<[f64; 3]>, CellError> {
    let err = |line: usize, msg: String| CellError::Landmark {
        path: path.to_path_buf(),
        line,
        msg,
    };
    let text = crate::text::read_text(path).map_err(|e| match e {
        crate::text::ReadTextError::Io(e) => {
            err(0, format!("cannot read recording-site file: {e}"))
        }
        e => err(e.line(), e.to_string()),
    })?;
    let mut in_data = false;
    let mut pts = Vec::new();
    // The header's `define Markers N` is not checked: ISF ignores it, and its own example
    // file declares 2 markers but holds 1.
    for (i, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if !in_data {
            in_data = line == "@1";
            continue;
        }
        if line.is_empty() {
            continue;
        }
        if line.starts_with('@') {
            break;
        }
        let v: Vec<f64> = line
            .split_whitespace()
            .map(|t| t.parse::<f64>().ok().filter(|v| v.is_finite()))
            .collect::<Option<Vec<f64>>>()
            .ok_or_else(|| err(i + 1, format!("expected three numbers, found `{line}`")))?;
        if v.len() != 3 {
            return Err(err(
                i + 1,
                format!("expected three numbers, found {}", v.len()),
            ));
        }
        if let Some(c) = v
            .iter()
            .find(|c| c.abs() > crate::limits::MAX_MORPHOLOGY_UM)
        {
            return Err(err(
                i + 1,
                format!(
                    "coordinate {} µm is outside ±{:e} µm",
                    crate::limits::fmt_num(*c),
                    crate::limits::MAX_MORPHOLOGY_UM
                ),
            ));
        }
        pts.push([v[0], v[1], v[2]]);
    }
    if !in_data {
        return Err(err(0, "no `@1` data section".into()));
    }
    Ok(pts)
}

/// Python's `%.Nf` (round half to even on the exact binary value), which Rust's `{:.N}` matches.
fn fixed(x: f64, digits: usize) -> String {
    format!("{x:.digits$}")
}

/// The sites for `points` of the file with stem `stem`; `first_index` numbers them on from
/// earlier files.
pub(super) fn recording_sites(
    t: &CellTemplate,
    stem: &str,
    points: &[[f64; 3]],
    first_index: usize,
) -> Vec<RecordingSite> {
    let mut out = Vec::new();
    for (n, lm) in points.iter().enumerate() {
        let mut best = (f64::INFINITY, 0usize, 0usize);
        for (s, sec) in t.sections.iter().enumerate() {
            for (k, p) in sec.pts.iter().enumerate() {
                let d0 = lm[0] - p[0];
                let d1 = lm[1] - p[1];
                let d2 = lm[2] - p[2];
                let d = (d0 * d0 + d1 * d1 + d2 * d2).sqrt();
                if d < best.0 {
                    best = (d, s, k);
                }
            }
        }
        let (_, s, k) = best;
        let sec = &t.sections[s];
        let x_pt = sec.rel_pts[k];
        let mut seg = (f64::INFINITY, 0usize);
        for j in 0..sec.nseg {
            let d = (sec.segx(j) - x_pt).abs();
            if d < seg.0 {
                seg = (d, j);
            }
        }
        let j = seg.1;
        let x = sec.segx(j);
        let dist = t.distance_to_soma(s, x);
        out.push(RecordingSite {
            label: format!(
                "{stem}_ID_{:03}_sec_{s:03}_seg_{j:03}_x_{}_somaDist_{}",
                first_index + n,
                fixed(x, 3),
                fixed(dist, 1)
            ),
            section: s,
            segment: j,
            x,
            node: sec.first_node + j,
        });
    }
    out
}
