//! `Ca_LVAst` (low-voltage-activated Ca, Avery & Johnston 1996, shifted −10 mV).

use super::{GateChannel, Ion, Kinetics, RateExp};
use crate::mechanisms::catalogue::{Constructor, Entry};
use crate::mechanisms::qt_isf;

/// Kinetics of `Ca_LVAst`.
#[derive(Debug)]
pub struct CaLvast;

/// Catalogue entry.
pub const ENTRY: Entry = Entry {
    name: "Ca_LVAst",
    params: &[("gCa_LVAstbar", 1e-5)],
    ctor: Constructor::Density(&GateChannel::<CaLvast>::build),
    rank: 120,
};

impl Kinetics for CaLvast {
    const NAME: &'static str = "Ca_LVAst";
    const VARS: &'static [&'static str] = &["m", "h", "gCa_LVAst", "ica"];
    const N_GATES: usize = 2;
    const N_EXP: usize = 4;
    const N_EXP_MOD: usize = 4;
    const ION: Ion = Ion::Ca;
    #[inline(always)]
    fn rates(v: f64, ex: &mut impl RateExp) -> [(f64, f64); 2] {
        let qt = qt_isf();
        let v = v + 10.0;
        let m_inf = 1.0 / (1.0 + ex.exp((v - -30.000) * (-1.0 / 6.0)));
        // τ = 5 + 20/(1 + e) = (25 + 5e)/(1 + e).
        let e = ex.exp((v - -25.000) * 0.2);
        let m_rate = qt * ((1.0 + e) / (25.0 + 5.0 * e));
        let h_inf = 1.0 / (1.0 + ex.exp((v - -80.000) * (1.0 / 6.4)));
        // τ = 20 + 50/(1 + e) = (70 + 20e)/(1 + e).
        let e = ex.exp((v - -40.000) * (1.0 / 7.0));
        let h_rate = qt * ((1.0 + e) / (70.0 + 20.0 * e));
        [(m_inf, m_rate), (h_inf, h_rate)]
    }
    #[inline(always)]
    fn mod_rates(v: f64, ex: &mut impl RateExp) -> [(f64, f64); 2] {
        let qt = qt_isf();
        let v = v + 10.0;
        let m_inf = 1.0000 / (1.0 + ex.exp((v - -30.000) / -6.0));
        let m_tau = (5.0000 + 20.0000 / (1.0 + ex.exp((v - -25.000) / 5.0))) / qt;
        let h_inf = 1.0000 / (1.0 + ex.exp((v - -80.000) / 6.4));
        let h_tau = (20.0000 + 50.0000 / (1.0 + ex.exp((v - -40.000) / 7.0))) / qt;
        [(m_inf, m_tau), (h_inf, h_tau)]
    }
    #[inline(always)]
    fn conductance(gbar: f64, [m, h]: [f64; 2]) -> f64 {
        gbar * m * m * h
    }
}
