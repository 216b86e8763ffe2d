//! `epsp` (Schaefer 2003 double-exponential current waveform, nonspecific current):
//! `i = −amp·((1 − e^{−(t−onset)/tau0}) − (1 − e^{−(t−onset)/tau1}))` for `t ≥ onset`, with
//! `amp = imax` scaled so the waveform peaks at `imax` (nA). Positive `imax` depolarises.

use super::{CurrentSign, CurrentSource, Waveform};
use crate::mechanisms::catalogue::{BuildEnv, Constructor, Entry};
use crate::mechanisms::{hoc_exp, Instances, PointProcess};

/// Catalogue entry (ms, ms, ms, nA).
pub const ENTRY: Entry = Entry {
    name: "epsp",
    params: &[("onset", 0.0), ("tau0", 0.2), ("tau1", 3.0), ("imax", 0.0)],
    ctor: Constructor::Point(&Epsp::build),
    rank: 300,
};

/// The mod file's `myexp`: 0 below −100.
fn myexp(x: f64) -> f64 {
    if x < -100.0 {
        0.0
    } else {
        hoc_exp(x)
    }
}

/// The waveforms of all `epsp` instances of a trial.
#[derive(Debug)]
pub struct Epsp {
    onset: Vec<f64>,
    tau0: Vec<f64>,
    tau1: Vec<f64>,
    amp: Vec<f64>,
}

impl Epsp {
    fn build(inst: Instances, _env: &BuildEnv) -> Box<dyn PointProcess> {
        let mut v = inst.values.into_iter();
        let onset = v.next().unwrap_or_default();
        let tau0: Vec<f64> = v.next().unwrap_or_default();
        let tau1: Vec<f64> = v.next().unwrap_or_default();
        let imax: Vec<f64> = v.next().unwrap_or_default();
        let amp = (0..imax.len())
            .map(|j| {
                let (t0, t1) = (tau0[j], tau1[j]);
                let tpeak = t0 * t1 * (t0 / t1).ln() / (t0 - t1);
                let adjust = 1.0 / ((1.0 - myexp(-tpeak / t0)) - (1.0 - myexp(-tpeak / t1)));
                adjust * imax[j]
            })
            .collect();
        let waveforms = Epsp {
            onset,
            tau0,
            tau1,
            amp,
        };
        CurrentSource::boxed(inst.nodes, &inst.area_um2, waveforms)
    }
}

impl Waveform for Epsp {
    const NAME: &'static str = "epsp";
    const SIGN: CurrentSign = CurrentSign::Membrane;
    #[inline]
    fn current_na(&self, j: usize, t_ms: f64) -> f64 {
        if t_ms < self.onset[j] {
            0.0
        } else {
            let x = t_ms - self.onset[j];
            -self.amp[j] * ((1.0 - myexp(-x / self.tau0[j])) - (1.0 - myexp(-x / self.tau1[j])))
        }
    }
}
