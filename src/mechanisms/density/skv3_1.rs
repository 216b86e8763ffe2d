//! `SKv3_1` (Kv3.1).

use super::{GateChannel, Ion, Kinetics, RateExp};
use crate::mechanisms::catalogue::{Constructor, Entry};

/// Kinetics of `SKv3_1`.
#[derive(Debug)]
pub struct Skv31;

/// Catalogue entry.
pub const ENTRY: Entry = Entry {
    name: "SKv3_1",
    params: &[("gSKv3_1bar", 1e-5)],
    ctor: Constructor::Density(&GateChannel::<Skv31>::build),
    rank: 200,
};

impl Kinetics for Skv31 {
    const NAME: &'static str = "SKv3_1";
    const VARS: &'static [&'static str] = &["m", "gSKv3_1", "ik"];
    const N_GATES: usize = 1;
    const N_EXP: usize = 2;
    const N_EXP_MOD: usize = 2;
    const ION: Ion = Ion::K;
    #[inline(always)]
    fn rates(v: f64, ex: &mut impl RateExp) -> [(f64, f64); 2] {
        let m_inf = 1.0 / (1.0 + ex.exp((v - 18.700) * (-1.0 / 9.700)));
        // τ = 0.2·20/(1 + e).
        let m_rate = (1.0 + ex.exp((v - -46.560) * (-1.0 / 44.140))) * 0.25;
        [(m_inf, m_rate), (0.0, 1.0)]
    }
    #[inline(always)]
    fn mod_rates(v: f64, ex: &mut impl RateExp) -> [(f64, f64); 2] {
        let m_inf = 1.0 / (1.0 + ex.exp((v - 18.700) / -9.700));
        let m_tau = 0.2 * 20.000 / (1.0 + ex.exp((v - -46.560) / -44.140));
        [(m_inf, m_tau), (0.0, 1.0)]
    }
    #[inline(always)]
    fn conductance(gbar: f64, [m, _]: [f64; 2]) -> f64 {
        gbar * m
    }
}
