//! The per-segment table of `isf cell-info` (the columns of the reference `segments.csv`).

use super::CellTemplate;
use std::path::Path;

/// One row per segment, NEURON's segment order within sections in section-ID order.
#[derive(Debug, Clone, PartialEq)]
pub struct SegmentRow {
    /// Section ID.
    pub sec_idx: usize,
    /// Section name.
    pub sec_name: String,
    /// Label.
    pub label: String,
    /// nseg of the section.
    pub nseg: usize,
    /// Section length (µm).
    pub sec_l: f64,
    /// Parent section (−1 for the root).
    pub parent_sec_idx: i64,
    /// Attachment position on the parent (−1 for the root).
    pub parent_x: f64,
    /// Segment index.
    pub seg_idx: usize,
    /// Segment centre.
    pub x: f64,
    /// Area (µm²).
    pub area_um2: f64,
    /// NEURON `seg.diam` (µm).
    pub diam: f64,
    /// Axial resistance to the parent node (MΩ).
    pub ri_mohm: f64,
    /// cm (µF/cm²).
    pub cm: f64,
    /// Ra (Ω·cm).
    pub ra: f64,
    /// `distance_to_soma(sec, x)` (µm).
    pub soma_dist: f64,
    /// One value per [`SegmentsTable::mech_columns`] entry; NaN where the mechanism is absent.
    pub mech: Vec<f64>,
}

/// The segments table.
#[derive(Debug, Clone, PartialEq)]
pub struct SegmentsTable {
    /// Mechanism columns as `param_mechanism` (e.g. `g_pas`, `gIhbar_Ih`).
    pub mech_columns: Vec<String>,
    /// Rows.
    pub rows: Vec<SegmentRow>,
}

/// The fixed leading columns.
pub const FIXED_COLUMNS: &[&str] = &[
    "sec_idx",
    "sec_name",
    "label",
    "nseg",
    "sec_L",
    "parent_sec_idx",
    "parent_x",
    "seg_idx",
    "x",
    "area_um2",
    "diam",
    "ri_Mohm",
    "cm",
    "Ra",
    "soma_dist",
];

impl CellTemplate {
    /// The per-segment table (geometry, distances and every mechanism parameter the file sets).
    pub fn segments_table(&self) -> SegmentsTable {
        let mut cols: Vec<(usize, String)> = Vec::new();
        let mut names = Vec::new();
        for (mi, m) in self.mechanisms.iter().enumerate() {
            for p in m.params.keys() {
                cols.push((mi, p.clone()));
                names.push(format!("{p}_{}", m.name));
            }
        }
        let mut rows = Vec::new();
        for (i, s) in self.sections.iter().enumerate() {
            for k in 0..s.nseg {
                let node = s.first_node + k;
                let x = s.segx(k);
                let mech = cols
                    .iter()
                    .map(|(mi, p)| {
                        let m = &self.mechanisms[*mi];
                        match m.nodes.binary_search(&node) {
                            Ok(j) => m.params[p][j],
                            Err(_) => f64::NAN,
                        }
                    })
                    .collect();
                rows.push(SegmentRow {
                    sec_idx: i,
                    sec_name: s.name.clone(),
                    label: s.label.clone(),
                    nseg: s.nseg,
                    sec_l: s.length_um,
                    parent_sec_idx: s.parent.map_or(-1, |p| p as i64),
                    parent_x: s.parent_x,
                    seg_idx: k,
                    x,
                    area_um2: self.cable.area_um2[node],
                    diam: s.seg_diam_um[k],
                    ri_mohm: 1.0 / self.cable.rinv_us[node],
                    cm: self.cable.cm_uf_cm2[node],
                    ra: s.ra_ohm_cm,
                    soma_dist: self.distance_to_soma(i, x),
                    mech,
                });
            }
        }
        SegmentsTable {
            mech_columns: names,
            rows,
        }
    }
}

impl SegmentsTable {
    /// Writes the table as CSV (numbers in shortest round-trip form, NaN as an empty field),
    /// atomically: a temporary file in the same folder, then a rename.
    pub fn write_csv(&self, path: &Path) -> std::io::Result<()> {
        Ok(isf_io::atomic::write_file_with(path, |out| {
            let mut w = csv::Writer::from_writer(out);
            let mut header: Vec<String> = FIXED_COLUMNS.iter().map(|s| s.to_string()).collect();
            header.extend(self.mech_columns.iter().cloned());
            w.write_record(&header)?;
            let num = |v: f64| {
                if v.is_nan() {
                    String::new()
                } else {
                    crate::param::python_float::py_repr(v)
                }
            };
            for r in &self.rows {
                let mut rec = vec![
                    r.sec_idx.to_string(),
                    r.sec_name.clone(),
                    r.label.clone(),
                    r.nseg.to_string(),
                    num(r.sec_l),
                    r.parent_sec_idx.to_string(),
                    num(r.parent_x),
                    r.seg_idx.to_string(),
                    num(r.x),
                    num(r.area_um2),
                    num(r.diam),
                    num(r.ri_mohm),
                    num(r.cm),
                    num(r.ra),
                    num(r.soma_dist),
                ];
                rec.extend(r.mech.iter().map(|&v| num(v)));
                w.write_record(&rec)?;
            }
            w.flush()
        })?)
    }
}
