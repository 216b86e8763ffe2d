//! INCLUDE: files found as NEURON finds them, their items analysed in place, their errors named
//! with their own file and line.

use isf_nmodl::{analyse_file, ErrorKind};

fn write(dir: &std::path::Path, name: &str, text: &str) -> std::path::PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

const MAIN: &str = "NEURON { SUFFIX inc RANGE g NONSPECIFIC_CURRENT i }
INCLUDE \"units.inc\"
PARAMETER { g = 0.001 (S/cm2) }
ASSIGNED { v (mV) i (mA/cm2) }
BREAKPOINT { i = g*(v - erev) }
";

#[test]
fn included_items_are_analysed_in_place() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "units.inc",
        "UNITS { (mV) = (millivolt) (mA) = (milliamp) (S) = (siemens) }\nINCLUDE \"rev.inc\"\n",
    );
    write(dir.path(), "rev.inc", "PARAMETER { erev = -70 (mV) }\n");
    let main = write(dir.path(), "inc.mod", MAIN);
    let m = analyse_file(&main).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(m.var("erev").unwrap().default, Some(-70.0));
    let sp = m.var("erev").unwrap().span.clone().unwrap();
    assert!(sp.file.ends_with("rev.inc"), "{sp:?}");
    assert_eq!(sp.line, 1);
}

#[test]
fn errors_in_included_files_name_them() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "units.inc",
        "UNITS { (mV) = (millivolt) (mA) = (milliamp) (S) = (siemens) }\nINCLUDE \"rev.inc\"\n",
    );
    write(
        dir.path(),
        "rev.inc",
        "\nPARAMETER { erev = -70 (fortnights) }\n",
    );
    let main = write(dir.path(), "inc.mod", MAIN);
    let e = analyse_file(&main).unwrap_err();
    let d = e.first();
    assert_eq!(d.kind, ErrorKind::Unit);
    assert!(d.file.ends_with("rev.inc"), "{e}");
    assert_eq!(d.line, 2);
    assert!(d.source_line.contains("fortnights"), "{e}");
    // A syntax error in an included file.
    write(dir.path(), "rev.inc", "PARAMETER { erev = }\n");
    let e = analyse_file(&main).unwrap_err();
    assert!(e.first().file.ends_with("rev.inc"), "{e}");
    assert_eq!(e.first().kind, ErrorKind::Syntax);
}

#[test]
fn missing_and_cyclic_includes_are_errors() {
    let dir = tempfile::tempdir().unwrap();
    let main = write(dir.path(), "inc.mod", MAIN);
    let e = analyse_file(&main).unwrap_err();
    let d = e.first();
    assert_eq!(
        (d.kind, d.construct.as_str(), d.line),
        (ErrorKind::Io, "INCLUDE", 2)
    );
    assert!(e.to_string().contains("`units.inc` not found"), "{e}");
    write(dir.path(), "units.inc", "INCLUDE \"units.inc\"\n");
    let e = analyse_file(&main).unwrap_err();
    assert!(e.to_string().contains("nested deeper"), "{e}");
    // A file including itself twice: bounded work.
    write(
        dir.path(),
        "units.inc",
        "INCLUDE \"units.inc\"\nINCLUDE \"units.inc\"\n",
    );
    let start = std::time::Instant::now();
    let e = analyse_file(&main).unwrap_err();
    assert!(start.elapsed().as_secs() < 10);
    assert!(e.to_string().contains("INCLUDE"), "{e}");
    // Without a file system (analyse_str), INCLUDE is refused with its reason.
    let e = isf_nmodl::analyse_str("inc.mod", MAIN).unwrap_err();
    assert!(e
        .diagnostics
        .iter()
        .any(|d| d.construct == "INCLUDE" && d.kind == ErrorKind::Unsupported));
}
