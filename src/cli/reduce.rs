//! `isf reduce …`: fit ISF's reduced LDA model from a database and apply it to trials.

use anyhow::Context;
use isf_post::db::{self, Column, Database, KeyMeta, SpikeTimes, Table, TrialIndex};
use isf_post::lda::{self, LdaConfig, ReducedLdaModel};
use std::path::PathBuf;

/// Arguments of `isf reduce`.
#[derive(clap::Args, Debug)]
pub struct ReduceArgs {
    /// The reduced-model subcommand to run.
    #[command(subcommand)]
    pub command: ReduceCommand,
}

/// The reduced-model subcommands.
#[derive(clap::Subcommand, Debug)]
pub enum ReduceCommand {
    /// Fit a reduced LDA model and store it under `--out`.
    Fit(FitArgs),
    /// Predict spike probabilities of the trials of a database with a stored model.
    Predict(PredictArgs),
}

/// Arguments of `isf reduce fit`.
#[derive(clap::Args, Debug)]
pub struct FitArgs {
    /// Database folder.
    pub db: PathBuf,
    /// Key to store the model under.
    #[arg(long)]
    pub out: String,
    /// Binned input keys, comma separated (default: the EXC and INH keys of `isf db bin --groupby EI`).
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "synapse_activation_binned/t1/EI/EXC,synapse_activation_binned/t1/EI/INH"
    )]
    pub keys: Vec<String>,
    /// Input window start \[ms\].
    #[arg(long)]
    pub window_min: Option<f64>,
    /// Input window end \[ms\] (exclusive).
    #[arg(long)]
    pub window_max: Option<f64>,
    /// Input window width \[ms\] (default 80, ending at the output window end).
    #[arg(long)]
    pub window_width: Option<f64>,
    /// Output window start \[ms\].
    #[arg(long, default_value_t = 255.0)]
    pub output_min: f64,
    /// Output window end \[ms\] (exclusive).
    #[arg(long, default_value_t = 265.0)]
    pub output_max: f64,
    /// Refractory period \[ms\]: trials with a spike this long before the output window are excluded.
    #[arg(long, default_value_t = 0.0)]
    pub refractory: f64,
    /// Held-out fraction per model.
    #[arg(long, default_value_t = 0.4)]
    pub test_size: f64,
    /// Number of models.
    #[arg(long, default_value_t = 5)]
    pub n_models: usize,
    /// Lookup-table bucket width (WNI units).
    #[arg(long, default_value_t = 5.0)]
    pub lookup_step: f64,
    /// RNG seed for class balancing and splits.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Do not balance the classes before fitting.
    #[arg(long)]
    pub no_normalize_group_size: bool,
    /// Spike-times key defining the output.
    #[arg(long, default_value = "spike_times")]
    pub spike_times: String,
    /// Replace an existing `--out` key (once the new model is complete).
    #[arg(long)]
    pub overwrite: bool,
}

/// Arguments of `isf reduce predict`.
#[derive(clap::Args, Debug)]
pub struct PredictArgs {
    /// Database holding the model.
    pub db: PathBuf,
    /// Model key.
    #[arg(long)]
    pub model: String,
    /// Database with the trials to predict (default: the model's database); it needs the model's input keys.
    #[arg(long)]
    pub data: Option<PathBuf>,
    /// Store the predictions as a table under this key of the data database.
    #[arg(long)]
    pub out: Option<String>,
    /// Replace an existing `--out` key (once the new table is complete).
    #[arg(long, requires = "out")]
    pub overwrite: bool,
}

/// Runs `isf reduce …`.
pub fn run(args: ReduceArgs) -> anyhow::Result<()> {
    match args.command {
        ReduceCommand::Fit(a) => fit(a),
        ReduceCommand::Predict(a) => predict(a),
    }
}

fn fit(a: FitArgs) -> anyhow::Result<()> {
    let _lock = super::output::lock_database(&a.db)?;
    let database = Database::open(&a.db)?;
    super::output::check_key(&database, &db::parse_key(&a.out)?, a.overwrite)?;
    let mut cfg = LdaConfig::new(a.keys.clone());
    cfg.output_window_min_ms = a.output_min;
    cfg.output_window_max_ms = a.output_max;
    cfg.refractory_period_ms = a.refractory;
    cfg.test_size = a.test_size;
    cfg.n_models = a.n_models;
    cfg.lookup_step = a.lookup_step;
    cfg.seed = a.seed;
    cfg.normalize_group_size = !a.no_normalize_group_size;
    cfg.spike_times_key = a.spike_times.clone();
    cfg.resolve_window(a.window_min, a.window_max, a.window_width)?;
    let pb = isf_post::progress::bar(1, "fitting LDA models");
    let model = lda::fit(&database, &cfg).context("fit failed")?;
    pb.finish_and_clear();
    lda::store(&database, &a.out, &model)?;
    println!(
        "stored {}: {} trials ({} spiking), input window [{}, {}) ms, score {:.4}",
        a.out,
        model.trial_ids.len(),
        model.spike.iter().filter(|&&s| s).count(),
        cfg.window_min_ms,
        cfg.window_max_ms,
        model.score
    );
    for (i, m) in model.models.iter().enumerate() {
        println!(
            "model {i}: accuracy spike {:.3} / silent {:.3}, ROC AUC test {:.3} / all {:.3}",
            m.acc_spike, m.acc_silent, m.auc_test, m.auc_full
        );
    }
    Ok(())
}

fn predict(a: PredictArgs) -> anyhow::Result<()> {
    // Only a stored table writes: then the data database is the output.
    let _lock = match &a.out {
        Some(_) => Some(super::output::lock_database(
            a.data.as_ref().unwrap_or(&a.db),
        )?),
        None => None,
    };
    let mdb = Database::open(&a.db)?;
    let ddb = match &a.data {
        Some(p) => Database::open(p)?,
        None => mdb.clone(),
    };
    if let Some(out) = &a.out {
        super::output::check_key(&ddb, &db::parse_key(out)?, a.overwrite)?;
    }
    let model: ReducedLdaModel = mdb.get(&db::parse_key(&a.model)?)?;
    let cfg = &model.config;
    let im = lda::input_matrix(&ddb, &cfg.keys, cfg.window_min_ms, cfg.window_max_ms)?;
    let preds = lda::predict_static(&model, &im.x)?;
    let n = im.trial_ids.len();
    let p_mean: Vec<f64> = (0..n)
        .map(|i| preds.iter().map(|(_, p)| p[i]).sum::<f64>() / preds.len() as f64)
        .collect();
    // Observed outcome, when the data has spike times.
    let observed: Option<Vec<f64>> = ddb
        .get::<SpikeTimes>(&db::parse_key(&cfg.spike_times_key)?)
        .ok()
        .and_then(|st| {
            let idx = TrialIndex::new(st.trial_ids.clone());
            im.trial_ids
                .iter()
                .map(|id| {
                    idx.row(id).map(|r| {
                        f64::from(u8::from(isf_post::analysis::spike_in_interval(
                            st.row(r),
                            cfg.output_window_min_ms,
                            cfg.output_window_max_ms,
                        )))
                    })
                })
                .collect()
        });
    let mut columns = vec![(
        "sim_trial_index".to_string(),
        Column::Str(im.trial_ids.clone()),
    )];
    for (i, (wni, p)) in preds.iter().enumerate() {
        columns.push((format!("wni_{i}"), Column::F64(wni.clone())));
        columns.push((format!("p_spike_{i}"), Column::F64(p.clone())));
    }
    columns.push(("p_spike_mean".into(), Column::F64(p_mean.clone())));
    if let Some(o) = &observed {
        columns.push(("spike_in_window".into(), Column::F64(o.clone())));
    }
    let mean_p = p_mean.iter().sum::<f64>() / n.max(1) as f64;
    print!(
        "{n} trials: mean predicted P(spike in [{}, {}) ms) = {mean_p:.4}",
        cfg.output_window_min_ms, cfg.output_window_max_ms
    );
    if let Some(o) = &observed {
        let rate = o.iter().sum::<f64>() / n.max(1) as f64;
        let brier = p_mean
            .iter()
            .zip(o)
            .map(|(p, y)| (p - y) * (p - y))
            .sum::<f64>()
            / n.max(1) as f64;
        print!(", observed rate {rate:.4}, Brier score {brier:.4}");
    }
    println!();
    if let Some(out) = &a.out {
        let meta = KeyMeta::new(
            "",
            format!(
                "spike probabilities predicted by reduced model `{}`",
                a.model
            ),
        )
        .param("model_key", a.model.clone());
        ddb.set(&db::parse_key(out)?, &Table { columns }, meta)?;
        println!("stored {out}");
    }
    Ok(())
}
