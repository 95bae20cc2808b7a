"""GPU presets (price, board power) and energy defaults, loaded from ``presets.json``.

The figures are data, not code: ``presets.json`` ships as package data and every
price carries its source and date. :func:`match_gpu` maps the free-form GPU names
that loggers record (``"NVIDIA A100-SXM4-80GB"``) to a preset.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any


class PresetError(ValueError):
    """``presets.json`` is malformed."""


@dataclass(frozen=True)
class GpuPreset:
    """One GPU model with its typical on-demand price and board power."""

    name: str
    usd_per_gpu_hour: float
    price_source: str
    price_date: str
    power_w: float
    power_source: str
    memory_gb: float | None = None
    aliases: tuple[str, ...] = ()

    @property
    def family(self) -> str:
        """The model token of the name (``A100``, ``H100``, ``4090`` ...), used for fuzzy matching."""
        return _family(self.name) or _normalize(self.name)


@dataclass(frozen=True)
class Presets:
    """Everything in ``presets.json``."""

    gpus: dict[str, GpuPreset]
    default_gpu: str
    carbon_kg_per_kwh: float
    carbon_source: str
    carbon_date: str
    pue: float
    pue_source: str
    about: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    def gpu(self, name: str) -> GpuPreset | None:
        """The preset called ``name`` (exact, case-insensitive), else a fuzzy match, else None."""
        for preset in self.gpus.values():
            if preset.name.lower() == name.strip().lower():
                return preset
        return match_gpu(name, self)


def _require(obj: dict[str, Any], key: str, kind: type | tuple[type, ...], where: str) -> Any:
    if key not in obj:
        raise PresetError(f"{where}: missing {key!r}")
    value = obj[key]
    if not isinstance(value, kind) or isinstance(value, bool):
        raise PresetError(f"{where}: {key!r} has the wrong type ({type(value).__name__})")
    return value


def _positive(value: float, what: str) -> float:
    if not value > 0:
        raise PresetError(f"{what} must be > 0, got {value}")
    return float(value)


def parse_presets(data: dict[str, Any], origin: str = "presets.json") -> Presets:
    """Validate the JSON structure and build :class:`Presets`; raises :class:`PresetError`."""
    if not isinstance(data, dict):
        raise PresetError(f"{origin}: top level is not an object")
    gpus: dict[str, GpuPreset] = {}
    for i, raw in enumerate(_require(data, "gpus", list, origin)):
        where = f"{origin}: gpus[{i}]"
        if not isinstance(raw, dict):
            raise PresetError(f"{where}: not an object")
        name = _require(raw, "name", str, where)
        if name in gpus:
            raise PresetError(f"{where}: duplicate GPU {name!r}")
        mem = raw.get("memory_gb")
        gpus[name] = GpuPreset(
            name=name,
            usd_per_gpu_hour=_positive(_require(raw, "usd_per_gpu_hour", (int, float), where), f"{where} price"),
            price_source=_require(raw, "price_source", str, where),
            price_date=_require(raw, "price_date", str, where),
            power_w=_positive(_require(raw, "power_w", (int, float), where), f"{where} power"),
            power_source=_require(raw, "power_source", str, where),
            memory_gb=None if mem is None else float(mem),
            aliases=tuple(str(a) for a in raw.get("aliases", [])),
        )
    if not gpus:
        raise PresetError(f"{origin}: no GPUs")
    default_gpu = _require(data, "default_gpu", str, origin)
    if default_gpu not in gpus:
        raise PresetError(f"{origin}: default_gpu {default_gpu!r} is not one of the GPUs")
    carbon = _require(data, "carbon", dict, origin)
    pue = _require(data, "pue", dict, origin)
    pue_value = _require(pue, "value", (int, float), f"{origin}: pue")
    if pue_value < 1.0:
        raise PresetError(f"{origin}: pue must be >= 1.0, got {pue_value}")
    return Presets(
        gpus=gpus,
        default_gpu=default_gpu,
        carbon_kg_per_kwh=_positive(
            _require(carbon, "kg_co2e_per_kwh", (int, float), f"{origin}: carbon"), "carbon intensity"
        ),
        carbon_source=_require(carbon, "source", str, f"{origin}: carbon"),
        carbon_date=_require(carbon, "date", str, f"{origin}: carbon"),
        pue=float(pue_value),
        pue_source=str(pue.get("source", "")),
        about=str(data.get("about", "")),
    )


@lru_cache(maxsize=1)
def load_presets(path: str | None = None) -> Presets:
    """The shipped presets (or those in ``path``), validated."""
    if path is None:
        text = resources.files("lrdoctor.cost").joinpath("presets.json").read_text(encoding="utf-8")
        origin = "lrdoctor/cost/presets.json"
    else:
        text = Path(path).read_text(encoding="utf-8")
        origin = str(path)
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise PresetError(f"{origin}: not valid JSON ({exc})") from exc
    return parse_presets(data, origin)


_NOISE_WORDS = {"NVIDIA", "GEFORCE", "TESLA", "TENSOR", "CORE", "GPU"}
_MEMORY = re.compile(r"^(\d+)G(?:B)?$")


def _tokens(text: str) -> list[str]:
    return [t for t in re.split(r"[^A-Z0-9]+", text.upper()) if t and t not in _NOISE_WORDS]


def _normalize(text: str) -> str:
    return "".join(_tokens(text))


def _family(text: str) -> str | None:
    """First token that holds a digit and is not a memory size: the model (``A100``, ``T4``, ``4090``)."""
    for tok in _tokens(text):
        if any(c.isdigit() for c in tok) and not _MEMORY.match(tok):
            return tok
    return None


def _memory_gb(text: str) -> float | None:
    for tok in _tokens(text):
        m = _MEMORY.match(tok)
        if m:
            return float(m.group(1))
    return None


def match_gpu(text: str | None, presets: Presets | None = None) -> GpuPreset | None:
    """The preset a logged GPU name refers to, or None.

    Matches on the model token (``NVIDIA A100-SXM4-80GB`` -> family ``A100``), then picks the
    preset of that family whose memory is closest to the size named in the text (the smaller
    one when the text names none).
    """
    if not text:
        return None
    presets = presets or load_presets()
    norm = _normalize(text)
    for preset in presets.gpus.values():
        if norm in {_normalize(preset.name), *(_normalize(a) for a in preset.aliases)}:
            return preset
    tokens = set(_tokens(text))
    candidates = [p for p in presets.gpus.values() if p.family in tokens]
    if not candidates:
        return None
    mem = _memory_gb(text)
    if mem is None:
        return min(candidates, key=lambda p: p.memory_gb or 0.0)
    return min(candidates, key=lambda p: abs((p.memory_gb or 0.0) - mem))
