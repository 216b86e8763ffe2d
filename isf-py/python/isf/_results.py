"""Results files of ``isf simulate --config`` as pandas DataFrames, honouring ``commit_state``."""

from dataclasses import dataclass
from os import PathLike
from typing import List, Optional, Union

import numpy as np
import pandas as pd

from ._frames import ragged_to_wide
from ._isf import IsfError, ResultsFile

#: Positions of a synapse, in ISF's synapse activation columns.
SYNAPSE_COLUMNS = [
    "synapse_type",
    "synapse_ID",
    "soma_distance",
    "section_ID",
    "section_pt_ID",
    "dendrite_label",
]
#: Leading columns of ISF's presynaptic cell activation table.
CELL_COLUMNS = ["presynaptic_cell_type", "cell_ID"]

# Indexes of a cell's words in commit_state (isf_io::results_schema::cell_commit).
_TRACE_ROWS, _SYN_ROWS, _SYN_TIMES, _PRE_ROWS, _PRE_TIMES, _SOMA_SPIKES = range(6)


@dataclass
class Traces:
    """Voltage traces of one cell and site: ``vm_mV[i]`` is trial ``sim_trial_index[i]``."""

    t_ms: np.ndarray
    vm_mV: np.ndarray
    sim_trial_index: List[str]
    site: str

    def frame(self) -> pd.DataFrame:
        """ISF's voltage-trace table: one row per trial (index ``sim_trial_index``), one column per
        sample time."""
        df = pd.DataFrame(self.vm_mV, index=pd.Index(self.sim_trial_index, name="sim_trial_index"),
                          columns=self.t_ms)
        return df


class _Closed:
    """Stands in for a closed file: every read names it."""

    def __init__(self, path: str):
        self.path = path

    def __getattr__(self, name):
        raise IsfError(f"{self.path}: the results file is closed")


class Results:
    """A results file. Only what ``commit_state`` counts is shown: rows a killed run left
    beyond it (a partly written batch) are never read."""

    def __init__(self, path: Union[str, PathLike]):
        self._f = ResultsFile(str(path))
        attrs = self._f.root_attrs()
        self.format_version = attrs["format_version"]
        self.n_trials_total = attrs.get("n_trials_total")
        words = [int(w) for w in attrs["commit_state"]]
        self.committed_batches, self.committed_trials = words[0], words[1]
        self._cells = {c["name"]: c for c in self._f.cells()}
        self._commit = {}
        for name, c in self._cells.items():
            i = int(c["cell_id"])
            if 2 + 6 * i + 6 > len(words):
                raise IsfError(f"{self.path}: commit_state has no entry for cell {i} ({name})")
            self._commit[name] = words[2 + 6 * i: 2 + 6 * i + 6]

    @property
    def path(self) -> str:
        """The file's path."""
        return str(self._f.path)

    @property
    def cells(self) -> List[str]:
        """Cell names (groups under ``/cells``), ordered by cell id."""
        return sorted(self._cells, key=lambda n: self._cells[n]["cell_id"])

    @property
    def complete(self) -> bool:
        """Whether every trial of the run is committed."""
        return self.n_trials_total is not None and self.committed_trials == self.n_trials_total

    def _cell(self, cell: Optional[str]) -> str:
        if cell is None:
            if len(self._cells) != 1:
                raise ValueError(f"{self.path} has cells {self.cells}: name one with cell=")
            return next(iter(self._cells))
        if cell not in self._cells:
            raise KeyError(f"{self.path} has no cell {cell!r} (cells: {self.cells})")
        return cell

    def _trial_ids(self, cell: str, n: int) -> List[str]:
        return [f"{cell}/{k:06d}" for k in range(n)]

    def site_labels(self, cell: Optional[str] = None) -> List[str]:
        """The recording sites of a cell."""
        return list(self._cells[self._cell(cell)]["site_labels"])

    def parameter_file(self, name: str, cell: Optional[str] = None) -> str:
        """A simulated parameter file (``neuron_model.param``, ``network_model.param``) as text."""
        cell = self._cell(cell)
        return self._f.text(f"cells/{cell}/parameterfiles/{name}")

    def attrs(self, path: str = "/") -> dict:
        """The attributes of a group or dataset (default: the root: format, format_version,
        batch_size, n_trials_total, commit_state, …)."""
        return self._f.attrs(path)

    def provenance(self) -> dict:
        """How the file was made: the ``/provenance`` attributes (isf version, command line,
        start/end times, ranks, threads, input files and their SHA-256), ``config_text`` and
        ``files`` (path → text of every input file)."""
        p = dict(self._f.attrs("provenance"))
        if self._f.has("provenance/config_text"):
            p["config_text"] = self._f.text("provenance/config_text")
        files = {}
        if self._f.has("provenance/files"):
            for m in self._f.members("provenance/files"):
                at = f"provenance/files/{m}"
                files[self._f.attrs(at).get("path", m)] = self._f.text(at)
        p["files"] = files
        return p

    def trials(self) -> pd.DataFrame:
        """The trial table (``trial_id, cell_id, seed, sweep, n_soma_spikes, wall_time_s, rank``) of
        the committed trials, indexed by ``sim_trial_index`` (``<cell>/<trial in cell, 6 digits>``,
        the ids of ``isf db init``)."""
        n = self.committed_trials
        cols = ["trial_id", "cell_id", "seed", "sweep", "n_soma_spikes", "wall_time_s", "rank"]
        df = pd.DataFrame({c: self._f.column(f"trials/{c}", n) for c in cols})
        by_id = {int(c["cell_id"]): c for c in self._cells.values()}
        ids = []
        for tid, cid in zip(df["trial_id"].to_numpy(), df["cell_id"].to_numpy()):
            c = by_id.get(int(cid))
            if c is None:
                raise IsfError(f"{self.path}: trials/cell_id names cell {cid}, which has no group")
            ids.append(f"{c['name']}/{int(tid) - int(c['first_trial_id']):06d}")
        df.index = pd.Index(ids, name="sim_trial_index")
        return df

    def traces(self, cell: Optional[str] = None, site: Optional[str] = None) -> Traces:
        """Committed voltage traces of a cell as numpy arrays: the soma (default) or the recording
        site whose label is or starts with ``site``. Values are float32 as stored."""
        cell = self._cell(cell)
        c = self._cells[cell]
        if site is None or site == "soma":
            path, label = f"cells/{cell}/soma_vm", "soma"
        else:
            hits = [i for i, l in enumerate(c["site_labels"]) if l == site or l.startswith(site)]
            if len(hits) != 1:
                raise KeyError(f"site {site!r} matches {len(hits)} sites of cell {cell}: "
                               f"{c['site_labels']}")
            path, label = c["site_datasets"][hits[0]], c["site_labels"][hits[0]]
        n = self._commit[cell][_TRACE_ROWS]
        vm = self._f.rows(path, 0, n)
        t = self._f.column(f"cells/{cell}/t_ms", vm.shape[1])
        return Traces(t_ms=t, vm_mV=vm, sim_trial_index=self._trial_ids(cell, n), site=label)

    def spikes(self, cell: Optional[str] = None) -> pd.DataFrame:
        """Soma spike times (0 mV upward crossings, the SONATA ``/spikes``) in ISF's layout: one row
        per committed trial (index ``sim_trial_index``), columns 0, 1, … NaN-padded."""
        cell = self._cell(cell)
        n_trials = self._commit[cell][_TRACE_ROWS]
        n = self._commit[cell][_SOMA_SPIKES]
        t = self._f.column(f"spikes/{cell}/timestamps", n)
        node = self._f.column(f"spikes/{cell}/node_ids", n).astype(np.int64)
        if n and (node.min() < 0 or node.max() >= n_trials):
            raise IsfError(f"{self.path}: spikes/{cell}/node_ids names a trial beyond the "
                           f"{n_trials} committed ones")
        order = np.argsort(node, kind="stable")
        counts = np.bincount(node, minlength=n_trials)
        offsets = np.concatenate([[0], np.cumsum(counts)])
        wide = ragged_to_wide(offsets, t[order])
        return pd.DataFrame(wide, index=pd.Index(self._trial_ids(cell, n_trials),
                                                 name="sim_trial_index"))

    def _ragged(self, cell: str, group: str, id_name: str, rows_field: int, times_field: int):
        """The committed rows of a ragged activation group, checked and sorted as ISF writes them
        (population name by code point, then id) within each trial."""
        base = f"cells/{cell}/{group}"
        commit = self._commit[cell]
        n_trials, n_rows, n_times = commit[_TRACE_ROWS], commit[rows_field], commit[times_field]
        col = self._f.column
        ts = col(f"{base}/trial_start", n_trials).astype(np.int64)
        tc = col(f"{base}/trial_count", n_trials).astype(np.int64)
        pop = col(f"{base}/population", n_rows).astype(np.int64)
        ids = col(f"{base}/{id_name}", n_rows).astype(np.int64)
        s = col(f"{base}/times_start", n_rows).astype(np.int64)
        c = col(f"{base}/times_count", n_rows).astype(np.int64)
        times = col(f"{base}/times_ms", n_times)
        for name, start, count, total in (("trial", ts, tc, n_rows), ("times", s, c, n_times)):
            ends = np.cumsum(count)
            if len(count) and (ends[-1] != total or not np.array_equal(start, ends - count)):
                raise IsfError(f"{self.path}: {base}/{name}_start and {name}_count do not tile the "
                               f"{total} committed entries")
        names = np.asarray(self._cells[cell]["population_names"], dtype=object)
        if n_rows and (pop.min() < 0 or pop.max() >= len(names)):
            raise IsfError(f"{self.path}: {base}/population indexes beyond population_names")
        trial = np.repeat(np.arange(n_trials), tc)
        rank = np.argsort(np.argsort(names.astype(str), kind="stable"), kind="stable")
        order = np.lexsort((ids, rank[pop] if n_rows else pop, trial))
        offsets = np.concatenate([[0], np.cumsum(c[order])])
        flat = np.concatenate([times[a:a + k] for a, k in zip(s[order], c[order])]) \
            if n_rows else np.zeros(0)
        index = pd.Index(np.asarray(self._trial_ids(cell, n_trials), dtype=object)[trial[order]],
                         name="sim_trial_index")
        return index, names[pop[order]] if n_rows else names[:0], ids[order], pop[order], \
            ragged_to_wide(offsets, flat)

    def synapse_activations(self, cell: Optional[str] = None) -> pd.DataFrame:
        """Synapse activations in ISF's layout (``db['synapse_activation']``): one row per active
        synapse of a committed trial, index ``sim_trial_index``; ``synapse_type, synapse_ID,
        soma_distance, section_ID, section_pt_ID, dendrite_label``, then the release times in
        columns 0, 1, … (NaN-padded). Positions come from the cell's synapse table (format
        version 2; version 1 gives NaN, −1 and ``unknown``)."""
        cell = self._cell(cell)
        index, pops, ids, codes, wide = self._ragged(cell, "synapse_activations", "synapse_id",
                                                     _SYN_ROWS, _SYN_TIMES)
        df = pd.DataFrame({"synapse_type": pops, "synapse_ID": ids}, index=index)
        pos = self._positions(cell)
        if pos is None:
            df["soma_distance"], df["section_ID"], df["section_pt_ID"] = np.nan, -1, -1
            df["dendrite_label"] = "unknown"
        else:
            key = pd.MultiIndex.from_arrays([codes, ids])
            found = pos.reindex(key)
            if found["soma_distance"].isna().any():
                raise IsfError(f"{self.path}: cells/{cell}/synapse_activations names a synapse "
                               f"missing from cells/{cell}/synapses")
            for c in ("soma_distance", "section_ID", "section_pt_ID", "dendrite_label"):
                df[c] = found[c].to_numpy()
            for c in ("section_ID", "section_pt_ID"):
                df[c] = df[c].astype(np.int64)
        return pd.concat([df, pd.DataFrame(wide, index=index)], axis=1)

    def _positions(self, cell: str) -> Optional[pd.DataFrame]:
        c = self._cells[cell]
        if c["label_names"] is None:
            return None
        base = f"cells/{cell}/synapses"
        n = self._f.len(f"{base}/population")
        col = self._f.column
        labels = np.asarray(c["label_names"], dtype=object)
        codes = col(f"{base}/dendrite_label", n).astype(np.int64)
        if n and codes.max() >= len(labels):
            raise IsfError(f"{self.path}: {base}/dendrite_label indexes beyond label_names")
        return pd.DataFrame({
            "soma_distance": col(f"{base}/soma_distance_um", n),
            "section_ID": col(f"{base}/section_id", n).astype(np.int64),
            "section_pt_ID": col(f"{base}/section_pt_id", n).astype(np.int64),
            "dendrite_label": labels[codes],
        }, index=pd.MultiIndex.from_arrays([col(f"{base}/population", n).astype(np.int64),
                                            col(f"{base}/synapse_id", n).astype(np.int64)]))

    def presynaptic(self, cell: Optional[str] = None) -> pd.DataFrame:
        """Presynaptic spikes in ISF's layout (``db['cell_activation']``): one row per spiking
        presynaptic cell of a committed trial, index ``sim_trial_index``; ``presynaptic_cell_type,
        cell_ID``, then the spike times in columns 0, 1, … (NaN-padded)."""
        cell = self._cell(cell)
        index, pops, ids, _, wide = self._ragged(cell, "presynaptic_spikes", "cell_id",
                                                 _PRE_ROWS, _PRE_TIMES)
        df = pd.DataFrame({"presynaptic_cell_type": pops, "cell_ID": ids}, index=index)
        return pd.concat([df, pd.DataFrame(wide, index=index)], axis=1)

    def to_sonata_report(self, out: Union[str, PathLike], sites: bool = True) -> str:
        """Writes the committed traces as a SONATA element report (``/report/<cell>/data`` and
        ``mapping``; node id = trial index within the cell, element 0 = soma, 1… = the recording
        sites) into the new file ``out``, which ``libsonata.ElementReportReader`` reads."""
        rows = [(c, self._commit[c][_TRACE_ROWS]) for c in self.cells]
        self._f.write_sonata_report(str(out), rows, sites)
        return str(out)

    def close(self) -> None:
        """Closes the file (so that a run may resume or replace it); later reads fail."""
        self._f = _Closed(self.path)

    def __enter__(self) -> "Results":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __repr__(self) -> str:
        total = self.n_trials_total if self.n_trials_total is not None else "?"
        return (f"<isf.Results {self.path}: cells {self.cells}, {self.committed_trials} of "
                f"{total} trials committed>")


def open_results(path: Union[str, PathLike]) -> Results:
    """Opens a results file of ``isf simulate --config`` for reading."""
    return Results(path)
