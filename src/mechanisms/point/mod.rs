//! Point processes: synapses (`glutamate_syn`, `gaba_syn`), electrodes (`IClamp`, `SEClamp`) and the
//! `epsp` current waveform. Currents are in nA and enter the node's row scaled by `100/area`.

pub mod epsp;
pub mod gaba_syn;
pub mod glutamate_syn;
pub mod iclamp;
pub mod seclamp;

use crate::mechanisms::hoc_exp;

/// `1 − exp(dt·(−1/tau))`: the cnexp relaxation fraction of one step.
#[inline]
pub fn relax(dt: f64, tau: f64) -> f64 {
    1.0 - hoc_exp(dt * (-1.0 / tau))
}

/// `100/area` for every instance (NEURON's `1.e2/(_nd_area)`).
pub fn area_scale(area_um2: &[f64]) -> Vec<f64> {
    area_um2.iter().map(|&a| 1.0e2 / a).collect()
}

/// Peak-normalisation factor of a difference of exponentials with rise `tau_rise` and decay
/// `tau_decay` (the synapses' INITIAL `factor`).
pub fn peak_factor(tau_rise: f64, tau_decay: f64) -> f64 {
    let tp = tau_rise * tau_decay / (tau_decay - tau_rise) * (tau_decay / tau_rise).ln();
    1.0 / (-hoc_exp(-tp / tau_rise) + hoc_exp(-tp / tau_decay))
}

/// Splits `vars` into `K` consecutive arrays of length `n`.
#[inline]
pub fn columns<const K: usize>(vars: &mut [f64], n: usize) -> [&mut [f64]; K] {
    let mut rest = vars;
    std::array::from_fn(|_| {
        let (a, b) = std::mem::take(&mut rest).split_at_mut(n);
        rest = b;
        a
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn peak_factors_match_neuron() {
        // Values NEURON printed for ISF's synapse time constants (spec §11.13/§11.14).
        assert_eq!(peak_factor(2.0, 26.0), 1.3415001295600049);
        assert_eq!(peak_factor(0.1, 2.0), 1.2323999091818731);
        assert_eq!(peak_factor(1.0, 20.0), 1.2323999091818731);
    }
}
