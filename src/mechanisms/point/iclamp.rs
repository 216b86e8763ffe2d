//! `IClamp` (NEURON built-in electrode): `i = amp` while `del ≤ t < del + dur` (t = step midpoint).

use super::{CurrentSign, CurrentSource, Waveform};
use crate::mechanisms::catalogue::{BuildEnv, Constructor, Entry};
use crate::mechanisms::{Instances, PointProcess};

/// Catalogue entry (ms, ms, nA).
pub const ENTRY: Entry = Entry {
    name: "IClamp",
    params: &[("del", 0.0), ("dur", 0.0), ("amp", 0.0)],
    ctor: Constructor::Point(&IClamp::build),
    rank: 30,
};

/// The square pulses of all `IClamp` instances of a trial.
#[derive(Debug)]
pub struct IClamp {
    del: Vec<f64>,
    dur: Vec<f64>,
    amp: Vec<f64>,
}

impl IClamp {
    fn build(inst: Instances, _env: &BuildEnv) -> Box<dyn PointProcess> {
        let mut v = inst.values.into_iter();
        let pulses = IClamp {
            del: v.next().unwrap_or_default(),
            dur: v.next().unwrap_or_default(),
            amp: v.next().unwrap_or_default(),
        };
        CurrentSource::boxed(inst.nodes, &inst.area_um2, pulses)
    }
}

impl Waveform for IClamp {
    const NAME: &'static str = "IClamp";
    const SIGN: CurrentSign = CurrentSign::Electrode;
    #[inline]
    fn current_na(&self, j: usize, t_ms: f64) -> f64 {
        if t_ms < self.del[j] + self.dur[j] && t_ms >= self.del[j] {
            self.amp[j]
        } else {
            0.0
        }
    }
}
