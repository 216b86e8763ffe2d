//! The code's design notes live in the repository's own `docs/`: no citation of a specification
//! outside the repository (`§ N.M`, `isf-spec.md`, `input-mapper-spec.md`) may come back into the
//! sources, and every `docs/X.md#anchor` the code cites, and every link between the docs, must
//! name a heading that exists.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

/// Source trees whose comments cite the docs.
const SOURCE_DIRS: [&str; 6] = [
    "src",
    "isf-post/src",
    "isf-io/src",
    "tests",
    "benches",
    "build.rs",
];

fn files_under(dir: &Path, ext: &[&str], out: &mut Vec<PathBuf>) {
    if dir.is_file() {
        out.push(dir.to_path_buf());
        return;
    }
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries {
        let p = e.unwrap().path();
        if p.is_dir() {
            files_under(&p, ext, out);
        } else if p
            .extension()
            .and_then(|x| x.to_str())
            .is_some_and(|x| ext.contains(&x))
        {
            out.push(p);
        }
    }
}

fn sources() -> Vec<PathBuf> {
    let mut files = Vec::new();
    for d in SOURCE_DIRS {
        files_under(&Path::new(ROOT).join(d), &["rs", "py"], &mut files);
    }
    assert!(files.len() > 50, "found only {} source files", files.len());
    // This file names what it looks for.
    let me = Path::new(ROOT).join(file!());
    files.retain(|f| *f != me);
    files
}

/// GitHub's anchor of a Markdown heading: lower case, punctuation dropped, spaces to `-`.
fn slug(heading: &str) -> String {
    heading
        .trim()
        .to_lowercase()
        .chars()
        .filter(|c| c.is_alphanumeric() || *c == ' ' || *c == '-' || *c == '_')
        .map(|c| if c == ' ' { '-' } else { c })
        .collect()
}

/// The anchors of every `docs/*.md`, by file name.
fn doc_anchors() -> BTreeMap<String, BTreeSet<String>> {
    let mut docs = Vec::new();
    files_under(&Path::new(ROOT).join("docs"), &["md"], &mut docs);
    let mut anchors = BTreeMap::new();
    for d in docs {
        let text = std::fs::read_to_string(&d).unwrap();
        let mut set = BTreeSet::new();
        let mut in_code = false;
        for line in text.lines() {
            if line.starts_with("```") {
                in_code = !in_code;
            } else if !in_code && line.starts_with('#') {
                set.insert(slug(line.trim_start_matches('#')));
            }
        }
        anchors.insert(d.file_name().unwrap().to_string_lossy().into_owned(), set);
    }
    anchors
}

/// `(file, anchor)` pairs cited as `docs/<file>.md#<anchor>` in `text`.
fn citations(text: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(i) = rest.find("docs/") {
        rest = &rest[i + 5..];
        let name: String = rest
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == '-')
            .collect();
        let after = &rest[name.len()..];
        if let Some(anchor) = after.strip_prefix(".md#") {
            let anchor: String = anchor
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '-' || *c == '_')
                .collect();
            out.push((format!("{name}.md"), anchor));
        } else if after.starts_with(".md") {
            out.push((format!("{name}.md"), String::new()));
        }
    }
    out
}

#[test]
fn no_citation_of_the_external_specification() {
    let mut bad = Vec::new();
    for f in sources() {
        let text = std::fs::read_to_string(&f).unwrap();
        for (n, line) in text.lines().enumerate() {
            if line.contains('§') || line.contains("isf-spec.md") || line.contains("mapper-spec.md")
            {
                bad.push(format!("{}:{}: {}", f.display(), n + 1, line.trim()));
            }
        }
    }
    assert!(
        bad.is_empty(),
        "cite the repository's docs/ (scripts/spec-map.tsv maps old sections), not the \
         external specification:\n{}",
        bad.join("\n")
    );
}

#[test]
fn cited_doc_sections_exist() {
    let anchors = doc_anchors();
    let mut bad = Vec::new();
    let mut n = 0;
    for f in sources() {
        let text = std::fs::read_to_string(&f).unwrap();
        for (line_no, line) in text.lines().enumerate() {
            for (doc, anchor) in citations(line) {
                n += 1;
                match anchors.get(&doc) {
                    None => bad.push(format!("{}:{}: no docs/{doc}", f.display(), line_no + 1)),
                    Some(set) if !anchor.is_empty() && !set.contains(&anchor) => bad.push(format!(
                        "{}:{}: docs/{doc} has no heading #{anchor}",
                        f.display(),
                        line_no + 1
                    )),
                    _ => {}
                }
            }
        }
    }
    assert!(n > 90, "only {n} citations of docs/ found");
    assert!(bad.is_empty(), "{}", bad.join("\n"));
}

/// Links between the docs (`[text](other.md#anchor)`, `(#anchor)`) and from the READMEs into
/// them.
#[test]
fn links_between_docs_resolve() {
    let anchors = doc_anchors();
    let mut pages: Vec<(PathBuf, String)> = Vec::new();
    let mut docs = Vec::new();
    files_under(&Path::new(ROOT).join("docs"), &["md"], &mut docs);
    for d in docs {
        let own = d.file_name().unwrap().to_string_lossy().into_owned();
        pages.push((d, own));
    }
    let mut bad = Vec::new();
    for (page, own) in &pages {
        let text = std::fs::read_to_string(page).unwrap();
        for (line_no, line) in text.lines().enumerate() {
            let mut rest = line;
            while let Some(i) = rest.find("](") {
                rest = &rest[i + 2..];
                let target: String = rest.chars().take_while(|c| *c != ')').collect();
                if target.contains("://") || target.starts_with("..") {
                    continue;
                }
                let (file, anchor) = target.split_once('#').unwrap_or((&target, ""));
                let file = if file.is_empty() { own.as_str() } else { file };
                match anchors.get(file) {
                    None => bad.push(format!(
                        "{}:{}: no docs/{file}",
                        page.display(),
                        line_no + 1
                    )),
                    Some(set) if !anchor.is_empty() && !set.contains(anchor) => bad.push(format!(
                        "{}:{}: docs/{file} has no heading #{anchor}",
                        page.display(),
                        line_no + 1
                    )),
                    _ => {}
                }
            }
        }
    }
    for readme in ["README.md", "isf-post/README.md"] {
        let text = std::fs::read_to_string(Path::new(ROOT).join(readme)).unwrap();
        for (doc, anchor) in citations(&text) {
            match anchors.get(&doc) {
                None => bad.push(format!("{readme}: no docs/{doc}")),
                Some(set) if !anchor.is_empty() && !set.contains(&anchor) => {
                    bad.push(format!("{readme}: docs/{doc} has no heading #{anchor}"))
                }
                _ => {}
            }
        }
    }
    assert!(bad.is_empty(), "{}", bad.join("\n"));
}

/// `scripts/spec-map.tsv` (old section → doc and anchor, for citations arriving from older
/// branches) points only at headings that exist.
#[test]
fn spec_map_targets_exist() {
    let anchors = doc_anchors();
    let text = std::fs::read_to_string(Path::new(ROOT).join("scripts/spec-map.tsv")).unwrap();
    let mut n = 0;
    for (i, line) in text.lines().enumerate() {
        if line.starts_with('#') || line.starts_with("spec\t") || line.is_empty() {
            continue;
        }
        let doc = line
            .split('\t')
            .nth(2)
            .unwrap_or_else(|| panic!("line {}: {line}", i + 1));
        let (file, anchor) = doc.split_once('#').unwrap_or((doc, ""));
        let set = anchors
            .get(file)
            .unwrap_or_else(|| panic!("spec-map.tsv:{}: no docs/{file}", i + 1));
        assert!(
            anchor.is_empty() || set.contains(anchor),
            "spec-map.tsv:{}: docs/{file} has no heading #{anchor}",
            i + 1
        );
        n += 1;
    }
    assert!(n > 100, "{n} rows");
}

/// Every test file the READMEs, the docs, the scripts and the sources name (`tests/…/x.rs`,
/// `isf-post/tests/x.rs`) exists, so moving a test updates what points at it.
#[test]
fn named_test_files_exist() {
    let mut files = Vec::new();
    for d in [
        "src",
        "isf-post/src",
        "isf-io/src",
        "benches",
        "docs",
        "scripts",
    ] {
        files_under(
            &Path::new(ROOT).join(d),
            &["rs", "md", "sh", "tsv"],
            &mut files,
        );
    }
    for f in ["README.md", "isf-post/README.md", "CHANGELOG.md"] {
        files.push(Path::new(ROOT).join(f));
    }
    let mut bad = Vec::new();
    let mut n = 0;
    for f in files {
        let text = std::fs::read_to_string(&f).unwrap();
        let mut rest = text.as_str();
        while let Some(i) = rest.find("tests/") {
            let start = &text[text.len() - rest.len()..][..i];
            let prefix = if start.ends_with("isf-post/") {
                "isf-post/"
            } else {
                ""
            };
            rest = &rest[i..];
            let name: String = rest
                .chars()
                .take_while(|c| {
                    c.is_ascii_alphanumeric() || matches!(c, '_' | '/' | '.' | '-' | '*')
                })
                .collect();
            rest = &rest[6..];
            if !name.ends_with(".rs") || name.contains('*') {
                continue;
            }
            n += 1;
            if !Path::new(ROOT).join(prefix).join(&name).is_file() {
                bad.push(format!("{}: {prefix}{name}", f.display()));
            }
        }
    }
    assert!(n > 5, "only {n} test files named");
    assert!(
        bad.is_empty(),
        "named test files that do not exist:\n{}",
        bad.join("\n")
    );
}

#[test]
fn slugs_follow_github() {
    assert_eq!(slug(" Exact and fast numerics"), "exact-and-fast-numerics");
    assert_eq!(slug(" IDs and distances"), "ids-and-distances");
    assert_eq!(slug(" Spatio-temporal binning"), "spatio-temporal-binning");
    assert_eq!(slug(" `cnexp`"), "cnexp");
    assert_eq!(
        citations("see docs/models.md#geometry, docs/numerics.md."),
        vec![
            ("models.md".to_string(), "geometry".to_string()),
            ("numerics.md".to_string(), String::new())
        ]
    );
}
