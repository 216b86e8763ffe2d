//! `K_Tst` (transient K, shifted −10 mV).

use super::{GateChannel, Ion, Kinetics, RateExp};
use crate::mechanisms::catalogue::{Constructor, Entry};
use crate::mechanisms::{libm_pow, qt_isf};

/// Kinetics of `K_Tst`.
#[derive(Debug)]
pub struct KTst;

/// Catalogue entry.
pub const ENTRY: Entry = Entry {
    name: "K_Tst",
    params: &[("gK_Tstbar", 1e-5)],
    ctor: Constructor::Density(&GateChannel::<KTst>::build),
    rank: 160,
};

impl Kinetics for KTst {
    const NAME: &'static str = "K_Tst";
    const VARS: &'static [&'static str] = &["m", "h", "gK_Tst", "ik"];
    const N_GATES: usize = 2;
    const N_EXP: usize = 4;
    const N_EXP_MOD: usize = 4;
    const ION: Ion = Ion::K;
    #[inline(always)]
    fn rates(v: f64, ex: &mut impl RateExp) -> [(f64, f64); 2] {
        let qt = qt_isf();
        let v = v + 10.0;
        let m_inf = 1.0 / (1.0 + ex.exp((v + 0.0) * (-1.0 / 19.0)));
        let w = (v + 71.0) * (1.0 / 59.0);
        let m_rate = qt / (0.34 + 0.92 * ex.exp(-(w * w)));
        let h_inf = 1.0 / (1.0 + ex.exp((v + 66.0) * 0.1));
        let w = (v + 73.0) * (1.0 / 23.0);
        let h_rate = qt / (8.0 + 49.0 * ex.exp(-(w * w)));
        [(m_inf, m_rate), (h_inf, h_rate)]
    }
    #[inline(always)]
    fn mod_rates(v: f64, ex: &mut impl RateExp) -> [(f64, f64); 2] {
        let qt = qt_isf();
        let v = v + 10.0;
        let m_inf = 1.0 / (1.0 + ex.exp(-(v + 0.0) / 19.0));
        let m_tau = (0.34 + 0.92 * ex.exp(-((v + 71.0) / 59.0).powf(2.0))) / qt;
        let h_inf = 1.0 / (1.0 + ex.exp(-(v + 66.0) / -10.0));
        let h_tau = (8.0 + 49.0 * ex.exp(-((v + 73.0) / 23.0).powf(2.0))) / qt;
        [(m_inf, m_tau), (h_inf, h_tau)]
    }
    #[inline(always)]
    fn conductance(gbar: f64, [m, h]: [f64; 2]) -> f64 {
        gbar * libm_pow(m, 4.0) * h
    }
}
