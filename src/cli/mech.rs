//! `isf mech`: compile NMODL (`.mod`) files into a mechanism catalogue (`build`) and list a
//! catalogue (`list`); and the `--mechanisms` options every command that builds cells takes.

use std::path::PathBuf;
use std::time::Instant;

use clap::{Args, Subcommand};

use crate::mechanisms::catalogue_file::{self, LoadRequest, CONVENTIONAL_NAME};

/// Arguments of `isf mech`.
#[derive(Args, Debug)]
pub struct MechArgs {
    /// What to do.
    #[command(subcommand)]
    pub command: MechCommand,
}

/// The `isf mech` subcommands.
#[derive(Subcommand, Debug)]
pub enum MechCommand {
    /// Compile `.mod` files (a folder: every `.mod` in it, in `nrnivmodl`'s order) into one
    /// catalogue file. All files' errors are reported; nothing is written on failure.
    Build(BuildArgs),
    /// Print the mechanisms of a catalogue: kind, source, parameters with defaults, variables.
    #[command(alias = "show")]
    List(ListArgs),
}

/// Arguments of `isf mech build`.
#[derive(Args, Debug)]
pub struct BuildArgs {
    /// `.mod` files and folders of `.mod` files.
    #[arg(value_name = "DIR_OR_FILE", required = true)]
    pub inputs: Vec<PathBuf>,
    /// The catalogue file to write (default: `isf-mechanisms.cat` in the working directory,
    /// which every command there then loads automatically).
    #[arg(long, value_name = "CATALOGUE", default_value = CONVENTIONAL_NAME)]
    pub out: PathBuf,
    /// Replace an existing catalogue file.
    #[arg(long)]
    pub overwrite: bool,
}

/// Arguments of `isf mech list`.
#[derive(Args, Debug)]
pub struct ListArgs {
    /// The catalogue file.
    #[arg(value_name = "CATALOGUE")]
    pub catalogue: PathBuf,
}

/// The options that load compiled mechanisms, flattened into every command that builds cells.
#[derive(Args, Debug, Clone, Default)]
pub struct MechanismArgs {
    /// Load the compiled mechanisms of this catalogue (built by `isf mech build`; repeatable).
    /// Without it, `isf-mechanisms.cat` in the working directory is loaded if it exists.
    #[arg(long = "mechanisms", value_name = "CATALOGUE")]
    pub mechanisms: Vec<PathBuf>,
    /// Let the compiled mechanism NAME replace isf's built-in of the same name (repeatable;
    /// without it a catalogue defining a built-in's name is refused).
    #[arg(long = "replace-builtin", value_name = "NAME")]
    pub replace_builtin: Vec<String>,
}

impl MechanismArgs {
    /// The catalogues to load: the named ones, else the conventional one if present.
    pub fn request(&self) -> LoadRequest {
        LoadRequest {
            catalogues: self.mechanisms.clone(),
            replace_builtins: self.replace_builtin.clone(),
        }
    }

    /// Loads the catalogues (see [`Self::request`]) into this process's mechanism catalogue.
    pub fn load(&self) -> anyhow::Result<()> {
        load(&self.request().with_default())
    }
}

/// Loads `req` (already resolved), logging what was registered.
pub fn load(req: &LoadRequest) -> anyhow::Result<()> {
    if req.catalogues.is_empty() && req.replace_builtins.is_empty() {
        return Ok(());
    }
    let t0 = Instant::now();
    let loaded = catalogue_file::load(req)?;
    tracing::info!(
        "loaded {} compiled mechanism(s) from {} catalogue(s) in {:.1} ms",
        loaded.mechanisms.len(),
        req.catalogues.len(),
        t0.elapsed().as_secs_f64() * 1e3
    );
    Ok(())
}

/// Runs `isf mech`.
pub fn run(args: MechArgs) -> anyhow::Result<()> {
    match args.command {
        MechCommand::Build(a) => build(&a),
        MechCommand::List(a) => list(&a),
    }
}

fn build(args: &BuildArgs) -> anyhow::Result<()> {
    let _lock = super::output::lock(&args.out)?;
    super::output::check(&args.out, args.overwrite)?;
    let t0 = Instant::now();
    let files = catalogue_file::mod_files(&args.inputs)?;
    let body = catalogue_file::build(&files)?;
    catalogue_file::write(&args.out, &body)?;
    println!(
        "{}: {} mechanism(s) from {} file(s) in {:.2} s",
        args.out.display(),
        body.mechanisms.len(),
        files.len(),
        t0.elapsed().as_secs_f64()
    );
    Ok(())
}

fn list(args: &ListArgs) -> anyhow::Result<()> {
    let body = catalogue_file::read(&args.catalogue)?;
    let mut out = String::new();
    for r in &body.mechanisms {
        let p = &r.program;
        let params = p
            .params
            .iter()
            .map(|(n, d)| format!("{n}={d}"))
            .collect::<Vec<_>>()
            .join(" ");
        out.push_str(&format!(
            "{}\tdensity\t{}\tsha256 {}\n  parameters: {}\n  variables: {}\n",
            r.name,
            r.source,
            r.sha256,
            if params.is_empty() { "-" } else { &params },
            if p.vars.is_empty() {
                "-".to_string()
            } else {
                p.vars.join(" ")
            },
        ));
    }
    print!("{out}");
    Ok(())
}
