#!/usr/bin/env bash
# Builds the `isf` Python package (isf-py/) into a venv and runs its tests (pytest). Run by
# scripts/test.sh after the serial build, whose target dir it reuses; ISF_BIN (default: the
# serial build's binary) is the `isf` command the tests compare with.
set -euo pipefail
cd "$(dirname "$0")/.."
target="${CARGO_TARGET_DIR:-target}"
serial_target="$target/serial"
pyenv="$target/pyenv"
if [ ! -x "$pyenv/bin/python" ]; then
  python3 -m venv "$pyenv" 2>/dev/null || {
    # Debian's python3 needs its venv module as a package.
    SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq python3-venv >/dev/null
    rm -rf "$pyenv"; python3 -m venv "$pyenv"
  }
fi
"$pyenv/bin/python" -m pip install -q --disable-pip-version-check \
  "maturin>=1.5,<2" "numpy>=2" pandas h5py pytest libsonata ipython
start=$(date +%s)
HDF5_DIR=/usr/lib/x86_64-linux-gnu/hdf5/serial CARGO_TARGET_DIR="$serial_target" \
  VIRTUAL_ENV="$(cd "$pyenv" && pwd)" "$pyenv/bin/maturin" develop --release -q \
  -m isf-py/Cargo.toml
echo "python: package built in $(( $(date +%s) - start )) s" >&2
export ISF_BIN="${ISF_BIN:-$(cd "$serial_target" && pwd)/release/isf}"
[ -x "$ISF_BIN" ] || HDF5_DIR=/usr/lib/x86_64-linux-gnu/hdf5/serial CARGO_TARGET_DIR="$serial_target" \
  cargo build --release --no-default-features --bin isf
"$pyenv/bin/python" -m pytest -q isf-py/tests
