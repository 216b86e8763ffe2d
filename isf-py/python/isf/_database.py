"""Databases of ``isf db init`` / ``init-isf``, dict-like as ISF's ``DataBase``."""

import json
from os import PathLike
from pathlib import Path
from typing import Any, Dict, List, Tuple, Union

import numpy as np
import pandas as pd

from ._frames import ragged_to_wide
from ._isf import DatabaseHandle


def _key(key: Union[str, Tuple[str, ...]]) -> str:
    # ISF writes nested keys as tuples; the command line writes them a/b/c.
    return "/".join(key) if isinstance(key, tuple) else key


def _index(ids) -> pd.Index:
    return pd.Index(list(ids), name="sim_trial_index")


def _activations(v: Dict[str, Any]) -> pd.DataFrame:
    rows = np.diff(np.asarray(v["trial_row_offsets"], dtype=np.int64))
    index = pd.Index(np.repeat(np.asarray(v["sim_trial_index"], dtype=object), rows),
                     name="sim_trial_index")
    pops = np.asarray(v["populations"], dtype=object)[np.asarray(v["population_code"], np.int64)]
    if v["activation_kind"] == "synapse":
        labels = np.asarray(v["dendrite_labels"], dtype=object)
        df = pd.DataFrame({
            "synapse_type": pops,
            "synapse_ID": v["id"],
            "soma_distance": v["soma_distance_um"],
            "section_ID": v["section_id"],
            "section_pt_ID": v["section_pt_id"],
            "dendrite_label": labels[np.asarray(v["dendrite_label_code"], np.int64)],
        }, index=index)
    else:
        df = pd.DataFrame({"presynaptic_cell_type": pops, "cell_ID": v["id"]}, index=index)
    wide = ragged_to_wide(v["time_offsets"], v["activation_times_ms"])
    return pd.concat([df, pd.DataFrame(wide, index=index)], axis=1)


class Database:
    """A database folder, read like ISF's ``DataBase``: ``db.keys()``, ``db["spike_times"]``,
    ``db["synapse_activation_binned", "t1", "EI"]`` (or ``"synapse_activation_binned/t1/EI"``).

    Values come back in ISF's layouts: voltage traces as a DataFrame (index ``sim_trial_index``,
    one column per sample time), spike times and activations as DataFrames with one column per
    event (0, 1, … NaN-padded) after their descriptive columns, binned activations as a
    DataFrame of counts (columns: left bin edges), tables as DataFrames, string lists as lists, a
    sub-database as a ``Database``, a managed folder as its ``Path``."""

    def __init__(self, path: Union[str, PathLike]):
        self._h = DatabaseHandle(str(path))

    @property
    def path(self) -> Path:
        """The database's folder."""
        return Path(self._h.path)

    def keys(self) -> List[str]:
        """Top-level keys."""
        return [k for k, _ in self._h.keys()]

    def keys_recursive(self) -> List[str]:
        """Every key, sub-databases' keys included, as ``a/b/c``."""
        return [k for k, _ in self._h.keys_recursive()]

    def kind(self, key) -> str:
        """The kind of a key's value (``spike_times``, ``activations``, …)."""
        return self.metadata(key)["kind"]

    def metadata(self, key) -> Dict[str, Any]:
        """A key's metadata (kind, description, sources, parameters, …)."""
        return json.loads(self._h.meta_json(_key(key)))

    def show(self, key, trial: Union[str, None] = None) -> str:
        """What ``isf db show DB KEY [--trial T]`` prints."""
        return self._h.show(_key(key), trial)

    def __contains__(self, key) -> bool:
        try:
            self._h.meta_json(_key(key))
            return True
        except KeyError:
            return False

    def __iter__(self):
        return iter(self.keys())

    def __len__(self) -> int:
        return len(self.keys())

    def __getitem__(self, key):
        kind, v = self._h.get(_key(key))
        if kind == "sub_db":
            return Database(v["path"])
        if kind == "voltage_traces":
            return pd.DataFrame(v["vm_mV"], index=_index(v["sim_trial_index"]), columns=v["t_ms"])
        if kind == "spike_times":
            return pd.DataFrame(ragged_to_wide(v["offsets"], v["spike_times_ms"]),
                                index=_index(v["sim_trial_index"]))
        if kind == "activations":
            return _activations(v)
        if kind == "binned_activation":
            return pd.DataFrame(v["counts"], index=_index(v["sim_trial_index"]),
                                columns=v["bin_edges_ms"][:-1])
        if kind == "table":
            return pd.DataFrame({c: v["columns"][c] for c in v["column_order"]},
                                columns=v["column_order"])
        if kind == "strings":
            return list(v["values"])
        # Managed folders, and values read with h5py (the reduced model's data.h5).
        return Path(v["path"])

    def __repr__(self) -> str:
        return f"<isf.Database {self.path}: {len(self)} keys>"


def open_database(path: Union[str, PathLike]) -> Database:
    """Opens a database folder of ``isf db init`` / ``isf db init-isf`` for reading."""
    return Database(path)
