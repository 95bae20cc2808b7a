"""Number formatting for the one-line evidence sentences and recommendations."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from lrdoctor import formatting


def lr(x: float | None) -> str:
    """An LR the way people write it: ``3.1e-03`` (:func:`lrdoctor.formatting.lr`)."""
    return formatting.lr(x, unknown="?")


def num(x: float | None) -> str:
    """A loss value with 3 significant digits."""
    if x is None or not math.isfinite(x):
        return "non-finite"
    return f"{x:.3g}"


def step(x: float | None) -> str:
    """A step number with thousands separators."""
    return formatting.count(x, unknown="?")


def steps_short(n: float) -> str:
    """A step count: ``8k`` above ten thousand, ``1,250`` below."""
    n = int(round(n))
    if n >= 10_000:
        return f"{n / 1000:.0f}k"
    return f"{n:,}"


def factor(x: float) -> str:
    """A ratio: ``14x`` or ``2.5x``."""
    if not math.isfinite(x):
        return "inf"
    return f"{x:.0f}x" if x >= 10 else f"{x:.1f}x"


def pct(x: float) -> str:
    """A fraction as a percentage."""
    return f"{100 * x:.0f}%"


def clean(value):
    """Values as strict JSON (recursively): NumPy scalars and arrays to Python, non-finite floats
    to None, tables summarised by their shape, anything else unknown as its text."""
    if isinstance(value, dict):
        return {str(k): clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set)):
        return [clean(v) for v in value]
    if isinstance(value, pd.DataFrame):
        return {"table": {"rows": int(len(value)), "columns": [str(c) for c in value.columns]}}
    if isinstance(value, np.ndarray):
        return clean(value.tolist())
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):
        try:
            value = value.item()
        except (ValueError, AttributeError):
            pass
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return str(value)
