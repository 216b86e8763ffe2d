//! `isf map-inputs`: anatomical embedding of one morphology into the barrel-cortex model.

use std::path::PathBuf;

use anyhow::Context as _;
use clap::Args;

use crate::mapper::model::{CellClass, CellClasses};
use crate::mapper::{map_inputs_overwriting, MapOptions};

/// Map a neuron into the barrel-cortex model: synapse locations (`.syn`), connectivity (`.con`),
/// connected-cell counts and ISF's summary, for the representative of N seeded realizations.
#[derive(Args, Debug)]
pub struct MapInputsArgs {
    /// Postsynaptic morphology (`.hoc`).
    pub hoc: PathBuf,
    /// Model root: `nrCells.csv`, `ConnectionsV8.csv`, `PST/`, `singleaxon_boutons_ascii/`.
    #[arg(long)]
    pub model: PathBuf,
    /// Postsynaptic cell type (row of `ConnectionsV8.csv`), e.g. `L5tt`.
    #[arg(long)]
    pub postsynaptic_type: String,
    /// Number of realizations; the one closest to the mean is written.
    #[arg(long, default_value_t = 50)]
    pub realizations: usize,
    /// Random seed (realization r uses stream r of this seed).
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Output folder (created; must not exist, or be empty, unless `--overwrite`).
    #[arg(long)]
    pub out: PathBuf,
    /// Replace an existing output folder (once the new one is complete).
    #[arg(long)]
    pub overwrite: bool,
    /// Tag in the file names (`<cell>_synapses_<tag>.syn`); default `seed<S>`.
    #[arg(long)]
    pub tag: Option<String>,
    /// Extra excitatory presynaptic types (besides ISF's 11), comma-separated.
    #[arg(long, value_delimiter = ',')]
    pub excitatory: Vec<String>,
    /// Extra inhibitory presynaptic types (besides ISF's 11), comma-separated.
    #[arg(long, value_delimiter = ',')]
    pub inhibitory: Vec<String>,
}

/// Runs `isf map-inputs`.
pub fn run(args: MapInputsArgs) -> anyhow::Result<()> {
    let _lock = super::output::lock_creating_parent(&args.out)?;
    let mut classes = CellClasses::default();
    for t in &args.excitatory {
        classes.0.insert(t.clone(), CellClass::Excitatory);
    }
    for t in &args.inhibitory {
        classes.0.insert(t.clone(), CellClass::Inhibitory);
    }
    let opts = MapOptions {
        hoc: args.hoc,
        model: args.model,
        postsynaptic_type: args.postsynaptic_type,
        realizations: args.realizations,
        seed: args.seed,
        out: args.out,
        tag: args.tag.unwrap_or_else(|| format!("seed{}", args.seed)),
        classes,
    };
    let report = map_inputs_overwriting(&opts, args.overwrite).context("map-inputs failed")?;
    for w in &report.warnings {
        eprintln!("warning: {w}");
    }
    println!(
        "representative realization {} of {}: {} synapses",
        report.representative, opts.realizations, report.synapses
    );
    for f in &report.files {
        println!("{}", f.display());
    }
    Ok(())
}
