//! `Im` (M-current, Adams 1982).

use super::{GateChannel, Ion, Kinetics, RateExp};
use crate::mechanisms::catalogue::{Constructor, Entry};
use crate::mechanisms::qt_isf;

/// Kinetics of `Im`.
#[derive(Debug)]
pub struct Im;

/// Catalogue entry.
pub const ENTRY: Entry = Entry {
    name: "Im",
    params: &[("gImbar", 1e-5)],
    ctor: Constructor::Density(&GateChannel::<Im>::build),
    rank: 140,
};

impl Kinetics for Im {
    const NAME: &'static str = "Im";
    const VARS: &'static [&'static str] = &["m", "gIm", "ik"];
    const N_GATES: usize = 1;
    const N_EXP: usize = 1;
    const N_EXP_MOD: usize = 2;
    const ION: Ion = Ion::K;
    #[inline(always)]
    fn rates(v: f64, ex: &mut impl RateExp) -> [(f64, f64); 2] {
        let qt = qt_isf();
        // α = 3.3e-3·a, β = 3.3e-3·b.
        let a = ex.exp(2.5 * 0.04 * (v - -35.0));
        let b = 1.0 / a;
        [(a / (a + b), qt * (3.3e-3 * (a + b))), (0.0, 1.0)]
    }
    #[inline(always)]
    fn mod_rates(v: f64, ex: &mut impl RateExp) -> [(f64, f64); 2] {
        let qt = qt_isf();
        let m_alpha = 3.3e-3 * ex.exp(2.5 * 0.04 * (v - -35.0));
        let m_beta = 3.3e-3 * ex.exp(-2.5 * 0.04 * (v - -35.0));
        let m_inf = m_alpha / (m_alpha + m_beta);
        let m_tau = (1.0 / (m_alpha + m_beta)) / qt;
        [(m_inf, m_tau), (0.0, 1.0)]
    }
    #[inline(always)]
    fn conductance(gbar: f64, [m, _]: [f64; 2]) -> f64 {
        gbar * m
    }
}
