//! `Ih` (HCN, Kole 2006; `ehcn` is the global `ehcn_Ih`).

use super::{GateChannel, Ion, Kinetics, RateExp};
use crate::mechanisms::catalogue::{Constructor, Entry};

/// Kinetics of `Ih`.
#[derive(Debug)]
pub struct Ih;

/// Catalogue entry.
pub const ENTRY: Entry = Entry {
    name: "Ih",
    params: &[("gIhbar", 1e-5), ("ehcn", -45.0)],
    ctor: Constructor::Density(&GateChannel::<Ih>::build),
    rank: 130,
};

impl Kinetics for Ih {
    const NAME: &'static str = "Ih";
    const VARS: &'static [&'static str] = &["m", "gIh", "ihcn"];
    const N_GATES: usize = 1;
    const N_EXP: usize = 2;
    const N_EXP_MOD: usize = 2;
    const ION: Ion = Ion::NonSpecific;
    #[inline(always)]
    fn rates(v: f64, ex: &mut impl RateExp) -> [(f64, f64); 2] {
        let mut v = v;
        if v == -154.9 {
            v += 0.0001;
        }
        let m_alpha = 0.001 * 6.43 * (v + 154.9) / (ex.exp((v + 154.9) * (1.0 / 11.9)) - 1.0);
        let m_beta = 0.001 * 193.0 * ex.exp(v * (1.0 / 33.1));
        let m_rate = m_alpha + m_beta;
        [(m_alpha / m_rate, m_rate), (0.0, 1.0)]
    }
    #[inline(always)]
    fn mod_rates(v: f64, ex: &mut impl RateExp) -> [(f64, f64); 2] {
        let mut v = v;
        if v == -154.9 {
            v += 0.0001;
        }
        let m_alpha = 0.001 * 6.43 * (v + 154.9) / (ex.exp((v + 154.9) / 11.9) - 1.0);
        let m_beta = 0.001 * 193.0 * ex.exp(v / 33.1);
        let m_inf = m_alpha / (m_alpha + m_beta);
        let m_tau = 1.0 / (m_alpha + m_beta);
        [(m_inf, m_tau), (0.0, 1.0)]
    }
    #[inline(always)]
    fn conductance(gbar: f64, [m, _]: [f64; 2]) -> f64 {
        gbar * m
    }
}
