"""Cells, replays, protocols and run configs, simulated in this process by isf's Rust code."""

from dataclasses import dataclass
from os import PathLike
from typing import Dict, List, Optional, Tuple, Union

import numpy as np
import pandas as pd

from . import _isf
from ._results import Results

Pathish = Union[str, PathLike]


class Cell:
    """A cell built from its ``.param`` file exactly as ``isf cell-info`` builds it (ISF's rules,
    NEURON's geometry)."""

    def __init__(self, handle: "_isf.CellHandle", path: str):
        self._h = handle
        self.path = path

    @classmethod
    def from_param(cls, path: Pathish) -> "Cell":
        """Builds the cell of a cell parameter file."""
        return cls(_isf.CellHandle(str(path)), str(path))

    def segments(self) -> pd.DataFrame:
        """One row per segment with the columns of ``isf cell-info --segments``: geometry,
        ``area_um2``, ``diam``, ``ri_Mohm``, ``soma_dist`` and every mechanism parameter as
        ``param_mechanism`` (NaN where the mechanism is absent)."""
        order, cols = self._h.segments()
        return pd.DataFrame({c: cols[c] for c in order}, columns=order)

    def recording_sites(self) -> List[str]:
        """Labels of the recording sites of the cell file."""
        return self._h.recording_sites()

    def summary(self) -> str:
        """The summary ``isf cell-info`` prints."""
        return self._h.summary()

    def __repr__(self) -> str:
        return f"<isf.Cell {self.path}>"


@dataclass
class ReplayResult:
    """Traces of a replay at every solver step: the soma and each recording site (mV)."""

    t_ms: np.ndarray
    soma_vm_mV: np.ndarray
    site_vm_mV: Dict[str, np.ndarray]
    soma_spikes_ms: List[float]
    synapses: int
    releases: int

    def frame(self) -> pd.DataFrame:
        """The traces as one DataFrame: index ``t`` (ms), columns ``soma`` and the site labels."""
        cols = {"soma": self.soma_vm_mV, **self.site_vm_mV}
        return pd.DataFrame(cols, index=pd.Index(self.t_ms, name="t"))


def replay(cell_param: Pathish, network_param: Pathish, synapses: Pathish,
           tstop: Optional[float] = None, dt: Optional[float] = None,
           numerics: str = "fast") -> ReplayResult:
    """Replays an ISF synapse activation file (``simulation_runNNNN_synapses.csv``) on a cell, as
    ``isf replay`` does (the same values, in memory): each synapse gets the receptors and
    weights of its population in ``network_param`` and plays its saved release times."""
    r = _isf.replay(str(cell_param), str(network_param), str(synapses), tstop, dt, numerics)
    return ReplayResult(
        t_ms=r["t_ms"],
        soma_vm_mV=r["soma_vm_mV"],
        site_vm_mV=dict(zip(r["site_labels"], r["site_vm_mV"])),
        soma_spikes_ms=list(r["soma_spikes_ms"]),
        synapses=r["synapses"],
        releases=r["releases"],
    )


def protocol(cell_param: Pathish, protocol_file: Pathish) -> pd.DataFrame:
    """Runs a current-injection protocol (TOML: ``tstop``, ``dt``, ``[[iclamp]]``, ``[[epsp]]``,
    ``[[record]]``) on a cell, as ``isf protocol`` does: index ``t`` (ms), one column per
    recorded site (mV), the values of its ``vm.csv``."""
    r = _isf.protocol(str(cell_param), str(protocol_file))
    return pd.DataFrame(dict(zip(r["names"], r["vm_mV"])), columns=r["names"],
                        index=pd.Index(r["t_ms"], name="t"))


def simulate(config: Pathish, overwrite: bool = False, resume: bool = False,
             threads: Optional[int] = None) -> Tuple[Results, Optional[str]]:
    """Runs a run config (``isf simulate --config``) in this process with ``threads`` threads
    (default: the CPUs this process may use) and returns its opened results file and the ISF
    export folder (``isf_folder``, or None). Existing outputs are kept unless ``overwrite`` or
    ``resume`` (continue a killed run) is given."""
    out, isf_folder = _isf.simulate(str(config), overwrite, resume, threads)
    return Results(out), (str(isf_folder) if isf_folder is not None else None)
