"""Helpers that lay out ragged data as ISF's wide DataFrames (one column per event, NaN-padded)."""

import numpy as np


def ragged_to_wide(offsets, values):
    """Rows ``values[offsets[i]:offsets[i+1]]`` as a 2-D float array, NaN-padded to the longest.

    Offsets are converted to int64 first: numpy 2 refuses uint64 counts in ``np.repeat``.
    """
    offsets = np.asarray(offsets, dtype=np.int64)
    counts = np.diff(offsets)
    n = len(counts)
    width = int(counts.max()) if n else 0
    out = np.full((n, width), np.nan)
    if width:
        rows = np.repeat(np.arange(n), counts)
        cols = np.arange(offsets[-1] - offsets[0]) - np.repeat(offsets[:-1] - offsets[0], counts)
        out[rows, cols] = np.asarray(values)[offsets[0]:offsets[-1]]
    return out
