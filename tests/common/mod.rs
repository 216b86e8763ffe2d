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
