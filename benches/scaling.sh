#!/usr/bin/env bash
# Weak and strong scaling of `isf simulate --config` over 1, 2, 4 MPI ranks (one rayon thread per
# rank, so ranks are the only parallelism), and trials/s/core.
#
#   bash benches/scaling.sh [TRIALS_PER_RANK] [MODEL]
#
# MODEL is `isf` (the reference example model, default) or `synthetic-test-fixture`.
# Weak scaling: TRIALS_PER_RANK × ranks trials; efficiency E(n) = T(1) / T(n).
# Strong scaling: 4 × TRIALS_PER_RANK trials on every rank count; E(n) = T(1) / (n · T(n)).
# With more ranks than cores the figures measure oversubscription, not scaling.
# ISF_BENCH_TSTOP_MS (default 345) sets the simulated time, ISF_BENCH_EVERY_K (default 1) thins the
# recorded traces (long synthetic runs otherwise measure the disk, not the run layer).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh
per_rank=${1:-4}
model=${2:-isf}
t_stop=${ISF_BENCH_TSTOP_MS:-345}
# The synthetic fixture is test support: only a build with the test-support feature has it.
features=()
[ "$model" = synthetic-test-fixture ] && features=(--features test-support)
cargo build --release --bin isf "${features[@]}" >/dev/null
isf=${CARGO_TARGET_DIR:-target}/release/isf
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$isf" example "$work/example" >/dev/null
cores=$(nproc)

run() { # ranks trials → seconds
  local np=$1 trials=$2 cfg="$work/run-$1-$2.toml"
  cat >"$cfg" <<TOML
output = "out-$np-$trials.h5"
base_seed = 7
batch_size = $((4 * np))
[record]
every_k_steps = ${ISF_BENCH_EVERY_K:-1}
[[cell]]
cell_param = "example/cell.param"
network_param = "example/network.param"
trials = $trials
t_stop_ms = $t_stop
model = "$model"
TOML
  local t0 t1
  t0=$(date +%s.%N)
  # The launch wrapper speaks OpenMPI's and MPICH's options (MPIRUN picks the launcher).
  TMPDIR=$(mktemp -d -p "$work") ISF="$isf" ISF_OVERSUBSCRIBE=1 mpi-launch/mpirun.sh "$np" 1 "$cfg" \
    --no-progress --overwrite >/dev/null
  t1=$(date +%s.%N)
  awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.6f", b - a }'
}

# Floating-point arithmetic without bc (not installed everywhere): calc EXPR with awk.
calc() { awk "BEGIN { printf \"%.6f\", $1 }"; }

echo "model=$model t_stop=${t_stop}ms cores=$cores trials/rank=$per_rank"
printf "%-8s %-6s %-8s %-10s %-10s %-12s\n" kind ranks trials seconds efficiency trials/s/core
t1w=""
for np in 1 2 4; do
  n=$((per_rank * np))
  s=$(run "$np" "$n")
  [ -z "$t1w" ] && t1w=$s
  used=$((np < cores ? np : cores))
  printf "%-8s %-6s %-8s %-10.3f %-10.3f %-12.4f\n" weak "$np" "$n" "$s" "$(calc "$t1w / $s")" \
    "$(calc "$n / $s / $used")"
done
t1s=""
for np in 1 2 4; do
  n=$((per_rank * 4))
  s=$(run "$np" "$n")
  [ -z "$t1s" ] && t1s=$s
  used=$((np < cores ? np : cores))
  printf "%-8s %-6s %-8s %-10.3f %-10.3f %-12.4f\n" strong "$np" "$n" "$s" "$(calc "$t1s / ($np * $s)")" \
    "$(calc "$n / $s / $used")"
done
