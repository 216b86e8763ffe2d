#!/usr/bin/env bash
# Installs what isf needs to build and test, skipping what is already there (Debian/Ubuntu).
# Idempotent; safe to run repeatedly. Prints the environment variables the build uses.
set -euo pipefail

APT_PACKAGES=(libopenmpi-dev openmpi-bin libhdf5-openmpi-dev libhdf5-dev hdf5-tools libclang1-14
  libclang-common-14-dev pkg-config python3-pip fonts-dejavu-core)
PY_PACKAGES=(numpy h5py scikit-learn libsonata pandas)

missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing system packages: ${missing[*]}" >&2
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi

if ! python3 -c "import numpy, h5py, sklearn, libsonata, pandas" 2>/dev/null; then
  echo "setup: installing Python packages: ${PY_PACKAGES[*]}" >&2
  python3 -m pip install -q "${PY_PACKAGES[@]}" 2>/dev/null \
    || python3 -m pip install -q --break-system-packages "${PY_PACKAGES[@]}"
fi

if ! command -v cargo >/dev/null; then
  echo "setup: cargo not found; install Rust (rustup) first" >&2
  exit 1
fi
