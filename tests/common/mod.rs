//! Helpers shared by the reference tests: reading NEURON's CSV outputs and comparing columns.
#![allow(dead_code)]

pub mod passive_cells;
pub mod process;

use std::path::Path;

/// A CSV table: header names and columns of numbers.
pub struct Table {
    pub names: Vec<String>,
    pub columns: Vec<Vec<f64>>,
}

impl Table {
    pub fn read(path: &Path) -> Table {
        let text =
            std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let mut lines = text.lines();
        let names: Vec<String> = lines
            .next()
            .expect("header")
            .split(',')
            .map(|s| s.trim().to_string())
            .collect();
        let mut columns = vec![Vec::new(); names.len()];
        for line in lines.filter(|l| !l.trim().is_empty()) {
            for (c, field) in line.split(',').enumerate() {
                columns[c].push(field.trim().parse::<f64>().unwrap_or(f64::NAN));
            }
        }
        Table { names, columns }
    }

    pub fn has_column(&self, name: &str) -> bool {
        self.names.iter().any(|n| n == name)
    }

    pub fn column(&self, name: &str) -> &[f64] {
        let i = self
            .names
            .iter()
            .position(|n| n == name)
            .unwrap_or_else(|| panic!("no column {name}"));
        &self.columns[i]
    }
}

/// Largest |ours − reference| over a column.
pub fn max_abs_diff(ours: &[f64], reference: &[f64]) -> f64 {
    assert_eq!(ours.len(), reference.len(), "row count");
    ours.iter()
        .zip(reference)
        .map(|(a, b)| if a == b { 0.0 } else { (a - b).abs() })
        .fold(0.0, f64::max)
}

/// Largest |value| of a column.
pub fn max_abs(x: &[f64]) -> f64 {
    x.iter().map(|v| v.abs()).fold(0.0, f64::max)
}

/// The single file in `dir` whose name ends with `suffix`.
pub fn find(dir: &Path, suffix: &str) -> std::path::PathBuf {
    let hits: Vec<std::path::PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.to_string_lossy().ends_with(suffix))
        .collect();
    assert_eq!(
        hits.len(),
        1,
        "files ending in {suffix} in {}",
        dir.display()
    );
    hits.into_iter().next().unwrap()
}

/// A copy of the example cell 86 using NaTs2_t instead of NaTa_t and CaDynamics_E2_v2 instead
/// of CaDynamics_E2 (mechanisms that only compiled `.mod` files provide), written into `dir`;
/// `None` when the example is absent.
pub fn compiled_cell_param(dir: &Path) -> Option<std::path::PathBuf> {
    let param = isf::testing::shared_path("isf-example/86_C2_center.param")?;
    let mut text = std::fs::read_to_string(&param)
        .unwrap()
        .replace("\"NaTa_t\"", "\"NaTs2_t\"")
        .replace("gNaTa_tbar", "gNaTs2_tbar")
        .replace("\"CaDynamics_E2\"", "\"CaDynamics_E2_v2\"");
    // The files it names relative to itself, made absolute.
    for e in std::fs::read_dir(param.parent().unwrap()).unwrap() {
        let e = e.unwrap();
        let name = e.file_name().to_string_lossy().into_owned();
        text = text.replace(
            &format!("\"{name}\""),
            &format!("\"{}\"", e.path().display()),
        );
    }
    let out = dir.join("86_compiled.param");
    std::fs::write(&out, text).unwrap();
    Some(out)
}
