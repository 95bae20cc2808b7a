"""The user's cost choices (GPU, count, price/power/carbon overrides), persisted as JSON.

Stored in ``platformdirs.user_config_dir("lrdoctor")/cost.json``; the environment
variable ``LRDOCTOR_CONFIG_DIR`` points elsewhere (tests, portable installs).
Only the hardware choices persist: a step time is a property of one run's logs,
so it is given per invocation and never saved.
"""

from __future__ import annotations

import json
import math
import os
import tempfile
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path
from typing import Any

from parsers.bounded import json_loads

CONFIG_ENV = "LRDOCTOR_CONFIG_DIR"
SETTINGS_FILE = "cost.json"
PERSISTED_FIELDS: tuple[str, ...] = (
    "gpu",
    "gpu_count",
    "usd_per_gpu_hour",
    "power_w",
    "carbon_kg_per_kwh",
    "pue",
)


# What each setting is called in messages: people set "the price", not ``usd_per_gpu_hour``.
FIELD_LABELS: dict[str, str] = {
    "gpu": "GPU",
    "gpu_count": "GPU count",
    "usd_per_gpu_hour": "price per GPU-hour (USD)",
    "power_w": "board power (W)",
    "carbon_kg_per_kwh": "carbon intensity (kg CO2e/kWh)",
    "pue": "PUE",
    "step_time_s": "step time (s)",
    "tokens_per_second": "tokens per second",
    "tokens_per_step": "tokens per step",
    "samples_per_second": "samples per second",
    "samples_per_step": "samples per step",
}


class SettingsError(ValueError):
    """A setting has an impossible value (negative price, zero GPUs ...); ``field`` names it."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


@dataclass
class CostSettings:
    """What the user chose; ``None`` means "use the run's metadata or the preset default"."""

    gpu: str | None = None
    gpu_count: int | None = None
    usd_per_gpu_hour: float | None = None
    power_w: float | None = None
    carbon_kg_per_kwh: float | None = None
    pue: float | None = None
    # Per-invocation assumptions for logs without a clock (never persisted).
    step_time_s: float | None = None
    tokens_per_second: float | None = None
    tokens_per_step: float | None = None
    samples_per_second: float | None = None
    samples_per_step: float | None = None

    def validate(self) -> "CostSettings":
        """Raise :class:`SettingsError` on an impossible value; returns self."""
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name != "gpu" and value is not None and not math.isfinite(value):
                raise SettingsError(f"{FIELD_LABELS[f.name]} must be a finite number, got {value}", f.name)
        if self.gpu_count is not None and (int(self.gpu_count) != self.gpu_count or self.gpu_count < 1):
            raise SettingsError(f"GPU count must be a whole number >= 1, got {self.gpu_count}", "gpu_count")
        for name in ("usd_per_gpu_hour", "carbon_kg_per_kwh"):
            value = getattr(self, name)
            if value is not None and value < 0:
                raise SettingsError(f"{FIELD_LABELS[name]} must be >= 0, got {value:g}", name)
        for name in ("power_w", "step_time_s", "tokens_per_second", "tokens_per_step",
                     "samples_per_second", "samples_per_step"):
            value = getattr(self, name)
            if value is not None and not value > 0:
                raise SettingsError(f"{FIELD_LABELS[name]} must be > 0, got {value:g}", name)
        if self.pue is not None and self.pue < 1.0:
            raise SettingsError(f"PUE must be >= 1.0, got {self.pue}", "pue")
        return self

    def merged(self, override: "CostSettings") -> "CostSettings":
        """These settings with every non-None field of ``override`` taking precedence."""
        changes = {f.name: getattr(override, f.name) for f in fields(self) if getattr(override, f.name) is not None}
        return replace(self, **changes)

    def assumed_step_time(self) -> tuple[float, str] | None:
        """Seconds per step the user gave (directly or as throughput), with how it was derived."""
        if self.step_time_s is not None:
            return float(self.step_time_s), f"given: {self.step_time_s:g} s/step"
        if self.tokens_per_second and self.tokens_per_step:
            return (
                self.tokens_per_step / self.tokens_per_second,
                f"given: {self.tokens_per_step:g} tokens/step at {self.tokens_per_second:g} tokens/s",
            )
        if self.samples_per_second and self.samples_per_step:
            return (
                self.samples_per_step / self.samples_per_second,
                f"given: {self.samples_per_step:g} samples/step at {self.samples_per_second:g} samples/s",
            )
        return None


def config_dir() -> Path:
    """Where lrdoctor keeps its settings (``$LRDOCTOR_CONFIG_DIR`` wins)."""
    override = os.environ.get(CONFIG_ENV)
    if override:
        return Path(override)
    from platformdirs import user_config_dir

    return Path(user_config_dir("lrdoctor"))


def settings_path() -> Path:
    """The cost settings file."""
    return config_dir() / SETTINGS_FILE


def _from_dict(data: dict[str, Any]) -> CostSettings:
    kwargs: dict[str, Any] = {}
    for name in PERSISTED_FIELDS:
        value = data.get(name)
        if value is None:
            continue
        if name == "gpu":
            kwargs[name] = str(value)
        elif name == "gpu_count":
            kwargs[name] = int(value)
        else:
            kwargs[name] = float(value)
    return CostSettings(**kwargs).validate()


def load_settings(path: Path | None = None) -> tuple[CostSettings, str | None]:
    """The saved settings and a problem message (None when fine).

    A missing file gives defaults; an unreadable or invalid one gives defaults and a
    one-line message naming the file, so a broken config never stops an analysis.
    """
    path = path or settings_path()
    if not path.exists():
        return CostSettings(), None
    try:
        data = json_loads(path.read_bytes())
        if not isinstance(data, dict):
            raise ValueError("top level is not an object")
        return _from_dict(data), None
    except Exception as exc:  # noqa: BLE001 - a broken settings file never stops a command
        detail = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        return CostSettings(), f"{path}: ignored, using the defaults ({detail})"


def save_settings(settings: CostSettings, path: Path | None = None) -> Path:
    """Persist the hardware choices atomically (write a temp file, then rename over)."""
    settings.validate()
    path = path or settings_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    data = {k: v for k, v in asdict(settings).items() if k in PERSISTED_FIELDS}
    fd, tmp = tempfile.mkstemp(prefix=".cost-", suffix=".json", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(data, fh, indent=2)
            fh.write("\n")
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path
