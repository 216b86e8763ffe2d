#!/usr/bin/env bash
# Builds isf against Debian's MPICH and its parallel HDF5, launches it with MPICH's `mpirun -np 2`
# through mpi-launch/mpirun.sh, and checks the result: both ranks simulated, and the results equal
# the OpenMPI build's for the same config (everything but provenance, ranks and wall times).
#
#   bash scripts/mpich.sh          # installs mpich libmpich-dev libhdf5-mpich-dev when missing
#
# The MPICH build has its own target folder (ISF_MPICH_TARGET, default target/mpich): mpi-sys and
# hdf5-sys are built for one MPI at a time. ISF_MPICH_ISF names an MPICH build to check instead. OpenMPI stays the system default (the MPICH tools are
# called by their Debian names, mpicc.mpich and mpirun.mpich). The comparison with OpenMPI uses
# target/release/isf, built first when missing. Not run by .ci/run: the second build of the whole
# dependency graph takes about ten minutes on two cores.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh

missing=()
for p in mpich libmpich-dev libhdf5-mpich-dev hdf5-tools; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "mpich.sh: installing ${missing[*]}" >&2
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi

if [ -n "${ISF_MPICH_ISF:-}" ]; then
  isf_mpich=$ISF_MPICH_ISF # an MPICH build made otherwise (e.g. by `cargo install`)
else
  target=${ISF_MPICH_TARGET:-target/mpich}
  start=$(date +%s)
  HDF5_DIR=/usr/lib/x86_64-linux-gnu/hdf5/mpich MPICC=mpicc.mpich \
    cargo build --release --bin isf --target-dir "$target"
  echo "mpich.sh: MPICH build in $(($(date +%s) - start)) s" >&2
  isf_mpich=$target/release/isf
fi
# The binary must link MPICH and MPICH's HDF5, not OpenMPI's.
libs=$(ldd "$isf_mpich")
grep -q libmpich <<<"$libs" || { echo "mpich.sh: $isf_mpich does not link libmpich" >&2; exit 1; }
grep -q libhdf5_mpich <<<"$libs" || { echo "mpich.sh: $isf_mpich does not link MPICH's HDF5" >&2; exit 1; }
if grep -q "libmpi.so" <<<"$libs"; then
  echo "mpich.sh: $isf_mpich also links OpenMPI's libmpi" >&2
  exit 1
fi

[ -x target/release/isf ] || cargo build --release --bin isf
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$isf_mpich" example "$work/ex" >/dev/null
run() { # NAME → $work/ex/NAME.h5 from 4 trials, 2 per batch
  cat >"$work/ex/$1.toml" <<TOML
output = "$1.h5"
base_seed = 11
batch_size = 2
[record]
soma = true
sites = true
[[cell]]
cell_param = "cell.param"
network_param = "network.param"
trials = 4
t_stop_ms = 100
TOML
}
run mpich
run openmpi
start=$(date +%s)
MPIRUN=mpirun.mpich ISF="$isf_mpich" ISF_OVERSUBSCRIBE=1 \
  mpi-launch/mpirun.sh 2 1 "$work/ex/mpich.toml" --no-progress
echo "mpich.sh: mpirun.mpich -np 2 ran in $(($(date +%s) - start)) s" >&2
MPIRUN=mpirun.openmpi ISF=target/release/isf ISF_OVERSUBSCRIBE=1 \
  mpi-launch/mpirun.sh 2 1 "$work/ex/openmpi.toml" --no-progress

# The ranks that simulated trials: both must have.
ranks=$(h5dump -y -d /trials/rank "$work/ex/mpich.h5" | sed -n '/DATA {/,/}/p' | grep -o '[0-9]\+' |
  sort -u | tr '\n' ' ')
if [ "$ranks" != "0 1 " ]; then
  echo "mpich.sh: the MPICH run's trials came from ranks '$ranks', not 0 and 1" >&2
  exit 1
fi
h5diff --exclude-path /provenance --exclude-path /trials/rank --exclude-path /trials/wall_time_s \
  "$work/ex/mpich.h5" "$work/ex/openmpi.h5" || {
  echo "mpich.sh: the MPICH and OpenMPI results differ" >&2
  exit 1
}
echo "mpich.sh: MPICH build and mpirun -np 2 launch OK; results equal the OpenMPI build's"
