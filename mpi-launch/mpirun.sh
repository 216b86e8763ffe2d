#!/usr/bin/env bash
# Runs `isf simulate --config RUN.toml` on NP ranks with THREADS rayon threads each, on one node or
# on the hosts of a hostfile, with OpenMPI, MPICH or Intel MPI.
#
#   mpi-launch/mpirun.sh NP THREADS RUN.toml [extra isf simulate args, e.g. --resume]
#
# Environment:
#   ISF               the isf binary (default: `isf` on PATH, else this checkout's target/release/isf)
#   MPIRUN            the launcher (default: mpirun); its `--version` tells the implementation
#   ISF_MPI           openmpi | mpich | intel: overrides that detection
#   ISF_HOSTFILE      a hostfile in the launcher's own format
#   ISF_OVERSUBSCRIBE 1: NP × THREADS exceed the cores (a laptop, a CI box): leave ranks unbound
#
# Binding: each rank gets THREADS cores of its own, so rayon inside a rank uses exactly its cores:
#   OpenMPI    --map-by slot:PE=THREADS --bind-to core  (its default binds a rank to ONE core, which
#              silently serialises rayon: never use the default with THREADS > 1)
#   MPICH      -bind-to core:THREADS  (Hydra; its default leaves ranks unbound)
#   Intel MPI  I_MPI_PIN_DOMAIN=THREADS (a pinning domain of THREADS cores per rank); untested here
# Cray systems have no mpirun: launch with srun (see isf.sbatch), which binds with `-c THREADS`.
# Running as root (containers) needs OpenMPI's consent: this script gives it only when run by root.
set -euo pipefail
if [ $# -lt 3 ]; then
  echo "usage: $0 NP THREADS RUN.toml [isf simulate args…]" >&2
  exit 2
fi
np=$1 threads=$2 config=$3
shift 3
isf=${ISF:-$(command -v isf || echo "$(dirname "$0")/../target/release/isf")}
mpirun=${MPIRUN:-mpirun}
oversubscribe=${ISF_OVERSUBSCRIBE:-0}

impl=${ISF_MPI:-}
if [ -z "$impl" ]; then
  version=$("$mpirun" --version 2>&1) || {
    echo "$0: \`$mpirun --version\` failed; is MPI installed (or set MPIRUN)?" >&2
    exit 2
  }
  case $version in
    *"Open MPI"* | *OpenRTE*) impl=openmpi ;;
    *"Intel(R) MPI"*) impl=intel ;;
    *HYDRA* | *MPICH*) impl=mpich ;;
    *)
      echo "$0: cannot tell which MPI \`$mpirun\` is from its --version; set ISF_MPI=openmpi|mpich|intel" >&2
      exit 2
      ;;
  esac
fi

hostfile=() binding=() envs=()
case $impl in
  openmpi)
    binding=(--map-by "slot:PE=${threads}" --bind-to core)
    [ "$oversubscribe" = 1 ] && binding=(--oversubscribe --bind-to none)
    [ -n "${ISF_HOSTFILE:-}" ] && hostfile=(--hostfile "$ISF_HOSTFILE")
    # Waiting ranks yield the core instead of spinning when cores are shared.
    envs=(-x RAYON_NUM_THREADS="$threads" -x OMPI_MCA_mpi_yield_when_idle="$oversubscribe")
    [ -n "${RUST_LOG:-}" ] && envs+=(-x RUST_LOG)
    if [ "$(id -u)" -eq 0 ]; then
      export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
    fi
    ;;
  mpich | intel)
    # Hydra (MPICH's and Intel MPI's launcher) accepts more ranks than cores as it is.
    [ -n "${ISF_HOSTFILE:-}" ] && hostfile=(-f "$ISF_HOSTFILE")
    envs=(-genv RAYON_NUM_THREADS "$threads")
    [ -n "${RUST_LOG:-}" ] && envs+=(-genv RUST_LOG "$RUST_LOG")
    if [ "$impl" = mpich ]; then
      binding=(-bind-to "core:${threads}")
      [ "$oversubscribe" = 1 ] && binding=(-bind-to none)
    else
      envs+=(-genv I_MPI_PIN_DOMAIN "$threads")
      [ "$oversubscribe" = 1 ] && envs+=(-genv I_MPI_PIN 0)
    fi
    ;;
  *)
    echo "$0: ISF_MPI must be openmpi, mpich or intel, not '$impl'" >&2
    exit 2
    ;;
esac

exec "$mpirun" -np "$np" "${hostfile[@]}" "${binding[@]}" "${envs[@]}" \
  "$isf" simulate --threads "$threads" --config "$config" "$@"
