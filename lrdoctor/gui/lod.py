"""Level of detail for huge curves: a min/max envelope when zoomed out, every point when zoomed in.

pyqtgraph's peak downsampling reduces every visible point on every frame; for a
10M-point curve seen whole that is ~20 ms of min/max per curve per frame. The
envelope below is computed once (the same min/max per bin that peak downsampling
draws, so the picture is identical at screen resolution) and the full data is handed
to pyqtgraph only once the view holds few enough points to reduce per frame.
"""

from __future__ import annotations

import warnings

import numpy as np
import pyqtgraph as pg

ENVELOPE_BINS = 8_000  # min/max pairs: several per pixel on any screen
FULL_RES_POINTS = 1_000_000  # beyond this many visible points, draw the envelope
SLICE_MARGIN = 1.0  # full-resolution slices extend one view width either side (pan without reslicing)


def envelope(x: np.ndarray, y: np.ndarray, bins: int = ENVELOPE_BINS) -> tuple[np.ndarray, np.ndarray]:
    """Interleaved (x, min) / (x, max) per bin of equal point count; NaN-only bins stay NaN."""
    n = x.size
    size = max(1, int(np.ceil(n / bins)))
    nb = n // size
    head_x = x[: nb * size].reshape(nb, size)
    head_y = y[: nb * size].reshape(nb, size)
    with warnings.catch_warnings():  # all-NaN bins (a diverged stretch) are expected
        warnings.simplefilter("ignore", RuntimeWarning)
        lo = np.nanmin(np.where(np.isfinite(head_y), head_y, np.nan), axis=1)
        hi = np.nanmax(np.where(np.isfinite(head_y), head_y, np.nan), axis=1)
    xs = np.repeat(head_x[:, 0], 2)
    ys = np.column_stack([lo, hi]).ravel()
    if nb * size < n:  # the tail keeps its own points
        xs = np.concatenate([xs, x[nb * size:]])
        ys = np.concatenate([ys, y[nb * size:]])
    return xs, ys


class LodCurve:
    """Feeds one PlotDataItem either the envelope or a full-resolution slice of its data."""

    def __init__(self, item: pg.PlotDataItem) -> None:
        self.item = item
        self.x = np.empty(0)
        self.y = np.empty(0)
        self.env: tuple[np.ndarray, np.ndarray] | None = None
        self.loaded: tuple[int, int] | None = None  # index range currently given at full resolution

    def set_data(self, x: np.ndarray, y: np.ndarray, view: tuple[float, float] | None = None) -> None:
        """New data; huge data gets an envelope and is shown according to ``view``."""
        self.x, self.y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
        self.loaded = None
        self.env = envelope(self.x, self.y) if self.x.size > FULL_RES_POINTS else None
        if self.env is None:
            self.item.setData(self.x, self.y)
        else:
            self.update_view(view, force=True)

    def update_view(self, view: tuple[float, float] | None, force: bool = False) -> None:
        """Switch between envelope and a full-resolution slice for the x range ``view``."""
        if self.env is None:
            return
        if view is None:
            if force or self.loaded is not None:
                self.loaded = None
                self.item.setData(*self.env)
            return
        lo, hi = view
        i0, i1 = np.searchsorted(self.x, [lo, hi])
        if i1 - i0 > FULL_RES_POINTS:
            if force or self.loaded is not None:
                self.loaded = None
                self.item.setData(*self.env)
            return
        if not force and self.loaded is not None and self.loaded[0] <= i0 and i1 <= self.loaded[1]:
            return  # the view is inside the slice already given
        width = max(i1 - i0, 1)
        a = max(0, int(i0 - SLICE_MARGIN * width))
        b = min(self.x.size, int(i1 + SLICE_MARGIN * width) + 1)
        self.loaded = (a, b)
        self.item.setData(self.x[a:b], self.y[a:b])
