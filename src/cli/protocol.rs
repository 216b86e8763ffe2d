//! `isf protocol [CELL.param] PROTOCOL.toml --out DIR`: a protocol (IClamp steps, `epsp`
//! waveforms, SEClamp level schedules, point processes with NetCon events; no synapse maps) on
//! one cell, from a `.param` file or defined in the protocol (`[cell]`, a single compartment);
//! writes `DIR/vm.csv` (`t` and one column per recording, one row per step including t = 0).

use crate::recipe::Recipe;
use crate::trial::protocol::Protocol;
use anyhow::Context;
use std::path::PathBuf;

/// Arguments of `isf protocol`.
#[derive(clap::Args, Debug)]
pub struct ProtocolArgs {
    /// `[CELL.param] PROTOCOL.toml`: the cell parameter file (ISF `.param`; omitted when the
    /// protocol defines its own `[cell]`), then the protocol file (TOML: `tstop`, `dt`,
    /// `celsius`, `seed`, `[cell]`, `[globals]`, `[[iclamp]]`, `[[epsp]]`, `[[vclamp]]`,
    /// `[[point]]`, `record`; see docs/formats.md).
    #[arg(value_name = "[CELL.param] PROTOCOL.toml", num_args = 1..=2, required = true)]
    pub files: Vec<PathBuf>,
    /// Output folder (created if missing); `vm.csv` is written into it atomically.
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// Replace an existing `DIR/vm.csv` (once the new one is complete).
    #[arg(long)]
    pub overwrite: bool,
    /// Compiled mechanisms to load.
    #[command(flatten)]
    pub mechanisms: super::mech::MechanismArgs,
}

/// Runs the subcommand.
pub fn run(args: &ProtocolArgs) -> anyhow::Result<()> {
    args.mechanisms.load()?;
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("cannot create {}", args.out.display()))?;
    let path = args.out.join("vm.csv");
    let _lock = super::output::lock(&path)?;
    super::output::check(&path, args.overwrite)?;
    let (cell_param, protocol_path) = match &args.files[..] {
        [p] => (None, p),
        [c, p] => (Some(c), p),
        _ => anyhow::bail!("give [CELL.param] PROTOCOL.toml"),
    };
    let protocol = Protocol::read(protocol_path)?;
    let traces = match cell_param {
        Some(c) => {
            let (_, cell) = Recipe::cell_only(c).read_cell()?;
            protocol.run(&cell, protocol_path)?
        }
        None if protocol.has_inline_cell() => protocol.run_inline(protocol_path)?,
        None => anyhow::bail!(
            "{}: the protocol has no [cell]; give a cell parameter file first              (isf protocol CELL.param PROTOCOL.toml --out DIR)",
            protocol_path.display()
        ),
    };
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
