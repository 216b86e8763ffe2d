//! `Ca_HVA` (high-voltage-activated Ca, Reuveni 1993).

use super::{GateChannel, Ion, Kinetics, RateExp};
use crate::mechanisms::catalogue::{Constructor, Entry};

/// Kinetics of `Ca_HVA`.
#[derive(Debug)]
pub struct CaHva;

/// Catalogue entry.
pub const ENTRY: Entry = Entry {
    name: "Ca_HVA",
    params: &[("gCa_HVAbar", 1e-5)],
    ctor: Constructor::Density(&GateChannel::<CaHva>::build),
    rank: 110,
};

impl Kinetics for CaHva {
    const NAME: &'static str = "Ca_HVA";
    const VARS: &'static [&'static str] = &["m", "h", "gCa_HVA", "ica"];
    const N_GATES: usize = 2;
    const N_EXP: usize = 4;
    const N_EXP_MOD: usize = 4;
    const ION: Ion = Ion::Ca;
    #[inline(always)]
    fn rates(v: f64, ex: &mut impl RateExp) -> [(f64, f64); 2] {
        let mut v = v;
        if v == -27.0 {
            v += 0.0001;
        }
        let m_alpha = (0.055 * (-27.0 - v)) / (ex.exp((-27.0 - v) * (1.0 / 3.8)) - 1.0);
        let m_beta = 0.94 * ex.exp((-75.0 - v) * (1.0 / 17.0));
        let m_rate = m_alpha + m_beta;
        let h_alpha = 0.000457 * ex.exp((-13.0 - v) * (1.0 / 50.0));
        let h_beta = 0.0065 / (ex.exp((-v - 15.0) * (1.0 / 28.0)) + 1.0);
        let h_rate = h_alpha + h_beta;
        [(m_alpha / m_rate, m_rate), (h_alpha / h_rate, h_rate)]
    }
    #[inline(always)]
    fn mod_rates(v: f64, ex: &mut impl RateExp) -> [(f64, f64); 2] {
        let mut v = v;
        if v == -27.0 {
            v += 0.0001;
        }
        let m_alpha = (0.055 * (-27.0 - v)) / (ex.exp((-27.0 - v) / 3.8) - 1.0);
        let m_beta = 0.94 * ex.exp((-75.0 - v) / 17.0);
        let m_inf = m_alpha / (m_alpha + m_beta);
        let m_tau = 1.0 / (m_alpha + m_beta);
        let h_alpha = 0.000457 * ex.exp((-13.0 - v) / 50.0);
        let h_beta = 0.0065 / (ex.exp((-v - 15.0) / 28.0) + 1.0);
        let h_inf = h_alpha / (h_alpha + h_beta);
        let h_tau = 1.0 / (h_alpha + h_beta);
        [(m_inf, m_tau), (h_inf, h_tau)]
    }
    #[inline(always)]
    fn conductance(gbar: f64, [m, h]: [f64; 2]) -> f64 {
        gbar * m * m * h
    }
}
