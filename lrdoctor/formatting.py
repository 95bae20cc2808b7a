"""How lrdoctor writes numbers for people: money, learning rates, steps, durations, energy.

One module for the CLI, the app and the reports (no Qt, no pandas), so "$0.50" is "$0.50"
everywhere and a learning rate reads "3.0e-03" wherever it appears. Every function takes
``None`` (unknown) and non-finite values and says so instead of raising.
"""

from __future__ import annotations

import functools
import math
import re
from numbers import Integral, Real
from typing import Any, Callable, Protocol

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


class Formatter(Protocol):
    """A number formatter: ``f(x)``, or ``f(x, unknown)`` to say something else than ``-`` when
    ``x`` is not known (None, a bool, text, NaN or an infinity)."""

    def __call__(self, x: Any, unknown: str = UNKNOWN) -> str: ...


def _or_unknown(shape: Callable[[float], str]) -> Formatter:
    """The formatter that writes a finite number as ``shape`` does and anything else as ``unknown``:
    the one place the formatters below decide that a value is not known."""

    def formatter(x: Any, unknown: str = UNKNOWN) -> str:
        value = _finite(x)
        return unknown if value is None else shape(value)

    functools.update_wrapper(formatter, shape, updated=())
    del formatter.__wrapped__  # help() and inspect show (x, unknown), the signature callers use
    return formatter


@_or_unknown
def usd(value: float) -> str:
    """Dollars: ``$1,234.56``, ``$0.50``, ``$0.0031`` below a cent, ``$0.00`` for zero."""
    if value == 0 or abs(value) >= CENT:
        return f"${value:,.2f}" if value >= 0 else f"-${-value:,.2f}"
    return f"${value:.2g}" if value > 0 else f"-${-value:.2g}"


@_or_unknown
def lr(value: float) -> str:
    """A learning rate as people write it, always in the same shape: ``3.0e-03``, ``4.8e-01``."""
    return "0" if value == 0 else f"{value:.1e}"


@_or_unknown
def count(value: float) -> str:
    """A whole number (steps, runs, points) with thousands separators: ``12,500``."""
    return f"{int(round(value)):,}"


def plural(n: float | None, noun: str, unknown: str = UNKNOWN) -> str:
    """A count of things: ``1 run``, ``12,500 steps`` (``noun`` in the singular, an ``s`` added)."""
    value = _finite(n)
    if value is None:
        return unknown
    return f"{count(value)} {noun}" if round(value) == 1 else f"{count(value)} {noun}s"


def steps(n: float | None, unknown: str = UNKNOWN) -> str:
    """A number of steps: ``1 step``, ``12,500 steps``."""
    return plural(n, "step", unknown)


def step_range(start: int | None, end: int | None, unknown: str = "whole run") -> str:
    """A range of steps, the same in the CLI, the app and the reports: ``1,200–3,400``, ``800``,
    ``from 800``, ``up to 3,400``, or ``unknown`` when neither end is known."""
    if start is None and end is None:
        return unknown
    if start is None:
        return f"up to {int(end):,}"
    if end is None:
        return f"from {int(start):,}"
    return f"{int(start):,}" if start == end else f"{int(start):,}–{int(end):,}"


@_or_unknown
def amount(value: float) -> str:
    """A quantity such as GPU-hours or kWh: ``1,234.56``, ``0.45``, two significant figures below 1."""
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


@_or_unknown
def gpu_hours(value: float) -> str:
    """``17.19 GPU-h``."""
    return f"{amount(value)} GPU-h"


@_or_unknown
def energy(value: float) -> str:
    """kWh: ``6.88 kWh``; below one kWh in Wh (``650 Wh``) so small runs do not read 0."""
    if value != 0 and abs(value) < 1:
        return f"{value * 1000:.2g} Wh"
    return f"{amount(value)} kWh"


@_or_unknown
def co2(value: float) -> str:
    """kg: ``3.39 kg CO2e``."""
    return f"{amount(value)} kg CO2e"


@_or_unknown
def duration(value: float) -> str:
    """Seconds as a span of time: ``2.65 ms``, ``1.2 s``, ``4 min 10 s``, ``3.5 h``, ``2.1 days``."""
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


@_or_unknown
def step_time(value: float) -> str:
    """Seconds per step: ``2.65 ms/step``."""
    return f"{duration(value)}/step"


@_or_unknown
def percent(value: float) -> str:
    """A fraction as a percentage: ``87%``; ``<1%`` for a small non-zero share."""
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


__all__ = ["UNKNOWN", "Formatter", "amount", "co2", "count", "duration", "energy", "gpu_hours", "lr", "no_price",
           "number", "percent", "plural", "printable", "step_time", "steps", "usd"]
