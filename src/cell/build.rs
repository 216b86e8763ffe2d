//! `CellTemplate::from_params`: ISF's `create_cell` without NEURON.

use super::geometry::{build_cable, segment_geometry, CableSection, SectionShape, SectionTree};
use super::recording::{read_landmarks, recording_sites};
use super::rules::{apply_rule, RuleCtx};
use super::{CellError, CellTemplate, IonSettings, SectionInfo};
use crate::limits::{MAX_NSEG_PER_SECTION, MAX_SEGMENTS_PER_CELL};
use crate::mechanisms::catalogue::{Catalogue, MechanismKind};
use crate::mechanisms::MechanismPlacement;
use crate::morphology::MorphologyError;
use crate::morphology::{
    add_hay2013_axon, scale_apical, scale_apical_morph_86, Morphology, KNOWN_CELL_MODIFY_FUNCTIONS,
};
use crate::param::{CellParams, Discretization};
use indexmap::IndexMap;
use std::collections::BTreeMap;
use std::f64::consts::PI;

/// Section variables a label's `properties` may set.
const KNOWN_PROPERTIES: &[&str] = &["Ra", "cm"];
/// Accepted axial resistivity (Ω·cm): far around the biological 30–500; outside it the
/// half-segment resistances under- or overflow.
const RA_RANGE_OHM_CM: (f64, f64, &str) = (1e-3, 1e6, "Ω·cm");
/// Accepted specific capacitance (µF/cm²): far around the biological 0.5–2 (spines folded in:
/// up to about 10; myelin: 0.02).
const CM_RANGE_UF_CM2: (f64, f64, &str) = (1e-4, 1e3, "µF/cm²");
/// Ion variables `ions` may set.
const KNOWN_ION_VARIABLES: &[&str] = &["ena", "ek", "eca", "nai", "nao", "ki", "ko", "cai", "cao"];

/// Per mechanism: parameter names in first-seen order and values per (section, segment).
#[derive(Default)]
struct MechAccum {
    params: Vec<String>,
    values: BTreeMap<(usize, usize), IndexMap<String, f64>>,
}

/// ISF's d-λ rule (docs/models.md#discretisation) for one section; `Err` says why it gives no
/// usable nseg (a zero middle diameter makes λ = 0, where ISF itself fails with a division by zero;
/// extreme `cm`, `Ra`, lengths or `max_seg_length` exceed [`MAX_NSEG_PER_SECTION`]).
fn d_lambda_nseg(
    mid_diam_um: f64,
    length_um: f64,
    ra: f64,
    cm: f64,
    disc: Option<Discretization>,
) -> Result<usize, String> {
    let f = disc.map_or(100.0, |d| d.f_hz);
    let lambda = 100000.0 * (mid_diam_um / (4.0 * PI * f * ra * cm)).sqrt();
    if lambda.is_nan() || lambda <= 0.0 {
        return Err(format!(
            "the d-λ rule needs a positive diameter at the section's middle 3-D point, found              {mid_diam_um} µm (λ = {lambda} µm); NEURON accepts zero diameters, but ISF's rule              divides by λ: give that point a diameter"
        ));
    }
    let mut nseg_f = ((length_um / (0.1 * lambda) + 0.5) / 2.0).floor() * 2.0 + 1.0;
    if let Some(d) = disc {
        if length_um / nseg_f > d.max_seg_length_um {
            nseg_f = (length_um / d.max_seg_length_um).ceil();
        }
    }
    // Compared as f64 so that an infinite or huge count never reaches an allocation.
    if nseg_f.is_nan() || nseg_f > MAX_NSEG_PER_SECTION as f64 {
        return Err(format!(
            "the d-λ rule gives nseg = {nseg_f:.4e} (L = {length_um} µm, middle diameter              {mid_diam_um} µm, Ra = {ra}, cm = {cm}, f = {f} Hz{}), more than NEURON's limit of              {MAX_NSEG_PER_SECTION} segments per section",
            disc.map(|d| format!(", max_seg_length = {} µm", d.max_seg_length_um))
                .unwrap_or_default()
        ));
    }
    Ok((nseg_f as usize).max(1))
}

/// ISF's `relPts` with its exact floating operations (docs/models.md#cell-assembly).
pub(super) fn rel_pts(points: &[[f64; 4]], length_um: f64) -> Vec<f64> {
    let mut rel = vec![0.0];
    let mut acc = 0.0f64;
    for w in points.windows(2) {
        let (a, b) = (w[0], w[1]);
        let d0 = a[0] - b[0];
        let d1 = a[1] - b[1];
        let d2 = a[2] - b[2];
        acc += (d0 * d0 + d1 * d1 + d2 * d2).sqrt();
        rel.push(acc / length_um);
    }
    if rel.len() > 1 {
        let norm = 1.0 / rel[rel.len() - 1];
        let n = rel.len();
        for r in &mut rel[..n - 1] {
            *r *= norm;
        }
        rel[n - 1] = 1.0;
    }
    rel
}

/// The mechanism must be a density mechanism of the catalogue.
fn check_mechanism(
    file: &crate::param::ParamFile,
    mech: &str,
    spec: &crate::param::Node,
    key: &str,
) -> Result<(), CellError> {
    match Catalogue.get(mech) {
        Err(e) => Err(file.error_at(spec, key, e.to_string()).into()),
        Ok(e) if e.kind() != MechanismKind::Density => Err(file
            .error_at(
                spec,
                key,
                format!("`{mech}` is a point process; range mechanisms must be density mechanisms"),
            )
            .into()),
        Ok(_) => Ok(()),
    }
}

impl CellTemplate {
    /// Builds the cell of a cell parameter file the way ISF's `create_cell` does
    /// (docs/models.md#building-a-cell).
    pub fn from_params(p: &CellParams) -> Result<CellTemplate, CellError> {
        let file = &p.file;
        let label_node = |label: &str| file.get_path(&format!("neuron.{label}"));
        let err_label = |label: &str, msg: String| -> CellError {
            match label_node(label) {
                Some(n) => file.error_at(n, &format!("neuron.{label}"), msg).into(),
                None => CellError::Geometry(format!("neuron.{label}: {msg}")),
            }
        };

        // Errors about the morphology's geometry name the morphology file.
        let morph_path = &p.neuron.filename;
        let morph_err = |msg: String| -> CellError {
            MorphologyError::Invalid {
                path: morph_path.clone(),
                msg,
            }
            .into()
        };
        // … at the line of point `k` of section `s` when the reader knows it.
        let point_err = |m: &Morphology, s: usize, k: usize, msg: String| -> CellError {
            match m.point_line(s, k) {
                Some(line) => MorphologyError::Syntax {
                    path: morph_path.clone(),
                    line,
                    msg,
                }
                .into(),
                None => morph_err(msg),
            }
        };

        // 1. morphology, artificial axon, ISF's attachment of soma children at soma(0.5)
        let mut morph = match Morphology::read(morph_path) {
            Ok(m) => m,
            // A file that cannot be opened is reported at the key that names it.
            Err(e @ (MorphologyError::Io { .. } | MorphologyError::UnknownFormat { .. })) => {
                return Err(match file.get_path("neuron.filename") {
                    Some(node) => file.error_at(node, "neuron.filename", e.to_string()).into(),
                    None => e.into(),
                })
            }
            Err(e) => return Err(e.into()),
        };
        let mut preset_nseg: Vec<Option<usize>> = vec![None; morph.sections.len()];
        if p.neuron.labels.iter().any(|l| l.label == "AIS") {
            for id in add_hay2013_axon(&mut morph)? {
                preset_nseg.push(Some(morph.sections[id].points.len()));
            }
        }
        let n = morph.sections.len();
        let somas: Vec<usize> = (0..n)
            .filter(|&i| morph.sections[i].label == "Soma")
            .collect();
        let soma = match somas.as_slice() {
            [one] => *one,
            [] => {
                return Err(CellError::Geometry(format!(
                    "{}: no Soma section",
                    p.neuron.filename.display()
                )))
            }
            _ => {
                return Err(CellError::Geometry(format!(
                    "{}: {} Soma sections; ISF needs exactly one",
                    p.neuron.filename.display(),
                    somas.len()
                )))
            }
        };
        for i in 0..n {
            if let Some((pid, _)) = morph.sections[i].parent {
                if pid == soma {
                    morph.sections[i].parent = Some((soma, 0.5));
                }
            }
            if morph.sections[i].points.len() < 2 {
                return Err(point_err(
                    &morph,
                    i,
                    0,
                    format!(
                        "section {i} (`{}`) has {} 3-D point(s); at least 2 are needed",
                        morph.sections[i].name,
                        morph.sections[i].points.len()
                    ),
                ));
            }
        }
        let parents: Vec<Option<(usize, f64)>> = morph.sections.iter().map(|s| s.parent).collect();
        let labels: Vec<String> = morph.sections.iter().map(|s| s.label.clone()).collect();

        // 2. section properties (label file order; unlisted labels keep NEURON defaults)
        let mut ra = vec![35.4f64; n];
        let mut cm = vec![1.0f64; n];
        for lp in &p.neuron.labels {
            let secs: Vec<usize> = (0..n).filter(|&i| labels[i] == lp.label).collect();
            if secs.is_empty() {
                return Err(err_label(
                    &lp.label,
                    format!(
                        "the morphology {} has no section labelled `{}`",
                        p.neuron.filename.display(),
                        lp.label
                    ),
                ));
            }
            for (k, v) in &lp.properties {
                let target = match k.as_str() {
                    "Ra" => &mut ra,
                    "cm" => &mut cm,
                    _ => {
                        let key = format!("neuron.{}.properties.{k}", lp.label);
                        let msg = format!(
                            "unknown section property `{k}`; known: {}, plus `ions` and `spines`",
                            KNOWN_PROPERTIES.join(", ")
                        );
                        return Err(match file.get_path(&key) {
                            Some(node) => file.error_at(node, &key, msg).into(),
                            None => CellError::Geometry(format!("{key}: {msg}")),
                        });
                    }
                };
                if !(v.is_finite() && *v > 0.0) {
                    return Err(err_label(
                        &lp.label,
                        format!("property `{k}` must be > 0, found {v}"),
                    ));
                }
                let (lo, hi, unit) = if k == "Ra" {
                    RA_RANGE_OHM_CM
                } else {
                    CM_RANGE_UF_CM2
                };
                if !(lo..=hi).contains(v) {
                    let key = format!("neuron.{}.properties.{k}", lp.label);
                    let msg = format!("{v} {unit} is outside the accepted range [{lo:e}, {hi:e}]");
                    return Err(match file.get_path(&key) {
                        Some(node) => file.error_at(node, &key, msg).into(),
                        None => err_label(&lp.label, msg),
                    });
                }
                for &s in &secs {
                    target[s] = *v;
                }
            }
        }

        // 3. NEURON length, branches, nseg (from the unscaled morphology)
        let shapes0: Vec<SectionShape> = morph
            .sections
            .iter()
            .map(|s| SectionShape::from_points(&s.points))
            .collect();
        let length: Vec<f64> = shapes0.iter().map(|s| s.length_um()).collect();
        if let Some(i) = length.iter().position(|&l| !(l > 0.0 && l.is_finite())) {
            return Err(point_err(
                &morph,
                i,
                0,
                format!(
                    "section {i} (`{}`) has length {} µm; it must be positive",
                    morph.sections[i].name, length[i]
                ),
            ));
        }
        let children = morph.children();
        let mut branches: IndexMap<String, Vec<Vec<usize>>> = IndexMap::new();
        for &c in &children[soma] {
            let mut sub = Vec::new();
            let mut stack = vec![c];
            while let Some(s) = stack.pop() {
                sub.push(s);
                stack.extend(children[s].iter().rev());
            }
            branches.entry(labels[c].clone()).or_default().push(sub);
        }
        let mut nseg: Vec<usize> = preset_nseg.iter().map(|p| p.unwrap_or(1)).collect();
        let disc = p.neuron.discretization;
        let dl = |s: usize| {
            let pts = &morph.sections[s].points;
            let mid = pts.len() / 2;
            d_lambda_nseg(pts[mid][3], length[s], ra[s], cm[s], disc).map_err(|m| {
                point_err(
                    &morph,
                    s,
                    mid,
                    format!(
                        "section {s} (`{}`, 3-D point {mid} of {} at {:?}): {m} (Ra and cm from \
                     `neuron.{}.properties` of {})",
                        morph.sections[s].name,
                        pts.len(),
                        &pts[mid][..3],
                        labels[s],
                        file.path.display()
                    ),
                )
            })
        };
        nseg[soma] = dl(soma)?;
        for (label, subs) in &branches {
            if matches!(label.as_str(), "AIS" | "Myelin" | "Node") {
                continue;
            }
            for sub in subs {
                for &s in sub {
                    nseg[s] = dl(s)?;
                }
            }
        }
        let total_nseg: usize = nseg.iter().sum();
        if total_nseg > MAX_SEGMENTS_PER_CELL {
            return Err(morph_err(format!(
                "{total_nseg} segments in all, more than the limit of {MAX_SEGMENTS_PER_CELL} per cell"
            )));
        }
        let tree = SectionTree::new(parents.clone(), length.clone(), nseg.clone());
        let rel: Vec<Vec<f64>> = (0..n)
            .map(|i| rel_pts(&morph.sections[i].points, length[i]))
            .collect();

        // areas at discretisation time (spines use them)
        let area0: Vec<f64> = (0..n)
            .map(|i| {
                segment_geometry(&shapes0[i], nseg[i], ra[i])
                    .area_um2
                    .iter()
                    .sum()
            })
            .collect();

        // 4. range mechanisms, ions, spines (label file order)
        let mut ctx = RuleCtx {
            tree: &tree,
            labels: labels.iter().map(|s| s.as_str()).collect(),
            points: morph.sections.iter().map(|s| s.points.as_slice()).collect(),
            rel_pts: &rel,
            soma,
            branches: &branches,
            has_children: children.iter().map(|c| !c.is_empty()).collect(),
            origin: None,
        };
        let mut mechs: IndexMap<String, MechAccum> = IndexMap::new();
        let mut ion_sec: IndexMap<String, Vec<f64>> = IndexMap::new();
        for lp in &p.neuron.labels {
            let secs: Vec<usize> = (0..n).filter(|&i| labels[i] == lp.label).collect();
            for (mech, spec) in &lp.range_mechanisms {
                let key = format!("neuron.{}.mechanisms.range.{mech}", lp.label);
                if !mech.contains("_ion") {
                    check_mechanism(file, mech, spec, &key)?;
                }
                let vals = apply_rule(&mut ctx, file, &lp.label, mech, spec, &key, &secs)?;
                if mech.contains("_ion") {
                    continue;
                }
                if let Some((_, _, param, _)) = vals.iter().find(|v| {
                    Catalogue
                        .get(mech)
                        .is_ok_and(|e| e.param_index(&v.2).is_err())
                }) {
                    let node = spec.get(param).unwrap_or(spec);
                    let msg = match Catalogue.get(mech).map(|e| e.param_index(param)) {
                        Ok(Err(e)) => e.to_string(),
                        _ => format!("unknown parameter `{param}`"),
                    };
                    return Err(file.error_at(node, &format!("{key}.{param}"), msg).into());
                }
                let acc = mechs.entry(mech.clone()).or_default();
                for &s in &secs {
                    for k in 0..nseg[s] {
                        acc.values.entry((s, k)).or_default();
                    }
                }
                for (s, k, param, v) in vals {
                    if !acc.params.contains(&param) {
                        acc.params.push(param.clone());
                    }
                    acc.values.entry((s, k)).or_default().insert(param, v);
                }
            }
            for (ion, v) in &lp.ions {
                if !KNOWN_ION_VARIABLES.contains(&ion.as_str()) {
                    let key = format!("neuron.{}.properties.ions.{ion}", lp.label);
                    let msg = format!(
                        "unknown ion variable `{ion}`; known: {}",
                        KNOWN_ION_VARIABLES.join(", ")
                    );
                    return Err(match file.get_path(&key) {
                        Some(node) => file.error_at(node, &key, msg).into(),
                        None => CellError::Geometry(format!("{key}: {msg}")),
                    });
                }
                let col = ion_sec
                    .entry(ion.clone())
                    .or_insert_with(|| vec![f64::NAN; n]);
                for &s in &secs {
                    col[s] = *v;
                }
            }
            if let Some(sp) = lp.spines {
                let (mech, param, default) = if lp.range_mechanisms.iter().any(|(m, _)| m == "pas")
                {
                    ("pas", "g", Some(0.001))
                } else if lp.range_mechanisms.iter().any(|(m, _)| m == "ar") {
                    ("ar", "g0", None)
                } else {
                    continue;
                };
                for &s in &secs {
                    let f = 1.0 + sp.area_um2 * sp.density_per_um * length[s] / area0[s];
                    cm[s] *= f;
                    if let Some(acc) = mechs.get_mut(mech) {
                        if !acc.params.iter().any(|p| p == param) {
                            acc.params.push(param.to_string());
                        }
                        for k in 0..nseg[s] {
                            let e = acc.values.entry((s, k)).or_default();
                            let cur = e.get(param).copied().or(default).ok_or_else(|| {
                                err_label(
                                    &lp.label,
                                    format!("spines scale `{param}` of `{mech}`, which is not set"),
                                )
                            })?;
                            e.insert(param.to_string(), cur * f);
                        }
                    }
                }
            }
        }

        // 5. cell modify functions (change diameters only; nseg and densities stay)
        let mut shaped = morph.clone();
        for (name, kwargs) in &p.neuron.cell_modify_functions {
            let key = format!("neuron.cell_modify_functions.{name}");
            match name.as_str() {
                "scale_apical_morph_86" => {
                    if kwargs.as_dict().is_some_and(|d| !d.is_empty()) {
                        return Err(file.error_at(kwargs, &key, "takes no arguments").into());
                    }
                    scale_apical_morph_86(&mut shaped, &|id| {
                        tree.path_distance(soma, 0.0, id, 1.0)
                    });
                }
                "scale_apical" => {
                    let sn = kwargs
                        .get("scale")
                        .ok_or_else(|| file.error_at(kwargs, &key, "missing argument `scale`"))?;
                    let scale = sn.as_f64().ok_or_else(|| {
                        file.error_at(sn, &format!("{key}.scale"), "expected a number")
                    })?;
                    // Diameters are multiplied by it: it must keep them positive and finite.
                    if !(scale.is_finite() && scale > 0.0 && scale <= 1e6) {
                        return Err(file
                            .error_at(
                                sn,
                                &format!("{key}.scale"),
                                format!("must be a positive factor of at most 1e6, found {scale}"),
                            )
                            .into());
                    }
                    let comp = match kwargs.get("compartment") {
                        Some(c) => c.as_str().ok_or_else(|| {
                            file.error_at(c, &format!("{key}.compartment"), "expected a string")
                        })?,
                        None => "ApicalDendrite",
                    };
                    scale_apical(&mut shaped, scale, comp)
                        .map_err(|e| file.error_at(kwargs, &key, e.to_string()))?;
                }
                other => {
                    let node = file.get_path(&key).unwrap_or(kwargs);
                    return Err(file
                        .error_at(
                            node,
                            &key,
                            format!(
                                "unknown cell modify function `{other}`; known: {}",
                                KNOWN_CELL_MODIFY_FUNCTIONS.join(", ")
                            ),
                        )
                        .into());
                }
            }
        }

        // 6. NEURON geometry of the final shape and the node tree
        let cable_secs: Vec<CableSection> = (0..n)
            .map(|i| CableSection {
                parent: parents[i],
                nseg: nseg[i],
                geometry: segment_geometry(
                    &SectionShape::from_points(&shaped.sections[i].points),
                    nseg[i],
                    ra[i],
                ),
                cm_uf_cm2: vec![cm[i]; nseg[i]],
            })
            .collect();
        let layout = build_cable(&cable_secs).map_err(|e| match e {
            CellError::Geometry(m) => morph_err(m),
            e => e,
        })?;
        let n_nodes = layout.cable.len();
        let mut node_section = vec![usize::MAX; n_nodes];
        for i in 0..n {
            let f = layout.first_node[i];
            node_section[f..=f + nseg[i]].fill(i);
            if parents[i].is_none() {
                node_section[layout.attach_node[i]] = i;
            }
        }

        let mechanisms: Vec<MechanismPlacement> = mechs
            .iter()
            .map(|(name, acc)| {
                let mut rows: Vec<(usize, &IndexMap<String, f64>)> = acc
                    .values
                    .iter()
                    .map(|(&(s, k), v)| (layout.first_node[s] + k, v))
                    .collect();
                rows.sort_by_key(|r| r.0);
                let mut m = MechanismPlacement::new(name);
                m.nodes = rows.iter().map(|r| r.0).collect();
                for p in &acc.params {
                    m.params.insert(
                        p.clone(),
                        rows.iter()
                            .map(|r| r.1.get(p).copied().unwrap_or(f64::NAN))
                            .collect(),
                    );
                }
                m
            })
            .collect();

        let mut ions = IonSettings {
            ena_mv: vec![f64::NAN; n_nodes],
            ek_mv: vec![f64::NAN; n_nodes],
            other: IndexMap::new(),
            celsius: p.sim.temperature_c,
        };
        for (ion, per_sec) in &ion_sec {
            let mut col = vec![f64::NAN; n_nodes];
            for i in 0..n {
                for k in 0..nseg[i] {
                    col[layout.first_node[i] + k] = per_sec[i];
                }
            }
            match ion.as_str() {
                "ena" => ions.ena_mv = col,
                "ek" => ions.ek_mv = col,
                _ => {
                    ions.other.insert(ion.clone(), col);
                }
            }
        }

        let sections: Vec<SectionInfo> = (0..n)
            .map(|i| {
                let s = &morph.sections[i];
                SectionInfo {
                    name: s.name.clone(),
                    label: s.label.clone(),
                    parent: parents[i].map(|p| p.0),
                    parent_x: parents[i].map_or(-1.0, |p| p.1),
                    length_um: length[i],
                    nseg: nseg[i],
                    pts: s.points.iter().map(|q| [q[0], q[1], q[2]]).collect(),
                    diam_um: s.points.iter().map(|q| q[3]).collect(),
                    rel_pts: rel[i].clone(),
                    first_node: layout.first_node[i],
                    attach_node: layout.attach_node[i],
                    ra_ohm_cm: ra[i],
                    cm_uf_cm2: cm[i],
                    seg_diam_um: cable_secs[i].geometry.diam_um.clone(),
                }
            })
            .collect();

        let mut template = CellTemplate {
            soma_node: layout.first_node[soma],
            soma_section: soma,
            cable: layout.cable,
            sections,
            mechanisms,
            ions,
            vinit_mv: p.sim.vinit_mv,
            dt_ms: p.sim.dt_ms,
            tstop_ms: p.sim.tstop_ms,
            celsius: p.sim.temperature_c,
            recording_sites: Vec::new(),
            node_section,
            tree,
        };
        for path in &p.sim.recording_sites {
            let pts = read_landmarks(path)?;
            let stem = path
                .file_name()
                .and_then(|f| f.to_str())
                .map(|f| f.strip_suffix(".landmarkAscii").unwrap_or(f).to_string())
                .unwrap_or_default();
            let sites = recording_sites(&template, &stem, &pts, template.recording_sites.len());
            template.recording_sites.extend(sites);
        }
        Ok(template)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn d_lambda_by_hand() {
        // d = 2 µm, Ra 100, cm 1, f 100 Hz: λ = 1e5·sqrt(2/(4π·100·100·1)) = 398.942 µm;
        // L = 300 µm → L/(0.1λ) = 7.52 → nseg = 2·floor(8.02/2) + 1 = 9
        assert_eq!(d_lambda_nseg(2.0, 300.0, 100.0, 1.0, None), Ok(9));
        // L = 10 µm → 0.25 → 1
        assert_eq!(d_lambda_nseg(2.0, 10.0, 100.0, 1.0, None), Ok(1));
        // max_seg_length 20 µm: 300/9 = 33.3 > 20 → ceil(300/20) = 15
        let disc = Some(Discretization {
            f_hz: 100.0,
            max_seg_length_um: 20.0,
        });
        assert_eq!(d_lambda_nseg(2.0, 300.0, 100.0, 1.0, disc), Ok(15));
    }

    #[test]
    fn d_lambda_without_a_usable_nseg_is_an_error() {
        // zero middle diameter: λ = 0
        let e = d_lambda_nseg(0.0, 300.0, 100.0, 1.0, None).unwrap_err();
        assert!(e.contains("middle 3-D point"), "{e}");
        // cm 4294967295: λ ≈ 0.006 µm, nseg ≈ 5e5 > 32767
        let e = d_lambda_nseg(2.0, 300.0, 100.0, 4294967295.0, None).unwrap_err();
        assert!(e.contains("32767"), "{e}");
        // max_seg_length 1e-300: infinite nseg
        let disc = Some(Discretization {
            f_hz: 100.0,
            max_seg_length_um: 1e-300,
        });
        assert!(d_lambda_nseg(2.0, 300.0, 100.0, 1.0, disc).is_err());
    }

    #[test]
    fn rel_pts_by_hand() {
        // segments of length 3 and 1 along x; L = 4 → [0, 0.75, 1]
        let pts = [
            [0.0, 0.0, 0.0, 1.0],
            [3.0, 0.0, 0.0, 1.0],
            [4.0, 0.0, 0.0, 1.0],
        ];
        assert_eq!(rel_pts(&pts, 4.0), vec![0.0, 0.75, 1.0]);
    }
}
