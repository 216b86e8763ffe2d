//! Analyses and lowers `.mod` files (or every `.mod` file of a directory) and prints, for each,
//! the lowered program's size or why it cannot be compiled yet:
//! `cargo run -p isf-nmodl --example lower -- FILE_OR_DIR…`.

use std::path::{Path, PathBuf};

fn files(arg: &Path, out: &mut Vec<PathBuf>) {
    if arg.is_dir() {
        let mut entries: Vec<PathBuf> = std::fs::read_dir(arg)
            .map(|d| d.filter_map(|e| e.ok()).map(|e| e.path()).collect())
            .unwrap_or_default();
        entries.sort();
        for e in entries {
            if e.is_dir() || e.extension().is_some_and(|x| x == "mod") {
                files(&e, out);
            }
        }
    } else {
        out.push(arg.to_path_buf());
    }
}

fn main() {
    let mut all = Vec::new();
    for a in std::env::args().skip(1) {
        files(Path::new(&a), &mut all);
    }
    let (mut ok, mut refused) = (0, 0);
    for f in &all {
        let model = match isf_nmodl::analyse_file(f) {
            Ok(m) => m,
            Err(e) => {
                refused += 1;
                println!(
                    "{}: refused by the front end: {}",
                    f.display(),
                    e.first().message
                );
                continue;
            }
        };
        match isf_nmodl::lower::lower(&model) {
            Ok(p) => {
                ok += 1;
                let (i, c, s) = p.sizes();
                println!(
                    "{}: {} compiled: {} parameters, {} variables, {} columns, {} tables; \
                     instructions: INITIAL {i}, current {c}, state {s}",
                    f.display(),
                    p.name,
                    p.params.len(),
                    p.vars.len(),
                    p.columns.len(),
                    p.tables.len()
                );
            }
            Err(e) => {
                refused += 1;
                println!("{}: not compiled yet: {e}", f.display());
            }
        }
    }
    println!("{ok} compiled, {refused} not");
}
