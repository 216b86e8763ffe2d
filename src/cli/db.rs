//! `isf db …`: build, list and inspect a results database (the `isf-post` crate; format in
//! `isf-post/README.md`).

use anyhow::Context;
use isf_post::analysis::binning::binned_key_prefix;
use isf_post::analysis::{store_synapse_activation_binned, GroupBy};
use isf_post::db::Database;
use isf_post::import::{self, ImportOptions};
use std::path::PathBuf;

/// Arguments of `isf db`.
#[derive(clap::Args, Debug)]
pub struct DbArgs {
    /// The database subcommand to run.
    #[command(subcommand)]
    pub command: DbCommand,
}

/// The database subcommands.
#[derive(clap::Subcommand, Debug)]
pub enum DbCommand {
    /// List the keys of a database.
    Ls {
        /// Database folder.
        db: PathBuf,
        /// Descend into sub-databases.
        #[arg(short, long)]
        recursive: bool,
    },
    /// Show a key (`a/b/c` for nested keys): metadata and summary, or one trial's data.
    Show {
        /// Database folder.
        db: PathBuf,
        /// Key.
        key: String,
        /// Print the data of this trial (`sim_trial_index` value).
        #[arg(long)]
        trial: Option<String>,
    },
    /// Build a database from isf's SPMD results file (`isf simulate` output).
    Init {
        /// Results file.
        results: PathBuf,
        /// Database folder to create.
        db: PathBuf,
        /// Build a database of the committed trials of an incomplete (killed) run instead of
        /// refusing it; the keys record `incomplete_run`.
        #[arg(long)]
        allow_incomplete: bool,
        /// Overwrite rule and spike thresholds, shared by both builders.
        #[command(flatten)]
        opts: InitOpts,
    },
    /// Build a database from ISF output folders (`*_vm_all_traces.csv`, `simulation_run*_synapses.csv`, …).
    InitIsf {
        /// Result folders (searched recursively), then the database folder to create.
        #[arg(num_args = 2.., value_name = "DIR… DB")]
        paths: Vec<PathBuf>,
        /// Overwrite rule and spike thresholds, shared by both builders.
        #[command(flatten)]
        opts: InitOpts,
    },
    /// Bin synapse activations per trial and group into `synapse_activation_binned/t<bin>/<groupby>/…`.
    Bin {
        /// Database folder.
        db: PathBuf,
        /// Group-by columns, comma separated: celltype, presynaptic_column, EI, proximal, binned_somadist.
        #[arg(long, default_value = "EI", value_delimiter = ',')]
        groupby: Vec<String>,
        /// Bin width \[ms\].
        #[arg(long, default_value_t = 1.0)]
        bin_ms: f64,
        /// End of the last bin \[ms\].
        #[arg(long, default_value_t = 400.0)]
        max_time_ms: f64,
        /// Replace existing binned keys of the same bin width and grouping (each key is
        /// replaced once its new value is complete).
        #[arg(long)]
        overwrite: bool,
    },
}

/// Options shared by the importers.
#[derive(clap::Args, Debug)]
pub struct InitOpts {
    /// Replace an existing database (only after the new one is complete).
    #[arg(long)]
    pub overwrite: bool,
    /// Somatic spike threshold \[mV\].
    #[arg(long, default_value_t = 0.0, allow_hyphen_values = true)]
    pub soma_threshold_mv: f64,
    /// Dendritic spike threshold \[mV\].
    #[arg(long, default_value_t = -30.0, allow_hyphen_values = true)]
    pub dendritic_threshold_mv: f64,
}

impl InitOpts {
    fn options(&self) -> ImportOptions {
        ImportOptions {
            overwrite: self.overwrite,
            soma_threshold_mv: self.soma_threshold_mv,
            dendritic_threshold_mv: self.dendritic_threshold_mv,
            allow_incomplete: false,
        }
    }
}

/// The message for an import that ended with an error: an interrupt says what was kept.
fn import_failed(
    e: isf_post::import::ImportError,
    db: &std::path::Path,
    from: Option<&std::path::Path>,
) -> anyhow::Error {
    if matches!(
        e,
        isf_post::import::ImportError::Db(isf_post::db::DbError::Interrupted)
    ) {
        anyhow::anyhow!(
            "interrupted: the partial database was removed and {} is as it was before; run the \
             same command again to build it",
            db.display()
        )
    } else {
        let from = from.map(|f| format!(" from {}", f.display()));
        anyhow::Error::new(e).context(format!(
            "cannot build {}{}",
            db.display(),
            from.unwrap_or_default()
        ))
    }
}

fn print_summary(db: &std::path::Path, s: &import::ImportSummary) {
    for l in &s.leftovers {
        eprintln!("note: {l}");
    }
    println!(
        "{}: {} trials; keys {}",
        db.display(),
        s.n_trials,
        s.keys.join(", ")
    );
}

/// Runs `isf db …`.
pub fn run(args: DbArgs) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    // SIGINT/SIGTERM end the writing commands at once through isf-io's handler, which removes
    // their registered temporary folders, releases the lock and says what was kept (a blocking
    // read, e.g. of a results file on a stalled file system, never delays that).
    match args.command {
        DbCommand::Ls { db, recursive } => {
            let db = Database::open(&db)?;
            quiet_broken_pipe(isf_post::show::ls(&db, recursive, &mut out))?;
        }
        DbCommand::Show { db, key, trial } => {
            let db = Database::open(&db)?;
            quiet_broken_pipe(isf_post::show::show(&db, &key, trial.as_deref(), &mut out))?;
        }
        DbCommand::Init {
            results,
            db,
            allow_incomplete,
            opts,
        } => {
            let _lock = super::output::lock_creating_parent(&db)?;
            super::output::check(&db, opts.overwrite)?;
            let o = ImportOptions {
                allow_incomplete,
                ..opts.options()
            };
            let s = import::init_results(&results, &db, &o)
                .map_err(|e| import_failed(e, &db, Some(&results)))?;
            print_summary(&db, &s);
        }
        DbCommand::InitIsf { mut paths, opts } => {
            let db = paths
                .pop()
                .context("give at least one result folder and the database folder")?;
            let _lock = super::output::lock_creating_parent(&db)?;
            super::output::check(&db, opts.overwrite)?;
            let s = import::init_isf(&paths, &db, &opts.options())
                .map_err(|e| import_failed(e, &db, None))?;
            print_summary(&db, &s);
        }
        DbCommand::Bin {
            db,
            groupby,
            bin_ms,
            max_time_ms,
            overwrite,
        } => {
            let _lock = super::output::lock_database(&db)?;
            let db = Database::open(&db)?;
            let gb = groupby
                .iter()
                .map(|g| g.parse())
                .collect::<Result<Vec<GroupBy>, _>>()?;
            super::output::check_key(&db, &binned_key_prefix(&gb, bin_ms), overwrite)?;
            match store_synapse_activation_binned(&db, &gb, bin_ms, max_time_ms) {
                Ok(keys) => keys.iter().for_each(|k| println!("{k}")),
                Err(isf_post::db::DbError::Interrupted) => anyhow::bail!(
                    "interrupted: the keys written before the signal are complete, the one being \
                     written was discarded; run the same command again to write all"
                ),
                Err(e) => return Err(e.into()),
            }
        }
    }
    Ok(())
}

/// A closed pipe (`isf db show … | head`) ends the output quietly instead of as an error.
fn quiet_broken_pipe(r: isf_post::db::Result<()>) -> anyhow::Result<()> {
    match r {
        Err(isf_post::db::DbError::Io { source, .. })
            if source.kind() == std::io::ErrorKind::BrokenPipe =>
        {
            Ok(())
        }
        r => Ok(r?),
    }
}
