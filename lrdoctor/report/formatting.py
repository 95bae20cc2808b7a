"""Number and text formatting shared by the report model and its renderers (no Qt)."""

from __future__ import annotations

import math
import re
from typing import Any, Iterable

import numpy as np

from lrdoctor.analysis.findings import SEVERITIES, Finding
from lrdoctor.style import MODE_LABELS

# Long values (lists, paths, nested blobs) are cut so a table cell stays one line or two.
MAX_VALUE_CHARS = 120


def fmt_number(x: Any, digits: int = 4) -> str:
    """A number for people: ``1,234``, ``0.0123``, ``3e-05``; non-numbers as text."""
    if x is None:
        return "-"
    if isinstance(x, bool):
        return str(x)
    if isinstance(x, (int, np.integer)):
        return f"{int(x):,}"
    if isinstance(x, (float, np.floating)):
        x = float(x)
        if not math.isfinite(x):
            return str(x)
        if x == 0:
            return "0"
        if abs(x) >= 1e7:
            return f"{x:.3g}"
        if abs(x) >= 1e4:
            return f"{x:,.0f}"
        if abs(x) < 1e-3:
            return f"{x:.3g}"
        return f"{x:.{digits}g}"
    return str(x)


# A list in a table cell shows this many items, then "(+N more)".
MAX_LIST_ITEMS = 8


def fmt_value(x: Any) -> str:
    """Any evidence value for people: numbers via :func:`fmt_number`, lists item by item."""
    if isinstance(x, (list, tuple, np.ndarray)):
        items = [fmt_number(v) for v in list(x)[:MAX_LIST_ITEMS]]
        more = len(x) - MAX_LIST_ITEMS
        return ", ".join(items) + (f" (+{more} more)" if more > 0 else "")
    return fmt_number(x)


def fmt_lr(x: float | None) -> str:
    """A learning rate: ``3e-04`` style below 0.01, ``0.03`` above."""
    if x is None or not math.isfinite(float(x)):
        return "-"
    return f"{x:.2e}" if abs(x) < 1e-2 else f"{x:.3g}"


def fmt_usd(x: float | None) -> str:
    """Dollars with cents; two significant digits below a dollar (small runs cost fractions of a cent)."""
    if x is None:
        return "-"
    return f"${x:,.2f}" if x >= 1 or x == 0 else f"${x:.2g}"


def fmt_amount(x: float | None) -> str:
    """A quantity such as GPU-hours or kWh: two decimals, two significant digits below 1."""
    if x is None:
        return "-"
    return f"{x:,.2f}" if x >= 1 or x == 0 else f"{x:.2g}"


def fmt_hours(x: float | None) -> str:
    """GPU-hours."""
    return "-" if x is None else f"{fmt_amount(x)} GPU-h"


def clip(text: str, limit: int = MAX_VALUE_CHARS) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def slugify(text: str, taken: set[str]) -> str:
    """A file- and anchor-safe unique key for ``text``."""
    base = re.sub(r"[^A-Za-z0-9_.-]+", "-", text).strip("-.").lower()[:60] or "item"
    key, n = base, 2
    while key in taken:
        key, n = f"{base}-{n}", n + 1
    taken.add(key)
    return key


def flatten(mapping: dict[str, Any], prefix: str = "") -> Iterable[tuple[str, Any]]:
    """Nested dicts as dotted keys."""
    for key, value in mapping.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict) and value:
            yield from flatten(value, name + ".")
        else:
            yield name, value


def steps_text(f: Finding) -> str:
    start, end = f.step_start, f.step_end
    if start is None and end is None:
        return "whole run"
    if start is None:
        return f"..{end:,}"
    if end is None:
        return f"{start:,}.."
    return f"{start:,}" if start == end else f"{start:,}..{end:,}"


def severity_rank(severity: str | None) -> int:
    """0 for healthy, then info < warning < critical."""
    return 0 if severity is None else SEVERITIES.index(severity) + 1


def sorted_findings(findings: list[Finding]) -> list[Finding]:
    """Most severe first, then most confident."""
    return sorted(findings, key=lambda f: (-SEVERITIES.index(f.severity), -float(f.confidence)))


def finding_summary(f: Finding) -> str:
    return str(f.evidence.get("summary") or MODE_LABELS.get(f.mode, f.mode))


def sentence_case(text: str) -> str:
    """First letter upper case (the analyzer writes recommendations to follow a colon)."""
    return text[:1].upper() + text[1:]


def mode_label(mode: str) -> str:
    """The people's name of a failure mode."""
    return MODE_LABELS.get(mode, mode.replace("_", " "))
