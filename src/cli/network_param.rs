//! `isf network-param`: a `network.param` from activity templates and the connected-cell counts
//! of an anatomical embedding.

use std::path::PathBuf;

use anyhow::bail;
use clap::Args;
use indexmap::IndexMap;

use crate::mapper::network_param::{
    evoked_network, evoked_response_whisker, ongoing_network, read_cell_numbers,
    read_model_run1_templates, NetworkFiles,
};
use crate::param::{to_json_pretty, ParamFile};

/// Build a network parameter file (ongoing activity, optionally with whisker-evoked PSTHs).
#[derive(Args, Debug)]
pub struct NetworkParamArgs {
    /// Ongoing-activity template (one entry per cell type under `network`).
    #[arg(long)]
    pub template: PathBuf,
    /// `NumberOfConnectedCells.csv` of the embedding.
    #[arg(long)]
    pub cell_numbers: PathBuf,
    /// Synapse file path to store (verbatim).
    #[arg(long)]
    pub syn: String,
    /// Connectivity file path to store (verbatim).
    #[arg(long)]
    pub con: String,
    /// Deflected whisker (e.g. C2): adds evoked PSTHs in its 3×3 neighbourhood.
    #[arg(long)]
    pub whisker: Option<String>,
    /// Folder with ISF's "model run1" evoked templates (`evoked_activity/`).
    #[arg(long)]
    pub evoked_dir: Option<PathBuf>,
    /// Evoked template of one type, `TYPE=PATH` (overrides --evoked-dir for that type).
    #[arg(long, value_parser = parse_type_path)]
    pub evoked: Vec<(String, PathBuf)>,
    /// Also write populations with 0 connected cells.
    #[arg(long)]
    pub write_all_celltypes: bool,
    /// Output `.param` file (written atomically).
    #[arg(long)]
    pub out: PathBuf,
    /// Replace an existing `--out` file (once the new one is complete).
    #[arg(long)]
    pub overwrite: bool,
}

fn parse_type_path(s: &str) -> Result<(String, PathBuf), String> {
    let (t, p) = s
        .split_once('=')
        .ok_or_else(|| format!("expected TYPE=PATH, got `{s}`"))?;
    Ok((t.to_string(), PathBuf::from(p)))
}

/// Runs `isf network-param`.
pub fn run(args: NetworkParamArgs) -> anyhow::Result<()> {
    let _lock = super::output::lock(&args.out)?;
    super::output::check(&args.out, args.overwrite)?;
    let template = ParamFile::read(&args.template).map_err(|e| anyhow::anyhow!("{e}"))?;
    let numbers = read_cell_numbers(&args.cell_numbers)?;
    let files = NetworkFiles {
        syn: args.syn.clone(),
        con: args.con.clone(),
    };
    let root = match &args.whisker {
        None => {
            if args.evoked_dir.is_some() || !args.evoked.is_empty() {
                bail!("evoked templates given without --whisker");
            }
            ongoing_network(&template, &numbers, &files, args.write_all_celltypes)?
        }
        Some(w) => {
            evoked_response_whisker(w, "")?;
            // Without templates every population would stay ongoing-only: a network that looks
            // evoked by its name but is not.
            if args.evoked_dir.is_none() && args.evoked.is_empty() {
                bail!(
                    "--whisker {w} needs the evoked-activity templates: give --evoked-dir \
                     (ISF's `evoked_activity/` folder) or --evoked TYPE=PATH; without --whisker \
                     the network has ongoing activity only"
                );
            }
            let types: Vec<String> = template
                .root
                .get("network")
                .and_then(|n| n.as_dict())
                .map(|d| d.keys().cloned().collect())
                .unwrap_or_default();
            let mut evoked = IndexMap::new();
            if let Some(dir) = &args.evoked_dir {
                let (found, missing) = read_model_run1_templates(dir, types.iter())?;
                if found.is_empty() && args.evoked.is_empty() {
                    bail!(
                        "--evoked-dir {}: no evoked template for any cell type of {} (is it \
                         ISF's `evoked_activity/` folder?)",
                        dir.display(),
                        args.template.display()
                    );
                }
                for t in missing {
                    eprintln!(
                        "warning: no evoked template for `{t}` in {}: ongoing activity only",
                        dir.display()
                    );
                }
                evoked = found;
            }
            for (t, p) in &args.evoked {
                let f = ParamFile::read(p).map_err(|e| anyhow::anyhow!("{e}"))?;
                evoked.insert(t.clone(), f);
            }
            evoked_network(
                &template,
                &evoked,
                &numbers,
                &files,
                w,
                args.write_all_celltypes,
            )?
        }
    };
    let text = to_json_pretty(&root);
    isf_io::write_file(&args.out, text.as_bytes())?;
    println!("{}", args.out.display());
    Ok(())
}
