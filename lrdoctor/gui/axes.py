"""Axes people read at a glance: plain tick values with engineering prefixes (``300µ``, ``41.2k``)
instead of an axis multiplier, and elapsed time in s / min / h / d chosen by the visible span.
"""

from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg

# Engineering prefixes (powers of 1000); values in [1e-2, 1e4) are written plainly.
PREFIXES: dict[int, str] = {-12: "p", -9: "n", -6: "µ", -3: "m", 0: "", 3: "k", 6: "M", 9: "G", 12: "T"}
PLAIN_LOW, PLAIN_HIGH = 1e-2, 1e4  # 0.05 and 2,500 read better plainly than as 50m and 2.5k
MAX_DECIMALS = 6
# Elapsed-time units, largest first: a span of at least 2 units is written in that unit.
TIME_UNITS: tuple[tuple[float, str], ...] = ((86400.0, "d"), (3600.0, "h"), (60.0, "min"), (1.0, "s"))
UNIT_MIN_SPAN = 2.0
TARGET_TICKS = 6  # major ticks across a typical panel width
NICE_STEPS = (1.0, 2.0, 2.5, 5.0, 10.0)


def _decimals(spacing: float) -> int:
    """Decimals needed so ticks ``spacing`` apart print differently."""
    if spacing <= 0 or not math.isfinite(spacing):
        return 0
    return int(min(MAX_DECIMALS, max(0, -math.floor(math.log10(spacing) + 1e-9))))


def _exponent(scale_ref: float) -> int | None:
    """The engineering exponent for numbers of this size (None: write them plainly)."""
    if scale_ref == 0 or not math.isfinite(scale_ref) or PLAIN_LOW <= scale_ref < PLAIN_HIGH:
        return None
    exp3 = int(math.floor(math.log10(scale_ref) / 3) * 3)
    return min(max(exp3, min(PREFIXES)), max(PREFIXES))


def format_tick(value: float, spacing: float, exp3: int | None | bool = False) -> str:
    """One tick label: plain when moderate, else mantissa + engineering prefix (``300µ``, ``1.5M``).

    ``exp3`` fixes the prefix (so every tick of an axis shares one); by default the value's own.
    """
    if value == 0 or not math.isfinite(value):
        return "0" if value == 0 else str(value)
    if exp3 is False:
        exp3 = _exponent(max(abs(value), abs(spacing)))
    if exp3 is None:
        text = f"{value:,.{_decimals(spacing)}f}"
    else:
        factor = 10.0**exp3
        text = f"{value / factor:.{_decimals(spacing / factor)}f}{PREFIXES[exp3]}"
    return text.replace("-", "−")


def format_ticks(values: list[float], spacing: float) -> list[str]:
    """Labels for one axis's ticks, all with the prefix of the largest one (``0, 500µ, 1000µ``)."""
    finite = [abs(v) for v in values if math.isfinite(v)]
    exp3 = _exponent(max(finite + [abs(spacing)])) if finite else None
    return [format_tick(v, spacing, exp3) for v in values]


def nice_step(raw: float) -> float:
    """The smallest 1/2/2.5/5 x 10^k step at least ``raw``."""
    if raw <= 0 or not math.isfinite(raw):
        return 1.0
    mag = 10.0 ** math.floor(math.log10(raw))
    return next(s * mag for s in NICE_STEPS if s * mag >= raw * (1 - 1e-9))


def time_unit(span_s: float) -> tuple[float, str]:
    """(seconds per unit, unit) for a visible span of ``span_s`` seconds."""
    for size, unit in TIME_UNITS:
        if span_s >= UNIT_MIN_SPAN * size:
            return size, unit
    return TIME_UNITS[-1]


class ReadableAxis(pg.AxisItem):
    """Tick labels with engineering prefixes, never an "(x0.001)" multiplier on the title.

    In log mode pyqtgraph hands ``tickStrings`` the exponents; they are turned back into values.
    """

    def __init__(self, orientation: str, **kwargs: object) -> None:
        super().__init__(orientation, **kwargs)
        self.enableAutoSIPrefix(False)

    def tickStrings(self, values: list[float], scale: float, spacing: float) -> list[str]:  # noqa: N802
        if self.logMode:
            # Label the decades only: the 2..9 minor ticks of a low panel would print over each other.
            return [format_tick(10.0**v, 10.0**v) if abs(v - round(v)) < 1e-6 else "" for v in values]
        return format_ticks([v * scale for v in values], spacing * scale)


class ElapsedTimeAxis(pg.AxisItem):
    """Elapsed seconds shown in s, min, h or d, whichever suits the visible span, on round ticks."""

    def __init__(self, orientation: str = "bottom", **kwargs: object) -> None:
        super().__init__(orientation, **kwargs)
        self.enableAutoSIPrefix(False)
        self.unit = "s"

    def tickSpacing(self, minVal: float, maxVal: float, size: float) -> list[tuple[float, float]]:  # noqa: N802,N803
        span = maxVal - minVal
        if span <= 0 or not math.isfinite(span):
            return super().tickSpacing(minVal, maxVal, size)
        unit_s, self.unit = time_unit(span)
        major = nice_step(span / unit_s / TARGET_TICKS) * unit_s
        return [(major, 0.0), (major / 5, 0.0)]

    def tickStrings(self, values: list[float], scale: float, spacing: float) -> list[str]:  # noqa: N802
        unit_s = next(size for size, unit in TIME_UNITS if unit == self.unit)
        decimals = _decimals(spacing / unit_s)
        return [f"{v / unit_s:,.{decimals}f} {self.unit}".replace("-", "−") for v in values]


def lr_view(values: np.ndarray) -> tuple[bool, tuple[float, float] | None]:
    """(log scale?, fixed y range or None) for learning-rate values.

    Log when the LR spends at least half the run a decade-ish below its peak (step decays, an
    exponential decay, a range test): a linear axis would flatten that half onto zero. A warmup from
    0 or a cosine's tail alone keep the linear axis, which shows their shape. A constant LR gets
    0 to twice its value instead of an autorange around a flat line.
    """
    v = values[np.isfinite(values)]
    if v.size == 0:
        return False, None
    positive = v[v > 0]
    hi, lo = float(v.max()), float(v.min())
    if positive.size and lo >= 0 and float(np.median(positive)) * LOG_LR_RATIO <= float(positive.max()):
        return True, None
    if hi > 0 and (hi - lo) <= CONSTANT_LR_TOLERANCE * hi:
        return False, (0.0, 2.0 * hi)
    return False, None


LOG_LR_RATIO = 5.0  # median this far below the peak: a cosine (2x) stays linear, step decays (10x) go log
CONSTANT_LR_TOLERANCE = 1e-6  # relative spread under which the LR counts as constant
