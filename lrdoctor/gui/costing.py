"""Thin bridge from the app to ``lrdoctor.cost``: persisted settings, presets and the estimate.

The cost package imports scipy.stats (~1 s), so it is imported on first use (after the
window's first paint), not when the window module is imported.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from lrdoctor.analysis import Analysis
    from lrdoctor.cost import Costs, CostSettings, Presets


def load_cost_settings() -> tuple[CostSettings, str | None]:
    """The persisted CostSettings and a problem message (defaults when the file is unreadable)."""
    from lrdoctor.cost import load_settings

    return load_settings()


def save_cost_settings(settings: CostSettings) -> str | None:
    """Persist the hardware choices; returns a problem message or None."""
    from lrdoctor.cost import save_settings

    try:
        save_settings(settings)
    except (OSError, ValueError) as exc:
        return f"cost settings not saved: {exc}"
    return None


def presets() -> Presets | None:
    """The GPU presets, or None when the presets file is broken (the panel says so)."""
    from lrdoctor.cost import PresetError, load_presets

    try:
        return load_presets()
    except (OSError, PresetError):
        return None


def estimate(analysis: Analysis, settings: CostSettings) -> tuple[Costs | None, str]:
    """The cost of every run and sweep of ``analysis`` (None when it failed) and the cost status sentence."""
    from lrdoctor.cost import estimate_costs

    try:
        return estimate_costs(analysis, settings), "cost estimated"
    except Exception as exc:  # shown in the cost panel, never a crash
        return None, f"cost estimate failed: {type(exc).__name__}: {exc}"
