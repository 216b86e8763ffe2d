//! The `isf` command: parses the command line and runs the chosen subcommand (see [`isf::cli`]).

#![warn(missing_docs)]

fn main() {
    std::process::exit(isf::cli::main());
}
