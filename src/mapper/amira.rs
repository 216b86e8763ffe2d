//! AmiraMesh ASCII scalar fields (`.am` uniform lattices): the PST normalisation fields and the
//! single-axon bouton fields (docs/mapper.md#amira-fields).
//!
//! Geometry convention (ISF's): the `BoundingBox` line gives the *centres* of the first and last
//! voxels; the field stores the corner of voxel (0,0,0) as `origin_um`, so voxel `(i,j,k)` covers
//! `[origin + i·d, origin + (i+1)·d]` per axis. Data are stored x fastest (Fortran order), as in
//! the file.

use std::path::Path;

use super::MapperError;

/// Most voxels of a lattice (the whole barrel-cortex PST field has about 10⁶ at 50 µm).
pub const MAX_VOXELS: usize = 1 << 28;

/// Largest coordinate or spacing accepted in a header, µm (the rat barrel cortex spans a few
/// mm; anything beyond a metre is corrupt).
pub const MAX_COORDINATE_UM: f64 = 1e6;

/// `nx·ny·nz` if at most [`MAX_VOXELS`].
fn voxel_count(d: [usize; 3]) -> Option<usize> {
    d[0].checked_mul(d[1])?
        .checked_mul(d[2])
        .filter(|&n| n <= MAX_VOXELS)
}

/// A uniform scalar lattice.
#[derive(Debug, Clone, PartialEq)]
pub struct ScalarField {
    /// Voxels per axis `(nx, ny, nz)`.
    pub dims: [usize; 3],
    /// Corner of voxel (0,0,0), µm.
    pub origin_um: [f64; 3],
    /// Voxel edge lengths, µm.
    pub spacing_um: [f64; 3],
    /// Values, x fastest: index `i + nx·(j + ny·k)`.
    pub data: Vec<f64>,
}

impl ScalarField {
    /// Reads an AmiraMesh ASCII lattice. The name must end in `.am`/`.AM`.
    pub fn read(path: &Path) -> Result<Self, MapperError> {
        let ext_ok = path
            .extension()
            .and_then(|e| e.to_str())
            .is_some_and(|e| e.eq_ignore_ascii_case("am"));
        if !ext_ok {
            return Err(MapperError::file(
                path,
                "not an AmiraMesh file (name must end in .am)",
            ));
        }
        let text = MapperError::read_text(path)?;
        Self::parse(&text, path)
    }

    /// Parses the text of an AmiraMesh ASCII lattice; `path` is used in error messages.
    ///
    /// Header: `define Lattice nx ny nz`, `BoundingBox xmin xmax ymin ymax zmin zmax`,
    /// `Spacing dx dy dz` (if absent, derived from the bounding box where dims > 1 — ISF fails
    /// instead). Data start after the first line beginning with `@1`; values may be one per
    /// line (ISF's writer) or several per line (newer readers). The value count must equal
    /// `nx·ny·nz`.
    pub fn parse(text: &str, path: &Path) -> Result<Self, MapperError> {
        let mut dims: Option<[usize; 3]> = None;
        let mut bbox: Option<[f64; 6]> = None;
        let mut spacing: Option<[f64; 3]> = None;
        let mut data: Vec<f64> = Vec::new();
        let mut in_data = false;
        // Values the header allows; more are an error at once, so that memory stays bounded by
        // the header (itself bounded by MAX_VOXELS), not by the file.
        let mut capacity = 0usize;
        let mut last_line = 0;
        for (idx, raw) in text.lines().enumerate() {
            let lineno = idx + 1;
            last_line = lineno;
            let line = raw.trim();
            if line.is_empty() {
                continue;
            }
            if !in_data {
                if raw.starts_with("@1") {
                    let d = dims.ok_or_else(|| {
                        MapperError::parse(path, lineno, "data section before `define Lattice`")
                    })?;
                    // Every value takes at least two bytes of text, so a header promising more
                    // than that is found out by the count check below, not by the allocator.
                    let n = voxel_count(d).unwrap_or(usize::MAX);
                    data.reserve(n.min(text.len() / 2));
                    capacity = n;
                    in_data = true;
                    continue;
                }
                if line.contains("define") && line.contains("Lattice") {
                    let v = last_tokens::<usize>(line, 3).ok_or_else(|| {
                        MapperError::parse(path, lineno, "expected `define Lattice nx ny nz`")
                    })?;
                    if v.contains(&0) {
                        return Err(MapperError::parse(path, lineno, "lattice with zero voxels"));
                    }
                    if voxel_count([v[0], v[1], v[2]]).is_none() {
                        return Err(MapperError::parse(
                            path,
                            lineno,
                            format!(
                                "lattice {}x{}x{} has more than {MAX_VOXELS} voxels",
                                v[0], v[1], v[2]
                            ),
                        ));
                    }
                    dims = Some([v[0], v[1], v[2]]);
                } else if line.contains("BoundingBox") {
                    let v = last_tokens::<f64>(line, 6).ok_or_else(|| {
                        MapperError::parse(path, lineno, "expected `BoundingBox` with six numbers")
                    })?;
                    if !v.iter().all(|x| x.abs() <= MAX_COORDINATE_UM) {
                        return Err(MapperError::parse(
                            path,
                            lineno,
                            format!(
                                "BoundingBox coordinates must be finite and within \
                                 ±{MAX_COORDINATE_UM:e} µm"
                            ),
                        ));
                    }
                    if (0..3).any(|a| v[2 * a] > v[2 * a + 1]) {
                        return Err(MapperError::parse(
                            path,
                            lineno,
                            "BoundingBox minimum above its maximum",
                        ));
                    }
                    bbox = Some([v[0], v[1], v[2], v[3], v[4], v[5]]);
                } else if line.contains("Spacing") {
                    let v = last_tokens::<f64>(line, 3).ok_or_else(|| {
                        MapperError::parse(path, lineno, "expected `Spacing dx dy dz`")
                    })?;
                    if v.iter().any(|&d| !(d > 0.0 && d <= MAX_COORDINATE_UM)) {
                        return Err(MapperError::parse(
                            path,
                            lineno,
                            "spacing must be positive and finite",
                        ));
                    }
                    spacing = Some([v[0], v[1], v[2]]);
                }
                continue;
            }
            for tok in line.split_whitespace() {
                if data.len() == capacity {
                    let d = dims.unwrap_or_default();
                    return Err(MapperError::parse(
                        path,
                        lineno,
                        format!(
                            "lattice {}x{}x{} needs {capacity} values, the data section has {} \
                             or more (wrong header?)",
                            d[0],
                            d[1],
                            d[2],
                            capacity + 1
                        ),
                    ));
                }
                let v: f64 = tok.parse().map_err(|_| {
                    MapperError::parse(path, lineno, format!("not a number: `{tok}`"))
                })?;
                if !v.is_finite() {
                    return Err(MapperError::parse(path, lineno, "non-finite value"));
                }
                // Every field isf reads is a density (boutons or PST per voxel).
                if v < 0.0 {
                    return Err(MapperError::parse(
                        path,
                        lineno,
                        format!("negative density `{tok}`"),
                    ));
                }
                data.push(v);
            }
        }
        // Something missing from the whole file is reported at its last line, where reading
        // ended without finding it.
        let last = text.lines().count();
        let missing =
            |what: &str| MapperError::parse(path, last, format!("end of file: no {what}"));
        let dims = dims.ok_or_else(|| missing("`define Lattice` line"))?;
        let bbox = bbox.ok_or_else(|| missing("`BoundingBox` line"))?;
        if !in_data {
            return Err(missing("data section (`@1`)"));
        }
        let expected = voxel_count(dims).unwrap_or(usize::MAX);
        if data.len() != expected {
            return Err(MapperError::parse(
                path,
                last_line,
                format!(
                    "lattice {}x{}x{} needs {expected} values, the data section has {} (truncated or wrong header)",
                    dims[0],
                    dims[1],
                    dims[2],
                    data.len()
                ),
            ));
        }
        let spacing = match spacing {
            Some(s) => s,
            None => {
                let mut s = [0.0; 3];
                for a in 0..3 {
                    if dims[a] < 2 {
                        return Err(MapperError::file(
                            path,
                            "no `Spacing` line and the spacing cannot be derived from a single-voxel axis",
                        ));
                    }
                    s[a] = (bbox[2 * a + 1] - bbox[2 * a]) / (dims[a] - 1) as f64;
                    if s[a].is_nan() || s[a] <= 0.0 {
                        return Err(MapperError::file(path, "BoundingBox is not increasing"));
                    }
                }
                s
            }
        };
        let origin_um = [
            bbox[0] - 0.5 * spacing[0],
            bbox[2] - 0.5 * spacing[1],
            bbox[4] - 0.5 * spacing[2],
        ];
        Ok(ScalarField {
            dims,
            origin_um,
            spacing_um: spacing,
            data,
        })
    }

    /// Value of voxel `(i, j, k)`.
    #[inline]
    pub fn get(&self, i: usize, j: usize, k: usize) -> f64 {
        self.data[i + self.dims[0] * (j + self.dims[1] * k)]
    }

    /// Corner bounds `[min, max]` per axis.
    pub fn bounds_um(&self) -> [[f64; 2]; 3] {
        let mut b = [[0.0; 2]; 3];
        for (a, ba) in b.iter_mut().enumerate() {
            ba[0] = self.origin_um[a];
            ba[1] = self.origin_um[a] + self.dims[a] as f64 * self.spacing_um[a];
        }
        b
    }

    /// Crops to the smallest index box holding every non-zero voxel (ISF's `resize_mesh`).
    /// `None` for an all-zero field.
    pub fn cropped_to_nonzero(&self) -> Option<ScalarField> {
        let [nx, ny, nz] = self.dims;
        let mut lo = [usize::MAX; 3];
        let mut hi = [0usize; 3];
        for k in 0..nz {
            for j in 0..ny {
                for i in 0..nx {
                    if self.get(i, j, k) != 0.0 {
                        for (a, v) in [i, j, k].into_iter().enumerate() {
                            lo[a] = lo[a].min(v);
                            hi[a] = hi[a].max(v);
                        }
                    }
                }
            }
        }
        if lo[0] == usize::MAX {
            return None;
        }
        let dims = [hi[0] - lo[0] + 1, hi[1] - lo[1] + 1, hi[2] - lo[2] + 1];
        let mut data = Vec::with_capacity(dims[0] * dims[1] * dims[2]);
        for k in lo[2]..=hi[2] {
            for j in lo[1]..=hi[1] {
                for i in lo[0]..=hi[0] {
                    data.push(self.get(i, j, k));
                }
            }
        }
        let mut origin_um = self.origin_um;
        for a in 0..3 {
            origin_um[a] += lo[a] as f64 * self.spacing_um[a];
        }
        Some(ScalarField {
            dims,
            origin_um,
            spacing_um: self.spacing_um,
            data,
        })
    }

    /// ISF's point lookup (`get_scalar`): the value of the voxel containing `p`, or `None` if
    /// `p` lies within 1e-6 µm of the bounding box or outside it. No interpolation.
    #[inline]
    pub fn value_at(&self, p: [f64; 3]) -> Option<f64> {
        let mut idx = [0usize; 3];
        for a in 0..3 {
            let lo = self.origin_um[a];
            let hi = lo + self.dims[a] as f64 * self.spacing_um[a];
            if p[a] < lo + 1e-6 || p[a] > hi - 1e-6 {
                return None;
            }
            let f = ((p[a] - lo) / self.spacing_um[a]).floor();
            // Rounding can put a point 1e-6 below the top face into index n; clamp.
            idx[a] = (f.max(0.0) as usize).min(self.dims[a] - 1);
        }
        Some(self.get(idx[0], idx[1], idx[2]))
    }
}

impl ScalarField {
    /// The AmiraMesh ASCII text of this field (ISF's writer layout: one value per line, x
    /// fastest), readable by [`ScalarField::parse`] and by ISF.
    pub fn to_amira_text(&self) -> String {
        use std::fmt::Write as _;
        let [nx, ny, nz] = self.dims;
        let c0: [f64; 3] = std::array::from_fn(|a| self.origin_um[a] + 0.5 * self.spacing_um[a]);
        let c1: [f64; 3] =
            std::array::from_fn(|a| c0[a] + (self.dims[a] as f64 - 1.0) * self.spacing_um[a]);
        let mut s = String::with_capacity(200 + 14 * self.data.len());
        let _ = write!(
            s,
            "# AmiraMesh 3D ASCII 2.0\n\ndefine Lattice {nx} {ny} {nz}\n\nParameters {{\n    Content \"{nx}x{ny}x{nz} float, uniform coordinates\",\n    Spacing {} {} {},\n    BoundingBox {} {} {} {} {} {},\n    CoordType \"uniform\"\n}}\n\nLattice {{ float Data }} @1\n\n@1\n",
            self.spacing_um[0], self.spacing_um[1], self.spacing_um[2], c0[0], c1[0], c0[1], c1[1], c0[2], c1[2]
        );
        for v in &self.data {
            let _ = writeln!(s, "{v:e}");
        }
        s
    }

    /// Writes [`ScalarField::to_amira_text`] atomically (temporary file, then rename).
    pub fn write(&self, path: &Path) -> Result<(), MapperError> {
        Ok(isf_io::atomic::write_file(
            path,
            self.to_amira_text().as_bytes(),
        )?)
    }
}

/// The last `n` whitespace tokens of `line` (commas and spaces trimmed) parsed as `T`.
fn last_tokens<T: std::str::FromStr>(line: &str, n: usize) -> Option<Vec<T>> {
    let trimmed = line.trim_matches(|c: char| c == ',' || c.is_whitespace());
    let toks: Vec<&str> = trimmed.split_whitespace().collect();
    if toks.len() < n {
        return None;
    }
    toks[toks.len() - n..]
        .iter()
        .map(|t| t.trim_matches(',').parse::<T>().ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(values: &[&str]) -> String {
        let mut s = String::from(
            "# AmiraMesh 3D ASCII 2.0\n\ndefine Lattice 2 1 2\n\nParameters {\n\tSpacing 50 50 50,\n\tBoundingBox -25 25 0 0 100 150,\n\tCoordType \"uniform\"\n}\n\nLattice { float Data } @1\n\n# Data section follows\n@1\n",
        );
        for v in values {
            s.push_str(v);
            s.push('\n');
        }
        s
    }

    #[test]
    fn header_geometry_and_order() {
        let f = ScalarField::parse(&sample(&["0", "1", "2", "3"]), Path::new("t.am")).unwrap();
        assert_eq!(f.dims, [2, 1, 2]);
        // Centres -25..25 with 50 µm voxels: corners start at -50.
        assert_eq!(f.origin_um, [-50.0, -25.0, 75.0]);
        assert_eq!(f.bounds_um(), [[-50.0, 50.0], [-25.0, 25.0], [75.0, 175.0]]);
        // x fastest: value n at (n mod 2, 0, n div 2).
        assert_eq!(f.get(1, 0, 0), 1.0);
        assert_eq!(f.get(0, 0, 1), 2.0);
        assert_eq!(f.value_at([10.0, 0.0, 160.0]), Some(3.0));
        assert_eq!(f.value_at([-50.0 + 1e-7, 0.0, 100.0]), None);
        assert_eq!(f.value_at([-49.0, 0.0, 100.0]), Some(0.0));
        // Several values per line are accepted too.
        let g = ScalarField::parse(&sample(&["0 1", "2 3"]), Path::new("t.am")).unwrap();
        assert_eq!(f.data, g.data);
        // Writer round trip.
        let h = ScalarField::parse(&f.to_amira_text(), Path::new("w.am")).unwrap();
        assert_eq!(h, f);
    }

    #[test]
    fn crop_moves_origin() {
        let f = ScalarField::parse(&sample(&["0", "0", "0", "3"]), Path::new("t.am")).unwrap();
        let c = f.cropped_to_nonzero().unwrap();
        assert_eq!(c.dims, [1, 1, 1]);
        assert_eq!(c.origin_um, [0.0, -25.0, 125.0]);
        assert_eq!(c.data, vec![3.0]);
        let z = ScalarField::parse(&sample(&["0", "0", "0", "0"]), Path::new("t.am")).unwrap();
        assert!(z.cropped_to_nonzero().is_none());
    }

    #[test]
    fn bad_files_are_errors_with_lines() {
        let e = ScalarField::parse(&sample(&["0", "1", "2"]), Path::new("t.am")).unwrap_err();
        let msg = e.to_string();
        assert!(
            msg.contains("t.am:") && msg.contains("needs 4 values"),
            "{msg}"
        );
        let e = ScalarField::parse(&sample(&["0", "1", "x", "3"]), Path::new("t.am")).unwrap_err();
        assert!(e.to_string().contains("t.am:17"), "{e}");
        let e = ScalarField::parse("define Lattice 1 1 1\n", Path::new("t.am")).unwrap_err();
        assert!(e.to_string().contains("BoundingBox"), "{e}");
        let e =
            ScalarField::parse(&sample(&["0", "1", "2", "3", "4"]), Path::new("t.am")).unwrap_err();
        assert!(e.to_string().contains("has 5"), "{e}");
    }
}
