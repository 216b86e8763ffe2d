#!/usr/bin/env bash
# Checks the Spack recipe against a Spack 1.x checkout, with this machine's Debian packages (GCC,
# OpenMPI or MPICH, HDF5 serial and parallel, LLVM's libclang, pkgconf) and its Rust toolchain
# registered as externals, so that Spack builds nothing but isf.
#
#   SPACK_ROOT=… SPACK_PACKAGES=… bash spack/ci/spack.sh check            # load + concretize, ~1 min
#   SPACK_ROOT=… SPACK_PACKAGES=… bash spack/ci/spack.sh install [+mpi|~mpi]…   # full builds
#
# SPACK_ROOT is a Spack 1.x checkout (github.com/spack/spack, v1.1.0 was used), SPACK_PACKAGES a
# checkout of its package repository (github.com/spack/spack-packages, v2025.11.0 was used).
# Spack needs the `clingo` Python module: SPACK_PYTHON may name a Python that has it
# (`python3 -m venv V && V/bin/pip install clingo`), since Spack cannot bootstrap it offline.
# ISF_SPACK_MPI=mpich registers MPICH (Debian's mpich, libhdf5-mpich-dev) instead of OpenMPI.
# Everything Spack writes (environment, install tree, caches) stays in ISF_SPACK_WORK (a new
# temporary folder unless set); the source is a copy of this checkout's tracked files, built as a
# `spack develop` package, so nothing is written into the checkout. `install` also runs the
# recipe's smoke test (`spack test run`).
set -euo pipefail
here=$(cd "$(dirname "$0")/../.." && pwd)
mode=${1:-check}
shift || true
: "${SPACK_ROOT:?set SPACK_ROOT to a Spack 1.x checkout}"
: "${SPACK_PACKAGES:?set SPACK_PACKAGES to a spack-packages checkout}"
work=${ISF_SPACK_WORK:-$(mktemp -d -t isf-spack.XXXXXX)}
mkdir -p "$work"
work=$(cd "$work" && pwd)
export SPACK_USER_CONFIG_PATH=$work/user-config SPACK_USER_CACHE_PATH=$work/user-cache
export SPACK_DISABLE_LOCAL_CONFIG=1
spack() { "$SPACK_ROOT/bin/spack" "$@"; }

"${SPACK_PYTHON:-python3}" -c 'import clingo' 2>/dev/null || {
  echo "spack.sh: ${SPACK_PYTHON:-python3} has no clingo module (see the header)" >&2
  exit 2
}

# Versions of the externals, read from the machine so the file stays true after upgrades.
deb_version() { dpkg-query -W -f='${Version}' "$1" | sed 's/[-+~].*//'; }
gcc_v=$(gcc -dumpfullversion)
rust_sysroot=$(rustc --print sysroot)
rust_v=$(rustc --version | awk '{print $2}')
hdf5_v=$(deb_version libhdf5-dev)
pkgconf_v=$(pkgconf --version)
llvm_prefix=$(ls -d /usr/lib/llvm-* | sort -V | tail -1)
llvm_v=$("$llvm_prefix/bin/llvm-config" --version 2>/dev/null || basename "$llvm_prefix" | sed 's/llvm-//')
mpi=${ISF_SPACK_MPI:-openmpi}
case $mpi in
  openmpi) mpi_v=$(deb_version libopenmpi-dev) ;;
  mpich) mpi_v=$(deb_version libmpich-dev) ;;
  *) echo "spack.sh: ISF_SPACK_MPI must be openmpi or mpich, not $mpi" >&2; exit 2 ;;
esac
hdf5_mpi_prefix=/usr/lib/x86_64-linux-gnu/hdf5/$mpi
for d in "$hdf5_mpi_prefix/include" /usr/lib/x86_64-linux-gnu/hdf5/serial/include "$llvm_prefix/lib"; do
  [ -d "$d" ] || { echo "spack.sh: $d is missing (install the Debian packages of scripts/setup.sh)" >&2; exit 2; }
done

src=$work/src
if [ ! -d "$src" ]; then
  mkdir -p "$src"
  git -C "$here" ls-files -z | (cd "$here" && tar --null -T - -cf -) | tar -x -C "$src"
fi

env=$work/env
mkdir -p "$env"
cat >"$env/spack.yaml" <<YAML
# Written by spack/ci/spack.sh.
spack:
  specs: []
  view: false
  concretizer:
    unify: false
  repos:
    isf: $here/spack/repo/spack_repo/isf
    builtin: $SPACK_PACKAGES/repos/spack_repo/builtin
  config:
    install_tree:
      root: $work/install
    build_stage: [$work/stage]
    test_stage: $work/test-stage
    source_cache: $work/source-cache
    misc_cache: $work/misc-cache
  bootstrap:
    enable: false
  packages:
    all:
      providers:
        mpi: [$mpi]
    gcc:
      buildable: false
      externals:
      - spec: gcc@$gcc_v languages:='c,c++,fortran'
        prefix: /usr
        extra_attributes:
          compilers: {c: /usr/bin/gcc, cxx: /usr/bin/g++, fortran: /usr/bin/gfortran}
    rust:
      buildable: false
      externals:
      - spec: rust@$rust_v
        prefix: $rust_sysroot
    $mpi:
      buildable: false
      externals:
      - spec: $mpi@$mpi_v
        prefix: /usr
    hdf5:
      buildable: false
      externals:
      - spec: hdf5@$hdf5_v+mpi
        prefix: $hdf5_mpi_prefix
      - spec: hdf5@$hdf5_v~mpi
        prefix: /usr/lib/x86_64-linux-gnu/hdf5/serial
    llvm:
      buildable: false
      externals:
      - spec: llvm@$llvm_v+clang
        prefix: $llvm_prefix
    pkgconf:
      buildable: false
      externals:
      - spec: pkgconf@$pkgconf_v
        prefix: /usr
YAML

echo "spack.sh: Spack $(spack --version) in $work, MPI: $mpi $mpi_v" >&2
case $mode in
  check)
    # Loading the recipe (directives, variants, dependencies) and concretizing both variants
    # exercises the package API; nothing is built.
    spack -e "$env" info isf >/dev/null
    spack -e "$env" info py-isf >/dev/null
    spack -e "$env" spec -l isf@=main+mpi
    spack -e "$env" spec -l isf@=main~mpi
    # py-isf's Python dependencies are not externals: Spack plans to build them.
    spack -e "$env" spec -l py-isf@=main >/dev/null
    echo "spack.sh: the recipes load and concretize (isf+mpi, isf~mpi, py-isf)"
    ;;
  install)
    variants=("$@")
    [ ${#variants[@]} -eq 0 ] && variants=(+mpi ~mpi)
    spack -e "$env" develop --no-clone --path "$src" isf@=main
    for v in "${variants[@]}"; do
      start=$(date +%s)
      spack -e "$env" add "isf@=main$v"
      spack -e "$env" concretize -f >/dev/null
      nice -n 19 "$SPACK_ROOT/bin/spack" -e "$env" install "isf@=main$v"
      echo "spack.sh: isf$v installed in $(($(date +%s) - start)) s"
      spack -e "$env" test run "isf@=main$v"
      prefix=$(spack -e "$env" location -i "isf@=main$v")
      ls "$prefix/bin/isf" "$prefix/share/isf/mpi-launch/mpirun.sh" "$prefix/share/isf/mpi-launch/isf.sbatch"
    done
    ;;
  *)
    echo "usage: $0 check|install [+mpi|~mpi]…" >&2
    exit 2
    ;;
esac
