# Spack recipe for isf's Python package (Spack 1.x package API; see spack/README.md).
# The package's layout: `isf-py/` in the isf repository, built by maturin from its pyproject.toml
# (Python sources in isf-py/python, extension isf._isf), imported as `isf`; always serial (no MPI),
# like its wheels.
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

    depends_on("python@3.9:", type=("build", "run"))
    depends_on("py-maturin@1.5:1", type="build")
    depends_on("rust@1.85:", type="build")
    depends_on("c", type="build")
    depends_on("pkgconfig", type="build")
    depends_on("py-numpy", type=("build", "run"))
    depends_on("py-pandas", type="run")
    depends_on("hdf5@1.10:1.14")
    depends_on("hdf5~mpi")

    import_modules = ["isf"]

    def setup_build_environment(self, env: EnvironmentModifications) -> None:
        # cargo's downloads stay in the stage, as in Spack's Cargo builder.
        env.set("CARGO_HOME", join_path(self.stage.path, ".cargo"))
        env.set("HDF5_DIR", self.spec["hdf5"].prefix)
        # maturin builds the graph of Cargo.lock (--locked), as the isf recipe does.
        env.set("MATURIN_PEP517_ARGS", "--locked")


class PythonPipBuilder(python.PythonPipBuilder):
    @property
    def build_directory(self):
        return join_path(self.pkg.stage.source_path, "isf-py")
