//! `K_Pst` (persistent K, Korngreen & Sakmann 2000, shifted −10 mV).

use super::{GateChannel, Ion, Kinetics, RateExp};
use crate::mechanisms::catalogue::{Constructor, Entry};
use crate::mechanisms::qt_isf;

/// Kinetics of `K_Pst`.
#[derive(Debug)]
pub struct KPst;

/// Catalogue entry.
pub const ENTRY: Entry = Entry {
    name: "K_Pst",
    params: &[("gK_Pstbar", 1e-5)],
    ctor: Constructor::Density(&GateChannel::<KPst>::build),
    rank: 150,
};

impl Kinetics for KPst {
    const NAME: &'static str = "K_Pst";
    const VARS: &'static [&'static str] = &["m", "h", "gK_Pst", "ik"];
    const N_GATES: usize = 2;
    const N_EXP: usize = 4;
    const N_EXP_MOD: usize = 4;
    const ION: Ion = Ion::K;
    #[inline(always)]
    fn rates(v: f64, ex: &mut impl RateExp) -> [(f64, f64); 2] {
        let qt = qt_isf();
        let v = v + 10.0;
        let m_inf = 1.0 / (1.0 + ex.exp((v + 1.0) * (-1.0 / 12.0)));
        // The mod file's two branches differ only in two constants; selecting them keeps one
        // exponential per call (see `RateExp`).
        let (c, k) = if v < -50.0 {
            (175.03, -0.026)
        } else {
            (13.0, 0.026)
        };
        let m_rate = qt / (1.25 + c * ex.exp(-v * k));
        let h_inf = 1.0 / (1.0 + ex.exp((v + 54.0) * (1.0 / 11.0)));
        let w = (v + 75.0) * (1.0 / 48.0);
        let h_rate = qt / (360.0 + (1010.0 + 24.0 * (v + 55.0)) * ex.exp(-(w * w)));
        [(m_inf, m_rate), (h_inf, h_rate)]
    }
    #[inline(always)]
    fn mod_rates(v: f64, ex: &mut impl RateExp) -> [(f64, f64); 2] {
        let qt = qt_isf();
        let v = v + 10.0;
        let m_inf = 1.0 / (1.0 + ex.exp(-(v + 1.0) / 12.0));
        let m_tau = if v < -50.0 {
            (1.25 + 175.03 * ex.exp(-v * -0.026)) / qt
        } else {
            (1.25 + 13.0 * ex.exp(-v * 0.026)) / qt
        };
        let h_inf = 1.0 / (1.0 + ex.exp(-(v + 54.0) / -11.0));
        let h_tau =
            (360.0 + (1010.0 + 24.0 * (v + 55.0)) * ex.exp(-((v + 75.0) / 48.0).powf(2.0))) / qt;
        [(m_inf, m_tau), (h_inf, h_tau)]
    }
    #[inline(always)]
    fn conductance(gbar: f64, [m, h]: [f64; 2]) -> f64 {
        gbar * m * m * h
    }
}
