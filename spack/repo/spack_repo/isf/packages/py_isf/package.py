# Spack recipe for isf's Python package (Spack 1.x package API; see spack/README.md).
# Written against the package's documented layout: `isf-py/` in the isf repository, built by
# maturin from its pyproject.toml, imported as `isf`, serial unless the crate's `mpi` feature is on.
from spack_repo.builtin.build_systems import python
from spack_repo.builtin.build_systems.python import PythonPackage

from spack.package import *


class PyIsf(PythonPackage):
    """Python interface of isf: results files and databases as pandas DataFrames, cells,
    replays and simulations from a notebook."""

    # Like the isf recipe: no public repository yet, so the source is a checkout given to
    # `spack develop --path CHECKOUT py-isf@=main`.
    homepage = "https://github.com/mpinb/in_silico_framework"

    license("BSD-3-Clause")

    variant("mpi", default=False, description="Build on MPI and parallel HDF5 (like isf+mpi)")

    depends_on("python@3.9:", type=("build", "run"))
    depends_on("py-maturin@1:1", type="build")
    depends_on("rust@1.85:", type="build")
    depends_on("c", type="build")
    depends_on("pkgconfig", type="build")
    depends_on("py-numpy", type=("build", "run"))
    depends_on("py-pandas", type="run")
    depends_on("hdf5@1.10:1.14")
    depends_on("hdf5~mpi", when="~mpi")
    depends_on("hdf5+mpi", when="+mpi")
    depends_on("mpi", when="+mpi")
    depends_on("llvm+clang", type="build", when="+mpi")

    import_modules = ["isf"]

    def setup_build_environment(self, env: EnvironmentModifications) -> None:
        # cargo's downloads stay in the stage, as in Spack's Cargo builder.
        env.set("CARGO_HOME", join_path(self.stage.path, ".cargo"))
        env.set("HDF5_DIR", self.spec["hdf5"].prefix)
        # maturin builds the graph of Cargo.lock (--locked), as the isf recipe does.
        args = ["--locked"]
        if self.spec.satisfies("+mpi"):
            args += ["--features", "mpi"]
            env.set("LIBCLANG_PATH", self.spec["llvm"].prefix.lib)
            env.set("MPICC", self.spec["mpi"].mpicc)
        env.set("MATURIN_PEP517_ARGS", " ".join(args))


class PythonPipBuilder(python.PythonPipBuilder):
    @property
    def build_directory(self):
        return join_path(self.pkg.stage.source_path, "isf-py")
