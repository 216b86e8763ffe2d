# Spack recipe for isf (Spack 1.x package API; see spack/README.md for the installation steps).
import os

from spack_repo.builtin.build_systems import cargo
from spack_repo.builtin.build_systems.cargo import CargoPackage

from spack.package import *


class Isf(CargoPackage):
    """isf: MPI-parallel multi-compartment neuron simulation that reads In Silico Framework
    models and reproduces NEURON's fixed-step numerics."""

    # isf has no public repository or release yet, hence no `git`/`url` and no `version(...)`: the
    # source is a checkout given to `spack develop --path CHECKOUT isf@=main` (spack/README.md).
    # Once published, add `git = "<url>"` and `version("main", branch="main")`.
    homepage = "https://github.com/mpinb/in_silico_framework"

    license("BSD-3-Clause")

    variant("mpi", default=True, description="Run over MPI ranks and write HDF5 collectively")

    depends_on("rust@1.85:", type="build")
    # mpi-sys compiles a small C shim; hdf5-metno-sys and mpi-sys probe with pkg-config.
    depends_on("c", type="build")
    depends_on("pkgconfig", type="build")
    # bindgen (in mpi-sys only) needs libclang at build time; the serial build has no bindgen.
    depends_on("llvm+clang", type="build", when="+mpi")
    # Only HDF5's C API is used (no high-level API, no Fortran or C++).
    depends_on("hdf5@1.10:1.14")
    depends_on("hdf5+mpi", when="+mpi")
    depends_on("hdf5~mpi", when="~mpi")
    depends_on("mpi", when="+mpi")

    def setup_run_environment(self, env: EnvironmentModifications) -> None:
        # The launch scripts find the installed binary through ISF.
        env.set("ISF", self.prefix.bin.isf)

    def test_example(self):
        """write the embedded example model, summarise its cell, simulate one short trial"""
        isf = Executable(self.prefix.bin.isf)
        isf("example", "example")
        out = isf("cell-info", "example/cell.param", output=str.split, error=str.split)
        assert "Soma" in out, out
        with open("example/short.toml", "w") as f:
            f.write(
                'output = "short.h5"\nbase_seed = 1\nbatch_size = 1\n[record]\nsoma = true\n'
                '[[cell]]\ncell_param = "cell.param"\nnetwork_param = "network.param"\n'
                "trials = 1\nt_stop_ms = 50\n"
            )
        isf("simulate", "--no-progress", "--threads", "1", "--config", "example/short.toml")
        assert os.path.isfile("example/short.h5")


class CargoBuilder(cargo.CargoBuilder):
    @property
    def build_args(self):
        # --locked: build the dependency graph of Cargo.lock, which is the one that is tested.
        args = ["--locked"]
        if self.spec.satisfies("~mpi"):
            args.append("--no-default-features")
        return args

    def install(self, pkg, spec, prefix):
        super().install(pkg, spec, prefix)
        # The launch scripts (mpirun wrapper, sbatch template) go to share/isf/mpi-launch.
        install_tree(
            join_path(self.build_directory, "mpi-launch"), prefix.share.isf.join("mpi-launch")
        )

    def setup_build_environment(self, env: EnvironmentModifications) -> None:
        # Keeps the Cargo builder's sandboxed CARGO_HOME.
        super().setup_build_environment(env)
        env.set("HDF5_DIR", self.spec["hdf5"].prefix)
        if self.spec.satisfies("+mpi"):
            env.set("LIBCLANG_PATH", self.spec["llvm"].prefix.lib)
            env.set("MPICC", self.spec["mpi"].mpicc)
