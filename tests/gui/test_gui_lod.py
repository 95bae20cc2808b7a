"""The huge-curve level of detail: the envelope is the exact min/max per bin; zooming in gives every point."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("pytestqt")

import pyqtgraph as pg  # noqa: E402

from lrdoctor.gui import lod  # noqa: E402


def test_envelope_is_min_max_per_bin_with_nans():
    rng = np.random.default_rng(3)
    x = np.arange(10_007, dtype=float)
    y = rng.normal(size=x.size)
    y[100:400] = np.nan  # a whole bin of NaN and parts of others
    y[5000] = np.inf
    xs, ys = lod.envelope(x, y, bins=100)
    size = int(np.ceil(x.size / 100))
    nb = x.size // size
    for b in (0, 3, 49, nb - 1):
        chunk = y[b * size:(b + 1) * size]
        finite = chunk[np.isfinite(chunk)]
        lo, hi = ys[2 * b], ys[2 * b + 1]
        assert xs[2 * b] == x[b * size]
        if finite.size:
            assert (lo, hi) == (finite.min(), finite.max())
        else:
            assert np.isnan(lo) and np.isnan(hi)
    # The tail after the last full bin keeps its own points.
    assert np.array_equal(xs[2 * nb:], x[nb * size:])


def test_lod_curve_switches_between_envelope_and_full_points(qtbot, monkeypatch):
    monkeypatch.setattr(lod, "FULL_RES_POINTS", 10_000)
    item = pg.PlotDataItem()
    curve = lod.LodCurve(item)
    x = np.arange(100_000, dtype=float)
    y = np.sin(x / 100.0)
    curve.set_data(x, y)
    shown_x, _ = item.getData()
    assert shown_x.size <= 2 * lod.ENVELOPE_BINS + 2 * 100_000 // lod.ENVELOPE_BINS
    curve.update_view((50_000.0, 52_000.0))
    shown_x, shown_y = item.getData()
    assert shown_x[0] <= 50_000 and shown_x[-1] >= 52_000
    assert np.array_equal(shown_y, y[int(shown_x[0]):int(shown_x[-1]) + 1])  # every point
    curve.update_view((0.0, 100_000.0))
    assert item.getData()[0].size < 20_000
