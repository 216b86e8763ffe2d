//! ISF's `.hoc` morphology reader: line-oriented and substring based (ISF does not interpret hoc),
//! reproducing `single_cell_parser.reader.read_hoc_file`.
//!
//! * A line with both `/*` and `*/` is skipped (as ISF does); so is a line starting with `//`.
//! * A line containing `create` starts a section; its label comes from the keyword the line
//!   contains: `soma` → `Soma`, `dend` or `BasalDendrite` → `Dendrite`, `apical` →
//!   `ApicalDendrite`, `axon` → `Axon`. ISF tests the keywords independently, so a line with two
//!   of them breaks its reader; here it is an error naming the line.
//! * `pt3dadd(x, y, z, d)` lines after a `create` add points (lines containing `Spine` are
//!   skipped); the point list ends at the first other line after at least one point.
//! * A `connect` line sets the parent of the most recently created section: parent name and
//!   position from the second comma-separated field (`parent(x)`); the child end is ignored.

use super::{check_point, Morphology, MorphologyError, Section};
use std::collections::HashMap;
use std::path::Path;

/// Reads an ISF `.hoc` morphology file.
pub fn read_hoc(path: &Path) -> Result<Morphology, MorphologyError> {
    let text = super::read_text(path)?;
    parse_hoc(&text, path)
}

struct Pending {
    section: Section,
    create_line: usize,
    point_lines: Vec<usize>,
    parent: Option<(String, f64, usize)>,
    points_closed: bool,
}

/// Parses `.hoc` text; `path` is used in error messages only.
pub fn parse_hoc(text: &str, path: &Path) -> Result<Morphology, MorphologyError> {
    let syntax = |line: usize, msg: String| MorphologyError::Syntax {
        path: path.to_path_buf(),
        line,
        msg,
    };
    let mut pending: Vec<Pending> = Vec::new();
    for (idx, raw) in text.lines().enumerate() {
        let lineno = idx + 1;
        if raw.contains("/*") && raw.contains("*/") {
            continue;
        }
        if raw.trim_start().starts_with("//") {
            continue;
        }
        if raw.contains("create") {
            let mut labels = Vec::new();
            if raw.contains("soma") {
                labels.push("Soma");
            }
            if raw.contains("dend") || raw.contains("BasalDendrite") {
                labels.push("Dendrite");
            }
            if raw.contains("apical") {
                labels.push("ApicalDendrite");
            }
            if raw.contains("axon") {
                labels.push("Axon");
            }
            let stripped = raw.trim_matches(|c| matches!(c, '{' | '}' | ' ' | '\t' | '\n' | '\r'));
            let name = stripped
                .split_whitespace()
                .nth(1)
                .ok_or_else(|| syntax(lineno, "`create` without a section name".into()))?;
            let label = match labels.as_slice() {
                [one] => *one,
                [] => {
                    return Err(syntax(
                        lineno,
                        format!(
                            "section `{name}`: name contains none of the type keywords \
                             soma, dend, BasalDendrite, apical, axon"
                        ),
                    ))
                }
                _ => {
                    return Err(syntax(
                        lineno,
                        format!(
                            "section `{name}`: name contains several type keywords ({}); \
                             ISF cannot label it",
                            labels.join(", ")
                        ),
                    ))
                }
            };
            pending.push(Pending {
                section: Section {
                    name: name.to_string(),
                    label: label.to_string(),
                    points: Vec::new(),
                    parent: None,
                },
                create_line: lineno,
                point_lines: Vec::new(),
                parent: None,
                points_closed: false,
            });
            continue;
        }
        if raw.contains("pt3dadd") {
            let Some(cur) = pending.last_mut() else {
                return Err(syntax(lineno, "`pt3dadd` before any `create`".into()));
            };
            if cur.points_closed || raw.contains("Spine") {
                continue;
            }
            let open = raw
                .find('(')
                .ok_or_else(|| syntax(lineno, "`pt3dadd` without `(`".into()))?;
            let close = raw[open..]
                .find(')')
                .map(|c| c + open)
                .ok_or_else(|| syntax(lineno, "`pt3dadd` without `)`".into()))?;
            let fields: Vec<&str> = raw[open + 1..close].split(',').collect();
            if fields.len() != 4 {
                return Err(syntax(
                    lineno,
                    format!(
                        "`pt3dadd` needs 4 numbers (x, y, z, diam), found {}",
                        fields.len()
                    ),
                ));
            }
            let mut p = [0.0; 4];
            for (k, f) in fields.iter().enumerate() {
                let v: f64 = f.trim().parse().map_err(|_| {
                    syntax(
                        lineno,
                        format!("`{}` is not a number in `pt3dadd`", f.trim()),
                    )
                })?;
                if !v.is_finite() {
                    return Err(syntax(lineno, format!("non-finite value `{}`", f.trim())));
                }
                p[k] = v;
            }
            check_point(&p).map_err(|m| syntax(lineno, format!("`pt3dadd`: {m}")))?;
            cur.section.points.push(p);
            cur.point_lines.push(lineno);
            continue;
        }
        if let Some(cur) = pending.last_mut() {
            if !cur.section.points.is_empty() {
                cur.points_closed = true;
            }
        }
        if raw.contains("connect") {
            let Some(cur) = pending.last_mut() else {
                return Err(syntax(lineno, "`connect` before any `create`".into()));
            };
            let field = raw.split(',').nth(1).ok_or_else(|| {
                syntax(
                    lineno,
                    "`connect` needs `child(x), parent(x)` (no comma found)".into(),
                )
            })?;
            let open = field
                .find('(')
                .ok_or_else(|| syntax(lineno, "`connect`: parent has no `(x)`".into()))?;
            let close = field[open..]
                .find(')')
                .map(|c| c + open)
                .ok_or_else(|| syntax(lineno, "`connect`: parent has no closing `)`".into()))?;
            let pname = field[..open].trim().to_string();
            let xs = field[open + 1..close].trim();
            let x: f64 = xs.parse().map_err(|_| {
                syntax(
                    lineno,
                    format!("`connect`: parent position `{xs}` is not a number"),
                )
            })?;
            if !(0.0..=1.0).contains(&x) {
                return Err(syntax(
                    lineno,
                    format!("`connect`: parent position {x} outside [0, 1]"),
                ));
            }
            cur.parent = Some((pname, x, lineno));
        }
    }

    let mut ids: HashMap<&str, usize> = HashMap::new();
    for (i, p) in pending.iter().enumerate() {
        if ids.insert(p.section.name.as_str(), i).is_some() {
            return Err(syntax(
                p.create_line,
                format!("section `{}` is created twice", p.section.name),
            ));
        }
    }
    let mut parents = Vec::with_capacity(pending.len());
    for p in &pending {
        if p.section.points.is_empty() {
            return Err(syntax(
                p.create_line,
                format!("section `{}` has no pt3dadd points", p.section.name),
            ));
        }
        let parent = match (&p.parent, p.section.label.as_str()) {
            (_, "Soma") => None,
            (Some((name, x, line)), _) => {
                let id = *ids.get(name.as_str()).ok_or_else(|| {
                    syntax(
                        *line,
                        format!(
                            "section `{}` is connected to `{name}`, which is never created",
                            p.section.name
                        ),
                    )
                })?;
                Some((id, *x))
            }
            (None, _) => {
                return Err(syntax(
                    p.create_line,
                    format!("section `{}` has no `connect` statement", p.section.name),
                ))
            }
        };
        parents.push(parent);
    }
    if pending.is_empty() {
        return Err(MorphologyError::Invalid {
            path: path.to_path_buf(),
            msg: "no sections (no `create` lines)".into(),
        });
    }
    let point_lines = pending.iter().map(|p| p.point_lines.clone()).collect();
    let sections = pending
        .into_iter()
        .zip(parents)
        .map(|(p, parent)| Section {
            parent,
            ..p.section
        })
        .collect();
    Ok(Morphology {
        sections,
        point_lines,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const SMALL: &str = "\
/* a comment */
{create soma}
{access soma}
{nseg = 1}
{pt3dclear()}
{pt3dadd(0, 0, 0, 10)}
{pt3dadd(0, 10, 0, 10)}

{create dend_1}
{connect dend_1(0), soma(0.187136)}
{pt3dadd(0, 10, 0, 2)}
{pt3dadd(3, 14, 0, 2)}
{pt3dadd(3, 14, 0, 2) Spine}

{create apical_1}
{connect apical_1(0), dend_1(1.000000)}
{pt3dadd(3, 14, 0, 1.5)}
{pt3dadd(3, 14, 12, 1.5)}
";

    #[test]
    fn reads_labels_points_parents() {
        let m = parse_hoc(SMALL, Path::new("small.hoc")).unwrap();
        assert_eq!(m.sections.len(), 3);
        assert_eq!(m.sections[0].label, "Soma");
        assert_eq!(m.sections[0].parent, None);
        assert_eq!(m.sections[1].name, "dend_1");
        assert_eq!(m.sections[1].label, "Dendrite");
        // the Spine line is skipped
        assert_eq!(m.sections[1].points.len(), 2);
        assert_eq!(m.sections[1].points[1], [3.0, 14.0, 0.0, 2.0]);
        // the hoc parent position is kept as written (ISF moves soma children later)
        assert_eq!(m.sections[1].parent, Some((0, 0.187136)));
        assert_eq!(m.sections[2].label, "ApicalDendrite");
        assert_eq!(m.sections[2].parent, Some((1, 1.0)));
    }

    #[test]
    fn connect_to_missing_section_names_line() {
        let text = SMALL.replace("dend_1(1.000000)", "dend_9(1.000000)");
        let e = parse_hoc(&text, Path::new("x.hoc"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("x.hoc:16"), "{e}");
        assert!(e.contains("dend_9"), "{e}");
    }

    #[test]
    fn bad_number_and_ambiguous_name_are_errors() {
        let text = SMALL.replace("{pt3dadd(3, 14, 0, 2)}", "{pt3dadd(3, 1x4, 0, 2)}");
        let e = parse_hoc(&text, Path::new("x.hoc"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("x.hoc:12") && e.contains("1x4"), "{e}");
        let text = SMALL.replace("create apical_1", "create apical_dend");
        let e = parse_hoc(&text, Path::new("x.hoc"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("x.hoc:15") && e.contains("several"), "{e}");
    }

    #[test]
    fn section_without_points_or_connect() {
        let text = format!("{SMALL}\n{{create dend_2}}\n{{connect dend_2(0), soma(0.5)}}\n");
        let e = parse_hoc(&text, Path::new("x.hoc"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("no pt3dadd points"), "{e}");
        let text = format!("{SMALL}\n{{create dend_2}}\n{{pt3dadd(0, 0, 0, 1)}}\n");
        let e = parse_hoc(&text, Path::new("x.hoc"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("no `connect`"), "{e}");
    }

    #[test]
    fn missing_file_is_an_error() {
        let e = read_hoc(Path::new("/nonexistent/cell.hoc"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("/nonexistent/cell.hoc"), "{e}");
    }
}
