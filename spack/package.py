# Spack recipe for isf. Install with:
#   spack repo create myrepo && cp -r spack myrepo/packages/isf   (as packages/isf/package.py)
#   spack install isf            # MPI build (default)
#   spack install isf ~mpi       # serial build
from spack.package import *


class Isf(CargoPackage):
    """isf: MPI-parallel multi-compartment neuron simulation that reads In Silico Framework
    models and reproduces NEURON's fixed-step numerics."""

    homepage = "https://github.com/isf-project/isf"
    git = "https://github.com/isf-project/isf.git"

    license("BSD-3-Clause")

    version("main", branch="main")

    variant("mpi", default=True, description="Run over MPI ranks and write HDF5 collectively")

    depends_on("rust@1.85:", type="build")
    depends_on("pkgconfig", type="build")
    # bindgen (in hdf5-sys and mpi-sys) needs libclang at build time.
    depends_on("llvm+clang", type="build")
    depends_on("hdf5@1.10:1.14+hl")
    depends_on("hdf5+mpi", when="+mpi")
    depends_on("hdf5~mpi", when="~mpi")
    depends_on("mpi", when="+mpi")

    def setup_build_environment(self, env):
        env.set("HDF5_DIR", self.spec["hdf5"].prefix)
        env.set("LIBCLANG_PATH", self.spec["llvm"].prefix.lib)
        if self.spec.satisfies("+mpi"):
            env.set("MPICC", self.spec["mpi"].mpicc)

    @property
    def build_args(self):
        return [] if self.spec.satisfies("+mpi") else ["--no-default-features"]
