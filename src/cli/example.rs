//! `isf example DIR`: writes the embedded example model (cell, network, morphology, synapses).

use crate::example_model::{ExampleModel, DEFAULT_SEED};
use std::path::PathBuf;

/// Arguments of `isf example`.
#[derive(clap::Args, Debug)]
pub struct ExampleArgs {
    /// Folder to create; it receives cell.param, network.param and every file they reference.
    pub dir: PathBuf,
    /// Replace DIR if it exists and is not empty (once the new model is complete).
    #[arg(long, visible_alias = "force")]
    pub overwrite: bool,
    /// Seed of the generated morphology and synapse placement (same seed, same files).
    #[arg(long, default_value_t = DEFAULT_SEED)]
    pub seed: u32,
}

/// Generates the model and writes it atomically.
pub fn run(args: ExampleArgs) -> anyhow::Result<()> {
    let _lock = super::output::lock_creating_parent(&args.dir)?;
    let model = ExampleModel::generate(args.seed);
    model.write(&args.dir, args.overwrite)?;
    println!(
        "wrote the example model to {}: {}",
        args.dir.display(),
        model.summary
    );
    Ok(())
}
