"""The pictures of ``isf plot`` in a notebook, shown inline::

    import isf
    r = isf.open_results("results.h5")
    isf.plot.raster(r)                                  # soma spikes of every trial
    isf.plot.traces(r, trials=[0, 1], sites=True)
    isf.plot.psth(r, of="synapses", bin=5, group="ei").save("psth.svg")

Each function draws with isf's Rust plotting code, the code ``isf plot`` runs, so a picture's
bytes are those the command line writes for the same arguments. It returns a :class:`Picture`,
which Jupyter displays (PNG, SVG, or an animated GIF) and which ``save`` writes to a file. The
options are the command line's (docs/plot.md), as keyword arguments: ``--t-start`` is
``t_start=``, ``--no-synapses`` is ``show_synapses=False``.
"""

import base64
import os
from os import PathLike
from pathlib import Path
from typing import Iterable, Optional, Union

from . import _isf
from ._database import Database
from ._results import Results

Pathish = Union[str, PathLike]
Trials = Union[None, str, int, Iterable[int]]

_MIME = {"png": "image/png", "svg": "image/svg+xml", "gif": "image/gif"}


class Picture:
    """A rendered picture: ``data`` (bytes) in ``format`` (``png``, ``svg`` or ``gif``) of
    ``width`` × ``height`` pixels. Jupyter shows it inline (``_repr_png_``, ``_repr_svg_``, and
    for a GIF ``_repr_html_``, which every front end renders); IPython is not needed otherwise."""

    def __init__(self, data: bytes, format: str, width: int, height: int,
                 soma_check: Optional[str] = None):
        if format not in _MIME:
            raise ValueError(f"picture format {format!r}: png, svg or gif")
        self.data = bytes(data)
        self.format = format
        self.width = int(width)
        self.height = int(height)
        #: For a morphology: how the re-simulated soma trace compares with the stored one.
        self.soma_check = soma_check

    @property
    def mimetype(self) -> str:
        """The picture's MIME type."""
        return _MIME[self.format]

    def _repr_png_(self) -> Optional[bytes]:
        return self.data if self.format == "png" else None

    def _repr_svg_(self) -> Optional[str]:
        return self.data.decode("utf-8") if self.format == "svg" else None

    def _repr_html_(self) -> Optional[str]:
        # A GIF has no repr method of its own in IPython; an <img> with the bytes inline does.
        if self.format != "gif":
            return None
        b64 = base64.b64encode(self.data).decode("ascii")
        return (f'<img src="data:{self.mimetype};base64,{b64}" width="{self.width}" '
                f'height="{self.height}" alt="isf picture"/>')

    def save(self, path: Pathish, overwrite: bool = False) -> Path:
        """Writes the picture to ``path``, whose extension must name its format (``.png``,
        ``.svg``, ``.gif``). An existing file is kept (an error) unless ``overwrite``, as with
        every isf output. The file appears whole or not at all (written beside it, then
        renamed)."""
        path = Path(path)
        if path.suffix.lower() != "." + self.format:
            raise ValueError(f"{path}: the picture is {self.format}: name the file "
                             f".{self.format}")
        if path.exists() and not overwrite:
            raise FileExistsError(f"{path} already exists: pass overwrite=True to replace it")
        tmp = path.with_name(f".{path.name}.partial")
        tmp.write_bytes(self.data)
        os.replace(tmp, path)
        return path

    def __repr__(self) -> str:
        return (f"<isf.plot.Picture {self.format} {self.width}×{self.height} px, "
                f"{len(self.data)} bytes>")


def _picture(r, format: str) -> Picture:
    data, w, h = r
    return Picture(data, format, w, h)


def _trials(trials: Trials) -> Optional[str]:
    """A trial selection as the command line's ``--trials`` text: ``all``, ``0,3,5-9``, an index,
    or indices (a list, a range, a numpy array)."""
    if trials is None or isinstance(trials, str):
        return trials
    if isinstance(trials, int):
        trials = [trials]
    out = []
    for t in trials:
        if int(t) != t or t < 0:
            raise ValueError(f"trials: {t!r} is not a trial index (0, 1, …)")
        out.append(str(int(t)))
    if not out:
        raise ValueError("trials: the selection is empty")
    return ",".join(out)


def _source(source, cell: Optional[str]) -> dict:
    """A chart's data: an opened results file, a results file's path, or an ISF output folder."""
    if isinstance(source, Results):
        return {"results": source.path, "isf_folder": None, "cell": cell}
    p = Path(source)
    if p.is_dir():
        return {"results": None, "isf_folder": str(p), "cell": cell}
    return {"results": str(p), "isf_folder": None, "cell": cell}


def _db(db) -> str:
    return str(db.path if isinstance(db, Database) else db)


def traces(source: Union[Results, Pathish], trials: Trials = None, sites: bool = False,
           t_start: Optional[float] = None, t_stop: Optional[float] = None,
           cell: Optional[str] = None, format: str = "png", width: Optional[int] = None,
           height: Optional[int] = None) -> Picture:
    """Voltage traces of the selected trials (default: the first), soma spikes marked, and the
    recording sites' traces with ``sites``. ``source`` is a results file (opened or its path;
    ``cell`` when it has several) or an ISF output folder (trials are its runs)."""
    return _picture(_isf.plot_traces(**_source(source, cell), trials=_trials(trials),
                                     t_start=t_start, t_stop=t_stop, sites=sites, format=format,
                                     width=width, height=height), format.lower())


def raster(source: Union[Results, Pathish], trials: Trials = None, of: str = "soma",
           t_start: Optional[float] = None, t_stop: Optional[float] = None,
           cell: Optional[str] = None, format: str = "png", width: Optional[int] = None,
           height: Optional[int] = None) -> Picture:
    """A raster: ``of="soma"`` spikes across the selected trials (default: all), or one trial's
    (default: the first) ``"presynaptic"`` spikes or ``"synapses"`` activations, grouped and
    coloured by population."""
    return _picture(_isf.plot_raster(**_source(source, cell), trials=_trials(trials),
                                     t_start=t_start, t_stop=t_stop, of=of, format=format,
                                     width=width, height=height), format.lower())


def psth(source: Union[Results, Pathish], trials: Trials = None, of: str = "soma",
         bin: float = 5.0, group: str = "cell-type", t_start: Optional[float] = None,
         t_stop: Optional[float] = None, cell: Optional[str] = None, format: str = "png",
         width: Optional[int] = None, height: Optional[int] = None) -> Picture:
    """A PSTH over the selected trials (default: all) in bins of ``bin`` ms: of ``"soma"``
    spikes [Hz], or of ``"synapses"`` activations per ``group`` (``"cell-type"`` or ``"ei"``)."""
    return _picture(_isf.plot_psth(**_source(source, cell), trials=_trials(trials),
                                   t_start=t_start, t_stop=t_stop, of=of, bin=bin, group=group,
                                   format=format, width=width, height=height), format.lower())


def binning(db: Union[Database, Pathish], key: Optional[str] = None, trials: Trials = None,
            t_start: Optional[float] = None, t_stop: Optional[float] = None,
            format: str = "png", width: Optional[int] = None,
            height: Optional[int] = None) -> Picture:
    """Heat maps of a database's synapse-activation binning (``isf db bin``): mean activations per
    trial over the selected trials (default: all), time on x, groups (or soma distance) on y.
    ``key`` is the binning (default: the database's only one, or its only one by soma
    distance)."""
    return _picture(_isf.plot_binning(_db(db), key=key, trials=_trials(trials), t_start=t_start,
                                      t_stop=t_stop, format=format, width=width, height=height),
                    format.lower())


def kernels(db: Union[Database, Pathish], model: str, format: str = "png",
            width: Optional[int] = None, height: Optional[int] = None) -> Picture:
    """The temporal (and, for soma-distance keys, spatial) kernels of the reduced model ``model``
    (``isf reduce fit --out MODEL``) of a database."""
    return _picture(_isf.plot_kernels(_db(db), model, format=format, width=width, height=height),
                    format.lower())


def morphology(isf_folder: Optional[Pathish] = None, run: int = 0, *,
               synapses: Optional[Pathish] = None, cell_param: Optional[Pathish] = None,
               network_param: Optional[Pathish] = None, results: Optional[Pathish] = None,
               db: Optional[Pathish] = None, trial: Union[int, str, None] = None,
               cell: Optional[str] = None, resimulate: bool = False,
               numerics: Optional[str] = None,
               at: Optional[float] = None, t_start: float = 220.0, t_stop: float = 270.0,
               t_step: float = 0.2, azimuth: float = -90.0, elevation: float = 0.0,
               color: str = "voltage", scalar: Optional[str] = None,
               scalar_min: Optional[float] = None, scalar_max: Optional[float] = None,
               vmin: float = -75.0, vmax: float = -30.0, show_synapses: bool = True,
               synapse_window: Optional[float] = None, fps: float = 25.0,
               width: Optional[int] = None, height: Optional[int] = None) -> Picture:
    """The 3-D morphology of a stored trial coloured by voltage (``color="label"``: by
    dendrite label; ``color="scalar", scalar=COLUMN``: by a column of ``Cell.segments()``) with
    its active synapses: a PNG still at time ``at``, else the frames ``t_start``, ``t_start +
    t_step``, … below ``t_stop`` as an animated GIF at ``fps``. The trial is run ``run`` of an ISF
    output folder (parameter files: the folder's copies unless given), a synapse activation
    file ``synapses`` with ``cell_param`` and ``network_param``, trial ``trial`` (its index; of
    cell ``cell`` when the file holds several) of an isf results file ``results``, or trial
    ``trial`` (``"<cell>/<NNNNNN>"``) of a database ``db``. A results file whose run recorded
    every segment is drawn from that recording unless ``resimulate``; otherwise the trial is
    re-simulated (``numerics``: the run's unless given, else ``"fast"``), and ``soma_check`` of
    the result says how the re-simulated soma trace compares with the stored one."""
    opt = lambda p: None if p is None else str(p)  # noqa: E731
    data, w, h, check = _isf.plot_morphology(
        isf_folder=opt(isf_folder), run=run, synapses=opt(synapses), cell_param=opt(cell_param),
        network_param=opt(network_param), results=opt(results), db=opt(db),
        trial=None if trial is None else str(trial), cell=cell, resimulate=resimulate,
        numerics=numerics, t_start=t_start, t_stop=t_stop,
        t_step=t_step, at=at, azimuth=azimuth, elevation=elevation, color=color, scalar=scalar,
        scalar_min=scalar_min, scalar_max=scalar_max, vmin=vmin, vmax=vmax,
        synapses_shown=show_synapses, synapse_window=synapse_window, fps=fps, width=width,
        height=height)
    return Picture(data, "png" if at is not None else "gif", w, h, soma_check=check)


__all__ = ["Picture", "traces", "raster", "psth", "binning", "kernels", "morphology"]
