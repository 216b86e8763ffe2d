//! SWC reader (`id type x y z radius parent`, `#` comments).
//!
//! Type codes 1 soma, 2 axon, 3 (basal) dendrite, 4 apical dendrite become the labels `Soma`,
//! `Axon`, `Dendrite`, `ApicalDendrite`; other codes are an error. All soma points form one
//! `Soma` section (a single soma point of radius r becomes the usual three-point cylinder of
//! length 2r along y). Every other section is an unbranched run of points of one type: a new
//! section starts at a branch point or where the type changes. A section whose parent is not the
//! soma starts with a copy of its parent's last point, so lengths join up as in NEURON's
//! Import3D; soma children start at their own first point and attach at soma(0.5), the others at
//! their parent's 1-end.

use super::{check_point, Morphology, MorphologyError, Section};
use std::collections::HashMap;
use std::path::Path;

/// Reads an SWC morphology file.
pub fn read_swc(path: &Path) -> Result<Morphology, MorphologyError> {
    let text = super::read_text(path)?;
    parse_swc(&text, path)
}

struct Sample {
    kind: u32,
    p: [f64; 4],
    parent: Option<usize>,
    line: usize,
}

fn label_of(kind: u32) -> Option<&'static str> {
    match kind {
        1 => Some("Soma"),
        2 => Some("Axon"),
        3 => Some("Dendrite"),
        4 => Some("ApicalDendrite"),
        _ => None,
    }
}

/// Parses SWC text; `path` is used in error messages only.
pub fn parse_swc(text: &str, path: &Path) -> Result<Morphology, MorphologyError> {
    let syntax = |line: usize, msg: String| MorphologyError::Syntax {
        path: path.to_path_buf(),
        line,
        msg,
    };
    let mut samples: Vec<Sample> = Vec::new();
    let mut index_of: HashMap<i64, usize> = HashMap::new();
    let mut raw_parents: Vec<(i64, usize)> = Vec::new();
    for (idx, raw) in text.lines().enumerate() {
        let lineno = idx + 1;
        let line = raw.split('#').next().unwrap_or("").trim();
        if line.is_empty() {
            continue;
        }
        let f: Vec<&str> = line.split_whitespace().collect();
        if f.len() < 7 {
            return Err(syntax(
                lineno,
                format!(
                    "expected 7 fields (id type x y z radius parent), found {}",
                    f.len()
                ),
            ));
        }
        let num = |s: &str| -> Result<f64, MorphologyError> {
            s.parse::<f64>()
                .ok()
                .filter(|v| v.is_finite())
                .ok_or_else(|| syntax(lineno, format!("`{s}` is not a finite number")))
        };
        // Ids, types and parents are integers (written `7` or `7.0`); anything else is an error
        // rather than a silent truncation.
        let int = |k: usize, what: &str| -> Result<i64, MorphologyError> {
            let v = num(f[k])?;
            if v.fract() != 0.0 || v.abs() > 9.0e15 {
                return Err(syntax(
                    lineno,
                    format!("{what} `{}` is not an integer", f[k]),
                ));
            }
            Ok(v as i64)
        };
        let id = int(0, "sample id")?;
        let kind_i = int(1, "type code")?;
        let kind = u32::try_from(kind_i).unwrap_or(u32::MAX);
        if label_of(kind).is_none() {
            return Err(syntax(
                lineno,
                format!("unsupported SWC type code {kind_i} (known: 1 soma, 2 axon, 3 dendrite, 4 apical)"),
            ));
        }
        let p = [num(f[2])?, num(f[3])?, num(f[4])?, 2.0 * num(f[5])?];
        check_point(&p).map_err(|m| syntax(lineno, format!("sample {id}: {m} (radius × 2)")))?;
        let parent = int(6, "parent id")?;
        if index_of.insert(id, samples.len()).is_some() {
            return Err(syntax(lineno, format!("sample id {id} appears twice")));
        }
        raw_parents.push((parent, lineno));
        samples.push(Sample {
            kind,
            p,
            parent: None,
            line: lineno,
        });
    }
    if samples.is_empty() {
        return Err(MorphologyError::Invalid {
            path: path.to_path_buf(),
            msg: "no samples".into(),
        });
    }
    for (i, (pid, line)) in raw_parents.iter().enumerate() {
        if *pid < 0 {
            continue;
        }
        let pi = *index_of
            .get(pid)
            .ok_or_else(|| syntax(*line, format!("parent sample {pid} does not exist")))?;
        samples[i].parent = Some(pi);
    }
    // the parent graph must be a tree: walk up from every sample with a step bound
    for (i, s) in samples.iter().enumerate() {
        let mut cur = s.parent;
        let mut steps = 0;
        while let Some(c) = cur {
            steps += 1;
            if steps > samples.len() {
                return Err(syntax(
                    samples[i].line,
                    "parent chain contains a cycle".into(),
                ));
            }
            cur = samples[c].parent;
        }
    }
    let mut children: Vec<Vec<usize>> = vec![Vec::new(); samples.len()];
    for (i, s) in samples.iter().enumerate() {
        if let Some(p) = s.parent {
            children[p].push(i);
        }
    }

    let soma_pts: Vec<usize> = (0..samples.len())
        .filter(|&i| samples[i].kind == 1)
        .collect();
    let mut sections: Vec<Section> = Vec::new();
    let mut point_lines: Vec<Vec<usize>> = Vec::new();
    // section containing each sample (for attaching children)
    let mut section_of: Vec<Option<usize>> = vec![None; samples.len()];
    if !soma_pts.is_empty() {
        let mut pts: Vec<[f64; 4]> = soma_pts.iter().map(|&i| samples[i].p).collect();
        let mut lines: Vec<usize> = soma_pts.iter().map(|&i| samples[i].line).collect();
        if pts.len() == 1 {
            let [x, y, z, d] = pts[0];
            let r = d / 2.0;
            pts = vec![[x, y - r, z, d], [x, y, z, d], [x, y + r, z, d]];
            lines = vec![lines[0]; 3];
        }
        point_lines.push(lines);
        for &i in &soma_pts {
            section_of[i] = Some(0);
        }
        sections.push(Section {
            name: "soma".into(),
            label: "Soma".into(),
            points: pts,
            parent: None,
        });
    }
    // starts of non-soma sections: (first sample, parent sample or None)
    let mut starts: Vec<(usize, Option<usize>)> = Vec::new();
    for (i, s) in samples.iter().enumerate() {
        if s.kind == 1 {
            continue;
        }
        match s.parent {
            None => starts.push((i, None)),
            Some(p) => {
                let ps = &samples[p];
                if ps.kind == 1 || ps.kind != s.kind || children[p].len() > 1 {
                    starts.push((i, Some(p)));
                }
            }
        }
    }
    let mut counter: HashMap<&'static str, usize> = HashMap::new();
    let mut queue: std::collections::VecDeque<(usize, Option<usize>)> = starts
        .iter()
        .copied()
        .filter(|(_, p)| p.is_none() || samples[p.unwrap_or(0)].kind == 1)
        .collect();
    let is_start: std::collections::HashSet<usize> = starts.iter().map(|s| s.0).collect();
    let mut done = 0usize;
    while let Some((first, parent_sample)) = queue.pop_front() {
        let label = label_of(samples[first].kind).unwrap_or("Dendrite");
        let parent = match parent_sample {
            None => None,
            Some(ps) => {
                let sec = section_of[ps].ok_or_else(|| {
                    syntax(
                        samples[first].line,
                        "parent sample belongs to no section".into(),
                    )
                })?;
                Some((sec, if samples[ps].kind == 1 { 0.5 } else { 1.0 }))
            }
        };
        let mut pts = Vec::new();
        let mut lines = Vec::new();
        if let Some(ps) = parent_sample {
            if samples[ps].kind != 1 {
                pts.push(samples[ps].p);
                lines.push(samples[ps].line);
            }
        }
        let id = sections.len();
        let mut cur = first;
        loop {
            pts.push(samples[cur].p);
            lines.push(samples[cur].line);
            section_of[cur] = Some(id);
            let next: Vec<usize> = children[cur]
                .iter()
                .copied()
                .filter(|c| !is_start.contains(c))
                .collect();
            match next.as_slice() {
                [one] => cur = *one,
                _ => break,
            }
        }
        for &c in &children[cur] {
            if is_start.contains(&c) {
                queue.push_back((c, Some(cur)));
            }
        }
        let n = counter.entry(label).or_insert(0);
        let stem = match label {
            "Axon" => "axon",
            "ApicalDendrite" => "apical",
            _ => "dend",
        };
        point_lines.push(lines);
        sections.push(Section {
            name: format!("{stem}_{n}"),
            label: label.into(),
            points: pts,
            parent,
        });
        *n += 1;
        done += 1;
    }
    if done < starts.len() {
        return Err(MorphologyError::Invalid {
            path: path.to_path_buf(),
            msg: "some samples are not connected to the soma or a root".into(),
        });
    }
    Ok(Morphology {
        sections,
        point_lines,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sections_per_unbranched_run() {
        // soma (one point, r 5) with a dendrite that branches once, and an apical stem
        let text = "\
# test
1 1 0 0 0 5 -1
2 3 0 -5 0 1 1
3 3 0 -10 0 1 2
4 3 1 -12 0 0.5 3
5 3 -1 -12 0 0.5 3
6 4 0 5 0 1.5 1
7 4 0 15 0 1.5 6
";
        let m = parse_swc(text, Path::new("t.swc")).unwrap();
        let labels: Vec<&str> = m.sections.iter().map(|s| s.label.as_str()).collect();
        assert_eq!(
            labels,
            ["Soma", "Dendrite", "ApicalDendrite", "Dendrite", "Dendrite"]
        );
        // one-point soma → 3 points, diameter 10, along y from -5 to 5
        assert_eq!(m.sections[0].points.len(), 3);
        assert_eq!(m.sections[0].points[0], [0.0, -5.0, 0.0, 10.0]);
        // dendrite stem: samples 2, 3 (radius 1 → diam 2), attached at soma(0.5)
        assert_eq!(
            m.sections[1].points,
            vec![[0.0, -5.0, 0.0, 2.0], [0.0, -10.0, 0.0, 2.0]]
        );
        assert_eq!(m.sections[1].parent, Some((0, 0.5)));
        // branches start with the branch point and attach at the stem's 1-end
        assert_eq!(m.sections[3].points[0], [0.0, -10.0, 0.0, 2.0]);
        assert_eq!(m.sections[3].points[1], [1.0, -12.0, 0.0, 1.0]);
        assert_eq!(m.sections[3].parent, Some((1, 1.0)));
        assert_eq!(m.sections[4].parent, Some((1, 1.0)));
    }

    #[test]
    fn bad_swc_lines() {
        let e = parse_swc("1 1 0 0 0 5 -1\n2 7 0 0 0 1 1\n", Path::new("t.swc"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("t.swc:2") && e.contains("type code 7"), "{e}");
        let e = parse_swc("1 1 0 0 0 5 -1\n2 3 0 0 0 1 9\n", Path::new("t.swc"))
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("t.swc:2") && e.contains("parent sample 9"),
            "{e}"
        );
        let e = parse_swc("1 1 0 0 0\n", Path::new("t.swc"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("t.swc:1"), "{e}");
    }
}
