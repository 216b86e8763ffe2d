#!/usr/bin/env bash
# Sets up the machine and runs the whole test suite (format, lints, unit, integration, MPI and Python
# interoperability tests). CI runs exactly this through .ci/run.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
source scripts/env.sh
cargo fmt --all -- --check
cargo clippy --workspace --all-targets -- -D warnings
cargo test --workspace --release -- --test-threads=2
