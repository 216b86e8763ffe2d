//! Prints the analysed model of each `.mod` file given (or every `.mod` file under the folders
//! given), or its errors.
//!
//!     cargo run -p isf-nmodl --example dump -- ../shared/nmodl

use std::path::{Path, PathBuf};

fn collect(p: &Path, out: &mut Vec<PathBuf>) {
    if p.is_dir() {
        let mut entries: Vec<PathBuf> = std::fs::read_dir(p)
            .map(|d| d.filter_map(|e| e.ok().map(|e| e.path())).collect())
            .unwrap_or_default();
        entries.sort();
        for e in entries {
            collect(&e, out);
        }
    } else if p.extension().is_some_and(|e| e == "mod") {
        out.push(p.to_path_buf());
    }
}

fn main() {
    let mut files = Vec::new();
    for a in std::env::args().skip(1) {
        collect(Path::new(&a), &mut files);
    }
    if files.is_empty() {
        eprintln!("usage: dump FILE.mod|DIR ...");
        std::process::exit(2);
    }
    let mut failed = 0;
    for f in &files {
        match isf_nmodl::analyse_file(f) {
            Ok(m) => print!("{}", isf_nmodl::dump::summary(&m)),
            Err(e) => {
                failed += 1;
                println!("REFUSED {}\n{e}", f.display());
            }
        }
        println!();
    }
    eprintln!("{} files, {} refused", files.len(), failed);
}
