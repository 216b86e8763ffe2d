//! The example's network: presynaptic populations, their activity (network param,
//! docs/formats.md#network-parameter-file), and one anatomical realization (`.syn`/`.con`,
//! docs/formats.md#synapse-and-connection-files) placed on the generated morphology.
//!
//! Synapses are placed by density: for every population, every label it targets and every section
//! of that label, the part of the section inside the rule's window of path distance from the soma
//! receives `density × overlap length` synapses (the fractional part decides by a coin toss),
//! at uniformly drawn positions. Each synapse is then given a presynaptic cell drawn uniformly
//! from the population. Population names follow ISF's `<celltype>_<column>` convention so that
//! ISF tools group them as usual; the numbers are this example's own.

use super::morphology::{Morphology, Region};
use crate::network::rng::RandomState;
use serde_json::{json, Map, Value};
use std::fmt::Write as _;

/// Whether a population excites (`glutamate_syn`) or inhibits (`gaba_syn`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Sign {
    /// AMPA + NMDA synapses.
    Excitatory,
    /// GABA-A synapses.
    Inhibitory,
}

/// Where a population places synapses: density per µm of section length within a window of path
/// distance from the soma (for the soma itself the window is ignored and its length is used).
#[derive(Clone, Copy, Debug)]
pub struct Density {
    /// Target region (ISF label).
    pub region: Region,
    /// Synapses per µm.
    pub per_um: f64,
    /// Window of path distance from the soma, soma excluded (µm).
    pub from_um: f64,
    /// End of the window (µm).
    pub to_um: f64,
}

/// A stimulus-locked response: ISF's `pointcell` `PSTH` generator
/// (docs/models.md#activity-generators).
#[derive(Clone, Copy, Debug)]
pub struct Psth {
    /// Stimulus onset (ms).
    pub offset_ms: f64,
    /// Bins relative to the onset (ms).
    pub bins_ms: &'static [(f64, f64)],
    /// Probability that a cell spikes in each bin.
    pub probabilities: &'static [f64],
}

/// One presynaptic population.
#[derive(Clone, Copy, Debug)]
pub struct Population {
    /// `<celltype>_<column>`.
    pub name: &'static str,
    /// Excitatory or inhibitory.
    pub sign: Sign,
    /// Number of presynaptic cells (`cellNr`).
    pub cells: u32,
    /// Mean interval of the ongoing Poisson activity (ms).
    pub ongoing_interval_ms: f64,
    /// Stimulus-evoked response, if any.
    pub evoked: Option<Psth>,
    /// Peak conductance per release (nS; AMPA and NMDA each for excitatory synapses).
    pub weight_ns: f64,
    /// Release probability per presynaptic spike.
    pub release_prob: f64,
    /// Placement rules.
    pub densities: &'static [Density],
}

const fn d(region: Region, per_um: f64, from_um: f64, to_um: f64) -> Density {
    Density {
        region,
        per_um,
        from_um,
        to_um,
    }
}

const ALL: f64 = 1.0e9;
use Region::{Apical, Basal, Soma};

/// Whisker stimulus onset (ms), as in ISF's evoked-activity protocols.
pub const STIMULUS_ONSET_MS: f64 = 245.0;

/// Thalamic (VPM) response to a whisker deflection: a sharp peak 5–10 ms after onset and a tail.
const VPM_BINS_MS: [(f64, f64); 8] = [
    (4.0, 6.0),
    (6.0, 8.0),
    (8.0, 10.0),
    (10.0, 12.0),
    (12.0, 15.0),
    (15.0, 20.0),
    (20.0, 30.0),
    (30.0, 50.0),
];
const VPM_PROBABILITIES: [f64; 8] = [0.15, 0.4, 0.3, 0.15, 0.1, 0.06, 0.05, 0.04];

/// The presynaptic populations, in network-param order (the order matters for ISF's random
/// draws, docs/models.md#random-numbers).
pub const POPULATIONS: [Population; 7] = [
    Population {
        name: "L2_C2",
        sign: Sign::Excitatory,
        cells: 150,
        ongoing_interval_ms: 400.0,
        evoked: None,
        weight_ns: 1.9,
        release_prob: 0.6,
        densities: &[d(Apical, 0.06, 100.0, ALL), d(Basal, 0.02, 0.0, ALL)],
    },
    Population {
        name: "L4ss_C2",
        sign: Sign::Excitatory,
        cells: 120,
        ongoing_interval_ms: 500.0,
        evoked: None,
        weight_ns: 1.9,
        release_prob: 0.6,
        densities: &[d(Basal, 0.03, 0.0, ALL), d(Apical, 0.04, 0.0, 400.0)],
    },
    Population {
        name: "L5tt_C2",
        sign: Sign::Excitatory,
        cells: 150,
        ongoing_interval_ms: 250.0,
        evoked: None,
        weight_ns: 2.2,
        release_prob: 0.6,
        densities: &[d(Basal, 0.06, 0.0, ALL), d(Apical, 0.02, 0.0, 600.0)],
    },
    Population {
        name: "L6cc_C2",
        sign: Sign::Excitatory,
        cells: 100,
        ongoing_interval_ms: 300.0,
        evoked: None,
        weight_ns: 1.9,
        release_prob: 0.6,
        densities: &[d(Basal, 0.04, 0.0, ALL), d(Apical, 0.01, 0.0, 300.0)],
    },
    Population {
        name: "VPM_C2",
        sign: Sign::Excitatory,
        cells: 60,
        ongoing_interval_ms: 1000.0,
        evoked: Some(Psth {
            offset_ms: STIMULUS_ONSET_MS,
            bins_ms: &VPM_BINS_MS,
            probabilities: &VPM_PROBABILITIES,
        }),
        weight_ns: 1.6,
        release_prob: 0.6,
        densities: &[d(Basal, 0.05, 0.0, ALL), d(Apical, 0.04, 0.0, 300.0)],
    },
    Population {
        name: "L1_C2",
        sign: Sign::Inhibitory,
        cells: 30,
        ongoing_interval_ms: 150.0,
        evoked: None,
        weight_ns: 1.0,
        release_prob: 0.4,
        densities: &[d(Apical, 0.04, 600.0, ALL)],
    },
    Population {
        name: "L45Peak_C2",
        sign: Sign::Inhibitory,
        cells: 40,
        ongoing_interval_ms: 100.0,
        evoked: None,
        weight_ns: 1.0,
        release_prob: 0.4,
        densities: &[
            d(Soma, 0.5, 0.0, ALL),
            d(Basal, 0.02, 0.0, ALL),
            d(Apical, 0.01, 0.0, 400.0),
        ],
    },
];

/// One placed synapse.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct PlacedSynapse {
    /// Index into [`POPULATIONS`].
    pub population: usize,
    /// Section ID.
    pub section: usize,
    /// Relative position on the section, in [0, 1].
    pub x: f64,
    /// Presynaptic cell index within the population.
    pub cell: u32,
}

/// Places all synapses: populations in order, sections in ID order, positions ascending within a
/// section. The order is the synapse-ID order of each population.
pub fn place_synapses(morph: &Morphology, rng: &mut RandomState) -> Vec<PlacedSynapse> {
    let start = morph.start_distance_um();
    let lengths: Vec<f64> = morph.sections.iter().map(|s| s.length_um()).collect();
    let mut placed = Vec::new();
    for (pi, pop) in POPULATIONS.iter().enumerate() {
        for (si, sec) in morph.sections.iter().enumerate() {
            let len = lengths[si];
            let mut xs = Vec::new();
            for rule in pop.densities.iter().filter(|r| r.region == sec.region) {
                let (lo, hi) = if sec.region == Region::Soma {
                    (0.0, len)
                } else {
                    let a = start[si];
                    (a.max(rule.from_um) - a, (a + len).min(rule.to_um) - a)
                };
                if hi <= lo {
                    continue;
                }
                let expected = rule.per_um * (hi - lo);
                let mut n = expected.floor() as usize;
                if rng.random_sample() < expected - n as f64 {
                    n += 1;
                }
                for _ in 0..n {
                    xs.push((rng.uniform(lo, hi) / len).clamp(0.0, 1.0));
                }
            }
            xs.sort_by(f64::total_cmp);
            placed.extend(xs.into_iter().map(|x| PlacedSynapse {
                population: pi,
                section: si,
                x,
                cell: 0,
            }));
        }
    }
    for s in &mut placed {
        s.cell = rng.random_interval(u64::from(POPULATIONS[s.population].cells) - 1) as u32;
    }
    placed
}

/// The `.syn` file text (tab-separated `population section x`).
pub fn syn_text(cell_name: &str, synapses: &[PlacedSynapse]) -> String {
    let mut out = format!(
        "# Synapse distribution file\n# corresponding to cell: {cell_name}\n# Type - section - section.x\n\n"
    );
    for s in synapses {
        let _ = writeln!(
            out,
            "{}\t{}\t{:.6}",
            POPULATIONS[s.population].name, s.section, s.x
        );
    }
    out
}

/// The `.con` file text (tab-separated `population cell synapseID`, synapse IDs counted per
/// population in `.syn` order).
pub fn con_text(syn_file_name: &str, synapses: &[PlacedSynapse]) -> String {
    let mut out = format!(
        "# Anatomical connectivity realization file; only valid with synapse realization:\n# {syn_file_name}\n# Type - cell ID - synapse ID\n\n"
    );
    let mut next_id = [0usize; POPULATIONS.len()];
    for s in synapses {
        let id = next_id[s.population];
        next_id[s.population] += 1;
        let _ = writeln!(
            out,
            "{}\t{}\t{}",
            POPULATIONS[s.population].name, s.cell, id
        );
    }
    out
}

/// The network param, with file references relative to the param's folder.
pub fn network_param(syn_file: &str, con_file: &str) -> Value {
    let mut network = Map::new();
    for pop in &POPULATIONS {
        let mut celltype = Map::new();
        if let Some(psth) = pop.evoked {
            celltype.insert(
                "pointcell".into(),
                json!({
                    "distribution": "PSTH",
                    "intervals": psth.bins_ms.iter().map(|&(a, b)| json!([a, b])).collect::<Vec<_>>(),
                    "probabilities": psth.probabilities,
                    "offset": psth.offset_ms,
                }),
            );
        }
        celltype.insert(
            "spiketrain".into(),
            json!({ "interval": pop.ongoing_interval_ms }),
        );
        let receptors = match pop.sign {
            Sign::Excitatory => json!({
                "glutamate_syn": {
                    "threshold": 0.0,
                    "delay": 0.0,
                    // NMDA decay/rise, AMPA decay/rise (ms); no depression or facilitation.
                    "parameter": {
                        "tau1": 26.0,
                        "tau2": 2.0,
                        "tau3": 2.0,
                        "tau4": 0.1,
                        "decayampa": 1.0,
                        "decaynmda": 1.0,
                        "facilampa": 0.0,
                        "facilnmda": 0.0,
                    },
                    "weight": [pop.weight_ns, pop.weight_ns],
                },
            }),
            Sign::Inhibitory => json!({
                "gaba_syn": {
                    "threshold": 0.0,
                    "delay": 0.0,
                    "parameter": {
                        "risetime": 1.0,
                        "decaytime": 20.0,
                        "decaygaba": 1.0,
                        "facilgaba": 0.0,
                        "e": -80.0,
                    },
                    "weight": pop.weight_ns,
                },
            }),
        };
        network.insert(
            pop.name.into(),
            json!({
                "cellNr": pop.cells,
                "celltype": Value::Object(celltype),
                "synapses": {
                    "distributionFile": syn_file,
                    "connectionFile": con_file,
                    "releaseProb": pop.release_prob,
                    "receptors": receptors,
                },
            }),
        );
    }
    json!({
        "info": {
            "name": "isf_example_network",
            "author": "isf example generator",
            "description": "Ongoing cortical activity plus a whisker-evoked thalamic volley at 245 ms",
        },
        "NMODL_mechanisms": { "synapses": "/", "VecStim": "/" },
        "network": Value::Object(network),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn placed() -> (Morphology, Vec<PlacedSynapse>) {
        let m = Morphology::generate(&mut RandomState::new(1));
        let s = place_synapses(&m, &mut RandomState::new(2));
        (m, s)
    }

    #[test]
    fn psth_tables_match() {
        for p in &POPULATIONS {
            if let Some(psth) = p.evoked {
                assert_eq!(psth.bins_ms.len(), psth.probabilities.len());
                assert!(psth.bins_ms.iter().all(|(a, b)| a < b));
            }
        }
    }

    #[test]
    fn synapses_respect_labels_windows_and_cell_counts() {
        let (m, syns) = placed();
        let start = m.start_distance_um();
        for s in &syns {
            let pop = &POPULATIONS[s.population];
            let sec = &m.sections[s.section];
            assert!((0.0..=1.0).contains(&s.x));
            assert!(s.cell < pop.cells);
            let d = start[s.section] + s.x * sec.length_um();
            assert!(
                pop.densities.iter().any(|r| r.region == sec.region
                    && (sec.region == Region::Soma || (r.from_um <= d && d <= r.to_um))),
                "{} synapse at {d} µm on {}",
                pop.name,
                sec.name
            );
        }
    }

    #[test]
    fn counts_follow_densities() {
        // Expected count of each population = Σ over rules of density × length inside the window;
        // stochastic rounding keeps the total within a few synapses of it (± one per section).
        let (m, syns) = placed();
        let start = m.start_distance_um();
        for (pi, pop) in POPULATIONS.iter().enumerate() {
            let mut expected = 0.0;
            let mut pieces = 0.0_f64;
            for (si, sec) in m.sections.iter().enumerate() {
                let len = sec.length_um();
                for r in pop.densities.iter().filter(|r| r.region == sec.region) {
                    let overlap = if sec.region == Region::Soma {
                        len
                    } else {
                        ((start[si] + len).min(r.to_um) - start[si].max(r.from_um)).max(0.0)
                    };
                    if overlap > 0.0 {
                        expected += r.per_um * overlap;
                        pieces += 1.0;
                    }
                }
            }
            let got = syns.iter().filter(|s| s.population == pi).count() as f64;
            assert!(got > 0.0, "{}", pop.name);
            assert!(
                (got - expected).abs() <= pieces.sqrt() * 2.5 + 1.0,
                "{}: {got} vs {expected}",
                pop.name
            );
        }
    }

    #[test]
    fn syn_and_con_files_agree() {
        let (_, syns) = placed();
        let syn = syn_text("cell", &syns);
        let con = con_text("cell.syn", &syns);
        let data = |t: &str| {
            t.lines()
                .filter(|l| !l.is_empty() && !l.starts_with('#'))
                .map(|l| l.split('\t').map(str::to_string).collect::<Vec<_>>())
                .collect::<Vec<_>>()
        };
        let (syn_rows, con_rows) = (data(&syn), data(&con));
        assert_eq!(syn_rows.len(), syns.len());
        assert_eq!(con_rows.len(), syns.len());
        // Synapse IDs count 0, 1, 2, … per population, in .syn order.
        let mut seen = std::collections::HashMap::<String, usize>::new();
        for (s, c) in syn_rows.iter().zip(&con_rows) {
            assert_eq!(s.len(), 3);
            assert_eq!(c.len(), 3);
            assert_eq!(s[0], c[0]);
            let n = seen.entry(s[0].clone()).or_default();
            assert_eq!(c[2].parse::<usize>().unwrap(), *n);
            *n += 1;
        }
        assert_eq!(con.lines().nth(1), Some("# cell.syn"));
    }
}
