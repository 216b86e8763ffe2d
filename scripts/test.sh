#!/usr/bin/env bash
# Sets up the machine and runs the whole test suite (format, lints, unit, integration, MPI and Python
# interoperability tests). CI runs exactly this through .ci/run.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
source scripts/env.sh
cargo fmt --all -- --check
cargo clippy --workspace --all-targets -- -D warnings
# The serial build (no MPI, serial HDF5) in its own target dir; tests/run/run_spmd.rs checks that it
# writes the same results file as the MPI build.
serial_target="${CARGO_TARGET_DIR:-target}/serial"
# `-p isf-py` resolves features as the Python package's build does, which then reuses every artefact.
HDF5_DIR=/usr/lib/x86_64-linux-gnu/hdf5/serial CARGO_TARGET_DIR="$serial_target" \
  cargo build --release --no-default-features -p isf -p isf-py --bin isf
export ISF_SERIAL_BIN="$(cd "$serial_target" && pwd)/release/isf"
cargo test --workspace --release -- --test-threads=2
# The Python package (isf-py): a venv with numpy 2, the package built by maturin against serial
# HDF5 in the serial target dir (reusing the serial build above), and its notebook-like tests.
bash scripts/test_python.sh
