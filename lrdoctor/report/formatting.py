"""Text helpers of the report model and its renderers (no Qt); numbers come from ``lrdoctor.formatting``."""

from __future__ import annotations

import re
from typing import Any, Iterable

import numpy as np

from lrdoctor import formatting
from lrdoctor.analysis.findings import SEVERITIES, Finding
from lrdoctor.style import MODE_LABELS, finding_label

# The report's names for the shared formatters (lrdoctor/formatting.py owns the formats).
fmt_number = formatting.number
fmt_lr = formatting.lr
fmt_usd = formatting.usd
fmt_amount = formatting.amount
fmt_hours = formatting.gpu_hours

# Long values (lists, paths, nested blobs) are cut so a table cell stays one line or two.
MAX_VALUE_CHARS = 120


# A list in a table cell shows this many items, then "(+N more)".
MAX_LIST_ITEMS = 8


def fmt_value(x: Any) -> str:
    """Any evidence value for people: numbers via :func:`fmt_number`, lists item by item."""
    if isinstance(x, (list, tuple, np.ndarray)):
        items = [fmt_number(v) for v in list(x)[:MAX_LIST_ITEMS]]
        more = len(x) - MAX_LIST_ITEMS
        return ", ".join(items) + (f" (+{more} more)" if more > 0 else "")
    return fmt_number(x)


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
    """The steps a finding covers (see :func:`lrdoctor.formatting.step_range`)."""
    return formatting.step_range(f.step_start, f.step_end)


def severity_rank(severity: str | None) -> int:
    """0 for healthy, then info < warning < critical."""
    return 0 if severity is None else SEVERITIES.index(severity) + 1


def sorted_findings(findings: list[Finding]) -> list[Finding]:
    """Most severe first, then most confident."""
    return sorted(findings, key=lambda f: (-SEVERITIES.index(f.severity), -float(f.confidence)))


def finding_summary(f: Finding) -> str:
    return str(f.evidence.get("summary") or finding_label(f))


def sentence_case(text: str) -> str:
    """First letter upper case (the analyzer writes recommendations to follow a colon)."""
    return text[:1].upper() + text[1:]


def mode_label(mode: str) -> str:
    """The people's name of a failure mode."""
    return MODE_LABELS.get(mode, mode.replace("_", " "))
