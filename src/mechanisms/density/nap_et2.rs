//! `Nap_Et2` (persistent Na, Magistretti & Alonso 1999).

use super::{GateChannel, Ion, Kinetics, RateExp};
use crate::mechanisms::catalogue::{Constructor, Entry};
use crate::mechanisms::qt_isf;

/// Kinetics of `Nap_Et2`.
#[derive(Debug)]
pub struct NapEt2;

/// Catalogue entry.
pub const ENTRY: Entry = Entry {
    name: "Nap_Et2",
    params: &[("gNap_Et2bar", 1e-5)],
    ctor: Constructor::Density(&GateChannel::<NapEt2>::build),
    rank: 180,
};

impl Kinetics for NapEt2 {
    const NAME: &'static str = "Nap_Et2";
    const VARS: &'static [&'static str] = &["m", "h", "gNap_Et2", "ina"];
    const N_GATES: usize = 2;
    const N_EXP: usize = 5;
    const N_EXP_MOD: usize = 6;
    const ION: Ion = Ion::Na;
    #[inline(always)]
    fn rates(v: f64, ex: &mut impl RateExp) -> [(f64, f64); 2] {
        let qt = qt_isf();
        let mut v = v;
        let m_inf = 1.0 / (1.0 + ex.exp((v - -52.6) * (-1.0 / 4.6)));
        if v == -38.0 {
            v += 0.0001;
        }
        // As NaTa_t's m, with τ six times as long.
        let x = v - -38.0;
        let e = ex.exp(x * (-1.0 / 6.0));
        let m_rate = qt * (1.0 / 6.0) * x * ((0.182 + 0.124 * e) / (1.0 - e));
        if v == -17.0 {
            v += 0.0001;
        }
        if v == -64.4 {
            v += 0.0001;
        }
        let h_inf = 1.0 / (1.0 + ex.exp((v - -48.8) * 0.1));
        let h_alpha = -2.88e-6 * (v + 17.0) / (1.0 - ex.exp((v + 17.0) * (1.0 / 4.63)));
        let h_beta = 6.94e-6 * (v + 64.4) / (1.0 - ex.exp((v + 64.4) * (-1.0 / 2.63)));
        [(m_inf, m_rate), (h_inf, qt * (h_alpha + h_beta))]
    }
    #[inline(always)]
    fn mod_rates(v: f64, ex: &mut impl RateExp) -> [(f64, f64); 2] {
        let qt = qt_isf();
        let mut v = v;
        let m_inf = 1.0 / (1.0 + ex.exp((v - -52.6) / -4.6));
        if v == -38.0 {
            v += 0.0001;
        }
        let m_alpha = (0.182 * (v - -38.0)) / (1.0 - ex.exp(-(v - -38.0) / 6.0));
        let m_beta = (0.124 * (-v - 38.0)) / (1.0 - ex.exp(-(-v - 38.0) / 6.0));
        let m_tau = 6.0 * (1.0 / (m_alpha + m_beta)) / qt;
        if v == -17.0 {
            v += 0.0001;
        }
        if v == -64.4 {
            v += 0.0001;
        }
        let h_inf = 1.0 / (1.0 + ex.exp((v - -48.8) / 10.0));
        let h_alpha = -2.88e-6 * (v + 17.0) / (1.0 - ex.exp((v + 17.0) / 4.63));
        let h_beta = 6.94e-6 * (v + 64.4) / (1.0 - ex.exp(-(v + 64.4) / 2.63));
        let h_tau = (1.0 / (h_alpha + h_beta)) / qt;
        [(m_inf, m_tau), (h_inf, h_tau)]
    }
    #[inline(always)]
    fn conductance(gbar: f64, [m, h]: [f64; 2]) -> f64 {
        gbar * m * m * m * h
    }
}
