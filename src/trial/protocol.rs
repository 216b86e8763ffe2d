//! Current-injection protocols without synapses (`isf protocol`): IClamp steps and `epsp`
//! waveforms on a cell, voltages recorded at chosen sites, run with ISF's `while t < tstop` loop.
//!
//! ```toml
//! tstop = 3000.0        # ms, optional (default: the cell parameter file's sim.tStop)
//! dt = 0.025            # ms, optional (default: the cell parameter file's sim.dt)
//! numerics = "exact"    # optional: "fast" (default) or "exact" (NEURON's operation order)
//! [[iclamp]]
//! section = 0           # ISF section ID (0 is the soma)
//! x = 0.5
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
//! [[record]]            # default: the soma
//! section = 38
//! x = 0.9857
//! ```

use crate::cell::CellTemplate;
use crate::mechanisms::Numerics;
use crate::solver::{Probe, SimulationBuilder, SolverError};
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

/// A current-injection protocol.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Protocol {
    /// Stop time, ms (default: the cell's).
    pub tstop: Option<f64>,
    /// Time step, ms (default: the cell's).
    pub dt: Option<f64>,
    /// `"fast"` (default) or `"exact"` (NEURON's operation order, see [`Numerics`]).
    #[serde(default)]
    pub numerics: Numerics,
    /// Current steps.
    #[serde(default)]
    pub iclamp: Vec<IClampSpec>,
    /// `epsp` current waveforms.
    #[serde(default)]
    pub epsp: Vec<EpspSpec>,
    /// Recording sites (default: the soma).
    #[serde(default)]
    pub record: Vec<Site>,
    /// The text parsed, for the lines of keys in later errors.
    #[serde(skip)]
    source: String,
}

/// An IClamp.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct IClampSpec {
    /// ISF section ID.
    pub section: usize,
    /// Position on the section, 0..1.
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
    /// ISF section ID.
    pub section: usize,
    /// Position on the section, 0..1.
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

/// A recording site.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Site {
    /// ISF section ID.
    pub section: usize,
    /// Position on the section, 0..1.
    pub x: f64,
}

/// Recorded voltages of a protocol run.
#[derive(Debug, Clone, PartialEq)]
pub struct ProtocolTraces {
    /// Time of every row, ms (row 0 is t = 0).
    pub t_ms: Vec<f64>,
    /// Column names (`sec<ID>_x<x>`), one per recording site.
    pub names: Vec<String>,
    /// Voltage columns, mV.
    pub vm_mv: Vec<Vec<f64>>,
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
        for (i, r) in p.record.iter().enumerate() {
            check_x(format!("record[{i}].x"), r.x)?;
        }
        Ok(p)
    }

    /// Checks the protocol against `cell` without simulating: every section exists, and the run
    /// stays within [`MAX_STEPS_PER_TRIAL`](crate::limits::MAX_STEPS_PER_TRIAL) time steps
    /// (with the cell's own `tStop` and `dt` where the protocol gives none).
    pub fn check(&self, cell: &CellTemplate, path: &Path) -> Result<(), ProtocolError> {
        let invalid = |key: String, message: String| ProtocolError::Invalid {
            path: path.to_path_buf(),
            line: crate::text::toml_key_line(&self.source, &key).unwrap_or(0),
            key,
            message,
        };
        let dt = self.dt.unwrap_or(cell.dt_ms);
        let tstop = self.tstop.unwrap_or(cell.tstop_ms);
        crate::limits::check_steps(tstop, dt).map_err(|m| {
            let key = match (self.tstop.is_some(), self.dt.is_some()) {
                (true, _) => "tstop",
                (false, true) => "dt",
                // Both from the cell: name the keys the protocol could set.
                (false, false) => "tstop/dt (from the cell parameter file)",
            };
            invalid(key.into(), m)
        })?;
        let sites = self
            .iclamp
            .iter()
            .enumerate()
            .map(|(i, c)| (format!("iclamp[{i}].section"), c.section))
            .chain(
                self.epsp
                    .iter()
                    .enumerate()
                    .map(|(i, c)| (format!("epsp[{i}].section"), c.section)),
            )
            .chain(
                self.record
                    .iter()
                    .enumerate()
                    .map(|(i, c)| (format!("record[{i}].section"), c.section)),
            );
        for (key, s) in sites {
            if s >= cell.sections.len() {
                return Err(invalid(
                    key,
                    format!("no section {s} (the cell has {})", cell.sections.len()),
                ));
            }
        }
        Ok(())
    }

    /// Runs the protocol on `cell` (`path` names the protocol file in errors).
    pub fn run(&self, cell: &CellTemplate, path: &Path) -> Result<ProtocolTraces, ProtocolError> {
        self.check(cell, path)?;
        let section_ok = |key: String, s: usize| {
            if s < cell.sections.len() {
                Ok(())
            } else {
                Err(ProtocolError::Invalid {
                    path: path.to_path_buf(),
                    line: 0,
                    key,
                    message: format!("no section {s} (the cell has {})", cell.sections.len()),
                })
            }
        };
        let dt = self.dt.unwrap_or(cell.dt_ms);
        let tstop = self.tstop.unwrap_or(cell.tstop_ms);
        let model = cell.solver_model(dt, self.numerics)?;
        let mut b = SimulationBuilder::new(&model);
        for (i, c) in self.iclamp.iter().enumerate() {
            section_ok(format!("iclamp[{i}].section"), c.section)?;
            let node = cell.segment_node(c.section, c.x);
            b.add_point(
                "IClamp",
                node,
                &[("del", c.delay), ("dur", c.dur), ("amp", c.amp)],
            )?;
        }
        for (i, c) in self.epsp.iter().enumerate() {
            section_ok(format!("epsp[{i}].section"), c.section)?;
            let node = cell.segment_node(c.section, c.x);
            b.add_point(
                "epsp",
                node,
                &[
                    ("onset", c.onset),
                    ("tau0", c.tau0),
                    ("tau1", c.tau1),
                    ("imax", c.imax),
                ],
            )?;
        }
        let sites = if self.record.is_empty() {
            vec![Site {
                section: cell.soma_section,
                x: 0.5,
            }]
        } else {
            self.record.clone()
        };
        let mut names = Vec::with_capacity(sites.len());
        for (i, s) in sites.iter().enumerate() {
            section_ok(format!("record[{i}].section"), s.section)?;
            b.record(Probe::Voltage(cell.segment_node(s.section, s.x)));
            names.push(format!("sec{}_x{}", s.section, s.x));
        }
        let traces = b.build()?.run_until(tstop);
        Ok(ProtocolTraces {
            t_ms: traces.t,
            names,
            vm_mv: traces.columns,
        })
    }
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
