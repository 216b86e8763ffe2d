//! ISF's spatial rules for range-mechanism parameters (docs/models.md#spatial-rules), with its
//! three distance definitions (docs/models.md#distances) and its quirks: the `h.distance` origin is
//! global state that a label without a soma-attached section does not reset, `linear` rules move it
//! to soma(0), and `uniform` on an `*_ion` mechanism does nothing.

use super::geometry::SectionTree;
use super::CellError;
use crate::param::{Node, ParamFile};

/// Known values of `spatial`.
pub const KNOWN_SPATIAL_RULES: &[&str] = &[
    "uniform",
    "linear",
    "linear_capped",
    "exponential",
    "exponential_by_z_dist",
    "capped_exponential",
    "sigmoid",
    "uniform_range",
];

/// What the rules need to know about the cell (unscaled morphology, final nseg).
pub(super) struct RuleCtx<'a> {
    pub tree: &'a SectionTree,
    pub labels: Vec<&'a str>,
    /// Original (double) 3-D points `[x, y, z, d]` per section.
    pub points: Vec<&'a [[f64; 4]]>,
    pub rel_pts: &'a [Vec<f64>],
    pub soma: usize,
    /// Subtrees rooted at soma children, by root label (ISF `cell.branches`).
    pub branches: &'a indexmap::IndexMap<String, Vec<Vec<usize>>>,
    pub has_children: Vec<bool>,
    /// NEURON's `distance` origin (section, x): global state, as in ISF.
    pub origin: Option<(usize, f64)>,
}

/// Values one rule writes: (section, segment, parameter, value).
pub(super) type RuleValues = Vec<(usize, usize, String, f64)>;

impl RuleCtx<'_> {
    fn set_label_origin(&mut self, label: &str) {
        if label == "Soma" {
            self.origin = Some((self.soma, 0.0));
            return;
        }
        let first = (0..self.labels.len()).find(|&s| {
            self.labels[s] == label
                && self.tree.parent[s].is_some_and(|(p, _)| self.labels[p] == "Soma")
        });
        if let Some(s) = first {
            self.origin = Some((s, 0.0));
        }
    }

    fn max_distance(&mut self, label: &str) -> Result<f64, String> {
        if label == "Soma" {
            return Ok(self.tree.length_um[self.soma]);
        }
        self.set_label_origin(label);
        let Some(branches) = self.branches.get(label) else {
            return Err(format!(
                "label `{label}` has no section attached to the soma, so ISF's maximum \
                 distance (needed by this rule) is undefined"
            ));
        };
        let (o, ox) = self.origin.ok_or("no distance origin")?;
        let mut max = 0.0f64;
        for b in branches {
            for &s in b {
                if !self.has_children[s] {
                    let d = self.tree.path_distance(o, ox, s, 1.0);
                    if d > max {
                        max = d;
                    }
                }
            }
        }
        Ok(max)
    }

    fn d_label(&self, s: usize, x: f64) -> Result<f64, String> {
        let (o, ox) = self.origin.ok_or(
            "no distance origin has been set yet (this label has no section attached to the \
             soma and no earlier label set one)",
        )?;
        Ok(self.tree.path_distance(o, ox, s, x))
    }

    fn distance_to_soma(&mut self, s: usize, x: f64) -> f64 {
        // ISF's distance_to_soma moves NEURON's origin to soma(0) as a side effect
        self.origin = Some((self.soma, 0.0));
        self.tree.path_distance(self.soma, 0.0, s, x)
    }
}

fn num(file: &ParamFile, spec: &Node, key: &str, name: &str) -> Result<f64, CellError> {
    let n = spec.get(name).ok_or_else(|| {
        file.error_at(
            spec,
            key,
            format!("missing key `{name}` required by this spatial rule"),
        )
    })?;
    n.as_f64().filter(|v| v.is_finite()).ok_or_else(|| {
        file.error_at(n, &format!("{key}.{name}"), "expected a finite number")
            .into()
    })
}

/// numpy's `interp` for increasing `xp` (value at the right end for x ≥ xp[last]).
fn np_interp(x: f64, xp: &[f64], fp: &[f64]) -> f64 {
    let n = xp.len();
    if x <= xp[0] {
        return fp[0];
    }
    if x >= xp[n - 1] {
        return fp[n - 1];
    }
    let j = xp.partition_point(|&v| v <= x) - 1;
    if xp[j] == x {
        return fp[j];
    }
    let slope = (fp[j + 1] - fp[j]) / (xp[j + 1] - xp[j]);
    slope * (x - xp[j]) + fp[j]
}

/// Evaluates one mechanism's rule on every segment of `sections` (the label's sections in ID
/// order). `key` is the dotted parameter path of the mechanism spec, for errors.
pub(super) fn apply_rule(
    ctx: &mut RuleCtx,
    file: &ParamFile,
    label: &str,
    mech: &str,
    spec: &Node,
    key: &str,
    sections: &[usize],
) -> Result<RuleValues, CellError> {
    let spatial_node = spec
        .get("spatial")
        .ok_or_else(|| file.error_at(spec, key, "missing key `spatial` (the spatial rule)"))?;
    let spatial = spatial_node.as_str().ok_or_else(|| {
        file.error_at(spatial_node, &format!("{key}.spatial"), "expected a string")
    })?;
    let reserved: &[&str] = match spatial {
        "uniform" => &["spatial"],
        "linear" => &["spatial", "distance", "slope", "offset"],
        "linear_capped" => &[
            "spatial",
            "distance",
            "param_name",
            "prox_value",
            "dist_value",
            "dist_value_distance",
        ],
        "exponential" | "exponential_by_z_dist" => &[
            "spatial", "distance", "offset", "linScale", "_lambda", "xOffset",
        ],
        "capped_exponential" => &[
            "spatial", "distance", "offset", "linScale", "_lambda", "xOffset", "max_g",
        ],
        "sigmoid" => &[
            "spatial", "distance", "offset", "linScale", "xOffset", "width",
        ],
        "uniform_range" => &[
            "spatial",
            "begin",
            "end",
            "outsidescale",
            "outsidescale_sections",
        ],
        other => {
            return Err(file
                .error_at(
                    spatial_node,
                    &format!("{key}.spatial"),
                    format!(
                        "unknown spatial rule `{other}`; known rules: {}",
                        KNOWN_SPATIAL_RULES.join(", ")
                    ),
                )
                .into())
        }
    };
    let dict = spec
        .as_dict()
        .ok_or_else(|| file.error_at(spec, key, "expected a dict"))?;
    let mut params: Vec<(String, f64)> = Vec::new();
    for (p, n) in dict {
        if reserved.contains(&p.as_str()) {
            continue;
        }
        if spatial == "linear_capped" {
            continue; // only `param_name` is written
        }
        let v = n.as_f64().filter(|v| v.is_finite()).ok_or_else(|| {
            file.error_at(
                n,
                &format!("{key}.{p}"),
                "expected a finite number (a mechanism parameter)",
            )
        })?;
        params.push((p.clone(), v));
    }
    let relative = |ctx: &RuleCtx| -> Result<bool, CellError> {
        let _ = ctx;
        let n = spec.get("distance").ok_or_else(|| {
            file.error_at(
                spec,
                key,
                "missing key `distance` required by this spatial rule",
            )
        })?;
        Ok(n.as_str() == Some("relative"))
    };
    let rule_err = |msg: String| -> CellError { file.error_at(spec, key, msg).into() };
    let mut out = RuleValues::new();
    let mut push = |s: usize, k: usize, p: &str, v: f64| out.push((s, k, p.to_string(), v));
    let segs = |ctx: &RuleCtx, s: usize| -> Vec<(usize, f64)> {
        let n = ctx.tree.nseg[s];
        (0..n).map(|k| (k, (k as f64 + 0.5) / n as f64)).collect()
    };
    match spatial {
        "uniform" => {
            if mech.contains("_ion") {
                tracing::warn!(
                    "{key}: `uniform` on ion mechanism `{mech}` does nothing (as in ISF)"
                );
                return Ok(out);
            }
            for &s in sections {
                for (k, _) in segs(ctx, s) {
                    for (p, v) in &params {
                        push(s, k, p, *v);
                    }
                }
            }
        }
        "linear" => {
            let max_dist = ctx.max_distance(label).map_err(rule_err)?;
            ctx.set_label_origin(label);
            let rel = relative(ctx)?;
            let slope = num(file, spec, key, "slope")?;
            let offset = num(file, spec, key, "offset")?;
            for &s in sections {
                for (k, x) in segs(ctx, s) {
                    for (p, base) in &params {
                        let mut d = ctx.distance_to_soma(s, x);
                        if rel {
                            d /= max_dist;
                        }
                        let a = base * (d * slope + 1.0);
                        let b = base * offset;
                        push(s, k, p, if b > a { b } else { a });
                    }
                }
            }
        }
        "linear_capped" => {
            let max_dist = ctx.max_distance(label).map_err(rule_err)?;
            ctx.set_label_origin(label);
            let rel = relative(ctx)?;
            let pn = spec
                .get("param_name")
                .ok_or_else(|| rule_err("missing key `param_name`".into()))?;
            let param_name = pn
                .as_str()
                .ok_or_else(|| {
                    file.error_at(pn, &format!("{key}.param_name"), "expected a string")
                })?
                .to_string();
            let prox = num(file, spec, key, "prox_value")?;
            let dist_v = num(file, spec, key, "dist_value")?;
            let dvd = num(file, spec, key, "dist_value_distance")?;
            for &s in sections {
                for (k, x) in segs(ctx, s) {
                    let mut d = ctx.distance_to_soma(s, x);
                    if rel {
                        d /= max_dist;
                    }
                    let v = if d >= dvd {
                        dist_v
                    } else {
                        prox + (dist_v - prox) / dvd * d
                    };
                    push(s, k, &param_name, v);
                }
            }
        }
        "exponential" | "capped_exponential" | "exponential_by_z_dist" | "sigmoid" => {
            let max_dist = ctx.max_distance(label).map_err(rule_err)?;
            ctx.set_label_origin(label);
            let rel = relative(ctx)?;
            let offset = num(file, spec, key, "offset")?;
            let lin_scale = num(file, spec, key, "linScale")?;
            let x_offset = num(file, spec, key, "xOffset")?;
            let lambda = if spatial == "sigmoid" {
                0.0
            } else {
                num(file, spec, key, "_lambda")?
            };
            let width = if spatial == "sigmoid" {
                num(file, spec, key, "width")?
            } else {
                0.0
            };
            let max_g = if spatial == "capped_exponential" {
                num(file, spec, key, "max_g")?
            } else {
                0.0
            };
            let by_z = spatial == "exponential_by_z_dist" && label == "ApicalDendrite";
            let soma_pts = ctx.points[ctx.soma];
            let soma_mid_z = soma_pts[soma_pts.len() / 2][2];
            for &s in sections {
                let z_dist: Vec<f64> = if by_z {
                    ctx.points[s].iter().map(|p| p[2] - soma_mid_z).collect()
                } else {
                    Vec::new()
                };
                for (k, x) in segs(ctx, s) {
                    for (p, base) in &params {
                        let mut d = if by_z {
                            np_interp(x, &ctx.rel_pts[s], &z_dist)
                        } else {
                            ctx.d_label(s, x).map_err(rule_err)?
                        };
                        if rel {
                            d /= max_dist;
                        }
                        if spatial == "exponential_by_z_dist" && !rel {
                            d /= 1000.0;
                        }
                        let v = match spatial {
                            "sigmoid" => {
                                base * (offset + lin_scale / (1.0 + ((d - x_offset) / width).exp()))
                            }
                            _ => base * (offset + lin_scale * (lambda * (d - x_offset)).exp()),
                        };
                        let v = if spatial == "capped_exponential" && v >= max_g {
                            max_g
                        } else {
                            v
                        };
                        push(s, k, p, v);
                    }
                }
            }
        }
        "uniform_range" => {
            ctx.set_label_origin(label);
            let begin = num(file, spec, key, "begin")?;
            let end = num(file, spec, key, "end")?;
            let outside = num(file, spec, key, "outsidescale")?;
            let mut outside_secs = Vec::new();
            if let Some(n) = spec.get("outsidescale_sections") {
                let seq = n.as_seq().ok_or_else(|| {
                    file.error_at(
                        n,
                        &format!("{key}.outsidescale_sections"),
                        "expected a list of section IDs",
                    )
                })?;
                for e in seq {
                    let id = e.as_i64().ok_or_else(|| {
                        file.error_at(
                            e,
                            &format!("{key}.outsidescale_sections"),
                            "expected an integer section ID",
                        )
                    })?;
                    outside_secs.push(id);
                }
            }
            for &s in sections {
                let forced = outside_secs.contains(&(s as i64));
                for (k, x) in segs(ctx, s) {
                    for (p, base) in &params {
                        let d = ctx.d_label(s, x).map_err(rule_err)?;
                        let v = if forced {
                            base * outside
                        } else if begin <= d && d <= end {
                            *base
                        } else {
                            base * outside
                        };
                        push(s, k, p, v);
                    }
                }
            }
        }
        _ => unreachable!("rule names are checked above"),
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interp_like_numpy() {
        let xp = [0.0, 0.25, 1.0];
        let fp = [10.0, 20.0, 50.0];
        assert_eq!(np_interp(0.0, &xp, &fp), 10.0);
        assert_eq!(np_interp(0.25, &xp, &fp), 20.0);
        // slope 30/0.75 = 40 per unit: 20 + 40·0.25
        assert_eq!(np_interp(0.5, &xp, &fp), 30.0);
        assert_eq!(np_interp(1.0, &xp, &fp), 50.0);
    }
}
