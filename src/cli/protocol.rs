//! `isf protocol CELL.param PROTOCOL.toml --out DIR`: a current-injection protocol (IClamp steps,
//! `epsp` waveforms, no synapses) on one cell; writes `DIR/vm.csv` (`t` and one voltage column per
//! recording site, one row per step including t = 0).

use crate::recipe::Recipe;
use crate::trial::protocol::Protocol;
use anyhow::Context;
use std::path::PathBuf;

/// Arguments of `isf protocol`.
#[derive(clap::Args, Debug)]
pub struct ProtocolArgs {
    /// Cell parameter file (ISF `.param`).
    pub cell_param: PathBuf,
    /// Protocol file (TOML: `tstop`, `dt`, `[[iclamp]]`, `[[epsp]]`, `[[record]]`).
    pub protocol: PathBuf,
    /// Output folder (created if missing); `vm.csv` is written into it atomically.
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// Replace an existing `DIR/vm.csv` (once the new one is complete).
    #[arg(long)]
    pub overwrite: bool,
}

/// Runs the subcommand.
pub fn run(args: &ProtocolArgs) -> anyhow::Result<()> {
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("cannot create {}", args.out.display()))?;
    let path = args.out.join("vm.csv");
    let _lock = super::output::lock(&path)?;
    super::output::check(&path, args.overwrite)?;
    let protocol = Protocol::read(&args.protocol)?;
    let (_, cell) = Recipe::cell_only(&args.cell_param).read_cell()?;
    let traces = protocol.run(&cell, &args.protocol)?;
    crate::output::atomic::write_atomic(&path, traces.to_csv().as_bytes())
        .with_context(|| format!("cannot write {}", path.display()))?;
    println!(
        "{}: {} rows, {} recording site(s)",
        path.display(),
        traces.t_ms.len(),
        traces.names.len()
    );
    Ok(())
}
