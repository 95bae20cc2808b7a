"""What the run cost and what its learning-rate problems wasted (no Qt).

``estimate_costs(analysis, settings)`` returns the :class:`Costs` of every run and sweep of an
:class:`~lrdoctor.analysis.findings.Analysis` (held beside it, never written into it); the pieces (step time from the log's
clock, GPU presets, persisted settings) are usable on their own.
"""

from .estimate import Costs, Money, RunCost, SweepCost, Waste, estimate_costs, estimate_run_cost, price, sweep_cost
from .hardware import Hardware, resolve_hardware
from .presets import GpuPreset, PresetError, Presets, load_presets, match_gpu
from .settings import CostSettings, SettingsError, load_settings, save_settings, settings_path
from .step_time import Pause, StepTime, measure_step_time, step_time_for

__all__ = [
    "CostSettings",
    "Costs",
    "GpuPreset",
    "Hardware",
    "Money",
    "Pause",
    "PresetError",
    "Presets",
    "RunCost",
    "SettingsError",
    "StepTime",
    "SweepCost",
    "Waste",
    "estimate_costs",
    "estimate_run_cost",
    "load_presets",
    "load_settings",
    "match_gpu",
    "measure_step_time",
    "price",
    "resolve_hardware",
    "save_settings",
    "settings_path",
    "step_time_for",
    "sweep_cost",
]
