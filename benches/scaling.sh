#!/usr/bin/env bash
# Weak and strong scaling of `isf simulate --config` over 1, 2, 4 MPI ranks (one rayon thread per
# rank, so ranks are the only parallelism), and trials/s/core.
#
#   bash benches/scaling.sh [TRIALS_PER_RANK] [MODEL]
#
# MODEL is `isf` (the reference example model, default) or `synthetic-test-fixture`.
# Weak scaling: TRIALS_PER_RANK × ranks trials; efficiency E(n) = T(1) / T(n), of the launch's wall
# time and of the run's own (the slowest rank's, from reading the config to the closed file).
# Strong scaling: 4 × TRIALS_PER_RANK trials on every rank count; E(n) = T(1) / (n · T(n)).
# With more ranks than cores the figures measure oversubscription, not scaling.
# ISF_BENCH_TSTOP_MS (default 345) sets the simulated time, ISF_BENCH_EVERY_K (default 1) thins the
# recorded traces (long synthetic runs otherwise measure the disk, not the run layer), ISF_BENCH_ROUNDS
# (default 3) how many runs of each configuration the figures take the best of.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh
per_rank=${1:-4}
model=${2:-isf}
t_stop=${ISF_BENCH_TSTOP_MS:-345}
rounds=${ISF_BENCH_ROUNDS:-3}
# The synthetic fixture is test support: only a build with the test-support feature has it.
features=()
[ "$model" = synthetic-test-fixture ] && features=(--features test-support)
cargo build --release --bin isf "${features[@]}" >/dev/null
isf=${CARGO_TARGET_DIR:-target}/release/isf
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$isf" example "$work/example" >/dev/null
cores=$(nproc)

run() { # ranks trials → "wall run": the launch's wall seconds and the run's own (slowest rank)
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
  local t0 t1 log="$work/log-$np-$trials"
  t0=$(date +%s.%N)
  # The launch wrapper speaks OpenMPI's and MPICH's options (MPIRUN picks the launcher).
  TMPDIR=$(mktemp -d -p "$work") ISF="$isf" ISF_OVERSUBSCRIBE=1 RUST_LOG=isf::cli::simulate=info \
    mpi-launch/mpirun.sh "$np" 1 "$cfg" --no-progress --overwrite >/dev/null 2>"$log"
  t1=$(date +%s.%N)
  # Each rank logs "N of N trials simulated (…) in S s": the run from reading the config to the
  # closed results file, without the MPI launch and start-up.
  local own
  own=$(sed 's/\x1b\[[0-9;]*m//g' "$log" | grep -o 'trials simulated .* in [0-9.]* s' |
    awk '{ s = $(NF - 1); if (s > m) m = s } END { printf "%.6f", m }')
  awk -v a="$t0" -v b="$t1" -v r="$own" 'BEGIN { printf "%.6f %s", b - a, r }'
}

# Floating-point arithmetic without bc (not installed everywhere): calc EXPR with awk.
calc() { awk "BEGIN { printf \"%.6f\", $1 }"; }

echo "model=$model t_stop=${t_stop}ms cores=$cores trials/rank=$per_rank best of $rounds rounds"
echo "seconds: the launch's wall time; run: the slowest rank's own time (without MPI start-up)"
printf "%-8s %-6s %-8s %-10s %-10s %-10s %-10s %-12s\n" kind ranks trials seconds efficiency \
  run run-eff trials/s/core
# Each configuration's best of `rounds` runs, the configurations taking turns in every round, so
# that a disturbance of the shared machine does not decide a figure.
declare -A best own
# Trials of a run of KIND on NP ranks.
trials_of() { [ "$1" = weak ] && echo $((per_rank * $2)) || echo $((per_rank * 4)); }
# Whether A is below B, or B is unset.
below() { [ -z "$2" ] || [ "$(calc "$1 < $2")" = "1.000000" ]; }
for kind in weak strong; do
  for ((r = 0; r < rounds; r++)); do
    for np in 1 2 4; do
      read -r s o <<<"$(run "$np" "$(trials_of "$kind" "$np")")"
      key=$kind-$np
      below "$s" "${best[$key]:-}" && best[$key]=$s
      below "$o" "${own[$key]:-}" && own[$key]=$o
    done
  done
  for np in 1 2 4; do
    n=$(trials_of "$kind" "$np")
    s=${best[$kind-$np]} o=${own[$kind-$np]}
    t1=${best[$kind-1]} o1=${own[$kind-1]}
    used=$((np < cores ? np : cores))
    # Weak: T(1)/T(n); strong: T(1)/(n·T(n)).
    per=$([ "$kind" = weak ] && echo 1 || echo "$np")
    printf "%-8s %-6s %-8s %-10.3f %-10.3f %-10.3f %-10.3f %-12.4f\n" "$kind" "$np" "$n" "$s" \
      "$(calc "$t1 / ($per * $s)")" "$o" "$(calc "$o1 / ($per * $o)")" "$(calc "$n / $s / $used")"
  done
done
