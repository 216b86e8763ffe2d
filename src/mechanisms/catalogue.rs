//! The mechanism catalogue: NEURON names → parameter names, defaults and constructors.
//!
//! Unknown mechanism or parameter names are rejected here, at model-build time, with the list of
//! known names.

use super::{density, point, DensityMechanism, Instances, PointProcess};

/// Whether a catalogue entry is a density mechanism or a point process.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MechanismKind {
    /// Distributed channel (mA/cm²).
    Density,
    /// Point process (nA).
    Point,
}

/// Build-time constants passed to constructors.
#[derive(Debug, Clone, Copy)]
pub struct BuildEnv {
    /// Time step, ms.
    pub dt: f64,
    /// Temperature, °C.
    pub celsius: f64,
    /// How the kernels evaluate the mechanisms' equations.
    pub numerics: super::Numerics,
}

/// Constructor of a density mechanism block.
pub type DensityCtor = fn(Instances, &BuildEnv) -> Box<dyn DensityMechanism>;
/// Constructor of a point-process block.
pub type PointCtor = fn(Instances, &BuildEnv) -> Box<dyn PointProcess>;

/// Constructor of a catalogue entry.
#[derive(Clone, Copy)]
pub enum Constructor {
    /// Builds a density mechanism block.
    Density(DensityCtor),
    /// Builds a point-process block.
    Point(PointCtor),
}

/// One mechanism known to the catalogue.
#[derive(Clone, Copy)]
pub struct Entry {
    /// NEURON name.
    pub name: &'static str,
    /// Parameter names (without suffix; globals included) and their NMODL defaults.
    pub params: &'static [(&'static str, f64)],
    /// Constructor.
    pub ctor: Constructor,
    /// NEURON's mechanism order (type index order): currents are summed and states advanced in
    /// this order (CaDynamics_E2 before SK_E2 matters).
    pub rank: u32,
}

impl std::fmt::Debug for Entry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Entry").field("name", &self.name).finish()
    }
}

impl Entry {
    /// Density or point.
    pub fn kind(&self) -> MechanismKind {
        match self.ctor {
            Constructor::Density(_) => MechanismKind::Density,
            Constructor::Point(_) => MechanismKind::Point,
        }
    }
    /// Index of parameter `name`.
    pub fn param_index(&self, name: &str) -> Result<usize, CatalogueError> {
        self.params
            .iter()
            .position(|(p, _)| *p == name)
            .ok_or_else(|| CatalogueError::UnknownParameter {
                mechanism: self.name.to_string(),
                parameter: name.to_string(),
                known: self
                    .params
                    .iter()
                    .map(|(p, _)| *p)
                    .collect::<Vec<_>>()
                    .join(", "),
            })
    }
}

/// Errors of the catalogue.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum CatalogueError {
    /// No mechanism of that name.
    #[error("unknown mechanism `{name}` (known: {known})")]
    UnknownMechanism {
        /// The name asked for.
        name: String,
        /// Comma-separated known names.
        known: String,
    },
    /// The mechanism has no such parameter.
    #[error("mechanism `{mechanism}` has no parameter `{parameter}` (known: {known})")]
    UnknownParameter {
        /// Mechanism name.
        mechanism: String,
        /// Parameter asked for.
        parameter: String,
        /// Comma-separated known parameters.
        known: String,
    },
    /// A density mechanism was asked for as a point process or the other way round.
    #[error("`{name}` is a {actual:?} mechanism, not a {wanted:?} one")]
    WrongKind {
        /// Mechanism name.
        name: String,
        /// What it is.
        actual: MechanismKind,
        /// What was asked for.
        wanted: MechanismKind,
    },
    /// A parameter vector does not have one value per node.
    #[error("mechanism `{mechanism}` parameter `{parameter}`: {got} values for {nodes} nodes")]
    LengthMismatch {
        /// Mechanism name.
        mechanism: String,
        /// Parameter name.
        parameter: String,
        /// Values given.
        got: usize,
        /// Nodes.
        nodes: usize,
    },
    /// A parameter value is infinite (or NaN where NaN does not mean "default").
    #[error("mechanism `{mechanism}` parameter `{parameter}` is not finite ({value})")]
    NotFinite {
        /// Mechanism name.
        mechanism: String,
        /// Parameter name.
        parameter: String,
        /// The value.
        value: f64,
    },
}

/// Entries registered at run time (mechanisms compiled from NMODL files, see
/// [`super::compiled`]); they take precedence over built-ins of the same name.
static REGISTERED: std::sync::RwLock<Vec<&'static Entry>> = std::sync::RwLock::new(Vec::new());

/// Registers `entry` for the rest of the process; a name registered twice is an error.
pub fn register(entry: Entry) -> Result<&'static Entry, String> {
    let mut registered = REGISTERED.write().expect("catalogue lock");
    if registered.iter().any(|e| e.name == entry.name) {
        return Err(format!("mechanism `{}` is registered twice", entry.name));
    }
    let entry: &'static Entry = Box::leak(Box::new(entry));
    registered.push(entry);
    Ok(entry)
}

/// The registry of all mechanisms isf knows.
#[derive(Debug, Clone, Copy, Default)]
pub struct Catalogue;

const ENTRIES: &[Entry] = &[
    density::pas::ENTRY,
    density::hh::ENTRY,
    point::iclamp::ENTRY,
    point::seclamp::ENTRY,
    density::cadynamics_e2::ENTRY,
    density::ca_hva::ENTRY,
    density::ca_lvast::ENTRY,
    density::ih::ENTRY,
    density::im::ENTRY,
    density::k_pst::ENTRY,
    density::k_tst::ENTRY,
    density::nata_t::ENTRY,
    density::nap_et2::ENTRY,
    density::sk_e2::ENTRY,
    density::skv3_1::ENTRY,
    point::epsp::ENTRY,
    point::gaba_syn::ENTRY,
    point::glutamate_syn::ENTRY,
];

impl Catalogue {
    /// All entries, in NEURON's mechanism order.
    pub fn entries(&self) -> &'static [Entry] {
        ENTRIES
    }

    /// The entry called `name`: a registered compiled mechanism (see [`register`]) first,
    /// then a built-in.
    pub fn get(&self, name: &str) -> Result<&'static Entry, CatalogueError> {
        let registered = REGISTERED.read().expect("catalogue lock");
        if let Some(e) = registered.iter().find(|e| e.name == name) {
            return Ok(e);
        }
        self.builtin(name)
            .ok_or_else(|| CatalogueError::UnknownMechanism {
                name: name.to_string(),
                known: ENTRIES
                    .iter()
                    .chain(registered.iter().copied())
                    .map(|e| e.name)
                    .collect::<Vec<_>>()
                    .join(", "),
            })
    }

    /// The built-in entry called `name`.
    pub fn builtin(&self, name: &str) -> Option<&'static Entry> {
        ENTRIES.iter().find(|e| e.name == name)
    }

    /// Parameter-major value table for `nodes.len()` instances of `entry`, defaults overridden by
    /// `given` (name → per-instance values; NaN keeps the default at that instance).
    pub fn instances<'a>(
        &self,
        entry: &Entry,
        nodes: Vec<usize>,
        area_um2: Vec<f64>,
        given: impl IntoIterator<Item = (&'a str, &'a [f64])>,
    ) -> Result<Instances, CatalogueError> {
        let n = nodes.len();
        let mut values: Vec<Vec<f64>> = entry.params.iter().map(|&(_, d)| vec![d; n]).collect();
        for (name, vals) in given {
            let p = entry.param_index(name)?;
            if vals.len() != n {
                return Err(CatalogueError::LengthMismatch {
                    mechanism: entry.name.into(),
                    parameter: name.into(),
                    got: vals.len(),
                    nodes: n,
                });
            }
            if let Some(&bad) = vals.iter().find(|x| x.is_infinite()) {
                return Err(CatalogueError::NotFinite {
                    mechanism: entry.name.into(),
                    parameter: name.into(),
                    value: bad,
                });
            }
            // NaN marks "not set here": the default stays.
            for (slot, &x) in values[p].iter_mut().zip(vals) {
                if !x.is_nan() {
                    *slot = x;
                }
            }
        }
        Ok(Instances {
            nodes,
            values,
            area_um2,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_names_list_the_known_ones() {
        let c = Catalogue;
        let e = c.get("NaX").unwrap_err().to_string();
        assert!(e.contains("NaTa_t") && e.contains("SK_E2"), "{e}");
        let entry = c.get("NaTa_t").unwrap();
        let e = c
            .instances(entry, vec![0], vec![1.0], [("gbar", &[1.0][..])])
            .unwrap_err()
            .to_string();
        assert!(e.contains("gNaTa_tbar"), "{e}");
    }

    #[test]
    fn ranks_are_unique_and_ordered() {
        let r: Vec<u32> = ENTRIES.iter().map(|e| e.rank).collect();
        assert!(r.windows(2).all(|w| w[0] < w[1]));
    }
}
