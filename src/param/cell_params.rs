//! Typed view of a cell ("neuron") parameter file (docs/formats.md#cell-parameter-file).
//!
//! Only the structure is checked here; mechanism specs stay raw [`Node`]s for the cell module,
//! which knows the mechanisms and spatial rules. The whole tree stays available in `file`, so
//! keys this view does not know are kept (and saved with the run).

use std::path::{Path, PathBuf};

use indexmap::IndexMap;

use super::{join, Node, ParamError, ParamFile, View};

/// Largest magnitude of a voltage in a cell parameter file (mV): `Vinit` and reversal
/// potentials. Membrane potentials are tens of mV; a volt is surely a unit error.
const MAX_ABS_MV: f64 = 1000.0;
/// Highest temperature (°C) accepted for `sim.T`.
const MAX_CELSIUS: f64 = 100.0;

/// Keys of `neuron` that are not structure labels.
const NEURON_NON_LABEL_KEYS: &[&str] = &[
    "filename",
    "cell_modify_functions",
    "discretization",
    "spatialgraph_modify_functions",
];

/// A cell parameter file.
#[derive(Debug, Clone)]
pub struct CellParams {
    /// The parsed file (for errors that point into it).
    pub file: ParamFile,
    /// The cell (`neuron`).
    pub neuron: NeuronParams,
    /// Simulation settings (`sim`).
    pub sim: SimParams,
    /// `{mechanism: {parameter: value}}`: NEURON GLOBAL variables `parameter_mechanism = value`.
    pub mech_globals: IndexMap<String, IndexMap<String, f64>>,
}

/// The `neuron` section.
#[derive(Debug, Clone)]
pub struct NeuronParams {
    /// The `.hoc` morphology, resolved against the parameter file's folder.
    pub filename: PathBuf,
    /// `{function name: kwargs}` in file order, applied after biophysics.
    pub cell_modify_functions: Vec<(String, Node)>,
    /// `neuron.discretization`, if given (otherwise the d-λ rule at 100 Hz).
    pub discretization: Option<Discretization>,
    /// Structure labels (`Soma`, `Dendrite`, `ApicalDendrite`, `AIS`, …) in file order.
    pub labels: Vec<LabelParams>,
}

/// `neuron.discretization`: nseg by the d_lambda rule at `f_hz`, capped segment length.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Discretization {
    /// Frequency of the d-λ rule \[Hz\].
    pub f_hz: f64,
    /// Longest segment allowed \[µm\].
    pub max_seg_length_um: f64,
}

/// Biophysics of one structure label.
#[derive(Debug, Clone)]
pub struct LabelParams {
    /// The label (`Soma`, `ApicalDendrite`, …).
    pub label: String,
    /// Section variables (`Ra` [Ω·cm], `cm` [µF/cm²], …) other than `ions` and `spines`.
    pub properties: IndexMap<String, f64>,
    /// Reversal potentials (`ek`, `ena`, … \[mV\]) set after mechanisms are inserted.
    pub ions: IndexMap<String, f64>,
    /// `properties.spines`, if given.
    pub spines: Option<Spines>,
    /// `{mechanism: spec}` in file order; spec is the raw dict including `spatial`.
    pub range_mechanisms: Vec<(String, Node)>,
}

/// `properties.spines`: membrane added by spines, folded into `cm` and `g_pas`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Spines {
    /// Spines per µm of section length.
    pub density_per_um: f64,
    /// Membrane area of one spine \[µm²\].
    pub area_um2: f64,
}

/// The `sim` section.
#[derive(Debug, Clone, PartialEq)]
pub struct SimParams {
    /// `Vinit`: initial membrane potential of every node \[mV\].
    pub vinit_mv: f64,
    /// Stored by ISF but unused by its simulation loop.
    pub tstart_ms: f64,
    /// `tStop`: end of a trial \[ms\] (commands may override it).
    pub tstop_ms: f64,
    /// `dt`: the fixed time step \[ms\].
    pub dt_ms: f64,
    /// `T`: NEURON's `celsius` \[°C\].
    pub temperature_c: f64,
    /// Amira `.landmarkAscii` files of dendritic recording sites, resolved.
    pub recording_sites: Vec<PathBuf>,
}

impl CellParams {
    /// Reads and checks a cell parameter file.
    pub fn read(path: &Path) -> Result<Self, ParamError> {
        Self::from_file(ParamFile::read(path)?)
    }

    /// The biophysics of structure label `name` (`"Soma"`, …).
    pub fn label(&self, name: &str) -> Option<&LabelParams> {
        self.neuron.labels.iter().find(|l| l.label == name)
    }

    /// Checks a parsed cell parameter file and extracts its typed view.
    pub fn from_file(file: ParamFile) -> Result<Self, ParamError> {
        let v = View { file: &file };
        let root = &file.root;
        v.dict(root, "")?;

        let mut mech_globals = IndexMap::new();
        if let Some(mg) = root.get("mech_globals") {
            for (mech, params) in v.dict(mg, "mech_globals")? {
                let key = join("mech_globals", mech);
                mech_globals.insert(mech.clone(), v.num_map(params, &key)?);
            }
        }

        let neuron = parse_neuron(&v, v.req(root, "", "neuron")?)?;
        let sim = parse_sim(&v, v.req(root, "", "sim")?)?;
        Ok(CellParams {
            file,
            neuron,
            sim,
            mech_globals,
        })
    }
}

fn parse_neuron(v: &View, n: &Node) -> Result<NeuronParams, ParamError> {
    let filename_node = v.req(n, "neuron", "filename")?;
    let filename = v
        .file
        .resolve_path(v.string(filename_node, "neuron.filename")?);

    let cell_modify_functions = match n.get("cell_modify_functions") {
        Some(c) => v.entries(c, "neuron.cell_modify_functions")?,
        None => Vec::new(),
    };

    let discretization = match n.get("discretization") {
        Some(d) => {
            let key = "neuron.discretization";
            let f_hz = v.finite(v.req(d, key, "f")?, "neuron.discretization.f")?;
            let max = v.finite(
                v.req(d, key, "max_seg_length")?,
                "neuron.discretization.max_seg_length",
            )?;
            if f_hz <= 0.0 {
                return Err(v.err(
                    v.req(d, key, "f")?,
                    "neuron.discretization.f",
                    "must be > 0 Hz",
                ));
            }
            if max <= 0.0 {
                return Err(v.err(
                    v.req(d, key, "max_seg_length")?,
                    "neuron.discretization.max_seg_length",
                    "must be > 0 µm",
                ));
            }
            Some(Discretization {
                f_hz,
                max_seg_length_um: max,
            })
        }
        None => None,
    };

    let mut labels = Vec::new();
    for (label, node) in v.dict(n, "neuron")? {
        if NEURON_NON_LABEL_KEYS.contains(&label.as_str()) {
            continue;
        }
        labels.push(parse_label(v, label, node)?);
    }
    Ok(NeuronParams {
        filename,
        cell_modify_functions,
        discretization,
        labels,
    })
}

fn parse_label(v: &View, label: &str, node: &Node) -> Result<LabelParams, ParamError> {
    let key = format!("neuron.{label}");
    v.dict(node, &key)?;
    let props_key = format!("{key}.properties");
    let props = v.req(node, &key, "properties")?;
    let mut properties = IndexMap::new();
    let mut ions = IndexMap::new();
    let mut spines = None;
    for (name, val) in v.dict(props, &props_key)? {
        let k = join(&props_key, name);
        match name.as_str() {
            "ions" => {
                ions = v.num_map(val, &k)?;
                for (ion, x) in &ions {
                    // Reversal potentials (`e…`) are voltages; the rest are concentrations.
                    let bad = if ion.starts_with('e') {
                        (x.abs() > MAX_ABS_MV)
                            .then(|| format!("{x} mV is outside ±{MAX_ABS_MV} mV"))
                    } else {
                        (*x < 0.0).then(|| format!("a concentration must be ≥ 0, found {x}"))
                    };
                    if let Some(msg) = bad {
                        let node = val.get(ion).unwrap_or(val);
                        return Err(v.err(node, &join(&k, ion), msg));
                    }
                }
            }
            "spines" => {
                let density = v.non_negative(v.req(val, &k, "density")?, &join(&k, "density"))?;
                let area = v.non_negative(v.req(val, &k, "area")?, &join(&k, "area"))?;
                spines = Some(Spines {
                    density_per_um: density,
                    area_um2: area,
                });
            }
            _ => {
                properties.insert(name.clone(), v.finite(val, &k)?);
            }
        }
    }

    let mut range_mechanisms = Vec::new();
    if let Some(mechs) = node.get("mechanisms") {
        let mkey = format!("{key}.mechanisms");
        v.dict(mechs, &mkey)?;
        if let Some(range) = mechs.get("range") {
            let rkey = format!("{mkey}.range");
            for (name, spec) in v.dict(range, &rkey)? {
                v.dict(spec, &join(&rkey, name))?;
                range_mechanisms.push((name.clone(), spec.clone()));
            }
        }
    }
    Ok(LabelParams {
        label: label.to_string(),
        properties,
        ions,
        spines,
        range_mechanisms,
    })
}

fn parse_sim(v: &View, s: &Node) -> Result<SimParams, ParamError> {
    let num = |name: &str| -> Result<f64, ParamError> {
        v.finite(v.req(s, "sim", name)?, &format!("sim.{name}"))
    };
    let vinit_mv = num("Vinit")?;
    if vinit_mv.abs() > MAX_ABS_MV {
        return Err(v.err(
            v.req(s, "sim", "Vinit")?,
            "sim.Vinit",
            format!("{vinit_mv} mV is outside ±{MAX_ABS_MV} mV"),
        ));
    }
    let tstart_ms = match s.get("tStart") {
        Some(n) => v.finite(n, "sim.tStart")?,
        None => 0.0,
    };
    let tstop_ms = num("tStop")?;
    if tstop_ms < 0.0 {
        return Err(v.err(
            v.req(s, "sim", "tStop")?,
            "sim.tStop",
            format!("must be ≥ 0 ms, found {tstop_ms}"),
        ));
    }
    let dt_ms = num("dt")?;
    if dt_ms <= 0.0 {
        return Err(v.err(
            v.req(s, "sim", "dt")?,
            "sim.dt",
            format!("must be > 0 ms, found {dt_ms}"),
        ));
    }
    if let Err(m) = crate::limits::check_dt(dt_ms) {
        return Err(v.err(v.req(s, "sim", "dt")?, "sim.dt", m));
    }

    let temperature_c = num("T")?;
    if !(temperature_c > -273.15 && temperature_c <= MAX_CELSIUS) {
        return Err(v.err(
            v.req(s, "sim", "T")?,
            "sim.T",
            format!("{temperature_c} °C is outside (-273.15, {MAX_CELSIUS}] °C"),
        ));
    }
    let mut recording_sites = Vec::new();
    if let Some(rs) = s.get("recordingSites") {
        let seq = rs.as_seq().ok_or_else(|| {
            v.err(
                rs,
                "sim.recordingSites",
                format!("expected a list of file names, found {}", rs.type_name()),
            )
        })?;
        for (i, item) in seq.iter().enumerate() {
            let p = v.string(item, &format!("sim.recordingSites.{i}"))?;
            recording_sites.push(v.file.resolve_path(p));
        }
    }
    Ok(SimParams {
        vinit_mv,
        tstart_ms,
        tstop_ms,
        dt_ms,
        temperature_c,
        recording_sites,
    })
}
