#!/usr/bin/env bash
# Sets up the machine, builds isf and runs the main job on the embedded example model.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
source scripts/env.sh
cargo build --release --bin isf
OUT="${1:-target/example-run}"
rm -rf "$OUT"
./target/release/isf example "$OUT/model"
./target/release/isf simulate "$OUT/model/cell.param" "$OUT/model/network.param" --seed 1234 --sweeps 4 --out "$OUT/results"
echo "example results in $OUT/results"
