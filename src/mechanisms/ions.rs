//! Ions na, k, ca: per-node reversal potentials, concentrations and current accumulators.
//!
//! Reversal potentials are fixed parameters unless a mechanism at the node writes the
//! concentration (only `CaDynamics_E2` writes `cai` here); then NEURON recomputes `eca` from the
//! Nernst equation at the start of every step and at initialisation.

use super::density::{gather, scatter, Index};
use super::exp::{dispatch, poly_ln, Exp, Kernel};
use super::{Numerics, FARADAY, GAS_CONSTANT};

/// NEURON's default sodium reversal potential, mV.
pub const DEFAULT_ENA: f64 = 50.0;
/// NEURON's default potassium reversal potential, mV.
pub const DEFAULT_EK: f64 = -77.0;
/// NEURON's default initial intracellular calcium (`cai0_ca_ion`), mM.
pub const DEFAULT_CAI: f64 = 5e-5;
/// NEURON's default extracellular calcium (`cao0_ca_ion`), mM.
pub const DEFAULT_CAO: f64 = 2.0;

/// NEURON's compiled-in default `eca` (`12.5·ln(cao/cai)` with the default concentrations), mV;
/// used when no mechanism writes `cai`.
pub fn default_eca() -> f64 {
    12.5 * (DEFAULT_CAO / DEFAULT_CAI).ln()
}

/// NEURON's `nrn_nernst`: reversal potential (mV) for valence `z` at `celsius`, with NEURON's guards
/// (`ci ≤ 0` → +1e6 mV, `co ≤ 0` → −1e6 mV).
#[inline]
pub fn nernst(ci: f64, co: f64, z: f64, celsius: f64) -> f64 {
    let ktf = 1000.0 * GAS_CONSTANT * (celsius + 273.15) / FARADAY;
    nernst_guards(ci, co, ktf / z * (co / ci).ln())
}

/// NEURON's guards around the Nernst potential `e` of concentrations `ci`, `co`.
#[inline(always)]
fn nernst_guards(ci: f64, co: f64, e: f64) -> f64 {
    if ci <= 0.0 {
        1e6
    } else if co <= 0.0 {
        -1e6
    } else {
        e
    }
}

/// Per-node ion settings of a cell (part of the template).
#[derive(Debug, Clone)]
pub struct Ions {
    /// Sodium reversal potential per node, mV.
    pub ena_mv: Vec<f64>,
    /// Potassium reversal potential per node, mV.
    pub ek_mv: Vec<f64>,
}

impl Ions {
    /// NEURON defaults at every one of `n_nodes` nodes.
    pub fn defaults(n_nodes: usize) -> Self {
        Ions {
            ena_mv: vec![DEFAULT_ENA; n_nodes],
            ek_mv: vec![DEFAULT_EK; n_nodes],
        }
    }
}

/// Per-node ion variables of a trial (struct of arrays over all nodes).
#[derive(Debug, Clone)]
pub struct IonState {
    /// Sodium reversal potential, mV.
    pub ena: Vec<f64>,
    /// Potassium reversal potential, mV.
    pub ek: Vec<f64>,
    /// Calcium reversal potential, mV.
    pub eca: Vec<f64>,
    /// Intracellular calcium, mM.
    pub cai: Vec<f64>,
    /// Extracellular calcium, mM.
    pub cao: Vec<f64>,
    /// Total sodium current density of the last current evaluation, mA/cm².
    pub ina: Vec<f64>,
    /// Total potassium current density, mA/cm².
    pub ik: Vec<f64>,
    /// Total calcium current density, mA/cm².
    pub ica: Vec<f64>,
    /// The legacy random-number generator of NMODL's `scop_random`/`exprand`/`set_seed`. NEURON
    /// keeps one per process, never reset by `finitialize`; isf keeps one per cell and trial,
    /// starting from NEURON's initial state, so that results do not depend on decomposition.
    pub scop: super::random::ScopLcg,
}

impl IonState {
    /// Initial ion state (NEURON's ion INITIAL): fixed reversal potentials from `ions`, default
    /// concentrations, `eca` from Nernst where `cai` is written (`ca_written` node list).
    pub fn initial(ions: &Ions, ca_written: &[usize], celsius: f64) -> Self {
        let n = ions.ena_mv.len();
        let mut s = IonState {
            ena: ions.ena_mv.clone(),
            ek: ions.ek_mv.clone(),
            eca: vec![default_eca(); n],
            cai: vec![DEFAULT_CAI; n],
            cao: vec![DEFAULT_CAO; n],
            ina: vec![0.0; n],
            ik: vec![0.0; n],
            ica: vec![0.0; n],
            scop: super::random::ScopLcg::new(),
        };
        for &i in ca_written {
            s.eca[i] = nernst(s.cai[i], s.cao[i], 2.0, celsius);
        }
        s
    }

    /// The current accumulators `ina`, `ik`, `ica`, to be zeroed at the start of current
    /// evaluation (together with `IonState::update_eca`).
    pub fn currents_mut(&mut self) -> [&mut [f64]; 3] {
        [&mut self.ina, &mut self.ik, &mut self.ica]
    }

    /// Recomputes `eca` where `cai` is written, at the start of current evaluation (with
    /// [`Numerics::Fast`], through the vectorised `ln` of [`super::exp`], within an ulp of the
    /// C library's). `ca` holds the nodes where `cai` is written (a batched model's as runs).
    #[inline]
    pub(crate) fn update_eca(&mut self, ca: Index, celsius: f64, numerics: Numerics) {
        let ktf_half = 1000.0 * GAS_CONSTANT * (celsius + 273.15) / FARADAY / 2.0;
        // Ratios first, then the `log` calls back to back (the divisions no longer sit between
        // them), then the guards.
        let (mut ratio, mut ci, mut co) = ([0.0; LOG_BLOCK], [0.0; LOG_BLOCK], [0.0; LOG_BLOCK]);
        for lo in (0..ca.len()).step_by(LOG_BLOCK) {
            let n = (ca.len() - lo).min(LOG_BLOCK);
            let block = ca.part(lo, lo + n);
            let (ratio, ci, co) = (&mut ratio[..n], &mut ci[..n], &mut co[..n]);
            // The concentrations gathered first, so that the divisions run as a vector loop.
            gather(co, block, &self.cao);
            gather(ci, block, &self.cai);
            match numerics {
                Numerics::Exact => {
                    for ((r, &o), &c) in ratio.iter_mut().zip(co.iter()).zip(ci.iter()) {
                        *r = o / c;
                    }
                    for r in ratio.iter_mut() {
                        *r = super::libm_log(*r);
                    }
                }
                Numerics::Fast => dispatch(LnOfRatio { co, ci, out: ratio }),
            }
            for ((r, &c), &o) in ratio.iter_mut().zip(ci.iter()).zip(co.iter()) {
                *r = nernst_guards(c, o, ktf_half * *r);
            }
            scatter(ratio, block, &mut self.eca);
        }
    }
}

/// Nodes per pass of the Nernst update.
const LOG_BLOCK: usize = 64;

/// `out ← ln(co/ci)`, as a [`Kernel`] (the divisions and the logarithm vectorised where the
/// CPU allows).
struct LnOfRatio<'a> {
    co: &'a [f64],
    ci: &'a [f64],
    out: &'a mut [f64],
}

impl Kernel for LnOfRatio<'_> {
    type Output = ();
    #[inline(always)]
    fn run<E: Exp>(self) {
        let n = self.out.len();
        let (co, ci) = (&self.co[..n], &self.ci[..n]);
        for j in 0..n {
            self.out[j] = poly_ln(co[j] / ci[j]);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nernst_matches_neuron_9_values() {
        // Values printed by NEURON 9.0.2 (reference README): eca(5e-5, 2, 34 °C), default eca.
        assert_eq!(nernst(5e-5, 2.0, 2.0, 34.0), 140.23660113151266);
        assert_eq!(default_eca(), 132.4579341637009);
        assert_eq!(nernst(0.0, 2.0, 2.0, 34.0), 1e6);
    }
}
