"""Which GPU, how many, at what price, power and carbon intensity: one resolved answer per run.

Precedence: what the user chose for this analysis > what the run's metadata says
(W&B records the GPU type and count) > the user's saved settings > the preset default.
Each figure keeps where it came from, so a report can say "price: AWS ..., 2024-06".
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .presets import GpuPreset, Presets, load_presets
from .settings import CostSettings


@dataclass
class Hardware:
    """The resolved hardware and energy figures for one run."""

    gpu: str
    gpu_count: int
    usd_per_gpu_hour: float | None
    power_w: float | None
    carbon_kg_per_kwh: float
    pue: float
    sources: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {
            "gpu": self.gpu,
            "gpu_count": self.gpu_count,
            "usd_per_gpu_hour": self.usd_per_gpu_hour,
            "power_w": self.power_w,
            "carbon_kg_per_kwh": self.carbon_kg_per_kwh,
            "pue": self.pue,
            "sources": dict(self.sources),
        }


def _meta_gpu(meta: dict[str, Any]) -> str | None:
    value = meta.get("gpu")
    if isinstance(value, str) and value.strip():
        return value.strip()
    return None


def _meta_count(meta: dict[str, Any]) -> int | None:
    try:
        count = int(meta.get("gpu_count"))
    except (TypeError, ValueError):
        return None
    return count if count >= 1 else None


def resolve_hardware(
    chosen: CostSettings | None = None,
    meta: dict[str, Any] | None = None,
    saved: CostSettings | None = None,
    presets: Presets | None = None,
) -> Hardware:
    """Resolve GPU, count, price, power, carbon and PUE for one run (see the module docstring)."""
    chosen = chosen or CostSettings()
    saved = saved or CostSettings()
    meta = meta or {}
    presets = presets or load_presets()
    notes: list[str] = []
    sources: dict[str, str] = {}

    name: str
    if chosen.gpu:
        name, sources["gpu"] = chosen.gpu, "user"
    elif _meta_gpu(meta):
        name, sources["gpu"] = _meta_gpu(meta), "run metadata"  # type: ignore[assignment]
    elif saved.gpu:
        name, sources["gpu"] = saved.gpu, "saved settings"
    else:
        name, sources["gpu"] = presets.default_gpu, "default"
        notes.append(f"GPU not given: assumed {presets.default_gpu} (choose with --gpu)")
    preset: GpuPreset | None = presets.gpu(name)
    if preset is None:
        notes.append(f"no preset matches GPU {name!r}: give its price and power")
    elif sources["gpu"] == "run metadata" and preset.name != name:
        notes.append(f"GPU {name!r} from the run's metadata priced as preset {preset.name}")
    gpu_name = preset.name if preset else name

    if chosen.gpu_count:
        count, sources["gpu_count"] = int(chosen.gpu_count), "user"
    elif _meta_count(meta):
        count, sources["gpu_count"] = _meta_count(meta), "run metadata"  # type: ignore[assignment]
    elif saved.gpu_count:
        count, sources["gpu_count"] = int(saved.gpu_count), "saved settings"
    else:
        count, sources["gpu_count"] = 1, "default"

    saved_preset = presets.gpu(saved.gpu) if saved.gpu else None
    saved_gpu_name = saved_preset.name if saved_preset else saved.gpu
    # A saved price or power belongs to the saved GPU; it does not carry over to another model.
    saved_fits_gpu = saved.gpu is None or saved_gpu_name == gpu_name

    def pick(
        attr: str, preset_value: float | None, preset_source: str | None, per_gpu: bool = True
    ) -> tuple[float | None, str]:
        for settings, label in ((chosen, "user"), (saved, "saved settings")):
            value = getattr(settings, attr)
            if value is not None and (label == "user" or saved_fits_gpu or not per_gpu):
                return float(value), label
        if preset_value is None:
            return None, "unknown"
        return preset_value, preset_source or "preset"

    price, sources["price"] = pick(
        "usd_per_gpu_hour",
        preset.usd_per_gpu_hour if preset else None,
        f"{preset.price_source}, {preset.price_date}" if preset else None,
    )
    power, sources["power"] = pick(
        "power_w", preset.power_w if preset else None, preset.power_source if preset else None
    )
    carbon, sources["carbon"] = pick(
        "carbon_kg_per_kwh", presets.carbon_kg_per_kwh, f"{presets.carbon_source}, {presets.carbon_date}",
        per_gpu=False,
    )
    pue, sources["pue"] = pick("pue", presets.pue, presets.pue_source, per_gpu=False)
    return Hardware(
        gpu=gpu_name,
        gpu_count=count,
        usd_per_gpu_hour=price,
        power_w=power,
        carbon_kg_per_kwh=float(carbon),  # type: ignore[arg-type]
        pue=float(pue),  # type: ignore[arg-type]
        sources=sources,
        notes=notes,
    )
