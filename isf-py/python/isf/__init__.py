"""isf from Python: results files and databases as pandas DataFrames, cells, replays, protocols
and run configs, for notebooks.

The heavy lifting (HDF5, building cells, simulating) is isf's Rust code in the extension module
``isf._isf``; this package arranges its outputs in ISF's column conventions::

    import isf
    r = isf.open_results("example-results.h5")
    r.trials(); r.spikes(); r.synapse_activations(); r.traces().frame()
    db = isf.open_database("my.db"); db.keys(); db["spike_times"]
    isf.Cell.from_param("cell.param").segments()
    isf.replay("cell.param", "network.param", "simulation_run0000_synapses.csv")
    isf.plot.raster(r)    # isf plot's pictures, shown inline by Jupyter

Wheels are serial builds (no MPI, like h5py's); ``isf.simulate`` runs a config in this process
with threads. MPI runs use the ``isf`` binary built from source.
"""

from ._isf import IsfError
from ._isf import version as _version
from ._results import Results, Traces, open_results
from ._database import Database, open_database
from ._cell import Cell, ReplayResult, protocol, replay, simulate
from . import plot

__version__ = _version()

__all__ = [
    "IsfError",
    "Results",
    "Traces",
    "open_results",
    "Database",
    "open_database",
    "Cell",
    "ReplayResult",
    "replay",
    "protocol",
    "simulate",
    "plot",
]
