//! Protocols without synapse maps (`isf protocol`): IClamp steps, `epsp` waveforms, SEClamp
//! level schedules and point processes driven by NetCon events, on a cell read from a `.param`
//! file or on a single compartment defined in the protocol itself (as NEURON users unit-test a
//! channel); any voltage, mechanism variable, ion current or concentration recorded by NEURON's
//! name. The format is described in `docs/formats.md` ("Protocol files").
//!
//! ```toml
//! tstop = 3000.0        # ms, optional with a .param cell (default: its sim.tStop)
//! dt = 0.025            # ms, optional (default: the cell's sim.dt; 0.025 for an inline cell)
//! numerics = "exact"    # optional: "fast" (default) or "exact" (NEURON's operation order)
//! celsius = 34.0        # optional (default: the cell's; 6.3, NEURON's, for an inline cell)
//! [[iclamp]]
//! section = 0           # ISF section ID (0 is the soma; default: the soma)
//! x = 0.5               # default 0.5
//! delay = 700.0         # ms
//! dur = 2000.0          # ms
//! amp = 1.507           # nA
//! [[epsp]]
//! section = 38
//! x = 0.5
//! onset = 100.0         # ms
//! tau0 = 0.5            # ms
//! tau1 = 5.0            # ms
//! imax = 0.5            # nA
//! [[record]]            # default: the soma's voltage
//! section = 38
//! x = 0.9857
//! ```
//!
//! An inline single compartment, GLOBALs, a voltage clamp, a synapse and named recordings:
//!
//! ```toml
//! tstop = 200.0
//! record = ["v", "m_hh", "ina", "i_pas", "syn.gampa", "vclamp0.i"]
//! [cell]                # one section, one segment (section 0)
//! L = 20.0              # µm
//! diam = 20.0           # µm
//! v_init = -75.0        # mV (default -65)
//! ena = 50.0            # mV (optional; also ek)
//! [cell.mechanisms]
//! pas = { g = 3e-5, e = -90.0 }
//! hh = {}
//! [globals]
//! usetable_hh = 0.0
//! [[vclamp]]
//! rs = 0.001            # MΩ
//! levels = [[0.0, -80.0], [20.0, -60.0]]   # [t_ms, mV]: from t on, the command is mV
//! [[point]]
//! mechanism = "glutamate_syn"
//! name = "syn"          # default: point<i>
//! params = { tau1 = 26.0 }
//! events = [10.0, 12.0] # ms, delivery times
//! weights = [1.68, 1.68]  # the NetCon weight vector
//! ```
//!
//! Event sources and random streams (the cell's legacy generator seeded as NEURON's
//! `set_seed(x)`):
//!
//! ```toml
//! seed = 12345
//! [[point]]
//! mechanism = "VecStim"
//! name = "vs"
//! vector = [10.0, 12.0]   # ms, the instance's event vector (VecStim.play)
//! [[point]]
//! mechanism = "ProbAMPANMDA2"
//! source = "vs"           # a NetCon from `vs` (with `weights`, `delay`)
//! weights = [1.5]
//! random = { kind = "Random", seed = 424371 }   # or { kind = "Random123", ids = [3, 5, 7] }
//! ```

use crate::cell::CellTemplate;
use crate::mechanisms::streams::{stream_params, StreamSource};
use crate::mechanisms::{Catalogue, Ions, MechanismKind, MechanismPlacement, Numerics};
use crate::solver::{
    CableTree, CellModel, NetConHandle, PointHandle, Probe, SimSettings, SimulationBuilder,
    SolverError,
};
use indexmap::IndexMap;
use serde::Deserialize;
use std::path::{Path, PathBuf};

/// Errors of a protocol.
#[derive(Debug, thiserror::Error)]
pub enum ProtocolError {
    /// The protocol file cannot be read.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The protocol file is not valid TOML or has unknown/missing keys.
    #[error("{path}: {message}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// The parser's message (with line and column).
        message: String,
    },
    /// A value is out of range.
    #[error("{path}{}: {key}: {message}", line_suffix(*.line))]
    Invalid {
        /// The file.
        path: PathBuf,
        /// 1-based line of the key in the file (0 when unknown, e.g. a default from the cell).
        line: usize,
        /// The offending key, e.g. `iclamp[1].x`.
        key: String,
        /// What is wrong.
        message: String,
    },
    /// The engine rejected the model or a stimulus.
    #[error(transparent)]
    Solver(#[from] SolverError),
}

/// `:<line>` for an error at a known line, nothing otherwise.
fn line_suffix(line: usize) -> String {
    if line > 0 {
        format!(":{line}")
    } else {
        String::new()
    }
}

/// A protocol.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Protocol {
    /// Stop time, ms (default: the cell's; required for an inline cell).
    pub tstop: Option<f64>,
    /// Time step, ms (default: the cell's; 0.025 for an inline cell).
    pub dt: Option<f64>,
    /// `"fast"` (default) or `"exact"` (NEURON's operation order, see [`Numerics`]).
    #[serde(default)]
    pub numerics: Numerics,
    /// Temperature, °C (default: the cell's; 6.3, NEURON's default, for an inline cell).
    pub celsius: Option<f64>,
    /// Seed of the cell's legacy generator (`scop_random`, `exprand`; NEURON's `set_seed(x)`,
    /// which hoc reaches through e.g. `SpikeGenerator.seed(x)`), set before initialisation.
    pub seed: Option<f64>,
    /// A single-compartment cell defined here instead of a `.param` file.
    pub cell: Option<InlineCell>,
    /// Mechanism GLOBALs (and any other parameter) by NEURON's name, `<name>_<mechanism>`
    /// (`usetable_hh`, `n_glutamate_syn`): set in every instance of the mechanism.
    #[serde(default)]
    pub globals: IndexMap<String, f64>,
    /// Current steps.
    #[serde(default)]
    pub iclamp: Vec<IClampSpec>,
    /// `epsp` current waveforms.
    #[serde(default)]
    pub epsp: Vec<EpspSpec>,
    /// Voltage clamps (SEClamp) with a schedule of levels.
    #[serde(default)]
    pub vclamp: Vec<VClampSpec>,
    /// Point processes by catalogue name, with parameters and NetCon events.
    #[serde(default)]
    pub point: Vec<PointSpec>,
    /// What to record (default: the soma's voltage).
    #[serde(default)]
    pub record: Vec<RecordSpec>,
    /// The text parsed, for the lines of keys in later errors.
    #[serde(skip)]
    source: String,
}

fn default_l() -> f64 {
    20.0
}
fn default_cm() -> f64 {
    1.0
}
fn default_ra() -> f64 {
    100.0
}
fn default_vinit() -> f64 {
    -65.0
}

/// A single compartment (one section, one segment, as NEURON's `soma` with `nseg = 1`).
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct InlineCell {
    /// Length, µm.
    #[serde(rename = "L", default = "default_l")]
    pub length_um: f64,
    /// Diameter, µm.
    #[serde(default = "default_l")]
    pub diam: f64,
    /// Specific capacitance, µF/cm².
    #[serde(default = "default_cm")]
    pub cm: f64,
    /// Axial resistivity, Ω·cm.
    #[serde(rename = "Ra", default = "default_ra")]
    pub ra: f64,
    /// Initial voltage, mV.
    #[serde(default = "default_vinit")]
    pub v_init: f64,
    /// Sodium reversal potential, mV (default NEURON's 50).
    pub ena: Option<f64>,
    /// Potassium reversal potential, mV (default NEURON's −77).
    pub ek: Option<f64>,
    /// Density mechanisms inserted, in order: name → parameters (without the suffix).
    #[serde(default)]
    pub mechanisms: IndexMap<String, IndexMap<String, f64>>,
}

fn half() -> f64 {
    0.5
}

/// An IClamp.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct IClampSpec {
    /// ISF section ID (default: the soma).
    pub section: Option<usize>,
    /// Position on the section, 0..1.
    #[serde(default = "half")]
    pub x: f64,
    /// Onset, ms.
    pub delay: f64,
    /// Duration, ms.
    pub dur: f64,
    /// Amplitude, nA.
    pub amp: f64,
}

/// An `epsp` waveform (Schaefer 2003).
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct EpspSpec {
    /// ISF section ID (default: the soma).
    pub section: Option<usize>,
    /// Position on the section, 0..1.
    #[serde(default = "half")]
    pub x: f64,
    /// Onset, ms.
    pub onset: f64,
    /// Rise time constant, ms.
    pub tau0: f64,
    /// Decay time constant, ms.
    pub tau1: f64,
    /// Peak current, nA (positive depolarises).
    pub imax: f64,
}

/// A single-electrode voltage clamp (SEClamp) whose command follows a schedule.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct VClampSpec {
    /// ISF section ID (default: the soma).
    pub section: Option<usize>,
    /// Position on the section, 0..1.
    #[serde(default = "half")]
    pub x: f64,
    /// Series resistance, MΩ.
    pub rs: f64,
    /// `[t_ms, mV]` pairs, times ascending, the first at 0: from each time on, the command is
    /// that level (delivered as events, as NEURON's `Vector.play` into `amp1`).
    pub levels: Vec<[f64; 2]>,
}

/// A point process of the catalogue (built-in or compiled), with NetCon events.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct PointSpec {
    /// Catalogue name (`glutamate_syn`, `ExpSyn`, …).
    pub mechanism: String,
    /// Name used in recordings (`<name>.<variable>`; default `point<i>`).
    pub name: Option<String>,
    /// ISF section ID (default: the soma).
    pub section: Option<usize>,
    /// Position on the section, 0..1.
    #[serde(default = "half")]
    pub x: f64,
    /// Parameters (NEURON's names, without suffix).
    #[serde(default)]
    pub params: IndexMap<String, f64>,
    /// Event delivery times, ms.
    #[serde(default)]
    pub events: Vec<f64>,
    /// The NetCon weight vector every event carries (NET_RECEIVE's arguments; missing trailing
    /// elements are 0, as NEURON's).
    #[serde(default)]
    pub weights: Vec<f64>,
    /// The instance's event vector (hoc's `VecStim.play(vec)`), ms.
    pub vector: Option<Vec<f64>>,
    /// Name of another `[[point]]` whose spikes (`net_event`) reach this one through a NetCon
    /// with `weights` and `delay`.
    pub source: Option<String>,
    /// Delay of the NetCon from `source`, ms.
    #[serde(default)]
    pub delay: f64,
    /// A random stream attached to the instance.
    pub random: Option<RandomSpec>,
}

/// The kind of a random stream given to a point process.
#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
pub enum RandomKind {
    /// hoc's `Random(seed)` in `negexp(1)` mode, attached by `setRNG` (ISF's idiom).
    Random,
    /// `Random123(a, b, c)`: a stream named by three ids.
    Random123,
}

/// A random stream given to a point process (`random = { kind = "Random", seed = 424371 }` or
/// `random = { kind = "Random123", ids = [3, 5, 7] }`).
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct RandomSpec {
    /// `"Random"` or `"Random123"`.
    pub kind: RandomKind,
    /// The seed of a `Random`.
    pub seed: Option<u32>,
    /// The three ids of a `Random123`.
    pub ids: Option<[u32; 3]>,
    /// The mechanism's stream (`RANDOM` variable or POINTER name); default its only one.
    pub stream: Option<String>,
}

impl RandomSpec {
    fn source(&self) -> Option<StreamSource> {
        match (self.kind, self.seed, self.ids) {
            (RandomKind::Random, Some(seed), None) => Some(StreamSource::Random(seed)),
            (RandomKind::Random123, None, Some(ids)) => Some(StreamSource::Random123(ids)),
            _ => None,
        }
    }
}

/// What to record: a NEURON name (`v`, `m_hh`, `ina`, `cai`, `i_pas`, `syn.g`) at the soma, or a
/// site with an optional variable.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(untagged)]
pub enum RecordSpec {
    /// A NEURON name at the soma (the inline cell's one segment).
    Name(String),
    /// A site.
    Site(Site),
}

/// A recording site.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Site {
    /// ISF section ID.
    pub section: usize,
    /// Position on the section, 0..1.
    pub x: f64,
    /// The variable (default `v`), NEURON's name.
    pub var: Option<String>,
}

/// Recorded columns of a protocol run.
#[derive(Debug, Clone, PartialEq)]
pub struct ProtocolTraces {
    /// Time of every row, ms (row 0 is t = 0).
    pub t_ms: Vec<f64>,
    /// Column names: `sec<ID>_x<x>` for a site's voltage, the NEURON name for a named variable
    /// (`<name>@sec<ID>_x<x>` at a site).
    pub names: Vec<String>,
    /// The columns (called `vm_mv` for history: voltages, mV, and any recorded variable in its
    /// mechanism's units).
    pub vm_mv: Vec<Vec<f64>>,
}

/// The ion variables the engine keeps per node.
const ION_NAMES: &[&str] = &["ina", "ik", "ica", "ena", "ek", "eca", "cai", "cao"];

/// `name_suffix` → (`name`, `suffix`) for the longest suffix that is a density mechanism of
/// the catalogue (`gNaTs2_t_NaTs2_t` → `gNaTs2_t`, `NaTs2_t`).
fn split_density(full: &str) -> Option<(&str, &str)> {
    full.match_indices('_').find_map(|(i, _)| {
        let (var, mech) = (&full[..i], &full[i + 1..]);
        let ok = !var.is_empty()
            && Catalogue
                .get(mech)
                .is_ok_and(|e| e.kind() == MechanismKind::Density);
        ok.then_some((var, mech))
    })
}

/// The cell a protocol runs on.
enum Target<'a> {
    /// A cell from a `.param` file.
    Param(&'a CellTemplate),
    /// The protocol's own single compartment.
    Inline,
}

impl Target<'_> {
    fn n_sections(&self) -> usize {
        match self {
            Target::Param(c) => c.sections.len(),
            Target::Inline => 1,
        }
    }
    fn soma(&self) -> usize {
        match self {
            Target::Param(c) => c.soma_section,
            Target::Inline => 0,
        }
    }
    fn node(&self, section: usize, x: f64) -> usize {
        match self {
            Target::Param(c) => c.segment_node(section, x),
            // Nodes 0 and 2 are the section's zero-area ends (see `CableTree::single_compartment`).
            Target::Inline if x == 0.0 => 0,
            Target::Inline if x == 1.0 => 2,
            Target::Inline => 1,
        }
    }
}

impl Protocol {
    /// Reads and validates a protocol file.
    pub fn read(path: &Path) -> Result<Protocol, ProtocolError> {
        let text = crate::text::read_text(path).map_err(|e| match e {
            crate::text::ReadTextError::Io(source) => ProtocolError::Io {
                path: path.to_path_buf(),
                source,
            },
            e => ProtocolError::Parse {
                path: path.to_path_buf(),
                message: e.to_string(),
            },
        })?;
        Protocol::parse(&text, path)
    }

    /// Whether the protocol defines its own cell (`[cell]`).
    pub fn has_inline_cell(&self) -> bool {
        self.cell.is_some()
    }

    fn invalid(&self, path: &Path, key: String, message: String) -> ProtocolError {
        ProtocolError::Invalid {
            path: path.to_path_buf(),
            line: crate::text::toml_key_line(&self.source, &key).unwrap_or(0),
            key,
            message,
        }
    }

    /// Parses protocol text (`path` names it in errors).
    pub fn parse(text: &str, path: &Path) -> Result<Protocol, ProtocolError> {
        let mut p: Protocol = toml::from_str(text).map_err(|e| ProtocolError::Parse {
            path: path.to_path_buf(),
            message: e.to_string(),
        })?;
        p.source = text.to_string();
        let bad = |key: String, message: &str| -> Result<(), ProtocolError> {
            Err(ProtocolError::Invalid {
                path: path.to_path_buf(),
                line: crate::text::toml_key_line(text, &key).unwrap_or(0),
                key,
                message: message.to_string(),
            })
        };
        for (key, v) in [("tstop", p.tstop), ("dt", p.dt)] {
            if let Some(v) = v {
                if !(v.is_finite() && v > 0.0) {
                    bad(key.into(), &format!("must be a positive number, got {v}"))?;
                }
            }
        }
        if let Some(dt) = p.dt {
            if let Err(m) = crate::limits::check_dt(dt) {
                bad("dt".into(), &m)?;
            }
            if let Some(t) = p.tstop {
                if let Err(m) = crate::limits::check_steps(t, dt) {
                    bad("tstop".into(), &m)?;
                }
            }
        }
        if let Some(c) = p.celsius {
            if !c.is_finite() {
                bad("celsius".into(), "must be finite")?;
            }
        }
        if let Some(x) = p.seed {
            if !(x.is_finite() && x >= 0.0 && x.fract() == 0.0 && x < 4_294_967_296.0) {
                bad(
                    "seed".into(),
                    &format!("must be a whole number in [0, 2^32), got {x}"),
                )?;
            }
        }
        let check_x = |key: String, x: f64| {
            if (0.0..=1.0).contains(&x) {
                Ok(())
            } else {
                bad(key, &format!("x must lie in [0, 1], got {x}"))
            }
        };
        for (i, c) in p.iclamp.iter().enumerate() {
            check_x(format!("iclamp[{i}].x"), c.x)?;
            for (k, v) in [("delay", c.delay), ("dur", c.dur), ("amp", c.amp)] {
                if !v.is_finite() {
                    bad(format!("iclamp[{i}].{k}"), "must be finite")?;
                }
            }
        }
        for (i, c) in p.epsp.iter().enumerate() {
            check_x(format!("epsp[{i}].x"), c.x)?;
            for (k, v) in [("onset", c.onset), ("imax", c.imax)] {
                if !v.is_finite() {
                    bad(format!("epsp[{i}].{k}"), "must be finite")?;
                }
            }
            for (k, v) in [("tau0", c.tau0), ("tau1", c.tau1)] {
                if !(v.is_finite() && v > 0.0) {
                    bad(format!("epsp[{i}].{k}"), "must be a positive number")?;
                }
            }
            if c.tau0 == c.tau1 {
                bad(format!("epsp[{i}].tau1"), "tau0 and tau1 must differ")?;
            }
        }
        for (i, c) in p.vclamp.iter().enumerate() {
            check_x(format!("vclamp[{i}].x"), c.x)?;
            if !(c.rs.is_finite() && c.rs > 0.0) {
                bad(format!("vclamp[{i}].rs"), "must be a positive number")?;
            }
            let key = format!("vclamp[{i}].levels");
            match c.levels.first() {
                None => bad(key.clone(), "give at least one [t_ms, mV] pair")?,
                Some(&[t, _]) if t != 0.0 => bad(
                    key.clone(),
                    &format!("the first level must start at t = 0, not {t}"),
                )?,
                _ => {}
            }
            if c.levels.iter().flatten().any(|x| !x.is_finite()) {
                bad(key.clone(), "every time and level must be finite")?;
            }
            if c.levels.windows(2).any(|w| w[1][0] < w[0][0]) {
                bad(key, "times must not decrease")?;
            }
        }
        let mut names = std::collections::HashSet::new();
        for (i, pt) in p.point.iter().enumerate() {
            check_x(format!("point[{i}].x"), pt.x)?;
            if pt.events.iter().chain(&pt.weights).any(|x| !x.is_finite()) {
                bad(
                    format!("point[{i}].events"),
                    "event times and weights must be finite",
                )?;
            }
            if pt.events.windows(2).any(|w| w[1] < w[0]) {
                bad(format!("point[{i}].events"), "times must not decrease")?;
            }
            if (!pt.events.is_empty() || pt.source.is_some()) && pt.weights.is_empty() {
                bad(
                    format!("point[{i}].weights"),
                    "events need the NetCon weight vector (`weights = [...]`)",
                )?;
            }
            if pt.vector.iter().flatten().any(|x| !x.is_finite()) {
                bad(format!("point[{i}].vector"), "event times must be finite")?;
            }
            if !(pt.delay.is_finite() && pt.delay >= 0.0) {
                bad(format!("point[{i}].delay"), "must be a number ≥ 0 (ms)")?;
            }
            if let Some(r) = &pt.random {
                if r.source().is_none() {
                    bad(
                        format!("point[{i}].random"),
                        "give `kind = \"Random\", seed = N` (hoc's Random(seed)) or \
                         `kind = \"Random123\", ids = [a, b, c]`",
                    )?;
                }
            }
            if let Some(n) = &pt.name {
                if n.contains('.') || !names.insert(n.clone()) {
                    bad(
                        format!("point[{i}].name"),
                        &format!("`{n}` must be unique and contain no `.`"),
                    )?;
                }
            }
        }
        for (i, r) in p.record.iter().enumerate() {
            match r {
                RecordSpec::Site(s) => check_x(format!("record[{i}].x"), s.x)?,
                RecordSpec::Name(n) if n == "t" => bad(
                    format!("record[{i}]"),
                    "`t` is always the first column; record other variables",
                )?,
                RecordSpec::Name(_) => {}
            }
        }
        for (i, pt) in p.point.iter().enumerate() {
            if let Some(src) = &pt.source {
                let found = (p.point.iter().enumerate())
                    .any(|(j, q)| j != i && q.name.as_deref() == Some(src.as_str()));
                if !found {
                    bad(
                        format!("point[{i}].source"),
                        &format!("no other [[point]] is named `{src}`"),
                    )?;
                }
            }
        }
        if let Some(c) = &p.cell {
            for (k, v) in [
                ("L", c.length_um),
                ("diam", c.diam),
                ("cm", c.cm),
                ("Ra", c.ra),
            ] {
                if !(v.is_finite() && v > 0.0) {
                    bad(
                        format!("cell.{k}"),
                        &format!("must be a positive number, got {v}"),
                    )?;
                }
            }
            for (k, v) in [("v_init", Some(c.v_init)), ("ena", c.ena), ("ek", c.ek)] {
                if v.is_some_and(|v| !v.is_finite()) {
                    bad(format!("cell.{k}"), "must be finite")?;
                }
            }
            if p.tstop.is_none() {
                bad(
                    "tstop".into(),
                    "a protocol with its own [cell] must give tstop (ms)",
                )?;
            }
        }
        Ok(p)
    }

    /// Checks the protocol against `cell` without simulating: every section exists, and the run
    /// stays within [`MAX_STEPS_PER_TRIAL`](crate::limits::MAX_STEPS_PER_TRIAL) time steps
    /// (with the cell's own `tStop` and `dt` where the protocol gives none).
    pub fn check(&self, cell: &CellTemplate, path: &Path) -> Result<(), ProtocolError> {
        if self.cell.is_some() {
            return Err(self.invalid(
                path,
                "cell".into(),
                "the protocol defines its own [cell]; give no cell parameter file".into(),
            ));
        }
        let dt = self.dt.unwrap_or(cell.dt_ms);
        let tstop = self.tstop.unwrap_or(cell.tstop_ms);
        crate::limits::check_steps(tstop, dt).map_err(|m| {
            let key = match (self.tstop.is_some(), self.dt.is_some()) {
                (true, _) => "tstop",
                (false, true) => "dt",
                // Both from the cell: name the keys the protocol could set.
                (false, false) => "tstop/dt (from the cell parameter file)",
            };
            self.invalid(path, key.into(), m)
        })?;
        self.check_sections(&Target::Param(cell), path)
    }

    fn check_sections(&self, target: &Target, path: &Path) -> Result<(), ProtocolError> {
        let n = target.n_sections();
        let sites = (self.iclamp.iter().map(|c| c.section))
            .enumerate()
            .map(|(i, s)| (format!("iclamp[{i}].section"), s))
            .chain(
                (self.epsp.iter().map(|c| c.section))
                    .enumerate()
                    .map(|(i, s)| (format!("epsp[{i}].section"), s)),
            )
            .chain(
                (self.vclamp.iter().map(|c| c.section))
                    .enumerate()
                    .map(|(i, s)| (format!("vclamp[{i}].section"), s)),
            )
            .chain(
                (self.point.iter().map(|c| c.section))
                    .enumerate()
                    .map(|(i, s)| (format!("point[{i}].section"), s)),
            )
            .chain(self.record.iter().enumerate().map(|(i, r)| match r {
                RecordSpec::Site(s) => (format!("record[{i}].section"), Some(s.section)),
                RecordSpec::Name(_) => (String::new(), None),
            }));
        for (key, s) in sites {
            if let Some(s) = s {
                if s >= n {
                    return Err(self.invalid(
                        path,
                        key,
                        format!("no section {s} (the cell has {n})"),
                    ));
                }
            }
        }
        Ok(())
    }

    /// Runs the protocol on `cell` (`path` names the protocol file in errors), with ISF's
    /// `while t < tstop` loop.
    pub fn run(&self, cell: &CellTemplate, path: &Path) -> Result<ProtocolTraces, ProtocolError> {
        self.check(cell, path)?;
        let dt = self.dt.unwrap_or(cell.dt_ms);
        let tstop = self.tstop.unwrap_or(cell.tstop_ms);
        let model = if self.celsius.is_some() || !self.globals.is_empty() {
            let mut c = cell.clone();
            if let Some(t) = self.celsius {
                c.celsius = t;
            }
            self.apply_density_globals(&mut c.mechanisms, path)?;
            c.solver_model(dt, self.numerics)?
        } else {
            cell.solver_model(dt, self.numerics)?
        };
        self.simulate(&Target::Param(cell), &model, path, |sim| {
            sim.run_until(tstop)
        })
    }

    /// Runs the protocol on its own `[cell]` as NEURON does: `finitialize`, then exactly
    /// `round(tstop/dt)` steps.
    pub fn run_inline(&self, path: &Path) -> Result<ProtocolTraces, ProtocolError> {
        let Some(c) = &self.cell else {
            return Err(self.invalid(
                path,
                "cell".into(),
                "the protocol has no [cell]: give a cell parameter file".into(),
            ));
        };
        let dt = self.dt.unwrap_or(0.025);
        let tstop = self.tstop.unwrap_or(0.0);
        crate::limits::check_steps(tstop, dt).map_err(|m| self.invalid(path, "tstop".into(), m))?;
        let target = Target::Inline;
        self.check_sections(&target, path)?;
        let pi = std::f64::consts::PI;
        let area = pi * c.diam * c.length_um;
        // Half the segment's axial resistance, MΩ (Ω·cm · µm / µm² · 0.01).
        let half_ri = c.ra * (c.length_um / 2.0) / (pi * (c.diam / 2.0) * (c.diam / 2.0)) * 0.01;
        let tree = CableTree::single_compartment(area, c.cm, half_ri);
        let mut placements: Vec<MechanismPlacement> = c
            .mechanisms
            .iter()
            .map(|(name, params)| MechanismPlacement {
                name: name.clone(),
                nodes: vec![1],
                params: params.iter().map(|(k, &v)| (k.clone(), vec![v])).collect(),
            })
            .collect();
        for (i, (name, params)) in c.mechanisms.iter().enumerate() {
            let key = format!("cell.mechanisms.{name}");
            let entry = Catalogue
                .get(name)
                .map_err(|e| self.invalid(path, key.clone(), e.to_string()))?;
            if entry.kind() != MechanismKind::Density {
                return Err(self.invalid(
                    path,
                    key,
                    format!("`{name}` is a point process: add it as a [[point]]"),
                ));
            }
            for k in params.keys() {
                entry
                    .param_index(k)
                    .map_err(|e| self.invalid(path, format!("{key}.{k}"), e.to_string()))?;
            }
            debug_assert_eq!(placements[i].name, *name);
        }
        self.apply_density_globals(&mut placements, path)?;
        let mut ions = Ions::defaults(tree.len());
        if let Some(x) = c.ena {
            ions.ena_mv.fill(x);
        }
        if let Some(x) = c.ek {
            ions.ek_mv.fill(x);
        }
        let settings = SimSettings {
            dt_ms: dt,
            celsius: self.celsius.unwrap_or(6.3),
            vinit_mv: c.v_init,
            numerics: self.numerics,
        };
        let model = CellModel::new(&tree, &placements, ions, settings)?;
        let steps = (tstop / dt).round() as usize;
        self.simulate(&target, &model, path, |sim| sim.run_steps(steps))
    }

    /// The mechanism a GLOBAL `<name>_<mech>` belongs to among `mechs` (the longest suffix).
    fn global_owner<'m>(key: &str, mechs: impl Iterator<Item = &'m str>) -> Option<&'m str> {
        mechs
            .filter(|m| key.len() > m.len() + 1 && key.ends_with(&format!("_{m}")))
            .max_by_key(|m| m.len())
    }

    /// Sets the globals that belong to density mechanisms in `placements`.
    fn apply_density_globals(
        &self,
        placements: &mut [MechanismPlacement],
        path: &Path,
    ) -> Result<(), ProtocolError> {
        let points: Vec<&str> = self.point_mechanisms();
        for (key, value) in self.gkeys() {
            let key = key.as_str();
            let names: Vec<String> = placements.iter().map(|p| p.name.clone()).collect();
            let density = Self::global_owner(key, names.iter().map(String::as_str));
            let point = Self::global_owner(key, points.iter().copied());
            let density = match (density, point) {
                (Some(m), Some(p)) if p.len() > m.len() => None,
                (d, _) => d,
            };
            if let Some(m) = density {
                let var = &key[..key.len() - m.len() - 1];
                let gkey = format!("globals.{key}");
                Catalogue
                    .get(m)
                    .and_then(|e| e.param_index(var))
                    .map_err(|e| self.invalid(path, gkey, e.to_string()))?;
                let pl = placements.iter_mut().find(|p| p.name == m).expect("found");
                let n = pl.nodes.len();
                pl.params.insert(var.to_string(), vec![value; n]);
            } else if point.is_none() {
                return Err(self.invalid(
                    path,
                    format!("globals.{key}"),
                    format!(
                        "no mechanism of the cell or the protocol owns `{key}` (NEURON's \
                         name is <variable>_<mechanism>; the cell has {}{})",
                        names.join(", "),
                        if points.is_empty() {
                            String::new()
                        } else {
                            format!("; point processes {}", points.join(", "))
                        }
                    ),
                ));
            }
        }
        Ok(())
    }

    fn gkeys(&self) -> Vec<(String, f64)> {
        self.globals.iter().map(|(k, &v)| (k.clone(), v)).collect()
    }

    /// Names of the point mechanisms the protocol places.
    fn point_mechanisms(&self) -> Vec<&str> {
        let mut v: Vec<&str> = self.point.iter().map(|p| p.mechanism.as_str()).collect();
        if !self.iclamp.is_empty() {
            v.push("IClamp");
        }
        if !self.epsp.is_empty() {
            v.push("epsp");
        }
        if !self.vclamp.is_empty() {
            v.push("SEClamp");
        }
        v
    }

    /// The globals of point mechanism `mech` (`(name, value)`, the suffix removed), unless a
    /// density mechanism with a longer matching name owns them.
    fn point_globals(&self, mech: &str) -> Vec<(String, f64)> {
        let points = self.point_mechanisms();
        self.globals
            .iter()
            .filter(|(k, _)| Self::global_owner(k, points.iter().copied()) == Some(mech))
            .map(|(k, &v)| (k[..k.len() - mech.len() - 1].to_string(), v))
            .collect()
    }

    /// Adds the stimuli and recordings to `model` and runs it with `run`.
    fn simulate(
        &self,
        target: &Target,
        model: &CellModel,
        path: &Path,
        run: impl FnOnce(&mut crate::solver::Simulation) -> crate::solver::Traces,
    ) -> Result<ProtocolTraces, ProtocolError> {
        let soma = target.soma();
        let mut b = SimulationBuilder::new(model);
        if let Some(seed) = self.seed {
            b.set_seed(seed)?;
        }
        let mut handles: IndexMap<String, PointHandle> = IndexMap::new();
        // The first NetCon of each named point process (for recording NET_RECEIVE arguments).
        let mut netcons: IndexMap<String, NetConHandle> = IndexMap::new();
        let with_globals = |mech: &str, own: Vec<(String, f64)>| -> Vec<(String, f64)> {
            let mut all = self.point_globals(mech);
            all.extend(own);
            all
        };
        for (i, c) in self.iclamp.iter().enumerate() {
            let node = target.node(c.section.unwrap_or(soma), c.x);
            let ps = with_globals(
                "IClamp",
                vec![
                    ("del".into(), c.delay),
                    ("dur".into(), c.dur),
                    ("amp".into(), c.amp),
                ],
            );
            let h = b.add_point("IClamp", node, &pairs(&ps))?;
            handles.insert(format!("iclamp{i}"), h);
        }
        for (i, c) in self.epsp.iter().enumerate() {
            let node = target.node(c.section.unwrap_or(soma), c.x);
            let ps = with_globals(
                "epsp",
                vec![
                    ("onset".into(), c.onset),
                    ("tau0".into(), c.tau0),
                    ("tau1".into(), c.tau1),
                    ("imax".into(), c.imax),
                ],
            );
            let h = b.add_point("epsp", node, &pairs(&ps))?;
            handles.insert(format!("epsp{i}"), h);
        }
        for (i, c) in self.vclamp.iter().enumerate() {
            let node = target.node(c.section.unwrap_or(soma), c.x);
            let ps = with_globals(
                "SEClamp",
                vec![
                    ("rs".into(), c.rs),
                    ("dur1".into(), 1e9),
                    ("amp1".into(), c.levels[0][1]),
                ],
            );
            let h = b.add_point("SEClamp", node, &pairs(&ps))?;
            for l in &c.levels {
                b.add_events(h, &[l[0]], &[l[1]])?;
            }
            handles.insert(format!("vclamp{i}"), h);
        }
        for (i, p) in self.point.iter().enumerate() {
            let key = format!("point[{i}].mechanism");
            let entry = Catalogue
                .get(&p.mechanism)
                .map_err(|e| self.invalid(path, key.clone(), e.to_string()))?;
            if entry.kind() != MechanismKind::Point {
                return Err(self.invalid(
                    path,
                    key,
                    format!(
                        "`{}` is a density mechanism: insert it into the cell",
                        p.mechanism
                    ),
                ));
            }
            for k in p.params.keys() {
                entry.param_index(k).map_err(|e| {
                    self.invalid(path, format!("point[{i}].params.{k}"), e.to_string())
                })?;
            }
            let node = target.node(p.section.unwrap_or(soma), p.x);
            let mut own: Vec<(String, f64)> =
                p.params.iter().map(|(k, &v)| (k.clone(), v)).collect();
            if let Some(r) = &p.random {
                let source = r.source().expect("checked when parsed");
                let stream = stream_params(entry, r.stream.as_deref(), source)
                    .map_err(|e| self.invalid(path, format!("point[{i}].random"), e))?;
                own.extend(stream);
            }
            let ps = with_globals(&p.mechanism, own);
            let h = b
                .add_point(&p.mechanism, node, &pairs(&ps))
                .map_err(|e| self.invalid(path, format!("point[{i}]"), e.to_string()))?;
            if let Some(v) = &p.vector {
                b.set_event_vector(h, v)
                    .map_err(|e| self.invalid(path, format!("point[{i}].vector"), e.to_string()))?;
            }
            let name = p.name.clone().unwrap_or_else(|| format!("point{i}"));
            if !p.events.is_empty() {
                let nc = b
                    .add_events(h, &p.events, &self.netcon_weights(i))
                    .map_err(|e| {
                        self.invalid(path, format!("point[{i}].weights"), e.to_string())
                    })?;
                netcons.entry(name.clone()).or_insert(nc);
            }
            handles.insert(name, h);
        }
        // NetCons between point processes, once all exist (a source may come later).
        for (i, p) in self.point.iter().enumerate() {
            let Some(src) = &p.source else { continue };
            let name = p.name.clone().unwrap_or_else(|| format!("point{i}"));
            let nc = b
                .add_netcon(
                    handles[src.as_str()],
                    handles[&name],
                    p.delay,
                    &self.netcon_weights(i),
                )
                .map_err(|e| self.invalid(path, format!("point[{i}].source"), e.to_string()))?;
            netcons.entry(name).or_insert(nc);
        }
        let soma_node = target.node(soma, 0.5);
        let specs: Vec<RecordSpec> = if self.record.is_empty() {
            match target {
                Target::Inline => vec![RecordSpec::Name("v".into())],
                Target::Param(_) => vec![RecordSpec::Site(Site {
                    section: soma,
                    x: 0.5,
                    var: None,
                })],
            }
        } else {
            self.record.clone()
        };
        let mut names = Vec::with_capacity(specs.len());
        for (i, r) in specs.iter().enumerate() {
            let (var, node, name) = match r {
                RecordSpec::Name(n) => (n.as_str(), soma_node, n.clone()),
                RecordSpec::Site(s) => {
                    let node = target.node(s.section, s.x);
                    let site = format!("sec{}_x{}", s.section, s.x);
                    match &s.var {
                        None => ("v", node, site),
                        Some(v) => (v.as_str(), node, format!("{v}@{site}")),
                    }
                }
            };
            let probe = self.probe(var, node, &handles, &netcons, path, i)?;
            b.record(probe);
            names.push(name);
        }
        let mut sim = b.build()?;
        let traces = run(&mut sim);
        Ok(ProtocolTraces {
            t_ms: traces.t,
            names,
            vm_mv: traces.columns,
        })
    }

    /// The probe recording NEURON's name `var` at `node`.
    fn probe(
        &self,
        var: &str,
        node: usize,
        handles: &IndexMap<String, PointHandle>,
        netcons: &IndexMap<String, NetConHandle>,
        path: &Path,
        i: usize,
    ) -> Result<Probe, ProtocolError> {
        if var == "v" {
            return Ok(Probe::Voltage(node));
        }
        if ION_NAMES.contains(&var) {
            return Ok(Probe::Ion {
                variable: var.to_string(),
                node,
            });
        }
        if let Some((owner, v)) = var.split_once('.') {
            return match handles.get(owner) {
                Some(&handle) => Ok(self
                    .netcon_probe(owner, v, netcons)
                    .unwrap_or(Probe::Point {
                        handle,
                        variable: v.to_string(),
                    })),
                None => Err(self.invalid(
                    path,
                    format!("record[{i}]"),
                    format!(
                        "`{var}`: no point process `{owner}` (the protocol's: {})",
                        handles.keys().cloned().collect::<Vec<_>>().join(", ")
                    ),
                )),
            };
        }
        if let Some((v, mech)) = split_density(var) {
            return Ok(Probe::Density {
                mechanism: mech.to_string(),
                variable: v.to_string(),
                node,
            });
        }
        // A bare name: a variable of the protocol's only [[point]], or of the only one that has
        // it (a variable or a NET_RECEIVE argument).
        let owners: Vec<String> = if self.point.len() == 1 {
            vec![self.point_name(0)]
        } else {
            (0..self.point.len())
                .filter(|&k| self.point_has(k, var))
                .map(|k| self.point_name(k))
                .collect()
        };
        if let [owner] = &owners[..] {
            return Ok(self
                .netcon_probe(owner, var, netcons)
                .unwrap_or(Probe::Point {
                    handle: handles[owner],
                    variable: var.to_string(),
                }));
        }
        Err(self.invalid(
            path,
            format!("record[{i}]"),
            format!(
                "`{var}` is not `v`, an ion variable ({}), `<variable>_<density mechanism>` or \
                 `<point process>.<variable>`",
                ION_NAMES.join(", ")
            ),
        ))
    }
}

impl Protocol {
    /// The recording name of `[[point]]` `k`.
    fn point_name(&self, k: usize) -> String {
        self.point[k]
            .name
            .clone()
            .unwrap_or_else(|| format!("point{k}"))
    }

    /// Whether `[[point]]` `k`'s mechanism has the variable or NET_RECEIVE argument `var`.
    fn point_has(&self, k: usize, var: &str) -> bool {
        let mech = self.point[k].mechanism.as_str();
        if crate::mechanisms::catalogue_file::net_receive_args(mech)
            .is_some_and(|a| a.iter().any(|x| x == var))
        {
            return true;
        }
        self.empty_block(mech)
            .is_some_and(|b| b.variables().contains(&var))
    }

    /// An empty block of point process `mech`: it tells the variables and the NetCon weight
    /// count.
    fn empty_block(&self, mech: &str) -> Option<Box<dyn crate::mechanisms::PointProcess>> {
        let entry = Catalogue.get(mech).ok()?;
        let crate::mechanisms::catalogue::Constructor::Point(ctor) = entry.ctor else {
            return None;
        };
        let empty = crate::mechanisms::Instances {
            nodes: Vec::new(),
            values: entry.params.iter().map(|_| Vec::new()).collect(),
            area_um2: Vec::new(),
        };
        let env = crate::mechanisms::catalogue::BuildEnv {
            dt: self.dt.unwrap_or(0.025),
            celsius: self.celsius.unwrap_or(6.3),
            numerics: self.numerics,
        };
        Some(ctor(empty, &env))
    }

    /// `[[point]]` `k`'s NetCon weight vector: the given weights, then zeros up to the number
    /// its NET_RECEIVE takes (a NetCon's unset weights are 0 in NEURON).
    fn netcon_weights(&self, k: usize) -> Vec<f64> {
        let p = &self.point[k];
        let mut w = p.weights.clone();
        let n = self.empty_block(&p.mechanism).map_or(0, |b| b.n_weights());
        if w.len() < n {
            w.resize(n, 0.0);
        }
        w
    }

    /// The probe of NET_RECEIVE argument `arg` of point process `owner` (an element of its first
    /// NetCon's weight vector, NEURON's `nc._ref_weight[k]`), if `arg` is one and it has a NetCon.
    fn netcon_probe(
        &self,
        owner: &str,
        arg: &str,
        netcons: &IndexMap<String, NetConHandle>,
    ) -> Option<Probe> {
        let k = self.point_index(owner)?;
        let args = crate::mechanisms::catalogue_file::net_receive_args(&self.point[k].mechanism)?;
        let index = args.iter().position(|a| a == arg)?;
        Some(Probe::Weight {
            netcon: *netcons.get(owner)?,
            index,
        })
    }

    fn point_index(&self, name: &str) -> Option<usize> {
        (0..self.point.len()).find(|&k| self.point_name(k) == name)
    }
}

fn pairs(ps: &[(String, f64)]) -> Vec<(&str, f64)> {
    ps.iter().map(|(k, v)| (k.as_str(), *v)).collect()
}

impl ProtocolTraces {
    /// The `vm.csv` text: header `t` and the site names, one row per sample, comma-separated,
    /// numbers in shortest round-trip form.
    pub fn to_csv(&self) -> String {
        let mut out = String::with_capacity(self.t_ms.len() * 20 * (1 + self.names.len()));
        out.push('t');
        for n in &self.names {
            out.push(',');
            out.push_str(n);
        }
        out.push('\n');
        let mut buf = ryu::Buffer::new();
        for (r, t) in self.t_ms.iter().enumerate() {
            out.push_str(buf.format(*t));
            for c in &self.vm_mv {
                out.push(',');
                out.push_str(buf.format(c[r]));
            }
            out.push('\n');
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_keys_and_bad_values_are_errors() {
        let p = Path::new("p.toml");
        let e = Protocol::parse("tstop = 10\nfoo = 1\n", p)
            .unwrap_err()
            .to_string();
        assert!(e.contains("foo") && e.contains("p.toml"), "{e}");
        let e = Protocol::parse(
            "[[iclamp]]\nsection = 0\nx = 0.5\ndelay = 1\ndur = 2\namp = 1\nampl = 2\n",
            p,
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("ampl"), "{e}");
        let e = Protocol::parse("dt = -0.025\n", p).unwrap_err().to_string();
        assert!(e.contains("dt"), "{e}");
        let e = Protocol::parse("[[record]]\nsection = 0\nx = 1.5\n", p)
            .unwrap_err()
            .to_string();
        assert!(e.contains("record[0].x"), "{e}");
        let ok = Protocol::parse(
            "tstop = 5\n[[iclamp]]\nsection = 0\nx = 0.5\ndelay = 1\ndur = 2\namp = 0.1\n",
            p,
        )
        .unwrap();
        assert_eq!(ok.iclamp.len(), 1);
        assert!(ok.record.is_empty());
        assert_eq!(ok.numerics, Numerics::Fast);
        let exact = Protocol::parse("numerics = \"exact\"\n", p).unwrap();
        assert_eq!(exact.numerics, Numerics::Exact);
        let e = Protocol::parse("numerics = \"quick\"\n", p)
            .unwrap_err()
            .to_string();
        assert!(e.contains("numerics") || e.contains("quick"), "{e}");
    }

    #[test]
    fn csv_has_header_and_shortest_numbers() {
        let t = ProtocolTraces {
            t_ms: vec![0.0, 0.025],
            names: vec!["sec0_x0.5".into()],
            vm_mv: vec![vec![-75.0, -75.01710476555157]],
        };
        assert_eq!(
            t.to_csv(),
            "t,sec0_x0.5\n0.0,-75.0\n0.025,-75.01710476555157\n"
        );
    }
}
