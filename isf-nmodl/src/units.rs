//! Units database and unit arithmetic with NEURON's conversion factors.
//!
//! The definitions below are the ones of NEURON 9.0.2's units table (the GNU units heritage,
//! updated to the 2018 CODATA values: e = 1.602176634e-19 C, N_A = 6.02214076e23 /mol,
//! k = 1.380649e-23 J/K), restricted to what models of neurons use. They are evaluated the way
//! NEURON's translator evaluates them, so every factor is the same double:
//!
//! * a definition is an optional leading number (`1.602176634-19` means 1.602176634e-19,
//!   `1|180` means 1/180) followed by unit names; names are separated by `-`, blanks, `/` or a
//!   digit; a digit 2..9 right after a name raises it to that power; every name after a `/` is in
//!   the denominator;
//! * a name is looked up as written, then with one of the long prefixes removed (`milli`,
//!   `micro`, ...; one-letter prefixes are *not* known to the legacy table: `mV` must be defined
//!   in the UNITS block), then with a plural `s` removed;
//! * factors multiply in the order written, each name contributing `factor * prefix`.
//!
//! Declarations (`v (mV)`) and numbers (`0.062 (/mV)`) carry units that NEURON's translator never
//! evaluates (they do not change the generated code). isf still checks that they name a known unit,
//! resolving them like the UNITS block and, failing that, also with one-letter SI prefixes
//! (`mM`, `uS`, `nA`) and `M` = molar, the conventions of NEURON's modern units table.

use std::collections::HashMap;

/// Number of base dimensions (m, kg, s, C, cd, $, bit, erlang, K).
pub const NDIM: usize = 9;

/// A unit: a factor relative to the base units and the exponent of each base dimension.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Unit {
    /// Size in base units.
    pub factor: f64,
    /// Exponents of m, kg, sec, coul, candela, dollar, bit, erlang, K.
    pub dims: [i32; NDIM],
}

impl Unit {
    /// The dimensionless 1.
    pub const ONE: Unit = Unit {
        factor: 1.0,
        dims: [0; NDIM],
    };

    /// Whether two units have the same dimensions.
    pub fn conformable(&self, other: &Unit) -> bool {
        self.dims == other.dims
    }
}

/// Prefixes the legacy table knows (longest forms only), in the order they are tried.
const LONG_PREFIXES: &[(f64, &str)] = &[
    (1e-18, "atto"),
    (1e-15, "femto"),
    (1e-12, "pico"),
    (1e-9, "nano"),
    (1e-6, "micro"),
    (1e-3, "milli"),
    (1e-2, "centi"),
    (1e-1, "deci"),
    (1e1, "deka"),
    (1e2, "hecta"),
    (1e2, "hecto"),
    (1e3, "kilo"),
    (1e6, "mega"),
    (1e6, "meg"),
    (1e9, "giga"),
    (1e12, "tera"),
];

/// One-letter prefixes used only when checking declaration units.
const SHORT_PREFIXES: &[(f64, &str)] = &[
    (1e-15, "f"),
    (1e-12, "p"),
    (1e-9, "n"),
    (1e-6, "u"),
    (1e-3, "m"),
    (1e-2, "c"),
    (1e-1, "d"),
    (1e3, "k"),
    (1e6, "M"),
    (1e9, "G"),
];

/// The table: name, definition (in the syntax described in the module documentation).
/// Primitive units are defined as `*a*` .. `*i*`.
const TABLE: &[(&str, &str)] = &[
    ("m", "*a*"),
    ("kg", "*b*"),
    ("sec", "*c*"),
    ("coul", "*d*"),
    ("candela", "*e*"),
    ("dollar", "*f*"),
    ("bit", "*h*"),
    ("erlang", "*i*"),
    ("K", "*j*"),
    // constants and dimensionless numbers
    ("fuzz", "1"),
    ("two", "2"),
    ("pi", "3.14159265358979323846"),
    ("c", "2.99792458+8 m/sec fuzz"),
    ("g", "9.80665 m/sec2"),
    ("mole", "6.02214076+23 fuzz"),
    ("e", "1.602176634-19 coul fuzz"),
    ("radian", ".5 / pi"),
    ("degree", "1|180 pi-radian"),
    ("steradian", "radian2"),
    ("sr", "steradian"),
    ("%", "1|100"),
    ("percent", "%"),
    // time
    ("second", "sec"),
    ("s", "sec"),
    ("minute", "60 sec"),
    ("min", "minute"),
    ("hour", "60 min"),
    ("hr", "hour"),
    ("day", "24 hr"),
    ("ms", "millisec"),
    ("us", "microsec"),
    ("ns", "nanosec"),
    // mass
    ("gram", "millikg"),
    ("gm", "gram"),
    ("mg", "milligram"),
    ("dalton", "1.66044-27 kg fuzz"),
    // length, area, volume
    ("meter", "m"),
    ("metre", "meter"),
    ("cm", "centimeter"),
    ("mm", "millimeter"),
    ("km", "kilometer"),
    ("nm", "nanometer"),
    ("micron", "micrometer"),
    ("angstrom", "decinanometer"),
    ("cc", "cm3"),
    ("liter", "kilocc"),
    ("litre", "liter"),
    ("ml", "milliliter"),
    // mechanics and electricity
    ("newton", "kg-m/sec2"),
    ("nt", "newton"),
    ("N", "newton"),
    ("joule", "nt-m"),
    ("cal", "4.1868 joule"),
    ("calorie", "cal"),
    ("kcal", "kilocal"),
    ("coulomb", "coul"),
    ("C", "coul"),
    ("ampere", "coul/sec"),
    ("amp", "ampere"),
    ("watt", "joule/sec"),
    ("volt", "watt/amp"),
    ("V", "volt"),
    ("ohm", "volt/amp"),
    ("mho", "/ohm"),
    ("siemens", "/ohm"),
    ("farad", "coul/volt"),
    ("pf", "picofarad"),
    ("henry", "sec2/farad"),
    ("weber", "volt-sec"),
    ("tesla", "weber/m2"),
    ("kilohm", "kiloohm"),
    ("megohm", "megaohm"),
    ("hertz", "/sec"),
    ("Hz", "hertz"),
    ("hz", "/sec"),
    ("pascal", "nt/m2"),
    ("atmosphere", "1.01325+5 nt/m2"),
    ("atm", "atmosphere"),
    ("bar", "1+5 nt/m2"),
    ("electronvolt", "e-volt"),
    ("ev", "e-volt"),
    ("eV", "e V"),
    ("faraday", "e-mole"),
    ("boltzmann", "1.380649-23 joule/K"),
    ("k", "boltzmann"),
    ("gasconstant", "k-mole"),
    ("R", "gasconstant"),
    ("planck", "6.62607015-34 joule-sec"),
    ("hbar", "planck/two-pi"),
    ("degC", "K"),
    ("kelvin", "K"),
    ("degK", "K"),
    ("curie", "3.7+10 /sec"),
    ("becquerel", "1|3.7+10 curie"),
];

/// The units table with the definitions of one file's UNITS block added.
#[derive(Debug, Clone)]
pub struct UnitDb {
    table: HashMap<String, Unit>,
}

/// Why a unit string did not resolve.
#[derive(Debug, Clone, PartialEq)]
pub enum UnitError {
    /// A name the table does not know.
    Unknown(String),
    /// `(name) = (...)` for a name the table already has.
    Redefinition(String),
}

impl std::fmt::Display for UnitError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            UnitError::Unknown(n) => write!(f, "unknown unit `{n}`"),
            UnitError::Redefinition(n) => write!(f, "unit `{n}` is already defined"),
        }
    }
}

impl Default for UnitDb {
    fn default() -> Self {
        Self::new()
    }
}

impl UnitDb {
    /// NEURON's table (the subset above), evaluated in order.
    pub fn new() -> Self {
        let mut db = UnitDb {
            table: HashMap::new(),
        };
        for (i, p) in [
            "*a*", "*b*", "*c*", "*d*", "*e*", "*f*", "*h*", "*i*", "*j*",
        ]
        .iter()
        .enumerate()
        {
            let mut dims = [0; NDIM];
            dims[i] = 1;
            db.table.insert(p.to_string(), Unit { factor: 1.0, dims });
        }
        // The empty name is the dimensionless 1, so that a bare prefix (`milli/liter`) works.
        db.table.insert(String::new(), Unit::ONE);
        for (name, def) in TABLE {
            // The table is ours and complete: every definition resolves.
            let u = db
                .eval(def, false)
                .unwrap_or_else(|e| panic!("units table entry {name}: {e}"));
            db.table.insert(name.to_string(), u);
        }
        db
    }

    /// Evaluates a unit string as NEURON's translator does (`short` also allows one-letter
    /// prefixes, for declarations).
    pub fn eval(&self, s: &str, short: bool) -> Result<Unit, UnitError> {
        let b = s.as_bytes();
        let mut i = 0;
        let factor = leading_number(b, &mut i);
        let mut u = Unit {
            factor: if factor == 0.0 { 1.0 } else { factor },
            dims: [0; NDIM],
        };
        let mut den = false;
        let mut name = String::new();
        loop {
            let c = b.get(i).copied();
            i += 1;
            match c {
                None | Some(b'1'..=b'9' | b'-' | b'/' | b' ' | b'\t' | b'\n') => {
                    if !name.is_empty() {
                        let reps = match c {
                            Some(d @ b'2'..=b'9') => (d - b'0') as i32,
                            _ => 1,
                        };
                        self.apply(&name, &mut u, den, reps, short)?;
                        name.clear();
                    }
                    match c {
                        None => return Ok(u),
                        Some(b'/') => den = true,
                        _ => {}
                    }
                }
                Some(ch) => name.push(ch as char),
            }
        }
    }

    fn apply(
        &self,
        name: &str,
        u: &mut Unit,
        den: bool,
        reps: i32,
        short: bool,
    ) -> Result<(), UnitError> {
        let (q, e) = self
            .lookup(name, short)
            .ok_or_else(|| UnitError::Unknown(name.to_string()))?;
        for _ in 0..reps {
            if den {
                u.factor /= q.factor * e;
                for (d, qd) in u.dims.iter_mut().zip(q.dims) {
                    *d -= qd;
                }
            } else {
                u.factor *= q.factor * e;
                for (d, qd) in u.dims.iter_mut().zip(q.dims) {
                    *d += qd;
                }
            }
        }
        Ok(())
    }

    /// The unit of `name` and the accumulated prefix factor.
    fn lookup(&self, name: &str, short: bool) -> Option<(Unit, f64)> {
        let mut e = 1.0;
        let mut name = name.to_string();
        // Bounded: each round removes at least one character.
        for _ in 0..64 {
            if let Some(u) = self.table.get(&name) {
                return Some((*u, e));
            }
            if let Some((f, p)) = LONG_PREFIXES.iter().find(|(_, p)| name.starts_with(p)) {
                e *= f;
                name = name[p.len()..].to_string();
                continue;
            }
            if name.len() > 1 && name.ends_with('s') {
                name.pop();
                continue;
            }
            break;
        }
        if short {
            return self.lookup_short(&name).map(|(u, f)| (u, e * f));
        }
        None
    }

    fn lookup_short(&self, name: &str) -> Option<(Unit, f64)> {
        let known = |n: &str| -> Option<Unit> {
            let alias = match n {
                "M" => Some("1/liter"),
                "l" | "L" => Some("liter"),
                "A" => Some("ampere"),
                "S" => Some("siemens"),
                "F" => Some("farad"),
                "mol" => Some("mole"),
                "Ohm" => Some("ohm"),
                "J" => Some("joule"),
                "W" => Some("watt"),
                "Pa" => Some("pascal"),
                "deg" => Some("degree"),
                _ => None,
            };
            if let Some(a) = alias {
                return self.eval(a, false).ok();
            }
            self.table
                .get(n)
                .copied()
                .or_else(|| self.lookup(n, false).map(|(u, f)| scale(u, f)))
        };
        if let Some(u) = known(name) {
            return Some((u, 1.0));
        }
        for (f, p) in SHORT_PREFIXES {
            if name.len() > p.len() && name.starts_with(p) {
                if let Some(u) = known(&name[p.len()..]) {
                    return Some((u, *f));
                }
            }
        }
        None
    }

    /// `(name) = (def)` of a UNITS block.
    pub fn define(&mut self, name: &str, def: &str) -> Result<Unit, UnitError> {
        let u = self.eval(def, false)?;
        if self.table.contains_key(name) {
            return Err(UnitError::Redefinition(name.to_string()));
        }
        self.table.insert(name.to_string(), u);
        Ok(u)
    }

    /// `NAME = (from) (to)`: NEURON's value is the factor of `from` divided by that of `to`.
    pub fn factor(&self, from: &str, to: &str) -> Result<(f64, Unit, Unit), UnitError> {
        let a = self.eval(from, false)?;
        let b = self.eval(to, false)?;
        Ok((a.factor / b.factor, a, b))
    }

    /// Whether `name` is a unit of this table (exactly as written).
    pub fn has(&self, name: &str) -> bool {
        self.table.contains_key(name)
    }
}

fn scale(mut u: Unit, f: f64) -> Unit {
    u.factor *= f;
    u
}

/// The leading number of a definition: digits and `.`, then `+`/`-` and digits as the exponent,
/// then `|` and another such number as a divisor. Empty gives 0 (the caller uses 1).
fn leading_number(b: &[u8], i: &mut usize) -> f64 {
    while matches!(b.get(*i), Some(b' ' | b'\t')) {
        *i += 1;
    }
    let mut s = String::new();
    while let Some(&c) = b.get(*i) {
        if c.is_ascii_digit() || c == b'.' {
            s.push(c as char);
            *i += 1;
        } else {
            break;
        }
    }
    if let Some(&c) = b.get(*i) {
        if c == b'+' || c == b'-' {
            s.push('e');
            s.push(c as char);
            *i += 1;
            while let Some(&d) = b.get(*i) {
                if d.is_ascii_digit() {
                    s.push(d as char);
                    *i += 1;
                } else {
                    break;
                }
            }
        }
    }
    let v = atof(&s);
    if b.get(*i) == Some(&b'|') {
        *i += 1;
        return v / leading_number(b, i);
    }
    v
}

/// C's `atof` on the strings `leading_number` builds: the longest valid prefix, 0 if none.
fn atof(s: &str) -> f64 {
    for end in (1..=s.len()).rev() {
        if let Ok(v) = s[..end].parse::<f64>() {
            if !s[..end].ends_with(['e', 'E', '+', '-']) {
                return v;
            }
        }
    }
    0.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn faraday_and_gas_constant_are_neurons_doubles() {
        let db = UnitDb::new();
        let (f, a, b) = db.factor("faraday", "coulombs").unwrap();
        assert_eq!(f, 1.602176634e-19 * 6.02214076e23);
        assert_eq!(f, 96485.33212331001);
        assert!(a.conformable(&b));
        let (r, a, b) = db.factor("k-mole", "joule/degC").unwrap();
        // The value NEURON 9.0.2 compiles (isf's hand-written mechanisms use the same double).
        assert_eq!(r, 8.31446261815324);
        assert!(a.conformable(&b));
    }

    #[test]
    fn prefixes_plurals_and_powers() {
        let mut db = UnitDb::new();
        assert_eq!(db.eval("millivolt", false).unwrap().factor, 1e-3);
        assert!(db.eval("mV", false).is_err());
        db.define("mV", "millivolt").unwrap();
        assert_eq!(db.eval("mV", false).unwrap().factor, 1e-3);
        let ma_cm2 = db.eval("milliamp/cm2", false).unwrap();
        assert_eq!(ma_cm2.dims[0], -2);
        assert_eq!(ma_cm2.factor, 1e-3 / (1e-2 * 1e-2));
        assert_eq!(db.eval("coulombs", false).unwrap().factor, 1.0);
        assert_eq!(db.eval("1|180", false).unwrap().factor, 1.0 / 180.0);
        assert_eq!(
            db.define("mV", "volt"),
            Err(UnitError::Redefinition("mV".into()))
        );
        assert!(matches!(
            db.eval("furlongs", false),
            Err(UnitError::Unknown(_))
        ));
    }

    #[test]
    fn declaration_units_accept_short_prefixes() {
        let db = UnitDb::new();
        assert!((db.eval("mM", true).unwrap().factor - 1.0).abs() < 1e-12);
        assert!((db.eval("milli/liter", false).unwrap().factor - 1.0).abs() < 1e-12);
        assert!(db.eval("nA", true).is_ok());
        assert!(db.eval("S/cm2", true).is_ok());
        assert!(db.eval("uS", true).is_ok());
        assert!(db.eval("/mV", true).is_ok());
        assert!(db.eval("mA/cm2", true).is_ok());
        assert!(db.eval("1", true).is_ok());
        for u in [
            "pS/um2", "mho/cm2", "uF/cm2", "kHz", "ohm cm", "Ohm cm", "um2", "mM/ms", "1/ms",
            "degC", "J/K", "umho", "M", "mol", "cm/s",
        ] {
            assert!(db.eval(u, true).is_ok(), "{u}");
        }
        assert!(db.eval("blargh", true).is_err());
    }
}
