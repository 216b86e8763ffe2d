//! The `isf` command line: one subcommand per job. Each subcommand lives in its own file.

use clap::{Parser, Subcommand};

pub mod cell_info;
pub mod db;
pub mod example;
pub mod map_inputs;
pub mod mech;
pub mod network_param;
pub mod output;
pub mod plot;
pub mod protocol;
pub mod reduce;
pub mod replay;
pub mod simulate;

/// isf: multi-scale neuron simulation compatible with the In Silico Framework.
#[derive(Parser, Debug)]
#[command(name = "isf", version, about)]
pub struct Cli {
    /// More log output (repeat for more); `RUST_LOG` overrides.
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    pub verbose: u8,
    /// The subcommand to run.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Subcommand, Debug)]
pub enum Command {
    /// Build a cell from its parameter file and summarise it (sections, segments, areas).
    CellInfo(cell_info::CellInfoArgs),
    /// Write the embedded example model (cell, network, morphology, synapses) into a new folder.
    Example(example::ExampleArgs),
    /// Run a protocol (IClamp, epsp, SEClamp levels, point processes with events) on a cell from
    /// a .param file or defined in the protocol; records any variable by NEURON's name.
    Protocol(protocol::ProtocolArgs),
    /// Replay a saved ISF synapse activation file on a cell and write ISF's result files.
    Replay(replay::ReplayArgs),
    /// Simulate trials: a whole run config over MPI ranks and threads (`--config RUN.toml`).
    Simulate(simulate::SimulateArgs),
    /// Anatomical embedding: map a neuron into the barrel-cortex model.
    MapInputs(map_inputs::MapInputsArgs),
    /// Build a network parameter file from activity templates.
    NetworkParam(network_param::NetworkParamArgs),
    /// Results database: build from results (`init`, `init-isf`), bin, list and show keys.
    Db(db::DbArgs),
    /// Reduced (LDA) model: fit from a database, predict spike probabilities.
    Reduce(reduce::ReduceArgs),
    /// Pictures: morphology animations coloured by voltage, traces, rasters, PSTHs.
    Plot(plot::PlotArgs),
    /// Compiled mechanisms: compile NMODL `.mod` files into a catalogue (`build`), list one.
    Mech(mech::MechArgs),
}

/// Parses the command line, runs the subcommand and returns the process exit code.
pub fn main() -> i32 {
    let cli = Cli::parse();
    init_logging(cli.verbose);
    // A command that polls `interrupted()` stops at its next check point; any other ends at
    // once, removing its temporaries and releasing its locks (see `isf_io::signals`).
    if let Err(e) = isf_io::signals::install() {
        eprintln!("warning: {e}");
    }
    let r = run(cli.command);
    if let Err(e) = &r {
        eprintln!("error: {e:#}");
    }
    match (isf_io::signals::exit_code(), r) {
        (Some(code), _) => code,
        (None, Ok(())) => 0,
        (None, Err(_)) => 1,
    }
}

/// Runs one subcommand. Add a subcommand as a variant of [`Command`] with its own file here.
fn run(command: Command) -> anyhow::Result<()> {
    match command {
        Command::CellInfo(args) => cell_info::run(&args),
        Command::Example(args) => example::run(args),
        Command::Protocol(args) => protocol::run(&args),
        Command::Replay(args) => replay::run(&args),
        Command::Simulate(args) => simulate::run(args),
        Command::MapInputs(a) => map_inputs::run(a),
        Command::NetworkParam(a) => network_param::run(a),
        Command::Db(a) => db::run(a),
        Command::Reduce(a) => reduce::run(a),
        Command::Plot(a) => plot::run(a),
        Command::Mech(a) => mech::run(a),
    }
}

fn init_logging(verbose: u8) {
    let default = match verbose {
        0 => "warn",
        1 => "info",
        2 => "debug",
        _ => "trace",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}
