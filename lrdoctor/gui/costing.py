"""Thin bridge to ``lrdoctor.cost``: settings, presets and the estimate, each optional.

The cost module lands separately; until its pieces exist these functions say so
(``None`` / a status sentence) instead of inventing numbers.
"""

from __future__ import annotations

from typing import Any


def load_cost_settings() -> tuple[Any, str | None]:
    """The persisted CostSettings and a problem message; (None, reason) without the module."""
    try:
        from lrdoctor.cost.settings import load_settings
    except ImportError:
        return None, "cost settings not available"
    return load_settings()


def save_cost_settings(settings: Any) -> str | None:
    """Persist the hardware choices; returns a problem message or None."""
    try:
        from lrdoctor.cost.settings import save_settings

        save_settings(settings)
    except ImportError:
        return "cost settings not available"
    except (OSError, ValueError) as exc:
        return f"cost settings not saved: {exc}"
    return None


def presets() -> Any:
    """The GPU presets (``Presets``) or None."""
    try:
        from lrdoctor.cost.presets import load_presets

        return load_presets()
    except Exception:  # a broken presets file must not stop the app; the panel says why
        return None


def estimator() -> Any:
    """``estimate_costs(analysis, settings)`` from the cost module, or None."""
    try:
        import lrdoctor.cost as cost
    except ImportError:
        return None
    fn = getattr(cost, "estimate_costs", None)
    if fn is None:
        try:
            from lrdoctor.cost.estimate import estimate_costs as fn  # type: ignore[no-redef]
        except ImportError:
            return None
    return fn


def estimate(analysis: Any, settings: Any) -> str:
    """Fill ``RunAnalysis.cost`` for every run; returns a status sentence."""
    fn = estimator()
    if fn is None:
        return "cost estimate not available (the cost module is not installed yet)"
    try:
        fn(analysis, settings)
    except Exception as exc:  # shown in the cost panel, never a crash
        return f"cost estimate failed: {type(exc).__name__}: {exc}"
    return "cost estimated"
