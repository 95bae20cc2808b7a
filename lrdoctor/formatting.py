"""How lrdoctor writes numbers for people: money, learning rates, steps, durations, energy.

One module for the CLI, the app and the reports (no Qt, no pandas), so "$0.50" is "$0.50"
everywhere and a learning rate reads "3.0e-03" wherever it appears. Every function takes
``None`` (unknown) and non-finite values and says so instead of raising.
"""

from __future__ import annotations

import math
import re
from numbers import Integral, Real
from typing import Any

UNKNOWN = "-"  # what a table cell shows for a value that is not known
# Below this many dollars two significant figures are kept ("$0.0031"): a small run costs cents.
CENT = 0.01


def _finite(x: Any) -> float | None:
    if x is None or isinstance(x, bool):
        return None
    try:
        value = float(x)
    except (TypeError, ValueError):
        return None
    return value if math.isfinite(value) else None


def usd(x: float | None, unknown: str = UNKNOWN) -> str:
    """Dollars: ``$1,234.56``, ``$0.50``, ``$0.0031`` below a cent, ``$0.00`` for zero."""
    value = _finite(x)
    if value is None:
        return unknown
    if value == 0 or abs(value) >= CENT:
        return f"${value:,.2f}" if value >= 0 else f"-${-value:,.2f}"
    return f"${value:.2g}" if value > 0 else f"-${-value:.2g}"


def lr(x: float | None, unknown: str = UNKNOWN) -> str:
    """A learning rate as people write it, always in the same shape: ``3.0e-03``, ``4.8e-01``."""
    value = _finite(x)
    if value is None:
        return unknown
    return "0" if value == 0 else f"{value:.1e}"


def count(x: float | None, unknown: str = UNKNOWN) -> str:
    """A whole number (steps, runs, points) with thousands separators: ``12,500``."""
    value = _finite(x)
    return unknown if value is None else f"{int(round(value)):,}"


def plural(n: float | None, noun: str, unknown: str = UNKNOWN) -> str:
    """A count of things: ``1 run``, ``12,500 steps`` (``noun`` in the singular, an ``s`` added)."""
    value = _finite(n)
    if value is None:
        return unknown
    k = int(round(value))
    return f"{k:,} {noun}" if k == 1 else f"{k:,} {noun}s"


def steps(n: float | None, unknown: str = UNKNOWN) -> str:
    """A number of steps: ``1 step``, ``12,500 steps``."""
    return plural(n, "step", unknown)


def amount(x: float | None, unknown: str = UNKNOWN) -> str:
    """A quantity such as GPU-hours or kWh: ``1,234.56``, ``0.45``, two significant figures below 1."""
    value = _finite(x)
    if value is None:
        return unknown
    return f"{value:,.2f}" if value == 0 or abs(value) >= 1 else f"{value:.2g}"


def number(x: Any, digits: int = 4, unknown: str = UNKNOWN) -> str:
    """Any measured value: ``1,234``, ``0.0123``, ``3e-05``; text stays text."""
    if x is None:
        return unknown
    if isinstance(x, bool):
        return str(x)
    if isinstance(x, Integral):
        return f"{int(x):,}"
    if isinstance(x, Real):
        value = float(x)
        if not math.isfinite(value):
            return str(value)
        if value == 0:
            return "0"
        if abs(value) >= 1e7 or abs(value) < 1e-3:
            return f"{value:.3g}"
        if abs(value) >= 1e4:
            return f"{value:,.0f}"
        return f"{value:.{digits}g}"
    return str(x)


def gpu_hours(x: float | None, unknown: str = UNKNOWN) -> str:
    """``17.19 GPU-h``."""
    return unknown if _finite(x) is None else f"{amount(x)} GPU-h"


def energy(kwh: float | None, unknown: str = UNKNOWN) -> str:
    """``6.88 kWh``; below one kWh in Wh (``650 Wh``) so small runs do not read 0."""
    value = _finite(kwh)
    if value is None:
        return unknown
    if value != 0 and abs(value) < 1:
        return f"{value * 1000:.2g} Wh"
    return f"{amount(value)} kWh"


def co2(kg: float | None, unknown: str = UNKNOWN) -> str:
    """``3.39 kg CO2e``."""
    return unknown if _finite(kg) is None else f"{amount(kg)} kg CO2e"


def duration(seconds: float | None, unknown: str = UNKNOWN) -> str:
    """A span of time: ``2.65 ms``, ``1.2 s``, ``4 min 10 s``, ``3.5 h``, ``2.1 days``."""
    value = _finite(seconds)
    if value is None:
        return unknown
    s = abs(value)
    sign = "-" if value < 0 else ""
    if s == 0:
        return "0 s"
    if s < 1:
        return f"{sign}{s * 1000:.3g} ms"
    if s < 60:
        return f"{sign}{s:.3g} s"
    if s < 3600:
        minutes, rest = divmod(int(round(s)), 60)
        return f"{sign}{minutes} min {rest} s" if rest else f"{sign}{minutes} min"
    if s < 2 * 86400:
        return f"{sign}{s / 3600:.2g} h" if s < 36000 else f"{sign}{s / 3600:.0f} h"
    return f"{sign}{s / 86400:.2g} days"


def step_time(seconds: float | None, unknown: str = UNKNOWN) -> str:
    """Seconds per step: ``2.65 ms/step``."""
    return unknown if _finite(seconds) is None else f"{duration(seconds)}/step"


def percent(fraction: float | None, unknown: str = UNKNOWN) -> str:
    """A fraction as a percentage: ``87%``; ``<1%`` for a small non-zero share."""
    value = _finite(fraction)
    if value is None:
        return unknown
    if 0 < value < 0.005:
        return "<1%"
    return f"{100 * value:.0f}%"


# Characters that move the cursor, recolour the terminal, forge lines or reorder text on screen
# (C0/C1 controls with ESC, DEL, bidi overrides and isolates, line/paragraph separators), and
# the lone surrogates that stand for the bytes of a file name that is not UTF-8.
_INVISIBLE = re.compile("[\x00-\x1f\x7f-\x9f\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069\ud800-\udfff]")
_NAMED_ESCAPES = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}
# ``os.fsdecode`` maps an undecodable byte 0xNN of a file name to the lone surrogate U+DCNN.
_SURROGATE_BYTES = range(0xDC80, 0xDD00)


def _escape_char(match: re.Match[str]) -> str:
    char = match.group(0)
    code = ord(char)
    if char in _NAMED_ESCAPES:
        return _NAMED_ESCAPES[char]
    if code in _SURROGATE_BYTES:
        return f"\\x{code - 0xDC00:02x}"
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def printable(text: Any) -> str:
    """``text`` safe to show: control, bidi-override and undecodable characters as visible escapes.

    A run or file name is user data: ``ESC[2J`` would clear the terminal, a newline would forge
    an output line, U+202E would show ``gpj.exe`` as ``exe.jpg``, and the bytes of a file name
    that is not UTF-8 cannot be written to a UTF-8 report at all. Each is shown as ``\\x1b``,
    ``\\n``, ``\\u202e`` or ``\\xff``; ordinary text (any script, emoji) is left alone.
    """
    text = str(text)
    return _INVISIBLE.sub(_escape_char, text) if _INVISIBLE.search(text) else text


def no_price(gpu: str | None) -> str:
    """What every output says instead of a dollar figure when the GPU has no price."""
    return f"no price for {gpu or 'this GPU'}: give --price"


__all__ = ["UNKNOWN", "amount", "co2", "count", "duration", "energy", "gpu_hours", "lr", "no_price",
           "number", "percent", "plural", "printable", "step_time", "steps", "usd"]
