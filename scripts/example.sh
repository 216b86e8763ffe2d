#!/usr/bin/env bash
# Sets up the machine, builds isf and runs the main job on the embedded example model.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
source scripts/env.sh
cargo build --release --bin isf
isf="${CARGO_TARGET_DIR:-target}/release/isf"
if [ $# -ge 1 ]; then
  OUT="$1" # a folder of the user's: isf refuses to overwrite it, so nothing of theirs is lost
else
  OUT="target/example-run"
  rm -rf "$OUT" # our own scratch folder from a previous run
fi
"$isf" example "$OUT/model"
"$isf" simulate "$OUT/model/cell.param" "$OUT/model/network.param" --seed 1234 --sweeps 4 --out "$OUT/results"
echo "example results in $OUT/results"
