#!/usr/bin/env bash
# Runs `isf simulate --config RUN.toml` on NP ranks with THREADS rayon threads each, on one node or
# on the hosts of an OpenMPI hostfile.
#
#   mpi-launch/mpirun.sh NP THREADS RUN.toml [extra isf simulate args, e.g. --resume]
#
# Binding: each rank gets THREADS consecutive cores (`--map-by slot:PE=THREADS --bind-to core`), so
# rayon inside a rank uses exactly its cores. OpenMPI's default binds every rank to ONE core, which
# silently serialises rayon — never use the default with THREADS > 1. When NP × THREADS exceeds the
# cores (a laptop, a CI box), set ISF_OVERSUBSCRIBE=1: ranks are then left unbound (`--bind-to none`)
# and allowed to share cores. Running as root (containers) needs OpenMPI's consent; this script
# gives it when run by root.
set -euo pipefail
if [ $# -lt 3 ]; then
  echo "usage: $0 NP THREADS RUN.toml [isf simulate args…]" >&2
  exit 2
fi
np=$1 threads=$2 config=$3
shift 3
isf=${ISF:-$(command -v isf || echo "$(dirname "$0")/../target/release/isf")}
binding=(--map-by "slot:PE=${threads}" --bind-to core)
if [ "${ISF_OVERSUBSCRIBE:-0}" = 1 ]; then
  binding=(--oversubscribe --bind-to none)
fi
if [ "$(id -u)" -eq 0 ]; then
  export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
fi
hostfile=()
[ -n "${ISF_HOSTFILE:-}" ] && hostfile=(--hostfile "$ISF_HOSTFILE")
# Waiting ranks yield the core instead of spinning when cores are shared.
envs=(-x RAYON_NUM_THREADS="$threads" -x OMPI_MCA_mpi_yield_when_idle="${ISF_OVERSUBSCRIBE:-0}")
[ -n "${RUST_LOG:-}" ] && envs+=(-x RUST_LOG)
exec mpirun -np "$np" "${hostfile[@]}" "${binding[@]}" "${envs[@]}" \
  "$isf" simulate --threads "$threads" --config "$config" "$@"
