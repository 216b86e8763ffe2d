//! `NaTa_t` (transient Na, Colbert & Pan 2002).

use super::{GateChannel, Ion, Kinetics, RateExp};
use crate::mechanisms::catalogue::{Constructor, Entry};
use crate::mechanisms::qt_isf;

/// `exp(28/6)` and `exp(0.0001/6)` (h's exponential from m's).
const H_FROM_M: f64 = 106.342_675_398_165_54;
const H_STEP: f64 = 1.000_016_666_805_556_3;

/// Kinetics of `NaTa_t`.
#[derive(Debug)]
pub struct NaTaT;

/// Catalogue entry.
pub const ENTRY: Entry = Entry {
    name: "NaTa_t",
    params: &[("gNaTa_tbar", 1e-5)],
    ctor: Constructor::Density(&GateChannel::<NaTaT>::build),
    rank: 170,
};

impl Kinetics for NaTaT {
    const NAME: &'static str = "NaTa_t";
    const VARS: &'static [&'static str] = &["m", "h", "gNaTa_t", "ina"];
    const N_GATES: usize = 2;
    const N_EXP: usize = 1;
    const N_EXP_MOD: usize = 4;
    const ION: Ion = Ion::Na;
    #[inline(always)]
    fn rates(v: f64, ex: &mut impl RateExp) -> [(f64, f64); 2] {
        let qt = qt_isf();
        let mut v = v;
        if v == -38.0 {
            v += 0.0001;
        }
        // α = 0.182·x/(1 − e), β = 0.124·x·e/(1 − e), x = v + 38, e = exp(−x/6).
        let x = v - -38.0;
        let e = ex.exp(x * (-1.0 / 6.0));
        let s = 0.182 + 0.124 * e;
        let m = (0.182 / s, qt * x * (s / (1.0 - e)));
        // α = 0.015·y/(e − 1), β = 0.015·y·e/(e − 1), y = v + 66, e = exp(y/6): with y = x + 28,
        // e = exp(28/6)/exp(−x/6), times exp(0.0001/6) where the mod file steps v off −66.
        let step = v == -66.0;
        if step {
            v += 0.0001;
        }
        let y = v - -66.0;
        let e = (H_FROM_M / e) * if step { H_STEP } else { 1.0 };
        let h = (1.0 / (1.0 + e), qt * 0.015 * y * ((1.0 + e) / (e - 1.0)));
        [m, h]
    }
    #[inline(always)]
    fn mod_rates(v: f64, ex: &mut impl RateExp) -> [(f64, f64); 2] {
        let qt = qt_isf();
        let mut v = v;
        if v == -38.0 {
            v += 0.0001;
        }
        let m_alpha = (0.182 * (v - -38.0)) / (1.0 - ex.exp(-(v - -38.0) / 6.0));
        let m_beta = (0.124 * (-v - 38.0)) / (1.0 - ex.exp(-(-v - 38.0) / 6.0));
        let m_tau = (1.0 / (m_alpha + m_beta)) / qt;
        let m_inf = m_alpha / (m_alpha + m_beta);
        if v == -66.0 {
            v += 0.0001;
        }
        let h_alpha = (-0.015 * (v - -66.0)) / (1.0 - ex.exp((v - -66.0) / 6.0));
        let h_beta = (-0.015 * (-v - 66.0)) / (1.0 - ex.exp((-v - 66.0) / 6.0));
        let h_tau = (1.0 / (h_alpha + h_beta)) / qt;
        let h_inf = h_alpha / (h_alpha + h_beta);
        [(m_inf, m_tau), (h_inf, h_tau)]
    }
    #[inline(always)]
    fn conductance(gbar: f64, [m, h]: [f64; 2]) -> f64 {
        gbar * m * m * m * h
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn constants_are_the_exponentials() {
        assert_eq!(super::H_FROM_M, (28.0f64 / 6.0).exp());
        assert_eq!(super::H_STEP, (0.0001f64 / 6.0).exp());
    }
}
